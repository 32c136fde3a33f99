/* SPDX-License-Identifier: MIT */
#include "ctx/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ctx/ctx.h"
#include "base/err.h"
#include "base/util.h"

void sk_secret_free(struct sk_secret *s)
{
	OPENSSL_secure_clear_free(s->p, SK_SECRET_MAX + 1);
	s->p = NULL;
	s->len = 0;
}

/* Read the first line (up to SK_SECRET_MAX bytes) from fd into buf. */
static int read_line(int fd, char *buf, size_t *len, const char *what)
{
	size_t n = 0;

	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return sk_err_sys(SK_EFAIL, "reading %s", what);
		}
		if (r == 0 || c == '\n')
			break;
		if (n == SK_SECRET_MAX)
			return sk_err(SK_EUSAGE, "reading %s: longer than %d bytes",
				      what, SK_SECRET_MAX);
		buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return SK_OK;
}

int sk_secret_can_prompt(void)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	close(fd);
	return isatty(STDIN_FILENO);
}

static int prompt_once(int tty, const char *label, char *buf, size_t *len)
{
	struct termios old, noecho;
	int rc;

	if (write(tty, label, strlen(label)) < 0)
		return sk_err_sys(SK_EFAIL, "writing prompt");
	if (tcgetattr(tty, &old) != 0)
		return sk_err_sys(SK_EFAIL, "terminal");
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	noecho.c_lflag |= ECHONL;
	if (tcsetattr(tty, TCSAFLUSH, &noecho) != 0)
		return sk_err_sys(SK_EFAIL, "terminal");
	rc = read_line(tty, buf, len, "password from terminal");
	tcsetattr(tty, TCSAFLUSH, &old);
	return rc;
}

static int from_prompt(const char *what, int confirm, struct sk_secret *s)
{
	char label[300], *again = NULL;
	size_t len2 = 0;
	int tty, rc;

	tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty < 0)
		return sk_err(SK_EUSAGE, "%s: no terminal to prompt on; give it as env:VAR, file:PATH or fd:N", what);
	snprintf(label, sizeof(label), "Enter %s: ", what);
	rc = prompt_once(tty, label, s->p, &s->len);
	if (rc == SK_OK && confirm) {
		again = OPENSSL_secure_zalloc(SK_SECRET_MAX + 1);
		if (again == NULL) {
			rc = sk_err(SK_EFAIL, "out of memory");
		} else {
			snprintf(label, sizeof(label), "Repeat %s: ", what);
			rc = prompt_once(tty, label, again, &len2);
			if (rc == SK_OK && (len2 != s->len ||
					    !sk_ct_equal(again, s->p, len2)))
				rc = sk_err(SK_EAUTH, "%s: the two entries differ", what);
			OPENSSL_secure_clear_free(again, SK_SECRET_MAX + 1);
		}
	}
	close(tty);
	return rc;
}

int sk_secret_get(const char *spec, const char *what, int confirm,
		  struct sk_secret *s)
{
	int rc = SK_OK;

	s->len = 0;
	s->p = OPENSSL_secure_zalloc(SK_SECRET_MAX + 1);
	if (s->p == NULL)
		return sk_err(SK_EFAIL, "out of memory");

	if (spec == NULL || strcmp(spec, "prompt") == 0) {
		rc = from_prompt(what, confirm, s);
	} else if (strncmp(spec, "pass:", 5) == 0) {
		size_t n = strlen(spec + 5);

		if (n > SK_SECRET_MAX)
			rc = sk_err(SK_EUSAGE, "%s: longer than %d bytes", what, SK_SECRET_MAX);
		else {
			memcpy(s->p, spec + 5, n);
			s->len = n;
		}
	} else if (strncmp(spec, "env:", 4) == 0) {
		const char *v = sk_env(spec + 4);

		if (spec[4] == '\0')
			rc = sk_err(SK_EUSAGE, "%s: env: needs a variable name", what);
		else if (v == NULL)
			rc = sk_err(SK_EUSAGE, "%s: environment variable '%s' is not set",
				    what, spec + 4);
		else if (strlen(v) > SK_SECRET_MAX)
			rc = sk_err(SK_EUSAGE, "%s: longer than %d bytes", what, SK_SECRET_MAX);
		else {
			s->len = strlen(v);
			memcpy(s->p, v, s->len);
		}
	} else if (strncmp(spec, "file:", 5) == 0) {
		int fd = open(spec + 5, O_RDONLY | O_CLOEXEC | O_NOCTTY);

		if (fd < 0)
			rc = sk_err_sys(SK_EUSAGE, "%s: opening '%s'", what, spec + 5);
		else {
			rc = read_line(fd, s->p, &s->len, what);
			close(fd);
		}
	} else if (strncmp(spec, "fd:", 3) == 0) {
		uint64_t fd;

		if (sk_parse_uint(spec + 3, 1u << 20, &fd) != 0)
			rc = sk_err(SK_EUSAGE, "%s: fd: needs a descriptor number", what);
		else if (fcntl((int)fd, F_GETFD) < 0)
			rc = sk_err(SK_EUSAGE, "%s: file descriptor %d is not open",
				    what, (int)fd);
		else
			rc = read_line((int)fd, s->p, &s->len, what);
	} else {
		rc = sk_err(SK_EUSAGE,
			    "%s: bad secret spec (use pass:, env:, file:, fd: or prompt)",
			    what);
	}
	if (rc != SK_OK)
		sk_secret_free(s);
	return rc;
}
