/* SPDX-License-Identifier: MIT */
#ifndef SK_UTIL_H
#define SK_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define SK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* SK_ASAN: 1 in an AddressSanitizer build (make SANITIZE=1, gcc or clang). */
#if defined(__SANITIZE_ADDRESS__)
#define SK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SK_ASAN 1
#endif
#endif
#ifndef SK_ASAN
#define SK_ASAN 0
#endif

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void sk_hex(char *out, const uint8_t *in, size_t n);
/* Parse exactly n bytes of hex; returns 0 on success, -1 otherwise. */
int sk_unhex(uint8_t *out, size_t n, const char *hex);

/* Constant-time equality of two buffers of the same length (1 = equal). */
int sk_ct_equal(const void *a, const void *b, size_t n);

void sk_put_be16(uint8_t *p, uint16_t v);
void sk_put_be32(uint8_t *p, uint32_t v);
void sk_put_be64(uint8_t *p, uint64_t v);
uint16_t sk_get_be16(const uint8_t *p);
uint32_t sk_get_be32(const uint8_t *p);
uint64_t sk_get_be64(const uint8_t *p);

/* Parse a non-negative decimal integer <= max; 0 on success. */
int sk_parse_uint(const char *s, uint64_t max, uint64_t *out);
/* A TPM persistent handle in hex, "0x81000000" to "0x81ffffff": 0 and
 * *out set, else -1. */
int sk_parse_handle(const char *s, uint32_t *out);

/* True if name is a valid object name: 1..255 bytes of [A-Za-z0-9._@+-],
 * not starting with '.' or '-'. */
int sk_name_valid(const char *name);

/* Growable byte buffer.  sk_buf_free() does not cleanse; use
 * sk_buf_cleanse_free() for buffers that held secrets. */
struct sk_buf {
	uint8_t *p;
	size_t len, cap;
};
int sk_buf_reserve(struct sk_buf *b, size_t extra);
int sk_buf_add(struct sk_buf *b, const void *p, size_t n);
void sk_buf_free(struct sk_buf *b);
void sk_buf_cleanse_free(struct sk_buf *b);

/* malloc/strdup that record an error on failure. */
void *sk_malloc(size_t n);
void *sk_calloc(size_t n, size_t m);
char *sk_strdup(const char *s);

/* Edit distance, for "did you mean" suggestions. */
size_t sk_edit_distance(const char *a, const char *b);

/* Word lists: the space-separated lists of choices ("pem der") that
 * options, help and completion share.  sk_word_in: 1 if w is one of the
 * words (icase: ignoring case).  sk_words_join: the list as "a, b, c".
 * sk_word_closest: the word nearest to w (edit distance 1 or 2) into buf,
 * for "did you mean"; 0 if none is that near. */
int sk_word_in(const char *list, const char *w, int icase);
void sk_words_join(const char *list, char *buf, size_t n);
int sk_word_closest(const char *list, const char *w, char *buf, size_t n);

/* TIME arguments: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS](Z|+HH:MM|-HH:MM), or
 * @SECONDS.  SK_EUSAGE otherwise. */
int sk_time_parse(const char *s, int64_t *t);
/* A TIME on the command line: what sk_time_parse takes, the ASN.1 form
 * YYYYMMDDHHMMSSZ (openssl ca -enddate), or a duration after now: one or
 * more NUMBER UNIT terms ("90d", "1y30d", "12h"), units s, m (minutes), h,
 * d, w and y (365 days); no sign, at most year 9999.  SK_EUSAGE otherwise. */
int sk_time_parse_rel(const char *s, int64_t now, int64_t *t);
/* RFC 3339 UTC: "2026-11-22T10:00:00Z" (buf >= 32 bytes). */
void sk_time_format(int64_t t, char *buf, size_t n);

#endif
