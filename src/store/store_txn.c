/* SPDX-License-Identifier: MIT */
/*
 * The store's writers: the lock, transactions, the commit protocol and the
 * recovery after a crash (docs/formats/store.md, "Commits").
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
 *      (and their MACs) is renamed to DIR/journal and the directory
 *      fsync'd, then the images are renamed and the journal removed;
 *   5. staged files are renamed over the object files and deleted objects
 *      unlinked.  The index marks these entries STAGED / DELETED until a
 *      later commit of the same bucket (or a reader, or the crash cleanup)
 *      has seen them done, so a crash here loses nothing.
 * An error before the commit point undoes everything; an error at or after
 * it undoes nothing (the journal and the index name what the next writer
 * needs to finish) and is reported as "committed, not finished".
 * Readers need no lock: an index entry names the salt of the current
 * version, and a STAGED entry tells them where to find it until step 5.
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

void sk_st_txn_free(struct sk_txn *t, int unlink_tmps)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		struct op *o = &t->ops[i];

		if (o->fd >= 0)
			close(o->fd);
		if (unlink_tmps && !o->del && o->tmp[0] && t->st->tfd >= 0)
			unlinkat(t->st->tfd, o->tmp, 0);
	}
	sk_st_release_lock(t->st, t->lockfd, 0);
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
	if ((rc = sk_st_take_lock(st, 0, &fd)) != SK_OK)
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
	if ((rc = sk_st_recover(st, 0)) != SK_OK) {
		sk_st_release_lock(st, fd, 0);
		t->lockfd = -1;
		return rc;
	}
	sk_st_clean_debris(st, fd);
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
		sk_st_txn_free(*out, 1);
		*out = NULL;
	}
	return rc;
}

struct sk_store *sk_txn_store(const struct sk_txn *t)
{
	return t->st;
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

	if ((rc = sk_st_object_file(t->st, ns, name, file)) != SK_OK)
		return rc;
	return add_op(t, 1, file, NULL, NULL, -1);
}

void sk_txn_abort(struct sk_txn *t)
{
	if (t != NULL)
		sk_st_txn_free(t, 1);
}

/* ---- writing ---- */

