/*
 * segments.c - see segments.h.
 *
 * Stored or live: a stored generation answers when every parameter the
 * request resolves to (as_of, lookback, split, the AARRR window, the AIPL
 * start, the zone and the RFM axis) equals what the run recorded in its
 * params; unspecified parameters take the stored run's as_of as their base.
 * Anything else is computed live from PostgreSQL with the same code the run
 * uses, so the two agree (tests/integration/t_segments.sh checks it).
 */
#include "handlers/segments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers/scores.h"
#include "model/calendar.h"
#include "server/app.h"
#include "server/db.h"
#include "server/db_scores.h"
#include "server/scoring.h"

static const char *const kinds[] = { "rfm", "lifecycle", "pyramid", "aarrr", "aipl", NULL };

struct seg_params {
	const char *kind;
	const char *key;      /* summary key: rfm11, rfm8, lifecycle, ... */
	const char *scheme;   /* rfm only */
	bool fresh;
	bool set_as_of, set_lookback, set_split, set_from, set_to;
	int32_t as_of, lookback, from, to;
	enum rfm8_split split;
};

static bool known_kind(const char *k)
{
	for (const char *const *p = kinds; *p; p++)
		if (strcmp(*p, k) == 0)
			return true;
	return false;
}

static bool unknown_kind(const char *k, struct app_err *err)
{
	return err_set(err, 404, "not_found", NULL,
		       "unknown segment kind '%.64s'; one of rfm, lifecycle, pyramid, aarrr, aipl", k);
}

/* Strict YYYY-MM-DD (a real calendar date) to a day number. */
static bool parse_date(const char *s, const char *field, int32_t *day, struct app_err *err)
{
	int y, m, d, y2, m2, d2;

	if (strlen(s) != 10 || strspn(s, "0123456789") != 4 || s[4] != '-' ||
	    strspn(s + 5, "0123456789") != 2 || s[7] != '-' || strspn(s + 8, "0123456789") != 2)
		return err_set(err, 400, "validation_failed", field,
			       "%s must be a date YYYY-MM-DD, got '%.32s'", field, s);
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	*day = calendar_days_from_civil(y, m, d);
	calendar_civil_from_days(*day, &y2, &m2, &d2);
	if (y < 1970 || m < 1 || m > 12 || y2 != y || m2 != m || d2 != d)
		return err_set(err, 400, "validation_failed", field, "%s: '%.32s' is not a valid date",
			       field, s);
	return true;
}

static bool parse_lookback(const char *s, int32_t *days, struct app_err *err)
{
	size_t n = strspn(s, "0123456789");
	long v = strtol(s, NULL, 10);

	if (n == 0 || n > 5 || s[0] == '0' || strcmp(s + n, "d") != 0 || v < 1 || v > 36500)
		return err_set(err, 400, "validation_failed", "lookback",
			       "lookback must be a number of days from 1d to 36500d, e.g. 365d");
	*days = (int32_t)v;
	return true;
}

static bool parse_bool(const char *s, const char *field, bool *out, struct app_err *err)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*out = true;
	else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*out = false;
	else
		return err_set(err, 400, "validation_failed", field, "%s must be true or false", field);
	return true;
}

/* scheme (rfm only): rfm11 by default. */
static bool parse_scheme(const struct http_req *req, const char *kind, const char **scheme,
			 struct app_err *err)
{
	const char *s = http_query(req, "scheme");

	*scheme = "rfm11";
	if (!s)
		return true;
	if (strcmp(s, "rfm11") != 0 && strcmp(s, "rfm8") != 0)
		return err_set(err, 400, "validation_failed", "scheme", "scheme must be rfm11 or rfm8");
	(void)kind;
	*scheme = strcmp(s, "rfm8") == 0 ? "rfm8" : "rfm11";
	return true;
}

static bool parse_seg_params(const struct http_req *req, const char *kind, struct seg_params *sp,
			     struct app_err *err)
{
	static const char *const a_rfm[] = { "scheme", "split", "as_of", "lookback", "fresh", NULL };
	static const char *const a_plain[] = { "as_of", "lookback", "fresh", NULL };
	static const char *const a_aarrr[] = { "as_of", "lookback", "from", "to", "fresh", NULL };
	static const char *const a_aipl[] = { "as_of", "lookback", "from", "fresh", NULL };
	const char *v;

