/*
 * ltv.h - predictive and historical LTV routes (docs/ltv-api.md), read key:
 *
 *   POST /v1/models/ltv/fit     fit BG/NBD or Pareto/NBD (+ Gamma-Gamma) in the
 *                               background; 202 with the run
 *   GET  /v1/models/runs/{id}   a stored model run
 *   GET  /v1/ltv                summary of the latest usable fit and the
 *                               predicted CLV distribution (by RFM segment)
 *   GET  /v1/ltv/cohorts        cumulative net revenue per person by age, per
 *                               acquisition cohort, mature cells only
 *   GET  /v1/ltv/backtest       fit on a calibration period, predict a holdout
 *   GET  /v1/growth             logistic fit of cumulative persons
 *
 * Every answer states its units: time unit (day = 1 day, week = 7 days), a
 * month = 30.4375 days, money in major units of the reporting currency.
 * Bad parameters are 400 validation_failed naming the parameter.
 */
#ifndef HANDLERS_LTV_H
#define HANDLERS_LTV_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "server/err.h"
#include "server/http.h"

void h_ltv_fit_post(struct http_req *req, struct http_resp *resp);
void h_model_run_get(struct http_req *req, struct http_resp *resp);
void h_ltv_get(struct http_req *req, struct http_resp *resp);
void h_ltv_cohorts_get(struct http_req *req, struct http_resp *resp);
void h_ltv_backtest_get(struct http_req *req, struct http_resp *resp);
void h_growth_get(struct http_req *req, struct http_resp *resp);

/* ---- shared by handlers/ltv*.c ------------------------------------------- */

/* 400 naming the first query parameter not in `allowed` (NULL-terminated). */
bool ltv_check_params(const struct http_req *req, const char *const *allowed,
		      struct app_err *err) MUST_CHECK;
/* Optional query number in [lo, hi] (def when absent); 400 naming it. */
bool ltv_query_num(const struct http_req *req, const char *name, double def, double lo,
		   double hi, double *out, struct app_err *err) MUST_CHECK;
/* Optional query date YYYY-MM-DD as a day number (def when absent). */
bool ltv_query_date(const struct http_req *req, const char *name, int32_t def, int32_t *out,
		    struct app_err *err) MUST_CHECK;
/* Optional query value among `choices` (NULL-terminated): its index, or def. */
bool ltv_query_choice(const struct http_req *req, const char *name, const char *const *choices,
		      int def, int *out, struct app_err *err) MUST_CHECK;
/* The "units" object every LTV answer carries (new reference). */
json_t *ltv_units_json(const char *time_unit, const char *currency);
/* A number, or null for NaN/inf (never NaN in JSON). */
json_t *ltv_real(double x);

#endif
