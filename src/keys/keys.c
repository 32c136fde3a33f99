/* SPDX-License-Identifier: MIT */
#include "keys/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "keys/devkey.h"
#include "keys/password.h"
#include "crypto/sha256kdf.h"
#include "store/store.h"
#include "store/trust_lock.h"

/* Attribute tags of key objects (docs/formats/store.md). */
enum {
	A_TYPE = 1,
	A_FLAGS = 2,
	A_PWOBJ = 3,
	A_PUB = 4,
	A_BACKEND = 5,
	A_CREATED = 6,
	A_ORIGIN = 7,
};

#define KEY_BODY_MAX (64u << 10)

EVP_PKEY *sk_keyinfo_pub(struct sk_keyinfo *k)
{
	const unsigned char *q = k->pubder;

	if (k->pub != NULL)
		return k->pub;
	if (k->pubder == NULL) {
		sk_err(SK_EUNSUPP, "key '%s' (%s) has no public part", k->name,
		       k->type ? k->type->name : "?");
		return NULL;
	}
	k->pub = d2i_PUBKEY(NULL, &q, (long)k->publen);
	if (k->pub == NULL || q != k->pubder + k->publen) {
		ERR_clear_error();
		EVP_PKEY_free(k->pub);
		k->pub = NULL;
		sk_err(SK_EVERIFY, "key '%s': public key is malformed", k->name);
	}
	return k->pub;
}

static int get_str(const struct sk_obj_info *o, uint8_t tag, char *out, size_t outlen, int required)
{
	const uint8_t *p;
	size_t n;
	int r = sk_attr_get(o->meta, o->metalen, tag, &p, &n);

	out[0] = '\0';
	if (r == 0 && !required)
		return SK_OK;
	if (r != 1 || n >= outlen || memchr(p, '\0', n))
		return sk_err(SK_EVERIFY, "key '%s': attributes are malformed", o->name);
	memcpy(out, p, n);
	out[n] = '\0';
	return SK_OK;
}

