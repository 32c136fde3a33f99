/* SPDX-License-Identifier: MIT */
/* Who signs a package and who verifies it: a key file, a named key, a
 * public key or a certificate (pkg.h). */
#include "format/pkg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "crypto/crypto.h"
#include "base/err.h"
#include "base/util.h"
#include "crypto/keytype.h"
#include "ctx/secret.h"
#include "trust/trust.h"
#include "trust/x509.h"

/* ---- signer ---- */

static int pkey_usable(EVP_PKEY *pk, const char *what)
{
	const struct sk_keytype *kt = sk_keytype_of_pkey(pk);

	if (kt == NULL)
		return sk_err_wrap(SK_EUNSUPP, "%s", what);
	return SK_OK;
}

int sk_signer_from_file(struct sk_signer *s, const char *path, const char *pass_spec)
{
	struct sk_secret pass = { 0 };
	int rc;

	memset(s, 0, sizeof(*s));
	s->md = EVP_sha256();
	snprintf(s->what, sizeof(s->what), "key file '%s'", path);
	if (pass_spec != NULL &&
	    (rc = sk_secret_get(pass_spec, "passphrase of the signing key", 0, &pass)) != SK_OK)
		return rc;
	rc = sk_pkey_load(path, pass.p, 1, &s->pkey);
	sk_secret_free(&pass);
	if (rc == SK_OK)
		rc = pkey_usable(s->pkey, s->what);
	if (rc == SK_OK)
		rc = sk_pkey_fingerprint(s->pkey, s->fpr);
	if (rc != SK_OK)
		sk_signer_free(s);
	return rc;
}

int sk_signer_from_key(struct sk_signer *s, struct sk_ctx *ctx, const char *name,
		       const char *pass_spec)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->md = EVP_sha256();
	snprintf(s->what, sizeof(s->what), "key '%s'", name);
	if ((rc = sk_key_open(ctx, name, pass_spec, &s->key)) != SK_OK)
		return rc;
	if ((rc = sk_key_require(s->key, SK_CAP_SIGN, NULL)) == SK_OK && s->key->info.pub == NULL)
		rc = sk_err(SK_EUNSUPP, "key '%s' (%s) cannot sign packages", name,
			    s->key->info.type->name);
	if (rc == SK_OK)
		rc = sk_pkey_fingerprint(s->key->info.pub, s->fpr);
	if (rc == SK_OK) {
		if ((s->lock = malloc(sizeof(*s->lock))) == NULL)
			rc = sk_err(SK_EFAIL, "out of memory");
		else
			pthread_mutex_init(s->lock, NULL);
	}
	if (rc != SK_OK)
		sk_signer_free(s);
	return rc;
}

int sk_signer_open(struct sk_signer *s, struct sk_ctx *ctx, const char *file, const char *name,
		   const char *pass_spec, const EVP_MD *md, int pss)
{
	int rc;

	memset(s, 0, sizeof(*s));
	if (file != NULL && strncmp(file, SK_SIGNER_URI, strlen(SK_SIGNER_URI)) == 0)
		name = file + strlen(SK_SIGNER_URI);
	else if (file != NULL)
		name = NULL;
	if (name != NULL && !sk_name_valid(name))
		return sk_err(SK_EUSAGE, "'%s' is not a valid key name", name);
	rc = name != NULL ? sk_signer_from_key(s, ctx, name, pass_spec)
			  : sk_signer_from_file(s, file, pass_spec);
	if (rc != SK_OK)
		return rc;
	if (md != NULL && (rc = sk_signer_set_md(s, md, pss)) != SK_OK)
		sk_signer_free(s);
	return rc;
}

EVP_PKEY *sk_signer_pub(const struct sk_signer *s)
{
	return s->pkey ? s->pkey : s->key->info.pub;
}

