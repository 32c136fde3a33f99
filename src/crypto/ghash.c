/* SPDX-License-Identifier: MIT */
/* GHASH in constant time (ghash.h). */
#include "crypto/ghash.h"

#include <openssl/crypto.h>

#include "base/err.h"
#include "base/util.h"

#include <string.h>

static uint64_t load64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void store64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* y = y * h in GF(2^128), GCM's bit order (bit 0 is the most significant
 * bit of the first byte; the polynomial is x^128 + x^7 + x^2 + x + 1,
 * R = 0xe1 || 0^120).  Masks instead of branches: no timing depends on
 * the bits of y or h. */
static void gf_mul(uint64_t y[2], const uint64_t h[2])
{
	uint64_t z0 = 0, z1 = 0, v0 = h[0], v1 = h[1];
	int i;

	for (i = 0; i < 128; i++) {
		uint64_t xbit = (i < 64 ? y[0] >> (63 - i) : y[1] >> (127 - i)) & 1;
		uint64_t m = (uint64_t)0 - xbit;
		uint64_t lsb = (uint64_t)0 - (v1 & 1);

		z0 ^= v0 & m;
		z1 ^= v1 & m;
		v1 = (v1 >> 1) | (v0 << 63);
		v0 = (v0 >> 1) ^ (0xe100000000000000ULL & lsb);
	}
	y[0] = z0;
	y[1] = z1;
}

static void absorb(struct sk_ghash *g, const uint8_t b[16])
{
	g->y[0] ^= load64(b);
	g->y[1] ^= load64(b + 8);
	gf_mul(g->y, g->h);
}

void sk_ghash_init(struct sk_ghash *g, const uint8_t h[16])
{
	memset(g, 0, sizeof(*g));
	g->h[0] = load64(h);
	g->h[1] = load64(h + 8);
}

void sk_ghash_update(struct sk_ghash *g, const uint8_t *p, size_t n)
{
	g->nbytes += n;
	if (g->npart > 0) {
		size_t k = 16 - g->npart < n ? 16 - g->npart : n;

		memcpy(g->part + g->npart, p, k);
		g->npart += k;
		p += k;
		n -= k;
		if (g->npart < 16)
			return;
		absorb(g, g->part);
		g->npart = 0;
	}
	for (; n >= 16; p += 16, n -= 16)
		absorb(g, p);
	memcpy(g->part, p, n);
	g->npart = n;
}

void sk_ghash_final(struct sk_ghash *g, uint8_t out[16])
{
	uint8_t len[16];

	if (g->npart > 0) {
		memset(g->part + g->npart, 0, 16 - g->npart);
		absorb(g, g->part);
		g->npart = 0;
	}
	/* len(A) || len(C), 64 bits each, in bits. */
	store64(len, 0);
	store64(len + 8, g->nbytes * 8);
	absorb(g, len);
	store64(out, g->y[0]);
	store64(out + 8, g->y[1]);
}

int sk_gcm_tag(struct sk_ghash *g, const uint8_t ekj0[16], int enc, uint8_t tag[16])
{
	uint8_t t[16];
	int i, rc = SK_OK;

	sk_ghash_final(g, t);
	for (i = 0; i < 16; i++)
		t[i] ^= ekj0[i];
	if (enc)
		memcpy(tag, t, 16);
	else if (!sk_ct_equal(t, tag, 16))
		rc = sk_err(SK_EVERIFY, "AES-GCM authentication failed (wrong key or tampered data)");
	OPENSSL_cleanse(t, sizeof(t));
	return rc;
}

int sk_gcm_last(struct sk_ghash *g, const uint8_t ekj0[16], int enc, const uint8_t *in,
		const uint8_t *ks, size_t n, uint8_t *out, uint8_t tag[16])
{
	int rc;

	if (n > 0) {
		memcpy(out, ks, n);
		sk_ghash_update(g, enc ? ks : in, n);
	}
	if ((rc = sk_gcm_tag(g, ekj0, enc, tag)) != SK_OK)
		OPENSSL_cleanse(out, n);
	return rc;
}
