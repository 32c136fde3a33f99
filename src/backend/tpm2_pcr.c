/* SPDX-License-Identifier: MIT */
/*
 * The TPM's PCRs (tpm.h): which banks it has, reading, extending, and
 * which boot it is in; and data sealed to PCR values (the tpm2 backend's
 * seal_pcr and unseal_pcr operations, backend.h).  A connection without a parent key: measuring at
 * boot must not create or load anything in the TPM.
 */
#include "backend/tpm.h"

#include "base/err.h"

#ifdef SECKIT_HAVE_TPM2

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "backend/tpm2_int.h"

struct sk_tpm {
	struct tpm_backend be;
	TPML_PCR_SELECTION alloc;  /* the banks and their PCRs, read once */
};

/* Internal to the tpm2 files: the backend under a connection (tpm2_nv.c). */
struct tpm_backend *sk_tpm2_of(struct sk_tpm *t);
struct tpm_backend *sk_tpm2_of(struct sk_tpm *t)
{
	return &t->be;
}

static int read_alloc_be(struct tpm_backend *be, TPML_PCR_SELECTION *alloc)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	int rc;

	if ((rc = sk_tpm2_getcap(be, TPM2_CAP_PCRS, 0, 1, &more, &cap)) != SK_OK)
		return rc;
	if (cap->data.assignedPCR.count > TPM2_NUM_PCR_BANKS) {
		be->t.Esys_Free(cap);
		return sk_err(SK_EFAIL, "tpm2: malformed answer to TPM2_GetCapability(PCRS)");
	}
	*alloc = cap->data.assignedPCR;
	be->t.Esys_Free(cap);
	return SK_OK;
}

static int read_alloc(struct sk_tpm *t)
{
	return read_alloc_be(&t->be, &t->alloc);
}

int sk_tpm_open(const struct sk_backend_cfg *cfg, struct sk_tpm **out)
{
	struct sk_tpm *t;
	int rc;

	*out = NULL;
	if ((t = sk_calloc(1, sizeof(*t))) == NULL)
		return SK_EFAIL;
	if ((rc = sk_tpm2_connect(&t->be, cfg)) != SK_OK || (rc = read_alloc(t)) != SK_OK) {
		sk_tpm_close(t);
		return rc;
	}
	*out = t;
	return SK_OK;
}

void sk_tpm_close(struct sk_tpm *t)
{
	if (t == NULL)
		return;
	sk_tpm2_disconnect(&t->be);
	free(t);
}

/* The PCRs bank b has allocated (a mask). */
static uint32_t alloc_mask(const TPML_PCR_SELECTION *a, enum sk_bank b)
{
	const TPMS_PCR_SELECTION *s;
	uint32_t m = 0;
	UINT32 i, k;

	for (i = 0; i < a->count; i++) {
		s = &a->pcrSelections[i];
		if (s->hash != sk_bank(b)->alg)
			continue;
		for (k = 0; k < s->sizeofSelect && k < 3; k++)
			m |= (uint32_t)s->pcrSelect[k] << (8 * k);
	}
	return m;
}

static uint32_t allocated(const struct sk_tpm *t, enum sk_bank b)
{
	return alloc_mask(&t->alloc, b);
}

int sk_tpm_banks(struct sk_tpm *t, unsigned *banks)
{
	int b;

	*banks = 0;
	for (b = 0; b < SK_NBANKS; b++)
		if (allocated(t, (enum sk_bank)b) != 0)
			*banks |= 1u << b;
	return SK_OK;
}

static int need_banks(const TPML_PCR_SELECTION *a, unsigned banks, uint32_t pcrs)
{
	uint32_t have, missing;
	char list[80];
	int b;

	for (b = 0; b < SK_NBANKS; b++) {
		if (!(banks & (1u << b)))
			continue;
		have = alloc_mask(a, (enum sk_bank)b);
		if (have == 0)
			return sk_err(SK_EUNSUPP, "tpm2: the TPM has no %s PCR bank", sk_bank(b)->name);
		if ((missing = pcrs & ~have) != 0) {
			sk_pcr_list_str(missing, list, sizeof(list));
			return sk_err(SK_EUNSUPP, "tpm2: PCR %s not allocated in the TPM's %s bank", list,
				      sk_bank(b)->name);
		}
	}
	return SK_OK;
}

