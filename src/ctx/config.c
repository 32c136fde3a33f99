/* SPDX-License-Identifier: MIT */
#include "ctx/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "crypto/crypto.h"
#include "crypto/pcr.h"
#include "base/err.h"
#include "base/util.h"
#include "base/yaml.h"

static const struct {
	const char *key;
	const char *def;
} roles[SK_ROLE_COUNT] = {
	[SK_ROLE_DEVICE_KEY] = { "device-key", "device" },
	[SK_ROLE_OEM_ROOT] = { "oem-root", "oem-root" },
	[SK_ROLE_OEM_PAYLOAD] = { "oem-payload", "oem-payload" },
	[SK_ROLE_OEM_COMMAND] = { "oem-command", "oem-command" },
	[SK_ROLE_CLOUD_ROOT] = { "cloud-root", "cloud-root" },
	[SK_ROLE_DEVICE_CERT] = { "device-cert", "device" },
	[SK_ROLE_DEVICE_CSR] = { "device-csr", "device-csr" },
};

const char *sk_role_key(enum sk_role r)
{
	return roles[r].key;
}

const char *sk_role_default(enum sk_role r)
{
	return roles[r].def;
}

void sk_config_defaults(struct sk_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->lock_timeout = 30;
	cfg->master_key_bank = SK_BANK_SHA256;
	cfg->kdf_n = 32768;
	cfg->kdf_r = 8;
	cfg->kdf_p = 1;
}

void sk_config_free(struct sk_config *cfg)
{
	size_t i;

	free(cfg->file);
	free(cfg->backend);
	free(cfg->store);
	free(cfg->tcti);
	free(cfg->pkcs11_module);
	free(cfg->pkcs11_token);
	free(cfg->pkcs11_pin);
	free(cfg->digest);
	free(cfg->cipher);
	for (i = 0; i < SK_ROLE_COUNT; i++)
		free(cfg->roles[i]);
	sk_config_defaults(cfg);
}

static int set_str(const struct sk_ydoc *doc, const struct sk_ynode *n, char **dst)
{
	const char *s;
	int rc = sk_y_str(doc, n, &s);

	if (rc != SK_OK)
		return rc;
	if (s[0] == '\0')
		return sk_yerr(doc, n, "expected a non-empty string");
	free(*dst);
	*dst = sk_strdup(s);
	return *dst ? SK_OK : SK_EFAIL;
}

static int f_backend(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	struct sk_config *cfg = arg;
	int i, rc = sk_y_enum(doc, n, sk_backend_names, &i);

	return rc ? rc : set_str(doc, n, &cfg->backend);
}

static int f_store(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	return set_str(doc, n, &((struct sk_config *)arg)->store);
}

static int f_tcti(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	return set_str(doc, n, &((struct sk_config *)arg)->tcti);
}

static int f_p11_module(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	return set_str(doc, n, &((struct sk_config *)arg)->pkcs11_module);
}

static int f_p11_token(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	return set_str(doc, n, &((struct sk_config *)arg)->pkcs11_token);
}

static int f_p11_pin(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	return set_str(doc, n, &((struct sk_config *)arg)->pkcs11_pin);
}

static const struct sk_yfield pkcs11_fields[] = {
	{ "module", f_p11_module },
	{ "token", f_p11_token },
	{ "pin", f_p11_pin },
};

/* pkcs11: {module: PATH, token: LABEL, pin: SPEC} */
static int f_pkcs11(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	return sk_y_walk(doc, n, pkcs11_fields, SK_ARRAY_SIZE(pkcs11_fields), arg, "pkcs11", 0);
}

static int f_tpm2_parent(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	uint32_t v;

	/* A persistent handle: 0x81000000 to 0x81ffffff (TPM 2.0 Part 2). */
	if (n->type != SK_Y_SCALAR || sk_parse_handle(n->val, &v) != 0)
		return sk_yerr(doc, n, "expected a persistent handle from 0x81000000 to 0x81ffffff, found '%s'",
			       n->type == SK_Y_SCALAR ? n->val : "a non-scalar");
	((struct sk_config *)arg)->tpm2_parent = v;
	return SK_OK;
}

