/* SPDX-License-Identifier: MIT */
/* seckit key: named keys and the crypto done with them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "base/fileio.h"
#include "keys/keyfile.h"
#include "keys/keys.h"
#include "keys/password.h"
#include "keys/stream.h"
#include "device.h"
#include "json.h"
#include "opt.h"

#define SIG_MAX 4096

/* ---- shared option entries ---- */
#define O_PASS { OPT_pass, "secret of the key's password object (pass:, env:, file:, fd:, prompt)" }
#define O_DIGEST { OPT_digest, "digest: sha256 (default), sha384, sha512, sha224, sha1", .md = SK_MD_SIGN }
#define O_PSS { OPT_pss, "RSA-PSS padding instead of PKCS#1 v1.5" }

/* ---- create / import ---- */

static const struct sk_verbopt create_opts[] = {
	{ OPT_type, "key type: " SK_KEYTYPE_NAMES, .required = 1 },
	{ OPT_exportable, "allow the private part to be exported later" },
	{ OPT_provisioned, "mark as provisioned: no delete, no overwrite" },
	{ OPT_password_object, "bind the key to this password object" },
	{ OPT_pass, "secret of the password object" },
};

/* checked_by: who checks the password (key info only; NULL: omitted). */
/* handle: the persistent TPM handle the key uses, 0 if none. */
static void print_info_json(struct sk_json *j, const struct sk_keyinfo *k, int locked,
			    const char *checked_by, uint32_t handle)
{
	char hex[16];

	sk_json_obj(j);
	sk_json_kstr(j, "name", k->name);
	sk_json_kstr(j, "type", k->type->name);
	sk_json_kuint(j, "bits", k->type->bits);
	sk_json_kstr(j, "backend", k->backend);
	sk_json_kstr(j, "origin", k->origin[0] ? k->origin : NULL);
	sk_json_kbool(j, "provisioned", (k->flags & SK_KEY_PROVISIONED) != 0);
	sk_json_kbool(j, "locked", locked);
	sk_json_kbool(j, "exportable", (k->flags & SK_KEY_EXPORTABLE) != 0);
	sk_json_kbool(j, "public_only", (k->flags & SK_KEY_PUBLIC_ONLY) != 0);
	sk_json_kstr(j, "password_object", k->pwobj[0] ? k->pwobj : NULL);
	if (checked_by != NULL)
		sk_json_kstr(j, "password_checked_by", checked_by);
	sk_json_kstr(j, "fingerprint", k->fingerprint[0] ? k->fingerprint : NULL);
	snprintf(hex, sizeof(hex), "0x%08x", (unsigned)handle);
	sk_json_kstr(j, "tpm2_handle", handle ? hex : NULL);
	/* 0: a device's key (pkcs11) whose making seckit did not see. */
	if (k->created != 0)
		sk_json_ktime(j, "created", (int64_t)k->created);
	else
		sk_json_kstr(j, "created", NULL);
	sk_json_end_obj(j);
}

static int report_new(struct sk_ctx *ctx, const char *name, const char *verb)
{
	struct sk_keyinfo k;
	struct sk_json j;
	uint32_t handle;
	int rc, locked;

	if (!ctx->json && !ctx->verbose)
		return SK_OK;
	if ((rc = sk_key_info(ctx, name, &k)) != SK_OK)
		return rc;
	if (ctx->json) {
		if ((rc = sk_key_locked(ctx, &k, &locked)) != SK_OK ||
		    (rc = sk_key_handle(ctx, k.backend, &handle)) != SK_OK) {
			sk_keyinfo_free(&k);
			return rc;
		}
		sk_json_init(&j, stdout);
		print_info_json(&j, &k, locked, NULL, handle);
		sk_json_done(&j);
	} else {
		fprintf(stderr, "%s key '%s' (%s)%s%s\n", verb, name, k.type->name,
			k.fingerprint[0] ? " sha256:" : "", k.fingerprint);
	}
	sk_keyinfo_free(&k);
	return SK_OK;
}

static int fill_new(const struct sk_args *a, struct sk_key_new *req)
{
	memset(req, 0, sizeof(*req));
	req->name = a->pos[0];
	if (sk_opt_flag(a, OPT_exportable))
		req->flags |= SK_KEY_EXPORTABLE;
	if (sk_opt_flag(a, OPT_provisioned))
		req->flags |= SK_KEY_PROVISIONED;
	req->pwobj = sk_opt_str(a, OPT_password_object);
	req->pass_spec = sk_opt_str(a, OPT_pass);
	return SK_OK;
}

static int key_create(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_key_new req;
	int rc;

	if ((rc = fill_new(a, &req)) != SK_OK)
		return rc;
	/* (import: --pass without --password-object opens an encrypted input) */
	if (req.pass_spec != NULL && req.pwobj == NULL)
		return sk_usage_error("--pass needs --password-object");
	req.type = sk_keytype_by_name(sk_opt_str(a, OPT_type));
	if ((rc = sk_key_generate(ctx, &req)) != SK_OK)
		return rc;
	return report_new(ctx, req.name, "created");
}