	memset(sp, 0, sizeof(*sp));
	sp->kind = kind;
	sp->key = kind;
	if (!scores_check_params(req, strcmp(kind, "rfm") == 0 ? a_rfm
				      : strcmp(kind, "aarrr") == 0 ? a_aarrr
				      : strcmp(kind, "aipl") == 0 ? a_aipl : a_plain, err))
		return false;
	if (strcmp(kind, "rfm") == 0) {
		if (!parse_scheme(req, kind, &sp->scheme, err))
			return false;
		sp->key = sp->scheme;
	}
	if ((v = http_query(req, "split"))) {
		if (strcmp(sp->key, "rfm8") != 0)
			return err_set(err, 400, "validation_failed", "split",
				       "split applies to scheme=rfm8 only");
		if (strcmp(v, "mean") != 0 && strcmp(v, "median") != 0)
			return err_set(err, 400, "validation_failed", "split",
				       "split must be mean or median");
		sp->set_split = true;
		sp->split = strcmp(v, "median") == 0 ? RFM8_SPLIT_MEDIAN : RFM8_SPLIT_MEAN;
	}
	if ((v = http_query(req, "fresh")) && !parse_bool(v, "fresh", &sp->fresh, err))
		return false;
	if ((v = http_query(req, "as_of")) && !(sp->set_as_of = parse_date(v, "as_of", &sp->as_of, err)))
		return false;
	if ((v = http_query(req, "lookback")) &&
	    !(sp->set_lookback = parse_lookback(v, &sp->lookback, err)))
		return false;
	if ((v = http_query(req, "from")) && !(sp->set_from = parse_date(v, "from", &sp->from, err)))
		return false;
	if ((v = http_query(req, "to")) && !(sp->set_to = parse_date(v, "to", &sp->to, err)))
		return false;
	return true;
}

/* Resolve the request on a base as-of day (explicit as_of wins). */
static bool resolve(const struct score_config *cfg, int64_t project_id, int32_t base,
		    const struct seg_params *sp, struct score_params *p, struct app_err *err)
{
	scoring_default_params(cfg, project_id, sp->set_as_of ? sp->as_of : base, p);
	if (sp->set_lookback)
		p->lookback_days = sp->lookback;
	if (sp->set_split)
		p->split = sp->split;
	if (strcmp(sp->kind, "aarrr") == 0) {
		if (sp->set_from)
			p->aarrr_from = sp->from;
		if (sp->set_to)
			p->aarrr_to = sp->to;
		if (p->aarrr_from >= p->aarrr_to)
			return err_set(err, 400, "validation_failed", sp->set_to ? "to" : "from",
				       "the window [from, to) is empty: from must be before to");
	}
	if (strcmp(sp->kind, "aipl") == 0 && sp->set_from) {
		p->aipl_from = sp->from;
		if (p->aipl_from >= p->as_of_day)
			return err_set(err, 400, "validation_failed", "from",
				       "from must be before as_of");
	}
	return true;
}

/* Same parameters and settings as the stored run recorded? Both sides come
 * from scoring_params_json, so JSON equality is the test. */
static bool same_params(const struct score_config *cfg, const struct score_params *req,
			const char *stored)
{
	json_t *theirs = json_loads(stored, 0, NULL), *mine = scoring_params_json(cfg, req);
	bool same = theirs && mine && json_equal(theirs, mine);

	json_decref(theirs);
	json_decref(mine);
	return same;
}

