/*
 * Unit tests for model/retention. Hand cases with the tables worked out in
 * comments; a randomised comparison against a naive per-cell recount written
 * here from the definitions (docs/semantics-analytics.md).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "model/retention.h"

#define HOUR_US INT64_C(3600000000)
#define DAY CALENDAR_DAY_US
#define D_2026_03_01 20513 /* 20454 (2026-01-01) + 31 + 28 */

static int64_t day0 = (int64_t)D_2026_03_01 * 86400 * 1000000;

static void utc_calendar(struct calendar *cal, int n_days, enum calendar_week_start ws)
{
    int64_t *mn = malloc(((size_t)n_days + 1) * sizeof *mn);
    for (int i = 0; i <= n_days; i++)
        mn[i] = day0 + i * DAY;
    int y, m, d;
    calendar_civil_from_days(D_2026_03_01, &y, &m, &d);
    assert_true(calendar_init(cal, mn, n_days, y, m, d, ws));
    free(mn);
}

/* Person builder: events at day offsets (noon), role "any event" = both. */
struct data {
    size_t np;
    int64_t off[16];
    int64_t ts[64];
    uint8_t role[64];
    int64_t first[16];
};

static void add_person(struct data *d, const int *days, int n, int64_t first)
{
    int64_t o = d->np ? d->off[d->np] : 0;
    d->off[0] = 0;
    for (int i = 0; i < n; i++) {
        d->ts[o + i] = day0 + days[i] * DAY + 12 * HOUR_US;
        d->role[o + i] = RETENTION_START | RETENTION_RETURN;
    }
    d->first[d->np] = first != 0 ? first : (n ? d->ts[o] : RETENTION_NEVER);
    d->np++;
    d->off[d->np] = o + n;
}

/*
 * Calendar: 5 UTC days (2026-03-01..05 = days 0..4). Persons (event days):
 *   P1 {0,1,2}  P2 {0,2}  P3 {1,3}  P4 {1}, first start before the table
 *   P5 {2,3,4}  P6 {5} (after the table)
 * n_cohorts 3, n_periods 3, now = end of day 3: periods 0..3 complete.
 */
static void build_case(struct data *d)
{
    memset(d, 0, sizeof *d);
    int p1[] = {0, 1, 2}, p2[] = {0, 2}, p3[] = {1, 3}, p4[] = {1}, p5[] = {2, 3, 4}, p6[] = {5};
    add_person(d, p1, 3, 0);
    add_person(d, p2, 2, 0);
    add_person(d, p3, 2, 0);
    add_person(d, p4, 1, day0 - HOUR_US);
    add_person(d, p5, 3, 0);
    add_person(d, p6, 1, 0);
}

static struct retention_result run(struct calendar *cal, struct data *d,
                                   enum retention_cohort co, enum retention_mode mo)
{
    struct retention_params p = {CALENDAR_DAY, co, mo, 3, 3, day0 + 4 * DAY};
    struct retention_events ev = {d->np, d->off, d->ts, d->role, d->first};
    struct retention_result r;
    assert_true(retention_compute(cal, &p, &ev, &r));
    return r;
}

#define CELL(r, c, n) ((r).retained[(c) * (r).n_periods + (n)])
#define DONE(r, c, n) ((r).complete[(c) * (r).n_periods + (n)])