/* auto, file, or the name of a backend that seals (the table's seals, so
 * a backend that learns to seal is accepted here without a change). */
static int f_mk_protection(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	const struct sk_backend_entry *e, *by[8];
	const char *names[2 + 8 + 1] = { "auto", "file" };
	struct sk_config *cfg = arg;
	size_t k = 0;
	int i, rc;

	for (e = sk_backend_table; e->name != NULL && k < 8; e++)
		if (e->seals != 0) {
			by[k] = e;
			names[2 + k++] = e->name;
		}
	names[2 + k] = NULL;
	if ((rc = sk_y_enum(doc, n, names, &i)) != SK_OK)
		return rc;
	cfg->master_key = i == 0 ? SK_MASTER_AUTO : i == 1 ? SK_MASTER_FILE : SK_MASTER_SEALED;
	cfg->master_key_seal = i >= 2 ? by[i - 2]->seals : 0;
	return SK_OK;
}

static int f_mk_pcrs(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	struct sk_config *cfg = arg;
	const char *s;
	char why[200];
	int rc;

	if ((rc = sk_y_str(doc, n, &s)) != SK_OK)
		return rc;
	if (sk_pcr_list(s, &cfg->master_key_pcrs) != SK_OK) {
		snprintf(why, sizeof(why), "%s", sk_err_msg());
		return sk_yerr(doc, n, "%s", why);
	}
	return SK_OK;
}

static int f_mk_bank(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	const char *s;
	int rc;

	if ((rc = sk_y_word(doc, n, SK_BANK_NAMES, &s)) != SK_OK)
		return rc;
	return sk_bank_by_name(s, &((struct sk_config *)arg)->master_key_bank);
}

static const struct sk_yfield mk_fields[] = {
	{ "protection", f_mk_protection },
	{ "pcrs", f_mk_pcrs },
	{ "pcr-bank", f_mk_bank },
};

/* master-key: PROTECTION, or a map of protection, pcrs and pcr-bank (the
 * master key sealed to PCRs: only with a protection that seals). */
static int f_master_key(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	struct sk_config *cfg = arg;
	const struct sk_ynode *p;
	int rc;

	if (n->type != SK_Y_MAP)
		return f_mk_protection(doc, n, arg);
	if ((rc = sk_y_walk(doc, n, mk_fields, SK_ARRAY_SIZE(mk_fields), arg, "master-key", 0)) != SK_OK)
		return rc;
	if ((p = sk_y_get(n, "protection")) == NULL)
		return sk_yerr(doc, n, "master-key: protection is missing");
	if (cfg->master_key_pcrs != 0 && cfg->master_key != SK_MASTER_SEALED)
		return sk_yerr(doc, p, "master-key: pcrs needs the protection of a backend that seals (protection: tpm2)");
	if (cfg->master_key_pcrs == 0 && sk_y_get(n, "pcr-bank") != NULL)
		return sk_yerr(doc, sk_y_get(n, "pcr-bank"), "master-key: pcr-bank needs pcrs");
	return SK_OK;
}

static int f_lock_timeout(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	uint64_t v;
	int rc = sk_y_uint(doc, n, 0, 3600, &v);

	if (rc == SK_OK)
		((struct sk_config *)arg)->lock_timeout = (unsigned)v;
	return rc;
}

static int f_role(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg, enum sk_role r)
{
	struct sk_config *cfg = arg;
	const char *s;
	int rc = sk_y_str(doc, n, &s);

	if (rc != SK_OK)
		return rc;
	if (!sk_name_valid(s))
		return sk_yerr(doc, n, "'%s' is not a valid key or certificate name", s);
	return set_str(doc, n, &cfg->roles[r]);
}

#define ROLE_FN(fn, r) \
	static int fn(const struct sk_ydoc *d, const struct sk_ynode *n, void *a) \
	{ return f_role(d, n, a, r); }
ROLE_FN(f_role_device, SK_ROLE_DEVICE_KEY)
ROLE_FN(f_role_root, SK_ROLE_OEM_ROOT)
ROLE_FN(f_role_payload, SK_ROLE_OEM_PAYLOAD)
ROLE_FN(f_role_command, SK_ROLE_OEM_COMMAND)
ROLE_FN(f_role_cloud, SK_ROLE_CLOUD_ROOT)
ROLE_FN(f_role_device_cert, SK_ROLE_DEVICE_CERT)
ROLE_FN(f_role_device_csr, SK_ROLE_DEVICE_CSR)

