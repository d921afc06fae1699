/*
 * db_ltv.h - every SQL statement of predictive LTV (docs/ltv-api.md).
 *
 * 1. The BTYD summary straight from PostgreSQL. Paid orders (status paid or
 *    partially_refunded, docs/orders.md; value = net amount) of each stitched
 *    person are merged per local calendar day of the project's time zone
 *    (one purchase occasion, its value the sum of the day's net amounts in
 *    the reporting currency, minor units), then summarised per person as
 *    lifetimes does: x = occasions up to the calibration end - 1, t_x = last
 *    - first occasion, T = calibration end - first occasion (whole days), the
 *    value of the repeat occasions, and the occasions and value in the
 *    holdout (calibration end, holdout end]. Finally GROUP BY those values
 *    with a count: a million customers arrive as far fewer rows, and a fit on
 *    them has exactly the likelihood of the fit on the persons.
 * 2. Historical cohort curves and the acquisition series of the growth fit.
 * 3. model_runs rows (migrations/0006_ltv.sql).
 *
 * Day numbers are days since 1970-01-01 in the project's time zone. Orders in
 * a foreign currency without an FX rate are left out (and counted), as in
 * the order_values view: never silently mixed.
 */
#ifndef DB_LTV_H
#define DB_LTV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "server/err.h"

struct db;

/* Advisory lock class of a running fit: (DB_LTV_LOCK_KEY, run_id). */
#define DB_LTV_LOCK_KEY 1668052086

/* Project context of an LTV query. */
struct db_ltv_ctx {
	char tz[64];        /* IANA zone: the project's, or the request's tz */
	char currency[8];   /* reporting currency (settings.currency) */
	int exponent;       /* its ISO 4217 exponent: minor units = major * 10^exponent */
	int32_t today;      /* today's local day number in tz */
};

/* Settings, currency exponent and today. tz NULL or "": the project's zone;
 * otherwise it must be a zone PostgreSQL knows (400 naming `field`). */
bool db_ltv_context(struct db *db, int64_t project_id, const char *tz, const char *field,
		    struct db_ltv_ctx *out, struct app_err *err) MUST_CHECK;

/* ---- 1. the summary ------------------------------------------------------ */

enum db_ltv_shape {
	DB_LTV_GROUPED,  /* GROUP BY (x, t_x, T, repeat value, holdout n, holdout value) */
	DB_LTV_SEGMENTS, /* ... and the person's rfm11 segment of the current scores */
	DB_LTV_PERSONS,  /* one row per person, ordered by person_id */
};

struct db_ltv_query {
	int64_t project_id;
	const char *tz;
	const char *currency;
	int32_t cal_end;       /* last local day of the calibration period (inclusive) */
	int32_t holdout_end;   /* last local day of the holdout; cal_end = no holdout */
	enum db_ltv_shape shape;
	int64_t person_id;     /* DB_LTV_PERSONS: > 0 = only this stitched person */
};

#define DB_LTV_MAX_SEGS 32

/* Owned arrays of n rows; free with db_ltv_rows_free. */
struct db_ltv_rows {
	size_t n;
	int32_t *x;          /* repeat occasions in the calibration period */
	int32_t *tx, *T;     /* recency and age at the calibration end, days */
	int64_t *rep;        /* value of the repeat occasions, minor units */
	int32_t *hx;         /* occasions in the holdout */
	int64_t *hv;         /* value of the holdout occasions, minor units */
	int64_t *count;      /* persons with this row (1 for DB_LTV_PERSONS) */
	int64_t *pid;        /* DB_LTV_PERSONS: the stitched person */
	int16_t *seg;        /* DB_LTV_SEGMENTS: index into segs, -1 = not scored */
	char *segs[DB_LTV_MAX_SEGS];
	int n_segs;
	bool has_scores;     /* DB_LTV_SEGMENTS: a current scores generation exists */
	int64_t scores_run;  /* ... its run id (0 = none) */
	int64_t persons;     /* sum of count */
	int64_t fx_missing;  /* net-paid orders left out for want of an FX rate */
	double load_ms;
};

/* Run the summary in one READ ONLY snapshot, read through a cursor in chunks.
 * Persons whose first net-paid order is after cal_end are not included. */
bool db_ltv_load(struct db *db, const struct db_ltv_query *q, struct db_ltv_rows *out,
		 struct app_err *err) MUST_CHECK;
void db_ltv_rows_free(struct db_ltv_rows *r);

/* ---- 2. history ---------------------------------------------------------- */

/* One (cohort, age) cell: revenue of the cohort's persons in age period k. */
struct db_ltv_cell {
	char cohort[11];     /* local start date of the acquisition period, YYYY-MM-DD */
	int64_t end_us;      /* end of the acquisition period (UTC µs) */
	int64_t size;        /* persons acquired in the period */
	int32_t k;           /* age period since each person's acquisition; -1 = no revenue */
	int64_t revenue;     /* net revenue, reporting-currency minor units */
};

