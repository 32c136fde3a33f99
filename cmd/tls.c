/* SPDX-License-Identifier: MIT */
/* seckit tls: TLS connections with a key of the store (src/tls/). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "tls/tls.h"
#include "trust/trust.h"
#include "trust/x509.h"
#include "json.h"
#include "opt.h"

/* Seconds for connecting and the handshake, and for the server's close
 * after ours (man/seckit-tls.1). */
#define TLS_TIMEOUT_DEFAULT 30

static void json_summary(const char *host, const char *port, const char *name,
			 const struct sk_tls_summary *s, uint64_t discarded)
{
	struct sk_json j;

	sk_json_init(&j, stdout);
	sk_json_obj(&j);
	sk_json_kstr(&j, "host", host);
	sk_json_kstr(&j, "port", port);
	sk_json_kstr(&j, "servername", name);
	sk_json_kstr(&j, "protocol", s->protocol);
	sk_json_kstr(&j, "cipher", s->cipher);
	sk_json_key(&j, "group");
	if (s->group != NULL)
		sk_json_str(&j, s->group);
	else
		sk_json_null(&j);
	sk_json_key(&j, "alpn");
	if (s->alpn_proto != NULL)
		sk_json_str(&j, s->alpn_proto);
	else
		sk_json_null(&j);
	sk_json_kstr(&j, "peer_subject", s->peer_subject);
	sk_json_kstr(&j, "peer_issuer", s->peer_issuer);
	sk_json_kbool(&j, "verified", s->verified);
	sk_json_kbool(&j, "resumed", s->resumed);
	sk_json_kbool(&j, "client_certificate", s->client_cert);
	sk_json_kuint(&j, "bytes_discarded", discarded);
	sk_json_end_obj(&j);
	sk_json_done(&j);
}

/* The options shared by connect (and later proxy): key, certificate, CA. */
static int tls_setup(struct sk_ctx *ctx, const struct sk_args *a, struct sk_tls **t)
{
	const char *certarg = sk_opt_str(a, OPT_cert_arg), *ca = sk_opt_str(a, OPT_ca_file);
	const struct sk_policy *pol;
	struct sk_tls_opts o;
	int stored, rc;

	memset(&o, 0, sizeof(o));
	o.key = sk_opt_str(a, OPT_key);
	o.pass = sk_opt_str(a, OPT_pass);
	o.alpn = sk_opt_str(a, OPT_alpn);
	if (o.key != NULL && certarg == NULL)
		return sk_usage_error("--key needs --cert (the key's certificate)");
	if (o.pass != NULL && certarg == NULL)
		return sk_usage_error("--pass needs --cert");
	if (certarg != NULL && o.key == NULL) {
		if ((rc = sk_ctx_policy(ctx, &pol)) != SK_OK)
			return rc;
		o.key = pol->role[SK_ROLE_DEVICE_KEY];
	}
	if (ca != NULL && (rc = sk_x509_load(ca, &o.ca)) != SK_OK)
		return rc;
	if (certarg != NULL && (rc = sk_cert_load_arg(ctx, certarg, &o.cert, &stored)) != SK_OK) {
		sk_X509_pop_free(o.ca, X509_free);
		return rc;
	}
	rc = sk_tls_new(ctx, &o, t);
	sk_X509_pop_free(o.ca, X509_free);
	sk_X509_pop_free(o.cert, X509_free);
	return rc;
}

static int tls_connect(struct sk_ctx *ctx, const struct sk_args *a)
{
	char host[256], port[32];
	const char *name = sk_opt_str(a, OPT_servername);
	struct sk_tls *t = NULL;
	struct sk_tls_conn *c = NULL;
	struct sk_tls_summary s;
	uint64_t secs = TLS_TIMEOUT_DEFAULT, discarded = 0;
	int rc, ms;

	if (sk_tls_parse_addr(a->pos[0], host, sizeof(host), port, sizeof(port)) != SK_OK)
		return sk_usage_error("%s", sk_err_msg());
	(void)sk_opt_uint(a, OPT_timeout, &secs);
	ms = (int)secs * 1000;
	/* A server that goes away while we write is an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	if ((rc = tls_setup(ctx, a, &t)) != SK_OK)
		return rc;
	if ((rc = sk_tls_connect(t, host, port, name, ms, &c)) != SK_OK)
		goto out;
	if (ctx->json) {
		/* stdout is the document's: no data is sent, what the server
		 * sends is counted and dropped, and the summary follows its
		 * close. */
		if ((rc = sk_tls_relay(c, -1, -1, ms, &discarded)) != SK_OK)
			goto out;
		sk_tls_summary(c, &s);
		json_summary(host, port, name != NULL ? name : host, &s, discarded);
		goto out;
	}
	if (ctx->verbose) {
		sk_tls_summary(c, &s);
		fprintf(stderr, "%s: connected to %s:%s: %s %s, server '%s' verified%s\n", sk_prog(), host,
			port, s.protocol, s.cipher, s.peer_subject, s.resumed ? ", resumed" : "");
	}
	rc = sk_tls_relay(c, STDIN_FILENO, STDOUT_FILENO, ms, NULL);
