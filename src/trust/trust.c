/* SPDX-License-Identifier: MIT */
#include "trust/trust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base/err.h"
#include "keys/keys.h"
#include "trust/x509.h"

/* Attribute tags of certificate objects (docs/formats/stp.md). */
enum {
	A_KIND = 1,
	A_KEY = 2,
	A_ORIGIN = 3,
	A_ADDED = 4,
	A_CA = 5,      /* u64: 1 if a CA certificate (a candidate anchor) */
	A_SUBJ = 6,    /* u64: X509_NAME_hash_ex of the subject */
	A_ISS = 7,     /* u64: ... and of the issuer */
	A_CHAIN = 8,   /* DER certificates, one after another: the leaf's
			* intermediates (never anchors), its issuer first */
};

/* Room for A_CHAIN in the attributes (SK_STORE_META_MAX, less the rest). */
#define CHAIN_MAX 60000

#define CRL_OBJ "crl"
#define CLOCK_OBJ "clock"
#define CRL_MAX (16u << 20)
#define CLOCK_GRANULE 3600 /* seconds between clock notes on verify */

/* ---- the CRL state object: DER, OpenSSL templates ---- */

typedef struct {
	X509_NAME *issuer;
	ASN1_INTEGER *serial;
	ASN1_GENERALIZEDTIME *revoked_at;
	X509 *cert;
} SK_REVOKED;
DEFINE_STACK_OF(SK_REVOKED)

ASN1_SEQUENCE(SK_REVOKED) = {
	ASN1_SIMPLE(SK_REVOKED, issuer, X509_NAME),
	ASN1_SIMPLE(SK_REVOKED, serial, ASN1_INTEGER),
	ASN1_SIMPLE(SK_REVOKED, revoked_at, ASN1_GENERALIZEDTIME),
	ASN1_EXP_OPT(SK_REVOKED, cert, X509, 0),
} static_ASN1_SEQUENCE_END(SK_REVOKED)
IMPLEMENT_STATIC_ASN1_ALLOC_FUNCTIONS(SK_REVOKED)

typedef struct {
	ASN1_INTEGER *version;
	STACK_OF(SK_REVOKED) *entries;
} SK_CRLSTATE;

ASN1_SEQUENCE(SK_CRLSTATE) = {
	ASN1_SIMPLE(SK_CRLSTATE, version, ASN1_INTEGER),
	ASN1_SEQUENCE_OF(SK_CRLSTATE, entries, SK_REVOKED),
} static_ASN1_SEQUENCE_END(SK_CRLSTATE)
IMPLEMENT_STATIC_ASN1_ALLOC_FUNCTIONS(SK_CRLSTATE)
IMPLEMENT_STATIC_ASN1_ENCODE_FUNCTIONS(SK_CRLSTATE)

struct sk_crl {
	SK_CRLSTATE *s;
};

static int kind_by_name(const uint8_t *p, size_t n)
{
	int k;

	for (k = SK_CERT_PROVISIONED; k <= SK_CERT_CSR; k++)
		if (strlen(sk_cert_kind_name(k)) == n && memcmp(p, sk_cert_kind_name(k), n) == 0)
			return k;
	return 0;
}

/* The hash OpenSSL's certificate directories use (of the canonical
 * encoding, so names that X509_NAME_cmp finds equal hash equally). */
static uint64_t name_hash(const X509_NAME *n)
{
	int ok = 0;
	unsigned long h = X509_NAME_hash_ex(n, NULL, NULL, &ok);

	ERR_clear_error();
	return ok ? (uint64_t)h : 0;
}

void sk_cert_free(struct sk_cert *c)
{
	X509_free(c->x509);
	X509_REQ_free(c->req);
	sk_X509_pop_free(c->chain, X509_free);
	sk_buf_free(&c->der);
	c->x509 = NULL;
	c->req = NULL;
	c->chain = NULL;
}

static int attr_str(const struct sk_obj_info *o, uint8_t tag, char *out, size_t len)
{
	const uint8_t *p;
	size_t n;
	int r = sk_attr_get(o->meta, o->metalen, tag, &p, &n);

	out[0] = '\0';
	if (r == 0)
		return SK_OK;
	if (r < 0 || n >= len || memchr(p, '\0', n))
		return sk_err(SK_EVERIFY, "certificate '%s': attributes are malformed", o->name);
	memcpy(out, p, n);
	out[n] = '\0';
	return SK_OK;
}

static int parse_meta(const struct sk_obj_info *o, struct sk_cert *c)
{
	const uint8_t *p;
	size_t n;
	int rc;

	snprintf(c->name, sizeof(c->name), "%s", o->name);
	if (sk_attr_get(o->meta, o->metalen, A_KIND, &p, &n) != 1 ||
	    (c->kind = kind_by_name(p, n)) == 0 ||
	    sk_attr_get_u64(o->meta, o->metalen, A_ADDED, &c->added) < 0)
		return sk_err(SK_EVERIFY, "certificate '%s': attributes are malformed", o->name);
	if ((rc = attr_str(o, A_KEY, c->key, sizeof(c->key))) != SK_OK ||
	    (rc = attr_str(o, A_ORIGIN, c->origin, sizeof(c->origin))) != SK_OK)
		return rc;
	return SK_OK;
}

