/* SPDX-License-Identifier: MIT */
#ifndef SK_MEASURE_H
#define SK_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "backend/tpm.h"
#include "base/fileio.h"
#include "crypto/pcr.h"
#include "store/store.h"

/*
 * Measured boot (seckit measure, man/seckit-measure.1):
 *   evlog.c    the event log in the store (docs/formats/measure.md):
 *              extending PCRs with events, replaying the log
 *   golden.c   golden values: predicting them on the host, the golden
 *              file (predict's output, seal's input), the NV index that
 *              keeps them (seal, verify)
 */

/* ---- events ---- */

#define SK_MEVENT_DESC_MAX 1024

/* One measurement: the digest extended into PCR pcr in each bank of
 * banks (bits 1u << enum sk_bank), when, and what it was. */
struct sk_mevent {
	int pcr;
	unsigned banks;
	uint8_t d[SK_NBANKS][SK_PCR_MAX_DIGEST];
	int64_t time;
	char desc[SK_MEVENT_DESC_MAX + 1];
};

/* Hash a stream in every bank of banks at once, in constant memory. */
int sk_measure_hash(struct sk_in *in, unsigned banks, uint8_t d[SK_NBANKS][SK_PCR_MAX_DIGEST]);

/* The event log of the TPM's current boot (its reset and restart counts:
 * a log of another boot is replaced by the next extend). */
struct sk_mlog {
	uint32_t reset, restart;
	struct sk_mevent *ev;
	size_t n;
};
/* The log kept in the store (empty, boot 0/0, if there is none). */
int sk_mlog_load(struct sk_store *st, struct sk_mlog *log);
void sk_mlog_free(struct sk_mlog *log);

/*
 * Extend the TPM with ev[0..n), one TPM2_PCR_Extend each (every bank of
 * the event in that one command), and append them to the log in one store
 * transaction whose lock is held across the extends, so that concurrent
 * callers log in the order they extended.  The banks are checked first
 * (SK_EUNSUPP before anything is extended).  When the TPM refuses event k,
 * events 0..k-1 are still logged (they were extended) and *done says k.
 */
int sk_measure_extend(struct sk_store *st, struct sk_tpm *t, const struct sk_mevent *ev,
		      size_t n, size_t *done);

/* A logged PCR after replaying the log, against the TPM. */
struct sk_mreplay {
	int pcr;
	enum sk_bank bank;
	uint8_t replayed[SK_PCR_MAX_DIGEST], tpm[SK_PCR_MAX_DIGEST];
	int match;
};
/*
 * Replay log from the reset values and compare every PCR and bank it
 * extended with the TPM (PCRs the log never touched are not compared:
 * others may use them).  A log of another boot replays nothing (*nout 0,
 * *stale 1).  out has room for SK_PCR_COUNT * SK_NBANKS entries, in PCR
 * then bank order.  SK_EVERIFY naming the first PCR that differs.
 */
int sk_mlog_verify(struct sk_tpm *t, const struct sk_mlog *log, struct sk_mreplay *out,
		   size_t *nout, int *stale);

/* ---- golden values ---- */

/* PCR values of one bank: those of mask, vals[n] for PCR n. */
struct sk_golden {
	enum sk_bank bank;
	uint32_t mask;
	uint8_t vals[SK_PCR_COUNT][SK_PCR_MAX_DIGEST];
	uint8_t composite[SK_PCR_COMPOSITE_LEN]; /* sk_golden_finish */
	uint8_t policy[32];                      /* PolicyPCR over them */
};
/* Compute composite and policy from bank, mask and vals. */
int sk_golden_finish(struct sk_golden *g);

/* Predict: start every PCR of g->mask... at its reset value, then extend
 * with ev[0..n) (in g->bank; ev's pcr added to the mask). */
int sk_golden_predict(struct sk_golden *g, const struct sk_mevent *ev, size_t n);
/* An events file (predict --from): a list of {pcr, file | digest,
 * description}; files relative to the events file, hashed in bank.  *ev
 * allocated (free()). */
