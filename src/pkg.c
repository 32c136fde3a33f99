/* SPDX-License-Identifier: MIT */
/* The shared package-format layer; see pkg.h and docs/formats/README.md. */
#include "pkg.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "backend.h"
#include "crypto.h"
#include "err.h"
#include "keytype.h"
#include "secret.h"
#include "trust.h"
#include "x509.h"

/* ---- types and OIDs ---- */

static const struct {
	enum sk_pkg_type type;
	const char *suffix;
	const char *name;
} pkg_types[] = {
	{ SK_PKG_PAYLOAD, "1.1", "payload" },
	{ SK_PKG_OPAQUE_KEY, "1.2", "opaque-key" },
	{ SK_PKG_OPAQUE_OBJECT, "1.3", "opaque-object" },
	{ SK_PKG_OOID, "1.4", "ooid" },
	{ SK_PKG_STP, "1.5", "stp" },
};

static const char *type_suffix(enum sk_pkg_type t)
{
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(pkg_types); i++)
		if (pkg_types[i].type == t)
			return pkg_types[i].suffix;
	return NULL;
}

const char *sk_pkg_type_name(enum sk_pkg_type t)
{
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(pkg_types); i++)
		if (pkg_types[i].type == t)
			return pkg_types[i].name;
	return "unknown";
}

ASN1_OBJECT *sk_oid(const char *suffix)
{
	char txt[128];
	ASN1_OBJECT *o;

	snprintf(txt, sizeof(txt), "%s.%s", SK_OID_ARC, suffix);
	/* no_name = 1: dotted form only, never a registered short name. */
	if ((o = OBJ_txt2obj(txt, 1)) == NULL)
		sk_err_ssl(SK_EFAIL, "object identifier %s", txt);
	return o;
}

int sk_oid_is(const ASN1_OBJECT *o, const char *suffix)
{
	ASN1_OBJECT *want = sk_oid(suffix);
	int eq = want != NULL && o != NULL && OBJ_cmp(o, want) == 0;

	ASN1_OBJECT_free(want);
	return eq;
}

void sk_oid_text(const ASN1_OBJECT *o, char *buf, size_t n)
{
	if (o == NULL || OBJ_obj2txt(buf, (int)n, o, 1) <= 0)
		snprintf(buf, n, "?");
}

/* ---- templates ---- */

typedef struct {
	ASN1_OBJECT *type;
	ASN1_INTEGER *version;
	X509_ALGOR *sigalg;
	ASN1_OCTET_STRING *signer;
	ASN1_TYPE *body;
} SK_PKG_TBS;

ASN1_SEQUENCE(SK_PKG_TBS) = {
	ASN1_SIMPLE(SK_PKG_TBS, type, ASN1_OBJECT),
	ASN1_SIMPLE(SK_PKG_TBS, version, ASN1_INTEGER),
	ASN1_SIMPLE(SK_PKG_TBS, sigalg, X509_ALGOR),
	ASN1_IMP_OPT(SK_PKG_TBS, signer, ASN1_OCTET_STRING, 0),
	ASN1_SIMPLE(SK_PKG_TBS, body, ASN1_ANY),
} static_ASN1_SEQUENCE_END(SK_PKG_TBS)

typedef struct {
	SK_PKG_TBS *tbs;
	ASN1_OCTET_STRING *sig;
} SK_PKG;

