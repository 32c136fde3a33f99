/* SPDX-License-Identifier: MIT */
/* seckit measure: measured boot with the TPM's PCRs (man/seckit-measure.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/tpm.h"
#include "base/err.h"
#include "base/fileio.h"
#include "measure/measure.h"
#include "format/pkg.h"
#include "json.h"
#include "opt.h"

#define O_PCR(h) { OPT_pcr, h }

/* ---- what every verb parses ---- */

static int opt_pcrs(const struct sk_args *a, uint32_t *mask)
{
	const char *s = sk_opt_str(a, OPT_pcr);

	*mask = 0;
	return s ? sk_pcr_list(s, mask) : SK_OK;
}

/* --bank: a list (extend, read) or one bank (the others); sha256 when
 * absent. */
static int opt_banks(const struct sk_args *a, unsigned *banks)
{
	const char *s = sk_opt_str(a, OPT_bank);

	*banks = 1u << SK_BANK_SHA256;
	return s ? sk_bank_list(s, banks) : SK_OK;
}

static int opt_bank(const struct sk_args *a, enum sk_bank *b)
{
	const char *s = sk_opt_str(a, OPT_bank);

	*b = SK_BANK_SHA256;
	if (s != NULL && strchr(s, ',') != NULL)
		return sk_usage_error("--bank: this verb takes one bank, not '%s'", s);
	return s ? sk_bank_by_name(s, b) : SK_OK;
}

static int opt_index(const struct sk_args *a, uint32_t *index)
{
	const char *s = sk_opt_str(a, OPT_index);

	*index = SK_MEASURE_NV_INDEX;
	return s ? sk_nv_index_parse(s, index) : SK_OK;
}

static int open_tpm(struct sk_ctx *ctx, struct sk_tpm **t)
{
	struct sk_backend_cfg bcfg;
	int rc;

	if ((rc = sk_ctx_backend_cfg(ctx, &bcfg)) != SK_OK)
		return rc;
	return sk_tpm_open(&bcfg, t);
}

static void put_hex(const uint8_t *p, size_t n, char *out)
{
	sk_hex(out, p, n);
}

/* ---- extend ---- */

static const struct sk_verbopt extend_opts[] = {
	{ OPT_pcr, "the PCR to extend (0 to 23)", .required = 1 },
	{ OPT_bank, "the PCR banks to extend, comma-separated (default sha256): one TPM command for all" },
	{ OPT_digest_hex, "extend this digest (hex, of the bank's size: one bank) instead of hashing files" },
	{ OPT_description, "what the event is, in the event log (default: the file's path)" },
};

/* The events of FILE arguments (or of one digest, hex) for PCR pcr. */
static int read_events(const struct sk_args *a, const char *hex, const char *desc, int pcr,
		       unsigned banks, struct sk_mevent *ev)
{
	struct sk_in in = { .fd = -1 };
	int i, b, rc;

	for (i = 0; i < (hex ? 1 : a->npos); i++) {
		ev[i].pcr = pcr;
		ev[i].banks = banks;
		ev[i].time = (int64_t)time(NULL);
		snprintf(ev[i].desc, sizeof(ev[i].desc), "%s",
			 desc ? desc : hex ? "digest" : strcmp(a->pos[i], "-") == 0 ? "stdin" : a->pos[i]);
		if (hex != NULL) {
			b = __builtin_ctz(banks);
			if (strlen(hex) != 2 * sk_bank(b)->size || sk_unhex(ev[i].d[b], sk_bank(b)->size, hex) != 0)
				return sk_usage_error("--digest: expected %zu hex digits (a %s digest)",
						      2 * sk_bank(b)->size, sk_bank(b)->name);
			continue;
		}
		if ((rc = sk_in_open(&in, a->pos[i])) != SK_OK)
			return rc;
		rc = sk_measure_hash(&in, banks, ev[i].d);
		sk_in_close(&in);
		if (rc != SK_OK)
			return rc;
	}
	return SK_OK;
}

