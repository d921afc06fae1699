/*
 * query.h - parameters shared by every analytics route: from, to, tz,
 * format; durations ("7d"); JSON helpers that never emit NaN.
 */
#ifndef QUERY_H
#define QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "server/err.h"
#include "server/http.h"

struct db;

struct query_range {
	char tz[64];
	int64_t from_us, to_us;    /* [from, to) */
	bool csv;
};

/* "30s", "15m", "12h", "7d", "2w" (or plain seconds) -> µs; false when bad. */
bool query_duration(const char *s, int64_t *us);

/* Resolve from/to/tz (strings may be NULL: defaults to the last
 * default_days days ending now, in the project's time zone). Errors are 400
 * naming the parameter. */
bool query_range_resolve(struct db *db, int64_t project_id, const char *from, const char *to,
			 const char *tz, const char *format, int default_days, int64_t now_us,
			 struct query_range *out, struct app_err *err) MUST_CHECK;

/* "2026-01-02T03:04:05.678901Z" */
void query_format_time(int64_t us, char out[64]);

/* A number, or JSON null when x is NaN or infinite (STYLE.md: never NaN). */
json_t *query_real(double x);
/* a / b, or null when b == 0 */
json_t *query_ratio(double a, double b);


/* Strings a request allocated while parsing (freed together). */
struct query_pool {
	char *items[512];
	int n;
};
/* Keep s (malloc'd; ownership taken); returns s, or NULL when full/NULL. */
const char *query_pool_keep(struct query_pool *p, char *s);
void query_pool_free(struct query_pool *p);

#include "server/db_query.h"
/* A filter value from JSON: strings as is, numbers as text, for `in` an
 * array of strings/numbers as a PostgreSQL text[] literal; gt/lt need a
 * number. False when the value does not fit the operator. */
bool query_filter_value(const json_t *v, enum db_filter_op op, struct query_pool *pool,
			const char **out);

#endif