ASN1_SEQUENCE(SK_PKG) = {
	ASN1_SIMPLE(SK_PKG, tbs, SK_PKG_TBS),
	ASN1_SIMPLE(SK_PKG, sig, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(SK_PKG)

DECLARE_ASN1_FUNCTIONS(SK_PKG_TBS)
DECLARE_ASN1_FUNCTIONS(SK_PKG)
IMPLEMENT_ASN1_FUNCTIONS(SK_PKG_TBS)
IMPLEMENT_ASN1_FUNCTIONS(SK_PKG)

int sk_asn1_decode(const ASN1_ITEM *it, const uint8_t *p, size_t n, const char *what,
		   void **out)
{
	const unsigned char *q = p;
	unsigned char *re = NULL;
	ASN1_VALUE *v;
	int len;

	*out = NULL;
	if (n == 0 || n > LONG_MAX)
		return sk_err(SK_EVERIFY, "%s: %s", what, n ? "too large" : "empty");
	v = ASN1_item_d2i(NULL, &q, (long)n, it);
	ERR_clear_error();
	if (v == NULL)
		return sk_err(SK_EVERIFY, "%s: malformed DER", what);
	if ((size_t)(q - p) != n) {
		ASN1_item_free(v, it);
		return sk_err(SK_EVERIFY, "%s: %zu unexpected bytes after the end", what,
			      n - (size_t)(q - p));
	}
	/* DER, not just BER: the value must re-encode to the same bytes. */
	len = ASN1_item_i2d(v, &re, it);
	if (len <= 0 || (size_t)len != n || memcmp(re, p, n) != 0) {
		OPENSSL_free(re);
		ASN1_item_free(v, it);
		ERR_clear_error();
		return sk_err(SK_EVERIFY, "%s: not in canonical DER form", what);
	}
	OPENSSL_free(re);
	*out = v;
	return SK_OK;
}

int sk_asn1_encode(const ASN1_ITEM *it, const void *val, struct sk_buf *out)
{
	unsigned char *der = NULL;
	int len = ASN1_item_i2d((ASN1_VALUE *)val, &der, it);
	int rc;

	if (len <= 0)
		return sk_err_ssl(SK_EFAIL, "DER encoding");
	rc = sk_buf_add(out, der, (size_t)len);
	OPENSSL_free(der);
	return rc;
}

/* ---- algorithm identifiers ---- */

static int md_allowed(const EVP_MD *md)
{
	return md != NULL && strcmp(sk_md_name(md), "unknown") != 0;
}

/*
 * One encoding per digest (docs/formats/README.md): parameters absent for
 * SHA-1, SHA-2 and SHA-3 (RFC 3370 2.1, RFC 5754 2), NULL for MD5 (RFC 3370
 * 2.2, where they MUST be present).  Written here rather than left to
 * X509_ALGOR_set_md's per-digest flags, so that the format is ours and no
 * OpenSSL release can move it.
 */
int sk_mdalg_make(const EVP_MD *md, X509_ALGOR **out)
{
	int nid = EVP_MD_get_type(md);

	if ((*out = X509_ALGOR_new()) == NULL ||
	    !X509_ALGOR_set0(*out, OBJ_nid2obj(nid), nid == NID_md5 ? V_ASN1_NULL : V_ASN1_UNDEF,
			     NULL)) {
		X509_ALGOR_free(*out);
		*out = NULL;
		return sk_err_ssl(SK_EFAIL, "digest algorithm identifier");
	}
	return SK_OK;
}

int sk_mdalg_parse(const X509_ALGOR *alg, const EVP_MD **md)
{
	const ASN1_OBJECT *obj;
	X509_ALGOR *canon = NULL;
	char oid[96];
	int ok;

	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	*md = EVP_get_digestbyobj(obj);
	if (!md_allowed(*md)) {
		sk_oid_text(obj, oid, sizeof(oid));
		return sk_err(SK_EVERIFY, "unknown digest algorithm %s", oid);
	}
	if (sk_mdalg_make(*md, &canon) != SK_OK)
		return SK_EFAIL;
	ok = X509_ALGOR_cmp(canon, alg) == 0;
	X509_ALGOR_free(canon);
	if (!ok)
		return sk_err(SK_EVERIFY, "digest algorithm %s: unexpected parameters",
			      sk_md_name(*md));
	return SK_OK;
}

int sk_sigalg_make(EVP_PKEY *pub, const EVP_MD *md, int pss, X509_ALGOR **out)
{
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char aid[256];
	const unsigned char *q = aid;
	OSSL_PARAM params[2];
	int rc = SK_OK;

	*out = NULL;
	if (pss && !EVP_PKEY_is_a(pub, "RSA"))
		return sk_err(SK_EUNSUPP, "RSA-PSS needs an RSA key");
	/* Let OpenSSL's signature provider write the identifier: it is the
	 * same code that writes them into certificates and CMS. */
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	if (pctx == NULL || EVP_PKEY_verify_init(pctx) <= 0) {
		rc = sk_err_ssl(SK_EUNSUPP, "this key cannot sign");
		goto out;
	}
	if (EVP_PKEY_CTX_set_signature_md(pctx, md) <= 0 ||
	    (EVP_PKEY_is_a(pub, "RSA") &&
	     (EVP_PKEY_CTX_set_rsa_padding(pctx, pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) <= 0 ||
	      (pss && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0)))) {
		ERR_clear_error();
		rc = sk_err(SK_EUNSUPP, "%s%s signatures with %s are not supported",
			    EVP_PKEY_get0_type_name(pub), pss ? "-PSS" : "", sk_md_name(md));
		goto out;
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid,
						      sizeof(aid));
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_CTX_get_params(pctx, params) <= 0 || !OSSL_PARAM_modified(params) ||
	    params[0].return_size == 0 ||
	    (*out = d2i_X509_ALGOR(NULL, &q, (long)params[0].return_size)) == NULL) {
		ERR_clear_error();
		rc = sk_err(SK_EUNSUPP, "no algorithm identifier for %s%s signatures with %s",
			    EVP_PKEY_get0_type_name(pub), pss ? "-PSS" : "", sk_md_name(md));
	}
out:
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

static RSA_PSS_PARAMS *pss_params(const X509_ALGOR *alg)
{
	const void *pval;
	int ptype;

	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	if (ptype != V_ASN1_SEQUENCE)
		return NULL;
	return ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS),
					 (const ASN1_TYPE *)alg->parameter);
}

