/* SPDX-License-Identifier: MIT */
/*
 * The data of a connection (tls.h, sk_tls_relay): one poll loop over the
 * input, the socket and the TLS state, with half-close.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "base/err.h"
#include "tls/tls_int.h"

#define RELAY_BUF 16384

struct relay {
	struct sk_tls_conn *c;
	int in_fd, out_fd;
	unsigned char tx[RELAY_BUF];
	size_t txoff, txlen;
	int in_eof, shut_sent, peer_done;
	int want_write;             /* an SSL call waits for the socket to take data */
	int64_t deadline;           /* after shut_sent */
	uint64_t discarded;
};

static int write_all(int fd, const unsigned char *p, size_t n)
{
	struct pollfd pf = { fd, POLLOUT, 0 };
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			(void)poll(&pf, 1, -1);
		} else if (w < 0 && errno != EINTR) {
			return sk_err_sys(SK_EFAIL, "output: write");
		}
	}
	return SK_OK;
}

/* The error of an SSL call that returned ret, SSL_ERROR_NONE when it
 * only waits for the socket (to take data: want_write) and is repeated
 * once the socket is ready. */
static int ssl_wait(struct relay *r, int ret)
{
	int e = SSL_get_error(r->c->ssl, ret);

	if (e == SSL_ERROR_WANT_WRITE)
		r->want_write = 1;
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? SSL_ERROR_NONE : e;
}

/* Everything the TLS connection has for us now. */
static int drain(struct relay *r)
{
	unsigned char buf[RELAY_BUF];
	int n, e, rc;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		n = SSL_read(r->c->ssl, buf, sizeof(buf));
		if (n > 0) {
			if (r->out_fd < 0)
				r->discarded += (uint64_t)n;
			else if ((rc = write_all(r->out_fd, buf, (size_t)n)) != SK_OK)
				return rc;
			continue;
		}
		if ((e = ssl_wait(r, n)) == SSL_ERROR_NONE)
			return SK_OK;
		if (e == SSL_ERROR_ZERO_RETURN) {
			r->peer_done = 1;
			return SK_OK;
		}
		return sk_tls_conn_error(r->c, n, "while reading");
	}
}

/* Send what was read from the input; at its end, close our side. */
static int push(struct relay *r)
{
	int n;

	while (r->txlen > 0) {
		ERR_clear_error();
		errno = 0;
		n = SSL_write(r->c->ssl, r->tx + r->txoff, (int)r->txlen);
		if (n > 0) {
			r->txoff += (size_t)n;
			r->txlen -= (size_t)n;
			continue;
		}
		if (ssl_wait(r, n) == SSL_ERROR_NONE)
			return SK_OK;
		return sk_tls_conn_error(r->c, n, "while writing");
	}
	if (!r->in_eof || r->shut_sent)
		return SK_OK;
	ERR_clear_error();
	errno = 0;
	n = SSL_shutdown(r->c->ssl);
	if (n < 0)
		return ssl_wait(r, n) == SSL_ERROR_NONE ? SK_OK : sk_tls_conn_error(r->c, n, "while closing");
	r->shut_sent = 1;
	(void)shutdown(r->c->fd, SHUT_WR);
	return SK_OK;
}

static int read_input(struct relay *r)
{
	ssize_t n;

	n = read(r->in_fd, r->tx, sizeof(r->tx));
	if (n > 0) {
		r->txoff = 0;
		r->txlen = (size_t)n;
	} else if (n == 0) {
		r->in_eof = 1;
	} else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
		return sk_err_sys(SK_EFAIL, "input: read");
	}
	return SK_OK;
}

int sk_tls_relay(struct sk_tls_conn *c, int in_fd, int out_fd, int timeout_ms, uint64_t *discarded)
{
	struct relay *r = calloc(1, sizeof(*r));
	struct pollfd pf[2];
	int rc = SK_OK, n, np, shut_before;

	if (r == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	r->c = c;
	r->in_fd = in_fd;
	r->out_fd = out_fd;
	r->in_eof = in_fd < 0;
	for (;;) {
		r->want_write = 0;
		shut_before = r->shut_sent;
		if ((rc = drain(r)) != SK_OK || r->peer_done)
			break;
		if ((rc = push(r)) != SK_OK)
			break;
		if (r->shut_sent && !shut_before)
			r->deadline = sk_tls_now_ms() + timeout_ms;
		pf[0].fd = c->fd;
		pf[0].events = (short)(POLLIN | (r->want_write ? POLLOUT : 0));
		pf[1].fd = r->in_fd;
		pf[1].events = POLLIN;
		np = !r->in_eof && r->txlen == 0 ? 2 : 1;
		n = poll(pf, (nfds_t)np, r->shut_sent ? sk_tls_left(r->deadline) : -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = sk_err_sys(SK_EFAIL, "%s: poll", c->addr);
			break;
		}
		if (n == 0) {
			rc = sk_err(SK_EFAIL, "%s: timed out waiting for the server to close", c->addr);
			break;
		}
		if (np == 2 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    (rc = read_input(r)) != SK_OK)
			break;
	}
	if (discarded != NULL)
		*discarded = r->discarded;
	free(r);
	return rc;
}
