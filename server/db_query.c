/*
 * db_query.c - see db_query.h.
 *
 * Filter SQL is assembled only from the constant templates below; property
 * keys travel as a text[] path parameter (`e.properties #>> $3::text[]`) and
 * values as parameters, so no user input is ever spliced into SQL text.
 */
#include "server/db_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db_internal.h"

bool db_settings_get(struct db *db, int64_t project_id, struct db_settings *s,
		     struct app_err *err)
{
	static const char sql[] =
		"SELECT timezone, currency, config::text FROM settings WHERE project_id = $1::bigint";
	char pid[24];
	const char *vals[1] = { pid };
	PGresult *res;

	memset(s, 0, sizeof(*s));
	snprintf(pid, sizeof(pid), "%lld", (long long)project_id);
	res = db_params(db, sql, 1, vals, PGRES_TUPLES_OK, "settings", err);
	if (!res)
		return false;
	if (PQntuples(res) == 1) {
		snprintf(s->timezone, sizeof(s->timezone), "%s", PQgetvalue(res, 0, 0));
		snprintf(s->currency, sizeof(s->currency), "%s", PQgetvalue(res, 0, 1));
		s->config = strdup(PQgetvalue(res, 0, 2));
	} else {
		strcpy(s->timezone, "UTC");
		strcpy(s->currency, "USD");
		s->config = strdup("{}");
	}
	PQclear(res);
	if (!s->config)
		return err_set(err, 500, "internal", NULL, "out of memory");
	return true;
}

void db_settings_cleanup(struct db_settings *s)
{
	free(s->config);
	s->config = NULL;
}

bool db_check_tz(struct db *db, const char *tz, const char *field, struct app_err *err)
{
	static const char sql[] = "SELECT 1 FROM pg_timezone_names WHERE name = $1";
	const char *vals[1] = { tz };
	PGresult *res = db_params(db, sql, 1, vals, PGRES_TUPLES_OK, "tz check", err);
	bool ok;

	if (!res)
		return false;
	ok = PQntuples(res) > 0;
	PQclear(res);
	if (!ok)
		return err_set(err, 400, "validation_failed", field,
			       "%s is not a known IANA time zone", field);
	return true;
}

bool db_local_time(struct db *db, const char *s, const char *tz, int64_t *us, struct app_err *err)
{
	/* A time part ending in Z or ±hh[:mm] is absolute; otherwise wall time in
	 * tz. (The time part is required: "2026-01-05" must not read as -05.) */
	static const char sql[] =
		"SELECT (extract(epoch FROM CASE WHEN $1 ~ '[Tt ][0-9]{2}:[0-9]{2}.*([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$'"
		"                                THEN $1::timestamptz"
		"                                ELSE $1::timestamp AT TIME ZONE $2 END)"
		"        * 1000000)::int8";
	const char *vals[2] = { s, tz };
	PGresult *res = db_params(db, sql, 2, vals, PGRES_TUPLES_OK, "local time", err);

	if (!res)
		return false;
	*us = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return true;
}

bool db_local_days(struct db *db, const char *tz, int64_t from_us, int64_t to_us,
		   int64_t **midnights, int32_t *n_days, int *y, int *m, int *d, struct app_err *err)
{
	/* Local dates touching the range, then each local midnight as a UTC
	 * instant; one extra row closes the last day. */
	static const char sql[] =
		"WITH r AS (SELECT (to_timestamp($1::int8 / 1e6) AT TIME ZONE $3)::date AS d0,"
		"                  (to_timestamp(($2::int8 - 1) / 1e6) AT TIME ZONE $3)::date AS d1)"
		" SELECT to_char(g::date, 'YYYY-MM-DD'),"
		"        (extract(epoch FROM (g::date::timestamp AT TIME ZONE $3)) * 1000000)::int8"
		"   FROM r, generate_series(r.d0, r.d1 + 1, interval '1 day') g ORDER BY g";
	char f[24], t[24];
	const char *vals[3] = { f, t, tz };
	PGresult *res;
	int n;

	snprintf(f, sizeof(f), "%lld", (long long)from_us);
	snprintf(t, sizeof(t), "%lld", (long long)(to_us > from_us ? to_us : from_us + 1));
	res = db_params(db, sql, 3, vals, PGRES_TUPLES_OK, "local days", err);
	if (!res)
		return false;
	n = PQntuples(res);
	*midnights = malloc((size_t)n * sizeof(**midnights));
	if (n < 2 || !*midnights) {
		PQclear(res);
		free(*midnights);
		*midnights = NULL;
		return err_set(err, 500, "internal", NULL, "cannot build the local calendar");
	}
	for (int i = 0; i < n; i++)
		(*midnights)[i] = strtoll(PQgetvalue(res, i, 1), NULL, 10);
	sscanf(PQgetvalue(res, 0, 0), "%d-%d-%d", y, m, d);
	*n_days = n - 1;
	PQclear(res);
	return true;
}

