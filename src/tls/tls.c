/* SPDX-License-Identifier: MIT */
/*
 * TLS client contexts with a store key through the built-in provider, the
 * server's verification by the store's rules, and connections: TCP
 * connect and handshake, non-blocking with a deadline (tls.h).  relay.c
 * moves the data.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/x509v3.h>

#include "base/err.h"
#include "provider/provider.h"
#include "tls/tls_int.h"
#include "trust/trust.h"
#include "trust/x509.h"

/* TLS 1.2: forward secrecy and AEAD only (TLS 1.3's suites are all so). */
#define TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"

int64_t sk_tls_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sk_tls_left(int64_t deadline)
{
	int64_t left = deadline - sk_tls_now_ms();

	return left < 0 ? 0 : left > 1000000000 ? 1000000000 : (int)left;
}

/* ---- the provider and the key ---- */

/*
 * The provider's errors come back through OpenSSL's queue: the reason is
 * the exit code (err.h) and the data the library's message.  The last one
 * raised by the provider becomes this error; others are OpenSSL's own.
 */
static int provider_error(const char *what)
{
	unsigned long e;
	const char *data, *lib;
	int flags, rc = 0;
	char msg[512] = "";

	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		lib = ERR_lib_error_string(e);
		if (lib != NULL && strcmp(lib, "seckit") == 0 && ERR_GET_REASON(e) >= SK_EFAIL &&
		    ERR_GET_REASON(e) <= SK_EEXIST) {
			rc = ERR_GET_REASON(e);
			snprintf(msg, sizeof(msg), "%s", (flags & ERR_TXT_STRING) && data ? data : "");
		} else if (rc == 0 && msg[0] == '\0') {
			ERR_error_string_n(e, msg, sizeof(msg));
		}
	}
	/* The provider's message names the key already. */
	if (rc != 0 && msg[0] != '\0')
		return sk_err(rc, "%s", msg);
	return sk_err(rc ? rc : SK_EFAIL, "%s: %s", what, msg[0] ? msg : "failed");
}

static int load_providers(struct sk_ctx *ctx, struct sk_tls *t, const char *pass)
{
	static int added;
	struct sk_provider_opts po;

	memset(&po, 0, sizeof(po));
	po.store = ctx->opt_store;
	po.backend = ctx->opt_backend;
	po.config = ctx->opt_config;
	po.tcti = ctx->opt_tcti;
	po.pkcs11_module = ctx->opt_pkcs11_module;
	po.token = ctx->opt_token;
	po.pin = ctx->opt_pin;
	po.pass = pass;
	po.verbose = ctx->verbose;
	sk_provider_builtin_opts(&po);
	if (!added && sk_provider_add_builtin() != 1)
		return sk_err_ssl(SK_EFAIL, "seckit provider");
	added = 1;
	t->prov = OSSL_PROVIDER_load(NULL, "seckit");
	sk_provider_builtin_opts(NULL);
	if (t->prov == NULL)
		return sk_err_ssl(SK_EFAIL, "seckit provider");
	if ((t->deflt = OSSL_PROVIDER_load(NULL, "default")) == NULL)
		return sk_err_ssl(SK_EFAIL, "default provider");
	return SK_OK;
}

/* The key as an EVP_PKEY of the provider (seckit:NAME through OSSL_STORE). */
static int load_key(const char *name, EVP_PKEY **out)
{
	OSSL_STORE_CTX *sc;
	OSSL_STORE_INFO *info;
	char uri[300], what[300];

	*out = NULL;
	snprintf(what, sizeof(what), "key '%s'", name);
	if (snprintf(uri, sizeof(uri), "seckit:%s", name) >= (int)sizeof(uri))
		return sk_err(SK_EUSAGE, "key name too long");
	ERR_clear_error();
	if ((sc = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL)) == NULL)
		return provider_error(what);
	while (*out == NULL && !OSSL_STORE_eof(sc) && (info = OSSL_STORE_load(sc)) != NULL) {
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			*out = OSSL_STORE_INFO_get1_PKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	OSSL_STORE_close(sc);
	if (*out == NULL)
		return provider_error(what);
	ERR_clear_error();
	return SK_OK;
}

