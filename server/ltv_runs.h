/*
 * ltv_runs.h - predictive LTV fits and predictions on top of the model layer
 * (model/btyd.h, bgnbd.h, paretonbd.h, gammagamma.h, clv.h) and db_ltv.h.
 *
 *   struct ltv_spec s;  ltv_spec_default(&s, today);   (then adjust)
 *   ltv_run_submit(app, project, &s, &ctx, &run_json, err);  background fit, 202
 *   ltv_run_sync(db, project, &s, &ctx, "backtest", rows, &fitted, &run_id, err);
 *   ltv_model_from_run(run_json, &m);                  a usable stored fit
 *   ltv_predict(&m, &rows, &clv_opts, ctx.exponent, 0, &preds, err);
 *
 * Units (docs/ltv-api.md): recency, T and alpha/beta in the fit's time unit
 * (day = 1 day, week = 7 days); money in MAJOR units of the reporting
 * currency (Gamma-Gamma gamma, expected spend, CLV); a month is 30.4375 days.
 * A fit is usable for predictions only if the transaction model converged
 * and, when a spend model was asked for, it converged with q > 1.
 */
#ifndef LTV_RUNS_H
#define LTV_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "model/btyd.h"
#include "model/clv.h"
#include "server/db_ltv.h"
#include "server/err.h"

struct app;
struct db;

#define LTV_DAYS_PER_MONTH 30.4375 /* 365.25 / 12 */
#define LTV_MAX_RUNS 2             /* background fits at once per process (2 cores) */

/* What to fit. */
struct ltv_spec {
	enum clv_model model;      /* CLV_BGNBD or CLV_PARETONBD */
	bool spend;                /* also fit Gamma-Gamma */
	int32_t cal_end;           /* last local day of the calibration period */
	enum btyd_unit unit;       /* BTYD_DAYS or BTYD_WEEKS */
	double penalizer;          /* lifetimes penalizer_coef of the transaction model */
	double spend_penalizer;    /* ... of Gamma-Gamma */
	bool q_constraint;         /* lifetimes q_constraint: fit q > 1 */
	bool score_persons;        /* background fits: then write person_scores (ltv_scoring.h) */
};

/* bgnbd + gammagamma, days, no penalizer, calibration ending on cal_end. */
void ltv_spec_default(struct ltv_spec *s, int32_t cal_end);

/* "bgnbd" / "paretonbd"; "day" / "week". */
const char *ltv_model_name(enum clv_model m);
const char *ltv_unit_name(enum btyd_unit u);

/* "YYYY-MM-DD" <-> day number (proleptic Gregorian, days since 1970-01-01).
 * ltv_parse_date is false for anything but a valid calendar date. */
bool ltv_parse_date(const char *s, int32_t *day);
void ltv_format_date(int32_t day, char out[16]);

/* A finished fit. */
struct ltv_fitted {
	struct btyd_fit tx;        /* transaction model */
	struct btyd_fit gg;        /* Gamma-Gamma (n_params 0 when not fitted) */
	bool has_spend;
	bool has_corr;
	double corr;               /* frequency-monetary correlation over the spend rows */
	int64_t persons;
	size_t patterns;
	bool usable;
	double ms_compress, ms_fit, ms_spend;
};

/* Fit on summary rows (db_ltv_load); exponent converts minor to major units.
 * False only on allocation failure or bad rows; a non-converged fit is a
 * success with usable = false and the reason in tx.reason / gg.reason. */
bool ltv_fit_rows(const struct db_ltv_rows *rows, const struct ltv_spec *s, int exponent,
		  struct ltv_fitted *out, struct app_err *err) MUST_CHECK;

/* {"r":..,"alpha":..,"a":..,"b":..} (new reference) and the spend object. */
json_t *ltv_parameters_json(const struct ltv_spec *s, const struct btyd_fit *f);
json_t *ltv_spend_json(const struct ltv_fitted *f, const char *currency);
/* The request as stored in model_runs.params. */
json_t *ltv_spec_json(const struct ltv_spec *s, const struct db_ltv_ctx *ctx);

/*
 * Insert a running model_runs row and fit in a background thread on a
 * connection of its own (opened here, so the thread never touches the
 * pools). *run (new reference) is the run as stored. 503 busy when
 * LTV_MAX_RUNS fits are already running in this process.
 */
bool ltv_run_submit(struct app *app, int64_t project_id, const struct ltv_spec *s,
		    const struct db_ltv_ctx *ctx, json_t **run, struct app_err *err) MUST_CHECK;

/*
 * Fit now on db and store the run (trigger "api", "scoring" or "backtest").
 * rows: already loaded summary with calibration end s->cal_end, or NULL to
 * load it. out and *run_id are filled on success (also when not usable).
 */
bool ltv_run_sync(struct db *db, int64_t project_id, const struct ltv_spec *s,
		  const struct db_ltv_ctx *ctx, const char *trigger, const struct db_ltv_rows *rows,
		  struct ltv_fitted *out, int64_t *run_id, struct app_err *err) MUST_CHECK;

/* A stored usable fit, ready to predict. */
struct ltv_model {
	int64_t run_id;
	enum clv_model model;
	double params[4];
	bool has_spend;
	double gg[3];              /* p, q, gamma (major units) */
	enum btyd_unit unit;
	int32_t cal_end;
};

/* From a run JSON (db_ltv_run_get); false when it is not a usable fit. */
bool ltv_model_from_run(const json_t *run, struct ltv_model *m);
/* The same from a fresh fit (run_id as stored). */
void ltv_model_from_fit(const struct ltv_spec *s, const struct ltv_fitted *f, int64_t run_id,
			struct ltv_model *m);

/* Per-row predictions; NaN where a value is not defined (no spend model,
 * q <= 1, a numerical failure). Money in major units. */
struct ltv_preds {
	size_t n;
	double *p_alive;
	double *e30, *e90, *e365;  /* expected purchases in the next 30, 90, 365 days */
	double *eh;                /* ... over the CLV horizon (months x 30.4375 days) */
	double *et;                /* ... in the next t_days (backtests); NaN when t_days <= 0 */
	double *spend;             /* Gamma-Gamma expected average order value */
	double *clv;               /* margin x spend x discounted expected purchases */
};

/* Rows must be summarised as of the time origin the caller wants (x, t_x, T
 * in days; converted to the model's unit here). o->unit is ignored (the
 * model's unit is used). t_days > 0 also fills et. */
bool ltv_predict(const struct ltv_model *m, const struct db_ltv_rows *rows,
		 const struct clv_opts *o, int exponent, double t_days, struct ltv_preds *out,
		 struct app_err *err) MUST_CHECK;
void ltv_preds_free(struct ltv_preds *p);

#endif
