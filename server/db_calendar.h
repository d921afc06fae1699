/*
 * db_calendar.h - local calendars of whole days, weeks or months for the
 * analytics routes, with the time zone arithmetic done by PostgreSQL (exact
 * across DST changes) and the periods by model/calendar.h.
 *
 *     struct calendar cal;
 *     int32_t first;
 *     if (!db_calendar_build(db, tz, from, to, CALENDAR_WEEK, ws, 0, 12, 0, &cal, &first, &err))
 *         ...;
 *     int64_t *bounds = db_calendar_bounds(&cal, CALENDAR_WEEK, &n);  // period starts + end
 *     ...
 *     free(bounds);
 *     calendar_cleanup(&cal);
 */
#ifndef DB_CALENDAR_H
#define DB_CALENDAR_H

#include <stdbool.h>
#include <stdint.h>

#include "model/calendar.h"
#include "server/err.h"

struct db;

#define DB_CALENDAR_MAX_DAYS 4000     /* longest local calendar a query may build */

/*
 * Local calendar of whole periods of `unit`: from the first day of the
 * period containing from_us, moved back by lead_periods periods and then
 * lead_days days, to the last day of the period containing to_us - 1, plus
 * extra_periods further periods. On success *cal is initialised
 * (calendar_cleanup) and *first_period is the period of the calendar
 * holding from_us. 400 naming "to" when the calendar would exceed
 * DB_CALENDAR_MAX_DAYS.
 */
bool db_calendar_build(struct db *db, const char *tz, int64_t from_us, int64_t to_us,
		       enum calendar_unit unit, enum calendar_week_start ws, int32_t lead_periods,
		       int32_t extra_periods, int32_t lead_days, struct calendar *cal,
		       int32_t *first_period, struct app_err *err) MUST_CHECK;

/* Bucket boundaries of a calendar unit (n + 1 instants, malloc'd): the
 * starts of its periods then the end of the last one. NULL on allocation
 * failure or when the calendar's last period is cut. */
int64_t *db_calendar_bounds(const struct calendar *cal, enum calendar_unit unit, int32_t *n);

#endif
