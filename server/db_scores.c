/*
 * db_scores.c - see db_scores.h: generations, runs and the schedule. The
 * inputs are in db_scores_load.c, the reads in db_scores_read.c.
 */
#include "server/db_scores.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db_internal.h"
#include "server/log.h"

/* Advisory lock keys (first int4): "cscr" owner locks, "cssc" the scheduler. */
#define OWNER_KEY "1668506482"
#define SCHED_KEY "1668510563"

static void fmt_i64(char *buf, size_t cap, long long v)
{
	snprintf(buf, cap, "%lld", v);
}

static int64_t col_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* ---- generations ----------------------------------------------------------- */

/* The generation's table name is person_scores_<run id>: an integer this
 * process formats, never input. COPY and DETACH take no parameters. */
#define COPY_COLS                                                                                 \
	"(project_id, run_id, person_id, first_active, last_active, paid_orders,"                    \
	" rfm_recency_days, rfm_frequency, rfm_monetary, rfm_r, rfm_f, rfm_m, rfm_fm, rfm11, rfm8,"   \
	" lifecycle, value_tier, aipl, aarrr, referrals, ltv_historical, p_alive,"                    \
	" expected_purchases_30d, expected_purchases_90d, expected_purchases_365d, clv_predicted)"

bool db_scores_copy_begin(struct db *db, int64_t run_id, struct app_err *err)
{
	char rid[24], copy[640];
	const char *v[1] = { rid };
	PGresult *res;

	fmt_i64(rid, sizeof(rid), run_id);
	/* FREEZE: the table is new in this transaction, so its rows can be
	 * written frozen; readers then never set hint bits on its pages. */
	snprintf(copy, sizeof(copy), "COPY person_scores_%lld " COPY_COLS " FROM STDIN WITH (FREEZE)",
		 (long long)run_id);
	if (!db_exec(db, "BEGIN", err))
		return false;
	res = db_params(db, "SELECT cohortd_scores_generation_create($1::bigint)", 1, v,
			PGRES_TUPLES_OK, "create generation", err);
	if (!res) {
		db_rollback(db);
		return false;
	}
	PQclear(res);
	res = PQexec(db->conn, copy);
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
	res = db_params(db, "SELECT cohortd_scores_generation_analyze($1::bigint)", 1, fv + 1,
			PGRES_TUPLES_OK, "analyze generation", err);
	if (!res)
		goto fail;
	PQclear(res);
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

/* Detach one stale generation and drop it. A detach left pending by an
 * interrupted run (killed between its two transactions) is finalized. */
static bool drop_generation(struct db *db, int64_t run_id, bool pending, struct app_err *err)
{
	char sql[160], rid[24];
	const char *v[1] = { rid };
	PGresult *res;

	fmt_i64(rid, sizeof(rid), run_id);
	snprintf(sql, sizeof(sql), "ALTER TABLE person_scores DETACH PARTITION person_scores_%lld %s",
		 (long long)run_id, pending ? "FINALIZE" : "CONCURRENTLY");
	if (!db_exec(db, sql, err))
		return false;
	res = db_params(db, "SELECT cohortd_scores_generation_drop($1::bigint)", 1, v,
			PGRES_TUPLES_OK, "drop generation", err);
	PQclear(res);
	return res != NULL;
}

bool db_scores_purge(struct db *db, int64_t project_id, int64_t *dropped, struct app_err *err)
{
	static const char stale_sql[] = "SELECT run_id, pending FROM cohortd_scores_generations_stale()";
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
	bool ok = true;

	*dropped = 0;
	res = db_params(db, stale_sql, 0, NULL, PGRES_TUPLES_OK, "stale generations", err);
	if (!res)
		return false;
	for (int i = 0; ok && i < PQntuples(res); i++) {
		ok = drop_generation(db, col_i64(res, i, 0), strcmp(PQgetvalue(res, i, 1), "t") == 0,
				     err);
		*dropped += ok;
	}
	PQclear(res);
	if (!ok)
		return false;
	fmt_i64(pid, sizeof(pid), project_id);
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
