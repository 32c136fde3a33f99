/* SPDX-License-Identifier: MIT */
#ifndef SK_OPT_H
#define SK_OPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/evp.h>

#include "crypto/crypto.h"
#include "ctx/ctx.h"
#include "base/util.h"

/*
 * Options are declared in tables; each entry carries its help text, and
 * usage, `--help`, `seckit --dump-spec` (which the completion scripts and
 * the documentation tests are built from) all come from the same tables.
 *
 * Every option the program knows is one line of cmd/options.h, which
 * gives it an identifier (OPT_in, OPT_pass ...), its spelling, metavar,
 * completion and the kind of value it takes.  A verb lists the
 * identifiers it accepts (struct sk_verbopt) and reads the values back by
 * identifier: sk_opt_str(a, OPT_pass).  Values are checked before the
 * verb runs (choices, numbers, times, digests), so a verb gets them ready.
 */

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
	SK_C_SECRET,   /* a secret SPEC: choices are its forms (SK_SECRET_FORMS) */
};

/* What an option takes (cmd/options.h explains each). */
enum sk_opttype { SK_T_FLAG, SK_T_STR, SK_T_CHOICE, SK_T_UINT, SK_T_TIME, SK_T_DIGEST };

enum sk_optid {
#define SK_OPTION(id, ...) OPT_##id,
#include "options.h"
#undef SK_OPTION
	OPT__COUNT
};

/* An option as cmd/options.h defines it (sk_optdefs[OPT_x]). */
struct sk_optdef {
	const char *name;          /* long name without "--" */
	char shortname;            /* 0: none */
	enum sk_opttype type;
	const char *metavar;       /* "FILE", "SPEC" ...; NULL for flags */
	enum sk_complete complete;
	const char *choices;       /* space-separated words, for SK_C_CHOICE */
	const char *what;          /* SK_T_CHOICE: the noun of "unknown what 'x'" */
	uint64_t min, max;         /* SK_T_UINT */
};
extern const struct sk_optdef sk_optdefs[OPT__COUNT];

/* An option as a verb takes it. */
struct sk_verbopt {
	enum sk_optid id;
	const char *help;
	unsigned required : 1;  /* a usage error when absent */
	unsigned output : 1;    /* a FILE this verb writes (--out always is) */
	enum sk_md_use md;      /* SK_T_DIGEST: what the digest is for (0: SK_MD_TRUST) */
};

#define SK_MAX_POS 64

/* The parsed command line of one verb. */
struct sk_args {
	const struct sk_verb *verb;
	const char *val[OPT__COUNT];   /* last value given, NULL if none */
	int count[OPT__COUNT];         /* times given */
	union {
		uint64_t u;            /* SK_T_UINT */
		int64_t t;             /* SK_T_TIME */
		const EVP_MD *md;      /* SK_T_DIGEST */
	} v[OPT__COUNT];
	char *pos[SK_MAX_POS];
	int npos;
};

/* The value of an option (the last one given), or NULL. */
const char *sk_opt_str(const struct sk_args *a, enum sk_optid id);
/* How often a flag (or any option) was given. */
int sk_opt_flag(const struct sk_args *a, enum sk_optid id);
/* SK_T_UINT and SK_T_TIME values: 1 and *v set if given, else 0. */
int sk_opt_uint(const struct sk_args *a, enum sk_optid id, uint64_t *v);
int sk_opt_time(const struct sk_args *a, enum sk_optid id, int64_t *t);
/* An SK_T_DIGEST option: the digest given, else the config's default
 * digest (defaults.digest) or sha256 -- sha256 alone for key digest's
 * --alg, which hashes rather than signs -- each under the verb's policy. */
int sk_opt_md(struct sk_ctx *ctx, const struct sk_args *a, enum sk_optid id, const EVP_MD **md);
/*
 * Where a verb whose output is data writes it: --out FILE, or stdout
 * ("-") when --out is not given.  Data that is binary or secret (a
 * signature, DER, a private key, a derived secret, plaintext) is refused
 * with a usage error when it would land on a terminal; text (PEM, hex)
 * may.  *path is the path for sk_out_open / sk_write_file.
 */
enum sk_outkind { SK_OUT_TEXT, SK_OUT_BINARY };
int sk_opt_out(const struct sk_args *a, enum sk_outkind kind, const char **path);
/* A usage error "--NAME is required" unless the option was given (for
 * options that are required only with others; always required ones say
 * so in the verb's table). */
/* The signing key of an off-device maker (seckit(1) SIGNING KEYS):
 * --sign-key FILE (or seckit:NAME) or --key NAME, exactly one (a verb whose
 * --key is something else takes only --sign-key); pass_opt the option of
 * its secret; md (NULL: sha256) and --pss checked against the key. */
struct sk_signer;
int sk_opt_signer(struct sk_ctx *ctx, const struct sk_args *a, enum sk_optid pass_opt,
		  const EVP_MD *md, struct sk_signer *s);
int sk_opt_need(const struct sk_args *a, enum sk_optid id);

struct sk_verb;
typedef int (*sk_verb_fn)(struct sk_ctx *ctx, const struct sk_args *a);

