/*
 * db_ltv.c - the BTYD summary, cohort curves and the growth series (see
 * db_ltv.h). Runs and score writes are in db_ltv_runs.c.
 *
 * The summary is one statement whose three CTEs mirror lifetimes'
 * summary_data_from_transaction_data: orders -> (person, local day)
 * occasions -> per-person (x, t_x, T, repeat value, holdout) -> GROUP BY. It
 * is read through a cursor in chunks of 50,000 rows inside a READ ONLY
 * transaction, so memory is bounded by the result arrays, never by libpq
 * holding a million-row result.
 */
#include "server/db_ltv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/db_internal.h"
#include "server/db_query.h"

#define FETCH_SQL "FETCH 50000 FROM ltv_cur"

/*
 * Purchases are orders whose status is paid or partially_refunded: pending,
 * cancelled and fully refunded orders are not. A paid order of value 0 (a free
 * item, a 100 % discount) is still a purchase occasion, as in lifetimes and in
 * the CDNOW data the published estimates come from (8 rows of $0.00); its
 * value adds 0. (Scoring's RFM counts net > 0 only; docs/ltv-api.md.)
 */
/* Local day number of an order in the zone $2. */
#define DAY "((o.ts AT TIME ZONE $2)::date - DATE '1970-01-01')"
/* First instant after the local day $4 (exclusive end of the orders read). */
#define T_END "((DATE '1970-01-01' + $4::int + 1)::timestamp AT TIME ZONE $2)"
/*
 * Net amount in the reporting currency $5 with the rules of the
 * order_values view (docs/orders.md): the latest rate on or before the
 * order's UTC day, rounded half away from zero; NULL without a rate. The
 * lookup runs only for foreign-currency orders (a CASE branch).
 */
#define NET                                                                              \
	"CASE WHEN o.currency = $5 THEN o.net_minor ELSE"                                \
	" (SELECT round(o.net_minor * f.rate * power(10::numeric, rc.exponent - oc.exponent))::bigint" \
	"    FROM fx_rates f, currencies oc, currencies rc"                              \
	"   WHERE f.project_id = o.project_id AND f.currency = o.currency AND f.quote = $5" \
	"     AND f.day <= (o.ts AT TIME ZONE 'UTC')::date"                              \
	"     AND oc.code = o.currency AND rc.code = $5"                                 \
	"   ORDER BY f.day DESC LIMIT 1) END"

/* ord: paid orders up to the holdout end on the stitched person;
 * occ: one occasion per (person, local day); per: the summary per person.
 * The first occasion's value is min(ARRAY[day, v])[2] (arrays compare
 * element-wise, so the smallest day wins): 10 % faster on 1M persons than
 * array_agg(v ORDER BY day), which sorts every person's days again. */
#define SUMMARY(person_filter)                                                           \
	"WITH ord AS ("                                                                  \
	" SELECT coalesce(po.person_id, o.person_id) AS pid, " DAY " AS day, " NET " AS net" \
	"   FROM orders o LEFT JOIN person_overrides po"                                 \
	"     ON po.project_id = o.project_id AND po.old_person_id = o.person_id"        \
	"  WHERE o.project_id = $1::bigint AND o.status IN ('paid', 'partially_refunded')"   \
	"    AND o.ts < " T_END                                                          \
	person_filter                                                                    \
	"), occ AS ("                                                                    \
	" SELECT pid, day, sum(net)::bigint AS v FROM ord WHERE net IS NOT NULL GROUP BY pid, day" \
	"), per AS ("                                                                    \
	" SELECT pid, (count(*) FILTER (WHERE day <= $3::int) - 1)::int AS x,"           \
	"        max(day) FILTER (WHERE day <= $3::int) - min(day) AS tx,"               \
	"        $3::int - min(day) AS t,"                                               \
	"        (sum(v) FILTER (WHERE day <= $3::int) - (min(ARRAY[day::bigint, v]))[2])::bigint AS rep," \
	"        (count(*) FILTER (WHERE day > $3::int))::int AS hx,"                    \
	"        coalesce(sum(v) FILTER (WHERE day > $3::int), 0)::bigint AS hv"         \
	"   FROM occ GROUP BY pid HAVING min(day) <= $3::int) "

