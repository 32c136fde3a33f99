/* SPDX-License-Identifier: MIT */
/*
 * Golden PCR values (measure.h): predicted on a build host, kept in a
 * golden file, sealed in an NV index that only the same values open, and
 * verified against the TPM (docs/formats/measure.md).
 */
#include "measure/measure.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/util.h"
#include "base/yaml.h"

int sk_golden_finish(struct sk_golden *g)
{
	int rc;

	memset(g->policy, 0, sizeof(g->policy));
	if ((rc = sk_pcr_composite(g->bank, g->mask, (const uint8_t(*)[SK_PCR_MAX_DIGEST])g->vals,
				   g->composite)) != SK_OK)
		return rc;
	return sk_policy_pcr(g->policy, g->bank, g->mask, g->composite);
}

int sk_golden_predict(struct sk_golden *g, const struct sk_mevent *ev, size_t n)
{
	size_t i;
	int p, rc;

	for (i = 0; i < n; i++)
		g->mask |= 1u << ev[i].pcr;
	for (p = 0; p < SK_PCR_COUNT; p++)
		if (g->mask & (1u << p))
			sk_pcr_reset_value(p, g->bank, g->vals[p]);
	for (i = 0; i < n; i++)
		if ((rc = sk_pcr_extend(g->bank, g->vals[ev[i].pcr], ev[i].d[g->bank])) != SK_OK)
			return rc;
	return sk_golden_finish(g);
}

/* ---- the events file ---- */

struct ev_state {
	const char *dir;           /* of the events file, for relative paths */
	enum sk_bank bank;
	struct sk_mevent *e;
	int has_pcr, has_src;
};

static int f_pcr(const struct sk_ydoc *d, const struct sk_ynode *v, void *arg)
{
	struct ev_state *s = arg;
	uint64_t p;
	int rc;

	if ((rc = sk_y_uint(d, v, 0, SK_PCR_COUNT - 1, &p)) != SK_OK)
		return rc;
	s->e->pcr = (int)p;
	s->has_pcr = 1;
	return SK_OK;
}

static int f_file(const struct sk_ydoc *d, const struct sk_ynode *v, void *arg)
{
	struct ev_state *s = arg;
	struct sk_in in = { .fd = -1 };
	char path[4096];
	const char *f;
	int rc;

	if ((rc = sk_y_str(d, v, &f)) != SK_OK)
		return rc;
	if (s->has_src++)
		return sk_yerr(d, v, "an event has a file or a digest, not both");
	if (f[0] == '/' || s->dir == NULL)
		snprintf(path, sizeof(path), "%s", f);
	else
		snprintf(path, sizeof(path), "%s/%s", s->dir, f);
	if ((rc = sk_in_open(&in, path)) != SK_OK)
		return rc;
	rc = sk_measure_hash(&in, 1u << s->bank, s->e->d);
	sk_in_close(&in);
	if (s->e->desc[0] == '\0')
		snprintf(s->e->desc, sizeof(s->e->desc), "%s", f);
	return rc;
}

static int f_digest(const struct sk_ydoc *d, const struct sk_ynode *v, void *arg)
{
	struct ev_state *s = arg;
	const char *h;
	int rc;

	if ((rc = sk_y_str(d, v, &h)) != SK_OK)
		return rc;
	if (s->has_src++)
		return sk_yerr(d, v, "an event has a file or a digest, not both");
	if (strlen(h) != 2 * sk_bank(s->bank)->size || sk_unhex(s->e->d[s->bank], sk_bank(s->bank)->size, h) != 0)
		return sk_yerr(d, v, "digest: expected %zu hex digits (a %s digest)",
			       2 * sk_bank(s->bank)->size, sk_bank(s->bank)->name);
	return SK_OK;
}

static int f_desc(const struct sk_ydoc *d, const struct sk_ynode *v, void *arg)
{
	struct ev_state *s = arg;
	const char *t;
	int rc;

	if ((rc = sk_y_str(d, v, &t)) != SK_OK)
		return rc;
	snprintf(s->e->desc, sizeof(s->e->desc), "%s", t);
	return SK_OK;
}

