/* SPDX-License-Identifier: MIT */
#ifndef SK_PCR_H
#define SK_PCR_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "base/util.h"

/*
 * TPM 2.0 PCR arithmetic on the host, with no TPM: what an extend gives,
 * the composite digest of a selection and the PolicyPCR policy digest
 * (TPM 2.0 Part 3, 23.7), so that a build host computes the values a
 * device will reach and the policies it will enforce.  The TPM side (the
 * same operations in a TPM) is src/backend/tpm.h.
 *
 * A PCR selection is a bit mask: bit n is PCR n (0 to 23).
 */

#define SK_PCR_COUNT 24
#define SK_PCR_MAX_DIGEST 64

/* The PCR banks seckit knows: index into the bank table. */
enum sk_bank { SK_BANK_SHA1, SK_BANK_SHA256, SK_BANK_SHA384, SK_BANK_SHA512, SK_BANK_SM3, SK_NBANKS };
/* Their names, as --bank takes them and completion offers them. */
#define SK_BANK_NAMES "sha1 sha256 sha384 sha512 sm3_256"

struct sk_bankinfo {
	const char *name;   /* "sha256" */
	uint16_t alg;       /* TPM_ALG_ID */
	size_t size;        /* digest bytes */
	const char *md;     /* OpenSSL digest name */
};
const struct sk_bankinfo *sk_bank(enum sk_bank b);
/* The bank called name (SK_EUSAGE naming the known ones if none). */
int sk_bank_by_name(const char *name, enum sk_bank *out);
/* The bank of a TPM algorithm id, -1 if none. */
int sk_bank_by_alg(uint16_t alg);
/* A comma-separated list of banks ("sha1,sha256") as a bit mask of
 * (1u << enum sk_bank); SK_EUSAGE if a name is unknown, repeated or the
 * list is empty. */
int sk_bank_list(const char *list, unsigned *mask);
/* The digest of a bank (fetched once; NULL with SK_EUNSUPP set when this
 * OpenSSL lacks it). */
const EVP_MD *sk_bank_md(enum sk_bank b);

/* A PCR list "16" or "7,16" as a mask; SK_EUSAGE for a number out of
 * 0..23, a repeat or an empty list. */
int sk_pcr_list(const char *list, uint32_t *mask);
/* The list back as text ("7,16"), for messages. */
void sk_pcr_list_str(uint32_t mask, char *buf, size_t n);

/* The value of PCR pcr after TPM2_Startup(CLEAR): zeros, except PCRs 17
 * to 22 (the D-RTM's), which start at all ones until a D-RTM event
 * resets them to zero at locality 4. */
void sk_pcr_reset_value(int pcr, enum sk_bank b, uint8_t *out);
/* pcr := H(pcr || digest) in bank b (both of the bank's size). */
int sk_pcr_extend(enum sk_bank b, uint8_t *pcr, const uint8_t *digest);

/* The composite digest of a selection of bank b's PCRs: SHA-256 (the
 * hash of seckit's policy sessions, whatever the bank) of the value of
 * each selected PCR in ascending order, vals[n] being PCR n's -- the
 * pcrDigest TPM2_PolicyPCR compares.  32 bytes. */
#define SK_PCR_COMPOSITE_LEN 32
int sk_pcr_composite(enum sk_bank b, uint32_t mask, const uint8_t vals[][SK_PCR_MAX_DIGEST],
		     uint8_t out[SK_PCR_COMPOSITE_LEN]);
/* The TPML_PCR_SELECTION of mask in bank b as the TPM marshals it
 * (count, hash, sizeofSelect 3, three bytes): 10 bytes. */
#define SK_PCR_SEL_LEN 10
void sk_pcr_selection(enum sk_bank b, uint32_t mask, uint8_t out[SK_PCR_SEL_LEN]);
/* PolicyPCR in a SHA-256 policy: policy := SHA256(policy ||
 * TPM_CC_PolicyPCR || selection || composite); policy is 32 bytes, zeros
 * for a fresh session. */
int sk_policy_pcr(uint8_t policy[32], enum sk_bank b, uint32_t mask, const uint8_t *composite);

/* A binding to PCR values as seckit records it next to what it sealed
 * (a store object's attribute, a sealed master key; docs/formats/store.md):
 * the bank's TPM_ALG_ID (u16 BE), the mask (u32 BE), then the value of
 * each selected PCR in ascending order. */
struct sk_pcr_binding {
	enum sk_bank bank;
	uint32_t mask;
	uint8_t vals[SK_PCR_COUNT][SK_PCR_MAX_DIGEST];
};
/* Append b to out. */
int sk_pcr_binding_put(struct sk_buf *out, const struct sk_pcr_binding *b);
/* Parse a binding at the start of p[0..n): its length (> 0), or 0 when
 * it is malformed (unknown bank, no PCR, short). */
size_t sk_pcr_binding_get(const uint8_t *p, size_t n, struct sk_pcr_binding *b);
/* The first PCR of b->mask whose value in cur differs from b's (compared
 * in constant time), -1 when none does. */
int sk_pcr_first_changed(const struct sk_pcr_binding *b,
			 const uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST]);

#endif
