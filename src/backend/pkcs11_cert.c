/* SPDX-License-Identifier: MIT */
/*
 * pkcs11 backend: certificates as token objects (pkcs11_int.h).  A
 * certificate is a CKO_CERTIFICATE of type CKC_X_509 named by its
 * CKA_LABEL and tied to its key by the key's CKA_ID, the way pkcs11-tool
 * --write-object --type cert, p11-kit and OpenSSL's pkcs11 engines see
 * them.  Certificates are public objects: reading them needs no login;
 * writing one does (be_pkcs11.c logs in first).
 */
#ifdef SECKIT_HAVE_PKCS11

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "backend/pkcs11_int.h"
#include "base/err.h"
#include "base/util.h"

/* The X.509 certificates that also match extra (one attribute or none). */
static int find_certs(struct p11_backend *be, const CK_ATTRIBUTE *extra, CK_OBJECT_HANDLE **h,
		      CK_ULONG *n)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	CK_ATTRIBUTE t[3] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
	};

	if (extra != NULL)
		t[2] = *extra;
	return sk_p11_find_objects(be, t, extra != NULL ? 3 : 2, h, n);
}

/* The objects of class cls with attribute a. */
static int find_with(struct p11_backend *be, CK_OBJECT_CLASS cls, const CK_ATTRIBUTE *a,
		     CK_OBJECT_HANDLE **h, CK_ULONG *n)
{
	CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) }, *a };

	return sk_p11_find_objects(be, t, 2, h, n);
}

/* The name of the key with CKA_ID id (its public object's label, else its
 * private object's when the session sees it), "" if none. */
static int key_of(struct p11_backend *be, const uint8_t *id, size_t idn, char *key)
{
	static const CK_OBJECT_CLASS cls[] = { CKO_PUBLIC_KEY, CKO_PRIVATE_KEY };
	CK_ATTRIBUTE a = { CKA_ID, (void *)id, idn };
	CK_OBJECT_HANDLE *h = NULL;
	CK_ULONG n = 0;
	uint8_t *label = NULL;
	size_t ln = 0, i;
	int rc = SK_OK;

	key[0] = '\0';
	for (i = 0; idn > 0 && key[0] == '\0' && i < SK_ARRAY_SIZE(cls); i++) {
		if ((rc = find_with(be, cls[i], &a, &h, &n)) != SK_OK)
			return rc;
		if (n > 0 && (rc = sk_p11_get_attr(be, h[0], CKA_LABEL, &label, &ln)) == SK_OK)
			snprintf(key, 256, "%.*s", (int)ln, (char *)label);
		free(label);
		label = NULL;
		free(h);
		h = NULL;
		if (rc == SK_ENOTFOUND)
			rc = SK_OK;
		if (rc != SK_OK)
			return rc;
	}
	return SK_OK;
}

/* Certificate object o: its DER into der, its key's name into key. */
static int cert_of(struct p11_backend *be, CK_OBJECT_HANDLE o, struct sk_buf *der, char *key)
{
	uint8_t *v = NULL, *id = NULL;
	size_t vn = 0, idn = 0;
	int rc;

	if ((rc = sk_p11_get_attr(be, o, CKA_VALUE, &v, &vn)) == SK_ENOTFOUND)
		rc = sk_err(SK_EVERIFY, "token '%s': a certificate object without its value", be->label);
	if (rc == SK_OK && (rc = sk_p11_get_attr(be, o, CKA_ID, &id, &idn)) == SK_ENOTFOUND)
		rc = SK_OK;
	if (rc == SK_OK)
		rc = key_of(be, id, idn, key);
	if (rc == SK_OK)
		rc = sk_buf_add(der, v, vn);
	free(v);
	free(id);
	return rc;
}

