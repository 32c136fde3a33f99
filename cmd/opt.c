/* SPDX-License-Identifier: MIT */
#include "opt.h"

#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "backend/backend.h"
#include "trust/certgen.h"
#include "format/ecies.h"
#include "format/pkg.h"
#include "base/err.h"
#include "crypto/keytype.h"
#include "crypto/pcr.h"
#include "ctx/secret.h"
#include "format/stp.h"
#include "trust/trust.h"
#include "base/util.h"
#include "base/fileio.h"
#include "json.h"

const struct sk_optdef sk_optdefs[OPT__COUNT] = {
#define SK_OPTION(id, n, s, t, m, c, ch, w, lo, hi) [OPT_##id] = { n, s, t, m, c, ch, w, lo, hi },
#include "options.h"
#undef SK_OPTION
};

#define CTX(f) offsetof(struct sk_ctx, f)

/* The order --help shows them in. */
const struct sk_global sk_globals[] = {
	{ OPT_config, "read this config file", SK_G_STR, CTX(opt_config), 0 },
	{ OPT_store, "use this store directory", SK_G_STR, CTX(opt_store), 0 },
	{ OPT_backend, "backend: " SK_BACKEND_NAMES, SK_G_STR, CTX(opt_backend), 0 },
	{ OPT_tcti, "tpm2: reach the TPM through this TCTI", SK_G_STR, CTX(opt_tcti), 0 },
	{ OPT_pkcs11_module, "pkcs11: load this PKCS#11 module", SK_G_STR, CTX(opt_pkcs11_module), 0 },
	{ OPT_token, "pkcs11: use this token (label, serial, slot or pkcs11: URI)", SK_G_STR,
	  CTX(opt_token), 0 },
	{ OPT_pin, "pkcs11: the token's user PIN (secret spec)", SK_G_STR, CTX(opt_pin), 0 },
	{ OPT_json, "print one JSON document on stdout", SK_G_SET, CTX(json), 0 },
	{ OPT_quiet, "print only data and errors", SK_G_SET, CTX(quiet), 0 },
	{ OPT_verbose, "say more about what happens", SK_G_INC, CTX(verbose), 0 },
	{ OPT_help, "show help and exit", SK_G_HELP, 0, 0 },
	{ OPT_version, "print version and build features", SK_G_VERSION, 0, 1 },
	{ OPT_dump_spec, "print the command table (for completion scripts)", SK_G_DUMP, 0, 1 },
};
const size_t sk_nglobals = SK_ARRAY_SIZE(sk_globals);

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
void sk_role_hint(enum sk_role missing)
{
	if (missing == SK_ROLE_DEVICE_KEY)
		sk_err_hint(0, "(see --%s)", sk_optdefs[OPT_device_key].name);
	else if (missing == SK_ROLE_OEM_ROOT)
		sk_err_hint(0, "(provision it, or see --%s)", sk_optdefs[OPT_verify_key].name);
}

/* The option that does what the library says can be done about its error
 * (src/base/err.h, enum sk_remedy). */
static void remedy_hint(void)
{
	switch (sk_err_remedy_get()) {
	case SK_REMEDY_PASS:
		sk_err_hint(0, "(give --%s: pass:, env:, file:, fd: or prompt)", sk_optdefs[OPT_pass].name);
		break;
	case SK_REMEDY_BACKEND:
		sk_err_hint(0, "(see --%s)", sk_optdefs[OPT_backend].name);
		break;
	case SK_REMEDY_FORCE:
		sk_err_hint(0, "(--%s removes a damaged object)", sk_optdefs[OPT_force].name);
		break;
	case SK_REMEDY_MODE:
		sk_err_hint(0, "(see --%s)", sk_optdefs[OPT_mode].name);
		break;
	case SK_REMEDY_OUT:
		sk_err_hint(0, "(with --%s, give --%s FILE)", sk_optdefs[OPT_json].name,
			    sk_optdefs[OPT_out].name);
		break;
	case SK_REMEDY_REPLACE:
		sk_err_hint(0, "(--%s replaces it)", sk_optdefs[OPT_force].name);
		break;
	case SK_REMEDY_NONE:
		break;
	}
}

