/* SPDX-License-Identifier: MIT */
#ifndef SK_PKCS11_INT_H
#define SK_PKCS11_INT_H

/*
 * Internals of the pkcs11 backend, shared by its files:
 *   be_pkcs11.c    the backend operations (the sk_pkcs11_backend table):
 *                  opening and closing, keys as token objects (finding,
 *                  listing, deleting), signing, decryption, ECDH, random
 *   pkcs11_keygen.c keys generated on the token or imported into it
 *   pkcs11_sym.c   AES (CBC, CTR, GCM, CMAC) and HMAC with secret keys
 *   pkcs11_cert.c  certificates as CKO_CERTIFICATE objects
 *   pkcs11_obj.c   token objects: searching, attributes, public keys, the
 *                  private keys that are seckit keys
 *   pkcs11_mech.c  signature mechanisms: what a key may sign with
 *                  (CKA_ALLOWED_MECHANISMS), hash-and-sign mechanisms,
 *                  DigestInfo and ECDSA encodings
 *   pkcs11_session.c the module (dlopen, C_Initialize), the token, the
 *                  login
 *   pkcs11_err.c   return values -> exit codes and messages; mechanisms;
 *                  the module's stderr muted around its calls (P11)
 *   pkcs11_uri.c   RFC 7512 PKCS#11 URIs (the token and object parts), and
 *                  which token a URI or a label/serial/slot names
 * Calls go down that list only.
 * The PKCS#11 types come from p11-kit's pkcs11.h (libp11-kit-dev): a
 * header only, under a permissive licence; seckit links nothing of
 * p11-kit and loads the module itself with dlopen.  Nothing else includes
 * this; the API is backend.h.
 */
#ifdef SECKIT_HAVE_PKCS11

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include <p11-kit/pkcs11.h>

#include "backend/backend.h"
#include "base/util.h"

struct p11_backend {
	struct sk_backend base;
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	int initialized;             /* we called C_Initialize (and will finalize) */
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	int logged_in;
	CK_TOKEN_INFO ti;
	char label[33];              /* the token's label, trimmed */
	CK_MECHANISM_TYPE *mechs;    /* C_GetMechanismList, read at the */
	CK_ULONG nmechs;             /* first sk_p11_need_mech */
	int mechs_read;
	int (*pin)(void *arg, const char *what, struct sk_buf *pin);
	void *pin_arg;
	struct sk_buf pin_buf;       /* the PIN that logged the user in, for */
	int pin_kept;                /* context-specific logins; cleansed at close */
	int mute;                    /* fd 2 to /dev/null while the module runs */
	int null_fd, saved_err;      /* -1: not open / not redirected */
};

/* A key's CKA_ALLOWED_MECHANISMS: n 0 when it lists none (or more
 * than seckit keeps: then not taken as a restriction). */
#define SK_P11_MAX_ALLOWED 64
struct sk_p11_allowed {
	size_t n;
	CK_MECHANISM_TYPE m[SK_P11_MAX_ALLOWED];
};

/* A key on the token, as keys.c sees it. */
struct sk_p11_key {
	char name[256];
	const struct sk_keytype *kt;
	EVP_PKEY *pub;
	CK_OBJECT_HANDLE priv, pubh;   /* pubh: CK_INVALID_HANDLE if not looked up */
	int always_auth;               /* CKA_ALWAYS_AUTHENTICATE */
	int extractable;               /* CKA_EXTRACTABLE, or not CKA_SENSITIVE */
	int local;                     /* CKA_LOCAL (made on the token); -1: not said */
	struct sk_p11_allowed allowed; /* CKA_ALLOWED_MECHANISMS */
};

/* Keys made on the token or imported into it (pkcs11_keygen.c; backend.h
 * key_create, key_import): token objects named name, the private key
 * sensitive and not extractable, its public key beside it with the same
 * random CKA_ID. */
int sk_p11_key_create(struct p11_backend *be, const char *name, const struct sk_keytype *kt,
		      EVP_PKEY **pub);
int sk_p11_key_import(struct p11_backend *be, const char *name, const struct sk_keytype *kt,
		      EVP_PKEY *priv);
/* A secret key (AES, HMAC) named name: made on the token (raw NULL) or
 * the rawlen bytes at raw stored there; sensitive, not extractable. */
