/*
 * Unit tests for model/paretonbd.c (the CDNOW fit is in test_btyd.c).
 *
 * Expected values: bench/ltv/reference.py, which avoids 2F1 entirely: the
 * likelihood bracket is (alpha+T)^-(r+x) (beta+T)^-s + s * integral_{t_x}^{T}
 * (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau (death at tau, QUADPACK), and
 * E[Y(t)] = P(alive) (r+x)/(alpha+T) * E[(1 - e^{-mu t}) / mu] with
 * mu ~ Gamma(s, rate beta+T) integrated numerically. Parameters: the
 * published CDNOW estimates (0.553, 10.578, 0.606, 11.669).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>
#include <math.h>

#include "model/btyd.h"
#include "model/paretonbd.h"

static const double PN[4] = {0.553, 10.578, 0.606, 11.669};

static void assert_rel(double got, double want, double rel)
{
    double err = fabs(got - want) / fmax(fabs(want), 1e-300);
    if (!(err <= rel))
        fail_msg("got %.17g want %.17g (rel err %.3g > %.3g)", got, want, err, rel);
}

static void test_loglik_vs_quadrature(void **state)
{
    (void)state;
    FILE *f = fopen("../shared/data/cdnow/cdnow_customers_summary_with_transactions.csv", "r");
    static double x[2357], tx[2357], T[2357];
    char header[64];
    double m;
    int id;
    assert_non_null(f);
    assert_non_null(fgets(header, sizeof(header), f));
    for (int i = 0; i < 2357; i++)
        assert_int_equal(fscanf(f, "%d,%lf,%lf,%lf,%lf", &id, &x[i], &tx[i], &T[i], &m), 5);
    fclose(f);
    double ll;
    assert_true(paretonbd_log_lik(PN, x, tx, T, NULL, 2357, &ll, NULL));
    assert_rel(ll, -9594.974010040962, 1e-10);
}

static void test_predictions_vs_reference(void **state)
{
    (void)state;
    static const struct {
        double x, tx, T, palive, e39;
    } rows[] = {
        {2, 30.43, 38.86, 0.8691675591530111, 1.4551231932581277},
        {0, 0, 38.86, 0.29528660461689404, 0.10708146821534748},
        {7, 29.43, 38.86, 0.749501407667034, 3.712251380471883},
    };
    for (int i = 0; i < 3; i++) {
        double pa, e;
        assert_true(paretonbd_prob_alive(PN, rows[i].x, rows[i].tx, rows[i].T, &pa));
        assert_rel(pa, rows[i].palive, 1e-10);
        assert_true(paretonbd_conditional_expected(PN, 39, rows[i].x, rows[i].tx, rows[i].T, &e));
        assert_rel(e, rows[i].e39, 1e-10);
    }
    double e;
    assert_true(paretonbd_expected_purchases(PN, 39, &e));
    assert_rel(e, 1.2130028442819867, 1e-10);
    /* s = 1: E[X(t)] = r beta / alpha * ln(1 + t/beta); r = 0.5, alpha = 10,
     * beta = 12, t = 24: 0.6 * ln 3 = 0.6591673732008659. Just off s = 1 the
     * general formula must agree to first order. */
    const double p1[4] = {0.5, 10.0, 1.0, 12.0}, p1e[4] = {0.5, 10.0, 1.0 + 1e-9, 12.0};
    double e1, e2;
    assert_true(paretonbd_expected_purchases(p1, 24, &e1));
    assert_rel(e1, 0.6 * log(3.0), 1e-14);
    assert_true(paretonbd_expected_purchases(p1e, 24, &e2));
    assert_rel(e2, e1, 1e-8);
}

