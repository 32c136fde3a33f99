/* SPDX-License-Identifier: MIT */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "err.h"
#include "fileio.h"

/* On-disk constants: see docs/formats/store.md before changing any. */
#define MK_FILE "master.key"
#define MK_MAGIC "SKMK"
#define MK_VERSION 1
#define MK_LEN 56 /* magic 4, version 1, protection 1, reserved 2, key 32, check 16 */
#define OBJ_MAGIC "SKSO"
#define OBJ_VERSION 1
#define OBJ_FIXED 28 /* magic 4, version 1, reserved 3, salt 16, hdr_len 4 */
#define TAG 16
#define CHUNK 65536
#define JOURNAL "journal"
#define JN_MAGIC "SKJN"
#define HDR_MAX (1 + 1 + SK_STORE_NAME_MAX + 8 + 8 + 4 + SK_STORE_META_MAX)

struct sk_store {
	char *dir;
	int dfd;
	unsigned lock_timeout;
	uint8_t master[32];
	uint8_t names_key[32];
	uint8_t journal_key[32];
};

struct op {
	int del;
	char obj[65];
	char tmp[40];
};

struct sk_txn {
	struct sk_store *st;
	int lockfd;
	struct op *ops;
	size_t n, cap;
};

struct sk_writer {
	struct sk_txn *t;
	int fd;
	char tmp[40];
	char obj[65];
	uint8_t key[32];
	uint8_t fixed[OBJ_FIXED];
	uint8_t *hdr;      /* plaintext header, body_len/mtime filled at close */
	size_t hdrlen;
	uint8_t *chunk;    /* CHUNK + TAG bytes */
	size_t fill;
	uint64_t idx, total;
	EVP_CIPHER_CTX *c;
};

struct sk_reader {
	struct sk_store *st;
	int fd;
	int rc;
	uint8_t key[32];
	uint64_t left, idx, nchunks;
	uint8_t *chunk;
	size_t have, off;
	int done;
	char what[300];
	EVP_CIPHER_CTX *c;
};

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

static const char *ns_name(int ns)
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

/* ---- fault injection for the crash tests (see store.h) ---- */

static void crash_point(const char *step)
{
	const char *at = getenv("SECKIT_TEST_CRASH_AT");

	if (at != NULL && strcmp(at, step) == 0)
		kill(getpid(), SIGKILL);
}

/* ---- key material ---- */

int sk_store_derive(const struct sk_store *st, const char *label, uint8_t out[32])
{
	return sk_hkdf_sha256(st->master, 32, NULL, 0, label, strlen(label), out, 32);
}

static int object_file(const struct sk_store *st, int ns, const char *name, char out[65])
{
	uint8_t in[1 + SK_STORE_NAME_MAX], mac[EVP_MAX_MD_SIZE];
	size_t n = strlen(name), maclen;
	int rc;

	if (n == 0 || n > SK_STORE_NAME_MAX)
		return sk_err(SK_EUSAGE, "%s name must be 1 to %d bytes", ns_name(ns),
			      SK_STORE_NAME_MAX);
	in[0] = (uint8_t)ns;
	memcpy(in + 1, name, n);
	rc = sk_hmac("SHA256", st->names_key, 32, in, n + 1, mac, &maclen);
	if (rc == SK_OK)
		sk_hex(out, mac, 32);
	return rc;
}

static int is_object_file(const char *n)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
			return 0;
	return n[64] == '\0';
}

static void mk_check(const uint8_t key[32], uint8_t out[16])
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t n;

	if (sk_hmac("SHA256", key, 32, "seckit/v1/check", 15, mac, &n) == SK_OK)
		memcpy(out, mac, 16);
	else
		memset(out, 0, 16);
}

static int create_master(struct sk_store *st)
{
	uint8_t buf[MK_LEN];
	char tmp[40];
	int fd, rc = SK_OK;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, MK_MAGIC, 4);
	buf[4] = MK_VERSION;
	buf[5] = 0; /* protection: 0 = plain file guarded by permissions */
	if ((rc = sk_random(buf + 8, 32)) != SK_OK)
		return rc;
	mk_check(buf + 8, buf + 40);
	snprintf(tmp, sizeof(tmp), ".tmp.master.%ld", (long)getpid());
	fd = openat(st->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = sk_err_sys(SK_EFAIL, "store '%s': creating master key", st->dir);
		goto out;
	}
	if (sk_write_all(fd, buf, sizeof(buf)) != 0 || fsync(fd) != 0) {
		rc = sk_err_sys(SK_EFAIL, "store '%s': writing master key", st->dir);
		close(fd);
		unlinkat(st->dfd, tmp, 0);
		goto out;
	}
	close(fd);
	/* renameat2(NOREPLACE) semantics by hand: link fails if it exists, so
	 * two processes creating one store at once agree on one key. */
	if (linkat(st->dfd, tmp, st->dfd, MK_FILE, 0) != 0) {
		int e = errno;

		unlinkat(st->dfd, tmp, 0);
		if (e == EEXIST)
			goto out; /* someone else won; read theirs */
		errno = e;
		rc = sk_err_sys(SK_EFAIL, "store '%s': creating master key", st->dir);
		goto out;
	}
	unlinkat(st->dfd, tmp, 0);
	fsync(st->dfd);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

