/* SPDX-License-Identifier: MIT */
/*
 * The tpm2 backend: private keys are TPM objects.  A key's blob is its
 * TPM2B_PUBLIC and TPM2B_PRIVATE, the private area wrapped by the TPM under
 * a storage primary key (the TCG "SRK" template, recreated from the owner
 * seed on each open, or a persistent handle named in the config), so the
 * blob is useless without this very TPM.  Signing, ECDH, RSA decryption,
 * the AES block cipher and HMAC happen inside the TPM; AES-GCM and CMAC
 * are built on the host around the TPM's AES (tpm2_aes.c).
 *
 * tpm2-tss is loaded with dlopen() the first time this backend is opened:
 * every other command keeps the start-up cost of a static binary, and a
 * device without tpm2-tss installed still runs the soft backend.  The
 * function pointers are typed from the tss2 headers (__typeof__), so the
 * compiler checks every call as if the library were linked.
 *
 * Every object loaded is flushed again before the operation returns (the
 * key) or the backend closes (the primary): TPMs hold only a few loaded
 * objects (swtpm: three).
 *
 * This file holds the operations; tpm2_int.h lists the files that do the
 * rest (loading tss2, response codes, authorisation, objects).
 */
#ifdef SECKIT_HAVE_TPM2

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "base/util.h"
#include "backend/tpm2_int.h"

/* ---- open / close ---- */

static const TPM2B_PUBLIC srk_template = {
	.publicArea = {
		.type = TPM2_ALG_ECC,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
				    TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
		.parameters.eccDetail = {
			.symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
				       .mode.aes = TPM2_ALG_CFB },
			.scheme = { .scheme = TPM2_ALG_NULL },
			.curveID = TPM2_ECC_NIST_P256,
			.kdf = { .scheme = TPM2_ALG_NULL },
		},
		.unique.ecc = { .x = { .size = 32 }, .y = { .size = 32 } },
	},
};

static int create_primary(struct tpm_backend *be)
{
	TPM2B_SENSITIVE_CREATE in = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TSS2_RC r;

	r = be->t.Esys_CreatePrimary(be->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				     ESYS_TR_NONE, &in, &srk_template, &outside, &pcrs,
				     &be->parent, NULL, NULL, NULL, NULL);
	if (r == TPM2_RC_INITIALIZE) {
		/* A TPM nobody has started yet (a bare simulator): start it. */
		r = be->t.Esys_Startup(be->esys, TPM2_SU_CLEAR);
		if (r != TSS2_RC_SUCCESS)
			return sk_tpm2_err(be, r, "TPM2_Startup");
		r = be->t.Esys_CreatePrimary(be->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
					     ESYS_TR_NONE, ESYS_TR_NONE, &in, &srk_template,
					     &outside, &pcrs, &be->parent, NULL, NULL, NULL, NULL);
	}
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_err(be, r, "creating the storage primary key");
	be->parent_transient = 1;
	be->parent_public = 1;
	return SK_OK;
}

static void tpm_close(struct sk_backend *b)
{
	struct tpm_backend *be = (struct tpm_backend *)b;

	if (be == NULL)
		return;
	if (be->esys != NULL) {
		if (be->parent_transient)
			be->t.Esys_FlushContext(be->esys, be->parent);
		else if (be->parent != ESYS_TR_NONE)
			be->t.Esys_TR_Close(be->esys, &be->parent);
	}
	sk_tpm2_disconnect(be);
	free(be);
}

