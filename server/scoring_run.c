/*
 * scoring_run.c - a stored scoring run (scoring_run in scoring.h): compute,
 * optionally refit predictive LTV, COPY the rows of a new generation, make
 * it current in the same transaction, drop old generations.
 *
 * Rows are formatted by hand into 64 KiB COPY chunks: snprintf for 26
 * fields of a million rows would cost more than the models.
 */
#include "server/scoring.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/calendar.h"
#include "server/log.h"
#include "server/ltv_scoring.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

#define CHUNK (64 * 1024)
#define ROW_MAX 1024 /* longest row: 26 fields, codes <= 32 bytes, doubles <= 24 */

struct rowbuf {
	char *s;
	size_t len;
};

static char *put_i64(char *o, int64_t v)
{
	char tmp[24];
	int n = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	if (v < 0)
		*o++ = '-';
	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	while (n)
		*o++ = tmp[--n];
	return o;
}

static char *put_str(char *o, const char *s)
{
	size_t n = strlen(s);
	memcpy(o, s, n);
	return o + n;
}

static char *put_null(char *o)
{
	return put_str(o, "\\N");
}

static char *put_date(char *o, int32_t day)
{
	int y, m, d;

	calendar_civil_from_days(day, &y, &m, &d);
	o = put_i64(o, y);
	*o++ = '-';
	*o++ = (char)('0' + m / 10);
	*o++ = (char)('0' + m % 10);
	*o++ = '-';
	*o++ = (char)('0' + d / 10);
	*o++ = (char)('0' + d % 10);
	return o;
}

/* A small-int score, or NULL when unscored. */
static char *put_score(char *o, uint8_t v)
{
	return v == RFM_UNSCORED ? put_null(o) : put_i64(o, v);
}

static char *put_code(char *o, const char *code)
{
	return code ? put_str(o, code) : put_null(o);
}

/* One COPY line of person i (column order of db_scores_copy_begin). */
typedef char tier_codes[PYRAMID_MAX_TIERS][48];

static char *put_row(char *o, const tier_codes tiers, const struct score_result *r, size_t i,
		     const char *prefix)
{
	const struct score_person *x = &r->p[i];
	const struct rfm11_score *s = &r->rfm11[i];

	o = put_str(o, prefix);
	o = put_i64(o, x->person_id);
	*o++ = '\t';
	o = put_date(o, x->first_day);
	*o++ = '\t';
	o = put_date(o, x->last_day);
	*o++ = '\t';
	o = put_i64(o, x->paid_orders);
	*o++ = '\t';
	o = s->r == RFM_UNSCORED ? put_null(o) : put_i64(o, s->recency_days);
	*o++ = '\t';
	o = put_i64(o, x->orders);
	*o++ = '\t';
	o = put_i64(o, x->revenue);
	*o++ = '\t';
	o = put_score(o, s->r);
	*o++ = '\t';
	o = put_score(o, s->f);
	*o++ = '\t';
	o = put_score(o, s->m);
	*o++ = '\t';
	o = put_score(o, s->fm);
	*o++ = '\t';
	o = put_code(o, s->segment == RFM_UNSCORED ? NULL : rfm11_code(s->segment));
	*o++ = '\t';
	o = put_code(o, r->rfm8[i] == RFM_UNSCORED ? NULL : rfm8_code(r->rfm8[i]));
	*o++ = '\t';
	o = put_code(o, r->stage[i] < STAGES_N ? stages_code(r->stage[i]) : NULL);
	*o++ = '\t';
	o = put_code(o, r->tier[i] < PYRAMID_MAX_TIERS ? tiers[r->tier[i]] : NULL);
	*o++ = '\t';
	o = put_code(o, aipl_code(r->aipl[i]));
	*o++ = '\t';
	o = put_i64(o, r->aarrr[i]);
	*o++ = '\t';
	o = put_i64(o, x->referees);
	*o++ = '\t';
	o = put_i64(o, x->ltv);
	for (int k = 0; k < SC_LTV_COLS; k++) {
		double v = x->carry >= 0 ? r->ltv[x->carry].v[k] : NAN;
		*o++ = '\t';
		o = isfinite(v) ? o + snprintf(o, 32, "%.17g", v) : put_null(o);
	}
	*o++ = '\n';
	return o;
}

