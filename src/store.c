/* SPDX-License-Identifier: MIT */
/*
 * The sealed object store: the format (master key, names, object files,
 * the index) and everything that reads it.  Readers take no lock: an index
 * entry names the salt of the current version of an object, and a STAGED
 * entry tells them where to find it while a commit is moving it into
 * place (store_txn.c).  The on-disk format is docs/formats/store.md; keep
 * the two in step.
 */
#include "store.h"

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

#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "store_int.h"

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

/* ---- master key ---- */

/* The check value: HMAC under the key of the header bytes, so any change
 * to the file, and a sealed blob that unseals to another key, shows. */
static int mk_check(const uint8_t hdr[8], const uint8_t key[32], uint8_t out[16])
{
	uint8_t in[22 + 8], mac[EVP_MAX_MD_SIZE];
	size_t n;
	int rc;

	memcpy(in, "seckit/v1/master-check", 22);
	memcpy(in + 22, hdr, 8);
	rc = sk_hmac("SHA256", key, 32, in, sizeof(in), mac, &n);
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

/*
 * master.key: 56 fixed bytes (magic, version, protection, reserved, key,
 * check).  With a sealed key the key field is zero and the sealed blob
 * follows: length u16 BE, then the blob (docs/formats/store.md).
 */
#define MK_BLOB_MAX 4096

static int create_master(struct sk_store *st)
{
	const struct sk_store_opts *o = st->opts;
	uint8_t key[32], hdr[MK_LEN + 2];
	struct sk_buf file = { 0 }, blob = { 0 };
	char tmp[TMPNAME];
	int fd = -1, rc;

	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, MK_MAGIC, 4);
	hdr[4] = MK_VERSION;
	hdr[5] = (uint8_t)o->protection;
	if ((rc = sk_random(key, sizeof(key))) != SK_OK || (rc = mk_check(hdr, key, hdr + 40)) != SK_OK)
		goto out;
	if (o->protection == SK_MK_FILE) {
		memcpy(hdr + 8, key, 32);
		rc = sk_buf_add(&file, hdr, MK_LEN);
	} else {
		if (o->seal == NULL) {
			rc = sk_err(SK_EBACKEND, "store '%s': sealing the master key needs backend 'tpm2', which is not available in this build",
				    st->dir);
			goto out;
		}
		if ((rc = o->seal(o->arg, o->protection, key, &blob)) != SK_OK)
			goto out;
		if (blob.len == 0 || blob.len > MK_BLOB_MAX) {
			rc = sk_err(SK_EFAIL, "store '%s': sealed master key has a bad size", st->dir);
			goto out;
		}
		sk_put_be16(hdr + MK_LEN, (uint16_t)blob.len);
		if ((rc = sk_buf_add(&file, hdr, MK_LEN + 2)) == SK_OK)
			rc = sk_buf_add(&file, blob.p, blob.len);
	}
	if (rc != SK_OK)
		goto out;
	if ((rc = sk_st_tmp_create(st, 'm', tmp, NULL, &fd)) != SK_OK)
		goto out;
	if (sk_write_all(fd, file.p, file.len) != 0 || fsync(fd) != 0) {
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
	rc = sk_st_fsync_dir(st, st->dfd);
out:
	if (fd >= 0)
		close(fd);
	OPENSSL_cleanse(key, sizeof(key));
	sk_buf_cleanse_free(&file);
	sk_buf_free(&blob);
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
	uint8_t buf[MK_LEN + 2 + MK_BLOB_MAX + 1], check[16], key[32];
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
	if (n < MK_LEN || memcmp(buf, MK_MAGIC, 4) != 0) {
		rc = sk_err(SK_EVERIFY, "store '%s': %s is corrupt (bad length or magic)", st->dir, MK_FILE);
		goto out;
	}
	if (buf[4] != MK_VERSION) {
		rc = sk_err(SK_EVERIFY, "store '%s': %s has format version %u, which this seckit cannot read (corrupt, or written by a newer seckit)",
			    st->dir, MK_FILE, buf[4]);
		goto out;
	}
	if (buf[5] == SK_MK_FILE) {
		if (n != MK_LEN) {
			rc = sk_err(SK_EVERIFY, "store '%s': %s is corrupt (bad length)", st->dir, MK_FILE);
			goto out;
		}
		memcpy(key, buf + 8, 32);
	} else if (buf[5] == SK_MK_TPM2) {
		size_t blen = n >= MK_LEN + 2 ? sk_get_be16(buf + MK_LEN) : 0;
		static const uint8_t zero[32];

		if (blen == 0 || (size_t)n != MK_LEN + 2 + blen || !sk_ct_equal(buf + 8, zero, 32)) {
			rc = sk_err(SK_EVERIFY, "store '%s': %s is corrupt (bad sealed key)", st->dir, MK_FILE);
			goto out;
		}
		if (st->opts->unseal == NULL) {
			rc = sk_err(SK_EBACKEND, "store '%s': the master key is sealed by a TPM, and this build has no tpm2 backend",
				    st->dir);
			goto out;
		}
		if ((rc = st->opts->unseal(st->opts->arg, SK_MK_TPM2, buf + MK_LEN + 2, blen, key)) != SK_OK) {
			sk_err_wrap(rc, "store '%s': unsealing the master key", st->dir);
			goto out;
		}
	} else {
		rc = sk_err(SK_EBACKEND, "store '%s': master key protection %u is not supported by this build",
			    st->dir, buf[5]);
		goto out;
	}
	if ((rc = mk_check(buf, key, check)) != SK_OK)
		goto out;
	if (!sk_ct_equal(check, buf + 40, 16)) {
		rc = sk_err(SK_EVERIFY, "store '%s': %s is corrupt (check value mismatch)",
			    st->dir, MK_FILE);
		goto out;
	}
	memcpy(st->master, key, 32);
	if ((rc = sk_store_derive(st, "seckit/v1/names", st->names_key)) == SK_OK &&
	    (rc = sk_store_derive(st, "seckit/v1/index", st->index_key)) == SK_OK)
		rc = sk_store_derive(st, "seckit/v1/journal", st->journal_key);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(check, sizeof(check));
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

/* mkdir -p with mode 0700 for every directory made: nothing we create is
 * readable by others, whatever the umask. */
static int mkdir_p(const char *dir, int *made)
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
	if (mkdir(path, 0700) == 0)
		*made = 1;
	else if (errno != EEXIST)
		return sk_err_sys(SK_EFAIL, "creating store '%s'", path);
	return SK_OK;
}

int sk_store_open(const char *dir, const struct sk_store_opts *opts, struct sk_store **out)
{
	struct sk_store *st;
	struct stat sb;
	int rc, made = 0;

	*out = NULL;
	if (dir == NULL || dir[0] == '\0')
		return sk_err(SK_EUSAGE, "no store directory given");
	/* The master key and the keys derived from it: in the secure heap
	 * (locked, left out of core dumps; sk_crypto_init). */
	st = OPENSSL_secure_zalloc(sizeof(*st));
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
		if ((rc = mkdir_p(dir, &made)) != SK_OK)
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
	st->opts = opts;
	rc = load_master(st, opts->create);
	st->opts = NULL;
	if (rc != SK_OK)
		goto fail;
	/* A commit that spans index buckets and was interrupted by a crash is
	 * finished before anything is read, so nobody sees half of it. */
	if (faccessat(st->dfd, JOURNAL, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		int lockfd;

		if ((rc = sk_st_take_lock(st, 0, &lockfd)) != SK_OK)
			goto fail;
		rc = sk_st_recover(st, 0);
		sk_st_release_lock(st, lockfd, 0);
		/* One that cannot be finished (a tampered journal, an index
		 * image lost): the store opens, but every read and write fails
		 * with this message, except store check (and --repair). */
		if (rc == SK_EVERIFY && (st->stuck = strdup(sk_err_msg())) == NULL)
			rc = sk_err(SK_EFAIL, "out of memory");
		else if (rc == SK_EVERIFY)
			rc = SK_OK;
		if (rc != SK_OK)
			goto fail;
	}
	*out = st;
	return SK_OK;
fail:
	sk_store_close(st);
	/* A store directory this call made and could not set up (no TPM to
	 * seal its master key, say) goes again: rmdir(2) removes it only
	 * while empty, so nothing another process put there is lost. */
	if (made)
		rmdir(dir);
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
	free(st->stuck);
	free(st->dir);
	OPENSSL_secure_clear_free(st, sizeof(*st));
}

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

/* ---- object files ---- */

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
	uint8_t fixed[OBJ_FIXED], *hdr = NULL, nonce[12] = { 0 }, hkey[32], check[32];
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
	if ((rc = sk_st_object_keys(st, fixed + 8, NULL, hkey, NULL)) != SK_OK)
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

/* Chunk i of a body: nonce = i (64 bits, big-endian) || 1 if last else 0
 * (32 bits): a chunk cannot move, and the stream cannot end early. */
void sk_st_chunk_nonce(uint8_t nonce[12], uint64_t idx, int last)
{
	sk_put_be64(nonce, idx);
	sk_put_be32(nonce + 8, last ? 1 : 0);
}

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

static int load_all_buckets(struct sk_store *st, struct bucket *bks)
{
	int b, rc;

	for (b = 0; b < 256; b++)
		if ((rc = sk_st_bucket_load(st, b, &bks[b])) != SK_OK)
			return rc;
	return SK_OK;
}

void sk_st_free_all_buckets(struct bucket *bks)
{
	int b;

	for (b = 0; b < 256; b++)
		sk_st_bucket_free(&bks[b]);
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

		if (!sk_st_is_object_file(de->d_name) || sk_unhex(file, 32, de->d_name) != 0)
			continue;
		e = sk_st_bucket_find(&bks[file[0]], file);
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
	if (st->stuck != NULL) {
		free(bks);
		return sk_err(SK_EVERIFY, "%s", st->stuck);
	}
	for (attempt = 0;; attempt++) {
		if (attempt == READ_TRIES && !st->exclusive &&
		    (rc = sk_st_take_lock(st, 1, &lockfd)) != SK_OK)
			break;
		listing_free(&l);
		rc = try_list(st, ns, bks, &l);
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
	free(bks);
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
