/* SPDX-License-Identifier: MIT */
/* PCR arithmetic on the host (pcr.h). */
#include "crypto/pcr.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/util.h"

#define TPM_CC_POLICYPCR 0x0000017fu

static const struct sk_bankinfo banks[SK_NBANKS] = {
	[SK_BANK_SHA1] = { "sha1", 0x0004, 20, "SHA1" },
	[SK_BANK_SHA256] = { "sha256", 0x000b, 32, "SHA256" },
	[SK_BANK_SHA384] = { "sha384", 0x000c, 48, "SHA384" },
	[SK_BANK_SHA512] = { "sha512", 0x000d, 64, "SHA512" },
	[SK_BANK_SM3] = { "sm3_256", 0x0012, 32, "SM3" },
};

const struct sk_bankinfo *sk_bank(enum sk_bank b)
{
	return &banks[b];
}

int sk_bank_by_name(const char *name, enum sk_bank *out)
{
	int b;

	for (b = 0; b < SK_NBANKS; b++)
		if (strcmp(name, banks[b].name) == 0) {
			*out = (enum sk_bank)b;
			return SK_OK;
		}
	return sk_err(SK_EUSAGE, "unknown PCR bank '%s' (expected one of: sha1, sha256, sha384, sha512, sm3_256)",
		      name);
}

int sk_bank_by_alg(uint16_t alg)
{
	int b;

	for (b = 0; b < SK_NBANKS; b++)
		if (banks[b].alg == alg)
			return b;
	return -1;
}

int sk_bank_list(const char *list, unsigned *mask)
{
	char word[32];
	const char *p = list, *e;
	enum sk_bank b = SK_BANK_SHA256;
	size_t n;
	int rc;

	*mask = 0;
	for (;;) {
		e = strchr(p, ',');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 || n >= sizeof(word))
			return sk_err(SK_EUSAGE, "bad PCR bank list '%s' (expected names separated by commas: sha256,sha384)",
				      list);
		memcpy(word, p, n);
		word[n] = '\0';
		if ((rc = sk_bank_by_name(word, &b)) != SK_OK)
			return rc;
		if (*mask & (1u << b))
			return sk_err(SK_EUSAGE, "PCR bank '%s' given twice", word);
		*mask |= 1u << b;
		if (e == NULL)
			return SK_OK;
		p = e + 1;
	}
}

const EVP_MD *sk_bank_md(enum sk_bank b)
{
	static const EVP_MD *md[SK_NBANKS];

	if (md[b] == NULL)
		md[b] = EVP_MD_fetch(NULL, banks[b].md, NULL);
	if (md[b] == NULL)
		sk_err_ssl(SK_EUNSUPP, "PCR bank %s: no %s digest in this OpenSSL", banks[b].name,
			   banks[b].md);
	return md[b];
}

int sk_pcr_list(const char *list, uint32_t *mask)
{
	const char *p = list;
	char *end;
	unsigned long v;

	*mask = 0;
	for (;;) {
		if (*p < '0' || *p > '9')
			return sk_err(SK_EUSAGE, "bad PCR list '%s' (expected PCR numbers 0 to 23 separated by commas: 7,16)",
				      list);
		v = strtoul(p, &end, 10);
		if (v >= SK_PCR_COUNT || end - p > 2)
			return sk_err(SK_EUSAGE, "PCR %.*s out of range (a TPM has PCRs 0 to 23)",
				      (int)(end - p), p);
		if (*mask & (1u << v))
			return sk_err(SK_EUSAGE, "PCR %lu given twice in '%s'", v, list);
		*mask |= 1u << v;
		if (*end == '\0')
			return SK_OK;
		if (*end != ',')
			return sk_err(SK_EUSAGE, "bad PCR list '%s' (expected PCR numbers 0 to 23 separated by commas: 7,16)",
				      list);
		p = end + 1;
	}
}

void sk_pcr_list_str(uint32_t mask, char *buf, size_t n)
{
	size_t len = 0;
	int i;

	if (n == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < SK_PCR_COUNT; i++)
		if ((mask & (1u << i)) && len < n)
			len += (size_t)snprintf(buf + len, n - len, "%s%d", len ? "," : "", i);
}

void sk_pcr_reset_value(int pcr, enum sk_bank b, uint8_t *out)
{
	memset(out, pcr >= 17 && pcr <= 22 ? 0xff : 0x00, banks[b].size);
}

