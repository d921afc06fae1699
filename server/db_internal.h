/*
 * db_internal.h - shared by the db*.c files only (they alone see libpq).
 */
#ifndef DB_INTERNAL_H
#define DB_INTERNAL_H

#include <libpq-fe.h>

#include "server/db.h"

struct db {
	PGconn *conn;
	bool broken;      /* connection lost or in an unknown state: close, don't reuse */
	int stmt_timeout; /* ms, reapplied on reconnect */
	bool prepared_fast; /* db_ingest's fast statement is prepared on this connection */
	uint32_t prepared;  /* db_pipeline statements prepared here (bit prep-1) */
};

/* Check res has status `want`; otherwise log the error with `what`, mark the
 * connection broken when it is a connection failure, fill err and return false.
 * Always PQclear()s res when returning false. */
bool db_check(struct db *db, PGresult *res, ExecStatusType want, const char *what,
	      struct app_err *err);

/* Run a parameterised statement and expect `want`; returns the result (caller
 * PQclears) or NULL with err set. Parameters are text, NULL = SQL NULL. */
PGresult *db_params(struct db *db, const char *sql, int n, const char *const *vals,
		    ExecStatusType want, const char *what, struct app_err *err);

/* Merge raw person $2 into $3 in project $1: overrides stay flat (whatever
 * pointed at $2 now points at $3). Used by ingest and by order identities. */
#define DB_MERGE_SQL                                                                             \
	"WITH flat AS (UPDATE person_overrides SET person_id = $3::bigint"                         \
	"               WHERE project_id = $1::bigint AND person_id = $2::bigint)"                 \
	" INSERT INTO person_overrides (project_id, old_person_id, person_id)"                     \
	" VALUES ($1::bigint, $2::bigint, $3::bigint)"                                             \
	" ON CONFLICT (project_id, old_person_id) DO UPDATE SET person_id = EXCLUDED.person_id"

/* One statement of db_pipeline. */
struct db_pipe {
	const char *sql;
	int prep;                 /* 0: unnamed; 1..32: prepared once per connection as "cohortd_p<prep>" */
	int n;                    /* parameters (text; NULL = SQL NULL) */
	const char *const *vals;
	ExecStatusType want;      /* PGRES_COMMAND_OK or PGRES_TUPLES_OK */
	const char *what;         /* for the log */
	bool keep;                /* hand the result back in res (caller PQclears) */
	PGresult *res;
};

/*
 * Send n statements in one pipeline and read their results: one network
 * round trip instead of n. Statements still run one after the other, each
 * with its own snapshot, exactly as if sent one by one; after a failure the
 * rest are skipped and false comes back with err set (the caller rolls
 * back). Blocking mode: a statement whose results are large (RETURNING)
 * must come after the large parameters of the others, or the server may
 * block writing results while we block writing parameters.
 */
bool db_pipeline(struct db *db, struct db_pipe *st, int n, struct app_err *err);

/* Binary result columns (PQexecParams resultFormat 1, or a BINARY CURSOR):
 * big-endian integers; a timestamptz is µs since 2000-01-01. */
#define DB_PG_EPOCH_US INT64_C(946684800000000) /* 2000-01-01 in Unix µs */

static inline int64_t db_bin_i64(const PGresult *r, int row, int col)
{
	const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

static inline int32_t db_bin_i32(const PGresult *r, int row, int col)
{
	const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
	return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* A binary timestamptz as Unix µs. */
static inline int64_t db_bin_ts(const PGresult *r, int row, int col)
{
	return db_bin_i64(r, row, col) + DB_PG_EPOCH_US;
}

static inline bool db_bin_bool(const PGresult *r, int row, int col)
{
	return PQgetvalue(r, row, col)[0] != 0;
}


#endif
