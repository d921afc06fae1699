/*
 * Unit tests for model/funnel.
 *
 * Hand cases: every expected value is worked out in the comment next to it
 * from the rules in docs/semantics-analytics.md. Randomised case: thousands
 * of small persons are run through funnel_run and through a deliberately
 * naive reference in this file that enumerates every chain of events (and,
 * for unordered funnels, every assignment of steps to events) and applies
 * the rules literally: the second, independent computation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "model/funnel.h"

/* ---- one-person helper ---------------------------------------------------- */

struct one {
    int n;
    int64_t ts[16];
    uint32_t mask[16];
    uint32_t xm[16];
    int32_t bd[16];
};

struct outcome {
    int depth;
    int32_t bd;
    int64_t prev[FUNNEL_MAX_STEPS];  /* from_prev per step (k >= 1) */
    int64_t first[FUNNEL_MAX_STEPS];
    int64_t dropped;
};

static struct funnel_params params(int k, int64_t window)
{
    struct funnel_params p;
    memset(&p, 0, sizeof p);
    p.n_steps = k;
    p.order = FUNNEL_ORDERED;
    p.from_us = 0;
    p.to_us = 1000;
    p.window_us = window;
    p.n_breakdowns = 16;
    return p;
}

static struct outcome run_one(const struct funnel_params *p, const struct one *o)
{
    int64_t off[2] = {0, o->n};
    struct funnel_events ev = {1, off, o->ts, o->mask, p->n_exclusions ? o->xm : NULL, o->bd};
    struct funnel_result res;
    int8_t depth;
    int32_t bd;
    struct outcome out;
    memset(&out, 0, sizeof out);
    bool ok = funnel_run(p, &ev, &res, &depth, &bd);
    if (!ok) {
        print_message("funnel_run: %s; K %d order %d W %lld from %lld to %lld nx %d mode %d\n",
                      res.error, p->n_steps, p->order, (long long)p->window_us,
                      (long long)p->from_us, (long long)p->to_us, p->n_exclusions, p->exclusion_mode);
        for (int j = 0; j < p->n_exclusions; j++)
            print_message("  excl %d..%d\n", p->exclusions[j].from_step, p->exclusions[j].to_step);
        for (int k = 0; p->step_window_us && k < p->n_steps; k++)
            print_message("  sw[%d] = %lld\n", k, (long long)p->step_window_us[k]);
        for (int e = 0; e < o->n; e++)
            print_message("  ev ts %lld mask %u x %u\n", (long long)o->ts[e], o->mask[e], o->xm[e]);
    }
    assert_true(ok);
    out.depth = depth;
    out.bd = bd;
    out.dropped = res.n_dropped;
    for (int k = 1; depth > 0 && k < depth; k++) {
        const struct funnel_cell *c = &res.cell[bd * res.n_steps + k];
        assert_int_equal(c->n_times, 1);
        out.prev[k] = c->from_prev_us[0];
        out.first[k] = c->from_first_us[0];
    }
    funnel_result_free(&res);
    return out;
}

/* Append an event; bd = its position, so the breakdown reveals the start. */
static void ev_add(struct one *o, int64_t ts, uint32_t mask, uint32_t xm)
{
    o->ts[o->n] = ts;
    o->mask[o->n] = mask;
    o->xm[o->n] = xm;
    o->bd[o->n] = o->n;
    o->n++;
}

#define A 1u
#define B 2u
#define C 4u

/* ---- hand cases ------------------------------------------------------------ */

static void test_equal_timestamps(void **state)
{
    (void)state;
    struct funnel_params p = params(2, 10);
    /* A@5 then B@5 in stored order: B is at or after A, depth 2, time 0. */
    struct one o = {0};
    ev_add(&o, 5, A, 0);
    ev_add(&o, 5, B, 0);
    struct outcome r = run_one(&p, &o);
    assert_int_equal(r.depth, 2);
    assert_int_equal(r.prev[1], 0);
    /* B@5 stored before A@5: ties follow the stored order, depth 1. */
    struct one o2 = {0};
    ev_add(&o2, 5, B, 0);
    ev_add(&o2, 5, A, 0);
    assert_int_equal(run_one(&p, &o2).depth, 1);
}

