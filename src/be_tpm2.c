/* SPDX-License-Identifier: MIT */
/*
 * The tpm2 backend: private keys are TPM objects.  A key's blob is its
 * TPM2B_PUBLIC and TPM2B_PRIVATE, the private area wrapped by the TPM under
 * a storage primary key (the TCG "SRK" template, recreated from the owner
 * seed on each open, or a persistent handle named in the config), so the
 * blob is useless without this very TPM.  Signing, ECDH, RSA decryption,
 * AES and HMAC happen inside the TPM.
 *
 * tpm2-tss is loaded with dlopen() the first time this backend is opened:
 * every other command keeps the start-up cost of a static binary, and a
 * device without tpm2-tss installed still runs the soft backend.  The
 * function pointers are typed from the tss2 headers (__typeof__), so the
 * compiler checks every call as if the library were linked.
 *
 * Every object loaded is flushed again before the operation returns (the
 * key) or the backend closes (the primary): TPMs hold only a few loaded
 * objects (swtpm: three).
 */
#ifdef SECKIT_HAVE_TPM2

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "backend.h"
#include "crypto.h"
#include "err.h"

#define BLOB_VERSION 1
#define BLOB_TRANSIENT 1

#define DEFAULT_TCTI "device:/dev/tpmrm0"

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

static void unload_libs(struct tss *t)
{
	if (t->esys) dlclose(t->esys);
	if (t->tctildr) dlclose(t->tctildr);
	if (t->mu) dlclose(t->mu);
	if (t->rc) dlclose(t->rc);
	memset(t, 0, sizeof(*t));
}

static int load_libs(struct tss *t)
{
	static const struct {
		const char *file;
		size_t off;
	} libs[] = {
		{ "libtss2-esys.so.0", offsetof(struct tss, esys) },
		{ "libtss2-tctildr.so.0", offsetof(struct tss, tctildr) },
		{ "libtss2-mu.so.0", offsetof(struct tss, mu) },
		{ "libtss2-rc.so.0", offsetof(struct tss, rc) },
	};
	size_t i;

	/* tpm2-tss logs its own errors to stderr; seckit reports one line per
	 * failure itself.  TSS2_LOG set by the user still wins. */
	setenv("TSS2_LOG", "all+none", 0);
	for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		void **h = (void **)((char *)t + libs[i].off);

		*h = dlopen(libs[i].file, RTLD_NOW | RTLD_LOCAL);
		if (*h == NULL) {
			int rc = sk_err(SK_EBACKEND, "backend tpm2: cannot load %s (is tpm2-tss installed?)",
					libs[i].file);

			unload_libs(t);
			return rc;
		}
	}
#define X(lib, fn) \
	if ((*(void **)&t->fn = dlsym(t->lib, #fn)) == NULL) { \
		unload_libs(t); \
		return sk_err(SK_EBACKEND, "backend tpm2: %s missing from tpm2-tss", #fn); \
	}
	TSS_FUNCS(X)
#undef X
	return SK_OK;
}

/* The response code without the parameter, handle or session number that
 * format-one TPM codes carry. */
static TSS2_RC tpm_base_rc(TSS2_RC r)
{
	return (r & TPM2_RC_FMT1) ? (r & (TPM2_RC_FMT1 | 0x3f)) : r;
}

/* A failure below the TPM: the TCTI (socket, device), a resource manager,
 * or a response cut short.  Whatever the command was, the TPM did not
 * answer it, so nothing can be concluded about the object it was given. */
static int tpm_unreachable(TSS2_RC r)
{
	TSS2_RC base = r & ~TSS2_RC_LAYER_MASK;

	if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER)
		return 0;
	return base == TSS2_BASE_RC_IO_ERROR || base == TSS2_BASE_RC_NO_CONNECTION ||
	       base == TSS2_BASE_RC_TRY_AGAIN || base == TSS2_BASE_RC_MALFORMED_RESPONSE ||
	       base == TSS2_BASE_RC_INSUFFICIENT_RESPONSE;
}

/*
 * One place that turns a TSS/TPM response code into an exit code
 * (tpm2-tools' habit): authorisation failures are 5, algorithms or sizes
 * this TPM lacks are 6, no TPM at all, a TPM that stopped answering or one
 * out of resources (or in dictionary-attack lockout) is 4, an object that
 * fails the TPM's integrity check (another TPM's blob, tampered) is 7.
 */
static int tpm_code(TSS2_RC r)
{
	if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER) {
		switch (tpm_base_rc(r)) {
		case TPM2_RC_AUTH_FAIL:
		case TPM2_RC_BAD_AUTH:
			return SK_EAUTH;
		case TPM2_RC_INTEGRITY:
		case TPM2_RC_BINDING:
			return SK_EVERIFY;
		case TPM2_RC_OBJECT_MEMORY:
		case TPM2_RC_SESSION_MEMORY:
		case TPM2_RC_MEMORY:
		case TPM2_RC_OBJECT_HANDLES:
		case TPM2_RC_RETRY:
		case TPM2_RC_YIELDED:
		case TPM2_RC_TESTING:
		case TPM2_RC_LOCKOUT:
			return SK_EBACKEND;
		case TPM2_RC_KEY_SIZE:
		case TPM2_RC_CURVE:
		case TPM2_RC_SCHEME:
		case TPM2_RC_HASH:
		case TPM2_RC_SYMMETRIC:
		case TPM2_RC_ASYMMETRIC:
			return SK_EUNSUPP;
		}
		return SK_EFAIL;
	}
	if (tpm_unreachable(r) || (r & ~TSS2_RC_LAYER_MASK) == TSS2_BASE_RC_NOT_SUPPORTED)
		return SK_EBACKEND;
	return SK_EFAIL;
}

/* The message for a failed call: what failed, the decoded reason.  A TPM
 * that stopped answering says so and names the TCTI (the TSS's own text,
 * "IO failure", does not say which TPM). */
static int tpm_err(struct tpm_backend *be, TSS2_RC r, const char *what)
{
	const char *text = be->t.Tss2_RC_Decode ? be->t.Tss2_RC_Decode(r) : "unknown";

	if (tpm_unreachable(r))
		return sk_err(SK_EBACKEND, "tpm2: %s: no answer from the TPM through TCTI '%s' (%s, 0x%x)",
			      what, be->tcti_conf, text, (unsigned)r);
	return sk_err(tpm_code(r), "tpm2: %s: %s (0x%x)", what, text, (unsigned)r);
}

/* Loading a blob the TPM refuses: only an integrity failure means that it
 * was made by another TPM or under another parent (or was changed). */
static int tpm_load_err(struct tpm_backend *be, TSS2_RC r, const char *what)
{
	char msg[200];

	if (tpm_code(r) != SK_EVERIFY)
		return tpm_err(be, r, what);
	snprintf(msg, sizeof(msg), "%s (made by another TPM or under another parent: tpm2-parent?)",
		 what);
	return tpm_err(be, r, msg);
}

/* ---- dictionary-attack protection ----
 * A key or check object with an authorisation value (and no noDA) is
 * protected: each wrong value raises the TPM's failure counter, and at
 * TPM_PT_MAX_AUTH_FAIL the TPM refuses every such authorisation
 * (TPM_RC_LOCKOUT) until the counter has dropped again, by one every
 * TPM_PT_LOCKOUT_INTERVAL seconds. */

struct da_state {
	uint32_t counter, max, interval;
};

