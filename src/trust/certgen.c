/* SPDX-License-Identifier: MIT */
#include "trust/certgen.h"

#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "trust/x509.h"

/* The AlgorithmIdentifier of a PKCS#1 v1.5 or ECDSA signature. */
static int sig_algor(EVP_PKEY *pub, const EVP_MD *md, X509_ALGOR **out)
{
	int signid, base = EVP_PKEY_get_base_id(pub);
	X509_ALGOR *alg;

	*out = NULL;
	if (!OBJ_find_sigid_by_algs(&signid, EVP_MD_get_type(md), base))
		return sk_err(SK_EUNSUPP, "no signature algorithm for %s with this key type",
			      sk_md_name(md));
	if ((alg = X509_ALGOR_new()) == NULL ||
	    !X509_ALGOR_set0(alg, OBJ_nid2obj(signid), base == EVP_PKEY_RSA ? V_ASN1_NULL : V_ASN1_UNDEF,
			     NULL)) {
		X509_ALGOR_free(alg);
		return sk_err_ssl(SK_EFAIL, "signature algorithm");
	}
	*out = alg;
	return SK_OK;
}

static int add_req_san(X509_REQ *req, const char *san)
{
	STACK_OF(X509_EXTENSION) *exts;
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, NULL, NULL, req, NULL, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &v3, NID_subject_alt_name, san)) == NULL)
		return sk_err_ssl(SK_EUSAGE, "subjectAltName '%s' (expected e.g. DNS:host,IP:10.0.0.1)", san);
	if ((exts = sk_X509_EXTENSION_new_null()) == NULL || !sk_X509_EXTENSION_push(exts, ext)) {
		X509_EXTENSION_free(ext);
		sk_X509_EXTENSION_free(exts);
		return sk_err(SK_EFAIL, "out of memory");
	}
	ok = X509_REQ_add_extensions(req, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return ok ? SK_OK : sk_err_ssl(SK_EFAIL, "adding subjectAltName");
}

int sk_csr_make(struct sk_key *k, const char *subject, const char *san, const EVP_MD *md,
		X509_REQ **out)
{
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	X509_ALGOR *alg = NULL;
	ASN1_BIT_STRING *bits = NULL;
	unsigned char *tbs = NULL;
	uint8_t dgst[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	struct sk_buf sig = { 0 };
	int n, rc;

	*out = NULL;
	if (k->info.pub == NULL)
		return sk_err(SK_EUNSUPP, "key '%s' (%s) has no public key for a certificate request",
			      k->info.name, k->info.type->name);
	if ((rc = sk_key_require(k, SK_CAP_SIGN, "sign a certificate request")) != SK_OK)
		return rc;
	if ((rc = sk_x509_name_parse(subject, &name)) != SK_OK)
		return rc;
	if ((req = X509_REQ_new()) == NULL || !X509_REQ_set_version(req, 0) ||
	    !X509_REQ_set_subject_name(req, name) || !X509_REQ_set_pubkey(req, k->info.pub)) {
		rc = sk_err_ssl(SK_EFAIL, "building the certificate request");
		goto out;
	}
	if (san != NULL && (rc = add_req_san(req, san)) != SK_OK)
		goto out;
	if ((rc = sig_algor(k->info.pub, md, &alg)) != SK_OK)
		goto out;
	/* The algorithm is not part of a CSR's signed info, so it can be set
	 * after encoding it; the signature comes from the backend. */
	if ((n = i2d_re_X509_REQ_tbs(req, &tbs)) <= 0 ||
	    !EVP_Digest(tbs, (size_t)n, dgst, &dlen, md, NULL)) {
		rc = sk_err_ssl(SK_EFAIL, "encoding the certificate request");
		goto out;
	}
	if ((rc = sk_key_sign(k, md, 0, dgst, dlen, &sig)) != SK_OK)
		goto out;
	if ((bits = ASN1_BIT_STRING_new()) == NULL ||
	    !ASN1_BIT_STRING_set(bits, sig.p, (int)sig.len) ||
	    !X509_REQ_set1_signature_algo(req, alg)) {
		rc = sk_err_ssl(SK_EFAIL, "certificate request signature");
		goto out;
	}
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(req, bits);
	bits = NULL;
	/* Check our own work with the public key, as `openssl req -verify` would. */
	if (X509_REQ_verify(req, k->info.pub) != 1) {
		rc = sk_err_ssl(SK_EFAIL, "the certificate request made with key '%s' does not verify",
				k->info.name);
		goto out;
	}
	*out = req;
	req = NULL;
out:
	OPENSSL_free(tbs);
	ASN1_BIT_STRING_free(bits);
	X509_ALGOR_free(alg);
	X509_NAME_free(name);
	X509_REQ_free(req);
	sk_buf_free(&sig);
	return rc;
}

static int add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, v3, nid, value);
	int ok = e != NULL && X509_add_ext(x, e, -1);

	X509_EXTENSION_free(e);
	if (!ok)
		return sk_err_ssl(SK_EFAIL, "extension %s", OBJ_nid2sn(nid));
	return SK_OK;
}