static bool write_rows(struct db *data, const struct score_config *cfg,
		       const struct score_result *r, const struct score_params *p, int64_t run_id,
		       const struct scoring_hooks *h, struct app_err *err)
{
	char prefix[64], *buf = malloc(CHUNK + ROW_MAX), *o;
	tier_codes tiers;
	bool ok = true;

	if (!buf)
		return err_set(err, 500, "internal", NULL, "out of memory");
	for (unsigned t = 0; t < PYRAMID_MAX_TIERS; t++)
		if (!scoring_tier_code(cfg, t, tiers[t], sizeof(tiers[t])))
			tiers[t][0] = '\0';
	snprintf(prefix, sizeof(prefix), "%lld\t%lld\t", (long long)p->project_id,
		 (long long)run_id);
	o = buf;
	for (size_t i = 0; ok && i < r->n; i++) {
		o = put_row(o, (const char(*)[48])tiers, r, i, prefix);
		if ((size_t)(o - buf) >= CHUNK) {
			ok = db_scores_copy_put(data, buf, (size_t)(o - buf), err);
			o = buf;
		}
		/* The hook throttles its database updates by time; calling it often is cheap. */
		if (ok && (i + 1) % 1024 == 0 && h && h->progress &&
		    !h->progress(h->arg, (int64_t)i + 1, (int64_t)r->n))
			ok = err_set(err, 503, "shutting_down", NULL,
				     "interrupted: cohortd is shutting down");
	}
	if (ok && o > buf)
		ok = db_scores_copy_put(data, buf, (size_t)(o - buf), err);
	free(buf);
	return ok;
}

/* Whole milliseconds: integers print exactly in JSON, reals as %.17g noise. */
static void timing(json_t *t, const char *key, double ms)
{
	json_object_set_new(t, key, json_integer((json_int_t)llround(ms)));
}

/* Prefix err's message with the phase that failed ("writing scores: ..."). */
static bool failed_in(struct app_err *err, const char *phase)
{
	char msg[sizeof(err->message)];
	size_t n = strlen(phase);

	/* Truncation is fine: the full error is in the log. */
	if (n + 2 >= sizeof(msg))
		return false;
	memcpy(msg, phase, n);
	memcpy(msg + n, ": ", 2);
	memcpy(msg + n + 2, err->message, sizeof(msg) - n - 2);
	msg[sizeof(msg) - 1] = '\0';
	memcpy(err->message, msg, sizeof(msg));
	return false;
}

/* Write rows and make them current; the run's row records summary and params. */
static bool store(struct db *data, const struct score_config *cfg, const struct score_params *p,
		  const struct score_result *r, int64_t run_id, const struct scoring_hooks *h,
		  json_t *tm, struct app_err *err)
{
	json_t *sum = scoring_summary_json(cfg, p, r), *prm = scoring_params_json(cfg, p);
	char *sums = sum ? json_dumps(sum, JSON_COMPACT) : NULL;
	char *prms = prm ? json_dumps(prm, JSON_COMPACT) : NULL;
	char *tms = NULL;
	double t = now_ms();
	bool ok = false;

	if (!sums || !prms) {
		err_set(err, 500, "internal", NULL, "out of memory");
		goto out;
	}
	if (!db_scores_copy_begin(data, run_id, err) ||
	    !write_rows(data, cfg, r, p, run_id, h, err)) {
		db_scores_abort(data);
		failed_in(err, "writing scores");
		goto out;
	}
	timing(tm, "write_ms", now_ms() - t);
	tms = json_dumps(tm, JSON_COMPACT);
	t = now_ms();
	{
		struct sc_done d = { p->project_id, run_id, (int64_t)r->n, p->as_of_day, prms, sums,
				     tms ? tms : "{}" };
		if (!db_scores_commit_run(data, &d, err)) {
			failed_in(err, "committing scores");
			goto out;
		}
	}
	timing(tm, "commit_ms", now_ms() - t);
	ok = true;
out:
	json_decref(sum);
	json_decref(prm);
	free(sums);
	free(prms);
	free(tms);
	return ok;
}

