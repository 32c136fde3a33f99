/* SPDX-License-Identifier: MIT */
/*
 * ECIES to a device key (see ecies.h and docs/formats/ecies.md).
 *
 * Everything here goes through EVP (KDF, cipher, HMAC; ECDH where a
 * device opens an envelope) and OpenSSL's ASN.1 templates; the sender's
 * ephemeral key and ECDH go through EC_POINT_mul on objects kept for the
 * whole run (crypto/ecdh.c says why), and the envelope's DER is written
 * around per-run templates (sk_ecies_seal_der).  The hand-written parts
 * are the choice of labels and the order of the MAC input, which the
 * format page specifies byte for byte.  The algorithms and their identifiers are
 * ecies_alg.c's (ecies_int.h).
 */
#include "format/ecies.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/objects.h>

#include "crypto/crypto.h"
#include "crypto/ecdh.h"
#include "crypto/sha256kdf.h"
#include "format/pkg.h"
#include "format/ecies_int.h"
#include "base/err.h"

#define R_LEN 32
#define KENC_LEN 32
#define LABEL "seckit-ecies-v1/"
/* Plaintexts are small (an OOInfo, a key); refuse absurd sizes early. */
#define PLAIN_MAX (1u << 20)

ASN1_SEQUENCE(SK_SPKI) = {
	ASN1_SIMPLE(SK_SPKI, alg, X509_ALGOR),
	ASN1_SIMPLE(SK_SPKI, key, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END(SK_SPKI)
IMPLEMENT_ASN1_FUNCTIONS(SK_SPKI)

ASN1_SEQUENCE(SK_ECIES) = {
	ASN1_SIMPLE(SK_ECIES, ephemeral, SK_SPKI),
	ASN1_SIMPLE(SK_ECIES, random, ASN1_OCTET_STRING),
	ASN1_SIMPLE(SK_ECIES, kdf, X509_ALGOR),
	ASN1_SIMPLE(SK_ECIES, cipher, X509_ALGOR),
	ASN1_SIMPLE(SK_ECIES, mac, X509_ALGOR),
	ASN1_SIMPLE(SK_ECIES, ciphertext, ASN1_OCTET_STRING),
	ASN1_SIMPLE(SK_ECIES, tag, ASN1_OCTET_STRING),
} ASN1_SEQUENCE_END(SK_ECIES)
IMPLEMENT_ASN1_FUNCTIONS(SK_ECIES)

/* ---- curves ---- */

static const struct {
	const char *group;
	int nid;
	size_t zlen;
	const char *label;
} curves[] = {
	{ "prime256v1", NID_X9_62_prime256v1, 32, "P-256" },
	{ "secp384r1", NID_secp384r1, 48, "P-384" },
	{ "secp521r1", NID_secp521r1, 66, "P-521" },
};

static int curve_of(EVP_PKEY *pkey)
{
	char name[64];
	size_t i;

	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
					    NULL)) {
		ERR_clear_error();
		return -1;
	}
	for (i = 0; i < SK_ARRAY_SIZE(curves); i++)
		if (strcmp(name, curves[i].group) == 0)
			return (int)i;
	return -1;
}

int sk_ecies_check_key(EVP_PKEY *pub, const char **group)
{
	int c = curve_of(pub);

	if (c < 0)
		return sk_err(SK_EUNSUPP, "device key must be an EC key on P-256, P-384 or P-521 (found %s)",
			      EVP_PKEY_get0_type_name(pub) ? EVP_PKEY_get0_type_name(pub) : "?");
	if (group != NULL)
		*group = curves[c].group;
	return SK_OK;
}

struct prims {
	EVP_KDF_CTX *kdf;     /* digest set */
	EVP_MAC_CTX *mac;     /* HMAC, digest set; keyed per envelope */
	EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *cctx;
};

struct sk_ecies_sender {
	struct sk_ecies_alg alg;
	struct prims pr;
	struct sk_ecdh *ecdh[SK_ARRAY_SIZE(curves)]; /* ephemeral keys, per curve */
	X509_ALGOR *kdf_algor, *mac_algor; /* the same in every envelope */
	EVP_PKEY_CTX *fromdata;            /* device public keys */
	/* The last device key parsed, per curve: the next one is written
	 * into it (0.9 us) instead of building a key and its group (14 us). */
	EVP_PKEY *devkey[SK_ARRAY_SIZE(curves)];
	/* and its point as parsed: exporting it again from the key would cost
	 * a field inversion (OpenSSL's P-256 code always makes it affine) */
	uint8_t devpt[SK_ARRAY_SIZE(curves)][1 + 2 * 66];
	/* The DER every envelope shares, written once (sk_ecies_seal_der):
	 * the KDF and MAC identifiers, the cipher's with the IV at iv_off,
	 * and per curve the ephemeral key's SPKI up to its point. */
	struct sk_buf kdf_der, mac_der, cipher_der;
	size_t iv_off;
	struct sk_buf spki_head[SK_ARRAY_SIZE(curves)];
};

