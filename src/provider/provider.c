/* SPDX-License-Identifier: MIT */
/*
 * The provider's entry point, its context (one struct sk_ctx: the store,
 * backend and config of the usual options, environment and config file),
 * errors, and the keys it opens for the store loader.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "base/err.h"
#include "ctx/secret.h"
#include "provider/prov_int.h"
#include "provider/provider.h"

#ifndef SECKIT_VERSION
#define SECKIT_VERSION "0.0.0-dev"
#endif

/* OpenSSL error reasons: the exit codes' names (err.h). */
static OSSL_ITEM reasons[SK_EEXIST + 2];

void skp_raise(struct skp_prov *p, int rc, const char *fmt, ...)
{
	va_list ap;

	if (p == NULL || p->new_error == NULL || p->vset_error == NULL)
		return;
	if (rc <= SK_OK || rc > SK_EEXIST)
		rc = SK_EFAIL;
	p->new_error(p->handle);
	va_start(ap, fmt);
	p->vset_error(p->handle, (uint32_t)rc, fmt, ap);
	va_end(ap);
}

void skp_raise_sk(struct skp_prov *p, int rc)
{
	const char *m = sk_err_msg();

	skp_raise(p, rc, "%s", m != NULL && m[0] != '\0' ? m : sk_rc_name(rc));
	sk_err_clear();
}

struct skp_key *skp_key_new(struct skp_prov *p, enum sk_kind kind)
{
	struct skp_key *k = OPENSSL_zalloc(sizeof(*k));

	if (k == NULL)
		return NULL;
	k->prov = p;
	k->kind = kind;
	return k;
}

void skp_key_free(struct skp_key *k)
{
	if (k == NULL)
		return;
	if (k->key != NULL) {
		pthread_mutex_lock(&k->prov->lock);
		sk_key_close(k->key);
		pthread_mutex_unlock(&k->prov->lock);
	}
	EVP_PKEY_free(k->pub);
	OPENSSL_free(k);
}

/*
 * The password of a key bound to a password object: the config section's
 * pass spec, else $SECKIT_PROVIDER_PASS (a spec too), else the
 * application's passphrase callback (openssl's -passin or its prompt),
 * made into a pass: spec in the secure heap.  *spec is NULL when the key
 * needs none; *owned is what to cleanse afterwards.
 */
static int pass_spec(struct skp_prov *p, const struct sk_keyinfo *info,
		     OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg, const char **spec, char **owned,
		     size_t *ownedlen)
{
	const char *e = sk_env("SECKIT_PROVIDER_PASS");
	char what[300];
	OSSL_PARAM params[2];
	size_t n = 0;
	char *buf;

	*spec = NULL;
	*owned = NULL;
	if (info->pwobj[0] == '\0')
		return SK_OK;
	if (p->pass != NULL) {
		*spec = p->pass;
		return SK_OK;
	}
	if (e != NULL && e[0] != '\0') {
		*spec = e;
		return SK_OK;
	}
	if (pw_cb == NULL)
		return sk_err(SK_EAUTH, "key '%s' needs the password of password object '%s' (none configured)",
			      info->name, info->pwobj);
	snprintf(what, sizeof(what), "password object '%s'", info->pwobj);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PASSPHRASE_PARAM_INFO, what, 0);
	params[1] = OSSL_PARAM_construct_end();
	*ownedlen = 5 + SK_SECRET_MAX + 1;
	if ((buf = OPENSSL_secure_zalloc(*ownedlen)) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	memcpy(buf, "pass:", 5);
	if (!pw_cb(buf + 5, SK_SECRET_MAX, &n, params, pw_cbarg) || n > SK_SECRET_MAX) {
		OPENSSL_secure_clear_free(buf, *ownedlen);
		return sk_err(SK_EAUTH, "key '%s': no password for password object '%s'", info->name,
			      info->pwobj);
	}
	buf[5 + n] = '\0';
	*spec = *owned = buf;
	return SK_OK;
}