int sk_p11_secret_key(struct p11_backend *be, const char *name, const struct sk_keytype *kt,
		      const uint8_t *raw, size_t rawlen);

/* AES and HMAC with secret key object key (pkcs11_sym.c; backend.h
 * cipher and mac). */
int sk_p11_cipher(struct p11_backend *be, CK_OBJECT_HANDLE key, enum sk_cipher_mode mode,
		  int enc, const uint8_t *iv, size_t ivlen, struct sk_symop **out);
int sk_p11_mac(struct p11_backend *be, CK_OBJECT_HANDLE key, const struct sk_keytype *kt,
	       struct sk_symop **out);

/* Certificates on the token (pkcs11_cert.c; backend.h cert_find,
 * cert_list, cert_put; cert_put after a login). */
int sk_p11_cert_find(struct p11_backend *be, const char *name, struct sk_buf *der, char *key);
int sk_p11_cert_list(struct p11_backend *be,
		     int (*fn)(const char *name, const uint8_t *der, size_t n, const char *key,
			       void *arg),
		     void *arg);
int sk_p11_cert_put(struct p11_backend *be, const char *name, const uint8_t *der, size_t n,
		    int replace, char *key, int *changed);

/*
 * Every call into the module goes through P11(be, C_Name, args...): the
 * module's own diagnostics (tpm2-pkcs11 prints "ERROR: ..." lines and
 * tpm2-tss and GLib their warnings, whatever the call returns) would add
 * lines to seckit's one-line error, so unless -v (be->mute clear) fd 2 is
 * /dev/null for the time of the call.  The comma operator orders the
 * redirection before the call; sk_p11_unmute passes the call's value on.
 */
#define P11(be, fn, ...) (sk_p11_mute(be), sk_p11_unmute((be), (be)->f->fn(__VA_ARGS__)))
void sk_p11_mute(struct p11_backend *be);
CK_RV sk_p11_unmute(struct p11_backend *be, CK_RV rv);

/* Signature mechanisms (pkcs11_mech.c).  What a key may sign with:
 * limits as backend.h's struct sk_sig_limits, and per scheme not allowed
 * the mechanism the token lacks (NULL: the key's list excludes it). */
struct sk_p11_limits {
	struct sk_sig_limits lim;
	const char *lacks[2];
};
int sk_p11_limits(struct p11_backend *be, enum sk_kind kind, const struct sk_p11_allowed *al,
		  struct sk_p11_limits *out);
/* SK_OK if a key of kind with limits l may sign a digest md made outside
 * the token (msg 0) or have the token hash the message (msg 1). */
int sk_p11_check_limits(struct p11_backend *be, enum sk_kind kind, const struct sk_p11_limits *l,
			const EVP_MD *md, int pss, int msg);
/* The hash-and-sign mechanism of md (CK_UNAVAILABLE_INFORMATION: none). */
CK_MECHANISM_TYPE sk_p11_sig_mech(enum sk_kind kind, int pss, const EVP_MD *md);
/* "ECDSA", "RSA PKCS#1 v1.5", "RSA-PSS" */
const char *sk_p11_scheme_name(enum sk_kind kind, int scheme);
/* The digest mechanism and MGF1 of md (CK_UNAVAILABLE_INFORMATION: none). */
CK_MECHANISM_TYPE sk_p11_hash_mech(const EVP_MD *md, CK_RSA_PKCS_MGF_TYPE *mgf);
/* The DigestInfo that PKCS#1 v1.5 signs, appended to out. */
int sk_p11_digest_info(const EVP_MD *md, const uint8_t *dgst, size_t dlen, struct sk_buf *out);
/* The token's ECDSA r || s as DER, appended to sig. */
int sk_p11_ecdsa_der(struct p11_backend *be, const struct sk_buf *raw, struct sk_buf *sig);

/* The module, the token, the login (pkcs11_session.c).  load_module:
 * dlopen and C_Initialize (be->f, be->initialized); find_token: the one
 * initialised token that spec (a label, serial or slot; NULL: any) or u
 * names, into be->slot, be->ti, be->label; login: as the user, once per
 * session (context 0), or for one operation (context 1:
 * CKA_ALWAYS_AUTHENTICATE), the PIN from be->pin; a context login after
 * a user login uses the user's PIN again (be->pin_buf) without asking. */
