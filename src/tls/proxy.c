/* SPDX-License-Identifier: MIT */
/*
 * seckit tls proxy (tls.h, sk_tls_proxy_run): plain connections in, TLS
 * connections with the store key out, all in one epoll loop.  Each pair
 * is a small state machine driven by step(): connect, handshake, then two
 * buffers (client to server, server to client) moved as far as the
 * sockets allow, whichever fd woke it.  Interest in each fd is recomputed
 * after every step (level-triggered).  A socket is read only when epoll
 * has reported it readable since a read last found it empty (cli_rd,
 * srv_rd), or when OpenSSL holds bytes of it: level-triggered, a socket
 * that still has data is reported again, so skipping a read loses
 * nothing and saves the EAGAIN read each step would otherwise make.
 *
 * The key's signature never runs in the loop: every SSL call runs as an
 * OpenSSL ASYNC job (SSL_MODE_ASYNC), the provider hands the backend's
 * sign to its worker thread and pauses the job (prov_async.c), the call
 * returns SSL_ERROR_WANT_ASYNC, and the job's wait fd joins the loop; when
 * the worker is done the fd is readable and the same step resumes the
 * job.  Meanwhile the loop serves every other connection.  Once a TLS 1.3
 * handshake is done the key is not used again and the connection leaves
 * ASYNC mode (step_handshake).  A pair closed
 * while its job waits (timeout, reset, shutdown) becomes a zombie until
 * the job ends: freeing its SSL earlier would leak the job.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netdb.h>
#include <netinet/in.h>

#include <openssl/async.h>
#include <openssl/err.h>

#include "base/err.h"
#include "base/util.h"
#include "tls/tls_int.h"

/* Client to server: a read takes up to four records' worth (64 KiB) from
 * the client, SSL_write makes them into 16 KiB records: one recv per four
 * records rather than one each.  Server to client: one record at a time. */
#define PROXY_UP_BUF 65536
#define PROXY_DOWN_BUF 16384

enum pstate { P_CONNECTING, P_HANDSHAKE, P_OPEN };

struct pair;
struct end {
	struct pair *p;
	int server;                 /* 0: the client's fd, 1: the server's, 2: async wait fds */
	uint32_t events;            /* registered with epoll */
};

struct pair {
	struct pair *prev, *next;
	struct end cli, srv, asy;
	int cfd;                    /* the accepted plain connection */
	struct sk_tls_conn c;       /* the TLS connection (c.fd, c.ssl) */
	enum pstate state;
	int64_t deadline;           /* end of connecting and handshake */
	size_t uplen, upoff, downlen, downoff;
	int cli_eof, srv_eof, shut_sent, cli_shut;
	int tls_failed;         /* the TLS connection itself failed (no close_notify then) */
	int srv_want_read, srv_want_write;
	/* The fd may have data: epoll said so, and no read since found it
	 * empty.  Without it, every step would read both sockets, and one
	 * read per record would come back EAGAIN. */
	int cli_rd, srv_rd;
	int async_wait;             /* an SSL call waits for its ASYNC job (the key's sign) */
	int zombie;                 /* closed, its SSL kept until its job ends */
	int done;                   /* close the pair */
	uint64_t id, nup, ndown;
	char peer[64];
	char why[600];              /* why it ended, if not cleanly */
	/* Last and not zeroed (accept_one): an idle connection's pages of
	 * them are never touched. */
	unsigned char up[PROXY_UP_BUF], down[PROXY_DOWN_BUF];
};

struct proxy {
	struct sk_tls *t;
	const struct sk_tls_proxy_opts *o;
	int ep, lfd, sfd;
	struct pair *pairs;
	struct pair *dead;          /* closed in this batch of events, freed after it */
	int async;                  /* SSL calls run as ASYNC jobs */
	uint64_t next_id;
	size_t npairs;
};

