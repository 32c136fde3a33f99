/* SPDX-License-Identifier: MIT */
/* Certificates a device keeps beside its keys (backend.h cert_find,
 * cert_list: pkcs11 token objects), as trust.c shows them. */
#include "trust/trust.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "keys/devkey.h"
#include "trust/x509.h"

/* (here, below trust.c, which names kinds too) */
const char *sk_cert_kind_name(int kind)
{
	switch (kind) {
	case SK_CERT_PROVISIONED: return "provisioned";
	case SK_CERT_CA: return "ca";
	case SK_CERT_CSR: return "csr";
	default: return "?";
	}
}

struct dev_list {
	struct sk_store *st;
	sk_cert_list_fn fn;
	void *arg;
};

/*
 * The sources of certificates: the store and, when the backend of this
 * run keeps its own catalogue (pkcs11: CKO_CERTIFICATE objects beside the
 * keys, backend.h cert_find), the device, after the store.  The store is
 * optional then (a token's certificates are there before any store).
 */
int sk_cert_sources(struct sk_ctx *ctx, struct sk_store **st, int *device)
{
	const char *name;
	int rc;

	*st = NULL;
	if ((rc = sk_ctx_backend_name(ctx, &name)) != SK_OK)
		return rc;
	*device = sk_backend_has_catalogue(name);
	return *device ? sk_ctx_store_if_any(ctx, st) : sk_ctx_store(ctx, 0, st);
}

/* c from a certificate of the device (DER in c->der, key in c->key). */
static int device_cert_parse(const char *name, struct sk_cert *c)
{
	char what[300];

	snprintf(c->name, sizeof(c->name), "%s", name);
	c->kind = SK_CERT_PROVISIONED;
	snprintf(c->origin, sizeof(c->origin), "device");
	snprintf(what, sizeof(what), "certificate '%s' on the device", name);
	return sk_x509_parse_one(c->der.p, c->der.len, what, &c->x509);
}

static void device_cert_free(struct sk_cert *c)
{
	X509_free(c->x509);
	c->x509 = NULL;
	sk_buf_free(&c->der);
}

int sk_cert_device_get(struct sk_ctx *ctx, const char *name, struct sk_cert *out)
{
	struct sk_backend *be;
	int rc;

	if ((rc = sk_devkey_backend(ctx, &be)) != SK_OK)
		return rc;
	if (be == NULL || be->ops->cert_find == NULL)
		return sk_err(SK_ENOTFOUND, "certificate '%s': not found", name);
	sk_err_clear();
	if ((rc = be->ops->cert_find(be, name, &out->der, out->key)) == SK_OK)
		rc = device_cert_parse(name, out);
	if (rc != SK_OK)
		device_cert_free(out);
	return rc;
}

/* A certificate of the device, unless the store has one of that name
 * (which is the one sk_cert_get gives). */
static int list_device_one(const char *name, const uint8_t *der, size_t n, const char *key,
			   void *arg)
{
	struct dev_list *l = arg;
	struct sk_obj_info o;
	struct sk_cert c;
	int rc;

	if (l->st != NULL && sk_store_stat(l->st, SK_NS_CERT, name, &o) == SK_OK) {
		sk_obj_info_free(&o);
		return SK_OK;
	}
	sk_err_clear();
	memset(&c, 0, sizeof(c));
	snprintf(c.key, sizeof(c.key), "%s", key);
	if ((rc = sk_buf_add(&c.der, der, n)) == SK_OK && (rc = device_cert_parse(name, &c)) == SK_OK)
		rc = l->fn(&c, l->arg);
	device_cert_free(&c);
	return rc;
}

int sk_cert_device_list(struct sk_ctx *ctx, struct sk_store *st, sk_cert_list_fn fn, void *arg)
{
	struct dev_list l = { st, fn, arg };
	struct sk_backend *be;
	int rc;

	if ((rc = sk_devkey_backend(ctx, &be)) != SK_OK || be == NULL || be->ops->cert_list == NULL)
		return rc;
	return be->ops->cert_list(be, list_device_one, &l);
}
