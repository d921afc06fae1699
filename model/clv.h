#ifndef CLV_H
#define CLV_H

/*
 * Customer lifetime value over a horizon in months, as lifetimes'
 * GammaGammaFitter.customer_lifetime_value / utils._customer_lifetime_value:
 *
 *   CLV = sum_{i=1..H} margin * E[spend] * (E[Y(i f)] - E[Y((i-1) f)]) / (1 + d)^i
 *
 * E[Y(t)] is the conditional expected number of purchases in (T, T + t] of
 * the transaction model (BG/NBD or Pareto/NBD), E[spend] the Gamma-Gamma
 * conditional expected average spend, d the monthly discount rate and f the
 * length of a month in the model's time unit: days_per_month / unit_days,
 * 30.4375 / 1 for days or 30.4375 / 7 = 4.348 for weeks by default
 * (lifetimes hard-codes 30 days and 4.345 weeks; set days_per_month = 30 to
 * reproduce it for days). docs/ltv-model.md.
 */

#include <stdbool.h>
#include <stddef.h>

#include "model/btyd.h"

enum clv_model {
    CLV_BGNBD = 0,    /* params: r, alpha, a, b (model/bgnbd.h) */
    CLV_PARETONBD = 1 /* params: r, alpha, s, beta (model/paretonbd.h) */
};

struct clv_opts {
    int months;            /* horizon H, 1..1200; default 12 */
    double discount_rate;  /* monthly rate d >= 0; default 0.01 (lifetimes) */
    double margin;         /* multiplies the spend; default 1 */
    double days_per_month; /* default 30.4375 (365.25 / 12) */
    enum btyd_unit unit;   /* time unit of the transaction model; default days */
};

/* Fills the defaults listed in struct clv_opts. */
void clv_opts_default(struct clv_opts *o);

/*
 * Discounted expected purchases DET = sum_i (E[Y(i f)] - E[Y((i-1) f)]) /
 * (1 + d)^i of one customer with history (x, t_x, T) under the transaction
 * model, so that CLV = margin * E[spend] * DET. Computed once per distinct
 * (x, t_x, T) pattern, it serves every customer with that pattern. False on
 * invalid options, parameters or history.
 */
bool clv_discounted_purchases(enum clv_model model, const double params[4], double x,
                              double tx, double T, const struct clv_opts *o, double *out);

/*
 * CLV of n customers into out[0..n-1]: margin * gammagamma_expected_spend(
 * gg_params, x, m) * DET. gg_params needs q > 1. False (why set) at the first
 * customer that fails; out is then partially written.
 */
bool clv_compute(enum clv_model model, const double params[4], const double gg_params[3],
                 const double *x, const double *tx, const double *T, const double *m, size_t n,
                 const struct clv_opts *o, double *out, const char **why);

#endif
