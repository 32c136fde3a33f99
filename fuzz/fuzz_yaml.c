/* SPDX-License-Identifier: MIT */
/* The YAML reader and the config schema on top of it. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctx/config.h"
#include "crypto/crypto.h"
#include "base/err.h"
#include "base/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct sk_config cfg;
	struct sk_ydoc doc;
	char path[64];
	int fd;

	sk_crypto_init();
	if (sk_yaml_load_buf("fuzz.yaml", data, n, &doc) == SK_OK)
		sk_yaml_free(&doc);
	/* The config loader reads a path: hand it an in-memory file. */
	fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, n) == (ssize_t)n) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		sk_config_defaults(&cfg);
		sk_config_load(path, &cfg);
		sk_config_free(&cfg);
	}
	close(fd);
	sk_err_clear();
	return 0;
}
