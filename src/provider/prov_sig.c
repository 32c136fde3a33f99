/* SPDX-License-Identifier: MIT */
/*
 * Signatures with a store key: ECDSA, RSA PKCS#1 v1.5 and RSA-PSS (salt
 * as long as the digest, MGF1 with the same digest: what TLS 1.3 and the
 * backends do).  The digest is computed here; the backend signs the
 * digest (sk_key_sign).  Verification uses the public key (another
 * provider's).
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base/util.h"
#include "provider/prov_int.h"

struct skp_sig {
	struct skp_prov *prov;
	enum sk_kind kind;
	struct skp_key *key;    /* OpenSSL's, alive while the operation is */
	EVP_MD *md;             /* NULL: not chosen yet */
	EVP_MD *mgf1;           /* NULL: the same as md */
	int pss;
	int saltlen;            /* RSA_PSS_SALTLEN_* or a length */
	EVP_MD_CTX *mdctx;      /* digest-sign/verify */
	unsigned char aid[256]; /* the AlgorithmIdentifier, DER */
	size_t aidlen;
	int signing;            /* a sign operation (the key's limits apply) */
	int pad_set;            /* the padding was chosen (else either may come) */
	/* A digest-sign whose digest the key signs only over the whole
	 * message (sk_sig_limits msg): the message, kept for the backend. */
	int keep_msg;
	struct sk_buf msg;
};

static void *sig_new(void *provctx, enum sk_kind kind)
{
	struct skp_sig *s = OPENSSL_zalloc(sizeof(*s));

	if (s == NULL)
		return NULL;
	s->prov = provctx;
	s->kind = kind;
	s->saltlen = RSA_PSS_SALTLEN_AUTO;
	return s;
}

static void *sig_new_ec(void *provctx, const char *propq)
{
	(void)propq;
	return sig_new(provctx, SK_KIND_EC);
}

static void *sig_new_rsa(void *provctx, const char *propq)
{
	(void)propq;
	return sig_new(provctx, SK_KIND_RSA);
}

static void sig_free(void *ctx)
{
	struct skp_sig *s = ctx;

	if (s == NULL)
		return;
	EVP_MD_free(s->md);
	EVP_MD_free(s->mgf1);
	EVP_MD_CTX_free(s->mdctx);
	sk_buf_free(&s->msg);
	OPENSSL_free(s);
}

static void *sig_dup(void *ctx)
{
	struct skp_sig *s = ctx, *d = OPENSSL_memdup(s, sizeof(*s));

	if (d == NULL)
		return NULL;
	d->mdctx = NULL;
	memset(&d->msg, 0, sizeof(d->msg));
	if ((d->md != NULL && !EVP_MD_up_ref(d->md)) || (d->mgf1 != NULL && !EVP_MD_up_ref(d->mgf1))) {
		OPENSSL_free(d);
		return NULL;
	}
	if (s->msg.len > 0 && sk_buf_add(&d->msg, s->msg.p, s->msg.len) != SK_OK) {
		sk_err_clear();
		d->mdctx = NULL;
		sig_free(d);
		return NULL;
	}
	if (s->mdctx != NULL &&
	    ((d->mdctx = EVP_MD_CTX_new()) == NULL || !EVP_MD_CTX_copy_ex(d->mdctx, s->mdctx))) {
		sig_free(d);
		return NULL;
	}
	return d;
}

/* The digests a key's signature may use. */
static int set_md(struct skp_sig *s, EVP_MD **slot, const char *name)
{
	static const char *const ok[] = { "SHA1", "SHA2-224", "SHA2-256", "SHA2-384", "SHA2-512" };
	EVP_MD *md = EVP_MD_fetch(NULL, name, SKP_OTHER);
	size_t i;

	for (i = 0; md != NULL && i < SK_ARRAY_SIZE(ok); i++)
		if (EVP_MD_is_a(md, ok[i]))
			break;
	if (md == NULL || i == SK_ARRAY_SIZE(ok)) {
		EVP_MD_free(md);
		skp_raise(s->prov, SK_EUNSUPP, "digest '%s': not one a seckit key signs with", name);
		return 0;
	}
	EVP_MD_free(*slot);
	*slot = md;
	return 1;
}

/*
 * Whether the key may sign with digest md (NULL: not chosen yet) in the
 * scheme chosen so far: before the padding is set (EVP_DigestSignInit,
 * which libssl's choice of a signature scheme asks), in either scheme.
 * A refusal says why, and libssl picks another scheme.
 */
