/*
 * Unit tests for model/stages.c, model/pyramid.c, model/aarrr.c, model/aipl.c.
 * Every expected value is worked out by hand in the comment next to it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/aarrr.h"
#include "model/aipl.h"
#include "model/pyramid.h"
#include "model/stages.h"

#define REL_EQ(got, want) assert_true(fabs((got) - (want)) <= 1e-12 * fabs(want) + 1e-15)

/* ---- lifecycle stages ------------------------------------------------ */

#define A 1000 /* as_of day */

static struct stages_person SP(int age, int idle, int orders, int active)
{
    struct stages_person p = {A - age, A - idle, orders, active};
    return p;
}

static void test_stages_defaults(void **state)
{
    (void)state;
    /* Defaults: new age < 7; dormant 30 <= idle <= 90; churned idle > 90;
     * mature age > 30 and (orders >= 2 or active_days >= 10). */
    struct stages_person p[] = {
        SP(2, 0, 0, 2),      /* 0 new (age 2) */
        SP(6, 6, 0, 1),      /* 1 new (age 6: first seen on the 7th day back) */
        SP(7, 0, 0, 1),      /* 2 growing (age 7 is not new; age <= 30) */
        SP(100, 0, 2, 1),    /* 3 mature (orders 2) */
        SP(100, 3, 1, 10),   /* 4 mature (10 active days) */
        SP(100, 3, 1, 9),    /* 5 growing (1 order, 9 days) */
        SP(30, 0, 5, 20),    /* 6 growing (age 30 is not > 30) */
        SP(31, 0, 2, 0),     /* 7 mature (age 31) */
        SP(200, 29, 9, 1),   /* 8 mature (idle 29 is active) */
        SP(200, 30, 9, 0),   /* 9 dormant (idle 30) */
        SP(200, 90, 9, 0),   /* 10 dormant (idle 90) */
        SP(200, 91, 9, 0),   /* 11 churned (idle 91) */
        SP(-1, -1, 0, 0),    /* 12 unclassified: first seen after as_of */
        SP(10, -2, 0, 0),    /* 13 unclassified: activity after as_of */
        SP(10, 20, 0, 0),    /* 14 unclassified: last active before first seen */
    };
    static const uint8_t want[] = {
        STAGES_NEW, STAGES_NEW, STAGES_GROWING, STAGES_MATURE, STAGES_MATURE,
        STAGES_GROWING, STAGES_GROWING, STAGES_MATURE, STAGES_MATURE,
        STAGES_DORMANT, STAGES_DORMANT, STAGES_CHURNED, STAGES_UNCLASSIFIED,
        STAGES_UNCLASSIFIED, STAGES_UNCLASSIFIED,
    };
    enum { N = sizeof want };
    uint8_t got[N];
    struct stages_summary sum;
    assert_true(stages_classify(p, N, A, NULL, got, &sum));
    for (size_t i = 0; i < N; i++)
        assert_int_equal(got[i], want[i]);
    assert_int_equal(sum.count[STAGES_NEW], 2);
    assert_int_equal(sum.count[STAGES_GROWING], 3);
    assert_int_equal(sum.count[STAGES_MATURE], 4);
    assert_int_equal(sum.count[STAGES_DORMANT], 2);
    assert_int_equal(sum.count[STAGES_CHURNED], 1);
    assert_int_equal(sum.unclassified, 3);
    assert_true(stages_classify(NULL, 0, A, NULL, NULL, &sum));
    assert_int_equal(sum.count[STAGES_NEW], 0);
}