/* "h2,http/1.1" in ALPN's wire format. */
static int alpn_wire(const char *list, unsigned char **out, size_t *outlen)
{
	size_t n = strlen(list), i, start = 0;
	unsigned char *w = malloc(n + 1);

	if (w == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	for (i = 0; i <= n; i++) {
		if (i < n && list[i] != ',')
			continue;
		if (i == start || i - start > 255) {
			free(w);
			return sk_err(SK_EUSAGE, "ALPN protocol list '%s': each protocol is 1 to 255 bytes",
				      list);
		}
		w[start] = (unsigned char)(i - start);
		memcpy(w + start + 1, list + start, i - start);
		start = i + 1;
	}
	*out = w;
	*outlen = n + 1;
	return SK_OK;
}

/* Whether pkey's provider lets it sign (with RSA padding pad, 0: any);
 * why (when not) its reason. */
static int can_pad(EVP_PKEY *pkey, int pad, char *why, size_t whylen)
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	const char *data;
	int flags, ok;

	ERR_set_mark();
	ok = pctx != NULL && EVP_PKEY_sign_init(pctx) > 0 &&
	     (pad == 0 || EVP_PKEY_CTX_set_rsa_padding(pctx, pad) > 0);
	if (!ok && ERR_peek_last_error_data(&data, &flags) != 0 && (flags & ERR_TXT_STRING) &&
	    data != NULL && data[0] != '\0')
		snprintf(why, whylen, "%s", data);
	ERR_pop_to_mark();
	EVP_PKEY_CTX_free(pctx);
	return ok;
}

/*
 * A key that cannot sign at all (a PKCS#11 key restricted to mechanisms
 * its token lacks) fails here, before any connection.  The RSA signature
 * schemes the key can make, as its provider says when
 * asked for each padding (a token without CKM_RSA_PKCS_PSS, a key whose
 * CKA_ALLOWED_MECHANISMS has one scheme only: seckit-provider(7)), become
 * the only ones offered for the client's signature: libssl checks a
 * scheme's digest with the key (EVP_DigestSignInit) but not its padding,
 * and would otherwise pick RSA-PSS and fail in the middle of the
 * handshake.  TLS 1.3 signs with RSA-PSS alone: a key without it does TLS
 * 1.2 with PKCS#1 v1.5, and why is kept for the error of a server that
 * wants 1.3.
 */
static int rsa_schemes(struct sk_tls *t, EVP_PKEY *pkey)
{
	char why[sizeof(t->no_pss)];
	int pss, pkcs1;

	snprintf(why, sizeof(why), "key '%s' cannot sign", t->key);
	if (!can_pad(pkey, 0, why, sizeof(why)))
		return sk_err(SK_EUNSUPP, "%s", why);
	if (!EVP_PKEY_is_a(pkey, "RSA"))
		return SK_OK;
	snprintf(t->no_pss, sizeof(t->no_pss), "key '%s' cannot sign with RSA-PSS", t->key);
	snprintf(why, sizeof(why), "key '%s' cannot sign with PKCS#1 v1.5", t->key);
	pss = can_pad(pkey, RSA_PKCS1_PSS_PADDING, t->no_pss, sizeof(t->no_pss));
	pkcs1 = can_pad(pkey, RSA_PKCS1_PADDING, why, sizeof(why));
	if (pss)
		t->no_pss[0] = '\0';
	if (pss && !pkcs1 &&
	    SSL_CTX_set1_client_sigalgs_list(t->ssl_ctx, "RSA-PSS+SHA256:RSA-PSS+SHA384:RSA-PSS+SHA512") != 1)
		return sk_err_ssl(SK_EFAIL, "TLS context");
	if (!pss && (SSL_CTX_set_max_proto_version(t->ssl_ctx, TLS1_2_VERSION) != 1 ||
		     SSL_CTX_set1_client_sigalgs_list(t->ssl_ctx, "RSA+SHA256:RSA+SHA384:RSA+SHA512") != 1))
		return sk_err_ssl(SK_EFAIL, "TLS context");
	return SK_OK;
}