static int tpm_open(const struct sk_backend_cfg *cfg, struct sk_backend **out)
{
	struct tpm_backend *be = calloc(1, sizeof(*be));
	TSS2_RC r;
	int rc;

	*out = NULL;
	if (be == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	be->base.ops = &sk_tpm2_backend;
	if ((rc = sk_tpm2_connect(be, cfg)) != SK_OK)
		goto fail;
	if (cfg->tpm2_parent != 0) {
		/* No TPM command: ESAPI learns the handle alone (an
		 * IESYS_RESOURCE with no name and no public area).  A missing
		 * or wrong parent shows at the first load or create, where the
		 * TPM checks the handle and the blob's integrity under it
		 * (sk_tpm2_err names tpm2-parent); the public key is read only
		 * for a salted session (sk_tpm2_start_session). */
		uint8_t res[10] = { 0 };

		sk_put_be32(res, cfg->tpm2_parent);
		r = be->t.Esys_TR_Deserialize(be->esys, res, sizeof(res), &be->parent);
		if (r != TSS2_RC_SUCCESS) {
			be->parent = ESYS_TR_NONE;
			rc = sk_tpm2_err(be, r, "naming the parent handle");
			goto fail;
		}
		be->parent_handle = cfg->tpm2_parent;
	} else if ((rc = create_primary(be)) != SK_OK) {
		goto fail;
	}
	*out = &be->base;
	return SK_OK;
fail:
	tpm_close(&be->base);
	return rc;
}

static unsigned tpm_caps(struct sk_backend *b, const struct sk_keytype *kt)
{
	(void)b;
	switch (kt->kind) {
	case SK_KIND_EC:
		return SK_CAP_GENERATE | SK_CAP_IMPORT | SK_CAP_SIGN | SK_CAP_DERIVE;
	case SK_KIND_RSA:
		return SK_CAP_GENERATE | SK_CAP_IMPORT | SK_CAP_SIGN | SK_CAP_DECRYPT;
	case SK_KIND_AES:
		return SK_CAP_GENERATE | SK_CAP_IMPORT | SK_CAP_CIPHER | SK_CAP_MAC;
	case SK_KIND_HMAC:
		return SK_CAP_GENERATE | SK_CAP_IMPORT | SK_CAP_MAC;
	}
	return 0;
}

/* ---- generate / import / load ---- */

static int tpm_generate(struct sk_backend *b, const struct sk_keytype *kt, int exportable,
			const struct sk_auth *auth, struct sk_buf *blob, EVP_PKEY **pub)
{
	struct tpm_backend *be = (struct tpm_backend *)b;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl;
	int rc;

	*pub = NULL;
	if (exportable)
		return sk_err(SK_EUNSUPP, "tpm2: keys made in the TPM never leave it (none is exportable)");
	sk_tpm2_key_template(kt, 0, auth, &tmpl);
	sk_tpm2_set_auth(&sens.sensitive.userAuth, auth);
	rc = sk_tpm2_create(be, kt, &tmpl, &sens, blob, pub);
	OPENSSL_cleanse(&sens, sizeof(sens));
	return rc;
}

static int tpm_import(struct sk_backend *b, const struct sk_keytype *kt, EVP_PKEY *priv,
		      const uint8_t *raw, size_t rawlen, int exportable, const struct sk_auth *auth,
		      struct sk_buf *blob)
{
	struct tpm_backend *be = (struct tpm_backend *)b;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl;
	int rc;

	if (exportable)
		return sk_err(SK_EUNSUPP, "tpm2: keys in the TPM never leave it (none is exportable)");
	if (sk_keytype_is_asym(kt))
		return sk_tpm2_import_asym(be, kt, priv, auth, blob);
	/* AES and HMAC: TPM2_Create takes the key bytes as sensitive data. */
	if (rawlen != sk_keytype_raw_len(kt) || rawlen > sizeof(sens.sensitive.data.buffer))
		return sk_err(SK_EFAIL, "%s key must be %zu bytes, got %zu", kt->name,
			      sk_keytype_raw_len(kt), rawlen);
	sk_tpm2_key_template(kt, 1, auth, &tmpl);
	tmpl.publicArea.objectAttributes |= TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
	sk_tpm2_set_auth(&sens.sensitive.userAuth, auth);
	sens.sensitive.data.size = (UINT16)rawlen;
	memcpy(sens.sensitive.data.buffer, raw, rawlen);
	rc = sk_tpm2_create(be, kt, &tmpl, &sens, blob, NULL);
	OPENSSL_cleanse(&sens, sizeof(sens));
	return rc;
}

static int tpm_load(struct sk_backend *b, const struct sk_keytype *kt, const uint8_t *blob,
		    size_t n, const struct sk_auth *auth, struct sk_bkey **out)
{
	struct tpm_backend *be = (struct tpm_backend *)b;
	TPM2B_PRIVATE priv;
	TPM2B_AUTH a;
	struct sk_bkey *k;
	TSS2_RC r;
	int rc;

	*out = NULL;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	k->be = be;
	k->kt = kt;
	k->session = ESYS_TR_NONE;
	if ((rc = sk_tpm2_parse_blob(be, blob, n, &k->pub, &priv)) != SK_OK) {
		free(k);
		return rc;
	}
	r = be->t.Esys_Load(be->esys, be->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			    &priv, &k->pub, &k->handle);
	OPENSSL_cleanse(&priv, sizeof(priv));
	if (r != TSS2_RC_SUCCESS) {
		free(k);
		return sk_tpm2_load_err(be, r, "loading the key");
	}
	if (auth != NULL) {
		/* ESAPI keeps the value with the handle and computes each
		 * command's HMAC from it; the TPM compares. */
		sk_tpm2_set_auth(&a, auth);
		r = be->t.Esys_TR_SetAuth(be->esys, k->handle, &a);
		OPENSSL_cleanse(&a, sizeof(a));
		if (r != TSS2_RC_SUCCESS) {
			be->t.Esys_FlushContext(be->esys, k->handle);
			free(k);
			return sk_tpm2_err(be, r, "setting the key's authorisation");
		}
		k->has_auth = 1;
		snprintf(k->label, sizeof(k->label), "%s", auth->label);
	}
	*out = k;
	return SK_OK;
}

static void tpm_unload(struct sk_bkey *k)
{
	if (k == NULL)
		return;
	if (k->session != ESYS_TR_NONE)
		k->be->t.Esys_FlushContext(k->be->esys, k->session);
	/* Flushing forgets the value ESAPI kept with the handle. */
	k->be->t.Esys_FlushContext(k->be->esys, k->handle);
	free(k);
}

static int tpm_destroy(struct sk_backend *b, const struct sk_keytype *kt, const uint8_t *blob,
		       size_t n)
{
	(void)b;
	(void)kt;
	(void)blob;
	(void)n;
	return SK_OK; /* a wrapped blob: deleting the store object is enough */
}

/* ---- private-key operations ---- */

/* A signature the TPM returned for k under scheme: that scheme and hash,
 * r and s no longer than the curve's field and not empty, an RSA
 * signature exactly as long as the modulus. */
static int sig_well_formed(const struct sk_bkey *k, const TPMT_SIG_SCHEME *scheme,
			   const TPMT_SIGNATURE *s)
{
	if (s->sigAlg != scheme->scheme)
		return 0;
	if (k->kt->kind == SK_KIND_EC) {
		size_t fb = sk_tpm2_field_bytes(k->kt);
		const TPMS_SIGNATURE_ECC *e = &s->signature.ecdsa;

		return e->hash == scheme->details.ecdsa.hashAlg && e->signatureR.size > 0 &&
		       e->signatureR.size <= fb && e->signatureS.size > 0 && e->signatureS.size <= fb;
	}
	return s->signature.rsassa.hash == scheme->details.rsassa.hashAlg &&
	       s->signature.rsassa.sig.size == k->kt->bits / 8;
}

static int tpm_sign(struct sk_bkey *k, const EVP_MD *md, int pss, const uint8_t *dgst,
		    size_t dlen, struct sk_buf *sig)
{
	struct tpm_backend *be = k->be;
	TPMI_ALG_HASH h = sk_tpm2_hash_alg(sk_md_name(md));
	TPMT_SIG_SCHEME scheme = { 0 };
	TPMT_TK_HASHCHECK ticket = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL };
	TPM2B_DIGEST d = { 0 };
	TPMT_SIGNATURE *s = NULL;
	ESYS_TR sess;
	TSS2_RC r;
	int rc = SK_OK;

	if (h == TPM2_ALG_NULL)
		return sk_err(SK_EUNSUPP, "tpm2: digest %s is not supported by the TPM", sk_md_name(md));
	if (dlen != (size_t)EVP_MD_get_size(md) || dlen > sizeof(d.buffer))
		return sk_err(SK_EFAIL, "tpm2: digest length does not match %s", sk_md_name(md));
	if (k->kt->kind == SK_KIND_EC) {
		if (pss)
			return sk_err(SK_EUNSUPP, "RSA-PSS padding applies to RSA keys only");
		scheme.scheme = TPM2_ALG_ECDSA;
		scheme.details.ecdsa.hashAlg = h;
	} else {
		scheme.scheme = pss ? TPM2_ALG_RSAPSS : TPM2_ALG_RSASSA;
		scheme.details.rsassa.hashAlg = h;
	}
	d.size = (UINT16)dlen;
	memcpy(d.buffer, dgst, dlen);
	if ((rc = sk_tpm2_key_session(k, &sess)) != SK_OK)
		return rc;
	r = be->t.Esys_Sign(be->esys, k->handle, sess, ESYS_TR_NONE, ESYS_TR_NONE,
			    &d, &scheme, &ticket, &s);
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_key_err(k, r, "signing");
	/* The answer is untrusted input: the scheme asked for, with the
	 * sizes the key allows, or nothing is written. */
	if (!sig_well_formed(k, &scheme, s)) {
		be->t.Esys_Free(s);
		return sk_err(SK_EFAIL, "tpm2: malformed answer to TPM2_Sign");
	}
	if (k->kt->kind == SK_KIND_EC) {
		/* The TPM returns r and s; X9.62 wants them as a DER SEQUENCE. */
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *br = BN_bin2bn(s->signature.ecdsa.signatureR.buffer,
				       s->signature.ecdsa.signatureR.size, NULL);
		BIGNUM *bs = BN_bin2bn(s->signature.ecdsa.signatureS.buffer,
				       s->signature.ecdsa.signatureS.size, NULL);
		unsigned char *der = NULL;
		int len;

		if (es == NULL || br == NULL || bs == NULL || !ECDSA_SIG_set0(es, br, bs)) {
			BN_free(br);
			BN_free(bs);
			rc = sk_err_ssl(SK_EFAIL, "tpm2: encoding the signature");
		} else if ((len = i2d_ECDSA_SIG(es, &der)) <= 0) {
			rc = sk_err_ssl(SK_EFAIL, "tpm2: encoding the signature");
		} else {
			rc = sk_buf_add(sig, der, (size_t)len);
			OPENSSL_free(der);
		}
		ECDSA_SIG_free(es);
	} else {
		rc = sk_buf_add(sig, s->signature.rsassa.sig.buffer, s->signature.rsassa.sig.size);
	}
	be->t.Esys_Free(s);
	return rc;
}

