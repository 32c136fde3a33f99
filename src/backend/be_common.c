/* SPDX-License-Identifier: MIT */
/*
 * Helpers that backend implementations share (be_soft.c, be_tpm2.c, ...):
 * EVP signature padding, RSA-OAEP contexts and the software verifier.  backend.c, the table
 * of backends, sits above the implementations; these sit below them, so
 * that a backend never calls back into the table's file.
 */
#include "backend/backend.h"

#include <stdio.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "crypto/crypto.h"
#include "base/err.h"

int sk_pkey_ctx_sig_setup(EVP_PKEY_CTX *pctx, EVP_PKEY *key, const EVP_MD *md, int pss, int verify)
{
	if (EVP_PKEY_CTX_set_signature_md(pctx, md) <= 0)
		return sk_err_ssl(SK_EUNSUPP, "digest %s with this key", sk_md_name(md));
	if (EVP_PKEY_is_a(key, "RSA")) {
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, pss ? RSA_PKCS1_PSS_PADDING
							  : RSA_PKCS1_PADDING) <= 0)
			return sk_err_ssl(SK_EFAIL, "RSA padding");
		/* PSS: salt as long as the digest when signing (the common
		 * choice of TPMs and tokens); any valid salt when verifying. */
		if (pss && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, verify ? RSA_PSS_SALTLEN_AUTO
									: RSA_PSS_SALTLEN_DIGEST) <= 0)
			return sk_err_ssl(SK_EFAIL, "RSA-PSS salt length");
	} else if (pss) {
		return sk_err(SK_EUNSUPP, "RSA-PSS padding applies to RSA keys only");
	}
	return SK_OK;
}

EVP_PKEY_CTX *sk_pkey_ctx_oaep(EVP_PKEY *key, const EVP_MD *md, int encrypt)
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);

	if (pctx == NULL ||
	    (encrypt ? EVP_PKEY_encrypt_init(pctx) : EVP_PKEY_decrypt_init(pctx)) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(pctx, md) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0) {
		EVP_PKEY_CTX_free(pctx);
		sk_err_ssl(SK_EFAIL, "RSA-OAEP");
		return NULL;
	}
	return pctx;
}

int sk_backend_verify_default(struct sk_backend *be, EVP_PKEY *pub, const EVP_MD *md, int pss,
			      const uint8_t *dgst, size_t dlen, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	int rc = SK_OK, r;

	(void)be;
	if (pctx == NULL || EVP_PKEY_verify_init(pctx) <= 0) {
		rc = sk_err_ssl(SK_EUNSUPP, "this key cannot verify signatures");
		goto out;
	}
	if ((rc = sk_pkey_ctx_sig_setup(pctx, pub, md, pss, 1)) != SK_OK)
		goto out;
	r = EVP_PKEY_verify(pctx, sig, siglen, dgst, dlen);
	ERR_clear_error();
	if (r != 1)
		rc = sk_err(SK_EVERIFY, "signature does not match");
out:
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

static const struct {
	int nid;
	const char *name, *ossl;
} sig_mds[] = {
	{ NID_sha1, "SHA-1", "SHA1" },
	{ NID_sha224, "SHA-224", "SHA2-224" },
	{ NID_sha256, "SHA-256", "SHA2-256" },
	{ NID_sha384, "SHA-384", "SHA2-384" },
	{ NID_sha512, "SHA-512", "SHA2-512" },
};

unsigned sk_sig_md_bit(const EVP_MD *md)
{
	size_t i;

	for (i = 0; md != NULL && i < SK_ARRAY_SIZE(sig_mds); i++)
		if (EVP_MD_get_type(md) == sig_mds[i].nid)
			return 1u << i;
	return 0;
}

const char *sk_sig_md_fetch_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(sig_mds); i++)
		if (bit == 1u << i)
			return sig_mds[i].ossl;
	return NULL;
}

const char *sk_sig_md_names(unsigned mask, char *buf, size_t n)
{
	size_t i, used = 0;

	if (n == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < SK_ARRAY_SIZE(sig_mds); i++) {
		int w;

		if (!(mask & (1u << i)) || used >= n)
			continue;
		w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", sig_mds[i].name);
		if (w > 0)
			used += (size_t)w;
	}
	if (buf[0] == '\0')
		snprintf(buf, n, "none");
	return buf;
}

int sk_pkey_encrypt_oaep(EVP_PKEY *pub, const EVP_MD *md, const uint8_t *in, size_t n,
			 struct sk_buf *out)
{
	EVP_PKEY_CTX *pctx;
	size_t len = 0;
	int rc = SK_OK;

	if (!EVP_PKEY_is_a(pub, "RSA"))
		return sk_err(SK_EUNSUPP, "RSA-OAEP needs an RSA key");
	if ((pctx = sk_pkey_ctx_oaep(pub, md != NULL ? md : EVP_sha256(), 1)) == NULL)
		return SK_EFAIL;
	if (EVP_PKEY_encrypt(pctx, NULL, &len, in, n) <= 0) {
		rc = sk_err_ssl(SK_EFAIL, "RSA-OAEP");
		goto out;
	}
	if ((rc = sk_buf_reserve(out, len)) != SK_OK)
		goto out;
	if (EVP_PKEY_encrypt(pctx, out->p + out->len, &len, in, n) <= 0) {
		rc = sk_err_ssl(SK_EFAIL, "RSA-OAEP encryption (input too long for this key?)");
		goto out;
	}
	out->len += len;
out:
	EVP_PKEY_CTX_free(pctx);
	return rc;
}
