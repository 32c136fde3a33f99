/* SPDX-License-Identifier: MIT */
#include "base/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/err.h"

ssize_t sk_read_full(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (uint8_t *)p + got, n - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int sk_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *q = p;

	while (n > 0) {
		ssize_t w = write(fd, q, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

int sk_in_read_all(struct sk_in *in, size_t max, struct sk_buf *out)
{
	size_t start = out->len;
	int rc = SK_OK;

	for (;;) {
		ssize_t r;

		if ((rc = sk_buf_reserve(out, 65536)) != SK_OK)
			break;
		r = sk_in_read(in, out->p + out->len, out->cap - out->len);
		if (r < 0) {
			rc = SK_EFAIL;
			break;
		}
		if (r == 0)
			break;
		out->len += (size_t)r;
		if (out->len - start > max) {
			rc = sk_err(SK_EFAIL, "reading '%s': file too large (limit %zu bytes)",
				    sk_path_name(in->path), max);
			break;
		}
	}
	/* Nothing of a failed read is left for the caller to free (the data
	 * may be a key). */
	if (rc != SK_OK && out->p != NULL) {
		OPENSSL_cleanse(out->p + start, out->cap - start);
		out->len = start;
		if (start == 0)
			sk_buf_free(out);
	}
	return rc;
}

int sk_read_file(const char *path, size_t max, struct sk_buf *out)
{
	struct sk_in in;
	int rc;

	if ((rc = sk_in_open(&in, path)) != SK_OK)
		return rc;
	rc = sk_in_read_all(&in, max, out);
	sk_in_close(&in);
	return rc;
}

const char *sk_path_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "<stdin>" : path;
}

int sk_in_open(struct sk_in *in, const char *path)
{
	struct stat st;

	in->path = path;
	in->peeklen = in->peekoff = 0;
	in->is_stdin = strcmp(path, "-") == 0;
	if (in->is_stdin) {
		in->fd = STDIN_FILENO;
		return SK_OK;
	}
	in->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (in->fd < 0)
		return sk_err_sys(SK_EFAIL, "opening '%s'", path);
	if (fstat(in->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(in->fd);
		in->fd = -1;
		return sk_err(SK_EFAIL, "opening '%s': Is a directory", path);
	}
	return SK_OK;
}

ssize_t sk_in_read(struct sk_in *in, void *p, size_t n)
{
	size_t have = in->peeklen - in->peekoff;
	ssize_t r;

	if (have > n)
		have = n;
	memcpy(p, in->peek + in->peekoff, have);
	in->peekoff += have;
	if (have == n)
		return (ssize_t)n;
	r = sk_read_full(in->fd, (uint8_t *)p + have, n - have);
	if (r < 0) {
		sk_err_sys(SK_EFAIL, "reading '%s'", sk_path_name(in->path));
		return r;
	}
	return (ssize_t)have + r;
}

ssize_t sk_in_peek(struct sk_in *in, size_t n, const uint8_t **p)
{
	ssize_t r;

	if (n > sizeof(in->peek) || in->peekoff != 0)
		return sk_err(SK_EFAIL, "internal: peeking %zu bytes", n), -1;
	if (in->peeklen < n) {
		r = sk_read_full(in->fd, in->peek + in->peeklen, n - in->peeklen);
		if (r < 0) {
			sk_err_sys(SK_EFAIL, "reading '%s'", sk_path_name(in->path));
			return r;
		}
		in->peeklen += (size_t)r;
	}
	*p = in->peek;
	return (ssize_t)(in->peeklen < n ? in->peeklen : n);
}

void sk_in_close(struct sk_in *in)
{
	if (!in->is_stdin && in->fd >= 0)
		close(in->fd);
	in->fd = -1;
}

void sk_dirname(const char *path, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL) {
		snprintf(out, outlen, ".");
		return;
	}
	n = (size_t)(slash - path);
	if (n == 0)
		n = 1; /* "/file" */
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, path, n);
	out[n] = '\0';
}

int sk_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -1;
	/* Some filesystems refuse fsync on directories; that is not an error. */
	if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
		rc = -1;
	close(fd);
	return rc;
}