static void test_recovery_from_simulation(void **state)
{
    (void)state;
    /* 5000 customers observed 100..200 weeks (long enough to see deaths).
     * Across seeds 1-8 the fits spread -9..+7 % (r), +-10 % (alpha), -5..+11 %
     * (s), -11..+26 % (beta), +-6 % (r/alpha, the mean purchase rate) and
     * -12..+7 % (s/beta, the mean death rate): beta is the weakest. The
     * tolerances are about twice those spreads. */
    enum { N = 5000 };
    static double T[N], x[N], tx[N];
    const double truth[4] = {0.6, 10.0, 0.8, 12.0}, tol[4] = {0.18, 0.20, 0.25, 0.50};
    struct btyd_rng rng;
    struct btyd_fit f;
    btyd_rng_seed(&rng, 1);
    for (int i = 0; i < N; i++)
        T[i] = 100.0 + 100.0 * btyd_rng_uniform(&rng);
    btyd_simulate_paretonbd(truth, T, N, &rng, x, tx);
    assert_true(paretonbd_fit(x, tx, T, NULL, N, NULL, &f));
    for (int k = 0; k < 4; k++)
        if (!(fabs(f.params[k] / truth[k] - 1.0) <= tol[k]))
            fail_msg("param %d: %g vs true %g", k, f.params[k], truth[k]);
    assert_true(fabs(f.params[0] / f.params[1] / (truth[0] / truth[1]) - 1.0) <= 0.12);
    assert_true(fabs(f.params[2] / f.params[3] / (truth[2] / truth[3]) - 1.0) <= 0.25);
    double ll_true;
    assert_true(paretonbd_log_lik(truth, x, tx, T, NULL, N, &ll_true, NULL));
    assert_true(f.log_lik >= ll_true);
}

static void test_edge_cases(void **state)
{
    (void)state;
    struct btyd_fit f;
    double x[] = {0, 0}, tx[] = {0, 0}, T[] = {10, 20};
    assert_false(paretonbd_fit(x, tx, T, NULL, 0, NULL, &f));
    assert_string_equal(f.reason, "no customers");
    assert_false(paretonbd_fit(x, tx, T, NULL, 2, NULL, &f));
    assert_string_equal(f.reason, "no repeat purchases: model not identifiable");
    for (int k = 0; k < 4; k++)
        assert_true(f.params[k] == 0.0);
    /* Iteration limit. */
    double xs[] = {0, 1, 2, 7, 0, 3}, txs[] = {0, 5, 30, 29, 0, 1}, Ts[] = {38, 20, 38, 39, 5, 38};
    struct btyd_fit_opts o;
    btyd_fit_opts_default(&o);
    o.max_iter = 1;
    assert_false(paretonbd_fit(xs, txs, Ts, NULL, 6, &o, &f));
    for (int k = 0; k < 4; k++)
        assert_true(isfinite(f.params[k]));
    assert_true(isfinite(f.log_lik) && f.reason[0] != '\0');
    /* t_x = T: the death integral is empty (A0 = 0), P(alive) exactly 1 - 0. */
    double pa;
    assert_true(paretonbd_prob_alive(PN, 3, 20, 20, &pa));
    assert_true(pa == 1.0);
    /* alpha == beta: 2F1 argument 0. */
    const double eq[4] = {0.5, 10.0, 0.7, 10.0};
    double ll;
    assert_true(paretonbd_log_lik(eq, xs, txs, Ts, NULL, 6, &ll, NULL));
    assert_true(isfinite(ll));
    /* Very large T and many purchases. */
    assert_true(paretonbd_prob_alive(PN, 500, 10, 1e6, &pa));
    assert_true(pa >= 0.0 && pa <= 1.0);
    double e;
    assert_true(paretonbd_conditional_expected(PN, 52, 500, 1e6 - 1, 1e6, &e));
    assert_true(isfinite(e) && e >= 0.0);
    /* Invalid input. */
    double bad[] = {2.5};
    assert_false(paretonbd_log_lik(PN, bad, txs, Ts, NULL, 1, &ll, NULL));
    assert_false(paretonbd_prob_alive(PN, 1, 30, 20, &pa));
    assert_false(paretonbd_expected_purchases(PN, -1, &e));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loglik_vs_quadrature),
        cmocka_unit_test(test_predictions_vs_reference),
        cmocka_unit_test(test_recovery_from_simulation),
        cmocka_unit_test(test_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
