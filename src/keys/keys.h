/* SPDX-License-Identifier: MIT */
#ifndef SK_KEYS_H
#define SK_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "backend/backend.h"
#include "ctx/ctx.h"
#include "crypto/keytype.h"
#include "store/trust_lock.h"

/*
 * Named keys: the catalogue kept in the store (name, type, flags, public
 * key, password binding) over the backend that holds the private part.
 * Private material leaves the backend only through sk_key_export_private()
 * and only for keys created exportable.
 */

/*
 * A provisioned key is a trust anchor (the device key, the OEM keys): it
 * is never deleted or overwritten by key commands, and once the store is
 * locked (trust_lock.h) it changes only through a verified STP:
 * create/import over it and delete fail with SK_EVERIFY ("use an STP")
 * instead of SK_EEXIST/SK_EUNSUPP.
 */
enum {
	SK_KEY_EXPORTABLE = 1u << 0,
	SK_KEY_PROVISIONED = 1u << 1,
	SK_KEY_PUBLIC_ONLY = 1u << 2,
	/* The private part is the key of the same name in the catalogue of
	 * a device that keeps one (pkcs11: the token's object): set on every
	 * such key, and on the store's record of one (a provisioned device
	 * key: the store holds the mark and the public key the device's key
	 * must keep, the device the key). */
	SK_KEY_DEVICE = 1u << 3,
};

struct sk_keyinfo {
	char name[256];
	const struct sk_keytype *type;
	unsigned flags;
	char pwobj[256];        /* "" when not bound to a password object */
	char backend[16];
	char origin[32];        /* generated, imported, opaque-key, "stp N" (N to 2^63 - 1) */
	uint64_t created;
	/* EC/RSA public key, else NULL.  Set by every function below except
	 * sk_key_stat(), which leaves it NULL (decoding a key is most of the
	 * cost of a short command); sk_keyinfo_pub() decodes it on demand. */
	EVP_PKEY *pub;
	uint8_t *pubder;        /* the SubjectPublicKeyInfo DER, or NULL */
	size_t publen;
	char fingerprint[65];   /* SHA-256 of the SPKI DER, or "" */
};
void sk_keyinfo_free(struct sk_keyinfo *k);
/* The public key of k (decoded once, owned by k); NULL with SK_EUNSUPP
 * set for AES/HMAC keys, SK_EVERIFY if the stored key is malformed. */
EVP_PKEY *sk_keyinfo_pub(struct sk_keyinfo *k);

/* Attributes of a key without touching its private part. */
int sk_key_info(struct sk_ctx *ctx, const char *name, struct sk_keyinfo *out);
/* The same, read from st (the store a transaction works on, sk_txn_store). */
int sk_key_info_st(struct sk_store *st, const char *name, struct sk_keyinfo *out);
/* The same without decoding the public key (out->pub stays NULL). */
int sk_key_stat(struct sk_ctx *ctx, const char *name, struct sk_keyinfo *out);
typedef int (*sk_key_list_fn)(const struct sk_keyinfo *k, void *arg);
int sk_key_list(struct sk_ctx *ctx, sk_key_list_fn fn, void *arg);

struct sk_key_new {
	const char *name;
	const struct sk_keytype *type;
	unsigned flags;          /* SK_KEY_EXPORTABLE, SK_KEY_PROVISIONED */
	const char *pwobj;       /* bind to this password object, or NULL */
	const char *pass_spec;   /* its secret */
	const char *origin;      /* NULL: "generated" / "imported" */
	/* import only: */
	EVP_PKEY *pkey;          /* private or public (then SK_KEY_PUBLIC_ONLY) */
	const uint8_t *raw;      /* AES/HMAC key bytes */
	size_t rawlen;
};
/* On a backend with a catalogue (pkcs11), a key made provisioned is made
 * in the device and recorded in the store (SK_KEY_DEVICE). */
int sk_key_generate(struct sk_ctx *ctx, const struct sk_key_new *req);
int sk_key_import(struct sk_ctx *ctx, const struct sk_key_new *req);
int sk_key_delete(struct sk_ctx *ctx, const char *name, const char *pass_spec);
/* Record the device's key name (one the store does not name yet: made by
 * another tool, or by a run that stopped before recording it) in the
 * store with flags (SK_KEY_PROVISIONED), as sk_key_generate records the
 * provisioned keys it makes in the device.  SK_EUNSUPP if the backend of
 * this run keeps no catalogue, SK_ENOTFOUND if the device has no such
 * key, SK_EEXIST if the store has a key of that name. */
