/* SPDX-License-Identifier: MIT */
#include "ctx.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "util.h"

void sk_ctx_init(struct sk_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	sk_config_defaults(&ctx->cfg);
}

void sk_ctx_free(struct sk_ctx *ctx)
{
	sk_backend_close(ctx->be);
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
		path = getenv("SECKIT_CONFIG");
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
	const char *e = getenv(env);

	if (opt != NULL && opt[0] != '\0')
		return opt;
	if (e != NULL && e[0] != '\0')
		return e;
	return cfg != NULL ? cfg : def;
}

int sk_ctx_store(struct sk_ctx *ctx, int create, struct sk_store **out)
{
	struct sk_store_opts opts;
	int rc;

	if (ctx->store != NULL) {
		*out = ctx->store;
		return SK_OK;
	}
	if ((rc = sk_ctx_config(ctx)) != SK_OK)
		return rc;
	if (ctx->store_dir == NULL) {
		ctx->store_dir = sk_strdup(pick(ctx->opt_store, "SECKIT_STORE", ctx->cfg.store,
						SK_DEFAULT_STORE));
		if (ctx->store_dir == NULL)
			return SK_EFAIL;
	}
	opts.create = create;
	opts.lock_timeout = ctx->cfg.lock_timeout;
	if ((rc = sk_store_open(ctx->store_dir, &opts, &ctx->store)) != SK_OK)
		return rc;
	*out = ctx->store;
	return SK_OK;
}

int sk_ctx_backend(struct sk_ctx *ctx, struct sk_backend **out)
{
	struct sk_backend_cfg bcfg;
	int rc;

	if (ctx->be != NULL) {
		*out = ctx->be;
		return SK_OK;
	}
	if ((rc = sk_ctx_config(ctx)) != SK_OK)
		return rc;
	if (ctx->backend_name == NULL) {
		ctx->backend_name = sk_strdup(pick(ctx->opt_backend, "SECKIT_BACKEND",
						   ctx->cfg.backend, "soft"));
		if (ctx->backend_name == NULL)
			return SK_EFAIL;
	}
	memset(&bcfg, 0, sizeof(bcfg));
	bcfg.tcti = pick(NULL, "SECKIT_TCTI", ctx->cfg.tcti, NULL);
	bcfg.tpm2_parent = ctx->cfg.tpm2_parent;
	if ((rc = sk_backend_open(ctx->backend_name, &bcfg, &ctx->be)) != SK_OK)
		return rc;
	*out = ctx->be;
	return SK_OK;
}

int sk_ctx_role(struct sk_ctx *ctx, enum sk_role role, const char **name)
{
	int rc = sk_ctx_config(ctx);

	if (rc != SK_OK)
		return rc;
	*name = ctx->cfg.roles[role] ? ctx->cfg.roles[role] : sk_role_default(role);
	return SK_OK;
}