static void logf_(struct proxy *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct proxy *x, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (x->o->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	x->o->log(x->o->log_arg, line);
}

static void pair_fail(struct pair *p, int rc)
{
	(void)rc;
	if (p->why[0] == '\0')
		snprintf(p->why, sizeof(p->why), "%s", sk_err_msg());
	sk_err_clear();
	p->done = 1;
}

/* ---- one pair ---- */

static int step_connect(struct pair *p)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(p->c.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return 0;
	if (err != 0) {
		errno = err;
		pair_fail(p, sk_err_sys(SK_EFAIL, "%s: connect", p->c.addr));
		return 0;
	}
	p->state = P_HANDSHAKE;
	return 1;
}

static int ssl_wants(struct pair *p, int ret, const char *when)
{
	int e = SSL_get_error(p->c.ssl, ret);

	if (e == SSL_ERROR_WANT_READ) {
		p->srv_want_read = 1;
		return 0;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		p->srv_want_write = 1;
		return 0;
	}
	if (e == SSL_ERROR_WANT_ASYNC) {
		p->async_wait = 1;
		return 0;
	}
	p->tls_failed = 1;
	pair_fail(p, sk_tls_conn_error(&p->c, ret, when));
	return 0;
}

static int step_handshake(struct pair *p)
{
	int r;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_connect(p->c.ssl)) == 1) {
		p->state = P_OPEN;
		/* After a TLS 1.3 handshake nothing signs again: no
		 * renegotiation, and no post-handshake client
		 * authentication (not offered, so a CertificateRequest
		 * now ends the connection); a KeyUpdate or a ticket needs
		 * no key.  The data then moves without a job around each
		 * SSL call.  TLS 1.2 keeps the jobs: a renegotiation the
		 * server starts may ask for our certificate, and that
		 * sign must not run in the loop. */
		if (SSL_version(p->c.ssl) == TLS1_3_VERSION)
			SSL_clear_mode(p->c.ssl, SSL_MODE_ASYNC);
		return 1;
	}
	return ssl_wants(p, r, "during the handshake");
}

/* Server to client. */
static int step_down(struct pair *p)
{
	int n, progress = 0;
	ssize_t w;

	if (p->downlen == 0 && !p->srv_eof && (p->srv_rd || SSL_has_pending(p->c.ssl))) {
		ERR_clear_error();
		errno = 0;
		n = SSL_read(p->c.ssl, p->down, sizeof(p->down));
		if (n > 0) {
			p->downoff = 0;
			p->downlen = (size_t)n;
			p->ndown += (uint64_t)n;
			progress = 1;
		} else if (SSL_get_error(p->c.ssl, n) == SSL_ERROR_ZERO_RETURN) {
			p->srv_eof = 1;
			progress = 1;
		} else {
			progress = ssl_wants(p, n, "while reading");
			if (p->srv_want_read)
				p->srv_rd = 0;
		}
	}
	if (p->downlen > 0) {
		w = send(p->cfd, p->down + p->downoff, p->downlen, MSG_NOSIGNAL);
		if (w > 0) {
			p->downoff += (size_t)w;
			p->downlen -= (size_t)w;
			progress = 1;
		} else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			pair_fail(p, sk_err_sys(SK_EFAIL, "client %s: send", p->peer));
		}
	}
	if (p->srv_eof && p->downlen == 0 && !p->cli_shut) {
		(void)shutdown(p->cfd, SHUT_WR);
		p->cli_shut = 1;
		progress = 1;
	}
	return progress;
}

/* Client to server. */
static int step_up(struct pair *p)
{
	int n, progress = 0;
	ssize_t r;

	if (p->uplen == 0 && !p->cli_eof && p->cli_rd) {
		r = recv(p->cfd, p->up, sizeof(p->up), 0);
		if (r > 0) {
			/* Short: the socket's queue is empty now. */
			if ((size_t)r < sizeof(p->up))
				p->cli_rd = 0;
			p->upoff = 0;
			p->uplen = (size_t)r;
			p->nup += (uint64_t)r;
			progress = 1;
		} else if (r == 0) {
			p->cli_eof = 1;
			progress = 1;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			p->cli_rd = 0;
		} else if (errno != EINTR) {
			pair_fail(p, sk_err_sys(SK_EFAIL, "client %s: recv", p->peer));
			return 0;
		}
	}
	while (p->uplen > 0) {
		ERR_clear_error();
		errno = 0;
		n = SSL_write(p->c.ssl, p->up + p->upoff, (int)p->uplen);
		if (n <= 0)
			return ssl_wants(p, n, "while writing") || progress;
		p->upoff += (size_t)n;
		p->uplen -= (size_t)n;
		progress = 1;
	}
	if (p->cli_eof && !p->shut_sent) {
		ERR_clear_error();
		errno = 0;
		if ((n = SSL_shutdown(p->c.ssl)) < 0)
			return ssl_wants(p, n, "while closing") || progress;
		(void)shutdown(p->c.fd, SHUT_WR);
		p->shut_sent = 1;
		progress = 1;
	}
	return progress;
}

