/* SPDX-License-Identifier: MIT */
/* src/base/strset.c: SipHash-2-4 against the reference vectors, and the set:
 * every duplicate found with the right id, and string comparisons only
 * for duplicates (the hashes decide nearly everything else). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/strset.h"
#include "check.h"

#define N 200000

static char names[N][12];
static size_t compared;

static const char *key_of(const void *arg, size_t id)
{
	(void)arg;
	compared++;
	return names[id];
}

int main(void)
{
	struct sk_strset s;
	uint8_t key[16], msg[64];
	size_t i, dup, dups = 0, wrong = 0;
	int ok = 1;

	/* The SipHash paper's vectors: key 00..0f, message 00..(n-1). */
	for (i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	CHECK(sk_siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ull, "siphash-2-4 of the empty message");
	CHECK(sk_siphash24(key, msg, 7) == 0xab0200f58b01d137ull, "siphash-2-4 of 7 bytes");
	CHECK(sk_siphash24(key, msg, 8) == 0x93f5f5799a932462ull, "siphash-2-4 of 8 bytes");
	CHECK(sk_siphash24(key, msg, 15) == 0xa129ca6149be45e5ull, "siphash-2-4 of 15 bytes");
	CHECK(sk_siphash24(key, msg, 63) == 0x958a324ceb064572ull, "siphash-2-4 of 63 bytes");

	sk_strset_init(&s, key_of, NULL);
	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "k%u", (unsigned)(i % (N / 2)));
		if (sk_strset_add(&s, names[i], i, &dup) != SK_OK) {
			ok = 0;
			break;
		}
		if (dup != SIZE_MAX) {
			dups++;
			if (dup != i - N / 2)
				wrong++;
		} else if (i >= N / 2) {
			wrong++;
		}
	}
	CHECK(ok, "200,000 adds");
	CHECK(dups == N / 2 && wrong == 0, "each of the 100,000 repeated strings found, with the id of its first");
	CHECK(s.n == N / 2, "the set holds the 100,000 distinct strings");
	printf("# string comparisons: %zu\n", compared);
	/* 32 bits of hash are kept: two different strings are compared about
	 * once in 4 billion probes. */
	CHECK(compared >= N / 2 && compared < N / 2 + 100,
	      "one string comparison per duplicate, (next to) none for distinct strings");
	sk_strset_free(&s);
	CHECK(s.n == 0 && s.cap == 0, "freed");
	printf("1..%d\n", n);
	return 0;
}