int sk_tpm_need_banks(struct sk_tpm *t, unsigned banks, uint32_t pcrs)
{
	return need_banks(&t->alloc, banks, pcrs);
}

/* One TPM2_PCR_Read: the TPM returns at most 8 values per call, and says
 * which in its selection; the answer is checked against the question. */
static int read_some(struct tpm_backend *be, enum sk_bank b, uint32_t *left,
		     uint8_t vals[SK_PCR_COUNT][SK_PCR_MAX_DIGEST])
{
	const struct sk_bankinfo *bi = sk_bank(b);
	TPML_PCR_SELECTION in = { .count = 1 }, *sel = NULL;
	TPML_DIGEST *d = NULL;
	UINT32 counter;
	uint32_t got = 0;
	size_t n = 0, k;
	TSS2_RC r;
	int i, rc = SK_OK;

	in.pcrSelections[0].hash = bi->alg;
	in.pcrSelections[0].sizeofSelect = 3;
	for (k = 0; k < 3; k++)
		in.pcrSelections[0].pcrSelect[k] = (BYTE)(*left >> (8 * k));
	r = be->t.Esys_PCR_Read(be->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &in,
				  &counter, &sel, &d);
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_err(be, r, "TPM2_PCR_Read");
	if (sel->count == 1 && sel->pcrSelections[0].hash == bi->alg)
		for (k = 0; k < sel->pcrSelections[0].sizeofSelect && k < 3; k++)
			got |= (uint32_t)sel->pcrSelections[0].pcrSelect[k] << (8 * k);
	if (got == 0 || (got & ~*left) != 0 || (size_t)__builtin_popcount(got) != d->count) {
		rc = sk_err(SK_EFAIL, "tpm2: malformed answer to TPM2_PCR_Read");
		goto out;
	}
	for (i = 0; i < SK_PCR_COUNT; i++) {
		if (!(got & (1u << i)))
			continue;
		if (d->digests[n].size != bi->size) {
			rc = sk_err(SK_EFAIL, "tpm2: malformed answer to TPM2_PCR_Read");
			goto out;
		}
		memcpy(vals[i], d->digests[n++].buffer, bi->size);
	}
	*left &= ~got;
out:
	be->t.Esys_Free(sel);
	be->t.Esys_Free(d);
	return rc;
}

int sk_tpm_pcr_read(struct sk_tpm *t, enum sk_bank b, uint32_t mask,
		    uint8_t vals[SK_PCR_COUNT][SK_PCR_MAX_DIGEST])
{
	uint32_t left = mask;
	int rc;

	if ((rc = sk_tpm_need_banks(t, 1u << b, mask)) != SK_OK)
		return rc;
	while (left != 0)
		if ((rc = read_some(&t->be, b, &left, vals)) != SK_OK)
			return rc;
	return SK_OK;
}

int sk_tpm_pcr_extend(struct sk_tpm *t, int pcr, unsigned banks,
		      const uint8_t d[SK_NBANKS][SK_PCR_MAX_DIGEST])
{
	TPML_DIGEST_VALUES v = { .count = 0 };
	char what[40];
	TSS2_RC r;
	int b;

	for (b = 0; b < SK_NBANKS; b++) {
		if (!(banks & (1u << b)))
			continue;
		v.digests[v.count].hashAlg = sk_bank(b)->alg;
		memcpy(&v.digests[v.count].digest, d[b], sk_bank(b)->size);
		v.count++;
	}
	r = t->be.t.Esys_PCR_Extend(t->be.esys, ESYS_TR_PCR0 + (ESYS_TR)pcr, ESYS_TR_PASSWORD,
				    ESYS_TR_NONE, ESYS_TR_NONE, &v);
	if (r == TSS2_RC_SUCCESS)
		return SK_OK;
	if (sk_tpm2_base_rc(r) == TPM2_RC_LOCALITY)
		return sk_err(SK_EUNSUPP, "tpm2: PCR %d cannot be extended from this locality (PCRs 17 to 22 belong to the dynamic root of trust)",
			      pcr);
	snprintf(what, sizeof(what), "extending PCR %d", pcr);
	return sk_tpm2_err(&t->be, r, what);
}

