/*
 * ltv_scoring.h - per-person LTV predictions for the scoring pipeline and
 * person profiles (person_scores columns p_alive, expected_purchases_30d /
 * 90d / 365d, clv_predicted; docs/ltv-api.md "Per-person predictions").
 *
 * Two ways to fill person_scores:
 *  - the scoring run calls ltv_score_persons() while it builds a generation
 *    and writes the returned values into its COPY rows (sorted by person_id,
 *    ready to merge with its own per-person arrays);
 *  - or, with no cooperation from the scoring run, ltv_scores_refresh()
 *    writes them into the current generation, whose LTV columns every later
 *    scoring run carries forward (db_scores.c reads them as "ltv carry").
 *    POST /v1/models/ltv/fit with "score_persons": true does this after a
 *    usable fit.
 *
 * Predictions use a usable BG/NBD or Pareto/NBD fit with Gamma-Gamma, as of
 * the fit's calibration end: P(alive) then, expected purchases in the 30, 90
 * and 365 days after it, and the 12-month CLV (monthly discount 0.01, margin
 * 1, months of 30.4375 days) in reporting-currency MINOR units like
 * ltv_historical. A person with no net-paid order up to then has no values.
 */
#ifndef LTV_SCORING_H
#define LTV_SCORING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "server/db_ltv.h"
#include "server/err.h"
#include "server/ltv_runs.h"

struct db;

/*
 * Refit the default model (BG/NBD + Gamma-Gamma, day unit, no penalizer,
 * calibration ending on as_of_day) on db, store it as a model run (trigger
 * "scoring"), and predict every person. *out (malloc'd, caller frees) holds
 * *n rows sorted by person_id; *model_run_id the stored run. When the fit is
 * not usable (e.g. no repeat purchases yet) the answer is true with *n = 0
 * and the run records why: scoring must not fail because LTV cannot be fit.
 */
bool ltv_score_persons(struct db *db, int64_t project_id, int32_t as_of_day,
		       struct db_ltv_pred **out, size_t *n, int64_t *model_run_id,
		       struct app_err *err) MUST_CHECK;

/* Predict every person with model m (summary as of m->cal_end): *out sorted
 * by person_id (malloc'd, caller frees). */
bool ltv_predict_persons(struct db *db, int64_t project_id, const struct db_ltv_ctx *ctx,
			 const struct ltv_model *m, struct db_ltv_pred **out, size_t *n,
			 struct app_err *err) MUST_CHECK;

/* ltv_predict_persons, then write into the current scores generation
 * (db_ltv_scores_write). *written = persons given values; 0 without a
 * generation. */
bool ltv_scores_refresh(struct db *db, int64_t project_id, const struct db_ltv_ctx *ctx,
			const struct ltv_model *m, int64_t *written, struct app_err *err) MUST_CHECK;

/*
 * The predictions of one stitched person as JSON, for GET /v1/persons/{id}
 * (new reference in *out): {model_run_id, model, as_of, time_unit,
 * frequency, recency, T, p_alive, expected_purchases_30d/90d/365d,
 * expected_order_value, clv_12_months, currency, units}; JSON null when the
 * project has no usable BG/NBD fit or the person no net-paid order up to its
 * calibration end. Uses the latest usable BG/NBD run.
 */
bool ltv_person_json(struct db *db, int64_t project_id, int64_t person_id, json_t **out,
		     struct app_err *err) MUST_CHECK;

#endif
