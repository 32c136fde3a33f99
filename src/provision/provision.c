/* SPDX-License-Identifier: MIT */
#include "provision/provision_int.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "trust/certgen.h"
#include "crypto/crypto.h"
#include "base/err.h"
#include "base/fileio.h"
#include "keys/keys.h"
#include "keys/password.h"
#include "trust/trust.h"
#include "trust/x509.h"
#include "base/yaml.h"

#define ORIGIN "provision"

/* ---- planning: compare with the store ---- */

static int may_replace(const struct manifest *m, int item_replace)
{
	return item_replace < 0 ? m->replace : item_replace;
}

static int conflict(const struct manifest *m, const struct sk_ynode *at, const char *what,
		    const char *name, const char *why)
{
	return sk_prov_at_err(SK_EEXIST, m, at, "%s '%s' %s (set replace: true to replace it)", what, name,
		      why);
}

/* An anchor that differs from the manifest on a locked store. */
static int locked_anchor(const struct manifest *m, const struct sk_ynode *at, const char *what,
			 const char *name)
{
	return sk_prov_at_err(SK_EVERIFY, m, at, "%s '%s' exists and differs, and it is a trust anchor of a locked store: it cannot be replaced (use an STP)",
		      what, name);
}

/* A provisioned public key: keep, create, replace or conflict. */
static int plan_pubkey(struct sk_ctx *ctx, const struct manifest *m, const struct sk_ynode *at,
		       const char *name, EVP_PKEY *pub, int replace, enum sk_prov_action *act,
		       int have_store)
{
	struct sk_keyinfo k;
	unsigned k_flags;
	int rc, same;

	*act = SK_PROV_CREATE;
	if (!have_store)
		return SK_OK;
	rc = sk_key_info(ctx, name, &k);
	if (rc == SK_ENOTFOUND) {
		sk_err_clear();
		return SK_OK;
	}
	if (rc != SK_OK)
		return rc;
	k_flags = k.flags;
	if (!(k.flags & SK_KEY_PUBLIC_ONLY)) {
		sk_keyinfo_free(&k);
		return sk_prov_at_err(SK_EEXIST, m, at, "key '%s' exists and holds a private key; it cannot become a public key",
			      name);
	}
	same = k.pub != NULL && EVP_PKEY_eq(k.pub, pub) == 1 && (k.flags & SK_KEY_PROVISIONED);
	sk_keyinfo_free(&k);
	ERR_clear_error();
	if (same) {
		*act = SK_PROV_KEEP;
		return SK_OK;
	}
	/* A key another run left unprovisioned is no anchor yet. */
	if (m->locked && (k_flags & SK_KEY_PROVISIONED))
		return locked_anchor(m, at, "key", name);
	if (!may_replace(m, replace))
		return conflict(m, at, "key", name, "exists with another public key");
	*act = SK_PROV_REPLACE;
	return SK_OK;
}

/* The key a certificate carries: a private one (the device key) must
 * match and is never touched; a public one is planned like public-keys. */
static int plan_cert_key(struct sk_ctx *ctx, const struct manifest *m, struct item *it,
			 int have_store)
{
	EVP_PKEY *pub = X509_get0_pubkey(it->x509);
	struct sk_keyinfo k;
	int rc, match;

	if (pub == NULL)
		return sk_prov_at_err(SK_ECONFIG, m, it->at, "certificate '%s': unusable public key", it->name);
	if (m->dev_present && strcmp(it->key, m->dev_name) == 0 && m->dev_action == SK_PROV_CREATE)
		return sk_prov_at_err(SK_EVERIFY, m, it->at, "certificate '%s' is for key '%s', which this run generates: it cannot match it",
			      it->name, it->key);
	rc = have_store ? sk_key_info(ctx, it->key, &k) : SK_ENOTFOUND;
	if (rc == SK_ENOTFOUND) {
		sk_err_clear();
		it->key_action = SK_PROV_CREATE;
		return SK_OK;
	}
	if (rc != SK_OK)
		return rc;
	if (k.flags & SK_KEY_PUBLIC_ONLY) {
		sk_keyinfo_free(&k);
		return plan_pubkey(ctx, m, it->at, it->key, pub, it->replace, &it->key_action,
				   have_store);
	}
	match = k.pub != NULL && EVP_PKEY_eq(k.pub, pub) == 1;
	sk_keyinfo_free(&k);
	ERR_clear_error();
	if (!match)
		return sk_prov_at_err(SK_EVERIFY, m, it->at, "certificate '%s' does not match the public key of key '%s'",
			      it->name, it->key);
	it->key_private = 1;
	it->key_action = SK_PROV_KEEP;
	return SK_OK;
}

