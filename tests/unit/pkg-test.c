/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the package-format layer (src/format/pkg.c) on its own, for the
 * parts the payload command does not reach: plain in-memory packages
 * (sk_pkg_make / sk_pkg_parse / sk_pkg_verify) as opaque-key, oo and stp
 * use them, strict DER decoding, algorithm identifiers.  Run by
 * tests/20-payload.bats; prints "ok N - what" lines and exits non-zero on
 * the first failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "format/pkg.h"
#include "check.h"


/* A body as another format would define it. */
typedef struct {
	ASN1_UTF8STRING *name;
	ASN1_INTEGER *seq;
} TEST_BODY;

ASN1_SEQUENCE(TEST_BODY) = {
	ASN1_SIMPLE(TEST_BODY, name, ASN1_UTF8STRING),
	ASN1_SIMPLE(TEST_BODY, seq, ASN1_INTEGER),
} static_ASN1_SEQUENCE_END(TEST_BODY)

DECLARE_ASN1_FUNCTIONS(TEST_BODY)
IMPLEMENT_ASN1_FUNCTIONS(TEST_BODY)

static void make_body(struct sk_buf *out)
{
	TEST_BODY *b = TEST_BODY_new();

	ASN1_STRING_set(b->name, "ca-2026", -1);
	ASN1_INTEGER_set(b->seq, 42);
	sk_asn1_encode(ASN1_ITEM_rptr(TEST_BODY), b, out);
	TEST_BODY_free(b);
}

static struct sk_signer signer_of(EVP_PKEY *k)
{
	struct sk_signer s;

	memset(&s, 0, sizeof(s));
	EVP_PKEY_up_ref(k);
	s.pkey = k;
	s.md = EVP_sha256();
	snprintf(s.what, sizeof(s.what), "test key");
	sk_pkey_fingerprint(k, s.fpr);
	return s;
}

static void test_roundtrip(EVP_PKEY *key, EVP_PKEY *other, const char *label, int pss)
{
	static const char *const mds[] = { "sha1", "sha224", "sha256", "sha384", "sha512" };
	char what[128];
	size_t i;

	for (i = 0; i < sizeof(mds) / sizeof(mds[0]); i++) {
		struct sk_signer s = signer_of(key);
		struct sk_verifier v, w;
		struct sk_buf body = { 0 }, der = { 0 };
		struct sk_pkg p;
		TEST_BODY *b = NULL;

		make_body(&body);
		snprintf(what, sizeof(what), "%s %s%s: make, parse, verify, decode body", label,
			 mds[i], pss ? " pss" : "");
		CHECK(sk_signer_set_md(&s, sk_md_by_name(mds[i], 0), pss) == SK_OK, what);
		CHECK(sk_pkg_make(SK_PKG_STP, 1, body.p, body.len, &s, &der) == SK_OK, what);
		CHECK(sk_pkg_parse(der.p, der.len, SK_PKG_STP, 1, &p) == SK_OK, what);
		CHECK(p.version == 1 && p.has_signer && strcmp(p.signer_hex, s.fpr) == 0, what);
		CHECK(EVP_MD_get_type(p.md) == EVP_MD_get_type(s.md) && p.pss == pss, what);
		CHECK(sk_verifier_from_pkey(&v, key, "the right key") == SK_OK, what);
		CHECK(sk_pkg_verify(&p, &v) == SK_OK, what);
		CHECK(sk_asn1_decode(ASN1_ITEM_rptr(TEST_BODY), p.body, p.bodylen, "body",
				     (void **)&b) == SK_OK && ASN1_INTEGER_get(b->seq) == 42, what);
		snprintf(what, sizeof(what), "%s %s%s: another key is refused", label, mds[i],
			 pss ? " pss" : "");
		CHECK(sk_verifier_from_pkey(&w, other, "another key") == SK_OK, what);
		CHECK(sk_pkg_verify(&p, &w) == SK_EVERIFY, what);
		TEST_BODY_free(b);
		sk_pkg_free(&p);
		snprintf(what, sizeof(what), "%s %s%s: read as another type: refused", label,
			 mds[i], pss ? " pss" : "");
		CHECK(sk_pkg_parse(der.p, der.len, SK_PKG_OPAQUE_KEY, 1, &p) == SK_EVERIFY &&
			      strstr(sk_err_msg(), "an STP, not an opaque key"),
		      what);
		sk_verifier_free(&v);
		sk_verifier_free(&w);
		sk_signer_free(&s);
		sk_buf_free(&body);
		sk_buf_free(&der);
	}
}

