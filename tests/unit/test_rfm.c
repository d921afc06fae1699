/*
 * Unit tests for model/rfm.c.
 *
 * Expected values are worked out by hand in the comments, or come from an
 * independent naive implementation in this file (qsort + binary search for the
 * ranks, and a matcher over the published regex seg_map strings for the grid).
 * The seg_map is the R x F grid of the widely copied RFM tutorial (e.g. the
 * Miuul CRM analytics course notebooks on GitHub): [1-2][1-2] hibernating,
 * [1-2][3-4] at risk, [1-2]5 can't lose, 3[1-2] about to sleep, 33 need
 * attention, [3-4][4-5] loyal, 41 promising, 51 new, [4-5][2-3] potential
 * loyalist, 5[4-5] champions; our documented change: cell 11 is "Lost".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/rfm.h"

#define AS_OF 20000 /* an arbitrary day number */

static struct rfm_person P(int days, int orders, int64_t net)
{
    struct rfm_person p = {AS_OF - days, orders, net};
    return p;
}

/* ---- independent grid: the published regex seg_map ------------------ */

struct pattern {
    const char *re; /* two positions, each "[a-b]" or a digit */
    enum rfm11_segment seg;
};

static const struct pattern seg_map[] = {
    {"[1-2][1-2]", RFM11_HIBERNATING}, {"[1-2][3-4]", RFM11_AT_RISK},
    {"[1-2]5", RFM11_CANT_LOSE},       {"3[1-2]", RFM11_ABOUT_TO_SLEEP},
    {"33", RFM11_NEED_ATTENTION},      {"[3-4][4-5]", RFM11_LOYAL},
    {"41", RFM11_PROMISING},           {"51", RFM11_NEW_CUSTOMERS},
    {"[4-5][2-3]", RFM11_POTENTIAL_LOYALIST},
    {"5[4-5]", RFM11_CHAMPIONS},
};

/* Match one position of the pattern at *re against digit d; advance *re. */
static int match_pos(const char **re, int d)
{
    const char *s = *re;
    if (*s == '[') {
        int lo = s[1] - '0', hi = s[3] - '0';
        *re = s + 5;
        return d >= lo && d <= hi;
    }
    *re = s + 1;
    return d == *s - '0';
}

static enum rfm11_segment naive_segment(int r, int x)
{
    if (r == 1 && x == 1)
        return RFM11_LOST;
    for (size_t k = 0; k < sizeof seg_map / sizeof seg_map[0]; k++) {
        const char *re = seg_map[k].re;
        int a = match_pos(&re, r);
        int b = match_pos(&re, x);
        if (a && b)
            return seg_map[k].seg;
    }
    return RFM11_N_SEGMENTS;
}

static void test_grid_every_cell(void **state)
{
    (void)state;
    for (int r = 1; r <= 5; r++)
        for (int x = 1; x <= 5; x++) {
            enum rfm11_segment want = naive_segment(r, x);
            assert_int_not_equal(want, RFM11_N_SEGMENTS);
            assert_int_equal(rfm11_segment_of(r, x), want);
        }
    /* A few cells spelled out: 55 champions, 33 need attention, 15 can't lose. */
    assert_int_equal(rfm11_segment_of(5, 5), RFM11_CHAMPIONS);
    assert_int_equal(rfm11_segment_of(3, 3), RFM11_NEED_ATTENTION);
    assert_int_equal(rfm11_segment_of(1, 5), RFM11_CANT_LOSE);
    assert_int_equal(rfm11_segment_of(2, 1), RFM11_HIBERNATING);
    assert_int_equal(rfm11_segment_of(0, 3), RFM11_N_SEGMENTS);
    assert_int_equal(rfm11_segment_of(3, 6), RFM11_N_SEGMENTS);
    /* Every segment has a name, code and rule for both axes. */
    for (int s = 0; s < RFM11_N_SEGMENTS; s++) {
        assert_non_null(rfm11_name((enum rfm11_segment)s));
        assert_non_null(rfm11_code((enum rfm11_segment)s));
        assert_non_null(rfm11_rule((enum rfm11_segment)s, RFM11_AXIS_FM));
        assert_non_null(rfm11_rule((enum rfm11_segment)s, RFM11_AXIS_F));
    }
    assert_string_equal(rfm11_name(RFM11_CANT_LOSE), "Can't Lose Them");
    assert_string_equal(rfm11_rule(RFM11_CHAMPIONS, RFM11_AXIS_F), "R = 5 and F in 4-5");
    assert_null(rfm11_name(RFM11_N_SEGMENTS));
}

