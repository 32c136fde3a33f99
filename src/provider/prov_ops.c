/* SPDX-License-Identifier: MIT */
/*
 * RSA-OAEP decryption (asym-cipher) and ECDH (key exchange) with a store
 * key, through the backend.  The backends do OAEP with one digest for
 * both the label hash and MGF1, and no label; PKCS#1 v1.5 decryption is
 * not among what they do, so it is refused rather than done in software.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include "base/util.h"
#include "provider/prov_int.h"

/* ---- RSA-OAEP ---- */

struct skp_oaep {
	struct skp_prov *prov;
	struct skp_key *key;
	int pad;
	EVP_MD *md, *mgf1;
	int label;      /* a label was set */
};

static void *oaep_new(void *provctx)
{
	struct skp_oaep *c = OPENSSL_zalloc(sizeof(*c));

	if (c != NULL) {
		c->prov = provctx;
		c->pad = RSA_PKCS1_PADDING;
	}
	return c;
}

static void oaep_free(void *ctx)
{
	struct skp_oaep *c = ctx;

	if (c == NULL)
		return;
	EVP_MD_free(c->md);
	EVP_MD_free(c->mgf1);
	OPENSSL_free(c);
}

static void *oaep_dup(void *ctx)
{
	struct skp_oaep *c = ctx, *d = OPENSSL_memdup(c, sizeof(*c));

	if (d == NULL)
		return NULL;
	if ((d->md != NULL && !EVP_MD_up_ref(d->md)) || (d->mgf1 != NULL && !EVP_MD_up_ref(d->mgf1))) {
		OPENSSL_free(d);
		return NULL;
	}
	return d;
}

static int oaep_md(struct skp_oaep *c, EVP_MD **slot, const OSSL_PARAM *q)
{
	const char *name;
	EVP_MD *md;

	if (!OSSL_PARAM_get_utf8_string_ptr(q, &name))
		return 0;
	if ((md = EVP_MD_fetch(NULL, name, SKP_OTHER)) == NULL) {
		skp_raise(c->prov, SK_EUNSUPP, "digest '%s': unknown", name);
		return 0;
	}
	EVP_MD_free(*slot);
	*slot = md;
	return 1;
}

static int oaep_set(void *ctx, const OSSL_PARAM params[])
{
	struct skp_oaep *c = ctx;
	const OSSL_PARAM *q;
	const char *str;
	size_t n = 0;

	if (params == NULL)
		return 1;
	if ((q = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE)) != NULL) {
		if (q->data_type == OSSL_PARAM_UTF8_STRING) {
			if (!OSSL_PARAM_get_utf8_string_ptr(q, &str))
				return 0;
			c->pad = strcmp(str, OSSL_PKEY_RSA_PAD_MODE_OAEP) == 0 ? RSA_PKCS1_OAEP_PADDING
										: RSA_PKCS1_PADDING;
		} else if (!OSSL_PARAM_get_int(q, &c->pad)) {
			return 0;
		}
	}
	if ((q = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST)) != NULL &&
	    !oaep_md(c, &c->md, q))
		return 0;
	if ((q = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST)) != NULL &&
	    !oaep_md(c, &c->mgf1, q))
		return 0;
	if ((q = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL)) != NULL) {
		if (q->data_type != OSSL_PARAM_OCTET_STRING)
			return 0;
		n = q->data_size;
		c->label = n > 0;
	}
	return 1;
}

static const OSSL_PARAM *oaep_settable(void *ctx, void *provctx)
{
	static const OSSL_PARAM list[] = {
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, NULL, 0),
		OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, NULL, 0),
		OSSL_PARAM_END,
	};

	(void)ctx;
	(void)provctx;
	return list;
}

static int oaep_get(void *ctx, OSSL_PARAM params[])
{
	struct skp_oaep *c = ctx;
	OSSL_PARAM *q;

	if ((q = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE)) != NULL &&
	    (q->data_type == OSSL_PARAM_UTF8_STRING
		     ? !OSSL_PARAM_set_utf8_string(q, c->pad == RSA_PKCS1_OAEP_PADDING
							     ? OSSL_PKEY_RSA_PAD_MODE_OAEP
							     : OSSL_PKEY_RSA_PAD_MODE_PKCSV15)
		     : !OSSL_PARAM_set_int(q, c->pad)))
		return 0;
	if ((q = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST)) != NULL &&
	    !OSSL_PARAM_set_utf8_string(q, c->md != NULL ? EVP_MD_get0_name(c->md) : "SHA1"))
		return 0;
	return 1;
}

