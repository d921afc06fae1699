/*
 * Unit tests for model/bgnbd.c (beyond the CDNOW reproduction in test_btyd.c).
 *
 * Expected per-person values come from bench/ltv/reference.py, which gets
 * them without 2F1: E[Y(t)] = P(alive) * integral over p ~ Beta(a, b + x) of
 * (1/p)(1 - ((alpha+T)/(alpha+T+p t))^(r+x)) dp (QUADPACK with the algebraic
 * weight, rel. 1e-13), P(alive) from its closed form. Run:
 *   /usr/bin/python3 bench/ltv/reference.py figures
 * Parameters are the published CDNOW estimates (0.243, 4.414, 0.793, 2.426)
 * so the figures do not depend on our fit. One cross-check against a
 * published per-person figure: Hardie's BG/NBD spreadsheet gives 1.226 for
 * x = 2, t_x = 30.43, T = 38.86, t = 39 (lifetimes test_estimation.py,
 * "test_conditional_expectation_returns_same_value_as_Hardie_excel_sheet").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "model/bgnbd.h"
#include "model/btyd.h"

static const double CDNOW[4] = {0.243, 4.414, 0.793, 2.426};

static void assert_rel(double got, double want, double rel)
{
    double err = fabs(got - want) / fmax(fabs(want), 1e-300);
    if (!(err <= rel))
        fail_msg("got %.17g want %.17g (rel err %.3g > %.3g)", got, want, err, rel);
}

static void test_predictions_vs_reference(void **state)
{
    (void)state;
    static const struct {
        double x, tx, T, palive, e39, e1000;
    } rows[] = {
        {2, 30.43, 38.86, 0.726578570080673, 1.2260281747671449, 10.120518988765323},
        {0, 0, 38.86, 1.0, 0.19509805201126262, 2.1783959555342154},
        {7, 29.43, 38.86, 0.6417563459461072, 3.3370532748514097, 23.966900321443816},
        {50, 38.0, 38.86, 0.9594382814767689, 33.391197999069185, 222.09565696086293},
        {3, 1.0, 38.86, 0.006552372748168118, 0.01573427673644916, 0.12314702176387356},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        double pa, e;
        assert_true(bgnbd_prob_alive(CDNOW, rows[i].x, rows[i].tx, rows[i].T, &pa));
        assert_rel(pa, rows[i].palive, 1e-12);
        assert_true(bgnbd_conditional_expected(CDNOW, 39, rows[i].x, rows[i].tx, rows[i].T, &e));
        assert_rel(e, rows[i].e39, 1e-9);
        assert_true(
            bgnbd_conditional_expected(CDNOW, 1000, rows[i].x, rows[i].tx, rows[i].T, &e));
        assert_rel(e, rows[i].e1000, 1e-9);
    }
    /* Hardie's spreadsheet: 1.226 to 3 decimals. */
    double e;
    assert_true(bgnbd_conditional_expected(CDNOW, 39, 2, 30.43, 38.86, &e));
    assert_true(fabs(e - 1.226) < 0.0005);
    static const double t[] = {1, 39, 78, 1000};
    static const double ex[] = {0.0532678911716583, 1.1967231933208171, 1.8605190579427688,
                                6.580391613738234};
    for (int k = 0; k < 4; k++) {
        assert_true(bgnbd_expected_purchases(CDNOW, t[k], &e));
        assert_rel(e, ex[k], 1e-9);
    }
    assert_true(bgnbd_expected_purchases(CDNOW, 0.0, &e) && e == 0.0);
}

static void test_predictions_awkward_parameters(void **state)
{
    (void)state;
    /* a + b < 1 (2F1 lower parameter <= 0), a = 1 exactly (removable
     * singularity), and a > 1 with b < 2 (reference.py, same quadrature). */
    static const struct {
        double p[4], ex20, ey20;
    } cases[] = {
        {{0.5, 10.0, 0.3, 0.5}, 0.7259985148219072, 2.9998774881948407},
        {{0.5, 10.0, 1.0, 3.0}, 0.7637369945078779, 2.2585386158963305},
        {{2.0, 3.0, 5.0, 1.5}, 1.3271065784697698, 0.26274289834008935},
    };
    for (int k = 0; k < 3; k++) {
        double e;
        assert_true(bgnbd_expected_purchases(cases[k].p, 20.0, &e));
        assert_rel(e, cases[k].ex20, 1e-7);
        assert_true(bgnbd_conditional_expected(cases[k].p, 20.0, 4, 8.0, 12.0, &e));
        assert_rel(e, cases[k].ey20, 1e-7);
    }
}

