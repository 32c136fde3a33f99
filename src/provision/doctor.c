/* SPDX-License-Identifier: MIT */
/* seckit doctor: the device's self-check (doctor.h). */
#include "provision/doctor.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "base/err.h"
#include "base/util.h"
#include "keys/keys.h"
#include "store/trust_lock.h"
#include "trust/trust.h"
#include "trust/x509.h"

struct run {
	const struct sk_doctor_opts *o;
	sk_doctor_fn fn;
	void *arg;
	struct sk_ctx *ctx;
	struct sk_store *st;
	int64_t now;             /* the trust time certificates are checked at */
};

const char *sk_doctor_level_name(enum sk_doctor_level l)
{
	return l == SK_DOCTOR_FAIL ? "fail" : l == SK_DOCTOR_WARN ? "warn" : "ok";
}

static void finding(struct run *r, enum sk_doctor_level level, const char *check,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void finding(struct run *r, enum sk_doctor_level level, const char *check,
		    const char *fmt, ...)
{
	struct sk_doctor_finding f;
	va_list ap;

	memset(&f, 0, sizeof(f));
	f.level = level;
	snprintf(f.check, sizeof(f.check), "%s", check);
	va_start(ap, fmt);
	vsnprintf(f.detail, sizeof(f.detail), fmt, ap);
	va_end(ap);
	r->fn(&f, r->arg);
}

/* The last library error's message, consumed. */
static const char *why(void)
{
	static char msg[512];

	snprintf(msg, sizeof(msg), "%s", sk_err_msg());
	sk_err_clear();
	return msg;
}

/* ---- the store's files ---- */

static void check_mode(struct run *r, const char *path, int dir)
{
	const char *c = dir ? "store" : "master-key-file";
	struct stat sb;

	if (lstat(path, &sb) != 0) {
		finding(r, SK_DOCTOR_FAIL, c, "%s: %s", path, strerror(errno));
	} else if (dir ? !S_ISDIR(sb.st_mode) : !S_ISREG(sb.st_mode)) {
		finding(r, SK_DOCTOR_FAIL, c, "%s: not a %s", path, dir ? "directory" : "regular file");
	} else if (sb.st_uid != geteuid()) {
		finding(r, SK_DOCTOR_FAIL, c, "%s: owned by uid %u, not by uid %u who uses it",
			path, (unsigned)sb.st_uid, (unsigned)geteuid());
	} else if (dir && (sb.st_mode & 022) != 0) {
		finding(r, SK_DOCTOR_FAIL, c, "%s: mode %04o: writable by %s", path,
			(unsigned)(sb.st_mode & 07777), (sb.st_mode & 002) ? "anyone" : "its group");
	} else if (!dir && (sb.st_mode & 077) != 0) {
		finding(r, SK_DOCTOR_FAIL, c, "%s: mode %04o, not 0600: readable by others", path,
			(unsigned)(sb.st_mode & 07777));
	} else {
		finding(r, SK_DOCTOR_OK, c, "%s: owned by uid %u, mode %04o", path,
			(unsigned)sb.st_uid, (unsigned)(sb.st_mode & 07777));
	}
}

/* The master key's protection: 1 when it is sealed by the TPM. */
static int check_master_key(struct run *r, const char *dir)
{
	enum sk_mk_protection p;
	struct sk_pcr_binding pb;
	struct sk_buf blob = { 0 };
	char list[80];
	int rc;

	if (sk_store_sealed_key(dir, &p, &blob) != SK_OK) {
		finding(r, SK_DOCTOR_FAIL, "master-key", "%s", why());
		sk_buf_free(&blob);
		return 0;
	}
	rc = p == SK_MK_TPM2_PCR && sk_pcr_binding_get(blob.p, blob.len, &pb) != 0;
	sk_buf_free(&blob);
	if (p == SK_MK_TPM2) {
		finding(r, SK_DOCTOR_OK, "master-key", "sealed by the TPM");
		return 1;
	}
	if (p == SK_MK_TPM2_PCR && rc) {
		sk_pcr_list_str(pb.mask, list, sizeof(list));
		finding(r, SK_DOCTOR_OK, "master-key", "sealed by the TPM to PCRs %s (%s)", list,
			sk_bank(pb.bank)->name);
		return 1;
	}
	if (p == SK_MK_TPM2_PCR) {
		finding(r, SK_DOCTOR_FAIL, "master-key", "sealed to PCRs, but the PCR binding in master.key is malformed");
		return 1;
	}
	if (p == SK_MK_FILE)
		finding(r, SK_DOCTOR_WARN, "master-key",
			"kept in master.key, protected by its permissions only (seal it with a TPM: config master-key: tpm2)");
	else
		finding(r, SK_DOCTOR_FAIL, "master-key", "protection %u is unknown to this seckit",
			(unsigned)p);
	return 0;
}

/* ---- devices ---- */

static void check_tpm(struct run *r, const char *why_needed)
{
	const struct sk_backend_entry *e = sk_backend_entry("tpm2");
	struct sk_backend_cfg bcfg;
	struct sk_device_info d;
	struct sk_da_state da;

	if (e == NULL || e->ops == NULL || e->ops->device_info == NULL) {
		finding(r, SK_DOCTOR_FAIL, "tpm", "%s, and this build has no tpm2 backend", why_needed);
		return;
	}
	if (sk_ctx_backend_cfg(r->ctx, &bcfg) != SK_OK || e->ops->device_info(&bcfg, &d) != SK_OK) {
		finding(r, SK_DOCTOR_FAIL, "tpm", "not reachable (%s): %s", why_needed, why());
		return;
	}
	finding(r, SK_DOCTOR_OK, "tpm", "%s %s firmware %s, TPM %s revision %s", d.manufacturer,
		d.vendor[0] ? d.vendor : "-", d.firmware, d.family, d.revision);
	if (e->ops->da_state == NULL || e->ops->da_state(&bcfg, &da) != SK_OK) {
		finding(r, SK_DOCTOR_FAIL, "tpm-lockout", "dictionary-attack state unreadable: %s", why());
		return;
	}
	if (da.locked_out)
		finding(r, SK_DOCTOR_FAIL, "tpm-lockout",
			"in lockout: %u failed authorisations of %u allowed; one is forgotten every %u s, lockout recovery %u s",
			da.counter, da.max_tries, da.interval, da.recovery);
	else if (da.counter > 0)
		finding(r, SK_DOCTOR_WARN, "tpm-lockout",
			"%u failed authorisations of %u allowed before lockout (one is forgotten every %u s)",
			da.counter, da.max_tries, da.interval);
	else
		finding(r, SK_DOCTOR_OK, "tpm-lockout",
			"no failed authorisations, %u allowed, one forgotten every %u s, lockout recovery %u s",
			da.max_tries, da.interval, da.recovery);
}

/* A PKCS#11 module is a shared object exporting C_GetFunctionList: looked
 * at before the backend loads it, so that a file that is not a module is
 * named as such. */
static int check_pkcs11_module(struct run *r, const char *path)
{
	void *h;
	int ok = 0;

	if (access(path, R_OK) != 0) {
		finding(r, SK_DOCTOR_FAIL, "pkcs11", "module %s: %s", path, strerror(errno));
		return 0;
	}
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		const char *e = dlerror();

		finding(r, SK_DOCTOR_FAIL, "pkcs11", "module %s: not loadable: %s", path, e ? e : "?");
		return 0;
	}
	if (dlsym(h, "C_GetFunctionList") == NULL) {
		finding(r, SK_DOCTOR_FAIL, "pkcs11", "module %s: no C_GetFunctionList: not a PKCS#11 module",
			path);
	} else {
		finding(r, SK_DOCTOR_OK, "pkcs11", "module %s: loadable, exports C_GetFunctionList", path);
		ok = 1;
	}
	dlclose(h);
	return ok;
}