static void test_quintile_formula(void **state)
{
    (void)state;
    /* n = 10 distinct: below = 0..9, equal = 1: 1 + (10b + 5) / 20
     * = 1 + floor(b/2 + 1/4) -> 1,1,2,2,3,3,4,4,5,5 (two per score). */
    static const int want10[10] = {1, 1, 2, 2, 3, 3, 4, 4, 5, 5};
    for (uint32_t b = 0; b < 10; b++)
        assert_int_equal(rfm_quintile(b, 1, 10), want10[b]);
    /* n = 7 distinct: p = (b + 0.5)/7; 5p = 0.36, 1.07, 1.79, 2.5, 3.21,
     * 3.93, 4.64 -> scores 1,2,2,3,4,4,5. */
    static const int want7[7] = {1, 2, 2, 3, 4, 4, 5};
    for (uint32_t b = 0; b < 7; b++)
        assert_int_equal(rfm_quintile(b, 1, 7), want7[b]);
    /* One value: p = 0.5 -> 3. All n equal: p = 0.5 -> 3. */
    assert_int_equal(rfm_quintile(0, 1, 1), 3);
    assert_int_equal(rfm_quintile(0, 1000, 1000), 3);
}

static void test_rank_counts(void **state)
{
    (void)state;
    /* Negative, zero, duplicates and extremes. Sorted: MIN, -5, -5, 0, 7, 7, 7, MAX. */
    const int64_t v[8] = {7, -5, INT64_MAX, 0, 7, INT64_MIN, -5, 7};
    const uint32_t below[8] = {4, 1, 7, 3, 4, 0, 1, 4};
    const uint32_t equal[8] = {3, 2, 1, 1, 3, 1, 2, 3};
    uint32_t b[8], e[8];
    assert_true(rfm_rank_counts(v, 8, b, e));
    for (int i = 0; i < 8; i++) {
        assert_int_equal(b[i], below[i]);
        assert_int_equal(e[i], equal[i]);
    }
    assert_true(rfm_rank_counts(v, 0, b, e));
}

static void test_ties_in_frequency(void **state)
{
    (void)state;
    /* n = 10, F = 1,1,1,1,2,2,3,5,5,5 (days and M distinct).
     * F=1: below 0, equal 4: 1 + (0 + 20)/20  = 2
     * F=2: below 4, equal 2: 1 + (40 + 10)/20 = 3
     * F=3: below 6, equal 1: 1 + (60 + 5)/20  = 4
     * F=5: below 7, equal 3: 1 + (70 + 15)/20 = 5
     * Equal values always share a score. */
    static const int F[10] = {1, 1, 1, 1, 2, 2, 3, 5, 5, 5};
    static const int want_f[10] = {2, 2, 2, 2, 3, 3, 4, 5, 5, 5};
    struct rfm_person p[10];
    struct rfm11_score out[10];
    struct rfm11_summary sum;
    for (int i = 0; i < 10; i++)
        p[i] = P(i, F[i], 100 * (i + 1));
    assert_true(rfm11_score(p, 10, AS_OF, RFM11_AXIS_FM, out, &sum));
    assert_int_equal(sum.n_scored, 10);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(out[i].f, want_f[i]);
        /* days i distinct, more recent better: person i has 9 - i worse. */
        assert_int_equal(out[i].r, rfm_quintile((uint32_t)(9 - i), 1, 10));
        assert_int_equal(out[i].recency_days, i);
    }
    /* M ties: 3 persons at 50, 2 at 70 -> n = 5: 50: below 0 eq 3: 1+(15)/10 = 2;
     * 70: below 3 eq 2: 1 + (30+10)/10 = 5. */
    struct rfm_person q[5] = {P(1, 1, 50), P(2, 1, 70), P(3, 1, 50), P(4, 1, 70), P(5, 1, 50)};
    assert_true(rfm11_score(q, 5, AS_OF, RFM11_AXIS_FM, out, &sum));
    assert_int_equal(out[0].m, 2);
    assert_int_equal(out[2].m, 2);
    assert_int_equal(out[4].m, 2);
    assert_int_equal(out[1].m, 5);
    assert_int_equal(out[3].m, 5);
}

