/*
 * metrics_api.c - GET /v1/metrics.
 *
 * One local calendar of days covers the reported intervals (whole days,
 * weeks or months overlapping [from, to)) plus the 29 days before them, so
 * the first day's MAU sees its whole trailing window. Inputs:
 *  - per stitched person, the days with an activity event and whether there
 *    was one before the calendar (db_act_fetch: store or PostgreSQL);
 *  - per stitched person and reported day, the orders (db_rev_fetch).
 * Then in C: model/activity.c for DAU/WAU/MAU, one pass over persons for
 * active / new per interval, one over order rows for payers and revenue,
 * model/retention.c for d1/d3/d7/d30. A "slot" is one reported interval;
 * slot n_slots is the whole range (the summary).
 */
#include "handlers/metrics_api.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/query.h"
#include "handlers/retention.h"
#include "model/activity.h"
#include "model/money.h"
#include "model/retention.h"
#include "server/app.h"
#include "server/db.h"
#include "server/db_activity.h"
#include "server/db_calendar.h"
#include "server/db_query.h"
#include "server/db_revenue.h"

#define MAU_LEAD_DAYS 29

struct met_req {
	const char *event;             /* NULL = any event */
	enum calendar_unit unit;
	enum calendar_week_start ws;
	const char *from, *to, *tz, *format;
};

struct slot {
	int32_t first_day, last_day;   /* calendar days of the slot */
	int64_t active, new_p, payers, active_payers, repurchasers;
	int64_t orders, missing_fx, gmv, net;
	double dau_sum, stick_sum;
	int32_t days, stick_days;      /* started days; days with MAU > 0 */
	int64_t wau, mau;              /* as of the last started day */
	bool has_state;
};

struct met {
	const struct met_req *r;
	const struct query_range *qr;
	struct calendar cal;
	int32_t lead, n_days, first_p, n_slots;
	int64_t *bounds;               /* n_days + 1 day boundaries */
	int32_t *day_slot;             /* interval of each calendar day, -1 in the lead */
	struct slot *slots;            /* n_slots + 1 */
	struct db_act act;
	struct db_rev rev;
	struct retention_dn dn;
	char currency[8];
	int exponent;
	const char *source;
	int64_t now_us;
};

static bool parse_get(struct http_req *req, struct met_req *r, struct app_err *err)
{
	static const char *const allowed[] = { "interval", "event", "week_start", "from", "to",
					       "tz", "format", NULL };
	const char *unknown = http_query_unknown(req, allowed);

	if (unknown)
		return err_set(err, 400, "validation_failed", unknown, "unknown parameter %s", unknown);
	r->event = retention_param_event(http_query(req, "event"));
	r->from = http_query(req, "from");
	r->to = http_query(req, "to");
	r->tz = http_query(req, "tz");
	r->format = http_query(req, "format");
	return retention_param_unit(http_query(req, "interval"), "interval", CALENDAR_DAY,
				    &r->unit, err) &&
	       retention_param_week_start(http_query(req, "week_start"), &r->ws, err);
}

/* Calendar, day boundaries, the interval of every day and empty slots. */
static bool setup(struct met *m, struct db *db, struct app_err *err)
{
	const struct calendar_periods *per;
	int32_t nb;

	if (!db_calendar_build(db, m->qr->tz, m->qr->from_us, m->qr->to_us, m->r->unit, m->r->ws, 0,
			     0, MAU_LEAD_DAYS, &m->cal, &m->first_p, err))
		return false;
	per = calendar_periods(&m->cal, m->r->unit);
	m->n_days = m->cal.n_days;
	m->lead = per->first_day[m->first_p];
	m->n_slots = per->n - m->first_p;
	m->bounds = db_calendar_bounds(&m->cal, CALENDAR_DAY, &nb);
	m->day_slot = malloc((size_t)m->n_days * sizeof(*m->day_slot));
	m->slots = calloc((size_t)m->n_slots + 1, sizeof(*m->slots));
	if (!m->bounds || !m->day_slot || !m->slots)
		return err_set(err, 500, "internal", NULL, "out of memory");
	for (int32_t d = 0; d < m->n_days; d++)
		m->day_slot[d] = d < m->lead ? -1 : calendar_period_of_day(&m->cal, m->r->unit, d) -
							   m->first_p;
	for (int32_t s = 0; s < m->n_slots; s++) {
		m->slots[s].first_day = per->first_day[m->first_p + s];
		m->slots[s].last_day = per->first_day[m->first_p + s + 1] - 1;
	}
	m->slots[m->n_slots].first_day = m->lead;
	m->slots[m->n_slots].last_day = m->n_days - 1;
	return true;
}

