/*
 * Unit tests for model/gammagamma.c (the CDNOW fit is in test_btyd.c).
 *
 * Expected values: bench/ltv/reference.py (numpy/scipy): the log-likelihood
 * in note 025's eq. 1b form (1 / (zbar B(px, q)) (g/(g+x zbar))^q
 * (x zbar/(g+x zbar))^(px)), a different arrangement from the code's eq. 1a;
 * conditional spends from eq. 5 evaluated there; and hand computations in
 * comments. Parameters: the published CDNOW estimates (6.25, 3.74, 15.44).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "model/btyd.h"
#include "model/gammagamma.h"

static const double GG[3] = {6.25, 3.74, 15.44};

static void assert_rel(double got, double want, double rel)
{
    double err = fabs(got - want) / fmax(fabs(want), 1e-300);
    if (!(err <= rel))
        fail_msg("got %.17g want %.17g (rel err %.3g > %.3g)", got, want, err, rel);
}

static void test_loglik_and_gradient(void **state)
{
    (void)state;
    FILE *f = fopen("../shared/data/cdnow/cdnow_customers_summary_with_transactions.csv", "r");
    static double x[2357], m[2357];
    char header[64];
    double tx, T;
    int id;
    assert_non_null(f);
    assert_non_null(fgets(header, sizeof(header), f));
    for (int i = 0; i < 2357; i++)
        assert_int_equal(fscanf(f, "%d,%lf,%lf,%lf,%lf", &id, &x[i], &tx, &T, &m[i]), 5);
    fclose(f);
    double ll, g[3];
    assert_true(gammagamma_log_lik(GG, x, m, NULL, 2357, &ll, g, NULL));
    assert_rel(ll, -4055.9247127301633, 1e-11);
    for (int k = 0; k < 3; k++) {
        double up[3], dn[3], lu, ld, h = 3e-5 * GG[k];
        memcpy(up, GG, sizeof(up));
        memcpy(dn, GG, sizeof(dn));
        up[k] += h;
        dn[k] -= h;
        assert_true(gammagamma_log_lik(up, x, m, NULL, 2357, &lu, NULL, NULL));
        assert_true(gammagamma_log_lik(dn, x, m, NULL, 2357, &ld, NULL, NULL));
        assert_rel(g[k], (lu - ld) / (2 * h), 2e-5); /* noise ~1e-10 / 2h; h^2 error ~1e-8 */
    }
}

static void test_expected_spend(void **state)
{
    (void)state;
    /* Hand: population mean p g / (q - 1) = 6.25 * 15.44 / 2.74 = 96.5 / 2.74
     * = 35.218978...; x = 1, m = 100: 6.25 (15.44 + 100) / (6.25 + 2.74)
     * = 721.5 / 8.99 = 80.255839... (reference.py: 80.25583982202447). */
    static const struct {
        double x, m, want;
    } rows[] = {
        {2, 22.35, 24.663713910761153},
        {1, 100.0, 80.25583982202447},
        {0, 0.0, 35.21897810218978},
        {7, 20.0, 20.89696708969671},
    };
    for (int i = 0; i < 4; i++) {
        double e;
        assert_true(gammagamma_expected_spend(GG, rows[i].x, rows[i].m, &e));
        assert_rel(e, rows[i].want, 1e-13);
    }
    double e;
    const double low_q[3] = {6.25, 0.9, 15.44};
    assert_false(gammagamma_expected_spend(low_q, 1, 10, &e));
    assert_false(gammagamma_expected_spend(GG, 1, -3, &e));
    assert_false(gammagamma_expected_spend(GG, -1, 3, &e));
}

