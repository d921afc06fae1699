/*
 * db_ltv_runs.c - model_runs rows and the predictive columns of
 * person_scores (see db_ltv.h).
 *
 * Liveness of a running fit is a session advisory lock held by the
 * connection that runs it, as score runs do (db_scores.c): taken in the same
 * statement that inserts the row, so no reader can see a 'running' row
 * without its lock; released in the statement that completes it, or by
 * PostgreSQL when the process dies. A reader that finds a 'running' row with
 * a free lock marks it failed.
 */
#include "server/db_ltv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db_internal.h"
#include "server/log.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define LOCK_KEY STR(DB_LTV_LOCK_KEY)
/* Second lock key: run ids fold into int4 (they never get near 2^31). */
#define LOCK_ID(col) "(" col " % 2147483647)::int"

static void fmt_i64(char *buf, size_t cap, long long v)
{
	snprintf(buf, cap, "%lld", v);
}

bool db_ltv_run_start(struct db *db, const struct db_ltv_run_new *r, int64_t *run_id,
		      struct app_err *err)
{
	static const char sql[] =
		"WITH r AS (INSERT INTO model_runs (project_id, kind, spend_model, trigger, params,"
		"                                   calibration_end, time_unit)"
		"           VALUES ($1::bigint, $2, $3, $4, $5::jsonb, DATE '1970-01-01' + $6::int, $7)"
		"           RETURNING run_id)"
		" SELECT run_id, pg_advisory_lock(" LOCK_KEY ", " LOCK_ID("run_id") ") FROM r";
	char pid[24], cal[16];
	const char *vals[7] = { pid, r->kind, r->spend_model, r->trigger, r->params, cal, r->time_unit };
	PGresult *res;

	fmt_i64(pid, sizeof(pid), (long long)r->project_id);
	fmt_i64(cal, sizeof(cal), (long long)r->cal_end);
	if (!(res = db_params(db, sql, 7, vals, PGRES_TUPLES_OK, "ltv run start", err)))
		return false;
	*run_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return true;
}

static void fmt_real(char *buf, size_t cap, double v)
{
	if (isfinite(v))
		snprintf(buf, cap, "%.17g", v);
	else
		snprintf(buf, cap, "NaN"); /* float8 accepts it; the column is then read back as null */
}

bool db_ltv_run_finish(struct db *db, int64_t project_id, int64_t run_id,
		       const struct db_ltv_run_done *d, struct app_err *err)
{
	static const char sql[] =
		"WITH u AS (UPDATE model_runs SET status = 'done', parameters = $3::jsonb,"
		"    spend = $4::jsonb, timings = $5::jsonb,"
		"    log_likelihood = CASE WHEN $6::float8 = 'NaN' THEN NULL ELSE $6::float8 END,"
		"    iterations = $7::int, evaluations = $8::int, converged = $9::boolean,"
		"    usable = $10::boolean, reason = $11, n_persons = $12::bigint,"
		"    n_patterns = $13::bigint, scores = $14::jsonb, finished_at = now()"
		"  WHERE project_id = $1::bigint AND run_id = $2::bigint RETURNING run_id)"
		" SELECT pg_advisory_unlock(" LOCK_KEY ", " LOCK_ID("run_id") ") FROM u";
	char pid[24], rid[24], ll[32], it[16], ev[16], np[24], npat[24];
	const char *vals[14] = { pid, rid, d->parameters, d->spend, d->timings, ll, it, ev,
				 d->converged ? "true" : "false", d->usable ? "true" : "false",
				 d->reason, np, npat, d->scores };
	PGresult *res;

	fmt_i64(pid, sizeof(pid), (long long)project_id);
	fmt_i64(rid, sizeof(rid), (long long)run_id);
	fmt_real(ll, sizeof(ll), d->log_lik);
	fmt_i64(it, sizeof(it), d->iterations);
	fmt_i64(ev, sizeof(ev), d->evaluations);
	fmt_i64(np, sizeof(np), (long long)d->persons);
	fmt_i64(npat, sizeof(npat), (long long)d->patterns);
	if (!(res = db_params(db, sql, 14, vals, PGRES_TUPLES_OK, "ltv run finish", err)))
		return false;
	PQclear(res);
	return true;
}

bool db_ltv_run_fail(struct db *db, int64_t project_id, int64_t run_id, const char *message,
		     const char *timings, struct app_err *err)
{
	static const char sql[] =
		"WITH u AS (UPDATE model_runs SET status = 'failed', error = $3, timings = $4::jsonb,"
		"    finished_at = now()"
		"  WHERE project_id = $1::bigint AND run_id = $2::bigint RETURNING run_id)"
		" SELECT pg_advisory_unlock(" LOCK_KEY ", " LOCK_ID("run_id") ") FROM u";
	char pid[24], rid[24];
	const char *vals[4] = { pid, rid, message, timings ? timings : "{}" };
	PGresult *res;

	fmt_i64(pid, sizeof(pid), (long long)project_id);
	fmt_i64(rid, sizeof(rid), (long long)run_id);
	if (!(res = db_params(db, sql, 4, vals, PGRES_TUPLES_OK, "ltv run fail", err)))
		return false;
	PQclear(res);
	return true;
}

