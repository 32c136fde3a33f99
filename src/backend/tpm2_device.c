/* SPDX-License-Identifier: MIT */
/*
 * The TPM itself (tpm2_int.h): reaching it through a TCTI, and what
 * inspecting it needs without opening the backend for keys -- its
 * properties and algorithms (--version -v), its persistent handles, and
 * evicting one.  No parent key is made or looked up here, so this works
 * while the configured tpm2-parent is missing.
 */
#ifdef SECKIT_HAVE_TPM2

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "backend/tpm2_int.h"

#define DEFAULT_TCTI "device:/dev/tpmrm0"

#ifdef SECKIT_FUZZ
/* The fuzz build only (make fuzz): fuzz/fuzz_tpm2.c answers the TPM's
 * commands itself, through the TCTI this returns for TCTI "fuzz".  Weak:
 * the other harnesses link without it. */
TSS2_TCTI_CONTEXT *sk_tpm2_fuzz_tcti(void) __attribute__((weak));
#endif

int sk_tpm2_connect(struct tpm_backend *be, const struct sk_backend_cfg *cfg)
{
	TSS2_RC r;
	int rc;

	be->parent = ESYS_TR_NONE;
	snprintf(be->tcti_conf, sizeof(be->tcti_conf), "%s",
		 cfg->tcti && cfg->tcti[0] ? cfg->tcti : DEFAULT_TCTI);
	if ((rc = sk_tpm2_load_libs(&be->t)) != SK_OK)
		return rc;
	be->loaded = 1;
#ifdef SECKIT_FUZZ
	if (sk_tpm2_fuzz_tcti != NULL && strcmp(be->tcti_conf, "fuzz") == 0) {
		be->tcti = sk_tpm2_fuzz_tcti();
		be->tcti_fuzz = 1;
		r = TSS2_RC_SUCCESS;
	} else
#endif
	r = be->t.Tss2_TctiLdr_Initialize(be->tcti_conf, &be->tcti);
	if (r != TSS2_RC_SUCCESS) {
		be->tcti = NULL;
		return sk_err(SK_EBACKEND, "tpm2: no TPM reachable through TCTI '%s' (%s)",
			      be->tcti_conf, be->t.Tss2_RC_Decode(r));
	}
	r = be->t.Esys_Initialize(&be->esys, be->tcti, NULL);
	if (r != TSS2_RC_SUCCESS) {
		be->esys = NULL;
		return sk_tpm2_err(be, r, "initialising ESAPI");
	}
	return SK_OK;
}

void sk_tpm2_disconnect(struct tpm_backend *be)
{
	if (be->esys != NULL)
		be->t.Esys_Finalize(&be->esys);
	if (be->tcti != NULL && !be->tcti_fuzz)
		be->t.Tss2_TctiLdr_Finalize(&be->tcti);
	if (be->loaded)
		sk_tpm2_unload_libs(&be->t);
	be->loaded = 0;
}

/* TPM2_GetCapability, starting a TPM nobody has started yet (a bare
 * simulator) once, as making the primary key does. */
int sk_tpm2_getcap(struct tpm_backend *be, TPM2_CAP cap, UINT32 prop, UINT32 count,
		  TPMI_YES_NO *more, TPMS_CAPABILITY_DATA **out)
{
	TSS2_RC r;

	r = be->t.Esys_GetCapability(be->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, cap,
				     prop, count, more, out);
	if (r == TPM2_RC_INITIALIZE) {
		r = be->t.Esys_Startup(be->esys, TPM2_SU_CLEAR);
		if (r != TSS2_RC_SUCCESS)
			return sk_tpm2_err(be, r, "TPM2_Startup");
		r = be->t.Esys_GetCapability(be->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					     cap, prop, count, more, out);
	}
	if (r != TSS2_RC_SUCCESS) {
		*out = NULL;
		return sk_tpm2_err(be, r, "TPM2_GetCapability");
	}
	return SK_OK;
}

/* Four characters packed big-endian in v (a TPM string property), printable
 * ones only; one space where the TPM pads with several. */
static void put_chars(char *out, size_t *len, size_t max, uint32_t v)
{
	int i;

	for (i = 3; i >= 0; i--) {
		unsigned char c = (unsigned char)(v >> (8 * i));

		if (c < 0x20 || c >= 0x7f || *len + 1 >= max ||
		    (c == ' ' && (*len == 0 || out[*len - 1] == ' ')))
			continue;
		out[(*len)++] = (char)c;
	}
	out[*len] = '\0';
}