static void event_json(struct sk_json *j, const struct sk_mevent *e)
{
	char hex[2 * SK_PCR_MAX_DIGEST + 1];
	int b;

	sk_json_obj(j);
	sk_json_kint(j, "pcr", e->pcr);
	sk_json_key(j, "digests");
	sk_json_obj(j);
	for (b = 0; b < SK_NBANKS; b++) {
		if (!(e->banks & (1u << b)))
			continue;
		put_hex(e->d[b], sk_bank(b)->size, hex);
		sk_json_kstr(j, sk_bank(b)->name, hex);
	}
	sk_json_end_obj(j);
	sk_json_kstr(j, "description", e->desc);
	sk_json_ktime(j, "time", e->time);
	sk_json_end_obj(j);
}

static void event_text(const struct sk_mevent *e, FILE *f)
{
	char hex[2 * SK_PCR_MAX_DIGEST + 1], when[32];
	int b;

	sk_time_format(e->time, when, sizeof(when));
	fprintf(f, "pcr %d  %s  %s\n", e->pcr, when, e->desc);
	for (b = 0; b < SK_NBANKS; b++) {
		if (!(e->banks & (1u << b)))
			continue;
		put_hex(e->d[b], sk_bank(b)->size, hex);
		fprintf(f, "  %-7s %s\n", sk_bank(b)->name, hex);
	}
}

static int measure_extend(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_mevent *ev = NULL;
	struct sk_store *st;
	struct sk_tpm *t = NULL;
	struct sk_json j;
	uint32_t mask;
	unsigned banks;
	size_t n, done = 0, i;
	int rc;

	if ((rc = opt_pcrs(a, &mask)) != SK_OK || (rc = opt_banks(a, &banks)) != SK_OK)
		return rc;
	if (__builtin_popcount(mask) != 1)
		return sk_usage_error("--pcr: extend takes one PCR");
	if (sk_opt_str(a, OPT_digest_hex) != NULL && a->npos > 0)
		return sk_usage_error("give files or --digest, not both");
	if (sk_opt_str(a, OPT_digest_hex) != NULL && __builtin_popcount(banks) != 1)
		return sk_usage_error("--digest: a digest is of one bank (give --bank with one name)");
	if (sk_opt_str(a, OPT_digest_hex) == NULL && a->npos == 0)
		return sk_usage_error("nothing to measure: give files ('-': stdin) or --digest");
	if (sk_opt_str(a, OPT_description) != NULL && a->npos > 1)
		return sk_usage_error("--description: one event at a time");
	n = sk_opt_str(a, OPT_digest_hex) ? 1 : (size_t)a->npos;
	if ((ev = sk_calloc(n, sizeof(*ev))) == NULL)
		return SK_EFAIL;
	/* Files are hashed before the TPM is touched: a file that cannot be
	 * read extends nothing. */
	if ((rc = read_events(a, sk_opt_str(a, OPT_digest_hex), sk_opt_str(a, OPT_description),
			      __builtin_ctz(mask), banks, ev)) != SK_OK ||
	    (rc = open_tpm(ctx, &t)) != SK_OK || (rc = sk_ctx_store(ctx, 1, &st)) != SK_OK)
		goto out;
	rc = sk_measure_extend(st, t, ev, n, &done);
	if (ctx->json) {
		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_key(&j, "events");
		sk_json_arr(&j);
		for (i = 0; i < done; i++)
			event_json(&j, &ev[i]);
		sk_json_end_arr(&j);
		sk_json_end_obj(&j);
		sk_json_done(&j);
	} else if (ctx->verbose) {
		for (i = 0; i < done; i++)
			event_text(&ev[i], stderr);
	}
out:
	sk_tpm_close(t);
	free(ev);
	return rc;
}

/* ---- read ---- */

static const struct sk_verbopt read_opts[] = {
	O_PCR("the PCRs to read, comma-separated (default: all)"),
	{ OPT_bank, "the banks to read, comma-separated (default: every bank the TPM has)" },
};

