/* SPDX-License-Identifier: MIT */
/*
 * Measuring: hashing, extending, and the event log that explains the
 * PCRs (measure.h; the format is docs/formats/measure.md).
 */
#include "measure/measure.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/util.h"

/* The log: one SK_NS_STATE object, replaced whole at each extend. */
#define LOG_OBJ "measure.log"
#define LOG_MAGIC "SKML"
#define LOG_VERSION 1
#define LOG_HDR 13
/* A boot's log is bounded: past this, extends are refused rather than
 * left out of the log. */
#define LOG_MAX (1u << 20)

int sk_measure_hash(struct sk_in *in, unsigned banks, uint8_t d[SK_NBANKS][SK_PCR_MAX_DIGEST])
{
	EVP_MD_CTX *c[SK_NBANKS] = { 0 };
	uint8_t buf[64 * 1024];
	ssize_t got;
	int b, rc = SK_OK;

	for (b = 0; b < SK_NBANKS && rc == SK_OK; b++) {
		const EVP_MD *md;

		if (!(banks & (1u << b)))
			continue;
		if ((md = sk_bank_md((enum sk_bank)b)) == NULL)
			rc = SK_EUNSUPP;
		else if ((c[b] = EVP_MD_CTX_new()) == NULL || !EVP_DigestInit_ex(c[b], md, NULL))
			rc = sk_err_ssl(SK_EFAIL, "hashing %s", in->path);
	}
	while (rc == SK_OK && (got = sk_in_read(in, buf, sizeof(buf))) != 0) {
		if (got < 0) {
			rc = SK_EFAIL;
			break;
		}
		for (b = 0; b < SK_NBANKS && rc == SK_OK; b++)
			if (c[b] != NULL && !EVP_DigestUpdate(c[b], buf, (size_t)got))
				rc = sk_err_ssl(SK_EFAIL, "hashing %s", in->path);
	}
	for (b = 0; b < SK_NBANKS; b++) {
		if (c[b] != NULL && rc == SK_OK && !EVP_DigestFinal_ex(c[b], d[b], NULL))
			rc = sk_err_ssl(SK_EFAIL, "hashing %s", in->path);
		EVP_MD_CTX_free(c[b]);
	}
	return rc;
}

/* ---- the log's encoding ---- */

static int put_event(struct sk_buf *b, const struct sk_mevent *e)
{
	uint8_t h[10], a[2], l[2];
	size_t dl = strlen(e->desc);
	int k, nb = __builtin_popcount(e->banks), rc;

	h[0] = (uint8_t)e->pcr;
	sk_put_be64(h + 1, (uint64_t)e->time);
	h[9] = (uint8_t)nb;
	if ((rc = sk_buf_add(b, h, sizeof(h))) != SK_OK)
		return rc;
	for (k = 0; k < SK_NBANKS; k++) {
		if (!(e->banks & (1u << k)))
			continue;
		sk_put_be16(a, sk_bank(k)->alg);
		if ((rc = sk_buf_add(b, a, 2)) != SK_OK ||
		    (rc = sk_buf_add(b, e->d[k], sk_bank(k)->size)) != SK_OK)
			return rc;
	}
	sk_put_be16(l, (uint16_t)dl);
	if ((rc = sk_buf_add(b, l, 2)) != SK_OK)
		return rc;
	return sk_buf_add(b, e->desc, dl);
}

static int malformed(void)
{
	return sk_err(SK_EVERIFY, "the measurement event log in the store is malformed");
}

