/*
 * ltv_reports.c - GET /v1/ltv/cohorts, GET /v1/ltv/backtest, GET /v1/growth
 * (see ltv.h; rules in docs/ltv-api.md).
 *
 * Cohort curves are the classic historical LTV: per acquisition cohort, the
 * cumulative net revenue of its persons in their first k+1 age periods
 * divided by the cohort size, reported only for mature cells (every person
 * of the cohort has been observed for the whole k+1 periods), as Amplitude
 * does; the average curve at age k pools the cohorts mature at k.
 */
#include "handlers/ltv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/query.h"
#include "model/growth.h"
#include "server/app.h"
#include "server/db.h"
#include "server/db_ltv.h"
#include "server/ltv_runs.h"

static const char *const periods[] = { "day", "week", "month", NULL };
static const double period_days[] = { 1.0, 7.0, LTV_DAYS_PER_MONTH };

/* ---- GET /v1/ltv/cohorts ---------------------------------------------------- */

struct cohort_avg {
	double revenue;        /* cumulative revenue of the cohorts mature at k */
	int64_t persons;
	int cohorts;
};

/* One cohort's mature cells [i, j) of the sorted cells; adds to the average. */
static json_t *cohort_json(const struct db_ltv_cell *c, size_t i, size_t j, int64_t now_us,
			   double period_us, int max_k, double scale, struct cohort_avg *avg)
{
	int kmax = (int)floor((double)(now_us - c[i].end_us) / period_us) - 1;
	json_t *cells = json_array();
	double cum = 0;

	if (kmax > max_k - 1)
		kmax = max_k - 1;
	for (int k = 0; k <= kmax; k++) {
		double rev = 0;
		for (size_t x = i; x < j; x++)
			if (c[x].k == k)
				rev = (double)c[x].revenue / scale;
		cum += rev;
		avg[k].revenue += cum;
		avg[k].persons += c[i].size;
		avg[k].cohorts++;
		json_array_append_new(cells, json_pack("{s:i, s:f, s:f, s:o}", "age", k, "revenue",
						       rev, "cumulative_revenue", cum,
						       "ltv_per_person",
						       ltv_real(cum / (double)c[i].size)));
	}
	return json_pack("{s:s, s:I, s:i, s:o}", "cohort", c[i].cohort, "persons",
			 (json_int_t)c[i].size, "mature_periods", kmax + 1, "periods", cells);
}

static json_t *render_cohorts(const struct db_ltv_cell *c, size_t n, int period, bool paying,
			      const struct query_range *qr, int64_t now_us, int max_k,
			      const struct db_ltv_ctx *ctx)
{
	double period_us = period_days[period] * 86400e6, scale = pow(10.0, ctx->exponent);
	struct cohort_avg *avg = calloc((size_t)max_k, sizeof(*avg));
	json_t *cohorts = json_array(), *curve = json_array(), *units;
	char from[64], to[64];

	if (!avg) {
		json_decref(cohorts);
		json_decref(curve);
		return NULL;
	}
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && strcmp(c[j].cohort, c[i].cohort) == 0; j++)
			;
		json_array_append_new(cohorts, cohort_json(c, i, j, now_us, period_us, max_k,
							   scale, avg));
	}
	for (int k = 0; k < max_k && avg[k].persons > 0; k++)
		json_array_append_new(curve, json_pack("{s:i, s:i, s:I, s:o}", "age", k, "cohorts",
						       avg[k].cohorts, "persons",
						       (json_int_t)avg[k].persons, "ltv_per_person",
						       ltv_real(avg[k].revenue / (double)avg[k].persons)));
	free(avg);
	query_format_time(qr->from_us, from);
	query_format_time(qr->to_us, to);
	units = ltv_units_json(NULL, ctx->currency);
	json_object_set_new(units, "age_period_days", json_real(period_days[period]));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "period", periods[period],
			 "basis", paying ? "paying" : "all", "from", from, "to", to, "tz", qr->tz,
			 "units", units, "cohorts", cohorts, "average", curve);
}