static void test_window_edge(void **state)
{
    (void)state;
    struct funnel_params p = params(2, 100);
    /* B exactly 100 µs after A: inclusive, converts in 100 µs. */
    struct one o = {0};
    ev_add(&o, 10, A, 0);
    ev_add(&o, 110, B, 0);
    struct outcome r = run_one(&p, &o);
    assert_int_equal(r.depth, 2);
    assert_int_equal(r.prev[1], 100);
    /* 1 µs beyond: depth 1. */
    o.ts[1] = 111;
    assert_int_equal(run_one(&p, &o).depth, 1);
}

static void test_repeated_step(void **state)
{
    (void)state;
    /* Funnel A, A, B: an A event matches steps 0 and 1 (mask 0b011). */
    struct funnel_params p = params(3, 100);
    struct one o = {0};
    ev_add(&o, 0, A | B, 0);
    ev_add(&o, 1, C, 0);
    /* One A cannot be both step 1 and step 2: depth 1. */
    assert_int_equal(run_one(&p, &o).depth, 1);
    struct one o2 = {0};
    ev_add(&o2, 0, A | B, 0);
    ev_add(&o2, 4, A | B, 0);
    ev_add(&o2, 9, C, 0);
    /* A@0 (step 1), A@4 (step 2), B@9 (step 3): depth 3, times 4 and 5. */
    struct outcome r = run_one(&p, &o2);
    assert_int_equal(r.depth, 3);
    assert_int_equal(r.prev[1], 4);
    assert_int_equal(r.prev[2], 5);
    assert_int_equal(r.first[2], 9);
}

static void test_later_attempt_deeper(void **state)
{
    (void)state;
    /* Window 10. Attempt A@0: B@5, then C@25 is 25 > 10 away: depth 2.
     * Attempt A@20: B@22, C@25 (5 <= 10): depth 3. The person counts at 3,
     * on attempt A@20 (event 2): times B-A = 2, C-B = 3, C-A = 5. */
    struct funnel_params p = params(3, 10);
    struct one o = {0};
    ev_add(&o, 0, A, 0);
    ev_add(&o, 5, B, 0);
    ev_add(&o, 20, A, 0);
    ev_add(&o, 22, B, 0);
    ev_add(&o, 25, C, 0);
    struct outcome r = run_one(&p, &o);
    assert_int_equal(r.depth, 3);
    assert_int_equal(r.bd, 2);
    assert_int_equal(r.prev[1], 2);
    assert_int_equal(r.prev[2], 3);
    assert_int_equal(r.first[2], 5);
}

static void test_earliest_deepest_attempt(void **state)
{
    (void)state;
    /* Window 10: A@0, A@3, B@8. Both attempts reach step 2; the earliest
     * (A@0, event 0) is counted: time 8, not 5 (PostHog's latest-start
     * chain would report 5). */
    struct funnel_params p = params(2, 10);
    struct one o = {0};
    ev_add(&o, 0, A, 0);
    ev_add(&o, 3, A, 0);
    ev_add(&o, 8, B, 0);
    struct outcome r = run_one(&p, &o);
    assert_int_equal(r.depth, 2);
    assert_int_equal(r.bd, 0);
    assert_int_equal(r.prev[1], 8);
    /* Window 6: A@0 can no longer reach B@8 (8 > 6): A@3 counts, time 5. */
    p.window_us = 6;
    r = run_one(&p, &o);
    assert_int_equal(r.depth, 2);
    assert_int_equal(r.bd, 1);
    assert_int_equal(r.prev[1], 5);
}

static void test_entry_range(void **state)
{
    (void)state;
    /* [from, to) = [100, 200): A@99 opens nothing, A@200 opens nothing. */
    struct funnel_params p = params(2, 1000);
    p.from_us = 100;
    p.to_us = 200;
    struct one o = {0};
    ev_add(&o, 99, A, 0);
    ev_add(&o, 150, B, 0);
    ev_add(&o, 200, A, 0);
    ev_add(&o, 250, B, 0);
    assert_int_equal(run_one(&p, &o).depth, 0);
    /* A@100 opens; B may fall after `to` (B@250). */
    o.ts[0] = 100;
    struct outcome r = run_one(&p, &o);
    assert_int_equal(r.depth, 2);
    assert_int_equal(r.prev[1], 50);
}

