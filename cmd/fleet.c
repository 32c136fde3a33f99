/* SPDX-License-Identifier: MIT */
/* The fleet mode of the off-device makers (cmd/fleet.h). */
#include "fleet.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/util.h"
#include "format/ecies.h"
#include "json.h"

/* The outputs of a fleet run (seckit-oo(1) FLEET OUTPUT). */
static int out_check(const struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *dir = sk_opt_str(a, OPT_out_dir), *ar = sk_opt_str(a, OPT_out_archive);
	const char *man = sk_opt_str(a, OPT_manifest);
	int ar_out = ar != NULL && strcmp(ar, "-") == 0, man_out = man != NULL && strcmp(man, "-") == 0;

	if (sk_opt_str(a, OPT_out) != NULL)
		return sk_usage_error("with --devices, give --out-dir DIR or --out-archive FILE (not --out)");
	if ((dir == NULL) == (ar == NULL))
		return sk_usage_error("with --devices, give --out-dir DIR or --out-archive FILE (one of them)");
	if (sk_opt_flag(a, OPT_resume) && (ar == NULL || ar_out))
		return sk_usage_error("--resume continues an --out-archive FILE (not a directory or '-')");
	if (ar_out + man_out + (ctx->json != 0) > 1)
		return sk_usage_error("only one of --out-archive -, --manifest - and --json can use stdout");
	if (ar_out && isatty(STDOUT_FILENO))
		return sk_usage_error("--out-archive -: standard output is a terminal");
	return SK_OK;
}

int sk_cmd_fleet_check(const struct sk_ctx *ctx, const struct sk_args *a, int fleet)
{
	if (fleet)
		return out_check(ctx, a);
	if (sk_opt_str(a, OPT_out_dir) || sk_opt_str(a, OPT_jobs) || sk_opt_str(a, OPT_shard) ||
	    sk_opt_flag(a, OPT_keep_going) || sk_opt_str(a, OPT_out_archive) ||
	    sk_opt_str(a, OPT_manifest) || sk_opt_flag(a, OPT_resume))
		return sk_usage_error("--out-dir, --out-archive, --manifest, --resume, --jobs, --shard and --keep-going go with --devices");
	return SK_OK;
}

int sk_cmd_fleet_dev_pub(const struct sk_fleet_dev *d, struct sk_ecies_sender *s,
			 struct sk_buf *buf, EVP_PKEY **pub, uint8_t devid[32])
{
	const uint8_t *kp;
	size_t kn;
	int rc;

	buf->len = 0;
	if ((rc = sk_fleet_dev_key_bytes(d, buf, &kp, &kn)) != SK_OK)
		return rc;
	if (sk_ecies_parse_pub(s, kp, kn, pub, devid) != SK_OK)
		return sk_fleet_dev_err(d, "%s: %s", d->key_file ? "public-key-file" : "public-key",
					sk_err_msg());
	return SK_OK;
}

/* A worker: the verb's state, behind the check for resumed devices. */
struct worker {
	struct sk_cmd_fleet *f;
	void *state;
};

