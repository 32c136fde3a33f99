/* SPDX-License-Identifier: MIT */
/* `cert import`: a device's own certificate, or a CA before the lock. */
#include "trust/trust.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base/err.h"
#include "base/util.h"
#include "keys/devkey.h"
#include "keys/keys.h"
#include "trust/x509.h"

struct find_key {
	EVP_PKEY *pub;
	char name[256];
};

static int match_key(const struct sk_keyinfo *k, void *arg)
{
	struct find_key *f = arg;

	if (f->name[0] || (k->flags & SK_KEY_PUBLIC_ONLY) || k->pub == NULL ||
	    EVP_PKEY_eq(k->pub, f->pub) != 1)
		return 0;
	snprintf(f->name, sizeof(f->name), "%s", k->name);
	return 0;
}

/* The private key of the store that x certifies: the one linked to the
 * name already, the device key for the device certificate, else the
 * first (by name) whose public key x holds. */
static int key_for(struct sk_ctx *ctx, const struct sk_policy *pol, const char *name, X509 *x,
		   const struct sk_cert *old, char key[256])
{
	struct find_key f;
	int rc;

	key[0] = '\0';
	if (old != NULL && old->key[0]) {
		memcpy(key, old->key, 256);
		return SK_OK;
	}
	if (strcmp(name, pol->role[SK_ROLE_DEVICE_CERT]) == 0) {
		snprintf(key, 256, "%s", pol->role[SK_ROLE_DEVICE_KEY]);
		return SK_OK;
	}
	memset(&f, 0, sizeof(f));
	f.pub = X509_get0_pubkey(x);
	if (f.pub == NULL)
		return sk_err_ssl(SK_EVERIFY, "certificate for '%s': unusable public key", name);
	rc = sk_key_list(ctx, match_key, &f);
	ERR_clear_error();
	if (rc != SK_OK)
		return rc;
	if (f.name[0] == '\0')
		return sk_err(SK_EVERIFY, "the certificate for '%s' certifies no private key of the store "
			      "(only a key's own certificate, or a CA before the store is locked, is imported)",
			      name);
	memcpy(key, f.name, 256);
	return SK_OK;
}

static int check_dates(struct sk_store *st, const struct sk_policy *pol, X509 *x, const char *name)
{
	int64_t now, na;
	int rc;

	/* No store (a token's certificate before any store): the system
	 * time, there is no clock floor yet. */
	if (st == NULL)
		now = (int64_t)time(NULL);
	else if ((rc = sk_trust_time(st, pol->clock, &now)) != SK_OK)
		return rc;
	if ((rc = sk_asn1_time_epoch(X509_get0_notAfter(x), &na)) != SK_OK)
		return rc;
	if (na < now) {
		char when[32];

		sk_time_format(na, when, sizeof(when));
		return sk_err(SK_EVERIFY, "the certificate for '%s' expired on %s", name, when);
	}
	return SK_OK;
}

/* certs[1..] must be certs[0]'s chain: each certificate issued (name and
 * signature) by the next, a CA.  Dates are verification's business. */
static int check_chain(STACK_OF(X509) *certs)
{
	int i;

	for (i = 1; i < sk_X509_num(certs); i++) {
		X509 *sub = sk_X509_value(certs, i - 1), *iss = sk_X509_value(certs, i);
		EVP_PKEY *pub = X509_get0_pubkey(iss);
		char subj[256];
		int ok;

		sk_x509_name_str(X509_get_subject_name(iss), subj, sizeof(subj));
		if (X509_check_ca(iss) < 1)
			return sk_err(SK_EVERIFY, "certificate %d of the file ('%s') is not a CA: "
				      "a chain holds only intermediate CAs", i + 1, subj);
		ok = X509_check_issued(iss, sub) == X509_V_OK && pub != NULL &&
		     X509_verify(sub, pub) == 1;
		ERR_clear_error();
		if (!ok)
			return sk_err(SK_EVERIFY, "certificate %d of the file is not issued by certificate %d ('%s'): "
				      "a chain is the certificate, then its issuer, then that one's, and so on",
				      i, i + 1, subj);
	}
	return SK_OK;
}

