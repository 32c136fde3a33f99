/* SPDX-License-Identifier: MIT */
/*
 * Reading the store without a lock: finding an object's current version
 * through the index (a STAGED entry says where a committing writer is
 * moving it), opening and authenticating its file, streaming its body,
 * and listing a namespace.
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

/* ---- object files ---- */

/*
 * Read an object file's fixed part and header from fd and authenticate
 * them: on success *hdrp holds the plaintext header (*hdrlenp bytes, and
 * TAG more), which the caller cleanses and frees.
 */
static int read_header(struct sk_store *st, int fd, const char *what, uint8_t fixed[OBJ_FIXED],
		       uint8_t **hdrp, uint32_t *hdrlenp)
{
	uint8_t nonce[12] = { 0 }, hkey[32], *hdr;
	uint32_t hdrlen;
	int rc = SK_OK;

	*hdrp = NULL;
	if (sk_read_full(fd, fixed, OBJ_FIXED) != OBJ_FIXED || memcmp(fixed, OBJ_MAGIC, 4) != 0)
		return sk_err(SK_EVERIFY, "%s is corrupt or truncated", what);
	if (fixed[4] != OBJ_VERSION || fixed[5] || fixed[6] || fixed[7])
		return sk_err(SK_EVERIFY, "%s has an unknown format version (corrupt, or written by a newer seckit)",
			      what);
	hdrlen = sk_get_be32(fixed + 24);
	if (hdrlen < HDR_MIN || hdrlen > HDR_MAX)
		return sk_err(SK_EVERIFY, "%s is corrupt (bad header length)", what);
	if ((hdr = malloc((size_t)hdrlen + TAG)) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	if (sk_read_full(fd, hdr, (size_t)hdrlen + TAG) != (ssize_t)hdrlen + TAG) {
		rc = sk_err(SK_EVERIFY, "%s is truncated", what);
	} else if ((rc = sk_st_object_keys(st, fixed + 8, NULL, hkey, NULL)) == SK_OK) {
		rc = sk_gcm_open(hkey, nonce, fixed, OBJ_FIXED, hdr, hdrlen, hdr, hdr + hdrlen);
		OPENSSL_cleanse(hkey, sizeof(hkey));
		if (rc != SK_OK)
			rc = sk_err(SK_EVERIFY, "%s failed authentication (corrupt or tampered)", what);
	}
	if (rc != SK_OK) {
		OPENSSL_cleanse(hdr, (size_t)hdrlen + TAG);
		free(hdr);
		return rc;
	}
	*hdrp = hdr;
	*hdrlenp = hdrlen;
	return SK_OK;
}

/*
 * Open an object file (name: file in DIR) and decrypt its header.  want_name
 * set: the header must name that object; NULL (listing, checking): the file
 * name must match whatever the header says.  On success the descriptor is
 * positioned at the body.
 */
int sk_st_open_object(struct sk_store *st, const char *fname, const uint8_t file[32], int want_ns,
		      const char *want_name, struct sk_obj_info *info, int *fdout,
		      uint64_t *bodyoff)
{
	uint8_t fixed[OBJ_FIXED], *hdr = NULL, check[32];
	char what[320], fhex[65];
	uint32_t hdrlen = 0;
	uint64_t size, expect, nch;
	struct stat sb;
	size_t nlen, metalen, pos;
	int fd, rc;

	memset(info, 0, sizeof(*info));
	sk_st_file_hex(fhex, file);
	if (want_name)
		snprintf(what, sizeof(what), "%s '%s': store file %s", sk_st_ns_name(want_ns), want_name, fhex);
	else
		snprintf(what, sizeof(what), "store file %s", fhex);
	fd = openat(st->dfd, fname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return SK_ENOTFOUND; /* the caller decides what that means */
		if (errno == ELOOP)
			return sk_err(SK_EVERIFY, "%s is a symbolic link (tampered)", what);
		return sk_err_sys(SK_EFAIL, "%s: opening", what);
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = sk_err(SK_EVERIFY, "%s is not a regular file (tampered)", what);
		goto fail;
	}
	if ((rc = read_header(st, fd, what, fixed, &hdr, &hdrlen)) != SK_OK)
		goto fail;
	/* Authentic from here on; the parsing checks guard against our own bugs. */
	info->ns = hdr[0];
	nlen = hdr[1];
	pos = 2 + nlen;
	if (nlen == 0 || pos + 21 > hdrlen || memchr(hdr + 2, '\0', nlen) != NULL) {
		rc = sk_err(SK_EVERIFY, "%s has a malformed header", what);
		goto fail;
	}
	memcpy(info->name, hdr + 2, nlen);
	info->name[nlen] = '\0';
	info->flags = hdr[pos];
	info->size = sk_get_be64(hdr + pos + 1);
	info->mtime = sk_get_be64(hdr + pos + 9);
	metalen = sk_get_be32(hdr + pos + 17);
	pos += 21;
	if (metalen != hdrlen - pos || (info->flags & ~(unsigned)SK_OBJ_KEYED) != 0) {
		rc = sk_err(SK_EVERIFY, "%s has a malformed header", what);
		goto fail;
	}
	if (want_name != NULL) {
		if (info->ns != want_ns || strcmp(info->name, want_name) != 0) {
			rc = sk_err(SK_EVERIFY, "%s holds another object (moved or replaced on disk)", what);
			goto fail;
		}
	} else {
		if ((rc = sk_st_object_file(st, info->ns, info->name, check)) != SK_OK)
			goto fail;
		if (memcmp(check, file, 32) != 0) {
			rc = sk_err(SK_EVERIFY, "%s holds %s '%s' under another file name (moved or replaced on disk)",
				    what, sk_st_ns_name(info->ns), info->name);
			goto fail;
		}
	}
	nch = info->size == 0 ? 1 : (info->size + CHUNK - 1) / CHUNK;
	size = (uint64_t)sb.st_size;
	expect = OBJ_FIXED + (uint64_t)hdrlen + TAG + info->size + nch * TAG;
	if (info->size > ((uint64_t)1 << 62) || size != expect) {
		rc = sk_err(SK_EVERIFY, "%s is %s", what,
			    size < expect ? "truncated" : "longer than recorded (tampered)");
		goto fail;
	}
	info->metalen = metalen;
	info->meta = malloc(metalen ? metalen : 1);
	if (info->meta == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto fail;
	}
	memcpy(info->meta, hdr + pos, metalen);
	memcpy(info->version, fixed + 8, 16);
	memcpy(info->file, fhex, 65);
	OPENSSL_cleanse(hdr, (size_t)hdrlen + TAG);
	free(hdr);
	*bodyoff = OBJ_FIXED + (uint64_t)hdrlen + TAG;
	*fdout = fd;
	return SK_OK;
fail:
	if (hdr != NULL) {
		OPENSSL_cleanse(hdr, (size_t)hdrlen + TAG);
		free(hdr);
	}
	sk_obj_info_free(info);
	close(fd);
	return rc;
}

/*
 * Find the current version of object `file` as the index bucket bk (already
 * loaded) describes it.  SK_RETRY (message set) if index and files
 * disagree: a writer may be between two renames, or someone tampered.
 */
int sk_st_try_locate(struct sk_store *st, const uint8_t file[32], const struct bucket *bk,
		     int want_ns, const char *want_name, struct sk_obj_info *info, int *fdout,
		     uint64_t *bodyoff)
{
	const struct ixent *e = sk_st_bucket_find(bk, file);
	char fname[65], sname[STAGED_LEN + 1];
	int fd = -1, rc;

	sk_st_file_hex(fname, file);
	rc = sk_st_open_object(st, fname, file, want_ns, want_name, info, &fd, bodyoff);
	if (rc != SK_OK && rc != SK_ENOTFOUND)
		return rc;
	if (e == NULL || e->state == IX_DELETED) {
		if (rc == SK_ENOTFOUND || (e != NULL && e->state == IX_DELETED)) {
			if (rc == SK_OK) {
				close(fd);
				sk_obj_info_free(info);
			}
			return SK_ENOTFOUND;
		}
		close(fd);
		sk_obj_info_free(info);
		return sk_err(SK_RETRY, "store file %s is not in the store index (restored after a deletion, or planted)",
			      fname);
	}
	if (rc == SK_OK && memcmp(info->version, e->salt, 16) == 0) {
		*fdout = fd;
		return SK_OK;
	}
	if (rc == SK_OK) {
		close(fd);
		sk_obj_info_free(info);
	}
	if (e->state == IX_STAGED) {
		int rc2;

		sk_st_staged_name(sname, file, e->salt);
		rc2 = sk_st_open_object(st, sname, file, want_ns, want_name, info, &fd, bodyoff);
		if (rc2 == SK_OK && memcmp(info->version, e->salt, 16) == 0) {
			*fdout = fd;
			return SK_OK;
		}
		if (rc2 == SK_OK) {
			close(fd);
			sk_obj_info_free(info);
			return sk_err(SK_EVERIFY, "store file %s is not the version the index records (tampered)",
				      sname);
		}
		if (rc2 != SK_ENOTFOUND)
			return rc2;
	}
	if (rc == SK_ENOTFOUND)
		return sk_err(SK_RETRY, "store file %s is missing but the store index lists it (deleted on disk)",
			      fname);
	return sk_err(SK_RETRY, "store file %s is not the version the store index records (an older copy put back, or replaced)",
		      fname);
}

/* try_locate with fresh index reads, retried while a writer may be in the
 * middle of a commit, and finally under the lock (shared). */
static int locate(struct sk_store *st, int ns, const char *name, struct sk_obj_info *info,
		  int *fdout, uint64_t *bodyoff)
{
	struct bucket bk = { 0 };
	uint8_t file[32];
	int rc, attempt, lockfd = -1;

	if ((rc = sk_st_object_file(st, ns, name, file)) != SK_OK)
		return rc;
	if (st->stuck != NULL)
		return sk_err(SK_EVERIFY, "%s", st->stuck);
	for (attempt = 0;; attempt++) {
		if (attempt == READ_TRIES && !st->exclusive &&
		    (rc = sk_st_take_lock(st, 1, &lockfd)) != SK_OK)
			break;
		if ((rc = sk_st_bucket_load(st, file[0], &bk)) != SK_OK)
			break;
		rc = sk_st_try_locate(st, file, &bk, ns, name, info, fdout, bodyoff);
		if (rc != SK_RETRY)
			break;
		if (st->exclusive || attempt >= READ_TRIES) {
			rc = sk_err_wrap(SK_EVERIFY, "%s '%s'", sk_st_ns_name(ns), name);
			break;
		}
	}
	if (rc == SK_ENOTFOUND)
		sk_err(SK_ENOTFOUND, "%s '%s': not found", sk_st_ns_name(ns), name);
	sk_st_release_lock(st, lockfd, 1);
	sk_st_bucket_free(&bk);
	return rc;
}

int sk_store_stat(struct sk_store *st, int ns, const char *name, struct sk_obj_info *info)
{
	uint64_t off;
	int fd, rc;

	rc = locate(st, ns, name, info, &fd, &off);
	if (rc == SK_OK)
		close(fd);
	return rc;
}

/* ---- reading ---- */

/* Decrypt one chunk in place (ciphertext followed by its tag), through
 * sk_gcm_open: no EVP cipher fetch, which would cost a short command more
 * than everything else it does. */
static int chunk_open(const uint8_t key[32], uint64_t idx, int last, uint8_t *p, size_t n)
{
	uint8_t nonce[12];

	sk_st_chunk_nonce(nonce, idx, last);
	return sk_gcm_open(key, nonce, NULL, 0, p, n, p, p + n) == SK_OK ? SK_OK : SK_EVERIFY;
}

int sk_reader_open(struct sk_store *st, int ns, const char *name,
		   struct sk_obj_info *info, struct sk_reader **out)
{
	struct sk_reader *r;
	int rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	r->fd = -1;
	if ((rc = locate(st, ns, name, info, &r->fd, &r->bodyoff)) != SK_OK) {
		free(r);
		return rc;
	}
	snprintf(r->what, sizeof(r->what), "%s '%s': store file %s", sk_st_ns_name(ns), name, info->file);
	r->st = st;
	r->size = r->left = info->size;
	r->nchunks = info->size == 0 ? 1 : (info->size + CHUNK - 1) / CHUNK;
	r->keyed = (info->flags & SK_OBJ_KEYED) != 0;
	memcpy(r->salt, info->version, 16);
	r->chunk = malloc(CHUNK + TAG);
	if (r->chunk == NULL ||
	    (!r->keyed && (rc = sk_st_object_keys(st, r->salt, NULL, NULL, r->key)) != SK_OK)) {
		if (r->chunk == NULL)
			rc = sk_err(SK_EFAIL, "out of memory");
		sk_obj_info_free(info);
		sk_reader_close(r);
		return rc;
	}
	*out = r;
	return SK_OK;
}

int sk_reader_key(struct sk_reader *r, const uint8_t key[32])
{
	int rc;

	if (!r->keyed)
		return sk_err(SK_EFAIL, "%s: not a keyed object", r->what);
	if ((rc = sk_st_object_keys(r->st, r->salt, key, NULL, r->key)) != SK_OK)
		return rc;
	r->haskey = 1;
	return SK_OK;
}

static int reader_fill(struct sk_reader *r)
{
	size_t n = r->left > CHUNK ? CHUNK : (size_t)r->left;
	int last = r->idx + 1 == r->nchunks;

	if (r->keyed && !r->haskey)
		return sk_err(SK_EAUTH, "%s is protected by a further key (password)", r->what);
	if (sk_read_full(r->fd, r->chunk, n + TAG) != (ssize_t)(n + TAG))
		return sk_err(SK_EVERIFY, "%s was truncated while reading", r->what);
	if (chunk_open(r->key, r->idx, last, r->chunk, n) != SK_OK)
		return sk_err(SK_EVERIFY, r->keyed ? "%s: wrong key, or corrupt or tampered"
						    : "%s failed authentication (corrupt or tampered)",
			      r->what);
	r->idx++;
	r->left -= n;
	r->have = n;
	r->off = 0;
	if (last)
		r->done = 1;
	return SK_OK;
}

ssize_t sk_reader_read(struct sk_reader *r, void *p, size_t n)
{
	size_t got = 0;

	if (r->rc != SK_OK)
		return -1;
	/* Even a read of 0 bytes reads the first chunk: the verified end of an
	 * empty object is its (empty, tagged) last chunk. */
	for (;;) {
		size_t k;

		if (r->off == r->have) {
			if (r->done)
				break;
			if ((r->rc = reader_fill(r)) != SK_OK)
				return -1;
			continue;
		}
		if (got == n)
			break;
		k = r->have - r->off;
		if (k > n - got)
			k = n - got;
		memcpy((uint8_t *)p + got, r->chunk + r->off, k);
		r->off += k;
		got += k;
	}
	return (ssize_t)got;
}

int sk_reader_rewind(struct sk_reader *r)
{
	if (r->rc != SK_OK)
		return r->rc;
	if (lseek(r->fd, (off_t)r->bodyoff, SEEK_SET) < 0)
		return r->rc = sk_err_sys(SK_EFAIL, "%s: reading", r->what);
	OPENSSL_cleanse(r->chunk, CHUNK + TAG);
	r->left = r->size;
	r->idx = 0;
	r->have = r->off = 0;
	r->done = 0;
	return SK_OK;
}

int sk_reader_rc(const struct sk_reader *r)
{
	return r->rc;
}

void sk_reader_close(struct sk_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->chunk != NULL) {
		OPENSSL_cleanse(r->chunk, CHUNK + TAG);
		free(r->chunk);
	}
	OPENSSL_cleanse(r->key, sizeof(r->key));
	free(r);
}

