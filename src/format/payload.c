/* SPDX-License-Identifier: MIT */
/* Signed payload packages: see payload.h and docs/formats/payload.md. */
#include "format/payload.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "base/fileio.h"

/* Big enough that syscalls and digest calls cost nothing next to the
 * hashing, small enough to keep the resident size a few MiB. */
#define CHUNK (256u << 10)

typedef struct {
	X509_ALGOR *digestAlgorithm;
	ASN1_INTEGER *payloadSize;
} SK_PAYLOAD_INFO;

ASN1_SEQUENCE(SK_PAYLOAD_INFO) = {
	ASN1_SIMPLE(SK_PAYLOAD_INFO, digestAlgorithm, X509_ALGOR),
	ASN1_SIMPLE(SK_PAYLOAD_INFO, payloadSize, ASN1_INTEGER),
} static_ASN1_SEQUENCE_END(SK_PAYLOAD_INFO)

DECLARE_ASN1_FUNCTIONS(SK_PAYLOAD_INFO)
IMPLEMENT_ASN1_FUNCTIONS(SK_PAYLOAD_INFO)

static int body_encode(const EVP_MD *md, uint64_t size, struct sk_buf *out)
{
	SK_PAYLOAD_INFO *pi = SK_PAYLOAD_INFO_new();
	int rc;

	if (pi == NULL || !ASN1_INTEGER_set_uint64(pi->payloadSize, size)) {
		SK_PAYLOAD_INFO_free(pi);
		return sk_err_ssl(SK_EFAIL, "payload header");
	}
	X509_ALGOR_free(pi->digestAlgorithm);
	pi->digestAlgorithm = NULL;
	if ((rc = sk_mdalg_make(md, &pi->digestAlgorithm)) == SK_OK)
		rc = sk_asn1_encode(ASN1_ITEM_rptr(SK_PAYLOAD_INFO), pi, out);
	SK_PAYLOAD_INFO_free(pi);
	return rc;
}

static void info_fill(struct sk_payload_info *info, const struct sk_pkg *p, uint64_t size)
{
	info->version = p->version;
	info->md = p->md;
	info->size = size;
	sk_sigalg_describe(p->sigalg, info->sigalg, sizeof(info->sigalg));
	snprintf(info->signer, sizeof(info->signer), "%s", p->signer_hex);
}

/*
 * Read up to and including the payload's tag and length: header checked
 * and decoded into p and info; phdr/phl the payload TLV header; *left the
 * bytes of the outer SEQUENCE after the payload (the signature's).
 */
static int read_header(struct sk_in *in, struct sk_pkg *p, struct sk_payload_info *info,
		       uint8_t phdr[10], size_t *phl, uint64_t *left)
{
	SK_PAYLOAD_INFO *pi = NULL;
	const EVP_MD *md;
	uint64_t size, plen;
	int rc;

	if ((rc = sk_pkg_read_head(in, SK_PKG_PAYLOAD, SK_PAYLOAD_VERSION, p, left)) != SK_OK)
		return rc;
	if ((rc = sk_asn1_decode(ASN1_ITEM_rptr(SK_PAYLOAD_INFO), p->body, p->bodylen,
				 "payload header", (void **)&pi)) != SK_OK)
		return rc;
	if ((rc = sk_mdalg_parse(pi->digestAlgorithm, &md)) != SK_OK)
		goto out;
	if (EVP_MD_get_type(md) != EVP_MD_get_type(p->md)) {
		rc = sk_err(SK_EVERIFY, "digest algorithm %s differs from the signature's (%s)",
			    sk_md_name(md), sk_md_name(p->md));
		goto out;
	}
	if (!ASN1_INTEGER_get_uint64(&size, pi->payloadSize) || size > SK_PAYLOAD_MAX) {
		ERR_clear_error();
		rc = sk_err(SK_EVERIFY, "payload size: not a size from 0 to 2^62");
		goto out;
	}
	info_fill(info, p, size);
	if ((rc = sk_der_read_hdr(in, 0x04, *left, "payload", &plen, phdr, phl)) != SK_OK)
		goto out;
	if (plen != size) {
		rc = sk_err(SK_EVERIFY, "payload: %llu bytes, but the header says %llu",
			    (unsigned long long)plen, (unsigned long long)size);
		goto out;
	}
	if (*phl + plen > *left) {
		rc = sk_err(SK_EVERIFY, "payload: longer than the package");
		goto out;
	}
	*left -= *phl + plen;
out:
	SK_PAYLOAD_INFO_free(pi);
	return rc;
}

