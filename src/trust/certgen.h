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
	EVP_PKEY *ca_key;       /* its private key, or: */
	struct sk_key *ca_skey; /* its key in the store (signs in the backend) */
	X509_REQ *csr;          /* signature checked here */
	uint64_t days;          /* validity from now (when not_after is 0) */
	int64_t not_before;     /* seconds since the epoch; 0: now */
	int64_t not_after;      /* 0: now + days */
	const EVP_MD *md;
	int pss;                /* RSA CA keys: RSASSA-PSS */
	enum sk_profile profile;
	const ASN1_INTEGER *serial; /* NULL: 127 random bits */
};
/* A certificate like `openssl ca` makes, without a config file.  Errors:
 * SK_EVERIFY for a CSR whose signature fails, a CA certificate that is not
 * a CA or does not match the key. */
int sk_cert_issue(const struct sk_issue *req, X509 **out);

/* Who signs a certificate: a private key from a file, or a key of the
 * store, used through its backend (only the digest reaches it). */
struct sk_certsigner {
	EVP_PKEY *pkey;
	struct sk_key *key;
};

/* A CA certificate (cert ca create): basicConstraints CA:TRUE (critical,
 * with pathlen when path_len >= 0), keyUsage keyCertSign and cRLSign
 * (critical), subject and authority key identifiers. */
struct sk_ca_new {
	const char *subject;        /* "/CN=..." */
	EVP_PKEY *pub;              /* the new CA's public key */
	X509 *issuer;               /* NULL: a root, self-signed (by pub's own private key) */
	struct sk_certsigner signer;    /* the root's own key, or the issuer's */
	int path_len;               /* -1: none */
	int64_t not_before, not_after;
	const EVP_MD *md;
	const ASN1_INTEGER *serial; /* NULL: 127 random bits */
};
/* SK_EVERIFY when the signer's key is not the root's or the issuer's, the
 * issuer is not a CA or its path length leaves no room for another CA;
 * SK_EUSAGE for a validity that ends before it begins. */
int sk_ca_make(const struct sk_ca_new *r, X509 **out);

#endif
