/* SPDX-License-Identifier: MIT */
/*
 * The sealed object store: the format (master key, names, object files,
 * the index) and everything that reads it.  Readers take no lock: an index
 * entry names the salt of the current version of an object, and a STAGED
 * entry tells them where to find it while a commit is moving it into
 * place (store_txn.c).  The on-disk format is docs/formats/store.md; keep
 * the two in step.
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

/* ---- master key ---- */

/* The check value: HMAC under the key of the header bytes, so any change
 * to the file, and a sealed blob that unseals to another key, shows.
 * Version 2 covers the sealed blob too: the record of the persistent
 * object and of its parent is not the TPM's to check. */
static int mk_check(const uint8_t hdr[8], const uint8_t key[32], const uint8_t *blob,
		    size_t blen, uint8_t out[16])
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	struct sk_buf in = { 0 };
	size_t n;
	int rc;

	if ((rc = sk_buf_add(&in, "seckit/v1/master-check", 22)) != SK_OK ||
	    (rc = sk_buf_add(&in, hdr, 8)) != SK_OK ||
	    (hdr[4] == MK_VERSION_KEPT && (rc = sk_buf_add(&in, blob, blen)) != SK_OK)) {
		sk_buf_free(&in);
		return rc;
	}
	rc = sk_hmac("SHA256", key, 32, in.p, in.len, mac, &n);
	sk_buf_free(&in);
	if (rc == SK_OK)
		memcpy(out, mac, 16);
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/*
 * master.key: 56 fixed bytes (magic, version, protection, reserved, key,
 * check).  With a sealed key the key field is zero and the sealed blob
 * follows: length u16 BE, then the blob (docs/formats/store.md).
 */
#define MK_BLOB_MAX 4096

static void release_blob(const struct sk_store_opts *o, enum sk_mk_protection p,
			 const uint8_t *blob, size_t n)
{
	if (o->release != NULL && blob != NULL && n != 0)
		o->release(o->arg, p, blob, n);
}

/* The bytes of master.key for key under protection p (sealed with o's
 * seal for any protection but SK_MK_FILE). */
static int master_file(const char *dir, const struct sk_store_opts *o, enum sk_mk_protection p,
		       const uint8_t key[32], struct sk_buf *file)
{
	uint8_t hdr[MK_LEN + 2];
	struct sk_buf blob = { 0 };
	int rc;

	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, MK_MAGIC, 4);
	/* Version 2: the sealer keeps the sealed key (a persistent TPM
	 * object), so a seckit that knows only version 1 says the file is
	 * newer than it rather than failing on the blob. */
	hdr[4] = p == SK_MK_FILE ? MK_VERSION : MK_VERSION_KEPT;
	if (p == SK_MK_TPM2_PCR)
		hdr[6] = (uint8_t)(o->flags & SK_MK_PREDICTED);
	hdr[5] = (uint8_t)p;
	if (p == SK_MK_FILE) {
		if ((rc = mk_check(hdr, key, NULL, 0, hdr + 40)) != SK_OK)
			return rc;
		memcpy(hdr + 8, key, 32);
		rc = sk_buf_add(file, hdr, MK_LEN);
		OPENSSL_cleanse(hdr, sizeof(hdr));
		return rc;
	}
	if (o->seal == NULL)
		return sk_err(SK_EBACKEND, "store '%s': sealing the master key needs backend 'tpm2', which is not available in this build",
			      dir);
	if ((rc = o->seal(o->arg, p, key, &blob)) != SK_OK)
		goto out;
	if (blob.len == 0 || blob.len > MK_BLOB_MAX) {
		rc = sk_err(SK_EFAIL, "store '%s': sealed master key has a bad size", dir);
		goto out;
	}
	sk_put_be16(hdr + MK_LEN, (uint16_t)blob.len);
	if ((rc = mk_check(hdr, key, blob.p, blob.len, hdr + 40)) == SK_OK &&
	    (rc = sk_buf_add(file, hdr, MK_LEN + 2)) == SK_OK)
		rc = sk_buf_add(file, blob.p, blob.len);
out:
	if (rc != SK_OK)
		release_blob(o, p, blob.p, blob.len);
	sk_buf_free(&blob);
	return rc;
}

