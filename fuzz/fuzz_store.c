/* SPDX-License-Identifier: MIT */
/*
 * Store object files: a store is made once with one object in it; every
 * input replaces that object's file, which is then read back by name and
 * listed.  Without the master key the fuzzer cannot forge a tag, so this
 * covers exactly what an attacker with write access to the store can
 * reach: everything before and around authentication.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

static struct sk_store *st;
static char objpath[4096];

static int nop(const struct sk_obj_info *info, void *arg)
{
	(void)info;
	(void)arg;
	return 0;
}

static int init(void)
{
	static char dir[] = "/tmp/seckit-fuzz-store.XXXXXX";
	struct sk_store_opts o = { .create = 1, .lock_timeout = 5 };
	struct sk_txn *t;
	struct dirent *e;
	DIR *d;

	sk_crypto_init();
	if (mkdtemp(dir) == NULL || sk_store_open(dir, &o, &st) != SK_OK ||
	    sk_txn_begin(st, &t) != SK_OK ||
	    sk_txn_put(t, SK_NS_DATA, "x", "m", 1, "body", 4) != SK_OK ||
	    sk_txn_commit(t) != SK_OK)
		abort();
	d = opendir(dir);
	while (d && (e = readdir(d)) != NULL)
		if (strlen(e->d_name) == 64)
			snprintf(objpath, sizeof(objpath), "%s/%s", dir, e->d_name);
	if (d)
		closedir(d);
	if (objpath[0] == '\0')
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static int ready;
	struct sk_obj_info info;
	struct sk_buf body = { 0 };

	if (!ready)
		ready = !init();
	{
		/* Plain write, no fsync: thousands of runs a second. */
		FILE *f = fopen(objpath, "wb");

		if (f == NULL || fwrite(data, 1, n, f) != n || fclose(f) != 0)
			abort();
	}
	if (sk_store_get(st, SK_NS_DATA, "x", 1u << 20, &info, &body) == SK_OK)
		sk_obj_info_free(&info);
	sk_buf_free(&body);
	sk_store_list(st, 0, nop, NULL);
	sk_err_clear();
	return 0;
}