static int limits_ok(struct skp_sig *s)
{
	const struct skp_key *k = s->key;
	const struct sk_sig_limits *lim;
	unsigned allowed, bit;
	int sc = s->pss ? SK_SIG_PSS : SK_SIG_PLAIN;
	char names[64];

	if (!s->signing || k == NULL || k->key == NULL)
		return 1;
	lim = &k->lim;
	if ((s->pss || s->pad_set) && s->kind == SK_KIND_RSA && lim->md[sc] == 0) {
		skp_raise(s->prov, SK_EUNSUPP, "key '%s' cannot sign with %s: %s", k->name,
			  s->pss ? "RSA-PSS" : "RSA PKCS#1 v1.5", lim->why[sc]);
		return 0;
	}
	allowed = s->pss || s->pad_set || s->kind != SK_KIND_RSA
			  ? lim->md[sc]
			  : lim->md[SK_SIG_PLAIN] | lim->md[SK_SIG_PSS];
	if (allowed == 0) {
		skp_raise(s->prov, SK_EUNSUPP, "key '%s' cannot sign: %s", k->name, lim->why[sc]);
		return 0;
	}
	if (s->md == NULL)
		return 1;
	bit = sk_sig_md_bit(s->md);
	if (!(allowed & bit)) {
		skp_raise(s->prov, SK_EUNSUPP, "key '%s' cannot sign with %s: it allows %s only", k->name,
			  EVP_MD_get0_name(s->md), sk_sig_md_names(allowed, names, sizeof(names)));
		return 0;
	}
	return 1;
}