/* The sealed blob in master.key's bytes file (none for SK_MK_FILE). */
static void file_blob(const struct sk_buf *file, enum sk_mk_protection *p, const uint8_t **blob,
		      size_t *n)
{
	*p = file->len > 5 ? (enum sk_mk_protection)file->p[5] : SK_MK_FILE;
	*blob = NULL;
	*n = 0;
	if (*p != SK_MK_FILE && file->len > MK_LEN + 2) {
		*blob = file->p + MK_LEN + 2;
		*n = file->len - MK_LEN - 2;
	}
}

/* What master.key's bytes file seal in the device, given up, unless the
 * store's master.key is that file after all (a link(2) or rename(2) that
 * reported a failure after doing its work): a kept object is never
 * released while a master.key may name it. */
static void release_file(const struct sk_store *st, const struct sk_store_opts *o,
			 const struct sk_buf *file)
{
	uint8_t buf[MK_LEN + 2 + MK_BLOB_MAX + 1];
	enum sk_mk_protection p;
	const uint8_t *blob;
	ssize_t got = -1;
	size_t n;
	int fd;

	file_blob(file, &p, &blob, &n);
	if (blob == NULL)
		return;
	fd = openat(st->dfd, MK_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd >= 0) {
		got = sk_read_full(fd, buf, sizeof(buf));
		close(fd);
	} else if (errno != ENOENT) {
		return; /* cannot tell: keep it */
	}
	if (got >= 0 && (size_t)got == file->len && memcmp(buf, file->p, file->len) == 0)
		return;
	release_blob(o, p, blob, n);
}

/* file into a new temporary file of tmp/ (O_EXCL, 0600), synced: its
 * name in tmp, and *fd open (its flock keeps debris removal away from it
 * until the caller has moved it into place and closes it). */
static int master_tmp(struct sk_store *st, const struct sk_buf *file, char tmp[TMPNAME], int *fd)
{
	int rc;

	if ((rc = sk_st_tmp_create(st, 'm', tmp, NULL, fd)) != SK_OK)
		return rc;
	if (sk_write_all(*fd, file->p, file->len) != 0 || fsync(*fd) != 0) {
		rc = sk_err_sys(SK_EFAIL, "store '%s': writing %s", st->dir, MK_FILE);
		unlinkat(st->tfd, tmp, 0);
		close(*fd);
		*fd = -1;
	}
	return rc;
}