static int copy_san(X509 *x, X509_REQ *csr)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
	int i, rc = SK_OK;

	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);

		if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) == NID_subject_alt_name &&
		    !X509_add_ext(x, e, -1))
			rc = sk_err_ssl(SK_EFAIL, "copying subjectAltName");
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ERR_clear_error();
	return rc;
}

static int random_serial(ASN1_INTEGER **out)
{
	uint8_t b[16];
	BIGNUM *bn;
	int rc;

	/* 127 bits: positive, never zero, well above the 64 bits of entropy
	 * the CA/Browser Forum asks for. */
	if ((rc = sk_random(b, sizeof(b))) != SK_OK)
		return rc;
	b[0] = (uint8_t)((b[0] & 0x7f) | 0x40);
	bn = BN_bin2bn(b, sizeof(b), NULL);
	*out = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	BN_free(bn);
	return *out ? SK_OK : sk_err_ssl(SK_EFAIL, "serial number");
}

static int sign_cert(X509 *x, EVP_PKEY *key, const EVP_MD *md, int pss)
{
	EVP_MD_CTX *m;
	EVP_PKEY_CTX *p = NULL;
	int ok;

	if (!pss)
		return X509_sign(x, key, md) > 0 ? SK_OK : sk_err_ssl(SK_EFAIL, "signing the certificate");
	if (!EVP_PKEY_is_a(key, "RSA"))
		return sk_err(SK_EUNSUPP, "RSASSA-PSS needs an RSA CA key");
	if ((m = EVP_MD_CTX_new()) == NULL)
		return sk_err_ssl(SK_EFAIL, "signing the certificate");
	ok = EVP_DigestSignInit(m, &p, md, NULL, key) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_PSS_PADDING) > 0 &&
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(p, RSA_PSS_SALTLEN_DIGEST) > 0 &&
	     X509_sign_ctx(x, m) > 0;
	EVP_MD_CTX_free(m);
	return ok ? SK_OK : sk_err_ssl(SK_EFAIL, "signing the certificate");
}

static int sign_with_key(X509 **xp, struct sk_key *k, const EVP_MD *md);

/* notBefore nb (0: now), notAfter na (0: notBefore + days); UTCTime up to
 * 2049 and GeneralizedTime after, as RFC 5280 asks. */
static int set_validity(X509 *x, int64_t nb, int64_t na, uint64_t days)
{
	char a[32], b[32];

	if (nb == 0)
		nb = (int64_t)time(NULL);
	if (na == 0)
		na = nb + (int64_t)days * 86400;
	if (na <= nb) {
		sk_time_format(nb, b, sizeof(b));
		sk_time_format(na, a, sizeof(a));
		return sk_err(SK_EUSAGE, "the validity ends (%s) before it begins (%s)", a, b);
	}
	if (!ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na))
		return sk_err_ssl(SK_EFAIL, "certificate validity");
	return SK_OK;
}