static int tpm_decrypt(struct sk_bkey *k, const EVP_MD *oaep_md, const uint8_t *in, size_t n,
		       struct sk_buf *out)
{
	struct tpm_backend *be = k->be;
	TPMT_RSA_DECRYPT scheme = { .scheme = TPM2_ALG_OAEP };
	TPM2B_PUBLIC_KEY_RSA c = { 0 }, *m = NULL;
	TPM2B_DATA label = { 0 };
	ESYS_TR sess;
	TSS2_RC r;
	int rc;

	scheme.details.oaep.hashAlg = sk_tpm2_hash_alg(sk_md_name(oaep_md));
	if (scheme.details.oaep.hashAlg == TPM2_ALG_NULL)
		return sk_err(SK_EUNSUPP, "tpm2: OAEP with %s is not supported", sk_md_name(oaep_md));
	if (n > sizeof(c.buffer) || n != k->kt->bits / 8)
		return sk_err(SK_EVERIFY, "RSA-OAEP decryption failed (ciphertext has the wrong size)");
	c.size = (UINT16)n;
	memcpy(c.buffer, in, n);
	if ((rc = sk_tpm2_key_session(k, &sess)) != SK_OK)
		return rc;
	r = be->t.Esys_RSA_Decrypt(be->esys, k->handle, sess, ESYS_TR_NONE, ESYS_TR_NONE,
				   &c, &scheme, &label, &m);
	if (r != TSS2_RC_SUCCESS) {
		rc = sk_tpm2_key_err(k, r, "RSA-OAEP decryption");
		/* The TPM says "value" for a ciphertext that does not decrypt. */
		return rc == SK_EFAIL ? sk_err(SK_EVERIFY, "RSA-OAEP decryption failed (wrong key or corrupt ciphertext)") : rc;
	}
	rc = sk_buf_add(out, m->buffer, m->size);
	OPENSSL_cleanse(m, sizeof(*m));
	be->t.Esys_Free(m);
	return rc;
}