static int use_cert(struct sk_tls *t, const struct sk_tls_opts *o)
{
	EVP_PKEY *pkey = NULL;
	X509 *leaf = sk_X509_value(o->cert, 0);
	int i, rc;

	if (leaf == NULL)
		return sk_err(SK_EUSAGE, "client certificate: none in the file");
	if ((rc = load_key(o->key, &pkey)) != SK_OK)
		return rc;
	snprintf(t->key, sizeof(t->key), "%s", o->key);
	if (SSL_CTX_use_certificate(t->ssl_ctx, leaf) != 1) {
		EVP_PKEY_free(pkey);
		return sk_err_ssl(SK_EVERIFY, "client certificate");
	}
	for (i = 1; i < sk_X509_num(o->cert); i++)
		if (SSL_CTX_add1_chain_cert(t->ssl_ctx, sk_X509_value(o->cert, i)) != 1) {
			EVP_PKEY_free(pkey);
			return sk_err_ssl(SK_EFAIL, "client certificate chain");
		}
	if (SSL_CTX_use_PrivateKey(t->ssl_ctx, pkey) != 1 || SSL_CTX_check_private_key(t->ssl_ctx) != 1) {
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		return sk_err(SK_EVERIFY, "key '%s' is not the key of the client certificate", o->key);
	}
	rc = rsa_schemes(t, pkey);
	EVP_PKEY_free(pkey);
	return rc;
}

/* The newest session, for the next connection to resume. */
static int new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct sk_tls *t = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), 0);

	if (t == NULL || !SSL_SESSION_is_resumable(sess))
		return 0;
	SSL_SESSION_free(t->last);
	t->last = sess;
	return 1;
}

static int verify_peer(X509_STORE_CTX *xctx, void *arg);
static void msg_seen(int write_p, int version, int content_type, const void *buf, size_t len,
		     SSL *ssl, void *arg);

