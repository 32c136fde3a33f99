/* SPDX-License-Identifier: MIT */
#ifndef SK_BACKEND_H
#define SK_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "crypto/keytype.h"
#include "crypto/pcr.h"
#include "base/util.h"

/*
 * Backends: where private key material lives and where private-key
 * operations happen.  The key catalogue (names, attributes, public keys,
 * password binding) is common code in keys.c; a backend only sees opaque
 * "blobs" that it produces and later loads:
 *   soft    the key itself (DER or raw), sealed in the store;
 *   tpm2    a TPM-wrapped private area, or a persistent handle;
 *   pkcs11  a reference to an object on the token.
 * Every implementation embeds struct sk_backend first (git's ref_storage_be
 * pattern) and fills one struct sk_backend_ops.  An operation a backend
 * cannot do is NULL or returns SK_EUNSUPP; callers check caps() first so the
 * message says which backend and which operation.
 */

enum sk_cap {
	SK_CAP_GENERATE = 1u << 0,
	SK_CAP_IMPORT = 1u << 1,
	SK_CAP_SIGN = 1u << 2,
	SK_CAP_DECRYPT = 1u << 3,
	SK_CAP_DERIVE = 1u << 4,
	SK_CAP_CIPHER = 1u << 5,
	SK_CAP_MAC = 1u << 6,
	SK_CAP_EXPORT = 1u << 7,
};

enum sk_cipher_mode { SK_MODE_CBC, SK_MODE_CTR, SK_MODE_GCM };

struct sk_backend;
struct sk_bkey;   /* a loaded key, backend-specific */

/* Streaming symmetric operation (cipher or MAC). */
struct sk_symop {
	/* out must have room for n + 32 bytes; *outlen set. */
	int (*update)(struct sk_symop *op, const uint8_t *in, size_t n, uint8_t *out, size_t *outlen);
	/* Cipher: final block(s) into out (<= 16 bytes); GCM: tag in/out.
	 * MAC: the MAC into out (EVP_MAX_MD_SIZE). */
	int (*final)(struct sk_symop *op, uint8_t *out, size_t *outlen, uint8_t *tag);
	void (*free)(struct sk_symop *op);
};

/*
 * A key's authorisation value, for backends that check passwords
 * themselves (those with auth_new: tpm2).  A key bound to a password object
 * that such a backend checks is created with value as its authorisation
 * value and must present it again for every private-key operation; the
 * backend, not seckit, compares it, and counts the failures (the TPM's
 * dictionary-attack protection).  value is derived from the password
 * (password.h), never stored.  label names the secret in messages
 * ("password object 'pin'").
 */
struct sk_auth {
	uint8_t value[32];
	char label[300];
};

struct sk_backend_cfg {
	const char *tcti;        /* tpm2: TCTI configuration string */
	uint32_t tpm2_parent;    /* tpm2: persistent parent handle, 0: SRK template */
	const char *pkcs11_module; /* pkcs11: the module's path (NULL: none given) */
	/* pkcs11: the token: its label, its serial number, its slot ID in
	 * decimal, or a PKCS#11 URI (RFC 7512); NULL: the only token there is. */
	const char *pkcs11_token;
	/* pkcs11: the user PIN, asked for when the token needs it (and again
	 * for a key that wants it before every use); what names the token.
	 * The backend cleanses it after the login. */
	int (*pin)(void *arg, const char *what, struct sk_buf *pin);
	void *pin_arg;
	/* pkcs11: let the module's own messages reach stderr (-v); else fd 2
	 * is /dev/null while a module call runs. */
	int module_stderr;
};

/* The user PIN's state, as a PKCS#11 token flags it. */
enum sk_pin_state {
	SK_PIN_OK,
	SK_PIN_COUNT_LOW,        /* a wrong PIN was entered since the last good one */
	SK_PIN_FINAL_TRY,        /* one more wrong PIN locks it */
	SK_PIN_LOCKED,
	SK_PIN_TO_BE_CHANGED,    /* still the initial PIN, or expired */
	SK_PIN_NOT_SET,          /* the token has no user PIN yet */
};
/* "ok", "count-low", "final-try", "locked", "to-be-changed", "not-set" */
const char *sk_pin_state_name(enum sk_pin_state p);