static int chunk_seal(const uint8_t key[32], uint64_t idx, int last, uint8_t *p, size_t n)
{
	uint8_t nonce[12];

	sk_st_chunk_nonce(nonce, idx, last);
	if (sk_gcm_seal(key, nonce, NULL, 0, p, n, p, p + n) != SK_OK)
		return sk_err_wrap(SK_EFAIL, "encrypting store object");
	return SK_OK;
}


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
		return sk_err(SK_EFAIL, "%s '%s': attributes too large", sk_st_ns_name(ns), name);
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	w->t = t;
	w->fd = -1;
	t->nwriters++;
	snprintf(w->what, sizeof(w->what), "%s '%s'", sk_st_ns_name(ns), name);
	if ((rc = sk_st_object_file(st, ns, name, w->file)) != SK_OK)
		goto fail;
	w->hdrlen = HDR_MIN - 1 + nlen + metalen;
	w->hdr = calloc(1, w->hdrlen + TAG);
	w->chunk = malloc(CHUNK + TAG);
	if (w->hdr == NULL || w->chunk == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
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
	if ((rc = sk_st_object_keys(st, w->salt, extra, w->hkey, w->bkey)) != SK_OK)
		goto fail;
	if ((rc = sk_st_tmp_create(st, 'o', w->tmp, NULL, &w->fd)) != SK_OK) {
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
	int rc = chunk_seal(w->bkey, w->idx, last, w->chunk, w->fill);

	if (rc != SK_OK)
		return rc;
	if (sk_st_fail_point("body-write") || sk_write_all(w->fd, w->chunk, w->fill + TAG) != 0)
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
	if (sk_st_fail_point("body-write") || pwrite(w->fd, out, len, 0) != (ssize_t)len) {
		rc = sk_err_sys(SK_EFAIL, "%s: writing to store '%s'", w->what, w->t->st->dir);
		goto fail;
	}
	if (sk_st_fail_point("body-sync") || fsync(w->fd) != 0) {
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

static int write_tmp(struct sk_store *st, char kind, const struct sk_buf *data, char name[TMPNAME],
		     uint8_t rnd[12])
{
	int fd, rc;

	if ((rc = sk_st_tmp_create(st, kind, name, rnd, &fd)) != SK_OK)
		return rc;
	if (sk_st_fail_point("index-write") || sk_write_all(fd, data->p, data->len) != 0 || fsync(fd) != 0) {
		rc = sk_err_sys(SK_EFAIL, "store '%s': writing the index", st->dir);
		close(fd);
		unlinkat(st->tfd, name, 0);
		name[0] = '\0';
		return rc;
	}
	close(fd);
	return SK_OK;
}

/*
 * After the commit point an error no longer undoes the commit: the new
 * bucket, or the journal, names every file the commit needs (staged
 * versions, index images), the commit leaves them all where they are, and
 * the next writer (or the next process to open the store, for a journal)
 * finishes it.  The command still fails: the commit may not be durable.
 */
static int unfinished(struct sk_store *st, const char *step)
{
	return sk_err_sys(SK_EFAIL, "store '%s': committed, not finished (the next writer finishes it): %s",
			  st->dir, step);
}

static int sync_committed(struct sk_store *st)
{
	if (fsync(st->dfd) != 0 && errno != EINVAL && errno != EROFS)
		return unfinished(st, "syncing the directory");
	return SK_OK;
}

/* A rename that reported an error may have happened all the same (an I/O
 * error after the directory changed): then its source is gone. */
static int renamed_anyway(int dirfd, const char *from)
{
	return faccessat(dirfd, from, F_OK, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT;
}

/* A multi-bucket commit point: the journal naming the new images. */
static int write_journal(struct sk_store *st, struct sk_st_publish *pb)
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
		if ((rc = sk_buf_add(&j, &pb->b[k], 1)) == SK_OK &&
		    (rc = sk_buf_add(&j, pb->rnd[k], 12)) == SK_OK)
			rc = sk_buf_add(&j, pb->mac[k], 32);
	if (rc == SK_OK &&
	    (rc = sk_hmac("SHA256", st->journal_key, 32, j.p, j.len, mac, &maclen)) == SK_OK)
		rc = sk_buf_add(&j, mac, 32);
	if (rc == SK_OK)
		rc = write_tmp(st, 'j', &j, name, NULL);
	sk_buf_free(&j);
	if (rc != SK_OK)
		return rc;
	/* The images' names in tmp/ must survive a power loss with the journal. */
	if ((rc = sk_st_fsync_dir(st, st->tfd)) != SK_OK) {
		unlinkat(st->tfd, name, 0);
		return rc;
	}
	if (sk_st_fail_point("commit") || renameat(st->tfd, name, st->dfd, JOURNAL) != 0) {
		if (renamed_anyway(st->tfd, name)) {
			pb->committed = 1;
			return unfinished(st, "writing the journal");
		}
		rc = sk_err_sys(SK_EFAIL, "store '%s': writing the journal", st->dir);
		unlinkat(st->tfd, name, 0);
		return rc;
	}
	pb->committed = 1;
	return sync_committed(st);
}

/*
 * Write the new images of the buckets in pb and pass the commit point.
 * Before pb->committed is set nothing visible has changed; after it the
 * commit stands (an error then only means it may not be durable yet, or
 * will be completed by the next writer).
 */
int sk_st_publish(struct sk_store *st, struct bucket *bks, struct sk_st_publish *pb)
{
	struct sk_buf image = { 0 };
	char idx[8];
	int k, rc = SK_OK;

	for (k = 0; rc == SK_OK && k < pb->nb; k++)
		if ((rc = sk_st_bucket_image(st, pb->b[k], &bks[pb->b[k]], &image)) == SK_OK) {
			memcpy(pb->mac[k], image.p + image.len - 32, 32);
			rc = write_tmp(st, 'b', &image, pb->img[k], pb->rnd[k]);
		}
	sk_buf_free(&image);
	if (rc == SK_OK)
		rc = sk_st_fsync_dir(st, st->dfd);
	if (rc != SK_OK)
		return rc;
	sk_st_crash_point("before-commit");
	if (pb->nb == 1) {
		sk_st_bucket_name(idx, pb->b[0]);
		if (sk_st_fail_point("commit") || renameat(st->tfd, pb->img[0], st->dfd, idx) != 0) {
			if (!renamed_anyway(st->tfd, pb->img[0]))
				return sk_err_sys(SK_EFAIL, "store '%s': committing", st->dir);
			pb->img[0][0] = '\0';
			pb->committed = 1;
			return unfinished(st, "committing");
		}
		pb->img[0][0] = '\0';
		pb->committed = 1;
		if ((rc = sync_committed(st)) != SK_OK)
			return rc;
		sk_st_crash_point("after-journal");
		return SK_OK;
	}
	rc = write_journal(st, pb);
	if (!pb->committed || rc != SK_OK)
		return rc;
	sk_st_crash_point("after-journal");
	/* From here on every image is the journal's until it is in place. */
	for (k = 0; k < pb->nb; k++) {
		sk_st_bucket_name(idx, pb->b[k]);
		if (renameat(st->tfd, pb->img[k], st->dfd, idx) != 0 && !renamed_anyway(st->tfd, pb->img[k]))
			return unfinished(st, "committing");
		pb->img[k][0] = '\0';
		sk_st_crash_point("mid-buckets");
	}
	if ((rc = sync_committed(st)) != SK_OK)
		return rc;
	if (unlinkat(st->dfd, JOURNAL, 0) != 0)
		return unfinished(st, "removing the journal");
	return SK_OK;
}

void sk_st_publish_abort(struct sk_store *st, struct sk_st_publish *pb)
{
	int k;

	/* Past the commit point the images are the journal's (or renamed). */
	if (pb->committed)
		return;
	for (k = 0; k < pb->nb; k++)
		if (pb->img[k][0] && st->tfd >= 0)
			unlinkat(st->tfd, pb->img[k], 0);
}

/* Commit step 2: move the new versions into DIR under their staged names. */
static int stage(struct sk_txn *t)
{
	struct sk_store *st = t->st;
	char sname[STAGED_LEN + 1];
	size_t i;

	for (i = 0; i < t->n; i++) {
		struct op *o = &t->ops[i];

		if (o->del)
			continue;
		sk_st_staged_name(sname, o->file, o->salt);
		if (sk_st_fail_point("stage") || renameat(st->tfd, o->tmp, st->dfd, sname) != 0) {
			int rc = sk_err_sys(SK_EFAIL, "store '%s': committing", st->dir);

			if (renamed_anyway(st->tfd, o->tmp)) {
				o->staged = 1; /* so that it is removed below */
				o->tmp[0] = '\0';
			}
			return rc;
		}
		o->staged = 1;
		o->tmp[0] = '\0';
	}
	return SK_OK;
}

/* Commit step 5, after the commit point: staged versions over the object
 * files, deleted objects unlinked.  1 if all of it happened. */
static int put_in_place(struct sk_txn *t)
{
	struct sk_store *st = t->st;
	char sname[STAGED_LEN + 1], fhex[65];
	int clean = 1;
	size_t i;

	for (i = 0; i < t->n; i++) {
		struct op *o = &t->ops[i];

		sk_st_file_hex(fhex, o->file);
		if (o->del) {
			if (unlinkat(st->dfd, fhex, 0) != 0 && errno != ENOENT)
				clean = 0;
		} else {
			sk_st_staged_name(sname, o->file, o->salt);
			if (renameat(st->dfd, sname, st->dfd, fhex) != 0)
				clean = 0;
		}
		sk_st_crash_point("mid-rename");
	}
	return clean;
}

/* A commit that failed before its commit point: remove what it staged.
 * 1 if nothing is left behind. */
static int unstage(struct sk_txn *t)
{
	char sname[STAGED_LEN + 1];
	int clean = 1;
	size_t i;

	for (i = 0; i < t->n; i++) {
		struct op *o = &t->ops[i];

		if (!o->staged)
			continue;
		sk_st_staged_name(sname, o->file, o->salt);
		if (unlinkat(t->st->dfd, sname, 0) != 0 && errno != ENOENT)
			clean = 0;
	}
	return clean;
}

int sk_txn_commit(struct sk_txn *t)
{
	struct sk_store *st = t->st;
	struct bucket *bks = NULL;
	struct sk_st_publish *pb = NULL;
	int rc, k, clean;
	size_t i;

	if (t->nwriters != 0) {
		sk_txn_abort(t);
		return sk_err(SK_EFAIL, "internal error: committing with a writer still open");
	}
	if ((rc = sk_txn_lock(t)) != SK_OK) {
		sk_txn_abort(t);
		return rc;
	}
	sk_st_crash_point("before-rename");
	if (t->n == 0) {
		sk_st_txn_free(t, 0);
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
		if ((rc = sk_st_bucket_load(st, b, &bks[b])) != SK_OK) {
			sk_err_wrap(rc, "cannot write");
			goto fail;
		}
		pb->b[pb->nb++] = (uint8_t)b;
	}
	for (k = 0; k < pb->nb; k++)
		if ((rc = sk_st_normalize(st, &bks[pb->b[k]])) != SK_OK)
			goto fail;
	if ((rc = sk_st_dirty_set(st, t->lockfd, 1)) != SK_OK)
		goto fail;
	if ((rc = stage(t)) != SK_OK)
		goto fail;
	sk_st_crash_point("staged");
	for (i = 0; i < t->n; i++) {
		struct op *o = &t->ops[i];

		rc = sk_st_bucket_set(&bks[o->file[0]], o->file, o->del ? NULL : o->salt,
				o->del ? IX_DELETED : IX_STAGED);
		if (rc != SK_OK)
			goto fail;
	}
	rc = sk_st_publish(st, bks, pb);
	if (!pb->committed)
		goto fail;
	/* Committed.  If not all of the index is in place yet (an error after
	 * the commit point), the versions stay staged, the journal and its
	 * images stay, and so does the dirty flag: the next writer finishes.
	 * Otherwise move the new versions into place; whatever does not happen
	 * here (a crash, an error) is finished later from the index. */
	if (rc != SK_OK)
		goto out;
	if (put_in_place(t))
		sk_st_dirty_set(st, t->lockfd, 0);
	sk_st_crash_point("after-commit");
out:
	sk_st_free_all_buckets(bks);
	free(bks);
	free(pb);
	sk_st_txn_free(t, 0);
	return rc;
fail:
	/* Not committed: remove what this commit staged; the store is as it was. */
	clean = unstage(t);
	if (pb != NULL)
		sk_st_publish_abort(st, pb);
	if (clean && t->lockfd >= 0)
		sk_st_dirty_set(st, t->lockfd, 0);
	if (bks != NULL)
		sk_st_free_all_buckets(bks);
	free(bks);
	free(pb);
	sk_st_txn_free(t, 1);
	return rc;
}
