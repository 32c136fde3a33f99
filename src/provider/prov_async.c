/* SPDX-License-Identifier: MIT */
/*
 * Signatures off the caller's thread, for programs that run their TLS
 * handshakes as OpenSSL ASYNC jobs (SSL_MODE_ASYNC: seckit tls proxy).
 * A TPM sign takes tens of milliseconds, a slow token seconds; an event
 * loop that signed in place would stall every other connection for that
 * long.  Inside a job, the sign goes to the provider's worker thread and
 * the job pauses; the worker signals the job's wait fd (an eventfd in the
 * job's ASYNC_WAIT_CTX) when it is done, the program sees it readable and
 * resumes the job (SSL_ERROR_WANT_ASYNC, SSL_get_changed_async_fds).
 *
 * One worker per provider: the provider has one store and one backend
 * session (a TPM context must not be used by two threads at once), and
 * every use of it holds p->lock, the worker's too.  Signs queue in order;
 * the queue is as long as the handshakes waiting for a signature.  Outside
 * a job (seckit tls connect, openssl s_client), nothing changes: the sign
 * runs in the caller's thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/async.h>
#include <openssl/err.h>

#include "base/util.h"
#include "provider/prov_int.h"

/* One sign handed to the worker.  Two holders: the job that waits and the
 * worker, which lets go first (job_finish); the job frees it.  wfd is the worker's own copy of
 * the wait fd: if the program frees the SSL (and its wait fd) while the
 * sign runs, the worker's write still goes to the same eventfd, never to
 * a descriptor number reused by something else. */
struct skp_job {
	struct skp_job *next;
	struct skp_key *key;
	EVP_MD *md;
	int pss;
	unsigned char dgst[EVP_MAX_MD_SIZE];
	size_t dlen;
	int whole;              /* sign the message itself (sk_key_sign_msg) */
	struct sk_buf tbs;      /* the message, when whole */
	struct sk_buf out;
	int rc;
	char msg[1024];
	int done;               /* atomic: the result is there */
	int refs;               /* atomic */
	int wfd;
};

/* The key of our fd in a job's ASYNC_WAIT_CTX. */
static const char wait_key[] = "seckit sign";