int sk_golden_events(const char *path, enum sk_bank bank, struct sk_mevent **ev, size_t *n)
{
	static const struct sk_yfield fields[] = {
		{ "pcr", f_pcr }, { "file", f_file }, { "digest", f_digest }, { "description", f_desc },
	};
	struct sk_ydoc doc = { 0 };
	const struct sk_ynode *list;
	struct ev_state s = { .bank = bank };
	char *dir = NULL, *slash;
	size_t i;
	int rc;

	*ev = NULL;
	*n = 0;
	if ((rc = sk_yaml_load(path, &doc)) != SK_OK)
		return rc;
	if (doc.root == NULL || doc.root->type != SK_Y_MAP ||
	    (list = sk_y_get(doc.root, "events")) == NULL) {
		rc = sk_yerr(&doc, doc.root, "expected a map with an 'events' list");
		goto out;
	}
	if ((rc = sk_y_expect(&doc, list, SK_Y_SEQ, "events")) != SK_OK)
		goto out;
	if (list->n == 0) {
		rc = sk_yerr(&doc, list, "events: the list is empty");
		goto out;
	}
	if ((dir = sk_strdup(path)) == NULL || (*ev = sk_calloc(list->n, sizeof(**ev))) == NULL) {
		rc = SK_EFAIL;
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	s.dir = slash != NULL ? dir : NULL;
	for (i = 0; i < list->n; i++) {
		s.e = &(*ev)[i];
		s.e->banks = 1u << bank;
		s.has_pcr = s.has_src = 0;
		if ((rc = sk_y_walk(&doc, list->kids[i], fields, SK_ARRAY_SIZE(fields), &s, "event",
				    0)) != SK_OK)
			goto out;
		if (!s.has_pcr || !s.has_src) {
			rc = sk_yerr(&doc, list->kids[i], "an event needs 'pcr' and a 'file' or a 'digest'");
			goto out;
		}
	}
	*n = list->n;
out:
	if (rc != SK_OK) {
		free(*ev);
		*ev = NULL;
	}
	free(dir);
	sk_yaml_free(&doc);
	return rc;
}

/* ---- the golden file ---- */

static int add_str(struct sk_buf *b, const char *s)
{
	return sk_buf_add(b, s, strlen(s));
}

int sk_golden_format(const struct sk_golden *g, struct sk_buf *out)
{
	char line[300], hex[2 * SK_PCR_MAX_DIGEST + 1];
	int p, rc;

	rc = add_str(out, "# seckit measure predict: golden PCR values, for seckit measure seal\npcrs:\n");
	for (p = 0; p < SK_PCR_COUNT && rc == SK_OK; p++) {
		if (!(g->mask & (1u << p)))
			continue;
		sk_hex(hex, g->vals[p], sk_bank(g->bank)->size);
		snprintf(line, sizeof(line), "  - pcr: %d\n    bank: %s\n    value: %s\n", p,
			 sk_bank(g->bank)->name, hex);
		rc = add_str(out, line);
	}
	if (rc != SK_OK)
		return rc;
	sk_hex(hex, g->composite, SK_PCR_COMPOSITE_LEN);
	snprintf(line, sizeof(line), "composite: %s\n", hex);
	if ((rc = add_str(out, line)) != SK_OK)
		return rc;
	sk_hex(hex, g->policy, sizeof(g->policy));
	snprintf(line, sizeof(line), "policy: %s\n", hex);
	return add_str(out, line);
}

struct gold_state {
	struct sk_golden *g;
	int pcr, has_bank;
	enum sk_bank bank;
	const char *value;
	const struct sk_ynode *value_at;
};

static int g_pcr(const struct sk_ydoc *d, const struct sk_ynode *v, void *arg)
{
	struct gold_state *s = arg;
	uint64_t p;
	int rc;

	if ((rc = sk_y_uint(d, v, 0, SK_PCR_COUNT - 1, &p)) == SK_OK)
		s->pcr = (int)p;
	return rc;
}

static int g_bank(const struct sk_ydoc *d, const struct sk_ynode *v, void *arg)
{
	struct gold_state *s = arg;
	const char *w;
	int rc;

	if ((rc = sk_y_word(d, v, SK_BANK_NAMES, &w)) != SK_OK)
		return rc;
	s->has_bank = 1;
	return sk_bank_by_name(w, &s->bank);
}

static int g_value(const struct sk_ydoc *d, const struct sk_ynode *v, void *arg)
{
	struct gold_state *s = arg;

	s->value_at = v;
	return sk_y_str(d, v, &s->value);
}

static int hex_field(const struct sk_ydoc *d, const struct sk_ynode *root, const char *key,
		     const uint8_t *want, size_t n)
{
	const struct sk_ynode *v = sk_y_get(root, key);
	uint8_t got[64];
	const char *h;
	int rc;

	if (v == NULL)
		return sk_yerr(d, root, "no '%s'", key);
	if ((rc = sk_y_str(d, v, &h)) != SK_OK)
		return rc;
	if (strlen(h) != 2 * n || sk_unhex(got, n, h) != 0)
		return sk_yerr(d, v, "%s: expected %zu hex digits", key, 2 * n);
	if (memcmp(got, want, n) != 0)
		return sk_yerr(d, v, "%s does not match the PCR values above", key);
	return SK_OK;
}

static int golden_entry(const struct sk_ydoc *d, const struct sk_ynode *item, struct sk_golden *g,
			int first)
{
	static const struct sk_yfield fields[] = {
		{ "pcr", g_pcr }, { "bank", g_bank }, { "value", g_value },
	};
	struct gold_state s = { .g = g, .pcr = -1 };
	size_t len;
	int rc;

	if ((rc = sk_y_walk(d, item, fields, SK_ARRAY_SIZE(fields), &s, "PCR value", 0)) != SK_OK)
		return rc;
	if (s.pcr < 0 || !s.has_bank || s.value == NULL)
		return sk_yerr(d, item, "a PCR value needs 'pcr', 'bank' and 'value'");
	if (first)
		g->bank = s.bank;
	else if (s.bank != g->bank)
		return sk_yerr(d, item, "all values must be of one bank (%s, then %s)",
			       sk_bank(g->bank)->name, sk_bank(s.bank)->name);
	if (g->mask & (1u << s.pcr))
		return sk_yerr(d, item, "PCR %d given twice", s.pcr);
	len = sk_bank(s.bank)->size;
	if (strlen(s.value) != 2 * len || sk_unhex(g->vals[s.pcr], len, s.value) != 0)
		return sk_yerr(d, s.value_at, "value: expected %zu hex digits (a %s PCR)", 2 * len,
			       sk_bank(s.bank)->name);
	g->mask |= 1u << s.pcr;
	return SK_OK;
}

int sk_golden_load(const char *path, struct sk_golden *g)
{
	struct sk_ydoc doc = { 0 };
	const struct sk_ynode *list;
	size_t i;
	int rc;

	memset(g, 0, sizeof(*g));
	if ((rc = sk_yaml_load(path, &doc)) != SK_OK)
		return rc;
	if (doc.root == NULL || doc.root->type != SK_Y_MAP ||
	    (list = sk_y_get(doc.root, "pcrs")) == NULL) {
		rc = sk_yerr(&doc, doc.root, "expected golden PCR values (a map with a 'pcrs' list)");
		goto out;
	}
	if ((rc = sk_y_expect(&doc, list, SK_Y_SEQ, "pcrs")) != SK_OK)
		goto out;
	if (list->n == 0) {
		rc = sk_yerr(&doc, list, "pcrs: the list is empty");
		goto out;
	}
	for (i = 0; i < list->n; i++)
		if ((rc = golden_entry(&doc, list->kids[i], g, i == 0)) != SK_OK)
			goto out;
	if ((rc = sk_golden_finish(g)) != SK_OK)
		goto out;
	/* A composite or policy that does not follow from the values is a
	 * file edited by hand or cut short: refuse it rather than seal
	 * something nobody predicted. */
	if ((rc = hex_field(&doc, doc.root, "composite", g->composite, SK_PCR_COMPOSITE_LEN)) != SK_OK)
		goto out;
	if (sk_y_get(doc.root, "policy") != NULL)
		rc = hex_field(&doc, doc.root, "policy", g->policy, sizeof(g->policy));
out:
	sk_yaml_free(&doc);
	return rc;
}

int sk_nv_index_parse(const char *s, uint32_t *out)
{
	unsigned long v = 0;
	size_t i, n;

	if (s == NULL || (strncmp(s, "0x", 2) != 0 && strncmp(s, "0X", 2) != 0) ||
	    (n = strlen(s + 2)) == 0 || n > 8)
		goto bad;
	for (i = 2; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]))
			goto bad;
	v = strtoul(s + 2, NULL, 16);
	if (v < 0x01000000ul || v > 0x01fffffful)
		goto bad;
	*out = (uint32_t)v;
	return SK_OK;
bad:
	return sk_err(SK_EUSAGE, "bad NV index '%s' (expected hex, 0x01000000 to 0x01ffffff)",
		      s ? s : "");
}
