/* SPDX-License-Identifier: MIT */
/*
 * NV indices whose reading needs a PCR policy (tpm.h): defined, written
 * and undefined by the owner hierarchy, read through PolicyPCR.
 */
#ifdef SECKIT_HAVE_TPM2

#include <stdio.h>
#include <string.h>

#include "backend/tpm.h"
#include "backend/tpm2_int.h"
#include "base/err.h"

struct tpm_backend *sk_tpm2_of(struct sk_tpm *t);

/* NV_Write and NV_Read move at most TPM_PT_NV_BUFFER_MAX bytes a call;
 * 512 is below every TPM's. */
#define NV_CHUNK 512

static int nv_handle(struct tpm_backend *be, uint32_t index, ESYS_TR *h)
{
	TSS2_RC r;

	r = be->t.Esys_TR_FromTPMPublic(be->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					h);
	if (r == TSS2_RC_SUCCESS)
		return SK_OK;
	*h = ESYS_TR_NONE;
	if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && sk_tpm2_base_rc(r) == TPM2_RC_HANDLE)
		return sk_err(SK_ENOTFOUND, "NV index 0x%08x is not defined in the TPM", (unsigned)index);
	return sk_tpm2_err(be, r, "reading an NV index");
}

int sk_tpm_nv_info(struct sk_tpm *t, uint32_t index, struct sk_nv_info *out)
{
	struct tpm_backend *be = sk_tpm2_of(t);
	TPM2B_NV_PUBLIC *pub = NULL;
	TPM2B_NAME *name = NULL;
	ESYS_TR h;
	TSS2_RC r;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = nv_handle(be, index, &h)) != SK_OK)
		return rc;
	r = be->t.Esys_NV_ReadPublic(be->esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub,
				     &name);
	be->t.Esys_TR_Close(be->esys, &h);
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_err(be, r, "TPM2_NV_ReadPublic");
	if (pub->nvPublic.authPolicy.size > sizeof(out->policy)) {
		rc = sk_err(SK_EFAIL, "tpm2: malformed answer to TPM2_NV_ReadPublic");
	} else {
		out->index = pub->nvPublic.nvIndex;
		out->size = pub->nvPublic.dataSize;
		out->attrs = pub->nvPublic.attributes;
		out->policylen = pub->nvPublic.authPolicy.size;
		memcpy(out->policy, pub->nvPublic.authPolicy.buffer, out->policylen);
	}
	be->t.Esys_Free(pub);
	be->t.Esys_Free(name);
	return rc;
}

/*
 * Written by the owner, read through the policy only.  OWNERWRITE, not
 * POLICYWRITE: the owner can undefine and redefine the index whatever its
 * attributes, so a PCR-gated write would protect nothing more, and it
 * would stop a golden value predicted for another state (an update) from
 * ever being written.  No AUTHREAD or OWNERREAD: the only way to read it
 * is the PCR policy.  NO_DA: its authorisation value (empty) is never
 * used, and a failed policy must not count against the TPM's
 * dictionary-attack protection.
 */
int sk_tpm_nv_define(struct sk_tpm *t, uint32_t index, uint16_t size, const uint8_t policy[32])
{
	struct tpm_backend *be = sk_tpm2_of(t);
	TPM2B_NV_PUBLIC pub = { .size = 0 };
	TPM2B_AUTH auth = { .size = 0 };
	ESYS_TR h = ESYS_TR_NONE;
	TSS2_RC r;

	pub.nvPublic.nvIndex = index;
	pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
	pub.nvPublic.attributes = TPMA_NV_OWNERWRITE | TPMA_NV_POLICYREAD | TPMA_NV_NO_DA |
				  (TPM2_NT_ORDINARY << TPMA_NV_TPM2_NT_SHIFT);
	pub.nvPublic.authPolicy.size = 32;
	memcpy(pub.nvPublic.authPolicy.buffer, policy, 32);
	pub.nvPublic.dataSize = size;
	r = be->t.Esys_NV_DefineSpace(be->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				      ESYS_TR_NONE, &auth, &pub, &h);
	if (r == TSS2_RC_SUCCESS) {
		be->t.Esys_TR_Close(be->esys, &h);
		return SK_OK;
	}
	if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && sk_tpm2_base_rc(r) == TPM2_RC_NV_DEFINED)
		return sk_err_remedy(sk_err(SK_EEXIST, "NV index 0x%08x is already defined",
					    (unsigned)index), SK_REMEDY_REPLACE);
	return sk_tpm2_auth_err(be, r, "defining the NV index", "the owner hierarchy");
}

