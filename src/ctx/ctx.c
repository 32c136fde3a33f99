/* SPDX-License-Identifier: MIT */
#include "ctx/ctx.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/util.h"

const char *sk_env(const char *name)
{
	return getenv(name);
}

void sk_ctx_init(struct sk_ctx *ctx)
{
	const char *t = sk_env("TMPDIR");

	memset(ctx, 0, sizeof(*ctx));
	sk_config_defaults(&ctx->cfg);
	ctx->tmpdir = t != NULL && t[0] != '\0' ? t : "/tmp";
}

void sk_ctx_free(struct sk_ctx *ctx)
{
	sk_backend_close(ctx->be);
	sk_backend_close(ctx->sealer);
	sk_store_close(ctx->store);
	sk_config_free(&ctx->cfg);
	free(ctx->store_dir);
	free(ctx->backend_name);
	memset(ctx, 0, sizeof(*ctx));
}

int sk_ctx_config(struct sk_ctx *ctx)
{
	const char *path = ctx->opt_config;
	int rc;

	if (ctx->cfg_loaded)
		return SK_OK;
	if (path == NULL)
		path = sk_env("SECKIT_CONFIG");
	if (path != NULL && path[0] == '\0')
		path = NULL;
	/* The built-in location is optional; a named file must exist. */
	if (path == NULL && access(SK_DEFAULT_CONFIG, F_OK) == 0)
		path = SK_DEFAULT_CONFIG;
	if (path != NULL && (rc = sk_config_load(path, &ctx->cfg)) != SK_OK)
		return rc;
	ctx->cfg_loaded = 1;
	return SK_OK;
}

static const char *pick(const char *opt, const char *env, const char *cfg, const char *def)
{
	const char *e = sk_env(env);

	if (opt != NULL && opt[0] != '\0')
		return opt;
	if (e != NULL && e[0] != '\0')
		return e;
	return cfg != NULL ? cfg : def;
}

int sk_ctx_backend_name(struct sk_ctx *ctx, const char **out)
{
	const char *env = sk_env("SECKIT_BACKEND"), *name = "soft";
	int rc, from_env = 0;

	*out = NULL;
	if (ctx->backend_name == NULL) {
		if ((rc = sk_ctx_config(ctx)) != SK_OK)
			return rc;
		if (ctx->opt_backend != NULL && ctx->opt_backend[0] != '\0') {
			name = ctx->opt_backend;
		} else if (env != NULL && env[0] != '\0') {
			name = env;
			from_env = 1;
		} else if (ctx->cfg.backend != NULL) {
			name = ctx->cfg.backend;
		}
		/* The names are the backend table's (backend.h), nowhere else. */
		rc = sk_backend_check(name);
		if (rc == SK_EUSAGE && from_env)
			return sk_err_wrap(SK_ECONFIG, "SECKIT_BACKEND");
		if (rc != SK_OK)
			return rc;
		if ((ctx->backend_name = sk_strdup(name)) == NULL)
			return SK_EFAIL;
	}
	*out = ctx->backend_name;
	return SK_OK;
}

/* The PIN a PKCS#11 token asks for, through the reader the layer that
 * reads secrets set (ctx->pin_fn), when the token asks. */
static int pkcs11_pin(void *arg, const char *what, struct sk_buf *pin)
{
	struct sk_ctx *ctx = arg;

	if (ctx->pin_fn == NULL)
		return sk_err(SK_EAUTH, "%s: nothing to read it with", what);
	return ctx->pin_fn(ctx, what, pin);
}

static void backend_cfg(struct sk_ctx *ctx, struct sk_backend_cfg *bcfg)
{
	memset(bcfg, 0, sizeof(*bcfg));
	bcfg->tcti = pick(ctx->opt_tcti, "SECKIT_TCTI", ctx->cfg.tcti, NULL);
	bcfg->tpm2_parent = ctx->cfg.tpm2_parent;
	bcfg->pkcs11_module = pick(ctx->opt_pkcs11_module, "SECKIT_PKCS11_MODULE",
				   ctx->cfg.pkcs11_module, NULL);
	bcfg->pkcs11_token = ctx->opt_token != NULL && ctx->opt_token[0] != '\0' ? ctx->opt_token
										 : ctx->cfg.pkcs11_token;
	bcfg->pin = pkcs11_pin;
	bcfg->pin_arg = ctx;
	bcfg->module_stderr = ctx->verbose > 0;
}

