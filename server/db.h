/*
 * db.h - PostgreSQL connections and the fixed-size query pool.
 *
 * Only db*.c include libpq-fe.h; everything else sees `struct db` as opaque.
 * Call sequence for a query handler:
 *
 *     struct db *c = db_acquire(pool, 2000, err);   // 503 db_busy / db_unavailable
 *     if (!c) goto out;
 *     ok = db_something(c, ..., err);                // in a db_<area>.c file
 *     db_release(pool, c);                           // rolls back / drops if broken
 *
 * SQL errors are mapped to HTTP by one table (db_err_from_sqlstate); the SQL
 * text and PQerrorMessage are logged, never returned to clients.
 */
#ifndef DB_H
#define DB_H

#include <stdbool.h>
#include <stdint.h>

#include "server/err.h"

struct db;
struct db_pool;

/* Open one connection. conninfo is a libpq URI or key=value string; app names
 * the connection in pg_stat_activity. Returns NULL and fills err (503). */
struct db *db_open(const char *conninfo, const char *app, int statement_timeout_ms,
		   struct app_err *err);
void db_close(struct db *db);
/* True when the connection is usable (not known broken). */
bool db_alive(struct db *db);
/* Run SQL without parameters or results (BEGIN, COMMIT, DDL). */
bool db_exec(struct db *db, const char *sql, struct app_err *err) MUST_CHECK;
/* ROLLBACK if a transaction is open; drops the connection state on failure. */
void db_rollback(struct db *db);

/* Fixed pool of `size` connections opened lazily. NULL conninfo is invalid. */
struct db_pool *db_pool_new(const char *conninfo, int size, int statement_timeout_ms);
void db_pool_free(struct db_pool *pool);
/* Before the first db_acquire: the application_name of the pool's
 * connections and extra settings ("-c name=value ..."), both static strings. */
void db_pool_session(struct db_pool *pool, const char *app, const char *settings);
/* Wait up to timeout_ms for a free connection; 503 db_busy / db_unavailable. */
struct db *db_acquire(struct db_pool *pool, int timeout_ms, struct app_err *err);
/* Return a connection: a broken one is closed, an open transaction rolled back. */
void db_release(struct db_pool *pool, struct db *db);
/* SELECT 1 plus "migrations applied" check, for /ready. */
bool db_pool_ready(struct db_pool *pool, struct app_err *err);

/* Map a SQLSTATE (may be NULL for errors raised inside libpq) to err. */
void db_err_from_sqlstate(const char *sqlstate, struct app_err *err);

#endif
