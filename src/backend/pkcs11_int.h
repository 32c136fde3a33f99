/* SPDX-License-Identifier: MIT */
#ifndef SK_PKCS11_INT_H
#define SK_PKCS11_INT_H

/*
 * Internals of the pkcs11 backend, shared by its files:
 *   be_pkcs11.c    the backend operations (the sk_pkcs11_backend table):
 *                  module, token, PIN, keys as token objects, signing,
 *                  decryption, ECDH, random
 *   pkcs11_uri.c   RFC 7512 PKCS#11 URIs (the token and object parts)
 * The PKCS#11 types come from p11-kit's pkcs11.h (libp11-kit-dev): a
 * header only, under a permissive licence; seckit links nothing of
 * p11-kit and loads the module itself with dlopen.  Nothing else includes
 * this; the API is backend.h.
 */
#ifdef SECKIT_HAVE_PKCS11

#include <stddef.h>

/* What a PKCS#11 URI says (RFC 7512), percent-decoded.  Empty: absent. */
struct sk_p11_uri {
	char token[33], serial[17], manufacturer[33], model[17];
	char object[256];
	unsigned char id[64];
	size_t idlen;
	int has_id, has_slot;
	unsigned long slot_id;
	char type[16];             /* private, public, cert ... */
	char module_path[1024];
};

/* 1 if s is a PKCS#11 URI ("pkcs11:..."). */
int sk_p11_is_uri(const char *s);
/* Parse a PKCS#11 URI; SK_EUSAGE for a malformed one or one that carries
 * a PIN (pin-value: it would show in process lists and logs). */
int sk_p11_uri_parse(const char *s, struct sk_p11_uri *out);

#endif /* SECKIT_HAVE_PKCS11 */
#endif
