/* SPDX-License-Identifier: MIT */
/*
 * The sealed object store.  The on-disk format and the reasoning behind
 * the commit protocol are in docs/formats/store.md; keep the two in step.
 *
 * Commit protocol (one writer at a time, under flock(DIR/lock)):
 *   1. bodies are streamed into DIR/tmp/o.* (fsync'd), possibly before the
 *      lock is taken; each is flock'ed by its writer so that a cleaner
 *      running in another process can tell it from debris;
 *   2. under the lock, pending work that earlier commits left in the index
 *      buckets concerned is finished (roll forward), and the new versions
 *      are renamed to DIR/.s.<file>.<salt> ("staged");
 *   3. the new index bucket images are written to DIR/tmp and fsync'd, then
 *      the directory is fsync'd (staged files durable);
 *   4. commit point: one bucket: rename the image over DIR/idx.XX and fsync
 *      the directory; several buckets: a MAC'd journal naming the images
 *      is renamed to DIR/journal and the directory fsync'd, then the images
 *      are renamed and the journal removed;
 *   5. staged files are renamed over the object files and deleted objects
 *      unlinked.  The index marks these entries STAGED / DELETED until a
 *      later commit of the same bucket (or a reader, or the crash cleanup)
 *      has seen them done, so a crash here loses nothing.
 * Readers need no lock: an index entry names the salt of the current
 * version, and a STAGED entry tells them where to find it until step 5.
 */
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
#define OBJ_FIXED 28 /* magic 4, version 1, reserved 3, salt 16, header length 4 */
#define HDR_MIN 24   /* ns 1, name length 1, name >= 1, flags 1, size 8, mtime 8, meta length 4 */
#define HDR_MAX (HDR_MIN - 1 + SK_STORE_NAME_MAX + SK_STORE_META_MAX)
#define TAG 16
#define CHUNK 65536
#define IX_MAGIC "SKIX"
#define IX_VERSION 1
#define IX_HEAD 12   /* magic 4, version 1, bucket 1, reserved 2, count 4 */
#define IX_ENT 49    /* file 32, salt 16, state 1 */
#define IX_MAX_ENTRIES (1u << 22)
#define JN_MAGIC "SKJN"
#define JN_VERSION 1
#define JN_ENT 13    /* bucket 1, image name random part 12 */
#define JOURNAL "journal"
#define LOCKFILE "lock"
#define TMPDIR "tmp"
#define TMPNAME 32   /* "o.<24 hex>" and friends, NUL included */
#define STAGED_LEN 100 /* ".s." 64 hex "." 32 hex */
#define READ_TRIES 3 /* unlocked attempts before a reader takes the lock */

enum { IX_LIVE = 0, IX_STAGED = 1, IX_DELETED = 2 };

/* Internal result of a lookup: index and files disagree, perhaps because a
 * writer is between two renames; the message says what was seen. */
#define SK_RETRY (-1)

struct sk_store {
	char *dir;
	int dfd;                 /* the store directory */
	int tfd;                 /* DIR/tmp, -1 until needed */
	unsigned lock_timeout;
	int exclusive;           /* this process holds the writer lock */
	uint8_t master[32];
	uint8_t names_key[32];
	uint8_t index_key[32];
	uint8_t journal_key[32];
};

struct ixent {
	uint8_t file[32];
	uint8_t salt[16];
	uint8_t state;
};

struct bucket {
	int loaded;
	size_t n, cap;
	struct ixent *e;
};

struct op {
	int del;
	uint8_t file[32];
	uint8_t salt[16];
	char tmp[TMPNAME];       /* body in DIR/tmp ("" once staged or for deletes) */
	int fd;                  /* held (flock'ed) while the transaction is unlocked */
	int staged;
};

struct sk_txn {
	struct sk_store *st;
	int lockfd;              /* -1 while unlocked */
	int nwriters;            /* writers open on this transaction */
	struct op *ops;
	size_t n, cap;
};

struct sk_writer {
	struct sk_txn *t;
	int fd;
	char tmp[TMPNAME];
	uint8_t file[32];
	uint8_t salt[16];
	uint8_t hkey[32], bkey[32];
	uint8_t fixed[OBJ_FIXED];
	uint8_t *hdr;            /* plaintext header; size and mtime filled at close */
	size_t hdrlen, sizepos;
	uint8_t *chunk;          /* CHUNK + TAG bytes */
	size_t fill;
	uint64_t idx, total;
	EVP_CIPHER_CTX *c;
	char what[420];
};

