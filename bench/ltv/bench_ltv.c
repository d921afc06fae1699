/*
 * LTV model benchmark (not a test): times the C fits on CDNOW and on a
 * seeded simulation of 1M customers, and can dump the same per-customer
 * arrays for bench/ltv/reference.py (scipy baseline). Build and run with
 * bench/ltv/run.sh; README.md there has the exact commands.
 *
 *   bench_ltv [--reps N] [--n CUSTOMERS] [--seed S] [--dump DIR]
 *
 * Timed stages (median over --reps runs, wall clock, one thread):
 *   cdnow:   summary from the 6919 raw transactions, compression, BG/NBD fit,
 *            Gamma-Gamma fit (file parsing excluded);
 *   sim:     compression of N customers, BG/NBD fit on the patterns,
 *            Gamma-Gamma fit on the N (x, m) rows (simulation excluded).
 * Simulated data: BG/NBD at the CDNOW estimates converted to days (r 0.243,
 * alpha 30.898, a 0.793, b 2.426), ages uniform over 0..364 whole days,
 * purchase days floored to whole days; spend from Gamma-Gamma (6.25, 3.74,
 * 15.44).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/bgnbd.h"
#include "model/btyd.h"
#include "model/gammagamma.h"

#define MAX_REPS 51

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return (n % 2) ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

struct raw {
    int32_t day[8000];
    double amount[8000];
    size_t start[2358];
};

static int load_cdnow(const char *dir, struct raw *r)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/CDNOW_sample.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long master, id, ymd, cds, prev = 0;
    double usd;
    size_t n = 0;
    while (n < 8000 && fscanf(f, "%ld %ld %ld %ld %lf", &master, &id, &ymd, &cds, &usd) == 5) {
        while (prev < id && prev < 2357)
            r->start[prev++] = n;
        r->day[n] = days_from_civil((int)(ymd / 10000), (int)(ymd / 100 % 100), (int)(ymd % 100));
        r->amount[n++] = usd;
    }
    fclose(f);
    while (prev <= 2357)
        r->start[prev++] = n;
    return 0;
}

static int dump(const char *dir, const char *name, const double *a, const double *b,
                const double *c, const double *d, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    const double *cols[4] = {a, b, c, d};
    for (int k = 0; k < 4; k++)
        if (fwrite(cols[k], sizeof(double), n, f) != n) {
            fclose(f);
            return -1;
        }
    return fclose(f);
}

static void print_fit(const char *tag, const struct btyd_fit *f)
{
    printf("%s params=", tag);
    for (size_t k = 0; k < f->n_params; k++)
        printf("%s%.6g", k ? "," : "", f->params[k]);
    printf(" ll=%.6f converged=%d iters=%d passes=%d rows=%zu\n", f->log_lik, f->converged,
           f->iterations, f->evaluations, f->n_rows);
}

static int bench_cdnow(const char *data_dir, int reps, const char *dump_dir)
{
    static struct raw r;
    if (load_cdnow(data_dir, &r) != 0) {
        fprintf(stderr, "bench_ltv: cannot read %s/CDNOW_sample.txt\n", data_dir);
        return -1;
    }
    struct btyd_txns in = {r.day, r.amount, r.start, 2357};
    double t_all[MAX_REPS], t_bg[MAX_REPS], t_gg[MAX_REPS];
    struct btyd_fit bg, gg;
    for (int k = 0; k < reps; k++) {
        struct btyd_summary s;
        struct btyd_patterns p;
        double t0 = now_ms();
        if (!btyd_summary_build(&in, days_from_civil(1997, 9, 30), BTYD_WEEKS, &s, NULL) ||
            !btyd_compress(s.frequency, s.recency, s.T, NULL, s.n, &p, NULL))
            return -1;
        double t1 = now_ms();
        bgnbd_fit(p.frequency, p.recency, p.T, p.weight, p.n, NULL, &bg);
        double t2 = now_ms();
        gammagamma_fit(s.frequency, s.monetary, NULL, s.n, NULL, false, &gg);
        double t3 = now_ms();
        t_all[k] = t3 - t0;
        t_bg[k] = t2 - t1;
        t_gg[k] = t3 - t2;
        if (k == 0 && dump_dir &&
            dump(dump_dir, "cdnow.f64", s.frequency, s.recency, s.T, s.monetary, s.n) != 0)
            return -1;
        btyd_patterns_free(&p);
        btyd_summary_free(&s);
    }
    printf("cdnow customers=2357 reps=%d bgnbd_ms=%.3f gg_ms=%.3f total_ms=%.3f\n", reps,
           median(t_bg, reps), median(t_gg, reps), median(t_all, reps));
    print_fit("cdnow bgnbd", &bg);
    print_fit("cdnow gg", &gg);
    return 0;
}

struct sim {
    double *T, *x, *tx, *m;
    size_t n;
};

static int simulate(struct sim *s, size_t n, uint64_t seed)
{
    const double bg[4] = {0.243, 4.414 * 7.0, 0.793, 2.426}, gg[3] = {6.25, 3.74, 15.44};
    struct btyd_rng rng;
    s->n = n;
    s->T = malloc(n * sizeof(double));
    s->x = malloc(n * sizeof(double));
    s->tx = malloc(n * sizeof(double));
    s->m = malloc(n * sizeof(double));
    if (!s->T || !s->x || !s->tx || !s->m)
        return -1;
    btyd_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        s->T[i] = floor(365.0 * btyd_rng_uniform(&rng));
    btyd_simulate_bgnbd(bg, s->T, n, &rng, s->x, s->tx);
    for (size_t i = 0; i < n; i++)
        s->tx[i] = floor(s->tx[i]);
    btyd_simulate_gammagamma(gg, s->x, n, &rng, s->m);
    return 0;
}

static int bench_sim(size_t n, uint64_t seed, int reps, const char *dump_dir)
{
    struct sim s;
    if (simulate(&s, n, seed) != 0)
        return -1;
    if (dump_dir && dump(dump_dir, "sim.f64", s.x, s.tx, s.T, s.m, n) != 0)
        return -1;
    double t_c[MAX_REPS], t_bg[MAX_REPS], t_gg[MAX_REPS], t_all[MAX_REPS];
    struct btyd_fit bg, gg;
    size_t patterns = 0;
    for (int k = 0; k < reps; k++) {
        struct btyd_patterns p;
        double t0 = now_ms();
        if (!btyd_compress(s.x, s.tx, s.T, NULL, n, &p, NULL))
            return -1;
        double t1 = now_ms();
        bgnbd_fit(p.frequency, p.recency, p.T, p.weight, p.n, NULL, &bg);
        double t2 = now_ms();
        gammagamma_fit(s.x, s.m, NULL, n, NULL, false, &gg);
        double t3 = now_ms();
        patterns = p.n;
        t_c[k] = t1 - t0;
        t_bg[k] = t2 - t1;
        t_gg[k] = t3 - t2;
        t_all[k] = t3 - t0;
        btyd_patterns_free(&p);
    }
    printf("sim customers=%zu patterns=%zu seed=%llu reps=%d compress_ms=%.1f bgnbd_ms=%.1f "
           "gg_ms=%.1f total_ms=%.1f\n",
           n, patterns, (unsigned long long)seed, reps, median(t_c, reps), median(t_bg, reps),
           median(t_gg, reps), median(t_all, reps));
    print_fit("sim bgnbd", &bg);
    print_fit("sim gg", &gg);
    free(s.T);
    free(s.x);
    free(s.tx);
    free(s.m);
    return 0;
}

int main(int argc, char **argv)
{
    int reps = 5;
    size_t n = 1000000;
    uint64_t seed = 20260101;
    const char *dump_dir = NULL, *data = "../shared/data/cdnow";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--n") && i + 1 < argc)
            n = (size_t)strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--dump") && i + 1 < argc)
            dump_dir = argv[++i];
        else if (!strcmp(argv[i], "--data") && i + 1 < argc)
            data = argv[++i];
        else {
            fprintf(stderr, "usage: bench_ltv [--reps N] [--n N] [--seed S] [--dump DIR] "
                            "[--data DIR]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > MAX_REPS || n < 1) {
        fprintf(stderr, "bench_ltv: --reps must be 1..%d and --n >= 1\n", MAX_REPS);
        return 2;
    }
    if (bench_cdnow(data, reps, dump_dir) != 0 || bench_sim(n, seed, reps, dump_dir) != 0) {
        fprintf(stderr, "bench_ltv: failed\n");
        return 1;
    }
    return 0;
}