int sk_report(int rc)
{
	if (rc == SK_OK)
		return rc;
	remedy_hint();
	sk_json_error(rc, sk_err_msg());
	if (rc == SK_EUSAGE)
		fprintf(stderr, "%s: %s (see \"%s --help\")\n", prog, sk_err_msg(), prog);
	else
		fprintf(stderr, "%s: %s\n", prog, sk_err_msg());
	return rc;
}

void sk_near_try(struct sk_near *n, const char *typed, const char *candidate)
{
	size_t d = sk_edit_distance(typed, candidate);

	if (d < n->d) {
		n->d = d;
		n->best = candidate;
	}
}

/* ---- values ---- */

const char *sk_opt_str(const struct sk_args *a, enum sk_optid id)
{
	return a->val[id];
}

int sk_opt_flag(const struct sk_args *a, enum sk_optid id)
{
	return a->count[id];
}

int sk_opt_uint(const struct sk_args *a, enum sk_optid id, uint64_t *v)
{
	if (a->val[id] == NULL)
		return 0;
	*v = a->v[id].u;
	return 1;
}

int sk_opt_time(const struct sk_args *a, enum sk_optid id, int64_t *t)
{
	if (a->val[id] == NULL)
		return 0;
	*t = a->v[id].t;
	return 1;
}

/* 1 if writing path writes to our stdout ("-", /dev/stdout, /dev/fd/1 ...). */
static int is_stdout(const char *path)
{
	struct stat p, o;

	if (strcmp(path, "-") == 0)
		return 1;
	return stat(path, &p) == 0 && fstat(STDOUT_FILENO, &o) == 0 && p.st_dev == o.st_dev &&
	       p.st_ino == o.st_ino && p.st_rdev == o.st_rdev;
}

int sk_opt_out(const struct sk_args *a, enum sk_outkind kind, const char **path)
{
	const char *out = sk_opt_str(a, OPT_out);

	*path = out != NULL ? out : "-";
	/* "-" and /dev/stdout alike: what matters is where fd 1 goes. */
	if (kind == SK_OUT_BINARY && is_stdout(*path) && isatty(STDOUT_FILENO))
		return sk_usage_error("not writing binary data to a terminal: give --%s FILE or redirect stdout",
				      sk_optdefs[OPT_out].name);
	return SK_OK;
}

int sk_opt_need(const struct sk_args *a, enum sk_optid id)
{
	if (a->val[id] == NULL)
		return sk_usage_error("--%s is required", sk_optdefs[id].name);
	return SK_OK;
}

int sk_opt_signer(struct sk_ctx *ctx, const struct sk_args *a, enum sk_optid pass_opt,
		  const EVP_MD *md, struct sk_signer *s)
{
	const char *file = a->val[OPT_sign_key];
	const char *name = a->val[OPT_key] ? a->val[OPT_key] : a->val[OPT_key_name];
	int rc;

	memset(s, 0, sizeof(*s));
	if ((file == NULL) == (name == NULL))
		return sk_usage_error("give --sign-key FILE or --key NAME (one of them)");
	rc = sk_signer_open(s, ctx, file, name, a->val[pass_opt], md, a->count[OPT_pss] > 0);
	if (rc == SK_EUSAGE)
		return sk_usage_error("%s", sk_err_msg());
	return rc;
}

static const struct sk_verbopt *verbopt(const struct sk_verb *v, enum sk_optid id)
{
	size_t i;

	for (i = 0; v != NULL && i < v->noptions; i++)
		if (v->options[i].id == id)
			return &v->options[i];
	return NULL;
}

static void warn_weak(const EVP_MD *md)
{
	if (sk_md_is_weak(md))
		sk_warn("%s is weak: use sha256 or stronger", sk_md_name(md));
}

