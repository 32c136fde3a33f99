/* SPDX-License-Identifier: MIT */
/* seckit opaque-key: keys sent to one device, encrypted to it and signed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "format/ecies.h"
#include "base/err.h"
#include "base/fileio.h"
#include "keys/keys.h"
#include "format/okey.h"
#include "format/oo.h"
#include "format/pkg.h"
#include "ctx/secret.h"
#include "json.h"
#include "opt.h"

#define PKG_MAX (1u << 20)

/* ---- make ---- */

static const struct sk_verbopt make_opts[] = {
	{ OPT_name, "the name the key gets on the device", .required = 1 },
	{ OPT_type, "key type: " SK_KEYTYPE_NAMES, .required = 1 },
	{ OPT_key_file, "the key: EC/RSA private key (PEM or DER), or raw AES/HMAC bytes", .required = 1 },
	{ OPT_key_pass, "passphrase of an encrypted PEM key" },
	{ OPT_sign_key, "OEM signing key: a private key file (PEM or DER), or seckit:NAME (a store key)", .required = 1 },
	{ OPT_sign_pass, "passphrase of an encrypted signing key, or the secret of the store key's password object" },
	{ OPT_digest, "signature digest: sha256 (default), sha384, sha512" },
	{ OPT_pss, "RSA-PSS signature (RSA signing keys)" },
	{ OPT_device_pub, "the device's EC public key (PEM or DER)", .required = 1 },
	{ OPT_cipher, "aes-256-ctr (default), aes-256-cbc, aes-256-gcm" },
	{ OPT_mac, "hmac-sha256 (default), hmac-sha384, hmac-sha512" },
	{ OPT_kdf, "hkdf-sha256 (default), hkdf-sha384, x963-sha256, x963-sha384" },
	{ OPT_out, "the package (default and '-': stdout, not a terminal)" },
};

static int okey_make(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *keyfile = sk_opt_str(a, OPT_key_file);
	const char *kpspec = sk_opt_str(a, OPT_key_pass), *outpath;
	const struct sk_policy *pol;
	struct sk_okey_make_req req;
	struct sk_signer signer;
	struct sk_buf keyb = { 0 }, devb = { 0 }, out = { 0 };
	struct sk_secret kpass = { 0 };
	struct sk_ecies_sender *s = NULL;
	const EVP_MD *md;
	uint8_t devid[32];
	int rc;

	memset(&req, 0, sizeof(req));
	memset(&signer, 0, sizeof(signer));
	req.name = sk_opt_str(a, OPT_name);
	if (!sk_name_valid(req.name))
		return sk_usage_error("'%s' is not a valid key name (letters, digits, '.', '_', '@', '+', '-')",
				      req.name);
	req.type = sk_keytype_by_name(sk_opt_str(a, OPT_type));
	if ((rc = sk_opt_out(a, SK_OUT_BINARY, &outpath)) != SK_OK ||
	    (rc = sk_ctx_policy(ctx, &pol)) != SK_OK ||
	    (rc = sk_ecies_alg_for(pol, sk_opt_str(a, OPT_kdf), sk_opt_str(a, OPT_cipher),
				   sk_opt_str(a, OPT_mac), &req.alg)) != SK_OK)
		return rc;

	/* the key to send */
	if ((rc = sk_read_file(keyfile, 1u << 20, &keyb)) != SK_OK)
		goto out;
	if (sk_keytype_is_asym(req.type)) {
		const struct sk_keytype *kt;
		int is_private = 0;

		if (kpspec != NULL &&
		    (rc = sk_secret_get(kpspec, "passphrase of the key", 0, &kpass)) != SK_OK)
			goto out;
		if ((rc = sk_pkey_parse(keyb.p, keyb.len, kpass.p, 1, &req.key, &is_private)) != SK_OK) {
			sk_err_wrap(rc, "reading '%s'", keyfile);
			goto out;
		}
		if ((kt = sk_keytype_of_pkey(req.key)) == NULL) {
			rc = sk_err_wrap(SK_EUNSUPP, "'%s'", keyfile);
			goto out;
		}
		if (kt != req.type) {
			rc = sk_usage_error("'%s' holds a %s key, not %s", keyfile, kt->name, req.type->name);
			goto out;
		}
	} else {
		if (kpspec != NULL) {
			rc = sk_usage_error("--key-pass applies to PEM keys, not raw %s keys", req.type->name);
			goto out;
		}
		if (keyb.len != sk_keytype_raw_len(req.type)) {
			rc = sk_err(SK_EFAIL, "'%s': a %s key is %zu raw bytes, the file has %zu", keyfile,
				    req.type->name, sk_keytype_raw_len(req.type), keyb.len);
			goto out;
		}
		req.raw = keyb.p;
		req.rawlen = keyb.len;
	}
	/* the device it is for */
	if ((rc = sk_read_file(sk_opt_str(a, OPT_device_pub), 1u << 20, &devb)) != SK_OK)
		goto out;
	if ((rc = sk_ecies_sender_new(&req.alg, &s)) != SK_OK)
		goto out;
	if ((rc = sk_ecies_parse_pub(s, devb.p, devb.len, &req.device_pub, devid)) != SK_OK) {
		sk_err_wrap(rc, "device key '%s'", sk_opt_str(a, OPT_device_pub));
		goto out;
	}
	req.device_id = devid;
	/* signed by the OEM */
	if ((rc = sk_opt_md(ctx, a, OPT_digest, &md)) != SK_OK ||
	    (rc = sk_opt_signer(ctx, a, OPT_sign_pass, md, &signer)) != SK_OK)
		goto out;
	req.signer = &signer;
	if ((rc = sk_okey_make(&req, &out)) != SK_OK)
		goto out;
	rc = sk_write_file(outpath, out.p, out.len, 0666);
out:
	EVP_PKEY_free(req.key);
	EVP_PKEY_free(req.device_pub);
	sk_signer_free(&signer);
	sk_ecies_sender_free(s);
	sk_secret_free(&kpass);
	sk_buf_cleanse_free(&keyb);
	sk_buf_free(&devb);
	sk_buf_free(&out);
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
	SK_VERB("make", okey_make, "package a key for one device (off-device)", SK_OPTIONS(make_opts)),
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
