/* SPDX-License-Identifier: MIT */
/* pkcs11 backend: token objects -- searching, attributes, public keys,
 * the private keys that are seckit keys (pkcs11_int.h). */
#ifdef SECKIT_HAVE_PKCS11

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "backend/pkcs11_int.h"
#include "base/err.h"
#include "base/util.h"

#define BLOB_VERSION 3
#define BLOB_LEN 19     /* then 8 bytes per allowed mechanism */

/* ---- objects ---- */

/* Every object matching tmpl, into *h (malloc'ed), *n of them. */
int sk_p11_find_objects(struct p11_backend *be, CK_ATTRIBUTE *tmpl, CK_ULONG nt,
			CK_OBJECT_HANDLE **h, CK_ULONG *n)
{
	CK_OBJECT_HANDLE buf[32];
	CK_ULONG got = 0;
	CK_RV rv;

	*h = NULL;
	*n = 0;
	if ((rv = P11(be, C_FindObjectsInit, be->s, tmpl, nt)) != CKR_OK)
		return sk_p11_fail(be, rv, "searching objects");
	do {
		CK_OBJECT_HANDLE *p;

		if ((rv = P11(be, C_FindObjects, be->s, buf, SK_ARRAY_SIZE(buf), &got)) != CKR_OK)
			break;
		if (got == 0)
			break;
		if ((p = realloc(*h, (*n + got) * sizeof(**h))) == NULL) {
			P11(be, C_FindObjectsFinal, be->s);
			free(*h);
			*h = NULL;
			return sk_err(SK_EFAIL, "out of memory");
		}
		*h = p;
		memcpy(*h + *n, buf, got * sizeof(*buf));
		*n += got;
	} while (got == SK_ARRAY_SIZE(buf));
	P11(be, C_FindObjectsFinal, be->s);
	if (rv != CKR_OK) {
		free(*h);
		*h = NULL;
		*n = 0;
		return sk_p11_fail(be, rv, "searching objects");
	}
	return SK_OK;
}

/* One attribute's value, malloc'ed into *v (*n bytes); SK_ENOTFOUND if
 * the object does not have it or will not say. */
int sk_p11_get_attr(struct p11_backend *be, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t,
		    uint8_t **v, size_t *n)
{
	CK_ATTRIBUTE a = { t, NULL, 0 };
	CK_RV rv;

	*v = NULL;
	*n = 0;
	rv = P11(be, C_GetAttributeValue, be->s, o, &a, 1);
	if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return SK_ENOTFOUND;
	if (rv != CKR_OK)
		return sk_p11_fail(be, rv, "reading an attribute");
	if ((a.pValue = malloc(a.ulValueLen + 1)) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	if ((rv = P11(be, C_GetAttributeValue, be->s, o, &a, 1)) != CKR_OK) {
		free(a.pValue);
		return sk_p11_fail(be, rv, "reading an attribute");
	}
	((uint8_t *)a.pValue)[a.ulValueLen] = '\0';
	*v = a.pValue;
	*n = a.ulValueLen;
	return SK_OK;
}

/* An EC public key from CKA_EC_PARAMS (a named curve's OID) and
 * CKA_EC_POINT (DER OCTET STRING, or the bare point from some tokens). */
static int ec_pub(const uint8_t *params, size_t plen, const uint8_t *point, size_t qlen,
		  EVP_PKEY **out)
{
	const unsigned char *p = params;
	ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &p, (long)plen);
	ASN1_OCTET_STRING *os = NULL;
	const uint8_t *q = point;
	size_t n = qlen;
	OSSL_PARAM_BLD *b = NULL;
	OSSL_PARAM *ps = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	const char *group;
	int rc = SK_EUNSUPP;

	*out = NULL;
	if (oid == NULL || (group = OBJ_nid2sn(OBJ_obj2nid(oid))) == NULL ||
	    OBJ_obj2nid(oid) == NID_undef) {
		rc = sk_err(SK_EUNSUPP, "the token's EC key is on a curve seckit does not know");
		goto out;
	}
	p = point;
	if ((os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)qlen)) != NULL && p == point + qlen) {
		q = ASN1_STRING_get0_data(os);
		n = (size_t)ASN1_STRING_length(os);
	} else if (qlen > 2 && point[0] == V_ASN1_OCTET_STRING && point[1] == qlen - 2) {
		/* tpm2-pkcs11 (1.9) writes a P-521 point's length, 133, in one
		 * byte (0x85): not DER, whose long form is 0x81 0x85, but
		 * unambiguous. */
		q = point + 2;
		n = qlen - 2;
	}
	if ((b = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, q, n) ||
	    (ps = OSSL_PARAM_BLD_to_param(b)) == NULL ||
	    (pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, out, EVP_PKEY_PUBLIC_KEY, ps) <= 0) {
		rc = sk_err_ssl(SK_EVERIFY, "the token's EC public key is malformed");
		goto out;
	}
	rc = SK_OK;
