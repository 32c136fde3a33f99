/* SPDX-License-Identifier: MIT */
/* seckit oo: opaque objects, their identifiers (OOIDs) for one device or a fleet. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "format/ecies.h"
#include "base/err.h"
#include "base/fileio.h"
#include "format/oo.h"
#include "format/pkg.h"
#include "fleet.h"
#include "json.h"
#include "opt.h"

#define PKG_MAX (1u << 20)

/* PATH with its suffix `from` replaced by `to` (or `to` appended). */
static char *swap_suffix(const char *path, const char *from, const char *to)
{
	size_t n = strlen(path), f = strlen(from);
	char *s;

	if (n > f && strcmp(path + n - f, from) == 0)
		n -= f;
	if ((s = malloc(n + strlen(to) + 1)) == NULL)
		return NULL;
	memcpy(s, path, n);
	strcpy(s + n, to);
	return s;
}

/* ---- make ---- */

static const struct sk_verbopt make_opts[] = {
	{ OPT_in, "the file to turn into an opaque object ('-': stdin)", .required = 1 },
	{ OPT_out, "the opaque object (default: IN.enc; '-': stdout)" },
	{ OPT_info, "the OOInfo file, SECRET, mode 0600 (default: IN.oocfg)", .output = 1 },
	{ OPT_oo_cipher, "aes-256-ctr (default) or aes-256-gcm" },
	{ OPT_not_before, "devices refuse to open it before TIME (YYYY-MM-DD[THH:MM:SSZ])" },
	{ OPT_not_after, "devices refuse to open it after TIME" },
};

static int oo_make(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *in = sk_opt_str(a, OPT_in), *cipher = sk_opt_str(a, OPT_oo_cipher);
	char *out = NULL, *info_path = NULL, oid[2 * SK_OO_ID_LEN + 1], dg[65];
	struct sk_ecies_alg alg;
	struct sk_ooinfo info, pol;
	int rc;

	memset(&pol, 0, sizeof(pol));
	sk_ecies_alg_default(&alg);
	if (cipher != NULL && (rc = sk_ecies_alg_set(&alg, NULL, cipher, NULL)) != SK_OK)
		return sk_usage_error("%s", sk_err_msg());
	if (alg.cipher == SK_ECIES_AES256_CBC)
		return sk_usage_error("opaque objects are aes-256-ctr or aes-256-gcm");
	pol.has_not_before = sk_opt_time(a, OPT_not_before, &pol.not_before);
	pol.has_not_after = sk_opt_time(a, OPT_not_after, &pol.not_after);
	if (pol.has_not_before && pol.has_not_after && pol.not_after < pol.not_before)
		return sk_usage_error("--not-after is before --not-before");
	if (strcmp(in, "-") == 0 && (sk_opt_str(a, OPT_out) == NULL || sk_opt_str(a, OPT_info) == NULL))
		return sk_usage_error("with --in -, give --out and --info");
	out = sk_opt_str(a, OPT_out) ? strdup(sk_opt_str(a, OPT_out)) : swap_suffix(in, "", ".enc");
	info_path = sk_opt_str(a, OPT_info) ? strdup(sk_opt_str(a, OPT_info)) : swap_suffix(in, "", ".oocfg");
	if (out == NULL || info_path == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto out;
	}
	if (strcmp(info_path, "-") == 0) {
		rc = sk_usage_error("the OOInfo holds a key: write it to a file (--info FILE), not stdout");
		goto out;
	}
	if (strcmp(out, info_path) == 0) {
		rc = sk_usage_error("--out and --info name the same file");
		goto out;
	}
	if ((rc = sk_oo_make(in, out, alg.cipher, ctx->tmpdir, &info)) != SK_OK)
		goto out;
	info.has_not_before = pol.has_not_before;
	info.not_before = pol.not_before;
	info.has_not_after = pol.has_not_after;
	info.not_after = pol.not_after;
	rc = sk_ooinfo_write(info_path, &info, strcmp(out, "-") ? out : NULL);
	if (rc != SK_OK) {
		/* no object without the info that opens it */
		if (strcmp(out, "-") != 0)
			unlink(out);
		goto out;
	}
	sk_hex(oid, info.object_id, SK_OO_ID_LEN);
	sk_hex(dg, info.sha256, 32);
	if (ctx->json) {
		struct sk_json j;

		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kstr(&j, "path", strcmp(out, "-") ? out : NULL);
		sk_json_kstr(&j, "object", strcmp(out, "-") ? out : NULL);
		sk_json_kstr(&j, "info", info_path);
		sk_json_kstr(&j, "object_id", oid);
		sk_json_kstr(&j, "cipher", sk_ecies_cipher_name(info.cipher));
		sk_json_kuint(&j, "size", info.size);
		sk_json_kstr(&j, "sha256", dg);
		if (info.has_not_before)
			sk_json_ktime(&j, "not_before", info.not_before);
		if (info.has_not_after)
			sk_json_ktime(&j, "not_after", info.not_after);
		sk_json_end_obj(&j);
		sk_json_done(&j);
	} else if (ctx->verbose) {
		fprintf(stderr, "opaque object %s: %" PRIu64 " bytes, %s; OOInfo (secret) in %s\n", oid,
			info.size, sk_ecies_cipher_name(info.cipher), info_path);
	}
out:
	sk_ooinfo_cleanse(&info);
	free(out);
	free(info_path);
	return rc;
}

