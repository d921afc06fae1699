#include "server/db_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db_internal.h"
#include "server/log.h"
#include "server/store.h"

#define STORE_COLS "project_id, person_id, event," \
	" (extract(epoch FROM ts) * 1000000)::int8, (extract(epoch FROM received_at) * 1000000)::int8," \
	" message_id"

/* Hand one result's rows to the store (strings borrowed from res). */
static bool add_result(struct store *s, PGresult *res)
{
	int n = PQntuples(res);
	struct store_row *rows = malloc(((size_t)n + 1) * sizeof(*rows));

	if (!rows)
		return false;
	for (int i = 0; i < n; i++) {
		rows[i].project_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		rows[i].person_id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		rows[i].event = PQgetvalue(res, i, 2);
		rows[i].ts_us = strtoll(PQgetvalue(res, i, 3), NULL, 10);
		rows[i].recv_us = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		rows[i].message_id = PQgetvalue(res, i, 5);
	}
	store_add(s, rows, (size_t)n);
	free(rows);
	return true;
}

bool db_store_load(struct db *db, struct store *s, struct app_err *err)
{
	static const char declare[] =
		"DECLARE cohortd_load NO SCROLL CURSOR FOR SELECT " STORE_COLS
		" FROM events ORDER BY ts, received_at, message_id";
	long total = 0, next_log = 1000000;
	PGresult *res;

	if (!db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err) ||
	    !db_exec(db, "SET LOCAL work_mem = '256MB'", err) || !db_exec(db, declare, err))
		goto fail;
	for (;;) {
		res = db_params(db, "FETCH 100000 FROM cohortd_load", 0, NULL, PGRES_TUPLES_OK,
				"store load", err);
		if (!res)
			goto fail;
		if (PQntuples(res) == 0) {
			PQclear(res);
			break;
		}
		total += PQntuples(res);
		if (!add_result(s, res)) {
			PQclear(res);
			err_set(err, 500, "internal", NULL, "out of memory");
			goto fail;
		}
		PQclear(res);
		if (total >= next_log) {
			log_info("store: loaded %ld events", total);
			next_log += 1000000;
		}
	}
	log_info("store: load complete, %ld events", total);
	return db_exec(db, "COMMIT", err);
fail:
	db_rollback(db);
	return false;
}

bool db_store_poll(struct db *db, struct store *s, int64_t since_us, int32_t node,
		   struct app_err *err)
{
	static const char sql[] =
		"SELECT " STORE_COLS " FROM events"
		" WHERE received_at >= 'epoch'::timestamptz + $1::int8 * interval '1 microsecond'"
		"   AND ingest_node IS DISTINCT FROM $2::int"
		" ORDER BY ts, received_at, message_id";
	char since[24], nd[16];
	const char *vals[2] = { since, nd };
	PGresult *res;
	bool ok;

	snprintf(since, sizeof(since), "%lld", (long long)since_us);
	snprintf(nd, sizeof(nd), "%d", node);
	res = db_params(db, sql, 2, vals, PGRES_TUPLES_OK, "store poll", err);
	if (!res)
		return false;
	ok = add_result(s, res);
	PQclear(res);
	if (!ok)
		return err_set(err, 500, "internal", NULL, "out of memory");
	return true;
}

bool db_store_overrides(struct db *db, int64_t project_id, int64_t **old_ids, int64_t **new_ids,
			size_t *n, struct app_err *err)
{
	static const char sql[] =
		"SELECT old_person_id, person_id FROM person_overrides WHERE project_id = $1::bigint";
	char pid[24];
	const char *vals[1] = { pid };
	PGresult *res;
	int rows;

	snprintf(pid, sizeof(pid), "%lld", (long long)project_id);
	res = db_params(db, sql, 1, vals, PGRES_TUPLES_OK, "overrides", err);
	if (!res)
		return false;
	rows = PQntuples(res);
	*old_ids = malloc(((size_t)rows + 1) * sizeof(**old_ids));
	*new_ids = malloc(((size_t)rows + 1) * sizeof(**new_ids));
	if (!*old_ids || !*new_ids) {
		free(*old_ids);
		free(*new_ids);
		PQclear(res);
		return err_set(err, 500, "internal", NULL, "out of memory");
	}
	for (int i = 0; i < rows; i++) {
		(*old_ids)[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		(*new_ids)[i] = strtoll(PQgetvalue(res, i, 1), NULL, 10);
	}
	*n = (size_t)rows;
	PQclear(res);
	return true;
}