/* ---- device public keys ---- */

/* Body of a "PUBLIC KEY" PEM block, base64-decoded into der (cap bytes).
 * Returns the length, 0 if p is not such a block, -1 if it is malformed. */
static int pem_spki(const uint8_t *p, size_t n, uint8_t *der, size_t cap)
{
	static const char begin[] = "-----BEGIN PUBLIC KEY-----", end[] = "-----END PUBLIC KEY-----";
	const uint8_t *b = memmem(p, n, begin, sizeof(begin) - 1), *e;
	EVP_ENCODE_CTX *ectx;
	int len = 0, fin = 0, ok;

	if (b == NULL)
		return 0;
	b += sizeof(begin) - 1;
	e = memmem(b, n - (size_t)(b - p), end, sizeof(end) - 1);
	/* base64 grows 4/3; whitespace only adds */
	if (e == NULL || (size_t)(e - b) / 4 * 3 > cap || (ectx = EVP_ENCODE_CTX_new()) == NULL)
		return -1;
	EVP_DecodeInit(ectx);
	ok = EVP_DecodeUpdate(ectx, der, &len, b, (int)(e - b)) >= 0 &&
	     EVP_DecodeFinal(ectx, der + len, &fin) == 1;
	EVP_ENCODE_CTX_free(ectx);
	return ok ? len + fin : -1;
}

/*
 * The fast path: a DER SubjectPublicKeyInfo with a named curve and an
 * uncompressed point, strictly DER (it re-encodes to the same bytes, so
 * its SHA-256 is the device ID the device computes for itself).  Returns
 * 1 and the key, 0 if the input is something else (for the general
 * decoder), or an error for an EC key seckit cannot use.
 */
static int fast_spki(struct sk_ecies_sender *snd, EVP_PKEY_CTX *fctx, const uint8_t *der,
		     size_t n, EVP_PKEY **out, uint8_t id[32])
{
	const unsigned char *q = der;
	unsigned char *re = NULL;
	SK_SPKI *s = d2i_SK_SPKI(NULL, &q, (long)n);
	const ASN1_OBJECT *o;
	const void *pv;
	int ptype, relen, c = -1, r = 0;
	size_t i, klen;
	const uint8_t *k;

	ERR_clear_error();
	if (s == NULL || q != der + n)
		goto out;
	relen = i2d_SK_SPKI(s, &re);
	if (relen < 0 || (size_t)relen != n || memcmp(re, der, n) != 0)
		goto out;
	X509_ALGOR_get0(&o, &ptype, &pv, s->alg);
	if (OBJ_obj2nid(o) != NID_X9_62_id_ecPublicKey || ptype != V_ASN1_OBJECT)
		goto out;
	for (i = 0; i < SK_ARRAY_SIZE(curves); i++)
		if (OBJ_obj2nid(pv) == curves[i].nid)
			c = (int)i;
	k = ASN1_STRING_get0_data(s->key);
	klen = (size_t)ASN1_STRING_length(s->key);
	if (c < 0 || (s->key->flags & 0x07) || klen != 1 + 2 * curves[c].zlen || k[0] != 0x04)
		goto out;
	if (snd != NULL && snd->devkey[c] != NULL) {
		/* decodes the point and refuses one off the curve, like fromdata */
		if (EVP_PKEY_set1_encoded_public_key(snd->devkey[c], k, klen) != 1 ||
		    !EVP_PKEY_up_ref(snd->devkey[c])) {
			ERR_clear_error();
			r = sk_err(SK_EVERIFY, "the public key's point is not on the curve");
			goto out;
		}
		*out = snd->devkey[c];
	} else {
		OSSL_PARAM p[3];

		p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
							(char *)curves[c].group, 0);
		p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)k, klen);
		p[2] = OSSL_PARAM_construct_end();
		/* fromdata decodes the point and refuses one off the curve */
		if (EVP_PKEY_fromdata(fctx, out, EVP_PKEY_PUBLIC_KEY, p) <= 0) {
			ERR_clear_error();
			r = sk_err(SK_EVERIFY, "the public key's point is not on the curve");
			goto out;
		}
		if (snd != NULL && EVP_PKEY_up_ref(*out))
			snd->devkey[c] = *out;
	}
	if (snd != NULL && *out == snd->devkey[c])
		memcpy(snd->devpt[c], k, klen);
	sk_sha256(der, n, id);
	r = 1;
out:
	OPENSSL_free(re);
	SK_SPKI_free(s);
	return r;
}

