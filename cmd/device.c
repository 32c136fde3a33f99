/* SPDX-License-Identifier: MIT */
/* The device behind a backend (device.h): --version -v, key handles, key evict. */
#include "device.h"

#include <stdio.h>
#include <string.h>

#include <openssl/opensslv.h>
#include <yaml.h>

#include "backend/backend.h"
#include "base/err.h"

#ifndef SECKIT_VERSION
#define SECKIT_VERSION "0.0.0-dev"
#endif

/* The persistent handle the store's objects of a backend with handles
 * live under: the configured parent (tpm2-parent), or 0. */
static int store_handle(struct sk_ctx *ctx, uint32_t *h)
{
	struct sk_backend_cfg bcfg;
	int rc;

	*h = 0;
	if ((rc = sk_ctx_backend_cfg(ctx, &bcfg)) != SK_OK)
		return rc;
	*h = bcfg.tpm2_parent;
	return SK_OK;
}

int sk_key_handle(struct sk_ctx *ctx, const char *backend, uint32_t *h)
{
	*h = 0;
	return sk_backend_has_handles(backend) ? store_handle(ctx, h) : SK_OK;
}

/* ---- --version ---- */

static void json_names(struct sk_json *j, const char *key, const char *const *v, size_t n)
{
	size_t i;

	sk_json_key(j, key);
	sk_json_arr(j);
	for (i = 0; i < n; i++)
		sk_json_str(j, v[i]);
	sk_json_end_arr(j);
}

static void text_names(const char *name, const char *what, const char *const *v, size_t n)
{
	size_t i;

	printf("%s %s:", name, what);
	for (i = 0; i < n; i++)
		printf(" %s", v[i]);
	printf("%s\n", n ? "" : " -");
}

/* The message of the last error without a leading "NAME: " (the line
 * names the backend already). */
static const char *reason(const char *name)
{
	const char *m = sk_err_msg();
	size_t n = strlen(name);

	if (strncmp(m, name, n) == 0 && strncmp(m + n, ": ", 2) == 0)
		m += n + 2;
	return m;
}

static void device(struct sk_ctx *ctx, struct sk_json *j, const struct sk_backend_entry *e)
{
	struct sk_backend_cfg bcfg;
	struct sk_device_info d;
	int rc;

	if ((rc = sk_ctx_backend_cfg(ctx, &bcfg)) == SK_OK)
		rc = e->ops->device_info(&bcfg, &d);
	if (ctx->json) {
		sk_json_key(j, e->name);
		sk_json_obj(j);
		sk_json_kbool(j, "reachable", rc == SK_OK);
		if (rc != SK_OK) {
			sk_json_kstr(j, "reason", reason(e->name));
		} else {
			sk_json_kstr(j, "manufacturer", d.manufacturer);
			sk_json_kstr(j, "vendor", d.vendor);
			sk_json_kstr(j, "firmware", d.firmware);
			sk_json_kstr(j, "spec_family", d.family);
			sk_json_kuint(j, "spec_level", d.level);
			sk_json_kstr(j, "spec_revision", d.revision);
			json_names(j, "pcr_banks", d.banks, d.nbanks);
			if (d.token[0]) {
				sk_json_kstr(j, "token", d.token);
				sk_json_kstr(j, "serial", d.serial);
				sk_json_kuint(j, "slot", d.slot);
				sk_json_kstr(j, "user_pin", sk_pin_state_name(d.pin));
			}
			json_names(j, "algorithms", d.algs, d.nalgs);
			json_names(j, "missing_algorithms", d.lacks, d.nlacks);
		}
		sk_json_end_obj(j);
	} else if (rc != SK_OK) {
		printf("%s: not reachable: %s\n", e->name, reason(e->name));
	} else {
		printf("%s manufacturer: %s\n", e->name, d.manufacturer);
		printf("%s %s: %s\n", e->name, d.token[0] ? "model" : "vendor", d.vendor[0] ? d.vendor : "-");
		printf("%s firmware: %s\n", e->name, d.firmware);
		if (d.token[0]) {
			/* A token: the module's Cryptoki version, the token the
			 * configuration names and its user PIN's state. */
			printf("%s spec: %s %s\n", e->name, d.family, d.revision);
			printf("%s token: '%s' in slot %lu, serial %s\n", e->name, d.token, d.slot,
			       d.serial[0] ? d.serial : "-");
			printf("%s user pin: %s\n", e->name, sk_pin_state_name(d.pin));
		} else {
			printf("%s spec: %s level %u revision %s\n", e->name, d.family, d.level, d.revision);
			text_names(e->name, "pcr banks", d.banks, d.nbanks);
		}
		text_names(e->name, "algorithms", d.algs, d.nalgs);
		text_names(e->name, "missing algorithms", d.lacks, d.nlacks);
	}
	/* Not reachable is something --version reports, not a failure. */
	sk_err_clear();
}

