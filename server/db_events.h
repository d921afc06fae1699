/*
 * db_events.h - stream per-person event sequences out of PostgreSQL for the
 * analytics model (model/funnel.h and friends).
 *
 * Rows come grouped by the stitched person (raw person mapped through
 * person_overrides) and sorted by (ts, received_at, message_id) inside a
 * person - that order is the tie rule of docs/semantics-analytics.md. They
 * are read through a cursor in chunks, so memory is the result arrays only
 * (about 24 bytes per event plus 16 per person).
 */
#ifndef DB_EVENTS_H
#define DB_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/db_query.h"
#include "server/err.h"

struct db;
struct store;

/* One funnel step, exclusion, or event selector. */
struct db_event_step {
	const char *event;           /* event name; NULL or "$any" = any event */
	const struct db_filter *filters;
	int n_filters;
};

struct db_seq_spec {
	int64_t project_id;
	int64_t from_us, until_us;   /* events with ts in [from, until) */
	const struct db_event_step *steps;   /* bit k of mask = matches steps[k] */
	int n_steps;
	const struct db_event_step *excl;    /* bit j of excl_mask */
	int n_excl;
	const struct db_filter *global;      /* every event must pass these */
	int n_global;
	const char *breakdown;       /* property path whose text value is returned, or NULL */
	bool all_events;             /* also return events matching no step (strict funnels) */
	struct store *store;         /* answer from the in-memory store when it can (no
	                                property filters or breakdown); NULL = PostgreSQL */
};

struct db_seq_rows {
	size_t n_persons, n_events;
	int64_t *person_off;         /* n_persons + 1 */
	int64_t *person_id;          /* stitched person of each group */
	int64_t *ts;                 /* µs since epoch, UTC */
	uint32_t *mask;
	uint32_t *excl_mask;         /* NULL when n_excl == 0 */
	int32_t *value;              /* breakdown value id per event, -1 = no value; NULL without breakdown */
	char **values;               /* distinct breakdown values */
	int32_t n_values;
};

bool db_seq_fetch(struct db *db, const struct db_seq_spec *spec, struct db_seq_rows *rows,
		  struct app_err *err) MUST_CHECK;
/* Which path the last db_seq_fetch of this thread took ("store" or
 * "postgres"), for responses and benchmarks. */
const char *db_seq_source(void);
void db_seq_rows_free(struct db_seq_rows *rows);

#endif