int sk_opt_md(struct sk_ctx *ctx, const struct sk_args *a, enum sk_optid id, const EVP_MD **md)
{
	const struct sk_verbopt *e = verbopt(a->verb, id);
	enum sk_md_use use = e != NULL ? e->md : SK_MD_TRUST;
	const char *name = "sha256";
	int rc;

	if (a->val[id] != NULL) {
		*md = a->v[id].md;
		return SK_OK;
	}
	/* defaults.digest is the signing digest; hashing has its own default. */
	if (use != SK_MD_HASH) {
		const struct sk_policy *pol;

		if ((rc = sk_ctx_policy(ctx, &pol)) != SK_OK)
			return rc;
		if (pol->digest != NULL)
			name = pol->digest;
	}
	if ((rc = sk_md_for(name, use, 0, md)) != SK_OK)
		return sk_err_wrap(rc, "defaults.digest in the config");
	warn_weak(*md);
	return SK_OK;
}

/* The checks of cmd/options.h, for one option given. */
static int check_value(const struct sk_verb *v, const struct sk_verbopt *e, struct sk_args *a)
{
	const struct sk_optdef *d = &sk_optdefs[e->id];
	const char *val = a->val[e->id];
	char list[512], near[64];
	int rc;

	switch (d->type) {
	case SK_T_CHOICE:
		if (sk_word_in(d->choices, val, 0))
			return SK_OK;
		sk_words_join(d->choices, list, sizeof(list));
		if (sk_word_closest(d->choices, val, near, sizeof(near)))
			return sk_usage_error("unknown %s '%s'; did you mean '%s'? (expected one of: %s)",
					      d->what, val, near, list);
		return sk_usage_error("unknown %s '%s' (expected one of: %s)", d->what, val, list);
	case SK_T_UINT:
		if (sk_parse_uint(val, d->max, &a->v[e->id].u) != 0 || a->v[e->id].u < d->min)
			return sk_usage_error("--%s '%s': expected a number from %llu to %llu", d->name,
					      val, (unsigned long long)d->min,
					      (unsigned long long)d->max);
		return SK_OK;
	case SK_T_TIME:
		if (sk_time_parse_rel(val, (int64_t)time(NULL), &a->v[e->id].t) != SK_OK)
			return sk_usage_error("--%s: %s", d->name, sk_err_msg());
		return SK_OK;
	case SK_T_DIGEST:
		rc = sk_md_for(val, e->md, a->count[OPT_insecure] > 0, &a->v[e->id].md);
		if (rc == SK_EUNSUPP && !a->count[OPT_insecure] && verbopt(v, OPT_insecure) &&
		    sk_word_in(sk_md_names(e->md), "md5", 0)) {
			snprintf(list, sizeof(list), "%s", sk_err_msg());
			return sk_err(rc, "%s; add --insecure if you really need it", list);
		}
		if (rc == SK_OK)
			warn_weak(a->v[e->id].md);
		return rc;
	case SK_T_FLAG:
	case SK_T_STR:
		break;
	}
	return SK_OK;
}

/* Required options first, then the values, in the table's order. */
static int check_values(const struct sk_verb *v, struct sk_args *a)
{
	size_t i;
	int rc;

	for (i = 0; i < v->noptions; i++) {
		const struct sk_optdef *d = &sk_optdefs[v->options[i].id];

		if (!v->options[i].required || a->val[v->options[i].id] != NULL)
			continue;
		if (d->type == SK_T_CHOICE)
			return sk_usage_error("--%s is required (one of: %s)", d->name, d->choices);
		return sk_usage_error("--%s is required", d->name);
	}
	for (i = 0; i < v->noptions; i++)
		if (a->val[v->options[i].id] != NULL &&
		    (rc = check_value(v, &v->options[i], a)) != SK_OK)
			return rc;
	return SK_OK;
}

/* ---- global options ---- */