static void test_first_time_n_day(void **state)
{
    (void)state;
    struct calendar cal;
    utc_calendar(&cal, 5, CALENDAR_WEEK_MONDAY);
    struct data d;
    build_case(&d);
    struct retention_result r = run(&cal, &d, RETENTION_FIRST_TIME, RETENTION_N_DAY);
    /* c0 = {P1, P2}: N1 P1 (day 1); N2 P1, P2 (day 2).
     * c1 = {P3} (P4's first start precedes the table): N1 0; N2 P3 (day 3).
     * c2 = {P5}: N1 (day 3), N2 (day 4, period 4 not over: incomplete). */
    int64_t want[3][3] = {{2, 1, 2}, {1, 0, 1}, {1, 1, 1}};
    for (int c = 0; c < 3; c++)
        for (int n = 0; n < 3; n++)
            assert_int_equal(CELL(r, c, n), want[c][n]);
    assert_int_equal(DONE(r, 2, 1), 1);
    assert_int_equal(DONE(r, 2, 2), 0);
    /* avg0 = 4/4; avg1 = (1+0+1)/(2+1+1) = 0.5; avg2 = (2+1)/(2+1) = 1 (c2
     * excluded). simple: avg1 = (1/2 + 0 + 1)/3 = 0.5, avg2 = (1 + 1)/2. */
    assert_true(r.avg[0] == 1.0 && r.avg[1] == 0.5 && r.avg[2] == 1.0);
    assert_true(r.avg_simple[1] == 0.5 && r.avg_simple[2] == 1.0);
    assert_int_equal(r.n_complete[2], 2);
    retention_result_free(&r);
    calendar_cleanup(&cal);
}

static void test_recurring_n_day(void **state)
{
    (void)state;
    struct calendar cal;
    utc_calendar(&cal, 5, CALENDAR_WEEK_MONDAY);
    struct data d;
    build_case(&d);
    struct retention_result r = run(&cal, &d, RETENTION_RECURRING, RETENTION_N_DAY);
    /* Entries: c0 {P1, P2}; c1 {P1, P3, P4}; c2 {P1, P2, P5}.
     * c0: N1 P1 (1); N2 P1, P2 (2).  c1: N1 P1 (day 2); N2 P3 (day 3).
     * c2: N1 P5 (day 3); N2 P5 (day 4).
     * avg1 = (1+1+1)/(2+3+3) = 3/8; avg2 = (2+1)/(2+3) = 3/5. */
    int64_t want[3][3] = {{2, 1, 2}, {3, 1, 1}, {3, 1, 1}};
    for (int c = 0; c < 3; c++)
        for (int n = 0; n < 3; n++)
            assert_int_equal(CELL(r, c, n), want[c][n]);
    assert_true(fabs(r.avg[1] - 3.0 / 8) < 1e-15);
    assert_true(fabs(r.avg[2] - 3.0 / 5) < 1e-15);
    retention_result_free(&r);
    calendar_cleanup(&cal);
}

static void test_unbounded(void **state)
{
    (void)state;
    struct calendar cal;
    utc_calendar(&cal, 5, CALENDAR_WEEK_MONDAY);
    struct data d;
    build_case(&d);
    struct retention_result r = run(&cal, &d, RETENTION_FIRST_TIME, RETENTION_UNBOUNDED);
    /* Latest return period: P1 2, P2 2 (c0); P3 3 (c1); P5 4 (c2).
     * c0: N1 2, N2 2.  c1: N1 1, N2 1.  c2: N1 1, N2 1 (incomplete).
     * P2 has no day-1 event but returned later: counted in N1. */
    int64_t want[3][3] = {{2, 2, 2}, {1, 1, 1}, {1, 1, 1}};
    for (int c = 0; c < 3; c++)
        for (int n = 0; n < 3; n++)
            assert_int_equal(CELL(r, c, n), want[c][n]);
    assert_true(r.avg[1] == 1.0 && r.avg[2] == 1.0);
    retention_result_free(&r);
    calendar_cleanup(&cal);
}

