/*
 * channels.c - GET /v1/channels.
 *
 * The whole question is one PostgreSQL statement (server/db_growth.c); this
 * file picks the activation events (parameter, else settings.config
 * "activation_events", else "Activated" as the scoring layer does), folds
 * the long tail into "other" and renders rates and money.
 */
#include "handlers/channels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/query.h"
#include "model/money.h"
#include "server/app.h"
#include "server/db.h"
#include "server/db_activity.h"
#include "server/db_growth.h"
#include "server/db_query.h"
#include "server/store.h"

#define CH_DEFAULT_LIMIT 100
#define CH_MAX_LIMIT 1000

struct ch_req {
	const char *from, *to, *tz, *format, *activation;
	long limit;
};

static bool parse_get(struct http_req *req, struct ch_req *r, struct app_err *err)
{
	static const char *const allowed[] = { "activation_event", "limit", "from", "to", "tz",
					       "format", NULL };
	const char *unknown = http_query_unknown(req, allowed), *s;
	char *end;

	if (unknown)
		return err_set(err, 400, "validation_failed", unknown, "unknown parameter %s", unknown);
	r->from = http_query(req, "from");
	r->to = http_query(req, "to");
	r->tz = http_query(req, "tz");
	r->format = http_query(req, "format");
	r->activation = http_query(req, "activation_event");
	if (r->activation && !*r->activation)
		return err_set(err, 400, "validation_failed", "activation_event",
			       "activation_event must name one or more events (comma-separated)");
	r->limit = CH_DEFAULT_LIMIT;
	if ((s = http_query(req, "limit"))) {
		r->limit = strtol(s, &end, 10);
		if (end == s || *end || r->limit < 1 || r->limit > CH_MAX_LIMIT)
			return err_set(err, 400, "validation_failed", "limit",
				       "limit must be an integer from 1 to %d", CH_MAX_LIMIT);
	}
	return true;
}

/* Activation names as a JSON array: from the parameter (comma-separated),
 * else settings.config.activation_events (string or array), else
 * ["Activated"]. */
static json_t *activation_names(const struct ch_req *r, const char *config)
{
	json_t *out = json_array(), *cfg = NULL, *v, *e;
	size_t i;

	if (r->activation) {
		char *copy = strdup(r->activation), *save = NULL;
		for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
			json_array_append_new(out, json_string(t));
		free(copy);
		return out;
	}
	cfg = json_loads(config ? config : "{}", 0, NULL);
	v = json_object_get(cfg, "activation_events");
	if (json_is_string(v))
		json_array_append(out, v);
	json_array_foreach(json_is_array(v) ? v : NULL, i, e)
		if (json_is_string(e))
			json_array_append(out, e);
	if (json_array_size(out) == 0)
		json_array_append_new(out, json_string("Activated"));
	json_decref(cfg);
	return out;
}

/* ["a","b"] -> {"a","b"} (PostgreSQL text[] literal, quotes escaped). */
static char *text_array(const json_t *names)
{
	size_t cap = 3, i, n = 0;
	json_t *e;
	char *out;

	json_array_foreach(names, i, e)
		cap += 2 * json_string_length(e) + 3;
	if (!(out = malloc(cap)))
		return NULL;
	out[n++] = '{';
	json_array_foreach(names, i, e) {
		if (i)
			out[n++] = ',';
		out[n++] = '"';
		for (const char *p = json_string_value(e); *p; p++) {
			if (*p == '"' || *p == '\\')
				out[n++] = '\\';
			out[n++] = *p;
		}
		out[n++] = '"';
	}
	out[n++] = '}';
	out[n] = '\0';
	return out;
}

static void add_into(struct db_channel *to, const struct db_channel *c)
{
	to->reached += c->reached;
	to->activated += c->activated;
	to->paying += c->paying;
	to->paid_orders += c->paid_orders;
	to->missing_fx += c->missing_fx;
	to->revenue_minor += c->revenue_minor;
}

static json_t *money_text(int64_t minor, int exponent)
{
	char buf[48];
	return exponent >= 0 && money_format(minor, exponent, buf, sizeof(buf)) ? json_string(buf)
										   : json_null();
}

static json_t *channel_json(const struct db_channel *c, int exponent, bool named)
{
	json_t *o = json_pack("{s:I, s:I, s:o, s:I, s:o, s:I, s:I, s:I, s:o, s:o}", "reached",
			      (json_int_t)c->reached, "activated", (json_int_t)c->activated,
			      "activation_rate", query_ratio((double)c->activated, (double)c->reached),
			      "paying", (json_int_t)c->paying, "paying_rate",
			      query_ratio((double)c->paying, (double)c->reached), "paid_orders",
			      (json_int_t)c->paid_orders, "orders_without_fx_rate",
			      (json_int_t)c->missing_fx, "revenue_minor", (json_int_t)c->revenue_minor,
			      "revenue", money_text(c->revenue_minor, exponent),
			      "revenue_per_person_minor",
			      query_ratio((double)c->revenue_minor, (double)c->reached));
	if (o && named) {
		json_object_set_new(o, "source", json_string(c->source));
		json_object_set_new(o, "medium", c->medium[0] ? json_string(c->medium) : json_null());
	}
	return o;
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

static void csv_row(FILE *out, const char *source, const char *medium, const struct db_channel *c,
		    int exponent)
{
	char money[48] = "";

	if (exponent >= 0 && !money_format(c->revenue_minor, exponent, money, sizeof(money)))
		money[0] = '\0';
	csv_field(out, source);
	fputc(',', out);
	csv_field(out, medium);
	fprintf(out, ",%lld,%lld,%lld,%lld,%lld,%lld,%s\n", (long long)c->reached,
		(long long)c->activated, (long long)c->paying, (long long)c->paid_orders,
		(long long)c->missing_fx, (long long)c->revenue_minor, money);
}

static void render_csv(const struct db_channel *rows, size_t n, size_t shown,
		       const struct db_channel *other, int exponent, struct http_resp *resp)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	if (!out)
		return;
	fputs("source,medium,reached,activated,paying,paid_orders,orders_without_fx_rate,"
	      "revenue_minor,revenue\n", out);
	for (size_t i = 0; i < shown; i++)
		csv_row(out, rows[i].source, rows[i].medium, &rows[i], exponent);
	if (n > shown)
		csv_row(out, "(other)", "", other, exponent);
	fclose(out);
	resp->text = buf;
	resp->text_len = len;
	resp->content_type = "text/csv; charset=utf-8";
}