static const OSSL_PARAM *oaep_gettable(void *ctx, void *provctx)
{
	static const OSSL_PARAM list[] = {
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
		OSSL_PARAM_END,
	};

	(void)ctx;
	(void)provctx;
	return list;
}

static int oaep_decrypt_init(void *ctx, void *provkey, const OSSL_PARAM params[])
{
	struct skp_oaep *c = ctx;
	struct skp_key *k = provkey;

	if (k == NULL || k->kind != SK_KIND_RSA)
		return 0;
	if (k->key == NULL || !(k->caps & SK_CAP_DECRYPT)) {
		skp_raise(c->prov, SK_EUNSUPP, "key '%s' cannot decrypt", k->key != NULL ? k->name : "(public)");
		return 0;
	}
	c->key = k;
	return oaep_set(c, params);
}

static int oaep_decrypt(void *ctx, unsigned char *out, size_t *outlen, size_t outsize,
			const unsigned char *in, size_t inlen)
{
	struct skp_oaep *c = ctx;
	struct skp_key *k = c->key;
	struct sk_buf plain = { 0 };
	EVP_MD *sha1 = NULL;
	const EVP_MD *md;
	int rc;

	if (out == NULL) {
		*outlen = (size_t)EVP_PKEY_get_size(k->pub);
		return 1;
	}
	if (c->pad != RSA_PKCS1_OAEP_PADDING) {
		skp_raise(c->prov, SK_EUNSUPP, "key '%s': only RSA-OAEP decryption (the backend does no PKCS#1 v1.5)",
			  k->name);
		return 0;
	}
	if (c->label) {
		skp_raise(c->prov, SK_EUNSUPP, "key '%s': RSA-OAEP with a label", k->name);
		return 0;
	}
	md = c->md;
	if (md == NULL && (md = sha1 = EVP_MD_fetch(NULL, "SHA1", SKP_OTHER)) == NULL)
		return 0;
	if (c->mgf1 != NULL && !EVP_MD_is_a(c->mgf1, EVP_MD_get0_name(md))) {
		EVP_MD_free(sha1);
		skp_raise(c->prov, SK_EUNSUPP, "RSA-OAEP: MGF1 must use the OAEP digest");
		return 0;
	}
	pthread_mutex_lock(&k->prov->lock);
	rc = sk_key_decrypt(k->key, md, in, inlen, &plain);
	pthread_mutex_unlock(&k->prov->lock);
	EVP_MD_free(sha1);
	if (rc == SK_OK && plain.len > outsize)
		rc = sk_err(SK_EFAIL, "output buffer too small");
	if (rc != SK_OK) {
		sk_buf_cleanse_free(&plain);
		skp_raise_sk(c->prov, rc);
		return 0;
	}
	memcpy(out, plain.p, plain.len);
	*outlen = plain.len;
	sk_buf_cleanse_free(&plain);
	return 1;
}

#define FN(id, f) { id, (void (*)(void))(f) }
const OSSL_DISPATCH skp_rsa_cipher_functions[] = {
	FN(OSSL_FUNC_ASYM_CIPHER_NEWCTX, oaep_new),
	FN(OSSL_FUNC_ASYM_CIPHER_FREECTX, oaep_free),
	FN(OSSL_FUNC_ASYM_CIPHER_DUPCTX, oaep_dup),
	FN(OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, oaep_decrypt_init),
	FN(OSSL_FUNC_ASYM_CIPHER_DECRYPT, oaep_decrypt),
	FN(OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS, oaep_get),
	FN(OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS, oaep_gettable),
	FN(OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, oaep_set),
	FN(OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS, oaep_settable),
	{ 0, NULL },
};

/* ---- ECDH ---- */

struct skp_ecdh {
	struct skp_prov *prov;
	struct skp_key *key, *peer;
};

static void *ecdh_new(void *provctx)
{
	struct skp_ecdh *c = OPENSSL_zalloc(sizeof(*c));

	if (c != NULL)
		c->prov = provctx;
	return c;
}