static const struct sk_verbopt import_opts[] = {
	{ OPT_in, "key file: PEM or DER private/public key, or raw AES/HMAC bytes", .required = 1 },
	{ OPT_type, "key type (required for AES/HMAC; checked for EC/RSA)" },
	{ OPT_exportable, "allow the private part to be exported later" },
	{ OPT_provisioned, "mark as provisioned: no delete, no overwrite" },
	{ OPT_password_object, "bind the key to this password object" },
	{ OPT_pass, "secret of the password object; without --password-object, the passphrase of an encrypted input" },
	{ OPT_in_pass, "passphrase of an encrypted PEM input" },
};

/* The library says what is wrong; the command adds which option to
 * change: the message of rc, with a hint appended. */
static int hint(int rc, const char *more)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", sk_err_msg());
	return sk_err(rc, "%s%s", msg, more);
}

static int key_import(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_key_new req;
	struct sk_keyfile kf;
	const char *type = sk_opt_str(a, OPT_type), *in = sk_opt_str(a, OPT_in);
	const char *inpass_spec = sk_opt_str(a, OPT_in_pass);
	int rc;

	if ((rc = fill_new(a, &req)) != SK_OK)
		return rc;
	if (inpass_spec == NULL && req.pwobj == NULL)
		inpass_spec = req.pass_spec;
	if (type != NULL)
		req.type = sk_keytype_by_name(type);
	if ((rc = sk_keyfile_read(in, req.type, inpass_spec, &kf)) != SK_OK) {
		if (kf.need == SK_KEYFILE_NEED_PASS)
			hint(rc, " with --in-pass");
		else if (kf.need == SK_KEYFILE_NEED_TYPE)
			hint(rc, " (raw AES and HMAC keys need --type)");
		goto out;
	}
	req.type = kf.type;
	req.pkey = kf.pkey;
	req.raw = kf.raw.p;
	req.rawlen = kf.raw.len;
	if (kf.pkey != NULL && !kf.is_private)
		req.flags |= SK_KEY_PUBLIC_ONLY;
	if ((rc = sk_key_import(ctx, &req)) != SK_OK)
		goto out;
	rc = report_new(ctx, req.name, "imported");
out:
	sk_keyfile_free(&kf);
	return rc;
}

/* ---- export ---- */

static const struct sk_verbopt export_opts[] = {
	{ OPT_out, "where to write the key (default and '-': stdout; not a terminal for DER or a private key)" },
	{ OPT_format, "pem (default) or der" },
	{ OPT_private, "export the private part (exportable keys only)" },
	O_PASS,
	{ OPT_out_pass, "encrypt the exported private key with this passphrase" },
	{ OPT_no_encrypt, "write the private part in clear (file mode 0600)" },
};

static int key_export(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *out, *fmt = sk_opt_str(a, OPT_format);
	const char *outpass_spec = sk_opt_str(a, OPT_out_pass);
	int private = sk_opt_flag(a, OPT_private), der = 0, rc;
	struct sk_secret outpass = { 0 };
	struct sk_buf raw = { 0 };
	struct sk_key *k = NULL;
	EVP_PKEY *priv = NULL;

	der = fmt != NULL && strcmp(fmt, "der") == 0;
	if (!private && (outpass_spec || sk_opt_flag(a, OPT_no_encrypt)))
		return sk_usage_error("--out-pass and --no-encrypt apply to --private");
	if (private && !outpass_spec && !sk_opt_flag(a, OPT_no_encrypt))
		return sk_usage_error("a private key is only written encrypted: give --out-pass SPEC (or --no-encrypt)");
	if (outpass_spec && sk_opt_flag(a, OPT_no_encrypt))
		return sk_usage_error("--out-pass and --no-encrypt exclude each other");
	if ((rc = sk_opt_out(a, der || private ? SK_OUT_BINARY : SK_OUT_TEXT, &out)) != SK_OK)
		return rc;
	if (!private) {
		if ((rc = sk_key_open_public(ctx, a->pos[0], &k)) != SK_OK)
			return rc;
		if (k->info.pub == NULL)
			rc = sk_err(SK_EUNSUPP, "key '%s' (%s) has no public part", a->pos[0],
				    k->info.type->name);
		else
			rc = sk_keyfile_write_pkey(out, k->info.pub, der, 0, NULL);
		sk_key_close(k);
		return rc;
	}
	if ((rc = sk_key_open(ctx, a->pos[0], sk_opt_str(a, OPT_pass), &k)) != SK_OK)
		return rc;
	if ((rc = sk_key_export_private(k, &priv, &raw)) != SK_OK)
		goto out;
	if (priv == NULL && fmt != NULL) {
		rc = sk_usage_error("--format applies to EC and RSA keys; a %s key is raw bytes",
				    k->info.type->name);
		goto out;
	}
	if (outpass_spec && (rc = sk_secret_get(outpass_spec, "passphrase for the exported key", 1,
						&outpass)) != SK_OK)
		goto out;
	if (priv == NULL)
		rc = sk_keyfile_write_raw(out, raw.p, raw.len, outpass_spec ? &outpass : NULL);
	else
		rc = sk_keyfile_write_pkey(out, priv, der, 1, outpass_spec ? &outpass : NULL);
out:
	EVP_PKEY_free(priv);
	sk_buf_cleanse_free(&raw);
	sk_secret_free(&outpass);
	sk_key_close(k);
	return rc;
}

