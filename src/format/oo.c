/* SPDX-License-Identifier: MIT */
/* Opaque objects, OOInfo and OOIDs (oo.h, docs/formats/opaque-object.md, ooid.md). */
#include "format/oo.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1t.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "base/fileio.h"
#include "keys/keys.h"

#define CHUNK (256u << 10)
#define GCM_TAG 16
#define OOID_MAX (64u << 10)
#define OBJ_HDR_MAX 1024u
#define SUFFIX_OBJECT "1.3"
#define CONTEXT_OOID "ooid"

/* ---- templates ---- */

typedef struct {
	ASN1_OBJECT *type;
	ASN1_INTEGER *version;
	ASN1_OCTET_STRING *object_id;
} SK_OO_HDR;
DECLARE_ASN1_FUNCTIONS(SK_OO_HDR)
ASN1_SEQUENCE(SK_OO_HDR) = {
	ASN1_SIMPLE(SK_OO_HDR, type, ASN1_OBJECT),
	ASN1_SIMPLE(SK_OO_HDR, version, ASN1_INTEGER),
	ASN1_SIMPLE(SK_OO_HDR, object_id, ASN1_OCTET_STRING),
} ASN1_SEQUENCE_END(SK_OO_HDR)
IMPLEMENT_ASN1_FUNCTIONS(SK_OO_HDR)

typedef struct {
	ASN1_INTEGER *version;
	ASN1_OCTET_STRING *object_id;
	X509_ALGOR *cipher;
	ASN1_OCTET_STRING *key;
	ASN1_INTEGER *size;
	ASN1_OCTET_STRING *sha256;
	ASN1_GENERALIZEDTIME *not_before;
	ASN1_GENERALIZEDTIME *not_after;
} SK_OOINFO;
DECLARE_ASN1_FUNCTIONS(SK_OOINFO)
ASN1_SEQUENCE(SK_OOINFO) = {
	ASN1_SIMPLE(SK_OOINFO, version, ASN1_INTEGER),
	ASN1_SIMPLE(SK_OOINFO, object_id, ASN1_OCTET_STRING),
	ASN1_SIMPLE(SK_OOINFO, cipher, X509_ALGOR),
	ASN1_SIMPLE(SK_OOINFO, key, ASN1_OCTET_STRING),
	ASN1_SIMPLE(SK_OOINFO, size, ASN1_INTEGER),
	ASN1_SIMPLE(SK_OOINFO, sha256, ASN1_OCTET_STRING),
	ASN1_IMP_OPT(SK_OOINFO, not_before, ASN1_GENERALIZEDTIME, 0),
	ASN1_IMP_OPT(SK_OOINFO, not_after, ASN1_GENERALIZEDTIME, 1),
} ASN1_SEQUENCE_END(SK_OOINFO)
IMPLEMENT_ASN1_FUNCTIONS(SK_OOINFO)

typedef struct {
	ASN1_OCTET_STRING *device;
	ASN1_OCTET_STRING *object_id;
	SK_ECIES *envelope;
} SK_OOID_BODY;
DECLARE_ASN1_FUNCTIONS(SK_OOID_BODY)
ASN1_SEQUENCE(SK_OOID_BODY) = {
	ASN1_SIMPLE(SK_OOID_BODY, device, ASN1_OCTET_STRING),
	ASN1_SIMPLE(SK_OOID_BODY, object_id, ASN1_OCTET_STRING),
	ASN1_SIMPLE(SK_OOID_BODY, envelope, SK_ECIES),
} ASN1_SEQUENCE_END(SK_OOID_BODY)
IMPLEMENT_ASN1_FUNCTIONS(SK_OOID_BODY)

void sk_ooinfo_cleanse(struct sk_ooinfo *i)
{
	OPENSSL_cleanse(i, sizeof(*i));
}

static ASN1_GENERALIZEDTIME *gtime(int64_t t)
{
	return ASN1_GENERALIZEDTIME_set(NULL, (time_t)t);
}

static int gtime_get(const ASN1_GENERALIZEDTIME *g, int64_t *t)
{
	struct tm tm;

	/* DER GeneralizedTime as we write it: YYYYMMDDHHMMSSZ */
	if (ASN1_STRING_length(g) != 15 || ASN1_STRING_get0_data(g)[14] != 'Z' ||
	    !ASN1_TIME_to_tm(g, &tm)) {
		ERR_clear_error();
		return -1;
	}
	*t = (int64_t)timegm(&tm);
	return 0;
}

/* ---- OOInfo DER ---- */