static void ecdh_free(void *ctx)
{
	OPENSSL_free(ctx);
}

static void *ecdh_dup(void *ctx)
{
	return OPENSSL_memdup(ctx, sizeof(struct skp_ecdh));
}

static int ecdh_init(void *ctx, void *provkey, const OSSL_PARAM params[])
{
	struct skp_ecdh *c = ctx;
	struct skp_key *k = provkey;

	(void)params;
	if (k == NULL || k->kind != SK_KIND_EC)
		return 0;
	if (k->key == NULL && (k->parts & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) {
		c->key = k; /* an ephemeral key share (km_gen) */
		return 1;
	}
	if (k->key == NULL || !(k->caps & SK_CAP_DERIVE)) {
		skp_raise(c->prov, SK_EUNSUPP, "key '%s' cannot derive", k->key != NULL ? k->name : "(public)");
		return 0;
	}
	c->key = k;
	return 1;
}

/* ECDH with an ephemeral key share: by the provider that made it. */
static int ecdh_ephemeral(struct skp_ecdh *c, unsigned char *secret, size_t *secretlen, size_t outlen)
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, c->key->pub, SKP_OTHER);
	size_t n = outlen;
	int ok;

	ok = pctx != NULL && EVP_PKEY_derive_init(pctx) > 0 &&
	     EVP_PKEY_derive_set_peer_ex(pctx, c->peer->pub, 0) > 0 &&
	     EVP_PKEY_derive(pctx, secret, &n) > 0;
	EVP_PKEY_CTX_free(pctx);
	if (ok)
		*secretlen = n;
	return ok;
}

static int ecdh_set_peer(void *ctx, void *provkey)
{
	struct skp_ecdh *c = ctx;
	struct skp_key *peer = provkey;

	if (peer == NULL || peer->kind != SK_KIND_EC ||
	    (peer->parts & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0)
		return 0;
	c->peer = peer;
	return 1;
}

static int ecdh_derive(void *ctx, unsigned char *secret, size_t *secretlen, size_t outlen)
{
	struct skp_ecdh *c = ctx;
	struct skp_key *k = c->key;
	struct sk_buf z = { 0 };
	int rc;

	if (k == NULL || c->peer == NULL)
		return 0;
	if (secret == NULL) {
		*secretlen = (size_t)(EVP_PKEY_get_bits(k->pub) + 7) / 8;
		return 1;
	}
	if (k->key == NULL)
		return ecdh_ephemeral(c, secret, secretlen, outlen);
	pthread_mutex_lock(&k->prov->lock);
	rc = sk_key_derive(k->key, c->peer->pub, &z);
	pthread_mutex_unlock(&k->prov->lock);
	if (rc == SK_OK && z.len > outlen)
		rc = sk_err(SK_EFAIL, "output buffer too small");
	if (rc != SK_OK) {
		sk_buf_cleanse_free(&z);
		skp_raise_sk(c->prov, rc);
		return 0;
	}
	memcpy(secret, z.p, z.len);
	*secretlen = z.len;
	sk_buf_cleanse_free(&z);
	return 1;
}

static int ecdh_set(void *ctx, const OSSL_PARAM params[])
{
	(void)ctx;
	(void)params;
	return 1;
}

static const OSSL_PARAM *ecdh_settable(void *ctx, void *provctx)
{
	static const OSSL_PARAM list[] = { OSSL_PARAM_END };

	(void)ctx;
	(void)provctx;
	return list;
}

const OSSL_DISPATCH skp_ecdh_functions[] = {
	FN(OSSL_FUNC_KEYEXCH_NEWCTX, ecdh_new),
	FN(OSSL_FUNC_KEYEXCH_FREECTX, ecdh_free),
	FN(OSSL_FUNC_KEYEXCH_DUPCTX, ecdh_dup),
	FN(OSSL_FUNC_KEYEXCH_INIT, ecdh_init),
	FN(OSSL_FUNC_KEYEXCH_SET_PEER, ecdh_set_peer),
	FN(OSSL_FUNC_KEYEXCH_DERIVE, ecdh_derive),
	FN(OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS, ecdh_set),
	FN(OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS, ecdh_settable),
	{ 0, NULL },
};