static int da_state(struct tpm_backend *be, struct da_state *d)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	UINT32 i;
	int found = 0;

	memset(d, 0, sizeof(*d));
	if (be->t.Esys_GetCapability(be->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				     TPM2_CAP_TPM_PROPERTIES, TPM2_PT_LOCKOUT_COUNTER, 3, &more,
				     &cap) != TSS2_RC_SUCCESS)
		return 0;
	for (i = 0; i < cap->data.tpmProperties.count; i++) {
		const TPMS_TAGGED_PROPERTY *p = &cap->data.tpmProperties.tpmProperty[i];

		switch (p->property) {
		case TPM2_PT_LOCKOUT_COUNTER: d->counter = p->value; found |= 1; break;
		case TPM2_PT_MAX_AUTH_FAIL: d->max = p->value; found |= 2; break;
		case TPM2_PT_LOCKOUT_INTERVAL: d->interval = p->value; found |= 4; break;
		}
	}
	be->t.Esys_Free(cap);
	return found == 7;
}

/* How a locked-out TPM recovers, for the messages below.  Each
 * TPM_PT_LOCKOUT_INTERVAL seconds after the last failure one failure is
 * forgotten, and one more try is let through.  (An interval of 0 turns
 * the protection off: failures are not counted at all.) */
static void lockout_wait(const struct da_state *d, char *out, size_t n)
{
	snprintf(out, n, "wait up to %u seconds and try again, or have the lockout reset (tpm2_dictionarylockout --clear-lockout)",
		 (unsigned)d->interval);
}

/* A failed use of an object with an authorisation value: a wrong
 * password (exit 5, with what the TPM still allows), the TPM in lockout
 * (exit 4, with how long to wait), or any other failure. */
static int tpm_auth_err(struct tpm_backend *be, TSS2_RC r, const char *what, const char *label)
{
	struct da_state d;
	char wait[200];

	if ((r & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return tpm_err(be, r, what);
	switch (tpm_base_rc(r)) {
	case TPM2_RC_AUTH_FAIL:
	case TPM2_RC_BAD_AUTH:
		if (!da_state(be, &d) || d.max == 0)
			return sk_err(SK_EAUTH, "wrong password for %s (checked by the TPM)", label);
		if (d.interval == 0)
			return sk_err(SK_EAUTH, "wrong password for %s (checked by the TPM, whose dictionary-attack protection is off)",
				      label);
		if (d.counter < d.max)
			return sk_err(SK_EAUTH, "wrong password for %s (checked by the TPM: %u more failure%s before it locks out)",
				      label, (unsigned)(d.max - d.counter), d.max - d.counter == 1 ? "" : "s");
		lockout_wait(&d, wait, sizeof(wait));
		return sk_err(SK_EAUTH, "wrong password for %s (checked by the TPM, which now refuses every password: %s)",
			      label, wait);
	case TPM2_RC_LOCKOUT:
		if (!da_state(be, &d) || d.interval == 0)
			return sk_err(SK_EBACKEND, "%s: the TPM is locked out after too many wrong passwords (dictionary-attack protection)",
				      label);
		lockout_wait(&d, wait, sizeof(wait));
		return sk_err(SK_EBACKEND, "%s: the TPM is locked out after too many wrong passwords (dictionary-attack protection): %s",
			      label, wait);
	}
	return tpm_err(be, r, what);
}

/* An HMAC session for authorising with a value: salted to the parent key
 * (TPM2_StartAuthSession with tpmKey), so the value never crosses the bus
 * in clear, and nothing seen on the bus lets a password be tested without
 * the TPM. */
static int start_session(struct tpm_backend *be, ESYS_TR *s)
{
	const TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	TSS2_RC r;

	r = be->t.Esys_StartAuthSession(be->esys, be->parent, ESYS_TR_NONE, ESYS_TR_NONE,
					ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym,
					TPM2_ALG_SHA256, s);
	if (r != TSS2_RC_SUCCESS) {
		*s = ESYS_TR_NONE;
		return tpm_err(be, r, "starting an authorisation session");
	}
	r = be->t.Esys_TRSess_SetAttributes(be->esys, *s, TPMA_SESSION_CONTINUESESSION, 0xff);
	if (r != TSS2_RC_SUCCESS) {
		be->t.Esys_FlushContext(be->esys, *s);
		*s = ESYS_TR_NONE;
		return tpm_err(be, r, "setting up an authorisation session");
	}
	return SK_OK;
}

/* The session that authorises a use of key k: the empty password for a key
 * without a value, else k's HMAC session (one per loaded key, kept until
 * it is unloaded). */
static int key_session(struct sk_bkey *k, ESYS_TR *s)
{
	int rc;

	if (!k->has_auth) {
		*s = ESYS_TR_PASSWORD;
		return SK_OK;
	}
	if (k->session == ESYS_TR_NONE && (rc = start_session(k->be, &k->session)) != SK_OK)
		return rc;
	*s = k->session;
	return SK_OK;
}

/* A failed private-key operation on k.  A key without a value made by an
 * older seckit is DA-protected too, and refused in a lockout. */
static int key_err(struct sk_bkey *k, TSS2_RC r, const char *what)
{
	if (k->has_auth)
		return tpm_auth_err(k->be, r, what, k->label);
	if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && tpm_base_rc(r) == TPM2_RC_LOCKOUT)
		return tpm_auth_err(k->be, r, what, "tpm2");
	return tpm_err(k->be, r, what);
}

static void set_auth(TPM2B_AUTH *a, const struct sk_auth *auth)
{
	memset(a, 0, sizeof(*a));
	if (auth != NULL) {
		a->size = sizeof(auth->value);
		memcpy(a->buffer, auth->value, sizeof(auth->value));
	}
}

/* ---- open / close ---- */

static const TPM2B_PUBLIC srk_template = {
	.publicArea = {
		.type = TPM2_ALG_ECC,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
				    TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
		.parameters.eccDetail = {
			.symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
				       .mode.aes = TPM2_ALG_CFB },
			.scheme = { .scheme = TPM2_ALG_NULL },
			.curveID = TPM2_ECC_NIST_P256,
			.kdf = { .scheme = TPM2_ALG_NULL },
		},
		.unique.ecc = { .x = { .size = 32 }, .y = { .size = 32 } },
	},
};

static int create_primary(struct tpm_backend *be)
{
	TPM2B_SENSITIVE_CREATE in = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TSS2_RC r;

	r = be->t.Esys_CreatePrimary(be->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				     ESYS_TR_NONE, &in, &srk_template, &outside, &pcrs,
				     &be->parent, NULL, NULL, NULL, NULL);
	if (r == TPM2_RC_INITIALIZE) {
		/* A TPM nobody has started yet (a bare simulator): start it. */
		r = be->t.Esys_Startup(be->esys, TPM2_SU_CLEAR);
		if (r != TSS2_RC_SUCCESS)
			return tpm_err(be, r, "TPM2_Startup");
		r = be->t.Esys_CreatePrimary(be->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
					     ESYS_TR_NONE, ESYS_TR_NONE, &in, &srk_template,
					     &outside, &pcrs, &be->parent, NULL, NULL, NULL, NULL);
	}
	if (r != TSS2_RC_SUCCESS)
		return tpm_err(be, r, "creating the storage primary key");
	be->parent_transient = 1;
	return SK_OK;
}

static void tpm_close(struct sk_backend *b)
{
	struct tpm_backend *be = (struct tpm_backend *)b;

	if (be == NULL)
		return;
	if (be->esys != NULL) {
		if (be->parent_transient)
			be->t.Esys_FlushContext(be->esys, be->parent);
		else if (be->parent != ESYS_TR_NONE)
			be->t.Esys_TR_Close(be->esys, &be->parent);
		be->t.Esys_Finalize(&be->esys);
	}
	if (be->tcti != NULL)
		be->t.Tss2_TctiLdr_Finalize(&be->tcti);
	unload_libs(&be->t);
	free(be);
}