static void test_strict(void **state)
{
    (void)state;
    struct funnel_params p = params(2, 100);
    p.order = FUNNEL_STRICT;
    /* A, X (matches no step), B: X interrupts; strict depth 1, ordered 2. */
    struct one o = {0};
    ev_add(&o, 0, A, 0);
    ev_add(&o, 1, 0, 0);
    ev_add(&o, 2, B, 0);
    assert_int_equal(run_one(&p, &o).depth, 1);
    p.order = FUNNEL_ORDERED;
    assert_int_equal(run_one(&p, &o).depth, 2);
    /* A@0, A@1, B@2 strict: the attempt from A@1 (event 1) converts in 1. */
    p.order = FUNNEL_STRICT;
    struct one o2 = {0};
    ev_add(&o2, 0, A, 0);
    ev_add(&o2, 1, A, 0);
    ev_add(&o2, 2, B, 0);
    struct outcome r = run_one(&p, &o2);
    assert_int_equal(r.depth, 2);
    assert_int_equal(r.bd, 1);
    assert_int_equal(r.prev[1], 1);
}

static void test_unordered(void **state)
{
    (void)state;
    struct funnel_params p = params(3, 10);
    p.order = FUNNEL_UNORDERED;
    /* C@0, A@1, B@2: all three steps in any order; anchor C@0; the window
     * holds 1, 2, 3 distinct steps at t = 0, 1, 2: times 1, 1; from first 2. */
    struct one o = {0};
    ev_add(&o, 0, C, 0);
    ev_add(&o, 1, A, 0);
    ev_add(&o, 2, B, 0);
    struct outcome r = run_one(&p, &o);
    assert_int_equal(r.depth, 3);
    assert_int_equal(r.bd, 0);
    assert_int_equal(r.prev[1], 1);
    assert_int_equal(r.prev[2], 1);
    assert_int_equal(r.first[2], 2);
    /* B moved to 20: window of C@0 is [0, 10]: {C, A} = 2 steps. */
    o.ts[2] = 20;
    assert_int_equal(run_one(&p, &o).depth, 2);
    /* Two events each matching {A, B} and one C: all distinct, depth 3. */
    struct one o2 = {0};
    ev_add(&o2, 0, A | B, 0);
    ev_add(&o2, 1, A | B, 0);
    ev_add(&o2, 2, C, 0);
    assert_int_equal(run_one(&p, &o2).depth, 3);
    /* Only one {A, B} event: it fills one step, so depth 2. */
    o2.mask[1] = 0;
    assert_int_equal(run_one(&p, &o2).depth, 2);
}

