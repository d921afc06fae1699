/*
 * scheduler.c - see scheduler.h.
 *
 * Liveness without heartbeats: the control connection holds a session
 * advisory lock keyed by this process's random owner id for as long as the
 * process lives. Every run row records its owner; a queued or running run
 * whose owner lock is free belongs to a dead process and is marked failed by
 * whoever looks next (db_scores_reap), so a kill -9 never leaves a run
 * "running" forever. Its rows were never committed, so the previous scores
 * stay current.
 *
 * Slots: the thread wakes at every multiple of the interval (wall clock) and
 * asks the database to queue runs for the current slot, computed from the
 * database's clock so that processes with skewed clocks agree on it.
 */
#include "server/scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "server/crypto.h"
#include "server/db.h"
#include "server/db_scores.h"
#include "server/log.h"
#include "server/scoring.h"

#define QUEUE_CAP 256
#define MAX_INTERVAL_S (7 * 86400)
#define DATA_TIMEOUT_MS (30 * 60 * 1000) /* a scoring pass may take minutes on big data */
#define PROGRESS_EVERY_MS 250

struct scheduler {
	char *conninfo;
	int ctl_timeout_ms;
	int interval_s;             /* 0 = manual runs only */
	int32_t owner;              /* advisory-lock key of this process; written under mu */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;              /* under mu */
	bool ready;                 /* under mu: ctl connected and owner lock held */
	int64_t queue[QUEUE_CAP];   /* run ids to execute, FIFO; under mu */
	size_t head, len, reserved;
	struct db_cancel *cancel[2]; /* the data connections' cancel handles; under mu */
	struct db *ctl, *data[2];   /* used by the thread only; data[1] loads orders */
	int64_t run_id;             /* the run executing (progress hook) */
	double last_progress_ms;
	int64_t last_scored;        /* last progress written */
};

bool scheduler_parse_interval(const char *s, int *seconds, char *why, size_t cap)
{
	long long n = 0;
	const char *p = s;
	int unit;

	*seconds = 0;
	if (!s || !*s)
		return true;
	if (*p < '1' || *p > '9')
		goto bad;
	while (*p >= '0' && *p <= '9' && n <= MAX_INTERVAL_S)
		n = n * 10 + (*p++ - '0');
	switch (*p) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: goto bad;
	}
	if (p[1] != '\0')
		goto bad;
	if (n > MAX_INTERVAL_S || n * unit > MAX_INTERVAL_S) {
		snprintf(why, cap, "COHORTD_SCORE_INTERVAL '%s' is longer than 7 days", s);
		return false;
	}
	*seconds = (int)(n * unit);
	return true;
bad:
	snprintf(why, cap,
		 "COHORTD_SCORE_INTERVAL must be a positive integer and a unit (s, m, h, d), "
		 "e.g. 30s, 15m, 1h, or empty for off; got '%s'", s);
	return false;
}

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Random positive owner id (the lock key must not collide with a live one). */
static int32_t new_owner(void)
{
	uint32_t v = 0;

	if (!crypto_random((uint8_t *)&v, sizeof(v)))
		v = (uint32_t)time(NULL) ^ (uint32_t)clock();
	v &= 0x7fffffff;
	return v ? (int32_t)v : 1;
}

static void set_ready(struct scheduler *s, bool ready)
{
	pthread_mutex_lock(&s->mu);
	s->ready = ready;
	pthread_mutex_unlock(&s->mu);
}

static void close_data(struct scheduler *s, int k)
{
	pthread_mutex_lock(&s->mu);
	db_scores_cancel_free(s->cancel[k]);
	s->cancel[k] = NULL;
	pthread_mutex_unlock(&s->mu);
	db_close(s->data[k]);
	s->data[k] = NULL;
}

/* (Re)open the connections; the owner lock comes with the control one. */
static bool connect_all(struct scheduler *s)
{
	struct app_err err = { 0 };

	if (s->ctl && !db_alive(s->ctl)) {
		set_ready(s, false);
		db_close(s->ctl);
		s->ctl = NULL;
	}
	while (!s->ctl) {
		s->ctl = db_open(s->conninfo, "cohortd-scheduler", s->ctl_timeout_ms, &err);
		if (!s->ctl)
			return false;
		if (db_scores_owner_lock(s->ctl, s->owner, &err))
			break;
		db_close(s->ctl);
		s->ctl = NULL;
		if (err.status != 409)
			return false;
		/* The key is taken by a live process: pick another (submit reads it). */
		pthread_mutex_lock(&s->mu);
		s->owner = new_owner();
		pthread_mutex_unlock(&s->mu);
	}
	set_ready(s, true);
	for (int k = 0; k < 2; k++) {
		if (s->data[k] && !db_alive(s->data[k]))
			close_data(s, k);
		if (s->data[k])
			continue;
		s->data[k] = db_open(s->conninfo, k ? "cohortd-scoring-orders" : "cohortd-scoring",
				     DATA_TIMEOUT_MS, &err);
		if (!s->data[k])
			return false;
		pthread_mutex_lock(&s->mu);
		s->cancel[k] = db_scores_cancel_new(s->data[k]);
		pthread_mutex_unlock(&s->mu);
	}
	return true;
}

