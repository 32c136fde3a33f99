/* SPDX-License-Identifier: MIT */
/* seckit stp: signed trusted packages (make off-device, apply on device). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "base/fileio.h"
#include "keys/keys.h"
#include "format/pkg.h"
#include "format/stp.h"
#include "trust/trust.h"
#include "trust/x509.h"
#include "json.h"
#include "opt.h"

#define STP_MAX (1u << 20)

/* ---- make ---- */

static const struct sk_verbopt make_opts[] = {
	{ OPT_command, "what to do: " SK_STP_COMMANDS, .required = 1 },
	{ OPT_seq, "sequence number, above the last one the device applied", .required = 1 },
	{ OPT_name, "the certificate or CA name the command is about" },
	{ OPT_cert, "the certificate (PEM or DER)" },
	{ OPT_serial, "revoke: the serial of a certificate issued by --cert" },
	{ OPT_device, "only for this device: its public key file or ID (hex SHA-256 of the SPKI)" },
	{ OPT_sign_key, "the OEM command private key (PEM or DER)" },
	{ OPT_key, "sign with this named key in the store instead" },
	{ OPT_pass, "passphrase of an encrypted --sign-key, or the secret of --key's password object" },
	{ OPT_digest, "sha256 (default), sha384, sha512" },
	{ OPT_pss, "RSA keys: RSA-PSS instead of PKCS#1 v1.5" },
	{ OPT_time, "signing time (YYYY-MM-DD[THH:MM[:SS]Z], an offset for Z, or @SECONDS; default now)" },
	{ OPT_out, "the package (default and '-': stdout, not a terminal)" },
};

static int parse_serial(const char *s, ASN1_INTEGER **out)
{
	BIGNUM *bn = NULL;
	size_t n = strlen(s);

	*out = NULL;
	if (n == 0 || n > 40 || strspn(s, "0123456789abcdefABCDEF") != n || !BN_hex2bn(&bn, s)) {
		BN_free(bn);
		ERR_clear_error();
		return sk_usage_error("--serial '%s': expected 1 to 40 hex digits", s);
	}
	*out = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return *out ? SK_OK : sk_err_ssl(SK_EFAIL, "serial");
}

/* --device: a public key file, or the ID itself (64 hex digits). */
static int parse_device(const char *arg, uint8_t id[32])
{
	struct stat sb;
	EVP_PKEY *pub = NULL;
	char hex[65];
	int rc;

	if (strcmp(arg, "-") != 0 && stat(arg, &sb) != 0) {
		if (strlen(arg) != 64 || sk_unhex(id, 32, arg) != 0)
			return sk_usage_error("--device '%s': neither a public key file nor a device ID (64 hex digits)",
					      arg);
		return SK_OK;
	}
	if ((rc = sk_pkey_load(arg, NULL, 0, &pub)) != SK_OK)
		return rc;
	rc = sk_pkey_fingerprint(pub, hex);
	EVP_PKEY_free(pub);
	if (rc == SK_OK && sk_unhex(id, 32, hex) != 0)
		rc = sk_err(SK_EFAIL, "device ID");
	return rc;
}

static int stp_make(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *name = sk_opt_str(a, OPT_name);
	struct sk_signer signer;
	struct sk_buf out = { 0 };
	struct sk_stp s;
	const EVP_MD *md;
	const char *outpath;
	int rc, have_signer = 0;

	memset(&s, 0, sizeof(s));
	s.cmd = sk_stp_cmd_by_name(sk_opt_str(a, OPT_command));
	sk_opt_uint(a, OPT_seq, &s.seq);
	if ((sk_opt_str(a, OPT_sign_key) == NULL) == (sk_opt_str(a, OPT_key) == NULL))
		return sk_usage_error("give --sign-key FILE or --key NAME (one of them)");
	if ((rc = sk_opt_md(ctx, a, OPT_digest, &md)) != SK_OK ||
	    (rc = sk_opt_out(a, SK_OUT_BINARY, &outpath)) != SK_OK)
		return rc;
	if (name != NULL) {
		if (strlen(name) >= sizeof(s.target))
			return sk_usage_error("--name is too long");
		snprintf(s.target, sizeof(s.target), "%s", name);
	}
	sk_opt_time(a, OPT_time, &s.signing_time);
	if (sk_opt_str(a, OPT_serial) != NULL && (rc = parse_serial(sk_opt_str(a, OPT_serial), &s.serial)) != SK_OK)
		goto out;
	if (sk_opt_str(a, OPT_device) != NULL) {
		if ((rc = parse_device(sk_opt_str(a, OPT_device), s.device)) != SK_OK)
			goto out;
		s.has_device = 1;
	}
	if (sk_opt_str(a, OPT_cert) != NULL && (rc = sk_x509_load_one(sk_opt_str(a, OPT_cert), &s.cert)) != SK_OK)
		goto out;
	if ((rc = sk_stp_check_fields(&s, SK_EUSAGE)) != SK_OK) {
		if (rc == SK_EUSAGE)
			rc = sk_usage_error("%s", sk_err_msg());
		goto out;
	}
	if ((rc = sk_opt_signer(ctx, a, OPT_pass, md, &signer)) != SK_OK)
		goto out;
	have_signer = 1;
	if ((rc = sk_stp_make(&s, &signer, &out)) != SK_OK)
		goto out;
	rc = sk_write_file(outpath, out.p, out.len, 0666);
out:
	if (have_signer)
		sk_signer_free(&signer);
	sk_buf_free(&out);
	sk_stp_free(&s);
	return rc;
}

