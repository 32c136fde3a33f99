/* SPDX-License-Identifier: MIT */
#include "opt.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../src/err.h"
#include "../src/util.h"

const struct sk_opt sk_global_opts[] = {
	{ "config", 0, SK_ARG, "FILE", "read this config file", SK_C_FILE, NULL },
	{ "store", 0, SK_ARG, "DIR", "use this store directory", SK_C_DIR, NULL },
	{ "backend", 0, SK_ARG, "NAME", "backend: " SK_BACKEND_NAMES, SK_C_CHOICE, SK_BACKEND_NAMES },
	{ "json", 0, SK_NOARG, NULL, "print one JSON document on stdout", SK_C_NONE, NULL },
	{ "quiet", 'q', SK_NOARG, NULL, "print only data and errors", SK_C_NONE, NULL },
	{ "verbose", 'v', SK_NOARG, NULL, "say more about what happens", SK_C_NONE, NULL },
	{ "help", 'h', SK_NOARG, NULL, "show help and exit", SK_C_NONE, NULL },
	SK_OPT_END,
};

/* The command prefix for messages ("seckit key sign").  Set once per run
 * by the dispatcher, before anything else runs. */
static char prog[128] = "seckit";

const char *sk_prog(void)
{
	return prog;
}

void sk_set_prog(const char *p)
{
	snprintf(prog, sizeof(prog), "%s", p);
}

int sk_usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sk_err(SK_EUSAGE, "%s", msg);
}

/* The one place a command's failure is reported: "PROG: MESSAGE", plus a
 * pointer to the help for usage errors. */
static int report(int rc)
{
	if (rc == SK_OK)
		return rc;
	if (rc == SK_EUSAGE)
		fprintf(stderr, "%s: %s (see \"%s --help\")\n", prog, sk_err_msg(), prog);
	else
		fprintf(stderr, "%s: %s\n", prog, sk_err_msg());
	return rc;
}

static int find(const struct sk_args *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->nopts; i++)
		if (strcmp(a->opts[i]->name, name) == 0)
			return (int)i;
	return -1;
}

const char *sk_arg_str(const struct sk_args *a, const char *name)
{
	int i = find(a, name);

	return i < 0 ? NULL : a->val[i];
}

int sk_arg_flag(const struct sk_args *a, const char *name)
{
	int i = find(a, name);

	return i < 0 ? 0 : a->count[i];
}

int sk_arg_digest(struct sk_ctx *ctx, const struct sk_args *a, const char **name)
{
	int rc;

	if ((*name = sk_arg_str(a, "digest")) != NULL)
		return SK_OK;
	if ((rc = sk_ctx_config(ctx)) != SK_OK)
		return rc;
	*name = ctx->cfg.digest ? ctx->cfg.digest : "sha256";
	return SK_OK;
}

int sk_global_apply(struct sk_ctx *ctx, const char *name, const char *val)
{
	if (strcmp(name, "config") == 0)
		ctx->opt_config = val;
	else if (strcmp(name, "store") == 0)
		ctx->opt_store = val;
	else if (strcmp(name, "backend") == 0)
		ctx->opt_backend = val;
	else if (strcmp(name, "json") == 0)
		ctx->json = 1;
	else if (strcmp(name, "quiet") == 0)
		ctx->quiet = 1;
	else if (strcmp(name, "verbose") == 0)
		ctx->verbose++;
	else
		return 0;
	return 1;
}

static void add_table(struct sk_args *a, const struct sk_opt *t)
{
	for (; t != NULL && t->name != NULL && a->nopts < SK_MAX_OPTS; t++)
		a->opts[a->nopts++] = t;
}

static void print_opt(FILE *f, const struct sk_opt *o)
{
	char left[64];

	if (o->shortname)
		snprintf(left, sizeof(left), "-%c, --%s%s%s", o->shortname, o->name,
			 o->arg ? " " : "", o->arg ? o->metavar : "");
	else
		snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->metavar : "");
	fprintf(f, "  %-28s %s\n", left, o->help);
}

static void help_verb(FILE *f, const char *path, const struct sk_verb *v)
{
	const struct sk_opt *o;

	if (v->sub != NULL) {
		const struct sk_verb *s;

		fprintf(f, "usage: %s <verb> ...\n\n%s\n\nverbs:\n", path, v->summary);
		for (s = v->sub; s->name; s++)
			fprintf(f, "  %-12s %s\n", s->name, s->summary);
		return;
	}
	fprintf(f, "usage: %s%s%s%s\n\n%s\n", path, v->synopsis ? " " : "",
		v->synopsis ? v->synopsis : "", v->opts && v->opts->name ? " [options]" : "",
		v->summary);
	if (v->opts && v->opts->name) {
		fprintf(f, "\noptions:\n");
		for (o = v->opts; o->name; o++)
			print_opt(f, o);
	}
	fprintf(f, "\nglobal options:\n");
	for (o = sk_global_opts; o->name; o++)
		print_opt(f, o);
}