static int open_locked(struct skp_prov *p, const char *name, OSSL_PASSPHRASE_CALLBACK *pw_cb,
		       void *pw_cbarg, struct skp_key *k)
{
	struct sk_keyinfo info;
	const unsigned char *q;
	const char *spec;
	char *owned = NULL;
	size_t ownedlen = 0;
	int rc;

	memset(&info, 0, sizeof(info));
	if ((rc = sk_key_stat(&p->ctx, name, &info)) != SK_OK)
		return rc;
	if (info.type == NULL || (info.type->kind != SK_KIND_EC && info.type->kind != SK_KIND_RSA)) {
		rc = sk_err(SK_EUNSUPP, "key '%s' (%s) is not an EC or RSA key", name,
			    info.type != NULL ? info.type->name : "?");
		sk_keyinfo_free(&info);
		return rc;
	}
	if (info.flags & SK_KEY_PUBLIC_ONLY) {
		sk_keyinfo_free(&info);
		return sk_err(SK_EUNSUPP, "key '%s' is a public key only", name);
	}
	rc = pass_spec(p, &info, pw_cb, pw_cbarg, &spec, &owned, &ownedlen);
	sk_keyinfo_free(&info);
	if (rc != SK_OK)
		return rc;
	rc = sk_key_open(&p->ctx, name, spec, &k->key);
	if (owned != NULL)
		OPENSSL_secure_clear_free(owned, ownedlen);
	if (rc != SK_OK)
		return rc;
	k->kind = k->key->info.type->kind;
	k->caps = k->key->be->ops->caps(k->key->be, k->key->info.type);
	q = k->key->info.pubder;
	if (q == NULL ||
	    (k->pub = d2i_PUBKEY_ex(NULL, &q, (long)k->key->info.publen, NULL, SKP_OTHER)) == NULL) {
		ERR_clear_error();
		return sk_err(SK_EVERIFY, "key '%s': public key is malformed", name);
	}
	return SK_OK;
}

struct skp_key *skp_key_open(struct skp_prov *p, const char *name, OSSL_PASSPHRASE_CALLBACK *pw_cb,
			     void *pw_cbarg)
{
	struct skp_key *k = skp_key_new(p, SK_KIND_EC);
	int rc;

	if (k == NULL) {
		skp_raise(p, SK_EFAIL, "out of memory");
		return NULL;
	}
	if (strlen(name) >= sizeof(k->name)) {
		skp_raise(p, SK_EUSAGE, "key name too long");
		skp_key_free(k);
		return NULL;
	}
	strcpy(k->name, name);
	pthread_mutex_lock(&p->lock);
	rc = open_locked(p, name, pw_cb, pw_cbarg, k);
	pthread_mutex_unlock(&p->lock);
	if (rc != SK_OK) {
		skp_raise_sk(p, rc);
		skp_key_free(k);
		return NULL;
	}
	return k;
}

/* ---- the provider ---- */

#define ALG(names, fns) { names, SKP_PROPS, fns, NULL }

static const OSSL_ALGORITHM keymgmt_algs[] = {
	{ "EC:id-ecPublicKey:1.2.840.10045.2.1", SKP_PROPS, skp_ec_keymgmt, "seckit EC key" },
	{ "RSA:rsaEncryption:1.2.840.113549.1.1.1", SKP_PROPS, skp_rsa_keymgmt, "seckit RSA key" },
	{ NULL, NULL, NULL, NULL },
};
static const OSSL_ALGORITHM store_algs[] = {
	{ "seckit", SKP_PROPS, skp_store_functions, "keys of the seckit store (seckit:NAME)" },
	{ NULL, NULL, NULL, NULL },
};
static const OSSL_ALGORITHM sig_algs[] = {
	ALG(SKP_SIG_EC, skp_ecdsa_functions),
	ALG(SKP_SIG_RSA, skp_rsa_sig_functions),
	{ NULL, NULL, NULL, NULL },
};
static const OSSL_ALGORITHM cipher_algs[] = {
	ALG(SKP_CIPHER_RSA, skp_rsa_cipher_functions),
	{ NULL, NULL, NULL, NULL },
};
static const OSSL_ALGORITHM exch_algs[] = {
	ALG(SKP_EXCH_EC, skp_ecdh_functions),
	{ NULL, NULL, NULL, NULL },
};

static const OSSL_ALGORITHM *query(void *provctx, int id, int *no_cache)
{
	(void)provctx;
	*no_cache = 0;
	switch (id) {
	case OSSL_OP_KEYMGMT: return keymgmt_algs;
	case OSSL_OP_STORE: return store_algs;
	case OSSL_OP_SIGNATURE: return sig_algs;
	case OSSL_OP_ASYM_CIPHER: return cipher_algs;
	case OSSL_OP_KEYEXCH: return exch_algs;
	}
	return NULL;
}

