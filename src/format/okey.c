/* SPDX-License-Identifier: MIT */
/* Opaque key packages (okey.h, docs/formats/opaque-key.md). */
#include "format/okey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "base/fileio.h"
#include "keys/keys.h"
#include "format/oo.h"

#define CONTEXT "opaque-key"
#define PKG_MAX (1u << 20)
/* NIST "aes" arc (RFC 3565): an AES key of the length of keyData. */
#define OID_AES "2.16.840.1.101.3.4.1"

typedef struct {
	ASN1_OCTET_STRING *device;
	SK_ECIES *envelope;
} SK_OKEY_BODY;
DECLARE_ASN1_FUNCTIONS(SK_OKEY_BODY)
ASN1_SEQUENCE(SK_OKEY_BODY) = {
	ASN1_SIMPLE(SK_OKEY_BODY, device, ASN1_OCTET_STRING),
	ASN1_SIMPLE(SK_OKEY_BODY, envelope, SK_ECIES),
} ASN1_SEQUENCE_END(SK_OKEY_BODY)
IMPLEMENT_ASN1_FUNCTIONS(SK_OKEY_BODY)

typedef struct {
	ASN1_UTF8STRING *name;
	ASN1_OBJECT *type;
	ASN1_OCTET_STRING *data;
} SK_OKEY_CONTENT;
DECLARE_ASN1_FUNCTIONS(SK_OKEY_CONTENT)
ASN1_SEQUENCE(SK_OKEY_CONTENT) = {
	ASN1_SIMPLE(SK_OKEY_CONTENT, name, ASN1_UTF8STRING),
	ASN1_SIMPLE(SK_OKEY_CONTENT, type, ASN1_OBJECT),
	ASN1_SIMPLE(SK_OKEY_CONTENT, data, ASN1_OCTET_STRING),
} ASN1_SEQUENCE_END(SK_OKEY_CONTENT)
IMPLEMENT_ASN1_FUNCTIONS(SK_OKEY_CONTENT)

static void content_free(SK_OKEY_CONTENT *c)
{
	if (c != NULL && c->data != NULL && c->data->data != NULL)
		OPENSSL_cleanse(c->data->data, (size_t)c->data->length);
	SK_OKEY_CONTENT_free(c);
}

/* keyType: the curve (EC), rsaEncryption, aes (RFC 3565), hmacWithSHA*. */
static ASN1_OBJECT *type_oid(const struct sk_keytype *kt)
{
	switch (kt->kind) {
	case SK_KIND_EC:
		return OBJ_nid2obj(OBJ_sn2nid(kt->group));
	case SK_KIND_RSA:
		return OBJ_nid2obj(NID_rsaEncryption);
	case SK_KIND_AES:
		return OBJ_txt2obj(OID_AES, 1);
	case SK_KIND_HMAC:
		return OBJ_nid2obj(kt->bits == 256 ? NID_hmacWithSHA256 :
				   kt->bits == 384 ? NID_hmacWithSHA384 : NID_hmacWithSHA512);
	}
	return NULL;
}

/* The key type a keyType OID and key data length name (NULL: none). */
static const struct sk_keytype *type_from(const ASN1_OBJECT *o, size_t datalen)
{
	ASN1_OBJECT *aes = OBJ_txt2obj(OID_AES, 1);
	int nid = OBJ_obj2nid(o), is_aes = aes != NULL && OBJ_cmp(o, aes) == 0;
	size_t i;

	ASN1_OBJECT_free(aes);
	for (i = 0; i < sk_nkeytypes; i++) {
		const struct sk_keytype *kt = &sk_keytypes[i];

		switch (kt->kind) {
		case SK_KIND_EC:
			if (nid != NID_undef && nid == OBJ_sn2nid(kt->group))
				return kt;
			break;
		case SK_KIND_RSA:
			if (nid == NID_rsaEncryption)
				return kt; /* the size is checked on the key itself */
			break;
		case SK_KIND_AES:
			if (is_aes && datalen == sk_keytype_raw_len(kt))
				return kt;
			break;
		case SK_KIND_HMAC:
			if ((nid == NID_hmacWithSHA256 && kt->bits == 256) ||
			    (nid == NID_hmacWithSHA384 && kt->bits == 384) ||
			    (nid == NID_hmacWithSHA512 && kt->bits == 512))
				return datalen == sk_keytype_raw_len(kt) ? kt : NULL;
			break;
		}
	}
	return NULL;
}