static void test_axis_fm_vs_f(void **state)
{
    (void)state;
    /* Five distinct values per dimension -> scores are exactly 1..5.
     * A: days 0, F 1, M 500 -> R5 F1 M5, FM = (1+5+1)/2 = 3:
     *    FM axis 53 Potential Loyalist; F axis 51 New Customers.
     * i=1: days 1, F 2, M 100 -> R4 F2 M1 FM 2 -> 42 Potential Loyalist (both)
     * i=2: days 2, F 3, M 200 -> R3 F3 M2 FM 3 -> 33 Need Attention (both)
     * i=3: days 3, F 4, M 300 -> R2 F4 M3 FM 4 -> 24 At Risk (both)
     * i=4: days 4, F 5, M 400 -> R1 F5 M4 FM 5 -> 15 Can't Lose Them (both) */
    struct rfm_person p[5] = {P(0, 1, 500), P(1, 2, 100), P(2, 3, 200),
                              P(3, 4, 300), P(4, 5, 400)};
    struct rfm11_score out[5];
    struct rfm11_summary sum;
    assert_true(rfm11_score(p, 5, AS_OF, RFM11_AXIS_FM, out, &sum));
    assert_int_equal(out[0].r, 5);
    assert_int_equal(out[0].f, 1);
    assert_int_equal(out[0].m, 5);
    assert_int_equal(out[0].fm, 3);
    assert_int_equal(out[0].segment, RFM11_POTENTIAL_LOYALIST);
    assert_int_equal(out[1].segment, RFM11_POTENTIAL_LOYALIST);
    assert_int_equal(out[2].segment, RFM11_NEED_ATTENTION);
    assert_int_equal(out[3].segment, RFM11_AT_RISK);
    assert_int_equal(out[4].segment, RFM11_CANT_LOSE);
    assert_int_equal(sum.count[RFM11_POTENTIAL_LOYALIST], 2);
    assert_int_equal(sum.revenue[RFM11_POTENTIAL_LOYALIST], 600);
    assert_true(rfm11_score(p, 5, AS_OF, RFM11_AXIS_F, out, &sum));
    assert_int_equal(out[0].segment, RFM11_NEW_CUSTOMERS);
    assert_int_equal(out[1].segment, RFM11_POTENTIAL_LOYALIST);
    assert_int_equal(out[4].segment, RFM11_CANT_LOSE);
    assert_int_equal(sum.count[RFM11_NEW_CUSTOMERS], 1);
    assert_false(rfm11_score(p, 5, AS_OF, (enum rfm11_axis)7, out, &sum));
}