int sk_key_adopt(struct sk_ctx *ctx, const char *name, unsigned flags);
/* Delete password object obj (its password proves the right), refused
 * while a key is bound to it: which keys use a password object is the
 * catalogue's to say, so this lives here and password.c never reads keys
 * (password.h has the rest of password objects). */
int sk_password_delete(struct sk_ctx *ctx, const char *obj, const char *pass_spec);

/* Add to the caller's transaction t the object of a public-only key `name`
 * holding pub, replacing any key of that name when t commits.  The record
 * names backend be, opened (be->open) only when the record is written.  This is how
 * a provisioned public key changes atomically with the certificate that
 * carries it (STP apply, provision); flags: SK_KEY_PROVISIONED (public-only
 * is implied).  The caller checks that replacing is allowed, except for
 * the lock: a provisioned key of a locked store that holds another key is
 * replaced only by = SK_BY_STP (else SK_EVERIFY). */
struct sk_txn;
int sk_key_txn_put_public(struct sk_txn *t, const struct sk_backend_ref *be, const char *name,
			  EVP_PKEY *pub, unsigned flags, const char *origin, enum sk_trust_by by);
/* Whether k is a locked trust anchor: provisioned, in a locked store. */
int sk_key_locked(struct sk_ctx *ctx, const struct sk_keyinfo *k, int *locked);

/* A key loaded for use.  pass_spec answers its password object, if any. */
struct sk_key {
	struct sk_keyinfo info;
	struct sk_backend *be;
	struct sk_bkey *bk;     /* NULL for public-only keys */
};
int sk_key_open(struct sk_ctx *ctx, const char *name, const char *pass_spec, struct sk_key **out);
/* The same for a key only to be used (a signature): info.pub is not
 * decoded (sk_keyinfo_pub() decodes a store key's on demand), and a device
 * key's public key is not read at all (info.pubder and the fingerprint
 * empty, sk_keyinfo_pub() NULL).  Decoding a public key with OpenSSL 3 is
 * most of what such a command would otherwise compute. */
int sk_key_open_use(struct sk_ctx *ctx, const char *name, const char *pass_spec,
		    struct sk_key **out);
/* Only the public part (no password needed). */
int sk_key_open_public(struct sk_ctx *ctx, const char *name, struct sk_key **out);
void sk_key_close(struct sk_key *k);

/* Check that k can do op (SK_CAP_*); SK_EUNSUPP with a message if not. */
int sk_key_require(struct sk_key *k, unsigned cap, const char *what);

int sk_key_sign(struct sk_key *k, const EVP_MD *md, int pss, const uint8_t *dgst, size_t dlen,
		struct sk_buf *sig);
int sk_key_verify(struct sk_key *k, const EVP_MD *md, int pss, const uint8_t *dgst, size_t dlen,
		  const uint8_t *sig, size_t siglen);
/* What k may sign with (backend.h struct sk_sig_limits): its backend's
 * limits, else every digest in each scheme its type has. */
int sk_key_sig_limits(struct sk_key *k, struct sk_sig_limits *out);
/* Sign the message itself, hashed by the backend with md: for the digests
 * that k's limits sign over the message only. */
int sk_key_sign_msg(struct sk_key *k, const EVP_MD *md, int pss, const uint8_t *msg, size_t n,
		    struct sk_buf *sig);
int sk_key_derive(struct sk_key *k, EVP_PKEY *peer, struct sk_buf *secret);
int sk_key_decrypt(struct sk_key *k, const EVP_MD *oaep_md, const uint8_t *in, size_t n,
		   struct sk_buf *out);
int sk_key_cipher(struct sk_key *k, enum sk_cipher_mode mode, int enc, const uint8_t *iv,
		  size_t ivlen, struct sk_symop **out);
int sk_key_mac(struct sk_key *k, struct sk_symop **out);
int sk_key_export_private(struct sk_key *k, EVP_PKEY **priv, struct sk_buf *raw);

/* n random bytes from the generator of the backend of this run when it
 * has one (pkcs11: the token's C_GenerateRandom), else from OpenSSL's. */
int sk_key_random(struct sk_ctx *ctx, uint8_t *p, size_t n);

/* Sign / verify with any public key (verify with a key file). */
int sk_pkey_verify(EVP_PKEY *pub, const EVP_MD *md, int pss, const uint8_t *dgst, size_t dlen,
		   const uint8_t *sig, size_t siglen);

#endif