static int tpm_open(const struct sk_backend_cfg *cfg, struct sk_backend **out)
{
	struct tpm_backend *be = calloc(1, sizeof(*be));
	TSS2_RC r;
	int rc;

	*out = NULL;
	if (be == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	be->base.ops = &sk_tpm2_backend;
	be->parent = ESYS_TR_NONE;
	snprintf(be->tcti_conf, sizeof(be->tcti_conf), "%s",
		 cfg->tcti && cfg->tcti[0] ? cfg->tcti : DEFAULT_TCTI);
	if ((rc = load_libs(&be->t)) != SK_OK) {
		free(be);
		return rc;
	}
	r = be->t.Tss2_TctiLdr_Initialize(be->tcti_conf, &be->tcti);
	if (r != TSS2_RC_SUCCESS) {
		rc = sk_err(SK_EBACKEND, "tpm2: no TPM reachable through TCTI '%s' (%s)",
			    be->tcti_conf, be->t.Tss2_RC_Decode(r));
		goto fail;
	}
	r = be->t.Esys_Initialize(&be->esys, be->tcti, NULL);
	if (r != TSS2_RC_SUCCESS) {
		rc = tpm_err(be, r, "initialising ESAPI");
		goto fail;
	}
	if (cfg->tpm2_parent != 0) {
		r = be->t.Esys_TR_FromTPMPublic(be->esys, cfg->tpm2_parent, ESYS_TR_NONE,
						ESYS_TR_NONE, ESYS_TR_NONE, &be->parent);
		if (r != TSS2_RC_SUCCESS) {
			tpm_err(be, r, "");
			rc = sk_err(SK_EBACKEND, "tpm2: parent handle 0x%08x (tpm2-parent in the config) is not in the TPM",
				    (unsigned)cfg->tpm2_parent);
			goto fail;
		}
	} else if ((rc = create_primary(be)) != SK_OK) {
		goto fail;
	}
	*out = &be->base;
	return SK_OK;
fail:
	tpm_close(&be->base);
	return rc;
}

static unsigned tpm_caps(struct sk_backend *b, const struct sk_keytype *kt)
{
	(void)b;
	switch (kt->kind) {
	case SK_KIND_EC:
		return SK_CAP_GENERATE | SK_CAP_IMPORT | SK_CAP_SIGN | SK_CAP_DERIVE;
	case SK_KIND_RSA:
		return SK_CAP_GENERATE | SK_CAP_IMPORT | SK_CAP_SIGN | SK_CAP_DECRYPT;
	case SK_KIND_AES:
		return SK_CAP_GENERATE | SK_CAP_IMPORT | SK_CAP_CIPHER;
	case SK_KIND_HMAC:
		return SK_CAP_GENERATE | SK_CAP_IMPORT | SK_CAP_MAC;
	}
	return 0;
}

/* ---- templates and conversions ---- */

static TPM2_ECC_CURVE curve_of(const struct sk_keytype *kt)
{
	return kt->bits == 256 ? TPM2_ECC_NIST_P256 :
	       kt->bits == 384 ? TPM2_ECC_NIST_P384 : TPM2_ECC_NIST_P521;
}

static size_t field_bytes(const struct sk_keytype *kt)
{
	return (kt->bits + 7) / 8;
}

static TPMI_ALG_HASH hash_alg(const char *md)
{
	if (md == NULL)
		return TPM2_ALG_NULL;
	if (strcmp(md, "sha1") == 0)
		return TPM2_ALG_SHA1;
	if (strcmp(md, "sha256") == 0)
		return TPM2_ALG_SHA256;
	if (strcmp(md, "sha384") == 0)
		return TPM2_ALG_SHA384;
	if (strcmp(md, "sha512") == 0)
		return TPM2_ALG_SHA512;
	return TPM2_ALG_NULL;
}

/* The public template of a new key.  Keys made in the TPM are fixedTPM
 * (never duplicable); imported ones cannot be.  A key with an
 * authorisation value is under the TPM's dictionary-attack protection; one
 * without is noDA: an empty value has nothing to guess, and a TPM in
 * lockout refuses every DA-protected object, so wrong passwords for one
 * key would otherwise stop all the others. */
static void key_template(const struct sk_keytype *kt, int imported, const struct sk_auth *auth,
			 TPM2B_PUBLIC *t)
{
	TPMT_PUBLIC *p = &t->publicArea;

	memset(t, 0, sizeof(*t));
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_USERWITHAUTH;
	if (auth == NULL)
		p->objectAttributes |= TPMA_OBJECT_NODA;
	if (!imported)
		p->objectAttributes |= TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				       TPMA_OBJECT_SENSITIVEDATAORIGIN;
	switch (kt->kind) {
	case SK_KIND_EC:
		p->type = TPM2_ALG_ECC;
		p->objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT;
		p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
		p->parameters.eccDetail.curveID = curve_of(kt);
		p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		break;
	case SK_KIND_RSA:
		p->type = TPM2_ALG_RSA;
		p->objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT;
		p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
		p->parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)kt->bits;
		p->parameters.rsaDetail.exponent = 0; /* 65537 */
		break;
	case SK_KIND_AES:
		p->type = TPM2_ALG_SYMCIPHER;
		p->objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT;
		p->parameters.symDetail.sym.algorithm = TPM2_ALG_AES;
		p->parameters.symDetail.sym.keyBits.aes = (TPMI_AES_KEY_BITS)kt->bits;
		p->parameters.symDetail.sym.mode.aes = TPM2_ALG_NULL;
		break;
	case SK_KIND_HMAC:
		p->type = TPM2_ALG_KEYEDHASH;
		p->objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
		p->parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_HMAC;
		p->parameters.keyedHashDetail.scheme.details.hmac.hashAlg = hash_alg(kt->md);
		break;
	}
	/* A key made inside the TPM must not say its data came from outside. */
	if (!imported && (kt->kind == SK_KIND_AES || kt->kind == SK_KIND_HMAC))
		p->objectAttributes |= TPMA_OBJECT_SENSITIVEDATAORIGIN;
}

/* TPM public area -> OpenSSL public key. */
static int public_to_pkey(const TPM2B_PUBLIC *pub, const struct sk_keytype *kt, EVP_PKEY **out)
{
	const TPMT_PUBLIC *p = &pub->publicArea;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t point[1 + 2 * TPM2_MAX_ECC_KEY_BYTES];
	int rc = SK_EFAIL;

	*out = NULL;
	if (bld == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	if (p->type == TPM2_ALG_ECC) {
		size_t fb = field_bytes(kt);
		const TPM2B_ECC_PARAMETER *x = &p->unique.ecc.x, *y = &p->unique.ecc.y;

		if (x->size > fb || y->size > fb) {
			rc = sk_err(SK_EVERIFY, "tpm2: malformed EC public key");
			goto out;
		}
		/* Uncompressed point, coordinates left-padded to the field size. */
		memset(point, 0, sizeof(point));
		point[0] = 4;
		memcpy(point + 1 + fb - x->size, x->buffer, x->size);
		memcpy(point + 1 + 2 * fb - y->size, y->buffer, y->size);
		if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, kt->group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * fb))
			goto ssl;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	} else if (p->type == TPM2_ALG_RSA) {
		uint32_t exp = p->parameters.rsaDetail.exponent ? p->parameters.rsaDetail.exponent : 65537;

		n = BN_bin2bn(p->unique.rsa.buffer, p->unique.rsa.size, NULL);
		e = BN_new();
		if (n == NULL || e == NULL || !BN_set_word(e, exp) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto ssl;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		rc = SK_OK; /* symmetric: no public key */
		goto out;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL || ctx == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto ssl;
	rc = SK_OK;
	goto out;
ssl:
	rc = sk_err_ssl(SK_EFAIL, "tpm2: converting the public key");
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return rc;
}

static int make_blob(struct tpm_backend *be, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv,
		     struct sk_buf *blob)
{
	uint8_t buf[2 + sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE)];
	size_t off = 2;
	TSS2_RC r;

	buf[0] = BLOB_VERSION;
	buf[1] = BLOB_TRANSIENT;
	r = be->t.Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off);
	if (r == TSS2_RC_SUCCESS)
		r = be->t.Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &off);
	if (r != TSS2_RC_SUCCESS)
		return tpm_err(be, r, "encoding the key blob");
	return sk_buf_add(blob, buf, off);
}