static const OSSL_PARAM *gettable_params(void *provctx)
{
	static const OSSL_PARAM list[] = {
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, NULL, 0),
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_BUILDINFO, OSSL_PARAM_UTF8_PTR, NULL, 0),
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
		OSSL_PARAM_END,
	};

	(void)provctx;
	return list;
}

static int get_params(void *provctx, OSSL_PARAM params[])
{
	OSSL_PARAM *q;

	(void)provctx;
	if ((q = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) != NULL &&
	    !OSSL_PARAM_set_utf8_ptr(q, "seckit provider"))
		return 0;
	if ((q = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) != NULL &&
	    !OSSL_PARAM_set_utf8_ptr(q, SECKIT_VERSION))
		return 0;
	if ((q = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO)) != NULL &&
	    !OSSL_PARAM_set_utf8_ptr(q, "seckit " SECKIT_VERSION))
		return 0;
	if ((q = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) != NULL && !OSSL_PARAM_set_int(q, 1))
		return 0;
	return 1;
}

static const OSSL_ITEM *reason_strings(void *provctx)
{
	(void)provctx;
	return reasons;
}

static void teardown(void *provctx)
{
	struct skp_prov *p = provctx;

	if (p == NULL)
		return;
	sk_ctx_free(&p->ctx);
	pthread_mutex_destroy(&p->lock);
	if (p->pass != NULL)
		OPENSSL_clear_free(p->pass, strlen(p->pass));
	free(p->opt_store);
	free(p->opt_backend);
	free(p->opt_config);
	OPENSSL_free(p);
}

static const OSSL_DISPATCH prov_functions[] = {
	{ OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))teardown },
	{ OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))gettable_params },
	{ OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))get_params },
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))query },
	{ OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))reason_strings },
	{ 0, NULL },
};

/* The provider's section of openssl.cnf: pass, store, backend, config. */
static int read_config(struct skp_prov *p, OSSL_FUNC_core_get_params_fn *get)
{
	char *pass = NULL, *store = NULL, *backend = NULL, *config = NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_ptr("pass", &pass, 0),
		OSSL_PARAM_utf8_ptr("store", &store, 0),
		OSSL_PARAM_utf8_ptr("backend", &backend, 0),
		OSSL_PARAM_utf8_ptr("config", &config, 0),
		OSSL_PARAM_END,
	};

	if (get == NULL || !get(p->handle, params))
		return 1;
	if ((pass != NULL && (p->pass = OPENSSL_strdup(pass)) == NULL) ||
	    (store != NULL && (p->opt_store = strdup(store)) == NULL) ||
	    (backend != NULL && (p->opt_backend = strdup(backend)) == NULL) ||
	    (config != NULL && (p->opt_config = strdup(config)) == NULL))
		return 0;
	p->ctx.opt_store = p->opt_store;
	p->ctx.opt_backend = p->opt_backend;
	p->ctx.opt_config = p->opt_config;
	return 1;
}

int sk_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		     const OSSL_DISPATCH **out, void **provctx)
{
	OSSL_FUNC_core_get_params_fn *get = NULL;
	struct skp_prov *p;
	int i;

	for (i = SK_EFAIL; i <= SK_EEXIST; i++) {
		reasons[i - 1].id = (unsigned)i;
		reasons[i - 1].ptr = (void *)sk_rc_name(i);
	}
	if ((p = OPENSSL_zalloc(sizeof(*p))) == NULL)
		return 0;
	p->handle = handle;
	for (; in->function_id != 0; in++) {
		switch (in->function_id) {
		case OSSL_FUNC_CORE_GET_PARAMS:
			get = OSSL_FUNC_core_get_params(in);
			break;
		case OSSL_FUNC_CORE_NEW_ERROR:
			p->new_error = OSSL_FUNC_core_new_error(in);
			break;
		case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
			p->set_error_debug = OSSL_FUNC_core_set_error_debug(in);
			break;
		case OSSL_FUNC_CORE_VSET_ERROR:
			p->vset_error = OSSL_FUNC_core_vset_error(in);
			break;
		}
	}
	pthread_mutex_init(&p->lock, NULL);
	sk_ctx_init(&p->ctx);
	if (!read_config(p, get)) {
		teardown(p);
		return 0;
	}
	*out = prov_functions;
	*provctx = p;
	return 1;
}

int sk_provider_add_builtin(void)
{
	return OSSL_PROVIDER_add_builtin(NULL, "seckit", sk_provider_init);
}
