/* SPDX-License-Identifier: MIT */
/*
 * PKCS#11 URIs (RFC 7512): "pkcs11:" path attributes separated by ';',
 * then optionally '?' and query attributes separated by '&', values
 * percent-encoded.  seckit uses the token attributes (token, serial,
 * manufacturer, model, slot-id), the object ones (object, id, type) and
 * module-path; others are ignored as the RFC allows.  A PIN never comes
 * from a URI: pin-value is refused (a URI is an argument or a config
 * value, seen in process lists and logs); pin-source is refused too, as
 * seckit's own secret specs say where a PIN comes from.
 */
#ifdef SECKIT_HAVE_PKCS11

#include <string.h>
#include <strings.h>

#include "backend/pkcs11_int.h"
#include "base/err.h"
#include "base/util.h"

int sk_p11_is_uri(const char *s)
{
	return s != NULL && strncasecmp(s, "pkcs11:", 7) == 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode v[0..n) into out (at most max bytes); -1 if malformed
 * or too long. */
static long decode(const char *v, size_t n, unsigned char *out, size_t max)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)v[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n || (hi = hexval(v[i + 1])) < 0 || (lo = hexval(v[i + 2])) < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (k >= max)
			return -1;
		out[k++] = (unsigned char)c;
	}
	return (long)k;
}

static int set_text(const char *uri, const char *attr, const char *v, size_t n, char *out,
		    size_t max)
{
	long k = decode(v, n, (unsigned char *)out, max - 1);

	if (k < 0 || memchr(out, '\0', (size_t)k) != NULL)
		return sk_err(SK_EUSAGE, "PKCS#11 URI '%.64s': bad value of '%s'", uri, attr);
	out[k] = '\0';
	return SK_OK;
}

static int attr(const char *uri, const char *a, size_t an, const char *v, size_t vn,
		struct sk_p11_uri *u)
{
#define IS(name) (an == strlen(name) && strncmp(a, name, an) == 0)
	if (IS("pin-value") || IS("pin-source"))
		return sk_err(SK_EUSAGE, "PKCS#11 URI: a PIN in the URI (%.*s) would show in process lists and logs: give the PIN as a secret spec (env:, file:, fd:, prompt)",
			      (int)an, a);
	if (IS("token"))
		return set_text(uri, "token", v, vn, u->token, sizeof(u->token));
	if (IS("serial"))
		return set_text(uri, "serial", v, vn, u->serial, sizeof(u->serial));
	if (IS("manufacturer"))
		return set_text(uri, "manufacturer", v, vn, u->manufacturer, sizeof(u->manufacturer));
	if (IS("model"))
		return set_text(uri, "model", v, vn, u->model, sizeof(u->model));
	if (IS("object"))
		return set_text(uri, "object", v, vn, u->object, sizeof(u->object));
	if (IS("type"))
		return set_text(uri, "type", v, vn, u->type, sizeof(u->type));
	if (IS("module-path"))
		return set_text(uri, "module-path", v, vn, u->module_path, sizeof(u->module_path));
	if (IS("id")) {
		long k = decode(v, vn, u->id, sizeof(u->id));

		if (k < 0)
			return sk_err(SK_EUSAGE, "PKCS#11 URI '%.64s': bad value of 'id'", uri);
		u->idlen = (size_t)k;
		u->has_id = 1;
		return SK_OK;
	}
	if (IS("slot-id")) {
		char num[24];
		uint64_t s;

		if (set_text(uri, "slot-id", v, vn, num, sizeof(num)) != SK_OK ||
		    sk_parse_uint(num, ~0UL, &s) != 0)
			return sk_err(SK_EUSAGE, "PKCS#11 URI '%.64s': bad value of 'slot-id'", uri);
		u->slot_id = (unsigned long)s;
		u->has_slot = 1;
		return SK_OK;
	}
	return SK_OK; /* library-*, slot-description ...: not used here */
#undef IS
}

int sk_p11_uri_parse(const char *s, struct sk_p11_uri *u)
{
	const char *p, *end;
	int query = 0, rc;

	memset(u, 0, sizeof(*u));
	if (!sk_p11_is_uri(s))
		return sk_err(SK_EUSAGE, "'%.64s' is not a PKCS#11 URI", s);
	for (p = s + 7; *p != '\0'; p = *end ? end + 1 : end) {
		const char *eq;
		char sep = query ? '&' : ';';

		end = p;
		while (*end != '\0' && *end != sep && !(!query && *end == '?'))
			end++;
		if (end > p) {
			eq = memchr(p, '=', (size_t)(end - p));
			if (eq == NULL)
				return sk_err(SK_EUSAGE, "PKCS#11 URI '%.64s': '%.*s' has no value", s,
					      (int)(end - p), p);
			if ((rc = attr(s, p, (size_t)(eq - p), eq + 1, (size_t)(end - eq - 1), u)) !=
			    SK_OK)
				return rc;
		}
		if (*end == '?')
			query = 1;
	}
	return SK_OK;
}


void sk_p11_trim(char *out, const CK_UTF8CHAR *in, size_t n)
{
	while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\0'))
		n--;
	memcpy(out, in, n);
	out[n] = '\0';
}

/* Does the token in slot match what was asked for (spec or URI)? */
int sk_p11_token_matches(const CK_TOKEN_INFO *ti, CK_SLOT_ID slot, const char *spec,
			 const struct sk_p11_uri *u)
{
	char label[33], serial[17], manuf[33], model[17], num[24];

	sk_p11_trim(label, ti->label, sizeof(ti->label));
	sk_p11_trim(serial, ti->serialNumber, sizeof(ti->serialNumber));
	sk_p11_trim(manuf, ti->manufacturerID, sizeof(ti->manufacturerID));
	sk_p11_trim(model, ti->model, sizeof(ti->model));
	if (u != NULL)
		return (!u->token[0] || strcmp(u->token, label) == 0) &&
		       (!u->serial[0] || strcmp(u->serial, serial) == 0) &&
		       (!u->manufacturer[0] || strcmp(u->manufacturer, manuf) == 0) &&
		       (!u->model[0] || strcmp(u->model, model) == 0) &&
		       (!u->has_slot || u->slot_id == slot);
	if (spec == NULL)
		return 1;
	snprintf(num, sizeof(num), "%lu", (unsigned long)slot);
	return strcmp(spec, label) == 0 || strcmp(spec, serial) == 0 || strcmp(spec, num) == 0;
}

#endif /* SECKIT_HAVE_PKCS11 */
