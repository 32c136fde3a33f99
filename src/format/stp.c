/* SPDX-License-Identifier: MIT */
#include "format/stp.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base/err.h"
#include "keys/keys.h"
#include "trust/trust.h"
#include "trust/x509.h"

#define SEQ_OBJ "stp-seq"
#define STP_VERSION 1

/* The body of an STP (docs/formats/stp.md, STPCommand). */
typedef struct {
	ASN1_INTEGER *sequence;
	ASN1_OBJECT *command;
	ASN1_GENERALIZEDTIME *signing_time;
	ASN1_UTF8STRING *target;
	ASN1_OCTET_STRING *device;
	ASN1_OCTET_STRING *certificate;
	ASN1_INTEGER *serial;
} SK_STP_BODY;

ASN1_SEQUENCE(SK_STP_BODY) = {
	ASN1_SIMPLE(SK_STP_BODY, sequence, ASN1_INTEGER),
	ASN1_SIMPLE(SK_STP_BODY, command, ASN1_OBJECT),
	ASN1_SIMPLE(SK_STP_BODY, signing_time, ASN1_GENERALIZEDTIME),
	ASN1_OPT(SK_STP_BODY, target, ASN1_UTF8STRING),
	ASN1_IMP_OPT(SK_STP_BODY, device, ASN1_OCTET_STRING, 0),
	ASN1_IMP_OPT(SK_STP_BODY, certificate, ASN1_OCTET_STRING, 1),
	ASN1_IMP_OPT(SK_STP_BODY, serial, ASN1_INTEGER, 2),
} static_ASN1_SEQUENCE_END(SK_STP_BODY)
IMPLEMENT_STATIC_ASN1_ALLOC_FUNCTIONS(SK_STP_BODY)

static const char *const cmd_names[] = {
	NULL, "set-cert", "add-ca", "update-ca", "delete-ca", "revoke", "rotate-command-key",
};
#define NCMDS ((int)SK_ARRAY_SIZE(cmd_names))

const char *sk_stp_cmd_name(int cmd)
{
	return cmd > 0 && cmd < NCMDS ? cmd_names[cmd] : "unknown";
}

int sk_stp_cmd_by_name(const char *name)
{
	int i;

	for (i = 1; i < NCMDS; i++)
		if (strcmp(cmd_names[i], name) == 0)
			return i;
	return 0;
}

void sk_stp_free(struct sk_stp *s)
{
	X509_free(s->cert);
	ASN1_INTEGER_free(s->serial);
	sk_pkg_free(&s->pkg);
	s->cert = NULL;
	s->serial = NULL;
}

int sk_stp_check_fields(const struct sk_stp *s, int rc)
{
	const char *c = sk_stp_cmd_name(s->cmd);
	int need_target = 0, need_cert = 1, serial_ok = 0;

	switch (s->cmd) {
	case SK_STP_SET_CERT:
	case SK_STP_ADD_CA:
	case SK_STP_UPDATE_CA:
		need_target = 1;
		break;
	case SK_STP_DELETE_CA:
		need_target = 1;
		need_cert = 0;
		break;
	case SK_STP_REVOKE:
		serial_ok = 1;
		break;
	case SK_STP_ROTATE_COMMAND_KEY:
		break;
	default:
		return sk_err(rc, "unknown STP command");
	}
	if (s->seq == 0 || s->seq > SK_STP_SEQ_MAX)
		return sk_err(rc, "the sequence number must be 1 to %lld", (long long)SK_STP_SEQ_MAX);
	if (need_target && !s->target[0])
		return sk_err(rc, "%s needs a target name", c);
	if (!need_target && s->target[0])
		return sk_err(rc, "%s takes no target name", c);
	/* Not echoed: from a package, it is whatever bytes an attacker chose. */
	if (s->target[0] && !sk_name_valid(s->target))
		return sk_err(rc, "the target is not a valid certificate name (letters, digits, '.', '_', '@', '+', '-')");
	if (need_cert && s->cert == NULL)
		return sk_err(rc, "%s needs a certificate", c);
	if (!need_cert && s->cert != NULL)
		return sk_err(rc, "%s takes no certificate", c);
	if (!serial_ok && s->serial != NULL)
		return sk_err(rc, "%s takes no serial number", c);
	if (s->serial != NULL && ASN1_STRING_type(s->serial) == V_ASN1_NEG_INTEGER)
		return sk_err(rc, "a serial number cannot be negative");
	if ((s->cmd == SK_STP_ADD_CA || s->cmd == SK_STP_UPDATE_CA) && X509_check_ca(s->cert) < 1)
		return sk_err(rc == SK_EUSAGE ? SK_EVERIFY : rc, "%s: the certificate is not a CA certificate", c);
	return SK_OK;
}

