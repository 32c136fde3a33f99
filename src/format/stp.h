/* SPDX-License-Identifier: MIT */
#ifndef SK_STP_H
#define SK_STP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "ctx/ctx.h"
#include "format/pkg.h"

/*
 * Signed trusted packages (docs/formats/stp.md): one trust-changing
 * command, signed off-device with the OEM command key, applied on the
 * device only after it verified against the command key in the store.
 *
 * sk_stp_apply() does everything under the store's writer lock, in one
 * transaction: verify (package, signature by the current command key,
 * target device), refuse a sequence number not above the last applied one
 * (replay), check the certificate, make the change, record the new
 * sequence number and clock; then commit.  After a crash at any point the
 * store holds either the old or the new state, never a mix.  A verified
 * package is the one caller that changes trust as SK_BY_STP: the only way
 * to replace or delete the trust anchors of a locked store (trust.h).
 */

enum sk_stp_cmd {
	SK_STP_SET_CERT = 1,          /* id-seckit.3.1 */
	SK_STP_ADD_CA = 2,            /* id-seckit.3.2 */
	SK_STP_UPDATE_CA = 3,         /* id-seckit.3.3 */
	SK_STP_DELETE_CA = 4,         /* id-seckit.3.4 */
	SK_STP_REVOKE = 5,            /* id-seckit.3.5 */
	SK_STP_ROTATE_COMMAND_KEY = 6 /* id-seckit.3.6 */
};
#define SK_STP_COMMANDS "set-cert add-ca update-ca delete-ca revoke rotate-command-key"
#define SK_STP_SEQ_MAX INT64_MAX

const char *sk_stp_cmd_name(int cmd);
int sk_stp_cmd_by_name(const char *name); /* 0 if unknown */

struct sk_stp {
	int cmd;
	uint64_t seq;
	int64_t signing_time;
	char target[256];        /* "" when absent */
	int has_device;
	uint8_t device[32];      /* SHA-256 of the target device's SPKI DER */
	X509 *cert;              /* NULL when absent */
	ASN1_INTEGER *serial;    /* revoke by serial: NULL when absent */
	struct sk_pkg pkg;       /* the envelope: algorithm, signer */
};
void sk_stp_free(struct sk_stp *s);

/* Check that a command has exactly the fields it needs; rc is the code to
 * fail with (SK_EUSAGE when making, SK_EVERIFY when reading). */
int sk_stp_check_fields(const struct sk_stp *s, int rc);

/* Encode and sign.  s->signing_time 0: now. */
int sk_stp_make(const struct sk_stp *s, const struct sk_signer *signer, struct sk_buf *out);
/* Parse and decode without verifying the signature (show). */
int sk_stp_decode(const uint8_t *der, size_t n, struct sk_stp *out);
/* Verify (with pol's command key) and execute on ctx's store; done
 * (optional) receives what was applied.  pol: sk_ctx_policy. */
int sk_stp_apply(struct sk_ctx *ctx, const struct sk_policy *pol, const uint8_t *der, size_t n,
		 struct sk_stp *done);

/* The last applied sequence number (0: none yet). */
int sk_stp_last_seq(struct sk_ctx *ctx, uint64_t *seq);

#endif
