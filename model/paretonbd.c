/*
 * Pareto/NBD model.
 *
 * Sources: D. C. Schmittlein, D. G. Morrison, R. Colombo (1987), "Counting
 * Your Customers: Who Are They and What Will They Do Next?", Management
 * Science 33(1); P. S. Fader & B. G. S. Hardie (2005), "A Note on Deriving
 * the Pareto/NBD Model and Related Expressions" (note 009), eqs. 18-21, 27,
 * 41. Units: alpha, beta, t_x, T, t in the caller's time unit.
 *
 * Likelihood (note 009 eqs. 18-20), with rsx = r + s + x:
 *   L = Gamma(r+x) alpha^r beta^s / Gamma(r)
 *       * [ (alpha+T)^-(r+x) (beta+T)^-s + s / rsx * A0 ]
 *   A0 = F(t_x) / (M + t_x)^rsx - F(T) / (M + T)^rsx,
 *   F(u) = 2F1(rsx, m; rsx + 1; |alpha - beta| / (M + u)),
 *   M = max(alpha, beta), m = s + 1 if alpha >= beta else r + x.
 * A0 >= 0 because s/rsx A0 equals s * integral over t_x..T of
 * (alpha+tau)^-(r+x) (beta+tau)^-(s+1) d tau (death at tau): the difference is
 * taken as l1 + log(-expm1(l2 - l1)) so it never goes negative or NaN.
 *
 * The likelihood has no cheap analytic gradient (derivatives of 2F1 in its
 * parameters), so BFGS uses central differences (8 extra passes per step);
 * the fit is still fast on pattern-compressed data. lifetimes' objective
 * divides -LL by mean(weights) (ParetoNBDFitter._negative_log_likelihood); we
 * minimise that divided by the row count, which has the same optimum.
 */
#include "model/paretonbd.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/optim.h"
#include "model/specfun.h"

#define PN_MAX_X 1000000.0
#define PN_FD_STEP 1e-5

static bool row_ok(double x, double tx, double T, double w)
{
    if (!(x >= 0.0 && x <= PN_MAX_X && x == floor(x)))
        return false;
    if (!isfinite(T) || !(T >= 0.0) || !(w >= 0.0) || !isfinite(w))
        return false;
    return x == 0.0 || (tx >= 0.0 && tx <= T);
}

/* log A0 (may be -inf when t_x = T); false if 2F1 fails. */
static bool log_a0(const double p[4], double x, double tx, double T, double *out)
{
    double r = p[0], alpha = p[1], s = p[2], beta = p[3];
    double big = fmax(alpha, beta), diff = fabs(alpha - beta), rsx = r + s + x;
    double m = (alpha >= beta) ? s + 1.0 : r + x;
    int s1, s2;
    double f1 = specfun_log_hyp2f1(rsx, m, rsx + 1.0, diff / (big + tx), &s1);
    double f2 = specfun_log_hyp2f1(rsx, m, rsx + 1.0, diff / (big + T), &s2);
    if (s1 != 1 || s2 != 1)
        return false;
    double l1 = f1 - rsx * log(big + tx), l2 = f2 - rsx * log(big + T);
    if (!(l2 < l1)) {
        *out = -INFINITY;
        return true;
    }
    *out = l1 + log(-expm1(l2 - l1));
    return true;
}

/* log of the bracket [ (alpha+T)^-(r+x) (beta+T)^-s + s/rsx A0 ] and its
 * first term, for P(alive) = exp(first - bracket). */
static bool log_bracket(const double p[4], double x, double tx, double T, double *first,
                        double *bracket)
{
    double r = p[0], alpha = p[1], s = p[2], beta = p[3], la0;
    if (!log_a0(p, x, tx, T, &la0))
        return false;
    *first = -(r + x) * log(alpha + T) - s * log(beta + T);
    *bracket = specfun_logaddexp(*first, log(s) - log(r + s + x) + la0);
    return isfinite(*bracket);
}

