/* SPDX-License-Identifier: MIT */
/* Where a batch puts its per-device outputs: a directory, or one tar
 * archive written as devices finish, and the manifest (fleet.h). */
#include "format/fleet.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/bigset.h"
#include "base/tar.h"
#include "base/util.h"
#include "crypto/sha256kdf.h"

struct sk_fleet_out {
	struct sk_fleet_out_opts o;
	pthread_mutex_t lock;
	int fd, mfd;             /* archive (or -1: a directory), manifest (-1: none) */
	char *part, *mpart;      /* FILE.part names (NULL: standard output, a FIFO
				  * or device written in place, none) */
	int64_t mtime;           /* of every entry: the start of the run */
	size_t written, resumed;
	/* ids already in a resumed archive (bounded memory: bigset.h) */
	struct sk_bigset *done;
	int failed;              /* a write failed: nothing more is written */
	int was_final;           /* resume: the archive was a finished FILE */
	/* resume with manifest_extra: the manifest being continued is read
	 * at mread (through rbuf) and its kept lines written back at mwrite */
	off_t mread, mwrite;
	uint8_t *rbuf;
	size_t rpos, rlen;
	off_t roff;              /* of rbuf[0] */
	struct sk_buf rline;
	/* what put and error have made, written in pieces of about WBUF_SIZE
	 * (or after FLUSH_SECONDS): the manifest's lines before the entries,
	 * whole entries and lines only */
	struct sk_buf abuf, mbuf;
	time_t flushed;          /* CLOCK_MONOTONIC seconds of the last write */
};

#define MLINE_MAX 16384 /* longer lines of a resumed manifest are not kept */
#define RBUF_SIZE 65536
/* Two write calls per device cost more than its manifest line; a piece of
 * 64 KiB is about 40 OOIDs.  A slow signer (a token) still streams. */
#define WBUF_SIZE 65536
#define FLUSH_SECONDS 1

/* JSON string body of s (ids are plain; messages may hold anything). */
static int json_str(struct sk_buf *b, const char *s)
{
	char esc[8];
	int rc = SK_OK;

	for (; *s && rc == SK_OK; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			rc = sk_buf_add(b, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			rc = sk_buf_add(b, esc, 6);
		} else {
			rc = sk_buf_add(b, s, 1);
		}
	}
	return rc;
}

static int manifest_ok_line(struct sk_buf *b, const char *id, const uint8_t *p, size_t n,
			    const char *extra)
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1];
	int rc;

	sk_sha256(p, n, md);
	sk_hex(hex, md, sizeof(md));
	if ((rc = sk_buf_add(b, "{\"device\":\"", 11)) != SK_OK || (rc = json_str(b, id)) != SK_OK ||
	    (rc = sk_buf_add(b, "\",\"sha256\":\"", 12)) != SK_OK ||
	    (rc = sk_buf_add(b, hex, strlen(hex))) != SK_OK || (rc = sk_buf_add(b, "\"", 1)) != SK_OK)
		return rc;
	if (extra != NULL && ((rc = sk_buf_add(b, ",", 1)) != SK_OK ||
			      (rc = sk_buf_add(b, extra, strlen(extra))) != SK_OK))
		return rc;
	return sk_buf_add(b, "}\n", 2);
}

static int write_fd(struct sk_fleet_out *o, int fd, const char *what, const void *p, size_t n)
{
	if (sk_write_all(fd, p, n) != 0) {
		o->failed = 1;
		return sk_err_sys(SK_EFAIL, "writing '%s'", what);
	}
	return SK_OK;
}

static const char *name_of(const char *path, const char *part)
{
	return part != NULL ? part : path;
}

static time_t now_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

/* Write what is buffered, the manifest's lines first (every whole entry
 * of a part has its line); called with the lock held or by one thread. */
static int flush_bufs(struct sk_fleet_out *o)
{
	int rc = SK_OK;

	if (o->failed)
		rc = sk_err(SK_EFAIL, "an earlier write failed");
	if (rc == SK_OK && o->mbuf.len > 0)
		rc = write_fd(o, o->mfd, name_of(o->o.manifest, o->mpart), o->mbuf.p, o->mbuf.len);
	if (rc == SK_OK && o->abuf.len > 0)
		rc = write_fd(o, o->fd, name_of(o->o.archive, o->part), o->abuf.p, o->abuf.len);
	o->mbuf.len = o->abuf.len = 0;
	o->flushed = now_seconds();
	return rc;
}

