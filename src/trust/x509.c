/* SPDX-License-Identifier: MIT */
#include "trust/x509.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/err.h"
#include "base/fileio.h"

static int is_pem(const uint8_t *p, size_t n)
{
	/* PEM may follow some text (openssl x509 -text output): look for a
	 * BEGIN line anywhere in the first bytes. */
	size_t lim = n < 65536 ? n : 65536;

	return memmem(p, lim, "-----BEGIN ", 11) != NULL;
}

int sk_x509_parse(const uint8_t *p, size_t n, const char *what, STACK_OF(X509) **out)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x = NULL;
	BIO *b = NULL;
	int rc = SK_OK;

	*out = NULL;
	if (sk == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	if (n > SK_X509_MAX || n > 0x7fffffff) {
		rc = sk_err(SK_EVERIFY, "%s: too large for a certificate", what);
		goto out;
	}
	if (is_pem(p, n)) {
		if ((b = BIO_new_mem_buf(p, (int)n)) == NULL) {
			rc = sk_err_ssl(SK_EFAIL, "%s", what);
			goto out;
		}
		for (;;) {
			unsigned long e;

			x = PEM_read_bio_X509(b, NULL, NULL, NULL);
			if (x == NULL) {
				e = ERR_peek_last_error();
				if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
				    ERR_GET_REASON(e) == PEM_R_NO_START_LINE && sk_X509_num(sk) > 0) {
					ERR_clear_error();
					break;
				}
				rc = sk_err_ssl(SK_EVERIFY, "%s: not a valid PEM certificate", what);
				goto out;
			}
			if (!sk_X509_push(sk, x)) {
				rc = sk_err(SK_EFAIL, "out of memory");
				goto out;
			}
			x = NULL;
		}
	} else {
		const unsigned char *q = p;

		x = d2i_X509(NULL, &q, (long)n);
		if (x == NULL || q != p + n) {
			ERR_clear_error();
			rc = sk_err(SK_EVERIFY, "%s: not a certificate (PEM or DER)", what);
			goto out;
		}
		if (!sk_X509_push(sk, x)) {
			rc = sk_err(SK_EFAIL, "out of memory");
			goto out;
		}
		x = NULL;
	}
	*out = sk;
	sk = NULL;
out:
	X509_free(x);
	BIO_free(b);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

int sk_x509_load(const char *path, STACK_OF(X509) **out)
{
	struct sk_buf b = { 0 };
	char what[300];
	int rc;

	*out = NULL;
	if ((rc = sk_read_file(path, SK_X509_MAX, &b)) != SK_OK) {
		sk_buf_free(&b);
		return rc;
	}
	snprintf(what, sizeof(what), "'%s'", sk_path_name(path));
	rc = sk_x509_parse(b.p, b.len, what, out);
	sk_buf_free(&b);
	return rc;
}

int sk_x509_parse_one(const uint8_t *p, size_t n, const char *what, X509 **out)
{
	STACK_OF(X509) *sk;
	int rc = sk_x509_parse(p, n, what, &sk);

	*out = NULL;
	if (rc != SK_OK)
		return rc;
	*out = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	return SK_OK;
}

int sk_x509_load_one(const char *path, X509 **out)
{
	STACK_OF(X509) *sk;
	int rc = sk_x509_load(path, &sk);

	*out = NULL;
	if (rc != SK_OK)
		return rc;
	*out = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	return SK_OK;
}

int sk_x509_req_parse(const uint8_t *p, size_t n, const char *what, X509_REQ **out)
{
	X509_REQ *r = NULL;

	*out = NULL;
	if (n > SK_X509_MAX || n > 0x7fffffff)
		return sk_err(SK_EVERIFY, "%s: too large for a CSR", what);
	if (is_pem(p, n)) {
		BIO *b = BIO_new_mem_buf(p, (int)n);

		if (b == NULL)
			return sk_err_ssl(SK_EFAIL, "%s", what);
		r = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
		BIO_free(b);
		if (r == NULL)
			return sk_err_ssl(SK_EVERIFY, "%s: not a valid PEM certificate request", what);
	} else {
		const unsigned char *q = p;

		r = d2i_X509_REQ(NULL, &q, (long)n);
		if (r == NULL || q != p + n) {
			X509_REQ_free(r);
			ERR_clear_error();
			return sk_err(SK_EVERIFY, "%s: not a certificate request (PEM or DER)", what);
		}
	}
	*out = r;
	return SK_OK;
}