/* ---- list / info / delete ---- */

static const struct sk_verbopt list_opts[] = {
	{ OPT_names, "print only the names, one per line" },
};

struct list_state {
	struct sk_ctx *ctx;
	struct sk_json j;
	int names;
};

static void flags_text(const struct sk_keyinfo *k, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	if (k->flags & SK_KEY_PROVISIONED)
		len += (size_t)snprintf(buf + len, n - len, "provisioned,");
	if (k->flags & SK_KEY_EXPORTABLE)
		len += (size_t)snprintf(buf + len, n - len, "exportable,");
	if (k->flags & SK_KEY_PUBLIC_ONLY)
		len += (size_t)snprintf(buf + len, n - len, "public,");
	if (k->pwobj[0] && len < n)
		len += (size_t)snprintf(buf + len, n - len, "password=%s,", k->pwobj);
	if (len > 0 && len < n)
		buf[len - 1] = '\0';
	else if (len == 0)
		snprintf(buf, n, "-");
}

static int list_one(const struct sk_keyinfo *k, void *arg)
{
	struct list_state *s = arg;
	char flags[400];
	uint32_t handle;
	int rc, locked;

	if (s->ctx->json) {
		if ((rc = sk_key_locked(s->ctx, k, &locked)) != SK_OK ||
		    (rc = sk_key_handle(s->ctx, k->backend, &handle)) != SK_OK)
			return rc;
		print_info_json(&s->j, k, locked, NULL, handle);
	} else if (s->names) {
		printf("%s\n", k->name);
	} else {
		flags_text(k, flags, sizeof(flags));
		printf("%-24s %-12s %-8s %s\n", k->name, k->type->name, k->backend, flags);
	}
	return 0;
}

static int key_list(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct list_state s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.ctx = ctx;
	s.names = sk_opt_flag(a, OPT_names);
	if (ctx->json)
		sk_json_list_begin(&s.j, stdout, "keys");
	rc = sk_key_list(ctx, list_one, &s);
	if (rc != SK_OK)
		return rc;
	if (ctx->json)
		sk_json_list_end(&s.j);
	return SK_OK;
}

static int key_info(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_keyinfo k;
	struct sk_json j;
	char when[32], checker[16] = "";
	uint32_t handle;
	int rc, locked;

	if ((rc = sk_key_stat(ctx, a->pos[0], &k)) != SK_OK)
		return rc;
	if ((rc = sk_key_locked(ctx, &k, &locked)) != SK_OK ||
	    (rc = sk_key_handle(ctx, k.backend, &handle)) != SK_OK) {
		sk_keyinfo_free(&k);
		return rc;
	}
	/* Who checks the password: "software" on a tpm2 key means one bound
	 * by seckit 0.1, whose password can be tested offline. */
	if (k.pwobj[0] && (rc = sk_password_checker(ctx, k.pwobj, checker)) != SK_OK) {
		sk_keyinfo_free(&k);
		return rc;
	}
	if (k.pwobj[0] && !checker[0])
		snprintf(checker, sizeof(checker), "software");
	if (ctx->json) {
		sk_json_init(&j, stdout);
		print_info_json(&j, &k, locked, checker[0] ? checker : NULL, handle);
		sk_json_done(&j);
	} else {
		if (k.created != 0)
			sk_time_format((int64_t)k.created, when, sizeof(when));
		else
			snprintf(when, sizeof(when), "-");
		printf("name:            %s\n", k.name);
		printf("type:            %s\n", k.type->name);
		printf("size:            %u bits\n", k.type->bits);
		printf("backend:         %s\n", k.backend);
		printf("origin:          %s\n", k.origin[0] ? k.origin : "-");
		printf("provisioned:     %s\n", k.flags & SK_KEY_PROVISIONED ? "yes" : "no");
		printf("locked:          %s\n", locked ? "yes (a trust anchor: only an STP changes it)" : "no");
		printf("exportable:      %s\n", k.flags & SK_KEY_EXPORTABLE ? "yes" : "no");
		printf("public only:     %s\n", k.flags & SK_KEY_PUBLIC_ONLY ? "yes" : "no");
		printf("password object: %s\n", k.pwobj[0] ? k.pwobj : "-");
		if (k.pwobj[0])
			printf("password check:  %s\n", checker);
		printf("fingerprint:     %s%s\n", k.fingerprint[0] ? "sha256:" : "-", k.fingerprint);
		if (handle)
			printf("tpm2 handle:     0x%08x (its parent, tpm2-parent)\n", (unsigned)handle);
		else
			printf("tpm2 handle:     -\n");
		printf("created:         %s\n", when);
	}
	sk_keyinfo_free(&k);
	return SK_OK;
}

