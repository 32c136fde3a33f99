/* SPDX-License-Identifier: MIT */
/*
 * Signed predictions (measure.h): golden values whose PolicyPCR digest an
 * OEM key approves for TPM2_PolicyAuthorize (docs/formats/measure.md).
 */
#include "measure/measure.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "base/err.h"
#include "base/util.h"
#include "base/yaml.h"
#include "format/pkg.h"

int sk_golden_ahash(const uint8_t policy[32], const uint8_t *ref, size_t reflen, uint8_t out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, policy, 32) &&
	     (reflen == 0 || EVP_DigestUpdate(c, ref, reflen)) && EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
	return ok ? SK_OK : sk_err_ssl(SK_EFAIL, "computing aHash");
}

static int add_hex_line(struct sk_buf *b, const char *key, const uint8_t *p, size_t n)
{
	char hex[2 * SK_GOLDEN_SIG_MAX + 1];
	char line[64];
	int rc;

	sk_hex(hex, p, n);
	snprintf(line, sizeof(line), "  %s: \"", key);
	if ((rc = sk_buf_add(b, line, strlen(line))) == SK_OK && (rc = sk_buf_add(b, hex, 2 * n)) == SK_OK)
		rc = sk_buf_add(b, "\"\n", 2);
	return rc;
}

int sk_golden_sign(const struct sk_golden *g, const struct sk_signer *s, struct sk_buf *out)
{
	static const char head[] =
		"# TPM2_PolicyAuthorize: the key of 'signer' approves 'policy' above\n"
		"authorization:\n";
	struct sk_buf sig = { 0 };
	uint8_t ahash[32];
	char line[120];
	int rc;

	if (s->md != EVP_sha256() || s->pss)
		return sk_err(SK_EUNSUPP, "a prediction is signed with SHA-256 (ECDSA or RSA PKCS#1 v1.5)");
	if ((rc = sk_golden_format(g, out)) != SK_OK || (rc = sk_golden_ahash(g->policy, NULL, 0, ahash)) != SK_OK ||
	    (rc = sk_signer_sign_digest(s, ahash, sizeof(ahash), &sig)) != SK_OK)
		goto out;
	if (sig.len == 0 || sig.len > SK_GOLDEN_SIG_MAX) {
		rc = sk_err(SK_EUNSUPP, "%s: a signature of %zu bytes is too long for a prediction", s->what,
			    sig.len);
		goto out;
	}
	snprintf(line, sizeof(line), "  policy-ref: \"\"\n  signer: %s\n", s->fpr);
	if ((rc = sk_buf_add(out, head, strlen(head))) == SK_OK &&
	    (rc = sk_buf_add(out, line, strlen(line))) == SK_OK)
		rc = add_hex_line(out, "signature", sig.p, sig.len);
out:
	sk_buf_free(&sig);
	return rc;
}

static int hex_value(const struct sk_ydoc *d, const struct sk_ynode *map, const char *key,
		     uint8_t *out, size_t max, size_t *n)
{
	const struct sk_ynode *v = sk_y_get(map, key);
	const char *h;
	size_t len;
	int rc;

	if (v == NULL)
		return sk_yerr(d, map, "authorization: no '%s'", key);
	if ((rc = sk_y_str(d, v, &h)) != SK_OK)
		return rc;
	len = strlen(h);
	if (len % 2 != 0 || len / 2 > max || sk_unhex(out, len / 2, h) != 0)
		return sk_yerr(d, v, "%s: expected at most %zu bytes in hex", key, max);
	*n = len / 2;
	return SK_OK;
}

/* The keys of authorization: read by hex_value (signer is a comment for
 * people: the TPM checks the key it is given). */
static int f_any(const struct sk_ydoc *d, const struct sk_ynode *v, void *arg)
{
	(void)arg;
	return sk_y_expect(d, v, SK_Y_SCALAR, "a hex string");
}

/* The message just set (a located YAML error), as a failed check. */
static int as_tampered(void)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", sk_err_msg());
	return sk_err(SK_EVERIFY, "%s", msg);
}

int sk_golden_load_signed(const char *path, struct sk_golden *g, struct sk_golden_auth *auth)
{
	static const struct sk_yfield fields[] = {
		{ "policy-ref", f_any }, { "signer", f_any }, { "signature", f_any },
	};
	struct sk_ydoc doc = { 0 };
	const struct sk_ynode *a;
	int rc;

	memset(auth, 0, sizeof(*auth));
	/* A prediction that does not hold together was tampered with (7),
	 * whatever a plain golden file's mistakes are (3). */
	if ((rc = sk_golden_load(path, g)) == SK_ECONFIG)
		return as_tampered();
	if (rc != SK_OK)
		return rc;
	if ((rc = sk_yaml_load(path, &doc)) != SK_OK)
		return rc;
	if ((a = sk_y_get(doc.root, "authorization")) == NULL) {
		rc = sk_err(SK_EVERIFY, "%s: not signed (no authorization: an unsigned prediction approves nothing)",
			    path);
		goto out;
	}
	if ((rc = sk_y_expect(&doc, a, SK_Y_MAP, "authorization")) != SK_OK ||
	    (rc = sk_y_walk(&doc, a, fields, SK_ARRAY_SIZE(fields), NULL, "authorization", 0)) != SK_OK)
		goto out;
	if ((rc = hex_value(&doc, a, "policy-ref", auth->ref, sizeof(auth->ref), &auth->reflen)) != SK_OK ||
	    (rc = hex_value(&doc, a, "signature", auth->sig, sizeof(auth->sig), &auth->siglen)) != SK_OK)
		goto out;
	if (auth->siglen == 0)
		rc = sk_yerr(&doc, sk_y_get(a, "signature"), "signature: empty");
out:
	sk_yaml_free(&doc);
	return rc == SK_ECONFIG ? as_tampered() : rc;
}

int sk_golden_auth_verify(const struct sk_golden *g, const struct sk_golden_auth *auth,
			  EVP_PKEY *oem)
{
	EVP_PKEY_CTX *c = NULL;
	uint8_t ahash[32];
	int rc, ok;

	if ((rc = sk_golden_ahash(g->policy, auth->ref, auth->reflen, ahash)) != SK_OK)
		return rc;
	if ((c = EVP_PKEY_CTX_new_from_pkey(NULL, oem, NULL)) == NULL)
		return sk_err_ssl(SK_EFAIL, "checking the prediction's signature");
	ok = EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
	     (!EVP_PKEY_is_a(oem, "RSA") || EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1);
	if (!ok) {
		EVP_PKEY_CTX_free(c);
		return sk_err_ssl(SK_EUNSUPP, "a prediction is signed by an EC or RSA key");
	}
	ok = EVP_PKEY_verify(c, auth->sig, auth->siglen, ahash, sizeof(ahash)) == 1;
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	if (!ok)
		return sk_err(SK_EVERIFY, "the signature is not the OEM key's over these golden values");
	return SK_OK;
}
