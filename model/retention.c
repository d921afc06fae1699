/*
 * Cohort retention on calendar periods.
 *
 * Definitions (DESIGN.md §5 "Retention", REFERENCE.md §3.2; PostHog
 * retention_first_time / retention_recurring, Amplitude "on" and "on or
 * after" [AMP-calc], Mixpanel retention criteria [MP-crit]):
 * - Period index p(t) = the calendar period (local day, week or month)
 *   containing instant t (model/calendar.c).
 * - First-time cohort: c = p(first-ever start event). If that instant lies
 *   before the calendar (before `from`) or beyond the cohort periods, the
 *   person is in no cohort of the query. Recurring: every distinct period c
 *   holding a start event is one cohort entry.
 * - n_day: the entry counts in column N >= 1 if a return event falls in
 *   period c+N. unbounded: if a return event falls in period c+N or later,
 *   i.e. the latest return period r_max >= c+N; non-increasing in N.
 * - Column 0 is the cohort size, whatever the return event.
 * - Censoring: cell (c, N) is complete iff period c+N lies in the calendar,
 *   its end is known and end <= now. Incomplete cells still show the
 *   returns seen so far but never enter the averages.
 * - avg[N] = sum of retained over complete cells / sum of sizes over the
 *   same cohorts (weighted by cohort size); avg_simple[N] = mean of the
 *   per-cohort rates (PostHog "simple"). NaN when no complete cohort.
 *
 * Cost: one pass over the events, one calendar lookup each (O(1)); per
 * person the distinct return periods, so O(events + entries x n_periods)
 * for recurring n_day and O(events) otherwise (unbounded rows use a
 * difference array). Units: µs.
 */
#include "model/retention.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct acc {
    const struct retention_params *p;
    struct retention_result *res;
    int64_t *diff;     /* unbounded: n_cohorts x (n_periods + 1) */
    int32_t *ret_p;    /* distinct return periods of the current person */
    int32_t *start_p;  /* distinct start periods of the current person */
};

/* Count one cohort entry (person in cohort c with return periods r[0..nr)). */
static void add_entry(struct acc *a, int32_t c, const int32_t *r, int32_t nr)
{
    struct retention_result *res = a->res;
    int32_t np = res->n_periods;
    res->size[c]++;
    if (a->p->mode == RETENTION_UNBOUNDED) {
        if (nr == 0 || r[nr - 1] <= c)
            return;
        int64_t hi = (int64_t)r[nr - 1] - c;
        if (hi > np - 1)
            hi = np - 1;
        int64_t *row = a->diff + (size_t)c * (size_t)(np + 1);
        if (hi >= 1) {
            row[1]++;
            row[hi + 1]--;
        }
        return;
    }
    int64_t *row = res->retained + (size_t)c * (size_t)np;
    for (int32_t i = 0; i < nr; i++) {
        int64_t n = (int64_t)r[i] - c;
        if (n >= np)
            break;
        if (n >= 1)
            row[n]++;
    }
}

/* Distinct in-calendar periods of the events with role bit `bit`. Events
 * are sorted, so while ts stays inside the last period found no lookup is
 * needed. */
static int32_t periods_with(const struct calendar *cal, enum calendar_unit u,
                            const int64_t *ts, const uint8_t *role, int32_t n,
                            unsigned bit, int32_t *out)
{
    int32_t np = calendar_periods(cal, u)->n, k = 0;
    int64_t lo = 0, hi = 0; /* span of the last period found (empty) */
    for (int32_t i = 0; i < n; i++) {
        if (!(role[i] & bit) || (ts[i] >= lo && ts[i] < hi))
            continue;
        int32_t p = calendar_period_of(cal, u, ts[i]);
        if (p < 0 || p >= np)
            continue;
        out[k++] = p;
        calendar_period_span(cal, u, p, &lo, &hi);
    }
    return k;
}

static void person(struct acc *a, const struct calendar *cal, const struct retention_events *ev,
                   size_t i)
{
    const struct retention_params *p = a->p;
    int64_t off = ev->person_off[i];
    int32_t n = (int32_t)(ev->person_off[i + 1] - off);
    const int64_t *ts = ev->ts + off;
    const uint8_t *role = ev->role + off;
    int32_t nr = periods_with(cal, p->unit, ts, role, n, RETENTION_RETURN, a->ret_p);
    if (p->cohort == RETENTION_RECURRING) {
        int32_t ns = periods_with(cal, p->unit, ts, role, n, RETENTION_START, a->start_p);
        int32_t j = 0;
        for (int32_t k = 0; k < ns && a->start_p[k] < p->n_cohorts; k++) {
            int32_t c = a->start_p[k];
            while (j < nr && a->ret_p[j] <= c)
                j++;
            add_entry(a, c, a->ret_p + j, nr - j);
        }
        return;
    }
    int64_t first = RETENTION_NEVER;
    if (ev->first_start_us) {
        first = ev->first_start_us[i];
    } else {
        for (int32_t k = 0; k < n && first == RETENTION_NEVER; k++)
            if (role[k] & RETENTION_START)
                first = ts[k];
    }
    if (first == RETENTION_NEVER)
        return;
    int32_t c = calendar_period_of(cal, p->unit, first);
    if (c >= 0 && c < p->n_cohorts)
        add_entry(a, c, a->ret_p, nr);
}

