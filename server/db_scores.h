/*
 * db_scores.h - every SQL statement of segmentation and scoring.
 *
 * Three groups, all parameterised (no input is ever spliced into SQL):
 *
 * 1. Inputs. db_scores_load() reads, in one REPEATABLE READ snapshot, one
 *    aggregate row per stitched person and kind (events, orders, referrals,
 *    and the predictive-LTV columns to carry forward), each through a cursor
 *    fetched in chunks: one pass per kind, never a query per person.
 * 2. Generations. A run writes its rows with db_scores_copy_begin/_put and
 *    makes them current with db_scores_commit_run in the same transaction,
 *    so a failed or killed run leaves the previous scores untouched.
 * 3. Runs, schedule and reads: run rows, the owner lock that tells live runs
 *    from dead ones, schedule slots, stored summaries, segment pages and
 *    person profiles (pages and profiles as Jansson objects).
 *
 * Day numbers are days since 1970-01-01 in the project's time zone.
 */
#ifndef DB_SCORES_H
#define DB_SCORES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "server/err.h"

struct db;

/* ---- 1. inputs ----------------------------------------------------------- */

struct sc_query {
	int64_t project_id;
	const char *tz;             /* IANA zone of the project */
	const char *currency;       /* reporting currency (settings.currency) */
	int32_t as_of_day;          /* last local day included */
	int32_t compare_day;        /* AIPL date 1 (flags "...1" below are as of it) */
	int32_t lookback_days;      /* RFM window: days (as_of - lookback, as_of] */
	int32_t active_window_days; /* lifecycle: active days counted over this many days */
	const char *activation;     /* JSON arrays of event names */
	const char *awareness;
	const char *interest;
	const char *loyalty;
	const char *referral_event;    /* the referee's event carrying the referrer */
	const char *referrer_property; /* top-level property: the referrer's distinct id */
};

enum {
	SC_ACTIVATED = 1,  /* did an activation event */
	SC_AWARE = 2,      /* page/screen or awareness event */
	SC_INTEREST = 4,   /* interest event */
	SC_LOYAL = 8,      /* loyalty event */
	SC_AWARE1 = 16,    /* the same three, up to compare_day */
	SC_INTEREST1 = 32,
	SC_LOYAL1 = 64,
};

struct sc_ev_row {
	int64_t person_id;
	int32_t first_day, last_day; /* first / last local day with an event */
	int32_t active_days;         /* distinct days in the active window */
	uint8_t flags;
};

/* Orders up to as_of. "Net-paid": status paid or partially refunded and net > 0. */
struct sc_ord_row {
	int64_t person_id;
	int32_t first_day, last_day; /* any order (activity) */
	int32_t last_paid_day;       /* last net-paid order in the window; 0 if none */
	int32_t orders;              /* F: net-paid orders in the window */
	int32_t paid_orders;         /* net-paid orders up to as_of */
	int32_t paid_orders1;        /* net-paid orders up to compare_day */
	int64_t revenue;             /* M: net revenue of those orders in the window */
	int64_t ltv;                 /* net revenue of every order up to as_of */
	int32_t fx_missing;          /* orders without an FX rate (their net is left out) */
};

struct sc_ref_row {
	int64_t person_id;
	uint32_t referees; /* distinct persons whose referral event names this person */
};

#define SC_LTV_COLS 5
/* p_alive, expected purchases 30/90/365 d, predicted CLV; NaN = NULL. */
struct sc_ltv_row {
	int64_t person_id;
	double v[SC_LTV_COLS];
};

struct sc_inputs {
	struct sc_ev_row *ev;
	size_t n_ev;
	struct sc_ord_row *ord;
	size_t n_ord;
	struct sc_ref_row *ref;
	size_t n_ref;
	struct sc_ltv_row *ltv;
	size_t n_ltv;
	bool has_orders;      /* the orders table exists */
	double ms[4];         /* load time of events, orders, referrals, ltv */
};

/* Today's local day number in tz (400 naming `field` for an unknown zone). */
bool db_scores_today(struct db *db, const char *tz, int32_t *day, struct app_err *err) MUST_CHECK;