static void test_unscored_and_edge_populations(void **state)
{
    (void)state;
    struct rfm11_score out[6];
    struct rfm11_summary sum;
    /* Refund-only person (1 order, net 0), a net-negative one, no orders,
     * an order after as_of, and two real customers. */
    struct rfm_person p[6] = {P(3, 1, 0), P(3, 2, -100), P(3, 0, 0),
                              P(-1, 1, 100), P(5, 1, 100), P(2, 3, 900)};
    assert_true(rfm11_score(p, 6, AS_OF, RFM11_AXIS_FM, out, &sum));
    assert_int_equal(sum.n_scored, 2);
    assert_int_equal(sum.unscored.non_positive_net, 2);
    assert_int_equal(sum.unscored.no_orders, 1);
    assert_int_equal(sum.unscored.after_as_of, 1);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(out[i].segment, RFM_UNSCORED);
        assert_int_equal(out[i].r, RFM_UNSCORED);
    }
    /* Two customers: worse one p = 0.25 -> 1 + floor(1.25) = 2; better one
     * p = 0.75 -> 1 + floor(3.75) = 4. Person 5 is better on all three:
     * R4 F4 M4 FM4 -> 44 Loyal; person 4: R2 F2 M2 FM2 -> 22 Hibernating. */
    assert_int_equal(out[5].segment, RFM11_LOYAL);
    assert_int_equal(out[4].segment, RFM11_HIBERNATING);

    /* Single customer: 3/3/3 -> Need Attention. */
    struct rfm_person one = P(10, 2, 4999);
    assert_true(rfm11_score(&one, 1, AS_OF, RFM11_AXIS_FM, out, &sum));
    assert_int_equal(out[0].r, 3);
    assert_int_equal(out[0].f, 3);
    assert_int_equal(out[0].m, 3);
    assert_int_equal(out[0].segment, RFM11_NEED_ATTENTION);

    /* Everyone equal: all 3/3/3. */
    struct rfm_person eq[6];
    for (int i = 0; i < 6; i++)
        eq[i] = P(7, 2, 1000);
    assert_true(rfm11_score(eq, 6, AS_OF, RFM11_AXIS_FM, out, &sum));
    assert_int_equal(sum.count[RFM11_NEED_ATTENTION], 6);
    assert_int_equal(sum.revenue[RFM11_NEED_ATTENTION], 6000);

    /* Empty input. */
    assert_true(rfm11_score(NULL, 0, AS_OF, RFM11_AXIS_FM, out, &sum));
    assert_int_equal(sum.n_scored, 0);
}

/* ---- independent naive implementation for random populations -------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* #sorted < v, #sorted == v by binary search. */
static void naive_counts(const int64_t *sorted, size_t n, int64_t v, size_t *lt, size_t *eq)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] < v) lo = mid + 1; else hi = mid;
    }
    *lt = lo;
    hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] <= v) lo = mid + 1; else hi = mid;
    }
    *eq = lo - *lt;
}

/* Documented rule: score = 1 + floor(5 * (lt + eq/2) / n). */
static int naive_score(size_t lt, size_t eq, size_t n)
{
    return 1 + (int)((10 * lt + 5 * eq) / (2 * n));
}

/* Score a random population of size N (value ranges small enough to make
 * many ties) and compare every score and segment with the naive version. */
static void check_random_population(int N, int day_range, int net_range)
{
    struct rfm_person *p = malloc((size_t)N * sizeof *p);
    struct rfm11_score *out = malloc((size_t)N * sizeof *out);
    size_t *who = malloc((size_t)N * sizeof *who);
    int64_t *dim[3];
    struct rfm11_summary sum;
    assert_non_null(p);
    assert_non_null(out);
    assert_non_null(who);
    for (int i = 0; i < N; i++) {
        int orders = rand() % 9; /* 0 -> unscored */
        int64_t net = rand() % 60 == 0 ? 0 : 1 + rand() % net_range;
        p[i] = P(rand() % day_range, orders, net * 25);
    }
    assert_true(rfm11_score(p, (size_t)N, AS_OF, RFM11_AXIS_FM, out, &sum));
    size_t m = 0;
    for (int i = 0; i < N; i++)
        if (p[i].orders > 0 && p[i].net_revenue > 0)
            who[m++] = (size_t)i;
    assert_int_equal(sum.n_scored, m);
    for (int d = 0; d < 3; d++) {
        dim[d] = malloc((m ? m : 1) * sizeof *dim[d]);
        assert_non_null(dim[d]);
        for (size_t j = 0; j < m; j++) {
            const struct rfm_person *q = &p[who[j]];
            dim[d][j] = d == 0 ? (int64_t)q->last_order_day : d == 1 ? q->orders : q->net_revenue;
        }
        /* recency: a later last_order_day is better, so ranking by day
         * ascending equals ranking by -days. */
        qsort(dim[d], m, sizeof *dim[d], cmp_i64);
    }
    size_t seg_count[RFM11_N_SEGMENTS] = {0};
    for (size_t j = 0; j < m; j++) {
        const struct rfm_person *q = &p[who[j]];
        int64_t v[3] = {q->last_order_day, q->orders, q->net_revenue};
        int sc[3];
        for (int d = 0; d < 3; d++) {
            size_t lt, eq;
            naive_counts(dim[d], m, v[d], &lt, &eq);
            sc[d] = naive_score(lt, eq, m);
        }
        const struct rfm11_score *o = &out[who[j]];
        assert_int_equal(o->r, sc[0]);
        assert_int_equal(o->f, sc[1]);
        assert_int_equal(o->m, sc[2]);
        int fm = (sc[1] + sc[2]) / 2 + (sc[1] + sc[2]) % 2; /* half up */
        assert_int_equal(o->segment, naive_segment(sc[0], fm));
        seg_count[o->segment]++;
    }
    for (int s = 0; s < RFM11_N_SEGMENTS; s++)
        assert_int_equal(sum.count[s], seg_count[s]);
    for (int d = 0; d < 3; d++)
        free(dim[d]);
    free(who);
    free(out);
    free(p);
}

