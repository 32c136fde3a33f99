/* SPDX-License-Identifier: MIT */
#ifndef SK_PROVISION_INT_H
#define SK_PROVISION_INT_H

/* Inside provisioning: the manifest, parsed and checked on its own by
 * provision_manifest.c, then planned against the store and run by
 * provision.c. */

#include <limits.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/fileio.h"
#include "crypto/keytype.h"
#include "ctx/policy.h"
#include "provision/provision.h"
#include "base/util.h"
#include "base/yaml.h"

/* One public key, certificate or CA of the manifest. */
struct item {
	const struct sk_ynode *at;
	const char *name;
	const char *key;           /* certificates: the key it carries, or NULL */
	int replace;               /* -1: the manifest's default */
	EVP_PKEY *pub;             /* public keys */
	X509 *x509;                /* certificates and CAs */
	enum sk_prov_action action;
	enum sk_prov_action key_action; /* certificates with a key */
	int key_private;           /* ... that is a private key (never touched) */
	char detail[300];
};

struct pwitem {
	const struct sk_ynode *at;
	const char *name;
	const char *spec;
	char file_spec[PATH_MAX + 300]; /* file: resolved against the manifest */
	enum sk_prov_action action;
};

enum { OUT_PUBKEY, OUT_CSR };

/* A file the run writes: prepared before anything is written (so that a
 * path that cannot be created fails the run first), filled before the
 * commit, renamed into place after it. */
struct output {
	int kind;                  /* OUT_* */
	const char *what;
	char path[PATH_MAX + 256];
	struct sk_out o;
	struct sk_buf data;
};

struct manifest {
	const struct sk_policy *pol; /* names the manifest leaves out: roles */
	struct sk_ydoc doc;
	char dir[PATH_MAX];
	int replace;               /* top-level default */
	int lock;                  /* lock the trust anchors at the end (default 1) */
	uint64_t locked;           /* the store's: when it was locked, 0 if not */
	/* device-key */
	const struct sk_ynode *dev_at;
	int dev_present;
	const char *dev_name;
	const struct sk_keytype *dev_type;
	const char *dev_pubout;
	enum sk_prov_action dev_action;
	/* create: record the device's key of that name (pkcs11: one on the
	 * token that the store does not record yet) instead of making one */
	int dev_adopt;
	/* device-key.csr */
	const struct sk_ynode *csr_at;
	const char *csr_subject, *csr_san, *csr_name, *csr_out;
	const EVP_MD *csr_md;
	int csr_replace;
	enum sk_prov_action csr_action;
	X509_REQ *csr;             /* the request to store or write */
	/* lists */
	struct item *keys, *certs, *cas;
	size_t nkeys, ncerts, ncas;
	struct pwitem *pws;
	size_t npws;
	struct output outs[2];     /* device public key, CSR */
	size_t nouts;
	/* the item being parsed (sk_y_walk callbacks) */
	struct item *cur;
	struct pwitem *curpw;
	int cur_kind;              /* 0 key, 1 certificate, 2 CA */
	const struct sk_ynode *cur_file, *cur_pem;
};

/* Load and check the manifest at path (SK_ECONFIG with file:line:column)
 * and everything it references; what it does not name is named by pol's
 * roles.  m is freed by sk_prov_manifest_free() even when this fails. */
int sk_prov_manifest_load(const struct sk_policy *pol, const char *path, struct manifest *m);
void sk_prov_manifest_free(struct manifest *m);
/* An error at a manifest node with another exit code (conflicts: 9). */
int sk_prov_at_err(int rc, const struct manifest *m, const struct sk_ynode *at, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));
/* path, relative to the manifest's directory. */
void sk_prov_resolve(const struct manifest *m, const char *path, char *out, size_t n);

#endif