/* Load every kind's aggregates; rows come sorted by person_id. carry_ltv:
 * also read the LTV columns of the project's current generation. db2 (may
 * be NULL): a second idle connection; the orders pass then runs on it, in
 * a thread, on the same snapshot, beside the events pass. */
bool db_scores_load(struct db *db, struct db *db2, const struct sc_query *q, bool carry_ltv,
		    struct sc_inputs *in, struct app_err *err) MUST_CHECK;
void db_scores_inputs_free(struct sc_inputs *in);

/* ---- 2. generations ------------------------------------------------------ */

/* BEGIN, create and attach the generation's table person_scores_<run_id>
 * (migration 0008) and COPY ... FREEZE into it FROM STDIN. Columns, tab-separated,
 * \N = NULL, in this order:
 *   project_id run_id person_id first_active last_active paid_orders
 *   rfm_recency_days rfm_frequency rfm_monetary rfm_r rfm_f rfm_m rfm_fm
 *   rfm11 rfm8 lifecycle value_tier aipl aarrr referrals ltv_historical
 *   p_alive expected_purchases_30d expected_purchases_90d
 *   expected_purchases_365d clv_predicted */
bool db_scores_copy_begin(struct db *db, int64_t run_id, struct app_err *err) MUST_CHECK;
/* Send rows (whole lines). On failure the transaction is rolled back. */
bool db_scores_copy_put(struct db *db, const char *buf, size_t len, struct app_err *err) MUST_CHECK;

struct sc_done {
	int64_t project_id, run_id;
	int64_t total;          /* persons written */
	int32_t as_of_day;
	const char *params;     /* JSON */
	const char *summary;    /* JSON */
	const char *timings;    /* JSON */
};
/* End the COPY, analyze the generation, point score_current at
 * the run (the previous one becomes previous_run_id), mark the run done,
 * COMMIT (the run must still be running). Rolls back on any failure. */
bool db_scores_commit_run(struct db *db, const struct sc_done *d, struct app_err *err) MUST_CHECK;
/* Abort an open COPY / transaction (after a failure or on shutdown). */
void db_scores_abort(struct db *db);
/* Outside a transaction: detach (concurrently: readers are never blocked)
 * and drop every generation no project reads any more (neither current nor
 * previous), *dropped = how many; then delete run rows beyond the newest
 * 1000 of the project. */
bool db_scores_purge(struct db *db, int64_t project_id, int64_t *dropped,
		     struct app_err *err) MUST_CHECK;

/* Cancel handle for a connection, usable from another thread. */
struct db_cancel;
struct db_cancel *db_scores_cancel_new(struct db *db);
void db_scores_cancel_send(struct db_cancel *c);
void db_scores_cancel_free(struct db_cancel *c);

/* ---- 3. runs and schedule ------------------------------------------------ */

/* Session lock (owner key) held on the scheduler's control connection for
 * the life of the process: it is how other processes see our runs alive. */
bool db_scores_owner_lock(struct db *db, int32_t owner, struct app_err *err) MUST_CHECK;
/* Fail queued/running runs whose owner lock is free (their process died).
 * project_id 0 = every project. */
bool db_scores_reap(struct db *db, int64_t project_id, struct app_err *err) MUST_CHECK;

/* Queue a run requested over HTTP. When the project already has a queued or
 * running run, *existing is set and *run_id is that run. */
bool db_scores_run_create(struct db *db, int64_t project_id, int32_t owner, int64_t *run_id,
			  bool *existing, struct app_err *err) MUST_CHECK;

/* One schedule tick: under a cluster-wide try-lock, queue a run (owned by
 * `owner`) for every project that has no scheduled run in the current slot
 * (floor(db epoch / interval_s)) and no active run. Fills up to cap run ids;
 * *n = 0 when another process holds the lock. */
bool db_scores_schedule(struct db *db, int32_t owner, int interval_s, int64_t *run_ids,
			size_t cap, size_t *n, struct app_err *err) MUST_CHECK;

/* queued -> running for a run we own; *claimed false when it is no longer
 * queued (reaped or cancelled). */
