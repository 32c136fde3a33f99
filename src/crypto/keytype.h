/* SPDX-License-Identifier: MIT */
#ifndef SK_KEYTYPE_H
#define SK_KEYTYPE_H

#include <stddef.h>

#include <openssl/evp.h>

enum sk_kind { SK_KIND_EC, SK_KIND_RSA, SK_KIND_AES, SK_KIND_HMAC };

struct sk_keytype {
	const char *name;   /* CLI name: ec-p256, rsa-2048, aes-256, hmac-sha256 */
	enum sk_kind kind;
	unsigned bits;      /* key size: curve bits, modulus bits, key bits */
	const char *group;  /* EC: OpenSSL group name */
	const char *md;     /* HMAC: digest name; EC: natural digest */
};

/* The names of sk_keytypes[], in its order, as --type completes them
 * (tests/unit/policy-test.c checks that the two agree). */
#define SK_KEYTYPE_NAMES "ec-p256 ec-p384 ec-p521 rsa-2048 rsa-3072 rsa-4096 aes-128 aes-256 " \
			 "hmac-sha256 hmac-sha384 hmac-sha512"

extern const struct sk_keytype sk_keytypes[];
extern const size_t sk_nkeytypes;

const struct sk_keytype *sk_keytype_by_name(const char *name);
/* Type of an EC or RSA key; NULL (error set, SK_EUNSUPP) for other keys. */
const struct sk_keytype *sk_keytype_of_pkey(const EVP_PKEY *pkey);
/* The same from an EC key's OpenSSL group name ("prime256v1"; "" for
 * explicit parameters) or an RSA key's modulus size in bits, for keys
 * whose public part is not at hand (a token's private key object). */
const struct sk_keytype *sk_keytype_of_group(const char *group);
const struct sk_keytype *sk_keytype_of_rsa_bits(unsigned bits);
/* The type of that kind and size; NULL (no error set) if seckit has none. */
const struct sk_keytype *sk_keytype_of_bits(enum sk_kind kind, unsigned bits);
int sk_keytype_is_asym(const struct sk_keytype *kt);
/* A new EC or RSA key pair of type kt (SK_EUNSUPP for AES and HMAC). */
int sk_keytype_generate(const struct sk_keytype *kt, EVP_PKEY **out);
/* The same with a generation context kept between keys of kt (*gen NULL
 * the first time, then set; EVP_PKEY_CTX_free it): no algorithm fetch and
 * no context per key, for a fleet worker. */
int sk_keytype_generate_ctx(const struct sk_keytype *kt, EVP_PKEY_CTX **gen, EVP_PKEY **out);
/* Raw key length in bytes for AES and HMAC keys. */
size_t sk_keytype_raw_len(const struct sk_keytype *kt);

#endif
