/*
 * db_activity.h - who was active in which local period, aggregated inside
 * PostgreSQL, for retention, lifecycle and key metrics.
 *
 * Those questions only need, per stitched person, the set of local days
 * (or weeks, months) with a matching event and whether the person had one
 * before the range ("first-ever"). Two sources give the same bitmaps:
 *  - the in-memory event store (server/store.h: store_act, one pass over its
 *    columns), when it is ready: no PostgreSQL work but the overrides;
 *  - otherwise PostgreSQL walks events_person_ts once, in person order (an
 *    index-only scan with a GroupAggregate: no sort, no hash table) and
 *    returns one row per raw person with a bitmap of buckets per selector,
 *    ~1M rows for 10M events instead of 10M. Merged persons
 *    (person_overrides) are folded together here in C, so the scan keeps
 *    its index order.
 *
 *     (bounds: period starts from db_calendar_bounds, server/db_calendar.h)
 *     struct db_act_spec spec = {.project_id = p, .bounds = b, .n_buckets = n,
 *                                .sel = names, .n_sel = 2, .need_prior = true};
 *     struct db_act act;
 *     db_act_fetch(db, &spec, &act, &err);
 *     struct db_act_pairs pr;
 *     db_act_pairs_build(&act, b, 3, &pr);    // CSR input for model/retention.h
 *     db_act_pairs_free(&pr); db_act_free(&act);
 *
 * Exact rules and the SQL that reproduces them: docs/api.md ("Analytics").
 */
#ifndef DB_ACTIVITY_H
#define DB_ACTIVITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/err.h"

struct db;
struct store;

#define DB_ACT_MAX_SEL 3
#define DB_ACT_MAX_WORDS 16      /* buckets <= 1024 (about 2.8 years of days) */

struct db_act_spec {
	int64_t project_id;
	const int64_t *bounds;       /* n_buckets + 1 ascending UTC instants */
	int32_t n_buckets;           /* bucket i = [bounds[i], bounds[i+1]); 1 .. 64 * DB_ACT_MAX_WORDS */
	const char *const *sel;      /* event name per selector; NULL or "$any" = any event */
	int n_sel;                   /* 1 .. DB_ACT_MAX_SEL */
	bool need_prior;             /* flag selectors matched before bounds[0] (scans history) */
	bool need_later;             /* flag selectors matched at or after bounds[n_buckets] */
	struct store *store;         /* in-memory store, or NULL for PostgreSQL only */
};

struct db_act {
	size_t n_persons;
	int n_sel, n_words;
	const char *source;          /* "store" or "postgres" */
	int64_t *person_id;          /* stitched person ids (ascending from PostgreSQL,
	                                in store order from the store) */
	uint64_t *bits;              /* person i, selector k, word w at
	                                [(i * n_sel + k) * n_words + w]; bit b of word w = bucket 64w + b */
	uint8_t *flags;              /* per person: DB_ACT_PRIOR(k) = a sel[k] event before
	                                bounds[0]; DB_ACT_LATER(k) = one at or after the end */
};

#define DB_ACT_LATER_SHIFT 4
#define DB_ACT_PRIOR(k) (1u << (k))
#define DB_ACT_LATER(k) (1u << (DB_ACT_LATER_SHIFT + (k)))

/*
 * Persons with at least one selected event in [bounds[0], bounds[n]),
 * stitched through person_overrides, with their bucket bitmaps. One
 * REPEATABLE READ READ ONLY transaction (overrides and events agree).
 * Errors: 400 on a bad spec, 500 on allocation failure, 503 from the database.
 */
bool db_act_fetch(struct db *db, const struct db_act_spec *spec, struct db_act *out,
		  struct app_err *err) MUST_CHECK;
void db_act_free(struct db_act *a);

/* Word w of selector k of person i. */
static inline const uint64_t *db_act_row(const struct db_act *a, size_t i, int k)
{
	return a->bits + (i * (size_t)a->n_sel + (size_t)k) * (size_t)a->n_words;
}

/* Person id -> index in a db_act (ids are not sorted when they come from
 * the store). */
struct db_act_map {
	int64_t *keys;
	int32_t *vals;
	size_t mask;
};

bool db_act_map_build(struct db_act_map *m, const struct db_act *a) MUST_CHECK;
/* Index of person, or -1. */
int32_t db_act_map_get(const struct db_act_map *m, int64_t person);
void db_act_map_free(struct db_act_map *m);

/* Mark bucket b for selector k of person i. */
static inline void db_act_set(struct db_act *a, size_t i, int k, int32_t b)
{
	a->bits[(i * (size_t)a->n_sel + (size_t)k) * (size_t)a->n_words + (size_t)(b >> 6)] |=
		(uint64_t)1 << (b & 63);
}

/* The bitmaps as per-person event arrays for model/: one "event" per
 * (person, bucket) where some selector in sel_mask matched, at instant
 * bounds[bucket], with role bit k set when selector k matched there. */
struct db_act_pairs {
	size_t n_persons, n_pairs;
	int64_t *person_off;         /* n_persons + 1 (same person order as db_act) */
	int64_t *ts;
	uint8_t *role;
};

bool db_act_pairs_build(const struct db_act *a, const int64_t *bounds, unsigned sel_mask,
			struct db_act_pairs *out) MUST_CHECK;
void db_act_pairs_free(struct db_act_pairs *p);

/* Lowest bucket with selector k set for person i, or -1. */
int32_t db_act_first_bucket(const struct db_act *a, size_t i, int k);

#endif
