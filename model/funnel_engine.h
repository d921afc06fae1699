#ifndef FUNNEL_ENGINE_H
#define FUNNEL_ENGINE_H

/*
 * Funnel engine: per-person evaluation behind funnel_run (model/funnel.h).
 * Internal to the funnel module; handlers use model/funnel.h only.
 *
 *   struct funnel_scratch *s = funnel_scratch_new(max_events_per_person);
 *   for each person: funnel_person_pick(&ctx, &person, s, &pick);
 *   funnel_scratch_free(s);
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/funnel.h"

#define FUNNEL_UNLIMITED INT64_MAX /* per-step limit meaning "none" */

/* Query constants, validated and pre-digested by funnel_run. */
struct funnel_ctx {
    int K;                           /* number of steps */
    enum funnel_order order;
    int64_t from, to, W;             /* entry range [from, to), window (µs) */
    int64_t sw[FUNNEL_MAX_STEPS];    /* [k]: limit of step k - step k-1, or
                                        FUNNEL_UNLIMITED */
    bool has_step_windows;           /* some sw[k] is limited */
    uint32_t gapx[FUNNEL_MAX_STEPS]; /* exclusion bits watching the gap after
                                        step k (from <= k < to) */
    uint32_t anyx;                   /* OR of gapx */
    bool drop;                       /* FUNNEL_EXCL_DROP_PERSON */
    uint32_t full;                   /* (1 << K) - 1 */
};

/* One person's events, time-sorted (borrowed from the caller's arrays). */
struct funnel_person {
    int32_t n;
    const int64_t *ts;
    const uint32_t *mask;
    const uint32_t *xm;              /* NULL when there are no exclusions */
};

/* The counted attempt of one person. */
struct funnel_pick {
    int depth;                       /* 0 never entered, -1 dropped by an
                                        exclusion, else steps reached */
    int32_t start;                   /* position of its step-1 event */
    int64_t t[FUNNEL_MAX_STEPS];     /* instants of its steps 0..depth-1 */
};

enum funnel_status {
    FUNNEL_ST_OK,
    FUNNEL_ST_OOM,                   /* allocation failed */
    FUNNEL_ST_BUG,                   /* internal inconsistency (no chain) */
};

struct funnel_scratch;

/* Working memory, sized for persons of max_events events (it grows on
 * demand for longer ones); NULL on OOM. */
struct funnel_scratch *funnel_scratch_new(size_t max_events);

/* Release scratch memory; NULL is a no-op. */
void funnel_scratch_free(struct funnel_scratch *s);

/*
 * Evaluate one person (n >= 1, events time-sorted) and fill *out.
 * Ordered: O(n x matched steps) amortised; strict: O(n x K); unordered:
 * O(n) window moves plus a matching over distinct masks per anchor.
 */
enum funnel_status funnel_person_pick(const struct funnel_ctx *c,
                                      const struct funnel_person *pp,
                                      struct funnel_scratch *s, struct funnel_pick *out);

#endif
