/* SPDX-License-Identifier: MIT */
/* seckit payload: signed payload packages (make off-device, verify on it). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "format/payload.h"
#include "trust/trust.h"
#include "json.h"
#include "opt.h"

/* ---- progress (stderr, terminals only) ---- */

struct progress {
	const char *verb;
	struct timespec last;
	int shown;
};

static void human_size(char *buf, size_t n, uint64_t v)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double x = (double)v;
	size_t u = 0;

	while (x >= 1024 && u + 1 < SK_ARRAY_SIZE(unit)) {
		x /= 1024;
		u++;
	}
	snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", x, unit[u]);
}

static void progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct progress *pr = arg;
	struct timespec now;
	char a[32], b[32];

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (done < total && (now.tv_sec - pr->last.tv_sec) * 1000000000L +
				    (now.tv_nsec - pr->last.tv_nsec) < 250000000L)
		return;
	if (!pr->shown && done == total)
		return; /* quick runs stay silent */
	pr->last = now;
	pr->shown = 1;
	human_size(a, sizeof(a), done);
	human_size(b, sizeof(b), total);
	fprintf(stderr, "\r%s: %3d%% %s of %s\033[K", sk_prog(),
		total ? (int)(done * 100 / total) : 100, a, b);
	fflush(stderr);
}

static void progress_init(struct sk_ctx *ctx, struct progress *pr, sk_progress_fn *fn)
{
	memset(pr, 0, sizeof(*pr));
	clock_gettime(CLOCK_MONOTONIC, &pr->last);
	*fn = !ctx->quiet && isatty(STDERR_FILENO) ? progress_cb : NULL;
}

static void progress_end(struct progress *pr)
{
	if (pr->shown)
		fprintf(stderr, "\r\033[K");
}

/* signer_key: the store key that signed or verified it, else NULL. */
static void json_info(struct sk_json *j, const struct sk_payload_info *info, const char *signer_key)
{
	sk_json_kstr(j, "type", "payload");
	if (info->version == 0) {
		/* the header could not be read */
		sk_json_key(j, "format_version");
		sk_json_null(j);
		sk_json_key(j, "size");
		sk_json_null(j);
	} else {
		sk_json_kint(j, "format_version", info->version);
		sk_json_kuint(j, "size", info->size);
	}
	sk_json_kstr(j, "digest", info->md ? sk_md_name(info->md) : NULL);
	sk_json_kstr(j, "signature_algorithm", info->sigalg[0] ? info->sigalg : NULL);
	sk_json_signer(j, signer_key, info->signer);
}

/* ---- make ---- */

static const struct sk_verbopt make_opts[] = {
	{ OPT_sign_key, "sign with this private key file (PEM or DER; EC or RSA)" },
	{ OPT_key, "sign with this named key in the store instead" },
	{ OPT_pass, "passphrase of an encrypted --sign-key, or the secret of --key's password object" },
	{ OPT_in, "the payload (a regular file)", .required = 1 },
	{ OPT_out, "the package (default and '-': stdout, not a terminal)" },
	{ OPT_digest, "sha256 (default), sha384, sha512, sha224, sha1, md5 (with --insecure)", .md = SK_MD_PAYLOAD },
	{ OPT_pss, "RSA keys: RSA-PSS instead of PKCS#1 v1.5" },
	{ OPT_insecure, "allow md5" },
};

static int payload_make(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *name = sk_opt_str(a, OPT_key);
	const char *in = sk_opt_str(a, OPT_in), *out;
	struct sk_payload_info info;
	struct sk_signer s = { 0 };
	struct progress pr;
	sk_progress_fn fn;
	const EVP_MD *md = NULL;
	int rc;

	if ((rc = sk_opt_out(a, SK_OUT_BINARY, &out)) != SK_OK)
		return rc;
	if (ctx->json && strcmp(out, "-") == 0)
		return sk_usage_error("--json and --out - would both write to stdout");
	if ((rc = sk_opt_md(ctx, a, OPT_digest, &md)) != SK_OK)
		return rc;
	if ((rc = sk_opt_signer(ctx, a, OPT_pass, md, &s)) != SK_OK)
		return rc;
	progress_init(ctx, &pr, &fn);
	rc = sk_payload_make(&s, in, out, fn, &pr, &info);
	progress_end(&pr);
	if (rc != SK_OK)
		goto out;
	if (ctx->json) {
		struct sk_json j;

		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kstr(&j, "path", out);
		sk_json_kstr(&j, "package", out);
		sk_json_kuint(&j, "package_size", info.package_size);
		json_info(&j, &info, name);
		sk_json_end_obj(&j);
		sk_json_done(&j);
	} else if (ctx->verbose) {
		fprintf(stderr, "%s: wrote '%s' (%llu bytes): payload %llu bytes, %s, signed by sha256:%s\n",
			sk_prog(), out, (unsigned long long)info.package_size,
			(unsigned long long)info.size, info.sigalg, info.signer);
	}
out:
	sk_signer_free(&s);
	return rc;
}

/* ---- verify ---- */

static const struct sk_verbopt verify_opts[] = {
	{ OPT_key, "verify with this named key (default: the oem-payload role)" },
	{ OPT_verify_key, "same as --key" },
	{ OPT_pubkey, "verify with this public key file (PEM or DER)" },
	{ OPT_cert, "verify with this certificate (checked against the CA store; more PEM blocks: intermediates)" },
	{ OPT_purpose, "with --cert: also require this X509 purpose (e.g. sslclient)" },
	{ OPT_in, "the package ('-': stdin)" },
	{ OPT_out, "write the payload here once verified ('-': stdout)" },
	{ OPT_insecure, "accept md5 packages" },
};

