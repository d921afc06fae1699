/*
 * scheduler.h - the scoring thread: runs requested over HTTP and, with
 * COHORTD_SCORE_INTERVAL, runs on a schedule.
 *
 *   int secs; char why[128];
 *   if (!scheduler_parse_interval(cfg->score_interval, &secs, why, sizeof why)) exit(2);
 *   struct scheduler *s = scheduler_start(cfg, &err);
 *   ... scheduler_submit(s, db, project_id, &run_id, &existing, &err) from a handler ...
 *   scheduler_stop(s);
 *
 * One thread per process runs the runs it owns, one at a time, on
 * connections of its own: `ctl` (run rows, progress, the owner lock) and two
 * data connections (the inputs, orders loaded beside events, and the COPY
 * of a new generation). With several
 * processes on one database, each schedule slot (floor(epoch / interval))
 * is claimed by exactly one of them: a cluster-wide pg_try_advisory_xact_lock
 * plus the check that no run exists for the slot (docs/scoring.md).
 */
#ifndef SCHEDULER_H
#define SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/config.h"
#include "server/err.h"

struct db;
struct scheduler;

/*
 * "30s", "15m", "1h", "2d": a positive integer and one unit, nothing else,
 * at most 7 days. "" means off (*seconds = 0). On anything else returns
 * false and writes the reason into why.
 */
bool scheduler_parse_interval(const char *s, int *seconds, char *why, size_t cap);

/* Start the thread. It connects by itself (and reconnects), so the database
 * may be down. NULL with err on a bad interval or out of resources. */
struct scheduler *scheduler_start(const struct config *cfg, struct app_err *err);

/* Stop: cancel the running run (marked failed, its rows never become
 * visible), fail the runs still queued here, join the thread, close. */
void scheduler_stop(struct scheduler *s);

/*
 * Queue a run for project_id using `db` (a primary connection of the
 * caller). When the project already has a queued or running run, that run's
 * id is returned with *existing set. 503 while the thread is not connected
 * or its queue is full.
 */
bool scheduler_submit(struct scheduler *s, struct db *db, int64_t project_id, int64_t *run_id,
		      bool *existing, struct app_err *err) MUST_CHECK;

#endif