static int load_master(struct sk_store *st, int create)
{
	uint8_t buf[MK_LEN + 1], check[16];
	struct stat sb;
	ssize_t n;
	int fd, rc = SK_OK;

	fd = openat(st->dfd, MK_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create) {
		DIR *d;
		struct dirent *e;
		int other = 0;
		int dfd2 = dup(st->dfd);

		/* Only initialise an empty directory: never adopt one that
		 * holds something else. */
		d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
		if (d == NULL)
			return sk_err_sys(SK_EFAIL, "store '%s'", st->dir);
		while ((e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
			    strcmp(e->d_name, "lock") && strncmp(e->d_name, ".tmp.", 5))
				other = 1;
		closedir(d);
		if (other)
			return sk_err(SK_EBACKEND, "store '%s': not a seckit store (no %s) and not empty",
				      st->dir, MK_FILE);
		if ((rc = create_master(st)) != SK_OK)
			return rc;
		fd = openat(st->dfd, MK_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		if (errno == ENOENT)
			return sk_err(SK_EBACKEND, "store '%s': not a seckit store (no %s)",
				      st->dir, MK_FILE);
		return sk_err_sys(SK_EBACKEND, "store '%s': opening %s", st->dir, MK_FILE);
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return sk_err(SK_EBACKEND, "store '%s': %s is not a regular file", st->dir, MK_FILE);
	}
	if (sb.st_uid != geteuid() || (sb.st_mode & 077) != 0) {
		close(fd);
		return sk_err(SK_EBACKEND,
			      "store '%s': %s is insecure (must be owned by uid %u, mode 0600)",
			      st->dir, MK_FILE, (unsigned)geteuid());
	}
	n = sk_read_full(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return sk_err_sys(SK_EFAIL, "store '%s': reading %s", st->dir, MK_FILE);
	if (n != MK_LEN || memcmp(buf, MK_MAGIC, 4) != 0) {
		rc = sk_err(SK_EVERIFY, "store '%s': %s is corrupt", st->dir, MK_FILE);
		goto out;
	}
	if (buf[4] != MK_VERSION) {
		rc = sk_err(SK_EBACKEND, "store '%s': format version %u is not supported (this seckit reads %u)",
			    st->dir, buf[4], MK_VERSION);
		goto out;
	}
	if (buf[5] != 0) {
		rc = sk_err(SK_EBACKEND, "store '%s': master key protection %u is not supported by this build",
			    st->dir, buf[5]);
		goto out;
	}
	mk_check(buf + 8, check);
	if (!sk_ct_equal(check, buf + 40, 16)) {
		rc = sk_err(SK_EVERIFY, "store '%s': %s is corrupt (check value mismatch)",
			    st->dir, MK_FILE);
		goto out;
	}
	memcpy(st->master, buf + 8, 32);
	if ((rc = sk_store_derive(st, "seckit/v1/names", st->names_key)) == SK_OK)
		rc = sk_store_derive(st, "seckit/v1/journal", st->journal_key);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	size_t i, n = strlen(dir);

	if (n >= sizeof(path))
		return sk_err(SK_EFAIL, "store path too long");
	memcpy(path, dir, n + 1);
	for (i = 1; i < n; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return sk_err_sys(SK_EFAIL, "creating '%s'", path);
		path[i] = '/';
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return sk_err_sys(SK_EFAIL, "creating store '%s'", path);
	return SK_OK;
}

static int recover(struct sk_store *st);
static int lock_store(struct sk_store *st, int *lockfd);

int sk_store_open(const char *dir, const struct sk_store_opts *opts, struct sk_store **out)
{
	struct sk_store *st;
	struct stat sb;
	int rc;

	*out = NULL;
	if (dir == NULL || dir[0] == '\0')
		return sk_err(SK_EUSAGE, "no store directory given");
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	st->dfd = -1;
	st->lock_timeout = opts->lock_timeout;
	if ((st->dir = strdup(dir)) == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto fail;
	}
	st->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dfd < 0 && errno == ENOENT && opts->create) {
		if ((rc = mkdir_p(dir)) != SK_OK)
			goto fail;
		st->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (st->dfd < 0) {
		if (errno == ENOENT)
			rc = sk_err(SK_EBACKEND, "store '%s' does not exist", dir);
		else
			rc = sk_err_sys(SK_EBACKEND, "store '%s'", dir);
		goto fail;
	}
	if (fstat(st->dfd, &sb) != 0) {
		rc = sk_err_sys(SK_EBACKEND, "store '%s'", dir);
		goto fail;
	}
	if (sb.st_uid != geteuid() || (sb.st_mode & 022) != 0) {
		rc = sk_err(SK_EBACKEND,
			    "store '%s' is insecure: it must be owned by uid %u and not writable by group or others",
			    dir, (unsigned)geteuid());
		goto fail;
	}
	if ((rc = load_master(st, opts->create)) != SK_OK)
		goto fail;
	/* A commit interrupted by a crash is finished before anything is read,
	 * so nobody ever sees half of it. */
	if (faccessat(st->dfd, JOURNAL, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		int lockfd;

		if ((rc = lock_store(st, &lockfd)) != SK_OK)
			goto fail;
		rc = recover(st);
		close(lockfd);
		if (rc != SK_OK)
			goto fail;
	}
	*out = st;
	return SK_OK;
fail:
	sk_store_close(st);
	return rc;
}

void sk_store_close(struct sk_store *st)
{
	if (st == NULL)
		return;
	if (st->dfd >= 0)
		close(st->dfd);
	OPENSSL_cleanse(st->master, sizeof(st->master));
	OPENSSL_cleanse(st->names_key, sizeof(st->names_key));
	OPENSSL_cleanse(st->journal_key, sizeof(st->journal_key));
	free(st->dir);
	free(st);
}

/* ---- object encryption ---- */

static int object_key(const uint8_t master[32], const uint8_t salt[16], uint8_t key[32])
{
	static const char info[] = "seckit/v1/object";

	return sk_hkdf_sha256(master, 32, salt, 16, info, sizeof(info) - 1, key, 32);
}

static void chunk_nonce(uint8_t nonce[12], uint64_t idx, int last)
{
	sk_put_be64(nonce, idx);
	sk_put_be32(nonce + 8, last ? 1 : 0);
}

/* Decrypt one chunk in place (ciphertext followed by its tag). */
static int chunk_open(EVP_CIPHER_CTX *c, const uint8_t key[32], uint64_t idx, int last,
		      uint8_t *p, size_t n)
{
	uint8_t nonce[12];
	int len;

	chunk_nonce(nonce, idx, last);
	if (EVP_DecryptInit_ex(c, NULL, NULL, key, nonce) != 1 ||
	    (n && EVP_DecryptUpdate(c, p, &len, p, (int)n) != 1) ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, p + n) != 1 ||
	    EVP_DecryptFinal_ex(c, p + n, &len) != 1) {
		OPENSSL_cleanse(p, n);
		return SK_EVERIFY;
	}
	return SK_OK;
}

static int chunk_seal(EVP_CIPHER_CTX *c, const uint8_t key[32], uint64_t idx, int last,
		      uint8_t *p, size_t n)
{
	uint8_t nonce[12];
	int len;

	chunk_nonce(nonce, idx, last);
	if (EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) != 1 ||
	    (n && EVP_EncryptUpdate(c, p, &len, p, (int)n) != 1) ||
	    EVP_EncryptFinal_ex(c, p + n, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, p + n) != 1)
		return sk_err_ssl(SK_EFAIL, "encrypting store object");
	return SK_OK;
}

static EVP_CIPHER_CTX *gcm_ctx(int enc)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	if (c != NULL && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1) {
		EVP_CIPHER_CTX_free(c);
		c = NULL;
	}
	if (c == NULL)
		sk_err_ssl(SK_EFAIL, "AES-GCM");
	return c;
}

static uint64_t nchunks_for(uint64_t size)
{
	return size == 0 ? 1 : (size + CHUNK - 1) / CHUNK;
}

/*
 * Open an object file and decrypt its header.  want_ns/want_name may be
 * 0/NULL (listing): then whatever the header says is reported, and the file
 * name is checked against it instead.
 */
static int open_object(struct sk_store *st, const char *file, int want_ns,
		       const char *want_name, struct sk_obj_info *info, int *fdout,
		       uint8_t key[32], uint64_t *bodyoff)
{
	uint8_t fixed[OBJ_FIXED], *hdr = NULL, nonce[12] = { 0 };
	char what[320], check[65];
	uint32_t hdrlen;
	uint64_t size, expect, nch;
	struct stat sb;
	size_t nlen, metalen, pos;
	int fd, rc;

	memset(info, 0, sizeof(*info));
	if (want_name)
		snprintf(what, sizeof(what), "%s '%s'", ns_name(want_ns), want_name);
	else
		snprintf(what, sizeof(what), "store file %.16s", file);
	fd = openat(st->dfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return sk_err(SK_ENOTFOUND, "%s: not found", what);
		return sk_err_sys(SK_EFAIL, "%s: opening store file %.16s", what, file);
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = sk_err(SK_EVERIFY, "%s: store file %.16s is not a regular file", what, file);
		goto fail;
	}
	if (sk_read_full(fd, fixed, OBJ_FIXED) != OBJ_FIXED ||
	    memcmp(fixed, OBJ_MAGIC, 4) != 0) {
		rc = sk_err(SK_EVERIFY, "%s: store file %.16s is corrupt or truncated", what, file);
		goto fail;
	}
	if (fixed[4] != OBJ_VERSION) {
		rc = sk_err(SK_EVERIFY, "%s: store file %.16s has unknown format version %u",
			    what, file, fixed[4]);
		goto fail;
	}
	hdrlen = sk_get_be32(fixed + 24);
	if (hdrlen < 22 || hdrlen > HDR_MAX) {
		rc = sk_err(SK_EVERIFY, "%s: store file %.16s is corrupt (bad header length)", what, file);
		goto fail;
	}
	if ((hdr = malloc((size_t)hdrlen + TAG)) == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto fail;
	}
	if (sk_read_full(fd, hdr, (size_t)hdrlen + TAG) != (ssize_t)hdrlen + TAG) {
		rc = sk_err(SK_EVERIFY, "%s: store file %.16s is truncated", what, file);
		goto fail;
	}
	if ((rc = object_key(st->master, fixed + 8, key)) != SK_OK)
		goto fail;
	if (sk_gcm_open(key, nonce, fixed, OBJ_FIXED, hdr, hdrlen, hdr, hdr + hdrlen) != SK_OK) {
		rc = sk_err(SK_EVERIFY, "%s: store file %.16s failed authentication (corrupt or tampered)",
			    what, file);
		goto fail;
	}
	/* Authentic from here on; the parsing checks guard against our own bugs. */
	info->ns = hdr[0];
	nlen = hdr[1];
	pos = 2 + nlen;
	if (nlen == 0 || pos + 20 > hdrlen) {
		rc = sk_err(SK_EVERIFY, "%s: store file %.16s has a malformed header", what, file);
		goto fail;
	}
	memcpy(info->name, hdr + 2, nlen);
	info->name[nlen] = '\0';
	info->size = sk_get_be64(hdr + pos);
	info->mtime = sk_get_be64(hdr + pos + 8);
	metalen = sk_get_be32(hdr + pos + 16);
	pos += 20;
	if (metalen != hdrlen - pos) {
		rc = sk_err(SK_EVERIFY, "%s: store file %.16s has a malformed header", what, file);
		goto fail;
	}
	if (want_name != NULL) {
		if (info->ns != want_ns || strcmp(info->name, want_name) != 0) {
			rc = sk_err(SK_EVERIFY,
				    "%s: store file %.16s holds another object (moved or replaced on disk)",
				    what, file);
			goto fail;
		}
	} else {
		if ((rc = object_file(st, info->ns, info->name, check)) != SK_OK)
			goto fail;
		if (strcmp(check, file) != 0) {
			rc = sk_err(SK_EVERIFY,
				    "store file %.16s holds %s '%s' under another file name (moved or replaced on disk)",
				    file, ns_name(info->ns), info->name);
			goto fail;
		}
	}
	nch = nchunks_for(info->size);
	size = (uint64_t)sb.st_size;
	expect = OBJ_FIXED + (uint64_t)hdrlen + TAG + info->size + nch * TAG;
	if (size != expect) {
		rc = sk_err(SK_EVERIFY, "%s: store file %.16s is %s", what, file,
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
	OPENSSL_cleanse(key, 32);
	close(fd);
	return rc;
}

int sk_store_stat(struct sk_store *st, int ns, const char *name, struct sk_obj_info *info)
{
	char file[65];
	uint8_t key[32];
	uint64_t off;
	int fd, rc;

	if ((rc = object_file(st, ns, name, file)) != SK_OK)
		return rc;
	rc = open_object(st, file, ns, name, info, &fd, key, &off);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc == SK_OK)
		close(fd);
	return rc;
}

int sk_reader_open(struct sk_store *st, int ns, const char *name,
		   struct sk_obj_info *info, struct sk_reader **out)
{
	struct sk_reader *r;
	char file[65];
	uint64_t off;
	int rc;

	*out = NULL;
	if ((rc = object_file(st, ns, name, file)) != SK_OK)
		return rc;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	r->fd = -1;
	rc = open_object(st, file, ns, name, info, &r->fd, r->key, &off);
	if (rc != SK_OK) {
		free(r);
		return rc;
	}
	snprintf(r->what, sizeof(r->what), "%s '%s'", ns_name(ns), name);
	r->st = st;
	r->left = info->size;
	r->nchunks = nchunks_for(info->size);
	r->chunk = malloc(CHUNK + TAG);
	r->c = gcm_ctx(0);
	if (r->chunk == NULL || r->c == NULL) {
		rc = r->chunk == NULL ? sk_err(SK_EFAIL, "out of memory") : SK_EFAIL;
		sk_obj_info_free(info);
		sk_reader_close(r);
		return rc;
	}
	*out = r;
	return SK_OK;
}

static int reader_fill(struct sk_reader *r)
{
	size_t n = r->left > CHUNK ? CHUNK : (size_t)r->left;
	int last = r->idx + 1 == r->nchunks;

	if (sk_read_full(r->fd, r->chunk, n + TAG) != (ssize_t)(n + TAG))
		return sk_err(SK_EVERIFY, "%s: store file truncated while reading", r->what);
	if (chunk_open(r->c, r->key, r->idx, last, r->chunk, n) != SK_OK)
		return sk_err(SK_EVERIFY, "%s: store file failed authentication (corrupt or tampered)",
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
	while (got < n) {
		size_t k;

		if (r->off == r->have) {
			if (r->done)
				break;
			if ((r->rc = reader_fill(r)) != SK_OK)
				return -1;
			continue;
		}
		k = r->have - r->off;
		if (k > n - got)
			k = n - got;
		memcpy((uint8_t *)p + got, r->chunk + r->off, k);
		r->off += k;
		got += k;
	}
	return (ssize_t)got;
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
	EVP_CIPHER_CTX_free(r->c);
	OPENSSL_cleanse(r->key, sizeof(r->key));
	free(r);
}

int sk_store_get(struct sk_store *st, int ns, const char *name, size_t max,
		 struct sk_obj_info *info, struct sk_buf *body)
{
	struct sk_obj_info local;
	struct sk_reader *r;
	ssize_t n;
	int rc;

	if (info == NULL)
		info = &local;
	if ((rc = sk_reader_open(st, ns, name, info, &r)) != SK_OK)
		return rc;
	if (info->size > max) {
		rc = sk_err(SK_EFAIL, "%s '%s': larger than %zu bytes", ns_name(ns), name, max);
		goto out;
	}
	if ((rc = sk_buf_reserve(body, (size_t)info->size)) != SK_OK)
		goto out;
	n = sk_reader_read(r, body->p + body->len, (size_t)info->size);
	if (n < 0 || (uint64_t)n != info->size) {
		rc = n < 0 ? sk_reader_rc(r) : sk_err(SK_EVERIFY, "%s '%s': short object",
						       ns_name(ns), name);
		goto out;
	}
	body->len += (size_t)n;
out:
	sk_reader_close(r);
	if (rc != SK_OK || info == &local)
		sk_obj_info_free(info);
	return rc;
}

/* ---- listing ---- */

struct listent {
	struct sk_obj_info info;
};

static int cmp_info(const void *a, const void *b)
{
	const struct listent *x = a, *y = b;

	if (x->info.ns != y->info.ns)
		return x->info.ns - y->info.ns;
	return strcmp(x->info.name, y->info.name);
}

int sk_store_list(struct sk_store *st, int ns, sk_list_fn fn, void *arg)
{
	struct listent *v = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *e;
	DIR *d;
	int dfd, rc = SK_OK;

	dfd = dup(st->dfd);
	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		return sk_err_sys(SK_EFAIL, "store '%s': listing", st->dir);
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		struct sk_obj_info info;
		uint8_t key[32];
		uint64_t off;
		int fd;

		if (!is_object_file(e->d_name))
			continue;
		rc = open_object(st, e->d_name, 0, NULL, &info, &fd, key, &off);
		OPENSSL_cleanse(key, sizeof(key));
		if (rc == SK_ENOTFOUND) { /* deleted while we listed */
			rc = SK_OK;
			continue;
		}
		if (rc != SK_OK)
			break;
		close(fd);
		if (ns != 0 && info.ns != ns) {
			sk_obj_info_free(&info);
			continue;
		}
		if (n == cap) {
			struct listent *nv;

			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				sk_obj_info_free(&info);
				rc = sk_err(SK_EFAIL, "out of memory");
				break;
			}
			v = nv;
		}
		v[n++].info = info;
	}
	closedir(d);
	if (rc == SK_OK) {
		if (n > 0) /* qsort(NULL, 0) is undefined (UBSan) */
			qsort(v, n, sizeof(*v), cmp_info);
		for (i = 0; i < n; i++)
			if ((rc = fn(&v[i].info, arg)) != 0)
				break;
	}
	for (i = 0; i < n; i++)
		sk_obj_info_free(&v[i].info);
	free(v);
	return rc;
}

/* ---- writing ---- */

static int lock_store(struct sk_store *st, int *lockfd)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	unsigned long waited_ms = 0, limit = (unsigned long)st->lock_timeout * 1000;
	int fd;

	fd = openat(st->dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return sk_err_sys(SK_EBACKEND, "store '%s': opening lock", st->dir);
	/* flock() locks die with their process, so a crashed writer never
	 * leaves the store locked; the wait is bounded all the same. */
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			close(fd);
			return sk_err_sys(SK_EBACKEND, "store '%s': locking", st->dir);
		}
		if (waited_ms >= limit) {
			close(fd);
			return sk_err(SK_EBACKEND, "store '%s' is locked by another process (waited %u s)",
				      st->dir, st->lock_timeout);
		}
		nanosleep(&ts, NULL);
		waited_ms += 5;
	}
	*lockfd = fd;
	return SK_OK;
}

