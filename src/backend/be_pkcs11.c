/* SPDX-License-Identifier: MIT */
/*
 * The pkcs11 backend: keys are objects on a PKCS#11 token (OP-TEE's
 * libckteec, tpm2-pkcs11, a secure element, SoftHSM2 in tests).  The
 * module is loaded with dlopen() when the backend opens, so that a device
 * without it runs the other backends and no command pays for it unless it
 * uses it.
 *
 * The token is the source of truth for its keys: a key is a private-key
 * object named by its CKA_LABEL, its public key the public-key object with
 * the same CKA_ID (or, without an ID, the same label); nothing about it is
 * kept in the store, so keys made by other tools (pkcs11-tool
 * --keypairgen, tpm2_ptool addkey) are seckit keys, and a key deleted by
 * another tool is gone.  Keys made here are CKA_TOKEN, CKA_PRIVATE,
 * CKA_SENSITIVE and not CKA_EXTRACTABLE, with a random CKA_ID shared by
 * the pair.
 *
 * Only the calls of the RTOS profile are used (C_Initialize,
 * C_GetSlotList, C_GetTokenInfo, C_OpenSession, C_Login, C_FindObjects*,
 * C_GenerateKeyPair, C_GetAttributeValue, C_SignInit/C_Sign,
 * C_DecryptInit/C_Decrypt, C_DeriveKey, C_GenerateRandom,
 * C_DestroyObject, C_GetMechanismList, C_Finalize), and C_SetAttributeValue
 * where the token allows it (a key's CKA_PUBLIC_KEY_INFO, so that finding
 * it later is one object search and one attribute read: no search for its
 * public object).  Digests are computed
 * in software and signed with the raw mechanisms (CKM_ECDSA, CKM_RSA_PKCS
 * over a DigestInfo, CKM_RSA_PKCS_PSS with its parameters), so a token
 * without the combined hash-and-sign mechanisms works, and the mechanism
 * list is checked before an operation so that what a token lacks is named
 * (SK_EUNSUPP) instead of failing half-way.
 */
#ifdef SECKIT_HAVE_PKCS11

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include <p11-kit/pkcs11.h>

#include "backend/backend.h"
#include "backend/pkcs11_int.h"
#include "base/err.h"
#include "base/util.h"
#include "crypto/crypto.h"

struct sk_bkey {
	struct p11_backend *be;
	const struct sk_keytype *kt;
	CK_OBJECT_HANDLE priv;
	int always_auth;
	struct sk_p11_allowed allowed; /* its CKA_ALLOWED_MECHANISMS (from the blob) */
	int lim_read;                  /* lim: worked out at the first sign */
	struct sk_p11_limits lim;
};

/* ---- module, token, session ---- */

static void p11_close(struct sk_backend *base)
{
	struct p11_backend *be = (struct p11_backend *)base;

	if (be == NULL)
		return;
	/* Closing the application's only session logs it out. */
	if (be->f != NULL && be->s != CK_INVALID_HANDLE)
		P11(be, C_CloseSession, be->s);
	if (be->f != NULL && be->initialized)
		P11(be, C_Finalize, NULL);
	if (be->dl != NULL) {
		sk_p11_mute(be);  /* the module's destructors may print too */
		dlclose(be->dl);
		sk_p11_unmute(be, CKR_OK);
	}
	if (be->null_fd >= 0)
		close(be->null_fd);
	sk_buf_cleanse_free(&be->pin_buf);
	free(be->mechs);
	free(be);
}

