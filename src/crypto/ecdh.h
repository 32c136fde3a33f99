/* SPDX-License-Identifier: MIT */
#ifndef SK_ECDH_H
#define SK_ECDH_H

#include <stddef.h>
#include <stdint.h>

/*
 * Ephemeral-static ECDH on a named prime curve, for senders that make one
 * envelope per device (ECIES, ecies.c): a new key pair, and the shared
 * x-coordinate with the device's key.
 *
 * Why not EVP: EVP_PKEY_keygen, EVP_PKEY_CTX_new_from_pkey and
 * EVP_PKEY_derive_init build a key object with its own copy of the curve
 * group and look the ECDH method up by name (a lock-protected name map)
 * for every device -- measured with perf on the fleet path, that was a
 * fifth of the CPU time per device besides the scalar multiplications,
 * and with two workers the shared locks cost more again.  The scalar
 * multiplications are the ones OpenSSL's own EC key generation and ECDH
 * make (EC_POINT_mul on a constant-time scalar, ossl_ec_key_simple_
 * generate_key and ossl_ecdh_simple_compute_key): only the objects around
 * them are kept for the whole run instead of rebuilt per device.
 * tests/unit/ecdh-test.c checks the results against EVP's ECDH.
 *
 * One struct sk_ecdh per thread (it keeps its big-number scratch space).
 */
struct sk_ecdh;

/* nid: NID_X9_62_prime256v1, NID_secp384r1 or NID_secp521r1 (any named
 * prime curve OpenSSL knows works). */
int sk_ecdh_new(int nid, struct sk_ecdh **out);
void sk_ecdh_free(struct sk_ecdh *e);
/* The field size in bytes (the length of z). */
size_t sk_ecdh_zlen(const struct sk_ecdh *e);
/* n bytes from OpenSSL's private generator, drawn a few KiB at a time
 * (ecdh.c says why): also for the envelope's other random fields. */
int sk_ecdh_random(struct sk_ecdh *e, uint8_t *p, size_t n);
/*
 * A new ephemeral key; z = the x-coordinate of its product with peer (an
 * encoded point of the curve, checked to be on it; the curves used have
 * cofactor 1), left-padded to sk_ecdh_zlen bytes; pt = the ephemeral
 * public key as an uncompressed point (1 + 2 * zlen bytes, ptcap at
 * least).  The private scalar is cleared before returning.
 */
int sk_ecdh_ephemeral(struct sk_ecdh *e, const uint8_t *peer, size_t peerlen, uint8_t *z,
		      uint8_t *pt, size_t ptcap, size_t *ptlen);

#endif