static void test_stages_params_and_rules(void **state)
{
    (void)state;
    struct stages_params prm;
    struct stages_summary sum;
    uint8_t got[3];
    stages_default_params(&prm);
    assert_int_equal(prm.new_days, 7);
    assert_int_equal(prm.churn_days, 90);
    /* new 14, dormant 14, churn 60: age 13 idle 0 -> new; idle 14 -> dormant;
     * idle 61 -> churned. */
    prm.new_days = 14;
    prm.dormant_days = 14;
    prm.churn_days = 60;
    struct stages_person p[3] = {SP(13, 0, 0, 0), SP(100, 14, 0, 0), SP(100, 61, 0, 0)};
    assert_true(stages_classify(p, 3, A, &prm, got, &sum));
    assert_int_equal(got[0], STAGES_NEW);
    assert_int_equal(got[1], STAGES_DORMANT);
    assert_int_equal(got[2], STAGES_CHURNED);
    prm.new_days = 15; /* new > dormant: invalid */
    assert_false(stages_classify(p, 3, A, &prm, got, &sum));
    prm.new_days = 0;
    assert_false(stages_params_valid(&prm));

    char buf[256];
    int len = stages_rule(NULL, STAGES_MATURE, buf, sizeof buf);
    assert_string_equal(buf, "active (idle < 30), first seen more than 30 days "
                             "ago (age > 30) and (paid orders >= 2 or active on "
                             ">= 10 of the last 30 days)");
    assert_int_equal(len, (int)strlen(buf));
    stages_rule(NULL, STAGES_DORMANT, buf, sizeof buf);
    assert_string_equal(buf, "no activity for 30 to 90 days (30 <= idle <= 90)");
    assert_int_equal(stages_rule(NULL, (enum stages_stage)9, buf, sizeof buf), -1);
    assert_string_equal(stages_label_zh(STAGES_NEW), "引入期");
    assert_string_equal(stages_label_zh(STAGES_GROWING), "成长期");
    assert_string_equal(stages_label_zh(STAGES_MATURE), "成熟期");
    assert_string_equal(stages_label_zh(STAGES_DORMANT), "休眠期");
    assert_string_equal(stages_label_zh(STAGES_CHURNED), "流失期");
    assert_string_equal(stages_code(STAGES_CHURNED), "churned");
}

/* ---- value pyramid --------------------------------------------------- */

static void test_pyramid_100_payers(void **state)
{
    (void)state;
    /* Revenues 1..100 (distinct) plus 5 non-payers (0, 0, -10, 0, -1).
     * Default cuts 1/5/20 %: tier t holds G < c_t * 100 / 10000 = 1, 5, 20.
     * tier 0: 100 (1 person); tier 1: 99..96 (4; sum 390);
     * tier 2: 95..81 (15; sum (81+95)*15/2 = 1320); tier 3: 80..1 (80; 3240);
     * total 5050; non-payers 5 of 105 persons. */
    enum { N = 105 };
    int64_t rev[N];
    uint8_t tier[N];
    struct pyramid_result res;
    for (int i = 0; i < 100; i++)
        rev[i] = 100 - i;
    const int64_t np[5] = {0, 0, -10, 0, -1};
    memcpy(rev + 100, np, sizeof np);
    assert_true(pyramid_compute(rev, N, NULL, tier, &res));
    assert_int_equal(res.n_tiers, 5);
    assert_int_equal(res.n_payers, 100);
    assert_int_equal(res.total_revenue, 5050);
    const size_t persons[5] = {1, 4, 15, 80, 5};
    const int64_t revenue[5] = {100, 390, 1320, 3240, 0};
    for (int t = 0; t < 5; t++) {
        assert_int_equal(res.tier[t].persons, persons[t]);
        assert_int_equal(res.tier[t].revenue, revenue[t]);
        REL_EQ(res.tier[t].person_share, persons[t] / 105.0);
        if (t < 4)
            REL_EQ(res.tier[t].revenue_share, revenue[t] / 5050.0);
    }
    assert_int_equal(res.tier[2].min_revenue, 81);
    assert_int_equal(res.tier[2].max_revenue, 95);
    assert_int_equal(res.tier[1].from_bp, 100);
    assert_int_equal(res.tier[1].to_bp, 500);
    assert_int_equal(tier[0], 0);
    assert_int_equal(tier[1], 1);
    assert_int_equal(tier[19], 2);
    assert_int_equal(tier[20], 3);
    assert_int_equal(tier[102], 4);
}