out:
	ERR_clear_error();
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(os);
	OSSL_PARAM_free(ps);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

static int rsa_pub(const uint8_t *mod, size_t mlen, const uint8_t *exp, size_t elen,
		   EVP_PKEY **out)
{
	BIGNUM *n = BN_bin2bn(mod, (int)mlen, NULL), *e = BN_bin2bn(exp, (int)elen, NULL);
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *ps = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int rc = SK_OK;

	*out = NULL;
	if (n == NULL || e == NULL || b == NULL ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e) ||
	    (ps = OSSL_PARAM_BLD_to_param(b)) == NULL ||
	    (pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, out, EVP_PKEY_PUBLIC_KEY, ps) <= 0)
		rc = sk_err_ssl(SK_EVERIFY, "the token's RSA public key is malformed");
	BN_free(n);
	BN_free(e);
	OSSL_PARAM_free(ps);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

/* The public key of an object (a public key, or a private key that shows
 * its public part: RSA's modulus, some tokens' CKA_EC_POINT). */
static int obj_pub(struct p11_backend *be, CK_OBJECT_HANDLE o, CK_KEY_TYPE kt, EVP_PKEY **out)
{
	uint8_t *a = NULL, *b = NULL;
	size_t an, bn;
	int rc;

	*out = NULL;
	if (kt == CKK_EC) {
		if ((rc = sk_p11_get_attr(be, o, CKA_EC_PARAMS, &a, &an)) == SK_OK &&
		    (rc = sk_p11_get_attr(be, o, CKA_EC_POINT, &b, &bn)) == SK_OK)
			rc = ec_pub(a, an, b, bn, out);
	} else if (kt == CKK_RSA) {
		if ((rc = sk_p11_get_attr(be, o, CKA_MODULUS, &a, &an)) == SK_OK &&
		    (rc = sk_p11_get_attr(be, o, CKA_PUBLIC_EXPONENT, &b, &bn)) == SK_OK)
			rc = rsa_pub(a, an, b, bn, out);
	} else {
		rc = SK_EUNSUPP;
	}
	free(a);
	free(b);
	return rc;
}

/* A private key's partner: the public-key object with its CKA_ID (or,
 * without one, its label); CK_INVALID_HANDLE if there is none. */
static int find_pub(struct p11_backend *be, const uint8_t *id, size_t idlen, const char *label,
		    CK_OBJECT_HANDLE *out)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_OBJECT_HANDLE *h;
	CK_ULONG n;
	int rc;

	*out = CK_INVALID_HANDLE;
	if (idlen > 0) {
		t[1].type = CKA_ID;
		t[1].pValue = (void *)id;
		t[1].ulValueLen = idlen;
	} else {
		t[1].type = CKA_LABEL;
		t[1].pValue = (void *)label;
		t[1].ulValueLen = strlen(label);
	}
	if ((rc = sk_p11_find_objects(be, t, 2, &h, &n)) != SK_OK)
		return rc;
	if (n > 0)
		*out = h[0];
	free(h);
	return SK_OK;
}

