/* SPDX-License-Identifier: MIT */
#ifndef SK_STRSET_H
#define SK_STRSET_H

#include <stddef.h>
#include <stdint.h>

/*
 * A set of strings for duplicate checks on input nobody vouches for (YAML
 * mapping keys; fleet ids, which may be millions, go to a bigset.h, whose
 * memory is bounded): open addressing under SipHash-2-4 with a random key
 * per set, so that no input, however its strings are chosen,
 * makes the checks quadratic (an unkeyed hash such as FNV can be flooded
 * with colliding strings).  Adding n strings costs O(n) expected.
 *
 * The set keeps no strings, only the caller's ids (any size_t but
 * SIZE_MAX); it asks key(arg, id) for the string of an id it holds, so the
 * strings stay where the caller keeps them (and may move, as long as key
 * finds them).  key is called only when two hashes agree (32 bits kept,
 * so about once in 4 billion for strings that differ).
 */
typedef const char *(*sk_strset_key_fn)(const void *arg, size_t id);

struct sk_strset {
	size_t *id;          /* per slot: id + 1, 0 = empty */
	uint32_t *hash;      /* per slot: the low half of the string's hash
			      * (12 bytes a slot, not 16) */
	size_t cap, n;       /* cap: a power of two (at most 2^32), or 0 */
	uint8_t seed[16];
	sk_strset_key_fn key;
	const void *arg;
};

/* An empty set (allocates nothing; the random key comes with the first
 * sk_strset_add). */
void sk_strset_init(struct sk_strset *s, sk_strset_key_fn key, const void *arg);
/* Add str under id unless an equal string is there: *dup is then that
 * string's id, else SIZE_MAX.  SK_OK, or SK_EFAIL (out of memory, no
 * random key) with the error set. */
int sk_strset_add(struct sk_strset *s, const char *str, size_t id, size_t *dup);
/* 1 if an equal string is in the set (changes nothing: threads may look
 * up at once while nobody adds). */
int sk_strset_has(const struct sk_strset *s, const char *str);
void sk_strset_free(struct sk_strset *s);

/* SipHash-2-4 (Aumasson and Bernstein) of n bytes under a 16-byte key. */
uint64_t sk_siphash24(const uint8_t key[16], const void *p, size_t n);

#endif
