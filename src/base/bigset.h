/* SPDX-License-Identifier: MIT */
#ifndef SK_BIGSET_H
#define SK_BIGSET_H

#include <stdint.h>

/*
 * A set of short strings (1 to 255 bytes), each with a number (the fleet
 * ids seen and the line of each; the ids of a resumed archive), exact and
 * in bounded memory however many strings it holds: for duplicate checks
 * over inputs of any size, read once as a stream.
 *
 * In memory:
 *  - a blocked Bloom filter: one 512-bit block per string, 8 bits set in
 *    it.  It starts at 8 kB and doubles whenever the set passes 1 string
 *    per 16 bits, up to 16 MB (2^27 bits, from 4.2 million strings on);
 *    each doubling is rebuilt from the strings themselves (below), so the
 *    filter never forgets.  False positives: about 1 in 1,000 lookups up
 *    to 8.4 million strings, about 1 in 300 at 10^7 (13.4 bits a
 *    string).  A miss is certain: most strings are added without looking
 *    at any other;
 *  - 1,024 partitions, one 4 kB chunk each being filled, 4 MB in all.
 *    The strings and their numbers are appended to the partition of their
 *    hash.
 * On disk, once a partition's chunk is full: an unnamed file (O_TMPFILE;
 * else mkstemp and unlink at once) in the directory given (TMPDIR), mode
 * 0600, never linked, so it is gone when the set is freed or the process
 * ends however it ends.  The full chunks are appended to it, each naming
 * the previous chunk of its partition.  It holds every string once with
 * its number (10^7 strings of 12 bytes: 200 MB).  Sets of up to about
 * 100,000 short strings (16 bytes; 10,000 of 128) never make it.
 *
 * A filter hit is confirmed by reading the string's partition only: its
 * chunk in memory, then its chunks on disk, newest first (1/1024 of what
 * was spilled: at most about 50 reads of 4 kB at 10^7 strings, from the
 * page cache if it holds them).  So memory is at most about 20 MB (filter
 * and chunks), and a confirmation reads 1/1024 of the file.  Measured
 * for 10^7 strings of 12 bytes added one after the other: 12,400
 * confirmations (0.12%; 0.3% of the last million) reading 380,000 chunks
 * in all; 6.3 s of user and 1.7 s of system time (writes included) for
 * the 10^7 adds, 23 MB peak RSS for the process.
 *
 * The hash is SipHash-2-4 of the whole string under a random key per set
 * (strset.h): nobody who chooses the strings can aim them at one
 * partition or at the filter's bits, so the costs above hold for any
 * input.  Nothing is ever decided on a hash alone: a string is "there"
 * only when its bytes were found.
 */
struct sk_bigset;

/* An empty set whose spill file, if it needs one, goes in tmpdir (copied).
 * SK_OK, or SK_EFAIL (out of memory, no random key). */
int sk_bigset_new(const char *tmpdir, struct sk_bigset **out);
/* Add str with val, unless an equal string is there: *found is then 1 and
 * *old its number, else *found is 0.  SK_OK; SK_EUSAGE for a string that
 * is empty or longer than 255 bytes; SK_EFAIL (out of memory, the spill
 * file cannot be made or written) with the error set. */
int sk_bigset_add(struct sk_bigset *s, const char *str, uint64_t val, int *found, uint64_t *old);
/* *found: 1 (and *val its number, if val is not NULL) if str is in the
 * set, else 0.  SK_OK, or SK_EFAIL (the spill file cannot be read).
 * Changes nothing: threads may look up at once while nobody adds. */
int sk_bigset_get(const struct sk_bigset *s, const char *str, int *found, uint64_t *val);
/* Strings held. */
uint64_t sk_bigset_count(const struct sk_bigset *s);
/* Bytes of the spill file (0: none made). */
uint64_t sk_bigset_spilled(const struct sk_bigset *s);
void sk_bigset_free(struct sk_bigset *s);

#endif
