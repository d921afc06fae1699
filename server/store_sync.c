/*
 * store_sync.c - the store's sync thread: connect, load everything once,
 * then every second add rows other processes wrote recently (store.h).
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/db.h"
#include "server/db_store.h"
#include "server/log.h"
#include "server/store_internal.h"

/* Sleep up to ms unless stopping; true when asked to stop. */
static bool nap(struct store *s, int ms)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->mu);
	if (!s->stopping)
		pthread_cond_timedwait(&s->cv, &s->mu, &until);
	stop = s->stopping;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

static void *sync_main(void *arg)
{
	struct store *s = arg;
	struct db *db = NULL;
	bool loaded = false;

	for (;;) {
		struct app_err err = { 0 };

		if (!db_alive(db)) {
			db_close(db);
			db = db_open(s->conninfo, "cohortd-store", s->stmt_timeout, &err);
		}
		if (db && !loaded) {
			loaded = db_store_load(db, s, &err);
			if (loaded) {
				store_mark_loaded(s);
				malloc_trim(0);
			}
		} else if (db) {
			int64_t since = store_poll_since(s);
			if (!db_store_poll(db, s, since, s->node, &err))
				log_warn("store: poll failed: %s", err.message);
		}
		if (!store_ready(s) && loaded)
			log_warn("store: over budget or out of memory; queries read PostgreSQL");
		if (nap(s, loaded ? 1000 : 2000))
			break;
	}
	db_close(db);
	return NULL;
}

bool store_start(struct store *s, const char *conninfo, int statement_timeout_ms)
{
	s->conninfo = strdup(conninfo);
	/* The full load can outlast any per-query timeout. */
	s->stmt_timeout = statement_timeout_ms > 600000 ? statement_timeout_ms : 600000;
	if (!s->conninfo || pthread_create(&s->thread, NULL, sync_main, s) != 0)
		return false;
	s->running = true;
	return true;
}

void store_stop(struct store *s)
{
	if (!s || !s->running)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	s->running = false;
}
