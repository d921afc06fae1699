/*
 * db_scores.c - see db_scores.h.
 *
 * Inputs are read through cursors (FETCH in chunks of 50,000 rows) inside one
 * REPEATABLE READ READ ONLY transaction, so events, orders and referrals are
 * one consistent snapshot and memory is bounded by the result arrays.
 * cursor_tuple_fraction = 1 keeps the planner from choosing fast-start plans
 * (sorted index walks) for what is always read to the end.
 */
#include "server/db_scores.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/db_internal.h"
#include "server/log.h"

#define FETCH_SQL "FETCH 50000 FROM sc_cur"
/* Advisory lock keys (first int4): "cscr" owner locks, "cssc" the scheduler. */
#define OWNER_KEY "1668506482"
#define SCHED_KEY "1668510563"

/* Local day number of a timestamptz column in the zone $2. */
#define DAY(col) "((" col " AT TIME ZONE $2)::date - DATE '1970-01-01')"
/* End of the as-of day ($3) in the zone $2. */
#define T_END "((DATE '1970-01-01' + $3::int + 1)::timestamp AT TIME ZONE $2)"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void fmt_i64(char *buf, size_t cap, long long v)
{
	snprintf(buf, cap, "%lld", v);
}

static int64_t col_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int32_t col_i32(const PGresult *r, int row, int col)
{
	return (int32_t)col_i64(r, row, col);
}

static double col_f64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NAN : strtod(PQgetvalue(r, row, col), NULL);
}

/* Make room for one more element in a growable array. */
static bool grow(void **p, size_t *cap, size_t n, size_t elem)
{
	size_t nc;
	void *q;

	if (n < *cap)
		return true;
	nc = *cap ? *cap * 2 : 4096;
	q = realloc(*p, nc * elem);
	if (!q)
		return false;
	*p = q;
	*cap = nc;
	return true;
}

typedef bool (*row_fn)(const PGresult *res, int row, void *arg);

/* DECLARE sc_cur with the parameters, FETCH to the end calling fn per row. */
static bool fetch_all(struct db *db, const char *declare, int n, const char *const *vals,
		      row_fn fn, void *arg, const char *what, struct app_err *err)
{
	PGresult *res = db_params(db, declare, n, vals, PGRES_COMMAND_OK, what, err);

	if (!res)
		return false;
	PQclear(res);
	for (;;) {
		int nt;

		res = db_params(db, FETCH_SQL, 0, NULL, PGRES_TUPLES_OK, what, err);
		if (!res)
			return false;
		nt = PQntuples(res);
		for (int i = 0; i < nt; i++)
			if (!fn(res, i, arg)) {
				PQclear(res);
				return err_set(err, 500, "internal", NULL, "out of memory");
			}
		PQclear(res);
		if (nt == 0)
			break;
	}
	return db_exec(db, "CLOSE sc_cur", err);
}

/* ---- inputs -------------------------------------------------------------- */

/* Per (person, local day) first, so "distinct active days" is a plain count. */
static const char ev_sql[] =
	"DECLARE sc_cur NO SCROLL CURSOR FOR"
	" SELECT pid, min(day), max(day), count(*) FILTER (WHERE day > $3::int - $5::int),"
	"  (bool_or(act)::int + 2 * bool_or(aw)::int + 4 * bool_or(it)::int + 8 * bool_or(lo)::int"
	"   + 16 * coalesce(bool_or(aw) FILTER (WHERE day <= $4::int), false)::int"
	"   + 32 * coalesce(bool_or(it) FILTER (WHERE day <= $4::int), false)::int"
	"   + 64 * coalesce(bool_or(lo) FILTER (WHERE day <= $4::int), false)::int)"
	" FROM (SELECT coalesce(o.person_id, e.person_id) AS pid, " DAY("e.ts") " AS day,"
	"        bool_or(e.event = ANY(ARRAY(SELECT jsonb_array_elements_text($6::jsonb)))) AS act,"
	"        bool_or(e.type IN (3, 4)"
	"                OR e.event = ANY(ARRAY(SELECT jsonb_array_elements_text($7::jsonb)))) AS aw,"
	"        bool_or(e.event = ANY(ARRAY(SELECT jsonb_array_elements_text($8::jsonb)))) AS it,"
	"        bool_or(e.event = ANY(ARRAY(SELECT jsonb_array_elements_text($9::jsonb)))) AS lo"
	"   FROM events e LEFT JOIN person_overrides o"
	"     ON o.project_id = e.project_id AND o.old_person_id = e.person_id"
	"  WHERE e.project_id = $1::bigint AND e.ts < " T_END
	"  GROUP BY 1, 2) d"
	" GROUP BY pid";