static int worker_init(void *arg, void **state)
{
	struct sk_cmd_fleet *f = arg;
	struct worker *w = calloc(1, sizeof(*w));
	int rc;

	if (w == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	w->f = f;
	if ((rc = f->worker_init(f->arg, &w->state)) != SK_OK) {
		free(w);
		return rc;
	}
	*state = w;
	return SK_OK;
}

static void worker_free(void *state)
{
	struct worker *w = state;

	w->f->worker_free(w->state);
	free(w);
}

static int work(void *state, const struct sk_fleet_dev *d)
{
	struct worker *w = state;
	int has, rc;

	if ((rc = sk_fleet_out_has(w->f->out, d->id, &has)) != SK_OK)
		return rc;
	if (has)
		return SK_OK; /* in the archive being resumed */
	return w->f->work(w->state, d);
}

static void clear_progress(struct sk_cmd_fleet *f)
{
	if (f->progress_shown) {
		fputs("\r\033[K", stderr);
		f->progress_shown = 0;
	}
}

static void bad(void *arg, const struct sk_fleet_dev *d, const char *msg)
{
	struct sk_cmd_fleet *f = arg;

	(void)sk_fleet_out_error(f->out, d->id, SK_ECONFIG, sk_json_error_code(SK_ECONFIG), msg);
	clear_progress(f);
	if (!f->ctx->quiet)
		fprintf(stderr, "%s: %s: skipped\n", sk_prog(), msg);
}

static void progress(void *arg, const struct sk_fleet_stats *st)
{
	struct sk_cmd_fleet *f = arg;
	double rate = st->seconds > 0 ? (double)st->done / st->seconds : 0;

	if (st->parsed)
		fprintf(stderr, "\r\033[K%s: %zu/%zu devices", sk_prog(), st->done + st->skipped,
			st->selected);
	else
		fprintf(stderr, "\r\033[K%s: %zu devices", sk_prog(), st->done + st->skipped);
	if (st->skipped)
		fprintf(stderr, " (%zu skipped)", st->skipped);
	fprintf(stderr, ", %.0f/s", rate);
	fflush(stderr);
	f->progress_shown = 1;
}

static void summary(struct sk_cmd_fleet *f, const struct sk_fleet_out_opts *oo,
		    const struct sk_fleet_stats *st, size_t written)
{
	if (f->ctx->json) {
		struct sk_json j;
		char sh[32];

		snprintf(sh, sizeof(sh), "%u/%u", f->shard_k, f->shard_n);
		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kstr(&j, "out_dir", f->out_dir);
		sk_json_kstr(&j, "shard", sh);
		sk_json_kuint(&j, "jobs", f->jobs);
		sk_json_kuint(&j, "entries", st->entries);
		sk_json_kuint(&j, "selected", st->selected);
		sk_json_kuint(&j, "written", written);
		sk_json_kuint(&j, "skipped", st->skipped);
		sk_json_kuint(&j, "milliseconds", (uint64_t)(st->seconds * 1000));
		sk_json_kstr(&j, "out_archive", oo->archive);
		sk_json_kstr(&j, "manifest", oo->manifest);
		sk_json_kuint(&j, "resumed", st->done - written);
		sk_json_end_obj(&j);
		sk_json_done(&j);
	} else if (!f->ctx->quiet && st->parsed) {
		fprintf(stderr, "%s: %zu %s%s written to %s%s (shard %u/%u: %zu of %zu devices",
			sk_prog(), written, f->what, written == 1 ? "" : "s",
			f->out_dir ? f->out_dir : oo->archive, f->out_dir ? "/" : "", f->shard_k,
			f->shard_n, st->selected, st->entries);
		if (st->done > written)
			fprintf(stderr, ", %zu already in the archive", st->done - written);
		if (st->skipped)
			fprintf(stderr, ", %zu skipped", st->skipped);
		fprintf(stderr, ") in %.1f s, %.0f/s, %u job%s\n", st->seconds,
			st->seconds > 0 ? (double)written / st->seconds : 0.0, f->jobs,
			f->jobs == 1 ? "" : "s");
	}
}

int sk_cmd_fleet_run(struct sk_cmd_fleet *f, const struct sk_args *a)
{
	struct sk_fleet_opts fo;
	struct sk_fleet_stats st;
	struct sk_fleet_out_opts oo;
	const char *shard = sk_opt_str(a, OPT_shard);
	uint64_t jobs;
	size_t written;
	int rc, rc2, went_through, has_part;

	memset(&fo, 0, sizeof(fo));
	memset(&st, 0, sizeof(st));
	fo.jobs = sk_opt_uint(a, OPT_jobs, &jobs) ? (unsigned)jobs : sk_fleet_default_jobs();
	if (shard != NULL && strcmp(shard, "auto") == 0)
		rc = sk_fleet_shard_auto(&fo.shard_k, &fo.shard_n);
	else if (shard != NULL)
		rc = sk_fleet_parse_shard(shard, &fo.shard_k, &fo.shard_n);
	else
		rc = SK_OK;
	if (rc != SK_OK)
		return sk_usage_error("--%s: %s", sk_optdefs[OPT_shard].name, sk_err_msg());
	f->shard_k = fo.shard_n ? fo.shard_k : 1;
	f->shard_n = fo.shard_n ? fo.shard_n : 1;
	f->jobs = fo.jobs;
	f->out_dir = sk_opt_str(a, OPT_out_dir);
	memset(&oo, 0, sizeof(oo));
	oo.dir = f->out_dir;
	oo.archive = sk_opt_str(a, OPT_out_archive);
	oo.manifest = sk_opt_str(a, OPT_manifest);
	oo.resume = sk_opt_flag(a, OPT_resume);
	oo.manifest_extra = f->manifest_extra;
	oo.suffix = f->suffix;
	oo.mode = f->mode;
	oo.tmpdir = f->ctx->tmpdir;
	if ((rc = sk_fleet_out_open(&oo, &f->out)) != SK_OK)
		return rc;
	fo.keep_going = sk_opt_flag(a, OPT_keep_going);
	fo.tmpdir = f->ctx->tmpdir;
	fo.arg = f;
	fo.worker_init = worker_init;
	fo.worker_free = worker_free;
	fo.work = work;
	fo.bad = bad;
	f->tty = isatty(STDERR_FILENO) && !f->ctx->quiet;
	fo.progress = f->tty ? progress : NULL;
	rc = sk_fleet_run(sk_opt_str(a, OPT_devices), &fo, &st);
	clear_progress(f);
	written = sk_fleet_out_written(f->out);
	has_part = sk_fleet_out_has_part(f->out);
	/* a run that went through: bad entries skipped with --keep-going too */
	went_through = rc == SK_OK || (rc == SK_ECONFIG && fo.keep_going && st.parsed);
	/* Everything written is made durable and named before we report
	 * success; a run cut short keeps its FILE.part for --resume. */
	rc2 = sk_fleet_out_close(f->out, went_through);
	f->out = NULL;
	if (rc2 != SK_OK && rc == SK_OK)
		rc = rc2;
	else if (rc != SK_OK && has_part && st.entries > 0 && !went_through)
		sk_warn("the %ss made so far are kept in '%s.part' (--resume continues it)", f->what,
			oo.archive);
	/* A summary for a run that went through, not for one that stopped. */
	if (rc == SK_OK || (rc == SK_ECONFIG && went_through && st.skipped > 0))
		summary(f, &oo, &st, written);
	return rc;
}