static const struct sk_yfield role_fields[] = {
	{ "device-key", f_role_device },
	{ "oem-root", f_role_root },
	{ "oem-payload", f_role_payload },
	{ "oem-command", f_role_command },
	{ "cloud-root", f_role_cloud },
	{ "device-cert", f_role_device_cert },
	{ "device-csr", f_role_device_csr },
};

static int f_roles(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	return sk_y_walk(doc, n, role_fields, SK_ARRAY_SIZE(role_fields), arg, "roles", 0);
}

static int f_digest(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	const char *s;
	int rc = sk_y_word(doc, n, sk_md_names(SK_MD_DEFAULT), &s);

	return rc ? rc : set_str(doc, n, &((struct sk_config *)arg)->digest);
}

static int f_cipher(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	static const char *const names[] = { "aes-256-ctr", "aes-256-cbc", "aes-256-gcm", NULL };
	int i, rc = sk_y_enum(doc, n, names, &i);

	return rc ? rc : set_str(doc, n, &((struct sk_config *)arg)->cipher);
}

static const struct sk_yfield defaults_fields[] = {
	{ "digest", f_digest },
	{ "cipher", f_cipher },
};

static int f_defaults(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	return sk_y_walk(doc, n, defaults_fields, SK_ARRAY_SIZE(defaults_fields), arg,
			 "defaults", 0);
}

static int f_kdf_n(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	struct sk_config *cfg = arg;
	uint64_t v;
	int rc = sk_y_uint(doc, n, 1024, 1u << 22, &v);

	if (rc != SK_OK)
		return rc;
	if (v & (v - 1))
		return sk_yerr(doc, n, "expected a power of two, found %llu", (unsigned long long)v);
	cfg->kdf_n = v;
	return SK_OK;
}

static int f_kdf_r(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	return sk_y_uint(doc, n, 1, 32, &((struct sk_config *)arg)->kdf_r);
}

static int f_kdf_p(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	return sk_y_uint(doc, n, 1, 16, &((struct sk_config *)arg)->kdf_p);
}

static const struct sk_yfield kdf_fields[] = {
	{ "n", f_kdf_n },
	{ "r", f_kdf_r },
	{ "p", f_kdf_p },
};

static int f_kdf(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	return sk_y_walk(doc, n, kdf_fields, SK_ARRAY_SIZE(kdf_fields), arg, "password-kdf", 0);
}

static int f_clock(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	static const char *const names[] = { "system", "monotonic", NULL };
	int i, rc = sk_y_enum(doc, n, names, &i);

	if (rc == SK_OK)
		((struct sk_config *)arg)->clock = i == 1 ? SK_CLOCK_MONOTONIC : SK_CLOCK_SYSTEM;
	return rc;
}

static const struct sk_yfield top_fields[] = {
	{ "backend", f_backend },
	{ "store", f_store },
	{ "tcti", f_tcti },
	{ "tpm2-parent", f_tpm2_parent },
	{ "pkcs11", f_pkcs11 },
	{ "master-key", f_master_key },
	{ "lock-timeout", f_lock_timeout },
	{ "roles", f_roles },
	{ "defaults", f_defaults },
	{ "password-kdf", f_kdf },
	{ "clock", f_clock },
};

int sk_config_load(const char *path, struct sk_config *cfg)
{
	struct sk_ydoc doc;
	int rc;

	rc = sk_yaml_load(path, &doc);
	if (rc != SK_OK)
		return rc == SK_EFAIL ? sk_err_wrap(SK_ECONFIG, "config") : rc;
	if (doc.root != NULL)
		rc = sk_y_walk(&doc, doc.root, top_fields, SK_ARRAY_SIZE(top_fields), cfg,
			       "the config", 0);
	if (rc == SK_OK && (cfg->file = sk_strdup(path)) == NULL)
		rc = SK_EFAIL;
	sk_yaml_free(&doc);
	return rc;
}