/* The orders of one stitched person $6: its own and those of persons merged into it. */
#define ONE_PERSON                                                                       \
	"    AND o.person_id IN (SELECT $6::bigint UNION ALL SELECT old_person_id"       \
	"                          FROM person_overrides"                                \
	"                         WHERE project_id = $1::bigint AND person_id = $6::bigint)" \
	"    AND coalesce(po.person_id, o.person_id) = $6::bigint"

static const char grouped_sql[] =
	"DECLARE ltv_cur NO SCROLL CURSOR FOR " SUMMARY("")
	"SELECT x, tx, t, rep, hx, hv, count(*) FROM per GROUP BY 1, 2, 3, 4, 5, 6";

/* $6: the current scores generation. */
static const char segments_sql[] =
	"DECLARE ltv_cur NO SCROLL CURSOR FOR " SUMMARY("")
	"SELECT p.x, p.tx, p.t, p.rep, p.hx, p.hv, count(*), s.rfm11 FROM per p"
	"  LEFT JOIN person_scores s"
	"    ON s.project_id = $1::bigint AND s.run_id = $6::bigint AND s.person_id = p.pid"
	" GROUP BY 1, 2, 3, 4, 5, 6, 8";

static const char persons_sql[] =
	"DECLARE ltv_cur NO SCROLL CURSOR FOR " SUMMARY("")
	"SELECT x, tx, t, rep, hx, hv, 1, pid FROM per ORDER BY pid";

static const char person_sql[] =
	"DECLARE ltv_cur NO SCROLL CURSOR FOR " SUMMARY(ONE_PERSON)
	"SELECT x, tx, t, rep, hx, hv, 1, pid FROM per";

/* $1 project, $2 tz, $3 currency, $4 last local day. */
static const char fx_missing_sql[] =
	"SELECT count(*) FROM orders o"
	" WHERE o.project_id = $1::bigint AND o.status IN ('paid', 'partially_refunded')"
	"   AND o.currency <> $3"
	"   AND o.ts < " T_END
	"   AND NOT EXISTS (SELECT 1 FROM fx_rates f"
	"                    WHERE f.project_id = o.project_id AND f.currency = o.currency"
	"                      AND f.quote = $3 AND f.day <= (o.ts AT TIME ZONE 'UTC')::date)";

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int64_t col_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool db_ltv_context(struct db *db, int64_t project_id, const char *tz, const char *field,
		    struct db_ltv_ctx *out, struct app_err *err)
{
	static const char sql[] =
		"SELECT (SELECT exponent FROM currencies WHERE code = $2),"
		"       (now() AT TIME ZONE $1)::date - DATE '1970-01-01'";
	struct db_settings st;
	const char *vals[2];
	PGresult *res;

	memset(out, 0, sizeof(*out));
	if (!db_settings_get(db, project_id, &st, err))
		return false;
	snprintf(out->currency, sizeof(out->currency), "%s", st.currency);
	if (tz && *tz) {
		if (strlen(tz) >= sizeof(out->tz)) {
			db_settings_cleanup(&st);
			return err_set(err, 400, "validation_failed", field, "%s is too long", field);
		}
		snprintf(out->tz, sizeof(out->tz), "%s", tz);
	} else
		snprintf(out->tz, sizeof(out->tz), "%s", st.timezone);
	db_settings_cleanup(&st);
	if (tz && *tz && !db_check_tz(db, tz, field, err))
		return false;
	vals[0] = out->tz;
	vals[1] = out->currency;
	res = db_params(db, sql, 2, vals, PGRES_TUPLES_OK, "ltv context", err);
	if (!res)
		return false;
	/* An unknown reporting currency cannot happen through the API; 2 is the
	 * common exponent and keeps the answer usable if someone edited SQL. */
	out->exponent = PQgetisnull(res, 0, 0) ? 2 : (int)col_i64(res, 0, 0);
	out->today = (int32_t)col_i64(res, 0, 1);
	PQclear(res);
	return true;
}