int sk_syncfs(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = SK_OK;

	if (fd < 0)
		return sk_err_sys(SK_EFAIL, "opening '%s'", dir);
	if (syncfs(fd) != 0)
		rc = sk_err_sys(SK_EFAIL, "syncing '%s'", dir);
	close(fd);
	if (rc == SK_OK && sk_fsync_dir(dir) != 0)
		rc = sk_err_sys(SK_EFAIL, "syncing '%s'", dir);
	return rc;
}

/* Create DIR/.BASE.XXXXXX (six random letters or digits, as mkostemp
 * names them) with O_EXCL; the name is left in tmp. */
static int open_tmp(char *tmp, size_t n, const char *dir, const char *base, mode_t mode)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[6];
	int tries, fd, i, len;

	for (tries = 0; tries < 100; tries++) {
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return -1;
		len = snprintf(tmp, n, "%s/.%s.", dir, base);
		if (len < 0 || (size_t)len + 7 > n) {
			errno = ENAMETOOLONG;
			return -1;
		}
		for (i = 0; i < 6; i++)
			tmp[len + i] = chars[r[i] % (sizeof(chars) - 1)];
		tmp[len + 6] = '\0';
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

int sk_out_is_stream(const char *path)
{
	struct stat sb;

	return strcmp(path, "-") == 0 || (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode));
}

static const char *file_kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

/*
 * Secret data (mode 0600) is written in place only into a FIFO or device
 * that path names itself and that belongs to us or to root: never through
 * a symbolic link (`ln -s fifo out` would hand a private key to whoever
 * reads the FIFO), never into one someone else planted.  A link to a
 * regular file, or a dangling one, is replaced by the rename, so its
 * target is never written either.  The checks before open(2) keep us from
 * blocking on a FIFO we will refuse; the ones on the open descriptor
 * (O_NOFOLLOW, fstat) are what hold if the path changes in between.
 * Public data gets the same rules here but for the owner (fileio.h).
 */
int sk_out_open_inplace(struct sk_out *o, const char *path, mode_t mode)
{
	int secret = (mode & 077) == 0;
	const char *what = secret ? "secret data" : "this output";
	struct stat sb, tb;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (lstat(path, &sb) != 0)
		return SK_OK; /* a new file (creating the temporary one says why not) */
	if (S_ISLNK(sb.st_mode)) {
		if (stat(path, &tb) != 0 || S_ISREG(tb.st_mode))
			return SK_OK;
		if (S_ISDIR(tb.st_mode))
			return sk_err(SK_EFAIL, "writing '%s': Is a directory", path);
		return sk_err(SK_EFAIL, "writing '%s': a symbolic link to %s; %s goes only to "
			      "a FIFO or device named directly (or '-' for standard output)",
			      path, file_kind(tb.st_mode), what);
	}
	if (S_ISREG(sb.st_mode))
		return SK_OK;
	if (S_ISDIR(sb.st_mode))
		return sk_err(SK_EFAIL, "writing '%s': Is a directory", path);
	if (S_ISSOCK(sb.st_mode))
		return sk_err(SK_EFAIL, "writing '%s': a socket; %s goes only to a file, a FIFO "
			      "or a device (or '-' for standard output)", path, what);
	if (secret && sb.st_uid != geteuid() && sb.st_uid != 0)
		return sk_err(SK_EFAIL, "writing '%s': %s owned by uid %u; secret data goes in place "
			      "only into one of yours or root's", path, file_kind(sb.st_mode),
			      (unsigned)sb.st_uid);
	o->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (o->fd < 0) {
		if (errno == ELOOP)
			return sk_err(SK_EFAIL, "writing '%s': replaced by a symbolic link while opening it",
				      path);
		return sk_err_sys(SK_EFAIL, "opening '%s'", path);
	}
	if (fstat(o->fd, &tb) != 0 || S_ISREG(tb.st_mode) || S_ISDIR(tb.st_mode) ||
	    (secret && tb.st_uid != geteuid() && tb.st_uid != 0)) {
		/* Not what lstat saw: nothing written, nothing followed. */
		close(o->fd);
		o->fd = -1;
		return sk_err(SK_EFAIL, "writing '%s': replaced while opening it", path);
	}
	if ((o->path = strdup(path)) == NULL) {
		sk_out_abort(o);
		return sk_err(SK_EFAIL, "out of memory");
	}
	o->direct = 1;
	return SK_OK;
}

