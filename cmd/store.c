/* SPDX-License-Identifier: MIT */
/* seckit store: secure storage of named data objects. */
#include <stdio.h>
#include <string.h>

#include "../src/data.h"
#include "../src/err.h"
#include "../src/fileio.h"
#include "../src/store.h"
#include "json.h"
#include "opt.h"

#define O_PASS(h) { "pass", 0, SK_ARG, "SPEC", h, SK_C_NONE, NULL }

static void info_json(struct sk_json *j, const struct sk_data_info *d, int with_file)
{
	sk_json_obj(j);
	sk_json_kstr(j, "name", d->name);
	sk_json_kuint(j, "size", d->size);
	sk_json_kbool(j, "password", d->password);
	sk_json_ktime(j, "modified", (int64_t)d->mtime);
	if (with_file)
		sk_json_kstr(j, "file", d->file);
	sk_json_end_obj(j);
}

static int report_info(struct sk_ctx *ctx, const char *name, const char *verb)
{
	struct sk_data_info d;
	struct sk_json j;
	int rc;

	if (!ctx->json && !ctx->verbose)
		return SK_OK;
	if ((rc = sk_data_info(ctx, name, &d)) != SK_OK)
		return rc;
	if (ctx->json) {
		sk_json_init(&j, stdout);
		info_json(&j, &d, 1);
		sk_json_done(&j);
	} else {
		fprintf(stderr, "%s object '%s' (%llu bytes%s)\n", verb, d.name,
			(unsigned long long)d.size, d.password ? ", password-protected" : "");
	}
	return SK_OK;
}

/* ---- write / read ---- */

static const struct sk_opt write_opts[] = {
	{ "in", 'i', SK_ARG, "FILE", "read the data from FILE ('-' or none: stdin)", SK_C_FILE, NULL },
	O_PASS("protect the object with this password (needed, and checked, if it has one already)"),
	SK_OPT_END,
};

static int store_write(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *path = sk_arg_str(a, "in");
	struct sk_in in = { .fd = -1 };
	int rc;

	if ((rc = sk_in_open(&in, path ? path : "-")) != SK_OK)
		return rc;
	rc = sk_data_write(ctx, a->pos[0], sk_arg_str(a, "pass"), &in);
	sk_in_close(&in);
	if (rc != SK_OK)
		return rc;
	return report_info(ctx, a->pos[0], "wrote");
}

static const struct sk_opt read_opts[] = {
	{ "out", 'o', SK_ARG, "FILE", "write the data to FILE, mode 0600 ('-' or none: stdout)", SK_C_FILE, NULL },
	O_PASS("the object's password"),
	SK_OPT_END,
};

static int store_read(struct sk_ctx *ctx, const struct sk_args *a)
{
	const char *path = sk_arg_str(a, "out");
	struct sk_out out;
	int rc;

	/* Nothing is created before the object opened and its password checked. */
	if ((rc = sk_out_open(&out, path ? path : "-", 0600)) != SK_OK)
		return rc;
	rc = sk_data_read(ctx, a->pos[0], sk_arg_str(a, "pass"), &out);
	if (rc == SK_OK)
		return sk_out_commit(&out);
	sk_out_abort(&out);
	return rc;
}

/* ---- list / info ---- */

static const struct sk_opt list_opts[] = {
	{ "names", 0, SK_NOARG, NULL, "print only the names, one per line", SK_C_NONE, NULL },
	SK_OPT_END,
};

struct list_state {
	struct sk_ctx *ctx;
	struct sk_json j;
	int names;
};

static int list_one(const struct sk_data_info *d, void *arg)
{
	struct list_state *s = arg;
	char when[32];

	if (s->ctx->json) {
		info_json(&s->j, d, 0);
	} else if (s->names) {
		printf("%s\n", d->name);
	} else {
		sk_time_format((int64_t)d->mtime, when, sizeof(when));
		printf("%-24s %12llu  %-8s  %s\n", d->name, (unsigned long long)d->size,
		       d->password ? "password" : "-", when);
	}
	return 0;
}

static int store_list(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct list_state s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.ctx = ctx;
	s.names = sk_arg_flag(a, "names");
	if (ctx->json)
		sk_json_list_begin(&s.j, stdout, "objects");
	if ((rc = sk_data_list(ctx, list_one, &s)) != SK_OK)
		return rc;
	if (ctx->json)
		sk_json_list_end(&s.j);
	return SK_OK;
}

