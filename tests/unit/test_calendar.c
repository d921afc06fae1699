/*
 * Unit tests for model/calendar: civil-date arithmetic, DST days in
 * America/New_York, day boundaries in Asia/Shanghai, ISO vs Sunday weeks,
 * months, and the bucketed lookup against a plain binary search.
 *
 * Every midnight table below is built by hand from the zone rules:
 * UTC midnight of civil day N is N * 86400 s; New York local midnight is
 * +5 h (EST, UTC-5) or +4 h (EDT, UTC-4); Shanghai local midnight is -8 h.
 * US DST 2026: starts Sunday 2026-03-08 02:00 EST, ends Sunday 2026-11-01
 * 02:00 EDT (second Sunday of March, first Sunday of November; 2026-03-01 is
 * a Sunday: 2026-01-01 is a Thursday and Jan+Feb = 59 days = 8w+3d).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "model/calendar.h"

#define HOUR_US INT64_C(3600000000)
#define SEC_US INT64_C(1000000)

/*
 * Civil day numbers by hand: 1970-01-01 .. 2026-01-01 is 56 years with 14
 * leap days (1972, 1976, .., 2024): 56*365 + 14 = 20454.
 * 2026-03-07 = 20454 + 31 (Jan) + 28 (Feb) + 6 = 20519.
 * 2026-10-31 = 20454 + 303 (Jan..Oct 30: 31+28+31+30+31+30+31+31+30+30) = 20757.
 * 2025-12-31 = 20453.
 */
#define D_2026_01_01 20454
#define D_2026_03_07 20519
#define D_2026_10_31 20757
#define D_2025_12_31 20453

static int64_t utc_midnight(int32_t civil) { return (int64_t)civil * 86400 * SEC_US; }

