/* SPDX-License-Identifier: MIT */
#include "backend.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "crypto.h"
#include "err.h"

#define OPS_soft (&sk_soft_backend)
#ifdef SECKIT_HAVE_TPM2
#define OPS_tpm2 (&sk_tpm2_backend)
#else
#define OPS_tpm2 NULL
#endif
#define OPS_pkcs11 NULL /* planned */
#define ENTRY(n) { #n, OPS_##n }
#define NAME(n) #n
#define COMMA ,

const struct sk_backend_entry sk_backend_table[] = {
	SK_BACKEND_LIST(ENTRY, COMMA),
	{ NULL, NULL },
};

const char *const sk_backend_names[] = { SK_BACKEND_LIST(NAME, COMMA), NULL };

/* The entry of a known backend name; NULL (error set) for an unknown one. */
static const struct sk_backend_entry *find(const char *name)
{
	const struct sk_backend_entry *e;
	char list[128] = "";
	size_t len = 0;

	for (e = sk_backend_table; e->name != NULL; e++)
		if (strcmp(e->name, name) == 0)
			return e;
	for (e = sk_backend_table; e->name != NULL && len < sizeof(list); e++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					e == sk_backend_table ? "" : ", ", e->name);
	sk_err(SK_EUSAGE, "unknown backend '%s' (expected one of: %s)", name, list);
	return NULL;
}

int sk_backend_check(const char *name)
{
	const struct sk_backend_entry *e = find(name);

	if (e == NULL)
		return SK_EUSAGE;
	if (e->ops == NULL)
		return sk_err(SK_EBACKEND, "backend '%s' is not available in this build "
			      "(see `seckit --version`)", name);
	return SK_OK;
}

int sk_backend_open(const char *name, const struct sk_backend_cfg *cfg, struct sk_backend **out)
{
	int rc;

	*out = NULL;
	if ((rc = sk_backend_check(name)) != SK_OK)
		return rc;
	return find(name)->ops->open(cfg, out);
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