/* The public-key object beside private key o (CK_INVALID_HANDLE: none). */
int sk_p11_find_partner(struct p11_backend *be, CK_OBJECT_HANDLE o, CK_OBJECT_HANDLE *out)
{
	uint8_t *label = NULL, *id = NULL;
	size_t ln = 0, idn = 0;
	int rc;

	*out = CK_INVALID_HANDLE;
	if ((rc = sk_p11_get_attr(be, o, CKA_LABEL, &label, &ln)) != SK_OK && rc != SK_ENOTFOUND)
		return rc;
	if ((rc = sk_p11_get_attr(be, o, CKA_ID, &id, &idn)) == SK_OK || rc == SK_ENOTFOUND)
		rc = find_pub(be, id, idn, label != NULL ? (char *)label : "", out);
	free(label);
	free(id);
	return rc;
}

/* The key's public key from the partner object (a search), or from o
 * itself (RSA's modulus, some tokens' CKA_EC_POINT): the slow way, for
 * a private key that does not carry its CKA_PUBLIC_KEY_INFO. */
static int pub_by_search(struct p11_backend *be, CK_OBJECT_HANDLE o, CK_KEY_TYPE ktype,
			 const uint8_t *id, size_t idn, struct sk_p11_key *k)
{
	int rc;

	if ((rc = find_pub(be, id, idn, k->name, &k->pubh)) != SK_OK)
		return rc;
	rc = SK_ENOTFOUND;
	if (k->pubh != CK_INVALID_HANDLE)
		rc = obj_pub(be, k->pubh, ktype, &k->pub);
	if (rc == SK_ENOTFOUND)
		rc = obj_pub(be, o, ktype, &k->pub);
	return rc;
}

/* A DER SubjectPublicKeyInfo (CKA_PUBLIC_KEY_INFO) as the public key of
 * a key of type ktype; SK_ENOTFOUND if it is not one. */
static int pub_of_spki(const uint8_t *der, size_t n, CK_KEY_TYPE ktype, EVP_PKEY **out)
{
	const unsigned char *p = der;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)n);

	ERR_clear_error();
	if (pk == NULL || p != der + n ||
	    !EVP_PKEY_is_a(pk, ktype == CKK_EC ? "EC" : ktype == CKK_RSA ? "RSA" : "-")) {
		EVP_PKEY_free(pk);
		return SK_ENOTFOUND;
	}
	*out = pk;
	return SK_OK;
}

/* The type of a private key from its own attributes (an EC key's
 * CKA_EC_PARAMS, an RSA key's CKA_MODULUS; NULL if not read), without its
 * public key; SK_ENOTFOUND (no error set) when they do not tell a type
 * seckit has: the public key then decides, and says why not. */
static int type_of_attrs(CK_KEY_TYPE ktype, const uint8_t *params, size_t plen,
			 const uint8_t *mod, size_t mlen, const struct sk_keytype **kt)
{
	const unsigned char *p = params;
	ASN1_OBJECT *oid;
	const char *group;
	unsigned bits, c;

	*kt = NULL;
	if (ktype == CKK_EC && params != NULL) {
		if ((oid = d2i_ASN1_OBJECT(NULL, &p, (long)plen)) != NULL && p == params + plen &&
		    OBJ_obj2nid(oid) != NID_undef && (group = OBJ_nid2sn(OBJ_obj2nid(oid))) != NULL)
			*kt = sk_keytype_of_group(group);
		ASN1_OBJECT_free(oid);
	} else if (ktype == CKK_RSA && mod != NULL) {
		while (mlen > 0 && mod[0] == 0) {
			mod++;
			mlen--;
		}
		if (mlen > 0 && mlen <= 1024) {
			bits = (unsigned)mlen * 8;
			for (c = mod[0]; !(c & 0x80); c <<= 1)
				bits--;
			*kt = sk_keytype_of_rsa_bits(bits);
		}
	}
	ERR_clear_error();
	sk_err_clear();
	return *kt != NULL ? SK_OK : SK_ENOTFOUND;
}

/* The kind of a secret key's CKA_KEY_TYPE (AES, or HMAC: a generic secret
 * or an HMAC key type), -1 for a key type that is not a secret key's. */