/* Per-process, written once by the command layer before the verb runs. */
static int stdout_reserved;

void sk_out_reserve_stdout(int reserved)
{
	stdout_reserved = reserved;
}

int sk_out_open(struct sk_out *o, const char *path, mode_t mode)
{
	char dir[PATH_MAX];
	const char *base;
	struct stat sb;
	size_t n;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (strcmp(path, "-") == 0) {
		if (stdout_reserved)
			return sk_err_remedy(sk_err(SK_EUSAGE, "standard output: it carries the "
						    "report, not the data"), SK_REMEDY_OUT);
		o->is_stdout = 1;
		o->fd = STDOUT_FILENO;
		fflush(stdout); /* keep order with text printed through stdio */
		return SK_OK;
	}
	if (path[0] == '\0')
		return sk_err(SK_EUSAGE, "empty output file name");
	if ((mode & 077) == 0) {
		int rc = sk_out_open_inplace(o, path, mode);

		if (rc != SK_OK || o->direct)
			return rc;
	} else if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		/* Public data follows a symbolic link (/dev/stdout). */
		if (S_ISDIR(sb.st_mode))
			return sk_err(SK_EFAIL, "writing '%s': Is a directory", path);
		o->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (o->fd < 0)
			return sk_err_sys(SK_EFAIL, "opening '%s'", path);
		if ((o->path = strdup(path)) == NULL) {
			sk_out_abort(o);
			return sk_err(SK_EFAIL, "out of memory");
		}
		o->direct = 1;
		return SK_OK;
	}
	sk_dirname(path, dir, sizeof(dir));
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (base[0] == '\0')
		return sk_err(SK_EFAIL, "writing '%s': Is a directory", path);
	n = strlen(dir) + strlen(base) + 16;
	o->tmp = malloc(n);
	o->path = strdup(path);
	if (o->tmp == NULL || o->path == NULL) {
		sk_out_abort(o);
		return sk_err(SK_EFAIL, "out of memory");
	}
	/* O_EXCL with the final mode: the kernel applies the umask, so no
	 * umask(2) dance (process-wide, racy between the fleet workers) and
	 * no fchmod. */
	o->fd = open_tmp(o->tmp, n, dir, base, mode & 07777);
	if (o->fd < 0) {
		int rc = sk_err_sys(SK_EFAIL, "creating '%s'", path);

		free(o->tmp);
		o->tmp = NULL;
		sk_out_abort(o);
		return rc;
	}
	return SK_OK;
}

int sk_out_open_new(struct sk_out *o, const char *path, mode_t mode)
{
	struct stat sb;
	int rc;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (strcmp(path, "-") == 0)
		return sk_err(SK_EUSAGE, "'-': this output must be a new file");
	if (lstat(path, &sb) == 0)
		return sk_err(SK_EEXIST, "'%s' already exists%s (not replaced)", path,
			      S_ISLNK(sb.st_mode) ? " as a symbolic link" : "");
	if (errno != ENOENT)
		return sk_err_sys(SK_EFAIL, "creating '%s'", path);
	/* Nothing there: sk_out_open goes the temporary-file way. */
	if ((rc = sk_out_open(o, path, mode)) != SK_OK)
		return rc;
	if (o->direct || o->tmp == NULL) {
		sk_out_abort(o);
		return sk_err(SK_EEXIST, "'%s' appeared while opening it (not replaced)", path);
	}
	o->noreplace = 1;
	return SK_OK;
}

int sk_out_write(struct sk_out *o, const void *p, size_t n)
{
	if (sk_write_all(o->fd, p, n) != 0)
		return sk_err_sys(SK_EFAIL, "writing '%s'",
				  o->is_stdout ? "<stdout>" : o->path);
	return SK_OK;
}

