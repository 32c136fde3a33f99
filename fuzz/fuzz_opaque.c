/* SPDX-License-Identifier: MIT */
/* The opaque formats past the shared envelope: opaque-key and OOID bodies
 * (with their ECIES envelopes), the opaque object's header, the OOInfo
 * file (YAML) and the OOInfo DER that an OOID carries once decrypted. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "format/ecies.h"
#include "base/err.h"
#include "format/okey.h"
#include "format/oo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	const unsigned char *q = data;
	struct sk_okey_desc kd;
	struct sk_oo_desc od;
	struct sk_ooinfo info;
	SK_ECIES *env;
	char path[64];
	int fd;

	sk_crypto_init();
	sk_okey_describe(data, n, &kd);
	if (sk_ooinfo_decode(data, n, &info) == SK_OK)
		sk_ooinfo_cleanse(&info);
	if ((env = d2i_SK_ECIES(NULL, &q, (long)n)) != NULL) {
		struct sk_ecies_alg alg;
		char curve[32];

		sk_ecies_describe(env, &alg, curve);
		SK_ECIES_free(env);
	}
	/* Objects, OOIDs and OOInfo files are read from a path. */
	fd = memfd_create("fuzz-opaque", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, n) == (ssize_t)n) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		sk_oo_describe(path, &od);
		if (sk_ooinfo_read(path, &info) == SK_OK)
			sk_ooinfo_cleanse(&info);
	}
	close(fd);
	sk_err_clear();
	return 0;
}