static void global_apply(struct sk_ctx *ctx, const struct sk_global *g, const char *val)
{
	char *f = (char *)ctx + g->off;

	switch (g->act) {
	case SK_G_STR:
		memcpy(f, &val, sizeof(val));
		break;
	case SK_G_SET:
		*(int *)(void *)f = 1;
		break;
	case SK_G_INC:
		++*(int *)(void *)f;
		break;
	default:
		break;
	}
}

/* ---- help ---- */

static void print_opt(FILE *f, enum sk_optid id, const char *help)
{
	const struct sk_optdef *d = &sk_optdefs[id];
	const char *m = d->type == SK_T_FLAG ? NULL : d->metavar;
	char left[64];

	if (d->shortname)
		snprintf(left, sizeof(left), "-%c, --%s%s%s", d->shortname, d->name, m ? " " : "",
			 m ? m : "");
	else
		snprintf(left, sizeof(left), "    --%s%s%s", d->name, m ? " " : "", m ? m : "");
	fprintf(f, "  %-28s %s\n", left, help);
}

void sk_help_globals(FILE *f, int top)
{
	size_t i;

	for (i = 0; i < sk_nglobals; i++)
		if (top || !sk_globals[i].top)
			print_opt(f, sk_globals[i].id, sk_globals[i].help);
}

static void help_verb(FILE *f, const char *path, const struct sk_verb *v)
{
	size_t i;

	if (v->sub != NULL) {
		fprintf(f, "usage: %s <verb> ...\n\n%s\n\nverbs:\n", path, v->summary);
		for (i = 0; i < v->nsub; i++)
			fprintf(f, "  %-12s %s\n", v->sub[i].name, v->sub[i].summary);
		return;
	}
	fprintf(f, "usage: %s%s%s%s\n\n%s\n", path, v->synopsis ? " " : "",
		v->synopsis ? v->synopsis : "", v->noptions ? " [options]" : "", v->summary);
	if (v->noptions) {
		fprintf(f, "\noptions:\n");
		for (i = 0; i < v->noptions; i++)
			print_opt(f, v->options[i].id, v->options[i].help);
	}
	fprintf(f, "\nglobal options:\n");
	sk_help_globals(f, 0);
}

void sk_help_command(FILE *f, const struct sk_command *cmd)
{
	size_t i;

	if (cmd->direct != NULL) {
		char path[64];

		snprintf(path, sizeof(path), "seckit %s", cmd->name);
		help_verb(f, path, cmd->direct);
		return;
	}
	fprintf(f, "usage: seckit %s <verb> [options] [arguments]\n\n%s\n\nverbs:\n",
		cmd->name, cmd->summary);
	for (i = 0; i < cmd->nverbs; i++)
		fprintf(f, "  %-12s %s\n", cmd->verbs[i].name, cmd->verbs[i].summary);
	fprintf(f, "\nRun \"seckit %s <verb> --help\" for a verb's options; man seckit-%s for details.\n",
		cmd->name, cmd->name);
}

/* ---- --dump-spec ---- */

const char *sk_complete_name(enum sk_complete c)
{
	static const char *const n[] = { "none", "file", "dir", "key", "pwobj", "object",
					 "cert", "choice", "secret" };

	return n[c];
}

static void dump_opt(FILE *f, const char *path, enum sk_optid id, enum sk_md_use md)
{
	const struct sk_optdef *d = &sk_optdefs[id];
	const char *choices = d->type == SK_T_DIGEST ? sk_md_names(md) : d->choices;

	fprintf(f, "option\t%s\t--%s\t%c\t%s\t%s", path, d->name, d->shortname ? d->shortname : '-',
		d->type == SK_T_FLAG ? "-" : d->metavar, sk_complete_name(d->complete));
	if (choices)
		fprintf(f, "\t%s", choices);
	fprintf(f, "\n");
}

static void dump_opts(FILE *f, const char *path, const struct sk_verb *v)
{
	size_t i;

	for (i = 0; i < v->noptions; i++)
		dump_opt(f, path, v->options[i].id, v->options[i].md);
}

