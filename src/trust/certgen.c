/* SPDX-License-Identifier: MIT */
#include "trust/certgen.h"

#include <string.h>

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
	if (X509_check_private_key(r->ca, r->ca_key) != 1) {
		ERR_clear_error();
		return sk_err(SK_EVERIFY, "the CA key does not belong to the CA certificate");
	}
	if (r->days == 0 || r->days > 36525)
		return sk_err(SK_EUSAGE, "a validity of %llu days is not 1 to 36525",
			      (unsigned long long)r->days);
	if (r->serial == NULL && (rc = random_serial(&serial)) != SK_OK)
		return rc;
	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_serialNumber(x, r->serial ? (ASN1_INTEGER *)r->serial : serial) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(r->ca)) ||
	    !X509_set_subject_name(x, X509_REQ_get_subject_name(r->csr)) ||
	    !X509_set_pubkey(x, pub) || !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), (int)r->days, 0, NULL)) {
		rc = sk_err_ssl(SK_EFAIL, "building the certificate");
		goto out;
	}
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
	if ((rc = sign_cert(x, r->ca_key, r->md, r->pss)) != SK_OK)
		goto out;
	*out = x;
	x = NULL;
out:
	ASN1_INTEGER_free(serial);
	X509_free(x);
	return rc;
}
