/* SPDX-License-Identifier: MIT */
#ifndef SK_PKG_H
#define SK_PKG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/asn1t.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ctx/ctx.h"
#include "base/fileio.h"
#include "keys/keys.h"
#include "base/util.h"

/*
 * The package-format layer shared by every signed package seckit writes
 * (payload, opaque key, opaque object, OOID, STP).  docs/formats/README.md
 * is the normative description; in short, every package is one DER value
 *
 *   Package ::= SEQUENCE {
 *       tbs        PackageHeader,           -- "to be signed"
 *       ...        format-specific elements (payload: the payload OCTET STRING)
 *       signature  OCTET STRING }           -- always the last element
 *
 *   PackageHeader ::= SEQUENCE {
 *       type               OBJECT IDENTIFIER,   -- id-seckit-pkg-*
 *       version            INTEGER,             -- format version, from 1
 *       signatureAlgorithm AlgorithmIdentifier,
 *       signer             [0] IMPLICIT OCTET STRING (SIZE(32)) OPTIONAL,
 *                          -- SHA-256 of the signer's SubjectPublicKeyInfo DER
 *       body               SEQUENCE { ... } }   -- the format's own fields
 *
 * and the signature is computed, with signatureAlgorithm, over the DER
 * bytes of every element before it (tag, length and content of each, in
 * order): for a plain package that is exactly the tbs element.
 *
 * HOW TO USE IT (a small package, e.g. an opaque key or an STP):
 *
 *   make:    encode your body SEQUENCE with your own ASN1_SEQUENCE template
 *            (i2d), then
 *              struct sk_signer s;
 *              sk_signer_from_file(&s, path, pass_spec)   (--sign-key FILE)
 *           or sk_signer_from_key(&s, ctx, name, pass_spec) (a store key)
 *              sk_signer_set_md(&s, md, pss)               (default sha256)
 *              sk_pkg_make(SK_PKG_STP, 1, body, bodylen, &s, &der);
 *              sk_signer_free(&s);
 *   read:    struct sk_pkg p;
 *              sk_pkg_parse(der, n, SK_PKG_STP, 1, &p);   (type + version)
 *              struct sk_verifier v;
 *              sk_verifier_from_key(&v, ctx, name) / _from_pubkey_file /
 *              _from_cert (checked against the CA store) / _from_pkey
 *              sk_pkg_verify(&p, &v);                      (SK_EVERIFY if bad)
 *            then decode p.body/p.bodylen with your template through
 *              sk_asn1_decode(ASN1_ITEM_rptr(MY_BODY), p.body, p.bodylen,
 *                             "opaque key body", (void **)&body);
 *            and finally sk_pkg_free(&p), sk_verifier_free(&v).
 *   show:    sk_pkg_parse() alone (no verification); p.version,
 *            sk_sigalg_describe(p.sigalg), p.has_signer / p.signer.
 *
 * Every failure to parse or verify is SK_EVERIFY (a damaged or forged
 * package is a failed check, CLI.md exit 7) with a message saying what.
 * Formats with bulk content (payload) use the streaming pieces further
 * down: sk_pkg_tbs_encode, sk_signer_sign_digest, sk_der_header,
 * sk_pkg_read_head, sk_der_read_hdr, sk_pkg_verify_digest.
 */

/* The project arc (docs/formats/README.md); never renumber. */
#define SK_OID_ARC "2.25.337553018662316161953456558998501963016"

enum sk_pkg_type {
	SK_PKG_NONE = 0,          /* not a seckit package (sk_pkg_kind) */
	SK_PKG_PAYLOAD = 1,       /* id-seckit.1.1 */
	SK_PKG_OPAQUE_KEY = 2,    /* id-seckit.1.2 */
	SK_PKG_OPAQUE_OBJECT = 3, /* id-seckit.1.3 */
	SK_PKG_OOID = 4,          /* id-seckit.1.4 */
	SK_PKG_STP = 5,           /* id-seckit.1.5 */
};

/* "payload", "opaque-key", "opaque-object", "ooid", "stp"; "unknown"
 * for other values. */
const char *sk_pkg_type_name(enum sk_pkg_type t);

