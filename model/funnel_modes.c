/*
 * Strict and unordered funnels for one person (rules: model/funnel.c and
 * docs/semantics-analytics.md §3.3-3.4).
 *
 * Strict: a chain is a run of consecutive events, so each start is checked
 * by scanning at most K events: O(events x steps). In drop mode an attempt
 * that stops short of an exclusion's to_step is hit by an exclusion event
 * after its last step within its window.
 *
 * Unordered: a window slides over the anchors (both ends only move
 * forward). Its depth is a maximum bipartite matching between steps and the
 * window's events; events are grouped by distinct step mask with counts,
 * and Kuhn's augmenting paths run over those groups (with one-bit masks the
 * depth is simply the number of distinct steps present, kept incrementally).
 * The counted anchor's step instants come from an incremental event-side
 * matching: instant k is when the window prefix first fills k+1 steps.
 * Units: µs.
 */
#include "model/funnel_modes.h"

#include <stdlib.h>
#include <string.h>

struct funnel_uscratch {
    size_t cap;        /* capacity of the per-event arrays */
    int32_t *mid;      /* distinct-mask id per event (-1: no step) */
    uint32_t *umask;   /* the distinct masks */
    int32_t *ucnt;     /* window count per distinct mask */
    int32_t *uused;    /* matching: steps assigned per distinct mask */
    uint8_t *uvis;     /* matching: visited marks */
    int32_t *hash;     /* open addressing, mask -> id */
    size_t hash_cap;
};

static int lowbit(uint32_t x) { return __builtin_ctz(x); }

static bool eligible(const struct funnel_ctx *c, const struct funnel_person *pp, int32_t p)
{
    return (pp->mask[p] & 1u) && pp->ts[p] >= c->from && pp->ts[p] < c->to;
}

struct funnel_uscratch *funnel_uscratch_new(void)
{
    return calloc(1, sizeof(struct funnel_uscratch));
}

void funnel_uscratch_free(struct funnel_uscratch *u)
{
    if (!u)
        return;
    free(u->mid);
    free(u->umask);
    free(u->ucnt);
    free(u->uused);
    free(u->uvis);
    free(u->hash);
    free(u);
}

/* ---- strict ------------------------------------------------------------ */

/* Steps reached by the run of consecutive events starting at s. */
static int strict_run(const struct funnel_ctx *c, const struct funnel_person *pp, int32_t s)
{
    const int64_t *ts = pp->ts;
    int r = 1;
    while (r < c->K && s + r < pp->n && (pp->mask[s + r] >> r & 1u) &&
           ts[s + r] - ts[s + r - 1] <= c->sw[r] && ts[s + r] - ts[s] <= c->W)
        r++;
    return r;
}

static bool strict_tail_ok(const struct funnel_ctx *c, const struct funnel_person *pp,
                           int D, int32_t s)
{
    for (int32_t q = s + D; q < pp->n && pp->ts[q] - pp->ts[s] <= c->W; q++)
        if (pp->xm[q] & c->gapx[D - 1])
            return false;
    return true;
}

void funnel_strict_pick(const struct funnel_ctx *c, const struct funnel_person *pp,
                        struct funnel_pick *out)
{
    int best = 0;
    int32_t first = -1;
    for (int32_t p = 0; p < pp->n && best < c->K; p++) {
        if (!eligible(c, pp, p))
            continue;
        int r = strict_run(c, pp, p);
        if (r > best) {
            best = r;
            first = p;
        }
    }
    out->depth = best;
    if (best == 0)
        return;
    int32_t s0 = first;
    if (pp->xm && c->drop && c->gapx[best - 1]) {
        s0 = -1;
        for (int32_t p = first; p < pp->n && s0 < 0; p++)
            if (eligible(c, pp, p) && strict_run(c, pp, p) == best &&
                strict_tail_ok(c, pp, best, p))
                s0 = p;
        if (s0 < 0) {
            out->depth = -1;
            return;
        }
    }
    out->start = s0;
    for (int k = 0; k < best; k++)
        out->t[k] = pp->ts[s0 + k];
}

/* ---- unordered --------------------------------------------------------- */

/* Grow array `ptr` to n elements or return false (the old block stays owned). */
#define GROW_OR_FAIL(ptr, n)                                \
    do {                                                    \
        void *grown_ = realloc((ptr), (n) * sizeof *(ptr)); \
        if (!grown_)                                        \
            return false;                                   \
        (ptr) = grown_;                                     \
    } while (0)

static bool ensure_unordered(struct funnel_uscratch *s, size_t n)
{
    size_t hc = 16;
    while (hc < 2 * n)
        hc *= 2;
    if (s->hash_cap < hc) {
        GROW_OR_FAIL(s->hash, hc);
        s->hash_cap = hc;
    }
    if (n <= s->cap)
        return true;
    GROW_OR_FAIL(s->mid, n);
    GROW_OR_FAIL(s->umask, n);
    GROW_OR_FAIL(s->ucnt, n);
    GROW_OR_FAIL(s->uused, n);
    GROW_OR_FAIL(s->uvis, n);
    s->cap = n;
    return true;
}

/* Give each event a distinct-mask id (-1: matches no step). Returns the
 * number of distinct masks; *single: every mask has one bit. */
