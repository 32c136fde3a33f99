/* SPDX-License-Identifier: MIT */
#ifndef SK_FLEET_H
#define SK_FLEET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
 * is an error.  The file is read as a stream (sk_yaml_stream), once (a
 * pipe will do), and the ids seen are kept in a bigset (base/bigset.h:
 * at most about 20 MB, what outgrows it in an unnamed file in tmpdir), so
 * memory is bounded however large the fleet is.
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
	const char *tmpdir;        /* the spill file of the ids seen (NULL: /tmp) */
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

/* --shard auto: K and N from the job runner that started us (seckit-oo(1)
 * SHARDS): JOB_COMPLETION_INDEX (Kubernetes Indexed Job, 0-based) with
 * SECKIT_SHARD_COUNT; SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN + 1 of
 * SLURM_ARRAY_TASK_COUNT (an array MIN-MAX of step 1); PARALLEL_SEQ (GNU
 * parallel, 1-based) with SECKIT_SHARD_COUNT -- the first one set, in that
 * order.  SK_EUSAGE outside a runner or for values that do not fit. */
int sk_fleet_shard_auto(unsigned *k, unsigned *n);

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

/*
 * Where a batch puts what it makes for each device (fleet_out.c): files
 * DIR/<id><suffix>, or entries <id><suffix> of one POSIX tar archive
 * (base/tar.h) written as devices finish (whole entries, about 64 KiB a
 * write or one a second), in constant memory, to a file or
 * to standard output ("-"); and, on request, a manifest: one JSON line per
 * device, {"device": ID, "sha256": HEX of the bytes, ...extra} or
 * {"device": ID, "error": {"code", "exit", "message"}}.
 *
 * A target that exists and is a FIFO or a device (/dev/null) is written in
 * place, as "-" is, never renamed over (a directory, a socket or a link to
 * anything but a regular file is SK_EFAIL: sk_out_open_inplace; --resume
 * of one in place is SK_EUSAGE).  Any other target is written as
 * FILE.part (created with O_EXCL: SK_EEXIST if one is there) and renamed
 * to FILE by a successful close; a run that
 * stops keeps FILE.part, whose whole entries are valid.  resume continues
 * FILE.part (or a finished FILE): its entries are read, a trailing partial
 * entry is cut, and sk_fleet_out_has says which devices it holds (their
 * manifest lines are written again, so the manifest covers the archive).
 * With manifest_extra the lines hold what the archive cannot give back
 * (extra: a generated key's public half), so resume keeps them from the
 * manifest FILE.part (or FILE) of the run it continues: a device's line is
 * written before its entry, the lines of the archive's entries are kept in
 * order and the others dropped; an entry without its line is SK_ECONFIG.
 * put and error may be called by several threads at once.
 */
struct sk_fleet_out_opts {
	const char *dir;          /* a directory, or */
	const char *archive;      /* an archive file or "-" */
	const char *manifest;     /* a manifest file or "-"; NULL: none */
	const char *suffix;       /* of each name: ".oid" ... */
	int resume;
	int manifest_extra;       /* resume keeps the manifest's lines (above) */
	mode_t mode;              /* of the files (before the umask) */
	const char *tmpdir;       /* resume: the spill file of the ids of a
				   * large archive (NULL: /tmp) */
};
struct sk_fleet_out;

int sk_fleet_out_open(const struct sk_fleet_out_opts *o, struct sk_fleet_out **out);
/* *has: 1 if a resumed archive has the device already, else 0.  SK_OK, or
 * SK_EFAIL (the spill file of its ids cannot be read).  Threads may ask at
 * once. */
int sk_fleet_out_has(const struct sk_fleet_out *o, const char *id, int *has);
/* 1 if the archive is written as FILE.part (kept by a run cut short). */
int sk_fleet_out_has_part(const struct sk_fleet_out *o);
/* Entries written by this run; entries found in the resumed archive. */
size_t sk_fleet_out_written(const struct sk_fleet_out *o);
size_t sk_fleet_out_resumed(const struct sk_fleet_out *o);
/* The output of device id; extra: members added to its manifest line
 * ("\"key\": value", already JSON) or NULL; path: room for a file name. */
int sk_fleet_out_put(struct sk_fleet_out *o, const char *id, const uint8_t *p, size_t n,
		     const char *extra, char *path, size_t pathcap);
/* A device that failed (skipped with keep_going): its manifest line;
 * code is the machine name of the exit status rc. */
int sk_fleet_out_error(struct sk_fleet_out *o, const char *id, int rc, const char *code,
		       const char *msg);
/* ok > 0: end the archive, make everything durable, give the files their
 * names.  ok == 0: stopped, keep the parts.  ok < 0: could not start,
 * remove what was created. */
int sk_fleet_out_close(struct sk_fleet_out *o, int ok);

#endif