/* The token the configuration names (the only one when it names none):
 * present, and its user PIN's state, through the backend without a
 * login. */
static void check_pkcs11_token(struct run *r)
{
	const struct sk_backend_entry *e = sk_backend_entry("pkcs11");
	struct sk_backend_cfg bcfg;
	struct sk_device_info d;
	enum sk_doctor_level lv;
	char what[200];

	if (e == NULL || e->ops == NULL || e->ops->device_info == NULL) {
		finding(r, SK_DOCTOR_FAIL, "pkcs11-token", "this build has no pkcs11 backend");
		return;
	}
	if (sk_ctx_backend_cfg(r->ctx, &bcfg) != SK_OK || e->ops->device_info(&bcfg, &d) != SK_OK) {
		finding(r, SK_DOCTOR_FAIL, "pkcs11-token", "%s", why());
		return;
	}
	snprintf(what, sizeof(what), "token '%s' (%s %s, serial %s) in slot %lu", d.token,
		 d.manufacturer[0] ? d.manufacturer : "-", d.vendor[0] ? d.vendor : "-",
		 d.serial[0] ? d.serial : "-", d.slot);
	switch (d.pin) {
	case SK_PIN_OK:
		finding(r, SK_DOCTOR_OK, "pkcs11-token", "%s: present, user PIN set", what);
		return;
	case SK_PIN_LOCKED:
		finding(r, SK_DOCTOR_FAIL, "pkcs11-token", "%s: the user PIN is locked (the security officer must reset it)",
			what);
		return;
	case SK_PIN_NOT_SET:
		finding(r, SK_DOCTOR_FAIL, "pkcs11-token", "%s: no user PIN set (token not enrolled)", what);
		return;
	default:
		lv = SK_DOCTOR_WARN;
		break;
	}
	finding(r, lv, "pkcs11-token", "%s: %s", what,
		d.pin == SK_PIN_FINAL_TRY ? "one more wrong user PIN locks it" :
		d.pin == SK_PIN_COUNT_LOW ? "a wrong user PIN was entered since the last good one" :
					    "the user PIN must be changed (initial or expired)");
}