static void test_exclusions(void **state)
{
    (void)state;
    struct funnel_exclusion ex12 = {1, 2}, ex01 = {0, 1};
    struct funnel_params p = params(3, 100);
    p.n_exclusions = 1;
    p.exclusions = &ex12;
    /* A@0, B@1, X@2 (between B and C, C never done).
     * Drop mode: deepest chain (A, B) has X after B inside its window:
     * the person leaves the funnel. Keep-prior: counted at 2. */
    struct one o = {0};
    ev_add(&o, 0, A, 0);
    ev_add(&o, 1, B, 0);
    ev_add(&o, 2, 0, 1);
    struct outcome r = run_one(&p, &o);
    assert_int_equal(r.depth, -1);
    assert_int_equal(r.dropped, 1);
    p.exclusion_mode = FUNNEL_EXCL_KEEP_PRIOR;
    assert_int_equal(run_one(&p, &o).depth, 2);
    /* Add C@4: chain (A, B@1, C) has X between B and C: excluded in both
     * modes; keep-prior counts (A, B) = 2, drop mode drops the person. */
    ev_add(&o, 4, C, 0);
    assert_int_equal(run_one(&p, &o).depth, 2);
    p.exclusion_mode = FUNNEL_EXCL_DROP_PERSON;
    assert_int_equal(run_one(&p, &o).depth, -1);
    /* A@0, B@1, X@2, B@3, C@4: chain (A, B@3, C) is clean: depth 3,
     * step times 0, 3, 4: from prev 3 and 1. */
    struct one o2 = {0};
    ev_add(&o2, 0, A, 0);
    ev_add(&o2, 1, B, 0);
    ev_add(&o2, 2, 0, 1);
    ev_add(&o2, 3, B, 0);
    ev_add(&o2, 4, C, 0);
    r = run_one(&p, &o2);
    assert_int_equal(r.depth, 3);
    assert_int_equal(r.prev[1], 3);
    assert_int_equal(r.prev[2], 1);
    /* Exclusion between steps 0 and 1: A@0, X@1, A@2, B@3 counts the
     * clean attempt from A@2 (event 2), time 1. */
    p.exclusions = &ex01;
    p.n_steps = 2;
    struct one o3 = {0};
    ev_add(&o3, 0, A, 0);
    ev_add(&o3, 1, 0, 1);
    ev_add(&o3, 2, A, 0);
    ev_add(&o3, 3, B, 0);
    r = run_one(&p, &o3);
    assert_int_equal(r.depth, 2);
    assert_int_equal(r.bd, 2);
    assert_int_equal(r.prev[1], 1);
    /* An exclusion event outside the attempt's window does not count:
     * A@0, B@1 converts fully; X@500 is irrelevant. */
    struct one o4 = {0};
    ev_add(&o4, 0, A, 0);
    ev_add(&o4, 1, B, 0);
    ev_add(&o4, 500, 0, 1);
    assert_int_equal(run_one(&p, &o4).depth, 2);
}

static void test_step_windows(void **state)
{
    (void)state;
    int64_t sw[3] = {FUNNEL_NO_LIMIT, FUNNEL_NO_LIMIT, 2};
    struct funnel_params p = params(3, 100);
    p.step_window_us = sw;
    /* A@0, B@1, B@5, C@6 with C at most 2 after B: B@1 -> C@6 is 5 > 2,
     * B@5 -> C@6 is 1: depth 3 on chain (A@0, B@5, C@6): times 5 and 1. */
    struct one o = {0};
    ev_add(&o, 0, A, 0);
    ev_add(&o, 1, B, 0);
    ev_add(&o, 5, B, 0);
    ev_add(&o, 6, C, 0);
    struct outcome r = run_one(&p, &o);
    assert_int_equal(r.depth, 3);
    assert_int_equal(r.prev[1], 5);
    assert_int_equal(r.prev[2], 1);
    /* Limit B at most 3 after A: B@1 qualifies but then C is 5 after it;
     * B@5 is 5 > 3 after A: depth 2, time 1. */
    sw[1] = 3;
    r = run_one(&p, &o);
    assert_int_equal(r.depth, 2);
    assert_int_equal(r.prev[1], 1);
}

static void test_breakdown_and_counts(void **state)
{
    (void)state;
    /* Three persons, funnel A -> B, window 10, breakdown 2 values:
     * p0: A(bd 1)@0, B@4          -> depth 2, bd 1, time 4
     * p1: A(bd 0)@0, A(bd 1)@20, B@25 -> attempt 1 fails (25 > 10),
     *     attempt 2 counts: depth 2, bd 1, time 5
     * p2: A(bd 0)@0               -> depth 1, bd 0
     * Cells: bd0: step0 1, step1 0; bd1: step0 2, step1 2, times {4, 5}:
     * mean 4.5, median 4.5. */
    int64_t off[4] = {0, 2, 5, 6};
    int64_t ts[6] = {0, 4, 0, 20, 25, 0};
    uint32_t mk[6] = {A, B, A, A, B, A};
    int32_t bd[6] = {1, 0, 0, 1, 0, 0};
    struct funnel_events ev = {3, off, ts, mk, NULL, bd};
    struct funnel_params p = params(2, 10);
    p.n_breakdowns = 2;
    struct funnel_result res;
    int8_t depth[3];
    int32_t pb[3];
    assert_true(funnel_run(&p, &ev, &res, depth, pb));
    assert_int_equal(depth[0], 2);
    assert_int_equal(depth[1], 2);
    assert_int_equal(depth[2], 1);
    assert_int_equal(pb[1], 1);
    assert_int_equal(res.cell[0].count, 1);
    assert_int_equal(res.cell[1].count, 0);
    assert_int_equal(res.cell[2].count, 2);
    assert_int_equal(res.cell[3].count, 2);
    assert_true(fabs(res.cell[3].mean_from_prev_us - 4.5) < 1e-12);
    assert_true(fabs(res.cell[3].median_from_prev_us - 4.5) < 1e-12);
    assert_true(isnan(res.cell[1].mean_from_prev_us));
    funnel_result_free(&res);
}