static json_t *now_iso(void)
{
	char buf[40];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* The stored answer, or NULL when it does not fit the request. */
static json_t *from_stored(struct db *db, const struct score_config *cfg, int64_t project_id,
			   const struct seg_params *sp, struct app_err *err, bool *failed)
{
	struct sc_stored st;
	struct score_params p;
	bool found = false;
	json_t *o = NULL;

	*failed = !db_scores_stored(db, project_id, sp->key, &st, &found, err);
	if (*failed || !found)
		return NULL;
	if (st.summary && resolve(cfg, project_id, st.as_of_day, sp, &p, err) &&
	    same_params(cfg, &p, st.params) && (o = json_loads(st.summary, 0, NULL))) {
		json_object_set_new(o, "source", json_string("stored"));
		json_object_set_new(o, "run_id", json_integer(st.run_id));
		json_object_set_new(o, "computed_at", json_string(st.computed_at));
		json_object_set_new(o, "params", json_loads(st.params, 0, NULL));
	}
	*failed = err->status != 0;
	db_scores_stored_free(&st);
	return o;
}

static json_t *live(struct db *db, const struct score_config *cfg, int64_t project_id,
		    const struct seg_params *sp, struct app_err *err)
{
	struct score_params p;
	struct score_result r;
	int32_t today = 0;
	json_t *o;

	if (!sp->set_as_of && !db_scores_today(db, cfg->tz, &today, err))
		return NULL;
	if (!resolve(cfg, project_id, today, sp, &p, err) ||
	    !scoring_compute(db, NULL, cfg, &p, false, &r, err))
		return NULL;
	o = scoring_kind_json(cfg, &p, &r, sp->key);
	scoring_result_free(&r);
	if (!o) {
		err_set(err, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	json_object_set_new(o, "source", json_string("live"));
	json_object_set_new(o, "run_id", json_null());
	json_object_set_new(o, "computed_at", now_iso());
	json_object_set_new(o, "params", scoring_params_json(cfg, &p));
	return o;
}

void h_segments_get(struct http_req *req, struct http_resp *resp)
{
	struct app_err err = { 0 };
	struct score_config cfg;
	struct seg_params sp;
	struct db *db = NULL;
	json_t *o = NULL;
	bool cfg_ok = false, failed = false;

	if (!known_kind(req->params[0])) {
		unknown_kind(req->params[0], &err);
		goto out;
	}
	if (!parse_seg_params(req, req->params[0], &sp, &err) ||
	    !(db = db_acquire(req->app->read_pool, 2000, &err)) ||
	    !(cfg_ok = scoring_config_load(db, req->project_id, &cfg, &err)))
		goto out;
	if (!sp.fresh)
		o = from_stored(db, &cfg, req->project_id, &sp, &err, &failed);
	if (!o && !failed)
		o = live(db, &cfg, req->project_id, &sp, &err);
out:
	if (db)
		db_release(req->app->read_pool, db);
	if (cfg_ok)
		scoring_config_free(&cfg);
	if (o)
		resp->json = o;
	else
		http_resp_error(resp, &err);
}

/* ---- member lists -------------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void segments_cursor_encode(int64_t run_id, int64_t person_id, char *out, size_t cap)
{
	char raw[64];
	size_t n = (size_t)snprintf(raw, sizeof(raw), "s1.%lld.%lld", (long long)run_id,
				    (long long)person_id), o = 0;

	for (size_t i = 0; i < n && o + 5 < cap; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)raw[i] << 16;
		size_t k = n - i < 3 ? n - i : 3;
		if (k > 1)
			v |= (uint32_t)(unsigned char)raw[i + 1] << 8;
		if (k > 2)
			v |= (unsigned char)raw[i + 2];
		for (size_t j = 0; j <= k; j++)
			out[o++] = b64[(v >> (18 - 6 * j)) & 63];
	}
	out[o] = '\0';
}

bool segments_cursor_decode(const char *s, int64_t *run_id, int64_t *person_id)
{
	char raw[64], tail;
	size_t n = strlen(s), o = 0;
	long long r, p;

	if (n == 0 || n > 80 || n % 4 == 1)
		return false;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		size_t k = n - i < 4 ? n - i : 4;
		for (size_t j = 0; j < 4; j++) {
			const char *c = j < k ? strchr(b64, s[i + j]) : b64;
			if (!c || !*c)
				return false;
			v = v << 6 | (uint32_t)(c - b64);
		}
		for (size_t j = 0; j + 1 < k && o + 1 < sizeof(raw); j++)
			raw[o++] = (char)(v >> (16 - 8 * j));
	}
	raw[o] = '\0';
	if (sscanf(raw, "s1.%lld.%lld%c", &r, &p, &tail) != 2 || r <= 0 || p < 0)
		return false;
	*run_id = r;
	*person_id = p;
	return true;
}

struct list_req {
	const char *scheme;
	int limit;
	bool csv, has_cursor;
	int64_t run_id, after;
};

static bool parse_list(const struct http_req *req, const char *kind, struct list_req *l,
		       struct app_err *err)
{
	static const char *const a_rfm[] = { "scheme", "limit", "cursor", "format", NULL };
	static const char *const a_other[] = { "limit", "cursor", "format", NULL };
	const char *v;

	memset(l, 0, sizeof(*l));
	l->limit = 100;
	l->scheme = "rfm11";
	if (!scores_check_params(req, strcmp(kind, "rfm") == 0 ? a_rfm : a_other, err) ||
	    (strcmp(kind, "rfm") == 0 && !parse_scheme(req, kind, &l->scheme, err)))
		return false;
	if ((v = http_query(req, "limit"))) {
		size_t n = strspn(v, "0123456789");
		l->limit = (int)strtol(v, NULL, 10);
		if (n == 0 || n > 4 || v[n] || l->limit < 1 || l->limit > 1000)
			return err_set(err, 400, "validation_failed", "limit",
				       "limit must be an integer from 1 to 1000");
	}
	if ((v = http_query(req, "format"))) {
		if (strcmp(v, "csv") != 0 && strcmp(v, "json") != 0)
			return err_set(err, 400, "validation_failed", "format",
				       "format must be json or csv");
		l->csv = strcmp(v, "csv") == 0;
	}
	if ((v = http_query(req, "cursor"))) {
		if (!segments_cursor_decode(v, &l->run_id, &l->after))
			return err_set(err, 400, "validation_failed", "cursor",
				       "cursor is not one this server issued");
		l->has_cursor = true;
	}
	return true;
}

/* The generation to list: the cursor's, else the current one. */
static bool list_run(struct db *db, int64_t project_id, struct list_req *l, struct app_err *err)
{
	struct sc_stored st;
	bool found = false;

	if (l->has_cursor)
		return true;
	if (!db_scores_stored(db, project_id, "none", &st, &found, err))
		return false;
	l->run_id = st.run_id;
	db_scores_stored_free(&st);
	if (!found)
		return err_set(err, 404, "no_scores", NULL,
			       "no stored scores yet: start a run with POST /v1/scores/run");
	return true;
}

struct cbuf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void cb_put(struct cbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->s, cap))) {
			b->failed = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* One CSV cell (RFC 4180 quoting), then a comma or a line end. */
static void cb_cell(struct cbuf *b, const char *s, bool last)
{
	if (s && s[strcspn(s, ",\"\r\n")]) {
		cb_put(b, "\"", 1);
		for (const char *p = s; *p; p++) {
			if (*p == '"')
				cb_put(b, "\"", 1);
			cb_put(b, p, 1);
		}
		cb_put(b, "\"", 1);
	} else if (s)
		cb_put(b, s, strlen(s));
	cb_put(b, last ? "\r\n" : ",", last ? 2 : 1);
}

/* CSV columns: header and the path of the value in a page entry. */
static const char *const csv_cols[][2] = {
	{ "cursor", NULL },
	{ "person_id", "person_id" },
	{ "distinct_ids", "distinct_ids" },
	{ "rfm11", "scores.rfm.rfm11" },
	{ "rfm8", "scores.rfm.rfm8" },
	{ "rfm_r", "scores.rfm.r" },
	{ "rfm_f", "scores.rfm.f" },
	{ "rfm_m", "scores.rfm.m" },
	{ "recency_days", "scores.rfm.recency_days" },
	{ "frequency", "scores.rfm.frequency" },
	{ "monetary", "scores.rfm.monetary" },
	{ "lifecycle", "scores.lifecycle" },
	{ "value_tier", "scores.value_tier" },
	{ "aipl", "scores.aipl" },
	{ "paid_orders", "scores.paid_orders" },
	{ "ltv_historical", "scores.ltv.historical" },
	{ "first_active", "scores.first_active" },
	{ "last_active", "scores.last_active" },
};

static json_t *at_path(json_t *v, const char *path)
{
	char key[64];

	while (v && *path) {
		size_t n = strcspn(path, ".");
		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		v = json_object_get(v, key);
		path += n + (path[n] == '.');
	}
	return v;
}

/* A JSON value as one CSV cell: scalars as text, null empty, arrays as JSON. */
static void cb_json_cell(struct cbuf *b, json_t *v, bool last)
{
	char buf[64];
	char *dump = NULL;
	const char *s = "";

	if (json_is_string(v))
		s = json_string_value(v);
	else if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v)), s = buf;
	else if (json_is_real(v))
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v)), s = buf;
	else if (json_is_boolean(v))
		s = json_is_true(v) ? "true" : "false";
	else if (v && !json_is_null(v))
		s = dump = json_dumps(v, JSON_COMPACT);
	cb_cell(b, s ? s : "", last);
	free(dump);
}