/* A running row whose lock nobody in this database holds: its process died. */
static const char reap_sql[] =
	"UPDATE model_runs r SET status = 'failed', finished_at = now(),"
	"       error = 'interrupted: the cohortd process running the fit stopped'"
	" WHERE r.project_id = $1::bigint AND r.status = 'running'"
	"   AND ($2::bigint = 0 OR r.run_id = $2::bigint)"
	"   AND NOT EXISTS (SELECT 1 FROM pg_locks l"
	"                    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
	"                      AND l.database = (SELECT oid FROM pg_database"
	"                                         WHERE datname = current_database())"
	"                      AND l.classid = " LOCK_KEY "::oid"
	"                      AND l.objid = " LOCK_ID("r.run_id") "::oid)";

/*
 * Numbers of a jsonb object through float8: numeric prints 5.4e119 as 120
 * plain digits, which JSON parsers (Jansson) read as an overflowing integer,
 * and a fit at a boundary optimum does store such parameters.
 */
#define FLOATS(obj)                                                                      \
	"(SELECT json_object_agg(k, to_json((v #>> '{}')::float8)) FROM jsonb_each(" obj ") e(k, v))"

/* json, not jsonb, so the float8 texts above survive. */
#define RUN_JSON                                                                         \
	"SELECT json_build_object('id', run_id, 'model', kind, 'spend_model', spend_model,"  \
	"  'trigger', trigger, 'status', status,"                                        \
	"  'calibration_end', to_char(calibration_end, 'YYYY-MM-DD'), 'time_unit', time_unit," \
	"  'days_per_time_unit', CASE time_unit WHEN 'week' THEN 7 ELSE 1 END,"          \
	"  'request', params, 'parameters', " FLOATS("parameters") ","                   \
	"  'log_likelihood', log_likelihood,"                                            \
	"  'iterations', iterations, 'evaluations', evaluations, 'converged', converged," \
	"  'reason', reason, 'persons', n_persons, 'patterns', n_patterns,"              \
	"  'spend', CASE WHEN jsonb_typeof(spend) = 'object' THEN"                       \
	"    (SELECT json_object_agg(k, CASE jsonb_typeof(v)"                           \
	"                                 WHEN 'number' THEN to_json((v #>> '{}')::float8)" \
	"                                 WHEN 'object' THEN " FLOATS("v")                 \
	"                                 ELSE v::json END)"                             \
	"       FROM jsonb_each(spend) e(k, v)) END,"                                    \
	"  'usable', usable, 'timings', timings, 'scores', scores, 'error', error,"      \
	"  'created_at', created_at, 'finished_at', finished_at)::text"                  \
	"  FROM model_runs WHERE project_id = $1::bigint "

static const char by_id_sql[] = RUN_JSON "AND run_id = $2::bigint";
static const char latest_sql[] = RUN_JSON "AND usable AND kind = $2 ORDER BY run_id DESC LIMIT 1";

bool db_ltv_run_get(struct db *db, int64_t project_id, int64_t run_id, const char *kind,
		    json_t **out, struct app_err *err)
{
	char pid[24], rid[24];
	const char *vals[2] = { pid, rid };
	PGresult *res;

	*out = NULL;
	fmt_i64(pid, sizeof(pid), (long long)project_id);
	fmt_i64(rid, sizeof(rid), (long long)run_id);
	if (run_id > 0) {
		if (!(res = db_params(db, reap_sql, 2, vals, PGRES_COMMAND_OK, "ltv run reap", err)))
			return false;
		PQclear(res);
	} else
		vals[1] = kind;
	res = db_params(db, run_id > 0 ? by_id_sql : latest_sql, 2, vals, PGRES_TUPLES_OK,
			"ltv run", err);
	if (!res)
		return false;
	if (PQntuples(res) == 1 && !(*out = json_loads(PQgetvalue(res, 0, 0), 0, NULL))) {
		PQclear(res);
		return err_set(err, 500, "internal", NULL, "run encoding failed");
	}
	PQclear(res);
	return true;
}

/* ---- person_scores -------------------------------------------------------- */

static char *put_real(char *o, double v)
{
	if (!isfinite(v)) {
		memcpy(o, "\\N", 2);
		return o + 2;
	}
	return o + sprintf(o, "%.17g", v);
}