int sk_tpm_boot(struct sk_tpm *t, uint32_t *reset, uint32_t *restart)
{
	TPMS_TIME_INFO *ti = NULL;
	TSS2_RC r;

	r = t->be.t.Esys_ReadClock(t->be.esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &ti);
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_err(&t->be, r, "TPM2_ReadClock");
	*reset = ti->clockInfo.resetCount;
	*restart = ti->clockInfo.restartCount;
	t->be.t.Esys_Free(ti);
	return SK_OK;
}

/* ---- data sealed to PCR values (the backend's seal_pcr, unseal_pcr) ----
 * A store object's data key in a TPM data object whose authPolicy is
 * PolicyPCR over the values the PCRs held when it was sealed: the TPM
 * unseals it only through a policy session that ran PolicyPCR while the
 * PCRs hold those values again. */

/* The current values of the PCRs of mask in bank, checking first that
 * the TPM has them (SK_EUNSUPP). */
int sk_tpm2_pcr_current(struct tpm_backend *be, enum sk_bank bank, uint32_t mask,
			uint8_t vals[SK_PCR_COUNT][SK_PCR_MAX_DIGEST])
{
	TPML_PCR_SELECTION alloc;
	uint32_t left = mask;
	int rc;

	if ((rc = read_alloc_be(be, &alloc)) != SK_OK || (rc = need_banks(&alloc, 1u << bank, mask)) != SK_OK)
		return rc;
	while (left != 0)
		if ((rc = read_some(be, bank, &left, vals)) != SK_OK)
			return rc;
	return SK_OK;
}

int sk_tpm2_seal_pcr(struct sk_backend *b, enum sk_bank bank, uint32_t mask, const uint8_t *secret,
		     size_t n, struct sk_buf *blob, uint8_t vals[SK_PCR_COUNT][SK_PCR_MAX_DIGEST],
		     int given)
{
	struct tpm_backend *be = (struct tpm_backend *)b;
	uint8_t comp[SK_PCR_COMPOSITE_LEN], policy[32] = { 0 };
	uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST];
	int rc;

	/* A policy over no PCR would enforce nothing. */
	if (mask == 0 || (mask >> SK_PCR_COUNT) != 0)
		return sk_err(SK_EUSAGE, "tpm2: no PCR selected to seal to");
	/* Given values too are sealed only where the TPM has the bank and
	 * the PCRs: the policy must be one the TPM can ever satisfy. */
	if ((rc = sk_tpm2_pcr_current(be, bank, mask, given ? cur : vals)) != SK_OK ||
	    (rc = sk_pcr_composite(bank, mask, (const uint8_t(*)[SK_PCR_MAX_DIGEST])vals, comp)) != SK_OK ||
	    (rc = sk_policy_pcr(policy, bank, mask, comp)) != SK_OK)
		return rc;
	return sk_tpm2_create_sealed_policy(be, policy, secret, n, "sealing to the PCRs", blob);
}

int sk_tpm2_unseal_pcr(struct sk_backend *b, const uint8_t *blob, size_t n, enum sk_bank bank,
		       uint32_t mask, struct sk_buf *secret,
		       uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST])
{
	struct tpm_backend *be = (struct tpm_backend *)b;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	ESYS_TR sess = ESYS_TR_NONE;
	int rc;

	if ((rc = sk_tpm2_parse_blob(be, blob, n, &pub, &priv)) != SK_OK)
		return rc;
	if (pub.publicArea.type != TPM2_ALG_KEYEDHASH || pub.publicArea.authPolicy.size != 32 ||
	    (pub.publicArea.objectAttributes & (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT |
						 TPMA_OBJECT_USERWITHAUTH)))
		return sk_err(SK_EVERIFY, "tpm2: not a data object sealed to PCRs");
	if ((rc = sk_tpm2_pcr_current(be, bank, mask, cur)) != SK_OK)
		return rc;
	if ((rc = sk_tpm2_policy_pcr_session(be, sk_bank(bank)->alg, mask, NULL, 1, &sess)) != SK_OK)
		return rc;
	return sk_tpm2_unseal_under(be, &pub, &priv, sess, "the PCRs do not hold the values sealed to",
				    secret);
}

/* Load a sealed object under the parent and unseal it in policy session
 * sess (flushed, as is the object, whatever happens); a policy the
 * session does not satisfy: SK_EVERIFY with policy_fail. */
