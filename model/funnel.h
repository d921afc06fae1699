#ifndef FUNNEL_H
#define FUNNEL_H

/*
 * Conversion funnels over per-person event sequences (ordered, strict,
 * unordered), with conversion windows, per-step windows, exclusion steps and
 * a breakdown taken from the step-1 event of each person's counted attempt.
 *
 *   struct funnel_params prm = {.n_steps = 3, .order = FUNNEL_ORDERED,
 *       .from_us = f, .to_us = t, .window_us = 14 * FUNNEL_DAY_US,
 *       .n_breakdowns = 1};
 *   struct funnel_events ev = {.n_persons = n, .person_off = off, .ts = ts,
 *       .step_mask = mask};
 *   struct funnel_result res;
 *   if (!funnel_run(&prm, &ev, &res, NULL, NULL)) ... res.error ...
 *   ... res.cell[b * res.n_steps + k].count ...
 *   funnel_result_free(&res);
 *
 * Events are grouped by person (CSR offsets) and sorted within a person by
 * (ts, ingest sequence); that order is the tie rule. Bit k of step_mask[i]
 * says event i matches step k (0-based), property filters included; the
 * caller computes the masks. Exact rules: docs/semantics-analytics.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FUNNEL_MAX_STEPS 20
#define FUNNEL_MAX_EXCLUSIONS 32
#define FUNNEL_DAY_US INT64_C(86400000000)
#define FUNNEL_NO_LIMIT INT64_C(-1) /* step_window_us entry: no per-step limit */

enum funnel_order {
    FUNNEL_ORDERED,   /* steps in order; other events may come between */
    FUNNEL_STRICT,    /* steps in order on consecutive events of the person */
    FUNNEL_UNORDERED, /* any order: depth = distinct steps done in the window */
};

enum funnel_exclusion_mode {
    FUNNEL_EXCL_DROP_PERSON, /* PostHog: a person whose deepest attempts are all
                                excluded leaves the funnel entirely (default) */
    FUNNEL_EXCL_KEEP_PRIOR,  /* Mixpanel: steps done before the exclusion count */
};

/* An exclusion: event bit j of excl_mask, between steps from_step and
 * to_step (0-based, from_step < to_step). */
struct funnel_exclusion {
    int from_step;
    int to_step;
};

struct funnel_params {
    int n_steps;                  /* 1..FUNNEL_MAX_STEPS */
    enum funnel_order order;
    int64_t from_us, to_us;       /* a step-1 event in [from, to) opens an attempt */
    int64_t window_us;            /* last step - step 1 <= window (inclusive), >= 0 */
    const int64_t *step_window_us; /* NULL, or n_steps limits: [k] bounds step k -
                                     step k-1 (inclusive), FUNNEL_NO_LIMIT for
                                     none; [0] is ignored. Not for unordered. */
    int n_exclusions;             /* 0..FUNNEL_MAX_EXCLUSIONS; not for unordered */
    const struct funnel_exclusion *exclusions;
    enum funnel_exclusion_mode exclusion_mode;
    int32_t n_breakdowns;         /* >= 1; breakdown ids lie in [0, n_breakdowns) */
};

struct funnel_events {
    size_t n_persons;
    const int64_t *person_off;  /* n_persons + 1 offsets into the arrays below */
    const int64_t *ts;          /* µs UTC, non-decreasing within a person */
    const uint32_t *step_mask;  /* bit k: matches step k; bits >= n_steps ignored */
    const uint32_t *excl_mask;  /* bit j: matches exclusion j; NULL if none */
    const int32_t *breakdown;   /* breakdown value id per event; NULL: all 0 */
};

/* One (breakdown, step) cell. Times are those of the persons counted at
 * this step or deeper, measured on their counted attempt (step k >= 1). */
struct funnel_cell {
    int64_t count;               /* persons that reached this step */
    size_t n_times;              /* = count for k >= 1, 0 for step 0 */
    int64_t *from_prev_us;       /* step k - step k-1, per person, unordered */
    int64_t *from_first_us;      /* step k - step 0, per person, unordered */
    double mean_from_prev_us;    /* exact mean, NaN when n_times == 0 */
    double median_from_prev_us;  /* even count: mean of the two middle values */
    double mean_from_first_us;
    double median_from_first_us;
};

struct funnel_result {
    int n_steps;
    int32_t n_breakdowns;
    struct funnel_cell *cell;    /* [b * n_steps + k]; owned */
    int64_t n_dropped;           /* persons removed by exclusions (drop mode) */
    const char *error;           /* static reason when funnel_run fails */
};

/*
 * Run the funnel over every person. On success res owns memory (release
 * with funnel_result_free). person_depth (n_persons entries, may be NULL)
 * receives 0 (never entered), -1 (dropped by an exclusion) or the number of
 * steps reached; person_breakdown (may be NULL) the breakdown id of the
 * counted attempt or -1. Returns false with res->error set (and nothing to
 * free) on invalid parameters or events, or on allocation failure.
 */
bool funnel_run(const struct funnel_params *params, const struct funnel_events *ev,
                struct funnel_result *res, int8_t *person_depth,
                int32_t *person_breakdown) __attribute__((warn_unused_result));

/* Free what funnel_run allocated; safe on a zeroed result or NULL. */
void funnel_result_free(struct funnel_result *res);

/*
 * Exact mean and median of n durations (µs). Reorders v (selection, O(n)
 * expected). The mean is computed from an exact integer sum; the median of an
 * even count is the mean of the two middle values. NaN for both when n == 0.
 */
void funnel_duration_stats(int64_t *v, size_t n, double *mean, double *median);

#endif