static void test_gradient_matches_differences(void **state)
{
    (void)state;
    double x[] = {0, 1, 2, 7, 0, 3}, tx[] = {0, 5, 30.43, 29.43, 0, 1}, T[] = {38.86, 20, 38.86,
                                                                             38.86, 5, 38.86};
    double w[] = {3, 1, 2, 1, 4, 1}, g[4], ll;
    double p[4] = {0.4, 6.0, 0.9, 2.1};
    assert_true(bgnbd_log_lik(p, x, tx, T, w, 6, &ll, g, NULL));
    for (int k = 0; k < 4; k++) {
        double h = 1e-6 * p[k], up[4], dn[4], lu, ld;
        memcpy(up, p, sizeof(up));
        memcpy(dn, p, sizeof(dn));
        up[k] += h;
        dn[k] -= h;
        assert_true(bgnbd_log_lik(up, x, tx, T, w, 6, &lu, NULL, NULL));
        assert_true(bgnbd_log_lik(dn, x, tx, T, w, 6, &ld, NULL, NULL));
        assert_rel(g[k], (lu - ld) / (2 * h), 1e-6);
    }
    /* Weights are counts: weight 3 equals three copies. */
    double x3[] = {0, 0, 0}, tx3[] = {0, 0, 0}, T3[] = {38.86, 38.86, 38.86}, l3, l1;
    double w1[] = {3};
    assert_true(bgnbd_log_lik(p, x3, tx3, T3, NULL, 3, &l3, NULL, NULL));
    assert_true(bgnbd_log_lik(p, x3, tx3, T3, w1, 1, &l1, NULL, NULL));
    assert_rel(l3, l1, 1e-14);
}

static void test_penalizer_objective(void **state)
{
    (void)state;
    /* lifetimes: objective = -LL/sum(w) + c (r^2 + (alpha/maxT)^2 + a^2 + b^2). */
    enum { N = 3000 };
    static double T[N], x[N], tx[N];
    const double truth[4] = {0.5, 5.0, 1.2, 3.0};
    struct btyd_rng rng;
    btyd_rng_seed(&rng, 11);
    double maxT = 0.0;
    for (int i = 0; i < N; i++) {
        T[i] = 26.0 + 52.0 * btyd_rng_uniform(&rng);
        maxT = fmax(maxT, T[i]);
    }
    btyd_simulate_bgnbd(truth, T, N, &rng, x, tx);
    struct btyd_fit_opts o;
    struct btyd_fit f0, f1;
    btyd_fit_opts_default(&o);
    assert_true(bgnbd_fit(x, tx, T, NULL, N, &o, &f0));
    o.penalizer = 0.1;
    assert_true(bgnbd_fit(x, tx, T, NULL, N, &o, &f1));
    const double *p = f1.params;
    double want = -f1.log_lik / N + 0.1 * (p[0] * p[0] + (p[1] / maxT) * (p[1] / maxT) +
                                           p[2] * p[2] + p[3] * p[3]);
    assert_rel(f1.objective, want, 1e-12);
    /* The penalty can only lower the likelihood at the optimum, and it
     * shrinks the parameters. */
    assert_true(f1.log_lik <= f0.log_lik + 1e-9);
    assert_true(p[0] * p[0] + p[2] * p[2] + p[3] * p[3] <
                f0.params[0] * f0.params[0] + f0.params[2] * f0.params[2] +
                    f0.params[3] * f0.params[3]);
}

static void test_recovery_from_simulation(void **state)
{
    (void)state;
    /* 20000 customers, ages uniform in 26..78 weeks, simulated from known
     * parameters with a fixed seed. Across seeds 1-6 the fits spread about
     * 1 % (r), 3 % (alpha), 4 % (a, b); the tolerances are ~3x that. */
    enum { N = 20000 };
    static double T[N], x[N], tx[N];
    const double truth[4] = {0.5, 5.0, 1.2, 3.0}, tol[4] = {0.04, 0.10, 0.12, 0.12};
    struct btyd_rng rng;
    struct btyd_fit f;
    btyd_rng_seed(&rng, 1);
    for (int i = 0; i < N; i++)
        T[i] = 26.0 + 52.0 * btyd_rng_uniform(&rng);
    btyd_simulate_bgnbd(truth, T, N, &rng, x, tx);
    assert_true(bgnbd_fit(x, tx, T, NULL, N, NULL, &f));
    for (int k = 0; k < 4; k++)
        if (!(fabs(f.params[k] / truth[k] - 1.0) <= tol[k]))
            fail_msg("param %d: %g vs true %g", k, f.params[k], truth[k]);
    /* The MLE beats the truth on its own sample. */
    double ll_true;
    assert_true(bgnbd_log_lik(truth, x, tx, T, NULL, N, &ll_true, NULL, NULL));
    assert_true(f.log_lik >= ll_true);
}

