/*
 * ltv_runs.c - see ltv_runs.h.
 *
 * Fits run on the pattern-compressed summary: the rows from PostgreSQL are
 * already grouped, and btyd_compress folds the rows that differ only in
 * spend or holdout into one (x, t_x, T) pattern with their person count as
 * weight, so the likelihood is evaluated once per pattern. Predictions are
 * computed once per pattern too (P(alive), E[Y(t)], the discounted purchase
 * sum of the CLV) and only the Gamma-Gamma spend is per row.
 *
 * Background fits own a connection opened for them and nothing else of the
 * process: a fit still running at shutdown dies with the process, and its
 * row is then reported failed by the next reader (db_ltv_run_get).
 */
#include "server/ltv_runs.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/bgnbd.h"
#include "model/gammagamma.h"
#include "model/paretonbd.h"
#include "server/app.h"
#include "server/config.h"
#include "server/db.h"
#include "server/log.h"
#include "server/ltv_scoring.h"

/* Fits may read millions of orders: a longer timeout than interactive queries. */
#define LTV_RUN_TIMEOUT_MS 600000

static pthread_mutex_t runs_mu = PTHREAD_MUTEX_INITIALIZER;
static int runs_active;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static json_t *real_or_null(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

void ltv_spec_default(struct ltv_spec *s, int32_t cal_end)
{
	memset(s, 0, sizeof(*s));
	s->model = CLV_BGNBD;
	s->spend = true;
	s->cal_end = cal_end;
	s->unit = BTYD_DAYS;
}

const char *ltv_model_name(enum clv_model m)
{
	return m == CLV_PARETONBD ? "paretonbd" : "bgnbd";
}

const char *ltv_unit_name(enum btyd_unit u)
{
	return u == BTYD_WEEKS ? "week" : "day";
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), so dates need no database round trip to validate. */
static int32_t days_from_civil(int y, int m, int d)
{
	int era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int32_t)(era * 146097 + doe - 719468);
}

