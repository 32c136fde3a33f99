/* SPDX-License-Identifier: MIT */
/* The tpm2 backend's authorisation: values, HMAC sessions, and what a
 * refused value means under the TPM's dictionary-attack protection
 * (tpm2_int.h). */
#ifdef SECKIT_HAVE_TPM2

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "backend/tpm2_int.h"

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
int sk_tpm2_auth_err(struct tpm_backend *be, TSS2_RC r, const char *what, const char *label)
{
	struct da_state d;
	char wait[200];

	if ((r & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return sk_tpm2_err(be, r, what);
	switch (sk_tpm2_base_rc(r)) {
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
	return sk_tpm2_err(be, r, what);
}

/* The persistent parent with its public area, which salting a session to
 * it needs (TPM2_ReadPublic, once per run; tpm_open named the handle
 * alone). */
int sk_tpm2_parent_public(struct tpm_backend *be)
{
	ESYS_TR h;
	TSS2_RC r;

	if (be->parent_public)
		return SK_OK;
	/* ESAPI holds one ESYS_TR per TPM handle: the nameless one goes. */
	if (be->parent != ESYS_TR_NONE)
		be->t.Esys_TR_Close(be->esys, &be->parent);
	be->parent = ESYS_TR_NONE;
	r = be->t.Esys_TR_FromTPMPublic(be->esys, be->parent_handle, ESYS_TR_NONE, ESYS_TR_NONE,
					ESYS_TR_NONE, &h);
	if (r != TSS2_RC_SUCCESS) {
		if ((r & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
			return sk_tpm2_err(be, r, "reading the parent's public key");
		return sk_err(SK_EBACKEND, "tpm2: parent handle 0x%08x (tpm2-parent in the config) is not in the TPM",
			      (unsigned)be->parent_handle);
	}
	be->parent = h;
	be->parent_public = 1;
	return SK_OK;
}

/* A session salted to the parent key (TPM2_StartAuthSession with tpmKey:
 * the salt travels encrypted to it, and the session key derived from the
 * salt never crosses the bus), with symmetric parameter encryption sym
 * and session attributes attrs. */
static int start_salted(struct tpm_backend *be, const TPMT_SYM_DEF *sym, TPMA_SESSION attrs,
			ESYS_TR *s)
{
	TSS2_RC r;
	int rc;

	if ((rc = sk_tpm2_parent_public(be)) != SK_OK) {
		*s = ESYS_TR_NONE;
		return rc;
	}
	r = be->t.Esys_StartAuthSession(be->esys, be->parent, ESYS_TR_NONE, ESYS_TR_NONE,
					ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_HMAC, sym,
					TPM2_ALG_SHA256, s);
	if (r != TSS2_RC_SUCCESS) {
		*s = ESYS_TR_NONE;
		return sk_tpm2_err(be, r, "starting an authorisation session");
	}
	r = be->t.Esys_TRSess_SetAttributes(be->esys, *s, attrs, 0xff);
	if (r != TSS2_RC_SUCCESS) {
		be->t.Esys_FlushContext(be->esys, *s);
		*s = ESYS_TR_NONE;
		return sk_tpm2_err(be, r, "setting up an authorisation session");
	}
	return SK_OK;
}

/* An HMAC session for authorising with a value: salted, so the value never
 * crosses the bus in clear, and nothing seen on the bus lets a password be
 * tested without the TPM.  No parameter is encrypted (none of the key
 * operations' is a secret of the TPM's). */
int sk_tpm2_start_session(struct tpm_backend *be, ESYS_TR *s)
{
	const TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };

	return start_salted(be, &sym, TPMA_SESSION_CONTINUESESSION, s);
}

/* A session for one command whose answer is a secret (TPM2_Unseal):
 * salted, the answer's first parameter encrypted (AES-128-CFB under the
 * session key), not continued, so that the TPM flushes it once the command
 * succeeds (the caller flushes it after a failure). */
int sk_tpm2_start_encrypt_session(struct tpm_backend *be, ESYS_TR *s)
{
	const TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
				   .mode.aes = TPM2_ALG_CFB };

	return start_salted(be, &sym, TPMA_SESSION_ENCRYPT, s);
}

/* The session that authorises a use of key k: the empty password for a key
 * without a value, else k's HMAC session (one per loaded key, kept until
 * it is unloaded). */
int sk_tpm2_key_session(struct sk_bkey *k, ESYS_TR *s)
{
	int rc;

	if (!k->has_auth) {
		*s = ESYS_TR_PASSWORD;
		return SK_OK;
	}
	if (k->session == ESYS_TR_NONE && (rc = sk_tpm2_start_session(k->be, &k->session)) != SK_OK)
		return rc;
	*s = k->session;
	return SK_OK;
}

/* A failed private-key operation on k.  A key without a value made by an
 * older seckit is DA-protected too, and refused in a lockout. */
int sk_tpm2_key_err(struct sk_bkey *k, TSS2_RC r, const char *what)
{
	if (k->has_auth)
		return sk_tpm2_auth_err(k->be, r, what, k->label);
	if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && sk_tpm2_base_rc(r) == TPM2_RC_LOCKOUT)
		return sk_tpm2_auth_err(k->be, r, what, "tpm2");
	return sk_tpm2_err(k->be, r, what);
}

/* A policy session needs no salt to authorise: PolicyPCR carries nothing
 * secret, and whether the session satisfies a policy is decided by the
 * TPM's PCRs, not by a value that could be learnt on the bus.  What an
 * unseal under it answers is a secret, though: with encrypt, the session
 * is salted to the parent and encrypts the answer's first parameter, as
 * the master key's HMAC session does (sk_tpm2_start_encrypt_session).
 * Without (reading a golden value, which is no secret) it needs no
 * parent key, so measuring at boot loads nothing. */
int sk_tpm2_policy_pcr_session(struct tpm_backend *be, TPMI_ALG_HASH bank, uint32_t mask,
			       const uint8_t *composite, int encrypt, ESYS_TR *s)
{
	const TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
	const TPMT_SYM_DEF aes = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
				   .mode.aes = TPM2_ALG_CFB };
	TPML_PCR_SELECTION sel = { .count = 1 };
	TPM2B_DIGEST digest = { .size = 0 };
	TSS2_RC r;
	int rc;

	sel.pcrSelections[0].hash = bank;
	sel.pcrSelections[0].sizeofSelect = 3;
	sel.pcrSelections[0].pcrSelect[0] = (BYTE)mask;
	sel.pcrSelections[0].pcrSelect[1] = (BYTE)(mask >> 8);
	sel.pcrSelections[0].pcrSelect[2] = (BYTE)(mask >> 16);
	if (composite != NULL) {
		digest.size = 32;
		memcpy(digest.buffer, composite, 32);
	}
	if (encrypt && (rc = sk_tpm2_parent_public(be)) != SK_OK) {
		*s = ESYS_TR_NONE;
		return rc;
	}
	r = be->t.Esys_StartAuthSession(be->esys, encrypt ? be->parent : ESYS_TR_NONE, ESYS_TR_NONE,
					ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_POLICY,
					encrypt ? &aes : &none, TPM2_ALG_SHA256, s);
	if (r != TSS2_RC_SUCCESS) {
		*s = ESYS_TR_NONE;
		return sk_tpm2_err(be, r, "starting a policy session");
	}
	r = be->t.Esys_TRSess_SetAttributes(be->esys, *s, TPMA_SESSION_CONTINUESESSION |
					    (encrypt ? TPMA_SESSION_ENCRYPT : 0), 0xff);
	if (r == TSS2_RC_SUCCESS)
		r = be->t.Esys_PolicyPCR(be->esys, *s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					 &digest, &sel);
	if (r != TSS2_RC_SUCCESS) {
		be->t.Esys_FlushContext(be->esys, *s);
		*s = ESYS_TR_NONE;
		if ((r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER &&
		    sk_tpm2_base_rc(r) == TPM2_RC_VALUE && composite != NULL)
			return sk_err(SK_EVERIFY, "tpm2: the PCRs do not hold the values of the policy");
		return sk_tpm2_err(be, r, "TPM2_PolicyPCR");
	}
	return SK_OK;
}

void sk_tpm2_set_auth(TPM2B_AUTH *a, const struct sk_auth *auth)
{
	memset(a, 0, sizeof(*a));
	if (auth != NULL) {
		a->size = sizeof(auth->value);
		memcpy(a->buffer, auth->value, sizeof(auth->value));
	}
}

#endif /* SECKIT_HAVE_TPM2 */