static int oct_set(ASN1_OCTET_STRING *o, const uint8_t *p, size_t n)
{
	return ASN1_OCTET_STRING_set(o, p, (int)n);
}

static void ooinfo_free(SK_OOINFO *x)
{
	if (x != NULL && x->key != NULL && x->key->data != NULL)
		OPENSSL_cleanse(x->key->data, (size_t)x->key->length);
	SK_OOINFO_free(x);
}

int sk_ooinfo_encode(const struct sk_ooinfo *info, struct sk_buf *der)
{
	SK_OOINFO *x = SK_OOINFO_new();
	unsigned char *p = NULL;
	int len = -1, rc = SK_OK;

	if (x == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	X509_ALGOR_free(x->cipher);
	if (!ASN1_INTEGER_set(x->version, 1) ||
	    !oct_set(x->object_id, info->object_id, SK_OO_ID_LEN) ||
	    (x->cipher = sk_cipher_algor(info->cipher, info->iv)) == NULL ||
	    !oct_set(x->key, info->key, 32) || !ASN1_INTEGER_set_uint64(x->size, info->size) ||
	    !oct_set(x->sha256, info->sha256, 32) ||
	    (info->has_not_before && (x->not_before = gtime(info->not_before)) == NULL) ||
	    (info->has_not_after && (x->not_after = gtime(info->not_after)) == NULL) ||
	    (len = i2d_SK_OOINFO(x, &p)) <= 0) {
		rc = sk_err_ssl(SK_EFAIL, "encoding the OOInfo");
		goto out;
	}
	rc = sk_buf_add(der, p, (size_t)len);
out:
	if (p != NULL)
		OPENSSL_clear_free(p, (size_t)len);
	ooinfo_free(x);
	return rc;
}

int sk_ooinfo_decode(const uint8_t *p, size_t n, struct sk_ooinfo *info)
{
	SK_OOINFO *x = NULL;
	uint8_t iv[16];
	int rc;

	memset(info, 0, sizeof(*info));
	if ((rc = sk_asn1_decode(ASN1_ITEM_rptr(SK_OOINFO), p, n, "OOInfo", (void **)&x)) != SK_OK)
		return rc;
	if (ASN1_INTEGER_get(x->version) != 1) {
		rc = sk_err(SK_EVERIFY, "OOInfo: version %ld is not supported",
			    ASN1_INTEGER_get(x->version));
		goto out;
	}
	if (ASN1_STRING_length(x->object_id) != SK_OO_ID_LEN || ASN1_STRING_length(x->key) != 32 ||
	    ASN1_STRING_length(x->sha256) != 32 || !ASN1_INTEGER_get_uint64(&info->size, x->size)) {
		ERR_clear_error();
		rc = sk_err(SK_EVERIFY, "OOInfo: malformed");
		goto out;
	}
	if ((rc = sk_cipher_algor_parse(x->cipher, &info->cipher, iv)) != SK_OK)
		goto out;
	if (info->cipher == SK_ECIES_AES256_CBC) {
		rc = sk_err(SK_EVERIFY, "OOInfo: objects are AES-256-CTR or AES-256-GCM");
		goto out;
	}
	memcpy(info->iv, iv, 16);
	memcpy(info->object_id, ASN1_STRING_get0_data(x->object_id), SK_OO_ID_LEN);
	memcpy(info->key, ASN1_STRING_get0_data(x->key), 32);
	memcpy(info->sha256, ASN1_STRING_get0_data(x->sha256), 32);
	if (x->not_before != NULL) {
		info->has_not_before = 1;
		if (gtime_get(x->not_before, &info->not_before) != 0)
			rc = sk_err(SK_EVERIFY, "OOInfo: malformed not-before time");
	}
	if (x->not_after != NULL) {
		info->has_not_after = 1;
		if (gtime_get(x->not_after, &info->not_after) != 0)
			rc = sk_err(SK_EVERIFY, "OOInfo: malformed not-after time");
	}
out:
	OPENSSL_cleanse(iv, sizeof(iv));
	ooinfo_free(x);
	if (rc != SK_OK)
		sk_ooinfo_cleanse(info);
	return rc;
}

/* ---- making objects ---- */

/* An unnamed 0600 file in dir (gone when closed): for spooling. */
static int anon_file(const char *dir)
{
	char path[PATH_MAX];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	snprintf(path, sizeof(path), "%s/.seckit-spool.XXXXXX", dir);
	if ((fd = mkostemp(path, O_CLOEXEC)) >= 0)
		unlink(path);
	return fd;
}

/* Copy a spool file, from its start, to dst. */
static int spool_copy(int spool, struct sk_out *dst, uint8_t *buf)
{
	ssize_t r;
	int rc;

	if (lseek(spool, 0, SEEK_SET) != 0)
		return sk_err_sys(SK_EFAIL, "reading the spool file");
	while ((r = sk_read_full(spool, buf, CHUNK)) > 0)
		if ((rc = sk_out_write(dst, buf, (size_t)r)) != SK_OK)
			return rc;
	return r < 0 ? sk_err_sys(SK_EFAIL, "reading the spool file") : SK_OK;
}

static int obj_header(const uint8_t object_id[SK_OO_ID_LEN], uint64_t clen, struct sk_buf *out)
{
	SK_OO_HDR *h = SK_OO_HDR_new();
	uint8_t th[10];
	unsigned char *der = NULL;
	int len = -1, rc;
	size_t n;

	ASN1_OBJECT_free(h ? h->type : NULL);
	if (h == NULL || (h->type = sk_oid(SUFFIX_OBJECT)) == NULL || !ASN1_INTEGER_set(h->version, 1) ||
	    !oct_set(h->object_id, object_id, SK_OO_ID_LEN) || (len = i2d_SK_OO_HDR(h, &der)) <= 0) {
		SK_OO_HDR_free(h);
		return sk_err_ssl(SK_EFAIL, "encoding the object header");
	}
	SK_OO_HDR_free(h);
	n = sk_der_header(0x30, (uint64_t)len + sk_der_tlv_size(clen), th);
	rc = sk_buf_add(out, th, n);
	if (rc == SK_OK)
		rc = sk_buf_add(out, der, (size_t)len);
	n = sk_der_header(0x04, clen, th);
	if (rc == SK_OK)
		rc = sk_buf_add(out, th, n);
	OPENSSL_free(der);
	return rc;
}

static EVP_CIPHER_CTX *obj_cipher(const struct sk_ooinfo *info, int enc)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	const EVP_CIPHER *ciph = info->cipher == SK_ECIES_AES256_GCM ? EVP_aes_256_gcm()
								      : EVP_aes_256_ctr();

	if (c == NULL || EVP_CipherInit_ex(c, ciph, NULL, info->key, info->iv, enc) != 1) {
		EVP_CIPHER_CTX_free(c);
		return NULL;
	}
	return c;
}

