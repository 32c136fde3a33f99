/* SPDX-License-Identifier: MIT */
/*
 * storetool: a test-only driver of the store library, for what the command
 * line cannot do on its own: multi-object transactions (atomic commits
 * across index buckets), read-modify-write counters (lost updates), holding
 * the writer lock, flipping bits.  Not installed.
 *
 *   storetool DIR multi PREFIX N VALUE   put PREFIX0..PREFIX<N-1> = VALUE, one commit
 *   storetool DIR same PREFIX N          all N objects equal? print the value
 *   storetool DIR mixed PREFIX N VALUE   one commit: put the even ones, delete the odd ones
 *   storetool DIR incr NAME [K]          K times: read NAME (decimal), add 1, commit
 *   storetool DIR hold SECONDS           take the writer lock and sleep
 *   storetool DIR stream NAME SIZE       one put of SIZE bytes (pattern), unlocked until commit
 *   storetool DIR dump                   the whole-store check (seckit store
 *       check), then every object, one line each, sorted:
 *       NS NAME VERSION SIZE FLAGS SHA256(META) SHA256(BODY)
 *       (body "-" for a keyed object, which needs its password); reads
 *       every object as a reader does, so a store that fails the check or a
 *       read fails the dump.  VERSION is random per write: equal lines, the
 *       same object.
 *   storetool DIR probe NAME             dump, a line "--", then a write of
 *       data object NAME (one commit: the next writer after a failure),
 *       then dump again (tests/fault.bash)
 *   storetool flip FILE BIT              flip one bit of FILE in place
 *   storetool flipall FILE FROM TO STEP RC [EXPECTED] -- CMD ARG...
 *       for every STEP-th bit in [FROM, TO): flip it, run CMD, restore the
 *       file; CMD must exit with RC and print nothing on stdout (or exactly
 *       the file EXPECTED, if given).  Lists the bits that misbehave.
 *   storetool truncall FILE FROM TO STEP RC -- CMD ARG...
 *       the same for the file cut to every STEP-th length in [FROM, TO),
 *       and for the file with one byte appended.
 * Objects live in the data namespace, so `seckit store read` sees them.
 * Exit status: the store's result code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/evp.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "store/store.h"

static int fail(int rc)
{
	fprintf(stderr, "storetool: %s\n", sk_err_msg());
	return rc;
}

static int flip(const char *path, const char *bitstr)
{
	unsigned long bit = strtoul(bitstr, NULL, 10);
	unsigned char c;
	int fd = open(path, O_RDWR);

	if (fd < 0 || pread(fd, &c, 1, (off_t)(bit / 8)) != 1) {
		perror(path);
		return 1;
	}
	c ^= (unsigned char)(1u << (bit % 8));
	if (pwrite(fd, &c, 1, (off_t)(bit / 8)) != 1) {
		perror(path);
		return 1;
	}
	close(fd);
	return 0;
}

/* Run argv with stdout captured (stderr to /dev/null): exit status, or
 * 128 + signal. */