static void test_censoring_mid_period(void **state)
{
    (void)state;
    struct calendar cal;
    utc_calendar(&cal, 5, CALENDAR_WEEK_MONDAY);
    struct data d;
    build_case(&d);
    /* now in the middle of day 3: period 3 has not ended. Cells (1, 2) and
     * (2, 1) become incomplete: avg1 = (1+0)/(2+1) = 1/3, avg2 = 2/2. */
    struct retention_params p = {CALENDAR_DAY, RETENTION_FIRST_TIME, RETENTION_N_DAY, 3, 3,
                                 day0 + 3 * DAY + HOUR_US};
    struct retention_events ev = {d.np, d.off, d.ts, d.role, d.first};
    struct retention_result r;
    assert_true(retention_compute(&cal, &p, &ev, &r));
    assert_int_equal(DONE(r, 1, 2), 0);
    assert_int_equal(DONE(r, 2, 1), 0);
    assert_int_equal(DONE(r, 1, 1), 1);
    assert_true(fabs(r.avg[1] - 1.0 / 3) < 1e-15);
    assert_true(r.avg[2] == 1.0);
    /* now exactly at the end of day 3 completes it (end <= now). */
    retention_result_free(&r);
    p.now_us = day0 + 4 * DAY;
    assert_true(retention_compute(&cal, &p, &ev, &r));
    assert_int_equal(DONE(r, 1, 2), 1);
    retention_result_free(&r);
    calendar_cleanup(&cal);
}

static void test_specific_return_event(void **state)
{
    (void)state;
    /* signup (id 1) day 0, pageview (3) day 1, purchase (2) day 2; a second
     * person signs up day 0 and only views pages. Start 1, return 2:
     * cohort 0 size 2, N1 0 (a pageview is not a return), N2 1. With
     * first_start_us NULL the first start event defines the cohort. */
    struct calendar cal;
    utc_calendar(&cal, 3, CALENDAR_WEEK_MONDAY);
    int64_t off[3] = {0, 3, 5};
    int64_t ts[5] = {day0 + 1, day0 + DAY, day0 + 2 * DAY, day0 + 5, day0 + DAY + 5};
    int32_t ids[5] = {1, 3, 2, 1, 3};
    uint8_t role[5];
    retention_roles_from_ids(ids, 5, 1, 2, role);
    assert_int_equal(role[0], RETENTION_START);
    assert_int_equal(role[2], RETENTION_RETURN);
    struct retention_params p = {CALENDAR_DAY, RETENTION_FIRST_TIME, RETENTION_N_DAY, 1, 3,
                                 day0 + 3 * DAY};
    struct retention_events ev = {2, off, ts, role, NULL};
    struct retention_result r;
    assert_true(retention_compute(&cal, &p, &ev, &r));
    assert_int_equal(CELL(r, 0, 0), 2);
    assert_int_equal(CELL(r, 0, 1), 0);
    assert_int_equal(CELL(r, 0, 2), 1);
    assert_true(r.avg[2] == 0.5);
    retention_result_free(&r);
    calendar_cleanup(&cal);
}

static void test_iso_vs_sunday_weeks(void **state)
{
    (void)state;
    /* Table 2026-03-01 (Sun) .. 2026-03-21 (Sat). A person starts Sun 03-08
     * (day 7) and returns Mon 03-09 (day 8).
     * ISO weeks: Sun 1st | Mon 2..Sun 8 | Mon 9..Sun 15 | Mon 16..Sat 21:
     *   start in week 1, return in week 2: N1 = 1.
     * Sunday weeks: Sun 1..Sat 7 | Sun 8..Sat 14 | Sun 15..Sat 21:
     *   both in week 1: N1 = 0. */
    int days[] = {7, 8};
    struct data d;
    memset(&d, 0, sizeof d);
    add_person(&d, days, 2, 0);
    for (int w = 0; w < 2; w++) {
        struct calendar cal;
        utc_calendar(&cal, 21, w ? CALENDAR_WEEK_SUNDAY : CALENDAR_WEEK_MONDAY);
        struct retention_params p = {CALENDAR_WEEK, RETENTION_FIRST_TIME, RETENTION_N_DAY, 2, 2,
                                     day0 + 21 * DAY};
        struct retention_events ev = {d.np, d.off, d.ts, d.role, d.first};
        struct retention_result r;
        assert_true(retention_compute(&cal, &p, &ev, &r));
        assert_int_equal(CELL(r, 1, 0), 1);
        assert_int_equal(CELL(r, 1, 1), w ? 0 : 1);
        retention_result_free(&r);
        calendar_cleanup(&cal);
    }
}

