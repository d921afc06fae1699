/*
 * Funnel engine: the counted attempt of one person (see model/funnel.c for
 * the rules and docs/semantics-analytics.md for the full text).
 *
 * Ordered. (1) Forward pass, like ClickHouse windowFunnel: per level a deque
 * of partial chains (start, last event) kept Pareto-optimal (a later start
 * and a later last event are both better), so the deepest level costs
 * amortised O(1) per (event, matched step); an exclusion event clears the
 * levels whose gap it watches. (2) Backward pass for the target depth D:
 * R_k(p) = earliest completion instant of steps k..D-1 when step k is event
 * p, a sliding-window minimum per level over q in (p, min(per-step limit,
 * next watching exclusion)], a position window that only shrinks as p
 * decreases. Start s reaches D iff R_0(s) - ts(s) <= window: the earliest
 * such s is the counted attempt. (3) A forward walk from s picks, step by
 * step, the earliest event whose R still meets s's deadline (the
 * lexicographically earliest valid chain). Tail exclusions (drop mode, D
 * short of the last step) test candidate starts in order with a
 * single-start forward scan, then rerun (2) on that start's window with the
 * final event bounded below by the last tail exclusion.
 *
 * Without per-step windows or exclusions a cheaper path gives the same
 * answer: the classic single "latest start per level" pass, then greedy
 * pointers that only move forward across starts. Strict and unordered
 * funnels live in model/funnel_modes.c. Units: µs.
 */
#include "model/funnel_engine.h"

#include <stdlib.h>
#include <string.h>

#include "model/funnel_modes.h"

#define INF INT64_MAX

/* Deque entry. Forward deques: chain (a = start, b = last event), both
 * positions. Backward deques: a = event position, r = its R value. */
struct ent {
    int32_t a, b;
    int64_t r;
};

/* Array deque: live entries v[head..tail); push at tail, pop at both ends. */
struct deque {
    struct ent *v;
    int32_t head, tail, cap;
};

struct funnel_scratch {
    struct deque dq[FUNNEL_MAX_STEPS];
    size_t pos_cap;       /* capacity of the per-position arrays */
    int32_t *roff;        /* pos_cap + 1 */
    int32_t *starts;      /* pos_cap */
    struct funnel_uscratch *u; /* unordered funnels, created on first use */
    int64_t *rv;          /* backward values (CSR by roff) */
    size_t rv_cap;
};

/* ---- small helpers ---------------------------------------------------- */

static int popcount32(uint32_t x)
{
    /* SWAR count: __builtin_popcount becomes a libgcc call without -mpopcnt. */
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    return (int)((((x + (x >> 4)) & 0x0F0F0F0Fu) * 0x01010101u) >> 24);
}
static int lowbit(uint32_t x) { return __builtin_ctz(x); }
static int highbit(uint32_t x) { return 31 - __builtin_clz(x); }

static bool dq_push(struct deque *d, struct ent e)
{
    if (d->tail == d->cap) {
        if (d->head >= d->cap / 2 && d->head > 0) {
            memmove(d->v, d->v + d->head, (size_t)(d->tail - d->head) * sizeof *d->v);
            d->tail -= d->head;
            d->head = 0;
        } else {
            int32_t nc = d->cap ? d->cap * 2 : 16;
            struct ent *nv = realloc(d->v, (size_t)nc * sizeof *nv);
            if (!nv)
                return false;
            d->v = nv;
            d->cap = nc;
        }
    }
    d->v[d->tail++] = e;
    return true;
}

static void dq_clear(struct deque *d) { d->head = d->tail = 0; }

static bool eligible(const struct funnel_ctx *c, const struct funnel_person *pp, int32_t p)
{
    return (pp->mask[p] & 1u) && pp->ts[p] >= c->from && pp->ts[p] < c->to;
}

static bool ensure_pos(struct funnel_scratch *s, size_t n)
{
    if (n <= s->pos_cap)
        return true;
    size_t cap = s->pos_cap ? s->pos_cap : 64;
    while (cap < n)
        cap *= 2;
    int32_t *roff = realloc(s->roff, (cap + 1) * sizeof *roff);
    if (roff)
        s->roff = roff;
    int32_t *st = realloc(s->starts, cap * sizeof *st);
    if (st)
        s->starts = st;
    if (!roff || !st)
        return false;
    s->pos_cap = cap;
    return true;
}

