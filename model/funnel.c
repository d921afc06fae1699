/*
 * Conversion funnels: validation, aggregation and time-to-convert
 * statistics around the per-person engine (model/funnel_engine.c).
 *
 * Semantics (DESIGN.md §5, REFERENCE.md §3.1; full text with SQL in
 * docs/semantics-analytics.md). A person's events are taken in the given
 * order (ts, then ingest sequence). An attempt of depth d is a chain of
 * distinct events e_0 < e_1 < .. < e_{d-1} (positions) where e_k matches
 * step k, e_0 has ts in [from, to), ts(e_{d-1}) - ts(e_0) <= window and, with
 * per-step windows, ts(e_k) - ts(e_{k-1}) <= step_window[k]. Equal
 * timestamps may fill consecutive steps in stored order. The person counts at
 * the deepest d of any attempt (ClickHouse windowFunnel, PostHog ordered
 * funnels); the counted attempt is the one with the earliest e_0 among those
 * reaching d (Amplitude's "earliest" rule, DESIGN.md), and its step instants
 * are the lexicographically earliest valid chain from that e_0 (the greedy
 * earliest chain when there are no per-step windows or exclusions). Strict:
 * e_{k+1} is the event right after e_k. Unordered: depth = most steps matched
 * to distinct events within the window of an anchor event.
 *
 * Exclusion j (steps f to t) forbids an exclusion event strictly between e_f
 * and e_t (an event that is itself one of the chain's steps does not count);
 * this splits into one check per gap (e_k, e_{k+1}), f <= k < t. A chain that
 * stops at level L with f <= L < t is also hit when such an event follows
 * e_L inside its window (the "tail"). Drop mode (PostHog): the person counts
 * at the overall deepest d only if a clean chain of depth d exists, else
 * leaves the funnel. Keep-prior mode (Mixpanel): depth is the deepest chain
 * whose gaps are clean; the tail does not matter.
 *
 * Statistics: per (breakdown, step) the durations from the previous step and
 * from step 1 of every counted person; mean from an exact integer sum, median
 * by selection (even count: mean of the two middle values). Units: µs.
 */
#include "model/funnel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/funnel_engine.h"

/* ---- driver ------------------------------------------------------------ */

static const char *check_params(const struct funnel_params *p)
{
    if (p->n_steps < 1 || p->n_steps > FUNNEL_MAX_STEPS)
        return "n_steps must be 1..20";
    if (p->order != FUNNEL_ORDERED && p->order != FUNNEL_STRICT &&
        p->order != FUNNEL_UNORDERED)
        return "unknown funnel order";
    if (p->window_us < 0)
        return "window must be >= 0";
    if (p->n_breakdowns < 1)
        return "n_breakdowns must be >= 1";
    if (p->n_exclusions < 0 || p->n_exclusions > FUNNEL_MAX_EXCLUSIONS)
        return "at most 32 exclusions";
    if (p->n_exclusions > 0 && !p->exclusions)
        return "exclusions missing";
    if (p->exclusion_mode != FUNNEL_EXCL_DROP_PERSON &&
        p->exclusion_mode != FUNNEL_EXCL_KEEP_PRIOR)
        return "unknown exclusion mode";
    for (int j = 0; j < p->n_exclusions; j++) {
        const struct funnel_exclusion *x = &p->exclusions[j];
        if (x->from_step < 0 || x->to_step <= x->from_step || x->to_step >= p->n_steps)
            return "exclusion steps must satisfy 0 <= from < to < n_steps";
    }
    if (p->order == FUNNEL_UNORDERED && (p->n_exclusions > 0 || p->step_window_us))
        return "unordered funnels take neither exclusions nor per-step windows";
    for (int k = 1; p->step_window_us && k < p->n_steps; k++)
        if (p->step_window_us[k] < 0 && p->step_window_us[k] != FUNNEL_NO_LIMIT)
            return "per-step window must be >= 0 or FUNNEL_NO_LIMIT";
    return NULL;
}

