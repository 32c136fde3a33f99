/* SPDX-License-Identifier: MIT */
#include "base/util.h"

#include <ctype.h>
#include <inttypes.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "base/err.h"

void sk_hex(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int sk_unhex(uint8_t *out, size_t n, const char *hex)
{
	size_t i;

	if (strlen(hex) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		int hi = hexval((unsigned char)hex[2 * i]);
		int lo = hexval((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int sk_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void sk_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void sk_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void sk_put_be64(uint8_t *p, uint64_t v)
{
	sk_put_be32(p, (uint32_t)(v >> 32));
	sk_put_be32(p + 4, (uint32_t)v);
}

uint16_t sk_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t sk_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

uint64_t sk_get_be64(const uint8_t *p)
{
	return (uint64_t)sk_get_be32(p) << 32 | sk_get_be32(p + 4);
}

int sk_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

int sk_parse_handle(const char *s, uint32_t *out)
{
	unsigned long v = 0;
	size_t i, n;

	if (s == NULL || (strncmp(s, "0x", 2) != 0 && strncmp(s, "0X", 2) != 0))
		return -1;
	s += 2;
	n = strlen(s);
	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]) || v > 0xffffffful)
			return -1;
		v = v * 16 + (unsigned long)(isdigit((unsigned char)s[i]) ? s[i] - '0'
									: (tolower((unsigned char)s[i]) - 'a' + 10));
	}
	if (v < 0x81000000ul || v > 0x81fffffful)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int sk_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > 255 || name[0] == '.' || name[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && !strchr("._@+-", c))
			return 0;
	}
	return 1;
}

int sk_buf_reserve(struct sk_buf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *p;

	if (extra > SIZE_MAX - b->len)
		return sk_err(SK_EFAIL, "buffer too large");
	need = b->len + extra;
	if (need <= b->cap)
		return SK_OK;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	/* Grow by copy so that the old block can be cleansed: buffers may hold
	 * secrets and realloc() would leave a stale copy behind. */
	p = malloc(cap);
	if (p == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	if (b->p != NULL) {
		memcpy(p, b->p, b->len);
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	b->p = p;
	b->cap = cap;
	return SK_OK;
}

int sk_buf_add(struct sk_buf *b, const void *p, size_t n)
{
	int rc = sk_buf_reserve(b, n);

	if (rc != SK_OK)
		return rc;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return SK_OK;
}

void sk_buf_free(struct sk_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void sk_buf_cleanse_free(struct sk_buf *b)
{
	if (b->p != NULL)
		OPENSSL_cleanse(b->p, b->cap);
	sk_buf_free(b);
}

void *sk_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		sk_err(SK_EFAIL, "out of memory");
	return p;
}

void *sk_calloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (p == NULL)
		sk_err(SK_EFAIL, "out of memory");
	return p;
}

char *sk_strdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		sk_err(SK_EFAIL, "out of memory");
	return p;
}

size_t sk_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64];

	if (lb >= SK_ARRAY_SIZE(row))
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* ---- word lists ---- */

/* The next word of list at or after *p: its start and length; 0 at the end. */
static int next_word(const char **p, const char **w, size_t *n)
{
	const char *s = *p;

	while (*s == ' ')
		s++;
	if (*s == '\0')
		return 0;
	*w = s;
	while (*s != '\0' && *s != ' ')
		s++;
	*n = (size_t)(s - *w);
	*p = s;
	return 1;
}

int sk_word_in(const char *list, const char *w, int icase)
{
	const char *p = list, *word;
	size_t n, len = strlen(w);

	while (next_word(&p, &word, &n))
		if (n == len && (icase ? strncasecmp(word, w, n) : strncmp(word, w, n)) == 0)
			return 1;
	return 0;
}

void sk_words_join(const char *list, char *buf, size_t n)
{
	const char *p = list, *word;
	size_t len = 0, wn;

	buf[0] = '\0';
	while (len < n && next_word(&p, &word, &wn))
		len += (size_t)snprintf(buf + len, n - len, "%s%.*s", len ? ", " : "", (int)wn, word);
}

int sk_word_closest(const char *list, const char *w, char *buf, size_t n)
{
	const char *p = list, *word;
	size_t wn, d, best = 3;
	char one[64];

	buf[0] = '\0';
	while (next_word(&p, &word, &wn)) {
		if (wn >= sizeof(one))
			continue;
		memcpy(one, word, wn);
		one[wn] = '\0';
		if ((d = sk_edit_distance(w, one)) < best) {
			best = d;
			snprintf(buf, n, "%s", one);
		}
	}
	return buf[0] != '\0';
}

