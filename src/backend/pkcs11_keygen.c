/* SPDX-License-Identifier: MIT */
/* pkcs11 backend: keys made on the token (C_GenerateKeyPair,
 * C_GenerateKey) or imported into it (C_CreateObject), as key pairs and
 * secret keys of ours (pkcs11_int.h). */
#ifdef SECKIT_HAVE_PKCS11

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "backend/pkcs11_int.h"
#include "base/err.h"
#include "base/util.h"
#include "crypto/crypto.h"

#define ID_LEN 8

static int curve_params(const struct sk_keytype *kt, uint8_t **der, int *n)
{
	ASN1_OBJECT *oid = OBJ_txt2obj(kt->group, 0);

	*der = NULL;
	*n = oid != NULL ? i2d_ASN1_OBJECT(oid, der) : -1;
	ASN1_OBJECT_free(oid);
	if (*n <= 0)
		return sk_err_ssl(SK_EFAIL, "curve %s", kt->group);
	return SK_OK;
}

/*
 * The attributes both halves of a key pair of ours carry, generated or
 * imported: token objects, the private half sensitive and never
 * extractable, both named by CKA_LABEL and linked by one CKA_ID (ID_LEN
 * bytes at id).  Appends to privt (*nv counts) and fills pubt from its
 * start; returns the number of pubt entries written.
 */
static CK_BBOOL p11_yes = CK_TRUE, p11_no = CK_FALSE;

static CK_ULONG pair_attrs(CK_ATTRIBUTE *pubt, CK_ATTRIBUTE *privt, CK_ULONG *nv, const char *name,
			   size_t len, CK_BYTE *id)
{
	const struct {
		int priv;
		CK_ATTRIBUTE_TYPE t;
		void *p;
		CK_ULONG l;
	} a[] = {
		{ 0, CKA_TOKEN, &p11_yes, sizeof(p11_yes) },
		{ 0, CKA_PRIVATE, &p11_no, sizeof(p11_no) },
		{ 0, CKA_VERIFY, &p11_yes, sizeof(p11_yes) },
		{ 0, CKA_LABEL, (void *)name, (CK_ULONG)len },
		{ 0, CKA_ID, id, ID_LEN },
		{ 1, CKA_TOKEN, &p11_yes, sizeof(p11_yes) },
		{ 1, CKA_PRIVATE, &p11_yes, sizeof(p11_yes) },
		{ 1, CKA_SENSITIVE, &p11_yes, sizeof(p11_yes) },
		{ 1, CKA_EXTRACTABLE, &p11_no, sizeof(p11_no) },
		{ 1, CKA_SIGN, &p11_yes, sizeof(p11_yes) },
		{ 1, CKA_LABEL, (void *)name, (CK_ULONG)len },
		{ 1, CKA_ID, id, ID_LEN },
	};
	CK_ULONG np = 0;
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(a); i++) {
		CK_ATTRIBUTE *t = a[i].priv ? &privt[(*nv)++] : &pubt[np++];

		t->type = a[i].t;
		t->pValue = a[i].p;
		t->ulValueLen = a[i].l;
	}
	return np;
}

int sk_p11_key_create(struct p11_backend *be, const char *name, const struct sk_keytype *kt,
			  EVP_PKEY **pub)
{
	CK_BBOOL yes = CK_TRUE;
	CK_ULONG bits = kt->bits;
	CK_BYTE e[] = { 1, 0, 1 }, id[ID_LEN];
	CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE pubt[8], privt[10];
	CK_ULONG np = 0, nv = 0;
	CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
	uint8_t *params = NULL;
	int plen = 0, rc;
	size_t len = strlen(name);
	struct sk_p11_key k;
	CK_RV rv;

#define A(arr, cnt, t, p, l) (arr[cnt].type = (t), arr[cnt].pValue = (void *)(p), \
			      arr[cnt++].ulValueLen = (l))
	*pub = NULL;
	if (kt->kind != SK_KIND_EC && kt->kind != SK_KIND_RSA)
		return sk_err(SK_EUNSUPP, "backend pkcs11 makes EC and RSA keys only, not %s", kt->name);
	if (kt->kind == SK_KIND_RSA)
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
	if ((rc = sk_p11_need_mech(be, mech.mechanism, "generate keys")) != SK_OK ||
	    (rc = sk_p11_login(be, 0)) != SK_OK || (rc = sk_random(id, sizeof(id))) != SK_OK)
		return rc;
	np = pair_attrs(pubt, privt, &nv, name, len, id);
	if (kt->kind == SK_KIND_EC) {
		if ((rc = curve_params(kt, &params, &plen)) != SK_OK)
			return rc;
		A(pubt, np, CKA_EC_PARAMS, params, (CK_ULONG)plen);
		A(privt, nv, CKA_DERIVE, &yes, sizeof(yes));
	} else {
		A(pubt, np, CKA_MODULUS_BITS, &bits, sizeof(bits));
		A(pubt, np, CKA_PUBLIC_EXPONENT, e, sizeof(e));
		A(pubt, np, CKA_ENCRYPT, &yes, sizeof(yes));
		A(privt, nv, CKA_DECRYPT, &yes, sizeof(yes));
	}
