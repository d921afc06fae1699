/*
 * db_revenue.c - see db_revenue.h.
 */
#include "server/db_revenue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/calendar.h"
#include "server/db_ingest.h"
#include "server/db_internal.h"

#define FETCH_ROWS "20000"

/* $1 project, $2 start, $3 end, $4 reporting currency. One row per order:
 * PostgreSQL only filters and converts foreign currencies; bucketing and
 * sums happen in C (db_rev_fetch). Grouping in SQL cost ~6x more on 134k
 * orders: numeric arithmetic on every row and a sort on width_bucket.
 * Fetched as binary rows (the FETCH's result format; a BINARY cursor is
 * overridden by the extended protocol): int8, timestamptz, bool, bool,
 * int8, int8 - no formatting and parsing of ~10^5 x 6 numbers as text. */
static const char rev_sql[] =
	"DECLARE cohortd_rev NO SCROLL CURSOR FOR"
	" SELECT p, t, net > 0, k IS NOT NULL OR same,"
	"        CASE WHEN same THEN amount ELSE round(amount * k)::int8 END,"
	"        CASE WHEN same THEN net ELSE round(net * k)::int8 END"
	" FROM (SELECT coalesce(po.person_id, o.person_id) AS p, o.ts AS t,"
	"              o.amount_minor AS amount, o.net_minor AS net, o.currency = $4 AS same,"
	"              CASE WHEN o.currency = $4 THEN NULL ELSE " DB_REVENUE_FACTOR_SQL " END AS k"
	"         FROM orders o LEFT JOIN person_overrides po"
	"           ON po.project_id = o.project_id AND po.old_person_id = o.person_id"
	"        WHERE o.project_id = $1::bigint AND o.state NOT IN ('pending', 'cancelled')"
	"          AND o.ts >= $2::timestamptz AND o.ts < $3::timestamptz) x";

static bool take(PGresult *res, struct db_rev *out, size_t *cap, const int64_t *bounds,
		 int32_t n_buckets)
{
	int n = PQntuples(res);

	if (out->n + (size_t)n > *cap) {
		size_t nc = *cap ? *cap * 2 : 4096;
		struct db_rev_row *rows;
		while (nc < out->n + (size_t)n)
			nc *= 2;
		if (!(rows = realloc(out->rows, nc * sizeof(*rows))))
			return false;
		out->rows = rows;
		*cap = nc;
	}
	for (int i = 0; i < n; i++) {
		struct db_rev_row *r = &out->rows[out->n++];
		memset(r, 0, sizeof(*r));
		r->person_id = db_bin_i64(res, i, 0);
		r->bucket = calendar_bound_index(bounds, n_buckets, db_bin_ts(res, i, 1));
		if (!db_bin_bool(res, i, 3)) {
			r->missing_fx = 1;
			continue;
		}
		r->paid_orders = db_bin_bool(res, i, 2);
		r->gross_minor = db_bin_i64(res, i, 4);
		r->net_minor = db_bin_i64(res, i, 5);
	}
	return true;
}

static int row_cmp(const void *a, const void *b)
{
	const struct db_rev_row *x = a, *y = b;

	if (x->person_id != y->person_id)
		return x->person_id < y->person_id ? -1 : 1;
	return (x->bucket > y->bucket) - (x->bucket < y->bucket);
}

/* Sort by (person, bucket) and fold each group into one row. */
static void group(struct db_rev *out)
{
	size_t w = 0;

	if (out->n < 2)
		return; /* also keeps the NULL of no rows away from qsort (UBSan) */
	qsort(out->rows, out->n, sizeof(*out->rows), row_cmp);
	for (size_t i = 0; i < out->n; i++) {
		struct db_rev_row *r = &out->rows[i], *g = &out->rows[w ? w - 1 : 0];
		if (w && g->person_id == r->person_id && g->bucket == r->bucket) {
			g->paid_orders += r->paid_orders;
			g->missing_fx += r->missing_fx;
			g->gross_minor += r->gross_minor;
			g->net_minor += r->net_minor;
		} else {
			out->rows[w++] = *r;
		}
	}
	out->n = w;
}

bool db_rev_fetch(struct db *db, int64_t project_id, const int64_t *bounds, int32_t n_buckets,
		  const char *currency, struct db_rev *out, struct app_err *err)
{
	char pid[24], start[64], end[64];
	const char *vals[4] = { pid, start, end, currency };
	size_t cap = 0;
	bool ok = false;
	PGresult *res;

	memset(out, 0, sizeof(*out));
	snprintf(pid, sizeof(pid), "%lld", (long long)project_id);
	db_format_ts(bounds[0], start);
	db_format_ts(bounds[n_buckets], end);
	/* The rate subplans inflate the cost estimate enough to trigger a JIT
	 * compile that costs more than the query; and every row is read, so
	 * plan for all of them (a cursor's default, 10 %, picked one index
	 * probe of person_overrides per order). */
	if (!db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err) ||
	    !db_exec(db, "SET LOCAL jit = off", err) ||
	    !db_exec(db, "SET LOCAL cursor_tuple_fraction = 1", err) ||
	    !(res = db_params(db, rev_sql, 4, vals, PGRES_COMMAND_OK, "declare revenue cursor", err)))
		goto out;
	PQclear(res);
	for (;;) {
		res = PQexecParams(db->conn, "FETCH " FETCH_ROWS " FROM cohortd_rev", 0, NULL, NULL,
				   NULL, NULL, 1);
		if (!db_check(db, res, PGRES_TUPLES_OK, "fetch revenue", err))
			goto out;
		if (PQntuples(res) == 0) {
			PQclear(res);
			break;
		}
		if (!take(res, out, &cap, bounds, n_buckets)) {
			PQclear(res);
			err_set(err, 500, "internal", NULL, "out of memory");
			goto out;
		}
		PQclear(res);
	}
	ok = db_exec(db, "COMMIT", err);
	if (ok)
		group(out);
out:
	if (!ok) {
		db_rollback(db);
		db_rev_free(out);
	}
	return ok;
}

void db_rev_free(struct db_rev *r)
{
	free(r->rows);
	r->rows = NULL;
	r->n = 0;
}
