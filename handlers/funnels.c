/*
 * funnels.c - GET and POST /v1/funnels.
 *
 * Both forms fill one `struct funnel_req`; the events are streamed from
 * PostgreSQL already grouped by stitched person (db_events.h) with a bit per
 * matching step, and model/funnel.c does the counting. The breakdown keeps
 * the 10 most frequent values among step-1 events; the rest is "other".
 * Semantics: docs/semantics-analytics.md.
 */
#include "handlers/funnels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/ingest.h"
#include "handlers/query.h"
#include "model/funnel.h"
#include "server/app.h"
#include "server/db.h"
#include "server/db_events.h"

#define FUNNEL_TOP_VALUES 10
#define FUNNEL_MAX_FILTERS 16

struct funnel_req {
	struct db_event_step steps[FUNNEL_MAX_STEPS];
	struct db_filter step_filters[FUNNEL_MAX_STEPS][FUNNEL_MAX_FILTERS];
	int64_t step_window[FUNNEL_MAX_STEPS];
	bool has_step_window;
	int n_steps;
	struct db_event_step excl[FUNNEL_MAX_EXCLUSIONS];
	struct db_filter excl_filters[FUNNEL_MAX_EXCLUSIONS][FUNNEL_MAX_FILTERS];
	struct funnel_exclusion excl_range[FUNNEL_MAX_EXCLUSIONS];
	int n_excl;
	struct db_filter global[FUNNEL_MAX_FILTERS];
	int n_global;
	enum funnel_order order;
	enum funnel_exclusion_mode excl_mode;
	int64_t window_us;
	const char *breakdown;
	const char *from, *to, *tz, *format;
	char *names_buf;            /* GET: the split copy of steps= */
	struct query_pool pool;     /* filter values converted from JSON */
};

static bool parse_order(const char *s, enum funnel_order *o)
{
	if (!s || strcmp(s, "ordered") == 0)
		*o = FUNNEL_ORDERED;
	else if (strcmp(s, "strict") == 0)
		*o = FUNNEL_STRICT;
	else if (strcmp(s, "unordered") == 0)
		*o = FUNNEL_UNORDERED;
	else
		return false;
	return true;
}

static bool parse_window(const char *s, const char *field, int64_t *us, struct app_err *err)
{
	if (!s) {
		*us = 14 * FUNNEL_DAY_US; /* PostHog's default conversion window */
		return true;
	}
	if (!query_duration(s, us) || *us <= 0)
		return err_set(err, 400, "validation_failed", field,
			       "%s must be a positive duration such as 7d, 12h or 30m", field);
	return true;
}

