/* SPDX-License-Identifier: MIT */
/* pkcs11 backend: signature mechanisms (pkcs11_int.h) -- what a key may
 * sign with (its CKA_ALLOWED_MECHANISMS and the token's mechanisms), the
 * hash-and-sign mechanism of a digest, and the encodings around the raw
 * mechanisms (DigestInfo, ECDSA's r || s as DER). */
#ifdef SECKIT_HAVE_PKCS11

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "backend/pkcs11_int.h"
#include "base/err.h"
#include "base/util.h"
#include "crypto/crypto.h"

CK_MECHANISM_TYPE sk_p11_hash_mech(const EVP_MD *md, CK_RSA_PKCS_MGF_TYPE *mgf)
{
	static const struct {
		int nid;
		CK_MECHANISM_TYPE m;
		CK_RSA_PKCS_MGF_TYPE mgf;
	} t[] = {
		{ NID_sha1, CKM_SHA_1, CKG_MGF1_SHA1 },
		{ NID_sha224, CKM_SHA224, CKG_MGF1_SHA224 },
		{ NID_sha256, CKM_SHA256, CKG_MGF1_SHA256 },
		{ NID_sha384, CKM_SHA384, CKG_MGF1_SHA384 },
		{ NID_sha512, CKM_SHA512, CKG_MGF1_SHA512 },
	};
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(t); i++)
		if (EVP_MD_get_type(md) == t[i].nid) {
			*mgf = t[i].mgf;
			return t[i].m;
		}
	return CK_UNAVAILABLE_INFORMATION;
}

/* The DigestInfo that PKCS#1 v1.5 signs (RFC 8017 9.2). */
int sk_p11_digest_info(const EVP_MD *md, const uint8_t *dgst, size_t dlen, struct sk_buf *out)
{
	X509_SIG *sig = X509_SIG_new();
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *os;
	unsigned char *der = NULL;
	int n = -1, rc;

	if (sig != NULL) {
		X509_SIG_getm(sig, &alg, &os);
		if (X509_ALGOR_set0(alg, OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, NULL) &&
		    ASN1_OCTET_STRING_set(os, dgst, (int)dlen))
			n = i2d_X509_SIG(sig, &der);
	}
	X509_SIG_free(sig);
	if (n <= 0)
		return sk_err_ssl(SK_EFAIL, "encoding the DigestInfo");
	rc = sk_buf_add(out, der, (size_t)n);
	OPENSSL_free(der);
	return rc;
}

/* The token's r || s as the DER that X.509 and openssl want. */
int sk_p11_ecdsa_der(struct p11_backend *be, const struct sk_buf *raw, struct sk_buf *sig)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r, *s;
	unsigned char *der = NULL;
	int n, rc;

	if (raw->len == 0 || raw->len % 2 != 0)
		return sk_err(SK_EFAIL, "token '%s' gave a malformed ECDSA signature", be->label);
	r = BN_bin2bn(raw->p, (int)(raw->len / 2), NULL);
	s = BN_bin2bn(raw->p + raw->len / 2, (int)(raw->len / 2), NULL);
	if (r == NULL || s == NULL || (es = ECDSA_SIG_new()) == NULL || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return sk_err_ssl(SK_EFAIL, "encoding the signature");
	}
	n = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	rc = n > 0 ? sk_buf_add(sig, der, (size_t)n) : sk_err_ssl(SK_EFAIL, "encoding the signature");
	OPENSSL_free(der);
	return rc;
}

/*
 * The signature mechanisms: the raw ones seckit signs digests with, and
 * the hash-and-sign ones a key may be restricted to
 * (CKA_ALLOWED_MECHANISMS), which sign the message itself (sign_msg).
 */
static const struct {
	CK_MECHANISM_TYPE m;
	enum sk_kind kind;
	int scheme;     /* SK_SIG_PLAIN or SK_SIG_PSS */
	int nid;        /* the digest; NID_undef: a raw mechanism (any digest) */
} sig_mechs[] = {
	{ CKM_ECDSA, SK_KIND_EC, SK_SIG_PLAIN, NID_undef },
	{ CKM_ECDSA_SHA1, SK_KIND_EC, SK_SIG_PLAIN, NID_sha1 },
	{ CKM_ECDSA_SHA224, SK_KIND_EC, SK_SIG_PLAIN, NID_sha224 },
	{ CKM_ECDSA_SHA256, SK_KIND_EC, SK_SIG_PLAIN, NID_sha256 },
	{ CKM_ECDSA_SHA384, SK_KIND_EC, SK_SIG_PLAIN, NID_sha384 },
	{ CKM_ECDSA_SHA512, SK_KIND_EC, SK_SIG_PLAIN, NID_sha512 },
	{ CKM_RSA_PKCS, SK_KIND_RSA, SK_SIG_PLAIN, NID_undef },
	{ CKM_SHA1_RSA_PKCS, SK_KIND_RSA, SK_SIG_PLAIN, NID_sha1 },
	{ CKM_SHA224_RSA_PKCS, SK_KIND_RSA, SK_SIG_PLAIN, NID_sha224 },
	{ CKM_SHA256_RSA_PKCS, SK_KIND_RSA, SK_SIG_PLAIN, NID_sha256 },
	{ CKM_SHA384_RSA_PKCS, SK_KIND_RSA, SK_SIG_PLAIN, NID_sha384 },
	{ CKM_SHA512_RSA_PKCS, SK_KIND_RSA, SK_SIG_PLAIN, NID_sha512 },
	{ CKM_RSA_PKCS_PSS, SK_KIND_RSA, SK_SIG_PSS, NID_undef },
	{ CKM_SHA1_RSA_PKCS_PSS, SK_KIND_RSA, SK_SIG_PSS, NID_sha1 },
	{ CKM_SHA224_RSA_PKCS_PSS, SK_KIND_RSA, SK_SIG_PSS, NID_sha224 },
	{ CKM_SHA256_RSA_PKCS_PSS, SK_KIND_RSA, SK_SIG_PSS, NID_sha256 },
	{ CKM_SHA384_RSA_PKCS_PSS, SK_KIND_RSA, SK_SIG_PSS, NID_sha384 },
	{ CKM_SHA512_RSA_PKCS_PSS, SK_KIND_RSA, SK_SIG_PSS, NID_sha512 },
};