static void test_duration_stats(void **state)
{
    (void)state;
    double mean, med;
    /* {10, 1, 3, 2}: sum 16, mean 4; sorted 1 2 3 10: median (2+3)/2 = 2.5 */
    int64_t v[4] = {10, 1, 3, 2};
    funnel_duration_stats(v, 4, &mean, &med);
    assert_true(mean == 4.0 && med == 2.5);
    /* {5, 1, 3}: mean 3, median 3 */
    int64_t w[3] = {5, 1, 3};
    funnel_duration_stats(w, 3, &mean, &med);
    assert_true(mean == 3.0 && med == 3.0);
    /* Large values: 4 x 2^61 sums past INT64_MAX; exact mean 2^61. */
    int64_t big[4] = {INT64_C(1) << 61, INT64_C(1) << 61, INT64_C(1) << 61, INT64_C(1) << 61};
    funnel_duration_stats(big, 4, &mean, &med);
    assert_true(fabs(mean / 2305843009213693952.0 - 1.0) < 1e-15);
    /* Many duplicates: median of 1000 x 7 and 1001 x 9 is 9. */
    int64_t *dup = malloc(2001 * sizeof *dup);
    for (int i = 0; i < 2001; i++)
        dup[i] = (i * 7919 % 2001) < 1000 ? 7 : 9;
    funnel_duration_stats(dup, 2001, &mean, &med);
    assert_true(med == 9.0);
    assert_true(fabs(mean - (1000.0 * 7 + 1001.0 * 9) / 2001.0) < 1e-12);
    free(dup);
}

static void test_invalid(void **state)
{
    (void)state;
    int64_t off[2] = {0, 2};
    int64_t ts[2] = {5, 4};
    uint32_t mk[2] = {A, B};
    struct funnel_events ev = {1, off, ts, mk, NULL, NULL};
    struct funnel_params p = params(2, 10);
    struct funnel_result res;
    assert_false(funnel_run(&p, &ev, &res, NULL, NULL));
    assert_non_null(res.error);
    ts[1] = 6;
    p.n_steps = 21;
    assert_false(funnel_run(&p, &ev, &res, NULL, NULL));
    p.n_steps = 2;
    p.order = FUNNEL_UNORDERED;
    int64_t sw[2] = {0, 5};
    p.step_window_us = sw;
    assert_false(funnel_run(&p, &ev, &res, NULL, NULL));
    p.step_window_us = NULL;
    p.order = FUNNEL_ORDERED;
    int32_t bd[2] = {7, 7};
    ev.breakdown = bd;
    p.n_breakdowns = 2;
    assert_false(funnel_run(&p, &ev, &res, NULL, NULL)); /* id 7 >= 2 */
    ev.breakdown = NULL;
    assert_true(funnel_run(&p, &ev, &res, NULL, NULL));
    assert_int_equal(res.cell[1].count, 1);
    funnel_result_free(&res);
}

/* ---- naive reference --------------------------------------------------------- */

struct ref {
    const struct funnel_params *p;
    const struct one *o;
    int64_t sw[FUNNEL_MAX_STEPS];
    /* best chain found so far under the active rule */
    int best_d, best_s;
    int best_chain[FUNNEL_MAX_STEPS];
    int d_all;
};

