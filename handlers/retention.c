/*
 * retention.c - GET /v1/retention.
 *
 * Data path: PostgreSQL gives the local calendar of whole periods (the
 * cohort periods plus `periods` more, db_calendar_build); db_act_fetch gives,
 * per stitched person, the periods with a start / return event and whether
 * a start event happened before the first cohort period (from the
 * in-memory store, or one aggregated PostgreSQL pass); one "event" per
 * (person, period) goes to model/retention.c, which counts cohorts,
 * censors cells against now and averages. Rules: docs/api.md "Analytics"
 * and docs/semantics-analytics.md §4.
 */
#include "handlers/retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/query.h"
#include "model/retention.h"
#include "server/app.h"
#include "server/db.h"
#include "server/db_activity.h"
#include "server/db_calendar.h"

#define RET_MAX_PERIODS 366

struct ret_req {
	const char *start, *ret;       /* event names; NULL = any event */
	enum calendar_unit unit;
	enum calendar_week_start ws;
	enum retention_mode mode;
	enum retention_cohort cohort;
	int32_t periods;               /* columns N = 0 .. periods */
	const char *from, *to, *tz, *format;
};

static const char *const unit_names[] = { "day", "week", "month" };

bool retention_param_unit(const char *s, const char *field, enum calendar_unit def,
			  enum calendar_unit *out, struct app_err *err)
{
	if (!s) {
		*out = def;
		return true;
	}
	for (int u = 0; u < 3; u++)
		if (strcmp(s, unit_names[u]) == 0) {
			*out = (enum calendar_unit)u;
			return true;
		}
	return err_set(err, 400, "validation_failed", field, "%s must be day, week or month", field);
}

bool retention_param_week_start(const char *s, enum calendar_week_start *out, struct app_err *err)
{
	if (!s || strcmp(s, "monday") == 0)
		*out = CALENDAR_WEEK_MONDAY;
	else if (strcmp(s, "sunday") == 0)
		*out = CALENDAR_WEEK_SUNDAY;
	else
		return err_set(err, 400, "validation_failed", "week_start",
			       "week_start must be monday or sunday");
	return true;
}

const char *retention_param_event(const char *s)
{
	if (!s || !*s || strcmp(s, "any") == 0 || strcmp(s, "$any") == 0)
		return NULL;
	return s;
}

void retention_period_label(const struct calendar *cal, enum calendar_unit u, int32_t p,
			    char out[16])
{
	int y, m, d;

	calendar_period_label(cal, u, p, &y, &m, &d);
	snprintf(out, 16, "%04d-%02d-%02d", y % 10000, m % 100, d % 100);
}

static bool parse_periods(const char *s, enum calendar_unit u, int32_t *out, struct app_err *err)
{
	char *end;
	long v;

	if (!s) {
		*out = u == CALENDAR_DAY ? 30 : 12;
		return true;
	}
	v = strtol(s, &end, 10);
	if (end == s || *end || v < 1 || v > RET_MAX_PERIODS)
		return err_set(err, 400, "validation_failed", "periods",
			       "periods must be an integer from 1 to %d", RET_MAX_PERIODS);
	*out = (int32_t)v;
	return true;
}

static bool parse_get(struct http_req *req, struct ret_req *r, struct app_err *err)
{
	static const char *const allowed[] = { "start_event", "return_event", "period", "periods",
					       "mode", "cohort", "week_start", "from", "to", "tz",
					       "format", NULL };
	const char *unknown = http_query_unknown(req, allowed), *s;

	if (unknown)
		return err_set(err, 400, "validation_failed", unknown, "unknown parameter %s", unknown);
	r->start = retention_param_event(http_query(req, "start_event"));
	r->ret = retention_param_event(http_query(req, "return_event"));
	if (!retention_param_unit(http_query(req, "period"), "period", CALENDAR_DAY, &r->unit, err) ||
	    !retention_param_week_start(http_query(req, "week_start"), &r->ws, err) ||
	    !parse_periods(http_query(req, "periods"), r->unit, &r->periods, err))
		return false;
	s = http_query(req, "mode");
	if (!s || strcmp(s, "n_day") == 0)
		r->mode = RETENTION_N_DAY;
	else if (strcmp(s, "unbounded") == 0)
		r->mode = RETENTION_UNBOUNDED;
	else
		return err_set(err, 400, "validation_failed", "mode", "mode must be n_day or unbounded");
	s = http_query(req, "cohort");
	if (!s || strcmp(s, "first_time") == 0)
		r->cohort = RETENTION_FIRST_TIME;
	else if (strcmp(s, "recurring") == 0)
		r->cohort = RETENTION_RECURRING;
	else
		return err_set(err, 400, "validation_failed", "cohort",
			       "cohort must be first_time or recurring");
	r->from = http_query(req, "from");
	r->to = http_query(req, "to");
	r->tz = http_query(req, "tz");
	r->format = http_query(req, "format");
	return true;
}

/* Everything the renderers need. */
struct ret_out {
	const struct ret_req *r;
	const struct query_range *qr;
	const struct calendar *cal;
	const struct retention_result *res;
	const char *source;
	int64_t now_us;
};