static bool ensure_rv(struct funnel_scratch *s, size_t n)
{
    if (n <= s->rv_cap)
        return true;
    size_t cap = s->rv_cap ? s->rv_cap : 256;
    while (cap < n)
        cap *= 2;
    int64_t *rv = realloc(s->rv, cap * sizeof *rv);
    if (!rv)
        return false;
    s->rv = rv;
    s->rv_cap = cap;
    return true;
}

struct funnel_scratch *funnel_scratch_new(size_t max_events)
{
    struct funnel_scratch *s = calloc(1, sizeof *s);
    if (s && !ensure_pos(s, max_events)) {
        funnel_scratch_free(s);
        return NULL;
    }
    return s;
}

void funnel_scratch_free(struct funnel_scratch *s)
{
    if (!s)
        return;
    for (int k = 0; k < FUNNEL_MAX_STEPS; k++)
        free(s->dq[k].v);
    free(s->roff);
    free(s->starts);
    funnel_uscratch_free(s->u);
    free(s->rv);
    free(s);
}

/* ---- ordered: forward pass (deepest level) ----------------------------- */

/* Latest start among level-(k-1) chains that event p may extend to step k,
 * or -1. Drops chains that can never be extended again. */
static int32_t fw_front(struct deque *d, const struct funnel_ctx *c, const int64_t *ts,
                        int k, int32_t p)
{
    while (d->head < d->tail) {
        struct ent f = d->v[d->head];
        if (ts[p] - ts[f.b] > c->sw[k]) {
            d->head++;
            continue;
        }
        if (ts[p] - ts[f.a] > c->W) /* front has the latest start: all fail */
            break;
        return f.a;
    }
    dq_clear(d);
    return -1;
}

/* Append chain (start s, last event e): drops chains it dominates. */
static bool fw_push(struct deque *d, int32_t s, int32_t e)
{
    while (d->tail > d->head && d->v[d->tail - 1].a <= s)
        d->tail--;
    return dq_push(d, (struct ent){s, e, 0});
}

/* Deepest chain over all starts; kills: apply gap exclusions. -1 on OOM. */
static int fwd_depth(const struct funnel_ctx *c, const struct funnel_person *pp, bool kills,
                     struct funnel_scratch *s)
{
    int best = 0;
    for (int k = 0; k < c->K; k++)
        dq_clear(&s->dq[k]);
    for (int32_t p = 0; p < pp->n; p++) {
        uint32_t m = pp->mask[p] & c->full;
        uint32_t x = kills && pp->xm ? pp->xm[p] & c->anyx : 0;
        if (!m && !x)
            continue;
        int32_t add[FUNNEL_MAX_STEPS];
        uint32_t newm = 0;
        for (uint32_t b = m & ~1u; b; b &= b - 1) {
            int k = lowbit(b);
            int32_t st = fw_front(&s->dq[k - 1], c, pp->ts, k, p);
            if (st >= 0) {
                add[k] = st;
                newm |= 1u << k;
            }
        }
        if (eligible(c, pp, p)) {
            add[0] = p;
            newm |= 1u;
        }
        for (int k = 0; x && k < c->K - 1; k++)
            if (c->gapx[k] & x)
                dq_clear(&s->dq[k]);
        for (uint32_t b = newm; b; b &= b - 1) {
            int k = lowbit(b);
            if (!fw_push(&s->dq[k], add[k], p))
                return -1;
            if (k + 1 > best)
                best = k + 1;
        }
        if (best == c->K)
            break;
    }
    return best;
}

/* ---- ordered: backward pass (earliest completion) ---------------------- */

/* min R_{k+1}(q) over q in (p, nxk] with the step-(k+1) limit; INF if none. */
static int64_t bw_min(struct deque *d, const struct funnel_ctx *c, const int64_t *ts,
                      int k, int32_t p, int32_t nxk)
{
    while (d->head < d->tail) {
        struct ent f = d->v[d->head];
        if (f.a > nxk || ts[f.a] - ts[p] > c->sw[k + 1]) {
            d->head++;
            continue;
        }
        return f.r;
    }
    dq_clear(d);
    return INF;
}

static bool bw_push(struct deque *d, int32_t q, int64_t r)
{
    while (d->tail > d->head && d->v[d->tail - 1].r >= r)
        d->tail--;
    return dq_push(d, (struct ent){q, 0, r});
}

