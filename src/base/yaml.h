/* SPDX-License-Identifier: MIT */
#ifndef SK_YAML_H
#define SK_YAML_H

#include <stddef.h>
#include <stdint.h>

/*
 * The one YAML reader (config, provisioning manifest, fleet files): libyaml
 * events folded into a small tree whose nodes remember where they came from,
 * so every error can say file:line:column.  Aliases are refused (they buy
 * nothing here and invite "billion laughs" inputs), and so are duplicate
 * mapping keys.
 */
enum sk_ytype { SK_Y_SCALAR, SK_Y_MAP, SK_Y_SEQ };

struct sk_ynode {
	enum sk_ytype type;
	int quoted;          /* scalar was quoted or a block literal */
	char *val;           /* scalar text, NUL-terminated */
	size_t vlen;
	size_t line, col;    /* 1-based */
	struct sk_ynode **kids; /* map: key, value, key, value ...; seq: items */
	size_t n;            /* number of entries in kids */
};

struct sk_ydoc {
	char *file;          /* name used in messages */
	struct sk_ynode *root; /* NULL for an empty document */
};

int sk_yaml_load(const char *path, struct sk_ydoc *doc);
int sk_yaml_load_buf(const char *name, const void *p, size_t n, struct sk_ydoc *doc);
void sk_yaml_free(struct sk_ydoc *doc);

/*
 * Streaming, for documents too big to hold as a tree (a fleet file of 10^6
 * devices is about 250 MB of YAML, and about 850 MB as a tree).  The file
 * ("-": stdin) is read incrementally.  The list that is the value of the
 * top-level key seq_key is not kept: each of its items is built as a tree
 * of its own, passed to fn with its 0-based index and freed when fn
 * returns, so memory stays that of one item.  Everything else is built as
 * usual into doc, where seq_key's value is an empty list node that keeps
 * its line and column (a seq_key whose value is not a list is built
 * normally, for the caller to report).  A non-zero return from fn stops
 * the parse and is returned (doc is then freed).  Syntax errors, aliases,
 * duplicate keys and depth limits are reported exactly as by sk_yaml_load.
 */
typedef int (*sk_yaml_item_fn)(const struct sk_ydoc *doc, const struct sk_ynode *item,
			       size_t index, void *arg);
int sk_yaml_stream(const char *path, const char *seq_key, sk_yaml_item_fn fn, void *arg,
		   struct sk_ydoc *doc);

/* Record "file:line:col: message" and return SK_ECONFIG. */
int sk_yerr(const struct sk_ydoc *doc, const struct sk_ynode *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Typed access; each reports a located SK_ECONFIG error on mismatch. */
int sk_y_str(const struct sk_ydoc *doc, const struct sk_ynode *n, const char **out);
int sk_y_uint(const struct sk_ydoc *doc, const struct sk_ynode *n, uint64_t min,
	      uint64_t max, uint64_t *out);
int sk_y_bool(const struct sk_ydoc *doc, const struct sk_ynode *n, int *out);
/* choices is NULL-terminated; *out is the index */
int sk_y_enum(const struct sk_ydoc *doc, const struct sk_ynode *n,
	      const char *const *choices, int *out);
/* One of the words of a space-separated list ("sha256 sha384"), as *out. */
int sk_y_word(const struct sk_ydoc *doc, const struct sk_ynode *n, const char *list,
	      const char **out);
int sk_y_expect(const struct sk_ydoc *doc, const struct sk_ynode *n,
		enum sk_ytype type, const char *what);

/* Map walking against a schema: each key must appear in fields; unknown
 * keys are an error listing what was expected (unless allow_unknown). */
struct sk_yfield {
	const char *key;
	int (*fn)(const struct sk_ydoc *doc, const struct sk_ynode *val, void *arg);
};
int sk_y_walk(const struct sk_ydoc *doc, const struct sk_ynode *map,
	      const struct sk_yfield *fields, size_t nfields, void *arg,
	      const char *what, int allow_unknown);
/* Value of key in a map, or NULL. */
const struct sk_ynode *sk_y_get(const struct sk_ynode *map, const char *key);

#endif
