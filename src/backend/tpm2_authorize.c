/* SPDX-License-Identifier: MIT */
/*
 * Data sealed under TPM2_PolicyAuthorize (the backend's seal_authorized
 * and unseal_authorized, backend.h): the object's authPolicy names an OEM
 * public key, and any PolicyPCR digest that key signs opens it.  An
 * update's new PCR values then need a new signature from the OEM, not a
 * new seal on every device (docs/measured-boot.md).
 *
 *   authPolicy = SHA-256(SHA-256(0^32 || TPM_CC_PolicyAuthorize || name)
 *                        || policyRef)        (TPM 2.0 Part 3, 23.16)
 *
 * with name the OEM key's TPM name (nameAlg || H(TPMT_PUBLIC)) as the TPM
 * computes it after TPM2_LoadExternal, and policyRef empty.
 */
#include "backend/tpm.h"

#include "base/err.h"

#ifdef SECKIT_HAVE_TPM2

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "backend/tpm2_int.h"

#define TPM_CC_POLICYAUTHORIZE 0x0000016au

static int bn_to(EVP_PKEY *pk, const char *name, uint8_t *out, size_t len, UINT16 *size)
{
	BIGNUM *bn = NULL;
	int n;

	if (!EVP_PKEY_get_bn_param(pk, name, &bn))
		return sk_err_ssl(SK_EUNSUPP, "tpm2: the OEM key has no %s", name);
	n = BN_num_bytes(bn);
	if (n <= 0 || (size_t)n > len) {
		BN_free(bn);
		return sk_err(SK_EUNSUPP, "tpm2: the OEM key's %s is too large", name);
	}
	*size = (UINT16)n;
	BN_bn2bin(bn, out);
	BN_free(bn);
	return SK_OK;
}

/* The TPM public area of the OEM's verification key: a signing key with
 * no scheme of its own (the signature says ECDSA or RSASSA). */
static int oem_public(EVP_PKEY *pk, TPM2B_PUBLIC *pub)
{
	TPMT_PUBLIC *t = &pub->publicArea;
	char group[64];
	size_t glen;
	BIGNUM *e = NULL;
	int rc = SK_OK;

	memset(pub, 0, sizeof(*pub));
	t->nameAlg = TPM2_ALG_SHA256;
	t->objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH;
	if (EVP_PKEY_is_a(pk, "EC")) {
		t->type = TPM2_ALG_ECC;
		if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen))
			return sk_err_ssl(SK_EUNSUPP, "tpm2: the OEM key's curve");
		if (strcmp(group, "prime256v1") == 0)
			t->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
		else if (strcmp(group, "secp384r1") == 0)
			t->parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
		else
			return sk_err(SK_EUNSUPP, "tpm2: an OEM key on curve %s (P-256 or P-384 only)", group);
		t->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
		t->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
		t->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		if ((rc = bn_to(pk, OSSL_PKEY_PARAM_EC_PUB_X, t->unique.ecc.x.buffer,
				sizeof(t->unique.ecc.x.buffer), &t->unique.ecc.x.size)) == SK_OK)
			rc = bn_to(pk, OSSL_PKEY_PARAM_EC_PUB_Y, t->unique.ecc.y.buffer,
				   sizeof(t->unique.ecc.y.buffer), &t->unique.ecc.y.size);
		return rc;
	}
	if (!EVP_PKEY_is_a(pk, "RSA"))
		return sk_err(SK_EUNSUPP, "tpm2: an OEM key must be EC (P-256, P-384) or RSA");
	t->type = TPM2_ALG_RSA;
	t->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	t->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	t->parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)EVP_PKEY_get_bits(pk);
	if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e))
		return sk_err_ssl(SK_EUNSUPP, "tpm2: the OEM key's exponent");
	if (!BN_is_word(e, 65537))
		rc = sk_err(SK_EUNSUPP, "tpm2: an OEM RSA key with an exponent other than 65537");
	BN_free(e);
	if (rc == SK_OK)
		rc = bn_to(pk, OSSL_PKEY_PARAM_RSA_N, t->unique.rsa.buffer, sizeof(t->unique.rsa.buffer),
			   &t->unique.rsa.size);
	return rc;
}

/* Load the OEM key's public part in the owner hierarchy (a key of the
 * NULL hierarchy would only give NULL tickets, which PolicyAuthorize
 * refuses): its handle and TPM name. */