/* What the device behind a backend says about itself (--version -v). */
struct sk_device_info {
	char manufacturer[33];   /* tpm2: TPM_PT_MANUFACTURER ("IBM", "MSFT");
	                          * pkcs11: the token's manufacturerID */
	char vendor[17];         /* tpm2: TPM_PT_VENDOR_STRING_1..4; pkcs11: model */
	char firmware[48];       /* tpm2: "A.B.C.D" from TPM_PT_FIRMWARE_VERSION_1/2;
	                          * pkcs11: the token's "major.minor" */
	char family[8];          /* tpm2: TPM_PT_FAMILY_INDICATOR ("2.0");
	                          * pkcs11: "PKCS#11" */
	unsigned level;          /* tpm2: TPM_PT_LEVEL; pkcs11: 0 */
	char revision[16];       /* tpm2: TPM_PT_REVISION ("1.59"); pkcs11: the
	                          * module's Cryptoki version ("2.40") */
	/* pkcs11 only: the token that the configuration names. */
	char token[33];          /* its label */
	char serial[17];
	unsigned long slot;
	enum sk_pin_state pin;
	const char *banks[8];    /* tpm2: PCR banks with PCRs in use ("sha256") */
	size_t nbanks;
	/* Of the algorithms seckit uses, those the device has and lacks
	 * (pkcs11: the mechanisms). */
	const char *algs[32], *lacks[32];
	size_t nalgs, nlacks;
};

/* The device's dictionary-attack protection (TPM_PT_LOCKOUT_* and
 * TPMA_PERMANENT inLockout): what `seckit doctor` reports. */
struct sk_da_state {
	uint32_t counter;        /* failed authorisations counted now */
	uint32_t max_tries;      /* failures before lockout (TPM_PT_MAX_AUTH_FAIL) */
	uint32_t interval;       /* seconds for one failure to be forgotten */
	uint32_t recovery;       /* seconds before the lockout hierarchy may retry */
	int locked_out;          /* in lockout: DA-protected objects refused */
};

/* Persistent handles a device holds at most, as listed. */
#define SK_MAX_HANDLES 128

/* A PolicyPCR digest an OEM key approved (TPM2_PolicyAuthorize): the
 * PCRs and values it is over, the digest, and the signature over aHash =
 * SHA-256(policy || ref) (ECDSA DER, or RSA PKCS#1 v1.5, SHA-256). */
struct sk_pcr_approval {
	enum sk_bank bank;
	uint32_t mask;
	const uint8_t (*vals)[SK_PCR_MAX_DIGEST];
	uint8_t composite[32];
	uint8_t policy[32];
	const uint8_t *ref, *sig;
	size_t reflen, siglen;
};

/*
 * What a loaded key may sign with, when its device restricts it (a PKCS#11
 * key's CKA_ALLOWED_MECHANISMS, the token's mechanisms).  Per scheme
 * (SK_SIG_PLAIN: ECDSA or RSA PKCS#1 v1.5; SK_SIG_PSS: RSA-PSS), md is
 * the digests allowed (bit sk_sig_md_bit) and msg those of them that the
 * device signs only over the whole message (a hash-and-sign mechanism such
 * as CKM_SHA384_RSA_PKCS_PSS: ops sign_msg, not sign).  A scheme with md 0
 * is not allowed at all: why says what lacks ("token 'x' lacks
 * CKM_RSA_PKCS_PSS").
 */
enum { SK_SIG_PLAIN, SK_SIG_PSS };
#define SK_SIG_MD_ALL 0x1fu     /* SHA-1, SHA-224, SHA-256, SHA-384, SHA-512 */
struct sk_sig_limits {
	unsigned md[2], msg[2];
	char why[2][160];
};
/* The bit of md among SK_SIG_MD_ALL, 0 for another digest. */
unsigned sk_sig_md_bit(const EVP_MD *md);
/* The name OpenSSL fetches the digest of one bit by ("SHA2-384"); NULL
 * for anything but one bit. */
const char *sk_sig_md_fetch_name(unsigned bit);
/* "SHA-256, SHA-384" for the bits of mask (buf of n bytes). */
const char *sk_sig_md_names(unsigned mask, char *buf, size_t n);

/* What a device with its own catalogue of keys (ops key_find) says of
 * one of them. */