int sk_tls_new(struct sk_ctx *ctx, const struct sk_tls_opts *o, struct sk_tls **out)
{
	struct sk_tls *t = calloc(1, sizeof(*t));
	const struct sk_policy *pol;
	struct sk_store *st;
	unsigned char *alpn = NULL;
	size_t alpnlen = 0;
	int rc;

	*out = NULL;
	if (t == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	t->ctx = ctx;
	/* The store of the verification is opened now, before the key: its
	 * master key may be sealed by the TPM the key is in, and a TPM holds
	 * few objects at a time (the provider keeps the key loaded).  A
	 * device without a store (its key on a token or in a file) verifies
	 * the server against --ca, with no CRL and no clock floor; without
	 * --ca it has no anchor, and the verification says so. */
	if ((rc = sk_ctx_store_if_any(ctx, &st)) != SK_OK || (rc = sk_ctx_policy(ctx, &pol)) != SK_OK)
		goto fail;
	if ((rc = load_providers(ctx, t, o->pass)) != SK_OK)
		goto fail;
	/* Everything but the key from the default provider: the key shares
	 * are then made there directly.  Without the query they would go
	 * through the seckit provider's EC key management, which makes them
	 * with the default provider anyway (its TLS-GROUP capability,
	 * seckit-provider(7)): the same handshake, one wrapper fewer. */
	if ((t->ssl_ctx = SSL_CTX_new_ex(NULL, "?provider=default", TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(t->ssl_ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(t->ssl_ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(t->ssl_ctx, TLS12_CIPHERS) != 1) {
		rc = sk_err_ssl(SK_EFAIL, "TLS context");
		goto fail;
	}
	SSL_CTX_set_mode(t->ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_verify(t->ssl_ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(t->ssl_ctx, verify_peer, t);
	SSL_CTX_set_msg_callback(t->ssl_ctx, msg_seen);
	SSL_CTX_set_session_cache_mode(t->ssl_ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(t->ssl_ctx, new_session);
	if (!SSL_CTX_set_ex_data(t->ssl_ctx, 0, t)) {
		rc = sk_err_ssl(SK_EFAIL, "TLS context");
		goto fail;
	}
	if (o->ca != NULL && (t->ca = X509_chain_up_ref(o->ca)) == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto fail;
	}
	if (o->alpn != NULL) {
		if ((rc = alpn_wire(o->alpn, &alpn, &alpnlen)) != SK_OK)
			goto fail;
		rc = SSL_CTX_set_alpn_protos(t->ssl_ctx, alpn, (unsigned)alpnlen);
		free(alpn);
		if (rc != 0) {
			rc = sk_err_ssl(SK_EFAIL, "ALPN");
			goto fail;
		}
	}
	if (o->cert != NULL && (rc = use_cert(t, o)) != SK_OK)
		goto fail;
	t->has_cert = o->cert != NULL;
	*out = t;
	return SK_OK;
fail:
	sk_tls_free(t);
	return rc;
}

void sk_tls_free(struct sk_tls *t)
{
	if (t == NULL)
		return;
	/* The context holds the key: free it before the provider goes (the
	 * provider's last key closes the store and flushes the TPM). */
	SSL_SESSION_free(t->last);
	SSL_CTX_free(t->ssl_ctx);
	sk_X509_pop_free(t->ca, X509_free);
	if (t->deflt != NULL)
		OSSL_PROVIDER_unload(t->deflt);
	if (t->prov != NULL)
		OSSL_PROVIDER_unload(t->prov);
	free(t);
}

/* ---- verification of the server ---- */

static int verify_peer(X509_STORE_CTX *xctx, void *arg)
{
	struct sk_tls *t = arg;
	SSL *ssl = X509_STORE_CTX_get_ex_data(xctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct sk_tls_conn *c = SSL_get_app_data(ssl);
	struct sk_verify_opts o;
	struct sk_verify_result r;
	int rc;

	memset(&o, 0, sizeof(o));
	o.untrusted = X509_STORE_CTX_get0_untrusted(xctx);
	o.purpose = "sslserver";
	o.anchors = t->ca;
	o.host = c->name;
	o.store_optional = 1;
	rc = sk_cert_verify(t->ctx, X509_STORE_CTX_get0_cert(xctx), &o, &r);
	c->verify_rc = rc;
	if (rc == SK_OK) {
		c->verified = 1;
	} else if (rc == SK_EVERIFY) {
		snprintf(c->verify_msg, sizeof(c->verify_msg), "certificate verify failed: %s ('%s', depth %d)",
			 r.reason, r.subject, r.depth);
		X509_STORE_CTX_set_error(xctx, r.error);
	} else {
		snprintf(c->verify_msg, sizeof(c->verify_msg), "certificate verification: %s",
			 sk_err_msg());
		X509_STORE_CTX_set_error(xctx, X509_V_ERR_UNSPECIFIED);
	}
	sk_verify_result_free(&r);
	sk_err_clear();
	return rc == SK_OK;
}

/* Whether the server asked for a client certificate, and whether the
 * key signed for it (libssl sends no certificate when the key can make
 * none of the signature schemes the server accepts). */
static void msg_seen(int write_p, int version, int content_type, const void *buf, size_t len,
		     SSL *ssl, void *arg)
{
	struct sk_tls_conn *c = SSL_get_app_data(ssl);
	int type = len > 0 ? ((const unsigned char *)buf)[0] : -1;

	(void)version;
	(void)arg;
	if (c == NULL || content_type != SSL3_RT_HANDSHAKE)
		return;
	if (!write_p && type == SSL3_MT_CERTIFICATE_REQUEST)
		c->cert_requested = 1;
	if (write_p && type == SSL3_MT_CERTIFICATE_VERIFY)
		c->cert_signed = 1;
}

/* ---- connections ---- */

int sk_tls_parse_addr(const char *s, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hl;
	unsigned long p;
	char *end;

	if (colon == NULL)
		return sk_err(SK_EUSAGE, "'%s': expected HOST:PORT", s);
	hl = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hl < 2 || s[hl - 1] != ']')
			return sk_err(SK_EUSAGE, "'%s': expected [ADDRESS]:PORT", s);
		h = s + 1;
		hl -= 2;
	} else if (memchr(s, ':', hl) != NULL) {
		return sk_err(SK_EUSAGE, "'%s': an IPv6 address goes in brackets: [ADDRESS]:PORT", s);
	}
	p = strtoul(colon + 1, &end, 10);
	if (hl == 0 || hl >= hostlen || colon[1] < '0' || colon[1] > '9' || *end != '\0' || p == 0 ||
	    p > 65535 || strlen(colon + 1) >= portlen)
		return sk_err(SK_EUSAGE, "'%s': expected HOST:PORT (port 1 to 65535)", s);
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, portlen, "%lu", p);
	return SK_OK;
}

static int is_ip(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* Wait for fd (POLLIN/POLLOUT) until deadline: 1 ready, 0 timed out. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { fd, events, 0 };
	int n;

	do
		n = poll(&p, 1, sk_tls_left(deadline));
	while (n < 0 && errno == EINTR);
	return n > 0 ? 1 : n == 0 ? 0 : -1;
}

static int try_addr(struct sk_tls_conn *c, const struct addrinfo *ai, int64_t deadline)
{
	int fd, err = 0, one = 1, r;
	socklen_t len = sizeof(err);

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 ai->ai_protocol)) < 0)
		return sk_err_sys(SK_EFAIL, "%s: socket", c->addr);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
		} else if ((r = wait_fd(fd, POLLOUT, deadline)) <= 0) {
			close(fd);
			if (r == 0)
				return sk_err(SK_EFAIL, "%s: timed out connecting", c->addr);
			return sk_err_sys(SK_EFAIL, "%s: poll", c->addr);
		} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
			err = errno;
		}
	}
	if (err != 0) {
		close(fd);
		errno = err;
		return sk_err_sys(SK_EFAIL, "%s: connect", c->addr);
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	return SK_OK;
}

static int tcp_connect(struct sk_tls_conn *c, const char *host, const char *port, int64_t deadline)
{
	struct addrinfo hints, *res = NULL, *ai;
	int rc, g;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((g = getaddrinfo(host, port, &hints, &res)) != 0)
		return sk_err(SK_EFAIL, "%s: cannot resolve: %s", c->addr,
			      g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
	rc = sk_err(SK_EFAIL, "%s: no address", c->addr);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((rc = try_addr(c, ai, deadline)) == SK_OK || sk_tls_left(deadline) == 0)
			break;
	}
	freeaddrinfo(res);
	return rc;
}

/* Alerts with which a server refuses the client's authentication. */
static int auth_alert(int alert)
{
	switch (alert) {
	case SSL_AD_HANDSHAKE_FAILURE:
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_REVOKED:
	case SSL_AD_CERTIFICATE_EXPIRED:
	case SSL_AD_CERTIFICATE_UNKNOWN:
	case SSL_AD_UNKNOWN_CA:
	case SSL_AD_ACCESS_DENIED:
	case SSL_AD_CERTIFICATE_REQUIRED:
		return 1;
	}
	return 0;
}

/*
 * An error of the handshake or the data from OpenSSL's queue (q its last):
 * the key's provider's own (a key that cannot sign what was asked, with
 * its exit code), a server that accepts no signature scheme the key can
 * make (exit 6), a server that wants TLS 1.3 from a key without RSA-PSS
 * (exit 6, why), else OpenSSL's reason.
 */
static int queue_error(struct sk_tls_conn *c, unsigned long q, const char *when)
{
	const struct sk_tls *t = c->t;
	int reason = ERR_GET_REASON(q), ssl = ERR_GET_LIB(q) == ERR_LIB_SSL, prc = 0, flags;
	char why[256], pmsg[512] = "";
	unsigned long e;
	const char *data, *lib;

	ERR_error_string_n(q, why, sizeof(why));
	if (ERR_reason_error_string(q) != NULL)
		snprintf(why, sizeof(why), "%s", ERR_reason_error_string(q));
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		lib = ERR_lib_error_string(e);
		if (lib != NULL && strcmp(lib, "seckit") == 0 && ERR_GET_REASON(e) >= SK_EFAIL &&
		    ERR_GET_REASON(e) <= SK_EEXIST && (flags & ERR_TXT_STRING) && data != NULL) {
			prc = ERR_GET_REASON(e);
			snprintf(pmsg, sizeof(pmsg), "%s", data);
		}
	}
	if (prc != 0)
		return sk_err(prc, "%s: TLS %s: %s", c->addr, when, pmsg);
	if (ssl && reason == SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM && t->has_cert)
		return sk_err(SK_EUNSUPP, "%s: TLS %s: the server accepts no signature scheme that key '%s' can sign with%s%s%s",
			      c->addr, when, t->key, t->no_pss[0] ? " (" : "", t->no_pss,
			      t->no_pss[0] ? ")" : "");
	if (ssl && t->no_pss[0] &&
	    (reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION || reason == SSL_R_UNSUPPORTED_PROTOCOL ||
	     reason == SSL_R_NO_PROTOCOLS_AVAILABLE))
		return sk_err(SK_EUNSUPP, "%s: TLS %s: the server wants TLS 1.3, where RSA keys sign with RSA-PSS only: %s",
			      c->addr, when, t->no_pss);
	return sk_err(SK_EFAIL, "%s: TLS %s: %s", c->addr, when, why);
}