/* A_CHAIN, if any, into c->chain. */
static int parse_chain(const struct sk_obj_info *o, struct sk_cert *c)
{
	const uint8_t *p, *end;
	size_t n;
	int r = sk_attr_get(o->meta, o->metalen, A_CHAIN, &p, &n);

	if (r == 0)
		return SK_OK;
	if (r < 0 || n == 0 || (c->chain = sk_X509_new_null()) == NULL)
		goto bad;
	for (end = p + n; p < end;) {
		const unsigned char *q = p;
		X509 *x = d2i_X509(NULL, &q, (long)(end - p));

		if (x == NULL)
			goto bad;
		if (!sk_X509_push(c->chain, x)) {
			X509_free(x);
			goto bad;
		}
		p = q;
	}
	return SK_OK;
bad:
	ERR_clear_error();
	return sk_err(SK_EVERIFY, "certificate '%s': its chain is malformed", o->name);
}

/* Load one object (header already known or not) into c. */
static int load_cert(struct sk_store *st, const char *name, struct sk_cert *c)
{
	struct sk_obj_info o;
	char what[300];
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = sk_store_get(st, SK_NS_CERT, name, SK_X509_MAX, &o, &c->der)) != SK_OK) {
		if (rc == SK_ENOTFOUND)
			sk_err(rc, "certificate '%s': not found", name);
		return rc;
	}
	rc = parse_meta(&o, c);
	if (rc == SK_OK)
		rc = parse_chain(&o, c);
	sk_obj_info_free(&o);
	if (rc != SK_OK)
		goto fail;
	snprintf(what, sizeof(what), "certificate '%s' in the store", name);
	if (c->kind == SK_CERT_CSR)
		rc = sk_x509_req_parse(c->der.p, c->der.len, what, &c->req);
	else
		rc = sk_x509_parse_one(c->der.p, c->der.len, what, &c->x509);
	if (rc == SK_OK)
		return SK_OK;
fail:
	sk_cert_free(c);
	return rc;
}

int sk_cert_get(struct sk_ctx *ctx, const char *name, struct sk_cert *out)
{
	struct sk_store *st;
	struct sk_crl *crl = NULL;
	int rc, device;

	memset(out, 0, sizeof(*out));
	if ((rc = sk_cert_sources(ctx, &st, &device)) != SK_OK)
		return rc;
	rc = st != NULL ? load_cert(st, name, out) : SK_ENOTFOUND;
	if (rc == SK_ENOTFOUND && device)
		rc = sk_cert_device_get(ctx, name, out);
	if (rc != SK_OK)
		return rc;
	if (out->x509 != NULL && st != NULL) {
		if ((rc = sk_crl_load(st, &crl)) != SK_OK) {
			sk_cert_free(out);
			return rc;
		}
		out->revoked = sk_crl_is_revoked(crl, out->x509);
		sk_crl_free(crl);
	}
	return SK_OK;
}

struct list_arg {
	struct sk_store *st;
	struct sk_crl *crl;
	unsigned kinds;
	sk_cert_list_fn fn;
	void *arg;
};

static int list_one(const struct sk_obj_info *o, void *arg)
{
	struct list_arg *l = arg;
	struct sk_cert c;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = parse_meta(o, &c)) != SK_OK)
		return rc;
	if (l->kinds && !(l->kinds & (1u << c.kind)))
		return 0;
	if ((rc = load_cert(l->st, o->name, &c)) != SK_OK)
		return rc;
	if (c.x509 != NULL)
		c.revoked = sk_crl_is_revoked(l->crl, c.x509);
	rc = l->fn(&c, l->arg);
	sk_cert_free(&c);
	return rc;
}

static int list_device(const struct sk_cert *c, void *arg)
{
	struct list_arg *l = arg;
	struct sk_cert v = *c;

	v.revoked = l->crl != NULL && sk_crl_is_revoked(l->crl, c->x509);
	return l->fn(&v, l->arg);
}

int sk_cert_list(struct sk_ctx *ctx, unsigned kinds, sk_cert_list_fn fn, void *arg)
{
	struct list_arg l = { NULL, NULL, kinds, fn, arg };
	int rc, device;

	if ((rc = sk_cert_sources(ctx, &l.st, &device)) != SK_OK)
		return rc;
	if (l.st != NULL && (rc = sk_crl_load(l.st, &l.crl)) != SK_OK)
		return rc;
	rc = l.st != NULL ? sk_store_list(l.st, SK_NS_CERT, list_one, &l) : SK_OK;
	if (rc == SK_OK && device && (!kinds || (kinds & (1u << SK_CERT_PROVISIONED))))
		rc = sk_cert_device_list(ctx, l.st, list_device, &l);
	sk_crl_free(l.crl);
	return rc;
}