const char *sk_p11_scheme_name(enum sk_kind kind, int scheme)
{
	return scheme == SK_SIG_PSS ? "RSA-PSS" : kind == SK_KIND_EC ? "ECDSA" : "RSA PKCS#1 v1.5";
}

/*
 * What a key of kind may sign with: the signature mechanisms of its
 * CKA_ALLOWED_MECHANISMS al (none listed: the raw ones, any digest) that
 * the token has.  Worked out once per loaded key, from the list read with
 * its other attributes (sk_p11_describe) and the token's mechanisms.
 */
int sk_p11_limits(struct p11_backend *be, enum sk_kind kind, const struct sk_p11_allowed *al,
		  struct sk_p11_limits *out)
{
	struct sk_sig_limits *lim = &out->lim;
	const CK_MECHANISM_TYPE *allowed = al->m;
	size_t na = al->n, i, j;
	unsigned raw[2] = { 0, 0 };
	const char *lacks[2] = { NULL, NULL };
	int listed[2] = { 0, 0 };

	memset(out, 0, sizeof(*out));
	for (i = 0; i < SK_ARRAY_SIZE(sig_mechs); i++) {
		int sc = sig_mechs[i].scheme, has;
		unsigned bit;

		if (sig_mechs[i].kind != kind)
			continue;
		for (j = 0; j < na && allowed[j] != sig_mechs[i].m; j++)
			;
		if (na == 0 ? sig_mechs[i].nid != NID_undef : j == na)
			continue;
		listed[sc] = 1;
		if ((has = sk_p11_has_mech(be, sig_mechs[i].m)) < 0)
			return sk_err(SK_EBACKEND, "token '%s': cannot list its mechanisms", be->label);
		if (!has) {
			if (lacks[sc] == NULL)
				lacks[sc] = sk_p11_mech_name(sig_mechs[i].m);
			continue;
		}
		bit = sig_mechs[i].nid == NID_undef ? SK_SIG_MD_ALL
						    : sk_sig_md_bit(EVP_get_digestbynid(sig_mechs[i].nid));
		lim->md[sc] |= bit;
		if (sig_mechs[i].nid == NID_undef)
			raw[sc] |= bit;
		else
			lim->msg[sc] |= bit;
	}
	for (i = 0; i < 2; i++) {
		lim->msg[i] &= ~raw[i];
		if (lim->md[i] != 0)
			continue;
		if (kind == SK_KIND_EC && i == SK_SIG_PSS)
			snprintf(lim->why[i], sizeof(lim->why[i]), "RSA-PSS applies to RSA keys only");
		else if ((out->lacks[i] = lacks[i]) != NULL)
			snprintf(lim->why[i], sizeof(lim->why[i]), "token '%s' lacks %s", be->label, lacks[i]);
		else if (!listed[i])
			snprintf(lim->why[i], sizeof(lim->why[i]),
				 "its CKA_ALLOWED_MECHANISMS has no %s mechanism",
				 sk_p11_scheme_name(kind, (int)i));
	}
	return SK_OK;
}


CK_MECHANISM_TYPE sk_p11_sig_mech(enum sk_kind kind, int pss, const EVP_MD *md)
{
	int sc = pss ? SK_SIG_PSS : SK_SIG_PLAIN;
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(sig_mechs); i++)
		if (sig_mechs[i].kind == kind && sig_mechs[i].scheme == sc &&
		    sig_mechs[i].nid == EVP_MD_get_type(md))
			return sig_mechs[i].m;
	return CK_UNAVAILABLE_INFORMATION;
}

/* SK_OK if a key with limits l may sign a digest md computed outside the token (msg 0) or
 * have the token hash the message with md (msg 1); else SK_EUNSUPP
 * saying why. */
int sk_p11_check_limits(struct p11_backend *be, enum sk_kind kind, const struct sk_p11_limits *l,
			const EVP_MD *md, int pss, int msg)
{
	int sc = pss ? SK_SIG_PSS : SK_SIG_PLAIN;
	unsigned bit = sk_sig_md_bit(md);
	char names[64];
	if (l->lim.md[sc] == 0 && l->lacks[sc] != NULL)
		return sk_err(SK_EUNSUPP, "token '%s' cannot sign with %s: it lacks %s", be->label,
			      sk_p11_scheme_name(kind, sc), l->lacks[sc]);
	if (l->lim.md[sc] == 0)
		return sk_err(SK_EUNSUPP, "cannot sign with %s: %s", sk_p11_scheme_name(kind, sc),
			      l->lim.why[sc]);
	if (!(l->lim.md[sc] & bit))
		return sk_err(SK_EUNSUPP, "cannot sign with %s and %s: the key allows %s only (CKA_ALLOWED_MECHANISMS)",
			      sk_p11_scheme_name(kind, sc), sk_md_name(md),
			      sk_sig_md_names(l->lim.md[sc], names, sizeof(names)));
	if (!msg && (l->lim.msg[sc] & bit))
		return sk_err(SK_EUNSUPP, "cannot sign a %s digest: the key signs only whole messages, hashed on the token (CKA_ALLOWED_MECHANISMS)",
			      sk_md_name(md));
	return SK_OK;
}

#endif /* SECKIT_HAVE_PKCS11 */
