/* SPDX-License-Identifier: MIT */
/*
 * The entry point of the loadable module seckit-provider.so (built by
 * `make`, not part of the seckit binary, which registers the same
 * provider as a built-in: provider.h).
 */
#include <openssl/core.h>

#include "provider/provider.h"

__attribute__((visibility("default"))) OSSL_provider_init_fn OSSL_provider_init;

int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		       const OSSL_DISPATCH **out, void **provctx)
{
	return sk_provider_init(handle, in, out, provctx);
}
