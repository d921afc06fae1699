/*
 * ltv.c - POST /v1/models/ltv/fit, GET /v1/models/runs/{id}, GET /v1/ltv and
 * the parameter helpers of every LTV route (cohorts, backtest and growth are
 * in ltv_reports.c). Fits and predictions: server/ltv_runs.h; SQL:
 * server/db_ltv.h; rules and formulas: docs/ltv-api.md, docs/ltv-model.md.
 */
#include "handlers/ltv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers/ingest.h"
#include "server/app.h"
#include "server/db.h"
#include "server/db_ltv.h"
#include "server/ltv_runs.h"

/* ---- shared helpers ------------------------------------------------------- */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

json_t *ltv_real(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

bool ltv_check_params(const struct http_req *req, const char *const *allowed,
		      struct app_err *err)
{
	const char *k = http_query_unknown(req, allowed);

	if (!k)
		return true;
	return err_set(err, 400, "validation_failed", k, "unknown parameter %.64s", k);
}

bool ltv_query_num(const struct http_req *req, const char *name, double def, double lo,
		   double hi, double *out, struct app_err *err)
{
	const char *s = http_query(req, name);
	char *end;

	*out = def;
	if (!s)
		return true;
	*out = strtod(s, &end);
	if (!*s || *end || !isfinite(*out) || *out < lo || *out > hi)
		return err_set(err, 400, "validation_failed", name, "%s must be a number in [%g, %g]",
			       name, lo, hi);
	return true;
}

bool ltv_query_date(const struct http_req *req, const char *name, int32_t def, int32_t *out,
		    struct app_err *err)
{
	const char *s = http_query(req, name);

	*out = def;
	if (s && !ltv_parse_date(s, out))
		return err_set(err, 400, "validation_failed", name,
			       "%s must be a date YYYY-MM-DD (local day of the project)", name);
	return true;
}

bool ltv_query_choice(const struct http_req *req, const char *name, const char *const *choices,
		      int def, int *out, struct app_err *err)
{
	const char *s = http_query(req, name);
	char list[128] = "";
	size_t len = 0;

	*out = def;
	if (!s)
		return true;
	for (int i = 0; choices[i]; i++) {
		if (strcmp(s, choices[i]) == 0) {
			*out = i;
			return true;
		}
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
					choices[i]);
		if (len >= sizeof(list))
			break;
	}
	return err_set(err, 400, "validation_failed", name, "%s must be one of: %s", name, list);
}

json_t *ltv_units_json(const char *time_unit, const char *currency)
{
	char money[48];
	json_t *u;

	snprintf(money, sizeof(money), "%s, major units", currency);
	u = json_pack("{s:i, s:f, s:s, s:s}", "days_per_week", 7, "days_per_month",
		      LTV_DAYS_PER_MONTH, "money", money, "currency", currency);
	if (u && time_unit) {
		json_object_set_new(u, "time_unit", json_string(time_unit));
		json_object_set_new(u, "days_per_time_unit",
				    json_integer(strcmp(time_unit, "week") == 0 ? 7 : 1));
	}
	return u;
}

/* ---- POST /v1/models/ltv/fit ---------------------------------------------- */

static bool body_choice(json_t *root, const char *key, const char *const *choices, int *out,
			bool nullable, struct app_err *err)
{
	json_t *v = json_object_get(root, key);
	const char *s;

	if (!v || (nullable && json_is_null(v)))
		return true;
	s = json_string_value(v);
	for (int i = 0; s && choices[i]; i++)
		if (strcmp(s, choices[i]) == 0) {
			*out = i;
			return true;
		}
	return err_set(err, 400, "validation_failed", key, "%s must be %s%s%s%s", key, choices[0],
		       choices[1] ? " or " : "", choices[1] ? choices[1] : "",
		       nullable ? " (or null)" : "");
}

static bool body_num(json_t *root, const char *key, double lo, double hi, double *out,
		     struct app_err *err)
{
	json_t *v = json_object_get(root, key);