/* Move everything that can move now. */
static void step(struct pair *p)
{
	int progress = 1, rounds = 0;

	while (progress && !p->done && rounds++ < 16) {
		p->srv_want_read = p->srv_want_write = p->async_wait = 0;
		progress = 0;
		if (p->state == P_CONNECTING)
			progress = step_connect(p);
		else if (p->state == P_HANDSHAKE)
			progress = step_handshake(p);
		else
			progress = step_down(p) | (p->done ? 0 : step_up(p));
	}
	/* Over when the server has closed and the client has all of it, or
	 * both sides have closed. */
	if (p->state == P_OPEN && p->srv_eof && p->downlen == 0 && (p->cli_eof || p->cli_shut))
		p->done = 1;
}

/* ---- the loop ---- */

static int watch(struct proxy *x, int fd, struct end *e, uint32_t ev)
{
	struct epoll_event ee;

	if (e->events == ev)
		return SK_OK;
	memset(&ee, 0, sizeof(ee));
	ee.events = ev;
	ee.data.ptr = e;
	if (epoll_ctl(x->ep, ev == 0 ? EPOLL_CTL_DEL : e->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd,
		      &ee) < 0)
		return sk_err_sys(SK_EFAIL, "epoll_ctl");
	e->events = ev;
	return SK_OK;
}

/* The job's wait fds joining or leaving the loop. */
static void async_fds(struct proxy *x, struct pair *p)
{
	OSSL_ASYNC_FD add[4], del[4];
	size_t nadd = 0, ndel = 0, i;
	struct epoll_event ee;

	if (!SSL_get_changed_async_fds(p->c.ssl, NULL, &nadd, NULL, &ndel) || nadd > SK_ARRAY_SIZE(add) ||
	    ndel > SK_ARRAY_SIZE(del) || !SSL_get_changed_async_fds(p->c.ssl, add, &nadd, del, &ndel))
		return;
	for (i = 0; i < ndel; i++)
		(void)epoll_ctl(x->ep, EPOLL_CTL_DEL, del[i], NULL);
	for (i = 0; i < nadd; i++) {
		memset(&ee, 0, sizeof(ee));
		ee.events = EPOLLIN;
		ee.data.ptr = &p->asy;
		if (epoll_ctl(x->ep, EPOLL_CTL_ADD, add[i], &ee) < 0 && errno != EEXIST) {
			pair_fail(p, sk_err_sys(SK_EFAIL, "epoll_ctl"));
			return;
		}
	}
}

static void unlink_pair(struct proxy *x, struct pair *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		x->pairs = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	x->npairs--;
	p->next = x->dead;
	x->dead = p;
}

/* A zombie's job has ended (or the proxy stops and waited for it). */
static void zombie_free(struct proxy *x, struct pair *p)
{
	SSL_free(p->c.ssl); /* closes the wait fds, leaving the loop */
	close(p->c.fd);
	unlink_pair(x, p);
}

/* Resume a zombie's job; free it once the job is over. */
static void zombie_step(struct proxy *x, struct pair *p)
{
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(p->c.ssl);
	if (r <= 0 && SSL_get_error(p->c.ssl, r) == SSL_ERROR_WANT_ASYNC) {
		async_fds(x, p);
		return;
	}
	ERR_clear_error();
	zombie_free(x, p);
}

