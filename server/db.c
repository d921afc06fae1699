/*
 * db.c - connections, the pool and the SQLSTATE map.
 *
 * The pool is fixed-size (Kore's conn_max): when every connection is busy a
 * caller waits up to its timeout, then gets 503 db_busy rather than a new
 * connection. Connections are opened lazily so cohortd starts while the
 * database is down and recovers by itself when it comes back.
 */
#include "server/db.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/db_internal.h"
#include "server/log.h"
#include "server/migrate.h"

struct db_pool {
	char *conninfo;
	const char *app;      /* application_name of its connections */
	const char *settings; /* extra "-c name=value" options, "" for none */
	int size;
	int stmt_timeout;
	struct db **idle;   /* stack of idle (possibly NULL = not yet opened) slots */
	int n_idle;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

void db_err_from_sqlstate(const char *st, struct app_err *err)
{
	if (!st || strncmp(st, "08", 2) == 0 || strncmp(st, "53", 2) == 0 ||
	    strncmp(st, "57P", 3) == 0) {
		err_set(err, 503, "db_unavailable", NULL, "database unavailable; retry later");
		err->retry_after = 1;
	} else if (strcmp(st, "23505") == 0)
		err_set(err, 409, "conflict", NULL, "conflicts with an existing record");
	else if (strcmp(st, "23503") == 0)
		err_set(err, 422, "invalid_reference", NULL, "refers to a record that does not exist");
	else if (strcmp(st, "23502") == 0 || strcmp(st, "23514") == 0 || strncmp(st, "22", 2) == 0)
		err_set(err, 422, "validation_failed", NULL, "value rejected by the database");
	else if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0) {
		err_set(err, 503, "db_busy", NULL, "database busy; retry");
		err->retry_after = 1;
	} else if (strcmp(st, "57014") == 0)
		err_set(err, 503, "timeout", NULL, "query took too long");
	else
		err_set(err, 500, "internal", NULL, "internal error");
}

bool db_check(struct db *db, PGresult *res, ExecStatusType want, const char *what,
	      struct app_err *err)
{
	const char *st;

	if (res && PQresultStatus(res) == want)
		return true;
	st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	log_error("db: %s failed (sqlstate %s): %s", what, st ? st : "none",
		  res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn));
	if (PQstatus(db->conn) != CONNECTION_OK || !st)
		db->broken = true;
	db_err_from_sqlstate(st, err);
	PQclear(res);
	return false;
}

PGresult *db_params(struct db *db, const char *sql, int n, const char *const *vals,
		    ExecStatusType want, const char *what, struct app_err *err)
{
	PGresult *res = PQexecParams(db->conn, sql, n, NULL, vals, NULL, NULL, 0);
	return db_check(db, res, want, what, err) ? res : NULL;
}

static bool pipe_prepare(struct db *db, const struct db_pipe *st, char *name, size_t cap,
			 struct app_err *err)
{
	PGresult *res;

	snprintf(name, cap, "cohortd_p%d", st->prep);
	if (db->prepared & (1u << (st->prep - 1)))
		return true;
	res = PQprepare(db->conn, name, st->sql, st->n, NULL);
	if (!db_check(db, res, PGRES_COMMAND_OK, st->what, err))
		return false;
	PQclear(res);
	db->prepared |= 1u << (st->prep - 1);
	return true;
}

bool db_pipeline(struct db *db, struct db_pipe *st, int n, struct app_err *err)
{
	char name[24];
	bool ok = true, sent = true;
	int i;

	for (i = 0; i < n; i++) {
		st[i].res = NULL;
		if (st[i].prep && !pipe_prepare(db, &st[i], name, sizeof(name), err))
			return false;
	}
	if (PQenterPipelineMode(db->conn) != 1) {
		db->broken = true;
		return err_set(err, 503, "db_unavailable", NULL, "database connection lost");
	}
	for (i = 0; sent && i < n; i++) {
		if (st[i].prep) {
			snprintf(name, sizeof(name), "cohortd_p%d", st[i].prep);
			sent = PQsendQueryPrepared(db->conn, name, st[i].n, st[i].vals, NULL, NULL, 0);
		} else {
			sent = PQsendQueryParams(db->conn, st[i].sql, st[i].n, NULL, st[i].vals, NULL,
						 NULL, 0);
		}
	}
	if (!sent || PQpipelineSync(db->conn) != 1) {
		log_error("db: pipeline send failed: %s", PQerrorMessage(db->conn));
		db->broken = true; /* results would be out of step: drop the connection */
		PQexitPipelineMode(db->conn);
		return err_set(err, 503, "db_unavailable", NULL, "database connection lost");
	}
	for (i = 0; i < n; i++) {
		PGresult *res = PQgetResult(db->conn), *extra;

		if (!res) {
			db->broken = true;
			ok = ok && err_set(err, 503, "db_unavailable", NULL, "database connection lost");
			break;
		}
		while ((extra = PQgetResult(db->conn)) != NULL) /* the NULL ending each query */
			PQclear(extra);
		if (!ok || PQresultStatus(res) == PGRES_PIPELINE_ABORTED) {
			PQclear(res);
			continue;
		}
		if (!db_check(db, res, st[i].want, st[i].what, err)) {
			ok = false;
			continue;
		}
		if (st[i].keep)
			st[i].res = res;
		else
			PQclear(res);
	}
	/* The sync point, then back to normal mode. */
	for (PGresult *res; !db->broken && (res = PQgetResult(db->conn)) != NULL;) {
		bool sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
		PQclear(res);
		if (sync)
			break;
	}
	if (PQexitPipelineMode(db->conn) != 1)
		db->broken = true;
	if (!ok)
		for (i = 0; i < n; i++) {
			PQclear(st[i].res);
			st[i].res = NULL;
		}
	return ok;
}

