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

	return k != NULL && k->pub != NULL && (selection & OSSL_KEYMGMT_SELECT_ALL & ~k->parts) == 0;
}

static int km_match(const void *keydata1, const void *keydata2, int selection)
{
	const struct skp_key *a = keydata1, *b = keydata2;

	(void)selection;
	if (a == NULL || b == NULL || a->pub == NULL || b->pub == NULL)
		return 0;
	return EVP_PKEY_eq(a->pub, b->pub) == 1;
}

/* Only a public key or domain parameters come in (a peer's key, a key
 * share's group): private material belongs in a backend (seckit key
 * import), not in this provider. */
static int km_import(void *keydata, int selection, const OSSL_PARAM params[])
{
	struct skp_key *k = keydata;
	EVP_PKEY_CTX *pctx;
	EVP_PKEY *pub = NULL;
	int pub_too = (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0;

	if (k == NULL || k->pub != NULL || k->key != NULL)
		return 0;
	if ((selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS)) == 0)
		return 0;
	if (OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY) != NULL ||
	    OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_D) != NULL) {
		skp_raise(k->prov, SK_EUNSUPP, "a private key cannot be imported into the seckit provider");
		return 0;
	}
	if (!pub_too && k->kind != SK_KIND_EC)
		return 0;
	pctx = EVP_PKEY_CTX_new_from_name(NULL, k->kind == SK_KIND_EC ? "EC" : "RSA", SKP_OTHER);
	if (pctx == NULL || EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, &pub, pub_too ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEY_PARAMETERS,
			      (OSSL_PARAM *)params) <= 0) {
		EVP_PKEY_CTX_free(pctx);
		return 0;
	}
	EVP_PKEY_CTX_free(pctx);
	k->pub = pub;
	k->parts = OSSL_KEYMGMT_SELECT_ALL_PARAMETERS | (pub_too ? OSSL_KEYMGMT_SELECT_PUBLIC_KEY : 0);
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

/*
 * The digests a key's signatures may use: those its backend allows
 * (struct sk_sig_limits), in either scheme; a key that does not sign
 * through us (a peer's, a key share) is not limited.  One alone is the
 * key's mandatory digest; the default is SHA-256 when allowed, else the
 * strongest allowed (SHA-512 first).
 */
static void key_digests(const struct skp_key *k, const char **deflt, const char **mandatory)
{
	unsigned all = SK_SIG_MD_ALL, bit;
	int i;

	*deflt = "SHA256";
	*mandatory = "";
	if (k->key != NULL && (k->caps & SK_CAP_SIGN))
		all = (k->lim.md[SK_SIG_PLAIN] | k->lim.md[SK_SIG_PSS]) & SK_SIG_MD_ALL;
	if (all == 0 || all == SK_SIG_MD_ALL)
		return;
	if ((all & (all - 1)) == 0)
		*deflt = *mandatory = sk_sig_md_fetch_name(all);
	else if (!(all & (1u << 2)))
		for (i = 4; i >= 0; i--)
			if (all & (bit = 1u << i)) {
				*deflt = sk_sig_md_fetch_name(bit);
				break;
			}
}

/* What the public key says (bits, security bits, sizes, group, point),
 * and the default and mandatory digests of the key's signatures. */
static int km_get_params(void *keydata, OSSL_PARAM params[])
{
	struct skp_key *k = keydata;
	const char *deflt, *mandatory;
	OSSL_PARAM *q;

	if (k == NULL || k->pub == NULL)
		return 0;
	key_digests(k, &deflt, &mandatory);
	for (q = params; q->key != NULL; q++) {
		OSSL_PARAM one[2] = { *q, OSSL_PARAM_END };

		if (strcmp(q->key, OSSL_PKEY_PARAM_DEFAULT_DIGEST) == 0) {
			if (!OSSL_PARAM_set_utf8_string(q, deflt))
				return 0;
			continue;
		}
		if (strcmp(q->key, OSSL_PKEY_PARAM_MANDATORY_DIGEST) == 0) {
			if (!OSSL_PARAM_set_utf8_string(q, mandatory))
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

/* The peer's point of a key share (EVP_PKEY_set1_encoded_public_key) on
 * a key that has only its group; a store key's public part is fixed. */
static int km_set_params(void *keydata, const OSSL_PARAM params[])
{
	struct skp_key *k = keydata;
	const OSSL_PARAM *q;
	const void *pt = NULL;
	size_t ptlen = 0;

	if (k == NULL || k->pub == NULL)
		return 0;
	q = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
	if (q == NULL)
		return 1;
	if (k->key != NULL || (k->parts & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 ||
	    !OSSL_PARAM_get_octet_string_ptr(q, &pt, &ptlen) ||
	    EVP_PKEY_set1_encoded_public_key(k->pub, pt, ptlen) != 1)
		return 0;
	k->parts |= OSSL_KEYMGMT_SELECT_PUBLIC_KEY;
	return 1;
}

static const OSSL_PARAM *km_ec_settable(void *provctx)
{
	static const OSSL_PARAM list[] = {
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
		OSSL_PARAM_END,
	};

	(void)provctx;
	return list;
}

/* A peer's key share is checked (on the curve, not the identity) before
 * a key exchange uses it: by the provider that holds its point. */
static int km_validate(const void *keydata, int selection, int checktype)
{
	const struct skp_key *k = keydata;
	EVP_PKEY_CTX *pctx;
	int ok;

	(void)checktype;
	if (!km_has(keydata, selection))
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0)
		return 1;
	if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pub, SKP_OTHER)) == NULL)
		return 0;
	ok = EVP_PKEY_public_check(pctx) == 1;
	EVP_PKEY_CTX_free(pctx);
	return ok;
}

