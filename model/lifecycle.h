#ifndef LIFECYCLE_H
#define LIFECYCLE_H

/*
 * Per-period lifecycle counts (PostHog "Lifecycle" insight): new,
 * returning, resurrecting and dormant persons for each local day, week or
 * month of a calendar (model/calendar.h).
 *
 *   struct lifecycle_params prm = {.unit = CALENDAR_WEEK, .first_period = 1};
 *   struct lifecycle_events ev = {.n_persons = n, .person_off = off,
 *       .ts = ts, .first_seen_us = first};
 *   struct lifecycle_result res;
 *   if (!lifecycle_compute(&cal, &prm, &ev, &res)) ...;
 *   ... res.n_new[i] is period res.first_period + i ...
 *   lifecycle_result_free(&res);
 *
 * Build the calendar from one period before the first reported one: that
 * period only tells whether a person was active "previously".
 * Exact rules: docs/semantics-analytics.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/calendar.h"

struct lifecycle_params {
    enum calendar_unit unit;
    int32_t first_period;     /* first reported period, >= 1 */
};

struct lifecycle_events {
    size_t n_persons;
    const int64_t *person_off;    /* n_persons + 1 offsets */
    const int64_t *ts;            /* activity events only, µs UTC, sorted per person */
    const int64_t *first_seen_us; /* per person: first activity ever (may precede the
                                     calendar); NULL: the first event given */
};

struct lifecycle_result {
    int32_t first_period;     /* calendar period of row 0 */
    int32_t n_periods;        /* rows: periods first_period .. calendar end */
    int64_t *n_new;           /* first activity ever in the period */
    int64_t *n_returning;     /* active now and in the previous period */
    int64_t *n_resurrecting;  /* active now, not previously, active before that */
    int64_t *n_dormant;       /* active previously, not now: <= 0 (negated) */
};

/*
 * Count lifecycle states for every period from first_period to the end of
 * the calendar. On success res owns memory (lifecycle_result_free). Returns
 * false, res zeroed, on invalid input (first_period < 1 or beyond the
 * calendar, unsorted events) or allocation failure.
 */
bool lifecycle_compute(const struct calendar *cal, const struct lifecycle_params *params,
                       const struct lifecycle_events *ev, struct lifecycle_result *res)
    __attribute__((warn_unused_result));

/* Free what lifecycle_compute allocated; safe on a zeroed result or NULL. */
void lifecycle_result_free(struct lifecycle_result *res);

#endif
