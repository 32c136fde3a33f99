/* SPDX-License-Identifier: MIT */
/* seckit opaque-key: keys sent to one device, encrypted to it and signed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/crypto.h"
#include "format/ecies.h"
#include "base/err.h"
#include "base/fileio.h"
#include "keys/keys.h"
#include "format/okey.h"
#include "format/oo.h"
#include "format/pkg.h"
#include "ctx/secret.h"
#include "fleet.h"
#include "json.h"
#include "opt.h"

#define PKG_MAX (1u << 20)

/* ---- make ---- */

static const struct sk_verbopt make_opts[] = {
	{ OPT_name, "the name the key gets on the device", .required = 1 },
	{ OPT_type, "key type: " SK_KEYTYPE_NAMES, .required = 1 },
	{ OPT_key_file, "the key: EC/RSA private key (PEM or DER), or raw AES/HMAC bytes (a fleet: the same for every device)" },
	{ OPT_key_pass, "passphrase of an encrypted PEM key" },
	{ OPT_generate, "a fleet: a new key pair of --type for each device, its public key in the --manifest (instead of --key)" },
	{ OPT_sign_key, "OEM signing key: a private key file (PEM or DER), or seckit:NAME (a store key)", .required = 1 },
	{ OPT_sign_pass, "passphrase of an encrypted signing key, or the secret of the store key's password object" },
	{ OPT_digest, "signature digest: sha256 (default), sha384, sha512" },
	{ OPT_pss, "RSA-PSS signature (RSA signing keys)" },
	{ OPT_device_pub, "one device: its EC public key (PEM or DER)" },
	{ OPT_out, "one device: the package (default and '-': stdout, not a terminal)" },
	{ OPT_devices, "a fleet: YAML list of devices (seckit-oo(1) FLEET FILES)" },
	{ OPT_out_dir, "a fleet: write DIR/<id>.okp (created if missing)" },
	{ OPT_out_archive, "a fleet: one tar archive of <id>.okp entries, written as devices finish ('-': stdout)" },
	{ OPT_resume, "a fleet: continue FILE.part (or FILE) of --out-archive, skipping the devices in it" },
	{ OPT_manifest, "a fleet: one JSON line per device (its package's SHA-256 and, with --generate, its public key; or its error) ('-': stdout)" },
	{ OPT_jobs, "a fleet: worker threads (default: all cores)" },
	{ OPT_shard, "a fleet: do only shard K of N (device i is in shard i mod N + 1); auto: from the job runner" },
	{ OPT_keep_going, "a fleet: report and skip bad device entries (exit status still 3)" },
	{ OPT_cipher, "aes-256-ctr (default), aes-256-cbc, aes-256-gcm" },
	{ OPT_mac, "hmac-sha256 (default), hmac-sha384, hmac-sha512" },
	{ OPT_kdf, "hkdf-sha256 (default), hkdf-sha384, x963-sha256, x963-sha384" },
};

/* The key to send, from --key FILE: req->key (EC, RSA) or req->raw (AES,
 * HMAC: the bytes stay in keyb, which the caller cleanses). */
static int read_key(const struct sk_args *a, struct sk_okey_make_req *req, struct sk_buf *keyb)
{
	const char *keyfile = sk_opt_str(a, OPT_key_file), *kpspec = sk_opt_str(a, OPT_key_pass);
	struct sk_secret kpass = { 0 };
	const struct sk_keytype *kt;
	int is_private = 0, rc;

	if ((rc = sk_read_file(keyfile, 1u << 20, keyb)) != SK_OK)
		return rc;
	if (!sk_keytype_is_asym(req->type)) {
		if (kpspec != NULL)
			return sk_usage_error("--key-pass applies to PEM keys, not raw %s keys", req->type->name);
		if (keyb->len != sk_keytype_raw_len(req->type))
			return sk_err(SK_EFAIL, "'%s': a %s key is %zu raw bytes, the file has %zu", keyfile,
				      req->type->name, sk_keytype_raw_len(req->type), keyb->len);
		req->raw = keyb->p;
		req->rawlen = keyb->len;
		return SK_OK;
	}
	if (kpspec != NULL && (rc = sk_secret_get(kpspec, "passphrase of the key", 0, &kpass)) != SK_OK)
		return rc;
	rc = sk_pkey_parse(keyb->p, keyb->len, kpass.p, 1, &req->key, &is_private);
	sk_secret_free(&kpass);
	if (rc != SK_OK)
		return sk_err_wrap(rc, "reading '%s'", keyfile);
	if ((kt = sk_keytype_of_pkey(req->key)) == NULL)
		return sk_err_wrap(SK_EUNSUPP, "'%s'", keyfile);
	if (kt != req->type)
		return sk_usage_error("'%s' holds a %s key, not %s", keyfile, kt->name, req->type->name);
	return SK_OK;
}