static int p11_open(const struct sk_backend_cfg *cfg, struct sk_backend **out)
{
	struct p11_backend *be;
	struct sk_p11_uri uri;
	const char *module = cfg->pkcs11_module, *spec = cfg->pkcs11_token;
	int rc, have_uri = 0;
	CK_RV rv;

	*out = NULL;
	if (sk_p11_is_uri(spec)) {
		if ((rc = sk_p11_uri_parse(spec, &uri)) != SK_OK)
			return rc;
		have_uri = 1;
		if ((module == NULL || module[0] == '\0') && uri.module_path[0])
			module = uri.module_path;
	}
	if (module == NULL || module[0] == '\0')
		return sk_err(SK_EBACKEND, "backend 'pkcs11': no PKCS#11 module configured (the module is a path such as /usr/lib/softhsm/libsofthsm2.so)");
	if ((be = calloc(1, sizeof(*be))) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	be->base.ops = &sk_pkcs11_backend;
	be->pin = cfg->pin;
	be->pin_arg = cfg->pin_arg;
	be->mute = !cfg->module_stderr;
	be->null_fd = be->saved_err = -1;
	if ((rc = sk_p11_load_module(be, module)) != SK_OK ||
	    (rc = sk_p11_find_token(be, have_uri ? NULL : spec, have_uri ? &uri : NULL)) != SK_OK)
		goto fail;
	rv = P11(be, C_OpenSession, be->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &be->s);
	if (rv != CKR_OK) {
		rc = sk_p11_fail(be, rv, "opening a session");
		goto fail;
	}
	*out = &be->base;
	return SK_OK;
fail:
	p11_close(&be->base);
	return rc;
}

static int p11_key_find(struct sk_backend *base, const char *name, const struct sk_keytype **kt,
			EVP_PKEY **pub, struct sk_buf *blob, struct sk_devkey_attrs *attrs)
{
	struct p11_backend *be = (struct p11_backend *)base;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[3] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_ULONG nt = 1, n;
	CK_OBJECT_HANDLE *h = NULL;
	struct sk_p11_uri u;
	struct sk_p11_key k;
	const char *shown = name;
	int rc;

	*kt = NULL;
	if (pub != NULL)
		*pub = NULL;
	if (sk_p11_is_uri(name)) {
		if ((rc = sk_p11_uri_parse(name, &u)) != SK_OK)
			return rc;
		if (!sk_p11_token_matches(&be->ti, be->slot, NULL, &u))
			return sk_err(SK_ENOTFOUND, "key '%s': not on token '%s'", name, be->label);
		if (!u.object[0] && !u.has_id)
			return sk_err(SK_EUSAGE, "PKCS#11 URI '%.64s' names no object (object= or id=)",
				      name);
		if (u.object[0]) {
			t[nt].type = CKA_LABEL;
			t[nt].pValue = u.object;
			t[nt++].ulValueLen = strlen(u.object);
			shown = u.object;
		}
		if (u.has_id) {
			t[nt].type = CKA_ID;
			t[nt].pValue = u.id;
			t[nt++].ulValueLen = u.idlen;
		}
	} else {
		t[nt].type = CKA_LABEL;
		t[nt].pValue = (void *)name;
		t[nt++].ulValueLen = strlen(name);
	}
	if ((rc = sk_p11_login(be, 0)) != SK_OK || (rc = sk_p11_find_objects(be, t, nt, &h, &n)) != SK_OK)
		return rc;
	if (n == 0) {
		/* No private key: a secret key (AES, HMAC) of that name? */
		free(h);
		h = NULL;
		cls = CKO_SECRET_KEY;
		if ((rc = sk_p11_find_objects(be, t, nt, &h, &n)) != SK_OK)
			return rc;
	}
	if (n == 0)
		rc = sk_err(SK_ENOTFOUND, "key '%s': not found (nor on token '%s')", shown, be->label);
	else if (n > 1)
		rc = sk_err(SK_EEXIST, "key '%s': %lu %s keys on token '%s' have that label (name one by its id in a pkcs11: URI)",
			    shown, (unsigned long)n, cls == CKO_SECRET_KEY ? "secret" : "private", be->label);
	else if ((rc = pub != NULL ? sk_p11_describe(be, h[0], &k)
				   : sk_p11_describe_type(be, h[0], &k)) == SK_OK) {
		if ((rc = sk_p11_blob_of(&k, blob)) == SK_OK) {
			*kt = k.kt;
			if (attrs != NULL) {
				attrs->extractable = k.extractable;
				attrs->local = k.local;
			}
			if (pub != NULL) {
				*pub = k.pub;
				k.pub = NULL;
			}
		}
		EVP_PKEY_free(k.pub);
	} else if (rc == SK_EUNSUPP && sk_err_msg()[0] == '\0') {
		rc = sk_err(SK_EUNSUPP, "key '%s' on token '%s' is of a type seckit does not use", shown,
			    be->label);
	}
	free(h);
	return rc;
}

static int p11_key_list(struct sk_backend *base,
			int (*fn)(const char *name, const struct sk_keytype *kt, EVP_PKEY *pub,
				  const struct sk_devkey_attrs *attrs, void *arg),
			void *arg)
{
	static const CK_OBJECT_CLASS classes[] = { CKO_PRIVATE_KEY, CKO_SECRET_KEY };
	struct p11_backend *be = (struct p11_backend *)base;
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE t[1] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_OBJECT_HANDLE *h = NULL;
	CK_ULONG n, i;
	struct sk_p11_key k;
	size_t c;
	int rc;

	if ((rc = sk_p11_login(be, 0)) != SK_OK)
		return rc;
	for (c = 0; c < SK_ARRAY_SIZE(classes) && rc == SK_OK; c++) {
		cls = classes[c];
		if ((rc = sk_p11_find_objects(be, t, 1, &h, &n)) != SK_OK)
			return rc;
		for (i = 0; i < n && rc == SK_OK; i++) {
			sk_err_clear();
			rc = sk_p11_describe(be, h[i], &k);
			if (rc == SK_EUNSUPP || (rc == SK_OK && k.name[0] == '\0')) {
				/* Not a key seckit can name or use: not listed. */
				EVP_PKEY_free(k.pub);
				rc = SK_OK;
				continue;
			}
			if (rc == SK_OK) {
				struct sk_devkey_attrs at = { k.extractable, k.local };

				rc = fn(k.name, k.kt, k.pub, &at, arg);
			}
			EVP_PKEY_free(k.pub);
		}
		free(h);
		h = NULL;
	}
	return rc;
}

/* ---- keys made or imported (pkcs11_keygen.c) ---- */

static int p11_key_create(struct sk_backend *base, const char *name, const struct sk_keytype *kt,
			  EVP_PKEY **pub)
{
	struct p11_backend *be = (struct p11_backend *)base;

	*pub = NULL;
	if (!sk_keytype_is_asym(kt))
		return sk_p11_secret_key(be, name, kt, NULL, 0);
	return sk_p11_key_create(be, name, kt, pub);
}

static int p11_key_import(struct sk_backend *base, const char *name, const struct sk_keytype *kt,
			  EVP_PKEY *priv, const uint8_t *raw, size_t rawlen)
{
	struct p11_backend *be = (struct p11_backend *)base;

	if (!sk_keytype_is_asym(kt))
		return sk_p11_secret_key(be, name, kt, raw, rawlen);
	return sk_p11_key_import(be, name, kt, priv);
}

static int p11_random(struct sk_backend *base, uint8_t *p, size_t n)
{
	struct p11_backend *be = (struct p11_backend *)base;
	CK_RV rv = P11(be, C_GenerateRandom, be->s, p, n);

	return rv == CKR_OK ? SK_OK : sk_p11_fail(be, rv, "generating random bytes");
}

/* ---- the ops table's key operations ---- */

static unsigned p11_caps(struct sk_backend *be, const struct sk_keytype *kt)
{
	(void)be;
	switch (kt->kind) {
	case SK_KIND_EC: return SK_CAP_GENERATE | SK_CAP_IMPORT | SK_CAP_SIGN | SK_CAP_DERIVE;
	case SK_KIND_RSA: return SK_CAP_GENERATE | SK_CAP_IMPORT | SK_CAP_SIGN | SK_CAP_DECRYPT;
	case SK_KIND_AES: return SK_CAP_GENERATE | SK_CAP_IMPORT | SK_CAP_CIPHER | SK_CAP_MAC;
	case SK_KIND_HMAC: return SK_CAP_GENERATE | SK_CAP_IMPORT | SK_CAP_MAC;
	default: return 0;
	}
}

static int p11_generate(struct sk_backend *be, const struct sk_keytype *kt, int exportable,
			const struct sk_auth *auth, struct sk_buf *blob, EVP_PKEY **pub)
{
	(void)be;
	(void)kt;
	(void)exportable;
	(void)auth;
	(void)blob;
	*pub = NULL;
	/* keys.c names token keys: key_create. */
	return sk_err(SK_EUNSUPP, "backend pkcs11 makes keys on the token under their name only");
}

static int p11_load(struct sk_backend *base, const struct sk_keytype *kt, const uint8_t *blob,
		    size_t n, const struct sk_auth *auth, struct sk_bkey **out)
{
	struct p11_backend *be = (struct p11_backend *)base;
	CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE, pub = CK_INVALID_HANDLE;
	struct sk_bkey *k;
	int rc, always_auth = 0;

	*out = NULL;
	if (auth != NULL)
		return sk_err(SK_EUNSUPP, "backend pkcs11: the token's PIN guards its keys, not a password object");
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	if ((rc = sk_p11_blob_parse(blob, n, &priv, &pub, &always_auth, &k->allowed)) != SK_OK) {
		free(k);
		return rc;
	}
	k->be = be;
	k->kt = kt;
	k->priv = priv;
	k->always_auth = always_auth;
	*out = k;
	return SK_OK;
}

static void p11_unload(struct sk_bkey *k)
{
	free(k);
}

static int p11_destroy(struct sk_backend *base, const struct sk_keytype *kt, const uint8_t *blob,
		       size_t n)
{
	struct p11_backend *be = (struct p11_backend *)base;
	CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE, pub = CK_INVALID_HANDLE;
	CK_RV rv;
	int rc, always_auth;

	if ((rc = sk_p11_blob_parse(blob, n, &priv, &pub, &always_auth, NULL)) != SK_OK ||
	    (rc = sk_p11_login(be, 0)) != SK_OK)
		return rc;
	if (!sk_keytype_is_asym(kt)) {
		/* A secret key is one object. */
		rv = P11(be, C_DestroyObject, be->s, priv);
		return rv == CKR_OK ? SK_OK : sk_p11_fail(be, rv, "deleting the secret key");
	}
	/* The partner, if finding the key did not need it. */
	if (pub == CK_INVALID_HANDLE && (rc = sk_p11_find_partner(be, priv, &pub)) != SK_OK)
		return rc;
	if ((rv = P11(be, C_DestroyObject, be->s, priv)) != CKR_OK)
		return sk_p11_fail(be, rv, "deleting the private key");
	if (pub != CK_INVALID_HANDLE && (rv = P11(be, C_DestroyObject, be->s, pub)) != CKR_OK)
		return sk_p11_fail(be, rv, "deleting the public key");
	return SK_OK;
}

/* One C_Sign/C_Decrypt-style call: init, context login, the call. */
static int run_op(struct sk_bkey *k, CK_MECHANISM *m, int decrypt, const uint8_t *in, size_t n,
		  struct sk_buf *out, const char *what)
{
	struct p11_backend *be = k->be;
	CK_ULONG len = 0;
	CK_RV rv;
	int rc;

	if ((rc = sk_p11_login(be, 0)) != SK_OK)
		return rc;
	rv = decrypt ? P11(be, C_DecryptInit, be->s, m, k->priv) : P11(be, C_SignInit, be->s, m, k->priv);
	/* A mechanism the token lists, with parameters it will not take
	 * (SoftHSM2: RSA-OAEP with SHA-1 only): unsupported, not a failure. */
	if (rv == CKR_ARGUMENTS_BAD || rv == CKR_MECHANISM_PARAM_INVALID)
		return sk_err(SK_EUNSUPP, "token '%s' cannot do %s with these parameters (%s refused by the token: %s)",
			      be->label, what, sk_p11_mech_name(m->mechanism), sk_p11_rv_name(rv));
	if (rv != CKR_OK)
		return sk_p11_fail(be, rv, what);
	if (k->always_auth && (rc = sk_p11_login(be, 1)) != SK_OK) {
		/* End the operation the token started. */
		if (decrypt)
			P11(be, C_Decrypt, be->s, (CK_BYTE_PTR)in, n, NULL, &len);
		else
			P11(be, C_Sign, be->s, (CK_BYTE_PTR)in, n, NULL, &len);
		return rc;
	}
	/* Room for the largest result (the modulus or 2 x the field), then
	 * the one call that does the work: a length query first would end
	 * the operation on some tokens. */
	len = 1024;
	if ((rc = sk_buf_reserve(out, len)) != SK_OK)
		return rc;
	rv = decrypt ? P11(be, C_Decrypt, be->s, (CK_BYTE_PTR)in, n, out->p + out->len, &len)
		     : P11(be, C_Sign, be->s, (CK_BYTE_PTR)in, n, out->p + out->len, &len);
	if (rv != CKR_OK)
		return sk_p11_fail(be, rv, what);
	out->len += len;
	return SK_OK;
}

/* The key's limits, worked out at its first sign. */
static int read_limits(struct sk_bkey *k)
{
	int rc;

	if (k->lim_read)
		return SK_OK;
	if ((rc = sk_p11_limits(k->be, k->kt->kind, &k->allowed, &k->lim)) == SK_OK)
		k->lim_read = 1;
	return rc;
}

static int p11_sig_limits(struct sk_bkey *k, struct sk_sig_limits *out)
{
	int rc = read_limits(k);

	if (rc == SK_OK)
		*out = k->lim.lim;
	return rc;
}

static int check_limits(struct sk_bkey *k, const EVP_MD *md, int pss, int msg)
{
	int rc = read_limits(k);

	return rc != SK_OK ? rc : sk_p11_check_limits(k->be, k->kt->kind, &k->lim, md, pss, msg);
}

static int p11_sign(struct sk_bkey *k, const EVP_MD *md, int pss, const uint8_t *dgst,
		    size_t dlen, struct sk_buf *sig)
{
	struct p11_backend *be = k->be;
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_RSA_PKCS_PSS_PARAMS pp;
	struct sk_buf raw = { 0 }, in = { 0 };
	int rc;

	if (pss && k->kt->kind != SK_KIND_RSA)
		return sk_err(SK_EUNSUPP, "RSA-PSS padding applies to RSA keys only");
	if ((rc = check_limits(k, md, pss, 0)) != SK_OK)
		return rc;
	if (k->kt->kind == SK_KIND_EC) {
		uint8_t pad[48];

		/* A digest shorter than the order, zero-padded to the order's
		 * length, is the same integer (X9.62 takes the order's length
		 * of leftmost bits): the same signature, and tokens that pick
		 * the TPM's hash by the input's length (tpm2-pkcs11: 20, 32,
		 * 48 or 64 bytes) take a SHA-224 digest too.  Not P-521. */
		if (k->kt->bits % 8 == 0 && dlen < k->kt->bits / 8 && k->kt->bits / 8 <= sizeof(pad)) {
			memset(pad, 0, sizeof(pad));
			memcpy(pad + k->kt->bits / 8 - dlen, dgst, dlen);
			dgst = pad;
			dlen = k->kt->bits / 8;
		}
		if ((rc = sk_p11_need_mech(be, CKM_ECDSA, "sign with ECDSA")) == SK_OK &&
		    (rc = run_op(k, &m, 0, dgst, dlen, &raw, "signing")) == SK_OK)
			rc = sk_p11_ecdsa_der(be, &raw, sig);
		goto out;
	}
	if (pss) {
		if ((pp.hashAlg = sk_p11_hash_mech(md, &pp.mgf)) == CK_UNAVAILABLE_INFORMATION)
			return sk_err(SK_EUNSUPP, "RSA-PSS with %s on a token", sk_md_name(md));
		pp.sLen = dlen;
		m.mechanism = CKM_RSA_PKCS_PSS;
		m.pParameter = &pp;
		m.ulParameterLen = sizeof(pp);
		if ((rc = sk_p11_need_mech(be, CKM_RSA_PKCS_PSS, "sign with RSA-PSS")) == SK_OK)
			rc = run_op(k, &m, 0, dgst, dlen, sig, "signing");
		return rc;
	}
	m.mechanism = CKM_RSA_PKCS;
	if ((rc = sk_p11_need_mech(be, CKM_RSA_PKCS, "sign with RSA PKCS#1 v1.5")) == SK_OK &&
	    (rc = sk_p11_digest_info(md, dgst, dlen, &in)) == SK_OK)
		rc = run_op(k, &m, 0, in.p, in.len, sig, "signing");
out:
	sk_buf_free(&in);
	sk_buf_free(&raw);
	return rc;
}

/* The message itself, hashed and signed by the token with the
 * hash-and-sign mechanism of md (a key restricted to those). */
static int p11_sign_msg(struct sk_bkey *k, const EVP_MD *md, int pss, const uint8_t *msg,
			size_t n, struct sk_buf *sig)
{
	struct p11_backend *be = k->be;
	CK_MECHANISM m = { CK_UNAVAILABLE_INFORMATION, NULL, 0 };
	CK_RSA_PKCS_PSS_PARAMS pp;
	struct sk_buf raw = { 0 };
	int sc = pss ? SK_SIG_PSS : SK_SIG_PLAIN, rc;

	if ((rc = check_limits(k, md, pss, 1)) != SK_OK)
		return rc;
	if ((m.mechanism = sk_p11_sig_mech(k->kt->kind, pss, md)) == CK_UNAVAILABLE_INFORMATION)
		return sk_err(SK_EUNSUPP, "%s with %s on a token", sk_p11_scheme_name(k->kt->kind, sc),
			      sk_md_name(md));
	if (pss) {
		if ((pp.hashAlg = sk_p11_hash_mech(md, &pp.mgf)) == CK_UNAVAILABLE_INFORMATION)
			return sk_err(SK_EUNSUPP, "RSA-PSS with %s on a token", sk_md_name(md));
		pp.sLen = (CK_ULONG)EVP_MD_get_size(md);
		m.pParameter = &pp;
		m.ulParameterLen = sizeof(pp);
	}
	if (k->kt->kind != SK_KIND_EC)
		return run_op(k, &m, 0, msg, n, sig, "signing");
	if ((rc = run_op(k, &m, 0, msg, n, &raw, "signing")) == SK_OK)
		rc = sk_p11_ecdsa_der(be, &raw, sig);
	sk_buf_free(&raw);
	return rc;
}

static int p11_decrypt(struct sk_bkey *k, const EVP_MD *oaep_md, const uint8_t *in, size_t n,
		       struct sk_buf *out)
{
	CK_RSA_PKCS_OAEP_PARAMS op;
	CK_MECHANISM m = { CKM_RSA_PKCS_OAEP, &op, sizeof(op) };
	int rc;

	memset(&op, 0, sizeof(op));
	if ((op.hashAlg = sk_p11_hash_mech(oaep_md, &op.mgf)) == CK_UNAVAILABLE_INFORMATION)
		return sk_err(SK_EUNSUPP, "RSA-OAEP with %s on a token", sk_md_name(oaep_md));
	op.source = CKZ_DATA_SPECIFIED;
	if ((rc = sk_p11_need_mech(k->be, CKM_RSA_PKCS_OAEP, "decrypt with RSA-OAEP")) != SK_OK)
		return rc;
	rc = run_op(k, &m, 1, in, n, out, "RSA-OAEP decryption");
	if (rc == SK_EVERIFY)
		sk_err(SK_EVERIFY, "RSA-OAEP decryption failed (wrong key or corrupt ciphertext)");
	return rc;
}

static int p11_derive(struct sk_bkey *k, EVP_PKEY *peer, struct sk_buf *secret)
{
	struct p11_backend *be = k->be;
	CK_ECDH1_DERIVE_PARAMS dp;
	CK_MECHANISM m = { CKM_ECDH1_DERIVE, &dp, sizeof(dp) };
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE gen = CKK_GENERIC_SECRET;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG vlen = (k->kt->bits + 7) / 8;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },     { CKA_KEY_TYPE, &gen, sizeof(gen) },
		{ CKA_TOKEN, &no, sizeof(no) },       { CKA_SENSITIVE, &no, sizeof(no) },
		{ CKA_EXTRACTABLE, &yes, sizeof(yes) }, { CKA_VALUE_LEN, &vlen, sizeof(vlen) },
	};
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	unsigned char point[160];
	size_t plen = 0;
	uint8_t *v = NULL;
	size_t vn = 0;
	char group[32];
	CK_RV rv;
	int rc;

	if (!EVP_PKEY_is_a(peer, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(peer, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					    NULL) ||
	    OBJ_sn2nid(group) != OBJ_sn2nid(k->kt->group) ||
	    !EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
					     sizeof(point), &plen)) {
		ERR_clear_error();
		return sk_err(SK_EUNSUPP, "peer key does not match the key's curve");
	}
	memset(&dp, 0, sizeof(dp));
	dp.kdf = CKD_NULL;
	dp.pPublicData = point;
	dp.ulPublicDataLen = plen;
	if ((rc = sk_p11_need_mech(be, CKM_ECDH1_DERIVE, "derive with ECDH")) != SK_OK ||
	    (rc = sk_p11_login(be, 0)) != SK_OK)
		return rc;
	if ((rv = P11(be, C_DeriveKey, be->s, &m, k->priv, t, SK_ARRAY_SIZE(t), &h)) != CKR_OK)
		return sk_p11_fail(be, rv, "ECDH");
	rc = sk_p11_get_attr(be, h, CKA_VALUE, &v, &vn);
	P11(be, C_DestroyObject, be->s, h);
	if (rc == SK_ENOTFOUND)
		rc = sk_err(SK_EUNSUPP, "token '%s' does not show the ECDH secret", be->label);
	if (rc == SK_OK)
		rc = sk_buf_add(secret, v, vn);
	if (v != NULL)
		OPENSSL_clear_free(v, vn);
	return rc;
}