int sk_p11_cert_find(struct p11_backend *be, const char *name, struct sk_buf *der, char *key)
{
	CK_ATTRIBUTE lbl = { CKA_LABEL, (void *)name, strlen(name) }, ida = { CKA_ID, NULL, 0 };
	CK_OBJECT_HANDLE *h = NULL;
	CK_ULONG n = 0;
	uint8_t *id = NULL;
	size_t idn = 0;
	int rc;

	if ((rc = find_certs(be, &lbl, &h, &n)) != SK_OK)
		return rc;
	if (n == 0) {
		/* The certificate of the key called name: its public object's
		 * CKA_ID (public objects: no login). */
		free(h);
		h = NULL;
		if ((rc = find_with(be, CKO_PUBLIC_KEY, &lbl, &h, &n)) != SK_OK)
			return rc;
		if (n == 1 && (rc = sk_p11_get_attr(be, h[0], CKA_ID, &id, &idn)) == SK_OK && idn > 0) {
			free(h);
			h = NULL;
			ida.pValue = id;
			ida.ulValueLen = idn;
			rc = find_certs(be, &ida, &h, &n);
		} else {
			if (rc == SK_OK || rc == SK_ENOTFOUND)
				rc = n > 1 ? SK_EEXIST : SK_OK;
			n = 0;
		}
		free(id);
		if (rc == SK_EEXIST)
			rc = sk_err(SK_EEXIST, "token '%s': two keys are called '%s'", be->label, name);
	}
	if (rc == SK_OK && n == 0)
		rc = sk_err(SK_ENOTFOUND, "certificate '%s': not found (nor on token '%s')", name, be->label);
	else if (rc == SK_OK && n > 1)
		rc = sk_err(SK_EEXIST, "certificate '%s': %lu certificates on token '%s' have that name",
			    name, (unsigned long)n, be->label);
	else if (rc == SK_OK)
		rc = cert_of(be, h[0], der, key);
	free(h);
	return rc;
}

int sk_p11_cert_list(struct p11_backend *be,
		     int (*fn)(const char *name, const uint8_t *der, size_t n, const char *key,
			       void *arg),
		     void *arg)
{
	CK_OBJECT_HANDLE *h = NULL;
	CK_ULONG n = 0, i;
	struct sk_buf der = { 0 };
	uint8_t *label = NULL;
	size_t ln = 0;
	char name[256], key[256];
	int rc;

	if ((rc = find_certs(be, NULL, &h, &n)) != SK_OK)
		return rc;
	for (i = 0; i < n && rc == SK_OK; i++) {
		der.len = 0;
		if ((rc = sk_p11_get_attr(be, h[i], CKA_LABEL, &label, &ln)) == SK_ENOTFOUND) {
			rc = SK_OK; /* no name: not a certificate seckit can name */
			continue;
		}
		if (rc == SK_OK && ln > 0 && ln < sizeof(name)) {
			snprintf(name, sizeof(name), "%.*s", (int)ln, (char *)label);
			if ((rc = cert_of(be, h[i], &der, key)) == SK_OK)
				rc = fn(name, der.p, der.len, key, arg);
		}
		free(label);
		label = NULL;
	}
	sk_buf_free(&der);
	free(h);
	return rc;
}

/* The private key whose public key is pub: its CKA_ID and name. */
static int key_for(struct p11_backend *be, EVP_PKEY *pub, uint8_t **id, size_t *idn, char *key)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[1] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_OBJECT_HANDLE *h = NULL;
	CK_ULONG n = 0, i;
	struct sk_p11_key k;
	int rc, found = 0;

	*id = NULL;
	*idn = 0;
	if ((rc = sk_p11_find_objects(be, t, 1, &h, &n)) != SK_OK)
		return rc;
	for (i = 0; i < n && !found; i++) {
		if (sk_p11_describe(be, h[i], &k) != SK_OK)
			continue; /* a key seckit does not use */
		found = EVP_PKEY_eq(k.pub, pub) == 1;
		EVP_PKEY_free(k.pub);
		if (found) {
			snprintf(key, 256, "%s", k.name);
			rc = sk_p11_get_attr(be, h[i], CKA_ID, id, idn);
		}
	}
	free(h);
	sk_err_clear();
	ERR_clear_error();
	if (!found)
		return sk_err(SK_ENOTFOUND, "no key on token '%s' holds the certificate's public key",
			      be->label);
	if (rc == SK_ENOTFOUND)
		rc = SK_OK; /* a key without an ID: the certificate is named alone */
	return rc;
}

