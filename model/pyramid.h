#ifndef PYRAMID_H
#define PYRAMID_H

/*
 * Value pyramid: payers split into tiers by net revenue rank (top 1%, next
 * 4%, next 15%, remaining payers by default) plus a tier of non-payers.
 *
 *   struct pyramid_params prm;  pyramid_default_params(&prm);
 *   struct pyramid_result res;
 *   pyramid_compute(net_revenue, n, &prm, tier_out, &res);
 *
 * Tier t (0 = top) of a payer: the first t with G * 10000 < cut_bp[t] * P,
 * G = payers with strictly more revenue, P = payers. Exact rules and tie
 * handling: docs/segments.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PYRAMID_MAX_CUTS 8
#define PYRAMID_MAX_TIERS (PYRAMID_MAX_CUTS + 2)

/* Cumulative cuts in basis points of payers, strictly increasing, each in
 * 1..9999. n_cuts cuts give n_cuts + 1 payer tiers and one non-payer tier. */
struct pyramid_params {
    size_t n_cuts;
    uint32_t cut_bp[PYRAMID_MAX_CUTS]; /* default {100, 500, 2000} */
};

struct pyramid_tier {
    uint32_t from_bp, to_bp; /* nominal payer-rank range, basis points;
                                0, 0 for the non-payer tier */
    size_t persons;
    int64_t revenue;       /* sum of net revenue of the tier (0 for non-payers) */
    int64_t min_revenue;   /* 0 when the tier is empty or non-payers */
    int64_t max_revenue;
    double person_share;   /* persons / all persons; 0 when n = 0 */
    double revenue_share;  /* revenue / payer revenue; 0 when no payers */
};

struct pyramid_result {
    size_t n_tiers;       /* n_cuts + 2; the last is the non-payer tier */
    size_t n_payers;
    int64_t total_revenue; /* payer revenue */
    struct pyramid_tier tier[PYRAMID_MAX_TIERS];
};

/* Fill *p with the default cuts 1%, 5%, 20%. */
void pyramid_default_params(struct pyramid_params *p);

/*
 * Tier n persons by net_revenue[0..n) (minor units; a payer has > 0).
 * params NULL = defaults. out_tier (caller array of n, may be NULL) gets the
 * tier index, n_cuts + 1 for non-payers. Returns false on invalid params,
 * allocation failure, n > UINT32_MAX or payer revenue overflowing int64.
 */
bool pyramid_compute(const int64_t *net_revenue, size_t n,
                     const struct pyramid_params *params, uint8_t *out_tier,
                     struct pyramid_result *res);

#endif