struct sk_devkey_attrs {
	int extractable; /* 1: it would give the private key out (pkcs11:
			  * CKA_EXTRACTABLE, or not CKA_SENSITIVE) */
	int local;       /* 1: made in the device, 0: brought into it (pkcs11:
			  * CKA_LOCAL), -1: the device does not say */
};

struct sk_backend_ops {
	const char *name;
	int (*open)(const struct sk_backend_cfg *cfg, struct sk_backend **out);
	void (*close)(struct sk_backend *be);
	/* What this backend can do with keys of type kt (enum sk_cap bits). */
	unsigned (*caps)(struct sk_backend *be, const struct sk_keytype *kt);

	/* New key: blob to keep in the store, and the public key (EC/RSA).
	 * auth: NULL, or (backends with auth_new only) the key's
	 * authorisation value. */
	int (*generate)(struct sk_backend *be, const struct sk_keytype *kt, int exportable,
			const struct sk_auth *auth, struct sk_buf *blob, EVP_PKEY **pub);
	/* Existing material: priv for EC/RSA, raw bytes for AES/HMAC. */
	int (*import)(struct sk_backend *be, const struct sk_keytype *kt, EVP_PKEY *priv,
		      const uint8_t *raw, size_t rawlen, int exportable,
		      const struct sk_auth *auth, struct sk_buf *blob);
	/* auth: the value the key was made with (NULL: none).  It is not
	 * checked here: each operation presents it, and a wrong one fails
	 * there with SK_EAUTH. */
	int (*load)(struct sk_backend *be, const struct sk_keytype *kt, const uint8_t *blob,
		    size_t n, const struct sk_auth *auth, struct sk_bkey **out);
	void (*unload)(struct sk_bkey *k);
	/* Forget whatever the backend holds for this blob (token objects,
	 * persistent handles); nothing for the soft backend. */
	int (*destroy)(struct sk_backend *be, const struct sk_keytype *kt, const uint8_t *blob,
		       size_t n);

	/* Private-key operations on a loaded key. */
	int (*sign)(struct sk_bkey *k, const EVP_MD *md, int pss, const uint8_t *dgst,
		    size_t dlen, struct sk_buf *sig);
	/* The key's limits (struct sk_sig_limits); NULL: it signs whatever
	 * its type can.  sign_msg signs the message msg itself, hashed by the
	 * device with md: for the digests of limits' msg (NULL: none). */
	int (*sig_limits)(struct sk_bkey *k, struct sk_sig_limits *out);
	int (*sign_msg)(struct sk_bkey *k, const EVP_MD *md, int pss, const uint8_t *msg,
			size_t n, struct sk_buf *sig);
	int (*decrypt)(struct sk_bkey *k, const EVP_MD *oaep_md, const uint8_t *in, size_t n,
		       struct sk_buf *out);
	int (*derive)(struct sk_bkey *k, EVP_PKEY *peer, struct sk_buf *secret);
	int (*cipher)(struct sk_bkey *k, enum sk_cipher_mode mode, int enc, const uint8_t *iv,
		      size_t ivlen, struct sk_symop **out);
	int (*mac)(struct sk_bkey *k, struct sk_symop **out);
	/* Only for keys created exportable: EC/RSA into *priv, AES/HMAC into raw. */
	int (*export_private)(struct sk_bkey *k, EVP_PKEY **priv, struct sk_buf *raw);