static json_t *render_json(const struct query_range *qr, json_t *names, const char *currency,
			   int exponent, const struct db_channel *rows, size_t n, size_t shown,
			   const struct db_channel *other, const struct db_channel *total)
{
	json_t *arr = json_array();
	char from[64], to[64];

	for (size_t i = 0; i < shown; i++)
		json_array_append_new(arr, channel_json(&rows[i], exponent, true));
	query_format_time(qr->from_us, from);
	query_format_time(qr->to_us, to);
	return json_pack("{s:s, s:s, s:s, s:O, s:s, s:i, s:I, s:o, s:o, s:o}", "from", from, "to", to,
			 "tz", qr->tz, "activation_events", names, "currency", currency,
			 "currency_exponent", exponent, "n_channels", (json_int_t)n, "totals",
			 channel_json(total, exponent, false), "channels", arr, "other",
			 n > shown ? channel_json(other, exponent, false) : json_null());
}

/*
 * With the in-memory store ready, the persons first seen in [from, to) are
 * those with an event in the range and none before it: one pass over the
 * store's columns (db_act_fetch, as retention's cohorts) instead of
 * PostgreSQL grouping every event before `to` by person. PostgreSQL then
 * reads only their first events' context (db_growth.c). Without the store
 * spec->members stays NULL and PostgreSQL does it all.
 */
static bool first_seen_members(struct http_req *req, struct db *db, struct db_channel_spec *spec,
			       int64_t **members, const char **source, struct app_err *err)
{
	static const char *const any[1] = { "$any" };
	int64_t bounds[2] = { spec->from_us, spec->to_us };
	struct db_act_spec as = { .project_id = spec->project_id, .bounds = bounds, .n_buckets = 1,
				  .sel = any, .n_sel = 1, .need_prior = true,
				  .store = req->app->store };
	struct db_act act;
	size_t k = 0;

	if (!req->app->store || !store_ready(req->app->store))
		return true;
	if (!db_act_fetch(db, &as, &act, err))
		return false;
	if (!(*members = malloc((act.n_persons + 1) * sizeof(**members)))) {
		db_act_free(&act);
		return err_set(err, 500, "internal", NULL, "out of memory");
	}
	for (size_t i = 0; i < act.n_persons; i++)
		if ((db_act_row(&act, i, 0)[0] & 1) && !(act.flags[i] & DB_ACT_PRIOR(0)))
			(*members)[k++] = act.person_id[i];
	*source = act.source;
	db_act_free(&act);
	spec->members = *members;
	spec->n_members = k;
	return true;
}

void h_channels_get(struct http_req *req, struct http_resp *resp)
{
	struct ch_req r = { 0 };
	struct app_err err = { 0 };
	struct query_range qr;
	struct db_settings st = { 0 };
	struct db_channel *rows = NULL, other = { 0 }, total = { 0 };
	size_t n = 0, shown;
	struct db *db = NULL;
	json_t *names = NULL;
	char *lit = NULL;
	int64_t *members = NULL;
	const char *source = "postgres";
	int exponent;
	bool ok;

	ok = parse_get(req, &r, &err) && (db = db_acquire(req->app->read_pool, 2000, &err)) &&
	     query_range_resolve(db, req->project_id, r.from, r.to, r.tz, r.format, 30,
				 req->received_us, &qr, &err) &&
	     db_settings_get(db, req->project_id, &st, &err);
	if (ok && (!(names = activation_names(&r, st.config)) || !(lit = text_array(names))))
		ok = err_set(&err, 500, "internal", NULL, "out of memory");
	if (ok) {
		struct db_channel_spec spec = { .project_id = req->project_id, .from_us = qr.from_us,
						.to_us = qr.to_us, .activation = lit,
						.currency = st.currency };
		ok = first_seen_members(req, db, &spec, &members, &source, &err) &&
		     db_channels(db, &spec, &rows, &n, &err);
	}
	if (db)
		db_release(req->app->read_pool, db);
	if (!ok) {
		http_resp_error(resp, &err);
		goto out;
	}
	shown = n < (size_t)r.limit ? n : (size_t)r.limit;
	for (size_t i = 0; i < n; i++) {
		add_into(&total, &rows[i]);
		if (i >= shown)
			add_into(&other, &rows[i]);
	}
	exponent = money_exponent(st.currency);
	if (qr.csv)
		render_csv(rows, n, shown, &other, exponent, resp);
	else
		resp->json = render_json(&qr, names, st.currency, exponent, rows, n, shown, &other,
					 &total);
	if (resp->json)
		json_object_set_new(resp->json, "source", json_string(source));
out:
	json_decref(names);
	free(members);
	free(lit);
	free(rows);
	db_settings_cleanup(&st);
}
