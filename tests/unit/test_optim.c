/*
 * Unit tests for model/optim.c.
 *
 * Expected minima are known in closed form: the Rosenbrock function
 * 100 (y - x^2)^2 + (1 - x)^2 has its only minimum 0 at (1, 1); a convex
 * quadratic 1/2 x'Ax - b'x has its minimum at A^-1 b, solved by hand below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "model/optim.h"

static double rosenbrock(const double *x, double *g, void *ctx)
{
    int *calls = ctx;
    if (calls)
        (*calls)++;
    double a = x[1] - x[0] * x[0], b = 1.0 - x[0];
    if (g) {
        g[0] = -400.0 * x[0] * a - 2.0 * b;
        g[1] = 200.0 * a;
    }
    return 100.0 * a * a + b * b;
}

/* A = [[4, 1, 0], [1, 3, 1], [0, 1, 2]], b = (1, 2, 3).
 * Solving A x = b by hand: from row 3, x2 = (3 - x1) / 2; row 1 gives
 * x0 = (1 - x1) / 4; row 2: (1 - x1)/4 + 3 x1 + (3 - x1)/2 = 2
 *   -> 1 - x1 + 12 x1 + 6 - 2 x1 = 8 -> 9 x1 = 1 -> x1 = 1/9,
 * x0 = (8/9)/4 = 2/9, x2 = (26/9)/2 = 13/9. */
static double quadratic(const double *x, double *g, void *ctx)
{
    (void)ctx;
    static const double A[3][3] = {{4, 1, 0}, {1, 3, 1}, {0, 1, 2}};
    static const double b[3] = {1, 2, 3};
    double f = 0.0;
    for (int i = 0; i < 3; i++) {
        double Ax = 0.0;
        for (int j = 0; j < 3; j++)
            Ax += A[i][j] * x[j];
        f += 0.5 * x[i] * Ax - b[i] * x[i];
        if (g)
            g[i] = Ax - b[i];
    }
    return f;
}

/* Infinite for x0 <= 0 (like a model outside its domain); min of
 * (ln x0 - 2)^2 + (x1 + 1)^2 at x0 = e^2, x1 = -1. */
static double walled(const double *x, double *g, void *ctx)
{
    (void)ctx;
    if (x[0] <= 0.0)
        return INFINITY;
    double l = log(x[0]) - 2.0;
    if (g) {
        g[0] = 2.0 * l / x[0];
        g[1] = 2.0 * (x[1] + 1.0);
    }
    return l * l + (x[1] + 1.0) * (x[1] + 1.0);
}

static void test_bfgs_rosenbrock(void **state)
{
    (void)state;
    struct optim_opts o;
    struct optim_result r;
    optim_default_opts(&o);
    o.gtol = 1e-9;
    double x[2] = {-1.2, 1.0};
    int calls = 0;
    assert_true(optim_bfgs(rosenbrock, &calls, 2, x, &o, &r));
    assert_true(fabs(x[0] - 1.0) < 1e-6 && fabs(x[1] - 1.0) < 1e-6);
    assert_true(r.f < 1e-12);
    assert_int_equal(r.evaluations, calls);
    assert_true(r.grad_norm <= 1e-9);
}

static void test_bfgs_quadratic(void **state)
{
    (void)state;
    struct optim_opts o;
    struct optim_result r;
    optim_default_opts(&o);
    double x[3] = {10, -10, 5};
    assert_true(optim_bfgs(quadratic, NULL, 3, x, &o, &r));
    assert_true(fabs(x[0] - 2.0 / 9) < 1e-7);
    assert_true(fabs(x[1] - 1.0 / 9) < 1e-7);
    assert_true(fabs(x[2] - 13.0 / 9) < 1e-7);
    /* BFGS with exact-enough line searches terminates fast on a quadratic. */
    assert_true(r.iterations <= 15);
}

static void test_bfgs_infinite_region(void **state)
{
    (void)state;
    struct optim_opts o;
    struct optim_result r;
    optim_default_opts(&o);
    /* The first unit step along -g jumps into x0 <= 0 (value +inf). */
    double x[2] = {0.05, 3.0};
    assert_true(optim_bfgs(walled, NULL, 2, x, &o, &r));
    assert_true(fabs(x[0] - exp(2.0)) < 1e-5 && fabs(x[1] + 1.0) < 1e-6);
    assert_true(isfinite(r.f));
}

