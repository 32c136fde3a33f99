/* SPDX-License-Identifier: MIT */
/*
 * The store's index: 256 buckets (DIR/idx.XX), each a MAC'd, sorted list
 * of (object file, salt of its current version, state).  Loading and
 * checking bucket images, and building new ones; the commit protocol that
 * replaces them is store_txn.c.
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "base/fileio.h"
#include "store/store_int.h"

/* ---- the index ---- */

void sk_st_bucket_free(struct bucket *bk)
{
	free(bk->e);
	memset(bk, 0, sizeof(*bk));
}

static int ixent_cmp(const void *a, const void *b)
{
	return memcmp(((const struct ixent *)a)->file, ((const struct ixent *)b)->file, 32);
}

struct ixent *sk_st_bucket_find(const struct bucket *bk, const uint8_t file[32])
{
	struct ixent key;

	if (bk->n == 0)
		return NULL;
	memcpy(key.file, file, 32);
	return bsearch(&key, bk->e, bk->n, sizeof(key), ixent_cmp);
}

int sk_st_bucket_set(struct bucket *bk, const uint8_t file[32], const uint8_t salt[16], int state)
{
	struct ixent *e = sk_st_bucket_find(bk, file);
	size_t i;

	if (e == NULL) {
		if (bk->n == bk->cap) {
			size_t cap = bk->cap ? bk->cap * 2 : 16;
			struct ixent *ne = realloc(bk->e, cap * sizeof(*ne));

			if (ne == NULL)
				return sk_err(SK_EFAIL, "out of memory");
			bk->e = ne;
			bk->cap = cap;
		}
		for (i = bk->n; i > 0 && memcmp(bk->e[i - 1].file, file, 32) > 0; i--)
			bk->e[i] = bk->e[i - 1];
		e = &bk->e[i];
		bk->n++;
		memcpy(e->file, file, 32);
	}
	if (salt != NULL)
		memcpy(e->salt, salt, 16);
	else
		memset(e->salt, 0, 16);
	e->state = (uint8_t)state;
	return SK_OK;
}

void sk_st_bucket_remove(struct bucket *bk, struct ixent *e)
{
	size_t i = (size_t)(e - bk->e);

	memmove(e, e + 1, (bk->n - i - 1) * sizeof(*e));
	bk->n--;
}

static int index_mac(const struct sk_store *st, const uint8_t *p, size_t n, uint8_t out[32])
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t len;
	int rc = sk_hmac("SHA256", st->index_key, 32, p, n, mac, &len);

	memcpy(out, mac, 32);
	return rc;
}

/*
 * Read and authenticate an index bucket file: DIR/idx.XX, or an image of
 * it in DIR/tmp (dirfd, name).  SK_ENOTFOUND if there is no such file;
 * the whole file, MAC checked and belonging to bucket b, in *pp (*lenp
 * bytes, malloc'd) otherwise.  what names the file in messages.
 */
static int bucket_read(struct sk_store *st, int dirfd, const char *name, const char *what, int b,
		       uint8_t **pp, size_t *lenp)
{
	uint8_t mac[32], *p = NULL;
	struct stat sb;
	size_t len = 0;
	int fd, rc = SK_OK;

	*pp = NULL;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return SK_ENOTFOUND;
		if (errno == ELOOP)
			return sk_err(SK_EVERIFY, "store '%s': %s is a symbolic link (tampered)", st->dir, what);
		return sk_err_sys(SK_EFAIL, "store '%s': opening %s", st->dir, what);
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < IX_HEAD + 32 ||
	    (uint64_t)sb.st_size > IX_HEAD + 32 + (uint64_t)IX_MAX_ENTRIES * IX_ENT) {
		rc = sk_err(SK_EVERIFY, "store '%s': %s is corrupt (bad size)", st->dir, what);
		goto out;
	}
	len = (size_t)sb.st_size;
	if ((p = malloc(len)) == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto out;
	}
	if (sk_read_full(fd, p, len) != (ssize_t)len) {
		rc = sk_err(SK_EVERIFY, "store '%s': %s is truncated", st->dir, what);
		goto out;
	}
	if ((rc = index_mac(st, p, len - 32, mac)) != SK_OK)
		goto out;
	if (!sk_ct_equal(mac, p + len - 32, 32)) {
		rc = sk_err(SK_EVERIFY, "store '%s': %s failed authentication (corrupt or tampered)",
			    st->dir, what);
		goto out;
	}
	/* Authentic from here; the checks below guard against our own bugs
	 * and a bucket file renamed onto another bucket's name. */
	if (memcmp(p, IX_MAGIC, 4) != 0 || p[4] != IX_VERSION || p[5] != (uint8_t)b || p[6] || p[7] ||
	    (uint64_t)sk_get_be32(p + 8) * IX_ENT + IX_HEAD + 32 != len) {
		rc = sk_err(SK_EVERIFY, "store '%s': %s is malformed or belongs to another bucket",
			    st->dir, what);
		goto out;
	}
