/* SPDX-License-Identifier: MIT */
#ifndef SK_TPM2_INT_H
#define SK_TPM2_INT_H

/*
 * Internals of the tpm2 backend, shared by its files:
 *   be_tpm2.c      the backend operations (the sk_tpm2_backend table):
 *                  open, keys, private-key operations, HMAC, sealing,
 *                  password check objects
 *   tpm2_aes.c     AES with a TPM key: CBC and CTR, and GCM and CMAC
 *                  built on the host around the TPM's AES
 *   tpm2_load.c    tpm2-tss, loaded with dlopen() on first use
 *   tpm2_err.c     TSS and TPM response codes -> exit codes and messages
 *   tpm2_auth.c    authorisation: values, HMAC sessions, dictionary-attack
 *                  lockout messages
 *   tpm2_object.c  TPM objects: templates, public areas, blobs, creating,
 *                  importing and sealing under the parent
 *   tpm2_device.c  the TPM itself: connecting through the TCTI, its
 *                  properties and algorithms, persistent handles, evicting
 *   tpm2_pcr.c     PCRs: banks, reading, extending, the boot counters
 *                  (the API is tpm.h, not the backend's ops), and the
 *                  backend's data sealed to PCR values (seal_pcr)
 *   tpm2_nv.c      NV indices gated by a PCR policy (tpm.h)
 *   tpm2_persist.c the store's sealed master key as a persistent object:
 *                  made persistent once, unsealed with no load and no
 *                  TPM2_ReadPublic (the parent's public area is kept)
 * Calls go down that list only (be_tpm2 -> aes -> auth -> err,
 * be_tpm2 -> object -> auth, be_tpm2 -> device -> auth, nv -> pcr ->
 * device, be_tpm2 -> pcr -> object, be_tpm2 -> persist -> pcr,
 * object, device, auth; load stands alone).  Nothing else
 * includes this; the APIs are backend.h and tpm.h.
 */
#ifdef SECKIT_HAVE_TPM2

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "backend/backend.h"

/* The persistent handle range.  tpm2-tss's TPM2_PERSISTENT_FIRST and
 * _LAST shift the UINT8 0x81 by 24 as an int, into its sign bit:
 * undefined behaviour (the sanitizer build stops on it).  The same values,
 * unsigned. */
#define SK_TPM2_PERSISTENT_FIRST 0x81000000u
#define SK_TPM2_PERSISTENT_LAST 0x81ffffffu

/* ---- the library, loaded on demand ---- */

#define TSS_FUNCS(X) \
	X(esys, Esys_Initialize) \
	X(esys, Esys_Finalize) \
	X(esys, Esys_Free) \
	X(esys, Esys_Startup) \
	X(esys, Esys_CreatePrimary) \
	X(esys, Esys_Create) \
	X(esys, Esys_Load) \
	X(esys, Esys_Import) \
	X(esys, Esys_FlushContext) \
	X(esys, Esys_TR_FromTPMPublic) \
	X(esys, Esys_TR_Close) \
	X(esys, Esys_TR_Deserialize) \
	X(esys, Esys_TR_Serialize) \
	X(esys, Esys_TR_GetTpmHandle) \
	X(esys, Esys_TestParms) \
	X(esys, Esys_Sign) \
	X(esys, Esys_RSA_Decrypt) \
	X(esys, Esys_ECDH_ZGen) \
	X(esys, Esys_EncryptDecrypt2) \
	X(esys, Esys_HMAC_Start) \
	X(esys, Esys_SequenceUpdate) \
	X(esys, Esys_SequenceComplete) \
	X(esys, Esys_Unseal) \
	X(esys, Esys_StartAuthSession) \
	X(esys, Esys_TRSess_SetAttributes) \
	X(esys, Esys_TR_SetAuth) \
	X(esys, Esys_GetCapability) \
	X(esys, Esys_EvictControl) \
	X(esys, Esys_PCR_Extend) \
	X(esys, Esys_PCR_Read) \
	X(esys, Esys_ReadClock) \
	X(esys, Esys_PolicyPCR) \
	X(esys, Esys_NV_DefineSpace) \
	X(esys, Esys_NV_UndefineSpace) \
	X(esys, Esys_NV_Write) \
	X(esys, Esys_NV_Read) \
	X(esys, Esys_NV_ReadPublic) \
	X(esys, Esys_LoadExternal) \
	X(esys, Esys_VerifySignature) \
	X(esys, Esys_PolicyAuthorize) \
	X(esys, Esys_TR_GetName) \
	X(tctildr, Tss2_TctiLdr_Initialize) \
	X(tctildr, Tss2_TctiLdr_Finalize) \
	X(mu, Tss2_MU_TPM2B_PUBLIC_Marshal) \
	X(mu, Tss2_MU_TPM2B_PUBLIC_Unmarshal) \
	X(mu, Tss2_MU_TPM2B_PRIVATE_Marshal) \
	X(mu, Tss2_MU_TPM2B_PRIVATE_Unmarshal) \
	X(mu, Tss2_MU_TPM2B_SENSITIVE_Marshal) \
	X(rc, Tss2_RC_Decode)

