/*
 * Unit tests for model/btyd.c and the CDNOW reproduction of the three models.
 *
 * Data: ../shared/data/cdnow (README there): the raw CDNOW sample log and the
 * per-customer summary distributed with it (lifetimes' dataset files).
 * Published figures, each checked against its source before being written
 * here:
 *  - BG/NBD on CDNOW, r = 0.243, alpha = 4.414, a = 0.793, b = 2.426,
 *    LL = -9582.4: Fader, Hardie & Lee (2005) "Counting Your Customers the
 *    Easy Way", Marketing Science 24(2), section 7 (parameters also asserted
 *    in lifetimes tests/test_estimation.py, test_params_out_is_close_to_
 *    Hardie_paper; LL from a summary of the paper's Table 2).
 *  - Pareto/NBD on CDNOW, r = 0.553, alpha = 10.578, s = 0.606,
 *    beta = 11.669, LL = -9595.0: same paper and lifetimes test.
 *  - Gamma-Gamma on the 946 CDNOW repeat buyers, p = 6.25, q = 3.74,
 *    gamma = 15.44: Fader & Hardie (2013) "The Gamma-Gamma Model of Monetary
 *    Value" (note 025) and lifetimes' GammaGammaFitter test. Fader, Hardie &
 *    Lee (2005, JMR 42(4), section 4, via a summary of the paper) report the
 *    39-week optimum LL = -4659; that paper's likelihood is of total spend
 *    x * zbar, i.e. lifetimes' density of zbar minus sum(log x) = 603.37
 *    (computed by bench/ltv/reference.py), which we check.
 *  - corr(frequency, average spend) = 0.11 over those 946 (FHL 2005 JMR
 *    section 2.2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "model/bgnbd.h"
#include "model/btyd.h"
#include "model/gammagamma.h"
#include "model/paretonbd.h"

#define CDNOW_DIR "../shared/data/cdnow/"
#define CDNOW_N 2357

static void assert_rel(double got, double want, double rel)
{
    double err = fabs(got - want) / fmax(fabs(want), 1e-300);
    if (!(err <= rel))
        fail_msg("got %.17g want %.17g (rel err %.3g > %.3g)", got, want, err, rel);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), independent of the code under test. */
static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

struct cdnow_raw {
    int32_t day[8000];
    double amount[8000];
    size_t start[CDNOW_N + 1];
    size_t n_txn;
};

/* Raw log: "master_id sample_id YYYYMMDD cds dollars", grouped by sample id. */
static void load_raw(struct cdnow_raw *raw)
{
    FILE *f = fopen(CDNOW_DIR "CDNOW_sample.txt", "r");
    assert_non_null(f);
    long master, id, ymd, cds;
    double dollars;
    long prev = 0;
    raw->n_txn = 0;
    while (fscanf(f, "%ld %ld %ld %ld %lf", &master, &id, &ymd, &cds, &dollars) == 5) {
        assert_true(id >= prev && id <= CDNOW_N && raw->n_txn < 8000);
        while (prev < id)
            raw->start[prev++] = raw->n_txn;
        raw->day[raw->n_txn] =
            days_from_civil((int)(ymd / 10000), (int)(ymd / 100 % 100), (int)(ymd % 100));
        raw->amount[raw->n_txn++] = dollars;
    }
    fclose(f);
    assert_int_equal(raw->n_txn, 6919);
    raw->start[CDNOW_N] = raw->n_txn;
}

struct cdnow_sum {
    double x[CDNOW_N], tx[CDNOW_N], T[CDNOW_N], m[CDNOW_N];
};

static void load_summary_csv(struct cdnow_sum *s)
{
    FILE *f = fopen(CDNOW_DIR "cdnow_customers_summary_with_transactions.csv", "r");
    char header[64];
    assert_non_null(f);
    assert_non_null(fgets(header, sizeof(header), f));
    int id;
    for (int i = 0; i < CDNOW_N; i++) {
        assert_int_equal(fscanf(f, "%d,%lf,%lf,%lf,%lf", &id, &s->x[i], &s->tx[i], &s->T[i],
                                &s->m[i]),
                         5);
        assert_int_equal(id, i + 1);
    }
    fclose(f);
}

/* ---- summary ---------------------------------------------------------- */

