/*
 * db_calendar.c - see db_calendar.h.
 *
 * Period arithmetic (floors, next, previous) is done on civil day numbers
 * in C; PostgreSQL only answers "which local date is this instant" and
 * "when does this local date start", which is where the tz database is.
 */
#include "server/db_calendar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db_internal.h"

static int32_t period_floor(int32_t day, enum calendar_unit u, enum calendar_week_start ws)
{
	int y, m, d, wd;

	switch (u) {
	case CALENDAR_WEEK:
		wd = calendar_iso_weekday(day); /* 1 = Monday .. 7 = Sunday */
		return day - (ws == CALENDAR_WEEK_SUNDAY ? wd % 7 : wd - 1);
	case CALENDAR_MONTH:
		calendar_civil_from_days(day, &y, &m, &d);
		return calendar_days_from_civil(y, m, 1);
	default:
		return day;
	}
}

/* First day of the period after the one starting on `start`. */
static int32_t period_next(int32_t start, enum calendar_unit u)
{
	int y, m, d;

	switch (u) {
	case CALENDAR_WEEK:
		return start + 7;
	case CALENDAR_MONTH:
		calendar_civil_from_days(start, &y, &m, &d);
		return m == 12 ? calendar_days_from_civil(y + 1, 1, 1)
			       : calendar_days_from_civil(y, m + 1, 1);
	default:
		return start + 1;
	}
}

/* First day of the period before the one starting on `start`. */
static int32_t period_prev(int32_t start, enum calendar_unit u)
{
	int y, m, d;

	switch (u) {
	case CALENDAR_WEEK:
		return start - 7;
	case CALENDAR_MONTH:
		calendar_civil_from_days(start, &y, &m, &d);
		return m == 1 ? calendar_days_from_civil(y - 1, 12, 1)
			      : calendar_days_from_civil(y, m - 1, 1);
	default:
		return start - 1;
	}
}

/* Local civil day numbers (days since 1970-01-01) of from_us and to_us - 1. */
static bool local_days(struct db *db, const char *tz, int64_t from_us, int64_t to_us,
		       int32_t *d0, int32_t *d1, struct app_err *err)
{
	static const char sql[] =
		"SELECT ((timestamptz 'epoch' + $1::int8 * interval '1 microsecond') AT TIME ZONE $3)::date"
		"         - date '1970-01-01',"
		"       ((timestamptz 'epoch' + ($2::int8 - 1) * interval '1 microsecond')"
		"         AT TIME ZONE $3)::date - date '1970-01-01'";
	char f[24], t[24];
	const char *vals[3] = { f, t, tz };
	PGresult *res;

	snprintf(f, sizeof(f), "%lld", (long long)from_us);
	snprintf(t, sizeof(t), "%lld", (long long)to_us);
	res = db_params(db, sql, 3, vals, PGRES_TUPLES_OK, "local days", err);
	if (!res)
		return false;
	*d0 = (int32_t)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	*d1 = (int32_t)strtol(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return true;
}

/* UTC instants of the local midnights of days first .. first + n_days. */
static bool midnights(struct db *db, const char *tz, int32_t first, int32_t n_days, int64_t **out,
		      struct app_err *err)
{
	static const char sql[] =
		"SELECT (extract(epoch FROM ((date '1970-01-01' + $1::int + g)::timestamp"
		"        AT TIME ZONE $2)) * 1000000)::int8"
		"  FROM generate_series(0, $3::int) g ORDER BY g";
	char f[16], n[16];
	const char *vals[3] = { f, tz, n };
	PGresult *res;

	snprintf(f, sizeof(f), "%d", first);
	snprintf(n, sizeof(n), "%d", n_days);
	res = db_params(db, sql, 3, vals, PGRES_TUPLES_OK, "local midnights", err);
	if (!res)
		return false;
	*out = malloc((size_t)(n_days + 1) * sizeof(**out));
	if (!*out || PQntuples(res) != n_days + 1) {
		PQclear(res);
		free(*out);
		*out = NULL;
		return err_set(err, 500, "internal", NULL, "cannot build the local calendar");
	}
	for (int i = 0; i <= n_days; i++)
		(*out)[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	PQclear(res);
	return true;
}

bool db_calendar_build(struct db *db, const char *tz, int64_t from_us, int64_t to_us,
		     enum calendar_unit unit, enum calendar_week_start ws, int32_t lead_periods,
		     int32_t extra_periods, int32_t lead_days, struct calendar *cal,
		     int32_t *first_period, struct app_err *err)
{
	int32_t d0, d1, start, end;
	int64_t *mid = NULL;
	int y, m, d;
	bool ok;

	memset(cal, 0, sizeof(*cal));
	if (!local_days(db, tz, from_us, to_us, &d0, &d1, err))
		return false;
	start = period_floor(d0, unit, ws);
	for (int32_t i = 0; i < lead_periods && d0 - start <= DB_CALENDAR_MAX_DAYS; i++)
		start = period_prev(start, unit);
	start -= lead_days;
	end = period_next(period_floor(d1, unit, ws), unit);
	for (int32_t i = 0; i < extra_periods && end - start <= DB_CALENDAR_MAX_DAYS; i++)
		end = period_next(end, unit);
	if (end - start > DB_CALENDAR_MAX_DAYS)
		return err_set(err, 400, "validation_failed", "to",
			       "the range and periods span more than %d days", DB_CALENDAR_MAX_DAYS);
	if (!midnights(db, tz, start, end - start, &mid, err))
		return false;
	calendar_civil_from_days(start, &y, &m, &d);
	ok = calendar_init(cal, mid, end - start, y, m, d, ws);
	free(mid);
	if (!ok)
		return err_set(err, 500, "internal", NULL, "cannot build the local calendar");
	*first_period = calendar_period_of(cal, unit, from_us);
	return true;
}

int64_t *db_calendar_bounds(const struct calendar *cal, enum calendar_unit unit, int32_t *n)
{
	const struct calendar_periods *per = calendar_periods(cal, unit);
	int64_t *b;

	if (per->n < 1 || per->end[per->n - 1] == CALENDAR_NO_END)
		return NULL;
	b = malloc(((size_t)per->n + 1) * sizeof(*b));
	if (!b)
		return NULL;
	memcpy(b, per->start, (size_t)per->n * sizeof(*b));
	b[per->n] = per->end[per->n - 1];
	*n = per->n;
	return b;
}