static const struct sk_verbopt delete_opts[] = { O_PASS };

static int key_handles(struct sk_ctx *ctx, const struct sk_args *a)
{
	(void)a;
	return sk_key_handles(ctx);
}

static const struct sk_verbopt evict_opts[] = {
	{ OPT_force, "evict also the handle this store's TPM objects use" },
};

static int key_evict(struct sk_ctx *ctx, const struct sk_args *a)
{
	return sk_key_evict(ctx, a->pos[0], sk_opt_flag(a, OPT_force));
}

static int key_delete(struct sk_ctx *ctx, const struct sk_args *a)
{
	return sk_key_delete(ctx, a->pos[0], sk_opt_str(a, OPT_pass));
}

/* ---- password objects ---- */

static const struct sk_verbopt pw_opts[] = {
	{ OPT_pass, "the password object's secret (pass:, env:, file:, fd:, prompt)" },
};

static int pw_create(struct sk_ctx *ctx, const struct sk_args *a)
{
	return sk_password_create(ctx, a->pos[0], sk_opt_str(a, OPT_pass));
}

static int pw_delete(struct sk_ctx *ctx, const struct sk_args *a)
{
	return sk_password_delete(ctx, a->pos[0], sk_opt_str(a, OPT_pass));
}

struct pw_state {
	struct sk_ctx *ctx;
	struct sk_json j;
	const char *obj;
	size_t n;
};

static int pw_list_one(const char *obj, uint64_t created, const char *checked_by, void *arg)
{
	struct pw_state *s = arg;

	if (s->ctx->json) {
		sk_json_obj(&s->j);
		sk_json_kstr(&s->j, "name", obj);
		sk_json_ktime(&s->j, "created", (int64_t)created);
		sk_json_kstr(&s->j, "checked_by", checked_by);
		sk_json_end_obj(&s->j);
	} else {
		printf("%s\n", obj);
	}
	return 0;
}

static void json_list_begin(struct pw_state *s, const char *key)
{
	if (!s->ctx->json)
		return;
	sk_json_list_begin(&s->j, stdout, key);
}

static void json_list_end(struct pw_state *s)
{
	if (!s->ctx->json)
		return;
	sk_json_list_end(&s->j);
}

static int pw_list(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct pw_state s = { ctx, { 0 }, NULL, 0 };
	int rc;

	(void)a;
	json_list_begin(&s, "password_objects");
	if ((rc = sk_password_list(ctx, pw_list_one, &s)) != SK_OK)
		return rc;
	json_list_end(&s);
	return SK_OK;
}

static int pw_user(const struct sk_keyinfo *k, void *arg)
{
	struct pw_state *s = arg;

	if (strcmp(k->pwobj, s->obj) != 0)
		return 0;
	s->n++;
	if (s->ctx->json)
		sk_json_str(&s->j, k->name);
	else
		printf("%s\n", k->name);
	return 0;
}

static int pw_exists(const char *obj, uint64_t created, const char *checked_by, void *arg)
{
	(void)created;
	(void)checked_by;
	return strcmp(obj, (const char *)arg) == 0 ? 1 : 0;
}

static int pw_users(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct pw_state s = { ctx, { 0 }, a->pos[0], 0 };
	int rc;

	rc = sk_password_list(ctx, pw_exists, a->pos[0]);
	if (rc == 0)
		return sk_err(SK_ENOTFOUND, "password object '%s': not found", a->pos[0]);
	if (rc != 1)
		return rc;
	json_list_begin(&s, "keys");
	if ((rc = sk_key_list(ctx, pw_user, &s)) != SK_OK)
		return rc;
	json_list_end(&s);
	return SK_OK;
}

static const struct sk_verb password_verbs[] = {
	SK_VERB("create", pw_create, "create a password object",
		.synopsis = "OBJ", SK_POS(1, 1), SK_OPTIONS(pw_opts)),
	SK_VERB("delete", pw_delete, "delete a password object no key uses",
		.synopsis = "OBJ", SK_POS(1, 1), SK_OPTIONS(pw_opts), .complete = SK_C_PWOBJ),
	SK_VERB("list", pw_list, "list password objects"),
	SK_VERB("users", pw_users, "list the keys bound to a password object",
		.synopsis = "OBJ", SK_POS(1, 1), .complete = SK_C_PWOBJ),
};

