/* SPDX-License-Identifier: MIT */
/*
 * The store's test hooks (store.h): crash or fail at a named step of a
 * commit.  This file is compiled twice.  The release binary (seckit) gets
 * the empty functions below, so it reads no test variable at all; the
 * test build (build/test/seckit, the unit-test programs) is compiled with
 * -DSECKIT_TEST_HOOKS and reads SECKIT_TEST_CRASH_AT / SECKIT_TEST_FAIL_AT.
 */
#include "store/store_int.h"

#ifdef SECKIT_TEST_HOOKS

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The hit counter is process-wide test state, the one static here: it only
 * exists so that a test can crash at the N-th pass through a step. */
void sk_st_crash_point(const char *step)
{
	static unsigned hits;
	const char *at = getenv("SECKIT_TEST_CRASH_AT");
	size_t n = strlen(step);
	unsigned long want = 1;

	if (at == NULL || strncmp(at, step, n) != 0 || (at[n] != '\0' && at[n] != ':'))
		return;
	if (at[n] == ':')
		want = strtoul(at + n + 1, NULL, 10);
	if (++hits >= want)
		kill(getpid(), SIGKILL);
}

/* 1 (errno = EIO) if the test asks this I/O step to fail. */
int sk_st_fail_point(const char *step)
{
	const char *at = getenv("SECKIT_TEST_FAIL_AT");

	if (at != NULL && strcmp(at, step) == 0) {
		errno = EIO;
		return 1;
	}
	return 0;
}

#else

void sk_st_crash_point(const char *step)
{
	(void)step;
}

int sk_st_fail_point(const char *step)
{
	(void)step;
	return 0;
}

#endif
