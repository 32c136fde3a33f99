/* SPDX-License-Identifier: MIT */
#ifndef SK_CMD_FLEET_H
#define SK_CMD_FLEET_H

#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "ctx/ctx.h"
#include "format/fleet.h"
#include "opt.h"

/*
 * The fleet mode of an off-device maker (`oo id --devices`, `opaque-key
 * make --devices`): the options --devices, --out-dir, --out-archive,
 * --manifest, --resume, --jobs, --shard and --keep-going, the output sink
 * (format/fleet.h), the runner, progress on a terminal and the summary
 * (text, or the fleet-run JSON object).  The verb gives one callback per
 * device and its worker state, as struct sk_fleet_opts has them.
 */
struct sk_cmd_fleet {
	struct sk_ctx *ctx;
	const char *what;        /* the summary's noun: "OOID" ... */
	const char *suffix;      /* of each output: ".oid" ... */
	mode_t mode;             /* of the outputs (before the umask) */
	int manifest_extra;      /* as in struct sk_fleet_out_opts */
	void *arg;
	int (*worker_init)(void *arg, void **state);
	void (*worker_free)(void *state);
	int (*work)(void *state, const struct sk_fleet_dev *d);
	/* set for the callbacks: the sink (sk_fleet_out_put) and --out-dir */
	struct sk_fleet_out *out;
	const char *out_dir;
	/* reporting (called one at a time by the fleet runner) */
	int tty, progress_shown;
	unsigned shard_k, shard_n, jobs;
};

/* The fleet options against the rest of the command line, before any key
 * or file is read: usage errors (exit 2).  fleet: --devices was given. */
int sk_cmd_fleet_check(const struct sk_ctx *ctx, const struct sk_args *a, int fleet);
/* A device's public key from its entry (inline or its file), parsed with
 * the worker's ECIES sender (sk_ecies_parse_pub); buf: room for a key
 * file.  A key that cannot be used is the entry's located SK_ECONFIG. */
struct sk_ecies_sender;
int sk_cmd_fleet_dev_pub(const struct sk_fleet_dev *d, struct sk_ecies_sender *s,
			 struct sk_buf *buf, EVP_PKEY **pub, uint8_t devid[32]);
/* Run the fleet of --devices; a device already in a resumed archive is
 * skipped before work is called. */
int sk_cmd_fleet_run(struct sk_cmd_fleet *f, const struct sk_args *a);

#endif