static int secret_type(CK_KEY_TYPE t)
{
	switch (t) {
	case CKK_AES: return SK_KIND_AES;
	case CKK_GENERIC_SECRET:
	case CKK_SHA256_HMAC:
	case CKK_SHA384_HMAC:
	case CKK_SHA512_HMAC: return SK_KIND_HMAC;
	default: return -1;
	}
}

/* seckit's type of a secret key of key type t and vlen bytes: the HMAC
 * type by the length (hmac-sha256 is a 32-byte key), which an HMAC key
 * type must agree with; NULL if seckit has none. */
static const struct sk_keytype *secret_type_of(CK_KEY_TYPE t, CK_ULONG vlen)
{
	const struct sk_keytype *kt;

	if (vlen > 64 || (kt = sk_keytype_of_bits(secret_type(t), (unsigned)vlen * 8)) == NULL)
		return NULL;
	if ((t == CKK_SHA256_HMAC && vlen != 32) || (t == CKK_SHA384_HMAC && vlen != 48) ||
	    (t == CKK_SHA512_HMAC && vlen != 64))
		return NULL;
	return kt;
}

/*
 * Describe private-key object o: its label, type, public key, whether it
 * wants a login at each use.  SK_EUNSUPP for a key seckit has no type for.
 * A secret-key object (AES, HMAC) is described too: its type from
 * CKA_KEY_TYPE and CKA_VALUE_LEN, and no public key.
 *
 * One C_GetAttributeValue asks for everything, each into a buffer that
 * holds any value seckit can use; the public key comes from the private
 * object itself when it carries it (CKA_PUBLIC_KEY_INFO, which seckit
 * sets on the keys it makes; RSA's modulus and exponent; CKA_EC_POINT on
 * some tokens), so a key is one object search and one attribute call.
 * Otherwise, or for a value too long for its buffer, the partner object
 * is searched and the attributes are read one by one.  Without want_pub,
 * a type that o's own attributes give is enough: nothing more is read.
 */