/* Read all of src, hashing the clear data and encrypting it to spool (if
 * >= 0) or dst; total: the bytes read. */
static int encrypt_all(struct sk_in *src, EVP_CIPHER_CTX *c, EVP_MD_CTX *md, uint8_t *buf,
		       uint8_t *obuf, int spool, struct sk_out *dst, uint64_t *total)
{
	ssize_t r;
	int len;

	while ((r = sk_in_read(src, buf, CHUNK)) != 0) {
		if (r < 0)
			return SK_EFAIL;
		*total += (uint64_t)r;
		if (EVP_DigestUpdate(md, buf, (size_t)r) != 1 ||
		    EVP_CipherUpdate(c, obuf, &len, buf, (int)r) != 1)
			return sk_err_ssl(SK_EFAIL, "encrypting");
		if (spool >= 0 ? sk_write_all(spool, obuf, (size_t)len) != 0
			       : sk_out_write(dst, obuf, (size_t)len) != SK_OK)
			return spool >= 0 ? sk_err_sys(SK_EFAIL, "writing the spool file") : SK_EFAIL;
	}
	return SK_OK;
}

int sk_oo_make(const char *in, const char *out, enum sk_ecies_cipher cipher,
	       const char *tmpdir, struct sk_ooinfo *info)
{
	struct sk_in src = { .fd = -1 };
	struct sk_out dst = { .fd = -1 };
	struct sk_buf hdr = { 0 };
	EVP_CIPHER_CTX *c = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *buf = malloc(CHUNK), *obuf = malloc(CHUNK + 32), tag[GCM_TAG];
	uint64_t total = 0, size = 0;
	struct stat st;
	int rc, known, spool = -1, len;
	unsigned int dl;

	memset(info, 0, sizeof(*info));
	if (md == NULL || buf == NULL || obuf == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto out;
	}
	if (cipher != SK_ECIES_AES256_CTR && cipher != SK_ECIES_AES256_GCM) {
		rc = sk_err(SK_EUSAGE, "opaque objects are aes-256-ctr or aes-256-gcm");
		goto out;
	}
	info->cipher = cipher;
	if ((rc = sk_random(info->object_id, SK_OO_ID_LEN)) != SK_OK ||
	    (rc = sk_random(info->key, 32)) != SK_OK ||
	    (rc = sk_random(info->iv, sk_cipher_ivlen(cipher))) != SK_OK)
		goto out;
	if ((rc = sk_in_open(&src, in)) != SK_OK)
		goto out;
	known = fstat(src.fd, &st) == 0 && S_ISREG(st.st_mode);
	size = known ? (uint64_t)st.st_size : 0;
	if ((c = obj_cipher(info, 1)) == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		rc = sk_err_ssl(SK_EFAIL, "AES-256");
		goto out;
	}
	if ((rc = sk_out_open(&dst, out, 0666)) != SK_OK)
		goto out;
	if (known) {
		if ((rc = obj_header(info->object_id, size + (cipher == SK_ECIES_AES256_GCM ? GCM_TAG : 0),
				     &hdr)) != SK_OK ||
		    (rc = sk_out_write(&dst, hdr.p, hdr.len)) != SK_OK)
			goto out;
	} else {
		/* The DER header needs the length first: spool the ciphertext
		 * (never the clear data) in an unnamed file. */
		char dir[PATH_MAX];

		if (strcmp(out, "-") == 0)
			snprintf(dir, sizeof(dir), "%s", tmpdir);
		else
			sk_dirname(out, dir, sizeof(dir));
		if ((spool = anon_file(dir)) < 0) {
			rc = sk_err_sys(SK_EFAIL, "creating a spool file in '%s'", dir);
			goto out;
		}
	}
	if ((rc = encrypt_all(&src, c, md, buf, obuf, spool, &dst, &total)) != SK_OK)
		goto out;
	if (known && total != size) {
		rc = sk_err(SK_EFAIL, "'%s' changed size while being read", in);
		goto out;
	}
	if (EVP_CipherFinal_ex(c, obuf, &len) != 1 ||
	    (cipher == SK_ECIES_AES256_GCM &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, GCM_TAG, tag) != 1) ||
	    EVP_DigestFinal_ex(md, info->sha256, &dl) != 1) {
		rc = sk_err_ssl(SK_EFAIL, "encrypting");
		goto out;
	}
	info->size = total;
	if (spool >= 0) {
		if ((rc = obj_header(info->object_id, total + (cipher == SK_ECIES_AES256_GCM ? GCM_TAG : 0),
				     &hdr)) != SK_OK ||
		    (rc = sk_out_write(&dst, hdr.p, hdr.len)) != SK_OK)
			goto out;
		if ((rc = spool_copy(spool, &dst, buf)) != SK_OK)
			goto out;
	}
	if (cipher == SK_ECIES_AES256_GCM && (rc = sk_out_write(&dst, tag, GCM_TAG)) != SK_OK)
		goto out;
	rc = sk_out_commit(&dst);