/* ---- summary ------------------------------------------------------------- */

void db_ltv_rows_free(struct db_ltv_rows *r)
{
	free(r->x);
	free(r->tx);
	free(r->T);
	free(r->rep);
	free(r->hx);
	free(r->hv);
	free(r->count);
	free(r->pid);
	free(r->seg);
	for (int i = 0; i < r->n_segs; i++)
		free(r->segs[i]);
	memset(r, 0, sizeof(*r));
}

#define GROW(field, cap)                                                        \
	do {                                                                    \
		void *q_ = realloc(r->field, (cap) * sizeof(*r->field));        \
		if (!q_)                                                        \
			return false;                                           \
		r->field = q_;                                                  \
	} while (0)

static bool rows_reserve(struct db_ltv_rows *r, size_t *cap, size_t need, enum db_ltv_shape shape)
{
	size_t nc;

	if (need <= *cap)
		return true;
	nc = *cap ? *cap : 4096;
	while (nc < need)
		nc *= 2;
	GROW(x, nc);
	GROW(tx, nc);
	GROW(T, nc);
	GROW(rep, nc);
	GROW(hx, nc);
	GROW(hv, nc);
	GROW(count, nc);
	if (shape == DB_LTV_PERSONS)
		GROW(pid, nc);
	if (shape == DB_LTV_SEGMENTS)
		GROW(seg, nc);
	*cap = nc;
	return true;
}

/* Index of segment code s in r->segs (added when new); -1 when full. */
static int16_t seg_index(struct db_ltv_rows *r, const char *s)
{
	for (int i = 0; i < r->n_segs; i++)
		if (strcmp(r->segs[i], s) == 0)
			return (int16_t)i;
	if (r->n_segs == DB_LTV_MAX_SEGS || !(r->segs[r->n_segs] = strdup(s)))
		return -1;
	return (int16_t)r->n_segs++;
}

/* Append the rows of one FETCH. */
static bool take_rows(const PGresult *res, enum db_ltv_shape shape, struct db_ltv_rows *r,
		      size_t *cap)
{
	int nt = PQntuples(res);

	if (!rows_reserve(r, cap, r->n + (size_t)nt, shape))
		return false;
	for (int i = 0; i < nt; i++) {
		size_t k = r->n++;
		r->x[k] = (int32_t)col_i64(res, i, 0);
		r->tx[k] = (int32_t)col_i64(res, i, 1);
		r->T[k] = (int32_t)col_i64(res, i, 2);
		r->rep[k] = col_i64(res, i, 3);
		r->hx[k] = (int32_t)col_i64(res, i, 4);
		r->hv[k] = col_i64(res, i, 5);
		r->count[k] = col_i64(res, i, 6);
		r->persons += r->count[k];
		if (shape == DB_LTV_PERSONS)
			r->pid[k] = col_i64(res, i, 7);
		if (shape == DB_LTV_SEGMENTS)
			r->seg[k] = PQgetisnull(res, i, 7) ? -1 : seg_index(r, PQgetvalue(res, i, 7));
	}
	return true;
}

/* DECLARE the cursor and FETCH it to the end into r. */
static bool fetch_rows(struct db *db, const char *declare, int n, const char *const *vals,
		       enum db_ltv_shape shape, struct db_ltv_rows *r, struct app_err *err)
{
	PGresult *res = db_params(db, declare, n, vals, PGRES_COMMAND_OK, "ltv summary", err);
	size_t cap = 0;