/* Every single-bit change of a package is refused by parse or verify. */
static void test_bitflips(EVP_PKEY *key)
{
	struct sk_signer s = signer_of(key);
	struct sk_buf body = { 0 }, der = { 0 };
	struct sk_verifier v;
	size_t i, bad = 0;
	int b;

	make_body(&body);
	CHECK(sk_pkg_make(SK_PKG_OOID, 1, body.p, body.len, &s, &der) == SK_OK, "bit flips: make");
	CHECK(sk_verifier_from_pkey(&v, key, "key") == SK_OK, "bit flips: verifier");
	for (i = 0; i < der.len; i++) {
		for (b = 0; b < 8; b++) {
			struct sk_pkg p;
			int rc;

			der.p[i] ^= (uint8_t)(1 << b);
			rc = sk_pkg_parse(der.p, der.len, SK_PKG_OOID, 1, &p);
			if (rc == SK_OK) {
				rc = sk_pkg_verify(&p, &v);
				sk_pkg_free(&p);
			}
			if (rc != SK_EVERIFY)
				bad++;
			der.p[i] ^= (uint8_t)(1 << b);
		}
	}
	CHECK(bad == 0, "bit flips: every one of them is refused with SK_EVERIFY");
	{
		struct sk_pkg p;
		size_t len;

		for (len = 0, bad = 0; len < der.len; len++) {
			if (sk_pkg_parse(der.p, len, SK_PKG_OOID, 1, &p) != SK_EVERIFY)
				bad++;
		}
		CHECK(bad == 0, "truncation at every length is refused");
		sk_buf_add(&der, "", 1);
		CHECK(sk_pkg_parse(der.p, der.len, SK_PKG_OOID, 1, &p) == SK_EVERIFY,
		      "a trailing byte is refused");
	}
	sk_verifier_free(&v);
	sk_signer_free(&s);
	sk_buf_free(&body);
	sk_buf_free(&der);
}

static void test_versions(EVP_PKEY *key)
{
	struct sk_signer s = signer_of(key);
	struct sk_buf body = { 0 }, der = { 0 };
	struct sk_pkg p;

	make_body(&body);
	CHECK(sk_pkg_make(SK_PKG_STP, 2, body.p, body.len, &s, &der) == SK_OK, "version 2: make");
	CHECK(sk_pkg_parse(der.p, der.len, SK_PKG_STP, 1, &p) == SK_EVERIFY,
	      "version 2 refused by a reader of version 1");
	CHECK(sk_pkg_parse(der.p, der.len, SK_PKG_STP, 2, &p) == SK_OK && p.version == 2,
	      "version 2 accepted by a reader of versions 1..2");
	sk_pkg_free(&p);
	sk_buf_free(&der);
	CHECK(sk_pkg_make(SK_PKG_STP, 1, (const uint8_t *)"\x04\x01x", 3, &s, &der) != SK_OK,
	      "a body that is not a SEQUENCE is refused");
	sk_signer_free(&s);
	sk_buf_free(&body);
	sk_buf_free(&der);
}

static void test_strict_der(void)
{
	/* TEST_BODY { "a", 1 } in DER, then with a long-form length. */
	static const uint8_t good[] = { 0x30, 0x06, 0x0c, 0x01, 'a', 0x02, 0x01, 0x01 };
	static const uint8_t longlen[] = { 0x30, 0x81, 0x06, 0x0c, 0x01, 'a', 0x02, 0x01, 0x01 };
	static const uint8_t indef[] = { 0x30, 0x80, 0x0c, 0x01, 'a', 0x02, 0x01, 0x01, 0, 0 };
	static const uint8_t padint[] = { 0x30, 0x07, 0x0c, 0x01, 'a', 0x02, 0x02, 0x00, 0x01 };
	TEST_BODY *b = NULL;

	CHECK(sk_asn1_decode(ASN1_ITEM_rptr(TEST_BODY), good, sizeof(good), "t", (void **)&b) == SK_OK,
	      "strict DER: canonical input decodes");
	TEST_BODY_free(b);
	CHECK(sk_asn1_decode(ASN1_ITEM_rptr(TEST_BODY), longlen, sizeof(longlen), "t", (void **)&b) == SK_EVERIFY,
	      "strict DER: non-minimal length refused");
	CHECK(sk_asn1_decode(ASN1_ITEM_rptr(TEST_BODY), indef, sizeof(indef), "t", (void **)&b) == SK_EVERIFY,
	      "strict DER: indefinite length refused");
	CHECK(sk_asn1_decode(ASN1_ITEM_rptr(TEST_BODY), padint, sizeof(padint), "t", (void **)&b) == SK_EVERIFY,
	      "strict DER: padded INTEGER refused");
	CHECK(sk_asn1_decode(ASN1_ITEM_rptr(TEST_BODY), good, sizeof(good) - 1, "t", (void **)&b) == SK_EVERIFY,
	      "strict DER: truncated input refused");
}

/* The one encoding of each digest identifier (docs/formats/README.md):
 * parameters absent, NULL for md5; the other form is refused. */
