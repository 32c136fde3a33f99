/* SPDX-License-Identifier: MIT */
/*
 * The store's format primitives, the bottom layer every other store file
 * uses and which uses none of them: names of objects, index buckets and
 * staged files, the keys of an object version, body chunk nonces, the
 * tmp/ directory and its files, directory syncs, and the attribute
 * encoding of meta blobs.  docs/formats/store.md is the format.
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

void sk_obj_info_free(struct sk_obj_info *info)
{
	if (info == NULL)
		return;
	free(info->meta);
	info->meta = NULL;
	info->metalen = 0;
}

const char *sk_store_dir(const struct sk_store *st)
{
	return st->dir;
}

const char *sk_st_ns_name(int ns)
{
	switch (ns) {
	case SK_NS_KEY: return "key";
	case SK_NS_PASSWORD: return "password object";
	case SK_NS_DATA: return "object";
	case SK_NS_CERT: return "certificate";
	case SK_NS_STATE: return "state";
	default: return "entry";
	}
}

/* ---- key material and names ---- */

int sk_store_derive(const struct sk_store *st, const char *label, uint8_t out[32])
{
	return sk_hkdf_sha256(st->master, 32, NULL, 0, label, strlen(label), out, 32);
}

/* The header key and the body key of one object version.  A keyed body
 * mixes the caller's key into the input keying material. */
int sk_st_object_keys(const struct sk_store *st, const uint8_t salt[16], const uint8_t *extra,
		      uint8_t hkey[32], uint8_t bkey[32])
{
	static const char hinfo[] = "seckit/v1/header";
	static const char binfo[] = "seckit/v1/body";
	static const char kinfo[] = "seckit/v1/body+key";
	uint8_t ikm[64];
	int rc = SK_OK;

	if (hkey != NULL)
		rc = sk_hkdf_sha256(st->master, 32, salt, 16, hinfo, sizeof(hinfo) - 1, hkey, 32);
	if (rc == SK_OK && bkey != NULL) {
		memcpy(ikm, st->master, 32);
		if (extra != NULL)
			memcpy(ikm + 32, extra, 32);
		rc = sk_hkdf_sha256(ikm, extra ? 64 : 32, salt, 16, extra ? kinfo : binfo,
				    extra ? sizeof(kinfo) - 1 : sizeof(binfo) - 1, bkey, 32);
		OPENSSL_cleanse(ikm, sizeof(ikm));
	}
	return rc;
}

int sk_st_object_file(const struct sk_store *st, int ns, const char *name, uint8_t out[32])
{
	uint8_t in[1 + SK_STORE_NAME_MAX], mac[EVP_MAX_MD_SIZE];
	size_t n = strlen(name), maclen;
	int rc;

	if (n == 0 || n > SK_STORE_NAME_MAX)
		return sk_err(SK_EUSAGE, "%s name must be 1 to %d bytes", sk_st_ns_name(ns),
			      SK_STORE_NAME_MAX);
	in[0] = (uint8_t)ns;
	memcpy(in + 1, name, n);
	rc = sk_hmac("SHA256", st->names_key, 32, in, n + 1, mac, &maclen);
	if (rc == SK_OK)
		memcpy(out, mac, 32);
	return rc;
}

int sk_st_is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Decode 2n hex digits that are followed by more text. */
int sk_st_unhex_prefix(uint8_t *out, size_t n, const char *p)
{
	char tmp[65];

	if (n > 32 || !sk_st_is_hex(p, 2 * n))
		return -1;
	memcpy(tmp, p, 2 * n);
	tmp[2 * n] = '\0';
	return sk_unhex(out, n, tmp);
}

int sk_st_is_object_file(const char *n)
{
	return sk_st_is_hex(n, 64) && n[64] == '\0';
}

void sk_st_file_hex(char out[65], const uint8_t file[32])
{
	sk_hex(out, file, 32);
}

void sk_st_staged_name(char out[STAGED_LEN + 1], const uint8_t file[32], const uint8_t salt[16])
{
	char f[65], s[33];

	sk_hex(f, file, 32);
	sk_hex(s, salt, 16);
	snprintf(out, STAGED_LEN + 1, ".s.%s.%s", f, s);
}

void sk_st_bucket_name(char out[8], int b)
{
	snprintf(out, 8, "idx.%02x", (unsigned)b);
}

/* Chunk i of a body: nonce = i (64 bits, big-endian) || 1 if last else 0
 * (32 bits): a chunk cannot move, and the stream cannot end early. */
void sk_st_chunk_nonce(uint8_t nonce[12], uint64_t idx, int last)
{
	sk_put_be64(nonce, idx);
	sk_put_be32(nonce + 8, last ? 1 : 0);
}

/* ---- the tmp directory ---- */

