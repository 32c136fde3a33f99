/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the primitives seckit computes without EVP fetches
 * (src/crypto/sha256kdf.c, the provider-direct AES-256-GCM in src/crypto/crypto.c,
 * GHASH in src/crypto/ghash.c):
 * RFC test vectors, and agreement with OpenSSL's EVP interfaces on random
 * inputs of every length that matters.  Run by tests/06-crypto.bats;
 * prints "ok N - what" lines and exits non-zero on the first failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "crypto/crypto.h"
#include "crypto/ghash.h"
#include "base/err.h"
#include "crypto/sha256kdf.h"
#include "base/util.h"
#include "check.h"


static void unhex(const char *h, uint8_t *out, size_t *len)
{
	*len = strlen(h) / 2;
	if (sk_unhex(out, *len, h) != 0)
		abort();
}

static void evp_hmac(const uint8_t *k, size_t kl, const uint8_t *p, size_t pl, uint8_t out[32])
{
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(m);
	OSSL_PARAM par[2] = { OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
			      OSSL_PARAM_construct_end() };
	size_t ol;

	if (!EVP_MAC_init(c, k, kl, par) || !EVP_MAC_update(c, p, pl) ||
	    !EVP_MAC_final(c, out, &ol, 32))
		abort();
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(m);
}

static void evp_hkdf(const uint8_t *ikm, size_t il, const uint8_t *salt, size_t sl,
		     const uint8_t *info, size_t nl, uint8_t *out, size_t ol)
{
	EVP_KDF *k = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *c = EVP_KDF_CTX_new(k);
	OSSL_PARAM par[5], *q = par;

	*q++ = OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0);
	*q++ = OSSL_PARAM_construct_octet_string("key", (void *)ikm, il);
	if (sl)
		*q++ = OSSL_PARAM_construct_octet_string("salt", (void *)salt, sl);
	*q++ = OSSL_PARAM_construct_octet_string("info", (void *)info, nl);
	*q = OSSL_PARAM_construct_end();
	if (!EVP_KDF_derive(c, out, ol, par))
		abort();
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(k);
}

static void evp_gcm(int enc, const uint8_t key[32], const uint8_t iv[12], const uint8_t *aad,
		    size_t al, const uint8_t *in, size_t l, uint8_t *out, uint8_t tag[16], int *ok)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len;

	*ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv, enc) &&
	      (al == 0 || EVP_CipherUpdate(c, NULL, &len, aad, (int)al)) &&
	      (l == 0 || EVP_CipherUpdate(c, out, &len, in, (int)l)) &&
	      (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag)) &&
	      EVP_CipherFinal_ex(c, out + l, &len) &&
	      (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag));
	EVP_CIPHER_CTX_free(c);
}