static int tpm_derive(struct sk_bkey *k, EVP_PKEY *peer, struct sk_buf *secret)
{
	struct tpm_backend *be = k->be;
	size_t fb = sk_tpm2_field_bytes(k->kt), ptlen = 0;
	uint8_t pt[1 + 2 * TPM2_MAX_ECC_KEY_BYTES], z[TPM2_MAX_ECC_KEY_BYTES];
	char group[64];
	TPM2B_ECC_POINT in = { 0 }, *outp = NULL;
	ESYS_TR sess;
	TSS2_RC r;
	int rc;

	if (!EVP_PKEY_is_a(peer, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(peer, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) ||
	    strcmp(group, k->kt->group) != 0)
		return sk_err(SK_EUNSUPP, "peer key does not match the key's curve");
	/* The uncompressed encoding, whatever form the peer key used. */
	if (EVP_PKEY_set_utf8_string_param(peer, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
					   "uncompressed") != 1 ||
	    !EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &ptlen) ||
	    ptlen != 1 + 2 * fb)
		return sk_err_ssl(SK_EFAIL, "reading the peer's public point");
	in.point.x.size = in.point.y.size = (UINT16)fb;
	memcpy(in.point.x.buffer, pt + 1, fb);
	memcpy(in.point.y.buffer, pt + 1 + fb, fb);
	if ((rc = sk_tpm2_key_session(k, &sess)) != SK_OK)
		return rc;
	r = be->t.Esys_ECDH_ZGen(be->esys, k->handle, sess, ESYS_TR_NONE, ESYS_TR_NONE,
				 &in, &outp);
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_key_err(k, r, "ECDH");
	/* Z is the x coordinate, fixed length like OpenSSL's ECDH output. */
	if (outp->point.x.size > fb) {
		be->t.Esys_Free(outp);
		return sk_err(SK_EFAIL, "tpm2: ECDH result too long");
	}
	memset(z, 0, sizeof(z));
	memcpy(z + fb - outp->point.x.size, outp->point.x.buffer, outp->point.x.size);
	OPENSSL_cleanse(outp, sizeof(*outp));
	be->t.Esys_Free(outp);
	rc = sk_buf_add(secret, z, fb);
	OPENSSL_cleanse(z, sizeof(z));
	return rc;
}

