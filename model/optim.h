#ifndef OPTIM_H
#define OPTIM_H

/*
 * Small-dimension unconstrained minimisers for the model fits (2..8
 * parameters, usually log-parameters): BFGS with a strong-Wolfe line search
 * and Nelder-Mead. No allocation: all work arrays live on the stack.
 *
 * Call sequence:
 *   struct optim_opts o; optim_default_opts(&o);  (then adjust fields)
 *   struct optim_result res;
 *   optim_bfgs(fn, ctx, n, x, &o, &res);   x: start in, best point out
 *
 * The objective returns f(x) and, when grad is not NULL, writes the gradient.
 * It may return a non-finite value (e.g. +inf outside the model's domain):
 * the line search then shrinks the step, Nelder-Mead treats the point as
 * worst. A NaN never ends up in x or res->f.
 */

#include <stdbool.h>
#include <stddef.h>

#define OPTIM_MAX_DIM 8

typedef double (*optim_fn)(const double *x, double *grad, void *ctx);

struct optim_opts {
    int max_iter;     /* BFGS iterations or Nelder-Mead reflections; default 500 */
    int max_eval;     /* objective evaluations; default 5000 */
    double gtol;      /* BFGS: converged when max_i |g_i| <= gtol; default 1e-7 */
    double ftol;      /* NM: converged when f spread <= ftol * (|f_best| + ftol);
                         default 1e-10 */
    double xtol;      /* NM: and the simplex diameter <= xtol; default 1e-8 */
    double nm_step;   /* NM: initial simplex edge along each axis; default 0.5 */
};

struct optim_result {
    double f;           /* objective at the returned x (finite, or +inf if none was) */
    double grad_norm;   /* BFGS: max |g_i| at x; NM: 0 */
    int iterations;
    int evaluations;
    bool converged;
    const char *reason; /* static text: why it stopped (also when converged) */
};

/* Fills the defaults listed in struct optim_opts. */
void optim_default_opts(struct optim_opts *o);

/*
 * BFGS (Nocedal & Wright 2006, Algorithm 6.1) on the inverse Hessian, first
 * step scaled by y's/y'y, with the strong-Wolfe line search of Algorithms
 * 3.5-3.6 (c1 = 1e-4, c2 = 0.9, cubic interpolation in zoom). fn must fill
 * the gradient. 1 <= n <= OPTIM_MAX_DIM. On return x holds the best point
 * seen. Converged: max |g_i| <= gtol, or a failed line search where the
 * quadratic model predicts a decrease below 1e-12 |f| (the objective cannot
 * resolve a better point: reason "stopped at the precision limit of the
 * objective"). Returns res->converged.
 */
bool optim_bfgs(optim_fn fn, void *ctx, size_t n, double *x, const struct optim_opts *o,
                struct optim_result *res);

/*
 * Nelder-Mead (Lagarias et al. 1998 coefficients 1, 2, 1/2, 1/2) with an
 * axis-aligned initial simplex of edge o->nm_step around x. fn is called with
 * grad = NULL. Returns res->converged.
 */
bool optim_nelder_mead(optim_fn fn, void *ctx, size_t n, double *x,
                       const struct optim_opts *o, struct optim_result *res);

/*
 * The BTYD fitters' strategy: BFGS from x; if it does not converge, restart
 * from the same start with a long Nelder-Mead run (20x the iterations) then
 * a BFGS polish, and keep that result when it converged or is better.
 * grad_cost weighs BFGS evaluations in res->evaluations (an objective with a
 * finite-difference gradient costs 2n+1 calls per evaluation). res->reason
 * says which path ended it. Returns res->converged.
 */
bool optim_bfgs_with_restart(optim_fn fn, void *ctx, size_t n, double *x, double gtol,
                             int max_iter, int grad_cost, struct optim_result *res);

/*
 * Central-difference gradient of fn at x with step h * max(1, |x_i|)
 * (2n calls with grad = NULL). Writes grad[0..n-1]; returns f(x).
 * For objectives without an analytic gradient (Pareto/NBD).
 */
double optim_central_gradient(optim_fn fn, void *ctx, size_t n, const double *x, double h,
                              double *grad);

#endif