/* The same chain (as DER) as the object's? */
static int same_chain(const struct sk_cert *old, STACK_OF(X509) *certs)
{
	int i, n = sk_X509_num(certs) - 1;

	if ((old->chain == NULL ? 0 : sk_X509_num(old->chain)) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (X509_cmp(sk_X509_value(old->chain, i), sk_X509_value(certs, i + 1)) != 0)
			return 0;
	return 1;
}

/*
 * A device's own certificate (no chain) onto the device that holds its
 * key (backend.h cert_put: pkcs11, a CKO_CERTIFICATE beside the key):
 * SK_ENOTFOUND when the backend keeps no certificates or none of its keys
 * holds the certificate's public key (the store's way then).
 */
static int device_import(struct sk_ctx *ctx, const struct sk_policy *pol, const char *name,
			 X509 *x, int force, char *key, int *changed)
{
	struct sk_backend *be;
	struct sk_store *st;
	struct sk_buf der = { 0 };
	int rc;

	if ((rc = sk_devkey_backend(ctx, &be)) != SK_OK)
		return rc;
	if (be == NULL || be->ops->cert_put == NULL)
		return SK_ENOTFOUND;
	if ((rc = sk_ctx_store_if_any(ctx, &st)) != SK_OK || (rc = check_dates(st, pol, x, name)) != SK_OK ||
	    (rc = sk_x509_der(x, &der)) != SK_OK)
		goto out;
	rc = be->ops->cert_put(be, name, der.p, der.len, force, key, changed);
	if (rc == SK_EEXIST)
		sk_err_remedy(rc, SK_REMEDY_REPLACE);
out:
	sk_buf_free(&der);
	return rc;
}

/* The object of name now: SK_OK with *have set, or no object. */
static int current(struct sk_ctx *ctx, const char *name, struct sk_cert *old, int *have)
{
	int rc = sk_cert_get(ctx, name, old);

	*have = rc == SK_OK;
	if (rc == SK_ENOTFOUND) {
		sk_err_clear();
		return SK_OK;
	}
	return rc;
}

int sk_cert_import(struct sk_ctx *ctx, const struct sk_policy *pol, const char *name,
		   STACK_OF(X509) *certs, int force, int *kind, char *key, int *changed)
{
	struct sk_store *st;
	struct sk_txn *t = NULL;
	struct sk_cert old;
	struct sk_buf der = { 0 };
	X509 *x = sk_X509_value(certs, 0);
	uint64_t locked;
	int rc, have = 0;

	*changed = 0;
	key[0] = '\0';
	memset(&old, 0, sizeof(old));
	if (x == NULL)
		return sk_err(SK_EVERIFY, "no certificate to import");
	if (!sk_name_valid(name))
		return sk_err(SK_EUSAGE, "'%s' is not a valid certificate name (letters, digits, '.', '_', '@', '+', '-')",
			      name);
	*kind = X509_check_ca(x) >= 1 ? SK_CERT_CA : SK_CERT_PROVISIONED;
	if (*kind == SK_CERT_CA && sk_X509_num(certs) > 1)
		return sk_err(SK_EVERIFY, "the first of the file's %d certificates is a CA: a chain starts "
			      "with a device's own certificate (a CA is imported alone, one per name)",
			      sk_X509_num(certs));
	/* A certificate alone whose key is on the device goes there. */
	if (*kind == SK_CERT_PROVISIONED && sk_X509_num(certs) == 1) {
		rc = device_import(ctx, pol, name, x, force, key, changed);
		if (rc != SK_ENOTFOUND)
			return rc;
		sk_err_clear();
		key[0] = '\0';
	}
	if ((rc = sk_ctx_store(ctx, 1, &st)) != SK_OK || (rc = check_dates(st, pol, x, name)) != SK_OK ||
	    (rc = check_chain(certs)) != SK_OK ||
	    (rc = current(ctx, name, &old, &have)) != SK_OK || (rc = sk_x509_der(x, &der)) != SK_OK)
		goto out;
	if (have && old.der.len == der.len && memcmp(old.der.p, der.p, der.len) == 0 &&
	    old.kind == *kind && same_chain(&old, certs)) {
		memcpy(key, old.key, 256);
		goto out; /* already there: nothing to do */
	}
	if (have && old.kind != *kind) {
		rc = sk_err(SK_EEXIST, "'%s' is a %s certificate; this one would be %s", name,
			    sk_cert_kind_name(old.kind), *kind == SK_CERT_CA ? "a CA" : "provisioned");
		goto out;
	}
	if (have && !force) {
		rc = sk_err_remedy(sk_err(SK_EEXIST, "certificate '%s' already exists", name),
				   SK_REMEDY_REPLACE);
		goto out;
	}
	if (*kind == SK_CERT_CA) {
		if ((rc = sk_trust_locked(st, &locked)) != SK_OK)
			goto out;
		if (locked) {
			rc = sk_err(SK_EVERIFY, "refused by policy: '%s' is a CA certificate, a trust change, "
				    "and the store is locked: a CA is added only by an STP",
				    name);
			goto out;
		}
	} else if ((rc = key_for(ctx, pol, name, x, have ? &old : NULL, key)) != SK_OK) {
		goto out;
	}
	if ((rc = sk_txn_begin(st, &t)) != SK_OK)
		goto out;
	if (*kind == SK_CERT_CA)
		rc = sk_trust_ca_txn(t, name, x, have, "import", SK_BY_LOCAL);
	else {
		struct sk_backend_ref be = sk_ctx_backend_ref(ctx);

		STACK_OF(X509) *chain = sk_X509_new_null();

		/* The intermediates, as they are: never anchors (trust.h). */
		for (int i = 1; chain != NULL && i < sk_X509_num(certs); i++)
			if (!sk_X509_push(chain, sk_X509_value(certs, i))) {
				sk_X509_free(chain);
				chain = NULL;
			}
		if (chain == NULL)
			rc = sk_err(SK_EFAIL, "out of memory");
		else
			rc = sk_trust_set_cert_chain_txn(t, &be, pol, name, x, chain, key, "import",
							 SK_BY_KEYHOLDER);
		sk_X509_free(chain);
	}
	if (rc == SK_OK) {
		rc = sk_txn_commit(t);
		t = NULL;
		*changed = rc == SK_OK;
	}
out:
	sk_txn_abort(t);
	sk_buf_free(&der);
	if (have)
		sk_cert_free(&old);
	return rc;
}

/* As cert show tells a file from a stored name (trust.h); a name the
 * store does not hold is read as a file, whose absence is then reported
 * (exit 1), as before stored names were taken. */
int sk_cert_load_arg(struct sk_ctx *ctx, const char *arg, STACK_OF(X509) **certs, int *stored)
{
	struct sk_cert c;
	int i, rc;

	*stored = 0;
	*certs = NULL;
	if (strcmp(arg, "-") == 0 || strchr(arg, '/') != NULL || access(arg, F_OK) == 0 ||
	    !sk_name_valid(arg))
		return sk_x509_load(arg, certs);
	if ((rc = sk_cert_get(ctx, arg, &c)) == SK_ENOTFOUND) {
		sk_err_clear();
		return sk_x509_load(arg, certs);
	}
	if (rc != SK_OK)
		return rc;
	*stored = 1;
	if (c.x509 == NULL)
		rc = sk_err(SK_EUNSUPP, "'%s' is a certificate request (see cert get)", arg);
	else if ((*certs = sk_X509_new_null()) == NULL || !sk_X509_push(*certs, c.x509))
		rc = sk_err(SK_EFAIL, "out of memory");
	else
		c.x509 = NULL;
	for (i = 0; rc == SK_OK && i < sk_X509_num(c.chain); i++) {
		X509 *x = sk_X509_value(c.chain, i);

		if (!sk_X509_push(*certs, x))
			rc = sk_err(SK_EFAIL, "out of memory");
		else
			sk_X509_set(c.chain, i, NULL);
	}
	if (c.chain != NULL) {
		for (i = sk_X509_num(c.chain) - 1; i >= 0; i--)
			if (sk_X509_value(c.chain, i) == NULL)
				(void)sk_X509_delete(c.chain, i);
	}
	if (rc != SK_OK) {
		sk_X509_pop_free(*certs, X509_free);
		*certs = NULL;
	}
	sk_cert_free(&c);
	return rc;
}
