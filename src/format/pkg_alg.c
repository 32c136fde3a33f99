/* SPDX-License-Identifier: MIT */
/* Object identifiers and algorithm identifiers of the package formats
 * (pkg.h; docs/formats/README.md). */
#include "format/pkg.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "crypto/crypto.h"
#include "base/err.h"

/* ---- object identifiers ---- */

ASN1_OBJECT *sk_oid(const char *suffix)
{
	char txt[128];
	ASN1_OBJECT *o;

	snprintf(txt, sizeof(txt), "%s.%s", SK_OID_ARC, suffix);
	/* no_name = 1: dotted form only, never a registered short name. */
	if ((o = OBJ_txt2obj(txt, 1)) == NULL)
		sk_err_ssl(SK_EFAIL, "object identifier %s", txt);
	return o;
}

int sk_oid_is(const ASN1_OBJECT *o, const char *suffix)
{
	ASN1_OBJECT *want = sk_oid(suffix);
	int eq = want != NULL && o != NULL && OBJ_cmp(o, want) == 0;

	ASN1_OBJECT_free(want);
	return eq;
}

void sk_oid_text(const ASN1_OBJECT *o, char *buf, size_t n)
{
	if (o == NULL || OBJ_obj2txt(buf, (int)n, o, 1) <= 0)
		snprintf(buf, n, "?");
}

/* ---- algorithm identifiers ---- */

int sk_mdalg_allowed(const EVP_MD *md)
{
	return md != NULL && strcmp(sk_md_name(md), "unknown") != 0;
}

/*
 * One encoding per digest (docs/formats/README.md): parameters absent for
 * SHA-1, SHA-2 and SHA-3 (RFC 3370 2.1, RFC 5754 2), NULL for MD5 (RFC 3370
 * 2.2, where they MUST be present).  Written here rather than left to
 * X509_ALGOR_set_md's per-digest flags, so that the format is ours and no
 * OpenSSL release can move it.
 */
int sk_mdalg_make(const EVP_MD *md, X509_ALGOR **out)
{
	int nid = EVP_MD_get_type(md);

	if ((*out = X509_ALGOR_new()) == NULL ||
	    !X509_ALGOR_set0(*out, OBJ_nid2obj(nid), nid == NID_md5 ? V_ASN1_NULL : V_ASN1_UNDEF,
			     NULL)) {
		X509_ALGOR_free(*out);
		*out = NULL;
		return sk_err_ssl(SK_EFAIL, "digest algorithm identifier");
	}
	return SK_OK;
}

int sk_mdalg_parse(const X509_ALGOR *alg, const EVP_MD **md)
{
	const ASN1_OBJECT *obj;
	X509_ALGOR *canon = NULL;
	char oid[96];
	int ok;

	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	*md = EVP_get_digestbyobj(obj);
	if (!sk_mdalg_allowed(*md)) {
		sk_oid_text(obj, oid, sizeof(oid));
		return sk_err(SK_EVERIFY, "unknown digest algorithm %s", oid);
	}
	if (sk_mdalg_make(*md, &canon) != SK_OK)
		return SK_EFAIL;
	ok = X509_ALGOR_cmp(canon, alg) == 0;
	X509_ALGOR_free(canon);
	if (!ok)
		return sk_err(SK_EVERIFY, "digest algorithm %s: unexpected parameters",
			      sk_md_name(*md));
	return SK_OK;
}

int sk_sigalg_make(EVP_PKEY *pub, const EVP_MD *md, int pss, X509_ALGOR **out)
{
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char aid[256];
	const unsigned char *q = aid;
	OSSL_PARAM params[2];
	int rc = SK_OK;

	*out = NULL;
	if (pss && !EVP_PKEY_is_a(pub, "RSA"))
		return sk_err(SK_EUNSUPP, "RSA-PSS needs an RSA key");
	/* Let OpenSSL's signature provider write the identifier: it is the
	 * same code that writes them into certificates and CMS. */
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	if (pctx == NULL || EVP_PKEY_verify_init(pctx) <= 0) {
		rc = sk_err_ssl(SK_EUNSUPP, "this key cannot sign");
		goto out;
	}
	if (EVP_PKEY_CTX_set_signature_md(pctx, md) <= 0 ||
	    (EVP_PKEY_is_a(pub, "RSA") &&
	     (EVP_PKEY_CTX_set_rsa_padding(pctx, pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) <= 0 ||
	      (pss && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0)))) {
		ERR_clear_error();
		rc = sk_err(SK_EUNSUPP, "%s%s signatures with %s are not supported",
			    EVP_PKEY_get0_type_name(pub), pss ? "-PSS" : "", sk_md_name(md));
		goto out;
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid,
						      sizeof(aid));
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_CTX_get_params(pctx, params) <= 0 || !OSSL_PARAM_modified(params) ||
	    params[0].return_size == 0 ||
	    (*out = d2i_X509_ALGOR(NULL, &q, (long)params[0].return_size)) == NULL) {
		ERR_clear_error();
		rc = sk_err(SK_EUNSUPP, "no algorithm identifier for %s%s signatures with %s",
			    EVP_PKEY_get0_type_name(pub), pss ? "-PSS" : "", sk_md_name(md));
	}
