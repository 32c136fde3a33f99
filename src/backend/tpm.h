/* SPDX-License-Identifier: MIT */
#ifndef SK_TPM_H
#define SK_TPM_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"
#include "crypto/pcr.h"

/*
 * The TPM's platform registers and NV indices, for measured boot (seckit
 * measure): not a key backend operation, so not in the ops table, but the
 * same TPM as the tpm2 backend's, reached through the same TCTI (struct
 * sk_backend_cfg) without a parent key.  A build without tpm2 fails
 * sk_tpm_open with SK_EBACKEND.  Host-side arithmetic (predicted values,
 * policy digests) is crypto/pcr.h.
 */

struct sk_tpm;

/* Connect (SK_EBACKEND naming the TCTI when no TPM answers). */
int sk_tpm_open(const struct sk_backend_cfg *cfg, struct sk_tpm **out);
void sk_tpm_close(struct sk_tpm *t);

/* SK_OK when every bank of banks (bits 1u << enum sk_bank) has every PCR
 * of pcrs allocated; SK_EUNSUPP "the TPM has no sha384 PCR bank" else. */
int sk_tpm_need_banks(struct sk_tpm *t, unsigned banks, uint32_t pcrs);
/* The banks that have PCRs allocated (bits 1u << enum sk_bank). */
int sk_tpm_banks(struct sk_tpm *t, unsigned *banks);

/* The values of the PCRs of mask in bank b: vals[n] for PCR n. */
int sk_tpm_pcr_read(struct sk_tpm *t, enum sk_bank b, uint32_t mask,
		    uint8_t vals[SK_PCR_COUNT][SK_PCR_MAX_DIGEST]);
/* Extend PCR pcr in every bank of banks with d[bank], in one
 * TPM2_PCR_Extend (all banks or none). */
int sk_tpm_pcr_extend(struct sk_tpm *t, int pcr, unsigned banks,
		      const uint8_t d[SK_NBANKS][SK_PCR_MAX_DIGEST]);
/* Which boot of the TPM this is: its reset and restart counts (PCRs
 * return to their reset values when either changes). */
int sk_tpm_boot(struct sk_tpm *t, uint32_t *reset, uint32_t *restart);

/* ---- NV indices gated by a PCR policy ---- */

struct sk_nv_info {
	uint32_t index;
	uint16_t size;          /* data bytes */
	uint32_t attrs;         /* TPMA_NV */
	uint8_t policy[64];     /* authPolicy */
	size_t policylen;
};
/* The public area of an index (SK_ENOTFOUND when it is not defined). */
int sk_tpm_nv_info(struct sk_tpm *t, uint32_t index, struct sk_nv_info *out);
/* Define an ordinary index of size bytes in the owner hierarchy (its
 * authorisation taken as empty), read only through the SHA-256 policy
 * `policy`, written only by the owner: attributes OWNERWRITE, POLICYREAD,
 * NO_DA (tpm.h's callers explain why).  SK_EEXIST when it is defined. */
int sk_tpm_nv_define(struct sk_tpm *t, uint32_t index, uint16_t size, const uint8_t policy[32]);
/* Undefine an index (owner authorisation); SK_ENOTFOUND if absent. */
int sk_tpm_nv_undefine(struct sk_tpm *t, uint32_t index);
/* Write n bytes at offset 0 with the owner's authorisation. */
int sk_tpm_nv_write(struct sk_tpm *t, uint32_t index, const uint8_t *p, size_t n);
/* Read the whole index through a policy session that ran PolicyPCR over
 * the current values of the PCRs of mask in bank b: SK_EVERIFY when the
 * index's policy is not satisfied (the PCRs changed). */
int sk_tpm_nv_read_pcr(struct sk_tpm *t, uint32_t index, enum sk_bank b, uint32_t mask,
		       struct sk_buf *out);

#endif