/* ---- sign / verify ---- */

static const struct sk_verbopt sign_opts[] = {
	{ OPT_in, "data to sign ('-': stdin)", .required = 1 },
	{ OPT_out, "signature output, DER ECDSA or raw RSA (default and '-': stdout, not a terminal)" },
	O_DIGEST,
	O_PSS,
	O_PASS,
};

static int key_sign(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_buf sig = { 0 };
	struct sk_key *k = NULL;
	const EVP_MD *md;
	uint8_t dgst[EVP_MAX_MD_SIZE];
	size_t dlen;
	const char *out;
	int rc;

	if ((rc = sk_opt_md(ctx, a, OPT_digest, &md)) != SK_OK ||
	    (rc = sk_opt_out(a, SK_OUT_BINARY, &out)) != SK_OK)
		return rc;
	if ((rc = sk_key_open_use(ctx, a->pos[0], sk_opt_str(a, OPT_pass), &k)) != SK_OK)
		return rc;
	if ((rc = sk_key_require(k, SK_CAP_SIGN, NULL)) != SK_OK)
		goto out;
	if ((rc = sk_digest_file(sk_opt_str(a, OPT_in), md, dgst, &dlen, NULL)) != SK_OK)
		goto out;
	if ((rc = sk_key_sign(k, md, sk_opt_flag(a, OPT_pss), dgst, dlen, &sig)) != SK_OK)
		goto out;
	rc = sk_write_file(out, sig.p, sig.len, 0666);
out:
	sk_buf_free(&sig);
	sk_key_close(k);
	return rc;
}

static const struct sk_verbopt verify_opts[] = {
	{ OPT_pubkey, "verify with this public key file instead of a named key" },
	{ OPT_in, "signed data ('-': stdin)", .required = 1 },
	{ OPT_sig, "the signature", .required = 1 },
	O_DIGEST,
	O_PSS,
};

static int key_verify(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *pubfile = sk_opt_str(a, OPT_pubkey);
	struct sk_buf sig = { 0 };
	struct sk_key *k = NULL;
	EVP_PKEY *pub = NULL;
	const EVP_MD *md;
	uint8_t dgst[EVP_MAX_MD_SIZE];
	size_t dlen;
	int rc;

	if ((pubfile == NULL) == (a->npos == 0))
		return sk_usage_error("give a key NAME or --pubkey FILE (one of them)");
	if ((rc = sk_opt_md(ctx, a, OPT_digest, &md)) != SK_OK)
		return rc;
	if (pubfile != NULL)
		rc = sk_pkey_load(pubfile, NULL, 0, &pub);
	else
		rc = sk_key_open_public(ctx, a->pos[0], &k);
	if (rc != SK_OK)
		return rc;
	if ((rc = sk_read_file(sk_opt_str(a, OPT_sig), SIG_MAX, &sig)) != SK_OK ||
	    (rc = sk_digest_file(sk_opt_str(a, OPT_in), md, dgst, &dlen, NULL)) != SK_OK)
		goto out;
	if (k != NULL)
		rc = sk_key_verify(k, md, sk_opt_flag(a, OPT_pss), dgst, dlen, sig.p, sig.len);
	else
		rc = sk_pkey_verify(pub, md, sk_opt_flag(a, OPT_pss), dgst, dlen, sig.p, sig.len);
	if (ctx->json && (rc == SK_OK || rc == SK_EVERIFY)) {
		struct sk_err_saved e;
		struct sk_json j;
		char fpr[65] = "";

		sk_err_save(&e);
		if (k == NULL && sk_pkey_fingerprint(pub, fpr) != SK_OK)
			fpr[0] = '\0';
		else if (k != NULL)
			snprintf(fpr, sizeof(fpr), "%s", k->info.fingerprint);
		sk_err_restore(&e);
		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kbool(&j, "verified", rc == SK_OK);
		sk_json_kstr(&j, "path", sk_opt_str(a, OPT_in));
		sk_json_kstr(&j, "key", k ? k->info.name : NULL);
		sk_json_kstr(&j, "pubkey", pubfile);
		sk_json_kstr(&j, "fingerprint", fpr[0] ? fpr : NULL);
		sk_json_signer(&j, rc == SK_OK && k ? k->info.name : NULL, rc == SK_OK ? fpr : NULL);
		sk_json_kstr(&j, "digest", sk_md_name(md));
		if (rc != SK_OK)
			sk_json_kstr(&j, "reason", sk_err_msg());
		sk_json_end_obj(&j);
		sk_json_done(&j);
	} else if (rc == SK_OK && !ctx->quiet) {
		printf("Verified OK\n");
	}
out:
	sk_buf_free(&sig);
	EVP_PKEY_free(pub);
	sk_key_close(k);
	return rc;
}

/* ---- encrypt / decrypt ---- */

