/* SPDX-License-Identifier: MIT */
/*
 * TPM responses are untrusted input: this harness is the TPM.  A TCTI of
 * its own (tpm2-tss lets the caller supply the TSS2_TCTI_CONTEXT; the fuzz
 * build's tpm2_device.c takes it for TCTI "fuzz") answers every command
 * the tpm2 backend sends with the next response from the fuzzer's input,
 * so ESAPI's unmarshalling and everything seckit does with what it
 * returns run on hostile bytes: loading and signing (EC, RSA), unsealing
 * the master key, a password key's salted session and a refused password
 * (the dictionary-attack state), making the storage primary and ECDH,
 * reading PCRs.
 *
 * Input: scenario (1 byte), the key or sealed blob the scenario loads
 * (u16 length, bytes: ESAPI checks a Load's answer against the public
 * area it sent), then the responses (u16 length, bytes each).  Seeds
 * (fuzz/corpus/fuzz_tpm2/) are real swtpm answers, recorded by this
 * harness itself: with SK_FUZZ_TPM2_RECORD=<TCTI> and
 * SK_FUZZ_TPM2_SEED=<file> it makes the blob on that TPM, then forwards
 * each command to it and writes what came back (fuzz/make-corpus.sh).
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "backend/backend.h"
#include "backend/tpm.h"
#include "base/err.h"
#include "base/util.h"
#include "crypto/crypto.h"
#include "crypto/keytype.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

#ifdef SECKIT_HAVE_TPM2

#include <tss2/tss2_tcti.h>
#include <tss2/tss2_tctildr.h>

#define PARENT 0x81000001u /* the persistent parent of the scenarios */

enum { SC_EC_SIGN, SC_RSA_SIGN, SC_UNSEAL, SC_WRONG_PASSWORD, SC_PRIMARY_ECDH, SC_PCR_READ,
       SC_COUNT };

/* The responses still to give. */
static const uint8_t *in_p;
static size_t in_n;
/* Record mode: the real TPM, the seed being written, whether commands
 * are recorded yet (making the blob is not part of the scenario). */
static TSS2_TCTI_CONTEXT *real;
static FILE *seed;
static int recording;
static uint8_t last[4096];
static size_t last_n;
static int pending;

static TSS2_RC fz_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *cmd)
{
	(void)ctx;
	if (real != NULL)
		return Tss2_Tcti_Transmit(real, size, cmd);
	return TSS2_RC_SUCCESS;
}

static TSS2_RC fz_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *rsp, int32_t timeout)
{
	size_t len, got;

	(void)ctx;
	if (real != NULL) {
		/* A call without a buffer asks the size: the answer is read
		 * then and given on the next call. */
		if (!pending) {
			TSS2_RC r;

			last_n = sizeof(last);
			if ((r = Tss2_Tcti_Receive(real, &last_n, last, timeout)) != TSS2_RC_SUCCESS)
				return r;
			pending = 1;
		}
		if (rsp == NULL) {
			*size = last_n;
			return TSS2_RC_SUCCESS;
		}
		if (*size < last_n)
			return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
		pending = 0;
		memcpy(rsp, last, last_n);
		*size = last_n;
		got = last_n;
		if (recording && seed != NULL) {
			uint8_t h[2];

			sk_put_be16(h, (uint16_t)got);
			fwrite(h, 1, 2, seed);
			fwrite(last, 1, got, seed);
		}
		return TSS2_RC_SUCCESS;
	}
	if (in_n < 2)
		return TSS2_TCTI_RC_IO_ERROR;
	len = sk_get_be16(in_p);
	if (len > in_n - 2)
		len = in_n - 2;
	if (rsp == NULL) {
		*size = len;
		return TSS2_RC_SUCCESS;
	}
	if (*size < len)
		return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
	memcpy(rsp, in_p + 2, len);
	*size = len;
	in_p += 2 + len;
	in_n -= 2 + len;
	return TSS2_RC_SUCCESS;
}

static void fz_finalize(TSS2_TCTI_CONTEXT *ctx)
{
	(void)ctx;
}

static TSS2_RC fz_cancel(TSS2_TCTI_CONTEXT *ctx)
{
	(void)ctx;
	return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}

static TSS2_RC fz_poll(TSS2_TCTI_CONTEXT *ctx, TSS2_TCTI_POLL_HANDLE *h, size_t *n)
{
	(void)ctx;
	(void)h;
	(void)n;
	return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}

