/* SPDX-License-Identifier: MIT */
#ifndef SK_TAR_H
#define SK_TAR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * POSIX tar (ustar, IEEE 1003.1-2001 pax interchange format) for batch
 * output: regular-file entries only, each made in memory as one piece
 * (header, data, padding) so that a writer can append it with one write(2)
 * and a killed writer leaves whole entries followed at most by a piece of
 * one.  A name longer than the ustar name field (100 bytes) gets a pax
 * extended header ('x') with its path record before the entry; nothing
 * else does.  GNU tar, bsdtar and Python's tarfile read them.
 *
 * The reader walks an existing archive of such entries (for --resume):
 * it stops at the end-of-archive blocks, at the end of the file, or at an
 * entry cut short (a header or data that do not fit in what remains), and
 * says where the whole entries end.
 */

#define SK_TAR_BLOCK 512

struct sk_buf;

/* Append the entry name (size n bytes, mode, mtime) with its data to out. */
int sk_tar_entry(struct sk_buf *out, const char *name, const void *data, size_t n, mode_t mode,
		 int64_t mtime);
/* The end of an archive: two zero blocks. */
extern const uint8_t sk_tar_end[2 * SK_TAR_BLOCK];

/* Read the regular entries of the archive on fd from its start, calling
 * fn(arg, name, data, n) for each whole one (data in memory, up to max
 * bytes an entry: larger is SK_ECONFIG); *end is the offset just after the
 * last whole entry (where to append).  SK_ECONFIG for what is not a tar of
 * this writer (a bad checksum, another entry type). */
int sk_tar_scan(int fd, const char *what, size_t max,
		int (*fn)(void *arg, const char *name, const uint8_t *data, size_t n), void *arg,
		off_t *end);

#endif
