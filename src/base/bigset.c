/* SPDX-License-Identifier: MIT */
/* A large exact set in bounded memory (bigset.h: the design). */
#include "base/bigset.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/err.h"
#include "base/strset.h"

#define PARTS 1024u             /* partitions: the hash's top 10 bits */
#define PART_SHIFT 54
#define CHUNK 4096u             /* a partition's unit, in memory and on disk */
/* A chunk: u64 offset + 1 of the partition's previous chunk on disk (0:
 * none), u32 bytes of records after the header, u32 0; then the records:
 * u8 length, u64 number, the string's bytes. */
#define HDR 16u
#define BITS_MIN ((size_t)1 << 16)      /* 8 kB */
#define BITS_MAX ((size_t)1 << 27)      /* 16 MB */
#define BITS_PER_STR 16u                /* the filter doubles below this */
#define BLOCK 512u                      /* bits: one cache line */
#define NHASH 8u
#define RBUF (16u * CHUNK)              /* reading the file whole (rebuild) */

struct sk_bigset {
	uint8_t key[16];
	uint64_t *bits;         /* the filter: nbits bits in 512-bit blocks */
	size_t nbits;
	uint64_t n;
	uint8_t *part;          /* PARTS chunks being filled (calloc: untouched
				 * pages cost nothing until used) */
	int fd;                 /* the spill file, -1 until one is needed */
	uint64_t end;           /* its size: whole chunks */
	char *tmpdir;
};

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint8_t *part_of(const struct sk_bigset *s, uint64_t h)
{
	return s->part + (size_t)(h >> PART_SHIFT) * CHUNK;
}

/* The filter's block from bits 20.. of the hash (the partition uses the
 * top 10, at most 18 are used here), the 8 bits in it from bits 0..17:
 * a + i*b with b odd, 8 distinct positions of the 512. */
static int filter(uint64_t *bits, size_t nbits, uint64_t h, int set)
{
	uint64_t *blk = bits + (size_t)((h >> 20) & (nbits / BLOCK - 1)) * (BLOCK / 64);
	unsigned a = (unsigned)(h & (BLOCK - 1)), b = (unsigned)((h >> 9) & (BLOCK - 1)) | 1u, i;
	int all = 1;

	for (i = 0; i < NHASH; i++) {
		unsigned pos = (a + i * b) & (BLOCK - 1);
		uint64_t m = (uint64_t)1 << (pos & 63);

		if (!(blk[pos >> 6] & m))
			all = 0;
		if (set)
			blk[pos >> 6] |= m;
	}
	return all;
}

static uint64_t hash(const struct sk_bigset *s, const char *str, size_t len)
{
	return sk_siphash24(s->key, str, len);
}

int sk_bigset_new(const char *tmpdir, struct sk_bigset **out)
{
	struct sk_bigset *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	s->fd = -1;
	s->nbits = BITS_MIN;
	s->bits = calloc(BITS_MIN / 64, sizeof(uint64_t));
	s->part = calloc(PARTS, CHUNK);
	s->tmpdir = strdup(tmpdir != NULL && tmpdir[0] != '\0' ? tmpdir : "/tmp");
	if (s->bits == NULL || s->part == NULL || s->tmpdir == NULL) {
		sk_bigset_free(s);
		return sk_err(SK_EFAIL, "out of memory");
	}
	if (getrandom(s->key, sizeof(s->key), 0) != (ssize_t)sizeof(s->key)) {
		sk_bigset_free(s);
		return sk_err_sys(SK_EFAIL, "random number generator");
	}
	*out = s;
	return SK_OK;
}

void sk_bigset_free(struct sk_bigset *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->bits);
	free(s->part);
	free(s->tmpdir);
	free(s);
}

uint64_t sk_bigset_count(const struct sk_bigset *s)
{
	return s->n;
}

uint64_t sk_bigset_spilled(const struct sk_bigset *s)
{
	return s->end;
}

/* The records of one chunk: calls fn on each; stops at fn's nonzero. */
typedef int (*rec_fn)(void *arg, const uint8_t *str, size_t len, uint64_t val);