static int set_params(void *ctx, const OSSL_PARAM params[])
{
	struct skp_sig *s = ctx;
	const OSSL_PARAM *q;
	const char *str;
	int v;

	if (params == NULL)
		return 1;
	if ((q = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST)) != NULL &&
	    (!OSSL_PARAM_get_utf8_string_ptr(q, &str) || !set_md(s, &s->md, str)))
		return 0;
	if (s->kind != SK_KIND_RSA)
		return 1;
	if ((q = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL) {
		if (q->data_type == OSSL_PARAM_UTF8_STRING) {
			if (!OSSL_PARAM_get_utf8_string_ptr(q, &str))
				return 0;
			v = strcmp(str, OSSL_PKEY_RSA_PAD_MODE_PSS) == 0     ? RSA_PKCS1_PSS_PADDING
			    : strcmp(str, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0 ? RSA_PKCS1_PADDING
									     : -1;
		} else if (!OSSL_PARAM_get_int(q, &v)) {
			return 0;
		}
		if (v != RSA_PKCS1_PADDING && v != RSA_PKCS1_PSS_PADDING) {
			skp_raise(s->prov, SK_EUNSUPP, "RSA padding: only PKCS#1 v1.5 and PSS");
			return 0;
		}
		s->pss = v == RSA_PKCS1_PSS_PADDING;
		s->pad_set = 1;
		if (!limits_ok(s))
			return 0;
	}
	if ((q = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != NULL) {
		if (q->data_type == OSSL_PARAM_UTF8_STRING) {
			if (!OSSL_PARAM_get_utf8_string_ptr(q, &str))
				return 0;
			if (strcmp(str, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) == 0)
				v = RSA_PSS_SALTLEN_DIGEST;
			else if (strcmp(str, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO) == 0)
				v = RSA_PSS_SALTLEN_AUTO;
			else if (strcmp(str, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX) == 0)
				v = RSA_PSS_SALTLEN_MAX;
			else
				v = (int)strtol(str, NULL, 10);
		} else if (!OSSL_PARAM_get_int(q, &v)) {
			return 0;
		}
		s->saltlen = v;
	}
	if ((q = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) != NULL &&
	    (!OSSL_PARAM_get_utf8_string_ptr(q, &str) || !set_md(s, &s->mgf1, str)))
		return 0;
	return 1;
}

static int init(struct skp_sig *s, void *provkey, const OSSL_PARAM params[], int sign)
{
	struct skp_key *k = provkey;

	if (k == NULL || k->pub == NULL || k->kind != s->kind)
		return 0;
	if (sign && (k->key == NULL || !(k->caps & SK_CAP_SIGN))) {
		skp_raise(s->prov, SK_EUNSUPP, "key '%s' cannot sign", k->key != NULL ? k->name : "(public)");
		return 0;
	}
	s->key = k;
	s->signing = sign;
	s->pad_set = 0;
	s->pss = 0;
	s->saltlen = RSA_PSS_SALTLEN_AUTO;
	s->keep_msg = 0;
	s->msg.len = 0;
	return set_params(s, params) && limits_ok(s);
}

static int sign_init(void *ctx, void *provkey, const OSSL_PARAM params[])
{
	return init(ctx, provkey, params, 1);
}

static int verify_init(void *ctx, void *provkey, const OSSL_PARAM params[])
{
	return init(ctx, provkey, params, 0);
}

/* The digest for a signature over dgst: the one set, else for EC the
 * one of that length. */
static const EVP_MD *pick_md(struct skp_sig *s, size_t dlen)
{
	const char *name = dlen == 32 ? "SHA2-256" : dlen == 48 ? "SHA2-384" : dlen == 64 ? "SHA2-512" : NULL;

	if (s->md == NULL && s->kind == SK_KIND_EC && name != NULL)
		set_md(s, &s->md, name);
	if (s->md == NULL) {
		skp_raise(s->prov, SK_EUSAGE, "signing a digest: say which (the digest parameter)");
		return NULL;
	}
	if ((size_t)EVP_MD_get_size(s->md) != dlen) {
		skp_raise(s->prov, SK_EUSAGE, "a %s digest is %d bytes, not %zu", EVP_MD_get0_name(s->md),
			  EVP_MD_get_size(s->md), dlen);
		return NULL;
	}
	return s->md;
}

/* PSS as the backends do it: MGF1 with the message digest, a salt as
 * long as the digest. */
static int pss_ok(struct skp_sig *s, const EVP_MD *md, int sign)
{
	if (!s->pss)
		return 1;
	if (s->mgf1 != NULL && !EVP_MD_is_a(s->mgf1, EVP_MD_get0_name(md))) {
		skp_raise(s->prov, SK_EUNSUPP, "RSA-PSS: MGF1 must use the message digest");
		return 0;
	}
	if (s->saltlen == RSA_PSS_SALTLEN_DIGEST || s->saltlen == EVP_MD_get_size(md) ||
	    s->saltlen == RSA_PSS_SALTLEN_AUTO || (!sign && s->saltlen == RSA_PSS_SALTLEN_MAX))
		return 1;
	skp_raise(s->prov, SK_EUNSUPP, "RSA-PSS: the salt is as long as the digest (%d bytes)",
		  EVP_MD_get_size(md));
	return 0;
}

/* Sign the digest dgst, or (a digest the key signs only over the whole
 * message, msg not NULL) the message. */
static int do_sign(struct skp_sig *s, unsigned char *sig, size_t *siglen, size_t sigsize,
		   const unsigned char *dgst, size_t dlen, const struct sk_buf *msg)
{
	struct skp_key *k = s->key;
	struct sk_buf out = { 0 };
	const EVP_MD *md;
	int rc, whole;

	if ((md = pick_md(s, dlen)) == NULL || !pss_ok(s, md, 1) || !limits_ok(s))
		return 0;
	whole = (k->lim.msg[s->pss ? SK_SIG_PSS : SK_SIG_PLAIN] & sk_sig_md_bit(md)) != 0;
	if (whole && msg == NULL) {
		skp_raise(s->prov, SK_EUNSUPP,
			  "key '%s' signs %s only over the whole message, hashed by its backend: sign the message (EVP_DigestSign), not a digest",
			  k->name, EVP_MD_get0_name(md));
		return 0;
	}
	if (!skp_sign_async(k, md, s->pss, dgst, dlen, whole ? msg : NULL, &out, &rc)) {
		pthread_mutex_lock(&k->prov->lock);
		rc = whole ? sk_key_sign_msg(k->key, md, s->pss, msg->p, msg->len, &out)
			   : sk_key_sign(k->key, md, s->pss, dgst, dlen, &out);
		pthread_mutex_unlock(&k->prov->lock);
	}
	if (rc != SK_OK) {
		sk_err_wrap(rc, "key '%s'", k->name);
		skp_raise_sk(s->prov, rc);
		sk_buf_free(&out);
		return 0;
	}
	if (out.len > sigsize) {
		skp_raise(s->prov, SK_EFAIL, "signature buffer too small");
		sk_buf_free(&out);
		return 0;
	}
	memcpy(sig, out.p, out.len);
	*siglen = out.len;
	sk_buf_free(&out);
	return 1;
}

static int sign(void *ctx, unsigned char *sig, size_t *siglen, size_t sigsize,
		const unsigned char *tbs, size_t tbslen)
{
	struct skp_sig *s = ctx;

	if (sig == NULL) {
		*siglen = (size_t)EVP_PKEY_get_size(s->key->pub);
		return 1;
	}
	return do_sign(s, sig, siglen, sigsize, tbs, tbslen, NULL);
}

static int do_verify(struct skp_sig *s, const unsigned char *sig, size_t siglen,
		     const unsigned char *dgst, size_t dlen)
{
	const EVP_MD *md;
	int rc;

	if ((md = pick_md(s, dlen)) == NULL || !pss_ok(s, md, 0))
		return 0;
	rc = sk_pkey_verify(s->key->pub, md, s->pss, dgst, dlen, sig, siglen);
	if (rc != SK_OK) {
		sk_err_clear();
		return 0;
	}
	return 1;
}

static int verify(void *ctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs,
		  size_t tbslen)
{
	return do_verify(ctx, sig, siglen, tbs, tbslen);
}

static int dinit(void *ctx, const char *mdname, void *provkey, const OSSL_PARAM params[], int sign)
{
	struct skp_sig *s = ctx;

	if (!init(s, provkey, params, sign))
		return 0;
	if (!set_md(s, &s->md, mdname != NULL && mdname[0] != '\0' ? mdname : "SHA2-256") ||
	    !limits_ok(s))
		return 0;
	s->keep_msg = sign && s->key->key != NULL &&
		      ((s->key->lim.msg[SK_SIG_PLAIN] | s->key->lim.msg[SK_SIG_PSS]) & sk_sig_md_bit(s->md));
	if (s->mdctx == NULL && (s->mdctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	return EVP_DigestInit_ex2(s->mdctx, s->md, NULL);
}

static int dsign_init(void *ctx, const char *mdname, void *provkey, const OSSL_PARAM params[])
{
	return dinit(ctx, mdname, provkey, params, 1);
}

static int dverify_init(void *ctx, const char *mdname, void *provkey, const OSSL_PARAM params[])
{
	return dinit(ctx, mdname, provkey, params, 0);
}

static int dupdate(void *ctx, const unsigned char *data, size_t datalen)
{
	struct skp_sig *s = ctx;

	if (s->keep_msg && datalen > 0 && sk_buf_add(&s->msg, data, datalen) != SK_OK) {
		skp_raise_sk(s->prov, SK_EFAIL);
		return 0;
	}
	return s->mdctx != NULL && EVP_DigestUpdate(s->mdctx, data, datalen);
}

static int dsign_final(void *ctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
	struct skp_sig *s = ctx;
	unsigned char dgst[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;

	if (sig == NULL) {
		*siglen = (size_t)EVP_PKEY_get_size(s->key->pub);
		return 1;
	}
	if (s->mdctx == NULL || !EVP_DigestFinal_ex(s->mdctx, dgst, &dlen))
		return 0;
	return do_sign(s, sig, siglen, sigsize, dgst, dlen, s->keep_msg ? &s->msg : NULL);
}

static int dverify_final(void *ctx, const unsigned char *sig, size_t siglen)
{
	struct skp_sig *s = ctx;
	unsigned char dgst[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;

	if (s->mdctx == NULL || !EVP_DigestFinal_ex(s->mdctx, dgst, &dlen))
		return 0;
	return do_verify(s, sig, siglen, dgst, dlen);
}

/* RSASSA-PSS-params: the digest, MGF1 with it, a salt of its length. */
static ASN1_STRING *pss_params(const EVP_MD *md)
{
	RSA_PSS_PARAMS *pp = RSA_PSS_PARAMS_new();
	X509_ALGOR *h = X509_ALGOR_new();
	ASN1_STRING *hs = NULL, *out = NULL;

	if (pp == NULL || h == NULL)
		goto done;
	X509_ALGOR_set_md(h, md);
	if ((hs = ASN1_item_pack(h, ASN1_ITEM_rptr(X509_ALGOR), NULL)) == NULL ||
	    (pp->hashAlgorithm = X509_ALGOR_new()) == NULL ||
	    (pp->maskGenAlgorithm = X509_ALGOR_new()) == NULL ||
	    (pp->saltLength = ASN1_INTEGER_new()) == NULL)
		goto done;
	X509_ALGOR_set_md(pp->hashAlgorithm, md);
	if (!X509_ALGOR_set0(pp->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1), V_ASN1_SEQUENCE, hs))
		goto done;
	hs = NULL;
	if (!ASN1_INTEGER_set(pp->saltLength, EVP_MD_get_size(md)))
		goto done;
	out = ASN1_item_pack(pp, ASN1_ITEM_rptr(RSA_PSS_PARAMS), NULL);
done:
	ASN1_STRING_free(hs);
	X509_ALGOR_free(h);
	RSA_PSS_PARAMS_free(pp);
	return out;
}

/* The signature's AlgorithmIdentifier (a CSR's, a certificate's). */
static int algorithm_id(struct skp_sig *s)
{
	X509_ALGOR *a = X509_ALGOR_new();
	ASN1_STRING *pp = NULL;
	unsigned char *der = NULL;
	int sig_nid = 0, n = -1, ok = 0;

	if (a == NULL || s->md == NULL)
		goto done;
	if (s->kind == SK_KIND_RSA && s->pss) {
		if ((pp = pss_params(s->md)) == NULL ||
		    !X509_ALGOR_set0(a, OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE, pp))
			goto done;
		pp = NULL;
	} else {
		if (!OBJ_find_sigid_by_algs(&sig_nid, EVP_MD_get_type(s->md),
					    s->kind == SK_KIND_EC ? NID_X9_62_id_ecPublicKey
								  : NID_rsaEncryption) ||
		    !X509_ALGOR_set0(a, OBJ_nid2obj(sig_nid),
				     s->kind == SK_KIND_EC ? V_ASN1_UNDEF : V_ASN1_NULL, NULL))
			goto done;
	}
	if ((n = i2d_X509_ALGOR(a, &der)) <= 0 || (size_t)n > sizeof(s->aid))
		goto done;
	memcpy(s->aid, der, (size_t)n);
	s->aidlen = (size_t)n;
	ok = 1;
done:
	OPENSSL_free(der);
	ASN1_STRING_free(pp);
	X509_ALGOR_free(a);
	return ok;
}

static int get_params(void *ctx, OSSL_PARAM params[])
{
	struct skp_sig *s = ctx;
	OSSL_PARAM *q;

	if ((q = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID)) != NULL &&
	    (!algorithm_id(s) || !OSSL_PARAM_set_octet_string(q, s->aid, s->aidlen)))
		return 0;
	if ((q = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) != NULL &&
	    (s->md == NULL || !OSSL_PARAM_set_utf8_string(q, EVP_MD_get0_name(s->md))))
		return 0;
	if (s->kind != SK_KIND_RSA)
		return 1;
	if ((q = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL) {
		if (q->data_type == OSSL_PARAM_UTF8_STRING
			    ? !OSSL_PARAM_set_utf8_string(q, s->pss ? OSSL_PKEY_RSA_PAD_MODE_PSS
								    : OSSL_PKEY_RSA_PAD_MODE_PKCSV15)
			    : !OSSL_PARAM_set_int(q, s->pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING))
			return 0;
	}
	if ((q = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != NULL &&
	    q->data_type != OSSL_PARAM_UTF8_STRING && !OSSL_PARAM_set_int(q, s->saltlen))
		return 0;
	return 1;
}

static const OSSL_PARAM *gettable(void *ctx, void *provctx)
{
	static const OSSL_PARAM list[] = {
		OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL),
		OSSL_PARAM_END,
	};

	(void)ctx;
	(void)provctx;
	return list;
}

static const OSSL_PARAM *settable_ec(void *ctx, void *provctx)
{
	static const OSSL_PARAM list[] = {
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
		OSSL_PARAM_END,
	};

	(void)ctx;
	(void)provctx;
	return list;
}

static const OSSL_PARAM *settable_rsa(void *ctx, void *provctx)
{
	static const OSSL_PARAM list[] = {
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
		OSSL_PARAM_END,
	};

	(void)ctx;
	(void)provctx;
	return list;
}

#define FN(id, f) { id, (void (*)(void))(f) }
#define SIG_COMMON \
	FN(OSSL_FUNC_SIGNATURE_FREECTX, sig_free), FN(OSSL_FUNC_SIGNATURE_DUPCTX, sig_dup), \
	FN(OSSL_FUNC_SIGNATURE_SIGN_INIT, sign_init), FN(OSSL_FUNC_SIGNATURE_SIGN, sign), \
	FN(OSSL_FUNC_SIGNATURE_VERIFY_INIT, verify_init), FN(OSSL_FUNC_SIGNATURE_VERIFY, verify), \
	FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, dsign_init), \
	FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, dupdate), \
	FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, dsign_final), \
	FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, dverify_init), \
	FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, dupdate), \
	FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, dverify_final), \
	FN(OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, get_params), \
	FN(OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, gettable), \
	FN(OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, set_params)

const OSSL_DISPATCH skp_ecdsa_functions[] = {
	FN(OSSL_FUNC_SIGNATURE_NEWCTX, sig_new_ec),
	SIG_COMMON,
	FN(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, settable_ec),
	{ 0, NULL },
};

const OSSL_DISPATCH skp_rsa_sig_functions[] = {
	FN(OSSL_FUNC_SIGNATURE_NEWCTX, sig_new_rsa),
	SIG_COMMON,
	FN(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, settable_rsa),
	{ 0, NULL },
};
