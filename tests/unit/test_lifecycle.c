/*
 * Unit tests for model/lifecycle (PostHog lifecycle states per period) and
 * model/activity (DAU and trailing-window active users). Expected tables
 * are worked out by hand in the comments; a randomised case recounts every
 * cell naively from the definitions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/activity.h"
#include "model/lifecycle.h"

#define HOUR_US INT64_C(3600000000)
#define DAY CALENDAR_DAY_US
#define D_2026_03_01 20513 /* 20454 (2026-01-01) + 31 + 28 */

static const int64_t day0 = (int64_t)D_2026_03_01 * 86400 * 1000000;

static void utc_days(struct calendar *cal, int n)
{
    int64_t mn[64];
    for (int i = 0; i <= n; i++)
        mn[i] = day0 + i * DAY;
    assert_true(calendar_init(cal, mn, n, 2026, 3, 1, CALENDAR_WEEK_MONDAY));
}

struct data {
    size_t np;
    int64_t off[16];
    int64_t ts[64];
    int64_t first[16];
};

static void add(struct data *d, const int *days, int n, int64_t first)
{
    int64_t o = d->off[d->np];
    for (int i = 0; i < n; i++)
        d->ts[o + i] = day0 + days[i] * DAY + (1 + i) * HOUR_US;
    d->first[d->np] = first ? first : d->ts[o];
    d->np++;
    d->off[d->np] = o + n;
}

static void test_lifecycle_days(void **state)
{
    (void)state;
    /* Days 0..5, reported from day 1 (day 0 is the look-back period).
     *  P1 first day 0, active 0 1 2 4: d1 ret, d2 ret, d3 dorm, d4 res, d5 dorm
     *  P2 first seen day -3, active 2:   d2 res, d3 dorm
     *  P3 active 1 2:                    d1 new, d2 ret, d3 dorm
     *  P4 active 0:                      d1 dorm
     *  P5 first seen day 3, active 3 5:  d3 new, d4 dorm, d5 res
     * Totals (new, returning, resurrecting, dormant):
     *  d1 (1, 1, 0, -1)  d2 (0, 2, 1, 0)  d3 (1, 0, 0, -3)
     *  d4 (0, 0, 1, -1)  d5 (0, 0, 1, -1) */
    struct calendar cal;
    utc_days(&cal, 6);
    struct data d;
    memset(&d, 0, sizeof d);
    int p1[] = {0, 1, 2, 4}, p2[] = {2}, p3[] = {1, 2}, p4[] = {0}, p5[] = {3, 5};
    add(&d, p1, 4, 0);
    add(&d, p2, 1, day0 - 3 * DAY);
    add(&d, p3, 2, 0);
    add(&d, p4, 1, 0);
    add(&d, p5, 2, day0 + 3 * DAY);
    struct lifecycle_params p = {CALENDAR_DAY, 1};
    struct lifecycle_events ev = {d.np, d.off, d.ts, d.first};
    struct lifecycle_result r;
    assert_true(lifecycle_compute(&cal, &p, &ev, &r));
    assert_int_equal(r.n_periods, 5);
    int64_t want[5][4] = {{1, 1, 0, -1}, {0, 2, 1, 0}, {1, 0, 0, -3}, {0, 0, 1, -1}, {0, 0, 1, -1}};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r.n_new[i], want[i][0]);
        assert_int_equal(r.n_returning[i], want[i][1]);
        assert_int_equal(r.n_resurrecting[i], want[i][2]);
        assert_int_equal(r.n_dormant[i], want[i][3]);
    }
    lifecycle_result_free(&r);
    /* Without first_seen the first event defines "new": P2 (day 2) becomes
     * new on day 2 instead of resurrecting. */
    ev.first_seen_us = NULL;
    assert_true(lifecycle_compute(&cal, &p, &ev, &r));
    assert_int_equal(r.n_new[1], 1);
    assert_int_equal(r.n_resurrecting[1], 0);
    lifecycle_result_free(&r);
    p.first_period = 0; /* needs a look-back period */
    assert_false(lifecycle_compute(&cal, &p, &ev, &r));
    calendar_cleanup(&cal);
}

static void test_lifecycle_weeks(void **state)
{
    (void)state;
    /* 2026-03-01 (Sun) .. 03-21 (Sat), ISO weeks: Sun 1 | 2..8 | 9..15 | 16..21.
     * A person seen first Sun 03-01 (week 0) and active Mon 03-09 (day 8,
     * week 2): week 1 dormant, week 2 resurrecting, week 3 dormant. */
    struct calendar cal;
    utc_days(&cal, 21);
    struct data d;
    memset(&d, 0, sizeof d);
    int p1[] = {0, 8};
    add(&d, p1, 2, 0);
    struct lifecycle_params p = {CALENDAR_WEEK, 1};
    struct lifecycle_events ev = {d.np, d.off, d.ts, d.first};
    struct lifecycle_result r;
    assert_true(lifecycle_compute(&cal, &p, &ev, &r));
    assert_int_equal(r.n_periods, 3);
    assert_int_equal(r.n_dormant[0], -1);
    assert_int_equal(r.n_resurrecting[1], 1);
    assert_int_equal(r.n_dormant[2], -1);
    lifecycle_result_free(&r);
    calendar_cleanup(&cal);
}

