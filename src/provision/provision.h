/* SPDX-License-Identifier: MIT */
#ifndef SK_PROVISION_H
#define SK_PROVISION_H

#include "ctx/ctx.h"

/*
 * Factory provisioning from a YAML manifest (manifest.example.yaml documents
 * every field; seckit-provision(1) the behaviour).
 *
 * A run loads and checks the whole manifest and everything it references
 * first (SK_ECONFIG with file:line:column), then compares it with the store:
 * an item that exists and differs is a conflict (SK_EEXIST, located) unless
 * the manifest allows replacing it, and nothing has been written when that
 * happens.  On a locked store (trust.h) an item that differs is refused
 * with SK_EVERIFY ("use an STP") whatever the manifest says.  A temporary
 * file is created for each output file, and only then is anything written
 * (the store itself is created only now): the device key (generated in the
 * backend, provisioned, never exportable) and new password objects, then
 * one transaction for the public keys, certificates, CA store, device CSR
 * and -- unless the manifest says lock: false -- the lock; the output files
 * (device public key, CSR) are filled before it commits and renamed into
 * place after.  A run that finds everything in place changes nothing.  An
 * interrupted run is completed by running it again.
 */

enum sk_prov_action {
	SK_PROV_KEEP,     /* already as the manifest says */
	SK_PROV_CREATE,
	SK_PROV_REPLACE,
	SK_PROV_WRITE,    /* an output file */
};

struct sk_prov_step {
	enum sk_prov_action action;
	const char *what;    /* "key", "certificate", "CA", "password object", "CSR", "file",
			      * "lock" (create: this run locks the store; keep: locked) */
	const char *name;
	const char *detail;  /* key type, subject, path ... (may be "") */
};
typedef void (*sk_prov_fn)(const struct sk_prov_step *s, void *arg);

/* Run (or with dry_run only plan: nothing is created, not even the store)
 * the manifest at path on ctx's store; what the manifest does not name is
 * named by pol's roles (sk_ctx_policy).  fn is called once per item with
 * what was (or would be) done, after the run succeeded. */
int sk_provision(struct sk_ctx *ctx, const struct sk_policy *pol, const char *path, int dry_run,
		 sk_prov_fn fn, void *arg);

#endif