#undef A
	rv = P11(be, C_GenerateKeyPair, be->s, &mech, pubt, np, privt, nv, &hpub, &hpriv);
	OPENSSL_free(params);
	if (rv != CKR_OK)
		return sk_p11_fail(be, rv, "generating a key pair");
	rc = sk_p11_describe(be, hpriv, &k);
	if (rc != SK_OK) {
		P11(be, C_DestroyObject, be->s, hpriv);
		P11(be, C_DestroyObject, be->s, hpub);
		return rc;
	}
	sk_p11_set_pub_info(be, hpriv, k.pub);
	*pub = k.pub;
	return SK_OK;
}

/* An RSA or EC number of key priv as a big-endian value of exactly n
 * bytes (n 0: its own length), into a slot of bufs (cleansed by the caller). */
static int bn_param(EVP_PKEY *priv, const char *name, size_t n, uint8_t **out, size_t *outlen)
{
	BIGNUM *b = NULL;
	int len;

	*out = NULL;
	if (!EVP_PKEY_get_bn_param(priv, name, &b))
		return sk_err_ssl(SK_EUNSUPP, "the key has no %s", name);
	len = n ? (int)n : BN_num_bytes(b);
	if ((*out = OPENSSL_secure_malloc(len ? (size_t)len : 1)) == NULL ||
	    BN_bn2binpad(b, *out, len) != len) {
		BN_clear_free(b);
		return sk_err_ssl(SK_EFAIL, "encoding %s", name);
	}
	*outlen = (size_t)len;
	BN_clear_free(b);
	return SK_OK;
}

/*
 * A token that takes no private key from outside, only keys it makes:
 * tpm2-pkcs11 answers C_CreateObject of a CKO_PRIVATE_KEY with
 * CKR_ATTRIBUTE_VALUE_INVALID (it creates public keys and data objects
 * only), other tokens with CKR_TEMPLATE_INCONSISTENT or
 * CKR_FUNCTION_NOT_SUPPORTED.  Only for the private key's object: the
 * same answers for the public key or a certificate, which every token
 * takes, stay failures (a bad value of ours).  SK_EUNSUPP naming it, or
 * SK_OK when rv is not such a refusal.
 */
static int import_refused(struct p11_backend *be, CK_RV rv, const struct sk_keytype *kt)
{
	if (rv != CKR_ATTRIBUTE_VALUE_INVALID && rv != CKR_TEMPLATE_INCONSISTENT &&
	    rv != CKR_FUNCTION_NOT_SUPPORTED)
		return SK_OK;
	if (!sk_keytype_is_asym(kt))
		return sk_err(SK_EUNSUPP, "token '%s' refuses to import secret keys (C_CreateObject of an %s key: %s)",
			      be->label, kt->kind == SK_KIND_AES ? "AES" : "HMAC", sk_p11_rv_name(rv));
	return sk_err(SK_EUNSUPP, "token '%s' refuses to import private keys (C_CreateObject of an %s private key: %s): make the key on the token with key create",
		      be->label, kt->kind == SK_KIND_EC ? "EC" : "RSA", sk_p11_rv_name(rv));
}

/*
 * An existing EC or RSA key into the token (C_CreateObject) as name:
 * the private key sensitive and not extractable from then on, the public
 * key beside it with the same random CKA_ID.
 */
