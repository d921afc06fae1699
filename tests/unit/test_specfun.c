/*
 * Unit tests for model/specfun.c.
 *
 * Expected values: mpmath 1.3 at 30 significant digits, printed by
 * bench/ltv/specfun_ref.py (an independent arbitrary-precision summation),
 * plus closed forms worked out in the comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "model/specfun.h"

static void assert_rel(double got, double want, double rel)
{
    double err = fabs(got - want) / fmax(fabs(want), 1e-300);
    if (!(err <= rel))
        fail_msg("got %.17g want %.17g (rel err %.3g > %.3g)", got, want, err, rel);
}

struct hyp_case {
    double a, b, c, z, log_abs;
    int sign;
};

/* bench/ltv/specfun_ref.py output (mpmath, 30 digits). */
static const struct hyp_case hyp_cases[] = {
    {0.243, 2.426, 2.2190000000000003, 0.8983277283825494, 0.66133153940740289, 1},
    {0.243, 2.426, 2.2190000000000003, 0.999, 2.4066301297700483, 1},
    {0.243, 2.426, 2.2190000000000003, 0.9999999, 6.4866576847119873, 1},
    {2.243, 4.426, 4.219, 0.5, 1.6412648010848117, 1},
    {200.243, 202.426, 202.219, 0.95, 600.49260006373157, 1},
    {200.243, 202.426, 202.219, 0.99999, 2307.7638728002723, 1},
    {6.159, 1.606, 7.159, 0.08, 0.11474509736952983, 1},
    {10001.159, 1.606, 10002.159, 0.999, 10.955555538444406, 1},
    {0.7, 1.3, 2.000000000001, 0.999, 1.8142610629809507, 1},
    {0.7, 1.3, 1.0001, 0.9999999, 15.963791577655194, 1},
    {0.7, 1.3, 5.0, 0.99, 0.25762885282538877, 1},
    {25.0, 30.0, 2.5, 0.6, 71.012574774341941, 1},
    {-3.0, 2.5, 1.5, 0.7, -2.312635428847547, -1},
};

static void test_hyp2f1_mpmath(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(hyp_cases) / sizeof(hyp_cases[0]); i++) {
        const struct hyp_case *k = &hyp_cases[i];
        int sign = 0;
        double l = specfun_log_hyp2f1(k->a, k->b, k->c, k->z, &sign);
        assert_int_equal(sign, k->sign);
        /* Absolute error on the log = relative error on the value. */
        if (!(fabs(l - k->log_abs) <= 1e-9 * fmax(1.0, fabs(k->log_abs))))
            fail_msg("case %zu: log|F| %.17g want %.17g", i, l, k->log_abs);
    }
}

static void test_hyp2f1_closed_forms(void **state)
{
    (void)state;
    /* 2F1(1, 1; 2; z) = -ln(1 - z) / z (A&S 15.1.3). */
    for (double z = 0.05; z < 1.0; z += 0.1)
        assert_rel(specfun_hyp2f1(1.0, 1.0, 2.0, z), -log1p(-z) / z, 1e-13);
    assert_rel(specfun_hyp2f1(1.0, 1.0, 2.0, 0.999999), -log1p(-0.999999) / 0.999999, 1e-11);
    /* 2F1(a, b; b; z) = (1 - z)^-a (A&S 15.1.8): here c - a - b = -a < 0. */
    assert_rel(specfun_hyp2f1(3.5, 2.0, 2.0, 0.95), pow(0.05, -3.5), 1e-12);
    /* Gauss at z -> 1 is not in the domain: NaN, sign 0. */
    int sign = 7;
    assert_true(isnan(specfun_log_hyp2f1(1.0, 1.0, 2.0, 1.0, &sign)));
    assert_int_equal(sign, 0);
    assert_true(isnan(specfun_log_hyp2f1(1.0, 1.0, -2.0, 0.5, &sign)));
    assert_true(isnan(specfun_log_hyp2f1(1.0, 1.0, 2.0, -0.5, &sign)));
    assert_true(isnan(specfun_log_hyp2f1(NAN, 1.0, 2.0, 0.5, &sign)));
    /* z = 0 is exactly 1. */
    assert_true(specfun_hyp2f1(5.0, 6.0, 7.0, 0.0) == 1.0);
}

static void test_digamma(void **state)
{
    (void)state;
    static const double cases[][2] = {
        {1.0, -0.57721566490153286},   {0.5, -1.9635100260214235},
        {0.001, -1000.5755719318103},  {3.7, 1.1671535393615114},
        {10.0, 2.2517525890667211},    {123.456, 4.8118293238289854},
        {-0.5, 0.036489973978576521},  {-2.75, -1.959055264977997},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_rel(specfun_digamma(cases[i][0]), cases[i][1], 2e-14);
    assert_true(isnan(specfun_digamma(0.0)));
    assert_true(isnan(specfun_digamma(-3.0)));
}

static void test_lgamma_signed(void **state)
{
    (void)state;
    static const struct {
        double x, lg;
        int sign;
    } cases[] = {
        {0.5, 0.57236494292470009, 1},   {3.7, 1.4280723266653881, 1},
        {171.5, 709.14316303092824, 1},  {-0.5, 1.2655121234846454, -1},
        {-2.75, 0.0044878975359557733, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int s = 0;
        double l = specfun_lgamma_signed(cases[i].x, &s);
        assert_int_equal(s, cases[i].sign);
        assert_true(fabs(l - cases[i].lg) <= 1e-13 * fmax(1.0, fabs(cases[i].lg)));
    }
    int s = 5;
    assert_true(isinf(specfun_lgamma_signed(-4.0, &s)));
    assert_int_equal(s, 0);
    assert_true(isnan(specfun_lgamma(0.0)));
    /* Gamma(5) = 24. */
    assert_rel(specfun_lgamma(5.0), log(24.0), 1e-15);
}

static void test_logaddexp(void **state)
{
    (void)state;
    /* log(e^1000 + e^1000) = 1000 + ln 2, without overflow. */
    assert_rel(specfun_logaddexp(1000.0, 1000.0), 1000.0 + log(2.0), 1e-15);
    assert_rel(specfun_logaddexp(-INFINITY, 3.0), 3.0, 0.0);
    assert_true(specfun_logaddexp(-INFINITY, -INFINITY) == -INFINITY);
    assert_rel(specfun_logaddexp(log(2.0), log(3.0)), log(5.0), 1e-15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hyp2f1_mpmath),  cmocka_unit_test(test_hyp2f1_closed_forms),
        cmocka_unit_test(test_digamma),        cmocka_unit_test(test_lgamma_signed),
        cmocka_unit_test(test_logaddexp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