static int journal_mac(const struct sk_store *st, const uint8_t *p, size_t n, uint8_t out[32])
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t len;
	int rc = sk_hmac("SHA256", st->journal_key, 32, p, n, mac, &len);

	memcpy(out, mac, 32);
	return rc;
}

/* Journal: magic, version, count u32, then per op: del u8, obj 64, tmp 40;
 * then HMAC-SHA256 over all of it. */
#define JN_OP 105

static int apply_ops(struct sk_store *st, const uint8_t *ops, size_t n, int crash)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const uint8_t *o = ops + i * JN_OP;
		char obj[65], tmp[41];

		memcpy(obj, o + 1, 64);
		obj[64] = '\0';
		memcpy(tmp, o + 65, 40);
		tmp[40] = '\0';
		tmp[strnlen(tmp, 40)] = '\0';
		if (!is_object_file(obj))
			return sk_err(SK_EVERIFY, "store '%s': journal is corrupt", st->dir);
		if (o[0]) {
			if (unlinkat(st->dfd, obj, 0) != 0 && errno != ENOENT)
				return sk_err_sys(SK_EFAIL, "store '%s': deleting", st->dir);
		} else {
			if (strncmp(tmp, ".tmp.", 5) != 0 || strchr(tmp, '/'))
				return sk_err(SK_EVERIFY, "store '%s': journal is corrupt", st->dir);
			/* Missing temp file: this rename already happened. */
			if (renameat(st->dfd, tmp, st->dfd, obj) != 0 && errno != ENOENT)
				return sk_err_sys(SK_EFAIL, "store '%s': committing", st->dir);
		}
		if (crash && i == 0)
			crash_point("mid-rename");
	}
	if (fsync(st->dfd) != 0 && errno != EINVAL)
		return sk_err_sys(SK_EFAIL, "store '%s': syncing", st->dir);
	return SK_OK;
}

