/* SPDX-License-Identifier: MIT */
/*
 * The algorithms of ECIES envelopes and opaque objects (ecies.h,
 * docs/formats/ecies.md): their names, and their AlgorithmIdentifiers,
 * written in the one encoding the format gives and read back only in it.
 */
#include "format/ecies.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "base/err.h"
#include "format/ecies_int.h"

/* GCMParameters (RFC 5084). */
typedef struct sk_gcm_params_st {
	ASN1_OCTET_STRING *nonce;
	ASN1_INTEGER *icvlen;
} SK_GCM_PARAMS;
DECLARE_ASN1_FUNCTIONS(SK_GCM_PARAMS)
ASN1_SEQUENCE(SK_GCM_PARAMS) = {
	ASN1_SIMPLE(SK_GCM_PARAMS, nonce, ASN1_OCTET_STRING),
	ASN1_OPT(SK_GCM_PARAMS, icvlen, ASN1_INTEGER),
} ASN1_SEQUENCE_END(SK_GCM_PARAMS)
IMPLEMENT_ASN1_FUNCTIONS(SK_GCM_PARAMS)

/* ---- algorithm tables ---- */

/* Identifiers without an OpenSSL NID, as dotted text. */
#define OID_HKDF_SHA256 "1.2.840.113549.1.9.16.3.28" /* RFC 8619 */
#define OID_HKDF_SHA384 "1.2.840.113549.1.9.16.3.29"
#define OID_X963_KDF "1.3.132.1.17.0"                /* SEC 1 v2, x9-63-kdf */
/* id-seckit-alg-aes256-ctr, id-seckit.2.1 (docs/formats/README.md):
 * 2.25.337553018662316161953456558998501963016.2.1, as its DER content
 * octets: built from these, it costs a copy instead of a big-number parse
 * per envelope. */
static const unsigned char oid_ctr_der[] = {
	0x69, 0x83, 0xfb, 0xf2, 0xac, 0xaf, 0xb9, 0xae, 0xd2, 0x8f, 0xcd,
	0xb0, 0xcb, 0xf3, 0x85, 0xdc, 0xf4, 0xee, 0xea, 0x08, 0x02, 0x01,
};

static ASN1_OBJECT *oid_ctr(void)
{
	return ASN1_OBJECT_create(NID_undef, (unsigned char *)oid_ctr_der, sizeof(oid_ctr_der),
				  NULL, NULL);
}

static int is_oid_ctr(const ASN1_OBJECT *o)
{
	return (size_t)OBJ_length(o) == sizeof(oid_ctr_der) &&
	       memcmp(OBJ_get0_data(o), oid_ctr_der, sizeof(oid_ctr_der)) == 0;
}

const struct sk_ecies_kdf_def sk_ecies_kdfs[] = {
	[SK_ECIES_HKDF_SHA256] = { "hkdf-sha256", OID_HKDF_SHA256, "HKDF", "SHA256", NID_sha256 },
	[SK_ECIES_HKDF_SHA384] = { "hkdf-sha384", OID_HKDF_SHA384, "HKDF", "SHA384", NID_sha384 },
	[SK_ECIES_X963_SHA256] = { "x963-sha256", OID_X963_KDF, "X963KDF", "SHA256", NID_sha256 },
	[SK_ECIES_X963_SHA384] = { "x963-sha384", OID_X963_KDF, "X963KDF", "SHA384", NID_sha384 },
};

const struct sk_ecies_cipher_def sk_ecies_ciphers[] = {
	[SK_ECIES_AES256_CTR] = { "aes-256-ctr", "ctr", "AES-256-CTR", 16 },
	[SK_ECIES_AES256_CBC] = { "aes-256-cbc", "cbc", "AES-256-CBC", 16 },
	[SK_ECIES_AES256_GCM] = { "aes-256-gcm", "gcm", "AES-256-GCM", 12 },
};

const struct sk_ecies_mac_def sk_ecies_macs[] = {
	[SK_ECIES_HMAC_SHA256] = { "hmac-sha256", "sha256", "SHA256", NID_hmacWithSHA256, 32 },
	[SK_ECIES_HMAC_SHA384] = { "hmac-sha384", "sha384", "SHA384", NID_hmacWithSHA384, 48 },
	[SK_ECIES_HMAC_SHA512] = { "hmac-sha512", "sha512", "SHA512", NID_hmacWithSHA512, 64 },
};