int sk_store_get(struct sk_store *st, int ns, const char *name, size_t max,
		 struct sk_obj_info *info, struct sk_buf *body)
{
	struct sk_obj_info local;
	struct sk_reader *r;
	size_t cap0 = body->cap;
	ssize_t n;
	uint8_t end;
	int rc = SK_OK;

	if (info == NULL)
		info = &local;
	if ((rc = sk_reader_open(st, ns, name, info, &r)) != SK_OK)
		return rc;
	if (info->flags & SK_OBJ_KEYED) {
		rc = sk_err(SK_EAUTH, "%s '%s' is protected by a further key (password)", sk_st_ns_name(ns), name);
		goto out;
	}
	if (info->size > max) {
		rc = sk_err(SK_EFAIL, "%s '%s': larger than %zu bytes", sk_st_ns_name(ns), name, max);
		goto out;
	}
	if ((rc = sk_buf_reserve(body, (size_t)info->size + 1)) != SK_OK)
		goto out;
	n = sk_reader_read(r, body->p + body->len, (size_t)info->size);
	if (n < 0 || (uint64_t)n != info->size) {
		rc = n < 0 ? sk_reader_rc(r) : sk_err(SK_EVERIFY, "%s '%s': short object",
						       sk_st_ns_name(ns), name);
		goto out;
	}
	/* Read to the verified end (the last chunk of an empty object). */
	if (sk_reader_read(r, &end, 1) != 0) {
		rc = sk_reader_rc(r) ? sk_reader_rc(r)
				     : sk_err(SK_EVERIFY, "%s '%s': longer than recorded", sk_st_ns_name(ns), name);
		goto out;
	}
	body->len += (size_t)n;
out:
	if (rc != SK_OK) {
		/* Nothing of an unverified body survives, and a buffer this
		 * call allocated is released: callers need not free on failure. */
		OPENSSL_cleanse(body->p + body->len, body->cap - body->len);
		if (cap0 == 0)
			sk_buf_free(body);
	}
	sk_reader_close(r);
	if (rc != SK_OK || info == &local)
		sk_obj_info_free(info);
	return rc;
}

