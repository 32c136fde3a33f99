/* SPDX-License-Identifier: MIT */
/*
 * seckit: one binary, many commands.  This file dispatches: global
 * options, `seckit COMMAND`, the seckit-COMMAND links (argv[0]), help and
 * version.  It is also the only place that turns a result into an exit
 * status, after making sure everything written to stdout really arrived.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "base/util.h"
#include "device.h"
#include "json.h"
#include "opt.h"

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
	size_t i;

	fprintf(f, "usage: seckit [global options] <command> [<verb>] [options] [arguments]\n"
		   "       seckit --version | --help | help [<command> [<verb>]]\n\n"
		   "Device security toolbox: keys, certificates, signed and encrypted packages,\n"
		   "secure storage, on a file store, a TPM or a PKCS#11 token.\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\nglobal options:\n");
	sk_help_globals(f, 1);
	fprintf(f, "\nRun \"seckit <command> --help\" for its verbs; man seckit for exit codes,\n"
		   "environment and files.\n");
}

static int unknown_command(const char *name)
{
	struct sk_near near = SK_NEAR_INIT;
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		sk_near_try(&near, name, commands[i]->name);
	sk_set_prog("seckit");
	if (near.best != NULL)
		return sk_report(sk_usage_error("unknown command '%s'; did you mean '%s'?", name,
						near.best));
	return sk_report(sk_usage_error("unknown command '%s'", name));
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
		sk_json_help_printed();
		return SK_OK;
	}
	if ((c = find_command(argv[1])) == NULL)
		return unknown_command(argv[1]);
	sk_json_help_printed();
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
	const char *base = strrchr(argv[0], '/');
	const struct sk_command *cmd;
	enum sk_gact act;
	struct sk_ctx ctx;
	int i = 1, rc;

	base = base ? base + 1 : argv[0];
	sk_ctx_init(&ctx);
	/* seckit-key ... behaves as seckit key ... */
	if (strncmp(base, "seckit-", 7) == 0) {
		if ((cmd = find_command(base + 7)) == NULL) {
			rc = unknown_command(base + 7);
			goto out;
		}
		argv[0] = (char *)cmd->name;
		rc = sk_command_run(&ctx, cmd, argc, argv);
		goto out;
	}
	if ((rc = sk_globals_parse(&ctx, argc, argv, &i, 1, &act)) != SK_OK) {
		rc = sk_report(rc);
		goto out;
	}
	switch (act) {
	case SK_G_HELP:
		usage(stdout);
		sk_json_help_printed();
		goto out;
	case SK_G_VERSION:
		rc = sk_report(sk_version(&ctx));
		goto out;
	case SK_G_DUMP:
		sk_dump_spec(stdout, commands, NCOMMANDS);
		sk_json_help_printed();
		goto out;
	default:
		break;
	}
	if (i >= argc) {
		usage(stderr);
		rc = sk_usage_error("missing command");
		sk_json_error(rc, sk_err_msg());
		goto out;
	}
	if (strcmp(argv[i], "help") == 0) {
		rc = run_help(argc - i, argv + i);
		goto out;
	}
	/* The completion scripts' names (cmd/complete.c): hidden. */
	if (strcmp(argv[i], "__complete") == 0) {
		rc = sk_complete_names(&ctx, argc - i, argv + i);
		goto out;
	}
	if ((cmd = find_command(argv[i])) == NULL) {
		rc = unknown_command(argv[i]);
		goto out;
	}
	rc = sk_command_run(&ctx, cmd, argc - i, argv + i);
out:
	/* --json: one document for every call, whatever happened above
	 * (docs/json.md). */
	if (ctx.json)
		sk_json_finish(stdout, rc);
	sk_ctx_free(&ctx);
	return rc;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 1 || argv[0] == NULL)
		return SK_EUSAGE;
	/* No core file, and no ptrace or /proc/PID/mem reader without
	 * CAP_SYS_PTRACE: almost every command holds a private key, the
	 * store's master key or a password at some point, and deciding per
	 * command would miss one.  It costs one system call.  (Root can still
	 * attach; the secure heap, see sk_crypto_init, keeps the secrets out
	 * of what gcore writes even then.)  Exec would make a child dumpable
	 * again; seckit runs no programs. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	sk_crypto_init();
	rc = dispatch(argc, argv);
	sk_json_discard();
	return finish_stdout(rc);
}
