/* SPDX-License-Identifier: MIT */
#ifndef SK_PROVIDER_H
#define SK_PROVIDER_H

#include <openssl/core.h>

/*
 * The seckit OpenSSL provider: keys of the store, used by any OpenSSL
 * program through their backend (man/seckit-provider.7).  It offers a
 * store loader for seckit:NAME URIs, key management for EC and RSA
 * (public part only: the private part stays in the backend), signatures
 * (ECDSA, RSA PKCS#1 v1.5 and PSS), RSA-OAEP decryption and ECDH.
 *
 * The same code is the loadable module seckit-provider.so (module.c,
 * OSSL_provider_init) and a built-in provider of the seckit binary.
 */
int sk_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		     const OSSL_DISPATCH **out, void **provctx);

/* Make "seckit" a built-in provider of the default library context
 * (OSSL_PROVIDER_load(NULL, "seckit") then finds it): 1 on success. */
int sk_provider_add_builtin(void);

/* What the seckit command gives the built-in provider it loads: its
 * global options (NULL: not given; the environment and config apply as
 * for any command) and a pass spec for keys bound to a password object.
 * They stand in for openssl.cnf's section where that sets nothing.  The
 * strings are copied when the provider is loaded (OSSL_PROVIDER_load),
 * so they must live until then; NULL clears them. */
struct sk_provider_opts {
	const char *store, *backend, *config, *tcti;
	const char *pkcs11_module, *token;
	const char *pass, *pin;   /* secret specs */
	int verbose;              /* -v: a PKCS#11 module's own messages shown */
};
void sk_provider_builtin_opts(const struct sk_provider_opts *o);

#endif
