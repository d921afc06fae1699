#ifndef CALENDAR_H
#define CALENDAR_H

/*
 * Local calendar (days, weeks, months in a time zone) without a tz database.
 *
 * The caller supplies the UTC instant of every local midnight over the query
 * range (the server gets them from PostgreSQL, e.g.
 *   SELECT (d::timestamp AT TIME ZONE $tz)
 *     FROM generate_series($first::date, $last::date + 1, '1 day') d;
 * which is exact across DST changes) and the civil date of the first local
 * day. Consecutive rows are consecutive civil dates, so every day's weekday,
 * ISO week and month follow from that one date. Then:
 *
 *   struct calendar cal;
 *   if (!calendar_init(&cal, midnights, n_days, 2026, 3, 1, CALENDAR_WEEK_MONDAY))
 *       ...;
 *   int32_t d = calendar_day_of(&cal, ts);                  // -1 .. n_days
 *   int32_t w = calendar_period_of(&cal, CALENDAR_WEEK, ts);
 *   calendar_cleanup(&cal);
 *
 * All instants are int64 microseconds since 1970-01-01T00:00:00Z.
 * Rules and the SQL that reproduces them: docs/semantics-analytics.md.
 */

#include <stdbool.h>
#include <stdint.h>

#define CALENDAR_DAY_US INT64_C(86400000000)
#define CALENDAR_NO_END INT64_MAX /* end of a period the table does not cover */

enum calendar_unit {
    CALENDAR_DAY,   /* local calendar day, midnight to midnight */
    CALENDAR_WEEK,  /* 7 local days starting Monday (ISO 8601) or Sunday */
    CALENDAR_MONTH, /* local calendar month */
};

enum calendar_week_start {
    CALENDAR_WEEK_MONDAY, /* ISO 8601 (default) */
    CALENDAR_WEEK_SUNDAY, /* week_start=sunday */
};

/* Period boundaries for one unit, derived from the day table. */
struct calendar_periods {
    int32_t n;            /* periods touched by the table */
    int32_t *first_day;   /* n + 1: first table day of each period; [n] = n_days */
    int64_t *start;       /* n: UTC start of each period (clipped to the table) */
    int64_t *end;         /* n: UTC end, or CALENDAR_NO_END when the table stops
                             before the period's last day */
    bool head_clipped;    /* the table starts after the first period's first day */
};

struct calendar {
    int32_t n_days;       /* local days in the table */
    int64_t *midnight;    /* n_days + 1 instants: start of day i; [n_days] = end */
    int32_t first_civil;  /* civil day number (days since 1970-01-01) of day 0 */
    enum calendar_week_start week_start;
    int32_t *day_week;    /* n_days: week index of each day (0 = first week) */
    int32_t *day_month;   /* n_days: month index of each day (0 = first month) */
    struct calendar_periods unit[3]; /* indexed by enum calendar_unit */
    /* Lookup accelerator: bucket b covers [midnight[0] + b * 2^32 µs, + 2^32)
     * and holds the table day containing the bucket's first instant. */
    int32_t n_buckets;
    int32_t *bucket_day;
};

/*
 * Build a calendar from n_days + 1 UTC midnights (copied; the caller keeps
 * ownership of its array) and the civil date y-m-d of day 0. Every day must
 * last between 0 and 48 hours (0 allows a skipped civil date such as
 * Pacific/Apia 2011-12-30); n_days >= 1. Returns false, with *cal zeroed,
 * on invalid input or allocation failure.
 */
bool calendar_init(struct calendar *cal, const int64_t *midnight, int32_t n_days,
                   int y, int m, int d, enum calendar_week_start week_start)
    __attribute__((warn_unused_result));

/* Release what calendar_init allocated; safe on a zeroed struct. */
void calendar_cleanup(struct calendar *cal);

/*
 * Table day containing instant ts: -1 if ts is before midnight[0], n_days if
 * at or after midnight[n_days]; otherwise the i with
 * midnight[i] <= ts < midnight[i+1] (a 0-length day is never returned).
 * Monotone in ts. O(1): a fixed-width bucket then at most a few steps.
 */
int32_t calendar_day_of(const struct calendar *cal, int64_t ts);

/*
 * Period (of unit u) containing ts: -1 before the table, n (the unit's
 * period count) at or after its end. Monotone in ts.
 */
int32_t calendar_period_of(const struct calendar *cal, enum calendar_unit u,
                           int64_t ts);

/*
 * Instants [*lo, *hi) that period p (0 <= p < n) of unit u covers inside the
 * table. Lets a caller walking a sorted sequence skip the lookup while ts
 * stays inside the last period found.
 */
void calendar_period_span(const struct calendar *cal, enum calendar_unit u, int32_t p,
                          int64_t *lo, int64_t *hi);

/* Period of unit u containing table day `day` (0 <= day < n_days). */
int32_t calendar_period_of_day(const struct calendar *cal, enum calendar_unit u,
                               int32_t day);

/* The unit's period boundaries (owned by cal). */
const struct calendar_periods *calendar_periods(const struct calendar *cal,
                                                enum calendar_unit u);

/*
 * Civil date of the nominal first day of period p of unit u (the Monday or
 * Sunday of a week, the 1st of a month), even when the table starts later.
 */
void calendar_period_label(const struct calendar *cal, enum calendar_unit u,
                           int32_t p, int *y, int *m, int *d);

/*
 * For any ascending boundary array (not only a calendar's): the last i in
 * [0, n) with bounds[i] <= ts, for bounds[0] <= ts (0 when ts is earlier).
 * Binary search; equal boundaries (a 0-length bucket) resolve to the last.
 */
int32_t calendar_bound_index(const int64_t *bounds, int32_t n, int64_t ts);

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (any year). */
int32_t calendar_days_from_civil(int y, int m, int d);

/* Inverse of calendar_days_from_civil. */
void calendar_civil_from_days(int32_t days, int *y, int *m, int *d);

/* ISO weekday of a civil day number: 1 = Monday .. 7 = Sunday. */
int calendar_iso_weekday(int32_t days);

#endif
