/* SPDX-License-Identifier: MIT */
/* Key files in and out (keyfile.h). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/encoder.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "base/fileio.h"
#include "keys/keyfile.h"

#define KEYFILE_MAX (1u << 20)

/* AES and HMAC: the bytes as they are, or opened with the passphrase
 * (written by sk_keyfile_write_raw with one). */
static int read_raw(const char *path, const char *pass_spec, struct sk_keyfile *kf)
{
	struct sk_secret pass = { 0 };
	struct sk_buf clear = { 0 };
	size_t want = sk_keytype_raw_len(kf->type);
	int rc;

	if (pass_spec != NULL) {
		if ((rc = sk_secret_get(pass_spec, "passphrase of the input key", 0, &pass)) != SK_OK)
			return rc;
		rc = sk_pbe_open(pass.p, pass.len, kf->raw.p, kf->raw.len, &clear);
		sk_secret_free(&pass);
		if (rc != SK_OK) {
			sk_buf_cleanse_free(&clear);
			return sk_err_wrap(rc, "reading '%s'", path);
		}
		sk_buf_cleanse_free(&kf->raw);
		kf->raw = clear;
	} else if (kf->raw.len > 8 && memcmp(kf->raw.p, SK_PBE_MAGIC, 8) == 0 &&
		   kf->raw.len != want) {
		kf->need = SK_KEYFILE_NEED_PASS;
		return sk_err(SK_EAUTH, "'%s' is encrypted: give its passphrase", path);
	}
	if (kf->raw.len != want)
		return sk_err(SK_EFAIL, "'%s': a %s key is %zu raw bytes, the file has %zu", path,
			      kf->type->name, want, kf->raw.len);
	return SK_OK;
}

/* EC and RSA: a PEM or DER key, of type kf->type if that is set. */
static int read_pkey(const char *path, const char *pass_spec, struct sk_keyfile *kf)
{
	struct sk_secret pass = { 0 };
	const struct sk_keytype *kt;
	int rc;

	if (pass_spec != NULL &&
	    (rc = sk_secret_get(pass_spec, "passphrase of the input key", 0, &pass)) != SK_OK)
		return rc;
	rc = sk_pkey_parse(kf->raw.p, kf->raw.len, pass.p, 0, &kf->pkey, &kf->is_private);
	sk_secret_free(&pass);
	if (rc != SK_OK) {
		sk_err_wrap(rc, "reading '%s'", path);
		/* Short, and no key: perhaps raw bytes of an unnamed type. */
		if (rc == SK_EFAIL && kf->type == NULL && kf->raw.len <= 64)
			kf->need = SK_KEYFILE_NEED_TYPE;
		return rc;
	}
	if ((kt = sk_keytype_of_pkey(kf->pkey)) == NULL)
		return SK_EUNSUPP;
	if (kf->type != NULL && kf->type != kt)
		return sk_err(SK_EUSAGE, "'%s' holds a %s key, not %s", path, kt->name,
			      kf->type->name);
	kf->type = kt;
	return SK_OK;
}

int sk_keyfile_read(const char *path, const struct sk_keytype *type, const char *pass_spec,
		    struct sk_keyfile *kf)
{
	int rc;

	memset(kf, 0, sizeof(*kf));
	kf->type = type;
	if ((rc = sk_read_file(path, KEYFILE_MAX, &kf->raw)) != SK_OK)
		return rc;
	if (type != NULL && !sk_keytype_is_asym(type))
		return read_raw(path, pass_spec, kf);
	rc = read_pkey(path, pass_spec, kf);
	sk_buf_cleanse_free(&kf->raw);
	return rc;
}

void sk_keyfile_free(struct sk_keyfile *kf)
{
	EVP_PKEY_free(kf->pkey);
	sk_buf_cleanse_free(&kf->raw);
	memset(kf, 0, sizeof(*kf));
}

int sk_keyfile_encode_pkey(EVP_PKEY *pkey, int der, int private, const struct sk_secret *pass,
			   struct sk_buf *out)
{
	OSSL_ENCODER_CTX *e;
	unsigned char *data = NULL;
	size_t len = 0;
	int rc;

	if (private && pass != NULL && pass->p != NULL)
		return sk_pkcs8_encrypt(pkey, pass->p, pass->len, der, out);
	e = OSSL_ENCODER_CTX_new_for_pkey(pkey,
		private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, der ? "DER" : "PEM",
		private ? "PrivateKeyInfo" : "SubjectPublicKeyInfo", NULL);
	if (e == NULL || OSSL_ENCODER_CTX_get_num_encoders(e) == 0) {
		OSSL_ENCODER_CTX_free(e);
		return sk_err_ssl(SK_EFAIL, "encoding key");
	}
	if (OSSL_ENCODER_to_data(e, &data, &len) != 1) {
		OSSL_ENCODER_CTX_free(e);
		return sk_err_ssl(SK_EFAIL, "encoding key");
	}
	OSSL_ENCODER_CTX_free(e);
	rc = sk_buf_add(out, data, len);
	OPENSSL_clear_free(data, len);
	return rc;
}

int sk_keyfile_write_pkey(const char *path, EVP_PKEY *pkey, int der, int private,
			  const struct sk_secret *pass)
{
	struct sk_buf enc = { 0 };
	int rc;

	if ((rc = sk_keyfile_encode_pkey(pkey, der, private, pass, &enc)) == SK_OK)
		rc = sk_write_file(path, enc.p, enc.len, private ? 0600 : 0666);
	sk_buf_cleanse_free(&enc);
	return rc;
}

int sk_keyfile_write_raw(const char *path, const uint8_t *raw, size_t n,
			 const struct sk_secret *pass)
{
	struct sk_buf enc = { 0 };
	int rc;

	if (pass == NULL)
		return sk_write_file(path, raw, n, 0600);
	if ((rc = sk_pbe_seal(pass->p, pass->len, raw, n, &enc)) == SK_OK)
		rc = sk_write_file(path, enc.p, enc.len, 0600);
	sk_buf_free(&enc);
	return rc;
}