int sk_version(struct sk_ctx *ctx)
{
	const struct sk_backend_entry *e;
	struct sk_json j;

	if (!ctx->json) {
		printf("seckit %s\n", SECKIT_VERSION);
		printf("openssl: %s\n", OPENSSL_FULL_VERSION_STR);
		printf("libyaml: %s\n", yaml_get_version_string());
		for (e = sk_backend_table; e->name != NULL; e++)
			printf("backend %s: %s\n", e->name,
			       e->ops != NULL ? "yes" : "no (not in this build)");
		for (e = sk_backend_table; ctx->verbose && e->name != NULL; e++)
			if (e->ops != NULL && e->ops->device_info != NULL)
				device(ctx, NULL, e);
		return SK_OK;
	}
	sk_json_init(&j, stdout);
	sk_json_obj(&j);
	sk_json_kstr(&j, "version", SECKIT_VERSION);
	sk_json_kstr(&j, "openssl", OPENSSL_FULL_VERSION_STR);
	sk_json_kstr(&j, "libyaml", yaml_get_version_string());
	sk_json_key(&j, "backends");
	sk_json_arr(&j);
	for (e = sk_backend_table; e->name != NULL; e++) {
		sk_json_obj(&j);
		sk_json_kstr(&j, "name", e->name);
		sk_json_kbool(&j, "built", e->ops != NULL);
		sk_json_end_obj(&j);
	}
	sk_json_end_arr(&j);
	if (ctx->verbose) {
		sk_json_key(&j, "devices");
		sk_json_obj(&j);
		for (e = sk_backend_table; e->name != NULL; e++)
			if (e->ops != NULL && e->ops->device_info != NULL)
				device(ctx, &j, e);
		sk_json_end_obj(&j);
	}
	sk_json_end_obj(&j);
	sk_json_done(&j);
	return SK_OK;
}

/* ---- key handles / key evict ---- */

int sk_key_handles(struct sk_ctx *ctx)
{
	const struct sk_backend_entry *e = sk_backend_with_handles();
	struct sk_backend_cfg bcfg;
	uint32_t h[SK_MAX_HANDLES], used, sealed;
	struct sk_json j;
	char hex[16];
	size_t n, i;
	int rc;

	if (e == NULL)
		return SK_EBACKEND;
	if ((rc = sk_ctx_backend_cfg(ctx, &bcfg)) != SK_OK ||
	    (rc = sk_ctx_store_sealed_handle(ctx, &sealed)) != SK_OK ||
	    (rc = e->ops->handles(&bcfg, h, &n)) != SK_OK)
		return rc;
	used = bcfg.tpm2_parent;
	if (ctx->json) {
		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_key(&j, "handles");
		sk_json_arr(&j);
	}
	for (i = 0; i < n; i++) {
		snprintf(hex, sizeof(hex), "0x%08x", (unsigned)h[i]);
		if (ctx->json) {
			sk_json_obj(&j);
			sk_json_kstr(&j, "handle", hex);
			sk_json_kstr(&j, "backend", e->name);
			sk_json_kbool(&j, "used_by_store", h[i] == used || (sealed && h[i] == sealed));
			sk_json_end_obj(&j);
		} else {
			printf("%s %s%s\n", hex, e->name,
			       h[i] == used ? " used by this store (tpm2-parent)" :
			       sealed && h[i] == sealed ? " used by this store (sealed master key)" : "");
		}
	}
	if (ctx->json) {
		sk_json_end_arr(&j);
		sk_json_end_obj(&j);
		sk_json_done(&j);
	}
	return SK_OK;
}

/* SK_ENOTFOUND unless the device of e holds persistent handle h. */
static int present(const struct sk_backend_entry *e, const struct sk_backend_cfg *bcfg, uint32_t h)
{
	uint32_t hs[SK_MAX_HANDLES];
	size_t n, i;
	int rc;

	if ((rc = e->ops->handles(bcfg, hs, &n)) != SK_OK)
		return rc;
	for (i = 0; i < n; i++)
		if (hs[i] == h)
			return SK_OK;
	return sk_err(SK_ENOTFOUND, "%s: no persistent handle 0x%08x in the TPM", e->name, (unsigned)h);
}

int sk_key_evict(struct sk_ctx *ctx, const char *handle, int force)
{
	const struct sk_backend_entry *e;
	struct sk_backend_cfg bcfg;
	uint32_t h, sealed;
	int rc;

	if (sk_parse_handle(handle, &h) != 0)
		return sk_usage_error("'%s' is not a persistent handle (0x81000000 to 0x81ffffff)",
				      handle);
	if ((e = sk_backend_with_handles()) == NULL)
		return SK_EBACKEND;
	if ((rc = sk_ctx_backend_cfg(ctx, &bcfg)) != SK_OK || (rc = present(e, &bcfg, h)) != SK_OK)
		return rc;
	if (h == bcfg.tpm2_parent && !force)
		return sk_err(SK_EVERIFY, "0x%08x is the parent of this store's TPM objects (tpm2-parent): evicting it makes every tpm2 key unusable (--%s to evict anyway)",
			      (unsigned)h, sk_optdefs[OPT_force].name);
	if ((rc = sk_ctx_store_sealed_handle(ctx, &sealed)) != SK_OK)
		return rc;
	if (sealed && h == sealed && !force)
		return sk_err(SK_EVERIFY, "0x%08x keeps this store's sealed master key: evicting it makes the store unreadable for good (--%s to evict anyway)",
			      (unsigned)h, sk_optdefs[OPT_force].name);
	return e->ops->evict(&bcfg, h);
}
