/* SPDX-License-Identifier: MIT */
/*
 * The store loader of seckit:NAME URIs.  Loading gives the key object by
 * reference (its private part stays in the backend), then its public key
 * as a SubjectPublicKeyInfo, so that both `-key seckit:NAME` and
 * `-pubin -inkey seckit:NAME` work.  The password of a key bound to a
 * password object never comes from the URI (prov_int.h, pass_spec).
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/store.h>

#include "base/util.h"
#include "provider/prov_int.h"

#define SCHEME "seckit:"

struct skp_loader {
	struct skp_prov *prov;
	char *name;
	int expect;          /* OSSL_STORE_INFO_* wanted, 0: any */
	int step;            /* 0: the key, 1: its public key, 2: done */
	struct skp_key *key; /* not yet handed over */
	int failed;
};

static void *ld_open(void *provctx, const char *uri)
{
	struct skp_prov *p = provctx;
	struct skp_loader *l;
	const char *name;

	if (uri == NULL || strncmp(uri, SCHEME, strlen(SCHEME)) != 0)
		return NULL;
	name = uri + strlen(SCHEME);
	if (name[0] == '\0' || strchr(name, '?') != NULL || strchr(name, '/') != NULL) {
		skp_raise(p, SK_EUSAGE, "'%s': the URI is seckit:NAME, a key name of the store", uri);
		return NULL;
	}
	if ((l = OPENSSL_zalloc(sizeof(*l))) == NULL || (l->name = OPENSSL_strdup(name)) == NULL) {
		OPENSSL_free(l);
		return NULL;
	}
	l->prov = p;
	return l;
}

static const OSSL_PARAM *ld_settable(void *provctx)
{
	static const OSSL_PARAM list[] = {
		OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
		OSSL_PARAM_END,
	};

	(void)provctx;
	return list;
}

static int ld_set_params(void *loaderctx, const OSSL_PARAM params[])
{
	struct skp_loader *l = loaderctx;
	const OSSL_PARAM *q = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);

	if (q != NULL && !OSSL_PARAM_get_int(q, &l->expect))
		return 0;
	return 1;
}

static int give_key(struct skp_loader *l, OSSL_CALLBACK *cb, void *cbarg)
{
	int type = OSSL_OBJECT_PKEY;
	const char *dtype = l->key->kind == SK_KIND_EC ? "EC" : "RSA";
	OSSL_PARAM params[4];
	struct skp_key **slot;
	int ok;

	params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, (char *)dtype, 0);
	/* The reference is where the key is: the key management's load
	 * takes it from there (and clears it), so that a key OpenSSL did not
	 * take is still ours to free. */
	slot = &l->key;
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &slot, sizeof(slot));
	params[3] = OSSL_PARAM_construct_end();
	ok = cb(params, cbarg);
	skp_key_free(l->key);
	l->key = NULL;
	return ok;
}

/* The public key needs no password: the catalogue has it. */
static int give_pub(struct skp_loader *l, OSSL_CALLBACK *cb, void *cbarg)
{
	struct skp_prov *p = l->prov;
	int type = OSSL_OBJECT_PKEY;
	struct sk_keyinfo info;
	const char *dtype;
	OSSL_PARAM params[5];
	int rc, ok;

	memset(&info, 0, sizeof(info));
	pthread_mutex_lock(&p->lock);
	skp_hold(p);
	rc = sk_key_info(&p->ctx, l->name, &info);
	skp_release(p);
	pthread_mutex_unlock(&p->lock);
	if (rc == SK_OK && (info.type == NULL || info.pubder == NULL ||
			    (info.type->kind != SK_KIND_EC && info.type->kind != SK_KIND_RSA)))
		rc = sk_err(SK_EUNSUPP, "key '%s' is not an EC or RSA key", l->name);
	if (rc != SK_OK) {
		skp_raise_sk(p, rc);
		sk_keyinfo_free(&info);
		l->failed = 1;
		return 0;
	}
	dtype = info.type->kind == SK_KIND_EC ? "EC" : "RSA";
	params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, (char *)dtype, 0);
	params[2] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_STRUCTURE,
						     "SubjectPublicKeyInfo", 0);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, info.pubder, info.publen);
	params[4] = OSSL_PARAM_construct_end();
	ok = cb(params, cbarg);
	sk_keyinfo_free(&info);
	return ok;
}

static int ld_load(void *loaderctx, OSSL_CALLBACK *object_cb, void *object_cbarg,
		   OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	struct skp_loader *l = loaderctx;

	if (l->failed || l->step >= 2)
		return 0;
	if (l->expect != 0 && l->expect != OSSL_STORE_INFO_PKEY && l->expect != OSSL_STORE_INFO_PUBKEY) {
		l->step = 2;
		return 0;
	}
	if (l->step == 0 && l->expect != OSSL_STORE_INFO_PUBKEY) {
		l->step = 1;
		if ((l->key = skp_key_open(l->prov, l->name, pw_cb, pw_cbarg)) == NULL) {
			l->failed = 1;
			return 0;
		}
		return give_key(l, object_cb, object_cbarg);
	}
	l->step = 2;
	return give_pub(l, object_cb, object_cbarg);
}

static int ld_eof(void *loaderctx)
{
	const struct skp_loader *l = loaderctx;

	return l->failed || l->step >= 2 ||
	       (l->step == 1 && l->expect == OSSL_STORE_INFO_PKEY);
}

static int ld_close(void *loaderctx)
{
	struct skp_loader *l = loaderctx;

	if (l == NULL)
		return 1;
	OPENSSL_free(l->name);
	OPENSSL_free(l);
	return 1;
}

#define FN(id, f) { id, (void (*)(void))(f) }
const OSSL_DISPATCH skp_store_functions[] = {
	FN(OSSL_FUNC_STORE_OPEN, ld_open),
	FN(OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, ld_settable),
	FN(OSSL_FUNC_STORE_SET_CTX_PARAMS, ld_set_params),
	FN(OSSL_FUNC_STORE_LOAD, ld_load),
	FN(OSSL_FUNC_STORE_EOF, ld_eof),
	FN(OSSL_FUNC_STORE_CLOSE, ld_close),
	{ 0, NULL },
};