/*
 * Net amounts in the reporting currency ($6), with the rules of the
 * order_values view (docs/orders.md): the latest rate on or before the
 * order's UTC day, rounded half away from zero; NULL without a rate. The
 * rate is looked up only for foreign-currency orders (a CASE branch), which
 * keeps a 5M-order pass from doing 5M lookups.
 */
static const char ord_sql[] =
	"DECLARE sc_cur NO SCROLL CURSOR FOR"
	" SELECT pid, min(day), max(day),"
	"  coalesce(max(day) FILTER (WHERE paid AND day > $3::int - $5::int), 0),"
	"  count(*) FILTER (WHERE paid AND day > $3::int - $5::int),"
	"  count(*) FILTER (WHERE paid), count(*) FILTER (WHERE paid AND day <= $4::int),"
	"  coalesce(sum(net) FILTER (WHERE paid AND day > $3::int - $5::int), 0),"
	"  coalesce(sum(net), 0), count(*) FILTER (WHERE net IS NULL)"
	" FROM (SELECT coalesce(po.person_id, o.person_id) AS pid, " DAY("o.ts") " AS day,"
	"        o.net_minor > 0 AS paid,"
	"        CASE WHEN o.currency = $6 THEN o.net_minor ELSE"
	"         (SELECT round(o.net_minor * f.rate"
	"                 * power(10::numeric, rc.exponent - oc.exponent))::bigint"
	"            FROM fx_rates f, currencies oc, currencies rc"
	"           WHERE f.project_id = o.project_id AND f.currency = o.currency AND f.quote = $6"
	"             AND f.day <= (o.ts AT TIME ZONE 'UTC')::date"
	"             AND oc.code = o.currency AND rc.code = $6"
	"           ORDER BY f.day DESC LIMIT 1) END AS net"
	"   FROM orders o LEFT JOIN person_overrides po"
	"     ON po.project_id = o.project_id AND po.old_person_id = o.person_id"
	"  WHERE o.project_id = $1::bigint AND o.ts < " T_END ") x"
	" GROUP BY pid";

/* The referee's event names its referrer by distinct id in a top-level property. */
static const char ref_sql[] =
	"DECLARE sc_cur NO SCROLL CURSOR FOR"
	" SELECT coalesce(ro.person_id, i.person_id) AS referrer,"
	"        count(DISTINCT coalesce(o.person_id, e.person_id))"
	"   FROM events e"
	"   JOIN identities i ON i.project_id = e.project_id AND i.distinct_id = e.properties ->> $5"
	"   LEFT JOIN person_overrides ro ON ro.project_id = i.project_id AND ro.old_person_id = i.person_id"
	"   LEFT JOIN person_overrides o ON o.project_id = e.project_id AND o.old_person_id = e.person_id"
	"  WHERE e.project_id = $1::bigint AND e.event = $4 AND e.ts < " T_END
	"    AND coalesce(ro.person_id, i.person_id) <> coalesce(o.person_id, e.person_id)"
	"  GROUP BY 1";