int sk_sigalg_parse(const X509_ALGOR *alg, const EVP_MD **md, int *pss, const char **family)
{
	const ASN1_OBJECT *obj;
	int nid, mdnid, pknid, ptype;
	char oid[96];

	X509_ALGOR_get0(&obj, &ptype, NULL, alg);
	nid = OBJ_obj2nid(obj);
	*md = NULL;
	*pss = 0;
	*family = NULL;
	if (nid == NID_rsassaPss) {
		RSA_PSS_PARAMS *pp = pss_params(alg);

		if (pp == NULL) {
			ERR_clear_error();
			return sk_err(SK_EVERIFY, "RSA-PSS signature algorithm: malformed parameters");
		}
		*md = pp->hashAlgorithm ? EVP_get_digestbyobj(pp->hashAlgorithm->algorithm)
					: EVP_sha1();
		RSA_PSS_PARAMS_free(pp);
		*pss = 1;
		*family = "RSA";
	} else if (nid != NID_undef && OBJ_find_sigid_algs(nid, &mdnid, &pknid)) {
		*md = EVP_get_digestbynid(mdnid);
		if (pknid == NID_X9_62_id_ecPublicKey)
			*family = "EC";
		else if (pknid == NID_rsaEncryption)
			*family = "RSA";
	}
	if (*family == NULL || !md_allowed(*md)) {
		sk_oid_text(obj, oid, sizeof(oid));
		return sk_err(SK_EVERIFY, "unknown signature algorithm %s", oid);
	}
	/* The rest of the parameters are checked against the canonical
	 * identifier when the key is known (sk_pkg_verify_digest); the
	 * obvious part can be checked now. */
	if (!*pss && ptype != (strcmp(*family, "EC") == 0 ? V_ASN1_UNDEF : V_ASN1_NULL))
		return sk_err(SK_EVERIFY, "signature algorithm: unexpected parameters");
	return SK_OK;
}