int main(void)
{
	uint8_t k[200], d[2000], o1[2100], o2[2100], t1[16], t2[16], info[100], salt[100];
	size_t kl, dl, i, l;
	int ok;

	sk_crypto_init();
	/* GCM first: the provider-direct path must work before any EVP fetch
	 * has happened in this process (that is how seckit runs). */
	{
		uint8_t key[32], iv[12], exp[64];
		size_t el;

		/* NIST GCM test case 14 (AES-256, 16 zero bytes, zero IV) */
		memset(key, 0, 32);
		memset(iv, 0, 12);
		memset(d, 0, 16);
		CHECK(sk_gcm_seal(key, iv, NULL, 0, d, 16, o1, t1) == SK_OK, "gcm seal (NIST case 14)");
		unhex("cea7403d4d606b6e074ec5d3baf39d18", exp, &el);
		CHECK(memcmp(o1, exp, 16) == 0, "gcm ciphertext matches the NIST vector");
		unhex("d0d1c8a799996bf0265b98b5d48ab919", exp, &el);
		CHECK(memcmp(t1, exp, 16) == 0, "gcm tag matches the NIST vector");
		CHECK(sk_gcm_open(key, iv, NULL, 0, o1, 16, o2, t1) == SK_OK && memcmp(o2, d, 16) == 0,
		      "gcm open of the NIST vector");
	}
	for (l = 0; l < 300; l += (l < 40 ? 1 : 37)) {
		uint8_t key[32], iv[12], aad[40];
		size_t al = l % 41;

		RAND_bytes(key, 32);
		RAND_bytes(iv, 12);
		RAND_bytes(aad, sizeof(aad));
		RAND_bytes(d, (int)(l ? l : 1));
		if (sk_gcm_seal(key, iv, aad, al, d, l, o1, t1) != SK_OK)
			CHECK(0, "gcm seal");
		evp_gcm(1, key, iv, aad, al, d, l, o2, t2, &ok);
		if (!ok || memcmp(o1, o2, l) || memcmp(t1, t2, 16))
			CHECK(0, "gcm seal equals EVP");
		evp_gcm(0, key, iv, aad, al, o1, l, o2, t1, &ok);
		if (!ok || memcmp(o2, d, l))
			CHECK(0, "EVP opens what seckit sealed");
		if (sk_gcm_open(key, iv, aad, al, o1, l, o2, t1) != SK_OK || memcmp(o2, d, l))
			CHECK(0, "gcm open");
		t1[l % 16] ^= 1;
		if (sk_gcm_open(key, iv, aad, al, o1, l, o2, t1) != SK_EVERIFY)
			CHECK(0, "a flipped tag bit is SK_EVERIFY");
		if (al) {
			t1[l % 16] ^= 1;
			aad[0] ^= 0x80;
			if (sk_gcm_open(key, iv, aad, al, o1, l, o2, t1) != SK_EVERIFY)
				CHECK(0, "flipped associated data is SK_EVERIFY");
		}
	}
	CHECK(1, "gcm agrees with EVP for 0..299 bytes, tag and AAD flips rejected");

	/* RFC 4231 test case 2 and 6 (a key longer than the block) */
	unhex("4a656665", k, &kl);
	memcpy(d, "what do ya want for nothing?", 28);
	sk_hmac_sha256(k, kl, d, 28, o1);
	unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", o2, &l);
	CHECK(memcmp(o1, o2, 32) == 0, "hmac-sha256 RFC 4231 case 2");
	memset(k, 0xaa, 131);
	memcpy(d, "Test Using Larger Than Block-Size Key - Hash Key First", 54);
	sk_hmac_sha256(k, 131, d, 54, o1);
	unhex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", o2, &l);
	CHECK(memcmp(o1, o2, 32) == 0, "hmac-sha256 RFC 4231 case 6 (long key)");
	for (kl = 0; kl < 150; kl += 7)
		for (dl = 0; dl < 300; dl += 61) {
			RAND_bytes(k, (int)(kl ? kl : 1));
			RAND_bytes(d, (int)(dl ? dl : 1));
			sk_hmac_sha256(k, kl, d, dl, o1);
			evp_hmac(k, kl, d, dl, o2);
			if (memcmp(o1, o2, 32) != 0)
				CHECK(0, "hmac-sha256 equals EVP");
		}
	CHECK(1, "hmac-sha256 agrees with EVP for keys of 0..149 bytes");

	/* RFC 5869 test case 1 */
	unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", k, &kl);
	unhex("000102030405060708090a0b0c", salt, &l);
	unhex("f0f1f2f3f4f5f6f7f8f9", info, &i);
	CHECK(sk_hkdf_sha256(k, kl, salt, l, info, i, o1, 42) == SK_OK, "hkdf-sha256 runs");
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
	      o2, &l);
	CHECK(memcmp(o1, o2, 42) == 0, "hkdf-sha256 RFC 5869 case 1");
	/* RFC 5869 test case 3: no salt, no info */
	CHECK(sk_hkdf_sha256(k, kl, NULL, 0, "", 0, o1, 42) == SK_OK, "hkdf-sha256 without salt");
	unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
	      o2, &l);
	CHECK(memcmp(o1, o2, 42) == 0, "hkdf-sha256 RFC 5869 case 3");
	for (l = 1; l <= 200; l += 13) {
		RAND_bytes(k, 64);
		RAND_bytes(salt, 16);
		RAND_bytes(info, 40);
		sk_hkdf_sha256(k, 64, salt, l % 3 ? 16 : 0, info, l % 40, o1, l);
		evp_hkdf(k, 64, salt, l % 3 ? 16 : 0, info, l % 40, o2, l);
		if (memcmp(o1, o2, l) != 0)
			CHECK(0, "hkdf-sha256 equals EVP");
	}
	CHECK(1, "hkdf-sha256 agrees with EVP for outputs of 1..200 bytes");
	CHECK(sk_hkdf_sha256(k, 32, NULL, 0, "", 0, o1, 255 * 32 + 1) != SK_OK,
	      "hkdf-sha256 refuses more than 255 blocks");

	{
		/* GHASH of NIST GCM test case 2 (AES-128, zero key, 16 zero
		 * bytes): H, C and GHASH(H, {}, C) from the GCM specification. */
		struct sk_ghash g;
		uint8_t h[16], c[16], want[16], got[16], got2[16];
		size_t hl, cl, wl, cut;

		unhex("66e94bd4ef8a2c3b884cfa59ca342b2e", h, &hl);
		unhex("0388dace60b6a392f328c2b971b2fe78", c, &cl);
		unhex("f38cbb1ad69223dcc3457ae5b6b0f885", want, &wl);
		sk_ghash_init(&g, h);
		sk_ghash_update(&g, c, cl);
		sk_ghash_final(&g, got);
		CHECK(memcmp(got, want, 16) == 0, "ghash: NIST GCM test case 2");
		/* Any split of the data gives the same hash. */
		RAND_bytes(d, 1000);
		sk_ghash_init(&g, h);
		sk_ghash_update(&g, d, 1000);
		sk_ghash_final(&g, got);
		ok = 1;
		for (cut = 0; cut <= 40; cut++) {
			sk_ghash_init(&g, h);
			sk_ghash_update(&g, d, cut);
			sk_ghash_update(&g, d + cut, 1);
			sk_ghash_update(&g, d + cut + 1, 1000 - cut - 1);
			sk_ghash_final(&g, got2);
			ok &= memcmp(got, got2, 16) == 0;
		}
		CHECK(ok, "ghash: the same for every split of the data");
	}
	sk_sha256("abc", 3, o1);
	unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", o2, &l);
	CHECK(memcmp(o1, o2, 32) == 0, "sha256(\"abc\")");
	printf("1..%d\n", n);
	return 0;
}
