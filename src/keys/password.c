/* SPDX-License-Identifier: MIT */
#include "keys/password.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "store/store.h"

/* Attribute tags of password objects (docs/formats/store.md). */
enum { A_REC = 1, A_CHECKER = 2, A_SALT = 3, A_CHECKOBJ = 4 };

#define AUTH_SALT_LEN 16

static int scrypt(const struct sk_secret *s, const uint8_t salt[16], uint64_t n, uint64_t r,
		  uint64_t p, uint8_t out[64])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	EVP_KDF_CTX *k = NULL;
	OSSL_PARAM params[6];
	uint64_t maxmem = 128 * r * n * 2 + (1u << 20);
	int rc = SK_OK;

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, s->p, s->len);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, 16);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_R, &r);
	params[4] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_P, &p);
	params[5] = OSSL_PARAM_construct_end();
	if (kdf == NULL || (k = EVP_KDF_CTX_new(kdf)) == NULL) {
		rc = sk_err_ssl(SK_EFAIL, "scrypt");
		goto out;
	}
	{
		OSSL_PARAM mm[2];

		mm[0] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
		mm[1] = OSSL_PARAM_construct_end();
		EVP_KDF_CTX_set_params(k, mm);
	}
	if (EVP_KDF_derive(k, out, 64, params) != 1)
		rc = sk_err_ssl(SK_EFAIL, "scrypt");
out:
	EVP_KDF_CTX_free(k);
	EVP_KDF_free(kdf);
	return rc;
}

static int verifier(const uint8_t key[32], uint8_t out[32])
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t n;
	int rc = sk_hmac("SHA256", key, 32, "seckit/v1/password-check", 24, mac, &n);

	memcpy(out, mac, 32);
	return rc;
}

int sk_pwrec_new(const struct sk_secret *s, uint64_t n, uint64_t r, uint64_t p,
		 uint8_t rec[SK_PWREC_LEN], uint8_t root[32])
{
	uint8_t d[64];
	int rc;

	rec[0] = 1;
	sk_put_be64(rec + 1, n);
	sk_put_be64(rec + 9, r);
	sk_put_be64(rec + 17, p);
	if ((rc = sk_random(rec + 25, 16)) != SK_OK)
		return rc;
	if ((rc = scrypt(s, rec + 25, n, r, p, d)) == SK_OK &&
	    (rc = verifier(d, rec + 41)) == SK_OK)
		memcpy(root, d + 32, 32);
	OPENSSL_cleanse(d, sizeof(d));
	return rc;
}

int sk_pwrec_check(const uint8_t *rec, size_t len, const struct sk_secret *s, uint8_t root[32])
{
	uint8_t d[64], v[32];
	uint64_t n, r, p;
	int rc;

	if (len != SK_PWREC_LEN || rec[0] != 1)
		return sk_err(SK_EVERIFY, "password record is malformed");
	n = sk_get_be64(rec + 1);
	r = sk_get_be64(rec + 9);
	p = sk_get_be64(rec + 17);
	/* Authentic (sealed in the store), but bound the work all the same. */
	if (n < 2 || n > (1u << 22) || (n & (n - 1)) || r < 1 || r > 32 || p < 1 || p > 16)
		return sk_err(SK_EVERIFY, "password record has out-of-range parameters");
	if ((rc = scrypt(s, rec + 25, n, r, p, d)) != SK_OK)
		goto out;
	if ((rc = verifier(d, v)) != SK_OK)
		goto out;
	if (!sk_ct_equal(v, rec + 41, 32)) {
		rc = sk_err(SK_EAUTH, "wrong password");
		goto out;
	}
	memcpy(root, d + 32, 32);
out:
	OPENSSL_cleanse(d, sizeof(d));
	OPENSSL_cleanse(v, sizeof(v));
	return rc;
}

int sk_password_secret(const char *spec, const char *what, int confirm, struct sk_secret *s)
{
	if (spec == NULL && !sk_secret_can_prompt())
		return sk_err_remedy(sk_err(SK_EAUTH, "%s is needed, and there is no terminal to ask for it", what),
				     SK_REMEDY_PASS);
	return sk_secret_get(spec, what, confirm, s);
}