static int parse_blob(struct tpm_backend *be, const uint8_t *blob, size_t n,
		      TPM2B_PUBLIC *pub, TPM2B_PRIVATE *priv)
{
	size_t off = 2;

	memset(pub, 0, sizeof(*pub));
	memset(priv, 0, sizeof(*priv));
	if (n < 2 || blob[0] != BLOB_VERSION || blob[1] != BLOB_TRANSIENT ||
	    be->t.Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob, n, &off, pub) != TSS2_RC_SUCCESS ||
	    be->t.Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob, n, &off, priv) != TSS2_RC_SUCCESS ||
	    off != n)
		return sk_err(SK_EVERIFY, "tpm2: key blob is malformed");
	return SK_OK;
}

/* Ask the TPM whether it can do these parameters at all, so that "this
 * TPM has no RSA-4096" is a clear exit 6 rather than a failed create. */
static int test_parms(struct tpm_backend *be, const TPM2B_PUBLIC *t, const struct sk_keytype *kt)
{
	TPMT_PUBLIC_PARMS parms = { .type = t->publicArea.type };
	TSS2_RC r;

	switch (t->publicArea.type) {
	case TPM2_ALG_ECC: parms.parameters.eccDetail = t->publicArea.parameters.eccDetail; break;
	case TPM2_ALG_RSA: parms.parameters.rsaDetail = t->publicArea.parameters.rsaDetail; break;
	case TPM2_ALG_SYMCIPHER: parms.parameters.symDetail = t->publicArea.parameters.symDetail; break;
	default: parms.parameters.keyedHashDetail = t->publicArea.parameters.keyedHashDetail; break;
	}
	r = be->t.Esys_TestParms(be->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &parms);
	if (r != TSS2_RC_SUCCESS) {
		if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER)
			return sk_err(SK_EUNSUPP, "tpm2: this TPM does not support %s keys", kt->name);
		return tpm_err(be, r, "TPM2_TestParms");
	}
	return SK_OK;
}

/* ---- generate / import / load ---- */

static int create_under_parent(struct tpm_backend *be, const struct sk_keytype *kt,
			       const TPM2B_PUBLIC *tmpl, const TPM2B_SENSITIVE_CREATE *sens,
			       struct sk_buf *blob, EVP_PKEY **pub)
{
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PUBLIC *opub = NULL;
	TPM2B_PRIVATE *opriv = NULL;
	TSS2_RC r;
	int rc;

	if ((rc = test_parms(be, tmpl, kt)) != SK_OK)
		return rc;
	r = be->t.Esys_Create(be->esys, be->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			      sens, tmpl, &outside, &pcrs, &opriv, &opub, NULL, NULL, NULL);
	if (r != TSS2_RC_SUCCESS)
		return tpm_err(be, r, "creating the key");
	rc = make_blob(be, opub, opriv, blob);
	if (rc == SK_OK && pub != NULL)
		rc = public_to_pkey(opub, kt, pub);
	be->t.Esys_Free(opub);
	if (opriv != NULL)
		OPENSSL_cleanse(opriv, sizeof(*opriv));
	be->t.Esys_Free(opriv);
	return rc;
}

static int tpm_generate(struct sk_backend *b, const struct sk_keytype *kt, int exportable,
			const struct sk_auth *auth, struct sk_buf *blob, EVP_PKEY **pub)
{
	struct tpm_backend *be = (struct tpm_backend *)b;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl;
	int rc;

	*pub = NULL;
	if (exportable)
		return sk_err(SK_EUNSUPP, "tpm2: keys made in the TPM never leave it (no --exportable)");
	key_template(kt, 0, auth, &tmpl);
	set_auth(&sens.sensitive.userAuth, auth);
	rc = create_under_parent(be, kt, &tmpl, &sens, blob, pub);
	OPENSSL_cleanse(&sens, sizeof(sens));
	return rc;
}

/* Big-endian BIGNUM parameter, left-padded to len bytes. */
static int bn_param(EVP_PKEY *pkey, const char *name, uint8_t *out, size_t len)
{
	BIGNUM *bn = NULL;
	int ok;

	if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
		return sk_err_ssl(SK_EFAIL, "tpm2: reading key component %s", name);
	ok = BN_bn2binpad(bn, out, (int)len) == (int)len;
	BN_clear_free(bn);
	if (!ok)
		return sk_err(SK_EFAIL, "tpm2: key component %s too large", name);
	return SK_OK;
}

/*
 * An existing EC/RSA private key goes in through TPM2_Import as a plain
 * (unwrapped) duplicate: no inner or outer wrapper, which the TPM allows
 * for objects that are not fixedTPM.  Why not TPM2_LoadExternal: that
 * gives a key that lives only until the next flush, and we need a blob the
 * TPM can reload.  The clear private key exists only in this process and
 * is cleansed here.
 */
static int import_asym(struct tpm_backend *be, const struct sk_keytype *kt, EVP_PKEY *priv,
		       const struct sk_auth *auth, struct sk_buf *blob)
{
	TPM2B_PUBLIC tmpl;
	TPM2B_SENSITIVE sens;
	TPM2B_PRIVATE dup = { 0 }, *opriv = NULL;
	TPM2B_DATA enckey = { 0 };
	TPM2B_ENCRYPTED_SECRET seed = { 0 };
	TPMT_SYM_DEF_OBJECT sym = { .algorithm = TPM2_ALG_NULL };
	TPMT_PUBLIC *p = &tmpl.publicArea;
	size_t off = 0;
	TSS2_RC r;
	int rc;

	key_template(kt, 1, auth, &tmpl);
	if ((rc = test_parms(be, &tmpl, kt)) != SK_OK)
		return rc;
	memset(&sens, 0, sizeof(sens));
	set_auth(&sens.sensitiveArea.authValue, auth);
	if (kt->kind == SK_KIND_EC) {
		size_t fb = field_bytes(kt);
		uint8_t pt[1 + 2 * TPM2_MAX_ECC_KEY_BYTES];
		size_t ptlen = 0;

		sens.sensitiveArea.sensitiveType = TPM2_ALG_ECC;
		sens.sensitiveArea.sensitive.ecc.size = (UINT16)fb;
		if ((rc = bn_param(priv, OSSL_PKEY_PARAM_PRIV_KEY, sens.sensitiveArea.sensitive.ecc.buffer, fb)) != SK_OK)
			goto out;
		if (!EVP_PKEY_get_octet_string_param(priv, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &ptlen) ||
		    ptlen != 1 + 2 * fb || pt[0] != 4) {
			rc = sk_err_ssl(SK_EFAIL, "tpm2: reading the EC public point");
			goto out;
		}
		p->unique.ecc.x.size = p->unique.ecc.y.size = (UINT16)fb;
		memcpy(p->unique.ecc.x.buffer, pt + 1, fb);
		memcpy(p->unique.ecc.y.buffer, pt + 1 + fb, fb);
	} else {
		size_t nb = kt->bits / 8;
		BIGNUM *e = NULL;

		if (!EVP_PKEY_get_bn_param(priv, OSSL_PKEY_PARAM_RSA_E, &e)) {
			rc = sk_err_ssl(SK_EFAIL, "tpm2: reading the RSA exponent");
			goto out;
		}
		if (!BN_is_word(e, 65537))
			p->parameters.rsaDetail.exponent = (UINT32)BN_get_word(e);
		BN_free(e);
		sens.sensitiveArea.sensitiveType = TPM2_ALG_RSA;
		sens.sensitiveArea.sensitive.rsa.size = (UINT16)(nb / 2);
		p->unique.rsa.size = (UINT16)nb;
		if ((rc = bn_param(priv, OSSL_PKEY_PARAM_RSA_FACTOR1, sens.sensitiveArea.sensitive.rsa.buffer, nb / 2)) != SK_OK ||
		    (rc = bn_param(priv, OSSL_PKEY_PARAM_RSA_N, p->unique.rsa.buffer, nb)) != SK_OK)
			goto out;
	}
	r = be->t.Tss2_MU_TPM2B_SENSITIVE_Marshal(&sens, dup.buffer, sizeof(dup.buffer), &off);
	if (r != TSS2_RC_SUCCESS) {
		rc = tpm_err(be, r, "encoding the key for import");
		goto out;
	}
	dup.size = (UINT16)off;
	r = be->t.Esys_Import(be->esys, be->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			      &enckey, &tmpl, &dup, &seed, &sym, &opriv);
	if (r != TSS2_RC_SUCCESS) {
		rc = tpm_err(be, r, "importing the key");
		goto out;
	}
	rc = make_blob(be, &tmpl, opriv, blob);
out:
	OPENSSL_cleanse(&sens, sizeof(sens));
	OPENSSL_cleanse(&dup, sizeof(dup));
	if (opriv != NULL)
		OPENSSL_cleanse(opriv, sizeof(*opriv));
	be->t.Esys_Free(opriv);
	return rc;
}