static int recover(struct sk_store *st)
{
	struct sk_buf b = { 0 };
	uint8_t mac[32];
	uint32_t count;
	int fd, rc = SK_OK;

	fd = openat(st->dfd, JOURNAL, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? SK_OK : sk_err_sys(SK_EFAIL, "store '%s': journal", st->dir);
	for (;;) {
		ssize_t r;

		if ((rc = sk_buf_reserve(&b, 4096)) != SK_OK)
			break;
		r = sk_read_full(fd, b.p + b.len, 4096);
		if (r < 0) {
			rc = sk_err_sys(SK_EFAIL, "store '%s': reading journal", st->dir);
			break;
		}
		b.len += (size_t)r;
		if (r == 0 || b.len > (1u << 24))
			break;
	}
	close(fd);
	if (rc != SK_OK)
		goto out;
	if (b.len < 9 + 32 || memcmp(b.p, JN_MAGIC, 4) != 0 || b.p[4] != 1) {
		rc = sk_err(SK_EVERIFY, "store '%s': journal is corrupt", st->dir);
		goto out;
	}
	count = sk_get_be32(b.p + 5);
	if ((uint64_t)count * JN_OP + 9 + 32 != b.len ||
	    (rc = journal_mac(st, b.p, b.len - 32, mac)) != SK_OK ||
	    !sk_ct_equal(mac, b.p + b.len - 32, 32)) {
		rc = rc ? rc : sk_err(SK_EVERIFY, "store '%s': journal failed authentication", st->dir);
		goto out;
	}
	if ((rc = apply_ops(st, b.p + 9, count, 0)) != SK_OK)
		goto out;
	if (unlinkat(st->dfd, JOURNAL, 0) != 0 && errno != ENOENT)
		rc = sk_err_sys(SK_EFAIL, "store '%s': removing journal", st->dir);
	else
		fsync(st->dfd);
out:
	sk_buf_free(&b);
	return rc;
}

static void clean_debris(struct sk_store *st)
{
	struct dirent *e;
	DIR *d;
	int dfd = dup(st->dfd);

	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, ".tmp.", 5) == 0)
			unlinkat(st->dfd, e->d_name, 0);
	closedir(d);
}

