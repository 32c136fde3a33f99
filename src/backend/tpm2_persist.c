/* SPDX-License-Identifier: MIT */
/*
 * The store's sealed master key as a persistent TPM object (the tpm2
 * backend's persist, release and sealed_handle operations, backend.h).
 *
 * A loadable sealed blob costs every store open a TPM2_ReadPublic of the
 * parent (to salt the session that encrypts the unsealed key on the bus),
 * a TPM2_Load and a TPM2_FlushContext.  Made persistent once, at store
 * creation or `store reseal`, with the parent's public area kept beside
 * it (ESAPI's own record of the object, Esys_TR_Serialize), the unseal is
 * TPM2_StartAuthSession salted to that recorded key, (TPM2_PolicyPCR,)
 * TPM2_Unseal, and nothing else.
 *
 * The record pins the parent: the salt is encrypted to the public key
 * recorded when the master key was sealed, not to whatever key the TPM
 * holds at the handle today, so a key put there since cannot learn the
 * session key; the TPM, whose key at the handle then derives another
 * session key, refuses the unseal's HMAC (or ESAPI the answer's), and
 * the store does not open (exit 7).
 *
 * Blob (docs/formats/store.md): version 1, kind 2, the object's
 * persistent handle (u32), the parent's persistent handle (u32, 0 for the
 * SRK template's primary, made on each open), u16 length and ESAPI's
 * record of the parent (empty with 0), u16 length and ESAPI's record of
 * the object.
 */
#ifdef SECKIT_HAVE_TPM2

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/err.h"
#include "base/util.h"
#include "backend/tpm2_int.h"

/* Where seckit keeps sealed master keys: the first free handle of
 * 0x81534b00 to 0x81534bff ("SK" in the middle bytes), in the owner's
 * persistent range and outside the TCG registry's reserved blocks. */
#define MK_HANDLE_FIRST 0x81534b00u
#define MK_HANDLE_LAST 0x81534bffu

struct precord {
	uint32_t handle, parent;
	const uint8_t *pser, *oser;
	size_t plen, olen;
};

static int is_persistent(uint32_t h)
{
	return h >= SK_TPM2_PERSISTENT_FIRST && h <= SK_TPM2_PERSISTENT_LAST;
}

/* A length-prefixed field at *off. */
static int field(const uint8_t *b, size_t n, size_t *off, const uint8_t **p, size_t *len)
{
	if (n - *off < 2)
		return 0;
	*len = sk_get_be16(b + *off);
	*off += 2;
	if (n - *off < *len)
		return 0;
	*p = b + *off;
	*off += *len;
	return 1;
}

static int parse(const uint8_t *b, size_t n, struct precord *r)
{
	size_t off = 10;

	memset(r, 0, sizeof(*r));
	if (n < off || b[0] != SK_TPM2_BLOB_VERSION || b[1] != SK_TPM2_BLOB_PERSISTENT)
		return 0;
	r->handle = sk_get_be32(b + 2);
	r->parent = sk_get_be32(b + 6);
	if (!is_persistent(r->handle) || (r->parent != 0 && !is_persistent(r->parent)) ||
	    !field(b, n, &off, &r->pser, &r->plen) || !field(b, n, &off, &r->oser, &r->olen))
		return 0;
	return off == n && r->olen != 0 && (r->parent == 0) == (r->plen == 0);
}

int sk_tpm2_blob_persistent(const uint8_t *blob, size_t n)
{
	return n >= 2 && blob[0] == SK_TPM2_BLOB_VERSION && blob[1] == SK_TPM2_BLOB_PERSISTENT;
}

int sk_tpm2_sealed_handle(const uint8_t *blob, size_t n, uint32_t *h)
{
	struct precord r;

	*h = 0;
	if (n >= 2 && blob[0] == SK_TPM2_BLOB_VERSION && blob[1] == SK_TPM2_BLOB_TRANSIENT)
		return SK_OK;
	if (!parse(blob, n, &r))
		return sk_err(SK_EVERIFY, "tpm2: the sealed object's record is malformed");
	*h = r.handle;
	return SK_OK;
}