static int oem_load(struct tpm_backend *be, EVP_PKEY *pk, ESYS_TR *h, TPM2B_NAME *name)
{
	TPM2B_PUBLIC pub;
	TPM2B_NAME *n = NULL;
	TSS2_RC r;
	int rc;

	*h = ESYS_TR_NONE;
	if ((rc = oem_public(pk, &pub)) != SK_OK)
		return rc;
	r = be->t.Esys_LoadExternal(be->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, &pub,
				    ESYS_TR_RH_OWNER, h);
	if (r != TSS2_RC_SUCCESS) {
		*h = ESYS_TR_NONE;
		return sk_tpm2_err(be, r, "loading the OEM key (TPM2_LoadExternal)");
	}
	r = be->t.Esys_TR_GetName(be->esys, *h, &n);
	if (r != TSS2_RC_SUCCESS) {
		be->t.Esys_FlushContext(be->esys, *h);
		*h = ESYS_TR_NONE;
		return sk_tpm2_err(be, r, "the OEM key's name");
	}
	*name = *n;
	be->t.Esys_Free(n);
	return SK_OK;
}

static int authorize_policy(const TPM2B_NAME *name, uint8_t policy[32])
{
	uint8_t zero[32] = { 0 }, cc[4];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	sk_put_be32(cc, TPM_CC_POLICYAUTHORIZE);
	ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, zero, 32) &&
	     EVP_DigestUpdate(c, cc, 4) && EVP_DigestUpdate(c, name->name, name->size) &&
	     EVP_DigestFinal_ex(c, policy, NULL) &&
	     /* policyRef: empty */
	     EVP_DigestInit_ex(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, policy, 32) &&
	     EVP_DigestFinal_ex(c, policy, NULL);
	EVP_MD_CTX_free(c);
	return ok ? SK_OK : sk_err_ssl(SK_EFAIL, "computing a PolicyAuthorize digest");
}

int sk_tpm2_seal_authorized(struct sk_backend *b, EVP_PKEY *oem, const uint8_t *secret, size_t n,
			    struct sk_buf *blob)
{
	struct tpm_backend *be = (struct tpm_backend *)b;
	uint8_t policy[32];
	TPM2B_NAME name;
	ESYS_TR h;
	int rc;

	if ((rc = oem_load(be, oem, &h, &name)) != SK_OK)
		return rc;
	be->t.Esys_FlushContext(be->esys, h);
	if ((rc = authorize_policy(&name, policy)) != SK_OK)
		return rc;
	return sk_tpm2_create_sealed_policy(be, policy, secret, n, "sealing under the OEM's policy", blob);
}

/* The signature of a prediction as the TPM takes it. */
static int tpm_signature(EVP_PKEY *pk, const uint8_t *sig, size_t n, TPMT_SIGNATURE *out)
{
	const BIGNUM *r, *s;
	const unsigned char *p = sig;
	ECDSA_SIG *es;
	TPMS_SIGNATURE_ECC *e = &out->signature.ecdsa;

	memset(out, 0, sizeof(*out));
	if (EVP_PKEY_is_a(pk, "RSA")) {
		if (n > sizeof(out->signature.rsassa.sig.buffer))
			return sk_err(SK_EVERIFY, "the prediction's signature is too long");
		out->sigAlg = TPM2_ALG_RSASSA;
		out->signature.rsassa.hash = TPM2_ALG_SHA256;
		out->signature.rsassa.sig.size = (UINT16)n;
		memcpy(out->signature.rsassa.sig.buffer, sig, n);
		return SK_OK;
	}
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)n)) == NULL || p != sig + n) {
		ECDSA_SIG_free(es);
		return sk_err(SK_EVERIFY, "the prediction's signature is not an ECDSA signature");
	}
	ECDSA_SIG_get0(es, &r, &s);
	out->sigAlg = TPM2_ALG_ECDSA;
	e->hash = TPM2_ALG_SHA256;
	if (BN_num_bytes(r) > (int)sizeof(e->signatureR.buffer) ||
	    BN_num_bytes(s) > (int)sizeof(e->signatureS.buffer)) {
		ECDSA_SIG_free(es);
		return sk_err(SK_EVERIFY, "the prediction's signature is too long");
	}
	e->signatureR.size = (UINT16)BN_bn2bin(r, e->signatureR.buffer);
	e->signatureS.size = (UINT16)BN_bn2bin(s, e->signatureS.buffer);
	ECDSA_SIG_free(es);
	return SK_OK;
}

/* TPM2_VerifySignature of the approval with the OEM key: the ticket
 * PolicyAuthorize wants, and the key's name.  Nothing stays loaded. */
