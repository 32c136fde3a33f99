/* SPDX-License-Identifier: MIT */
/* The OOInfo file: what opens an opaque object, as YAML on the packaging
 * host (oo.h, docs/formats/opaque-object.md).  It holds the object's key. */
#include "format/oo.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/yaml.h"

#define INFO_MAX (64u << 10)

int sk_ooinfo_write(const char *path, const struct sk_ooinfo *info, const char *object_name)
{
	char oid[2 * SK_OO_ID_LEN + 1], key[65], iv[33], dg[65], tb[32], ta[32];
	size_t ivlen = sk_cipher_ivlen(info->cipher);
	struct sk_buf b = { 0 };
	char *text = NULL;
	int n, rc;

	sk_hex(oid, info->object_id, SK_OO_ID_LEN);
	sk_hex(key, info->key, 32);
	sk_hex(iv, info->iv, ivlen);
	sk_hex(dg, info->sha256, 32);
	sk_time_format(info->not_before, tb, sizeof(tb));
	sk_time_format(info->not_after, ta, sizeof(ta));
	n = asprintf(&text,
		     "# seckit opaque object information (OOInfo)%s%s%s\n"
		     "# SECRET: this file holds the object's key.  Keep it (0600) on the\n"
		     "# packaging host only; devices get OOIDs (seckit oo id), never this file.\n"
		     "format: seckit-ooinfo-1\n"
		     "object-id: %s\n"
		     "cipher: %s\n"
		     "key: %s\n"
		     "%s: %s\n"
		     "size: %" PRIu64 "\n"
		     "sha256: %s\n"
		     "%s%s%s"
		     "%s%s%s",
		     object_name ? " for '" : "", object_name ? object_name : "",
		     object_name ? "'" : "", oid, sk_ecies_cipher_name(info->cipher), key,
		     info->cipher == SK_ECIES_AES256_GCM ? "nonce" : "iv", iv, info->size, dg,
		     info->has_not_before ? "not-before: " : "", info->has_not_before ? tb : "",
		     info->has_not_before ? "\n" : "", info->has_not_after ? "not-after: " : "",
		     info->has_not_after ? ta : "", info->has_not_after ? "\n" : "");
	OPENSSL_cleanse(key, sizeof(key));
	if (n < 0)
		return sk_err(SK_EFAIL, "out of memory");
	rc = sk_write_file(path, text, (size_t)n, 0600);
	OPENSSL_clear_free(text, (size_t)n);
	sk_buf_free(&b);
	return rc;
}

struct info_read {
	struct sk_ooinfo *info;
	int seen_format, seen_oid, seen_cipher, seen_key, seen_iv, seen_size, seen_sha;
	const struct sk_ynode *iv_node;
	int iv_is_nonce;
};

static int hex_field(const struct sk_ydoc *doc, const struct sk_ynode *n, uint8_t *out,
		     size_t len, const char *what)
{
	const char *s;
	int rc = sk_y_str(doc, n, &s);

	if (rc != SK_OK)
		return rc;
	if (sk_unhex(out, len, s) != 0)
		return sk_yerr(doc, n, "%s must be %zu hex digits", what, 2 * len);
	return SK_OK;
}

static int f_format(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	struct info_read *r = arg;

	if (n->type != SK_Y_SCALAR || strcmp(n->val, "seckit-ooinfo-1") != 0)
		return sk_yerr(doc, n, "not an OOInfo file this seckit reads (format: seckit-ooinfo-1)");
	r->seen_format = 1;
	return SK_OK;
}

static int f_oid(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	struct info_read *r = arg;

	r->seen_oid = 1;
	return hex_field(doc, n, r->info->object_id, SK_OO_ID_LEN, "object-id");
}

static int f_cipher(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	static const char *const names[] = { "aes-256-ctr", "aes-256-gcm", NULL };
	struct info_read *r = arg;
	int i, rc = sk_y_enum(doc, n, names, &i);

	r->seen_cipher = 1;
	r->info->cipher = i == 0 ? SK_ECIES_AES256_CTR : SK_ECIES_AES256_GCM;
	return rc;
}

static int f_key(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	struct info_read *r = arg;

	r->seen_key = 1;
	return hex_field(doc, n, r->info->key, 32, "key");
}

static int f_iv(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	struct info_read *r = arg;

	if (r->iv_node != NULL)
		return sk_yerr(doc, n, "give 'iv' (aes-256-ctr) or 'nonce' (aes-256-gcm), not both");
	r->iv_node = n;
	r->iv_is_nonce = 0;
	return SK_OK;
}

