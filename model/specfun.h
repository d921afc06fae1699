#ifndef SPECFUN_H
#define SPECFUN_H

/*
 * Special functions for the buy-till-you-die models (model/bgnbd.c,
 * model/paretonbd.c, model/gammagamma.c): digamma, signed log-gamma, the
 * Gauss hypergeometric function 2F1 in log space, and guarded log/exp helpers.
 *
 * All functions are pure and thread-safe. None prints or allocates. A result
 * outside the documented domain is NaN; callers check with isfinite() and turn
 * it into a reported failure (a NaN never leaves model/).
 */

/* log(exp(a) + exp(b)) without overflow; -inf + -inf gives -inf. */
double specfun_logaddexp(double a, double b);

/*
 * Digamma psi(x) = d/dx log Gamma(x), for real x that is not a non-positive
 * integer (NaN there). Relative error about 1e-15 for x > 0 (recurrence up to
 * x >= 10, then the asymptotic series through x^-12); x < 0 uses the
 * reflection psi(1-x) - psi(x) = pi cot(pi x).
 */
double specfun_digamma(double x);

/* log Gamma(x) for x > 0 (NaN otherwise); reentrant (no global signgam). */
double specfun_lgamma(double x);

/*
 * log|Gamma(x)| and the sign of Gamma(x) in *sign (+1 or -1), for real x.
 * At the poles (x = 0, -1, -2, ...) returns +inf and sets *sign = 0.
 * Does not use the global signgam (C11 lgamma is called only for x > 0).
 */
double specfun_lgamma_signed(double x, int *sign);

/*
 * log|2F1(a, b; c; z)| of the Gauss hypergeometric series, with its sign in
 * *sign. Domain: real a and b, c > 0, and 0 <= z < 1 (every BTYD expression
 * lies there). Outside the domain, or if no method keeps five correct
 * digits, returns NaN and sets *sign = 0.
 *
 * Method (docs/ltv-model.md, "2F1"):
 *   - the power series in z; when c-a-b < 0 on Euler's transform
 *     (1-z)^(c-a-b) 2F1(c-a, c-b; c; z), whose terms then decay; sums are
 *     rescaled so large parameters (a, b ~ 1e4) cannot overflow; if the
 *     terms cancel (over 5 digits lost) the other form is tried;
 *   - for z > 0.9 when the series needs more than 4000 terms (or z > 0.5
 *     when both forms cancel): the 1-z connection formula (Abramowitz &
 *     Stegun 15.3.6). When c-a-b is within 2.5e-5 of an integer, where 15.3.6
 *     cancels catastrophically, F is analytic in c and is taken by Richardson
 *     extrapolation from c +- 1e-4 and c +- 2e-4 (needs c >= 0.005);
 *   - if the two terms of 15.3.6 cancel by over four digits, a long z-series
 *     (up to 2e6 terms, about 2 ms) is summed instead.
 * Accuracy: about 1e-13 relative on the series, about 1e-11 through the
 * connection formula. tests/unit/test_specfun.c checks values from mpmath at
 * 30 digits (scipy 1.10's hyp2f1 is itself wrong near integer c-a-b: 5e-4
 * off at (0.7, 1.3, 2, 0.999)).
 */
double specfun_log_hyp2f1(double a, double b, double c, double z, int *sign);

/* 2F1(a, b; c; z) = sign * exp(log|2F1|); may overflow to +-inf. */
double specfun_hyp2f1(double a, double b, double c, double z);

#endif