/* DAU mean, stickiness mean and WAU/MAU as of the last started day. */
static void add_state(struct met *m, const struct activity_result *a)
{
	for (int32_t s = 0; s <= m->n_slots; s++) {
		struct slot *sl = &m->slots[s];
		for (int32_t d = sl->first_day; d <= sl->last_day && m->bounds[d] <= m->now_us; d++) {
			int64_t dau = a->count[d], wau = a->count[a->n_days + d],
				mau = a->count[2 * (size_t)a->n_days + d];
			sl->dau_sum += (double)dau;
			sl->days++;
			if (mau > 0) {
				sl->stick_sum += (double)dau / (double)mau;
				sl->stick_days++;
			}
			sl->wau = wau;
			sl->mau = mau;
			sl->has_state = true;
		}
	}
}

/* Active and new persons per slot: walk each person's active days. */
static void add_persons(struct met *m)
{
	const struct db_act *a = &m->act;

	for (size_t i = 0; i < a->n_persons; i++) {
		const uint64_t *row = db_act_row(a, i, 0);
		int32_t first = db_act_first_bucket(a, i, 0), last_slot = -1;
		bool in_range = false;
		if (!(a->flags[i] & DB_ACT_PRIOR(0)) && first >= m->lead) {
			m->slots[m->day_slot[first]].new_p++;
			m->slots[m->n_slots].new_p++;
		}
		for (int w = 0; w < a->n_words; w++)
			for (uint64_t bits = row[w]; bits; bits &= bits - 1) {
				int32_t d = 64 * w + __builtin_ctzll(bits), s = m->day_slot[d];
				if (s < 0 || s == last_slot)
					continue;
				m->slots[s].active++;
				last_slot = s;
				in_range = true;
			}
		m->slots[m->n_slots].active += in_range;
	}
}

/* Any active day of person i (or -1: none) in calendar days [lo, hi]:
 * a word at a time, masked at both ends. */
static bool active_in(const struct db_act *a, int32_t i, int32_t lo, int32_t hi)
{
	const uint64_t *row;

	if (i < 0 || hi < lo)
		return false;
	row = db_act_row(a, (size_t)i, 0);
	for (int32_t w = lo >> 6; w <= hi >> 6; w++) {
		uint64_t m = row[w];
		if (w == lo >> 6)
			m &= ~UINT64_C(0) << (lo & 63);
		if (w == hi >> 6)
			m &= ~UINT64_C(0) >> (63 - (hi & 63));
		if (m)
			return true;
	}
	return false;
}

/* One person's orders in one slot (rows [b, e) of the revenue list). */
static void add_orders_run(struct met *m, int32_t s, int32_t ai, size_t b, size_t e)
{
	struct slot *sl = &m->slots[s];
	int64_t paid = 0;

	for (size_t k = b; k < e; k++) {
		const struct db_rev_row *r = &m->rev.rows[k];
		paid += r->paid_orders;
		sl->missing_fx += r->missing_fx;
		sl->gmv += r->gross_minor;
		sl->net += r->net_minor;
	}
	sl->orders += paid;
	sl->payers += paid >= 1;
	sl->repurchasers += paid >= 2;
	sl->active_payers += paid >= 1 && active_in(&m->act, ai, sl->first_day, sl->last_day);
}