static bool row_log_lik(const double p[4], double x, double tx, double T, double *ll)
{
    double r = p[0], alpha = p[1], s = p[2], beta = p[3], first, br;
    if (!log_bracket(p, x, x == 0.0 ? 0.0 : tx, T, &first, &br))
        return false;
    *ll = specfun_lgamma(r + x) - specfun_lgamma(r) + r * log(alpha) + s * log(beta) + br;
    return isfinite(*ll);
}

static bool sum_log_lik(const double p[4], const double *x, const double *tx, const double *T,
                        const double *w, size_t n, double *ll)
{
    double acc = 0.0, li;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (wi == 0.0)
            continue;
        if (!row_log_lik(p, x[i], tx[i], T[i], &li))
            return false;
        acc += wi * li;
    }
    *ll = acc;
    return isfinite(acc);
}

bool paretonbd_log_lik(const double params[4], const double *x, const double *tx,
                       const double *T, const double *w, size_t n, double *ll, const char **why)
{
    if (!btyd_params_positive(params, 4))
        return btyd_fail(why, "parameters must be finite and > 0");
    for (size_t i = 0; i < n; i++)
        if (!row_ok(x[i], tx[i], T[i], w ? w[i] : 1.0))
            return btyd_fail(why, "rows need whole frequency in [0, 1e6], 0 <= recency <= T, "
                             "finite T and weight >= 0");
    if (!sum_log_lik(params, x, tx, T, w, n, ll))
        return btyd_fail(why, "log-likelihood not finite");
    return true;
}

/* ---- fit -------------------------------------------------------------- */

struct pn_obj {
    const double *x, *tx, *T, *w;
    size_t n;
    double W, pen_per_row, scale;
};

static double pn_value(const double *theta, void *ctx)
{
    const struct pn_obj *o = ctx;
    double p[4], ll;
    for (int k = 0; k < 4; k++)
        p[k] = exp(theta[k]);
    if (!btyd_params_positive(p, 4) || !sum_log_lik(p, o->x, o->tx, o->T, o->w, o->n, &ll))
        return INFINITY;
    double sc[4] = {1.0, o->scale, 1.0, o->scale}, f = -ll / o->W;
    for (int k = 0; k < 4; k++)
        f += o->pen_per_row * (p[k] * sc[k]) * (p[k] * sc[k]);
    return f;
}

static double pn_value_only(const double *theta, double *grad, void *ctx)
{
    (void)grad;
    return pn_value(theta, ctx);
}

static double pn_objective(const double *theta, double *grad, void *ctx)
{
    if (!grad)
        return pn_value(theta, ctx);
    double f = optim_central_gradient(pn_value_only, ctx, 4, theta, PN_FD_STEP, grad);
    for (int k = 0; k < 4; k++)
        if (!isfinite(grad[k]))
            return INFINITY;
    return f;
}

static void pn_optimise(struct pn_obj *ob, double theta[4], const struct btyd_fit_opts *fo,
                        struct btyd_fit *out)
{
    struct optim_result res;
    bool ok = optim_bfgs_with_restart(pn_objective, ob, 4, theta, fo->gtol, fo->max_iter, 9,
                                      &res);
    out->iterations = res.iterations;
    out->evaluations = res.evaluations;
    out->converged = ok;
    snprintf(out->reason, sizeof(out->reason), "%s", res.reason);
}