int sk_pcr_extend(enum sk_bank b, uint8_t *pcr, const uint8_t *digest)
{
	const EVP_MD *md = sk_bank_md(b);
	EVP_MD_CTX *c;
	int ok;

	if (md == NULL)
		return SK_EUNSUPP;
	if ((c = EVP_MD_CTX_new()) == NULL)
		return sk_err_ssl(SK_EFAIL, "extending a PCR value");
	ok = EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, pcr, banks[b].size) &&
	     EVP_DigestUpdate(c, digest, banks[b].size) && EVP_DigestFinal_ex(c, pcr, NULL);
	EVP_MD_CTX_free(c);
	return ok ? SK_OK : sk_err_ssl(SK_EFAIL, "extending a PCR value");
}

int sk_pcr_composite(enum sk_bank b, uint32_t mask, const uint8_t vals[][SK_PCR_MAX_DIGEST],
		     uint8_t out[SK_PCR_COMPOSITE_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok, i;

	ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	for (i = 0; ok && i < SK_PCR_COUNT; i++)
		if (mask & (1u << i))
			ok = EVP_DigestUpdate(c, vals[i], banks[b].size);
	ok = ok && EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
	return ok ? SK_OK : sk_err_ssl(SK_EFAIL, "computing a PCR composite digest");
}

void sk_pcr_selection(enum sk_bank b, uint32_t mask, uint8_t out[SK_PCR_SEL_LEN])
{
	sk_put_be32(out, 1);
	sk_put_be16(out + 4, banks[b].alg);
	out[6] = 3;
	out[7] = (uint8_t)mask;
	out[8] = (uint8_t)(mask >> 8);
	out[9] = (uint8_t)(mask >> 16);
}

int sk_policy_pcr(uint8_t policy[32], enum sk_bank b, uint32_t mask, const uint8_t *composite)
{
	uint8_t cc[4], sel[SK_PCR_SEL_LEN];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	sk_put_be32(cc, TPM_CC_POLICYPCR);
	sk_pcr_selection(b, mask, sel);
	ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(c, policy, 32) && EVP_DigestUpdate(c, cc, sizeof(cc)) &&
	     EVP_DigestUpdate(c, sel, sizeof(sel)) &&
	     EVP_DigestUpdate(c, composite, SK_PCR_COMPOSITE_LEN) &&
	     EVP_DigestFinal_ex(c, policy, NULL);
	EVP_MD_CTX_free(c);
	return ok ? SK_OK : sk_err_ssl(SK_EFAIL, "computing a PolicyPCR digest");
}

int sk_pcr_binding_put(struct sk_buf *out, const struct sk_pcr_binding *b)
{
	uint8_t hdr[6];
	int rc, i;

	sk_put_be16(hdr, banks[b->bank].alg);
	sk_put_be32(hdr + 2, b->mask);
	rc = sk_buf_add(out, hdr, sizeof(hdr));
	for (i = 0; i < SK_PCR_COUNT && rc == SK_OK; i++)
		if (b->mask & (1u << i))
			rc = sk_buf_add(out, b->vals[i], banks[b->bank].size);
	return rc;
}

size_t sk_pcr_binding_get(const uint8_t *p, size_t n, struct sk_pcr_binding *b)
{
	size_t want = 6, sz;
	int bank, i;

	if (n < 6 || (bank = sk_bank_by_alg(sk_get_be16(p))) < 0)
		return 0;
	b->bank = (enum sk_bank)bank;
	b->mask = sk_get_be32(p + 2);
	if (b->mask == 0 || (b->mask >> SK_PCR_COUNT) != 0)
		return 0;
	sz = banks[bank].size;
	want += sz * (size_t)__builtin_popcount(b->mask);
	if (n < want)
		return 0;
	p += 6;
	for (i = 0; i < SK_PCR_COUNT; i++)
		if (b->mask & (1u << i)) {
			memcpy(b->vals[i], p, sz);
			p += sz;
		}
	return want;
}

int sk_pcr_first_changed(const struct sk_pcr_binding *b,
			 const uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST])
{
	int i;

	for (i = 0; i < SK_PCR_COUNT; i++)
		if ((b->mask & (1u << i)) && !sk_ct_equal(b->vals[i], cur[i], banks[b->bank].size))
			return i;
	return -1;
}