static const char ltv_sql[] =
	"DECLARE sc_cur NO SCROLL CURSOR FOR"
	" SELECT s.person_id, s.p_alive, s.expected_purchases_30d, s.expected_purchases_90d,"
	"        s.expected_purchases_365d, s.clv_predicted"
	"   FROM person_scores s JOIN score_current c"
	"     ON c.project_id = s.project_id AND c.run_id = s.run_id"
	"  WHERE s.project_id = $1::bigint AND (s.p_alive IS NOT NULL"
	"        OR s.expected_purchases_30d IS NOT NULL OR s.expected_purchases_90d IS NOT NULL"
	"        OR s.expected_purchases_365d IS NOT NULL OR s.clv_predicted IS NOT NULL)";

struct acc {
	struct sc_inputs *in;
	size_t cap;
};

static bool take_ev(const PGresult *r, int i, void *arg)
{
	struct acc *a = arg;
	struct sc_ev_row *e;

	if (!grow((void **)&a->in->ev, &a->cap, a->in->n_ev, sizeof(*e)))
		return false;
	e = &a->in->ev[a->in->n_ev++];
	e->person_id = col_i64(r, i, 0);
	e->first_day = col_i32(r, i, 1);
	e->last_day = col_i32(r, i, 2);
	e->active_days = col_i32(r, i, 3);
	e->flags = (uint8_t)col_i32(r, i, 4);
	return true;
}

static bool take_ord(const PGresult *r, int i, void *arg)
{
	struct acc *a = arg;
	struct sc_ord_row *o;

	if (!grow((void **)&a->in->ord, &a->cap, a->in->n_ord, sizeof(*o)))
		return false;
	o = &a->in->ord[a->in->n_ord++];
	o->person_id = col_i64(r, i, 0);
	o->first_day = col_i32(r, i, 1);
	o->last_day = col_i32(r, i, 2);
	o->last_paid_day = col_i32(r, i, 3);
	o->orders = col_i32(r, i, 4);
	o->paid_orders = col_i32(r, i, 5);
	o->paid_orders1 = col_i32(r, i, 6);
	o->revenue = col_i64(r, i, 7);
	o->ltv = col_i64(r, i, 8);
	o->fx_missing = col_i32(r, i, 9);
	return true;
}

static bool take_ref(const PGresult *r, int i, void *arg)
{
	struct acc *a = arg;
	struct sc_ref_row *f;

	if (!grow((void **)&a->in->ref, &a->cap, a->in->n_ref, sizeof(*f)))
		return false;
	f = &a->in->ref[a->in->n_ref++];
	f->person_id = col_i64(r, i, 0);
	f->referees = (uint32_t)col_i64(r, i, 1);
	return true;
}

static bool take_ltv(const PGresult *r, int i, void *arg)
{
	struct acc *a = arg;
	struct sc_ltv_row *l;

	if (!grow((void **)&a->in->ltv, &a->cap, a->in->n_ltv, sizeof(*l)))
		return false;
	l = &a->in->ltv[a->in->n_ltv++];
	l->person_id = col_i64(r, i, 0);
	for (int k = 0; k < SC_LTV_COLS; k++)
		l->v[k] = col_f64(r, i, 1 + k);
	return true;
}

