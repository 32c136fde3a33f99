/* SPDX-License-Identifier: MIT */
/*
 * tpm2-tss, loaded with dlopen() the first time the tpm2 backend is
 * opened (be_tpm2.c says why): every other command keeps the start-up
 * cost of a static binary, and a device without tpm2-tss still runs the
 * soft backend.
 */
#ifdef SECKIT_HAVE_TPM2

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "backend/tpm2_int.h"

void sk_tpm2_unload_libs(struct tss *t)
{
	if (t->esys) dlclose(t->esys);
	if (t->tctildr) dlclose(t->tctildr);
	if (t->mu) dlclose(t->mu);
	if (t->rc) dlclose(t->rc);
	memset(t, 0, sizeof(*t));
}

int sk_tpm2_load_libs(struct tss *t)
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

			sk_tpm2_unload_libs(t);
			return rc;
		}
	}
#define X(lib, fn) \
	if ((*(void **)&t->fn = dlsym(t->lib, #fn)) == NULL) { \
		sk_tpm2_unload_libs(t); \
		return sk_err(SK_EBACKEND, "backend tpm2: %s missing from tpm2-tss", #fn); \
	}
	TSS_FUNCS(X)
#undef X
	return SK_OK;
}

#endif /* SECKIT_HAVE_TPM2 */