static int measure_read(struct sk_ctx *ctx, const struct sk_args *a)
{
	uint8_t vals[SK_PCR_COUNT][SK_PCR_MAX_DIGEST];
	char hex[2 * SK_PCR_MAX_DIGEST + 1];
	struct sk_tpm *t = NULL;
	struct sk_json j;
	uint32_t mask;
	unsigned banks;
	int rc, b, p;

	if ((rc = opt_pcrs(a, &mask)) != SK_OK || (rc = opt_banks(a, &banks)) != SK_OK)
		return rc;
	if (mask == 0)
		mask = (1u << SK_PCR_COUNT) - 1;
	if ((rc = open_tpm(ctx, &t)) != SK_OK)
		return rc;
	if (sk_opt_str(a, OPT_bank) == NULL)
		rc = sk_tpm_banks(t, &banks);
	else
		rc = sk_tpm_need_banks(t, banks, mask);
	if (rc != SK_OK)
		goto out;
	if (ctx->json) {
		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_key(&j, "pcrs");
		sk_json_arr(&j);
	}
	for (b = 0; b < SK_NBANKS && rc == SK_OK; b++) {
		if (!(banks & (1u << b)) || (rc = sk_tpm_pcr_read(t, b, mask, vals)) != SK_OK)
			continue;
		for (p = 0; p < SK_PCR_COUNT; p++) {
			if (!(mask & (1u << p)))
				continue;
			put_hex(vals[p], sk_bank(b)->size, hex);
			if (!ctx->json) {
				printf("%s:%d %s\n", sk_bank(b)->name, p, hex);
				continue;
			}
			sk_json_obj(&j);
			sk_json_kint(&j, "pcr", p);
			sk_json_kstr(&j, "bank", sk_bank(b)->name);
			sk_json_kstr(&j, "value", hex);
			sk_json_end_obj(&j);
		}
	}
	if (ctx->json) {
		sk_json_end_arr(&j);
		sk_json_end_obj(&j);
		if (rc == SK_OK)
			sk_json_done(&j);
		else
			sk_json_discard();
	}
out:
	sk_tpm_close(t);
	return rc;
}

/* ---- log ---- */

static const struct sk_verbopt log_opts[] = {
	{ OPT_verify, "replay the log and compare every PCR it extended with the TPM" },
};

static void replay_report(struct sk_ctx *ctx, struct sk_json *j, const struct sk_mreplay *r,
			  size_t n)
{
	char h1[2 * SK_PCR_MAX_DIGEST + 1], h2[2 * SK_PCR_MAX_DIGEST + 1];
	size_t i;

	if (ctx->json) {
		sk_json_key(j, "replay");
		sk_json_arr(j);
	}
	for (i = 0; i < n; i++) {
		put_hex(r[i].replayed, sk_bank(r[i].bank)->size, h1);
		put_hex(r[i].tpm, sk_bank(r[i].bank)->size, h2);
		if (!ctx->json) {
			if (!ctx->quiet)
				printf("%s:%d %s %s\n", sk_bank(r[i].bank)->name, r[i].pcr,
				       r[i].match ? "matches" : "DIFFERS", h2);
			continue;
		}
		sk_json_obj(j);
		sk_json_kint(j, "pcr", r[i].pcr);
		sk_json_kstr(j, "bank", sk_bank(r[i].bank)->name);
		sk_json_kstr(j, "replayed", h1);
		sk_json_kstr(j, "tpm", h2);
		sk_json_kbool(j, "match", r[i].match);
		sk_json_end_obj(j);
	}
	if (ctx->json)
		sk_json_end_arr(j);
}