static void test_bfgs_limits_reported(void **state)
{
    (void)state;
    struct optim_opts o;
    struct optim_result r;
    optim_default_opts(&o);
    o.max_iter = 2;
    double x[2] = {-1.2, 1.0};
    assert_false(optim_bfgs(rosenbrock, NULL, 2, x, &o, &r));
    assert_string_equal(r.reason, "iteration limit reached");
    assert_true(isfinite(x[0]) && isfinite(x[1]) && isfinite(r.f));
    /* A start outside the domain is refused, x untouched. */
    double y[2] = {-1.0, 0.0};
    assert_false(optim_bfgs(walled, NULL, 2, y, &o, &r));
    assert_true(y[0] == -1.0 && y[1] == 0.0);
    assert_false(optim_bfgs(quadratic, NULL, 0, y, &o, &r));
    assert_false(optim_bfgs(quadratic, NULL, OPTIM_MAX_DIM + 1, y, &o, &r));
}

/* A quadratic with rounding-like noise (1e-14 relative in f, 1e-10 in the
 * gradient, as a long sum has): with gtol = 0 BFGS must stop at the
 * precision limit near the minimum (pi, -e) and say so, instead of
 * reporting a failed line search. */
static double noisy_bowl(const double *x, double *g, void *ctx)
{
    (void)ctx;
    double a = x[0] - 3.14159265358979324, b = x[1] + 2.71828182845904524;
    double f = 1.0 + a * a + 10.0 * b * b;
    double bits = sin(1e6 * x[0]) + cos(3e6 * x[1]); /* deterministic "noise" */
    if (g) {
        g[0] = 2.0 * a + 1e-10 * cos(1e7 * x[0]);
        g[1] = 20.0 * b + 1e-10 * sin(1e7 * x[1]);
    }
    return f * (1.0 + 1e-14 * bits);
}

static void test_bfgs_precision_limit(void **state)
{
    (void)state;
    struct optim_opts o;
    struct optim_result r;
    optim_default_opts(&o);
    o.gtol = 0.0; /* unattainable: only the precision test can stop it */
    double x[2] = {-4.0, 5.0};
    assert_true(optim_bfgs(noisy_bowl, NULL, 2, x, &o, &r));
    assert_string_equal(r.reason, "stopped at the precision limit of the objective");
    assert_true(fabs(x[0] - 3.14159265) < 1e-5 && fabs(x[1] + 2.71828183) < 1e-5);
}

static void test_nelder_mead(void **state)
{
    (void)state;
    struct optim_opts o;
    struct optim_result r;
    optim_default_opts(&o);
    o.max_iter = 5000;
    o.ftol = 1e-14;
    o.xtol = 1e-9;
    double x[2] = {-1.2, 1.0};
    assert_true(optim_nelder_mead(rosenbrock, NULL, 2, x, &o, &r));
    assert_true(fabs(x[0] - 1.0) < 1e-6 && fabs(x[1] - 1.0) < 1e-6);
    double w[2] = {0.05, 3.0};
    assert_true(optim_nelder_mead(walled, NULL, 2, w, &o, &r));
    assert_true(fabs(w[0] - exp(2.0)) < 1e-5);
    /* Iteration limit: not converged, but a finite best point. */
    o.max_iter = 3;
    double z[2] = {-1.2, 1.0};
    assert_false(optim_nelder_mead(rosenbrock, NULL, 2, z, &o, &r));
    assert_string_equal(r.reason, "iteration limit reached");
    assert_true(r.f <= rosenbrock((double[]){-1.2, 1.0}, NULL, NULL));
}

static void test_central_gradient(void **state)
{
    (void)state;
    /* At (0.5, 0.5): g = (-400*0.5*0.25 - 2*0.5, 200*0.25) = (-51, 50). */
    double x[2] = {0.5, 0.5}, g[2];
    double f = optim_central_gradient(rosenbrock, NULL, 2, x, 1e-6, g);
    assert_true(fabs(f - (100 * 0.0625 + 0.25)) < 1e-12);
    assert_true(fabs(g[0] + 51.0) < 1e-6 && fabs(g[1] - 50.0) < 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bfgs_rosenbrock),     cmocka_unit_test(test_bfgs_quadratic),
        cmocka_unit_test(test_bfgs_infinite_region), cmocka_unit_test(test_bfgs_limits_reported),
        cmocka_unit_test(test_bfgs_precision_limit), cmocka_unit_test(test_nelder_mead),
        cmocka_unit_test(test_central_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