int sk_tpm_nv_undefine(struct sk_tpm *t, uint32_t index)
{
	struct tpm_backend *be = sk_tpm2_of(t);
	ESYS_TR h;
	TSS2_RC r;
	int rc;

	if ((rc = nv_handle(be, index, &h)) != SK_OK)
		return rc;
	r = be->t.Esys_NV_UndefineSpace(be->esys, ESYS_TR_RH_OWNER, h, ESYS_TR_PASSWORD,
					ESYS_TR_NONE, ESYS_TR_NONE);
	if (r != TSS2_RC_SUCCESS) {
		be->t.Esys_TR_Close(be->esys, &h);
		return sk_tpm2_auth_err(be, r, "undefining the NV index", "the owner hierarchy");
	}
	return SK_OK;
}

int sk_tpm_nv_write(struct sk_tpm *t, uint32_t index, const uint8_t *p, size_t n)
{
	struct tpm_backend *be = sk_tpm2_of(t);
	TPM2B_MAX_NV_BUFFER data;
	size_t off, k;
	ESYS_TR h;
	TSS2_RC r = TSS2_RC_SUCCESS;
	int rc;

	if ((rc = nv_handle(be, index, &h)) != SK_OK)
		return rc;
	for (off = 0; off < n && r == TSS2_RC_SUCCESS; off += k) {
		k = n - off < NV_CHUNK ? n - off : NV_CHUNK;
		data.size = (UINT16)k;
		memcpy(data.buffer, p + off, k);
		r = be->t.Esys_NV_Write(be->esys, ESYS_TR_RH_OWNER, h, ESYS_TR_PASSWORD, ESYS_TR_NONE,
					ESYS_TR_NONE, &data, (UINT16)off);
	}
	be->t.Esys_TR_Close(be->esys, &h);
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_auth_err(be, r, "writing the NV index", "the owner hierarchy");
	return SK_OK;
}

static int read_chunks(struct tpm_backend *be, ESYS_TR h, ESYS_TR s, uint16_t size,
		       struct sk_buf *out)
{
	TPM2B_MAX_NV_BUFFER *data = NULL;
	size_t off, k;
	TSS2_RC r;
	int rc;

	for (off = 0; off < size; off += k) {
		k = size - off < NV_CHUNK ? size - off : NV_CHUNK;
		r = be->t.Esys_NV_Read(be->esys, h, h, s, ESYS_TR_NONE, ESYS_TR_NONE, (UINT16)k,
				       (UINT16)off, &data);
		if (r != TSS2_RC_SUCCESS) {
			if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER &&
			    sk_tpm2_base_rc(r) == TPM2_RC_POLICY_FAIL)
				return sk_err(SK_EVERIFY, "the PCR policy of the NV index is not satisfied");
			return sk_tpm2_err(be, r, "reading the NV index");
		}
		if (data->size != k) {
			be->t.Esys_Free(data);
			return sk_err(SK_EFAIL, "tpm2: malformed answer to TPM2_NV_Read");
		}
		rc = sk_buf_add(out, data->buffer, k);
		be->t.Esys_Free(data);
		if (rc != SK_OK)
			return rc;
	}
	return SK_OK;
}

int sk_tpm_nv_read_pcr(struct sk_tpm *t, uint32_t index, enum sk_bank b, uint32_t mask,
		       struct sk_buf *out)
{
	struct tpm_backend *be = sk_tpm2_of(t);
	struct sk_nv_info info;
	ESYS_TR h = ESYS_TR_NONE, s = ESYS_TR_NONE;
	int rc;

	if ((rc = sk_tpm_nv_info(t, index, &info)) != SK_OK)
		return rc;
	if ((rc = nv_handle(be, index, &h)) != SK_OK)
		return rc;
	if ((rc = sk_tpm2_policy_pcr_session(be, sk_bank(b)->alg, mask, NULL, 0, &s)) == SK_OK)
		rc = read_chunks(be, h, s, info.size, out);
	if (s != ESYS_TR_NONE)
		be->t.Esys_FlushContext(be->esys, s);
	be->t.Esys_TR_Close(be->esys, &h);
	return rc;
}

#endif /* SECKIT_HAVE_TPM2 */
