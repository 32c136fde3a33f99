/* SPDX-License-Identifier: MIT */
/*
 * `seckit [global options] __complete KIND [PREFIX]`: the names in the
 * store that a TAB completes, for the completion scripts (hidden: not a
 * command of cmd/commands.h, not in help or the man pages).  KIND is one
 * of --dump-spec's completion kinds that name store objects (key, pwobj,
 * object, cert).  A TAB must cost one process start and one read of the
 * store's index: this opens the store as every command does (honouring
 * --store, --config, SECKIT_STORE ...) and prints the names of the
 * namespace, and nothing more -- no backend is opened, no key decoded, no
 * certificate parsed, which `key list --names` and `cert list --names` do
 * to check what they list.  A sealed master key is still unsealed: the
 * names are encrypted under it.
 */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/util.h"
#include "store/store.h"
#include "opt.h"

static const struct {
	enum sk_complete kind;
	int ns;
} kinds[] = {
	{ SK_C_KEY, SK_NS_KEY },
	{ SK_C_PWOBJ, SK_NS_PASSWORD },
	{ SK_C_OBJECT, SK_NS_DATA },
	{ SK_C_CERT, SK_NS_CERT },
};

static int print_name(const struct sk_obj_info *o, void *arg)
{
	const char *prefix = arg;

	if (strncmp(o->name, prefix, strlen(prefix)) == 0)
		printf("%s\n", o->name);
	return 0;
}

int sk_complete_names(struct sk_ctx *ctx, int argc, char **argv)
{
	struct sk_store *st;
	size_t i;
	int rc;

	sk_set_prog("seckit __complete");
	if (argc < 2 || argc > 3)
		return sk_report(sk_usage_error("usage: seckit __complete KIND [PREFIX]"));
	for (i = 0; i < SK_ARRAY_SIZE(kinds); i++)
		if (strcmp(argv[1], sk_complete_name(kinds[i].kind)) == 0)
			break;
	if (i == SK_ARRAY_SIZE(kinds))
		return sk_report(sk_usage_error("unknown kind '%s'", argv[1]));
	if ((rc = sk_ctx_store(ctx, 0, &st)) != SK_OK)
		return sk_report(rc);
	return sk_report(sk_store_list(st, kinds[i].ns, print_name, argc > 2 ? argv[2] : ""));
}