void sk_ecies_alg_default(struct sk_ecies_alg *alg)
{
	alg->kdf = SK_ECIES_HKDF_SHA256;
	alg->cipher = SK_ECIES_AES256_CTR;
	alg->mac = SK_ECIES_HMAC_SHA256;
}

const char *sk_ecies_kdf_name(enum sk_ecies_kdf k)
{
	return sk_ecies_kdfs[k].name;
}

const char *sk_ecies_cipher_name(enum sk_ecies_cipher c)
{
	return sk_ecies_ciphers[c].name;
}

const char *sk_ecies_mac_name(enum sk_ecies_mac m)
{
	return sk_ecies_macs[m].name;
}

int sk_ecies_alg_set(struct sk_ecies_alg *alg, const char *kdf, const char *cipher,
		     const char *mac)
{
	size_t i;

	if (kdf != NULL) {
		for (i = 0; i < SK_ARRAY_SIZE(sk_ecies_kdfs); i++)
			if (strcasecmp(kdf, sk_ecies_kdfs[i].name) == 0)
				break;
		if (i == SK_ARRAY_SIZE(sk_ecies_kdfs))
			return sk_err(SK_EUSAGE, "unknown KDF '%s' (expected one of: %s)", kdf,
				      SK_ECIES_KDFS);
		alg->kdf = (enum sk_ecies_kdf)i;
	}
	if (cipher != NULL) {
		for (i = 0; i < SK_ARRAY_SIZE(sk_ecies_ciphers); i++)
			if (strcasecmp(cipher, sk_ecies_ciphers[i].name) == 0 ||
			    strcasecmp(cipher, sk_ecies_ciphers[i].shortname) == 0)
				break;
		if (i == SK_ARRAY_SIZE(sk_ecies_ciphers))
			return sk_err(SK_EUSAGE, "unknown cipher '%s' (expected one of: %s)", cipher,
				      SK_ECIES_CIPHERS);
		alg->cipher = (enum sk_ecies_cipher)i;
	}
	if (mac != NULL) {
		for (i = 0; i < SK_ARRAY_SIZE(sk_ecies_macs); i++)
			if (strcasecmp(mac, sk_ecies_macs[i].name) == 0 ||
			    strcasecmp(mac, sk_ecies_macs[i].shortname) == 0)
				break;
		if (i == SK_ARRAY_SIZE(sk_ecies_macs))
			return sk_err(SK_EUSAGE, "unknown MAC '%s' (expected one of: %s)", mac,
				      SK_ECIES_MACS);
		alg->mac = (enum sk_ecies_mac)i;
	}
	return SK_OK;
}

/* ---- AlgorithmIdentifiers written ---- */

static X509_ALGOR *algor_new(ASN1_OBJECT *obj, int ptype, void *pval)
{
	X509_ALGOR *x = X509_ALGOR_new();

	if (x == NULL || !X509_ALGOR_set0(x, obj, ptype, pval)) {
		X509_ALGOR_free(x);
		return NULL;
	}
	return x;
}

/* Parameter encoded as a SEQUENCE-typed ASN1_STRING (for X509_ALGOR). */
static ASN1_STRING *seq_param(const unsigned char *der, int len)
{
	ASN1_STRING *s = ASN1_STRING_new();

	if (s == NULL || !ASN1_STRING_set(s, der, len)) {
		ASN1_STRING_free(s);
		return NULL;
	}
	return s;
}

X509_ALGOR *sk_ecies_kdf_algor(const struct sk_ecies_alg *a)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(sk_ecies_kdfs[a->kdf].oid, 1);
	X509_ALGOR *x = NULL, *h = NULL;
	unsigned char *der = NULL;
	ASN1_STRING *param;
	int len;

	if (obj == NULL)
		return NULL;
	if (strcmp(sk_ecies_kdfs[a->kdf].kdf, "HKDF") == 0) {
		/* RFC 8619: parameters absent */
		if ((x = algor_new(obj, V_ASN1_UNDEF, NULL)) == NULL)
			ASN1_OBJECT_free(obj);
		return x;
	}
	/* x9-63-kdf: parameters are the hash AlgorithmIdentifier */
	h = algor_new(OBJ_nid2obj(sk_ecies_kdfs[a->kdf].md_nid), V_ASN1_UNDEF, NULL);
	len = h ? i2d_X509_ALGOR(h, &der) : -1;
	X509_ALGOR_free(h);
	if (len <= 0 || (param = seq_param(der, len)) == NULL) {
		OPENSSL_free(der);
		ASN1_OBJECT_free(obj);
		return NULL;
	}
	OPENSSL_free(der);
	if ((x = algor_new(obj, V_ASN1_SEQUENCE, param)) == NULL) {
		ASN1_STRING_free(param);
		ASN1_OBJECT_free(obj);
	}
	return x;
}