static int tpm_import(struct sk_backend *b, const struct sk_keytype *kt, EVP_PKEY *priv,
		      const uint8_t *raw, size_t rawlen, int exportable, const struct sk_auth *auth,
		      struct sk_buf *blob)
{
	struct tpm_backend *be = (struct tpm_backend *)b;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl;
	int rc;

	if (exportable)
		return sk_err(SK_EUNSUPP, "tpm2: keys in the TPM never leave it (no --exportable)");
	if (sk_keytype_is_asym(kt))
		return import_asym(be, kt, priv, auth, blob);
	/* AES and HMAC: TPM2_Create takes the key bytes as sensitive data. */
	if (rawlen != sk_keytype_raw_len(kt) || rawlen > sizeof(sens.sensitive.data.buffer))
		return sk_err(SK_EFAIL, "%s key must be %zu bytes, got %zu", kt->name,
			      sk_keytype_raw_len(kt), rawlen);
	key_template(kt, 1, auth, &tmpl);
	tmpl.publicArea.objectAttributes |= TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
	set_auth(&sens.sensitive.userAuth, auth);
	sens.sensitive.data.size = (UINT16)rawlen;
	memcpy(sens.sensitive.data.buffer, raw, rawlen);
	rc = create_under_parent(be, kt, &tmpl, &sens, blob, NULL);
	OPENSSL_cleanse(&sens, sizeof(sens));
	return rc;
}

static int tpm_load(struct sk_backend *b, const struct sk_keytype *kt, const uint8_t *blob,
		    size_t n, const struct sk_auth *auth, struct sk_bkey **out)
{
	struct tpm_backend *be = (struct tpm_backend *)b;
	TPM2B_PRIVATE priv;
	TPM2B_AUTH a;
	struct sk_bkey *k;
	TSS2_RC r;
	int rc;

	*out = NULL;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	k->be = be;
	k->kt = kt;
	k->session = ESYS_TR_NONE;
	if ((rc = parse_blob(be, blob, n, &k->pub, &priv)) != SK_OK) {
		free(k);
		return rc;
	}
	r = be->t.Esys_Load(be->esys, be->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			    &priv, &k->pub, &k->handle);
	OPENSSL_cleanse(&priv, sizeof(priv));
	if (r != TSS2_RC_SUCCESS) {
		free(k);
		return tpm_load_err(be, r, "loading the key");
	}
	if (auth != NULL) {
		/* ESAPI keeps the value with the handle and computes each
		 * command's HMAC from it; the TPM compares. */
		set_auth(&a, auth);
		r = be->t.Esys_TR_SetAuth(be->esys, k->handle, &a);
		OPENSSL_cleanse(&a, sizeof(a));
		if (r != TSS2_RC_SUCCESS) {
			be->t.Esys_FlushContext(be->esys, k->handle);
			free(k);
			return tpm_err(be, r, "setting the key's authorisation");
		}
		k->has_auth = 1;
		snprintf(k->label, sizeof(k->label), "%s", auth->label);
	}
	*out = k;
	return SK_OK;
}

static void tpm_unload(struct sk_bkey *k)
{
	if (k == NULL)
		return;
	if (k->session != ESYS_TR_NONE)
		k->be->t.Esys_FlushContext(k->be->esys, k->session);
	/* Flushing forgets the value ESAPI kept with the handle. */
	k->be->t.Esys_FlushContext(k->be->esys, k->handle);
	free(k);
}

static int tpm_destroy(struct sk_backend *b, const struct sk_keytype *kt, const uint8_t *blob,
		       size_t n)
{
	(void)b;
	(void)kt;
	(void)blob;
	(void)n;
	return SK_OK; /* a wrapped blob: deleting the store object is enough */
}

/* ---- private-key operations ---- */

static int tpm_sign(struct sk_bkey *k, const EVP_MD *md, int pss, const uint8_t *dgst,
		    size_t dlen, struct sk_buf *sig)
{
	struct tpm_backend *be = k->be;
	TPMI_ALG_HASH h = hash_alg(sk_md_name(md));
	TPMT_SIG_SCHEME scheme = { 0 };
	TPMT_TK_HASHCHECK ticket = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL };
	TPM2B_DIGEST d = { 0 };
	TPMT_SIGNATURE *s = NULL;
	ESYS_TR sess;
	TSS2_RC r;
	int rc = SK_OK;

	if (h == TPM2_ALG_NULL)
		return sk_err(SK_EUNSUPP, "tpm2: digest %s is not supported by the TPM", sk_md_name(md));
	if (dlen != (size_t)EVP_MD_get_size(md) || dlen > sizeof(d.buffer))
		return sk_err(SK_EFAIL, "tpm2: digest length does not match %s", sk_md_name(md));
	if (k->kt->kind == SK_KIND_EC) {
		if (pss)
			return sk_err(SK_EUNSUPP, "--pss applies to RSA keys only");
		scheme.scheme = TPM2_ALG_ECDSA;
		scheme.details.ecdsa.hashAlg = h;
	} else {
		scheme.scheme = pss ? TPM2_ALG_RSAPSS : TPM2_ALG_RSASSA;
		scheme.details.rsassa.hashAlg = h;
	}
	d.size = (UINT16)dlen;
	memcpy(d.buffer, dgst, dlen);
	if ((rc = key_session(k, &sess)) != SK_OK)
		return rc;
	r = be->t.Esys_Sign(be->esys, k->handle, sess, ESYS_TR_NONE, ESYS_TR_NONE,
			    &d, &scheme, &ticket, &s);
	if (r != TSS2_RC_SUCCESS)
		return key_err(k, r, "signing");
	if (k->kt->kind == SK_KIND_EC) {
		/* The TPM returns r and s; X9.62 wants them as a DER SEQUENCE. */
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *br = BN_bin2bn(s->signature.ecdsa.signatureR.buffer,
				       s->signature.ecdsa.signatureR.size, NULL);
		BIGNUM *bs = BN_bin2bn(s->signature.ecdsa.signatureS.buffer,
				       s->signature.ecdsa.signatureS.size, NULL);
		unsigned char *der = NULL;
		int len;

		if (es == NULL || br == NULL || bs == NULL || !ECDSA_SIG_set0(es, br, bs)) {
			BN_free(br);
			BN_free(bs);
			rc = sk_err_ssl(SK_EFAIL, "tpm2: encoding the signature");
		} else if ((len = i2d_ECDSA_SIG(es, &der)) <= 0) {
			rc = sk_err_ssl(SK_EFAIL, "tpm2: encoding the signature");
		} else {
			rc = sk_buf_add(sig, der, (size_t)len);
			OPENSSL_free(der);
		}
		ECDSA_SIG_free(es);
	} else {
		rc = sk_buf_add(sig, s->signature.rsassa.sig.buffer, s->signature.rsassa.sig.size);
	}
	be->t.Esys_Free(s);
	return rc;
}

