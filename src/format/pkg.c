/* SPDX-License-Identifier: MIT */
/* The shared package-format layer; see pkg.h and docs/formats/README.md. */
#include "format/pkg.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "base/err.h"
#include "crypto/sha256kdf.h"

/* ---- types (their OIDs: pkg_alg.c) ---- */

static const struct {
	enum sk_pkg_type type;
	const char *suffix;
	const char *name;
	const char *label;    /* in messages about a damaged one */
	const char *phrase;   /* "this is ..." */
} pkg_types[] = {
	{ SK_PKG_PAYLOAD, "1.1", "payload", "payload package", "a payload package" },
	{ SK_PKG_OPAQUE_KEY, "1.2", "opaque-key", "opaque key", "an opaque key" },
	{ SK_PKG_OPAQUE_OBJECT, "1.3", "opaque-object", "opaque object", "an opaque object" },
	{ SK_PKG_OOID, "1.4", "ooid", "OOID", "an OOID" },
	{ SK_PKG_STP, "1.5", "stp", "STP", "an STP" },
};

static size_t type_index(enum sk_pkg_type t)
{
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(pkg_types); i++)
		if (pkg_types[i].type == t)
			break;
	return i;
}

const char *sk_pkg_kind_phrase(enum sk_pkg_type t)
{
	size_t i = type_index(t);

	return i < SK_ARRAY_SIZE(pkg_types) ? pkg_types[i].phrase : "not a seckit package";
}

static const char *type_label(enum sk_pkg_type t)
{
	size_t i = type_index(t);

	return i < SK_ARRAY_SIZE(pkg_types) ? pkg_types[i].label : "package";
}

/* Skip a tag and length at p[*off] (any length form: the content is not
 * checked here).  0 if the tag differs or the header is cut. */
static int skip_header(const uint8_t *p, size_t n, size_t *off, uint8_t tag)
{
	size_t i = *off, k;

	if (n < 2 || i > n - 2 || p[i] != tag)
		return 0;
	/* Lenient on purpose (indefinite, over-long): the strict reader
	 * that follows names what is wrong with a package of this kind. */
	k = p[i + 1] < 0x80 ? 0 : p[i + 1] & 0x7fu;
	if (k > n - i - 2)
		return 0;
	*off = i + 2 + k;
	return 1;
}

enum sk_pkg_type sk_pkg_kind(const uint8_t *p, size_t n)
{
	enum sk_pkg_type kind = SK_PKG_NONE;
	const unsigned char *q;
	ASN1_OBJECT *o;
	size_t off = 0, i;

	if (!skip_header(p, n, &off, 0x30) || !skip_header(p, n, &off, 0x30) ||
	    n - off < 2 || p[off] != 0x06 || p[off + 1] >= 0x80 || p[off + 1] > n - off - 2)
		return SK_PKG_NONE;
	q = p + off;
	o = d2i_ASN1_OBJECT(NULL, &q, 2 + p[off + 1]);
	ERR_clear_error();
	for (i = 0; o != NULL && i < SK_ARRAY_SIZE(pkg_types); i++)
		if (sk_oid_is(o, pkg_types[i].suffix))
			kind = pkg_types[i].type;
	ASN1_OBJECT_free(o);
	return kind;
}

int sk_pkg_want(enum sk_pkg_type found, enum sk_pkg_type want)
{
	if (found == want)
		return SK_OK;
	if (found == SK_PKG_NONE)
		return sk_err(SK_EVERIFY, "not a seckit package");
	return sk_err(SK_EVERIFY, "%s, not %s", sk_pkg_kind_phrase(found),
		      sk_pkg_kind_phrase(want));
}

int sk_pkg_want_in(struct sk_in *in, enum sk_pkg_type want, enum sk_pkg_type *found)
{
	const uint8_t *p;
	ssize_t r = sk_in_peek(in, SK_PKG_KIND_PEEK, &p);
	enum sk_pkg_type kind;

	if (r < 0)
		return SK_EFAIL;
	kind = sk_pkg_kind(p, (size_t)r);
	if (found != NULL)
		*found = kind;
	return sk_pkg_want(kind, want);
}

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

static int digest_tbs(const EVP_MD *md, const uint8_t *p, size_t n, uint8_t *out, size_t *outlen)
{
	/* SHA-256 without an implicit algorithm fetch per package */
	if (EVP_MD_get_type(md) == NID_sha256) {
		sk_sha256(p, n, out);
		*outlen = 32;
		return SK_OK;
	}
	return digest(md, p, n, out, outlen);
}

/* The header's fields before the body, as the template writes them: a
 * header around the smallest body (an empty SEQUENCE), less that body. */
static int head_prepare(enum sk_pkg_type type, long version, const struct sk_signer *s,
			struct sk_buf *head)
{
	static const uint8_t empty[2] = { 0x30, 0x00 };
	struct sk_buf tbs = { 0 };
	const unsigned char *q;
	long len;
	int tag, cls, r, rc;

