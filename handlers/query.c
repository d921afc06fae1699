#include "handlers/query.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers/segment.h"
#include "server/db_query.h"

bool query_duration(const char *s, int64_t *us)
{
	char *end;
	double v, mult = 1e6;

	if (!s || !*s)
		return false;
	v = strtod(s, &end);
	if (end == s || v < 0 || !isfinite(v))
		return false;
	switch (*end) {
	case '\0': case 's': mult = 1e6; break;
	case 'm': mult = 60e6; break;
	case 'h': mult = 3600e6; break;
	case 'd': mult = 86400e6; break;
	case 'w': mult = 7 * 86400e6; break;
	default: return false;
	}
	if (*end && end[1])
		return false;
	if (v * mult > 3650.0 * 86400e6)
		return false; /* ten years is plenty and keeps sums far from overflow */
	*us = (int64_t)llround(v * mult);
	return true;
}

static bool one_time(struct db *db, const char *s, const char *name, const char *tz, int64_t *us,
		     struct app_err *err)
{
	int64_t probe;
	/* Syntax is checked here so the error names the parameter; the time
	 * zone arithmetic is PostgreSQL's. */
	if (!segment_parse_time(s, &probe))
		return err_set(err, 400, "validation_failed", name,
			       "%s must be an ISO-8601 date or date-time", name);
	return db_local_time(db, s, tz, us, err);
}

bool query_range_resolve(struct db *db, int64_t project_id, const char *from, const char *to,
			 const char *tz, const char *format, int default_days, int64_t now_us,
			 struct query_range *out, struct app_err *err)
{
	struct db_settings st;

	memset(out, 0, sizeof(*out));
	if (format && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
		return err_set(err, 400, "validation_failed", "format", "format must be json or csv");
	out->csv = format && strcmp(format, "csv") == 0;
	if (!tz || !*tz) {
		if (!db_settings_get(db, project_id, &st, err))
			return false;
		snprintf(out->tz, sizeof(out->tz), "%s", st.timezone);
		db_settings_cleanup(&st);
	} else {
		if (strlen(tz) >= sizeof(out->tz))
			return err_set(err, 400, "validation_failed", "tz", "tz is too long");
		if (!db_check_tz(db, tz, "tz", err))
			return false;
		snprintf(out->tz, sizeof(out->tz), "%s", tz);
	}
	out->to_us = now_us;
	if (to && !one_time(db, to, "to", out->tz, &out->to_us, err))
		return false;
	out->from_us = out->to_us - (int64_t)default_days * 86400 * 1000000;
	if (from && !one_time(db, from, "from", out->tz, &out->from_us, err))
		return false;
	if (out->from_us >= out->to_us)
		return err_set(err, 400, "validation_failed", "from", "from must be before to");
	return true;
}

void query_format_time(int64_t us, char out[64])
{
	time_t secs = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
	int frac = (int)(us - (int64_t)secs * 1000000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	if (frac)
		snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	else
		snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

json_t *query_real(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

json_t *query_ratio(double a, double b)
{
	return b != 0 ? query_real(a / b) : json_null();
}

const char *query_pool_keep(struct query_pool *p, char *s)
{
	if (!s)
		return NULL;
	if (p->n == (int)(sizeof(p->items) / sizeof(p->items[0]))) {
		free(s);
		return NULL;
	}
	p->items[p->n++] = s;
	return s;
}

void query_pool_free(struct query_pool *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->items[i]);
	p->n = 0;
}

static char *scalar_text(const json_t *v)
{
	char buf[64];
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return strdup(buf);
	}
	if (json_is_real(v) && isfinite(json_real_value(v))) {
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		return strdup(buf);
	}
	if (json_is_boolean(v))
		return strdup(json_is_true(v) ? "true" : "false");
	return NULL;
}

/* ["a","b"] -> {"a","b"} with " and \ escaped. */
static char *array_literal(const json_t *arr)
{
	size_t cap = 2, n = 0, i;
	json_t *it;
	char *out;

	json_array_foreach(arr, i, it) {
		char *s = scalar_text(it);
		if (!s)
			return NULL;
		cap += 2 * strlen(s) + 3;
		free(s);
	}
	out = malloc(cap + 1);
	if (!out)
		return NULL;
	out[n++] = '{';
	json_array_foreach(arr, i, it) {
		char *s = scalar_text(it);
		if (!s) {
			free(out);
			return NULL;
		}
		if (i)
			out[n++] = ',';
		out[n++] = '"';
		for (const char *p = s; *p; p++) {
			if (*p == '"' || *p == '\\')
				out[n++] = '\\';
			out[n++] = *p;
		}
		out[n++] = '"';
		free(s);
	}
	out[n++] = '}';
	out[n] = '\0';
	return out;
}

bool query_filter_value(const json_t *v, enum db_filter_op op, struct query_pool *pool,
			const char **out)
{
	char *s;

	if (!v)
		return false;
	if (op == DB_IN) {
		if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 1000)
			return false;
		s = array_literal(v);
	} else if ((op == DB_GT || op == DB_LT) && !json_is_number(v)) {
		return false;
	} else
		s = scalar_text(v);
	*out = query_pool_keep(pool, s);
	return *out != NULL;
}
