/* SPDX-License-Identifier: MIT */
/* Packages: the shared envelope for every type, and the STP body. */
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "format/pkg.h"
#include "format/stp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static const enum sk_pkg_type types[] = {
		SK_PKG_PAYLOAD, SK_PKG_OPAQUE_KEY, SK_PKG_OPAQUE_OBJECT, SK_PKG_OOID, SK_PKG_STP,
	};
	struct sk_stp stp;
	struct sk_pkg p;
	size_t i;

	sk_crypto_init();
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (sk_pkg_parse(data, n, types[i], 1, &p) == SK_OK) {
			char buf[128];

			sk_sigalg_describe(p.sigalg, buf, sizeof(buf));
			sk_pkg_free(&p);
		}
	}
	if (sk_stp_decode(data, n, &stp) == SK_OK)
		sk_stp_free(&stp);
	sk_err_clear();
	return 0;
}
