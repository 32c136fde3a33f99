/* SPDX-License-Identifier: MIT */
#include "crypto/crypto.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/provider.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "base/err.h"
#include "base/fileio.h"
#include "crypto/sha256kdf.h"
#include "base/util.h"


void sk_crypto_init(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, NULL);
	/* OpenSSL's secure heap: private key parts (BN_secure_new), our key
	 * objects, the store's keys and passwords (OPENSSL_secure_*) live in
	 * an arena that is mlock'ed (never swapped) and MADV_DONTDUMP (left out
	 * of core files, gcore's included).  The most any command holds at
	 * once is a few KiB (an RSA-4096 key generation: under 4 KiB); 256 KiB
	 * leaves room for the fleet's worker threads.  Start-up cost: about
	 * 1,500 instructions and five system calls.  Without it (an OpenSSL
	 * built with no-secure-memory) OPENSSL_secure_* falls back to malloc,
	 * as it does on purpose under AddressSanitizer, which must see every
	 * allocation to check it. */
#if !SK_ASAN
	CRYPTO_secure_malloc_init(SK_SECURE_HEAP, 32);
#endif
}

int sk_random(void *p, size_t n)
{
	if (n > 0x7fffffff || RAND_bytes(p, (int)n) != 1)
		return sk_err_ssl(SK_EFAIL, "random number generator");
	return SK_OK;
}

/* Without branching on the block's bytes, which are secret: a padding
 * oracle must learn nothing from the time the check takes. */
int sk_pkcs7_unpad(const uint8_t last[16])
{
	uint8_t pad = last[15], bad = (uint8_t)((pad == 0) | (pad > 16));
	unsigned i;

	for (i = 0; i < 16; i++) {
		uint8_t in_pad = (uint8_t)((16 - i) <= pad);

		bad |= (uint8_t)(in_pad & (last[i] != pad));
	}
	return bad ? -1 : 16 - pad;
}

int sk_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
		   const void *info, size_t infolen, uint8_t *out, size_t outlen)
{
	/* No EVP fetch on the store's hot path: see sha256kdf.h. */
	if (sk_hkdf_sha256_raw(ikm, ikmlen, salt, saltlen, info, infolen, out, outlen) != 0)
		return sk_err(SK_EFAIL, "HKDF: output too long");
	return SK_OK;
}