struct sk_verb {
	const char *name;
	sk_verb_fn run;                   /* NULL for a group of sub-verbs */
	const char *summary;
	const char *synopsis;             /* positional arguments, e.g. "NAME" */
	int min_pos, max_pos;             /* how many of them (max -1: no limit): SK_POS */
	enum sk_complete complete;        /* what the positional arguments are */
	const struct sk_verbopt *options; /* the options it takes: SK_OPTIONS */
	size_t noptions;
	const struct sk_verb *sub;        /* a group's verbs: SK_SUBVERBS */
	size_t nsub;
};

/*
 * A verb row: SK_VERB("sign", key_sign, "sign a file's digest",
 *	.synopsis = "NAME", SK_POS(1, 1), SK_OPTIONS(sign_opts),
 *	.complete = SK_C_KEY)
 * Tables are counted (SK_ARRAY_SIZE): no terminator row.
 */
#define SK_VERB(n, fn, sum, ...) { .name = (n), .run = (fn), .summary = (sum), __VA_ARGS__ }
#define SK_POS(lo, hi) .min_pos = (lo), .max_pos = (hi)
#define SK_OPTIONS(t) .options = (t), .noptions = SK_ARRAY_SIZE(t)
#define SK_SUBVERBS(t) .sub = (t), .nsub = SK_ARRAY_SIZE(t)
#define SK_VERBS(t) .verbs = (t), .nverbs = SK_ARRAY_SIZE(t)

struct sk_command {
	const char *name;
	const char *summary;
	const struct sk_verb *verbs;  /* SK_VERBS */
	/* A command without verbs (`seckit provision MANIFEST`): verbs is NULL
	 * and this one verb takes the arguments (its name is unused). */
	const struct sk_verb *direct;
	size_t nverbs;
};

/*
 * The global options: one table, which the dispatcher (cmd/main.c), the
 * verb parser, usage, help and --dump-spec all read.  Each sets a field
 * of struct sk_ctx, or is an action (help, version, dump-spec).  A new
 * global option is one row here and one line in cmd/options.h.
 */
enum sk_gact {
	SK_G_NONE,
	SK_G_STR,      /* const char * field = the value */
	SK_G_SET,      /* int field = 1 */
	SK_G_INC,      /* int field += 1 */
	SK_G_HELP,
	SK_G_VERSION,
	SK_G_DUMP,
};
struct sk_global {
	enum sk_optid id;
	const char *help;
	enum sk_gact act;
	size_t off;    /* SK_G_STR, SK_G_SET, SK_G_INC: offsetof(struct sk_ctx, field) */
	int top;       /* only before the command (--version, --dump-spec) */
};
extern const struct sk_global sk_globals[];
extern const size_t sk_nglobals;

/*
 * Global options from argv[*i] on, up to the first argument that is not
 * one (the command, or the verb): applied to ctx, *i moved past them.
 * top: before the command, where --version and --dump-spec are accepted.
 * *act is the last action asked for (SK_G_HELP ...), else SK_G_NONE.
 * A usage error is returned, not reported (see sk_report).
 */
int sk_globals_parse(struct sk_ctx *ctx, int argc, char **argv, int *i, int top,
		     enum sk_gact *act);

/*
 * Run a command: find the verb in argv (argv[0] is the command name),
 * parse its options, handle --help, check the positional count and the
 * option values, run it.  Usage errors print one line and return SK_EUSAGE.
 */
int sk_command_run(struct sk_ctx *ctx, const struct sk_command *cmd, int argc, char **argv);

/* Help output (stdout): the global options, a command. */
void sk_help_globals(FILE *f, int top);
void sk_help_command(FILE *f, const struct sk_command *cmd);
/* One line per command/verb/option for completion generators. */
void sk_dump_spec(FILE *f, const struct sk_command *const *cmds, size_t n);
/* The word --dump-spec uses for a completion kind ("key", "file" ...). */
const char *sk_complete_name(enum sk_complete c);
/* `seckit [global options] __complete KIND [PREFIX]` (cmd/complete.c):
 * argv[0] is "__complete". */
int sk_complete_names(struct sk_ctx *ctx, int argc, char **argv);

/*
 * "did you mean ...?": the candidate nearest to what was typed, at an edit
 * distance of 1 or 2 (commands, verbs, options alike):
 *	struct sk_near n = SK_NEAR_INIT;
 *	for (...) sk_near_try(&n, typed, candidate);
 *	if (n.best) ... "did you mean '%s'?", n.best
 */
struct sk_near {
	const char *best;
	size_t d;
};
#define SK_NEAR_INIT { NULL, 3 }
void sk_near_try(struct sk_near *n, const char *typed, const char *candidate);

/* "seckit key sign" prefix for messages, set by sk_command_run. */
const char *sk_prog(void);
void sk_set_prog(const char *p);
/* Print a usage error "seckit CMD: msg (see "seckit CMD --help")". */
int sk_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the error of a failed rc as "PROG: MESSAGE" (the one reporter). */
int sk_report(int rc);
/* After SK_ENOTFOUND for the key of a role (oo.h's `missing`): add to the
 * library's message which option names another key. */
void sk_role_hint(enum sk_role missing);

#endif
