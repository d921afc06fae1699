/*
 * Unconstrained minimisation for the model fits.
 *
 * Design. The fits have 3-4 parameters, optimised on log scale so that every
 * real vector is a valid parameter set. BFGS with an exact strong-Wolfe line
 * search is the workhorse: with analytic gradients it needs 20-40 objective
 * evaluations on BG/NBD and Gamma-Gamma, and each evaluation is one pass over
 * the (compressed) data, so the pass count is what we minimise. Nelder-Mead
 * is the fall-back for a start where BFGS stalls (it ignores the gradient and
 * is robust to kinks and infinite values), after which BFGS polishes.
 *
 * References: J. Nocedal & S. Wright, Numerical Optimization, 2nd ed. (2006),
 * Algorithm 6.1 (BFGS), Algorithms 3.5-3.6 and eq. 3.59 (line search, cubic
 * interpolation), eq. 6.20 (initial inverse-Hessian scaling);
 * J. Lagarias et al., SIAM J. Optim. 9(1) 1998 (Nelder-Mead).
 *
 * Non-finite objective values are mapped to +inf: the line search treats them
 * as "too far" and bisects back; Nelder-Mead ranks them worst.
 */
#include "model/optim.h"

#include <math.h>
#include <string.h>

#define LS_C1 1e-4
#define LS_C2 0.9
#define LS_MAX_STEPS 40
/* Relative size of a decrease that rounding noise in a sum of many terms can
 * hide (about 1e4 ulps). */
#define OPTIM_PRECISION 1e-12