struct db_ltv_cohort_query {
	int64_t project_id;
	const char *tz, *currency;
	const char *period;  /* date_trunc unit of the cohorts: day, week, month */
	double period_s;     /* length of an age period in seconds (a month is 30.4375 d) */
	bool paying;         /* acquisition = first net-paid order, else first seen */
	int64_t from_us, to_us; /* persons acquired in [from, to) */
};

/* Cells ordered by cohort then k; *n cells (malloc'd, caller frees). */
bool db_ltv_cohorts(struct db *db, const struct db_ltv_cohort_query *q, struct db_ltv_cell **cells,
		    size_t *n, struct app_err *err) MUST_CHECK;

/* New and cumulative persons of one acquisition (first seen) period. */
struct db_ltv_period {
	char start[11];      /* local start date of the period, YYYY-MM-DD */
	int64_t added;       /* persons first seen in the period */
	int64_t cumulative;  /* persons first seen up to the end of the period */
};

struct db_ltv_growth_query {
	int64_t project_id;
	const char *tz;
	const char *period;  /* date_trunc unit: day, week, month */
	int64_t from_us;     /* first period: the one holding from (or the first acquisition) */
	int64_t to_us;       /* last period: the one holding to - 1 µs */
};

/* Every period of the range, gaps included (*n periods, malloc'd). */
bool db_ltv_growth(struct db *db, const struct db_ltv_growth_query *q, struct db_ltv_period **out,
		   size_t *n, struct app_err *err) MUST_CHECK;

/* ---- 3. model runs ------------------------------------------------------- */

struct db_ltv_run_new {
	int64_t project_id;
	const char *kind;        /* bgnbd | paretonbd */
	const char *spend_model; /* gammagamma or NULL */
	const char *trigger;     /* api | scoring | backtest */
	const char *params;      /* JSON object text */
	int32_t cal_end;
	const char *time_unit;   /* day | week */
};

/* Insert a 'running' row and take the session lock (DB_LTV_LOCK_KEY, run_id)
 * on this connection, which must then stay with the run until it ends. */
bool db_ltv_run_start(struct db *db, const struct db_ltv_run_new *r, int64_t *run_id,
		      struct app_err *err) MUST_CHECK;

struct db_ltv_run_done {
	const char *parameters;  /* JSON object texts */
	const char *spend;       /* NULL when no spend model */
	const char *timings;
	const char *scores;      /* the person_scores write ("score_persons"), or NULL */
	double log_lik;
	int iterations, evaluations;
	bool converged, usable;
	const char *reason;
	int64_t persons, patterns;
};

/* status done with the result, and release the run's lock. */
bool db_ltv_run_finish(struct db *db, int64_t project_id, int64_t run_id,
		       const struct db_ltv_run_done *d, struct app_err *err) MUST_CHECK;
/* status failed with our message, and release the run's lock. */
bool db_ltv_run_fail(struct db *db, int64_t project_id, int64_t run_id, const char *message,
		     const char *timings, struct app_err *err) MUST_CHECK;

/*
 * A run as JSON (new reference in *out): by run_id (> 0), or the latest
 * usable run of `kind` when run_id is 0. By id, a 'running' run whose lock is
 * free (its process died) is marked failed first: that form writes, so it
 * needs the primary. *out NULL when none.
 */
bool db_ltv_run_get(struct db *db, int64_t project_id, int64_t run_id, const char *kind,
		    json_t **out, struct app_err *err) MUST_CHECK;

/* Current scores generation run id of the project, 0 when none (or no
 * person_scores table), for "where did the segments come from". */
bool db_ltv_scores_run(struct db *db, int64_t project_id, int64_t *run_id,
		       struct app_err *err) MUST_CHECK;

/* Predictions of one stitched person, in person_scores' units: p_alive,
 * expected purchases in the next 30/90/365 days, predicted CLV in
 * reporting-currency MINOR units (like ltv_historical). NaN = unknown. */
struct db_ltv_pred {
	int64_t person_id;
	double p_alive, purchases_30d, purchases_90d, purchases_365d, clv_minor;
};

/* Write predictions (sorted or not) into the current scores generation.
 * Persons of the generation not in the list get NULLs. The generation is
 * locked FOR SHARE meanwhile, so it cannot be replaced half-written.
 * *written = rows given values; 0 and true when there is no generation. */
bool db_ltv_scores_write(struct db *db, int64_t project_id, const struct db_ltv_pred *p,
			 size_t n, int64_t *written, struct app_err *err) MUST_CHECK;

#endif