/* ---- CRL ---- */

int sk_crl_load(struct sk_store *st, struct sk_crl **out)
{
	struct sk_buf b = { 0 };
	struct sk_crl *crl;
	const unsigned char *q;
	int rc;

	*out = NULL;
	if ((crl = calloc(1, sizeof(*crl))) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	/* No store: no CRL installed, as in a store without one. */
	rc = st != NULL ? sk_store_get(st, SK_NS_STATE, CRL_OBJ, CRL_MAX, NULL, &b) : SK_ENOTFOUND;
	if (rc == SK_ENOTFOUND) {
		sk_err_clear();
		crl->s = SK_CRLSTATE_new();
		if (crl->s == NULL || !ASN1_INTEGER_set(crl->s->version, 1)) {
			sk_crl_free(crl);
			return sk_err_ssl(SK_EFAIL, "CRL");
		}
		*out = crl;
		return SK_OK;
	}
	if (rc != SK_OK) {
		free(crl);
		return rc;
	}
	q = b.p;
	crl->s = d2i_SK_CRLSTATE(NULL, &q, (long)b.len);
	if (crl->s == NULL || q != b.p + b.len || ASN1_INTEGER_get(crl->s->version) != 1) {
		ERR_clear_error();
		sk_buf_free(&b);
		sk_crl_free(crl);
		return sk_err(SK_EVERIFY, "the CRL in the store is malformed");
	}
	sk_buf_free(&b);
	*out = crl;
	return SK_OK;
}

void sk_crl_free(struct sk_crl *crl)
{
	if (crl == NULL)
		return;
	SK_CRLSTATE_free(crl->s);
	free(crl);
}

static int crl_find(const struct sk_crl *crl, const X509_NAME *issuer, const ASN1_INTEGER *serial)
{
	int i, n = crl ? sk_SK_REVOKED_num(crl->s->entries) : 0;

	for (i = 0; i < n; i++) {
		const SK_REVOKED *r = sk_SK_REVOKED_value(crl->s->entries, i);

		if (ASN1_INTEGER_cmp(r->serial, serial) == 0 && X509_NAME_cmp(r->issuer, issuer) == 0)
			return i;
	}
	return -1;
}

int sk_crl_is_revoked(const struct sk_crl *crl, X509 *x)
{
	return crl_find(crl, X509_get_issuer_name(x), X509_get0_serialNumber(x)) >= 0;
}

int sk_crl_each(const struct sk_crl *crl, sk_crl_fn fn, void *arg)
{
	int i, rc, n = sk_SK_REVOKED_num(crl->s->entries);

	for (i = 0; i < n; i++) {
		const SK_REVOKED *r = sk_SK_REVOKED_value(crl->s->entries, i);
		struct sk_crl_entry e;

		memset(&e, 0, sizeof(e));
		sk_x509_name_str(r->issuer, e.issuer, sizeof(e.issuer));
		sk_x509_serial_str(r->serial, e.serial, sizeof(e.serial));
		if (sk_asn1_time_epoch(r->revoked_at, &e.revoked_at) != SK_OK)
			e.revoked_at = 0;
		e.cert = r->cert;
		if ((rc = fn(&e, arg)) != 0)
			return rc;
	}
	return SK_OK;
}

/* ---- time ---- */

int sk_trust_time(struct sk_store *st, enum sk_clock clock, int64_t *now)
{
	uint64_t floor;
	int rc;

	*now = (int64_t)time(NULL);
	if (clock != SK_CLOCK_MONOTONIC || st == NULL)
		return SK_OK;
	if ((rc = sk_state_get_u64(st, CLOCK_OBJ, &floor)) != SK_OK)
		return rc;
	if ((int64_t)floor > *now)
		*now = (int64_t)floor;
	return SK_OK;
}

int sk_trust_clock_seen(struct sk_store *st, int64_t *seen)
{
	uint64_t floor = 0;
	int rc;

	*seen = 0;
	if ((rc = sk_state_get_u64(st, CLOCK_OBJ, &floor)) != SK_OK)
		return rc;
	*seen = floor > INT64_MAX ? INT64_MAX : (int64_t)floor;
	return SK_OK;
}

int sk_trust_clock_txn(struct sk_txn *t, int64_t t_seen)
{
	uint64_t floor, now = (uint64_t)time(NULL);
	int rc;

	if ((rc = sk_state_get_u64(sk_txn_store(t), CLOCK_OBJ, &floor)) != SK_OK)
		return rc;
	if (t_seen > 0 && (uint64_t)t_seen > now)
		now = (uint64_t)t_seen;
	if (now <= floor)
		return SK_OK;
	return sk_state_put_u64(t, CLOCK_OBJ, now);
}

void sk_trust_clock_note(struct sk_store *st, enum sk_clock clock)
{
	struct sk_txn *t = NULL;
	uint64_t floor;

	if (clock != SK_CLOCK_MONOTONIC || sk_state_get_u64(st, CLOCK_OBJ, &floor) != SK_OK)
		goto out;
	/* Only once in a while: a note costs a locked, fsync'd write. */
	if ((uint64_t)time(NULL) < floor + CLOCK_GRANULE)
		goto out;
	if (sk_txn_begin(st, &t) != SK_OK)
		goto out;
	if (sk_trust_clock_txn(t, 0) == SK_OK) {
		sk_txn_commit(t);
		t = NULL;
	}
out:
	sk_txn_abort(t);
	sk_err_clear();
}

/* ---- verification ---- */

void sk_verify_result_free(struct sk_verify_result *r)
{
	sk_X509_pop_free(r->chain, X509_free);
	r->chain = NULL;
}

/*
 * Revocation against our offline CRL.  OpenSSL's own check wants CRLs
 * signed by each issuer; ours is a list installed by signed STPs, so the
 * check is replaced (X509_STORE_set_check_revocation) by this one, which
 * runs on every verification and looks at every certificate of the chain,
 * the anchor included: a revoked CA anchors nothing.
 */
static int check_revocation(X509_STORE_CTX *xctx)
{
	const struct sk_crl *crl = X509_STORE_CTX_get_app_data(xctx);
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(xctx);
	X509_STORE_CTX_verify_cb cb = X509_STORE_CTX_get_verify_cb(xctx);
	int i;

	for (i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		if (!sk_crl_is_revoked(crl, x))
			continue;
		X509_STORE_CTX_set_error_depth(xctx, i);
		X509_STORE_CTX_set_current_cert(xctx, x);
		X509_STORE_CTX_set_error(xctx, X509_V_ERR_CERT_REVOKED);
		if (cb == NULL || !cb(0, xctx))
			return 0;
	}
	return 1;
}

/*
 * Anchors.  Decoding a certificate (its public key above all) is most of
 * the cost of a verification, so not every CA of the store is decoded:
 * OpenSSL finds issuers and trusted certificates only by subject name, so
 * the only anchors that can take part are those whose subject is a name of
 * the chain (the subject or issuer of the certificate or of an offered
 * intermediate), or the issuer of such an anchor, and so on.  The subject
 * and issuer hashes kept with each certificate select them; a hash
 * collision only decodes one more, and an entry without hashes is always
 * decoded.
 */
struct cand {
	char name[SK_STORE_NAME_MAX + 1];
	uint64_t subj, iss;
	int hashed, selected;
};

struct anchors {
	struct cand *v;
	size_t n, cap;
};

static int gather(const struct sk_obj_info *o, void *arg)
{
	struct anchors *a = arg;
	struct sk_cert c;
	struct cand *x;
	uint64_t ca = 1;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = parse_meta(o, &c)) != SK_OK)
		return rc;
	/* Provisioned certificates anchor chains only when they are CAs (the
	 * OEM root, the cloud root); the device certificate does not. */
	if (c.kind == SK_CERT_CSR ||
	    (sk_attr_get_u64(o->meta, o->metalen, A_CA, &ca) == 1 && ca == 0))
		return 0;
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 16;

		if ((x = realloc(a->v, cap * sizeof(*x))) == NULL)
			return sk_err(SK_EFAIL, "out of memory");
		a->v = x;
		a->cap = cap;
	}
	x = &a->v[a->n++];
	memset(x, 0, sizeof(*x));
	snprintf(x->name, sizeof(x->name), "%s", o->name);
	x->hashed = sk_attr_get_u64(o->meta, o->metalen, A_SUBJ, &x->subj) == 1 &&
		    sk_attr_get_u64(o->meta, o->metalen, A_ISS, &x->iss) == 1;
	return 0;
}

