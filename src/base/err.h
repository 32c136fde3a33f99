/* SPDX-License-Identifier: MIT */
#ifndef SK_ERR_H
#define SK_ERR_H

#include <stdarg.h>

/*
 * The one exit-status contract (CLI.md, seckit(1) EXIT STATUS).
 * Every library function returns one of these; the command layer turns the
 * last one into the process exit status.  Do not reorder or renumber.
 */
enum sk_rc {
	SK_OK = 0,        /* success */
	SK_EFAIL = 1,     /* other failure (I/O, internal) */
	SK_EUSAGE = 2,    /* usage error */
	SK_ECONFIG = 3,   /* config or manifest invalid */
	SK_EBACKEND = 4,  /* backend unavailable, store locked or insecure */
	SK_EAUTH = 5,     /* authentication failed (password, PIN) */
	SK_EUNSUPP = 6,   /* not supported by this backend or key type */
	SK_EVERIFY = 7,   /* verification failed: signature, MAC, tamper ... */
	SK_ENOTFOUND = 8, /* not found */
	SK_EEXIST = 9,    /* already exists */
};

/*
 * Error reporting.  The library records one message per thread ("what
 * failed: why"); the command layer prints it as "seckit CMD: MESSAGE".
 * Like errno and OpenSSL's error queue this is thread-local state, so the
 * fleet workers of `oo id` can report independently; it is the one piece of
 * mutable state outside struct sk_ctx.
 *
 * sk_err() sets the message and returns rc so that callers can write
 *     return sk_err(SK_ENOTFOUND, "key '%s': not found", name);
 * sk_err_ssl() appends the reason from OpenSSL's error queue (and clears
 * the queue); sk_err_sys() appends strerror(errno).
 */
int sk_err(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sk_err_ssl(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sk_err_sys(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the current message with "what: " (adds context on the way up). */
int sk_err_wrap(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append " TEXT" to the current message: the command layer says there
 * which option to change ("(see --device-key)"); the library names what
 * is wrong, never an option. */
int sk_err_hint(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* What the caller can do about the current error, for the command layer
 * to name the option that does it (the library never names one):
 * sk_err_remedy(rc, SK_REMEDY_PASS) marks the error just set and returns
 * rc; every new error starts with SK_REMEDY_NONE. */
enum sk_remedy {
	SK_REMEDY_NONE = 0,
	SK_REMEDY_PASS,    /* give the password (a secret spec) */
	SK_REMEDY_BACKEND, /* use another backend */
	SK_REMEDY_FORCE,   /* say that the damaged thing may go */
	SK_REMEDY_MODE,    /* choose another mode of the cipher */
	SK_REMEDY_OUT,     /* write the data to a file: stdout is taken */
	SK_REMEDY_REPLACE, /* say that the existing thing may be replaced */
};
int sk_err_remedy(int rc, enum sk_remedy r);
enum sk_remedy sk_err_remedy_get(void);
const char *sk_err_msg(void);
void sk_err_clear(void);
/* Keep the current error across calls that may set or clear their own
 * (rendering a report after a failure): save, call, restore. */
struct sk_err_saved {
	char msg[1024];
	enum sk_remedy remedy;
};
void sk_err_save(struct sk_err_saved *s);
void sk_err_restore(const struct sk_err_saved *s);

/* Warnings go straight to stderr unless quiet; set once by the command layer. */
void sk_warn_setup(const char *prog, int quiet);
void sk_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Short human name of an exit code ("verification failed"). */
const char *sk_rc_name(int rc);

#endif
