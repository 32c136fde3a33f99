/* SPDX-License-Identifier: MIT */
/* seckit store: secure storage of named data objects. */
#include <stdio.h>
#include <string.h>

#include "store/data.h"
#include "crypto/crypto.h"
#include "measure/measure.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/util.h"
#include "store/store.h"
#include "json.h"
#include "opt.h"

#define O_PASS(h) { OPT_pass, h }

static void info_json(struct sk_json *j, const struct sk_data_info *d, int with_file)
{
	char hex[65];
	int i;

	sk_hex(hex, d->policy, sizeof(d->policy));
	sk_json_obj(j);
	sk_json_kstr(j, "name", d->name);
	sk_json_kuint(j, "size", d->size);
	sk_json_kbool(j, "password", d->password);
	if (d->sealed) {
		sk_json_key(j, "tpm2_pcrs");
		sk_json_obj(j);
		sk_json_kstr(j, "bank", sk_bank(d->pcrs.bank)->name);
		sk_json_key(j, "pcrs");
		sk_json_arr(j);
		for (i = 0; i < SK_PCR_COUNT; i++)
			if (d->pcrs.mask & (1u << i))
				sk_json_uint(j, (uint64_t)i);
		sk_json_end_arr(j);
		sk_json_kstr(j, "policy", hex);
		sk_json_end_obj(j);
	}
	if (d->authorized)
		sk_json_kstr(j, "tpm2_policy_key", d->oem_fpr);
	sk_json_ktime(j, "modified", (int64_t)d->mtime);
	if (with_file)
		sk_json_kstr(j, "file", d->file);
	sk_json_end_obj(j);
}

static int report_info(struct sk_ctx *ctx, const char *name, const char *verb)
{
	struct sk_data_info d;
	struct sk_json j;
	int rc;

	if (!ctx->json && !ctx->verbose)
		return SK_OK;
	if ((rc = sk_data_info(ctx, name, &d)) != SK_OK)
		return rc;
	if (ctx->json) {
		sk_json_init(&j, stdout);
		info_json(&j, &d, 1);
		sk_json_done(&j);
	} else {
		fprintf(stderr, "%s object '%s' (%llu bytes%s)\n", verb, d.name,
			(unsigned long long)d.size,
			d.password ? ", password-protected" : d.sealed ? ", sealed to PCRs" :
			d.authorized ? ", sealed under the OEM's policy" : "");
	}
	return SK_OK;
}

/* ---- write / read ---- */

static const struct sk_verbopt write_opts[] = {
	{ OPT_in, "read the data from FILE ('-' or none: stdin)" },
	O_PASS("protect the object with this password (needed, and checked, if it has one already)"),
	{ OPT_tpm2_pcrs, "seal the object to the current values of these PCRs (tpm2 backend; not with --pass)" },
	{ OPT_bank, "the PCR bank of --tpm2-pcrs (default sha256)" },
	{ OPT_tpm2_policy_key, "seal the object under PolicyAuthorize by this OEM public key: PCR values the OEM signs open it (tpm2 backend)" },
};

static int store_write(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *path = sk_opt_str(a, OPT_in), *list = sk_opt_str(a, OPT_tpm2_pcrs);
	const char *bank = sk_opt_str(a, OPT_bank), *oem = sk_opt_str(a, OPT_tpm2_policy_key);
	struct sk_data_pcrs pcrs = { SK_BANK_SHA256, 0, NULL };
	struct sk_in in = { .fd = -1 };
	int rc;

	if (bank != NULL && list == NULL)
		return sk_usage_error("--bank needs --tpm2-pcrs");
	if ((list != NULL || oem != NULL) && sk_opt_str(a, OPT_pass) != NULL)
		return sk_usage_error("--tpm2-pcrs/--tpm2-policy-key and --pass: an object is sealed to PCRs or protected by a password, not both");
	if (list != NULL && oem != NULL)
		return sk_usage_error("--tpm2-pcrs or --tpm2-policy-key: sealed to the current values, or to the values the OEM signs");
	if (list != NULL && (rc = sk_pcr_list(list, &pcrs.mask)) != SK_OK)
		return rc;
	if (bank != NULL && (rc = sk_bank_by_name(bank, &pcrs.bank)) != SK_OK)
		return rc;
	if (oem != NULL && (rc = sk_pkey_load(oem, NULL, 0, &pcrs.oem)) != SK_OK)
		return rc;
	if ((rc = sk_in_open(&in, path ? path : "-")) == SK_OK) {
		rc = sk_data_write(ctx, a->pos[0], sk_opt_str(a, OPT_pass),
				   list != NULL || oem != NULL ? &pcrs : NULL, &in);
		sk_in_close(&in);
	}
	EVP_PKEY_free(pcrs.oem);
	if (rc != SK_OK)
		return rc;
	return report_info(ctx, a->pos[0], "wrote");
}

