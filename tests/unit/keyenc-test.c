/* SPDX-License-Identifier: MIT */
/* src/crypto/keyenc.c: the PKCS #8 and SubjectPublicKeyInfo DER of many
 * generated keys, written around the first key's, are byte for byte what
 * OpenSSL's encoders write (P-256, P-384, P-521); an RSA key goes through
 * OpenSSL's; a key of another curve than the template's too. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/crypto.h"
#include "crypto/keyenc.h"
#include "check.h"

static int same(const struct sk_buf *b, const unsigned char *der, int len)
{
	return len > 0 && b->len == (size_t)len && memcmp(b->p, der, b->len) == 0;
}

/* n keys of one curve through one encoder, each against OpenSSL's. */
static int curve_ok(const char *curve, int count, int *state)
{
	struct sk_keyenc e;
	int i, ok = 1;

	memset(&e, 0, sizeof(e));
	for (i = 0; i < count && ok; i++) {
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
		PKCS8_PRIV_KEY_INFO *p8 = k ? EVP_PKEY2PKCS8(k) : NULL;
		unsigned char *d8 = NULL, *dp = NULL;
		int l8 = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &d8) : -1, lp = k ? i2d_PUBKEY(k, &dp) : -1;
		struct sk_buf b8 = { 0 }, bp = { 0 };

		ok = k != NULL && sk_keyenc_pkcs8(&e, k, &b8) == SK_OK &&
		     sk_keyenc_spki(&e, k, &bp) == SK_OK && same(&b8, d8, l8) && same(&bp, dp, lp);
		sk_buf_cleanse_free(&b8);
		sk_buf_free(&bp);
		OPENSSL_clear_free(d8, l8 > 0 ? (size_t)l8 : 0);
		OPENSSL_free(dp);
		PKCS8_PRIV_KEY_INFO_free(p8);
		EVP_PKEY_free(k);
	}
	*state = e.state;
	sk_keyenc_free(&e);
	return ok;
}

int main(void)
{
	struct sk_keyenc e;
	struct sk_buf b = { 0 };
	EVP_PKEY *k;
	int state = 0;

	sk_crypto_init();
	CHECK(curve_ok("P-256", 200, &state), "200 P-256 keys: OpenSSL's PKCS #8 and SPKI");
	CHECK(state == 2, "P-256: written around the template after the check");
	CHECK(curve_ok("P-384", 50, &state) && state == 2, "50 P-384 keys: OpenSSL's PKCS #8 and SPKI");
	CHECK(curve_ok("P-521", 50, &state) && state == 2, "50 P-521 keys: OpenSSL's PKCS #8 and SPKI");

	/* a key of another curve after the template: OpenSSL's, and from
	 * then on OpenSSL's for all */
	memset(&e, 0, sizeof(e));
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	CHECK(k != NULL && sk_keyenc_pkcs8(&e, k, &b) == SK_OK && e.state == 1, "template from a P-256 key");
	EVP_PKEY_free(k);
	b.len = 0;
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	{
		PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);
		unsigned char *d8 = NULL;
		int l8 = i2d_PKCS8_PRIV_KEY_INFO(p8, &d8);

		CHECK(sk_keyenc_pkcs8(&e, k, &b) == SK_OK && same(&b, d8, l8) && e.state == -1,
		      "then a P-384 key: OpenSSL's encoding, the template dropped");
		OPENSSL_clear_free(d8, (size_t)l8);
		PKCS8_PRIV_KEY_INFO_free(p8);
	}
	EVP_PKEY_free(k);
	sk_keyenc_free(&e);
	sk_buf_cleanse_free(&b);

	/* RSA: not an EC key, OpenSSL's */
	memset(&e, 0, sizeof(e));
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	{
		unsigned char *dp = NULL;
		int lp = i2d_PUBKEY(k, &dp);

		b.len = 0;
		CHECK(sk_keyenc_pkcs8(&e, k, &b) == SK_OK && b.len > 0, "an RSA key: PKCS #8 by OpenSSL");
		b.len = 0;
		CHECK(sk_keyenc_spki(&e, k, &b) == SK_OK && same(&b, dp, lp), "an RSA key: SPKI by OpenSSL");
		OPENSSL_free(dp);
	}
	EVP_PKEY_free(k);
	sk_keyenc_free(&e);
	sk_buf_cleanse_free(&b);
	printf("1..%d\n", n);
	return 0;
}
