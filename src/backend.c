/* SPDX-License-Identifier: MIT */
#include "backend.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "crypto.h"
#include "err.h"

const struct sk_backend_ops *const sk_backends[] = {
	&sk_soft_backend,
#ifdef SECKIT_HAVE_TPM2
	&sk_tpm2_backend,
#endif
	NULL,
};

/* Every backend name the CLI accepts, built in or not. */
static const char *const known[] = { "soft", "tpm2", "pkcs11" };

int sk_backend_check(const char *name)
{
	size_t i;

	for (i = 0; sk_backends[i] != NULL; i++)
		if (strcmp(sk_backends[i]->name, name) == 0)
			return SK_OK;
	for (i = 0; i < SK_ARRAY_SIZE(known); i++)
		if (strcmp(known[i], name) == 0)
			return sk_err(SK_EBACKEND, "backend '%s' is not available in this build "
				      "(see `seckit --version`)", name);
	return sk_err(SK_EUSAGE, "unknown backend '%s' (expected soft, tpm2 or pkcs11)", name);
}

int sk_backend_open(const char *name, const struct sk_backend_cfg *cfg, struct sk_backend **out)
{
	size_t i;

	*out = NULL;
	for (i = 0; sk_backends[i] != NULL; i++)
		if (strcmp(sk_backends[i]->name, name) == 0)
			return sk_backends[i]->open(cfg, out);
	for (i = 0; i < SK_ARRAY_SIZE(known); i++)
		if (strcmp(known[i], name) == 0)
			return sk_err(SK_EBACKEND, "backend '%s' is not available in this build "
				      "(see `seckit --version`)", name);
	return sk_err(SK_EUSAGE, "unknown backend '%s' (expected soft, tpm2 or pkcs11)", name);
}

void sk_backend_close(struct sk_backend *be)
{
	if (be != NULL)
		be->ops->close(be);
}

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
		return sk_err(SK_EUNSUPP, "--pss applies to RSA keys only");
	}
	return SK_OK;
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