void optim_default_opts(struct optim_opts *o)
{
    o->max_iter = 500;
    o->max_eval = 5000;
    o->gtol = 1e-7;
    o->ftol = 1e-10;
    o->xtol = 1e-8;
    o->nm_step = 0.5;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static double max_abs(const double *a, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

/* One point of the line search: position, value, gradient, slope along p. */
struct ls_point {
    double alpha, f, slope;
    double x[OPTIM_MAX_DIM], g[OPTIM_MAX_DIM];
};

struct line_search {
    optim_fn fn;
    void *ctx;
    size_t n;
    const double *x0, *p;
    double f0, slope0;
    int evals, max_eval;
};

static void ls_eval(struct line_search *ls, double alpha, struct ls_point *pt)
{
    pt->alpha = alpha;
    for (size_t i = 0; i < ls->n; i++)
        pt->x[i] = ls->x0[i] + alpha * ls->p[i];
    pt->f = ls->fn(pt->x, pt->g, ls->ctx);
    ls->evals++;
    pt->slope = dot(pt->g, ls->p, ls->n);
    if (!isfinite(pt->f) || !isfinite(pt->slope)) {
        pt->f = INFINITY;
        pt->slope = NAN;
    }
}

static bool sufficient_decrease(const struct line_search *ls, const struct ls_point *pt)
{
    return pt->f <= ls->f0 + LS_C1 * pt->alpha * ls->slope0;
}

/* Minimiser of the cubic through (lo, hi) values and slopes (N&W eq. 3.59),
 * kept inside the middle 80 % of the bracket; bisection when undefined. */
static double cubic_step(const struct ls_point *lo, const struct ls_point *hi)
{
    double a = lo->alpha, b = hi->alpha, mid = 0.5 * (a + b);
    if (!isfinite(hi->f) || !isfinite(hi->slope))
        return mid;
    double d1 = lo->slope + hi->slope - 3.0 * (lo->f - hi->f) / (a - b);
    double disc = d1 * d1 - lo->slope * hi->slope;
    if (!(disc >= 0.0))
        return mid;
    double d2 = copysign(sqrt(disc), b - a);
    double den = hi->slope - lo->slope + 2.0 * d2;
    if (den == 0.0)
        return mid;
    double t = b - (b - a) * (hi->slope + d2 - d1) / den;
    double lo_edge = fmin(a, b) + 0.1 * fabs(b - a), hi_edge = fmax(a, b) - 0.1 * fabs(b - a);
    if (!isfinite(t) || t < lo_edge || t > hi_edge)
        return mid;
    return t;
}

/* N&W Algorithm 3.6. lo satisfies sufficient decrease; out gets the step. */
static bool ls_zoom(struct line_search *ls, struct ls_point *lo, struct ls_point *hi,
                    struct ls_point *out)
{
    struct ls_point t;
    for (int k = 0; k < LS_MAX_STEPS && ls->evals < ls->max_eval; k++) {
        double alpha = cubic_step(lo, hi);
        if (fabs(hi->alpha - lo->alpha) <= 1e-14 * fmax(1.0, fabs(lo->alpha)))
            break;
        ls_eval(ls, alpha, &t);
        if (!sufficient_decrease(ls, &t) || t.f >= lo->f) {
            *hi = t;
            continue;
        }
        if (fabs(t.slope) <= -LS_C2 * ls->slope0) {
            *out = t;
            return true;
        }
        if (t.slope * (hi->alpha - lo->alpha) >= 0.0)
            *hi = *lo;
        *lo = t;
    }
    /* Interval collapsed: accept lo if it is a real decrease. */
    if (lo->alpha > 0.0 && lo->f < ls->f0) {
        *out = *lo;
        return true;
    }
    return false;
}

/* N&W Algorithm 3.5 along direction p (a descent direction) from x0. */
static bool line_search(struct line_search *ls, double alpha1, struct ls_point *out)
{
    struct ls_point prev, cur;
    prev.alpha = 0.0;
    prev.f = ls->f0;
    prev.slope = ls->slope0;
    memcpy(prev.x, ls->x0, ls->n * sizeof(double));
    memset(prev.g, 0, sizeof(prev.g));
    double alpha = alpha1;
    for (int i = 0; i < LS_MAX_STEPS && ls->evals < ls->max_eval; i++) {
        ls_eval(ls, alpha, &cur);
        if (!sufficient_decrease(ls, &cur) || (i > 0 && cur.f >= prev.f))
            return ls_zoom(ls, &prev, &cur, out);
        if (fabs(cur.slope) <= -LS_C2 * ls->slope0) {
            *out = cur;
            return true;
        }
        if (cur.slope >= 0.0)
            return ls_zoom(ls, &cur, &prev, out);
        prev = cur;
        alpha *= 2.0;
    }
    return false;
}

/* H <- (I - rho s y') H (I - rho y s') + rho s s', rho = 1 / y's. */
static void bfgs_update(double *H, size_t n, const double *s, const double *y, double ys)
{
    double Hy[OPTIM_MAX_DIM];
    for (size_t i = 0; i < n; i++)
        Hy[i] = dot(&H[i * n], y, n);
    double yHy = dot(y, Hy, n), rho = 1.0 / ys;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            H[i * n + j] += rho * ((1.0 + rho * yHy) * s[i] * s[j] - Hy[i] * s[j] - s[i] * Hy[j]);
}

static void set_identity(double *H, size_t n, double scale)
{
    for (size_t i = 0; i < n * n; i++)
        H[i] = 0.0;
    for (size_t i = 0; i < n; i++)
        H[i * n + i] = scale;
}

static bool bfgs_done(struct optim_result *res, bool ok, const char *why)
{
    res->converged = ok;
    res->reason = why;
    return ok;
}

bool optim_bfgs(optim_fn fn, void *ctx, size_t n, double *x, const struct optim_opts *o,
                struct optim_result *res)
{
    double g[OPTIM_MAX_DIM], p[OPTIM_MAX_DIM], H[OPTIM_MAX_DIM * OPTIM_MAX_DIM];
    memset(res, 0, sizeof(*res));
    res->f = INFINITY;
    if (n == 0 || n > OPTIM_MAX_DIM)
        return bfgs_done(res, false, "dimension out of range");
    double f = fn(x, g, ctx);
    res->evaluations = 1;
    if (!isfinite(f) || !isfinite(max_abs(g, n)))
        return bfgs_done(res, false, "objective not finite at the start point");
    res->f = f;
    set_identity(H, n, 1.0);
    bool fresh = true;
    for (res->iterations = 0;; res->iterations++) {
        res->grad_norm = max_abs(g, n);
        if (res->grad_norm <= o->gtol)
            return bfgs_done(res, true, "gradient below tolerance");
        if (res->iterations >= o->max_iter)
            return bfgs_done(res, false, "iteration limit reached");
        for (size_t i = 0; i < n; i++)
            p[i] = -dot(&H[i * n], g, n);
        double slope = dot(p, g, n);
        if (!(slope < 0.0)) {
            set_identity(H, n, 1.0);
            fresh = true;
            for (size_t i = 0; i < n; i++)
                p[i] = -g[i];
            slope = -dot(g, g, n);
        }
        struct line_search ls = {fn, ctx, n, x, p, f, slope, 0, o->max_eval - res->evaluations};
        double alpha1 = fresh ? fmin(1.0, 1.0 / res->grad_norm) : 1.0;
        struct ls_point acc;
        bool ok = line_search(&ls, alpha1, &acc);
        res->evaluations += ls.evals;
        if (!ok) {
            /* The quadratic model promises less than the rounding noise of f:
             * no double-precision point is measurably better. */
            if (-0.5 * slope * alpha1 <= OPTIM_PRECISION * fmax(fabs(f), 1.0))
                return bfgs_done(res, true, "stopped at the precision limit of the objective");
            if (res->evaluations >= o->max_eval)
                return bfgs_done(res, false, "evaluation limit reached");
            if (fresh)
                return bfgs_done(res, false, "line search found no decrease");
            set_identity(H, n, 1.0);
            fresh = true;
            continue;
        }
        double s[OPTIM_MAX_DIM], y[OPTIM_MAX_DIM];
        for (size_t i = 0; i < n; i++) {
            s[i] = acc.x[i] - x[i];
            y[i] = acc.g[i] - g[i];
        }
        memcpy(x, acc.x, n * sizeof(double));
        memcpy(g, acc.g, n * sizeof(double));
        f = acc.f;
        res->f = f;
        double ys = dot(y, s, n);
        if (ys > 1e-12 * sqrt(dot(y, y, n) * dot(s, s, n))) {
            if (fresh)
                set_identity(H, n, ys / dot(y, y, n));
            bfgs_update(H, n, s, y, ys);
            fresh = false;
        }
    }
}

/* ---- Nelder-Mead ------------------------------------------------------ */

struct simplex {
    size_t n;
    double v[OPTIM_MAX_DIM + 1][OPTIM_MAX_DIM];
    double f[OPTIM_MAX_DIM + 1];
};

static double nm_eval(optim_fn fn, void *ctx, const double *x, int *evals)
{
    double f = fn(x, NULL, ctx);
    (*evals)++;
    return isfinite(f) ? f : INFINITY;
}

/* Insertion sort of the vertices by f (n + 1 <= 9 entries). */
static void nm_sort(struct simplex *s)
{
    for (size_t i = 1; i <= s->n; i++) {
        double fv = s->f[i], v[OPTIM_MAX_DIM];
        memcpy(v, s->v[i], s->n * sizeof(double));
        size_t j = i;
        while (j > 0 && s->f[j - 1] > fv) {
            s->f[j] = s->f[j - 1];
            memcpy(s->v[j], s->v[j - 1], s->n * sizeof(double));
            j--;
        }
        s->f[j] = fv;
        memcpy(s->v[j], v, s->n * sizeof(double));
    }
}

static bool nm_converged(const struct simplex *s, const struct optim_opts *o)
{
    if (!isfinite(s->f[s->n]))
        return false;
    if (s->f[s->n] - s->f[0] > o->ftol * (fabs(s->f[0]) + o->ftol))
        return false;
    double diam = 0.0;
    for (size_t i = 1; i <= s->n; i++)
        for (size_t k = 0; k < s->n; k++)
            diam = fmax(diam, fabs(s->v[i][k] - s->v[0][k]));
    return diam <= o->xtol;
}

/* Point c + t (c - worst). */
static void nm_point(const struct simplex *s, const double *c, double t, double *out)
{
    for (size_t k = 0; k < s->n; k++)
        out[k] = c[k] + t * (c[k] - s->v[s->n][k]);
}

static void nm_shrink(struct simplex *s, optim_fn fn, void *ctx, int *evals)
{
    for (size_t i = 1; i <= s->n; i++) {
        for (size_t k = 0; k < s->n; k++)
            s->v[i][k] = s->v[0][k] + 0.5 * (s->v[i][k] - s->v[0][k]);
        s->f[i] = nm_eval(fn, ctx, s->v[i], evals);
    }
}

/* One reflection / expansion / contraction / shrink step. */
static void nm_step(struct simplex *s, optim_fn fn, void *ctx, int *evals)
{
    size_t n = s->n;
    double c[OPTIM_MAX_DIM] = {0}, xr[OPTIM_MAX_DIM], xt[OPTIM_MAX_DIM];
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n; k++)
            c[k] += s->v[i][k] / (double)n;
    nm_point(s, c, 1.0, xr);
    double fr = nm_eval(fn, ctx, xr, evals);
    if (fr < s->f[0]) {
        nm_point(s, c, 2.0, xt);
        double fe = nm_eval(fn, ctx, xt, evals);
        bool exp_ok = fe < fr;
        memcpy(s->v[n], exp_ok ? xt : xr, n * sizeof(double));
        s->f[n] = exp_ok ? fe : fr;
        return;
    }
    if (fr < s->f[n - 1]) {
        memcpy(s->v[n], xr, n * sizeof(double));
        s->f[n] = fr;
        return;
    }
    bool outside = fr < s->f[n];
    nm_point(s, c, outside ? 0.5 : -0.5, xt);
    double fc = nm_eval(fn, ctx, xt, evals);
    if ((outside && fc <= fr) || (!outside && fc < s->f[n])) {
        memcpy(s->v[n], xt, n * sizeof(double));
        s->f[n] = fc;
        return;
    }
    nm_shrink(s, fn, ctx, evals);
}

bool optim_nelder_mead(optim_fn fn, void *ctx, size_t n, double *x,
                       const struct optim_opts *o, struct optim_result *res)
{
    struct simplex s;
    memset(res, 0, sizeof(*res));
    res->f = INFINITY;
    if (n == 0 || n > OPTIM_MAX_DIM) {
        res->reason = "dimension out of range";
        return false;
    }
    s.n = n;
    for (size_t i = 0; i <= n; i++) {
        memcpy(s.v[i], x, n * sizeof(double));
        if (i > 0)
            s.v[i][i - 1] += o->nm_step;
        s.f[i] = nm_eval(fn, ctx, s.v[i], &res->evaluations);
    }
    res->reason = "iteration limit reached";
    for (res->iterations = 0; res->iterations < o->max_iter; res->iterations++) {
        nm_sort(&s);
        if (nm_converged(&s, o)) {
            res->converged = true;
            res->reason = "simplex below tolerance";
            break;
        }
        if (res->evaluations >= o->max_eval) {
            res->reason = "evaluation limit reached";
            break;
        }
        nm_step(&s, fn, ctx, &res->evaluations);
    }
    nm_sort(&s);
    if (isfinite(s.f[0]))
        memcpy(x, s.v[0], n * sizeof(double));
    else {
        res->converged = false;
        res->reason = "objective not finite anywhere on the simplex";
    }
    res->f = s.f[0];
    return res->converged;
}

double optim_central_gradient(optim_fn fn, void *ctx, size_t n, const double *x, double h,
                              double *grad)
{
    double xt[OPTIM_MAX_DIM];
    memcpy(xt, x, n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        double step = h * fmax(1.0, fabs(x[i]));
        xt[i] = x[i] + step;
        double fp = fn(xt, NULL, ctx);
        xt[i] = x[i] - step;
        double fm = fn(xt, NULL, ctx);
        xt[i] = x[i];
        grad[i] = (fp - fm) / (2.0 * step);
    }
    return fn(x, NULL, ctx);
}

bool optim_bfgs_with_restart(optim_fn fn, void *ctx, size_t n, double *x, double gtol,
                             int max_iter, int grad_cost, struct optim_result *res)
{
    struct optim_opts oo;
    struct optim_result nm, pol;
    double t0[OPTIM_MAX_DIM];
    bool ok;

    optim_default_opts(&oo);
    oo.gtol = gtol;
    oo.max_iter = max_iter;
    memcpy(t0, x, n * sizeof(*x));
    ok = optim_bfgs(fn, ctx, n, x, &oo, res);
    res->evaluations *= grad_cost;
    if (ok)
        return true;
    oo.max_iter = 20 * max_iter;
    oo.max_eval = 40 * max_iter;
    optim_nelder_mead(fn, ctx, n, t0, &oo, &nm);
    oo.max_iter = max_iter;
    oo.max_eval = 5000;
    ok = optim_bfgs(fn, ctx, n, t0, &oo, &pol);
    res->iterations += nm.iterations + pol.iterations;
    res->evaluations += nm.evaluations + grad_cost * pol.evaluations;
    if (ok || (isfinite(pol.f) && pol.f < res->f)) {
        memcpy(x, t0, n * sizeof(*x));
        res->f = pol.f;
        res->grad_norm = pol.grad_norm;
        res->converged = ok;
        res->reason = ok ? "converged after Nelder-Mead restart" : pol.reason;
    }
    return res->converged;
}
