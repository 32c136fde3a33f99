/* SPDX-License-Identifier: MIT */
#ifndef SK_STORE_H
#define SK_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/*
 * The store: a directory of sealed objects under one master key.
 *
 *   DIR/master.key   format version, master key, key check value (0600)
 *   DIR/lock         flock(2) target that serialises writers
 *   DIR/journal      redo log of a multi-object commit (transient)
 *   DIR/<64 hex>     one object; the name is HMAC(names-key, ns || name)
 *   DIR/.tmp.*       objects being written (debris after a crash)
 *
 * An object is a namespace (key, password, data ...), a name, a small
 * attribute blob ("meta", opaque here) and a body of any size.  All of it
 * is encrypted and authenticated; the object's namespace and name are
 * inside the sealed header and checked on every read, so a file moved or
 * copied onto another object's name is detected (SK_EVERIFY).  The format
 * is described in docs/formats/store.md.
 *
 * Readers take no lock: files only ever change by rename(2), so a reader
 * sees the whole old or the whole new object.  Writers run a transaction:
 * begin (take the lock, finish an interrupted commit, remove debris), any
 * number of puts and deletes, commit (all or nothing, crash-safe).
 */

enum sk_ns {
	SK_NS_KEY = 1,      /* named keys (keys.c) */
	SK_NS_PASSWORD = 2, /* password objects (password.c) */
	SK_NS_DATA = 3,     /* `seckit store` objects */
	SK_NS_CERT = 4,     /* certificates, CA store */
	SK_NS_STATE = 5,    /* internal state (sequence numbers, clock ...) */
};

#define SK_STORE_NAME_MAX 255
#define SK_STORE_META_MAX 65000

struct sk_store;
struct sk_txn;

struct sk_store_opts {
	int create;            /* create the store if it does not exist */
	unsigned lock_timeout; /* seconds to wait for the writer lock */
};

struct sk_obj_info {
	uint8_t ns;
	char name[SK_STORE_NAME_MAX + 1];
	uint64_t size;   /* body length */
	uint64_t mtime;  /* seconds since the epoch, when written */
	uint8_t *meta;   /* attributes (owned; freed by sk_obj_info_free) */
	size_t metalen;
};
void sk_obj_info_free(struct sk_obj_info *info);

int sk_store_open(const char *dir, const struct sk_store_opts *opts, struct sk_store **out);
void sk_store_close(struct sk_store *st);
const char *sk_store_dir(const struct sk_store *st);

/* Derive a 32-byte key for a purpose from the master key (HKDF), for layers
 * above that need their own keys bound to this store. */
int sk_store_derive(const struct sk_store *st, const char *label, uint8_t out[32]);

/* Header of an object: SK_ENOTFOUND if absent, SK_EVERIFY if tampered. */
int sk_store_stat(struct sk_store *st, int ns, const char *name, struct sk_obj_info *info);
/* Whole object; body limited to max bytes (SK_EFAIL beyond). info may be NULL. */
int sk_store_get(struct sk_store *st, int ns, const char *name, size_t max,
		 struct sk_obj_info *info, struct sk_buf *body);

/* Streaming read: each chunk is authenticated before any byte of it is
 * returned; truncation is reported at the end (SK_EVERIFY). */
struct sk_reader;
int sk_reader_open(struct sk_store *st, int ns, const char *name,
		   struct sk_obj_info *info, struct sk_reader **out);
/* Returns bytes read, 0 at the verified end, -1 on error (sk_err set). */
ssize_t sk_reader_read(struct sk_reader *r, void *p, size_t n);
int sk_reader_rc(const struct sk_reader *r);
void sk_reader_close(struct sk_reader *r);

/* All objects of a namespace (ns 0: all), sorted by name.  A damaged file
 * stops the listing with SK_EVERIFY naming the file.  The callback may
 * return non-zero to stop; that value is returned. */
typedef int (*sk_list_fn)(const struct sk_obj_info *info, void *arg);
int sk_store_list(struct sk_store *st, int ns, sk_list_fn fn, void *arg);

int sk_txn_begin(struct sk_store *st, struct sk_txn **out);
int sk_txn_put(struct sk_txn *t, int ns, const char *name, const void *meta,
	       size_t metalen, const void *body, size_t bodylen);
int sk_txn_del(struct sk_txn *t, int ns, const char *name);
/* Streaming put: open, write any number of times, close (adds the object
 * to the transaction).  Nothing is visible before sk_txn_commit(). */
struct sk_writer;
int sk_writer_open(struct sk_txn *t, int ns, const char *name, const void *meta,
		   size_t metalen, struct sk_writer **out);
int sk_writer_write(struct sk_writer *w, const void *p, size_t n);
int sk_writer_close(struct sk_writer *w);
int sk_txn_commit(struct sk_txn *t);  /* frees t, releases the lock */
void sk_txn_abort(struct sk_txn *t);  /* frees t, removes its temp files */

/* Tiny attribute encoding for meta blobs: tag u8, len u16 BE, value. */
int sk_attr_put(struct sk_buf *b, uint8_t tag, const void *p, size_t n);
int sk_attr_put_u64(struct sk_buf *b, uint8_t tag, uint64_t v);
int sk_attr_put_str(struct sk_buf *b, uint8_t tag, const char *s);
/* 1 if found (p/n set), 0 if absent, -1 if the blob is malformed. */
int sk_attr_get(const uint8_t *meta, size_t len, uint8_t tag, const uint8_t **p, size_t *n);
int sk_attr_get_u64(const uint8_t *meta, size_t len, uint8_t tag, uint64_t *v);

/* Test and fault-injection hook: when the environment variable
 * SECKIT_TEST_CRASH_AT names a step ("before-rename", "after-journal",
 * "mid-rename"), the process kills itself with SIGKILL there.  Used by the
 * crash tests; costs one getenv() per commit. */

#endif