static int plan_cert(struct sk_ctx *ctx, const struct manifest *m, struct item *it, int kind,
		     int have_store)
{
	struct sk_cert c;
	struct sk_buf der = { 0 };
	int rc, same;

	it->action = SK_PROV_CREATE;
	sk_x509_name_str(X509_get_subject_name(it->x509), it->detail, sizeof(it->detail));
	if (!have_store)
		goto key;
	rc = sk_cert_get(ctx, it->name, &c);
	if (rc == SK_ENOTFOUND) {
		sk_err_clear();
		goto key;
	}
	if (rc != SK_OK)
		return rc;
	if (c.kind != kind) {
		rc = sk_prov_at_err(SK_EEXIST, m, it->at, "'%s' exists as a %s certificate", it->name,
			    sk_cert_kind_name(c.kind));
		sk_cert_free(&c);
		return rc;
	}
	rc = sk_x509_der(it->x509, &der);
	same = rc == SK_OK && der.len == c.der.len && memcmp(der.p, c.der.p, der.len) == 0 &&
	       (it->key == NULL || strcmp(it->key, c.key) == 0);
	sk_buf_free(&der);
	sk_cert_free(&c);
	if (rc != SK_OK)
		return rc;
	if (same)
		it->action = SK_PROV_KEEP;
	else if (m->locked)
		return locked_anchor(m, it->at, kind == SK_CERT_CA ? "CA" : "certificate", it->name);
	else if (!may_replace(m, it->replace))
		return conflict(m, it->at, kind == SK_CERT_CA ? "CA" : "certificate", it->name,
				"exists and differs");
	else
		it->action = SK_PROV_REPLACE;
key:
	return it->key != NULL ? plan_cert_key(ctx, m, it, have_store) : SK_OK;
}

static int plan_device(struct sk_ctx *ctx, struct manifest *m, int have_store)
{
	struct sk_keyinfo k;
	const char *be;
	int rc;

	m->dev_action = SK_PROV_CREATE;
	/* A device with its own keys (pkcs11) may hold it before any store. */
	if (!have_store && ((rc = sk_ctx_backend_name(ctx, &be)) != SK_OK ||
			    !sk_backend_has_catalogue(be)))
		return rc;
	rc = sk_key_info(ctx, m->dev_name, &k);
	if (rc == SK_ENOTFOUND) {
		sk_err_clear();
		return SK_OK;
	}
	if (rc != SK_OK)
		return rc;
	if ((k.flags & SK_KEY_PUBLIC_ONLY) || k.type != m->dev_type)
		rc = sk_prov_at_err(SK_EEXIST, m, m->dev_at, "key '%s' exists as a %s%s key, not the %s device key",
			    m->dev_name, k.flags & SK_KEY_PUBLIC_ONLY ? "public " : "", k.type->name,
			    m->dev_type->name);
	else if ((k.flags & SK_KEY_DEVICE) && !(k.flags & SK_KEY_PROVISIONED) &&
		 (k.flags & SK_KEY_EXPORTABLE))
		/* Refused before anything is written (keys.c refuses it too). */
		rc = sk_prov_at_err(SK_EVERIFY, m, m->dev_at, "key '%s' on the device can be extracted (not sensitive, or extractable): it cannot become the device key",
				    m->dev_name);
	else if ((k.flags & SK_KEY_DEVICE) && !(k.flags & SK_KEY_PROVISIONED))
		/* A token's key the store does not record (made by another
		 * tool, or by a run that stopped): this run records it. */
		m->dev_adopt = 1;
	else
		m->dev_action = SK_PROV_KEEP;
	sk_keyinfo_free(&k);
	return rc;
}

