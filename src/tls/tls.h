/* SPDX-License-Identifier: MIT */
#ifndef SK_TLS_H
#define SK_TLS_H

#include <signal.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ctx/ctx.h"

/*
 * TLS clients with a key of the store (man/seckit-tls.1).  The key is used
 * through the built-in provider (src/provider/): OpenSSL holds an EVP_PKEY
 * of the "seckit" provider whose signatures and decryptions run in the
 * backend, so the private part of a tpm2 key never enters OpenSSL.  TLS
 * 1.2 (ECDHE with AES-GCM or ChaCha20-Poly1305) and TLS 1.3 only.  The
 * peer is verified by sk_cert_verify (src/trust/): against a CA file, or
 * the CA store (the cloud root and the other CA certificates of the
 * store), always with the store's CRL, the store's clock policy and the
 * host name.
 */

struct sk_tls_opts {
	const char *key;            /* store key of the client certificate, or NULL */
	STACK_OF(X509) *cert;       /* the client certificate then its chain; NULL: none */
	STACK_OF(X509) *ca;         /* the anchors (a CA file); NULL: the CA store */
	const char *pass;           /* pass spec of the key's password object, or NULL */
	const char *alpn;           /* comma-separated protocols, or NULL */
};

/* "HOST:PORT" or "[V6ADDR]:PORT" (SK_EUSAGE if not). */
int sk_tls_parse_addr(const char *s, char *host, size_t hostlen, char *port, size_t portlen);

/* A client context: the provider loaded, the key opened (once), the
 * certificate checked against it.  SK_EVERIFY if they do not match. */
struct sk_tls;
int sk_tls_new(struct sk_ctx *ctx, const struct sk_tls_opts *o, struct sk_tls **out);
void sk_tls_free(struct sk_tls *t);

/* One connection (TCP, then the handshake), non-blocking.  host: the
 * address to connect to; name: the name the server's certificate must
 * carry and that is sent as SNI (NULL: host; no SNI for an IP address).
 * timeout_ms bounds connecting and the handshake.  Errors: SK_EFAIL for
 * a connection that fails or times out ("HOST:PORT: ..."), SK_EVERIFY for
 * a server that fails verification, SK_EAUTH for a server that refuses
 * to go on without a client certificate when none is given. */
struct sk_tls_conn;
int sk_tls_connect(struct sk_tls *t, const char *host, const char *port, const char *name,
		   int timeout_ms, struct sk_tls_conn **out);
void sk_tls_conn_free(struct sk_tls_conn *c);

/* Relay: in_fd's data to the server, the server's data to out_fd, both
 * byte for byte, until the server closes.  At in_fd's end the client
 * closes its side (close_notify, then TCP half-close) and keeps reading
 * for at most timeout_ms.  in_fd -1: nothing to send, close at once;
 * out_fd -1: what the server sends is counted in *discarded, not kept
 * (errors it sends at the end of the handshake are still seen: TLS 1.3's
 * "certificate required"). */
int sk_tls_relay(struct sk_tls_conn *c, int in_fd, int out_fd, int timeout_ms, uint64_t *discarded);

/*
 * The proxy: each plain connection accepted on listen_host:listen_port
 * becomes one TLS connection to host:port with the context's key, in one
 * epoll loop with non-blocking sockets and TLS (no process or thread per
 * connection).  The last session is resumed by the next connection (TLS
 * 1.3 tickets, TLS 1.2 session tickets), so the key signs once per
 * session.  The run ends, with SK_OK, when one of the signals of stop
 * arrives (the caller blocks them; they are read from a signalfd).
 */
struct sk_tls_proxy_opts {
	const char *listen_host, *listen_port;
	const char *host, *port, *name;     /* the server, as sk_tls_connect */
	int timeout_ms;                     /* connecting and handshake, per connection */
	const sigset_t *stop;
	/* One line per connection at its end, and one when listening; NULL:
	 * none. */
	void (*log)(void *arg, const char *line);
	void *log_arg;
};
int sk_tls_proxy_run(struct sk_tls *t, const struct sk_tls_proxy_opts *o);

struct sk_tls_summary {
	const char *protocol;       /* "TLSv1.3" */
	const char *cipher;         /* IANA/OpenSSL name */
	const char *group;          /* key exchange group, or NULL */
	const char *alpn_proto;     /* negotiated, or NULL (static buffer of c) */
	char peer_subject[512], peer_issuer[512];
	int verified, resumed, client_cert;
};
void sk_tls_summary(struct sk_tls_conn *c, struct sk_tls_summary *s);

#endif