static int wrap_key(const uint8_t root[32], const char *label, uint8_t key[32])
{
	char info[300];
	int n = snprintf(info, sizeof(info), "seckit/v1/wrap/%s", label);

	return sk_hkdf_sha256(root, 32, NULL, 0, info, (size_t)n, key, 32);
}

int sk_pw_wrap(const uint8_t root[32], const char *label, const uint8_t *in, size_t n,
	       struct sk_buf *out)
{
	uint8_t key[32], *p;
	int rc;

	if ((rc = sk_buf_reserve(out, n + 28)) != SK_OK)
		return rc;
	p = out->p + out->len;
	if ((rc = wrap_key(root, label, key)) == SK_OK && (rc = sk_random(p, 12)) == SK_OK &&
	    (rc = sk_gcm_seal(key, p, label, strlen(label), in, n, p + 12, p + 12 + n)) == SK_OK)
		out->len += n + 28;
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int sk_pw_unwrap(const uint8_t root[32], const char *label, const uint8_t *in, size_t n,
		 struct sk_buf *out)
{
	uint8_t key[32];
	int rc;

	if (n < 28)
		return sk_err(SK_EVERIFY, "wrapped data is truncated");
	if ((rc = sk_buf_reserve(out, n - 28)) != SK_OK)
		return rc;
	if ((rc = wrap_key(root, label, key)) == SK_OK) {
		rc = sk_gcm_open(key, in, label, strlen(label), in + 12, n - 28,
				 out->p + out->len, in + n - 16);
		if (rc == SK_OK)
			out->len += n - 28;
		else if (rc == SK_EVERIFY)
			sk_err(SK_EVERIFY, "wrapped data failed authentication");
	}
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

/* ---- password objects ---- */

/* A password object as stored: a record (checked in software), or the
 * name of the backend that checks it, a salt and its check object. */
struct pwobj {
	struct sk_obj_info info;
	char checker[16];
	const uint8_t *rec, *salt, *chk;
	size_t reclen, chklen;
};

static int read_obj(struct sk_store *st, const char *obj, struct pwobj *o)
{
	const uint8_t *p = NULL;
	size_t n = 0, saltlen = 0;
	int rc, rec, chk;

	memset(o, 0, sizeof(*o));
	if ((rc = sk_store_stat(st, SK_NS_PASSWORD, obj, &o->info)) != SK_OK) {
		if (rc == SK_ENOTFOUND)
			sk_err(SK_ENOTFOUND, "password object '%s': not found", obj);
		return rc;
	}
	rec = sk_attr_get(o->info.meta, o->info.metalen, A_REC, &o->rec, &o->reclen);
	chk = sk_attr_get(o->info.meta, o->info.metalen, A_CHECKER, &p, &n);
	if (rec == 1 && chk == 0)
		return SK_OK;
	if (rec == 0 && chk == 1 && n > 0 && n < sizeof(o->checker) && !memchr(p, '\0', n) &&
	    sk_attr_get(o->info.meta, o->info.metalen, A_SALT, &o->salt, &saltlen) == 1 &&
	    saltlen == AUTH_SALT_LEN &&
	    sk_attr_get(o->info.meta, o->info.metalen, A_CHECKOBJ, &o->chk, &o->chklen) == 1 &&
	    o->chklen > 0) {
		memcpy(o->checker, p, n);
		o->checker[n] = '\0';
		return SK_OK;
	}
	sk_obj_info_free(&o->info);
	return sk_err(SK_EVERIFY, "password object '%s' is malformed", obj);
}

/*
 * The authorisation value of a backend-checked object's keys.  No slow KDF:
 * the value is never stored and only the TPM compares it, at the TPM's
 * pace, so a guess cannot be tested without the TPM.  The last byte is
 * made odd because a TPM drops trailing zero bytes of a value it compares
 * while tpm2-tss before 4.0 hashes them: a value ending in zero would
 * never match.
 */
static int derive_auth(const struct sk_secret *s, const uint8_t salt[AUTH_SALT_LEN],
		       const char *obj, struct sk_auth *a)
{
	static const char info[] = "seckit/v1/password-auth";
	int rc = sk_hkdf_sha256((const uint8_t *)s->p, s->len, salt, AUTH_SALT_LEN, info,
				sizeof(info) - 1, a->value, sizeof(a->value));

	a->value[sizeof(a->value) - 1] |= 1;
	snprintf(a->label, sizeof(a->label), "password object '%s'", obj);
	return rc;
}

/* The backend that checks the object: the run's, which must be the one
 * named in the object. */
static int checker_backend(struct sk_ctx *ctx, const char *obj, const char *checker,
			   struct sk_backend **be)
{
	int rc = sk_ctx_backend(ctx, be);

