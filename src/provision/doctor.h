/* SPDX-License-Identifier: MIT */
#ifndef SK_DOCTOR_H
#define SK_DOCTOR_H

#include <stdint.h>

#include "ctx/ctx.h"

/*
 * `seckit doctor`: a self-check of the device for a field engineer or an
 * init script.  Each check reports findings (ok, warn, fail) through a
 * callback; nothing is printed or changed here.  A device that cannot be
 * checked any further (no store, a store that cannot be opened) is a
 * finding too, not an error: sk_doctor fails only when it cannot run at
 * all (a bad config, out of memory).
 *
 *   store          the store directory: owned by this user, not writable
 *                  by group or others
 *   master-key-file master.key: owned by this user, mode 0600
 *   master-key     file (permissions only: warn) or sealed by the TPM
 *   tpm            reachable, when the backend or the master key needs it
 *   tpm-lockout    dictionary-attack state: counter of max tries, lockout
 *   pkcs11         the configured module: a shared object with
 *                  C_GetFunctionList
 *   pkcs11-token   the configured token present; its user PIN locked
 *                  (fail), not set (fail), low on tries or to be changed
 *                  (warn)
 *   clock          the system time is not behind the store's last-seen time
 *   role:ROLE      the key or certificate playing each role is there
 *   cert:NAME      provisioned and CA certificates: expired (fail), within
 *                  30 days of expiry (warn)
 *   trust-lock     the trust anchors are locked (provision locks them)
 *   crl            the store's CRL (revoked certificates, from STPs)
 *   passwords      password objects: whether a secret is weak cannot be
 *                  known (only scrypt records are kept)
 */
enum sk_doctor_level { SK_DOCTOR_OK, SK_DOCTOR_WARN, SK_DOCTOR_FAIL };

struct sk_doctor_finding {
	enum sk_doctor_level level;
	char check[300];         /* "store", "role:device-key", "cert:NAME" */
	char detail[768];
};
typedef void (*sk_doctor_fn)(const struct sk_doctor_finding *f, void *arg);

struct sk_doctor_opts {
	const char *pkcs11_module; /* the configured module, NULL: none */
	int64_t now;               /* the system time */
	unsigned expiry_warn_days; /* warn this close to a certificate's expiry */
};

const char *sk_doctor_level_name(enum sk_doctor_level l);
int sk_doctor(struct sk_ctx *ctx, const struct sk_doctor_opts *o, sk_doctor_fn fn, void *arg);

#endif