int sk_golden_events(const char *path, enum sk_bank bank, struct sk_mevent **ev, size_t *n);

/* The golden file (docs/formats/measure.md): YAML of g, as predict
 * writes it and seal reads it (which checks its composite and policy). */
int sk_golden_format(const struct sk_golden *g, struct sk_buf *out);
int sk_golden_load(const char *path, struct sk_golden *g);

/* ---- signed predictions (TPM2_PolicyAuthorize) ---- */

#define SK_GOLDEN_SIG_MAX 512
/* What an OEM key signed over a prediction: aHash = SHA-256(policy ||
 * policy-ref), the signature DER (ECDSA) or raw (RSA PKCS#1 v1.5). */
struct sk_golden_auth {
	uint8_t ref[64];
	size_t reflen;
	uint8_t sig[SK_GOLDEN_SIG_MAX];
	size_t siglen;
};
/* aHash of TPM2_PolicyAuthorize over an approved policy and its ref. */
int sk_golden_ahash(const uint8_t policy[32], const uint8_t *ref, size_t reflen, uint8_t out[32]);
/* The golden file of g followed by its authorization: s (SHA-256, no
 * PSS) signs aHash over g's policy, with an empty policy-ref. */
struct sk_signer;
int sk_golden_sign(const struct sk_golden *g, const struct sk_signer *s, struct sk_buf *out);
/* A signed prediction: the golden values (sk_golden_load's checks) and
 * its authorization; SK_EVERIFY for a file without one (unsigned).  The
 * signature is checked by the TPM (TPM2_VerifySignature) when it is used. */
int sk_golden_load_signed(const char *path, struct sk_golden *g, struct sk_golden_auth *auth);
/* Check on the host what the TPM checks of a signed prediction: auth's
 * signature is oem's (EC or RSA public key) over aHash of g's policy
 * (SK_EVERIFY otherwise), for a seal that no TPM policy will check later
 * (store reseal --golden). */
int sk_golden_auth_verify(const struct sk_golden *g, const struct sk_golden_auth *auth,
			  EVP_PKEY *oem);

/* The default NV index of the golden values. */
#define SK_MEASURE_NV_INDEX 0x01500016u
/* An NV index in hex ("0x01500016"): ordinary indices 0x01000000 to
 * 0x01ffffff (SK_EUSAGE else). */
int sk_nv_index_parse(const char *s, uint32_t *out);

/*
 * seal: define NV index `index`, readable only through PolicyPCR over g
 * (bank, PCRs, values), and write g into it (docs/formats/measure.md); a
 * copy goes into the store, which lets verify name the PCR that changed
 * when the TPM refuses to open the index.  An index that exists:
 * SK_EEXIST, unless replace (then it is undefined first).  The bank and
 * PCRs are checked against the TPM first (SK_EUNSUPP).
 */
int sk_measure_seal(struct sk_store *st, struct sk_tpm *t, uint32_t index,
		    const struct sk_golden *g, int replace);

/* verify: what was found. */
struct sk_mverdict {
	int match;                 /* 1: the PCRs hold the golden values */
	int pcr;                   /* the first PCR that differs, -1: unknown */
	uint32_t sealed_mask;      /* the index's PCRs, 0 if unknown */
	struct sk_golden cur;      /* the current values of the PCRs asked */
};
/*
 * Compare the current values of the PCRs of mask in bank with the golden
 * values of NV index `index`, read through a PolicyPCR session over the
 * current values (so that the TPM decides).  SK_OK with v->match, or
 * SK_EVERIFY with v filled and the message naming the PCR when it can be
 * known (from the index's contents, or from the store's copy, st may be
 * NULL, once its policy is found equal to the index's).  SK_ENOTFOUND:
 * no such index.
 */
int sk_measure_verify(struct sk_store *st, struct sk_tpm *t, uint32_t index, enum sk_bank bank,
		      uint32_t mask, struct sk_mverdict *v);

#endif