int sk_hmac(const char *md, const uint8_t *key, size_t keylen, const void *p, size_t n,
	    uint8_t *out, size_t *outlen)
{
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	int rc = SK_OK;

	/* HMAC-SHA256 (every store MAC) without an EVP fetch: sha256kdf.h. */
	if (strcasecmp(md, "SHA256") == 0 || strcasecmp(md, "SHA2-256") == 0) {
		sk_hmac_sha256(key, keylen, p, n, out);
		*outlen = 32;
		return SK_OK;
	}
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (mac == NULL || (ctx = EVP_MAC_CTX_new(mac)) == NULL ||
	    EVP_MAC_init(ctx, key, keylen, params) != 1 ||
	    EVP_MAC_update(ctx, p, n) != 1 ||
	    EVP_MAC_final(ctx, out, outlen, EVP_MAX_MD_SIZE) != 1)
		rc = sk_err_ssl(SK_EFAIL, "HMAC");
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

/*
 * One-shot AES-256-GCM straight through the default provider's dispatch
 * table.  Why not EVP_CipherInit_ex: in OpenSSL 3.0 the first cipher
 * fetch of a process builds the global name map and a method object for
 * every cipher the provider has -- 6 of the 6.7 million instructions of a
 * whole `seckit key info`, which reads one sealed header.  The provider
 * interface is public and stable (provider-cipher(7),
 * OSSL_PROVIDER_query_operation(3)); the code that runs is the same
 * OpenSSL AES-GCM (AES-NI, ARMv8 crypto extensions, vpaes) EVP would call.
 * If the default provider or its AES-256-GCM cannot be had this way (a
 * FIPS-only configuration, say), gcm() falls back to EVP.
 */
struct gcm_impl {
	void *provctx;
	OSSL_FUNC_cipher_newctx_fn *newctx;
	OSSL_FUNC_cipher_freectx_fn *freectx;
	OSSL_FUNC_cipher_encrypt_init_fn *einit;
	OSSL_FUNC_cipher_decrypt_init_fn *dinit;
	OSSL_FUNC_cipher_update_fn *update;
	OSSL_FUNC_cipher_final_fn *final;
	OSSL_FUNC_cipher_get_ctx_params_fn *get_params;
	OSSL_FUNC_cipher_set_ctx_params_fn *set_params;
};

/* Filled once per process (CRYPTO_THREAD_run_once), read-only afterwards. */
static struct gcm_impl gcm_direct;
static int gcm_direct_ok;
static CRYPTO_ONCE gcm_once = CRYPTO_ONCE_STATIC_INIT;

static int names_have(const char *names, const char *want)
{
	size_t n = strlen(want);

	for (;;) {
		if (strncasecmp(names, want, n) == 0 && (names[n] == ':' || names[n] == '\0'))
			return 1;
		if ((names = strchr(names, ':')) == NULL)
			return 0;
		names++;
	}
}

static void gcm_direct_init(void)
{
	const OSSL_ALGORITHM *alg;
	const OSSL_DISPATCH *d;
	struct gcm_impl g;
	OSSL_PROVIDER *prov;
	int no_cache = 0;

	memset(&g, 0, sizeof(g));
	/* retain_fallbacks = 1: EVP fetches elsewhere still work as before. */
	if ((prov = OSSL_PROVIDER_try_load(NULL, "default", 1)) == NULL)
		goto none;
	alg = OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_cache);
	for (; alg != NULL && alg->algorithm_names != NULL; alg++)
		if (names_have(alg->algorithm_names, "AES-256-GCM"))
			break;
	if (alg == NULL || alg->algorithm_names == NULL)
		goto none;
	for (d = alg->implementation; d->function_id != 0; d++) {
		switch (d->function_id) {
		case OSSL_FUNC_CIPHER_NEWCTX: g.newctx = OSSL_FUNC_cipher_newctx(d); break;
		case OSSL_FUNC_CIPHER_FREECTX: g.freectx = OSSL_FUNC_cipher_freectx(d); break;
		case OSSL_FUNC_CIPHER_ENCRYPT_INIT: g.einit = OSSL_FUNC_cipher_encrypt_init(d); break;
		case OSSL_FUNC_CIPHER_DECRYPT_INIT: g.dinit = OSSL_FUNC_cipher_decrypt_init(d); break;
		case OSSL_FUNC_CIPHER_UPDATE: g.update = OSSL_FUNC_cipher_update(d); break;
		case OSSL_FUNC_CIPHER_FINAL: g.final = OSSL_FUNC_cipher_final(d); break;
		case OSSL_FUNC_CIPHER_GET_CTX_PARAMS: g.get_params = OSSL_FUNC_cipher_get_ctx_params(d); break;
		case OSSL_FUNC_CIPHER_SET_CTX_PARAMS: g.set_params = OSSL_FUNC_cipher_set_ctx_params(d); break;
		}
	}
	g.provctx = OSSL_PROVIDER_get0_provider_ctx(prov);
	if (g.newctx && g.freectx && g.einit && g.dinit && g.update && g.final && g.get_params &&
	    g.set_params && g.provctx) {
		gcm_direct = g;
		gcm_direct_ok = 1;
		return; /* the provider stays loaded for the life of the process */
	}
none:
	ERR_clear_error();
}

