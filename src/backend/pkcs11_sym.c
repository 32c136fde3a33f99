/* SPDX-License-Identifier: MIT */
/*
 * pkcs11 backend: AES and HMAC with secret keys on the token.
 *
 *   CBC   CKM_AES_CBC on whole blocks, the PKCS#7 padding added and
 *         checked here in constant time (crypto.h sk_pkcs7_unpad): not
 *         CKM_AES_CBC_PAD, whose bad padding SoftHSM2 reports as
 *         CKR_GENERAL_ERROR, a dead module, and whose check is the
 *         token's, of unknown timing
 *   CTR   CKM_AES_CTR with a 128-bit counter (OpenSSL's AES-CTR); where
 *         the counter wraps from 2^128 - 1 to 0, which OpenSSL does and
 *         tokens refuse (SoftHSM2: CKR_DATA_LEN_RANGE), the operation is
 *         ended and started again from counter 0
 *   GCM   built here from the token's AES, as the tpm2 backend does
 *         (tpm2_aes.c): E_K(0^128) and E_K(J0) by one CKM_AES_ECB call,
 *         the keystream by CKM_AES_CTR from J0 + 1 with a 32-bit counter
 *         (GCM's inc32), GHASH (crypto/ghash.h) and the tag here
 *   CMAC  CKM_AES_CMAC (the MAC of an AES key, as on the other backends)
 *   HMAC  CKM_SHA256_HMAC, CKM_SHA384_HMAC, CKM_SHA512_HMAC
 *
 * All stream through one multi-part operation (C_EncryptUpdate,
 * C_DecryptUpdate, C_SignUpdate), so a file of any size goes through in
 * chunks.  GCM is not CKM_AES_GCM because PKCS#11 (2.40, 5.2 of its
 * current mechanisms) returns no plaintext of a GCM decryption before
 * C_DecryptFinal has checked the tag: the token would hold the whole
 * file.  Built from CTR, the output is the same bytes as the soft
 * backend's and OpenSSL's, file by file.  H and E_K(J0) are then secrets
 * on the host: the state that holds them is in the secure heap, cleansed
 * at the end.  GCM decryption hands out plaintext before the tag is known,
 * as OpenSSL's does; keys/stream.c holds it back until final() verified
 * the tag (compared in constant time).
 *
 * A token runs one operation of a kind per session: an operation ended
 * early (an error of ours, or free before final) is finished with a final
 * call whose output is thrown away, so the session is free again.
 */
#ifdef SECKIT_HAVE_PKCS11

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "backend/pkcs11_int.h"
#include "base/err.h"
#include "base/util.h"
#include "crypto/crypto.h"
#include "crypto/ghash.h"

#define BLOCK 16
/* GCM's limit on the plaintext, in blocks (SP 800-38D: len(P) <= 2^39 -
 * 256 bits): the 32-bit counter starts at J0 + 1 and must not wrap. */
#define GCM_MAX_BLOCKS 0xfffffffeULL

enum { OP_ENCRYPT, OP_DECRYPT, OP_SIGN };

struct p11_sym {
	struct sk_symop base;
	struct p11_backend *be;
	int op;                  /* OP_*: the token's operation */
	int active;              /* it is under way in the session */
	int cbc;                 /* CKM_AES_CBC: padding here, whole blocks */
	/* CTR: bytes before the counter wraps (0: none in reach) */
	CK_OBJECT_HANDLE key;
	uint64_t wrap_in;
	/* GCM */
	int gcm, enc;
	uint64_t blocks;         /* keystream blocks used */
	uint8_t ekj0[BLOCK];     /* E_K(J0), masks the tag */
	struct sk_ghash gh;      /* holds H */
	uint8_t pend[BLOCK];
	size_t npend;
};

/* End the token's operation, its output thrown away. */
static void sym_abort(struct p11_sym *s)
{
	uint8_t scratch[2 * EVP_MAX_MD_SIZE];
	CK_ULONG n = sizeof(scratch);

	if (!s->active)
		return;
	if (s->op == OP_SIGN)
		P11(s->be, C_SignFinal, s->be->s, scratch, &n);
	else if (s->op == OP_DECRYPT)
		P11(s->be, C_DecryptFinal, s->be->s, scratch, &n);
	else
		P11(s->be, C_EncryptFinal, s->be->s, scratch, &n);
	s->active = 0;
	OPENSSL_cleanse(scratch, sizeof(scratch));
}

static void sym_free(struct sk_symop *op)
{
	struct p11_sym *s = (struct p11_sym *)op;

	if (s == NULL)
		return;
	sym_abort(s);
	OPENSSL_secure_clear_free(s, sizeof(*s));
}

