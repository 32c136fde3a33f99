/* SPDX-License-Identifier: MIT */
/* POSIX tar entries for batch output, and the walk of such an archive
 * (tar.h). */
#include "base/tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/util.h"

#define NAME_MAX_USTAR 100
#define PATH_MAX_PAX 4096

const uint8_t sk_tar_end[2 * SK_TAR_BLOCK];

static void octal(uint8_t *field, size_t width, uint64_t v)
{
	/* width - 1 digits and a NUL, as ustar writes numbers */
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "%0*llo", (int)(width - 1), (unsigned long long)v);
	memcpy(field, tmp, width);
}

static void header(uint8_t h[SK_TAR_BLOCK], const char *name, char type, size_t size, mode_t mode,
		   int64_t mtime)
{
	unsigned sum = 0;
	size_t i;

	memset(h, 0, SK_TAR_BLOCK);
	memcpy(h, name, strnlen(name, NAME_MAX_USTAR));
	octal(h + 100, 8, mode & 07777);
	octal(h + 108, 8, 0);
	octal(h + 116, 8, 0);
	octal(h + 124, 12, size);
	octal(h + 136, 12, mtime > 0 ? (uint64_t)mtime : 0);
	h[156] = (uint8_t)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (i = 0; i < SK_TAR_BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

/* header, data, zero padding to a whole block */
static int add_member(struct sk_buf *out, const char *name, char type, const void *data, size_t n,
		      mode_t mode, int64_t mtime)
{
	size_t pad = (SK_TAR_BLOCK - n % SK_TAR_BLOCK) % SK_TAR_BLOCK;
	int rc;

	if ((rc = sk_buf_reserve(out, SK_TAR_BLOCK + n + pad)) != SK_OK)
		return rc;
	header(out->p + out->len, name, type, n, mode, mtime);
	out->len += SK_TAR_BLOCK;
	if (n)
		memcpy(out->p + out->len, data, n);
	memset(out->p + out->len + n, 0, pad);
	out->len += n + pad;
	return SK_OK;
}

int sk_tar_entry(struct sk_buf *out, const char *name, const void *data, size_t n, mode_t mode,
		 int64_t mtime)
{
	size_t nl = strlen(name);
	int rc;

	if (nl == 0 || nl > PATH_MAX_PAX)
		return sk_err(SK_EFAIL, "tar entry name of %zu bytes", nl);
	if (nl > NAME_MAX_USTAR) {
		/* "LEN path=NAME\n", LEN counting its own digits */
		char rec[PATH_MAX_PAX + 32], xname[NAME_MAX_USTAR + 1];
		size_t base = strlen(" path=") + nl + 1, len = base + 1;

		while (len != base + (size_t)snprintf(NULL, 0, "%zu", len))
			len = base + (size_t)snprintf(NULL, 0, "%zu", len);
		snprintf(rec, sizeof(rec), "%zu path=%s\n", len, name);
		snprintf(xname, sizeof(xname), "PaxHeaders/%.80s", name);
		if ((rc = add_member(out, xname, 'x', rec, len, 0644, mtime)) != SK_OK)
			return rc;
	}
	return add_member(out, name, '0', data, n, mode, mtime);
}

static int parse_octal(const uint8_t *f, size_t w, uint64_t *v)
{
	size_t i = 0;

	*v = 0;
	while (i < w && f[i] == ' ')
		i++;
	if (i == w || f[i] < '0' || f[i] > '7')
		return -1;
	for (; i < w && f[i] >= '0' && f[i] <= '7'; i++) {
		if (*v >> 60)
			return -1;
		*v = *v * 8 + (uint64_t)(f[i] - '0');
	}
	for (; i < w; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -1;
	return 0;
}

static int checksum_ok(const uint8_t h[SK_TAR_BLOCK])
{
	uint64_t want;
	unsigned sum = 0;
	size_t i;

	if (parse_octal(h + 148, 8, &want) != 0)
		return 0;
	for (i = 0; i < SK_TAR_BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum == want;
}

/* The path record of a pax header (the last one wins), or "" */
static void pax_path(const uint8_t *d, size_t n, char *path, size_t cap)
{
	size_t i = 0;

	path[0] = '\0';
	while (i < n) {
		size_t len = 0, j = i;

		while (j < n && d[j] >= '0' && d[j] <= '9' && len < n)
			len = len * 10 + (size_t)(d[j++] - '0');
		if (j >= n || d[j] != ' ' || len == 0 || len > n - i || d[i + len - 1] != '\n')
			return;
		j++;
		if (i + len - j > 5 && memcmp(d + j, "path=", 5) == 0 && i + len - 1 - (j + 5) < cap)
			snprintf(path, cap, "%.*s", (int)(i + len - 1 - (j + 5)), (const char *)d + j + 5);
		i += len;
	}
}

static int zero_block(const uint8_t *h)
{
	size_t i;

	for (i = 0; i < SK_TAR_BLOCK; i++)
		if (h[i])
			return 0;
	return 1;
}

/* The next member: 1 read, 0 end (zeros, EOF or cut short), <0 error. */
static int next_member(int fd, const char *what, size_t max, uint8_t h[SK_TAR_BLOCK],
		       struct sk_buf *data, off_t *pos)
{
	uint64_t size;
	size_t padded;
	ssize_t r;

	if ((r = sk_read_full(fd, h, SK_TAR_BLOCK)) < 0)
		return -sk_err_sys(SK_EFAIL, "reading '%s'", what);
	if (r > 0 && *pos == 0 && (r < SK_TAR_BLOCK || !checksum_ok(h)))
		return -sk_err(SK_ECONFIG, "'%s': not a tar archive", what);
	if (r < SK_TAR_BLOCK || zero_block(h))
		return 0;
	if (!checksum_ok(h) || parse_octal(h + 124, 12, &size) != 0)
		return -sk_err(SK_ECONFIG, "'%s': not a tar archive (bad header at byte %lld)", what,
			       (long long)*pos);
	if (size > max)
		return -sk_err(SK_ECONFIG, "'%s': an entry of %llu bytes at byte %lld (at most %zu)",
			       what, (unsigned long long)size, (long long)*pos, max);
	padded = ((size_t)size + SK_TAR_BLOCK - 1) / SK_TAR_BLOCK * SK_TAR_BLOCK;
	data->len = 0;
	if (sk_buf_reserve(data, padded + 1) != SK_OK)
		return -SK_EFAIL;
	if ((r = sk_read_full(fd, data->p, padded)) < 0)
		return -sk_err_sys(SK_EFAIL, "reading '%s'", what);
	if ((size_t)r < padded)
		return 0;
	data->len = (size_t)size;
	*pos += SK_TAR_BLOCK + (off_t)padded;
	return 1;
}

int sk_tar_scan(int fd, const char *what, size_t max,
		int (*fn)(void *arg, const char *name, const uint8_t *data, size_t n), void *arg,
		off_t *end)
{
	uint8_t h[SK_TAR_BLOCK];
	struct sk_buf data = { 0 };
	char path[PATH_MAX_PAX + 1];
	off_t pos = 0;
	int r, rc = SK_OK;

	*end = 0;
	path[0] = '\0';
	if (max < PATH_MAX_PAX + 32)
		max = PATH_MAX_PAX + 32;
	while ((r = next_member(fd, what, max, h, &data, &pos)) > 0) {
		if (h[156] == 'x') {
			pax_path(data.p, data.len, path, sizeof(path));
			continue;
		}
		if (h[156] != '0' && h[156] != '\0') {
			rc = sk_err(SK_ECONFIG, "'%s': entry of type '%c' (only files are expected)", what,
				    h[156]);
			break;
		}
		if (path[0] == '\0')
			snprintf(path, sizeof(path), "%.100s", (const char *)h);
		if ((rc = fn(arg, path, data.p, data.len)) != SK_OK)
			break;
		*end = pos;
		path[0] = '\0';
	}
	if (r < 0)
		rc = -r;
	sk_buf_free(&data);
	return rc;
}