static void test_pyramid_ties_and_small(void **state)
{
    (void)state;
    /* 100 payers: 1 x 1000 (G 0 -> tier 0), 3 x 900 (G 1 -> tier 1),
     * 3 x 800 (G 4 < 5 -> tier 1, although they occupy ranks 5..7: the tie
     * group straddling the 5 % cut goes wholly to the higher tier),
     * then 93..1 (G = 7 + (93 - v)): G < 20 for v >= 81 -> tier 2 (13),
     * the rest 80..1 -> tier 3 (80). */
    enum { N = 100 };
    int64_t rev[N];
    int k = 0;
    rev[k++] = 1000;
    for (int i = 0; i < 3; i++)
        rev[k++] = 900;
    for (int i = 0; i < 3; i++)
        rev[k++] = 800;
    for (int v = 93; v >= 1; v--)
        rev[k++] = v;
    assert_int_equal(k, N);
    struct pyramid_result res;
    assert_true(pyramid_compute(rev, N, NULL, NULL, &res));
    assert_int_equal(res.tier[0].persons, 1);
    assert_int_equal(res.tier[1].persons, 6);
    assert_int_equal(res.tier[1].revenue, 3 * 900 + 3 * 800);
    assert_int_equal(res.tier[2].persons, 13);
    assert_int_equal(res.tier[3].persons, 80);
    assert_int_equal(res.tier[4].persons, 0);

    /* 10 payers 10..100: tier 0 G < 0.1 -> the top payer; tier 1 G < 0.5 ->
     * nobody; tier 2 G < 2 -> the second; tier 3 the other 8. */
    int64_t ten[10];
    for (int i = 0; i < 10; i++)
        ten[i] = 10 * (i + 1);
    assert_true(pyramid_compute(ten, 10, NULL, NULL, &res));
    assert_int_equal(res.tier[0].persons, 1);
    assert_int_equal(res.tier[0].revenue, 100);
    assert_int_equal(res.tier[1].persons, 0);
    assert_int_equal(res.tier[1].min_revenue, 0);
    assert_int_equal(res.tier[2].persons, 1);
    assert_int_equal(res.tier[2].revenue, 90);
    assert_int_equal(res.tier[3].persons, 8);

    /* Everyone equal: all G = 0 -> all in the top tier. */
    int64_t same[4] = {5, 5, 5, 5};
    assert_true(pyramid_compute(same, 4, NULL, NULL, &res));
    assert_int_equal(res.tier[0].persons, 4);
    REL_EQ(res.tier[0].revenue_share, 1.0);

    /* Custom cut 50 %: payers 10, 20, 30, 40 -> G < 2: 40, 30 top. */
    struct pyramid_params half = {.n_cuts = 1, .cut_bp = {5000}};
    uint8_t t4[4];
    assert_true(pyramid_compute(ten, 4, &half, t4, &res));
    assert_int_equal(res.n_tiers, 3);
    assert_int_equal(res.tier[0].revenue, 70);
    assert_int_equal(t4[0], 1);
    assert_int_equal(t4[3], 0);

    /* Empty input, invalid cuts. */
    assert_true(pyramid_compute(NULL, 0, NULL, NULL, &res));
    assert_int_equal(res.n_payers, 0);
    assert_int_equal(res.tier[0].persons, 0);
    struct pyramid_params bad = {.n_cuts = 2, .cut_bp = {500, 500}};
    assert_false(pyramid_compute(ten, 10, &bad, NULL, &res));
    struct pyramid_params bad2 = {.n_cuts = 1, .cut_bp = {10000}};
    assert_false(pyramid_compute(ten, 10, &bad2, NULL, &res));
}

/* ---- AARRR ----------------------------------------------------------- */