static int measure_log(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_mreplay rep[SK_PCR_COUNT * SK_NBANKS];
	struct sk_mlog log;
	struct sk_store *st;
	struct sk_tpm *t = NULL;
	struct sk_json j;
	size_t i, nrep = 0;
	int rc, stale = 0, verify = sk_opt_flag(a, OPT_verify);

	if ((rc = sk_ctx_store(ctx, 0, &st)) != SK_OK || (rc = sk_mlog_load(st, &log)) != SK_OK)
		return rc;
	if (verify && (rc = open_tpm(ctx, &t)) == SK_OK)
		rc = sk_mlog_verify(t, &log, rep, &nrep, &stale);
	if (verify && rc != SK_OK && rc != SK_EVERIFY)
		goto out;
	if (ctx->json) {
		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kuint(&j, "reset_count", log.reset);
		sk_json_kuint(&j, "restart_count", log.restart);
		sk_json_key(&j, "events");
		sk_json_arr(&j);
		for (i = 0; i < log.n; i++)
			event_json(&j, &log.ev[i]);
		sk_json_end_arr(&j);
		if (verify) {
			sk_json_kbool(&j, "verified", rc == SK_OK);
			sk_json_kbool(&j, "other_boot", stale);
			replay_report(ctx, &j, rep, nrep);
		}
		sk_json_end_obj(&j);
		sk_json_done(&j);
		goto out;
	}
	if (!verify || ctx->verbose) {
		if (log.n > 0)
			printf("# boot: reset count %u, restart count %u\n", (unsigned)log.reset,
			       (unsigned)log.restart);
		for (i = 0; i < log.n; i++)
			event_text(&log.ev[i], stdout);
	}
	if (verify) {
		replay_report(ctx, NULL, rep, nrep);
		if (stale && !ctx->quiet)
			printf("the event log is of an earlier boot of the TPM: nothing to replay\n");
	}
out:
	sk_tpm_close(t);
	sk_mlog_free(&log);
	return rc;
}

/* ---- predict ---- */

static const struct sk_verbopt predict_opts[] = {
	O_PCR("the PCR the files are extended into (with FILE arguments)"),
	{ OPT_bank, "the bank to predict (default sha256)" },
	{ OPT_from, "the events to predict, for one or more PCRs (YAML: events: [{pcr, file | digest}])" },
	{ OPT_out, "write the golden values to FILE ('-' or none: stdout)" },
	{ OPT_sign_key, "sign the prediction (TPM2_PolicyAuthorize) with this OEM key: a private key file, or seckit:NAME" },
	{ OPT_key_name, "sign the prediction with a key of the store (any backend), instead of --sign-key" },
	{ OPT_sign_pass, "passphrase of an encrypted --sign-key, or the secret of the key's password object" },
};

static void golden_json(struct sk_json *j, const struct sk_golden *g)
{
	char hex[2 * SK_PCR_MAX_DIGEST + 1];
	int p;

	sk_json_key(j, "pcrs");
	sk_json_arr(j);
	for (p = 0; p < SK_PCR_COUNT; p++) {
		if (!(g->mask & (1u << p)))
			continue;
		put_hex(g->vals[p], sk_bank(g->bank)->size, hex);
		sk_json_obj(j);
		sk_json_kint(j, "pcr", p);
		sk_json_kstr(j, "bank", sk_bank(g->bank)->name);
		sk_json_kstr(j, "value", hex);
		sk_json_end_obj(j);
	}
	sk_json_end_arr(j);
	put_hex(g->composite, SK_PCR_COMPOSITE_LEN, hex);
	sk_json_kstr(j, "composite", hex);
	put_hex(g->policy, sizeof(g->policy), hex);
	sk_json_kstr(j, "policy", hex);
}

static int predict_events(const struct sk_args *a, enum sk_bank bank, struct sk_mevent **ev,
			  size_t *n)
{
	uint32_t mask;
	int rc;

	*ev = NULL;
	*n = 0;
	if (sk_opt_str(a, OPT_from) != NULL) {
		if (a->npos > 0 || sk_opt_str(a, OPT_pcr) != NULL)
			return sk_usage_error("--from: give the events in the file, not as arguments or --pcr");
		return sk_golden_events(sk_opt_str(a, OPT_from), bank, ev, n);
	}
	if ((rc = opt_pcrs(a, &mask)) != SK_OK)
		return rc;
	if (__builtin_popcount(mask) != 1 || a->npos == 0)
		return sk_usage_error("give --pcr N and the files extended into it, or --from FILE");
	if ((*ev = sk_calloc((size_t)a->npos, sizeof(**ev))) == NULL)
		return SK_EFAIL;
	*n = (size_t)a->npos;
	return read_events(a, NULL, NULL, __builtin_ctz(mask), 1u << bank, *ev);
}