/* The device CSR: the to-be-signed part of a request is deterministic, so
 * a stored request is kept when a fresh one would say the same. */
static int plan_csr(struct sk_ctx *ctx, struct manifest *m, int have_store)
{
	struct sk_key *k = NULL;
	struct sk_cert c;
	unsigned char *a = NULL, *b = NULL;
	int rc, na, nb;

	m->csr_action = SK_PROV_CREATE;
	X509_REQ_free(m->csr);
	m->csr = NULL;
	if (!have_store)
		return SK_OK;
	rc = sk_key_open(ctx, m->dev_name, NULL, &k);
	if (rc == SK_ENOTFOUND) { /* generated by this run */
		sk_err_clear();
		return SK_OK;
	}
	if (rc != SK_OK)
		return rc;
	rc = sk_csr_make(k, m->csr_subject, m->csr_san, m->csr_md, &m->csr);
	sk_key_close(k);
	if (rc != SK_OK)
		return rc == SK_EUSAGE ? sk_yerr(&m->doc, m->csr_at, "%s", sk_err_msg()) : rc;
	rc = sk_cert_get(ctx, m->csr_name, &c);
	if (rc == SK_ENOTFOUND) {
		sk_err_clear();
		return SK_OK;
	}
	if (rc != SK_OK)
		return rc;
	if (c.kind != SK_CERT_CSR) {
		rc = sk_prov_at_err(SK_EEXIST, m, m->csr_at, "'%s' exists as a %s certificate", m->csr_name,
			    sk_cert_kind_name(c.kind));
		sk_cert_free(&c);
		return rc;
	}
	na = i2d_re_X509_REQ_tbs(m->csr, &a);
	nb = i2d_re_X509_REQ_tbs(c.req, &b);
	if (na > 0 && na == nb && memcmp(a, b, (size_t)na) == 0) {
		/* Keep (and later write out) the stored one, byte for byte. */
		X509_REQ_free(m->csr);
		m->csr = c.req;
		c.req = NULL;
		m->csr_action = SK_PROV_KEEP;
	} else if (!may_replace(m, m->csr_replace)) {
		rc = conflict(m, m->csr_at, "certificate request", m->csr_name,
			      "exists with another subject or key");
	} else {
		m->csr_action = SK_PROV_REPLACE;
	}
	OPENSSL_free(a);
	OPENSSL_free(b);
	sk_cert_free(&c);
	return rc;
}

static int plan_password(struct sk_ctx *ctx, struct manifest *m, struct pwitem *p,
			 int have_store)
{
	struct sk_secret s = { 0 };
	struct sk_pwunlock u;
	int rc;

	/* The secret must be at hand even when nothing needs it, so that
	 * a factory script learns of a missing variable on the first run. */
	if (strncmp(p->spec, "file:", 5) == 0) {
		char path[PATH_MAX + 256];

		sk_prov_resolve(m, p->spec + 5, path, sizeof(path));
		snprintf(p->file_spec, sizeof(p->file_spec), "file:%s", path);
		p->spec = p->file_spec;
	}
	if ((rc = sk_secret_get(p->spec, "secret", 0, &s)) != SK_OK)
		return sk_prov_at_err(rc == SK_EUSAGE ? SK_ECONFIG : rc, m, p->at, "password object '%s': %s",
			      p->name, sk_err_msg());
	rc = s.len == 0 ? sk_prov_at_err(SK_ECONFIG, m, p->at, "password object '%s': the secret is empty", p->name)
			: SK_OK;
	sk_secret_free(&s);
	if (rc != SK_OK)
		return rc;
	p->action = SK_PROV_CREATE;
	if (!have_store)
		return SK_OK;
	rc = sk_password_unlock(ctx, p->name, p->spec, NULL, SK_PW_CHECK, &u);
	sk_pwunlock_cleanse(&u);
	if (rc == SK_OK) {
		p->action = SK_PROV_KEEP;
		return SK_OK;
	}
	if (rc == SK_ENOTFOUND) {
		sk_err_clear();
		return SK_OK;
	}
	if (rc == SK_EAUTH)
		return sk_prov_at_err(SK_EEXIST, m, p->at, "password object '%s' exists with another secret; provisioning does not change it",
			      p->name);
	return rc;
}