static int flush_due(struct sk_fleet_out *o)
{
	if (o->mbuf.len + o->abuf.len >= WBUF_SIZE || now_seconds() - o->flushed >= FLUSH_SECONDS)
		return flush_bufs(o);
	return SK_OK;
}

/* The next whole line of the manifest being resumed into o->rline (its
 * start in *at): 1, or 0 at its end (a trailing piece of a line is not a
 * line).  A line longer than MLINE_MAX comes back empty. */
static int next_line(struct sk_fleet_out *o, off_t *at)
{
	int toolong = 0;

	o->rline.len = 0;
	*at = o->roff + (off_t)o->rpos;
	for (;;) {
		uint8_t *nl;
		size_t k;

		if (o->rpos == o->rlen) {
			ssize_t got;

			o->roff += (off_t)o->rlen;
			o->rpos = o->rlen = 0;
			got = pread(o->mfd, o->rbuf, RBUF_SIZE, o->roff);
			if (got < 0)
				return sk_err_sys(SK_EFAIL, "reading '%s'", o->mpart);
			if (got == 0)
				return 0;
			o->rlen = (size_t)got;
		}
		nl = memchr(o->rbuf + o->rpos, '\n', o->rlen - o->rpos);
		k = (nl ? (size_t)(nl - (o->rbuf + o->rpos)) + 1 : o->rlen - o->rpos);
		if (!toolong && o->rline.len + k > MLINE_MAX)
			toolong = 1;
		if (!toolong && sk_buf_add(&o->rline, o->rbuf + o->rpos, k) != SK_OK)
			return sk_err(SK_EFAIL, "out of memory");
		o->rpos += k;
		if (nl != NULL) {
			if (toolong)
				o->rline.len = 0;
			return 1;
		}
	}
}

/* Resume with manifest_extra: find the line of an archive entry in the
 * manifest being continued (lines in the order of the entries; lines of
 * devices without an entry, error lines and torn lines are dropped) and
 * write it back at mwrite, which never passes what has been read. */
static int keep_line(struct sk_fleet_out *o, const char *dev, const uint8_t *p, size_t n)
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1], want[SK_FLEET_ID_MAX + 2 * SHA256_DIGEST_LENGTH + 32];
	size_t wl;
	off_t at;
	int r;

	sk_sha256(p, n, md);
	sk_hex(hex, md, sizeof(md));
	wl = (size_t)snprintf(want, sizeof(want), "{\"device\":\"%s\",\"sha256\":\"%s\"", dev, hex);
	while ((r = next_line(o, &at)) == 1) {
		const char *l = (const char *)o->rline.p;

		if (o->rline.len > wl + 1 && memcmp(l, want, wl) == 0 &&
		    (l[wl] == ',' || l[wl] == '}') && l[o->rline.len - 2] == '}') {
			if (pwrite(o->mfd, o->rline.p, o->rline.len, o->mwrite) != (ssize_t)o->rline.len)
				return sk_err_sys(SK_EFAIL, "writing '%s'", o->mpart);
			o->mwrite += (off_t)o->rline.len;
			return SK_OK;
		}
	}
	if (r < 0)
		return r;
	return sk_err(SK_ECONFIG, "'%s': no line for device '%s' of '%s' (the manifest of the run resumed)",
		      o->mpart, dev, o->part);
}

/* A resumed archive: remember its entries, write their manifest lines. */
static int resume_entry(void *arg, const char *name, const uint8_t *data, size_t n)
{
	struct sk_fleet_out *o = arg;
	size_t sl = strlen(o->o.suffix), nl = strlen(name);
	uint64_t first;
	char dev[SK_FLEET_ID_MAX + 1];
	struct sk_buf line = { 0 };
	int rc, dup;

	if (nl <= sl || nl - sl > SK_FLEET_ID_MAX || strcmp(name + nl - sl, o->o.suffix) != 0)
		return sk_err(SK_ECONFIG, "'%s': entry '%s' is not DEVICE%s", o->part, name, o->o.suffix);
	snprintf(dev, sizeof(dev), "%.*s", (int)(nl - sl), name);
	if (!sk_fleet_id_valid(dev))
		return sk_err(SK_ECONFIG, "'%s': entry '%s' is not DEVICE%s", o->part, name, o->o.suffix);
	if (o->done == NULL && (rc = sk_bigset_new(o->o.tmpdir, &o->done)) != SK_OK)
		return rc;
	if ((rc = sk_bigset_add(o->done, dev, 0, &dup, &first)) != SK_OK)
		return rc;
	if (dup)
		return sk_err(SK_ECONFIG, "'%s': device '%s' is in it twice", o->part, dev);
	o->resumed++;
	if (o->mfd < 0)
		return SK_OK;
	if (o->o.manifest_extra)
		return keep_line(o, dev, data, n);
	if ((rc = manifest_ok_line(&line, dev, data, n, NULL)) == SK_OK)
		rc = write_fd(o, o->mfd, name_of(o->o.manifest, o->mpart), line.p, line.len);
	sk_buf_free(&line);
	return rc;
}