int sk_ctx_pkcs11_module(struct sk_ctx *ctx, const char **out)
{
	int rc;

	*out = NULL;
	if ((rc = sk_ctx_config(ctx)) != SK_OK)
		return rc;
	*out = pick(ctx->opt_pkcs11_module, "SECKIT_PKCS11_MODULE", ctx->cfg.pkcs11_module, NULL);
	return SK_OK;
}

/* The backend that seals master keys of protection p: the command's own
 * when it seals with p, else the backend that does, opened for this alone
 * (a soft-backend command on a TPM-sealed store still needs the TPM to
 * open the store).  Who seals is the backend table's say (backend.h),
 * never a name compared here; a key sealed to PCRs (SK_MK_TPM2_PCR) is
 * the TPM sealer's, through its seal_pcr and unseal_pcr. */
static int sealer(struct sk_ctx *ctx, enum sk_mk_protection p, struct sk_backend **out)
{
	struct sk_backend_cfg bcfg;
	int rc;

	if (p == SK_MK_TPM2_PCR)
		p = SK_MK_TPM2;
	if (ctx->be != NULL && p != SK_MK_FILE && sk_backend_protection(ctx->be) == (int)p) {
		*out = ctx->be;
		return SK_OK;
	}
	if (ctx->sealer == NULL) {
		backend_cfg(ctx, &bcfg);
		if ((rc = sk_backend_open_sealer((int)p, &bcfg, &ctx->sealer)) != SK_OK)
			return rc;
	}
	*out = ctx->sealer;
	return SK_OK;
}

/* The backend that seals or unseals a master key of protection p. */
static int mk_backend(void *arg, enum sk_mk_protection p, struct sk_backend **be)
{
	int rc;

	if ((rc = sealer(arg, p, be)) != SK_OK)
		return rc;
	if (p == SK_MK_TPM2_PCR ? (*be)->ops->seal_pcr == NULL || (*be)->ops->unseal_pcr == NULL
				: (*be)->ops->seal == NULL || (*be)->ops->unseal == NULL)
		return sk_err(SK_EUNSUPP, "backend '%s' cannot seal%s", (*be)->ops->name,
			      p == SK_MK_TPM2_PCR ? " to PCRs" : "");
	return SK_OK;
}

/* The backend's blob kept in the device (ops persist, backend.h): a
 * store's TPM-sealed master key is a persistent object, unsealed with no
 * load and no look-up of the parent.  A backend that keeps nothing: the
 * blob as sealed. */
static int mk_persist(struct sk_backend *be, struct sk_buf *tb, struct sk_buf *out)
{
	if (be->ops->persist == NULL)
		return sk_buf_add(out, tb->p, tb->len);
	return be->ops->persist(be, tb->p, tb->len, out);
}

/* A master key sealed to PCRs: the binding (crypto/pcr.h: bank, PCRs,
 * the values sealed to) followed by the backend's seal_pcr blob; the
 * binding names the PCR that changed when the TPM refuses.  Sealed to
 * the config's PCRs' current values, or (ctx->seal_to, store reseal
 * --golden) to given ones. */
static int mk_seal_pcr(struct sk_ctx *ctx, struct sk_backend *be, const uint8_t key[32],
		       struct sk_buf *blob)
{
	struct sk_pcr_binding pb = { .bank = ctx->cfg.master_key_bank, .mask = ctx->cfg.master_key_pcrs };
	const struct sk_pcr_binding *to = ctx->seal_to;
	struct sk_buf tb = { 0 }, kept = { 0 };
	int rc;