/* A failed call: the token ended the operation (PKCS#11 5.8: an error
 * other than CKR_BUFFER_TOO_SMALL ends it). */
static int sym_fail(struct p11_sym *s, CK_RV rv, const char *what)
{
	s->active = rv == CKR_BUFFER_TOO_SMALL;
	sym_abort(s);
	return sk_p11_fail(s->be, rv, what);
}

/* n bytes through the token's cipher into out (room for n + 32). */
static int token_update(struct p11_sym *s, const uint8_t *in, size_t n, uint8_t *out,
			size_t *outlen)
{
	CK_ULONG ol = (CK_ULONG)n + 32;
	CK_RV rv = s->op == OP_DECRYPT
			   ? P11(s->be, C_DecryptUpdate, s->be->s, (CK_BYTE_PTR)in, n, out, &ol)
			   : P11(s->be, C_EncryptUpdate, s->be->s, (CK_BYTE_PTR)in, n, out, &ol);

	if (rv != CKR_OK)
		return sym_fail(s, rv, s->op == OP_DECRYPT ? "AES decryption" : "AES encryption");
	if (ol > n + 32)
		return sk_err(SK_EFAIL, "token '%s': AES returned %lu bytes for %zu", s->be->label,
			      (unsigned long)ol, n);
	*outlen = ol;
	return SK_OK;
}

/* AES-CTR from counter 0, after the wrap. */
static int ctr_restart(struct p11_sym *s)
{
	CK_AES_CTR_PARAMS cp = { .ulCounterBits = 128 };
	CK_MECHANISM m = { CKM_AES_CTR, &cp, sizeof(cp) };
	CK_RV rv;

	sym_abort(s);
	rv = s->op == OP_DECRYPT ? P11(s->be, C_DecryptInit, s->be->s, &m, s->key)
				 : P11(s->be, C_EncryptInit, s->be->s, &m, s->key);
	if (rv != CKR_OK)
		return sk_p11_fail(s->be, rv, "AES-CTR (its counter wrapped)");
	s->active = 1;
	s->wrap_in = 0;
	return SK_OK;
}

/* n bytes through the cipher into out (room for n + 32); a CTR counter
 * that wraps within them splits them there. */
static int crypt_update(struct p11_sym *s, const uint8_t *in, size_t n, uint8_t *out,
			size_t *outlen)
{
	size_t first, a = 0, b = 0;
	int rc;

	if (s->wrap_in == 0 || n < s->wrap_in) {
		if (s->wrap_in != 0)
			s->wrap_in -= n;
		return token_update(s, in, n, out, outlen);
	}
	first = (size_t)s->wrap_in;
	if ((rc = token_update(s, in, first, out, &a)) != SK_OK)
		return rc;
	if (a != first)
		return sk_err(SK_EFAIL, "token '%s': AES-CTR returned %zu bytes for %zu", s->be->label,
			      a, first);
	if ((rc = ctr_restart(s)) != SK_OK ||
	    (n > first && (rc = token_update(s, in + first, n - first, out + first, &b)) != SK_OK))
		return rc;
	*outlen = a + b;
	return SK_OK;
}

/* Whole blocks through the cipher, all of them out at once (CBC and CTR
 * hold nothing back on whole blocks). */
static int crypt_exact(struct p11_sym *s, const uint8_t *in, size_t n, uint8_t *out)
{
	size_t got = 0;
	int rc = crypt_update(s, in, n, out, &got);

	if (rc == SK_OK && got != n)
		rc = sk_err(SK_EFAIL, "token '%s': AES returned %zu bytes for %zu", s->be->label,
			    got, n);
	return rc;
}

/* ---- CBC: the token's, padding here ---- */

/* Encrypting: the pending bytes padded to a block.  Decrypting: the
 * held-back block, its padding checked. */
static int cbc_final(struct p11_sym *s, uint8_t *out, size_t *outlen)
{
	uint8_t block[BLOCK], res[BLOCK];
	size_t n = s->npend;
	int rc, keep;

	*outlen = 0;
	if (s->op == OP_ENCRYPT) {
		memcpy(block, s->pend, n);
		memset(block + n, (int)(BLOCK - n), BLOCK - n);
		if ((rc = crypt_exact(s, block, BLOCK, out)) == SK_OK)
			*outlen = BLOCK;
	} else if (n != BLOCK) {
		rc = sk_err(SK_EVERIFY, "bad padding (wrong key or corrupt data)");
	} else if ((rc = crypt_exact(s, s->pend, BLOCK, res)) == SK_OK) {
		if ((keep = sk_pkcs7_unpad(res)) < 0) {
			rc = sk_err(SK_EVERIFY, "bad padding (wrong key or corrupt data)");
		} else {
			memcpy(out, res, (size_t)keep);
			*outlen = (size_t)keep;
		}
	}
	sym_abort(s); /* C_EncryptFinal/C_DecryptFinal: nothing more */
	OPENSSL_cleanse(block, sizeof(block));
	OPENSSL_cleanse(res, sizeof(res));
	return rc;
}