static int f_nonce(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	struct info_read *r = arg;
	int rc = f_iv(doc, n, arg);

	r->iv_is_nonce = 1;
	return rc;
}

static int f_size(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	struct info_read *r = arg;

	r->seen_size = 1;
	return sk_y_uint(doc, n, 0, UINT64_MAX >> 2, &r->info->size);
}

static int f_sha(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	struct info_read *r = arg;

	r->seen_sha = 1;
	return hex_field(doc, n, r->info->sha256, 32, "sha256");
}

static int time_field(const struct sk_ydoc *doc, const struct sk_ynode *n, int64_t *t)
{
	const char *s;
	int rc = sk_y_str(doc, n, &s);

	if (rc == SK_OK && sk_time_parse(s, t) != SK_OK)
		rc = sk_yerr(doc, n, "%s", sk_err_msg());
	return rc;
}

static int f_nb(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	struct info_read *r = arg;

	r->info->has_not_before = 1;
	return time_field(doc, n, &r->info->not_before);
}

static int f_na(const struct sk_ydoc *doc, const struct sk_ynode *n, void *arg)
{
	struct info_read *r = arg;

	r->info->has_not_after = 1;
	return time_field(doc, n, &r->info->not_after);
}

static const struct sk_yfield info_fields[] = {
	{ "format", f_format }, { "object-id", f_oid }, { "cipher", f_cipher },
	{ "key", f_key },       { "iv", f_iv },         { "nonce", f_nonce },
	{ "size", f_size },     { "sha256", f_sha },    { "not-before", f_nb },
	{ "not-after", f_na },
};

/* Scalars of a document may hold a key: wipe them before freeing. */
static void cleanse_tree(struct sk_ynode *n)
{
	size_t i;

	if (n == NULL)
		return;
	if (n->val != NULL)
		OPENSSL_cleanse(n->val, n->vlen);
	for (i = 0; i < n->n; i++)
		cleanse_tree(n->kids[i]);
}

int sk_ooinfo_read(const char *path, struct sk_ooinfo *info)
{
	struct sk_buf buf = { 0 };
	struct sk_ydoc doc;
	struct info_read r;
	int rc;

	memset(info, 0, sizeof(*info));
	memset(&r, 0, sizeof(r));
	r.info = info;
	if ((rc = sk_read_file(path, INFO_MAX, &buf)) != SK_OK)
		goto out_buf;
	rc = sk_yaml_load_buf(strcmp(path, "-") ? path : "<stdin>", buf.p ? (void *)buf.p : "",
			      buf.len, &doc);
	if (rc != SK_OK)
		goto out_buf;
	if (doc.root == NULL) {
		rc = sk_yerr(&doc, NULL, "empty file (expected an OOInfo from `seckit oo make`)");
		goto out;
	}
	if ((rc = sk_y_walk(&doc, doc.root, info_fields, SK_ARRAY_SIZE(info_fields), &r, "OOInfo",
			    0)) != SK_OK)
		goto out;
	if (!r.seen_format || !r.seen_oid || !r.seen_cipher || !r.seen_key || !r.iv_node ||
	    !r.seen_size || !r.seen_sha) {
		rc = sk_yerr(&doc, doc.root, "incomplete OOInfo: format, object-id, cipher, key, %s, size and sha256 are required",
			     info->cipher == SK_ECIES_AES256_GCM ? "nonce" : "iv");
		goto out;
	}
	if (r.iv_is_nonce != (info->cipher == SK_ECIES_AES256_GCM)) {
		rc = sk_yerr(&doc, r.iv_node, "%s takes %s", sk_ecies_cipher_name(info->cipher),
			     info->cipher == SK_ECIES_AES256_GCM ? "a 12-byte 'nonce'" : "a 16-byte 'iv'");
		goto out;
	}
	if ((rc = hex_field(&doc, r.iv_node, info->iv, sk_cipher_ivlen(info->cipher),
			    r.iv_is_nonce ? "nonce" : "iv")) != SK_OK)
		goto out;
	if (info->has_not_before && info->has_not_after && info->not_after < info->not_before)
		rc = sk_yerr(&doc, doc.root, "not-after is before not-before");
out:
	cleanse_tree(doc.root);
	sk_yaml_free(&doc);
out_buf:
	sk_buf_cleanse_free(&buf);
	if (rc != SK_OK)
		sk_ooinfo_cleanse(info);
	return rc;
}