struct sk_p11_uri;
int sk_p11_load_module(struct p11_backend *be, const char *path);
int sk_p11_find_token(struct p11_backend *be, const char *spec, const struct sk_p11_uri *u);
int sk_p11_login(struct p11_backend *be, int context);

/* The exit code and message for a failed call (what failed, then the
 * token's word for it). */
int sk_p11_fail(struct p11_backend *be, CK_RV rv, const char *what);
/* "CKR_PIN_INCORRECT" ..., NULL for a value without a name here. */
const char *sk_p11_rv_name(CK_RV rv);
const char *sk_p11_mech_name(CK_MECHANISM_TYPE m);
/* The mechanisms seckit uses that the token lists, and those it lacks. */
void sk_p11_mech_split(struct p11_backend *be, const char **has, size_t *nhas,
		       const char **lacks, size_t *nlacks, size_t max);
/* SK_OK if the token lists mechanism m, else SK_EUNSUPP naming it. */
int sk_p11_need_mech(struct p11_backend *be, CK_MECHANISM_TYPE m, const char *what);
/* 1 if the token lists mechanism m (or lists none), 0 if not, -1 when
 * the list cannot be read (no error left set). */
int sk_p11_has_mech(struct p11_backend *be, CK_MECHANISM_TYPE m);

/* Every object matching tmpl, into *h (malloc'ed), *n of them. */
int sk_p11_find_objects(struct p11_backend *be, CK_ATTRIBUTE *tmpl, CK_ULONG nt,
			CK_OBJECT_HANDLE **h, CK_ULONG *n);
/* One attribute (malloc'ed, NUL-terminated); SK_ENOTFOUND if absent or
 * sensitive. */
int sk_p11_get_attr(struct p11_backend *be, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t,
		    uint8_t **v, size_t *n);
/* Private-key object o as a key: label, type, public key (from o's
 * CKA_PUBLIC_KEY_INFO or public attributes, else its partner object's, by
 * CKA_ID or label), CKA_ALWAYS_AUTHENTICATE.  SK_EUNSUPP for a key seckit
 * has no type for. */
int sk_p11_describe(struct p11_backend *be, CK_OBJECT_HANDLE o, struct sk_p11_key *k);
/* The same for a key that is only to be used (a signature): the type from
 * o's own CKA_EC_PARAMS or CKA_MODULUS when they give one, and then no
 * public key is read, decoded or searched for (k->pub stays NULL);
 * otherwise as sk_p11_describe. */
int sk_p11_describe_type(struct p11_backend *be, CK_OBJECT_HANDLE o, struct sk_p11_key *k);
/* The public-key object beside private key o (CK_INVALID_HANDLE: none). */
int sk_p11_find_partner(struct p11_backend *be, CK_OBJECT_HANDLE o, CK_OBJECT_HANDLE *out);
/* pub as o's CKA_PUBLIC_KEY_INFO (a token that refuses it: no change). */
void sk_p11_set_pub_info(struct p11_backend *be, CK_OBJECT_HANDLE o, EVP_PKEY *pub);
/* A key's blob for load and destroy in this run: its object handles
 * (pub CK_INVALID_HANDLE when describe did not need it), whether it
 * wants a login at each use, and its allowed mechanisms (read with its
 * other attributes: no call of its own at each use).  allowed may be
 * NULL. */
int sk_p11_blob_of(const struct sk_p11_key *k, struct sk_buf *blob);
int sk_p11_blob_parse(const uint8_t *blob, size_t n, CK_OBJECT_HANDLE *priv,
		      CK_OBJECT_HANDLE *pub, int *always_auth, struct sk_p11_allowed *allowed);

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
/* A token-info field (blank-padded, not terminated) as a string. */
void sk_p11_trim(char *out, const CK_UTF8CHAR *in, size_t n);
/* Does the token in slot match what was asked for: a label, serial or
 * slot number (spec; NULL: any), or the token part of a URI (u)? */
int sk_p11_token_matches(const CK_TOKEN_INFO *ti, CK_SLOT_ID slot, const char *spec,
			 const struct sk_p11_uri *u);

#endif /* SECKIT_HAVE_PKCS11 */
#endif