/*
 * Key generation is only for the ephemeral keys of a TLS key exchange:
 * our EC key management answers fetches of "EC" when the provider is
 * loaded before the default one, so libssl makes its key shares here
 * (skp_tls_groups).  The key is made by another provider, as plain
 * OpenSSL would make it, and kept in pub; ecdh_derive uses it there.
 * A key for the store is made by `seckit key create`, in the backend.
 */
struct skp_gen {
	struct skp_prov *prov;
	int selection;
	char group[64];
};

static int gen_set_params(void *genctx, const OSSL_PARAM params[])
{
	struct skp_gen *g = genctx;
	const OSSL_PARAM *q;
	char *p = g->group;

	q = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
	if (q != NULL && !OSSL_PARAM_get_utf8_string(q, &p, sizeof(g->group)))
		return 0;
	return 1;
}

static const OSSL_PARAM *gen_settable(void *genctx, void *provctx)
{
	static const OSSL_PARAM list[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
		OSSL_PARAM_END,
	};

	(void)genctx;
	(void)provctx;
	return list;
}

static void *gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
	struct skp_gen *g;

	if ((selection & (OSSL_KEYMGMT_SELECT_KEYPAIR | OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS)) == 0)
		return NULL;
	if ((g = OPENSSL_zalloc(sizeof(*g))) == NULL)
		return NULL;
	g->prov = provctx;
	g->selection = selection;
	if (!gen_set_params(g, params)) {
		OPENSSL_free(g);
		return NULL;
	}
	return g;
}

/* The group of a key share's template (EVP_PKEY_keygen from the server's
 * TLS 1.2 parameters). */
static int gen_set_template(void *genctx, void *templ)
{
	struct skp_gen *g = genctx;
	const struct skp_key *t = templ;
	size_t n = 0;

	if (t == NULL || t->pub == NULL ||
	    !EVP_PKEY_get_utf8_string_param(t->pub, OSSL_PKEY_PARAM_GROUP_NAME, g->group,
					    sizeof(g->group), &n))
		return 0;
	return 1;
}

static void *gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg)
{
	struct skp_gen *g = genctx;
	int pair = (g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0;
	EVP_PKEY_CTX *pctx;
	EVP_PKEY *pkey = NULL;
	struct skp_key *k;
	int ok;

	(void)cb;
	(void)cbarg;
	if (g->group[0] == '\0') {
		skp_raise(g->prov, SK_EUSAGE, "an EC key share needs a group");
		return NULL;
	}
	if ((pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", SKP_OTHER)) == NULL)
		return NULL;
	ok = (pair ? EVP_PKEY_keygen_init(pctx) : EVP_PKEY_paramgen_init(pctx)) > 0 &&
	     EVP_PKEY_CTX_set_group_name(pctx, g->group) > 0 &&
	     (pair ? EVP_PKEY_keygen(pctx, &pkey) : EVP_PKEY_paramgen(pctx, &pkey)) > 0;
	EVP_PKEY_CTX_free(pctx);
	if (!ok || (k = skp_key_new(g->prov, SK_KIND_EC)) == NULL) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	k->pub = pkey;
	k->parts = pair ? OSSL_KEYMGMT_SELECT_ALL : OSSL_KEYMGMT_SELECT_ALL_PARAMETERS;
	return k;
}

static void gen_cleanup(void *genctx)
{
	OPENSSL_free(genctx);
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
	FN(OSSL_FUNC_KEYMGMT_SET_PARAMS, km_set_params),
	FN(OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, km_ec_settable),
	FN(OSSL_FUNC_KEYMGMT_VALIDATE, km_validate),
	FN(OSSL_FUNC_KEYMGMT_GEN_INIT, gen_init),
	FN(OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, gen_set_params),
	FN(OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, gen_settable),
	FN(OSSL_FUNC_KEYMGMT_GEN_SET_TEMPLATE, gen_set_template),
	FN(OSSL_FUNC_KEYMGMT_GEN, gen),
	FN(OSSL_FUNC_KEYMGMT_GEN_CLEANUP, gen_cleanup),
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