	if (rc != SK_OK)
		return rc;
	if (!sk_backend_is(*be, checker) || (*be)->ops->auth_check == NULL)
		return sk_err_remedy(sk_err(SK_EBACKEND, "password object '%s' is checked by backend '%s' (this run uses '%s')",
					    obj, checker, (*be)->ops->name),
				     SK_REMEDY_BACKEND);
	return SK_OK;
}

int sk_password_create(struct sk_ctx *ctx, const char *obj, const char *pass_spec)
{
	struct sk_secret s = { 0 };
	struct sk_obj_info info;
	struct sk_store *st;
	struct sk_backend *be;
	struct sk_txn *t = NULL;
	struct sk_buf meta = { 0 }, chk = { 0 };
	struct sk_auth auth;
	uint8_t rec[SK_PWREC_LEN], root[32], salt[AUTH_SALT_LEN];
	char what[300];
	int rc;

	memset(&auth, 0, sizeof(auth));
	if (!sk_name_valid(obj))
		return sk_err(SK_EUSAGE, "'%s' is not a valid name", obj);
	if ((rc = sk_ctx_store(ctx, 1, &st)) != SK_OK || (rc = sk_ctx_backend(ctx, &be)) != SK_OK)
		return rc;
	snprintf(what, sizeof(what), "new password for password object '%s'", obj);
	if ((rc = sk_password_secret(pass_spec, what, 1, &s)) != SK_OK)
		return rc;
	if (s.len == 0) {
		rc = sk_err(SK_EUSAGE, "password object '%s': the password is empty", obj);
		goto out;
	}
	/* Fail fast on a taken name; the slow part (scrypt, or the TPM making
	 * the check object) runs before the writer lock is taken. */
	if ((rc = sk_store_stat(st, SK_NS_PASSWORD, obj, &info)) == SK_OK) {
		sk_obj_info_free(&info);
		rc = sk_err(SK_EEXIST, "password object '%s' already exists", obj);
		goto out;
	}
	if (rc != SK_ENOTFOUND)
		goto out;
	if (be->ops->auth_new != NULL) {
		if ((rc = sk_random(salt, sizeof(salt))) != SK_OK ||
		    (rc = derive_auth(&s, salt, obj, &auth)) != SK_OK ||
		    (rc = be->ops->auth_new(be, &auth, &chk)) != SK_OK ||
		    (rc = sk_attr_put_str(&meta, A_CHECKER, be->ops->name)) != SK_OK ||
		    (rc = sk_attr_put(&meta, A_SALT, salt, sizeof(salt))) != SK_OK ||
		    (rc = sk_attr_put(&meta, A_CHECKOBJ, chk.p, chk.len)) != SK_OK)
			goto out;
	} else if ((rc = sk_pwrec_new(&s, ctx->cfg.kdf_n, ctx->cfg.kdf_r, ctx->cfg.kdf_p, rec,
				      root)) != SK_OK ||
		   (rc = sk_attr_put(&meta, A_REC, rec, sizeof(rec))) != SK_OK) {
		goto out;
	}
	if ((rc = sk_txn_begin(st, &t)) != SK_OK)
		goto out;
	rc = sk_store_stat(st, SK_NS_PASSWORD, obj, &info);
	if (rc == SK_OK) {
		sk_obj_info_free(&info);
		rc = sk_err(SK_EEXIST, "password object '%s' already exists", obj);
		goto out;
	}
	if (rc != SK_ENOTFOUND ||
	    (rc = sk_txn_put(t, SK_NS_PASSWORD, obj, meta.p, meta.len, NULL, 0)) != SK_OK)
		goto out;
	rc = sk_txn_commit(t);
	t = NULL;
out:
	sk_txn_abort(t);
	sk_buf_free(&meta);
	sk_buf_free(&chk);
	OPENSSL_cleanse(root, sizeof(root));
	OPENSSL_cleanse(&auth, sizeof(auth));
	sk_secret_free(&s);
	return rc;
}

void sk_pwunlock_cleanse(struct sk_pwunlock *u)
{
	OPENSSL_cleanse(u, sizeof(*u));
}

static int unlock_obj(struct sk_ctx *ctx, struct sk_store *st, const char *obj,
		      const char *pass_spec, const char *what, unsigned flags,
		      struct sk_pwunlock *out)
{
	struct pwobj o;
	struct sk_secret s = { 0 };
	struct sk_backend *be = NULL;
	char label[400];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = read_obj(st, obj, &o)) != SK_OK)
		return rc;
	/* A backend-checked object needs that backend: say so before asking
	 * for a password. */
	if (o.checker[0] && (rc = checker_backend(ctx, obj, o.checker, &be)) != SK_OK)
		goto out;
	snprintf(label, sizeof(label), "password of password object '%s'%s%s", obj,
		 what ? " for " : "", what ? what : "");
	if ((rc = sk_password_secret(pass_spec, label, 0, &s)) != SK_OK)
		goto out;
	snprintf(out->checker, sizeof(out->checker), "%s", o.checker);
	if (o.checker[0]) {
		if ((rc = derive_auth(&s, o.salt, obj, &out->auth)) == SK_OK && (flags & SK_PW_CHECK))
			rc = be->ops->auth_check(be, &out->auth, o.chk, o.chklen);
	} else {
		rc = sk_pwrec_check(o.rec, o.reclen, &s, out->root);
		if (rc == SK_EAUTH)
			sk_err(SK_EAUTH, "wrong password for password object '%s'", obj);
	}
out:
	if (rc != SK_OK)
		sk_pwunlock_cleanse(out);
	sk_secret_free(&s);
	sk_obj_info_free(&o.info);
	return rc;
}