static int each_rec(const uint8_t *chunk, rec_fn fn, void *arg)
{
	uint32_t used = get32(chunk + 8);
	const uint8_t *p = chunk + HDR, *end;
	int r;

	if (used > CHUNK - HDR)
		return -1; /* not ours: the file was changed under us */
	end = p + used;
	while (p < end) {
		size_t len = p[0];

		if (len == 0 || (size_t)(end - p) < 9 + len)
			return -1;
		if ((r = fn(arg, p + 9, len, get64(p + 1))) != 0)
			return r;
		p += 9 + len;
	}
	return 0;
}

struct find {
	const char *str;
	size_t len;
	uint64_t val;
};

static int find_fn(void *arg, const uint8_t *str, size_t len, uint64_t val)
{
	struct find *f = arg;

	if (len != f->len || memcmp(str, f->str, len) != 0)
		return 0;
	f->val = val;
	return 1;
}

static int spill_err(const struct sk_bigset *s, const char *what)
{
	return sk_err_sys(SK_EFAIL, "%s the temporary file in '%s' (TMPDIR)", what, s->tmpdir);
}

/* Look for str in its partition: 1 found (f->val), 0 not, or an error
 * code (negated). */
static int confirm(const struct sk_bigset *s, uint64_t h, struct find *f)
{
	const uint8_t *mem = part_of(s, h);
	uint8_t buf[CHUNK];
	uint64_t prev;
	int r;

	if ((r = each_rec(mem, find_fn, f)) != 0)
		return r > 0 ? 1 : -sk_err(SK_EFAIL, "the set of strings is damaged");
	for (prev = get64(mem); prev != 0; prev = get64(buf)) {
		uint64_t off = prev - 1;
		ssize_t got = pread(s->fd, buf, CHUNK, (off_t)off);

		if (got != (ssize_t)CHUNK) {
			if (got >= 0)
				errno = EIO;
			return -spill_err(s, "reading");
		}
		if ((r = each_rec(buf, find_fn, f)) != 0)
			return r > 0 ? 1 : -sk_err(SK_EFAIL, "the temporary file in '%s' is damaged", s->tmpdir);
		if (get64(buf) > off) /* chains only go back */
			return -sk_err(SK_EFAIL, "the temporary file in '%s' is damaged", s->tmpdir);
	}
	return 0;
}

int sk_bigset_get(const struct sk_bigset *s, const char *str, int *found, uint64_t *val)
{
	size_t len = strlen(str);
	struct find f = { str, len, 0 };
	uint64_t h;
	int r;

	*found = 0;
	if (len == 0 || len > 255 || s->n == 0)
		return SK_OK;
	if (s->bits == NULL)
		return sk_err(SK_EFAIL, "out of memory"); /* a grow that failed */
	h = hash(s, str, len);
	if (!filter(s->bits, s->nbits, h, 0))
		return SK_OK;
	if ((r = confirm(s, h, &f)) < 0)
		return -r;
	*found = r;
	if (r && val != NULL)
		*val = f.val;
	return SK_OK;
}

