/* SPDX-License-Identifier: MIT */
/*
 * Golden values in a TPM NV index (measure.h: seal, verify).  The index
 * holds the record below and can be read only through PolicyPCR over the
 * golden values; it is written by the owner (tpm2_nv.c says why).  A copy
 * of the record in the store lets verify name the PCR that changed when
 * the TPM refuses to open the index -- a copy trusted only once the
 * policy it gives is the index's own authPolicy.
 */
#include "measure/measure.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/util.h"

#define REC_MAGIC "SKGV"
#define REC_VERSION 1
#define REC_HDR 11

/* magic, version, bank (TPM_ALG_ID), PCR mask (u32), the values of the
 * PCRs in ascending order, the composite digest. */
static int rec_encode(const struct sk_golden *g, struct sk_buf *b)
{
	uint8_t h[REC_HDR];
	int p, rc;

	memcpy(h, REC_MAGIC, 4);
	h[4] = REC_VERSION;
	sk_put_be16(h + 5, sk_bank(g->bank)->alg);
	sk_put_be32(h + 7, g->mask);
	if ((rc = sk_buf_add(b, h, sizeof(h))) != SK_OK)
		return rc;
	for (p = 0; p < SK_PCR_COUNT; p++)
		if ((g->mask & (1u << p)) &&
		    (rc = sk_buf_add(b, g->vals[p], sk_bank(g->bank)->size)) != SK_OK)
			return rc;
	return sk_buf_add(b, g->composite, SK_PCR_COMPOSITE_LEN);
}

static int rec_decode(const uint8_t *p, size_t n, struct sk_golden *g, const char *where)
{
	size_t off = REC_HDR, size;
	int b, i;

	memset(g, 0, sizeof(*g));
	if (n < REC_HDR || memcmp(p, REC_MAGIC, 4) != 0 || p[4] != REC_VERSION ||
	    (b = sk_bank_by_alg(sk_get_be16(p + 5))) < 0)
		goto bad;
	g->bank = (enum sk_bank)b;
	g->mask = sk_get_be32(p + 7);
	size = sk_bank(b)->size;
	if (g->mask == 0 || g->mask >> SK_PCR_COUNT)
		goto bad;
	for (i = 0; i < SK_PCR_COUNT; i++) {
		if (!(g->mask & (1u << i)))
			continue;
		if (n - off < size)
			goto bad;
		memcpy(g->vals[i], p + off, size);
		off += size;
	}
	if (n - off != SK_PCR_COMPOSITE_LEN || sk_golden_finish(g) != SK_OK ||
	    memcmp(g->composite, p + off, SK_PCR_COMPOSITE_LEN) != 0)
		goto bad;
	return SK_OK;
bad:
	return sk_err(SK_EVERIFY, "%s does not hold seckit golden PCR values", where);
}

static void rec_name(uint32_t index, char *name, size_t n)
{
	snprintf(name, n, "measure.golden.%08x", (unsigned)index);
}

int sk_measure_seal(struct sk_store *st, struct sk_tpm *t, uint32_t index,
		    const struct sk_golden *g, int replace)
{
	struct sk_nv_info info;
	struct sk_txn *txn = NULL;
	struct sk_buf rec = { 0 };
	char name[40];
	int rc, defined = 0;

	if (g->mask == 0)
		return sk_err(SK_EUSAGE, "no PCR selected: a policy on no PCR would enforce nothing");
	if ((rc = sk_tpm_need_banks(t, 1u << g->bank, g->mask)) != SK_OK)
		return rc;
	if ((rc = rec_encode(g, &rec)) != SK_OK)
		goto out;
	/* The store's copy commits only once the index holds the record. */
	rec_name(index, name, sizeof(name));
	if ((rc = sk_txn_begin(st, &txn)) != SK_OK ||
	    (rc = sk_txn_put(txn, SK_NS_STATE, name, NULL, 0, rec.p, rec.len)) != SK_OK)
		goto out;
	rc = sk_tpm_nv_info(t, index, &info);
	if (rc == SK_OK && !replace) {
		rc = sk_err_remedy(sk_err(SK_EEXIST, "NV index 0x%08x is already defined",
					  (unsigned)index), SK_REMEDY_REPLACE);
		goto out;
	}
	if (rc == SK_OK)
		rc = sk_tpm_nv_undefine(t, index);
	else if (rc == SK_ENOTFOUND) {
		sk_err_clear();
		rc = SK_OK;
	}
	if (rc != SK_OK || (rc = sk_tpm_nv_define(t, index, (uint16_t)rec.len, g->policy)) != SK_OK)
		goto out;
	defined = 1;
	if ((rc = sk_tpm_nv_write(t, index, rec.p, rec.len)) != SK_OK)
		goto out;
	rc = sk_txn_commit(txn);
	txn = NULL;
	if (rc == SK_OK)
		defined = 0;
out:
	/* Never leave an index half-made: defined but not written, or
	 * written without the store's copy. */
	if (defined)
		sk_tpm_nv_undefine(t, index);
	if (txn != NULL)
		sk_txn_abort(txn);
	sk_buf_free(&rec);
	return rc;
}

