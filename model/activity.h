#ifndef ACTIVITY_H
#define ACTIVITY_H

/*
 * Active-user counts per local day (model/calendar.h): DAU and trailing
 * windows (WAU = 7 days, MAU = 30 days) in one pass.
 *
 *   int32_t w[3] = {1, 7, 30};
 *   struct activity_result res;
 *   if (!activity_compute(&cal, n, off, ts, w, 3, &res)) ...;
 *   ... res.count[k * res.n_days + d] = persons active in days d-w[k]+1 .. d
 *   activity_result_free(&res);
 *
 * Trailing windows that reach before the calendar only see the calendar's
 * days: start the table w-1 days before the first reported day.
 * Exact rules: docs/semantics-analytics.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/calendar.h"

#define ACTIVITY_MAX_WINDOWS 8

struct activity_result {
    int32_t n_days;
    int n_windows;
    int32_t windows[ACTIVITY_MAX_WINDOWS]; /* window lengths in days */
    int64_t *count;  /* n_windows x n_days: distinct persons with an event in
                        local days [d - w + 1, d] */
};

/*
 * Count distinct active persons per day for each trailing window length
 * (1..365 days; 1 = DAU). Events (qualifying activity only) are grouped by
 * person (person_off, n_persons + 1 entries) and sorted by time within a
 * person; events outside the calendar are ignored. On success res owns
 * memory (activity_result_free). Returns false, res zeroed, on invalid input
 * or allocation failure.
 */
bool activity_compute(const struct calendar *cal, size_t n_persons, const int64_t *person_off,
                      const int64_t *ts, const int32_t *windows, int n_windows,
                      struct activity_result *res) __attribute__((warn_unused_result));

/* Free what activity_compute allocated; safe on a zeroed result or NULL. */
void activity_result_free(struct activity_result *res);

#endif
