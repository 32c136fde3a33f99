/* SPDX-License-Identifier: MIT */
/*
 * seckit: one binary, many commands.  This file dispatches: global
 * options, `seckit COMMAND`, the seckit-COMMAND links (argv[0]), help and
 * version.  It is also the only place that turns a result into an exit
 * status, after making sure everything written to stdout really arrived.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/opensslv.h>
#include <yaml.h>

#include "../src/crypto.h"
#include "../src/err.h"
#include "../src/util.h"
#include "json.h"
#include "opt.h"

#ifndef SECKIT_VERSION
#define SECKIT_VERSION "0.0.0-dev"
#endif

#define SK_COMMAND(ident, name) extern const struct sk_command sk_cmd_##ident;
#include "commands.h"
#undef SK_COMMAND

static const struct sk_command *const commands[] = {
#define SK_COMMAND(ident, name) &sk_cmd_##ident,
#include "commands.h"
#undef SK_COMMAND
};
#define NCOMMANDS SK_ARRAY_SIZE(commands)

static const struct sk_command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static void usage(FILE *f)
{
	const struct sk_opt *o;
	size_t i;

	fprintf(f, "usage: seckit [global options] <command> [<verb>] [options] [arguments]\n"
		   "       seckit --version | --help | help [<command> [<verb>]]\n\n"
		   "Device security toolbox: keys, certificates, signed and encrypted packages,\n"
		   "secure storage, on a file store, a TPM or a PKCS#11 token.\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\nglobal options:\n");
	for (o = sk_global_opts; o->name; o++) {
		char left[48];

		snprintf(left, sizeof(left), "%s%c%s--%s%s%s", o->shortname ? "-" : "  ",
			 o->shortname ? o->shortname : ' ', o->shortname ? ", " : "  ", o->name,
			 o->arg ? " " : "", o->arg ? o->metavar : "");
		fprintf(f, "  %-26s %s\n", left, o->help);
	}
	fprintf(f, "      --version              print version and build features\n"
		   "\nRun \"seckit <command> --help\" for its verbs; man seckit for exit codes,\n"
		   "environment and files.\n");
}

static void version(void)
{
	const struct sk_backend_entry *e;

	printf("seckit %s\n", SECKIT_VERSION);
	printf("openssl: %s\n", OPENSSL_FULL_VERSION_STR);
	printf("libyaml: %s\n", yaml_get_version_string());
	for (e = sk_backend_table; e->name != NULL; e++)
		printf("backend %s: %s\n", e->name, e->ops != NULL ? "yes" : "no (not in this build)");
}

static int unknown_command(const char *name)
{
	const struct sk_command *best = NULL;
	size_t i, bestd = 3;

	for (i = 0; i < NCOMMANDS; i++) {
		size_t d = sk_edit_distance(name, commands[i]->name);

		if (d < bestd) {
			bestd = d;
			best = commands[i];
		}
	}
	if (best != NULL)
		fprintf(stderr, "seckit: unknown command '%s'; did you mean '%s'? (see \"seckit --help\")\n",
			name, best->name);
	else
		fprintf(stderr, "seckit: unknown command '%s' (see \"seckit --help\")\n", name);
	return SK_EUSAGE;
}

/* stdout must really have been written: a full disk or a closed pipe is
 * a failure, not silence (git does the same after every command). */
static int finish_stdout(int rc)
{
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
		/* A failed command has said why already: one error line. */
		if (errno != EPIPE && rc == SK_OK)
			fprintf(stderr, "%s: writing standard output: %s\n", sk_prog(),
				errno ? strerror(errno) : "write error");
		return rc ? rc : SK_EFAIL;
	}
	return rc;
}

static int run_help(int argc, char **argv)
{
	const struct sk_command *c;
	char *args[4];
	int n = 0;

	if (argc < 2) {
		usage(stdout);
		return SK_OK;
	}
	if ((c = find_command(argv[1])) == NULL)
		return unknown_command(argv[1]);
	args[n++] = argv[1];
	if (argc > 2)
		args[n++] = argv[2];
	if (argc > 3)
		args[n++] = argv[3];
	args[n++] = "--help";
	{
		struct sk_ctx ctx;
		int rc;

		sk_ctx_init(&ctx);
		rc = sk_command_run(&ctx, c, n, args);
		sk_ctx_free(&ctx);
		return rc;
	}
}

static int dispatch(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "store", required_argument, NULL, 'S' },
		{ "backend", required_argument, NULL, 'B' },
		{ "json", no_argument, NULL, 'J' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "dump-spec", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	const char *base = strrchr(argv[0], '/');
	const struct sk_command *cmd;
	struct sk_ctx ctx;
	int c, rc;

	base = base ? base + 1 : argv[0];
	sk_ctx_init(&ctx);
	/* seckit-key ... behaves as seckit key ... */
	if (strncmp(base, "seckit-", 7) == 0) {
		if ((cmd = find_command(base + 7)) == NULL) {
			sk_ctx_free(&ctx);
			return unknown_command(base + 7);
		}
		argv[0] = (char *)cmd->name;
		rc = sk_command_run(&ctx, cmd, argc, argv);
		goto out;
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:qvh", lo, NULL)) != -1) {
		switch (c) {
		case 'C': ctx.opt_config = optarg; break;
		case 'S': ctx.opt_store = optarg; break;
		case 'B': ctx.opt_backend = optarg; break;
		case 'J': ctx.json = 1; break;
		case 'q': ctx.quiet = 1; break;
		case 'v': ctx.verbose++; break;
		case 'h':
			usage(stdout);
			rc = SK_OK;
			goto out;
		case 'V':
			version();
			rc = SK_OK;
			goto out;
		case 'D':
			sk_dump_spec(stdout, commands, NCOMMANDS);
			rc = SK_OK;
			goto out;
		case ':':
			fprintf(stderr, "seckit: option '%s' needs a value (see \"seckit --help\")\n",
				argv[optind - 1]);
			rc = SK_EUSAGE;
			goto out;
		default:
			fprintf(stderr, "seckit: unknown option '%s' (see \"seckit --help\")\n",
				argv[optind - 1]);
			rc = SK_EUSAGE;
			goto out;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		rc = SK_EUSAGE;
		goto out;
	}
	if (strcmp(argv[optind], "help") == 0) {
		rc = run_help(argc - optind, argv + optind);
		goto out;
	}
	if ((cmd = find_command(argv[optind])) == NULL) {
		rc = unknown_command(argv[optind]);
		goto out;
	}
	rc = sk_command_run(&ctx, cmd, argc - optind, argv + optind);
out:
	sk_ctx_free(&ctx);
	return rc;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 1 || argv[0] == NULL)
		return SK_EUSAGE;
	sk_crypto_init();
	rc = dispatch(argc, argv);
	sk_json_discard();
	return finish_stdout(rc);
}
