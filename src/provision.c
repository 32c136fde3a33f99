/* SPDX-License-Identifier: MIT */
#include "provision.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certgen.h"
#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "keys.h"
#include "password.h"
#include "trust.h"
#include "x509.h"
#include "yaml.h"

#define MANIFEST_VERSION 1
#define ORIGIN "provision"

/* One public key, certificate or CA of the manifest. */
struct item {
	const struct sk_ynode *at;
	const char *name;
	const char *key;           /* certificates: the key it carries, or NULL */
	int replace;               /* -1: the manifest's default */
	EVP_PKEY *pub;             /* public keys */
	X509 *x509;                /* certificates and CAs */
	enum sk_prov_action action;
	enum sk_prov_action key_action; /* certificates with a key */
	int key_private;           /* ... that is a private key (never touched) */
	char detail[300];
};

struct pwitem {
	const struct sk_ynode *at;
	const char *name;
	const char *spec;
	char file_spec[PATH_MAX + 300]; /* file: resolved against the manifest */
	enum sk_prov_action action;
};

enum { OUT_PUBKEY, OUT_CSR };

/* A file the run writes: prepared before anything is written (so that a
 * path that cannot be created fails the run first), filled before the
 * commit, renamed into place after it. */
struct output {
	int kind;                  /* OUT_* */
	const char *what;
	char path[PATH_MAX + 256];
	struct sk_out o;
	struct sk_buf data;
};

struct manifest {
	struct sk_ydoc doc;
	char dir[PATH_MAX];
	int replace;               /* top-level default */
	int lock;                  /* lock the trust anchors at the end (default 1) */
	uint64_t locked;           /* the store's: when it was locked, 0 if not */
	/* device-key */
	const struct sk_ynode *dev_at;
	int dev_present;
	const char *dev_name;
	const struct sk_keytype *dev_type;
	const char *dev_pubout;
	enum sk_prov_action dev_action;
	/* device-key.csr */
	const struct sk_ynode *csr_at;
	const char *csr_subject, *csr_san, *csr_name, *csr_out;
	const EVP_MD *csr_md;
	int csr_replace;
	enum sk_prov_action csr_action;
	X509_REQ *csr;             /* the request to store or write */
	/* lists */
	struct item *keys, *certs, *cas;
	size_t nkeys, ncerts, ncas;
	struct pwitem *pws;
	size_t npws;
	struct output outs[2];     /* device public key, CSR */
	size_t nouts;
	/* the item being parsed (sk_y_walk callbacks) */
	struct item *cur;
	struct pwitem *curpw;
	int cur_kind;              /* 0 key, 1 certificate, 2 CA */
	const struct sk_ynode *cur_file, *cur_pem;
};

