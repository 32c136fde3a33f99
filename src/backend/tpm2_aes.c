/* SPDX-License-Identifier: MIT */
/*
 * AES with a key held by the TPM: CBC, CTR, GCM and CMAC.
 *
 * The TPM's only AES command is TPM2_EncryptDecrypt2: whole blocks (at
 * most TPM2_MAX_DIGEST_BUFFER, 1024 bytes, per call) in one of the block
 * modes CFB, OFB, CBC, CTR or ECB (swtpm/libtpms accepts all five on a
 * key whose template leaves the mode open, as ours do), no padding, no
 * authenticated mode.  Everything else is built here, on the host, out of
 * CBC and CTR calls, so that the files and MACs are exactly those of the
 * soft backend and of OpenSSL (a script never needs to know where its key
 * lives, and a file made on one backend opens on the other):
 *
 *   CBC  PKCS#7 padding added and checked here (in constant time).
 *   CTR  a tail shorter than a block is sent zero-padded and the extra
 *        output dropped (CTR is a keystream XOR).
 *   GCM  (NIST SP 800-38D, 96-bit nonce) the TPM's CTR mode on the
 *        counter blocks J0+1, J0+2, ... (J0 = nonce || 0^31 || 1); the
 *        hash key H = E_K(0^128) and E_K(J0) are one-block CBC calls with
 *        a zero IV; GHASH (crypto/ghash.h) and the tag
 *        T = E_K(J0) xor GHASH_H(C) are computed here.  GCM increments
 *        only the low 32 bits of the counter (inc32); we set the counter
 *        block of every call ourselves and stop at GCM's limit of
 *        2^32 - 2 blocks, so the low word never wraps and the TPM's own
 *        increment within a call (of the whole block) gives the same
 *        blocks.
 *   CMAC (NIST SP 800-38B, RFC 4493) subkeys K1, K2 from L = E_K(0^128);
 *        the message through the TPM's CBC with a zero IV, streamed, the
 *        last block (held back until the end) xored with K1 or, padded,
 *        with K2 before its own CBC step.
 *
 * The AES key never leaves the TPM.  H, E_K(J0), L, K1 and K2 are derived
 * secrets on the host: they live in the secure heap (the whole operation
 * state is allocated there) and are cleansed when the operation ends.
 * GCM decryption hands out plaintext before the tag is known, as
 * OpenSSL's does; keys/stream.c holds it back until final() verified the
 * tag.
 */
#ifdef SECKIT_HAVE_TPM2

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/err.h"
#include "crypto/crypto.h"
#include "crypto/ghash.h"
#include "backend/tpm2_int.h"

#define BLOCK 16
/* GCM's limit on the plaintext, in blocks: the 32-bit counter starts at
 * J0 + 1 (SP 800-38D: len(P) <= 2^39 - 256 bits). */
#define GCM_MAX_BLOCKS 0xfffffffeULL

/* One TPM2_EncryptDecrypt2 call: n bytes (a multiple of 16, at most
 * TPM2_MAX_DIGEST_BUFFER) of in through k's AES in mode with iv, into
 * out; ivout (NULL: not wanted) gets the chaining value the TPM returns. */
static int aes_call(struct sk_bkey *k, TPMI_ALG_CIPHER_MODE mode, int enc, const uint8_t *iv,
		    const uint8_t *in, size_t n, uint8_t *out, uint8_t *ivout)
{
	struct tpm_backend *be = k->be;
	TPM2B_MAX_BUFFER data = { 0 }, *res = NULL;
	TPM2B_IV ivin = { .size = BLOCK }, *ivres = NULL;
	ESYS_TR sess;
	TSS2_RC r;
	int rc;

	if ((rc = sk_tpm2_key_session(k, &sess)) != SK_OK)
		return rc;
	data.size = (UINT16)n;
	memcpy(data.buffer, in, n);
	memcpy(ivin.buffer, iv, BLOCK);
	r = be->t.Esys_EncryptDecrypt2(be->esys, k->handle, sess, ESYS_TR_NONE, ESYS_TR_NONE,
				       &data, enc ? TPM2_NO : TPM2_YES, mode, &ivin, &res, &ivres);
	OPENSSL_cleanse(&data, sizeof(data));
	OPENSSL_cleanse(&ivin, sizeof(ivin));
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_key_err(k, r, enc ? "AES encryption" : "AES decryption");
	if (res->size != n || ivres->size != BLOCK) {
		rc = sk_err(SK_EFAIL, "tpm2: AES returned %u bytes for %zu", res->size, n);
	} else {
		memcpy(out, res->buffer, n);
		if (ivout != NULL)
			memcpy(ivout, ivres->buffer, BLOCK);
	}
	OPENSSL_cleanse(res, sizeof(*res));
	OPENSSL_cleanse(ivres, sizeof(*ivres));
	be->t.Esys_Free(res);
	be->t.Esys_Free(ivres);
	return rc;
}