static TSS2_RC fz_locality(TSS2_TCTI_CONTEXT *ctx, uint8_t l)
{
	(void)ctx;
	(void)l;
	return TSS2_RC_SUCCESS;
}

static TSS2_RC fz_sticky(TSS2_TCTI_CONTEXT *ctx, TPM2_HANDLE *h, uint8_t sticky)
{
	(void)ctx;
	(void)h;
	(void)sticky;
	return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}

static TSS2_TCTI_CONTEXT_COMMON_V2 fz_tcti = {
	.v1 = {
		.magic = 0x736b66757a7a0001ull,
		.version = 2,
		.transmit = fz_transmit,
		.receive = fz_receive,
		.finalize = fz_finalize,
		.cancel = fz_cancel,
		.getPollHandles = fz_poll,
		.setLocality = fz_locality,
	},
	.makeSticky = fz_sticky,
};

TSS2_TCTI_CONTEXT *sk_tpm2_fuzz_tcti(void);
TSS2_TCTI_CONTEXT *sk_tpm2_fuzz_tcti(void)
{
	return (TSS2_TCTI_CONTEXT *)&fz_tcti;
}

static const struct sk_keytype *scenario_type(int sc)
{
	return sk_keytype_by_name(sc == SC_RSA_SIGN ? "rsa-2048" : "ec-p256");
}

static void fill_auth(struct sk_auth *a, uint8_t v)
{
	memset(a, 0, sizeof(*a));
	memset(a->value, v, sizeof(a->value));
	a->value[31] |= 1;
	snprintf(a->label, sizeof(a->label), "password object 'fuzz'");
}

/* Run scenario sc on backend b with blob: what seckit does on such a
 * command, every result freed and cleansed as it would be. */
static int run_scenario(int sc, struct sk_backend *b, const uint8_t *blob, size_t bn)
{
	static EVP_PKEY *peer;
	const struct sk_keytype *kt = scenario_type(sc);
	uint8_t dgst[32] = { 1, 2, 3 };
	struct sk_buf out = { 0 };
	struct sk_bkey *k = NULL;
	struct sk_auth auth;
	int rc = SK_OK;

	switch (sc) {
	case SC_EC_SIGN:
	case SC_RSA_SIGN:
		if ((rc = b->ops->load(b, kt, blob, bn, NULL, &k)) == SK_OK) {
			rc = b->ops->sign(k, EVP_sha256(), 0, dgst, sizeof(dgst), &out);
			b->ops->unload(k);
		}
		break;
	case SC_WRONG_PASSWORD:
		fill_auth(&auth, 0x5a);
		if ((rc = b->ops->load(b, kt, blob, bn, &auth, &k)) == SK_OK) {
			rc = b->ops->sign(k, EVP_sha256(), 0, dgst, sizeof(dgst), &out);
			b->ops->unload(k);
		}
		break;
	case SC_UNSEAL:
		rc = b->ops->unseal(b, blob, bn, &out);
		break;
	case SC_PRIMARY_ECDH:
		if (peer == NULL)
			peer = EVP_EC_gen("P-256"); /* one for the whole run */
		if (peer == NULL)
			rc = SK_EFAIL;
		else if ((rc = b->ops->load(b, kt, blob, bn, NULL, &k)) == SK_OK) {
			rc = b->ops->derive(k, peer, &out);
			b->ops->unload(k);
		}
		break;
	}
	sk_buf_cleanse_free(&out);
	return rc;
}

static int pcr_scenario(const struct sk_backend_cfg *cfg)
{
	static uint8_t vals[SK_PCR_COUNT][SK_PCR_MAX_DIGEST];
	struct sk_tpm *t = NULL;
	uint32_t reset, restart;
	int rc;

	if ((rc = sk_tpm_open(cfg, &t)) != SK_OK)
		return rc;
	if ((rc = sk_tpm_pcr_read(t, SK_BANK_SHA256, 0xffffffu, vals)) == SK_OK)
		rc = sk_tpm_boot(t, &reset, &restart);
	sk_tpm_close(t);
	return rc;
}

/* Record mode: make the scenario's blob on the real TPM, then run the
 * scenario there, writing the seed. */