static int verify_approval(struct tpm_backend *be, EVP_PKEY *oem, const struct sk_pcr_approval *ap,
			   TPMT_TK_VERIFIED *ticket, TPM2B_NAME *name)
{
	TPM2B_DIGEST ahash = { .size = 32 };
	TPMT_SIGNATURE sig;
	TPMT_TK_VERIFIED *tk = NULL;
	EVP_MD_CTX *c;
	ESYS_TR h;
	TSS2_RC r;
	int rc, ok;

	if ((rc = tpm_signature(oem, ap->sig, ap->siglen, &sig)) != SK_OK)
		return rc;
	c = EVP_MD_CTX_new();
	ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, ap->policy, 32) &&
	     (ap->reflen == 0 || EVP_DigestUpdate(c, ap->ref, ap->reflen)) &&
	     EVP_DigestFinal_ex(c, ahash.buffer, NULL);
	EVP_MD_CTX_free(c);
	if (!ok)
		return sk_err_ssl(SK_EFAIL, "computing aHash");
	if ((rc = oem_load(be, oem, &h, name)) != SK_OK)
		return rc;
	r = be->t.Esys_VerifySignature(be->esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &ahash,
				       &sig, &tk);
	be->t.Esys_FlushContext(be->esys, h);
	if (r != TSS2_RC_SUCCESS) {
		if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER &&
		    (sk_tpm2_base_rc(r) == TPM2_RC_SIGNATURE || sk_tpm2_base_rc(r) == TPM2_RC_SCHEME ||
		     sk_tpm2_base_rc(r) == TPM2_RC_VALUE))
			return sk_err(SK_EVERIFY, "tpm2: the prediction's signature does not verify with the OEM key (another key, or other values)");
		return sk_tpm2_err(be, r, "TPM2_VerifySignature");
	}
	*ticket = *tk;
	be->t.Esys_Free(tk);
	return SK_OK;
}

/* The first PCR of the approval whose current value differs, -1 if none. */
static int first_differing(const struct sk_pcr_approval *ap,
			   const uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST])
{
	struct sk_pcr_binding pb = { .bank = ap->bank, .mask = ap->mask };

	memcpy(pb.vals, ap->vals, sizeof(pb.vals));
	return sk_pcr_first_changed(&pb, cur);
}

int sk_tpm2_unseal_authorized(struct sk_backend *b, const uint8_t *blob, size_t n, EVP_PKEY *oem,
			      const struct sk_pcr_approval *ap, struct sk_buf *secret,
			      uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST])
{
	struct tpm_backend *be = (struct tpm_backend *)b;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	TPM2B_DIGEST approved = { .size = 32 };
	TPM2B_NONCE ref = { .size = 0 };
	TPMT_TK_VERIFIED ticket;
	TPM2B_NAME name;
	ESYS_TR sess = ESYS_TR_NONE;
	TSS2_RC r;
	int rc, i;

	if ((rc = sk_tpm2_parse_blob(be, blob, n, &pub, &priv)) != SK_OK)
		return rc;
	if (pub.publicArea.type != TPM2_ALG_KEYEDHASH || pub.publicArea.authPolicy.size != 32 ||
	    (pub.publicArea.objectAttributes & (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT |
						 TPMA_OBJECT_USERWITHAUTH)))
		return sk_err(SK_EVERIFY, "tpm2: not a data object sealed under a policy");
	if (ap->reflen > sizeof(ref.buffer))
		return sk_err(SK_EVERIFY, "the prediction's policy-ref is too long");
	if ((rc = sk_tpm2_pcr_current(be, ap->bank, ap->mask, cur)) != SK_OK ||
	    (rc = verify_approval(be, oem, ap, &ticket, &name)) != SK_OK)
		return rc;
	/* PolicyPCR with the approved values' composite: the TPM refuses at
	 * once when the PCRs do not hold them. */
	if ((rc = sk_tpm2_policy_pcr_session(be, sk_bank(ap->bank)->alg, ap->mask, ap->composite, 1, &sess)) != SK_OK) {
		if (rc == SK_EVERIFY && (i = first_differing(ap, cur)) >= 0)
			rc = sk_err(SK_EVERIFY, "PCR %d does not hold the value the signed prediction approves", i);
		return rc;
	}
	memcpy(approved.buffer, ap->policy, 32);
	ref.size = (UINT16)ap->reflen;
	if (ap->reflen > 0)
		memcpy(ref.buffer, ap->ref, ap->reflen);
	r = be->t.Esys_PolicyAuthorize(be->esys, sess, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				       &approved, &ref, &name, &ticket);
	if (r != TSS2_RC_SUCCESS) {
		if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER)
			rc = sk_err(SK_EVERIFY, "tpm2: TPM2_PolicyAuthorize refused the approved policy (%s)",
				    "it is not the PolicyPCR of the values");
		else
			rc = sk_tpm2_err(be, r, "TPM2_PolicyAuthorize");
		be->t.Esys_FlushContext(be->esys, sess);
		return rc;
	}
	return sk_tpm2_unseal_under(be, &pub, &priv, sess,
				    "the object is sealed under another OEM key's policy", secret);
}

#endif /* SECKIT_HAVE_TPM2 */
