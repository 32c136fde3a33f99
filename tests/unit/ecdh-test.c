/* SPDX-License-Identifier: MIT */
/* src/crypto/ecdh.c: the ephemeral key and the shared secret of
 * sk_ecdh_ephemeral are what EVP's ECDH gives (the device's side derives
 * the same z from the ephemeral point), on P-256, P-384 and P-521; a peer
 * point off the curve, of another curve, or the point at infinity is
 * refused. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "crypto/crypto.h"
#include "crypto/ecdh.h"
#include "check.h"

/* EVP's ECDH of priv with the encoded point pt of curve group */
static int evp_z(EVP_PKEY *priv, const char *group, const uint8_t *pt, size_t ptlen, uint8_t *z,
		 size_t *zlen)
{
	OSSL_PARAM p[3];
	EVP_PKEY_CTX *fc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL), *dc = NULL;
	EVP_PKEY *peer = NULL;
	int ok;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, ptlen);
	p[2] = OSSL_PARAM_construct_end();
	ok = fc != NULL && EVP_PKEY_fromdata_init(fc) > 0 &&
	     EVP_PKEY_fromdata(fc, &peer, EVP_PKEY_PUBLIC_KEY, p) > 0 &&
	     (dc = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL)) != NULL &&
	     EVP_PKEY_derive_init(dc) > 0 && EVP_PKEY_derive_set_peer(dc, peer) > 0 &&
	     EVP_PKEY_derive(dc, z, zlen) > 0;
	EVP_PKEY_CTX_free(dc);
	EVP_PKEY_CTX_free(fc);
	EVP_PKEY_free(peer);
	return ok;
}

/* count exchanges on one curve, each checked from the device's side */
static int curve_ok(int nid, const char *group, size_t zlen, int count)
{
	struct sk_ecdh *e = NULL;
	int i, ok = sk_ecdh_new(nid, &e) == SK_OK && sk_ecdh_zlen(e) == zlen;

	for (i = 0; i < count && ok; i++) {
		EVP_PKEY *dev = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
		uint8_t devpt[133], pt[133], z[66], z2[66], prev[133] = { 0 };
		size_t devlen = 0, ptlen = 0, z2len = sizeof(z2);

		ok = dev != NULL &&
		     EVP_PKEY_get_octet_string_param(dev, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, devpt,
						     sizeof(devpt), &devlen) &&
		     sk_ecdh_ephemeral(e, devpt, devlen, z, pt, sizeof(pt), &ptlen) == SK_OK &&
		     ptlen == 1 + 2 * zlen && pt[0] == 0x04 && memcmp(pt, prev, ptlen) != 0 &&
		     evp_z(dev, group, pt, ptlen, z2, &z2len) && z2len == zlen &&
		     memcmp(z, z2, zlen) == 0;
		memcpy(prev, pt, ptlen);
		EVP_PKEY_free(dev);
	}
	sk_ecdh_free(e);
	return ok;
}

/* After a fork, the child's draws are not the parent's next ones. */
static int fork_ok(struct sk_ecdh *e)
{
	uint8_t a[32], b[32], c[32];
	int fd[2], st = 0, ok;
	pid_t pid;

	if (sk_ecdh_random(e, a, sizeof(a)) != SK_OK || pipe(fd) != 0)
		return 0;
	if ((pid = fork()) == 0) {
		ok = sk_ecdh_random(e, c, sizeof(c)) == SK_OK && write(fd[1], c, sizeof(c)) == sizeof(c);
		_exit(ok ? 0 : 1);
	}
	close(fd[1]);
	ok = pid > 0 && read(fd[0], c, sizeof(c)) == sizeof(c) && waitpid(pid, &st, 0) == pid &&
	     WIFEXITED(st) && WEXITSTATUS(st) == 0 && sk_ecdh_random(e, b, sizeof(b)) == SK_OK &&
	     memcmp(b, c, sizeof(b)) != 0 && memcmp(a, b, sizeof(a)) != 0;
	close(fd[0]);
	return ok;
}

int main(void)
{
	struct sk_ecdh *e = NULL;
	EVP_PKEY *other = NULL;
	uint8_t pt[133], z[66], bad[65], inf[1] = { 0 }, o[97];
	size_t ptlen = 0, olen = 0;

	sk_crypto_init();
	CHECK(curve_ok(NID_X9_62_prime256v1, "P-256", 32, 100), "100 P-256 exchanges: EVP derives the same z");
	CHECK(curve_ok(NID_secp384r1, "P-384", 48, 30), "30 P-384 exchanges: EVP derives the same z");
	CHECK(curve_ok(NID_secp521r1, "P-521", 66, 30), "30 P-521 exchanges: EVP derives the same z");

	CHECK(sk_ecdh_new(NID_X9_62_prime256v1, &e) == SK_OK, "a P-256 context");
	/* the generator with y + 1: off the curve */
	other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	CHECK(other != NULL && EVP_PKEY_get_octet_string_param(other, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
							       bad, sizeof(bad), &olen) &&
		      olen == 65,
	      "a P-256 point");
	bad[64] ^= 1;
	CHECK(sk_ecdh_ephemeral(e, bad, sizeof(bad), z, pt, sizeof(pt), &ptlen) == SK_EVERIFY &&
		      ptlen == 0,
	      "a point off the curve is refused");
	CHECK(sk_ecdh_ephemeral(e, inf, sizeof(inf), z, pt, sizeof(pt), &ptlen) == SK_EVERIFY,
	      "the point at infinity is refused");
	EVP_PKEY_free(other);
	other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	CHECK(other != NULL && EVP_PKEY_get_octet_string_param(other, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
							       o, sizeof(o), &olen),
	      "a P-384 point");
	CHECK(sk_ecdh_ephemeral(e, o, olen, z, pt, sizeof(pt), &ptlen) == SK_EVERIFY,
	      "a point of another curve is refused");
	CHECK(sk_ecdh_ephemeral(e, o, 0, z, pt, sizeof(pt), &ptlen) == SK_EVERIFY, "no point is refused");
	CHECK(fork_ok(e), "a forked child does not draw its parent's random bytes");
	EVP_PKEY_free(other);
	sk_ecdh_free(e);
	printf("1..%d\n", n);
	return 0;
}