/* CSR index of R_k(q), k >= 1, for the pass that started at lo. */
static size_t rv_index(const struct funnel_scratch *s, const struct funnel_person *pp, int32_t lo,
                       uint32_t dm, int32_t q, int k)
{
    uint32_t below = pp->mask[q] & dm & ~1u & ((1u << k) - 1);
    return (size_t)s->roff[q - lo] + (size_t)popcount32(below);
}

static int64_t bw_value(const struct funnel_ctx *c, const struct funnel_person *pp,
                        struct funnel_scratch *s, int D, int k, int32_t p,
                        int32_t final_lo, const int32_t *nx)
{
    int64_t r;
    if (k == D - 1)
        r = p > final_lo ? pp->ts[p] : INF;
    else
        r = bw_min(&s->dq[k + 1], c, pp->ts, k, p, nx[k]);
    if (r != INF && r - pp->ts[p] > c->W) /* no start at or before p can use it */
        r = INF;
    return r;
}

/*
 * Backward pass over positions [lo, hi] for target depth D (final events
 * must lie after final_lo). Fills s->rv and writes the starts that reach D
 * with clean gaps, ascending, to s->starts. Returns their count, -1 on OOM.
 */
static int32_t bwd(const struct funnel_ctx *c, const struct funnel_person *pp, int D, int32_t lo,
                   int32_t hi, int32_t final_lo, struct funnel_scratch *s)
{
    uint32_t dm = (D == 32) ? ~0u : (1u << D) - 1;
    s->roff[0] = 0;
    for (int32_t p = lo; p <= hi; p++)
        s->roff[p - lo + 1] = s->roff[p - lo] + popcount32(pp->mask[p] & dm & ~1u);
    if (!ensure_rv(s, (size_t)s->roff[hi - lo + 1]))
        return -1;
    int32_t nx[FUNNEL_MAX_STEPS];
    for (int k = 0; k < D; k++) {
        nx[k] = INT32_MAX;
        dq_clear(&s->dq[k]);
    }
    int32_t ns = 0;
    for (int32_t p = hi; p >= lo; p--) {
        uint32_t m = pp->mask[p] & dm;
        int64_t *slot = s->rv + s->roff[p - lo];
        for (uint32_t b = m; b; b &= b - 1) {
            int k = lowbit(b);
            int64_t r = bw_value(c, pp, s, D, k, p, final_lo, nx);
            if (k > 0)
                *slot++ = r;
            else if (r != INF && eligible(c, pp, p))
                s->starts[ns++] = p;
        }
        uint32_t x = pp->xm ? pp->xm[p] & c->anyx : 0;
        for (int k = 0; x && k < D - 1; k++)
            if (c->gapx[k] & x)
                nx[k] = p;
        slot = s->rv + s->roff[p - lo];
        for (uint32_t b = m & ~1u; b; b &= b - 1, slot++)
            if (*slot != INF && !bw_push(&s->dq[lowbit(b)], p, *slot))
                return -1;
    }
    for (int32_t i = 0; i < ns / 2; i++) {
        int32_t t = s->starts[i];
        s->starts[i] = s->starts[ns - 1 - i];
        s->starts[ns - 1 - i] = t;
    }
    return ns;
}

/* Earliest valid chain of depth D from start s0, using R from bwd(lo). */
static bool walk(const struct funnel_ctx *c, const struct funnel_person *pp,
                 const struct funnel_scratch *s, int D, int32_t lo, int32_t s0,
                 struct funnel_pick *out)
{
    const int64_t *ts = pp->ts;
    uint32_t dm = (1u << D) - 1;
    int32_t e = s0;
    out->t[0] = ts[s0];
    for (int k = 1; k < D; k++) {
        int32_t q = e + 1;
        for (;; q++) {
            if (q >= pp->n || ts[q] - ts[e] > c->sw[k])
                return false;
            if (pp->mask[q] >> k & 1u) {
                int64_t r = s->rv[rv_index(s, pp, lo, dm, q, k)];
                if (r != INF && r - ts[s0] <= c->W)
                    break;
            }
            if (pp->xm && (pp->xm[q] & c->gapx[k - 1]))
                return false;
        }
        e = q;
        out->t[k] = ts[q];
    }
    return true;
}