static int wanted(const uint64_t *names, size_t n, uint64_t h)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] == h)
			return 1;
	return 0;
}

/* Select the candidates that can take part in a chain for leaf. */
static int select_anchors(struct anchors *a, X509 *leaf, STACK_OF(X509) *untrusted)
{
	size_t n = 0, i, cap = 2 * ((size_t)sk_X509_num(untrusted) + 1) + a->n;
	uint64_t *names = calloc(cap, sizeof(*names));
	int j, more = 1;

	if (names == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	for (j = -1; j < sk_X509_num(untrusted); j++) {
		X509 *x = j < 0 ? leaf : sk_X509_value(untrusted, j);

		names[n++] = name_hash(X509_get_subject_name(x));
		names[n++] = name_hash(X509_get_issuer_name(x));
	}
	/* Entries stored without hashes: decode everything. */
	for (i = 0; i < a->n; i++)
		if (!a->v[i].hashed)
			break;
	if (i < a->n) {
		for (i = 0; i < a->n; i++)
			a->v[i].selected = 1;
		more = 0;
	}
	while (more) {
		more = 0;
		for (i = 0; i < a->n; i++) {
			struct cand *c = &a->v[i];

			if (c->selected || (c->hashed && !wanted(names, n, c->subj)))
				continue;
			c->selected = 1;
			if (c->hashed && !wanted(names, n, c->iss)) {
				names[n++] = c->iss;
				more = 1;
			}
		}
	}
	free(names);
	return SK_OK;
}

static int load_anchors(struct sk_store *st, struct anchors *a, X509_STORE *xs)
{
	struct sk_cert c;
	size_t i;
	int rc;

	for (i = 0; i < a->n; i++) {
		if (!a->v[i].selected)
			continue;
		if ((rc = load_cert(st, a->v[i].name, &c)) != SK_OK)
			return rc;
		if (c.x509 != NULL && X509_check_ca(c.x509) >= 1 && !X509_STORE_add_cert(xs, c.x509))
			rc = sk_err_ssl(SK_EFAIL, "certificate '%s'", c.name);
		sk_cert_free(&c);
		if (rc != SK_OK)
			return rc;
	}
	return SK_OK;
}

int sk_cert_verify(struct sk_ctx *ctx, X509 *leaf, const struct sk_verify_opts *o,
		   struct sk_verify_result *r)
{
	struct anchors a = { NULL, 0, 0 };
	const struct sk_policy *pol;
	struct sk_store *st;
	struct sk_crl *crl = NULL;
	X509_STORE *xs = NULL;
	X509_STORE_CTX *xctx = NULL;
	X509_VERIFY_PARAM *vp;
	int rc, ok, i;

	memset(r, 0, sizeof(*r));
	/* The operation starts here (cert verify, and the --cert verifier of
	 * pkg.h): the store and the clock policy are resolved once. */
	if ((rc = o->store_optional ? sk_ctx_store_if_any(ctx, &st) : sk_ctx_store(ctx, 0, &st)) != SK_OK)
		return rc;
	if (o->at != 0)
		r->time = o->at;
	else if ((rc = sk_ctx_policy(ctx, &pol)) != SK_OK ||
		 (rc = sk_trust_time(st, pol->clock, &r->time)) != SK_OK)
		return rc;
	if ((rc = sk_crl_load(st, &crl)) != SK_OK)
		return rc;
	if ((xs = X509_STORE_new()) == NULL || (xctx = X509_STORE_CTX_new()) == NULL) {
		rc = sk_err_ssl(SK_EFAIL, "verification");
		goto out;
	}
	X509_STORE_set_check_revocation(xs, check_revocation);
	if (o->anchors != NULL) {
		for (i = 0; i < sk_X509_num(o->anchors); i++)
			if (!X509_STORE_add_cert(xs, sk_X509_value(o->anchors, i))) {
				rc = sk_err_ssl(SK_EFAIL, "CA certificate %d", i + 1);
				goto out;
			}
		a.n = (size_t)sk_X509_num(o->anchors);
	} else if (st != NULL && ((rc = sk_store_list(st, SK_NS_CERT, gather, &a)) != SK_OK ||
				  (rc = select_anchors(&a, leaf, o->untrusted)) != SK_OK ||
				  (rc = load_anchors(st, &a, xs)) != SK_OK)) {
		goto out;
	}
	if (!X509_STORE_CTX_init(xctx, xs, leaf, o->untrusted)) {
		rc = sk_err_ssl(SK_EFAIL, "verification");
		goto out;
	}
	X509_STORE_CTX_set_app_data(xctx, crl);
	vp = X509_STORE_CTX_get0_param(xctx);
	/* Every certificate of the CA store is an anchor, intermediate CAs
	 * included (the store is curated by signed STPs). */
	X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_PARTIAL_CHAIN);
	X509_VERIFY_PARAM_set_time(vp, (time_t)r->time);
	if (o->host != NULL &&
	    !(X509_VERIFY_PARAM_set1_ip_asc(vp, o->host) == 1 ||
	      (ERR_clear_error(), X509_VERIFY_PARAM_set1_host(vp, o->host, 0) == 1))) {
		rc = sk_err_ssl(SK_EUSAGE, "host name '%s'", o->host);
		goto out;
	}
	if (o->purpose != NULL) {
		int idx = sk_x509_purpose_index(o->purpose);

		if (idx < 0) {
			rc = sk_err(SK_EUSAGE, "unknown purpose '%s' (expected one of: %s)", o->purpose,
				    SK_PURPOSES);
			goto out;
		}
		if (!X509_STORE_CTX_set_purpose(xctx, X509_PURPOSE_get_id(X509_PURPOSE_get0(idx)))) {
			rc = sk_err_ssl(SK_EFAIL, "purpose '%s'", o->purpose);
			goto out;
		}
	}
	ok = X509_verify_cert(xctx);
	r->chain = X509_STORE_CTX_get1_chain(xctx);
	if (ok == 1) {
		r->verified = 1;
		rc = SK_OK;
	} else {
		X509 *cur = X509_STORE_CTX_get_current_cert(xctx);

		r->error = X509_STORE_CTX_get_error(xctx);
		r->depth = X509_STORE_CTX_get_error_depth(xctx);
		if (r->error == X509_V_OK) /* internal failure, not a verdict */
			r->error = X509_V_ERR_UNSPECIFIED;
		snprintf(r->reason, sizeof(r->reason), "%s", X509_verify_cert_error_string(r->error));
		sk_x509_name_str(X509_get_subject_name(cur ? cur : leaf), r->subject,
				 sizeof(r->subject));
		if (a.n == 0 && (r->error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
				 r->error == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
				 r->error == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN))
			snprintf(r->reason + strlen(r->reason), sizeof(r->reason) - strlen(r->reason),
				 " (the store holds no CA certificate)");
		rc = sk_err(SK_EVERIFY, "'%s': %s (depth %d)", r->subject, r->reason, r->depth);
	}
	ERR_clear_error();
out:
	X509_STORE_CTX_free(xctx);
	X509_STORE_free(xs);
	free(a.v);
	sk_crl_free(crl);
	return rc;
}