/* ---- making ---- */

int sk_stp_make(const struct sk_stp *s, const struct sk_signer *signer, struct sk_buf *out)
{
	SK_STP_BODY *b = NULL;
	ASN1_OBJECT *cmd = NULL;
	struct sk_buf body = { 0 }, der = { 0 };
	char suffix[16];
	int rc;

	if ((rc = sk_stp_check_fields(s, SK_EUSAGE)) != SK_OK)
		return rc;
	snprintf(suffix, sizeof(suffix), "3.%d", s->cmd);
	if ((b = SK_STP_BODY_new()) == NULL || (cmd = sk_oid(suffix)) == NULL ||
	    !ASN1_INTEGER_set_uint64(b->sequence, s->seq) ||
	    !ASN1_GENERALIZEDTIME_set(b->signing_time,
				      s->signing_time ? (time_t)s->signing_time : time(NULL))) {
		rc = sk_err_ssl(SK_EFAIL, "encoding the STP");
		goto out;
	}
	ASN1_OBJECT_free(b->command);
	b->command = cmd;
	cmd = NULL;
	if (s->target[0] && ((b->target = ASN1_UTF8STRING_new()) == NULL ||
			     !ASN1_STRING_set(b->target, s->target, -1))) {
		rc = sk_err_ssl(SK_EFAIL, "encoding the STP");
		goto out;
	}
	if (s->has_device && ((b->device = ASN1_OCTET_STRING_new()) == NULL ||
			      !ASN1_OCTET_STRING_set(b->device, s->device, 32))) {
		rc = sk_err_ssl(SK_EFAIL, "encoding the STP");
		goto out;
	}
	if (s->cert != NULL) {
		if ((rc = sk_x509_der(s->cert, &der)) != SK_OK)
			goto out;
		if ((b->certificate = ASN1_OCTET_STRING_new()) == NULL ||
		    !ASN1_OCTET_STRING_set(b->certificate, der.p, (int)der.len)) {
			rc = sk_err_ssl(SK_EFAIL, "encoding the STP");
			goto out;
		}
	}
	if (s->serial != NULL && (b->serial = ASN1_INTEGER_dup(s->serial)) == NULL) {
		rc = sk_err_ssl(SK_EFAIL, "encoding the STP");
		goto out;
	}
	if ((rc = sk_asn1_encode(ASN1_ITEM_rptr(SK_STP_BODY), b, &body)) != SK_OK)
		goto out;
	rc = sk_pkg_make(SK_PKG_STP, STP_VERSION, body.p, body.len, signer, out);
out:
	ASN1_OBJECT_free(cmd);
	SK_STP_BODY_free(b);
	sk_buf_free(&body);
	sk_buf_free(&der);
	return rc;
}

/* ---- reading ---- */