	/* Seal a small secret (the store's master key) so that only this
	 * backend can recover it: a TPM sealed-data object.  NULL when the
	 * backend has nothing to seal with (soft). */
	int (*seal)(struct sk_backend *be, const uint8_t *secret, size_t n, struct sk_buf *blob);
	int (*unseal)(struct sk_backend *be, const uint8_t *blob, size_t n, struct sk_buf *secret);
	/* Seal a small secret (a store object's data key) to the current
	 * values of the PCRs of mask in bank: a TPM data object usable only
	 * through a SHA-256 policy session that ran TPM2_PolicyPCR over those
	 * values (no password use).  vals[n] receives PCR n's value sealed to;
	 * with given, vals holds the values to seal to instead (predicted
	 * ones: the object opens once the PCRs reach them, not before).
	 * SK_EUNSUPP when the TPM's bank lacks one of the PCRs.  unseal_pcr
	 * runs that policy over the current values (cur receives them):
	 * SK_EVERIFY when they are not the sealed ones.  NULL for a backend
	 * without PCRs. */
	int (*seal_pcr)(struct sk_backend *be, enum sk_bank bank, uint32_t mask,
			const uint8_t *secret, size_t n, struct sk_buf *blob,
			uint8_t vals[SK_PCR_COUNT][SK_PCR_MAX_DIGEST], int given);
	int (*unseal_pcr)(struct sk_backend *be, const uint8_t *blob, size_t n, enum sk_bank bank,
			  uint32_t mask, struct sk_buf *secret,
			  uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST]);
	/* Seal a small secret under TPM2_PolicyAuthorize by the OEM's
	 * public key oem (EC P-256/P-384 or RSA): whatever PolicyPCR digest
	 * the OEM signs opens it, so an update's values need a signature,
	 * not a new seal.  unseal_authorized presents one (struct
	 * sk_pcr_approval): PolicyPCR over the approved values (SK_EVERIFY
	 * when the PCRs do not hold them; cur receives the current ones),
	 * TPM2_VerifySignature with oem (SK_EVERIFY for a signature of
	 * another key or over other values), PolicyAuthorize, unseal.  NULL
	 * for a backend without PCRs. */
	int (*seal_authorized)(struct sk_backend *be, EVP_PKEY *oem, const uint8_t *secret,
			       size_t n, struct sk_buf *blob);
	int (*unseal_authorized)(struct sk_backend *be, const uint8_t *blob, size_t n, EVP_PKEY *oem,
				 const struct sk_pcr_approval *ap, struct sk_buf *secret,
				 uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST]);
	/* The store's sealed master key kept in the device (NULL: a
	 * backend whose sealed blobs are loaded each time).  persist makes
	 * the object of seal's or seal_pcr's blob persistent (a free TPM
	 * handle, docs/formats/store.md) and gives the blob that unseal and
	 * unseal_pcr take for it from then on: it names the object and
	 * keeps the public area of the parent the unseal's session is salted
	 * to, so unsealing needs neither a load nor a look-up.  release
	 * removes the persistent object of such a blob (SK_OK for another
	 * blob).  sealed_handle: the persistent handle of a blob, 0 for one
	 * loaded each time; no device is asked. */
	int (*persist)(struct sk_backend *be, const uint8_t *blob, size_t n, struct sk_buf *out);
	int (*release)(struct sk_backend *be, const uint8_t *blob, size_t n);
	int (*sealed_handle)(const uint8_t *blob, size_t n, uint32_t *h);

	/* Password objects the backend checks (NULL for backends that
	 * cannot: their password objects are checked in software).
	 * auth_new makes a check object, a blob that auth_check accepts only
	 * with the same value; auth_check returns SK_EAUTH for a wrong value
	 * (counted like a key's), SK_EBACKEND while the backend refuses every
	 * attempt (TPM lockout). */
	int (*auth_new)(struct sk_backend *be, const struct sk_auth *auth, struct sk_buf *blob);
	int (*auth_check)(struct sk_backend *be, const struct sk_auth *auth, const uint8_t *blob,
			  size_t n);

	/* Public-key operation; backends without a hardware verifier use
	 * sk_backend_verify_default. */
	int (*verify)(struct sk_backend *be, EVP_PKEY *pub, const EVP_MD *md, int pss,
		      const uint8_t *dgst, size_t dlen, const uint8_t *sig, size_t siglen);

	/* The device itself, reached through cfg without opening the
	 * backend for keys (no parent key made or looked up).  NULL for a
	 * backend without a device (soft).  SK_EBACKEND: not reachable. */
	int (*device_info)(const struct sk_backend_cfg *cfg, struct sk_device_info *out);
	/* Its dictionary-attack state, reached the same way (NULL: none). */
	int (*da_state)(const struct sk_backend_cfg *cfg, struct sk_da_state *out);
	/* Persistent object handles in the device (TPM 0x81xxxxxx), ascending,
	 * at most SK_MAX_HANDLES. */
	int (*handles)(const struct sk_backend_cfg *cfg, uint32_t *h, size_t *n);
	/* Remove persistent handle h (SK_ENOTFOUND if the device has none). */
	int (*evict)(const struct sk_backend_cfg *cfg, uint32_t h);

	/*
	 * Backends whose device keeps its own catalogue of keys (pkcs11: the
	 * token's objects, named by CKA_LABEL): the device, not the store,
	 * says which keys exist, so keys made by other tools are seckit keys
	 * too (keys.c asks these after the store).  NULL for the others.
	 * The blobs they give are for load and destroy in this run only.
	 * key_find: the key called name (or a URI naming it): its type,
	 * public key and blob; SK_ENOTFOUND if none, SK_EEXIST if name
	 * matches more than one key (never a silent pick).  pub NULL: the
	 * key is only to be used (a signature), its public key is not needed
	 * and the device need not read it.  attrs (may be NULL): what the
	 * device says of the key (struct sk_devkey_attrs).
	 * key_list: every key, in the device's order, with what the device
	 * says of it.
	 * key_create: a new key called name, made in the device.
	 * A secret key (AES, HMAC) has no public key: pub NULL.
	 */
	int (*key_find)(struct sk_backend *be, const char *name, const struct sk_keytype **kt,
			EVP_PKEY **pub, struct sk_buf *blob, struct sk_devkey_attrs *attrs);
	int (*key_list)(struct sk_backend *be,
			int (*fn)(const char *name, const struct sk_keytype *kt, EVP_PKEY *pub,
				  const struct sk_devkey_attrs *attrs, void *arg),
			void *arg);
	int (*key_create)(struct sk_backend *be, const char *name, const struct sk_keytype *kt,
			  EVP_PKEY **pub);
	/* key_import: an existing key into the device as name: priv for
	 * EC/RSA, raw bytes for AES/HMAC. */
	int (*key_import)(struct sk_backend *be, const char *name, const struct sk_keytype *kt,
			  EVP_PKEY *priv, const uint8_t *raw, size_t rawlen);
	/*
	 * Certificates the device keeps beside its keys (pkcs11:
	 * CKO_CERTIFICATE objects, named by CKA_LABEL and tied to their key
	 * by its CKA_ID); NULL for the others.  key (256 bytes) receives the
	 * name of the key a certificate belongs to, "" if none.
	 * cert_find: the certificate called name, else the one of the key
	 * called name: its DER; SK_ENOTFOUND if none, SK_EEXIST if name
	 * matches two.
	 * cert_list: every X.509 certificate with a name.
	 * cert_put: certificate der as name, beside the key that holds its
	 * public key; SK_ENOTFOUND if no key of the device does; a
	 * certificate called name is replaced with replace only (else
	 * SK_EEXIST); *changed 0 if the device held that one already.
	 */
	int (*cert_find)(struct sk_backend *be, const char *name, struct sk_buf *der,
			 char *key);
	int (*cert_list)(struct sk_backend *be,
			 int (*fn)(const char *name, const uint8_t *der, size_t n, const char *key,
				   void *arg),
			 void *arg);
	int (*cert_put)(struct sk_backend *be, const char *name, const uint8_t *der, size_t n,
			int replace, char *key, int *changed);
	/* n random bytes from the device's generator; NULL: none. */
	int (*random)(struct sk_backend *be, uint8_t *p, size_t n);
};

