/* SPDX-License-Identifier: MIT */
#ifndef SK_STORE_H
#define SK_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/util.h"

/*
 * The store: a directory of sealed objects under one master key.
 *
 *   DIR/master.key   format version, master key, check value (0600)
 *   DIR/<64 hex>     one object; the file name is HMAC(names-key, ns || name)
 *   DIR/idx.<2 hex>  the index: which version of each object is current
 *                    (256 buckets by the first byte of the file name)
 *   DIR/.s.<64 hex>.<32 hex>  an object version committed but not yet
 *                    moved into place (transient)
 *   DIR/journal      redo record of a commit that spans index buckets
 *   DIR/lock         flock(2) target that serialises writers
 *   DIR/tmp/         files being written (debris after a crash)
 *
 * An object is a namespace (key, password, data ...), a name, a small
 * attribute blob ("meta", opaque here) and a body of any size.  All of it
 * is encrypted and authenticated; the object's namespace and name are
 * inside the sealed header and checked on every read, so a file moved or
 * copied onto another object's name is detected (SK_EVERIFY).  Every
 * version of an object has a random 16-byte salt; the index records the
 * current one, so a file replaced by an older copy of itself, deleted, or
 * restored after a deletion is detected too (SK_EVERIFY).  What the soft
 * store cannot detect (a consistent rollback of an index bucket together
 * with its objects, or of the whole directory) is listed in
 * docs/formats/store.md, which describes the format byte by byte.
 *
 * Readers take no lock: files only ever change by rename(2), so a reader
 * sees the whole old or the whole new object; if the index and a file
 * disagree (a writer is between two renames) the reader retries and, as a
 * last resort, takes the lock shared.  Writers run a transaction: begin
 * (take the lock, finish an interrupted commit, remove debris), any number
 * of puts and deletes, commit (all or nothing, crash-safe: after a crash at
 * any point every object reads back as its complete old or complete new
 * value).  Reads inside a transaction see the committed state, not the
 * transaction's own puts.
 */

enum sk_ns {
	SK_NS_KEY = 1,      /* named keys (keys.c) */
	SK_NS_PASSWORD = 2, /* password objects (password.c) */
	SK_NS_DATA = 3,     /* `seckit store` objects (data.c) */
	SK_NS_CERT = 4,     /* certificates, CA store */
	SK_NS_STATE = 5,    /* internal state (sequence numbers, clock ...) */
};

#define SK_STORE_NAME_MAX 255
#define SK_STORE_META_MAX 65000

struct sk_store;
struct sk_txn;

/*
 * Who guards the master key.  SK_MK_FILE: it is in master.key, protected
 * by the file's permissions.  SK_MK_TPM2: master.key holds a TPM sealed
 * object instead, and only that TPM can recover the key, so a copy of the
 * store directory is useless elsewhere.  SK_MK_TPM2_PCR: the same, sealed
 * under a PolicyPCR on the values chosen PCRs held (the config's
 * master-key pcrs), so that the store opens only in the measured state it
 * was sealed in; the blob records the binding (ctx.c).  The store layer
 * does not talk to TPMs: the caller (ctx.c) supplies seal/unseal through
 * the options, and the blob is opaque here.
 */
enum sk_mk_protection { SK_MK_FILE = 0, SK_MK_TPM2 = 1, SK_MK_TPM2_PCR = 2 };
/* master.key's flags (sealed keys): SK_MK_PREDICTED, sealed to PCR
 * values predicted off the device (store reseal --golden), which the PCRs
 * may not have held yet. */
enum { SK_MK_PREDICTED = 1u << 0 };

struct sk_store_opts {
	int create;            /* create the store if it does not exist */
	unsigned lock_timeout; /* seconds to wait for the writer lock */
	/* How a new store's master key is protected (create only). */
	enum sk_mk_protection protection;
	/* Seal a new master key / unseal an existing one for a protection
	 * other than SK_MK_FILE; NULL: such stores cannot be opened (4).
	 * flags: what master.key says of the seal (SK_MK_*, below), as
	 * flags gave it when it was written. */
	int (*seal)(void *arg, enum sk_mk_protection p, const uint8_t key[32], struct sk_buf *blob);
	int (*unseal)(void *arg, enum sk_mk_protection p, unsigned flags, const uint8_t *blob,
		      size_t n, uint8_t key[32]);
	unsigned flags;
	/* Give up what a sealed blob holds in the device (the TPM's
	 * persistent object): a blob sealed and not used (another process
	 * made the store first, a reseal that failed), the old one a reseal
	 * replaced.  NULL: nothing to give up.  Best effort: a failure
	 * leaves the object, which `key handles` lists. */
	void (*release)(void *arg, enum sk_mk_protection p, const uint8_t *blob, size_t n);
	void *arg;
};

