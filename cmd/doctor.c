/* SPDX-License-Identifier: MIT */
/* seckit doctor: the device's self-check (src/provision/doctor.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "provision/doctor.h"
#include "json.h"
#include "opt.h"

struct report {
	struct sk_ctx *ctx;
	struct sk_json j;
	unsigned fails, warns;
};

static void one(const struct sk_doctor_finding *f, void *arg)
{
	struct report *r = arg;

	r->fails += f->level == SK_DOCTOR_FAIL;
	r->warns += f->level == SK_DOCTOR_WARN;
	if (r->ctx->json) {
		sk_json_obj(&r->j);
		sk_json_kstr(&r->j, "level", sk_doctor_level_name(f->level));
		sk_json_kstr(&r->j, "check", f->check);
		sk_json_kstr(&r->j, "detail", f->detail);
		sk_json_end_obj(&r->j);
	} else if (!r->ctx->quiet || f->level != SK_DOCTOR_OK) {
		printf("%s  %s  %s\n", sk_doctor_level_name(f->level), f->check, f->detail);
	}
}

static int doctor(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_doctor_opts o;
	struct report r;
	int rc;

	(void)a;
	memset(&r, 0, sizeof(r));
	memset(&o, 0, sizeof(o));
	r.ctx = ctx;
	if ((rc = sk_ctx_pkcs11_module(ctx, &o.pkcs11_module)) != SK_OK)
		return rc;
	o.now = (int64_t)time(NULL);
	o.expiry_warn_days = 30;
	if (ctx->json) {
		sk_json_init(&r.j, stdout);
		sk_json_obj(&r.j);
		sk_json_key(&r.j, "findings");
		sk_json_arr(&r.j);
	}
	if ((rc = sk_doctor(ctx, &o, one, &r)) != SK_OK) {
		if (ctx->json)
			sk_json_discard();
		return rc;
	}
	if (ctx->json) {
		sk_json_end_arr(&r.j);
		sk_json_kuint(&r.j, "failed", r.fails);
		sk_json_kuint(&r.j, "warnings", r.warns);
		sk_json_end_obj(&r.j);
		sk_json_done(&r.j);
	}
	if (r.fails > 0)
		return sk_err(SK_EVERIFY, "%u check%s failed", r.fails, r.fails == 1 ? "" : "s");
	return SK_OK;
}

static const struct sk_verb direct = SK_VERB("doctor", doctor,
	"check the device: store, master key, TPM, roles, certificates, clock");

const struct sk_command sk_cmd_doctor = {
	.name = "doctor",
	.summary = "self-check of the device (exit 7 when a check fails)",
	.direct = &direct,
};