static void test_aarrr_counts(void **state)
{
    (void)state;
    /* Window [100, 110), retention 7 days.
     * a: 100..107, act, 1 order, 1 referral -> every step (107-100 = 7)
     * b: 105..111, act, 2 orders            -> act, rev (6 days: not retained)
     * c: 109..130, not act, 1 order, 2 ref  -> ret, rev, ref
     * d: first 99, e: first 110             -> outside the window
     * f: 100..100, act                      -> act
     * g: 101..120, act, 3 orders            -> act, ret, rev
     * did:    acq 5, act 4 (a b f g), ret 3 (a c g), rev 4 (a b c g), ref 2 (a c)
     * funnel: acq 5, act 4, ret 2 (a g), rev 2 (a g), ref 1 (a) */
    struct aarrr_person p[] = {
        {100, 107, 1, 1, true}, {105, 111, 2, 0, true}, {109, 130, 1, 2, false},
        {99, 120, 5, 5, true},  {110, 120, 5, 5, true}, {100, 100, 0, 0, true},
        {101, 120, 3, 0, true},
    };
    struct aarrr_params prm = {.from_day = 100, .to_day = 110, .retention_days = 7};
    struct aarrr_result r;
    assert_true(aarrr_compute(p, 7, &prm, &r));
    const size_t did[5] = {5, 4, 3, 4, 2}, fun[5] = {5, 4, 2, 2, 1};
    for (int k = 0; k < 5; k++) {
        assert_int_equal(r.did[k], did[k]);
        assert_int_equal(r.funnel[k], fun[k]);
        REL_EQ(r.did_of_acquired[k], did[k] / 5.0);
        REL_EQ(r.funnel_of_acquired[k], fun[k] / 5.0);
    }
    assert_int_equal(r.outside_window, 2);
    /* step rates: 5/5, 4/5, 2/4, 2/2, 1/2 */
    REL_EQ(r.funnel_of_previous[0], 1.0);
    REL_EQ(r.funnel_of_previous[1], 0.8);
    REL_EQ(r.funnel_of_previous[2], 0.5);
    REL_EQ(r.funnel_of_previous[3], 1.0);
    REL_EQ(r.funnel_of_previous[4], 0.5);
    assert_string_equal(aarrr_code(AARRR_REFERRAL), "referral");

    /* Nobody acquired: rates undefined (NaN). */
    struct aarrr_params late = {.from_day = 500, .to_day = 600, .retention_days = 7};
    assert_true(aarrr_compute(p, 7, &late, &r));
    assert_int_equal(r.did[0], 0);
    assert_int_equal(r.outside_window, 7);
    assert_true(isnan(r.funnel_of_previous[2]));
    assert_true(isnan(r.did_of_acquired[0]));
    struct aarrr_params bad = {.from_day = 10, .to_day = 5, .retention_days = 7};
    assert_false(aarrr_compute(p, 7, &bad, &r));
}

/* ---- AIPL ------------------------------------------------------------ */