static int32_t mask_ids(const struct funnel_ctx *c, const struct funnel_person *pp,
                        struct funnel_uscratch *s, bool *single)
{
    size_t hsize = 16; /* per person, so small persons stay cheap */
    while (hsize < 2 * (size_t)pp->n)
        hsize *= 2;
    size_t hm = hsize - 1;
    memset(s->hash, -1, hsize * sizeof *s->hash);
    int32_t M = 0;
    *single = true;
    for (int32_t p = 0; p < pp->n; p++) {
        uint32_t m = pp->mask[p] & c->full;
        s->mid[p] = -1;
        if (!m)
            continue;
        if (m & (m - 1))
            *single = false;
        size_t h = (m * 2654435761u) & hm;
        while (s->hash[h] >= 0 && s->umask[s->hash[h]] != m)
            h = (h + 1) & hm;
        if (s->hash[h] < 0) {
            s->hash[h] = M;
            s->umask[M] = m;
            s->ucnt[M++] = 0;
        }
        s->mid[p] = s->hash[h];
    }
    return M;
}

struct matcher {
    const uint32_t *um;
    const int32_t *cnt;
    int32_t *used;
    uint8_t *vis;
    int32_t M;
    int K;
    int32_t assign[FUNNEL_MAX_STEPS];
};

/* Kuhn's augmenting path from step j over masks with multiplicity. */
static bool kuhn(struct matcher *mt, int j)
{
    for (int32_t id = 0; id < mt->M; id++) {
        if (mt->vis[id] || mt->cnt[id] == 0 || !(mt->um[id] >> j & 1u))
            continue;
        mt->vis[id] = 1;
        if (mt->used[id] < mt->cnt[id]) {
            mt->used[id]++;
            mt->assign[j] = id;
            return true;
        }
        for (int j2 = 0; j2 < mt->K; j2++)
            if (mt->assign[j2] == id && kuhn(mt, j2)) {
                mt->assign[j] = id;
                return true;
            }
    }
    return false;
}

/* Maximum number of steps matched to distinct events of the window. */
static int max_matching(const struct funnel_ctx *c, struct funnel_uscratch *s, int32_t M)
{
    struct matcher mt = {s->umask, s->ucnt, s->uused, s->uvis, M, c->K, {0}};
    memset(s->uused, 0, (size_t)M * sizeof *s->uused);
    int size = 0;
    for (int j = 0; j < c->K; j++)
        mt.assign[j] = -1;
    for (int j = 0; j < c->K; j++) {
        memset(s->uvis, 0, (size_t)M);
        if (kuhn(&mt, j))
            size++;
    }
    return size;
}

struct window {
    int32_t cntbit[FUNNEL_MAX_STEPS];
    int nbits;
};

static void win_add(const struct funnel_ctx *c, const struct funnel_person *pp,
                    struct funnel_uscratch *s, struct window *w, int32_t p, int delta)
{
    if (s->mid[p] < 0)
        return;
    s->ucnt[s->mid[p]] += delta;
    for (uint32_t b = pp->mask[p] & c->full; b; b &= b - 1) {
        int k = lowbit(b);
        if (delta > 0 && w->cntbit[k]++ == 0)
            w->nbits++;
        if (delta < 0 && --w->cntbit[k] == 0)
            w->nbits--;
    }
}

/* Event-side augmenting path for the incremental matching of one window. */
static bool aug_event(const struct funnel_person *pp, uint32_t full, int32_t q, int32_t *owner,
                      uint32_t *vis)
{
    for (uint32_t b = pp->mask[q] & full & ~*vis; b; b &= b - 1) {
        int k = lowbit(b);
        if (*vis >> k & 1u)
            continue;
        *vis |= 1u << k;
        if (owner[k] < 0 || aug_event(pp, full, owner[k], owner, vis)) {
            owner[k] = q;
            return true;
        }
    }
    return false;
}

/* Instants at which the window of anchor a first holds 1, 2, .. D steps. */
static void unordered_times(const struct funnel_ctx *c, const struct funnel_person *pp, int32_t a,
                            int D, struct funnel_pick *out)
{
    int32_t owner[FUNNEL_MAX_STEPS];
    for (int k = 0; k < c->K; k++)
        owner[k] = -1;
    int size = 0;
    for (int32_t q = a; q < pp->n && size < D && pp->ts[q] - pp->ts[a] <= c->W; q++) {
        uint32_t vis = 0;
        if ((pp->mask[q] & c->full) && aug_event(pp, c->full, q, owner, &vis))
            out->t[size++] = pp->ts[q];
    }
}

enum funnel_status funnel_unordered_pick(const struct funnel_ctx *c,
                                         const struct funnel_person *pp,
                                         struct funnel_uscratch *s, struct funnel_pick *out)
{
    if (!ensure_unordered(s, (size_t)pp->n))
        return FUNNEL_ST_OOM;
    bool single;
    int32_t M = mask_ids(c, pp, s, &single);
    struct window w;
    memset(&w, 0, sizeof w);
    int best = 0;
    int32_t lo = 0, hi = -1, s0 = -1;
    for (int32_t a = 0; a < pp->n && best < c->K; a++) {
        if (s->mid[a] < 0 || pp->ts[a] < c->from || pp->ts[a] >= c->to)
            continue;
        for (; lo < a; lo++)
            if (lo <= hi)
                win_add(c, pp, s, &w, lo, -1);
        if (hi < a - 1)
            hi = a - 1;
        while (hi + 1 < pp->n && pp->ts[hi + 1] - pp->ts[a] <= c->W)
            win_add(c, pp, s, &w, ++hi, +1);
        if (w.nbits <= best)
            continue;
        int d = single ? w.nbits : max_matching(c, s, M);
        if (d > best) {
            best = d;
            s0 = a;
        }
    }
    out->depth = best;
    if (best > 0) {
        out->start = s0;
        unordered_times(c, pp, s0, best, out);
    }
    return FUNNEL_ST_OK;
}