/* One device, --device-pub FILE. */
static int make_one(struct sk_okey_make_req *req, const char *devpub, const char *outpath)
{
	struct sk_buf devb = { 0 }, out = { 0 };
	uint8_t devid[32];
	int rc;

	if ((rc = sk_read_file(devpub, 1u << 20, &devb)) != SK_OK)
		goto out;
	if ((rc = sk_ecies_sender_new(&req->alg, &req->sender)) != SK_OK)
		goto out;
	if ((rc = sk_ecies_parse_pub(req->sender, devb.p, devb.len, &req->device_pub, devid)) != SK_OK) {
		sk_err_wrap(rc, "device key '%s'", devpub);
		goto out;
	}
	req->device_id = devid;
	if ((rc = sk_okey_make(req, &out)) == SK_OK)
		rc = sk_write_file(outpath, out.p, out.len, 0666);
out:
	EVP_PKEY_free(req->device_pub);
	req->device_pub = NULL;
	sk_ecies_sender_free(req->sender);
	req->sender = NULL;
	sk_buf_free(&devb);
	sk_buf_free(&out);
	return rc;
}

/* A fleet: what every package of the run shares. */
struct make_run {
	const struct sk_okey_make_req *req; /* the key (unless generate), alg, signer */
	int generate;
	struct sk_cmd_fleet fleet;
};

struct make_worker {
	struct make_run *run;
	struct sk_okey_make_req req;  /* this thread's: its sender and signer */
	struct sk_signer signer;
	struct sk_buf key, out, extra;
	struct sk_buf plain;          /* the key's envelope plaintext (one key for all) */
	EVP_PKEY_CTX *gen;            /* --generate: kept between keys, */
	struct sk_keyenc enc;         /* and their encoder */
	char *path;
	size_t pathcap;
};

static void make_worker_free(void *state)
{
	struct make_worker *w = state;

	sk_ecies_sender_free(w->req.sender);
	sk_signer_worker_free(&w->signer);
	sk_buf_cleanse_free(&w->plain);
	EVP_PKEY_CTX_free(w->gen);
	sk_keyenc_free(&w->enc);
	sk_buf_free(&w->key);
	sk_buf_free(&w->out);
	sk_buf_free(&w->extra);
	free(w->path);
	free(w);
}