void sk_sigalg_describe(const X509_ALGOR *alg, char *buf, size_t n)
{
	const EVP_MD *md;
	const ASN1_OBJECT *obj;
	const char *family;
	int pss;

	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	if (sk_sigalg_parse(alg, &md, &pss, &family) != SK_OK) {
		sk_err_clear();
		sk_oid_text(obj, buf, n);
		return;
	}
	if (pss) {
		RSA_PSS_PARAMS *pp = pss_params(alg);
		const EVP_MD *mgf = NULL;
		long salt = 20;

		if (pp != NULL) {
			X509_ALGOR *m = NULL;

			/* maskHash is only filled by OpenSSL's own PSS decoder:
			 * unpack MGF1's parameter (a digest identifier) here. */
			if (pp->maskGenAlgorithm == NULL)
				mgf = EVP_sha1();
			else if (OBJ_obj2nid(pp->maskGenAlgorithm->algorithm) == NID_mgf1 &&
				 pp->maskGenAlgorithm->parameter != NULL &&
				 (m = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
								pp->maskGenAlgorithm->parameter)) != NULL)
				mgf = EVP_get_digestbyobj(m->algorithm);
			X509_ALGOR_free(m);
			ERR_clear_error();
			if (pp->saltLength)
				salt = ASN1_INTEGER_get(pp->saltLength);
			RSA_PSS_PARAMS_free(pp);
		}
		snprintf(buf, n, "rsassa-pss(%s,mgf1-%s,salt=%ld)", sk_md_name(md),
			 mgf ? sk_md_name(mgf) : "?", salt);
		return;
	}
	snprintf(buf, n, "%s", OBJ_nid2ln(OBJ_obj2nid(obj)));
}

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
	if (rc != SK_OK)
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

	if (!md_allowed(md))
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

	if (s->key != NULL)
		return sk_key_sign(s->key, s->md, s->pss, dgst, dlen, sig);
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
		free(copy->cache);
	}
	memset(copy, 0, sizeof(*copy));
}