int sk_cert_issue(const struct sk_issue *r, X509 **out)
{
	EVP_PKEY *pub = X509_REQ_get0_pubkey(r->csr);
	ASN1_INTEGER *serial = NULL;
	X509V3_CTX v3;
	X509 *x = NULL;
	const char *ku;
	int rc = SK_OK;

	*out = NULL;
	if (pub == NULL || X509_REQ_verify(r->csr, pub) != 1) {
		ERR_clear_error();
		return sk_err(SK_EVERIFY, "the certificate request's signature does not verify");
	}
	if (X509_check_ca(r->ca) < 1)
		return sk_err(SK_EVERIFY, "the issuer certificate is not a CA certificate");
	if (r->ca_skey != NULL ? EVP_PKEY_eq(X509_get0_pubkey(r->ca), r->ca_skey->info.pub) != 1
			       : X509_check_private_key(r->ca, r->ca_key) != 1) {
		ERR_clear_error();
		return sk_err(SK_EVERIFY, "the CA key does not belong to the CA certificate");
	}
	if (r->ca_skey != NULL && r->pss)
		return sk_err(SK_EUNSUPP, "RSASSA-PSS certificates are signed with a CA key file");
	if (r->not_after == 0 && (r->days == 0 || r->days > 36525))
		return sk_err(SK_EUSAGE, "a validity of %llu days is not 1 to 36525",
			      (unsigned long long)r->days);
	if (r->serial == NULL && (rc = random_serial(&serial)) != SK_OK)
		return rc;
	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_serialNumber(x, r->serial ? (ASN1_INTEGER *)r->serial : serial) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(r->ca)) ||
	    !X509_set_subject_name(x, X509_REQ_get_subject_name(r->csr)) ||
	    !X509_set_pubkey(x, pub)) {
		rc = sk_err_ssl(SK_EFAIL, "building the certificate");
		goto out;
	}
	if ((rc = set_validity(x, r->not_before, r->not_after, r->days)) != SK_OK)
		goto out;
	if (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(r->ca)) > 0)
		sk_warn("the certificate outlives its CA certificate (it will stop verifying earlier)");
	X509V3_set_ctx(&v3, r->ca, x, r->csr, NULL, 0);
	if (r->profile == SK_PROFILE_CA) {
		if ((rc = add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE")) != SK_OK ||
		    (rc = add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign")) != SK_OK)
			goto out;
	} else {
		ku = EVP_PKEY_is_a(pub, "RSA") ? "critical,digitalSignature,keyEncipherment"
					       : "critical,digitalSignature,keyAgreement";
		if ((rc = add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE")) != SK_OK ||
		    (rc = add_ext(x, &v3, NID_key_usage, ku)) != SK_OK ||
		    (rc = add_ext(x, &v3, NID_ext_key_usage,
				  r->profile == SK_PROFILE_SERVER ? "serverAuth" : "clientAuth")) != SK_OK ||
		    (rc = copy_san(x, r->csr)) != SK_OK)
			goto out;
	}
	if ((rc = add_ext(x, &v3, NID_subject_key_identifier, "hash")) != SK_OK ||
	    (rc = add_ext(x, &v3, NID_authority_key_identifier, "keyid,issuer")) != SK_OK)
		goto out;
	if (r->ca_skey != NULL)
		rc = sign_with_key(&x, r->ca_skey, r->md);
	else
		rc = sign_cert(x, r->ca_key, r->md, r->pss);
	if (rc != SK_OK)
		goto out;
	*out = x;
	x = NULL;
out:
	ASN1_INTEGER_free(serial);
	X509_free(x);
	return rc;
}

/* ---- CA certificates ---- */

/* Sign x with a store key: the to-be-signed part is encoded with the
 * algorithm in it, hashed here, and the backend signs the digest.  The
 * result is re-read from its encoding, so that nothing OpenSSL cached
 * while it was built (its hash, its extensions) outlives the signature. */
static int sign_with_key(X509 **xp, struct sk_key *k, const EVP_MD *md)
{
	X509 *x = *xp, *y = NULL;
	const X509_ALGOR *tbsalg, *outalg;
	const ASN1_BIT_STRING *osig;
	X509_ALGOR *alg = NULL;
	unsigned char *tbs = NULL, *der = NULL;
	const unsigned char *q;
	uint8_t dgst[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	struct sk_buf sig = { 0 };
	int n, rc;

	if ((rc = sk_key_require(k, SK_CAP_SIGN, "sign a certificate")) != SK_OK ||
	    (rc = sig_algor(k->info.pub, md, &alg)) != SK_OK)
		return rc;
	/* OpenSSL has no setter for the algorithm inside the signed part;
	 * X509_sign itself writes these two fields. */
	tbsalg = X509_get0_tbs_sigalg(x);
	X509_get0_signature(&osig, &outalg, x);
	if (!X509_ALGOR_copy((X509_ALGOR *)tbsalg, alg) || !X509_ALGOR_copy((X509_ALGOR *)outalg, alg) ||
	    (n = i2d_re_X509_tbs(x, &tbs)) <= 0 || !EVP_Digest(tbs, (size_t)n, dgst, &dlen, md, NULL)) {
		rc = sk_err_ssl(SK_EFAIL, "encoding the certificate");
		goto out;
	}
	if ((rc = sk_key_sign(k, md, 0, dgst, dlen, &sig)) != SK_OK)
		goto out;
	if (!ASN1_BIT_STRING_set((ASN1_BIT_STRING *)osig, sig.p, (int)sig.len)) {
		rc = sk_err_ssl(SK_EFAIL, "certificate signature");
		goto out;
	}
	((ASN1_BIT_STRING *)osig)->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	((ASN1_BIT_STRING *)osig)->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	if ((n = i2d_X509(x, &der)) <= 0) {
		rc = sk_err_ssl(SK_EFAIL, "encoding the certificate");
		goto out;
	}
	q = der;
	if ((y = d2i_X509(NULL, &q, n)) == NULL) {
		rc = sk_err_ssl(SK_EFAIL, "encoding the certificate");
		goto out;
	}
	X509_free(x);
	*xp = y;
out:
	OPENSSL_free(der);
	OPENSSL_free(tbs);
	X509_ALGOR_free(alg);
	sk_buf_free(&sig);
	return rc;
}

static EVP_PKEY *signer_pub(const struct sk_certsigner *s)
{
	return s->key != NULL ? s->key->info.pub : s->pkey;
}

/* The issuer may sign another CA: a CA whose path length leaves room. */
static int check_issuer(const struct sk_ca_new *r, int *path_len)
{
	long plen;

	if (X509_check_ca(r->issuer) < 1)
		return sk_err(SK_EVERIFY, "the issuer certificate is not a CA certificate (or may not sign certificates)");
	if (EVP_PKEY_eq(X509_get0_pubkey(r->issuer), signer_pub(&r->signer)) != 1) {
		ERR_clear_error();
		return sk_err(SK_EVERIFY, "the CA key does not belong to the issuer certificate");
	}
	ERR_clear_error();
	plen = X509_get_pathlen(r->issuer);
	if (plen == 0)
		return sk_err(SK_EVERIFY, "the issuer's path length is 0: it may not sign another CA");
	if (plen > 0 && *path_len >= plen)
		return sk_err(SK_EUSAGE, "a path length of %d is not below the issuer's (%ld)", *path_len, plen);
	/* An intermediate issues end-entity certificates unless told more. */
	if (*path_len < 0)
		*path_len = 0;
	return SK_OK;
}

int sk_ca_make(const struct sk_ca_new *r, X509 **out)
{
	ASN1_INTEGER *serial = NULL;
	X509_NAME *name = NULL;
	X509V3_CTX v3;
	X509 *x = NULL;
	char bc[64];
	int rc, path_len = r->path_len;

	*out = NULL;
	if (r->issuer == NULL) {
		if (EVP_PKEY_eq(r->pub, signer_pub(&r->signer)) != 1) {
			ERR_clear_error();
			return sk_err(SK_EVERIFY, "a root CA is signed by its own key");
		}
	} else if ((rc = check_issuer(r, &path_len)) != SK_OK) {
		return rc;
	}
	if ((rc = sk_x509_name_parse(r->subject, &name)) != SK_OK)
		return rc;
	if (r->serial == NULL && (rc = random_serial(&serial)) != SK_OK)
		goto out;
	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_serialNumber(x, r->serial ? (ASN1_INTEGER *)r->serial : serial) ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, r->issuer ? X509_get_subject_name(r->issuer) : name) ||
	    !X509_set_pubkey(x, r->pub)) {
		rc = sk_err_ssl(SK_EFAIL, "building the certificate");
		goto out;
	}
	if ((rc = set_validity(x, r->not_before, r->not_after, 0)) != SK_OK)
		goto out;
	if (r->issuer != NULL && ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(r->issuer)) > 0)
		sk_warn("the certificate outlives its CA certificate (it will stop verifying earlier)");
	if (path_len >= 0)
		snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d", path_len);
	else
		snprintf(bc, sizeof(bc), "critical,CA:TRUE");
	X509V3_set_ctx(&v3, r->issuer ? r->issuer : x, x, NULL, NULL, 0);
	if ((rc = add_ext(x, &v3, NID_basic_constraints, bc)) != SK_OK ||
	    (rc = add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign")) != SK_OK ||
	    (rc = add_ext(x, &v3, NID_subject_key_identifier, "hash")) != SK_OK ||
	    (rc = add_ext(x, &v3, NID_authority_key_identifier, "keyid:always")) != SK_OK)
		goto out;
	if (r->signer.key != NULL)
		rc = sign_with_key(&x, r->signer.key, r->md);
	else
		rc = sign_cert(x, r->signer.pkey, r->md, 0);
	if (rc != SK_OK)
		goto out;
	/* Check our own work, as `openssl verify` would the signature. */
	if (X509_verify(x, signer_pub(&r->signer)) != 1) {
		rc = sk_err_ssl(SK_EFAIL, "the certificate made does not verify with its issuer's key");
		goto out;
	}
	*out = x;
	x = NULL;
out:
	ASN1_INTEGER_free(serial);
	X509_NAME_free(name);
	X509_free(x);
	return rc;
}