static int make_worker_init(void *arg, void **state)
{
	struct make_run *run = arg;
	struct make_worker *w = calloc(1, sizeof(*w));
	int rc;

	if (w == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	w->run = run;
	w->req = *run->req;
	w->req.sender = NULL;
	if ((rc = sk_signer_worker_copy(run->req->signer, &w->signer)) != SK_OK) {
		free(w);
		return rc;
	}
	w->req.signer = &w->signer;
	/* one key for all: its plaintext is made once */
	w->req.plain = run->generate ? NULL : &w->plain;
	w->req.enc = run->generate ? &w->enc : NULL;
	w->pathcap = (run->fleet.out_dir ? strlen(run->fleet.out_dir) : 0) + SK_FLEET_ID_MAX + 8;
	if ((rc = sk_ecies_sender_new(&w->req.alg, &w->req.sender)) != SK_OK ||
	    (w->path = malloc(w->pathcap)) == NULL) {
		make_worker_free(w);
		return rc != SK_OK ? rc : sk_err(SK_EFAIL, "out of memory");
	}
	*state = w;
	return SK_OK;
}

/* "public_key": the SubjectPublicKeyInfo of a generated key, base64
 * (after its package: the point is read once, keyenc.h). */
static int public_member(struct make_worker *w, EVP_PKEY *key)
{
	struct sk_buf der = { 0 };
	int rc, n;

	if ((rc = sk_keyenc_spki(&w->enc, key, &der)) != SK_OK)
		return rc;
	w->extra.len = 0;
	if (sk_buf_reserve(&w->extra, 16 + 4 * (der.len + 2) / 3 + 2) != SK_OK) {
		sk_buf_free(&der);
		return sk_err(SK_EFAIL, "out of memory");
	}
	memcpy(w->extra.p, "\"public_key\":\"", 14);
	n = EVP_EncodeBlock(w->extra.p + 14, der.p, (int)der.len);
	sk_buf_free(&der);
	memcpy(w->extra.p + 14 + n, "\"", 2); /* with its NUL */
	return SK_OK;
}

static int make_work(void *state, const struct sk_fleet_dev *d)
{
	struct make_worker *w = state;
	struct make_run *run = w->run;
	EVP_PKEY *gen = NULL;
	uint8_t devid[32];
	int rc;

	w->out.len = 0;
	if ((rc = sk_cmd_fleet_dev_pub(d, w->req.sender, &w->key, &w->req.device_pub, devid)) != SK_OK)
		return rc;
	w->req.device_id = devid;
	/* a generated private key lives only in this EVP_PKEY (freed
	 * cleansed) and the package's encrypted content */
	if (run->generate && (rc = sk_keytype_generate_ctx(w->req.type, &w->gen, &gen)) == SK_OK)
		w->req.key = gen;
	if (rc == SK_OK)
		rc = sk_okey_make(&w->req, &w->out);
	if (rc == SK_OK && gen != NULL)
		rc = public_member(w, gen);
	if (gen != NULL) {
		EVP_PKEY_free(gen);
		w->req.key = NULL;
	}
	EVP_PKEY_free(w->req.device_pub);
	w->req.device_pub = NULL;
	if (rc != SK_OK)
		return sk_err_wrap(rc, "device '%s'", d->id);
	return sk_fleet_out_put(run->fleet.out, d->id, w->out.p, w->out.len,
				gen != NULL ? (const char *)w->extra.p : NULL, w->path, w->pathcap);
}

static int make_fleet(struct sk_ctx *ctx, const struct sk_args *a, const struct sk_okey_make_req *req)
{
	struct make_run run;

	memset(&run, 0, sizeof(run));
	run.req = req;
	run.generate = sk_opt_flag(a, OPT_generate);
	run.fleet.ctx = ctx;
	run.fleet.what = "package";
	run.fleet.suffix = ".okp";
	run.fleet.mode = 0666; /* encrypted to their device, signed */
	run.fleet.manifest_extra = run.generate;
	run.fleet.arg = &run;
	run.fleet.worker_init = make_worker_init;
	run.fleet.worker_free = make_worker_free;
	run.fleet.work = make_work;
	return sk_cmd_fleet_run(&run.fleet, a);
}

static int okey_make(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *devpub = sk_opt_str(a, OPT_device_pub), *devices = sk_opt_str(a, OPT_devices);
	const char *manifest = sk_opt_str(a, OPT_manifest), *outpath = NULL;
	int generate = sk_opt_flag(a, OPT_generate);
	const struct sk_policy *pol;
	struct sk_okey_make_req req;
	struct sk_signer signer;
	struct sk_buf keyb = { 0 };
	const EVP_MD *md;
	int rc;

	memset(&req, 0, sizeof(req));
	memset(&signer, 0, sizeof(signer));
	req.name = sk_opt_str(a, OPT_name);
	if (!sk_name_valid(req.name))
		return sk_usage_error("'%s' is not a valid key name (letters, digits, '.', '_', '@', '+', '-')",
				      req.name);
	req.type = sk_keytype_by_name(sk_opt_str(a, OPT_type));
	if ((devpub == NULL) == (devices == NULL))
		return sk_usage_error("give --device-pub FILE (one device) or --devices FLEET (a fleet)");
	if ((rc = sk_cmd_fleet_check(ctx, a, devices != NULL)) != SK_OK)
		return rc;
	if (generate && devices == NULL)
		return sk_usage_error("--generate goes with --devices (one device: give --key FILE)");
	if (generate == (sk_opt_str(a, OPT_key_file) != NULL))
		return sk_usage_error("give --key FILE (one key for every device) or --generate (one per device)");
	if (generate && sk_opt_str(a, OPT_key_pass) != NULL)
		return sk_usage_error("--key-pass goes with --key FILE, not --generate");
	if (generate && !sk_keytype_is_asym(req.type))
		return sk_usage_error("--generate makes key pairs (ec-*, rsa-*): a generated %s key would be known to the device alone",
				      req.type->name);
	if (generate && manifest == NULL)
		return sk_usage_error("--generate needs --manifest FILE|-: the public keys are listed there");
	if (generate && sk_opt_flag(a, OPT_resume) && strcmp(manifest, "-") == 0)
		return sk_usage_error("--generate --resume needs the --manifest FILE of the run it continues, not '-'");
	if ((devpub != NULL && (rc = sk_opt_out(a, SK_OUT_BINARY, &outpath)) != SK_OK) ||
	    (rc = sk_ctx_policy(ctx, &pol)) != SK_OK ||
	    (rc = sk_ecies_alg_for(pol, sk_opt_str(a, OPT_kdf), sk_opt_str(a, OPT_cipher),
				   sk_opt_str(a, OPT_mac), &req.alg)) != SK_OK)
		return rc;
	/* the key to send (one for all), then the OEM's signing key */
	if (!generate && (rc = read_key(a, &req, &keyb)) != SK_OK)
		goto out;
	if ((rc = sk_opt_md(ctx, a, OPT_digest, &md)) != SK_OK ||
	    (rc = sk_opt_signer(ctx, a, OPT_sign_pass, md, &signer)) != SK_OK)
		goto out;
	req.signer = &signer;
	if (devpub != NULL)
		rc = make_one(&req, devpub, outpath);
	else
		rc = make_fleet(ctx, a, &req);
out:
	EVP_PKEY_free(req.key);
	sk_signer_free(&signer);
	sk_buf_cleanse_free(&keyb);
	return rc;
}

/* ---- show ---- */

static int okey_show(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_okey_desc d;
	struct sk_buf der = { 0 };
	int rc;

	if ((rc = sk_read_file(a->pos[0], PKG_MAX, &der)) != SK_OK)
		return rc;
	rc = sk_okey_describe(der.p, der.len, &d);
	sk_buf_free(&der);
	if (rc != SK_OK)
		return sk_err_wrap(rc, "%s", sk_path_name(a->pos[0]));
	if (ctx->json) {
		struct sk_json j;

		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kstr(&j, "path", a->pos[0]);
		sk_json_kstr(&j, "type", "opaque-key");
		sk_json_kint(&j, "version", d.version);
		sk_json_kstr(&j, "device", d.device);
		sk_json_signer(&j, NULL, d.signer);
		sk_json_kstr(&j, "signature_algorithm", d.sigalg);
		sk_json_kstr(&j, "curve", d.curve);
		sk_json_kstr(&j, "kdf", sk_ecies_kdf_name(d.alg.kdf));
		sk_json_kstr(&j, "cipher", sk_ecies_cipher_name(d.alg.cipher));
		sk_json_kstr(&j, "mac", sk_ecies_mac_name(d.alg.mac));
		sk_json_end_obj(&j);
		sk_json_done(&j);
		return SK_OK;
	}
	printf("type:       opaque-key\n");
	printf("version:    %ld\n", d.version);
	printf("device:     sha256:%s\n", d.device);
	printf("signer:     %s%s\n", d.signer[0] ? "sha256:" : "-", d.signer);
	printf("signature:  %s\n", d.sigalg);
	printf("ecies:      %s, %s, %s, %s\n", d.curve, sk_ecies_kdf_name(d.alg.kdf),
	       sk_ecies_cipher_name(d.alg.cipher), sk_ecies_mac_name(d.alg.mac));
	printf("key:        (name, type and key are encrypted to the device)\n");
	return SK_OK;
}

/* ---- import ---- */

static const struct sk_verbopt import_opts[] = {
	{ OPT_device_key, "the device key (default: the device-key role, 'device')" },
	{ OPT_device_pass, "secret of the device key's password object" },
	{ OPT_verify_key, "verify with this key (default: the oem-root role, 'oem-root')" },
	{ OPT_password_object, "bind the imported key to this password object" },
	{ OPT_pass, "secret of that password object" },
};

static int okey_import(struct sk_ctx *ctx, const struct sk_args *a)
{
	const struct sk_policy *pol;
	struct sk_okey_import_req req;
	const struct sk_keytype *kt = NULL;
	char name[256];
	int rc;

	memset(&req, 0, sizeof(req));
	req.path = a->pos[0];
	req.device_key = sk_opt_str(a, OPT_device_key);
	req.device_pass = sk_opt_str(a, OPT_device_pass);
	req.verify_key = sk_opt_str(a, OPT_verify_key);
	req.pwobj = sk_opt_str(a, OPT_password_object);
	req.pass_spec = sk_opt_str(a, OPT_pass);
	if (req.pass_spec != NULL && req.pwobj == NULL)
		return sk_usage_error("--pass needs --password-object");
	if ((rc = sk_ctx_policy(ctx, &pol)) != SK_OK)
		return rc;
	if (req.device_key == NULL)
		req.device_key = pol->role[SK_ROLE_DEVICE_KEY];
	if (req.verify_key == NULL)
		req.verify_key = pol->role[SK_ROLE_OEM_ROOT];
	rc = sk_okey_import(ctx, &req, name, &kt);
	if (rc == SK_ENOTFOUND)
		sk_role_hint(req.missing);
	/* A document when imported and when a check refused it (exit 7):
	 * "key" is the key that verified the package, "name" the new key. */
	if (ctx->json && (rc == SK_OK || rc == SK_EVERIFY)) {
		struct sk_json j;

		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kbool(&j, "verified", rc == SK_OK);
		sk_json_kstr(&j, "path", req.path);
		sk_json_kstr(&j, "key", req.verify_key);
		sk_json_kstr(&j, "device_key", req.device_key);
		sk_json_kstr(&j, "name", rc == SK_OK ? name : NULL);
		sk_json_kstr(&j, "type", rc == SK_OK ? kt->name : NULL);
		sk_json_kstr(&j, "origin", "opaque-key");
		sk_json_kstr(&j, "password_object", req.pwobj);
		sk_json_end_obj(&j);
		sk_json_done(&j);
	}
	if (rc != SK_OK)
		return rc;
	if (!ctx->json && !ctx->quiet) {
		printf("%s\n", name);
	}
	return SK_OK;
}

static const struct sk_verb verbs[] = {
	SK_VERB("make", okey_make, "package a key for one device or a fleet (off-device)", SK_OPTIONS(make_opts)),
	SK_VERB("show", okey_show, "show a package's clear header",
		.synopsis = "FILE", SK_POS(1, 1), .complete = SK_C_FILE),
	SK_VERB("import", okey_import, "verify a package and store its key (on the device)",
		.synopsis = "FILE", SK_POS(1, 1), SK_OPTIONS(import_opts), .complete = SK_C_FILE),
};

const struct sk_command sk_cmd_opaque_key = {
	.name = "opaque-key",
	.summary = "opaque key packages: keys sent encrypted to one device",
	SK_VERBS(verbs),
};