int sk_payload_show(const char *path, struct sk_payload_info *info)
{
	struct sk_in in = { .fd = -1 };
	struct sk_pkg p = { 0 };
	uint8_t phdr[10];
	size_t phl;
	uint64_t left;
	int rc;

	memset(info, 0, sizeof(*info));
	if ((rc = sk_in_open(&in, path)) != SK_OK)
		return rc;
	if ((rc = read_header(&in, &p, info, phdr, &phl, &left)) == SK_EVERIFY)
		sk_err_wrap(rc, "%s", sk_path_name(path));
	sk_pkg_free(&p);
	sk_in_close(&in);
	return rc;
}

/*
 * Writing overlaps hashing: a writer thread writes one chunk while the
 * next is read and hashed, so on a machine with a spare core making or
 * extracting a package costs about one hash pass instead of hash + copy.
 * The bytes written are the very bytes hashed (one buffer, handed over).
 */
struct writer {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint8_t *buf[2];
	size_t len[2];
	int full[2];
	int stop;
	int rc;             /* first write error, and its message: */
	char msg[1024];
	struct sk_out *o;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	int j = 0, rc;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->full[j] && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->full[j])
			break;
		rc = w->rc;
		pthread_mutex_unlock(&w->mu);
		if (rc == SK_OK)
			rc = sk_out_write(w->o, w->buf[j], w->len[j]);
		pthread_mutex_lock(&w->mu);
		if (rc != SK_OK && w->rc == SK_OK) {
			w->rc = rc;
			snprintf(w->msg, sizeof(w->msg), "%s", sk_err_msg());
		}
		w->full[j] = 0;
		pthread_cond_broadcast(&w->cv);
		j ^= 1;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/*
 * Move n bytes from in through the digest (and to o, if given).  A short
 * read returns short_rc with short_msg.  buf holds 2 * CHUNK bytes.
 */
static int pump(struct sk_in *in, uint64_t n, EVP_MD_CTX *h, struct sk_out *o, uint8_t *buf,
		sk_progress_fn progress, void *arg, int short_rc, const char *short_msg)
{
	struct writer w;
	uint64_t done = 0;
	int i = 0, rc = SK_OK, threaded = 0;

	memset(&w, 0, sizeof(w));
	w.buf[0] = buf;
	w.buf[1] = buf + CHUNK;
	w.o = o;
	if (o != NULL && n > CHUNK && pthread_mutex_init(&w.mu, NULL) == 0) {
		if (pthread_cond_init(&w.cv, NULL) == 0) {
			if (pthread_create(&w.th, NULL, writer_main, &w) == 0)
				threaded = 1;
			else
				pthread_cond_destroy(&w.cv);
		}
		if (!threaded)
			pthread_mutex_destroy(&w.mu);
	}
	while (done < n && rc == SK_OK) {
		size_t want = n - done < CHUNK ? (size_t)(n - done) : CHUNK;
		ssize_t r;

		if (threaded) {
			pthread_mutex_lock(&w.mu);
			while (w.full[i] && w.rc == SK_OK)
				pthread_cond_wait(&w.cv, &w.mu);
			rc = w.rc;
			pthread_mutex_unlock(&w.mu);
			if (rc != SK_OK)
				break;
		}
		r = sk_in_read(in, w.buf[i], want);
		if (r < 0) {
			rc = SK_EFAIL;
			break;
		}
		if ((size_t)r < want) {
			rc = sk_err(short_rc, "%s", short_msg);
			break;
		}
		if (EVP_DigestUpdate(h, w.buf[i], want) != 1) {
			rc = sk_err_ssl(SK_EFAIL, "digest");
			break;
		}
		if (threaded) {
			pthread_mutex_lock(&w.mu);
			w.len[i] = want;
			w.full[i] = 1;
			pthread_cond_broadcast(&w.cv);
			pthread_mutex_unlock(&w.mu);
			i ^= 1;
		} else if (o != NULL) {
			rc = sk_out_write(o, w.buf[i], want);
		}
		done += want;
		if (progress)
			progress(arg, done, n);
	}
	if (threaded) {
		pthread_mutex_lock(&w.mu);
		w.stop = 1;
		pthread_cond_broadcast(&w.cv);
		pthread_mutex_unlock(&w.mu);
		pthread_join(w.th, NULL);
		pthread_cond_destroy(&w.cv);
		pthread_mutex_destroy(&w.mu);
		/* A write error wins: it happened first. */
		if (w.rc != SK_OK)
			rc = sk_err(w.rc, "%s", w.msg);
	}
	return rc;
}