int sk_ecies_parse_pub(struct sk_ecies_sender *s, const uint8_t *p, size_t n, EVP_PKEY **out,
		       uint8_t id[32])
{
	uint8_t der[1024];
	EVP_PKEY_CTX *fctx = s ? s->fromdata : NULL;
	int len, r, rc;
	char hex[65];

	*out = NULL;
	if (fctx == NULL) {
		fctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		if (fctx == NULL || EVP_PKEY_fromdata_init(fctx) <= 0) {
			EVP_PKEY_CTX_free(fctx);
			return sk_err_ssl(SK_EFAIL, "EC keys");
		}
	}
	len = pem_spki(p, n, der, sizeof(der));
	if (len == 0 && n > 0 && n <= sizeof(der) && p[0] == 0x30) {
		memcpy(der, p, n);
		len = (int)n;
	}
	r = len > 0 ? fast_spki(s, fctx, der, (size_t)len, out, id) : 0;
	if (fctx != (s ? s->fromdata : NULL))
		EVP_PKEY_CTX_free(fctx);
	if (r == 1)
		return SK_OK;
	if (r != 0)
		return r;
	/* Anything else (compressed points, explicit parameters, other key
	 * types) through the general decoder, for a precise message. */
	if ((rc = sk_pkey_parse(p, n, NULL, 0, out, NULL)) != SK_OK)
		return rc == SK_EFAIL ? sk_err(SK_EVERIFY, "not a public key in PEM or DER form") : rc;
	/* The device ID is over the canonical form (uncompressed point), as
	 * the device encodes its own key. */
	if ((rc = sk_ecies_check_key(*out, NULL)) == SK_OK &&
	    !EVP_PKEY_set_utf8_string_param(*out, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
					     OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED))
		rc = sk_err_ssl(SK_EFAIL, "EC key");
	if (rc != SK_OK || (rc = sk_pkey_fingerprint(*out, hex)) != SK_OK) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return rc;
	}
	sk_unhex(id, 32, hex);
	return SK_OK;
}

/* ---- shared pieces ---- */

static void info_string(char *out, size_t n, const char *context, const struct sk_ecies_alg *a)
{
	snprintf(out, n, LABEL "%s/%s/%s", context, sk_ecies_ciphers[a->cipher].name,
		 sk_ecies_macs[a->mac].name);
}

/*
 * The symmetric machinery of one algorithm choice, fetched and set up once:
 * a sender keeps it for all its envelopes (no algorithm fetch, and so no
 * lock, per device); the receiver makes one per envelope.
 */

static void prims_free(struct prims *p)
{
	EVP_KDF_CTX_free(p->kdf);
	EVP_MAC_CTX_free(p->mac);
	EVP_CIPHER_free(p->cipher);
	EVP_CIPHER_CTX_free(p->cctx);
	memset(p, 0, sizeof(*p));
}

static int prims_init(struct prims *p, const struct sk_ecies_alg *a)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, sk_ecies_kdfs[a->kdf].kdf, NULL);
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM kp[2], mp[2];

	memset(p, 0, sizeof(*p));
	kp[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						 (char *)sk_ecies_kdfs[a->kdf].md, 0);
	kp[1] = OSSL_PARAM_construct_end();
	mp[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 (char *)sk_ecies_macs[a->mac].md, 0);
	mp[1] = OSSL_PARAM_construct_end();
	if (kdf != NULL)
		p->kdf = EVP_KDF_CTX_new(kdf);
	if (mac != NULL)
		p->mac = EVP_MAC_CTX_new(mac);
	EVP_KDF_free(kdf);
	EVP_MAC_free(mac);
	p->cipher = EVP_CIPHER_fetch(NULL, sk_ecies_ciphers[a->cipher].evp, NULL);
	p->cctx = EVP_CIPHER_CTX_new();
	if (p->kdf == NULL || p->mac == NULL || p->cipher == NULL || p->cctx == NULL ||
	    EVP_KDF_CTX_set_params(p->kdf, kp) != 1 || EVP_MAC_CTX_set_params(p->mac, mp) != 1) {
		prims_free(p);
		return sk_err_ssl(SK_EFAIL, "setting up ECIES");
	}
	return SK_OK;
}

/* Kenc || Kmac from Z and R. */
static int kdf_run(struct prims *pr, const struct sk_ecies_alg *a, const uint8_t *z, size_t zlen,
		   const uint8_t *r, const char *info, uint8_t *out, size_t outlen)
{
	OSSL_PARAM params[4], *p = params;
	uint8_t shared[R_LEN + 256];
	size_t infolen = strlen(info);
	int rc = SK_OK;

	if (strcmp(sk_ecies_kdfs[a->kdf].kdf, "HKDF") == 0) {
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, zlen);
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)r, R_LEN);
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen);
	} else {
		/* X9.63: SharedInfo = R || info */
		memcpy(shared, r, R_LEN);
		memcpy(shared + R_LEN, info, infolen);
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)z, zlen);
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, shared,
							 R_LEN + infolen);
	}
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(pr->kdf, out, outlen, params) != 1)
		rc = sk_err_ssl(SK_EFAIL, "KDF");
	return rc;
}

