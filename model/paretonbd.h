#ifndef PARETONBD_H
#define PARETONBD_H

/*
 * Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), in the
 * formulation of Fader & Hardie (2005), "A Note on Deriving the Pareto/NBD
 * Model and Related Expressions" (brucehardie.com note 009), with the
 * conventions of lifetimes' ParetoNBDFitter. Parameters are double[4] =
 * {r, alpha, s, beta}; alpha and beta in the time unit of the data.
 *
 * Rows: frequency x (whole, 0..1e6), recency t_x, age T (0 <= t_x <= T), and
 * an optional weight (NULL = 1). Formulas: docs/ltv-model.md.
 */

#include <stdbool.h>
#include <stddef.h>

#include "model/btyd.h"

/*
 * Total log-likelihood sum_i w_i log L_i (note 009, eqs. 18-20; the A0 term
 * through 2F1 on whichever of alpha, beta is larger, so its argument stays
 * in [0, 1)). Returns false (why set) on invalid rows or parameters, or a
 * non-finite value.
 */
bool paretonbd_log_lik(const double params[4], const double *x, const double *tx,
                       const double *T, const double *w, size_t n, double *ll, const char **why);

/*
 * Maximum-likelihood fit on log-parameters, minimising lifetimes' objective
 * divided by the row count (same optimum):
 *   -LL / sum(w) + (penalizer / n) (r^2 + (alpha/maxT)^2 + s^2 + (beta/maxT)^2)
 * (lifetimes divides -LL by mean(w), not sum(w), so its penalty weakens with
 * the number of rows n). BFGS with central-difference gradients from
 * r = s = 1, alpha = beta = sum w T / sum w x (or o->init), Nelder-Mead
 * restart if needed. Returns out->converged; out is always finite.
 */
bool paretonbd_fit(const double *x, const double *tx, const double *T, const double *w,
                   size_t n, const struct btyd_fit_opts *o, struct btyd_fit *out);

/* P(alive at T | x, t_x, T) (note 009, eq. 21 / section 5.1). */
bool paretonbd_prob_alive(const double params[4], double x, double tx, double T, double *out);

/* E[X(t)] = r beta / (alpha (s - 1)) [1 - (beta / (beta + t))^(s-1)] (note 009,
 * eq. 27); the s = 1 limit r beta / alpha log(1 + t / beta) is used near s = 1. */
bool paretonbd_expected_purchases(const double params[4], double t, double *out);

/* E[Y(t) | x, t_x, T] = P(alive) (r + x)(beta + T) / ((alpha + T)(s - 1))
 * [1 - ((beta + T) / (beta + T + t))^(s-1)] (note 009, eq. 41). */
bool paretonbd_conditional_expected(const double params[4], double t, double x, double tx,
                                    double T, double *out);

#endif