static int measure_predict(struct sk_ctx *ctx, const struct sk_args *a)
{
	int signing = sk_opt_str(a, OPT_sign_key) != NULL || sk_opt_str(a, OPT_key_name) != NULL;
	struct sk_signer signer;
	struct sk_golden g;
	struct sk_mevent *ev = NULL;
	struct sk_buf b = { 0 };
	struct sk_out out;
	struct sk_json j;
	const char *path = NULL;
	size_t n;
	int rc;

	memset(&g, 0, sizeof(g));
	/* --json without --out: the values are the report. */
	if (ctx->json)
		path = sk_opt_str(a, OPT_out);
	else if ((rc = sk_opt_out(a, SK_OUT_TEXT, &path)) != SK_OK)
		return rc;
	if ((rc = opt_bank(a, &g.bank)) != SK_OK ||
	    (rc = predict_events(a, g.bank, &ev, &n)) != SK_OK ||
	    (rc = sk_golden_predict(&g, ev, n)) != SK_OK)
		goto out;
	if (ctx->json && path == NULL && signing) {
		rc = sk_usage_error("--json with a signed prediction: write it with --out");
		goto out;
	}
	if (ctx->json && path == NULL) {
		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		golden_json(&j, &g);
		sk_json_end_obj(&j);
		sk_json_done(&j);
		goto out;
	}
	if (signing) {
		rc = sk_opt_signer(ctx, a, OPT_sign_pass, NULL, &signer);
		if (rc == SK_OK)
			rc = sk_golden_sign(&g, &signer, &b);
		sk_signer_free(&signer);
	} else {
		rc = sk_golden_format(&g, &b);
	}
	if (rc != SK_OK || (rc = sk_out_open(&out, path ? path : "-", 0644)) != SK_OK)
		goto out;
	if ((rc = sk_out_write(&out, b.p, b.len)) == SK_OK)
		rc = sk_out_commit(&out);
	else
		sk_out_abort(&out);
out:
	sk_buf_free(&b);
	free(ev);
	return rc;
}

/* ---- seal ---- */

static const struct sk_verbopt seal_opts[] = {
	O_PCR("the PCRs whose values open the index, comma-separated"),
	{ OPT_bank, "the bank of those PCRs (default sha256)" },
	{ OPT_index, "the NV index (default 0x01500016)" },
	{ OPT_golden, "seal these golden values (measure predict's output) instead of the current ones" },
	{ OPT_force, "replace an index that is already defined" },
};

static int measure_seal(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_golden g;
	struct sk_store *st;
	struct sk_tpm *t = NULL;
	struct sk_json j;
	const char *golden = sk_opt_str(a, OPT_golden);
	char list[80], want[80];
	uint32_t index, mask;
	enum sk_bank bank;
	int rc;

	memset(&g, 0, sizeof(g));
	if ((rc = opt_pcrs(a, &mask)) != SK_OK || (rc = opt_bank(a, &bank)) != SK_OK ||
	    (rc = opt_index(a, &index)) != SK_OK)
		return rc;
	if (mask == 0)
		return sk_usage_error("--pcr is required: a policy on no PCR would enforce nothing");
	if (golden != NULL) {
		if ((rc = sk_golden_load(golden, &g)) != SK_OK)
			return rc;
		if (g.mask != mask || g.bank != bank) {
			sk_pcr_list_str(g.mask, list, sizeof(list));
			sk_pcr_list_str(mask, want, sizeof(want));
			return sk_err(SK_ECONFIG, "%s: golden values of PCR %s (%s), not of PCR %s (%s)",
				      golden, list, sk_bank(g.bank)->name, want, sk_bank(bank)->name);
		}
	}
	if ((rc = open_tpm(ctx, &t)) != SK_OK)
		return rc;
	if (golden == NULL) {
		g.bank = bank;
		g.mask = mask;
		if ((rc = sk_tpm_need_banks(t, 1u << bank, mask)) != SK_OK ||
		    (rc = sk_tpm_pcr_read(t, bank, mask, g.vals)) != SK_OK ||
		    (rc = sk_golden_finish(&g)) != SK_OK)
			goto out;
	}
	if ((rc = sk_ctx_store(ctx, 1, &st)) != SK_OK ||
	    (rc = sk_measure_seal(st, t, index, &g, sk_opt_flag(a, OPT_force))) != SK_OK)
		goto out;
	if (ctx->json) {
		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		snprintf(list, sizeof(list), "0x%08x", (unsigned)index);
		sk_json_kstr(&j, "index", list);
		golden_json(&j, &g);
		sk_json_end_obj(&j);
		sk_json_done(&j);
	} else if (ctx->verbose) {
		sk_pcr_list_str(mask, list, sizeof(list));
		fprintf(stderr, "sealed the golden values of PCR %s (%s) in NV index 0x%08x\n", list,
			sk_bank(bank)->name, (unsigned)index);
	}
out:
	sk_tpm_close(t);
	return rc;
}

