/* SPDX-License-Identifier: MIT */
/*
 * Keys that a device keeps in its own catalogue (backend.h key_find: the
 * pkcs11 backend's token objects) as keys.c sees them, the PIN such a
 * device asks for, and random bytes from the backend's generator.
 */
#include "keys/devkey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "base/err.h"
#include "crypto/crypto.h"
#include "crypto/sha256kdf.h"
#include "ctx/secret.h"
#include "store/store.h"

/* The PIN: --pin > the config's pkcs11: pin: (secret specs), else a
 * prompt on the terminal. */
int sk_devkey_pin(struct sk_ctx *ctx, const char *what, struct sk_buf *pin)
{
	const char *spec = ctx->opt_pin != NULL ? ctx->opt_pin : ctx->cfg.pkcs11_pin;
	struct sk_secret s = { 0 };
	int rc = sk_secret_get(spec, what, 0, &s);

	if (rc == SK_OK)
		rc = sk_buf_add(pin, s.p, s.len);
	sk_secret_free(&s);
	return rc;
}

/* The backend of this run, opened, if it keeps its own catalogue of keys
 * (and certificates); else *be = NULL. */
int sk_devkey_backend(struct sk_ctx *ctx, struct sk_backend **be)
{
	const char *name;
	int rc;

	*be = NULL;
	if ((rc = sk_ctx_backend_name(ctx, &name)) != SK_OK)
		return rc;
	if (!sk_backend_has_catalogue(name))
		return SK_OK;
	ctx->pin_fn = sk_devkey_pin;
	return sk_ctx_backend(ctx, be);
}

/* A device key as the catalogue shows it (takes pub). */
int sk_devkey_info(struct sk_backend *be, const char *name, const struct sk_keytype *kt,
		   EVP_PKEY *pub, const struct sk_devkey_attrs *attrs, struct sk_keyinfo *k)
{
	unsigned char *der = NULL;
	uint8_t md[32];
	int n;

	memset(k, 0, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->backend, sizeof(k->backend), "%s", be->ops->name);
	snprintf(k->origin, sizeof(k->origin), "%s",
		 attrs->local > 0 ? "generated" : attrs->local == 0 ? "imported" : "device");
	k->flags = SK_KEY_DEVICE | (attrs->extractable ? SK_KEY_EXPORTABLE : 0);
	k->type = kt;
	k->pub = pub;
	if (pub == NULL)
		return SK_OK;
	if ((n = i2d_PUBKEY(pub, &der)) <= 0) {
		k->pub = NULL;
		return sk_err_ssl(SK_EFAIL, "key '%s': encoding public key", name);
	}
	if ((k->pubder = malloc((size_t)n)) == NULL) {
		OPENSSL_free(der);
		k->pub = NULL;
		return sk_err(SK_EFAIL, "out of memory");
	}
	memcpy(k->pubder, der, (size_t)n);
	k->publen = (size_t)n;
	OPENSSL_free(der);
	sk_sha256(k->pubder, k->publen, md);
	sk_hex(k->fingerprint, md, sizeof(md));
	return SK_OK;
}

/* Key name on the device: its info and (if blob) the blob to load it. */
int sk_devkey_find(struct sk_backend *be, const char *name, struct sk_keyinfo *k,
		       struct sk_buf *blob, int want_pub)
{
	struct sk_buf b = { 0 };
	const struct sk_keytype *kt;
	EVP_PKEY *pub = NULL;
	struct sk_devkey_attrs at = { 0, -1 };
	int rc;

	if ((rc = be->ops->key_find(be, name, &kt, want_pub ? &pub : NULL, blob ? blob : &b,
				    &at)) == SK_OK)
		rc = sk_devkey_info(be, name, kt, pub, &at, k);
	sk_buf_cleanse_free(&b);
	return rc;
}

struct list_ctx {
	struct sk_backend *be;
	struct sk_store *st;
	struct sk_devkey_listing *l;
};

/* One key of the device's list, unless the store has a key of that name
 * (which wins, as in every lookup). */
