/* SPDX-License-Identifier: MIT */
/*
 * The store's writer lock (flock(DIR/lock), with fair hand-over to waiting
 * writers) and what a writer does first under it: finish or undo what a
 * crashed commit left (the journal, staged files, tmp/ debris).  The
 * commit protocol itself is store_txn.c, which sits above this file;
 * readers (store_read.c) take the lock only when a racing writer keeps
 * them from reading without it.
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
int sk_st_take_lock(struct sk_store *st, int shared, int *lockfd)
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
void sk_st_release_lock(struct sk_store *st, int fd, int shared)
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

int sk_st_dirty_set(struct sk_store *st, int lockfd, int on)
{
	char c = on ? '1' : '0';

	if (pwrite(lockfd, &c, 1, 0) != 1)
		return sk_err_sys(SK_EFAIL, "store '%s': writing the lock file", st->dir);
	return SK_OK;
}

/* ---- recovery and cleanup (writer lock held) ---- */

/*
 * Finish a commit that spans buckets: rename the index images its journal
 * names.  An image that is gone from tmp/ must already be its bucket (the
 * journal holds each image's MAC, so that is checked): an image that is
 * neither in tmp/ nor in place is lost, and then the commit cannot be
 * finished and the store refuses to be used (SK_EVERIFY) rather than show
 * half of it.  The journal goes only when every bucket is in place.
 * accept_loss (store check --repair): put in place what can be, drop the
 * rest and the journal; a journal that fails its MAC is only removed.
 */