int sk_tpm2_unseal_under(struct tpm_backend *be, TPM2B_PUBLIC *pub, TPM2B_PRIVATE *priv,
			 ESYS_TR sess, const char *policy_fail, struct sk_buf *secret)
{
	TPM2B_SENSITIVE_DATA *out = NULL;
	ESYS_TR h = ESYS_TR_NONE;
	TSS2_RC r;
	int rc;

	r = be->t.Esys_Load(be->esys, be->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			    priv, pub, &h);
	if (r != TSS2_RC_SUCCESS) {
		h = ESYS_TR_NONE;
		rc = sk_tpm2_load_err(be, r, "loading the sealed object");
		goto out;
	}
	r = be->t.Esys_Unseal(be->esys, h, sess, ESYS_TR_NONE, ESYS_TR_NONE, &out);
	if (r != TSS2_RC_SUCCESS) {
		if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER &&
		    sk_tpm2_base_rc(r) == TPM2_RC_POLICY_FAIL)
			rc = sk_err(SK_EVERIFY, "tpm2: %s", policy_fail);
		else
			rc = sk_tpm2_err(be, r, "unsealing");
		goto out;
	}
	rc = sk_buf_add(secret, out->buffer, out->size);
	OPENSSL_cleanse(out, sizeof(*out));
	be->t.Esys_Free(out);
out:
	be->t.Esys_FlushContext(be->esys, sess);
	if (h != ESYS_TR_NONE)
		be->t.Esys_FlushContext(be->esys, h);
	return rc;
}

#else /* !SECKIT_HAVE_TPM2 */

/* A build without tpm2-tss: sk_tpm_open says so, and as no struct sk_tpm
 * can exist, the operations below it are never reached; they answer the
 * same should a caller try. */
static int not_built(void)
{
	return sk_err(SK_EBACKEND, "backend tpm2 is not built into this seckit");
}

int sk_tpm_open(const struct sk_backend_cfg *cfg, struct sk_tpm **out)
{
	(void)cfg;
	*out = NULL;
	return not_built();
}

void sk_tpm_close(struct sk_tpm *t)
{
	(void)t;
}

int sk_tpm_need_banks(struct sk_tpm *t, unsigned banks, uint32_t pcrs)
{
	(void)t, (void)banks, (void)pcrs;
	return not_built();
}

int sk_tpm_banks(struct sk_tpm *t, unsigned *banks)
{
	(void)t;
	*banks = 0;
	return not_built();
}

int sk_tpm_pcr_read(struct sk_tpm *t, enum sk_bank b, uint32_t mask,
		    uint8_t vals[SK_PCR_COUNT][SK_PCR_MAX_DIGEST])
{
	(void)t, (void)b, (void)mask, (void)vals;
	return not_built();
}

int sk_tpm_pcr_extend(struct sk_tpm *t, int pcr, unsigned banks,
		      const uint8_t d[SK_NBANKS][SK_PCR_MAX_DIGEST])
{
	(void)t, (void)pcr, (void)banks, (void)d;
	return not_built();
}

int sk_tpm_boot(struct sk_tpm *t, uint32_t *reset, uint32_t *restart)
{
	(void)t;
	*reset = *restart = 0;
	return not_built();
}

int sk_tpm_nv_info(struct sk_tpm *t, uint32_t index, struct sk_nv_info *out)
{
	(void)t, (void)index, (void)out;
	return not_built();
}

int sk_tpm_nv_define(struct sk_tpm *t, uint32_t index, uint16_t size, const uint8_t policy[32])
{
	(void)t, (void)index, (void)size, (void)policy;
	return not_built();
}

int sk_tpm_nv_undefine(struct sk_tpm *t, uint32_t index)
{
	(void)t, (void)index;
	return not_built();
}

int sk_tpm_nv_write(struct sk_tpm *t, uint32_t index, const uint8_t *p, size_t n)
{
	(void)t, (void)index, (void)p, (void)n;
	return not_built();
}

int sk_tpm_nv_read_pcr(struct sk_tpm *t, uint32_t index, enum sk_bank b, uint32_t mask,
		       struct sk_buf *out)
{
	(void)t, (void)index, (void)b, (void)mask, (void)out;
	return not_built();
}

#endif /* SECKIT_HAVE_TPM2 */
