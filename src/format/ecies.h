/* SPDX-License-Identifier: MIT */
#ifndef SK_ECIES_H
#define SK_ECIES_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/asn1t.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "keys/keys.h"
#include "base/util.h"

/*
 * ECIES to a device's EC public key (P-256, P-384, P-521): what opaque key
 * packages and OOIDs use to carry a secret to exactly one device.  The
 * exact construction (inputs, labels, layout) is specified in
 * docs/formats/ecies.md; in short:
 *
 *   sender:   ephemeral key pair on the device's curve; Z = ECDH x-coordinate
 *             (field-size bytes); R = 32 fresh random bytes;
 *             Kenc || Kmac = KDF(Z, R, info) where
 *               info = "seckit-ecies-v1/" CONTEXT "/" CIPHER "/" MAC
 *               HKDF:  salt R, key Z, info info
 *               X9.63: secret Z, shared info R || info
 *             C = AES-256-{CTR,CBC,GCM}(Kenc, IV, plaintext)   (GCM: C || tag)
 *             T = HMAC(Kmac, DER of the envelope's fields ephemeralKey ..
 *                 ciphertext)   -- encrypt-then-MAC over data and parameters
 *   receiver: Z through the backend (sk_key_derive: the device private key
 *             never leaves it), then the same KDF, T checked in constant
 *             time before anything is decrypted.
 *
 * The context names the package type ("opaque-key", "ooid"), so that an
 * envelope cut out of one kind of package cannot be opened as another.
 */

enum sk_ecies_kdf {
	SK_ECIES_HKDF_SHA256,
	SK_ECIES_HKDF_SHA384,
	SK_ECIES_X963_SHA256,
	SK_ECIES_X963_SHA384,
};
enum sk_ecies_cipher { SK_ECIES_AES256_CTR, SK_ECIES_AES256_CBC, SK_ECIES_AES256_GCM };
enum sk_ecies_mac { SK_ECIES_HMAC_SHA256, SK_ECIES_HMAC_SHA384, SK_ECIES_HMAC_SHA512 };

struct sk_ecies_alg {
	enum sk_ecies_kdf kdf;
	enum sk_ecies_cipher cipher;
	enum sk_ecies_mac mac;
};

/* Defaults: HKDF-SHA256, AES-256-CTR, HMAC-SHA256. */
void sk_ecies_alg_default(struct sk_ecies_alg *alg);
/* CLI names ("aes-256-ctr" or "ctr", "hmac-sha256" or "sha256", "hkdf-sha256",
 * "x963-sha384" ...): SK_EUSAGE with the list of valid names otherwise.
 * A NULL name leaves the field alone. */
int sk_ecies_alg_set(struct sk_ecies_alg *alg, const char *kdf, const char *cipher,
		     const char *mac);
const char *sk_ecies_kdf_name(enum sk_ecies_kdf k);
const char *sk_ecies_cipher_name(enum sk_ecies_cipher c);
const char *sk_ecies_mac_name(enum sk_ecies_mac m);
#define SK_ECIES_KDFS "hkdf-sha256 hkdf-sha384 x963-sha256 x963-sha384"
#define SK_ECIES_CIPHERS "aes-256-ctr aes-256-cbc aes-256-gcm"
#define SK_ECIES_MACS "hmac-sha256 hmac-sha384 hmac-sha512"

/*
 * The cipher AlgorithmIdentifier with its IV (ecies.md): AES-256-CTR
 * (id-seckit.2.1, 16-byte initial counter block), AES-256-CBC (16-byte IV),
 * AES-256-GCM (GCMParameters: 12-byte nonce, 16-byte tag).  Also used by
 * opaque objects.  parse: SK_EVERIFY for anything else.
 */
X509_ALGOR *sk_cipher_algor(enum sk_ecies_cipher c, const uint8_t *iv);
int sk_cipher_algor_parse(const X509_ALGOR *alg, enum sk_ecies_cipher *c, uint8_t iv[16]);
/* IV length of a cipher: 16, or 12 for GCM. */
size_t sk_cipher_ivlen(enum sk_ecies_cipher c);