/* The first handle of seckit's range that the TPM does not use. */
static int free_handle(struct tpm_backend *be, uint32_t *out)
{
	uint32_t hs[SK_MAX_HANDLES], h;
	size_t n, i;
	int rc;

	if ((rc = sk_tpm2_list_handles(be, hs, &n)) != SK_OK)
		return rc;
	for (h = MK_HANDLE_FIRST, i = 0; h <= MK_HANDLE_LAST; h++) {
		while (i < n && hs[i] < h)
			i++;
		if (i == n || hs[i] != h) {
			*out = h;
			return SK_OK;
		}
	}
	return sk_err(SK_EFAIL, "tpm2: no free persistent handle for the sealed master key (0x%08x to 0x%08x are all taken: seckit key handles lists them)",
		      MK_HANDLE_FIRST, MK_HANDLE_LAST);
}

static void evict(struct tpm_backend *be, ESYS_TR obj, uint32_t handle)
{
	ESYS_TR gone = ESYS_TR_NONE;

	if (be->t.Esys_EvictControl(be->esys, ESYS_TR_RH_OWNER, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				    ESYS_TR_NONE, handle, &gone) != TSS2_RC_SUCCESS)
		be->t.Esys_TR_Close(be->esys, &obj);
}

static int put_field(struct sk_buf *out, const uint8_t *p, size_t n)
{
	uint8_t len[2];
	int rc;

	sk_put_be16(len, (uint16_t)n);
	if ((rc = sk_buf_add(out, len, 2)) == SK_OK && n != 0)
		rc = sk_buf_add(out, p, n);
	return rc;
}

/* The record of the persistent object obj at handle, with the parent's. */
static int record(struct tpm_backend *be, ESYS_TR obj, uint32_t handle, struct sk_buf *out)
{
	uint8_t head[10], *pser = NULL, *oser = NULL;
	size_t plen = 0, olen = 0;
	TSS2_RC r = TSS2_RC_SUCCESS;
	int rc;

	head[0] = SK_TPM2_BLOB_VERSION;
	head[1] = SK_TPM2_BLOB_PERSISTENT;
	sk_put_be32(head + 2, handle);
	sk_put_be32(head + 6, be->parent_handle);
	if (be->parent_handle != 0)
		r = be->t.Esys_TR_Serialize(be->esys, be->parent, &pser, &plen);
	if (r == TSS2_RC_SUCCESS)
		r = be->t.Esys_TR_Serialize(be->esys, obj, &oser, &olen);
	if (r != TSS2_RC_SUCCESS) {
		rc = sk_tpm2_err(be, r, "recording the persistent object");
	} else if (plen > 0xffff || olen == 0 || olen > 0xffff) {
		rc = sk_err(SK_EFAIL, "tpm2: the persistent object's record has a bad size");
	} else if ((rc = sk_buf_add(out, head, sizeof(head))) == SK_OK &&
		   (rc = put_field(out, pser, plen)) == SK_OK) {
		rc = put_field(out, oser, olen);
	}
	be->t.Esys_Free(pser);
	be->t.Esys_Free(oser);
	return rc;
}

int sk_tpm2_persist(struct sk_backend *b, const uint8_t *blob, size_t n, struct sk_buf *out)
{
	struct tpm_backend *be = (struct tpm_backend *)b;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	ESYS_TR h = ESYS_TR_NONE, ph = ESYS_TR_NONE;
	uint32_t handle = 0;
	TSS2_RC r;
	int rc;

	if ((rc = sk_tpm2_parse_blob(be, blob, n, &pub, &priv)) != SK_OK)
		return rc;
	if (pub.publicArea.type != TPM2_ALG_KEYEDHASH ||
	    (pub.publicArea.objectAttributes & (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT)))
		return sk_err(SK_EVERIFY, "tpm2: not a sealed data object");
	/* The parent's public area goes into the record: read it now. */
	if ((be->parent_handle != 0 && (rc = sk_tpm2_parent_public(be)) != SK_OK) ||
	    (rc = free_handle(be, &handle)) != SK_OK)
		return rc;
	r = be->t.Esys_Load(be->esys, be->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			    &priv, &pub, &h);
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_load_err(be, r, "loading the sealed object");
	/* The owner hierarchy with its (empty) authorisation, as
	 * tpm2_evictcontrol -C o does without -P. */
	r = be->t.Esys_EvictControl(be->esys, ESYS_TR_RH_OWNER, h, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				    ESYS_TR_NONE, handle, &ph);
	be->t.Esys_FlushContext(be->esys, h);
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_auth_err(be, r, "making the sealed master key persistent",
					"the owner hierarchy");
	if ((rc = record(be, ph, handle, out)) != SK_OK) {
		evict(be, ph, handle);
		return rc;
	}
	be->t.Esys_TR_Close(be->esys, &ph);
	return SK_OK;
}