/* COPY the predictions into the temporary table ltv_pred, 64 KiB at a time. */
static bool copy_preds(struct db *db, const struct db_ltv_pred *p, size_t n, struct app_err *err)
{
	enum { CHUNK = 65536, ROW_MAX = 256 };
	char *buf = malloc(CHUNK + ROW_MAX), *o;
	PGresult *res;
	bool ok = true;

	if (!buf)
		return err_set(err, 500, "internal", NULL, "out of memory");
	res = PQexec(db->conn, "COPY ltv_pred FROM STDIN");
	if (!db_check(db, res, PGRES_COPY_IN, "ltv pred copy", err)) {
		free(buf);
		return false;
	}
	PQclear(res);
	o = buf;
	for (size_t i = 0; ok && i < n; i++) {
		o += sprintf(o, "%lld\t", (long long)p[i].person_id);
		o = put_real(o, p[i].p_alive);
		*o++ = '\t';
		o = put_real(o, p[i].purchases_30d);
		*o++ = '\t';
		o = put_real(o, p[i].purchases_90d);
		*o++ = '\t';
		o = put_real(o, p[i].purchases_365d);
		*o++ = '\t';
		o = put_real(o, p[i].clv_minor);
		*o++ = '\n';
		if (o - buf >= CHUNK || i + 1 == n) {
			ok = PQputCopyData(db->conn, buf, (int)(o - buf)) == 1;
			o = buf;
		}
	}
	free(buf);
	if (PQputCopyEnd(db->conn, ok ? NULL : "aborted") != 1)
		ok = false;
	res = PQgetResult(db->conn);
	ok = db_check(db, res, PGRES_COMMAND_OK, "ltv pred copy end", err) && ok;
	if (ok)
		PQclear(res);
	while ((res = PQgetResult(db->conn)))
		PQclear(res);
	return ok ? true : err->status ? false : err_set(err, 500, "internal", NULL, "copy failed");
}

static const char lock_current_sql[] =
	"SELECT run_id FROM score_current WHERE project_id = $1::bigint FOR SHARE";
static const char update_sql[] =
	"UPDATE person_scores s SET p_alive = t.p_alive, expected_purchases_30d = t.e30,"
	"       expected_purchases_90d = t.e90, expected_purchases_365d = t.e365,"
	"       clv_predicted = t.clv"
	"  FROM ltv_pred t"
	" WHERE s.project_id = $1::bigint AND s.run_id = $2::bigint AND s.person_id = t.person_id";
static const char clear_sql[] =
	"UPDATE person_scores s SET p_alive = NULL, expected_purchases_30d = NULL,"
	"       expected_purchases_90d = NULL, expected_purchases_365d = NULL, clv_predicted = NULL"
	" WHERE s.project_id = $1::bigint AND s.run_id = $2::bigint"
	"   AND (s.p_alive IS NOT NULL OR s.expected_purchases_30d IS NOT NULL"
	"        OR s.expected_purchases_90d IS NOT NULL OR s.expected_purchases_365d IS NOT NULL"
	"        OR s.clv_predicted IS NOT NULL)"
	"   AND NOT EXISTS (SELECT 1 FROM ltv_pred t WHERE t.person_id = s.person_id)";

bool db_ltv_scores_write(struct db *db, int64_t project_id, const struct db_ltv_pred *p,
			 size_t n, int64_t *written, struct app_err *err)
{
	char pid[24], rid[24];
	const char *vals[2] = { pid, rid };
	int64_t current = 0;
	PGresult *res;

	*written = 0;
	if (!db_ltv_scores_run(db, project_id, &current, err))
		return false;
	if (current == 0)
		return true;
	fmt_i64(pid, sizeof(pid), (long long)project_id);
	if (!db_exec(db, "BEGIN", err))
		return false;
	if (!(res = db_params(db, lock_current_sql, 1, vals, PGRES_TUPLES_OK, "ltv scores lock", err)))
		goto fail;
	if (PQntuples(res) == 1)
		current = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	fmt_i64(rid, sizeof(rid), (long long)current);
	if (!db_exec(db, "CREATE TEMP TABLE ltv_pred (person_id bigint PRIMARY KEY, p_alive float8,"
			 " e30 float8, e90 float8, e365 float8, clv float8) ON COMMIT DROP", err) ||
	    !copy_preds(db, p, n, err) || !db_exec(db, "ANALYZE ltv_pred", err))
		goto fail;
	if (!(res = db_params(db, update_sql, 2, vals, PGRES_COMMAND_OK, "ltv scores update", err)))
		goto fail;
	*written = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (!(res = db_params(db, clear_sql, 2, vals, PGRES_COMMAND_OK, "ltv scores clear", err)))
		goto fail;
	PQclear(res);
	if (!db_exec(db, "COMMIT", err))
		goto fail;
	return true;
fail:
	db_rollback(db);
	return false;
}