static const struct sk_verbopt read_opts[] = {
	{ OPT_out, "write the data to FILE, mode 0600 ('-' or none: stdout)" },
	O_PASS("the object's password"),
	{ OPT_policy, "the prediction the OEM signed (measure predict --sign-key) that opens an object written with --tpm2-policy-key" },
};

static int store_read(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *path = sk_opt_str(a, OPT_out), *policy = sk_opt_str(a, OPT_policy);
	struct sk_golden g;
	struct sk_golden_auth auth;
	struct sk_pcr_approval ap;
	struct sk_out out;
	int rc;

	if (policy != NULL) {
		if ((rc = sk_golden_load_signed(policy, &g, &auth)) != SK_OK)
			return rc;
		memset(&ap, 0, sizeof(ap));
		ap.bank = g.bank;
		ap.mask = g.mask;
		ap.vals = (const uint8_t(*)[SK_PCR_MAX_DIGEST])g.vals;
		memcpy(ap.composite, g.composite, sizeof(ap.composite));
		memcpy(ap.policy, g.policy, sizeof(ap.policy));
		ap.ref = auth.ref;
		ap.reflen = auth.reflen;
		ap.sig = auth.sig;
		ap.siglen = auth.siglen;
	}
	/* Nothing is created before the object opened and its password checked. */
	if ((rc = sk_out_open(&out, path ? path : "-", 0600)) != SK_OK)
		return rc;
	rc = sk_data_read(ctx, a->pos[0], sk_opt_str(a, OPT_pass), policy ? &ap : NULL, &out);
	if (rc == SK_OK)
		return sk_out_commit(&out);
	sk_out_abort(&out);
	return rc;
}

/* ---- list / info ---- */

static const struct sk_verbopt list_opts[] = {
	{ OPT_names, "print only the names, one per line" },
};

struct list_state {
	struct sk_ctx *ctx;
	struct sk_json j;
	int names;
};

static int list_one(const struct sk_data_info *d, void *arg)
{
	struct list_state *s = arg;
	char when[32];

	if (s->ctx->json) {
		info_json(&s->j, d, 0);
	} else if (s->names) {
		printf("%s\n", d->name);
	} else {
		sk_time_format((int64_t)d->mtime, when, sizeof(when));
		printf("%-24s %12llu  %-8s  %s\n", d->name, (unsigned long long)d->size,
		       d->password ? "password" : d->sealed ? "pcrs" : d->authorized ? "policy" : "-", when);
	}
	return 0;
}

static int store_list(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct list_state s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.ctx = ctx;
	s.names = sk_opt_flag(a, OPT_names);
	if (ctx->json)
		sk_json_list_begin(&s.j, stdout, "objects");
	if ((rc = sk_data_list(ctx, list_one, &s)) != SK_OK)
		return rc;
	if (ctx->json)
		sk_json_list_end(&s.j);
	return SK_OK;
}