int sk_txn_begin(struct sk_store *st, struct sk_txn **out)
{
	struct sk_txn *t;
	int rc;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	t->st = st;
	if ((rc = lock_store(st, &t->lockfd)) != SK_OK) {
		free(t);
		return rc;
	}
	/* Under the lock nobody else is writing: finish an interrupted commit
	 * first, then whatever temporary files remain are debris. */
	if ((rc = recover(st)) != SK_OK) {
		close(t->lockfd);
		free(t);
		return rc;
	}
	clean_debris(st);
	*out = t;
	return SK_OK;
}

static int add_op(struct sk_txn *t, int del, const char *obj, const char *tmp)
{
	size_t i;

	/* A later change to the same object replaces the earlier one. */
	for (i = 0; i < t->n; i++)
		if (strcmp(t->ops[i].obj, obj) == 0)
			break;
	if (i == t->n) {
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 8;
			struct op *o = realloc(t->ops, cap * sizeof(*o));

			if (o == NULL)
				return sk_err(SK_EFAIL, "out of memory");
			t->ops = o;
			t->cap = cap;
		}
		t->n++;
	} else if (!t->ops[i].del) {
		unlinkat(t->st->dfd, t->ops[i].tmp, 0);
	}
	t->ops[i].del = del;
	snprintf(t->ops[i].obj, sizeof(t->ops[i].obj), "%s", obj);
	snprintf(t->ops[i].tmp, sizeof(t->ops[i].tmp), "%s", tmp ? tmp : "");
	return SK_OK;
}