static void trim(char *s, size_t *len)
{
	while (*len > 0 && s[*len - 1] == ' ')
		s[--(*len)] = '\0';
}

static int fixed_props(struct tpm_backend *be, struct sk_device_info *out)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	uint32_t fw1 = 0, fw2 = 0, rev = 0;
	size_t mlen = 0, vlen = 0, flen = 0;
	UINT32 i;
	int rc;

	if ((rc = sk_tpm2_getcap(be, TPM2_CAP_TPM_PROPERTIES, TPM2_PT_FIXED, TPM2_MAX_TPM_PROPERTIES,
			 &more, &cap)) != SK_OK)
		return rc;
	for (i = 0; i < cap->data.tpmProperties.count; i++) {
		const TPMS_TAGGED_PROPERTY *p = &cap->data.tpmProperties.tpmProperty[i];

		switch (p->property) {
		case TPM2_PT_FAMILY_INDICATOR:
			put_chars(out->family, &flen, sizeof(out->family), p->value);
			break;
		case TPM2_PT_LEVEL: out->level = p->value; break;
		case TPM2_PT_REVISION: rev = p->value; break;
		case TPM2_PT_MANUFACTURER:
			put_chars(out->manufacturer, &mlen, sizeof(out->manufacturer), p->value);
			break;
		case TPM2_PT_VENDOR_STRING_1:
		case TPM2_PT_VENDOR_STRING_2:
		case TPM2_PT_VENDOR_STRING_3:
		case TPM2_PT_VENDOR_STRING_4:
			put_chars(out->vendor, &vlen, sizeof(out->vendor), p->value);
			break;
		case TPM2_PT_FIRMWARE_VERSION_1: fw1 = p->value; break;
		case TPM2_PT_FIRMWARE_VERSION_2: fw2 = p->value; break;
		}
	}
	be->t.Esys_Free(cap);
	trim(out->manufacturer, &mlen);
	trim(out->vendor, &vlen);
	trim(out->family, &flen);
	/* Firmware: two 32-bit words, each major.minor in 16-bit halves (the
	 * vendors' convention); the revision is the spec's times 100. */
	snprintf(out->firmware, sizeof(out->firmware), "%u.%u.%u.%u", fw1 >> 16, fw1 & 0xffff,
		 fw2 >> 16, fw2 & 0xffff);
	snprintf(out->revision, sizeof(out->revision), "%u.%02u", rev / 100, rev % 100);
	return SK_OK;
}

static const struct {
	TPM2_ALG_ID id;
	const char *name;
} banks[] = {
	{ TPM2_ALG_SHA1, "sha1" },     { TPM2_ALG_SHA256, "sha256" },
	{ TPM2_ALG_SHA384, "sha384" }, { TPM2_ALG_SHA512, "sha512" },
	{ TPM2_ALG_SM3_256, "sm3_256" },
};

static int pcr_banks(struct tpm_backend *be, struct sk_device_info *out)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	UINT32 i, b;
	size_t k;
	int rc, used;

	if ((rc = sk_tpm2_getcap(be, TPM2_CAP_PCRS, 0, 1, &more, &cap)) != SK_OK)
		return rc;
	for (i = 0; i < cap->data.assignedPCR.count; i++) {
		const TPMS_PCR_SELECTION *s = &cap->data.assignedPCR.pcrSelections[i];

		for (used = 0, b = 0; b < s->sizeofSelect && b < sizeof(s->pcrSelect); b++)
			used |= s->pcrSelect[b] != 0;
		for (k = 0; used && k < sizeof(banks) / sizeof(banks[0]); k++)
			if (banks[k].id == s->hash && out->nbanks < 8)
				out->banks[out->nbanks++] = banks[k].name;
	}
	be->t.Esys_Free(cap);
	return SK_OK;
}

