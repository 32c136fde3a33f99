/* SPDX-License-Identifier: MIT */
/* seckit cert: the certificate store, CSRs from store keys, issuing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "../src/certgen.h"
#include "../src/crypto.h"
#include "../src/err.h"
#include "../src/fileio.h"
#include "../src/keys.h"
#include "../src/secret.h"
#include "../src/trust.h"
#include "../src/x509.h"
#include "json.h"
#include "opt.h"

#define DIGESTS "sha256 sha384 sha512"
#define O_FORMAT { "format", 'f', SK_ARG, "FMT", "pem (default) or der", SK_C_CHOICE, "pem der" }

static int need(const struct sk_args *a, const char *opt)
{
	if (sk_arg_str(a, opt) == NULL)
		return sk_usage_error("--%s is required", opt);
	return SK_OK;
}

static int format_der(const struct sk_args *a, int *der)
{
	const char *f = sk_arg_str(a, "format");

	*der = 0;
	if (f == NULL || strcmp(f, "pem") == 0)
		return SK_OK;
	if (strcmp(f, "der") == 0) {
		*der = 1;
		return SK_OK;
	}
	return sk_usage_error("unknown format '%s' (expected pem or der)", f);
}

static int digest_opt(struct sk_ctx *ctx, const struct sk_args *a, const EVP_MD **md)
{
	const char *name;
	int rc;

	if ((rc = sk_arg_digest(ctx, a, &name)) != SK_OK)
		return rc;
	*md = sk_md_by_name(name, 0);
	if (*md == NULL || sk_md_is_weak(*md) || EVP_MD_get_size(*md) < 32)
		return sk_usage_error("digest '%s' is not accepted for certificates (expected one of: %s)",
				      name, DIGESTS);
	return SK_OK;
}

/* ---- printing ---- */

struct certview {
	char subject[512], issuer[512], serial[80], fp[65];
	int64_t nb, na;
};

static void view(X509 *x, struct certview *v)
{
	memset(v, 0, sizeof(*v));
	sk_x509_name_str(X509_get_subject_name(x), v->subject, sizeof(v->subject));
	sk_x509_name_str(X509_get_issuer_name(x), v->issuer, sizeof(v->issuer));
	sk_x509_serial_str(X509_get0_serialNumber(x), v->serial, sizeof(v->serial));
	if (sk_x509_fingerprint(x, v->fp) != SK_OK)
		v->fp[0] = '\0';
	if (sk_asn1_time_epoch(X509_get0_notBefore(x), &v->nb) != SK_OK)
		v->nb = 0;
	if (sk_asn1_time_epoch(X509_get0_notAfter(x), &v->na) != SK_OK)
		v->na = 0;
	sk_err_clear();
}

static void json_x509(struct sk_json *j, X509 *x)
{
	struct certview v;

	view(x, &v);
	sk_json_kstr(j, "subject", v.subject);
	sk_json_kstr(j, "issuer", v.issuer);
	sk_json_kstr(j, "serial", v.serial);
	sk_json_ktime(j, "not_before", v.nb);
	sk_json_ktime(j, "not_after", v.na);
	sk_json_kstr(j, "fingerprint", v.fp);
	sk_json_kbool(j, "ca", X509_check_ca(x) >= 1);
}

static void json_cert(struct sk_json *j, const struct sk_cert *c)
{
	sk_json_obj(j);
	sk_json_kstr(j, "name", c->name);
	sk_json_kstr(j, "kind", sk_cert_kind_name(c->kind));
	if (c->x509 != NULL) {
		json_x509(j, c->x509);
		sk_json_kbool(j, "revoked", c->revoked);
	} else if (c->req != NULL) {
		char subject[512];

		sk_x509_name_str(X509_REQ_get_subject_name(c->req), subject, sizeof(subject));
		sk_json_kstr(j, "subject", subject);
	}
	sk_json_kstr(j, "key", c->key[0] ? c->key : NULL);
	sk_json_kstr(j, "origin", c->origin[0] ? c->origin : NULL);
	sk_json_ktime(j, "added", (int64_t)c->added);
	sk_json_end_obj(j);
}

/* ---- list ---- */