/* All row structs start with int64_t person_id. */
static int by_person(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* qsort must not see the NULL of an empty array (UBSan: nonnull argument). */
static void sort_rows(void *rows, size_t n, size_t size)
{
	if (n > 1)
		qsort(rows, n, size, by_person);
}

bool db_scores_today(struct db *db, const char *tz, int32_t *day, struct app_err *err)
{
	static const char sql[] = "SELECT (now() AT TIME ZONE $1)::date - DATE '1970-01-01'";
	const char *vals[1] = { tz };
	PGresult *res = db_params(db, sql, 1, vals, PGRES_TUPLES_OK, "today", err);

	if (!res)
		return false;
	*day = col_i32(res, 0, 0);
	PQclear(res);
	return true;
}

static bool orders_exist(struct db *db, bool *yes, struct app_err *err)
{
	PGresult *res = db_params(db, "SELECT to_regclass('orders') IS NOT NULL", 0, NULL,
				  PGRES_TUPLES_OK, "orders check", err);
	if (!res)
		return false;
	*yes = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return true;
}

/* Parameters as text, one vector per statement (their $n differ). */
struct load_params {
	char pid[24], asof[16], cmp[16], win[16], look[16];
};

static bool load_all(struct db *db, const struct sc_query *q, const struct load_params *p,
		     bool carry, struct sc_inputs *in, struct app_err *err)
{
	const char *ev[9] = { p->pid, q->tz, p->asof, p->cmp, p->win, q->activation, q->awareness,
			      q->interest, q->loyalty };
	const char *ord[6] = { p->pid, q->tz, p->asof, p->cmp, p->look, q->currency };
	const char *ref[5] = { p->pid, q->tz, p->asof, q->referral_event, q->referrer_property };
	struct acc a = { in, 0 };
	double t = now_ms();

	if (!fetch_all(db, ev_sql, 9, ev, take_ev, &a, "score events", err))
		return false;
	in->ms[0] = now_ms() - t;
	t = now_ms();
	a.cap = 0;
	if (!orders_exist(db, &in->has_orders, err))
		return false;
	if (in->has_orders && !fetch_all(db, ord_sql, 6, ord, take_ord, &a, "score orders", err))
		return false;
	in->ms[1] = now_ms() - t;
	t = now_ms();
	a.cap = 0;
	if (q->referral_event[0] && q->referrer_property[0] &&
	    !fetch_all(db, ref_sql, 5, ref, take_ref, &a, "score referrals", err))
		return false;
	in->ms[2] = now_ms() - t;
	t = now_ms();
	a.cap = 0;
	if (carry && !fetch_all(db, ltv_sql, 1, ev, take_ltv, &a, "score ltv carry", err))
		return false;
	in->ms[3] = now_ms() - t;
	return true;
}

bool db_scores_load(struct db *db, const struct sc_query *q, bool carry_ltv, struct sc_inputs *in,
		    struct app_err *err)
{
	struct load_params p;
	bool ok;

	memset(in, 0, sizeof(*in));
	fmt_i64(p.pid, sizeof(p.pid), q->project_id);
	fmt_i64(p.asof, sizeof(p.asof), q->as_of_day);
	fmt_i64(p.cmp, sizeof(p.cmp), q->compare_day);
	fmt_i64(p.win, sizeof(p.win), q->active_window_days);
	fmt_i64(p.look, sizeof(p.look), q->lookback_days);
	if (!db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err))
		return false;
	ok = db_exec(db, "SET LOCAL cursor_tuple_fraction = 1", err) &&
	     db_exec(db, "SET LOCAL work_mem = '256MB'", err) &&
	     load_all(db, q, &p, carry_ltv, in, err) && db_exec(db, "COMMIT", err);
	if (!ok) {
		db_rollback(db);
		db_scores_inputs_free(in);
		return false;
	}
	sort_rows(in->ev, in->n_ev, sizeof(*in->ev));
	sort_rows(in->ord, in->n_ord, sizeof(*in->ord));
	sort_rows(in->ref, in->n_ref, sizeof(*in->ref));
	sort_rows(in->ltv, in->n_ltv, sizeof(*in->ltv));
	return true;
}

void db_scores_inputs_free(struct sc_inputs *in)
{
	free(in->ev);
	free(in->ord);
	free(in->ref);
	free(in->ltv);
	memset(in, 0, sizeof(*in));
}
/* ---- generations ----------------------------------------------------------- */

static const char copy_sql[] =
	"COPY person_scores (project_id, run_id, person_id, first_active, last_active, paid_orders,"
	" rfm_recency_days, rfm_frequency, rfm_monetary, rfm_r, rfm_f, rfm_m, rfm_fm, rfm11, rfm8,"
	" lifecycle, value_tier, aipl, aarrr, referrals, ltv_historical, p_alive,"
	" expected_purchases_30d, expected_purchases_90d, expected_purchases_365d, clv_predicted)"
	" FROM STDIN";

