/* SPDX-License-Identifier: MIT */
/* pkcs11 backend: return values and mechanisms -> exit codes and messages
 * (pkcs11_int.h). */
#ifdef SECKIT_HAVE_PKCS11

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/pkcs11_int.h"
#include "base/err.h"
#include "base/util.h"

/* ---- messages ---- */

const char *sk_p11_rv_name(CK_RV rv)
{
	switch (rv) {
#define N(x) case x: return #x;
	N(CKR_GENERAL_ERROR) N(CKR_HOST_MEMORY) N(CKR_FUNCTION_FAILED) N(CKR_ARGUMENTS_BAD)
	N(CKR_ATTRIBUTE_SENSITIVE) N(CKR_ATTRIBUTE_TYPE_INVALID) N(CKR_ATTRIBUTE_VALUE_INVALID)
	N(CKR_DATA_INVALID) N(CKR_DATA_LEN_RANGE) N(CKR_DEVICE_ERROR) N(CKR_DEVICE_MEMORY)
	N(CKR_DEVICE_REMOVED) N(CKR_ENCRYPTED_DATA_INVALID) N(CKR_ENCRYPTED_DATA_LEN_RANGE)
	N(CKR_FUNCTION_NOT_SUPPORTED) N(CKR_KEY_HANDLE_INVALID) N(CKR_KEY_SIZE_RANGE)
	N(CKR_KEY_TYPE_INCONSISTENT) N(CKR_KEY_FUNCTION_NOT_PERMITTED) N(CKR_MECHANISM_INVALID)
	N(CKR_MECHANISM_PARAM_INVALID) N(CKR_OBJECT_HANDLE_INVALID) N(CKR_OPERATION_ACTIVE)
	N(CKR_PIN_INCORRECT) N(CKR_PIN_INVALID) N(CKR_PIN_LEN_RANGE) N(CKR_PIN_EXPIRED)
	N(CKR_PIN_LOCKED) N(CKR_SESSION_CLOSED) N(CKR_SESSION_HANDLE_INVALID)
	N(CKR_TEMPLATE_INCOMPLETE) N(CKR_TEMPLATE_INCONSISTENT) N(CKR_TOKEN_NOT_PRESENT)
	N(CKR_TOKEN_NOT_RECOGNIZED) N(CKR_TOKEN_WRITE_PROTECTED) N(CKR_USER_NOT_LOGGED_IN)
	N(CKR_USER_PIN_NOT_INITIALIZED) N(CKR_DOMAIN_PARAMS_INVALID) N(CKR_CURVE_NOT_SUPPORTED)
	N(CKR_BUFFER_TOO_SMALL) N(CKR_CRYPTOKI_NOT_INITIALIZED) N(CKR_SIGNATURE_INVALID)
#undef N
	}
	return NULL;
}

/* The exit code and message for a failed call: what failed, then the
 * token's word for it. */
int sk_p11_fail(struct p11_backend *be, CK_RV rv, const char *what)
{
	const char *n = sk_p11_rv_name(rv);
	char code[32];
	int rc;

	if (n == NULL) {
		snprintf(code, sizeof(code), "CKR 0x%lx", (unsigned long)rv);
		n = code;
	}
	switch (rv) {
	case CKR_PIN_INCORRECT: case CKR_PIN_INVALID: case CKR_PIN_LEN_RANGE:
	case CKR_USER_NOT_LOGGED_IN: case CKR_PIN_EXPIRED:
		rc = SK_EAUTH;
		break;
	case CKR_PIN_LOCKED:
		return sk_err(SK_EBACKEND, "token '%s': %s: the user PIN is locked (the security officer must unblock it)",
			      be->label, what);
	case CKR_DEVICE_REMOVED: case CKR_TOKEN_NOT_PRESENT: case CKR_DEVICE_ERROR:
	case CKR_SESSION_CLOSED: case CKR_SESSION_HANDLE_INVALID: case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
		return sk_err(SK_EBACKEND, "token '%s': %s: the token is not reachable (%s)", be->label,
			      what, n);
	case CKR_GENERAL_ERROR:
		/* The module cannot go on (PKCS#11 5.1.3): tpm2-pkcs11's answer
		 * when its TPM or tpm2-abrmd went away during the command. */
		return sk_err(SK_EBACKEND, "token '%s': %s: the module failed and cannot go on (%s; is the device, or its broker, still there?)",
			      be->label, what, n);
	case CKR_MECHANISM_INVALID: case CKR_MECHANISM_PARAM_INVALID: case CKR_KEY_SIZE_RANGE:
	case CKR_KEY_TYPE_INCONSISTENT: case CKR_KEY_FUNCTION_NOT_PERMITTED:
	case CKR_FUNCTION_NOT_SUPPORTED: case CKR_CURVE_NOT_SUPPORTED:
	case CKR_DOMAIN_PARAMS_INVALID: case CKR_ATTRIBUTE_SENSITIVE:
		rc = SK_EUNSUPP;
		break;
	case CKR_ENCRYPTED_DATA_INVALID: case CKR_ENCRYPTED_DATA_LEN_RANGE:
	case CKR_SIGNATURE_INVALID:
		rc = SK_EVERIFY;
		break;
	default:
		rc = SK_EFAIL;
	}
	return sk_err(rc, "token '%s': %s: %s", be->label, what, n);
}