int sk_p11_key_import(struct p11_backend *be, const char *name, const struct sk_keytype *kt,
			  EVP_PKEY *priv)
{
	static const char *const rsa_names[] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	static const CK_ATTRIBUTE_TYPE rsa_attrs[] = {
		CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2,
		CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT,
	};
	CK_OBJECT_CLASS cpriv = CKO_PRIVATE_KEY, cpub = CKO_PUBLIC_KEY;
	CK_KEY_TYPE ktype = kt->kind == SK_KIND_EC ? CKK_EC : CKK_RSA;
	CK_BBOOL yes = CK_TRUE;
	CK_BYTE id[ID_LEN];
	CK_ATTRIBUTE pubt[10], privt[20];
	CK_ULONG np = 0, nv = 0;
	CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
	uint8_t *v[8] = { NULL }, *params = NULL, point[160];
	unsigned char *ecpoint = NULL;
	size_t vl[8] = { 0 }, len = strlen(name), plen = 0, i;
	int eplen = 0, rc, nparams = 0;
	ASN1_OCTET_STRING *os = NULL;
	CK_RV rv;

#define A(arr, cnt, t, p, l) (arr[cnt].type = (t), arr[cnt].pValue = (void *)(p), \
			      arr[cnt++].ulValueLen = (l))
	if (kt->kind != SK_KIND_EC && kt->kind != SK_KIND_RSA)
		return sk_err(SK_EUNSUPP, "backend pkcs11 keeps EC and RSA keys only, not %s", kt->name);
	if ((rc = sk_p11_login(be, 0)) != SK_OK || (rc = sk_random(id, sizeof(id))) != SK_OK)
		return rc;
	A(pubt, np, CKA_CLASS, &cpub, sizeof(cpub));
	A(pubt, np, CKA_KEY_TYPE, &ktype, sizeof(ktype));
	A(privt, nv, CKA_CLASS, &cpriv, sizeof(cpriv));
	A(privt, nv, CKA_KEY_TYPE, &ktype, sizeof(ktype));
	np += pair_attrs(pubt + np, privt, &nv, name, len, id);
	if (kt->kind == SK_KIND_EC) {
		if ((rc = curve_params(kt, &params, &nparams)) != SK_OK)
			goto out;
		if ((rc = bn_param(priv, OSSL_PKEY_PARAM_PRIV_KEY, (kt->bits + 7) / 8, &v[0], &vl[0])) != SK_OK)
			goto out;
		if (!EVP_PKEY_get_octet_string_param(priv, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
						     sizeof(point), &plen) ||
		    (os = ASN1_OCTET_STRING_new()) == NULL ||
		    !ASN1_OCTET_STRING_set(os, point, (int)plen) ||
		    (eplen = i2d_ASN1_OCTET_STRING(os, &ecpoint)) <= 0) {
			rc = sk_err_ssl(SK_EFAIL, "encoding the public point");
			goto out;
		}
		A(pubt, np, CKA_EC_PARAMS, params, (CK_ULONG)nparams);
		A(pubt, np, CKA_EC_POINT, ecpoint, (CK_ULONG)eplen);
		A(privt, nv, CKA_EC_PARAMS, params, (CK_ULONG)nparams);
		A(privt, nv, CKA_VALUE, v[0], vl[0]);
		A(privt, nv, CKA_DERIVE, &yes, sizeof(yes));
	} else {
		for (i = 0; i < SK_ARRAY_SIZE(rsa_names); i++) {
			if ((rc = bn_param(priv, rsa_names[i], 0, &v[i], &vl[i])) != SK_OK)
				goto out;
			A(privt, nv, rsa_attrs[i], v[i], vl[i]);
		}
		A(pubt, np, CKA_MODULUS, v[0], vl[0]);
		A(pubt, np, CKA_PUBLIC_EXPONENT, v[1], vl[1]);
		A(pubt, np, CKA_ENCRYPT, &yes, sizeof(yes));
		A(privt, nv, CKA_DECRYPT, &yes, sizeof(yes));
	}
#undef A
	if ((rv = P11(be, C_CreateObject, be->s, privt, nv, &hpriv)) != CKR_OK) {
		if ((rc = import_refused(be, rv, kt)) == SK_OK)
			rc = sk_p11_fail(be, rv, "storing the private key");
		goto out;
	}
	if ((rv = P11(be, C_CreateObject, be->s, pubt, np, &hpub)) != CKR_OK) {
		rc = sk_p11_fail(be, rv, "storing the public key");
		P11(be, C_DestroyObject, be->s, hpriv);
		goto out;
	}
	sk_p11_set_pub_info(be, hpriv, priv);
	rc = SK_OK;
