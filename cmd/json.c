/* SPDX-License-Identifier: MIT */
#include "json.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "base/err.h"
#include "base/util.h"

/* The document being built (one at a time; there is one per command). */
static struct {
	FILE *f;
	char *buf;
	size_t len;
} doc;

/* The call's report: the finished document and the error, for
 * sk_json_finish. */
static struct {
	char *doc;          /* "{...}\n", or NULL: the verb made none */
	int direct;         /* no memory: the document went straight out */
	int help;           /* help text was printed instead */
	int rc;
	char msg[1024];
} report;

void sk_json_discard(void)
{
	if (doc.f != NULL)
		fclose(doc.f);
	/* A document may hold what the user asked for in secret (key random). */
	if (doc.buf != NULL)
		OPENSSL_cleanse(doc.buf, doc.len);
	free(doc.buf);
	memset(&doc, 0, sizeof(doc));
}

void sk_json_init(struct sk_json *j, FILE *f)
{
	sk_json_discard();
	doc.f = open_memstream(&doc.buf, &doc.len);
	/* Without memory for the buffer, write straight through. */
	j->f = doc.f != NULL ? doc.f : f;
	j->out = f;
	j->depth = 0;
	j->need_comma[0] = 0;
	j->after_key = 0;
}

static void pre(struct sk_json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = 1;
}

static void open_(struct sk_json *j, char c)
{
	pre(j);
	fputc(c, j->f);
	if (j->depth < 31)
		j->depth++;
	j->need_comma[j->depth] = 0;
}

static void close_(struct sk_json *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	fputc(c, j->f);
}

void sk_json_obj(struct sk_json *j) { open_(j, '{'); }
void sk_json_end_obj(struct sk_json *j) { close_(j, '}'); }
void sk_json_arr(struct sk_json *j) { open_(j, '['); }
void sk_json_end_arr(struct sk_json *j) { close_(j, ']'); }

/* Length of the valid UTF-8 sequence at s (2 to 4), or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string.  File names and messages may hold any bytes: bytes that
 * are not UTF-8 become U+FFFD so that the document stays valid JSON. */
static void raw_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		size_t n;

		if (c >= 0x80) {
			if ((n = utf8_len((const unsigned char *)s)) == 0) {
				fputs("\\ufffd", f);
			} else {
				fwrite(s, 1, n, f);
				s += n - 1;
			}
			continue;
		}
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

void sk_json_key(struct sk_json *j, const char *k)
{
	pre(j);
	raw_str(j->f, k);
	fputc(':', j->f);
	j->after_key = 1;
}

void sk_json_str(struct sk_json *j, const char *s)
{
	pre(j);
	if (s == NULL)
		fputs("null", j->f);
	else
		raw_str(j->f, s);
}

void sk_json_int(struct sk_json *j, int64_t v)
{
	pre(j);
	fprintf(j->f, "%" PRId64, v);
}

void sk_json_uint(struct sk_json *j, uint64_t v)
{
	pre(j);
	fprintf(j->f, "%" PRIu64, v);
}

void sk_json_bool(struct sk_json *j, int v)
{
	pre(j);
	fputs(v ? "true" : "false", j->f);
}

void sk_json_null(struct sk_json *j)
{
	pre(j);
	fputs("null", j->f);
}

void sk_json_kstr(struct sk_json *j, const char *k, const char *v)
{
	sk_json_key(j, k);
	sk_json_str(j, v);
}

void sk_json_kint(struct sk_json *j, const char *k, int64_t v)
{
	sk_json_key(j, k);
	sk_json_int(j, v);
}

void sk_json_kuint(struct sk_json *j, const char *k, uint64_t v)
{
	sk_json_key(j, k);
	sk_json_uint(j, v);
}

void sk_json_kbool(struct sk_json *j, const char *k, int v)
{
	sk_json_key(j, k);
	sk_json_bool(j, v);
}

void sk_json_ktime(struct sk_json *j, const char *k, int64_t t)
{
	char buf[32];

	sk_time_format(t, buf, sizeof(buf));
	sk_json_kstr(j, k, buf);
}

void sk_json_done(struct sk_json *j)
{
	fputc('\n', j->f);
	if (report.doc != NULL)
		OPENSSL_cleanse(report.doc, strlen(report.doc));
	free(report.doc);
	report.doc = NULL;
	if (j->f != doc.f)
		report.direct = 1;
	else if (fflush(doc.f) == 0 && doc.len > 1 && doc.buf[0] == '{') {
		/* Keep the buffer: the memory stream lets it go on fclose. */
		fclose(doc.f);
		doc.f = NULL;
		report.doc = doc.buf;
		doc.buf = NULL;
	}
	sk_json_discard();
	j->f = j->out;
}

void sk_json_error(int rc, const char *msg)
{
	report.rc = rc;
	snprintf(report.msg, sizeof(report.msg), "%s", msg);
}

void sk_json_help_printed(void)
{
	report.help = 1;
}

const char *sk_json_error_code(int rc)
{
	static const char *const codes[] = {
		"ok", "failure", "usage", "config", "backend", "auth",
		"unsupported", "verification", "not_found", "exists",
	};

	if (rc < 1 || rc >= (int)(sizeof(codes) / sizeof(codes[0])))
		return "failure";
	return codes[rc];
}

void sk_json_finish(FILE *f, int rc)
{
	const char *rest = report.doc != NULL ? report.doc + 1 : "}\n";

	if (report.help || report.direct)
		goto out;
	fprintf(f, "{\"ok\":%s", rc == 0 ? "true" : "false");
	if (rc != 0) {
		/* The message sk_report printed; a failure that printed none
		 * (a bug) still says what kind it is. */
		fprintf(f, ",\"error\":{\"code\":\"%s\",\"exit\":%d,\"message\":",
			sk_json_error_code(rc), rc);
		raw_str(f, report.rc == rc && report.msg[0] ? report.msg : sk_rc_name(rc));
		fputc('}', f);
	}
	if (rest[0] != '}')
		fputc(',', f);
	fputs(rest, f);
out:
	if (report.doc != NULL)
		OPENSSL_cleanse(report.doc, strlen(report.doc));
	free(report.doc);
	memset(&report, 0, sizeof(report));
}

void sk_json_signer(struct sk_json *j, const char *key, const char *fingerprint)
{
	sk_json_key(j, "signer");
	sk_json_obj(j);
	sk_json_kstr(j, "key", key != NULL && key[0] ? key : NULL);
	sk_json_kstr(j, "fingerprint", fingerprint != NULL && fingerprint[0] ? fingerprint : NULL);
	sk_json_end_obj(j);
}

void sk_json_list_begin(struct sk_json *j, FILE *f, const char *key)
{
	sk_json_init(j, f);
	sk_json_obj(j);
	sk_json_key(j, key);
	sk_json_arr(j);
}

void sk_json_list_end(struct sk_json *j)
{
	sk_json_end_arr(j);
	sk_json_end_obj(j);
	sk_json_done(j);
}
