/* SPDX-License-Identifier: MIT */
#ifndef SK_PAYLOAD_H
#define SK_PAYLOAD_H

#include <stdint.h>

#include "format/pkg.h"

/*
 * Signed payload packages (docs/formats/payload.md):
 *
 *   PayloadPackage ::= SEQUENCE {
 *       tbs        PackageHeader,  -- type id-seckit.1.1, version 1,
 *                                  -- body PayloadInfo { digestAlgorithm, payloadSize }
 *       payload    OCTET STRING,   -- the payload, payloadSize bytes
 *       signature  OCTET STRING }  -- over the DER of tbs and payload
 *
 * Made and verified in one streaming pass in constant memory.  Verify
 * writes the payload to a temporary file and renames it into place only
 * once digest, structure and signature all checked out.
 */

#define SK_PAYLOAD_VERSION 1
/* Largest payload size accepted in a header (2^62 bytes). */
#define SK_PAYLOAD_MAX (UINT64_C(1) << 62)

/* Called now and then while streaming (done of total payload bytes). */
typedef void (*sk_progress_fn)(void *arg, uint64_t done, uint64_t total);

/* What a package says about itself. */
struct sk_payload_info {
	long version;
	const EVP_MD *md;
	uint64_t size;
	char sigalg[96];
	char signer[65];        /* hex SHA-256 of the signer's SPKI, "" if absent */
	uint64_t package_size;  /* bytes of the whole package (make, verify) */
};

/* Make a package of the file in (seekable: the size precedes the data)
 * into out ("-": stdout), signed by s with s->md / s->pss. */
int sk_payload_make(const struct sk_signer *s, const char *in, const char *out,
		    sk_progress_fn progress, void *arg, struct sk_payload_info *info);

/* Decode the header of a package without verifying anything. */
int sk_payload_show(const char *in, struct sk_payload_info *info);

/* Verify a package against v; with out (may be NULL; "-": stdout after
 * verification), release the payload only after everything checked: for
 * stdout it waits in an unlinked file in tmpdir (ctx->tmpdir).  info is
 * filled as far as the header could be read. */
int sk_payload_verify(const struct sk_verifier *v, const char *in, const char *out,
		      const char *tmpdir, sk_progress_fn progress, void *arg,
		      struct sk_payload_info *info);

#endif