/* Everything but the device key and passwords (which are done first). */
static int plan_txn_items(struct sk_ctx *ctx, struct manifest *m, int have_store)
{
	size_t i;
	int rc;

	for (i = 0; i < m->nkeys; i++) {
		struct item *it = &m->keys[i];

		snprintf(it->detail, sizeof(it->detail), "%s", sk_keytype_of_pkey(it->pub)->name);
		if ((rc = plan_pubkey(ctx, m, it->at, it->name, it->pub, it->replace, &it->action,
				      have_store)) != SK_OK)
			return rc;
	}
	for (i = 0; i < m->ncerts; i++)
		if ((rc = plan_cert(ctx, m, &m->certs[i], SK_CERT_PROVISIONED, have_store)) != SK_OK)
			return rc;
	for (i = 0; i < m->ncas; i++)
		if ((rc = plan_cert(ctx, m, &m->cas[i], SK_CERT_CA, have_store)) != SK_OK)
			return rc;
	if (m->csr_at != NULL && (rc = plan_csr(ctx, m, have_store)) != SK_OK)
		return rc;
	return SK_OK;
}

/* ---- doing it ---- */

static int put_items(struct sk_ctx *ctx, struct manifest *m, struct sk_txn *t, int *changed)
{
	struct sk_backend_ref be = sk_ctx_backend_ref(ctx);
	size_t i;
	int rc;

	for (i = 0; i < m->nkeys; i++) {
		struct item *it = &m->keys[i];

		if (it->action == SK_PROV_KEEP)
			continue;
		*changed = 1;
		if ((rc = sk_key_txn_put_public(t, &be, it->name, it->pub, SK_KEY_PROVISIONED,
						ORIGIN, SK_BY_LOCAL)) != SK_OK)
			return rc;
	}
	for (i = 0; i < m->ncerts; i++) {
		struct item *it = &m->certs[i];

		if (it->action == SK_PROV_KEEP && (it->key == NULL || it->key_action == SK_PROV_KEEP))
			continue;
		*changed = 1;
		if ((rc = sk_trust_set_cert_txn(t, &be, m->pol, it->name, it->x509, it->key, ORIGIN,
						SK_BY_LOCAL)) != SK_OK)
			return sk_err_wrap(rc, "%s:%zu:%zu", m->doc.file, it->at->line, it->at->col);
	}
	for (i = 0; i < m->ncas; i++) {
		struct item *it = &m->cas[i];

		if (it->action == SK_PROV_KEEP)
			continue;
		*changed = 1;
		if ((rc = sk_trust_ca_txn(t, it->name, it->x509, it->action == SK_PROV_REPLACE,
					  ORIGIN, SK_BY_LOCAL)) != SK_OK)
			return rc;
	}
	if (m->csr_at != NULL && m->csr_action != SK_PROV_KEEP) {
		*changed = 1;
		if ((rc = sk_trust_put_csr_txn(t, m->csr_name, m->csr, ORIGIN)) != SK_OK)
			return rc;
	}
	return SK_OK;
}

/* ---- output files ---- */

static int output_open(struct manifest *m, int kind, const char *path, const char *what)
{
	struct output *o = &m->outs[m->nouts];
	int rc;

	o->kind = kind;
	o->what = what;
	sk_prov_resolve(m, path, o->path, sizeof(o->path));
	if ((rc = sk_out_open(&o->o, o->path, 0666)) != SK_OK)
		return sk_err_wrap(rc, "%s", what);
	m->nouts++;
	return SK_OK;
}

/* Before anything is written: a temporary file next to each output (a
 * directory that does not exist, or that we may not write, fails here). */
static int outputs_open(struct manifest *m)
{
	int rc;

	m->nouts = 0;
	if (m->dev_present && m->dev_pubout != NULL &&
	    (rc = output_open(m, OUT_PUBKEY, m->dev_pubout, "device public key")) != SK_OK)
		return rc;
	if (m->csr_at != NULL && m->csr_out != NULL &&
	    (rc = output_open(m, OUT_CSR, m->csr_out, "device CSR")) != SK_OK)
		return rc;
	return SK_OK;
}

