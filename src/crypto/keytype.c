/* SPDX-License-Identifier: MIT */
#include "crypto/keytype.h"

#include <string.h>

#include <openssl/core_names.h>

#include "base/err.h"
#include "base/util.h"

const struct sk_keytype sk_keytypes[] = {
	{ "ec-p256", SK_KIND_EC, 256, "prime256v1", "sha256" },
	{ "ec-p384", SK_KIND_EC, 384, "secp384r1", "sha384" },
	{ "ec-p521", SK_KIND_EC, 521, "secp521r1", "sha512" },
	{ "rsa-2048", SK_KIND_RSA, 2048, NULL, "sha256" },
	{ "rsa-3072", SK_KIND_RSA, 3072, NULL, "sha256" },
	{ "rsa-4096", SK_KIND_RSA, 4096, NULL, "sha256" },
	{ "aes-128", SK_KIND_AES, 128, NULL, NULL },
	{ "aes-256", SK_KIND_AES, 256, NULL, NULL },
	{ "hmac-sha256", SK_KIND_HMAC, 256, NULL, "sha256" },
	{ "hmac-sha384", SK_KIND_HMAC, 384, NULL, "sha384" },
	{ "hmac-sha512", SK_KIND_HMAC, 512, NULL, "sha512" },
};
const size_t sk_nkeytypes = SK_ARRAY_SIZE(sk_keytypes);

const struct sk_keytype *sk_keytype_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < sk_nkeytypes; i++)
		if (strcmp(sk_keytypes[i].name, name) == 0)
			return &sk_keytypes[i];
	return NULL;
}

const struct sk_keytype *sk_keytype_of_group(const char *group)
{
	size_t i;

	for (i = 0; i < sk_nkeytypes; i++)
		if (sk_keytypes[i].kind == SK_KIND_EC && strcmp(sk_keytypes[i].group, group) == 0)
			return &sk_keytypes[i];
	sk_err(SK_EUNSUPP, "EC curve '%s' is not supported (use P-256, P-384 or P-521)",
	       group[0] ? group : "explicit parameters");
	return NULL;
}

const struct sk_keytype *sk_keytype_of_bits(enum sk_kind kind, unsigned bits)
{
	size_t i;

	for (i = 0; i < sk_nkeytypes; i++)
		if (sk_keytypes[i].kind == kind && sk_keytypes[i].bits == bits)
			return &sk_keytypes[i];
	return NULL;
}

const struct sk_keytype *sk_keytype_of_rsa_bits(unsigned bits)
{
	const struct sk_keytype *kt = sk_keytype_of_bits(SK_KIND_RSA, bits);

	if (kt == NULL)
		sk_err(SK_EUNSUPP, "RSA key size %u is not supported (use 2048, 3072 or 4096)", bits);
	return kt;
}

const struct sk_keytype *sk_keytype_of_pkey(const EVP_PKEY *pkey)
{
	char group[64];

	if (EVP_PKEY_is_a(pkey, "EC")) {
		if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
						    sizeof(group), NULL))
			group[0] = '\0';
		return sk_keytype_of_group(group);
	}
	if (EVP_PKEY_is_a(pkey, "RSA"))
		return sk_keytype_of_rsa_bits((unsigned)EVP_PKEY_get_bits(pkey));
	sk_err(SK_EUNSUPP, "key algorithm '%s' is not supported (use EC or RSA)",
	       EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "unknown");
	return NULL;
}

int sk_keytype_is_asym(const struct sk_keytype *kt)
{
	return kt->kind == SK_KIND_EC || kt->kind == SK_KIND_RSA;
}

int sk_keytype_generate(const struct sk_keytype *kt, EVP_PKEY **out)
{
	*out = NULL;
	if (kt->kind == SK_KIND_EC)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", kt->group);
	else if (kt->kind == SK_KIND_RSA)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)kt->bits);
	else
		return sk_err(SK_EUNSUPP, "a %s key is not a key pair", kt->name);
	return *out ? SK_OK : sk_err_ssl(SK_EFAIL, "generating %s key", kt->name);
}

int sk_keytype_generate_ctx(const struct sk_keytype *kt, EVP_PKEY_CTX **gen, EVP_PKEY **out)
{
	*out = NULL;
	if (kt->kind != SK_KIND_EC && kt->kind != SK_KIND_RSA)
		return sk_err(SK_EUNSUPP, "a %s key is not a key pair", kt->name);
	if (*gen == NULL) {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, kt->kind == SK_KIND_EC ? "EC" : "RSA",
							     NULL);
		size_t bits = (size_t)kt->bits;
		OSSL_PARAM p[2];

		p[0] = kt->kind == SK_KIND_EC ?
			OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)kt->group, 0) :
			OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, &bits);
		p[1] = OSSL_PARAM_construct_end();
		if (c == NULL || EVP_PKEY_keygen_init(c) <= 0 || EVP_PKEY_CTX_set_params(c, p) <= 0) {
			EVP_PKEY_CTX_free(c);
			return sk_err_ssl(SK_EFAIL, "generating %s key", kt->name);
		}
		*gen = c;
	}
	if (EVP_PKEY_keygen(*gen, out) <= 0)
		return sk_err_ssl(SK_EFAIL, "generating %s key", kt->name);
	return SK_OK;
}

size_t sk_keytype_raw_len(const struct sk_keytype *kt)
{
	return kt->bits / 8;
}