static int parse_info(const struct sk_obj_info *o, struct sk_keyinfo *k, int want_pub)
{
	char type[32];
	const uint8_t *p;
	uint64_t flags = 0, created = 0;
	size_t n;
	int rc;

	memset(k, 0, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", o->name);
	if ((rc = get_str(o, A_TYPE, type, sizeof(type), 1)) != SK_OK ||
	    (rc = get_str(o, A_PWOBJ, k->pwobj, sizeof(k->pwobj), 0)) != SK_OK ||
	    (rc = get_str(o, A_BACKEND, k->backend, sizeof(k->backend), 1)) != SK_OK ||
	    (rc = get_str(o, A_ORIGIN, k->origin, sizeof(k->origin), 0)) != SK_OK)
		return rc;
	if (sk_attr_get_u64(o->meta, o->metalen, A_FLAGS, &flags) != 1 ||
	    sk_attr_get_u64(o->meta, o->metalen, A_CREATED, &created) < 0)
		return sk_err(SK_EVERIFY, "key '%s': attributes are malformed", o->name);
	k->flags = (unsigned)flags;
	k->created = created;
	if ((k->type = sk_keytype_by_name(type)) == NULL)
		return sk_err(SK_EVERIFY, "key '%s': unknown key type '%s'", o->name, type);
	if (sk_keytype_is_asym(k->type)) {
		uint8_t md[32];

		if (sk_attr_get(o->meta, o->metalen, A_PUB, &p, &n) != 1 || n == 0)
			return sk_err(SK_EVERIFY, "key '%s': public key missing", o->name);
		if ((k->pubder = malloc(n)) == NULL)
			return sk_err(SK_EFAIL, "out of memory");
		memcpy(k->pubder, p, n);
		k->publen = n;
		/* The fingerprint is over the DER as stored: it was written by
		 * i2d_PUBKEY, so it is what `openssl pkey -pubout -outform DER`
		 * gives, and no key needs to be decoded to show it. */
		sk_sha256(p, n, md);
		sk_hex(k->fingerprint, md, sizeof(md));
		if (want_pub && sk_keyinfo_pub(k) == NULL) {
			sk_keyinfo_free(k);
			return SK_EVERIFY;
		}
	}
	return SK_OK;
}

/*
 * Keys of a backend with its own catalogue (pkcs11: the token's objects,
 * backend.h key_find): the device is their source of truth, so nothing
 * about them is in the store.  A name is looked up in the store first,
 * then on the device; the store is optional for them (a device's keys
 * work before any store exists).
 */

/* The backend of this run, opened, if it keeps its own catalogue; else
 * *be = NULL. */
static int catalogue(struct sk_ctx *ctx, struct sk_backend **be)
{
	return sk_devkey_backend(ctx, be);
}

/* The store for a lookup: optional when the backend has a catalogue. */
static int lookup_store(struct sk_ctx *ctx, struct sk_backend *cat, struct sk_store **st)
{
	return cat != NULL ? sk_ctx_store_if_any(ctx, st) : sk_ctx_store(ctx, 0, st);
}

static int key_info_st(struct sk_store *st, const char *name, struct sk_keyinfo *out,
		       int want_pub)
{
	struct sk_obj_info o;
	int rc;

	if ((rc = sk_store_stat(st, SK_NS_KEY, name, &o)) != SK_OK)
		return rc;
	rc = parse_info(&o, out, want_pub);
	sk_obj_info_free(&o);
	return rc;
}

static int key_info(struct sk_ctx *ctx, const char *name, struct sk_keyinfo *out, int want_pub)
{
	struct sk_backend *cat;
	struct sk_store *st;
	int rc;

	if ((rc = catalogue(ctx, &cat)) != SK_OK || (rc = lookup_store(ctx, cat, &st)) != SK_OK)
		return rc;
	rc = st != NULL ? key_info_st(st, name, out, want_pub) : SK_ENOTFOUND;
	if (rc == SK_ENOTFOUND && cat != NULL)
		rc = sk_devkey_find(cat, name, out, NULL, 1);
	return rc;
}

int sk_key_info(struct sk_ctx *ctx, const char *name, struct sk_keyinfo *out)
{
	return key_info(ctx, name, out, 1);
}

int sk_key_info_st(struct sk_store *st, const char *name, struct sk_keyinfo *out)
{
	return key_info_st(st, name, out, 1);
}

int sk_key_stat(struct sk_ctx *ctx, const char *name, struct sk_keyinfo *out)
{
	return key_info(ctx, name, out, 0);
}

/*
 * key list: by name, then type (devkey.c cmp_key), whatever the backend.
 * The store lists its keys by name; the device's (a token's, few) are
 * listed first, sorted, and each given just before the first store key
 * whose name sorts after it.
 */
struct list_arg {
	sk_key_list_fn fn;
	void *arg;
	struct sk_devkey_listing dev; /* the device's keys not given yet */
	size_t next;
};

/* The device's keys before name (NULL: all that are left). */
static int device_before(struct list_arg *l, const char *name)
{
	int rc = SK_OK;

	while (rc == SK_OK && l->next < l->dev.n &&
	       (name == NULL || strcmp(l->dev.v[l->next].name, name) < 0))
		rc = l->fn(&l->dev.v[l->next++], l->arg);
	return rc;
}

static int list_one(const struct sk_obj_info *o, void *arg)
{
	struct list_arg *l = arg;
	struct sk_keyinfo k;
	int rc = device_before(l, o->name);

	if (rc != SK_OK || (rc = parse_info(o, &k, 1)) != SK_OK)
		return rc;
	rc = l->fn(&k, l->arg);
	sk_keyinfo_free(&k);
	return rc;
}

int sk_key_list(struct sk_ctx *ctx, sk_key_list_fn fn, void *arg)
{
	struct list_arg l = { fn, arg, { NULL, 0, 0 }, 0 };
	struct sk_backend *be;
	struct sk_store *st;
	int rc;

	if ((rc = catalogue(ctx, &be)) != SK_OK || (rc = lookup_store(ctx, be, &st)) != SK_OK ||
	    (be != NULL && (rc = sk_devkey_list(be, st, &l.dev)) != SK_OK))
		return rc;
	if (st != NULL)
		rc = sk_store_list(st, SK_NS_KEY, list_one, &l);
	if (rc == SK_OK)
		rc = device_before(&l, NULL);
	sk_devkey_listing_free(&l.dev);
	return rc;
}


static int build_meta(const struct sk_key_new *req, const char *backend, unsigned flags,
		      EVP_PKEY *pub, struct sk_buf *meta)
{
	unsigned char *der = NULL;
	int n, rc;

	if ((rc = sk_attr_put_str(meta, A_TYPE, req->type->name)) != SK_OK ||
	    (rc = sk_attr_put_u64(meta, A_FLAGS, flags)) != SK_OK ||
	    (rc = sk_attr_put_str(meta, A_BACKEND, backend)) != SK_OK ||
	    (rc = sk_attr_put_u64(meta, A_CREATED, (uint64_t)time(NULL))) != SK_OK ||
	    (rc = sk_attr_put_str(meta, A_ORIGIN, req->origin)) != SK_OK)
		return rc;
	if (req->pwobj != NULL && (rc = sk_attr_put_str(meta, A_PWOBJ, req->pwobj)) != SK_OK)
		return rc;
	if (pub != NULL) {
		n = i2d_PUBKEY(pub, &der);
		if (n <= 0)
			return sk_err_ssl(SK_EFAIL, "encoding public key");
		rc = sk_attr_put(meta, A_PUB, der, (size_t)n);
		OPENSSL_free(der);
	}
	return rc;
}

static int wrap_label(const char *name, char out[300])
{
	snprintf(out, 300, "key/%s", name);
	return SK_OK;
}

/* SK_OK if no key is called name, SK_EEXIST (saying whether the holder is
 * provisioned) if one is, SK_EVERIFY if it is a locked trust anchor, or
 * the store's error. */
static int name_free(struct sk_store *st, const char *name)
{
	struct sk_obj_info o;
	struct sk_keyinfo k;
	int rc = sk_store_stat(st, SK_NS_KEY, name, &o), provisioned;

	if (rc == SK_ENOTFOUND)
		return SK_OK;
	if (rc != SK_OK)
		return rc;
	provisioned = parse_info(&o, &k, 0) == SK_OK && (k.flags & SK_KEY_PROVISIONED);
	sk_keyinfo_free(&k);
	sk_obj_info_free(&o);
	if (!provisioned)
		return sk_err(SK_EEXIST, "key '%s' already exists", name);
	if ((rc = sk_trust_guard(st, SK_BY_LOCAL, "key", name, "replaced")) != SK_OK)
		return rc;
	return sk_err(SK_EEXIST, "key '%s' already exists and is provisioned (only an STP can replace it)",
		      name);
}

/* An EC key given with explicit curve parameters (which
 * sk_keytype_of_pkey matched to a named curve) is kept and exported in the
 * named-curve form that RFC 5480 asks for, in the store and on a device
 * alike (the pkcs11 backend records the public key it is given as the
 * token object's CKA_PUBLIC_KEY_INFO). */
static int named_curve(const struct sk_key_new *req)
{
	if (req->pkey != NULL && EVP_PKEY_is_a(req->pkey, "EC") &&
	    EVP_PKEY_set_utf8_string_param(req->pkey, OSSL_PKEY_PARAM_EC_ENCODING,
					   OSSL_PKEY_EC_ENCODING_GROUP) != 1)
		return sk_err_ssl(SK_EFAIL, "key '%s': EC parameters", req->name);
	return SK_OK;
}

/*
 * A provisioned device key: the device holds the key, the store the
 * record of it (SK_KEY_DEVICE, with the trust-anchor mark the device
 * cannot hold and the public key the device's key must keep) -- what
 * keys.c and provision make of a device key that becomes a trust anchor.
 */

static int record_device(struct sk_store *st, struct sk_backend *be, const char *name,
		     const struct sk_keytype *kt, EVP_PKEY *pub, unsigned flags)
{
	struct sk_key_new req;
	struct sk_buf meta = { 0 };
	struct sk_txn *t = NULL;
	int rc;

	memset(&req, 0, sizeof(req));
	req.name = name;
	req.type = kt;
	req.origin = "device";
	flags = (flags & SK_KEY_PROVISIONED) | SK_KEY_DEVICE;
	if ((rc = build_meta(&req, be->ops->name, flags, pub, &meta)) != SK_OK ||
	    (rc = sk_txn_begin(st, &t)) != SK_OK)
		goto out;
	/* Someone may have taken the name meanwhile. */
	if ((rc = name_free(st, name)) != SK_OK ||
	    (rc = sk_txn_put(t, SK_NS_KEY, name, meta.p, meta.len, NULL, 0)) != SK_OK)
		goto out;
	rc = sk_txn_commit(t);
	t = NULL;
out:
	sk_txn_abort(t);
	sk_buf_free(&meta);
	return rc;
}

static int adopt_device(struct sk_store *st, struct sk_backend *be, const char *name, unsigned flags)
{
	struct sk_keyinfo k;
	int rc;

	if ((rc = name_free(st, name)) != SK_OK || (rc = sk_devkey_find(be, name, &k, NULL, 1)) != SK_OK)
		return rc;
	/* A trust anchor's private key never leaves the device: a key the
	 * device would give out was perhaps given out already. */
	if (k.flags & SK_KEY_EXPORTABLE)
		rc = sk_err(SK_EVERIFY, "key '%s' on the device can be extracted (not sensitive, or extractable): it cannot become a provisioned key",
			    name);
	else
		rc = record_device(st, be, name, k.type, k.pub, flags);
	sk_keyinfo_free(&k);
	return rc;
}

/* A new key made in a device with its own catalogue: named there, and
 * nothing in the store. */
static int add_device_key(struct sk_ctx *ctx, struct sk_backend *be, const struct sk_key_new *req,
			  int generate)
{
	struct sk_store *st;
	struct sk_keyinfo k;
	EVP_PKEY *pub = NULL;
	unsigned cap = generate ? SK_CAP_GENERATE : SK_CAP_IMPORT;
	int rc;

	if (req->pwobj != NULL)
		return sk_err(SK_EUNSUPP, "backend %s: the device's PIN guards its keys, not a password object",
			      be->ops->name);
	if (req->flags & SK_KEY_EXPORTABLE)
		return sk_err(SK_EUNSUPP, "backend %s keeps private keys in the device: they cannot be made exportable",
			      be->ops->name);
	if (!(be->ops->caps(be, req->type) & cap))
		return sk_err(SK_EUNSUPP, "backend '%s' cannot %s %s keys", be->ops->name,
			      generate ? "generate" : "import", req->type->name);
	/* A trust anchor is recorded in the store too (devkey.h). */
	if ((rc = (req->flags & SK_KEY_PROVISIONED) ? sk_ctx_store(ctx, 1, &st)
						      : sk_ctx_store_if_any(ctx, &st)) != SK_OK ||
	    (st != NULL && (rc = name_free(st, req->name)) != SK_OK))
		return rc;
	/* Whether the name is taken: the public key is not needed. */
	rc = sk_devkey_find(be, req->name, &k, NULL, 0);
	if (rc == SK_OK) {
		sk_keyinfo_free(&k);
		return sk_err(SK_EEXIST, "key '%s' already exists (in the device)", req->name);
	}
	if (rc != SK_ENOTFOUND)
		return rc;
	sk_err_clear();
	if (generate) {
		rc = be->ops->key_create(be, req->name, req->type, &pub);
	} else if ((rc = named_curve(req)) == SK_OK &&
		   (rc = be->ops->key_import(be, req->name, req->type, req->pkey, req->raw,
					     req->rawlen)) == SK_OK &&
		   req->pkey != NULL && !EVP_PKEY_up_ref(req->pkey)) {
		rc = sk_err_ssl(SK_EFAIL, "key");
	} else if (rc == SK_OK) {
		pub = req->pkey;
	}
	if (rc == SK_OK && (req->flags & SK_KEY_PROVISIONED) &&
	    (rc = record_device(st, be, req->name, req->type, pub, req->flags)) != SK_OK) {
		struct sk_err_saved e;

		/* No trust anchor that the store does not record. */
		sk_err_save(&e);
		sk_devkey_delete(be, req->name);
		sk_err_restore(&e);
	}
	EVP_PKEY_free(pub);
	return rc;
}

/* A key is checked the way its password object is (password.h): a
 * backend that checks passwords itself takes only objects it checks, so
 * that no verifier for its keys' password sits in the store; other
 * backends take only objects checked in software. */
static int binding_ok(struct sk_backend *be, const char *obj, const char *checker)
{
	if (checker[0] == '\0' && be->ops->auth_new != NULL)
		return sk_err(SK_EUNSUPP, "password object '%s' is checked in software (its password could be guessed offline from the store): a %s key needs one that the backend checks (one created on backend %s)",
			      obj, be->ops->name, be->ops->name);
	if (checker[0] != '\0' && !sk_backend_is(be, checker))
		return sk_err(SK_EUNSUPP, "password object '%s' is checked by backend '%s': it guards %s keys only",
			      obj, checker, checker);
	return SK_OK;
}

/*
 * Shared by generate and import.  The slow parts (the password's scrypt,
 * key generation -- seconds for RSA-4096 or in a TPM) run before the
 * store's writer lock is taken, so other writers do not wait for them; the
 * name is checked before (to fail fast) and again under the lock.
 */
static int add_key(struct sk_ctx *ctx, const struct sk_key_new *req, int generate)
{
	struct sk_store *st;
	struct sk_backend *be;
	struct sk_txn *t = NULL;
	struct sk_buf blob = { 0 }, body = { 0 }, meta = { 0 };
	EVP_PKEY *pub = NULL;
	unsigned flags = req->flags & (SK_KEY_EXPORTABLE | SK_KEY_PROVISIONED | SK_KEY_PUBLIC_ONLY);
	struct sk_pwunlock pw;
	const struct sk_auth *auth = NULL;
	char label[300];
	int rc, have_root = 0, committed = 0;

	memset(&pw, 0, sizeof(pw));
	if (!sk_name_valid(req->name))
		return sk_err(SK_EUSAGE, "'%s' is not a valid key name (letters, digits, '.', '_', '@', '+', '-')",
			      req->name);
	if (generate)
		flags &= ~(unsigned)SK_KEY_PUBLIC_ONLY;
	if (flags & SK_KEY_PUBLIC_ONLY) {
		if (req->pwobj != NULL)
			return sk_err(SK_EUSAGE, "a public key cannot be bound to a password object");
		if (flags & SK_KEY_EXPORTABLE)
			return sk_err(SK_EUSAGE, "only a private key can be made exportable");
	}
	if ((rc = sk_ctx_store(ctx, 1, &st)) != SK_OK || (rc = sk_ctx_backend(ctx, &be)) != SK_OK)
		return rc;
	if (!(flags & SK_KEY_PUBLIC_ONLY)) {
		unsigned need = generate ? SK_CAP_GENERATE : SK_CAP_IMPORT;

		if (!(be->ops->caps(be, req->type) & need))
			return sk_err(SK_EUNSUPP, "backend '%s' cannot %s %s keys", be->ops->name,
				      generate ? "generate" : "import", req->type->name);
	}
	if ((rc = name_free(st, req->name)) != SK_OK || (rc = named_curve(req)) != SK_OK)
		return rc;
	if (req->pwobj != NULL) {
		char what[300], checker[16];

		snprintf(what, sizeof(what), "key '%s'", req->name);
		/* Checked now even where the backend checks it: a key bound
		 * with a mistyped password would never open. */
		if ((rc = sk_password_checker(ctx, req->pwobj, checker)) != SK_OK ||
		    (rc = binding_ok(be, req->pwobj, checker)) != SK_OK ||
		    (rc = sk_password_unlock(ctx, req->pwobj, req->pass_spec, what, SK_PW_CHECK,
					     &pw)) != SK_OK)
			goto out;
		if (pw.checker[0])
			auth = &pw.auth;
		else
			have_root = 1;
	}
	if (generate) {
		rc = be->ops->generate(be, req->type, flags & SK_KEY_EXPORTABLE, auth, &blob, &pub);
	} else if (!(flags & SK_KEY_PUBLIC_ONLY)) {
		rc = be->ops->import(be, req->type, req->pkey, req->raw, req->rawlen,
				     flags & SK_KEY_EXPORTABLE, auth, &blob);
		if (rc == SK_OK && req->pkey != NULL && !EVP_PKEY_up_ref(req->pkey))
			rc = sk_err_ssl(SK_EFAIL, "key");
		if (rc == SK_OK)
			pub = req->pkey;
	} else {
		if (!EVP_PKEY_up_ref(req->pkey))
			rc = sk_err_ssl(SK_EFAIL, "key");
		pub = req->pkey;
	}
	if (rc != SK_OK)
		goto out;
	if (have_root) {
		wrap_label(req->name, label);
		rc = sk_pw_wrap(pw.root, label, blob.p, blob.len, &body);
	} else {
		rc = sk_buf_add(&body, blob.p, blob.len);
	}
	if (rc != SK_OK)
		goto out;
	{
		struct sk_key_new r = *req;

		if (r.origin == NULL)
			r.origin = generate ? "generated" : "imported";
		rc = build_meta(&r, be->ops->name, flags, pub, &meta);
	}
	if (rc != SK_OK)
		goto out;
	if ((rc = sk_txn_begin(st, &t)) != SK_OK)
		goto out;
	/* Someone may have taken the name meanwhile. */
	if ((rc = name_free(st, req->name)) != SK_OK)
		goto out;
	if ((rc = sk_txn_put(t, SK_NS_KEY, req->name, meta.p, meta.len, body.p, body.len)) != SK_OK)
		goto out;
	rc = sk_txn_commit(t);
	t = NULL;
	committed = rc == SK_OK;
out:
	sk_txn_abort(t);
	/* A backend that holds something for the blob (a token object, a
	 * persistent handle) must not keep it when the key was not stored. */
	if (!committed && blob.len > 0 && be->ops->destroy != NULL)
		be->ops->destroy(be, req->type, blob.p, blob.len);
	sk_pwunlock_cleanse(&pw);
	EVP_PKEY_free(pub);
	sk_buf_cleanse_free(&blob);
	sk_buf_cleanse_free(&body);
	sk_buf_free(&meta);
	return rc;
}

int sk_key_generate(struct sk_ctx *ctx, const struct sk_key_new *req)
{
	struct sk_backend *cat;
	int rc;

	if (!sk_name_valid(req->name))
		return add_key(ctx, req, 1); /* says what is wrong with it */
	if ((rc = catalogue(ctx, &cat)) != SK_OK)
		return rc;
	return cat != NULL ? add_device_key(ctx, cat, req, 1) : add_key(ctx, req, 1);
}

int sk_key_import(struct sk_ctx *ctx, const struct sk_key_new *req)
{
	struct sk_backend *cat = NULL;
	int rc;

	if (sk_keytype_is_asym(req->type) ? req->pkey == NULL : req->raw == NULL)
		return sk_err(SK_EUSAGE, "no key material for a %s key", req->type->name);
	/* A private key goes into a device with its own catalogue; a public
	 * key is the store's. */
	if (sk_name_valid(req->name) && !(req->flags & SK_KEY_PUBLIC_ONLY) &&
	    (rc = catalogue(ctx, &cat)) != SK_OK)
		return rc;
	return cat != NULL ? add_device_key(ctx, cat, req, 0) : add_key(ctx, req, 0);
}

/* The lock's part of sk_key_txn_put_public: may name become pub? */
static int put_allowed(struct sk_store *st, const char *name, EVP_PKEY *pub, enum sk_trust_by by)
{
	struct sk_obj_info o;
	struct sk_keyinfo k;
	unsigned char *der = NULL;
	int rc, n, same;

	if (by == SK_BY_STP)
		return SK_OK;
	rc = sk_store_stat(st, SK_NS_KEY, name, &o);
	if (rc == SK_ENOTFOUND) {
		sk_err_clear();
		return SK_OK;
	}
	if (rc != SK_OK)
		return rc;
	rc = parse_info(&o, &k, 0);
	sk_obj_info_free(&o);
	if (rc != SK_OK)
		return rc;
	if (!(k.flags & SK_KEY_PROVISIONED)) {
		sk_keyinfo_free(&k);
		return SK_OK;
	}
	/* The same public key again (provisioned already) is no change. */
	if ((n = i2d_PUBKEY(pub, &der)) <= 0) {
		sk_keyinfo_free(&k);
		return sk_err_ssl(SK_EFAIL, "encoding public key");
	}
	same = (k.flags & SK_KEY_PUBLIC_ONLY) && k.pubder != NULL && k.publen == (size_t)n &&
	       memcmp(k.pubder, der, (size_t)n) == 0;
	OPENSSL_free(der);
	sk_keyinfo_free(&k);
	return same ? SK_OK : sk_trust_guard(st, by, "key", name, "replaced");
}

int sk_key_txn_put_public(struct sk_txn *t, const struct sk_backend_ref *beref, const char *name,
			  EVP_PKEY *pub, unsigned flags, const char *origin, enum sk_trust_by by)
{
	struct sk_key_new req;
	struct sk_backend *be;
	struct sk_buf meta = { 0 };
	int rc;

	memset(&req, 0, sizeof(req));
	req.name = name;
	req.origin = origin ? origin : "imported";
	if (!sk_name_valid(name))
		return sk_err(SK_EUSAGE, "'%s' is not a valid key name", name);
	if ((req.type = sk_keytype_of_pkey(pub)) == NULL)
		return SK_EUNSUPP;
	if ((rc = put_allowed(sk_txn_store(t), name, pub, by)) != SK_OK ||
	    (rc = beref->open(beref->arg, &be)) != SK_OK)
		return rc;
	flags = (flags & SK_KEY_PROVISIONED) | SK_KEY_PUBLIC_ONLY;
	if ((rc = build_meta(&req, be->ops->name, flags, pub, &meta)) == SK_OK)
		rc = sk_txn_put(t, SK_NS_KEY, name, meta.p, meta.len, NULL, 0);
	sk_buf_free(&meta);
	return rc;
}

int sk_key_locked(struct sk_ctx *ctx, const struct sk_keyinfo *k, int *locked)
{
	struct sk_store *st;
	uint64_t since = 0;
	int rc;

	*locked = 0;
	if (!(k->flags & SK_KEY_PROVISIONED))
		return SK_OK;
	if ((rc = sk_ctx_store(ctx, 0, &st)) != SK_OK || (rc = sk_trust_locked(st, &since)) != SK_OK)
		return rc;
	*locked = since != 0;
	return SK_OK;
}

/* The private blob of a key and what its password gives: for a key its
 * backend checks, the authorisation value (*auth, pointing into pw); else
 * the blob unwrapped under the password object's root.  pwflags:
 * SK_PW_CHECK to prove the password now (password.h). */
static int read_blob(struct sk_ctx *ctx, const struct sk_keyinfo *info, const struct sk_buf *body,
		     const char *pass_spec, unsigned pwflags, struct sk_pwunlock *pw,
		     const struct sk_auth **auth, struct sk_buf *blob)
{
	char label[300], what[300];
	int rc;

	*auth = NULL;
	if (!info->pwobj[0])
		return sk_buf_add(blob, body->p, body->len);
	snprintf(what, sizeof(what), "key '%s'", info->name);
	if ((rc = sk_password_unlock(ctx, info->pwobj, pass_spec, what, pwflags, pw)) != SK_OK)
		return rc;
	if (pw->checker[0]) {
		/* Only damage binds a key to an object another backend checks. */
		if (strcmp(pw->checker, info->backend) != 0)
			return sk_err(SK_EVERIFY, "key '%s' (backend %s) is bound to password object '%s', which backend '%s' checks",
				      info->name, info->backend, info->pwobj, pw->checker);
		*auth = &pw->auth;
		return sk_buf_add(blob, body->p, body->len);
	}
	wrap_label(info->name, label);
	rc = sk_pw_unwrap(pw->root, label, body->p, body->len, blob);
	if (rc != SK_OK)
		sk_err_wrap(rc, "key '%s'", info->name);
	return rc;
}

/* load() of a device key (k is fresh, and freed on failure). */
/* What load() reads: everything, the public part only, or what using the
 * private part needs (sk_key_open_use). */
enum load_part { LOAD_ALL, LOAD_PUBLIC, LOAD_USE };

static int load_device(struct sk_backend *be, const char *name, enum load_part part,
		       struct sk_key *k, struct sk_key **out, struct sk_buf *blob_out)
{
	struct sk_buf blob = { 0 };
	int rc = sk_devkey_find(be, name, &k->info, &blob, part != LOAD_USE);

	if (rc == SK_OK && part != LOAD_PUBLIC) {
		k->be = be;
		if ((rc = be->ops->load(be, k->info.type, blob.p, blob.len, NULL, &k->bk)) != SK_OK)
			sk_err_wrap(rc, "key '%s'", name);
	}
	if (rc == SK_OK && blob_out != NULL)
		rc = sk_buf_add(blob_out, blob.p, blob.len);
	sk_buf_cleanse_free(&blob);
	if (rc != SK_OK) {
		sk_key_close(k);
		return rc;
	}
	*out = k;
	return SK_OK;
}

/* Load the catalogue entry and, unless public_only, the private part;
 * blob_out (optional) receives the unwrapped blob. */
static int load(struct sk_ctx *ctx, const char *name, const char *pass_spec, enum load_part part,
		unsigned pwflags, struct sk_key **out, struct sk_buf *blob_out)
{
	int public_only = part == LOAD_PUBLIC;
	struct sk_store *st;
	struct sk_obj_info o;
	struct sk_buf body = { 0 }, blob = { 0 };
	struct sk_pwunlock pw;
	const struct sk_auth *auth;
	struct sk_key *k;
	int rc;

	struct sk_backend *cat;

	memset(&pw, 0, sizeof(pw));
	*out = NULL;
	if ((rc = catalogue(ctx, &cat)) != SK_OK || (rc = lookup_store(ctx, cat, &st)) != SK_OK)
		return rc;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	rc = st == NULL ? SK_ENOTFOUND
	     : public_only ? sk_store_stat(st, SK_NS_KEY, name, &o)
			   : sk_store_get(st, SK_NS_KEY, name, KEY_BODY_MAX, &o, &body);
	if (rc == SK_ENOTFOUND && cat != NULL) {
		sk_buf_cleanse_free(&body);
		return load_device(cat, name, part, k, out, blob_out);
	}
	if (rc != SK_OK) {
		sk_buf_cleanse_free(&body);
		free(k);
		return rc;
	}
	rc = parse_info(&o, &k->info, part != LOAD_USE);
	sk_obj_info_free(&o);
	if (rc != SK_OK)
		goto fail;
	if (public_only || (k->info.flags & SK_KEY_PUBLIC_ONLY)) {
		*out = k;
		sk_buf_free(&body);
		return SK_OK;
	}
	if ((rc = sk_ctx_backend(ctx, &k->be)) != SK_OK)
		goto fail;
	if (!sk_backend_is(k->be, k->info.backend)) {
		rc = sk_err_remedy(sk_err(SK_EBACKEND, "key '%s' is held by backend '%s' (this run uses '%s')",
					  name, k->info.backend, k->be->ops->name),
				   SK_REMEDY_BACKEND);
		goto fail;
	}
	auth = NULL;
	rc = (k->info.flags & SK_KEY_DEVICE)
		     ? sk_devkey_blob(k->be, &k->info, &blob)
		     : read_blob(ctx, &k->info, &body, pass_spec, pwflags, &pw, &auth, &blob);
	if (rc != SK_OK)
		goto fail;
	if ((rc = k->be->ops->load(k->be, k->info.type, blob.p, blob.len, auth, &k->bk)) != SK_OK) {
		sk_err_wrap(rc, "key '%s'", name);
		goto fail;
	}
	if (blob_out != NULL)
		rc = sk_buf_add(blob_out, blob.p, blob.len);
	sk_pwunlock_cleanse(&pw);
	sk_buf_cleanse_free(&body);
	sk_buf_cleanse_free(&blob);
	if (rc != SK_OK) {
		sk_key_close(k);
		return rc;
	}
	*out = k;
	return SK_OK;
fail:
	sk_pwunlock_cleanse(&pw);
	sk_buf_cleanse_free(&body);
	sk_buf_cleanse_free(&blob);
	sk_key_close(k);
	return rc;
}

int sk_key_open(struct sk_ctx *ctx, const char *name, const char *pass_spec, struct sk_key **out)
{
	return load(ctx, name, pass_spec, LOAD_ALL, 0, out, NULL);
}

int sk_key_open_use(struct sk_ctx *ctx, const char *name, const char *pass_spec, struct sk_key **out)
{
	return load(ctx, name, pass_spec, LOAD_USE, 0, out, NULL);
}

int sk_key_open_public(struct sk_ctx *ctx, const char *name, struct sk_key **out)
{
	return load(ctx, name, NULL, LOAD_PUBLIC, 0, out, NULL);
}

void sk_key_close(struct sk_key *k)
{
	if (k == NULL)
		return;
	if (k->bk != NULL)
		k->be->ops->unload(k->bk);
	sk_keyinfo_free(&k->info);
	free(k);
}

int sk_key_adopt(struct sk_ctx *ctx, const char *name, unsigned flags)
{
	struct sk_backend *cat;
	struct sk_store *st;
	int rc;

	if ((rc = catalogue(ctx, &cat)) != SK_OK)
		return rc;
	if (cat == NULL)
		return sk_err(SK_EUNSUPP, "key '%s': the backend of this run keeps no keys of its own to record",
			      name);
	if ((rc = sk_ctx_store(ctx, 1, &st)) != SK_OK)
		return rc;
	return adopt_device(st, cat, name, flags);
}

int sk_key_delete(struct sk_ctx *ctx, const char *name, const char *pass_spec)
{
	struct sk_store *st;
	struct sk_txn *t = NULL;
	struct sk_key *k = NULL;
	struct sk_buf blob = { 0 };
	struct sk_backend *cat;
	struct sk_obj_info o;
	int rc;

	if ((rc = catalogue(ctx, &cat)) != SK_OK || (rc = lookup_store(ctx, cat, &st)) != SK_OK)
		return rc;
	if (cat != NULL) {
		rc = st != NULL ? sk_store_stat(st, SK_NS_KEY, name, &o) : SK_ENOTFOUND;
		if (rc == SK_ENOTFOUND) {
			sk_err_clear();
			return sk_devkey_delete(cat, name);
		}
		if (rc != SK_OK)
			return rc;
		sk_obj_info_free(&o);
	}
	if ((rc = sk_txn_begin(st, &t)) != SK_OK)
		return rc;
	if ((rc = load(ctx, name, NULL, LOAD_PUBLIC, 0, &k, NULL)) != SK_OK)
		goto out;
	if (k->info.flags & SK_KEY_PROVISIONED) {
		if ((rc = sk_trust_guard(st, SK_BY_LOCAL, "key", name, "deleted")) == SK_OK)
			rc = sk_err(SK_EVERIFY, "key '%s' is provisioned: it cannot be deleted (only an STP can replace it)",
				    name);
		goto out;
	}
	if (!(k->info.flags & SK_KEY_PUBLIC_ONLY)) {
		/* Loading proves the password (if any; a password the backend
		 * checks is checked through its password object) and gives the
		 * backend the blob to forget. */
		sk_key_close(k);
		k = NULL;
		if ((rc = load(ctx, name, pass_spec, LOAD_ALL, SK_PW_CHECK, &k, &blob)) != SK_OK)
			goto out;
		if (k->be->ops->destroy != NULL &&
		    (rc = k->be->ops->destroy(k->be, k->info.type, blob.p, blob.len)) != SK_OK)
			goto out;
	}
	if ((rc = sk_txn_del(t, SK_NS_KEY, name)) != SK_OK)
		goto out;
	rc = sk_txn_commit(t);
	t = NULL;
out:
	sk_buf_cleanse_free(&blob);
	sk_key_close(k);
	sk_txn_abort(t);
	return rc;
}

/* A password object's users are the keys bound to it: a question for the
 * catalogue, asked before password.c deletes the object. */
struct users_arg {
	const char *obj;
	size_t n;
	char first[256];
};

static int count_user(const struct sk_keyinfo *k, void *arg)
{
	struct users_arg *u = arg;

	if (strcmp(k->pwobj, u->obj) == 0 && u->n++ == 0)
		snprintf(u->first, sizeof(u->first), "%s", k->name);
	return 0;
}

int sk_password_delete(struct sk_ctx *ctx, const char *obj, const char *pass_spec)
{
	struct users_arg u = { obj, 0, "" };
	struct sk_obj_info info;
	struct sk_store *st;
	struct sk_txn *t = NULL;
	int rc;

	if ((rc = sk_ctx_store(ctx, 0, &st)) != SK_OK)
		return rc;
	if ((rc = sk_txn_begin(st, &t)) != SK_OK)
		return rc;
	/* Under the lock, so no key can be bound to it meanwhile.  Users are
	 * checked first: `password users` shows them without a password
	 * anyway, and it spares a slow scrypt run. */
	if ((rc = sk_key_list(ctx, count_user, &u)) != SK_OK)
		goto out;
	if (u.n > 0) {
		/* An unknown object is "not found", not "in use". */
		if ((rc = sk_store_stat(st, SK_NS_PASSWORD, obj, &info)) != SK_OK) {
			if (rc == SK_ENOTFOUND)
				sk_err(SK_ENOTFOUND, "password object '%s': not found", obj);
			goto out;
		}
		sk_obj_info_free(&info);
		rc = sk_err(SK_EVERIFY, "password object '%s' is used by %zu key%s ('%s'%s): delete %s first",
			    obj, u.n, u.n == 1 ? "" : "s", u.first, u.n > 1 ? ", ..." : "",
			    u.n == 1 ? "it" : "them");
		goto out;
	}
	if ((rc = sk_password_remove(ctx, t, obj, pass_spec)) != SK_OK)
		goto out;
	rc = sk_txn_commit(t);
	t = NULL;
out:
	sk_txn_abort(t);
	return rc;
}