bool db_scores_copy_begin(struct db *db, int64_t run_id, struct app_err *err)
{
	PGresult *res;

	(void)run_id; /* the rows carry it; commit_run checks the run is still ours */
	if (!db_exec(db, "BEGIN", err))
		return false;
	res = PQexec(db->conn, copy_sql);
	if (!db_check(db, res, PGRES_COPY_IN, "copy scores", err)) {
		db_rollback(db);
		return false;
	}
	PQclear(res);
	return true;
}

bool db_scores_copy_put(struct db *db, const char *buf, size_t len, struct app_err *err)
{
	if (PQputCopyData(db->conn, buf, (int)len) == 1)
		return true;
	log_error("db: copy scores: %s", PQerrorMessage(db->conn));
	db->broken = true;
	return err_set(err, 503, "db_unavailable", NULL, "database connection lost while writing");
}

/* Drain the results after PQputCopyEnd; the first is the COPY's status. */
static bool copy_finish(struct db *db, struct app_err *err)
{
	PGresult *res;
	bool ok;

	if (PQputCopyEnd(db->conn, NULL) != 1) {
		db->broken = true;
		return err_set(err, 503, "db_unavailable", NULL, "database connection lost");
	}
	res = PQgetResult(db->conn);
	ok = db_check(db, res, PGRES_COMMAND_OK, "copy scores end", err);
	if (ok)
		PQclear(res);
	while ((res = PQgetResult(db->conn)) != NULL)
		PQclear(res);
	return ok;
}

bool db_scores_commit_run(struct db *db, const struct sc_done *d, struct app_err *err)
{
	static const char done_sql[] =
		"UPDATE score_runs SET status = 'done', finished_at = now(), scored = $2::bigint,"
		" total = $2::bigint, as_of = DATE '1970-01-01' + $3::int, params = $4::jsonb,"
		" summary = $5::json, timings = timings || $6::jsonb"
		" WHERE run_id = $1::bigint AND status = 'running'";
	static const char flip_sql[] =
		"INSERT INTO score_current (project_id, run_id) VALUES ($1::bigint, $2::bigint)"
		" ON CONFLICT (project_id) DO UPDATE SET previous_run_id = score_current.run_id,"
		" run_id = EXCLUDED.run_id, updated_at = now()";
	char rid[24], tot[24], day[16], pid[24];
	const char *dv[6] = { rid, tot, day, d->params, d->summary, d->timings };
	const char *fv[2] = { pid, rid };
	PGresult *res;
	bool still_ours;

	fmt_i64(rid, sizeof(rid), d->run_id);
	fmt_i64(tot, sizeof(tot), d->total);
	fmt_i64(day, sizeof(day), d->as_of_day);
	fmt_i64(pid, sizeof(pid), d->project_id);
	if (!copy_finish(db, err))
		goto fail;
	res = db_params(db, done_sql, 6, dv, PGRES_COMMAND_OK, "finish run", err);
	if (!res)
		goto fail;
	still_ours = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!still_ours) {
		err_set(err, 409, "run_not_running", NULL,
			"the run was marked failed by another process while it wrote");
		goto fail;
	}
	res = db_params(db, flip_sql, 2, fv, PGRES_COMMAND_OK, "flip current", err);
	if (!res)
		goto fail;
	PQclear(res);
	if (db_exec(db, "COMMIT", err))
		return true;
fail:
	db_scores_abort(db);
	return false;
}

void db_scores_abort(struct db *db)
{
	PGresult *res;

	if (PQtransactionStatus(db->conn) == PQTRANS_ACTIVE) {
		/* Mid-COPY: end it with an error so the server aborts the statement. */
		if (PQputCopyEnd(db->conn, "scoring run aborted") == 1)
			while ((res = PQgetResult(db->conn)) != NULL)
				PQclear(res);
		else
			db->broken = true;
	}
	db_rollback(db);
}

