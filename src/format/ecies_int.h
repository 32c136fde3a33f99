/* SPDX-License-Identifier: MIT */
#ifndef SK_ECIES_INT_H
#define SK_ECIES_INT_H

/*
 * Internals of ECIES, shared by its two files:
 *   ecies.c       the envelope: device keys, KDF, cipher, MAC, seal, open
 *   ecies_alg.c   the algorithms: names, and AlgorithmIdentifiers written
 *                 and read back in their one encoding
 * ecies.c calls ecies_alg.c, never the other way.  Nothing else includes
 * this; the API is ecies.h.
 */

#include <stddef.h>
#include <stdint.h>

#include "format/ecies.h"

#define GCM_TAG 16

/* The algorithms by enum value (ecies.h). */
struct sk_ecies_kdf_def {
	const char *name;
	const char *oid;     /* HKDF: the OID; X9.63: x9-63-kdf with a hash parameter */
	const char *kdf;     /* EVP_KDF name */
	const char *md;
	int md_nid;
};
struct sk_ecies_cipher_def {
	const char *name, *shortname;
	const char *evp;
	size_t ivlen;
};
struct sk_ecies_mac_def {
	const char *name, *shortname;
	const char *md;
	int nid;
	size_t len;
};
extern const struct sk_ecies_kdf_def sk_ecies_kdfs[];
extern const struct sk_ecies_cipher_def sk_ecies_ciphers[];
extern const struct sk_ecies_mac_def sk_ecies_macs[];

/* The KDF and MAC AlgorithmIdentifiers of alg (NULL if out of memory). */
X509_ALGOR *sk_ecies_kdf_algor(const struct sk_ecies_alg *a);
X509_ALGOR *sk_ecies_mac_algor(const struct sk_ecies_alg *a);
/* The three AlgorithmIdentifiers of env into a, the cipher's IV or nonce
 * into iv; SK_EVERIFY for anything but their one encoding. */
int sk_ecies_parse_algs(const SK_ECIES *env, struct sk_ecies_alg *a, uint8_t iv[16]);

#endif
