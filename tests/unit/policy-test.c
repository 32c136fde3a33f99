/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the lists the command line is checked against: the one
 * digest policy (src/crypto/crypto.c sk_md_for, documented in seckit(1)
 * DIGESTS), the key type names --type completes to, the backend names,
 * and the word lists they are written as.  Run by tests/06-crypto.bats;
 * prints "ok N - what" lines and exits non-zero on the first failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "backend/backend.h"
#include "crypto/crypto.h"
#include "base/err.h"
#include "crypto/keytype.h"
#include "base/util.h"
#include "check.h"

/* The rc of sk_md_for, and md set exactly when it is SK_OK. */
static int md_for(const char *name, enum sk_md_use use, int allow_md5)
{
	const EVP_MD *md = EVP_sha256();
	int rc = sk_md_for(name, use, allow_md5, &md);

	if ((rc == SK_OK) != (md != NULL))
		return -1;
	return rc;
}

/* Every word of list is accepted by use, with the digest of that name. */
static int accepts_all(const char *list, enum sk_md_use use)
{
	char buf[256], *w, *save = NULL;
	const EVP_MD *md;

	snprintf(buf, sizeof(buf), "%s", list);
	for (w = strtok_r(buf, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
		if (sk_md_for(w, use, 1, &md) != SK_OK || strcmp(sk_md_name(md), w) != 0)
			return 0;
	return 1;
}

int main(void)
{
	static const char *const all = "md5 sha1 sha224 sha256 sha384 sha512 sha3-256 sha3-384 sha3-512";
	char buf[256], *w, *save = NULL;
	size_t k = 0;
	const struct sk_backend_entry *e;

	/* word lists */
	CHECK(sk_word_in("pem der", "der", 0) && !sk_word_in("pem der", "de", 0) &&
	      !sk_word_in("pem der", "DER", 0) && sk_word_in("pem der", "DER", 1),
	      "sk_word_in: whole words, case only when asked");
	sk_words_join("a bb  c", buf, sizeof(buf));
	CHECK(strcmp(buf, "a, bb, c") == 0, "sk_words_join");
	CHECK(sk_word_closest("gcm cbc ctr", "gmc", buf, sizeof(buf)) && strcmp(buf, "gcm") == 0,
	      "sk_word_closest finds a near word");
	CHECK(!sk_word_closest("gcm cbc ctr", "oaep-sha1", buf, sizeof(buf)), "and none when all are far");

	/* the digest policy, use by use */
	CHECK(strcmp(sk_md_names(SK_MD_TRUST), "sha256 sha384 sha512") == 0 &&
	      accepts_all(sk_md_names(SK_MD_TRUST), SK_MD_TRUST),
	      "trust (certificates, STPs, OOIDs, opaque keys): sha256 sha384 sha512");
	CHECK(md_for("sha1", SK_MD_TRUST, 1) == SK_EUSAGE && md_for("sha224", SK_MD_TRUST, 1) == SK_EUSAGE &&
	      md_for("sha3-256", SK_MD_TRUST, 1) == SK_EUSAGE && md_for("md5", SK_MD_TRUST, 1) == SK_EUSAGE,
	      "trust: nothing else, md5 not even with allow_md5 (usage error)");
	CHECK(accepts_all(SK_MD_SIGN_NAMES, SK_MD_SIGN) && md_for("md5", SK_MD_SIGN, 1) == SK_EUNSUPP,
	      "signatures: SHA-2, sha1, SHA-3; md5 is unsupported (6)");
	CHECK(accepts_all(SK_MD_PAYLOAD_NAMES, SK_MD_PAYLOAD) &&
	      md_for("md5", SK_MD_PAYLOAD, 0) == SK_EUNSUPP && md_for("sha3-256", SK_MD_PAYLOAD, 1) == SK_EUSAGE,
	      "payload packages: SHA-2 and sha1, md5 only when allowed, no SHA-3 (the format has none)");
	CHECK(accepts_all(all, SK_MD_HASH) && md_for("md5", SK_MD_HASH, 0) == SK_EUNSUPP,
	      "hashing: every digest, md5 only when allowed");
	CHECK(md_for("SHA384", SK_MD_TRUST, 0) == SK_OK && md_for("Sha256", SK_MD_SIGN, 0) == SK_OK,
	      "names in any case, as openssl spells them");
	CHECK(md_for("sha265", SK_MD_SIGN, 0) == SK_EUSAGE && strstr(sk_err_msg(), "did you mean 'sha256'"),
	      "an unknown name is a usage error with a suggestion");
	CHECK(md_for("", SK_MD_HASH, 1) == SK_EUSAGE && md_for("sha256 ", SK_MD_HASH, 1) == SK_EUSAGE,
	      "no partial or padded names");
	/* The config's default is used by signatures and payloads alike. */
	snprintf(buf, sizeof(buf), "%s", SK_MD_DEFAULT_NAMES);
	for (w = strtok_r(buf, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
		if (!sk_word_in(SK_MD_SIGN_NAMES, w, 0) || !sk_word_in(SK_MD_PAYLOAD_NAMES, w, 0))
			break;
	CHECK(w == NULL, "defaults.digest names only digests that signatures and payloads both take");

	/* --type's list is the key type table */
	snprintf(buf, sizeof(buf), "%s", SK_KEYTYPE_NAMES);
	save = NULL;
	for (w = strtok_r(buf, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save), k++)
		if (k >= sk_nkeytypes || strcmp(sk_keytypes[k].name, w) != 0)
			break;
	CHECK(w == NULL && k == sk_nkeytypes, "SK_KEYTYPE_NAMES lists sk_keytypes[] in order");

	/* --backend's list is the backend table */
	buf[0] = '\0';
	for (e = sk_backend_table; e->name != NULL; e++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", buf[0] ? " " : "", e->name);
	CHECK(strcmp(buf, SK_BACKEND_NAMES) == 0 && strcmp(sk_backend_names[0], "soft") == 0 &&
	      sk_backend_table[0].ops == &sk_soft_backend,
	      "backend table, names and SK_BACKEND_NAMES agree");
#ifdef SECKIT_HAVE_PKCS11
#define PKCS11_BUILT SK_OK
#else
#define PKCS11_BUILT SK_EBACKEND
#endif
	CHECK(sk_backend_check("soft") == SK_OK && sk_backend_check("pkcs11") == PKCS11_BUILT &&
	      sk_backend_check("nosuch") == SK_EUSAGE, "known, built or not, unknown backends");
	printf("1..%d\n", n);
	return 0;
}