struct sk_backend {
	const struct sk_backend_ops *ops;
};

/* A backend chosen but not opened yet: open() opens it (or returns the one
 * opened before) when it is first needed, so that a function that may not
 * need it (a transaction that writes no key record) costs no TPM
 * connection.  The context makes one (sk_ctx_backend_ref, ctx.h). */
struct sk_backend_ref {
	int (*open)(void *arg, struct sk_backend **out);
	void *arg;
};

/*
 * Every backend the program knows, built into this binary or not, in the
 * order --version and messages list them.  The names --backend,
 * $SECKIT_BACKEND and the config's `backend:` accept, the completion of
 * --backend and --version's list all come from this one list.
 */
#define SK_BACKEND_LIST(X, SEP) X(soft) SEP X(tpm2) SEP X(pkcs11)
#define SK_BACKEND_NAME_(n) #n
/* "soft tpm2 pkcs11" */
#define SK_BACKEND_NAMES SK_BACKEND_LIST(SK_BACKEND_NAME_, " ")

struct sk_backend_entry {
	const char *name;
	const struct sk_backend_ops *ops; /* NULL: not in this build */
	/* The master-key protection this backend seals with (the value a
	 * store records, store.h enum sk_mk_protection), 0 if it cannot seal.
	 * Known whether or not the backend is built in, so that a store or a
	 * config naming it is understood (and refused) in any build. */
	int seals;
};
/* The list above as a table; name NULL ends it. */
extern const struct sk_backend_entry sk_backend_table[];
/* The names alone, NULL-terminated (for sk_y_enum). */
extern const char *const sk_backend_names[];