static int tpm_decrypt(struct sk_bkey *k, const EVP_MD *oaep_md, const uint8_t *in, size_t n,
		       struct sk_buf *out)
{
	struct tpm_backend *be = k->be;
	TPMT_RSA_DECRYPT scheme = { .scheme = TPM2_ALG_OAEP };
	TPM2B_PUBLIC_KEY_RSA c = { 0 }, *m = NULL;
	TPM2B_DATA label = { 0 };
	ESYS_TR sess;
	TSS2_RC r;
	int rc;

	scheme.details.oaep.hashAlg = hash_alg(sk_md_name(oaep_md));
	if (scheme.details.oaep.hashAlg == TPM2_ALG_NULL)
		return sk_err(SK_EUNSUPP, "tpm2: OAEP with %s is not supported", sk_md_name(oaep_md));
	if (n > sizeof(c.buffer) || n != k->kt->bits / 8)
		return sk_err(SK_EVERIFY, "RSA-OAEP decryption failed (ciphertext has the wrong size)");
	c.size = (UINT16)n;
	memcpy(c.buffer, in, n);
	if ((rc = key_session(k, &sess)) != SK_OK)
		return rc;
	r = be->t.Esys_RSA_Decrypt(be->esys, k->handle, sess, ESYS_TR_NONE, ESYS_TR_NONE,
				   &c, &scheme, &label, &m);
	if (r != TSS2_RC_SUCCESS) {
		rc = key_err(k, r, "RSA-OAEP decryption");
		/* The TPM says "value" for a ciphertext that does not decrypt. */
		return rc == SK_EFAIL ? sk_err(SK_EVERIFY, "RSA-OAEP decryption failed (wrong key or corrupt ciphertext)") : rc;
	}
	rc = sk_buf_add(out, m->buffer, m->size);
	OPENSSL_cleanse(m, sizeof(*m));
	be->t.Esys_Free(m);
	return rc;
}

static int tpm_derive(struct sk_bkey *k, EVP_PKEY *peer, struct sk_buf *secret)
{
	struct tpm_backend *be = k->be;
	size_t fb = field_bytes(k->kt), ptlen = 0;
	uint8_t pt[1 + 2 * TPM2_MAX_ECC_KEY_BYTES], z[TPM2_MAX_ECC_KEY_BYTES];
	char group[64];
	TPM2B_ECC_POINT in = { 0 }, *outp = NULL;
	ESYS_TR sess;
	TSS2_RC r;
	int rc;

	if (!EVP_PKEY_is_a(peer, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(peer, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) ||
	    strcmp(group, k->kt->group) != 0)
		return sk_err(SK_EUNSUPP, "peer key does not match the key's curve");
	/* The uncompressed encoding, whatever form the peer key used. */
	if (EVP_PKEY_set_utf8_string_param(peer, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
					   "uncompressed") != 1 ||
	    !EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &ptlen) ||
	    ptlen != 1 + 2 * fb)
		return sk_err_ssl(SK_EFAIL, "reading the peer's public point");
	in.point.x.size = in.point.y.size = (UINT16)fb;
	memcpy(in.point.x.buffer, pt + 1, fb);
	memcpy(in.point.y.buffer, pt + 1 + fb, fb);
	if ((rc = key_session(k, &sess)) != SK_OK)
		return rc;
	r = be->t.Esys_ECDH_ZGen(be->esys, k->handle, sess, ESYS_TR_NONE, ESYS_TR_NONE,
				 &in, &outp);
	if (r != TSS2_RC_SUCCESS)
		return key_err(k, r, "ECDH");
	/* Z is the x coordinate, fixed length like OpenSSL's ECDH output. */
	if (outp->point.x.size > fb) {
		be->t.Esys_Free(outp);
		return sk_err(SK_EFAIL, "tpm2: ECDH result too long");
	}
	memset(z, 0, sizeof(z));
	memcpy(z + fb - outp->point.x.size, outp->point.x.buffer, outp->point.x.size);
	OPENSSL_cleanse(outp, sizeof(*outp));
	be->t.Esys_Free(outp);
	rc = sk_buf_add(secret, z, fb);
	OPENSSL_cleanse(z, sizeof(z));
	return rc;
}

/* ---- AES in the TPM ----
 * TPM2_EncryptDecrypt2 takes whole blocks (at most 1024 bytes per call)
 * and returns the chaining IV.  The TPM does no padding: PKCS#7 for CBC
 * is done here, and a CTR tail is processed as a zero-padded block whose
 * extra output is dropped (CTR is a keystream XOR).  GCM is not a TPM
 * mode at all. */

struct tpm_cipher {
	struct sk_symop base;
	struct sk_bkey *k;
	int enc;
	TPMI_ALG_CIPHER_MODE mode;
	TPM2B_IV iv;
	uint8_t pend[32];
	size_t npend;
};

static int tpm_crypt_blocks(struct tpm_cipher *c, const uint8_t *in, size_t n, uint8_t *out)
{
	struct tpm_backend *be = c->k->be;

	while (n > 0) {
		TPM2B_MAX_BUFFER data = { 0 }, *res = NULL;
		TPM2B_IV *ivout = NULL;
		size_t k = n > TPM2_MAX_DIGEST_BUFFER ? TPM2_MAX_DIGEST_BUFFER : n;
		ESYS_TR sess;
		TSS2_RC r;
		int rc;

		if ((rc = key_session(c->k, &sess)) != SK_OK)
			return rc;
		data.size = (UINT16)k;
		memcpy(data.buffer, in, k);
		r = be->t.Esys_EncryptDecrypt2(be->esys, c->k->handle, sess, ESYS_TR_NONE,
					       ESYS_TR_NONE, &data, c->enc ? TPM2_NO : TPM2_YES,
					       c->mode, &c->iv, &res, &ivout);
		OPENSSL_cleanse(&data, sizeof(data));
		if (r != TSS2_RC_SUCCESS)
			return key_err(c->k, r, c->enc ? "AES encryption" : "AES decryption");
		if (res->size != k) {
			be->t.Esys_Free(res);
			be->t.Esys_Free(ivout);
			return sk_err(SK_EFAIL, "tpm2: AES returned %u bytes for %zu", res->size, k);
		}
		memcpy(out, res->buffer, k);
		c->iv = *ivout;
		OPENSSL_cleanse(res, sizeof(*res));
		be->t.Esys_Free(res);
		be->t.Esys_Free(ivout);
		in += k;
		out += k;
		n -= k;
	}
	return SK_OK;
}