	if (!v)
		return true;
	if (!json_is_number(v) || !(json_number_value(v) >= lo && json_number_value(v) <= hi))
		return err_set(err, 400, "validation_failed", key, "%s must be a number in [%g, %g]",
			       key, lo, hi);
	*out = json_number_value(v);
	return true;
}

/* Body -> spec. Absent fields keep the defaults (ltv_spec_default). */
static bool parse_fit_body(json_t *root, int32_t today, struct ltv_spec *s, struct app_err *err)
{
	static const char *const keys[] = { "model", "spend", "calibration_end", "time_unit",
					     "penalizer", "spend_penalizer", "q_constraint",
					     "score_persons", NULL };
	static const char *const models[] = { "bgnbd", "paretonbd", NULL };
	static const char *const spends[] = { "gammagamma", NULL };
	static const char *const units[] = { "day", "week", NULL };
	const char *k;
	json_t *v;
	int model = 0, unit = 0, spend = 0;

	json_object_foreach(root, k, v) {
		int i = 0;
		while (keys[i] && strcmp(keys[i], k) != 0)
			i++;
		if (!keys[i])
			return err_set(err, 400, "validation_failed", k, "unknown field %.64s", k);
	}
	if (!body_choice(root, "model", models, &model, false, err) ||
	    !body_choice(root, "spend", spends, &spend, true, err) ||
	    !body_choice(root, "time_unit", units, &unit, false, err) ||
	    !body_num(root, "penalizer", 0, 1e6, &s->penalizer, err) ||
	    !body_num(root, "spend_penalizer", 0, 1e6, &s->spend_penalizer, err))
		return false;
	s->model = model == 1 ? CLV_PARETONBD : CLV_BGNBD;
	s->unit = unit == 1 ? BTYD_WEEKS : BTYD_DAYS;
	s->spend = !json_is_null(json_object_get(root, "spend"));
	v = json_object_get(root, "q_constraint");
	if (v && !json_is_boolean(v))
		return err_set(err, 400, "validation_failed", "q_constraint", "q_constraint must be a boolean");
	s->q_constraint = json_is_true(v);
	v = json_object_get(root, "score_persons");
	if (v && !json_is_boolean(v))
		return err_set(err, 400, "validation_failed", "score_persons",
			       "score_persons must be a boolean");
	s->score_persons = json_is_true(v);
	v = json_object_get(root, "calibration_end");
	if (v && (!json_is_string(v) || !ltv_parse_date(json_string_value(v), &s->cal_end)))
		return err_set(err, 400, "validation_failed", "calibration_end",
			       "calibration_end must be a date YYYY-MM-DD (local day, inclusive)");
	if (s->cal_end > today)
		return err_set(err, 400, "validation_failed", "calibration_end",
			       "calibration_end is after today in the project's time zone");
	return true;
}

void h_ltv_fit_post(struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { NULL };
	struct app_err err = { 0 };
	struct db_ltv_ctx ctx;
	struct ltv_spec s;
	struct db *db = NULL;
	json_t *root = NULL, *run = NULL;
	bool ok;

	if (!ltv_check_params(req, allowed, &err))
		goto fail;
	/* An empty body means every default. */
	root = req->body_len == 0 ? json_object() : ingest_parse_body(req, &err);
	if (!root || !(db = db_acquire(req->app->read_pool, 2000, &err)))
		goto fail;
	ok = db_ltv_context(db, req->project_id, NULL, NULL, &ctx, &err);
	db_release(req->app->read_pool, db);
	ltv_spec_default(&s, ctx.today);
	if (!ok || !parse_fit_body(root, ctx.today, &s, &err) ||
	    !ltv_run_submit(req->app, req->project_id, &s, &ctx, &run, &err))
		goto fail;
	resp->status = 202;
	resp->json = run;
	json_decref(root);
	return;
fail:
	json_decref(root);
	http_resp_error(resp, &err);
}