/* ---- what the store holds ---- */

static void check_clock(struct run *r)
{
	char a[32], b[32];
	int64_t seen;

	if (sk_trust_clock_seen(r->st, &seen) != SK_OK) {
		finding(r, SK_DOCTOR_FAIL, "clock", "the store's last-seen time: %s", why());
		return;
	}
	sk_time_format(r->o->now, a, sizeof(a));
	if (seen == 0) {
		finding(r, SK_DOCTOR_OK, "clock", "system time %s; the store has seen no time yet", a);
		return;
	}
	sk_time_format(seen, b, sizeof(b));
	if (r->o->now < seen)
		finding(r, SK_DOCTOR_FAIL, "clock",
			"system time %s is behind the store's last-seen time %s (the clock was set back or lost)",
			a, b);
	else
		finding(r, SK_DOCTOR_OK, "clock", "system time %s, store last saw %s", a, b);
}

static void check_cert_dates(struct run *r, const char *check, const char *what, X509 *x)
{
	int64_t t;
	char when[32];

	if (sk_asn1_time_epoch(X509_get0_notAfter(x), &t) != SK_OK) {
		finding(r, SK_DOCTOR_FAIL, check, "%s: unreadable notAfter: %s", what, why());
		return;
	}
	sk_time_format(t, when, sizeof(when));
	if (t < r->now)
		finding(r, SK_DOCTOR_FAIL, check, "%s expired on %s", what, when);
	else if (t - r->now <= (int64_t)r->o->expiry_warn_days * 86400)
		finding(r, SK_DOCTOR_WARN, check, "%s expires on %s, in %lld days", what, when,
			(long long)((t - r->now) / 86400));
	else
		finding(r, SK_DOCTOR_OK, check, "%s valid until %s", what, when);
}

/* Roles the device needs (CLI.md "Roles"): keys, the cloud root a
 * certificate.  The OEM payload key may be given per call: its absence
 * is a warning; the device certificate's dates are checked with the
 * certificates. */
static void check_roles(struct run *r, const struct sk_policy *pol)
{
	static const struct {
		enum sk_role role;
		int cert;
		enum sk_doctor_level missing;
	} roles[] = {
		{ SK_ROLE_DEVICE_KEY, 0, SK_DOCTOR_FAIL },
		{ SK_ROLE_OEM_ROOT, 0, SK_DOCTOR_FAIL },
		{ SK_ROLE_OEM_PAYLOAD, 0, SK_DOCTOR_WARN },
		{ SK_ROLE_OEM_COMMAND, 0, SK_DOCTOR_FAIL },
		{ SK_ROLE_CLOUD_ROOT, 1, SK_DOCTOR_FAIL },
	};
	char check[300];
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(roles); i++) {
		const char *name = pol->role[roles[i].role];
		struct sk_keyinfo k;
		struct sk_cert c;
		int rc;

		snprintf(check, sizeof(check), "role:%s", sk_role_key(roles[i].role));
		memset(&k, 0, sizeof(k));
		memset(&c, 0, sizeof(c));
		rc = roles[i].cert ? sk_cert_get(r->ctx, name, &c) : sk_key_stat(r->ctx, name, &k);
		if (rc == SK_OK)
			finding(r, SK_DOCTOR_OK, check, "%s '%s' present", roles[i].cert ? "certificate" : "key",
				name);
		else if (rc == SK_ENOTFOUND)
			finding(r, roles[i].missing, check, "%s '%s' not provisioned",
				roles[i].cert ? "certificate" : "key", name);
		else
			finding(r, SK_DOCTOR_FAIL, check, "'%s': %s", name, why());
		sk_err_clear();
		sk_cert_free(&c);
		sk_keyinfo_free(&k);
	}
}

