/* SPDX-License-Identifier: MIT */
/* Certificates, certificate chains, CSRs and key files (PEM or DER). */
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "trust/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	STACK_OF(X509) *chain = NULL;
	X509_REQ *req = NULL;
	EVP_PKEY *pkey = NULL;
	int priv;

	sk_crypto_init();
	if (sk_x509_parse(data, n, "fuzz", &chain) == SK_OK) {
		int i;

		for (i = 0; i < sk_X509_num(chain); i++) {
			char buf[256], fpr[65];
			int64_t t;

			sk_x509_name_str(X509_get_subject_name(sk_X509_value(chain, i)), buf, sizeof(buf));
			sk_x509_serial_str(X509_get0_serialNumber(sk_X509_value(chain, i)), buf, sizeof(buf));
			sk_x509_fingerprint(sk_X509_value(chain, i), fpr);
			sk_asn1_time_epoch(X509_get0_notAfter(sk_X509_value(chain, i)), &t);
		}
		sk_X509_pop_free(chain, X509_free);
	}
	if (sk_x509_req_parse(data, n, "fuzz", &req) == SK_OK)
		X509_REQ_free(req);
	if (sk_pkey_parse(data, n, NULL, 0, &pkey, &priv) == SK_OK)
		EVP_PKEY_free(pkey);
	sk_err_clear();
	return 0;
}
