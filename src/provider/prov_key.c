/* SPDX-License-Identifier: MIT */
/*
 * What the provider's operations share: errors raised into OpenSSL's queue
 * from the library's messages, and the key objects, opened from the store
 * with their password (prov_int.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "base/err.h"
#include "ctx/secret.h"
#include "provider/prov_int.h"

void skp_hold(struct skp_prov *p)
{
	p->users++;
}

void skp_release(struct skp_prov *p)
{
	if (--p->users > 0)
		return;
	sk_ctx_free(&p->ctx);
	sk_ctx_init(&p->ctx);
	p->ctx.opt_store = p->opt_store;
	p->ctx.opt_backend = p->opt_backend;
	p->ctx.opt_config = p->opt_config;
	p->ctx.opt_tcti = p->opt_tcti;
	p->ctx.opt_pkcs11_module = p->opt_pkcs11_module;
	p->ctx.opt_token = p->opt_token;
	p->ctx.opt_pin = p->opt_pin;
	p->ctx.verbose = p->verbose;
}

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
	k->refs = 1;
	return k;
}

void skp_key_free(struct skp_key *k)
{
	if (k == NULL || __atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	if (k->key != NULL) {
		pthread_mutex_lock(&k->prov->lock);
		sk_key_close(k->key);
		skp_release(k->prov);
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
	if ((k->caps & SK_CAP_SIGN) && (rc = sk_key_sig_limits(k->key, &k->lim)) != SK_OK)
		return sk_err_wrap(rc, "key '%s'", name);
	q = k->key->info.pubder;
	if (q == NULL ||
	    (k->pub = d2i_PUBKEY_ex(NULL, &q, (long)k->key->info.publen, NULL, SKP_OTHER)) == NULL) {
		ERR_clear_error();
		return sk_err(SK_EVERIFY, "key '%s': public key is malformed", name);
	}
	k->parts = OSSL_KEYMGMT_SELECT_ALL;
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
	skp_hold(p);
	rc = open_locked(p, name, pw_cb, pw_cbarg, k);
	if (rc != SK_OK) {
		sk_key_close(k->key);
		k->key = NULL;
		skp_release(p);
	}
	pthread_mutex_unlock(&p->lock);
	if (rc != SK_OK) {
		skp_raise_sk(p, rc);
		skp_key_free(k);
		return NULL;
	}
	return k;
}