void sk_help_command(FILE *f, const struct sk_command *cmd)
{
	const struct sk_verb *v;

	if (cmd->direct != NULL) {
		char path[64];

		snprintf(path, sizeof(path), "seckit %s", cmd->name);
		help_verb(f, path, cmd->direct);
		return;
	}
	fprintf(f, "usage: seckit %s <verb> [options] [arguments]\n\n%s\n\nverbs:\n",
		cmd->name, cmd->summary);
	for (v = cmd->verbs; v->name; v++)
		fprintf(f, "  %-12s %s\n", v->name, v->summary);
	fprintf(f, "\nRun \"seckit %s <verb> --help\" for a verb's options; man seckit-%s for details.\n",
		cmd->name, cmd->name);
}

static const char *complete_name(enum sk_complete c)
{
	static const char *const n[] = { "none", "file", "dir", "key", "pwobj", "object",
					 "cert", "choice" };

	return n[c];
}

static void dump_opts(FILE *f, const char *path, const struct sk_opt *o)
{
	for (; o != NULL && o->name; o++) {
		fprintf(f, "option\t%s\t--%s\t%c\t%s\t%s", path, o->name,
			o->shortname ? o->shortname : '-', o->arg ? o->metavar : "-",
			complete_name(o->complete));
		if (o->choices)
			fprintf(f, "\t%s", o->choices);
		fprintf(f, "\n");
	}
}

static void dump_verbs(FILE *f, const char *path, const struct sk_verb *v)
{
	char sub[128];

	for (; v->name; v++) {
		snprintf(sub, sizeof(sub), "%s %s", path, v->name);
		fprintf(f, "verb\t%s\t%s\t%s\t%s\n", sub, complete_name(v->pos_complete),
			v->synopsis ? v->synopsis : "-", v->summary);
		if (v->sub)
			dump_verbs(f, sub, v->sub);
		else
			dump_opts(f, sub, v->opts);
	}
}

void sk_dump_spec(FILE *f, const struct sk_command *const *cmds, size_t n)
{
	size_t i;

	dump_opts(f, "seckit", sk_global_opts);
	for (i = 0; i < n; i++) {
		char path[64];

		snprintf(path, sizeof(path), "seckit %s", cmds[i]->name);
		fprintf(f, "command\t%s\t%s\n", path, cmds[i]->summary);
		if (cmds[i]->direct != NULL) {
			/* "args": what a verb-less command's arguments complete to. */
			fprintf(f, "args\t%s\t%s\t%s\n", path,
				complete_name(cmds[i]->direct->pos_complete),
				cmds[i]->direct->synopsis ? cmds[i]->direct->synopsis : "-");
			dump_opts(f, path, cmds[i]->direct->opts);
			continue;
		}
		dump_verbs(f, path, cmds[i]->verbs);
	}
}