/* Read a body to its verified end. */
int sk_st_verify_body(struct sk_store *st, int fd, const struct sk_obj_info *info, uint64_t off)
{
	struct sk_reader *r = calloc(1, sizeof(*r));
	uint8_t *buf = malloc(CHUNK);
	ssize_t n;
	int rc = SK_OK;

	if (r == NULL || buf == NULL) {
		free(r);
		free(buf);
		close(fd);
		return sk_err(SK_EFAIL, "out of memory");
	}
	r->st = st;
	r->fd = fd;
	r->size = r->left = info->size;
	r->bodyoff = off;
	r->nchunks = info->size == 0 ? 1 : (info->size + CHUNK - 1) / CHUNK;
	memcpy(r->salt, info->version, 16);
	snprintf(r->what, sizeof(r->what), "%s '%s': store file %s", sk_st_ns_name(info->ns), info->name,
		 info->file);
	r->chunk = malloc(CHUNK + TAG);
	if (r->chunk == NULL)
		rc = sk_err(SK_EFAIL, "out of memory");
	else
		rc = sk_st_object_keys(st, r->salt, NULL, NULL, r->key);
	while (rc == SK_OK && (n = sk_reader_read(r, buf, CHUNK)) != 0)
		if (n < 0)
			rc = sk_reader_rc(r);
	OPENSSL_cleanse(buf, CHUNK);
	free(buf);
	sk_reader_close(r);
	return rc;
}

