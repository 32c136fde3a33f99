/* SPDX-License-Identifier: MIT */
#ifndef SK_STORE_INT_H
#define SK_STORE_INT_H

/*
 * Internals of the store, shared by its files.  They are layers: each file
 * uses only the ones above it in this list, never one below, so there is
 * no import loop (scripts/import-loops.sh checks):
 *   store_hooks.c  test hooks (empty in the release build; Makefile)
 *   store_fmt.c    format primitives: names, object keys, tmp/ files,
 *                  chunk nonces, meta attributes
 *   store_index.c  the index buckets: load, check, edit, build images
 *   store_lock.c   the writer lock, and recovery after a crashed commit
 *   store_read.c   lock-free reading: locating and opening objects,
 *                  readers, listing
 *   store.c        the master key; opening and closing a store
 *   store_txn.c    transactions, writers and the commit protocol
 *   store_check.c  the whole-store check and repair
 * Nothing else includes this; the API is store.h.
 */

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "store/store.h"

/* On-disk constants: see docs/formats/store.md before changing any. */
#define MK_FILE "master.key"
#define MK_MAGIC "SKMK"
#define MK_VERSION 1
#define MK_VERSION_KEPT 2 /* a sealed key the TPM keeps (persistent object) */
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
#define JN_VERSION 2
#define JN_ENT 45    /* bucket 1, image name random part 12, image MAC 32 */
#define JN_V1_ENT 13 /* version 1 (no image MAC): still finished when found */
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
	/* An interrupted commit that cannot be finished (sk_st_recover's
	 * message): nothing is read while it stands; store check reports it
	 * and --repair resolves it. */
	char *stuck;
	const struct sk_store_opts *opts; /* during sk_store_open only */
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
};

struct sk_st_publish {
	uint8_t b[256];          /* the buckets concerned */
	int nb;
	char img[256][TMPNAME];  /* their new images in tmp/ ("" once renamed) */
	uint8_t rnd[256][12];
	uint8_t mac[256][32];    /* their MACs (the images' last 32 bytes) */
	int committed;           /* the commit point has been passed */
};

/* store_hooks.c: the test hooks of store.h (no-ops in the release build) */
void sk_st_crash_point(const char *step);
int sk_st_fail_point(const char *step);

/* store_fmt.c */
const char *sk_st_ns_name(int ns);
int sk_st_object_keys(const struct sk_store *st, const uint8_t salt[16], const uint8_t *extra,
		      uint8_t hkey[32], uint8_t bkey[32]);
int sk_st_object_file(const struct sk_store *st, int ns, const char *name, uint8_t out[32]);
int sk_st_is_hex(const char *s, size_t n);
int sk_st_unhex_prefix(uint8_t *out, size_t n, const char *p);
int sk_st_is_object_file(const char *n);
void sk_st_file_hex(char out[65], const uint8_t file[32]);
void sk_st_staged_name(char out[STAGED_LEN + 1], const uint8_t file[32], const uint8_t salt[16]);
void sk_st_bucket_name(char out[8], int b);
void sk_st_chunk_nonce(uint8_t nonce[12], uint64_t idx, int last);
int sk_st_open_tmpdir(struct sk_store *st, int create);
int sk_st_tmp_create(struct sk_store *st, char kind, char name[TMPNAME], uint8_t rnd[12], int *fdout);
int sk_st_fsync_dir(struct sk_store *st, int fd);
/* A listing of directory fd from its first entry, on a descriptor of its
 * own (fd stays open and unmoved): closedir() it.  NULL with errno set. */
DIR *sk_st_opendir(int fd);

/* store_index.c */
void sk_st_bucket_free(struct bucket *bk);
void sk_st_free_all_buckets(struct bucket *bks);
struct ixent *sk_st_bucket_find(const struct bucket *bk, const uint8_t file[32]);
int sk_st_bucket_set(struct bucket *bk, const uint8_t file[32], const uint8_t salt[16], int state);
void sk_st_bucket_remove(struct bucket *bk, struct ixent *e);
int sk_st_bucket_load(struct sk_store *st, int b, struct bucket *bk);
int sk_st_image_check(struct sk_store *st, int dirfd, const char *name, const char *what, int b,
		      const uint8_t mac[32]);
int sk_st_bucket_image(struct sk_store *st, int b, const struct bucket *bk, struct sk_buf *out);

/* store_lock.c */
int sk_st_take_lock(struct sk_store *st, int shared, int *lockfd);
void sk_st_release_lock(struct sk_store *st, int fd, int shared);
int sk_st_dirty_set(struct sk_store *st, int lockfd, int on);
int sk_st_recover(struct sk_store *st, int accept_loss);
int sk_st_clean_main(struct sk_store *st);
void sk_st_clean_debris(struct sk_store *st, int lockfd);
int sk_st_normalize(struct sk_store *st, struct bucket *bk);

/* store_read.c */
int sk_st_open_object(struct sk_store *st, const char *fname, const uint8_t file[32], int want_ns,
		      const char *want_name, struct sk_obj_info *info, int *fdout,
		      uint64_t *bodyoff);
int sk_st_try_locate(struct sk_store *st, const uint8_t file[32], const struct bucket *bk,
		     int want_ns, const char *want_name, struct sk_obj_info *info, int *fdout,
		     uint64_t *bodyoff);
int sk_st_verify_body(struct sk_store *st, int fd, const struct sk_obj_info *info, uint64_t off);

/* store_txn.c */
void sk_st_txn_free(struct sk_txn *t, int unlink_tmps);
int sk_st_publish(struct sk_store *st, struct bucket *bks, struct sk_st_publish *pb);
void sk_st_publish_abort(struct sk_store *st, struct sk_st_publish *pb);

#endif
