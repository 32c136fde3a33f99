/* SPDX-License-Identifier: MIT */
/*
 * The lock of a provisioned store (trust.h, "the lock"), below the
 * commands: every library function that changes a trust anchor refuses a
 * local caller on a locked store, lets a verified STP through, and lets
 * anyone add what is missing.  The commands check before they get here;
 * this shows that a caller that does not (a later command, a race between
 * a command's check and its transaction) cannot get around the lock.
 *
 *   trust-lock CERT PUB      (SECKIT_STORE: a store provisioned from
 *                             manifest.example.yaml and locked)
 *
 * CERT: a CA certificate that is in the store under no name; PUB: a public
 * key that is in the store under no name.  Everything happens in one
 * transaction that is aborted: the store is left as it was.  Run by
 * tests/41-provision.bats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "ctx/ctx.h"
#include "base/err.h"
#include "keys/keys.h"
#include "trust/trust.h"
#include "trust/x509.h"
#include "check.h"

static int refused(int rc)
{
	return rc == SK_EVERIFY && strstr(sk_err_msg(), "trust anchor of a locked store") != NULL &&
	       strstr(sk_err_msg(), "(use an STP)") != NULL;
}

int main(int argc, char **argv)
{
	struct sk_ctx ctx;
	struct sk_backend_ref be;
	struct sk_store *st;
	struct sk_txn *t;
	const struct sk_policy *pol;
	struct sk_cert issuing;
	X509 *cert = NULL;
	EVP_PKEY *pub = NULL;
	uint64_t since = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: trust-lock CERT PUB\n");
		return 2;
	}
	sk_crypto_init();
	sk_ctx_init(&ctx);
	be = sk_ctx_backend_ref(&ctx);
	CHECK(sk_ctx_store(&ctx, 0, &st) == SK_OK && sk_ctx_policy(&ctx, &pol) == SK_OK,
	      "the store opens");
	CHECK(sk_trust_locked(st, &since) == SK_OK && since != 0, "the store is locked");
	CHECK(sk_x509_load_one(argv[1], &cert) == SK_OK, "the certificate loads");
	CHECK(sk_pkey_load(argv[2], NULL, 0, &pub) == SK_OK, "the public key loads");
	CHECK(sk_cert_get(&ctx, "acme-issuing", &issuing) == SK_OK, "the CA acme-issuing is there");
	/* (It takes the writer lock itself.) */
	CHECK(refused(sk_key_delete(&ctx, "oem-payload", NULL)), "delete of a provisioned key: refused");
	CHECK(sk_txn_begin(st, &t) == SK_OK, "a transaction begins");

	/* A local caller: no anchor is replaced or deleted. */
	CHECK(refused(sk_trust_set_cert_txn(t, &be, pol, "oem-root", cert, "oem-root", "test",
					    SK_BY_LOCAL)),
	      "set-cert over a provisioned certificate: refused");
	CHECK(refused(sk_trust_set_cert_txn(t, &be, pol, "another", cert, "oem-command", "test",
					    SK_BY_LOCAL)),
	      "a new certificate that brings another command key: refused");
	CHECK(refused(sk_trust_ca_txn(t, "acme-issuing", cert, 1, "test", SK_BY_LOCAL)),
	      "update of a CA: refused");
	CHECK(refused(sk_trust_ca_delete_txn(t, "acme-issuing", SK_BY_LOCAL)),
	      "delete of a CA: refused");
	CHECK(refused(sk_key_txn_put_public(t, &be, "oem-command", pub, SK_KEY_PROVISIONED, "test",
					    SK_BY_LOCAL)),
	      "another command key: refused");
	CHECK(refused(sk_key_txn_put_public(t, &be, "device", pub, SK_KEY_PROVISIONED, "test",
					    SK_BY_LOCAL)),
	      "a public key over the device key: refused");

	/* ... but what is missing may be added, and the same again is no change. */
	CHECK(sk_trust_ca_txn(t, "new-ca", cert, 0, "test", SK_BY_LOCAL) == SK_OK,
	      "a new CA: added");
	CHECK(sk_key_txn_put_public(t, &be, "new-key", pub, SK_KEY_PROVISIONED, "test",
				    SK_BY_LOCAL) == SK_OK,
	      "a new provisioned key: added");
	CHECK(sk_trust_ca_txn(t, "acme-issuing", issuing.x509, 1, "test", SK_BY_LOCAL) == SK_OK,
	      "the same CA again: no change");

	/* A verified STP may. */
	CHECK(sk_trust_set_cert_txn(t, &be, pol, "oem-root", cert, "oem-root", "test", SK_BY_STP) == SK_OK,
	      "set-cert by an STP");
	CHECK(sk_trust_ca_txn(t, "acme-issuing", cert, 1, "test", SK_BY_STP) == SK_OK,
	      "update-ca by an STP");
	CHECK(sk_trust_ca_delete_txn(t, "acme-issuing", SK_BY_STP) == SK_OK,
	      "delete-ca by an STP");
	CHECK(sk_key_txn_put_public(t, &be, "oem-command", pub, SK_KEY_PROVISIONED, "test",
				    SK_BY_STP) == SK_OK,
	      "a command key by an STP");

	sk_txn_abort(t);
	sk_cert_free(&issuing);
	X509_free(cert);
	EVP_PKEY_free(pub);
	sk_ctx_free(&ctx);
	return 0;
}