bool db_scores_run_start(struct db *db, int64_t run_id, int32_t owner, int64_t *project_id,
			 bool *claimed, struct app_err *err) MUST_CHECK;
bool db_scores_run_progress(struct db *db, int64_t run_id, int64_t scored, int64_t total,
			    struct app_err *err) MUST_CHECK;
/* Mark a queued or running run failed with a message (our text, not SQL's). */
bool db_scores_run_fail(struct db *db, int64_t run_id, const char *message,
			const char *timings, struct app_err *err) MUST_CHECK;

/* Merge phase times into the run's timings (after the commit). */
bool db_scores_run_timings(struct db *db, int64_t run_id, const char *timings,
			   struct app_err *err) MUST_CHECK;

/* The run as a JSON object text (malloc'd); NULL with *found false when the
 * project has no such run. */
bool db_scores_run_json(struct db *db, int64_t project_id, int64_t run_id, char **json,
			bool *found, struct app_err *err) MUST_CHECK;

/* ---- reads --------------------------------------------------------------- */

struct sc_stored {
	int64_t run_id;
	int64_t previous_run_id;  /* 0 when none */
	int32_t as_of_day;
	char computed_at[40];
	char *params;             /* JSON object text (malloc'd) */
	char *summary;            /* the requested key's JSON text (malloc'd), NULL if absent */
};
/* The current generation of a project; *found false when it has none. */
bool db_scores_stored(struct db *db, int64_t project_id, const char *summary_key,
		      struct sc_stored *out, bool *found, struct app_err *err) MUST_CHECK;
void db_scores_stored_free(struct sc_stored *s);

/* Which column a segment list filters on. */
enum sc_column { SC_COL_RFM11, SC_COL_RFM8, SC_COL_LIFECYCLE, SC_COL_TIER, SC_COL_AIPL,
		 SC_COL_AARRR };

/* One page of a segment of generation run_id, person_id > after, ascending:
 * *rows (new reference) is a JSON array of {person_id, distinct_ids, scores}.
 * segment: the code, or for SC_COL_AARRR the bit mask as decimal text.
 * *gone is set (with an empty page) when the generation was purged. */
bool db_scores_page(struct db *db, int64_t project_id, int64_t run_id, enum sc_column col,
		    const char *segment, int64_t after, int limit, json_t **rows, bool *gone,
		    struct app_err *err) MUST_CHECK;

/* Profiles of n distinct ids in one statement (the batches of
 * server/profiles.c). rows[i] is the result row of distinct_ids[i] in
 * project_ids[i], -1 when the id is unknown; *out holds the rows until
 * db_scores_profiles_free, also when no id was found. */
struct sc_profiles;
bool db_scores_profiles(struct db *db, size_t n, const int64_t *project_ids,
			const char *const *distinct_ids, struct sc_profiles **out, int32_t *rows,
			struct app_err *err) MUST_CHECK;
/* Row `row` of a batch as text (PostgreSQL's output, NULL = SQL NULL),
 * pointing into the result: valid until db_scores_profiles_free. Safe to
 * call from several threads at once on one result. */
#define SC_SCORE_COLS 25
struct sc_profile_row {
	const char *person_id;
	const char *distinct_ids, *merged_person_ids, *traits; /* JSON text */
	const char *first_seen, *last_seen; /* 2026-01-02T03:04:05.123456Z */
	/* run_id computed_at first_active last_active paid_orders
	 * rfm_recency_days rfm_frequency rfm_monetary rfm_r rfm_f rfm_m rfm_fm
	 * rfm11 rfm8 lifecycle value_tier aipl aarrr referrals ltv_historical
	 * p_alive expected_purchases_30d expected_purchases_90d
	 * expected_purchases_365d clv_predicted; run_id NULL = not scored yet */
	const char *score[SC_SCORE_COLS];
	/* the project has a usable BG/NBD fit (model_runs): the profile's
	 * predictions need ltv_person_json; without one they are null */
	bool ltv_fit;
};
void db_scores_profile_row(const struct sc_profiles *b, int32_t row, struct sc_profile_row *out);
void db_scores_profiles_free(struct sc_profiles *b);

#endif