bool ltv_parse_date(const char *s, int32_t *day)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, n = 0;

	if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
	    s[4] != '-' || s[7] != '-')
		return false;
	if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1)
		return false;
	if (d > mdays[m - 1] + (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
		return false;
	*day = days_from_civil(y, m, d);
	return true;
}

void ltv_format_date(int32_t day, char out[16])
{
	/* civil_from_days, the inverse of days_from_civil. */
	int z = day + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	int doe = z - era * 146097;
	int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	int d = doy - (153 * mp + 2) / 5 + 1, m = mp + (mp < 10 ? 3 : -9), y = yoe + era * 400 + (m <= 2);

	char buf[48]; /* room for any int, so the compiler can prove no truncation */

	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
	snprintf(out, 16, "%.15s", buf);
}

/* ---- fitting --------------------------------------------------------------- */

struct fit_arrays {
	double *x, *tx, *T, *w, *m;
};

static void fit_arrays_free(struct fit_arrays *a)
{
	free(a->x);
	free(a->tx);
	free(a->T);
	free(a->w);
	free(a->m);
}

/* Rows -> model inputs in the fit's unit; m = mean repeat value, major units. */
static bool fit_arrays_fill(const struct db_ltv_rows *r, enum btyd_unit unit, int exponent,
			    struct fit_arrays *a)
{
	size_t k = r->n ? r->n : 1;
	double ud = (double)unit, scale = pow(10.0, exponent);

	a->x = malloc(k * sizeof(double));
	a->tx = malloc(k * sizeof(double));
	a->T = malloc(k * sizeof(double));
	a->w = malloc(k * sizeof(double));
	a->m = malloc(k * sizeof(double));
	if (!a->x || !a->tx || !a->T || !a->w || !a->m)
		return false;
	for (size_t i = 0; i < r->n; i++) {
		a->x[i] = r->x[i];
		a->tx[i] = r->tx[i] / ud;
		a->T[i] = r->T[i] / ud;
		a->w[i] = (double)r->count[i];
		a->m[i] = r->x[i] > 0 ? (double)r->rep[i] / scale / r->x[i] : 0.0;
	}
	return true;
}

static void fit_spend(const struct fit_arrays *a, size_t n, const struct ltv_spec *s,
		      struct ltv_fitted *out)
{
	struct btyd_fit_opts o;
	double t = now_ms();

	btyd_fit_opts_default(&o);
	o.penalizer = s->spend_penalizer;
	gammagamma_fit(a->x, a->m, a->w, n, &o, s->q_constraint, &out->gg);
	out->has_corr = gammagamma_freq_monetary_corr(a->x, a->m, a->w, n, &out->corr);
	out->has_spend = true;
	out->ms_spend = now_ms() - t;
}

bool ltv_fit_rows(const struct db_ltv_rows *rows, const struct ltv_spec *s, int exponent,
		  struct ltv_fitted *out, struct app_err *err)
{
	struct fit_arrays a = { 0 };
	struct btyd_patterns pat = { 0 };
	struct btyd_fit_opts o;
	const char *why = NULL;
	double t;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	if (!fit_arrays_fill(rows, s->unit, exponent, &a)) {
		err_set(err, 500, "internal", NULL, "out of memory");
		goto out;
	}
	t = now_ms();
	if (!btyd_compress(a.x, a.tx, a.T, a.w, rows->n, &pat, &why)) {
		err_set(err, 500, "internal", NULL, "summary compression failed: %s", why);
		goto out;
	}
	out->ms_compress = now_ms() - t;
	t = now_ms();
	btyd_fit_opts_default(&o);
	o.penalizer = s->penalizer;
	if (s->model == CLV_PARETONBD)
		paretonbd_fit(pat.frequency, pat.recency, pat.T, pat.weight, pat.n, &o, &out->tx);
	else
		bgnbd_fit(pat.frequency, pat.recency, pat.T, pat.weight, pat.n, &o, &out->tx);
	out->ms_fit = now_ms() - t;
	if (s->spend)
		fit_spend(&a, rows->n, s, out);
	out->persons = rows->persons;
	out->patterns = pat.n;
	/* q <= 1 makes the expected spend infinite or negative: not usable for CLV. */
	out->usable = out->tx.converged &&
		      (!s->spend || (out->gg.converged && out->gg.params[1] > 1.0));
	ok = true;
out:
	btyd_patterns_free(&pat);
	fit_arrays_free(&a);
	return ok;
}

json_t *ltv_parameters_json(const struct ltv_spec *s, const struct btyd_fit *f)
{
	const double *p = f->params;

	if (s->model == CLV_PARETONBD)
		return json_pack("{s:o, s:o, s:o, s:o}", "r", real_or_null(p[0]), "alpha",
				 real_or_null(p[1]), "s", real_or_null(p[2]), "beta", real_or_null(p[3]));
	return json_pack("{s:o, s:o, s:o, s:o}", "r", real_or_null(p[0]), "alpha", real_or_null(p[1]),
			 "a", real_or_null(p[2]), "b", real_or_null(p[3]));
}

json_t *ltv_spend_json(const struct ltv_fitted *f, const char *currency)
{
	const struct btyd_fit *g = &f->gg;
	bool q_ok = g->params[1] > 1.0;
	json_t *o;

	if (!f->has_spend)
		return json_null();
	o = json_pack("{s:s, s:{s:o, s:o, s:o}, s:s, s:o, s:i, s:i, s:b, s:s, s:o, s:I, s:o, s:b}",
		      "model", "gammagamma", "parameters", "p", real_or_null(g->params[0]), "q",
		      real_or_null(g->params[1]), "gamma", real_or_null(g->params[2]),
		      "gamma_unit", currency, "log_likelihood", real_or_null(g->log_lik),
		      "iterations", g->iterations, "evaluations", g->evaluations, "converged",
		      g->converged, "reason", g->reason, "persons", real_or_null(g->total_weight),
		      "rows", (json_int_t)g->n_rows, "frequency_monetary_correlation",
		      f->has_corr ? real_or_null(f->corr) : json_null(), "usable",
		      g->converged && q_ok);
	if (o && g->converged && !q_ok)
		json_object_set_new(o, "note", json_string("q <= 1: the expected spend is undefined; "
							   "refit with q_constraint"));
	return o;
}

json_t *ltv_spec_json(const struct ltv_spec *s, const struct db_ltv_ctx *ctx)
{
	char cal[16];

	ltv_format_date(s->cal_end, cal);
	return json_pack("{s:s, s:s, s:s, s:i, s:f, s:s?, s:f, s:b, s:b, s:s, s:s, s:i}", "model",
			 ltv_model_name(s->model), "calibration_end", cal, "time_unit",
			 ltv_unit_name(s->unit), "days_per_time_unit", (int)s->unit, "penalizer",
			 s->penalizer, "spend", s->spend ? "gammagamma" : NULL, "spend_penalizer",
			 s->spend_penalizer, "q_constraint", s->q_constraint, "score_persons",
			 s->score_persons, "tz", ctx->tz, "currency", ctx->currency,
			 "currency_exponent", ctx->exponent);
}

/* ---- stored runs --------------------------------------------------------------- */

/* Compact text of j (consumed); 17 significant digits keep parameters exact. */
static char *dump(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
	json_decref(j);
	return s;
}

/* Milliseconds need no 17 digits (248.2, not 248.19999999999999). */
static char *dump_short(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
	json_decref(j);
	return s;
}

static json_t *timings_json(const struct ltv_fitted *f, double load_ms, double total_ms)
{
	return json_pack("{s:f, s:f, s:f, s:f, s:f}", "load_ms", round(load_ms * 10) / 10,
			 "compress_ms", round(f->ms_compress * 100) / 100, "fit_ms",
			 round(f->ms_fit * 100) / 100, "spend_ms", round(f->ms_spend * 100) / 100,
			 "total_ms", round(total_ms * 10) / 10);
}

/*
 * "score_persons": predictions of the fresh fit into the current scores
 * generation, before the run is marked done so a client polling the run
 * sees the outcome with it. A failure here is recorded, not fatal: the fit
 * itself is good.
 */
static char *write_scores(struct db *db, int64_t project_id, int64_t run_id,
			  const struct ltv_spec *s, const struct db_ltv_ctx *ctx,
			  const struct ltv_fitted *f)
{
	struct app_err err = { 0 };
	struct ltv_model m;
	int64_t written = 0, gen = 0;
	double t = now_ms();
	json_t *rec;

	ltv_model_from_fit(s, f, run_id, &m);
	if (db_ltv_scores_run(db, project_id, &gen, &err) &&
	    ltv_scores_refresh(db, project_id, ctx, &m, &written, &err))
		rec = json_pack("{s:o, s:I, s:f}", "generation",
				gen ? json_integer((json_int_t)gen) : json_null(), "written",
				(json_int_t)written, "ms", round((now_ms() - t) * 10) / 10);
	else {
		log_warn("ltv: run %lld: writing person_scores failed: %s", (long long)run_id,
			 err.message);
		db_rollback(db);
		rec = json_pack("{s:s}", "error", err.message);
	}
	return dump_short(rec);
}

/* Load (unless given), fit, write scores if asked, and complete the run row. */
static bool run_body(struct db *db, int64_t project_id, int64_t run_id, const struct ltv_spec *s,
		     const struct db_ltv_ctx *ctx, const struct db_ltv_rows *given,
		     struct ltv_fitted *f, struct app_err *err)
{
	struct db_ltv_rows own = { 0 };
	const struct db_ltv_rows *rows = given;
	double t0 = now_ms();
	char *par = NULL, *spend = NULL, *tm = NULL, *scores = NULL;
	bool ok = false;

	if (!rows) {
		struct db_ltv_query q = { .project_id = project_id, .tz = ctx->tz,
					  .currency = ctx->currency, .cal_end = s->cal_end,
					  .holdout_end = s->cal_end, .shape = DB_LTV_GROUPED };
		if (!db_ltv_load(db, &q, &own, err))
			return false;
		rows = &own;
	}
	if (!ltv_fit_rows(rows, s, ctx->exponent, f, err))
		goto out;
	if (s->score_persons && f->usable)
		scores = write_scores(db, project_id, run_id, s, ctx, f);
	par = dump(ltv_parameters_json(s, &f->tx));
	spend = s->spend ? dump(ltv_spend_json(f, ctx->currency)) : NULL;
	tm = dump_short(timings_json(f, rows->load_ms, now_ms() - t0 + (given ? given->load_ms : 0)));
	if (!par || !tm || (s->spend && !spend)) {
		err_set(err, 500, "internal", NULL, "out of memory");
		goto out;
	}
	{
		struct db_ltv_run_done d = {
			.parameters = par, .spend = spend, .timings = tm, .log_lik = f->tx.log_lik,
			.iterations = f->tx.iterations, .evaluations = f->tx.evaluations,
			.converged = f->tx.converged, .usable = f->usable, .reason = f->tx.reason,
			.persons = f->persons, .patterns = (int64_t)f->patterns, .scores = scores,
		};
		ok = db_ltv_run_finish(db, project_id, run_id, &d, err);
	}
out:
	free(par);
	free(spend);
	free(tm);
	free(scores);
	db_ltv_rows_free(&own);
	return ok;
}

/* Record a failure on the run row; the request's own error stays in err. */
static void run_failed(struct db *db, int64_t project_id, int64_t run_id, const struct app_err *why)
{
	struct app_err e2 = { 0 };

	db_rollback(db);
	if (!db_ltv_run_fail(db, project_id, run_id, why->message, NULL, &e2))
		log_warn("ltv: run %lld: recording the failure failed: %s", (long long)run_id,
			 e2.message);
}

static bool run_start(struct db *db, int64_t project_id, const struct ltv_spec *s,
		      const struct db_ltv_ctx *ctx, const char *trigger, int64_t *run_id,
		      struct app_err *err)
{
	char *params = dump(ltv_spec_json(s, ctx));
	struct db_ltv_run_new r = { .project_id = project_id, .kind = ltv_model_name(s->model),
				    .spend_model = s->spend ? "gammagamma" : NULL,
				    .trigger = trigger, .params = params, .cal_end = s->cal_end,
				    .time_unit = ltv_unit_name(s->unit) };
	bool ok;

	if (!params)
		return err_set(err, 500, "internal", NULL, "out of memory");
	ok = db_ltv_run_start(db, &r, run_id, err);
	free(params);
	return ok;
}

bool ltv_run_sync(struct db *db, int64_t project_id, const struct ltv_spec *s,
		  const struct db_ltv_ctx *ctx, const char *trigger, const struct db_ltv_rows *rows,
		  struct ltv_fitted *out, int64_t *run_id, struct app_err *err)
{
	if (!run_start(db, project_id, s, ctx, trigger, run_id, err))
		return false;
	if (run_body(db, project_id, *run_id, s, ctx, rows, out, err))
		return true;
	run_failed(db, project_id, *run_id, err);
	return false;
}

struct job {
	struct db *db;
	int64_t project_id, run_id;
	struct ltv_spec spec;
	struct db_ltv_ctx ctx;
};

static void runs_release(void)
{
	pthread_mutex_lock(&runs_mu);
	runs_active--;
	pthread_mutex_unlock(&runs_mu);
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct ltv_fitted f;
	struct app_err err = { 0 };

	if (!run_body(j->db, j->project_id, j->run_id, &j->spec, &j->ctx, NULL, &f, &err)) {
		log_warn("ltv: run %lld failed: %s", (long long)j->run_id, err.message);
		run_failed(j->db, j->project_id, j->run_id, &err);
	}
	db_close(j->db); /* also frees the run's advisory lock if the update never ran */
	free(j);
	runs_release();
	return NULL;
}

bool ltv_run_submit(struct app *app, int64_t project_id, const struct ltv_spec *s,
		    const struct db_ltv_ctx *ctx, json_t **run, struct app_err *err)
{
	struct job *j = NULL;
	struct db *db = NULL;
	pthread_attr_t attr;
	pthread_t tid;
	int64_t run_id = 0;
	int rc;

	*run = NULL;
	pthread_mutex_lock(&runs_mu);
	if (runs_active >= LTV_MAX_RUNS) {
		pthread_mutex_unlock(&runs_mu);
		err_set(err, 503, "busy", NULL, "%d fits are running already; retry later",
			LTV_MAX_RUNS);
		err->retry_after = 5;
		return false;
	}
	runs_active++;
	pthread_mutex_unlock(&runs_mu);
	if (!(j = calloc(1, sizeof(*j)))) {
		err_set(err, 500, "internal", NULL, "out of memory");
		goto fail;
	}
	if (!(db = db_open(app->cfg->database_url, "cohortd-ltv", LTV_RUN_TIMEOUT_MS, err)) ||
	    !run_start(db, project_id, s, ctx, "api", &run_id, err) ||
	    !db_ltv_run_get(db, project_id, run_id, NULL, run, err))
		goto fail;
	*j = (struct job){ .db = db, .project_id = project_id, .run_id = run_id, .spec = *s,
			   .ctx = *ctx };
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, job_main, j);
	pthread_attr_destroy(&attr);
	if (rc == 0)
		return true;
	err_set(err, 503, "busy", NULL, "cannot start a fit thread; retry later");
	err->retry_after = 5;
	run_failed(db, project_id, run_id, err);
fail:
	json_decref(*run);
	*run = NULL;
	db_close(db);
	free(j);
	runs_release();
	return false;
}

