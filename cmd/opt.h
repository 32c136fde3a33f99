/* SPDX-License-Identifier: MIT */
#ifndef SK_OPT_H
#define SK_OPT_H

#include <stdio.h>

#include "../src/ctx.h"

/*
 * Options are declared in tables; each entry carries its help text, and
 * usage, `--help`, `seckit --dump-spec` (which the completion scripts and
 * the documentation tests are built from) all come from the same tables.
 */

enum sk_optarg { SK_NOARG, SK_ARG };

/* What a value is, for completion. */
enum sk_complete {
	SK_C_NONE,
	SK_C_FILE,
	SK_C_DIR,
	SK_C_KEY,      /* a key name in the store */
	SK_C_PWOBJ,    /* a password object name */
	SK_C_OBJECT,   /* a store object name */
	SK_C_CERT,     /* a certificate name */
	SK_C_CHOICE,   /* one of choices */
};

struct sk_opt {
	const char *name;      /* long name without "--" */
	char shortname;        /* 0: none */
	enum sk_optarg arg;
	const char *metavar;   /* "FILE", "SPEC" ... */
	const char *help;
	enum sk_complete complete;
	const char *choices;   /* space-separated, for SK_C_CHOICE */
};
#define SK_OPT_END { NULL, 0, SK_NOARG, NULL, NULL, SK_C_NONE, NULL }

#define SK_MAX_OPTS 48
#define SK_MAX_POS 64

struct sk_args {
	const struct sk_opt *opts[SK_MAX_OPTS]; /* the tables in effect */
	const char *val[SK_MAX_OPTS];
	int count[SK_MAX_OPTS];
	size_t nopts;
	char *pos[SK_MAX_POS];
	int npos;
};

/* Value of an option (last one given) or NULL; flag count. */
const char *sk_arg_str(const struct sk_args *a, const char *name);
int sk_arg_flag(const struct sk_args *a, const char *name);
/* The digest name of --digest, else the config's default digest, else
 * sha256 (each command then applies its own policy to it). */
int sk_arg_digest(struct sk_ctx *ctx, const struct sk_args *a, const char **name);

struct sk_verb;
typedef int (*sk_verb_fn)(struct sk_ctx *ctx, const struct sk_args *a);

struct sk_verb {
	const char *name;
	sk_verb_fn run;               /* NULL for a group of sub-verbs */
	const char *synopsis;         /* positional arguments, e.g. "NAME" */
	int min_pos, max_pos;         /* max_pos -1: unlimited */
	const struct sk_opt *opts;    /* SK_OPT_END-terminated, may be NULL */
	const char *summary;
	const struct sk_verb *sub;    /* sub-verbs (NULL-name terminated) */
	enum sk_complete pos_complete; /* what the positional arguments are */
};

struct sk_command {
	const char *name;
	const char *summary;
	const struct sk_verb *verbs;  /* NULL-name terminated */
	/* A command without verbs (`seckit provision MANIFEST`): verbs is NULL
	 * and this one verb takes the arguments (its name is unused). */
	const struct sk_verb *direct;
};

/* Options every command accepts, before or after the command name. */
extern const struct sk_opt sk_global_opts[];

/*
 * Run a command: find the verb in argv (argv[0] is the command name),
 * parse its options, handle --help, check the positional count, run it.
 * Usage errors print one line and return SK_EUSAGE.
 */
int sk_command_run(struct sk_ctx *ctx, const struct sk_command *cmd, int argc, char **argv);

/* Help output (stdout). */
void sk_help_command(FILE *f, const struct sk_command *cmd);
/* One line per command/verb/option for completion generators. */
void sk_dump_spec(FILE *f, const struct sk_command *const *cmds, size_t n);

/* Apply a global option to ctx; returns 1 if name was a global option. */
int sk_global_apply(struct sk_ctx *ctx, const char *name, const char *val);

/* "seckit key sign" prefix for messages, set by sk_command_run. */
const char *sk_prog(void);
void sk_set_prog(const char *p);
/* Print a usage error "seckit CMD: msg (see "seckit CMD --help")". */
int sk_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
