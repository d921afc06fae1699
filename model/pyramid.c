/*
 * Value pyramid (design).
 *
 * Payers (net revenue > 0, minor units) are ranked by revenue, highest first.
 * For a payer let G = number of payers with strictly higher revenue and P =
 * number of payers. With cumulative cuts c_0 < c_1 < ... (basis points; the
 * default 100, 500, 2000 is top 1%, next 4%, next 15%), the payer's tier is
 * the first t with G / P < c_t / 10000, tested exactly as
 * G * 10000 < c_t * P; otherwise the last payer tier ("remaining payers").
 *
 * Consequences: the top payer (G = 0) is always in tier 0; with distinct
 * revenues tier t holds ranks ceil(c_{t-1} P / 10000) .. ceil(c_t P / 10000)
 * - 1 (so 100 payers give 1 / 4 / 15 / 80). Equal revenues share G and hence
 * the tier: a tie group straddling a cut goes wholly to the higher tier, so a
 * tier can exceed its nominal share (never the reverse for the top tier).
 * Non-payers (revenue <= 0) form the last tier.
 *
 * Ranks come from rfm_rank_counts (one radix sort); then one pass.
 */
#include "model/pyramid.h"

#include <stdlib.h>
#include <string.h>

#include "model/rfm.h"

static const uint32_t default_cuts[3] = {100, 500, 2000};

void pyramid_default_params(struct pyramid_params *p)
{
    memset(p, 0, sizeof *p);
    p->n_cuts = 3;
    memcpy(p->cut_bp, default_cuts, sizeof default_cuts);
}

static bool params_valid(const struct pyramid_params *p)
{
    if (p->n_cuts > PYRAMID_MAX_CUTS)
        return false;
    for (size_t k = 0; k < p->n_cuts; k++) {
        if (p->cut_bp[k] < 1 || p->cut_bp[k] > 9999)
            return false;
        if (k > 0 && p->cut_bp[k] <= p->cut_bp[k - 1])
            return false;
    }
    return true;
}

/* Tier of a payer with G payers strictly above it among P. */
static size_t payer_tier(const struct pyramid_params *p, uint64_t g, uint64_t P)
{
    size_t t = 0;
    while (t < p->n_cuts && !(g * 10000u < (uint64_t)p->cut_bp[t] * P))
        t++;
    return t;
}

static void init_tiers(const struct pyramid_params *p, struct pyramid_result *res)
{
    memset(res, 0, sizeof *res);
    res->n_tiers = p->n_cuts + 2;
    for (size_t t = 0; t <= p->n_cuts; t++) {
        res->tier[t].from_bp = t == 0 ? 0 : p->cut_bp[t - 1];
        res->tier[t].to_bp = t == p->n_cuts ? 10000 : p->cut_bp[t];
    }
}

/* Add one payer's revenue v to tier *tr; false on overflow. */
static bool tier_add(struct pyramid_tier *tr, int64_t v, int64_t *total)
{
    if (v > INT64_MAX - tr->revenue || v > INT64_MAX - *total)
        return false;
    if (tr->persons == 0 || v < tr->min_revenue)
        tr->min_revenue = v;
    if (tr->persons == 0 || v > tr->max_revenue)
        tr->max_revenue = v;
    tr->persons++;
    tr->revenue += v;
    *total += v;
    return true;
}

static void fill_shares(struct pyramid_result *res, size_t n)
{
    for (size_t t = 0; t < res->n_tiers; t++) {
        struct pyramid_tier *tr = &res->tier[t];
        tr->person_share = n ? (double)tr->persons / (double)n : 0.0;
        tr->revenue_share = res->total_revenue > 0
            ? (double)tr->revenue / (double)res->total_revenue : 0.0;
    }
}

bool pyramid_compute(const int64_t *net_revenue, size_t n,
                     const struct pyramid_params *params, uint8_t *out_tier,
                     struct pyramid_result *res)
{
    struct pyramid_params defp;
    int64_t *pay = NULL;
    uint32_t *below = NULL, *equal = NULL;
    size_t P = 0;
    bool ok = false;

    if (!params) {
        pyramid_default_params(&defp);
        params = &defp;
    }
    memset(res, 0, sizeof *res);
    if (!params_valid(params) || n > UINT32_MAX)
        return false;
    init_tiers(params, res);
    /* calloc, not malloc: GCC 12 reports a false -Wmaybe-uninitialized on
     * the partly filled array passed as const. */
    pay = calloc(n ? n : 1, sizeof *pay);
    below = malloc((n ? n : 1) * sizeof *below);
    equal = malloc((n ? n : 1) * sizeof *equal);
    if (!pay || !below || !equal)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (net_revenue[i] > 0)
            pay[P++] = net_revenue[i];
    if (!rfm_rank_counts(pay, P, below, equal))
        goto out;
    res->n_payers = P;
    for (size_t i = 0, j = 0; i < n; i++) {
        size_t t = params->n_cuts + 1; /* non-payer tier */
        if (net_revenue[i] > 0) {
            uint64_t g = (uint64_t)P - below[j] - equal[j];
            t = payer_tier(params, g, P);
            if (!tier_add(&res->tier[t], net_revenue[i], &res->total_revenue))
                goto out;
            j++;
        } else {
            res->tier[t].persons++;
        }
        if (out_tier)
            out_tier[i] = (uint8_t)t;
    }
    fill_shares(res, n);
    ok = true;
out:
    free(equal);
    free(below);
    free(pay);
    return ok;
}