/* The plaintext of the envelope: SK_OKEY_CONTENT (secret). */
static int okey_content(const struct sk_okey_make_req *r, struct sk_buf *plain)
{
	SK_OKEY_CONTENT *c = SK_OKEY_CONTENT_new();
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	struct sk_buf p8der = { 0 };
	unsigned char *der = NULL;
	int len = 0, rc;

	if (c == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto out;
	}
	if (sk_keytype_is_asym(r->type) && r->enc != NULL) {
		/* PKCS #8 PrivateKeyInfo, as OpenSSL writes it (keyenc.h) */
		if ((rc = sk_keyenc_pkcs8(r->enc, r->key, &p8der)) != SK_OK)
			goto out;
		der = p8der.p;
		len = (int)p8der.len;
	} else if (sk_keytype_is_asym(r->type)) {
		/* PKCS #8 PrivateKeyInfo: self-describing, what every tool reads */
		if ((p8 = EVP_PKEY2PKCS8(r->key)) == NULL ||
		    (len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0) {
			rc = sk_err_ssl(SK_EFAIL, "encoding the private key");
			goto out;
		}
	}
	ASN1_OBJECT_free(c->type);
	if (!ASN1_STRING_set(c->name, r->name, (int)strlen(r->name)) ||
	    (c->type = type_oid(r->type)) == NULL ||
	    !ASN1_OCTET_STRING_set(c->data, der ? der : r->raw, der ? len : (int)r->rawlen)) {
		rc = sk_err_ssl(SK_EFAIL, "encoding the key");
		goto out;
	}
	rc = sk_asn1_encode(ASN1_ITEM_rptr(SK_OKEY_CONTENT), c, plain);
out:
	if (der != NULL && der != p8der.p)
		OPENSSL_clear_free(der, (size_t)len);
	sk_buf_cleanse_free(&p8der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	content_free(c);
	return rc;
}

int sk_okey_make(const struct sk_okey_make_req *r, struct sk_buf *out)
{
	struct sk_ecies_sender *s = NULL;
	struct sk_buf own = { 0 }, env = { 0 }, body = { 0 };
	struct sk_buf *plain = r->plain != NULL ? r->plain : &own;
	uint8_t hdr[10];
	size_t h, len;
	int rc;

	if (!sk_name_valid(r->name))
		return sk_err(SK_EUSAGE, "'%s' is not a valid key name (letters, digits, '.', '_', '@', '+', '-')",
			      r->name);
	if ((plain->len == 0 && (rc = okey_content(r, plain)) != SK_OK) ||
	    (r->sender == NULL && (rc = sk_ecies_sender_new(&r->alg, &s)) != SK_OK) ||
	    (rc = sk_ecies_seal_der(r->sender ? r->sender : s, r->device_pub, CONTEXT, plain->p,
				    plain->len, &env)) != SK_OK)
		goto out;
	/* SK_OKEY_BODY as the template writes it: the device id (an OCTET
	 * STRING of 32 bytes), then the envelope */
	len = 2 + 32 + env.len;
	h = sk_der_header(0x30, len, hdr);
	if ((rc = sk_buf_reserve(&body, h + len)) != SK_OK)
		goto out;
	sk_buf_add(&body, hdr, h);
	sk_buf_add(&body, "\x04\x20", 2);
	sk_buf_add(&body, r->device_id, 32);
	sk_buf_add(&body, env.p, env.len);
	rc = sk_pkg_make(SK_PKG_OPAQUE_KEY, 1, body.p, body.len, r->signer, out);
out:
	sk_ecies_sender_free(s);
	sk_buf_cleanse_free(&own);
	sk_buf_free(&env);
	sk_buf_free(&body);
	return rc;
}

static int body_of(const struct sk_pkg *p, SK_OKEY_BODY **out)
{
	SK_OKEY_BODY *b = NULL;
	int rc = sk_asn1_decode(ASN1_ITEM_rptr(SK_OKEY_BODY), p->body, p->bodylen,
				"opaque key package body", (void **)&b);

	if (rc != SK_OK)
		return rc;
	if (ASN1_STRING_length(b->device) != 32) {
		SK_OKEY_BODY_free(b);
		return sk_err(SK_EVERIFY, "opaque key package: malformed device id");
	}
	*out = b;
	return SK_OK;
}

int sk_okey_describe(const uint8_t *der, size_t n, struct sk_okey_desc *d)
{
	SK_OKEY_BODY *b = NULL;
	struct sk_pkg p;
	int rc;

	memset(d, 0, sizeof(*d));
	if ((rc = sk_pkg_parse(der, n, SK_PKG_OPAQUE_KEY, 1, &p)) != SK_OK)
		return rc;
	d->version = p.version;
	snprintf(d->signer, sizeof(d->signer), "%s", p.signer_hex);
	sk_sigalg_describe(p.sigalg, d->sigalg, sizeof(d->sigalg));
	if ((rc = body_of(&p, &b)) == SK_OK) {
		sk_hex(d->device, ASN1_STRING_get0_data(b->device), 32);
		rc = sk_ecies_describe(b->envelope, &d->alg, d->curve);
	}
	SK_OKEY_BODY_free(b);
	sk_pkg_free(&p);
	return rc;
}

/* The packaged key, checked against its declared type. */
static int unpack(const SK_OKEY_CONTENT *c, char name[256], const struct sk_keytype **kt,
		  EVP_PKEY **pkey)
{
	const uint8_t *data = ASN1_STRING_get0_data(c->data);
	size_t dlen = (size_t)ASN1_STRING_length(c->data);
	int nlen = ASN1_STRING_length(c->name);

	*pkey = NULL;
	if (nlen < 1 || nlen > 255 || memchr(ASN1_STRING_get0_data(c->name), 0, (size_t)nlen))
		return sk_err(SK_EVERIFY, "opaque key: malformed key name");
	memcpy(name, ASN1_STRING_get0_data(c->name), (size_t)nlen);
	name[nlen] = '\0';
	if (!sk_name_valid(name))
		return sk_err(SK_EVERIFY, "opaque key: '%s' is not a valid key name", name);
	if ((*kt = type_from(c->type, dlen)) == NULL)
		return sk_err(SK_EVERIFY, "opaque key '%s': unsupported key type or wrong key length",
			      name);
	if (sk_keytype_is_asym(*kt)) {
		const unsigned char *q = data;
		PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, (long)dlen);
		const struct sk_keytype *actual;

		if (p8 == NULL || q != data + dlen || (*pkey = EVP_PKCS82PKEY(p8)) == NULL) {
			PKCS8_PRIV_KEY_INFO_free(p8);
			ERR_clear_error();
			return sk_err(SK_EVERIFY, "opaque key '%s': malformed private key", name);
		}
		PKCS8_PRIV_KEY_INFO_free(p8);
		if (sk_pkey_check_pair(*pkey) != SK_OK) {
			EVP_PKEY_free(*pkey);
			*pkey = NULL;
			return sk_err_wrap(SK_EVERIFY, "opaque key '%s'", name);
		}
		actual = sk_keytype_of_pkey(*pkey);
		if (actual == NULL || actual->kind != (*kt)->kind ||
		    (actual->kind == SK_KIND_EC && actual != *kt)) {
			EVP_PKEY_free(*pkey);
			*pkey = NULL;
			return sk_err(SK_EVERIFY, "opaque key '%s': the key does not match its declared type",
				      name);
		}
		*kt = actual;
	}
	return SK_OK;
}

int sk_okey_import(struct sk_ctx *ctx, struct sk_okey_import_req *r, char name[256],
		   const struct sk_keytype **type)
{
	struct sk_buf der = { 0 }, plain = { 0 };
	struct sk_verifier v;
	struct sk_pkg p;
	struct sk_key *dk = NULL;
	SK_OKEY_BODY *b = NULL;
	SK_OKEY_CONTENT *c = NULL;
	struct sk_key_new req;
	EVP_PKEY *pkey = NULL;
	int rc;

	memset(&v, 0, sizeof(v));
	memset(&p, 0, sizeof(p));
	name[0] = '\0';
	r->missing = SK_ROLE_COUNT;
	if ((rc = sk_read_file(r->path, PKG_MAX, &der)) != SK_OK)
		goto out;
	if ((rc = sk_pkg_parse(der.p, der.len, SK_PKG_OPAQUE_KEY, 1, &p)) != SK_OK ||
	    (rc = sk_oem_verifier(ctx, r->verify_key, &v, &r->missing)) != SK_OK ||
	    (rc = sk_pkg_verify(&p, &v)) != SK_OK || (rc = body_of(&p, &b)) != SK_OK) {
		sk_err_wrap(rc, "%s", sk_path_name(r->path));
		goto out;
	}
	if ((rc = sk_device_key_open(ctx, r->device_key, r->device_pass, &dk, &r->missing)) != SK_OK)
		goto out;
	if ((rc = sk_device_check(dk, ASN1_STRING_get0_data(b->device), 32)) != SK_OK ||
	    (rc = sk_ecies_open(dk, b->envelope, CONTEXT, &plain, NULL)) != SK_OK ||
	    (rc = sk_asn1_decode(ASN1_ITEM_rptr(SK_OKEY_CONTENT), plain.p, plain.len,
				 "opaque key content", (void **)&c)) != SK_OK ||
	    (rc = unpack(c, name, type, &pkey)) != SK_OK) {
		sk_err_wrap(rc, "%s", sk_path_name(r->path));
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.name = name;
	req.type = *type;
	req.flags = 0; /* never exportable: it came in opaque and stays so */
	req.pwobj = r->pwobj;
	req.pass_spec = r->pass_spec;
	req.origin = "opaque-key";
	if (pkey != NULL) {
		req.pkey = pkey;
	} else {
		req.raw = ASN1_STRING_get0_data(c->data);
		req.rawlen = (size_t)ASN1_STRING_length(c->data);
	}
	rc = sk_key_import(ctx, &req);
out:
	EVP_PKEY_free(pkey);
	content_free(c);
	SK_OKEY_BODY_free(b);
	sk_key_close(dk);
	sk_verifier_free(&v);
	sk_pkg_free(&p);
	sk_buf_cleanse_free(&plain);
	sk_buf_free(&der);
	return rc;
}