int sk_x509_der(X509 *x, struct sk_buf *out)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	int rc;

	if (n <= 0)
		return sk_err_ssl(SK_EFAIL, "encoding certificate");
	rc = sk_buf_add(out, der, (size_t)n);
	OPENSSL_free(der);
	return rc;
}

int sk_x509_req_der(X509_REQ *r, struct sk_buf *out)
{
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(r, &der);
	int rc;

	if (n <= 0)
		return sk_err_ssl(SK_EFAIL, "encoding certificate request");
	rc = sk_buf_add(out, der, (size_t)n);
	OPENSSL_free(der);
	return rc;
}

/* PEM or DER of x into path through the atomic writer. */
static int write_obj(const char *path, void *x, int der, int is_req)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int ok, rc;

	if (b == NULL)
		return sk_err_ssl(SK_EFAIL, "writing '%s'", path);
	if (is_req)
		ok = der ? i2d_X509_REQ_bio(b, x) : PEM_write_bio_X509_REQ(b, x);
	else
		ok = der ? i2d_X509_bio(b, x) : PEM_write_bio_X509(b, x);
	if (!ok) {
		BIO_free(b);
		return sk_err_ssl(SK_EFAIL, "encoding '%s'", path);
	}
	len = BIO_get_mem_data(b, &data);
	rc = sk_write_file(path, data, (size_t)len, 0666);
	BIO_free(b);
	return rc;
}

int sk_x509_encode(X509 *x, int der, struct sk_buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int rc;

	if (b == NULL || !(der ? i2d_X509_bio(b, x) : PEM_write_bio_X509(b, x))) {
		BIO_free(b);
		return sk_err_ssl(SK_EFAIL, "encoding the certificate");
	}
	len = BIO_get_mem_data(b, &data);
	rc = sk_buf_add(out, data, (size_t)len);
	BIO_free(b);
	return rc;
}

int sk_x509_write(const char *path, X509 *x, int der)
{
	return write_obj(path, x, der, 0);
}

int sk_x509_req_write(const char *path, X509_REQ *r, int der)
{
	return write_obj(path, r, der, 1);
}

void sk_x509_name_str(const X509_NAME *name, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	buf[0] = '\0';
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~(unsigned long)(XN_FLAG_DN_REV | ASN1_STRFLGS_ESC_MSB)) >= 0) {
		n = BIO_get_mem_data(b, &p);
		if (n >= (long)len)
			n = (long)len - 1;
		memcpy(buf, p, (size_t)n);
		buf[n] = '\0';
	}
	BIO_free(b);
	ERR_clear_error();
}

void sk_x509_serial_str(const ASN1_INTEGER *serial, char *buf, size_t len)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	snprintf(buf, len, "%s", hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
	ERR_clear_error();
}

int sk_x509_fingerprint(X509 *x, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!X509_digest(x, EVP_sha256(), md, &n) || n != 32)
		return sk_err_ssl(SK_EFAIL, "certificate fingerprint");
	sk_hex(hex, md, 32);
	return SK_OK;
}

int sk_asn1_time_epoch(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm)) {
		ERR_clear_error();
		return sk_err(SK_EVERIFY, "malformed time in certificate");
	}
	*out = (int64_t)timegm(&tm);
	return SK_OK;
}

/*
 * OpenSSL has no public parser for the "/type=value/..." subject form that
 * `openssl req -subj` takes (apps/lib keeps it private), so this is a small
 * hand-written one; the attribute types and value encoding are still
 * OpenSSL's (X509_NAME_add_entry_by_txt).
 */