static int gcm_via_provider(int enc, const uint8_t key[32], const uint8_t nonce[12],
			    const void *aad, size_t aadlen, const void *in, size_t n, uint8_t *out,
			    uint8_t *tag, int *done)
{
	const struct gcm_impl *g = &gcm_direct;
	OSSL_PARAM params[2];
	size_t len, taglen = 16;
	void *c;
	int ok;

	*done = 0;
	if (!CRYPTO_THREAD_run_once(&gcm_once, gcm_direct_init) || !gcm_direct_ok)
		return SK_OK;
	if ((c = g->newctx(g->provctx)) == NULL)
		return SK_OK;
	*done = 1;
	ok = (enc ? g->einit : g->dinit)(c, key, 32, nonce, 12, NULL) &&
	     /* AAD: out NULL, but the provider still checks outsize >= inl */
	     (aadlen == 0 || g->update(c, NULL, &len, aadlen, aad, aadlen)) &&
	     (n == 0 || (g->update(c, out, &len, n, in, n) && len == n));
	if (ok && !enc) {
		params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, taglen);
		params[1] = OSSL_PARAM_construct_end();
		ok = g->set_params(c, params);
	}
	if (!ok) {
		g->freectx(c);
		return sk_err_ssl(SK_EFAIL, "AES-GCM");
	}
	if (!g->final(c, out + n, &len, 0)) {
		g->freectx(c);
		/* Only a tag mismatch makes decryption's final step fail. */
		ERR_clear_error();
		return enc ? sk_err(SK_EFAIL, "AES-GCM") : sk_err(SK_EVERIFY, "authentication tag mismatch");
	}
	if (enc) {
		params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, taglen);
		params[1] = OSSL_PARAM_construct_end();
		if (!g->get_params(c, params)) {
			g->freectx(c);
			return sk_err_ssl(SK_EFAIL, "AES-GCM");
		}
	}
	g->freectx(c);
	return SK_OK;
}

static int gcm(int enc, const uint8_t key[32], const uint8_t nonce[12], const void *aad,
	       size_t aadlen, const void *in, size_t n, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *c;
	int len, rc, done;

	if (n > 0x7fffffff || aadlen > 0x7fffffff)
		return sk_err(SK_EFAIL, "AES-GCM: input too large");
	rc = gcm_via_provider(enc, key, nonce, aad, aadlen, in, n, out, tag, &done);
	if (done) {
		if (rc != SK_OK && n)
			OPENSSL_cleanse(out, n);
		return rc;
	}
	c = EVP_CIPHER_CTX_new();
	if (c == NULL || EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, enc) != 1 ||
	    (aadlen && EVP_CipherUpdate(c, NULL, &len, aad, (int)aadlen) != 1) ||
	    (n && EVP_CipherUpdate(c, out, &len, in, (int)n) != 1)) {
		rc = sk_err_ssl(SK_EFAIL, "AES-GCM");
		goto out;
	}
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1) {
		rc = sk_err_ssl(SK_EFAIL, "AES-GCM");
		goto out;
	}
	if (EVP_CipherFinal_ex(c, out + n, &len) != 1) {
		/* Only a tag mismatch makes decryption's final step fail. */
		ERR_clear_error();
		rc = enc ? sk_err(SK_EFAIL, "AES-GCM") :
			   sk_err(SK_EVERIFY, "authentication tag mismatch");
		goto out;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		rc = sk_err_ssl(SK_EFAIL, "AES-GCM");
out:
	EVP_CIPHER_CTX_free(c);
	if (rc != SK_OK && n)
		OPENSSL_cleanse(out, n);
	return rc;
}

int sk_gcm_seal(const uint8_t key[32], const uint8_t nonce[12], const void *aad,
		size_t aadlen, const void *in, size_t n, uint8_t *out, uint8_t tag[16])
{
	return gcm(1, key, nonce, aad, aadlen, in, n, out, tag);
}

int sk_gcm_open(const uint8_t key[32], const uint8_t nonce[12], const void *aad,
		size_t aadlen, const void *in, size_t n, uint8_t *out, const uint8_t tag[16])
{
	return gcm(0, key, nonce, aad, aadlen, in, n, out, (uint8_t *)tag);
}

static const struct {
	const char *name;
	const char *alias;
} md_names[] = {
	{ "md5", "MD5" },       { "sha1", "SHA1" },         { "sha224", "SHA224" },
	{ "sha256", "SHA256" }, { "sha384", "SHA384" },     { "sha512", "SHA512" },
	{ "sha3-256", "SHA3-256" }, { "sha3-384", "SHA3-384" }, { "sha3-512", "SHA3-512" },
};