struct tss {
	void *esys, *tctildr, *mu, *rc;
#define X(lib, fn) __typeof__(fn) *fn;
	TSS_FUNCS(X)
#undef X
};

struct tpm_backend {
	struct sk_backend base;
	struct tss t;
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	ESYS_TR parent;
	int parent_transient;   /* created here: flush on close */
	/* A persistent parent (tpm2-parent): its handle, and whether
	 * ESAPI knows its public area yet.  Loading and creating under it
	 * need only the handle (the TPM checks that the blob was made under
	 * the key at that handle); a salted session needs the public key,
	 * read then (TPM2_ReadPublic) and not before. */
	uint32_t parent_handle;
	int parent_public;
	int loaded;             /* t holds the loaded libraries */
	int tcti_fuzz;          /* tcti is the fuzz harness's (make fuzz) */
	char tcti_conf[256];
};

struct sk_bkey {
	struct tpm_backend *be;
	const struct sk_keytype *kt;
	ESYS_TR handle;
	TPM2B_PUBLIC pub;
	int has_auth;           /* made with an authorisation value */
	ESYS_TR session;        /* its HMAC session, started on first use */
	char label[300];        /* whose value ("password object 'pin'") */
};
/* ---- tpm2_load.c ---- */

/* dlopen() the tss2 libraries and resolve every TSS_FUNCS entry into t
 * (SK_EBACKEND, and nothing loaded, if one is missing); unload again. */
int sk_tpm2_load_libs(struct tss *t);
void sk_tpm2_unload_libs(struct tss *t);

/* ---- tpm2_err.c ---- */

/* r without the parameter, handle or session number of format-one codes. */
TSS2_RC sk_tpm2_base_rc(TSS2_RC r);
/* Record the failure r of what (tpm2-tools' habit: one place maps a
 * response code onto an exit code) and return that code. */
int sk_tpm2_err(struct tpm_backend *be, TSS2_RC r, const char *what);
/* The same for loading a blob: an integrity failure says that another
 * TPM or parent made it. */
int sk_tpm2_load_err(struct tpm_backend *be, TSS2_RC r, const char *what);

/* ---- tpm2_auth.c ---- */

/* The parent with its public area, which salting a session to it needs
 * (TPM2_ReadPublic of a persistent parent, once per run). */
int sk_tpm2_parent_public(struct tpm_backend *be);

/* A failed use of an object with an authorisation value, whose owner is
 * label ("password object 'pin'"): a wrong value (with the tries left), a
 * TPM in lockout (with how long to wait), or sk_tpm2_err. */
int sk_tpm2_auth_err(struct tpm_backend *be, TSS2_RC r, const char *what, const char *label);
/* A failed private-key operation on k. */
int sk_tpm2_key_err(struct sk_bkey *k, TSS2_RC r, const char *what);
/* Start an HMAC session salted to the parent (flush it when done). */
int sk_tpm2_start_session(struct tpm_backend *be, ESYS_TR *s);
/* The same for one command whose answer is a secret: the answer comes
 * back encrypted under the session key; the TPM flushes the session when
 * the command succeeds (flush it after a failure). */
int sk_tpm2_start_encrypt_session(struct tpm_backend *be, ESYS_TR *s);
/* The session that authorises a use of k (ESYS_TR_PASSWORD for a key
 * without a value; else k's own, started on first use). */
