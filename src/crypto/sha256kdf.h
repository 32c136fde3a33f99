/* SPDX-License-Identifier: MIT */
#ifndef SK_SHA256KDF_H
#define SK_SHA256KDF_H

#include <stddef.h>
#include <stdint.h>

/*
 * SHA-256, HMAC-SHA256 (RFC 2104) and HKDF-SHA256 (RFC 5869) without the
 * EVP fetch machinery.  Why by hand: OpenSSL 3.0 builds its algorithm name
 * map and constructs every method of an operation the first time anything
 * of that operation is fetched -- measured with callgrind, 7 of the 8.7
 * million instructions of a whole `seckit key info` went there.  seckit is
 * a new process per command, and the store's hot path (file names, the
 * master-key check, key derivation, index MACs) needs nothing but these
 * three, so they are built here on OpenSSL's own SHA-256 block function
 * (SHA256_Init/Update/Final: no tables, SHA-NI where the CPU has it).
 * tests/unit/sha256kdf-test.c checks them against EVP and the RFC vectors.
 */
void sk_sha256(const void *p, size_t n, uint8_t out[32]);
void sk_hmac_sha256(const uint8_t *key, size_t keylen, const void *p, size_t n, uint8_t out[32]);
/* outlen <= 255 * 32 (RFC 5869); returns -1 beyond. */
int sk_hkdf_sha256_raw(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
		       const void *info, size_t infolen, uint8_t *out, size_t outlen);

#endif