/* ---- GCM: the token's CTR, GHASH here ---- */

/* Whole blocks through the keystream; GHASH sees the ciphertext (the
 * output when encrypting, the input when decrypting). */
static int gcm_blocks(struct p11_sym *s, const uint8_t *in, size_t n, uint8_t *out)
{
	int rc;

	if (n / BLOCK > GCM_MAX_BLOCKS - s->blocks)
		return sk_err(SK_EFAIL, "AES-GCM: the input is over GCM's limit of 64 GiB");
	if (!s->enc)
		sk_ghash_update(&s->gh, in, n);
	if ((rc = crypt_exact(s, in, n, out)) != SK_OK)
		return rc;
	s->blocks += n / BLOCK;
	if (s->enc)
		sk_ghash_update(&s->gh, out, n);
	return SK_OK;
}

/* Whole blocks through fn as they come, the rest pending (at most a
 * block); hold: a CBC decryption keeps its last whole block back, since
 * it carries the padding. */
static int feed(struct p11_sym *s, const uint8_t *in, size_t n, uint8_t *out, size_t *outlen,
		int hold, int (*fn)(struct p11_sym *, const uint8_t *, size_t, uint8_t *))
{
	size_t total = s->npend + n, use, fill;
	int rc;

	*outlen = 0;
	use = hold ? (total > BLOCK ? ((total - 1) / BLOCK) * BLOCK : 0) : (total / BLOCK) * BLOCK;
	if (use == 0) {
		memcpy(s->pend + s->npend, in, n);
		s->npend = total;
		return SK_OK;
	}
	/* The pending bytes completed to a block, then whole blocks straight
	 * from in. */
	if (s->npend > 0) {
		fill = BLOCK - s->npend;
		memcpy(s->pend + s->npend, in, fill);
		if ((rc = fn(s, s->pend, BLOCK, out)) != SK_OK)
			return rc;
		in += fill;
		n -= fill;
		out += BLOCK;
		use -= BLOCK;
		*outlen = BLOCK;
		s->npend = 0;
	}
	if (use > 0 && (rc = fn(s, in, use, out)) != SK_OK)
		return rc;
	*outlen += use;
	memcpy(s->pend, in + use, n - use);
	s->npend = n - use;
	return SK_OK;
}

/* The tail (under a block, zero-padded through the keystream) and the tag:
 * written to tag when encrypting, compared in constant time with tag when
 * decrypting. */
static int gcm_final(struct p11_sym *s, uint8_t *out, size_t *outlen, uint8_t *tag)
{
	uint8_t block[BLOCK], res[BLOCK + 32];
	size_t n = s->npend;
	int rc = SK_OK;

	*outlen = 0;
	memset(block, 0, sizeof(block));
	memcpy(block, s->pend, n);
	if (n > 0)
		rc = crypt_exact(s, block, BLOCK, res);
	sym_abort(s); /* C_EncryptFinal: CTR has nothing more */
	if (rc == SK_OK &&
	    (rc = sk_gcm_last(&s->gh, s->ekj0, s->enc, s->pend, res, n, out, tag)) == SK_OK)
		*outlen = n;
	OPENSSL_cleanse(block, sizeof(block));
	OPENSSL_cleanse(res, sizeof(res));
	return rc;
}

/* H = E_K(0^128) and E_K(J0) in one AES-ECB call, then the keystream
 * from J0 + 1 (the counter's low 32 bits, GCM's inc32). */
