/* SPDX-License-Identifier: MIT */
#ifndef SK_CERTGEN_H
#define SK_CERTGEN_H

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "keys/keys.h"

/*
 * Making certificate requests and certificates.
 *
 * sk_csr_make builds a PKCS#10 request for a key of the store and signs it
 * through the key's backend: the to-be-signed part is encoded, hashed here
 * and only the digest goes to the backend, so a non-exportable (or TPM)
 * key never leaves it.  san: subjectAltName in OpenSSL's config syntax
 * ("DNS:a.example,IP:10.0.0.1"), or NULL.
 */
int sk_csr_make(struct sk_key *k, const char *subject, const char *san, const EVP_MD *md,
		X509_REQ **out);

/* Profiles of sk_cert_issue (extensions: seckit-cert(1), ISSUING). */
enum sk_profile { SK_PROFILE_DEVICE, SK_PROFILE_SERVER, SK_PROFILE_CA };
#define SK_PROFILES "device server ca"

struct sk_issue {
	X509 *ca;               /* issuer certificate */
	EVP_PKEY *ca_key;       /* its private key */
	X509_REQ *csr;          /* signature checked here */
	uint64_t days;          /* validity from now */
	const EVP_MD *md;
	int pss;                /* RSA CA keys: RSASSA-PSS */
	enum sk_profile profile;
	const ASN1_INTEGER *serial; /* NULL: 127 random bits */
};
/* A certificate like `openssl ca` makes, without a config file.  Errors:
 * SK_EVERIFY for a CSR whose signature fails, a CA certificate that is not
 * a CA or does not match the key. */
int sk_cert_issue(const struct sk_issue *req, X509 **out);

#endif