static int describe(struct p11_backend *be, CK_OBJECT_HANDLE o, struct sk_p11_key *k, int want_pub)
{
	enum { A_TYPE, A_SENS, A_EXTR, A_LOCAL, A_VLEN, A_LABEL, A_ID, A_AUTH, A_SPKI, A_MOD, A_EXP, A_PARAMS, A_POINT, A_MECHS, A_N };
	CK_MECHANISM_TYPE mechs[SK_P11_MAX_ALLOWED];
	CK_KEY_TYPE ktype = CK_UNAVAILABLE_INFORMATION;
	CK_BBOOL aa = CK_FALSE, sens = CK_TRUE, extr = CK_FALSE, local = CK_FALSE;
	CK_ULONG vlen = 0;
	uint8_t label[sizeof(k->name) - 1], id[128], spki[1200], mod[1024], exp[16], params[128],
		point[200];
	CK_ATTRIBUTE a[A_N] = {
		[A_TYPE] = { CKA_KEY_TYPE, &ktype, sizeof(ktype) },
		[A_SENS] = { CKA_SENSITIVE, &sens, sizeof(sens) },
		[A_EXTR] = { CKA_EXTRACTABLE, &extr, sizeof(extr) },
		[A_LOCAL] = { CKA_LOCAL, &local, sizeof(local) },
		[A_VLEN] = { CKA_VALUE_LEN, &vlen, sizeof(vlen) },
		[A_LABEL] = { CKA_LABEL, label, sizeof(label) },
		[A_ID] = { CKA_ID, id, sizeof(id) },
		[A_AUTH] = { CKA_ALWAYS_AUTHENTICATE, &aa, sizeof(aa) },
		[A_SPKI] = { CKA_PUBLIC_KEY_INFO, spki, sizeof(spki) },
		[A_MOD] = { CKA_MODULUS, mod, sizeof(mod) },
		[A_EXP] = { CKA_PUBLIC_EXPONENT, exp, sizeof(exp) },
		[A_PARAMS] = { CKA_EC_PARAMS, params, sizeof(params) },
		[A_POINT] = { CKA_EC_POINT, point, sizeof(point) },
		[A_MECHS] = { CKA_ALLOWED_MECHANISMS, mechs, sizeof(mechs) },
	};
	CK_RV rv;
	int rc, i;

#define HAS(i) (a[i].ulValueLen != CK_UNAVAILABLE_INFORMATION)
	memset(k, 0, sizeof(*k));
	k->priv = o;
	rv = P11(be, C_GetAttributeValue, be->s, o, a, A_N);
	if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE &&
	    rv != CKR_BUFFER_TOO_SMALL)
		return sk_p11_fail(be, rv, "reading a key's attributes");
	if (!HAS(A_TYPE))
		return sk_p11_fail(be, rv, "reading a key's type");
	/* Fixed-size values before the label: a CKR_BUFFER_TOO_SMALL of a
	 * longer one below leaves them valid. */
	k->extractable = (HAS(A_EXTR) && extr == CK_TRUE) || (HAS(A_SENS) && sens == CK_FALSE);
	k->local = HAS(A_LOCAL) ? local == CK_TRUE : -1;
	if (rv == CKR_BUFFER_TOO_SMALL)
		/* A value longer than seckit's buffer: the attributes one by
		 * one (they have their own lengths). */
		for (i = A_LABEL; i < A_N; i++)
			a[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
	if (HAS(A_LABEL)) {
		memcpy(k->name, label, a[A_LABEL].ulValueLen);
	} else {
		uint8_t *v = NULL;
		size_t vn = 0;

		if ((rc = sk_p11_get_attr(be, o, CKA_LABEL, &v, &vn)) != SK_OK && rc != SK_ENOTFOUND)
			return rc;
		snprintf(k->name, sizeof(k->name), "%.*s", (int)vn, v != NULL ? (char *)v : "");
		free(v);
	}
	k->always_auth = HAS(A_AUTH) && aa == CK_TRUE;
	if (HAS(A_MECHS)) {
		k->allowed.n = a[A_MECHS].ulValueLen / sizeof(mechs[0]);
		memcpy(k->allowed.m, mechs, k->allowed.n * sizeof(mechs[0]));
	} else if (rv == CKR_BUFFER_TOO_SMALL) {
		uint8_t *v = NULL;
		size_t vn = 0;

		if ((rc = sk_p11_get_attr(be, o, CKA_ALLOWED_MECHANISMS, &v, &vn)) != SK_OK &&
		    rc != SK_ENOTFOUND)
			return rc;
		sk_err_clear();
		if (vn / sizeof(mechs[0]) <= SK_P11_MAX_ALLOWED) {
			k->allowed.n = vn / sizeof(mechs[0]);
			memcpy(k->allowed.m, v, k->allowed.n * sizeof(mechs[0]));
		}
		free(v);
	}
	if (secret_type(ktype) >= 0) {
		/* A secret key: no public key to find. */
		k->kt = HAS(A_VLEN) ? secret_type_of(ktype, vlen) : NULL;
		return k->kt != NULL ? SK_OK : SK_EUNSUPP;
	}
	if (!want_pub && type_of_attrs(ktype, HAS(A_PARAMS) ? params : NULL, a[A_PARAMS].ulValueLen,
				       HAS(A_MOD) ? mod : NULL, a[A_MOD].ulValueLen, &k->kt) == SK_OK)
		return SK_OK;
	rc = SK_ENOTFOUND;
	if (HAS(A_SPKI) && a[A_SPKI].ulValueLen > 0)
		rc = pub_of_spki(spki, a[A_SPKI].ulValueLen, ktype, &k->pub);
	if (rc == SK_ENOTFOUND && ktype == CKK_RSA && HAS(A_MOD) && HAS(A_EXP))
		rc = rsa_pub(mod, a[A_MOD].ulValueLen, exp, a[A_EXP].ulValueLen, &k->pub);
	if (rc == SK_ENOTFOUND && ktype == CKK_EC && HAS(A_PARAMS) && HAS(A_POINT))
		rc = ec_pub(params, a[A_PARAMS].ulValueLen, point, a[A_POINT].ulValueLen, &k->pub);
	if (rc == SK_ENOTFOUND) {
		uint8_t *idp = NULL;
		size_t idn = 0;

		if (HAS(A_ID)) {
			rc = pub_by_search(be, o, ktype, id, a[A_ID].ulValueLen, k);
		} else if ((rc = sk_p11_get_attr(be, o, CKA_ID, &idp, &idn)) == SK_OK ||
			   rc == SK_ENOTFOUND) {
			rc = pub_by_search(be, o, ktype, idp, idn, k);
			free(idp);
		}
	}
#undef HAS
	if (rc == SK_ENOTFOUND)
		rc = sk_err(SK_EUNSUPP, "token '%s': key '%s' has no public key on the token",
			    be->label, k->name);
	if (rc == SK_OK && (k->kt = sk_keytype_of_pkey(k->pub)) == NULL)
		rc = SK_EUNSUPP;
	if (rc != SK_OK) {
		EVP_PKEY_free(k->pub);
		k->pub = NULL;
	}
	return rc;
}