int sk_signer_set_md(struct sk_signer *s, const EVP_MD *md, int pss)
{
	X509_ALGOR *alg = NULL;
	int rc;

	if (!sk_mdalg_allowed(md))
		return sk_err(SK_EUNSUPP, "digest not supported for packages");
	if ((rc = sk_sigalg_make(sk_signer_pub(s), md, pss, &alg)) != SK_OK)
		return sk_err_wrap(rc, "%s", s->what);
	X509_ALGOR_free(alg);
	s->md = md;
	s->pss = pss;
	return SK_OK;
}

int sk_signer_sign_digest(const struct sk_signer *s, const uint8_t *dgst, size_t dlen,
			  struct sk_buf *sig)
{
	EVP_PKEY_CTX *pctx;
	size_t len = 0;
	int rc;

	if (s->key != NULL) {
		if (s->lock != NULL)
			pthread_mutex_lock(s->lock);
		rc = sk_key_sign(s->key, s->md, s->pss, dgst, dlen, sig);
		if (s->lock != NULL)
			pthread_mutex_unlock(s->lock);
		return rc;
	}
	if (s->cache != NULL && s->cache->ctx != NULL) {
		pctx = s->cache->ctx;
	} else {
		pctx = EVP_PKEY_CTX_new_from_pkey(NULL, s->pkey, NULL);
		if (pctx == NULL || EVP_PKEY_sign_init(pctx) <= 0) {
			rc = sk_err_ssl(SK_EUNSUPP, "%s cannot sign", s->what);
			goto out;
		}
		if ((rc = sk_pkey_ctx_sig_setup(pctx, s->pkey, s->md, s->pss, 0)) != SK_OK)
			goto out;
		if (s->cache != NULL)
			s->cache->ctx = pctx;
	}
	if (EVP_PKEY_sign(pctx, NULL, &len, dgst, dlen) <= 0) {
		rc = sk_err_ssl(SK_EFAIL, "signing with %s", s->what);
		goto out;
	}
	if ((rc = sk_buf_reserve(sig, len)) != SK_OK)
		goto out;
	if (EVP_PKEY_sign(pctx, sig->p + sig->len, &len, dgst, dlen) <= 0) {
		rc = sk_err_ssl(SK_EFAIL, "signing with %s", s->what);
		goto out;
	}
	sig->len += len;
	rc = SK_OK;
out:
	if (s->cache == NULL || s->cache->ctx != pctx) {
		EVP_PKEY_CTX_free(pctx);
	} else if (rc != SK_OK) {
		/* A context that failed is not trusted again. */
		EVP_PKEY_CTX_free(pctx);
		s->cache->ctx = NULL;
	}
	return rc;
}