/* The MAC input: the DER of every envelope field before the tag, in order
 * (the bytes between the envelope's SEQUENCE header and its macTag). */
static int mac_compute(struct prims *pr, const struct sk_ecies_alg *a, const uint8_t *kmac,
		       const SK_ECIES *env, uint8_t *out)
{
	EVP_MAC_CTX *m = pr->mac;
	unsigned char *der[6] = { NULL };
	int lens[6], i, rc = SK_OK;
	size_t outlen = 0;

	lens[0] = i2d_SK_SPKI(env->ephemeral, &der[0]);
	lens[1] = i2d_ASN1_OCTET_STRING(env->random, &der[1]);
	lens[2] = i2d_X509_ALGOR(env->kdf, &der[2]);
	lens[3] = i2d_X509_ALGOR(env->cipher, &der[3]);
	lens[4] = i2d_X509_ALGOR(env->mac, &der[4]);
	lens[5] = i2d_ASN1_OCTET_STRING(env->ciphertext, &der[5]);
	if (EVP_MAC_init(m, kmac, sk_ecies_macs[a->mac].len, NULL) != 1) {
		rc = sk_err_ssl(SK_EFAIL, "HMAC");
		goto out;
	}
	for (i = 0; i < 6; i++)
		if (lens[i] <= 0 || EVP_MAC_update(m, der[i], (size_t)lens[i]) != 1) {
			rc = sk_err_ssl(SK_EFAIL, "HMAC");
			goto out;
		}
	if (EVP_MAC_final(m, out, &outlen, EVP_MAX_MD_SIZE) != 1 || outlen != sk_ecies_macs[a->mac].len)
		rc = sk_err_ssl(SK_EFAIL, "HMAC");
out:
	for (i = 0; i < 6; i++)
		OPENSSL_free(der[i]);
	return rc;
}


/* Symmetric layer; GCM appends (encrypt) or checks (decrypt) the tag. */
static int sym(struct prims *pr, int enc, enum sk_ecies_cipher c, const uint8_t *key,
	       const uint8_t *iv, const uint8_t *in, size_t n, struct sk_buf *out)
{
	EVP_CIPHER_CTX *x = pr->cctx;
	EVP_CIPHER *ciph = pr->cipher;
	size_t body = n;
	int len = 0, fin = 0, rc = SK_OK;

	if (c == SK_ECIES_AES256_GCM && !enc) {
		if (n < GCM_TAG) {
			rc = sk_err(SK_EVERIFY, "ciphertext is truncated");
			goto out;
		}
		body = n - GCM_TAG;
	}
	if ((rc = sk_buf_reserve(out, body + 32)) != SK_OK)
		goto out;
	if (EVP_CipherInit_ex2(x, ciph, key, iv, enc, NULL) != 1 ||
	    (c == SK_ECIES_AES256_GCM && !enc &&
	     EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, GCM_TAG, (void *)(in + body)) != 1) ||
	    EVP_CipherUpdate(x, out->p + out->len, &len, in, (int)body) != 1) {
		rc = sk_err_ssl(SK_EFAIL, "%s", sk_ecies_ciphers[c].name);
		goto out;
	}
	if (EVP_CipherFinal_ex(x, out->p + out->len + len, &fin) != 1) {
		ERR_clear_error();
		OPENSSL_cleanse(out->p + out->len, (size_t)len);
		rc = enc ? sk_err(SK_EFAIL, "%s", sk_ecies_ciphers[c].name)
			 : sk_err(SK_EVERIFY, "decryption failed (%s)",
				  c == SK_ECIES_AES256_GCM ? "GCM tag mismatch" : "bad padding");
		goto out;
	}
	out->len += (size_t)len + (size_t)fin;
	if (c == SK_ECIES_AES256_GCM && enc) {
		if ((rc = sk_buf_reserve(out, GCM_TAG)) != SK_OK)
			goto out;
		if (EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, GCM_TAG, out->p + out->len) != 1) {
			rc = sk_err_ssl(SK_EFAIL, "AES-GCM");
			goto out;
		}
		out->len += GCM_TAG;
	}
out:
	return rc;
}

/* ---- sender ---- */


