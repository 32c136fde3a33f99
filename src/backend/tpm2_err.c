/* SPDX-License-Identifier: MIT */
/* The tpm2 backend's failures: TSS and TPM response codes turned into
 * exit codes and messages (tpm2_int.h). */
#ifdef SECKIT_HAVE_TPM2

#include <stdio.h>

#include "base/err.h"
#include "backend/tpm2_int.h"

/* The response code without the parameter, handle or session number that
 * format-one TPM codes carry. */
TSS2_RC sk_tpm2_base_rc(TSS2_RC r)
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
		switch (sk_tpm2_base_rc(r)) {
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
		case TPM2_RC_POLICY_FAIL:
			return SK_EVERIFY;
		case TPM2_RC_LOCALITY:
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
int sk_tpm2_err(struct tpm_backend *be, TSS2_RC r, const char *what)
{
	const char *text = be->t.Tss2_RC_Decode ? be->t.Tss2_RC_Decode(r) : "unknown";

	if (tpm_unreachable(r))
		return sk_err(SK_EBACKEND, "tpm2: %s: no answer from the TPM through TCTI '%s' (%s, 0x%x)",
			      what, be->tcti_conf, text, (unsigned)r);
	/* Handle 1 of a load or create is the parent: a persistent one named
	 * in the config (tpm_open did not look it up) that the TPM lacks. */
	if (be->parent_handle != 0 && (r & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER &&
	    sk_tpm2_base_rc(r) == TPM2_RC_HANDLE && (r & (TPM2_RC_P | TPM2_RC_S)) == 0 &&
	    (r & TPM2_RC_N_MASK) == TPM2_RC_1)
		return sk_err(SK_EBACKEND, "tpm2: %s: parent handle 0x%08x (tpm2-parent in the config) is not in the TPM",
			      what, (unsigned)be->parent_handle);
	return sk_err(tpm_code(r), "tpm2: %s: %s (0x%x)", what, text, (unsigned)r);
}

/* Loading a blob the TPM refuses: only an integrity failure means that it
 * was made by another TPM or under another parent (or was changed). */
int sk_tpm2_load_err(struct tpm_backend *be, TSS2_RC r, const char *what)
{
	char msg[200];

	if (tpm_code(r) != SK_EVERIFY)
		return sk_tpm2_err(be, r, what);
	snprintf(msg, sizeof(msg), "%s (made by another TPM or under another parent: tpm2-parent?)",
		 what);
	return sk_tpm2_err(be, r, msg);
}

#endif /* SECKIT_HAVE_TPM2 */