out:
	if (rc != SK_OK) {
		sk_out_abort(&dst);
		sk_ooinfo_cleanse(info);
	}
	if (spool >= 0)
		close(spool);
	sk_in_close(&src);
	EVP_CIPHER_CTX_free(c);
	EVP_MD_CTX_free(md);
	if (buf != NULL)
		OPENSSL_clear_free(buf, CHUNK);
	if (obuf != NULL)
		OPENSSL_clear_free(obuf, CHUNK + 32);
	sk_buf_free(&hdr);
	return rc;
}

/* ---- reading objects ---- */

/* Read the object's header: its id, and the length of its content. */
static int obj_read_head(struct sk_in *in, const char *path, uint8_t object_id[SK_OO_ID_LEN],
			 uint64_t *clen)
{
	char what[PATH_MAX + 32];
	uint8_t hdr[10], h2[10];
	size_t hlen, h2len;
	uint64_t outer, tlen;
	struct sk_buf b = { 0 };
	SK_OO_HDR *h = NULL;
	ssize_t r;
	int rc;

	if ((rc = sk_pkg_want_in(in, SK_PKG_OPAQUE_OBJECT, NULL)) != SK_OK)
		return sk_err_wrap(rc, "%s", sk_path_name(path));
	snprintf(what, sizeof(what), "%s: opaque object", sk_path_name(path));
	if ((rc = sk_der_read_hdr(in, 0x30, UINT64_MAX >> 2, what, &outer, hdr, &hlen)) != SK_OK ||
	    (rc = sk_der_read_hdr(in, 0x30, OBJ_HDR_MAX, what, &tlen, hdr, &hlen)) != SK_OK)
		return rc;
	if ((rc = sk_buf_reserve(&b, hlen + tlen)) != SK_OK)
		return rc;
	sk_buf_add(&b, hdr, hlen);
	r = sk_in_read(in, b.p + hlen, tlen);
	if (r < 0) {
		rc = SK_EFAIL;
		goto out;
	}
	if ((uint64_t)r != tlen) {
		rc = sk_err(SK_EVERIFY, "%s: truncated", what);
		goto out;
	}
	b.len += tlen;
	if ((rc = sk_asn1_decode(ASN1_ITEM_rptr(SK_OO_HDR), b.p, b.len, what, (void **)&h)) != SK_OK)
		goto out;
	if (!sk_oid_is(h->type, SUFFIX_OBJECT)) {
		rc = sk_err(SK_EVERIFY, "%s: not an opaque object", sk_path_name(path));
		goto out;
	}
	if (ASN1_INTEGER_get(h->version) != 1) {
		rc = sk_err(SK_EVERIFY, "%s: version %ld is not supported", what,
			    ASN1_INTEGER_get(h->version));
		goto out;
	}
	if (ASN1_STRING_length(h->object_id) != SK_OO_ID_LEN) {
		rc = sk_err(SK_EVERIFY, "%s: malformed object id", what);
		goto out;
	}
	memcpy(object_id, ASN1_STRING_get0_data(h->object_id), SK_OO_ID_LEN);
	if ((rc = sk_der_read_hdr(in, 0x04, UINT64_MAX >> 2, what, clen, h2, &h2len)) != SK_OK)
		goto out;
	if (b.len + h2len + *clen != outer)
		rc = sk_err(SK_EVERIFY, "%s: lengths do not add up (damaged object)", what);
out:
	SK_OO_HDR_free(h);
	sk_buf_free(&b);
	return rc;
}