void sk_ecies_sender_free(struct sk_ecies_sender *s)
{
	size_t i;

	if (s == NULL)
		return;
	prims_free(&s->pr);
	for (i = 0; i < SK_ARRAY_SIZE(curves); i++)
		sk_ecdh_free(s->ecdh[i]);
	X509_ALGOR_free(s->kdf_algor);
	X509_ALGOR_free(s->mac_algor);
	EVP_PKEY_CTX_free(s->fromdata);
	for (i = 0; i < SK_ARRAY_SIZE(curves); i++) {
		EVP_PKEY_free(s->devkey[i]);
		sk_buf_free(&s->spki_head[i]);
	}
	sk_buf_free(&s->kdf_der);
	sk_buf_free(&s->mac_der);
	sk_buf_free(&s->cipher_der);
	free(s);
}

/* The DER of an AlgorithmIdentifier into b. */
static int algor_der(const X509_ALGOR *x, struct sk_buf *b)
{
	unsigned char *der = NULL;
	int len = x != NULL ? i2d_X509_ALGOR(x, &der) : -1;
	int rc = len > 0 ? sk_buf_add(b, der, (size_t)len) : SK_EFAIL;

	OPENSSL_free(der);
	return rc;
}

/* The cipher's identifier as written for two IVs (all zero bits, all
 * one bits): everything but the IV is the same, so the IV's place is
 * where they differ, and each envelope only writes its IV there. */
static int cipher_template(struct sk_ecies_sender *s)
{
	enum sk_ecies_cipher c = s->alg.cipher;
	size_t ivlen = sk_ecies_ciphers[c].ivlen, i;
	uint8_t zero[16] = { 0 }, ones[16];
	struct sk_buf other = { 0 };
	X509_ALGOR *x;
	int rc;

	memset(ones, 0xff, sizeof(ones));
	x = sk_cipher_algor(c, zero);
	rc = algor_der(x, &s->cipher_der);
	X509_ALGOR_free(x);
	x = sk_cipher_algor(c, ones);
	if (rc == SK_OK)
		rc = algor_der(x, &other);
	X509_ALGOR_free(x);
	if (rc == SK_OK) {
		rc = SK_EFAIL;
		for (i = 0; i < s->cipher_der.len && s->cipher_der.p[i] == other.p[i]; i++)
			;
		if (other.len == s->cipher_der.len && i + ivlen <= other.len &&
		    memcmp(s->cipher_der.p + i + ivlen, other.p + i + ivlen,
			   other.len - i - ivlen) == 0) {
			s->iv_off = i;
			rc = SK_OK;
		}
	}
	sk_buf_free(&other);
	return rc;
}

int sk_ecies_sender_new(const struct sk_ecies_alg *alg, struct sk_ecies_sender **out)
{
	struct sk_ecies_sender *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	s->alg = *alg;
	if (prims_init(&s->pr, alg) != SK_OK) {
		free(s);
		return SK_EFAIL;
	}
	s->kdf_algor = sk_ecies_kdf_algor(alg);
	s->mac_algor = sk_ecies_mac_algor(alg);
	s->fromdata = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (s->kdf_algor == NULL ||
	    s->mac_algor == NULL || s->fromdata == NULL || EVP_PKEY_fromdata_init(s->fromdata) <= 0 ||
	    algor_der(s->kdf_algor, &s->kdf_der) != SK_OK ||
	    algor_der(s->mac_algor, &s->mac_der) != SK_OK || cipher_template(s) != SK_OK) {
		sk_ecies_sender_free(s);
		return sk_err_ssl(SK_EFAIL, "setting up ECIES");
	}
	*out = s;
	return SK_OK;
}

/* The SubjectPublicKeyInfo of an ephemeral key on curve c (named curve,
 * uncompressed point) up to the point: written once per curve by the
 * SPKI template, the point being the last bytes of its DER. */
static int spki_head(struct sk_ecies_sender *s, int c, const uint8_t *pt, size_t ptlen)
{
	SK_SPKI *k = SK_SPKI_new();
	unsigned char *der = NULL;
	int len = -1, rc = SK_EFAIL;

	if (k != NULL &&
	    X509_ALGOR_set0(k->alg, OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
			    OBJ_nid2obj(curves[c].nid)) &&
	    ASN1_BIT_STRING_set(k->key, (unsigned char *)pt, (int)ptlen)) {
		/* DER BIT STRING: no unused bits */
		k->key->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
		k->key->flags |= ASN1_STRING_FLAG_BITS_LEFT;
		len = i2d_SK_SPKI(k, &der);
	}
	if (len > (int)ptlen && memcmp(der + len - (int)ptlen, pt, ptlen) == 0)
		rc = sk_buf_add(&s->spki_head[c], der, (size_t)len - ptlen);
	OPENSSL_free(der);
	SK_SPKI_free(k);
	return rc;
}