static bool is_stopping(struct scheduler *s)
{
	bool v;

	pthread_mutex_lock(&s->mu);
	v = s->stopping;
	pthread_mutex_unlock(&s->mu);
	return v;
}

static bool on_progress(void *arg, int64_t scored, int64_t total)
{
	struct scheduler *s = arg;
	struct app_err err = { 0 };
	double now = mono_ms();

	if (is_stopping(s))
		return false;
	/* Progress is advisory: a failed update does not fail the run. The first
	 * rows are reported at once (small runs are sent before 250 ms pass). */
	if (scored == 0 || scored == total || s->last_scored == 0 ||
	    now - s->last_progress_ms >= PROGRESS_EVERY_MS) {
		s->last_progress_ms = now;
		s->last_scored = scored;
		if (!db_scores_run_progress(s->ctl, s->run_id, scored, total, &err))
			log_warn("scoring: run %lld: progress update failed", (long long)s->run_id);
	}
	return true;
}

/* Run one queued run we own, from claim to done/failed. */
static void execute(struct scheduler *s, int64_t run_id)
{
	struct app_err err = { 0 };
	struct scoring_hooks hooks = { on_progress, s };
	int64_t project_id = 0;
	json_t *timings = NULL;
	char *tms;
	bool claimed = false, ok;
	double t0 = mono_ms();

	if (!db_scores_run_start(s->ctl, run_id, s->owner, &project_id, &claimed, &err) || !claimed)
		return;
	s->run_id = run_id;
	s->last_progress_ms = 0;
	s->last_scored = 0;
	ok = scoring_run(s->data[0], s->data[1], project_id, run_id, &hooks, &timings, &err);
	if (!ok && is_stopping(s))
		err_set(&err, 503, "shutting_down", NULL, "interrupted: cohortd is shutting down");
	tms = timings ? json_dumps(timings, JSON_COMPACT) : NULL;
	json_decref(timings);
	if (ok) {
		if (!db_scores_run_timings(s->ctl, run_id, tms ? tms : "{}", &err))
			log_warn("scoring: run %lld: could not record timings", (long long)run_id);
		log_info("scoring: run %lld (project %lld) done in %.0f ms", (long long)run_id,
			 (long long)project_id, mono_ms() - t0);
	} else {
		struct app_err ferr = { 0 };
		log_warn("scoring: run %lld (project %lld) failed: %s", (long long)run_id,
			 (long long)project_id, err.message);
		if (!db_scores_run_fail(s->ctl, run_id, err.message, tms, &ferr))
			log_error("scoring: run %lld: could not record the failure", (long long)run_id);
	}
	free(tms);
	s->run_id = 0;
}

static void push(struct scheduler *s, int64_t run_id)
{
	if (s->len < QUEUE_CAP) {
		s->queue[(s->head + s->len) % QUEUE_CAP] = run_id;
		s->len++;
		pthread_cond_signal(&s->cv);
	} else
		log_error("scoring: queue full, run %lld will be reaped", (long long)run_id);
}

/* One schedule slot: queue (in the database and here) the runs we won. */
static void tick(struct scheduler *s)
{
	struct app_err err = { 0 };
	int64_t ids[QUEUE_CAP];
	size_t n = 0, room;

	pthread_mutex_lock(&s->mu);
	room = QUEUE_CAP - s->len - s->reserved;
	pthread_mutex_unlock(&s->mu);
	if (room == 0)
		return;
	if (!db_scores_schedule(s->ctl, s->owner, s->interval_s, ids, room, &n, &err)) {
		log_warn("scoring: schedule tick failed: %s", err.message);
		return;
	}
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < n; i++)
		push(s, ids[i]);
	pthread_mutex_unlock(&s->mu);
	if (n)
		log_info("scoring: queued %zu scheduled run(s)", n);
}