/* ---- OOIDs ---- */

int sk_ooid_make(struct sk_ecies_sender *s, const struct sk_signer *signer,
		 const uint8_t *info_der, size_t info_len, const uint8_t object_id[SK_OO_ID_LEN],
		 EVP_PKEY *devpub, const uint8_t devid[32], struct sk_buf *out)
{
	/* SK_OOID_BODY written as DER around the envelope's (the template's
	 * bytes: two OCTET STRINGs of fixed size, then the envelope) */
	struct sk_buf env = { 0 }, body = { 0 };
	uint8_t hdr[10];
	size_t h, len;
	int rc;

	if ((rc = sk_ecies_seal_der(s, devpub, CONTEXT_OOID, info_der, info_len, &env)) != SK_OK)
		goto out;
	len = 2 + 32 + 2 + SK_OO_ID_LEN + env.len;
	h = sk_der_header(0x30, len, hdr);
	if ((rc = sk_buf_reserve(&body, h + len)) != SK_OK)
		goto out;
	sk_buf_add(&body, hdr, h);
	sk_buf_add(&body, "\x04\x20", 2);
	sk_buf_add(&body, devid, 32);
	hdr[0] = 0x04;
	hdr[1] = SK_OO_ID_LEN;
	sk_buf_add(&body, hdr, 2);
	sk_buf_add(&body, object_id, SK_OO_ID_LEN);
	sk_buf_add(&body, env.p, env.len);
	rc = sk_pkg_make(SK_PKG_OOID, 1, body.p, body.len, signer, out);
out:
	sk_buf_free(&env);
	sk_buf_free(&body);
	return rc;
}

static int ooid_body(const struct sk_pkg *p, SK_OOID_BODY **out)
{
	SK_OOID_BODY *b = NULL;
	int rc = sk_asn1_decode(ASN1_ITEM_rptr(SK_OOID_BODY), p->body, p->bodylen, "OOID body",
				(void **)&b);

	if (rc != SK_OK)
		return rc;
	if (ASN1_STRING_length(b->device) != 32 || ASN1_STRING_length(b->object_id) != SK_OO_ID_LEN) {
		SK_OOID_BODY_free(b);
		return sk_err(SK_EVERIFY, "OOID body: malformed device or object id");
	}
	*out = b;
	return SK_OK;
}