static void test_activity(void **state)
{
    (void)state;
    /* Days 0..9. P1 active 0, 1, 5 (twice on 5); P2 active 1, 2; P3 day 9;
     * P4 only before the table (ignored).
     * DAU:      1 2 1 0 0 1 0 0 0 1
     * 3-day:    d0 P1; d1 P1 P2; d2 P1 P2; d3 P1(1) P2(2); d4 P2(2);
     *           d5..d7 P1(5); d8 none; d9 P3 -> 1 2 2 2 1 1 1 1 0 1 */
    struct calendar cal;
    utc_days(&cal, 10);
    int64_t off[5] = {0, 4, 6, 7, 8};
    int64_t ts[8] = {day0 + 1, day0 + DAY + 1, day0 + 5 * DAY + 1, day0 + 5 * DAY + 2,
                     day0 + DAY + 7, day0 + 2 * DAY, day0 + 9 * DAY + 3, day0 - 1};
    int32_t w[2] = {1, 3};
    struct activity_result r;
    assert_true(activity_compute(&cal, 4, off, ts, w, 2, &r));
    int64_t dau[10] = {1, 2, 1, 0, 0, 1, 0, 0, 0, 1};
    int64_t w3[10] = {1, 2, 2, 2, 1, 1, 1, 1, 0, 1};
    for (int d = 0; d < 10; d++) {
        assert_int_equal(r.count[d], dau[d]);
        assert_int_equal(r.count[10 + d], w3[d]);
    }
    activity_result_free(&r);
    int32_t bad[1] = {0};
    assert_false(activity_compute(&cal, 4, off, ts, bad, 1, &r));
    calendar_cleanup(&cal);
}

static uint64_t rng = 0xD1B54A32D192ED03u;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* Naive recount of every cell from per-person day sets. */
static void test_random_vs_naive(void **state)
{
    (void)state;
    enum { NP = 300, ND = 40 };
    struct calendar cal;
    utc_days(&cal, ND);
    static int64_t off[NP + 1], ts[NP * 12], first[NP];
    static bool act[NP][ND];
    static int firstday[NP];
    memset(act, 0, sizeof act);
    off[0] = 0;
    for (int i = 0; i < NP; i++) {
        int n = (int)rnd(12), day = (int)rnd(ND) - 5;
        firstday[i] = day - (int)rnd(3);
        first[i] = day0 + firstday[i] * DAY;
        for (int k = 0; k < n; k++) {
            ts[off[i] + k] = day0 + day * DAY + k * HOUR_US;
            if (day >= 0 && day < ND)
                act[i][day] = true;
            day += (int)rnd(5);
        }
        off[i + 1] = off[i] + n;
        if (n == 0)
            firstday[i] = 1000;
    }
    int32_t w[3] = {1, 7, 30};
    struct activity_result ar;
    assert_true(activity_compute(&cal, NP, off, ts, w, 3, &ar));
    for (int k = 0; k < 3; k++)
        for (int d = 0; d < ND; d++) {
            int64_t want = 0;
            for (int i = 0; i < NP; i++) {
                bool any = false;
                for (int e = d - w[k] + 1; e <= d; e++)
                    any |= e >= 0 && act[i][e];
                want += any;
            }
            assert_int_equal(ar.count[k * ND + d], want);
        }
    activity_result_free(&ar);
    struct lifecycle_params p = {CALENDAR_DAY, 1};
    struct lifecycle_events ev = {NP, off, ts, first};
    struct lifecycle_result r;
    assert_true(lifecycle_compute(&cal, &p, &ev, &r));
    for (int t = 1; t < ND; t++) {
        int64_t nw = 0, rt = 0, rs = 0, dm = 0;
        for (int i = 0; i < NP; i++) {
            if (act[i][t] && firstday[i] == t)
                nw++;
            else if (act[i][t] && act[i][t - 1])
                rt++;
            else if (act[i][t])
                rs++;
            else if (act[i][t - 1])
                dm--;
        }
        assert_int_equal(r.n_new[t - 1], nw);
        assert_int_equal(r.n_returning[t - 1], rt);
        assert_int_equal(r.n_resurrecting[t - 1], rs);
        assert_int_equal(r.n_dormant[t - 1], dm);
    }
    lifecycle_result_free(&r);
    calendar_cleanup(&cal);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle_days),
        cmocka_unit_test(test_lifecycle_weeks),
        cmocka_unit_test(test_activity),
        cmocka_unit_test(test_random_vs_naive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
