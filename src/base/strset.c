/* SPDX-License-Identifier: MIT */
#include "base/strset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/err.h"

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	       (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                          \
	do {                                                              \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                    \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                    \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

uint64_t sk_siphash24(const uint8_t key[16], const void *p, size_t n)
{
	const uint8_t *in = p, *end = in + (n & ~(size_t)7);
	uint64_t k0 = le64(key), k1 = le64(key + 8), m, b = (uint64_t)n << 56;
	uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
	size_t i;

	for (; in != end; in += 8) {
		m = le64(in);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (i = 0; i < (n & 7); i++)
		b |= (uint64_t)in[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void sk_strset_init(struct sk_strset *s, sk_strset_key_fn key, const void *arg)
{
	memset(s, 0, sizeof(*s));
	s->key = key;
	s->arg = arg;
}

void sk_strset_free(struct sk_strset *s)
{
	free(s->id);
	free(s->hash);
	s->id = NULL;
	s->hash = NULL;
	s->cap = s->n = 0;
}

/* Double the table (at most half full after an add), re-slotting by the
 * stored hashes: no string is looked at. */
static int grow(struct sk_strset *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 64, i, j;
	size_t *id;
	uint32_t *hash;

	/* The kept 32 bits of each hash place it again: no more slots. */
	if (ncap - 1 > UINT32_MAX || ncap > SIZE_MAX / sizeof(*id))
		return sk_err(SK_EFAIL, "out of memory");
	id = calloc(ncap, sizeof(*id));
	hash = malloc(ncap * sizeof(*hash));
	if (id == NULL || hash == NULL) {
		free(id);
		free(hash);
		return sk_err(SK_EFAIL, "out of memory");
	}
	if (s->cap == 0 && getrandom(s->seed, sizeof(s->seed), 0) != (ssize_t)sizeof(s->seed)) {
		free(id);
		free(hash);
		return sk_err_sys(SK_EFAIL, "random number generator");
	}
	for (i = 0; i < s->cap; i++) {
		if (!s->id[i])
			continue;
		for (j = s->hash[i] & (ncap - 1); id[j]; j = (j + 1) & (ncap - 1))
			;
		id[j] = s->id[i];
		hash[j] = s->hash[i];
	}
	free(s->id);
	free(s->hash);
	s->id = id;
	s->hash = hash;
	s->cap = ncap;
	return SK_OK;
}

int sk_strset_add(struct sk_strset *s, const char *str, size_t id, size_t *dup)
{
	uint32_t h;
	size_t j;
	int rc;

	*dup = SIZE_MAX;
	if ((s->n + 1) * 2 > s->cap && (rc = grow(s)) != SK_OK)
		return rc;
	h = (uint32_t)sk_siphash24(s->seed, str, strlen(str));
	for (j = h & (s->cap - 1); s->id[j]; j = (j + 1) & (s->cap - 1)) {
		if (s->hash[j] == h && strcmp(s->key(s->arg, s->id[j] - 1), str) == 0) {
			*dup = s->id[j] - 1;
			return SK_OK;
		}
	}
	s->id[j] = id + 1;
	s->hash[j] = h;
	s->n++;
	return SK_OK;
}

int sk_strset_has(const struct sk_strset *s, const char *str)
{
	uint32_t h;
	size_t j;

	if (s->cap == 0)
		return 0;
	h = (uint32_t)sk_siphash24(s->seed, str, strlen(str));
	for (j = h & (s->cap - 1); s->id[j]; j = (j + 1) & (s->cap - 1))
		if (s->hash[j] == h && strcmp(s->key(s->arg, s->id[j] - 1), str) == 0)
			return 1;
	return 0;
}