/*
 * Who seals a store's master key is a capability of the backend (the
 * table's seals and the seal/unseal operations), never its name: these
 * look the backend up in the table.  They are the only places besides
 * sk_backend_check/open that compare a backend's name.
 */
/* 1 if be is the backend called name (a name recorded with a key or a
 * password object), else 0. */
int sk_backend_is(const struct sk_backend *be, const char *name);
/* The protection backend name (or the open backend be) seals with, 0 when
 * it cannot seal or the name is unknown. */
int sk_backend_seals(const char *name);
int sk_backend_protection(const struct sk_backend *be);
/* The entry of the backend that seals with protection, NULL if none. */
const struct sk_backend_entry *sk_backend_sealer(int protection);
/* 1 if a backend built into this binary can seal. */
int sk_backend_can_seal(void);
/* Open the backend that seals with protection: SK_EUNSUPP when no
 * backend does, else as sk_backend_open. */
int sk_backend_open_sealer(int protection, const struct sk_backend_cfg *cfg,
			   struct sk_backend **out);

/* The table's entry of backend name, NULL for a name it does not know. */
const struct sk_backend_entry *sk_backend_entry(const char *name);
/* SK_OK when backend name is built in; otherwise the error open would
 * give (SK_EBACKEND: known but not built, SK_EUSAGE: unknown). */
int sk_backend_check(const char *name);
/* Open a backend by name: SK_EUSAGE for an unknown name, SK_EBACKEND when
 * it is not built in or not reachable. */
int sk_backend_open(const char *name, const struct sk_backend_cfg *cfg, struct sk_backend **out);
void sk_backend_close(struct sk_backend *be);
/* The backend of this build whose device has persistent handles (ops
 * handles and evict); NULL with SK_EBACKEND set if none is built in. */
const struct sk_backend_entry *sk_backend_with_handles(void);
/* 1 if the backend called name is built in and keeps its objects under
 * persistent handles (a key recorded with it uses the configured parent). */
int sk_backend_has_handles(const char *name);

/* 1 if the backend called name is built in and keeps its own catalogue
 * of keys (ops key_find): keys.c asks it for names the store lacks. */
int sk_backend_has_catalogue(const char *name);

/* 1 if the backend called name is built in and has a random generator
 * (ops random). */
int sk_backend_has_random(const char *name);

/* Verify a signature over a digest with a public key (EVP). */
int sk_backend_verify_default(struct sk_backend *be, EVP_PKEY *pub, const EVP_MD *md, int pss,
			      const uint8_t *dgst, size_t dlen, const uint8_t *sig, size_t siglen);
/* Signature padding set-up shared by backends that use EVP. */
int sk_pkey_ctx_sig_setup(EVP_PKEY_CTX *pctx, EVP_PKEY *key, const EVP_MD *md, int pss, int verify);
/* A context for RSA-OAEP with key (md for OAEP and MGF1), set up to encrypt
 * (encrypt = 1) or decrypt; NULL with SK_EFAIL set if it cannot be. */
EVP_PKEY_CTX *sk_pkey_ctx_oaep(EVP_PKEY *key, const EVP_MD *md, int encrypt);
/* RSA-OAEP encryption with a public key (SHA-256 and MGF1-SHA-256 unless md). */
int sk_pkey_encrypt_oaep(EVP_PKEY *pub, const EVP_MD *md, const uint8_t *in, size_t n,
			 struct sk_buf *out);

extern const struct sk_backend_ops sk_soft_backend;
#ifdef SECKIT_HAVE_TPM2
extern const struct sk_backend_ops sk_tpm2_backend;
#endif
#ifdef SECKIT_HAVE_PKCS11
extern const struct sk_backend_ops sk_pkcs11_backend;
#endif

#endif