out:
	sk_tls_conn_free(c);
	sk_tls_free(t);
	return rc;
}

static void proxy_log(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "%s: %s\n", sk_prog(), line);
}

static int tls_proxy(struct sk_ctx *ctx, const struct sk_args *a)
{
	char lhost[256], lport[32], host[256], port[32];
	const char *listen = sk_opt_str(a, OPT_listen);
	struct sk_tls_proxy_opts po;
	struct sk_tls *t = NULL;
	uint64_t secs = TLS_TIMEOUT_DEFAULT;
	sigset_t stop;
	int rc;

	memset(&po, 0, sizeof(po));
	/* A port alone listens on loopback. */
	if (strchr(listen, ':') == NULL || listen[0] == ':') {
		snprintf(lhost, sizeof(lhost), "127.0.0.1");
		snprintf(lport, sizeof(lport), "%s", listen + (listen[0] == ':'));
		if (strspn(lport, "0123456789") != strlen(lport) || lport[0] == '\0' || atoi(lport) < 1 ||
		    atoi(lport) > 65535)
			return sk_usage_error("--listen '%s': expected [ADDR:]PORT (port 1 to 65535)", listen);
	} else if (sk_tls_parse_addr(listen, lhost, sizeof(lhost), lport, sizeof(lport)) != SK_OK) {
		return sk_usage_error("--listen %s", sk_err_msg());
	}
	if (sk_tls_parse_addr(sk_opt_str(a, OPT_connect), host, sizeof(host), port, sizeof(port)) != SK_OK)
		return sk_usage_error("--connect %s", sk_err_msg());
	(void)sk_opt_uint(a, OPT_timeout, &secs);
	po.listen_host = lhost;
	po.listen_port = lport;
	po.host = host;
	po.port = port;
	po.name = sk_opt_str(a, OPT_servername);
	po.timeout_ms = (int)secs * 1000;
	po.log = ctx->verbose ? proxy_log : NULL;
	/* SIGTERM and SIGINT end the run cleanly: blocked here, read by the
	 * loop (signalfd). */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	po.stop = &stop;
	signal(SIGPIPE, SIG_IGN);
	if ((rc = tls_setup(ctx, a, &t)) != SK_OK)
		return rc;
	rc = sk_tls_proxy_run(t, &po);
	sk_tls_free(t);
	return rc;
}

static const struct sk_verbopt connect_opts[] = {
	{ OPT_key, "the store key of the client certificate (default: the device key role)" },
	{ OPT_cert_arg, "client certificate: a provisioned certificate's name, or a PEM file with its chain" },
	{ OPT_pass, "the password of the key's password object" },
	{ OPT_ca_file, "verify the server against these CA certificates (default: the store's CA store)" },
	{ OPT_servername, "the name the server's certificate must carry, sent as SNI (default: HOST)" },
	{ OPT_alpn, "offer these ALPN protocols (comma-separated)" },
	{ OPT_timeout, "seconds for connecting and the handshake, and for the server's close (default: 30)" },
};

static const struct sk_verbopt proxy_opts[] = {
	{ OPT_listen, "accept plain connections here ([ADDR:]PORT; a port alone: loopback)", .required = 1 },
	{ OPT_connect, "the TLS server each connection is relayed to", .required = 1 },
	{ OPT_key, "the store key of the client certificate (default: the device key role)" },
	{ OPT_cert_arg, "client certificate: a provisioned certificate's name, or a PEM file with its chain" },
	{ OPT_pass, "the password of the key's password object" },
	{ OPT_ca_file, "verify the server against these CA certificates (default: the store's CA store)" },
	{ OPT_servername, "the name the server's certificate must carry, sent as SNI (default: HOST)" },
	{ OPT_alpn, "offer these ALPN protocols (comma-separated)" },
	{ OPT_timeout, "seconds for connecting and the handshake of each connection (default: 30)" },
};

static const struct sk_verb verbs[] = {
	SK_VERB("connect", tls_connect, "connect with the device key: stdin to the server, its data to stdout",
		.synopsis = "HOST:PORT", SK_POS(1, 1), SK_OPTIONS(connect_opts)),
	SK_VERB("proxy", tls_proxy, "relay plain local connections over TLS with the device key",
		SK_OPTIONS(proxy_opts)),
};

const struct sk_command sk_cmd_tls = {
	.name = "tls",
	.summary = "TLS connections with a key of the store",
	SK_VERBS(verbs),
};