int sk_oo_describe(const char *path, struct sk_oo_desc *d)
{
	struct sk_in in = { .fd = -1 };
	struct sk_buf der = { 0 };
	struct sk_pkg p;
	SK_OOID_BODY *b = NULL;
	const uint8_t *head;
	uint8_t id[SK_OO_ID_LEN];
	ssize_t r;
	int rc;

	memset(d, 0, sizeof(*d));
	memset(&p, 0, sizeof(p));
	/* One pass over the file: it may be a pipe. */
	if ((rc = sk_in_open(&in, path)) != SK_OK)
		return rc;
	if ((r = sk_in_peek(&in, SK_PKG_KIND_PEEK, &head)) < 0) {
		rc = SK_EFAIL;
		goto out;
	}
	d->type = sk_pkg_kind(head, (size_t)r);
	if (d->type == SK_PKG_OPAQUE_OBJECT) {
		if ((rc = obj_read_head(&in, path, id, &d->content_len)) == SK_OK) {
			d->version = 1;
			sk_hex(d->object_id, id, SK_OO_ID_LEN);
		}
		goto out;
	}
	if (d->type != SK_PKG_OOID) {
		rc = d->type == SK_PKG_NONE ?
			sk_err(SK_EVERIFY, "%s: not a seckit package", sk_path_name(path)) :
			sk_err(SK_EVERIFY, "%s: %s, not an OOID or an opaque object", sk_path_name(path),
			       sk_pkg_kind_phrase(d->type));
		goto out;
	}
	if ((rc = sk_in_read_all(&in, OOID_MAX, &der)) != SK_OK)
		goto out;
	if ((rc = sk_pkg_parse(der.p, der.len, SK_PKG_OOID, 1, &p)) != SK_OK) {
		sk_err_wrap(rc, "%s", sk_path_name(path));
		goto out;
	}
	d->version = p.version;
	snprintf(d->signer, sizeof(d->signer), "%s", p.signer_hex);
	sk_sigalg_describe(p.sigalg, d->sigalg, sizeof(d->sigalg));
	if ((rc = ooid_body(&p, &b)) == SK_OK) {
		sk_hex(d->device, ASN1_STRING_get0_data(b->device), 32);
		sk_hex(d->object_id, ASN1_STRING_get0_data(b->object_id), SK_OO_ID_LEN);
		rc = sk_ecies_describe(b->envelope, &d->alg, d->curve);
	}
	if (rc != SK_OK)
		sk_err_wrap(rc, "%s", sk_path_name(path));
out:
	SK_OOID_BODY_free(b);
	sk_pkg_free(&p);
	sk_buf_free(&der);
	sk_in_close(&in);
	return rc;
}

/* ---- on the device ---- */

int sk_device_key_open(struct sk_ctx *ctx, const char *name, const char *pass_spec,
		       struct sk_key **out, enum sk_role *missing)
{
	int rc;

	if ((rc = sk_key_open(ctx, name, pass_spec, out)) != SK_OK) {
		if (rc != SK_ENOTFOUND)
			return rc;
		*missing = SK_ROLE_DEVICE_KEY;
		return sk_err(rc, "device key '%s' not found", name);
	}
	if ((*out)->info.type->kind != SK_KIND_EC) {
		rc = sk_err(SK_EUNSUPP, "device key '%s' is %s: packages are encrypted to EC keys",
			    name, (*out)->info.type->name);
		sk_key_close(*out);
		*out = NULL;
	}
	return rc;
}

int sk_device_check(const struct sk_key *k, const uint8_t *device, size_t n)
{
	uint8_t mine[32];
	char theirs[65];

	if (sk_unhex(mine, 32, k->info.fingerprint) != 0)
		return sk_err(SK_EFAIL, "device key '%s': no fingerprint", k->info.name);
	if (n == 32 && memcmp(mine, device, 32) == 0)
		return SK_OK;
	sk_hex(theirs, device, n == 32 ? 32 : 0);
	return sk_err(SK_EVERIFY, "made for another device (sha256:%.16s...), not for key '%s' (sha256:%.16s...)",
		      theirs, k->info.name, k->info.fingerprint);
}

int sk_oem_verifier(struct sk_ctx *ctx, const char *name, struct sk_verifier *v,
		    enum sk_role *missing)
{
	int rc = sk_verifier_from_key(v, ctx, name);

	if (rc == SK_ENOTFOUND) {
		*missing = SK_ROLE_OEM_ROOT;
		return sk_err(rc, "OEM root key '%s' not found", name);
	}
	return rc;
}

int sk_ecies_alg_for(const struct sk_policy *pol, const char *kdf, const char *cipher,
		     const char *mac, struct sk_ecies_alg *alg)
{
	int rc;

	sk_ecies_alg_default(alg);
	if ((rc = sk_ecies_alg_set(alg, NULL, pol->cipher, NULL)) != SK_OK)
		return rc;
	return sk_ecies_alg_set(alg, kdf, cipher, mac);
}