/* Object flags (struct sk_obj_info.flags). */
enum {
	SK_OBJ_KEYED = 1u << 0, /* the body needs an extra key (sk_reader_key) */
};

struct sk_obj_info {
	uint8_t ns;
	char name[SK_STORE_NAME_MAX + 1];
	uint64_t size;   /* body length */
	uint64_t mtime;  /* seconds since the epoch, when written */
	uint8_t *meta;   /* attributes (owned; freed by sk_obj_info_free) */
	size_t metalen;
	unsigned flags;      /* SK_OBJ_* */
	uint8_t version[16]; /* random per write: equal versions, same content */
	char file[65];       /* the object's file name in the store directory */
};
void sk_obj_info_free(struct sk_obj_info *info);

int sk_store_open(const char *dir, const struct sk_store_opts *opts, struct sk_store **out);
void sk_store_close(struct sk_store *st);
const char *sk_store_dir(const struct sk_store *st);
/* How the master key of the store in dir is protected, from master.key's
 * header alone (nothing unsealed): SK_ENOTFOUND without one, SK_EVERIFY
 * for a header that is not one. */
int sk_store_protection(const char *dir, enum sk_mk_protection *p);
/* The same, and for a sealed key its blob as master.key holds it (not
 * unsealed; with SK_MK_TPM2_PCR it starts with the PCR binding, pcr.h). */
int sk_store_sealed_key(const char *dir, enum sk_mk_protection *p, struct sk_buf *blob);

/* Keep the open store's master key under opts->protection (sealed with
 * opts->seal) from now on: master.key is replaced whole (a new file,
 * O_EXCL 0600, synced, renamed over the old one under the writer lock),
 * so a failure leaves the old one.  The key, and so every object, stays
 * the same. */
int sk_store_reseal(struct sk_store *st, const struct sk_store_opts *opts);

/* Derive a 32-byte key for a purpose from the master key (HKDF), for layers
 * above that need their own keys bound to this store. */
int sk_store_derive(const struct sk_store *st, const char *label, uint8_t out[32]);

/* Header of an object: SK_ENOTFOUND if absent, SK_EVERIFY if tampered. */
int sk_store_stat(struct sk_store *st, int ns, const char *name, struct sk_obj_info *info);
/* Whole object; body limited to max bytes (SK_EFAIL beyond). info may be
 * NULL.  A keyed object needs sk_reader_*: here it fails with SK_EAUTH.
 * On failure body keeps only what it held before, and a buffer that was
 * empty (cap 0) on entry is freed. */
int sk_store_get(struct sk_store *st, int ns, const char *name, size_t max,
		 struct sk_obj_info *info, struct sk_buf *body);

/* Streaming read: each chunk is authenticated before any byte of it is
 * returned; truncation is reported at the end (SK_EVERIFY). */
struct sk_reader;
int sk_reader_open(struct sk_store *st, int ns, const char *name,
		   struct sk_obj_info *info, struct sk_reader **out);
/* The extra body key of a keyed object (before the first read).  A wrong
 * key shows as SK_EVERIFY on the first read. */
int sk_reader_key(struct sk_reader *r, const uint8_t key[32]);
/* Returns bytes read, 0 at the verified end, -1 on error (sk_err set). */
ssize_t sk_reader_read(struct sk_reader *r, void *p, size_t n);
/* Back to the first byte of the body (e.g. after a verifying pass). */
int sk_reader_rewind(struct sk_reader *r);
int sk_reader_rc(const struct sk_reader *r);
void sk_reader_close(struct sk_reader *r);

/* All objects of a namespace (ns 0: all), sorted by name.  A damaged file
 * stops the listing with SK_EVERIFY naming the file (fn is then never
 * called).  The callback may return non-zero to stop; that value is
 * returned. */
typedef int (*sk_list_fn)(const struct sk_obj_info *info, void *arg);
int sk_store_list(struct sk_store *st, int ns, sk_list_fn fn, void *arg);

