/* SPDX-License-Identifier: MIT */
/* Ephemeral-static ECDH for per-device envelopes: see ecdh.h for why. */
#include "crypto/ecdh.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/rand.h>

#include "base/err.h"

struct sk_ecdh {
	EC_GROUP *group;
	BN_CTX *bn;
	EC_POINT *peer, *eph, *shared;
	BIGNUM *k, *x;
	const BIGNUM *order;
	size_t zlen, klen; /* field size; scalar draw size */
	uint8_t kmask;     /* of the draw's first byte: the order's bit length */
	/* Bytes of the private generator not yet used (pool[used..]); a used
	 * byte is cleared.  Why a pool: each call into OpenSSL's generator
	 * checks for a fork with a getpid() system call, and system calls are
	 * dear on a virtual machine -- with three calls per device, measured
	 * with perf at 3.5 % of the CPU time of `oo id`. */
	uint8_t pool[4096];
	size_t used;
	unsigned forks; /* fork_count when the pool was drawn */
};

/* A forked child must not use its parent's pool: the generator's own fork
 * check, made once per pool here (pthread_atfork). */
static volatile unsigned fork_count;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
	fork_count++;
}

static void watch_forks(void)
{
	pthread_atfork(NULL, NULL, on_fork_child);
}

void sk_ecdh_free(struct sk_ecdh *e)
{
	if (e == NULL)
		return;
	EC_POINT_free(e->peer);
	EC_POINT_free(e->eph);
	EC_POINT_clear_free(e->shared);
	BN_clear_free(e->k);
	BN_clear_free(e->x);
	BN_CTX_free(e->bn);
	EC_GROUP_free(e->group);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
}

int sk_ecdh_new(int nid, struct sk_ecdh **out)
{
	struct sk_ecdh *e = calloc(1, sizeof(*e));

	*out = NULL;
	if (e == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	e->group = EC_GROUP_new_by_curve_name_ex(NULL, NULL, nid);
	e->bn = BN_CTX_secure_new();
	if (e->group == NULL || e->bn == NULL || (e->peer = EC_POINT_new(e->group)) == NULL ||
	    (e->eph = EC_POINT_new(e->group)) == NULL ||
	    (e->shared = EC_POINT_new(e->group)) == NULL || (e->k = BN_secure_new()) == NULL ||
	    (e->x = BN_secure_new()) == NULL || (e->order = EC_GROUP_get0_order(e->group)) == NULL) {
		sk_ecdh_free(e);
		return sk_err_ssl(SK_EFAIL, "ECDH on curve %d", nid);
	}
	/* The scalar is secret: constant-time paths in every BN and EC_POINT
	 * routine that looks at the flag, as OpenSSL's key generation sets. */
	BN_set_flags(e->k, BN_FLG_CONSTTIME);
	e->zlen = (size_t)(EC_GROUP_get_degree(e->group) + 7) / 8;
	e->klen = (size_t)(BN_num_bits(e->order) + 7) / 8;
	e->kmask = (uint8_t)(0xff >> (8 * e->klen - (size_t)BN_num_bits(e->order)));
	e->used = sizeof(e->pool);
	pthread_once(&fork_once, watch_forks);
	*out = e;
	return SK_OK;
}

size_t sk_ecdh_zlen(const struct sk_ecdh *e)
{
	return e->zlen;
}

int sk_ecdh_random(struct sk_ecdh *e, uint8_t *p, size_t n)
{
	size_t take;

	if (e->forks != fork_count) {
		OPENSSL_cleanse(e->pool, sizeof(e->pool));
		e->used = sizeof(e->pool);
	}
	while (n > 0) {
		if (e->used == sizeof(e->pool)) {
			e->forks = fork_count;
			if (RAND_priv_bytes(e->pool, (int)sizeof(e->pool)) != 1)
				return sk_err_ssl(SK_EFAIL, "random number generator");
			e->used = 0;
		}
		take = sizeof(e->pool) - e->used < n ? sizeof(e->pool) - e->used : n;
		memcpy(p, e->pool + e->used, take);
		OPENSSL_cleanse(e->pool + e->used, take);
		e->used += take;
		p += take;
		n -= take;
	}
	return SK_OK;
}

/* k uniformly in [1, order - 1]: as many bits as the order, drawn again
 * while 0 or not below the order (BN_priv_rand_range's method; for these
 * curves a redraw happens less than once in 2^32). */
static int draw_scalar(struct sk_ecdh *e)
{
	uint8_t b[66];
	int rc;

	do {
		if ((rc = sk_ecdh_random(e, b, e->klen)) != SK_OK)
			break;
		b[0] &= e->kmask;
		if (BN_bin2bn(b, (int)e->klen, e->k) == NULL) {
			rc = sk_err_ssl(SK_EFAIL, "random scalar");
			break;
		}
	} while (BN_is_zero(e->k) || BN_cmp(e->k, e->order) >= 0);
	OPENSSL_cleanse(b, sizeof(b));
	return rc;
}

int sk_ecdh_ephemeral(struct sk_ecdh *e, const uint8_t *peer, size_t peerlen, uint8_t *z,
		      uint8_t *pt, size_t ptcap, size_t *ptlen)
{
	int rc = SK_EFAIL;
	size_t n;

	*ptlen = 0;
	/* oct2point refuses a point off the curve (and the point at infinity
	 * in this encoding is a single zero byte, refused below) */
	if (peerlen < 2 || EC_POINT_oct2point(e->group, e->peer, peer, peerlen, e->bn) != 1)
		return sk_err_ssl(SK_EVERIFY, "device key: not a point of the curve");
	if ((rc = draw_scalar(e)) != SK_OK)
		goto out;
	if (EC_POINT_mul(e->group, e->eph, e->k, NULL, NULL, e->bn) != 1 ||
	    EC_POINT_mul(e->group, e->shared, NULL, e->peer, e->k, e->bn) != 1 ||
	    EC_POINT_is_at_infinity(e->group, e->shared) ||
	    EC_POINT_get_affine_coordinates(e->group, e->shared, e->x, NULL, e->bn) != 1 ||
	    BN_bn2binpad(e->x, z, (int)e->zlen) != (int)e->zlen) {
		rc = sk_err_ssl(SK_EFAIL, "ECDH with the device key");
		goto out;
	}
	n = EC_POINT_point2oct(e->group, e->eph, POINT_CONVERSION_UNCOMPRESSED, pt, ptcap, e->bn);
	if (n != 1 + 2 * e->zlen) {
		rc = sk_err_ssl(SK_EFAIL, "ephemeral key");
		goto out;
	}
	*ptlen = n;
	rc = SK_OK;
out:
	BN_clear(e->k);
	BN_clear(e->x);
	if (rc != SK_OK)
		OPENSSL_cleanse(z, e->zlen);
	return rc;
}