/* Wall-clock time of the next slot boundary (a little after it). */
static struct timespec next_slot(int interval_s)
{
	struct timespec now, t;

	clock_gettime(CLOCK_REALTIME, &now);
	t.tv_sec = (now.tv_sec / interval_s + 1) * interval_s;
	t.tv_nsec = 20 * 1000000L;
	return t;
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Fail the runs still queued here (shutdown); their rows never existed. */
static void fail_queued(struct scheduler *s)
{
	struct app_err err = { 0 };

	while (s->len > 0) {
		int64_t id = s->queue[s->head];
		s->head = (s->head + 1) % QUEUE_CAP;
		s->len--;
		if (s->ctl && !db_scores_run_fail(s->ctl, id,
						  "cancelled: cohortd shut down before the run started",
						  NULL, &err))
			log_warn("scoring: run %lld left queued (reaped later)", (long long)id);
	}
}

static void *loop(void *arg)
{
	struct scheduler *s = arg;
	struct timespec tick_at = { 0, 0 }, retry, now;

	if (s->interval_s > 0)
		tick_at = next_slot(s->interval_s);
	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		int64_t run_id = 0;
		bool up;

		pthread_mutex_unlock(&s->mu);
		up = connect_all(s);
		clock_gettime(CLOCK_REALTIME, &now);
		if (up && s->interval_s > 0 && !before(&now, &tick_at)) {
			tick(s);
			tick_at = next_slot(s->interval_s);
		}
		pthread_mutex_lock(&s->mu);
		if (up && s->len > 0 && !s->stopping) {
			run_id = s->queue[s->head];
			s->head = (s->head + 1) % QUEUE_CAP;
			s->len--;
			pthread_mutex_unlock(&s->mu);
			execute(s, run_id);
			pthread_mutex_lock(&s->mu);
			continue;
		}
		if (s->stopping)
			break;
		/* Sleep until the next slot, a submitted run, stop, or a reconnect try. */
		retry = now;
		retry.tv_sec += up ? 3600 : 1;
		if (s->interval_s > 0 && before(&tick_at, &retry))
			retry = tick_at;
		if (s->len == 0)
			pthread_cond_timedwait(&s->cv, &s->mu, &retry);
	}
	pthread_mutex_unlock(&s->mu);
	set_ready(s, false);
	fail_queued(s);
	return NULL;
}

struct scheduler *scheduler_start(const struct config *cfg, struct app_err *err)
{
	struct scheduler *s;
	char why[192];
	int secs;

	if (!scheduler_parse_interval(cfg->score_interval, &secs, why, sizeof(why))) {
		err_set(err, 400, "bad_config", NULL, "%s", why);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->conninfo = strdup(cfg->database_url))) {
		free(s);
		err_set(err, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	s->ctl_timeout_ms = cfg->statement_timeout_ms;
	s->interval_s = secs;
	s->owner = new_owner();
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->thread, NULL, loop, s) != 0) {
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		free(s->conninfo);
		free(s);
		err_set(err, 500, "internal", NULL, "cannot start the scoring thread");
		return NULL;
	}
	if (secs > 0)
		log_info("scoring: scheduled every %d s", secs);
	return s;
}

void scheduler_stop(struct scheduler *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->cv);
	/* Long statements of a run in progress: cancel them rather than wait. */
	db_scores_cancel_send(s->cancel[0]);
	db_scores_cancel_send(s->cancel[1]);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	close_data(s, 0);
	close_data(s, 1);
	db_close(s->ctl);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->conninfo);
	free(s);
}

bool scheduler_submit(struct scheduler *s, struct db *db, int64_t project_id, int64_t *run_id,
		      bool *existing, struct app_err *err)
{
	int32_t owner;
	bool ok;

	pthread_mutex_lock(&s->mu);
	owner = s->owner;
	if (s->stopping || !s->ready || s->len + s->reserved >= QUEUE_CAP) {
		pthread_mutex_unlock(&s->mu);
		err_set(err, 503, s->stopping ? "shutting_down" : "scoring_unavailable", NULL,
			s->stopping ? "cohortd is shutting down"
				    : "the scoring worker is not connected or busy; retry");
		err->retry_after = 1;
		return false;
	}
	s->reserved++;
	pthread_mutex_unlock(&s->mu);
	ok = db_scores_run_create(db, project_id, owner, run_id, existing, err);
	pthread_mutex_lock(&s->mu);
	s->reserved--;
	if (ok && !*existing)
		push(s, *run_id);
	pthread_mutex_unlock(&s->mu);
	return ok;
}
