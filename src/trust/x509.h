/* SPDX-License-Identifier: MIT */
#ifndef SK_X509_H
#define SK_X509_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "base/util.h"

/*
 * Certificate and CSR helpers shared by cert, stp, provision (and any
 * command that takes a certificate file): parsing PEM or DER, the few
 * fields we print, and writing them out.
 */

/* Largest certificate or CSR accepted (a certificate is a few KiB). */
#define SK_X509_MAX (256u << 10)

/* Parse one or more certificates: PEM (every CERTIFICATE block, in order)
 * or DER (exactly one, no trailing bytes).  what names the input in errors.
 * SK_EVERIFY when the data is not a certificate. */
int sk_x509_parse(const uint8_t *p, size_t n, const char *what, STACK_OF(X509) **out);
/* The same from a file ("-" = stdin). */
int sk_x509_load(const char *path, STACK_OF(X509) **out);
/* Exactly the first certificate of a file (others are ignored). */
int sk_x509_load_one(const char *path, X509 **out);
/* One certificate from a buffer (the first if PEM holds several). */
int sk_x509_parse_one(const uint8_t *p, size_t n, const char *what, X509 **out);

/* A CSR, PEM or DER. */
int sk_x509_req_parse(const uint8_t *p, size_t n, const char *what, X509_REQ **out);

int sk_x509_der(X509 *x, struct sk_buf *out);
int sk_x509_req_der(X509_REQ *r, struct sk_buf *out);

/* Write a certificate or CSR atomically to path ("-" = stdout), PEM or DER. */
int sk_x509_write(const char *path, X509 *x, int der);
/* PEM or DER of x appended to out. */
int sk_x509_encode(X509 *x, int der, struct sk_buf *out);
int sk_x509_req_write(const char *path, X509_REQ *r, int der);

/* Display helpers: a name as "CN=a,O=b" (RFC 2253 order, UTF-8), the
 * serial in upper-case hex as openssl prints it, the SHA-256 of the DER in
 * lower-case hex, and an ASN.1 time as seconds since the epoch. */
void sk_x509_name_str(const X509_NAME *name, char *buf, size_t len);
void sk_x509_serial_str(const ASN1_INTEGER *serial, char *buf, size_t len);
int sk_x509_fingerprint(X509 *x, char hex[65]);
int sk_asn1_time_epoch(const ASN1_TIME *t, int64_t *out);

/* The X509_PURPOSE index of a purpose short name (as X509_PURPOSE_get_by_sname),
 * -1 when unknown.  "codesign" is known even on OpenSSL 3.0, which has no
 * code-signing purpose of its own: it is registered on first use (leaf:
 * extendedKeyUsage, when present, allows codeSigning; keyUsage, when
 * present, allows digitalSignature; CAs: a CA whose extendedKeyUsage, when
 * present, allows codeSigning). */
int sk_x509_purpose_index(const char *sname);

/* Parse "/CN=x/O=y" (the openssl -subj form; '\' escapes '/', '+' and
 * '\'; '+' joins attributes into one multi-valued RDN) into a name. */
int sk_x509_name_parse(const char *s, X509_NAME **out);

/* What `cert show` prints of a certificate (x509_info.c).  Lists are
 * NULL-terminated arrays of strings; names are snake_case machine values
 * ("digital_signature", "client_auth"), an extended key usage OpenSSL does
 * not name is its dotted OID, a subjectAltName entry "DNS:a.example",
 * "IP:10.0.0.5", "email:...", "URI:...". */
struct sk_x509_info {
	char subject[512], issuer[512], serial[80], fingerprint[65];
	int64_t not_before, not_after;
	char key_type[32];      /* ec-p256, rsa-2048 ... or OpenSSL's name */
	int key_bits;
	char sig_alg[64];       /* as openssl x509 -text: sha256WithRSAEncryption */
	int is_ca;              /* basicConstraints CA:TRUE */
	long path_len;          /* -1: none */
	int self_signed;
	char ski[130], aki[130];/* hex, "" when absent */
	char **san, **key_usage, **ext_key_usage;
};
int sk_x509_info(X509 *x, struct sk_x509_info *out);
void sk_x509_info_free(struct sk_x509_info *i);

#endif