	if (to != NULL)
		pb = *to;
	if ((rc = be->ops->seal_pcr(be, pb.bank, pb.mask, key, 32, &tb, pb.vals, to != NULL)) == SK_OK &&
	    (rc = mk_persist(be, &tb, &kept)) == SK_OK &&
	    (rc = sk_pcr_binding_put(blob, &pb)) == SK_OK)
		rc = sk_buf_add(blob, kept.p, kept.len);
	if (rc != SK_OK && kept.len != 0 && be->ops->release != NULL)
		be->ops->release(be, kept.p, kept.len);
	sk_buf_free(&tb);
	sk_buf_free(&kept);
	return rc;
}

/* flags: master.key's (store.h SK_MK_*): sealed to predicted values, the
 * PCR that does not hold its value may never have held it. */
static int mk_unseal_pcr(struct sk_backend *be, unsigned flags, const uint8_t *blob, size_t n,
			 struct sk_buf *out)
{
	uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST];
	struct sk_pcr_binding pb;
	size_t used = sk_pcr_binding_get(blob, n, &pb);
	int rc, i;

	if (used == 0 || used >= n)
		return sk_err(SK_EVERIFY, "the PCR binding of the sealed master key is malformed");
	memset(cur, 0, sizeof(cur));
	rc = be->ops->unseal_pcr(be, blob + used, n - used, pb.bank, pb.mask, out, cur);
	if (rc != SK_EVERIFY || (i = sk_pcr_first_changed(&pb, (const uint8_t(*)[SK_PCR_MAX_DIGEST])cur)) < 0)
		return rc;
	if (flags & SK_MK_PREDICTED)
		return sk_err(SK_EVERIFY, "sealed to a predicted value of PCR %d, which it does not hold: not measured yet, or another image",
			      i);
	return sk_err(SK_EVERIFY, "sealed to PCR %d, which changed since", i);
}

static int mk_seal(void *arg, enum sk_mk_protection p, const uint8_t key[32], struct sk_buf *blob)
{
	struct sk_backend *be;
	struct sk_buf tb = { 0 };
	int rc;

	if ((rc = mk_backend(arg, p, &be)) != SK_OK)
		return rc;
	if (p == SK_MK_TPM2_PCR)
		return mk_seal_pcr(arg, be, key, blob);
	if ((rc = be->ops->seal(be, key, 32, &tb)) == SK_OK)
		rc = mk_persist(be, &tb, blob);
	sk_buf_free(&tb);
	return rc;
}

/* The device's copy of a sealed master key given up (store.h release). */
static void mk_release(void *arg, enum sk_mk_protection p, const uint8_t *blob, size_t n)
{
	struct sk_pcr_binding pb;
	struct sk_backend *be;
	size_t used = 0;

	if (mk_backend(arg, p, &be) != SK_OK || be->ops->release == NULL)
		return;
	if (p == SK_MK_TPM2_PCR && ((used = sk_pcr_binding_get(blob, n, &pb)) == 0 || used >= n))
		return;
	be->ops->release(be, blob + used, n - used);
}

static int mk_unseal(void *arg, enum sk_mk_protection p, unsigned flags, const uint8_t *blob,
		     size_t n, uint8_t key[32])
{
	struct sk_buf out = { 0 };
	struct sk_backend *be;
	int rc;

	if ((rc = mk_backend(arg, p, &be)) != SK_OK)
		return rc;
	rc = p == SK_MK_TPM2_PCR ? mk_unseal_pcr(be, flags, blob, n, &out) :
				   be->ops->unseal(be, blob, n, &out);
	if (rc == SK_OK && out.len != 32)
		rc = sk_err(SK_EVERIFY, "the sealed master key has the wrong size");
	if (rc == SK_OK)
		memcpy(key, out.p, 32);
	sk_buf_cleanse_free(&out);
	return rc;
}

int sk_ctx_store_dir(struct sk_ctx *ctx, const char **out)
{
	int rc;

	if ((rc = sk_ctx_config(ctx)) != SK_OK)
		return rc;
	if (ctx->store_dir == NULL) {
		ctx->store_dir = sk_strdup(pick(ctx->opt_store, "SECKIT_STORE", ctx->cfg.store,
						SK_DEFAULT_STORE));
		if (ctx->store_dir == NULL)
			return SK_EFAIL;
	}
	*out = ctx->store_dir;
	return SK_OK;
}