static char *render_csv(json_t *rows, int64_t run_id, size_t *len)
{
	const size_t nc = sizeof(csv_cols) / sizeof(csv_cols[0]);
	struct cbuf b = { 0 };
	char cursor[128];
	json_t *row;
	size_t i;

	for (size_t c = 0; c < nc; c++)
		cb_cell(&b, csv_cols[c][0], c + 1 == nc);
	json_array_foreach(rows, i, row) {
		segments_cursor_encode(run_id, json_integer_value(json_object_get(row, "person_id")),
				       cursor, sizeof(cursor));
		cb_cell(&b, cursor, false);
		for (size_t c = 1; c < nc; c++)
			cb_json_cell(&b, at_path(row, csv_cols[c][1]), c + 1 == nc);
	}
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	*len = b.len;
	return b.s;
}

/* Fetch one page as a JSON array (decorated); NULL with err. */
static json_t *fetch_page(struct http_req *req, const char *kind, const char *segment,
			  struct list_req *l, struct app_err *err)
{
	struct score_config cfg;
	enum sc_column col;
	struct db *db;
	char value[64], codes[512];
	bool gone = false, ok = false;
	json_t *rows = NULL, *row;
	size_t i;

	if (!(db = db_acquire(req->app->read_pool, 2000, err)))
		return NULL;
	if (!scoring_config_load(db, req->project_id, &cfg, err))
		goto out;
	if (!scoring_segment_lookup(&cfg, kind, l->scheme, segment, &col, value, sizeof(value))) {
		scoring_segment_codes(&cfg, kind, l->scheme, codes, sizeof(codes));
		err_set(err, 404, "not_found", NULL, "unknown %s segment '%.64s'; one of %s",
			strcmp(kind, "rfm") == 0 ? l->scheme : kind, segment, codes);
	} else
		ok = list_run(db, req->project_id, l, err) &&
		     db_scores_page(db, req->project_id, l->run_id, col, value, l->after, l->limit,
				    &rows, &gone, err);
	scoring_config_free(&cfg);
out:
	db_release(req->app->read_pool, db);
	if (ok && gone) {
		json_decref(rows);
		rows = NULL;
		err_set(err, 410, "cursor_expired", "cursor",
			"the scores this cursor lists were replaced twice since; start again without cursor");
	}
	json_array_foreach(rows, i, row)
		scoring_decorate(json_object_get(row, "scores"));
	return rows;
}

