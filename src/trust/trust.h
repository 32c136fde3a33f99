/* SPDX-License-Identifier: MIT */
#ifndef SK_TRUST_H
#define SK_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "ctx/ctx.h"
#include "store/store.h"
#include "store/trust_lock.h"

/*
 * The device's certificates, kept in the store (SK_NS_CERT, one object per
 * name, DER body):
 *   provisioned  certificates by name (device certificate, OEM root, cloud
 *                root ...), installed by `provision`, replaced only by STP;
 *                one may be linked to a key of the store (the key holding
 *                its public key; set by provision's key:, and the device
 *                key for the device certificate): replacing the
 *                certificate replaces a linked public key, and is refused
 *                if it does not match a linked private key (the device key
 *                is never touched);
 *   ca           the CA store: anchors added at run time (by STP);
 *   csr          certificate requests kept for enrollment (device CSR).
 * Names are shared by the three kinds.  The offline CRL (SK_NS_STATE "crl")
 * holds revoked (issuer, serial) pairs, with the whole certificate when it
 * was given.  SK_NS_STATE "clock" holds the latest time the store has seen
 * (docs/formats/stp.md, "State on the device").
 *
 * Reading needs no lock; every change is added to a caller's transaction
 * (sk_trust_*_txn) so that an STP changes certificates, keys, CRL, clock
 * and its sequence number in one atomic commit.
 */

enum sk_cert_kind { SK_CERT_PROVISIONED = 1, SK_CERT_CA = 2, SK_CERT_CSR = 3 };
const char *sk_cert_kind_name(int kind);

struct sk_cert {
	char name[256];
	int kind;
	char key[256];       /* linked key name, "" if none */
	char origin[32];     /* "provision", "stp 12" ... */
	uint64_t added;
	X509 *x509;          /* provisioned, ca */
	X509_REQ *req;       /* csr */
	STACK_OF(X509) *chain; /* provisioned: its stored intermediates, issuer
				* first (never anchors); NULL if none */
	struct sk_buf der;   /* the stored DER */
	int revoked;         /* filled by sk_cert_list / sk_cert_get */
};
void sk_cert_free(struct sk_cert *c);

int sk_cert_get(struct sk_ctx *ctx, const char *name, struct sk_cert *out);
/* A file ("-": stdin), or else the name of a stored certificate (cert
 * verify, tls --cert): a path (with a '/'), an existing file or a name the
 * store does not hold is read as a file.  certs: the certificate, then
 * those offered with it (the rest of the file, or the stored certificate's
 * chain, issuer first); *stored set for a stored one. */
int sk_cert_load_arg(struct sk_ctx *ctx, const char *arg, STACK_OF(X509) **certs, int *stored);
/* kinds: bit mask of (1 << SK_CERT_*), 0 for all; sorted by name. */
typedef int (*sk_cert_list_fn)(const struct sk_cert *c, void *arg);
int sk_cert_list(struct sk_ctx *ctx, unsigned kinds, sk_cert_list_fn fn, void *arg);

/* devcert.c: certificates of a backend with its own catalogue (pkcs11
 * token objects), read after the store's.  sk_cert_sources: the store
 * (optional, *st NULL, when *device) and whether the device keeps
 * certificates (revoked: not set); sk_cert_device_get: name on the device; _list: the
 * device's certificates the store (st, may be NULL) does not name. */
int sk_cert_sources(struct sk_ctx *ctx, struct sk_store **st, int *device);
int sk_cert_device_get(struct sk_ctx *ctx, const char *name, struct sk_cert *out);
int sk_cert_device_list(struct sk_ctx *ctx, struct sk_store *st, sk_cert_list_fn fn, void *arg);

/* ---- the offline CRL ---- */
struct sk_crl;
int sk_crl_load(struct sk_store *st, struct sk_crl **out);
void sk_crl_free(struct sk_crl *crl);
int sk_crl_is_revoked(const struct sk_crl *crl, X509 *x);
struct sk_crl_entry {
	char issuer[512];
	char serial[80];
	int64_t revoked_at;
	X509 *cert;          /* the whole certificate, or NULL */
};
typedef int (*sk_crl_fn)(const struct sk_crl_entry *e, void *arg);
int sk_crl_each(const struct sk_crl *crl, sk_crl_fn fn, void *arg);

/* ---- time ---- */
/* The time certificate dates are checked against: the system time, or
 * with the monotonic clock (the policy's, policy.h) the newer of it and the
 * store's clock floor. */
int sk_trust_time(struct sk_store *st, enum sk_clock clock, int64_t *now);
/* (st NULL: no store, no floor: the system time.) */
/* Raise the store's clock floor to the system time (monotonic clock only;
 * at most once an hour; best effort: a read-only store is left alone). */
void sk_trust_clock_note(struct sk_store *st, enum sk_clock clock);
/* The latest time the store has seen (its clock floor), 0 if none yet. */
int sk_trust_clock_seen(struct sk_store *st, int64_t *seen);