/* The options a store opens or is made with: how the config says a new
 * master key is kept, and the TPM's seal and unseal. */
static int store_opts(struct sk_ctx *ctx, int create, struct sk_store_opts *opts)
{
	const char *bname;
	int rc;

	/* A command that would create the store for a backend this build
	 * lacks fails before the store exists. */
	if ((rc = sk_ctx_backend_name(ctx, &bname)) != SK_OK)
		return rc;
	memset(opts, 0, sizeof(*opts));
	opts->create = create;
	opts->lock_timeout = ctx->cfg.lock_timeout;
	opts->protection = (enum sk_mk_protection)(
		ctx->cfg.master_key == SK_MASTER_SEALED ? ctx->cfg.master_key_seal :
		ctx->cfg.master_key == SK_MASTER_AUTO ? sk_backend_seals(bname) : SK_MK_FILE);
	if (ctx->cfg.master_key_pcrs != 0) {
		if (opts->protection != SK_MK_TPM2)
			return sk_err(SK_ECONFIG, "%s: master-key: only a TPM seals to PCRs",
				      ctx->cfg.file ? ctx->cfg.file : "config");
		opts->protection = SK_MK_TPM2_PCR;
	}
	/* Without a backend that seals, sealed stores cannot be opened or
	 * made (the store says so). */
	if (sk_backend_can_seal()) {
		opts->seal = mk_seal;
		opts->unseal = mk_unseal;
		opts->release = mk_release;
		opts->arg = ctx;
	}
	return SK_OK;
}

int sk_ctx_store(struct sk_ctx *ctx, int create, struct sk_store **out)
{
	struct sk_store_opts opts;
	const char *dir;
	int rc;

	if (ctx->store != NULL) {
		*out = ctx->store;
		return SK_OK;
	}
	if ((rc = sk_ctx_store_dir(ctx, &dir)) != SK_OK)
		return rc;
	if ((rc = store_opts(ctx, create, &opts)) != SK_OK)
		return rc;
	if ((rc = sk_store_open(ctx->store_dir, &opts, &ctx->store)) != SK_OK)
		return rc;
	*out = ctx->store;
	return SK_OK;
}

/* The golden values to fit the config's master-key pcrs and pcr-bank:
 * sealed to other PCRs than the config says, the store would open after
 * the update under a policy nobody chose (SK_ECONFIG). */
static int golden_fits(struct sk_ctx *ctx, const struct sk_pcr_binding *to, const char *what)
{
	char want[80], got[80];

	if (ctx->cfg.master_key_pcrs == 0)
		return sk_err(SK_ECONFIG, "%s: master-key: the config seals the master key to no PCRs (master-key pcrs), so golden values do not apply",
			      ctx->cfg.file ? ctx->cfg.file : "no config file");
	sk_pcr_list_str(ctx->cfg.master_key_pcrs, want, sizeof(want));
	sk_pcr_list_str(to->mask, got, sizeof(got));
	if (to->mask != ctx->cfg.master_key_pcrs)
		return sk_err(SK_ECONFIG, "%s: golden values of PCRs %s, but the config seals the master key to PCRs %s",
			      what, got, want);
	if (to->bank != ctx->cfg.master_key_bank)
		return sk_err(SK_ECONFIG, "%s: golden values of bank %s, but the config seals the master key in bank %s",
			      what, sk_bank(to->bank)->name, sk_bank(ctx->cfg.master_key_bank)->name);
	return SK_OK;
}

int sk_ctx_store_reseal(struct sk_ctx *ctx, const struct sk_pcr_binding *to, const char *what,
			enum sk_mk_protection *now)
{
	struct sk_store *st;
	struct sk_store_opts opts;
	int rc;

	/* The config and the golden values are checked before the store
	 * opens (the TPM unseals nothing for a call that would fail). */
	if ((rc = store_opts(ctx, 0, &opts)) != SK_OK)
		return rc;
	if (opts.protection == SK_MK_FILE)
		return sk_err(SK_ECONFIG, "%s: master-key: the config keeps the master key in a file, not sealed (master-key: tpm2)",
			      ctx->cfg.file ? ctx->cfg.file : "no config file");
	if (to != NULL && (rc = golden_fits(ctx, to, what)) != SK_OK)
		return rc;
	if ((rc = sk_ctx_store(ctx, 0, &st)) != SK_OK)
		return rc;
	ctx->seal_to = to;
	if (to != NULL)
		opts.flags |= SK_MK_PREDICTED;
	if ((rc = sk_store_reseal(st, &opts)) == SK_OK)
		*now = opts.protection;
	ctx->seal_to = NULL;
	return rc;
}

