/* SPDX-License-Identifier: MIT */
/*
 * Fleet files and the parallel per-device runner (fleet.h).
 *
 * One producer (the calling thread, parsing the YAML stream) and `jobs`
 * consumers over a bounded queue: the parse (about 0.5 M entries/s) stays
 * ahead of the per-device crypto (about 10 k/s per core), and the queue
 * bound keeps memory flat however large the fleet is.
 */
#include "format/fleet.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/bigset.h"
#include "base/util.h"
#include "base/yaml.h"
#include "ctx/ctx.h"

#define KEY_MAX (64u << 10)   /* an inline key or key file */
/* Jobs travel in batches: one lock round trip per BATCH devices keeps the
 * producer and the workers from ping-ponging on the queue's futex. */
#define BATCH 16
#define QUEUE_PER_JOB 4

int sk_fleet_parse_shard(const char *s, unsigned *k, unsigned *n)
{
	const char *slash = strchr(s, '/');
	char kbuf[16];
	uint64_t kk, nn;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(kbuf))
		return sk_err(SK_EUSAGE, "shard '%s' is not K/N (e.g. 3/8)", s);
	memcpy(kbuf, s, (size_t)(slash - s));
	kbuf[slash - s] = '\0';
	if (sk_parse_uint(kbuf, 1u << 20, &kk) != 0 || sk_parse_uint(slash + 1, 1u << 20, &nn) != 0 ||
	    kk < 1 || nn < 1 || kk > nn)
		return sk_err(SK_EUSAGE, "shard '%s' is not K/N with 1 <= K <= N", s);
	*k = (unsigned)kk;
	*n = (unsigned)nn;
	return SK_OK;
}

/* A number from the environment: 1 found, 0 unset, SK_EUSAGE not one. */
static int env_uint(const char *name, uint64_t max, uint64_t *v)
{
	const char *s = sk_env(name);

	if (s == NULL || *s == '\0')
		return 0;
	if (sk_parse_uint(s, max, v) != 0)
		return -sk_err(SK_EUSAGE, "%s='%s' is not a number", name, s);
	return 1;
}

static int shard_count(const char *runner, uint64_t *n)
{
	int r = env_uint("SECKIT_SHARD_COUNT", 1u << 20, n);

	if (r < 0)
		return -r;
	if (r == 0 || *n == 0)
		return sk_err(SK_EUSAGE, "%s: set SECKIT_SHARD_COUNT to the number of shards", runner);
	return SK_OK;
}

int sk_fleet_shard_auto(unsigned *k, unsigned *n)
{
	uint64_t idx, cnt, min = 0, max;
	int r, rc;

	/* Kubernetes Indexed Job: 0-based index, N given */
	if ((r = env_uint("JOB_COMPLETION_INDEX", 1u << 20, &idx)) != 0) {
		if (r < 0)
			return -r;
		if ((rc = shard_count("JOB_COMPLETION_INDEX (Kubernetes)", &cnt)) != SK_OK)
			return rc;
		idx++;
	} else if ((r = env_uint("SLURM_ARRAY_TASK_ID", UINT32_MAX, &idx)) != 0) {
		/* Slurm job array MIN-MAX, step 1 */
		if (r < 0 || (r = env_uint("SLURM_ARRAY_TASK_MIN", UINT32_MAX, &min)) < 0 ||
		    (r = env_uint("SLURM_ARRAY_TASK_COUNT", 1u << 20, &cnt)) < 0)
			return -r;
		if (r == 0)
			return sk_err(SK_EUSAGE, "SLURM_ARRAY_TASK_ID without SLURM_ARRAY_TASK_COUNT");
		if ((r = env_uint("SLURM_ARRAY_TASK_MAX", UINT32_MAX, &max)) < 0)
			return -r;
		if (r > 0 && max - min + 1 != cnt)
			return sk_err(SK_EUSAGE, "Slurm array %llu-%llu of %llu tasks: use an array MIN-MAX with step 1",
				      (unsigned long long)min, (unsigned long long)max,
				      (unsigned long long)cnt);
		if (idx < min)
			return sk_err(SK_EUSAGE, "SLURM_ARRAY_TASK_ID below SLURM_ARRAY_TASK_MIN");
		idx = idx - min + 1;
	} else if ((r = env_uint("PARALLEL_SEQ", 1u << 20, &idx)) != 0) {
		/* GNU parallel: 1-based job sequence number, N given */
		if (r < 0)
			return -r;
		if ((rc = shard_count("PARALLEL_SEQ (GNU parallel)", &cnt)) != SK_OK)
			return rc;
	} else {
		return sk_err(SK_EUSAGE, "auto: not started by a job runner (no JOB_COMPLETION_INDEX, "
					 "SLURM_ARRAY_TASK_ID or PARALLEL_SEQ)");
	}
	if (idx < 1 || idx > cnt)
		return sk_err(SK_EUSAGE, "auto: shard %llu of %llu is out of range",
			      (unsigned long long)idx, (unsigned long long)cnt);
	*k = (unsigned)idx;
	*n = (unsigned)cnt;
	return SK_OK;
}