static int cert_one(const struct sk_cert *c, void *arg)
{
	struct run *r = arg;
	char check[300], what[300];

	if (c->x509 == NULL)
		return SK_OK;
	snprintf(check, sizeof(check), "cert:%s", c->name);
	snprintf(what, sizeof(what), "%s certificate", sk_cert_kind_name(c->kind));
	if (c->revoked)
		finding(r, SK_DOCTOR_FAIL, check, "%s is revoked (in the store's CRL)", what);
	else
		check_cert_dates(r, check, what, c->x509);
	return SK_OK;
}

static int crl_count(const struct sk_crl_entry *e, void *arg)
{
	(void)e;
	(*(unsigned *)arg)++;
	return SK_OK;
}

static int pw_count(const struct sk_obj_info *info, void *arg)
{
	(void)info;
	(*(unsigned *)arg)++;
	return SK_OK;
}

static void check_trust(struct run *r)
{
	struct sk_crl *crl = NULL;
	unsigned n = 0;
	uint64_t since;
	char when[32];

	if (sk_cert_list(r->ctx, (1u << SK_CERT_PROVISIONED) | (1u << SK_CERT_CA), cert_one, r) != SK_OK)
		finding(r, SK_DOCTOR_FAIL, "cert", "listing the certificates: %s", why());
	if (sk_trust_locked(r->st, &since) != SK_OK) {
		finding(r, SK_DOCTOR_FAIL, "trust-lock", "%s", why());
	} else if (since == 0) {
		finding(r, SK_DOCTOR_WARN, "trust-lock",
			"the trust anchors are not locked: anyone with the store may replace them (provision locks them)");
	} else {
		sk_time_format((int64_t)since, when, sizeof(when));
		finding(r, SK_DOCTOR_OK, "trust-lock", "locked since %s: anchors change only by STP", when);
	}
	/* The store's CRL is a list of revoked certificates that STPs add to:
	 * it has no issuer's nextUpdate to be past. */
	if (sk_crl_load(r->st, &crl) != SK_OK || sk_crl_each(crl, crl_count, &n) != SK_OK)
		finding(r, SK_DOCTOR_FAIL, "crl", "%s", why());
	else
		finding(r, SK_DOCTOR_OK, "crl", "%u revoked certificate%s (kept by STPs, no nextUpdate)", n,
			n == 1 ? "" : "s");
	sk_crl_free(crl);
	n = 0;
	if (sk_store_list(r->st, SK_NS_PASSWORD, pw_count, &n) != SK_OK)
		finding(r, SK_DOCTOR_FAIL, "passwords", "%s", why());
	else
		finding(r, SK_DOCTOR_OK, "passwords",
			"%u password object%s; whether a secret is weak or a default cannot be known (only scrypt records are kept)",
			n, n == 1 ? "" : "s");
}

int sk_doctor(struct sk_ctx *ctx, const struct sk_doctor_opts *o, sk_doctor_fn fn, void *arg)
{
	const struct sk_policy *pol;
	const char *dir, *bname;
	char path[4096];
	struct run r;
	int rc, sealed = 0, tpm_backend;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.fn = fn;
	r.arg = arg;
	r.ctx = ctx;
	r.now = o->now;
	if ((rc = sk_ctx_store_dir(ctx, &dir)) != SK_OK || (rc = sk_ctx_policy(ctx, &pol)) != SK_OK ||
	    (rc = sk_ctx_backend_name(ctx, &bname)) != SK_OK)
		return rc;
	tpm_backend = sk_backend_seals(bname) == SK_MK_TPM2;
	check_mode(&r, dir, 1);
	snprintf(path, sizeof(path), "%s/master.key", dir);
	if (access(path, F_OK) == 0) {
		check_mode(&r, path, 0);
		sealed = check_master_key(&r, dir);
	}
	if (tpm_backend || sealed)
		check_tpm(&r, tpm_backend ? "the backend is tpm2" : "the master key is sealed by it");
	if (o->pkcs11_module != NULL && check_pkcs11_module(&r, o->pkcs11_module))
		check_pkcs11_token(&r);
	if (access(path, F_OK) != 0) {
		finding(&r, SK_DOCTOR_FAIL, "store-open", "%s: no store (not provisioned)", dir);
		return SK_OK;
	}
	if (sk_ctx_store(ctx, 0, &r.st) != SK_OK) {
		finding(&r, SK_DOCTOR_FAIL, "store-open", "%s", why());
		return SK_OK;
	}
	check_clock(&r);
	if (sk_trust_time(r.st, pol->clock, &r.now) != SK_OK)
		finding(&r, SK_DOCTOR_FAIL, "clock", "trust time: %s", why());
	check_roles(&r, pol);
	check_trust(&r);
	return SK_OK;
}