static void test_dst_day_boundary(void **state)
{
    (void)state;
    /* America/New_York 2026-03-07..03-09; midnights 05:00Z, 05:00Z, 04:00Z,
     * 04:00Z. Start Sat 03-07 20:00 EST (03-08 01:00Z); a return at
     * 03-09 03:30Z is 23:30 EDT on Sun 03-08: local day 1, so N1 = 1 and
     * N2 = 0. A UTC calendar would put it on 03-09 (N2). */
    int32_t c7 = D_2026_03_01 + 6;
    int64_t mn[4] = {(int64_t)c7 * DAY + 5 * HOUR_US, (int64_t)(c7 + 1) * DAY + 5 * HOUR_US,
                     (int64_t)(c7 + 2) * DAY + 4 * HOUR_US, (int64_t)(c7 + 3) * DAY + 4 * HOUR_US};
    struct calendar cal;
    assert_true(calendar_init(&cal, mn, 3, 2026, 3, 7, CALENDAR_WEEK_MONDAY));
    int64_t off[2] = {0, 2};
    int64_t ts[2] = {(int64_t)(c7 + 1) * DAY + HOUR_US, (int64_t)(c7 + 2) * DAY + 3 * HOUR_US + HOUR_US / 2};
    uint8_t role[2] = {RETENTION_START | RETENTION_RETURN, RETENTION_START | RETENTION_RETURN};
    struct retention_params p = {CALENDAR_DAY, RETENTION_FIRST_TIME, RETENTION_N_DAY, 1, 3, mn[3]};
    struct retention_events ev = {1, off, ts, role, NULL};
    struct retention_result r;
    assert_true(retention_compute(&cal, &p, &ev, &r));
    assert_int_equal(CELL(r, 0, 1), 1);
    assert_int_equal(CELL(r, 0, 2), 0);
    retention_result_free(&r);
    calendar_cleanup(&cal);
}

static void test_day_n_helper(void **state)
{
    (void)state;
    /* One cohort (day 0) of 4: P1 returns days 1, 3, 7, 30; P2 day 1;
     * P3 day 7; P4 never. d1 = 2/4, d3 = 1/4, d7 = 2/4, d30 = 1/4. */
    struct calendar cal;
    utc_calendar(&cal, 31, CALENDAR_WEEK_MONDAY);
    struct data d;
    memset(&d, 0, sizeof d);
    int p1[] = {0, 1, 3, 7, 30}, p2[] = {0, 1}, p3[] = {0, 7}, p4[] = {0};
    add_person(&d, p1, 5, 0);
    add_person(&d, p2, 2, 0);
    add_person(&d, p3, 2, 0);
    add_person(&d, p4, 1, 0);
    struct retention_params p = {CALENDAR_DAY, RETENTION_FIRST_TIME, RETENTION_N_DAY, 1, 31,
                                 day0 + 31 * DAY};
    struct retention_events ev = {d.np, d.off, d.ts, d.role, d.first};
    struct retention_result r;
    assert_true(retention_compute(&cal, &p, &ev, &r));
    struct retention_dn dn;
    retention_dn(&r, &dn);
    assert_true(dn.d1 == 0.5 && dn.d3 == 0.25 && dn.d7 == 0.5 && dn.d30 == 0.25);
    retention_result_free(&r);
    /* Table ending before day 30 is over: d30 unavailable. */
    p.now_us = day0 + 30 * DAY + HOUR_US;
    assert_true(retention_compute(&cal, &p, &ev, &r));
    retention_dn(&r, &dn);
    assert_true(isnan(dn.d30) && dn.d7 == 0.5);
    retention_result_free(&r);
    calendar_cleanup(&cal);
}