static const struct sk_verbopt crypt_opts[] = {
	{ OPT_in, "input ('-': stdin)", .required = 1 },
	{ OPT_out, "output (default and '-': stdout, not a terminal)" },
	{ OPT_mode, "AES: gcm (default), cbc, ctr; RSA: oaep" },
	O_PASS,
};

#define OAEP_MAX_IN (1u << 16)

static int oaep(struct sk_ctx *ctx, const struct sk_args *a, const char *outpath, int enc)
{
	struct sk_buf in = { 0 }, out = { 0 };
	struct sk_key *k = NULL;
	int rc;

	if (enc)
		rc = sk_key_open_public(ctx, a->pos[0], &k);
	else
		rc = sk_key_open(ctx, a->pos[0], sk_opt_str(a, OPT_pass), &k);
	if (rc != SK_OK)
		return rc;
	if (k->info.type->kind != SK_KIND_RSA) {
		rc = sk_err(SK_EUNSUPP, "key '%s' (%s): oaep needs an RSA key", k->info.name,
			    k->info.type->name);
		goto out;
	}
	if ((rc = sk_read_file(sk_opt_str(a, OPT_in), OAEP_MAX_IN, &in)) != SK_OK)
		goto out;
	if (enc)
		rc = sk_pkey_encrypt_oaep(k->info.pub, NULL, in.p, in.len, &out);
	else
		rc = sk_key_decrypt(k, EVP_sha256(), in.p, in.len, &out);
	if (rc == SK_OK)
		rc = sk_write_file(outpath, out.p, out.len, enc ? 0666 : 0600);
out:
	sk_buf_cleanse_free(&in);
	sk_buf_cleanse_free(&out);
	sk_key_close(k);
	return rc;
}

/* AES: the layouts and the GCM hold-back are src/keys/stream.h's. */
static int aes(struct sk_ctx *ctx, const struct sk_args *a, const char *outpath,
	       enum sk_cipher_mode mode, int enc)
{
	struct sk_key *k = NULL;
	int rc, too_big;

	if ((rc = sk_key_open(ctx, a->pos[0], sk_opt_str(a, OPT_pass), &k)) != SK_OK)
		return rc;
	rc = sk_stream_crypt(k, mode, enc, sk_opt_str(a, OPT_in), outpath, &too_big);
	if (rc != SK_OK && too_big)
		hint(rc, "; use --out FILE");
	sk_key_close(k);
	return rc;
}

static int key_crypt(struct sk_ctx *ctx, const struct sk_args *a, int enc)
{
	const char *mode = sk_opt_str(a, OPT_mode), *out;
	struct sk_keyinfo info;
	enum sk_kind kind;
	int rc;

	if ((rc = sk_opt_out(a, SK_OUT_BINARY, &out)) != SK_OK ||
	    (rc = sk_key_stat(ctx, a->pos[0], &info)) != SK_OK)
		return rc;
	kind = info.type->kind;
	sk_keyinfo_free(&info);
	if (kind == SK_KIND_RSA) {
		if (mode && strcmp(mode, "oaep") != 0)
			return sk_err(SK_EUNSUPP, "key '%s' is an RSA key: the only mode is oaep", a->pos[0]);
		return oaep(ctx, a, out, enc);
	}
	if (kind != SK_KIND_AES)
		return sk_err(SK_EUNSUPP, "key '%s' cannot %s (use an AES or RSA key)", a->pos[0],
			      enc ? "encrypt" : "decrypt");
	if (mode && strcmp(mode, "oaep") == 0)
		return sk_err(SK_EUNSUPP, "oaep needs an RSA key; '%s' is an AES key", a->pos[0]);
	return aes(ctx, a, out, !mode || !strcmp(mode, "gcm") ? SK_MODE_GCM
			   : !strcmp(mode, "cbc")	  ? SK_MODE_CBC
							  : SK_MODE_CTR, enc);
}

static int key_encrypt(struct sk_ctx *ctx, const struct sk_args *a)
{
	return key_crypt(ctx, a, 1);
}

static int key_decrypt(struct sk_ctx *ctx, const struct sk_args *a)
{
	return key_crypt(ctx, a, 0);
}

/* ---- mac / digest / random / derive ---- */

static const struct sk_verbopt mac_opts[] = {
	{ OPT_in, "data ('-': stdin)", .required = 1 },
	{ OPT_out, "write the MAC in binary here (default: hex on stdout)" },
	{ OPT_check, "compare with the MAC in FILE (binary or hex); exit 7 if it differs" },
	O_PASS,
};

static int print_hex_or_write(struct sk_ctx *ctx, const char *out, const uint8_t *p, size_t n,
			      const char *what, const char *alg)
{
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (out != NULL)
		return sk_write_file(out, p, n, 0666);
	sk_hex(hex, p, n);
	if (ctx->json) {
		struct sk_json j;

		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kstr(&j, "algorithm", alg);
		sk_json_kstr(&j, what, hex);
		sk_json_end_obj(&j);
		sk_json_done(&j);
	} else {
		printf("%s\n", hex);
	}
	return SK_OK;
}