static char *part_name(const char *path)
{
	size_t n = strlen(path) + sizeof(".part");
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s.part", path);
	return p;
}

/* FILE.part: new (O_EXCL), or continued (resume). */
static int open_part(const char *part, int resume, mode_t mode, int *fd)
{
	int flags = O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW;

	*fd = open(part, resume ? flags : flags | O_EXCL, mode);
	if (*fd >= 0) {
		/* one writer at a time (a resumed run while the first still runs) */
		if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
			return SK_OK;
		close(*fd);
		*fd = -1;
		if (errno == EWOULDBLOCK)
			return sk_err(SK_EEXIST, "'%s' is being written by another run", part);
		return sk_err_sys(SK_EFAIL, "locking '%s'", part);
	}
	if (errno == EEXIST)
		return sk_err(SK_EEXIST,
			      "'%s' exists: an earlier run was cut short (resume it, or remove it)", part);
	return sk_err_sys(SK_EFAIL, "creating '%s'", part);
}

/* A target that exists and is a FIFO or a device (/dev/null) is written
 * in place, as "-" is: renaming FILE.part over it would replace the node
 * with a file.  *fd stays -1 for a new path or a regular file (the part
 * way); a directory, a socket or a link to anything but a regular file is
 * refused (sk_out_open_inplace). */
static int open_inplace(const struct sk_fleet_out *o, const char *path, int continued, int *fd)
{
	struct sk_out so;
	struct stat sb;
	int rc;

	/* refused before a FIFO's open blocks for its reader */
	if (continued && stat(path, &sb) == 0 &&
	    (S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode)))
		return sk_err(SK_EUSAGE, "'%s' is a FIFO or a device: there is nothing to resume in it",
			      path);
	if ((rc = sk_out_open_inplace(&so, path, o->o.mode)) != SK_OK || !so.direct)
		return rc;
	*fd = so.fd;
	so.fd = -1;
	sk_out_abort(&so);
	return SK_OK;
}