/*
 * What kind of seckit package the first bytes of a file are, from the
 * type OID its header starts with (every kind, the opaque object too,
 * begins SEQUENCE { SEQUENCE { OBJECT IDENTIFIER id-seckit-pkg-* ...);
 * SK_PKG_NONE for anything else.  Nothing after the OID is looked at: a
 * damaged or truncated package still has its kind.  SK_PKG_KIND_PEEK
 * bytes are enough.
 */
#define SK_PKG_KIND_PEEK 48
enum sk_pkg_type sk_pkg_kind(const uint8_t *p, size_t n);
/* A file of kind found where want is expected: SK_OK if they are the
 * same, else SK_EVERIFY with "not a seckit package" or "a payload
 * package, not an STP" (the reader adds the file's name). */
int sk_pkg_want(enum sk_pkg_type found, enum sk_pkg_type want);
/* The same for a stream nothing has read yet: peeks at its first bytes
 * (sk_in_peek), consuming nothing.  *found (if not NULL) gets the kind. */
int sk_pkg_want_in(struct sk_in *in, enum sk_pkg_type want, enum sk_pkg_type *found);
/* "a payload package", "an opaque key", "an opaque object", "an OOID",
 * "an STP" (for messages). */
const char *sk_pkg_kind_phrase(enum sk_pkg_type t);

/* An OID under the project arc: sk_oid("1.1") is id-seckit.1.1.  Returns
 * a new object (ASN1_OBJECT_free) or NULL with the error set. */
ASN1_OBJECT *sk_oid(const char *suffix);
/* 1 if o is id-seckit.<suffix>. */
int sk_oid_is(const ASN1_OBJECT *o, const char *suffix);
/* Dotted text of an OID into buf (for messages and show). */
void sk_oid_text(const ASN1_OBJECT *o, char *buf, size_t n);

/* Largest header (tbs element) and signature a reader accepts. */
#define SK_PKG_TBS_MAX (1u << 20)
#define SK_PKG_SIG_MAX 2048u

/*
 * Strict DER decoding with an OpenSSL ASN.1 template: decodes, re-encodes
 * and insists on getting the input back byte for byte, so BER forms,
 * non-minimal lengths and trailing bytes are all refused and a signature
 * over these bytes can only mean one thing.  *out is a new object of the
 * template's type.  what names the thing in the error (SK_EVERIFY).
 */
int sk_asn1_decode(const ASN1_ITEM *it, const uint8_t *p, size_t n, const char *what,
		   void **out);
/* i2d into a buffer (appends to out). */
int sk_asn1_encode(const ASN1_ITEM *it, const void *val, struct sk_buf *out);

/* ---- algorithm identifiers ---- */

/* 1 if md is a digest a package may name (one seckit knows by name). */
int sk_mdalg_allowed(const EVP_MD *md);
/* Digest AlgorithmIdentifier: parameters absent, except NULL for md5
 * (the one encoding of each, docs/formats/README.md). */
int sk_mdalg_make(const EVP_MD *md, X509_ALGOR **out);
/* The digest of a digest AlgorithmIdentifier; insists on the canonical
 * form.  SK_EVERIFY for unknown or malformed ones. */
int sk_mdalg_parse(const X509_ALGOR *alg, const EVP_MD **md);

/*
 * Signature AlgorithmIdentifier for a key, digest and padding, exactly as
 * OpenSSL writes it (ecdsa-with-SHA*, sha*WithRSAEncryption, or
 * id-RSASSA-PSS with hash = md, MGF1 with md, salt length = digest length,
 * trailer 1).  SK_EUNSUPP for a combination without an identifier (md5
 * with ECDSA, PSS with a non-RSA key).
 */
int sk_sigalg_make(EVP_PKEY *pub, const EVP_MD *md, int pss, X509_ALGOR **out);
/* What a signature AlgorithmIdentifier says: digest, PSS or not, and key
 * family ("EC" or "RSA").  SK_EVERIFY for anything seckit does not write. */
int sk_sigalg_parse(const X509_ALGOR *alg, const EVP_MD **md, int *pss, const char **family);
/* "ecdsa-with-SHA256", "sha256WithRSAEncryption",
 * "rsassa-pss(sha256,mgf1-sha256,salt=32)" or the dotted OID. */
void sk_sigalg_describe(const X509_ALGOR *alg, char *buf, size_t n);

