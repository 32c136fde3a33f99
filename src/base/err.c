/* SPDX-License-Identifier: MIT */
#include "base/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

static _Thread_local char msgbuf[1024];
static _Thread_local enum sk_remedy remedy;

/* Per-process warning settings: written once by main() before any thread. */
static const char *warn_prog = "seckit";
static int warn_quiet;

__attribute__((format(printf, 2, 0)))
static int vset(int rc, const char *fmt, va_list ap)
{
	vsnprintf(msgbuf, sizeof(msgbuf), fmt, ap);
	remedy = SK_REMEDY_NONE;
	return rc;
}

int sk_err(int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(rc, fmt, ap);
	va_end(ap);
	return rc;
}

static void append(const char *s)
{
	size_t n = strlen(msgbuf);

	snprintf(msgbuf + n, sizeof(msgbuf) - n, ": %s", s);
}

int sk_err_ssl(int rc, const char *fmt, ...)
{
	va_list ap;
	unsigned long e, last = 0;
	char reason[256];

	va_start(ap, fmt);
	vset(rc, fmt, ap);
	va_end(ap);
	/* The innermost (first queued) error is usually the most specific. */
	while ((e = ERR_get_error()) != 0)
		if (last == 0)
			last = e;
	if (last != 0) {
		const char *r = ERR_reason_error_string(last);

		if (r == NULL) {
			ERR_error_string_n(last, reason, sizeof(reason));
			r = reason;
		}
		append(r);
	}
	return rc;
}

int sk_err_sys(int rc, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vset(rc, fmt, ap);
	va_end(ap);
	append(strerror(saved));
	errno = saved;
	return rc;
}

int sk_err_wrap(int rc, const char *fmt, ...)
{
	char old[sizeof(msgbuf)];
	size_t n;
	va_list ap;

	memcpy(old, msgbuf, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(msgbuf, sizeof(msgbuf), fmt, ap);
	va_end(ap);
	n = strlen(msgbuf);
	if (n + 2 < sizeof(msgbuf)) {
		memcpy(msgbuf + n, ": ", 2);
		memcpy(msgbuf + n + 2, old, sizeof(msgbuf) - n - 3);
		msgbuf[sizeof(msgbuf) - 1] = '\0';
	}
	return rc;
}

int sk_err_hint(int rc, const char *fmt, ...)
{
	size_t n = strlen(msgbuf);
	va_list ap;

	if (n + 1 < sizeof(msgbuf)) {
		msgbuf[n++] = ' ';
		va_start(ap, fmt);
		vsnprintf(msgbuf + n, sizeof(msgbuf) - n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int sk_err_remedy(int rc, enum sk_remedy r)
{
	remedy = r;
	return rc;
}

enum sk_remedy sk_err_remedy_get(void)
{
	return remedy;
}

const char *sk_err_msg(void)
{
	return msgbuf[0] ? msgbuf : "unknown error";
}

void sk_err_clear(void)
{
	/* OpenSSL's queue is left alone: the first call into it (even a
	 * peek) loads every error string, a tenth of a short command's
	 * start-up.  Expected OpenSSL failures are cleared where they happen,
	 * and sk_err_ssl() drains the queue when it reports. */
	msgbuf[0] = '\0';
	remedy = SK_REMEDY_NONE;
}

void sk_err_save(struct sk_err_saved *s)
{
	memcpy(s->msg, msgbuf, sizeof(s->msg));
	s->remedy = remedy;
}

void sk_err_restore(const struct sk_err_saved *s)
{
	memcpy(msgbuf, s->msg, sizeof(msgbuf));
	remedy = s->remedy;
}

void sk_warn_setup(const char *prog, int quiet)
{
	warn_prog = prog;
	warn_quiet = quiet;
}

void sk_warn(const char *fmt, ...)
{
	va_list ap;

	if (warn_quiet)
		return;
	fprintf(stderr, "%s: warning: ", warn_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *sk_rc_name(int rc)
{
	static const char *const names[] = {
		"success", "failure", "usage error", "config invalid",
		"backend unavailable", "authentication failed",
		"not supported", "verification failed", "not found",
		"already exists",
	};

	if (rc < 0 || rc >= (int)(sizeof(names) / sizeof(names[0])))
		return "failure";
	return names[rc];
}