/* An error at a manifest node with another exit code (conflicts: 9). */
static int at_err(int rc, const struct manifest *m, const struct sk_ynode *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int at_err(int rc, const struct manifest *m, const struct sk_ynode *at, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sk_err(rc, "%s:%zu:%zu: %s", m->doc.file, at->line, at->col, msg);
}

static void manifest_free(struct manifest *m)
{
	size_t i;

	for (i = 0; i < m->nkeys; i++)
		EVP_PKEY_free(m->keys[i].pub);
	for (i = 0; i < m->ncerts; i++)
		X509_free(m->certs[i].x509);
	for (i = 0; i < m->ncas; i++)
		X509_free(m->cas[i].x509);
	free(m->keys);
	free(m->certs);
	free(m->cas);
	free(m->pws);
	for (i = 0; i < m->nouts; i++) {
		sk_out_abort(&m->outs[i].o);
		sk_buf_free(&m->outs[i].data);
	}
	X509_REQ_free(m->csr);
	sk_yaml_free(&m->doc);
}

/* ---- parsing ---- */

static int y_name(const struct sk_ydoc *doc, const struct sk_ynode *n, const char **out)
{
	int rc = sk_y_str(doc, n, out);

	if (rc == SK_OK && !sk_name_valid(*out))
		return sk_yerr(doc, n, "'%s' is not a valid name (letters, digits, '.', '_', '@', '+', '-')",
			       *out);
	return rc;
}

static int y_path(const struct sk_ydoc *doc, const struct sk_ynode *n, const char **out)
{
	int rc = sk_y_str(doc, n, out);

	if (rc == SK_OK && (*out)[0] == '\0')
		return sk_yerr(doc, n, "expected a file name");
	return rc;
}

/* path relative to the manifest's directory. */
static void resolve(const struct manifest *m, const char *path, char *out, size_t n)
{
	if (path[0] == '/' || strcmp(m->dir, ".") == 0)
		snprintf(out, n, "%s", path);
	else
		snprintf(out, n, "%s/%s", m->dir, path);
}

/* The bytes of an item: its file: or its pem:. */
static int item_data(const struct manifest *m, const struct sk_ynode *at, struct sk_buf *b)
{
	char path[PATH_MAX + 256];
	int rc;

	if ((m->cur_file != NULL) == (m->cur_pem != NULL))
		return sk_yerr(&m->doc, at, "give exactly one of file: and pem:");
	if (m->cur_pem != NULL) {
		if (m->cur_pem->type != SK_Y_SCALAR)
			return sk_yerr(&m->doc, m->cur_pem, "expected PEM text");
		return sk_buf_add(b, m->cur_pem->val, m->cur_pem->vlen);
	}
	resolve(m, m->cur_file->val, path, sizeof(path));
	if ((rc = sk_read_file(path, SK_X509_MAX, b)) != SK_OK)
		return sk_yerr(&m->doc, m->cur_file, "%s", sk_err_msg());
	return SK_OK;
}

static int f_name(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	struct manifest *m = a;

	return y_name(d, n, m->curpw ? &m->curpw->name : &m->cur->name);
}

static int f_file(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	const char *s;

	((struct manifest *)a)->cur_file = n;
	return y_path(d, n, &s);
}

static int f_pem(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	const char *s;

	((struct manifest *)a)->cur_pem = n;
	return sk_y_str(d, n, &s);
}

static int f_replace(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	return sk_y_bool(d, n, &((struct manifest *)a)->cur->replace);
}

static int f_key(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	return y_name(d, n, &((struct manifest *)a)->cur->key);
}

static const struct sk_yfield item_fields[] = {
	{ "name", f_name },
	{ "file", f_file },
	{ "pem", f_pem },
	{ "replace", f_replace },
	{ "key", f_key },
};

/* Parse one list item into m->cur (kind: 0 key, 1 certificate, 2 CA). */
static int parse_item(struct manifest *m, const struct sk_ynode *n, int kind, const char *what)
{
	static const char *const names[] = { "a public key", "a certificate", "a CA certificate" };
	struct item *it = m->cur;
	struct sk_buf b = { 0 };
	char label[300];
	int rc, is_private = 0;

	it->at = n;
	it->replace = -1;
	m->cur_file = m->cur_pem = NULL;
	/* public keys and CAs have no key: field */
	if ((rc = sk_y_walk(&m->doc, n, item_fields, kind == 1 ? 5 : 4, m, what, 0)) != SK_OK)
		return rc;
	if (it->name == NULL)
		return sk_yerr(&m->doc, n, "%s: name: is required", what);
	if ((rc = item_data(m, n, &b)) != SK_OK) {
		sk_buf_cleanse_free(&b);
		return rc;
	}
	snprintf(label, sizeof(label), "%s '%s'", kind == 0 ? "key" : "certificate", it->name);
	if (kind == 0) {
		rc = sk_pkey_parse(b.p, b.len, NULL, 0, &it->pub, &is_private);
		if (rc == SK_OK && is_private)
			rc = sk_err(SK_EUSAGE, "holds a private key: give the public key only");
		if (rc == SK_OK && sk_keytype_of_pkey(it->pub) == NULL)
			rc = SK_EUNSUPP;
	} else {
		STACK_OF(X509) *sk = NULL;

		rc = sk_x509_parse(b.p, b.len, label, &sk);
		if (rc == SK_OK && sk_X509_num(sk) != 1)
			rc = sk_err(SK_EUSAGE, "holds %d certificates; one is expected", sk_X509_num(sk));
		if (rc == SK_OK)
			it->x509 = sk_X509_shift(sk);
		sk_X509_pop_free(sk, X509_free);
		if (rc == SK_OK && kind == 2 && X509_check_ca(it->x509) < 1)
			rc = sk_err(SK_EUSAGE, "is not a CA certificate");
	}
	sk_buf_cleanse_free(&b);
	if (rc != SK_OK)
		return sk_yerr(&m->doc, m->cur_file ? m->cur_file : m->cur_pem, "%s: not %s: %s",
			       label, names[kind], sk_err_msg());
	return SK_OK;
}

static int parse_list(struct manifest *m, const struct sk_ynode *n, int kind, const char *what,
		      struct item **items, size_t *count)
{
	size_t i;
	int rc;

	struct item *v;

	if ((rc = sk_y_expect(&m->doc, n, SK_Y_SEQ, what)) != SK_OK)
		return rc;
	/* Appends: command-key may have added an item already. */
	if ((v = realloc(*items, (*count + n->n + 1) * sizeof(*v))) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	*items = v;
	for (i = 0; i < n->n; i++) {
		m->cur = &(*items)[*count];
		memset(m->cur, 0, sizeof(*m->cur));
		(*count)++;
		if ((rc = parse_item(m, n->kids[i], kind, what)) != SK_OK)
			return rc;
	}
	m->cur = NULL;
	return SK_OK;
}

static int f_version(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	uint64_t v;

	(void)a;
	return sk_y_uint(d, n, MANIFEST_VERSION, MANIFEST_VERSION, &v);
}

static int f_top_replace(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	return sk_y_bool(d, n, &((struct manifest *)a)->replace);
}

static int f_lock(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	return sk_y_bool(d, n, &((struct manifest *)a)->lock);
}

static int f_public_keys(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	struct manifest *m = a;

	(void)d;
	return parse_list(m, n, 0, "public-keys", &m->keys, &m->nkeys);
}

static int f_certificates(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	struct manifest *m = a;

	(void)d;
	return parse_list(m, n, 1, "certificates", &m->certs, &m->ncerts);
}

static int f_ca(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	struct manifest *m = a;

	(void)d;
	return parse_list(m, n, 2, "ca", &m->cas, &m->ncas);
}

static int f_pw_secret(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	struct manifest *m = a;
	int rc = sk_y_str(d, n, &m->curpw->spec);

	if (rc != SK_OK)
		return rc;
	/* A manifest is a file people copy around: secrets come from the
	 * environment or a file of their own, never from the manifest. */
	if (strncmp(m->curpw->spec, "env:", 4) != 0 && strncmp(m->curpw->spec, "file:", 5) != 0)
		return sk_yerr(d, n, "a secret must be env:VAR or file:PATH (never inline)");
	return SK_OK;
}

static const struct sk_yfield pw_fields[] = {
	{ "name", f_name },
	{ "secret", f_pw_secret },
};

static int f_passwords(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	struct manifest *m = a;
	size_t i;
	int rc;

	if ((rc = sk_y_expect(d, n, SK_Y_SEQ, "passwords")) != SK_OK)
		return rc;
	if ((m->pws = calloc(n->n ? n->n : 1, sizeof(*m->pws))) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	for (i = 0; i < n->n; i++) {
		m->curpw = &m->pws[m->npws++];
		m->curpw->at = n->kids[i];
		if ((rc = sk_y_walk(d, n->kids[i], pw_fields, SK_ARRAY_SIZE(pw_fields), m,
				    "passwords", 0)) != SK_OK)
			return rc;
		if (m->curpw->name == NULL || m->curpw->spec == NULL)
			return sk_yerr(d, n->kids[i], "passwords: name: and secret: are required");
	}
	m->curpw = NULL;
	return SK_OK;
}

/* command-key: a public key or a certificate, installed under the
 * oem-command role (a certificate also keeps the certificate). */
static int f_command_key(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	static const struct sk_yfield fields[] = {
		{ "file", f_file },
		{ "pem", f_pem },
		{ "replace", f_replace },
	};
	struct manifest *m = a;
	struct item it;
	struct sk_buf b = { 0 };
	int rc, is_private = 0;

	memset(&it, 0, sizeof(it));
	it.at = n;
	it.replace = -1;
	m->cur = &it;
	m->cur_file = m->cur_pem = NULL;
	if ((rc = sk_y_walk(d, n, fields, SK_ARRAY_SIZE(fields), m, "command-key", 0)) != SK_OK ||
	    (rc = item_data(m, n, &b)) != SK_OK)
		goto out;
	m->cur = NULL;
	/* A certificate? Otherwise a public key. */
	if (sk_x509_parse_one(b.p, b.len, "command-key", &it.x509) != SK_OK) {
		sk_err_clear();
		rc = sk_pkey_parse(b.p, b.len, NULL, 0, &it.pub, &is_private);
		if (rc == SK_OK && is_private)
			rc = sk_err(SK_EUSAGE, "holds a private key: give the public key only");
		if (rc == SK_OK && sk_keytype_of_pkey(it.pub) == NULL)
			rc = SK_EUNSUPP;
		if (rc != SK_OK) {
			rc = sk_yerr(d, m->cur_file ? m->cur_file : m->cur_pem,
				     "command-key: not a public key or certificate: %s", sk_err_msg());
			goto out;
		}
	}
	/* The name is the role's; filled in once the config is known. */
	if (it.x509 != NULL) {
		struct item *v = realloc(m->certs, (m->ncerts + 1) * sizeof(*v));

		if (v == NULL) {
			rc = sk_err(SK_EFAIL, "out of memory");
			goto out;
		}
		m->certs = v;
		m->certs[m->ncerts++] = it;
	} else {
		struct item *v = realloc(m->keys, (m->nkeys + 1) * sizeof(*v));

		if (v == NULL) {
			rc = sk_err(SK_EFAIL, "out of memory");
			goto out;
		}
		m->keys = v;
		m->keys[m->nkeys++] = it;
	}
	memset(&it, 0, sizeof(it));
out:
	m->cur = NULL;
	X509_free(it.x509);
	EVP_PKEY_free(it.pub);
	sk_buf_free(&b);
	return rc;
}

static int f_csr_subject(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	struct manifest *m = a;
	X509_NAME *name = NULL;
	int rc = sk_y_str(d, n, &m->csr_subject);

	if (rc == SK_OK && (rc = sk_x509_name_parse(m->csr_subject, &name)) != SK_OK)
		rc = sk_yerr(d, n, "%s", sk_err_msg());
	X509_NAME_free(name);
	return rc;
}

static int f_csr_san(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	return sk_y_str(d, n, &((struct manifest *)a)->csr_san);
}

static int f_csr_digest(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	const char *s;
	int rc = sk_y_word(d, n, sk_md_names(SK_MD_TRUST), &s);

	if (rc == SK_OK)
		((struct manifest *)a)->csr_md = sk_md_by_name(s, 0);
	return rc;
}

static int f_csr_name(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	return y_name(d, n, &((struct manifest *)a)->csr_name);
}

static int f_csr_out(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	return y_path(d, n, &((struct manifest *)a)->csr_out);
}

static int f_csr_replace(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	return sk_y_bool(d, n, &((struct manifest *)a)->csr_replace);
}

static const struct sk_yfield csr_fields[] = {
	{ "subject", f_csr_subject },
	{ "san", f_csr_san },
	{ "digest", f_csr_digest },
	{ "name", f_csr_name },
	{ "out", f_csr_out },
	{ "replace", f_csr_replace },
};

static int f_dev_name(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	return y_name(d, n, &((struct manifest *)a)->dev_name);
}

static int f_dev_type(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	static const char *const names[] = { "ec-p256", "ec-p384", "ec-p521", "rsa-2048",
					     "rsa-3072", "rsa-4096", NULL };
	int i, rc = sk_y_enum(d, n, names, &i);

	if (rc == SK_OK)
		((struct manifest *)a)->dev_type = sk_keytype_by_name(names[i]);
	return rc;
}

static int f_dev_pubout(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	return y_path(d, n, &((struct manifest *)a)->dev_pubout);
}

static int f_dev_csr(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	struct manifest *m = a;
	int rc;

	m->csr_at = n;
	m->csr_replace = -1;
	if ((rc = sk_y_walk(d, n, csr_fields, SK_ARRAY_SIZE(csr_fields), m, "device-key.csr", 0)) != SK_OK)
		return rc;
	if (m->csr_subject == NULL)
		return sk_yerr(d, n, "device-key.csr: subject: is required");
	return SK_OK;
}

static int f_dev_replace(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	int v, rc = sk_y_bool(d, n, &v);

	(void)a;
	if (rc == SK_OK && v)
		return sk_yerr(d, n, "the device key is never replaced by provisioning (it is the device's identity: start from an empty store instead)");
	return rc;
}

static const struct sk_yfield dev_fields[] = {
	{ "name", f_dev_name },
	{ "type", f_dev_type },
	{ "public-key-out", f_dev_pubout },
	{ "csr", f_dev_csr },
	{ "replace", f_dev_replace },
};

static int f_device_key(const struct sk_ydoc *d, const struct sk_ynode *n, void *a)
{
	struct manifest *m = a;

	m->dev_at = n;
	m->dev_present = 1;
	if (n->type == SK_Y_SCALAR && n->vlen == 0) /* "device-key:" alone: all defaults */
		return SK_OK;
	return sk_y_walk(d, n, dev_fields, SK_ARRAY_SIZE(dev_fields), m, "device-key", 0);
}

static const struct sk_yfield top_fields[] = {
	{ "version", f_version },
	{ "replace", f_top_replace },
	{ "lock", f_lock },
	{ "device-key", f_device_key },
	{ "public-keys", f_public_keys },
	{ "command-key", f_command_key },
	{ "certificates", f_certificates },
	{ "ca", f_ca },
	{ "passwords", f_passwords },
};

/* The same name twice in one list (or a key given both as a public key
 * and as a certificate's key) would make the result depend on order. */
static int check_dups(struct manifest *m)
{
	size_t i, j;

	for (i = 0; i < m->nkeys; i++)
		for (j = i + 1; j < m->nkeys; j++)
			if (strcmp(m->keys[i].name, m->keys[j].name) == 0)
				return sk_yerr(&m->doc, m->keys[j].at, "key '%s' is given twice", m->keys[j].name);
	for (i = 0; i < m->ncerts + m->ncas; i++) {
		struct item *a = i < m->ncerts ? &m->certs[i] : &m->cas[i - m->ncerts];

		for (j = i + 1; j < m->ncerts + m->ncas; j++) {
			struct item *b = j < m->ncerts ? &m->certs[j] : &m->cas[j - m->ncerts];

			if (strcmp(a->name, b->name) == 0)
				return sk_yerr(&m->doc, b->at, "certificate '%s' is given twice", b->name);
		}
		for (j = 0; a->key && j < m->nkeys; j++)
			if (strcmp(a->key, m->keys[j].name) == 0)
				return sk_yerr(&m->doc, a->at, "key '%s' is given twice (as a public key and as the key of certificate '%s')",
					       a->key, a->name);
		if (a->key && m->dev_present && strcmp(a->key, m->dev_name) == 0 &&
		    X509_check_ca(a->x509) >= 1)
			return sk_yerr(&m->doc, a->at, "certificate '%s': the device key cannot carry a CA certificate",
				       a->name);
	}
	for (i = 0; i < m->nkeys; i++)
		if (m->dev_present && strcmp(m->keys[i].name, m->dev_name) == 0)
			return sk_yerr(&m->doc, m->keys[i].at, "key '%s' is the device key", m->dev_name);
	for (i = 0; i < m->npws; i++)
		for (j = i + 1; j < m->npws; j++)
			if (strcmp(m->pws[i].name, m->pws[j].name) == 0)
				return sk_yerr(&m->doc, m->pws[j].at, "password object '%s' is given twice",
					       m->pws[j].name);
	return SK_OK;
}

static int load_manifest(struct sk_ctx *ctx, const char *path, struct manifest *m)
{
	const char *role, *devkey;
	size_t i;
	int rc;

	memset(m, 0, sizeof(*m));
	m->lock = 1;
	sk_dirname(strcmp(path, "-") ? path : ".", m->dir, sizeof(m->dir));
	if ((rc = sk_yaml_load(path, &m->doc)) != SK_OK)
		return rc == SK_EFAIL ? sk_err_wrap(SK_ECONFIG, "manifest") : rc;
	if (m->doc.root == NULL)
		return sk_yerr(&m->doc, NULL, "the manifest is empty");
	if ((rc = sk_y_walk(&m->doc, m->doc.root, top_fields, SK_ARRAY_SIZE(top_fields), m,
			    "the manifest", 0)) != SK_OK)
		return rc;
	if (sk_y_get(m->doc.root, "version") == NULL)
		return sk_yerr(&m->doc, m->doc.root, "version: is required (version: %d)",
			       MANIFEST_VERSION);
	/* Role defaults. */
	if (m->dev_present) {
		if (m->dev_name == NULL && (rc = sk_ctx_role(ctx, SK_ROLE_DEVICE_KEY, &m->dev_name)) != SK_OK)
			return rc;
		if (m->dev_type == NULL)
			m->dev_type = sk_keytype_by_name("ec-p256");
		if (m->csr_at != NULL) {
			if (m->csr_name == NULL &&
			    (rc = sk_ctx_role(ctx, SK_ROLE_DEVICE_CSR, &m->csr_name)) != SK_OK)
				return rc;
			if (m->csr_md == NULL)
				m->csr_md = EVP_sha256();
		}
	}
	if ((rc = sk_ctx_role(ctx, SK_ROLE_OEM_COMMAND, &role)) != SK_OK)
		return rc;
	for (i = 0; i < m->nkeys; i++)
		if (m->keys[i].name == NULL)
			m->keys[i].name = role;
	for (i = 0; i < m->ncerts; i++)
		if (m->certs[i].name == NULL)
			m->certs[i].name = m->certs[i].key = role;
	/* The device certificate carries the device key. */
	if ((rc = sk_ctx_role(ctx, SK_ROLE_DEVICE_CERT, &role)) != SK_OK ||
	    (rc = sk_ctx_role(ctx, SK_ROLE_DEVICE_KEY, &devkey)) != SK_OK)
		return rc;
	for (i = 0; i < m->ncerts; i++)
		if (m->certs[i].key == NULL && strcmp(m->certs[i].name, role) == 0)
			m->certs[i].key = m->dev_present ? m->dev_name : devkey;
	return check_dups(m);
}

/* ---- planning: compare with the store ---- */

static int may_replace(const struct manifest *m, int item_replace)
{
	return item_replace < 0 ? m->replace : item_replace;
}

static int conflict(const struct manifest *m, const struct sk_ynode *at, const char *what,
		    const char *name, const char *why)
{
	return at_err(SK_EEXIST, m, at, "%s '%s' %s (set replace: true to replace it)", what, name,
		      why);
}

/* An anchor that differs from the manifest on a locked store. */
static int locked_anchor(const struct manifest *m, const struct sk_ynode *at, const char *what,
			 const char *name)
{
	return at_err(SK_EVERIFY, m, at, "%s '%s' exists and differs, and it is a trust anchor of a locked store: it cannot be replaced (use an STP)",
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
		return at_err(SK_EEXIST, m, at, "key '%s' exists and holds a private key; it cannot become a public key",
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
		return at_err(SK_ECONFIG, m, it->at, "certificate '%s': unusable public key", it->name);
	if (m->dev_present && strcmp(it->key, m->dev_name) == 0 && m->dev_action == SK_PROV_CREATE)
		return at_err(SK_EVERIFY, m, it->at, "certificate '%s' is for key '%s', which this run generates: it cannot match it",
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
		return at_err(SK_EVERIFY, m, it->at, "certificate '%s' does not match the public key of key '%s'",
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
		rc = at_err(SK_EEXIST, m, it->at, "'%s' exists as a %s certificate", it->name,
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
	int rc;

	m->dev_action = SK_PROV_CREATE;
	if (!have_store)
		return SK_OK;
	rc = sk_key_info(ctx, m->dev_name, &k);
	if (rc == SK_ENOTFOUND) {
		sk_err_clear();
		return SK_OK;
	}
	if (rc != SK_OK)
		return rc;
	if ((k.flags & SK_KEY_PUBLIC_ONLY) || k.type != m->dev_type)
		rc = at_err(SK_EEXIST, m, m->dev_at, "key '%s' exists as a %s%s key, not the %s device key",
			    m->dev_name, k.flags & SK_KEY_PUBLIC_ONLY ? "public " : "", k.type->name,
			    m->dev_type->name);
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
		rc = at_err(SK_EEXIST, m, m->csr_at, "'%s' exists as a %s certificate", m->csr_name,
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

		resolve(m, p->spec + 5, path, sizeof(path));
		snprintf(p->file_spec, sizeof(p->file_spec), "file:%s", path);
		p->spec = p->file_spec;
	}
	if ((rc = sk_secret_get(p->spec, "secret", 0, &s)) != SK_OK)
		return at_err(rc == SK_EUSAGE ? SK_ECONFIG : rc, m, p->at, "password object '%s': %s",
			      p->name, sk_err_msg());
	rc = s.len == 0 ? at_err(SK_ECONFIG, m, p->at, "password object '%s': the secret is empty", p->name)
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
		return at_err(SK_EEXIST, m, p->at, "password object '%s' exists with another secret; provisioning does not change it",
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
	size_t i;
	int rc;

	for (i = 0; i < m->nkeys; i++) {
		struct item *it = &m->keys[i];

		if (it->action == SK_PROV_KEEP)
			continue;
		*changed = 1;
		if ((rc = sk_key_txn_put_public(ctx, t, it->name, it->pub, SK_KEY_PROVISIONED,
						ORIGIN, SK_BY_LOCAL)) != SK_OK)
			return rc;
	}
	for (i = 0; i < m->ncerts; i++) {
		struct item *it = &m->certs[i];

		if (it->action == SK_PROV_KEEP && (it->key == NULL || it->key_action == SK_PROV_KEEP))
			continue;
		*changed = 1;
		if ((rc = sk_trust_set_cert_txn(ctx, t, it->name, it->x509, it->key, ORIGIN,
						SK_BY_LOCAL)) != SK_OK)
			return sk_err_wrap(rc, "%s:%zu:%zu", m->doc.file, it->at->line, it->at->col);
	}
	for (i = 0; i < m->ncas; i++) {
		struct item *it = &m->cas[i];

		if (it->action == SK_PROV_KEEP)
			continue;
		*changed = 1;
		if ((rc = sk_trust_ca_txn(ctx, t, it->name, it->x509, it->action == SK_PROV_REPLACE,
					  ORIGIN, SK_BY_LOCAL)) != SK_OK)
			return rc;
	}
	if (m->csr_at != NULL && m->csr_action != SK_PROV_KEEP) {
		*changed = 1;
		if ((rc = sk_trust_put_csr_txn(ctx, t, m->csr_name, m->csr, ORIGIN)) != SK_OK)
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
	resolve(m, path, o->path, sizeof(o->path));
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
			resolve(m, m->csr_out, path, sizeof(path));
			STEP(SK_PROV_WRITE, "file", path, "device CSR");
		}
	}
	if (m->dev_pubout) {
		resolve(m, m->dev_pubout, path, sizeof(path));
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

int sk_provision(struct sk_ctx *ctx, const char *path, int dry_run, sk_prov_fn fn, void *arg)
{
	struct manifest m;
	struct sk_store *st = NULL;
	struct sk_txn *t = NULL;
	size_t i;
	int rc, have_store, changed = 0;

	if ((rc = load_manifest(ctx, path, &m)) != SK_OK)
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
		if ((rc = sk_key_generate(ctx, &req)) != SK_OK)
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
	if (changed && (rc = sk_trust_clock_txn(ctx, t, 0)) != SK_OK)
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
	manifest_free(&m);
	return rc;
}