/* ---- predictions ------------------------------------------------------------------ */

static bool get_num(const json_t *o, const char *k, double *v)
{
	const json_t *x = json_object_get(o, k);
	if (!json_is_number(x))
		return false;
	*v = json_number_value(x);
	return isfinite(*v);
}

bool ltv_model_from_run(const json_t *run, struct ltv_model *m)
{
	static const char *const bg[4] = { "r", "alpha", "a", "b" };
	static const char *const pn[4] = { "r", "alpha", "s", "beta" };
	const char *model = json_string_value(json_object_get(run, "model"));
	const char *unit = json_string_value(json_object_get(run, "time_unit"));
	const char *cal = json_string_value(json_object_get(run, "calibration_end"));
	const json_t *par = json_object_get(run, "parameters");
	const json_t *spend = json_object_get(run, "spend");
	const char *const *names;

	memset(m, 0, sizeof(*m));
	if (!json_is_true(json_object_get(run, "usable")) || !model || !unit || !cal ||
	    !ltv_parse_date(cal, &m->cal_end))
		return false;
	m->run_id = json_integer_value(json_object_get(run, "id"));
	m->model = strcmp(model, "paretonbd") == 0 ? CLV_PARETONBD : CLV_BGNBD;
	m->unit = strcmp(unit, "week") == 0 ? BTYD_WEEKS : BTYD_DAYS;
	names = m->model == CLV_PARETONBD ? pn : bg;
	for (int i = 0; i < 4; i++)
		if (!get_num(par, names[i], &m->params[i]))
			return false;
	if (json_is_object(spend)) {
		const json_t *gp = json_object_get(spend, "parameters");
		m->has_spend = get_num(gp, "p", &m->gg[0]) && get_num(gp, "q", &m->gg[1]) &&
			       get_num(gp, "gamma", &m->gg[2]);
	}
	return true;
}