/* ---- time (TIME arguments, and times as printed) ---- */

static int digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int sk_time_parse(const char *s, int64_t *t)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	const char *p = s;
	time_t v;

	if (s[0] == '@') {
		uint64_t e;

		if (sk_parse_uint(s + 1, 253402300799ull, &e) != 0)
			goto bad;
		*t = (int64_t)e;
		return SK_OK;
	}
	if (strlen(s) < 10 || digits(p, 4, &y) || p[4] != '-' || digits(p + 5, 2, &mo) ||
	    p[7] != '-' || digits(p + 8, 2, &d))
		goto bad;
	p += 10;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		if (digits(p + 1, 2, &h) || p[3] != ':' || digits(p + 4, 2, &mi))
			goto bad;
		p += 6;
		if (*p == ':') {
			if (digits(p + 1, 2, &sec))
				goto bad;
			p += 3;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p == '-' ? -1 : 1;
			if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
				goto bad;
			p += 6;
		} else {
			goto bad; /* a time of day needs its zone */
		}
	}
	if (*p != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 59 || oh > 23 || om > 59)
		goto bad;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	v = timegm(&tm);
	if (tm.tm_mday != d) /* 2026-02-30 */
		goto bad;
	*t = (int64_t)v - (int64_t)sign * (oh * 3600 + om * 60);
	return SK_OK;
bad:
	return sk_err(SK_EUSAGE, "'%s' is not a time (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, "
		      "YYYY-MM-DDTHH:MM:SS+HH:MM or @SECONDS)", s);
}

#define TIME_MAX 253402300799ll /* 9999-12-31T23:59:59Z */

/* "90d", "1y30d": the seconds, or -1. */
static int64_t duration(const char *s)
{
	static const struct { char u; int64_t sec; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 },
		{ 'y', 365 * 86400 },
	};
	int64_t total = 0, n;
	size_t i;

	if (*s == '\0')
		return -1;
	while (*s) {
		if (*s < '0' || *s > '9')
			return -1;
		for (n = 0; *s >= '0' && *s <= '9'; s++) {
			n = n * 10 + (*s - '0');
			if (n > TIME_MAX)
				return -1;
		}
		for (i = 0; i < SK_ARRAY_SIZE(units); i++)
			if (*s == units[i].u)
				break;
		if (i == SK_ARRAY_SIZE(units) || n > (TIME_MAX - total) / units[i].sec)
			return -1;
		total += n * units[i].sec;
		s++;
	}
	return total;
}

int sk_time_parse_rel(const char *s, int64_t now, int64_t *t)
{
	char iso[32];
	int64_t d;
	size_t i, n = strlen(s);

	if (n > 0 && s[0] >= '0' && s[0] <= '9' && s[n - 1] >= 'a' && s[n - 1] <= 'z' &&
	    s[n - 1] != 'z') {
		if ((d = duration(s)) < 0 || now < 0 || d > TIME_MAX - now)
			return sk_err(SK_EUSAGE, "'%s' is not a duration (NUMBER and a unit: s, m, h, d, w, y; "
				      "e.g. 90d, 1y, 12h) or it ends after 9999", s);
		*t = now + d;
		return SK_OK;
	}
	if (n == 15 && (s[14] == 'Z' || s[14] == 'z')) {
		for (i = 0; i < 14 && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == 14) {
			snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", s, s + 4, s + 6,
				 s + 8, s + 10, s + 12);
			if (sk_time_parse(iso, t) == SK_OK)
				return SK_OK;
		}
	}
	if (sk_time_parse(s, t) == SK_OK)
		return SK_OK;
	return sk_err(SK_EUSAGE, "'%s' is not a time (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, "
		      "YYYY-MM-DDTHH:MM:SS+HH:MM, YYYYMMDDHHMMSSZ, @SECONDS, or a duration "
		      "from now such as 90d, 12h, 1y)", s);
}

void sk_time_format(int64_t t, char *buf, size_t n)
{
	time_t v = (time_t)t;
	struct tm tm;

	if (gmtime_r(&v, &tm) == NULL || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, n, "@%" PRId64, t);
}
