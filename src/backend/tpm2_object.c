/* SPDX-License-Identifier: MIT */
/*
 * TPM objects of the tpm2 backend (tpm2_int.h): key templates, public
 * areas as OpenSSL keys, the blob a key is stored as, and creating,
 * importing and sealing objects under the storage parent.
 */
#ifdef SECKIT_HAVE_TPM2

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>

#include "base/err.h"
#include "backend/tpm2_int.h"

#define BLOB_VERSION SK_TPM2_BLOB_VERSION
#define BLOB_TRANSIENT SK_TPM2_BLOB_TRANSIENT

/* ---- templates and conversions ---- */

static TPM2_ECC_CURVE curve_of(const struct sk_keytype *kt)
{
	return kt->bits == 256 ? TPM2_ECC_NIST_P256 :
	       kt->bits == 384 ? TPM2_ECC_NIST_P384 : TPM2_ECC_NIST_P521;
}

size_t sk_tpm2_field_bytes(const struct sk_keytype *kt)
{
	return (kt->bits + 7) / 8;
}

TPMI_ALG_HASH sk_tpm2_hash_alg(const char *md)
{
	if (md == NULL)
		return TPM2_ALG_NULL;
	if (strcmp(md, "sha1") == 0)
		return TPM2_ALG_SHA1;
	if (strcmp(md, "sha256") == 0)
		return TPM2_ALG_SHA256;
	if (strcmp(md, "sha384") == 0)
		return TPM2_ALG_SHA384;
	if (strcmp(md, "sha512") == 0)
		return TPM2_ALG_SHA512;
	return TPM2_ALG_NULL;
}

/* The public template of a new key.  Keys made in the TPM are fixedTPM
 * (never duplicable); imported ones cannot be.  A key with an
 * authorisation value is under the TPM's dictionary-attack protection; one
 * without is noDA: an empty value has nothing to guess, and a TPM in
 * lockout refuses every DA-protected object, so wrong passwords for one
 * key would otherwise stop all the others. */
void sk_tpm2_key_template(const struct sk_keytype *kt, int imported, const struct sk_auth *auth,
			  TPM2B_PUBLIC *t)
{
	TPMT_PUBLIC *p = &t->publicArea;

	memset(t, 0, sizeof(*t));
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_USERWITHAUTH;
	if (auth == NULL)
		p->objectAttributes |= TPMA_OBJECT_NODA;
	if (!imported)
		p->objectAttributes |= TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				       TPMA_OBJECT_SENSITIVEDATAORIGIN;
	switch (kt->kind) {
	case SK_KIND_EC:
		p->type = TPM2_ALG_ECC;
		p->objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT;
		p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
		p->parameters.eccDetail.curveID = curve_of(kt);
		p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		break;
	case SK_KIND_RSA:
		p->type = TPM2_ALG_RSA;
		p->objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT;
		p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
		p->parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)kt->bits;
		p->parameters.rsaDetail.exponent = 0; /* 65537 */
		break;
	case SK_KIND_AES:
		p->type = TPM2_ALG_SYMCIPHER;
		p->objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT;
		p->parameters.symDetail.sym.algorithm = TPM2_ALG_AES;
		p->parameters.symDetail.sym.keyBits.aes = (TPMI_AES_KEY_BITS)kt->bits;
		p->parameters.symDetail.sym.mode.aes = TPM2_ALG_NULL;
		break;
	case SK_KIND_HMAC:
		p->type = TPM2_ALG_KEYEDHASH;
		p->objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
		p->parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_HMAC;
		p->parameters.keyedHashDetail.scheme.details.hmac.hashAlg = sk_tpm2_hash_alg(kt->md);
		break;
	}
	/* A key made inside the TPM must not say its data came from outside. */
	if (!imported && (kt->kind == SK_KIND_AES || kt->kind == SK_KIND_HMAC))
		p->objectAttributes |= TPMA_OBJECT_SENSITIVEDATAORIGIN;
}

