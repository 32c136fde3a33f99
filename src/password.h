/* SPDX-License-Identifier: MIT */
#ifndef SK_PASSWORD_H
#define SK_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#include "ctx.h"
#include "secret.h"

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

/* Password objects: named secrets in the store that keys are bound to. */
int sk_password_create(struct sk_ctx *ctx, const char *obj, const char *pass_spec);
int sk_password_delete(struct sk_ctx *ctx, const char *obj, const char *pass_spec);
/* Check the secret of obj; on success root is the object's root secret. */
int sk_password_unlock(struct sk_ctx *ctx, const char *obj, const char *pass_spec,
		       const char *what, uint8_t root[32]);
typedef int (*sk_password_list_fn)(const char *obj, uint64_t created, void *arg);
int sk_password_list(struct sk_ctx *ctx, sk_password_list_fn fn, void *arg);

#endif