/* ---- GET /v1/models/runs/{id} ---------------------------------------------- */

void h_model_run_get(struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { NULL };
	struct app_err err = { 0 };
	const char *id = req->n_params > 0 ? req->params[0] : "";
	char *end;
	long long run_id = strtoll(id, &end, 10);
	struct db *db;
	json_t *run = NULL;
	bool ok;

	if (!ltv_check_params(req, allowed, &err))
		goto fail;
	if (!*id || *end || run_id <= 0) {
		err_set(&err, 400, "validation_failed", "id", "id must be a positive integer");
		goto fail;
	}
	/* Primary: reading a run may mark a dead one failed. */
	if (!(db = db_acquire(req->app->pool, 2000, &err)))
		goto fail;
	ok = db_ltv_run_get(db, req->project_id, run_id, NULL, &run, &err);
	db_release(req->app->pool, db);
	if (!ok)
		goto fail;
	if (!run) {
		err_set(&err, 404, "not_found", "id", "no model run %lld in this project", run_id);
		goto fail;
	}
	resp->json = run;
	return;
fail:
	http_resp_error(resp, &err);
}

/* ---- GET /v1/ltv --------------------------------------------------------------- */

struct ltv_q {
	int model;             /* 0 bgnbd, 1 paretonbd */
	int64_t run_id;        /* 0 = latest usable fit of the model */
	struct clv_opts clv;
	const char *as_of;     /* NULL = the run's calibration end */
};

static bool parse_ltv_get(const struct http_req *req, struct ltv_q *q, struct app_err *err)
{
	static const char *const allowed[] = { "model", "run_id", "horizon", "discount_rate",
					       "margin", "as_of", NULL };
	static const char *const models[] = { "bgnbd", "paretonbd", NULL };
	double horizon, run;

	clv_opts_default(&q->clv);
	q->as_of = http_query(req, "as_of");
	if (!ltv_check_params(req, allowed, err) ||
	    !ltv_query_choice(req, "model", models, 0, &q->model, err) ||
	    !ltv_query_num(req, "run_id", 0, 1, 9e15, &run, err) ||
	    !ltv_query_num(req, "horizon", 12, 1, 1200, &horizon, err) ||
	    !ltv_query_num(req, "discount_rate", 0.01, 0, 1, &q->clv.discount_rate, err) ||
	    !ltv_query_num(req, "margin", 1, 0, 1e6, &q->clv.margin, err))
		return false;
	if (horizon != floor(horizon))
		return err_set(err, 400, "validation_failed", "horizon",
			       "horizon must be a whole number of months (30.4375 days each)");
	if (run != floor(run))
		return err_set(err, 400, "validation_failed", "run_id", "run_id must be an integer");
	q->clv.months = (int)horizon;
	q->run_id = (int64_t)run;
	return true;
}

/* A row value and its person count, for weighted order statistics. */
struct wv {
	double v;
	size_t row;
};

static int wv_cmp(const void *a, const void *b)
{
	double x = ((const struct wv *)a)->v, y = ((const struct wv *)b)->v;
	return (x > y) - (x < y);
}

/*
 * CLV statistics over the rows of segment seg (-2 = all rows) among the
 * sorted finite values: persons, mean, total, min, max and the lower
 * weighted quantiles (smallest value whose cumulative share reaches q).
 */