/* The first PCR of g whose current value (in v->cur) differs, -1 if none. */
static int first_changed(const struct sk_golden *g, const struct sk_mverdict *v)
{
	int p;

	for (p = 0; p < SK_PCR_COUNT; p++)
		if ((g->mask & (1u << p)) &&
		    memcmp(g->vals[p], v->cur.vals[p], sk_bank(g->bank)->size) != 0)
			return p;
	return -1;
}

static int mismatch(uint32_t index, const struct sk_golden *g, struct sk_mverdict *v)
{
	char want[80], have[80];

	v->match = 0;
	v->sealed_mask = g->mask;
	if (g->mask != v->cur.mask || g->bank != v->cur.bank) {
		sk_pcr_list_str(g->mask, want, sizeof(want));
		sk_pcr_list_str(v->cur.mask, have, sizeof(have));
		return sk_err(SK_EVERIFY, "NV index 0x%08x holds golden values of PCR %s (%s), not of PCR %s (%s)",
			      (unsigned)index, want, sk_bank(g->bank)->name, have,
			      sk_bank(v->cur.bank)->name);
	}
	v->pcr = first_changed(g, v);
	if (v->pcr >= 0)
		return sk_err(SK_EVERIFY, "PCR %d (%s) changed: it differs from the golden value in NV index 0x%08x",
			      v->pcr, sk_bank(g->bank)->name, (unsigned)index);
	return sk_err(SK_EVERIFY, "NV index 0x%08x: the golden composite does not match", (unsigned)index);
}

/* The TPM refused to open the index: name the PCR from the store's copy,
 * if it is the record the index was sealed with. */
static int refused(struct sk_store *st, uint32_t index, const struct sk_nv_info *info,
		   struct sk_mverdict *v)
{
	struct sk_golden g;
	struct sk_buf b = { 0 };
	char name[40], list[80];
	int rc = SK_ENOTFOUND;

	rec_name(index, name, sizeof(name));
	if (st != NULL)
		rc = sk_store_get(st, SK_NS_STATE, name, 4096, NULL, &b);
	if (rc == SK_OK)
		rc = rec_decode(b.p, b.len, &g, "the store's copy of the golden values");
	sk_buf_free(&b);
	sk_err_clear();
	if (rc == SK_OK && info->policylen == sizeof(g.policy) &&
	    memcmp(info->policy, g.policy, sizeof(g.policy)) == 0)
		return mismatch(index, &g, v);
	v->match = 0;
	sk_pcr_list_str(v->cur.mask, list, sizeof(list));
	if (__builtin_popcount(v->cur.mask) == 1)
		v->pcr = __builtin_ctz(v->cur.mask);
	return sk_err(SK_EVERIFY, "the PCR policy of NV index 0x%08x is not satisfied: PCR %s (%s) %s not hold the golden value%s",
		      (unsigned)index, list, sk_bank(v->cur.bank)->name,
		      v->pcr >= 0 ? "does" : "do", v->pcr >= 0 ? "" : "s");
}

int sk_measure_verify(struct sk_store *st, struct sk_tpm *t, uint32_t index, enum sk_bank bank,
		      uint32_t mask, struct sk_mverdict *v)
{
	struct sk_nv_info info;
	struct sk_golden g;
	struct sk_buf b = { 0 };
	char where[40];
	int rc;

	memset(v, 0, sizeof(*v));
	v->pcr = -1;
	v->cur.bank = bank;
	v->cur.mask = mask;
	if ((rc = sk_tpm_need_banks(t, 1u << bank, mask)) != SK_OK ||
	    (rc = sk_tpm_pcr_read(t, bank, mask, v->cur.vals)) != SK_OK ||
	    (rc = sk_golden_finish(&v->cur)) != SK_OK ||
	    (rc = sk_tpm_nv_info(t, index, &info)) != SK_OK)
		return rc;
	rc = sk_tpm_nv_read_pcr(t, index, bank, mask, &b);
	if (rc == SK_EVERIFY) {
		sk_buf_free(&b);
		return refused(st, index, &info, v);
	}
	snprintf(where, sizeof(where), "NV index 0x%08x", (unsigned)index);
	if (rc == SK_OK)
		rc = rec_decode(b.p, b.len, &g, where);
	sk_buf_free(&b);
	if (rc != SK_OK)
		return rc;
	if (g.mask != mask || g.bank != bank || first_changed(&g, v) >= 0 ||
	    memcmp(g.composite, v->cur.composite, SK_PCR_COMPOSITE_LEN) != 0)
		return mismatch(index, &g, v);
	v->match = 1;
	v->sealed_mask = g.mask;
	return SK_OK;
}