/* ---- AES in the TPM: tpm2_aes.c ---- */

static int tpm_cipher(struct sk_bkey *k, enum sk_cipher_mode mode, int enc, const uint8_t *iv,
		      size_t ivlen, struct sk_symop **out)
{
	return sk_tpm2_cipher(k, mode, enc, iv, ivlen, out);
}

/* ---- HMAC in the TPM: an HMAC sequence object ---- */

struct tpm_mac {
	struct sk_symop base;
	struct sk_bkey *k;
	ESYS_TR seq;
	uint8_t buf[TPM2_MAX_DIGEST_BUFFER];
	size_t nbuf;
};

static int mac_flush(struct tpm_mac *m)
{
	struct tpm_backend *be = m->k->be;
	TPM2B_MAX_BUFFER data = { 0 };
	TSS2_RC r;

	data.size = (UINT16)m->nbuf;
	memcpy(data.buffer, m->buf, m->nbuf);
	r = be->t.Esys_SequenceUpdate(be->esys, m->seq, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				      ESYS_TR_NONE, &data);
	m->nbuf = 0;
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_err(be, r, "HMAC");
	return SK_OK;
}

static int tpm_mac_update(struct sk_symop *op, const uint8_t *in, size_t n, uint8_t *out,
			  size_t *outlen)
{
	struct tpm_mac *m = (struct tpm_mac *)op;
	int rc;

	(void)out;
	*outlen = 0;
	while (n > 0) {
		size_t k = sizeof(m->buf) - m->nbuf;

		/* Hold a full buffer back: SequenceComplete wants the last bytes. */
		if (k == 0) {
			if ((rc = mac_flush(m)) != SK_OK)
				return rc;
			continue;
		}
		if (k > n)
			k = n;
		memcpy(m->buf + m->nbuf, in, k);
		m->nbuf += k;
		in += k;
		n -= k;
	}
	return SK_OK;
}