int sk_signer_worker_copy(const struct sk_signer *s, struct sk_signer *copy)
{
	*copy = *s;
	if (s->key != NULL) { /* a backend key signs in its backend: no context */
		copy->cache = NULL;
		return SK_OK;
	}
	if ((copy->cache = calloc(1, sizeof(*copy->cache))) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	return SK_OK;
}

void sk_signer_worker_free(struct sk_signer *copy)
{
	if (copy->cache != NULL) {
		EVP_PKEY_CTX_free(copy->cache->ctx);
		sk_buf_free(&copy->cache->head);
		free(copy->cache);
	}
	memset(copy, 0, sizeof(*copy));
}

void sk_signer_free(struct sk_signer *s)
{
	EVP_PKEY_free(s->pkey);
	sk_key_close(s->key);
	if (s->lock != NULL) {
		pthread_mutex_destroy(s->lock);
		free(s->lock);
	}
	s->pkey = NULL;
	s->key = NULL;
	s->lock = NULL;
}

/* ---- verifier ---- */

static int verifier_finish(struct sk_verifier *v)
{
	int rc;
	EVP_PKEY *pub = sk_verifier_pub(v);

	if (pub == NULL)
		rc = sk_err(SK_EUNSUPP, "%s has no public key to verify with", v->what);
	else if ((rc = pkey_usable(pub, v->what)) == SK_OK)
		rc = sk_pkey_fingerprint(pub, v->fpr);
	if (rc != SK_OK)
		sk_verifier_free(v);
	return rc;
}

int sk_verifier_from_key(struct sk_verifier *v, struct sk_ctx *ctx, const char *name)
{
	int rc;

	memset(v, 0, sizeof(*v));
	snprintf(v->what, sizeof(v->what), "key '%s'", name);
	if ((rc = sk_key_open_public(ctx, name, &v->key)) != SK_OK)
		return rc;
	return verifier_finish(v);
}

int sk_verifier_from_pubkey_file(struct sk_verifier *v, const char *path)
{
	int rc;

	memset(v, 0, sizeof(*v));
	snprintf(v->what, sizeof(v->what), "public key '%s'", path);
	if ((rc = sk_pkey_load(path, NULL, 0, &v->pub)) != SK_OK)
		return rc;
	return verifier_finish(v);
}

int sk_verifier_from_cert_file(struct sk_verifier *v, const char *path)
{
	X509 *x = NULL;
	int rc;

	memset(v, 0, sizeof(*v));
	snprintf(v->what, sizeof(v->what), "certificate '%s'", path);
	if ((rc = sk_x509_load_one(path, &x)) != SK_OK)
		return rc;
	v->pub = X509_get_pubkey(x);
	X509_free(x);
	if (v->pub == NULL)
		return sk_err_ssl(SK_EUNSUPP, "certificate '%s': unsupported public key", path);
	return verifier_finish(v);
}

int sk_verifier_from_cert(struct sk_verifier *v, struct sk_ctx *ctx, const char *path,
			  const char *purpose)
{
	STACK_OF(X509) *certs = NULL;
	struct sk_verify_opts o;
	struct sk_verify_result r;
	X509 *leaf;
	int rc;

	memset(v, 0, sizeof(*v));
	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	snprintf(v->what, sizeof(v->what), "certificate '%s'", path);
	if ((rc = sk_x509_load(path, &certs)) != SK_OK)
		return rc;
	/* The first certificate signs; the others are intermediates. */
	if ((leaf = sk_X509_shift(certs)) == NULL) {
		sk_X509_pop_free(certs, X509_free);
		return sk_err(SK_EVERIFY, "'%s' holds no certificate", path);
	}
	o.untrusted = certs;
	o.purpose = purpose;
	rc = sk_cert_verify(ctx, leaf, &o, &r);
	if (rc == SK_EVERIFY)
		rc = sk_err(SK_EVERIFY, "certificate '%s' does not verify: %s%s%s", path, r.reason,
			    r.subject[0] ? " at " : "", r.subject);
	if (rc == SK_OK && (v->pub = X509_get_pubkey(leaf)) == NULL)
		rc = sk_err_ssl(SK_EUNSUPP, "certificate '%s': unsupported public key", path);
	sk_verify_result_free(&r);
	X509_free(leaf);
	sk_X509_pop_free(certs, X509_free);
	if (rc != SK_OK) {
		sk_verifier_free(v);
		return rc;
	}
	return verifier_finish(v);
}

int sk_verifier_from_pkey(struct sk_verifier *v, EVP_PKEY *pub, const char *what)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->what, sizeof(v->what), "%s", what);
	if (pub == NULL || !EVP_PKEY_up_ref(pub))
		return sk_err(SK_EFAIL, "%s: no public key", what);
	v->pub = pub;
	return verifier_finish(v);
}

EVP_PKEY *sk_verifier_pub(const struct sk_verifier *v)
{
	if (v->pub != NULL)
		return v->pub;
	return v->key ? v->key->info.pub : NULL;
}

void sk_verifier_free(struct sk_verifier *v)
{
	EVP_PKEY_free(v->pub);
	sk_key_close(v->key);
	v->pub = NULL;
	v->key = NULL;
}