/* Does start s have a chain of depth D with clean gaps and a clean tail? */
static bool tail_clean(const struct funnel_ctx *c, const struct funnel_person *pp, int D, int32_t s)
{
    const int64_t *ts = pp->ts;
    int32_t e[FUNNEL_MAX_STEPS], add[FUNNEL_MAX_STEPS];
    uint32_t dm = (1u << D) - 1;
    e[0] = s;
    for (int k = 1; k < D; k++)
        e[k] = -1;
    for (int32_t q = s + 1; q < pp->n && ts[q] - ts[s] <= c->W; q++) {
        uint32_t m = pp->mask[q] & dm & ~1u, newm = 0;
        for (uint32_t b = m; b; b &= b - 1) {
            int k = lowbit(b);
            if (e[k - 1] >= 0 && ts[q] - ts[e[k - 1]] <= c->sw[k]) {
                add[k] = q;
                newm |= 1u << k;
            }
        }
        uint32_t x = pp->xm[q] & c->anyx;
        for (int k = 0; x && k < D; k++)
            if (c->gapx[k] & x)
                e[k] = -1;
        for (uint32_t b = newm; b; b &= b - 1)
            e[lowbit(b)] = add[lowbit(b)];
    }
    return e[D - 1] >= 0;
}

/* Window end of start s (last position within it) and the bound for the
 * final step event: it must lie at or after the last tail exclusion event
 * of level D-1 in (s, window end], i.e. strictly after *final_lo. */
static void tail_bounds(const struct funnel_ctx *c, const struct funnel_person *pp, int D,
                        int32_t s, int32_t *final_lo, int32_t *hi)
{
    *final_lo = s - 1;
    int32_t q = s;
    while (q + 1 < pp->n && pp->ts[q + 1] - pp->ts[s] <= c->W) {
        q++;
        if (pp->xm[q] & c->gapx[D - 1])
            *final_lo = q - 1;
    }
    *hi = q;
}

/* Counted attempt under tail exclusions, trying the ns candidate starts. */
static enum funnel_status ordered_tail(const struct funnel_ctx *c, const struct funnel_person *pp,
                                       int D, int32_t ns, struct funnel_scratch *s,
                                       struct funnel_pick *out)
{
    int32_t s0 = -1;
    for (int32_t i = 0; i < ns && s0 < 0; i++)
        if (tail_clean(c, pp, D, s->starts[i]))
            s0 = s->starts[i];
    if (s0 < 0) {
        out->depth = -1;
        return FUNNEL_ST_OK;
    }
    int32_t final_lo, hi;
    tail_bounds(c, pp, D, s0, &final_lo, &hi);
    if (bwd(c, pp, D, s0, hi, final_lo, s) < 0)
        return FUNNEL_ST_OOM;
    out->depth = D;
    out->start = s0;
    return walk(c, pp, s, D, s0, s0, out) ? FUNNEL_ST_OK : FUNNEL_ST_BUG;
}

/* Depth 1: the earliest step-1 event in the entry range counts. */
static enum funnel_status pick_first(const struct funnel_ctx *c, const struct funnel_person *pp,
                                     struct funnel_pick *out)
{
    int32_t p = 0;
    while (!eligible(c, pp, p))
        p++;
    out->depth = 1;
    out->start = p;
    out->t[0] = pp->ts[p];
    return FUNNEL_ST_OK;
}

/* ---- ordered, no per-step windows and no exclusions (the common case) -- */

/* windowFunnel's classic pass: S[k] = latest start of a chain at level k.
 * Levels are updated from the highest so one event fills one step. */
static int fwd_simple(const struct funnel_ctx *c, const struct funnel_person *pp)
{
    const int64_t *ts = pp->ts;
    int32_t S[FUNNEL_MAX_STEPS];
    int best = 0;
    for (int32_t p = 0; p < pp->n; p++) {
        uint32_t m = pp->mask[p] & c->full;
        if (!m)
            continue;
        for (uint32_t b = m & ~1u & ((2u << best) - 1); b;) {
            int k = highbit(b);
            b &= ~(1u << k);
            if (S[k - 1] >= 0 && ts[p] - ts[S[k - 1]] <= c->W) {
                S[k] = S[k - 1];
                if (k + 1 > best)
                    best = k + 1;
            }
        }
        if (eligible(c, pp, p)) {
            if (best == 0) {
                for (int k = 1; k < c->K; k++)
                    S[k] = -1;
                best = 1;
            }
            S[0] = p;
        }
        if (best == c->K)
            break;
    }
    return best;
}