static void test_cdnow_summary_matches_published(void **state)
{
    (void)state;
    static struct cdnow_raw raw;
    static struct cdnow_sum ref;
    load_raw(&raw);
    load_summary_csv(&ref);
    struct btyd_txns in = {raw.day, raw.amount, raw.start, CDNOW_N};
    struct btyd_summary s;
    const char *why = NULL;
    assert_true(btyd_summary_build(&in, days_from_civil(1997, 9, 30), BTYD_WEEKS, &s, &why));
    /* Every customer's first purchase is in 1997Q1, before the end. */
    assert_int_equal(s.n, CDNOW_N);
    double sum_x = 0.0;
    int repeaters = 0;
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(s.customer[i], i);
        sum_x += s.frequency[i];
        repeaters += s.frequency[i] > 0.0;
        /* The file is rounded to 2 decimals. */
        assert_true(s.frequency[i] == ref.x[i]);
        if (fabs(s.recency[i] - ref.tx[i]) > 0.005 + 1e-9 || fabs(s.T[i] - ref.T[i]) > 0.005 + 1e-9 ||
            fabs(s.monetary[i] - ref.m[i]) > 0.005 + 1e-9)
            fail_msg("customer %zu: %g %g %g vs %g %g %g", i + 1, s.recency[i], s.T[i],
                     s.monetary[i], ref.tx[i], ref.T[i], ref.m[i]);
    }
    /* README of the data: x total 2457, 946 customers with x > 0. */
    assert_true(sum_x == 2457.0);
    assert_int_equal(repeaters, 946);
    btyd_summary_free(&s);
}

static void test_summary_rules(void **state)
{
    (void)state;
    /* Customer 0: days 10 (5 + 7, same day), 12 (1), 24 (4), 40 (after end).
     *   occasions 10, 12, 24 -> x = 2; recency 14; T = 30 - 10 = 20;
     *   monetary = (1 + 4) / 2 = 2.5 (first-day 12 excluded).
     * Customer 1: one day 30 (= end) twice -> x = 0, T = 0, m = 0.
     * Customer 2: first purchase at 31 > end -> not summarised.
     * Customer 3: no transactions. */
    int32_t day[] = {10, 10, 12, 24, 40, 30, 30, 31};
    double amt[] = {5, 7, 1, 4, 100, 3, 3, 9};
    size_t start[] = {0, 5, 7, 8, 8};
    struct btyd_txns in = {day, amt, start, 4};
    struct btyd_summary s;
    assert_true(btyd_summary_build(&in, 30, BTYD_DAYS, &s, NULL));
    assert_int_equal(s.n, 2);
    assert_int_equal(s.customer[0], 0);
    assert_true(s.frequency[0] == 2.0 && s.recency[0] == 14.0 && s.T[0] == 20.0);
    assert_true(s.monetary[0] == 2.5);
    assert_int_equal(s.customer[1], 1);
    assert_true(s.frequency[1] == 0.0 && s.recency[1] == 0.0 && s.T[1] == 0.0);
    assert_true(s.monetary[1] == 0.0);
    btyd_summary_free(&s);
    /* Weeks: the same day counts divided by 7. */
    assert_true(btyd_summary_build(&in, 30, BTYD_WEEKS, &s, NULL));
    assert_rel(s.recency[0], 2.0, 1e-15);
    assert_rel(s.T[0], 20.0 / 7.0, 1e-15);
    btyd_summary_free(&s);
    /* No amounts: monetary 0. */
    in.amount = NULL;
    assert_true(btyd_summary_build(&in, 30, BTYD_DAYS, &s, NULL));
    assert_true(s.monetary[0] == 0.0);
    btyd_summary_free(&s);
}

static void test_summary_errors_and_empty(void **state)
{
    (void)state;
    int32_t day[] = {10, 9};
    double amt[] = {1, 1};
    size_t start[] = {0, 2};
    struct btyd_txns in = {day, amt, start, 1};
    struct btyd_summary s;
    const char *why = NULL;
    assert_false(btyd_summary_build(&in, 30, BTYD_DAYS, &s, &why));
    assert_non_null(why);
    assert_null(s.frequency);
    assert_false(btyd_summary_build(&in, 30, (enum btyd_unit)3, &s, &why));
    double bad[] = {1, NAN};
    day[1] = 11;
    in.amount = bad;
    assert_false(btyd_summary_build(&in, 30, BTYD_DAYS, &s, &why));
    /* Empty input is fine: zero customers. */
    size_t start0[] = {0};
    struct btyd_txns empty = {NULL, NULL, start0, 0};
    assert_true(btyd_summary_build(&empty, 30, BTYD_DAYS, &s, &why));
    assert_int_equal(s.n, 0);
    btyd_summary_free(&s);
    btyd_summary_free(&s); /* idempotent on a zeroed summary */
}

/* ---- compression ------------------------------------------------------ */

