/* SPDX-License-Identifier: MIT */
#ifndef SK_SECRET_H
#define SK_SECRET_H

#include <stddef.h>

/*
 * A secret (password, PIN) read from a SPEC:
 *   pass:TEXT   the text itself (visible in ps(1): for tests and demos)
 *   env:VAR     the value of an environment variable
 *   file:PATH   the first line of a file
 *   fd:N        the first line read from file descriptor N
 *   prompt      asked on the controlling terminal, echo off
 * The bytes live in OpenSSL's secure heap (locked in memory, left out of
 * core dumps: sk_crypto_init) and sk_secret_free() cleanses them.  pass:
 * and env: secrets also stay where the kernel put them, in the process's
 * arguments or environment, which seckit does not own: file:, fd: and
 * prompt leave no other copy.
 */
/* How a SPEC starts, for completion (a word ending in ':' takes more). */
#define SK_SECRET_FORMS "pass: env: file: fd: prompt"

struct sk_secret {
	char *p;
	size_t len;
};

#define SK_SECRET_MAX 1024

/* what: shown in the prompt and in errors ("password for key 'x'").
 * confirm: ask twice when prompting (creating a new secret). */
int sk_secret_get(const char *spec, const char *what, int confirm,
		  struct sk_secret *out);
/* True when spec is NULL and a terminal is available for a prompt. */
int sk_secret_can_prompt(void);
void sk_secret_free(struct sk_secret *s);

#endif