/*
 * Earliest start whose greedy chain reaches depth D. Without per-step
 * windows or exclusions the greedy earliest chain is optimal, and for starts
 * s < s' its events satisfy e_k(s) <= e_k(s'), so each level's pointer only
 * moves forward: O(n x D) over all starts.
 */
static enum funnel_status greedy_pick(const struct funnel_ctx *c, const struct funnel_person *pp,
                                      int D, struct funnel_pick *out)
{
    const int64_t *ts = pp->ts;
    int32_t e[FUNNEL_MAX_STEPS] = {0};
    for (int32_t s = 0; s < pp->n; s++) {
        if (!eligible(c, pp, s))
            continue;
        int32_t prev = s;
        int k = 1;
        for (; k < D; k++) {
            int32_t q = e[k] > prev ? e[k] : prev + 1;
            while (q < pp->n && !(pp->mask[q] >> k & 1u))
                q++;
            e[k] = q;
            if (q >= pp->n)
                return FUNNEL_ST_BUG; /* no later start can reach D either */
            if (ts[q] - ts[s] > c->W)
                break;
            prev = q;
        }
        if (k == D) {
            out->depth = D;
            out->start = s;
            out->t[0] = ts[s];
            for (k = 1; k < D; k++)
                out->t[k] = ts[e[k]];
            return FUNNEL_ST_OK;
        }
    }
    return FUNNEL_ST_BUG;
}

static enum funnel_status ordered_simple(const struct funnel_ctx *c,
                                         const struct funnel_person *pp,
                                         struct funnel_pick *out)
{
    int D = fwd_simple(c, pp);
    out->depth = 0;
    if (D == 0)
        return FUNNEL_ST_OK;
    return D > 1 ? greedy_pick(c, pp, D, out) : pick_first(c, pp, out);
}

/* General ordered path: per-step windows and/or exclusions. */
static enum funnel_status ordered_person(const struct funnel_ctx *c,
                                         const struct funnel_person *pp,
                                         struct funnel_scratch *s, struct funnel_pick *out)
{
    int d_all = fwd_depth(c, pp, false, s);
    if (d_all < 0)
        return FUNNEL_ST_OOM;
    out->depth = 0;
    if (d_all == 0)
        return FUNNEL_ST_OK;
    int D = d_all;
    if (pp->xm && !c->drop && (D = fwd_depth(c, pp, true, s)) < 0)
        return FUNNEL_ST_OOM;
    bool tail = pp->xm && c->drop && c->gapx[D - 1] != 0;
    if (D == 1 && !tail)
        return pick_first(c, pp, out);
    int32_t ns = bwd(c, pp, D, 0, pp->n - 1, -1, s);
    if (ns < 0)
        return FUNNEL_ST_OOM;
    if (ns == 0) { /* drop mode: every deepest chain crosses an exclusion */
        out->depth = -1;
        return FUNNEL_ST_OK;
    }
    if (tail)
        return ordered_tail(c, pp, D, ns, s, out);
    out->depth = D;
    out->start = s->starts[0];
    return walk(c, pp, s, D, 0, out->start, out) ? FUNNEL_ST_OK : FUNNEL_ST_BUG;
}

/* ---- dispatch ------------------------------------------------------------ */

enum funnel_status funnel_person_pick(const struct funnel_ctx *c,
                                      const struct funnel_person *pp,
                                      struct funnel_scratch *s, struct funnel_pick *out)
{
    if (!ensure_pos(s, (size_t)pp->n))
        return FUNNEL_ST_OOM;
    switch (c->order) {
    case FUNNEL_STRICT:
        funnel_strict_pick(c, pp, out);
        return FUNNEL_ST_OK;
    case FUNNEL_UNORDERED:
        if (!s->u && !(s->u = funnel_uscratch_new()))
            return FUNNEL_ST_OOM;
        return funnel_unordered_pick(c, pp, s->u, out);
    case FUNNEL_ORDERED:
    default:
        if (!pp->xm && !c->has_step_windows)
            return ordered_simple(c, pp, out);
        return ordered_person(c, pp, s, out);
    }
}