/* An unnamed 0600 file in tmpdir, gone once closed. */
static int spill_open(struct sk_bigset *s)
{
	char path[PATH_MAX];

	s->fd = open(s->tmpdir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (s->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		if ((size_t)snprintf(path, sizeof(path), "%s/.seckit-set.XXXXXX", s->tmpdir) >= sizeof(path)) {
			errno = ENAMETOOLONG;
			return spill_err(s, "creating");
		}
		if ((s->fd = mkostemp(path, O_CLOEXEC)) >= 0)
			(void)unlink(path);
	}
	return s->fd < 0 ? spill_err(s, "creating") : SK_OK;
}

/* A full chunk to the end of the file; the partition starts again,
 * naming it. */
static int flush(struct sk_bigset *s, uint8_t *chunk)
{
	const uint8_t *p = chunk;
	size_t left = CHUNK;
	off_t off = (off_t)s->end;
	int rc;

	if (s->fd < 0 && (rc = spill_open(s)) != SK_OK)
		return rc;
	while (left > 0) {
		ssize_t w = pwrite(s->fd, p, left, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			return spill_err(s, "writing");
		}
		p += w;
		off += w;
		left -= (size_t)w;
	}
	put64(chunk, s->end + 1);
	put32(chunk + 8, 0);
	s->end += CHUNK;
	return SK_OK;
}

struct rebuild {
	const struct sk_bigset *s;
	uint64_t *bits;
	size_t nbits;
};

static int rebuild_fn(void *arg, const uint8_t *str, size_t len, uint64_t val)
{
	struct rebuild *b = arg;

	(void)val;
	filter(b->bits, b->nbits, hash(b->s, (const char *)str, len), 1);
	return 0;
}

/* Twice the bits, set again from every string (the file, read in order,
 * then the chunks in memory). */
static int grow(struct sk_bigset *s)
{
	struct rebuild b = { s, NULL, s->nbits * 2 };
	uint8_t *buf = NULL;
	uint64_t off;
	size_t i;

	/* the old filter first: the peak stays at the new one's size */
	free(s->bits);
	s->bits = NULL;
	if ((b.bits = calloc(b.nbits / 64, sizeof(uint64_t))) == NULL ||
	    (s->end > 0 && (buf = malloc(RBUF)) == NULL)) {
		free(b.bits);
		return sk_err(SK_EFAIL, "out of memory");
	}
	for (off = 0; off < s->end;) {
		size_t want = s->end - off < RBUF ? (size_t)(s->end - off) : RBUF;
		ssize_t got = pread(s->fd, buf, want, (off_t)off);

		if (got <= 0 || (size_t)got % CHUNK != 0) {
			if (got >= 0)
				errno = EIO;
			free(buf);
			free(b.bits);
			return spill_err(s, "reading");
		}
		for (i = 0; i < (size_t)got; i += CHUNK)
			if (each_rec(buf + i, rebuild_fn, &b) != 0) {
				free(buf);
				free(b.bits);
				return sk_err(SK_EFAIL, "the temporary file in '%s' is damaged", s->tmpdir);
			}
		off += (uint64_t)got;
	}
	free(buf);
	for (i = 0; i < PARTS; i++)
		(void)each_rec(s->part + i * CHUNK, rebuild_fn, &b);
	s->bits = b.bits;
	s->nbits = b.nbits;
	return SK_OK;
}

int sk_bigset_add(struct sk_bigset *s, const char *str, uint64_t val, int *found, uint64_t *old)
{
	size_t len = strlen(str);
	struct find f = { str, len, 0 };
	uint8_t *chunk;
	uint32_t used;
	uint64_t h;
	int r, rc;

	*found = 0;
	if (len == 0 || len > 255)
		return sk_err(SK_EUSAGE, "a string of %zu bytes (1 to 255)", len);
	if (s->bits == NULL)
		return sk_err(SK_EFAIL, "out of memory"); /* a grow that failed */
	h = hash(s, str, len);
	if (filter(s->bits, s->nbits, h, 0)) {
		if ((r = confirm(s, h, &f)) < 0)
			return -r;
		if (r) {
			*found = 1;
			*old = f.val;
			return SK_OK;
		}
	}
	chunk = part_of(s, h);
	used = get32(chunk + 8);
	if (HDR + used + 9 + len > CHUNK) {
		if ((rc = flush(s, chunk)) != SK_OK)
			return rc;
		used = 0;
	}
	chunk[HDR + used] = (uint8_t)len;
	put64(chunk + HDR + used + 1, val);
	memcpy(chunk + HDR + used + 9, str, len);
	put32(chunk + 8, used + 9 + (uint32_t)len);
	filter(s->bits, s->nbits, h, 1);
	s->n++;
	if (s->nbits < BITS_MAX && s->n > s->nbits / BITS_PER_STR)
		return grow(s);
	return SK_OK;
}
