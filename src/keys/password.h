/* SPDX-License-Identifier: MIT */
#ifndef SK_PASSWORD_H
#define SK_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"
#include "ctx/ctx.h"
#include "ctx/secret.h"

struct sk_txn;

/*
 * Password records: what is kept instead of a password.  scrypt (memory
 * hard) turns the secret and a random salt into 64 bytes; the first half
 * keys a verifier (compared in constant time), the second half is a "root"
 * from which callers derive keys that wrap data, so the data is protected
 * by the password itself and not only by the check.
 *
 * Record (SK_PWREC_LEN bytes): version u8 = 1, N u64, r u64, p u64,
 * salt[16], verifier[32].
 */
#define SK_PWREC_LEN 73

int sk_pwrec_new(const struct sk_secret *s, uint64_t n, uint64_t r, uint64_t p,
		 uint8_t rec[SK_PWREC_LEN], uint8_t root[32]);
/* SK_EAUTH if the secret is wrong, SK_EVERIFY if the record is malformed. */
int sk_pwrec_check(const uint8_t *rec, size_t len, const struct sk_secret *s, uint8_t root[32]);

/* Obtain a secret from spec; with no spec, prompt on a terminal or fail
 * with SK_EAUTH ("needs a password: give --pass"). */
int sk_password_secret(const char *spec, const char *what, int confirm, struct sk_secret *s);

/* Wrap / unwrap data under a key derived from a root and a label
 * (AES-256-GCM; the label is bound as associated data).
 * Output of wrap: nonce[12] || ciphertext || tag[16]. */
int sk_pw_wrap(const uint8_t root[32], const char *label, const uint8_t *in, size_t n,
	       struct sk_buf *out);
int sk_pw_unwrap(const uint8_t root[32], const char *label, const uint8_t *in, size_t n,
		 struct sk_buf *out);

/*
 * Password objects: named secrets in the store that keys are bound to.
 * Who checks the password is fixed when the object is created, by the
 * backend of that run:
 *
 *   in software (backends without auth_new: soft).  The object holds a
 *     password record; a key bound to it has its blob wrapped under the
 *     record's root.  Whoever holds the store and its master key can test
 *     guesses offline, at the cost of one scrypt each.
 *   by the backend (tpm2).  The object holds a random salt and the
 *     backend's check object, and no verifier; its keys are created with
 *     the authorisation value HKDF(password, salt) (sk_password_auth), which
 *     only the TPM compares, counting failures (dictionary-attack
 *     protection).  Nothing in the store lets a guess be tested without
 *     the TPM.
 *
 * A key and its password object are checked the same way: software
 * objects guard keys of backends without auth_new, backend objects guard
 * that backend's keys.  (tpm2 keys bound to software objects by seckit
 * 0.1 are still read: their blob is wrapped, as for soft keys.)
 */
int sk_password_create(struct sk_ctx *ctx, const char *obj, const char *pass_spec);
/* Prove obj's password and delete obj in transaction t.  Whether a key
 * still uses obj is the key catalogue's question: sk_password_delete
 * (keys.h) asks it first and then calls this. */
int sk_password_remove(struct sk_ctx *ctx, struct sk_txn *t, const char *obj,
		       const char *pass_spec);

/* Which backend checks obj's password: "" for software, else the backend's
 * name (checker has room for 16 bytes).  SK_ENOTFOUND with a message. */
int sk_password_checker(struct sk_ctx *ctx, const char *obj, char checker[16]);

/* What a password gives: the root of a software-checked object, or the
 * authorisation value of a backend-checked one's keys. */
struct sk_pwunlock {
	char checker[16];       /* as sk_password_checker */
	uint8_t root[32];       /* checker "": the record's root */
	struct sk_auth auth;    /* else: the keys' authorisation value */
};
void sk_pwunlock_cleanse(struct sk_pwunlock *u);

/* SK_PW_CHECK: check the password of a backend-checked object now,
 * through its check object (for a binding, a deletion); without it the
 * value is only derived, and the key's first use is the check.  A
 * software-checked object is always checked. */
#define SK_PW_CHECK 1u
int sk_password_unlock(struct sk_ctx *ctx, const char *obj, const char *pass_spec,
		       const char *what, unsigned flags, struct sk_pwunlock *out);

/* checked_by: "software" or the backend's name. */
typedef int (*sk_password_list_fn)(const char *obj, uint64_t created, const char *checked_by,
				   void *arg);
int sk_password_list(struct sk_ctx *ctx, sk_password_list_fn fn, void *arg);

#endif
