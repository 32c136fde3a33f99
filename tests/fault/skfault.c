/* SPDX-License-Identifier: MIT */
/*
 * skfault: an LD_PRELOAD shim that makes the N-th call of a kind fail, for
 * the fault-injection tests (tests/fault.bash, tests/30-store-fault.bats).
 * seckit links libc dynamically (libcrypto and libyaml statically), so its
 * calls of the functions below go through this file first; calls that libc
 * makes internally (fopen, mkostemp) do not.
 *
 * Environment (read once, at the first call):
 *   SKFAULT_OPS    kinds of call to count, comma-separated (default: all):
 *                    write   write, pwrite, pwrite64
 *                    fsync   fsync, fdatasync, syncfs
 *                    rename  rename, renameat, renameat2
 *                    open    open, open64, openat, openat64, creat that may
 *                            create or write (O_CREAT, O_WRONLY, O_RDWR, O_TMPFILE)
 *                    openr   the same, read-only (files and directories)
 *                    link    link, linkat
 *                    unlink  unlink, unlinkat, rmdir
 *                    mkdir   mkdir, mkdirat
 *   SKFAULT_DIR    count only calls on files under this directory (the
 *                  file behind a descriptor, or either path of a rename)
 *   SKFAULT_AT     fail the N-th counted call (1-based; unset or 0: count only)
 *   SKFAULT_SPAN   fail this many calls from the N-th on (default 1; 0: all
 *                  of the rest, a disk that stays broken)
 *   SKFAULT_ERRNO  EIO (default), ENOSPC, EDQUOT or EROFS
 *   SKFAULT_WHEN   before (default): the call fails without doing anything;
 *                  after: it is done, then reports the error (a rename that
 *                  happened, data that reached the disk, all the same)
 *   SKFAULT_LOG    append one line per counted call: "N KIND PATH", with
 *                  " FAIL ERRNO" when it was made to fail
 * Descriptors 0-2 are never counted: the error line must get out.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

enum kind { K_WRITE, K_FSYNC, K_RENAME, K_OPEN, K_OPENR, K_LINK, K_UNLINK, K_MKDIR, K_NKINDS };
static const char *const kind_name[K_NKINDS] = {
	"write", "fsync", "rename", "open", "openr", "link", "unlink", "mkdir",
};

static struct {
	pthread_once_t once;
	pthread_mutex_t mu;
	unsigned kinds;
	unsigned long at, span, n;
	int err, after;
	const char *errname;
	char dir[PATH_MAX], rdir[PATH_MAX];
	size_t dirlen, rdirlen;
	int logfd;
} S = { PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, 0, 0, 1, 0, EIO, 0, "EIO", "", "", 0, 0, -1 };

#define REAL(ret, name, args) \
	static ret(*real_##name) args; \
	if (real_##name == NULL) \
		*(void **)&real_##name = dlsym(RTLD_NEXT, #name)

/* The shim's own writes and opens go straight to the kernel's libc entry
 * points found with dlsym, never through the wrappers below. */
static ssize_t (*raw_write)(int, const void *, size_t);
static int (*raw_open)(const char *, int, ...);

static void init(void)
{
	const char *ops = getenv("SKFAULT_OPS"), *v;
	char *end;

	*(void **)&raw_write = dlsym(RTLD_NEXT, "write");
	*(void **)&raw_open = dlsym(RTLD_NEXT, "open");
	if (ops == NULL || *ops == '\0' || strcmp(ops, "all") == 0) {
		S.kinds = (1u << K_NKINDS) - 1;
	} else {
		char buf[256], *tok, *save = NULL;
		int k;

		snprintf(buf, sizeof(buf), "%s", ops);
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			for (k = 0; k < K_NKINDS; k++)
				if (strcmp(tok, kind_name[k]) == 0)
					S.kinds |= 1u << k;
			if (strcmp(tok, "all") == 0)
				S.kinds = (1u << K_NKINDS) - 1;
		}
	}
	if ((v = getenv("SKFAULT_AT")) != NULL)
		S.at = strtoul(v, &end, 10);
	if ((v = getenv("SKFAULT_SPAN")) != NULL)
		S.span = strtoul(v, &end, 10);
	if ((v = getenv("SKFAULT_ERRNO")) != NULL) {
		if (strcmp(v, "ENOSPC") == 0)
			S.err = ENOSPC;
		else if (strcmp(v, "EDQUOT") == 0)
			S.err = EDQUOT;
		else if (strcmp(v, "EROFS") == 0)
			S.err = EROFS;
		else
			v = "EIO";
		S.errname = v;
	}
	if ((v = getenv("SKFAULT_WHEN")) != NULL && strcmp(v, "after") == 0)
		S.after = 1;
	if ((v = getenv("SKFAULT_DIR")) != NULL && *v) {
		snprintf(S.dir, sizeof(S.dir), "%s", v);
		S.dirlen = strlen(S.dir);
		while (S.dirlen > 1 && S.dir[S.dirlen - 1] == '/')
			S.dir[--S.dirlen] = '\0';
		if (realpath(S.dir, S.rdir) != NULL)
			S.rdirlen = strlen(S.rdir);
	}
	if ((v = getenv("SKFAULT_LOG")) != NULL && *v)
		S.logfd = raw_open(v, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

static int under(const char *p, const char *dir, size_t n)
{
	return n > 0 && strncmp(p, dir, n) == 0 && (p[n] == '/' || p[n] == '\0');
}

/* The path a call is about: PATH relative to directory descriptor DFD. */
static void resolve(int dfd, const char *path, char out[PATH_MAX])
{
	char link[64], base[PATH_MAX];
	ssize_t n;

	if (path != NULL && path[0] == '/') {
		snprintf(out, PATH_MAX, "%s", path);
		return;
	}
	if (dfd == AT_FDCWD)
		snprintf(link, sizeof(link), "/proc/self/cwd");
	else
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dfd);
	n = readlink(link, base, sizeof(base) - 1);
	if (n < 0)
		n = 0;
	base[n] = '\0';
	if (path == NULL || path[0] == '\0')
		snprintf(out, PATH_MAX, "%s", base);
	else
		snprintf(out, PATH_MAX, "%.2048s/%.2000s", base, path);
}