/* ---- verification ---- */
struct sk_verify_opts {
	STACK_OF(X509) *untrusted;  /* intermediates offered with the leaf */
	const char *purpose;        /* X509 purpose short name, or NULL */
	int64_t at;                 /* check dates at this time; 0: sk_trust_time */
	STACK_OF(X509) *anchors;    /* non-NULL: the only anchors (a CA file),
				     * instead of the CA store */
	const char *host;           /* a DNS name or IP address the leaf must
				     * match (RFC 6125), or NULL */
	/* 1: a store that does not exist is an empty one (no CA store, no
	 * CRL, no clock floor) instead of an error: for a client whose key
	 * is on a token or in a file, verifying against anchors. */
	int store_optional;
};
struct sk_verify_result {
	int verified;
	int error;                  /* X509_V_ERR_*, 0 when verified */
	int depth;                  /* where it failed */
	char reason[256];
	char subject[512];          /* of the certificate that failed */
	int64_t time;               /* the time dates were checked against */
	STACK_OF(X509) *chain;      /* the chain built (leaf first) */
};
void sk_verify_result_free(struct sk_verify_result *r);
/* Build the chain to an anchor (CA store, or a provisioned CA certificate),
 * check dates, purpose and the CRL.  SK_OK verified; SK_EVERIFY not (r
 * tells why); other codes when it could not be decided. */
int sk_cert_verify(struct sk_ctx *ctx, X509 *leaf, const struct sk_verify_opts *o,
		   struct sk_verify_result *r);
/* X509 purposes accepted by sk_verify_opts.purpose. */
#define SK_PURPOSES "sslclient sslserver nssslserver smimesign smimeencrypt crlsign ocsphelper timestampsign codesign any"

/* ---- changes, added to a caller's transaction ----
 * They read the committed state of the transaction's own store
 * (sk_txn_store), never the context's.  by: who asks (see the lock above):
 * replacing or deleting an anchor of a locked store needs SK_BY_STP;
 * creating what is missing does not. */
/* Install or replace provisioned certificate name.  key: the key it
 * carries (NULL: the link it already has, or pol's device key for pol's
 * device certificate).  A public key linked so is created or replaced with
 * the certificate's (provisioned) in the key catalogue of t's store
 * (keys.h), its record naming backend be (opened only then); a private key
 * is never touched and must match (SK_EVERIFY).  A CA or CSR of that name
 * is SK_EEXIST.
 * by = SK_BY_KEYHOLDER (cert import): x must be no CA and certify key,
 * a private key of the store (else SK_EVERIFY); then replacing it is not
 * refused by the lock. */
int sk_trust_set_cert_txn(struct sk_txn *t, const struct sk_backend_ref *be,
			  const struct sk_policy *pol, const char *name, X509 *x,
			  const char *key, const char *origin, enum sk_trust_by by);
/* The same, keeping chain (may be NULL or empty: none) with it: the
 * intermediates that lead from x to an anchor, x's issuer first.  They are
 * stored as they are, as part of x's object, and never anchor anything;
 * the caller checks that they are x's chain. */
int sk_trust_set_cert_chain_txn(struct sk_txn *t, const struct sk_backend_ref *be,
				const struct sk_policy *pol, const char *name, X509 *x,
				STACK_OF(X509) *chain, const char *key, const char *origin,
				enum sk_trust_by by);
/* The DER of chain's certificates one after another (SK_EVERIFY if too
 * large to be kept with a certificate); out is set even when empty. */
int sk_trust_chain_der(STACK_OF(X509) *chain, struct sk_buf *out);
/* Add (update = 0: SK_EEXIST if the name is taken) or replace (update = 1:
 * SK_ENOTFOUND unless a CA of that name exists) a CA certificate;
 * SK_EVERIFY if x is not a CA certificate. */
int sk_trust_ca_txn(struct sk_txn *t, const char *name, X509 *x, int update, const char *origin,
		    enum sk_trust_by by);
int sk_trust_ca_delete_txn(struct sk_txn *t, const char *name, enum sk_trust_by by);
/* Revoke (issuer, serial); cert (optional) is kept with the entry.  Already
 * revoked: SK_OK and *changed = 0. */
int sk_trust_revoke_txn(struct sk_txn *t, const X509_NAME *issuer, const ASN1_INTEGER *serial,
			X509 *cert, int *changed);
/* Keep a CSR under name (provision). */
int sk_trust_put_csr_txn(struct sk_txn *t, const char *name, X509_REQ *req, const char *origin);
/* `cert import NAME FILE` (import.c): certs[0] under name, in one
 * transaction of ctx's store.  A certificate that is no CA must certify a
 * private key of the store (the key linked to name, the device key for
 * the device certificate, else the one whose public key it holds): no
 * trust change, so it is imported, or replaced with force (else
 * SK_EEXIST), in a locked store too.  A CA certificate goes to the CA
 * store: a trust change, refused in a locked store (SK_EVERIFY, "use an
 * STP").  An expired certificate is SK_EVERIFY.  Further certificates
 * (a chain file, PEM) are certs[0]'s intermediates, its issuer first: each
 * must be a CA and issue the one before it (name and signature) (else
 * SK_EVERIFY); they are kept with certs[0], never as anchors
 * (sk_trust_set_cert_chain_txn).  A CA with further certificates is
 * SK_EVERIFY.  *kind: SK_CERT_PROVISIONED or
 * SK_CERT_CA; key (256 bytes): the key it certifies, "" for a CA;
 * *changed: 0 when the store held that certificate already. */
int sk_cert_import(struct sk_ctx *ctx, const struct sk_policy *pol, const char *name,
		   STACK_OF(X509) *certs, int force, int *kind, char *key, int *changed);
/* Raise the clock floor to max(floor, system time, t_seen) in t. */
int sk_trust_clock_txn(struct sk_txn *t, int64_t t_seen);

#endif