static void test_mdalg_encodings(void)
{
	static const struct {
		const char *name;
		const char *der; /* hex */
	} want[] = {
		{ "md5", "300c06082a864886f70d02050500" },
		{ "sha1", "300706052b0e03021a" },
		{ "sha224", "300b0609608648016503040204" },
		{ "sha256", "300b0609608648016503040201" },
		{ "sha384", "300b0609608648016503040202" },
		{ "sha512", "300b0609608648016503040203" },
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const EVP_MD *md = sk_md_by_name(want[i].name, 1), *got;
		X509_ALGOR *a = NULL, *other = NULL;
		unsigned char *der = NULL;
		char hex[64] = "", what[96];
		int len, ptype;

		snprintf(what, sizeof(what), "%s identifier is %s", want[i].name, want[i].der);
		CHECK(md != NULL && sk_mdalg_make(md, &a) == SK_OK &&
			      (len = i2d_X509_ALGOR(a, &der)) > 0 && (size_t)len * 2 < sizeof(hex), what);
		sk_hex(hex, der, (size_t)len);
		CHECK(strcmp(hex, want[i].der) == 0 && sk_mdalg_parse(a, &got) == SK_OK &&
			      EVP_MD_get_type(got) == EVP_MD_get_type(md), what);
		X509_ALGOR_get0(NULL, &ptype, NULL, a);
		other = X509_ALGOR_new();
		X509_ALGOR_set0(other, OBJ_nid2obj(EVP_MD_get_type(md)),
				ptype == V_ASN1_NULL ? V_ASN1_UNDEF : V_ASN1_NULL, NULL);
		snprintf(what, sizeof(what), "%s with %s parameters is refused", want[i].name,
			 ptype == V_ASN1_NULL ? "absent" : "NULL");
		CHECK(sk_mdalg_parse(other, &got) == SK_EVERIFY, what);
		OPENSSL_free(der);
		X509_ALGOR_free(a);
		X509_ALGOR_free(other);
	}
}

static void test_algs(EVP_PKEY *ec, EVP_PKEY *rsa)
{
	X509_ALGOR *a = NULL;
	const EVP_MD *md;
	const char *fam;
	char d[96];
	int pss;
	ASN1_OBJECT *o = sk_oid("1.1");
	uint8_t hdr[10];

	CHECK(sk_sigalg_make(ec, EVP_md5(), 0, &a) == SK_EUNSUPP, "no identifier for ECDSA with md5");
	CHECK(sk_sigalg_make(ec, EVP_sha256(), 1, &a) == SK_EUNSUPP, "no PSS with an EC key");
	CHECK(sk_sigalg_make(rsa, EVP_sha384(), 1, &a) == SK_OK, "RSA-PSS sha384 identifier");
	CHECK(sk_sigalg_parse(a, &md, &pss, &fam) == SK_OK && pss && !strcmp(fam, "RSA") &&
		      EVP_MD_get_type(md) == NID_sha384, "RSA-PSS identifier parses back");
	sk_sigalg_describe(a, d, sizeof(d));
	CHECK(strcmp(d, "rsassa-pss(sha384,mgf1-sha384,salt=48)") == 0, "RSA-PSS described");
	X509_ALGOR_free(a);
	CHECK(sk_sigalg_make(ec, EVP_sha512(), 0, &a) == SK_OK, "ecdsa-with-SHA512 identifier");
	sk_sigalg_describe(a, d, sizeof(d));
	CHECK(strcmp(d, "ecdsa-with-SHA512") == 0, "ecdsa-with-SHA512 described");
	X509_ALGOR_free(a);
	CHECK(sk_mdalg_make(EVP_sha224(), &a) == SK_OK && sk_mdalg_parse(a, &md) == SK_OK &&
		      EVP_MD_get_type(md) == NID_sha224, "digest identifier round trip");
	X509_ALGOR_free(a);
	test_mdalg_encodings();
	CHECK(o != NULL && sk_oid_is(o, "1.1") && !sk_oid_is(o, "1.2"), "project OIDs");
	sk_oid_text(o, d, sizeof(d));
	CHECK(strcmp(d, SK_OID_ARC ".1.1") == 0, "project OID text");
	ASN1_OBJECT_free(o);
	CHECK(sk_der_header(0x04, 0, hdr) == 2 && sk_der_header(0x04, 127, hdr) == 2 &&
		      sk_der_header(0x04, 128, hdr) == 3 && hdr[1] == 0x81 && hdr[2] == 0x80 &&
		      sk_der_header(0x30, 1ull << 32, hdr) == 7 && hdr[1] == 0x85,
	      "DER length octets");
}

int main(void)
{
	EVP_PKEY *ec, *ec2, *rsa, *rsa2;

	sk_crypto_init();
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ec2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	rsa2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	CHECK(ec && ec2 && rsa && rsa2, "test keys");
	test_roundtrip(ec, ec2, "ec-p256", 0);
	test_roundtrip(ec2, rsa, "ec-p384", 0);
	test_roundtrip(rsa, rsa2, "rsa-2048", 0);
	test_roundtrip(rsa, ec, "rsa-2048", 1);
	test_bitflips(ec);
	test_versions(ec);
	test_strict_der();
	test_algs(ec, rsa);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec2);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rsa2);
	printf("1..%d\n", n);
	return 0;
}