static int tpm_mac_final(struct sk_symop *op, uint8_t *out, size_t *outlen, uint8_t *tag)
{
	struct tpm_mac *m = (struct tpm_mac *)op;
	struct tpm_backend *be = m->k->be;
	TPM2B_MAX_BUFFER data = { 0 };
	TPM2B_DIGEST *res = NULL;
	TSS2_RC r;

	(void)tag;
	data.size = (UINT16)m->nbuf;
	memcpy(data.buffer, m->buf, m->nbuf);
	r = be->t.Esys_SequenceComplete(be->esys, m->seq, ESYS_TR_PASSWORD, ESYS_TR_NONE,
					ESYS_TR_NONE, &data, ESYS_TR_RH_NULL, &res, NULL);
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_err(be, r, "HMAC");
	m->seq = ESYS_TR_NONE; /* completing the sequence flushed it */
	if (res->size != (size_t)EVP_MD_get_size(sk_md_by_name(m->k->kt->md, 0))) {
		be->t.Esys_Free(res);
		return sk_err(SK_EFAIL, "tpm2: malformed answer to TPM2_SequenceComplete");
	}
	memcpy(out, res->buffer, res->size);
	*outlen = res->size;
	be->t.Esys_Free(res);
	return SK_OK;
}

static void tpm_mac_free(struct sk_symop *op)
{
	struct tpm_mac *m = (struct tpm_mac *)op;

	if (m->seq != ESYS_TR_NONE)
		m->k->be->t.Esys_FlushContext(m->k->be->esys, m->seq);
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
}

static int tpm_mac(struct sk_bkey *k, struct sk_symop **out)
{
	struct tpm_backend *be = k->be;
	TPM2B_AUTH auth = { 0 };   /* the sequence's own: empty */
	struct tpm_mac *m;
	ESYS_TR sess;
	TSS2_RC r;
	int rc;

	if (k->kt->kind == SK_KIND_AES)
		return sk_tpm2_cmac(k, out);
	if (k->kt->kind != SK_KIND_HMAC)
		return sk_err(SK_EUNSUPP, "tpm2: only AES and HMAC keys can MAC");
	if ((rc = sk_tpm2_key_session(k, &sess)) != SK_OK)
		return rc;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	m->k = k;
	r = be->t.Esys_HMAC_Start(be->esys, k->handle, sess, ESYS_TR_NONE, ESYS_TR_NONE,
				  &auth, sk_tpm2_hash_alg(k->kt->md), &m->seq);
	if (r != TSS2_RC_SUCCESS) {
		free(m);
		return sk_tpm2_key_err(k, r, "HMAC");
	}
	m->base.update = tpm_mac_update;
	m->base.final = tpm_mac_final;
	m->base.free = tpm_mac_free;
	*out = &m->base;
	return SK_OK;
}

