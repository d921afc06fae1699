/*
 * ltv_scoring.c - see ltv_scoring.h.
 *
 * Per-person rows come from the same summary SQL as the fits
 * (DB_LTV_PERSONS: one row per stitched person, ordered by person_id), so a
 * person's predictions are exactly those of its (x, t_x, T, spend) pattern
 * in GET /v1/ltv.
 */
#include "server/ltv_scoring.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "server/db.h"
#include "server/log.h"

bool ltv_predict_persons(struct db *db, int64_t project_id, const struct db_ltv_ctx *ctx,
			 const struct ltv_model *m, struct db_ltv_pred **out, size_t *n,
			 struct app_err *err)
{
	struct db_ltv_query q = { .project_id = project_id, .tz = ctx->tz, .currency = ctx->currency,
				  .cal_end = m->cal_end, .holdout_end = m->cal_end,
				  .shape = DB_LTV_PERSONS };
	struct db_ltv_rows rows = { 0 };
	struct ltv_preds p = { 0 };
	struct clv_opts o;
	double scale = pow(10.0, ctx->exponent);
	bool ok = false;

	*out = NULL;
	*n = 0;
	clv_opts_default(&o);
	if (!db_ltv_load(db, &q, &rows, err) || !ltv_predict(m, &rows, &o, ctx->exponent, 0, &p, err))
		goto done;
	if (!(*out = malloc((rows.n ? rows.n : 1) * sizeof(**out)))) {
		err_set(err, 500, "internal", NULL, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < rows.n; i++)
		(*out)[i] = (struct db_ltv_pred){ .person_id = rows.pid[i], .p_alive = p.p_alive[i],
						  .purchases_30d = p.e30[i], .purchases_90d = p.e90[i],
						  .purchases_365d = p.e365[i],
						  .clv_minor = p.clv[i] * scale };
	*n = rows.n;
	ok = true;
done:
	ltv_preds_free(&p);
	db_ltv_rows_free(&rows);
	return ok;
}

bool ltv_scores_refresh(struct db *db, int64_t project_id, const struct db_ltv_ctx *ctx,
			const struct ltv_model *m, int64_t *written, struct app_err *err)
{
	struct db_ltv_pred *p = NULL;
	size_t n = 0;
	bool ok;

	*written = 0;
	ok = ltv_predict_persons(db, project_id, ctx, m, &p, &n, err) &&
	     db_ltv_scores_write(db, project_id, p, n, written, err);
	free(p);
	return ok;
}

bool ltv_score_persons(struct db *db, int64_t project_id, int32_t as_of_day,
		       struct db_ltv_pred **out, size_t *n, int64_t *model_run_id,
		       struct app_err *err)
{
	struct db_ltv_ctx ctx;
	struct ltv_spec s;
	struct ltv_fitted f;
	struct ltv_model m;

	*out = NULL;
	*n = 0;
	*model_run_id = 0;
	if (!db_ltv_context(db, project_id, NULL, NULL, &ctx, err))
		return false;
	ltv_spec_default(&s, as_of_day);
	if (!ltv_run_sync(db, project_id, &s, &ctx, "scoring", NULL, &f, model_run_id, err))
		return false;
	if (!f.usable) {
		log_info("ltv: project %lld: scoring fit %lld not usable: %s", (long long)project_id,
			 (long long)*model_run_id, f.tx.reason);
		return true;
	}
	ltv_model_from_fit(&s, &f, *model_run_id, &m);
	return ltv_predict_persons(db, project_id, &ctx, &m, out, n, err);
}

static json_t *person_pred_json(const struct ltv_model *m, const struct db_ltv_ctx *ctx,
				const struct db_ltv_rows *r, const struct ltv_preds *p)
{
	double ud = (double)m->unit;
	char day[16], money[48];

	ltv_format_date(m->cal_end, day);
	snprintf(money, sizeof(money), "%s, major units", ctx->currency);
	return json_pack("{s:I, s:s, s:s, s:s, s:i, s:f, s:f, s:o, s:o, s:o, s:o, s:o, s:o, s:s,"
			 " s:{s:f, s:s, s:s}}",
			 "model_run_id", (json_int_t)m->run_id, "model", ltv_model_name(m->model),
			 "as_of", day, "time_unit", ltv_unit_name(m->unit), "frequency", r->x[0],
			 "recency", r->tx[0] / ud, "T", r->T[0] / ud,
			 "p_alive", isfinite(p->p_alive[0]) ? json_real(p->p_alive[0]) : json_null(),
			 "expected_purchases_30d", isfinite(p->e30[0]) ? json_real(p->e30[0]) : json_null(),
			 "expected_purchases_90d", isfinite(p->e90[0]) ? json_real(p->e90[0]) : json_null(),
			 "expected_purchases_365d", isfinite(p->e365[0]) ? json_real(p->e365[0]) : json_null(),
			 "expected_order_value", isfinite(p->spend[0]) ? json_real(p->spend[0]) : json_null(),
			 "clv_12_months", isfinite(p->clv[0]) ? json_real(p->clv[0]) : json_null(),
			 "currency", ctx->currency, "units", "days_per_month", LTV_DAYS_PER_MONTH,
			 "money", money, "clv", "12 months, monthly discount 0.01, margin 1");
}

bool ltv_person_json(struct db *db, int64_t project_id, int64_t person_id, json_t **out,
		     struct app_err *err)
{
	struct db_ltv_rows rows = { 0 };
	struct ltv_preds p = { 0 };
	struct db_ltv_ctx ctx;
	struct ltv_model m;
	struct clv_opts o;
	json_t *run = NULL;
	bool ok = false;

	*out = NULL;
	if (!db_ltv_context(db, project_id, NULL, NULL, &ctx, err) ||
	    !db_ltv_run_get(db, project_id, 0, "bgnbd", &run, err))
		return false;
	if (!run || !ltv_model_from_run(run, &m)) {
		json_decref(run);
		*out = json_null();
		return true;
	}
	json_decref(run);
	clv_opts_default(&o);
	{
		struct db_ltv_query q = { .project_id = project_id, .tz = ctx.tz,
					  .currency = ctx.currency, .cal_end = m.cal_end,
					  .holdout_end = m.cal_end, .shape = DB_LTV_PERSONS,
					  .person_id = person_id };
		if (!db_ltv_load(db, &q, &rows, err))
			return false;
	}
	if (rows.n == 0)
		*out = json_null();
	else if (ltv_predict(&m, &rows, &o, ctx.exponent, 0, &p, err))
		*out = person_pred_json(&m, &ctx, &rows, &p);
	else
		goto done;
	ok = *out != NULL || err_set(err, 500, "internal", NULL, "out of memory");
done:
	ltv_preds_free(&p);
	db_ltv_rows_free(&rows);
	return ok;
}