static int verifier_opt(struct sk_ctx *ctx, const struct sk_args *a, struct sk_verifier *v)
{
	const struct sk_policy *pol;
	const char *key = sk_opt_str(a, OPT_key), *vkey = sk_opt_str(a, OPT_verify_key);
	const char *pub = sk_opt_str(a, OPT_pubkey), *cert = sk_opt_str(a, OPT_cert);
	int n = !!key + !!vkey + !!pub + !!cert, rc;

	if (n > 1)
		return sk_usage_error("give one of --key, --pubkey and --cert");
	if (vkey != NULL)
		key = vkey;
	if (sk_opt_str(a, OPT_purpose) != NULL && cert == NULL)
		return sk_usage_error("--purpose applies to --cert");
	if (pub != NULL)
		rc = sk_verifier_from_pubkey_file(v, pub);
	else if (cert != NULL)
		rc = sk_verifier_from_cert(v, ctx, cert, sk_opt_str(a, OPT_purpose));
	else {
		if (key == NULL) {
			if ((rc = sk_ctx_policy(ctx, &pol)) != SK_OK)
				return rc;
			key = pol->role[SK_ROLE_OEM_PAYLOAD];
		}
		rc = sk_verifier_from_key(v, ctx, key);
	}
	if (rc == SK_OK)
		v->allow_md5 = sk_opt_flag(a, OPT_insecure);
	return rc;
}

static int payload_verify(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *in = sk_opt_str(a, OPT_in), *out = sk_opt_str(a, OPT_out);
	struct sk_payload_info info;
	struct sk_verifier v = { 0 };
	struct progress pr;
	sk_progress_fn fn;
	int rc;

	if ((in == NULL) == (a->npos == 0))
		return sk_usage_error("give the package as --in FILE or PKG (one of them)");
	if (in == NULL)
		in = a->pos[0];
	if (ctx->json && out != NULL && strcmp(out, "-") == 0)
		return sk_usage_error("--json and --out - would both write to stdout");
	if ((rc = verifier_opt(ctx, a, &v)) != SK_OK)
		return rc;
	progress_init(ctx, &pr, &fn);
	rc = sk_payload_verify(&v, in, out, ctx->tmpdir, fn, &pr, &info);
	progress_end(&pr);
	if (rc == SK_OK && info.md != NULL && sk_md_is_weak(info.md))
		sk_warn("the package uses %s, which is weak", sk_md_name(info.md));
	if (ctx->json && (rc == SK_OK || rc == SK_EVERIFY)) {
		struct sk_json j;

		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kbool(&j, "verified", rc == SK_OK);
		sk_json_kstr(&j, "path", in);
		sk_json_kstr(&j, "package", in);
		sk_json_kstr(&j, "key", v.key != NULL ? v.key->info.name : NULL);
		sk_json_kstr(&j, "pubkey", sk_opt_str(a, OPT_pubkey));
		sk_json_kstr(&j, "cert", sk_opt_str(a, OPT_cert));
		sk_json_kstr(&j, "fingerprint", v.fpr[0] ? v.fpr : NULL);
		sk_json_kstr(&j, "key_fingerprint", v.fpr[0] ? v.fpr : NULL);
		json_info(&j, &info, rc == SK_OK && v.key != NULL ? v.key->info.name : NULL);
		sk_json_kstr(&j, "out", rc == SK_OK ? out : NULL);
		if (rc != SK_OK)
			sk_json_kstr(&j, "reason", sk_err_msg());
		sk_json_end_obj(&j);
		sk_json_done(&j);
	} else if (rc == SK_OK && !ctx->quiet && (out == NULL || strcmp(out, "-") != 0)) {
		printf("Verified OK\n");
	}
	sk_verifier_free(&v);
	return rc;
}

/* ---- show ---- */

static const struct sk_verbopt show_opts[] = {
	{ OPT_in, "the package, instead of the PKG argument ('-': stdin)" },
};

static int payload_show(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *in = sk_opt_str(a, OPT_in);
	struct sk_payload_info info;
	int rc;

	if ((in == NULL) == (a->npos == 0))
		return sk_usage_error("give the package as PKG or --in FILE (one of them)");
	if (in == NULL)
		in = a->pos[0];
	if ((rc = sk_payload_show(in, &info)) != SK_OK)
		return rc;
	if (ctx->json) {
		struct sk_json j;

		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kstr(&j, "path", in);
		json_info(&j, &info, NULL);
		sk_json_end_obj(&j);
		sk_json_done(&j);
		return SK_OK;
	}
	printf("type:                payload\n");
	printf("format version:      %ld\n", info.version);
	printf("payload size:        %llu\n", (unsigned long long)info.size);
	printf("digest:              %s\n", sk_md_name(info.md));
	printf("signature algorithm: %s\n", info.sigalg);
	printf("signer:              %s%s\n", info.signer[0] ? "sha256:" : "-", info.signer);
	return SK_OK;
}

static const struct sk_verb verbs[] = {
	SK_VERB("make", payload_make, "sign a payload into a package", SK_OPTIONS(make_opts)),
	SK_VERB("verify", payload_verify, "verify a package and extract its payload",
		.synopsis = "[PKG]", SK_POS(0, 1), SK_OPTIONS(verify_opts), .complete = SK_C_FILE),
	SK_VERB("show", payload_show, "print a package's header without verifying it",
		.synopsis = "PKG", SK_POS(0, 1), SK_OPTIONS(show_opts), .complete = SK_C_FILE),
};

const struct sk_command sk_cmd_payload = {
	.name = "payload",
	.summary = "signed payload packages: make, verify, show",
	SK_VERBS(verbs),
};