/* ---- listing ---- */

struct listing {
	struct sk_obj_info *v;
	size_t n, cap;
};

static void listing_free(struct listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		sk_obj_info_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int cmp_info(const void *a, const void *b)
{
	const struct sk_obj_info *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns - y->ns;
	return strcmp(x->name, y->name);
}

/*
 * One readdir of DIR gives the listing its snapshot: which index buckets
 * exist and which object files are there.  Only existing buckets are read
 * (a store of 50 objects has about 45 of its 256; a missing one is empty,
 * as sk_st_bucket_load says), so a listing costs one open per bucket and
 * per object and no failed opens.  The directory is read before the
 * buckets: an object file published meanwhile is either in a bucket read
 * after it or reported unindexed (SK_RETRY), as before.
 */
struct dirscan {
	uint8_t has_bucket[256];
	uint8_t (*files)[32];
	size_t n, cap;
};

static int scan_dir(struct sk_store *st, struct dirscan *ds)
{
	struct dirent *de;
	DIR *d;
	int rc = SK_OK;

	memset(ds->has_bucket, 0, sizeof(ds->has_bucket));
	ds->n = 0;
	if ((d = sk_st_opendir(st->dfd)) == NULL)
		return sk_err_sys(SK_EFAIL, "store '%s': listing", st->dir);
	while ((de = readdir(d)) != NULL) {
		uint8_t b;

		if (strncmp(de->d_name, "idx.", 4) == 0 && sk_st_is_hex(de->d_name + 4, 2) &&
		    de->d_name[6] == '\0' && sk_unhex(&b, 1, de->d_name + 4) == 0) {
			char name[8];

			/* only the spelling sk_st_bucket_name writes (lower case) */
			sk_st_bucket_name(name, b);
			if (strcmp(name, de->d_name) == 0)
				ds->has_bucket[b] = 1;
			continue;
		}
		if (!sk_st_is_object_file(de->d_name))
			continue;
		if (ds->n == ds->cap) {
			size_t cap = ds->cap ? ds->cap * 2 : 64;
			uint8_t (*nf)[32] = realloc(ds->files, cap * sizeof(*nf));

			if (nf == NULL) {
				rc = sk_err(SK_EFAIL, "out of memory");
				break;
			}
			ds->files = nf;
			ds->cap = cap;
		}
		if (sk_unhex(ds->files[ds->n], 32, de->d_name) == 0)
			ds->n++;
	}
	closedir(d);
	return rc;
}

static int try_list(struct sk_store *st, int ns, struct bucket *bks, struct dirscan *ds,
		    struct listing *l)
{
	int b, rc;
	size_t i;

	if ((rc = scan_dir(st, ds)) != SK_OK)
		return rc;
	for (b = 0; b < 256; b++) {
		if (ds->has_bucket[b])
			rc = sk_st_bucket_load(st, b, &bks[b]);
		else
			bks[b].loaded = 1; /* no file: an empty bucket */
		if (rc != SK_OK)
			return rc;
	}
	/* Object files in DIR that the index does not list: retry. */
	for (i = 0; i < ds->n; i++) {
		if (sk_st_bucket_find(&bks[ds->files[i][0]], ds->files[i]) == NULL) {
			char fhex[65];

			sk_st_file_hex(fhex, ds->files[i]);
			return sk_err(SK_RETRY,
				      "store file %s is not in the store index (restored after a deletion, or planted)",
				      fhex);
		}
	}
	for (b = 0; b < 256; b++) {
		for (i = 0; i < bks[b].n; i++) {
			const struct ixent *e = &bks[b].e[i];
			struct sk_obj_info info;
			uint64_t off;
			int fd;

			if (e->state == IX_DELETED)
				continue;
			rc = sk_st_try_locate(st, e->file, &bks[b], 0, NULL, &info, &fd, &off);
			if (rc == SK_ENOTFOUND)
				continue;
			if (rc != SK_OK)
				return rc;
			close(fd);
			if (ns != 0 && info.ns != ns) {
				sk_obj_info_free(&info);
				continue;
			}
			if (l->n == l->cap) {
				size_t cap = l->cap ? l->cap * 2 : 64;
				struct sk_obj_info *nv = realloc(l->v, cap * sizeof(*nv));

				if (nv == NULL) {
					sk_obj_info_free(&info);
					return sk_err(SK_EFAIL, "out of memory");
				}
				l->v = nv;
				l->cap = cap;
			}
			l->v[l->n++] = info;
		}
	}
	return SK_OK;
}

int sk_store_list(struct sk_store *st, int ns, sk_list_fn fn, void *arg)
{
	struct bucket *bks = calloc(256, sizeof(*bks));
	struct listing l = { 0 };
	struct dirscan ds = { 0 };
	int rc, attempt, lockfd = -1;
	size_t i;

	if (bks == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	if (st->stuck != NULL) {
		free(bks);
		return sk_err(SK_EVERIFY, "%s", st->stuck);
	}
	for (attempt = 0;; attempt++) {
		if (attempt == READ_TRIES && !st->exclusive &&
		    (rc = sk_st_take_lock(st, 1, &lockfd)) != SK_OK)
			break;
		listing_free(&l);
		rc = try_list(st, ns, bks, &ds, &l);
		sk_st_free_all_buckets(bks);
		if (rc != SK_RETRY)
			break;
		if (st->exclusive || attempt >= READ_TRIES) {
			rc = sk_err_wrap(SK_EVERIFY, "store '%s'", st->dir);
			break;
		}
	}
	sk_st_release_lock(st, lockfd, 1);
	if (rc == SK_OK) {
		if (l.n > 0) /* qsort(NULL, 0) is undefined (UBSan) */
			qsort(l.v, l.n, sizeof(*l.v), cmp_info);
		for (i = 0; i < l.n; i++)
			if ((rc = fn(&l.v[i], arg)) != 0)
				break;
	}
	listing_free(&l);
	free(ds.files);
	free(bks);
	return rc;
}