/*
 * SubjectPublicKeyInfo as a plain template (algorithm + BIT STRING): the
 * ephemeral key is written from its encoded point directly, which spares
 * the encoder machinery on the fleet path.  DER-identical to X.509's.
 */
typedef struct sk_spki_st {
	X509_ALGOR *alg;
	ASN1_BIT_STRING *key;
} SK_SPKI;
DECLARE_ASN1_FUNCTIONS(SK_SPKI)

/* The envelope (ASN.1 ECIESEnvelope, docs/formats/ecies.md). */
typedef struct sk_ecies_st {
	SK_SPKI *ephemeral;
	ASN1_OCTET_STRING *random;
	X509_ALGOR *kdf;
	X509_ALGOR *cipher;
	X509_ALGOR *mac;
	ASN1_OCTET_STRING *ciphertext;
	ASN1_OCTET_STRING *tag;
} SK_ECIES;
DECLARE_ASN1_FUNCTIONS(SK_ECIES)

/*
 * Sending side.  A sender caches what every envelope needs (fetched
 * algorithms, a key-generation context per curve); it is not thread-safe:
 * the fleet workers each have their own.
 */
struct sk_ecies_sender;
int sk_ecies_sender_new(const struct sk_ecies_alg *alg, struct sk_ecies_sender **out);
void sk_ecies_sender_free(struct sk_ecies_sender *s);

/* Curve of an EC key if it is one seckit encrypts to (P-256/384/521):
 * 0 (with the OpenSSL group name in *group), else SK_EUNSUPP with a message. */
int sk_ecies_check_key(EVP_PKEY *pub, const char **group);

/*
 * A device public key (PEM or DER SubjectPublicKeyInfo, EC P-256/384/521)
 * and its device ID (SHA-256 of the SPKI DER as the device itself encodes
 * it: named curve, uncompressed point).  The common form takes a fast path
 * (no OpenSSL decoder: it costs more than the ECDH); the point is always
 * checked to be on the curve.  With a sender s, the key returned is the
 * sender's own object, rewritten by its next sk_ecies_parse_pub: use it
 * (and EVP_PKEY_free it) before parsing the next one.
 * SK_EVERIFY for a malformed key, SK_EUNSUPP for a key of another type.
 */
int sk_ecies_parse_pub(struct sk_ecies_sender *s, const uint8_t *p, size_t n, EVP_PKEY **out,
		       uint8_t id[32]);

/*
 * Encrypt plain to device_pub (validated by the caller: parsed from SPKI,
 * point on the curve).  On success *out is a new envelope.
 */
int sk_ecies_seal(struct sk_ecies_sender *s, EVP_PKEY *device_pub, const char *context,
		  const uint8_t *plain, size_t n, SK_ECIES **out);
/* The same, the envelope's DER appended to out (what a fleet writes: no
 * ASN.1 objects are built). */
int sk_ecies_seal_der(struct sk_ecies_sender *s, EVP_PKEY *device_pub, const char *context,
		      const uint8_t *plain, size_t n, struct sk_buf *out);

/*
 * Receiving side: check the algorithms and the MAC, decrypt into plain
 * (cleanse it with sk_buf_cleanse_free).  The ECDH runs in the backend
 * holding device_key.  SK_EVERIFY for anything that does not check out
 * (tampered, for another device key, unknown algorithm).
 * alg (optional) receives the algorithms the envelope used.
 */
int sk_ecies_open(struct sk_key *device_key, const SK_ECIES *env, const char *context,
		  struct sk_buf *plain, struct sk_ecies_alg *alg);

/* The algorithms an envelope names, without opening it (for `show`). */
int sk_ecies_describe(const SK_ECIES *env, struct sk_ecies_alg *alg, char curve[32]);

#endif