static int gcm_start(struct p11_sym *s, CK_OBJECT_HANDLE key, const uint8_t *nonce)
{
	struct p11_backend *be = s->be;
	CK_MECHANISM ecb = { CKM_AES_ECB, NULL, 0 };
	CK_AES_CTR_PARAMS cp;
	CK_MECHANISM ctr = { CKM_AES_CTR, &cp, sizeof(cp) };
	uint8_t in[2 * BLOCK], res[2 * BLOCK];
	CK_ULONG ol = sizeof(res);
	CK_RV rv;
	int rc = SK_OK;

	memset(in, 0, sizeof(in));
	memcpy(in + BLOCK, nonce, 12);
	in[2 * BLOCK - 1] = 1;
	if ((rv = P11(be, C_EncryptInit, be->s, &ecb, key)) != CKR_OK)
		return sk_p11_fail(be, rv, "AES-GCM (its AES-ECB blocks)");
	if ((rv = P11(be, C_Encrypt, be->s, in, sizeof(in), res, &ol)) != CKR_OK || ol != sizeof(res)) {
		rc = rv != CKR_OK ? sk_p11_fail(be, rv, "AES-GCM (its AES-ECB blocks)")
				  : sk_err(SK_EFAIL, "token '%s': AES-ECB returned %lu bytes for 32",
					   be->label, (unsigned long)ol);
		goto out;
	}
	sk_ghash_init(&s->gh, res);
	memcpy(s->ekj0, res + BLOCK, BLOCK);
	memset(&cp, 0, sizeof(cp));
	cp.ulCounterBits = 32;
	memcpy(cp.cb, in + BLOCK, BLOCK);
	cp.cb[15] = 2;
	if ((rv = P11(be, C_EncryptInit, be->s, &ctr, key)) != CKR_OK)
		rc = sk_p11_fail(be, rv, "AES-GCM (its AES-CTR keystream)");
	else
		s->active = 1;
	OPENSSL_cleanse(&cp, sizeof(cp));
out:
	OPENSSL_cleanse(in, sizeof(in));
	OPENSSL_cleanse(res, sizeof(res));
	return rc;
}

/* ---- the operations ---- */

static int sym_update(struct sk_symop *op, const uint8_t *in, size_t n, uint8_t *out,
		      size_t *outlen)
{
	struct p11_sym *s = (struct p11_sym *)op;
	CK_RV rv;

	*outlen = 0;
	if (!s->active)
		return sk_err(SK_EFAIL, "token '%s': the operation has ended", s->be->label);
	if (s->gcm)
		return feed(s, in, n, out, outlen, 0, gcm_blocks);
	if (s->cbc)
		return feed(s, in, n, out, outlen, s->op == OP_DECRYPT, crypt_exact);
	if (s->op != OP_SIGN)
		return crypt_update(s, in, n, out, outlen);
	if ((rv = P11(s->be, C_SignUpdate, s->be->s, (CK_BYTE_PTR)in, n)) != CKR_OK)
		return sym_fail(s, rv, "computing a MAC");
	return SK_OK;
}

static int sym_final(struct sk_symop *op, uint8_t *out, size_t *outlen, uint8_t *tag)
{
	struct p11_sym *s = (struct p11_sym *)op;
	uint8_t res[2 * EVP_MAX_MD_SIZE];
	CK_ULONG ol = sizeof(res);
	size_t max = s->op == OP_SIGN ? EVP_MAX_MD_SIZE : BLOCK;
	CK_RV rv;

	*outlen = 0;
	if (!s->active)
		return sk_err(SK_EFAIL, "token '%s': the operation has ended", s->be->label);
	if (s->gcm)
		return gcm_final(s, out, outlen, tag);
	if (s->cbc)
		return cbc_final(s, out, outlen);
	rv = s->op == OP_SIGN	  ? P11(s->be, C_SignFinal, s->be->s, res, &ol)
	     : s->op == OP_DECRYPT ? P11(s->be, C_DecryptFinal, s->be->s, res, &ol)
				   : P11(s->be, C_EncryptFinal, s->be->s, res, &ol);
	if (rv != CKR_OK)
		return sym_fail(s, rv, s->op == OP_SIGN ? "computing a MAC" : "AES");
	s->active = 0;
	if (ol > max) {
		OPENSSL_cleanse(res, sizeof(res));
		return sk_err(SK_EFAIL, "token '%s' returned %lu bytes where %zu at most were due",
			      s->be->label, (unsigned long)ol, max);
	}
	memcpy(out, res, ol);
	*outlen = ol;
	OPENSSL_cleanse(res, sizeof(res));
	return SK_OK;
}