const EVP_MD *sk_md_by_name(const char *name, int allow_md5)
{
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(md_names); i++) {
		if (strcasecmp(name, md_names[i].name) != 0 &&
		    strcasecmp(name, md_names[i].alias) != 0)
			continue;
		if (i == 0 && !allow_md5)
			return NULL;
		return EVP_get_digestbyname(md_names[i].alias);
	}
	return NULL;
}

static const struct {
	const char *names;
	const char *what; /* "not accepted for ..." */
} md_uses[] = {
	[SK_MD_TRUST] = { SK_MD_TRUST_NAMES, "certificates and signed packages" },
	[SK_MD_SIGN] = { SK_MD_SIGN_NAMES, "signatures" },
	[SK_MD_PAYLOAD] = { SK_MD_PAYLOAD_NAMES, "payload packages" },
	[SK_MD_HASH] = { SK_MD_HASH_NAMES, "hashing" },
	[SK_MD_DEFAULT] = { SK_MD_DEFAULT_NAMES, "the default digest" },
};

const char *sk_md_names(enum sk_md_use use)
{
	return md_uses[use].names;
}

int sk_md_for(const char *name, enum sk_md_use use, int allow_md5, const EVP_MD **md)
{
	const char *names = md_uses[use].names;
	char list[160], near[32];
	int md5;

	sk_words_join(names, list, sizeof(list));
	if ((*md = sk_md_by_name(name, 1)) == NULL) {
		if (sk_word_closest(names, name, near, sizeof(near)))
			return sk_err(SK_EUSAGE, "unknown digest '%s'; did you mean '%s'? (expected one of: %s)",
				      name, near, list);
		return sk_err(SK_EUSAGE, "unknown digest '%s' (expected one of: %s)", name, list);
	}
	md5 = EVP_MD_get_type(*md) == NID_md5;
	if (md5 && use != SK_MD_TRUST && !sk_word_in(names, "md5", 0)) {
		*md = NULL;
		return sk_err(SK_EUNSUPP, "md5 is broken: not accepted for %s", md_uses[use].what);
	}
	if (md5 && use != SK_MD_TRUST && !allow_md5) {
		*md = NULL;
		return sk_err(SK_EUNSUPP, "md5 is broken");
	}
	if (!sk_word_in(names, sk_md_name(*md), 0)) {
		*md = NULL;
		return sk_err(SK_EUSAGE, "digest '%s' is not accepted for %s (expected one of: %s)",
			      name, md_uses[use].what, list);
	}
	return SK_OK;
}

int sk_md_is_weak(const EVP_MD *md)
{
	int t = EVP_MD_get_type(md);

	return t == NID_md5 || t == NID_sha1;
}

const char *sk_md_name(const EVP_MD *md)
{
	switch (EVP_MD_get_type(md)) {
	case NID_md5: return "md5";
	case NID_sha1: return "sha1";
	case NID_sha224: return "sha224";
	case NID_sha256: return "sha256";
	case NID_sha384: return "sha384";
	case NID_sha512: return "sha512";
	case NID_sha3_256: return "sha3-256";
	case NID_sha3_384: return "sha3-384";
	case NID_sha3_512: return "sha3-512";
	default: return "unknown";
	}
}

int sk_pkey_fingerprint(const EVP_PKEY *pkey, char hex[65])
{
	unsigned char *der = NULL, md[32];
	int n = i2d_PUBKEY((EVP_PKEY *)pkey, &der);

	if (n <= 0)
		return sk_err_ssl(SK_EFAIL, "encoding public key");
	sk_sha256(der, (size_t)n, md);
	OPENSSL_free(der);
	sk_hex(hex, md, 32);
	return SK_OK;
}

static int decode(const uint8_t *p, size_t n, const char *pass, int selection,
		  const char *input, EVP_PKEY **out)
{
	OSSL_DECODER_CTX *d;
	const unsigned char *q = p;
	size_t left = n;
	int ok;

	*out = NULL;
	d = OSSL_DECODER_CTX_new_for_pkey(out, input, NULL, NULL, selection, NULL, NULL);
	if (d == NULL)
		return 0;
	/* An empty passphrase callback result makes encrypted input fail
	 * cleanly instead of prompting on OpenSSL's own terms. */
	OSSL_DECODER_CTX_set_passphrase(d, (const unsigned char *)(pass ? pass : ""),
					pass ? strlen(pass) : 0);
	ok = OSSL_DECODER_from_data(d, &q, &left);
	OSSL_DECODER_CTX_free(d);
	if (ok && left != 0 && strcmp(input, "DER") == 0) {
		/* trailing garbage after a DER key */
		EVP_PKEY_free(*out);
		*out = NULL;
		return 0;
	}
	return ok && *out != NULL;
}

