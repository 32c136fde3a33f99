/* SPDX-License-Identifier: MIT */
#ifndef SK_CRYPTO_H
#define SK_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "base/util.h"

/* Small wrappers over EVP for the primitives the store and the package
 * layers share.  All return SK_OK or an SK_E* code with the error set. */

/* OpenSSL start-up without reading openssl.cnf: a config file could load
 * engines or providers behind our back and costs start-up time.  Also
 * sets up OpenSSL's secure heap (SK_SECURE_HEAP bytes, locked in memory and
 * excluded from core dumps): what OPENSSL_secure_malloc returns and every
 * private key's secret numbers live there. */
#define SK_SECURE_HEAP (256u << 10)
void sk_crypto_init(void);

int sk_random(void *p, size_t n);

/* HKDF-SHA256 (RFC 5869), extract and expand. */
int sk_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
		   const void *info, size_t infolen, uint8_t *out, size_t outlen);

/* HMAC with the named digest ("SHA256" ...); out must hold EVP_MAX_MD_SIZE. */
/* The PKCS#7 padding of the last block of a CBC decryption, checked in
 * constant time: how many data bytes the block keeps (0 to 15), or -1 if
 * the padding is bad. */
int sk_pkcs7_unpad(const uint8_t last[16]);
int sk_hmac(const char *md, const uint8_t *key, size_t keylen, const void *p, size_t n,
	    uint8_t *out, size_t *outlen);

/* One-shot AES-256-GCM with a 12-byte nonce and 16-byte tag.
 * sk_gcm_open returns SK_EVERIFY if the tag does not match. */
int sk_gcm_seal(const uint8_t key[32], const uint8_t nonce[12], const void *aad,
		size_t aadlen, const void *in, size_t n, uint8_t *out, uint8_t tag[16]);
int sk_gcm_open(const uint8_t key[32], const uint8_t nonce[12], const void *aad,
		size_t aadlen, const void *in, size_t n, uint8_t *out, const uint8_t tag[16]);

/* Digests by name.  sk_md_by_name() knows md5 sha1 sha224 sha256 sha384
 * sha512 sha3-256 sha3-384 sha3-512 (any case, or OpenSSL's "SHA256") and
 * refuses md5 unless allow_md5 is set.  Which of them a command takes is
 * the digest policy below, not this lookup. */
const EVP_MD *sk_md_by_name(const char *name, int allow_md5);
/* md5 and sha1: accepted only where the policy allows, with a warning. */
int sk_md_is_weak(const EVP_MD *md);
/* Canonical lower-case name of a digest ("sha256"). */
const char *sk_md_name(const EVP_MD *md);

/*
 * The digest policy (seckit(1), DIGESTS): what each use of a digest
 * accepts, as the word lists that help and completion show.
 *   SK_MD_TRUST    certificates, CSRs, STPs, OOIDs, opaque keys: what the
 *                  device trusts takes SHA-2 of 256 bits or more only
 *   SK_MD_SIGN     key sign, key verify: also the legacy sha224 and sha1,
 *                  and SHA-3
 *   SK_MD_PAYLOAD  payload packages: SHA-2 and sha1 (the format has no
 *                  SHA-3), md5 only when the caller allows it (--insecure)
 *   SK_MD_HASH     key digest: every digest, md5 only when allowed
 *   SK_MD_DEFAULT  the config's defaults.digest, the signing digest of
 *                  every use when none is given
 * SK_MD_TRUST is 0: a use that says nothing is the strictest.
 */
enum sk_md_use { SK_MD_TRUST, SK_MD_SIGN, SK_MD_PAYLOAD, SK_MD_HASH, SK_MD_DEFAULT };
#define SK_MD_TRUST_NAMES "sha256 sha384 sha512"
#define SK_MD_SIGN_NAMES SK_MD_TRUST_NAMES " sha224 sha1 sha3-256 sha3-384 sha3-512"
#define SK_MD_PAYLOAD_NAMES SK_MD_TRUST_NAMES " sha224 sha1 md5"
#define SK_MD_HASH_NAMES SK_MD_SIGN_NAMES " md5"
#define SK_MD_DEFAULT_NAMES SK_MD_TRUST_NAMES " sha224 sha1"
/* The digests use accepts ("sha256 sha384 sha512"). */
const char *sk_md_names(enum sk_md_use use);
/*
 * The digest called name, if use accepts it.  SK_EUSAGE for a name that
 * is no digest or one use does not take.  md5 is broken: SK_EUNSUPP
 * unless use lists it and allow_md5 is set (uses that take legacy digests
 * know it and refuse it; SK_MD_TRUST does not take it at all: SK_EUSAGE).
 * A weak digest (sk_md_is_weak) that passes is the caller's to warn of.
 */
int sk_md_for(const char *name, enum sk_md_use use, int allow_md5, const EVP_MD **md);

/* SHA-256 of the DER SubjectPublicKeyInfo of pkey, in lower-case hex. */
int sk_pkey_fingerprint(const EVP_PKEY *pkey, char hex[65]);

/* Parse a private or public key from PEM or DER (PKCS#8, traditional,
 * SPKI, PKCS#1); pass may be NULL (encrypted PEM then fails with SK_EAUTH).
 * A private key must be a consistent pair (sk_pkey_check_pair). */
int sk_pkey_parse(const uint8_t *p, size_t n, const char *pass, int want_private,
		  EVP_PKEY **out, int *is_private);
/* SK_EVERIFY unless the public half of a private key belongs to its private
 * half (EVP_PKEY_pairwise_check): a key file or package may carry both, and
 * nothing else ties them together.  Every import path calls it. */
int sk_pkey_check_pair(EVP_PKEY *pkey);
/* Load a key file; what names it in errors. */
int sk_pkey_load(const char *path, const char *pass, int want_private, EVP_PKEY **out);

/*
 * Private keys written with a passphrase.  PBKDF2-HMAC-SHA256 with
 * SK_PBKDF2_ITER iterations (OpenSSL's own default, 2048, is far too few
 * for a key file that may leave the device) and AES-256-CBC.
 *   sk_pkcs8_encrypt: PKCS#8 EncryptedPrivateKeyInfo (PBES2), PEM or DER,
 *     what `openssl pkey -passin` reads.
 *   sk_pbe_seal / sk_pbe_open: raw bytes (AES and HMAC keys) in the
 *     format of `openssl enc -aes-256-cbc -pbkdf2 -iter N -md sha256`:
 *     "Salted__" || salt[8] || ciphertext.  sk_pbe_open: SK_EAUTH for a
 *     wrong passphrase (bad padding), SK_EFAIL if it is not that format.
 */
#define SK_PBKDF2_ITER 600000
int sk_pkcs8_encrypt(EVP_PKEY *pkey, const char *pass, size_t passlen, int der,
		     struct sk_buf *out);
#define SK_PBE_MAGIC "Salted__"
int sk_pbe_seal(const char *pass, size_t passlen, const uint8_t *in, size_t n,
		struct sk_buf *out);
int sk_pbe_open(const char *pass, size_t passlen, const uint8_t *in, size_t n,
		struct sk_buf *out);

/* Hash a file ("-" = stdin) in chunks; out holds EVP_MAX_MD_SIZE bytes.
 * size (optional) receives the number of bytes hashed. */
int sk_digest_file(const char *path, const EVP_MD *md, uint8_t *out, size_t *outlen,
		   uint64_t *size);

#endif