/* 1 if the stream has more bytes, 0 at its end, -1 on error. */
static int more_data(struct sk_in *in)
{
	uint8_t b;
	ssize_t r = sk_in_read(in, &b, 1);

	return r < 0 ? -1 : r > 0;
}

/* ---- make ---- */

static int measure(struct sk_in *in, uint64_t *size, struct stat *st)
{
	off_t cur, end;

	if (fstat(in->fd, st) != 0)
		return sk_err_sys(SK_EFAIL, "reading '%s'", in->path);
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode))
		return sk_err(SK_EUSAGE, "'%s' is not a regular file: the signed header holds the payload's size ahead of the payload, so make needs a file it can measure (save the stream to a file first)",
			      in->is_stdin ? "<stdin>" : in->path);
	if ((cur = lseek(in->fd, 0, SEEK_CUR)) < 0 || (end = lseek(in->fd, 0, SEEK_END)) < 0 ||
	    lseek(in->fd, cur, SEEK_SET) < 0)
		return sk_err_sys(SK_EFAIL, "reading '%s'", in->path);
	*size = (uint64_t)(end - cur);
	if (*size > SK_PAYLOAD_MAX)
		return sk_err(SK_EFAIL, "'%s' is too large for a payload package", in->path);
	(void)posix_fadvise(in->fd, cur, 0, POSIX_FADV_SEQUENTIAL);
	return SK_OK;
}

static int unchanged(struct sk_in *in, const struct stat *before)
{
	struct stat now;

	if (fstat(in->fd, &now) != 0)
		return sk_err_sys(SK_EFAIL, "reading '%s'", in->path);
	if (S_ISREG(now.st_mode) &&
	    (now.st_size != before->st_size || now.st_mtim.tv_sec != before->st_mtim.tv_sec ||
	     now.st_mtim.tv_nsec != before->st_mtim.tv_nsec))
		return sk_err(SK_EFAIL, "'%s' changed while it was being packaged", in->path);
	return SK_OK;
}

static int digest_final(EVP_MD_CTX *h, uint8_t *d, size_t *dlen)
{
	unsigned int len;

	if (EVP_DigestFinal_ex(h, d, &len) != 1)
		return sk_err_ssl(SK_EFAIL, "digest");
	*dlen = len;
	return SK_OK;
}