static void job_release(struct skp_job *j)
{
	if (__atomic_sub_fetch(&j->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	if (j->wfd >= 0)
		close(j->wfd);
	EVP_MD_free(j->md);
	skp_key_free(j->key);
	sk_buf_free(&j->out);
	sk_buf_free(&j->tbs);
	OPENSSL_free(j);
}

/* Result first, then the signal, then done: a job resumed early sees
 * done unset and pauses again, and the job that sees done drains a
 * signal that is already there (so the wait fd does not stay readable).
 * The worker lets go of j before done, so the job is always the last
 * holder: j, and the key's reference with it, are freed in the job's own
 * thread, never by the worker after the program has gone on (and
 * perhaps exited before the key was closed and the TPM flushed). */
static void job_finish(struct skp_job *j)
{
	uint64_t one = 1;

	if (write(j->wfd, &one, sizeof(one)) < 0) {
		/* An eventfd write fails only on overflow: the fd is readable
		 * anyway. */
	}
	__atomic_sub_fetch(&j->refs, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
}

static void *worker_main(void *arg)
{
	struct skp_prov *p = arg;
	struct skp_job *j;

	pthread_mutex_lock(&p->wmu);
	for (;;) {
		while (p->whead == NULL && !p->wstop)
			pthread_cond_wait(&p->wcv, &p->wmu);
		if (p->whead == NULL)
			break;
		j = p->whead;
		p->whead = j->next;
		if (p->whead == NULL)
			p->wtail = NULL;
		pthread_mutex_unlock(&p->wmu);

		pthread_mutex_lock(&p->lock);
		j->rc = j->whole ? sk_key_sign_msg(j->key->key, j->md, j->pss, j->tbs.p, j->tbs.len, &j->out)
				 : sk_key_sign(j->key->key, j->md, j->pss, j->dgst, j->dlen, &j->out);
		pthread_mutex_unlock(&p->lock);
		if (j->rc != SK_OK)
			snprintf(j->msg, sizeof(j->msg), "%s", sk_err_msg());
		sk_err_clear();
		ERR_clear_error();
		job_finish(j);

		pthread_mutex_lock(&p->wmu);
	}
	pthread_mutex_unlock(&p->wmu);
	return NULL;
}

void skp_async_init(struct skp_prov *p)
{
	pthread_mutex_init(&p->wmu, NULL);
	pthread_cond_init(&p->wcv, NULL);
}

/* The worker finishes the sign it is doing; signs still queued fail. */
void skp_async_teardown(struct skp_prov *p)
{
	struct skp_job *j;

	pthread_mutex_lock(&p->wmu);
	p->wstop = 1;
	pthread_cond_broadcast(&p->wcv);
	pthread_mutex_unlock(&p->wmu);
	if (p->wstarted)
		pthread_join(p->worker, NULL);
	while ((j = p->whead) != NULL) {
		p->whead = j->next;
		j->rc = SK_EFAIL;
		snprintf(j->msg, sizeof(j->msg), "the seckit provider was unloaded");
		job_finish(j);
	}
	pthread_cond_destroy(&p->wcv);
	pthread_mutex_destroy(&p->wmu);
}

static void close_wait_fd(ASYNC_WAIT_CTX *w, const void *key, OSSL_ASYNC_FD fd, void *data)
{
	(void)w;
	(void)key;
	(void)data;
	close(fd);
}

/* The job's wait fd: made at its first sign, kept while the SSL lives. */
static int wait_fd(ASYNC_JOB *job)
{
	ASYNC_WAIT_CTX *w = ASYNC_get_wait_ctx(job);
	OSSL_ASYNC_FD fd = -1;
	void *data = NULL;

	if (w == NULL)
		return -1;
	if (ASYNC_WAIT_CTX_get_fd(w, wait_key, &fd, &data))
		return fd;
	if ((fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return -1;
	if (!ASYNC_WAIT_CTX_set_wait_fd(w, wait_key, fd, NULL, close_wait_fd)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int submit(struct skp_prov *p, struct skp_job *j)
{
	int ok = 1;

	pthread_mutex_lock(&p->wmu);
	if (p->wstop) {
		ok = 0;
	} else if (!p->wstarted) {
		if (pthread_create(&p->worker, NULL, worker_main, p) != 0)
			ok = 0;
		else
			p->wstarted = 1;
	}
	if (ok) {
		if (p->wtail != NULL)
			p->wtail->next = j;
		else
			p->whead = j;
		p->wtail = j;
		pthread_cond_signal(&p->wcv);
	}
	pthread_mutex_unlock(&p->wmu);
	return ok;
}

int skp_sign_async(struct skp_key *k, const EVP_MD *md, int pss, const unsigned char *dgst, size_t dlen,
		   const struct sk_buf *msg, struct sk_buf *out, int *rc)
{
	struct skp_prov *p = k->prov;
	ASYNC_JOB *job = ASYNC_get_current_job();
	struct skp_job *j;
	struct pollfd pfd;
	uint64_t v;
	int fd;

	if (job == NULL || dlen > sizeof(j->dgst) || (fd = wait_fd(job)) < 0)
		return 0;
	if ((j = OPENSSL_zalloc(sizeof(*j))) == NULL)
		return 0;
	j->wfd = -1;
	if (msg != NULL && sk_buf_add(&j->tbs, msg->p, msg->len) != SK_OK) {
		sk_err_clear();
		sk_buf_free(&j->tbs);
		OPENSSL_free(j);
		return 0;
	}
	j->whole = msg != NULL;
	if ((j->wfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0 || !EVP_MD_up_ref((EVP_MD *)md)) {
		if (j->wfd >= 0)
			close(j->wfd);
		sk_buf_free(&j->tbs);
		OPENSSL_free(j);
		return 0;
	}
	j->md = (EVP_MD *)md;
	j->pss = pss;
	memcpy(j->dgst, dgst, dlen);
	j->dlen = dlen;
	__atomic_add_fetch(&k->refs, 1, __ATOMIC_ACQ_REL);
	j->key = k;
	j->refs = 2;
	if (!submit(p, j)) {
		j->refs = 1;
		job_release(j);
		return 0;
	}
	while (!__atomic_load_n(&j->done, __ATOMIC_ACQUIRE)) {
		if (ASYNC_pause_job())
			continue;
		/* Cannot pause: wait here for the worker. */
		pfd.fd = fd;
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, 100);
	}
	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	*rc = j->rc;
	if (j->rc == SK_OK) {
		*out = j->out;
		memset(&j->out, 0, sizeof(j->out));
	} else {
		sk_err(j->rc, "%s", j->msg);
	}
	job_release(j);
	return 1;
}
