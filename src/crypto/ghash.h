/* SPDX-License-Identifier: MIT */
#ifndef SK_GHASH_H
#define SK_GHASH_H

/*
 * GHASH, the universal hash of AES-GCM (NIST SP 800-38D, 6.4), on its own.
 *
 * OpenSSL computes GHASH only inside its GCM cipher and exports no
 * function for it; the tpm2 backend needs it alone, because the TPM does
 * the block cipher (CTR keystream, E_K(0) and E_K(J0)) but has no GCM:
 * tpm2_aes.c builds AES-GCM from the TPM's AES and this hash (see there).
 *
 * The multiplication in GF(2^128) is the bit-serial algorithm of SP
 * 800-38D (Algorithm 1) with every choice made by masks, never by a
 * branch or a table index: the hash key H and the data are secrets and
 * must not leak through timing or the cache (a 4-bit table, the usual
 * speed-up, indexes memory by the data).  It costs about 128 shifts and
 * masks a block: some 10 MB/s, far above what a TPM's AES delivers.
 *
 * The state holds H: keep it in secure memory (OPENSSL_secure_zalloc)
 * and cleanse it after use.
 */

#include <stddef.h>
#include <stdint.h>

struct sk_ghash {
	uint64_t h[2];       /* H as two big-endian halves: h[0] bits 0..63 */
	uint64_t y[2];       /* the running value Y */
	uint8_t part[16];    /* a block not yet complete */
	size_t npart;
	uint64_t nbytes;     /* bytes hashed (the ciphertext's length) */
};

/* Start with hash key h (E_K(0^128)). */
void sk_ghash_init(struct sk_ghash *g, const uint8_t h[16]);
/* Hash n more bytes of the ciphertext (any split of the data gives the
 * same result). */
void sk_ghash_update(struct sk_ghash *g, const uint8_t *p, size_t n);
/* The last block zero-padded, then the length block of GCM with no
 * additional data (len(A) = 0, len(C) in bits): GHASH into out. */
void sk_ghash_final(struct sk_ghash *g, uint8_t out[16]);
/* GCM's tag from the hashed ciphertext and E_K(J0) (its mask): written to
 * tag when encrypting (enc), else compared with tag in constant time:
 * SK_EVERIFY, with the error set, if they differ. */
int sk_gcm_tag(struct sk_ghash *g, const uint8_t ekj0[16], int enc, uint8_t tag[16]);
/* GCM's last n (< 16) bytes and its tag: ks holds in's n bytes through the
 * keystream (the caller's cipher, on a zero-padded block); they go to out,
 * GHASH takes the ciphertext's (ks when encrypting, in when decrypting),
 * then sk_gcm_tag.  On SK_EVERIFY out is cleansed: no plaintext of a
 * failed tag. */
int sk_gcm_last(struct sk_ghash *g, const uint8_t ekj0[16], int enc, const uint8_t *in,
		const uint8_t *ks, size_t n, uint8_t *out, uint8_t tag[16]);

#endif