/* Index in the activity rows of each distinct person of the revenue rows
 * (-1: not active). The map is built over the ~10^5 payers and probed by
 * the ~10^6 active persons: a small table stays in cache. */
static int32_t *payer_act_index(const struct met *m, size_t *n_payers)
{
	size_t n = 0;
	int64_t *ids = malloc((m->rev.n + 1) * sizeof(*ids));
	int32_t *ai = NULL;
	struct db_act_map map = { 0 };

	if (!ids)
		return NULL;
	for (size_t i = 0; i < m->rev.n; i++)
		if (i == 0 || m->rev.rows[i].person_id != m->rev.rows[i - 1].person_id)
			ids[n++] = m->rev.rows[i].person_id;
	ai = malloc((n + 1) * sizeof(*ai));
	if (ai && db_act_map_build(&map, &(struct db_act){ .n_persons = n, .person_id = ids })) {
		for (size_t k = 0; k < n; k++)
			ai[k] = -1;
		for (size_t i = 0; i < m->act.n_persons; i++) {
			int32_t k = db_act_map_get(&map, m->act.person_id[i]);
			if (k >= 0)
				ai[k] = (int32_t)i;
		}
		db_act_map_free(&map);
	} else {
		free(ai);
		ai = NULL;
	}
	free(ids);
	*n_payers = n;
	return ai;
}

/* Revenue rows are sorted by (person, day), so a person's rows of one slot
 * are consecutive. */
static bool add_orders(struct met *m)
{
	size_t i = 0, n_payers, g = 0;
	int32_t *ai = payer_act_index(m, &n_payers);

	if (!ai)
		return false;
	while (i < m->rev.n) {
		int64_t p = m->rev.rows[i].person_id;
		size_t start = i;
		while (i < m->rev.n && m->rev.rows[i].person_id == p) {
			int32_t s = m->day_slot[m->lead + m->rev.rows[i].bucket];
			size_t b = i;
			while (i < m->rev.n && m->rev.rows[i].person_id == p &&
			       m->day_slot[m->lead + m->rev.rows[i].bucket] == s)
				i++;
			add_orders_run(m, s, ai[g], b, i);
		}
		add_orders_run(m, m->n_slots, ai[g], start, i);
		g++;
	}
	free(ai);
	return true;
}

/* d1/d3/d7/d30: daily first-time cohorts of the reported days; a cell
 * counts once its day ended before now and inside the calendar. */
static bool day_n(struct met *m, const struct db_act_pairs *pairs)
{
	struct calendar sub = { 0 };
	struct retention_result res = { 0 };
	int64_t *first = malloc((m->act.n_persons + 1) * sizeof(*first));
	uint8_t *role = malloc(pairs->n_pairs + 1);
	int y, mo, d;
	bool ok = false;

	calendar_civil_from_days(m->cal.first_civil + m->lead, &y, &mo, &d);
	if (!first || !role ||
	    !calendar_init(&sub, m->bounds + m->lead, m->n_days - m->lead, y, mo, d, m->r->ws))
		goto out;
	memset(role, RETENTION_START | RETENTION_RETURN, pairs->n_pairs);
	for (size_t i = 0; i < m->act.n_persons; i++) {
		int32_t b = db_act_first_bucket(&m->act, i, 0);
		first[i] = (m->act.flags[i] & DB_ACT_PRIOR(0)) || b < 0 ? RETENTION_NEVER : m->bounds[b];
	}
	{
		struct retention_params prm = { .unit = CALENDAR_DAY, .cohort = RETENTION_FIRST_TIME,
						.mode = RETENTION_N_DAY, .n_cohorts = sub.n_days,
						.n_periods = 31, .now_us = m->now_us };
		struct retention_events ev = { .n_persons = pairs->n_persons,
					       .person_off = pairs->person_off, .ts = pairs->ts,
					       .role = role, .first_start_us = first };
		if (!retention_compute(&sub, &prm, &ev, &res))
			goto out;
	}
	retention_dn(&res, &m->dn);
	ok = true;
out:
	retention_result_free(&res);
	calendar_cleanup(&sub);
	free(first);
	free(role);
	return ok;
}