void sk_signer_free(struct sk_signer *s)
{
	EVP_PKEY_free(s->pkey);
	sk_key_close(s->key);
	s->pkey = NULL;
	s->key = NULL;
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

/* ---- header encoding ---- */

static int body_check(const uint8_t *body, size_t bodylen)
{
	const unsigned char *q = body;
	long len;
	int tag, cls, r;

	if (bodylen == 0 || bodylen > SK_PKG_TBS_MAX)
		return sk_err(SK_EFAIL, "package body: bad size %zu", bodylen);
	r = ASN1_get_object(&q, &len, &tag, &cls, (long)bodylen);
	ERR_clear_error();
	if ((r & 0x80) || r != V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE ||
	    cls != V_ASN1_UNIVERSAL || (size_t)(q - body) + (size_t)len != bodylen)
		return sk_err(SK_EFAIL, "package body: not one DER SEQUENCE");
	return SK_OK;
}

static int tbs_build(enum sk_pkg_type type, long version, const struct sk_signer *s,
		     const uint8_t *body, size_t bodylen, SK_PKG_TBS **out)
{
	const char *suffix = type_suffix(type);
	SK_PKG_TBS *t = NULL;
	ASN1_STRING *seq = NULL;
	uint8_t fpr[32];
	int rc;

	*out = NULL;
	if (suffix == NULL || version < 1)
		return sk_err(SK_EFAIL, "package type %d version %ld: invalid", (int)type, version);
	if ((rc = body_check(body, bodylen)) != SK_OK)
		return rc;
	if ((t = SK_PKG_TBS_new()) == NULL)
		goto oom;
	ASN1_OBJECT_free(t->type);
	if ((t->type = sk_oid(suffix)) == NULL) {
		rc = SK_EFAIL;
		goto err;
	}
	if (!ASN1_INTEGER_set_int64(t->version, version))
		goto oom;
	X509_ALGOR_free(t->sigalg);
	t->sigalg = NULL;
	if ((rc = sk_sigalg_make(sk_signer_pub(s), s->md, s->pss, &t->sigalg)) != SK_OK)
		goto err;
	if (sk_unhex(fpr, 32, s->fpr) != 0) {
		rc = sk_err(SK_EFAIL, "signer fingerprint");
		goto err;
	}
	if ((t->signer = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(t->signer, fpr, 32))
		goto oom;
	if ((seq = ASN1_STRING_new()) == NULL || !ASN1_STRING_set(seq, body, (int)bodylen))
		goto oom;
	ASN1_TYPE_set(t->body, V_ASN1_SEQUENCE, seq);
	seq = NULL;
	*out = t;
	return SK_OK;
oom:
	rc = sk_err_ssl(SK_EFAIL, "building the package header");
err:
	ASN1_STRING_free(seq);
	SK_PKG_TBS_free(t);
	return rc;
}

int sk_pkg_tbs_encode(enum sk_pkg_type type, long version, const struct sk_signer *s,
		      const uint8_t *body, size_t bodylen, struct sk_buf *tbs)
{
	SK_PKG_TBS *t;
	int rc;

	if ((rc = tbs_build(type, version, s, body, bodylen, &t)) != SK_OK)
		return rc;
	rc = sk_asn1_encode(ASN1_ITEM_rptr(SK_PKG_TBS), t, tbs);
	SK_PKG_TBS_free(t);
	return rc;
}

static int digest(const EVP_MD *md, const uint8_t *p, size_t n, uint8_t *out, size_t *outlen)
{
	unsigned int len;

	if (EVP_Digest(p, n, out, &len, md, NULL) != 1)
		return sk_err_ssl(SK_EFAIL, "digest");
	*outlen = len;
	return SK_OK;
}

int sk_pkg_make(enum sk_pkg_type type, long version, const uint8_t *body, size_t bodylen,
		const struct sk_signer *s, struct sk_buf *out)
{
	struct sk_buf tbs = { 0 }, sig = { 0 };
	uint8_t d[EVP_MAX_MD_SIZE];
	SK_PKG *pkg = NULL;
	size_t dlen = 0;
	int rc;

	if ((pkg = SK_PKG_new()) == NULL)
		return sk_err_ssl(SK_EFAIL, "building the package");
	SK_PKG_TBS_free(pkg->tbs);
	pkg->tbs = NULL;
	if ((rc = tbs_build(type, version, s, body, bodylen, &pkg->tbs)) != SK_OK ||
	    (rc = sk_asn1_encode(ASN1_ITEM_rptr(SK_PKG_TBS), pkg->tbs, &tbs)) != SK_OK ||
	    (rc = digest(s->md, tbs.p, tbs.len, d, &dlen)) != SK_OK ||
	    (rc = sk_signer_sign_digest(s, d, dlen, &sig)) != SK_OK)
		goto out;
	if (!ASN1_OCTET_STRING_set(pkg->sig, sig.p, (int)sig.len)) {
		rc = sk_err_ssl(SK_EFAIL, "building the package");
		goto out;
	}
	rc = sk_asn1_encode(ASN1_ITEM_rptr(SK_PKG), pkg, out);
out:
	SK_PKG_free(pkg);
	sk_buf_free(&tbs);
	sk_buf_free(&sig);
	return rc;
}

/* ---- header decoding ---- */

static const char *type_name_of(const ASN1_OBJECT *o)
{
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(pkg_types); i++)
		if (sk_oid_is(o, pkg_types[i].suffix))
			return pkg_types[i].name;
	return NULL;
}

/* Check a decoded header and fill p (everything but raw and the views). */
static int tbs_check(const SK_PKG_TBS *t, enum sk_pkg_type type, long max_version,
		     struct sk_pkg *p)
{
	const char *suffix = type_suffix(type), *other;
	int64_t ver;
	int rc;

	if (suffix == NULL || !sk_oid_is(t->type, suffix)) {
		char oid[96];

		if ((other = type_name_of(t->type)) != NULL)
			return sk_err(SK_EVERIFY, "wrong package type: %s, expected %s", other,
				      sk_pkg_type_name(type));
		sk_oid_text(t->type, oid, sizeof(oid));
		return sk_err(SK_EVERIFY, "not a seckit package (type %s)", oid);
	}
	if (!ASN1_INTEGER_get_int64(&ver, t->version) || ver < 1 || ver > max_version) {
		ERR_clear_error();
		return sk_err(SK_EVERIFY, "%s package: format version not supported (this seckit reads 1%s%ld)",
			      sk_pkg_type_name(type), max_version > 1 ? " to " : "",
			      max_version > 1 ? max_version : 0L);
	}
	p->type = type;
	p->version = (long)ver;
	if ((rc = sk_sigalg_parse(t->sigalg, &p->md, &p->pss, &p->family)) != SK_OK)
		return rc;
	if ((p->sigalg = X509_ALGOR_dup(t->sigalg)) == NULL)
		return sk_err_ssl(SK_EFAIL, "copying the signature algorithm");
	if (t->signer != NULL) {
		if (ASN1_STRING_length(t->signer) != 32)
			return sk_err(SK_EVERIFY, "signer key id: %d bytes, expected 32",
				      ASN1_STRING_length(t->signer));
		memcpy(p->signer, ASN1_STRING_get0_data(t->signer), 32);
		sk_hex(p->signer_hex, p->signer, 32);
		p->has_signer = 1;
	}
	if (t->body->type != V_ASN1_SEQUENCE)
		return sk_err(SK_EVERIFY, "package body: not a SEQUENCE");
	return SK_OK;
}

/* raw = tbs || [sig] || body; set the views. */
static int fill_raw(struct sk_pkg *p, const SK_PKG_TBS *t, const uint8_t *tbs, size_t tbslen,
		    const uint8_t *sig, size_t siglen)
{
	const ASN1_STRING *b = t->body->value.sequence;
	size_t blen = (size_t)ASN1_STRING_length(b);
	int rc;

	if ((rc = sk_buf_reserve(&p->raw, tbslen + siglen + blen)) != SK_OK)
		return rc;
	sk_buf_add(&p->raw, tbs, tbslen);
	if (siglen)
		sk_buf_add(&p->raw, sig, siglen);
	sk_buf_add(&p->raw, ASN1_STRING_get0_data(b), blen);
	p->tbs = p->raw.p;
	p->tbslen = tbslen;
	p->sig = siglen ? p->raw.p + tbslen : NULL;
	p->siglen = siglen;
	p->body = p->raw.p + tbslen + siglen;
	p->bodylen = blen;
	return SK_OK;
}

int sk_pkg_parse(const uint8_t *der, size_t n, enum sk_pkg_type type, long max_version,
		 struct sk_pkg *p)
{
	struct sk_buf tbs = { 0 };
	SK_PKG *pkg = NULL;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = sk_asn1_decode(ASN1_ITEM_rptr(SK_PKG), der, n,
				 "package", (void **)&pkg)) != SK_OK)
		return rc;
	if ((rc = tbs_check(pkg->tbs, type, max_version, p)) != SK_OK)
		goto out;
	if (ASN1_STRING_length(pkg->sig) < 1 ||
	    (size_t)ASN1_STRING_length(pkg->sig) > SK_PKG_SIG_MAX) {
		rc = sk_err(SK_EVERIFY, "signature: bad length %d", ASN1_STRING_length(pkg->sig));
		goto out;
	}
	/* Strictness above makes the re-encoding the signed input bytes. */
	if ((rc = sk_asn1_encode(ASN1_ITEM_rptr(SK_PKG_TBS), pkg->tbs, &tbs)) != SK_OK)
		goto out;
	rc = fill_raw(p, pkg->tbs, tbs.p, tbs.len, ASN1_STRING_get0_data(pkg->sig),
		      (size_t)ASN1_STRING_length(pkg->sig));