static int run_capture(char **argv, unsigned char **out, size_t *outlen)
{
	int pfd[2], status;
	size_t cap = 0;
	pid_t pid;

	*out = NULL;
	*outlen = 0;
	if (pipe(pfd) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(pfd[1], 1);
		dup2(devnull, 2);
		close(pfd[0]);
		close(pfd[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t r;

		if (*outlen == cap) {
			cap = cap ? cap * 2 : 65536;
			*out = realloc(*out, cap);
			if (*out == NULL)
				return -1;
		}
		r = read(pfd[0], *out + *outlen, cap - *outlen);
		if (r <= 0)
			break;
		*outlen += (size_t)r;
	}
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static unsigned char *slurp(const char *path, size_t *n)
{
	struct stat sb;
	unsigned char *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &sb) != 0) {
		perror(path);
		exit(1);
	}
	p = malloc((size_t)sb.st_size + 1);
	if (p == NULL || read(fd, p, (size_t)sb.st_size) != (ssize_t)sb.st_size) {
		perror(path);
		exit(1);
	}
	close(fd);
	*n = (size_t)sb.st_size;
	return p;
}

static void put_back(const char *path, const unsigned char *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	if (fd < 0 || write(fd, p, n) != (ssize_t)n || close(fd) != 0) {
		perror(path);
		exit(1);
	}
}

/* One trial: run cmd, check status and output.  0 if as expected. */
static int trial(char **cmd, int want, const unsigned char *exp, size_t explen, const char *what)
{
	unsigned char *out;
	size_t outlen;
	int rc = run_capture(cmd, &out, &outlen), bad = 0;

	if (rc != want) {
		fprintf(stderr, "%s: exit %d, want %d\n", what, rc, want);
		bad = 1;
	} else if (exp != NULL ? (outlen != explen || memcmp(out, exp, explen) != 0) : outlen != 0) {
		fprintf(stderr, "%s: unexpected output (%zu bytes)\n", what, outlen);
		bad = 1;
	}
	free(out);
	return bad;
}

static int sweep(int argc, char **argv, int truncating)
{
	const char *path = argv[2];
	unsigned long from = strtoul(argv[3], NULL, 10), to = strtoul(argv[4], NULL, 10);
	unsigned long step = strtoul(argv[5], NULL, 10), i;
	int want = atoi(argv[6]), k = 7, bad = 0, trials = 0;
	unsigned char *orig, *exp = NULL;
	size_t n, explen = 0;
	char what[64];

	if (k < argc && strcmp(argv[k], "--") != 0)
		exp = slurp(argv[k++], &explen);
	if (k >= argc - 1 || strcmp(argv[k], "--") != 0 || step == 0) {
		fprintf(stderr, "storetool: flipall/truncall: bad arguments\n");
		return 2;
	}
	orig = slurp(path, &n);
	if (!truncating && to > n * 8)
		to = n * 8;
	if (truncating && to > n)
		to = n;
	for (i = from; i < to; i += step) {
		if (truncating) {
			put_back(path, orig, i);
			snprintf(what, sizeof(what), "%s cut to %lu bytes", path, i);
		} else {
			unsigned char *c = malloc(n);

			memcpy(c, orig, n);
			c[i / 8] ^= (unsigned char)(1u << (i % 8));
			put_back(path, c, n);
			free(c);
			snprintf(what, sizeof(what), "%s bit %lu", path, i);
		}
		bad += trial(argv + k + 1, want, exp, explen, what);
		trials++;
	}
	if (truncating) {
		unsigned char *c = malloc(n + 1);

		memcpy(c, orig, n);
		c[n] = 0;
		put_back(path, c, n + 1);
		free(c);
		snprintf(what, sizeof(what), "%s with a byte appended", path);
		bad += trial(argv + k + 1, want, exp, explen, what);
		trials++;
	}
	put_back(path, orig, n);
	printf("%d trials, %d unexpected\n", trials, bad);
	free(orig);
	free(exp);
	return bad ? 1 : 0;
}

static int multi(struct sk_store *st, const char *prefix, int n, const char *value, int mixed)
{
	struct sk_txn *t;
	char name[256];
	int i, rc;

	if ((rc = sk_txn_begin(st, &t)) != SK_OK)
		return rc;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		if (mixed && (i % 2))
			rc = sk_txn_del(t, SK_NS_DATA, name);
		else
			rc = sk_txn_put(t, SK_NS_DATA, name, NULL, 0, value, strlen(value));
		if (rc != SK_OK) {
			sk_txn_abort(t);
			return rc;
		}
	}
	return sk_txn_commit(t);
}

static int same(struct sk_store *st, const char *prefix, int n)
{
	struct sk_buf first = { 0 }, b = { 0 };
	char name[256];
	int i, rc = SK_OK;

	for (i = 0; i < n && rc == SK_OK; i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		b.len = 0;
		rc = sk_store_get(st, SK_NS_DATA, name, 1 << 20, NULL, &b);
		if (rc == SK_ENOTFOUND) {
			/* absent counts as the value "-" */
			b.len = 0;
			rc = sk_buf_add(&b, "-", 1);
		}
		if (rc != SK_OK)
			break;
		if (i == 0) {
			rc = sk_buf_add(&first, b.p, b.len);
		} else if (b.len != first.len || memcmp(b.p, first.p, b.len) != 0) {
			rc = sk_err(SK_EVERIFY, "%s differs from %s0: a mixed state", name, prefix);
		}
	}
	if (rc == SK_OK)
		printf("%.*s\n", (int)first.len, first.p ? (char *)first.p : "");
	sk_buf_free(&first);
	sk_buf_free(&b);
	return rc;
}

static int incr(struct sk_store *st, const char *name, int k)
{
	int i, rc = SK_OK;

	for (i = 0; i < k && rc == SK_OK; i++) {
		struct sk_buf b = { 0 };
		struct sk_txn *t;
		char v[32];
		unsigned long long x = 0;

		if ((rc = sk_txn_begin(st, &t)) != SK_OK)
			break;
		rc = sk_store_get(st, SK_NS_DATA, name, 64, NULL, &b);
		if (rc == SK_OK) {
			if (sk_buf_add(&b, "", 1) == SK_OK)
				x = strtoull((char *)b.p, NULL, 10);
		} else if (rc == SK_ENOTFOUND) {
			rc = SK_OK;
		}
		sk_buf_free(&b);
		if (rc != SK_OK) {
			sk_txn_abort(t);
			break;
		}
		snprintf(v, sizeof(v), "%llu", x + 1);
		if ((rc = sk_txn_put(t, SK_NS_DATA, name, NULL, 0, v, strlen(v))) != SK_OK) {
			sk_txn_abort(t);
			break;
		}
		rc = sk_txn_commit(t);
	}
	return rc;
}

