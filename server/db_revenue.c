/*
 * db_revenue.c - see db_revenue.h.
 */
#include "server/db_revenue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/db_ingest.h"
#include "server/db_internal.h"

#define FETCH_ROWS "20000"

/* $1 project, $2 bucket lower bounds (timestamptz[]), $3 end, $4 reporting
 * currency. */
static const char rev_sql[] =
	"DECLARE cohortd_rev NO SCROLL CURSOR FOR"
	" SELECT p, b, count(*) FILTER (WHERE net > 0 AND k IS NOT NULL),"
	"        count(*) FILTER (WHERE k IS NULL),"
	"        coalesce(sum(round(amount * k)), 0)::int8, coalesce(sum(round(net * k)), 0)::int8"
	" FROM (SELECT coalesce(po.person_id, o.person_id) AS p,"
	"              width_bucket(o.ts, $2::timestamptz[]) - 1 AS b,"
	"              o.amount_minor AS amount, o.net_minor AS net, "
	DB_REVENUE_FACTOR_SQL " AS k"
	"         FROM orders o LEFT JOIN person_overrides po"
	"           ON po.project_id = o.project_id AND po.old_person_id = o.person_id"
	"        WHERE o.project_id = $1::bigint AND o.state NOT IN ('pending', 'cancelled')"
	"          AND o.ts >= ($2::timestamptz[])[1] AND o.ts < $3::timestamptz) x"
	" GROUP BY p, b ORDER BY p, b";


static bool take(PGresult *res, struct db_rev *out, size_t *cap)
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
		r->person_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		r->bucket = (int32_t)strtol(PQgetvalue(res, i, 1), NULL, 10);
		r->paid_orders = (int32_t)strtol(PQgetvalue(res, i, 2), NULL, 10);
		r->missing_fx = (int32_t)strtol(PQgetvalue(res, i, 3), NULL, 10);
		r->gross_minor = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		r->net_minor = strtoll(PQgetvalue(res, i, 5), NULL, 10);
	}
	return true;
}

bool db_rev_fetch(struct db *db, int64_t project_id, const int64_t *bounds, int32_t n_buckets,
		  const char *currency, struct db_rev *out, struct app_err *err)
{
	char pid[24], end[64], t[64], *lit = malloc((size_t)n_buckets * 40 + 3), *p = lit;
	const char *vals[4] = { pid, lit, end, currency };
	size_t cap = 0;
	bool ok = false;
	PGresult *res;

	memset(out, 0, sizeof(*out));
	if (!lit)
		return err_set(err, 500, "internal", NULL, "out of memory");
	*p++ = '{';
	for (int32_t i = 0; i < n_buckets; i++) {
		db_format_ts(bounds[i], t);
		p += sprintf(p, "%s\"%s\"", i ? "," : "", t);
	}
	strcpy(p, "}");
	snprintf(pid, sizeof(pid), "%lld", (long long)project_id);
	db_format_ts(bounds[n_buckets], end);
	/* A few hundred thousand orders: sort them in memory; the rate
	 * subplans inflate the cost estimate enough to trigger a JIT compile
	 * that costs more than the query. */
	if (!db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err) ||
	    !db_exec(db, "SET LOCAL work_mem = '128MB'", err) ||
	    !db_exec(db, "SET LOCAL jit = off", err) ||
	    !(res = db_params(db, rev_sql, 4, vals, PGRES_COMMAND_OK, "declare revenue cursor", err)))
		goto out;
	PQclear(res);
	for (;;) {
		res = db_params(db, "FETCH " FETCH_ROWS " FROM cohortd_rev", 0, NULL, PGRES_TUPLES_OK,
				"fetch revenue", err);
		if (!res)
			goto out;
		if (PQntuples(res) == 0) {
			PQclear(res);
			break;
		}
		if (!take(res, out, &cap)) {
			PQclear(res);
			err_set(err, 500, "internal", NULL, "out of memory");
			goto out;
		}
		PQclear(res);
	}
	ok = db_exec(db, "COMMIT", err);
out:
	if (!ok) {
		db_rollback(db);
		db_rev_free(out);
	}
	free(lit);
	return ok;
}

void db_rev_free(struct db_rev *r)
{
	free(r->rows);
	r->rows = NULL;
	r->n = 0;
}