static int tpm_cipher_update(struct sk_symop *op, const uint8_t *in, size_t n, uint8_t *out,
			     size_t *outlen)
{
	struct tpm_cipher *c = (struct tpm_cipher *)op;
	size_t total = c->npend + n, use;
	uint8_t *all;
	int rc;

	*outlen = 0;
	/* Whole blocks only; CBC decryption keeps the last block back, since
	 * it carries the padding.  At most 16 bytes stay pending, so the
	 * output never exceeds n + 16. */
	if (c->mode == TPM2_ALG_CBC && !c->enc)
		use = total > 16 ? ((total - 1) / 16) * 16 : 0;
	else
		use = (total / 16) * 16;
	if (use == 0) {
		memcpy(c->pend + c->npend, in, n);
		c->npend = total;
		return SK_OK;
	}
	all = malloc(total);
	if (all == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	memcpy(all, c->pend, c->npend);
	memcpy(all + c->npend, in, n);
	rc = tpm_crypt_blocks(c, all, use, out);
	if (rc == SK_OK) {
		*outlen = use;
		c->npend = total - use;
		memcpy(c->pend, all + use, c->npend);
	}
	OPENSSL_cleanse(all, total);
	free(all);
	return rc;
}

static int tpm_cipher_final(struct sk_symop *op, uint8_t *out, size_t *outlen, uint8_t *tag)
{
	struct tpm_cipher *c = (struct tpm_cipher *)op;
	uint8_t block[32], res[32];
	size_t n = c->npend, i;
	int rc;

	(void)tag;
	*outlen = 0;
	if (c->mode == TPM2_ALG_CTR) {
		if (n == 0)
			return SK_OK;
		memset(block, 0, sizeof(block));
		memcpy(block, c->pend, n);
		if ((rc = tpm_crypt_blocks(c, block, (n + 15) / 16 * 16, res)) != SK_OK)
			return rc;
		memcpy(out, res, n);
		*outlen = n;
		OPENSSL_cleanse(res, sizeof(res));
		return SK_OK;
	}
	if (c->enc) {
		uint8_t pad = (uint8_t)(16 - n % 16);

		memcpy(block, c->pend, n);
		memset(block + n, pad, pad);
		if ((rc = tpm_crypt_blocks(c, block, n + pad, out)) != SK_OK)
			return rc;
		*outlen = n + pad;
		return SK_OK;
	}
	if (n == 0 || n % 16 != 0)
		return sk_err(SK_EVERIFY, "bad padding (wrong key or corrupt data)");
	if ((rc = tpm_crypt_blocks(c, c->pend, n, res)) != SK_OK)
		return rc;
	{
		/* Check PKCS#7 padding without branching on secret bytes. */
		uint8_t pad = res[n - 1], bad = (uint8_t)(pad == 0) | (uint8_t)(pad > 16);

		for (i = 0; i < 16; i++) {
			uint8_t in_pad = (uint8_t)((16 - i) <= pad);

			bad |= (uint8_t)(in_pad & (res[n - 16 + i] != pad));
		}
		if (bad) {
			OPENSSL_cleanse(res, sizeof(res));
			return sk_err(SK_EVERIFY, "bad padding (wrong key or corrupt data)");
		}
		memcpy(out, res, n - pad);
		*outlen = n - pad;
	}
	OPENSSL_cleanse(res, sizeof(res));
	return SK_OK;
}

static void tpm_cipher_free(struct sk_symop *op)
{
	OPENSSL_cleanse(op, sizeof(struct tpm_cipher));
	free(op);
}

static int tpm_cipher(struct sk_bkey *k, enum sk_cipher_mode mode, int enc, const uint8_t *iv,
		      size_t ivlen, struct sk_symop **out)
{
	struct tpm_cipher *c;

	if (mode == SK_MODE_GCM)
		return sk_err(SK_EUNSUPP, "tpm2: the TPM has no AES-GCM; use --mode cbc or ctr");
	if (ivlen != 16)
		return sk_err(SK_EFAIL, "tpm2: AES needs a 16-byte IV");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	c->k = k;
	c->enc = enc;
	c->mode = mode == SK_MODE_CBC ? TPM2_ALG_CBC : TPM2_ALG_CTR;
	c->iv.size = 16;
	memcpy(c->iv.buffer, iv, 16);
	c->base.update = tpm_cipher_update;
	c->base.final = tpm_cipher_final;
	c->base.free = tpm_cipher_free;
	*out = &c->base;
	return SK_OK;
}

/* ---- HMAC in the TPM: an HMAC sequence object ---- */

struct tpm_mac {
	struct sk_symop base;
	struct sk_bkey *k;
	ESYS_TR seq;
	uint8_t buf[TPM2_MAX_DIGEST_BUFFER];
	size_t nbuf;
};

static int mac_flush(struct tpm_mac *m)
{
	struct tpm_backend *be = m->k->be;
	TPM2B_MAX_BUFFER data = { 0 };
	TSS2_RC r;

	data.size = (UINT16)m->nbuf;
	memcpy(data.buffer, m->buf, m->nbuf);
	r = be->t.Esys_SequenceUpdate(be->esys, m->seq, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				      ESYS_TR_NONE, &data);
	m->nbuf = 0;
	if (r != TSS2_RC_SUCCESS)
		return tpm_err(be, r, "HMAC");
	return SK_OK;
}

static int tpm_mac_update(struct sk_symop *op, const uint8_t *in, size_t n, uint8_t *out,
			  size_t *outlen)
{
	struct tpm_mac *m = (struct tpm_mac *)op;
	int rc;

	(void)out;
	*outlen = 0;
	while (n > 0) {
		size_t k = sizeof(m->buf) - m->nbuf;

		/* Hold a full buffer back: SequenceComplete wants the last bytes. */
		if (k == 0) {
			if ((rc = mac_flush(m)) != SK_OK)
				return rc;
			continue;
		}
		if (k > n)
			k = n;
		memcpy(m->buf + m->nbuf, in, k);
		m->nbuf += k;
		in += k;
		n -= k;
	}
	return SK_OK;
}

static int tpm_mac_final(struct sk_symop *op, uint8_t *out, size_t *outlen, uint8_t *tag)
{
	struct tpm_mac *m = (struct tpm_mac *)op;
	struct tpm_backend *be = m->k->be;
	TPM2B_MAX_BUFFER data = { 0 };
	TPM2B_DIGEST *res = NULL;
	TSS2_RC r;

	(void)tag;
	data.size = (UINT16)m->nbuf;
	memcpy(data.buffer, m->buf, m->nbuf);
	r = be->t.Esys_SequenceComplete(be->esys, m->seq, ESYS_TR_PASSWORD, ESYS_TR_NONE,
					ESYS_TR_NONE, &data, ESYS_TR_RH_NULL, &res, NULL);
	if (r != TSS2_RC_SUCCESS)
		return tpm_err(be, r, "HMAC");
	m->seq = ESYS_TR_NONE; /* completing the sequence flushed it */
	memcpy(out, res->buffer, res->size);
	*outlen = res->size;
	be->t.Esys_Free(res);
	return SK_OK;
}

static void tpm_mac_free(struct sk_symop *op)
{
	struct tpm_mac *m = (struct tpm_mac *)op;

	if (m->seq != ESYS_TR_NONE)
		m->k->be->t.Esys_FlushContext(m->k->be->esys, m->seq);
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
}

static int tpm_mac(struct sk_bkey *k, struct sk_symop **out)
{
	struct tpm_backend *be = k->be;
	TPM2B_AUTH auth = { 0 };   /* the sequence's own: empty */
	struct tpm_mac *m;
	ESYS_TR sess;
	TSS2_RC r;
	int rc;

	if (k->kt->kind != SK_KIND_HMAC)
		return sk_err(SK_EUNSUPP, "tpm2: the TPM has no CMAC; only HMAC keys can MAC");
	if ((rc = key_session(k, &sess)) != SK_OK)
		return rc;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	m->k = k;
	r = be->t.Esys_HMAC_Start(be->esys, k->handle, sess, ESYS_TR_NONE, ESYS_TR_NONE,
				  &auth, hash_alg(k->kt->md), &m->seq);
	if (r != TSS2_RC_SUCCESS) {
		free(m);
		return key_err(k, r, "HMAC");
	}
	m->base.update = tpm_mac_update;
	m->base.final = tpm_mac_final;
	m->base.free = tpm_mac_free;
	*out = &m->base;
	return SK_OK;
}

static int tpm_export(struct sk_bkey *k, EVP_PKEY **priv, struct sk_buf *raw)
{
	(void)k;
	(void)priv;
	(void)raw;
	return sk_err(SK_EUNSUPP, "tpm2: private keys never leave the TPM");
}

/* ---- sealing: a keyedhash data object with no sign/decrypt use ---- */

/* A sealed data object under the parent: data, authorisation value auth
 * (NULL: empty), attributes beyond fixedTPM, fixedParent, userWithAuth. */
static int create_sealed(struct tpm_backend *be, TPMA_OBJECT attrs, const struct sk_auth *auth,
			 const uint8_t *data, size_t n, const char *what, struct sk_buf *blob)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PUBLIC *opub = NULL;
	TPM2B_PRIVATE *opriv = NULL;
	TSS2_RC r;
	int rc;

	if (n > sizeof(sens.sensitive.data.buffer))
		return sk_err(SK_EFAIL, "tpm2: %s: too large to seal", what);
	tmpl.publicArea.type = TPM2_ALG_KEYEDHASH;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					   TPMA_OBJECT_USERWITHAUTH | attrs;
	tmpl.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	set_auth(&sens.sensitive.userAuth, auth);
	sens.sensitive.data.size = (UINT16)n;
	memcpy(sens.sensitive.data.buffer, data, n);
	r = be->t.Esys_Create(be->esys, be->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			      &sens, &tmpl, &outside, &pcrs, &opriv, &opub, NULL, NULL, NULL);
	OPENSSL_cleanse(&sens, sizeof(sens));
	if (r != TSS2_RC_SUCCESS)
		return tpm_err(be, r, what);
	rc = make_blob(be, opub, opriv, blob);
	be->t.Esys_Free(opub);
	be->t.Esys_Free(opriv);
	return rc;
}