static int stream(struct sk_store *st, const char *name, unsigned long long size)
{
	struct sk_txn *t;
	struct sk_writer *w;
	unsigned char buf[4096];
	unsigned long long left = size;
	int rc;
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)i;
	if ((rc = sk_txn_begin_unlocked(st, &t)) != SK_OK)
		return rc;
	if ((rc = sk_writer_open(t, SK_NS_DATA, name, NULL, 0, &w)) != SK_OK) {
		sk_txn_abort(t);
		return rc;
	}
	while (left > 0 && rc == SK_OK) {
		size_t n = left > sizeof(buf) ? sizeof(buf) : (size_t)left;

		rc = sk_writer_write(w, buf, n);
		left -= n;
	}
	if (rc != SK_OK) {
		sk_writer_abort(w);
		sk_txn_abort(t);
		return rc;
	}
	if ((rc = sk_writer_close(w)) != SK_OK) {
		sk_txn_abort(t);
		return rc;
	}
	return sk_txn_commit(t);
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;

	EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
	sk_hex(out, md, 32);
}

static int dump_one(const struct sk_obj_info *info, void *arg)
{
	struct sk_store *st = arg;
	struct sk_buf body = { 0 };
	char version[33], meta[65], bh[65] = "-";
	int rc;

	sk_hex(version, info->version, 16);
	sha256_hex(info->meta, info->metalen, meta);
	if (!(info->flags & SK_OBJ_KEYED)) {
		if ((rc = sk_store_get(st, info->ns, info->name, (size_t)1 << 30, NULL, &body)) != SK_OK)
			return rc;
		sha256_hex(body.p, body.len, bh);
		sk_buf_free(&body);
	}
	printf("%u %s %s %llu %u %s %s\n", info->ns, info->name, version,
	       (unsigned long long)info->size, info->flags, meta, bh);
	return 0;
}

static void check_problem(const char *file, const char *problem, void *arg)
{
	(void)arg;
	fprintf(stderr, "storetool: %s: %s\n", file, problem);
}

static int dump(struct sk_store *st)
{
	int rc = sk_store_check(st, 0, check_problem, NULL, NULL);

	if (rc == SK_OK)
		rc = sk_store_list(st, 0, dump_one, st);
	return rc;
}

int main(int argc, char **argv)
{
	struct sk_store_opts opts = { 1, 30 };
	struct sk_store *st;
	const char *lt = getenv("STORETOOL_LOCK_TIMEOUT");
	int rc;

	sk_crypto_init();
	if (argc == 4 && strcmp(argv[1], "flip") == 0)
		return flip(argv[2], argv[3]);
	if (argc >= 9 && strcmp(argv[1], "flipall") == 0)
		return sweep(argc, argv, 0);
	if (argc >= 9 && strcmp(argv[1], "truncall") == 0)
		return sweep(argc, argv, 1);
	if (argc < 3) {
		fprintf(stderr, "usage: storetool DIR multi|same|mixed|incr|hold|stream ... | flip FILE BIT\n");
		return 2;
	}
	if (lt != NULL)
		opts.lock_timeout = (unsigned)atoi(lt);
	if ((rc = sk_store_open(argv[1], &opts, &st)) != SK_OK)
		return fail(rc);
	if (!strcmp(argv[2], "multi") && argc == 6)
		rc = multi(st, argv[3], atoi(argv[4]), argv[5], 0);
	else if (!strcmp(argv[2], "mixed") && argc == 6)
		rc = multi(st, argv[3], atoi(argv[4]), argv[5], 1);
	else if (!strcmp(argv[2], "same") && argc == 5)
		rc = same(st, argv[3], atoi(argv[4]));
	else if (!strcmp(argv[2], "incr") && (argc == 4 || argc == 5))
		rc = incr(st, argv[3], argc == 5 ? atoi(argv[4]) : 1);
	else if (!strcmp(argv[2], "dump") && argc == 3)
		rc = dump(st);
	else if (!strcmp(argv[2], "probe") && argc == 4) {
		if ((rc = dump(st)) == SK_OK) {
			printf("--\n");
			if ((rc = multi(st, argv[3], 1, "probe", 0)) == SK_OK)
				rc = dump(st);
		}
	}
	else if (!strcmp(argv[2], "stream") && argc == 5)
		rc = stream(st, argv[3], strtoull(argv[4], NULL, 10));
	else if (!strcmp(argv[2], "hold") && argc == 4) {
		struct sk_txn *t;

		if ((rc = sk_txn_begin(st, &t)) == SK_OK) {
			printf("locked\n");
			fflush(stdout);
			sleep((unsigned)atoi(argv[3]));
			sk_txn_abort(t);
		}
	} else {
		fprintf(stderr, "storetool: bad arguments\n");
		rc = 2;
	}
	if (rc != SK_OK && rc != 2)
		fail(rc);
	sk_store_close(st);
	return rc;
}