static int store_info(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_data_info d;
	struct sk_json j;
	char when[32];
	int rc;

	if ((rc = sk_data_info(ctx, a->pos[0], &d)) != SK_OK)
		return rc;
	if (ctx->json) {
		sk_json_init(&j, stdout);
		info_json(&j, &d, 1);
		sk_json_done(&j);
		return SK_OK;
	}
	sk_time_format((int64_t)d.mtime, when, sizeof(when));
	printf("name:      %s\n", d.name);
	printf("size:      %llu\n", (unsigned long long)d.size);
	printf("password:  %s\n", d.password ? "yes" : "no");
	printf("modified:  %s\n", when);
	printf("file:      %s\n", d.file);
	return SK_OK;
}

/* ---- delete / check ---- */

static const struct sk_opt delete_opts[] = {
	O_PASS("the object's password"),
	{ "force", 'f', SK_NOARG, NULL, "also delete an object that fails verification (tampered or damaged)", SK_C_NONE, NULL },
	SK_OPT_END,
};

static int store_delete(struct sk_ctx *ctx, const struct sk_args *a)
{
	return sk_data_delete(ctx, a->pos[0], sk_arg_str(a, "pass"), sk_arg_flag(a, "force"));
}

static const struct sk_opt check_opts[] = {
	{ "repair", 0, SK_NOARG, NULL, "remove what fails verification so that the store is usable again (the loss is accepted)", SK_C_NONE, NULL },
	SK_OPT_END,
};

struct check_state {
	struct sk_ctx *ctx;
	struct sk_json *j;
	size_t n;
};

static void check_one(const char *file, const char *msg, void *arg)
{
	struct check_state *c = arg;

	c->n++;
	if (c->j != NULL) {
		sk_json_obj(c->j);
		sk_json_kstr(c->j, "file", file);
		sk_json_kstr(c->j, "problem", msg);
		sk_json_end_obj(c->j);
	} else {
		(void)file; /* the message names it */
		printf("%s\n", msg);
	}
}

static int store_check(struct sk_ctx *ctx, const struct sk_args *a)
{
	struct sk_store *st;
	struct sk_json j;
	struct check_state c = { ctx, NULL, 0 };
	int repair = sk_arg_flag(a, "repair"), rc;
	size_t nobj = 0;

	if ((rc = sk_ctx_store(ctx, 0, &st)) != SK_OK)
		return rc;
	if (ctx->json) {
		sk_json_init(&j, stdout);
		sk_json_obj(&j);
		sk_json_key(&j, "problems");
		sk_json_arr(&j);
		c.j = &j;
	}
	rc = sk_store_check(st, repair, check_one, &c, &nobj);
	if (ctx->json) {
		sk_json_end_arr(&j);
		sk_json_kuint(&j, "objects", nobj);
		sk_json_kbool(&j, "repaired", repair && c.n > 0 && rc == SK_OK);
		sk_json_kbool(&j, "ok", rc == SK_OK && c.n == 0);
		sk_json_end_obj(&j);
		sk_json_done(&j);
	} else if (!ctx->quiet && rc == SK_OK) {
		if (c.n == 0)
			printf("%zu object%s verified, no problems\n", nobj, nobj == 1 ? "" : "s");
		else
			printf("%zu problem%s repaired, %zu object%s left\n", c.n, c.n == 1 ? "" : "s",
			       nobj, nobj == 1 ? "" : "s");
	}
	return rc;
}

static const struct sk_verb verbs[] = {
	{ "write", store_write, "NAME", 1, 1, write_opts, "store data (stdin or --in) under NAME", NULL, SK_C_OBJECT },
	{ "read", store_read, "NAME", 1, 1, read_opts, "print an object's data (or write it to --out)", NULL, SK_C_OBJECT },
	{ "list", store_list, NULL, 0, 0, list_opts, "list objects: name, size, password, modification time", NULL, SK_C_NONE },
	{ "info", store_info, "NAME", 1, 1, NULL, "show an object's attributes", NULL, SK_C_OBJECT },
	{ "delete", store_delete, "NAME", 1, 1, delete_opts, "delete an object", NULL, SK_C_OBJECT },
	{ "check", store_check, NULL, 0, 0, check_opts, "verify the whole store (every file, every object)", NULL, SK_C_NONE },
	{ NULL, NULL, NULL, 0, 0, NULL, NULL, NULL, SK_C_NONE },
};

const struct sk_command sk_cmd_store = {
	"store", "secure storage: named data objects, encrypted and authenticated", verbs,
};