static const struct {
	CK_MECHANISM_TYPE m;
	const char *name;
} mech_names[] = {
	{ CKM_EC_KEY_PAIR_GEN, "CKM_EC_KEY_PAIR_GEN" },
	{ CKM_RSA_PKCS_KEY_PAIR_GEN, "CKM_RSA_PKCS_KEY_PAIR_GEN" },
	{ CKM_ECDSA, "CKM_ECDSA" },
	{ CKM_RSA_PKCS, "CKM_RSA_PKCS" },
	{ CKM_RSA_PKCS_PSS, "CKM_RSA_PKCS_PSS" },
	{ CKM_RSA_PKCS_OAEP, "CKM_RSA_PKCS_OAEP" },
	{ CKM_ECDH1_DERIVE, "CKM_ECDH1_DERIVE" },
	{ CKM_AES_KEY_GEN, "CKM_AES_KEY_GEN" },
	{ CKM_GENERIC_SECRET_KEY_GEN, "CKM_GENERIC_SECRET_KEY_GEN" },
	{ CKM_AES_CBC, "CKM_AES_CBC" },
	{ CKM_AES_CTR, "CKM_AES_CTR" },
	{ CKM_AES_ECB, "CKM_AES_ECB" },
	{ CKM_AES_CMAC, "CKM_AES_CMAC" },
	{ CKM_SHA256_HMAC, "CKM_SHA256_HMAC" },
	{ CKM_SHA384_HMAC, "CKM_SHA384_HMAC" },
	{ CKM_SHA512_HMAC, "CKM_SHA512_HMAC" },
};

/* The hash-and-sign mechanisms a key may be restricted to
 * (CKA_ALLOWED_MECHANISMS): named in messages, not used unless a key asks
 * for them, so not in the list above (--version's and doctor's). */
static const struct {
	CK_MECHANISM_TYPE m;
	const char *name;
} hash_mech_names[] = {
	{ CKM_ECDSA_SHA1, "CKM_ECDSA_SHA1" },
	{ CKM_ECDSA_SHA224, "CKM_ECDSA_SHA224" },
	{ CKM_ECDSA_SHA256, "CKM_ECDSA_SHA256" },
	{ CKM_ECDSA_SHA384, "CKM_ECDSA_SHA384" },
	{ CKM_ECDSA_SHA512, "CKM_ECDSA_SHA512" },
	{ CKM_SHA1_RSA_PKCS, "CKM_SHA1_RSA_PKCS" },
	{ CKM_SHA224_RSA_PKCS, "CKM_SHA224_RSA_PKCS" },
	{ CKM_SHA256_RSA_PKCS, "CKM_SHA256_RSA_PKCS" },
	{ CKM_SHA384_RSA_PKCS, "CKM_SHA384_RSA_PKCS" },
	{ CKM_SHA512_RSA_PKCS, "CKM_SHA512_RSA_PKCS" },
	{ CKM_SHA1_RSA_PKCS_PSS, "CKM_SHA1_RSA_PKCS_PSS" },
	{ CKM_SHA224_RSA_PKCS_PSS, "CKM_SHA224_RSA_PKCS_PSS" },
	{ CKM_SHA256_RSA_PKCS_PSS, "CKM_SHA256_RSA_PKCS_PSS" },
	{ CKM_SHA384_RSA_PKCS_PSS, "CKM_SHA384_RSA_PKCS_PSS" },
	{ CKM_SHA512_RSA_PKCS_PSS, "CKM_SHA512_RSA_PKCS_PSS" },
};