/* ---- changes ---- */

static int put_obj(struct sk_txn *t, const char *name, int kind, const char *key,
		   const char *origin, const struct sk_buf *der, X509 *x,
		   const struct sk_buf *chain)
{
	struct sk_buf meta = { 0 };
	int rc;

	if ((rc = sk_attr_put_str(&meta, A_KIND, sk_cert_kind_name(kind))) == SK_OK &&
	    (x == NULL || (rc = sk_attr_put_u64(&meta, A_CA, X509_check_ca(x) >= 1)) == SK_OK) &&
	    (x == NULL || (rc = sk_attr_put_u64(&meta, A_SUBJ, name_hash(X509_get_subject_name(x)))) == SK_OK) &&
	    (x == NULL || (rc = sk_attr_put_u64(&meta, A_ISS, name_hash(X509_get_issuer_name(x)))) == SK_OK) &&
	    (rc = sk_attr_put_u64(&meta, A_ADDED, (uint64_t)time(NULL))) == SK_OK &&
	    (rc = sk_attr_put_str(&meta, A_ORIGIN, origin ? origin : "")) == SK_OK &&
	    (!key || !key[0] || (rc = sk_attr_put_str(&meta, A_KEY, key)) == SK_OK) &&
	    (chain == NULL || chain->len == 0 ||
	     (rc = sk_attr_put(&meta, A_CHAIN, chain->p, chain->len)) == SK_OK))
		rc = sk_txn_put(t, SK_NS_CERT, name, meta.p, meta.len, der->p, der->len);
	sk_buf_free(&meta);
	return rc;
}

