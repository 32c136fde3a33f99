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

#define BLOB_VERSION 1

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
	if ((rv = be->f->C_FindObjectsInit(be->s, tmpl, nt)) != CKR_OK)
		return sk_p11_fail(be, rv, "searching objects");
	do {
		CK_OBJECT_HANDLE *p;

		if ((rv = be->f->C_FindObjects(be->s, buf, SK_ARRAY_SIZE(buf), &got)) != CKR_OK)
			break;
		if (got == 0)
			break;
		if ((p = realloc(*h, (*n + got) * sizeof(**h))) == NULL) {
			be->f->C_FindObjectsFinal(be->s);
			free(*h);
			*h = NULL;
			return sk_err(SK_EFAIL, "out of memory");
		}
		*h = p;
		memcpy(*h + *n, buf, got * sizeof(*buf));
		*n += got;
	} while (got == SK_ARRAY_SIZE(buf));
	be->f->C_FindObjectsFinal(be->s);
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
	rv = be->f->C_GetAttributeValue(be->s, o, &a, 1);
	if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return SK_ENOTFOUND;
	if (rv != CKR_OK)
		return sk_p11_fail(be, rv, "reading an attribute");
	if ((a.pValue = malloc(a.ulValueLen + 1)) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	if ((rv = be->f->C_GetAttributeValue(be->s, o, &a, 1)) != CKR_OK) {
		free(a.pValue);
		return sk_p11_fail(be, rv, "reading an attribute");
	}
	((uint8_t *)a.pValue)[a.ulValueLen] = '\0';
	*v = a.pValue;
	*n = a.ulValueLen;
	return SK_OK;
}

int sk_p11_get_bool(struct p11_backend *be, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t)
{
	CK_BBOOL b = CK_FALSE;
	CK_ATTRIBUTE a = { t, &b, sizeof(b) };

	return be->f->C_GetAttributeValue(be->s, o, &a, 1) == CKR_OK && b == CK_TRUE;
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


/* Describe private-key object o: its label, type, public key.
 * SK_EUNSUPP for a key seckit has no type for. */
int sk_p11_describe(struct p11_backend *be, CK_OBJECT_HANDLE o, struct sk_p11_key *k)
{
	CK_KEY_TYPE ktype = CK_UNAVAILABLE_INFORMATION;
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, &ktype, sizeof(ktype) };
	uint8_t *label = NULL, *id = NULL;
	size_t ln = 0, idn = 0;
	CK_RV rv;
	int rc;

	memset(k, 0, sizeof(*k));
	k->priv = o;
	if ((rv = be->f->C_GetAttributeValue(be->s, o, &a, 1)) != CKR_OK)
		return sk_p11_fail(be, rv, "reading a key's type");
	if ((rc = sk_p11_get_attr(be, o, CKA_LABEL, &label, &ln)) != SK_OK && rc != SK_ENOTFOUND)
		return rc;
	if ((rc = sk_p11_get_attr(be, o, CKA_ID, &id, &idn)) != SK_OK && rc != SK_ENOTFOUND) {
		free(label);
		return rc;
	}
	snprintf(k->name, sizeof(k->name), "%.*s", (int)ln, label ? (char *)label : "");
	if ((rc = find_pub(be, id, idn, k->name, &k->pubh)) != SK_OK)
		goto out;
	rc = SK_ENOTFOUND;
	if (k->pubh != CK_INVALID_HANDLE)
		rc = obj_pub(be, k->pubh, ktype, &k->pub);
	if (rc == SK_ENOTFOUND)
		rc = obj_pub(be, o, ktype, &k->pub);
	if (rc == SK_ENOTFOUND)
		rc = sk_err(SK_EUNSUPP, "token '%s': key '%s' has no public key on the token",
			    be->label, k->name);
	if (rc == SK_OK && (k->kt = sk_keytype_of_pkey(k->pub)) == NULL)
		rc = SK_EUNSUPP;
out:
	if (rc != SK_OK) {
		EVP_PKEY_free(k->pub);
		k->pub = NULL;
	}
	free(label);
	free(id);
	return rc;
}

int sk_p11_blob_of(const struct sk_p11_key *k, struct sk_buf *blob)
{
	uint8_t b[17];

	b[0] = BLOB_VERSION;
	sk_put_be64(b + 1, (uint64_t)k->priv);
	sk_put_be64(b + 9, (uint64_t)k->pubh);
	return sk_buf_add(blob, b, sizeof(b));
}

int sk_p11_blob_parse(const uint8_t *blob, size_t n, CK_OBJECT_HANDLE *priv,
		      CK_OBJECT_HANDLE *pub)
{
	if (n != 17 || blob[0] != BLOB_VERSION)
		return sk_err(SK_EVERIFY, "key reference is malformed");
	*priv = (CK_OBJECT_HANDLE)sk_get_be64(blob + 1);
	*pub = (CK_OBJECT_HANDLE)sk_get_be64(blob + 9);
	return SK_OK;
}

#endif /* SECKIT_HAVE_PKCS11 */
