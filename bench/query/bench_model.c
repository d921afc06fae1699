/*
 * Micro benchmark of the behavioural-analytics model layer on synthetic data:
 * 10M events for 1M persons held in memory (columnar, grouped by person and
 * time-sorted, as the server's in-memory copy or a COPY stream provides).
 * Times the ordered 4-step funnel (14-day window), the 30-day first-time
 * retention table, DAU/WAU/MAU and the daily lifecycle; prints the median
 * of REPS runs of each. Not built by the Makefile:
 *
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I. bench/query/bench_model.c \
 *      model/funnel.c model/funnel_engine.c model/funnel_modes.c model/retention.c \
 *      model/calendar.c model/activity.c model/lifecycle.c -lm -o build/bench_model
 *   build/bench_model [persons] [events_per_person]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/activity.h"
#include "model/calendar.h"
#include "model/funnel.h"
#include "model/lifecycle.h"
#include "model/retention.h"

#define REPS 5
#define N_DAYS 60

static uint64_t rng = 0x853C49E6748FEA9Bu;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct data {
    size_t np, ne;
    int64_t *off, *ts;
    uint32_t *mask;
    uint8_t *role;
};

/* Events per person uniform in [1, 2*epp-1]; event names 0..9 with skew:
 * name k < 4 is funnel step k (30/20/10/5 % of events). Times: a person's
 * first event uniform over 60 days, then gaps of 0..48 h. */
static void generate(struct data *d, size_t np, int epp, int64_t day0)
{
    d->np = np;
    d->off = malloc((np + 1) * sizeof *d->off);
    size_t cap = np * (size_t)epp * 2;
    d->ts = malloc(cap * sizeof *d->ts);
    d->mask = malloc(cap * sizeof *d->mask);
    d->role = malloc(cap * sizeof *d->role);
    if (!d->off || !d->ts || !d->mask || !d->role) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    size_t e = 0;
    for (size_t i = 0; i < np; i++) {
        d->off[i] = (int64_t)e;
        int n = 1 + (int)(next() % (uint64_t)(2 * epp - 1));
        int64_t t = day0 + (int64_t)(next() % (uint64_t)(N_DAYS * CALENDAR_DAY_US));
        for (int k = 0; k < n; k++) {
            uint64_t r = next() % 100;
            int name = r < 30 ? 0 : r < 50 ? 1 : r < 60 ? 2 : r < 65 ? 3 : 4;
            d->ts[e] = t;
            d->mask[e] = name < 4 ? 1u << name : 0;
            d->role[e] = RETENTION_START | RETENTION_RETURN;
            e++;
            t += (int64_t)(next() % (48 * 3600)) * 1000000;
        }
    }
    d->off[np] = (int64_t)e;
    d->ne = e;
}

int main(int argc, char **argv)
{
    size_t np = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    int epp = argc > 2 ? atoi(argv[2]) : 10;
    int64_t day0 = (int64_t)calendar_days_from_civil(2026, 3, 1) * CALENDAR_DAY_US;
    struct data d;
    double t0 = now_ms();
    generate(&d, np, epp, day0);
    printf("generated %zu events for %zu persons in %.0f ms\n", d.ne, np, now_ms() - t0);

    /* Calendar in Asia/Shanghai (UTC+8): 90 local days from 2026-03-01. */
    int64_t mn[91];
    for (int i = 0; i <= 90; i++)
        mn[i] = day0 + i * CALENDAR_DAY_US - 8 * 3600 * INT64_C(1000000);
    struct calendar cal;
    if (!calendar_init(&cal, mn, 90, 2026, 3, 1, CALENDAR_WEEK_MONDAY))
        return 1;

    double tf[REPS], tr[REPS], ta[REPS], tl[REPS];
    int64_t conv[4] = {0};
    double med = 0;
    for (int rep = 0; rep < REPS; rep++) {
        struct funnel_params fp = {4, FUNNEL_ORDERED, day0, day0 + 30 * CALENDAR_DAY_US,
                                   14 * CALENDAR_DAY_US, NULL, 0, NULL,
                                   FUNNEL_EXCL_DROP_PERSON, 1};
        struct funnel_events fe = {np, d.off, d.ts, d.mask, NULL, NULL};
        struct funnel_result fr;
        t0 = now_ms();
        if (!funnel_run(&fp, &fe, &fr, NULL, NULL))
            return 1;
        tf[rep] = now_ms() - t0;
        for (int k = 0; k < 4; k++)
            conv[k] = fr.cell[k].count;
        med = fr.cell[3].median_from_first_us / 3.6e9;
        funnel_result_free(&fr);

        struct retention_params rp = {CALENDAR_DAY, RETENTION_FIRST_TIME, RETENTION_N_DAY, 30, 31,
                                      mn[90]};
        struct retention_events re = {np, d.off, d.ts, d.role, NULL};
        struct retention_result rr;
        t0 = now_ms();
        if (!retention_compute(&cal, &rp, &re, &rr))
            return 1;
        tr[rep] = now_ms() - t0;
        if (rep == 0)
            printf("retention: cohort 0 size %lld, d1 %.4f, d7 %.4f\n",
                   (long long)rr.size[0], rr.avg[1], rr.avg[7]);
        retention_result_free(&rr);

        int32_t w[3] = {1, 7, 30};
        struct activity_result ar;
        t0 = now_ms();
        if (!activity_compute(&cal, np, d.off, d.ts, w, 3, &ar))
            return 1;
        ta[rep] = now_ms() - t0;
        activity_result_free(&ar);

        struct lifecycle_params lp = {CALENDAR_DAY, 1};
        struct lifecycle_events le = {np, d.off, d.ts, NULL};
        struct lifecycle_result lr;
        t0 = now_ms();
        if (!lifecycle_compute(&cal, &lp, &le, &lr))
            return 1;
        tl[rep] = now_ms() - t0;
        lifecycle_result_free(&lr);
    }
    printf("funnel counts %lld %lld %lld %lld, median step1->4 %.2f h\n", (long long)conv[0],
           (long long)conv[1], (long long)conv[2], (long long)conv[3], med);
    printf("ordered 4-step funnel:      median %7.1f ms over %d runs\n", median(tf, REPS), REPS);
    printf("30-day retention (daily):   median %7.1f ms\n", median(tr, REPS));
    printf("DAU/WAU/MAU (90 days):      median %7.1f ms\n", median(ta, REPS));
    printf("lifecycle (daily):          median %7.1f ms\n", median(tl, REPS));
    calendar_cleanup(&cal);
    free(d.off);
    free(d.ts);
    free(d.mask);
    free(d.role);
    return 0;
}
