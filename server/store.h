/*
 * store.h - a compact in-memory columnar copy of (project, person, event,
 * ts, received_at) for every event, so analytics queries do not re-read raw
 * events from PostgreSQL (which stays the source of truth).
 *
 * Why: on 10M events a funnel spends ~2 s extracting and sorting rows in
 * PostgreSQL and ~0.1 s in the C model (bench/RESULTS.md). Scanning 24
 * bytes per event in memory takes tens of milliseconds.
 *
 * Staying current:
 *  - at start-up a sync thread loads every event (ordered by ts,
 *    received_at, message_id: the tie rule of docs/semantics-analytics.md);
 *  - the writer appends what each group commit inserted, right after COMMIT;
 *  - every second the sync thread reads rows received in the last
 *    COHORTD_STORE_MARGIN seconds, so rows written by another replica or by
 *    hand are picked up too. A set of recently seen (project, person,
 *    message_id) keys makes every path idempotent: a row is added once.
 *
 * Memory: 24 bytes per event, as columns per event name (a query reads the
 * names it selects sequentially; store_internal.h), plus about 16 bytes per
 * person and per recent key. Over COHORTD_STORE_MAX_EVENTS the store turns
 * itself off and queries stream from PostgreSQL again (db_events.c).
 * Queries see a consistent snapshot of the arrays under a read lock.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/err.h"

struct db_seq_rows;

struct store_row {
	int64_t project_id;
	int64_t person_id;         /* raw person as stored on the event */
	int64_t ts_us;
	int64_t recv_us;
	const char *event;
	const char *message_id;
};

struct store;

/* A store for at most max_events events; margin_s: how far back the sync
 * thread re-reads recent rows. */
struct store *store_new(int64_t max_events, int margin_s);
void store_free(struct store *s);

/* Start the sync thread (own connection to conninfo): full load, then a
 * poll every second. store_stop joins it. */
bool store_start(struct store *s, const char *conninfo, int statement_timeout_ms);
void store_stop(struct store *s);

/* Add rows unless their key was seen (any thread). Rows must be in tie
 * order (ts, received_at, message_id) among themselves for equal ts. */
void store_add(struct store *s, const struct store_row *rows, size_t n);

/* True once the initial load finished and the store is within budget. */
bool store_ready(struct store *s);

/* Events in memory (all projects), for /metrics and tests. */
int64_t store_events(struct store *s);

struct store_query {
	int64_t project_id;
	int64_t from_us, until_us;             /* ts in [from, until) */
	const char *const *steps;              /* event names; "$any" matches all */
	int n_steps;
	const char *const *excl;
	int n_excl;
	bool all_events;                       /* keep events matching nothing */
	const int64_t *ov_old, *ov_new;        /* person overrides, n_ov pairs */
	size_t n_ov;
};

/* Fill rows exactly as db_seq_fetch would (grouped by stitched person,
 * sorted by ts, received_at, message_id). False when the store can't answer
 * (not ready, over budget, out of memory): the caller falls back. */
bool store_seq(struct store *s, const struct store_query *q, struct db_seq_rows *rows);

/* Activity bitmaps (server/store_act.c), the layout of struct db_act
 * (server/db_activity.h): per stitched person with a selected event in
 * [bounds[0], bounds[n_buckets]), bit b of word w of selector k at
 * bits[(i * n_sel + k) * n_words + w] = a sel[k] event in period 64w + b;
 * flags bit k = one before bounds[0] (need_prior), bit
 * STORE_ACT_LATER_SHIFT + k = one at or after the end (need_later).
 * One pass over the events (the selected names' lists when no selector is
 * "$any"), no copy: bytes = persons x n_sel x words x 8 while it runs. */
#define STORE_ACT_LATER_SHIFT 4

struct store_act_query {
	int64_t project_id;
	const int64_t *bounds;                 /* n_buckets + 1 ascending instants */
	int32_t n_buckets;
	const char *const *sel;                /* event names; "$any" matches all */
	int n_sel;                             /* 1 .. 4 */
	bool need_prior, need_later;
	const int64_t *ov_old, *ov_new;        /* person overrides, n_ov pairs */
	size_t n_ov;
};

struct store_act_rows {
	size_t n_persons;
	int n_words;
	int64_t *person_id;                    /* stitched raw ids, store order */
	uint64_t *bits;
	uint8_t *flags;
};

/* False when the store can't answer (not ready, over budget, out of
 * memory): the caller falls back. */
bool store_act(struct store *s, const struct store_act_query *q, struct store_act_rows *out);
void store_act_rows_free(struct store_act_rows *r);

/* Used by the sync thread: where the next poll starts (newest received_at
 * seen minus the margin). Rows from then on keep their keys until the next
 * call, so the poll's rows are recognised however far hwm moves meanwhile. */
int64_t store_poll_since(struct store *s);
void store_mark_loaded(struct store *s);
int store_margin_s(const struct store *s);
/* Random id this process writes into events.ingest_node. */
int32_t store_node(const struct store *s);

#endif