struct sk_reader {
	struct sk_store *st;
	int fd;
	int rc;
	int keyed, haskey;
	uint8_t salt[16];
	uint8_t key[32];
	uint64_t size, left, idx, nchunks, bodyoff;
	uint8_t *chunk;
	size_t have, off;
	int done;
	char what[420];
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

/* ---- test hooks (see store.h) ---- */

/* The hit counter is process-wide test state, the one static here: it only
 * exists so that a test can crash at the N-th pass through a step. */
static void crash_point(const char *step)
{
	static unsigned hits;
	const char *at = getenv("SECKIT_TEST_CRASH_AT");
	size_t n = strlen(step);
	unsigned long want = 1;

	if (at == NULL || strncmp(at, step, n) != 0 || (at[n] != '\0' && at[n] != ':'))
		return;
	if (at[n] == ':')
		want = strtoul(at + n + 1, NULL, 10);
	if (++hits >= want)
		kill(getpid(), SIGKILL);
}

/* 1 (errno = EIO) if the test asks this I/O step to fail. */
static int fail_point(const char *step)
{
	const char *at = getenv("SECKIT_TEST_FAIL_AT");

	if (at != NULL && strcmp(at, step) == 0) {
		errno = EIO;
		return 1;
	}
	return 0;
}

/* ---- key material and names ---- */

int sk_store_derive(const struct sk_store *st, const char *label, uint8_t out[32])
{
	return sk_hkdf_sha256(st->master, 32, NULL, 0, label, strlen(label), out, 32);
}

/* The header key and the body key of one object version.  A keyed body
 * mixes the caller's key into the input keying material. */
static int object_keys(const struct sk_store *st, const uint8_t salt[16], const uint8_t *extra,
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

static int object_file(const struct sk_store *st, int ns, const char *name, uint8_t out[32])
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
		memcpy(out, mac, 32);
	return rc;
}

static int is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Decode 2n hex digits that are followed by more text. */
static int unhex_prefix(uint8_t *out, size_t n, const char *p)
{
	char tmp[65];

	if (n > 32 || !is_hex(p, 2 * n))
		return -1;
	memcpy(tmp, p, 2 * n);
	tmp[2 * n] = '\0';
	return sk_unhex(out, n, tmp);
}

static int is_object_file(const char *n)
{
	return is_hex(n, 64) && n[64] == '\0';
}

static void file_hex(char out[65], const uint8_t file[32])
{
	sk_hex(out, file, 32);
}

static void staged_name(char out[STAGED_LEN + 1], const uint8_t file[32], const uint8_t salt[16])
{
	char f[65], s[33];

	sk_hex(f, file, 32);
	sk_hex(s, salt, 16);
	snprintf(out, STAGED_LEN + 1, ".s.%s.%s", f, s);
}

static void bucket_name(char out[8], int b)
{
	snprintf(out, 8, "idx.%02x", (unsigned)b);
}

/* ---- master key ---- */

static int mk_check(const uint8_t buf[MK_LEN], uint8_t out[16])
{
	uint8_t in[22 + 8], mac[EVP_MAX_MD_SIZE];
	size_t n;
	int rc;

	/* The check value covers the header bytes too: any change to the file
	 * shows as a mismatch. */
	memcpy(in, "seckit/v1/master-check", 22);
	memcpy(in + 22, buf, 8);
	rc = sk_hmac("SHA256", buf + 8, 32, in, sizeof(in), mac, &n);
	if (rc == SK_OK)
		memcpy(out, mac, 16);
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

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
static int open_tmpdir(struct sk_store *st, int create)
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
static int tmp_create(struct sk_store *st, char kind, char name[TMPNAME], uint8_t rnd[12], int *fdout)
{
	uint8_t r[12];
	int i, fd, rc;

	if ((rc = open_tmpdir(st, 1)) != SK_OK)
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

static int fsync_dir(struct sk_store *st, int fd)
{
	/* Some filesystems refuse fsync on directories; that is not an error. */
	if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
		return sk_err_sys(SK_EFAIL, "store '%s': syncing the directory", st->dir);
	return SK_OK;
}

static int create_master(struct sk_store *st)
{
	uint8_t buf[MK_LEN];
	char tmp[TMPNAME];
	int fd = -1, rc;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, MK_MAGIC, 4);
	buf[4] = MK_VERSION;
	buf[5] = 0; /* protection: 0 = plain file guarded by permissions */
	if ((rc = sk_random(buf + 8, 32)) != SK_OK || (rc = mk_check(buf, buf + 40)) != SK_OK)
		goto out;
	if ((rc = tmp_create(st, 'm', tmp, NULL, &fd)) != SK_OK)
		goto out;
	if (sk_write_all(fd, buf, sizeof(buf)) != 0 || fsync(fd) != 0) {
		rc = sk_err_sys(SK_EFAIL, "store '%s': writing %s", st->dir, MK_FILE);
		unlinkat(st->tfd, tmp, 0);
		goto out;
	}
	/* link(2), not rename: it fails if the name exists, so two processes
	 * creating one store at once agree on one key. */
	if (linkat(st->tfd, tmp, st->dfd, MK_FILE, 0) != 0) {
		int e = errno;

		unlinkat(st->tfd, tmp, 0);
		if (e != EEXIST) {
			errno = e;
			rc = sk_err_sys(SK_EFAIL, "store '%s': creating %s", st->dir, MK_FILE);
		}
		goto out; /* EEXIST: someone else won; read theirs */
	}
	unlinkat(st->tfd, tmp, 0);
	rc = fsync_dir(st, st->dfd);
out:
	if (fd >= 0)
		close(fd);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/* Only an empty directory (or one holding nothing but our own debris) is
 * turned into a store: never adopt one that holds something else. */
static int dir_is_empty(struct sk_store *st, int *empty)
{
	struct dirent *e;
	DIR *d;
	int dfd2 = dup(st->dfd);

	d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
	if (d == NULL) {
		if (dfd2 >= 0)
			close(dfd2);
		return sk_err_sys(SK_EFAIL, "store '%s'", st->dir);
	}
	rewinddir(d);
	*empty = 1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, LOCKFILE) &&
		    strcmp(e->d_name, TMPDIR))
			*empty = 0;
	closedir(d);
	return SK_OK;
}

static int load_master(struct sk_store *st, int create)
{
	uint8_t buf[MK_LEN + 1], check[16];
	struct stat sb;
	ssize_t n;
	int fd, rc = SK_OK;

	fd = openat(st->dfd, MK_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT && create) {
		int empty = 0;

		if ((rc = dir_is_empty(st, &empty)) != SK_OK)
			return rc;
		/* Another process creating the store at the same time may have
		 * put its master key and first objects there meanwhile. */
		fd = openat(st->dfd, MK_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0 && errno == ENOENT) {
			if (!empty)
				return sk_err(SK_EBACKEND, "store '%s': not a seckit store (no %s) and not empty",
					      st->dir, MK_FILE);
			if ((rc = create_master(st)) != SK_OK)
				return rc;
			fd = openat(st->dfd, MK_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		}
	}
	if (fd < 0) {
		if (errno == ENOENT)
			return sk_err(SK_EBACKEND, "store '%s': not a seckit store (no %s)",
				      st->dir, MK_FILE);
		if (errno == ELOOP)
			return sk_err(SK_EVERIFY, "store '%s': %s is a symbolic link (tampered)",
				      st->dir, MK_FILE);
		return sk_err_sys(SK_EBACKEND, "store '%s': opening %s", st->dir, MK_FILE);
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return sk_err(SK_EVERIFY, "store '%s': %s is not a regular file", st->dir, MK_FILE);
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
		rc = sk_err(SK_EVERIFY, "store '%s': %s is corrupt (bad length or magic)", st->dir, MK_FILE);
		goto out;
	}
	if (buf[4] != MK_VERSION) {
		rc = sk_err(SK_EVERIFY, "store '%s': %s has format version %u, which this seckit cannot read (corrupt, or written by a newer seckit)",
			    st->dir, MK_FILE, buf[4]);
		goto out;
	}
	if (buf[5] != 0) {
		rc = sk_err(SK_EBACKEND, "store '%s': master key protection %u is not supported by this build",
			    st->dir, buf[5]);
		goto out;
	}
	if ((rc = mk_check(buf, check)) != SK_OK)
		goto out;
	if (!sk_ct_equal(check, buf + 40, 16)) {
		rc = sk_err(SK_EVERIFY, "store '%s': %s is corrupt (check value mismatch)",
			    st->dir, MK_FILE);
		goto out;
	}
	memcpy(st->master, buf + 8, 32);
	if ((rc = sk_store_derive(st, "seckit/v1/names", st->names_key)) == SK_OK &&
	    (rc = sk_store_derive(st, "seckit/v1/index", st->index_key)) == SK_OK)
		rc = sk_store_derive(st, "seckit/v1/journal", st->journal_key);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(check, sizeof(check));
	return rc;
}

/* mkdir -p with mode 0700 for every directory made: nothing we create is
 * readable by others, whatever the umask. */
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
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return sk_err_sys(SK_EFAIL, "creating '%s'", path);
		path[i] = '/';
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return sk_err_sys(SK_EFAIL, "creating store '%s'", path);
	return SK_OK;
}

static int take_lock(struct sk_store *st, int shared, int *lockfd);
static void release_lock(struct sk_store *st, int fd, int shared);
static int recover(struct sk_store *st);

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
	st->tfd = -1;
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
	/* A commit that spans index buckets and was interrupted by a crash is
	 * finished before anything is read, so nobody sees half of it. */
	if (faccessat(st->dfd, JOURNAL, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		int lockfd;

		if ((rc = take_lock(st, 0, &lockfd)) != SK_OK)
			goto fail;
		rc = recover(st);
		release_lock(st, lockfd, 0);
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
	if (st->tfd >= 0)
		close(st->tfd);
	OPENSSL_cleanse(st->master, sizeof(st->master));
	OPENSSL_cleanse(st->names_key, sizeof(st->names_key));
	OPENSSL_cleanse(st->index_key, sizeof(st->index_key));
	OPENSSL_cleanse(st->journal_key, sizeof(st->journal_key));
	free(st->dir);
	free(st);
}

/* ---- the index ---- */

static void bucket_free(struct bucket *bk)
{
	free(bk->e);
	memset(bk, 0, sizeof(*bk));
}

static int ixent_cmp(const void *a, const void *b)
{
	return memcmp(((const struct ixent *)a)->file, ((const struct ixent *)b)->file, 32);
}

static struct ixent *bucket_find(const struct bucket *bk, const uint8_t file[32])
{
	struct ixent key;

	if (bk->n == 0)
		return NULL;
	memcpy(key.file, file, 32);
	return bsearch(&key, bk->e, bk->n, sizeof(key), ixent_cmp);
}

static int bucket_set(struct bucket *bk, const uint8_t file[32], const uint8_t salt[16], int state)
{
	struct ixent *e = bucket_find(bk, file);
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

static void bucket_remove(struct bucket *bk, struct ixent *e)
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

/* Read and verify DIR/idx.XX; a missing bucket is an empty one. */
static int bucket_load(struct sk_store *st, int b, struct bucket *bk)
{
	char name[8];
	uint8_t mac[32], *p = NULL;
	struct stat sb;
	uint32_t count;
	size_t len, i;
	int fd, rc = SK_OK;

	bucket_free(bk);
	bucket_name(name, b);
	fd = openat(st->dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT) {
			bk->loaded = 1;
			return SK_OK;
		}
		if (errno == ELOOP)
			return sk_err(SK_EVERIFY, "store '%s': index %s is a symbolic link (tampered)",
				      st->dir, name);
		return sk_err_sys(SK_EFAIL, "store '%s': opening index %s", st->dir, name);
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < IX_HEAD + 32 ||
	    (uint64_t)sb.st_size > IX_HEAD + 32 + (uint64_t)IX_MAX_ENTRIES * IX_ENT) {
		rc = sk_err(SK_EVERIFY, "store '%s': index %s is corrupt (bad size)", st->dir, name);
		goto out;
	}
	len = (size_t)sb.st_size;
	if ((p = malloc(len)) == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto out;
	}
	if (sk_read_full(fd, p, len) != (ssize_t)len) {
		rc = sk_err(SK_EVERIFY, "store '%s': index %s is truncated", st->dir, name);
		goto out;
	}
	if ((rc = index_mac(st, p, len - 32, mac)) != SK_OK)
		goto out;
	if (!sk_ct_equal(mac, p + len - 32, 32)) {
		rc = sk_err(SK_EVERIFY, "store '%s': index %s failed authentication (corrupt or tampered)",
			    st->dir, name);
		goto out;
	}
	/* Authentic from here; the checks below guard against our own bugs
	 * and a bucket file renamed onto another bucket's name. */
	count = sk_get_be32(p + 8);
	if (memcmp(p, IX_MAGIC, 4) != 0 || p[4] != IX_VERSION || p[5] != (uint8_t)b || p[6] || p[7] ||
	    (uint64_t)count * IX_ENT + IX_HEAD + 32 != len) {
		rc = sk_err(SK_EVERIFY, "store '%s': index %s is malformed or belongs to another bucket",
			    st->dir, name);
		goto out;
	}
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
		bucket_free(bk);
	free(p);
	close(fd);
	return rc;
}

static int bucket_image(struct sk_store *st, int b, const struct bucket *bk, struct sk_buf *out)
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

/* ---- object files ---- */

/*
 * Open an object file (name: file in DIR) and decrypt its header.  want_name
 * set: the header must name that object; NULL (listing, checking): the file
 * name must match whatever the header says.  On success the descriptor is
 * positioned at the body.
 */
static int open_object(struct sk_store *st, const char *fname, const uint8_t file[32], int want_ns,
		       const char *want_name, struct sk_obj_info *info, int *fdout,
		       uint64_t *bodyoff)
{
	uint8_t fixed[OBJ_FIXED], *hdr = NULL, nonce[12] = { 0 }, hkey[32], check[32];
	char what[320], fhex[65];
	uint32_t hdrlen = 0;
	uint64_t size, expect, nch;
	struct stat sb;
	size_t nlen, metalen, pos;
	int fd, rc;

	memset(info, 0, sizeof(*info));
	file_hex(fhex, file);
	if (want_name)
		snprintf(what, sizeof(what), "%s '%s': store file %s", ns_name(want_ns), want_name, fhex);
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
	if (sk_read_full(fd, fixed, OBJ_FIXED) != OBJ_FIXED || memcmp(fixed, OBJ_MAGIC, 4) != 0) {
		rc = sk_err(SK_EVERIFY, "%s is corrupt or truncated", what);
		goto fail;
	}
	if (fixed[4] != OBJ_VERSION || fixed[5] || fixed[6] || fixed[7]) {
		rc = sk_err(SK_EVERIFY, "%s has an unknown format version (corrupt, or written by a newer seckit)",
			    what);
		goto fail;
	}
	hdrlen = sk_get_be32(fixed + 24);
	if (hdrlen < HDR_MIN || hdrlen > HDR_MAX) {
		rc = sk_err(SK_EVERIFY, "%s is corrupt (bad header length)", what);
		goto fail;
	}
	if ((hdr = malloc((size_t)hdrlen + TAG)) == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto fail;
	}
	if (sk_read_full(fd, hdr, (size_t)hdrlen + TAG) != (ssize_t)hdrlen + TAG) {
		rc = sk_err(SK_EVERIFY, "%s is truncated", what);
		goto fail;
	}
	if ((rc = object_keys(st, fixed + 8, NULL, hkey, NULL)) != SK_OK)
		goto fail;
	rc = sk_gcm_open(hkey, nonce, fixed, OBJ_FIXED, hdr, hdrlen, hdr, hdr + hdrlen);
	OPENSSL_cleanse(hkey, sizeof(hkey));
	if (rc != SK_OK) {
		rc = sk_err(SK_EVERIFY, "%s failed authentication (corrupt or tampered)", what);
		goto fail;
	}
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
		if ((rc = object_file(st, info->ns, info->name, check)) != SK_OK)
			goto fail;
		if (memcmp(check, file, 32) != 0) {
			rc = sk_err(SK_EVERIFY, "%s holds %s '%s' under another file name (moved or replaced on disk)",
				    what, ns_name(info->ns), info->name);
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
static int try_locate(struct sk_store *st, const uint8_t file[32], const struct bucket *bk,
		      int want_ns, const char *want_name, struct sk_obj_info *info, int *fdout,
		      uint64_t *bodyoff)
{
	const struct ixent *e = bucket_find(bk, file);
	char fname[65], sname[STAGED_LEN + 1];
	int fd = -1, rc;

	file_hex(fname, file);
	rc = open_object(st, fname, file, want_ns, want_name, info, &fd, bodyoff);
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

		staged_name(sname, file, e->salt);
		rc2 = open_object(st, sname, file, want_ns, want_name, info, &fd, bodyoff);
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

	if ((rc = object_file(st, ns, name, file)) != SK_OK)
		return rc;
	for (attempt = 0;; attempt++) {
		if (attempt == READ_TRIES && !st->exclusive &&
		    (rc = take_lock(st, 1, &lockfd)) != SK_OK)
			break;
		if ((rc = bucket_load(st, file[0], &bk)) != SK_OK)
			break;
		rc = try_locate(st, file, &bk, ns, name, info, fdout, bodyoff);
		if (rc != SK_RETRY)
			break;
		if (st->exclusive || attempt >= READ_TRIES) {
			rc = sk_err_wrap(SK_EVERIFY, "%s '%s'", ns_name(ns), name);
			break;
		}
	}
	if (rc == SK_ENOTFOUND)
		sk_err(SK_ENOTFOUND, "%s '%s': not found", ns_name(ns), name);
	release_lock(st, lockfd, 1);
	bucket_free(&bk);
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

/* Chunk i of a body: nonce = i (64 bits, big-endian) || 1 if last else 0
 * (32 bits): a chunk cannot move, and the stream cannot end early. */
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
	snprintf(r->what, sizeof(r->what), "%s '%s': store file %s", ns_name(ns), name, info->file);
	r->st = st;
	r->size = r->left = info->size;
	r->nchunks = info->size == 0 ? 1 : (info->size + CHUNK - 1) / CHUNK;
	r->keyed = (info->flags & SK_OBJ_KEYED) != 0;
	memcpy(r->salt, info->version, 16);
	r->chunk = malloc(CHUNK + TAG);
	r->c = gcm_ctx(0);
	if (r->chunk == NULL || r->c == NULL ||
	    (!r->keyed && (rc = object_keys(st, r->salt, NULL, NULL, r->key)) != SK_OK)) {
		if (r->chunk == NULL)
			rc = sk_err(SK_EFAIL, "out of memory");
		else if (r->c == NULL)
			rc = SK_EFAIL;
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
	if ((rc = object_keys(r->st, r->salt, key, NULL, r->key)) != SK_OK)
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
	if (chunk_open(r->c, r->key, r->idx, last, r->chunk, n) != SK_OK)
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
	uint8_t end;
	int rc = SK_OK;

	if (info == NULL)
		info = &local;
	if ((rc = sk_reader_open(st, ns, name, info, &r)) != SK_OK)
		return rc;
	if (info->flags & SK_OBJ_KEYED) {
		rc = sk_err(SK_EAUTH, "%s '%s' is protected by a further key (password)", ns_name(ns), name);
		goto out;
	}
	if (info->size > max) {
		rc = sk_err(SK_EFAIL, "%s '%s': larger than %zu bytes", ns_name(ns), name, max);
		goto out;
	}
	if ((rc = sk_buf_reserve(body, (size_t)info->size + 1)) != SK_OK)
		goto out;
	n = sk_reader_read(r, body->p + body->len, (size_t)info->size);
	if (n < 0 || (uint64_t)n != info->size) {
		rc = n < 0 ? sk_reader_rc(r) : sk_err(SK_EVERIFY, "%s '%s': short object",
						       ns_name(ns), name);
		goto out;
	}
	/* Read to the verified end (the last chunk of an empty object). */
	if (sk_reader_read(r, &end, 1) != 0) {
		rc = sk_reader_rc(r) ? sk_reader_rc(r)
				     : sk_err(SK_EVERIFY, "%s '%s': longer than recorded", ns_name(ns), name);
		goto out;
	}
	body->len += (size_t)n;
out:
	if (rc != SK_OK)
		OPENSSL_cleanse(body->p + body->len, body->cap - body->len);
	sk_reader_close(r);
	if (rc != SK_OK || info == &local)
		sk_obj_info_free(info);
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

static int load_all_buckets(struct sk_store *st, struct bucket *bks)
{
	int b, rc;

	for (b = 0; b < 256; b++)
		if ((rc = bucket_load(st, b, &bks[b])) != SK_OK)
			return rc;
	return SK_OK;
}

static void free_all_buckets(struct bucket *bks)
{
	int b;

	for (b = 0; b < 256; b++)
		bucket_free(&bks[b]);
}

/* Object files in DIR that the index does not list (SK_RETRY if any). */
static int find_unindexed(struct sk_store *st, const struct bucket *bks)
{
	struct dirent *de;
	DIR *d;
	int dfd = dup(st->dfd), rc = SK_OK;

	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		return sk_err_sys(SK_EFAIL, "store '%s': listing", st->dir);
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		uint8_t file[32];
		const struct ixent *e;

		if (!is_object_file(de->d_name) || sk_unhex(file, 32, de->d_name) != 0)
			continue;
		e = bucket_find(&bks[file[0]], file);
		if (e == NULL) {
			rc = sk_err(SK_RETRY, "store file %s is not in the store index (restored after a deletion, or planted)",
				    de->d_name);
			break;
		}
	}
	closedir(d);
	return rc;
}

static int try_list(struct sk_store *st, int ns, struct bucket *bks, struct listing *l)
{
	int b, rc;
	size_t i;

	if ((rc = load_all_buckets(st, bks)) != SK_OK)
		return rc;
	for (b = 0; b < 256; b++) {
		for (i = 0; i < bks[b].n; i++) {
			const struct ixent *e = &bks[b].e[i];
			struct sk_obj_info info;
			uint64_t off;
			int fd;

			if (e->state == IX_DELETED)
				continue;
			rc = try_locate(st, e->file, &bks[b], 0, NULL, &info, &fd, &off);
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
	return find_unindexed(st, bks);
}

int sk_store_list(struct sk_store *st, int ns, sk_list_fn fn, void *arg)
{
	struct bucket *bks = calloc(256, sizeof(*bks));
	struct listing l = { 0 };
	int rc, attempt, lockfd = -1;
	size_t i;

	if (bks == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	for (attempt = 0;; attempt++) {
		if (attempt == READ_TRIES && !st->exclusive &&
		    (rc = take_lock(st, 1, &lockfd)) != SK_OK)
			break;
		listing_free(&l);
		rc = try_list(st, ns, bks, &l);
		free_all_buckets(bks);
		if (rc != SK_RETRY)
			break;
		if (st->exclusive || attempt >= READ_TRIES) {
			rc = sk_err_wrap(SK_EVERIFY, "store '%s'", st->dir);
			break;
		}
	}
	release_lock(st, lockfd, 1);
	if (rc == SK_OK) {
		if (l.n > 0) /* qsort(NULL, 0) is undefined (UBSan) */
			qsort(l.v, l.n, sizeof(*l.v), cmp_info);
		for (i = 0; i < l.n; i++)
			if ((rc = fn(&l.v[i], arg)) != 0)
				break;
	}
	listing_free(&l);
	free(bks);
	return rc;
}

/* ---- locking ---- */

static int lock_file_open(struct sk_store *st, int shared)
{
	int fd = openat(st->dfd, LOCKFILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);

	/* A reader on a read-only store can still take a shared lock. */
	if (fd < 0 && shared && (errno == EROFS || errno == EACCES))
		fd = openat(st->dfd, LOCKFILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	return fd;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The waiting room: a writer that has to wait holds a shared OFD lock on
 * byte 0 of the lock file while it does, and a writer that finds somebody
 * waiting does not grab the lock the moment it is free but waits in turn.
 * flock(2) hands a released lock to no one in particular, so without this a
 * process that commits in a loop takes the lock again before any waiter
 * wakes up, and starves the others.  OFD locks and flock locks do not
 * interact, and both die with their process.
 */
static int ofd_lock(int fd, short type, int wait)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 1;
	return fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
}

static int others_waiting(int fd)
{
	if (ofd_lock(fd, F_WRLCK, 0) == 0) {
		ofd_lock(fd, F_UNLCK, 0);
		return 0;
	}
	return errno == EAGAIN || errno == EACCES;
}

/*
 * flock(2) the store, exclusive for writers, shared for a reader's last
 * attempt.  flock locks die with their process, so a crashed writer never
 * leaves the store locked; the wait is bounded all the same (polling with
 * a short, jittered back-off: a blocking flock cannot time out without
 * signals, which a library must not take over).
 */
static int take_lock(struct sk_store *st, int shared, int *lockfd)
{
	uint64_t start = now_ms(), limit = (uint64_t)st->lock_timeout * 1000;
	unsigned delay = 1;
	int fd, waiting = 0;

	if (!shared && st->exclusive)
		return sk_err(SK_EFAIL, "store '%s': a transaction is already open in this process",
			      st->dir);
	fd = lock_file_open(st, shared);
	if (fd < 0)
		return sk_err_sys(SK_EBACKEND, "store '%s': opening the lock", st->dir);
	if (!shared && others_waiting(fd))
		goto wait;
	while (flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
		struct timespec ts;
		uint64_t waited;
		uint8_t j;

		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			close(fd);
			return sk_err_sys(SK_EBACKEND, "store '%s': locking", st->dir);
		}
wait:
		/* Join the waiting room (blocks only while another writer
		 * looks whether anyone is in it). */
		if (!shared && !waiting && ofd_lock(fd, F_RDLCK, 1) == 0)
			waiting = 1;
		waited = now_ms() - start;
		if (waited >= limit) {
			close(fd);
			return sk_err(SK_EBACKEND, "store '%s' is locked by another process (waited %u s)",
				      st->dir, st->lock_timeout);
		}
		/* Jitter so that waiters do not wake in lock step; no state kept. */
		j = (uint8_t)((unsigned)getpid() * 2654435761u + (unsigned)now_ms());
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(delay * 500 + (unsigned)j * 4) * 1000;
		nanosleep(&ts, NULL);
		if (delay < 4)
			delay *= 2;
	}
	if (waiting)
		ofd_lock(fd, F_UNLCK, 0);
	if (!shared)
		st->exclusive = 1;
	*lockfd = fd;
	return SK_OK;
}

/* Release a lock from take_lock (the writer's, if shared is 0). */
static void release_lock(struct sk_store *st, int fd, int shared)
{
	if (fd < 0)
		return;
	if (!shared)
		st->exclusive = 0;
	close(fd);
}

/* The lock file's one byte: '1' while a commit may leave staged files in
 * DIR that the next writer must look at (set before staging, cleared when
 * a commit ends cleanly).  It is a hint for cleaning up after a crash, not
 * part of the commit protocol, so it is never fsync'd. */
static int dirty_get(int lockfd)
{
	char c;

	return pread(lockfd, &c, 1, 0) == 1 && c != '0';
}

static int dirty_set(struct sk_store *st, int lockfd, int on)
{
	char c = on ? '1' : '0';

	if (pwrite(lockfd, &c, 1, 0) != 1)
		return sk_err_sys(SK_EFAIL, "store '%s': writing the lock file", st->dir);
	return SK_OK;
}

/* ---- recovery and cleanup (writer lock held) ---- */

/* Finish a commit that spans buckets: rename the index images its journal
 * names (those already renamed are gone from tmp/). */
static int recover(struct sk_store *st)
{
	uint8_t buf[9 + 256 * JN_ENT + 32 + 1], mac[EVP_MAX_MD_SIZE];
	size_t maclen, i;
	uint32_t count;
	ssize_t n;
	int fd, rc;

	fd = openat(st->dfd, JOURNAL, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return SK_OK;
		if (errno == ELOOP)
			return sk_err(SK_EVERIFY, "store '%s': journal is a symbolic link (tampered)", st->dir);
		return sk_err_sys(SK_EFAIL, "store '%s': opening the journal", st->dir);
	}
	n = sk_read_full(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return sk_err_sys(SK_EFAIL, "store '%s': reading the journal", st->dir);
	count = n >= 9 ? sk_get_be32(buf + 5) : 0;
	if (n < 9 + 32 || memcmp(buf, JN_MAGIC, 4) != 0 || buf[4] != JN_VERSION || count < 1 ||
	    count > 256 || (size_t)n != 9 + (size_t)count * JN_ENT + 32)
		return sk_err(SK_EVERIFY, "store '%s': journal is corrupt (tampered)", st->dir);
	if ((rc = sk_hmac("SHA256", st->journal_key, 32, buf, (size_t)n - 32, mac, &maclen)) != SK_OK)
		return rc;
	if (!sk_ct_equal(mac, buf + n - 32, 32))
		return sk_err(SK_EVERIFY, "store '%s': journal failed authentication (tampered)", st->dir);
	rc = open_tmpdir(st, 0);
	if (rc != SK_OK && rc != SK_ENOTFOUND)
		return rc;
	for (i = 0; rc == SK_OK && i < count; i++) {
		const uint8_t *e = buf + 9 + i * JN_ENT;
		char img[TMPNAME], idx[8];

		img[0] = 'b';
		img[1] = '.';
		sk_hex(img + 2, e + 1, 12);
		bucket_name(idx, e[0]);
		if (renameat(st->tfd, img, st->dfd, idx) != 0 && errno != ENOENT)
			return sk_err_sys(SK_EFAIL, "store '%s': finishing an interrupted commit", st->dir);
	}
	if ((rc = fsync_dir(st, st->dfd)) != SK_OK)
		return rc;
	if (unlinkat(st->dfd, JOURNAL, 0) != 0 && errno != ENOENT)
		return sk_err_sys(SK_EFAIL, "store '%s': removing the journal", st->dir);
	return SK_OK;
}

/* Remove what dead writers left in tmp/: a file that can be flock'ed has
 * no live writer (live ones hold their flock until they commit). */
static void clean_tmp(struct sk_store *st)
{
	struct dirent *e;
	DIR *d;
	int dfd;

	if (open_tmpdir(st, 0) != SK_OK)
		return;
	dfd = dup(st->tfd);
	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		struct stat sb;
		int fd;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		fd = openat(st->tfd, e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0) {
			if (errno == ELOOP)
				unlinkat(st->tfd, e->d_name, 0);
			continue;
		}
		if (fstat(fd, &sb) == 0 && !S_ISDIR(sb.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0)
			unlinkat(st->tfd, e->d_name, 0);
		close(fd);
	}
	closedir(d);
}

/* After a crash (dirty flag set): staged files the index refers to are
 * moved into place, the others (a commit that died before its commit
 * point) removed.  This is the only time a writer reads all of DIR. */
static int clean_main(struct sk_store *st)
{
	struct bucket *bks = calloc(256, sizeof(*bks));
	uint8_t bad[256] = { 0 };
	struct dirent *de;
	DIR *d;
	int dfd, rc = SK_OK;

	if (bks == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	dfd = dup(st->dfd);
	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		free(bks);
		return sk_err_sys(SK_EFAIL, "store '%s': listing", st->dir);
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		const struct ixent *e;
		uint8_t file[32], salt[16];
		char fhex[65];

		if (strncmp(n, ".tmp.", 5) == 0) { /* older writers' debris */
			unlinkat(st->dfd, n, 0);
			continue;
		}
		if (strncmp(n, ".s.", 3) != 0 || strlen(n) != STAGED_LEN || n[67] != '.' ||
		    unhex_prefix(file, 32, n + 3) != 0 || unhex_prefix(salt, 16, n + 68) != 0)
			continue;
		if (bad[file[0]])
			continue;
		if (!bks[file[0]].loaded && bucket_load(st, file[0], &bks[file[0]]) != SK_OK) {
			/* A damaged index bucket: leave its files for `store check`. */
			bad[file[0]] = 1;
			rc = SK_EVERIFY;
			continue;
		}
		e = bucket_find(&bks[file[0]], file);
		if (e != NULL && e->state == IX_STAGED && memcmp(e->salt, salt, 16) == 0) {
			file_hex(fhex, file);
			if (renameat(st->dfd, n, st->dfd, fhex) != 0 && errno != ENOENT)
				rc = sk_err_sys(SK_EFAIL, "store '%s': finishing an interrupted commit", st->dir);
			crash_point("cleanup");
		} else if (unlinkat(st->dfd, n, 0) != 0 && errno != ENOENT) {
			rc = sk_err_sys(SK_EFAIL, "store '%s': removing debris", st->dir);
		}
	}
	closedir(d);
	free_all_buckets(bks);
	free(bks);
	return rc;
}

/* Finish what earlier commits left pending in a bucket (in memory and on
 * disk); the directory fsync before the next commit point makes it durable
 * before the new bucket, which no longer marks it, is. */
static int normalize(struct sk_store *st, struct bucket *bk)
{
	char sname[STAGED_LEN + 1], fhex[65];
	size_t i = 0;

	while (i < bk->n) {
		struct ixent *e = &bk->e[i];

		file_hex(fhex, e->file);
		if (e->state == IX_STAGED) {
			staged_name(sname, e->file, e->salt);
			if (renameat(st->dfd, sname, st->dfd, fhex) != 0 && errno != ENOENT)
				return sk_err_sys(SK_EFAIL, "store '%s': finishing an earlier commit", st->dir);
			e->state = IX_LIVE;
		} else if (e->state == IX_DELETED) {
			if (unlinkat(st->dfd, fhex, 0) != 0 && errno != ENOENT)
				return sk_err_sys(SK_EFAIL, "store '%s': finishing an earlier delete", st->dir);
			bucket_remove(bk, e);
			continue;
		}
		i++;
	}
	return SK_OK;
}

/* ---- transactions ---- */

int sk_txn_begin_unlocked(struct sk_store *st, struct sk_txn **out)
{
	struct sk_txn *t;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	t->st = st;
	t->lockfd = -1;
	*out = t;
	return SK_OK;
}

static void txn_free(struct sk_txn *t, int unlink_tmps)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		struct op *o = &t->ops[i];

		if (o->fd >= 0)
			close(o->fd);
		if (unlink_tmps && !o->del && o->tmp[0] && t->st->tfd >= 0)
			unlinkat(t->st->tfd, o->tmp, 0);
	}
	release_lock(t->st, t->lockfd, 0);
	free(t->ops);
	free(t);
}

int sk_txn_lock(struct sk_txn *t)
{
	struct sk_store *st = t->st;
	struct stat sb;
	size_t i;
	int fd, rc;

	if (t->lockfd >= 0)
		return SK_OK;
	if ((rc = take_lock(st, 0, &fd)) != SK_OK)
		return rc;
	t->lockfd = fd;
	/* The dirty flag is overwritten in place from now on: give the lock
	 * file its byte now (a later write then needs no new space). */
	if (fstat(fd, &sb) == 0 && sb.st_size == 0 && pwrite(fd, "0", 1, 0) != 1) {
		/* A full disk: the commit will fail on its own if it must. */
	}
	/* Under the lock nobody else is committing: finish an interrupted
	 * commit first, then whatever temporary files have no writer are
	 * debris. */
	if ((rc = recover(st)) != SK_OK) {
		release_lock(st, fd, 0);
		t->lockfd = -1;
		return rc;
	}
	clean_tmp(st);
	if (dirty_get(fd) && clean_main(st) == SK_OK)
		dirty_set(st, fd, 0);
	/* Our bodies need no flock any more: no cleaner runs while we hold the
	 * lock, and the commit renames them. */
	for (i = 0; i < t->n; i++)
		if (t->ops[i].fd >= 0) {
			close(t->ops[i].fd);
			t->ops[i].fd = -1;
		}
	return SK_OK;
}

int sk_txn_begin(struct sk_store *st, struct sk_txn **out)
{
	int rc = sk_txn_begin_unlocked(st, out);

	if (rc == SK_OK && (rc = sk_txn_lock(*out)) != SK_OK) {
		txn_free(*out, 1);
		*out = NULL;
	}
	return rc;
}

static int add_op(struct sk_txn *t, int del, const uint8_t file[32], const uint8_t *salt,
		  const char *tmp, int fd)
{
	struct op *o;
	size_t i;

	/* A later change to the same object replaces the earlier one. */
	for (i = 0; i < t->n; i++)
		if (memcmp(t->ops[i].file, file, 32) == 0)
			break;
	if (i == t->n) {
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 8;
			struct op *no = realloc(t->ops, cap * sizeof(*no));

			if (no == NULL)
				return sk_err(SK_EFAIL, "out of memory");
			t->ops = no;
			t->cap = cap;
		}
		t->n++;
	} else {
		o = &t->ops[i];
		if (o->fd >= 0)
			close(o->fd);
		if (!o->del && o->tmp[0])
			unlinkat(t->st->tfd, o->tmp, 0);
	}
	o = &t->ops[i];
	memset(o, 0, sizeof(*o));
	o->del = del;
	memcpy(o->file, file, 32);
	if (salt != NULL)
		memcpy(o->salt, salt, 16);
	if (tmp != NULL)
		snprintf(o->tmp, sizeof(o->tmp), "%s", tmp);
	o->fd = fd;
	return SK_OK;
}

int sk_txn_del(struct sk_txn *t, int ns, const char *name)
{
	uint8_t file[32];
	int rc;

	if ((rc = object_file(t->st, ns, name, file)) != SK_OK)
		return rc;
	return add_op(t, 1, file, NULL, NULL, -1);
}

void sk_txn_abort(struct sk_txn *t)
{
	if (t != NULL)
		txn_free(t, 1);
}

/* ---- writing ---- */

static void writer_free(struct sk_writer *w, int unlink_tmp)
{
	if (w->fd >= 0)
		close(w->fd);
	if (unlink_tmp && w->tmp[0] && w->t->st->tfd >= 0)
		unlinkat(w->t->st->tfd, w->tmp, 0);
	if (w->chunk != NULL) {
		OPENSSL_cleanse(w->chunk, CHUNK + TAG);
		free(w->chunk);
	}
	if (w->hdr != NULL) {
		OPENSSL_cleanse(w->hdr, w->hdrlen + TAG);
		free(w->hdr);
	}
	EVP_CIPHER_CTX_free(w->c);
	OPENSSL_cleanse(w->hkey, sizeof(w->hkey));
	OPENSSL_cleanse(w->bkey, sizeof(w->bkey));
	w->t->nwriters--;
	free(w);
}

static int writer_open(struct sk_txn *t, int ns, const char *name, const void *meta,
		       size_t metalen, const uint8_t *extra, struct sk_writer **out)
{
	struct sk_store *st = t->st;
	struct sk_writer *w;
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
	t->nwriters++;
	snprintf(w->what, sizeof(w->what), "%s '%s'", ns_name(ns), name);
	if ((rc = object_file(st, ns, name, w->file)) != SK_OK)
		goto fail;
	w->hdrlen = HDR_MIN - 1 + nlen + metalen;
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
	pos = 2 + nlen;
	w->hdr[pos] = extra != NULL ? SK_OBJ_KEYED : 0;
	w->sizepos = pos + 1;
	sk_put_be32(w->hdr + pos + 17, (uint32_t)metalen);
	if (metalen)
		memcpy(w->hdr + pos + 21, meta, metalen);

	memcpy(w->fixed, OBJ_MAGIC, 4);
	w->fixed[4] = OBJ_VERSION;
	if ((rc = sk_random(w->salt, 16)) != SK_OK)
		goto fail;
	memcpy(w->fixed + 8, w->salt, 16);
	sk_put_be32(w->fixed + 24, (uint32_t)w->hdrlen);
	if ((rc = object_keys(st, w->salt, extra, w->hkey, w->bkey)) != SK_OK)
		goto fail;
	if ((rc = tmp_create(st, 'o', w->tmp, NULL, &w->fd)) != SK_OK) {
		w->tmp[0] = '\0';
		goto fail;
	}
	/* Room for the header, written last when the size is known. */
	if (lseek(w->fd, (off_t)(OBJ_FIXED + w->hdrlen + TAG), SEEK_SET) < 0) {
		rc = sk_err_sys(SK_EFAIL, "%s: writing", w->what);
		goto fail;
	}
	*out = w;
	return SK_OK;
fail:
	writer_free(w, 1);
	return rc;
}

int sk_writer_open(struct sk_txn *t, int ns, const char *name, const void *meta,
		   size_t metalen, struct sk_writer **out)
{
	return writer_open(t, ns, name, meta, metalen, NULL, out);
}

int sk_writer_open_keyed(struct sk_txn *t, int ns, const char *name, const void *meta,
			 size_t metalen, const uint8_t key[32], struct sk_writer **out)
{
	return writer_open(t, ns, name, meta, metalen, key, out);
}

static int flush_chunk(struct sk_writer *w, int last)
{
	int rc = chunk_seal(w->c, w->bkey, w->idx, last, w->chunk, w->fill);

	if (rc != SK_OK)
		return rc;
	if (fail_point("body-write") || sk_write_all(w->fd, w->chunk, w->fill + TAG) != 0)
		return sk_err_sys(SK_EFAIL, "%s: writing to store '%s'", w->what, w->t->st->dir);
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
	size_t len = OBJ_FIXED + w->hdrlen + TAG;
	int rc;

	if ((rc = flush_chunk(w, 1)) != SK_OK)
		goto fail;
	sk_put_be64(w->hdr + w->sizepos, w->total);
	sk_put_be64(w->hdr + w->sizepos + 8, (uint64_t)time(NULL));
	if ((out = malloc(len)) == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto fail;
	}
	memcpy(out, w->fixed, OBJ_FIXED);
	if ((rc = sk_gcm_seal(w->hkey, nonce, w->fixed, OBJ_FIXED, w->hdr, w->hdrlen,
			      out + OBJ_FIXED, out + OBJ_FIXED + w->hdrlen)) != SK_OK)
		goto fail;
	if (fail_point("body-write") || pwrite(w->fd, out, len, 0) != (ssize_t)len) {
		rc = sk_err_sys(SK_EFAIL, "%s: writing to store '%s'", w->what, w->t->st->dir);
		goto fail;
	}
	if (fail_point("body-sync") || fsync(w->fd) != 0) {
		rc = sk_err_sys(SK_EFAIL, "%s: writing to store '%s'", w->what, w->t->st->dir);
		goto fail;
	}
	free(out);
	out = NULL;
	/* A locked transaction needs no flock on its bodies (see sk_txn_lock). */
	if (w->t->lockfd >= 0) {
		close(w->fd);
		w->fd = -1;
	}
	if ((rc = add_op(w->t, 0, w->file, w->salt, w->tmp, w->fd)) != SK_OK)
		goto fail;
	w->fd = -1;      /* now owned by the transaction */
	w->tmp[0] = '\0';
	writer_free(w, 0);
	return SK_OK;
fail:
	free(out);
	writer_free(w, 1);
	return rc;
}

void sk_writer_abort(struct sk_writer *w)
{
	if (w != NULL)
		writer_free(w, 1);
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

/* ---- commit ---- */

struct publish {
	uint8_t b[256];          /* the buckets concerned */
	int nb;
	char img[256][TMPNAME];  /* their new images in tmp/ ("" once renamed) */
	uint8_t rnd[256][12];
	int committed;           /* the commit point has been passed */
};

static int write_tmp(struct sk_store *st, char kind, const struct sk_buf *data, char name[TMPNAME],
		     uint8_t rnd[12])
{
	int fd, rc;

	if ((rc = tmp_create(st, kind, name, rnd, &fd)) != SK_OK)
		return rc;
	if (fail_point("index-write") || sk_write_all(fd, data->p, data->len) != 0 || fsync(fd) != 0) {
		rc = sk_err_sys(SK_EFAIL, "store '%s': writing the index", st->dir);
		close(fd);
		unlinkat(st->tfd, name, 0);
		name[0] = '\0';
		return rc;
	}
	close(fd);
	return SK_OK;
}

/* A multi-bucket commit point: the journal naming the new images. */
static int write_journal(struct sk_store *st, struct publish *pb)
{
	struct sk_buf j = { 0 };
	uint8_t head[9], mac[EVP_MAX_MD_SIZE];
	char name[TMPNAME];
	size_t maclen;
	int k, rc;

	memcpy(head, JN_MAGIC, 4);
	head[4] = JN_VERSION;
	sk_put_be32(head + 5, (uint32_t)pb->nb);
	rc = sk_buf_add(&j, head, sizeof(head));
	for (k = 0; rc == SK_OK && k < pb->nb; k++)
		if ((rc = sk_buf_add(&j, &pb->b[k], 1)) == SK_OK)
			rc = sk_buf_add(&j, pb->rnd[k], 12);
	if (rc == SK_OK &&
	    (rc = sk_hmac("SHA256", st->journal_key, 32, j.p, j.len, mac, &maclen)) == SK_OK)
		rc = sk_buf_add(&j, mac, 32);
	if (rc == SK_OK)
		rc = write_tmp(st, 'j', &j, name, NULL);
	sk_buf_free(&j);
	if (rc != SK_OK)
		return rc;
	/* The images' names in tmp/ must survive a power loss with the journal. */
	if ((rc = fsync_dir(st, st->tfd)) != SK_OK) {
		unlinkat(st->tfd, name, 0);
		return rc;
	}
	if (fail_point("commit") || renameat(st->tfd, name, st->dfd, JOURNAL) != 0) {
		rc = sk_err_sys(SK_EFAIL, "store '%s': writing the journal", st->dir);
		unlinkat(st->tfd, name, 0);
		return rc;
	}
	pb->committed = 1;
	return fsync_dir(st, st->dfd);
}

/*
 * Write the new images of the buckets in pb and pass the commit point.
 * Before pb->committed is set nothing visible has changed; after it the
 * commit stands (an error then only means it may not be durable yet, or
 * will be completed by the next writer).
 */
static int publish(struct sk_store *st, struct bucket *bks, struct publish *pb)
{
	struct sk_buf image = { 0 };
	char idx[8];
	int k, rc = SK_OK;

	for (k = 0; rc == SK_OK && k < pb->nb; k++)
		if ((rc = bucket_image(st, pb->b[k], &bks[pb->b[k]], &image)) == SK_OK)
			rc = write_tmp(st, 'b', &image, pb->img[k], pb->rnd[k]);
	sk_buf_free(&image);
	if (rc == SK_OK)
		rc = fsync_dir(st, st->dfd);
	if (rc != SK_OK)
		return rc;
	crash_point("before-commit");
	if (pb->nb == 1) {
		bucket_name(idx, pb->b[0]);
		if (fail_point("commit") || renameat(st->tfd, pb->img[0], st->dfd, idx) != 0)
			return sk_err_sys(SK_EFAIL, "store '%s': committing", st->dir);
		pb->img[0][0] = '\0';
		pb->committed = 1;
		if ((rc = fsync_dir(st, st->dfd)) != SK_OK)
			return rc;
		crash_point("after-journal");
		return SK_OK;
	}
	if ((rc = write_journal(st, pb)) != SK_OK)
		return rc;
	crash_point("after-journal");
	for (k = 0; k < pb->nb; k++) {
		bucket_name(idx, pb->b[k]);
		if (renameat(st->tfd, pb->img[k], st->dfd, idx) != 0)
			return sk_err_sys(SK_EFAIL, "store '%s': committing (the next writer completes it)",
					  st->dir);
		pb->img[k][0] = '\0';
		crash_point("mid-buckets");
	}
	if ((rc = fsync_dir(st, st->dfd)) != SK_OK)
		return rc;
	if (unlinkat(st->dfd, JOURNAL, 0) != 0)
		return sk_err_sys(SK_EFAIL, "store '%s': removing the journal", st->dir);
	return SK_OK;
}

static void publish_abort(struct sk_store *st, struct publish *pb)
{
	int k;

	for (k = 0; k < pb->nb; k++)
		if (pb->img[k][0] && st->tfd >= 0)
			unlinkat(st->tfd, pb->img[k], 0);
}

int sk_txn_commit(struct sk_txn *t)
{
	struct sk_store *st = t->st;
	struct bucket *bks = NULL;
	struct publish *pb = NULL;
	char sname[STAGED_LEN + 1], fhex[65];
	int rc, k, clean = 1;
	size_t i;

	if (t->nwriters != 0) {
		sk_txn_abort(t);
		return sk_err(SK_EFAIL, "internal error: committing with a writer still open");
	}
	if ((rc = sk_txn_lock(t)) != SK_OK) {
		sk_txn_abort(t);
		return rc;
	}
	crash_point("before-rename");
	if (t->n == 0) {
		txn_free(t, 0);
		return SK_OK;
	}
	bks = calloc(256, sizeof(*bks));
	pb = calloc(1, sizeof(*pb));
	if (bks == NULL || pb == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto fail;
	}
	for (i = 0; i < t->n; i++) {
		int b = t->ops[i].file[0];

		if (bks[b].loaded)
			continue;
		if ((rc = bucket_load(st, b, &bks[b])) != SK_OK) {
			sk_err_wrap(rc, "cannot write");
			goto fail;
		}
		pb->b[pb->nb++] = (uint8_t)b;
	}
	for (k = 0; k < pb->nb; k++)
		if ((rc = normalize(st, &bks[pb->b[k]])) != SK_OK)
			goto fail;
	if ((rc = dirty_set(st, t->lockfd, 1)) != SK_OK)
		goto fail;
	for (i = 0; i < t->n; i++) {
		struct op *o = &t->ops[i];

		if (o->del)
			continue;
		staged_name(sname, o->file, o->salt);
		if (fail_point("stage") || renameat(st->tfd, o->tmp, st->dfd, sname) != 0) {
			rc = sk_err_sys(SK_EFAIL, "store '%s': committing", st->dir);
			goto fail;
		}
		o->staged = 1;
		o->tmp[0] = '\0';
	}
	crash_point("staged");
	for (i = 0; i < t->n; i++) {
		struct op *o = &t->ops[i];

		rc = bucket_set(&bks[o->file[0]], o->file, o->del ? NULL : o->salt,
				o->del ? IX_DELETED : IX_STAGED);
		if (rc != SK_OK)
			goto fail;
	}
	rc = publish(st, bks, pb);
	if (!pb->committed)
		goto fail;
	/* Committed.  Move the new versions into place; whatever does not
	 * happen here (a crash, an error) is finished later from the index. */
	for (i = 0; i < t->n; i++) {
		struct op *o = &t->ops[i];

		file_hex(fhex, o->file);
		if (o->del) {
			if (unlinkat(st->dfd, fhex, 0) != 0 && errno != ENOENT)
				clean = 0;
		} else {
			staged_name(sname, o->file, o->salt);
			if (renameat(st->dfd, sname, st->dfd, fhex) != 0)
				clean = 0;
		}
		crash_point("mid-rename");
	}
	if (clean && rc == SK_OK)
		dirty_set(st, t->lockfd, 0);
	crash_point("after-commit");
	publish_abort(st, pb);
	free_all_buckets(bks);
	free(bks);
	free(pb);
	txn_free(t, 0);
	return rc;
fail:
	/* Not committed: remove what this commit staged; the store is as it was. */
	for (i = 0; i < t->n; i++) {
		struct op *o = &t->ops[i];

		if (!o->staged)
			continue;
		staged_name(sname, o->file, o->salt);
		if (unlinkat(st->dfd, sname, 0) != 0 && errno != ENOENT)
			clean = 0;
	}
	if (pb != NULL)
		publish_abort(st, pb);
	if (clean && t->lockfd >= 0)
		dirty_set(st, t->lockfd, 0);
	if (bks != NULL)
		free_all_buckets(bks);
	free(bks);
	free(pb);
	txn_free(t, 1);
	return rc;
}

/* ---- whole-store check ---- */

struct checker {
	struct sk_store *st;
	sk_check_fn fn;
	void *arg;
	size_t problems;
};

static void problem(struct checker *c, const char *file, const char *msg)
{
	c->problems++;
	if (c->fn != NULL)
		c->fn(file, msg, c->arg);
}

/* Read a body to its verified end. */
static int verify_body(struct sk_store *st, int fd, const struct sk_obj_info *info, uint64_t off)
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
	snprintf(r->what, sizeof(r->what), "%s '%s': store file %s", ns_name(info->ns), info->name,
		 info->file);
	r->chunk = malloc(CHUNK + TAG);
	r->c = gcm_ctx(0);
	if (r->chunk == NULL || r->c == NULL)
		rc = sk_err(SK_EFAIL, "out of memory");
	else
		rc = object_keys(st, r->salt, NULL, NULL, r->key);
	while (rc == SK_OK && (n = sk_reader_read(r, buf, CHUNK)) != 0)
		if (n < 0)
			rc = sk_reader_rc(r);
	OPENSSL_cleanse(buf, CHUNK);
	free(buf);
	sk_reader_close(r);
	return rc;
}

/* Rebuild a damaged bucket from the object files that verify. */
static int rebuild_bucket(struct sk_store *st, int b, struct bucket *bk)
{
	struct dirent *de;
	DIR *d;
	int dfd = dup(st->dfd), rc = SK_OK;

	bucket_free(bk);
	bk->loaded = 1;
	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		return sk_err_sys(SK_EFAIL, "store '%s': listing", st->dir);
	}
	rewinddir(d);
	while (rc == SK_OK && (de = readdir(d)) != NULL) {
		struct sk_obj_info info;
		uint8_t file[32];
		uint64_t off;
		int fd;

		if (!is_object_file(de->d_name) || sk_unhex(file, 32, de->d_name) != 0 || file[0] != b)
			continue;
		if (open_object(st, de->d_name, file, 0, NULL, &info, &fd, &off) != SK_OK)
			continue; /* damaged: the file scan removes it */
		rc = verify_body(st, fd, &info, off);
		if (rc == SK_OK || (info.flags & SK_OBJ_KEYED))
			rc = bucket_set(bk, file, info.version, IX_LIVE);
		else
			rc = SK_OK;
		sk_obj_info_free(&info);
	}
	closedir(d);
	return rc;
}

int sk_store_check(struct sk_store *st, int repair, sk_check_fn fn, void *arg, size_t *nobjects)
{
	struct checker c = { st, fn, arg, 0 };
	struct bucket *bks = calloc(256, sizeof(*bks));
	struct publish *pb = calloc(1, sizeof(*pb));
	uint8_t changed[256] = { 0 };
	struct sk_txn *t = NULL;
	struct dirent *de;
	char name[8], fhex[65], sname[STAGED_LEN + 1];
	int b, rc = SK_OK, lockfd = -1, dfd;
	size_t i, nobj = 0;
	DIR *d;

	if (bks == NULL || pb == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto out;
	}
	/* A consistent view: exclusive to repair, shared to look. */
	if (repair)
		rc = sk_txn_begin(st, &t);
	else if (!st->exclusive)
		rc = take_lock(st, 1, &lockfd);
	if (rc != SK_OK)
		goto out;
	for (b = 0; b < 256; b++) {
		rc = bucket_load(st, b, &bks[b]);
		if (rc == SK_EVERIFY) {
			bucket_name(name, b);
			problem(&c, name, sk_err_msg());
			if (repair) {
				if ((rc = rebuild_bucket(st, b, &bks[b])) != SK_OK)
					goto out;
				changed[b] = 1;
			}
			bks[b].loaded = 1;
			rc = SK_OK;
		} else if (rc != SK_OK) {
			goto out;
		}
	}
	for (b = 0; b < 256; b++) {
		for (i = 0; i < bks[b].n; i++) {
			struct ixent *e = &bks[b].e[i];
			struct sk_obj_info info;
			uint64_t off;
			int fd;

			if (e->state == IX_DELETED)
				continue;
			rc = try_locate(st, e->file, &bks[b], 0, NULL, &info, &fd, &off);
			if (rc == SK_OK) {
				rc = (info.flags & SK_OBJ_KEYED) ? (close(fd), SK_OK)
								 : verify_body(st, fd, &info, off);
				sk_obj_info_free(&info);
			}
			if (rc == SK_OK) {
				nobj++;
				continue;
			}
			if (rc == SK_EFAIL)
				goto out;
			file_hex(fhex, e->file);
			problem(&c, fhex, sk_err_msg());
			rc = SK_OK;
			if (repair) {
				if (e->state == IX_STAGED) {
					staged_name(sname, e->file, e->salt);
					unlinkat(st->dfd, sname, 0);
				}
				e->state = IX_DELETED;
				memset(e->salt, 0, 16);
				changed[b] = 1;
			}
		}
	}
	/* Object files the index does not know. */
	dfd = dup(st->dfd);
	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		rc = sk_err_sys(SK_EFAIL, "store '%s': listing", st->dir);
		goto out;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		uint8_t file[32];

		if (!is_object_file(de->d_name) || sk_unhex(file, 32, de->d_name) != 0 ||
		    bucket_find(&bks[file[0]], file) != NULL)
			continue;
		char msg[160];

		snprintf(msg, sizeof(msg), "store file %.64s is not in the store index", de->d_name);
		problem(&c, de->d_name, msg);
		if (repair)
			unlinkat(st->dfd, de->d_name, 0);
	}
	closedir(d);
	if (repair) {
		for (b = 0; b < 256; b++)
			if (changed[b])
				pb->b[pb->nb++] = (uint8_t)b;
		if (pb->nb > 0) {
			rc = publish(st, bks, pb);
			publish_abort(st, pb);
			if (rc != SK_OK)
				goto out;
			for (i = 0; i < (size_t)pb->nb; i++)
				normalize(st, &bks[pb->b[i]]);
		}
		clean_main(st);
	}
	if (c.problems > 0 && !repair)
		rc = sk_err(SK_EVERIFY, "store '%s': %zu problem%s found", st->dir, c.problems,
			    c.problems == 1 ? "" : "s");
out:
	if (nobjects != NULL)
		*nobjects = nobj;
	if (t != NULL)
		txn_free(t, 0);
	release_lock(st, lockfd, 1);
	if (bks != NULL)
		free_all_buckets(bks);
	free(bks);
	free(pb);
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