/* E_K(in) for one block: CBC with a zero IV is the bare block cipher. */
static int aes_block(struct sk_bkey *k, const uint8_t in[BLOCK], uint8_t out[BLOCK])
{
	static const uint8_t zero[BLOCK];

	return aes_call(k, TPM2_ALG_CBC, 1, zero, in, BLOCK, out, NULL);
}

/* Whole blocks of a stream: the pending bytes and n new ones, of which
 * use (a multiple of 16) go through fn and the rest stay pending.  fn
 * gets one buffer of use bytes. */
typedef int (*blocks_fn)(void *op, const uint8_t *in, size_t n, uint8_t *out);

static int feed(void *op, uint8_t *pend, size_t *npend, size_t use, const uint8_t *in, size_t n,
		blocks_fn fn, uint8_t *out)
{
	size_t total = *npend + n;
	uint8_t *all;
	int rc;

	if (use == 0) {
		memcpy(pend + *npend, in, n);
		*npend = total;
		return SK_OK;
	}
	if ((all = malloc(total)) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	memcpy(all, pend, *npend);
	memcpy(all + *npend, in, n);
	rc = fn(op, all, use, out);
	if (rc == SK_OK) {
		*npend = total - use;
		memcpy(pend, all + use, *npend);
	}
	OPENSSL_cleanse(all, total);
	free(all);
	return rc;
}

/* ---- CBC and CTR: the TPM's own modes ---- */

struct tpm_cipher {
	struct sk_symop base;
	struct sk_bkey *k;
	int enc;
	TPMI_ALG_CIPHER_MODE mode;
	uint8_t iv[BLOCK];
	uint8_t pend[32];
	size_t npend;
};

static int crypt_blocks(void *op, const uint8_t *in, size_t n, uint8_t *out)
{
	struct tpm_cipher *c = op;
	int rc;

	while (n > 0) {
		size_t k = n > TPM2_MAX_DIGEST_BUFFER ? TPM2_MAX_DIGEST_BUFFER : n;

		if ((rc = aes_call(c->k, c->mode, c->enc, c->iv, in, k, out, c->iv)) != SK_OK)
			return rc;
		in += k;
		out += k;
		n -= k;
	}
	return SK_OK;
}

static int cipher_update(struct sk_symop *op, const uint8_t *in, size_t n, uint8_t *out,
			 size_t *outlen)
{
	struct tpm_cipher *c = (struct tpm_cipher *)op;
	size_t total = c->npend + n, use;
	int rc;

	*outlen = 0;
	/* Whole blocks only; CBC decryption keeps the last block back, since
	 * it carries the padding.  At most 16 bytes stay pending, so the
	 * output never exceeds n + 16. */
	if (c->mode == TPM2_ALG_CBC && !c->enc)
		use = total > BLOCK ? ((total - 1) / BLOCK) * BLOCK : 0;
	else
		use = (total / BLOCK) * BLOCK;
	if ((rc = feed(c, c->pend, &c->npend, use, in, n, crypt_blocks, out)) == SK_OK)
		*outlen = use;
	return rc;
}

static int cipher_final(struct sk_symop *op, uint8_t *out, size_t *outlen, uint8_t *tag)
{
	struct tpm_cipher *c = (struct tpm_cipher *)op;
	uint8_t block[32], res[32];
	size_t n = c->npend;
	int rc, keep;

	(void)tag;
	*outlen = 0;
	if (c->mode == TPM2_ALG_CTR) {
		if (n == 0)
			return SK_OK;
		memset(block, 0, sizeof(block));
		memcpy(block, c->pend, n);
		rc = crypt_blocks(c, block, BLOCK, res);
		if (rc == SK_OK) {
			memcpy(out, res, n);
			*outlen = n;
		}
		OPENSSL_cleanse(block, sizeof(block));
		OPENSSL_cleanse(res, sizeof(res));
		return rc;
	}
	if (c->enc) {
		uint8_t pad = (uint8_t)(BLOCK - n % BLOCK);

		memcpy(block, c->pend, n);
		memset(block + n, pad, pad);
		rc = crypt_blocks(c, block, n + pad, out);
		OPENSSL_cleanse(block, sizeof(block));
		if (rc == SK_OK)
			*outlen = n + pad;
		return rc;
	}
	if (n == 0 || n % BLOCK != 0)
		return sk_err(SK_EVERIFY, "bad padding (wrong key or corrupt data)");
	if ((rc = crypt_blocks(c, c->pend, n, res)) != SK_OK)
		return rc;
	if ((keep = sk_pkcs7_unpad(res + n - BLOCK)) < 0) {
		OPENSSL_cleanse(res, sizeof(res));
		return sk_err(SK_EVERIFY, "bad padding (wrong key or corrupt data)");
	}
	memcpy(out, res, n - BLOCK + (size_t)keep);
	*outlen = n - BLOCK + (size_t)keep;
	OPENSSL_cleanse(res, sizeof(res));
	return SK_OK;
}

static void cipher_free(struct sk_symop *op)
{
	OPENSSL_cleanse(op, sizeof(struct tpm_cipher));
	free(op);
}

/* ---- GCM: the TPM's CTR, GHASH here ---- */

struct tpm_gcm {
	struct sk_symop base;
	struct sk_bkey *k;
	int enc;
	uint8_t nonce[12];
	uint64_t ctr;            /* counter of the next keystream block */
	uint8_t ekj0[BLOCK];     /* E_K(J0), masks the tag */
	struct sk_ghash gh;      /* holds H */
	uint8_t pend[BLOCK];
	size_t npend;
};

/* n bytes (whole blocks) through the keystream from counter g->ctr on,
 * one TPM call per TPM2_MAX_DIGEST_BUFFER, each with its counter block
 * set here (inc32). */
static int gcm_ctr(struct tpm_gcm *g, const uint8_t *in, size_t n, uint8_t *out)
{
	uint8_t cb[BLOCK];
	int rc = SK_OK;

	if (n / BLOCK > GCM_MAX_BLOCKS + 2 - g->ctr)
		return sk_err(SK_EFAIL, "AES-GCM: the input is over GCM's limit of 64 GiB");
	memcpy(cb, g->nonce, 12);
	while (n > 0 && rc == SK_OK) {
		size_t k = n > TPM2_MAX_DIGEST_BUFFER ? TPM2_MAX_DIGEST_BUFFER : n;

		cb[12] = (uint8_t)(g->ctr >> 24);
		cb[13] = (uint8_t)(g->ctr >> 16);
		cb[14] = (uint8_t)(g->ctr >> 8);
		cb[15] = (uint8_t)g->ctr;
		rc = aes_call(g->k, TPM2_ALG_CTR, 1, cb, in, k, out, NULL);
		g->ctr += k / BLOCK;
		in += k;
		out += k;
		n -= k;
	}
	OPENSSL_cleanse(cb, sizeof(cb));
	return rc;
}

/* Whole blocks: the ciphertext is what GHASH sees (the output when
 * encrypting, the input when decrypting). */
static int gcm_blocks(void *op, const uint8_t *in, size_t n, uint8_t *out)
{
	struct tpm_gcm *g = op;
	int rc;

	if (!g->enc)
		sk_ghash_update(&g->gh, in, n);
	if ((rc = gcm_ctr(g, in, n, out)) != SK_OK)
		return rc;
	if (g->enc)
		sk_ghash_update(&g->gh, out, n);
	return SK_OK;
}

static int gcm_update(struct sk_symop *op, const uint8_t *in, size_t n, uint8_t *out,
		      size_t *outlen)
{
	struct tpm_gcm *g = (struct tpm_gcm *)op;
	size_t use = ((g->npend + n) / BLOCK) * BLOCK;
	int rc;

	*outlen = 0;
	if ((rc = feed(g, g->pend, &g->npend, use, in, n, gcm_blocks, out)) == SK_OK)
		*outlen = use;
	return rc;
}

/* The tail (under a block) and the tag: written to tag when encrypting,
 * compared in constant time with tag when decrypting. */
static int gcm_final(struct sk_symop *op, uint8_t *out, size_t *outlen, uint8_t *tag)
{
	struct tpm_gcm *g = (struct tpm_gcm *)op;
	uint8_t block[BLOCK], res[BLOCK];
	size_t n = g->npend;
	int rc = SK_OK;

	*outlen = 0;
	memset(block, 0, sizeof(block));
	memcpy(block, g->pend, n);
	if ((n == 0 || (rc = gcm_ctr(g, block, BLOCK, res)) == SK_OK) &&
	    (rc = sk_gcm_last(&g->gh, g->ekj0, g->enc, g->pend, res, n, out, tag)) == SK_OK)
		*outlen = n;
	OPENSSL_cleanse(block, sizeof(block));
	OPENSSL_cleanse(res, sizeof(res));
	return rc;
}

static void gcm_free(struct sk_symop *op)
{
	OPENSSL_secure_clear_free(op, sizeof(struct tpm_gcm));
}

static int gcm_new(struct sk_bkey *k, int enc, const uint8_t *nonce, size_t len,
		   struct sk_symop **out)
{
	static const uint8_t zero[BLOCK];
	struct tpm_gcm *g;
	uint8_t h[BLOCK], j0[BLOCK];
	int rc;

	if (len != 12)
		return sk_err(SK_EFAIL, "tpm2: AES-GCM needs a 12-byte nonce");
	if ((g = OPENSSL_secure_zalloc(sizeof(*g))) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	g->k = k;
	g->enc = enc;
	memcpy(g->nonce, nonce, 12);
	memcpy(j0, nonce, 12);
	j0[12] = j0[13] = j0[14] = 0;
	j0[15] = 1;
	g->ctr = 2;
	g->base.update = gcm_update;
	g->base.final = gcm_final;
	g->base.free = gcm_free;
	if ((rc = aes_block(k, zero, h)) == SK_OK && (rc = aes_block(k, j0, g->ekj0)) == SK_OK) {
		sk_ghash_init(&g->gh, h);
		*out = &g->base;
	} else {
		gcm_free(&g->base);
	}
	OPENSSL_cleanse(h, sizeof(h));
	return rc;
}

int sk_tpm2_cipher(struct sk_bkey *k, enum sk_cipher_mode mode, int enc, const uint8_t *iv,
		   size_t ivlen, struct sk_symop **out)
{
	struct tpm_cipher *c;

	*out = NULL;
	if (mode == SK_MODE_GCM)
		return gcm_new(k, enc, iv, ivlen, out);
	if (ivlen != BLOCK)
		return sk_err(SK_EFAIL, "tpm2: AES needs a 16-byte IV");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	c->k = k;
	c->enc = enc;
	c->mode = mode == SK_MODE_CBC ? TPM2_ALG_CBC : TPM2_ALG_CTR;
	memcpy(c->iv, iv, BLOCK);
	c->base.update = cipher_update;
	c->base.final = cipher_final;
	c->base.free = cipher_free;
	*out = &c->base;
	return SK_OK;
}

/* ---- CMAC: the TPM's CBC, subkeys here ---- */

struct tpm_cmac {
	struct sk_symop base;
	struct sk_bkey *k;
	uint8_t k1[BLOCK], k2[BLOCK];
	uint8_t chain[BLOCK];    /* the CBC value so far (C_i) */
	uint8_t pend[BLOCK];     /* the last block, held back: 1..16 bytes */
	size_t npend;
	uint8_t *scratch;        /* CBC output nobody needs but the last block */
};

/* out = in * x in GF(2^128) (SP 800-38B's subkey step): a left shift,
 * and 0x87 into the last byte when the top bit falls off, by a mask. */
static void dbl(const uint8_t in[BLOCK], uint8_t out[BLOCK])
{
	uint8_t carry = (uint8_t)(0 - (in[0] >> 7));
	int i;

	for (i = 0; i < BLOCK - 1; i++)
		out[i] = (uint8_t)((in[i] << 1) | (in[i + 1] >> 7));
	out[BLOCK - 1] = (uint8_t)((in[BLOCK - 1] << 1) ^ (0x87 & carry));
}

static int cmac_blocks(void *op, const uint8_t *in, size_t n, uint8_t *out)
{
	struct tpm_cmac *m = op;
	int rc;

	(void)out;
	while (n > 0) {
		size_t k = n > TPM2_MAX_DIGEST_BUFFER ? TPM2_MAX_DIGEST_BUFFER : n;

		if ((rc = aes_call(m->k, TPM2_ALG_CBC, 1, m->chain, in, k, m->scratch, NULL)) != SK_OK)
			return rc;
		memcpy(m->chain, m->scratch + k - BLOCK, BLOCK);
		in += k;
		n -= k;
	}
	return SK_OK;
}

static int cmac_update(struct sk_symop *op, const uint8_t *in, size_t n, uint8_t *out,
		       size_t *outlen)
{
	struct tpm_cmac *m = (struct tpm_cmac *)op;
	size_t total = m->npend + n;

	*outlen = 0;
	/* The last block (complete or not) waits for final(). */
	return feed(m, m->pend, &m->npend, total > BLOCK ? ((total - 1) / BLOCK) * BLOCK : 0,
		    in, n, cmac_blocks, out);
}

static int cmac_final(struct sk_symop *op, uint8_t *out, size_t *outlen, uint8_t *tag)
{
	struct tpm_cmac *m = (struct tpm_cmac *)op;
	uint8_t last[BLOCK];
	size_t i;
	int rc;

	(void)tag;
	*outlen = 0;
	/* A complete last block is xored with K1; a short (or empty) one is
	 * padded with 10...0 and xored with K2. */
	memset(last, 0, sizeof(last));
	memcpy(last, m->pend, m->npend);
	if (m->npend < BLOCK)
		last[m->npend] = 0x80;
	for (i = 0; i < BLOCK; i++)
		last[i] ^= m->npend == BLOCK ? m->k1[i] : m->k2[i];
	rc = aes_call(m->k, TPM2_ALG_CBC, 1, m->chain, last, BLOCK, out, NULL);
	OPENSSL_cleanse(last, sizeof(last));
	if (rc == SK_OK)
		*outlen = BLOCK;
	return rc;
}

static void cmac_free(struct sk_symop *op)
{
	struct tpm_cmac *m = (struct tpm_cmac *)op;

	if (m->scratch != NULL)
		OPENSSL_clear_free(m->scratch, TPM2_MAX_DIGEST_BUFFER);
	OPENSSL_secure_clear_free(m, sizeof(*m));
}

int sk_tpm2_cmac(struct sk_bkey *k, struct sk_symop **out)
{
	static const uint8_t zero[BLOCK];
	struct tpm_cmac *m;
	uint8_t l[BLOCK];
	int rc;

	*out = NULL;
	if ((m = OPENSSL_secure_zalloc(sizeof(*m))) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	m->k = k;
	m->base.update = cmac_update;
	m->base.final = cmac_final;
	m->base.free = cmac_free;
	if ((m->scratch = OPENSSL_malloc(TPM2_MAX_DIGEST_BUFFER)) == NULL) {
		cmac_free(&m->base);
		return sk_err(SK_EFAIL, "out of memory");
	}
	if ((rc = aes_block(k, zero, l)) == SK_OK) {
		dbl(l, m->k1);
		dbl(m->k1, m->k2);
		*out = &m->base;
	} else {
		cmac_free(&m->base);
	}
	OPENSSL_cleanse(l, sizeof(l));
	return rc;
}

#endif /* SECKIT_HAVE_TPM2 */