static void test_random_vs_naive(void **state)
{
    (void)state;
    srand(12345);
    /* One large population, then many small ones where the score
     * boundaries (multiples of 2n in 10*below + 5*equal) are hit often. */
    check_random_population(3000, 120, 400);
    for (int n = 1; n <= 80; n++)
        for (int rep = 0; rep < 5; rep++)
            check_random_population(n, 1 + n / 4, 1 + n / 3);
}

/* ---- rfm8 ------------------------------------------------------------ */

static void test_rfm8_all_combinations(void **state)
{
    (void)state;
    /* Eight persons, days in {2, 10}, F in {1, 3}, M in {100, 300}, every
     * combination once. Means: days 6, F 2, M 200. recent = days <= 6. */
    struct rfm_person p[8];
    uint8_t seg[8];
    struct rfm8_summary sum;
    for (int i = 0; i < 8; i++)
        p[i] = P((i & 4) ? 2 : 10, (i & 2) ? 3 : 1, (i & 1) ? 300 : 100);
    /* Person i has recent = bit 2, F high = bit 1, M high = bit 0, so the
     * expected segment is i itself, listed by name: */
    static const enum rfm8_segment want[8] = {
        RFM8_GENERAL_WINBACK, RFM8_IMPORTANT_WINBACK, RFM8_GENERAL_RETAIN,
        RFM8_IMPORTANT_RETAIN, RFM8_GENERAL_DEVELOP, RFM8_IMPORTANT_DEVELOP,
        RFM8_GENERAL_VALUE, RFM8_IMPORTANT_VALUE,
    };
    assert_true(rfm8_score(p, 8, AS_OF, RFM8_SPLIT_MEAN, seg, &sum));
    for (int i = 0; i < 8; i++) {
        assert_int_equal(seg[i], want[i]);
        assert_int_equal(sum.count[i], 1);
    }
    assert_true(sum.recency_threshold_days == 6.0);
    assert_true(sum.f_threshold == 2.0);
    assert_true(sum.m_threshold == 200.0);
    assert_string_equal(rfm8_code(RFM8_IMPORTANT_VALUE), "important_value");
    assert_string_equal(rfm8_label_zh(RFM8_IMPORTANT_VALUE), "重要价值客户");
    assert_string_equal(rfm8_label_zh(RFM8_IMPORTANT_DEVELOP), "重要发展客户");
    assert_string_equal(rfm8_label_zh(RFM8_IMPORTANT_RETAIN), "重要保持客户");
    assert_string_equal(rfm8_label_zh(RFM8_IMPORTANT_WINBACK), "重要挽留客户");
    assert_string_equal(rfm8_label_zh(RFM8_GENERAL_VALUE), "一般价值客户");
    assert_string_equal(rfm8_label_zh(RFM8_GENERAL_DEVELOP), "一般发展客户");
    assert_string_equal(rfm8_label_zh(RFM8_GENERAL_RETAIN), "一般保持客户");
    assert_string_equal(rfm8_label_zh(RFM8_GENERAL_WINBACK), "一般挽留客户");
    assert_null(rfm8_code(RFM8_N_SEGMENTS));
}