static int tpm_seal(struct sk_backend *b, const uint8_t *secret, size_t n, struct sk_buf *blob)
{
	return create_sealed((struct tpm_backend *)b, TPMA_OBJECT_NODA, NULL, secret, n, "sealing",
			     blob);
}

static int tpm_unseal(struct sk_backend *b, const uint8_t *blob, size_t n, struct sk_buf *secret)
{
	struct tpm_backend *be = (struct tpm_backend *)b;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	TPM2B_SENSITIVE_DATA *out = NULL;
	ESYS_TR h;
	TSS2_RC r;
	int rc;

	if ((rc = parse_blob(be, blob, n, &pub, &priv)) != SK_OK)
		return rc;
	if (pub.publicArea.type != TPM2_ALG_KEYEDHASH ||
	    (pub.publicArea.objectAttributes & (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT)))
		return sk_err(SK_EVERIFY, "tpm2: not a sealed data object");
	r = be->t.Esys_Load(be->esys, be->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			    &priv, &pub, &h);
	if (r != TSS2_RC_SUCCESS)
		return tpm_load_err(be, r, "loading the sealed object");
	r = be->t.Esys_Unseal(be->esys, h, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &out);
	be->t.Esys_FlushContext(be->esys, h);
	if (r != TSS2_RC_SUCCESS)
		return tpm_err(be, r, "unsealing");
	rc = sk_buf_add(secret, out->buffer, out->size);
	OPENSSL_cleanse(out, sizeof(*out));
	be->t.Esys_Free(out);
	return rc;
}

/* ---- password check objects ----
 * A password object checked by the TPM is a sealed data object whose
 * authorisation value is the one its keys get (password.h): TPM2_Unseal
 * succeeds only with that value, and fails as a key would, counted by
 * the dictionary-attack protection (no noDA).  What it holds does not
 * matter (a few random bytes); that the TPM accepts the value does. */

static int tpm_auth_new(struct sk_backend *b, const struct sk_auth *auth, struct sk_buf *blob)
{
	uint8_t data[16];
	int rc = sk_random(data, sizeof(data));

	if (rc == SK_OK)
		rc = create_sealed((struct tpm_backend *)b, 0, auth, data, sizeof(data),
				   "creating the password check object", blob);
	OPENSSL_cleanse(data, sizeof(data));
	return rc;
}

static int tpm_auth_check(struct sk_backend *b, const struct sk_auth *auth, const uint8_t *blob,
			  size_t n)
{
	struct tpm_backend *be = (struct tpm_backend *)b;
	const TPMA_OBJECT want = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				 TPMA_OBJECT_USERWITHAUTH;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	TPM2B_SENSITIVE_DATA *out = NULL;
	TPM2B_AUTH a;
	ESYS_TR h = ESYS_TR_NONE, sess = ESYS_TR_NONE;
	TSS2_RC r;
	int rc;

	if ((rc = parse_blob(be, blob, n, &pub, &priv)) != SK_OK)
		return rc;
	/* Only a DA-protected sealed object proves anything: refuse one that
	 * the TPM would let anyone try values on without counting. */
	if (pub.publicArea.type != TPM2_ALG_KEYEDHASH ||
	    (pub.publicArea.objectAttributes & (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT |
						 TPMA_OBJECT_NODA | want)) != want)
		return sk_err(SK_EVERIFY, "tpm2: not a password check object");
	r = be->t.Esys_Load(be->esys, be->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			    &priv, &pub, &h);
	if (r != TSS2_RC_SUCCESS)
		return tpm_load_err(be, r, "loading the password check object");
	set_auth(&a, auth);
	r = be->t.Esys_TR_SetAuth(be->esys, h, &a);
	OPENSSL_cleanse(&a, sizeof(a));
	if (r != TSS2_RC_SUCCESS) {
		rc = tpm_err(be, r, "setting the authorisation");
		goto out;
	}
	if ((rc = start_session(be, &sess)) != SK_OK)
		goto out;
	r = be->t.Esys_Unseal(be->esys, h, sess, ESYS_TR_NONE, ESYS_TR_NONE, &out);
	if (r != TSS2_RC_SUCCESS) {
		rc = tpm_auth_err(be, r, "checking the password", auth->label);
		goto out;
	}
	OPENSSL_cleanse(out, sizeof(*out));
	be->t.Esys_Free(out);
	rc = SK_OK;
out:
	if (sess != ESYS_TR_NONE)
		be->t.Esys_FlushContext(be->esys, sess);
	be->t.Esys_FlushContext(be->esys, h);
	return rc;
}

const struct sk_backend_ops sk_tpm2_backend = {
	.name = "tpm2",
	.open = tpm_open,
	.close = tpm_close,
	.caps = tpm_caps,
	.generate = tpm_generate,
	.import = tpm_import,
	.load = tpm_load,
	.unload = tpm_unload,
	.destroy = tpm_destroy,
	.sign = tpm_sign,
	.decrypt = tpm_decrypt,
	.derive = tpm_derive,
	.cipher = tpm_cipher,
	.mac = tpm_mac,
	.export_private = tpm_export,
	.seal = tpm_seal,
	.unseal = tpm_unseal,
	.auth_new = tpm_auth_new,
	.auth_check = tpm_auth_check,
	.verify = sk_backend_verify_default,
};

#endif /* SECKIT_HAVE_TPM2 */
