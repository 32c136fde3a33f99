/* SPDX-License-Identifier: MIT */
#ifndef SK_CTX_H
#define SK_CTX_H

#include "backend/backend.h"
#include "ctx/config.h"
#include "ctx/policy.h"
#include "store/store.h"

/*
 * What one invocation knows: the options that apply to every command, and
 * the config, store and backend, each opened on first use so that a
 * command only pays for what it touches (`--help` opens nothing).
 */
struct sk_ctx {
	/* From the command line (NULL: not given). */
	const char *opt_config;
	const char *opt_store;
	const char *opt_backend;
	const char *opt_tcti;
	const char *opt_pkcs11_module;
	const char *opt_token;      /* pkcs11: label, serial, slot or pkcs11: URI */
	const char *opt_pin;        /* pkcs11: the user PIN's secret spec */
	int json, quiet, verbose;

	/* From the environment when the context is made. */
	const char *tmpdir;        /* $TMPDIR, else /tmp: where spool files go */

	/* Opened lazily by the functions below. */
	struct sk_config cfg;
	int cfg_loaded;
	struct sk_policy policy;    /* from cfg, by sk_ctx_policy() */
	int policy_set;
	char *store_dir;
	char *backend_name;
	struct sk_store *store;
	struct sk_backend *be;
	struct sk_backend *sealer; /* tpm2, opened to unseal a master key */
	/* store reseal --golden: the values the master key is sealed to
	 * (NULL: the PCRs' current ones), during sk_ctx_store_reseal. */
	const struct sk_pcr_binding *seal_to;
	/* Reads the PIN a backend's device asks for (pkcs11), set by the
	 * layer that reads secrets (keys/devkey.c) before it opens one. */
	int (*pin_fn)(struct sk_ctx *ctx, const char *what, struct sk_buf *pin);
};

/* The environment is read here and nowhere else in the library: the
 * variables of CLI.md, $TMPDIR, and the one a secret spec env:VAR names.
 * NULL when unset. */
const char *sk_env(const char *name);

void sk_ctx_init(struct sk_ctx *ctx);
void sk_ctx_free(struct sk_ctx *ctx);

/* Config: --config > $SECKIT_CONFIG > /etc/seckit/config.yaml (if present). */
int sk_ctx_config(struct sk_ctx *ctx);
/* Store directory: --store > $SECKIT_STORE > config > /var/lib/seckit.
 * create: make the store when it does not exist yet (writing commands). */
int sk_ctx_store(struct sk_ctx *ctx, int create, struct sk_store **out);
/* Seal the store's master key again as the config says a new store's is
 * kept (sk_store_reseal): to the current values of the config's
 * master-key pcrs, say, after they were changed, or to seal a key kept
 * in master.key.  SK_ECONFIG when the config keeps it in a file.  *now:
 * the protection it has now.  to not NULL: sealed to to's values instead
 * (the golden values of an update, `store reseal --golden`: the store
 * then opens only once the PCRs hold them); SK_ECONFIG, before the store
 * is opened, when to's PCRs or bank are not the config's master-key pcrs
 * and pcr-bank (what names them in that message). */
int sk_ctx_store_reseal(struct sk_ctx *ctx, const struct sk_pcr_binding *to, const char *what,
			enum sk_mk_protection *now);
/* The store directory alone (resolved as above; nothing opened but the
 * config). */
int sk_ctx_store_dir(struct sk_ctx *ctx, const char **out);
/* The store if its directory exists, else *out = NULL and SK_OK: for
 * keys that a backend's own catalogue may hold without any store. */
int sk_ctx_store_if_any(struct sk_ctx *ctx, struct sk_store **out);
/* The persistent device handle that keeps the store's sealed master key
 * (store.h, backend.h persist), from master.key alone (nothing unsealed,
 * the store not opened); 0 when there is none (no store, a key in the
 * file, an older store whose blob is loaded each time, master.key
 * unreadable). */
int sk_ctx_store_sealed_handle(struct sk_ctx *ctx, uint32_t *h);

/* The PKCS#11 module path: --pkcs11-module, SECKIT_PKCS11_MODULE, the
 * config's pkcs11: module, else NULL (reads the config). */
int sk_ctx_pkcs11_module(struct sk_ctx *ctx, const char **out);
/*
 * The backend's name: --backend > $SECKIT_BACKEND > config > soft,
 * resolved and checked against the backend table once (it loads the
 * config).  Every command checks it before it runs, whether or not it
 * opens the backend, so that a misspelt name is never ignored: a name the
 * table does not know is SK_EUSAGE from the command line and SK_ECONFIG
 * from the environment (the config's `backend:` is checked where it is
 * read, at its line); a known backend this build lacks is SK_EBACKEND,
 * whatever named it.
 */
int sk_ctx_backend_name(struct sk_ctx *ctx, const char **out);
/* Backend: the one named above, opened (TCTI: --tcti > $SECKIT_TCTI >
 * config > the backend's default; PKCS#11 module: --pkcs11-module >
 * $SECKIT_PKCS11_MODULE > config; token and PIN spec: option > config). */
int sk_ctx_backend(struct sk_ctx *ctx, struct sk_backend **out);
/* What opening a backend takes from the config and environment (the
 * TCTI, the tpm2 parent): for reaching a device without opening the
 * backend (--version -v, persistent handles). */
int sk_ctx_backend_cfg(struct sk_ctx *ctx, struct sk_backend_cfg *out);
/* The same backend as a reference that opens it on first use, for library
 * functions that work inside a transaction and take no context. */
struct sk_backend_ref sk_ctx_backend_ref(struct sk_ctx *ctx);
/* The policy of the config (policy.h), resolved once: commands call this
 * before an operation starts and pass down what it needs. */
int sk_ctx_policy(struct sk_ctx *ctx, const struct sk_policy **out);

#endif