static int list_add(const char *name, const struct sk_keytype *kt, EVP_PKEY *pub,
		    const struct sk_devkey_attrs *attrs, void *arg)
{
	struct list_ctx *c = arg;
	struct sk_devkey_listing *l = c->l;
	struct sk_obj_info o;
	struct sk_keyinfo *v;
	int rc;

	if (c->st != NULL && sk_store_stat(c->st, SK_NS_KEY, name, &o) == SK_OK) {
		sk_obj_info_free(&o);
		return SK_OK;
	}
	sk_err_clear();
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;

		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL)
			return sk_err(SK_EFAIL, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	if (pub != NULL && !EVP_PKEY_up_ref(pub)) /* none: a secret key */
		return sk_err_ssl(SK_EFAIL, "key");
	if ((rc = sk_devkey_info(c->be, name, kt, pub, attrs, &l->v[l->n])) != SK_OK)
		return rc;
	l->n++;
	return SK_OK;
}

/* key list's order: by name (bytes, as the store sorts), then type; two
 * keys of one name and type (a token's label on two keys) by fingerprint,
 * not by the device's order, which may change from one run to another. */
static int cmp_key(const void *a, const void *b)
{
	const struct sk_keyinfo *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c == 0)
		c = strcmp(x->type->name, y->type->name);
	return c != 0 ? c : strcmp(x->fingerprint, y->fingerprint);
}

int sk_devkey_list(struct sk_backend *be, struct sk_store *st, struct sk_devkey_listing *out)
{
	struct list_ctx c = { be, st, out };
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = be->ops->key_list(be, list_add, &c)) != SK_OK) {
		sk_devkey_listing_free(out);
		return rc;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_key);
	return SK_OK;
}

/* keys.h; here, below keys.c, since sk_devkey_info fills these too. */
void sk_keyinfo_free(struct sk_keyinfo *k)
{
	EVP_PKEY_free(k->pub);
	k->pub = NULL;
	free(k->pubder);
	k->pubder = NULL;
	k->publen = 0;
}

void sk_devkey_listing_free(struct sk_devkey_listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		sk_keyinfo_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* A device key the store does not name: the device forgets it. */
int sk_devkey_delete(struct sk_backend *be, const char *name)
{
	struct sk_buf blob = { 0 };
	struct sk_keyinfo k;
	int rc = sk_devkey_find(be, name, &k, &blob, 1);

	if (rc == SK_OK) {
		rc = be->ops->destroy(be, k.type, blob.p, blob.len);
		EVP_PKEY_free(k.pub);
		free(k.pubder);
	}
	sk_buf_cleanse_free(&blob);
	return rc;
}

int sk_devkey_blob(struct sk_backend *be, const struct sk_keyinfo *rec, struct sk_buf *blob)
{
	struct sk_keyinfo d;
	const unsigned char *q = rec->pubder;
	EVP_PKEY *want;
	int rc = sk_devkey_find(be, rec->name, &d, blob, 1), same;

	if (rc == SK_ENOTFOUND)
		return sk_err(SK_ENOTFOUND, "key '%s': the store records it as a key of the device (backend %s), which has no key of that name",
			      rec->name, be->ops->name);
	if (rc != SK_OK)
		return rc;
	/* Compared as keys: the DER the device gives may encode the same
	 * key otherwise than the DER recorded. */
	want = q != NULL ? d2i_PUBKEY(NULL, &q, (long)rec->publen) : NULL;
	same = want != NULL && d.type == rec->type && EVP_PKEY_eq(want, d.pub) == 1;
	ERR_clear_error();
	EVP_PKEY_free(want);
	EVP_PKEY_free(d.pub);
	free(d.pubder);
	if (!same) {
		sk_buf_cleanse_free(blob);
		return sk_err(SK_EVERIFY, "key '%s': the device's key of that name is not the one the store records (another public key)",
			      rec->name);
	}
	return SK_OK;
}

int sk_key_random(struct sk_ctx *ctx, uint8_t *p, size_t n)
{
	struct sk_backend *be;
	const char *name;
	size_t off, chunk;
	int rc;

	if ((rc = sk_ctx_backend_name(ctx, &name)) != SK_OK)
		return rc;
	if (!sk_backend_has_random(name))
		return sk_random(p, n);
	ctx->pin_fn = sk_devkey_pin;
	if ((rc = sk_ctx_backend(ctx, &be)) != SK_OK)
		return rc;
	/* Small requests: tokens limit what one call returns. */
	for (off = 0; off < n; off += chunk) {
		chunk = n - off < 4096 ? n - off : 4096;
		if ((rc = be->ops->random(be, p + off, chunk)) != SK_OK)
			return rc;
	}
	return SK_OK;
}