static void build_ctx(const struct funnel_params *p, struct funnel_ctx *c)
{
    memset(c, 0, sizeof *c);
    c->K = p->n_steps;
    c->order = p->order;
    c->from = p->from_us;
    c->to = p->to_us;
    c->W = p->window_us;
    c->drop = p->exclusion_mode == FUNNEL_EXCL_DROP_PERSON;
    c->full = (1u << p->n_steps) - 1;
    for (int k = 0; k < FUNNEL_MAX_STEPS; k++) {
        bool lim = p->step_window_us && k >= 1 && k < p->n_steps &&
                   p->step_window_us[k] != FUNNEL_NO_LIMIT;
        c->sw[k] = lim ? p->step_window_us[k] : FUNNEL_UNLIMITED;
        c->has_step_windows |= lim;
    }
    for (int j = 0; j < p->n_exclusions; j++)
        for (int k = p->exclusions[j].from_step; k < p->exclusions[j].to_step; k++)
            c->gapx[k] |= 1u << j;
    for (int k = 0; k < p->n_steps; k++)
        c->anyx |= c->gapx[k];
}

/* Offsets must be non-decreasing and per-person counts fit in int32. The
 * time order within a person is checked as each person is evaluated. */
static const char *check_offsets(const struct funnel_events *ev)
{
    if (!ev->person_off || (ev->person_off[ev->n_persons] > 0 && (!ev->ts || !ev->step_mask)))
        return "events missing";
    if (ev->person_off[0] < 0)
        return "person offsets must start at >= 0";
    for (size_t i = 0; i < ev->n_persons; i++) {
        int64_t a = ev->person_off[i], b = ev->person_off[i + 1];
        if (b < a || b - a > INT32_MAX)
            return "person offsets must be non-decreasing";
    }
    return NULL;
}

static bool time_sorted(const int64_t *ts, int32_t n)
{
    int bad = 0; /* no early exit: the loop vectorises */
    for (int32_t j = 1; j < n; j++)
        bad |= ts[j] < ts[j - 1];
    return !bad;
}

static bool times_push(struct funnel_cell *cell, size_t *cap, int64_t prev, int64_t first)
{
    if (cell->n_times == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        int64_t *a = realloc(cell->from_prev_us, nc * sizeof *a);
        if (a)
            cell->from_prev_us = a;
        int64_t *b = realloc(cell->from_first_us, nc * sizeof *b);
        if (b)
            cell->from_first_us = b;
        if (!a || !b)
            return false;
        *cap = nc;
    }
    cell->from_prev_us[cell->n_times] = prev;
    cell->from_first_us[cell->n_times] = first;
    cell->n_times++;
    return true;
}

/* Add one counted person to the result; false on OOM. */
static bool record(struct funnel_result *res, size_t *caps, int32_t b, const struct funnel_pick *pk)
{
    struct funnel_cell *row = res->cell + (size_t)b * (size_t)res->n_steps;
    size_t *cap = caps + (size_t)b * (size_t)res->n_steps;
    for (int k = 0; k < pk->depth; k++) {
        row[k].count++;
        if (k > 0 && !times_push(&row[k], &cap[k], pk->t[k] - pk->t[k - 1], pk->t[k] - pk->t[0]))
            return false;
    }
    return true;
}

static const char *run_persons(const struct funnel_ctx *c, const struct funnel_events *ev,
                               struct funnel_result *res, size_t *caps, struct funnel_scratch *s,
                               int8_t *person_depth, int32_t *person_bd)
{
    for (size_t i = 0; i < ev->n_persons; i++) {
        int64_t off = ev->person_off[i];
        struct funnel_person pp = {(int32_t)(ev->person_off[i + 1] - off), ev->ts + off,
                            ev->step_mask + off, ev->excl_mask ? ev->excl_mask + off : NULL};
        if (!time_sorted(pp.ts, pp.n))
            return "events must be sorted by time within a person";
        struct funnel_pick pk; /* t[] is only read below depth */
        pk.depth = 0;
        pk.start = -1;
        enum funnel_status st = pp.n > 0 ? funnel_person_pick(c, &pp, s, &pk) : FUNNEL_ST_OK;
        if (st != FUNNEL_ST_OK)
            return st == FUNNEL_ST_OOM ? "out of memory"
                                       : "internal error: no chain for the counted attempt";
        int32_t b = -1;
        if (pk.depth > 0) {
            b = ev->breakdown ? ev->breakdown[off + pk.start] : 0;
            if (b < 0 || b >= res->n_breakdowns)
                return "breakdown id out of range";
            if (!record(res, caps, b, &pk))
                return "out of memory";
        }
        if (pk.depth < 0)
            res->n_dropped++;
        if (person_depth)
            person_depth[i] = (int8_t)pk.depth;
        if (person_bd)
            person_bd[i] = b;
    }
    return NULL;
}

