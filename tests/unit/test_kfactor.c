/*
 * Unit tests for model/kfactor.c. Expected values are worked out by hand in
 * the comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>

#include <cmocka.h>

#include "model/kfactor.h"

#define DAY 86400000000LL
#define REL_EQ(got, want) assert_true(fabs((got) - (want)) <= 1e-12 * fabs(want) + 1e-15)

/* Cohort of four (days as µs):
 *   id 10: start 0,  5 invites, referees at day 1 and day 3 (delays 1, 3)
 *   id 20: start 10, 3 invites, referees at day 12 (delay 2) and day 5
 *          (before its own start: invalid)
 *   id 30: start 0,  2 invites, referees at day 4 and day 6 (delays 4, 6)
 *   id 5:  start 0,  0 invites, no referees
 * Valid referees R = 5, invalid 1, N = 4: K = 5/4 = 1.25.
 * Invites I = 10: per person 2.5, conversion 5/10 = 0.5, 2.5 * 0.5 = 1.25.
 * Delays 1, 3, 2, 4, 6: mean 16/5 = 3.2 days, median 3 days.
 * Referrers 3; ranking: id 10 (2), id 30 (2; tie broken by id), id 20 (1). */
static const struct kfactor_member cohort[4] = {
    {10, 0, 5, 2}, {20, 10 * DAY, 3, 2}, {30, 0, 2, 2}, {5, 0, 0, 0},
};
static const int64_t signups[6] = {1 * DAY, 3 * DAY, 12 * DAY, 5 * DAY, 4 * DAY, 6 * DAY};

static void test_with_invites(void **state)
{
    (void)state;
    struct kfactor_params prm = {.has_invites = true, .top_n = 2};
    struct kfactor_result r;
    assert_true(kfactor_compute(cohort, 4, signups, 6, &prm, &r));
    assert_int_equal(r.cohort_size, 4);
    assert_int_equal(r.referees, 5);
    assert_int_equal(r.invalid_referees, 1);
    assert_int_equal(r.invites, 10);
    assert_int_equal(r.referrers, 3);
    REL_EQ(r.k, 1.25);
    REL_EQ(r.invites_per_person, 2.5);
    REL_EQ(r.invite_conversion, 0.5);
    REL_EQ(r.invites_per_person * r.invite_conversion, r.k);
    REL_EQ(r.cycle_mean_days, 3.2);
    REL_EQ(r.cycle_median_days, 3.0);
    assert_int_equal(r.n_top, 2);
    assert_int_equal(r.top[0].person_id, 10);
    assert_int_equal(r.top[0].referees, 2);
    assert_int_equal(r.top[1].person_id, 30);
    kfactor_result_free(&r);

    prm.top_n = 10; /* more than there are referrers: 3 entries */
    assert_true(kfactor_compute(cohort, 4, signups, 6, &prm, &r));
    assert_int_equal(r.n_top, 3);
    assert_int_equal(r.top[2].person_id, 20);
    assert_int_equal(r.top[2].referees, 1);
    kfactor_result_free(&r);
}

static void test_without_invites(void **state)
{
    (void)state;
    struct kfactor_params prm = {.has_invites = false, .top_n = 0};
    struct kfactor_result r;
    assert_true(kfactor_compute(cohort, 4, signups, 6, &prm, &r));
    REL_EQ(r.k, 1.25);
    assert_int_equal(r.invites, 0);
    assert_true(isnan(r.invites_per_person));
    assert_true(isnan(r.invite_conversion));
    assert_int_equal(r.n_top, 0);
    assert_null(r.top);
    kfactor_result_free(&r);

    /* First two members: valid delays 1, 3, 2 (day 5 is invalid) ->
     * median 2, mean 2; K = 3 / 2. Even count: members id 10 and id 30 ->
     * delays 1, 3, 4, 6 -> median (3 + 4) / 2 = 3.5, mean 14 / 4 = 3.5. */
    assert_true(kfactor_compute(cohort, 2, signups, 4, &prm, &r));
    REL_EQ(r.k, 1.5);
    REL_EQ(r.cycle_median_days, 2.0);
    REL_EQ(r.cycle_mean_days, 2.0);
    kfactor_result_free(&r);
    const struct kfactor_member two[2] = {cohort[0], cohort[2]};
    const int64_t s2[4] = {1 * DAY, 3 * DAY, 4 * DAY, 6 * DAY};
    assert_true(kfactor_compute(two, 2, s2, 4, &prm, &r));
    REL_EQ(r.cycle_median_days, 3.5);
    REL_EQ(r.cycle_mean_days, 3.5);
    kfactor_result_free(&r);
}

static void test_edges_and_ties(void **state)
{
    (void)state;
    struct kfactor_params prm = {.has_invites = true, .top_n = 3};
    struct kfactor_result r;
    /* Empty cohort: everything undefined, nothing to free. */
    assert_true(kfactor_compute(NULL, 0, NULL, 0, &prm, &r));
    assert_true(isnan(r.k));
    assert_true(isnan(r.cycle_mean_days));
    assert_int_equal(r.n_top, 0);
    kfactor_result_free(&r);
    /* Count mismatch: member says 2 referees, array holds 1. */
    assert_false(kfactor_compute(cohort, 1, signups, 1, &prm, &r));
    kfactor_result_free(NULL);

    /* Ten members, one referee each, ids 100..91: all tie on count, so the
     * top 3 are the smallest ids 91, 92, 93. Invites 0 -> conversion NaN.
     * One member signs up a referee at the same instant: delay 0, valid. */
    struct kfactor_member m[10];
    int64_t s[10];
    for (int i = 0; i < 10; i++) {
        m[i] = (struct kfactor_member){100 - i, i * DAY, 0, 1};
        s[i] = i * DAY + (i == 0 ? 0 : DAY);
    }
    assert_true(kfactor_compute(m, 10, s, 10, &prm, &r));
    REL_EQ(r.k, 1.0);
    assert_true(isnan(r.invite_conversion));
    REL_EQ(r.invites_per_person, 0.0);
    assert_int_equal(r.n_top, 3);
    assert_int_equal(r.top[0].person_id, 91);
    assert_int_equal(r.top[1].person_id, 92);
    assert_int_equal(r.top[2].person_id, 93);
    /* delays: 0 once, 1 day nine times -> mean 0.9, median 1 */
    REL_EQ(r.cycle_mean_days, 0.9);
    REL_EQ(r.cycle_median_days, 1.0);
    kfactor_result_free(&r);

    /* A delay wider than INT64_MAX µs must not overflow: start -4e18,
     * signup 4e18 -> 8e18 µs / 8.64e10 µs per day = 92592592.59... days. */
    const struct kfactor_member wide = {1, -4000000000000000000LL, 0, 1};
    const int64_t far = 4000000000000000000LL;
    assert_true(kfactor_compute(&wide, 1, &far, 1, &prm, &r));
    REL_EQ(r.cycle_mean_days, 8e18 / 8.64e10);
    kfactor_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_with_invites),
        cmocka_unit_test(test_without_invites),
        cmocka_unit_test(test_edges_and_ties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
