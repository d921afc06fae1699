/*
 * AIPL consumer stages and FAST indicators (design).
 *
 * AIPL (Awareness, Interest, Purchase, Loyalty) is Alibaba's consumer-asset
 * funnel; FAST (Fertility = AIPL total, Advancing = AIPL conversion,
 * Superiority = high-value / member count, Thriving = member active rate) is
 * the matching consumer-operations health scorecard. Our operational
 * definitions, per person, deepest stage wins:
 *   Loyalty    paid_orders >= loyalty_min_orders (2) or a loyalty event
 *   Purchase   paid_orders >= 1
 *   Interest   a configured interest event
 *   Awareness  a page/screen view or a configured awareness event
 *   none       otherwise (not counted in reach)
 * Deepening from stage s (A, I or P) between date 1 and date 2 = persons in s
 * at date 1 who are at any deeper stage at date 2 / persons in s at date 1.
 * FAST: F = reach (A+I+P+L), A = pooled deepening rate over A, I and P,
 * S = super users (Loyalty or top value tier), T = share of super users
 * active in the last 30 days. Undefined rates are NaN. One pass each, O(n).
 */
#include "model/aipl.h"

#include <math.h>
#include <string.h>

static const struct aipl_params defaults = {.loyalty_min_orders = 2};

static const char *const codes[AIPL_N] = {
    "none", "awareness", "interest", "purchase", "loyalty",
};

static const char *const labels[AIPL_N] = {
    "无", "认知", "兴趣", "购买", "忠诚",
};

static const char *const rules[AIPL_N] = {
    "no awareness, interest, purchase or loyalty signal",
    "page/screen view or a configured awareness event, and no deeper stage",
    "a configured interest event, and no purchase or loyalty",
    "at least 1 net-paid order, and not loyal",
    "at least loyalty_min_orders (default 2) net-paid orders, or a configured "
    "loyalty event",
};

const char *aipl_code(enum aipl_stage s)
{
    return (unsigned)s < AIPL_N ? codes[s] : NULL;
}

const char *aipl_label_zh(enum aipl_stage s)
{
    return (unsigned)s < AIPL_N ? labels[s] : NULL;
}

const char *aipl_rule(enum aipl_stage s)
{
    return (unsigned)s < AIPL_N ? rules[s] : NULL;
}

static double ratio(size_t num, size_t den)
{
    return den ? (double)num / (double)den : NAN;
}

enum aipl_stage aipl_stage_of(const struct aipl_person *p,
                              const struct aipl_params *params)
{
    if (p->paid_orders >= params->loyalty_min_orders || p->loyalty_event)
        return AIPL_LOYALTY;
    if (p->paid_orders >= 1)
        return AIPL_PURCHASE;
    if (p->interested)
        return AIPL_INTEREST;
    if (p->aware)
        return AIPL_AWARENESS;
    return AIPL_NONE;
}

bool aipl_classify(const struct aipl_person *persons, size_t n,
                   const struct aipl_params *params, uint8_t *out_stage,
                   struct aipl_sizes *sizes)
{
    const struct aipl_params *prm = params ? params : &defaults;

    memset(sizes, 0, sizeof *sizes);
    if (prm->loyalty_min_orders < 1)
        return false;
    for (size_t i = 0; i < n; i++) {
        const struct aipl_person *p = &persons[i];
        enum aipl_stage s = aipl_stage_of(p, prm);
        sizes->stage[s]++;
        if (s == AIPL_LOYALTY || p->top_value) {
            sizes->super_users++;
            sizes->super_active += p->active_recent;
        }
        if (out_stage)
            out_stage[i] = (uint8_t)s;
    }
    sizes->reach = n - sizes->stage[AIPL_NONE];
    sizes->super_active_rate = ratio(sizes->super_active, sizes->super_users);
    return true;
}

bool aipl_deepen(const uint8_t *stage1, const uint8_t *stage2, size_t n,
                 struct aipl_deepening *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        if (stage1[i] >= AIPL_N || stage2[i] >= AIPL_N)
            return false;
        out->base[stage1[i]]++;
        if (stage2[i] > stage1[i])
            out->deeper[stage1[i]]++;
        else if (stage2[i] < stage1[i])
            out->regressed++;
    }
    for (int s = 0; s < AIPL_N; s++)
        out->rate[s] = ratio(out->deeper[s], out->base[s]);
    out->rate[AIPL_LOYALTY] = NAN;
    for (int s = AIPL_AWARENESS; s <= AIPL_PURCHASE; s++) {
        out->base_aip += out->base[s];
        out->deeper_aip += out->deeper[s];
    }
    out->rate_aip = ratio(out->deeper_aip, out->base_aip);
    return true;
}

void aipl_fast(const struct aipl_sizes *sizes, const struct aipl_deepening *deep,
               struct aipl_fast *out)
{
    out->reach = sizes->reach;
    out->deepening_rate = deep->rate_aip;
    out->super_users = sizes->super_users;
    out->super_active_rate = sizes->super_active_rate;
}
