/* SPDX-License-Identifier: MIT */
#include "store/trust_lock.h"

#include <time.h>

#include "base/err.h"

#define LOCK_OBJ "locked"

/* ---- small state objects ---- */

int sk_state_get_u64(struct sk_store *st, const char *name, uint64_t *v)
{
	struct sk_buf b = { 0 };
	int rc = sk_store_get(st, SK_NS_STATE, name, 64, NULL, &b);

	*v = 0;
	if (rc == SK_ENOTFOUND) {
		sk_err_clear();
		return SK_OK;
	}
	if (rc != SK_OK)
		return rc;
	if (b.len != 8)
		rc = sk_err(SK_EVERIFY, "store state '%s' is malformed", name);
	else
		*v = sk_get_be64(b.p);
	sk_buf_free(&b);
	return rc;
}

int sk_state_put_u64(struct sk_txn *t, const char *name, uint64_t v)
{
	uint8_t b[8];

	sk_put_be64(b, v);
	return sk_txn_put(t, SK_NS_STATE, name, NULL, 0, b, sizeof(b));
}

/* ---- the lock ---- */

int sk_trust_locked(struct sk_store *st, uint64_t *since)
{
	return sk_state_get_u64(st, LOCK_OBJ, since);
}

int sk_trust_lock_txn(struct sk_txn *t)
{
	uint64_t now = (uint64_t)time(NULL);

	/* 0 reads as "not locked": a clock stuck at the epoch still locks. */
	return sk_state_put_u64(t, LOCK_OBJ, now > 0 ? now : 1);
}

int sk_trust_guard(struct sk_store *st, enum sk_trust_by by, const char *what,
		   const char *name, const char *done)
{
	uint64_t since;
	int rc;

	if (by == SK_BY_STP)
		return SK_OK;
	if ((rc = sk_trust_locked(st, &since)) != SK_OK)
		return rc;
	if (since == 0)
		return SK_OK;
	return sk_err(SK_EVERIFY, "%s '%s' is a trust anchor of a locked store: it cannot be %s (use an STP)",
		      what, name, done);
}