static const struct sk_opt list_opts[] = {
	{ "ca", 0, SK_NOARG, NULL, "only the CA store", SK_C_NONE, NULL },
	{ "provisioned", 0, SK_NOARG, NULL, "only provisioned certificates", SK_C_NONE, NULL },
	{ "csr", 0, SK_NOARG, NULL, "only stored certificate requests", SK_C_NONE, NULL },
	{ "revoked", 0, SK_NOARG, NULL, "the CRL: revoked issuer/serial pairs", SK_C_NONE, NULL },
	{ "names", 0, SK_NOARG, NULL, "print only the names, one per line", SK_C_NONE, NULL },
	SK_OPT_END,
};

struct list_state {
	struct sk_ctx *ctx;
	struct sk_json j;
	int names;
};

static int list_one(const struct sk_cert *c, void *arg)
{
	struct list_state *s = arg;
	char when[32], subject[512];

	if (s->ctx->json) {
		json_cert(&s->j, c);
		return 0;
	}
	if (s->names) {
		printf("%s\n", c->name);
		return 0;
	}
	if (c->x509 != NULL) {
		struct certview v;

		view(c->x509, &v);
		sk_time_format(v.na, when, sizeof(when));
		printf("%-20s %-11s %s %s%s\n", c->name, sk_cert_kind_name(c->kind), when, v.subject,
		       c->revoked ? " (revoked)" : "");
	} else {
		sk_x509_name_str(X509_REQ_get_subject_name(c->req), subject, sizeof(subject));
		printf("%-20s %-11s %-20s %s\n", c->name, sk_cert_kind_name(c->kind), "-", subject);
	}
	return 0;
}

static int revoked_one(const struct sk_crl_entry *e, void *arg)
{
	struct list_state *s = arg;
	char when[32];

	if (s->ctx->json) {
		sk_json_obj(&s->j);
		sk_json_kstr(&s->j, "issuer", e->issuer);
		sk_json_kstr(&s->j, "serial", e->serial);
		sk_json_ktime(&s->j, "revoked_at", e->revoked_at);
		if (e->cert != NULL) {
			char subject[512], fp[65];

			sk_x509_name_str(X509_get_subject_name(e->cert), subject, sizeof(subject));
			sk_json_kstr(&s->j, "subject", subject);
			if (sk_x509_fingerprint(e->cert, fp) == SK_OK)
				sk_json_kstr(&s->j, "fingerprint", fp);
		}
		sk_json_end_obj(&s->j);
	} else {
		sk_time_format(e->revoked_at, when, sizeof(when));
		printf("%s %s %s\n", when, e->serial, e->issuer);
	}
	return 0;
}

static int cert_list(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct list_state s;
	unsigned kinds = 0;
	int rc, revoked = sk_arg_flag(a, "revoked");

	memset(&s, 0, sizeof(s));
	s.ctx = ctx;
	s.names = sk_arg_flag(a, "names");
	if (sk_arg_flag(a, "ca"))
		kinds |= 1u << SK_CERT_CA;
	if (sk_arg_flag(a, "provisioned"))
		kinds |= 1u << SK_CERT_PROVISIONED;
	if (sk_arg_flag(a, "csr"))
		kinds |= 1u << SK_CERT_CSR;
	if (revoked && (kinds || s.names))
		return sk_usage_error("--revoked lists the CRL; it takes no other filter");
	if (ctx->json)
		sk_json_list_begin(&s.j, stdout, revoked ? "revoked" : "certificates");
	if (revoked) {
		struct sk_store *st;
		struct sk_crl *crl;

		if ((rc = sk_ctx_store(ctx, 0, &st)) != SK_OK || (rc = sk_crl_load(st, &crl)) != SK_OK)
			return rc;
		rc = sk_crl_each(crl, revoked_one, &s);
		sk_crl_free(crl);
	} else {
		rc = sk_cert_list(ctx, kinds, list_one, &s);
	}
	if (rc != SK_OK)
		return rc;
	if (ctx->json)
		sk_json_list_end(&s.j);
	return SK_OK;
}

/* ---- get ---- */

static const struct sk_opt get_opts[] = {
	{ "out", 'o', SK_ARG, "FILE", "where to write it (default and '-': stdout)", SK_C_FILE, NULL },
	O_FORMAT,
	SK_OPT_END,
};

