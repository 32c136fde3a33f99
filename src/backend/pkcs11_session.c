/* SPDX-License-Identifier: MIT */
/* pkcs11 backend: the module (dlopen, C_Initialize), the token a label,
 * serial, slot or URI names, and logging in to it (pkcs11_int.h). */
#ifdef SECKIT_HAVE_PKCS11

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/pkcs11_int.h"
#include "base/err.h"
#include "base/util.h"

int sk_p11_load_module(struct p11_backend *be, const char *path)
{
	CK_RV (*get_list)(CK_FUNCTION_LIST_PTR_PTR);
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	/* A sanitizer build keeps the module mapped after dlclose, so that
	 * LeakSanitizer can name it in a leak of the module's own (and
	 * tests/lsan.supp can leave those out). */
	be->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | (SK_ASAN ? RTLD_NODELETE : 0));
	if (be->dl == NULL) {
		const char *e = dlerror();

		return sk_err(SK_EBACKEND, "backend pkcs11: cannot load module '%s': %s", path,
			      e ? e : "unknown error");
	}
	*(void **)&get_list = dlsym(be->dl, "C_GetFunctionList");
	if (get_list == NULL)
		return sk_err(SK_EBACKEND, "backend pkcs11: '%s' is not a PKCS#11 module (it has no C_GetFunctionList)",
			      path);
	if ((rv = get_list(&be->f)) != CKR_OK || be->f == NULL) {
		be->f = NULL;
		return sk_err(SK_EBACKEND, "backend pkcs11: '%s': C_GetFunctionList failed (0x%lx)",
			      path, (unsigned long)rv);
	}
	if (be->f->version.major != 2)
		return sk_err(SK_EBACKEND, "backend pkcs11: '%s' speaks PKCS#11 %u.%u (seckit needs 2.x)",
			      path, be->f->version.major, be->f->version.minor);
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = P11(be, C_Initialize, &args);
	if (rv == CKR_OK)
		be->initialized = 1;
	else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
		return sk_err(SK_EBACKEND, "backend pkcs11: '%s': C_Initialize failed (%s)", path,
			      sk_p11_rv_name(rv) ? sk_p11_rv_name(rv) : "error");
	return SK_OK;
}

int sk_p11_find_token(struct p11_backend *be, const char *spec, const struct sk_p11_uri *u)
{
	CK_SLOT_ID few[16], *slots = few;
	CK_ULONG n = SK_ARRAY_SIZE(few), i, found = 0;
	CK_TOKEN_INFO ti;
	char names[200] = "", lbl[33];
	size_t len = 0;
	CK_RV rv;
	int rc = SK_OK;

	/* Room for a few slots: one call; more: their number, then them. */
	rv = P11(be, C_GetSlotList, CK_TRUE, slots, &n);
	if (rv == CKR_BUFFER_TOO_SMALL) {
		slots = NULL;
		if ((rv = P11(be, C_GetSlotList, CK_TRUE, NULL, &n)) == CKR_OK && n > 0 &&
		    (slots = calloc(n, sizeof(*slots))) == NULL)
			return sk_err(SK_EFAIL, "out of memory");
		if (rv == CKR_OK && n > 0)
			rv = P11(be, C_GetSlotList, CK_TRUE, slots, &n);
	}
	if (rv != CKR_OK) {
		if (slots != few)
			free(slots);
		return sk_err(SK_EBACKEND, "backend pkcs11: C_GetSlotList failed (%s)",
			      sk_p11_rv_name(rv) ? sk_p11_rv_name(rv) : "error");
	}
	for (i = 0; i < n; i++) {
		if (P11(be, C_GetTokenInfo, slots[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		sk_p11_trim(lbl, ti.label, sizeof(ti.label));
		if (len < sizeof(names))
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s'%s'",
						len ? ", " : "", lbl);
		if (!sk_p11_token_matches(&ti, slots[i], spec, u))
			continue;
		if (found++ == 0) {
			be->slot = slots[i];
			be->ti = ti;
			memcpy(be->label, lbl, sizeof(lbl));
		}
	}
	if (slots != few)
		free(slots);
	if (found == 0 && (spec != NULL || u != NULL))
		rc = sk_err(SK_EBACKEND, "backend pkcs11: no token '%s' (the module has: %s)",
			    u != NULL && u->token[0] ? u->token : spec ? spec : "matching the URI",
			    names[0] ? names : "no initialised token");
	else if (found == 0)
		rc = sk_err(SK_EBACKEND, "backend pkcs11: the module has no initialised token");
	else if (found > 1)
		rc = sk_err(SK_EBACKEND, "backend pkcs11: %lu tokens match (%s): name one by label, serial or slot",
			    (unsigned long)found, names);
	return rc;
}

/* Log in as the user (once per session), or for one operation
 * (context: CKA_ALWAYS_AUTHENTICATE). */
int sk_p11_login(struct p11_backend *be, int context)
{
	struct sk_buf pin = { 0 }, *use = &pin;
	char what[80], extra[96] = "";
	CK_TOKEN_INFO ti;
	CK_RV rv;
	int rc;

	if (!context && (be->logged_in || !(be->ti.flags & CKF_LOGIN_REQUIRED)))
		return SK_OK;
	if (be->ti.flags & CKF_USER_PIN_LOCKED)
		return sk_p11_fail(be, CKR_PIN_LOCKED, "logging in");
	snprintf(what, sizeof(what), "PIN of token '%s'", be->label);
	if (be->pin == NULL)
		return sk_err(SK_EAUTH, "token '%s' needs its user PIN (none given)", be->label);
	/* A context-specific login after the user's: the PIN that logged
	 * the user in (a PIN from a descriptor or stdin cannot be read
	 * twice, and a prompt at each signature is no use to a script). */
	if (context && be->pin_kept)
		use = &be->pin_buf;
	else if ((rc = be->pin(be->pin_arg, what, &pin)) != SK_OK) {
		sk_buf_cleanse_free(&pin);
		return rc;
	}
	rv = P11(be, C_Login, be->s, context ? CKU_CONTEXT_SPECIFIC : CKU_USER,
			    use->len ? use->p : (CK_UTF8CHAR_PTR) "", use->len);
	if (rv == CKR_USER_ALREADY_LOGGED_IN)
		rv = CKR_OK;
	if (rv == CKR_OK && !context && !be->pin_kept) {
		/* Kept until the backend closes (cleansed there). */
		be->pin_buf = pin;
		be->pin_kept = 1;
		memset(&pin, 0, sizeof(pin));
	}
	sk_buf_cleanse_free(&pin);
	if (rv == CKR_OK) {
		be->logged_in |= !context;
		return SK_OK;
	}
	if (rv == CKR_PIN_INCORRECT && P11(be, C_GetTokenInfo, be->slot, &ti) == CKR_OK) {
		if (ti.flags & CKF_USER_PIN_LOCKED)
			return sk_p11_fail(be, CKR_PIN_LOCKED, "logging in");
		if (ti.flags & CKF_USER_PIN_FINAL_TRY)
			snprintf(extra, sizeof(extra), " (one try left before the PIN locks)");
		else if (ti.flags & CKF_USER_PIN_COUNT_LOW)
			snprintf(extra, sizeof(extra), " (few tries left before the PIN locks)");
	}
	if (rv == CKR_PIN_INCORRECT)
		return sk_err(SK_EAUTH, "token '%s': wrong PIN%s", be->label, extra);
	return sk_p11_fail(be, rv, "logging in");
}

#endif /* SECKIT_HAVE_PKCS11 */