unsigned sk_fleet_default_jobs(void)
{
	cpu_set_t set;
	long n;

	/* The CPUs this process may run on (taskset, cgroups), not the
	 * machine's. */
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

int sk_fleet_id_valid(const char *id)
{
	size_t i, n = strlen(id);

	if (n == 0 || n > SK_FLEET_ID_MAX || id[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int sk_fleet_dev_err(const struct sk_fleet_dev *d, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->id[0])
		return sk_err(SK_ECONFIG, "%s:%zu:%zu: device '%s': %s", d->file, d->line, d->col,
			      d->id, msg);
	return sk_err(SK_ECONFIG, "%s:%zu:%zu: device entry %zu: %s", d->file, d->line, d->col,
		      d->index + 1, msg);
}

int sk_fleet_dev_key_bytes(const struct sk_fleet_dev *d, struct sk_buf *buf, const uint8_t **p,
			   size_t *n)
{
	int rc;

	if (d->key_file == NULL) {
		*p = d->key;
		*n = d->keylen;
		return SK_OK;
	}
	if ((rc = sk_read_file(d->key_file, KEY_MAX, buf)) != SK_OK)
		return sk_fleet_dev_err(d, "public-key-file: %s", sk_err_msg());
	*p = buf->p;
	*n = buf->len;
	return SK_OK;
}

/* ---- the set of ids seen (duplicates) ----
 *
 * Every id of the file, with the line of its first occurrence, for
 * "duplicate id (first at line N)": a bigset (base/bigset.h), exact and
 * in bounded memory (at most about 20 MB however large the fleet), what
 * outgrows it (from about 100,000 short ids on) spilled to an unnamed
 * 0600 file in TMPDIR that is gone when the run ends. */

/* ---- the runner ---- */

struct job {
	struct sk_fleet_dev dev;
	/* key bytes or key file path follow the struct */
};

struct batch {
	size_t n;
	struct job *j[BATCH];
};

struct run {
	const struct sk_fleet_opts *o;
	const char *path;
	char dir[PATH_MAX];         /* of the fleet file, for key files ("" = cwd) */
	char *fname;                /* for messages: outlives the YAML document */
	struct sk_bigset *ids;       /* the ids seen, with their lines */

	pthread_mutex_t lock;       /* queue, first error */
	pthread_cond_t not_empty, not_full, finished;
	struct batch **q;
	struct batch *cur;          /* being filled by the producer */
	size_t qcap, qhead, qlen;
	int closed;                 /* no more jobs will come */
	int all_done;               /* workers joined (progress thread exit) */

	pthread_mutex_t report;     /* bad() and progress() one at a time */

	atomic_int stop;
	atomic_size_t entries, selected, done, skipped;
	atomic_int parsed;
	struct timespec t0;

	int err_rc;
	size_t err_index;
	char err_msg[1024];
};

static double elapsed(const struct run *r)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - r->t0.tv_sec) + (double)(t.tv_nsec - r->t0.tv_nsec) / 1e9;
}

static void stats(struct run *r, struct sk_fleet_stats *st)
{
	st->entries = atomic_load(&r->entries);
	st->selected = atomic_load(&r->selected);
	st->done = atomic_load(&r->done);
	st->skipped = atomic_load(&r->skipped);
	st->parsed = atomic_load(&r->parsed);
	st->seconds = elapsed(r);
}

/* An error for device d (message in this thread's sk_err_msg). */
static void failed(struct run *r, const struct sk_fleet_dev *d, int rc)
{
	if (rc == SK_ECONFIG && r->o->keep_going) {
		atomic_fetch_add(&r->skipped, 1);
		if (r->o->bad != NULL) {
			pthread_mutex_lock(&r->report);
			r->o->bad(r->o->arg, d, sk_err_msg());
			pthread_mutex_unlock(&r->report);
		}
		return;
	}
	pthread_mutex_lock(&r->lock);
	if (r->err_rc == SK_OK || d->index < r->err_index) {
		r->err_rc = rc;
		r->err_index = d->index;
		snprintf(r->err_msg, sizeof(r->err_msg), "%s", sk_err_msg());
	}
	atomic_store(&r->stop, 1);
	pthread_cond_broadcast(&r->not_full);
	pthread_mutex_unlock(&r->lock);
}

/* An error that belongs to no device (worker set-up). */
static void failed_global(struct run *r, int rc)
{
	pthread_mutex_lock(&r->lock);
	if (r->err_rc == SK_OK) {
		r->err_rc = rc;
		r->err_index = SIZE_MAX;
		snprintf(r->err_msg, sizeof(r->err_msg), "%s", sk_err_msg());
	}
	atomic_store(&r->stop, 1);
	pthread_cond_broadcast(&r->not_full);
	pthread_mutex_unlock(&r->lock);
}

static void *worker(void *arg)
{
	struct run *r = arg;
	void *state = NULL;
	int rc;

	if (r->o->worker_init != NULL && (rc = r->o->worker_init(r->o->arg, &state)) != SK_OK) {
		failed_global(r, rc);
		state = NULL;
	}
	for (;;) {
		struct batch *bt;
		size_t i;

		pthread_mutex_lock(&r->lock);
		while (r->qlen == 0 && !r->closed)
			pthread_cond_wait(&r->not_empty, &r->lock);
		if (r->qlen == 0) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		bt = r->q[r->qhead];
		r->qhead = (r->qhead + 1) % r->qcap;
		r->qlen--;
		pthread_cond_signal(&r->not_full);
		pthread_mutex_unlock(&r->lock);
		for (i = 0; i < bt->n; i++) {
			/* After a fatal error the queue is only drained. */
			if (!atomic_load(&r->stop)) {
				sk_err_clear();
				rc = r->o->work(state, &bt->j[i]->dev);
				if (rc == SK_OK)
					atomic_fetch_add(&r->done, 1);
				else
					failed(r, &bt->j[i]->dev, rc);
			}
			free(bt->j[i]);
		}
		free(bt);
	}
	if (state != NULL && r->o->worker_free != NULL)
		r->o->worker_free(state);
	return NULL;
}

static void *progress_thread(void *arg)
{
	struct run *r = arg;
	struct sk_fleet_stats st;

	pthread_mutex_lock(&r->lock);
	while (!r->all_done) {
		struct timespec t;

		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 250000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->finished, &r->lock, &t);
		if (r->all_done)
			break;
		pthread_mutex_unlock(&r->lock);
		stats(r, &st);
		pthread_mutex_lock(&r->report);
		r->o->progress(r->o->arg, &st);
		pthread_mutex_unlock(&r->report);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void batch_free(struct batch *bt)
{
	size_t i;

	if (bt == NULL)
		return;
	for (i = 0; i < bt->n; i++)
		free(bt->j[i]);
	free(bt);
}

/* Hand the current batch to the workers. */
static int flush(struct run *r)
{
	struct batch *bt = r->cur;

	r->cur = NULL;
	if (bt == NULL)
		return 0;
	pthread_mutex_lock(&r->lock);
	while (r->qlen == r->qcap && !atomic_load(&r->stop))
		pthread_cond_wait(&r->not_full, &r->lock);
	if (atomic_load(&r->stop)) {
		pthread_mutex_unlock(&r->lock);
		batch_free(bt);
		return 1;
	}
	r->q[(r->qhead + r->qlen) % r->qcap] = bt;
	r->qlen++;
	pthread_cond_signal(&r->not_empty);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static int enqueue(struct run *r, struct job *j)
{
	if (r->cur == NULL && (r->cur = calloc(1, sizeof(*r->cur))) == NULL) {
		failed(r, &j->dev, sk_err(SK_EFAIL, "out of memory"));
		free(j);
		return 1;
	}
	r->cur->j[r->cur->n++] = j;
	return r->cur->n == BATCH ? flush(r) : 0;
}

/* Check one entry; fills d (borrowing strings from item). */
static int parse_entry(struct run *r, const struct sk_ydoc *doc, const struct sk_ynode *item,
		       struct sk_fleet_dev *d, const struct sk_ynode **keynode, int *is_file)
{
	const struct sk_ynode *id, *pk, *pkf;
	const char *s;

	if (item->type != SK_Y_MAP)
		return sk_fleet_dev_err(d, "expected a mapping with 'id' and 'public-key' or 'public-key-file'");
	id = sk_y_get(item, "id");
	if (id == NULL)
		return sk_fleet_dev_err(d, "no 'id'");
	if (id->type != SK_Y_SCALAR || strlen(id->val) != id->vlen || !sk_fleet_id_valid(id->val)) {
		d->line = id->line;
		d->col = id->col;
		return sk_fleet_dev_err(d, "id must be 1 to %d letters, digits, '.', '_' or '-' (not starting with '.')",
					SK_FLEET_ID_MAX);
	}
	snprintf(d->id, sizeof(d->id), "%s", id->val);
	pk = sk_y_get(item, "public-key");
	pkf = sk_y_get(item, "public-key-file");
	if ((pk == NULL) == (pkf == NULL))
		return sk_fleet_dev_err(d, "give exactly one of 'public-key' (inline PEM) and 'public-key-file'");
	*keynode = pk ? pk : pkf;
	*is_file = pk == NULL;
	if (sk_y_str(doc, *keynode, &s) != SK_OK || s[0] == '\0') {
		d->line = (*keynode)->line;
		d->col = (*keynode)->col;
		return sk_fleet_dev_err(d, "%s must be a non-empty string",
					*is_file ? "public-key-file" : "public-key");
	}
	(void)r;
	return SK_OK;
}

static int on_item(const struct sk_ydoc *doc, const struct sk_ynode *item, size_t index, void *arg)
{
	struct run *r = arg;
	const struct sk_fleet_opts *o = r->o;
	struct sk_fleet_dev d;
	const struct sk_ynode *kn = NULL;
	struct job *j;
	uint64_t first;
	size_t extra;
	int is_file = 0, mine, rc, dup;

	if (atomic_load(&r->stop))
		return SK_EFAIL; /* the error is reported from r->err_* */
	atomic_fetch_add(&r->entries, 1);
	mine = o->shard_n == 0 || index % o->shard_n == o->shard_k - 1;
	memset(&d, 0, sizeof(d));
	d.index = index;
	d.line = item->line;
	d.col = item->col;
	d.file = r->fname;
	rc = parse_entry(r, doc, item, &d, &kn, &is_file);
	if (rc == SK_OK) {
		if ((rc = sk_bigset_add(r->ids, d.id, d.line, &dup, &first)) != SK_OK) {
			failed(r, &d, rc);
			return SK_EFAIL;
		}
		if (dup)
			rc = sk_fleet_dev_err(&d, "duplicate id (first at line %zu)", (size_t)first);
	}
	if (!mine)
		return SK_OK;
	atomic_fetch_add(&r->selected, 1);
	if (rc != SK_OK) {
		failed(r, &d, rc);
		return atomic_load(&r->stop) ? SK_EFAIL : SK_OK;
	}
	/* The job owns copies of what the worker needs. */
	if (is_file) {
		const char *f = kn->val;
		size_t dl = f[0] == '/' || r->dir[0] == '\0' ? 0 : strlen(r->dir) + 1;

		extra = dl + kn->vlen + 1;
		if ((j = malloc(sizeof(*j) + extra)) == NULL) {
			failed(r, &d, sk_err(SK_EFAIL, "out of memory"));
			return SK_EFAIL;
		}
		j->dev = d;
		if (dl)
			snprintf((char *)(j + 1), extra, "%s/%s", r->dir, f);
		else
			memcpy(j + 1, f, kn->vlen + 1);
		j->dev.key_file = (const char *)(j + 1);
	} else {
		extra = kn->vlen;
		if ((j = malloc(sizeof(*j) + extra + 1)) == NULL) {
			failed(r, &d, sk_err(SK_EFAIL, "out of memory"));
			return SK_EFAIL;
		}
		j->dev = d;
		memcpy(j + 1, kn->val, kn->vlen);
		j->dev.key = (const uint8_t *)(j + 1);
		j->dev.keylen = kn->vlen;
	}
	j->dev.key_line = kn->line;
	j->dev.key_col = kn->col;
	return enqueue(r, j) ? SK_EFAIL : SK_OK;
}

static int check_top(const struct sk_ydoc *doc)
{
	const struct sk_ynode *dev;

	if (doc->root == NULL)
		return sk_yerr(doc, NULL, "empty fleet file (expected a 'devices' list)");
	if (doc->root->type != SK_Y_MAP)
		return sk_yerr(doc, doc->root, "expected a mapping with a 'devices' list");
	if ((dev = sk_y_get(doc->root, "devices")) == NULL)
		return sk_yerr(doc, doc->root, "no 'devices' list");
	if (dev->type != SK_Y_SEQ)
		return sk_yerr(doc, dev, "'devices' must be a list");
	return SK_OK;
}

int sk_fleet_run(const char *path, const struct sk_fleet_opts *o, struct sk_fleet_stats *st)
{
	struct run *r = calloc(1, sizeof(*r));
	pthread_t *tids = NULL, ptid;
	struct sk_ydoc doc;
	unsigned i, started = 0;
	int rc, have_progress = 0;

	if (r == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	memset(st, 0, sizeof(*st));
	r->o = o;
	r->path = path;
	if (strcmp(path, "-") != 0 && strchr(path, '/') != NULL)
		sk_dirname(path, r->dir, sizeof(r->dir));
	r->fname = sk_strdup(strcmp(path, "-") == 0 ? "<stdin>" : path);
	r->qcap = (size_t)(o->jobs ? o->jobs : 1) * QUEUE_PER_JOB;
	r->q = calloc(r->qcap, sizeof(*r->q));
	tids = calloc(o->jobs ? o->jobs : 1, sizeof(*tids));
	rc = r->q == NULL || tids == NULL || r->fname == NULL ? sk_err(SK_EFAIL, "out of memory")
								: sk_bigset_new(o->tmpdir, &r->ids);
	if (rc != SK_OK) {
		free(r->fname);
		free(r->q);
		free(tids);
		free(r);
		return rc;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->report, NULL);
	pthread_cond_init(&r->not_empty, NULL);
	pthread_cond_init(&r->not_full, NULL);
	pthread_cond_init(&r->finished, NULL);
	clock_gettime(CLOCK_MONOTONIC, &r->t0);

	for (i = 0; i < (o->jobs ? o->jobs : 1); i++) {
		if (pthread_create(&tids[i], NULL, worker, r) != 0) {
			errno = EAGAIN;
			failed_global(r, sk_err_sys(SK_EFAIL, "starting worker threads"));
			break;
		}
		started++;
	}
	if (o->progress != NULL && pthread_create(&ptid, NULL, progress_thread, r) == 0)
		have_progress = 1;

	rc = started ? sk_yaml_stream(path, "devices", on_item, r, &doc) : SK_EFAIL;
	if (rc == SK_OK) {
		rc = check_top(&doc);
		sk_yaml_free(&doc);
		if (rc != SK_OK)
			failed_global(r, rc);
	} else if (!atomic_load(&r->stop)) {
		/* A YAML error or unreadable file: stop everything. */
		failed_global(r, rc);
	}
	flush(r);
	atomic_store(&r->parsed, 1);

	pthread_mutex_lock(&r->lock);
	r->closed = 1;
	pthread_cond_broadcast(&r->not_empty);
	pthread_mutex_unlock(&r->lock);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_lock(&r->lock);
	r->all_done = 1;
	pthread_cond_broadcast(&r->finished);
	pthread_mutex_unlock(&r->lock);
	if (have_progress)
		pthread_join(ptid, NULL);

	stats(r, st);
	if (r->err_rc != SK_OK)
		rc = sk_err(r->err_rc, "%s", r->err_msg);
	else if (st->skipped)
		rc = sk_err(SK_ECONFIG, "%zu bad device entr%s skipped", st->skipped,
			    st->skipped == 1 ? "y" : "ies");
	else
		rc = SK_OK;

	sk_bigset_free(r->ids);
	free(r->fname);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->report);
	pthread_cond_destroy(&r->not_empty);
	pthread_cond_destroy(&r->not_full);
	pthread_cond_destroy(&r->finished);
	free(r->q);
	free(tids);
	free(r);
	return rc;
}