bool db_scores_purge(struct db *db, int64_t project_id, int64_t *deleted, struct app_err *err)
{
	static const char rows_sql[] =
		"DELETE FROM person_scores s USING score_current c"
		" WHERE s.project_id = $1::bigint AND c.project_id = $1::bigint"
		"   AND s.run_id <> c.run_id AND s.run_id IS DISTINCT FROM c.previous_run_id";
	/* Keep the newest 1000 run rows of a project (a 1 s schedule makes many). */
	static const char runs_sql[] =
		"DELETE FROM score_runs r WHERE r.project_id = $1::bigint"
		"   AND r.status IN ('done', 'failed')"
		"   AND r.run_id < (SELECT min(run_id) FROM (SELECT run_id FROM score_runs"
		"        WHERE project_id = $1::bigint ORDER BY run_id DESC LIMIT 1000) k)"
		"   AND r.run_id NOT IN (SELECT run_id FROM score_current WHERE project_id = $1::bigint"
		"        UNION ALL SELECT previous_run_id FROM score_current"
		"        WHERE project_id = $1::bigint AND previous_run_id IS NOT NULL)";
	char pid[24];
	const char *v[1] = { pid };
	PGresult *res;

	fmt_i64(pid, sizeof(pid), project_id);
	res = db_params(db, rows_sql, 1, v, PGRES_COMMAND_OK, "purge scores", err);
	if (!res)
		return false;
	*deleted = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	res = db_params(db, runs_sql, 1, v, PGRES_COMMAND_OK, "purge runs", err);
	PQclear(res);
	return res != NULL;
}

struct db_cancel {
	PGcancel *c;
};

struct db_cancel *db_scores_cancel_new(struct db *db)
{
	struct db_cancel *c = calloc(1, sizeof(*c));

	if (c && !(c->c = PQgetCancel(db->conn))) {
		free(c);
		c = NULL;
	}
	return c;
}

void db_scores_cancel_send(struct db_cancel *c)
{
	char buf[256];

	if (c && !PQcancel(c->c, buf, sizeof(buf)))
		log_warn("scoring: cancel request failed: %s", buf);
}

void db_scores_cancel_free(struct db_cancel *c)
{
	if (!c)
		return;
	PQfreeCancel(c->c);
	free(c);
}

/* ---- runs and schedule ----------------------------------------------------- */

bool db_scores_owner_lock(struct db *db, int32_t owner, struct app_err *err)
{
	static const char sql[] = "SELECT pg_try_advisory_lock(" OWNER_KEY ", $1::int)";
	char o[16];
	const char *v[1] = { o };
	PGresult *res;
	bool got;

	fmt_i64(o, sizeof(o), owner);
	res = db_params(db, sql, 1, v, PGRES_TUPLES_OK, "owner lock", err);
	if (!res)
		return false;
	got = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!got)
		return err_set(err, 409, "owner_taken", NULL, "owner key already in use");
	return true;
}

bool db_scores_reap(struct db *db, int64_t project_id, struct app_err *err)
{
	static const char sql[] =
		"UPDATE score_runs r SET status = 'failed', finished_at = now(),"
		"  error = 'interrupted: the cohortd process that owned the run stopped'"
		" WHERE r.status IN ('queued', 'running')"
		"   AND ($1::bigint = 0 OR r.project_id = $1::bigint)"
		"   AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory'"
		"        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
		"        AND l.classid = " OWNER_KEY "::oid AND l.objid = r.owner::oid"
		"        AND l.objsubid = 2 AND l.granted)";
	char pid[24];
	const char *v[1] = { pid };
	PGresult *res;

	fmt_i64(pid, sizeof(pid), project_id);
	res = db_params(db, sql, 1, v, PGRES_COMMAND_OK, "reap runs", err);
	if (!res)
		return false;
	if (strcmp(PQcmdTuples(res), "0") != 0)
		log_warn("scoring: marked %s interrupted run(s) failed", PQcmdTuples(res));
	PQclear(res);
	return true;
}