/* GET /v1/funnels?steps=a,b,c&window=7d&mode=ordered&breakdown=properties.x */
static bool parse_get(struct http_req *req, struct funnel_req *f, struct app_err *err)
{
	static const char *const allowed[] = { "steps", "window", "mode", "breakdown", "from", "to",
						"tz", "format", NULL };
	const char *unknown = http_query_unknown(req, allowed), *steps = http_query(req, "steps");
	char *save = NULL, *tok;

	if (unknown)
		return err_set(err, 400, "validation_failed", unknown, "unknown parameter %s", unknown);
	if (!steps || !*steps)
		return err_set(err, 400, "validation_failed", "steps",
			       "steps is required: comma-separated event names");
	f->names_buf = strdup(steps);
	if (!f->names_buf)
		return err_set(err, 500, "internal", NULL, "out of memory");
	for (tok = strtok_r(f->names_buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (f->n_steps == FUNNEL_MAX_STEPS)
			return err_set(err, 400, "validation_failed", "steps",
				       "at most %d steps", FUNNEL_MAX_STEPS);
		f->steps[f->n_steps++].event = tok;
	}
	if (f->n_steps == 0)
		return err_set(err, 400, "validation_failed", "steps", "steps is empty");
	if (!parse_order(http_query(req, "mode"), &f->order))
		return err_set(err, 400, "validation_failed", "mode",
			       "mode must be ordered, strict or unordered");
	f->breakdown = http_query(req, "breakdown");
	f->from = http_query(req, "from");
	f->to = http_query(req, "to");
	f->tz = http_query(req, "tz");
	f->format = http_query(req, "format");
	return parse_window(http_query(req, "window"), "window", &f->window_us, err);
}

static bool parse_filters(json_t *arr, const char *path, struct db_filter *out, int *n,
			  struct query_pool *pool, struct app_err *err)
{
	size_t i;
	json_t *it;
	char field[96];

	if (!arr)
		return true;
	if (!json_is_array(arr) || json_array_size(arr) > FUNNEL_MAX_FILTERS)
		return err_set(err, 400, "validation_failed", path, "%s must be an array of at most %d filters",
			       path, FUNNEL_MAX_FILTERS);
	json_array_foreach(arr, i, it) {
		const char *prop = NULL, *op = NULL;
		json_t *val = NULL;
		snprintf(field, sizeof(field), "%s[%zu]", path, i);
		if (json_unpack(it, "{s:s, s:s, s?o}", "property", &prop, "op", &op, "value", &val) != 0)
			return err_set(err, 400, "validation_failed", field,
				       "a filter is {\"property\", \"op\", \"value\"}");
		if (!db_filter_path_valid(prop))
			return err_set(err, 400, "validation_failed", field,
				       "property must be properties.<key> or context.<key>");
		if (!db_filter_op_parse(op, &out[*n].op))
			return err_set(err, 400, "validation_failed", field,
				       "op must be eq, neq, in, contains, gt, lt or is_set");
		out[*n].path = prop;
		out[*n].value = NULL;
		if (out[*n].op != DB_IS_SET && !query_filter_value(val, out[*n].op, pool, &out[*n].value))
			return err_set(err, 400, "validation_failed", field,
				       "value must be a string or number (an array of strings for in)");
		(*n)++;
	}
	return true;
}

static bool parse_step(json_t *it, const char *field, struct funnel_req *f, struct app_err *err)
{
	int k = f->n_steps;
	const char *event = NULL, *win = NULL;
	json_t *filters = NULL;
	char sub[64];

	if (json_is_string(it))
		event = json_string_value(it);
	else if (json_unpack(it, "{s:s, s?o, s?s}", "event", &event, "filters", &filters, "window",
			     &win) != 0)
		return err_set(err, 400, "validation_failed", field,
			       "a step is an event name or {\"event\", \"filters\", \"window\"}");
	f->steps[k].event = event;
	f->step_window[k] = FUNNEL_NO_LIMIT;
	if (win) {
		snprintf(sub, sizeof(sub), "%s.window", field);
		if (!parse_window(win, sub, &f->step_window[k], err))
			return false;
		f->has_step_window = true;
	}
	snprintf(sub, sizeof(sub), "%s.filters", field);
	if (!parse_filters(filters, sub, f->step_filters[k], &f->steps[k].n_filters, &f->pool, err))
		return false;
	f->steps[k].filters = f->step_filters[k];
	f->n_steps++;
	return true;
}

static bool parse_exclusion(json_t *it, const char *field, struct funnel_req *f,
			    struct app_err *err)
{
	int j = f->n_excl, from = 0, to = -1;
	const char *event = NULL;
	json_t *filters = NULL;
	char sub[64];

	if (json_unpack(it, "{s:s, s?i, s?i, s?o}", "event", &event, "from_step", &from, "to_step",
			&to, "filters", &filters) != 0)
		return err_set(err, 400, "validation_failed", field,
			       "an exclusion is {\"event\", \"from_step\", \"to_step\", \"filters\"}");
	if (to < 0)
		to = f->n_steps - 1;
	if (from < 0 || to >= f->n_steps || from >= to)
		return err_set(err, 400, "validation_failed", field,
			       "need 0 <= from_step < to_step < number of steps (0-based)");
	f->excl[j].event = event;
	f->excl_range[j].from_step = from;
	f->excl_range[j].to_step = to;
	snprintf(sub, sizeof(sub), "%s.filters", field);
	if (!parse_filters(filters, sub, f->excl_filters[j], &f->excl[j].n_filters, &f->pool, err))
		return false;
	f->excl[j].filters = f->excl_filters[j];
	f->n_excl++;
	return true;
}

static bool parse_arrays(json_t *root, struct funnel_req *f, struct app_err *err)
{
	json_t *steps = json_object_get(root, "steps"), *ex = json_object_get(root, "exclusions"), *it;
	size_t i;
	char field[48];

	if (!json_is_array(steps) || json_array_size(steps) == 0)
		return err_set(err, 400, "validation_failed", "steps", "steps must be a non-empty array");
	if (json_array_size(steps) > FUNNEL_MAX_STEPS)
		return err_set(err, 400, "validation_failed", "steps", "at most %d steps", FUNNEL_MAX_STEPS);
	json_array_foreach(steps, i, it) {
		snprintf(field, sizeof(field), "steps[%zu]", i);
		if (!parse_step(it, field, f, err))
			return false;
	}
	if (ex && (!json_is_array(ex) || json_array_size(ex) > FUNNEL_MAX_EXCLUSIONS))
		return err_set(err, 400, "validation_failed", "exclusions",
			       "exclusions must be an array of at most %d", FUNNEL_MAX_EXCLUSIONS);
	json_array_foreach(ex, i, it) {
		snprintf(field, sizeof(field), "exclusions[%zu]", i);
		if (!parse_exclusion(it, field, f, err))
			return false;
	}
	return parse_filters(json_object_get(root, "filters"), "filters", f->global, &f->n_global,
			     &f->pool, err);
}

/* POST /v1/funnels with a JSON definition (docs/api.md). */
static bool parse_post(json_t *root, struct funnel_req *f, struct app_err *err)
{
	const char *mode = NULL, *window = NULL, *emode = NULL;

	if (json_unpack_ex(root, NULL, JSON_STRICT,
			   "{s:o, s?o, s?o, s?s, s?s, s?s, s?s, s?s, s?s, s?s, s?s}",
			   "steps", &(json_t *){ NULL }, "exclusions", &(json_t *){ NULL }, "filters",
			   &(json_t *){ NULL }, "mode", &mode, "window", &window, "breakdown",
			   &f->breakdown, "from", &f->from, "to", &f->to, "tz", &f->tz, "format",
			   &f->format, "exclusion_mode", &emode) != 0)
		return err_set(err, 400, "validation_failed", NULL,
			       "unknown or mistyped field; allowed: steps, exclusions, filters, mode, "
			       "window, breakdown, from, to, tz, format, exclusion_mode");
	if (!parse_order(mode, &f->order))
		return err_set(err, 400, "validation_failed", "mode",
			       "mode must be ordered, strict or unordered");
	if (!emode || strcmp(emode, "drop_person") == 0)
		f->excl_mode = FUNNEL_EXCL_DROP_PERSON;
	else if (strcmp(emode, "keep_prior") == 0)
		f->excl_mode = FUNNEL_EXCL_KEEP_PRIOR;
	else
		return err_set(err, 400, "validation_failed", "exclusion_mode",
			       "exclusion_mode must be drop_person or keep_prior");
	if (!parse_window(window, "window", &f->window_us, err) || !parse_arrays(root, f, err))
		return false;
	if (f->order == FUNNEL_UNORDERED && (f->n_excl || f->has_step_window))
		return err_set(err, 400, "validation_failed", "mode",
			       "unordered funnels take neither exclusions nor per-step windows");
	return true;
}

/* Breakdown ids: top values by step-1 events, then "other", then "none". */
static int32_t *map_breakdowns(const struct db_seq_rows *rows, int32_t *n_out, int32_t **top_out)
{
	int64_t *cnt = calloc((size_t)rows->n_values + 1, sizeof(*cnt));
	int32_t *map = malloc(((size_t)rows->n_values + 1) * sizeof(*map));
	int32_t *top = malloc(FUNNEL_TOP_VALUES * sizeof(*top)), n_top = 0;
	int32_t *ids = malloc((rows->n_events + 1) * sizeof(*ids));

	if (!cnt || !map || !top || !ids)
		goto fail;
	for (size_t e = 0; e < rows->n_events; e++)
		if ((rows->mask[e] & 1u) && rows->value[e] >= 0)
			cnt[rows->value[e]]++;
	for (int32_t v = 0; v < rows->n_values; v++)
		map[v] = -1;
	/* Selection of the top values: tiny k, so repeated scans are cheapest. */
	while (n_top < FUNNEL_TOP_VALUES) {
		int32_t best = -1;
		for (int32_t v = 0; v < rows->n_values; v++)
			if (map[v] < 0 && cnt[v] > 0 &&
			    (best < 0 || cnt[v] > cnt[best] ||
			     (cnt[v] == cnt[best] && strcmp(rows->values[v], rows->values[best]) < 0)))
				best = v;
		if (best < 0)
			break;
		map[best] = n_top;
		top[n_top++] = best;
	}
	for (size_t e = 0; e < rows->n_events; e++) {
		int32_t v = rows->value[e];
		ids[e] = v < 0 ? n_top + 1 : map[v] >= 0 ? map[v] : n_top;
	}
	free(cnt);
	free(map);
	*n_out = n_top + 2;
	*top_out = top;
	return ids;
fail:
	free(cnt);
	free(map);
	free(top);
	free(ids);
	return NULL;
}

static json_t *steps_json(const struct funnel_req *f, const struct funnel_result *res, int32_t b)
{
	json_t *arr = json_array();
	int64_t first = res->cell[(size_t)b * (size_t)res->n_steps].count;

	for (int k = 0; k < res->n_steps; k++) {
		const struct funnel_cell *c = &res->cell[(size_t)b * (size_t)res->n_steps + (size_t)k];
		int64_t prev = k ? res->cell[(size_t)b * (size_t)res->n_steps + (size_t)k - 1].count : c->count;
		json_t *st = json_pack("{s:i, s:s, s:I, s:o, s:o, s:I}", "step", k + 1, "event",
				       f->steps[k].event ? f->steps[k].event : "$any", "count",
				       (json_int_t)c->count, "conversion_from_previous",
				       query_ratio((double)c->count, (double)prev), "conversion_from_start",
				       query_ratio((double)c->count, (double)first), "dropoff",
				       (json_int_t)(prev - c->count));
		json_object_set_new(st, "median_seconds_from_previous", query_real(c->median_from_prev_us / 1e6));
		json_object_set_new(st, "mean_seconds_from_previous", query_real(c->mean_from_prev_us / 1e6));
		json_object_set_new(st, "median_seconds_from_start", query_real(c->median_from_first_us / 1e6));
		json_object_set_new(st, "mean_seconds_from_start", query_real(c->mean_from_first_us / 1e6));
		json_array_append_new(arr, st);
	}
	return arr;
}

static void csv_num(char *buf, size_t cap, double x)
{
	if (x != x)
		buf[0] = '\0';
	else
		snprintf(buf, cap, "%.6g", x);
}

/* One CSV value, quoted when it holds a comma, quote or newline. */
static void csv_field(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void render_csv(const struct funnel_req *f, const struct funnel_result *res,
		       const char *const *labels, struct http_resp *resp)
{
	char *buf = NULL, a[32], b[32], c[32], d[32];
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	if (!out)
		return;
	fputs("breakdown,step,event,count,conversion_from_previous,conversion_from_start,"
	      "median_seconds_from_previous,mean_seconds_from_previous\n", out);
	for (int32_t bi = 0; bi < res->n_breakdowns; bi++) {
		int64_t first = res->cell[(size_t)bi * (size_t)res->n_steps].count;
		if (first == 0 && res->n_breakdowns > 1)
			continue;
		for (int k = 0; k < res->n_steps; k++) {
			const struct funnel_cell *cl = &res->cell[(size_t)bi * (size_t)res->n_steps + (size_t)k];
			int64_t prev = k ? cl[-1].count : cl->count;
			csv_num(a, sizeof(a), prev ? (double)cl->count / (double)prev : 0.0 / 0.0);
			csv_num(b, sizeof(b), first ? (double)cl->count / (double)first : 0.0 / 0.0);
			csv_num(c, sizeof(c), cl->median_from_prev_us / 1e6);
			csv_num(d, sizeof(d), cl->mean_from_prev_us / 1e6);
			csv_field(out, labels ? labels[bi] : "");
			fprintf(out, ",%d,", k + 1);
			csv_field(out, f->steps[k].event ? f->steps[k].event : "$any");
			fprintf(out, ",%lld,%s,%s,%s,%s\n", (long long)cl->count, a, b, c, d);
		}
	}
	fclose(out);
	resp->text = buf;
	resp->text_len = len;
	resp->content_type = "text/csv; charset=utf-8";
}

static json_t *render_json(const struct funnel_req *f, const struct query_range *qr,
			   const struct funnel_result *all, const struct funnel_result *res,
			   const char *const *labels)
{
	static const char *const modes[] = { "ordered", "strict", "unordered" };
	char from[64], to[64];
	json_t *out, *vals;

	query_format_time(qr->from_us, from);
	query_format_time(qr->to_us, to);
	out = json_pack("{s:s, s:f, s:s, s:s, s:s, s:o, s:I, s:s}", "mode", modes[f->order],
			"window_seconds", (double)f->window_us / 1e6, "from", from, "to", to, "tz",
			qr->tz, "steps", steps_json(f, all, 0), "persons_dropped_by_exclusion",
			(json_int_t)all->n_dropped, "source", db_seq_source());
	if (!labels || !res)
		return out;
	vals = json_array();
	for (int32_t b = 0; b < res->n_breakdowns; b++) {
		if (res->cell[(size_t)b * (size_t)res->n_steps].count == 0)
			continue;
		json_array_append_new(vals, json_pack("{s:s?, s:o}", "value", labels[b], "steps",
						      steps_json(f, res, b)));
	}
	json_object_set_new(out, "breakdown", json_pack("{s:s, s:o}", "property", f->breakdown,
							 "values", vals));
	return out;
}

static bool run_model(const struct funnel_req *f, const struct query_range *qr,
		      const struct db_seq_rows *rows, const int32_t *bd, int32_t n_bd,
		      struct funnel_result *res, struct app_err *err)
{
	struct funnel_params prm = {
		.n_steps = f->n_steps, .order = f->order, .from_us = qr->from_us, .to_us = qr->to_us,
		.window_us = f->window_us, .step_window_us = f->has_step_window ? f->step_window : NULL,
		.n_exclusions = f->n_excl, .exclusions = f->excl_range,
		.exclusion_mode = f->excl_mode, .n_breakdowns = bd ? n_bd : 1,
	};
	struct funnel_events ev = {
		.n_persons = rows->n_persons, .person_off = rows->person_off, .ts = rows->ts,
		.step_mask = rows->mask, .excl_mask = rows->excl_mask, .breakdown = bd,
	};

	if (!funnel_run(&prm, &ev, res, NULL, NULL))
		return err_set(err, 400, "validation_failed", NULL, "invalid funnel: %s",
			       res->error ? res->error : "unknown");
	return true;
}

/* Fetch, count, render. Owns nothing of f. */
static void funnel_answer(struct http_req *req, struct funnel_req *f, struct http_resp *resp)
{
	struct app_err err = { 0 };
	struct query_range qr;
	struct db_seq_rows rows = { 0 };
	struct funnel_result all = { 0 }, by = { 0 };
	int32_t *bd = NULL, *top = NULL, n_bd = 0;
	const char *labels[FUNNEL_TOP_VALUES + 2];
	struct db *db = NULL;
	json_t *out;

	if (f->breakdown && !db_filter_path_valid(f->breakdown)) {
		err_set(&err, 400, "validation_failed", "breakdown",
			"breakdown must be properties.<key> or context.<key>");
		goto fail;
	}
	if (!(db = db_acquire(req->app->read_pool, 2000, &err)) ||
	    !query_range_resolve(db, req->project_id, f->from, f->to, f->tz, f->format, 30,
				 req->received_us, &qr, &err))
		goto fail;
	{
		struct db_seq_spec spec = {
			.project_id = req->project_id, .from_us = qr.from_us,
			.until_us = qr.to_us + f->window_us, .steps = f->steps, .n_steps = f->n_steps,
			.excl = f->excl, .n_excl = f->n_excl, .global = f->global,
			.n_global = f->n_global, .breakdown = f->breakdown,
			.all_events = f->order == FUNNEL_STRICT, .store = req->app->store,
		};
		if (!db_seq_fetch(db, &spec, &rows, &err))
			goto fail;
	}
	db_release(req->app->read_pool, db);
	db = NULL;
	if (!run_model(f, &qr, &rows, NULL, 1, &all, &err))
		goto fail;
	if (f->breakdown) {
		if (!(bd = map_breakdowns(&rows, &n_bd, &top))) {
			err_set(&err, 500, "internal", NULL, "out of memory");
			goto fail;
		}
		for (int32_t i = 0; i < n_bd - 2; i++)
			labels[i] = rows.values[top[i]];
		labels[n_bd - 2] = "other";
		labels[n_bd - 1] = NULL; /* events without the property */
		if (!run_model(f, &qr, &rows, bd, n_bd, &by, &err))
			goto fail;
	}
	if (qr.csv)
		render_csv(f, f->breakdown ? &by : &all, f->breakdown ? labels : NULL, resp);
	else if ((out = render_json(f, &qr, &all, f->breakdown ? &by : NULL, labels)))
		resp->json = out;
	goto done;
fail:
	http_resp_error(resp, &err);
done:
	if (db)
		db_release(req->app->read_pool, db);
	funnel_result_free(&all);
	funnel_result_free(&by);
	free(bd);
	free(top);
	db_seq_rows_free(&rows);
}

void h_funnels_get(struct http_req *req, struct http_resp *resp)
{
	struct funnel_req *f = calloc(1, sizeof(*f));
	struct app_err err = { 0 };

	if (!f) {
		err_set(&err, 500, "internal", NULL, "out of memory");
		http_resp_error(resp, &err);
		return;
	}
	if (parse_get(req, f, &err))
		funnel_answer(req, f, resp);
	else
		http_resp_error(resp, &err);
	free(f->names_buf);
	free(f);
}

void h_funnels_post(struct http_req *req, struct http_resp *resp)
{
	struct funnel_req *f = calloc(1, sizeof(*f));
	struct app_err err = { 0 };
	json_t *root = NULL;

	if (!f) {
		err_set(&err, 500, "internal", NULL, "out of memory");
		http_resp_error(resp, &err);
		return;
	}
	if ((root = ingest_parse_body(req, &err)) && parse_post(root, f, &err))
		funnel_answer(req, f, resp);
	else
		http_resp_error(resp, &err);
	query_pool_free(&f->pool);
	free(f);
	json_decref(root);
}