static int cert_get(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *out = sk_arg_str(a, "out");
	struct sk_cert c;
	int der, rc;

	if ((rc = format_der(a, &der)) != SK_OK)
		return rc;
	if ((rc = sk_cert_get(ctx, a->pos[0], &c)) != SK_OK)
		return rc;
	if (out == NULL)
		out = "-";
	if (der)
		rc = sk_write_file(out, c.der.p, c.der.len, 0666);
	else if (c.req != NULL)
		rc = sk_x509_req_write(out, c.req, 0);
	else
		rc = sk_x509_write(out, c.x509, 0);
	sk_cert_free(&c);
	return rc;
}

/* ---- verify ---- */

static const struct sk_opt verify_opts[] = {
	{ "chain", 'c', SK_ARG, "FILE", "untrusted intermediate certificates (PEM bundle or DER)", SK_C_FILE, NULL },
	{ "purpose", 0, SK_ARG, "P", "also check the purpose: " SK_PURPOSES, SK_C_CHOICE, SK_PURPOSES },
	{ "at", 0, SK_ARG, "TIME", "check dates at TIME (YYYY-MM-DD[THH:MM[:SS]Z], an offset for Z, or @SECONDS) instead of now", SK_C_NONE, NULL },
	SK_OPT_END,
};

static int cert_verify(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_verify_opts o;
	struct sk_verify_result r;
	STACK_OF(X509) *in = NULL, *chain = NULL;
	X509 *leaf = NULL;
	const char *at = sk_arg_str(a, "at"), *chainf = sk_arg_str(a, "chain");
	int i, rc, extras;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	o.purpose = sk_arg_str(a, "purpose");
	if (at != NULL && sk_time_parse(at, &o.at) != SK_OK)
		return sk_usage_error("--at: %s", sk_err_msg());
	if ((rc = sk_x509_load(a->pos[0], &in)) != SK_OK)
		return rc;
	/* The file's first certificate is the one verified; any others in it
	 * are offered as intermediates, like --chain (a "fullchain" file),
	 * and must turn out to be of its chain: a second certificate for
	 * something else would go unverified and unnoticed. */
	leaf = sk_X509_shift(in);
	extras = sk_X509_num(in);
	if (chainf != NULL) {
		if ((rc = sk_x509_load(chainf, &chain)) != SK_OK)
			goto out;
		while (sk_X509_num(chain) > 0) {
			X509 *x = sk_X509_shift(chain);

			if (!sk_X509_push(in, x)) {
				X509_free(x);
				rc = sk_err(SK_EFAIL, "out of memory");
				goto out;
			}
		}
	}
	o.untrusted = in;
	rc = sk_cert_verify(ctx, leaf, &o, &r);
	for (i = 0; rc == SK_OK && i < extras; i++) {
		X509 *x = sk_X509_value(in, i);
		int j;

		for (j = 0; j < sk_X509_num(r.chain); j++)
			if (X509_cmp(x, sk_X509_value(r.chain, j)) == 0)
				break;
		if (j < sk_X509_num(r.chain))
			continue;
		r.verified = 0;
		r.error = X509_V_ERR_UNSPECIFIED; /* no check of OpenSSL's */
		r.depth = -1;
		sk_x509_name_str(X509_get_subject_name(x), r.subject, sizeof(r.subject));
		snprintf(r.reason, sizeof(r.reason),
			 "certificate %d of the file is not in the chain of the first", i + 2);
		rc = sk_err(SK_EVERIFY, "'%s': certificate %d ('%s') is not in the chain of the first: "
			    "the others in the file can only be its intermediates (give each certificate a file of its own)",
			    a->pos[0], i + 2, r.subject);
	}
	if (rc != SK_OK && rc != SK_EVERIFY)
		goto out;
	if (ctx->json) {
		struct sk_json j;

		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kbool(&j, "verified", r.verified);
		if (!r.verified) {
			sk_json_kstr(&j, "reason", r.reason);
			sk_json_kint(&j, "error", r.error);
			sk_json_kint(&j, "depth", r.depth);
			sk_json_kstr(&j, "failed_subject", r.subject);
		}
		sk_json_ktime(&j, "time", r.time);
		sk_json_key(&j, "chain");
		sk_json_arr(&j);
		for (i = 0; i < sk_X509_num(r.chain); i++) {
			sk_json_obj(&j);
			json_x509(&j, sk_X509_value(r.chain, i));
			sk_json_end_obj(&j);
		}
		sk_json_end_arr(&j);
		sk_json_end_obj(&j);
		sk_json_done(&j);
	} else if (rc == SK_OK && !ctx->quiet) {
		printf("%s: OK\n", a->pos[0]);
	}
	if (rc == SK_OK && at == NULL)
		sk_trust_clock_note(ctx);
out:
	sk_verify_result_free(&r);
	X509_free(leaf);
	sk_X509_pop_free(in, X509_free);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

/* ---- csr ---- */

static const struct sk_opt csr_opts[] = {
	{ "key", 'k', SK_ARG, "NAME", "the store key to certify (default: the device key role)", SK_C_KEY, NULL },
	{ "subject", 's', SK_ARG, "DN", "subject in /CN=name/O=org form", SK_C_NONE, NULL },
	{ "san", 0, SK_ARG, "LIST", "subjectAltName, e.g. DNS:dev1.example,IP:10.0.0.5", SK_C_NONE, NULL },
	{ "out", 'o', SK_ARG, "FILE", "where to write the CSR ('-': stdout)", SK_C_FILE, NULL },
	O_FORMAT,
	{ "digest", 0, SK_ARG, "ALG", "signature digest: sha256 (default), sha384, sha512", SK_C_CHOICE, DIGESTS },
	{ "pass", 0, SK_ARG, "SPEC", "secret of the key's password object (pass:, env:, file:, fd:, prompt)", SK_C_NONE, NULL },
	SK_OPT_END,
};

static int cert_csr(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *name = sk_arg_str(a, "key");
	const EVP_MD *md;
	struct sk_key *k = NULL;
	X509_REQ *req = NULL;
	int der, rc;

	if ((rc = need(a, "subject")) != SK_OK || (rc = need(a, "out")) != SK_OK ||
	    (rc = format_der(a, &der)) != SK_OK || (rc = digest_opt(ctx, a, &md)) != SK_OK)
		return rc;
	if (name == NULL && (rc = sk_ctx_role(ctx, SK_ROLE_DEVICE_KEY, &name)) != SK_OK)
		return rc;
	if ((rc = sk_key_open(ctx, name, sk_arg_str(a, "pass"), &k)) != SK_OK)
		return rc;
	if ((rc = sk_csr_make(k, sk_arg_str(a, "subject"), sk_arg_str(a, "san"), md, &req)) == SK_OK)
		rc = sk_x509_req_write(sk_arg_str(a, "out"), req, der);
	X509_REQ_free(req);
	sk_key_close(k);
	return rc;
}

/* ---- issue ---- */

static const struct sk_opt issue_opts[] = {
	{ "csr", 0, SK_ARG, "FILE", "the certificate request (PEM or DER)", SK_C_FILE, NULL },
	{ "ca-cert", 0, SK_ARG, "FILE", "the issuing CA's certificate", SK_C_FILE, NULL },
	{ "ca-key", 0, SK_ARG, "FILE", "the issuing CA's private key (PEM or DER)", SK_C_FILE, NULL },
	{ "ca-pass", 0, SK_ARG, "SPEC", "passphrase of an encrypted CA key", SK_C_NONE, NULL },
	{ "days", 0, SK_ARG, "N", "validity in days from now (default 365)", SK_C_NONE, NULL },
	{ "profile", 0, SK_ARG, "P", "extensions: device (TLS client, default), server, ca", SK_C_CHOICE, SK_PROFILES },
	{ "serial", 0, SK_ARG, "HEX", "serial number (default: 127 random bits)", SK_C_NONE, NULL },
	{ "digest", 0, SK_ARG, "ALG", "signature digest: sha256 (default), sha384, sha512", SK_C_CHOICE, DIGESTS },
	{ "pss", 0, SK_NOARG, NULL, "RSASSA-PSS signature (RSA CA keys)", SK_C_NONE, NULL },
	{ "out", 'o', SK_ARG, "FILE", "where to write the certificate ('-': stdout)", SK_C_FILE, NULL },
	O_FORMAT,
	SK_OPT_END,
};

static int parse_serial(const char *s, ASN1_INTEGER **out)
{
	BIGNUM *bn = NULL;
	size_t i, n = strlen(s);

	*out = NULL;
	for (i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			break;
	if (n == 0 || n > 40 || i != n || !BN_hex2bn(&bn, s) || BN_is_zero(bn)) {
		BN_free(bn);
		ERR_clear_error();
		return sk_usage_error("--serial '%s': expected 1 to 40 hex digits, not zero", s);
	}
	*out = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return *out ? SK_OK : sk_err_ssl(SK_EFAIL, "serial");
}

static int cert_issue(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *days = sk_arg_str(a, "days"), *profile = sk_arg_str(a, "profile");
	const char *serial = sk_arg_str(a, "serial"), *capass_spec = sk_arg_str(a, "ca-pass");
	struct sk_secret capass = { 0 };
	struct sk_issue req;
	struct sk_buf csrbuf = { 0 };
	ASN1_INTEGER *sn = NULL;
	X509 *x = NULL;
	char what[300];
	int der, rc;

	memset(&req, 0, sizeof(req));
	if ((rc = need(a, "csr")) != SK_OK || (rc = need(a, "ca-cert")) != SK_OK ||
	    (rc = need(a, "ca-key")) != SK_OK || (rc = need(a, "out")) != SK_OK ||
	    (rc = format_der(a, &der)) != SK_OK || (rc = digest_opt(ctx, a, &req.md)) != SK_OK)
		return rc;
	req.days = 365;
	if (days != NULL && (sk_parse_uint(days, 36525, &req.days) != 0 || req.days == 0))
		return sk_usage_error("--days '%s': expected 1 to 36525", days);
	if (profile == NULL || strcmp(profile, "device") == 0)
		req.profile = SK_PROFILE_DEVICE;
	else if (strcmp(profile, "server") == 0)
		req.profile = SK_PROFILE_SERVER;
	else if (strcmp(profile, "ca") == 0)
		req.profile = SK_PROFILE_CA;
	else
		return sk_usage_error("unknown profile '%s' (expected one of: %s)", profile, SK_PROFILES);
	req.pss = sk_arg_flag(a, "pss");
	if (serial != NULL && (rc = parse_serial(serial, &sn)) != SK_OK)
		return rc;
	req.serial = sn;
	if ((rc = sk_read_file(sk_arg_str(a, "csr"), SK_X509_MAX, &csrbuf)) != SK_OK)
		goto out;
	snprintf(what, sizeof(what), "'%s'", sk_arg_str(a, "csr"));
	if ((rc = sk_x509_req_parse(csrbuf.p, csrbuf.len, what, &req.csr)) != SK_OK ||
	    (rc = sk_x509_load_one(sk_arg_str(a, "ca-cert"), &req.ca)) != SK_OK)
		goto out;
	if (capass_spec != NULL &&
	    (rc = sk_secret_get(capass_spec, "passphrase of the CA key", 0, &capass)) != SK_OK)
		goto out;
	if ((rc = sk_pkey_load(sk_arg_str(a, "ca-key"), capass.p, 1, &req.ca_key)) != SK_OK)
		goto out;
	if ((rc = sk_cert_issue(&req, &x)) != SK_OK)
		goto out;
	rc = sk_x509_write(sk_arg_str(a, "out"), x, der);
out:
	X509_free(x);
	X509_free(req.ca);
	X509_REQ_free(req.csr);
	EVP_PKEY_free(req.ca_key);
	ASN1_INTEGER_free(sn);
	sk_secret_free(&capass);
	sk_buf_free(&csrbuf);
	return rc;
}

static const struct sk_verb verbs[] = {
	{ "list", cert_list, NULL, 0, 0, list_opts, "list certificates, the CA store or the CRL", NULL, SK_C_NONE },
	{ "get", cert_get, "NAME", 1, 1, get_opts, "write a stored certificate or CSR", NULL, SK_C_CERT },
	{ "verify", cert_verify, "FILE", 1, 1, verify_opts, "verify a certificate against the CA store and CRL", NULL, SK_C_FILE },
	{ "csr", cert_csr, NULL, 0, 0, csr_opts, "make a CSR signed by a store key", NULL, SK_C_NONE },
	{ "issue", cert_issue, NULL, 0, 0, issue_opts, "issue a certificate from a CSR with a CA key (off-device)", NULL, SK_C_NONE },
	{ NULL, NULL, NULL, 0, 0, NULL, NULL, NULL, SK_C_NONE },
};

const struct sk_command sk_cmd_cert = {
	"cert", "certificates: provisioned, CA store, CRL, CSRs, issuing", verbs,
};