out:
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

static RSA_PSS_PARAMS *pss_params(const X509_ALGOR *alg)
{
	const void *pval;
	int ptype;

	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	if (ptype != V_ASN1_SEQUENCE)
		return NULL;
	return ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS),
					 (const ASN1_TYPE *)alg->parameter);
}

int sk_sigalg_parse(const X509_ALGOR *alg, const EVP_MD **md, int *pss, const char **family)
{
	const ASN1_OBJECT *obj;
	int nid, mdnid, pknid, ptype;
	char oid[96];

	X509_ALGOR_get0(&obj, &ptype, NULL, alg);
	nid = OBJ_obj2nid(obj);
	*md = NULL;
	*pss = 0;
	*family = NULL;
	if (nid == NID_rsassaPss) {
		RSA_PSS_PARAMS *pp = pss_params(alg);

		if (pp == NULL) {
			ERR_clear_error();
			return sk_err(SK_EVERIFY, "RSA-PSS signature algorithm: malformed parameters");
		}
		*md = pp->hashAlgorithm ? EVP_get_digestbyobj(pp->hashAlgorithm->algorithm)
					: EVP_sha1();
		RSA_PSS_PARAMS_free(pp);
		*pss = 1;
		*family = "RSA";
	} else if (nid != NID_undef && OBJ_find_sigid_algs(nid, &mdnid, &pknid)) {
		*md = EVP_get_digestbynid(mdnid);
		if (pknid == NID_X9_62_id_ecPublicKey)
			*family = "EC";
		else if (pknid == NID_rsaEncryption)
			*family = "RSA";
	}
	if (*family == NULL || !sk_mdalg_allowed(*md)) {
		sk_oid_text(obj, oid, sizeof(oid));
		return sk_err(SK_EVERIFY, "unknown signature algorithm %s", oid);
	}
	/* The rest of the parameters are checked against the canonical
	 * identifier when the key is known (sk_pkg_verify_digest); the
	 * obvious part can be checked now. */
	if (!*pss && ptype != (strcmp(*family, "EC") == 0 ? V_ASN1_UNDEF : V_ASN1_NULL))
		return sk_err(SK_EVERIFY, "signature algorithm: unexpected parameters");
	return SK_OK;
}

void sk_sigalg_describe(const X509_ALGOR *alg, char *buf, size_t n)
{
	const EVP_MD *md;
	const ASN1_OBJECT *obj;
	const char *family;
	int pss;

	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	if (sk_sigalg_parse(alg, &md, &pss, &family) != SK_OK) {
		sk_err_clear();
		sk_oid_text(obj, buf, n);
		return;
	}
	if (pss) {
		RSA_PSS_PARAMS *pp = pss_params(alg);
		const EVP_MD *mgf = NULL;
		long salt = 20;

		if (pp != NULL) {
			X509_ALGOR *m = NULL;

			/* maskHash is only filled by OpenSSL's own PSS decoder:
			 * unpack MGF1's parameter (a digest identifier) here. */
			if (pp->maskGenAlgorithm == NULL)
				mgf = EVP_sha1();
			else if (OBJ_obj2nid(pp->maskGenAlgorithm->algorithm) == NID_mgf1 &&
				 pp->maskGenAlgorithm->parameter != NULL &&
				 (m = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
								pp->maskGenAlgorithm->parameter)) != NULL)
				mgf = EVP_get_digestbyobj(m->algorithm);
			X509_ALGOR_free(m);
			ERR_clear_error();
			if (pp->saltLength)
				salt = ASN1_INTEGER_get(pp->saltLength);
			RSA_PSS_PARAMS_free(pp);
		}
		snprintf(buf, n, "rsassa-pss(%s,mgf1-%s,salt=%ld)", sk_md_name(md),
			 mgf ? sk_md_name(mgf) : "?", salt);
		return;
	}
	snprintf(buf, n, "%s", OBJ_nid2ln(OBJ_obj2nid(obj)));
}