/* A cell exists once its period has started; before that it is null. */
static bool cell_started(const struct ret_out *o, int32_t c, int32_t n)
{
	const struct calendar_periods *per = calendar_periods(o->cal, o->r->unit);
	int64_t q = (int64_t)c + n;

	return q < per->n && per->start[q] <= o->now_us;
}

static json_t *cohorts_json(const struct ret_out *o)
{
	const struct retention_result *res = o->res;
	json_t *arr = json_array();
	char label[16];

	for (int32_t c = 0; c < res->n_cohorts; c++) {
		json_t *counts = json_array(), *rates = json_array(), *done = json_array();
		for (int32_t n = 0; n < res->n_periods; n++) {
			size_t i = (size_t)c * (size_t)res->n_periods + (size_t)n;
			bool on = cell_started(o, c, n);
			json_array_append_new(counts, on ? json_integer(res->retained[i]) : json_null());
			json_array_append_new(rates, on ? query_ratio((double)res->retained[i],
								      (double)res->size[c])
							: json_null());
			json_array_append_new(done, json_boolean(res->complete[i]));
		}
		retention_period_label(o->cal, o->r->unit, c, label);
		json_array_append_new(arr, json_pack("{s:s, s:I, s:o, s:o, s:o}", "start", label,
						     "size", (json_int_t)res->size[c], "counts",
						     counts, "rates", rates, "complete", done));
	}
	return arr;
}

/* Sums over the complete cells of column n (the average's numerator and
 * denominator). */
static void column_sums(const struct retention_result *res, int32_t n, int64_t *ret,
			int64_t *size)
{
	*ret = *size = 0;
	for (int32_t c = 0; c < res->n_cohorts; c++) {
		size_t i = (size_t)c * (size_t)res->n_periods + (size_t)n;
		if (res->complete[i]) {
			*ret += res->retained[i];
			*size += res->size[c];
		}
	}
}

static json_t *average_json(const struct retention_result *res)
{
	json_t *w = json_array(), *s = json_array(), *n = json_array(), *ret = json_array(),
	       *size = json_array();

	for (int32_t k = 0; k < res->n_periods; k++) {
		int64_t a, b;
		column_sums(res, k, &a, &b);
		json_array_append_new(w, query_real(res->avg[k]));
		json_array_append_new(s, query_real(res->avg_simple[k]));
		json_array_append_new(n, json_integer(res->n_complete[k]));
		json_array_append_new(ret, json_integer(a));
		json_array_append_new(size, json_integer(b));
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "rates", w, "rates_simple", s, "cohorts", n,
			 "retained", ret, "size", size);
}

static json_t *render_json(const struct ret_out *o)
{
	static const char *const modes[] = { "n_day", "unbounded" };
	static const char *const kinds[] = { "first_time", "recurring" };
	struct retention_dn dn = { 0.0 / 0.0, 0.0 / 0.0, 0.0 / 0.0, 0.0 / 0.0 };
	char from[64], to[64];

	if (o->r->unit == CALENDAR_DAY)
		retention_dn(o->res, &dn);
	query_format_time(o->qr->from_us, from);
	query_format_time(o->qr->to_us, to);
	return json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}",
			 "start_event", o->r->start ? o->r->start : "$any", "return_event",
			 o->r->ret ? o->r->ret : "$any", "period", unit_names[o->r->unit], "periods",
			 (int)o->r->periods, "mode", modes[o->r->mode], "cohort", kinds[o->r->cohort],
			 "week_start", o->r->ws == CALENDAR_WEEK_SUNDAY ? "sunday" : "monday", "from",
			 from, "to", to, "tz", o->qr->tz, "source", o->source, "cohorts",
			 cohorts_json(o), "average", average_json(o->res), "day_n",
			 json_pack("{s:o, s:o, s:o, s:o}", "d1", query_real(dn.d1), "d3",
				   query_real(dn.d3), "d7", query_real(dn.d7), "d30",
				   query_real(dn.d30)));
}

static void csv_rate(FILE *out, int64_t a, int64_t b)
{
	if (b > 0)
		fprintf(out, "%.6g", (double)a / (double)b);
}

/* Long format: one row per cell, then one "average" row per column. */
static void render_csv(const struct ret_out *o, struct http_resp *resp)
{
	const struct retention_result *res = o->res;
	char *buf = NULL, label[16];
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	if (!out)
		return;
	fputs("cohort_start,size,period,count,rate,complete\n", out);
	for (int32_t c = 0; c < res->n_cohorts; c++) {
		retention_period_label(o->cal, o->r->unit, c, label);
		for (int32_t n = 0; n < res->n_periods && cell_started(o, c, n); n++) {
			size_t i = (size_t)c * (size_t)res->n_periods + (size_t)n;
			fprintf(out, "%s,%lld,%d,%lld,", label, (long long)res->size[c], n,
				(long long)res->retained[i]);
			csv_rate(out, res->retained[i], res->size[c]);
			fprintf(out, ",%s\n", res->complete[i] ? "true" : "false");
		}
	}
	for (int32_t n = 0; n < res->n_periods; n++) {
		int64_t a, b;
		column_sums(res, n, &a, &b);
		fprintf(out, "average,%lld,%d,%lld,", (long long)b, n, (long long)a);
		csv_rate(out, a, b);
		fputs(",true\n", out);
	}
	fclose(out);
	resp->text = buf;
	resp->text_len = len;
	resp->content_type = "text/csv; charset=utf-8";
}