/* AES and HMAC on the token (pkcs11_sym.c). */
static int p11_cipher(struct sk_bkey *k, enum sk_cipher_mode mode, int enc, const uint8_t *iv,
		      size_t ivlen, struct sk_symop **out)
{
	return sk_p11_cipher(k->be, k->priv, mode, enc, iv, ivlen, out);
}

static int p11_mac(struct sk_bkey *k, struct sk_symop **out)
{
	return sk_p11_mac(k->be, k->priv, k->kt, out);
}

/* The token the configuration names, and what it says about itself:
 * no login (doctor and --version -v need no PIN). */
static int p11_device_info(const struct sk_backend_cfg *cfg, struct sk_device_info *out)
{
	struct p11_backend *be;
	struct sk_backend *base;
	CK_INFO info;
	CK_FLAGS fl;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p11_open(cfg, &base)) != SK_OK)
		return rc;
	be = (struct p11_backend *)base;
	if (P11(be, C_GetInfo, &info) == CKR_OK)
		snprintf(out->revision, sizeof(out->revision), "%u.%02u", info.cryptokiVersion.major,
			 info.cryptokiVersion.minor);
	else
		snprintf(out->revision, sizeof(out->revision), "%u.%02u", be->f->version.major,
			 be->f->version.minor);
	sk_p11_trim(out->manufacturer, be->ti.manufacturerID, sizeof(be->ti.manufacturerID));
	sk_p11_trim(out->vendor, be->ti.model, sizeof(be->ti.model));
	sk_p11_trim(out->serial, be->ti.serialNumber, sizeof(be->ti.serialNumber));
	snprintf(out->firmware, sizeof(out->firmware), "%u.%u", be->ti.firmwareVersion.major,
		 be->ti.firmwareVersion.minor);
	snprintf(out->family, sizeof(out->family), "PKCS#11");
	memcpy(out->token, be->label, sizeof(out->token));
	out->slot = (unsigned long)be->slot;
	fl = be->ti.flags;
	out->pin = (fl & CKF_USER_PIN_LOCKED)     ? SK_PIN_LOCKED :
		   (fl & CKF_USER_PIN_FINAL_TRY)  ? SK_PIN_FINAL_TRY :
		   (fl & CKF_USER_PIN_COUNT_LOW)  ? SK_PIN_COUNT_LOW :
		   !(fl & CKF_USER_PIN_INITIALIZED) ? SK_PIN_NOT_SET :
		   (fl & CKF_USER_PIN_TO_BE_CHANGED) ? SK_PIN_TO_BE_CHANGED : SK_PIN_OK;
	sk_p11_mech_split(be, out->algs, &out->nalgs, out->lacks, &out->nlacks, SK_ARRAY_SIZE(out->algs));
	p11_close(base);
	return SK_OK;
}