static json_t *clv_stats(const struct wv *sorted, size_t n, const struct db_ltv_rows *r, int seg)
{
	static const double qs[] = { 0.1, 0.25, 0.5, 0.75, 0.9, 0.99 };
	static const char *const qn[] = { "p10", "p25", "p50", "p75", "p90", "p99" };
	double w = 0, sum = 0, cum = 0, lo = NAN, hi = NAN;
	json_t *quant = json_object();
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		size_t row = sorted[i].row;
		if (seg != -2 && r->seg[row] != seg)
			continue;
		w += (double)r->count[row];
		sum += (double)r->count[row] * sorted[i].v;
		if (isnan(lo))
			lo = sorted[i].v;
		hi = sorted[i].v;
	}
	for (size_t i = 0; i < n && k < 6 && w > 0; i++) {
		size_t row = sorted[i].row;
		if (seg != -2 && r->seg[row] != seg)
			continue;
		cum += (double)r->count[row];
		while (k < 6 && cum >= qs[k] * w * (1 - 1e-12)) {
			json_object_set_new(quant, qn[k], ltv_real(sorted[i].v));
			k++;
		}
	}
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "persons", (json_int_t)w, "mean",
			 w > 0 ? ltv_real(sum / w) : json_null(), "total", ltv_real(sum), "min",
			 ltv_real(lo), "max", ltv_real(hi), "quantiles", quant);
}

/* Person-weighted means of P(alive) and the expected purchases (segment seg). */
static json_t *means_json(const struct db_ltv_rows *r, const struct ltv_preds *p, int seg)
{
	const double *cols[5] = { p->p_alive, p->e30, p->e90, p->e365, p->eh };
	double s[5] = { 0 }, w[5] = { 0 };

	for (size_t i = 0; i < r->n; i++) {
		if (seg != -2 && r->seg[i] != seg)
			continue;
		for (int c = 0; c < 5; c++)
			if (isfinite(cols[c][i])) {
				s[c] += (double)r->count[i] * cols[c][i];
				w[c] += (double)r->count[i];
			}
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "p_alive", ltv_real(s[0] / w[0]),
			 "expected_purchases_30d", ltv_real(s[1] / w[1]), "expected_purchases_90d",
			 ltv_real(s[2] / w[2]), "expected_purchases_365d", ltv_real(s[3] / w[3]),
			 "expected_purchases_horizon", ltv_real(s[4] / w[4]));
}

static json_t *segments_json(const struct wv *sorted, size_t n, const struct db_ltv_rows *r,
			     const struct ltv_preds *p, int64_t scores_run)
{
	json_t *vals = json_array();

	for (int sg = -1; sg < r->n_segs; sg++) {
		json_t *one = json_pack("{s:s?, s:o, s:o}", "segment", sg < 0 ? NULL : r->segs[sg],
					"clv", clv_stats(sorted, n, r, sg), "means",
					means_json(r, p, sg));
		int64_t persons = 0;
		for (size_t i = 0; i < r->n; i++)
			if (r->seg[i] == sg)
				persons += r->count[i];
		if (persons == 0) {
			json_decref(one);
			continue;
		}
		json_object_set_new(one, "persons", json_integer((json_int_t)persons));
		json_array_append_new(vals, one);
	}
	return json_pack("{s:s, s:I, s:o, s:s}", "scheme", "rfm11", "scores_run_id",
			 (json_int_t)scores_run, "values", vals, "unscored",
			 "segment null: persons without a score in the current generation");
}

/* Takes ownership of run. */
static json_t *render_ltv(json_t *run, const struct ltv_model *m, const struct ltv_q *q,
			  const struct db_ltv_ctx *ctx, int32_t as_of, const struct db_ltv_rows *r,
			  const struct ltv_preds *p, int64_t scores_run)
{
	struct wv *sorted = malloc((r->n ? r->n : 1) * sizeof(*sorted));
	size_t n = 0;
	char day[16];
	json_t *out;

	if (!sorted) {
		json_decref(run);
		return NULL;
	}
	for (size_t i = 0; i < r->n; i++)
		if (isfinite(p->clv[i]))
			sorted[n++] = (struct wv){ p->clv[i], i };
	qsort(sorted, n, sizeof(*sorted), wv_cmp);
	ltv_format_date(as_of, day);
	out = json_pack("{s:o, s:s, s:i, s:f, s:f, s:o, s:I, s:I, s:o}", "model", run, "as_of", day,
			"horizon_months", q->clv.months, "discount_rate_monthly",
			q->clv.discount_rate, "margin", q->clv.margin, "units",
			ltv_units_json(ltv_unit_name(m->unit), ctx->currency), "persons",
			(json_int_t)r->persons, "orders_without_fx_rate", (json_int_t)r->fx_missing,
			"means", means_json(r, p, -2));
	json_object_set_new(out, "clv", m->has_spend ? clv_stats(sorted, n, r, -2) : json_null());
	if (!m->has_spend)
		json_object_set_new(out, "clv_unavailable",
				    json_string("the fit has no usable spend model (gammagamma)"));
	json_object_set_new(out, "segments",
			    r->has_scores ? segments_json(sorted, n, r, p, scores_run) : json_null());
	free(sorted);
	return out;
}