const char *sk_p11_mech_name(CK_MECHANISM_TYPE m)
{
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(mech_names); i++)
		if (mech_names[i].m == m)
			return mech_names[i].name;
	for (i = 0; i < SK_ARRAY_SIZE(hash_mech_names); i++)
		if (hash_mech_names[i].m == m)
			return hash_mech_names[i].name;
	return "a mechanism";
}

/* The token's mechanisms, read at the first need: room for many in one
 * call, their number first only for a token with more. */
static CK_RV read_mechs(struct p11_backend *be)
{
	CK_ULONG n = 256;
	CK_RV rv;

	if ((be->mechs = calloc(n, sizeof(*be->mechs))) == NULL)
		return CKR_HOST_MEMORY;
	rv = P11(be, C_GetMechanismList, be->slot, be->mechs, &n);
	if (rv == CKR_BUFFER_TOO_SMALL) {
		free(be->mechs);
		be->mechs = NULL;
		if ((rv = P11(be, C_GetMechanismList, be->slot, NULL, &n)) != CKR_OK)
			return rv;
		if ((be->mechs = calloc(n ? n : 1, sizeof(*be->mechs))) == NULL)
			return CKR_HOST_MEMORY;
		rv = P11(be, C_GetMechanismList, be->slot, be->mechs, &n);
	}
	if (rv == CKR_OK)
		be->nmechs = n;
	return rv;
}

/* The mechanisms seckit uses, split into those the token lists and those
 * it lacks (at most max each). */
void sk_p11_mech_split(struct p11_backend *be, const char **has, size_t *nhas,
		       const char **lacks, size_t *nlacks, size_t max)
{
	size_t i;
	CK_ULONG j;

	*nhas = *nlacks = 0;
	if (!be->mechs_read) {
		if (read_mechs(be) != CKR_OK) {
			free(be->mechs);
			be->mechs = NULL;
			be->nmechs = 0; /* none known: all lacking */
		}
		be->mechs_read = 1;
	}
	for (i = 0; i < SK_ARRAY_SIZE(mech_names); i++) {
		for (j = 0; j < be->nmechs && be->mechs[j] != mech_names[i].m; j++)
			;
		if (j < be->nmechs && *nhas < max)
			has[(*nhas)++] = mech_names[i].name;
		else if (j == be->nmechs && *nlacks < max)
			lacks[(*nlacks)++] = mech_names[i].name;
	}
}

/* SK_OK if the token lists mechanism m, else SK_EUNSUPP naming it; a
 * token without C_GetMechanismList: SK_OK (the operation will tell). */
int sk_p11_need_mech(struct p11_backend *be, CK_MECHANISM_TYPE m, const char *what)
{
	CK_ULONG i;
	CK_RV rv;

	if (!be->mechs_read) {
		rv = read_mechs(be);
		if (rv == CKR_HOST_MEMORY)
			return sk_err(SK_EFAIL, "out of memory");
		if (rv != CKR_OK) {
			free(be->mechs);
			be->mechs = NULL;
			if (rv != CKR_FUNCTION_NOT_SUPPORTED)
				return sk_p11_fail(be, rv, "listing mechanisms");
		}
		be->mechs_read = 1;
	}
	if (be->mechs == NULL)
		return SK_OK;
	for (i = 0; i < be->nmechs; i++)
		if (be->mechs[i] == m)
			return SK_OK;
	return sk_err(SK_EUNSUPP, "token '%s' cannot %s: it lacks %s", be->label, what,
		      sk_p11_mech_name(m));
}

int sk_p11_has_mech(struct p11_backend *be, CK_MECHANISM_TYPE m)
{
	int rc = sk_p11_need_mech(be, m, "use it");

	if (rc == SK_OK)
		return 1;
	sk_err_clear();
	return rc == SK_EUNSUPP ? 0 : -1;
}


void sk_p11_mute(struct p11_backend *be)
{
	be->saved_err = -1;
	if (!be->mute)
		return;
	if (be->null_fd < 0 && (be->null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		return;
	fflush(stderr);
	/* No stderr to save (fd 2 closed): nothing to hide either. */
	if ((be->saved_err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)) < 0)
		return;
	if (dup2(be->null_fd, STDERR_FILENO) < 0) {
		close(be->saved_err);
		be->saved_err = -1;
	}
}

CK_RV sk_p11_unmute(struct p11_backend *be, CK_RV rv)
{
	if (be->saved_err < 0)
		return rv;
	fflush(stderr);
	dup2(be->saved_err, STDERR_FILENO);
	close(be->saved_err);
	be->saved_err = -1;
	return rv;
}

#endif /* SECKIT_HAVE_PKCS11 */