out:
	for (i = 0; i < SK_ARRAY_SIZE(v); i++)
		if (v[i] != NULL)
			OPENSSL_secure_clear_free(v[i], vl[i] ? vl[i] : 1);
	OPENSSL_free(params);
	OPENSSL_free(ecpoint);
	ASN1_OCTET_STRING_free(os);
	return rc;
}

/*
 * A secret key (AES, HMAC) of ours on the token as name: generated there
 * (raw NULL: CKM_AES_KEY_GEN, or CKM_GENERIC_SECRET_KEY_GEN for HMAC, whose
 * keys PKCS#11 types CKK_GENERIC_SECRET and the HMAC mechanisms take), or
 * the rawlen bytes at raw stored (C_CreateObject).  A token object,
 * private, sensitive and never extractable, with a random CKA_ID; an AES
 * key encrypts, decrypts and makes CMACs, an HMAC key makes HMACs.
 */
int sk_p11_secret_key(struct p11_backend *be, const char *name, const struct sk_keytype *kt,
		      const uint8_t *raw, size_t rawlen)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE ktype = kt->kind == SK_KIND_AES ? CKK_AES : CKK_GENERIC_SECRET;
	CK_ULONG vlen = kt->bits / 8;
	CK_BBOOL aes = kt->kind == SK_KIND_AES ? CK_TRUE : CK_FALSE;
	CK_BYTE id[ID_LEN];
	CK_MECHANISM mech = { aes ? CKM_AES_KEY_GEN : CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &ktype, sizeof(ktype) },
		{ CKA_TOKEN, &p11_yes, sizeof(p11_yes) },
		{ CKA_PRIVATE, &p11_yes, sizeof(p11_yes) },
		{ CKA_SENSITIVE, &p11_yes, sizeof(p11_yes) },
		{ CKA_EXTRACTABLE, &p11_no, sizeof(p11_no) },
		{ CKA_LABEL, (void *)name, (CK_ULONG)strlen(name) },
		{ CKA_ID, id, ID_LEN },
		{ CKA_SIGN, &p11_yes, sizeof(p11_yes) },
		{ CKA_VERIFY, &p11_yes, sizeof(p11_yes) },
		{ CKA_ENCRYPT, &aes, sizeof(aes) },
		{ CKA_DECRYPT, &aes, sizeof(aes) },
		/* the last: the length to generate, or the value */
		{ CKA_VALUE_LEN, &vlen, sizeof(vlen) },
	};
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_RV rv;
	int rc;

	if (sk_keytype_is_asym(kt))
		return sk_err(SK_EUNSUPP, "%s is not a secret-key type", kt->name);
	if (raw != NULL && rawlen != vlen)
		return sk_err(SK_EUSAGE, "an %s key is %lu bytes, not %zu", kt->name,
			      (unsigned long)vlen, rawlen);
	if (raw == NULL && (rc = sk_p11_need_mech(be, mech.mechanism, "generate secret keys")) != SK_OK)
		return rc;
	if ((rc = sk_p11_login(be, 0)) != SK_OK || (rc = sk_random(id, sizeof(id))) != SK_OK)
		return rc;
	if (raw == NULL) {
		rv = P11(be, C_GenerateKey, be->s, &mech, t, SK_ARRAY_SIZE(t), &h);
		if (rv == CKR_FUNCTION_NOT_SUPPORTED) /* tpm2-pkcs11 */
			return sk_err(SK_EUNSUPP, "token '%s' makes no secret keys (C_GenerateKey: %s)",
				      be->label, sk_p11_rv_name(rv));
		return rv == CKR_OK ? SK_OK : sk_p11_fail(be, rv, "generating a secret key");
	}
	/* C_CreateObject takes the value itself, and no CKA_VALUE_LEN. */
	t[SK_ARRAY_SIZE(t) - 1].type = CKA_VALUE;
	t[SK_ARRAY_SIZE(t) - 1].pValue = (void *)raw;
	t[SK_ARRAY_SIZE(t) - 1].ulValueLen = (CK_ULONG)rawlen;
	rv = P11(be, C_CreateObject, be->s, t, SK_ARRAY_SIZE(t), &h);
	if (rv == CKR_OK)
		return SK_OK;
	return (rc = import_refused(be, rv, kt)) != SK_OK ? rc : sk_p11_fail(be, rv, "storing the secret key");
}

#endif /* SECKIT_HAVE_PKCS11 */
