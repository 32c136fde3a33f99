/* SPDX-License-Identifier: MIT */
#include "base/yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/strset.h"
#include "base/util.h"

#define MAX_DEPTH 64
/* Keys of a mapping are checked for duplicates by a linear scan up to this
 * many, through a hash set (src/base/strset.h) beyond: config and manifest
 * mappings stay allocation-free, a mapping of 10^6 keys stays linear. */
#define SMALL_MAP 16

static void node_free(struct sk_ynode *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->n; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->val);
	free(n);
}

void sk_yaml_free(struct sk_ydoc *doc)
{
	node_free(doc->root);
	free(doc->file);
	doc->root = NULL;
	doc->file = NULL;
}

int sk_yerr(const struct sk_ydoc *doc, const struct sk_ynode *at, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (at != NULL)
		return sk_err(SK_ECONFIG, "%s:%zu:%zu: %s", doc->file, at->line, at->col, msg);
	return sk_err(SK_ECONFIG, "%s: %s", doc->file, msg);
}

struct builder {
	yaml_parser_t parser;
	struct sk_ydoc *doc;
	/* streaming (sk_yaml_stream): the top-level key whose list is not kept */
	const char *stream_key;
	sk_yaml_item_fn item_fn;
	void *item_arg;
	/* sk_yaml_load_buf: the input, to locate reader errors */
	const unsigned char *input;
	size_t len;
};

static int add_kid(struct sk_ynode *parent, struct sk_ynode *kid)
{
	/* Grow geometrically; n is a power of two boundary check. */
	if ((parent->n & (parent->n - 1)) == 0) {
		size_t cap = parent->n ? parent->n * 2 : 4;
		struct sk_ynode **k = realloc(parent->kids, cap * sizeof(*k));

		if (k == NULL)
			return sk_err(SK_EFAIL, "out of memory");
		parent->kids = k;
	}
	parent->kids[parent->n++] = kid;
	return SK_OK;
}

static int parse_err(struct builder *b)
{
	yaml_parser_t *p = &b->parser;
	const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->mark;
	size_t line = m->line + 1, col = m->column + 1, i;

	/* Reader errors (bad encoding) carry a byte offset, not a mark. */
	if (p->error == YAML_READER_ERROR) {
		if (b->input == NULL)
			return sk_err(SK_ECONFIG, "%s: invalid YAML at byte %zu: %s", b->doc->file,
				      p->problem_offset, p->problem ? p->problem : "bad input");
		line = col = 1;
		for (i = 0; i < p->problem_offset && i < b->len; i++) {
			if (b->input[i] == '\n') {
				line++;
				col = 1;
			} else if ((b->input[i] & 0xc0) != 0x80) {
				col++;
			}
		}
	}
	return sk_err(SK_ECONFIG, "%s:%zu:%zu: invalid YAML: %s%s%s", b->doc->file, line, col,
		      p->problem ? p->problem : "syntax error",
		      p->context ? " " : "", p->context ? p->context : "");
}

static int build(struct builder *b, yaml_event_t *ev, int depth, struct sk_ynode **out);

/* The streamed list (ev: its SEQUENCE-START): each item is built, handed
 * to the callback and freed; *out is an empty list node at ev's place. */
static int stream_seq(struct builder *b, yaml_event_t *ev, int depth, struct sk_ynode **out)
{
	struct sk_ynode *n = calloc(1, sizeof(*n));
	size_t index = 0;
	int rc = SK_OK;

	*out = NULL;
	if (n == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	n->type = SK_Y_SEQ;
	n->line = ev->start_mark.line + 1;
	n->col = ev->start_mark.column + 1;
	for (;;) {
		yaml_event_t iev;
		struct sk_ynode *item;

		if (!yaml_parser_parse(&b->parser, &iev)) {
			rc = parse_err(b);
			break;
		}
		if (iev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&iev);
			break;
		}
		rc = build(b, &iev, depth + 1, &item);
		yaml_event_delete(&iev);
		if (rc != SK_OK)
			break;
		rc = b->item_fn(b->doc, item, index++, b->item_arg);
		node_free(item);
		if (rc != SK_OK)
			break;
	}
	if (rc != SK_OK) {
		node_free(n);
		return rc;
	}
	*out = n;
	return SK_OK;
}

/* The key of entry id of a mapping (kids: key, value, key, value ...). */
static const char *map_key(const void *arg, size_t id)
{
	const struct sk_ynode *map = arg;

	return map->kids[2 * id]->val;
}

/* Whether key is a key of map already: *first is then that key's node.
 * keys holds map's keys once it has more than SMALL_MAP of them. */
