/*
 * Lifecycle per period, PostHog definitions (REFERENCE.md §3.3 [PH-life]).
 *
 * With p(t) the calendar period of instant t, A the set of periods in which
 * the person has an activity event, and F = p(first activity ever), where
 * the first activity is min(first_seen_us, first event given) and may lie
 * before the calendar (then F < every period), for each reported period t:
 *   new           t in A and F == t
 *   returning     t in A, F < t and t-1 in A
 *   resurrecting  t in A, F < t and t-1 not in A (so active before t-1)
 *   dormant       t not in A and t-1 in A, reported as a negative count.
 * Each active person-period is exactly one of new/returning/resurrecting.
 * Events outside the calendar only matter through F.
 *
 * Cost: one calendar lookup per event, O(events) overall. Units: µs.
 */
#include "model/lifecycle.h"

#include <stdlib.h>
#include <string.h>

struct tally {
    int32_t lo, hi;           /* reported periods [lo, hi) */
    struct lifecycle_result *res;
};

static void count(struct tally *t, int64_t *arr, int32_t period, int64_t delta)
{
    if (period >= t->lo && period < t->hi)
        arr[period - t->lo] += delta;
}

static void person(struct tally *t, const struct calendar *cal, enum calendar_unit u,
                   const int64_t *ts, int32_t n, int64_t first_seen)
{
    int64_t first = n > 0 && ts[0] < first_seen ? ts[0] : first_seen;
    int32_t fp = calendar_period_of(cal, u, first);
    int32_t prev = INT32_MIN; /* last active period seen */
    int64_t lo = 0, hi = 0;   /* its span: sorted events inside skip the lookup */
    struct lifecycle_result *r = t->res;
    for (int32_t i = 0; i < n; i++) {
        if (ts[i] >= lo && ts[i] < hi)
            continue;
        int32_t p = calendar_period_of(cal, u, ts[i]);
        if (p < 0 || p >= t->hi || p == prev)
            continue;
        calendar_period_span(cal, u, p, &lo, &hi);
        if (prev != INT32_MIN && prev + 1 < p)
            count(t, r->n_dormant, prev + 1, -1);
        if (p == fp)
            count(t, r->n_new, p, 1);
        else if (prev == p - 1)
            count(t, r->n_returning, p, 1);
        else
            count(t, r->n_resurrecting, p, 1);
        prev = p;
    }
    if (prev != INT32_MIN)
        count(t, r->n_dormant, prev + 1, -1);
}

static bool sorted(const struct lifecycle_events *ev)
{
    for (size_t i = 0; i < ev->n_persons; i++) {
        int64_t a = ev->person_off[i], b = ev->person_off[i + 1];
        if (b < a || b - a > INT32_MAX)
            return false;
        int bad = 0; /* no early exit: the loop vectorises */
        for (int64_t j = a + 1; j < b; j++)
            bad |= ev->ts[j] < ev->ts[j - 1];
        if (bad)
            return false;
    }
    return true;
}

bool lifecycle_compute(const struct calendar *cal, const struct lifecycle_params *params,
                       const struct lifecycle_events *ev, struct lifecycle_result *res)
{
    memset(res, 0, sizeof *res);
    enum calendar_unit u = params->unit;
    if (u != CALENDAR_DAY && u != CALENDAR_WEEK && u != CALENDAR_MONTH)
        return false;
    int32_t np = calendar_periods(cal, u)->n;
    if (params->first_period < 1 || params->first_period >= np || !ev->person_off ||
        !sorted(ev))
        return false;
    size_t rows = (size_t)(np - params->first_period);
    res->first_period = params->first_period;
    res->n_periods = (int32_t)rows;
    res->n_new = calloc(rows, sizeof *res->n_new);
    res->n_returning = calloc(rows, sizeof *res->n_returning);
    res->n_resurrecting = calloc(rows, sizeof *res->n_resurrecting);
    res->n_dormant = calloc(rows, sizeof *res->n_dormant);
    if (!res->n_new || !res->n_returning || !res->n_resurrecting || !res->n_dormant) {
        lifecycle_result_free(res);
        return false;
    }
    struct tally t = {params->first_period, np, res};
    for (size_t i = 0; i < ev->n_persons; i++) {
        int64_t off = ev->person_off[i];
        int32_t n = (int32_t)(ev->person_off[i + 1] - off);
        int64_t fs = ev->first_seen_us ? ev->first_seen_us[i] : INT64_MAX;
        if (n > 0 || fs != INT64_MAX)
            person(&t, cal, u, ev->ts + off, n, fs);
    }
    return true;
}

void lifecycle_result_free(struct lifecycle_result *res)
{
    if (!res)
        return;
    free(res->n_new);
    free(res->n_returning);
    free(res->n_resurrecting);
    free(res->n_dormant);
    memset(res, 0, sizeof *res);
}