/* A DER OCTET STRING of p into b. */
static int der_octets(struct sk_buf *b, const uint8_t *p, size_t n)
{
	uint8_t hdr[10];
	size_t h = sk_der_header(0x04, n, hdr);

	if (sk_buf_add(b, hdr, h) != SK_OK)
		return SK_EFAIL;
	return sk_buf_add(b, p, n);
}

/* Kenc || Kmac; the default (HKDF-SHA256) without the EVP machinery. */
static int seal_kdf(struct sk_ecies_sender *s, const uint8_t *z, size_t zlen, const uint8_t *r,
		    const char *info, uint8_t *keys, size_t klen)
{
	if (s->alg.kdf == SK_ECIES_HKDF_SHA256)
		return sk_hkdf_sha256(z, zlen, r, R_LEN, info, strlen(info), keys, klen);
	return kdf_run(&s->pr, &s->alg, z, zlen, r, info, keys, klen);
}

/* The MAC over the envelope's fields before the tag (all of env). */
static int seal_mac(struct sk_ecies_sender *s, const uint8_t *kmac, const struct sk_buf *env,
		    uint8_t *tag)
{
	EVP_MAC_CTX *m = s->pr.mac;
	size_t len = 0, want = sk_ecies_macs[s->alg.mac].len;

	if (s->alg.mac == SK_ECIES_HMAC_SHA256) {
		sk_hmac_sha256(kmac, want, env->p, env->len, tag);
		return SK_OK;
	}
	if (EVP_MAC_init(m, kmac, want, NULL) != 1 || EVP_MAC_update(m, env->p, env->len) != 1 ||
	    EVP_MAC_final(m, tag, &len, EVP_MAX_MD_SIZE) != 1 || len != want)
		return sk_err_ssl(SK_EFAIL, "HMAC");
	return SK_OK;
}

/* ECDH of a new ephemeral key on curve c with the device key: z, and the
 * ephemeral key's point into pt.  The device key was checked when it was
 * parsed (point on the curve; all three curves have cofactor 1), and
 * sk_ecdh_ephemeral checks the point again: no full public-key check,
 * which would cost a second scalar multiplication per device. */
static int seal_ecdh(struct sk_ecies_sender *s, EVP_PKEY *device_pub, int c, uint8_t *z,
		     uint8_t *pt, size_t ptcap, size_t *ptlen)
{
	uint8_t dev[1 + 2 * 66];
	size_t devlen = 0;
	int rc;

	if (s->ecdh[c] == NULL && (rc = sk_ecdh_new(curves[c].nid, &s->ecdh[c])) != SK_OK)
		return rc;
	if (device_pub == s->devkey[c])
		return sk_ecdh_ephemeral(s->ecdh[c], s->devpt[c], 1 + 2 * curves[c].zlen, z, pt, ptcap,
					 ptlen);
	if (!EVP_PKEY_get_octet_string_param(device_pub, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, dev,
					     sizeof(dev), &devlen))
		return sk_err_ssl(SK_EFAIL, "device key");
	return sk_ecdh_ephemeral(s->ecdh[c], dev, devlen, z, pt, ptcap, ptlen);
}

/* The curve of a device key: the sender's own key objects (fast_spki
 * reuses one per curve) by address, other keys by their group name. */
static int sender_curve_of(const struct sk_ecies_sender *s, EVP_PKEY *pub)
{
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(curves); i++)
		if (pub == s->devkey[i])
			return (int)i;
	return curve_of(pub);
}

/*
 * The envelope is written as DER here, field by field, with the pieces
 * that are the same for every envelope written once by the templates
 * (sk_ecies_sender_new, spki_head): the same bytes as the SK_ECIES
 * template gives, which every reader checks (sk_asn1_decode re-encodes them),
 * without building and freeing a dozen ASN.1 objects per device.
 */