static int find_key(struct sk_ynode *map, struct sk_strset *keys, const char *key,
		    const struct sk_ynode **first)
{
	size_t i, dup;
	int rc;

	*first = NULL;
	if (map->n / 2 < SMALL_MAP) {
		for (i = 0; i < map->n; i += 2)
			if (strcmp(map->kids[i]->val, key) == 0) {
				*first = map->kids[i];
				break;
			}
		return SK_OK;
	}
	if (keys->cap == 0)
		for (i = 0; i < map->n / 2; i++)
			if ((rc = sk_strset_add(keys, map_key(map, i), i, &dup)) != SK_OK)
				return rc;
	if ((rc = sk_strset_add(keys, key, map->n / 2, &dup)) != SK_OK)
		return rc;
	if (dup != SIZE_MAX)
		*first = map->kids[2 * dup];
	return SK_OK;
}

/* Build the node that starts with the event just read (ev). */
static int build(struct builder *b, yaml_event_t *ev, int depth, struct sk_ynode **out)
{
	struct sk_ynode *n;
	struct sk_strset keys;
	int rc = SK_OK;

	*out = NULL;
	if (depth > MAX_DEPTH)
		return sk_err(SK_ECONFIG, "%s:%zu:%zu: nesting deeper than %d levels",
			      b->doc->file, ev->start_mark.line + 1,
			      ev->start_mark.column + 1, MAX_DEPTH);
	if (ev->type == YAML_ALIAS_EVENT)
		return sk_err(SK_ECONFIG, "%s:%zu:%zu: YAML aliases are not supported",
			      b->doc->file, ev->start_mark.line + 1,
			      ev->start_mark.column + 1);
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	n->line = ev->start_mark.line + 1;
	n->col = ev->start_mark.column + 1;

	if (ev->type == YAML_SCALAR_EVENT) {
		n->type = SK_Y_SCALAR;
		n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		n->vlen = ev->data.scalar.length;
		n->val = malloc(n->vlen + 1);
		if (n->val == NULL) {
			free(n);
			return sk_err(SK_EFAIL, "out of memory");
		}
		memcpy(n->val, ev->data.scalar.value, n->vlen);
		n->val[n->vlen] = '\0';
		*out = n;
		return SK_OK;
	}
	if (ev->type != YAML_MAPPING_START_EVENT && ev->type != YAML_SEQUENCE_START_EVENT) {
		free(n);
		return sk_err(SK_ECONFIG, "%s:%zu:%zu: unexpected YAML event", b->doc->file,
			      ev->start_mark.line + 1, ev->start_mark.column + 1);
	}
	n->type = ev->type == YAML_MAPPING_START_EVENT ? SK_Y_MAP : SK_Y_SEQ;
	sk_strset_init(&keys, map_key, n);
	for (;;) {
		yaml_event_t kev;
		struct sk_ynode *kid;

		if (!yaml_parser_parse(&b->parser, &kev)) {
			rc = parse_err(b);
			break;
		}
		if (kev.type == YAML_MAPPING_END_EVENT || kev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&kev);
			break;
		}
		if (b->stream_key != NULL && depth == 0 && n->type == SK_Y_MAP && n->n % 2 == 1 &&
		    kev.type == YAML_SEQUENCE_START_EVENT &&
		    strcmp(n->kids[n->n - 1]->val, b->stream_key) == 0)
			rc = stream_seq(b, &kev, depth + 1, &kid);
		else
			rc = build(b, &kev, depth + 1, &kid);
		yaml_event_delete(&kev);
		if (rc != SK_OK)
			break;
		if (n->type == SK_Y_MAP && (n->n % 2) == 0) {
			const struct sk_ynode *first;

			if (kid->type != SK_Y_SCALAR) {
				rc = sk_err(SK_ECONFIG, "%s:%zu:%zu: mapping keys must be plain strings",
					    b->doc->file, kid->line, kid->col);
				node_free(kid);
				break;
			}
			if ((rc = find_key(n, &keys, kid->val, &first)) == SK_OK && first != NULL)
				rc = sk_err(SK_ECONFIG, "%s:%zu:%zu: duplicate key '%s' (first at line %zu)",
					    b->doc->file, kid->line, kid->col, kid->val,
					    first->line);
			if (rc != SK_OK) {
				node_free(kid);
				break;
			}
		}
		if ((rc = add_kid(n, kid)) != SK_OK) {
			node_free(kid);
			break;
		}
	}
	sk_strset_free(&keys);
	if (rc != SK_OK) {
		node_free(n);
		return rc;
	}
	*out = n;
	return SK_OK;
}

