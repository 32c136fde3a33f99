/* SPDX-License-Identifier: MIT */
/*
 * The one list of commands, in the order `seckit help` shows them.  It
 * feeds dispatch (cmd/main.c), help, `--dump-spec` (and through it the
 * completion scripts and documentation tests) and the seckit-<command>
 * links that `make install` creates (the Makefile reads this file).
 * A command is one file cmd/<name>.c defining `sk_cmd_<ident>`, plus one
 * line here: SK_COMMAND(ident, "name").
 */
SK_COMMAND(key, "key")
SK_COMMAND(cert, "cert")
SK_COMMAND(payload, "payload")
SK_COMMAND(stp, "stp")
SK_COMMAND(opaque_key, "opaque-key")
SK_COMMAND(oo, "oo")
SK_COMMAND(provision, "provision")
SK_COMMAND(store, "store")
SK_COMMAND(measure, "measure")
SK_COMMAND(doctor, "doctor")
SK_COMMAND(tls, "tls")
