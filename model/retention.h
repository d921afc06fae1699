#ifndef RETENTION_H
#define RETENTION_H

/*
 * Cohort retention tables on local calendar periods (model/calendar.h).
 *
 *   struct retention_params prm = {.unit = CALENDAR_DAY,
 *       .cohort = RETENTION_FIRST_TIME, .mode = RETENTION_N_DAY,
 *       .n_cohorts = 30, .n_periods = 31, .now_us = now};
 *   struct retention_events ev = {.n_persons = n, .person_off = off,
 *       .ts = ts, .role = role, .first_start_us = first};
 *   struct retention_result res;
 *   if (!retention_compute(&cal, &prm, &ev, &res)) ...;
 *   ... res.retained[c * res.n_periods + N], res.avg[N] ...
 *   retention_result_free(&res);
 *
 * Cohorts are the first n_cohorts periods of the calendar; column N counts
 * cohort members who returned in period c+N (n_day) or in c+N or later
 * (unbounded); column 0 is the cohort size. Exact rules, censoring and the
 * average curve: docs/semantics-analytics.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/calendar.h"

#define RETENTION_START 1u         /* role bit: the event is a start event */
#define RETENTION_RETURN 2u        /* role bit: the event is a return event */
#define RETENTION_ANY_EVENT (-1)   /* retention_roles_from_ids: any event */
#define RETENTION_NEVER INT64_MIN  /* first_start_us: no start event ever */

enum retention_cohort {
    RETENTION_FIRST_TIME, /* cohort = period of the person's first-ever start */
    RETENTION_RECURRING,  /* every period with a start event is a cohort entry */
};

enum retention_mode {
    RETENTION_N_DAY,      /* returned in period c+N exactly ("on") */
    RETENTION_UNBOUNDED,  /* returned in period c+N or later ("on or after") */
};

struct retention_params {
    enum calendar_unit unit;     /* day, week or month of the calendar */
    enum retention_cohort cohort;
    enum retention_mode mode;
    int32_t n_cohorts;           /* 1..periods in the calendar */
    int32_t n_periods;           /* columns N = 0 .. n_periods-1, >= 1 */
    int64_t now_us;              /* a cell (c, N) is complete when period c+N
                                    ended at or before now (µs UTC) */
};

struct retention_events {
    size_t n_persons;
    const int64_t *person_off;   /* n_persons + 1 offsets */
    const int64_t *ts;           /* µs UTC, non-decreasing within a person */
    const uint8_t *role;         /* RETENTION_START | RETENTION_RETURN bits */
    const int64_t *first_start_us; /* per person, first-ever start instant (may
                                    precede the calendar) or RETENTION_NEVER;
                                    NULL: the first start event given */
};

struct retention_result {
    enum calendar_unit unit;
    int32_t n_cohorts, n_periods;
    int64_t *size;       /* n_cohorts: cohort sizes (entries, for recurring) */
    int64_t *retained;   /* n_cohorts x n_periods; [c][0] = size[c]; cells not
                            complete hold the returns seen so far */
    uint8_t *complete;   /* n_cohorts x n_periods: 1 if period c+N has ended */
    double *avg;         /* n_periods: sum retained / sum size over complete
                            cells (weighted); NaN when none */
    double *avg_simple;  /* n_periods: mean of retained/size over complete
                            cells with size > 0; NaN when none */
    int32_t *n_complete; /* n_periods: cohorts counted in avg[N] */
};

/* Day-N retention rates from a daily table (NaN where not available). */
struct retention_dn {
    double d1, d3, d7, d30;
};

/*
 * Build the retention table. cal must cover the cohort periods and every
 * return period of interest. On success res owns memory (release with
 * retention_result_free). Returns false, res zeroed, on invalid parameters
 * (n_cohorts beyond the calendar, n_periods < 1, unsorted events) or
 * allocation failure.
 */
bool retention_compute(const struct calendar *cal, const struct retention_params *params,
                       const struct retention_events *ev, struct retention_result *res)
    __attribute__((warn_unused_result));

/* Free what retention_compute allocated; safe on a zeroed result or NULL. */
void retention_result_free(struct retention_result *res);

/*
 * Roles from event-name ids: start_ev / return_ev are ids or
 * RETENTION_ANY_EVENT. Writes n role bytes to role_out.
 */
void retention_roles_from_ids(const int32_t *ev, size_t n, int32_t start_ev,
                              int32_t return_ev, uint8_t *role_out);

/* Weighted average day-1/3/7/30 rates of a CALENDAR_DAY result; NaN for a
 * column the table lacks or no complete cohort reached. */
void retention_dn(const struct retention_result *res, struct retention_dn *out);

#endif