/* ---- signing ---- */

struct sk_signer {
	EVP_PKEY *pkey;       /* a private key from a file, or */
	struct sk_key *key;   /* a named store key (signs in its backend) */
	const EVP_MD *md;     /* default sha256 */
	int pss;              /* RSA-PSS instead of PKCS#1 v1.5 */
	char fpr[65];         /* hex SHA-256 of the signer's SPKI DER */
	char what[300];       /* "key file 'x'" / "key 'x'", for messages */
	/* Optional: where a key-file signer keeps its signing context between
	 * signatures (one thread's copy of the signer; see
	 * sk_signer_worker_copy).  NULL: a new context per signature. */
	struct sk_sign_cache *cache;
	/* A store key: one signature at a time in its backend (a TPM's or a
	 * token's session is not shared by threads); the worker copies share
	 * the original's lock. */
	pthread_mutex_t *lock;
};
struct sk_sign_cache {
	EVP_PKEY_CTX *ctx;
	/* sk_pkg_make: the DER of the header's fields before the body (type,
	 * version, signature algorithm, signer), the same in every package
	 * of head_type and head_version this signer makes */
	struct sk_buf head;
	enum sk_pkg_type head_type;
	long head_version;
};
/* pass_spec: secret spec for an encrypted key file (NULL: none/prompt). */
int sk_signer_from_file(struct sk_signer *s, const char *path, const char *pass_spec);
/* pass_spec: the secret of the key's password object, if it has one. */
int sk_signer_from_key(struct sk_signer *s, struct sk_ctx *ctx, const char *name,
		       const char *pass_spec);
/* The signing key of an off-device maker (seckit(1) SIGNING KEYS): a key
 * file, or a store key by name (any backend; it signs there) -- the name
 * given as name, or as file in the form "seckit:NAME" (SK_SIGNER_URI).
 * pass_spec: the file's passphrase or the key's password-object secret.
 * md (NULL: sha256) and pss as sk_signer_set_md. */
#define SK_SIGNER_URI "seckit:"
int sk_signer_open(struct sk_signer *s, struct sk_ctx *ctx, const char *file, const char *name,
		   const char *pass_spec, const EVP_MD *md, int pss);
/* Choose digest and padding; checks the key can sign with them
 * (SK_EUNSUPP: PSS with EC, md5 with ECDSA ...).  Weak-digest policy (md5
 * needs an insecure flag, sha1 warns) is the command's business. */
int sk_signer_set_md(struct sk_signer *s, const EVP_MD *md, int pss);
/* A copy of s for one worker thread of a batch, keeping its signing
 * context from one signature to the next (OpenSSL fetches the signature
 * method anew for every context, under locks the threads share).  The
 * copy borrows s's key: free it with sk_signer_worker_free before s. */
int sk_signer_worker_copy(const struct sk_signer *s, struct sk_signer *copy);
void sk_signer_worker_free(struct sk_signer *copy);
/* The signer's public key (borrowed). */
EVP_PKEY *sk_signer_pub(const struct sk_signer *s);
/* Sign a digest made with s->md. */
int sk_signer_sign_digest(const struct sk_signer *s, const uint8_t *dgst, size_t dlen,
			  struct sk_buf *sig);
void sk_signer_free(struct sk_signer *s);

/* ---- verifying ---- */

struct sk_verifier {
	EVP_PKEY *pub;        /* a public key (file, certificate), or */
	struct sk_key *key;   /* a named store key (verifies in its backend) */
	char fpr[65];
	char what[300];       /* "key 'oem-payload'", "public key 'x.pem'" ... */
	int allow_md5;        /* accept md5 signatures (insecure flag) */
};
int sk_verifier_from_key(struct sk_verifier *v, struct sk_ctx *ctx, const char *name);
int sk_verifier_from_pubkey_file(struct sk_verifier *v, const char *path);
/* A certificate file (PEM or DER; the first certificate, more PEM blocks
 * are intermediates) checked against the device's CA store and CRL
 * (sk_cert_verify: chain, dates, revocation; purpose NULL or an X509
 * purpose name), then its public key.  SK_EVERIFY if it does not verify. */
int sk_verifier_from_cert(struct sk_verifier *v, struct sk_ctx *ctx, const char *path,
			  const char *purpose);