out:
	close(fd);
	if (rc != SK_OK) {
		free(p);
		return rc;
	}
	*pp = p;
	*lenp = len;
	return SK_OK;
}

/* Read and verify DIR/idx.XX; a missing bucket is an empty one. */
int sk_st_bucket_load(struct sk_store *st, int b, struct bucket *bk)
{
	char name[8], what[16];
	uint8_t *p = NULL;
	uint32_t count;
	size_t len, i;
	int rc;

	sk_st_bucket_free(bk);
	sk_st_bucket_name(name, b);
	snprintf(what, sizeof(what), "index %s", name);
	rc = bucket_read(st, st->dfd, name, what, b, &p, &len);
	if (rc == SK_ENOTFOUND) {
		bk->loaded = 1;
		return SK_OK;
	}
	if (rc != SK_OK)
		return rc;
	count = sk_get_be32(p + 8);
	bk->e = malloc((count ? count : 1) * sizeof(*bk->e));
	if (bk->e == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto out;
	}
	bk->cap = count ? count : 1;
	for (i = 0; i < count; i++) {
		const uint8_t *q = p + IX_HEAD + i * IX_ENT;
		struct ixent *e = &bk->e[i];

		memcpy(e->file, q, 32);
		memcpy(e->salt, q + 32, 16);
		e->state = q[48];
		if (e->file[0] != (uint8_t)b || e->state > IX_DELETED ||
		    (i > 0 && memcmp(bk->e[i - 1].file, e->file, 32) >= 0)) {
			rc = sk_err(SK_EVERIFY, "store '%s': index %s is malformed", st->dir, name);
			goto out;
		}
	}
	bk->n = count;
	bk->loaded = 1;
out:
	if (rc != SK_OK)
		sk_st_bucket_free(bk);
	free(p);
	return rc;
}

/*
 * Is the file (dirfd, name) an authentic image of bucket b whose MAC is
 * mac?  SK_OK if so, SK_ENOTFOUND if there is no such file, SK_EVERIFY if
 * it is another image or damaged (message set), SK_EFAIL if it cannot be
 * read.  Recovery uses it to tell an index image that is still to be
 * renamed, or already was, from one that is lost.
 */
int sk_st_image_check(struct sk_store *st, int dirfd, const char *name, const char *what, int b,
		      const uint8_t mac[32])
{
	uint8_t *p;
	size_t len;
	int rc = bucket_read(st, dirfd, name, what, b, &p, &len);

	if (rc != SK_OK)
		return rc;
	if (!sk_ct_equal(p + len - 32, mac, 32))
		rc = sk_err(SK_EVERIFY, "store '%s': %s is not the index image the journal names", st->dir,
			    what);
	free(p);
	return rc;
}

int sk_st_bucket_image(struct sk_store *st, int b, const struct bucket *bk, struct sk_buf *out)
{
	uint8_t head[IX_HEAD], mac[32];
	size_t i;
	int rc;

	out->len = 0;
	memcpy(head, IX_MAGIC, 4);
	head[4] = IX_VERSION;
	head[5] = (uint8_t)b;
	head[6] = head[7] = 0;
	sk_put_be32(head + 8, (uint32_t)bk->n);
	if ((rc = sk_buf_add(out, head, sizeof(head))) != SK_OK)
		return rc;
	for (i = 0; i < bk->n; i++) {
		if ((rc = sk_buf_add(out, bk->e[i].file, 32)) != SK_OK ||
		    (rc = sk_buf_add(out, bk->e[i].salt, 16)) != SK_OK ||
		    (rc = sk_buf_add(out, &bk->e[i].state, 1)) != SK_OK)
			return rc;
	}
	if ((rc = index_mac(st, out->p, out->len, mac)) != SK_OK)
		return rc;
	return sk_buf_add(out, mac, 32);
}

void sk_st_free_all_buckets(struct bucket *bks)
{
	int b;

	for (b = 0; b < 256; b++)
		sk_st_bucket_free(&bks[b]);
}