static int tpm_export(struct sk_bkey *k, EVP_PKEY **priv, struct sk_buf *raw)
{
	(void)k;
	(void)priv;
	(void)raw;
	return sk_err(SK_EUNSUPP, "tpm2: private keys never leave the TPM");
}

/* ---- sealing: a keyedhash data object with no sign/decrypt use ---- */

static int tpm_seal(struct sk_backend *b, const uint8_t *secret, size_t n, struct sk_buf *blob)
{
	return sk_tpm2_create_sealed((struct tpm_backend *)b, TPMA_OBJECT_NODA, NULL, secret, n,
				     "sealing", blob);
}

static int tpm_unseal(struct sk_backend *b, const uint8_t *blob, size_t n, struct sk_buf *secret)
{
	struct tpm_backend *be = (struct tpm_backend *)b;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	TPM2B_SENSITIVE_DATA *out = NULL;
	ESYS_TR h, sess;
	TSS2_RC r;
	int rc;

	/* A store's master key kept in the TPM (tpm2_persist.c). */
	if (sk_tpm2_blob_persistent(blob, n))
		return sk_tpm2_unseal_persistent(be, blob, n, SK_BANK_SHA256, 0, secret, NULL);
	if ((rc = sk_tpm2_parse_blob(be, blob, n, &pub, &priv)) != SK_OK)
		return rc;
	if (pub.publicArea.type != TPM2_ALG_KEYEDHASH ||
	    (pub.publicArea.objectAttributes & (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT)))
		return sk_err(SK_EVERIFY, "tpm2: not a sealed data object");
	/* What comes back is a secret (a store's master key): encrypted on
	 * the bus, under a session salted to the parent. */
	if ((rc = sk_tpm2_start_encrypt_session(be, &sess)) != SK_OK)
		return rc;
	r = be->t.Esys_Load(be->esys, be->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			    &priv, &pub, &h);
	if (r != TSS2_RC_SUCCESS) {
		be->t.Esys_FlushContext(be->esys, sess);
		return sk_tpm2_load_err(be, r, "loading the sealed object");
	}
	r = be->t.Esys_Unseal(be->esys, h, sess, ESYS_TR_NONE, ESYS_TR_NONE, &out);
	if (r != TSS2_RC_SUCCESS)
		be->t.Esys_FlushContext(be->esys, sess); /* a failed command keeps it */
	be->t.Esys_FlushContext(be->esys, h);
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_err(be, r, "unsealing");
	rc = sk_buf_add(secret, out->buffer, out->size);
	OPENSSL_cleanse(out, sizeof(*out));
	be->t.Esys_Free(out);
	return rc;
}

/* ---- password check objects ----
 * A password object checked by the TPM is a sealed data object whose
 * authorisation value is the one its keys get (password.h): TPM2_Unseal
 * succeeds only with that value, and fails as a key would, counted by
 * the dictionary-attack protection (no noDA).  What it holds does not
 * matter (a few random bytes); that the TPM accepts the value does. */

static int tpm_auth_new(struct sk_backend *b, const struct sk_auth *auth, struct sk_buf *blob)
{
	uint8_t data[16];
	int rc = sk_random(data, sizeof(data));

	if (rc == SK_OK)
		rc = sk_tpm2_create_sealed((struct tpm_backend *)b, 0, auth, data, sizeof(data),
					   "creating the password check object", blob);
	OPENSSL_cleanse(data, sizeof(data));
	return rc;
}

