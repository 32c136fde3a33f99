/* SPDX-License-Identifier: MIT */
#ifndef SK_OKEY_H
#define SK_OKEY_H

#include <stddef.h>
#include <stdint.h>

#include "ctx/ctx.h"
#include "format/ecies.h"
#include "crypto/keytype.h"
#include "crypto/keyenc.h"
#include "format/pkg.h"
#include "base/util.h"

/*
 * Opaque key packages (docs/formats/opaque-key.md): one key, its future
 * name and type, ECIES-encrypted to one device and signed by the OEM key.
 * The name is inside the encryption; the clear part says which device,
 * which signer and which algorithms.
 */

struct sk_okey_make_req {
	const char *name;               /* the key's name on the device */
	const struct sk_keytype *type;
	EVP_PKEY *key;                  /* EC or RSA private key, or */
	const uint8_t *raw;             /* AES or HMAC key bytes */
	size_t rawlen;
	EVP_PKEY *device_pub;           /* from sk_ecies_parse_pub */
	const uint8_t *device_id;       /* its 32-byte ID */
	struct sk_ecies_alg alg;
	struct sk_ecies_sender *sender; /* of alg, kept between calls; NULL: one of its own */
	const struct sk_signer *signer;
	/* The envelope's plaintext (the key, secret) kept between calls for
	 * the same key (a fleet worker's; cleanse it with
	 * sk_buf_cleanse_free): made by the first call; NULL: made each time. */
	struct sk_buf *plain;
	/* Generated EC keys encoded without OpenSSL's encoders (keyenc.h),
	 * kept between calls; NULL: OpenSSL's. */
	struct sk_keyenc *enc;
};
int sk_okey_make(const struct sk_okey_make_req *r, struct sk_buf *out);

struct sk_okey_desc {
	long version;
	char device[65];
	char signer[65];
	char sigalg[128];
	char curve[32];
	struct sk_ecies_alg alg;
};
/* The clear part, without verifying (SK_EVERIFY if malformed). */
int sk_okey_describe(const uint8_t *der, size_t n, struct sk_okey_desc *d);

/*
 * On the device: verify with the OEM key (verify_key, or the oem-root
 * role), refuse a package for another device key (SK_EVERIFY), open the
 * envelope with the device key in its backend, and store the key under
 * its packaged name: not exportable, origin "opaque-key", optionally bound
 * to a password object.  A taken name is SK_EEXIST.  The clear key only
 * lives in memory that is cleansed before returning.
 */
struct sk_okey_import_req {
	const char *path;
	const char *device_key;   /* its name (the caller resolves the role) */
	const char *device_pass;
	const char *verify_key;   /* its name (the caller resolves the role) */
	const char *pwobj;        /* bind to this password object, or NULL */
	const char *pass_spec;    /* its secret */
	enum sk_role missing;     /* out: as in struct sk_oo_open_req */
};
int sk_okey_import(struct sk_ctx *ctx, struct sk_okey_import_req *r, char name[256],
		   const struct sk_keytype **type);

#endif