/* TPM public area -> OpenSSL public key. */
static int public_to_pkey(const TPM2B_PUBLIC *pub, const struct sk_keytype *kt, EVP_PKEY **out)
{
	const TPMT_PUBLIC *p = &pub->publicArea;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t point[1 + 2 * TPM2_MAX_ECC_KEY_BYTES];
	int rc = SK_EFAIL;

	*out = NULL;
	if (bld == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	if (p->type == TPM2_ALG_ECC) {
		size_t fb = sk_tpm2_field_bytes(kt);
		const TPM2B_ECC_PARAMETER *x = &p->unique.ecc.x, *y = &p->unique.ecc.y;

		if (x->size > fb || y->size > fb) {
			rc = sk_err(SK_EVERIFY, "tpm2: malformed EC public key");
			goto out;
		}
		/* Uncompressed point, coordinates left-padded to the field size. */
		memset(point, 0, sizeof(point));
		point[0] = 4;
		memcpy(point + 1 + fb - x->size, x->buffer, x->size);
		memcpy(point + 1 + 2 * fb - y->size, y->buffer, y->size);
		if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, kt->group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * fb))
			goto ssl;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	} else if (p->type == TPM2_ALG_RSA) {
		uint32_t exp = p->parameters.rsaDetail.exponent ? p->parameters.rsaDetail.exponent : 65537;

		n = BN_bin2bn(p->unique.rsa.buffer, p->unique.rsa.size, NULL);
		e = BN_new();
		if (n == NULL || e == NULL || !BN_set_word(e, exp) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto ssl;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		rc = SK_OK; /* symmetric: no public key */
		goto out;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL || ctx == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto ssl;
	rc = SK_OK;
	goto out;
ssl:
	rc = sk_err_ssl(SK_EFAIL, "tpm2: converting the public key");
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return rc;
}

static int make_blob(struct tpm_backend *be, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv,
		     struct sk_buf *blob)
{
	uint8_t buf[2 + sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE)];
	size_t off = 2;
	TSS2_RC r;

	buf[0] = BLOB_VERSION;
	buf[1] = BLOB_TRANSIENT;
	r = be->t.Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off);
	if (r == TSS2_RC_SUCCESS)
		r = be->t.Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &off);
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_err(be, r, "encoding the key blob");
	return sk_buf_add(blob, buf, off);
}

int sk_tpm2_parse_blob(struct tpm_backend *be, const uint8_t *blob, size_t n, TPM2B_PUBLIC *pub,
		       TPM2B_PRIVATE *priv)
{
	size_t off = 2;

	memset(pub, 0, sizeof(*pub));
	memset(priv, 0, sizeof(*priv));
	if (n < 2 || blob[0] != BLOB_VERSION || blob[1] != BLOB_TRANSIENT ||
	    be->t.Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob, n, &off, pub) != TSS2_RC_SUCCESS ||
	    be->t.Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob, n, &off, priv) != TSS2_RC_SUCCESS ||
	    off != n)
		return sk_err(SK_EVERIFY, "tpm2: key blob is malformed");
	return SK_OK;
}

/* Ask the TPM whether it can do these parameters at all, so that "this
 * TPM has no RSA-4096" is a clear exit 6 rather than a failed create. */
static int test_parms(struct tpm_backend *be, const TPM2B_PUBLIC *t, const struct sk_keytype *kt)
{
	TPMT_PUBLIC_PARMS parms = { .type = t->publicArea.type };
	TSS2_RC r;

	switch (t->publicArea.type) {
	case TPM2_ALG_ECC: parms.parameters.eccDetail = t->publicArea.parameters.eccDetail; break;
	case TPM2_ALG_RSA: parms.parameters.rsaDetail = t->publicArea.parameters.rsaDetail; break;
	case TPM2_ALG_SYMCIPHER: parms.parameters.symDetail = t->publicArea.parameters.symDetail; break;
	default: parms.parameters.keyedHashDetail = t->publicArea.parameters.keyedHashDetail; break;
	}
	r = be->t.Esys_TestParms(be->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &parms);
	if (r != TSS2_RC_SUCCESS) {
		if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER)
			return sk_err(SK_EUNSUPP, "tpm2: this TPM does not support %s keys", kt->name);
		return sk_tpm2_err(be, r, "TPM2_TestParms");
	}
	return SK_OK;
}

