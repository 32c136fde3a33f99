/* SPDX-License-Identifier: MIT */
/*
 * pwtool: a test-only look at password objects and keys in a store, for
 * what the command line does not show.  Not installed.  Store, backend,
 * TCTI and config come from the environment, as for seckit.
 *
 *   pwtool attrs OBJ
 *       the attributes of password object OBJ, one per line:
 *       "TAG LENGTH" and, for the public ones (2 the checking backend,
 *       3 the salt), the value in hex
 *   pwtool auth OBJ PASS-SPEC
 *       the authorisation value (hex) that the keys of OBJ, a password
 *       object checked by the backend, get from this password
 *   pwtool legacy-key NAME TYPE OBJ PASS-SPEC
 *       create key NAME as seckit 0.1 bound every key to a password
 *       object: the backend's blob, made with no authorisation value,
 *       wrapped under the root of OBJ (which must be checked in
 *       software); the attributes as docs/formats/store.md gives them
 *
 * Exit status: the library's result code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "ctx/ctx.h"
#include "base/err.h"
#include "crypto/keytype.h"
#include "keys/password.h"
#include "store/store.h"

static int fail(int rc)
{
	fprintf(stderr, "pwtool: %s\n", sk_err_msg());
	return rc;
}

static int attrs(struct sk_ctx *ctx, const char *obj)
{
	struct sk_store *st;
	struct sk_obj_info o;
	int rc, tag;

	if ((rc = sk_ctx_store(ctx, 0, &st)) != SK_OK ||
	    (rc = sk_store_stat(st, SK_NS_PASSWORD, obj, &o)) != SK_OK)
		return rc;
	for (tag = 1; tag < 256; tag++) {
		const uint8_t *p;
		size_t n, i;

		if (sk_attr_get(o.meta, o.metalen, (uint8_t)tag, &p, &n) != 1)
			continue;
		printf("%d %zu", tag, n);
		if (tag == 2 || tag == 3) {
			putchar(' ');
			for (i = 0; i < n; i++)
				printf("%02x", p[i]);
		}
		putchar('\n');
	}
	sk_obj_info_free(&o);
	return SK_OK;
}

static int auth(struct sk_ctx *ctx, const char *obj, const char *spec)
{
	struct sk_pwunlock pw;
	size_t i;
	int rc = sk_password_unlock(ctx, obj, spec, NULL, 0, &pw);

	if (rc == SK_OK && !pw.checker[0])
		rc = sk_err(SK_EUSAGE, "password object '%s' is checked in software", obj);
	if (rc == SK_OK) {
		for (i = 0; i < sizeof(pw.auth.value); i++)
			printf("%02x", pw.auth.value[i]);
		putchar('\n');
	}
	sk_pwunlock_cleanse(&pw);
	return rc;
}

/* Key attribute tags (docs/formats/store.md, src/keys/keys.c). */
enum { K_TYPE = 1, K_FLAGS = 2, K_PWOBJ = 3, K_PUB = 4, K_BACKEND = 5, K_CREATED = 6,
       K_ORIGIN = 7 };

static int legacy_key(struct sk_ctx *ctx, const char *name, const char *type, const char *obj,
		      const char *spec)
{
	const struct sk_keytype *kt = sk_keytype_by_name(type);
	struct sk_store *st;
	struct sk_backend *be;
	struct sk_pwunlock pw;
	struct sk_buf blob = { 0 }, body = { 0 }, meta = { 0 };
	struct sk_txn *t = NULL;
	EVP_PKEY *pub = NULL;
	unsigned char *der = NULL;
	char label[300];
	int rc, n;

	memset(&pw, 0, sizeof(pw));
	if (kt == NULL)
		return sk_err(SK_EUSAGE, "unknown key type '%s'", type);
	if ((rc = sk_ctx_store(ctx, 1, &st)) != SK_OK || (rc = sk_ctx_backend(ctx, &be)) != SK_OK ||
	    (rc = sk_password_unlock(ctx, obj, spec, NULL, SK_PW_CHECK, &pw)) != SK_OK)
		goto out;
	if (pw.checker[0]) {
		rc = sk_err(SK_EUSAGE, "password object '%s' is not checked in software", obj);
		goto out;
	}
	snprintf(label, sizeof(label), "key/%s", name);
	if ((rc = be->ops->generate(be, kt, 0, NULL, &blob, &pub)) != SK_OK ||
	    (rc = sk_pw_wrap(pw.root, label, blob.p, blob.len, &body)) != SK_OK ||
	    (rc = sk_attr_put_str(&meta, K_TYPE, kt->name)) != SK_OK ||
	    (rc = sk_attr_put_u64(&meta, K_FLAGS, 0)) != SK_OK ||
	    (rc = sk_attr_put_str(&meta, K_BACKEND, be->ops->name)) != SK_OK ||
	    (rc = sk_attr_put_u64(&meta, K_CREATED, (uint64_t)time(NULL))) != SK_OK ||
	    (rc = sk_attr_put_str(&meta, K_ORIGIN, "generated")) != SK_OK ||
	    (rc = sk_attr_put_str(&meta, K_PWOBJ, obj)) != SK_OK)
		goto out;
	if (pub != NULL) {
		if ((n = i2d_PUBKEY(pub, &der)) <= 0) {
			rc = sk_err_ssl(SK_EFAIL, "encoding the public key");
			goto out;
		}
		if ((rc = sk_attr_put(&meta, K_PUB, der, (size_t)n)) != SK_OK)
			goto out;
	}
	if ((rc = sk_txn_begin(st, &t)) != SK_OK ||
	    (rc = sk_txn_put(t, SK_NS_KEY, name, meta.p, meta.len, body.p, body.len)) != SK_OK)
		goto out;
	rc = sk_txn_commit(t);
	t = NULL;
out:
	sk_txn_abort(t);
	sk_pwunlock_cleanse(&pw);
	OPENSSL_free(der);
	EVP_PKEY_free(pub);
	sk_buf_cleanse_free(&blob);
	sk_buf_free(&body);
	sk_buf_free(&meta);
	return rc;
}

int main(int argc, char **argv)
{
	struct sk_ctx ctx;
	int rc;

	sk_ctx_init(&ctx);
	if (argc == 3 && strcmp(argv[1], "attrs") == 0)
		rc = attrs(&ctx, argv[2]);
	else if (argc == 4 && strcmp(argv[1], "auth") == 0)
		rc = auth(&ctx, argv[2], argv[3]);
	else if (argc == 6 && strcmp(argv[1], "legacy-key") == 0)
		rc = legacy_key(&ctx, argv[2], argv[3], argv[4], argv[5]);
	else {
		fprintf(stderr, "usage: pwtool attrs OBJ | auth OBJ PASS-SPEC | legacy-key NAME TYPE OBJ PASS-SPEC\n");
		sk_ctx_free(&ctx);
		return 2;
	}
	if (rc != SK_OK)
		fail(rc);
	sk_ctx_free(&ctx);
	return rc;
}
