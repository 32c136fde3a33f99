/* SPDX-License-Identifier: MIT */
#ifndef SK_KEYFILE_H
#define SK_KEYFILE_H

/*
 * Key files: what `seckit key import` reads and `key export` writes.
 *   EC and RSA keys: PEM or DER, private (PKCS#8, traditional; encrypted
 *     PEM opened with a passphrase) or public (SPKI, PKCS#1); written as
 *     PKCS#8 (encrypted with sk_pkcs8_encrypt when a passphrase is given)
 *     or SubjectPublicKeyInfo.
 *   AES and HMAC keys: their raw bytes, in clear or in the format of
 *     `openssl enc -pbkdf2` (sk_pbe_seal, crypto.h).
 * Private parts are written with mode 0600, public keys 0666 (less the
 * umask), through sk_write_file (atomic).
 */

#include <openssl/evp.h>

#include "crypto/keytype.h"
#include "ctx/secret.h"
#include "base/util.h"

/* What a failed read lacked, so that the caller can say which option
 * gives it (the message itself says what is wrong with the file). */
enum sk_keyfile_need {
	SK_KEYFILE_NEED_NOTHING,
	SK_KEYFILE_NEED_PASS,   /* the file is encrypted and no passphrase was given */
	SK_KEYFILE_NEED_TYPE,   /* no key could be parsed: raw AES/HMAC bytes need a type */
};

struct sk_keyfile {
	const struct sk_keytype *type;  /* the key's type */
	EVP_PKEY *pkey;                 /* EC and RSA: the key */
	int is_private;                 /* pkey holds a private key */
	struct sk_buf raw;              /* AES and HMAC: the key bytes */
	enum sk_keyfile_need need;      /* after a failed read */
};

/*
 * Read the key file at path (at most 1 MiB) into kf.  type: the type the
 * key must have, or NULL to take it from the file (EC and RSA only: raw
 * bytes say nothing of their type).  An AES or HMAC type reads raw bytes.
 * pass_spec (secret.h; NULL: none) opens an encrypted file; it is asked
 * for only after the file was read.  A file holding another type than
 * type is SK_EUSAGE.  Free kf with sk_keyfile_free, also after a failure.
 */
int sk_keyfile_read(const char *path, const struct sk_keytype *type, const char *pass_spec,
		    struct sk_keyfile *kf);
void sk_keyfile_free(struct sk_keyfile *kf);

/* Write pkey to path, PEM or DER (der): its public key, or with private
 * set its private key, encrypted under pass when pass is not NULL. */
int sk_keyfile_write_pkey(const char *path, EVP_PKEY *pkey, int der, int private,
			  const struct sk_secret *pass);
/* The same encoding into out (free with sk_buf_cleanse_free). */
int sk_keyfile_encode_pkey(EVP_PKEY *pkey, int der, int private, const struct sk_secret *pass,
			   struct sk_buf *out);
/* Write the raw bytes of an AES or HMAC key to path, sealed under pass
 * when pass is not NULL. */
int sk_keyfile_write_raw(const char *path, const uint8_t *raw, size_t n,
			 const struct sk_secret *pass);

#endif