int sk_p11_describe(struct p11_backend *be, CK_OBJECT_HANDLE o, struct sk_p11_key *k)
{
	return describe(be, o, k, 1);
}

int sk_p11_describe_type(struct p11_backend *be, CK_OBJECT_HANDLE o, struct sk_p11_key *k)
{
	return describe(be, o, k, 0);
}

/* Record key pub on private key o as its CKA_PUBLIC_KEY_INFO, so that
 * describing it later needs no search for its partner.  A token that
 * refuses the attribute is not an error: the partner is searched then. */
void sk_p11_set_pub_info(struct p11_backend *be, CK_OBJECT_HANDLE o, EVP_PKEY *pub)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pub, &der);
	CK_ATTRIBUTE a = { CKA_PUBLIC_KEY_INFO, der, n > 0 ? (CK_ULONG)n : 0 };

	if (n > 0)
		P11(be, C_SetAttributeValue, be->s, o, &a, 1);
	ERR_clear_error();
	OPENSSL_free(der);
}

int sk_p11_blob_of(const struct sk_p11_key *k, struct sk_buf *blob)
{
	uint8_t b[BLOB_LEN + 8 * SK_P11_MAX_ALLOWED];
	size_t i;

	b[0] = BLOB_VERSION;
	sk_put_be64(b + 1, (uint64_t)k->priv);
	sk_put_be64(b + 9, (uint64_t)k->pubh);
	b[17] = k->always_auth ? 1 : 0;
	b[18] = (uint8_t)k->allowed.n;
	for (i = 0; i < k->allowed.n; i++)
		sk_put_be64(b + BLOB_LEN + 8 * i, (uint64_t)k->allowed.m[i]);
	return sk_buf_add(blob, b, BLOB_LEN + 8 * k->allowed.n);
}

int sk_p11_blob_parse(const uint8_t *blob, size_t n, CK_OBJECT_HANDLE *priv,
		      CK_OBJECT_HANDLE *pub, int *always_auth, struct sk_p11_allowed *allowed)
{
	size_t i;

	if (n < BLOB_LEN || blob[0] != BLOB_VERSION || blob[17] > 1 ||
	    blob[18] > SK_P11_MAX_ALLOWED || n != BLOB_LEN + 8 * (size_t)blob[18])
		return sk_err(SK_EVERIFY, "key reference is malformed");
	*priv = (CK_OBJECT_HANDLE)sk_get_be64(blob + 1);
	*pub = (CK_OBJECT_HANDLE)sk_get_be64(blob + 9);
	*always_auth = blob[17];
	if (allowed != NULL) {
		allowed->n = blob[18];
		for (i = 0; i < allowed->n; i++)
			allowed->m[i] = (CK_MECHANISM_TYPE)sk_get_be64(blob + BLOB_LEN + 8 * i);
	}
	return SK_OK;
}

#endif /* SECKIT_HAVE_PKCS11 */
