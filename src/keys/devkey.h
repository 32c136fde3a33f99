/* SPDX-License-Identifier: MIT */
#ifndef SK_DEVKEY_H
#define SK_DEVKEY_H

#include <openssl/evp.h>

#include "backend/backend.h"
#include "ctx/ctx.h"
#include "keys/keys.h"
#include "store/store.h"

/*
 * Keys of a backend with its own catalogue (backend.h key_find), for
 * keys.c: the device is their source of truth and the store holds nothing
 * about them, except for the provisioned ones (below).
 */

/* The user PIN a device asks for (ctx->pin_fn): --pin, else the config's
 * pkcs11: pin:, else a prompt. */
int sk_devkey_pin(struct sk_ctx *ctx, const char *what, struct sk_buf *pin);
/* The backend of this run, opened (with sk_devkey_pin for its PIN), if
 * it keeps its own catalogue of keys and certificates; else *be = NULL. */
int sk_devkey_backend(struct sk_ctx *ctx, struct sk_backend **be);
/* k for key name of type kt with public key pub (k takes pub, also on
 * failure); pub NULL: k has no public part (pub, pubder and the
 * fingerprint empty).  Its origin and exportable flag from what the
 * device says (attrs): "generated" for a key made in the device,
 * "imported" for one brought into it, "device" when it does not say. */
int sk_devkey_info(struct sk_backend *be, const char *name, const struct sk_keytype *kt,
		   EVP_PKEY *pub, const struct sk_devkey_attrs *attrs, struct sk_keyinfo *k);
/* Key name on the device: its info and (blob not NULL) the blob to load
 * it.  Without want_pub the device need not read the public key (a key
 * only to be used, or looked for): k's public part may then be empty. */
int sk_devkey_find(struct sk_backend *be, const char *name, struct sk_keyinfo *k,
		   struct sk_buf *blob, int want_pub);
/* The device's keys that the store st (NULL: none) does not shadow with
 * a key of the same name, sorted as key list gives them (by name, then
 * type, then fingerprint):
 * v[0..n-1], freed with sk_devkey_listing_free. */
struct sk_devkey_listing {
	struct sk_keyinfo *v;
	size_t n, cap;
};
int sk_devkey_list(struct sk_backend *be, struct sk_store *st, struct sk_devkey_listing *out);
void sk_devkey_listing_free(struct sk_devkey_listing *l);
/* Destroy key name in the device. */
int sk_devkey_delete(struct sk_backend *be, const char *name);

/* A device key that is a trust anchor is recorded in the store as well
 * (keys.h SK_KEY_DEVICE): the record carries the mark and the public key,
 * its body is empty, and the device keeps the key.  The blob that loads
 * the device's key that such a record rec names; SK_ENOTFOUND if the
 * device has no key of that name, SK_EVERIFY if its key is another than
 * the record's. */
int sk_devkey_blob(struct sk_backend *be, const struct sk_keyinfo *rec, struct sk_buf *blob);

#endif
