/* SPDX-License-Identifier: MIT */
/* Provisioning: the manifest (provision_int.h, manifest.example.yaml). */
#include "provision/provision_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "trust/x509.h"

#define MANIFEST_VERSION 1

int sk_prov_at_err(int rc, const struct manifest *m, const struct sk_ynode *at, const char *fmt,
		   ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sk_err(rc, "%s:%zu:%zu: %s", m->doc.file, at->line, at->col, msg);
}

void sk_prov_manifest_free(struct manifest *m)
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

void sk_prov_resolve(const struct manifest *m, const char *path, char *out, size_t n)
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
	sk_prov_resolve(m, m->cur_file->val, path, sizeof(path));
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

int sk_prov_manifest_load(const struct sk_policy *pol, const char *path, struct manifest *m)
{
	const char *role;
	size_t i;
	int rc;

	memset(m, 0, sizeof(*m));
	m->pol = pol;
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
		if (m->dev_name == NULL)
			m->dev_name = pol->role[SK_ROLE_DEVICE_KEY];
		if (m->dev_type == NULL)
			m->dev_type = sk_keytype_by_name("ec-p256");
		if (m->csr_at != NULL) {
			if (m->csr_name == NULL)
				m->csr_name = pol->role[SK_ROLE_DEVICE_CSR];
			if (m->csr_md == NULL)
				m->csr_md = EVP_sha256();
		}
	}
	role = pol->role[SK_ROLE_OEM_COMMAND];
	for (i = 0; i < m->nkeys; i++)
		if (m->keys[i].name == NULL)
			m->keys[i].name = role;
	for (i = 0; i < m->ncerts; i++)
		if (m->certs[i].name == NULL)
			m->certs[i].name = m->certs[i].key = role;
	/* The device certificate carries the device key. */
	role = pol->role[SK_ROLE_DEVICE_CERT];
	for (i = 0; i < m->ncerts; i++)
		if (m->certs[i].key == NULL && strcmp(m->certs[i].name, role) == 0)
			m->certs[i].key = m->dev_present ? m->dev_name : pol->role[SK_ROLE_DEVICE_KEY];
	return check_dups(m);
}