static void test_rfm8_ties_and_median(void **state)
{
    (void)state;
    uint8_t seg[4];
    struct rfm8_summary sum;
    /* Everyone equal: days = mean -> recent, F = mean -> high, M = mean ->
     * high: all important_value. */
    struct rfm_person eq[3] = {P(5, 2, 70), P(5, 2, 70), P(5, 2, 70)};
    assert_true(rfm8_score(eq, 3, AS_OF, RFM8_SPLIT_MEAN, seg, &sum));
    assert_int_equal(sum.count[RFM8_IMPORTANT_VALUE], 3);

    /* F = 1, 2, 3, 10; days = 1, 2, 3, 10; M = 10, 20, 30, 100.
     * Mean: days 4, F 4, M 40 -> persons 0..2 recent, F low, M low
     *   (general_develop), person 3 not recent, F high, M high (important_retain).
     * Median: days 2.5, F 2.5, M 25 -> persons 0,1 recent low low
     *   (general_develop); person 2: days 3 > 2.5 not recent, F 3 high,
     *   M 30 high (important_retain); person 3 same (important_retain). */
    struct rfm_person p[4] = {P(1, 1, 10), P(2, 2, 20), P(3, 3, 30), P(10, 10, 100)};
    assert_true(rfm8_score(p, 4, AS_OF, RFM8_SPLIT_MEAN, seg, &sum));
    assert_int_equal(seg[0], RFM8_GENERAL_DEVELOP);
    assert_int_equal(seg[2], RFM8_GENERAL_DEVELOP);
    assert_int_equal(seg[3], RFM8_IMPORTANT_RETAIN);
    assert_true(sum.f_threshold == 4.0);
    assert_int_equal(sum.revenue[RFM8_GENERAL_DEVELOP], 60);
    assert_true(rfm8_score(p, 4, AS_OF, RFM8_SPLIT_MEDIAN, seg, &sum));
    assert_int_equal(seg[0], RFM8_GENERAL_DEVELOP);
    assert_int_equal(seg[1], RFM8_GENERAL_DEVELOP);
    assert_int_equal(seg[2], RFM8_IMPORTANT_RETAIN);
    assert_int_equal(seg[3], RFM8_IMPORTANT_RETAIN);
    assert_true(sum.f_threshold == 2.5);
    assert_true(sum.m_threshold == 25.0);

    /* Mean equal to a value: F = 1, 2, 3 (mean 2) -> F = 2 is high.
     * M = 10, 10, 11 (mean 31/3 = 10.33) -> 10 low, 11 high.
     * days = 0, 1, 1 (mean 2/3): 0 recent, 1 not recent. */
    struct rfm_person r[3] = {P(0, 1, 10), P(1, 2, 10), P(1, 3, 11)};
    assert_true(rfm8_score(r, 3, AS_OF, RFM8_SPLIT_MEAN, seg, &sum));
    assert_int_equal(seg[0], RFM8_GENERAL_DEVELOP);  /* recent, F low, M low */
    assert_int_equal(seg[1], RFM8_GENERAL_RETAIN);   /* F 2 >= 2 high */
    assert_int_equal(seg[2], RFM8_IMPORTANT_RETAIN); /* F high, M high */

    /* Unscored and empty. */
    struct rfm_person u[2] = {P(1, 1, 0), P(1, 0, 0)};
    assert_true(rfm8_score(u, 2, AS_OF, RFM8_SPLIT_MEDIAN, seg, &sum));
    assert_int_equal(sum.n_scored, 0);
    assert_int_equal(seg[0], RFM_UNSCORED);
    assert_true(rfm8_score(NULL, 0, AS_OF, RFM8_SPLIT_MEAN, seg, &sum));
    assert_false(rfm8_score(u, 2, AS_OF, (enum rfm8_split)9, seg, &sum));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_every_cell),
        cmocka_unit_test(test_quintile_formula),
        cmocka_unit_test(test_rank_counts),
        cmocka_unit_test(test_ties_in_frequency),
        cmocka_unit_test(test_axis_fm_vs_f),
        cmocka_unit_test(test_unscored_and_edge_populations),
        cmocka_unit_test(test_random_vs_naive),
        cmocka_unit_test(test_rfm8_all_combinations),
        cmocka_unit_test(test_rfm8_ties_and_median),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