/* Only the certificate's public key, the certificate itself unchecked
 * (for callers that checked it already). */
int sk_verifier_from_cert_file(struct sk_verifier *v, const char *path);
/* Takes a reference to pub. */
int sk_verifier_from_pkey(struct sk_verifier *v, EVP_PKEY *pub, const char *what);
EVP_PKEY *sk_verifier_pub(const struct sk_verifier *v);
void sk_verifier_free(struct sk_verifier *v);

/* ---- packages ---- */

struct sk_pkg {
	enum sk_pkg_type type;
	long version;
	X509_ALGOR *sigalg;
	const EVP_MD *md;         /* from sigalg */
	int pss;
	const char *family;       /* "EC" / "RSA" */
	int has_signer;
	uint8_t signer[32];
	char signer_hex[65];      /* "" when absent */
	/* Views into raw: */
	const uint8_t *tbs;       /* the whole tbs element (tag .. end) */
	size_t tbslen;
	const uint8_t *body;      /* the body SEQUENCE, tag .. end */
	size_t bodylen;
	const uint8_t *sig;       /* signature octets (sk_pkg_parse only) */
	size_t siglen;
	struct sk_buf raw;        /* owned copy of tbs (and signature) */
};

/* Header (tbs element) for a package: type, version, signature algorithm
 * and signer id from s, body (DER of a SEQUENCE) as given. */
int sk_pkg_tbs_encode(enum sk_pkg_type type, long version, const struct sk_signer *s,
		      const uint8_t *body, size_t bodylen, struct sk_buf *tbs);
/* A complete plain package SEQUENCE { tbs, signature }. */
int sk_pkg_make(enum sk_pkg_type type, long version, const uint8_t *body, size_t bodylen,
		const struct sk_signer *s, struct sk_buf *out);
/* Parse a plain package held in memory: strict DER, type must be type and
 * version 1..max_version.  Does not verify the signature. */
int sk_pkg_parse(const uint8_t *der, size_t n, enum sk_pkg_type type, long max_version,
		 struct sk_pkg *p);
/* Verify a parsed plain package (signature over p->tbs). */
int sk_pkg_verify(const struct sk_pkg *p, const struct sk_verifier *v);
/* Verify a signature over a digest the caller computed with p->md over
 * the signed bytes (streaming formats).  Checks that the signature
 * algorithm fits v's key and, if the package names its signer, that it is
 * v's key. */
int sk_pkg_verify_digest(const struct sk_pkg *p, const struct sk_verifier *v,
			 const uint8_t *dgst, size_t dlen, const uint8_t *sig, size_t siglen);
/* The cheap checks of the above, to fail fast before streaming: the
 * signer id (if present) is v's key, the algorithm fits v's key and is in
 * canonical form, md5 only with v->allow_md5. */
int sk_pkg_precheck(const struct sk_pkg *p, const struct sk_verifier *v);
void sk_pkg_free(struct sk_pkg *p);

/* ---- streaming pieces ---- */

/* DER tag and length octets for a definite length into hdr (<= 10 bytes);
 * returns the header length. */
size_t sk_der_header(uint8_t tag, uint64_t len, uint8_t hdr[10]);
/* Size of a whole TLV with content length len. */
uint64_t sk_der_tlv_size(uint64_t len);

/*
 * Read one tag and length from a stream, DER-strict (definite, minimal
 * length octets, no high tag numbers), expecting tag; the header bytes go
 * to hdr (<= 10 bytes, *hdrlen set).  SK_EVERIFY for a different tag, a
 * length above max or a truncated header; what names the element.
 */
int sk_der_read_hdr(struct sk_in *in, uint8_t tag, uint64_t max, const char *what,
		    uint64_t *len, uint8_t hdr[10], size_t *hdrlen);

/*
 * Read the start of a package from a stream: the outer SEQUENCE header and
 * the tbs element, decoded and checked like sk_pkg_parse (type, version
 * 1..max_version).  *outer_left is the number of bytes of the outer
 * SEQUENCE after the tbs element (the caller reads those).  p->sig is not
 * set.
 */
int sk_pkg_read_head(struct sk_in *in, enum sk_pkg_type type, long max_version,
		     struct sk_pkg *p, uint64_t *outer_left);

#endif