/* Verbs that print hex by default: the binary form asked for with --out
 * never goes to a terminal. */
static int binary_out(const struct sk_args *a)
{
	const char *path;

	return sk_opt_str(a, OPT_out) != NULL ? sk_opt_out(a, SK_OUT_BINARY, &path) : SK_OK;
}

static int key_mac(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_key *k = NULL;
	uint8_t mac[EVP_MAX_MD_SIZE], want[EVP_MAX_MD_SIZE];
	const char *check = sk_opt_str(a, OPT_check);
	size_t maclen = 0;
	char alg[32];
	int rc;

	if (check != NULL && sk_opt_str(a, OPT_out) != NULL)
		return sk_usage_error("--check and --out exclude each other");
	if ((rc = binary_out(a)) != SK_OK)
		return rc;
	if ((rc = sk_key_open(ctx, a->pos[0], sk_opt_str(a, OPT_pass), &k)) != SK_OK)
		return rc;
	if ((rc = sk_stream_mac(k, sk_opt_str(a, OPT_in), mac, &maclen)) != SK_OK)
		goto out;
	if (k->info.type->kind == SK_KIND_AES)
		snprintf(alg, sizeof(alg), "cmac-aes-%u", k->info.type->bits);
	else
		snprintf(alg, sizeof(alg), "%s", k->info.type->name);
	if (check != NULL) {
		if ((rc = sk_stream_mac_expected(check, maclen, want)) != SK_OK)
			goto out;
		if (!sk_ct_equal(mac, want, maclen)) {
			rc = sk_err(SK_EVERIFY, "MAC does not match");
		} else if (!ctx->quiet && !ctx->json) {
			printf("MAC OK\n");
		}
		if (ctx->json) {
			struct sk_json j;

			sk_json_init(&j, stdout);
			sk_json_obj(&j);
			sk_json_kstr(&j, "algorithm", alg);
			sk_json_kbool(&j, "verified", rc == SK_OK);
			sk_json_end_obj(&j);
			sk_json_done(&j);
		}
		goto out;
	}
	rc = print_hex_or_write(ctx, sk_opt_str(a, OPT_out), mac, maclen, "mac", alg);
out:
	OPENSSL_cleanse(want, sizeof(want));
	sk_key_close(k);
	return rc;
}

static const struct sk_verbopt digest_opts[] = {
	{ OPT_alg, "sha256 (default), sha384, sha512, sha224, sha1, sha3-*, md5 (with --insecure)", .md = SK_MD_HASH },
	{ OPT_in, "data ('-': stdin; default)" },
	{ OPT_out, "write the digest in binary here (default: hex on stdout)" },
	{ OPT_insecure, "allow md5" },
};

static int key_digest(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *in = sk_opt_str(a, OPT_in);
	uint8_t d[EVP_MAX_MD_SIZE];
	const EVP_MD *md;
	size_t n;
	int rc;

	if ((rc = sk_opt_md(ctx, a, OPT_alg, &md)) != SK_OK || (rc = binary_out(a)) != SK_OK)
		return rc;
	if ((rc = sk_digest_file(in ? in : "-", md, d, &n, NULL)) != SK_OK)
		return rc;
	return print_hex_or_write(ctx, sk_opt_str(a, OPT_out), d, n, "digest", sk_md_name(md));
}

static const struct sk_verbopt random_opts[] = {
	{ OPT_out, "write the bytes here, file mode 0600 ('-': raw to stdout; default: hex on stdout)" },
};

#define RANDOM_MAX (64u << 20)