/* One event at p (n bytes left): its length in *used. */
static int get_event(const uint8_t *p, size_t n, struct sk_mevent *e, size_t *used)
{
	size_t off = 10, dl;
	int k, b, nb;

	memset(e, 0, sizeof(*e));
	if (n < off || p[0] >= SK_PCR_COUNT)
		return malformed();
	e->pcr = p[0];
	e->time = (int64_t)sk_get_be64(p + 1);
	nb = p[9];
	if (nb == 0 || nb > SK_NBANKS)
		return malformed();
	for (k = 0; k < nb; k++) {
		if (n - off < 2 || (b = sk_bank_by_alg(sk_get_be16(p + off))) < 0 ||
		    (e->banks & (1u << b)) || n - off - 2 < sk_bank(b)->size)
			return malformed();
		memcpy(e->d[b], p + off + 2, sk_bank(b)->size);
		e->banks |= 1u << b;
		off += 2 + sk_bank(b)->size;
	}
	if (n - off < 2 || (dl = sk_get_be16(p + off)) > SK_MEVENT_DESC_MAX || n - off - 2 < dl)
		return malformed();
	memcpy(e->desc, p + off + 2, dl);
	if (memchr(e->desc, '\0', dl) != NULL)
		return malformed();
	*used = off + 2 + dl;
	return SK_OK;
}

static int parse_log(const uint8_t *p, size_t n, struct sk_mlog *log)
{
	struct sk_mevent e, *grown;
	size_t off = LOG_HDR, used = 0;
	int rc;

	if (n < LOG_HDR || memcmp(p, LOG_MAGIC, 4) != 0 || p[4] != LOG_VERSION)
		return malformed();
	log->reset = sk_get_be32(p + 5);
	log->restart = sk_get_be32(p + 9);
	while (off < n) {
		if ((rc = get_event(p + off, n - off, &e, &used)) != SK_OK)
			return rc;
		if ((grown = realloc(log->ev, (log->n + 1) * sizeof(*grown))) == NULL)
			return sk_err(SK_EFAIL, "out of memory");
		log->ev = grown;
		log->ev[log->n++] = e;
		off += used;
	}
	return SK_OK;
}

void sk_mlog_free(struct sk_mlog *log)
{
	free(log->ev);
	memset(log, 0, sizeof(*log));
}

/* The log's bytes (empty when there is none). */
static int load_raw(struct sk_store *st, struct sk_buf *b)
{
	int rc = sk_store_get(st, SK_NS_STATE, LOG_OBJ, LOG_MAX, NULL, b);

	if (rc == SK_ENOTFOUND) {
		sk_err_clear();
		return SK_OK;
	}
	return rc;
}

int sk_mlog_load(struct sk_store *st, struct sk_mlog *log)
{
	struct sk_buf b = { 0 };
	int rc;

	memset(log, 0, sizeof(*log));
	if ((rc = load_raw(st, &b)) == SK_OK && b.len > 0)
		rc = parse_log(b.p, b.len, log);
	sk_buf_free(&b);
	if (rc != SK_OK)
		sk_mlog_free(log);
	return rc;
}

/* ---- extending ---- */

static int log_header(struct sk_buf *b, uint32_t reset, uint32_t restart)
{
	uint8_t h[LOG_HDR];

	memcpy(h, LOG_MAGIC, 4);
	h[4] = LOG_VERSION;
	sk_put_be32(h + 5, reset);
	sk_put_be32(h + 9, restart);
	return sk_buf_add(b, h, sizeof(h));
}

/* The log to append to: the stored one if it is of this boot (checked by
 * parsing it), else a new one. */
static int log_for_boot(struct sk_store *st, uint32_t reset, uint32_t restart, struct sk_buf *b)
{
	struct sk_mlog old;
	int rc, same;

	if ((rc = load_raw(st, b)) != SK_OK)
		return rc;
	if (b->len > 0) {
		memset(&old, 0, sizeof(old));
		rc = parse_log(b->p, b->len, &old);
		same = old.reset == reset && old.restart == restart;
		sk_mlog_free(&old);
		if (rc != SK_OK || same)
			return rc;
	}
	b->len = 0;
	return log_header(b, reset, restart);
}