static bool in_chain(const int *ch, int d, int r)
{
    for (int i = 0; i < d; i++)
        if (ch[i] == r)
            return true;
    return false;
}

/* Literal exclusion rule. tail: also look past the last step up to the
 * window end for exclusions the chain has entered but not passed. */
static bool clean(const struct ref *R, const int *ch, int d, bool tail)
{
    const struct one *o = R->o;
    for (int j = 0; j < R->p->n_exclusions; j++) {
        int f = R->p->exclusions[j].from_step, t = R->p->exclusions[j].to_step;
        if (f > d - 1)
            continue;
        for (int r = ch[f] + 1; r < o->n; r++) {
            if (in_chain(ch, d, r) || !(o->xm[r] >> j & 1u))
                continue;
            if (t <= d - 1 && r < ch[t])
                return false;
            if (t > d - 1 && r < ch[d - 1])
                return false;
            if (t > d - 1 && tail && o->ts[r] - o->ts[ch[0]] <= R->p->window_us)
                return false;
        }
    }
    return true;
}

/* Enumerate every chain in lexicographic order; mode 0: depth only,
 * 1: drop-mode target d_all (gap + tail clean), 2: keep-prior (gaps clean),
 * 3: no exclusions. Records the first (= earliest start, lexmin) best. */
static void dfs(struct ref *R, int *ch, int d, int mode)
{
    const struct one *o = R->o;
    const struct funnel_params *p = R->p;
    bool ok = mode == 0 || mode == 3 || (mode == 1 ? clean(R, ch, d, true) : clean(R, ch, d, false));
    if (mode == 1 && d != R->d_all)
        ok = false;
    if (ok && d > R->best_d) {
        R->best_d = d;
        R->best_s = ch[0];
        memcpy(R->best_chain, ch, sizeof(int) * (size_t)d);
    }
    if (d == p->n_steps)
        return;
    for (int q = ch[d - 1] + 1; q < o->n; q++) {
        if (p->order == FUNNEL_STRICT && q != ch[d - 1] + 1)
            break;
        if (!(o->mask[q] >> d & 1u))
            continue;
        if (o->ts[q] - o->ts[ch[0]] > p->window_us || o->ts[q] - o->ts[ch[d - 1]] > R->sw[d])
            continue;
        ch[d] = q;
        dfs(R, ch, d + 1, mode);
    }
}

static void ref_run(struct ref *R, int mode)
{
    int ch[FUNNEL_MAX_STEPS];
    R->best_d = 0;
    R->best_s = -1;
    for (int s = 0; s < R->o->n; s++) {
        if (!(R->o->mask[s] & 1u) || R->o->ts[s] < R->p->from_us || R->o->ts[s] >= R->p->to_us)
            continue;
        ch[0] = s;
        dfs(R, ch, 1, mode);
    }
}

/* Max number of steps assignable to distinct events of `ev` (brute force). */
static int assign_max(const struct one *o, const int *ev, int nev, int K, int j, uint32_t used)
{
    if (j == K)
        return 0;
    int best = assign_max(o, ev, nev, K, j + 1, used);
    for (int i = 0; i < nev; i++)
        if (!(used >> i & 1u) && (o->mask[ev[i]] >> j & 1u)) {
            int v = 1 + assign_max(o, ev, nev, K, j + 1, used | 1u << i);
            if (v > best)
                best = v;
        }
    return best;
}

static struct outcome ref_unordered(const struct funnel_params *p, const struct one *o)
{
    struct outcome out;
    memset(&out, 0, sizeof out);
    out.bd = -1;
    uint32_t full = (1u << p->n_steps) - 1;
    int best = 0, s0 = -1;
    for (int a = 0; a < o->n; a++) {
        if (!(o->mask[a] & full) || o->ts[a] < p->from_us || o->ts[a] >= p->to_us)
            continue;
        int ev[16], nev = 0;
        for (int q = a; q < o->n && o->ts[q] - o->ts[a] <= p->window_us; q++)
            ev[nev++] = q;
        int d = assign_max(o, ev, nev, p->n_steps, 0, 0);
        if (d > best) {
            best = d;
            s0 = a;
        }
    }
    out.depth = best;
    if (best == 0)
        return out;
    out.bd = s0;
    int64_t t[FUNNEL_MAX_STEPS];
    int ev[16], nev = 0, reached = 0;
    for (int q = s0; q < o->n && o->ts[q] - o->ts[s0] <= p->window_us && reached < best; q++) {
        ev[nev++] = q;
        int d = assign_max(o, ev, nev, p->n_steps, 0, 0);
        while (reached < d)
            t[reached++] = o->ts[q];
    }
    for (int k = 1; k < best; k++) {
        out.prev[k] = t[k] - t[k - 1];
        out.first[k] = t[k] - t[0];
    }
    return out;
}