void ltv_model_from_fit(const struct ltv_spec *s, const struct ltv_fitted *f, int64_t run_id,
			struct ltv_model *m)
{
	memset(m, 0, sizeof(*m));
	m->run_id = run_id;
	m->model = s->model;
	memcpy(m->params, f->tx.params, sizeof(m->params));
	m->has_spend = f->has_spend && f->gg.params[1] > 1.0;
	memcpy(m->gg, f->gg.params, sizeof(m->gg));
	m->unit = s->unit;
	m->cal_end = s->cal_end;
}

void ltv_preds_free(struct ltv_preds *p)
{
	free(p->p_alive);
	free(p->e30);
	free(p->e90);
	free(p->e365);
	free(p->eh);
	free(p->et);
	free(p->spend);
	free(p->clv);
	memset(p, 0, sizeof(*p));
}

static bool preds_alloc(struct ltv_preds *p, size_t n)
{
	size_t k = n ? n : 1;
	double **f[] = { &p->p_alive, &p->e30, &p->e90, &p->e365, &p->eh, &p->et, &p->spend,
			 &p->clv };

	p->n = n;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (!(*f[i] = malloc(k * sizeof(double))))
			return false;
	return true;
}

static double cond_expected(const struct ltv_model *m, double t, double x, double tx, double T)
{
	double v;
	bool ok = m->model == CLV_PARETONBD
		? paretonbd_conditional_expected(m->params, t, x, tx, T, &v)
		: bgnbd_conditional_expected(m->params, t, x, tx, T, &v);
	return ok ? v : NAN;
}