int sk_tpm2_release(struct sk_backend *b, const uint8_t *blob, size_t n)
{
	struct tpm_backend *be = (struct tpm_backend *)b;
	ESYS_TR obj = ESYS_TR_NONE, gone = ESYS_TR_NONE;
	struct precord rec;
	TSS2_RC r;

	if (!sk_tpm2_blob_persistent(blob, n))
		return SK_OK;
	if (!parse(blob, n, &rec))
		return sk_err(SK_EVERIFY, "tpm2: the sealed object's record is malformed");
	r = be->t.Esys_TR_Deserialize(be->esys, rec.oser, rec.olen, &obj);
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_err(be, r, "reading the sealed object's record");
	r = be->t.Esys_EvictControl(be->esys, ESYS_TR_RH_OWNER, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				    ESYS_TR_NONE, rec.handle, &gone);
	if (r == TSS2_RC_SUCCESS)
		return SK_OK;
	be->t.Esys_TR_Close(be->esys, &obj);
	if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && sk_tpm2_base_rc(r) == TPM2_RC_HANDLE)
		return SK_OK; /* gone already */
	return sk_tpm2_auth_err(be, r, "evicting the sealed master key", "the owner hierarchy");
}

/* The parent the record names becomes the backend's parent, with the
 * public area recorded (no TPM2_ReadPublic): the session is salted to
 * that key, whatever the TPM holds at the handle now. */
static int pin_parent(struct tpm_backend *be, const struct precord *rec)
{
	ESYS_TR pin = ESYS_TR_NONE;
	TPM2_HANDLE th = 0;
	TSS2_RC r;

	/* Sealed under the SRK template's primary (made by tpm_open), or
	 * under another parent than the config's: the session is salted to
	 * the config's parent, read from the TPM as a loaded blob's is (the
	 * store's keys, made under the recorded parent, do not load under
	 * another anyway). */
	if (rec->parent == 0 || rec->parent != be->parent_handle)
		return SK_OK;
	r = be->t.Esys_TR_Deserialize(be->esys, rec->pser, rec->plen, &pin);
	if (r == TSS2_RC_SUCCESS)
		r = be->t.Esys_TR_GetTpmHandle(be->esys, pin, &th);
	if (r != TSS2_RC_SUCCESS || th != rec->parent) {
		if (r == TSS2_RC_SUCCESS)
			be->t.Esys_TR_Close(be->esys, &pin);
		return sk_err(SK_EVERIFY, "tpm2: the parent's record in the sealed master key is malformed");
	}
	/* ESAPI holds one ESYS_TR per TPM handle: the one tpm_open named goes. */
	if (be->parent != ESYS_TR_NONE)
		be->t.Esys_TR_Close(be->esys, &be->parent);
	be->parent = pin;
	be->parent_public = 1;
	return SK_OK;
}

/* The session the unseal runs in, salted to the (pinned) parent, not
 * continued: the TPM flushes it when the unseal succeeds. */
static int unseal_session(struct tpm_backend *be, enum sk_bank bank, uint32_t mask, ESYS_TR *s)
{
	TSS2_RC r;
	int rc;

	if (mask == 0)
		return sk_tpm2_start_encrypt_session(be, s);
	if ((rc = sk_tpm2_policy_pcr_session(be, sk_bank(bank)->alg, mask, NULL, 1, s)) != SK_OK)
		return rc;
	r = be->t.Esys_TRSess_SetAttributes(be->esys, *s, 0, TPMA_SESSION_CONTINUESESSION);
	if (r != TSS2_RC_SUCCESS) {
		be->t.Esys_FlushContext(be->esys, *s);
		*s = ESYS_TR_NONE;
		return sk_tpm2_err(be, r, "setting up the policy session");
	}
	return SK_OK;
}

