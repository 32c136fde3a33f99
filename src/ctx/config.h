/* SPDX-License-Identifier: MIT */
#ifndef SK_CONFIG_H
#define SK_CONFIG_H

#include <stdint.h>

#include "crypto/pcr.h"

/* Roles: which named key or certificate plays which part (CLI.md, Roles). */
enum sk_role {
	SK_ROLE_DEVICE_KEY,
	SK_ROLE_OEM_ROOT,
	SK_ROLE_OEM_PAYLOAD,
	SK_ROLE_OEM_COMMAND,
	SK_ROLE_CLOUD_ROOT,
	SK_ROLE_DEVICE_CERT,
	SK_ROLE_DEVICE_CSR,
	SK_ROLE_COUNT
};

/* YAML key of a role ("device-key") and its default name ("device"). */
const char *sk_role_key(enum sk_role r);
const char *sk_role_default(enum sk_role r);

/* How a new store keeps its master key (`master-key:`): auto seals it
 * with the store's backend when that backend can seal (tpm2), else keeps
 * it in the (0600) file; file; or the name of a backend that seals
 * (SK_MASTER_SEALED, the protection in master_key_seal). */
enum sk_master_key { SK_MASTER_AUTO, SK_MASTER_FILE, SK_MASTER_SEALED };

/* Which clock certificate dates are checked against (`clock:`). */
enum sk_clock {
	SK_CLOCK_SYSTEM = 0,   /* the system time */
	SK_CLOCK_MONOTONIC,    /* the newer of the system time and the latest
				* time the store has seen: never goes backwards */
};

struct sk_config {
	char *file;                    /* where it was read from, or NULL */
	char *backend;                 /* soft | tpm2 | pkcs11 */
	char *store;                   /* store directory */
	char *tcti;                    /* tpm2 TCTI string */
	char *pkcs11_module;           /* pkcs11: module path */
	char *pkcs11_token;            /* pkcs11: token label, serial, slot or URI */
	char *pkcs11_pin;              /* pkcs11: the user PIN's secret spec */
	uint32_t tpm2_parent;          /* tpm2 persistent parent, 0: SRK template */
	enum sk_master_key master_key; /* how a new store's master key is kept */
	int master_key_seal;           /* SK_MASTER_SEALED: backend.h seals */
	uint32_t master_key_pcrs;      /* sealed to these PCRs (mask), 0: none */
	enum sk_bank master_key_bank;  /* ... in this bank */
	char *roles[SK_ROLE_COUNT];    /* NULL: default name */
	char *digest;                  /* default digest for signing */
	char *cipher;                  /* default package cipher */
	unsigned lock_timeout;         /* seconds */
	enum sk_clock clock;
	uint64_t kdf_n;                /* scrypt parameters for new secrets */
	uint64_t kdf_r, kdf_p;
};

#define SK_DEFAULT_STORE "/var/lib/seckit"
#define SK_DEFAULT_CONFIG "/etc/seckit/config.yaml"

void sk_config_defaults(struct sk_config *cfg);
/* Read and validate a config file; errors carry file:line:column (SK_ECONFIG). */
int sk_config_load(const char *path, struct sk_config *cfg);
void sk_config_free(struct sk_config *cfg);

#endif