/* Under the writer lock, before the commit: the PEM of each output,
 * written to its temporary file unless it goes straight to a stream
 * (stdout, a FIFO), which cannot be taken back and waits for the commit. */
static int outputs_fill(struct sk_ctx *ctx, struct manifest *m)
{
	struct sk_keyinfo k;
	size_t i;
	BIO *b = NULL;
	char *data;
	long len;
	int rc = SK_OK, ok;

	memset(&k, 0, sizeof(k));
	for (i = 0; i < m->nouts && rc == SK_OK; i++) {
		struct output *o = &m->outs[i];

		if ((b = BIO_new(BIO_s_mem())) == NULL) {
			rc = sk_err_ssl(SK_EFAIL, "%s", o->what);
			break;
		}
		if (o->kind == OUT_PUBKEY) {
			if ((rc = sk_key_info(ctx, m->dev_name, &k)) != SK_OK)
				break;
			ok = PEM_write_bio_PUBKEY(b, k.pub);
			sk_keyinfo_free(&k);
		} else {
			ok = m->csr != NULL && PEM_write_bio_X509_REQ(b, m->csr);
		}
		len = BIO_get_mem_data(b, &data);
		if (!ok || len <= 0)
			rc = sk_err_ssl(SK_EFAIL, "encoding the %s", o->what);
		else if ((rc = sk_buf_add(&o->data, data, (size_t)len)) == SK_OK &&
			 !o->o.is_stdout && !o->o.direct)
			rc = sk_out_write(&o->o, o->data.p, o->data.len);
		BIO_free(b);
		b = NULL;
	}
	BIO_free(b);
	return rc;
}

/* After the commit: into place. */
static int outputs_commit(struct manifest *m)
{
	size_t i;
	int rc;

	for (i = 0; i < m->nouts; i++) {
		struct output *o = &m->outs[i];

		if ((o->o.is_stdout || o->o.direct) &&
		    (rc = sk_out_write(&o->o, o->data.p, o->data.len)) != SK_OK)
			return rc;
		if ((rc = sk_out_commit(&o->o)) != SK_OK)
			return rc;
	}
	return SK_OK;
}

static void report(struct manifest *m, sk_prov_fn fn, void *arg)
{
	struct sk_prov_step s;
	char path[PATH_MAX + 256], subject[512];
	size_t i;

#define STEP(act, w, n, d) \
	do { s.action = (act); s.what = (w); s.name = (n); s.detail = (d); fn(&s, arg); } while (0)
	if (m->dev_present)
		STEP(m->dev_action, "key", m->dev_name, m->dev_type->name);
	for (i = 0; i < m->npws; i++)
		STEP(m->pws[i].action, "password object", m->pws[i].name, "");
	for (i = 0; i < m->nkeys; i++)
		STEP(m->keys[i].action, "key", m->keys[i].name, m->keys[i].detail);
	for (i = 0; i < m->ncerts; i++) {
		STEP(m->certs[i].action, "certificate", m->certs[i].name, m->certs[i].detail);
		if (m->certs[i].key && !m->certs[i].key_private)
			STEP(m->certs[i].key_action, "key", m->certs[i].key, "from the certificate");
	}
	for (i = 0; i < m->ncas; i++)
		STEP(m->cas[i].action, "CA", m->cas[i].name, m->cas[i].detail);
	if (m->csr_at != NULL) {
		snprintf(subject, sizeof(subject), "%s", m->csr_subject);
		STEP(m->csr_action, "CSR", m->csr_name, subject);
		if (m->csr_out) {
			sk_prov_resolve(m, m->csr_out, path, sizeof(path));
			STEP(SK_PROV_WRITE, "file", path, "device CSR");
		}
	}
	if (m->dev_pubout) {
		sk_prov_resolve(m, m->dev_pubout, path, sizeof(path));
		STEP(SK_PROV_WRITE, "file", path, "device public key");
	}
	if (m->locked)
		STEP(SK_PROV_KEEP, "lock", "trust anchors", "locked");
	else if (m->lock)
		STEP(SK_PROV_CREATE, "lock", "trust anchors", "only STPs change them from now on");
#undef STEP
}

