/*
 * Unit tests for model/clv.c.
 *
 * Expected CLVs: bench/ltv/reference.py, which sums the same lifetimes
 * formula but takes each E[Y(t)] by quadrature over p (no 2F1) and spends
 * from eq. 5; BG/NBD (0.243, 4.414, 0.793, 2.426) and Gamma-Gamma
 * (6.25, 3.74, 15.44) at the published CDNOW estimates, time unit weeks,
 * 12 months, monthly discount 0.01, margin 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "model/bgnbd.h"
#include "model/clv.h"
#include "model/gammagamma.h"
#include "model/paretonbd.h"

static const double BG[4] = {0.243, 4.414, 0.793, 2.426};
static const double GG[3] = {6.25, 3.74, 15.44};
static const double PN[4] = {0.553, 10.578, 0.606, 11.669};

static void assert_rel(double got, double want, double rel)
{
    double err = fabs(got - want) / fmax(fabs(want), 1e-300);
    if (!(err <= rel))
        fail_msg("got %.17g want %.17g (rel err %.3g > %.3g)", got, want, err, rel);
}

static void test_clv_vs_reference(void **state)
{
    (void)state;
    double x[] = {2, 7, 0}, tx[] = {30.43, 29.43, 0}, T[] = {38.86, 38.86, 38.86};
    double m[] = {22.35, 20.0, 0.0}, out[3];
    /* Month = 30.4375 days = 4.348 weeks. */
    const double want[] = {36.311257216982106, 82.9500046325459, 8.374459099411965};
    /* lifetimes' constant: 4.345 weeks = 30.415 days per month. */
    const double want_lt[] = {36.28921112559923, 82.9019501725456, 8.36900435892046};
    struct clv_opts o;
    const char *why = NULL;
    clv_opts_default(&o);
    o.unit = BTYD_WEEKS;
    assert_true(clv_compute(CLV_BGNBD, BG, GG, x, tx, T, m, 3, &o, out, &why));
    for (int i = 0; i < 3; i++)
        assert_rel(out[i], want[i], 1e-9);
    o.days_per_month = 4.345 * 7.0;
    assert_true(clv_compute(CLV_BGNBD, BG, GG, x, tx, T, m, 3, &o, out, &why));
    for (int i = 0; i < 3; i++)
        assert_rel(out[i], want_lt[i], 1e-9);
}

static void test_clv_definition(void **state)
{
    (void)state;
    /* One month, no discount, margin 2: CLV = 2 * spend * E[Y(f)] with
     * f = 30.4375 days (unit days here), for both transaction models. */
    struct clv_opts o;
    clv_opts_default(&o);
    o.months = 1;
    o.discount_rate = 0.0;
    o.margin = 2.0;
    double x[] = {3}, tx[] = {100}, T[] = {200}, m[] = {40}, out[1], spend, e;
    assert_true(clv_compute(CLV_BGNBD, BG, GG, x, tx, T, m, 1, &o, out, NULL));
    assert_true(gammagamma_expected_spend(GG, 3, 40, &spend));
    assert_true(bgnbd_conditional_expected(BG, 30.4375, 3, 100, 200, &e));
    assert_rel(out[0], 2.0 * spend * e, 1e-14);
    assert_true(clv_compute(CLV_PARETONBD, PN, GG, x, tx, T, m, 1, &o, out, NULL));
    assert_true(paretonbd_conditional_expected(PN, 30.4375, 3, 100, 200, &e));
    assert_rel(out[0], 2.0 * spend * e, 1e-14);
    /* Two months: increments (E1 - 0)/1.1 + (E2 - E1)/1.21 at d = 0.1. */
    o.months = 2;
    o.discount_rate = 0.1;
    o.margin = 1.0;
    double det, e1, e2;
    assert_true(clv_discounted_purchases(CLV_BGNBD, BG, 3, 100, 200, &o, &det));
    assert_true(bgnbd_conditional_expected(BG, 30.4375, 3, 100, 200, &e1));
    assert_true(bgnbd_conditional_expected(BG, 60.875, 3, 100, 200, &e2));
    assert_rel(det, e1 / 1.1 + (e2 - e1) / 1.21, 1e-13);
    /* Discounting can only lower the value; zero discount equals E[Y(H f)]. */
    o.months = 24;
    o.discount_rate = 0.0;
    assert_true(clv_discounted_purchases(CLV_BGNBD, BG, 3, 100, 200, &o, &det));
    assert_true(bgnbd_conditional_expected(BG, 24 * 30.4375, 3, 100, 200, &e));
    assert_rel(det, e, 1e-12);
    double det_d;
    o.discount_rate = 0.01;
    assert_true(clv_discounted_purchases(CLV_BGNBD, BG, 3, 100, 200, &o, &det_d));
    assert_true(det_d < det);
}

static void test_clv_errors(void **state)
{
    (void)state;
    struct clv_opts o;
    clv_opts_default(&o);
    double x[] = {2}, tx[] = {5}, T[] = {10}, m[] = {20}, out[1], det;
    const char *why = NULL;
    const double low_q[3] = {6.25, 0.8, 15.44};
    assert_false(clv_compute(CLV_BGNBD, BG, low_q, x, tx, T, m, 1, &o, out, &why));
    assert_non_null(why);
    double bad_tx[] = {11};
    why = NULL;
    assert_false(clv_compute(CLV_BGNBD, BG, GG, x, bad_tx, T, m, 1, &o, out, &why));
    assert_non_null(why);
    o.months = 0;
    assert_false(clv_discounted_purchases(CLV_BGNBD, BG, 2, 5, 10, &o, &det));
    clv_opts_default(&o);
    o.unit = (enum btyd_unit)30;
    assert_false(clv_discounted_purchases(CLV_BGNBD, BG, 2, 5, 10, &o, &det));
    clv_opts_default(&o);
    assert_false(clv_discounted_purchases((enum clv_model)7, BG, 2, 5, 10, &o, &det));
    /* Zero customers is a no-op success. */
    assert_true(clv_compute(CLV_BGNBD, BG, GG, x, tx, T, m, 0, &o, out, &why));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clv_vs_reference),
        cmocka_unit_test(test_clv_definition),
        cmocka_unit_test(test_clv_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