int sk_tpm2_key_session(struct sk_bkey *k, ESYS_TR *s);
/* The TPM authorisation value of auth (NULL: the empty value). */
void sk_tpm2_set_auth(TPM2B_AUTH *a, const struct sk_auth *auth);
/* A policy session (SHA-256, kept until flushed: the caller flushes it)
 * that has run TPM2_PolicyPCR over the PCRs of mask in bank (a TPM
 * algorithm id).  composite NULL: the TPM's current values, so that an
 * object whose authPolicy is PolicyPCR(golden) opens only while the PCRs
 * hold the golden values; else the 32-byte composite digest (pcr.h) the
 * PCRs must have (TPM_RC_VALUE at once when they do not).  encrypt: for
 * an unseal, salted to the parent and encrypting the secret answered
 * (TPMA_SESSION_ENCRYPT, AES-128-CFB); else unsalted, with no parent. */
/* Load a sealed object and unseal it in policy session sess (both
 * flushed); a policy sess does not satisfy: SK_EVERIFY "tpm2: policy_fail". */
int sk_tpm2_unseal_under(struct tpm_backend *be, TPM2B_PUBLIC *pub, TPM2B_PRIVATE *priv,
			 ESYS_TR sess, const char *policy_fail, struct sk_buf *secret);
int sk_tpm2_policy_pcr_session(struct tpm_backend *be, TPMI_ALG_HASH bank, uint32_t mask,
			       const uint8_t *composite, int encrypt, ESYS_TR *s);

/* ---- tpm2_device.c ---- */

/* Reach the TPM of cfg: load tss2, the TCTI, ESAPI (be zeroed first; no
 * parent).  sk_tpm2_disconnect undoes what was done, also after a failure. */
int sk_tpm2_connect(struct tpm_backend *be, const struct sk_backend_cfg *cfg);
void sk_tpm2_disconnect(struct tpm_backend *be);
/* The backend's device_info, handles and evict operations (backend.h). */
int sk_tpm2_device_info(const struct sk_backend_cfg *cfg, struct sk_device_info *out);
int sk_tpm2_handles(const struct sk_backend_cfg *cfg, uint32_t *h, size_t *n);
int sk_tpm2_da_state(const struct sk_backend_cfg *cfg, struct sk_da_state *out);
int sk_tpm2_evict(const struct sk_backend_cfg *cfg, uint32_t handle);
/* TPM2_GetCapability (*out to Esys_Free), starting a TPM nobody has
 * started yet (a bare simulator) once. */
int sk_tpm2_getcap(struct tpm_backend *be, TPM2_CAP cap, UINT32 prop, UINT32 count,
		   TPMI_YES_NO *more, TPMS_CAPABILITY_DATA **out);
/* The TPM's persistent handles, ascending, at most SK_MAX_HANDLES. */
int sk_tpm2_list_handles(struct tpm_backend *be, uint32_t *h, size_t *n);

/* ---- tpm2_aes.c ---- */

/* A cipher operation (backend.h) with the AES key k in mode: GCM takes a
 * 12-byte nonce, CBC and CTR a 16-byte IV. */
int sk_tpm2_cipher(struct sk_bkey *k, enum sk_cipher_mode mode, int enc, const uint8_t *iv,
		   size_t ivlen, struct sk_symop **out);
/* An AES-CMAC operation with the AES key k (16-byte MAC). */
int sk_tpm2_cmac(struct sk_bkey *k, struct sk_symop **out);

/* ---- tpm2_object.c ---- */

/* The first two bytes of every blob: format version, kind.  A loadable
 * blob (TPM2B_PUBLIC, TPM2B_PRIVATE) is BLOB_TRANSIENT; a sealed object
 * the TPM keeps at a persistent handle is BLOB_PERSISTENT (tpm2_persist.c). */
#define SK_TPM2_BLOB_VERSION 1
#define SK_TPM2_BLOB_TRANSIENT 1
#define SK_TPM2_BLOB_PERSISTENT 2

/* Bytes of a coordinate of an EC key type's field. */
size_t sk_tpm2_field_bytes(const struct sk_keytype *kt);
/* The TPM hash algorithm of a digest name (TPM2_ALG_NULL: none). */
TPMI_ALG_HASH sk_tpm2_hash_alg(const char *md);
/* The public template of a new key of type kt, made in the TPM or
 * imported, with an authorisation value (auth) or without (noDA). */
void sk_tpm2_key_template(const struct sk_keytype *kt, int imported, const struct sk_auth *auth,
			  TPM2B_PUBLIC *t);
/* A key blob (our version and kind, TPM2B_PUBLIC, TPM2B_PRIVATE) back
 * into its parts; SK_EVERIFY if malformed. */
int sk_tpm2_parse_blob(struct tpm_backend *be, const uint8_t *blob, size_t n, TPM2B_PUBLIC *pub,
		       TPM2B_PRIVATE *priv);