/*
 * An RSA key with two primes whose public half (n, e) belongs to its
 * private half: n = p q, e d = 1 mod lcm(p - 1, q - 1), and the CRT values
 * follow from them.  1 if so, 0 if not, -1 for a key this does not cover
 * (more primes, no factors).  EVP_PKEY_pairwise_check checks this too,
 * but tests p and q for primality on the way: 0.1 to 0.7 s for an
 * RSA-4096 key, on every read of a signing key file.
 */
static int rsa_pair(const EVP_PKEY *pkey)
{
	static const char *const names[] = {
		OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
		OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
		OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
		OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	BIGNUM *v[8] = { NULL }, *p1 = BN_new(), *q1 = BN_new(), *l = BN_new(), *t = BN_new(),
	       *extra = NULL;
	BN_CTX *bc = BN_CTX_new();
	size_t i;
	int r = -1;

	for (i = 0; i < 8; i++)
		if (!EVP_PKEY_get_bn_param(pkey, names[i], &v[i]))
			goto out;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR3, &extra) ||
	    bc == NULL || p1 == NULL || q1 == NULL || l == NULL || t == NULL)
		goto out;
	/* v: n e d p q dp dq qinv */
	r = 0;
	if (BN_cmp(v[3], BN_value_one()) <= 0 || BN_cmp(v[4], BN_value_one()) <= 0 ||
	    !BN_mul(t, v[3], v[4], bc) || BN_cmp(t, v[0]) != 0)
		goto out;
	if (!BN_sub(p1, v[3], BN_value_one()) || !BN_sub(q1, v[4], BN_value_one()) ||
	    !BN_gcd(t, p1, q1, bc) || !BN_mul(l, p1, q1, bc) || !BN_div(l, NULL, l, t, bc) ||
	    !BN_mod_mul(t, v[1], v[2], l, bc) || !BN_is_one(t))
		goto out;
	if (!BN_mod(t, v[2], p1, bc) || BN_cmp(t, v[5]) != 0 || !BN_mod(t, v[2], q1, bc) ||
	    BN_cmp(t, v[6]) != 0 || !BN_mod_mul(t, v[7], v[4], v[3], bc) || !BN_is_one(t))
		goto out;
	r = 1;
out:
	for (i = 0; i < 8; i++)
		BN_clear_free(v[i]);
	BN_clear_free(extra);
	BN_clear_free(p1);
	BN_clear_free(q1);
	BN_clear_free(l);
	BN_clear_free(t);
	BN_CTX_free(bc);
	ERR_clear_error();
	return r;
}