static const struct sk_verb *find_verb(const struct sk_verb *v, const char *name)
{
	for (; v->name; v++)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

static int unknown_verb(const char *path, const struct sk_verb *verbs, const char *name)
{
	const struct sk_verb *v, *best = NULL;
	size_t bestd = 3;

	for (v = verbs; v->name; v++) {
		size_t d = sk_edit_distance(name, v->name);

		if (d < bestd) {
			bestd = d;
			best = v;
		}
	}
	(void)path;
	if (best)
		return sk_usage_error("unknown verb '%s'; did you mean '%s'?", name, best->name);
	return sk_usage_error("unknown verb '%s'", name);
}

static int parse(struct sk_ctx *ctx, const struct sk_verb *v, int argc, char **argv,
		 struct sk_args *a, int *help)
{
	struct option lo[SK_MAX_OPTS + 1];
	char shorts[2 * SK_MAX_OPTS + 3] = "+:";
	size_t i, ns = 2;
	int c, idx;

	memset(a, 0, sizeof(*a));
	add_table(a, v->opts);
	add_table(a, sk_global_opts);
	for (i = 0; i < a->nopts; i++) {
		lo[i].name = a->opts[i]->name;
		lo[i].has_arg = a->opts[i]->arg ? required_argument : no_argument;
		lo[i].flag = NULL;
		lo[i].val = 256 + (int)i;
		if (a->opts[i]->shortname) {
			shorts[ns++] = a->opts[i]->shortname;
			if (a->opts[i]->arg)
				shorts[ns++] = ':';
		}
	}
	memset(&lo[a->nopts], 0, sizeof(lo[0]));
	shorts[ns] = '\0';
	/* Options may follow positional arguments (git style): parse in a
	 * loop, collecting the non-options; "--" ends option parsing. */
	optind = 0; /* glibc: full re-initialisation */
	opterr = 0;
	for (;;) {
		int before = optind ? optind : 1;

		c = getopt_long(argc, argv, shorts, lo, &idx);
		if (c == -1) {
			if (optind > before && strcmp(argv[optind - 1], "--") == 0) {
				while (optind < argc) {
					if (a->npos >= SK_MAX_POS)
						return sk_usage_error("too many arguments");
					a->pos[a->npos++] = argv[optind++];
				}
				break;
			}
			if (optind >= argc)
				break;
			if (a->npos >= SK_MAX_POS)
				return sk_usage_error("too many arguments");
			a->pos[a->npos++] = argv[optind++];
			continue;
		}
		if (c == '?') {
			if (optopt)
				return sk_usage_error("unknown option '-%c'", optopt);
			return sk_usage_error("unknown option '%s'", argv[optind - 1]);
		}
		if (c == ':')
			return sk_usage_error("option '%s' needs a value", argv[optind - 1]);
		if (c < 256) {
			for (i = 0; i < a->nopts; i++)
				if (a->opts[i]->shortname == c)
					break;
		} else {
			i = (size_t)(c - 256);
		}
		if (i >= a->nopts)
			return sk_usage_error("unknown option");
		a->val[i] = optarg;
		a->count[i]++;
		if (strcmp(a->opts[i]->name, "help") == 0)
			*help = 1;
		else
			sk_global_apply(ctx, a->opts[i]->name, optarg);
	}
	return SK_OK;
}

int sk_command_run(struct sk_ctx *ctx, const struct sk_command *cmd, int argc, char **argv)
{
	const struct sk_verb *verbs = cmd->verbs, *v = NULL;
	char path[128];
	struct sk_args a;
	int help = 0, rc, i = 1;

	snprintf(path, sizeof(path), "seckit %s", cmd->name);
	sk_set_prog(path);
	if (cmd->direct != NULL) {
		v = cmd->direct;
		if (argc < 2) {
			help_verb(stderr, path, v);
			return SK_EUSAGE;
		}
	}
	while (v == NULL || v->sub != NULL) {
		if (i >= argc || strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "help") == 0) {
			if (i < argc || v != NULL) {
				if (v != NULL)
					help_verb(stdout, path, v);
				else
					sk_help_command(stdout, cmd);
				return SK_OK;
			}
			sk_help_command(stderr, cmd);
			return SK_EUSAGE;
		}
		/* Global options may also sit between command and verb. */
		if (argv[i][0] == '-' && argv[i][1] == '-') {
			const struct sk_opt *g;
			const char *name = argv[i] + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);

			for (g = sk_global_opts; g->name; g++)
				if (strlen(g->name) == len && strncmp(g->name, name, len) == 0)
					break;
			if (g->name == NULL || strcmp(g->name, "help") == 0)
				return report(sk_usage_error("unknown option '%s'", argv[i]));
			if (g->arg && !eq && i + 1 >= argc)
				return report(sk_usage_error("option '%s' needs a value", argv[i]));
			sk_global_apply(ctx, g->name, g->arg ? (eq ? eq + 1 : argv[++i]) : NULL);
			i++;
			continue;
		}
		if (argv[i][0] == '-' && (argv[i][1] == 'q' || argv[i][1] == 'v') && argv[i][2] == '\0') {
			sk_global_apply(ctx, argv[i][1] == 'q' ? "quiet" : "verbose", NULL);
			i++;
			continue;
		}
		v = find_verb(verbs, argv[i]);
		if (v == NULL)
			return report(unknown_verb(path, verbs, argv[i]));
		snprintf(path + strlen(path), sizeof(path) - strlen(path), " %s", v->name);
		sk_set_prog(path);
		i++;
		if (v->sub == NULL)
			break;
		verbs = v->sub;
		if (i >= argc) {
			help_verb(stderr, path, v);
			return SK_EUSAGE;
		}
	}
	if ((rc = parse(ctx, v, argc - i + 1, argv + i - 1, &a, &help)) != SK_OK)
		return report(rc);
	if (help) {
		help_verb(stdout, path, v);
		return SK_OK;
	}
	if (a.npos < v->min_pos)
		return report(sk_usage_error("missing argument%s%s", v->synopsis ? ": " : "",
					     v->synopsis ? v->synopsis : ""));
	if (v->max_pos >= 0 && a.npos > v->max_pos)
		return report(sk_usage_error("unexpected argument '%s'", a.pos[v->max_pos]));
	sk_warn_setup(path, ctx->quiet);
	sk_err_clear();
	return report(v->run(ctx, &a));
}