static void test_recovery_and_q_constraint(void **state)
{
    (void)state;
    /* 20000 customers with x = floor(Exp(mean 2)) (about 61 % repeaters) and
     * spends from the model. Across seeds 1-8 the fits spread up to 8 % (p),
     * 4 % (q), 12 % (gamma); the tolerances are twice that. */
    enum { N = 20000 };
    static double x[N], m[N];
    const double truth[3] = {6.0, 4.0, 15.0}, tol[3] = {0.16, 0.08, 0.24};
    struct btyd_rng rng;
    struct btyd_fit f;
    btyd_rng_seed(&rng, 3);
    for (int i = 0; i < N; i++)
        x[i] = floor(-log(btyd_rng_uniform(&rng)) * 2.0);
    btyd_simulate_gammagamma(truth, x, N, &rng, m);
    assert_true(gammagamma_fit(x, m, NULL, N, NULL, false, &f));
    for (int k = 0; k < 3; k++)
        if (!(fabs(f.params[k] / truth[k] - 1.0) <= tol[k]))
            fail_msg("param %d: %g vs true %g", k, f.params[k], truth[k]);
    /* q < 1 in truth: the population mean is infinite. Unconstrained, the fit
     * lands below 1 and the spend prediction is refused; with q_above_one it
     * stays above 1 and predictions exist. */
    const double heavy[3] = {3.0, 0.7, 10.0};
    btyd_simulate_gammagamma(heavy, x, N, &rng, m);
    struct btyd_fit fu, fc;
    assert_true(gammagamma_fit(x, m, NULL, N, NULL, false, &fu));
    assert_true(fu.params[1] < 1.0);
    double e;
    assert_false(gammagamma_expected_spend(fu.params, 2, 10, &e));
    assert_true(gammagamma_fit(x, m, NULL, N, NULL, true, &fc));
    assert_true(fc.params[1] > 1.0);
    assert_true(fc.log_lik <= fu.log_lik + 1e-9);
    assert_true(gammagamma_expected_spend(fc.params, 2, 10, &e) && isfinite(e));
}

static void test_edge_cases(void **state)
{
    (void)state;
    struct btyd_fit f;
    double x[] = {0, 0, 3, 2}, m[] = {0, 0, 0, -5};
    /* No usable row (x = 0, or non-positive spend). */
    assert_false(gammagamma_fit(x, m, NULL, 4, NULL, false, &f));
    assert_int_equal(f.n_rows, 0);
    assert_true(f.reason[0] != '\0');
    assert_false(gammagamma_fit(x, m, NULL, 0, NULL, false, &f));
    /* Non-whole frequency or non-finite m: refused. */
    double bx[] = {1.5}, bm[] = {3}, nm[] = {NAN}, one[] = {1};
    assert_false(gammagamma_fit(bx, bm, NULL, 1, NULL, false, &f));
    assert_false(gammagamma_fit(one, nm, NULL, 1, NULL, false, &f));
    /* Skipped rows are counted out: 2 usable of 4. */
    double x2[] = {0, 2, 3, 1}, m2[] = {0, 10, 12, 0};
    gammagamma_fit(x2, m2, NULL, 4, NULL, false, &f);
    assert_int_equal(f.n_rows, 2);
    for (int k = 0; k < 3; k++)
        assert_true(isfinite(f.params[k]));
    assert_true(isfinite(f.log_lik) && isfinite(f.objective));
    /* Iteration limit reported. */
    struct btyd_fit_opts o;
    btyd_fit_opts_default(&o);
    o.max_iter = 1;
    double x3[] = {1, 2, 3, 1, 5, 2}, m3[] = {10, 14, 9, 30, 12, 20};
    assert_false(gammagamma_fit(x3, m3, NULL, 6, &o, false, &f));
    assert_true(isfinite(f.params[0]) && isfinite(f.log_lik) && f.reason[0] != '\0');
    /* Correlation: hand example x = 1,2,3, m = 10,20,30 -> exactly 1; rows
     * with x = 0 are not part of it. */
    double cx[] = {1, 2, 3, 0}, cm[] = {10, 20, 30, 99}, r;
    assert_true(gammagamma_freq_monetary_corr(cx, cm, NULL, 4, &r));
    assert_rel(r, 1.0, 1e-14);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loglik_and_gradient),
        cmocka_unit_test(test_expected_spend),
        cmocka_unit_test(test_recovery_and_q_constraint),
        cmocka_unit_test(test_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
