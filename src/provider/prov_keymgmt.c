/* SPDX-License-Identifier: MIT */
/*
 * Key management for EC and RSA keys.  A key object is either a store
 * key (loaded by the store loader: its private part is in the backend and
 * never here) or a public key imported from another provider (a peer's
 * key for ECDH, a certificate's key to compare with ours).  The public
 * part is kept as a key of another provider (SKP_OTHER), which answers
 * every parameter question and export; the private part cannot be
 * exported at all.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/err.h>

#include "provider/prov_int.h"

static void *km_new_ec(void *provctx)
{
	return skp_key_new(provctx, SK_KIND_EC);
}

static void *km_new_rsa(void *provctx)
{
	return skp_key_new(provctx, SK_KIND_RSA);
}

static void km_free(void *keydata)
{
	skp_key_free(keydata);
}

/* The store loader's reference is where its key object is: take it. */
static void *km_load(const void *reference, size_t reference_sz)
{
	struct skp_key **slot, *k;

	if (reference == NULL || reference_sz != sizeof(slot))
		return NULL;
	memcpy(&slot, reference, sizeof(slot));
	k = *slot;
	*slot = NULL;
	return k;
}

static int km_has(const void *keydata, int selection)
{
	const struct skp_key *k = keydata;

	if (k == NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && k->key == NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_ALL) != 0 && k->pub == NULL)
		return 0;
	return 1;
}

static int km_match(const void *keydata1, const void *keydata2, int selection)
{
	const struct skp_key *a = keydata1, *b = keydata2;

	(void)selection;
	if (a == NULL || b == NULL || a->pub == NULL || b->pub == NULL)
		return 0;
	return EVP_PKEY_eq(a->pub, b->pub) == 1;
}

/* Only a public key comes in: private material belongs in a backend
 * (seckit key import), not in this provider. */
static int km_import(void *keydata, int selection, const OSSL_PARAM params[])
{
	struct skp_key *k = keydata;
	EVP_PKEY_CTX *pctx;
	EVP_PKEY *pub = NULL;

	if (k == NULL || k->pub != NULL || k->key != NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0)
		return 0;
	if (OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY) != NULL ||
	    OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_D) != NULL) {
		skp_raise(k->prov, SK_EUNSUPP, "a private key cannot be imported into the seckit provider");
		return 0;
	}
	pctx = EVP_PKEY_CTX_new_from_name(NULL, k->kind == SK_KIND_EC ? "EC" : "RSA", SKP_OTHER);
	if (pctx == NULL || EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, &pub, EVP_PKEY_PUBLIC_KEY, (OSSL_PARAM *)params) <= 0) {
		EVP_PKEY_CTX_free(pctx);
		return 0;
	}
	EVP_PKEY_CTX_free(pctx);
	k->pub = pub;
	return 1;
}

static int km_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
	struct skp_key *k = keydata;
	int sel = selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS);

	if (k == NULL || k->pub == NULL || sel == 0)
		return 0;
	return EVP_PKEY_export(k->pub, sel, cb, cbarg);
}

static const OSSL_PARAM ec_types[] = {
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
	OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
	OSSL_PARAM_int(OSSL_PKEY_PARAM_EC_INCLUDE_PUBLIC, NULL),
	OSSL_PARAM_END,
};
static const OSSL_PARAM rsa_types[] = {
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
	OSSL_PARAM_END,
};

static const OSSL_PARAM *km_ec_types(int selection)
{
	return (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) == 0 ||
			       (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0
		       ? ec_types
		       : NULL;
}

static const OSSL_PARAM *km_rsa_types(int selection)
{
	return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 ? rsa_types : NULL;
}

/* What the public key says (bits, security bits, sizes, group, point),
 * and the default digest of the key's type. */
static int km_get_params(void *keydata, OSSL_PARAM params[])
{
	struct skp_key *k = keydata;
	OSSL_PARAM *q;

	if (k == NULL || k->pub == NULL)
		return 0;
	for (q = params; q->key != NULL; q++) {
		OSSL_PARAM one[2] = { *q, OSSL_PARAM_END };

		if (strcmp(q->key, OSSL_PKEY_PARAM_DEFAULT_DIGEST) == 0) {
			if (!OSSL_PARAM_set_utf8_string(q, "SHA256"))
				return 0;
			continue;
		}
		if (strcmp(q->key, OSSL_PKEY_PARAM_MANDATORY_DIGEST) == 0) {
			if (!OSSL_PARAM_set_utf8_string(q, ""))
				return 0;
			continue;
		}
		/* A parameter the public key does not have stays unset. */
		if (EVP_PKEY_get_params(k->pub, one) > 0)
			*q = one[0];
		else
			ERR_clear_error();
	}
	return 1;
}

static const OSSL_PARAM *km_ec_gettable(void *provctx)
{
	static const OSSL_PARAM list[] = {
		OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_X, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_Y, NULL, 0),
		OSSL_PARAM_END,
	};

	(void)provctx;
	return list;
}

static const OSSL_PARAM *km_rsa_gettable(void *provctx)
{
	static const OSSL_PARAM list[] = {
		OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
		OSSL_PARAM_END,
	};

	(void)provctx;
	return list;
}

static const char *km_ec_opname(int operation_id)
{
	switch (operation_id) {
	case OSSL_OP_SIGNATURE: return SKP_SIG_EC;
	case OSSL_OP_KEYEXCH: return SKP_EXCH_EC;
	}
	return NULL;
}

static const char *km_rsa_opname(int operation_id)
{
	switch (operation_id) {
	case OSSL_OP_SIGNATURE: return SKP_SIG_RSA;
	case OSSL_OP_ASYM_CIPHER: return SKP_CIPHER_RSA;
	}
	return NULL;
}

#define FN(id, f) { id, (void (*)(void))(f) }
#define COMMON \
	FN(OSSL_FUNC_KEYMGMT_FREE, km_free), FN(OSSL_FUNC_KEYMGMT_LOAD, km_load), \
	FN(OSSL_FUNC_KEYMGMT_HAS, km_has), FN(OSSL_FUNC_KEYMGMT_MATCH, km_match), \
	FN(OSSL_FUNC_KEYMGMT_IMPORT, km_import), FN(OSSL_FUNC_KEYMGMT_EXPORT, km_export), \
	FN(OSSL_FUNC_KEYMGMT_GET_PARAMS, km_get_params)

const OSSL_DISPATCH skp_ec_keymgmt[] = {
	FN(OSSL_FUNC_KEYMGMT_NEW, km_new_ec),
	COMMON,
	FN(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, km_ec_types),
	FN(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, km_ec_types),
	FN(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, km_ec_gettable),
	FN(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, km_ec_opname),
	{ 0, NULL },
};

const OSSL_DISPATCH skp_rsa_keymgmt[] = {
	FN(OSSL_FUNC_KEYMGMT_NEW, km_new_rsa),
	COMMON,
	FN(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, km_rsa_types),
	FN(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, km_rsa_types),
	FN(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, km_rsa_gettable),
	FN(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, km_rsa_opname),
	{ 0, NULL },
};