/* Copy bytes [off, end) of the (write-only) temporary file of from to o. */
static int copy_rest(const struct sk_out *from, off_t off, struct sk_out *o, uint8_t *buf)
{
	int fd = open(from->tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc = SK_OK;

	if (fd < 0)
		return sk_err_sys(SK_EFAIL, "re-reading the temporary package");
	while (rc == SK_OK) {
		ssize_t r = pread(fd, buf, CHUNK, off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = sk_err_sys(SK_EFAIL, "re-reading the temporary package");
		} else if (r == 0) {
			break;
		} else {
			rc = sk_out_write(o, buf, (size_t)r);
			off += r;
		}
	}
	close(fd);
	return rc;
}

/* Hash what precedes the payload: the signed part and the payload's
 * own header. */
static int digest_start(EVP_MD_CTX *h, const EVP_MD *md, const uint8_t *tbs, size_t tbslen,
			const uint8_t *phdr, size_t phl)
{
	if (EVP_DigestInit_ex(h, md, NULL) != 1 || EVP_DigestUpdate(h, tbs, tbslen) != 1 ||
	    EVP_DigestUpdate(h, phdr, phl) != 1)
		return sk_err_ssl(SK_EFAIL, "digest");
	return SK_OK;
}

/* A package being made. */
struct make {
	const struct sk_signer *s;
	const char *inpath, *outpath;
	struct sk_in in;
	struct sk_out o, o2;
	struct sk_buf tbs;
	uint8_t phdr[10];
	size_t phl;
	uint64_t size;
	off_t start;         /* where the payload starts in the input */
	EVP_MD_CTX *h;
	uint8_t *buf;
};

/* To stdout nothing can be patched: the headers go first, then the
 * payload, read and hashed a second time so that a file changing in
 * between cannot go unnoticed. */
static int stdout_pass(struct make *m, const uint8_t *ohdr, size_t ohl, const uint8_t *d,
		       size_t dlen)
{
	uint8_t d2[EVP_MAX_MD_SIZE];
	size_t dlen2 = 0;
	int rc;

	if ((rc = sk_out_write(&m->o, ohdr, ohl)) != SK_OK ||
	    (rc = sk_out_write(&m->o, m->tbs.p, m->tbs.len)) != SK_OK ||
	    (rc = sk_out_write(&m->o, m->phdr, m->phl)) != SK_OK)
		return rc;
	if (lseek(m->in.fd, m->start, SEEK_SET) < 0)
		return sk_err_sys(SK_EFAIL, "reading '%s'", m->inpath);
	if ((rc = digest_start(m->h, m->s->md, m->tbs.p, m->tbs.len, m->phdr, m->phl)) != SK_OK ||
	    (rc = pump(&m->in, m->size, m->h, &m->o, m->buf, NULL, NULL, SK_EFAIL,
		       "the input shrank while it was being packaged")) != SK_OK ||
	    (rc = digest_final(m->h, d2, &dlen2)) != SK_OK)
		return rc;
	if (dlen2 != dlen || memcmp(d, d2, dlen) != 0)
		return sk_err(SK_EFAIL, "'%s' changed while it was being packaged", m->inpath);
	return SK_OK;
}

/* A file: patch the outer header written for the predicted signature
 * length in place, or, when the signature came out shorter, copy the
 * package once more behind the right header. */
static int file_finish(struct make *m, const uint8_t *ohdr, size_t ohl, size_t predicted)
{
	int rc;

	if (ohl == predicted) {
		if (pwrite(m->o.fd, ohdr, ohl, 0) != (ssize_t)ohl)
			return sk_err_sys(SK_EFAIL, "writing '%s'", m->outpath);
		return sk_out_commit(&m->o);
	}
	if ((rc = sk_out_open(&m->o2, m->outpath, 0666)) != SK_OK ||
	    (rc = sk_out_write(&m->o2, ohdr, ohl)) != SK_OK ||
	    (rc = copy_rest(&m->o, (off_t)predicted, &m->o2, m->buf)) != SK_OK ||
	    (rc = sk_out_commit(&m->o2)) != SK_OK)
		return rc;
	sk_out_abort(&m->o);
	return SK_OK;
}

static void make_info(const struct sk_signer *s, uint64_t size, uint64_t package_size,
		      struct sk_payload_info *info)
{
	X509_ALGOR *alg = NULL;

	info->version = SK_PAYLOAD_VERSION;
	info->md = s->md;
	info->size = size;
	info->package_size = package_size;
	snprintf(info->signer, sizeof(info->signer), "%s", s->fpr);
	if (sk_sigalg_make(sk_signer_pub(s), s->md, s->pss, &alg) == SK_OK)
		sk_sigalg_describe(alg, info->sigalg, sizeof(info->sigalg));
	X509_ALGOR_free(alg);
}

int sk_payload_make(const struct sk_signer *s, const char *inpath, const char *outpath,
		    sk_progress_fn progress, void *arg, struct sk_payload_info *info)
{
	struct make m = { .s = s, .inpath = inpath, .outpath = outpath, .in = { .fd = -1 },
			  .o = { .fd = -1 }, .o2 = { .fd = -1 } };
	struct sk_buf body = { 0 }, sig = { 0 };
	uint8_t ohdr[10], shdr[10], d[EVP_MAX_MD_SIZE];
	size_t ohl, shl, predicted, dlen = 0;
	uint64_t content;
	struct stat st;
	int rc, to_stdout = strcmp(outpath, "-") == 0;

	memset(info, 0, sizeof(*info));
	m.h = EVP_MD_CTX_new();
	if (m.h == NULL || (m.buf = malloc(2 * CHUNK)) == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto out;
	}
	if ((rc = sk_in_open(&m.in, inpath)) != SK_OK || (rc = measure(&m.in, &m.size, &st)) != SK_OK)
		goto out;
	m.start = lseek(m.in.fd, 0, SEEK_CUR);
	if ((rc = body_encode(s->md, m.size, &body)) != SK_OK ||
	    (rc = sk_pkg_tbs_encode(SK_PKG_PAYLOAD, SK_PAYLOAD_VERSION, s, body.p, body.len,
				    &m.tbs)) != SK_OK)
		goto out;
	m.phl = sk_der_header(0x04, m.size, m.phdr);
	/* The outer length depends on the signature's length, known only at
	 * the end (ECDSA's varies by a byte or two): write the payload after
	 * a header sized for the largest signature and patch it in place;
	 * in the rare case the real one is shorter, copy once more. */
	content = m.tbs.len + m.phl + m.size;
	predicted = sk_der_header(0x30, content + sk_der_tlv_size((uint64_t)EVP_PKEY_get_size(sk_signer_pub(s))), ohdr);
	if ((rc = digest_start(m.h, s->md, m.tbs.p, m.tbs.len, m.phdr, m.phl)) != SK_OK ||
	    (rc = sk_out_open(&m.o, outpath, 0666)) != SK_OK)
		goto out;
	if (!to_stdout) {
		memset(ohdr, 0, sizeof(ohdr));
		if ((rc = sk_out_write(&m.o, ohdr, predicted)) != SK_OK ||
		    (rc = sk_out_write(&m.o, m.tbs.p, m.tbs.len)) != SK_OK ||
		    (rc = sk_out_write(&m.o, m.phdr, m.phl)) != SK_OK)
			goto out;
	}
	/* To stdout this pass only hashes (stdout_pass copies). */
	if ((rc = pump(&m.in, m.size, m.h, to_stdout ? NULL : &m.o, m.buf, progress, arg, SK_EFAIL,
		       "the input shrank while it was being packaged")) != SK_OK)
		goto out;
	if ((rc = more_data(&m.in)) != 0) {
		rc = rc < 0 ? SK_EFAIL : sk_err(SK_EFAIL, "'%s' grew while it was being packaged", inpath);
		goto out;
	}
	if ((rc = digest_final(m.h, d, &dlen)) != SK_OK || (rc = unchanged(&m.in, &st)) != SK_OK ||
	    (rc = sk_signer_sign_digest(s, d, dlen, &sig)) != SK_OK)
		goto out;
	shl = sk_der_header(0x04, sig.len, shdr);
	content += shl + sig.len;
	ohl = sk_der_header(0x30, content, ohdr);
	if (to_stdout && (rc = stdout_pass(&m, ohdr, ohl, d, dlen)) != SK_OK)
		goto out;
	if ((rc = sk_out_write(&m.o, shdr, shl)) != SK_OK ||
	    (rc = sk_out_write(&m.o, sig.p, sig.len)) != SK_OK)
		goto out;
	if (!to_stdout && (rc = file_finish(&m, ohdr, ohl, predicted)) != SK_OK)
		goto out;
	if (to_stdout)
		m.o.committed = 1;
	make_info(s, m.size, ohl + content, info);
	rc = SK_OK;
out:
	if (rc != SK_OK) {
		sk_out_abort(&m.o);
		sk_out_abort(&m.o2);
	}
	sk_in_close(&m.in);
	EVP_MD_CTX_free(m.h);
	free(m.buf);
	sk_buf_free(&body);
	sk_buf_free(&m.tbs);
	sk_buf_free(&sig);
	return rc;
}

/* ---- verify ---- */

/* For `--out -`: the payload may only reach stdout once verified, so it
 * waits in an unlinked temporary file (constant memory, any size). */
static int spool_open(struct sk_out *o, const char *dir)
{
	char path[4096];
	int fd;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	snprintf(path, sizeof(path), "%s/seckit-payload.XXXXXX", dir);
	if ((fd = mkostemp(path, O_CLOEXEC)) < 0)
		return sk_err_sys(SK_EFAIL, "creating a temporary file in '%s'", dir);
	unlink(path);
	o->fd = fd;
	if ((o->path = strdup("<temporary file>")) == NULL) {
		sk_out_abort(o);
		return sk_err(SK_EFAIL, "out of memory");
	}
	return SK_OK;
}

static int spool_to_stdout(struct sk_out *o, uint8_t *buf)
{
	if (lseek(o->fd, 0, SEEK_SET) < 0)
		return sk_err_sys(SK_EFAIL, "re-reading the temporary file");
	fflush(stdout);
	for (;;) {
		ssize_t r = sk_read_full(o->fd, buf, CHUNK);

		if (r < 0)
			return sk_err_sys(SK_EFAIL, "re-reading the temporary file");
		if (r == 0)
			return SK_OK;
		if (sk_write_all(STDOUT_FILENO, buf, (size_t)r) != 0)
			return sk_err_sys(SK_EFAIL, "writing '<stdout>'");
	}
}

int sk_payload_verify(const struct sk_verifier *v, const char *inpath, const char *outpath,
		      const char *tmpdir, sk_progress_fn progress, void *arg,
		      struct sk_payload_info *info)
{
	struct sk_in in = { .fd = -1 };
	struct sk_out o = { .fd = -1 };
	struct sk_pkg p = { 0 };
	uint8_t phdr[10], shdr[10], d[EVP_MAX_MD_SIZE], sig[SK_PKG_SIG_MAX];
	uint8_t *buf = NULL;
	size_t phl, shl, dlen = 0;
	uint64_t left, slen;
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	ssize_t r;
	int rc, spool = outpath != NULL && strcmp(outpath, "-") == 0;

	memset(info, 0, sizeof(*info));
	if (h == NULL || (buf = malloc(2 * CHUNK)) == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto out;
	}
	if ((rc = sk_in_open(&in, inpath)) != SK_OK)
		goto out;
	(void)posix_fadvise(in.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if ((rc = read_header(&in, &p, info, phdr, &phl, &left)) != SK_OK) {
		if (rc == SK_EVERIFY)
			sk_err_wrap(rc, "%s", sk_path_name(inpath));
		goto out;
	}
	/* Wrong key, wrong algorithm: say so before reading gigabytes. */
	if ((rc = sk_pkg_precheck(&p, v)) != SK_OK)
		goto out;
	if (outpath != NULL &&
	    (rc = spool ? spool_open(&o, tmpdir) : sk_out_open(&o, outpath, 0666)) != SK_OK)
		goto out;
	if ((rc = digest_start(h, p.md, p.tbs, p.tbslen, phdr, phl)) != SK_OK)
		goto out;
	if ((rc = pump(&in, info->size, h, outpath ? &o : NULL, buf, progress, arg, SK_EVERIFY,
		       "payload: truncated")) != SK_OK)
		goto out;
	if ((rc = sk_der_read_hdr(&in, 0x04, SK_PKG_SIG_MAX, "signature", &slen, shdr, &shl)) != SK_OK)
		goto out;
	if (shl + slen != left) {
		rc = sk_err(SK_EVERIFY, "package length does not match its contents");
		goto out;
	}
	r = sk_in_read(&in, sig, slen);
	if (r < 0) {
		rc = SK_EFAIL;
		goto out;
	}
	if ((uint64_t)r != slen) {
		rc = sk_err(SK_EVERIFY, "signature: truncated");
		goto out;
	}
	if ((rc = more_data(&in)) != 0) {
		rc = rc < 0 ? SK_EFAIL : sk_err(SK_EVERIFY, "unexpected data after the end of the package");
		goto out;
	}
	if ((rc = digest_final(h, d, &dlen)) != SK_OK ||
	    (rc = sk_pkg_verify_digest(&p, v, d, dlen, sig, slen)) != SK_OK)
		goto out;
	if (spool)
		rc = spool_to_stdout(&o, buf);
	else if (outpath != NULL)
		rc = sk_out_commit(&o);
out:
	sk_out_abort(&o);
	sk_pkg_free(&p);
	sk_in_close(&in);
	EVP_MD_CTX_free(h);
	free(buf);
	return rc;
}
