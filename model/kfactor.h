#ifndef KFACTOR_H
#define KFACTOR_H

/*
 * K-factor (viral coefficient) of a cohort, invite funnel, cycle time and
 * top referrers.
 *
 *   struct kfactor_params prm = {.has_invites = true, .top_n = 10};
 *   struct kfactor_result res;
 *   if (kfactor_compute(members, n, signups, n_signups, &prm, &res)) ...
 *   kfactor_result_free(&res);
 *
 * Referee signups are one flat array in member order: member i's
 * n_referees instants follow those of members 0..i-1.
 * Exact rules: docs/segments.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kfactor_member {
    int64_t person_id;
    int64_t start_us;    /* member's own start (signup) instant, µs UTC */
    uint64_t invites;    /* invites sent (ignored unless has_invites) */
    uint32_t n_referees; /* referees of this member in the flat array */
};

struct kfactor_params {
    bool has_invites; /* invite events are tracked */
    size_t top_n;     /* length of the top-referrer list wanted (0 = none) */
};

struct kfactor_top {
    int64_t person_id;
    uint32_t referees; /* valid referees */
};

struct kfactor_result {
    size_t cohort_size;
    uint64_t referees;         /* valid referees (signup >= referrer start) */
    uint64_t invalid_referees; /* signup before the referrer's own start */
    uint64_t invites;          /* 0 unless has_invites */
    size_t referrers;          /* members with >= 1 valid referee */
    double k;                  /* referees / cohort_size; NaN if cohort empty */
    double invites_per_person; /* NaN unless has_invites and cohort non-empty */
    double invite_conversion;  /* referees / invites; NaN unless invites > 0 */
    double cycle_mean_days;    /* mean (signup - start) / 86400 s; NaN if none */
    double cycle_median_days;  /* median of the same delays; NaN if none */
    size_t n_top;              /* entries in top (<= top_n) */
    struct kfactor_top *top;   /* by referees desc, then person_id asc; owned */
};

/*
 * Compute the K-factor over n members. signup_us holds n_signups referee
 * signup instants (µs UTC) and must total the members' n_referees.
 * On success *res owns memory: release with kfactor_result_free. Returns
 * false (res zeroed, nothing to free) on a count mismatch or allocation
 * failure.
 */
bool kfactor_compute(const struct kfactor_member *members, size_t n,
                     const int64_t *signup_us, size_t n_signups,
                     const struct kfactor_params *params,
                     struct kfactor_result *res);

/* Free what kfactor_compute allocated; safe on a zeroed result or NULL. */
void kfactor_result_free(struct kfactor_result *res);

#endif