/* The fit to predict with, from the primary (model_runs is written there). */
static bool load_model(struct http_req *req, const struct ltv_q *q, struct db_ltv_ctx *ctx,
		       json_t **run, struct ltv_model *m, struct app_err *err)
{
	static const char *const models[] = { "bgnbd", "paretonbd" };
	struct db *db = db_acquire(req->app->pool, 2000, err);
	bool ok;

	if (!db)
		return false;
	ok = db_ltv_context(db, req->project_id, NULL, NULL, ctx, err) &&
	     db_ltv_run_get(db, req->project_id, q->run_id, models[q->model], run, err);
	db_release(req->app->pool, db);
	if (!ok)
		return false;
	if (*run && ltv_model_from_run(*run, m))
		return true;
	if (q->run_id)
		return err_set(err, 409, "no_fit", "run_id",
			       "run %lld is not a usable fit (see GET /v1/models/runs/%lld)",
			       (long long)q->run_id, (long long)q->run_id);
	return err_set(err, 409, "no_fit", "model",
		       "no usable %s fit yet: POST /v1/models/ltv/fit first", models[q->model]);
}

void h_ltv_get(struct http_req *req, struct http_resp *resp)
{
	struct app_err err = { 0 };
	struct ltv_q q;
	struct db_ltv_ctx ctx;
	struct db_ltv_rows rows = { 0 };
	struct ltv_preds preds = { 0 };
	struct ltv_model m;
	struct db *db = NULL;
	json_t *run = NULL, *out;
	int32_t as_of;
	double t, t_pred;

	if (!parse_ltv_get(req, &q, &err) || !load_model(req, &q, &ctx, &run, &m, &err) ||
	    !ltv_query_date(req, "as_of", m.cal_end, &as_of, &err) ||
	    !(db = db_acquire(req->app->read_pool, 2000, &err)))
		goto fail;
	{
		struct db_ltv_query dq = { .project_id = req->project_id, .tz = ctx.tz,
					   .currency = ctx.currency, .cal_end = as_of,
					   .holdout_end = as_of, .shape = DB_LTV_SEGMENTS };
		if (!db_ltv_load(db, &dq, &rows, &err))
			goto fail;
	}
	db_release(req->app->read_pool, db);
	db = NULL;
	t = now_ms();
	if (!ltv_predict(&m, &rows, &q.clv, ctx.exponent, 0, &preds, &err))
		goto fail;
	t_pred = now_ms() - t;
	t = now_ms();
	out = render_ltv(run, &m, &q, &ctx, as_of, &rows, &preds, rows.scores_run);
	run = NULL; /* owned by out (or freed with it) */
	if (!out) {
		err_set(&err, 500, "internal", NULL, "out of memory");
		goto fail;
	}
	json_object_set_new(out, "timings", json_pack("{s:f, s:f, s:f, s:I}", "load_ms",
			    round(rows.load_ms * 10) / 10, "predict_ms", round(t_pred * 10) / 10,
			    "summarise_ms", round((now_ms() - t) * 10) / 10, "rows",
			    (json_int_t)rows.n));
	resp->json = out;
	goto done;
fail:
	http_resp_error(resp, &err);
done:
	if (db)
		db_release(req->app->read_pool, db);
	json_decref(run);
	ltv_preds_free(&preds);
	db_ltv_rows_free(&rows);
}
