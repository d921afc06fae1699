/*
 * Unit tests for model/growth.c.
 *
 * Expected fit: scipy.optimize.curve_fit (MINPACK Levenberg-Marquardt) on
 * the same series, printed by bench/ltv/reference.py: t = 0..60,
 * y = 1000 / (1 + exp(-0.2 (t - 30))) + 5 sin(1.7 t).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "model/growth.h"

static void assert_rel(double got, double want, double rel)
{
    double err = fabs(got - want) / fmax(fabs(want), 1e-300);
    if (!(err <= rel))
        fail_msg("got %.17g want %.17g (rel err %.3g > %.3g)", got, want, err, rel);
}

static void test_fit_vs_scipy(void **state)
{
    (void)state;
    double t[61], y[61];
    for (int i = 0; i <= 60; i++) {
        t[i] = i;
        y[i] = 1000.0 / (1.0 + exp(-0.2 * (i - 30.0))) + 5.0 * sin(1.7 * i);
    }
    struct growth_fit f;
    assert_true(growth_fit_logistic(t, y, 61, &f));
    assert_rel(f.K, 1000.1777549921625, 1e-6);
    assert_rel(f.t0, 30.002595776491535, 1e-6);
    assert_rel(f.g, 0.19991912470008733, 1e-6);
    assert_rel(f.rmse, 3.5346902454455242, 1e-6);
    assert_rel(f.r2, 0.9999258129754037, 1e-9);
    /* Exact data: exact parameters (K = 50, t0 = 12, g = 0.5). */
    for (int i = 0; i <= 60; i++)
        y[i] = growth_logistic(50.0, 12.0, 0.5, t[i]);
    assert_true(growth_fit_logistic(t, y, 61, &f));
    assert_rel(f.K, 50.0, 1e-8);
    assert_rel(f.t0, 12.0, 1e-8);
    assert_rel(f.g, 0.5, 1e-8);
    assert_true(f.rmse < 1e-6);
}

static void test_curve(void **state)
{
    (void)state;
    /* At t0 the curve is K/2; 2 ln 9 / g from 10 % to 90 %. */
    assert_rel(growth_logistic(80.0, 5.0, 0.3, 5.0), 40.0, 1e-15);
    double t10 = 5.0 - log(9.0) / 0.3, t90 = 5.0 + log(9.0) / 0.3;
    assert_rel(growth_logistic(80.0, 5.0, 0.3, t10), 8.0, 1e-13);
    assert_rel(growth_logistic(80.0, 5.0, 0.3, t90), 72.0, 1e-13);
    /* Far tails without overflow. */
    assert_true(growth_logistic(80.0, 5.0, 0.3, -1e6) == 0.0);
    assert_true(growth_logistic(80.0, 5.0, 0.3, 1e6) == 80.0);
}

static void test_no_saturation_and_errors(void **state)
{
    (void)state;
    /* Pure exponential growth: no ceiling in sight. Reported, finite. */
    double t[40], y[40];
    for (int i = 0; i < 40; i++) {
        t[i] = i;
        y[i] = exp(0.1 * i);
    }
    struct growth_fit f;
    assert_false(growth_fit_logistic(t, y, 40, &f));
    assert_true(f.reason[0] != '\0');
    assert_true(isfinite(f.K) && isfinite(f.t0) && isfinite(f.g) && isfinite(f.rmse) &&
                isfinite(f.r2));
    /* Too few points, one time, no positive count, NaN. */
    assert_false(growth_fit_logistic(t, y, 2, &f));
    assert_string_equal(f.reason, "need at least 3 points");
    double same[] = {1, 1, 1};
    assert_false(growth_fit_logistic(same, y, 3, &f));
    double zero[] = {0, 0, 0};
    assert_false(growth_fit_logistic(t, zero, 3, &f));
    double nan_y[] = {1, NAN, 3};
    assert_false(growth_fit_logistic(t, nan_y, 3, &f));
    assert_true(f.K == 0.0 && f.g == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_vs_scipy),
        cmocka_unit_test(test_curve),
        cmocka_unit_test(test_no_saturation_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