int sk_txn_del(struct sk_txn *t, int ns, const char *name)
{
	char obj[65];
	int rc;

	if ((rc = object_file(t->st, ns, name, obj)) != SK_OK)
		return rc;
	return add_op(t, 1, obj, NULL);
}

static void writer_free(struct sk_writer *w, int unlink_tmp)
{
	if (w->fd >= 0)
		close(w->fd);
	if (unlink_tmp && w->tmp[0])
		unlinkat(w->t->st->dfd, w->tmp, 0);
	if (w->chunk != NULL) {
		OPENSSL_cleanse(w->chunk, CHUNK + TAG);
		free(w->chunk);
	}
	if (w->hdr != NULL) {
		OPENSSL_cleanse(w->hdr, w->hdrlen + TAG);
		free(w->hdr);
	}
	EVP_CIPHER_CTX_free(w->c);
	OPENSSL_cleanse(w->key, sizeof(w->key));
	free(w);
}

int sk_writer_open(struct sk_txn *t, int ns, const char *name, const void *meta,
		   size_t metalen, struct sk_writer **out)
{
	struct sk_writer *w;
	uint8_t rnd[12];
	size_t nlen = strlen(name), pos;
	int rc;

	*out = NULL;
	if (metalen > SK_STORE_META_MAX)
		return sk_err(SK_EFAIL, "%s '%s': attributes too large", ns_name(ns), name);
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	w->t = t;
	w->fd = -1;
	if ((rc = object_file(t->st, ns, name, w->obj)) != SK_OK)
		goto fail;
	w->hdrlen = 2 + nlen + 20 + metalen;
	w->hdr = calloc(1, w->hdrlen + TAG);
	w->chunk = malloc(CHUNK + TAG);
	w->c = gcm_ctx(1);
	if (w->hdr == NULL || w->chunk == NULL || w->c == NULL) {
		rc = w->c == NULL ? SK_EFAIL : sk_err(SK_EFAIL, "out of memory");
		goto fail;
	}
	w->hdr[0] = (uint8_t)ns;
	w->hdr[1] = (uint8_t)nlen;
	memcpy(w->hdr + 2, name, nlen);
	pos = 2 + nlen + 16;
	sk_put_be32(w->hdr + pos, (uint32_t)metalen);
	if (metalen)
		memcpy(w->hdr + pos + 4, meta, metalen);

	memcpy(w->fixed, OBJ_MAGIC, 4);
	w->fixed[4] = OBJ_VERSION;
	if ((rc = sk_random(w->fixed + 8, 16)) != SK_OK ||
	    (rc = sk_random(rnd, sizeof(rnd))) != SK_OK)
		goto fail;
	sk_put_be32(w->fixed + 24, (uint32_t)w->hdrlen);
	if ((rc = object_key(t->st->master, w->fixed + 8, w->key)) != SK_OK)
		goto fail;
	memcpy(w->tmp, ".tmp.", 5);
	sk_hex(w->tmp + 5, rnd, sizeof(rnd));
	w->fd = openat(t->st->dfd, w->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (w->fd < 0) {
		w->tmp[0] = '\0';
		rc = sk_err_sys(SK_EFAIL, "store '%s': creating %s '%s'", t->st->dir, ns_name(ns), name);
		goto fail;
	}
	/* Room for the header, written last when the size is known. */
	if (lseek(w->fd, (off_t)(OBJ_FIXED + w->hdrlen + TAG), SEEK_SET) < 0) {
		rc = sk_err_sys(SK_EFAIL, "store '%s': writing", t->st->dir);
		goto fail;
	}
	*out = w;
	return SK_OK;
fail:
	writer_free(w, 1);
	return rc;
}

static int flush_chunk(struct sk_writer *w, int last)
{
	int rc = chunk_seal(w->c, w->key, w->idx, last, w->chunk, w->fill);

	if (rc != SK_OK)
		return rc;
	if (sk_write_all(w->fd, w->chunk, w->fill + TAG) != 0)
		return sk_err_sys(SK_EFAIL, "store '%s': writing", w->t->st->dir);
	w->idx++;
	w->fill = 0;
	return SK_OK;
}

int sk_writer_write(struct sk_writer *w, const void *p, size_t n)
{
	const uint8_t *q = p;
	int rc;

	while (n > 0) {
		size_t k;

		/* A full chunk is only sealed once more data shows it is not
		 * the last one. */
		if (w->fill == CHUNK && (rc = flush_chunk(w, 0)) != SK_OK)
			return rc;
		k = CHUNK - w->fill;
		if (k > n)
			k = n;
		memcpy(w->chunk + w->fill, q, k);
		w->fill += k;
		w->total += k;
		q += k;
		n -= k;
	}
	return SK_OK;
}

int sk_writer_close(struct sk_writer *w)
{
	uint8_t nonce[12] = { 0 }, *out = NULL;
	size_t pos;
	int rc;

	if ((rc = flush_chunk(w, 1)) != SK_OK)
		goto fail;
	pos = 2 + (size_t)w->hdr[1];
	sk_put_be64(w->hdr + pos, w->total);
	sk_put_be64(w->hdr + pos + 8, (uint64_t)time(NULL));
	out = malloc(OBJ_FIXED + w->hdrlen + TAG);
	if (out == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto fail;
	}
	memcpy(out, w->fixed, OBJ_FIXED);
	if ((rc = sk_gcm_seal(w->key, nonce, w->fixed, OBJ_FIXED, w->hdr, w->hdrlen,
			      out + OBJ_FIXED, out + OBJ_FIXED + w->hdrlen)) != SK_OK)
		goto fail;
	if (pwrite(w->fd, out, OBJ_FIXED + w->hdrlen + TAG, 0) !=
		    (ssize_t)(OBJ_FIXED + w->hdrlen + TAG) ||
	    fsync(w->fd) != 0) {
		rc = sk_err_sys(SK_EFAIL, "store '%s': writing", w->t->st->dir);
		goto fail;
	}
	free(out);
	out = NULL;
	if ((rc = add_op(w->t, 0, w->obj, w->tmp)) != SK_OK)
		goto fail;
	w->tmp[0] = '\0'; /* now owned by the transaction */
	writer_free(w, 0);
	return SK_OK;
fail:
	free(out);
	writer_free(w, 1);
	return rc;
}

int sk_txn_put(struct sk_txn *t, int ns, const char *name, const void *meta,
	       size_t metalen, const void *body, size_t bodylen)
{
	struct sk_writer *w;
	int rc;

	if ((rc = sk_writer_open(t, ns, name, meta, metalen, &w)) != SK_OK)
		return rc;
	if ((rc = sk_writer_write(w, body, bodylen)) != SK_OK) {
		writer_free(w, 1);
		return rc;
	}
	return sk_writer_close(w);
}

static void txn_free(struct sk_txn *t, int unlink_tmps)
{
	size_t i;

	if (unlink_tmps)
		for (i = 0; i < t->n; i++)
			if (!t->ops[i].del)
				unlinkat(t->st->dfd, t->ops[i].tmp, 0);
	if (t->lockfd >= 0)
		close(t->lockfd);
	free(t->ops);
	free(t);
}

void sk_txn_abort(struct sk_txn *t)
{
	if (t != NULL)
		txn_free(t, 1);
}

int sk_txn_commit(struct sk_txn *t)
{
	struct sk_store *st = t->st;
	uint8_t *j = NULL;
	size_t jlen = 0, i;
	int fd = -1, rc = SK_OK;

	crash_point("before-rename");
	if (t->n <= 1) {
		/* One rename (or unlink) is atomic by itself. */
		if (t->n == 1) {
			uint8_t op[JN_OP] = { 0 };

			op[0] = (uint8_t)t->ops[0].del;
			memcpy(op + 1, t->ops[0].obj, 64);
			memcpy(op + 65, t->ops[0].tmp, strlen(t->ops[0].tmp));
			rc = apply_ops(st, op, 1, 0);
		}
		txn_free(t, rc != SK_OK);
		return rc;
	}
	jlen = 9 + t->n * JN_OP + 32;
	j = calloc(1, jlen);
	if (j == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto out;
	}
	memcpy(j, JN_MAGIC, 4);
	j[4] = 1;
	sk_put_be32(j + 5, (uint32_t)t->n);
	for (i = 0; i < t->n; i++) {
		uint8_t *o = j + 9 + i * JN_OP;

		o[0] = (uint8_t)t->ops[i].del;
		memcpy(o + 1, t->ops[i].obj, 64);
		memcpy(o + 65, t->ops[i].tmp, strlen(t->ops[i].tmp));
	}
	if ((rc = journal_mac(st, j, jlen - 32, j + jlen - 32)) != SK_OK)
		goto out;
	fd = openat(st->dfd, ".tmp.journal", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || sk_write_all(fd, j, jlen) != 0 || fsync(fd) != 0) {
		rc = sk_err_sys(SK_EFAIL, "store '%s': writing journal", st->dir);
		goto out;
	}
	close(fd);
	fd = -1;
	if (renameat(st->dfd, ".tmp.journal", st->dfd, JOURNAL) != 0 || fsync(st->dfd) != 0) {
		rc = sk_err_sys(SK_EFAIL, "store '%s': writing journal", st->dir);
		goto out;
	}
	/* From here the commit will complete, now or at the next open. */
	crash_point("after-journal");
	if ((rc = apply_ops(st, j + 9, t->n, 1)) != SK_OK)
		goto done;
	if (unlinkat(st->dfd, JOURNAL, 0) != 0)
		rc = sk_err_sys(SK_EFAIL, "store '%s': removing journal", st->dir);
	else
		fsync(st->dfd);
done:
	free(j);
	txn_free(t, 0);
	return rc;
out:
	if (fd >= 0)
		close(fd);
	unlinkat(st->dfd, ".tmp.journal", 0);
	free(j);
	txn_free(t, 1);
	return rc;
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