int sk_tpm2_create(struct tpm_backend *be, const struct sk_keytype *kt, const TPM2B_PUBLIC *tmpl,
		   const TPM2B_SENSITIVE_CREATE *sens, struct sk_buf *blob, EVP_PKEY **pub)
{
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PUBLIC *opub = NULL;
	TPM2B_PRIVATE *opriv = NULL;
	TSS2_RC r;
	int rc;

	if ((rc = test_parms(be, tmpl, kt)) != SK_OK)
		return rc;
	r = be->t.Esys_Create(be->esys, be->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			      sens, tmpl, &outside, &pcrs, &opriv, &opub, NULL, NULL, NULL);
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_err(be, r, "creating the key");
	rc = make_blob(be, opub, opriv, blob);
	if (rc == SK_OK && pub != NULL)
		rc = public_to_pkey(opub, kt, pub);
	be->t.Esys_Free(opub);
	if (opriv != NULL)
		OPENSSL_cleanse(opriv, sizeof(*opriv));
	be->t.Esys_Free(opriv);
	return rc;
}

/* Big-endian BIGNUM parameter, left-padded to len bytes. */
static int bn_param(EVP_PKEY *pkey, const char *name, uint8_t *out, size_t len)
{
	BIGNUM *bn = NULL;
	int ok;

	if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
		return sk_err_ssl(SK_EFAIL, "tpm2: reading key component %s", name);
	ok = BN_bn2binpad(bn, out, (int)len) == (int)len;
	BN_clear_free(bn);
	if (!ok)
		return sk_err(SK_EFAIL, "tpm2: key component %s too large", name);
	return SK_OK;
}

/*
 * An existing EC/RSA private key goes in through TPM2_Import as a plain
 * (unwrapped) duplicate: no inner or outer wrapper, which the TPM allows
 * for objects that are not fixedTPM.  Why not TPM2_LoadExternal: that
 * gives a key that lives only until the next flush, and we need a blob the
 * TPM can reload.  The clear private key exists only in this process and
 * is cleansed here.
 */
int sk_tpm2_import_asym(struct tpm_backend *be, const struct sk_keytype *kt, EVP_PKEY *priv,
			const struct sk_auth *auth, struct sk_buf *blob)
{
	TPM2B_PUBLIC tmpl;
	TPM2B_SENSITIVE sens;
	TPM2B_PRIVATE dup = { 0 }, *opriv = NULL;
	TPM2B_DATA enckey = { 0 };
	TPM2B_ENCRYPTED_SECRET seed = { 0 };
	TPMT_SYM_DEF_OBJECT sym = { .algorithm = TPM2_ALG_NULL };
	TPMT_PUBLIC *p = &tmpl.publicArea;
	size_t off = 0;
	TSS2_RC r;
	int rc;

	sk_tpm2_key_template(kt, 1, auth, &tmpl);
	if ((rc = test_parms(be, &tmpl, kt)) != SK_OK)
		return rc;
	memset(&sens, 0, sizeof(sens));
	sk_tpm2_set_auth(&sens.sensitiveArea.authValue, auth);
	if (kt->kind == SK_KIND_EC) {
		size_t fb = sk_tpm2_field_bytes(kt);
		uint8_t pt[1 + 2 * TPM2_MAX_ECC_KEY_BYTES];
		size_t ptlen = 0;

		sens.sensitiveArea.sensitiveType = TPM2_ALG_ECC;
		sens.sensitiveArea.sensitive.ecc.size = (UINT16)fb;
		if ((rc = bn_param(priv, OSSL_PKEY_PARAM_PRIV_KEY, sens.sensitiveArea.sensitive.ecc.buffer, fb)) != SK_OK)
			goto out;
		if (!EVP_PKEY_get_octet_string_param(priv, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &ptlen) ||
		    ptlen != 1 + 2 * fb || pt[0] != 4) {
			rc = sk_err_ssl(SK_EFAIL, "tpm2: reading the EC public point");
			goto out;
		}
		p->unique.ecc.x.size = p->unique.ecc.y.size = (UINT16)fb;
		memcpy(p->unique.ecc.x.buffer, pt + 1, fb);
		memcpy(p->unique.ecc.y.buffer, pt + 1 + fb, fb);
	} else {
		size_t nb = kt->bits / 8;
		BIGNUM *e = NULL;

		if (!EVP_PKEY_get_bn_param(priv, OSSL_PKEY_PARAM_RSA_E, &e)) {
			rc = sk_err_ssl(SK_EFAIL, "tpm2: reading the RSA exponent");
			goto out;
		}
		if (!BN_is_word(e, 65537))
			p->parameters.rsaDetail.exponent = (UINT32)BN_get_word(e);
		BN_free(e);
		sens.sensitiveArea.sensitiveType = TPM2_ALG_RSA;
		sens.sensitiveArea.sensitive.rsa.size = (UINT16)(nb / 2);
		p->unique.rsa.size = (UINT16)nb;
		if ((rc = bn_param(priv, OSSL_PKEY_PARAM_RSA_FACTOR1, sens.sensitiveArea.sensitive.rsa.buffer, nb / 2)) != SK_OK ||
		    (rc = bn_param(priv, OSSL_PKEY_PARAM_RSA_N, p->unique.rsa.buffer, nb)) != SK_OK)
			goto out;
	}
	r = be->t.Tss2_MU_TPM2B_SENSITIVE_Marshal(&sens, dup.buffer, sizeof(dup.buffer), &off);
	if (r != TSS2_RC_SUCCESS) {
		rc = sk_tpm2_err(be, r, "encoding the key for import");
		goto out;
	}
	dup.size = (UINT16)off;
	r = be->t.Esys_Import(be->esys, be->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			      &enckey, &tmpl, &dup, &seed, &sym, &opriv);
	if (r != TSS2_RC_SUCCESS) {
		rc = sk_tpm2_err(be, r, "importing the key");
		goto out;
	}
	rc = make_blob(be, &tmpl, opriv, blob);
out:
	OPENSSL_cleanse(&sens, sizeof(sens));
	OPENSSL_cleanse(&dup, sizeof(dup));
	if (opriv != NULL)
		OPENSSL_cleanse(opriv, sizeof(*opriv));
	be->t.Esys_Free(opriv);
	return rc;
}