static bool valid(const struct calendar *cal, const struct retention_params *p,
                  const struct retention_events *ev, size_t *max_n)
{
    if (p->unit != CALENDAR_DAY && p->unit != CALENDAR_WEEK && p->unit != CALENDAR_MONTH)
        return false;
    if (p->cohort != RETENTION_FIRST_TIME && p->cohort != RETENTION_RECURRING)
        return false;
    if (p->mode != RETENTION_N_DAY && p->mode != RETENTION_UNBOUNDED)
        return false;
    if (p->n_cohorts < 1 || p->n_cohorts > calendar_periods(cal, p->unit)->n ||
        p->n_periods < 1)
        return false;
    if (!ev->person_off || ev->person_off[0] < 0)
        return false;
    *max_n = 0;
    for (size_t i = 0; i < ev->n_persons; i++) {
        int64_t a = ev->person_off[i], b = ev->person_off[i + 1];
        if (b < a || b - a > INT32_MAX)
            return false;
        if ((size_t)(b - a) > *max_n)
            *max_n = (size_t)(b - a);
        int bad = 0; /* no early exit: the loop vectorises */
        for (int64_t j = a + 1; j < b; j++)
            bad |= ev->ts[j] < ev->ts[j - 1];
        if (bad)
            return false;
    }
    return *max_n == 0 || (ev->ts && ev->role);
}

static bool alloc_result(struct retention_result *r, const struct retention_params *p)
{
    size_t cells = (size_t)p->n_cohorts * (size_t)p->n_periods;
    r->unit = p->unit;
    r->n_cohorts = p->n_cohorts;
    r->n_periods = p->n_periods;
    r->size = calloc((size_t)p->n_cohorts, sizeof *r->size);
    r->retained = calloc(cells, sizeof *r->retained);
    r->complete = calloc(cells, sizeof *r->complete);
    r->avg = calloc((size_t)p->n_periods, sizeof *r->avg);
    r->avg_simple = calloc((size_t)p->n_periods, sizeof *r->avg_simple);
    r->n_complete = calloc((size_t)p->n_periods, sizeof *r->n_complete);
    return r->size && r->retained && r->complete && r->avg && r->avg_simple && r->n_complete;
}

/* Column 0, unbounded prefix sums, completeness and the average curves. */
static void finish(struct retention_result *r, const struct calendar *cal,
                   const struct retention_params *p, const int64_t *diff)
{
    const struct calendar_periods *per = calendar_periods(cal, p->unit);
    int32_t np = r->n_periods;
    for (int32_t c = 0; c < r->n_cohorts; c++) {
        int64_t *row = r->retained + (size_t)c * (size_t)np;
        row[0] = r->size[c];
        int64_t run = 0;
        for (int32_t n = 1; diff && n < np; n++) {
            run += diff[(size_t)c * (size_t)(np + 1) + (size_t)n];
            row[n] = run;
        }
        for (int32_t n = 0; n < np; n++) {
            int64_t q = (int64_t)c + n;
            r->complete[(size_t)c * (size_t)np + (size_t)n] =
                q < per->n && per->end[q] != CALENDAR_NO_END && per->end[q] <= p->now_us;
        }
    }
    for (int32_t n = 0; n < np; n++) {
        int64_t num = 0, den = 0;
        double rate_sum = 0;
        int32_t m = 0, rated = 0;
        for (int32_t c = 0; c < r->n_cohorts; c++) {
            size_t i = (size_t)c * (size_t)np + (size_t)n;
            if (!r->complete[i])
                continue;
            m++;
            num += r->retained[i];
            den += r->size[c];
            if (r->size[c] > 0) {
                rate_sum += (double)r->retained[i] / (double)r->size[c];
                rated++;
            }
        }
        r->n_complete[n] = m;
        r->avg[n] = den > 0 ? (double)num / (double)den : NAN;
        r->avg_simple[n] = rated > 0 ? rate_sum / rated : NAN;
    }
}

bool retention_compute(const struct calendar *cal, const struct retention_params *params,
                       const struct retention_events *ev, struct retention_result *res)
{
    memset(res, 0, sizeof *res);
    size_t max_n = 0;
    if (!valid(cal, params, ev, &max_n))
        return false;
    struct acc a = {params, res, NULL, NULL, NULL};
    bool ok = alloc_result(res, params);
    if (ok && params->mode == RETENTION_UNBOUNDED) {
        size_t nd = (size_t)params->n_cohorts * ((size_t)params->n_periods + 1);
        a.diff = calloc(nd, sizeof *a.diff);
        ok = a.diff != NULL;
    }
    a.ret_p = malloc((max_n + 1) * sizeof *a.ret_p);
    a.start_p = malloc((max_n + 1) * sizeof *a.start_p);
    ok = ok && a.ret_p && a.start_p;
    for (size_t i = 0; ok && i < ev->n_persons; i++)
        person(&a, cal, ev, i);
    if (ok)
        finish(res, cal, params, a.diff);
    free(a.diff);
    free(a.ret_p);
    free(a.start_p);
    if (!ok)
        retention_result_free(res);
    return ok;
}

void retention_result_free(struct retention_result *res)
{
    if (!res)
        return;
    free(res->size);
    free(res->retained);
    free(res->complete);
    free(res->avg);
    free(res->avg_simple);
    free(res->n_complete);
    memset(res, 0, sizeof *res);
}

void retention_roles_from_ids(const int32_t *ev, size_t n, int32_t start_ev,
                              int32_t return_ev, uint8_t *role_out)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t r = 0;
        if (start_ev == RETENTION_ANY_EVENT || ev[i] == start_ev)
            r |= RETENTION_START;
        if (return_ev == RETENTION_ANY_EVENT || ev[i] == return_ev)
            r |= RETENTION_RETURN;
        role_out[i] = r;
    }
}

static double column(const struct retention_result *res, int n)
{
    if (res->unit != CALENDAR_DAY || n >= res->n_periods)
        return NAN;
    return res->avg[n];
}

void retention_dn(const struct retention_result *res, struct retention_dn *out)
{
    out->d1 = column(res, 1);
    out->d3 = column(res, 3);
    out->d7 = column(res, 7);
    out->d30 = column(res, 30);
}