void h_ltv_cohorts_get(struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "period", "basis", "from", "to", "tz",
					       "max_periods", NULL };
	static const char *const bases[] = { "all", "paying", NULL };
	struct app_err err = { 0 };
	struct db_ltv_ctx ctx;
	struct query_range qr;
	struct db_ltv_cell *cells = NULL;
	size_t n = 0;
	struct db *db = NULL;
	int period, basis;
	double max_p;
	json_t *out;

	if (!ltv_check_params(req, allowed, &err) ||
	    !ltv_query_choice(req, "period", periods, 2, &period, &err) ||
	    !ltv_query_choice(req, "basis", bases, 0, &basis, &err) ||
	    !ltv_query_num(req, "max_periods", 36, 1, 1000, &max_p, &err) ||
	    !(db = db_acquire(req->app->read_pool, 2000, &err)) ||
	    !db_ltv_context(db, req->project_id, http_query(req, "tz"), "tz", &ctx, &err) ||
	    !query_range_resolve(db, req->project_id, http_query(req, "from"), http_query(req, "to"),
				 ctx.tz, NULL, 730, req->received_us, &qr, &err))
		goto fail;
	{
		struct db_ltv_cohort_query q = { .project_id = req->project_id, .tz = ctx.tz,
						 .currency = ctx.currency, .period = periods[period],
						 .period_s = period_days[period] * 86400.0,
						 .paying = basis == 1, .from_us = qr.from_us,
						 .to_us = qr.to_us };
		if (!db_ltv_cohorts(db, &q, &cells, &n, &err))
			goto fail;
	}
	db_release(req->app->read_pool, db);
	db = NULL;
	out = render_cohorts(cells, n, period, basis == 1, &qr, req->received_us, (int)max_p, &ctx);
	if (!out) {
		err_set(&err, 500, "internal", NULL, "out of memory");
		goto fail;
	}
	resp->json = out;
	free(cells);
	return;
fail:
	if (db)
		db_release(req->app->read_pool, db);
	free(cells);
	http_resp_error(resp, &err);
}

/* ---- GET /v1/ltv/backtest ---------------------------------------------------- */

#define BT_BUCKETS 8 /* calibration frequency 0..6 and 7+ */

struct bt_bucket {
	double persons, pred, act, abs_err;      /* holdout purchases */
	double sp_persons, sp_pred, sp_act;      /* mean order value, persons buying in the holdout */
	double rev_pred, rev_act, rev_abs_err;   /* holdout revenue */
};

static void bt_accumulate(const struct db_ltv_rows *r, const struct ltv_preds *p, double scale,
			  bool spend, struct bt_bucket *b)
{
	for (size_t i = 0; i < r->n; i++) {
		struct bt_bucket *k = &b[r->x[i] < BT_BUCKETS - 1 ? r->x[i] : BT_BUCKETS - 1];
		double c = (double)r->count[i], pred = p->et[i], act = r->hx[i];
		double hv = (double)r->hv[i] / scale;

		k->persons += c;
		k->pred += c * pred;
		k->act += c * act;
		k->abs_err += c * fabs(pred - act);
		if (!spend)
			continue;
		if (r->hx[i] > 0) {
			k->sp_persons += c;
			k->sp_pred += c * p->spend[i];
			k->sp_act += c * hv / r->hx[i];
		}
		k->rev_pred += c * pred * p->spend[i];
		k->rev_act += c * hv;
		k->rev_abs_err += c * fabs(pred * p->spend[i] - hv);
	}
}

static json_t *totals_json(double pred, double act, double abs_err, double persons)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "predicted", ltv_real(pred), "actual",
			 ltv_real(act), "error", ltv_real(pred - act), "relative_error",
			 act != 0 ? ltv_real((pred - act) / act) : json_null(), "mae",
			 persons > 0 ? ltv_real(abs_err / persons) : json_null());
}