out:
	sk_buf_free(&tbs);
	SK_PKG_free(pkg);
	if (rc != SK_OK)
		sk_pkg_free(p);
	return rc;
}

void sk_pkg_free(struct sk_pkg *p)
{
	X509_ALGOR_free(p->sigalg);
	sk_buf_free(&p->raw);
	memset(p, 0, sizeof(*p));
}

/* ---- verification ---- */

int sk_pkg_precheck(const struct sk_pkg *p, const struct sk_verifier *v)
{
	EVP_PKEY *pub = sk_verifier_pub(v);
	X509_ALGOR *canon = NULL;
	unsigned char *a = NULL, *b = NULL;
	int alen, blen, rc;

	if (p->has_signer && strcmp(p->signer_hex, v->fpr) != 0)
		return sk_err(SK_EVERIFY, "signed by key sha256:%s, not by %s (sha256:%s)",
			      p->signer_hex, v->what, v->fpr);
	if (EVP_MD_get_type(p->md) == NID_md5 && !v->allow_md5)
		return sk_err(SK_EVERIFY, "signed with md5, which is broken (refused without the insecure option)");
	if (!EVP_PKEY_is_a(pub, p->family)) {
		char desc[96];

		sk_sigalg_describe(p->sigalg, desc, sizeof(desc));
		return sk_err(SK_EVERIFY, "signature algorithm %s does not fit %s (%s key)", desc,
			      v->what, EVP_PKEY_get0_type_name(pub));
	}
	/* Parameters exactly as seckit (and OpenSSL) write them. */
	if ((rc = sk_sigalg_make(pub, p->md, p->pss, &canon)) != SK_OK)
		return sk_err_wrap(SK_EVERIFY, "signature algorithm");
	alen = i2d_X509_ALGOR(canon, &a);
	blen = i2d_X509_ALGOR(p->sigalg, &b);
	rc = alen > 0 && alen == blen && memcmp(a, b, (size_t)alen) == 0 ? SK_OK :
		sk_err(SK_EVERIFY, "signature algorithm: unexpected parameters");
	OPENSSL_free(a);
	OPENSSL_free(b);
	X509_ALGOR_free(canon);
	return rc;
}