int sk_password_unlock(struct sk_ctx *ctx, const char *obj, const char *pass_spec,
		       const char *what, unsigned flags, struct sk_pwunlock *out)
{
	struct sk_store *st;
	int rc = sk_ctx_store(ctx, 0, &st);

	if (rc != SK_OK) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	return unlock_obj(ctx, st, obj, pass_spec, what, flags, out);
}

int sk_password_checker(struct sk_ctx *ctx, const char *obj, char checker[16])
{
	struct sk_store *st;
	struct pwobj o;
	int rc;

	checker[0] = '\0';
	if ((rc = sk_ctx_store(ctx, 0, &st)) != SK_OK || (rc = read_obj(st, obj, &o)) != SK_OK)
		return rc;
	memcpy(checker, o.checker, sizeof(o.checker));
	sk_obj_info_free(&o.info);
	return SK_OK;
}

int sk_password_remove(struct sk_ctx *ctx, struct sk_txn *t, const char *obj,
		       const char *pass_spec)
{
	struct sk_store *st;
	struct sk_pwunlock pw;
	int rc;

	memset(&pw, 0, sizeof(pw));
	if ((rc = sk_ctx_store(ctx, 0, &st)) != SK_OK)
		return rc;
	if ((rc = unlock_obj(ctx, st, obj, pass_spec, NULL, SK_PW_CHECK, &pw)) == SK_OK)
		rc = sk_txn_del(t, SK_NS_PASSWORD, obj);
	sk_pwunlock_cleanse(&pw);
	return rc;
}

struct list_arg {
	sk_password_list_fn fn;
	void *arg;
};

static int list_one(const struct sk_obj_info *info, void *arg)
{
	struct list_arg *l = arg;
	const uint8_t *p;
	size_t n;
	char checker[16] = "software";

	if (sk_attr_get(info->meta, info->metalen, A_CHECKER, &p, &n) == 1 && n > 0 &&
	    n < sizeof(checker) && !memchr(p, '\0', n)) {
		memcpy(checker, p, n);
		checker[n] = '\0';
	}
	return l->fn(info->name, info->mtime, checker, l->arg);
}

int sk_password_list(struct sk_ctx *ctx, sk_password_list_fn fn, void *arg)
{
	struct list_arg l = { fn, arg };
	struct sk_store *st;
	int rc = sk_ctx_store(ctx, 0, &st);

	return rc ? rc : sk_store_list(st, SK_NS_PASSWORD, list_one, &l);
}