/* Server NOTICEs ("relation already exists, skipping") go to the debug log. */
static void on_notice(void *arg, const char *message)
{
	(void)arg;
	log_debug("db notice: %s", message);
}

static struct db *open_with(const char *conninfo, const char *app, int statement_timeout_ms,
			    const char *settings, struct app_err *err)
{
	char opts[256];
	const char *keys[] = { "dbname", "application_name", "options", "connect_timeout", NULL };
	const char *vals[] = { conninfo, app, opts, "2", NULL };
	struct db *db;

	snprintf(opts, sizeof(opts), "-c statement_timeout=%d %s", statement_timeout_ms, settings);
	db = calloc(1, sizeof(*db));
	if (!db) {
		err_set(err, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	db->stmt_timeout = statement_timeout_ms;
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
		/* PQerrorMessage never contains the password; the conninfo is not logged. */
		log_warn("db: connect failed: %s", db->conn ? PQerrorMessage(db->conn) : "no memory");
		err_set(err, 503, "db_unavailable", NULL, "database unavailable; retry later");
		err->retry_after = 1;
		db_close(db);
		return NULL;
	}
	PQsetNoticeProcessor(db->conn, on_notice, NULL);
	return db;
}

struct db *db_open(const char *conninfo, const char *app, int statement_timeout_ms,
		   struct app_err *err)
{
	return open_with(conninfo, app, statement_timeout_ms, "", err);
}

void db_close(struct db *db)
{
	if (!db)
		return;
	PQfinish(db->conn);
	free(db);
}

bool db_alive(struct db *db)
{
	return db && !db->broken && PQstatus(db->conn) == CONNECTION_OK;
}

bool db_exec(struct db *db, const char *sql, struct app_err *err)
{
	PGresult *res = PQexec(db->conn, sql);
	if (!db_check(db, res, PGRES_COMMAND_OK, sql, err))
		return false;
	PQclear(res);
	return true;
}

void db_rollback(struct db *db)
{
	PGresult *res;

	if (!db || PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		return;
	res = PQexec(db->conn, "ROLLBACK");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		db->broken = true;
	PQclear(res);
}

struct db_pool *db_pool_new(const char *conninfo, int size, int statement_timeout_ms)
{
	struct db_pool *p = calloc(1, sizeof(*p));

	if (!p || size < 1)
		goto fail;
	p->conninfo = strdup(conninfo);
	p->idle = calloc((size_t)size, sizeof(*p->idle));
	if (!p->conninfo || !p->idle)
		goto fail;
	p->size = size;
	p->n_idle = size; /* all slots NULL: opened on first use */
	p->stmt_timeout = statement_timeout_ms;
	p->app = "cohortd-query";
	p->settings = "";
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	return p;
fail:
	if (p) {
		free(p->conninfo);
		free(p->idle);
	}
	free(p);
	return NULL;
}

void db_pool_session(struct db_pool *p, const char *app, const char *settings)
{
	p->app = app;
	p->settings = settings;
}

void db_pool_free(struct db_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n_idle; i++)
		db_close(p->idle[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->idle);
	free(p->conninfo);
	free(p);
}

struct db *db_acquire(struct db_pool *p, int timeout_ms, struct app_err *err)
{
	struct timespec deadline;
	struct db *db;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->mu);
	while (p->n_idle == 0)
		if (pthread_cond_timedwait(&p->cv, &p->mu, &deadline) == ETIMEDOUT && p->n_idle == 0) {
			pthread_mutex_unlock(&p->mu);
			err_set(err, 503, "db_busy", NULL, "all database connections are busy; retry");
			err->retry_after = 1;
			return NULL;
		}
	db = p->idle[--p->n_idle];
	pthread_mutex_unlock(&p->mu);

	if (db && !db_alive(db)) {
		db_close(db);
		db = NULL;
	}
	if (!db)
		db = open_with(p->conninfo, p->app, p->stmt_timeout, p->settings, err);
	if (!db) {
		/* Give the empty slot back so the pool does not shrink. */
		pthread_mutex_lock(&p->mu);
		p->idle[p->n_idle++] = NULL;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	return db;
}

void db_release(struct db_pool *p, struct db *db)
{
	if (db) {
		db_rollback(db);
		if (!db_alive(db)) {
			db_close(db);
			db = NULL;
		}
	}
	pthread_mutex_lock(&p->mu);
	p->idle[p->n_idle++] = db;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

bool db_pool_ready(struct db_pool *p, struct app_err *err)
{
	static const char sql[] = "SELECT 1 FROM schema_migrations WHERE version = $1::int";
	char v[16];
	const char *vals[1] = { v };
	struct db *db = db_acquire(p, 1000, err);
	PGresult *res;
	bool ok;

	if (!db)
		return false;
	snprintf(v, sizeof(v), "%d", migrate_latest());
	res = db_params(db, sql, 1, vals, PGRES_TUPLES_OK, "ready check", err);
	ok = res != NULL && PQntuples(res) == 1;
	if (res && !ok)
		err_set(err, 503, "not_migrated", NULL, "database schema is not migrated yet");
	PQclear(res);
	db_release(p, db);
	return ok;
}
