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

#endif