static int secure_subdir(struct sk_store *st, int fd, const char *what)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0)
		return sk_err_sys(SK_EBACKEND, "store '%s': %s", st->dir, what);
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 022) != 0)
		return sk_err(SK_EBACKEND, "store '%s': %s is insecure (must be a directory owned by uid %u, not writable by group or others)",
			      st->dir, what, (unsigned)geteuid());
	return SK_OK;
}

/* DIR/tmp, created when create is set. */
int sk_st_open_tmpdir(struct sk_store *st, int create)
{
	int fd, rc;

	if (st->tfd >= 0)
		return SK_OK;
	fd = openat(st->dfd, TMPDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(st->dfd, TMPDIR, 0700) != 0 && errno != EEXIST)
			return sk_err_sys(SK_EFAIL, "store '%s': creating %s/", st->dir, TMPDIR);
		fd = openat(st->dfd, TMPDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		if (errno == ENOENT)
			return SK_ENOTFOUND;
		return sk_err_sys(SK_EBACKEND, "store '%s': opening %s/", st->dir, TMPDIR);
	}
	if ((rc = secure_subdir(st, fd, TMPDIR "/")) != SK_OK) {
		close(fd);
		return rc;
	}
	st->tfd = fd;
	return SK_OK;
}

/*
 * A new file in DIR/tmp: O_EXCL, 0600, flock'ed.  A cleaner in another
 * process may have removed it between our open and our flock (it only
 * removes files it can lock); then the link count is 0 and we try again.
 */
int sk_st_tmp_create(struct sk_store *st, char kind, char name[TMPNAME], uint8_t rnd[12], int *fdout)
{
	uint8_t r[12];
	int i, fd, rc;

	if ((rc = sk_st_open_tmpdir(st, 1)) != SK_OK)
		return rc == SK_ENOTFOUND ? sk_err(SK_EFAIL, "store '%s': no %s/", st->dir, TMPDIR) : rc;
	for (i = 0; i < 8; i++) {
		struct stat sb;

		if ((rc = sk_random(r, sizeof(r))) != SK_OK)
			return rc;
		name[0] = kind;
		name[1] = '.';
		sk_hex(name + 2, r, sizeof(r));
		fd = openat(st->tfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			if (errno == EEXIST)
				continue;
			return sk_err_sys(SK_EFAIL, "store '%s': creating a temporary file", st->dir);
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &sb) == 0 && sb.st_nlink > 0) {
			if (rnd != NULL)
				memcpy(rnd, r, sizeof(r));
			*fdout = fd;
			return SK_OK;
		}
		close(fd);
	}
	return sk_err(SK_EFAIL, "store '%s': cannot create a temporary file", st->dir);
}

int sk_st_fsync_dir(struct sk_store *st, int fd)
{
	/* Some filesystems refuse fsync on directories; that is not an error. */
	if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
		return sk_err_sys(SK_EFAIL, "store '%s': syncing the directory", st->dir);
	return SK_OK;
}

DIR *sk_st_opendir(int fd)
{
	int dfd = dup(fd), e;
	DIR *d;

	if (dfd < 0)
		return NULL;
	if ((d = fdopendir(dfd)) == NULL) {
		e = errno;
		close(dfd);
		errno = e;
		return NULL;
	}
	/* A duplicate shares the offset of fd, which an earlier listing
	 * may have moved. */
	rewinddir(d);
	return d;
}

/* ---- attributes ---- */

int sk_attr_put(struct sk_buf *b, uint8_t tag, const void *p, size_t n)
{
	uint8_t h[3];
	int rc;

	if (n > 0xffff)
		return sk_err(SK_EFAIL, "attribute too large");
	h[0] = tag;
	sk_put_be16(h + 1, (uint16_t)n);
	if ((rc = sk_buf_add(b, h, 3)) != SK_OK)
		return rc;
	return sk_buf_add(b, p, n);
}

int sk_attr_put_u64(struct sk_buf *b, uint8_t tag, uint64_t v)
{
	uint8_t x[8];

	sk_put_be64(x, v);
	return sk_attr_put(b, tag, x, 8);
}

int sk_attr_put_str(struct sk_buf *b, uint8_t tag, const char *s)
{
	return sk_attr_put(b, tag, s, strlen(s));
}

int sk_attr_get(const uint8_t *meta, size_t len, uint8_t tag, const uint8_t **p, size_t *n)
{
	size_t pos = 0;

	while (pos < len) {
		size_t l;

		if (len - pos < 3)
			return -1;
		l = sk_get_be16(meta + pos + 1);
		if (len - pos - 3 < l)
			return -1;
		if (meta[pos] == tag) {
			*p = meta + pos + 3;
			*n = l;
			return 1;
		}
		pos += 3 + l;
	}
	return 0;
}

int sk_attr_get_u64(const uint8_t *meta, size_t len, uint8_t tag, uint64_t *v)
{
	const uint8_t *p;
	size_t n;
	int r = sk_attr_get(meta, len, tag, &p, &n);

	if (r != 1)
		return r;
	if (n != 8)
		return -1;
	*v = sk_get_be64(p);
	return 1;
}