int sk_pkg_verify_digest(const struct sk_pkg *p, const struct sk_verifier *v,
			 const uint8_t *dgst, size_t dlen, const uint8_t *sig, size_t siglen)
{
	int rc;

	if ((rc = sk_pkg_precheck(p, v)) != SK_OK)
		return rc;
	if (siglen == 0 || siglen > SK_PKG_SIG_MAX)
		return sk_err(SK_EVERIFY, "signature: bad length %zu", siglen);
	if (v->key != NULL)
		rc = sk_key_verify(v->key, p->md, p->pss, dgst, dlen, sig, siglen);
	else
		rc = sk_pkey_verify(v->pub, p->md, p->pss, dgst, dlen, sig, siglen);
	if (rc == SK_EVERIFY)
		return sk_err(SK_EVERIFY, "bad signature: the package was altered or not signed by %s",
			      v->what);
	return rc;
}

int sk_pkg_verify(const struct sk_pkg *p, const struct sk_verifier *v)
{
	uint8_t d[EVP_MAX_MD_SIZE];
	size_t dlen = 0;
	int rc;

	if (p->sig == NULL)
		return sk_err(SK_EFAIL, "package: no signature read");
	if ((rc = sk_pkg_precheck(p, v)) != SK_OK)
		return rc;
	if ((rc = digest(p->md, p->tbs, p->tbslen, d, &dlen)) != SK_OK)
		return rc;
	return sk_pkg_verify_digest(p, v, d, dlen, p->sig, p->siglen);
}

/* ---- streaming ---- */

size_t sk_der_header(uint8_t tag, uint64_t len, uint8_t hdr[10])
{
	size_t n = 0, i;

	hdr[0] = tag;
	if (len < 0x80) {
		hdr[1] = (uint8_t)len;
		return 2;
	}
	for (i = len; i; i >>= 8)
		n++;
	hdr[1] = (uint8_t)(0x80 | n);
	for (i = 0; i < n; i++)
		hdr[2 + i] = (uint8_t)(len >> (8 * (n - 1 - i)));
	return 2 + n;
}

uint64_t sk_der_tlv_size(uint64_t len)
{
	uint8_t hdr[10];

	return sk_der_header(0, len, hdr) + len;
}