/* The store if there is one (have_store 0 if not: nothing is created). */
static int open_store(struct sk_ctx *ctx, struct sk_store **st, int *have_store)
{
	char mk[PATH_MAX + 16];
	int rc = sk_ctx_store(ctx, 0, st);

	*have_store = rc == SK_OK;
	if (rc == SK_EBACKEND && ctx->store_dir != NULL) {
		snprintf(mk, sizeof(mk), "%s/master.key", ctx->store_dir);
		if (access(mk, F_OK) != 0) {
			sk_err_clear();
			rc = SK_OK;
		}
	}
	return rc;
}

int sk_provision(struct sk_ctx *ctx, const struct sk_policy *pol, const char *path, int dry_run,
		 sk_prov_fn fn, void *arg)
{
	struct manifest m;
	struct sk_store *st = NULL;
	struct sk_txn *t = NULL;
	size_t i;
	int rc, have_store, changed = 0;

	if ((rc = sk_prov_manifest_load(pol, path, &m)) != SK_OK)
		goto out;
	/* Everything is checked before anything is written, and a store that
	 * does not exist yet is only created once everything passed. */
	if ((rc = open_store(ctx, &st, &have_store)) != SK_OK)
		goto out;
	if (have_store && (rc = sk_trust_locked(st, &m.locked)) != SK_OK)
		goto out;
	if (m.dev_present && (rc = plan_device(ctx, &m, have_store)) != SK_OK)
		goto out;
	for (i = 0; i < m.npws; i++)
		if ((rc = plan_password(ctx, &m, &m.pws[i], have_store)) != SK_OK)
			goto out;
	if ((rc = plan_txn_items(ctx, &m, have_store)) != SK_OK)
		goto out;
	if (dry_run)
		goto done;
	if ((rc = outputs_open(&m)) != SK_OK)
		goto out;
	if (!have_store && (rc = sk_ctx_store(ctx, 1, &st)) != SK_OK)
		goto out;

	if (m.dev_present && m.dev_action == SK_PROV_CREATE) {
		struct sk_key_new req;

		memset(&req, 0, sizeof(req));
		req.name = m.dev_name;
		req.type = m.dev_type;
		req.flags = SK_KEY_PROVISIONED;
		rc = m.dev_adopt ? sk_key_adopt(ctx, m.dev_name, SK_KEY_PROVISIONED)
				 : sk_key_generate(ctx, &req);
		if (rc != SK_OK)
			goto out;
		changed = 1;
	}
	for (i = 0; i < m.npws; i++)
		if (m.pws[i].action == SK_PROV_CREATE) {
			if ((rc = sk_password_create(ctx, m.pws[i].name, m.pws[i].spec)) != SK_OK)
				goto out;
			changed = 1;
		}
	if ((rc = sk_txn_begin(st, &t)) != SK_OK)
		goto out;
	/* Under the writer lock: plan again, so that what is written is
	 * compared with what is there now (and the CSR is made with the
	 * device key generated above). */
	if ((rc = sk_trust_locked(st, &m.locked)) != SK_OK ||
	    (rc = plan_txn_items(ctx, &m, 1)) != SK_OK ||
	    (rc = put_items(ctx, &m, t, &changed)) != SK_OK)
		goto out;
	/* The lock commits with the run's last changes: a store is never
	 * seen locked with half of them. */
	if (!m.locked && m.lock) {
		changed = 1;
		if ((rc = sk_trust_lock_txn(t)) != SK_OK)
			goto out;
	}
	if (changed && (rc = sk_trust_clock_txn(t, 0)) != SK_OK)
		goto out;
	if ((rc = outputs_fill(ctx, &m)) != SK_OK)
		goto out;
	rc = sk_txn_commit(t);
	t = NULL;
	if (rc != SK_OK)
		goto out;
	if ((rc = outputs_commit(&m)) != SK_OK) {
		sk_err_wrap(rc, "committed, but not the output files (run the manifest again)");
		goto out;
	}
done:
	report(&m, fn, arg);
out:
	sk_txn_abort(t);
	sk_prov_manifest_free(&m);
	return rc;
}