static void dump_verbs(FILE *f, const char *path, const struct sk_verb *v, size_t n)
{
	char sub[128];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s %s", path, v[i].name);
		fprintf(f, "verb\t%s\t%s\t%s\t%s\n", sub, sk_complete_name(v[i].complete),
			v[i].synopsis ? v[i].synopsis : "-", v[i].summary);
		if (v[i].sub)
			dump_verbs(f, sub, v[i].sub, v[i].nsub);
		else
			dump_opts(f, sub, &v[i]);
	}
}

void sk_dump_spec(FILE *f, const struct sk_command *const *cmds, size_t n)
{
	size_t i;

	for (i = 0; i < sk_nglobals; i++)
		if (!sk_globals[i].top)
			dump_opt(f, "seckit", sk_globals[i].id, SK_MD_TRUST);
	for (i = 0; i < n; i++) {
		char path[64];

		snprintf(path, sizeof(path), "seckit %s", cmds[i]->name);
		fprintf(f, "command\t%s\t%s\n", path, cmds[i]->summary);
		if (cmds[i]->direct != NULL) {
			/* "args": what a verb-less command's arguments complete to. */
			fprintf(f, "args\t%s\t%s\t%s\n", path,
				sk_complete_name(cmds[i]->direct->complete),
				cmds[i]->direct->synopsis ? cmds[i]->direct->synopsis : "-");
			dump_opts(f, path, cmds[i]->direct);
			continue;
		}
		dump_verbs(f, path, cmds[i]->verbs, cmds[i]->nverbs);
	}
}

/* ---- parsing ---- */

/* The options one getopt_long run knows: a verb's, the global ones. */
enum slot_kind { SLOT_OPT, SLOT_GLOBAL };
#define MAX_SLOTS 96

struct slots {
	struct option lo[MAX_SLOTS + 1];
	char shorts[2 * MAX_SLOTS + 3];
	enum slot_kind kind[MAX_SLOTS];
	size_t idx[MAX_SLOTS];
	char shortname[MAX_SLOTS];
	size_t n, ns;
};

static void slot_add(struct slots *s, const char *name, char shortname, int arg,
		     enum slot_kind kind, size_t idx)
{
	if (s->n >= MAX_SLOTS)
		return;
	s->lo[s->n].name = name;
	s->lo[s->n].has_arg = arg ? required_argument : no_argument;
	s->lo[s->n].flag = NULL;
	s->lo[s->n].val = 256 + (int)s->n;
	if (shortname) {
		s->shorts[s->ns++] = shortname;
		if (arg)
			s->shorts[s->ns++] = ':';
	}
	s->kind[s->n] = kind;
	s->idx[s->n] = idx;
	s->shortname[s->n] = shortname;
	s->n++;
}

static void slots_init(struct slots *s, const char *mode)
{
	memset(s, 0, sizeof(*s));
	s->ns = strlen(mode);
	memcpy(s->shorts, mode, s->ns);
}

static void slots_add_globals(struct slots *s, int top)
{
	size_t i;

	for (i = 0; i < sk_nglobals; i++) {
		const struct sk_optdef *d = &sk_optdefs[sk_globals[i].id];

		if (top || !sk_globals[i].top)
			slot_add(s, d->name, d->shortname, d->type != SK_T_FLAG, SLOT_GLOBAL, i);
	}
}

/* An unknown long option ("--sign-kye" or "--sign-kye=x"): the nearest
 * one this parse knows (the verb's and the global ones), if any is near. */