static void pair_close(struct proxy *x, struct pair *p, const char *why)
{
	struct sk_tls_summary s;
	const char *end = p->why[0] ? p->why : why;

	if (p->state == P_OPEN) {
		sk_tls_summary(&p->c, &s);
		logf_(x, "#%llu %s -> %s: %s %s%s, %llu bytes up, %llu down%s%s",
		      (unsigned long long)p->id, p->peer, p->c.addr, s.protocol, s.cipher,
		      s.resumed ? " (resumed)" : " (new session)", (unsigned long long)p->nup,
		      (unsigned long long)p->ndown, end ? ": " : "", end ? end : "");
	} else {
		logf_(x, "#%llu %s -> %s: %s", (unsigned long long)p->id, p->peer, p->c.addr,
		      end ? end : "closed before the handshake");
	}
	(void)watch(x, p->cfd, &p->cli, 0);
	if (p->c.fd >= 0)
		(void)watch(x, p->c.fd, &p->srv, 0);
	close(p->cfd);
	p->cfd = -1;
	if (p->c.ssl != NULL && SSL_waiting_for_async(p->c.ssl)) {
		/* Nothing more goes to the server; the job ends on its
		 * own (its sign is with the worker) and is resumed then. */
		(void)shutdown(p->c.fd, SHUT_RDWR);
		p->zombie = 1;
		return;
	}
	/* An open TLS connection that did not fail is closed with a
	 * close_notify, whichever side ended first (the server, or a client
	 * that reset): one freed without it has its session marked not
	 * resumable by OpenSSL, and that session is the one the next
	 * connections resume. */
	if (p->c.ssl != NULL && p->state == P_OPEN && !p->shut_sent && !p->tls_failed)
		(void)SSL_shutdown(p->c.ssl);
	SSL_free(p->c.ssl);
	if (p->c.fd >= 0)
		close(p->c.fd);
	unlink_pair(x, p);
}

static void bury(struct proxy *x)
{
	struct pair *p;

	while ((p = x->dead) != NULL) {
		x->dead = p->next;
		free(p);
	}
}

/* After a step: close the pair, or watch what it waits for. */
static void settle(struct proxy *x, struct pair *p)
{
	uint32_t cev = 0, sev = 0;

	if (p->done) {
		pair_close(x, p, NULL);
		return;
	}
	async_fds(x, p);
	if (p->done) {
		pair_close(x, p, NULL);
		return;
	}
	if (p->async_wait) {
		/* Only the job's wait fd matters until it is resumed. */
		if (watch(x, p->cfd, &p->cli, 0) != SK_OK || watch(x, p->c.fd, &p->srv, 0) != SK_OK) {
			pair_fail(p, SK_EFAIL);
			pair_close(x, p, NULL);
		}
		return;
	}
	if (p->state == P_OPEN) {
		if (p->uplen == 0 && !p->cli_eof)
			cev |= EPOLLIN;
		if (p->downlen > 0)
			cev |= EPOLLOUT;
	}
	if (p->state == P_CONNECTING || p->srv_want_write)
		sev |= EPOLLOUT;
	if (p->srv_want_read || (p->state == P_OPEN && p->downlen == 0 && !p->srv_eof))
		sev |= EPOLLIN;
	if (watch(x, p->cfd, &p->cli, cev) != SK_OK || watch(x, p->c.fd, &p->srv, sev) != SK_OK) {
		pair_fail(p, SK_EFAIL);
		pair_close(x, p, NULL);
	}
}

