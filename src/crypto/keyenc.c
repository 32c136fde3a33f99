/* SPDX-License-Identifier: MIT */
/* DER of generated EC keys around OpenSSL's own encoding (keyenc.h). */
#include "crypto/keyenc.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "base/err.h"

/* OpenSSL's encodings. */
static int ossl_pkcs8(EVP_PKEY *key, struct sk_buf *out)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
	unsigned char *der = NULL;
	int len = p8 != NULL ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1, rc;

	PKCS8_PRIV_KEY_INFO_free(p8);
	if (len <= 0)
		return sk_err_ssl(SK_EFAIL, "encoding the private key");
	rc = sk_buf_add(out, der, (size_t)len);
	OPENSSL_clear_free(der, (size_t)len);
	return rc;
}

static int ossl_spki(EVP_PKEY *key, struct sk_buf *out)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(key, &der), rc;

	if (len <= 0)
		return sk_err_ssl(SK_EFAIL, "encoding the public key");
	rc = sk_buf_add(out, der, (size_t)len);
	OPENSSL_free(der);
	return rc;
}

/* The curve, private scalar (padded to the order's length, as the
 * encoder writes it) and uncompressed point of an EC key: 1, or 0 for
 * anything else. */
static int ec_parts(EVP_PKEY *key, int *nid, uint8_t *priv, size_t *plen, uint8_t *pub,
		    size_t *publen)
{
	char group[64];
	BIGNUM *d = NULL;
	int ok;

	ok = EVP_PKEY_is_a(key, "EC") &&
	     EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					    NULL) &&
	     (*nid = OBJ_txt2nid(group)) != NID_undef &&
	     EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d) &&
	     EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, 133,
					     publen) &&
	     *publen > 1 && pub[0] == 0x04 && (*publen - 1) / 2 <= 66;
	if (ok) {
		/* the order's length (the field's, for the NIST curves), to
		 * which the encoder pads the scalar */
		*plen = (*publen - 1) / 2;
		ok = BN_bn2binpad(d, priv, (int)*plen) == (int)*plen;
	}
	BN_clear_free(d);
	ERR_clear_error();
	return ok;
}

/* The one place of p (n bytes) in b, or 0 if none or several. */
static size_t find_once(const struct sk_buf *b, const uint8_t *p, size_t n)
{
	const uint8_t *at = memmem(b->p, b->len, p, n);
	size_t off;

	if (at == NULL)
		return 0;
	off = (size_t)(at - b->p);
	if (memmem(at + 1, b->len - off - 1, p, n) != NULL)
		return 0;
	return off;
}

static void patch(struct sk_keyenc *e, struct sk_buf *out, const uint8_t *priv, const uint8_t *pub)
{
	memcpy(out->p + out->len - e->p8.len + e->priv_off, priv, e->priv_len);
	if (e->pub_off)
		memcpy(out->p + out->len - e->p8.len + e->pub_off, pub, e->pub_len);
}

/* The templates from the first key. */
static int make_template(struct sk_keyenc *e, EVP_PKEY *key, int nid, const uint8_t *priv,
			 size_t plen, const uint8_t *pub, size_t publen)
{
	int rc;

	if ((rc = ossl_pkcs8(key, &e->p8)) != SK_OK || (rc = ossl_spki(key, &e->spki)) != SK_OK)
		return rc;
	e->curve = nid;
	e->priv_len = plen;
	e->pub_len = publen;
	e->priv_off = find_once(&e->p8, priv, plen);
	e->pub_off = find_once(&e->p8, pub, publen);
	e->state = 1;
	if (e->priv_off == 0 || e->spki.len <= publen ||
	    memcmp(e->spki.p + e->spki.len - publen, pub, publen) != 0)
		e->state = -1;
	return SK_OK;
}

/* Key n > 1 written into the template, checked against OpenSSL's
 * encoding once (the second key): OpenSSL's bytes if they differ. */
static int from_template(struct sk_keyenc *e, EVP_PKEY *key, const uint8_t *priv,
			 const uint8_t *pub, struct sk_buf *out)
{
	struct sk_buf mine = { 0 };
	size_t start = out->len;
	int rc;

	if (e->state == 2) {
		if ((rc = sk_buf_add(out, e->p8.p, e->p8.len)) == SK_OK)
			patch(e, out, priv, pub);
		return rc;
	}
	if ((rc = sk_buf_add(&mine, e->p8.p, e->p8.len)) != SK_OK)
		return rc;
	patch(e, &mine, priv, pub);
	if ((rc = ossl_pkcs8(key, out)) == SK_OK)
		e->state = out->len - start == mine.len &&
				   memcmp(out->p + start, mine.p, mine.len) == 0 ? 2 : -1;
	sk_buf_cleanse_free(&mine);
	return rc;
}

int sk_keyenc_pkcs8(struct sk_keyenc *e, EVP_PKEY *key, struct sk_buf *out)
{
	uint8_t priv[66];
	size_t plen = 0, publen = 0;
	int nid = NID_undef, rc = SK_OK, first = 0;

	e->last = NULL;
	if (e->state < 0 || !ec_parts(key, &nid, priv, &plen, e->last_pub, &publen)) {
		OPENSSL_cleanse(priv, sizeof(priv));
		return ossl_pkcs8(key, out);
	}
	e->last = key;
	if (e->state == 0) {
		rc = make_template(e, key, nid, priv, plen, e->last_pub, publen);
		first = 1;
	}
	if (rc == SK_OK && e->state > 0 &&
	    (nid != e->curve || plen != e->priv_len || publen != e->pub_len))
		e->state = -1;
	if (rc == SK_OK && e->state < 0)
		rc = ossl_pkcs8(key, out);
	else if (rc == SK_OK && first)
		rc = sk_buf_add(out, e->p8.p, e->p8.len); /* OpenSSL's, of this key */
	else if (rc == SK_OK)
		rc = from_template(e, key, priv, e->last_pub, out);
	OPENSSL_cleanse(priv, sizeof(priv));
	return rc;
}

int sk_keyenc_spki(struct sk_keyenc *e, EVP_PKEY *key, struct sk_buf *out)
{
	/* the point sk_keyenc_pkcs8 read from the same key, if it was */
	if (e->state <= 0 || e->last != key)
		return ossl_spki(key, out);
	if (sk_buf_add(out, e->spki.p, e->spki.len - e->pub_len) != SK_OK)
		return SK_EFAIL;
	return sk_buf_add(out, e->last_pub, e->pub_len);
}

void sk_keyenc_free(struct sk_keyenc *e)
{
	sk_buf_cleanse_free(&e->p8);
	sk_buf_free(&e->spki);
	memset(e, 0, sizeof(*e));
}
