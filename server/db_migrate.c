/*
 * db_migrate.c - applies the embedded migrations (see migrate.h).
 */
#include "server/migrate.h"

#include <stdio.h>
#include <stdlib.h>

#include "server/db_internal.h"
#include "server/log.h"

/* Arbitrary constant shared by every cohortd: "cohortd" in ASCII. */
#define MIGRATE_LOCK_KEY "6563690010996068"

int migrate_latest(void)
{
	return migrate_count > 0 ? migrate_files[migrate_count - 1].version : 0;
}

static bool applied(struct db *db, int version, bool *yes, struct app_err *err)
{
	static const char sql[] = "SELECT 1 FROM schema_migrations WHERE version = $1::int";
	char v[16];
	const char *vals[1] = { v };
	PGresult *res;

	snprintf(v, sizeof(v), "%d", version);
	res = db_params(db, sql, 1, vals, PGRES_TUPLES_OK, "migration check", err);
	if (!res)
		return false;
	*yes = PQntuples(res) > 0;
	PQclear(res);
	return true;
}

static bool apply_one(struct db *db, const struct migration *m, struct app_err *err)
{
	static const char rec[] = "INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2)";
	char v[16];
	const char *vals[2] = { v, m->name };
	PGresult *res;

	snprintf(v, sizeof(v), "%d", m->version);
	if (!db_exec(db, "BEGIN", err))
		return false;
	/* PQexec runs the whole multi-statement file inside our transaction. */
	res = PQexec(db->conn, m->sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		PQclear(res);
	else if (!db_check(db, res, PGRES_COMMAND_OK, m->name, err))
		goto fail;
	else
		PQclear(res);
	res = db_params(db, rec, 2, vals, PGRES_COMMAND_OK, "record migration", err);
	if (!res)
		goto fail;
	PQclear(res);
	if (!db_exec(db, "COMMIT", err))
		goto fail;
	log_info("migrate: applied %s", m->name);
	return true;
fail:
	db_rollback(db);
	return false;
}

bool migrate_run(struct db *db, struct app_err *err)
{
	bool ok = false;
	PGresult *res;

	res = db_params(db, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL,
			PGRES_TUPLES_OK, "migration lock", err);
	if (!res)
		return false;
	PQclear(res);
	if (!db_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			 " version int PRIMARY KEY, name text NOT NULL,"
			 " applied_at timestamptz NOT NULL DEFAULT now())", err))
		goto out;
	for (int i = 0; i < migrate_count; i++) {
		bool yes = false;
		if (!applied(db, migrate_files[i].version, &yes, err))
			goto out;
		if (!yes && !apply_one(db, &migrate_files[i], err))
			goto out;
	}
	ok = true;
out:
	res = PQexec(db->conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")");
	PQclear(res);
	return ok;
}