static int tpm_auth_check(struct sk_backend *b, const struct sk_auth *auth, const uint8_t *blob,
			  size_t n)
{
	struct tpm_backend *be = (struct tpm_backend *)b;
	const TPMA_OBJECT want = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				 TPMA_OBJECT_USERWITHAUTH;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	TPM2B_SENSITIVE_DATA *out = NULL;
	TPM2B_AUTH a;
	ESYS_TR h = ESYS_TR_NONE, sess = ESYS_TR_NONE;
	TSS2_RC r;
	int rc;

	if ((rc = sk_tpm2_parse_blob(be, blob, n, &pub, &priv)) != SK_OK)
		return rc;
	/* Only a DA-protected sealed object proves anything: refuse one that
	 * the TPM would let anyone try values on without counting. */
	if (pub.publicArea.type != TPM2_ALG_KEYEDHASH ||
	    (pub.publicArea.objectAttributes & (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT |
						 TPMA_OBJECT_NODA | want)) != want)
		return sk_err(SK_EVERIFY, "tpm2: not a password check object");
	r = be->t.Esys_Load(be->esys, be->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			    &priv, &pub, &h);
	if (r != TSS2_RC_SUCCESS)
		return sk_tpm2_load_err(be, r, "loading the password check object");
	sk_tpm2_set_auth(&a, auth);
	r = be->t.Esys_TR_SetAuth(be->esys, h, &a);
	OPENSSL_cleanse(&a, sizeof(a));
	if (r != TSS2_RC_SUCCESS) {
		rc = sk_tpm2_err(be, r, "setting the authorisation");
		goto out;
	}
	if ((rc = sk_tpm2_start_session(be, &sess)) != SK_OK)
		goto out;
	r = be->t.Esys_Unseal(be->esys, h, sess, ESYS_TR_NONE, ESYS_TR_NONE, &out);
	if (r != TSS2_RC_SUCCESS) {
		rc = sk_tpm2_auth_err(be, r, "checking the password", auth->label);
		goto out;
	}
	OPENSSL_cleanse(out, sizeof(*out));
	be->t.Esys_Free(out);
	rc = SK_OK;
out:
	if (sess != ESYS_TR_NONE)
		be->t.Esys_FlushContext(be->esys, sess);
	be->t.Esys_FlushContext(be->esys, h);
	return rc;
}

const struct sk_backend_ops sk_tpm2_backend = {
	.name = "tpm2",
	.open = tpm_open,
	.close = tpm_close,
	.caps = tpm_caps,
	.generate = tpm_generate,
	.import = tpm_import,
	.load = tpm_load,
	.unload = tpm_unload,
	.destroy = tpm_destroy,
	.sign = tpm_sign,
	.decrypt = tpm_decrypt,
	.derive = tpm_derive,
	.cipher = tpm_cipher,
	.mac = tpm_mac,
	.export_private = tpm_export,
	.seal = tpm_seal,
	.unseal = tpm_unseal,
	.seal_pcr = sk_tpm2_seal_pcr,
	.unseal_pcr = sk_tpm2_unseal_pcr_any,
	.seal_authorized = sk_tpm2_seal_authorized,
	.unseal_authorized = sk_tpm2_unseal_authorized,
	.persist = sk_tpm2_persist,
	.release = sk_tpm2_release,
	.sealed_handle = sk_tpm2_sealed_handle,
	.auth_new = tpm_auth_new,
	.auth_check = tpm_auth_check,
	.verify = sk_backend_verify_default,
	.device_info = sk_tpm2_device_info,
	.da_state = sk_tpm2_da_state,
	.handles = sk_tpm2_handles,
	.evict = sk_tpm2_evict,
};

#endif /* SECKIT_HAVE_TPM2 */

