/*
 * Lifecycle stages (design).
 *
 * DESIGN.md section 5: new (first seen within 7 days), growing, mature,
 * dormant (inactive 30-90 days), churned (inactive over 90 days), the usual
 * 引入期 / 成长期 / 成熟期 / 休眠期 / 流失期 of Chinese user-operations
 * practice. With A = as_of_day, age = A - first_seen_day and
 * idle = A - last_active_day (whole days, both >= 0), checked in this order:
 *
 *   churned  idle >  churn_days                     (default 90)
 *   dormant  idle >= dormant_days                   (default 30)
 *   new      age  <  new_days                       (default 7: first seen
 *                                                    on one of the last 7 days)
 *   mature   age  >  mature_age_days (30) and
 *            (paid_orders >= mature_min_orders (2) or
 *             active_days >= mature_min_active_days (10 of the last 30))
 *   growing  every other active person
 *
 * Since new_days <= dormant_days, a new person is never dormant, so the order
 * between those two rules does not matter. idle of 30 means 30 whole days
 * without activity (days A-29..A); that person is dormant.
 *
 * A person first seen after A, or with activity after A (the caller must cap
 * activity at as_of), or last active before first seen, is unclassified.
 * One pass, O(n), no allocation.
 */
#include "model/stages.h"

#include <stdio.h>
#include <string.h>

static const struct stages_params defaults = {
    .new_days = 7,
    .dormant_days = 30,
    .churn_days = 90,
    .mature_age_days = 30,
    .mature_min_orders = 2,
    .mature_min_active_days = 10,
    .active_window_days = 30,
};

static const char *const codes[STAGES_N] = {
    "new", "growing", "mature", "dormant", "churned",
};

static const char *const labels[STAGES_N] = {
    "引入期", "成长期", "成熟期", "休眠期", "流失期",
};

void stages_default_params(struct stages_params *p)
{
    *p = defaults;
}

bool stages_params_valid(const struct stages_params *p)
{
    return p->new_days >= 1 && p->new_days <= p->dormant_days &&
           p->dormant_days <= p->churn_days && p->mature_age_days >= 0 &&
           p->mature_min_orders >= 0 && p->mature_min_active_days >= 0 &&
           p->active_window_days >= 1;
}

enum stages_stage stages_of(const struct stages_person *p, int32_t as_of_day,
                            const struct stages_params *prm)
{
    if (p->first_seen_day > as_of_day || p->last_active_day > as_of_day ||
        p->last_active_day < p->first_seen_day)
        return STAGES_UNCLASSIFIED;
    int64_t age = (int64_t)as_of_day - p->first_seen_day;
    int64_t idle = (int64_t)as_of_day - p->last_active_day;
    if (idle > prm->churn_days)
        return STAGES_CHURNED;
    if (idle >= prm->dormant_days)
        return STAGES_DORMANT;
    if (age < prm->new_days)
        return STAGES_NEW;
    if (age > prm->mature_age_days &&
        (p->paid_orders >= prm->mature_min_orders ||
         p->active_days >= prm->mature_min_active_days))
        return STAGES_MATURE;
    return STAGES_GROWING;
}

bool stages_classify(const struct stages_person *persons, size_t n,
                     int32_t as_of_day, const struct stages_params *params,
                     uint8_t *out_stage, struct stages_summary *sum)
{
    const struct stages_params *prm = params ? params : &defaults;

    memset(sum, 0, sizeof *sum);
    if (!stages_params_valid(prm))
        return false;
    for (size_t i = 0; i < n; i++) {
        enum stages_stage s = stages_of(&persons[i], as_of_day, prm);
        if (s == STAGES_UNCLASSIFIED)
            sum->unclassified++;
        else
            sum->count[s]++;
        if (out_stage)
            out_stage[i] = (uint8_t)s;
    }
    return true;
}

const char *stages_code(enum stages_stage s)
{
    return (unsigned)s < STAGES_N ? codes[s] : NULL;
}

const char *stages_label_zh(enum stages_stage s)
{
    return (unsigned)s < STAGES_N ? labels[s] : NULL;
}

int stages_rule(const struct stages_params *params, enum stages_stage s,
                char *buf, size_t cap)
{
    const struct stages_params *p = params ? params : &defaults;

    switch (s) {
    case STAGES_CHURNED:
        return snprintf(buf, cap, "no activity for more than %d days "
                        "(idle > %d)", (int)p->churn_days, (int)p->churn_days);
    case STAGES_DORMANT:
        return snprintf(buf, cap, "no activity for %d to %d days "
                        "(%d <= idle <= %d)", (int)p->dormant_days,
                        (int)p->churn_days, (int)p->dormant_days,
                        (int)p->churn_days);
    case STAGES_NEW:
        return snprintf(buf, cap, "first seen within the last %d days "
                        "(age < %d) and not dormant or churned",
                        (int)p->new_days, (int)p->new_days);
    case STAGES_MATURE:
        return snprintf(buf, cap, "active (idle < %d), first seen more than "
                        "%d days ago (age > %d) and (paid orders >= %d or "
                        "active on >= %d of the last %d days)",
                        (int)p->dormant_days, (int)p->mature_age_days,
                        (int)p->mature_age_days, (int)p->mature_min_orders,
                        (int)p->mature_min_active_days,
                        (int)p->active_window_days);
    case STAGES_GROWING:
        return snprintf(buf, cap, "active (idle < %d), not new (age >= %d) "
                        "and not mature", (int)p->dormant_days,
                        (int)p->new_days);
    default:
        if (cap > 0)
            buf[0] = '\0';
        return -1;
    }
}