static int store_info(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_data_info d;
	struct sk_json j;
	char when[32], pcrs[80], hex[65];
	int rc;

	if ((rc = sk_data_info(ctx, a->pos[0], &d)) != SK_OK)
		return rc;
	if (ctx->json) {
		sk_json_init(&j, stdout);
		info_json(&j, &d, 1);
		sk_json_done(&j);
		return SK_OK;
	}
	sk_time_format((int64_t)d.mtime, when, sizeof(when));
	printf("name:      %s\n", d.name);
	printf("size:      %llu\n", (unsigned long long)d.size);
	printf("password:  %s\n", d.password ? "yes" : "no");
	if (d.authorized)
		printf("tpm2-policy-key: %s\n", d.oem_fpr);
	if (d.sealed) {
		sk_pcr_list_str(d.pcrs.mask, pcrs, sizeof(pcrs));
		sk_hex(hex, d.policy, sizeof(d.policy));
		printf("tpm2-pcrs: %s:%s\n", sk_bank(d.pcrs.bank)->name, pcrs);
		printf("policy:    %s\n", hex);
	}
	printf("modified:  %s\n", when);
	printf("file:      %s\n", d.file);
	return SK_OK;
}

/* ---- delete / check ---- */

static const struct sk_verbopt delete_opts[] = {
	O_PASS("the object's password"),
	{ OPT_force, "also delete an object that fails verification (tampered or damaged)" },
};

static int store_delete(struct sk_ctx *ctx, const struct sk_args *a)
{
	return sk_data_delete(ctx, a->pos[0], sk_opt_str(a, OPT_pass), sk_opt_flag(a, OPT_force));
}

static const struct sk_verbopt check_opts[] = {
	{ OPT_repair, "remove what fails verification so that the store is usable again (the loss is accepted)" },
};

struct check_state {
	struct sk_ctx *ctx;
	struct sk_json *j;
	size_t n;
};

static void check_one(const char *file, const char *msg, void *arg)
{
	struct check_state *c = arg;

	c->n++;
	if (c->j != NULL) {
		sk_json_obj(c->j);
		sk_json_kstr(c->j, "file", file);
		sk_json_kstr(c->j, "problem", msg);
		sk_json_end_obj(c->j);
	} else {
		(void)file; /* the message names it */
		printf("%s\n", msg);
	}
}

static int store_check(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_store *st;
	struct sk_json j;
	struct check_state c = { ctx, NULL, 0 };
	int repair = sk_opt_flag(a, OPT_repair), rc;
	size_t nobj = 0;

	if ((rc = sk_ctx_store(ctx, 0, &st)) != SK_OK)
		return rc;
	if (ctx->json) {
		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_key(&j, "problems");
		sk_json_arr(&j);
		c.j = &j;
	}
	rc = sk_store_check(st, repair, check_one, &c, &nobj);
	if (ctx->json) {
		sk_json_end_arr(&j);
		sk_json_kuint(&j, "objects", nobj);
		sk_json_kbool(&j, "repaired", repair && c.n > 0 && rc == SK_OK);
		sk_json_end_obj(&j);
		sk_json_done(&j);
	} else if (!ctx->quiet && rc == SK_OK) {
		if (c.n == 0)
			printf("%zu object%s verified, no problems\n", nobj, nobj == 1 ? "" : "s");
		else
			printf("%zu problem%s repaired, %zu object%s left\n", c.n, c.n == 1 ? "" : "s",
			       nobj, nobj == 1 ? "" : "s");
	}
	return rc;
}

/* ---- reseal ---- */

static const struct sk_verbopt reseal_opts[] = {
	{ OPT_golden, "seal to these predicted values (measure predict's output) instead of the current ones: the store opens only once the PCRs hold them" },
	{ OPT_pubkey, "with --golden: the OEM public key that must have signed it (measure predict --sign-key)" },
};

/* The golden values of --golden as a PCR binding; with --pubkey, only a
 * prediction that key signed (checked here: the seal itself is a plain
 * PolicyPCR, which no TPM check of the signature will guard later). */
static int reseal_golden(const char *golden, const char *pub, struct sk_pcr_binding *pb)
{
	struct sk_golden g;
	struct sk_golden_auth auth;
	EVP_PKEY *oem = NULL;
	int rc;

	if (pub == NULL) {
		rc = sk_golden_load(golden, &g);
	} else if ((rc = sk_pkey_load(pub, NULL, 0, &oem)) == SK_OK &&
		   (rc = sk_golden_load_signed(golden, &g, &auth)) == SK_OK &&
		   (rc = sk_golden_auth_verify(&g, &auth, oem)) != SK_OK) {
		sk_err_wrap(rc, "%s", golden);
	}
	EVP_PKEY_free(oem);
	if (rc != SK_OK)
		return rc;
	pb->bank = g.bank;
	pb->mask = g.mask;
	memcpy(pb->vals, g.vals, sizeof(pb->vals));
	return SK_OK;
}