int sk_ctx_store_if_any(struct sk_ctx *ctx, struct sk_store **out)
{
	const char *dir;
	int rc;

	*out = NULL;
	if (ctx->store == NULL) {
		if ((rc = sk_ctx_store_dir(ctx, &dir)) != SK_OK)
			return rc;
		if (access(dir, F_OK) != 0)
			return SK_OK;
	}
	return sk_ctx_store(ctx, 0, out);
}

int sk_ctx_store_sealed_handle(struct sk_ctx *ctx, uint32_t *h)
{
	const struct sk_backend_entry *e = sk_backend_sealer(SK_MK_TPM2);
	enum sk_mk_protection p = SK_MK_FILE;
	struct sk_pcr_binding pb;
	struct sk_buf blob = { 0 };
	const char *dir;
	size_t used = 0;
	int rc;

	*h = 0;
	if ((rc = sk_ctx_store_dir(ctx, &dir)) != SK_OK)
		return rc;
	if (e == NULL || e->ops == NULL || e->ops->sealed_handle == NULL ||
	    sk_store_sealed_key(dir, &p, &blob) != SK_OK || blob.len == 0)
		goto out;
	if (p == SK_MK_TPM2_PCR && ((used = sk_pcr_binding_get(blob.p, blob.len, &pb)) == 0 ||
				    used >= blob.len))
		goto out;
	if (e->ops->sealed_handle(blob.p + used, blob.len - used, h) != SK_OK)
		*h = 0;
out:
	sk_buf_free(&blob);
	return SK_OK;
}

int sk_ctx_backend(struct sk_ctx *ctx, struct sk_backend **out)
{
	struct sk_backend_cfg bcfg;
	const char *name;
	int rc;

	if (ctx->be != NULL) {
		*out = ctx->be;
		return SK_OK;
	}
	if ((rc = sk_ctx_backend_name(ctx, &name)) != SK_OK)
		return rc;
	/* The backend opened to unseal the store serves the command too. */
	if (ctx->sealer != NULL && sk_backend_is(ctx->sealer, name)) {
		ctx->be = ctx->sealer;
		ctx->sealer = NULL;
		*out = ctx->be;
		return SK_OK;
	}
	backend_cfg(ctx, &bcfg);
	if ((rc = sk_backend_open(name, &bcfg, &ctx->be)) != SK_OK)
		return rc;
	*out = ctx->be;
	return SK_OK;
}

int sk_ctx_backend_cfg(struct sk_ctx *ctx, struct sk_backend_cfg *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = sk_ctx_config(ctx)) != SK_OK)
		return rc;
	backend_cfg(ctx, out);
	return SK_OK;
}

static int backend_ref_open(void *arg, struct sk_backend **out)
{
	return sk_ctx_backend(arg, out);
}

struct sk_backend_ref sk_ctx_backend_ref(struct sk_ctx *ctx)
{
	struct sk_backend_ref r = { backend_ref_open, ctx };

	return r;
}

int sk_ctx_policy(struct sk_ctx *ctx, const struct sk_policy **out)
{
	struct sk_policy *p = &ctx->policy;
	int rc, r;

	if (!ctx->policy_set) {
		if ((rc = sk_ctx_config(ctx)) != SK_OK)
			return rc;
		for (r = 0; r < SK_ROLE_COUNT; r++)
			p->role[r] = ctx->cfg.roles[r] ? ctx->cfg.roles[r] : sk_role_default(r);
		p->clock = ctx->cfg.clock;
		p->digest = ctx->cfg.digest;
		p->cipher = ctx->cfg.cipher;
		ctx->policy_set = 1;
	}
	*out = p;
	return SK_OK;
}