/* The existing object of name: SK_OK (c filled), SK_ENOTFOUND (c empty). */
static int existing(struct sk_store *st, const char *name, struct sk_cert *c)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = load_cert(st, name, c);
	if (rc == SK_ENOTFOUND)
		sk_err_clear();
	return rc;
}

static int check_name(const char *name)
{
	if (!sk_name_valid(name))
		return sk_err(SK_EUSAGE, "'%s' is not a valid certificate name (letters, digits, '.', '_', '@', '+', '-')",
			      name);
	return SK_OK;
}

/* Which key a provisioned certificate carries: the one given, else the
 * link kept with the certificate, else the device key for the device
 * certificate, else none. */
static void link_of(const struct sk_policy *pol, const char *name, const struct sk_cert *old,
		    const char *given, char key[256])
{
	key[0] = '\0';
	if (given != NULL)
		snprintf(key, 256, "%s", given);
	else if (old != NULL && old->key[0])
		memcpy(key, old->key, 256);
	else if (strcmp(name, pol->role[SK_ROLE_DEVICE_CERT]) == 0)
		snprintf(key, 256, "%s", pol->role[SK_ROLE_DEVICE_KEY]);
}

/* SK_BY_KEYHOLDER's condition: x is no CA and certifies key, a private
 * key of the store. */
static int keyholder_check(struct sk_store *st, const char *name, X509 *x, const char *key)
{
	struct sk_keyinfo k;
	int rc, ok;

	if (X509_check_ca(x) >= 1)
		return sk_err(SK_EVERIFY, "certificate '%s' is a CA certificate: a trust change", name);
	if (key[0] == '\0')
		return sk_err(SK_EVERIFY, "certificate '%s' is linked to no key of the store", name);
	if ((rc = sk_key_info_st(st, key, &k)) != SK_OK)
		return rc;
	ok = !(k.flags & SK_KEY_PUBLIC_ONLY) && k.pub != NULL &&
	     EVP_PKEY_eq(k.pub, X509_get0_pubkey(x)) == 1;
	ERR_clear_error();
	sk_keyinfo_free(&k);
	if (!ok)
		return sk_err(SK_EVERIFY, "certificate '%s' does not certify the private key '%s' of the store",
			      name, key);
	return SK_OK;
}