static void peer_name(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char h[NI_MAXHOST], s[NI_MAXSERV];

	if (getnameinfo((const struct sockaddr *)ss, sizeof(*ss), h, sizeof(h), s, sizeof(s),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, strchr(h, ':') ? "[%s]:%s" : "%s:%s", h, s);
}

static void accept_one(struct proxy *x, int cfd, const struct sockaddr_storage *ss)
{
	struct pair *p = malloc(sizeof(*p));
	int fd, rc;

	if (p == NULL) {
		close(cfd);
		logf_(x, "connection refused: out of memory");
		return;
	}
	memset(p, 0, offsetof(struct pair, up));
	p->cfd = cfd;
	p->c.fd = -1;
	p->id = ++x->next_id;
	p->cli.p = p->srv.p = p->asy.p = p;
	p->srv.server = 1;
	p->cli_rd = p->srv_rd = 1;
	p->asy.server = 2;
	p->deadline = sk_tls_now_ms() + x->o->timeout_ms;
	peer_name(ss, p->peer, sizeof(p->peer));
	p->next = x->pairs;
	if (x->pairs != NULL)
		x->pairs->prev = p;
	x->pairs = p;
	x->npairs++;
	snprintf(p->c.addr, sizeof(p->c.addr), strchr(x->o->host, ':') ? "[%s]:%s" : "%s:%s",
		 x->o->host, x->o->port);
	if ((rc = sk_tls_tcp_start(p->c.addr, x->o->host, x->o->port, &fd)) != SK_OK) {
		pair_fail(p, rc);
		pair_close(x, p, NULL);
		return;
	}
	if ((rc = sk_tls_conn_init(x->t, &p->c, fd, x->o->host, x->o->port, x->o->name)) != SK_OK) {
		if (p->c.fd < 0)
			close(fd);
		pair_fail(p, rc);
		pair_close(x, p, NULL);
		return;
	}
	if (x->async)
		SSL_set_mode(p->c.ssl, SSL_MODE_ASYNC);
	p->state = P_CONNECTING;
	step(p);
	settle(x, p);
}

static void accept_all(struct proxy *x)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int cfd;

	for (;;) {
		len = sizeof(ss);
		cfd = accept4(x->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				logf_(x, "connection not accepted: %s", strerror(errno));
			return;
		}
		accept_one(x, cfd, &ss);
	}
}

/* Pairs still connecting or in their handshake after their deadline. */
static int64_t expire(struct proxy *x)
{
	struct pair *p, *next;
	int64_t now = sk_tls_now_ms(), soonest = -1;

	for (p = x->pairs; p != NULL; p = next) {
		next = p->next;
		if (p->state == P_OPEN || p->zombie)
			continue;
		if (p->deadline <= now) {
			snprintf(p->why, sizeof(p->why), "%s: timed out %s", p->c.addr,
				 p->state == P_CONNECTING ? "connecting" : "during the TLS handshake");
			pair_close(x, p, NULL);
		} else if (soonest < 0 || p->deadline < soonest) {
			soonest = p->deadline;
		}
	}
	return soonest;
}

static int listen_on(struct proxy *x)
{
	struct addrinfo hints, *res = NULL, *ai;
	int g, one = 1, rc = SK_OK;
	const char *h = x->o->listen_host, *port = x->o->listen_port;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((g = getaddrinfo(h, port, &hints, &res)) != 0)
		return sk_err(SK_EFAIL, "%s:%s: cannot resolve: %s", h, port, gai_strerror(g));
	rc = sk_err(SK_EFAIL, "%s:%s: no address", h, port);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		x->lfd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (x->lfd < 0) {
			rc = sk_err_sys(SK_EFAIL, "%s:%s: socket", h, port);
			continue;
		}
		(void)setsockopt(x->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(x->lfd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(x->lfd, 512) == 0) {
			rc = SK_OK;
			break;
		}
		rc = sk_err_sys(SK_EFAIL, "%s:%s: listen", h, port);
		close(x->lfd);
		x->lfd = -1;
	}
	freeaddrinfo(res);
	return rc;
}