static int policy_check(const struct sk_ooinfo *info, int64_t now)
{
	char a[32], b[32];

	sk_time_format(now, b, sizeof(b));
	if (info->has_not_before && now < info->not_before) {
		sk_time_format(info->not_before, a, sizeof(a));
		return sk_err(SK_EVERIFY, "policy: not valid before %s (now %s)", a, b);
	}
	if (info->has_not_after && now > info->not_after) {
		sk_time_format(info->not_after, a, sizeof(a));
		return sk_err(SK_EVERIFY, "policy: expired on %s (now %s)", a, b);
	}
	return SK_OK;
}

/* Decrypt the object's content (clen bytes) from in to fd or dst, checking
 * size, SHA-256 and (GCM) the tag.  Nothing is committed here. */
static int obj_decrypt(struct sk_in *in, const char *what, uint64_t clen,
		       const struct sk_ooinfo *info, struct sk_out *dst, int fd)
{
	EVP_CIPHER_CTX *c = obj_cipher(info, 0);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *buf = malloc(CHUNK), *obuf = malloc(CHUNK + 32), tag[GCM_TAG],
		dg[EVP_MAX_MD_SIZE], extra;
	uint64_t left = info->size;
	unsigned int dl;
	int rc = SK_OK, len;
	ssize_t r;

	if (c == NULL || md == NULL || buf == NULL || obuf == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		rc = sk_err_ssl(SK_EFAIL, "AES-256");
		goto out;
	}
	if (clen != info->size + (info->cipher == SK_ECIES_AES256_GCM ? GCM_TAG : 0)) {
		rc = sk_err(SK_EVERIFY, "%s holds %" PRIu64 " bytes of content; the OOID says %" PRIu64 " (truncated or not this object)",
			    what, clen, info->size);
		goto out;
	}
	while (left > 0) {
		size_t want = left < CHUNK ? (size_t)left : CHUNK;

		r = sk_in_read(in, buf, want);
		if (r < 0) {
			rc = SK_EFAIL;
			goto out;
		}
		if ((size_t)r != want) {
			rc = sk_err(SK_EVERIFY, "%s is truncated", what);
			goto out;
		}
		left -= (uint64_t)r;
		if (EVP_CipherUpdate(c, obuf, &len, buf, (int)r) != 1 ||
		    EVP_DigestUpdate(md, obuf, (size_t)len) != 1) {
			rc = sk_err_ssl(SK_EFAIL, "decrypting");
			goto out;
		}
		if (fd >= 0 ? sk_write_all(fd, obuf, (size_t)len) != 0
			    : sk_out_write(dst, obuf, (size_t)len) != SK_OK) {
			rc = fd >= 0 ? sk_err_sys(SK_EFAIL, "writing the spool file") : SK_EFAIL;
			goto out;
		}
	}
	if (info->cipher == SK_ECIES_AES256_GCM) {
		r = sk_in_read(in, tag, GCM_TAG);
		if (r < 0) {
			rc = SK_EFAIL;
			goto out;
		}
		if (r != GCM_TAG) {
			rc = sk_err(SK_EVERIFY, "%s is truncated (no GCM tag)", what);
			goto out;
		}
		if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, GCM_TAG, tag) != 1) {
			rc = sk_err_ssl(SK_EFAIL, "AES-GCM");
			goto out;
		}
	}
	if ((r = sk_in_read(in, &extra, 1)) != 0) {
		rc = r < 0 ? SK_EFAIL : sk_err(SK_EVERIFY, "%s: unexpected bytes after the end", what);
		goto out;
	}
	if (EVP_CipherFinal_ex(c, obuf, &len) != 1) {
		ERR_clear_error();
		rc = sk_err(SK_EVERIFY, "%s: AES-GCM tag mismatch (tampered, or not this object)", what);
		goto out;
	}
	if (EVP_DigestFinal_ex(md, dg, &dl) != 1) {
		rc = sk_err_ssl(SK_EFAIL, "SHA-256");
		goto out;
	}
	if (!sk_ct_equal(dg, info->sha256, 32))
		rc = sk_err(SK_EVERIFY, "%s: SHA-256 of the decrypted data does not match the OOID (tampered, or not this object)",
			    what);
out:
	EVP_CIPHER_CTX_free(c);
	EVP_MD_CTX_free(md);
	if (buf != NULL)
		OPENSSL_clear_free(buf, CHUNK);
	if (obuf != NULL)
		OPENSSL_clear_free(obuf, CHUNK + 32);
	return rc;
}

