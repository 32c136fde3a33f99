/* SPDX-License-Identifier: MIT */
/* seckit provision: the factory step, from a YAML manifest. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "provision/provision.h"
#include "json.h"
#include "opt.h"

struct report {
	struct sk_ctx *ctx;
	struct sk_json j;
	int dry_run, started;
	unsigned changes;
};

/* The JSON document starts with the first step: steps are only reported
 * once the run succeeded, so a failure prints nothing on stdout. */
static void json_start(struct report *r)
{
	if (r->started)
		return;
	r->started = 1;
	sk_json_init(&r->j, stdout);
	sk_json_obj(&r->j);
	sk_json_kbool(&r->j, "dry_run", r->dry_run);
	sk_json_key(&r->j, "steps");
	sk_json_arr(&r->j);
}

static const char *action_name(enum sk_prov_action a)
{
	switch (a) {
	case SK_PROV_KEEP: return "keep";
	case SK_PROV_CREATE: return "create";
	case SK_PROV_REPLACE: return "replace";
	case SK_PROV_WRITE: return "write";
	}
	return "?";
}

static void step(const struct sk_prov_step *s, void *arg)
{
	struct report *r = arg;

	if (s->action == SK_PROV_CREATE || s->action == SK_PROV_REPLACE)
		r->changes++;
	if (r->ctx->json) {
		json_start(r);
		sk_json_obj(&r->j);
		sk_json_kstr(&r->j, "action", action_name(s->action));
		sk_json_kstr(&r->j, "what", s->what);
		sk_json_kstr(&r->j, "name", s->name);
		sk_json_kstr(&r->j, "detail", s->detail[0] ? s->detail : NULL);
		sk_json_end_obj(&r->j);
		return;
	}
	/* The plan (dry run) is the data; a real run reports with -v. */
	if (!r->dry_run && !r->ctx->verbose)
		return;
	printf("%-8s %-16s %s%s%s%s\n", action_name(s->action), s->what, s->name,
	       s->detail[0] ? " (" : "", s->detail, s->detail[0] ? ")" : "");
}

static int provision(struct sk_ctx *ctx, const struct sk_args *a)
{
	const struct sk_policy *pol;
	struct report r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	r.dry_run = sk_opt_flag(a, OPT_dry_run);
	if ((rc = sk_ctx_policy(ctx, &pol)) == SK_OK)
		rc = sk_provision(ctx, pol, a->pos[0], r.dry_run, step, &r);
	if (ctx->json && rc == SK_OK) {
		json_start(&r);
		sk_json_end_arr(&r.j);
		sk_json_kbool(&r.j, "changed", !r.dry_run && r.changes > 0);
		sk_json_kuint(&r.j, "changes", r.changes);
		sk_json_end_obj(&r.j);
		sk_json_done(&r.j);
	}
	if (rc == SK_OK && !ctx->json && !ctx->quiet && !r.dry_run && ctx->verbose)
		printf("%s: %u change%s\n", a->pos[0], r.changes, r.changes == 1 ? "" : "s");
	return rc;
}

static const struct sk_verbopt provision_opts[] = {
	{ OPT_dry_run, "print the plan; change nothing (not even create the store)" },
};

static const struct sk_verb direct = SK_VERB("provision", provision,
	"apply a provisioning manifest (idempotent)",
	.synopsis = "MANIFEST.yaml", SK_POS(1, 1), SK_OPTIONS(provision_opts), .complete = SK_C_FILE);

const struct sk_command sk_cmd_provision = {
	.name = "provision",
	.summary = "factory provisioning from a YAML manifest",
	.direct = &direct,
};
