/* SPDX-License-Identifier: MIT */
#ifndef SK_DATA_H
#define SK_DATA_H

#include <stdint.h>

#include "ctx/ctx.h"
#include "base/fileio.h"
#include "crypto/pcr.h"

#include <openssl/evp.h>

/*
 * Storage objects (`seckit store`): named data of any size in the store
 * (SK_NS_DATA), streamed in and out in constant memory, optionally
 * protected by a password.
 *
 * A password-protected object carries a password record (password.h) and
 * a random 32-byte data key wrapped under the record's root; its body is a
 * keyed store body (store.h, SK_OBJ_KEYED) under that data key, so reading
 * it needs the master key and the password.  Reading, overwriting and
 * deleting it need the password (SK_EAUTH otherwise); a failed overwrite
 * leaves the old object as it was.
 *
 * An object sealed to PCRs (like systemd-creds --tpm2-pcrs) has its random
 * data key sealed in the TPM (backend.h seal_pcr) under a PolicyPCR on
 * the values the selected PCRs held when it was written, which its
 * metadata keeps: reading it needs the TPM's PCRs to hold them again
 * (SK_EVERIFY naming the first PCR that changed otherwise).  See
 * docs/formats/store.md.
 */

/* PCRs an object is sealed to: mask (bit n: PCR n) in bank; or, with oem
 * set, whatever PCR values the OEM's key oem approves (PolicyAuthorize,
 * backend.h seal_authorized; bank and mask unused). */
struct sk_data_pcrs {
	enum sk_bank bank;
	uint32_t mask;
	EVP_PKEY *oem;
};

struct sk_data_info {
	char name[256];
	uint64_t size;
	uint64_t mtime;
	int password;       /* protected by a password */
	int authorized;     /* sealed under the OEM's PolicyAuthorize: */
	char oem_fpr[65];   /* the OEM key's fingerprint (SPKI SHA-256) */
	int sealed;         /* sealed to PCRs: */
	struct sk_data_pcrs pcrs;
	uint8_t policy[32]; /* the PolicyPCR digest over the values sealed to */
	char file[65];      /* its file in the store directory */
};

/* Write name from in (read to EOF).  pass_spec: protect with this password
 * (required, and checked, if the current object has one).  pcrs (NULL:
 * none): seal it to the current values of those PCRs instead (SK_EUSAGE
 * with a password too or with no PCR; SK_EUNSUPP when the backend has no
 * PCRs or the TPM lacks the bank); nothing is written if sealing fails. */
int sk_data_write(struct sk_ctx *ctx, const char *name, const char *pass_spec,
		  const struct sk_data_pcrs *pcrs, struct sk_in *in);

/* Read name into out (opened by the caller, who commits it on success).
 * To stdout (out->is_stdout) the whole object is verified before the first
 * byte is written; to a file the caller's commit happens only after the
 * verified end. */
/* ap: the signed prediction that opens an object sealed under an OEM's
 * PolicyAuthorize (SK_EVERIFY without one, or when it does not). */
int sk_data_read(struct sk_ctx *ctx, const char *name, const char *pass_spec,
		 const struct sk_pcr_approval *ap, struct sk_out *out);

int sk_data_info(struct sk_ctx *ctx, const char *name, struct sk_data_info *out);

typedef int (*sk_data_list_fn)(const struct sk_data_info *d, void *arg);
int sk_data_list(struct sk_ctx *ctx, sk_data_list_fn fn, void *arg);

/* Delete name (its password if it has one).  force: also remove an object
 * that fails verification (its password cannot be checked then). */
int sk_data_delete(struct sk_ctx *ctx, const char *name, const char *pass_spec, int force);

#endif
