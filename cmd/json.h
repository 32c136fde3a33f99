/* SPDX-License-Identifier: MIT */
#ifndef SK_JSON_H
#define SK_JSON_H

#include <stdint.h>
#include <stdio.h>

/* A JSON writer: one document per call on stdout (docs/json.md).  The
 * document is built in memory; sk_json_done hands it to the run, and
 * sk_json_finish (main, at the end of a --json call) prints it with the
 * shared "ok" and "error" fields in front -- or prints only those when
 * the verb made no document -- so that every call prints exactly one
 * object, success or failure, and a command that fails half-way prints
 * no broken JSON (sk_json_discard drops it). */
struct sk_json {
	FILE *f;        /* where the writer writes: the memory stream */
	FILE *out;      /* where sk_json_done puts the document */
	int depth;
	int need_comma[32];
	int after_key;
};

void sk_json_init(struct sk_json *j, FILE *f);
void sk_json_obj(struct sk_json *j);
void sk_json_end_obj(struct sk_json *j);
void sk_json_arr(struct sk_json *j);
void sk_json_end_arr(struct sk_json *j);
void sk_json_key(struct sk_json *j, const char *k);
void sk_json_str(struct sk_json *j, const char *s);
void sk_json_int(struct sk_json *j, int64_t v);
void sk_json_uint(struct sk_json *j, uint64_t v);
void sk_json_bool(struct sk_json *j, int v);
void sk_json_null(struct sk_json *j);
/* key + value shorthands; a NULL string is written as null. */
void sk_json_kstr(struct sk_json *j, const char *k, const char *v);
void sk_json_kint(struct sk_json *j, const char *k, int64_t v);
void sk_json_kuint(struct sk_json *j, const char *k, uint64_t v);
void sk_json_kbool(struct sk_json *j, const char *k, int v);
/* Seconds since the epoch as an RFC 3339 UTC string. */
void sk_json_ktime(struct sk_json *j, const char *k, int64_t t);
/* End the document: it is the call's report, printed by sk_json_finish. */
void sk_json_done(struct sk_json *j);
/* Drop a document begun and never done (main calls it before exiting). */
void sk_json_discard(void);
/* The error of a failed call, for its "error" field (sk_report records
 * every error it prints; the last one is the call's). */
void sk_json_error(int rc, const char *msg);
/* This call printed help text, not a report: sk_json_finish prints
 * nothing (--help, help and --dump-spec stay text under --json). */
void sk_json_help_printed(void);
/* End a --json call whose exit status is rc: print the report on f. */
void sk_json_finish(FILE *f, int rc);
/* The "code" of the "error" object for an exit status ("not_found" ...). */
const char *sk_json_error_code(int rc);
/* {"key": NAME|null, "fingerprint": HEX|null}: who signed (shared shape
 * of "signer"; an empty string is null). */
void sk_json_signer(struct sk_json *j, const char *key, const char *fingerprint);
/* A listing: {"KEY": [ ... ]} on f, the elements written in between. */
void sk_json_list_begin(struct sk_json *j, FILE *f, const char *key);
void sk_json_list_end(struct sk_json *j);

#endif