/* ---- show ---- */

/* status: for people; path: the package; key: the command key that
 * verified it (apply), NULL when nothing was verified (show). */
static void describe(struct sk_ctx *ctx, const struct sk_stp *s, const char *status,
		     const char *path, const char *key)
{
	char when[32], alg[128], dev[65] = "", subject[512] = "", issuer[512] = "", serial[80] = "",
	     fp[65] = "", rserial[80] = "";

	sk_time_format(s->signing_time, when, sizeof(when));
	sk_sigalg_describe(s->pkg.sigalg, alg, sizeof(alg));
	if (s->has_device)
		sk_hex(dev, s->device, 32);
	if (s->cert != NULL) {
		sk_x509_name_str(X509_get_subject_name(s->cert), subject, sizeof(subject));
		sk_x509_name_str(X509_get_issuer_name(s->cert), issuer, sizeof(issuer));
		sk_x509_serial_str(X509_get0_serialNumber(s->cert), serial, sizeof(serial));
		if (sk_x509_fingerprint(s->cert, fp) != SK_OK)
			fp[0] = '\0';
	}
	if (s->serial != NULL)
		sk_x509_serial_str(s->serial, rserial, sizeof(rserial));
	sk_err_clear();
	if (ctx->json) {
		struct sk_json j;

		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kstr(&j, "path", path);
		sk_json_kstr(&j, "status", key != NULL ? "applied" : "unverified");
		if (key != NULL) {
			sk_json_kbool(&j, "verified", 1);
			sk_json_kstr(&j, "key", key);
		}
		sk_json_kuint(&j, "version", (uint64_t)s->pkg.version);
		sk_json_kuint(&j, "sequence", s->seq);
		sk_json_kstr(&j, "command", sk_stp_cmd_name(s->cmd));
		sk_json_kstr(&j, "target", s->target[0] ? s->target : NULL);
		sk_json_ktime(&j, "signing_time", s->signing_time);
		sk_json_kstr(&j, "device", s->has_device ? dev : NULL);
		sk_json_kstr(&j, "signature_algorithm", alg);
		sk_json_signer(&j, key, s->pkg.signer_hex);
		if (s->cert != NULL) {
			sk_json_key(&j, "certificate");
			sk_json_obj(&j);
			sk_json_kstr(&j, "subject", subject);
			sk_json_kstr(&j, "issuer", issuer);
			sk_json_kstr(&j, "serial", serial);
			sk_json_kstr(&j, "fingerprint", fp);
			sk_json_kbool(&j, "ca", X509_check_ca(s->cert) >= 1);
			sk_json_end_obj(&j);
		} else {
			sk_json_kstr(&j, "certificate", NULL);
		}
		sk_json_kstr(&j, "serial", s->serial ? rserial : NULL);
		sk_json_end_obj(&j);
		sk_json_done(&j);
		return;
	}
	printf("status:        %s\n", status);
	printf("command:       %s\n", sk_stp_cmd_name(s->cmd));
	printf("sequence:      %llu\n", (unsigned long long)s->seq);
	printf("target:        %s\n", s->target[0] ? s->target : "-");
	printf("signed:        %s\n", when);
	printf("device:        %s\n", s->has_device ? dev : "any");
	printf("signature:     %s\n", alg);
	printf("signer:        %s%s\n", s->pkg.signer_hex[0] ? "sha256:" : "-", s->pkg.signer_hex);
	if (s->cert != NULL) {
		printf("certificate:   %s\n", subject);
		printf("  issuer:      %s\n", issuer);
		printf("  serial:      %s\n", serial);
		printf("  fingerprint: %s\n", fp);
	}
	if (s->serial != NULL)
		printf("revoke serial: %s (issued by the certificate)\n", rserial);
}

/* Read and decode the STP file of the command line; what is wrong with
 * the file (not an STP, damaged) names it. */
static int read_pkg(const struct sk_args *a, struct sk_buf *b, struct sk_stp *s)
{
	int rc = sk_read_file(a->pos[0], STP_MAX, b);

	if (rc == SK_OK && (rc = sk_stp_decode(b->p, b->len, s)) != SK_OK)
		sk_err_wrap(rc, "%s", sk_path_name(a->pos[0]));
	if (rc != SK_OK)
		sk_buf_free(b);
	return rc;
}

