/* SPDX-License-Identifier: MIT */
/*
 * The soft backend: private keys are ordinary OpenSSL keys, kept in the
 * store (which seals them under the store's master key).  It is what runs
 * off-device and in tests, and on devices without a TPM or token.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "backend/backend.h"
#include "crypto/crypto.h"
#include "base/err.h"

#define BLOB_VERSION 1

struct soft_backend {
	struct sk_backend base;
};

struct sk_bkey {
	const struct sk_keytype *kt;
	EVP_PKEY *pkey;         /* EC/RSA */
	uint8_t raw[64];        /* AES/HMAC */
	size_t rawlen;
};

static int soft_open(const struct sk_backend_cfg *cfg, struct sk_backend **out)
{
	struct soft_backend *be = calloc(1, sizeof(*be));

	(void)cfg;
	if (be == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	be->base.ops = &sk_soft_backend;
	*out = &be->base;
	return SK_OK;
}

static void soft_close(struct sk_backend *be)
{
	free(be);
}

static unsigned soft_caps(struct sk_backend *be, const struct sk_keytype *kt)
{
	unsigned c = SK_CAP_GENERATE | SK_CAP_IMPORT | SK_CAP_EXPORT;

	(void)be;
	switch (kt->kind) {
	case SK_KIND_EC: return c | SK_CAP_SIGN | SK_CAP_DERIVE;
	case SK_KIND_RSA: return c | SK_CAP_SIGN | SK_CAP_DECRYPT;
	case SK_KIND_AES: return c | SK_CAP_CIPHER | SK_CAP_MAC;
	case SK_KIND_HMAC: return c | SK_CAP_MAC;
	}
	return 0;
}

/* Keys here are usable by whoever holds the blob: a password guards them
 * by wrapping the blob (keys.c), not by an authorisation value, so
 * keys.c never passes one (this backend has no auth_new). */
static int no_auth(const struct sk_auth *auth)
{
	return auth == NULL ? SK_OK
			    : sk_err(SK_EUNSUPP, "backend soft cannot check a password itself");
}

static int blob_from_pkey(EVP_PKEY *pkey, struct sk_buf *blob)
{
	unsigned char *der = NULL;
	uint8_t v = BLOB_VERSION;
	int n = i2d_PrivateKey(pkey, &der), rc;

	if (n <= 0)
		return sk_err_ssl(SK_EFAIL, "encoding private key");
	if ((rc = sk_buf_add(blob, &v, 1)) == SK_OK)
		rc = sk_buf_add(blob, der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	return rc;
}

static int soft_generate(struct sk_backend *be, const struct sk_keytype *kt, int exportable,
			 const struct sk_auth *auth, struct sk_buf *blob, EVP_PKEY **pub)
{
	EVP_PKEY *pkey = NULL;
	uint8_t raw[64], v = BLOB_VERSION;
	int rc;

	(void)be;
	(void)exportable;
	*pub = NULL;
	if ((rc = no_auth(auth)) != SK_OK)
		return rc;
	if (!sk_keytype_is_asym(kt)) {
		size_t n = sk_keytype_raw_len(kt);

		if ((rc = sk_random(raw, n)) == SK_OK && (rc = sk_buf_add(blob, &v, 1)) == SK_OK)
			rc = sk_buf_add(blob, raw, n);
		OPENSSL_cleanse(raw, sizeof(raw));
		return rc;
	}
	if ((rc = sk_keytype_generate(kt, &pkey)) != SK_OK)
		return rc;
	rc = blob_from_pkey(pkey, blob);
	if (rc == SK_OK) {
		/* Hand back a public-only copy: the private half stays here. */
		unsigned char *der = NULL;
		const unsigned char *q;
		int n = i2d_PUBKEY(pkey, &der);

		q = der;
		if (n <= 0 || (*pub = d2i_PUBKEY(NULL, &q, n)) == NULL)
			rc = sk_err_ssl(SK_EFAIL, "extracting public key");
		OPENSSL_free(der);
	}
	EVP_PKEY_free(pkey);
	return rc;
}

static int soft_import(struct sk_backend *be, const struct sk_keytype *kt, EVP_PKEY *priv,
		       const uint8_t *raw, size_t rawlen, int exportable, const struct sk_auth *auth,
		       struct sk_buf *blob)
{
	uint8_t v = BLOB_VERSION;
	int rc;

	(void)be;
	(void)exportable;
	if ((rc = no_auth(auth)) != SK_OK)
		return rc;
	if (sk_keytype_is_asym(kt))
		return blob_from_pkey(priv, blob);
	if (rawlen != sk_keytype_raw_len(kt))
		return sk_err(SK_EFAIL, "%s key must be %zu bytes, got %zu", kt->name,
			      sk_keytype_raw_len(kt), rawlen);
	if ((rc = sk_buf_add(blob, &v, 1)) != SK_OK)
		return rc;
	return sk_buf_add(blob, raw, rawlen);
}

static int soft_load(struct sk_backend *be, const struct sk_keytype *kt, const uint8_t *blob,
		     size_t n, const struct sk_auth *auth, struct sk_bkey **out)
{
	struct sk_bkey *k;
	int rc;

	(void)be;
	*out = NULL;
	if ((rc = no_auth(auth)) != SK_OK)
		return rc;
	if (n < 2 || blob[0] != BLOB_VERSION)
		return sk_err(SK_EVERIFY, "key material is malformed");
	k = OPENSSL_secure_zalloc(sizeof(*k));
	if (k == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	k->kt = kt;
	if (sk_keytype_is_asym(kt)) {
		const unsigned char *q = blob + 1;

		k->pkey = d2i_AutoPrivateKey(NULL, &q, (long)(n - 1));
		if (k->pkey == NULL || q != blob + n) {
			ERR_clear_error();
			EVP_PKEY_free(k->pkey);
			OPENSSL_secure_clear_free(k, sizeof(*k));
			return sk_err(SK_EVERIFY, "key material is malformed");
		}
	} else {
		if (n - 1 != sk_keytype_raw_len(kt) || n - 1 > sizeof(k->raw)) {
			OPENSSL_secure_clear_free(k, sizeof(*k));
			return sk_err(SK_EVERIFY, "key material is malformed");
		}
		memcpy(k->raw, blob + 1, n - 1);
		k->rawlen = n - 1;
	}
	*out = k;
	return SK_OK;
}

static void soft_unload(struct sk_bkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	OPENSSL_secure_clear_free(k, sizeof(*k));
}

static int soft_destroy(struct sk_backend *be, const struct sk_keytype *kt, const uint8_t *blob,
			size_t n)
{
	(void)be;
	(void)kt;
	(void)blob;
	(void)n;
	return SK_OK; /* the store object was the only copy */
}

static int soft_sign(struct sk_bkey *k, const EVP_MD *md, int pss, const uint8_t *dgst,
		     size_t dlen, struct sk_buf *sig)
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	size_t len = 0;
	int rc;

	if (pctx == NULL || EVP_PKEY_sign_init(pctx) <= 0) {
		rc = sk_err_ssl(SK_EUNSUPP, "this key cannot sign");
		goto out;
	}
	if ((rc = sk_pkey_ctx_sig_setup(pctx, k->pkey, md, pss, 0)) != SK_OK)
		goto out;
	if (EVP_PKEY_sign(pctx, NULL, &len, dgst, dlen) <= 0 ||
	    (rc = sk_buf_reserve(sig, len)) != SK_OK ||
	    EVP_PKEY_sign(pctx, sig->p + sig->len, &len, dgst, dlen) <= 0) {
		rc = rc ? rc : sk_err_ssl(SK_EFAIL, "signing");
		goto out;
	}
	sig->len += len;
out:
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

static int soft_decrypt(struct sk_bkey *k, const EVP_MD *oaep_md, const uint8_t *in, size_t n,
			struct sk_buf *out)
{
	EVP_PKEY_CTX *pctx = sk_pkey_ctx_oaep(k->pkey, oaep_md, 0);
	size_t len = 0;
	int rc = SK_OK;

	if (pctx == NULL)
		return SK_EFAIL;
	if (EVP_PKEY_decrypt(pctx, NULL, &len, in, n) <= 0 ||
	    (rc = sk_buf_reserve(out, len)) != SK_OK) {
		rc = rc ? rc : sk_err_ssl(SK_EVERIFY, "RSA-OAEP decryption failed");
		goto out;
	}
	if (EVP_PKEY_decrypt(pctx, out->p + out->len, &len, in, n) <= 0) {
		ERR_clear_error();
		rc = sk_err(SK_EVERIFY, "RSA-OAEP decryption failed (wrong key or corrupt ciphertext)");
		goto out;
	}
	out->len += len;
out:
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

static int soft_derive(struct sk_bkey *k, EVP_PKEY *peer, struct sk_buf *secret)
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	size_t len = 0;
	int rc = SK_OK;

	if (pctx == NULL || EVP_PKEY_derive_init(pctx) <= 0) {
		rc = sk_err_ssl(SK_EFAIL, "ECDH");
		goto out;
	}
	if (EVP_PKEY_derive_set_peer(pctx, peer) <= 0) {
		rc = sk_err_ssl(SK_EUNSUPP, "peer key does not match the key's curve");
		goto out;
	}
	if (EVP_PKEY_derive(pctx, NULL, &len) <= 0 || (rc = sk_buf_reserve(secret, len)) != SK_OK ||
	    EVP_PKEY_derive(pctx, secret->p + secret->len, &len) <= 0) {
		rc = rc ? rc : sk_err_ssl(SK_EFAIL, "ECDH");
		goto out;
	}
	secret->len += len;
out:
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

/* ---- symmetric operations ---- */

struct cipher_op {
	struct sk_symop base;
	EVP_CIPHER_CTX *c;
	int enc, gcm;
};

static int cipher_update(struct sk_symop *op, const uint8_t *in, size_t n, uint8_t *out,
			 size_t *outlen)
{
	struct cipher_op *c = (struct cipher_op *)op;
	int len;

	if (n > 0x7fffff00 || EVP_CipherUpdate(c->c, out, &len, in, (int)n) != 1)
		return sk_err_ssl(SK_EFAIL, "cipher");
	*outlen = (size_t)len;
	return SK_OK;
}

static int cipher_final(struct sk_symop *op, uint8_t *out, size_t *outlen, uint8_t *tag)
{
	struct cipher_op *c = (struct cipher_op *)op;
	int len = 0;

	if (c->gcm && !c->enc && EVP_CIPHER_CTX_ctrl(c->c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
		return sk_err_ssl(SK_EFAIL, "AES-GCM");
	if (EVP_CipherFinal_ex(c->c, out, &len) != 1) {
		ERR_clear_error();
		if (c->gcm)
			return sk_err(SK_EVERIFY, "AES-GCM authentication failed (wrong key or tampered data)");
		return sk_err(c->enc ? SK_EFAIL : SK_EVERIFY,
			      "bad padding (wrong key or corrupt data)");
	}
	*outlen = (size_t)len;
	if (c->gcm && c->enc && EVP_CIPHER_CTX_ctrl(c->c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		return sk_err_ssl(SK_EFAIL, "AES-GCM");
	return SK_OK;
}

static void cipher_free(struct sk_symop *op)
{
	struct cipher_op *c = (struct cipher_op *)op;

	EVP_CIPHER_CTX_free(c->c);
	free(c);
}

static int soft_cipher(struct sk_bkey *k, enum sk_cipher_mode mode, int enc, const uint8_t *iv,
		       size_t ivlen, struct sk_symop **out)
{
	static const char *const names[2][3] = {
		{ "AES-128-CBC", "AES-128-CTR", "AES-128-GCM" },
		{ "AES-256-CBC", "AES-256-CTR", "AES-256-GCM" },
	};
	struct cipher_op *c;
	EVP_CIPHER *ciph;

	ciph = EVP_CIPHER_fetch(NULL, names[k->kt->bits == 256][mode], NULL);
	if (ciph == NULL)
		return sk_err_ssl(SK_EFAIL, "cipher");
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->c = EVP_CIPHER_CTX_new()) == NULL) {
		free(c);
		EVP_CIPHER_free(ciph);
		return sk_err(SK_EFAIL, "out of memory");
	}
	c->enc = enc;
	c->gcm = mode == SK_MODE_GCM;
	if (EVP_CipherInit_ex(c->c, ciph, NULL, NULL, NULL, enc) != 1 ||
	    (c->gcm && EVP_CIPHER_CTX_ctrl(c->c, EVP_CTRL_GCM_SET_IVLEN, (int)ivlen, NULL) != 1) ||
	    EVP_CipherInit_ex(c->c, NULL, NULL, k->raw, iv, enc) != 1) {
		EVP_CIPHER_free(ciph);
		cipher_free(&c->base);
		return sk_err_ssl(SK_EFAIL, "cipher");
	}
	EVP_CIPHER_free(ciph);
	c->base.update = cipher_update;
	c->base.final = cipher_final;
	c->base.free = cipher_free;
	*out = &c->base;
	return SK_OK;
}

struct mac_op {
	struct sk_symop base;
	EVP_MAC_CTX *m;
};

static int mac_update(struct sk_symop *op, const uint8_t *in, size_t n, uint8_t *out,
		      size_t *outlen)
{
	(void)out;
	*outlen = 0;
	if (EVP_MAC_update(((struct mac_op *)op)->m, in, n) != 1)
		return sk_err_ssl(SK_EFAIL, "MAC");
	return SK_OK;
}

static int mac_final(struct sk_symop *op, uint8_t *out, size_t *outlen, uint8_t *tag)
{
	(void)tag;
	if (EVP_MAC_final(((struct mac_op *)op)->m, out, outlen, EVP_MAX_MD_SIZE) != 1)
		return sk_err_ssl(SK_EFAIL, "MAC");
	return SK_OK;
}

static void mac_free(struct sk_symop *op)
{
	EVP_MAC_CTX_free(((struct mac_op *)op)->m);
	free(op);
}

static int soft_mac(struct sk_bkey *k, struct sk_symop **out)
{
	int cmac = k->kt->kind == SK_KIND_AES;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, cmac ? "CMAC" : "HMAC", NULL);
	OSSL_PARAM params[2];
	struct mac_op *m;

	if (mac == NULL)
		return sk_err_ssl(SK_EFAIL, "MAC");
	m = calloc(1, sizeof(*m));
	if (m == NULL || (m->m = EVP_MAC_CTX_new(mac)) == NULL) {
		free(m);
		EVP_MAC_free(mac);
		return sk_err(SK_EFAIL, "out of memory");
	}
	EVP_MAC_free(mac);
	if (cmac)
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
			k->kt->bits == 256 ? "AES-256-CBC" : "AES-128-CBC", 0);
	else
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
							     (char *)k->kt->md, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(m->m, k->raw, k->rawlen, params) != 1) {
		mac_free(&m->base);
		return sk_err_ssl(SK_EFAIL, "MAC");
	}
	m->base.update = mac_update;
	m->base.final = mac_final;
	m->base.free = mac_free;
	*out = &m->base;
	return SK_OK;
}

static int soft_export(struct sk_bkey *k, EVP_PKEY **priv, struct sk_buf *raw)
{
	if (k->pkey != NULL) {
		if (!EVP_PKEY_up_ref(k->pkey))
			return sk_err_ssl(SK_EFAIL, "exporting");
		*priv = k->pkey;
		return SK_OK;
	}
	return sk_buf_add(raw, k->raw, k->rawlen);
}

const struct sk_backend_ops sk_soft_backend = {
	.name = "soft",
	.open = soft_open,
	.close = soft_close,
	.caps = soft_caps,
	.generate = soft_generate,
	.import = soft_import,
	.load = soft_load,
	.unload = soft_unload,
	.destroy = soft_destroy,
	.sign = soft_sign,
	.decrypt = soft_decrypt,
	.derive = soft_derive,
	.cipher = soft_cipher,
	.mac = soft_mac,
	.export_private = soft_export,
	.verify = sk_backend_verify_default,
};