static int open_archive(struct sk_fleet_out *o)
{
	const char *path = o->o.archive;
	struct stat sb;
	int rc;

	if (strcmp(path, "-") == 0) {
		o->fd = STDOUT_FILENO;
		return SK_OK;
	}
	if ((rc = open_inplace(o, path, o->o.resume, &o->fd)) != SK_OK || o->fd >= 0)
		return rc;
	if ((o->part = part_name(path)) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	/* resume a finished archive: it becomes the part again */
	if (o->o.resume && lstat(o->part, &sb) != 0 && lstat(path, &sb) == 0) {
		if (rename(path, o->part) != 0)
			return sk_err_sys(SK_EFAIL, "renaming '%s'", path);
		o->was_final = 1;
	}
	return open_part(o->part, o->o.resume, o->o.mode, &o->fd);
}

static int resume_archive(struct sk_fleet_out *o)
{
	off_t end;
	int rc;

	if ((rc = sk_tar_scan(o->fd, o->part, 1u << 20, resume_entry, o, &end)) != SK_OK)
		return rc;
	/* the manifest continued: its kept lines, then this run's */
	if (o->rbuf != NULL && (ftruncate(o->mfd, o->mwrite) != 0 ||
				lseek(o->mfd, o->mwrite, SEEK_SET) != o->mwrite))
		return sk_err_sys(SK_EFAIL, "truncating '%s'", o->mpart);
	/* cut a trailing piece of an entry (or the end blocks) and go on there */
	if (ftruncate(o->fd, end) != 0 || lseek(o->fd, end, SEEK_SET) != end)
		return sk_err_sys(SK_EFAIL, "truncating '%s'", o->part);
	return SK_OK;
}

static int open_manifest(struct sk_fleet_out *o)
{
	const char *path = o->o.manifest;
	int rc;

	if (path == NULL)
		return SK_OK;
	if (strcmp(path, "-") == 0) {
		o->mfd = STDOUT_FILENO;
		return SK_OK;
	}
	rc = open_inplace(o, path, o->o.resume && o->o.manifest_extra, &o->mfd);
	if (rc != SK_OK || o->mfd >= 0)
		return rc;
	if ((o->mpart = part_name(path)) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	if (o->o.resume && o->o.manifest_extra) {
		struct stat sb;

		/* continued, as the archive is (a finished run's FILE too) */
		if (o->was_final && lstat(o->mpart, &sb) != 0 && lstat(path, &sb) == 0 &&
		    rename(path, o->mpart) != 0)
			return sk_err_sys(SK_EFAIL, "renaming '%s'", path);
		if ((o->rbuf = malloc(RBUF_SIZE)) == NULL)
			return sk_err(SK_EFAIL, "out of memory");
		return open_part(o->mpart, 1, o->o.mode, &o->mfd);
	}
	if (o->o.resume)
		(void)unlink(o->mpart); /* made again from the archive */
	return open_part(o->mpart, 0, o->o.mode, &o->mfd);
}

int sk_fleet_out_open(const struct sk_fleet_out_opts *opts, struct sk_fleet_out **out)
{
	struct sk_fleet_out *o = calloc(1, sizeof(*o));
	struct stat sb;
	int rc = SK_OK;

	*out = NULL;
	if (o == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	o->o = *opts;
	o->fd = o->mfd = -1;
	o->mtime = (int64_t)time(NULL);
	o->flushed = now_seconds();
	pthread_mutex_init(&o->lock, NULL);
	if (opts->dir != NULL) {
		if (stat(opts->dir, &sb) != 0) {
			if (errno != ENOENT || mkdir(opts->dir, 0777) != 0)
				rc = sk_err_sys(SK_EFAIL, "creating '%s'", opts->dir);
		} else if (!S_ISDIR(sb.st_mode)) {
			rc = sk_err(SK_EFAIL, "'%s' is not a directory", opts->dir);
		}
	}
	/* the archive (locked) first; then the manifest, into which resuming
	 * writes the lines of the entries already there */
	if (rc == SK_OK && opts->archive != NULL)
		rc = open_archive(o);
	if (rc == SK_OK)
		rc = open_manifest(o);
	if (rc == SK_OK && opts->resume)
		rc = resume_archive(o);
	if (rc != SK_OK) {
		sk_fleet_out_close(o, -1);
		return rc;
	}
	*out = o;
	return SK_OK;
}

int sk_fleet_out_has(const struct sk_fleet_out *o, const char *id, int *has)
{
	*has = 0;
	if (o->resumed == 0)
		return SK_OK;
	return sk_bigset_get(o->done, id, has, NULL);
}

int sk_fleet_out_has_part(const struct sk_fleet_out *o)
{
	return o->part != NULL;
}

size_t sk_fleet_out_written(const struct sk_fleet_out *o)
{
	return o->written;
}

size_t sk_fleet_out_resumed(const struct sk_fleet_out *o)
{
	return o->resumed;
}

int sk_fleet_out_put(struct sk_fleet_out *o, const char *id, const uint8_t *p, size_t n,
		     const char *extra, char *path, size_t pathcap)
{
	struct sk_buf ent = { 0 }, line = { 0 };
	char name[SK_FLEET_ID_MAX + 16];
	int rc = SK_OK;

	snprintf(name, sizeof(name), "%s%s", id, o->o.suffix);
	if (o->fd < 0) {
		snprintf(path, pathcap, "%s/%s", o->o.dir, name);
		rc = sk_write_file_nosync(path, p, n, o->o.mode);
	} else {
		rc = sk_tar_entry(&ent, name, p, n, 0644, o->mtime);
	}
	if (rc == SK_OK && o->mfd >= 0)
		rc = manifest_ok_line(&line, id, p, n, extra);
	if (rc == SK_OK) {
		pthread_mutex_lock(&o->lock);
		if (o->failed)
			rc = sk_err(SK_EFAIL, "an earlier write failed");
		/* the line is written first (flush_bufs): every whole entry of
		 * a part has its line (manifest_extra: resume takes them from
		 * there) */
		if (rc == SK_OK && o->mfd >= 0)
			rc = sk_buf_add(&o->mbuf, line.p, line.len);
		if (rc == SK_OK && o->fd >= 0)
			rc = sk_buf_add(&o->abuf, ent.p, ent.len);
		if (rc == SK_OK) {
			o->written++;
			rc = flush_due(o);
		}
		pthread_mutex_unlock(&o->lock);
	}
	sk_buf_free(&ent);
	sk_buf_free(&line);
	return rc;
}

int sk_fleet_out_error(struct sk_fleet_out *o, const char *id, int rc, const char *code,
		       const char *msg)
{
	struct sk_buf b = { 0 };
	char num[16];
	int r;

	if (o->mfd < 0)
		return SK_OK;
	snprintf(num, sizeof(num), "%d", rc);
	if ((r = sk_buf_add(&b, "{\"device\":\"", 11)) == SK_OK && (r = json_str(&b, id)) == SK_OK &&
	    (r = sk_buf_add(&b, "\",\"error\":{\"code\":\"", 19)) == SK_OK &&
	    (r = json_str(&b, code)) == SK_OK && (r = sk_buf_add(&b, "\",\"exit\":", 9)) == SK_OK &&
	    (r = sk_buf_add(&b, num, strlen(num))) == SK_OK &&
	    (r = sk_buf_add(&b, ",\"message\":\"", 12)) == SK_OK && (r = json_str(&b, msg)) == SK_OK &&
	    (r = sk_buf_add(&b, "\"}}\n", 4)) == SK_OK) {
		pthread_mutex_lock(&o->lock);
		r = sk_buf_add(&o->mbuf, b.p, b.len);
		if (r == SK_OK)
			r = flush_due(o);
		pthread_mutex_unlock(&o->lock);
	}
	sk_buf_free(&b);
	return r;
}

/* fsync and rename FILE.part to FILE, then sync the directory. */
static int finish_part(int fd, const char *part, const char *path)
{
	char dir[4096];

	if (fsync(fd) != 0)
		return sk_err_sys(SK_EFAIL, "syncing '%s'", part);
	if (rename(part, path) != 0)
		return sk_err_sys(SK_EFAIL, "renaming '%s' to '%s'", part, path);
	sk_dirname(path, dir, sizeof(dir));
	if (sk_fsync_dir(dir) != 0)
		return sk_err_sys(SK_EFAIL, "syncing '%s'", dir);
	return SK_OK;
}

int sk_fleet_out_close(struct sk_fleet_out *o, int ok)
{
	int rc = SK_OK;

	if (o == NULL)
		return SK_OK;
	/* a run that stopped keeps what it made too (whole entries) */
	if (ok >= 0 && !o->failed && (o->mbuf.len > 0 || o->abuf.len > 0))
		rc = flush_bufs(o);
	if (ok > 0 && (o->failed || rc != SK_OK))
		ok = 0;
	if (ok > 0 && o->fd >= 0)
		rc = write_fd(o, o->fd, name_of(o->o.archive, o->part), sk_tar_end, sizeof(sk_tar_end));
	if (ok > 0 && rc == SK_OK && o->fd < 0 && o->written > 0)
		rc = sk_syncfs(o->o.dir);
	/* the archive before the manifest: a manifest names only what is there */
	if (ok > 0 && rc == SK_OK && o->part != NULL)
		rc = finish_part(o->fd, o->part, o->o.archive);
	if (ok > 0 && rc == SK_OK && o->mpart != NULL)
		rc = finish_part(o->mfd, o->mpart, o->o.manifest);
	/* a run that could not start leaves nothing; one cut short keeps its
	 * parts, whose whole entries a resumed run keeps */
	if (ok < 0 && o->part != NULL && o->fd >= 0 && !o->o.resume)
		(void)unlink(o->part);
	if (ok < 0 && o->mpart != NULL && o->mfd >= 0 && !(o->o.resume && o->o.manifest_extra))
		(void)unlink(o->mpart);
	if (o->fd > STDOUT_FILENO)
		close(o->fd);
	if (o->mfd > STDOUT_FILENO)
		close(o->mfd);
	pthread_mutex_destroy(&o->lock);
	sk_bigset_free(o->done);
	free(o->part);
	free(o->mpart);
	free(o->rbuf);
	sk_buf_free(&o->rline);
	sk_buf_free(&o->abuf);
	sk_buf_free(&o->mbuf);
	free(o);
	return rc;
}
