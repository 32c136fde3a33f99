/* SPDX-License-Identifier: MIT */
/*
 * memscan: count the copies of secrets in a core file or in the memory of
 * a running process, for tests/08-secrets.bats.
 *
 *   memscan --file CORE HEX...   every byte of the file
 *   memscan --pid PID HEX...     every readable mapping of the process,
 *                                through /proc/PID/mem (the process should
 *                                be blocked, so that nothing moves)
 *
 * Prints one line per HEX: the number of places where its bytes occur,
 * forwards or reversed (OpenSSL keeps a BIGNUM as little-endian words, so
 * a private scalar sits in memory byte-reversed).  Where each copy is goes
 * to stderr.  Exit status 0, or 1 if the file or the process cannot be
 * read at all (--pid: a non-dumpable process, for a reader without
 * CAP_SYS_PTRACE).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXPAT 8
#define PATMAX 256
#define CHUNK (1u << 20)

struct pat {
	unsigned char fwd[PATMAX], rev[PATMAX];
	size_t len;
	unsigned long count;
};

static int unhex(const char *s, struct pat *p)
{
	size_t n = strlen(s), i;

	if (n == 0 || n % 2 != 0 || n / 2 > PATMAX)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		p->fwd[i] = (unsigned char)v;
	}
	p->len = n / 2;
	for (i = 0; i < p->len; i++)
		p->rev[i] = p->fwd[p->len - 1 - i];
	return 0;
}

/* Count the matches that start in buf[0, n - keep) (the last keep bytes
 * are searched again with the next chunk). */
static void scan(const unsigned char *buf, size_t n, size_t keep, struct pat *pats, int npat,
		 const char *where, unsigned long long base)
{
	int j;

	for (j = 0; j < npat; j++) {
		struct pat *p = &pats[j];
		size_t i, limit = n > keep ? n - keep : 0;

		for (i = 0; i < limit && i + p->len <= n; i++) {
			int f, r;

			if (buf[i] != p->fwd[0] && buf[i] != p->rev[0])
				continue;
			f = memcmp(buf + i, p->fwd, p->len) == 0;
			r = !f && memcmp(buf + i, p->rev, p->len) == 0;

			if (f || r) {
				p->count++;
				fprintf(stderr, "memscan: pattern %d (%s) at 0x%llx %s\n", j + 1,
					f ? "as is" : "reversed", base + i, where);
			}
		}
	}
}

/* Read [start, end) of fd at those offsets, chunk by chunk, overlapping by
 * the longest pattern.  Returns -1 if nothing at all could be read. */
static int scan_range(int fd, unsigned long long start, unsigned long long end,
		      struct pat *pats, int npat, size_t keep, const char *where)
{
	unsigned char *buf = malloc(CHUNK + PATMAX);
	unsigned long long off = start;
	size_t have = 0;
	int any = 0;

	if (buf == NULL)
		return -1;
	while (off < end) {
		size_t want = CHUNK;
		ssize_t r;

		if (end - off < want)
			want = (size_t)(end - off);
		r = pread(fd, buf + have, want, (off_t)off);
		if (r <= 0)
			break; /* a guard page, or the end of the file */
		any = 1;
		off += (unsigned long long)r;
		have += (size_t)r;
		scan(buf, have, off < end ? keep : 0, pats, npat, where, off - have);
		if (off < end && have > keep) {
			memmove(buf, buf + have - keep, keep);
			have = keep;
		}
	}
	/* Stopped early (end of file, unreadable page): the bytes held back
	 * for the next chunk are the last ones. */
	if (off < end && have > 0)
		scan(buf, have, 0, pats, npat, where, off - have);
	free(buf);
	return any ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct pat pats[MAXPAT];
	size_t keep = 0;
	int npat, j, fd, rc = 0;

	if (argc < 4 || argc - 3 > MAXPAT ||
	    (strcmp(argv[1], "--file") != 0 && strcmp(argv[1], "--pid") != 0)) {
		fprintf(stderr, "usage: memscan (--file CORE | --pid PID) HEX...\n");
		return 2;
	}
	npat = argc - 3;
	memset(pats, 0, sizeof(pats));
	for (j = 0; j < npat; j++) {
		if (unhex(argv[3 + j], &pats[j]) != 0) {
			fprintf(stderr, "memscan: bad pattern '%s'\n", argv[3 + j]);
			return 2;
		}
		if (pats[j].len - 1 > keep)
			keep = pats[j].len - 1;
	}
	if (strcmp(argv[1], "--file") == 0) {
		if ((fd = open(argv[2], O_RDONLY)) < 0) {
			fprintf(stderr, "memscan: %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		if (scan_range(fd, 0, ~0ULL, pats, npat, keep, "in the file") != 0)
			rc = 1;
		close(fd);
	} else {
		char path[64], line[512];
		FILE *maps;
		int readable = 0;

		snprintf(path, sizeof(path), "/proc/%s/maps", argv[2]);
		if ((maps = fopen(path, "r")) == NULL) {
			fprintf(stderr, "memscan: %s: %s\n", path, strerror(errno));
			return 1;
		}
		snprintf(path, sizeof(path), "/proc/%s/mem", argv[2]);
		if ((fd = open(path, O_RDONLY)) < 0) {
			fprintf(stderr, "memscan: %s: %s\n", path, strerror(errno));
			fclose(maps);
			return 1;
		}
		while (fgets(line, sizeof(line), maps) != NULL) {
			unsigned long long a, b;
			char perm[8], where[600];

			if (sscanf(line, "%llx-%llx %7s", &a, &b, perm) != 3 || perm[0] != 'r')
				continue;
			line[strcspn(line, "\n")] = '\0';
			snprintf(where, sizeof(where), "in %s", line);
			if (scan_range(fd, a, b, pats, npat, keep, where) == 0)
				readable = 1;
		}
		fclose(maps);
		close(fd);
		if (!readable) {
			fprintf(stderr, "memscan: %s: nothing readable\n", path);
			rc = 1;
		}
	}
	for (j = 0; j < npat; j++)
		printf("%lu\n", pats[j].count);
	return rc;
}
