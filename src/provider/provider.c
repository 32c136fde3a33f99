/* SPDX-License-Identifier: MIT */
/*
 * The provider's entry point and its context (one struct sk_ctx: the
 * store, backend and config of the usual options, environment and config
 * file, or the provider's section of openssl.cnf); the algorithms it
 * offers.  prov_key.c opens keys and raises errors for the operations.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/prov_ssl.h>
#include <openssl/provider.h>

#include "base/err.h"
#include "provider/prov_int.h"
#include "provider/provider.h"

#ifndef SECKIT_VERSION
#define SECKIT_VERSION "0.0.0-dev"
#endif

/* OpenSSL error reasons: the exit codes' names (err.h). */
static OSSL_ITEM reasons[SK_EEXIST + 2];

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
	skp_async_teardown(p);
	sk_ctx_free(&p->ctx);
	pthread_mutex_destroy(&p->lock);
	if (p->pass != NULL)
		OPENSSL_clear_free(p->pass, strlen(p->pass));
	free(p->opt_store);
	free(p->opt_backend);
	free(p->opt_config);
	free(p->opt_tcti);
	free(p->opt_pkcs11_module);
	free(p->opt_token);
	if (p->opt_pin != NULL)
		OPENSSL_clear_free(p->opt_pin, strlen(p->opt_pin));
	OPENSSL_free(p);
}

/*
 * The NIST groups of TLS, with the facts libssl needs about each (RFC 8446
 * names and code points).  libssl keeps a group only if the key
 * management that a fetch of its algorithm returns belongs to the provider
 * that announced the group; when this provider is loaded before the
 * default one, a fetch of "EC" returns ours, and without these the NIST
 * curves dropped out of the ClientHello.  Our EC key management makes
 * their key shares (prov_keymgmt.c, gen).
 */
static const struct {
	const char *name, *internal;
	unsigned int id, secbits;
} tls_groups[] = {
	{ "secp256r1", "prime256v1", 23, 128 },
	{ "secp384r1", "secp384r1", 24, 192 },
	{ "secp521r1", "secp521r1", 25, 256 },
	{ "P-256", "prime256v1", 23, 128 },
	{ "P-384", "secp384r1", 24, 192 },
	{ "P-521", "secp521r1", 25, 256 },
};

int skp_tls_groups(OSSL_CALLBACK *cb, void *arg)
{
	size_t i;

	for (i = 0; i < sizeof(tls_groups) / sizeof(tls_groups[0]); i++) {
		unsigned int id = tls_groups[i].id, secbits = tls_groups[i].secbits;
		int mintls = TLS1_VERSION, maxtls = 0, mindtls = DTLS1_VERSION, maxdtls = 0;
		OSSL_PARAM p[] = {
			OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME, (char *)tls_groups[i].name, 0),
			OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL,
					       (char *)tls_groups[i].internal, 0),
			OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_ALG, "EC", 0),
			OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_ID, &id),
			OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS, &secbits),
			OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_TLS, &mintls),
			OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_TLS, &maxtls),
			OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS, &mindtls),
			OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS, &maxdtls),
			OSSL_PARAM_END,
		};

		p[0].data_size = strlen(tls_groups[i].name);
		p[1].data_size = strlen(tls_groups[i].internal);
		p[2].data_size = 2;
		if (!cb(p, arg))
			return 0;
	}
	return 1;
}

static int get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb, void *arg)
{
	(void)provctx;
	if (strcmp(capability, "TLS-GROUP") == 0)
		return skp_tls_groups(cb, arg);
	return 0;
}

static const OSSL_DISPATCH prov_functions[] = {
	{ OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))get_capabilities },
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
	skp_hold(p);
	skp_release(p); /* ctx with these options */
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
	skp_async_init(p);
	sk_ctx_init(&p->ctx);
	if (!read_config(p, get)) {
		teardown(p);
		return 0;
	}
	*out = prov_functions;
	*provctx = p;
	return 1;
}

/* The seckit command's options for its built-in provider. */
static struct sk_provider_opts builtin_opts;

void sk_provider_builtin_opts(const struct sk_provider_opts *o)
{
	if (o != NULL)
		builtin_opts = *o;
	else
		memset(&builtin_opts, 0, sizeof(builtin_opts));
}

static int dup_unset(char **dst, const char *src)
{
	return *dst != NULL || src == NULL || (*dst = strdup(src)) != NULL;
}

static int builtin_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
			const OSSL_DISPATCH **out, void **provctx)
{
	const struct sk_provider_opts *o = &builtin_opts;
	struct skp_prov *p;

	if (!sk_provider_init(handle, in, out, provctx))
		return 0;
	p = *provctx;
	if (!dup_unset(&p->opt_store, o->store) || !dup_unset(&p->opt_backend, o->backend) ||
	    !dup_unset(&p->opt_config, o->config) || !dup_unset(&p->opt_tcti, o->tcti) ||
	    !dup_unset(&p->opt_pkcs11_module, o->pkcs11_module) ||
	    !dup_unset(&p->opt_token, o->token) ||
	    (p->opt_pin == NULL && o->pin != NULL && (p->opt_pin = OPENSSL_strdup(o->pin)) == NULL) ||
	    (p->pass == NULL && o->pass != NULL && (p->pass = OPENSSL_strdup(o->pass)) == NULL)) {
		teardown(p);
		*provctx = NULL;
		return 0;
	}
	p->verbose = o->verbose;
	skp_hold(p);
	skp_release(p); /* ctx with these options */
	return 1;
}

int sk_provider_add_builtin(void)
{
	return OSSL_PROVIDER_add_builtin(NULL, "seckit", builtin_init);
}