static void test_invalid(void **state)
{
    (void)state;
    struct calendar cal;
    utc_calendar(&cal, 3, CALENDAR_WEEK_MONDAY);
    int64_t off[2] = {0, 2};
    int64_t ts[2] = {day0 + DAY, day0};
    uint8_t role[2] = {3, 3};
    struct retention_params p = {CALENDAR_DAY, RETENTION_FIRST_TIME, RETENTION_N_DAY, 1, 2, 0};
    struct retention_events ev = {1, off, ts, role, NULL};
    struct retention_result r;
    assert_false(retention_compute(&cal, &p, &ev, &r)); /* unsorted */
    ts[1] = day0 + 2 * DAY;
    p.n_cohorts = 4; /* more cohorts than days */
    assert_false(retention_compute(&cal, &p, &ev, &r));
    assert_null(r.size);
    calendar_cleanup(&cal);
}

/* ---- randomised: naive recount per cell -------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void test_random_vs_naive(void **state)
{
    (void)state;
    enum { NP = 400, ND = 12, NC = 6, NPER = 5 };
    struct calendar cal;
    utc_calendar(&cal, ND, CALENDAR_WEEK_MONDAY);
    static int64_t off[NP + 1], ts[NP * 8], first[NP];
    static uint8_t role[NP * 8];
    static int day_of[NP * 8];
    off[0] = 0;
    for (int i = 0; i < NP; i++) {
        int n = (int)rnd(8), day = (int)rnd(4) - 1;
        for (int k = 0; k < n; k++) {
            day += (int)rnd(3);
            int64_t o = off[i] + k;
            ts[o] = day0 + day * DAY + (int64_t)(k * 3 + (int)rnd(3)) * HOUR_US; /* sorted */
            day_of[o] = day;
            role[o] = (uint8_t)(1 + rnd(3));
        }
        off[i + 1] = off[i] + n;
        first[i] = RETENTION_NEVER;
        for (int k = 0; k < n; k++)
            if (role[off[i] + k] & RETENTION_START) {
                first[i] = ts[off[i] + k];
                break;
            }
    }
    for (int co = 0; co < 2; co++)
        for (int mo = 0; mo < 2; mo++) {
            struct retention_params p = {CALENDAR_DAY, (enum retention_cohort)co,
                                         (enum retention_mode)mo, NC, NPER, day0 + 9 * DAY};
            struct retention_events ev = {NP, off, ts, role, first};
            struct retention_result r;
            assert_true(retention_compute(&cal, &p, &ev, &r));
            for (int c = 0; c < NC; c++)
                for (int N = 0; N < NPER; N++) {
                    int64_t want = 0;
                    for (int i = 0; i < NP; i++) {
                        bool in = false, ret = false;
                        for (int64_t k = off[i]; k < off[i + 1]; k++) {
                            int dd = day_of[k];
                            if (co == 1 && (role[k] & RETENTION_START) && dd == c)
                                in = true;
                            if (co == 0 && k == off[i] + 0 && first[i] != RETENTION_NEVER) {
                                int64_t fd = (first[i] - day0) / DAY;
                                in = first[i] >= day0 && fd == c;
                            }
                            if ((role[k] & RETENTION_RETURN) && dd < ND &&
                                (mo == 0 ? dd == c + N : dd >= c + N))
                                ret = true;
                        }
                        if (in && (N == 0 || ret))
                            want++;
                    }
                    assert_int_equal(CELL(r, c, N), want);
                    /* complete iff day c+N ended by now (end of day 8) */
                    assert_int_equal(DONE(r, c, N), c + N <= 8);
                    if (mo == 1 && N > 1)
                        assert_true(CELL(r, c, N) <= CELL(r, c, N - 1));
                }
            retention_result_free(&r);
        }
    calendar_cleanup(&cal);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_time_n_day),
        cmocka_unit_test(test_recurring_n_day),
        cmocka_unit_test(test_unbounded),
        cmocka_unit_test(test_censoring_mid_period),
        cmocka_unit_test(test_specific_return_event),
        cmocka_unit_test(test_iso_vs_sunday_weeks),
        cmocka_unit_test(test_dst_day_boundary),
        cmocka_unit_test(test_day_n_helper),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_random_vs_naive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