/* ---- sealing: a keyedhash data object with no sign/decrypt use ---- */

/* A sealed data object under the parent: data, authorisation value auth
 * (NULL: empty), attributes beyond fixedTPM, fixedParent, userWithAuth. */
static int create_sealed(struct tpm_backend *be, TPMA_OBJECT attrs, const struct sk_auth *auth,
			 const uint8_t *policy, const uint8_t *data, size_t n, const char *what,
			 struct sk_buf *blob)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PUBLIC *opub = NULL;
	TPM2B_PRIVATE *opriv = NULL;
	TSS2_RC r;
	int rc;

	if (n > sizeof(sens.sensitive.data.buffer))
		return sk_err(SK_EFAIL, "tpm2: %s: too large to seal", what);
	tmpl.publicArea.type = TPM2_ALG_KEYEDHASH;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | attrs;
	tmpl.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	if (policy != NULL) {
		tmpl.publicArea.authPolicy.size = 32;
		memcpy(tmpl.publicArea.authPolicy.buffer, policy, 32);
	}
	sk_tpm2_set_auth(&sens.sensitive.userAuth, auth);
	sens.sensitive.data.size = (UINT16)n;
	memcpy(sens.sensitive.data.buffer, data, n);
	r = be->t.Esys_Create(be->esys, be->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			      &sens, &tmpl, &outside, &pcrs, &opriv, &opub, NULL, NULL, NULL);
	OPENSSL_cleanse(&sens, sizeof(sens));
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_err(be, r, what);
	rc = make_blob(be, opub, opriv, blob);
	be->t.Esys_Free(opub);
	be->t.Esys_Free(opriv);
	return rc;
}

int sk_tpm2_create_sealed(struct tpm_backend *be, TPMA_OBJECT attrs, const struct sk_auth *auth,
			  const uint8_t *data, size_t n, const char *what, struct sk_buf *blob)
{
	return create_sealed(be, TPMA_OBJECT_USERWITHAUTH | attrs, auth, NULL, data, n, what, blob);
}

/* Usable only through the policy (no userWithAuth), not counted by the
 * dictionary-attack protection: a policy failure is no password guess. */
int sk_tpm2_create_sealed_policy(struct tpm_backend *be, const uint8_t policy[32],
				 const uint8_t *data, size_t n, const char *what, struct sk_buf *blob)
{
	return create_sealed(be, TPMA_OBJECT_NODA, NULL, policy, data, n, what, blob);
}

#endif /* SECKIT_HAVE_TPM2 */
