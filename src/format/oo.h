/* SPDX-License-Identifier: MIT */
#ifndef SK_OO_H
#define SK_OO_H

#include <stddef.h>
#include <stdint.h>

#include "ctx/ctx.h"
#include "format/ecies.h"
#include "format/pkg.h"
#include "base/util.h"

/*
 * Opaque objects (docs/formats/opaque-object.md, ooid.md).
 *
 *   object  = a file encrypted once under a fresh AES-256 key; copied to
 *             any number of devices.  Not signed: it is only usable with
 *             an OOID, which binds its id, size and SHA-256.
 *   OOInfo  = what opens it (key, cipher, IV, size, SHA-256 of the clear
 *             data, policies).  SECRET.  On the packaging host it is a
 *             YAML file (0600); inside an OOID it is DER.
 *   OOID    = the OOInfo ECIES-encrypted to one device and signed by the
 *             OEM key (a package of the pkg.h layer).
 */

#define SK_OO_ID_LEN 16

struct sk_ooinfo {
	uint8_t object_id[SK_OO_ID_LEN];
	enum sk_ecies_cipher cipher; /* SK_ECIES_AES256_CTR or _GCM */
	uint8_t key[32];
	uint8_t iv[16];              /* CTR: initial counter block; GCM: 12-byte nonce */
	uint64_t size;               /* of the clear data */
	uint8_t sha256[32];          /* of the clear data */
	int has_not_before, has_not_after;
	int64_t not_before, not_after; /* seconds since the epoch, UTC */
};
void sk_ooinfo_cleanse(struct sk_ooinfo *i);


/*
 * Encrypt in ("-": stdin) into the object out ("-": stdout) with a fresh
 * key; info receives everything but the policies (set them before writing
 * the info file).  cipher: SK_ECIES_AES256_CTR or _GCM.  Streams in
 * constant memory; out is written atomically.  A pipe is read through a
 * spool file (ciphertext only) next to out, or in tmpdir for stdout.
 */
int sk_oo_make(const char *in, const char *out, enum sk_ecies_cipher cipher,
	       const char *tmpdir, struct sk_ooinfo *info);

/* The OOInfo file (YAML, written 0600 and atomically).  read: located
 * SK_ECONFIG errors for anything malformed. */
int sk_ooinfo_write(const char *path, const struct sk_ooinfo *info, const char *object_name);
int sk_ooinfo_read(const char *path, struct sk_ooinfo *info);

/* OOInfo as DER (the plaintext of an OOID's envelope); the buffer holds a
 * secret: sk_buf_cleanse_free it. */
int sk_ooinfo_encode(const struct sk_ooinfo *info, struct sk_buf *der);
int sk_ooinfo_decode(const uint8_t *p, size_t n, struct sk_ooinfo *info);

/*
 * One OOID for one device: the OOInfo (DER) sealed to devpub and signed.
 * devid is the device ID (SHA-256 of its SPKI DER, sk_ecies_parse_pub).
 * Thread-safe as long as each thread has its own sender; the signer (a
 * key file) may be shared.
 */
int sk_ooid_make(struct sk_ecies_sender *s, const struct sk_signer *signer,
		 const uint8_t *info_der, size_t info_len, const uint8_t object_id[SK_OO_ID_LEN],
		 EVP_PKEY *devpub, const uint8_t devid[32], struct sk_buf *out);

/* What `oo show` prints of an OOID or an object (nothing secret). */
struct sk_oo_desc {
	enum sk_pkg_type type;    /* SK_PKG_OOID or SK_PKG_OPAQUE_OBJECT */
	long version;
	char object_id[2 * SK_OO_ID_LEN + 1];
	/* OOID only */
	char device[65];
	char signer[65];
	char sigalg[128];
	char curve[32];
	struct sk_ecies_alg alg;
	/* object only */
	uint64_t content_len;
};
int sk_oo_describe(const char *path, struct sk_oo_desc *d);

/*
 * On the device: verify the OOID (signature by the verify key), check it
 * is for the device key and for this object, open it in the backend,
 * check the policies at time now, decrypt the object streaming, check
 * size and SHA-256, and only then commit out ("-": stdout).  Every failed
 * check is SK_EVERIFY with the reason.
 */
struct sk_oo_open_req {
	const char *ooid;         /* FILE.oid */
	const char *object;       /* FILE.enc ("-": stdin) */
	const char *out;          /* output ("-": stdout) */
	const char *device_key;   /* its name (the caller resolves the role) */
	const char *device_pass;  /* secret of its password object */
	const char *verify_key;   /* its name (the caller resolves the role) */
	const char *tmpdir;       /* where out "-" waits until checked */
	int64_t now;
	enum sk_role missing;     /* out: on SK_ENOTFOUND, SK_ROLE_DEVICE_KEY or
				   * SK_ROLE_OEM_ROOT when that key is absent,
				   * else SK_ROLE_COUNT */
};
int sk_oo_open(struct sk_ctx *ctx, struct sk_oo_open_req *req, struct sk_ooinfo *info);

/* Shared by oo open and opaque-key import: the device key name (opened,
 * EC) and its ID; checks that a package's device field names it
 * (SK_EVERIFY).  *missing is set to SK_ROLE_DEVICE_KEY when it is absent
 * (SK_ENOTFOUND). */
int sk_device_key_open(struct sk_ctx *ctx, const char *name, const char *pass_spec,
		       struct sk_key **out, enum sk_role *missing);
int sk_device_check(const struct sk_key *k, const uint8_t *device, size_t n);
/* The verifier for packages: the key name (the oem-root role's, or the
 * one the user gave); *missing = SK_ROLE_OEM_ROOT when it is absent. */
int sk_oem_verifier(struct sk_ctx *ctx, const char *name, struct sk_verifier *v,
		    enum sk_role *missing);

/* Off the device (opaque-key make, oo id): the ECIES algorithms -- the
 * defaults, then the policy's default cipher (defaults.cipher), then the
 * names given (NULL: not given; SK_EUSAGE for names that are not known).
 * The OEM signer is pkg.h's sk_signer_open (a key file or a store key). */
int sk_ecies_alg_for(const struct sk_policy *pol, const char *kdf, const char *cipher,
		     const char *mac, struct sk_ecies_alg *alg);

#endif