static struct outcome ref_outcome(const struct funnel_params *p, const struct one *o)
{
    if (p->order == FUNNEL_UNORDERED)
        return ref_unordered(p, o);
    struct ref R;
    memset(&R, 0, sizeof R);
    R.p = p;
    R.o = o;
    for (int k = 0; k < FUNNEL_MAX_STEPS; k++)
        R.sw[k] = (p->step_window_us && k >= 1 && k < p->n_steps &&
                   p->step_window_us[k] != FUNNEL_NO_LIMIT) ? p->step_window_us[k] : INT64_MAX;
    struct outcome out;
    memset(&out, 0, sizeof out);
    out.bd = -1;
    ref_run(&R, 0);
    R.d_all = R.best_d;
    if (R.d_all == 0)
        return out;
    if (p->n_exclusions == 0)
        ref_run(&R, 3);
    else if (p->exclusion_mode == FUNNEL_EXCL_DROP_PERSON)
        ref_run(&R, 1);
    else
        ref_run(&R, 2);
    if (R.best_d == 0) {
        out.depth = -1;
        out.dropped = 1;
        return out;
    }
    out.depth = R.best_d;
    out.bd = R.best_s;
    for (int k = 1; k < R.best_d; k++) {
        out.prev[k] = o->ts[R.best_chain[k]] - o->ts[R.best_chain[k - 1]];
        out.first[k] = o->ts[R.best_chain[k]] - o->ts[R.best_chain[0]];
    }
    return out;
}

/* ---- randomised comparison ------------------------------------------------------ */

static uint64_t rng = 0x2545F4914F6CDD1Du;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void random_case(struct funnel_params *p, struct funnel_exclusion *ex, int64_t *sw,
                        struct one *o)
{
    static const int64_t windows[] = {0, 1, 2, 3, 5, 100};
    memset(o, 0, sizeof *o);
    *p = params(1 + (int)rnd(4), windows[rnd(6)]);
    p->order = (enum funnel_order)rnd(3);
    p->from_us = rnd(3);
    p->to_us = p->from_us + 1 + rnd(8);
    int unordered = p->order == FUNNEL_UNORDERED;
    if (!unordered && rnd(3) == 0) {
        for (int k = 0; k < p->n_steps; k++)
            sw[k] = rnd(3) ? (int64_t)rnd(4) : FUNNEL_NO_LIMIT;
        p->step_window_us = sw;
    }
    if (!unordered && p->n_steps >= 2 && rnd(2) == 0) {
        p->n_exclusions = 1 + (int)rnd(2);
        for (int j = 0; j < p->n_exclusions; j++) {
            ex[j].from_step = (int)rnd((uint32_t)p->n_steps - 1);
            ex[j].to_step = ex[j].from_step + 1 + (int)rnd((uint32_t)(p->n_steps - 1 - ex[j].from_step));
        }
        p->exclusions = ex;
        p->exclusion_mode = rnd(2) ? FUNNEL_EXCL_DROP_PERSON : FUNNEL_EXCL_KEEP_PRIOR;
    }
    int n = 1 + (int)rnd(unordered ? 6 : 10);
    int64_t t = rnd(3);
    for (int i = 0; i < n; i++) {
        t += rnd(3); /* many ties */
        uint32_t m = rnd(4) ? 1u << rnd((uint32_t)p->n_steps) : rnd(16);
        uint32_t x = p->n_exclusions && rnd(4) == 0 ? 1u + rnd(3) : 0;
        if (x && rnd(2))
            m = 0;
        ev_add(o, t, m, x);
    }
}