/* ---- id ---- */

static const struct sk_verbopt id_opts[] = {
	{ OPT_info, "the OOInfo file from `seckit oo make`", .required = 1 },
	{ OPT_sign_key, "OEM signing key: a private key file (PEM or DER), or seckit:NAME" },
	{ OPT_key_name, "OEM signing key: a key of the store (any backend), instead of --sign-key" },
	{ OPT_sign_pass, "passphrase of an encrypted --sign-key, or the secret of the key's password object" },
	{ OPT_digest, "signature digest: sha256 (default), sha384, sha512" },
	{ OPT_pss, "RSA-PSS signature (RSA signing keys)" },
	{ OPT_device_pub, "one device: its EC public key (PEM or DER)" },
	{ OPT_out, "one device: the OOID (default: INFO with .oid for .oocfg)" },
	{ OPT_devices, "a fleet: YAML list of devices (see FLEET FILES)" },
	{ OPT_out_dir, "a fleet: write DIR/<id>.oid (created if missing)" },
	{ OPT_out_archive, "a fleet: one tar archive of <id>.oid entries, written as devices finish ('-': stdout)" },
	{ OPT_resume, "a fleet: continue FILE.part (or FILE) of --out-archive, skipping the devices in it" },
	{ OPT_manifest, "a fleet: one JSON line per device (its OOID's SHA-256, or its error) ('-': stdout)" },
	{ OPT_jobs, "a fleet: worker threads (default: all cores)" },
	{ OPT_shard, "a fleet: do only shard K of N (device i is in shard i mod N + 1); auto: from the job runner" },
	{ OPT_keep_going, "a fleet: report and skip bad device entries (exit status still 3)" },
	{ OPT_cipher, "ECIES cipher: aes-256-ctr (default), aes-256-cbc, aes-256-gcm" },
	{ OPT_mac, "ECIES MAC: hmac-sha256 (default), hmac-sha384, hmac-sha512" },
	{ OPT_kdf, "ECIES KDF: hkdf-sha256 (default), hkdf-sha384, x963-sha256, x963-sha384" },
};

/* What every OOID of one run shares. */
struct id_run {
	struct sk_ctx *ctx;
	struct sk_signer signer;
	struct sk_ecies_alg alg;
	struct sk_buf info_der;   /* secret */
	uint8_t object_id[SK_OO_ID_LEN];
	struct sk_cmd_fleet fleet;
};

struct id_worker {
	struct id_run *run;
	struct sk_ecies_sender *sender;
	struct sk_signer signer; /* this thread's copy of run->signer */
	struct sk_buf key, der;
	char *path;
	size_t pathcap;
};