bool funnel_run(const struct funnel_params *params, const struct funnel_events *ev,
                struct funnel_result *res, int8_t *person_depth, int32_t *person_breakdown)
{
    memset(res, 0, sizeof *res);
    size_t *caps = NULL;
    struct funnel_scratch *s = NULL;
    const char *why = check_params(params);
    if (!why && params->n_exclusions > 0 && !ev->excl_mask)
        why = "excl_mask missing";
    if (!why)
        why = check_offsets(ev);
    if (why)
        goto fail;
    struct funnel_ctx c;
    build_ctx(params, &c);
    size_t ncell = (size_t)params->n_breakdowns * (size_t)params->n_steps;
    res->n_steps = params->n_steps;
    res->n_breakdowns = params->n_breakdowns;
    res->cell = calloc(ncell, sizeof *res->cell);
    caps = calloc(ncell, sizeof *caps);
    why = "out of memory";
    if (!res->cell || !caps || !(s = funnel_scratch_new(64)))
        goto fail;
    if ((why = run_persons(&c, ev, res, caps, s, person_depth, person_breakdown)))
        goto fail;
    for (size_t i = 0; i < ncell; i++) {
        struct funnel_cell *cl = &res->cell[i];
        funnel_duration_stats(cl->from_prev_us, cl->n_times, &cl->mean_from_prev_us,
                              &cl->median_from_prev_us);
        funnel_duration_stats(cl->from_first_us, cl->n_times, &cl->mean_from_first_us,
                              &cl->median_from_first_us);
    }
    free(caps);
    funnel_scratch_free(s);
    return true;
fail:
    free(caps);
    funnel_scratch_free(s);
    funnel_result_free(res);
    res->error = why;
    return false;
}

void funnel_result_free(struct funnel_result *res)
{
    if (!res)
        return;
    size_t ncell = (size_t)res->n_breakdowns * (size_t)res->n_steps;
    for (size_t i = 0; res->cell && i < ncell; i++) {
        free(res->cell[i].from_prev_us);
        free(res->cell[i].from_first_us);
    }
    free(res->cell);
    memset(res, 0, sizeof *res);
}

/* ---- exact mean and median --------------------------------------------- */

/* Place the k-th smallest of v[0..n) at v[k] (Hoare selection). */
static void select_kth(int64_t *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    uint64_t x = 0x9E3779B97F4A7C15u;
    while (lo < hi) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t piv = v[lo + (size_t)(x % (hi - lo + 1))];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < piv)
                i++;
            while (v[j] > piv)
                j--;
            if (i <= j) {
                int64_t t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

void funnel_duration_stats(int64_t *v, size_t n, double *mean, double *median)
{
    if (n == 0) {
        *mean = NAN;
        *median = NAN;
        return;
    }
    /* Exact sum as whole seconds plus remainders: neither part can overflow
     * for any realistic n (|v| < 2^63, n < 2^40). */
    int64_t sec = 0, rem = 0;
    for (size_t i = 0; i < n; i++) {
        sec += v[i] / 1000000;
        rem += v[i] % 1000000;
    }
    *mean = ((double)sec / (double)n) * 1e6 + (double)rem / (double)n;
    size_t k = (n - 1) / 2;
    select_kth(v, n, k);
    if (n % 2) {
        *median = (double)v[k];
        return;
    }
    int64_t nxt = v[k + 1];
    for (size_t i = k + 2; i < n; i++)
        if (v[i] < nxt)
            nxt = v[i];
    *median = ((double)v[k] + (double)nxt) / 2.0;
}