int sk_pkey_check_pair(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *c;
	int r = EVP_PKEY_is_a(pkey, "RSA") ? rsa_pair(pkey) : -1;

	if (r < 0) {
		/* EC: the public point is the private scalar times the
		 * generator (one multiplication). */
		if ((c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL)
			return sk_err_ssl(SK_EFAIL, "checking the key");
		r = EVP_PKEY_pairwise_check(c);
		EVP_PKEY_CTX_free(c);
		ERR_clear_error();
		/* -2: no such check for this key type; seckit refuses those
		 * types anyway (sk_keytype_of_pkey). */
		if (r == -2)
			r = 1;
	}
	if (r != 1)
		return sk_err(SK_EVERIFY, "the public key in it does not belong to its private key");
	return SK_OK;
}

int sk_pkey_parse(const uint8_t *p, size_t n, const char *pass, int want_private,
		  EVP_PKEY **out, int *is_private)
{
	int pem = n >= 10 && memmem(p, n, "-----BEGIN", 10) != NULL;
	const char *input = pem ? "PEM" : "DER";
	int encrypted = pem && (memmem(p, n, "ENCRYPTED", 9) != NULL);
	int rc;

	*out = NULL;
	if (decode(p, n, pass, EVP_PKEY_KEYPAIR, input, out)) {
		ERR_clear_error();
		/* PKCS#8 and SEC1 carry the public key next to the private one,
		 * and the decoder takes it as it is: a pair that does not match
		 * would be stored with the wrong public key and sign for nobody. */
		if ((rc = sk_pkey_check_pair(*out)) != SK_OK) {
			EVP_PKEY_free(*out);
			*out = NULL;
			return rc;
		}
		if (is_private)
			*is_private = 1;
		return SK_OK;
	}
	ERR_clear_error();
	if (encrypted)
		return pass ? sk_err(SK_EAUTH, "wrong passphrase for the encrypted key")
			    : sk_err(SK_EAUTH, "the key is encrypted: give its passphrase");
	if (!want_private && decode(p, n, NULL, EVP_PKEY_PUBLIC_KEY, input, out)) {
		if (is_private)
			*is_private = 0;
		ERR_clear_error();
		return SK_OK;
	}
	ERR_clear_error();
	return sk_err(SK_EFAIL, "not a %s key in PEM or DER form",
		      want_private ? "private" : "private or public");
}

int sk_pkey_load(const char *path, const char *pass, int want_private, EVP_PKEY **out)
{
	struct sk_buf b = { 0 };
	int rc;

	rc = sk_read_file(path, 1u << 20, &b);
	if (rc == SK_OK) {
		rc = sk_pkey_parse(b.p, b.len, pass, want_private, out, NULL);
		if (rc != SK_OK)
			sk_err_wrap(rc, "reading key '%s'", sk_path_name(path));
	}
	sk_buf_cleanse_free(&b);
	return rc;
}

int sk_digest_file(const char *path, const EVP_MD *md, uint8_t *out, size_t *outlen,
		   uint64_t *size)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	struct sk_in in;
	uint8_t *buf = malloc(1u << 17);
	uint64_t total = 0;
	unsigned int len;
	int rc;

	if (c == NULL || buf == NULL) {
		EVP_MD_CTX_free(c);
		free(buf);
		return sk_err(SK_EFAIL, "out of memory");
	}
	if ((rc = sk_in_open(&in, path)) != SK_OK)
		goto out;
	if (EVP_DigestInit_ex(c, md, NULL) != 1) {
		rc = sk_err_ssl(SK_EFAIL, "digest");
		goto close;
	}
	for (;;) {
		ssize_t r = sk_in_read(&in, buf, 1u << 17);

		if (r < 0) {
			rc = SK_EFAIL;
			goto close;
		}
		if (r == 0)
			break;
		total += (uint64_t)r;
		if (EVP_DigestUpdate(c, buf, (size_t)r) != 1) {
			rc = sk_err_ssl(SK_EFAIL, "digest");
			goto close;
		}
	}
	if (EVP_DigestFinal_ex(c, out, &len) != 1) {
		rc = sk_err_ssl(SK_EFAIL, "digest");
		goto close;
	}
	*outlen = len;
	if (size)
		*size = total;
close:
	sk_in_close(&in);
out:
	free(buf);
	EVP_MD_CTX_free(c);
	return rc;
}

int sk_pkcs8_encrypt(EVP_PKEY *pkey, const char *pass, size_t passlen, int der,
		     struct sk_buf *out)
{
	PKCS8_PRIV_KEY_INFO *p8inf = NULL;
	X509_SIG *p8 = NULL;
	BIO *bio = NULL;
	unsigned char *der_p = NULL;
	char *data;
	long len;
	int rc = SK_OK, n;