static void test_civil(void **state)
{
    (void)state;
    assert_int_equal(calendar_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(calendar_days_from_civil(1969, 12, 31), -1);
    /* 2000-01-01 = 30 years * 365 + 7 leap days (72..96) = 10957; +31+29 */
    assert_int_equal(calendar_days_from_civil(2000, 3, 1), 10957 + 60);
    assert_int_equal(calendar_days_from_civil(2026, 1, 1), D_2026_01_01);
    assert_int_equal(calendar_days_from_civil(2026, 3, 7), D_2026_03_07);
    assert_int_equal(calendar_days_from_civil(2026, 10, 31), D_2026_10_31);
    assert_int_equal(calendar_iso_weekday(0), 4);             /* Thursday */
    assert_int_equal(calendar_iso_weekday(D_2026_03_07), 6);  /* Saturday */
    assert_int_equal(calendar_iso_weekday(D_2026_03_07 + 2), 1); /* Mon 9th */
    assert_int_equal(calendar_iso_weekday(-1), 3);            /* Wednesday */
    /* Round trip across leap years and negative day numbers. */
    for (int32_t n = -800000; n < 800000; n += 37) {
        int y, m, d;
        calendar_civil_from_days(n, &y, &m, &d);
        assert_int_equal(calendar_days_from_civil(y, m, d), n);
        assert_true(m >= 1 && m <= 12 && d >= 1 && d <= 31);
    }
}

/* New York 2026-03-07 .. 2026-03-10: EST until the 8th, EDT from the 9th. */
static void test_ny_spring_forward(void **state)
{
    (void)state;
    int64_t mn[5];
    for (int i = 0; i < 5; i++)
        mn[i] = utc_midnight(D_2026_03_07 + i) + (i <= 1 ? 5 : 4) * HOUR_US;
    struct calendar cal;
    assert_true(calendar_init(&cal, mn, 4, 2026, 3, 7, CALENDAR_WEEK_MONDAY));
    /* The 8th lasts 23 h: 05:00Z on the 8th to 04:00Z on the 9th. */
    assert_true(mn[2] - mn[1] == 23 * HOUR_US);
    assert_int_equal(calendar_day_of(&cal, mn[0] - 1), -1);
    assert_int_equal(calendar_day_of(&cal, mn[0]), 0);
    assert_int_equal(calendar_day_of(&cal, mn[1] - 1), 0);
    assert_int_equal(calendar_day_of(&cal, mn[1]), 1);
    /* 23:59:59.999999 EDT on the 8th = 03:59:59.999999Z on the 9th. */
    assert_int_equal(calendar_day_of(&cal, utc_midnight(D_2026_03_07 + 2) + 4 * HOUR_US - 1), 1);
    assert_int_equal(calendar_day_of(&cal, utc_midnight(D_2026_03_07 + 2) + 4 * HOUR_US), 2);
    assert_int_equal(calendar_day_of(&cal, mn[4] - 1), 3);
    assert_int_equal(calendar_day_of(&cal, mn[4]), 4);
    /* Weeks: Sat 7th, Sun 8th in the week of Mon 2nd; Mon 9th starts a new one. */
    assert_int_equal(calendar_period_of_day(&cal, CALENDAR_WEEK, 1), 0);
    assert_int_equal(calendar_period_of_day(&cal, CALENDAR_WEEK, 2), 1);
    const struct calendar_periods *w = calendar_periods(&cal, CALENDAR_WEEK);
    assert_int_equal(w->n, 2);
    assert_true(w->head_clipped);
    assert_true(w->end[0] == mn[2]);
    assert_true(w->end[1] == CALENDAR_NO_END); /* table stops on Tuesday */
    int y, m, d;
    calendar_period_label(&cal, CALENDAR_WEEK, 0, &y, &m, &d);
    assert_true(y == 2026 && m == 3 && d == 2);
    calendar_cleanup(&cal);
}

/* New York 2026-10-31 .. 2026-11-02: Nov 1 lasts 25 h (04:00Z to 05:00Z+1). */
static void test_ny_fall_back(void **state)
{
    (void)state;
    int64_t mn[4];
    for (int i = 0; i < 4; i++)
        mn[i] = utc_midnight(D_2026_10_31 + i) + (i <= 1 ? 4 : 5) * HOUR_US;
    struct calendar cal;
    assert_true(calendar_init(&cal, mn, 3, 2026, 10, 31, CALENDAR_WEEK_MONDAY));
    assert_true(mn[2] - mn[1] == 25 * HOUR_US);
    /* 23:30 EST on Nov 1 = 04:30Z on Nov 2: still Nov 1 locally. */
    int64_t late = utc_midnight(D_2026_10_31 + 2) + 4 * HOUR_US + 30 * 60 * SEC_US;
    assert_int_equal(calendar_day_of(&cal, late), 1);
    assert_int_equal(calendar_day_of(&cal, mn[2] - 1), 1);
    assert_int_equal(calendar_day_of(&cal, mn[2]), 2);
    /* 01:30 local happens twice on Nov 1 (05:30Z EDT and 06:30Z EST): both day 1. */
    assert_int_equal(calendar_day_of(&cal, utc_midnight(D_2026_10_31 + 1) + 5 * HOUR_US + 1800 * SEC_US), 1);
    assert_int_equal(calendar_day_of(&cal, utc_midnight(D_2026_10_31 + 1) + 6 * HOUR_US + 1800 * SEC_US), 1);
    /* Months: Oct 31 is month 0, Nov 1 and 2 month 1; October is clipped. */
    const struct calendar_periods *mo = calendar_periods(&cal, CALENDAR_MONTH);
    assert_int_equal(mo->n, 2);
    assert_true(mo->head_clipped);
    assert_true(mo->start[1] == mn[1]);
    assert_true(mo->end[0] == mn[1]);
    assert_true(mo->end[1] == CALENDAR_NO_END);
    assert_int_equal(calendar_period_of(&cal, CALENDAR_MONTH, mn[1] - 1), 0);
    assert_int_equal(calendar_period_of(&cal, CALENDAR_MONTH, mn[1]), 1);
    calendar_cleanup(&cal);
}

/* Asia/Shanghai (UTC+8, no DST): local midnight is 16:00Z the previous day. */
static void test_shanghai(void **state)
{
    (void)state;
    int64_t mn[4];
    for (int i = 0; i < 4; i++)
        mn[i] = utc_midnight(D_2025_12_31 + i) - 8 * HOUR_US;
    struct calendar cal;
    assert_true(calendar_init(&cal, mn, 3, 2025, 12, 31, CALENDAR_WEEK_MONDAY));
    /* 2025-12-31T16:00:00Z is 2026-01-01 00:00 in Shanghai. */
    int64_t ny = utc_midnight(D_2025_12_31) + 16 * HOUR_US;
    assert_int_equal(calendar_day_of(&cal, ny), 1);
    assert_int_equal(calendar_day_of(&cal, ny - 1), 0);
    /* 2025-12-31T15:59:59.999999Z: Dec 31 locally, month 0; 16:00Z: January. */
    assert_int_equal(calendar_period_of(&cal, CALENDAR_MONTH, ny - 1), 0);
    assert_int_equal(calendar_period_of(&cal, CALENDAR_MONTH, ny), 1);
    /* Dec 30 20:00Z is already Dec 31 04:00 local: day 0. */
    assert_int_equal(calendar_day_of(&cal, utc_midnight(D_2025_12_31 - 1) + 20 * HOUR_US), 0);
    /* Dec 30 15:00Z is Dec 30 23:00 local: before the table. */
    assert_int_equal(calendar_day_of(&cal, utc_midnight(D_2025_12_31 - 1) + 15 * HOUR_US), -1);
    int y, m, d;
    calendar_period_label(&cal, CALENDAR_MONTH, 1, &y, &m, &d);
    assert_true(y == 2026 && m == 1 && d == 1);
    calendar_period_label(&cal, CALENDAR_DAY, 2, &y, &m, &d);
    assert_true(y == 2026 && m == 1 && d == 2);
    calendar_cleanup(&cal);
}

/* 2026-03-01 (Sunday) .. 2026-03-15 (Sunday), UTC: ISO vs Sunday weeks. */
static void test_weeks(void **state)
{
    (void)state;
    int32_t first = D_2026_03_07 - 6; /* 2026-03-01 */
    int64_t mn[16];
    for (int i = 0; i < 16; i++)
        mn[i] = utc_midnight(first + i);
    struct calendar iso, sun;
    assert_true(calendar_init(&iso, mn, 15, 2026, 3, 1, CALENDAR_WEEK_MONDAY));
    assert_true(calendar_init(&sun, mn, 15, 2026, 3, 1, CALENDAR_WEEK_SUNDAY));
    /* ISO: Sun 1st | Mon 2nd..Sun 8th | Mon 9th..Sun 15th (ends at table end). */
    const struct calendar_periods *wi = calendar_periods(&iso, CALENDAR_WEEK);
    assert_int_equal(wi->n, 3);
    assert_true(wi->head_clipped);
    assert_int_equal(wi->first_day[1], 1);
    assert_int_equal(wi->first_day[2], 8);
    assert_true(wi->end[2] == mn[15]);
    assert_int_equal(calendar_period_of_day(&iso, CALENDAR_WEEK, 7), 1);  /* Sun 8th */
    assert_int_equal(calendar_period_of_day(&iso, CALENDAR_WEEK, 8), 2);  /* Mon 9th */
    /* Sunday weeks: Sun 1st..Sat 7th | Sun 8th..Sat 14th | Sun 15th (cut). */
    const struct calendar_periods *ws = calendar_periods(&sun, CALENDAR_WEEK);
    assert_int_equal(ws->n, 3);
    assert_false(ws->head_clipped);
    assert_int_equal(ws->first_day[1], 7);
    assert_int_equal(ws->first_day[2], 14);
    assert_true(ws->end[1] == mn[14]);
    assert_true(ws->end[2] == CALENDAR_NO_END);
    assert_int_equal(calendar_period_of_day(&sun, CALENDAR_WEEK, 7), 1);  /* Sun 8th */
    assert_int_equal(calendar_period_of_day(&sun, CALENDAR_WEEK, 6), 0);  /* Sat 7th */
    int y, m, d;
    calendar_period_label(&iso, CALENDAR_WEEK, 0, &y, &m, &d);
    assert_true(y == 2026 && m == 2 && d == 23); /* Monday before Sun Mar 1 */
    calendar_period_label(&sun, CALENDAR_WEEK, 2, &y, &m, &d);
    assert_true(y == 2026 && m == 3 && d == 15);
    calendar_cleanup(&iso);
    calendar_cleanup(&sun);
}

/* 2026-01-30 .. 2026-03-02 in UTC: Jan (2 days), Feb (28), Mar (2, cut). */
static void test_months(void **state)
{
    (void)state;
    int32_t first = D_2026_01_01 + 29; /* 2026-01-30 */
    int64_t mn[33];
    for (int i = 0; i < 33; i++)
        mn[i] = utc_midnight(first + i);
    struct calendar cal;
    assert_true(calendar_init(&cal, mn, 32, 2026, 1, 30, CALENDAR_WEEK_MONDAY));
    const struct calendar_periods *mo = calendar_periods(&cal, CALENDAR_MONTH);
    assert_int_equal(mo->n, 3);
    assert_int_equal(mo->first_day[1], 2);
    assert_int_equal(mo->first_day[2], 30);
    assert_true(mo->start[1] == utc_midnight(D_2026_01_01 + 31)); /* Feb 1 */
    assert_true(mo->end[1] == utc_midnight(D_2026_01_01 + 59));   /* Mar 1 */
    assert_true(mo->end[2] == CALENDAR_NO_END);
    assert_int_equal(calendar_period_of(&cal, CALENDAR_MONTH, mn[30] - 1), 1);
    assert_int_equal(calendar_period_of(&cal, CALENDAR_MONTH, mn[30]), 2);
    assert_int_equal(calendar_period_of(&cal, CALENDAR_MONTH, mn[32]), 3);
    assert_int_equal(calendar_period_of(&cal, CALENDAR_MONTH, mn[0] - 1), -1);
    calendar_cleanup(&cal);
}

static void test_invalid(void **state)
{
    (void)state;
    struct calendar cal;
    int64_t dec[3] = {0, CALENDAR_DAY_US, CALENDAR_DAY_US - 1};
    assert_false(calendar_init(&cal, dec, 2, 1970, 1, 1, CALENDAR_WEEK_MONDAY));
    int64_t longday[2] = {0, 49 * HOUR_US};
    assert_false(calendar_init(&cal, longday, 1, 1970, 1, 1, CALENDAR_WEEK_MONDAY));
    int64_t ok[2] = {0, CALENDAR_DAY_US};
    assert_false(calendar_init(&cal, ok, 1, 2026, 2, 30, CALENDAR_WEEK_MONDAY));
    assert_false(calendar_init(&cal, ok, 0, 1970, 1, 1, CALENDAR_WEEK_MONDAY));
    assert_true(cal.midnight == NULL);
    /* A 0-length day (skipped civil date) is accepted and never returned. */
    int64_t skip[4] = {0, CALENDAR_DAY_US, CALENDAR_DAY_US, 2 * CALENDAR_DAY_US};
    assert_true(calendar_init(&cal, skip, 3, 1970, 1, 1, CALENDAR_WEEK_MONDAY));
    assert_int_equal(calendar_day_of(&cal, CALENDAR_DAY_US - 1), 0);
    assert_int_equal(calendar_day_of(&cal, CALENDAR_DAY_US), 2);
    calendar_cleanup(&cal);
}

/* Independent lookup: plain binary search over the midnights. */
static int32_t ref_day(const int64_t *mn, int32_t n, int64_t ts)
{
    if (ts < mn[0])
        return -1;
    if (ts >= mn[n])
        return n;
    int32_t lo = 0, hi = n; /* invariant: mn[lo] <= ts < mn[hi] */
    while (hi - lo > 1) {
        int32_t mid = lo + (hi - lo) / 2;
        if (mn[mid] <= ts)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* All of 2026 in New York against binary search, at random instants and at
 * every boundary +-1 µs. EDT applies to midnights of Mar 9 .. Nov 1. */
static void test_lookup_matches_binary_search(void **state)
{
    (void)state;
    enum { N = 365 };
    int64_t mn[N + 1];
    int32_t mar9 = D_2026_03_07 + 2, nov2 = D_2026_10_31 + 2;
    for (int i = 0; i <= N; i++) {
        int32_t c = D_2026_01_01 + i;
        mn[i] = utc_midnight(c) + (c >= mar9 && c < nov2 ? 4 : 5) * HOUR_US;
    }
    struct calendar cal;
    assert_true(calendar_init(&cal, mn, N, 2026, 1, 1, CALENDAR_WEEK_MONDAY));
    for (int i = 0; i <= N; i++)
        for (int64_t dlt = -1; dlt <= 1; dlt++)
            assert_int_equal(calendar_day_of(&cal, mn[i] + dlt), ref_day(mn, N, mn[i] + dlt));
    uint64_t x = 88172645463325252u;
    for (int k = 0; k < 200000; k++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        int64_t ts = mn[0] - CALENDAR_DAY_US + (int64_t)(x % (uint64_t)(mn[N] - mn[0] + 2 * CALENDAR_DAY_US));
        assert_int_equal(calendar_day_of(&cal, ts), ref_day(mn, N, ts));
    }
    assert_int_equal(calendar_periods(&cal, CALENDAR_MONTH)->n, 12);
    /* 2026-01-01 is a Thursday: ISO weeks Thu1-Sun4 | 5-11 | ... | Mon 28 Dec - Thu 31. */
    assert_int_equal(calendar_periods(&cal, CALENDAR_WEEK)->n, 1 + 51 + 1);
    calendar_cleanup(&cal);
}

/* calendar_bound_index on a hand-made array with a repeated boundary. */
static void test_bound_index(void **state)
{
    (void)state;
    static const int64_t b[] = { 10, 20, 20, 35, 50 };
    assert_int_equal(calendar_bound_index(b, 5, 10), 0);
    assert_int_equal(calendar_bound_index(b, 5, 19), 0);
    assert_int_equal(calendar_bound_index(b, 5, 20), 2); /* the 0-length bucket 1 is skipped */
    assert_int_equal(calendar_bound_index(b, 5, 34), 2);
    assert_int_equal(calendar_bound_index(b, 5, 35), 3);
    assert_int_equal(calendar_bound_index(b, 5, 49), 3);
    assert_int_equal(calendar_bound_index(b, 5, 50), 4);
    assert_int_equal(calendar_bound_index(b, 5, 999), 4);
    assert_int_equal(calendar_bound_index(b, 1, 999), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound_index),
        cmocka_unit_test(test_civil),
        cmocka_unit_test(test_ny_spring_forward),
        cmocka_unit_test(test_ny_fall_back),
        cmocka_unit_test(test_shanghai),
        cmocka_unit_test(test_weeks),
        cmocka_unit_test(test_months),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_lookup_matches_binary_search),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