static int store_reseal(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *golden = sk_opt_str(a, OPT_golden), *pub = sk_opt_str(a, OPT_pubkey);
	struct sk_pcr_binding pb;
	enum sk_mk_protection p;
	char list[80];
	struct sk_json j;
	int rc, i;

	if (pub != NULL && golden == NULL)
		return sk_usage_error("--pubkey needs --golden");
	if (golden != NULL && (rc = reseal_golden(golden, pub, &pb)) != SK_OK)
		return rc;
	if ((rc = sk_ctx_store_reseal(ctx, golden ? &pb : NULL, golden, &p)) != SK_OK)
		return rc;
	sk_pcr_list_str(ctx->cfg.master_key_pcrs, list, sizeof(list));
	if (ctx->json) {
		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kstr(&j, "store", ctx->store_dir);
		sk_json_kstr(&j, "master_key", p == SK_MK_TPM2_PCR ? "tpm2-pcrs" : "tpm2");
		if (golden != NULL)
			sk_json_kstr(&j, "golden", golden);
		if (p == SK_MK_TPM2_PCR) {
			sk_json_key(&j, "tpm2_pcrs");
			sk_json_obj(&j);
			sk_json_kstr(&j, "bank", sk_bank(ctx->cfg.master_key_bank)->name);
			sk_json_key(&j, "pcrs");
			sk_json_arr(&j);
			for (i = 0; i < SK_PCR_COUNT; i++)
				if (ctx->cfg.master_key_pcrs & (1u << i))
					sk_json_uint(&j, (uint64_t)i);
			sk_json_end_arr(&j);
			sk_json_end_obj(&j);
		}
		sk_json_end_obj(&j);
		sk_json_done(&j);
	} else if (!ctx->quiet && golden != NULL) {
		printf("master key of %s sealed to the values of %s for PCRs %s (%s): it opens once they are measured\n",
		       ctx->store_dir, golden, list, sk_bank(ctx->cfg.master_key_bank)->name);
	} else if (!ctx->quiet && p == SK_MK_TPM2_PCR) {
		printf("master key of %s sealed to PCRs %s (%s)\n", ctx->store_dir, list,
		       sk_bank(ctx->cfg.master_key_bank)->name);
	} else if (!ctx->quiet) {
		printf("master key of %s sealed by the TPM\n", ctx->store_dir);
	}
	return SK_OK;
}

static const struct sk_verb verbs[] = {
	SK_VERB("write", store_write, "store data (stdin or --in) under NAME",
		.synopsis = "NAME", SK_POS(1, 1), SK_OPTIONS(write_opts), .complete = SK_C_OBJECT),
	SK_VERB("read", store_read, "print an object's data (or write it to --out)",
		.synopsis = "NAME", SK_POS(1, 1), SK_OPTIONS(read_opts), .complete = SK_C_OBJECT),
	SK_VERB("list", store_list, "list objects: name, size, password, modification time",
		SK_OPTIONS(list_opts)),
	SK_VERB("info", store_info, "show an object's attributes",
		.synopsis = "NAME", SK_POS(1, 1), .complete = SK_C_OBJECT),
	SK_VERB("delete", store_delete, "delete an object",
		.synopsis = "NAME", SK_POS(1, 1), SK_OPTIONS(delete_opts), .complete = SK_C_OBJECT),
	SK_VERB("check", store_check, "verify the whole store (every file, every object)",
		SK_OPTIONS(check_opts)),
	SK_VERB("reseal", store_reseal, "seal the master key again as the config says (master-key: pcrs, to their current values or --golden's)",
		SK_OPTIONS(reseal_opts)),
};

const struct sk_command sk_cmd_store = {
	.name = "store",
	.summary = "secure storage: named data objects, encrypted and authenticated",
	SK_VERBS(verbs),
};