/*
 * Hand-written on purpose: OpenSSL's decoders (d2i, ASN1_get_object) work
 * on a buffer holding the whole element, and a payload package is
 * gigabytes.  This reads one identifier octet and the length octets from
 * the stream, no further, and is stricter than BER: low tag numbers only,
 * definite lengths in the minimal number of octets (DER), at most 8 of
 * them.  Everything small is then decoded by the templates.
 */
int sk_der_read_hdr(struct sk_in *in, uint8_t tag, uint64_t max, const char *what,
		    uint64_t *len, uint8_t hdr[10], size_t *hdrlen)
{
	ssize_t r;
	uint64_t v = 0;
	size_t n, i;

	r = sk_in_read(in, hdr, 2);
	if (r < 0)
		return SK_EFAIL;
	if (r < 2)
		return sk_err(SK_EVERIFY, "%s: truncated (%s)", what, r ? "cut in its header" : "missing");
	if (hdr[0] != tag)
		return sk_err(SK_EVERIFY, "%s: unexpected tag 0x%02x (expected 0x%02x)", what,
			      hdr[0], tag);
	*hdrlen = 2;
	if (hdr[1] < 0x80) {
		*len = hdr[1];
	} else {
		n = hdr[1] & 0x7f;
		if (n == 0)
			return sk_err(SK_EVERIFY, "%s: indefinite length (not DER)", what);
		if (n > 8)
			return sk_err(SK_EVERIFY, "%s: length field of %zu octets is too large", what, n);
		r = sk_in_read(in, hdr + 2, n);
		if (r < 0)
			return SK_EFAIL;
		if ((size_t)r < n)
			return sk_err(SK_EVERIFY, "%s: truncated (cut in its header)", what);
		for (i = 0; i < n; i++)
			v = v << 8 | hdr[2 + i];
		if (hdr[2] == 0 || v < 0x80)
			return sk_err(SK_EVERIFY, "%s: length not in minimal form (not DER)", what);
		*len = v;
		*hdrlen = 2 + n;
	}
	if (*len > max)
		return sk_err(SK_EVERIFY, "%s: length %llu exceeds the limit of %llu", what,
			      (unsigned long long)*len, (unsigned long long)max);
	return SK_OK;
}

int sk_pkg_read_head(struct sk_in *in, enum sk_pkg_type type, long max_version,
		     struct sk_pkg *p, uint64_t *outer_left)
{
	uint8_t hdr[10];
	size_t hlen;
	uint64_t outer, tlen;
	struct sk_buf tbs = { 0 };
	SK_PKG_TBS *t = NULL;
	ssize_t r;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = sk_der_read_hdr(in, 0x30, UINT64_MAX >> 1, "package", &outer, hdr, &hlen)) != SK_OK)
		return rc;
	if ((rc = sk_der_read_hdr(in, 0x30, SK_PKG_TBS_MAX, "package header", &tlen, hdr,
				  &hlen)) != SK_OK)
		return rc;
	if (hlen + tlen > outer)
		return sk_err(SK_EVERIFY, "package header: longer than the package");
	if ((rc = sk_buf_reserve(&tbs, hlen + tlen)) != SK_OK)
		return rc;
	sk_buf_add(&tbs, hdr, hlen);
	r = sk_in_read(in, tbs.p + hlen, tlen);
	if (r < 0) {
		rc = SK_EFAIL;
		goto out;
	}
	if ((uint64_t)r != tlen) {
		rc = sk_err(SK_EVERIFY, "package header: truncated");
		goto out;
	}
	tbs.len += tlen;
	if ((rc = sk_asn1_decode(ASN1_ITEM_rptr(SK_PKG_TBS), tbs.p, tbs.len, "package header",
				 (void **)&t)) != SK_OK)
		goto out;
	if ((rc = tbs_check(t, type, max_version, p)) != SK_OK)
		goto out;
	if ((rc = fill_raw(p, t, tbs.p, tbs.len, NULL, 0)) != SK_OK)
		goto out;
	*outer_left = outer - tbs.len;
out:
	SK_PKG_TBS_free(t);
	sk_buf_free(&tbs);
	if (rc != SK_OK)
		sk_pkg_free(p);
	return rc;
}