static int in_scope(const char *p)
{
	if (S.dirlen == 0)
		return 1;
	return under(p, S.dir, S.dirlen) || under(p, S.rdir, S.rdirlen);
}

/* Count a call on p (and q, for two-path calls); 1 (errno set) if it must
 * fail. */
static int hit(enum kind k, const char *p, const char *q)
{
	char line[PATH_MAX + 128];
	unsigned long n;
	int fail, len;

	pthread_once(&S.once, init);
	if (!(S.kinds & (1u << k)) || !(in_scope(p) || (q != NULL && in_scope(q))))
		return 0;
	pthread_mutex_lock(&S.mu);
	n = ++S.n;
	fail = S.at > 0 && n >= S.at && (S.span == 0 || n < S.at + S.span);
	if (S.logfd >= 0) {
		len = snprintf(line, sizeof(line), "%lu %s %s%s%s%s%s%s\n", n, kind_name[k], p,
			       q ? " -> " : "", q ? q : "", fail ? " FAIL " : "", fail ? S.errname : "",
			       fail && S.after ? " after" : "");
		if (len > (int)sizeof(line) - 1)
			len = (int)sizeof(line) - 1;
		if (raw_write(S.logfd, line, (size_t)len) < 0) {
			/* the log is for people; a test that needs it sees it short */
		}
	}
	pthread_mutex_unlock(&S.mu);
	if (fail)
		errno = S.err;
	return fail;
}

static int hit_fd(enum kind k, int fd)
{
	char p[PATH_MAX];

	if (fd <= 2)
		return 0;
	resolve(fd, NULL, p);
	return hit(k, p, NULL);
}

static int hit_at(enum kind k, int dfd, const char *path)
{
	char p[PATH_MAX];

	resolve(dfd, path, p);
	return hit(k, p, NULL);
}

static int hit_at2(enum kind k, int dfd1, const char *p1, int dfd2, const char *p2)
{
	char a[PATH_MAX], b[PATH_MAX];

	resolve(dfd1, p1, a);
	resolve(dfd2, p2, b);
	return hit(k, a, b);
}

/* ---- the wrappers ---- */

/* SKFAULT_WHEN=after: the call was made; now it fails all the same. */
static int fail_after(long r)
{
	(void)r;
	errno = S.err;
	return -1;
}

static int fail_after_fd(int fd)
{
	if (fd >= 0)
		close(fd);
	errno = S.err;
	return -1;
}

ssize_t write(int fd, const void *p, size_t n)
{
	REAL(ssize_t, write, (int, const void *, size_t));
	if (!hit_fd(K_WRITE, fd))
		return real_write(fd, p, n);
	return S.after ? fail_after((long)real_write(fd, p, n)) : -1;
}

ssize_t pwrite(int fd, const void *p, size_t n, off_t off)
{
	REAL(ssize_t, pwrite, (int, const void *, size_t, off_t));
	if (!hit_fd(K_WRITE, fd))
		return real_pwrite(fd, p, n, off);
	return S.after ? fail_after((long)real_pwrite(fd, p, n, off)) : -1;
}

ssize_t pwrite64(int fd, const void *p, size_t n, off_t off)
{
	REAL(ssize_t, pwrite64, (int, const void *, size_t, off_t));
	if (!hit_fd(K_WRITE, fd))
		return real_pwrite64(fd, p, n, off);
	return S.after ? fail_after((long)real_pwrite64(fd, p, n, off)) : -1;
}

int fsync(int fd)
{
	REAL(int, fsync, (int));
	if (!hit_fd(K_FSYNC, fd))
		return real_fsync(fd);
	return S.after ? fail_after((long)real_fsync(fd)) : -1;
}

int fdatasync(int fd)
{
	REAL(int, fdatasync, (int));
	if (!hit_fd(K_FSYNC, fd))
		return real_fdatasync(fd);
	return S.after ? fail_after((long)real_fdatasync(fd)) : -1;
}