/* A failed TPM2_Unseal of the persistent object of rec. */
static int unseal_err(struct tpm_backend *be, TSS2_RC r, const struct precord *rec,
		      enum sk_bank bank, uint32_t mask, uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST])
{
	TSS2_RC base = sk_tpm2_base_rc(r);
	int rc;

	/* Wrong device (7), as a loadable blob another TPM refuses: the
	 * store was copied from another TPM, or the object was evicted. */
	if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && base == TPM2_RC_HANDLE)
		return sk_err(SK_EVERIFY, "tpm2: the sealed master key's persistent object 0x%08x is not in this TPM (a store of another TPM, or evicted)",
			      (unsigned)rec->handle);
	if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && base == TPM2_RC_POLICY_FAIL && mask != 0) {
		if ((rc = sk_tpm2_pcr_current(be, bank, mask, cur)) != SK_OK)
			return rc;
		return sk_err(SK_EVERIFY, "tpm2: the PCRs do not hold the values sealed to");
	}
	if (r == TSS2_ESYS_RC_RSP_AUTH_FAILED ||
	    ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER &&
	     (base == TPM2_RC_AUTH_FAIL || base == TPM2_RC_BAD_AUTH || base == TPM2_RC_INTEGRITY)))
		return sk_err(SK_EVERIFY, "tpm2: the TPM's key at 0x%08x or its object at 0x%08x is not the one the master key was sealed with (replaced since)",
			      (unsigned)(rec->parent ? rec->parent : be->parent_handle),
			      (unsigned)rec->handle);
	return sk_tpm2_err(be, r, "unsealing");
}

int sk_tpm2_unseal_persistent(struct tpm_backend *be, const uint8_t *blob, size_t n,
			      enum sk_bank bank, uint32_t mask, struct sk_buf *secret,
			      uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST])
{
	TPM2B_SENSITIVE_DATA *out = NULL;
	ESYS_TR obj = ESYS_TR_NONE, sess = ESYS_TR_NONE;
	struct precord rec;
	TSS2_RC r;
	int rc;

	if (!parse(blob, n, &rec))
		return sk_err(SK_EVERIFY, "tpm2: the sealed object's record is malformed");
	if ((rc = pin_parent(be, &rec)) != SK_OK)
		return rc;
	r = be->t.Esys_TR_Deserialize(be->esys, rec.oser, rec.olen, &obj);
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_err(be, r, "reading the sealed object's record");
	if ((rc = unseal_session(be, bank, mask, &sess)) != SK_OK)
		goto out;
	r = be->t.Esys_Unseal(be->esys, obj, sess, ESYS_TR_NONE, ESYS_TR_NONE, &out);
	if (r != TSS2_RC_SUCCESS) {
		be->t.Esys_FlushContext(be->esys, sess); /* a failed command keeps it */
		rc = unseal_err(be, r, &rec, bank, mask, cur);
		goto out;
	}
	rc = sk_buf_add(secret, out->buffer, out->size);
	OPENSSL_cleanse(out, sizeof(*out));
	be->t.Esys_Free(out);
out:
	be->t.Esys_TR_Close(be->esys, &obj);
	return rc;
}

/* The backend's unseal_pcr: a store's master key kept in the TPM here
 * (the PCRs read only when the policy fails, to say which changed), any
 * other blob by tpm2_pcr.c. */
int sk_tpm2_unseal_pcr_any(struct sk_backend *b, const uint8_t *blob, size_t n, enum sk_bank bank,
			   uint32_t mask, struct sk_buf *secret,
			   uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST])
{
	if (sk_tpm2_blob_persistent(blob, n))
		return sk_tpm2_unseal_persistent((struct tpm_backend *)b, blob, n, bank, mask, secret,
						 cur);
	return sk_tpm2_unseal_pcr(b, blob, n, bank, mask, secret, cur);
}

#endif /* SECKIT_HAVE_TPM2 */