/*
 * Whole-store check: every index entry, every object file (headers, and
 * bodies except keyed ones), debris.  fn is called once per problem with
 * the file name and a message; repair: remove damaged and unindexed files
 * and drop index entries that have no valid file (the loss is accepted;
 * this is how a store that failed a check is made usable again).  Returns
 * SK_OK if nothing was wrong (or everything was repaired), else SK_EVERIFY.
 */
typedef void (*sk_check_fn)(const char *file, const char *problem, void *arg);
int sk_store_check(struct sk_store *st, int repair, sk_check_fn fn, void *arg,
		   size_t *nobjects);

/*
 * Transactions.  sk_txn_begin() takes the writer lock at once (waiting at
 * most lock_timeout seconds: SK_EBACKEND "locked").  A transaction begun
 * with sk_txn_begin_unlocked() streams its bodies into temporary files
 * without the lock, so a slow producer does not hold up other writers;
 * sk_txn_lock() (or sk_txn_commit(), which takes it if needed) takes it,
 * and whatever decided what to write (existence, passwords) must be
 * checked again after that.
 */
int sk_txn_begin(struct sk_store *st, struct sk_txn **out);
int sk_txn_begin_unlocked(struct sk_store *st, struct sk_txn **out);
int sk_txn_lock(struct sk_txn *t);
/* The store a transaction writes (for reads of its committed state). */
struct sk_store *sk_txn_store(const struct sk_txn *t);
int sk_txn_put(struct sk_txn *t, int ns, const char *name, const void *meta,
	       size_t metalen, const void *body, size_t bodylen);
int sk_txn_del(struct sk_txn *t, int ns, const char *name);
/* Streaming put: open, write any number of times, close (adds the object
 * to the transaction) or abort.  Nothing is visible before sk_txn_commit(). */
struct sk_writer;
int sk_writer_open(struct sk_txn *t, int ns, const char *name, const void *meta,
		   size_t metalen, struct sk_writer **out);
/* The same with an extra body key: the body is then encrypted under a key
 * derived from both the master key and key (SK_OBJ_KEYED); the header
 * (name, size, meta) still opens with the master key alone. */
int sk_writer_open_keyed(struct sk_txn *t, int ns, const char *name, const void *meta,
			 size_t metalen, const uint8_t key[32], struct sk_writer **out);
int sk_writer_write(struct sk_writer *w, const void *p, size_t n);
int sk_writer_close(struct sk_writer *w);
void sk_writer_abort(struct sk_writer *w);
int sk_txn_commit(struct sk_txn *t);  /* frees t, releases the lock */
void sk_txn_abort(struct sk_txn *t);  /* frees t, removes its temp files */

/* Tiny attribute encoding for meta blobs: tag u8, len u16 BE, value. */
int sk_attr_put(struct sk_buf *b, uint8_t tag, const void *p, size_t n);
int sk_attr_put_u64(struct sk_buf *b, uint8_t tag, uint64_t v);
int sk_attr_put_str(struct sk_buf *b, uint8_t tag, const char *s);
/* 1 if found (p/n set), 0 if absent, -1 if the blob is malformed. */
int sk_attr_get(const uint8_t *meta, size_t len, uint8_t tag, const uint8_t **p, size_t *n);
int sk_attr_get_u64(const uint8_t *meta, size_t len, uint8_t tag, uint64_t *v);

/*
 * Test hooks, compiled only into the test build (build/test/seckit and the
 * unit-test programs, -DSECKIT_TEST_HOOKS; src/store/store_hooks.c): the release
 * binary reads neither variable.  Cost in a test build: one getenv() per step.
 * SECKIT_TEST_CRASH_AT=STEP[:N] kills the process with SIGKILL the N-th
 * time (default first) it reaches STEP of a commit:
 *   before-rename  commit entered, lock held, nothing changed yet
 *   staged         new versions moved into the store directory, index unchanged
 *   before-commit  new index images written and synced
 *   after-journal  commit point passed (index replaced, or journal written)
 *   mid-buckets    a multi-bucket commit replaced its first index bucket
 *   mid-rename     the first new version moved into place
 *   after-commit   all done, lock still held
 *   cleanup        a writer is rolling a crashed commit forward
 * SECKIT_TEST_FAIL_AT=STEP makes an I/O step fail with EIO: body-write,
 * body-sync, index-write, stage, commit.
 */

#endif