int syncfs(int fd)
{
	REAL(int, syncfs, (int));
	if (!hit_fd(K_FSYNC, fd))
		return real_syncfs(fd);
	return S.after ? fail_after((long)real_syncfs(fd)) : -1;
}

int rename(const char *a, const char *b)
{
	REAL(int, rename, (const char *, const char *));
	if (!hit_at2(K_RENAME, AT_FDCWD, a, AT_FDCWD, b))
		return real_rename(a, b);
	return S.after ? fail_after((long)real_rename(a, b)) : -1;
}

int renameat(int da, const char *a, int db, const char *b)
{
	REAL(int, renameat, (int, const char *, int, const char *));
	if (!hit_at2(K_RENAME, da, a, db, b))
		return real_renameat(da, a, db, b);
	return S.after ? fail_after((long)real_renameat(da, a, db, b)) : -1;
}

int renameat2(int da, const char *a, int db, const char *b, unsigned flags)
{
	REAL(int, renameat2, (int, const char *, int, const char *, unsigned));
	if (!hit_at2(K_RENAME, da, a, db, b))
		return real_renameat2(da, a, db, b, flags);
	return S.after ? fail_after((long)real_renameat2(da, a, db, b, flags)) : -1;
}

static mode_t open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

static enum kind open_kind(int flags)
{
	return (flags & (O_CREAT | O_WRONLY | O_RDWR | O_TRUNC)) || (flags & O_TMPFILE) == O_TMPFILE
		       ? K_OPEN : K_OPENR;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	REAL(int, open, (const char *, int, ...));
	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	if (!hit_at(open_kind(flags), AT_FDCWD, path))
		return real_open(path, flags, mode);
	return S.after ? fail_after_fd(real_open(path, flags, mode)) : -1;
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	REAL(int, open64, (const char *, int, ...));
	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	if (!hit_at(open_kind(flags), AT_FDCWD, path))
		return real_open64(path, flags, mode);
	return S.after ? fail_after_fd(real_open64(path, flags, mode)) : -1;
}

int openat(int dfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	REAL(int, openat, (int, const char *, int, ...));
	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	if (!hit_at(open_kind(flags), dfd, path))
		return real_openat(dfd, path, flags, mode);
	return S.after ? fail_after_fd(real_openat(dfd, path, flags, mode)) : -1;
}

int openat64(int dfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	REAL(int, openat64, (int, const char *, int, ...));
	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	if (!hit_at(open_kind(flags), dfd, path))
		return real_openat64(dfd, path, flags, mode);
	return S.after ? fail_after_fd(real_openat64(dfd, path, flags, mode)) : -1;
}

int creat(const char *path, mode_t mode)
{
	REAL(int, creat, (const char *, mode_t));
	if (!hit_at(K_OPEN, AT_FDCWD, path))
		return real_creat(path, mode);
	return S.after ? fail_after_fd(real_creat(path, mode)) : -1;
}

int link(const char *a, const char *b)
{
	REAL(int, link, (const char *, const char *));
	if (!hit_at2(K_LINK, AT_FDCWD, a, AT_FDCWD, b))
		return real_link(a, b);
	return S.after ? fail_after((long)real_link(a, b)) : -1;
}

int linkat(int da, const char *a, int db, const char *b, int flags)
{
	REAL(int, linkat, (int, const char *, int, const char *, int));
	/* The source of linkat(/proc/self/fd/N, ...) is a descriptor's file:
	 * the target decides whether the call is in scope. */
	if (!hit_at2(K_LINK, da, a, db, b))
		return real_linkat(da, a, db, b, flags);
	return S.after ? fail_after((long)real_linkat(da, a, db, b, flags)) : -1;
}

int unlink(const char *path)
{
	REAL(int, unlink, (const char *));
	if (!hit_at(K_UNLINK, AT_FDCWD, path))
		return real_unlink(path);
	return S.after ? fail_after((long)real_unlink(path)) : -1;
}

int unlinkat(int dfd, const char *path, int flags)
{
	REAL(int, unlinkat, (int, const char *, int));
	if (!hit_at(K_UNLINK, dfd, path))
		return real_unlinkat(dfd, path, flags);
	return S.after ? fail_after((long)real_unlinkat(dfd, path, flags)) : -1;
}

int rmdir(const char *path)
{
	REAL(int, rmdir, (const char *));
	if (!hit_at(K_UNLINK, AT_FDCWD, path))
		return real_rmdir(path);
	return S.after ? fail_after((long)real_rmdir(path)) : -1;
}

int mkdir(const char *path, mode_t mode)
{
	REAL(int, mkdir, (const char *, mode_t));
	if (!hit_at(K_MKDIR, AT_FDCWD, path))
		return real_mkdir(path, mode);
	return S.after ? fail_after((long)real_mkdir(path, mode)) : -1;
}

int mkdirat(int dfd, const char *path, mode_t mode)
{
	REAL(int, mkdirat, (int, const char *, mode_t));
	if (!hit_at(K_MKDIR, dfd, path))
		return real_mkdirat(dfd, path, mode);
	return S.after ? fail_after((long)real_mkdirat(dfd, path, mode)) : -1;
}