int sk_st_recover(struct sk_store *st, int accept_loss)
{
	uint8_t buf[9 + 256 * JN_ENT + 32 + 1], mac[EVP_MAX_MD_SIZE];
	size_t maclen, i, ent;
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
	ent = n >= 5 && buf[4] == 1 ? JN_V1_ENT : JN_ENT;
	if (n < 9 + 32 || memcmp(buf, JN_MAGIC, 4) != 0 || (buf[4] != JN_VERSION && buf[4] != 1) ||
	    count < 1 || count > 256 || (size_t)n != 9 + (size_t)count * ent + 32) {
		if (accept_loss)
			goto done;
		return sk_err(SK_EVERIFY, "store '%s': journal is corrupt (tampered)", st->dir);
	}
	if ((rc = sk_hmac("SHA256", st->journal_key, 32, buf, (size_t)n - 32, mac, &maclen)) != SK_OK)
		return rc;
	if (!sk_ct_equal(mac, buf + n - 32, 32)) {
		if (accept_loss)
			goto done;
		return sk_err(SK_EVERIFY, "store '%s': journal failed authentication (tampered)", st->dir);
	}
	rc = sk_st_open_tmpdir(st, 0);
	if (rc != SK_OK && rc != SK_ENOTFOUND)
		return rc;
	for (i = 0; i < count; i++) {
		const uint8_t *e = buf + 9 + i * ent;
		char img[TMPNAME], idx[8], what[64], what2[16];

		img[0] = 'b';
		img[1] = '.';
		sk_hex(img + 2, e + 1, 12);
		sk_st_bucket_name(idx, e[0]);
		snprintf(what, sizeof(what), "index image %s/%s", TMPDIR, img);
		if (st->tfd < 0)
			rc = SK_ENOTFOUND;
		else if (ent == JN_ENT)
			rc = sk_st_image_check(st, st->tfd, img, what, e[0], e + 13);
		else if (faccessat(st->tfd, img, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			rc = SK_OK;
		else
			rc = errno == ENOENT ? SK_ENOTFOUND : sk_err_sys(SK_EFAIL, "store '%s': %s", st->dir, what);
		if (rc == SK_OK) {
			if (renameat(st->tfd, img, st->dfd, idx) != 0)
				return sk_err_sys(SK_EFAIL, "store '%s': finishing an interrupted commit", st->dir);
			continue;
		}
		if (rc == SK_EVERIFY && accept_loss)
			continue;
		if (rc == SK_EVERIFY)
			return sk_err(SK_EVERIFY, "store '%s': an interrupted commit cannot be finished: its %s is damaged or was replaced (tampered)",
				      st->dir, what);
		if (rc != SK_ENOTFOUND)
			return rc;
		if (ent != JN_ENT || accept_loss)
			continue; /* version 1 names no MAC: gone means renamed */
		/* Gone from tmp/: renamed already, or lost? */
		snprintf(what2, sizeof(what2), "index %s", idx);
		rc = sk_st_image_check(st, st->dfd, idx, what2, e[0], e + 13);
		if (rc == SK_EFAIL)
			return rc;
		if (rc != SK_OK)
			return sk_err(SK_EVERIFY, "store '%s': an interrupted commit cannot be finished: its %s for %s is missing (removed by hand?)",
				      st->dir, what, idx);
	}
done:
	if ((rc = sk_st_fsync_dir(st, st->dfd)) != SK_OK)
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

	if (sk_st_open_tmpdir(st, 0) != SK_OK || (d = sk_st_opendir(st->tfd)) == NULL)
		return;
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
int sk_st_clean_main(struct sk_store *st)
{
	struct bucket *bks = calloc(256, sizeof(*bks));
	uint8_t bad[256] = { 0 };
	struct dirent *de;
	DIR *d;
	int rc = SK_OK;

	if (bks == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	if ((d = sk_st_opendir(st->dfd)) == NULL) {
		free(bks);
		return sk_err_sys(SK_EFAIL, "store '%s': listing", st->dir);
	}
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
		    sk_st_unhex_prefix(file, 32, n + 3) != 0 || sk_st_unhex_prefix(salt, 16, n + 68) != 0)
			continue;
		if (bad[file[0]])
			continue;
		if (!bks[file[0]].loaded && sk_st_bucket_load(st, file[0], &bks[file[0]]) != SK_OK) {
			/* A damaged index bucket: leave its files for `store check`. */
			bad[file[0]] = 1;
			rc = SK_EVERIFY;
			continue;
		}
		e = sk_st_bucket_find(&bks[file[0]], file);
		if (e != NULL && e->state == IX_STAGED && memcmp(e->salt, salt, 16) == 0) {
			sk_st_file_hex(fhex, file);
			if (renameat(st->dfd, n, st->dfd, fhex) != 0 && errno != ENOENT)
				rc = sk_err_sys(SK_EFAIL, "store '%s': finishing an interrupted commit", st->dir);
			sk_st_crash_point("cleanup");
		} else if (unlinkat(st->dfd, n, 0) != 0 && errno != ENOENT) {
			rc = sk_err_sys(SK_EFAIL, "store '%s': removing debris", st->dir);
		}
	}
	closedir(d);
	sk_st_free_all_buckets(bks);
	free(bks);
	return rc;
}

/* Finish what earlier commits left pending in a bucket (in memory and on
 * disk); the directory fsync before the next commit point makes it durable
 * before the new bucket, which no longer marks it, is. */
int sk_st_normalize(struct sk_store *st, struct bucket *bk)
{
	char sname[STAGED_LEN + 1], fhex[65];
	size_t i = 0;

	while (i < bk->n) {
		struct ixent *e = &bk->e[i];

		sk_st_file_hex(fhex, e->file);
		if (e->state == IX_STAGED) {
			sk_st_staged_name(sname, e->file, e->salt);
			if (renameat(st->dfd, sname, st->dfd, fhex) != 0 && errno != ENOENT)
				return sk_err_sys(SK_EFAIL, "store '%s': finishing an earlier commit", st->dir);
			e->state = IX_LIVE;
		} else if (e->state == IX_DELETED) {
			if (unlinkat(st->dfd, fhex, 0) != 0 && errno != ENOENT)
				return sk_err_sys(SK_EFAIL, "store '%s': finishing an earlier delete", st->dir);
			sk_st_bucket_remove(bk, e);
			continue;
		}
		i++;
	}
	return SK_OK;
}

/* What crashed writers left (writer lock held, after sk_st_recover):
 * files in tmp/ that no writer holds, and, when the lock file says a
 * commit did not end cleanly, staged files in DIR. */
void sk_st_clean_debris(struct sk_store *st, int lockfd)
{
	clean_tmp(st);
	if (dirty_get(lockfd) && sk_st_clean_main(st) == SK_OK)
		sk_st_dirty_set(st, lockfd, 0);
}