	if (!res)
		return false;
	PQclear(res);
	for (;;) {
		int nt;
		if (!(res = db_params(db, FETCH_SQL, 0, NULL, PGRES_TUPLES_OK, "ltv fetch", err)))
			return false;
		nt = PQntuples(res);
		if (!take_rows(res, shape, r, &cap)) {
			PQclear(res);
			return err_set(err, 500, "internal", NULL, "out of memory");
		}
		PQclear(res);
		if (nt == 0)
			return db_exec(db, "CLOSE ltv_cur", err);
	}
}

/* The current scores generation, 0 when none or when scoring is not installed. */
bool db_ltv_scores_run(struct db *db, int64_t project_id, int64_t *run_id, struct app_err *err)
{
	static const char probe[] =
		"SELECT to_regclass('person_scores') IS NOT NULL AND to_regclass('score_current') IS NOT NULL";
	static const char sql[] = "SELECT run_id FROM score_current WHERE project_id = $1::bigint";
	char pid[24];
	const char *vals[1] = { pid };
	PGresult *res = db_params(db, probe, 0, NULL, PGRES_TUPLES_OK, "scores probe", err);
	bool installed;

	*run_id = 0;
	if (!res)
		return false;
	installed = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!installed)
		return true;
	snprintf(pid, sizeof(pid), "%lld", (long long)project_id);
	if (!(res = db_params(db, sql, 1, vals, PGRES_TUPLES_OK, "scores current", err)))
		return false;
	if (PQntuples(res) == 1)
		*run_id = col_i64(res, 0, 0);
	PQclear(res);
	return true;
}

static bool count_fx_missing(struct db *db, const struct db_ltv_query *q, const char *end,
			     struct db_ltv_rows *out, struct app_err *err)
{
	char pid[24];
	const char *vals[4] = { pid, q->tz, q->currency, end };
	PGresult *res;

	snprintf(pid, sizeof(pid), "%lld", (long long)q->project_id);
	/* T_END reads the day from $4 and the zone from $2, as in the summary. */
	if (!(res = db_params(db, fx_missing_sql, 4, vals, PGRES_TUPLES_OK, "ltv fx", err)))
		return false;
	out->fx_missing = col_i64(res, 0, 0);
	PQclear(res);
	return true;
}

bool db_ltv_load(struct db *db, const struct db_ltv_query *q, struct db_ltv_rows *out,
		 struct app_err *err)
{
	char pid[24], cal[16], end[16], extra[24];
	const char *vals[6] = { pid, q->tz, cal, end, q->currency, extra };
	const char *sql = grouped_sql;
	enum db_ltv_shape shape = q->shape;
	int64_t scores_run = 0;
	double t0 = now_ms();
	int n = 5;

	memset(out, 0, sizeof(*out));
	snprintf(pid, sizeof(pid), "%lld", (long long)q->project_id);
	snprintf(cal, sizeof(cal), "%d", (int)q->cal_end);
	snprintf(end, sizeof(end), "%d", (int)(q->holdout_end > q->cal_end ? q->holdout_end : q->cal_end));
	if (!db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err))
		return false;
	if (shape == DB_LTV_SEGMENTS) {
		if (!db_ltv_scores_run(db, q->project_id, &scores_run, err))
			goto fail;
		out->has_scores = scores_run > 0;
		out->scores_run = scores_run;
		if (scores_run > 0) {
			snprintf(extra, sizeof(extra), "%lld", (long long)scores_run);
			sql = segments_sql;
			n = 6;
		} else
			shape = DB_LTV_GROUPED; /* no generation: the segment column would be all NULL */
	} else if (shape == DB_LTV_PERSONS) {
		sql = q->person_id > 0 ? person_sql : persons_sql;
		if (q->person_id > 0) {
			snprintf(extra, sizeof(extra), "%lld", (long long)q->person_id);
			n = 6;
		}
	}
	/* A cursor over a CTE query: the planner must not aim for the first rows. */
	if (!db_exec(db, "SET LOCAL cursor_tuple_fraction = 1", err) ||
	    !fetch_rows(db, sql, n, vals, shape, out, err) ||
	    !count_fx_missing(db, q, end, out, err) || !db_exec(db, "COMMIT", err))
		goto fail;
	out->load_ms = now_ms() - t0;
	return true;