int sk_p11_cert_put(struct p11_backend *be, const char *name, const uint8_t *der, size_t n,
		    int replace, char *key, int *changed)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)n);
	unsigned char *subj = NULL, *iss = NULL, *serial = NULL;
	int sl, il, nl, rc;
	uint8_t *id = NULL, *old = NULL;
	size_t idn = 0, oldn = 0;
	CK_ATTRIBUTE lbl = { CKA_LABEL, (void *)name, strlen(name) };
	CK_OBJECT_HANDLE *h = NULL, made = CK_INVALID_HANDLE;
	CK_ULONG nh = 0;
	CK_RV rv;

	*changed = 0;
	key[0] = '\0';
	if (x == NULL || p != der + n || X509_get0_pubkey(x) == NULL) {
		X509_free(x);
		ERR_clear_error();
		return sk_err(SK_EVERIFY, "the certificate for '%s' is malformed", name);
	}
	sl = i2d_X509_NAME(X509_get_subject_name(x), &subj);
	il = i2d_X509_NAME(X509_get_issuer_name(x), &iss);
	nl = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &serial);
	if (sl <= 0 || il <= 0 || nl <= 0) {
		rc = sk_err_ssl(SK_EFAIL, "encoding the certificate's names");
		goto out;
	}
	if ((rc = key_for(be, X509_get0_pubkey(x), &id, &idn, key)) != SK_OK ||
	    (rc = find_certs(be, &lbl, &h, &nh)) != SK_OK)
		goto out;
	if (nh > 1) {
		rc = sk_err(SK_EEXIST, "certificate '%s': %lu certificates on token '%s' have that name",
			    name, (unsigned long)nh, be->label);
		goto out;
	}
	if (nh == 1 && (rc = sk_p11_get_attr(be, h[0], CKA_VALUE, &old, &oldn)) != SK_OK &&
	    rc != SK_ENOTFOUND)
		goto out;
	if (nh == 1 && old != NULL && oldn == n && memcmp(old, der, n) == 0) {
		rc = SK_OK; /* the token has it already */
		goto out;
	}
	if (nh == 1 && !replace) {
		rc = sk_err(SK_EEXIST, "certificate '%s' already exists on token '%s'", name, be->label);
		goto out;
	}
	{
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
			{ CKA_TOKEN, &yes, sizeof(yes) },
			{ CKA_PRIVATE, &no, sizeof(no) },
			{ CKA_LABEL, (void *)name, strlen(name) },
			{ CKA_SUBJECT, subj, (CK_ULONG)sl },
			{ CKA_ISSUER, iss, (CK_ULONG)il },
			{ CKA_SERIAL_NUMBER, serial, (CK_ULONG)nl },
			{ CKA_VALUE, (void *)der, n },
			{ CKA_ID, id, idn },
		};

		/* The new one first, then the old one goes: never no
		 * certificate at all. */
		rv = P11(be, C_CreateObject, be->s, t, SK_ARRAY_SIZE(t) - (idn == 0), &made);
	}
	if (rv != CKR_OK) {
		rc = sk_p11_fail(be, rv, "storing the certificate");
		goto out;
	}
	if (nh == 1 && (rv = P11(be, C_DestroyObject, be->s, h[0])) != CKR_OK) {
		P11(be, C_DestroyObject, be->s, made);
		rc = sk_p11_fail(be, rv, "replacing the certificate");
		goto out;
	}
	*changed = 1;
	rc = SK_OK;
out:
	X509_free(x);
	OPENSSL_free(subj);
	OPENSSL_free(iss);
	OPENSSL_free(serial);
	free(id);
	free(old);
	free(h);
	return rc;
}

#endif /* SECKIT_HAVE_PKCS11 */
