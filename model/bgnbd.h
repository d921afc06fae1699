#ifndef BGNBD_H
#define BGNBD_H

/*
 * BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy
 * Way", Marketing Science 24(2)): likelihood, maximum-likelihood fit and
 * per-customer predictions. Parameters are double[4] = {r, alpha, a, b},
 * alpha in the time unit of the data (days or weeks).
 *
 * Inputs are summary rows (model/btyd.h): frequency x (whole repeat
 * purchases), recency t_x and age T in the time unit, with an optional weight
 * per row (number of customers with that pattern; NULL = 1 each).
 * Requirements per row: x a whole number in [0, 1e6], 0 <= t_x <= T, finite;
 * t_x is ignored when x = 0. A violating row makes the call fail.
 *
 * Formulas and conventions: docs/ltv-model.md.
 */

#include <stdbool.h>
#include <stddef.h>

#include "model/btyd.h"

/*
 * Total log-likelihood sum_i w_i log L(r, alpha, a, b | x_i, t_x_i, T_i)
 * (paper eq. 6/7) into *ll; if grad is not NULL also its gradient with
 * respect to (r, alpha, a, b). Returns false (why set) on invalid rows or
 * parameters (all must be > 0 and finite) or a non-finite result.
 */
bool bgnbd_log_lik(const double params[4], const double *x, const double *tx, const double *T,
                   const double *w, size_t n, double *ll, double grad[4], const char **why);

/*
 * Maximum-likelihood fit. Minimises lifetimes' objective
 *   -LL / sum(w) + penalizer * (r^2 + (alpha / max T)^2 + a^2 + b^2)
 * over log-parameters: BFGS with the analytic gradient from a data-driven
 * start (r = 1, alpha = sum w T / sum w x, a = b = 1) or o->init; if BFGS
 * does not converge, Nelder-Mead from the same start and a BFGS polish; the
 * better converged result wins. o may be NULL (defaults). Fills *out (always
 * finite numbers; converged = false with a reason on failure, including no
 * rows, no repeat purchases at all, invalid rows). Returns out->converged.
 */
bool bgnbd_fit(const double *x, const double *tx, const double *T, const double *w, size_t n,
               const struct btyd_fit_opts *o, struct btyd_fit *out);

/*
 * P(alive at T | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1)
 * ((alpha + T) / (alpha + t_x))^(r + x)) (Fader, Hardie & Lee 2008 note
 * "Computing P(alive) using the BG/NBD model"). False on invalid input.
 */
bool bgnbd_prob_alive(const double params[4], double x, double tx, double T, double *out);

/*
 * E[X(t)]: expected repeat purchases of a new customer in (0, t] (eq. 9).
 * Uses 2F1 (model/specfun.h); for a + b <= 1 the contiguous relation
 * c F(c) = c F(c+1) + ab z / (c+1) F(a+1, b+1; c+2) keeps c positive, and
 * within 1e-4 of a = 1 (a removable singularity) it interpolates between
 * a = 1 -+ 1e-4. False if t < 0 or the value is not finite.
 */
bool bgnbd_expected_purchases(const double params[4], double t, double *out);

/*
 * E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] of a customer with
 * that history (eq. 10) = P(alive) * E[X(t)] with updated parameters
 * (r + x, alpha + T, a, b + x). False on invalid input or a non-finite value.
 */
bool bgnbd_conditional_expected(const double params[4], double t, double x, double tx,
                                double T, double *out);

#endif