X509_ALGOR *sk_cipher_algor(enum sk_ecies_cipher c, const uint8_t *iv)
{
	ASN1_OCTET_STRING *os = NULL;
	X509_ALGOR *x = NULL;
	ASN1_OBJECT *obj;

	if (c == SK_ECIES_AES256_GCM) {
		SK_GCM_PARAMS *gp = SK_GCM_PARAMS_new();
		unsigned char *der = NULL;
		ASN1_STRING *param = NULL;
		int len = -1;

		if (gp != NULL && ASN1_OCTET_STRING_set(gp->nonce, iv, 12) &&
		    (gp->icvlen = ASN1_INTEGER_new()) != NULL &&
		    ASN1_INTEGER_set(gp->icvlen, GCM_TAG))
			len = i2d_SK_GCM_PARAMS(gp, &der);
		SK_GCM_PARAMS_free(gp);
		if (len > 0)
			param = seq_param(der, len);
		OPENSSL_free(der);
		if (param == NULL)
			return NULL;
		if ((x = algor_new(OBJ_nid2obj(NID_aes_256_gcm), V_ASN1_SEQUENCE, param)) == NULL)
			ASN1_STRING_free(param);
		return x;
	}
	obj = c == SK_ECIES_AES256_CBC ? OBJ_nid2obj(NID_aes_256_cbc)
					       : oid_ctr();
	if (obj == NULL || (os = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(os, iv, 16) ||
	    (x = algor_new(obj, V_ASN1_OCTET_STRING, os)) == NULL) {
		ASN1_OCTET_STRING_free(os);
		ASN1_OBJECT_free(obj);
		return NULL;
	}
	return x;
}

X509_ALGOR *sk_ecies_mac_algor(const struct sk_ecies_alg *a)
{
	/* PKCS #5 writes hmacWithSHA* with NULL parameters; we do too. */
	return algor_new(OBJ_nid2obj(sk_ecies_macs[a->mac].nid), V_ASN1_NULL, NULL);
}
/* ---- AlgorithmIdentifiers read ---- */

/*
 * 1 if got is, byte for byte, the identifier seckit writes (want, which is
 * freed): one encoding per envelope (ecies.md), so a NULL where parameters
 * are absent, an absent NULL, or BER inside the parameters is refused.
 */
static int algor_canonical(const X509_ALGOR *got, X509_ALGOR *want)
{
	unsigned char *a = NULL, *b = NULL;
	int alen = want ? i2d_X509_ALGOR(want, &a) : -1;
	int blen = i2d_X509_ALGOR(got, &b);
	int eq = alen > 0 && alen == blen && memcmp(a, b, (size_t)alen) == 0;

	OPENSSL_free(a);
	OPENSSL_free(b);
	X509_ALGOR_free(want);
	ERR_clear_error();
	return eq;
}

static int obj_is(const ASN1_OBJECT *o, const char *txt)
{
	ASN1_OBJECT *ref = OBJ_txt2obj(txt, 1);
	int eq = ref != NULL && OBJ_cmp(o, ref) == 0;

	ASN1_OBJECT_free(ref);
	return eq;
}

int sk_cipher_algor_parse(const X509_ALGOR *alg, enum sk_ecies_cipher *c, uint8_t iv[16])
{
	const ASN1_OBJECT *o;
	const void *pv;
	int ptype;

	X509_ALGOR_get0(&o, &ptype, &pv, alg);
	if (OBJ_obj2nid(o) == NID_aes_256_gcm) {
		const ASN1_STRING *s = pv;
		const unsigned char *q;
		SK_GCM_PARAMS *gp;
		long icv = 12;
		int ok;

		if (ptype != V_ASN1_SEQUENCE)
			return sk_err(SK_EVERIFY, "AES-GCM without parameters");
		q = ASN1_STRING_get0_data(s);
		gp = d2i_SK_GCM_PARAMS(NULL, &q, ASN1_STRING_length(s));
		if (gp != NULL && gp->icvlen != NULL)
			icv = ASN1_INTEGER_get(gp->icvlen);
		ok = gp != NULL && q == ASN1_STRING_get0_data(s) + ASN1_STRING_length(s) &&
		     ASN1_STRING_length(gp->nonce) == 12 && icv == GCM_TAG;
		if (ok)
			memcpy(iv, ASN1_STRING_get0_data(gp->nonce), 12);
		SK_GCM_PARAMS_free(gp);
		ERR_clear_error();
		if (!ok)
			return sk_err(SK_EVERIFY, "bad AES-GCM parameters (need a 12-byte nonce, 16-byte tag)");
		*c = SK_ECIES_AES256_GCM;
		/* GCMParameters in DER, the ICV length written out */
		if (!algor_canonical(alg, sk_cipher_algor(*c, iv)))
			return sk_err(SK_EVERIFY, "AES-GCM parameters are not in their one DER encoding");
	} else {
		if (OBJ_obj2nid(o) == NID_aes_256_cbc)
			*c = SK_ECIES_AES256_CBC;
		else if (is_oid_ctr(o))
			*c = SK_ECIES_AES256_CTR;
		else
			return sk_err(SK_EVERIFY, "unsupported cipher");
		if (ptype != V_ASN1_OCTET_STRING ||
		    ASN1_STRING_length((const ASN1_STRING *)pv) != 16)
			return sk_err(SK_EVERIFY, "the cipher needs a 16-byte IV");
		memcpy(iv, ASN1_STRING_get0_data((const ASN1_STRING *)pv), 16);
	}

	return SK_OK;
}

/* Parse the three algorithm identifiers; iv receives the IV or nonce. */
int sk_ecies_parse_algs(const SK_ECIES *env, struct sk_ecies_alg *a, uint8_t iv[16])
{
	const ASN1_OBJECT *o;
	const void *pv;
	int ptype, rc;
	size_t i;

	X509_ALGOR_get0(&o, &ptype, &pv, env->kdf);
	if (obj_is(o, OID_HKDF_SHA256) || obj_is(o, OID_HKDF_SHA384)) {
		if (ptype != V_ASN1_UNDEF)
			return sk_err(SK_EVERIFY, "ECIES: HKDF takes no parameters");
		a->kdf = obj_is(o, OID_HKDF_SHA256) ? SK_ECIES_HKDF_SHA256 : SK_ECIES_HKDF_SHA384;
	} else if (obj_is(o, OID_X963_KDF)) {
		const ASN1_STRING *s = pv;
		const unsigned char *q;
		X509_ALGOR *h;
		int nid;

		if (ptype != V_ASN1_SEQUENCE)
			return sk_err(SK_EVERIFY, "ECIES: X9.63 KDF without a hash");
		q = ASN1_STRING_get0_data(s);
		h = d2i_X509_ALGOR(NULL, &q, ASN1_STRING_length(s));
		nid = h ? OBJ_obj2nid(h->algorithm) : NID_undef;
		X509_ALGOR_free(h);
		ERR_clear_error();
		if (nid == NID_sha256)
			a->kdf = SK_ECIES_X963_SHA256;
		else if (nid == NID_sha384)
			a->kdf = SK_ECIES_X963_SHA384;
		else
			return sk_err(SK_EVERIFY, "ECIES: unsupported X9.63 KDF hash");
	} else {
		return sk_err(SK_EVERIFY, "ECIES: unsupported key derivation function");
	}

	if ((rc = sk_cipher_algor_parse(env->cipher, &a->cipher, iv)) != SK_OK)
		return rc;

	/* The hash of x9-63-kdf is written with its parameters absent. */
	if (!algor_canonical(env->kdf, sk_ecies_kdf_algor(a)))
		return sk_err(SK_EVERIFY, "ECIES: %s identifier is not in its one encoding",
			      sk_ecies_kdfs[a->kdf].name);

	X509_ALGOR_get0(&o, &ptype, &pv, env->mac);
	for (i = 0; i < SK_ARRAY_SIZE(sk_ecies_macs); i++)
		if (OBJ_obj2nid(o) == sk_ecies_macs[i].nid)
			break;
	if (i == SK_ARRAY_SIZE(sk_ecies_macs))
		return sk_err(SK_EVERIFY, "ECIES: unsupported MAC");
	a->mac = (enum sk_ecies_mac)i;
	/* hmacWithSHA* with NULL parameters, as PKCS #5 writes them */
	if (!algor_canonical(env->mac, sk_ecies_mac_algor(a)))
		return sk_err(SK_EVERIFY, "ECIES: %s identifier must have NULL parameters",
			      sk_ecies_macs[a->mac].name);
	return SK_OK;
}

size_t sk_cipher_ivlen(enum sk_ecies_cipher c)
{
	return sk_ecies_ciphers[c].ivlen;
}