int sk_ecies_seal_der(struct sk_ecies_sender *s, EVP_PKEY *device_pub, const char *context,
		      const uint8_t *plain, size_t n, struct sk_buf *out)
{
	const struct sk_ecies_alg *a = &s->alg;
	struct sk_buf env = { 0 }, ct = { 0 };
	uint8_t z[66], rnd[R_LEN + 16], keys[KENC_LEN + 64], tag[EVP_MAX_MD_SIZE], pt[1 + 2 * 66];
	uint8_t hdr[10];
	size_t klen = KENC_LEN + sk_ecies_macs[a->mac].len, ivlen = sk_ecies_ciphers[a->cipher].ivlen;
	size_t ptlen = 0, taglen = sk_ecies_macs[a->mac].len, h, ivat;
	char info[128];
	int c, rc;

	if (n > PLAIN_MAX)
		return sk_err(SK_EFAIL, "ECIES: plaintext too large");
	if ((c = sender_curve_of(s, device_pub)) < 0)
		return sk_ecies_check_key(device_pub, NULL);
	info_string(info, sizeof(info), context, a);
	/* R and the IV from the pool the ephemeral key is drawn from */
	if ((rc = seal_ecdh(s, device_pub, c, z, pt, sizeof(pt), &ptlen)) != SK_OK ||
	    (rc = sk_ecdh_random(s->ecdh[c], rnd, R_LEN + ivlen)) != SK_OK ||
	    (rc = seal_kdf(s, z, curves[c].zlen, rnd, info, keys, klen)) != SK_OK ||
	    (rc = sym(&s->pr, 1, a->cipher, keys, rnd + R_LEN, plain, n, &ct)) != SK_OK)
		goto out;
	if (s->spki_head[c].len == 0 && (rc = spki_head(s, c, pt, ptlen)) != SK_OK) {
		rc = sk_err_ssl(SK_EFAIL, "encoding the ephemeral key");
		goto out;
	}
	ivat = s->spki_head[c].len + ptlen + 2 + R_LEN + s->kdf_der.len + s->iv_off;
	rc = SK_EFAIL;
	if (sk_buf_reserve(&env, ivat + s->cipher_der.len + s->mac_der.len + ct.len + 16) != SK_OK ||
	    sk_buf_add(&env, s->spki_head[c].p, s->spki_head[c].len) != SK_OK ||
	    sk_buf_add(&env, pt, ptlen) != SK_OK || der_octets(&env, rnd, R_LEN) != SK_OK ||
	    sk_buf_add(&env, s->kdf_der.p, s->kdf_der.len) != SK_OK ||
	    sk_buf_add(&env, s->cipher_der.p, s->cipher_der.len) != SK_OK ||
	    sk_buf_add(&env, s->mac_der.p, s->mac_der.len) != SK_OK ||
	    der_octets(&env, ct.p, ct.len) != SK_OK)
		goto out;
	memcpy(env.p + ivat, rnd + R_LEN, ivlen);
	if ((rc = seal_mac(s, keys + KENC_LEN, &env, tag)) != SK_OK)
		goto out;
	h = sk_der_header(0x30, env.len + sk_der_tlv_size(taglen), hdr);
	rc = SK_EFAIL;
	if (sk_buf_add(out, hdr, h) == SK_OK && sk_buf_add(out, env.p, env.len) == SK_OK &&
	    der_octets(out, tag, taglen) == SK_OK)
		rc = SK_OK;
out:
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(keys, sizeof(keys));
	sk_buf_free(&env);
	sk_buf_free(&ct);
	return rc;
}

int sk_ecies_seal(struct sk_ecies_sender *s, EVP_PKEY *device_pub, const char *context,
		  const uint8_t *plain, size_t n, SK_ECIES **out)
{
	struct sk_buf der = { 0 };
	int rc;

	*out = NULL;
	if ((rc = sk_ecies_seal_der(s, device_pub, context, plain, n, &der)) == SK_OK) {
		const unsigned char *q = der.p;

		if ((*out = d2i_SK_ECIES(NULL, &q, (long)der.len)) == NULL)
			rc = sk_err_ssl(SK_EFAIL, "ECIES envelope");
	}
	sk_buf_free(&der);
	return rc;
}

/* Z: the x-coordinate, left-padded to the field size (a backend may drop
 * leading zero bytes; the KDF input must not depend on that). */
static int normalise_z(struct sk_buf *z, size_t zlen)
{
	if (z->len == zlen)
		return SK_OK;
	if (z->len > zlen)
		return sk_err(SK_EFAIL, "ECDH returned %zu bytes, expected %zu", z->len, zlen);
	if (sk_buf_reserve(z, zlen - z->len) != SK_OK)
		return SK_EFAIL;
	memmove(z->p + (zlen - z->len), z->p, z->len);
	memset(z->p, 0, zlen - z->len);
	z->len = zlen;
	return SK_OK;
}

/*
 * The ephemeral public key, through the standard SPKI decoder, in the one
 * encoding ecies.md gives: id-ecPublicKey with a named curve and an
 * uncompressed point (a compressed or hybrid point, explicit parameters,
 * unused bits: NULL).
 */