/* Pattern j's P(alive), E[Y] at 30/90/365 days and the horizon, and the DET. */
static void pattern_preds(const struct ltv_model *m, const struct btyd_patterns *pat, size_t j,
			  const struct clv_opts *o, double t_days, struct ltv_preds *pp, double *det)
{
	double x = pat->frequency[j], tx = pat->recency[j], T = pat->T[j], ud = (double)m->unit;
	double v;
	bool ok = m->model == CLV_PARETONBD ? paretonbd_prob_alive(m->params, x, tx, T, &v)
					    : bgnbd_prob_alive(m->params, x, tx, T, &v);

	pp->p_alive[j] = ok ? v : NAN;
	pp->e30[j] = cond_expected(m, 30.0 / ud, x, tx, T);
	pp->e90[j] = cond_expected(m, 90.0 / ud, x, tx, T);
	pp->e365[j] = cond_expected(m, 365.0 / ud, x, tx, T);
	pp->eh[j] = cond_expected(m, o->months * o->days_per_month / ud, x, tx, T);
	pp->et[j] = t_days > 0 ? cond_expected(m, t_days / ud, x, tx, T) : NAN;
	det[j] = clv_discounted_purchases(m->model, m->params, x, tx, T, o, &v) ? v : NAN;
}

bool ltv_predict(const struct ltv_model *m, const struct db_ltv_rows *rows,
		 const struct clv_opts *opts, int exponent, double t_days, struct ltv_preds *out,
		 struct app_err *err)
{
	struct fit_arrays a = { 0 };
	struct btyd_patterns pat = { 0 };
	struct ltv_preds pp = { 0 };
	struct clv_opts o = *opts;
	double *det = NULL;
	const char *why = NULL;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	o.unit = m->unit;
	if (!fit_arrays_fill(rows, m->unit, exponent, &a) ||
	    !btyd_compress(a.x, a.tx, a.T, NULL, rows->n, &pat, &why) || !preds_alloc(&pp, pat.n) ||
	    !(det = malloc((pat.n ? pat.n : 1) * sizeof(double))) || !preds_alloc(out, rows->n)) {
		err_set(err, 500, "internal", NULL, "out of memory");
		goto out;
	}
	for (size_t j = 0; j < pat.n; j++)
		pattern_preds(m, &pat, j, &o, t_days, &pp, det);
	for (size_t i = 0; i < rows->n; i++) {
		size_t j = pat.pattern_of[i];
		double sp = NAN;
		if (m->has_spend && !gammagamma_expected_spend(m->gg, a.x[i], a.m[i], &sp))
			sp = NAN;
		out->p_alive[i] = pp.p_alive[j];
		out->e30[i] = pp.e30[j];
		out->e90[i] = pp.e90[j];
		out->e365[i] = pp.e365[j];
		out->eh[i] = pp.eh[j];
		out->et[i] = pp.et[j];
		out->spend[i] = sp;
		out->clv[i] = o.margin * sp * det[j];
	}
	ok = true;
out:
	if (!ok)
		ltv_preds_free(out);
	ltv_preds_free(&pp);
	free(det);
	btyd_patterns_free(&pat);
	fit_arrays_free(&a);
	return ok;
}