int sk_trust_chain_der(STACK_OF(X509) *chain, struct sk_buf *out)
{
	int i, rc = SK_OK;

	memset(out, 0, sizeof(*out));
	for (i = 0; rc == SK_OK && i < sk_X509_num(chain); i++) {
		struct sk_buf one = { 0 };

		if ((rc = sk_x509_der(sk_X509_value(chain, i), &one)) == SK_OK)
			rc = sk_buf_add(out, one.p, one.len);
		sk_buf_free(&one);
	}
	if (rc == SK_OK && out->len > CHAIN_MAX)
		rc = sk_err(SK_EVERIFY, "the chain's certificates take %zu bytes (at most %u)", out->len,
			    CHAIN_MAX);
	if (rc != SK_OK)
		sk_buf_free(out);
	return rc;
}

int sk_trust_set_cert_txn(struct sk_txn *t, const struct sk_backend_ref *be,
			  const struct sk_policy *pol, const char *name, X509 *x,
			  const char *key_name, const char *origin, enum sk_trust_by by)
{
	return sk_trust_set_cert_chain_txn(t, be, pol, name, x, NULL, key_name, origin, by);
}

int sk_trust_set_cert_chain_txn(struct sk_txn *t, const struct sk_backend_ref *be,
				const struct sk_policy *pol, const char *name, X509 *x,
				STACK_OF(X509) *chain, const char *key_name, const char *origin,
				enum sk_trust_by by)
{
	struct sk_store *st = sk_txn_store(t);
	struct sk_cert old;
	struct sk_keyinfo k;
	struct sk_buf der = { 0 }, chain_der = { 0 };
	EVP_PKEY *pub = X509_get0_pubkey(x);
	char key[256];
	int rc, have_old = 0;

	if ((rc = check_name(name)) != SK_OK)
		return rc;
	if (key_name != NULL && !sk_name_valid(key_name))
		return sk_err(SK_EUSAGE, "'%s' is not a valid key name", key_name);
	if (pub == NULL)
		return sk_err_ssl(SK_EVERIFY, "certificate '%s': unusable public key", name);
	rc = existing(st, name, &old);
	if (rc == SK_OK) {
		have_old = 1;
		if (old.kind != SK_CERT_PROVISIONED) {
			rc = sk_err(SK_EEXIST, "'%s' is a %s, not a provisioned certificate", name,
				    old.kind == SK_CERT_CA ? "CA certificate" : "certificate request");
			goto out;
		}
	} else if (rc != SK_ENOTFOUND) {
		return rc;
	}
	link_of(pol, name, have_old ? &old : NULL, key_name, key);
	if ((rc = sk_x509_der(x, &der)) != SK_OK)
		goto out;
	/* The same certificate without a chain given keeps the chain it has
	 * (a manifest or an STP that installs it again). */
	if (chain == NULL && have_old && der.len == old.der.len &&
	    memcmp(der.p, old.der.p, der.len) == 0)
		chain = old.chain;
	if ((rc = sk_trust_chain_der(chain, &chain_der)) != SK_OK)
		goto out;
	/* A certificate for a private key the store holds changes no trust;
	 * anything else from a key holder is a local change. */
	if (by == SK_BY_KEYHOLDER) {
		if ((rc = keyholder_check(st, name, x, key)) != SK_OK)
			goto out;
	}
	/* The same certificate with the same link is no change. */
	if (by != SK_BY_KEYHOLDER && have_old &&
	    (der.len != old.der.len || memcmp(der.p, old.der.p, der.len) != 0 ||
	     strcmp(key, old.key) != 0) &&
	    (rc = sk_trust_guard(st, by, "certificate", name, "replaced")) != SK_OK)
		goto out;
	if (by == SK_BY_KEYHOLDER)
		by = SK_BY_LOCAL;
	if (key[0]) {
		rc = sk_key_info_st(st, key, &k);
		if (rc == SK_ENOTFOUND) {
			/* The certificate brings its key. */
			sk_err_clear();
			rc = sk_key_txn_put_public(t, be, key, pub, SK_KEY_PROVISIONED, origin, by);
		} else if (rc == SK_OK) {
			if (!(k.flags & SK_KEY_PUBLIC_ONLY)) {
				/* A private key (the device key) never changes
				 * here; its certificate must match it. */
				if (k.pub == NULL || EVP_PKEY_eq(k.pub, pub) != 1)
					rc = sk_err(SK_EVERIFY, "certificate '%s' does not match the public key of key '%s'",
						    name, key);
			} else if (k.pub == NULL || EVP_PKEY_eq(k.pub, pub) != 1 ||
				   !(k.flags & SK_KEY_PROVISIONED)) {
				rc = sk_key_txn_put_public(t, be, key, pub, SK_KEY_PROVISIONED,
							   origin, by);
			}
			ERR_clear_error();
			sk_keyinfo_free(&k);
		}
		if (rc != SK_OK)
			goto out;
	}
	rc = put_obj(t, name, SK_CERT_PROVISIONED, key, origin, &der, x, &chain_der);
out:
	sk_buf_free(&der);
	sk_buf_free(&chain_der);
	if (have_old)
		sk_cert_free(&old);
	return rc;
}