static int stp_show(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_buf b = { 0 };
	struct sk_stp s;
	int rc;

	if ((rc = read_pkg(a, &b, &s)) != SK_OK)
		return rc;
	describe(ctx, &s, "not verified (show does not check the signature)", a->pos[0], NULL);
	sk_stp_free(&s);
	sk_buf_free(&b);
	return rc;
}

/* ---- apply ---- */

static int stp_apply(struct sk_ctx *ctx, const struct sk_args *a)
{
	const struct sk_policy *pol;
	struct sk_buf b = { 0 };
	struct sk_stp s;
	int rc;

	if ((rc = read_pkg(a, &b, &s)) != SK_OK)
		return rc;
	sk_stp_free(&s);
	if ((rc = sk_ctx_policy(ctx, &pol)) == SK_OK)
		rc = sk_stp_apply(ctx, pol, b.p, b.len, &s);
	sk_buf_free(&b);
	if (rc == SK_EVERIFY && ctx->json) {
		/* Refused (signature, replay, device, policy): what was tried. */
		struct sk_json j;

		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kstr(&j, "path", a->pos[0]);
		sk_json_kstr(&j, "status", "refused");
		sk_json_kbool(&j, "verified", 0);
		sk_json_kstr(&j, "key", pol->role[SK_ROLE_OEM_COMMAND]);
		sk_json_end_obj(&j);
		sk_json_done(&j);
	}
	if (rc != SK_OK)
		return rc;
	if (ctx->json)
		describe(ctx, &s, "applied", a->pos[0], pol->role[SK_ROLE_OEM_COMMAND]);
	else if (ctx->verbose)
		printf("applied STP %llu: %s%s%s\n", (unsigned long long)s.seq, sk_stp_cmd_name(s.cmd),
		       s.target[0] ? " " : "", s.target);
	sk_stp_free(&s);
	return SK_OK;
}

/* ---- status ---- */

static int stp_status(struct sk_ctx *ctx, const struct sk_args *a)
{
	const struct sk_policy *pol;
	struct sk_keyinfo k;
	struct sk_store *st;
	const char *cmdkey;
	uint64_t seq, locked;
	int64_t now;
	int rc, have_key;

	(void)a;
	if ((rc = sk_stp_last_seq(ctx, &seq)) != SK_OK || (rc = sk_ctx_policy(ctx, &pol)) != SK_OK ||
	    (rc = sk_ctx_store(ctx, 0, &st)) != SK_OK ||
	    (rc = sk_trust_time(st, pol->clock, &now)) != SK_OK ||
	    (rc = sk_trust_locked(st, &locked)) != SK_OK)
		return rc;
	cmdkey = pol->role[SK_ROLE_OEM_COMMAND];
	rc = sk_key_info(ctx, cmdkey, &k);
	if (rc != SK_OK && rc != SK_ENOTFOUND)
		return rc;
	have_key = rc == SK_OK;
	sk_err_clear();
	if (ctx->json) {
		struct sk_json j;

		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kuint(&j, "last_sequence", seq);
		sk_json_kstr(&j, "command_key", cmdkey);
		sk_json_kstr(&j, "command_key_fingerprint", have_key ? k.fingerprint : NULL);
		sk_json_ktime(&j, "trust_time", now);
		sk_json_kbool(&j, "locked", locked != 0);
		if (locked)
			sk_json_ktime(&j, "locked_since", (int64_t)locked);
		else
			sk_json_kstr(&j, "locked_since", NULL);
		sk_json_end_obj(&j);
		sk_json_done(&j);
	} else {
		char when[32], since[32];

		sk_time_format(now, when, sizeof(when));
		sk_time_format((int64_t)locked, since, sizeof(since));
		printf("last sequence: %llu\n", (unsigned long long)seq);
		printf("command key:   %s (%s%s)\n", cmdkey, have_key ? "sha256:" : "not provisioned",
		       have_key ? k.fingerprint : "");
		printf("trust time:    %s\n", when);
		if (locked)
			printf("trust anchors: locked since %s (only STPs change them)\n", since);
		else
			printf("trust anchors: not locked (provisioning not finished)\n");
	}
	if (have_key)
		sk_keyinfo_free(&k);
	return SK_OK;
}

static const struct sk_verb verbs[] = {
	SK_VERB("make", stp_make, "build and sign a trusted package (off-device)", SK_OPTIONS(make_opts)),
	SK_VERB("show", stp_show, "decode a package without verifying it",
		.synopsis = "FILE", SK_POS(1, 1), .complete = SK_C_FILE),
	SK_VERB("apply", stp_apply, "verify a package and execute it atomically",
		.synopsis = "FILE", SK_POS(1, 1), .complete = SK_C_FILE),
	SK_VERB("status", stp_status, "the last applied sequence number and the command key"),
};

const struct sk_command sk_cmd_stp = {
	.name = "stp",
	.summary = "signed trusted packages: trust changes signed by the OEM command key",
	SK_VERBS(verbs),
};