fail:
	db_rollback(db);
	db_ltv_rows_free(out);
	return false;
}

/* ---- history ------------------------------------------------------------- */

/* Acquisition instant per stitched person: first seen over the raw persons
 * merged into it, or its first net-paid order. */
#define ACQ_ALL                                                                         \
	"SELECT coalesce(po.person_id, p.person_id) AS pid, min(p.first_seen) AS t0"    \
	"  FROM persons p LEFT JOIN person_overrides po"                                \
	"    ON po.project_id = p.project_id AND po.old_person_id = p.person_id"        \
	" WHERE p.project_id = $1::bigint GROUP BY 1"
#define ACQ_PAYING                                                                      \
	"SELECT coalesce(po.person_id, o.person_id) AS pid, min(o.ts) AS t0"            \
	"  FROM orders o LEFT JOIN person_overrides po"                                 \
	"    ON po.project_id = o.project_id AND po.old_person_id = o.person_id"        \
	" WHERE o.project_id = $1::bigint AND o.status IN ('paid', 'partially_refunded')" \
	" GROUP BY 1"

/*
 * $1 project, $2 tz, $3 cohort unit, $4 age period seconds, $5 currency,
 * $6/$7 acquisition range (µs). Age k = floor((order - acquisition) / period);
 * an order before the acquisition instant (possible only for first_seen
 * acquisition when persons were back-filled) counts in age 0.
 */
#define COHORTS(acq)                                                                    \
	"WITH acq AS (" acq "),"                                                        \
	" coh AS (SELECT pid, t0, date_trunc($3, t0 AT TIME ZONE $2) AS c FROM acq"     \
	"          WHERE t0 >= to_timestamp($6::float8 / 1e6) AND t0 < to_timestamp($7::float8 / 1e6)),"  \
	" ord AS MATERIALIZED (SELECT coalesce(po.person_id, o.person_id) AS pid, o.ts,"   \
	"                             " NET " AS net"                                    \
	"           FROM orders o LEFT JOIN person_overrides po"                        \
	"             ON po.project_id = o.project_id AND po.old_person_id = o.person_id" \
	"          WHERE o.project_id = $1::bigint"                                     \
	"            AND o.status IN ('paid', 'partially_refunded')),"                  \
	" rev AS (SELECT coh.c,"                                                        \
	"                greatest(0, floor(extract(epoch FROM ord.ts - coh.t0) / $4::float8))::int AS k," \
	"                sum(ord.net)::bigint AS v"                                     \
	"           FROM coh JOIN ord USING (pid) WHERE ord.net IS NOT NULL GROUP BY 1, 2)," \
	" sz AS (SELECT c, count(*) AS n FROM coh GROUP BY c)"                          \
	" SELECT to_char(sz.c, 'YYYY-MM-DD'),"                                          \
	"        (extract(epoch FROM (sz.c + ('1 ' || $3)::interval) AT TIME ZONE $2) * 1000000)::int8," \
	"        sz.n, coalesce(rev.k, -1), coalesce(rev.v, 0)"                         \
	"   FROM sz LEFT JOIN rev USING (c) ORDER BY sz.c, 4"

static const char cohorts_all_sql[] = COHORTS(ACQ_ALL);
static const char cohorts_paying_sql[] = COHORTS(ACQ_PAYING);