static int unknown_long(const struct slots *s, const char *arg)
{
	struct sk_near near = SK_NEAR_INIT;
	char typed[64];
	size_t k;

	snprintf(typed, sizeof(typed), "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
	for (k = 0; k < s->n; k++)
		sk_near_try(&near, typed, s->lo[k].name);
	if (near.best != NULL)
		return sk_usage_error("unknown option '%s'; did you mean '--%s'?", arg, near.best);
	return sk_usage_error("unknown option '%s'", arg);
}

/*
 * The next option of argv: its slot in *k, or -1 at the end of the
 * options (getopt_long's -1), or a usage error.  optind/optarg as getopt's.
 */
static int next_opt(struct slots *s, int argc, char **argv, size_t *k)
{
	int c;

	c = getopt_long(argc, argv, s->shorts, s->lo, NULL);
	if (c == -1)
		return -1;
	if (c == '?') {
		if (optopt)
			return sk_usage_error("unknown option '-%c'", optopt);
		return unknown_long(s, argv[optind - 1]);
	}
	if (c == ':')
		return sk_usage_error("option '%s' needs a value", argv[optind - 1]);
	if (c >= 256) {
		*k = (size_t)(c - 256);
		return SK_OK;
	}
	for (*k = 0; *k < s->n; (*k)++)
		if (s->shortname[*k] == c)
			return SK_OK;
	return sk_usage_error("unknown option '-%c'", c);
}

int sk_globals_parse(struct sk_ctx *ctx, int argc, char **argv, int *i, int top,
		     enum sk_gact *act)
{
	struct slots s;
	size_t k;
	int rc;

	*act = SK_G_NONE;
	if (*i >= argc)
		return SK_OK;
	slots_init(&s, "+:");
	slots_add_globals(&s, top);
	optind = 0; /* glibc: full re-initialisation */
	opterr = 0;
	while ((rc = next_opt(&s, argc - *i + 1, argv + *i - 1, &k)) != -1) {
		const struct sk_global *g;

		if (rc != SK_OK)
			return rc;
		g = &sk_globals[s.idx[k]];
		if (g->act >= SK_G_HELP)
			*act = g->act;
		else
			global_apply(ctx, g, optarg);
	}
	*i += optind - 1;
	return SK_OK;
}

/* The verb's options and the global ones; positional arguments may come
 * between them. */
static int parse(struct sk_ctx *ctx, const struct sk_verb *v, int argc, char **argv,
		 struct sk_args *a, int *help)
{
	struct slots s;
	size_t i, k;
	int rc;

	memset(a, 0, sizeof(*a));
	a->verb = v;
	slots_init(&s, "+:");
	for (i = 0; i < v->noptions; i++) {
		const struct sk_optdef *d = &sk_optdefs[v->options[i].id];

		slot_add(&s, d->name, d->shortname, d->type != SK_T_FLAG, SLOT_OPT, i);
	}
	slots_add_globals(&s, 0);
	/* Options may follow positional arguments (git style): parse in a
	 * loop, collecting the non-options; "--" ends option parsing. */
	optind = 0; /* glibc: full re-initialisation */
	opterr = 0;
	for (;;) {
		int before = optind ? optind : 1;

		rc = next_opt(&s, argc, argv, &k);
		if (rc == -1) {
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
		if (rc != SK_OK)
			return rc;
		switch (s.kind[k]) {
		case SLOT_OPT: {
			enum sk_optid id = v->options[s.idx[k]].id;

			a->val[id] = optarg;
			a->count[id]++;
			break;
		}
		case SLOT_GLOBAL:
			if (sk_globals[s.idx[k]].act == SK_G_HELP)
				*help = 1;
			else
				global_apply(ctx, &sk_globals[s.idx[k]], optarg);
			break;
		}
	}
	return SK_OK;
}

static const struct sk_verb *find_verb(const struct sk_verb *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static int unknown_verb(const struct sk_verb *verbs, size_t n, const char *name)
{
	struct sk_near near = SK_NEAR_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		sk_near_try(&near, name, verbs[i].name);
	if (near.best)
		return sk_usage_error("unknown verb '%s'; did you mean '%s'?", name, near.best);
	return sk_usage_error("unknown verb '%s'", name);
}

/* '-' is standard input for every FILE a verb reads, so only one of them
 * can be '-'. */
static int one_stdin(const struct sk_verb *v, const struct sk_args *a)
{
	const char *first = NULL;
	size_t k;
	int n = 0, i;

	for (k = 0; k < v->noptions; k++) {
		enum sk_optid id = v->options[k].id;

		if (sk_optdefs[id].complete != SK_C_FILE || id == OPT_out || v->options[k].output ||
		    a->val[id] == NULL || strcmp(a->val[id], "-") != 0)
			continue;
		if (n++ == 0)
			first = sk_optdefs[id].name;
		else
			return sk_usage_error("--%s and --%s both read standard input ('-'): give a file for one",
					      first, sk_optdefs[id].name);
	}
	for (i = 0; v->complete == SK_C_FILE && i < a->npos; i++)
		if (strcmp(a->pos[i], "-") == 0 && n++ > 0)
			return first ? sk_usage_error("--%s and the argument '-' both read standard input: give a file for one",
						      first)
				     : sk_usage_error("two arguments '-' read standard input: give a file for one");
	return SK_OK;
}

int sk_command_run(struct sk_ctx *ctx, const struct sk_command *cmd, int argc, char **argv)
{
	const struct sk_verb *verbs = cmd->verbs, *v = NULL;
	size_t nverbs = cmd->nverbs;
	const char *bname;
	enum sk_gact act;
	char path[128];
	struct sk_args a;
	int help = 0, rc, i = 1;

	snprintf(path, sizeof(path), "seckit %s", cmd->name);
	sk_set_prog(path);
	if (cmd->direct != NULL) {
		v = cmd->direct;
		/* A command that takes no argument (doctor) runs without one. */
		if (argc < 2 && v->min_pos > 0) {
			help_verb(stderr, path, v);
			sk_json_error(SK_EUSAGE, "missing argument");
			return SK_EUSAGE;
		}
	}
	while (v == NULL || v->sub != NULL) {
		/* Global options may also sit between command and verb. */
		if ((rc = sk_globals_parse(ctx, argc, argv, &i, 0, &act)) != SK_OK)
			return sk_report(rc);
		if (act == SK_G_HELP || (i < argc && strcmp(argv[i], "help") == 0)) {
			sk_json_help_printed();
			if (v != NULL)
				help_verb(stdout, path, v);
			else
				sk_help_command(stdout, cmd);
			return SK_OK;
		}
		if (i >= argc) {
			if (v != NULL)
				help_verb(stderr, path, v);
			else
				sk_help_command(stderr, cmd);
			sk_json_error(SK_EUSAGE, "missing verb");
			return SK_EUSAGE;
		}
		v = find_verb(verbs, nverbs, argv[i]);
		if (v == NULL)
			return sk_report(unknown_verb(verbs, nverbs, argv[i]));
		snprintf(path + strlen(path), sizeof(path) - strlen(path), " %s", v->name);
		sk_set_prog(path);
		i++;
		verbs = v->sub;
		nverbs = v->nsub;
	}
	if ((rc = parse(ctx, v, argc - i + 1, argv + i - 1, &a, &help)) != SK_OK)
		return sk_report(rc);
	if (help) {
		help_verb(stdout, path, v);
		sk_json_help_printed();
		return SK_OK;
	}
	if (a.npos < v->min_pos)
		return sk_report(sk_usage_error("missing argument%s%s", v->synopsis ? ": " : "",
						v->synopsis ? v->synopsis : ""));
	if (v->max_pos >= 0 && a.npos > v->max_pos)
		return sk_report(sk_usage_error("unexpected argument '%s'", a.pos[v->max_pos]));
	sk_warn_setup(path, ctx->quiet);
	if ((rc = check_values(v, &a)) != SK_OK || (rc = one_stdin(v, &a)) != SK_OK)
		return sk_report(rc);
	/* The backend's name is checked for every verb, also those that
	 * never open the backend: a misspelt name is never ignored. */
	if ((rc = sk_ctx_backend_name(ctx, &bname)) != SK_OK)
		return sk_report(rc);
	sk_err_clear();
	/* --json: stdout carries the report, data goes to files. */
	sk_out_reserve_stdout(ctx->json);
	return sk_report(v->run(ctx, &a));
}