/* The orders query runs on a second pooled connection while this thread
 * builds the activity bitmaps: PostgreSQL's work and ours overlap. */
struct rev_job {
	struct db_pool *pool;
	int64_t project_id;
	const int64_t *bounds;
	int32_t n;
	const char *currency;
	struct db_rev *out;
	struct app_err err;
	bool ok, acquired;
};

static void *rev_main(void *arg)
{
	struct rev_job *j = arg;
	/* Don't wait for a busy pool: this request already holds a connection
	 * and can run the query on it afterwards. */
	struct db *db = db_acquire(j->pool, 0, &j->err);

	if (db) {
		j->acquired = true;
		j->ok = db_rev_fetch(db, j->project_id, j->bounds, j->n, j->currency, j->out,
				     &j->err);
		db_release(j->pool, db);
	}
	return NULL;
}

/* DAU/WAU/MAU and the active/new counts on another thread while this one
 * does the cohorts and orders (add_persons writes only the slots' active
 * and new_p, which nothing else touches before the answer is built). */
struct dau_job {
	struct met *m;
	const struct db_act_pairs *pairs;
	struct activity_result res;
	bool ok;
};

static void *dau_main(void *arg)
{
	static const int32_t windows[3] = { 1, 7, 30 };
	struct dau_job *j = arg;

	j->ok = activity_compute(&j->m->cal, j->pairs->n_persons, j->pairs->person_off,
				 j->pairs->ts, windows, 3, &j->res);
	add_persons(j->m);
	return NULL;
}

/*
 * Who does what: the orders come from PostgreSQL on a second connection
 * (rev_main; ~10^5 rows cost PostgreSQL more than the store's pass over
 * 10^7 events) while this thread builds the activity bitmaps, the (person,
 * day) pairs and the d1-d30 cohorts, and a third computes DAU/WAU/MAU and
 * the active/new counts; the orders are folded in once they have arrived.
 * Without a spare connection or thread, the same steps run here in turn.
 */
static bool compute(struct http_req *req, struct met *m, struct db *db, struct app_err *err)
{
	const char *sel[1] = { m->r->event };
	struct db_settings st;
	struct db_act_pairs pairs = { 0 };
	struct dau_job dj = { .m = m, .pairs = &pairs };
	struct rev_job rj;
	pthread_t rth, dth;
	bool ok, rev_threaded, dau_threaded = false;

	if (!db_settings_get(db, req->project_id, &st, err))
		return false;
	snprintf(m->currency, sizeof(m->currency), "%s", st.currency);
	db_settings_cleanup(&st);
	m->exponent = money_exponent(m->currency);
	if (!setup(m, db, err))
		return false;
	rj = (struct rev_job){ .pool = req->app->read_pool, .project_id = req->project_id,
			       .bounds = m->bounds + m->lead, .n = m->n_days - m->lead,
			       .currency = m->currency, .out = &m->rev };
	rev_threaded = pthread_create(&rth, NULL, rev_main, &rj) == 0;
	{
		struct db_act_spec spec = { .project_id = req->project_id, .bounds = m->bounds,
					    .n_buckets = m->n_days, .sel = sel, .n_sel = 1,
					    .need_prior = true, .store = req->app->store };
		ok = db_act_fetch(db, &spec, &m->act, err);
	}
	m->source = m->act.source;
	if (ok && !db_act_pairs_build(&m->act, m->bounds, 1u, &pairs))
		ok = err_set(err, 500, "internal", NULL, "out of memory");
	if (ok) {
		dau_threaded = pthread_create(&dth, NULL, dau_main, &dj) == 0;
		if (!day_n(m, &pairs))
			ok = err_set(err, 500, "internal", NULL, "out of memory");
	}
	if (rev_threaded)
		pthread_join(rth, NULL);
	if (ok && !rj.acquired) {
		memset(&rj.err, 0, sizeof(rj.err));
		rj.ok = db_rev_fetch(db, rj.project_id, rj.bounds, rj.n, rj.currency, rj.out, &rj.err);
	}
	if (ok && !rj.ok) {
		*err = rj.err;
		ok = false;
	}
	if (ok && !add_orders(m))
		ok = err_set(err, 500, "internal", NULL, "out of memory");
	if (dau_threaded)
		pthread_join(dth, NULL);
	else if (ok)
		dau_main(&dj);
	if (ok && !dj.ok)
		ok = err_set(err, 500, "internal", NULL, "out of memory");
	if (ok)
		add_state(m, &dj.res);
	activity_result_free(&dj.res);
	db_act_pairs_free(&pairs);
	return ok;
}

