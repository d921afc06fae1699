/*
 * profiles.c - see profiles.h.
 *
 * Leader/follower, the writer's group commit turned around: a request joins
 * the queue; when fewer than `conns` statements are in flight it leads,
 * otherwise it sleeps on its own condition variable. A leader takes the
 * head of the queue (up to PROFILES_BATCH, usually its own request among
 * them), runs one statement for all of them and wakes them, until its own
 * request is answered; then it hands its slot to the oldest queued request,
 * so the queue is served in arrival order. Each request renders its answer
 * from the shared result (on its own thread, in parallel); the last one
 * frees the result.
 *
 * Measured on 1M persons (bench/scoring, 32 clients, 2 cores): one
 * statement per request spent ~130 us in PostgreSQL and ~85 us in cohortd
 * per profile, mostly executor start-up, protocol and wake-ups.
 */
#include "server/profiles.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "server/db.h"
#include "server/db_scores.h"
#include "server/metrics.h"

struct batch {
	struct sc_profiles *rows;
	atomic_int refs; /* requests still to read rows */
};

struct waiter {
	int64_t project_id;
	const char *id;
	struct waiter *next;
	bool leading; /* holds one of the leader slots (pf->mu) */
	/* Own lock, so a leader wakes each request without the queue lock:
	 * the waiter cannot return before the leader unlocks it. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool lead, done; /* wake-up reasons (mu) */
	/* written by the leader before done */
	bool ok;
	struct batch *b;
	int32_t row;
	struct app_err err;
};

struct profiles {
	struct db_pool *pool;
	pthread_mutex_t mu;
	struct waiter *head, **tail;
	int leaders, max_leaders;
};

struct profiles *profiles_new(const char *conninfo, int conns, int statement_timeout_ms)
{
	struct profiles *pf = calloc(1, sizeof(*pf));

	if (!pf || conns < 1 || !(pf->pool = db_pool_new(conninfo, conns, statement_timeout_ms))) {
		free(pf);
		return NULL;
	}
	/* A custom plan looks cheaper for a short array, so without this every
	 * execution would be planned (1.4 ms, ten times the lookups). */
	db_pool_session(pf->pool, "cohortd-profiles", "-c plan_cache_mode=force_generic_plan");
	pthread_mutex_init(&pf->mu, NULL);
	pf->tail = &pf->head;
	pf->max_leaders = conns;
	return pf;
}

void profiles_free(struct profiles *pf)
{
	if (!pf)
		return;
	db_pool_free(pf->pool);
	pthread_mutex_destroy(&pf->mu);
	free(pf);
}

/* Detach up to PROFILES_BATCH waiters from the head of the queue (mu held). */
static struct waiter *take(struct profiles *pf, size_t *n)
{
	struct waiter *first = pf->head, *last = NULL, *w = first;

	for (*n = 0; w && *n < PROFILES_BATCH; w = w->next, (*n)++)
		last = w;
	pf->head = w;
	if (!w)
		pf->tail = &pf->head;
	last->next = NULL;
	return first;
}

/* One statement for the waiters of list (no lock held). */
static void run_batch(struct profiles *pf, struct waiter *list, size_t n)
{
	int64_t pids[PROFILES_BATCH];
	const char *ids[PROFILES_BATCH];
	int32_t rows[PROFILES_BATCH];
	struct sc_profiles *res = NULL;
	struct batch *b = NULL;
	struct app_err err = { 0 };
	struct waiter *w;
	struct db *db;
	bool ok;
	size_t i = 0;

	for (w = list; w; w = w->next, i++) {
		pids[i] = w->project_id;
		ids[i] = w->id;
	}
	ok = (db = db_acquire(pf->pool, 2000, &err)) != NULL;
	if (ok) {
		ok = db_scores_profiles(db, n, pids, ids, &res, rows, &err);
		db_release(pf->pool, db);
	}
	if (ok && !(b = malloc(sizeof(*b)))) {
		db_scores_profiles_free(res);
		ok = err_set(&err, 500, "internal", NULL, "out of memory");
	}
	if (ok) {
		metrics_profile_batch((long)n);
		b->rows = res;
		atomic_init(&b->refs, (int)n);
	}
	for (w = list, i = 0; w; w = w->next, i++) {
		w->ok = ok;
		w->b = b;
		w->row = ok ? rows[i] : -1;
		if (!ok)
			w->err = err;
	}
}

static void wake(struct waiter *t, bool done)
{
	pthread_mutex_lock(&t->mu);
	if (done)
		t->done = true;
	else
		t->lead = true;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

static bool is_done(struct waiter *w)
{
	bool done;

	pthread_mutex_lock(&w->mu);
	done = w->done;
	pthread_mutex_unlock(&w->mu);
	return done;
}

/* Give w's leader slot to the oldest queued request that does not lead yet,
 * or back to the pool of slots (pf->mu held: a queued request cannot be
 * answered, so its waiter is alive while we wake it). */
static void pass_slot(struct profiles *pf, struct waiter *w)
{
	struct waiter *h = pf->head;

	w->leading = false;
	while (h && h->leading)
		h = h->next;
	if (h) {
		h->leading = true;
		wake(h, false);
	} else {
		pf->leaders--;
	}
}

bool profiles_get(struct profiles *pf, int64_t project_id, const char *distinct_id,
		  profiles_render render, void *arg, bool *found, struct app_err *err)
{
	struct waiter w = { .project_id = project_id, .id = distinct_id };
	bool leading, ok = true;

	*found = false;
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	pthread_mutex_lock(&pf->mu);
	*pf->tail = &w;
	pf->tail = &w.next;
	if (pf->leaders < pf->max_leaders) {
		pf->leaders++;
		w.leading = true;
	}
	leading = w.leading;
	pthread_mutex_unlock(&pf->mu);
	for (;;) {
		bool mine = false;
		size_t n;
		struct waiter *list;

		if (!leading) {
			pthread_mutex_lock(&w.mu);
			while (!w.done && !w.lead)
				pthread_cond_wait(&w.cv, &w.mu);
			leading = w.lead;
			w.lead = false;
			pthread_mutex_unlock(&w.mu);
		}
		if (is_done(&w))
			break;
		pthread_mutex_lock(&pf->mu);
		if (!pf->head) {
			/* Another leader took our request: wait for it as anyone. */
			pass_slot(pf, &w);
			pthread_mutex_unlock(&pf->mu);
			leading = false;
			continue;
		}
		list = take(pf, &n);
		pthread_mutex_unlock(&pf->mu);
		run_batch(pf, list, n);
		for (struct waiter *t = list, *next; t; t = next) {
			next = t->next; /* t may return (and its stack go) once woken */
			if (t == &w)
				mine = true;
			else
				wake(t, true);
		}
		if (mine)
			break;
	}
	pthread_mutex_lock(&pf->mu);
	if (w.leading)
		pass_slot(pf, &w);
	pthread_mutex_unlock(&pf->mu);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);

	if (!w.ok) {
		*err = w.err;
		return false;
	}
	if (w.row >= 0) {
		struct sc_profile_row row;

		*found = true;
		db_scores_profile_row(w.b->rows, w.row, &row);
		ok = render(&row, arg);
	}
	if (atomic_fetch_sub(&w.b->refs, 1) == 1) {
		db_scores_profiles_free(w.b->rows);
		free(w.b);
	}
	return ok || err_set(err, 500, "internal", NULL, "out of memory");
}