int sk_tls_conn_error(struct sk_tls_conn *c, int ret, const char *when)
{
	int e = SSL_get_error(c->ssl, ret);
	unsigned long q = ERR_peek_last_error();
	int reason = ERR_GET_REASON(q), alert = reason - SSL_AD_REASON_OFFSET;

	if (c->verify_rc != SK_OK) {
		ERR_clear_error();
		return sk_err(c->verify_rc == SK_EVERIFY ? SK_EVERIFY : c->verify_rc, "%s: %s", c->addr,
			      c->verify_msg);
	}
	if (e == SSL_ERROR_SYSCALL && q == 0) {
		if (errno == 0 || ret == 0)
			return sk_err(SK_EFAIL, "%s: the server closed the connection %s", c->addr, when);
		return sk_err_sys(SK_EFAIL, "%s: %s", c->addr, when);
	}
	if (ERR_GET_LIB(q) == ERR_LIB_SSL && reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		ERR_clear_error();
		return sk_err(SK_EFAIL, "%s: the server closed the connection %s", c->addr, when);
	}
	if (ERR_GET_LIB(q) == ERR_LIB_SSL && alert > 0 && alert < 256 && c->cert_requested &&
	    auth_alert(alert)) {
		ERR_clear_error();
		if (!c->t->has_cert)
			return sk_err(SK_EAUTH, "%s: the server requires a client certificate (none given)",
				      c->addr);
		if (!c->cert_signed)
			return sk_err(SK_EUNSUPP, "%s: the server accepts no signature scheme that key '%s' can sign with%s%s%s",
				      c->addr, c->t->key, c->t->no_pss[0] ? " (" : "", c->t->no_pss,
				      c->t->no_pss[0] ? ")" : "");
		return sk_err(SK_EAUTH, "%s: the server refused the client certificate: %s", c->addr,
			      SSL_alert_desc_string_long(alert));
	}
	if (q != 0)
		return queue_error(c, q, when);
	return sk_err(SK_EFAIL, "%s: TLS %s: error %d", c->addr, when, e);
}