/* Create a key from template tmpl and sensitive data sens under the
 * parent: its blob, and (pub not NULL) its public key. */
int sk_tpm2_create(struct tpm_backend *be, const struct sk_keytype *kt, const TPM2B_PUBLIC *tmpl,
		   const TPM2B_SENSITIVE_CREATE *sens, struct sk_buf *blob, EVP_PKEY **pub);
/* Import the EC or RSA private key priv under the parent: its blob. */
int sk_tpm2_import_asym(struct tpm_backend *be, const struct sk_keytype *kt, EVP_PKEY *priv,
			const struct sk_auth *auth, struct sk_buf *blob);
/* Seal data (n bytes) in a data object under the parent, with
 * authorisation value auth (NULL: empty) and attrs beyond fixedTPM,
 * fixedParent and userWithAuth; what names it in errors. */
int sk_tpm2_create_sealed(struct tpm_backend *be, TPMA_OBJECT attrs, const struct sk_auth *auth,
			  const uint8_t *data, size_t n, const char *what, struct sk_buf *blob);
/* Seal data in a data object whose authPolicy is policy (SHA-256), usable
 * only through a policy session, noDA. */
int sk_tpm2_create_sealed_policy(struct tpm_backend *be, const uint8_t policy[32],
				 const uint8_t *data, size_t n, const char *what, struct sk_buf *blob);

/* ---- tpm2_pcr.c ---- */

/* The backend's seal_pcr and unseal_pcr operations (backend.h). */
int sk_tpm2_seal_pcr(struct sk_backend *b, enum sk_bank bank, uint32_t mask, const uint8_t *secret,
		     size_t n, struct sk_buf *blob, uint8_t vals[SK_PCR_COUNT][SK_PCR_MAX_DIGEST],
		     int given);
int sk_tpm2_unseal_pcr(struct sk_backend *b, const uint8_t *blob, size_t n, enum sk_bank bank,
		       uint32_t mask, struct sk_buf *secret,
		       uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST]);
/* Internal to tpm2_pcr.c and tpm2_authorize.c: the current values of the
 * PCRs of mask in bank (SK_EUNSUPP when the TPM lacks them). */
int sk_tpm2_pcr_current(struct tpm_backend *be, enum sk_bank bank, uint32_t mask,
			uint8_t vals[SK_PCR_COUNT][SK_PCR_MAX_DIGEST]);

/* ---- tpm2_persist.c ---- */

/* The backend's persist, release and sealed_handle operations (backend.h). */
int sk_tpm2_persist(struct sk_backend *b, const uint8_t *blob, size_t n, struct sk_buf *out);
int sk_tpm2_release(struct sk_backend *b, const uint8_t *blob, size_t n);
int sk_tpm2_sealed_handle(const uint8_t *blob, size_t n, uint32_t *h);
/* 1 if blob is a persistent sealed object's (BLOB_PERSISTENT). */
int sk_tpm2_blob_persistent(const uint8_t *blob, size_t n);
/* Unseal the persistent sealed object of blob in one session salted to
 * the parent whose public area the blob keeps: an HMAC session (mask 0),
 * or a policy session that runs PolicyPCR over the PCRs of mask in bank
 * (SK_EVERIFY when they do not hold the values sealed to; cur receives
 * the current ones then). */
int sk_tpm2_unseal_persistent(struct tpm_backend *be, const uint8_t *blob, size_t n,
			      enum sk_bank bank, uint32_t mask, struct sk_buf *secret,
			      uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST]);
/* The backend's unseal_pcr: a kept blob as above, else sk_tpm2_unseal_pcr. */
int sk_tpm2_unseal_pcr_any(struct sk_backend *b, const uint8_t *blob, size_t n, enum sk_bank bank,
			   uint32_t mask, struct sk_buf *secret,
			   uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST]);

/* ---- tpm2_authorize.c ---- */

/* The backend's seal_authorized and unseal_authorized (backend.h). */
int sk_tpm2_seal_authorized(struct sk_backend *b, EVP_PKEY *oem, const uint8_t *secret, size_t n,
			    struct sk_buf *blob);
int sk_tpm2_unseal_authorized(struct sk_backend *b, const uint8_t *blob, size_t n, EVP_PKEY *oem,
			      const struct sk_pcr_approval *ap, struct sk_buf *secret,
			      uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST]);

#endif /* SECKIT_HAVE_TPM2 */
#endif