static void test_aipl_stages_and_fast(void **state)
{
    (void)state;
    /* fields: paid_orders, aware, interested, loyalty_event, top_value, active */
    struct aipl_person p[] = {
        {0, false, false, false, false, true}, /* 0 none */
        {0, true, false, false, false, false}, /* 1 A */
        {0, true, true, false, false, false},  /* 2 I */
        {0, false, true, false, false, false}, /* 3 I (interest implies past A) */
        {1, false, false, false, false, false},/* 4 P */
        {2, false, false, false, false, false},/* 5 L (2 orders) */
        {0, false, false, true, false, false}, /* 6 L (loyalty event) */
        {1, true, false, false, true, true},   /* 7 P, super via top value, active */
        {3, false, false, false, false, true}, /* 8 L, super, active */
    };
    enum { N = sizeof p / sizeof p[0] };
    uint8_t st[N];
    struct aipl_sizes sz;
    assert_true(aipl_classify(p, N, NULL, st, &sz));
    static const uint8_t want[N] = {AIPL_NONE, AIPL_AWARENESS, AIPL_INTEREST,
                                    AIPL_INTEREST, AIPL_PURCHASE, AIPL_LOYALTY,
                                    AIPL_LOYALTY, AIPL_PURCHASE, AIPL_LOYALTY};
    for (int i = 0; i < N; i++)
        assert_int_equal(st[i], want[i]);
    /* sizes none 1, A 1, I 2, P 2, L 3; reach 8; super = 5, 6, 8 (L) + 7
     * (top value) = 4; active super = 7, 8 -> 2/4. */
    assert_int_equal(sz.stage[AIPL_NONE], 1);
    assert_int_equal(sz.stage[AIPL_AWARENESS], 1);
    assert_int_equal(sz.stage[AIPL_INTEREST], 2);
    assert_int_equal(sz.stage[AIPL_PURCHASE], 2);
    assert_int_equal(sz.stage[AIPL_LOYALTY], 3);
    assert_int_equal(sz.reach, 8);
    assert_int_equal(sz.super_users, 4);
    REL_EQ(sz.super_active_rate, 0.5);

    /* loyalty_min_orders 3: person 5 (2 orders) drops to P. */
    struct aipl_params prm = {.loyalty_min_orders = 3};
    assert_true(aipl_classify(p, N, &prm, st, &sz));
    assert_int_equal(st[5], AIPL_PURCHASE);
    assert_int_equal(sz.stage[AIPL_LOYALTY], 2);
    prm.loyalty_min_orders = 0;
    assert_false(aipl_classify(p, N, &prm, st, &sz));

    /* Deepening, stage at date 1 -> date 2:
     * A->A, A->I, A->L, I->I, I->P, P->P, P->L, P->I (regressed), L->L, none->A
     * A: 2 of 3 deeper; I: 1 of 2; P: 1 of 3; none: 1 of 1; regressed 1;
     * pooled A+I+P: 4 of 8 = 0.5. */
    const uint8_t s1[10] = {1, 1, 1, 2, 2, 3, 3, 3, 4, 0};
    const uint8_t s2[10] = {1, 2, 4, 2, 3, 3, 4, 2, 4, 1};
    struct aipl_deepening d;
    assert_true(aipl_deepen(s1, s2, 10, &d));
    assert_int_equal(d.base[AIPL_AWARENESS], 3);
    assert_int_equal(d.deeper[AIPL_AWARENESS], 2);
    REL_EQ(d.rate[AIPL_AWARENESS], 2.0 / 3.0);
    REL_EQ(d.rate[AIPL_INTEREST], 0.5);
    REL_EQ(d.rate[AIPL_PURCHASE], 1.0 / 3.0);
    REL_EQ(d.rate[AIPL_NONE], 1.0);
    assert_true(isnan(d.rate[AIPL_LOYALTY]));
    assert_int_equal(d.regressed, 1);
    assert_int_equal(d.base_aip, 8);
    assert_int_equal(d.deeper_aip, 4);
    REL_EQ(d.rate_aip, 0.5);
    const uint8_t bad[1] = {7};
    assert_false(aipl_deepen(bad, s2, 1, &d));

    /* FAST from the default classification and the deepening above. */
    struct aipl_fast f;
    assert_true(aipl_classify(p, N, NULL, st, &sz));
    assert_true(aipl_deepen(s1, s2, 10, &d));
    aipl_fast(&sz, &d, &f);
    assert_int_equal(f.reach, 8);
    REL_EQ(f.deepening_rate, 0.5);
    assert_int_equal(f.super_users, 4);
    REL_EQ(f.super_active_rate, 0.5);
    assert_string_equal(aipl_label_zh(AIPL_LOYALTY), "忠诚");

    /* Empty population: no super users -> NaN active rate. */
    assert_true(aipl_classify(NULL, 0, NULL, NULL, &sz));
    assert_int_equal(sz.reach, 0);
    assert_true(isnan(sz.super_active_rate));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stages_defaults),
        cmocka_unit_test(test_stages_params_and_rules),
        cmocka_unit_test(test_pyramid_100_payers),
        cmocka_unit_test(test_pyramid_ties_and_small),
        cmocka_unit_test(test_aarrr_counts),
        cmocka_unit_test(test_aipl_stages_and_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