static int decode_body(const uint8_t *p, size_t n, struct sk_stp *s)
{
	SK_STP_BODY *b = NULL;
	char suffix[16];
	uint64_t seq;
	int rc, i;

	if ((rc = sk_asn1_decode(ASN1_ITEM_rptr(SK_STP_BODY), p, n, "STP body", (void **)&b)) != SK_OK)
		return rc;
	rc = SK_EVERIFY;
	if (ASN1_STRING_type(b->sequence) != V_ASN1_INTEGER ||
	    !ASN1_INTEGER_get_uint64(&seq, b->sequence)) {
		ERR_clear_error();
		sk_err(rc, "STP: the sequence number is out of range");
		goto out;
	}
	s->seq = seq;
	for (i = 1; i < NCMDS; i++) {
		snprintf(suffix, sizeof(suffix), "3.%d", i);
		if (sk_oid_is(b->command, suffix))
			s->cmd = i;
	}
	if (s->cmd == 0) {
		char txt[128];

		sk_oid_text(b->command, txt, sizeof(txt));
		sk_err(rc, "STP: unknown command %s", txt);
		goto out;
	}
	if (sk_asn1_time_epoch(b->signing_time, &s->signing_time) != SK_OK) {
		sk_err(rc, "STP: malformed signing time");
		goto out;
	}
	if (b->target != NULL) {
		int len = ASN1_STRING_length(b->target);

		if (len <= 0 || len >= (int)sizeof(s->target) ||
		    memchr(ASN1_STRING_get0_data(b->target), '\0', (size_t)len)) {
			sk_err(rc, "STP: malformed target name");
			goto out;
		}
		memcpy(s->target, ASN1_STRING_get0_data(b->target), (size_t)len);
		s->target[len] = '\0';
	}
	if (b->device != NULL) {
		if (ASN1_STRING_length(b->device) != 32) {
			sk_err(rc, "STP: the device identifier is not 32 bytes");
			goto out;
		}
		memcpy(s->device, ASN1_STRING_get0_data(b->device), 32);
		s->has_device = 1;
	}
	if (b->certificate != NULL) {
		const unsigned char *q = ASN1_STRING_get0_data(b->certificate);
		long len = ASN1_STRING_length(b->certificate);

		s->cert = d2i_X509(NULL, &q, len);
		if (s->cert == NULL || q != ASN1_STRING_get0_data(b->certificate) + len) {
			ERR_clear_error();
			sk_err(rc, "STP: the certificate is malformed");
			goto out;
		}
	}
	if (b->serial != NULL) {
		s->serial = b->serial;
		b->serial = NULL;
		if (ASN1_STRING_length(s->serial) > 20) {
			sk_err(rc, "STP: the serial number is longer than 20 bytes");
			goto out;
		}
	}
	rc = sk_stp_check_fields(s, SK_EVERIFY);
	if (rc != SK_OK)
		sk_err_wrap(rc, "STP");
out:
	SK_STP_BODY_free(b);
	return rc;
}

int sk_stp_decode(const uint8_t *der, size_t n, struct sk_stp *s)
{
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = sk_pkg_parse(der, n, SK_PKG_STP, STP_VERSION, &s->pkg)) != SK_OK)
		return rc;
	if ((rc = decode_body(s->pkg.body, s->pkg.bodylen, s)) != SK_OK)
		sk_stp_free(s);
	return rc;
}

int sk_stp_last_seq(struct sk_ctx *ctx, uint64_t *seq)
{
	struct sk_store *st;
	int rc = sk_ctx_store(ctx, 0, &st);

	return rc ? rc : sk_state_get_u64(st, SEQ_OBJ, seq);
}

/* ---- applying ---- */

/* Who the package is for. */
static int check_device(struct sk_store *st, const char *name, const struct sk_stp *s)
{
	struct sk_keyinfo k;
	char want[65];
	int rc, same;

	if (!s->has_device)
		return SK_OK;
	rc = sk_key_info_st(st, name, &k);
	if (rc == SK_ENOTFOUND)
		return sk_err(SK_EVERIFY, "the STP is for one device, and this store has no device key '%s'",
			      name);
	if (rc != SK_OK)
		return rc;
	sk_hex(want, s->device, 32);
	same = strcmp(want, k.fingerprint) == 0;
	sk_keyinfo_free(&k);
	if (!same)
		return sk_err(SK_EVERIFY, "the STP is for another device (%.16s..., this one is %.16s...)",
			      want, k.fingerprint);
	return SK_OK;
}

/* The package verified (signature, device, sequence): it may change the
 * trust anchors of a locked store (SK_BY_STP). */