int sk_out_commit(struct sk_out *o)
{
	char dir[PATH_MAX];
	int rc;

	if (o->is_stdout) {
		o->committed = 1;
		return SK_OK;
	}
	if (o->direct) {
		rc = close(o->fd) != 0 ? sk_err_sys(SK_EFAIL, "writing '%s'", o->path) : SK_OK;
		o->fd = -1;
		o->committed = rc == SK_OK;
		sk_out_abort(o);
		return rc;
	}
	if (!o->nosync && fsync(o->fd) != 0) {
		rc = sk_err_sys(SK_EFAIL, "writing '%s'", o->path);
		sk_out_abort(o);
		return rc;
	}
	if (close(o->fd) != 0) {
		o->fd = -1;
		rc = sk_err_sys(SK_EFAIL, "writing '%s'", o->path);
		sk_out_abort(o);
		return rc;
	}
	o->fd = -1;
	if (o->noreplace) {
		/* link(2) never replaces, nor follows a link at the new name. */
		if (link(o->tmp, o->path) != 0) {
			if (errno == EEXIST)
				rc = sk_err(SK_EEXIST, "'%s' appeared meanwhile (not replaced)", o->path);
			else
				rc = sk_err_sys(SK_EFAIL, "writing '%s'", o->path);
			sk_out_abort(o);
			return rc;
		}
		unlink(o->tmp);
	} else if (rename(o->tmp, o->path) != 0) {
		rc = sk_err_sys(SK_EFAIL, "writing '%s'", o->path);
		sk_out_abort(o);
		return rc;
	}
	free(o->tmp);
	o->tmp = NULL;
	o->committed = 1;
	sk_dirname(o->path, dir, sizeof(dir));
	if (!o->nosync && sk_fsync_dir(dir) != 0) {
		rc = sk_err_sys(SK_EFAIL, "syncing directory of '%s'", o->path);
		sk_out_abort(o);
		return rc;
	}
	sk_out_abort(o); /* frees the rest */
	return SK_OK;
}

void sk_out_abort(struct sk_out *o)
{
	if (!o->is_stdout && o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->tmp != NULL) {
		unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
	}
	free(o->path);
	o->path = NULL;
}

int sk_write_file(const char *path, const void *p, size_t n, mode_t mode)
{
	struct sk_out o;
	int rc;

	if ((rc = sk_out_open(&o, path, mode)) != SK_OK)
		return rc;
	if ((rc = sk_out_write(&o, p, n)) != SK_OK) {
		sk_out_abort(&o);
		return rc;
	}
	return sk_out_commit(&o);
}

int sk_write_file_nosync(const char *path, const void *p, size_t n, mode_t mode)
{
	char dir[PATH_MAX], proc[64];
	struct sk_out o;
	int fd, rc;

	sk_dirname(path, dir, sizeof(dir));
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode & 07777);
	if (fd >= 0) {
		if (sk_write_all(fd, p, n) != 0) {
			rc = sk_err_sys(SK_EFAIL, "writing '%s'", path);
			close(fd);
			return rc;
		}
		/* linkat(fd, "", ..., AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH;
		 * the /proc link does not.  It never replaces: EEXIST. */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		rc = linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
		if (rc == 0) {
			if (close(fd) != 0)
				return sk_err_sys(SK_EFAIL, "writing '%s'", path);
			return SK_OK;
		}
		rc = errno;
		close(fd);
		if (rc != EEXIST && rc != ENOENT && rc != EPERM && rc != EXDEV) {
			errno = rc;
			return sk_err_sys(SK_EFAIL, "creating '%s'", path);
		}
	} else if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
		return sk_err_sys(SK_EFAIL, "creating '%s'", path);
	}
	/* An existing name, or no O_TMPFILE / no /proc: temporary + rename. */
	if ((rc = sk_out_open(&o, path, mode)) != SK_OK)
		return rc;
	o.nosync = 1;
	if ((rc = sk_out_write(&o, p, n)) != SK_OK) {
		sk_out_abort(&o);
		return rc;
	}
	return sk_out_commit(&o);
}