bool db_ltv_cohorts(struct db *db, const struct db_ltv_cohort_query *q, struct db_ltv_cell **cells,
		    size_t *n, struct app_err *err)
{
	char pid[24], ps[32], from[24], to[24];
	const char *vals[7] = { pid, q->tz, q->period, ps, q->currency, from, to };
	PGresult *res;
	int nt;

	*cells = NULL;
	*n = 0;
	snprintf(pid, sizeof(pid), "%lld", (long long)q->project_id);
	snprintf(ps, sizeof(ps), "%.17g", q->period_s);
	snprintf(from, sizeof(from), "%lld", (long long)q->from_us);
	snprintf(to, sizeof(to), "%lld", (long long)q->to_us);
	res = db_params(db, q->paying ? cohorts_paying_sql : cohorts_all_sql, 7, vals,
			PGRES_TUPLES_OK, "ltv cohorts", err);
	if (!res)
		return false;
	nt = PQntuples(res);
	if (nt > 0 && !(*cells = calloc((size_t)nt, sizeof(**cells)))) {
		PQclear(res);
		return err_set(err, 500, "internal", NULL, "out of memory");
	}
	for (int i = 0; i < nt; i++) {
		struct db_ltv_cell *c = &(*cells)[i];
		snprintf(c->cohort, sizeof(c->cohort), "%s", PQgetvalue(res, i, 0));
		c->end_us = col_i64(res, i, 1);
		c->size = col_i64(res, i, 2);
		c->k = (int32_t)col_i64(res, i, 3);
		c->revenue = col_i64(res, i, 4);
	}
	*n = (size_t)nt;
	PQclear(res);
	return true;
}

/*
 * Every period from the later of the first acquisition and the period holding
 * $5 (from) to the one holding $4 - 1 µs (to), with the new persons of each
 * and the cumulative count including everyone acquired before the series.
 */
static const char growth_sql[] =
	"WITH acq AS (" ACQ_ALL "),"
	" b AS (SELECT date_trunc($3, t0 AT TIME ZONE $2) AS b FROM acq"
	"        WHERE t0 < to_timestamp($4::float8 / 1e6)),"
	" s AS (SELECT generate_series("
	"          greatest((SELECT min(b) FROM b),"
	"                   date_trunc($3, to_timestamp($5::float8 / 1e6) AT TIME ZONE $2)),"
	"          date_trunc($3, to_timestamp(($4::float8 - 1) / 1e6) AT TIME ZONE $2),"
	"          ('1 ' || $3)::interval) AS p)"
	" SELECT to_char(s.p, 'YYYY-MM-DD'), count(b.b),"
	"        (sum(count(b.b)) OVER (ORDER BY s.p)"
	"         + (SELECT count(*) FROM b WHERE b.b < (SELECT min(p) FROM s)))::int8"
	"   FROM s LEFT JOIN b ON b.b = s.p GROUP BY s.p ORDER BY s.p";

bool db_ltv_growth(struct db *db, const struct db_ltv_growth_query *q, struct db_ltv_period **out,
		   size_t *n, struct app_err *err)
{
	char pid[24], from[24], to[24];
	const char *vals[5] = { pid, q->tz, q->period, to, from };
	PGresult *res;
	int nt;

	*out = NULL;
	*n = 0;
	snprintf(pid, sizeof(pid), "%lld", (long long)q->project_id);
	snprintf(from, sizeof(from), "%lld", (long long)q->from_us);
	snprintf(to, sizeof(to), "%lld", (long long)q->to_us);
	if (!(res = db_params(db, growth_sql, 5, vals, PGRES_TUPLES_OK, "ltv growth", err)))
		return false;
	nt = PQntuples(res);
	if (nt > 0 && !(*out = calloc((size_t)nt, sizeof(**out)))) {
		PQclear(res);
		return err_set(err, 500, "internal", NULL, "out of memory");
	}
	for (int i = 0; i < nt; i++) {
		snprintf((*out)[i].start, sizeof((*out)[i].start), "%s", PQgetvalue(res, i, 0));
		(*out)[i].added = col_i64(res, i, 1);
		(*out)[i].cumulative = col_i64(res, i, 2);
	}
	*n = (size_t)nt;
	PQclear(res);
	return true;
}