static void test_compress(void **state)
{
    (void)state;
    double x[] = {0, 1, 0, 1, 2, 1, -0.0};
    double tx[] = {0, 5, 0, 5, 7, 6, 0};
    double T[] = {9, 9, 9, 9, 9, 9, 9};
    double w[] = {1, 2, 3, 4, 5, 6, 7};
    struct btyd_patterns p;
    assert_true(btyd_compress(x, tx, T, w, 7, &p, NULL));
    /* Patterns in first-appearance order: (0,0,9) w 1+3+7, (1,5,9) w 2+4,
     * (2,7,9) w 5, (1,6,9) w 6. -0 and 0 are one key. */
    assert_int_equal(p.n, 4);
    assert_true(p.weight[0] == 11.0 && p.weight[1] == 6.0 && p.weight[2] == 5.0 &&
                p.weight[3] == 6.0);
    assert_true(p.frequency[3] == 1.0 && p.recency[3] == 6.0);
    size_t want[] = {0, 1, 0, 1, 2, 3, 0};
    for (int i = 0; i < 7; i++)
        assert_int_equal(p.pattern_of[i], want[i]);
    btyd_patterns_free(&p);
    double nanx[] = {NAN};
    assert_false(btyd_compress(nanx, tx, T, NULL, 1, &p, NULL));
    double neg[] = {-1};
    assert_false(btyd_compress(x, tx, T, neg, 1, &p, NULL));
    assert_true(btyd_compress(x, tx, T, NULL, 0, &p, NULL));
    assert_int_equal(p.n, 0);
    btyd_patterns_free(&p);
}

static void test_compressed_likelihood_equals_rows(void **state)
{
    (void)state;
    static struct cdnow_sum s;
    load_summary_csv(&s);
    struct btyd_patterns p;
    assert_true(btyd_compress(s.x, s.tx, s.T, NULL, CDNOW_N, &p, NULL));
    assert_true(p.n < CDNOW_N / 2); /* 1016 distinct patterns */
    const double params[4] = {0.243, 4.414, 0.793, 2.426};
    double ll_rows, ll_pat;
    assert_true(bgnbd_log_lik(params, s.x, s.tx, s.T, NULL, CDNOW_N, &ll_rows, NULL, NULL));
    assert_true(bgnbd_log_lik(params, p.frequency, p.recency, p.T, p.weight, p.n, &ll_pat, NULL,
                              NULL));
    assert_rel(ll_pat, ll_rows, 1e-12);
    /* bench/ltv/reference.py (numpy): LL at these parameters. */
    assert_rel(ll_rows, -9582.426831182365, 1e-11);
    btyd_patterns_free(&p);
}

/* ---- statistics and simulation --------------------------------------- */

static void test_pearson(void **state)
{
    (void)state;
    /* x = 1,2,3,4; y = 2,4,5,9: means 2.5, 5; sxy = 1.5*3 + 0.5*1 + 0.5*0 + 1.5*4 = 11,
     * sxx = 5, syy = 9 + 1 + 0 + 16 = 26; r = 11 / sqrt(130). */
    double x[] = {1, 2, 3, 4}, y[] = {2, 4, 5, 9}, r;
    assert_true(btyd_pearson(x, y, NULL, 4, &r));
    assert_rel(r, 11.0 / sqrt(130.0), 1e-14);
    /* Integer weights equal repeated rows: (1,1,2) twice -> (1,2,2,3...). */
    double w[] = {2, 1, 1, 0}, xr[] = {1, 1, 2, 3}, yr[] = {2, 2, 4, 5}, r2, rw;
    assert_true(btyd_pearson(x, y, w, 4, &rw));
    assert_true(btyd_pearson(xr, yr, NULL, 4, &r2));
    assert_rel(rw, r2, 1e-14);
    double c[] = {3, 3, 3};
    assert_false(btyd_pearson(c, y, NULL, 3, &r));
    assert_false(btyd_pearson(x, y, NULL, 1, &r));
}

static void test_rng_gamma_moments(void **state)
{
    (void)state;
    /* Gamma(k, theta): mean k theta, variance k theta^2. With 200k draws the
     * standard error of the mean is sqrt(k/2e5) theta: the 6-sigma bounds
     * below fail only on a broken sampler. */
    struct btyd_rng rng;
    btyd_rng_seed(&rng, 42);
    const double shapes[] = {0.3, 1.0, 6.25};
    for (int s = 0; s < 3; s++) {
        double k = shapes[s], theta = 2.0, sum = 0.0, sum2 = 0.0;
        const int n = 200000;
        for (int i = 0; i < n; i++) {
            double g = btyd_rng_gamma(&rng, k, theta);
            assert_true(g > 0.0 && isfinite(g));
            sum += g;
            sum2 += g * g;
        }
        double mean = sum / n, var = sum2 / n - mean * mean;
        assert_true(fabs(mean - k * theta) < 6.0 * sqrt(k / n) * theta);
        assert_true(fabs(var - k * theta * theta) < 0.05 * k * theta * theta);
    }
    double u_sum = 0.0;
    for (int i = 0; i < 100000; i++) {
        double u = btyd_rng_uniform(&rng);
        assert_true(u > 0.0 && u < 1.0);
        u_sum += u;
    }
    assert_true(fabs(u_sum / 100000 - 0.5) < 6.0 * sqrt(1.0 / 12 / 100000));
    /* Same seed, same stream. */
    struct btyd_rng a, b;
    btyd_rng_seed(&a, 7);
    btyd_rng_seed(&b, 7);
    assert_true(btyd_rng_uniform(&a) == btyd_rng_uniform(&b));
}