bool db_filter_op_parse(const char *s, enum db_filter_op *op)
{
	static const char *const names[] = { "eq", "neq", "in", "contains", "gt", "lt", "is_set" };
	for (int i = 0; i < 7; i++)
		if (strcmp(s, names[i]) == 0) {
			*op = (enum db_filter_op)i;
			return true;
		}
	return false;
}

bool db_filter_path_valid(const char *path)
{
	const char *rest;
	int segs = 0;

	if (strncmp(path, "properties.", 11) == 0)
		rest = path + 11;
	else if (strncmp(path, "context.", 8) == 0)
		rest = path + 8;
	else
		return false;
	if (!*rest || strlen(rest) > 200)
		return false;
	for (const char *p = rest; *p; p++) {
		if (*p == '.' && (p[1] == '.' || p[1] == '\0'))
			return false;
		segs += *p == '.';
	}
	return segs < 8;
}

void db_sql_add(struct db_sql *q, const char *s)
{
	size_t n = strlen(s);
	if (q->failed)
		return;
	if (q->len + n + 1 > q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 2048;
		char *t;
		while (cap < q->len + n + 1)
			cap *= 2;
		t = realloc(q->text, cap);
		if (!t) {
			q->failed = true;
			return;
		}
		q->text = t;
		q->cap = cap;
	}
	memcpy(q->text + q->len, s, n + 1);
	q->len += n;
}

void db_sql_param(struct db_sql *q, const char *value, bool copy)
{
	char ph[16];
	if (q->n >= 256) {
		q->failed = true;
		return;
	}
	if (copy && value) {
		q->owned[q->n] = strdup(value);
		if (!q->owned[q->n])
			q->failed = true;
		value = q->owned[q->n];
	}
	q->params[q->n++] = value;
	snprintf(ph, sizeof(ph), "$%d", q->n);
	db_sql_add(q, ph);
}

/* properties.a.b -> column "e.properties" and path literal {a,b} (a text[]
 * parameter; quotes and backslashes escaped for the array syntax). */
static void path_param(struct db_sql *q, const char *path, const char *op)
{
	bool ctx = strncmp(path, "context.", 8) == 0;
	const char *rest = path + (ctx ? 8 : 11);
	char lit[512];
	size_t n = 0;

	lit[n++] = '{';
	lit[n++] = '"';
	for (const char *p = rest; *p && n < sizeof(lit) - 4; p++) {
		if (*p == '.') {
			lit[n++] = '"';
			lit[n++] = ',';
			lit[n++] = '"';
			continue;
		}
		if (*p == '"' || *p == '\\')
			lit[n++] = '\\';
		lit[n++] = *p;
	}
	lit[n++] = '"';
	lit[n++] = '}';
	lit[n] = '\0';
	db_sql_add(q, ctx ? "e.context" : "e.properties");
	db_sql_add(q, op);
	db_sql_param(q, lit, true);
	db_sql_add(q, "::text[]");
}

void db_sql_path_text(struct db_sql *q, const char *path)
{
	db_sql_add(q, "(");
	path_param(q, path, " #>> ");
	db_sql_add(q, ")");
}

void db_sql_filter(struct db_sql *q, const struct db_filter *f)
{
	db_sql_add(q, "(");
	switch (f->op) {
	case DB_EQ:
	case DB_NEQ:
	case DB_IN:
		db_sql_path_text(q, f->path);
		db_sql_add(q, f->op == DB_EQ ? " = " : f->op == DB_NEQ ? " IS DISTINCT FROM " : " = ANY(");
		db_sql_param(q, f->value, true);
		db_sql_add(q, f->op == DB_IN ? "::text[])" : "");
		break;
	case DB_CONTAINS:
		db_sql_add(q, "strpos(");
		db_sql_path_text(q, f->path);
		db_sql_add(q, ", ");
		db_sql_param(q, f->value, true);
		db_sql_add(q, ") > 0");
		break;
	case DB_GT:
	case DB_LT:
		/* Only JSON numbers compare; strings and absent keys give NULL (false). */
		db_sql_add(q, "cohortd_num(");
		path_param(q, f->path, " #> ");
		db_sql_add(q, ")");
		db_sql_add(q, f->op == DB_GT ? " > " : " < ");
		db_sql_param(q, f->value, true);
		db_sql_add(q, "::numeric");
		break;
	case DB_IS_SET:
		db_sql_path_text(q, f->path);
		db_sql_add(q, " IS NOT NULL");
		break;
	}
	db_sql_add(q, ")");
}

void db_sql_cleanup(struct db_sql *q)
{
	for (int i = 0; i < q->n; i++)
		free(q->owned[i]);
	free(q->text);
	memset(q, 0, sizeof(*q));
}