/* ---- certificates (pkcs11_cert.c) ---- */

static int p11_cert_find(struct sk_backend *base, const char *name, struct sk_buf *der, char *key)
{
	return sk_p11_cert_find((struct p11_backend *)base, name, der, key);
}

static int p11_cert_list(struct sk_backend *base,
			 int (*fn)(const char *name, const uint8_t *der, size_t n, const char *key,
				   void *arg),
			 void *arg)
{
	return sk_p11_cert_list((struct p11_backend *)base, fn, arg);
}

/* Writing token objects, and finding the private key: logged in. */
static int p11_cert_put(struct sk_backend *base, const char *name, const uint8_t *der, size_t n,
			int replace, char *key, int *changed)
{
	struct p11_backend *be = (struct p11_backend *)base;
	int rc = sk_p11_login(be, 0);

	*changed = 0;
	return rc != SK_OK ? rc : sk_p11_cert_put(be, name, der, n, replace, key, changed);
}

const struct sk_backend_ops sk_pkcs11_backend = {
	.name = "pkcs11",
	.open = p11_open,
	.close = p11_close,
	.caps = p11_caps,
	.generate = p11_generate,
	.load = p11_load,
	.unload = p11_unload,
	.destroy = p11_destroy,
	.sign = p11_sign,
	.sig_limits = p11_sig_limits,
	.sign_msg = p11_sign_msg,
	.decrypt = p11_decrypt,
	.derive = p11_derive,
	.cipher = p11_cipher,
	.mac = p11_mac,
	.verify = sk_backend_verify_default,
	.key_find = p11_key_find,
	.key_list = p11_key_list,
	.key_create = p11_key_create,
	.key_import = p11_key_import,
	.random = p11_random,
	.device_info = p11_device_info,
	.cert_find = p11_cert_find,
	.cert_list = p11_cert_list,
	.cert_put = p11_cert_put,
};

#endif /* SECKIT_HAVE_PKCS11 */