static int id_worker_init(void *arg, void **state)
{
	struct id_run *run = arg;
	struct id_worker *w = calloc(1, sizeof(*w));
	int rc;

	if (w == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	w->run = run;
	if ((rc = sk_ecies_sender_new(&run->alg, &w->sender)) != SK_OK) {
		free(w);
		return rc;
	}
	if ((rc = sk_signer_worker_copy(&run->signer, &w->signer)) != SK_OK) {
		sk_ecies_sender_free(w->sender);
		free(w);
		return rc;
	}
	w->pathcap = (run->fleet.out_dir ? strlen(run->fleet.out_dir) : 0) + SK_FLEET_ID_MAX + 8;
	if ((w->path = malloc(w->pathcap)) == NULL) {
		sk_signer_worker_free(&w->signer);
		sk_ecies_sender_free(w->sender);
		free(w);
		return sk_err(SK_EFAIL, "out of memory");
	}
	*state = w;
	return SK_OK;
}

static void id_worker_free(void *state)
{
	struct id_worker *w = state;

	sk_ecies_sender_free(w->sender);
	sk_signer_worker_free(&w->signer);
	sk_buf_free(&w->key);
	sk_buf_free(&w->der);
	free(w->path);
	free(w);
}

static int id_work(void *state, const struct sk_fleet_dev *d)
{
	struct id_worker *w = state;
	struct id_run *run = w->run;
	uint8_t devid[32];
	EVP_PKEY *pub = NULL;
	int rc;

	w->der.len = 0;
	if ((rc = sk_cmd_fleet_dev_pub(d, w->sender, &w->key, &pub, devid)) != SK_OK)
		return rc;
	rc = sk_ooid_make(w->sender, &w->signer, run->info_der.p, run->info_der.len,
			  run->object_id, pub, devid, &w->der);
	EVP_PKEY_free(pub);
	if (rc != SK_OK)
		return sk_err_wrap(rc, "device '%s'", d->id);
	/* A directory: one sync for the whole batch at the end (sk_syncfs)
	 * instead of two fsyncs per file; the file only gets its name once
	 * whole.  An archive: one write of the whole entry. */
	return sk_fleet_out_put(run->fleet.out, d->id, w->der.p, w->der.len, NULL, w->path,
				w->pathcap);
}

static int id_one(struct id_run *run, const char *pubfile, const char *out)
{
	struct sk_ecies_sender *s = NULL;
	struct sk_buf key = { 0 }, der = { 0 };
	uint8_t devid[32];
	EVP_PKEY *pub = NULL;
	int rc;

	if ((rc = sk_read_file(pubfile, 1u << 20, &key)) != SK_OK)
		return rc;
	if ((rc = sk_ecies_sender_new(&run->alg, &s)) != SK_OK)
		goto out;
	if ((rc = sk_ecies_parse_pub(s, key.p, key.len, &pub, devid)) != SK_OK) {
		sk_err_wrap(rc, "device key '%s'", pubfile);
		goto out;
	}
	if ((rc = sk_ooid_make(s, &run->signer, run->info_der.p, run->info_der.len, run->object_id,
			       pub, devid, &der)) != SK_OK)
		goto out;
	rc = sk_write_file(out, der.p, der.len, 0666);
	if (rc == SK_OK && run->ctx->json) {
		struct sk_json j;
		char hex[65];

		sk_hex(hex, devid, 32);
		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kstr(&j, "path", out);
		sk_json_kstr(&j, "ooid", out);
		sk_json_kstr(&j, "device", hex);
		sk_json_end_obj(&j);
		sk_json_done(&j);
	}
out:
	EVP_PKEY_free(pub);
	sk_ecies_sender_free(s);
	sk_buf_free(&key);
	sk_buf_free(&der);
	return rc;
}

static int oo_id(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *devpub = sk_opt_str(a, OPT_device_pub), *devices = sk_opt_str(a, OPT_devices);
	const char *info_path = sk_opt_str(a, OPT_info);
	const struct sk_policy *policy;
	struct id_run run;
	struct sk_ooinfo info;
	const EVP_MD *md;
	char *out = NULL;
	int rc;

	memset(&run, 0, sizeof(run));
	memset(&info, 0, sizeof(info));
	run.ctx = ctx;
	if ((devpub == NULL) == (devices == NULL))
		return sk_usage_error("give --device-pub FILE (one device) or --devices FLEET (a fleet)");
	if ((rc = sk_cmd_fleet_check(ctx, a, devices != NULL)) != SK_OK)
		return rc;
	if ((rc = sk_ctx_policy(ctx, &policy)) != SK_OK ||
	    (rc = sk_ecies_alg_for(policy, sk_opt_str(a, OPT_kdf), sk_opt_str(a, OPT_cipher),
				   sk_opt_str(a, OPT_mac), &run.alg)) != SK_OK)
		return rc;
	/* The OOInfo first: a bad one must not cost a passphrase prompt. */
	if ((rc = sk_ooinfo_read(info_path, &info)) != SK_OK ||
	    (rc = sk_ooinfo_encode(&info, &run.info_der)) != SK_OK)
		goto out;
	memcpy(run.object_id, info.object_id, SK_OO_ID_LEN);
	if ((rc = sk_opt_md(ctx, a, OPT_digest, &md)) != SK_OK ||
	    (rc = sk_opt_signer(ctx, a, OPT_sign_pass, md, &run.signer)) != SK_OK)
		goto out;
	if (devpub != NULL) {
		out = sk_opt_str(a, OPT_out) ? strdup(sk_opt_str(a, OPT_out))
					   : swap_suffix(info_path, ".oocfg", ".oid");
		if (out == NULL) {
			rc = sk_err(SK_EFAIL, "out of memory");
			goto out;
		}
		rc = id_one(&run, devpub, out);
	} else {
		run.fleet.ctx = ctx;
		run.fleet.what = "OOID";
		run.fleet.suffix = ".oid";
		run.fleet.mode = 0666; /* OOIDs are public: encrypted to their device, signed */
		run.fleet.arg = &run;
		run.fleet.worker_init = id_worker_init;
		run.fleet.worker_free = id_worker_free;
		run.fleet.work = id_work;
		rc = sk_cmd_fleet_run(&run.fleet, a);
	}
out:
	sk_ooinfo_cleanse(&info);
	sk_buf_cleanse_free(&run.info_der);
	sk_signer_free(&run.signer);
	free(out);
	return rc;
}

/* ---- open ---- */

static const struct sk_verbopt open_opts[] = {
	{ OPT_id, "the OOID for this device", .required = 1 },
	{ OPT_in, "the opaque object ('-': stdin)", .required = 1 },
	{ OPT_out, "the decrypted data, mode 0600 (default and '-': stdout, not a terminal), written only after every check" },
	{ OPT_device_key, "the device key (default: the device-key role, 'device')" },
	{ OPT_device_pass, "secret of the device key's password object" },
	{ OPT_verify_key, "verify with this key (default: the oem-root role, 'oem-root')" },
};

static int oo_open(struct sk_ctx *ctx, const struct sk_args *a)
{
	const struct sk_policy *pol;
	struct sk_oo_open_req req;
	struct sk_ooinfo info;
	int rc;

	memset(&req, 0, sizeof(req));
	memset(&info, 0, sizeof(info));
	if ((rc = sk_opt_out(a, SK_OUT_BINARY, &req.out)) != SK_OK ||
	    (rc = sk_ctx_policy(ctx, &pol)) != SK_OK)
		return rc;
	req.ooid = sk_opt_str(a, OPT_id);
	req.object = sk_opt_str(a, OPT_in);
	req.device_key = sk_opt_str(a, OPT_device_key);
	if (req.device_key == NULL)
		req.device_key = pol->role[SK_ROLE_DEVICE_KEY];
	req.device_pass = sk_opt_str(a, OPT_device_pass);
	req.verify_key = sk_opt_str(a, OPT_verify_key);
	if (req.verify_key == NULL)
		req.verify_key = pol->role[SK_ROLE_OEM_ROOT];
	req.tmpdir = ctx->tmpdir;
	req.now = (int64_t)time(NULL);
	rc = sk_oo_open(ctx, &req, &info);
	if (rc == SK_ENOTFOUND)
		sk_role_hint(req.missing);
	/* A document when opened and when a check refused it (exit 7). */
	if (ctx->json && (rc == SK_OK || rc == SK_EVERIFY)) {
		struct sk_json j;
		char oid[2 * SK_OO_ID_LEN + 1];

		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kbool(&j, "verified", rc == SK_OK);
		sk_json_kstr(&j, "path", req.object);
		sk_json_kstr(&j, "ooid", req.ooid);
		sk_json_kstr(&j, "key", req.verify_key);
		sk_json_kstr(&j, "device_key", req.device_key);
		sk_json_kstr(&j, "out", rc == SK_OK ? req.out : NULL);
		if (rc == SK_OK) {
			sk_hex(oid, info.object_id, SK_OO_ID_LEN);
			sk_json_kstr(&j, "object_id", oid);
			sk_json_kuint(&j, "size", info.size);
		}
		sk_json_end_obj(&j);
		sk_json_done(&j);
	}
	if (rc == SK_OK && ctx->verbose)
		fprintf(stderr, "opened: %" PRIu64 " bytes, SHA-256 and policies checked\n", info.size);
	sk_ooinfo_cleanse(&info);
	return rc;
}

/* ---- show ---- */

static int oo_show(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_oo_desc d;
	int rc;

	if ((rc = sk_oo_describe(a->pos[0], &d)) != SK_OK)
		return rc;
	if (ctx->json) {
		struct sk_json j;

		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_kstr(&j, "path", a->pos[0]);
		sk_json_kstr(&j, "type", d.type == SK_PKG_OOID ? "ooid" : "opaque-object");
		sk_json_kint(&j, "version", d.version);
		sk_json_kstr(&j, "object_id", d.object_id);
		if (d.type == SK_PKG_OOID) {
			sk_json_kstr(&j, "device", d.device);
			sk_json_signer(&j, NULL, d.signer);
			sk_json_kstr(&j, "signature_algorithm", d.sigalg);
			sk_json_kstr(&j, "curve", d.curve);
			sk_json_kstr(&j, "kdf", sk_ecies_kdf_name(d.alg.kdf));
			sk_json_kstr(&j, "cipher", sk_ecies_cipher_name(d.alg.cipher));
			sk_json_kstr(&j, "mac", sk_ecies_mac_name(d.alg.mac));
		} else {
			sk_json_kuint(&j, "content_length", d.content_len);
		}
		sk_json_end_obj(&j);
		sk_json_done(&j);
		return SK_OK;
	}
	printf("type:       %s\n", d.type == SK_PKG_OOID ? "ooid" : "opaque-object");
	printf("version:    %ld\n", d.version);
	printf("object id:  %s\n", d.object_id);
	if (d.type == SK_PKG_OOID) {
		printf("device:     sha256:%s\n", d.device);
		printf("signer:     %s%s\n", d.signer[0] ? "sha256:" : "-", d.signer);
		printf("signature:  %s\n", d.sigalg);
		printf("ecies:      %s, %s, %s, %s\n", d.curve, sk_ecies_kdf_name(d.alg.kdf),
		       sk_ecies_cipher_name(d.alg.cipher), sk_ecies_mac_name(d.alg.mac));
	} else {
		printf("content:    %" PRIu64 " bytes (encrypted)\n", d.content_len);
	}
	return SK_OK;
}

static const struct sk_verb verbs[] = {
	SK_VERB("make", oo_make, "encrypt a file into an opaque object and its OOInfo",
		SK_OPTIONS(make_opts)),
	SK_VERB("id", oo_id, "make the OOID of an object for one device or a fleet", SK_OPTIONS(id_opts)),
	SK_VERB("open", oo_open, "verify an OOID and decrypt its object (on the device)",
		SK_OPTIONS(open_opts)),
	SK_VERB("show", oo_show, "show the clear parts of an OOID or an opaque object",
		.synopsis = "FILE", SK_POS(1, 1), .complete = SK_C_FILE),
};

const struct sk_command sk_cmd_oo = {
	.name = "oo",
	.summary = "opaque objects: encrypt once, open per device with an OOID",
	SK_VERBS(verbs),
};
