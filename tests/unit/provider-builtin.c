/* SPDX-License-Identifier: MIT */
/*
 * The built-in provider, as the seckit binary registers it (cmd/main.c):
 *   provider-builtin URI IN SIG
 * registers "seckit" with sk_provider_add_builtin, loads it and the
 * default provider into the default library context, opens URI with
 * OSSL_STORE and signs the file IN with SHA-256 into SIG (DER), all
 * through OpenSSL's public API.  The test checks SIG with plain openssl.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>

#include "check.h"
#include "crypto/crypto.h"
#include "provider/provider.h"

int main(int argc, char **argv)
{
	OSSL_PROVIDER *seckit, *deflt;
	OSSL_STORE_CTX *sc;
	OSSL_STORE_INFO *info;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	char buf[4096];
	size_t got;
	FILE *in, *out;

	if (argc != 4) {
		fprintf(stderr, "usage: provider-builtin URI IN SIG\n");
		return 2;
	}
	sk_crypto_init();
	CHECK(sk_provider_add_builtin() == 1, "seckit is a built-in provider");
	CHECK((seckit = OSSL_PROVIDER_load(NULL, "seckit")) != NULL, "it loads");
	CHECK((deflt = OSSL_PROVIDER_load(NULL, "default")) != NULL, "default loads");
	CHECK((sc = OSSL_STORE_open(argv[1], NULL, NULL, NULL, NULL)) != NULL, "the URI opens");
	while (pkey == NULL && (info = OSSL_STORE_load(sc)) != NULL) {
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			pkey = OSSL_STORE_INFO_get1_PKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	OSSL_STORE_close(sc);
	if (pkey == NULL)
		ERR_print_errors_fp(stdout);
	CHECK(pkey != NULL, "the store gives the key");
	CHECK(strcmp(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(pkey)), "seckit") == 0,
	      "the key is the provider's");
	CHECK(EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) == 1, "sign init");
	CHECK((in = fopen(argv[2], "rb")) != NULL, "input opens");
	while ((got = fread(buf, 1, sizeof(buf), in)) > 0)
		CHECK(EVP_DigestSignUpdate(md, buf, got) == 1, "update");
	fclose(in);
	CHECK(EVP_DigestSignFinal(md, sig, &siglen) == 1, "the backend signs");
	CHECK((out = fopen(argv[3], "wb")) != NULL && fwrite(sig, 1, siglen, out) == siglen &&
		      fclose(out) == 0,
	      "signature written");
	EVP_PKEY_free(pkey);
	EVP_MD_CTX_free(md);
	OSSL_PROVIDER_unload(deflt);
	OSSL_PROVIDER_unload(seckit);
	return 0;
}
