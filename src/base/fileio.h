/* SPDX-License-Identifier: MIT */
#ifndef SK_FILEIO_H
#define SK_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/util.h"

/* Largest file read whole into memory (keys, certificates, packages'
 * headers, YAML).  Bulk data is always streamed. */
#define SK_SMALL_FILE_MAX (16u << 20)

/* Read a whole file ("-" = stdin) of at most max bytes, appended to out;
 * on failure out is as it was (an empty buffer is freed). */
int sk_read_file(const char *path, size_t max, struct sk_buf *out);

/*
 * Output written atomically: data goes to a temporary file created with
 * O_EXCL next to the target, and only sk_out_commit() renames it into place
 * (after fsync, then fsync of the directory).  sk_out_abort() (also safe
 * after commit, and on a zeroed struct) removes the temporary file, so a
 * failed command leaves nothing behind.  "-" writes straight to stdout.
 * mode: 0600 for anything secret; 0666 (masked by umask) for public data.
 * A target that exists and is not a regular file (/dev/null, a FIFO,
 * /dev/stdout) is written directly: renaming over it would replace the
 * device or pipe with a file.  Secret data (mode without group or other
 * bits) is written directly only into a FIFO or device that path names
 * itself, owned by the user or root: a symbolic link is never followed
 * (one to a FIFO or device is an error, one to a regular file is replaced
 * by the rename).
 */
struct sk_out {
	int fd;
	int is_stdout;
	int direct;      /* writing straight into a device or FIFO */
	int committed;
	char *tmp;
	char *path;
	/* Set after sk_out_open to skip both fsyncs in sk_out_commit: for
	 * batches of many small files that end with one sk_syncfs() (the
	 * rename still makes each file appear whole or not at all). */
	int nosync;
	/* Set by sk_out_open_new: the commit links the temporary file to
	 * path and never replaces anything there. */
	int noreplace;
};
int sk_out_open(struct sk_out *o, const char *path, mode_t mode);
/*
 * The in-place half of sk_out_open, for writers that make their own
 * temporary file (the FILE.part of a fleet archive), with secret data's
 * rules for links whatever the mode: a target that exists and is a FIFO or
 * a device, named directly (for secret data: the user's or root's), is
 * opened in place (o->direct; sk_out_commit closes it).  A new path, a
 * regular file, a symbolic link to one or a dangling link leave o->fd at
 * -1: the caller writes its temporary file and renames it over path (the
 * link itself is replaced, never its target).  A directory, a socket or a
 * symbolic link to anything else is SK_EFAIL, with nothing opened.
 */
int sk_out_open_inplace(struct sk_out *o, const char *path, mode_t mode);
/* A new file at path, never anything that exists there (a file, a
 * symbolic link, dangling or not, a FIFO): SK_EEXIST now, or at the
 * commit if one appeared meanwhile.  "-" is a usage error. */
int sk_out_open_new(struct sk_out *o, const char *path, mode_t mode);
/* Standard output carries a report of its own (set once by the command
 * layer): sk_out_open("-") is then a usage error marked SK_REMEDY_OUT. */
void sk_out_reserve_stdout(int reserved);
/* 1 if writing path cannot be undone ("-", a device, a FIFO): data that
 * must not be released before a check passes has to be held back. */
int sk_out_is_stream(const char *path);
int sk_out_write(struct sk_out *o, const void *p, size_t n);
int sk_out_commit(struct sk_out *o);
void sk_out_abort(struct sk_out *o);
/* One-shot helper: write buf to path atomically. */
int sk_write_file(const char *path, const void *p, size_t n, mode_t mode);
/* The same without the fsyncs (the caller syncs a whole batch with
 * sk_syncfs): for many small files.  A name that does not exist yet gets
 * the file through O_TMPFILE and one link, so no temporary name enters
 * the directory; an existing one is replaced through a temporary and
 * rename(2), as sk_write_file does. */
int sk_write_file_nosync(const char *path, const void *p, size_t n, mode_t mode);

/* Streaming input ("-" = stdin). */
#define SK_IN_PEEK_MAX 64
struct sk_in {
	int fd;
	int is_stdin;
	const char *path;
	/* Bytes sk_in_peek read ahead, handed out again by sk_in_read; while
	 * some are pending, fd's offset is ahead of the stream's. */
	uint8_t peek[SK_IN_PEEK_MAX];
	size_t peeklen, peekoff;
};
/* How messages name a file argument: "<stdin>" for "-", else the path. */
const char *sk_path_name(const char *path);

int sk_in_open(struct sk_in *in, const char *path);
/* Reads up to n bytes; returns bytes read (0 at EOF) or -1 with error set. */
ssize_t sk_in_read(struct sk_in *in, void *p, size_t n);
/*
 * Look at the first n (<= SK_IN_PEEK_MAX) bytes of a stream that nothing
 * has read yet, without consuming them: *p points at them and the next
 * sk_in_read returns them again.  Works on pipes (stdin), where the file
 * cannot be opened a second time.  Returns the bytes available (fewer at
 * EOF) or -1 with the error set.
 */
ssize_t sk_in_peek(struct sk_in *in, size_t n, const uint8_t **p);
/* Read the rest of in (at most max bytes) appended to out, as
 * sk_read_file does. */
int sk_in_read_all(struct sk_in *in, size_t max, struct sk_buf *out);
void sk_in_close(struct sk_in *in);

/* write(2) all of it, retrying on EINTR / short writes. */
int sk_write_all(int fd, const void *p, size_t n);
/* read(2) until n bytes or EOF; returns bytes read or -1. */
ssize_t sk_read_full(int fd, void *p, size_t n);
/* Flush everything written to the filesystem holding dir (syncfs(2)),
 * then dir itself: the end of a batch written with sk_out.nosync. */
int sk_syncfs(const char *dir);
/* fsync a directory (after a rename into it). */
int sk_fsync_dir(const char *dir);
/* Directory part of path into out (".", if none). */
void sk_dirname(const char *path, char *out, size_t outlen);

#endif