void h_segments_persons_get(struct http_req *req, struct http_resp *resp)
{
	const char *kind = req->params[0], *segment = req->params[1];
	struct app_err err = { 0 };
	struct list_req l;
	json_t *rows, *last;
	char cursor[128];

	if (!known_kind(kind)) {
		unknown_kind(kind, &err);
		goto fail;
	}
	if (!parse_list(req, kind, &l, &err) || !(rows = fetch_page(req, kind, segment, &l, &err)))
		goto fail;
	if (l.csv) {
		resp->text = render_csv(rows, l.run_id, &resp->text_len);
		resp->content_type = "text/csv; charset=utf-8";
		json_decref(rows);
		if (!resp->text) {
			err_set(&err, 500, "internal", NULL, "out of memory");
			goto fail;
		}
		return;
	}
	last = json_array_size(rows) == (size_t)l.limit ? json_array_get(rows, json_array_size(rows) - 1)
							 : NULL;
	if (last)
		segments_cursor_encode(l.run_id, json_integer_value(json_object_get(last, "person_id")),
				       cursor, sizeof(cursor));
	resp->json = json_pack("{s:s, s:s, s:o, s:I, s:o, s:o}", "kind", kind, "segment", segment,
			       "scheme", strcmp(kind, "rfm") == 0 ? json_string(l.scheme) : json_null(),
			       "run_id", (json_int_t)l.run_id, "persons", rows, "next_cursor",
			       last ? json_string(cursor) : json_null());
	return;
fail:
	http_resp_error(resp, &err);
}