int sk_oo_open(struct sk_ctx *ctx, struct sk_oo_open_req *req, struct sk_ooinfo *info)
{
	struct sk_buf der = { 0 }, plain = { 0 };
	struct sk_verifier v;
	struct sk_pkg p;
	struct sk_key *dk = NULL;
	struct sk_in in = { .fd = -1 };
	struct sk_out dst = { .fd = -1 };
	SK_OOID_BODY *b = NULL;
	uint8_t objid[SK_OO_ID_LEN];
	char want[33], got[33];
	uint64_t clen;
	int rc, spool = -1, to_stdout = strcmp(req->out, "-") == 0;

	memset(&v, 0, sizeof(v));
	memset(&p, 0, sizeof(p));
	memset(info, 0, sizeof(*info));
	req->missing = SK_ROLE_COUNT;
	/* 1. the OOID: signature, then device */
	if ((rc = sk_read_file(req->ooid, OOID_MAX, &der)) != SK_OK)
		goto out;
	if ((rc = sk_pkg_parse(der.p, der.len, SK_PKG_OOID, 1, &p)) != SK_OK ||
	    (rc = sk_oem_verifier(ctx, req->verify_key, &v, &req->missing)) != SK_OK ||
	    (rc = sk_pkg_verify(&p, &v)) != SK_OK || (rc = ooid_body(&p, &b)) != SK_OK) {
		sk_err_wrap(rc, "%s", sk_path_name(req->ooid));
		goto out;
	}
	if ((rc = sk_device_key_open(ctx, req->device_key, req->device_pass, &dk,
				     &req->missing)) != SK_OK)
		goto out;
	if ((rc = sk_device_check(dk, ASN1_STRING_get0_data(b->device), 32)) != SK_OK) {
		sk_err_wrap(rc, "%s", sk_path_name(req->ooid));
		goto out;
	}
	/* 2. the object it is for */
	if ((rc = sk_in_open(&in, req->object)) != SK_OK ||
	    (rc = obj_read_head(&in, req->object, objid, &clen)) != SK_OK)
		goto out;
	if (memcmp(objid, ASN1_STRING_get0_data(b->object_id), SK_OO_ID_LEN) != 0) {
		sk_hex(want, ASN1_STRING_get0_data(b->object_id), SK_OO_ID_LEN);
		sk_hex(got, objid, SK_OO_ID_LEN);
		rc = sk_err(SK_EVERIFY, "%s is for object %s, but %s is object %s", req->ooid, want,
			    req->object, got);
		goto out;
	}
	/* 3. the OOInfo, decrypted by the device key in its backend */
	if ((rc = sk_ecies_open(dk, b->envelope, CONTEXT_OOID, &plain, NULL)) != SK_OK ||
	    (rc = sk_ooinfo_decode(plain.p, plain.len, info)) != SK_OK) {
		sk_err_wrap(rc, "%s", sk_path_name(req->ooid));
		goto out;
	}
	if (memcmp(info->object_id, objid, SK_OO_ID_LEN) != 0) {
		rc = sk_err(SK_EVERIFY, "%s: inconsistent object ids (damaged OOID)", req->ooid);
		goto out;
	}
	/* 4. policies */
	if ((rc = policy_check(info, req->now)) != SK_OK)
		goto out;
	/* 5. the data: released only after size, digest (and tag) checked */
	if (to_stdout) {
		if ((spool = anon_file(req->tmpdir)) < 0) {
			rc = sk_err_sys(SK_EFAIL, "creating a spool file in '%s'", req->tmpdir);
			goto out;
		}
	} else if ((rc = sk_out_open(&dst, req->out, 0600)) != SK_OK) {
		goto out;
	}
	if ((rc = obj_decrypt(&in, req->object, clen, info, &dst, spool)) != SK_OK)
		goto out;
	if (to_stdout) {
		uint8_t *buf = malloc(CHUNK);

		if (buf == NULL) {
			rc = sk_err(SK_EFAIL, "out of memory");
			goto out;
		}
		if ((rc = sk_out_open(&dst, "-", 0600)) == SK_OK)
			rc = spool_copy(spool, &dst, buf);
		OPENSSL_clear_free(buf, CHUNK);
		if (rc != SK_OK)
			goto out;
	}
	rc = sk_out_commit(&dst);
out:
	if (rc != SK_OK) {
		sk_out_abort(&dst);
		sk_ooinfo_cleanse(info);
	}
	if (spool >= 0)
		close(spool);
	sk_in_close(&in);
	sk_buf_cleanse_free(&plain);
	SK_OOID_BODY_free(b);
	sk_key_close(dk);
	sk_verifier_free(&v);
	sk_pkg_free(&p);
	sk_buf_free(&der);
	return rc;
}