/* Money: integer minor units plus the decimal text in the reporting
 * currency; a ratio (AOV, ARPU, ARPPU) keeps its fraction in *_minor and is
 * rounded half away from zero for the text. Undefined ratios are null. */
static void put_money(json_t *o, const char *key, double minor, int exponent)
{
	char k[40], text[48];

	snprintf(k, sizeof(k), "%s_minor", key);
	if (!isfinite(minor)) {
		json_object_set_new(o, k, json_null());
		json_object_set_new(o, key, json_null());
		return;
	}
	json_object_set_new(o, k, minor == floor(minor) ? json_integer((json_int_t)minor)
							: json_real(minor));
	if (exponent < 0 || !money_format((int64_t)llround(minor), exponent, text, sizeof(text)))
		json_object_set_new(o, key, json_null());
	else
		json_object_set_new(o, key, json_string(text));
}

static double ratio(double a, double b)
{
	return b != 0 ? a / b : 0.0 / 0.0;
}

static json_t *slot_json(const struct met *m, const struct slot *s)
{
	int64_t returning = s->active - s->new_p;
	json_t *o = json_pack(
		"{s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:o, s:I, s:o, s:o, s:I, s:I}", "dau",
		s->days ? query_real(s->dau_sum / s->days) : json_null(), "wau",
		s->has_state ? json_integer(s->wau) : json_null(), "mau",
		s->has_state ? json_integer(s->mau) : json_null(), "stickiness",
		s->stick_days ? query_real(s->stick_sum / s->stick_days) : json_null(), "active",
		(json_int_t)s->active, "new_persons", (json_int_t)s->new_p, "returning_persons",
		(json_int_t)returning, "new_vs_returning",
		query_ratio((double)s->new_p, (double)returning), "payers", (json_int_t)s->payers,
		"paid_conversion", query_ratio((double)s->active_payers, (double)s->active),
		"repurchase_rate", query_ratio((double)s->repurchasers, (double)s->payers), "orders",
		(json_int_t)s->orders, "orders_without_fx_rate", (json_int_t)s->missing_fx);

	if (!o)
		return NULL;
	put_money(o, "gmv", (double)s->gmv, m->exponent);
	put_money(o, "net_revenue", (double)s->net, m->exponent);
	put_money(o, "aov", ratio((double)s->net, (double)s->orders), m->exponent);
	put_money(o, "arpu", ratio((double)s->net, (double)s->active), m->exponent);
	put_money(o, "arppu", ratio((double)s->net, (double)s->payers), m->exponent);
	return o;
}

