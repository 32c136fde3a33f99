/* SPDX-License-Identifier: MIT */
/* seckit cert: the certificate store, CSRs from store keys, issuing. */
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "trust/certgen.h"
#include "crypto/crypto.h"
#include "base/err.h"
#include "base/fileio.h"
#include "format/pkg.h"
#include "keys/keyfile.h"
#include "keys/keys.h"
#include "ctx/secret.h"
#include "trust/trust.h"
#include "trust/x509.h"
#include "json.h"
#include "opt.h"

#define O_FORMAT { OPT_format, "pem (default) or der" }

/* --format der? */
static int format_der(const struct sk_args *a)
{
	const char *f = sk_opt_str(a, OPT_format);

	return f != NULL && strcmp(f, "der") == 0;
}

/* ---- printing ---- */

struct certview {
	char subject[512], issuer[512], serial[80], fp[65];
	int64_t nb, na;
};

/* A failed field is left empty; the error being reported (a failed
 * verification whose chain is shown) stays. */
static void view(X509 *x, struct certview *v)
{
	struct sk_err_saved e;

	sk_err_save(&e);
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
	sk_err_restore(&e);
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

static const struct sk_verbopt list_opts[] = {
	{ OPT_ca, "only the CA store" },
	{ OPT_provisioned, "only provisioned certificates" },
	{ OPT_csr_only, "only stored certificate requests" },
	{ OPT_revoked, "the CRL: revoked issuer/serial pairs" },
	{ OPT_names, "print only the names, one per line" },
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
	int rc, revoked = sk_opt_flag(a, OPT_revoked);

	memset(&s, 0, sizeof(s));
	s.ctx = ctx;
	s.names = sk_opt_flag(a, OPT_names);
	if (sk_opt_flag(a, OPT_ca))
		kinds |= 1u << SK_CERT_CA;
	if (sk_opt_flag(a, OPT_provisioned))
		kinds |= 1u << SK_CERT_PROVISIONED;
	if (sk_opt_flag(a, OPT_csr_only))
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

static const struct sk_verbopt get_opts[] = {
	{ OPT_out, "where to write it (default and '-': stdout)" },
	O_FORMAT,
};

static int cert_get(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *out = sk_opt_str(a, OPT_out);
	struct sk_cert c;
	int der = format_der(a), rc;

	if ((rc = sk_cert_get(ctx, a->pos[0], &c)) != SK_OK)
		return rc;
	if ((rc = sk_opt_out(a, der ? SK_OUT_BINARY : SK_OUT_TEXT, &out)) != SK_OK) {
		sk_cert_free(&c);
		return rc;
	}
	if (der)
		rc = sk_write_file(out, c.der.p, c.der.len, 0666);
	else if (c.req != NULL)
		rc = sk_x509_req_write(out, c.req, 0);
	else {
		/* PEM: the certificate, then the chain kept with it. */
		struct sk_buf pem = { 0 };
		int i;

		rc = sk_x509_encode(c.x509, 0, &pem);
		for (i = 0; rc == SK_OK && i < sk_X509_num(c.chain); i++)
			rc = sk_x509_encode(sk_X509_value(c.chain, i), 0, &pem);
		if (rc == SK_OK)
			rc = sk_write_file(out, pem.p, pem.len, 0666);
		sk_buf_free(&pem);
	}
	sk_cert_free(&c);
	return rc;
}

/* ---- verify ---- */

static const struct sk_verbopt verify_opts[] = {
	{ OPT_chain, "untrusted intermediate certificates (PEM bundle or DER)" },
	{ OPT_purpose, "also check the purpose: " SK_PURPOSES },
	{ OPT_at, "check dates at TIME (YYYY-MM-DD[THH:MM[:SS]Z], an offset for Z, or @SECONDS) instead of now" },
};

static int cert_verify(struct sk_ctx *ctx, const struct sk_args *a)
{
	const struct sk_policy *pol;
	struct sk_store *st;
	struct sk_verify_opts o;
	struct sk_verify_result r;
	STACK_OF(X509) *in = NULL, *chain = NULL;
	X509 *leaf = NULL;
	const char *chainf = sk_opt_str(a, OPT_chain);
	int i, rc, at, extras, stored;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	o.purpose = sk_opt_str(a, OPT_purpose);
	at = sk_opt_time(a, OPT_at, &o.at);
	if ((rc = sk_cert_load_arg(ctx, a->pos[0], &in, &stored)) != SK_OK)
		return rc;
	/* The file's first certificate is the one verified; any others in it
	 * are offered as intermediates, like --chain (a "fullchain" file),
	 * and must turn out to be of its chain: a second certificate for
	 * something else would go unverified and unnoticed.  A stored
	 * certificate's chain is offered as it is (checked at its import). */
	leaf = sk_X509_shift(in);
	extras = stored ? 0 : sk_X509_num(in);
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
		sk_json_kstr(&j, "path", a->pos[0]);
		if (!r.verified) {
			sk_json_kstr(&j, "reason", r.reason);
			sk_json_kint(&j, "verify_error", r.error);
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
	/* Best effort: the verification stands whatever happens here. */
	if (rc == SK_OK && !at) {
		if (sk_ctx_policy(ctx, &pol) == SK_OK && sk_ctx_store(ctx, 0, &st) == SK_OK)
			sk_trust_clock_note(st, pol->clock);
		sk_err_clear();
	}
out:
	sk_verify_result_free(&r);
	X509_free(leaf);
	sk_X509_pop_free(in, X509_free);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

/* ---- csr ---- */

static const struct sk_verbopt csr_opts[] = {
	{ OPT_key, "the store key to certify (default: the device key role)" },
	{ OPT_subject, "subject in /CN=name/O=org form", .required = 1 },
	{ OPT_san, "subjectAltName, e.g. DNS:dev1.example,IP:10.0.0.5" },
	{ OPT_out, "where to write the CSR (default and '-': stdout)" },
	O_FORMAT,
	{ OPT_digest, "signature digest: sha256 (default), sha384, sha512" },
	{ OPT_pass, "secret of the key's password object (pass:, env:, file:, fd:, prompt)" },
};

static int cert_csr(struct sk_ctx *ctx, const struct sk_args *a)
{
	const struct sk_policy *pol;
	const char *name = sk_opt_str(a, OPT_key);
	const EVP_MD *md;
	struct sk_key *k = NULL;
	X509_REQ *req = NULL;
	const char *out;
	int der = format_der(a), rc;

	if ((rc = sk_opt_md(ctx, a, OPT_digest, &md)) != SK_OK ||
	    (rc = sk_opt_out(a, der ? SK_OUT_BINARY : SK_OUT_TEXT, &out)) != SK_OK)
		return rc;
	if (name == NULL) {
		if ((rc = sk_ctx_policy(ctx, &pol)) != SK_OK)
			return rc;
		name = pol->role[SK_ROLE_DEVICE_KEY];
	}
	if ((rc = sk_key_open(ctx, name, sk_opt_str(a, OPT_pass), &k)) != SK_OK)
		return rc;
	if ((rc = sk_csr_make(k, sk_opt_str(a, OPT_subject), sk_opt_str(a, OPT_san), md, &req)) == SK_OK)
		rc = sk_x509_req_write(out, req, der);
	X509_REQ_free(req);
	sk_key_close(k);
	return rc;
}

/* ---- issue ---- */

static const struct sk_verbopt issue_opts[] = {
	{ OPT_csr, "the certificate request (PEM or DER)", .required = 1 },
	{ OPT_ca_cert, "the issuing CA's certificate", .required = 1 },
	{ OPT_ca_key, "the issuing CA's private key file (PEM or DER), or seckit:NAME (= --key NAME)" },
	{ OPT_ca_pass, "passphrase of an encrypted --ca-key" },
	{ OPT_key, "the issuing CA's key in the store (any backend), instead of --ca-key" },
	{ OPT_pass, "secret of --key's password object (pass:, env:, file:, fd:, prompt)" },
	{ OPT_days, "validity in days from now (default 365)" },
	{ OPT_not_before, "valid from TIME (default now)" },
	{ OPT_not_after, "valid until TIME, e.g. 90d, 1y, 2030-01-01 (instead of --days)" },
	{ OPT_profile, "extensions: device (TLS client, default), server, ca" },
	{ OPT_serial, "serial number (default: 127 random bits)" },
	{ OPT_digest, "signature digest: sha256 (default), sha384, sha512" },
	{ OPT_pss, "RSASSA-PSS signature (RSA CA keys)" },
	{ OPT_out, "where to write the certificate (default and '-': stdout)" },
	O_FORMAT,
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

/* --days N | --not-after TIME, and --not-before TIME: 365 days from now
 * unless told otherwise. */
static int validity_opts(const struct sk_args *a, uint64_t *days, int64_t *nb, int64_t *na)
{
	int has_days = sk_opt_uint(a, OPT_days, days);

	*nb = 0;
	*na = 0;
	sk_opt_time(a, OPT_not_before, nb);
	if (sk_opt_time(a, OPT_not_after, na) && has_days)
		return sk_usage_error("--days and --not-after exclude each other");
	if (!has_days)
		*days = 365;
	if (*na == 0 && *nb != 0)
		*na = *nb + (int64_t)*days * 86400;
	return SK_OK;
}

static int cert_issue(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *profile = sk_opt_str(a, OPT_profile);
	const char *serial = sk_opt_str(a, OPT_serial), *capass_spec = sk_opt_str(a, OPT_ca_pass);
	const char *cakey_name = sk_opt_str(a, OPT_key), *cakey_file = sk_opt_str(a, OPT_ca_key);
	struct sk_secret capass = { 0 };
	struct sk_issue req;
	struct sk_buf csrbuf = { 0 };
	ASN1_INTEGER *sn = NULL;
	X509 *x = NULL;
	char what[300];
	const char *out;
	int der = format_der(a), rc;

	memset(&req, 0, sizeof(req));
	if ((cakey_file == NULL) == (cakey_name == NULL))
		return sk_usage_error("give the CA's key: --ca-key FILE or --key NAME (a store key)");
	/* seckit(1) SIGNING KEYS: --ca-key seckit:NAME is --key NAME */
	if (strncmp(cakey_file ? cakey_file : "", SK_SIGNER_URI, strlen(SK_SIGNER_URI)) == 0) {
		cakey_name = cakey_file + strlen(SK_SIGNER_URI);
		cakey_file = NULL;
	}
	if (cakey_name != NULL && capass_spec != NULL)
		return sk_usage_error("--ca-pass opens a --ca-key file (a store key's password is --pass)");
	if (cakey_name == NULL && sk_opt_str(a, OPT_pass) != NULL)
		return sk_usage_error("--pass is a store key's password (a --ca-key file's passphrase is --ca-pass)");
	if ((rc = sk_opt_md(ctx, a, OPT_digest, &req.md)) != SK_OK ||
	    (rc = sk_opt_out(a, der ? SK_OUT_BINARY : SK_OUT_TEXT, &out)) != SK_OK)
		return rc;
	if ((rc = validity_opts(a, &req.days, &req.not_before, &req.not_after)) != SK_OK)
		return rc;
	if (profile == NULL || strcmp(profile, "device") == 0)
		req.profile = SK_PROFILE_DEVICE;
	else if (strcmp(profile, "server") == 0)
		req.profile = SK_PROFILE_SERVER;
	else
		req.profile = SK_PROFILE_CA;
	req.pss = sk_opt_flag(a, OPT_pss);
	if (serial != NULL && (rc = parse_serial(serial, &sn)) != SK_OK)
		return rc;
	req.serial = sn;
	if ((rc = sk_read_file(sk_opt_str(a, OPT_csr), SK_X509_MAX, &csrbuf)) != SK_OK)
		goto out;
	snprintf(what, sizeof(what), "'%s'", sk_opt_str(a, OPT_csr));
	if ((rc = sk_x509_req_parse(csrbuf.p, csrbuf.len, what, &req.csr)) != SK_OK ||
	    (rc = sk_x509_load_one(sk_opt_str(a, OPT_ca_cert), &req.ca)) != SK_OK)
		goto out;
	if (capass_spec != NULL &&
	    (rc = sk_secret_get(capass_spec, "passphrase of the CA key", 0, &capass)) != SK_OK)
		goto out;
	if (cakey_name != NULL)
		rc = sk_key_open(ctx, cakey_name, sk_opt_str(a, OPT_pass), &req.ca_skey);
	else
		rc = sk_pkey_load(cakey_file, capass.p, 1, &req.ca_key);
	if (rc != SK_OK)
		goto out;
	if ((rc = sk_cert_issue(&req, &x)) != SK_OK)
		goto out;
	rc = sk_x509_write(out, x, der);
out:
	X509_free(x);
	X509_free(req.ca);
	X509_REQ_free(req.csr);
	EVP_PKEY_free(req.ca_key);
	sk_key_close(req.ca_skey);
	ASN1_INTEGER_free(sn);
	sk_secret_free(&capass);
	sk_buf_free(&csrbuf);
	return rc;
}

/* ---- show ---- */

static void print_list(const char *label, char **v)
{
	size_t i;

	if (v[0] == NULL)
		return;
	printf("%-17s ", label);
	for (i = 0; v[i] != NULL; i++)
		printf("%s%s", i ? ", " : "", v[i]);
	printf("\n");
}

static void show_text(const struct sk_x509_info *i)
{
	char nb[32], na[32];

	sk_time_format(i->not_before, nb, sizeof(nb));
	sk_time_format(i->not_after, na, sizeof(na));
	printf("%-17s %s\n", "Subject:", i->subject);
	printf("%-17s %s\n", "Issuer:", i->issuer);
	printf("%-17s %s\n", "Serial:", i->serial);
	printf("%-17s %s\n", "Not before:", nb);
	printf("%-17s %s\n", "Not after:", na);
	printf("%-17s %s (%d bits)\n", "Key:", i->key_type, i->key_bits);
	printf("%-17s %s\n", "Signature:", i->sig_alg);
	printf("%-17s %s\n", "SHA-256:", i->fingerprint);
	if (i->is_ca && i->path_len >= 0)
		printf("%-17s yes, path length %ld\n", "CA:", i->path_len);
	else
		printf("%-17s %s\n", "CA:", i->is_ca ? "yes" : "no");
	print_list("Key usage:", i->key_usage);
	print_list("Ext. key usage:", i->ext_key_usage);
	print_list("Alt. names:", i->san);
	if (i->ski[0])
		printf("%-17s %s\n", "Subject key id:", i->ski);
	if (i->aki[0])
		printf("%-17s %s\n", "Authority key id:", i->aki);
}

static void json_strs(struct sk_json *j, const char *k, char **v)
{
	size_t i;

	sk_json_key(j, k);
	sk_json_arr(j);
	for (i = 0; v[i] != NULL; i++)
		sk_json_str(j, v[i]);
	sk_json_end_arr(j);
}

/* A hex identifier as JSON's machine form: lower case, no colons
 * (the text form keeps openssl's). */
static void json_hexid(struct sk_json *j, const char *k, const char *v)
{
	char buf[256];
	size_t n = 0;

	if (v == NULL || v[0] == '\0') {
		sk_json_kstr(j, k, NULL);
		return;
	}
	for (; *v != '\0' && n + 1 < sizeof(buf); v++)
		if (*v != ':')
			buf[n++] = (char)tolower((unsigned char)*v);
	buf[n] = '\0';
	sk_json_kstr(j, k, buf);
}

static void show_json(const struct sk_x509_info *i, const char *name)
{
	struct sk_json j;

	sk_json_init(&j, stdout);
	sk_json_obj(&j);
	if (name != NULL)
		sk_json_kstr(&j, "name", name);
	sk_json_kstr(&j, "subject", i->subject);
	sk_json_kstr(&j, "issuer", i->issuer);
	sk_json_kstr(&j, "serial", i->serial);
	sk_json_ktime(&j, "not_before", i->not_before);
	sk_json_ktime(&j, "not_after", i->not_after);
	sk_json_kstr(&j, "key_type", i->key_type);
	sk_json_kint(&j, "key_bits", i->key_bits);
	sk_json_kstr(&j, "signature_algorithm", i->sig_alg);
	sk_json_kstr(&j, "fingerprint", i->fingerprint);
	sk_json_kbool(&j, "ca", i->is_ca);
	sk_json_key(&j, "path_len");
	if (i->path_len >= 0)
		sk_json_int(&j, i->path_len);
	else
		sk_json_null(&j);
	sk_json_kbool(&j, "self_signed", i->self_signed);
	json_strs(&j, "san", i->san);
	json_strs(&j, "key_usage", i->key_usage);
	json_strs(&j, "extended_key_usage", i->ext_key_usage);
	json_hexid(&j, "subject_key_id", i->ski);
	json_hexid(&j, "authority_key_id", i->aki);
	sk_json_end_obj(&j);
	sk_json_done(&j);
}

/* A file ("-": stdin), or else the name of a stored certificate: a path
 * (with a '/') or an existing file is a file. */
static int cert_show(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *arg = a->pos[0], *name = NULL;
	struct sk_x509_info info;
	struct sk_cert c;
	X509 *x = NULL;
	int rc;

	memset(&c, 0, sizeof(c));
	if (strcmp(arg, "-") == 0 || strchr(arg, '/') != NULL || access(arg, F_OK) == 0 ||
	    !sk_name_valid(arg)) {
		rc = sk_x509_load_one(arg, &x);
	} else {
		if ((rc = sk_cert_get(ctx, arg, &c)) == SK_OK && c.x509 == NULL)
			rc = sk_err(SK_EUNSUPP, "'%s' is a certificate request (see cert get)", arg);
		if (rc == SK_OK)
			x = X509_dup(c.x509);
		name = arg;
		if (rc == SK_OK && x == NULL)
			rc = sk_err_ssl(SK_EFAIL, "certificate '%s'", arg);
	}
	if (rc != SK_OK)
		goto out;
	if ((rc = sk_x509_info(x, &info)) != SK_OK) {
		rc = sk_err(SK_EVERIFY, "'%s': the certificate's dates or encoding are malformed", arg);
		goto out;
	}
	if (ctx->json)
		show_json(&info, name);
	else
		show_text(&info);
	sk_x509_info_free(&info);
out:
	X509_free(x);
	sk_cert_free(&c);
	return rc;
}

/* ---- import ---- */

static const struct sk_verbopt import_opts[] = {
	{ OPT_force, "replace a certificate of that name" },
};

static int cert_import(struct sk_ctx *ctx, const struct sk_args *a)
{
	const struct sk_policy *pol;
	STACK_OF(X509) *certs = NULL;
	char key[256];
	int rc, kind = 0, changed = 0;

	if ((rc = sk_ctx_policy(ctx, &pol)) != SK_OK || (rc = sk_x509_load(a->pos[1], &certs)) != SK_OK)
		return rc;
	rc = sk_cert_import(ctx, pol, a->pos[0], certs, sk_opt_flag(a, OPT_force), &kind, key,
			    &changed);
	if (rc != SK_OK)
		goto out;
	if (ctx->json) {
		struct sk_json j;

		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kstr(&j, "name", a->pos[0]);
		sk_json_kstr(&j, "kind", sk_cert_kind_name(kind));
		sk_json_kstr(&j, "key", key[0] ? key : NULL);
		sk_json_kint(&j, "chain", sk_X509_num(certs) - 1);
		sk_json_kbool(&j, "changed", changed);
		sk_json_end_obj(&j);
		sk_json_done(&j);
	} else if (!ctx->quiet) {
		if (kind == SK_CERT_CA)
			printf("%s: %s CA certificate\n", a->pos[0], changed ? "imported" : "unchanged,");
		else
			printf("%s: %s certificate of key '%s'", a->pos[0],
			       changed ? "imported" : "unchanged,", key);
		if (kind != SK_CERT_CA && sk_X509_num(certs) > 1)
			printf(", with a chain of %d", sk_X509_num(certs) - 1);
		if (kind != SK_CERT_CA)
			printf("\n");
	}
out:
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

/* ---- ca create ---- */

static const struct sk_verbopt ca_create_opts[] = {
	{ OPT_subject, "the CA's subject in /CN=name/O=org form", .required = 1 },
	{ OPT_key, "the CA's key: a key of the store (any backend)" },
	{ OPT_key_in, "the CA's key: a private key file (PEM or DER)" },
	{ OPT_new_key, "the CA's key: a new one, written to this new file (PKCS#8 PEM)" },
	{ OPT_type, "type of the --new-key: ec-p256 (default), ec-p384, ec-p521, rsa-2048, rsa-3072, rsa-4096" },
	{ OPT_out_pass, "encrypt the --new-key file with this passphrase" },
	{ OPT_no_encrypt, "write the --new-key file in clear (mode 0600)" },
	{ OPT_key_pass, "passphrase of an encrypted --key-file" },
	{ OPT_pass, "secret of --key's password object (pass:, env:, file:, fd:, prompt)" },
	{ OPT_issuer_cert, "the issuing CA's certificate: makes an intermediate CA (default: a root)" },
	{ OPT_issuer_key, "the issuing CA's private key file (PEM or DER)" },
	{ OPT_issuer_key_name, "the issuing CA's key in the store (any backend)" },
	{ OPT_issuer_pass, "passphrase of --issuer-key, or secret of --issuer-key-name's password object" },
	{ OPT_path_len, "CAs allowed below this one (default: none for a root, 0 for an intermediate)" },
	{ OPT_days, "validity in days from now (default 365)" },
	{ OPT_not_before, "valid from TIME (default now)" },
	{ OPT_not_after, "valid until TIME, e.g. 10y, 2040-01-01 (instead of --days)" },
	{ OPT_serial, "serial number (default: 127 random bits)" },
	{ OPT_digest, "signature digest: sha256 (default), sha384, sha512" },
	{ OPT_out, "where to write the certificate (default and '-': stdout)" },
	O_FORMAT,
};

/* The CA's own key, one of three: a store key (signs through its
 * backend), a key file, or a new key pair for a new file. */
struct ca_own {
	struct sk_key *key;
	EVP_PKEY *pkey;
	struct sk_out newout;   /* --new-key: opened (new, 0600), not yet written */
	struct sk_buf newpem;   /* --new-key: its PKCS#8 PEM, encrypted unless --no-encrypt */
};

static void ca_own_free(struct ca_own *o)
{
	sk_key_close(o->key);
	EVP_PKEY_free(o->pkey);
	sk_out_abort(&o->newout);
	sk_buf_cleanse_free(&o->newpem);
}

/* --new-key FILE [--type TYPE] (--out-pass SPEC | --no-encrypt): nothing
 * is written here; the file is opened so that an existing name is
 * refused before any work. */
static int ca_new_key(const struct sk_args *a, const char *file, struct ca_own *o)
{
	const char *tname = sk_opt_str(a, OPT_type), *spec = sk_opt_str(a, OPT_out_pass);
	const struct sk_keytype *kt = sk_keytype_by_name(tname ? tname : "ec-p256");
	struct sk_secret pass = { 0 };
	int noenc = sk_opt_flag(a, OPT_no_encrypt), rc;

	if (kt == NULL || !sk_keytype_is_asym(kt))
		return sk_usage_error("--type %s: a CA key signs: ec-p256, ec-p384, ec-p521, "
				      "rsa-2048, rsa-3072 or rsa-4096", tname);
	if (spec == NULL && !noenc)
		return sk_usage_error("a private key is only written encrypted: give --out-pass SPEC (or --no-encrypt)");
	if (spec != NULL && noenc)
		return sk_usage_error("--out-pass and --no-encrypt exclude each other");
	if ((rc = sk_out_open_new(&o->newout, file, 0600)) != SK_OK)
		return sk_err_wrap(rc, "--new-key");
	if (spec != NULL && (rc = sk_secret_get(spec, "passphrase for the new CA key", 1, &pass)) != SK_OK)
		return rc;
	if ((rc = sk_keytype_generate(kt, &o->pkey)) == SK_OK)
		rc = sk_keyfile_encode_pkey(o->pkey, 0, 1, spec ? &pass : NULL, &o->newpem);
	sk_secret_free(&pass);
	return rc;
}

static int ca_own_key(struct sk_ctx *ctx, const struct sk_args *a, struct ca_own *o)
{
	const char *name = sk_opt_str(a, OPT_key), *file = sk_opt_str(a, OPT_key_in);
	const char *newf = sk_opt_str(a, OPT_new_key), *spec = sk_opt_str(a, OPT_key_pass);
	struct sk_secret pass = { 0 };
	int rc;

	if ((name != NULL) + (file != NULL) + (newf != NULL) != 1)
		return sk_usage_error("give the CA's key: --key NAME (a store key), --key-file FILE or --new-key FILE");
	if (newf == NULL && (sk_opt_str(a, OPT_type) || sk_opt_str(a, OPT_out_pass) ||
			     sk_opt_flag(a, OPT_no_encrypt)))
		return sk_usage_error("--type, --out-pass and --no-encrypt apply to --new-key");
	if (name == NULL && sk_opt_str(a, OPT_pass) != NULL)
		return sk_usage_error("--pass is a store key's password (a key file's passphrase is --key-pass)");
	if (file == NULL && spec != NULL)
		return sk_usage_error("--key-pass opens a --key-file (a store key's password is --pass)");
	if (newf != NULL)
		return ca_new_key(a, newf, o);
	if (name != NULL) {
		if ((rc = sk_key_open(ctx, name, sk_opt_str(a, OPT_pass), &o->key)) != SK_OK)
			return rc;
		if (o->key->info.pub == NULL)
			return sk_err(SK_EUNSUPP, "key '%s' (%s) cannot sign certificates", name,
				      o->key->info.type->name);
		return SK_OK;
	}
	if (spec != NULL && (rc = sk_secret_get(spec, "passphrase of the CA key", 0, &pass)) != SK_OK)
		return rc;
	rc = sk_pkey_load(file, pass.p, 1, &o->pkey);
	sk_secret_free(&pass);
	return rc;
}

/* The issuer of an intermediate: its certificate and key (file or store). */
static int ca_issuer(struct sk_ctx *ctx, const struct sk_args *a, X509 **ca, struct sk_key **k,
		     EVP_PKEY **pk)
{
	const char *cert = sk_opt_str(a, OPT_issuer_cert), *file = sk_opt_str(a, OPT_issuer_key);
	const char *name = sk_opt_str(a, OPT_issuer_key_name), *spec = sk_opt_str(a, OPT_issuer_pass);
	struct sk_secret pass = { 0 };
	int rc;

	if (cert == NULL) {
		if (file || name || spec)
			return sk_usage_error("--issuer-key, --issuer-key-name and --issuer-pass sign an "
					      "intermediate: give --issuer-cert too");
		return SK_OK;
	}
	if ((file == NULL) == (name == NULL))
		return sk_usage_error("--issuer-cert needs the issuer's key: --issuer-key FILE or --issuer-key-name NAME");
	if ((rc = sk_x509_load_one(cert, ca)) != SK_OK)
		return rc;
	if (name != NULL)
		return sk_key_open(ctx, name, spec, k);
	if (spec != NULL && (rc = sk_secret_get(spec, "passphrase of the issuing CA's key", 0, &pass)) != SK_OK)
		return rc;
	rc = sk_pkey_load(file, pass.p, 1, pk);
	sk_secret_free(&pass);
	return rc;
}

/* The certificate to out, and a --new-key to its file: both or neither. */
static int ca_write(const char *out, X509 *x, int der, struct ca_own *own)
{
	struct sk_buf cert = { 0 };
	int rc;

	if ((rc = sk_x509_encode(x, der, &cert)) != SK_OK)
		goto out;
	if (own->newpem.p != NULL) {
		char *keypath = strdup(own->newout.path);

		if (keypath == NULL) {
			rc = sk_err(SK_EFAIL, "out of memory");
			goto out;
		}
		if ((rc = sk_out_write(&own->newout, own->newpem.p, own->newpem.len)) == SK_OK &&
		    (rc = sk_out_commit(&own->newout)) == SK_OK &&
		    (rc = sk_write_file(out, cert.p, cert.len, 0666)) != SK_OK)
			unlink(keypath); /* ours, just made: no key without its certificate */
		free(keypath);
	} else {
		rc = sk_write_file(out, cert.p, cert.len, 0666);
	}
out:
	sk_buf_free(&cert);
	return rc;
}

static int cert_ca_create(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *serial = sk_opt_str(a, OPT_serial), *out;
	struct sk_ca_new req;
	struct ca_own own;
	struct sk_key *isk = NULL;
	EVP_PKEY *ispk = NULL;
	ASN1_INTEGER *sn = NULL;
	X509 *ca = NULL, *x = NULL;
	uint64_t days, plen;
	int der = format_der(a), rc;

	memset(&req, 0, sizeof(req));
	memset(&own, 0, sizeof(own));
	own.newout.fd = -1;
	req.subject = sk_opt_str(a, OPT_subject);
	req.path_len = sk_opt_uint(a, OPT_path_len, &plen) ? (int)plen : -1;
	if ((rc = sk_opt_md(ctx, a, OPT_digest, &req.md)) != SK_OK ||
	    (rc = sk_opt_out(a, der ? SK_OUT_BINARY : SK_OUT_TEXT, &out)) != SK_OK ||
	    (rc = validity_opts(a, &days, &req.not_before, &req.not_after)) != SK_OK)
		return rc;
	if (req.not_after == 0)
		req.not_after = (req.not_before ? req.not_before : (int64_t)time(NULL)) + (int64_t)days * 86400;
	if (serial != NULL && (rc = parse_serial(serial, &sn)) != SK_OK)
		return rc;
	req.serial = sn;
	if ((rc = ca_own_key(ctx, a, &own)) != SK_OK ||
	    (rc = ca_issuer(ctx, a, &ca, &isk, &ispk)) != SK_OK)
		goto out;
	req.pub = own.key ? own.key->info.pub : own.pkey;
	req.issuer = ca;
	if (ca != NULL) {
		req.signer.key = isk;
		req.signer.pkey = ispk;
	} else {
		req.signer.key = own.key;
		req.signer.pkey = own.pkey;
	}
	if ((rc = sk_ca_make(&req, &x)) != SK_OK)
		goto out;
	rc = ca_write(out, x, der, &own);
out:
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(ispk);
	ca_own_free(&own);
	sk_key_close(isk);
	ASN1_INTEGER_free(sn);
	return rc;
}

static const struct sk_verb ca_verbs[] = {
	SK_VERB("create", cert_ca_create, "make a root or intermediate CA certificate (off-device)",
		SK_OPTIONS(ca_create_opts)),
};

static const struct sk_verb verbs[] = {
	SK_VERB("list", cert_list, "list certificates, the CA store or the CRL", SK_OPTIONS(list_opts)),
	SK_VERB("get", cert_get, "write a stored certificate or CSR",
		.synopsis = "NAME", SK_POS(1, 1), SK_OPTIONS(get_opts), .complete = SK_C_CERT),
	SK_VERB("verify", cert_verify, "verify a certificate against the CA store and CRL",
		.synopsis = "FILE|NAME", SK_POS(1, 1), SK_OPTIONS(verify_opts), .complete = SK_C_FILE),
	SK_VERB("csr", cert_csr, "make a CSR signed by a store key", SK_OPTIONS(csr_opts)),
	SK_VERB("issue", cert_issue, "issue a certificate from a CSR with a CA key (off-device)",
		SK_OPTIONS(issue_opts)),
	SK_VERB("import", cert_import, "install the device's own certificate, or a CA before the lock",
		.synopsis = "NAME FILE", SK_POS(2, 2), SK_OPTIONS(import_opts), .complete = SK_C_CERT),
	SK_VERB("show", cert_show, "describe a certificate (file or stored), as openssl x509 -text",
		.synopsis = "NAME|FILE", SK_POS(1, 1), .complete = SK_C_FILE),
	SK_VERB("ca", NULL, "certificate authorities", SK_SUBVERBS(ca_verbs)),
};

const struct sk_command sk_cmd_cert = {
	.name = "cert",
	.summary = "certificates: provisioned, CA store, CRL, CSRs, issuing",
	SK_VERBS(verbs),
};