bool db_scores_run_create(struct db *db, int64_t project_id, int32_t owner, int64_t *run_id,
			  bool *existing, struct app_err *err)
{
	static const char ins_sql[] =
		"INSERT INTO score_runs (project_id, trigger, owner) VALUES ($1::bigint, 'api', $2::int)"
		" ON CONFLICT DO NOTHING RETURNING run_id";
	static const char cur_sql[] =
		"SELECT run_id FROM score_runs WHERE project_id = $1::bigint"
		" AND status IN ('queued', 'running')";
	char pid[24], o[16];
	const char *v[2] = { pid, o };
	PGresult *res;

	fmt_i64(pid, sizeof(pid), project_id);
	fmt_i64(o, sizeof(o), owner);
	if (!db_scores_reap(db, project_id, err))
		return false;
	/* The active run may finish between the two statements: try again then. */
	for (int attempt = 0; attempt < 3; attempt++) {
		res = db_params(db, ins_sql, 2, v, PGRES_TUPLES_OK, "create run", err);
		if (!res)
			return false;
		*existing = PQntuples(res) == 0;
		*run_id = *existing ? 0 : col_i64(res, 0, 0);
		PQclear(res);
		if (!*existing)
			return true;
		res = db_params(db, cur_sql, 1, v, PGRES_TUPLES_OK, "active run", err);
		if (!res)
			return false;
		*run_id = PQntuples(res) ? col_i64(res, 0, 0) : 0;
		PQclear(res);
		if (*run_id)
			return true;
	}
	return err_set(err, 503, "db_busy", NULL, "runs are starting and ending too fast; retry");
}

bool db_scores_schedule(struct db *db, int32_t owner, int interval_s, int64_t *run_ids,
			size_t cap, size_t *n, struct app_err *err)
{
	static const char lock_sql[] = "SELECT pg_try_advisory_xact_lock(" SCHED_KEY ", 0)";
	/* A project is due when no scheduled run exists for the current slot nor
	 * was created since the slot began (the last run's time), and it has no
	 * active run; the unique (project, slot) index is the final guard. */
	static const char ins_sql[] =
		"WITH ns AS (SELECT floor(extract(epoch FROM now()) / $2::int)::bigint AS slot)"
		" INSERT INTO score_runs (project_id, trigger, slot, interval_s, owner)"
		" SELECT p.project_id, 'schedule', ns.slot, $2::int, $1::int FROM projects p, ns"
		"  WHERE NOT EXISTS (SELECT 1 FROM score_runs r WHERE r.project_id = p.project_id"
		"          AND r.trigger = 'schedule' AND (r.slot >= ns.slot"
		"               OR r.created_at >= to_timestamp(ns.slot * $2::int)))"
		"    AND NOT EXISTS (SELECT 1 FROM score_runs r WHERE r.project_id = p.project_id"
		"          AND r.status IN ('queued', 'running'))"
		"  ORDER BY p.project_id LIMIT $3::int"
		" ON CONFLICT DO NOTHING RETURNING run_id";
	char o[16], iv[16], c[16];
	const char *v[3] = { o, iv, c };
	PGresult *res;
	bool got;

	*n = 0;
	fmt_i64(o, sizeof(o), owner);
	fmt_i64(iv, sizeof(iv), interval_s);
	fmt_i64(c, sizeof(c), (long long)cap);
	if (!db_exec(db, "BEGIN", err))
		return false;
	res = db_params(db, lock_sql, 0, NULL, PGRES_TUPLES_OK, "schedule lock", err);
	if (!res)
		goto fail;
	got = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!got) {
		db_rollback(db);
		return true;
	}
	if (!db_scores_reap(db, 0, err))
		goto fail;
	res = db_params(db, ins_sql, 3, v, PGRES_TUPLES_OK, "schedule runs", err);
	if (!res)
		goto fail;
	for (int i = 0; i < PQntuples(res) && *n < cap; i++)
		run_ids[(*n)++] = col_i64(res, i, 0);
	PQclear(res);
	if (db_exec(db, "COMMIT", err))
		return true;
	*n = 0;
fail:
	db_rollback(db);
	return false;
}