static void assert_finite_fit(const struct btyd_fit *f)
{
    for (size_t k = 0; k < 4; k++)
        assert_true(isfinite(f->params[k]));
    assert_true(isfinite(f->log_lik) && isfinite(f->objective) && isfinite(f->total_weight));
    assert_true(f->reason[0] != '\0');
}

static void test_edge_cases(void **state)
{
    (void)state;
    struct btyd_fit f;
    double x[] = {0, 0, 0}, tx[] = {0, 0, 0}, T[] = {10, 20, 30};
    /* Empty input. */
    assert_false(bgnbd_fit(x, tx, T, NULL, 0, NULL, &f));
    assert_finite_fit(&f);
    assert_string_equal(f.reason, "no customers");
    /* All frequency 0: the purchase rate has no information. */
    assert_false(bgnbd_fit(x, tx, T, NULL, 3, NULL, &f));
    assert_finite_fit(&f);
    assert_string_equal(f.reason, "no repeat purchases: model not identifiable");
    /* One customer: whatever happens, no NaN. */
    double x1[] = {3}, tx1[] = {8}, T1[] = {10};
    bgnbd_fit(x1, tx1, T1, NULL, 1, NULL, &f);
    assert_finite_fit(&f);
    /* A boundary MLE: on these 7 rows a, b run off to infinity (p becomes a
     * point mass), so the fit must say it did not converge, in finite numbers. */
    double x7[] = {0, 1, 2, 7, 0, 3, 1}, tx7[] = {0, 5, 30, 29, 0, 1, 2};
    double T7[] = {38, 20, 38, 39, 5, 38, 3};
    assert_false(bgnbd_fit(x7, tx7, T7, NULL, 7, NULL, &f));
    assert_finite_fit(&f);
    /* Iteration limit: not converged, reason given, numbers finite. */
    double xs[] = {0, 1, 2, 7, 0, 3}, txs[] = {0, 5, 30, 29, 0, 1}, Ts[] = {38, 20, 38, 39, 5, 38};
    struct btyd_fit_opts o;
    btyd_fit_opts_default(&o);
    o.max_iter = 1;
    assert_false(bgnbd_fit(xs, txs, Ts, NULL, 6, &o, &f));
    assert_finite_fit(&f);
    /* Invalid rows are refused with a reason. */
    double bad_x[] = {1.5}, bad_tx[] = {11};
    assert_false(bgnbd_fit(bad_x, tx1, T1, NULL, 1, NULL, &f));
    assert_finite_fit(&f);
    assert_false(bgnbd_fit(x1, bad_tx, T1, NULL, 1, NULL, &f));
    const char *why = NULL;
    double ll;
    assert_false(bgnbd_log_lik(CDNOW, bad_x, tx1, T1, NULL, 1, &ll, NULL, &why));
    assert_non_null(why);
    double neg[4] = {0.243, -1, 0.793, 2.426};
    assert_false(bgnbd_log_lik(neg, x1, tx1, T1, NULL, 1, &ll, NULL, &why));
    /* Very large T (a million time units): finite, sensible predictions. */
    double pa, e;
    assert_true(bgnbd_prob_alive(CDNOW, 5, 10, 1e6, &pa));
    assert_true(pa >= 0.0 && pa < 1e-6);
    assert_true(bgnbd_conditional_expected(CDNOW, 52, 5, 10, 1e6, &e));
    assert_true(isfinite(e) && e >= 0.0 && e < 1e-6);
    assert_true(bgnbd_conditional_expected(CDNOW, 52, 0, 0, 1e6, &e));
    assert_true(isfinite(e) && e > 0.0);
    double bigT[] = {1e6, 2e6}, bx[] = {1, 0}, btx[] = {5e5, 0};
    assert_true(bgnbd_log_lik(CDNOW, bx, btx, bigT, NULL, 2, &ll, NULL, NULL));
    assert_true(isfinite(ll));
    /* Prediction inputs out of range. */
    assert_false(bgnbd_prob_alive(CDNOW, 1, 11, 10, &pa));
    assert_false(bgnbd_expected_purchases(CDNOW, -1.0, &e));
    assert_false(bgnbd_conditional_expected(CDNOW, NAN, 1, 1, 10, &e));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_predictions_vs_reference),
        cmocka_unit_test(test_predictions_awkward_parameters),
        cmocka_unit_test(test_gradient_matches_differences),
        cmocka_unit_test(test_penalizer_objective),
        cmocka_unit_test(test_recovery_from_simulation),
        cmocka_unit_test(test_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