static int handshake(struct sk_tls_conn *c, int64_t deadline)
{
	int r, e, w;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_connect(c->ssl)) == 1)
			return SK_OK;
		e = SSL_get_error(c->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return sk_tls_conn_error(c, r, "during the handshake");
		w = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (w == 0)
			return sk_err(SK_EFAIL, "%s: timed out during the TLS handshake", c->addr);
		if (w < 0)
			return sk_err_sys(SK_EFAIL, "%s: poll", c->addr);
	}
}

int sk_tls_conn_init(struct sk_tls *t, struct sk_tls_conn *c, int fd, const char *host,
		     const char *port, const char *name)
{
	SSL_SESSION *sess = NULL;
	int ok;

	c->t = t;
	c->fd = fd;
	snprintf(c->addr, sizeof(c->addr), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	snprintf(c->name, sizeof(c->name), "%s", name != NULL ? name : host);
	/* A copy of the last session, not the session itself: OpenSSL marks
	 * the session a TLS 1.3 handshake resumed as not resumable once that
	 * handshake is done (a ticket used once), and t->last shared with the
	 * connection would then be refused to every connection started
	 * before the next ticket arrives (seckit tls proxy: runs of full
	 * handshakes, and of signs, in a churn of connections). */
	ok = (c->ssl = SSL_new(t->ssl_ctx)) != NULL && SSL_set_app_data(c->ssl, c) &&
	     SSL_set_fd(c->ssl, c->fd) == 1 &&
	     (is_ip(c->name) || SSL_set_tlsext_host_name(c->ssl, c->name) == 1) &&
	     (t->last == NULL ||
	      ((sess = SSL_SESSION_dup(t->last)) != NULL && SSL_set_session(c->ssl, sess) == 1));
	SSL_SESSION_free(sess);
	if (!ok)
		return sk_err_ssl(SK_EFAIL, "%s: TLS connection", c->addr);
	return SK_OK;
}

int sk_tls_connect(struct sk_tls *t, const char *host, const char *port, const char *name,
		   int timeout_ms, struct sk_tls_conn **out)
{
	struct sk_tls_conn *c = calloc(1, sizeof(*c));
	int64_t deadline = sk_tls_now_ms() + timeout_ms;
	int rc;

	*out = NULL;
	if (c == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	c->t = t;
	c->fd = -1;
	snprintf(c->addr, sizeof(c->addr), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	if ((rc = tcp_connect(c, host, port, deadline)) != SK_OK ||
	    (rc = sk_tls_conn_init(t, c, c->fd, host, port, name)) != SK_OK ||
	    (rc = handshake(c, deadline)) != SK_OK)
		goto fail;
	*out = c;
	return SK_OK;
fail:
	sk_tls_conn_free(c);
	return rc;
}

/* For the proxy: the first address, connecting (no wait). */
int sk_tls_tcp_start(const char *addr, const char *host, const char *port, int *fd)
{
	struct addrinfo hints, *res = NULL, *ai;
	int g, s = -1, one = 1, rc = SK_OK;

	*fd = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((g = getaddrinfo(host, port, &hints, &res)) != 0)
		return sk_err(SK_EFAIL, "%s: cannot resolve: %s", addr,
			      g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (s < 0) {
			rc = sk_err_sys(SK_EFAIL, "%s: socket", addr);
			continue;
		}
		if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
			rc = SK_OK;
			break;
		}
		rc = sk_err_sys(SK_EFAIL, "%s: connect", addr);
		close(s);
		s = -1;
	}
	freeaddrinfo(res);
	if (s < 0)
		return rc != SK_OK ? rc : sk_err(SK_EFAIL, "%s: no address", addr);
	(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*fd = s;
	return SK_OK;
}

void sk_tls_conn_free(struct sk_tls_conn *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

void sk_tls_summary(struct sk_tls_conn *c, struct sk_tls_summary *s)
{
	X509 *peer = SSL_get0_peer_certificate(c->ssl);
	const unsigned char *ap = NULL;
	unsigned aplen = 0;
	int nid = SSL_get_negotiated_group(c->ssl);

	memset(s, 0, sizeof(*s));
	s->protocol = SSL_get_version(c->ssl);
	s->cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl));
	s->group = nid != NID_undef ? SSL_group_to_name(c->ssl, nid) : NULL;
	SSL_get0_alpn_selected(c->ssl, &ap, &aplen);
	if (aplen > 0) {
		memcpy(c->alpn, ap, aplen);
		c->alpn[aplen] = '\0';
		s->alpn_proto = c->alpn;
	}
	if (peer != NULL) {
		sk_x509_name_str(X509_get_subject_name(peer), s->peer_subject, sizeof(s->peer_subject));
		sk_x509_name_str(X509_get_issuer_name(peer), s->peer_issuer, sizeof(s->peer_issuer));
	}
	s->verified = c->verified || SSL_session_reused(c->ssl);
	s->resumed = SSL_session_reused(c->ssl);
	s->client_cert = c->t->has_cert && c->cert_requested;
}
