/*
 * writer.c - the group-commit thread (see writer.h).
 *
 * Why a thread and a condition variable: MHD runs one thread per connection,
 * so a request thread can simply sleep until its commit is done; measured
 * against per-request transactions, sharing one fsync among all concurrent
 * requests is what lifts single-event ingest from ~3k to >15k rows/s
 * (bench/RESULTS.md).
 *
 * Failure handling: when a group fails for a reason tied to one job's data
 * (not the connection), each job is retried alone so one bad job cannot fail
 * its neighbours. When the connection fails every job of the group gets 503
 * and the client retries; since rows are keyed by messageId a retry of a
 * group whose COMMIT did reach the server is deduplicated.
 */
#include "server/writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/db.h"
#include "server/db_ingest.h"
#include "server/log.h"
#include "server/idcache.h"
#include "server/metrics.h"
#include "server/store.h"

/* Don't retry a failed connect more often than this while jobs keep coming. */
#define WRITER_RECONNECT_MS 200

struct writer {
	char *conninfo;
	int batch_rows, queue_rows, stmt_timeout;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work;   /* writer waits: jobs arrived or stopping */
	struct ingest_job *head, *tail;
	long queued_rows;
	bool stopping;
	struct db *db;
	struct store *store;   /* may be NULL: no in-memory copy */
	struct idcache *cache; /* distinct id -> raw person (writer thread only) */
	int64_t down_until_ms; /* fail fast until then after a failed connect */
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void finish(struct writer *w, struct ingest_job **jobs, int n)
{
	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < n; i++) {
		jobs[i]->done = true;
		/* Each request sleeps on its own condition: wake exactly the finished. */
		pthread_cond_signal(&jobs[i]->cv);
	}
	pthread_mutex_unlock(&w->mu);
}

static bool ensure_connected(struct writer *w, struct app_err *err)
{
	if (db_alive(w->db))
		return true;
	db_close(w->db);
	w->db = NULL;
	if (mono_ms() < w->down_until_ms) {
		err_set(err, 503, "db_unavailable", NULL, "database unavailable; retry later");
		err->retry_after = 1;
		return false;
	}
	w->db = db_open(w->conninfo, "cohortd-writer", w->stmt_timeout, err);
	if (!w->db) {
		w->down_until_ms = mono_ms() + WRITER_RECONNECT_MS;
		return false;
	}
	log_info("writer: connected");
	return true;
}

/* Rows a commit inserted go to the in-memory store (after the commit). */
static struct ingest_returned **want_rows(struct writer *w, struct ingest_returned **slot)
{
	*slot = NULL;
	return w->store ? slot : NULL;
}

static void to_store(struct writer *w, struct ingest_returned *r)
{
	db_ingest_returned_to_store(r, w->store);
	db_ingest_returned_free(r);
}

/* Commit a group; *inserted receives its rows for the store (caller adds
 * them after waking the requests, so acknowledgements are not delayed). */
static void commit_group(struct writer *w, struct ingest_job **jobs, int n, long rows,
			 struct ingest_returned **inserted)
{
	struct app_err err = { 0 };
	int64_t t0 = mono_ms();
	int32_t node = w->store ? store_node(w->store) : 0;
	bool ok;

	if (!ensure_connected(w, &err)) {
		for (int i = 0; i < n; i++)
			jobs[i]->err = err;
		metrics_commit(rows, 0, 0);
		return;
	}
	ok = db_ingest_commit(w->db, jobs, n, node, w->cache, want_rows(w, inserted), &err);
	metrics_commit(rows, (mono_ms() - t0) * 1000, ok);
	if (ok)
		return;
	if (err.status == 503 || n == 1 || !db_alive(w->db)) {
		for (int i = 0; i < n; i++)
			jobs[i]->err = err;
		return;
	}
	/* A data error: isolate the job that caused it. */
	for (int i = 0; i < n; i++) {
		struct app_err one = { 0 };
		struct ingest_returned *r;
		if (!db_ingest_commit(w->db, &jobs[i], 1, node, w->cache, want_rows(w, &r), &one))
			jobs[i]->err = one;
		else
			to_store(w, r);
	}
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct ingest_job **group = NULL;
	int cap = 0;

	for (;;) {
		int n = 0;
		long rows = 0;

		pthread_mutex_lock(&w->mu);
		while (!w->head && !w->stopping)
			pthread_cond_wait(&w->work, &w->mu);
		if (!w->head && w->stopping) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		while (w->head && (n == 0 || rows + w->head->n <= w->batch_rows)) {
			struct ingest_job *j = w->head;
			if (n == cap) {
				int nc = cap ? cap * 2 : 64;
				struct ingest_job **g = realloc(group, (size_t)nc * sizeof(*g));
				if (!g)
					break;
				group = g;
				cap = nc;
			}
			w->head = j->next;
			if (!w->head)
				w->tail = NULL;
			group[n++] = j;
			rows += j->n;
		}
		w->queued_rows -= rows;
		metrics_queue_depth(w->queued_rows);
		pthread_mutex_unlock(&w->mu);

		if (n > 0) {
			struct ingest_returned *inserted = NULL;
			commit_group(w, group, n, rows, &inserted);
			finish(w, group, n);
			to_store(w, inserted);
		}
	}
	free(group);
	db_close(w->db);
	w->db = NULL;
	return NULL;
}

struct writer *writer_start(const char *conninfo, int batch_rows, int queue_rows,
			    int statement_timeout_ms, struct store *store)
{
	struct writer *w = calloc(1, sizeof(*w));

	if (!w || !(w->conninfo = strdup(conninfo))) {
		free(w);
		return NULL;
	}
	w->batch_rows = batch_rows > 0 ? batch_rows : 1;
	w->queue_rows = queue_rows;
	w->stmt_timeout = statement_timeout_ms;
	w->store = store;
	w->cache = idcache_new(1000000);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		free(w->conninfo);
		free(w);
		return NULL;
	}
	return w;
}

bool writer_submit(struct writer *w, struct ingest_job *job, struct app_err *err)
{
	job->done = false;
	job->next = NULL;
	err_clear(&job->err);
	pthread_mutex_lock(&w->mu);
	if (w->stopping) {
		pthread_mutex_unlock(&w->mu);
		err_set(err, 503, "shutting_down", NULL, "server is shutting down; retry");
		err->retry_after = 1;
		return false;
	}
	if (w->queued_rows + job->n > w->queue_rows && w->queued_rows > 0) {
		pthread_mutex_unlock(&w->mu);
		err_set(err, 503, "queue_full", NULL, "ingest queue is full; retry");
		err->retry_after = 1;
		return false;
	}
	pthread_cond_init(&job->cv, NULL);
	if (w->tail)
		w->tail->next = job;
	else
		w->head = job;
	w->tail = job;
	w->queued_rows += job->n;
	pthread_cond_signal(&w->work);
	while (!job->done)
		pthread_cond_wait(&job->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	pthread_cond_destroy(&job->cv);
	if (job->err.status) {
		*err = job->err;
		return false;
	}
	return true;
}

void writer_stop(struct writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->work);
	idcache_free(w->cache);
	free(w->conninfo);
	free(w);
}