int sk_x509_name_parse(const char *s, X509_NAME **out)
{
	X509_NAME *name = NULL;
	char *buf = NULL, *type, *val;
	size_t n = strlen(s), i, o;
	int rc = SK_OK, set = 0;

	*out = NULL;
	if (n == 0 || s[0] != '/')
		return sk_err(SK_EUSAGE, "subject '%s' must have the form /CN=name/O=org...", s);
	if ((name = X509_NAME_new()) == NULL || (buf = malloc(n + 1)) == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto out;
	}
	i = 1;
	while (i < n) {
		int multi;

		/* type: up to '=' (no escapes in types) */
		type = buf;
		o = 0;
		while (i < n && s[i] != '=' && s[i] != '/' && s[i] != '+')
			buf[o++] = s[i++];
		buf[o++] = '\0';
		if (i >= n || s[i] != '=' || type[0] == '\0') {
			rc = sk_err(SK_EUSAGE, "subject '%s': expected type=value at offset %zu", s, i);
			goto out;
		}
		i++;
		val = buf + o;
		while (i < n && s[i] != '/' && s[i] != '+') {
			if (s[i] == '\\') {
				if (++i >= n) {
					rc = sk_err(SK_EUSAGE, "subject '%s' ends in a lone '\\'", s);
					goto out;
				}
			}
			buf[o++] = s[i++];
		}
		buf[o] = '\0';
		if (val[0] == '\0') {
			rc = sk_err(SK_EUSAGE, "subject '%s': %s has no value", s, type);
			goto out;
		}
		multi = set;
		set = i < n && s[i] == '+';
		if (!X509_NAME_add_entry_by_txt(name, type, MBSTRING_UTF8, (unsigned char *)val, -1,
						-1, multi ? -1 : 0)) {
			rc = sk_err_ssl(SK_EUSAGE, "subject '%s': attribute '%s'", s, type);
			goto out;
		}
		if (i < n)
			i++;
		if (i == n && s[n - 1] == '+') {
			rc = sk_err(SK_EUSAGE, "subject '%s' ends in '+'", s);
			goto out;
		}
	}
	if (X509_NAME_entry_count(name) == 0) {
		rc = sk_err(SK_EUSAGE, "subject '%s' is empty", s);
		goto out;
	}
	*out = name;
	name = NULL;
out:
	free(buf);
	X509_NAME_free(name);
	return rc;
}

/* ---- purposes ---- */

/* RFC 5280 4.2.1.12: anyExtendedKeyUsage allows every purpose. */
static int eku_allows_codesign(X509 *x)
{
	if (!(X509_get_extension_flags(x) & EXFLAG_XKUSAGE))
		return 1;
	return (X509_get_extended_key_usage(x) & (XKU_CODE_SIGN | XKU_ANYEKU)) != 0;
}

/* OpenSSL 3.0's purpose table has no code signing (3.2 added one), and a
 * payload signer's certificate is exactly that; X509_PURPOSE_add lets
 * X509_verify_cert check ours like a built-in one.  OpenSSL's check
 * functions take const X509 but its accessors do not: they only read. */
static int check_codesign(const X509_PURPOSE *xp, const X509 *cx, int ca)
{
	X509 *x = (X509 *)cx;

	(void)xp;
	if (!eku_allows_codesign(x))
		return 0;
	if (ca)
		return X509_check_ca(x) != 0;
	if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE))
		return 0;
	return 1;
}

int sk_x509_purpose_index(const char *sname)
{
	int idx = X509_PURPOSE_get_by_sname(sname);

	if (idx >= 0 || strcmp(sname, "codesign") != 0)
		return idx;
	/* Id past the built-in ones; trust as OpenSSL 3.2 gives its own. */
	if (!X509_PURPOSE_add(X509_PURPOSE_MAX + 1, X509_TRUST_OBJECT_SIGN, 0, check_codesign,
			      "Code signing", "codesign", NULL))
		return -1;
	return X509_PURPOSE_get_by_sname(sname);
}