static EVP_PKEY *ephemeral_key(const SK_ECIES *env)
{
	unsigned char *der = NULL;
	const unsigned char *q;
	const ASN1_OBJECT *o;
	const void *pv;
	const uint8_t *pt;
	EVP_PKEY *pk = NULL;
	int len, ptype, c;

	X509_ALGOR_get0(&o, &ptype, &pv, env->ephemeral->alg);
	pt = ASN1_STRING_get0_data(env->ephemeral->key);
	if (OBJ_obj2nid(o) != NID_X9_62_id_ecPublicKey || ptype != V_ASN1_OBJECT ||
	    (env->ephemeral->key->flags & 0x07) || ASN1_STRING_length(env->ephemeral->key) < 1 ||
	    pt[0] != 0x04)
		return NULL;
	len = i2d_SK_SPKI(env->ephemeral, &der);
	if (len > 0) {
		q = der;
		pk = d2i_PUBKEY(NULL, &q, len);
		if (pk != NULL && (q != der + len || (c = curve_of(pk)) < 0 ||
				   (size_t)ASN1_STRING_length(env->ephemeral->key) !=
					   1 + 2 * curves[c].zlen)) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
	}
	OPENSSL_free(der);
	ERR_clear_error();
	return pk;
}

int sk_ecies_describe(const SK_ECIES *env, struct sk_ecies_alg *alg, char curve[32])
{
	uint8_t iv[16];
	EVP_PKEY *eph;
	int rc, c;

	if ((rc = sk_ecies_parse_algs(env, alg, iv)) != SK_OK)
		return rc;
	if ((eph = ephemeral_key(env)) == NULL)
		return sk_err(SK_EVERIFY, "ECIES: the ephemeral key is malformed (it must be an uncompressed point on a named curve)");
	c = curve_of(eph);
	EVP_PKEY_free(eph);
	if (c < 0)
		return sk_err(SK_EVERIFY, "ECIES: the ephemeral key is not on P-256, P-384 or P-521");
	snprintf(curve, 32, "%s", curves[c].label);
	return SK_OK;
}

int sk_ecies_open(struct sk_key *device_key, const SK_ECIES *env, const char *context,
		  struct sk_buf *plain, struct sk_ecies_alg *alg_out)
{
	struct sk_ecies_alg a;
	struct sk_buf z = { 0 };
	struct prims pr = { 0 };
	EVP_PKEY *eph = NULL;
	uint8_t iv[16], keys[KENC_LEN + 64], tag[EVP_MAX_MD_SIZE];
	char info[128];
	int rc, c, dc;

	if ((rc = sk_ecies_parse_algs(env, &a, iv)) != SK_OK)
		return rc;
	if (alg_out != NULL)
		*alg_out = a;
	if (ASN1_STRING_length(env->random) != R_LEN)
		return sk_err(SK_EVERIFY, "ECIES: the random number must be %d bytes", R_LEN);
	if ((size_t)ASN1_STRING_length(env->tag) != sk_ecies_macs[a.mac].len)
		return sk_err(SK_EVERIFY, "ECIES: MAC tag has the wrong length");
	if ((eph = ephemeral_key(env)) == NULL || (c = curve_of(eph)) < 0) {
		rc = sk_err(SK_EVERIFY, "ECIES: the ephemeral key is malformed, compressed or not on P-256, P-384 or P-521");
		goto out;
	}
	if (device_key->info.pub == NULL || (dc = curve_of(device_key->info.pub)) < 0) {
		rc = sk_err(SK_EUNSUPP, "key '%s' (%s) is not an EC key on P-256, P-384 or P-521",
			    device_key->info.name, device_key->info.type->name);
		goto out;
	}
	if (dc != c) {
		rc = sk_err(SK_EVERIFY, "encrypted to a %s key, but key '%s' is %s (not for this device)",
			    curves[c].label, device_key->info.name, curves[dc].label);
		goto out;
	}
	/* The one private-key operation, done by the backend. */
	if ((rc = sk_key_derive(device_key, eph, &z)) != SK_OK ||
	    (rc = normalise_z(&z, curves[c].zlen)) != SK_OK)
		goto out;
	if ((rc = prims_init(&pr, &a)) != SK_OK)
		goto out;
	info_string(info, sizeof(info), context, &a);
	if ((rc = kdf_run(&pr, &a, z.p, z.len, ASN1_STRING_get0_data(env->random), info, keys,
			  KENC_LEN + sk_ecies_macs[a.mac].len)) != SK_OK ||
	    (rc = mac_compute(&pr, &a, keys + KENC_LEN, env, tag)) != SK_OK)
		goto out;
	if (!sk_ct_equal(tag, ASN1_STRING_get0_data(env->tag), sk_ecies_macs[a.mac].len)) {
		rc = sk_err(SK_EVERIFY, "ECIES MAC does not match (tampered, or encrypted to another device key)");
		goto out;
	}
	rc = sym(&pr, 0, a.cipher, keys, iv, ASN1_STRING_get0_data(env->ciphertext),
		 (size_t)ASN1_STRING_length(env->ciphertext), plain);
out:
	OPENSSL_cleanse(keys, sizeof(keys));
	sk_buf_cleanse_free(&z);
	prims_free(&pr);
	EVP_PKEY_free(eph);
	return rc;
}