/* Parse the document from an initialised parser (b->parser, b->doc). */
static int run(struct builder *b)
{
	struct sk_ydoc *doc = b->doc;
	yaml_event_t ev;
	int rc = SK_OK, docs = 0;

	for (;;) {
		if (!yaml_parser_parse(&b->parser, &ev)) {
			rc = parse_err(b);
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
			rc = sk_err(SK_ECONFIG, "%s:%zu:%zu: only one YAML document is allowed",
				    doc->file, ev.start_mark.line + 1, ev.start_mark.column + 1);
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_MAPPING_START_EVENT ||
		    ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_ALIAS_EVENT) {
			rc = build(b, &ev, 0, &doc->root);
			yaml_event_delete(&ev);
			if (rc != SK_OK)
				break;
			continue;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&b->parser);
	/* "---" alone (or "~", "null") is a null document: the same as an
	 * empty file, not a scalar where a mapping was expected. */
	if (rc == SK_OK && doc->root != NULL && doc->root->type == SK_Y_SCALAR &&
	    !doc->root->quoted && (doc->root->vlen == 0 || strcmp(doc->root->val, "~") == 0 ||
				   strcmp(doc->root->val, "null") == 0)) {
		node_free(doc->root);
		doc->root = NULL;
	}
	if (rc != SK_OK)
		sk_yaml_free(doc);
	return rc;
}

static int start(struct builder *b, const char *name, struct sk_ydoc *doc)
{
	memset(doc, 0, sizeof(*doc));
	memset(b, 0, sizeof(*b));
	b->doc = doc;
	doc->file = sk_strdup(name);
	if (doc->file == NULL)
		return SK_EFAIL;
	if (!yaml_parser_initialize(&b->parser)) {
		sk_yaml_free(doc);
		return sk_err(SK_EFAIL, "out of memory");
	}
	return SK_OK;
}

int sk_yaml_load_buf(const char *name, const void *p, size_t len, struct sk_ydoc *doc)
{
	struct builder b;
	int rc = start(&b, name, doc);

	if (rc != SK_OK)
		return rc;
	b.input = p;
	b.len = len;
	yaml_parser_set_input_string(&b.parser, p, len);
	return run(&b);
}

int sk_yaml_stream(const char *path, const char *seq_key, sk_yaml_item_fn fn, void *arg,
		   struct sk_ydoc *doc)
{
	struct builder b;
	FILE *f;
	int rc, is_stdin = strcmp(path, "-") == 0;

	memset(doc, 0, sizeof(*doc));
	f = is_stdin ? stdin : fopen(path, "rbe");
	if (f == NULL)
		return sk_err_sys(SK_EFAIL, "opening '%s'", path);
	if ((rc = start(&b, is_stdin ? "<stdin>" : path, doc)) != SK_OK) {
		if (!is_stdin)
			fclose(f);
		return rc;
	}
	b.stream_key = seq_key;
	b.item_fn = fn;
	b.item_arg = arg;
	yaml_parser_set_input_file(&b.parser, f);
	rc = run(&b);
	if (rc == SK_OK && ferror(f))
		rc = sk_err_sys(SK_EFAIL, "reading '%s'", path);
	if (!is_stdin)
		fclose(f);
	if (rc != SK_OK)
		sk_yaml_free(doc);
	return rc;
}

int sk_yaml_load(const char *path, struct sk_ydoc *doc)
{
	struct sk_buf buf = { 0 };
	int rc;

	rc = sk_read_file(path, 256u << 20, &buf);
	if (rc == SK_OK)
		rc = sk_yaml_load_buf(strcmp(path, "-") ? path : "<stdin>",
				      buf.p ? (void *)buf.p : (void *)"", buf.len, doc);
	sk_buf_free(&buf);
	return rc;
}

static const char *type_name(enum sk_ytype t)
{
	return t == SK_Y_MAP ? "a mapping" : t == SK_Y_SEQ ? "a list" : "a scalar";
}

int sk_y_expect(const struct sk_ydoc *doc, const struct sk_ynode *n,
		enum sk_ytype type, const char *what)
{
	if (n->type != type)
		return sk_yerr(doc, n, "%s: expected %s, found %s", what,
			       type_name(type), type_name(n->type));
	return SK_OK;
}

int sk_y_str(const struct sk_ydoc *doc, const struct sk_ynode *n, const char **out)
{
	if (n->type != SK_Y_SCALAR)
		return sk_yerr(doc, n, "expected a string, found %s", type_name(n->type));
	if (strlen(n->val) != n->vlen)
		return sk_yerr(doc, n, "string contains a NUL byte");
	*out = n->val;
	return SK_OK;
}

/* What a node that is not what was expected is, for messages: a quoted
 * scalar is a string in YAML, even when its text is a number. */
static const char *found(const struct sk_ynode *n, char *buf, size_t len)
{
	if (n->type != SK_Y_SCALAR)
		return type_name(n->type);
	if (n->quoted)
		snprintf(buf, len, "the string \"%s\" (a quoted value is a string; write it without quotes)",
			 n->val);
	else
		snprintf(buf, len, "'%s'", n->val);
	return buf;
}

int sk_y_uint(const struct sk_ydoc *doc, const struct sk_ynode *n, uint64_t min,
	      uint64_t max, uint64_t *out)
{
	char what[80], buf[400];
	uint64_t v;

	if (n->type == SK_Y_SCALAR && !n->quoted && sk_parse_uint(n->val, max, &v) == 0 && v >= min) {
		*out = v;
		return SK_OK;
	}
	if (min == max)
		snprintf(what, sizeof(what), "the integer %llu", (unsigned long long)min);
	else
		snprintf(what, sizeof(what), "an integer from %llu to %llu",
			 (unsigned long long)min, (unsigned long long)max);
	return sk_yerr(doc, n, "expected %s, found %s", what, found(n, buf, sizeof(buf)));
}

int sk_y_bool(const struct sk_ydoc *doc, const struct sk_ynode *n, int *out)
{
	static const char *const t[] = { "true", "True", "TRUE", "yes", "on", NULL };
	static const char *const f[] = { "false", "False", "FALSE", "no", "off", NULL };
	char buf[400];
	size_t i;

	if (n->type == SK_Y_SCALAR && !n->quoted) {
		for (i = 0; t[i]; i++)
			if (strcmp(n->val, t[i]) == 0) {
				*out = 1;
				return SK_OK;
			}
		for (i = 0; f[i]; i++)
			if (strcmp(n->val, f[i]) == 0) {
				*out = 0;
				return SK_OK;
			}
	}
	return sk_yerr(doc, n, "expected true or false, found %s", found(n, buf, sizeof(buf)));
}

int sk_y_enum(const struct sk_ydoc *doc, const struct sk_ynode *n,
	      const char *const *choices, int *out)
{
	char list[512] = "";
	size_t i, len = 0;

	if (n->type == SK_Y_SCALAR)
		for (i = 0; choices[i]; i++)
			if (strcmp(n->val, choices[i]) == 0) {
				*out = (int)i;
				return SK_OK;
			}
	for (i = 0; choices[i] && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					i ? ", " : "", choices[i]);
	return sk_yerr(doc, n, "expected one of %s, found '%s'", list,
		       n->type == SK_Y_SCALAR ? n->val : type_name(n->type));
}

int sk_y_word(const struct sk_ydoc *doc, const struct sk_ynode *n, const char *list,
	      const char **out)
{
	char words[512];

	if (n->type == SK_Y_SCALAR && sk_word_in(list, n->val, 0)) {
		*out = n->val;
		return SK_OK;
	}
	sk_words_join(list, words, sizeof(words));
	return sk_yerr(doc, n, "expected one of %s, found '%s'", words,
		       n->type == SK_Y_SCALAR ? n->val : type_name(n->type));
}

const struct sk_ynode *sk_y_get(const struct sk_ynode *map, const char *key)
{
	size_t i;

	if (map == NULL || map->type != SK_Y_MAP)
		return NULL;
	for (i = 0; i + 1 < map->n; i += 2)
		if (strcmp(map->kids[i]->val, key) == 0)
			return map->kids[i + 1];
	return NULL;
}

int sk_y_walk(const struct sk_ydoc *doc, const struct sk_ynode *map,
	      const struct sk_yfield *fields, size_t nfields, void *arg,
	      const char *what, int allow_unknown)
{
	size_t i, j;
	int rc;

	if ((rc = sk_y_expect(doc, map, SK_Y_MAP, what)) != SK_OK)
		return rc;
	for (i = 0; i + 1 < map->n; i += 2) {
		const struct sk_ynode *k = map->kids[i];

		for (j = 0; j < nfields; j++)
			if (strcmp(k->val, fields[j].key) == 0)
				break;
		if (j == nfields) {
			char list[512] = "";
			size_t len = 0, f;

			if (allow_unknown)
				continue;
			for (f = 0; f < nfields && len < sizeof(list); f++)
				len += (size_t)snprintf(list + len, sizeof(list) - len,
							"%s%s", f ? ", " : "", fields[f].key);
			return sk_yerr(doc, k, "unknown key '%s' in %s (expected one of: %s)",
				       k->val, what, list);
		}
		rc = fields[j].fn(doc, map->kids[i + 1], arg);
		if (rc != SK_OK)
			return rc;
	}
	return SK_OK;
}