/* The algorithms and curves seckit asks a TPM for (be_tpm2.c, tpm2_object.c). */
static const struct {
	TPM2_ALG_ID id;
	const char *name;
} algs[] = {
	{ TPM2_ALG_RSA, "rsa" },       { TPM2_ALG_ECC, "ecc" },
	{ TPM2_ALG_AES, "aes" },       { TPM2_ALG_CBC, "cbc" },
	{ TPM2_ALG_CTR, "ctr" },       { TPM2_ALG_CFB, "cfb" },
	{ TPM2_ALG_HMAC, "hmac" },     { TPM2_ALG_KEYEDHASH, "keyedhash" },
	{ TPM2_ALG_SHA256, "sha256" }, { TPM2_ALG_SHA384, "sha384" },
	{ TPM2_ALG_SHA512, "sha512" }, { TPM2_ALG_RSASSA, "rsassa" },
	{ TPM2_ALG_RSAPSS, "rsapss" }, { TPM2_ALG_OAEP, "oaep" },
	{ TPM2_ALG_ECDSA, "ecdsa" },   { TPM2_ALG_ECDH, "ecdh" },
};

static const struct {
	TPM2_ECC_CURVE id;
	const char *name;
} curves[] = {
	{ TPM2_ECC_NIST_P256, "ecc-p256" },
	{ TPM2_ECC_NIST_P384, "ecc-p384" },
	{ TPM2_ECC_NIST_P521, "ecc-p521" },
};

static void sort_alg(struct sk_device_info *out, const char *name, int have)
{
	if (have && out->nalgs < 32)
		out->algs[out->nalgs++] = name;
	else if (!have && out->nlacks < 32)
		out->lacks[out->nlacks++] = name;
}

static int algorithms(struct tpm_backend *be, struct sk_device_info *out)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	size_t k;
	UINT32 i;
	int rc, have;

	if ((rc = sk_tpm2_getcap(be, TPM2_CAP_ALGS, TPM2_ALG_FIRST, TPM2_MAX_CAP_ALGS, &more, &cap)) != SK_OK)
		return rc;
	for (k = 0; k < sizeof(algs) / sizeof(algs[0]); k++) {
		for (have = 0, i = 0; i < cap->data.algorithms.count; i++)
			have |= cap->data.algorithms.algProperties[i].alg == algs[k].id;
		sort_alg(out, algs[k].name, have);
	}
	be->t.Esys_Free(cap);
	if ((rc = sk_tpm2_getcap(be, TPM2_CAP_ECC_CURVES, TPM2_ECC_NONE, TPM2_MAX_ECC_CURVES, &more,
			 &cap)) != SK_OK)
		return rc;
	for (k = 0; k < sizeof(curves) / sizeof(curves[0]); k++) {
		for (have = 0, i = 0; i < cap->data.eccCurves.count; i++)
			have |= cap->data.eccCurves.eccCurves[i] == curves[k].id;
		sort_alg(out, curves[k].name, have);
	}
	be->t.Esys_Free(cap);
	return SK_OK;
}

int sk_tpm2_device_info(const struct sk_backend_cfg *cfg, struct sk_device_info *out)
{
	struct tpm_backend be;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&be, 0, sizeof(be));
	if ((rc = sk_tpm2_connect(&be, cfg)) == SK_OK && (rc = fixed_props(&be, out)) == SK_OK &&
	    (rc = pcr_banks(&be, out)) == SK_OK)
		rc = algorithms(&be, out);
	sk_tpm2_disconnect(&be);
	return rc;
}

/* TPM_PT_PERMANENT (TPMA_PERMANENT: inLockout) and TPM_PT_LOCKOUT_COUNTER
 * ... TPM_PT_LOCKOUT_RECOVERY, from the variable properties. */
static int da_props(struct tpm_backend *be, struct sk_da_state *out)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	UINT32 i;
	int rc;

	if ((rc = sk_tpm2_getcap(be, TPM2_CAP_TPM_PROPERTIES, TPM2_PT_VAR, TPM2_MAX_TPM_PROPERTIES, &more,
			 &cap)) != SK_OK)
		return rc;
	for (i = 0; i < cap->data.tpmProperties.count; i++) {
		const TPMS_TAGGED_PROPERTY *p = &cap->data.tpmProperties.tpmProperty[i];

		switch (p->property) {
		case TPM2_PT_PERMANENT:
			out->locked_out = (p->value & TPMA_PERMANENT_INLOCKOUT) != 0;
			break;
		case TPM2_PT_LOCKOUT_COUNTER: out->counter = p->value; break;
		case TPM2_PT_MAX_AUTH_FAIL: out->max_tries = p->value; break;
		case TPM2_PT_LOCKOUT_INTERVAL: out->interval = p->value; break;
		case TPM2_PT_LOCKOUT_RECOVERY: out->recovery = p->value; break;
		}
	}
	be->t.Esys_Free(cap);
	return SK_OK;
}