static int execute(struct sk_txn *t, const struct sk_backend_ref *be, const struct sk_policy *pol,
		   const struct sk_stp *s)
{
	const char *cmdkey = pol->role[SK_ROLE_OEM_COMMAND];
	char origin[32];
	int changed;

	snprintf(origin, sizeof(origin), "stp %llu", (unsigned long long)s->seq);
	switch (s->cmd) {
	case SK_STP_SET_CERT:
		if (strcmp(s->target, cmdkey) == 0)
			return sk_err(SK_EVERIFY, "set-cert cannot replace the command certificate '%s' (use rotate-command-key)",
				      cmdkey);
		return sk_trust_set_cert_txn(t, be, pol, s->target, s->cert, NULL, origin,
					     SK_BY_STP);
	case SK_STP_ADD_CA:
	case SK_STP_UPDATE_CA:
		return sk_trust_ca_txn(t, s->target, s->cert, s->cmd == SK_STP_UPDATE_CA, origin,
				       SK_BY_STP);
	case SK_STP_DELETE_CA:
		return sk_trust_ca_delete_txn(t, s->target, SK_BY_STP);
	case SK_STP_REVOKE:
		if (s->serial != NULL)
			return sk_trust_revoke_txn(t, X509_get_subject_name(s->cert), s->serial,
						   NULL, &changed);
		return sk_trust_revoke_txn(t, X509_get_issuer_name(s->cert),
					   X509_get0_serialNumber(s->cert), s->cert, &changed);
	case SK_STP_ROTATE_COMMAND_KEY:
		/* The command certificate carries the command key: both
		 * change in this transaction, and from its commit on only
		 * the new key's packages verify. */
		return sk_trust_set_cert_txn(t, be, pol, cmdkey, s->cert, cmdkey, origin,
					     SK_BY_STP);
	}
	return sk_err(SK_EVERIFY, "unknown STP command");
}

int sk_stp_apply(struct sk_ctx *ctx, const struct sk_policy *pol, const uint8_t *der, size_t n,
		 struct sk_stp *done)
{
	const char *cmdkey = pol->role[SK_ROLE_OEM_COMMAND];
	struct sk_backend_ref be = sk_ctx_backend_ref(ctx);
	struct sk_stp s;
	struct sk_verifier v;
	struct sk_store *st;
	struct sk_txn *t = NULL;
	uint64_t last;
	int rc, have_v = 0;

	if ((rc = sk_stp_decode(der, n, &s)) != SK_OK)
		return rc;
	if ((rc = sk_ctx_store(ctx, 0, &st)) != SK_OK)
		goto out;
	/* Everything from the check of the sequence number to the commit
	 * happens under the writer lock: two packages cannot both pass as
	 * "next". */
	if ((rc = sk_txn_begin(st, &t)) != SK_OK)
		goto out;
	rc = sk_verifier_from_key(&v, ctx, cmdkey);
	if (rc == SK_ENOTFOUND) {
		rc = sk_err(SK_ENOTFOUND, "no command key '%s' in the store (provision one): cannot verify the STP",
			    cmdkey);
		goto out;
	}
	if (rc != SK_OK)
		goto out;
	have_v = 1;
	if ((rc = sk_pkg_verify(&s.pkg, &v)) != SK_OK) {
		sk_err_wrap(rc, "STP (command key '%s')", cmdkey);
		goto out;
	}
	if ((rc = check_device(st, pol->role[SK_ROLE_DEVICE_KEY], &s)) != SK_OK)
		goto out;
	if ((rc = sk_state_get_u64(st, SEQ_OBJ, &last)) != SK_OK)
		goto out;
	if (s.seq <= last) {
		rc = sk_err(SK_EVERIFY, "replay: STP sequence number %llu is not above the last applied (%llu)",
			    (unsigned long long)s.seq, (unsigned long long)last);
		goto out;
	}
	if ((rc = execute(t, &be, pol, &s)) != SK_OK ||
	    (rc = sk_state_put_u64(t, SEQ_OBJ, s.seq)) != SK_OK ||
	    (rc = sk_trust_clock_txn(t, s.signing_time)) != SK_OK)
		goto out;
	rc = sk_txn_commit(t);
	t = NULL;
out:
	sk_txn_abort(t);
	if (have_v)
		sk_verifier_free(&v);
	if (rc == SK_OK && done != NULL)
		*done = s;
	else
		sk_stp_free(&s);
	return rc;
}