/* Validates rows and gathers totals; false with out->reason set. */
static bool pn_scan(struct pn_obj *ob, struct btyd_fit *out)
{
    double sum_wx = 0.0, sum_wT = 0.0, max_T = 0.0;
    for (size_t i = 0; i < ob->n; i++) {
        double wi = ob->w ? ob->w[i] : 1.0;
        if (!row_ok(ob->x[i], ob->tx[i], ob->T[i], wi)) {
            snprintf(out->reason, sizeof(out->reason), "invalid row: need whole frequency, "
                                                       "0 <= recency <= T, weight >= 0");
            return false;
        }
        ob->W += wi;
        sum_wx += wi * ob->x[i];
        sum_wT += wi * ob->T[i];
        if (wi > 0.0)
            max_T = fmax(max_T, ob->T[i]);
    }
    out->total_weight = ob->W;
    if (!(ob->W > 0.0) || !(sum_wx > 0.0) || !(max_T > 0.0)) {
        snprintf(out->reason, sizeof(out->reason), "%s",
                 !(ob->W > 0.0) ? "no customers" : "no repeat purchases: model not identifiable");
        return false;
    }
    ob->scale = 1.0 / max_T;
    out->params[1] = sum_wT / sum_wx; /* start alpha = beta = mean inter-purchase time */
    return true;
}

bool paretonbd_fit(const double *x, const double *tx, const double *T, const double *w,
                   size_t n, const struct btyd_fit_opts *o, struct btyd_fit *out)
{
    struct btyd_fit_opts defaults;
    memset(out, 0, sizeof(*out));
    out->n_params = 4;
    out->n_rows = n;
    if (!o) {
        btyd_fit_opts_default(&defaults);
        o = &defaults;
    }
    struct pn_obj ob = {x, tx, T, w, n, 0.0, n ? o->penalizer / (double)n : 0.0, 1.0};
    if (!pn_scan(&ob, out))
        return false;
    double start = log(out->params[1]);
    double theta[4] = {0.0, start, 0.0, start};
    if (o->init && btyd_params_positive(o->init, 4))
        for (int k = 0; k < 4; k++)
            theta[k] = log(o->init[k]);
    pn_optimise(&ob, theta, o, out);
    double p[4], ll;
    for (int k = 0; k < 4; k++)
        p[k] = exp(theta[k]);
    if (btyd_params_positive(p, 4) && sum_log_lik(p, x, tx, T, w, n, &ll)) {
        memcpy(out->params, p, sizeof(p));
        out->log_lik = ll;
        out->objective = pn_value(theta, &ob);
    } else {
        memset(out->params, 0, sizeof(out->params));
        out->converged = false;
        snprintf(out->reason, sizeof(out->reason), "no finite optimum found");
    }
    return out->converged;
}

/* ---- predictions ------------------------------------------------------ */

bool paretonbd_prob_alive(const double params[4], double x, double tx, double T, double *out)
{
    double first, br;
    if (!btyd_params_positive(params, 4) || !row_ok(x, tx, T, 1.0))
        return false;
    if (!log_bracket(params, x, x == 0.0 ? 0.0 : tx, T, &first, &br))
        return false;
    *out = exp(first - br);
    return isfinite(*out);
}

/* [1 - (base / (base + t))^(s-1)] / (s - 1), with its s -> 1 limit log(1 + t/base). */
static double survival_integral(double s, double base, double t)
{
    double l = log1p(t / base); /* -log(base / (base + t)) */
    double v = -(s - 1.0) * l;
    if (fabs(v) < 1e-12)
        return l;
    return -expm1(v) / (s - 1.0);
}

bool paretonbd_expected_purchases(const double params[4], double t, double *out)
{
    if (!btyd_params_positive(params, 4) || !(t >= 0.0) || !isfinite(t))
        return false;
    double r = params[0], alpha = params[1], s = params[2], beta = params[3];
    *out = r * beta / alpha * survival_integral(s, beta, t);
    return isfinite(*out);
}

bool paretonbd_conditional_expected(const double params[4], double t, double x, double tx,
                                    double T, double *out)
{
    double pa;
    if (!(t >= 0.0) || !isfinite(t) || !paretonbd_prob_alive(params, x, tx, T, &pa))
        return false;
    double r = params[0], alpha = params[1], s = params[2], beta = params[3];
    *out = pa * (r + x) * (beta + T) / (alpha + T) * survival_integral(s, beta + T, t);
    return isfinite(*out);
}
