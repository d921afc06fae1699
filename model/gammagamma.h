#ifndef GAMMAGAMMA_H
#define GAMMAGAMMA_H

/*
 * Gamma-Gamma model of average transaction value (Fader, Hardie & Lee 2005,
 * "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis", JMR
 * 42(4); Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value",
 * brucehardie.com note 025), with the conventions of lifetimes'
 * GammaGammaFitter. Parameters are double[3] = {p, q, gamma}; gamma is in the
 * currency unit of the monetary values.
 *
 * Rows: frequency x (whole repeat purchases) and monetary m (mean value of the
 * repeat purchases), weight optional (NULL = 1). Only rows with x > 0 and
 * m > 0 carry information; the others are skipped and counted out of
 * fit->n_rows. Formulas: docs/ltv-model.md.
 */

#include <stdbool.h>
#include <stddef.h>

#include "model/btyd.h"

/*
 * Total log-likelihood over rows with x > 0 and m > 0 (note 025 eq. 1a, in
 * lifetimes' form), optional gradient w.r.t. (p, q, gamma). False (why set)
 * on invalid parameters (finite, > 0), a non-whole or negative x, a
 * non-finite m or weight, or a non-finite result.
 */
bool gammagamma_log_lik(const double params[3], const double *x, const double *m,
                        const double *w, size_t n, double *ll, double grad[3], const char **why);

/*
 * Maximum-likelihood fit minimising lifetimes' objective
 *   -LL / sum(w) + penalizer (p^2 + q^2 + gamma^2)
 * on log-parameters (BFGS, analytic gradient; Nelder-Mead restart if needed)
 * from p = 1, q = 2, gamma = weighted mean of m, or o->init. With
 * q_above_one (lifetimes' q_constraint) q is parametrised as 1 + exp(theta),
 * keeping the population mean p gamma / (q - 1) finite and positive.
 * out->n_rows counts the rows used. Returns out->converged.
 */
bool gammagamma_fit(const double *x, const double *m, const double *w, size_t n,
                    const struct btyd_fit_opts *o, bool q_above_one, struct btyd_fit *out);

/*
 * E[Z | x, m] = p (gamma + x m) / (p x + q - 1) (note 025 eq. 5), which is
 * the population mean p gamma / (q - 1) when x = 0 (m is then ignored).
 * Requires q > 1 and, for x > 0, m >= 0. False otherwise.
 */
bool gammagamma_expected_spend(const double params[3], double x, double m, double *out);

/*
 * Weighted Pearson correlation between x and m over the rows with x > 0 and
 * m > 0: the check of the model's independence assumption (Fader, Hardie &
 * Lee 2005 report 0.11 on CDNOW). False when undefined.
 */
bool gammagamma_freq_monetary_corr(const double *x, const double *m, const double *w,
                                   size_t n, double *out);

#endif