static int key_random(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *outpath = sk_opt_str(a, OPT_out);
	uint64_t n;
	uint8_t *p;
	int rc;

	if (sk_parse_uint(a->pos[0], RANDOM_MAX, &n) != 0)
		return sk_usage_error("N must be a number of bytes from 0 to %u", RANDOM_MAX);
	if ((rc = binary_out(a)) != SK_OK)
		return rc;
	if ((p = malloc(n ? n : 1)) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	if ((rc = sk_key_random(ctx, p, n)) == SK_OK) {
		if (outpath != NULL) {
			rc = sk_write_file(outpath, p, n, 0600);
			if (rc == SK_OK && ctx->json) {
				struct sk_json j;

				sk_json_init(&j, stdout);
				sk_json_obj(&j);
				sk_json_kuint(&j, "size", n);
				sk_json_kstr(&j, "path", outpath);
				sk_json_end_obj(&j);
				sk_json_done(&j);
			}
		} else {
			char *hex = malloc(2 * n + 1);

			if (hex == NULL) {
				rc = sk_err(SK_EFAIL, "out of memory");
			} else {
				sk_hex(hex, p, n);
				if (ctx->json) {
					struct sk_json j;

					sk_json_init(&j, stdout);
					sk_json_obj(&j);
					sk_json_kuint(&j, "size", n);
					sk_json_kstr(&j, "random", hex);
					sk_json_end_obj(&j);
					sk_json_done(&j);
				} else {
					printf("%s\n", hex);
				}
				OPENSSL_cleanse(hex, 2 * n + 1);
				free(hex);
			}
		}
	}
	OPENSSL_clear_free(p, n ? n : 1);
	return rc;
}

static const struct sk_verbopt derive_opts[] = {
	{ OPT_peer, "the peer's public key (PEM or DER)", .required = 1 },
	{ OPT_out, "shared secret output, file mode 0600 (default and '-': stdout, not a terminal)" },
	O_PASS,
};

static int key_derive(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_buf secret = { 0 };
	struct sk_key *k = NULL;
	EVP_PKEY *peer = NULL;
	const char *out;
	int rc;

	if ((rc = sk_opt_out(a, SK_OUT_BINARY, &out)) != SK_OK ||
	    (rc = sk_pkey_load(sk_opt_str(a, OPT_peer), NULL, 0, &peer)) != SK_OK)
		return rc;
	if ((rc = sk_key_open(ctx, a->pos[0], sk_opt_str(a, OPT_pass), &k)) != SK_OK)
		goto out;
	if ((rc = sk_key_derive(k, peer, &secret)) != SK_OK)
		goto out;
	rc = sk_write_file(out, secret.p, secret.len, 0600);
out:
	sk_buf_cleanse_free(&secret);
	EVP_PKEY_free(peer);
	sk_key_close(k);
	return rc;
}

static const struct sk_verb verbs[] = {
	SK_VERB("create", key_create, "generate a key in the backend",
		.synopsis = "NAME", SK_POS(1, 1), SK_OPTIONS(create_opts)),
	SK_VERB("import", key_import, "import a key from a file",
		.synopsis = "NAME", SK_POS(1, 1), SK_OPTIONS(import_opts)),
	SK_VERB("export", key_export, "export the public (or, if exportable, private) key",
		.synopsis = "NAME", SK_POS(1, 1), SK_OPTIONS(export_opts), .complete = SK_C_KEY),
	SK_VERB("list", key_list, "list keys", SK_OPTIONS(list_opts)),
	SK_VERB("info", key_info, "show a key's attributes",
		.synopsis = "NAME", SK_POS(1, 1), .complete = SK_C_KEY),
	SK_VERB("delete", key_delete, "delete a key",
		.synopsis = "NAME", SK_POS(1, 1), SK_OPTIONS(delete_opts), .complete = SK_C_KEY),
	SK_VERB("handles", key_handles, "list the TPM's persistent handles"),
	SK_VERB("evict", key_evict, "remove a persistent handle from the TPM",
		.synopsis = "HANDLE", SK_POS(1, 1), SK_OPTIONS(evict_opts)),
	SK_VERB("password", NULL, "manage password objects",
		.synopsis = "VERB", SK_SUBVERBS(password_verbs)),
	SK_VERB("sign", key_sign, "sign a file's digest",
		.synopsis = "NAME", SK_POS(1, 1), SK_OPTIONS(sign_opts), .complete = SK_C_KEY),
	SK_VERB("verify", key_verify, "verify a signature",
		.synopsis = "[NAME]", SK_POS(0, 1), SK_OPTIONS(verify_opts), .complete = SK_C_KEY),
	SK_VERB("encrypt", key_encrypt, "encrypt with an AES or RSA key",
		.synopsis = "NAME", SK_POS(1, 1), SK_OPTIONS(crypt_opts), .complete = SK_C_KEY),
	SK_VERB("decrypt", key_decrypt, "decrypt with an AES or RSA key",
		.synopsis = "NAME", SK_POS(1, 1), SK_OPTIONS(crypt_opts), .complete = SK_C_KEY),
	SK_VERB("mac", key_mac, "HMAC (HMAC keys) or CMAC (AES keys) of a file",
		.synopsis = "NAME", SK_POS(1, 1), SK_OPTIONS(mac_opts), .complete = SK_C_KEY),
	SK_VERB("digest", key_digest, "hash a file", SK_OPTIONS(digest_opts)),
	SK_VERB("random", key_random, "N random bytes",
		.synopsis = "N", SK_POS(1, 1), SK_OPTIONS(random_opts)),
	SK_VERB("derive", key_derive, "ECDH shared secret with a peer public key",
		.synopsis = "NAME", SK_POS(1, 1), SK_OPTIONS(derive_opts), .complete = SK_C_KEY),
};

const struct sk_command sk_cmd_key = {
	.name = "key",
	.summary = "named keys, password objects and the crypto done with them",
	SK_VERBS(verbs),
};