bool db_scores_run_start(struct db *db, int64_t run_id, int32_t owner, int64_t *project_id,
			 bool *claimed, struct app_err *err)
{
	static const char sql[] =
		"UPDATE score_runs SET status = 'running', started_at = now()"
		" WHERE run_id = $1::bigint AND owner = $2::int AND status = 'queued'"
		" RETURNING project_id";
	char rid[24], o[16];
	const char *v[2] = { rid, o };
	PGresult *res;

	fmt_i64(rid, sizeof(rid), run_id);
	fmt_i64(o, sizeof(o), owner);
	res = db_params(db, sql, 2, v, PGRES_TUPLES_OK, "start run", err);
	if (!res)
		return false;
	*claimed = PQntuples(res) == 1;
	*project_id = *claimed ? col_i64(res, 0, 0) : 0;
	PQclear(res);
	return true;
}

bool db_scores_run_progress(struct db *db, int64_t run_id, int64_t scored, int64_t total,
			    struct app_err *err)
{
	static const char sql[] =
		"UPDATE score_runs SET scored = $2::bigint, total = $3::bigint"
		" WHERE run_id = $1::bigint AND status = 'running'";
	char rid[24], s[24], t[24];
	const char *v[3] = { rid, s, t };
	PGresult *res;

	fmt_i64(rid, sizeof(rid), run_id);
	fmt_i64(s, sizeof(s), scored);
	fmt_i64(t, sizeof(t), total);
	res = db_params(db, sql, 3, v, PGRES_COMMAND_OK, "run progress", err);
	PQclear(res);
	return res != NULL;
}

bool db_scores_run_fail(struct db *db, int64_t run_id, const char *message, const char *timings,
			struct app_err *err)
{
	static const char sql[] =
		"UPDATE score_runs SET status = 'failed', finished_at = now(), error = $2,"
		" timings = timings || coalesce($3::jsonb, '{}')"
		" WHERE run_id = $1::bigint AND status IN ('queued', 'running')";
	char rid[24];
	const char *v[3] = { rid, message, timings };
	PGresult *res;

	fmt_i64(rid, sizeof(rid), run_id);
	res = db_params(db, sql, 3, v, PGRES_COMMAND_OK, "fail run", err);
	PQclear(res);
	return res != NULL;
}

/* Copy the single text value of a one-row result; *found false on no row. */
static bool one_text(PGresult *res, char **out, bool *found, struct app_err *err)
{
	*found = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
	*out = *found ? strdup(PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	if (*found && !*out)
		return err_set(err, 500, "internal", NULL, "out of memory");
	return true;
}

bool db_scores_run_json(struct db *db, int64_t project_id, int64_t run_id, char **json,
			bool *found, struct app_err *err)
{
	static const char sql[] =
		"SELECT json_build_object('run_id', run_id, 'status', status, 'trigger', trigger,"
		"  'slot', slot, 'progress', json_build_object('scored', scored, 'total', total),"
		"  'created_at', created_at, 'started_at', started_at, 'finished_at', finished_at,"
		"  'as_of', as_of, 'params', params, 'timings', timings, 'error', error)::text"
		" FROM score_runs WHERE project_id = $1::bigint AND run_id = $2::bigint";
	char pid[24], rid[24];
	const char *v[2] = { pid, rid };
	PGresult *res;

	fmt_i64(pid, sizeof(pid), project_id);
	fmt_i64(rid, sizeof(rid), run_id);
	if (!db_scores_reap(db, project_id, err))
		return false;
	res = db_params(db, sql, 2, v, PGRES_TUPLES_OK, "run", err);
	return res && one_text(res, json, found, err);
}

bool db_scores_run_timings(struct db *db, int64_t run_id, const char *timings,
			   struct app_err *err)
{
	static const char sql[] =
		"UPDATE score_runs SET timings = timings || $2::jsonb WHERE run_id = $1::bigint";
	char rid[24];
	const char *v[2] = { rid, timings };
	PGresult *res;

	fmt_i64(rid, sizeof(rid), run_id);
	res = db_params(db, sql, 2, v, PGRES_COMMAND_OK, "run timings", err);
	PQclear(res);
	return res != NULL;
}
