/*
 * db_query.h - shared SQL for analytics queries: project settings, time
 * zones, local calendars, and the property-filter templates.
 *
 * Time zones are PostgreSQL's (IANA names, exact across DST): the local
 * midnights of a query's days are computed there and handed to
 * model/calendar.h, so the C model never needs a tz database.
 */
#ifndef DB_QUERY_H
#define DB_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/err.h"

struct db;

struct db_settings {
	char timezone[64];
	char currency[8];
	char *config;          /* settings.config as JSON text (malloc'd) */
};

bool db_settings_get(struct db *db, int64_t project_id, struct db_settings *s,
		     struct app_err *err) MUST_CHECK;
void db_settings_cleanup(struct db_settings *s);

/* 400 naming `field` when tz is not a time zone PostgreSQL knows. */
bool db_check_tz(struct db *db, const char *tz, const char *field, struct app_err *err) MUST_CHECK;

/* Interpret an ISO date or date-time: with a zone/offset it is absolute;
 * without one it is local time in tz (a date means local midnight). */
bool db_local_time(struct db *db, const char *s, const char *tz, int64_t *us,
		   struct app_err *err) MUST_CHECK;

/* UTC instants of the local midnights of every local day touching
 * [from_us, to_us): *n_days days, (*n_days + 1) instants in *midnights
 * (malloc'd), and the civil date of day 0. */
bool db_local_days(struct db *db, const char *tz, int64_t from_us, int64_t to_us,
		   int64_t **midnights, int32_t *n_days, int *y, int *m, int *d,
		   struct app_err *err) MUST_CHECK;

/* --- property filters (templates only; keys and values are parameters) --- */

enum db_filter_op { DB_EQ, DB_NEQ, DB_IN, DB_CONTAINS, DB_GT, DB_LT, DB_IS_SET };

struct db_filter {
	const char *path;      /* "properties.plan" or "context.campaign.source" */
	enum db_filter_op op;
	const char *value;     /* eq/neq/contains/gt/lt; for in: a PostgreSQL text[] literal */
};

/* Parse "eq", "neq", ... ; false when unknown. */
bool db_filter_op_parse(const char *s, enum db_filter_op *op);
/* Valid path: properties.* or context.* with 1..8 non-empty segments. */
bool db_filter_path_valid(const char *path);

/* Growable SQL text plus its parameter list. */
struct db_sql {
	char *text;
	size_t len, cap;
	const char *params[256];
	char *owned[256];      /* params we allocated (freed by db_sql_cleanup) */
	int n;
	bool failed;
};

void db_sql_add(struct db_sql *q, const char *fragment);
/* Append "$n" for a new parameter (copied when copy is true). */
void db_sql_param(struct db_sql *q, const char *value, bool copy);
/* Append the boolean SQL of one filter on events aliased `e`. */
void db_sql_filter(struct db_sql *q, const struct db_filter *f);
/* Append the text value of a property path (for breakdowns). */
void db_sql_path_text(struct db_sql *q, const char *path);
void db_sql_cleanup(struct db_sql *q);

#endif