int sk_measure_extend(struct sk_store *st, struct sk_tpm *t, const struct sk_mevent *ev,
		      size_t n, size_t *done)
{
	struct sk_txn *txn = NULL;
	struct sk_buf b = { 0 };
	uint32_t reset, restart;
	size_t i;
	int rc, rc2;

	*done = 0;
	for (i = 0; i < n; i++)
		if ((rc = sk_tpm_need_banks(t, ev[i].banks, 1u << ev[i].pcr)) != SK_OK)
			return rc;
	if ((rc = sk_txn_begin(st, &txn)) != SK_OK)
		return rc;
	if ((rc = sk_tpm_boot(t, &reset, &restart)) != SK_OK ||
	    (rc = log_for_boot(st, reset, restart, &b)) != SK_OK)
		goto out;
	for (i = 0; i < n; i++) {
		size_t before = b.len;

		if ((rc = put_event(&b, &ev[i])) != SK_OK)
			break;
		if (b.len > LOG_MAX) {
			b.len = before;
			rc = sk_err(SK_EFAIL, "the measurement event log of this boot is full (%u bytes)",
				    LOG_MAX);
			break;
		}
		if ((rc = sk_tpm_pcr_extend(t, ev[i].pcr, ev[i].banks, ev[i].d)) != SK_OK) {
			b.len = before;
			break;
		}
		*done = i + 1;
	}
	if (*done == 0)
		goto out;
	/* What was extended is logged, even when a later event failed. */
	rc2 = sk_txn_put(txn, SK_NS_STATE, LOG_OBJ, NULL, 0, b.p, b.len);
	if (rc2 == SK_OK) {
		rc2 = sk_txn_commit(txn);
		txn = NULL;
	}
	if (rc2 != SK_OK && rc == SK_OK)
		rc = sk_err_wrap(rc2, "PCRs extended, but the event log could not be written");
out:
	if (txn != NULL)
		sk_txn_abort(txn);
	sk_buf_free(&b);
	return rc;
}

/* ---- replaying ---- */

int sk_mlog_verify(struct sk_tpm *t, const struct sk_mlog *log, struct sk_mreplay *out,
		   size_t *nout, int *stale)
{
	uint8_t vals[SK_NBANKS][SK_PCR_COUNT][SK_PCR_MAX_DIGEST];
	uint8_t tpm[SK_PCR_COUNT][SK_PCR_MAX_DIGEST];
	uint32_t used[SK_NBANKS] = { 0 }, reset, restart;
	struct sk_mreplay *r;
	size_t i;
	int b, p, rc, first = -1;

	*nout = 0;
	*stale = 0;
	if ((rc = sk_tpm_boot(t, &reset, &restart)) != SK_OK)
		return rc;
	if (log->n == 0 || log->reset != reset || log->restart != restart) {
		*stale = log->n > 0;
		return SK_OK;
	}
	for (i = 0; i < log->n; i++) {
		const struct sk_mevent *e = &log->ev[i];

		for (b = 0; b < SK_NBANKS; b++) {
			if (!(e->banks & (1u << b)))
				continue;
			if (!(used[b] & (1u << e->pcr)))
				sk_pcr_reset_value(e->pcr, (enum sk_bank)b, vals[b][e->pcr]);
			used[b] |= 1u << e->pcr;
			if ((rc = sk_pcr_extend((enum sk_bank)b, vals[b][e->pcr], e->d[b])) != SK_OK)
				return rc;
		}
	}
	for (p = 0; p < SK_PCR_COUNT; p++) {
		for (b = 0; b < SK_NBANKS; b++) {
			if (!(used[b] & (1u << p)))
				continue;
			if ((rc = sk_tpm_pcr_read(t, (enum sk_bank)b, 1u << p, tpm)) != SK_OK)
				return rc;
			r = &out[(*nout)++];
			r->pcr = p;
			r->bank = (enum sk_bank)b;
			memcpy(r->replayed, vals[b][p], sk_bank(b)->size);
			memcpy(r->tpm, tpm[p], sk_bank(b)->size);
			r->match = memcmp(r->replayed, r->tpm, sk_bank(b)->size) == 0;
			if (!r->match && first < 0)
				first = (int)(*nout - 1);
		}
	}
	if (first >= 0)
		return sk_err(SK_EVERIFY, "PCR %d (%s) does not match the event log: extended outside the log, or reset",
			      out[first].pcr, sk_bank(out[first].bank)->name);
	return SK_OK;
}
