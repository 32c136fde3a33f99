/* SPDX-License-Identifier: MIT */
/*
 * What a loaded key does (keys.h struct sk_key): each operation checks
 * that the key's backend can do it, then asks the backend.
 */
#include "keys/keys.h"

#include <string.h>

#include "base/err.h"

static const char *cap_name(unsigned cap)
{
	switch (cap) {
	case SK_CAP_SIGN: return "sign";
	case SK_CAP_DECRYPT: return "decrypt";
	case SK_CAP_DERIVE: return "derive shared secrets";
	case SK_CAP_CIPHER: return "encrypt or decrypt";
	case SK_CAP_MAC: return "compute MACs";
	case SK_CAP_EXPORT: return "export its private part";
	default: return "do that";
	}
}

int sk_key_require(struct sk_key *k, unsigned cap, const char *what)
{
	if (what == NULL)
		what = cap_name(cap);
	if (k->bk == NULL)
		return sk_err(SK_EUNSUPP, "key '%s' is a public key only: it cannot %s",
			      k->info.name, what);
	if (!(k->be->ops->caps(k->be, k->info.type) & cap))
		return sk_err(SK_EUNSUPP, "key '%s' (%s, backend %s) cannot %s", k->info.name,
			      k->info.type->name, k->be->ops->name, what);
	return SK_OK;
}

int sk_key_sign(struct sk_key *k, const EVP_MD *md, int pss, const uint8_t *dgst, size_t dlen,
		struct sk_buf *sig)
{
	int rc = sk_key_require(k, SK_CAP_SIGN, NULL);

	return rc ? rc : k->be->ops->sign(k->bk, md, pss, dgst, dlen, sig);
}

int sk_key_sig_limits(struct sk_key *k, struct sk_sig_limits *out)
{
	int rc = sk_key_require(k, SK_CAP_SIGN, NULL);

	memset(out, 0, sizeof(*out));
	if (rc != SK_OK)
		return rc;
	if (k->be->ops->sig_limits != NULL)
		return k->be->ops->sig_limits(k->bk, out);
	out->md[SK_SIG_PLAIN] = SK_SIG_MD_ALL;
	if (k->info.type->kind == SK_KIND_RSA)
		out->md[SK_SIG_PSS] = SK_SIG_MD_ALL;
	else
		snprintf(out->why[SK_SIG_PSS], sizeof(out->why[SK_SIG_PSS]),
			 "RSA-PSS applies to RSA keys only");
	return SK_OK;
}

int sk_key_sign_msg(struct sk_key *k, const EVP_MD *md, int pss, const uint8_t *msg, size_t n,
		    struct sk_buf *sig)
{
	int rc = sk_key_require(k, SK_CAP_SIGN, NULL);

	if (rc != SK_OK)
		return rc;
	if (k->be->ops->sign_msg == NULL)
		return sk_err(SK_EUNSUPP, "backend %s signs digests, not whole messages",
			      k->be->ops->name);
	return k->be->ops->sign_msg(k->bk, md, pss, msg, n, sig);
}

int sk_key_verify(struct sk_key *k, const EVP_MD *md, int pss, const uint8_t *dgst, size_t dlen,
		  const uint8_t *sig, size_t siglen)
{
	if (k->info.pub == NULL)
		return sk_err(SK_EUNSUPP, "key '%s' (%s) cannot verify signatures", k->info.name,
			      k->info.type->name);
	if (k->be != NULL && k->be->ops->verify != NULL)
		return k->be->ops->verify(k->be, k->info.pub, md, pss, dgst, dlen, sig, siglen);
	return sk_pkey_verify(k->info.pub, md, pss, dgst, dlen, sig, siglen);
}

int sk_pkey_verify(EVP_PKEY *pub, const EVP_MD *md, int pss, const uint8_t *dgst, size_t dlen,
		   const uint8_t *sig, size_t siglen)
{
	return sk_backend_verify_default(NULL, pub, md, pss, dgst, dlen, sig, siglen);
}

int sk_key_derive(struct sk_key *k, EVP_PKEY *peer, struct sk_buf *secret)
{
	int rc = sk_key_require(k, SK_CAP_DERIVE, NULL);

	return rc ? rc : k->be->ops->derive(k->bk, peer, secret);
}

int sk_key_decrypt(struct sk_key *k, const EVP_MD *oaep_md, const uint8_t *in, size_t n,
		   struct sk_buf *out)
{
	int rc = sk_key_require(k, SK_CAP_DECRYPT, NULL);

	return rc ? rc : k->be->ops->decrypt(k->bk, oaep_md, in, n, out);
}

int sk_key_cipher(struct sk_key *k, enum sk_cipher_mode mode, int enc, const uint8_t *iv,
		  size_t ivlen, struct sk_symop **out)
{
	int rc = sk_key_require(k, SK_CAP_CIPHER, NULL);

	return rc ? rc : k->be->ops->cipher(k->bk, mode, enc, iv, ivlen, out);
}

int sk_key_mac(struct sk_key *k, struct sk_symop **out)
{
	int rc = sk_key_require(k, SK_CAP_MAC, NULL);

	return rc ? rc : k->be->ops->mac(k->bk, out);
}

int sk_key_export_private(struct sk_key *k, EVP_PKEY **priv, struct sk_buf *raw)
{
	int rc = sk_key_require(k, SK_CAP_EXPORT, NULL);

	if (rc != SK_OK)
		return rc;
	if (!(k->info.flags & SK_KEY_EXPORTABLE))
		return sk_err(SK_EUNSUPP, "key '%s' was not created exportable: its private part never leaves the backend",
			      k->info.name);
	return k->be->ops->export_private(k->bk, priv, raw);
}