/* ---- verify ---- */

static const struct sk_verbopt verify_opts[] = {
	O_PCR("the PCRs sealed in the index, comma-separated"),
	{ OPT_bank, "their bank (default sha256)" },
	{ OPT_index, "the NV index (default 0x01500016)" },
};

static int measure_verify(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_mverdict v;
	struct sk_store *st = NULL;
	struct sk_tpm *t = NULL;
	struct sk_json j;
	char list[80], hex[16];
	uint32_t index, mask;
	enum sk_bank bank;
	int rc;

	if ((rc = opt_pcrs(a, &mask)) != SK_OK || (rc = opt_bank(a, &bank)) != SK_OK ||
	    (rc = opt_index(a, &index)) != SK_OK)
		return rc;
	if (mask == 0)
		return sk_usage_error("--pcr is required");
	if ((rc = open_tpm(ctx, &t)) != SK_OK)
		return rc;
	/* The store only helps to name a changed PCR: verify runs without. */
	if (sk_ctx_store(ctx, 0, &st) != SK_OK) {
		st = NULL;
		sk_err_clear();
	}
	rc = sk_measure_verify(st, t, index, bank, mask, &v);
	if (rc != SK_OK && rc != SK_EVERIFY)
		goto out;
	sk_pcr_list_str(mask, list, sizeof(list));
	if (ctx->json) {
		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		snprintf(hex, sizeof(hex), "0x%08x", (unsigned)index);
		sk_json_kstr(&j, "index", hex);
		sk_json_kstr(&j, "bank", sk_bank(bank)->name);
		sk_json_kstr(&j, "pcrs", list);
		sk_json_kbool(&j, "match", v.match);
		if (v.pcr >= 0)
			sk_json_kint(&j, "changed_pcr", v.pcr);
		sk_json_end_obj(&j);
		sk_json_done(&j);
	} else if (rc == SK_OK && ctx->verbose) {
		printf("PCR %s (%s) %s the golden value%s of NV index 0x%08x\n", list,
		       sk_bank(bank)->name, __builtin_popcount(mask) == 1 ? "matches" : "match",
		       __builtin_popcount(mask) == 1 ? "" : "s", (unsigned)index);
	}
out:
	sk_tpm_close(t);
	return rc;
}

static const struct sk_verb verbs[] = {
	SK_VERB("extend", measure_extend, "hash files (or take --digest) and extend a PCR, logging each event",
		.synopsis = "[FILE...]", SK_POS(0, -1), SK_OPTIONS(extend_opts), .complete = SK_C_FILE),
	SK_VERB("read", measure_read, "print PCR values per bank", SK_OPTIONS(read_opts)),
	SK_VERB("log", measure_log, "print the event log (--verify: replay it against the TPM)",
		SK_OPTIONS(log_opts)),
	SK_VERB("predict", measure_predict, "compute golden PCR values on the host, with no TPM",
		.synopsis = "[FILE...]", SK_POS(0, -1), SK_OPTIONS(predict_opts), .complete = SK_C_FILE),
	SK_VERB("seal", measure_seal, "keep golden PCR values in an NV index that only they open",
		SK_OPTIONS(seal_opts)),
	SK_VERB("verify", measure_verify, "compare the PCRs with the golden values of the NV index",
		SK_OPTIONS(verify_opts)),
};

const struct sk_command sk_cmd_measure = {
	.name = "measure",
	.summary = "measured boot: extend PCRs with an event log, predict, seal and verify golden values",
	SK_VERBS(verbs),
};
