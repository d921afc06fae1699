#ifndef AARRR_H
#define AARRR_H

/*
 * AARRR (pirate metrics) for persons acquired in [from_day, to_day):
 * Acquisition, Activation, Retention, Revenue, Referral.
 *
 *   struct aarrr_params prm = {.from_day = a, .to_day = b, .retention_days = 7};
 *   struct aarrr_result res;
 *   aarrr_compute(persons, n, &prm, &res);
 *
 * Two counts per step: did[] (persons who did the step, regardless of the
 * others) and funnel[] (did the step and every earlier step). Rates whose
 * denominator is 0 are NaN (render as JSON null). Exact rules:
 * docs/segments.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum aarrr_step {
    AARRR_ACQUISITION = 0,
    AARRR_ACTIVATION = 1,
    AARRR_RETENTION = 2,
    AARRR_REVENUE = 3,
    AARRR_REFERRAL = 4,
    AARRR_N_STEPS = 5
};

struct aarrr_person {
    int32_t first_seen_day;  /* day number of the first activity (acquisition) */
    int32_t last_active_day; /* day number of the last activity so far */
    int32_t paid_orders;     /* net-paid orders so far */
    uint32_t referrals;      /* persons this person referred */
    bool activated;          /* did the configured activation event */
};

struct aarrr_params {
    int32_t from_day, to_day; /* acquisition window [from_day, to_day) */
    int32_t retention_days;   /* 7: retained iff active >= this many days
                                 after first seen */
};

struct aarrr_result {
    size_t did[AARRR_N_STEPS];      /* did[0] = acquired */
    size_t funnel[AARRR_N_STEPS];   /* funnel[0] = acquired */
    double did_of_acquired[AARRR_N_STEPS];    /* did[k] / acquired */
    double funnel_of_acquired[AARRR_N_STEPS]; /* funnel[k] / acquired */
    double funnel_of_previous[AARRR_N_STEPS]; /* funnel[k] / funnel[k-1];
                                                 [0] = 1 (or NaN if none) */
    size_t outside_window;          /* persons not acquired in the window */
};

/* Stable code of a step ("acquisition"); NULL when out of range. */
const char *aarrr_code(enum aarrr_step s);

/* Rule text of a step (static string); NULL when out of range. */
const char *aarrr_rule(enum aarrr_step s);

/*
 * Count n persons. Returns false when to_day < from_day or
 * retention_days < 0 (*res is then zeroed).
 */
bool aarrr_compute(const struct aarrr_person *persons, size_t n,
                   const struct aarrr_params *params, struct aarrr_result *res);

#endif
