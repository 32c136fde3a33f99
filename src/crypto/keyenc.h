/* SPDX-License-Identifier: MIT */
#ifndef SK_KEYENC_H
#define SK_KEYENC_H

#include <stddef.h>

#include <openssl/evp.h>

#include "base/util.h"

/*
 * DER encodings of many generated EC keys of one curve: PKCS #8
 * PrivateKeyInfo (EVP_PKEY2PKCS8) and SubjectPublicKeyInfo (i2d_PUBKEY),
 * byte for byte OpenSSL's.  Why: in OpenSSL 3.0 each of those two calls
 * builds an encoder context that looks every encoder up by name, about
 * 0.7 million instructions -- three times the key generation.  The first
 * key of a curve is encoded by OpenSSL; its private scalar (fixed length)
 * and public point (uncompressed) are found in those encodings, each
 * exactly once, and later keys are written into copies of them.  The
 * second key is checked against OpenSSL's encoders; anything unexpected
 * (another key type, a field found twice, a mismatch) and every key goes
 * through OpenSSL.  One sk_keyenc per thread.
 */
struct sk_keyenc {
	int state;               /* 0 new, 1 template made, 2 checked, -1 OpenSSL only */
	int curve;               /* NID of the template's curve */
	struct sk_buf p8, spki;  /* templates (p8 holds the first key: secret) */
	size_t priv_off, pub_off; /* in p8 (pub_off 0: not in it) */
	size_t priv_len, pub_len;
	const EVP_PKEY *last;    /* the key last given to sk_keyenc_pkcs8 */
	uint8_t last_pub[133];   /* and its point */
};

/* The PKCS #8 DER of key into out (secret: cleanse it). */
int sk_keyenc_pkcs8(struct sk_keyenc *e, EVP_PKEY *key, struct sk_buf *out);
/* The SubjectPublicKeyInfo DER of key into out (after its PKCS #8: the
 * point is read once). */
int sk_keyenc_spki(struct sk_keyenc *e, EVP_PKEY *key, struct sk_buf *out);
void sk_keyenc_free(struct sk_keyenc *e);

#endif