	head->len = 0;
	if ((rc = sk_pkg_tbs_encode(type, version, s, empty, sizeof(empty), &tbs)) != SK_OK)
		return rc;
	q = tbs.p;
	r = ASN1_get_object(&q, &len, &tag, &cls, (long)tbs.len);
	ERR_clear_error();
	if ((r & 0x80) || tag != V_ASN1_SEQUENCE || (size_t)(q - tbs.p) + (size_t)len != tbs.len ||
	    len < 2 || memcmp(q + len - 2, empty, 2) != 0)
		rc = sk_err(SK_EFAIL, "package header: unexpected encoding");
	else
		rc = sk_buf_add(head, q, (size_t)len - 2);
	sk_buf_free(&tbs);
	return rc;
}

/*
 * A signer with a cache (a fleet worker's): the header's fields are
 * written once (head_prepare) and each package is assembled as DER
 * around them -- SEQUENCE { SEQUENCE { head, body }, OCTET STRING sig }:
 * the template's bytes, without building and freeing the header's ASN.1
 * objects per package.
 */
static int pkg_make_cached(enum sk_pkg_type type, long version, const uint8_t *body,
			   size_t bodylen, const struct sk_signer *s, struct sk_buf *out)
{
	struct sk_sign_cache *c = s->cache;
	struct sk_buf tbs = { 0 }, sig = { 0 };
	uint8_t d[EVP_MAX_MD_SIZE], hdr[10], shdr[10];
	size_t dlen = 0, h, sh, tlen;
	int rc;

	if ((rc = body_check(body, bodylen)) != SK_OK)
		return rc;
	if (c->head.len == 0 || c->head_type != type || c->head_version != version) {
		if ((rc = head_prepare(type, version, s, &c->head)) != SK_OK)
			return rc;
		c->head_type = type;
		c->head_version = version;
	}
	tlen = c->head.len + bodylen;
	h = sk_der_header(0x30, tlen, hdr);
	if ((rc = sk_buf_reserve(&tbs, h + tlen)) != SK_OK)
		return rc;
	sk_buf_add(&tbs, hdr, h);
	sk_buf_add(&tbs, c->head.p, c->head.len);
	sk_buf_add(&tbs, body, bodylen);
	if ((rc = digest_tbs(s->md, tbs.p, tbs.len, d, &dlen)) != SK_OK ||
	    (rc = sk_signer_sign_digest(s, d, dlen, &sig)) != SK_OK)
		goto out;
	sh = sk_der_header(0x04, sig.len, shdr);
	h = sk_der_header(0x30, tbs.len + sh + sig.len, hdr);
	if ((rc = sk_buf_reserve(out, h + tbs.len + sh + sig.len)) != SK_OK)
		goto out;
	sk_buf_add(out, hdr, h);
	sk_buf_add(out, tbs.p, tbs.len);
	sk_buf_add(out, shdr, sh);
	sk_buf_add(out, sig.p, sig.len);
out:
	sk_buf_free(&tbs);
	sk_buf_free(&sig);
	return rc;
}

int sk_pkg_make(enum sk_pkg_type type, long version, const uint8_t *body, size_t bodylen,
		const struct sk_signer *s, struct sk_buf *out)
{
	struct sk_buf tbs = { 0 }, sig = { 0 };
	uint8_t d[EVP_MAX_MD_SIZE];
	SK_PKG *pkg = NULL;
	size_t dlen = 0;
	int rc;

	if (s->cache != NULL && s->key == NULL)
		return pkg_make_cached(type, version, body, bodylen, s, out);
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
	if ((rc = sk_pkg_want(sk_pkg_kind(der, n), type)) != SK_OK ||
	    (rc = sk_asn1_decode(ASN1_ITEM_rptr(SK_PKG), der, n,
				 type_label(type), (void **)&pkg)) != SK_OK)
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
	char what[64];
	uint8_t hdr[10];
	size_t hlen;
	uint64_t outer, tlen;
	struct sk_buf tbs = { 0 };
	SK_PKG_TBS *t = NULL;
	ssize_t r;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = sk_pkg_want_in(in, type, NULL)) != SK_OK)
		return rc;
	if ((rc = sk_der_read_hdr(in, 0x30, UINT64_MAX >> 1, type_label(type), &outer, hdr,
				  &hlen)) != SK_OK)
		return rc;
	snprintf(what, sizeof(what), "%s header", type_label(type));
	if ((rc = sk_der_read_hdr(in, 0x30, SK_PKG_TBS_MAX, what, &tlen, hdr, &hlen)) != SK_OK)
		return rc;
	if (hlen + tlen > outer)
		return sk_err(SK_EVERIFY, "%s: longer than the package", what);
	if ((rc = sk_buf_reserve(&tbs, hlen + tlen)) != SK_OK)
		return rc;
	sk_buf_add(&tbs, hdr, hlen);
	r = sk_in_read(in, tbs.p + hlen, tlen);
	if (r < 0) {
		rc = SK_EFAIL;
		goto out;
	}
	if ((uint64_t)r != tlen) {
		rc = sk_err(SK_EVERIFY, "%s: truncated", what);
		goto out;
	}
	tbs.len += tlen;
	if ((rc = sk_asn1_decode(ASN1_ITEM_rptr(SK_PKG_TBS), tbs.p, tbs.len, what,
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