/* First-ever start per person: before the calendar (or none) = no cohort. */
static int64_t *first_starts(const struct db_act *act, const int64_t *bounds)
{
	int64_t *first = malloc((act->n_persons + 1) * sizeof(*first));

	if (!first)
		return NULL;
	for (size_t i = 0; i < act->n_persons; i++) {
		int32_t b = db_act_first_bucket(act, i, 0);
		first[i] = (act->flags[i] & DB_ACT_PRIOR(0)) || b < 0 ? RETENTION_NEVER : bounds[b];
	}
	return first;
}

/* Calendar, activity and model; fills res and cal (caller cleans up). */
static bool compute(struct http_req *req, const struct ret_req *r, struct db *db,
		    const struct query_range *qr, struct calendar *cal,
		    struct retention_result *res, const char **source, struct app_err *err)
{
	const char *sel[2] = { r->start, r->ret };
	bool same = (!r->start && !r->ret) || (r->start && r->ret && strcmp(r->start, r->ret) == 0);
	struct db_act act = { 0 };
	struct db_act_pairs pairs = { 0 };
	int64_t *bounds = NULL, *first = NULL;
	int32_t nb = 0, first_p;
	bool ok = false;

	if (!db_calendar_build(db, qr->tz, qr->from_us, qr->to_us, r->unit, r->ws, 0, r->periods, 0,
			     cal, &first_p, err))
		return false;
	if (!(bounds = db_calendar_bounds(cal, r->unit, &nb))) {
		err_set(err, 500, "internal", NULL, "cannot build the local calendar");
		goto out;
	}
	{
		struct db_act_spec spec = {
			.project_id = req->project_id, .bounds = bounds, .n_buckets = nb, .sel = sel,
			.n_sel = same ? 1 : 2, .need_prior = r->cohort == RETENTION_FIRST_TIME,
			.need_later = r->mode == RETENTION_UNBOUNDED, .store = req->app->store,
		};
		if (!db_act_fetch(db, &spec, &act, err))
			goto out;
		*source = act.source;
	}
	/* "On or after" counts returns after the calendar too: one in the last
	 * period stands for them (it is >= c + N for every column). */
	for (size_t i = 0; r->mode == RETENTION_UNBOUNDED && i < act.n_persons; i++)
		if (act.flags[i] & DB_ACT_LATER(same ? 0 : 1))
			db_act_set(&act, i, same ? 0 : 1, nb - 1);
	if (!db_act_pairs_build(&act, bounds, same ? 1u : 3u, &pairs) ||
	    (r->cohort == RETENTION_FIRST_TIME && !(first = first_starts(&act, bounds)))) {
		err_set(err, 500, "internal", NULL, "out of memory");
		goto out;
	}
	if (same) /* one selector plays both roles */
		memset(pairs.role, RETENTION_START | RETENTION_RETURN, pairs.n_pairs);
	{
		struct retention_params prm = {
			.unit = r->unit, .cohort = r->cohort, .mode = r->mode,
			.n_cohorts = calendar_period_of(cal, r->unit, qr->to_us - 1) + 1,
			.n_periods = r->periods + 1, .now_us = req->received_us,
		};
		struct retention_events ev = {
			.n_persons = pairs.n_persons, .person_off = pairs.person_off, .ts = pairs.ts,
			.role = pairs.role, .first_start_us = first,
		};
		if (!retention_compute(cal, &prm, &ev, res)) {
			err_set(err, 500, "internal", NULL, "retention model failed");
			goto out;
		}
	}
	ok = true;
out:
	free(bounds);
	free(first);
	db_act_pairs_free(&pairs);
	db_act_free(&act);
	return ok;
}

void h_retention_get(struct http_req *req, struct http_resp *resp)
{
	struct ret_req r = { 0 };
	struct app_err err = { 0 };
	struct query_range qr;
	struct calendar cal = { 0 };
	struct retention_result res = { 0 };
	struct db *db = NULL;
	const char *source = "postgres";
	bool ok;

	ok = parse_get(req, &r, &err) && (db = db_acquire(req->app->read_pool, 2000, &err)) &&
	     query_range_resolve(db, req->project_id, r.from, r.to, r.tz, r.format, 30,
				 req->received_us, &qr, &err) &&
	     compute(req, &r, db, &qr, &cal, &res, &source, &err);
	if (db)
		db_release(req->app->read_pool, db);
	if (ok) {
		struct ret_out o = { &r, &qr, &cal, &res, source, req->received_us };
		if (qr.csv)
			render_csv(&o, resp);
		else
			resp->json = render_json(&o);
	} else
		http_resp_error(resp, &err);
	retention_result_free(&res);
	calendar_cleanup(&cal);
}
