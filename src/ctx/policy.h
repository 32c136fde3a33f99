/* SPDX-License-Identifier: MIT */
#ifndef SK_POLICY_H
#define SK_POLICY_H

#include "ctx/config.h"

/*
 * What the configuration decides for an operation: which names play the
 * roles, what "now" is for certificate dates, the default digest and
 * package cipher.  The command resolves it once, before the operation
 * starts (sk_ctx_policy, ctx.h), and passes down what is needed: a library
 * function takes this struct or the names it needs as arguments, and never
 * goes back to the config in the middle of an operation.  The strings
 * belong to the context and live as long as it.
 */
struct sk_policy {
	const char *role[SK_ROLE_COUNT]; /* the name playing each role (never NULL) */
	enum sk_clock clock;             /* trust time: system, or monotonic */
	const char *digest;              /* defaults.digest; NULL: per-purpose built-in */
	const char *cipher;              /* defaults.cipher (ECIES); NULL: built-in */
};

#endif