int sk_tpm2_da_state(const struct sk_backend_cfg *cfg, struct sk_da_state *out)
{
	struct tpm_backend be;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&be, 0, sizeof(be));
	if ((rc = sk_tpm2_connect(&be, cfg)) == SK_OK)
		rc = da_props(&be, out);
	sk_tpm2_disconnect(&be);
	return rc;
}

int sk_tpm2_list_handles(struct tpm_backend *be, uint32_t *h, size_t *n)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more = TPM2_YES;
	UINT32 next = SK_TPM2_PERSISTENT_FIRST, i;
	int rc;

	*n = 0;
	while (more && *n < SK_MAX_HANDLES) {
		if ((rc = sk_tpm2_getcap(be, TPM2_CAP_HANDLES, next, TPM2_MAX_CAP_HANDLES, &more, &cap)) != SK_OK)
			return rc;
		for (i = 0; i < cap->data.handles.count; i++) {
			TPM2_HANDLE x = cap->data.handles.handle[i];

			if (x > SK_TPM2_PERSISTENT_LAST) {
				more = TPM2_NO;
				break;
			}
			if (*n < SK_MAX_HANDLES)
				h[(*n)++] = x;
			next = x + 1;
		}
		if (cap->data.handles.count == 0)
			more = TPM2_NO;
		be->t.Esys_Free(cap);
	}
	return SK_OK;
}

int sk_tpm2_handles(const struct sk_backend_cfg *cfg, uint32_t *h, size_t *n)
{
	struct tpm_backend be;
	int rc;

	*n = 0;
	memset(&be, 0, sizeof(be));
	if ((rc = sk_tpm2_connect(&be, cfg)) == SK_OK)
		rc = sk_tpm2_list_handles(&be, h, n);
	sk_tpm2_disconnect(&be);
	return rc;
}

int sk_tpm2_evict(const struct sk_backend_cfg *cfg, uint32_t handle)
{
	struct tpm_backend be;
	uint32_t h[SK_MAX_HANDLES];
	ESYS_TR obj = ESYS_TR_NONE, gone = ESYS_TR_NONE;
	size_t n, i;
	TSS2_RC r;
	int rc;

	if (handle < SK_TPM2_PERSISTENT_FIRST || handle > SK_TPM2_PERSISTENT_LAST)
		return sk_err(SK_EUSAGE, "tpm2: 0x%08x is not a persistent handle (0x81000000 to 0x81ffffff)",
			      (unsigned)handle);
	memset(&be, 0, sizeof(be));
	if ((rc = sk_tpm2_connect(&be, cfg)) != SK_OK || (rc = sk_tpm2_list_handles(&be, h, &n)) != SK_OK)
		goto out;
	for (i = 0; i < n && h[i] != handle; i++)
		;
	if (i == n) {
		rc = sk_err(SK_ENOTFOUND, "tpm2: no persistent handle 0x%08x in the TPM",
			    (unsigned)handle);
		goto out;
	}
	r = be.t.Esys_TR_FromTPMPublic(be.esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				       &obj);
	if (r != TSS2_RC_SUCCESS) {
		rc = sk_tpm2_err(&be, r, "reading the persistent object");
		goto out;
	}
	/* The owner hierarchy with its (empty) authorisation, as
	 * tpm2_evictcontrol -C o does without -P. */
	r = be.t.Esys_EvictControl(be.esys, ESYS_TR_RH_OWNER, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				   ESYS_TR_NONE, handle, &gone);
	if (r != TSS2_RC_SUCCESS) {
		rc = sk_tpm2_auth_err(&be, r, "evicting the persistent object", "the owner hierarchy");
		be.t.Esys_TR_Close(be.esys, &obj);
		goto out;
	}
	/* Evicting releases obj in ESAPI too. */
out:
	sk_tpm2_disconnect(&be);
	return rc;
}

#endif /* SECKIT_HAVE_TPM2 */