/*
 * scoring.fit_ltv: refit BG/NBD + Gamma-Gamma as of as_of and use its
 * predictions instead of the carried-forward columns (server/ltv_scoring.h).
 * A fit that fails or is not usable never fails the run: the carried values
 * stay and the timings say why.
 */
static void fit_ltv(struct db *data, const struct score_params *p, struct score_result *r,
		    json_t *tm)
{
	struct app_err err = { 0 };
	struct db_ltv_pred *pred = NULL;
	struct sc_ltv_row *rows = NULL;
	size_t n = 0, j = 0;
	int64_t model_run = 0;
	double t = now_ms();

	if (!ltv_score_persons(data, p->project_id, p->as_of_day, &pred, &n, &model_run, &err) ||
	    (n > 0 && !(rows = calloc(n, sizeof(*rows))))) {
		json_object_set_new(tm, "ltv_error", json_string(err.status ? err.message
									 : "out of memory"));
		free(pred);
		return;
	}
	json_object_set_new(tm, "ltv_fit_ms", json_integer((json_int_t)llround(now_ms() - t)));
	json_object_set_new(tm, "ltv_model_run_id", model_run ? json_integer(model_run) : json_null());
	if (n == 0) /* not usable: keep what was carried */
		return;
	for (size_t i = 0; i < n; i++)
		rows[i] = (struct sc_ltv_row){ pred[i].person_id, { pred[i].p_alive,
			pred[i].purchases_30d, pred[i].purchases_90d, pred[i].purchases_365d,
			pred[i].clv_minor } };
	free(pred);
	/* Both lists are sorted by person_id: re-point every person by a merge. */
	for (size_t i = 0; i < r->n; i++) {
		while (j < n && rows[j].person_id < r->p[i].person_id)
			j++;
		r->p[i].carry = j < n && rows[j].person_id == r->p[i].person_id ? (int32_t)j : -1;
	}
	free(r->ltv);
	r->ltv = rows;
	r->n_ltv = n;
}

bool scoring_run(struct db *data, struct db *data2, int64_t project_id, int64_t run_id,
		 const struct scoring_hooks *h, json_t **timings, struct app_err *err)
{
	static const char *const load_keys[4] = { "load_events_ms", "load_orders_ms",
						  "load_referrals_ms", "load_ltv_ms" };
	struct score_config cfg;
	struct score_params p;
	struct score_result r;
	json_t *tm = json_object();
	double t0 = now_ms(), t;
	int32_t today;
	bool ok = false;

	*timings = tm;
	if (!scoring_config_load(data, project_id, &cfg, err))
		return failed_in(err, "reading settings");
	if (!db_scores_today(data, cfg.tz, &today, err)) {
		failed_in(err, "reading the project's date");
		goto out;
	}
	scoring_default_params(&cfg, project_id, today, &p);
	if (!scoring_compute(data, data2, &cfg, &p, true, &r, err)) {
		failed_in(err, "computing scores");
		goto out;
	}
	for (int k = 0; k < 4; k++)
		timing(tm, load_keys[k], r.ms[k]);
	timing(tm, "merge_ms", r.ms[4]);
	timing(tm, "model_ms", r.ms[5]);
	json_object_set_new(tm, "persons", json_integer((json_int_t)r.n));
	if (cfg.fit_ltv)
		fit_ltv(data, &p, &r, tm);
	if (h && h->progress && !h->progress(h->arg, 0, (int64_t)r.n))
		err_set(err, 503, "shutting_down", NULL, "interrupted: cohortd is shutting down");
	else if (store(data, &cfg, &p, &r, run_id, h, tm, err)) {
		int64_t dropped = 0;

		t = now_ms();
		/* Housekeeping after the flip: a failure here loses nothing, and
		 * the next run drops what this one left. */
		if (!db_scores_purge(data, project_id, &dropped, err))
			log_warn("scoring: run %lld: dropping old generations failed: %s",
				 (long long)run_id, err->message);
		err_clear(err);
		timing(tm, "purge_ms", now_ms() - t);
		json_object_set_new(tm, "dropped_generations", json_integer((json_int_t)dropped));
		ok = true;
	}
	scoring_result_free(&r);
out:
	timing(tm, "total_ms", now_ms() - t0);
	scoring_config_free(&cfg);
	return ok;
}
