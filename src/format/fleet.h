/* SPDX-License-Identifier: MIT */
#ifndef SK_FLEET_H
#define SK_FLEET_H

#include <stddef.h>
#include <stdint.h>

/*
 * Fleet files (CLI.md "Fleet file") and the parallel runner that batch
 * commands (`oo id --devices`) use to do one piece of work per device.
 *
 *   devices:
 *     - id: dev00001              letters, digits, '.', '_', '-' (not first '.')
 *       public-key: |             inline PEM, or
 *         -----BEGIN PUBLIC KEY-----  ...
 *     - id: dev00002
 *       public-key-file: k/2.pub  PEM or DER, relative to the fleet file
 *
 * Other keys (per device and at the top level) are ignored; a duplicate id
 * is an error.  The file is read as a stream (sk_yaml_stream), so memory
 * does not grow with the fleet: 10^6 devices parse in about 2 s in 3 MB.
 *
 * Threads: the calling thread parses and feeds a bounded queue; `jobs`
 * workers run the work callback.  Each worker has its own state (made by
 * worker_init), and error messages are thread-local (err.h), so workers
 * report independently.  Callbacks that report (bad, progress) are called
 * one at a time, never concurrently.
 *
 * Sharding: device i (0-based, in file order) belongs to shard (i mod N)+1
 * of N.  Every shard reads the whole file, so YAML errors and duplicate
 * ids are found the same way by all of them; an entry's own problems are
 * reported only by the shard it belongs to.
 *
 * Bad entries: a device entry that is malformed, has a duplicate id or a
 * key that cannot be used is SK_ECONFIG ("FILE:LINE:COL: device 'ID': ...").
 * With keep_going they are reported through bad() and skipped (and the run
 * still returns SK_ECONFIG at the end); without, the first one stops the
 * run.  Any other error (an output that cannot be written ...) always stops
 * it.  When several workers fail at once, the error of the lowest device
 * index is returned.
 */

#define SK_FLEET_ID_MAX 128

struct sk_fleet_dev {
	size_t index;           /* 0-based position in the file */
	size_t line, col;       /* of the entry */
	const char *file;       /* fleet file name, for messages */
	char id[SK_FLEET_ID_MAX + 1];
	/* the key: inline bytes (PEM), or a file (already resolved against
	 * the fleet file's directory) */
	const uint8_t *key;
	size_t keylen;
	const char *key_file;
	size_t key_line, key_col; /* where the key (or key file name) is */
};

struct sk_fleet_stats {
	size_t entries;   /* device entries read so far (all shards) */
	size_t selected;  /* ... that belong to this shard */
	size_t done;      /* processed successfully */
	size_t skipped;   /* bad entries skipped (keep_going) */
	int parsed;       /* the whole file has been read */
	double seconds;   /* since the start */
};

struct sk_fleet_opts {
	unsigned jobs;             /* worker threads, >= 1 */
	unsigned shard_k, shard_n; /* shard K of N (1-based); 0/0 = all */
	int keep_going;
	void *arg;
	/* Per-worker state; called in the worker thread. */
	int (*worker_init)(void *arg, void **state);
	void (*worker_free)(void *state);
	/* One device. */
	int (*work)(void *state, const struct sk_fleet_dev *d);
	/* A skipped entry (keep_going): msg is the located error. */
	void (*bad)(void *arg, const struct sk_fleet_dev *d, const char *msg);
	/* Called about four times a second while running (if non-NULL). */
	void (*progress)(void *arg, const struct sk_fleet_stats *st);
};

/* Worker threads for "all cores": the CPUs this process may use. */
unsigned sk_fleet_default_jobs(void);

/* "K/N" with 1 <= K <= N <= 2^20; SK_EUSAGE otherwise. */
int sk_fleet_parse_shard(const char *s, unsigned *k, unsigned *n);

/* An id as the fleet file allows it (also a safe file name). */
int sk_fleet_id_valid(const char *id);

int sk_fleet_run(const char *path, const struct sk_fleet_opts *o, struct sk_fleet_stats *st);

/* Read a device's key bytes (inline or its file) for the work callback:
 * points *p and *n at the inline bytes, or reads the file into buf.  Errors
 * are located SK_ECONFIG. */
struct sk_buf;
int sk_fleet_dev_key_bytes(const struct sk_fleet_dev *d, struct sk_buf *buf, const uint8_t **p,
			   size_t *n);
/* Record a located error for device d: "FILE:LINE:COL: device 'ID': MSG". */
int sk_fleet_dev_err(const struct sk_fleet_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