static int sym_new(struct p11_backend *be, int op, struct p11_sym **out)
{
	struct p11_sym *s;

	*out = NULL;
	if ((s = OPENSSL_secure_zalloc(sizeof(*s))) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	s->be = be;
	s->op = op;
	s->base.update = sym_update;
	s->base.final = sym_final;
	s->base.free = sym_free;
	*out = s;
	return SK_OK;
}

int sk_p11_cipher(struct p11_backend *be, CK_OBJECT_HANDLE key, enum sk_cipher_mode mode,
		  int enc, const uint8_t *iv, size_t ivlen, struct sk_symop **out)
{
	CK_AES_CTR_PARAMS cp;
	CK_MECHANISM m = { CKM_AES_CBC, (void *)iv, (CK_ULONG)ivlen };
	uint64_t wrap_in = 0;
	struct p11_sym *s;
	size_t i;
	CK_RV rv;
	int rc;

	*out = NULL;
	if (ivlen != (mode == SK_MODE_GCM ? 12 : BLOCK))
		return sk_err(SK_EFAIL, "pkcs11: AES-%s needs a %d-byte IV",
			      mode == SK_MODE_GCM ? "GCM" : "CBC/CTR", mode == SK_MODE_GCM ? 12 : BLOCK);
	if (mode == SK_MODE_GCM) {
		if ((rc = sk_p11_need_mech(be, CKM_AES_ECB, "encrypt with AES-GCM (made of AES-ECB and AES-CTR)")) != SK_OK ||
		    (rc = sk_p11_need_mech(be, CKM_AES_CTR, "encrypt with AES-GCM (made of AES-ECB and AES-CTR)")) != SK_OK)
			return rc;
	} else if (mode == SK_MODE_CTR) {
		memset(&cp, 0, sizeof(cp));
		cp.ulCounterBits = 128;
		memcpy(cp.cb, iv, BLOCK);
		m.mechanism = CKM_AES_CTR;
		m.pParameter = &cp;
		m.ulParameterLen = sizeof(cp);
		if ((rc = sk_p11_need_mech(be, CKM_AES_CTR, "encrypt with AES-CTR")) != SK_OK)
			return rc;
		/* Blocks before the wrap: only a counter whose high 64 bits are
		 * all ones gets there within 2^64 blocks. */
		for (i = 0; i < 8 && iv[i] == 0xff; i++)
			;
		wrap_in = i == 8 ? (0 - sk_get_be64(iv + 8)) : 0;
	} else if ((rc = sk_p11_need_mech(be, CKM_AES_CBC, "encrypt with AES-CBC")) != SK_OK) {
		return rc;
	}
	if ((rc = sk_p11_login(be, 0)) != SK_OK ||
	    (rc = sym_new(be, enc || mode == SK_MODE_GCM ? OP_ENCRYPT : OP_DECRYPT, &s)) != SK_OK)
		return rc;
	if (mode == SK_MODE_GCM) {
		s->gcm = 1;
		s->enc = enc;
		rc = gcm_start(s, key, iv);
	} else {
		s->cbc = mode == SK_MODE_CBC;
		s->key = key;
		/* in bytes; a wrap further than 2^60 blocks is out of reach */
		s->wrap_in = wrap_in != 0 && wrap_in < (1ULL << 59) ? wrap_in * BLOCK : 0;
		rv = enc ? P11(be, C_EncryptInit, be->s, &m, key) : P11(be, C_DecryptInit, be->s, &m, key);
		rc = rv == CKR_OK ? SK_OK : sk_p11_fail(be, rv, enc ? "AES encryption" : "AES decryption");
		s->active = rv == CKR_OK;
	}
	OPENSSL_cleanse(&cp, sizeof(cp));
	if (rc != SK_OK) {
		sym_free(&s->base);
		return rc;
	}
	*out = &s->base;
	return SK_OK;
}

int sk_p11_mac(struct p11_backend *be, CK_OBJECT_HANDLE key, const struct sk_keytype *kt,
	       struct sk_symop **out)
{
	CK_MECHANISM m = { CKM_AES_CMAC, NULL, 0 };
	struct p11_sym *s;
	CK_RV rv;
	int rc;

	*out = NULL;
	if (kt->kind == SK_KIND_HMAC)
		m.mechanism = kt->bits == 256 ? CKM_SHA256_HMAC :
			      kt->bits == 384 ? CKM_SHA384_HMAC : CKM_SHA512_HMAC;
	if ((rc = sk_p11_need_mech(be, m.mechanism, kt->kind == SK_KIND_HMAC ? "compute HMACs" : "compute CMACs")) != SK_OK ||
	    (rc = sk_p11_login(be, 0)) != SK_OK || (rc = sym_new(be, OP_SIGN, &s)) != SK_OK)
		return rc;
	if ((rv = P11(be, C_SignInit, be->s, &m, key)) != CKR_OK) {
		rc = sk_p11_fail(be, rv, "computing a MAC");
		sym_free(&s->base);
		return rc;
	}
	s->active = 1;
	*out = &s->base;
	return SK_OK;
}

#endif /* SECKIT_HAVE_PKCS11 */