static void record(int sc, const char *conf, const char *path)
{
	static void *ldr;
	__typeof__(Tss2_TctiLdr_Initialize) *init;
	__typeof__(Tss2_TctiLdr_Finalize) *fini;
	struct sk_backend_cfg cfg = { .tcti = "fuzz", .tpm2_parent = PARENT };
	struct sk_backend *b = NULL;
	struct sk_buf blob = { 0 };
	struct sk_auth auth;
	EVP_PKEY *pub = NULL;
	uint8_t secret[32] = { 7 }, h[3];

	if (ldr == NULL && (ldr = dlopen("libtss2-tctildr.so.0", RTLD_NOW)) == NULL)
		return;
	*(void **)&init = dlsym(ldr, "Tss2_TctiLdr_Initialize");
	*(void **)&fini = dlsym(ldr, "Tss2_TctiLdr_Finalize");
	if (init == NULL || init(conf, &real) != TSS2_RC_SUCCESS)
		return;
	if (sc == SC_PRIMARY_ECDH)
		cfg.tpm2_parent = 0;
	if ((seed = fopen(path, "wb")) == NULL)
		return;
	if (sc != SC_PCR_READ) {
		int rc = sk_backend_open("tpm2", &cfg, &b);

		if (rc == SK_OK && sc == SC_UNSEAL) {
			rc = b->ops->seal(b, secret, sizeof(secret), &blob);
		} else if (rc == SK_OK) {
			fill_auth(&auth, 0xa5);
			rc = b->ops->generate(b, scenario_type(sc), 0,
					      sc == SC_WRONG_PASSWORD ? &auth : NULL, &blob, &pub);
			EVP_PKEY_free(pub);
		}
		if (rc != SK_OK)
			fprintf(stderr, "fuzz_tpm2: making the blob: %s\n", sk_err_msg());
		sk_backend_close(b);
	}
	h[0] = (uint8_t)sc;
	sk_put_be16(h + 1, (uint16_t)blob.len);
	fwrite(h, 1, 3, seed);
	fwrite(blob.p, 1, blob.len, seed);
	recording = 1;
	if (sc == SC_PCR_READ) {
		pcr_scenario(&cfg);
	} else if (sk_backend_open("tpm2", &cfg, &b) == SK_OK) {
		run_scenario(sc, b, blob.p, blob.len);
		sk_backend_close(b);
	}
	recording = 0;
	fclose(seed);
	seed = NULL;
	sk_buf_free(&blob);
	if (fini != NULL)
		fini(&real);
	real = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct sk_backend_cfg cfg = { .tcti = "fuzz", .tpm2_parent = PARENT };
	struct sk_backend *b = NULL;
	const char *rec = getenv("SK_FUZZ_TPM2_RECORD");
	size_t bn;
	int sc, rc;

	sk_crypto_init();
	if (n < 1)
		return 0;
	sc = data[0] % SC_COUNT;
	if (rec != NULL && getenv("SK_FUZZ_TPM2_SEED") != NULL) {
		record(sc, rec, getenv("SK_FUZZ_TPM2_SEED"));
		sk_err_clear();
		return 0;
	}
	if (n < 3)
		return 0;
	bn = sk_get_be16(data + 1);
	if (bn > n - 3)
		return 0;
	in_p = data + 3 + bn;
	in_n = n - 3 - bn;
	if (sc == SC_PRIMARY_ECDH)
		cfg.tpm2_parent = 0;
	if (sc == SC_PCR_READ) {
		rc = pcr_scenario(&cfg);
	} else if ((rc = sk_backend_open("tpm2", &cfg, &b)) == SK_OK) {
		rc = run_scenario(sc, b, data + 3, bn);
		sk_backend_close(b);
	}
	/* SK_FUZZ_TPM2_TRACE: how each input ended (a seed gets through its
	 * scenario, "ok", except the refused password of wrong-password and
	 * the unseal: its answer is authenticated and encrypted under a
	 * session salted afresh each run, so a recorded one is refused once
	 * ESAPI has parsed it). */
	if (getenv("SK_FUZZ_TPM2_TRACE") != NULL)
		fprintf(stderr, "fuzz_tpm2: scenario %d: %s\n", sc, rc == SK_OK ? "ok" : sk_err_msg());
	sk_err_clear();
	return 0;
}

#else /* !SECKIT_HAVE_TPM2: nothing to fuzz in a build without tpm2 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	(void)data;
	(void)n;
	return 0;
}

#endif