static int setup(struct proxy *x)
{
	struct epoll_event ee;
	int rc;

	if ((rc = listen_on(x)) != SK_OK)
		return rc;
	if ((x->sfd = signalfd(-1, x->o->stop, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return sk_err_sys(SK_EFAIL, "signalfd");
	if ((x->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return sk_err_sys(SK_EFAIL, "epoll");
	memset(&ee, 0, sizeof(ee));
	ee.events = EPOLLIN;
	ee.data.ptr = &x->lfd;
	if (epoll_ctl(x->ep, EPOLL_CTL_ADD, x->lfd, &ee) < 0)
		return sk_err_sys(SK_EFAIL, "epoll_ctl");
	ee.data.ptr = &x->sfd;
	if (epoll_ctl(x->ep, EPOLL_CTL_ADD, x->sfd, &ee) < 0)
		return sk_err_sys(SK_EFAIL, "epoll_ctl");
	logf_(x, "listening on %s:%s, connecting to %s:%s", x->o->listen_host, x->o->listen_port,
	      x->o->host, x->o->port);
	return SK_OK;
}

/* Stopping: each zombie's job is waited for (the worker finishes the sign
 * it has) and ended, so that no job is left behind: a job freed while it
 * waits keeps its reference to the key, and a TPM key's objects then stay
 * loaded in a TPM with no resource manager.  The wait is bounded by the
 * clock (a minute), not by a number of tries: the worker signals the wait
 * fd just before it marks the sign done (prov_async.c), so a job resumed
 * in that gap pauses again with its fd still readable, poll returns at
 * once, and 600 tries could pass in a millisecond while the worker was
 * descheduled (seen under load: SIGTERM during a handshake left the key
 * and its parent in swtpm).  A resume that found the sign unfinished
 * sleeps a millisecond before the next. */
#define STOP_WAIT_MS 60000

static void stop_zombies(struct proxy *x)
{
	OSSL_ASYNC_FD fds[4];
	struct pollfd pf[4];
	int64_t end = sk_tls_now_ms() + STOP_WAIT_MS;
	size_t n, i;
	struct pair *p;
	int ready;

	while ((p = x->pairs) != NULL) {
		while (SSL_waiting_for_async(p->c.ssl) && sk_tls_now_ms() < end) {
			n = 0;
			if (!SSL_get_all_async_fds(p->c.ssl, NULL, &n) || n > SK_ARRAY_SIZE(fds) ||
			    !SSL_get_all_async_fds(p->c.ssl, fds, &n))
				break;
			for (i = 0; i < n; i++) {
				pf[i].fd = fds[i];
				pf[i].events = POLLIN;
			}
			ready = poll(pf, n, 100) > 0;
			ERR_clear_error();
			(void)SSL_do_handshake(p->c.ssl);
			if (ready && SSL_waiting_for_async(p->c.ssl))
				(void)poll(NULL, 0, 1);
		}
		zombie_free(x, p);
	}
}

int sk_tls_proxy_run(struct sk_tls *t, const struct sk_tls_proxy_opts *o)
{
	struct proxy x;
	struct epoll_event ev[64];
	struct pair *p, *next;
	int n, i, rc, stop = 0;
	int64_t soonest;

	memset(&x, 0, sizeof(x));
	x.t = t;
	x.o = o;
	x.async = ASYNC_is_capable();
	x.ep = x.lfd = x.sfd = -1;
	if ((rc = setup(&x)) != SK_OK)
		goto out;
	while (!stop) {
		soonest = expire(&x);
		n = epoll_wait(x.ep, ev, (int)SK_ARRAY_SIZE(ev), soonest < 0 ? -1 : sk_tls_left(soonest) + 1);
		if (n < 0 && errno != EINTR) {
			rc = sk_err_sys(SK_EFAIL, "epoll_wait");
			break;
		}
		for (i = 0; i < n; i++) {
			void *ptr = ev[i].data.ptr;

			if (ptr == &x.sfd) {
				stop = 1;
			} else if (ptr == &x.lfd) {
				accept_all(&x);
			} else {
				p = ((struct end *)ptr)->p;
				if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
					if (ptr == &p->cli)
						p->cli_rd = 1;
					else if (ptr == &p->srv)
						p->srv_rd = 1;
				}
				/* A pair closed earlier in this batch is gone:
				 * its events were removed with it, but this
				 * batch may still name it. */
				if (p->zombie && ((struct end *)ptr)->server == 2)
					zombie_step(&x, p);
				if (p->cfd < 0)
					continue;
				step(p);
				settle(&x, p);
			}
		}
		bury(&x);
	}
out:
	for (p = x.pairs; p != NULL; p = next) {
		next = p->next;
		if (!p->zombie)
			pair_close(&x, p, "the proxy stopped");
	}
	stop_zombies(&x);
	bury(&x);
	if (x.ep >= 0)
		close(x.ep);
	if (x.lfd >= 0)
		close(x.lfd);
	if (x.sfd >= 0)
		close(x.sfd);
	return rc;
}