static int create_master(struct sk_store *st)
{
	const struct sk_store_opts *o = st->opts;
	struct sk_buf file = { 0 };
	uint8_t key[32];
	char tmp[TMPNAME];
	int fd = -1, rc;

	if ((rc = sk_random(key, sizeof(key))) != SK_OK ||
	    (rc = master_file(st->dir, o, o->protection, key, &file)) != SK_OK)
		goto out;
	if ((rc = master_tmp(st, &file, tmp, &fd)) != SK_OK) {
		release_file(st, o, &file);
		goto out;
	}
	/* link(2), not rename: it fails if the name exists, so two processes
	 * creating one store at once agree on one key. */
	if (linkat(st->tfd, tmp, st->dfd, MK_FILE, 0) != 0) {
		int e = errno;

		unlinkat(st->tfd, tmp, 0);
		release_file(st, o, &file);
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
	return rc;
}

int sk_store_reseal(struct sk_store *st, const struct sk_store_opts *opts)
{
	struct sk_buf file = { 0 }, old = { 0 };
	enum sk_mk_protection oldp = SK_MK_FILE;
	char tmp[TMPNAME];
	int lockfd = -1, fd = -1, rc, sealed = 0;

	if (st->stuck != NULL)
		return sk_err(SK_EVERIFY, "%s", st->stuck);
	/* Sealed first (the TPM may refuse), then swapped in by rename(2)
	 * under the writer lock: master.key is the old or the new file,
	 * both holding the same key, whenever a reader opens it. */
	if ((rc = master_file(st->dir, opts, opts->protection, st->master, &file)) != SK_OK)
		goto out;
	sealed = 1;
	/* The blob replaced is the one on disk under the lock (another
	 * reseal may have replaced the one this process opened): what it
	 * keeps in the TPM is given up once the new file is in place. */
	if ((rc = sk_st_take_lock(st, 0, &lockfd)) != SK_OK ||
	    (rc = sk_store_sealed_key(st->dir, &oldp, &old)) != SK_OK ||
	    (rc = master_tmp(st, &file, tmp, &fd)) != SK_OK)
		goto out;
	if (renameat(st->tfd, tmp, st->dfd, MK_FILE) != 0) {
		rc = sk_err_sys(SK_EFAIL, "store '%s': replacing %s", st->dir, MK_FILE);
		unlinkat(st->tfd, tmp, 0);
		goto out;
	}
	sealed = 0;
	if ((rc = sk_st_fsync_dir(st, st->dfd)) == SK_OK)
		release_blob(opts, oldp, old.p, old.len);
out:
	if (rc != SK_OK && file.len != 0 && sealed)
		release_file(st, opts, &file);
	if (fd >= 0)
		close(fd);
	if (lockfd >= 0)
		sk_st_release_lock(st, lockfd, 0);
	sk_buf_cleanse_free(&file);
	sk_buf_free(&old);
	return rc;
}

/* Only an empty directory (or one holding nothing but our own debris) is
 * turned into a store: never adopt one that holds something else. */
static int dir_is_empty(struct sk_store *st, int *empty)
{
	struct dirent *e;
	DIR *d = sk_st_opendir(st->dfd);

	if (d == NULL)
		return sk_err_sys(SK_EFAIL, "store '%s'", st->dir);
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
	if (buf[4] != MK_VERSION && (buf[4] != MK_VERSION_KEPT || buf[5] == SK_MK_FILE)) {
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
	} else if (buf[5] == SK_MK_TPM2 || buf[5] == SK_MK_TPM2_PCR) {
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
		if ((rc = st->opts->unseal(st->opts->arg, (enum sk_mk_protection)buf[5],
					   buf[4] == MK_VERSION_KEPT ? buf[6] : 0, buf + MK_LEN + 2,
					   blen, key)) != SK_OK) {
			sk_err_wrap(rc, "store '%s': unsealing the master key", st->dir);
			goto out;
		}
	} else {
		rc = sk_err(SK_EBACKEND, "store '%s': master key protection %u is not supported by this build",
			    st->dir, buf[5]);
		goto out;
	}
	if ((rc = mk_check(buf, key, buf + MK_LEN + 2, buf[5] == SK_MK_FILE ? 0 : (size_t)n - MK_LEN - 2,
			   check)) != SK_OK)
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

int sk_store_sealed_key(const char *dir, enum sk_mk_protection *p, struct sk_buf *blob)
{
	uint8_t buf[MK_LEN + 2 + MK_BLOB_MAX + 1];
	char path[PATH_MAX];
	size_t blen;
	ssize_t n;
	int fd, rc;

	if ((rc = sk_store_protection(dir, p)) != SK_OK || *p == SK_MK_FILE)
		return rc;
	snprintf(path, sizeof(path), "%s/%s", dir, MK_FILE);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0)
		return sk_err_sys(SK_EFAIL, "store '%s': opening %s", dir, MK_FILE);
	n = sk_read_full(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return sk_err_sys(SK_EFAIL, "store '%s': reading %s", dir, MK_FILE);
	blen = n >= MK_LEN + 2 ? sk_get_be16(buf + MK_LEN) : 0;
	if (blen == 0 || (size_t)n != MK_LEN + 2 + blen)
		return sk_err(SK_EVERIFY, "store '%s': %s is corrupt (bad sealed key)", dir, MK_FILE);
	return sk_buf_add(blob, buf + MK_LEN + 2, blen);
}

int sk_store_protection(const char *dir, enum sk_mk_protection *p)
{
	char path[PATH_MAX];
	uint8_t hdr[8];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, MK_FILE) >= sizeof(path))
		return sk_err(SK_EUSAGE, "store '%s': path too long", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? sk_err(SK_ENOTFOUND, "store '%s': no %s", dir, MK_FILE) :
					 sk_err_sys(SK_EFAIL, "store '%s': opening %s", dir, MK_FILE);
	n = sk_read_full(fd, hdr, sizeof(hdr));
	close(fd);
	if (n < 0)
		return sk_err_sys(SK_EFAIL, "store '%s': reading %s", dir, MK_FILE);
	if (n != (ssize_t)sizeof(hdr) || memcmp(hdr, MK_MAGIC, 4) != 0 ||
	    (hdr[4] != MK_VERSION && hdr[4] != MK_VERSION_KEPT))
		return sk_err(SK_EVERIFY, "store '%s': %s is corrupt or of another version", dir, MK_FILE);
	*p = (enum sk_mk_protection)hdr[5];
	return SK_OK;
}
