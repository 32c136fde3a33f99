/* SPDX-License-Identifier: MIT */
#include "backend/backend.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "store/store.h"

#define OPS_soft (&sk_soft_backend)
#ifdef SECKIT_HAVE_TPM2
#define OPS_tpm2 (&sk_tpm2_backend)
#else
#define OPS_tpm2 NULL
#endif
#ifdef SECKIT_HAVE_PKCS11
#define OPS_pkcs11 (&sk_pkcs11_backend)
#else
#define OPS_pkcs11 NULL
#endif
/* What each backend seals a store's master key with (store.h). */
#define SEALS_soft 0
#define SEALS_tpm2 SK_MK_TPM2
#define SEALS_pkcs11 0
#define ENTRY(n) { #n, OPS_##n, SEALS_##n }
#define NAME(n) #n
#define COMMA ,

const struct sk_backend_entry sk_backend_table[] = {
	SK_BACKEND_LIST(ENTRY, COMMA),
	{ NULL, NULL, 0 },
};

const char *const sk_backend_names[] = { SK_BACKEND_LIST(NAME, COMMA), NULL };

/* The entry of a backend name, NULL (no error set) if unknown. */
static const struct sk_backend_entry *lookup(const char *name)
{
	const struct sk_backend_entry *e;

	for (e = sk_backend_table; e->name != NULL; e++)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

/* The entry of an open backend. */
static const struct sk_backend_entry *entry_of(const struct sk_backend *be)
{
	const struct sk_backend_entry *e;

	for (e = sk_backend_table; be != NULL && e->name != NULL; e++)
		if (e->ops != NULL && e->ops == be->ops)
			return e;
	return NULL;
}

/* The entry of a known backend name; NULL (error set) for an unknown one. */
static const struct sk_backend_entry *find(const char *name)
{
	const struct sk_backend_entry *e = lookup(name);
	char list[128] = "";
	size_t len = 0;

	if (e != NULL)
		return e;
	for (e = sk_backend_table; e->name != NULL && len < sizeof(list); e++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					e == sk_backend_table ? "" : ", ", e->name);
	sk_err(SK_EUSAGE, "unknown backend '%s' (expected one of: %s)", name, list);
	return NULL;
}

const struct sk_backend_entry *sk_backend_entry(const char *name)
{
	return find(name);
}

int sk_backend_check(const char *name)
{
	const struct sk_backend_entry *e = find(name), *b;
	char list[128] = "";
	size_t len = 0;

	if (e == NULL)
		return SK_EUSAGE;
	if (e->ops != NULL)
		return SK_OK;
	for (b = sk_backend_table; b->name != NULL && len < sizeof(list); b++)
		if (b->ops != NULL)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "",
						b->name);
	return sk_err(SK_EBACKEND, "backend '%s' is not available in this build (it has: %s)", name, list);
}

int sk_backend_open(const char *name, const struct sk_backend_cfg *cfg, struct sk_backend **out)
{
	int rc;

	*out = NULL;
	if ((rc = sk_backend_check(name)) != SK_OK)
		return rc;
	return find(name)->ops->open(cfg, out);
}

int sk_backend_is(const struct sk_backend *be, const char *name)
{
	const struct sk_backend_entry *e = lookup(name);

	return e != NULL && e == entry_of(be);
}

int sk_backend_seals(const char *name)
{
	const struct sk_backend_entry *e = lookup(name);

	return e != NULL ? e->seals : 0;
}

int sk_backend_protection(const struct sk_backend *be)
{
	const struct sk_backend_entry *e = entry_of(be);

	return e != NULL ? e->seals : 0;
}

const struct sk_backend_entry *sk_backend_sealer(int protection)
{
	const struct sk_backend_entry *e;

	for (e = sk_backend_table; protection != 0 && e->name != NULL; e++)
		if (e->seals == protection)
			return e;
	return NULL;
}

int sk_backend_can_seal(void)
{
	const struct sk_backend_entry *e;

	for (e = sk_backend_table; e->name != NULL; e++)
		if (e->seals != 0 && e->ops != NULL && e->ops->seal != NULL && e->ops->unseal != NULL)
			return 1;
	return 0;
}

int sk_backend_open_sealer(int protection, const struct sk_backend_cfg *cfg,
			   struct sk_backend **out)
{
	const struct sk_backend_entry *e = sk_backend_sealer(protection);

	*out = NULL;
	if (e == NULL)
		return sk_err(SK_EUNSUPP, "unknown master key protection");
	return sk_backend_open(e->name, cfg, out);
}

const struct sk_backend_entry *sk_backend_with_handles(void)
{
	const struct sk_backend_entry *e;

	for (e = sk_backend_table; e->name != NULL; e++)
		if (e->ops != NULL && e->ops->handles != NULL && e->ops->evict != NULL)
			return e;
	sk_err(SK_EBACKEND, "persistent handles need a TPM backend, and this build has none");
	return NULL;
}

int sk_backend_has_handles(const char *name)
{
	const struct sk_backend_entry *e = lookup(name);

	return e != NULL && e->ops != NULL && e->ops->handles != NULL;
}

int sk_backend_has_random(const char *name)
{
	const struct sk_backend_entry *e = lookup(name);

	return e != NULL && e->ops != NULL && e->ops->random != NULL;
}

int sk_backend_has_catalogue(const char *name)
{
	const struct sk_backend_entry *e = lookup(name);

	return e != NULL && e->ops != NULL && e->ops->key_find != NULL;
}

void sk_backend_close(struct sk_backend *be)
{
	if (be != NULL)
		be->ops->close(be);
}

const char *sk_pin_state_name(enum sk_pin_state p)
{
	switch (p) {
	case SK_PIN_OK: return "ok";
	case SK_PIN_COUNT_LOW: return "count-low";
	case SK_PIN_FINAL_TRY: return "final-try";
	case SK_PIN_LOCKED: return "locked";
	case SK_PIN_TO_BE_CHANGED: return "to-be-changed";
	case SK_PIN_NOT_SET: return "not-set";
	}
	return "unknown";
}