static json_t *render_backtest(const struct bt_bucket *b, bool spend)
{
	static const char *const names[BT_BUCKETS] = { "0", "1", "2", "3", "4", "5", "6", "7+" };
	json_t *pb = json_array(), *sb = json_array(), *out;
	struct bt_bucket t = { 0 };

	for (int i = 0; i < BT_BUCKETS; i++) {
		const struct bt_bucket *k = &b[i];
		t.persons += k->persons, t.pred += k->pred, t.act += k->act, t.abs_err += k->abs_err;
		t.rev_pred += k->rev_pred, t.rev_act += k->rev_act, t.rev_abs_err += k->rev_abs_err;
		json_array_append_new(pb, json_pack("{s:s, s:I, s:o, s:o, s:o, s:o}", "frequency",
			names[i], "persons", (json_int_t)k->persons, "predicted", ltv_real(k->pred),
			"actual", ltv_real(k->act), "predicted_mean",
			k->persons > 0 ? ltv_real(k->pred / k->persons) : json_null(), "actual_mean",
			k->persons > 0 ? ltv_real(k->act / k->persons) : json_null()));
		json_array_append_new(sb, json_pack("{s:s, s:I, s:o, s:o}", "frequency", names[i],
			"persons_buying_in_holdout", (json_int_t)k->sp_persons,
			"predicted_mean_order_value",
			k->sp_persons > 0 ? ltv_real(k->sp_pred / k->sp_persons) : json_null(),
			"actual_mean_order_value",
			k->sp_persons > 0 ? ltv_real(k->sp_act / k->sp_persons) : json_null()));
	}
	out = json_pack("{s:{s:o, s:o}}", "purchases", "buckets", pb, "total",
			totals_json(t.pred, t.act, t.abs_err, t.persons));
	if (spend)
		json_object_set_new(out, "spend", json_pack("{s:o, s:o}", "buckets", sb, "revenue",
			totals_json(t.rev_pred, t.rev_act, t.rev_abs_err, t.persons)));
	else {
		json_decref(sb);
		json_object_set_new(out, "spend", json_null());
	}
	return out;
}

struct bt_q {
	struct ltv_spec spec;
	int32_t holdout_end;
};

static bool parse_backtest(const struct http_req *req, int32_t today, struct bt_q *q,
			   struct app_err *err)
{
	static const char *const allowed[] = { "calibration_end", "holdout_end", "model",
					       "time_unit", "penalizer", NULL };
	static const char *const models[] = { "bgnbd", "paretonbd", NULL };
	static const char *const units[] = { "day", "week", NULL };
	int model, unit;

	ltv_spec_default(&q->spec, today);
	if (!ltv_check_params(req, allowed, err))
		return false;
	if (!http_query(req, "calibration_end") || !http_query(req, "holdout_end"))
		return err_set(err, 400, "validation_failed",
			       http_query(req, "calibration_end") ? "holdout_end" : "calibration_end",
			       "calibration_end and holdout_end (YYYY-MM-DD) are required");
	if (!ltv_query_date(req, "calibration_end", 0, &q->spec.cal_end, err) ||
	    !ltv_query_date(req, "holdout_end", 0, &q->holdout_end, err) ||
	    !ltv_query_choice(req, "model", models, 0, &model, err) ||
	    !ltv_query_choice(req, "time_unit", units, 0, &unit, err) ||
	    !ltv_query_num(req, "penalizer", 0, 0, 1e6, &q->spec.penalizer, err))
		return false;
	if (q->holdout_end <= q->spec.cal_end)
		return err_set(err, 400, "validation_failed", "holdout_end",
			       "holdout_end must be after calibration_end");
	if (q->holdout_end > today)
		return err_set(err, 400, "validation_failed", "holdout_end",
			       "holdout_end is after today in the project's time zone");
	q->spec.model = model == 1 ? CLV_PARETONBD : CLV_BGNBD;
	q->spec.unit = unit == 1 ? BTYD_WEEKS : BTYD_DAYS;
	return true;
}