static json_t *render_json(const struct met *m)
{
	static const char *const units[] = { "day", "week", "month" };
	json_t *series = json_array(), *summary = slot_json(m, &m->slots[m->n_slots]);
	char from[64], to[64], label[16];

	for (int32_t s = 0; s < m->n_slots; s++) {
		json_t *o = slot_json(m, &m->slots[s]);
		retention_period_label(&m->cal, m->r->unit, m->first_p + s, label);
		json_object_set_new(o, "start", json_string(label));
		json_array_append_new(series, o);
	}
	json_object_set_new(summary, "retention",
			    json_pack("{s:o, s:o, s:o, s:o}", "d1", query_real(m->dn.d1), "d3",
				      query_real(m->dn.d3), "d7", query_real(m->dn.d7), "d30",
				      query_real(m->dn.d30)));
	query_format_time(m->qr->from_us, from);
	query_format_time(m->qr->to_us, to);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:o}", "interval",
			 units[m->r->unit], "event", m->r->event ? m->r->event : "$any",
			 "week_start", m->r->ws == CALENDAR_WEEK_SUNDAY ? "sunday" : "monday", "from",
			 from, "to", to, "tz", m->qr->tz, "source", m->source, "currency",
			 m->currency, "currency_exponent", m->exponent, "summary", summary, "series",
			 series);
}

/* A CSV cell from a JSON value: numbers and strings as is, null empty. */
static void csv_cell(FILE *out, const json_t *v)
{
	if (json_is_integer(v))
		fprintf(out, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		fprintf(out, "%.10g", json_real_value(v));
	else if (json_is_string(v))
		fputs(json_string_value(v), out); /* dates and decimals: nothing to quote */
}

static void render_csv(const struct met *m, struct http_resp *resp)
{
	static const char *const cols[] = {
		"start", "dau", "wau", "mau", "stickiness", "active", "new_persons",
		"returning_persons", "new_vs_returning", "payers", "paid_conversion",
		"repurchase_rate", "orders", "orders_without_fx_rate", "gmv_minor", "gmv",
		"net_revenue_minor", "net_revenue", "aov_minor", "arpu_minor", "arppu_minor", NULL
	};
	json_t *all = render_json(m), *series = json_object_get(all, "series"), *row;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *out = open_memstream(&buf, &len);

	if (!out || !all) {
		if (out)
			fclose(out);
		free(buf);
		json_decref(all);
		return;
	}
	for (int c = 0; cols[c]; c++)
		fprintf(out, "%s%s", c ? "," : "", cols[c]);
	fputc('\n', out);
	json_array_foreach(series, i, row) {
		for (int c = 0; cols[c]; c++) {
			if (c)
				fputc(',', out);
			csv_cell(out, json_object_get(row, cols[c]));
		}
		fputc('\n', out);
	}
	fclose(out);
	json_decref(all);
	resp->text = buf;
	resp->text_len = len;
	resp->content_type = "text/csv; charset=utf-8";
}

static void met_cleanup(struct met *m)
{
	calendar_cleanup(&m->cal);
	free(m->bounds);
	free(m->day_slot);
	free(m->slots);
	db_act_free(&m->act);
	db_rev_free(&m->rev);
}

void h_metrics_api_get(struct http_req *req, struct http_resp *resp)
{
	struct met_req r = { 0 };
	struct met m = { 0 };
	struct app_err err = { 0 };
	struct query_range qr;
	struct db *db = NULL;
	bool ok;

	m.r = &r;
	m.qr = &qr;
	m.now_us = req->received_us;
	m.source = "postgres";
	ok = parse_get(req, &r, &err) && (db = db_acquire(req->app->read_pool, 2000, &err)) &&
	     query_range_resolve(db, req->project_id, r.from, r.to, r.tz, r.format, 30,
				 req->received_us, &qr, &err) &&
	     compute(req, &m, db, &err);
	if (db)
		db_release(req->app->read_pool, db);
	if (!ok)
		http_resp_error(resp, &err);
	else if (qr.csv)
		render_csv(&m, resp);
	else
		resp->json = render_json(&m);
	met_cleanup(&m);
}
