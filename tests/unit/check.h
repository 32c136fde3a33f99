/* SPDX-License-Identifier: MIT */
/* TAP output for the unit tests: CHECK(cond, what) prints "ok N - what",
 * or "not ok N - ..." with the failed condition and the library's last
 * error message, and exits. */
#ifndef SK_UNIT_CHECK_H
#define SK_UNIT_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"

static int n;

#define CHECK(cond, what)                                                       \
	do {                                                                    \
		if (!(cond)) {                                                  \
			printf("not ok %d - %s (%s:%d: %s) [%s]\n", ++n, what,  \
			       __FILE__, __LINE__, #cond, sk_err_msg());        \
			exit(1);                                                \
		}                                                               \
		printf("ok %d - %s\n", ++n, what);                              \
	} while (0)

#endif