/* Fit on the calibration rows (stored as a run) and fetch the run's JSON. */
static bool backtest_fit(struct db *db, int64_t project_id, const struct bt_q *q,
			 const struct db_ltv_ctx *ctx, const struct db_ltv_rows *rows,
			 struct ltv_model *m, json_t **run, struct app_err *err)
{
	struct ltv_fitted f;
	int64_t run_id = 0;

	if (!ltv_run_sync(db, project_id, &q->spec, ctx, "backtest", rows, &f, &run_id, err) ||
	    !db_ltv_run_get(db, project_id, run_id, NULL, run, err))
		return false;
	if (!f.tx.converged)
		return err_set(err, 422, "not_converged", NULL,
			       "the calibration fit did not converge (%s); see GET /v1/models/runs/%lld",
			       f.tx.reason, (long long)run_id);
	ltv_model_from_fit(&q->spec, &f, run_id, m);
	/* A spend model that did not converge leaves the purchase backtest valid. */
	m->has_spend = m->has_spend && f.gg.converged;
	return true;
}

void h_ltv_backtest_get(struct http_req *req, struct http_resp *resp)
{
	struct app_err err = { 0 };
	struct db_ltv_ctx ctx;
	struct db_ltv_rows rows = { 0 };
	struct ltv_preds preds = { 0 };
	struct bt_bucket b[BT_BUCKETS] = { 0 };
	struct clv_opts o;
	struct ltv_model m;
	struct bt_q q;
	struct db *db = NULL;
	json_t *run = NULL, *out;
	char cal[16], hold[16];

	/* The calibration fit is stored as a run: the primary pool. */
	if (!(db = db_acquire(req->app->pool, 2000, &err)) ||
	    !db_ltv_context(db, req->project_id, NULL, NULL, &ctx, &err) ||
	    !parse_backtest(req, ctx.today, &q, &err))
		goto fail;
	{
		struct db_ltv_query dq = { .project_id = req->project_id, .tz = ctx.tz,
					   .currency = ctx.currency, .cal_end = q.spec.cal_end,
					   .holdout_end = q.holdout_end, .shape = DB_LTV_GROUPED };
		if (!db_ltv_load(db, &dq, &rows, &err) ||
		    !backtest_fit(db, req->project_id, &q, &ctx, &rows, &m, &run, &err))
			goto fail;
	}
	db_release(req->app->pool, db);
	db = NULL;
	clv_opts_default(&o);
	if (!ltv_predict(&m, &rows, &o, ctx.exponent, q.holdout_end - q.spec.cal_end, &preds, &err))
		goto fail;
	bt_accumulate(&rows, &preds, pow(10.0, ctx.exponent), m.has_spend, b);
	if (!(out = render_backtest(b, m.has_spend))) {
		err_set(&err, 500, "internal", NULL, "out of memory");
		goto fail;
	}
	ltv_format_date(q.spec.cal_end, cal);
	ltv_format_date(q.holdout_end, hold);
	json_object_set_new(out, "model", run);
	run = NULL;
	json_object_set_new(out, "calibration_end", json_string(cal));
	json_object_set_new(out, "holdout_end", json_string(hold));
	json_object_set_new(out, "holdout_days", json_integer(q.holdout_end - q.spec.cal_end));
	json_object_set_new(out, "holdout_length", json_real((double)(q.holdout_end - q.spec.cal_end) /
							     (double)q.spec.unit));
	json_object_set_new(out, "units", ltv_units_json(ltv_unit_name(q.spec.unit), ctx.currency));
	json_object_set_new(out, "persons", json_integer((json_int_t)rows.persons));
	json_object_set_new(out, "orders_without_fx_rate", json_integer((json_int_t)rows.fx_missing));
	resp->json = out;
	goto done;
fail:
	http_resp_error(resp, &err);
done:
	if (db)
		db_release(req->app->pool, db);
	json_decref(run);
	ltv_preds_free(&preds);
	db_ltv_rows_free(&rows);
}

