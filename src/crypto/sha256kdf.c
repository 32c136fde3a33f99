/* SPDX-License-Identifier: MIT */
/* See sha256kdf.h for why these exist. */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co.: the point of this file */
#include "crypto/sha256kdf.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

void sk_sha256(const void *p, size_t n, uint8_t out[32])
{
	SHA256_CTX c;

	SHA256_Init(&c);
	SHA256_Update(&c, p, n);
	SHA256_Final(out, &c);
	OPENSSL_cleanse(&c, sizeof(c));
}

struct hmac {
	SHA256_CTX inner, outer;
};

static void hmac_init(struct hmac *h, const uint8_t *key, size_t keylen)
{
	uint8_t k[64], pad[64];
	size_t i;

	memset(k, 0, sizeof(k));
	if (keylen > sizeof(k))
		sk_sha256(key, keylen, k); /* RFC 2104: long keys are hashed */
	else if (keylen > 0)
		memcpy(k, key, keylen);
	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	SHA256_Init(&h->inner);
	SHA256_Update(&h->inner, pad, 64);
	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	SHA256_Init(&h->outer);
	SHA256_Update(&h->outer, pad, 64);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
}

static void hmac_final(struct hmac *h, uint8_t out[32])
{
	uint8_t ih[32];

	SHA256_Final(ih, &h->inner);
	SHA256_Update(&h->outer, ih, 32);
	SHA256_Final(out, &h->outer);
	OPENSSL_cleanse(ih, sizeof(ih));
	OPENSSL_cleanse(h, sizeof(*h));
}

void sk_hmac_sha256(const uint8_t *key, size_t keylen, const void *p, size_t n, uint8_t out[32])
{
	struct hmac h;

	hmac_init(&h, key, keylen);
	SHA256_Update(&h.inner, p, n);
	hmac_final(&h, out);
}

int sk_hkdf_sha256_raw(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
		       const void *info, size_t infolen, uint8_t *out, size_t outlen)
{
	static const uint8_t zero[32];
	uint8_t prk[32], t[32];
	size_t done = 0, tlen = 0;
	uint8_t i;

	if (outlen > 255 * 32)
		return -1;
	/* Extract: PRK = HMAC(salt or 32 zero bytes, IKM). */
	if (saltlen == 0)
		sk_hmac_sha256(zero, sizeof(zero), ikm, ikmlen, prk);
	else
		sk_hmac_sha256(salt, saltlen, ikm, ikmlen, prk);
	/* Expand: T(i) = HMAC(PRK, T(i-1) || info || i). */
	for (i = 1; done < outlen; i++) {
		struct hmac h;
		size_t k;

		hmac_init(&h, prk, sizeof(prk));
		SHA256_Update(&h.inner, t, tlen);
		SHA256_Update(&h.inner, info, infolen);
		SHA256_Update(&h.inner, &i, 1);
		hmac_final(&h, t);
		tlen = sizeof(t);
		k = outlen - done < 32 ? outlen - done : 32;
		memcpy(out + done, t, k);
		done += k;
	}
	OPENSSL_cleanse(prk, sizeof(prk));
	OPENSSL_cleanse(t, sizeof(t));
	return 0;
}