int sk_trust_ca_txn(struct sk_txn *t, const char *name, X509 *x, int update, const char *origin,
		    enum sk_trust_by by)
{
	struct sk_store *st = sk_txn_store(t);
	struct sk_cert old;
	struct sk_buf der = { 0 };
	int rc, kind, same;

	if ((rc = check_name(name)) != SK_OK)
		return rc;
	if (X509_check_ca(x) < 1)
		return sk_err(SK_EVERIFY, "the certificate for CA '%s' is not a CA certificate", name);
	if ((rc = sk_x509_der(x, &der)) != SK_OK)
		return rc;
	rc = existing(st, name, &old);
	if (rc == SK_OK) {
		kind = old.kind;
		same = der.len == old.der.len && memcmp(der.p, old.der.p, der.len) == 0;
		sk_cert_free(&old);
		if (!update)
			rc = sk_err(SK_EEXIST, "certificate '%s' already exists", name);
		else if (kind != SK_CERT_CA)
			rc = sk_err(SK_EEXIST, "'%s' is a %s certificate, not a CA of the CA store",
				    name, sk_cert_kind_name(kind));
		else if (!same)
			rc = sk_trust_guard(st, by, "CA", name, "replaced");
	} else if (rc == SK_ENOTFOUND) {
		rc = update ? sk_err(SK_ENOTFOUND, "CA '%s': not found", name) : SK_OK;
	}
	if (rc == SK_OK)
		rc = put_obj(t, name, SK_CERT_CA, NULL, origin, &der, x, NULL);
	sk_buf_free(&der);
	return rc;
}

int sk_trust_ca_delete_txn(struct sk_txn *t, const char *name, enum sk_trust_by by)
{
	struct sk_store *st = sk_txn_store(t);
	struct sk_cert old;
	int rc, kind;

	if ((rc = check_name(name)) != SK_OK)
		return rc;
	rc = existing(st, name, &old);
	if (rc == SK_ENOTFOUND)
		return sk_err(SK_ENOTFOUND, "CA '%s': not found", name);
	if (rc != SK_OK)
		return rc;
	kind = old.kind;
	sk_cert_free(&old);
	if (kind != SK_CERT_CA)
		return sk_err(SK_EUNSUPP, "'%s' is a %s certificate, not a CA of the CA store", name,
			      sk_cert_kind_name(kind));
	if ((rc = sk_trust_guard(st, by, "CA", name, "deleted")) != SK_OK)
		return rc;
	return sk_txn_del(t, SK_NS_CERT, name);
}

int sk_trust_revoke_txn(struct sk_txn *t, const X509_NAME *issuer, const ASN1_INTEGER *serial,
			X509 *cert, int *changed)
{
	struct sk_crl *crl = NULL;
	SK_REVOKED *r = NULL;
	unsigned char *der = NULL;
	int rc, n;

	*changed = 0;
	if ((rc = sk_crl_load(sk_txn_store(t), &crl)) != SK_OK)
		return rc;
	if (crl_find(crl, issuer, serial) >= 0)
		goto out;
	if ((r = SK_REVOKED_new()) == NULL || !X509_NAME_set(&r->issuer, issuer) ||
	    !ASN1_STRING_copy(r->serial, serial) ||
	    !ASN1_GENERALIZEDTIME_set(r->revoked_at, time(NULL)) ||
	    (cert != NULL && (r->cert = X509_dup(cert)) == NULL) ||
	    !sk_SK_REVOKED_push(crl->s->entries, r)) {
		rc = sk_err_ssl(SK_EFAIL, "CRL");
		goto out;
	}
	r = NULL;
	if ((n = i2d_SK_CRLSTATE(crl->s, &der)) <= 0) {
		rc = sk_err_ssl(SK_EFAIL, "encoding the CRL");
		goto out;
	}
	if ((rc = sk_txn_put(t, SK_NS_STATE, CRL_OBJ, NULL, 0, der, (size_t)n)) == SK_OK)
		*changed = 1;
out:
	OPENSSL_free(der);
	SK_REVOKED_free(r);
	sk_crl_free(crl);
	return rc;
}

int sk_trust_put_csr_txn(struct sk_txn *t, const char *name, X509_REQ *req, const char *origin)
{
	struct sk_cert old;
	struct sk_buf der = { 0 };
	int rc;

	if ((rc = check_name(name)) != SK_OK)
		return rc;
	rc = existing(sk_txn_store(t), name, &old);
	if (rc == SK_OK) {
		int kind = old.kind;

		sk_cert_free(&old);
		if (kind != SK_CERT_CSR)
			return sk_err(SK_EEXIST, "'%s' is a %s certificate, not a certificate request",
				      name, sk_cert_kind_name(kind));
	} else if (rc != SK_ENOTFOUND) {
		return rc;
	}
	if ((rc = sk_x509_req_der(req, &der)) == SK_OK)
		rc = put_obj(t, name, SK_CERT_CSR, NULL, origin, &der, NULL, NULL);
	sk_buf_free(&der);
	return rc;
}