/* ---- GET /v1/growth ------------------------------------------------------------- */

static json_t *growth_fit_json(const struct db_ltv_period *p, size_t n, int period)
{
	double *t = malloc((n ? n : 1) * sizeof(double)), *y = malloc((n ? n : 1) * sizeof(double));
	struct growth_fit f;
	json_t *out = NULL;
	int32_t day0;
	char mid[16];

	if (!t || !y)
		goto out;
	for (size_t i = 0; i < n; i++) {
		t[i] = (double)i;
		y[i] = (double)p[i].cumulative;
	}
	growth_fit_logistic(t, y, n, &f);
	out = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:i, s:b, s:s}", "ceiling",
			ltv_real(f.K), "midpoint_period", ltv_real(f.t0), "growth_rate_per_period",
			ltv_real(f.g), "periods_10_to_90_percent",
			f.g > 0 ? ltv_real(2 * log(9.0) / f.g) : json_null(), "rmse", ltv_real(f.rmse),
			"r2", ltv_real(f.r2), "saturation",
			n > 0 && f.K > 0 ? ltv_real(y[n - 1] / f.K) : json_null(), "iterations",
			f.iterations, "converged", f.converged, "reason", f.reason);
	/* The midpoint as a date: month periods count 30.4375 days each. */
	if (out && n > 0 && isfinite(f.t0) && fabs(f.t0) < 1e5 && ltv_parse_date(p[0].start, &day0)) {
		ltv_format_date(day0 + (int32_t)floor(f.t0 * period_days[period] + 0.5), mid);
		json_object_set_new(out, "midpoint_date", json_string(mid));
	}
out:
	free(t);
	free(y);
	return out;
}

void h_growth_get(struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "period", "from", "to", "tz", NULL };
	struct app_err err = { 0 };
	struct db_ltv_ctx ctx;
	struct query_range qr;
	struct db_ltv_period *p = NULL;
	size_t n = 0;
	struct db *db = NULL;
	int period;
	json_t *series, *fit, *units;
	char from[64], to[64];

	if (!ltv_check_params(req, allowed, &err) ||
	    !ltv_query_choice(req, "period", periods, 1, &period, &err) ||
	    !(db = db_acquire(req->app->read_pool, 2000, &err)) ||
	    !db_ltv_context(db, req->project_id, http_query(req, "tz"), "tz", &ctx, &err) ||
	    /* Without from: all history (ten years back, the longest duration we accept). */
	    !query_range_resolve(db, req->project_id, http_query(req, "from"), http_query(req, "to"),
				 ctx.tz, NULL, 3650, req->received_us, &qr, &err))
		goto fail;
	{
		struct db_ltv_growth_query q = { .project_id = req->project_id, .tz = ctx.tz,
						 .period = periods[period],
						 .from_us = http_query(req, "from") ? qr.from_us : 0,
						 .to_us = qr.to_us };
		if (!db_ltv_growth(db, &q, &p, &n, &err))
			goto fail;
	}
	db_release(req->app->read_pool, db);
	db = NULL;
	series = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(series, json_pack("{s:i, s:s, s:I, s:I}", "t", (int)i,
							"period_start", p[i].start, "new_persons",
							(json_int_t)p[i].added, "cumulative_persons",
							(json_int_t)p[i].cumulative));
	fit = growth_fit_json(p, n, period);
	units = json_pack("{s:s, s:f}", "t", "period index from the first period of the series",
			  "period_days", period_days[period]);
	query_format_time(qr.to_us, to);
	query_format_time(qr.from_us, from);
	resp->json = json_pack("{s:s, s:s, s:s?, s:s, s:o, s:o, s:o}", "period", periods[period],
			       "tz", ctx.tz, "from", http_query(req, "from") ? from : NULL, "to", to,
			       "units", units, "series", series, "fit", fit ? fit : json_null());
	free(p);
	return;
fail:
	if (db)
		db_release(req->app->read_pool, db);
	free(p);
	http_resp_error(resp, &err);
}