static void assert_same(const struct outcome *a, const struct outcome *b)
{
    assert_int_equal(a->depth, b->depth);
    if (a->depth <= 0)
        return;
    assert_int_equal(a->bd, b->bd);
    for (int k = 1; k < a->depth; k++) {
        assert_int_equal(a->prev[k], b->prev[k]);
        assert_int_equal(a->first[k], b->first[k]);
    }
}

static void test_random_vs_naive(void **state)
{
    (void)state;
    enum { N = 40000 };
    int seen_depth[5] = {0}, seen_dropped = 0;
    for (int i = 0; i < N; i++) {
        struct one cs;
        struct funnel_params pr;
        struct funnel_exclusion ex[2];
        int64_t sw[FUNNEL_MAX_STEPS];
        random_case(&pr, ex, sw, &cs);
        struct outcome want = ref_outcome(&pr, &cs);
        struct outcome got = run_one(&pr, &cs);
        if (got.depth != want.depth || (got.depth > 0 && got.bd != want.bd))
            print_message("case %d: order %d K %d got %d/%d want %d/%d\n", i, pr.order,
                          pr.n_steps, got.depth, got.bd, want.depth, want.bd);
        assert_same(&got, &want);
        if (want.depth >= 0)
            seen_depth[want.depth]++;
        else
            seen_dropped++;
    }
    /* The generator must exercise deep conversions and exclusions. */
    assert_true(seen_depth[3] > 1000 && seen_depth[4] > 300 && seen_dropped > 300);
}

/* All random persons of one funnel in a single run: the aggregate counts
 * equal the reference depths summed (scratch reuse across persons), once
 * on the plain path and once with per-step windows (deque path). */
static void test_random_batch(void **state)
{
    (void)state;
    enum { NP = 2000 };
    static struct one cases[NP];
    static int64_t off[NP + 1], ts[NP * 16];
    static uint32_t mk[NP * 16];
    off[0] = 0;
    for (int i = 0; i < NP; i++) {
        struct one *o = &cases[i];
        memset(o, 0, sizeof *o);
        int n = (int)rnd(9);
        int64_t t = rnd(3);
        for (int k = 0; k < n; k++) {
            t += rnd(3);
            ev_add(o, t, 1u << rnd(3), 0);
        }
        memcpy(ts + off[i], o->ts, (size_t)n * sizeof *ts);
        memcpy(mk + off[i], o->mask, (size_t)n * sizeof *mk);
        off[i + 1] = off[i] + n;
    }
    int64_t sw[3] = {FUNNEL_NO_LIMIT, 2, 1};
    for (int pass = 0; pass < 2; pass++) {
        struct funnel_params p = params(3, 4);
        p.n_breakdowns = 1;
        p.step_window_us = pass ? sw : NULL;
        int64_t want[3] = {0};
        for (int i = 0; i < NP; i++) {
            struct outcome r = ref_outcome(&p, &cases[i]);
            for (int k = 0; k < r.depth; k++)
                want[k]++;
        }
        struct funnel_events ev = {NP, off, ts, mk, NULL, NULL};
        struct funnel_result res;
        assert_true(funnel_run(&p, &ev, &res, NULL, NULL));
        for (int k = 0; k < 3; k++)
            assert_int_equal(res.cell[k].count, want[k]);
        assert_true(want[2] > 50);
        funnel_result_free(&res);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_timestamps),
        cmocka_unit_test(test_window_edge),
        cmocka_unit_test(test_repeated_step),
        cmocka_unit_test(test_later_attempt_deeper),
        cmocka_unit_test(test_earliest_deepest_attempt),
        cmocka_unit_test(test_entry_range),
        cmocka_unit_test(test_strict),
        cmocka_unit_test(test_unordered),
        cmocka_unit_test(test_exclusions),
        cmocka_unit_test(test_step_windows),
        cmocka_unit_test(test_breakdown_and_counts),
        cmocka_unit_test(test_duration_stats),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_random_vs_naive),
        cmocka_unit_test(test_random_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
