/*
 * lifecycle.c - GET /v1/lifecycle.
 *
 * The calendar covers the reported periods (whole periods overlapping
 * [from, to)) plus one period before them, which only answers "was the
 * person active in the previous period?". db_act_fetch returns, per
 * stitched person, the periods with an activity event and whether there
 * was one before the calendar (then the first activity ever is older than
 * every reported period, so the person cannot be new). model/lifecycle.c
 * classifies.
 */
#include "handlers/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/query.h"
#include "handlers/retention.h"
#include "model/lifecycle.h"
#include "server/app.h"
#include "server/db.h"
#include "server/db_activity.h"
#include "server/db_calendar.h"

struct lc_req {
	const char *event;             /* NULL = any event */
	enum calendar_unit unit;
	enum calendar_week_start ws;
	const char *from, *to, *tz, *format;
};

static bool parse_get(struct http_req *req, struct lc_req *r, struct app_err *err)
{
	static const char *const allowed[] = { "period", "event", "week_start", "from", "to", "tz",
					       "format", NULL };
	const char *unknown = http_query_unknown(req, allowed);

	if (unknown)
		return err_set(err, 400, "validation_failed", unknown, "unknown parameter %s", unknown);
	r->event = retention_param_event(http_query(req, "event"));
	r->from = http_query(req, "from");
	r->to = http_query(req, "to");
	r->tz = http_query(req, "tz");
	r->format = http_query(req, "format");
	return retention_param_unit(http_query(req, "period"), "period", CALENDAR_DAY, &r->unit,
				    err) &&
	       retention_param_week_start(http_query(req, "week_start"), &r->ws, err);
}

/* Model input: one activity per (person, period); a person active before
 * the calendar gets a first activity just before it. */
static bool compute(struct http_req *req, const struct lc_req *r, struct db *db,
		    const struct query_range *qr, struct calendar *cal,
		    struct lifecycle_result *res, const char **source, struct app_err *err)
{
	const char *sel[1] = { r->event };
	struct db_act act = { 0 };
	struct db_act_pairs pairs = { 0 };
	int64_t *bounds = NULL, *first = NULL;
	int32_t nb = 0, first_p;
	bool ok = false;

	if (!db_calendar_build(db, qr->tz, qr->from_us, qr->to_us, r->unit, r->ws, 1, 0, 0, cal,
			     &first_p, err))
		return false;
	if (!(bounds = db_calendar_bounds(cal, r->unit, &nb))) {
		err_set(err, 500, "internal", NULL, "cannot build the local calendar");
		goto out;
	}
	{
		struct db_act_spec spec = { .project_id = req->project_id, .bounds = bounds,
					    .n_buckets = nb, .sel = sel, .n_sel = 1,
					    .need_prior = true, .store = req->app->store };
		if (!db_act_fetch(db, &spec, &act, err))
			goto out;
		*source = act.source;
	}
	if (!db_act_pairs_build(&act, bounds, 1u, &pairs) ||
	    !(first = malloc((act.n_persons + 1) * sizeof(*first)))) {
		err_set(err, 500, "internal", NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < act.n_persons; i++)
		first[i] = act.flags[i] & DB_ACT_PRIOR(0) ? bounds[0] - 1 : INT64_MAX;
	{
		struct lifecycle_params prm = { .unit = r->unit, .first_period = first_p };
		struct lifecycle_events ev = { .n_persons = pairs.n_persons,
					       .person_off = pairs.person_off, .ts = pairs.ts,
					       .first_seen_us = first };
		if (!lifecycle_compute(cal, &prm, &ev, res)) {
			err_set(err, 500, "internal", NULL, "lifecycle model failed");
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

static json_t *render_json(const struct lc_req *r, const struct query_range *qr,
			   const struct calendar *cal, const struct lifecycle_result *res,
			   const char *source)
{
	static const char *const units[] = { "day", "week", "month" };
	json_t *rows = json_array();
	char from[64], to[64], label[16];

	for (int32_t i = 0; i < res->n_periods; i++) {
		retention_period_label(cal, r->unit, res->first_period + i, label);
		json_array_append_new(
			rows, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "start", label, "new",
					(json_int_t)res->n_new[i], "returning",
					(json_int_t)res->n_returning[i], "resurrecting",
					(json_int_t)res->n_resurrecting[i], "dormant",
					(json_int_t)res->n_dormant[i], "active",
					(json_int_t)(res->n_new[i] + res->n_returning[i] +
						     res->n_resurrecting[i])));
	}
	query_format_time(qr->from_us, from);
	query_format_time(qr->to_us, to);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "period", units[r->unit],
			 "event", r->event ? r->event : "$any", "week_start",
			 r->ws == CALENDAR_WEEK_SUNDAY ? "sunday" : "monday", "from", from, "to", to,
			 "tz", qr->tz, "source", source, "periods", rows);
}

static void render_csv(const struct lc_req *r, const struct calendar *cal,
		       const struct lifecycle_result *res, struct http_resp *resp)
{
	char *buf = NULL, label[16];
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	if (!out)
		return;
	fputs("period_start,new,returning,resurrecting,dormant\n", out);
	for (int32_t i = 0; i < res->n_periods; i++) {
		retention_period_label(cal, r->unit, res->first_period + i, label);
		fprintf(out, "%s,%lld,%lld,%lld,%lld\n", label, (long long)res->n_new[i],
			(long long)res->n_returning[i], (long long)res->n_resurrecting[i],
			(long long)res->n_dormant[i]);
	}
	fclose(out);
	resp->text = buf;
	resp->text_len = len;
	resp->content_type = "text/csv; charset=utf-8";
}

void h_lifecycle_get(struct http_req *req, struct http_resp *resp)
{
	struct lc_req r = { 0 };
	struct app_err err = { 0 };
	struct query_range qr;
	struct calendar cal = { 0 };
	struct lifecycle_result res = { 0 };
	struct db *db = NULL;
	const char *source = "postgres";
	bool ok;

	ok = parse_get(req, &r, &err) && (db = db_acquire(req->app->read_pool, 2000, &err)) &&
	     query_range_resolve(db, req->project_id, r.from, r.to, r.tz, r.format, 30,
				 req->received_us, &qr, &err) &&
	     compute(req, &r, db, &qr, &cal, &res, &source, &err);
	if (db)
		db_release(req->app->read_pool, db);
	if (!ok)
		http_resp_error(resp, &err);
	else if (qr.csv)
		render_csv(&r, &cal, &res, resp);
	else
		resp->json = render_json(&r, &qr, &cal, &res, source);
	lifecycle_result_free(&res);
	calendar_cleanup(&cal);
}
