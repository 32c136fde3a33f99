/* SPDX-License-Identifier: MIT */
#ifndef SK_TRUST_LOCK_H
#define SK_TRUST_LOCK_H

#include <stdint.h>

#include "store/store.h"

/*
 * The lock of the trust anchors and the store's small state objects: below
 * both the key catalogue (keys.c) and the trust store (trust.c), which ask
 * it before they replace or delete an anchor, so that neither calls the
 * other to ask.
 */

/* Small u64 state objects (SK_NS_STATE): 0 when absent. */
int sk_state_get_u64(struct sk_store *st, const char *name, uint64_t *v);
int sk_state_put_u64(struct sk_txn *t, const char *name, uint64_t v);

/* ---- the lock ----
 *
 * A store is provisioned in one or more runs of `provision`; a run whose
 * manifest does not say `lock: false` locks the trust anchors, in the
 * transaction of its last changes: SK_NS_STATE "locked" then holds when
 * (u64 BE, seconds since the epoch).  Nothing unlocks a store.
 *
 * The trust anchors are the provisioned keys (SK_KEY_PROVISIONED: the
 * device key, the command key, the OEM public keys, the keys provisioned
 * certificates carry), the provisioned certificates and the CA store.  On
 * a locked store what is missing may still be added, but an anchor is
 * replaced or deleted only by a verified STP.  The functions that change
 * anchors -- in trust.c and keys.c, the only writers of SK_NS_CERT and
 * SK_NS_KEY -- take who asks and refuse SK_BY_LOCAL, so that no command
 * (and no later caller) gets around the lock.  `seckit store` objects live
 * in SK_NS_DATA: no name there reaches a key or a certificate.
 */
enum sk_trust_by {
	SK_BY_LOCAL = 0, /* a command run on the device: provision, key ... */
	SK_BY_STP = 1,   /* sk_stp_apply, once the package verified */
	/* `cert import` of a certificate that certifies a private key of the
	 * store (the device certificate for the device key): no trust
	 * change.  Only sk_trust_set_cert_txn takes it, and only after it
	 * checked exactly that; everywhere else it counts as SK_BY_LOCAL. */
	SK_BY_KEYHOLDER = 2,
};
/* *since: when the store was locked, 0 if it is not. */
int sk_trust_locked(struct sk_store *st, uint64_t *since);
/* Lock the store when t commits. */
int sk_trust_lock_txn(struct sk_txn *t);
/* May `by` replace or delete the trust anchor "what 'name'"?  SK_OK, or
 * SK_EVERIFY "what 'name' is a trust anchor of a locked store: it cannot
 * be <done> (use an STP)"; done: "replaced", "deleted". */
int sk_trust_guard(struct sk_store *st, enum sk_trust_by by, const char *what,
		   const char *name, const char *done);

#endif