/* ---- the published CDNOW fits ----------------------------------------- */

/* Three significant digits: |got - want| <= 0.5 unit of the 3rd digit. */
static void assert_3sig(double got, double want)
{
    double unit = pow(10.0, floor(log10(fabs(want))) - 2.0);
    if (!(fabs(got - want) <= 0.5 * unit + 1e-12))
        fail_msg("got %.6g, published %.6g (3 significant digits)", got, want);
}

static void test_cdnow_bgnbd_published(void **state)
{
    (void)state;
    static struct cdnow_raw raw;
    load_raw(&raw);
    struct btyd_txns in = {raw.day, raw.amount, raw.start, CDNOW_N};
    struct btyd_summary s;
    struct btyd_patterns p;
    struct btyd_fit fit;
    assert_true(btyd_summary_build(&in, days_from_civil(1997, 9, 30), BTYD_WEEKS, &s, NULL));
    assert_true(btyd_compress(s.frequency, s.recency, s.T, NULL, s.n, &p, NULL));
    assert_true(bgnbd_fit(p.frequency, p.recency, p.T, p.weight, p.n, NULL, &fit));
    assert_3sig(fit.params[0], 0.243);
    assert_3sig(fit.params[1], 4.414);
    assert_3sig(fit.params[2], 0.793);
    assert_3sig(fit.params[3], 2.426);
    assert_3sig(fit.log_lik, -9582.4);
    assert_true(fit.total_weight == 2357.0);
    btyd_patterns_free(&p);
    btyd_summary_free(&s);
}

static void test_cdnow_paretonbd_published(void **state)
{
    (void)state;
    static struct cdnow_sum s;
    struct btyd_patterns p;
    struct btyd_fit fit;
    load_summary_csv(&s);
    assert_true(btyd_compress(s.x, s.tx, s.T, NULL, CDNOW_N, &p, NULL));
    assert_true(paretonbd_fit(p.frequency, p.recency, p.T, p.weight, p.n, NULL, &fit));
    assert_3sig(fit.params[0], 0.553);
    assert_3sig(fit.params[1], 10.578);
    assert_3sig(fit.params[2], 0.606);
    assert_3sig(fit.params[3], 11.669);
    assert_3sig(fit.log_lik, -9595.0);
    btyd_patterns_free(&p);
}

static void test_cdnow_gammagamma_published(void **state)
{
    (void)state;
    static struct cdnow_sum s;
    struct btyd_fit fit;
    load_summary_csv(&s);
    assert_true(gammagamma_fit(s.x, s.m, NULL, CDNOW_N, NULL, false, &fit));
    assert_int_equal(fit.n_rows, 946);
    assert_3sig(fit.params[0], 6.25);
    assert_3sig(fit.params[1], 3.74);
    assert_3sig(fit.params[2], 15.44);
    /* Paper: -4659 for the density of total spend = ours - sum log x. */
    assert_3sig(fit.log_lik - 603.3725430703669, -4659.0);
    /* bench/ltv/reference.py: scipy BFGS on the same rows, LL -4055.9232435. */
    assert_rel(fit.log_lik, -4055.9232435028644, 1e-9);
    double corr;
    assert_true(gammagamma_freq_monetary_corr(s.x, s.m, NULL, CDNOW_N, &corr));
    assert_true(fabs(corr - 0.11) <= 0.005);
    assert_rel(corr, 0.11388391048600499, 1e-9); /* numpy corrcoef, reference.py */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cdnow_summary_matches_published),
        cmocka_unit_test(test_summary_rules),
        cmocka_unit_test(test_summary_errors_and_empty),
        cmocka_unit_test(test_compress),
        cmocka_unit_test(test_compressed_likelihood_equals_rows),
        cmocka_unit_test(test_pearson),
        cmocka_unit_test(test_rng_gamma_moments),
        cmocka_unit_test(test_cdnow_bgnbd_published),
        cmocka_unit_test(test_cdnow_paretonbd_published),
        cmocka_unit_test(test_cdnow_gammagamma_published),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
