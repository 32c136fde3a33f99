/* SPDX-License-Identifier: MIT */
#ifndef SK_TLS_INT_H
#define SK_TLS_INT_H

/* Between the files of src/tls/ (tls.h is the outside view). */

#include <stdint.h>

#include <openssl/provider.h>

#include "tls/tls.h"

struct sk_tls {
	struct sk_ctx *ctx;
	SSL_CTX *ssl_ctx;
	OSSL_PROVIDER *prov, *deflt;
	STACK_OF(X509) *ca;         /* anchors of a CA file, or NULL: the CA store */
	int has_cert;
	char key[256];              /* the key's name, for messages ("" without one) */
	/* Why the key cannot sign with RSA-PSS (an RSA key on a token without
	 * CKM_RSA_PKCS_PSS, or restricted to PKCS#1 v1.5): then TLS 1.2 with
	 * PKCS#1 v1.5 only, as TLS 1.3 signs with RSA-PSS alone.  "": it can. */
	char no_pss[300];
	SSL_SESSION *last;          /* the newest session the server gave, or NULL */
};

struct sk_tls_conn {
	struct sk_tls *t;
	SSL *ssl;
	int fd;
	char addr[300];             /* "HOST:PORT", for messages */
	char name[256];             /* the name checked and sent as SNI */
	int verified;
	int verify_rc;              /* the verification's enum sk_rc when it failed */
	char verify_msg[1024];
	int cert_requested;         /* the server sent a CertificateRequest */
	int cert_signed;            /* and the key signed our CertificateVerify */
	char alpn[256];
};

int64_t sk_tls_now_ms(void);
/* Milliseconds until deadline (0 when past). */
int sk_tls_left(int64_t deadline);
/* The error of an SSL call that returned ret: verification, a closed
 * connection, a refused client certificate, another TLS error. */
int sk_tls_conn_error(struct sk_tls_conn *c, int ret, const char *when);
/* Set up c (t, addr, name) and its SSL on the connected or connecting
 * socket fd, resuming t's last session. */
int sk_tls_conn_init(struct sk_tls *t, struct sk_tls_conn *c, int fd, const char *host,
		     const char *port, const char *name);
/* Start a non-blocking TCP connection to one address of host:port: fd
 * connecting (or connected). */
int sk_tls_tcp_start(const char *addr, const char *host, const char *port, int *fd);

#endif
