/* SPDX-License-Identifier: MIT */
#ifndef SK_PROV_INT_H
#define SK_PROV_INT_H

/* Between the files of the provider (provider.h is the outside view). */

#include <pthread.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include "base/err.h"
#include "ctx/ctx.h"
#include "base/util.h"
#include "backend/backend.h"
#include "keys/keys.h"

/* Names of the operations: unique to this provider, so that a key of ours
 * is always used through our operations (OpenSSL asks the key's keymgmt
 * which operation name to fetch, query_operation_name). */
#define SKP_SIG_EC "SECKIT-ECDSA"
#define SKP_SIG_RSA "SECKIT-RSA-SIG"
#define SKP_CIPHER_RSA "SECKIT-RSA-OAEP"
#define SKP_EXCH_EC "SECKIT-ECDH"
/* The property of every algorithm; public keys we make for our own use
 * come from any other provider ("provider!=seckit"). */
#define SKP_PROPS "provider=seckit"
#define SKP_OTHER "provider!=seckit"

struct skp_prov {
	const OSSL_CORE_HANDLE *handle;
	OSSL_FUNC_core_new_error_fn *new_error;
	OSSL_FUNC_core_set_error_debug_fn *set_error_debug;
	OSSL_FUNC_core_vset_error_fn *vset_error;
	/* One run of the library: store, backend, config.  The library is
	 * not reentrant: every use of ctx and of a key's backend holds lock. */
	pthread_mutex_t lock;
	struct sk_ctx ctx;
	/* Keys and loads in progress that use ctx: when none is left, ctx
	 * closes its store and backend (a TPM's objects are flushed), as a
	 * program may never unload the provider. */
	int users;
	char *pass;     /* the config section's pass spec, or NULL */
	char *opt_store, *opt_backend, *opt_config, *opt_tcti;
	/* The worker that signs for ASYNC jobs (prov_async.c): started at
	 * the first such sign; its queue under wmu. */
	pthread_mutex_t wmu;
	pthread_cond_t wcv;
	pthread_t worker;
	int wstarted, wstop;
	struct skp_job *whead, *wtail;
	char *opt_pkcs11_module, *opt_token, *opt_pin;   /* opt_pin: a secret spec */
	int verbose;            /* the seckit command's -v (built-in provider) */
};

/* A key object (keymgmt's keydata). */
struct skp_key {
	struct skp_prov *prov;
	enum sk_kind kind;
	struct sk_key *key;     /* a store key with its backend, or NULL (public only) */
	EVP_PKEY *pub;          /* the public key, from another provider */
	unsigned caps;          /* what the backend can do with it (SK_CAP_*) */
	/* What it may sign with (a store key that signs): the digests and
	 * schemes its backend allows (a PKCS#11 key's CKA_ALLOWED_MECHANISMS,
	 * a token without RSA-PSS), asked for when TLS picks a scheme. */
	struct sk_sig_limits lim;
	/* What the key has (OSSL_KEYMGMT_SELECT_*): a store key all of it; an
	 * imported peer key its public part and parameters; an ephemeral key
	 * of a TLS key exchange (km_gen: its private part is in pub, a key of
	 * another provider, as plain OpenSSL would hold it) may have only its
	 * group until the peer's point is set. */
	int parts;
	char name[256];
	int refs;               /* atomic: OpenSSL's, and a sign queued for the worker */
};

/* Take and give back a use of p->ctx (p->lock held). */
void skp_hold(struct skp_prov *p);
void skp_release(struct skp_prov *p);

/* Raise an OpenSSL error from the library's last error (rc: enum sk_rc). */
void skp_raise(struct skp_prov *p, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Raise the library's current message (sk_err_msg) as an OpenSSL error. */
void skp_raise_sk(struct skp_prov *p, int rc);

/* Open key NAME of the store (ctx), asking pw_cb when it needs a password
 * and no pass spec is configured.  NULL with the error raised. */
struct skp_key *skp_key_open(struct skp_prov *p, const char *name, OSSL_PASSPHRASE_CALLBACK *pw_cb,
			     void *pw_cbarg);
struct skp_key *skp_key_new(struct skp_prov *p, enum sk_kind kind);
void skp_key_free(struct skp_key *k);

/* Inside an OpenSSL ASYNC job, sign on the provider's worker thread and
 * pause the job until it is done: 1 with *rc the result (and out the
 * signature, or the library's error set); 0 when not in a job (or the
 * worker cannot take it): sign here.  msg non-NULL: sign that message
 * itself (sk_key_sign_msg), not dgst. */
int skp_sign_async(struct skp_key *k, const EVP_MD *md, int pss, const unsigned char *dgst, size_t dlen,
		   const struct sk_buf *msg, struct sk_buf *out, int *rc);
void skp_async_init(struct skp_prov *p);
void skp_async_teardown(struct skp_prov *p);

/* TLS-GROUP capabilities: the NIST groups, whose key shares our EC key
 * management makes (provider.c, prov_keymgmt.c). */
int skp_tls_groups(OSSL_CALLBACK *cb, void *arg);

extern const OSSL_DISPATCH skp_ec_keymgmt[];
extern const OSSL_DISPATCH skp_rsa_keymgmt[];
extern const OSSL_DISPATCH skp_store_functions[];
extern const OSSL_DISPATCH skp_ecdsa_functions[];
extern const OSSL_DISPATCH skp_rsa_sig_functions[];
extern const OSSL_DISPATCH skp_rsa_cipher_functions[];
extern const OSSL_DISPATCH skp_ecdh_functions[];

#endif
