/*
 * AARRR pirate metrics (design).
 *
 * Dave McClure's "Startup Metrics for Pirates" (2007) stages, over the persons
 * whose first activity day falls in [from_day, to_day) (day numbers in the
 * project's time zone):
 *   Acquisition  acquired in the window
 *   Activation   did the configured activation event (flag from the caller)
 *   Retention    any activity retention_days (default 7) or more days after
 *                first seen: last_active_day - first_seen_day >= 7
 *   Revenue      at least one net-paid order
 *   Referral     referred at least one person
 * did[k] counts each step on its own; funnel[k] requires steps 0..k, so
 * funnel is non-increasing and its step rates are at most 1. Persons acquired
 * fewer than retention_days before the data end cannot be retained yet; the
 * caller chooses to_day accordingly (documented in docs/segments.md).
 * One pass, O(n).
 */
#include "model/aarrr.h"

#include <math.h>
#include <string.h>

static const char *const codes[AARRR_N_STEPS] = {
    "acquisition", "activation", "retention", "revenue", "referral",
};

static const char *const rules[AARRR_N_STEPS] = {
    "first seen on a day in [from, to)",
    "did the configured activation event",
    "active again at least retention_days (default 7) days after first seen",
    "at least one net-paid order",
    "referred at least one new person",
};

const char *aarrr_code(enum aarrr_step s)
{
    return (unsigned)s < AARRR_N_STEPS ? codes[s] : NULL;
}

const char *aarrr_rule(enum aarrr_step s)
{
    return (unsigned)s < AARRR_N_STEPS ? rules[s] : NULL;
}

static double ratio(size_t num, size_t den)
{
    return den ? (double)num / (double)den : NAN;
}

bool aarrr_compute(const struct aarrr_person *persons, size_t n,
                   const struct aarrr_params *params, struct aarrr_result *res)
{
    memset(res, 0, sizeof *res);
    if (params->to_day < params->from_day || params->retention_days < 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        const struct aarrr_person *p = &persons[i];
        if (p->first_seen_day < params->from_day ||
            p->first_seen_day >= params->to_day) {
            res->outside_window++;
            continue;
        }
        bool step[AARRR_N_STEPS] = {
            true,
            p->activated,
            (int64_t)p->last_active_day - p->first_seen_day >=
                params->retention_days,
            p->paid_orders > 0,
            p->referrals > 0,
        };
        bool all = true;
        for (int k = 0; k < AARRR_N_STEPS; k++) {
            all = all && step[k];
            res->did[k] += step[k];
            res->funnel[k] += all;
        }
    }
    size_t acq = res->did[AARRR_ACQUISITION];
    for (int k = 0; k < AARRR_N_STEPS; k++) {
        res->did_of_acquired[k] = ratio(res->did[k], acq);
        res->funnel_of_acquired[k] = ratio(res->funnel[k], acq);
        res->funnel_of_previous[k] =
            ratio(res->funnel[k], k ? res->funnel[k - 1] : acq);
    }
    return true;
}