	if (passlen > 0x7fffffff)
		return sk_err(SK_EUSAGE, "passphrase too long");
	if ((p8inf = EVP_PKEY2PKCS8(pkey)) == NULL ||
	    (p8 = PKCS8_encrypt_ex(-1, EVP_aes_256_cbc(), pass, (int)passlen, NULL, 0,
				   SK_PBKDF2_ITER, p8inf, NULL, NULL)) == NULL) {
		rc = sk_err_ssl(SK_EFAIL, "encrypting private key");
		goto out;
	}
	if (der) {
		if ((n = i2d_X509_SIG(p8, &der_p)) <= 0) {
			rc = sk_err_ssl(SK_EFAIL, "encoding private key");
			goto out;
		}
		rc = sk_buf_add(out, der_p, (size_t)n);
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_PKCS8(bio, p8) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0) {
		rc = sk_err_ssl(SK_EFAIL, "encoding private key");
		goto out;
	}
	rc = sk_buf_add(out, data, (size_t)len);
out:
	OPENSSL_free(der_p);
	BIO_free(bio);
	X509_SIG_free(p8);
	PKCS8_PRIV_KEY_INFO_free(p8inf);
	return rc;
}

/* Key and IV for the openssl enc format: PBKDF2-HMAC-SHA256 -> 32 + 16. */
static int pbe_keyiv(const char *pass, size_t passlen, const uint8_t salt[8], uint8_t kiv[48])
{
	if (passlen > 0x7fffffff ||
	    PKCS5_PBKDF2_HMAC(pass, (int)passlen, salt, 8, SK_PBKDF2_ITER, EVP_sha256(), 48,
			      kiv) != 1)
		return sk_err_ssl(SK_EFAIL, "PBKDF2");
	return SK_OK;
}

static int pbe_cipher(int enc, const uint8_t kiv[48], const uint8_t *in, size_t n, uint8_t *out,
		      size_t *outlen)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0, rc = SK_OK;

	if (n > 0x7fffff00 || c == NULL ||
	    EVP_CipherInit_ex(c, EVP_aes_256_cbc(), NULL, kiv, kiv + 32, enc) != 1 ||
	    EVP_CipherUpdate(c, out, &l1, in, (int)n) != 1) {
		rc = sk_err_ssl(SK_EFAIL, "AES-256-CBC");
	} else if (EVP_CipherFinal_ex(c, out + l1, &l2) != 1) {
		ERR_clear_error();
		rc = enc ? sk_err(SK_EFAIL, "AES-256-CBC")
			 : sk_err(SK_EAUTH, "wrong passphrase (or not an encrypted key file)");
	}
	EVP_CIPHER_CTX_free(c);
	*outlen = (size_t)l1 + (size_t)l2;
	return rc;
}

int sk_pbe_seal(const char *pass, size_t passlen, const uint8_t *in, size_t n,
		struct sk_buf *out)
{
	uint8_t kiv[48], *p;
	size_t len;
	int rc;

	if ((rc = sk_buf_reserve(out, 16 + n + 16)) != SK_OK)
		return rc;
	p = out->p + out->len;
	memcpy(p, SK_PBE_MAGIC, 8);
	if ((rc = sk_random(p + 8, 8)) == SK_OK && (rc = pbe_keyiv(pass, passlen, p + 8, kiv)) == SK_OK &&
	    (rc = pbe_cipher(1, kiv, in, n, p + 16, &len)) == SK_OK)
		out->len += 16 + len;
	OPENSSL_cleanse(kiv, sizeof(kiv));
	return rc;
}

int sk_pbe_open(const char *pass, size_t passlen, const uint8_t *in, size_t n,
		struct sk_buf *out)
{
	uint8_t kiv[48];
	size_t len = 0;
	int rc;

	if (n < 32 || (n - 16) % 16 != 0 || memcmp(in, SK_PBE_MAGIC, 8) != 0)
		return sk_err(SK_EFAIL, "not an encrypted key file (openssl enc -pbkdf2 format)");
	if ((rc = sk_buf_reserve(out, n - 16 + 16)) != SK_OK)
		return rc;
	if ((rc = pbe_keyiv(pass, passlen, in + 8, kiv)) == SK_OK) {
		rc = pbe_cipher(0, kiv, in + 16, n - 16, out->p + out->len, &len);
		if (rc == SK_OK)
			out->len += len;
		else
			OPENSSL_cleanse(out->p + out->len, n);
	}
	OPENSSL_cleanse(kiv, sizeof(kiv));
	return rc;
}
