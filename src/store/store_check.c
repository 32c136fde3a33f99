/* SPDX-License-Identifier: MIT */
/* The whole-store check and repair (`seckit store check`). */
#include "store/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "store/store_int.h"

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


/* Rebuild a damaged bucket from the object files that verify. */
static int rebuild_bucket(struct sk_store *st, int b, struct bucket *bk)
{
	struct dirent *de;
	DIR *d;
	int rc = SK_OK;

	sk_st_bucket_free(bk);
	bk->loaded = 1;
	if ((d = sk_st_opendir(st->dfd)) == NULL)
		return sk_err_sys(SK_EFAIL, "store '%s': listing", st->dir);
	while (rc == SK_OK && (de = readdir(d)) != NULL) {
		struct sk_obj_info info;
		uint8_t file[32];
		uint64_t off;
		int fd;

		if (!sk_st_is_object_file(de->d_name) || sk_unhex(file, 32, de->d_name) != 0 || file[0] != b)
			continue;
		if (sk_st_open_object(st, de->d_name, file, 0, NULL, &info, &fd, &off) != SK_OK)
			continue; /* damaged: the file scan removes it */
		rc = sk_st_verify_body(st, fd, &info, off);
		if (rc == SK_OK || (info.flags & SK_OBJ_KEYED))
			rc = sk_st_bucket_set(bk, file, info.version, IX_LIVE);
		else
			rc = SK_OK;
		sk_obj_info_free(&info);
	}
	closedir(d);
	return rc;
}

/* An interrupted commit that cannot be finished is a problem; repairing
 * puts in place what of it can be and drops the rest (the buckets are each
 * consistent; the staged files no index names go with the clean-up). */
static int check_stuck(struct checker *c, int repair)
{
	struct sk_store *st = c->st;
	int rc, lockfd;

	if (st->stuck == NULL)
		return SK_OK;
	problem(c, JOURNAL, st->stuck);
	if (!repair)
		return SK_OK;
	if ((rc = sk_st_take_lock(st, 0, &lockfd)) != SK_OK)
		return rc;
	rc = sk_st_recover(st, 1);
	sk_st_release_lock(st, lockfd, 0);
	if (rc != SK_OK)
		return rc;
	free(st->stuck);
	st->stuck = NULL;
	return SK_OK;
}

/* Every object the index names opens, and its body authenticates (keyed
 * bodies need their key: only the header is checked).  Repairing drops
 * the entries that fail from the index (changed[bucket] set). */
static int check_objects(struct checker *c, struct bucket *bks, int repair, uint8_t changed[256],
			 size_t *nobj)
{
	struct sk_store *st = c->st;
	char fhex[65], sname[STAGED_LEN + 1];
	size_t i;
	int b, rc;

	for (b = 0; b < 256; b++) {
		for (i = 0; i < bks[b].n; i++) {
			struct ixent *e = &bks[b].e[i];
			struct sk_obj_info info;
			uint64_t off;
			int fd;

			if (e->state == IX_DELETED)
				continue;
			rc = sk_st_try_locate(st, e->file, &bks[b], 0, NULL, &info, &fd, &off);
			if (rc == SK_OK) {
				rc = (info.flags & SK_OBJ_KEYED) ? (close(fd), SK_OK)
								 : sk_st_verify_body(st, fd, &info, off);
				sk_obj_info_free(&info);
			}
			if (rc == SK_OK) {
				(*nobj)++;
				continue;
			}
			if (rc == SK_EFAIL)
				return rc;
			sk_st_file_hex(fhex, e->file);
			problem(c, fhex, sk_err_msg());
			if (repair) {
				if (e->state == IX_STAGED) {
					sk_st_staged_name(sname, e->file, e->salt);
					unlinkat(st->dfd, sname, 0);
				}
				e->state = IX_DELETED;
				memset(e->salt, 0, 16);
				changed[b] = 1;
			}
		}
	}
	return SK_OK;
}

/* Object files the index does not know (removed when repairing). */
static int check_unindexed(struct checker *c, const struct bucket *bks, int repair)
{
	struct sk_store *st = c->st;
	struct dirent *de;
	DIR *d = sk_st_opendir(st->dfd);

	if (d == NULL)
		return sk_err_sys(SK_EFAIL, "store '%s': listing", st->dir);
	while ((de = readdir(d)) != NULL) {
		uint8_t file[32];
		char msg[160];

		if (!sk_st_is_object_file(de->d_name) || sk_unhex(file, 32, de->d_name) != 0 ||
		    sk_st_bucket_find(&bks[file[0]], file) != NULL)
			continue;
		snprintf(msg, sizeof(msg), "store file %.64s is not in the store index", de->d_name);
		problem(c, de->d_name, msg);
		if (repair)
			unlinkat(st->dfd, de->d_name, 0);
	}
	closedir(d);
	return SK_OK;
}

int sk_store_check(struct sk_store *st, int repair, sk_check_fn fn, void *arg, size_t *nobjects)
{
	struct checker c = { st, fn, arg, 0 };
	struct bucket *bks = calloc(256, sizeof(*bks));
	struct sk_st_publish *pb = calloc(1, sizeof(*pb));
	uint8_t changed[256] = { 0 };
	struct sk_txn *t = NULL;
	char name[8];
	int b, rc = SK_OK, lockfd = -1;
	size_t i, nobj = 0;

	if (bks == NULL || pb == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto out;
	}
	if ((rc = check_stuck(&c, repair)) != SK_OK)
		goto out;
	/* A consistent view: exclusive to repair, shared to look. */
	if (repair)
		rc = sk_txn_begin(st, &t);
	else if (!st->exclusive)
		rc = sk_st_take_lock(st, 1, &lockfd);
	if (rc != SK_OK)
		goto out;
	for (b = 0; b < 256; b++) {
		rc = sk_st_bucket_load(st, b, &bks[b]);
		if (rc == SK_EVERIFY) {
			sk_st_bucket_name(name, b);
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
	if ((rc = check_objects(&c, bks, repair, changed, &nobj)) != SK_OK)
		goto out;
	if ((rc = check_unindexed(&c, bks, repair)) != SK_OK)
		goto out;
	if (repair) {
		for (b = 0; b < 256; b++)
			if (changed[b])
				pb->b[pb->nb++] = (uint8_t)b;
		if (pb->nb > 0) {
			rc = sk_st_publish(st, bks, pb);
			sk_st_publish_abort(st, pb); /* a no-op once committed */
			if (rc != SK_OK)
				goto out;
			for (i = 0; i < (size_t)pb->nb; i++)
				sk_st_normalize(st, &bks[pb->b[i]]);
		}
		sk_st_clean_main(st);
	}
	if (c.problems > 0 && !repair)
		rc = sk_err(SK_EVERIFY, "store '%s': %zu problem%s found", st->dir, c.problems,
			    c.problems == 1 ? "" : "s");
out:
	if (nobjects != NULL)
		*nobjects = nobj;
	if (t != NULL)
		sk_st_txn_free(t, 0);
	sk_st_release_lock(st, lockfd, 1);
	if (bks != NULL)
		sk_st_free_all_buckets(bks);
	free(bks);
	free(pb);
	return rc;
}
