/*
 * BG/NBD (beta-geometric / negative binomial distribution) model.
 *
 * Source: P. S. Fader, B. G. S. Hardie, K. L. Lee (2005), "Counting Your
 * Customers the Easy Way: An Alternative to the Pareto/NBD Model", Marketing
 * Science 24(2) 275-284 (eqs. 6, 7, 9, 10), and Fader, Hardie & Lee (2008),
 * "Computing P(alive) Using the BG/NBD Model" (brucehardie.com note 021).
 * Units: alpha, t_x, T and t share the caller's time unit (days or weeks);
 * r, a, b are dimensionless.
 *
 * Likelihood of one customer (eq. 6, written as in section 7):
 *   log L = A1 + A2 + log(exp(A3) + [x > 0] exp(A4))
 *   A1 = lgamma(r + x) - lgamma(r) + r log alpha
 *   A2 = lgamma(a + b) + lgamma(b + x) - lgamma(b) - lgamma(a + b + x)
 *   A3 = -(r + x) log(alpha + T)
 *   A4 = log a - log(b + x - 1) - (r + x) log(alpha + t_x)
 * The lgamma/digamma terms depend on x only, so they are evaluated once per
 * distinct x with the summed weight of its rows; the per-row work is two logs,
 * one exp and one log1p. With pattern compression (model/btyd.h) a million
 * customers cost what their distinct (x, t_x, T) patterns cost.
 *
 * Gradient (used by BFGS), with pi = exp(A4) / (exp(A3) + exp(A4)):
 *   d/dr     = psi(r+x) - psi(r) + log alpha - (1-pi) log(alpha+T) - pi log(alpha+t_x)
 *   d/dalpha = r/alpha - (r+x) ((1-pi)/(alpha+T) + pi/(alpha+t_x))
 *   d/da     = psi(a+b) - psi(a+b+x) + pi/a
 *   d/db     = psi(a+b) + psi(b+x) - psi(b) - psi(a+b+x) - pi/(b+x-1)
 *
 * The fit objective is lifetimes' BetaGeoFitter._negative_log_likelihood:
 * -sum(w LL)/sum(w) + penalizer * sum(params^2), where lifetimes' params are
 * in time scaled so that max T = 1 (alpha_scaled = alpha / max T).
 */
#include "model/bgnbd.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/optim.h"
#include "model/specfun.h"

#define BG_MAX_X 1000000.0
#define BG_A_NEAR_ONE 1e-4

/* ---- data preparation ------------------------------------------------- */

/* Rows plus the per-distinct-x tables built once per call. */
struct bg_data {
    const double *x, *tx, *T, *w;
    size_t n;
    uint32_t *slot;   /* row -> index into xv / wx */
    double *xv, *wx;  /* distinct frequencies and their summed weights */
    size_t nx;
    double W, sum_wx, sum_wT, max_T;
};

static void bg_data_free(struct bg_data *d)
{
    free(d->slot);
    free(d->xv);
    free(d->wx);
}

static bool row_ok(double x, double tx, double T, double w)
{
    if (!(x >= 0.0 && x <= BG_MAX_X && x == floor(x)))
        return false;
    if (!isfinite(T) || !(T >= 0.0) || !(w >= 0.0) || !isfinite(w))
        return false;
    return x == 0.0 || (tx >= 0.0 && tx <= T);
}

static bool bg_data_build(struct bg_data *d, const double *x, const double *tx, const double *T,
                          const double *w, size_t n, const char **why)
{
    memset(d, 0, sizeof(*d));
    d->x = x, d->tx = tx, d->T = T, d->w = w, d->n = n;
    double max_x = 0.0;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (!row_ok(x[i], tx[i], T[i], wi))
            return btyd_fail(why, "rows need whole frequency in [0, 1e6], 0 <= recency <= T, "
                             "finite T and weight >= 0");
        max_x = fmax(max_x, x[i]);
        d->W += wi;
        d->sum_wx += wi * x[i];
        d->sum_wT += wi * T[i];
        if (wi > 0.0)
            d->max_T = fmax(d->max_T, T[i]);
    }
    size_t span = (size_t)max_x + 1;
    int32_t *map = malloc(span * sizeof(int32_t));
    d->slot = malloc((n ? n : 1) * sizeof(uint32_t));
    d->xv = malloc(span * sizeof(double));
    d->wx = malloc(span * sizeof(double));
    if (!map || !d->slot || !d->xv || !d->wx) {
        free(map);
        bg_data_free(d);
        return btyd_fail(why, "out of memory");
    }
    for (size_t k = 0; k < span; k++)
        map[k] = -1;
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)x[i];
        if (map[k] < 0) {
            map[k] = (int32_t)d->nx;
            d->xv[d->nx] = x[i];
            d->wx[d->nx++] = 0.0;
        }
        d->slot[i] = (uint32_t)map[k];
        d->wx[map[k]] += w ? w[i] : 1.0;
    }
    free(map);
    return true;
}

/* ---- likelihood ------------------------------------------------------- */

/* Terms that depend on x only, summed with the weight of each x. */
static void bg_x_terms(const struct bg_data *d, const double p[4], double *ll, double g[4])
{
    double r = p[0], alpha = p[1], a = p[2], b = p[3];
    double lg_r = specfun_lgamma(r), lg_b = specfun_lgamma(b), lg_ab = specfun_lgamma(a + b);
    double dg_r = specfun_digamma(r), dg_b = specfun_digamma(b), dg_ab = specfun_digamma(a + b);
    *ll = d->W * r * log(alpha);
    g[0] = d->W * log(alpha);
    g[1] = d->W * r / alpha;
    g[2] = g[3] = 0.0;
    for (size_t k = 0; k < d->nx; k++) {
        double xk = d->xv[k], wk = d->wx[k];
        if (wk == 0.0)
            continue;
        double dg_abx = specfun_digamma(a + b + xk);
        *ll += wk * (specfun_lgamma(r + xk) - lg_r + lg_ab + specfun_lgamma(b + xk) - lg_b -
                     specfun_lgamma(a + b + xk));
        g[0] += wk * (specfun_digamma(r + xk) - dg_r);
        g[2] += wk * (dg_ab - dg_abx);
        g[3] += wk * (dg_ab + specfun_digamma(b + xk) - dg_b - dg_abx);
    }
}

/* The per-row part log(exp(A3) + [x>0] exp(A4)) and its gradient. */
static void bg_row_terms(const struct bg_data *d, const double p[4], const double *lb1,
                         double *ll, double g[4])
{
    double r = p[0], alpha = p[1], a = p[2], log_a = log(a);
    double s_ll = 0.0, s_r = 0.0, s_al = 0.0, s_a = 0.0, s_b = 0.0;
    for (size_t i = 0; i < d->n; i++) {
        double w = d->w ? d->w[i] : 1.0, x = d->x[i];
        if (w == 0.0)
            continue;
        double rx = r + x, lT = log(alpha + d->T[i]), A3 = -rx * lT;
        if (x == 0.0) {
            s_ll += w * A3;
            s_r -= w * lT;
            s_al -= w * rx / (alpha + d->T[i]);
            continue;
        }
        uint32_t k = d->slot[i];
        double ltx = log(alpha + d->tx[i]), A4 = log_a - lb1[k] - rx * ltx;
        double hi = fmax(A3, A4), e = exp(-fabs(A3 - A4)), pi4;
        pi4 = (A4 >= A3) ? 1.0 / (1.0 + e) : e / (1.0 + e);
        s_ll += w * (hi + log1p(e));
        s_r -= w * ((1.0 - pi4) * lT + pi4 * ltx);
        s_al -= w * rx * ((1.0 - pi4) / (alpha + d->T[i]) + pi4 / (alpha + d->tx[i]));
        s_a += w * pi4;
        s_b -= w * pi4 * lb1[d->nx + k];
    }
    *ll += s_ll;
    g[0] += s_r;
    g[1] += s_al;
    g[2] += s_a / a;
    g[3] += s_b;
}

/* log(b + x - 1) and 1/(b + x - 1) per distinct x, in one buffer of 2 nx. */
static void bg_fill_lb1(const struct bg_data *d, double b, double *lb1)
{
    for (size_t k = 0; k < d->nx; k++) {
        double v = b + fmax(d->xv[k], 1.0) - 1.0;
        lb1[k] = log(v);
        lb1[d->nx + k] = 1.0 / v;
    }
}

static bool bg_eval(const struct bg_data *d, const double p[4], double *lb1, double *ll,
                    double g[4])
{
    double gx[4];
    bg_fill_lb1(d, p[3], lb1);
    bg_x_terms(d, p, ll, gx);
    bg_row_terms(d, p, lb1, ll, gx);
    memcpy(g, gx, sizeof(gx));
    return isfinite(*ll) && isfinite(g[0]) && isfinite(g[1]) && isfinite(g[2]) &&
           isfinite(g[3]);
}

bool bgnbd_log_lik(const double params[4], const double *x, const double *tx, const double *T,
                   const double *w, size_t n, double *ll, double grad[4], const char **why)
{
    struct bg_data d;
    double g[4];
    if (!btyd_params_positive(params, 4))
        return btyd_fail(why, "parameters must be finite and > 0");
    if (!bg_data_build(&d, x, tx, T, w, n, why))
        return false;
    double *lb1 = malloc((2 * d.nx + 1) * sizeof(double));
    bool ok = lb1 && bg_eval(&d, params, lb1, ll, g);
    free(lb1);
    bg_data_free(&d);
    if (!ok)
        return btyd_fail(why, "log-likelihood not finite");
    if (grad)
        memcpy(grad, g, sizeof(g));
    return true;
}

/* ---- fit -------------------------------------------------------------- */

struct bg_obj {
    const struct bg_data *d;
    double *lb1;
    double penalizer, scale; /* scale = 1 / max T (lifetimes' _scale_time) */
};

/* Objective on theta = log(params), gradient w.r.t. theta. */
static double bg_objective(const double *theta, double *grad, void *ctx)
{
    const struct bg_obj *o = ctx;
    double p[4], ll, g[4];
    for (int k = 0; k < 4; k++)
        p[k] = exp(theta[k]);
    if (!btyd_params_positive(p, 4) || !bg_eval(o->d, p, o->lb1, &ll, g))
        return INFINITY;
    double sc[4] = {1.0, o->scale, 1.0, 1.0}, f = -ll / o->d->W;
    for (int k = 0; k < 4; k++) {
        double ps = p[k] * sc[k];
        f += o->penalizer * ps * ps;
        if (grad)
            grad[k] = -g[k] * p[k] / o->d->W + 2.0 * o->penalizer * ps * ps;
    }
    return f;
}

/* Runs BFGS, falling back to Nelder-Mead + BFGS; theta in/out. */
static void bg_optimise(struct bg_obj *ob, double theta[4], const struct btyd_fit_opts *fo,
                        struct btyd_fit *out)
{
    struct optim_result res;
    bool ok = optim_bfgs_with_restart(bg_objective, ob, 4, theta, fo->gtol, fo->max_iter, 1,
                                      &res);
    out->iterations = res.iterations;
    out->evaluations = res.evaluations;
    out->converged = ok;
    snprintf(out->reason, sizeof(out->reason), "%s", res.reason);
}

static void fit_reset(struct btyd_fit *out, size_t n_params)
{
    memset(out, 0, sizeof(*out));
    out->n_params = n_params;
}

bool bgnbd_fit(const double *x, const double *tx, const double *T, const double *w, size_t n,
               const struct btyd_fit_opts *o, struct btyd_fit *out)
{
    struct btyd_fit_opts defaults;
    struct bg_data d;
    const char *why = NULL;
    fit_reset(out, 4);
    if (!o) {
        btyd_fit_opts_default(&defaults);
        o = &defaults;
    }
    if (!bg_data_build(&d, x, tx, T, w, n, &why)) {
        snprintf(out->reason, sizeof(out->reason), "%s", why);
        return false;
    }
    out->n_rows = n;
    out->total_weight = d.W;
    if (!(d.W > 0.0) || !(d.max_T > 0.0) || !(d.sum_wx > 0.0)) {
        snprintf(out->reason, sizeof(out->reason), "%s",
                 !(d.W > 0.0) ? "no customers" : "no repeat purchases: model not identifiable");
        bg_data_free(&d);
        return false;
    }
    double *lb1 = malloc((2 * d.nx + 1) * sizeof(double));
    if (!lb1) {
        bg_data_free(&d);
        snprintf(out->reason, sizeof(out->reason), "out of memory");
        return false;
    }
    struct bg_obj ob = {&d, lb1, o->penalizer, 1.0 / d.max_T};
    double theta[4] = {0.0, log(d.sum_wT / d.sum_wx), 0.0, 0.0};
    if (o->init && btyd_params_positive(o->init, 4))
        for (int k = 0; k < 4; k++)
            theta[k] = log(o->init[k]);
    bg_optimise(&ob, theta, o, out);
    double p[4], ll = 0.0, g[4];
    for (int k = 0; k < 4; k++)
        p[k] = exp(theta[k]);
    if (btyd_params_positive(p, 4) && bg_eval(&d, p, lb1, &ll, g)) {
        memcpy(out->params, p, sizeof(p));
        out->log_lik = ll;
        out->objective = bg_objective(theta, NULL, &ob);
    } else {
        out->converged = false;
        snprintf(out->reason, sizeof(out->reason), "no finite optimum found");
    }
    free(lb1);
    bg_data_free(&d);
    return out->converged;
}

/* ---- predictions ------------------------------------------------------ */

bool bgnbd_prob_alive(const double params[4], double x, double tx, double T, double *out)
{
    if (!btyd_params_positive(params, 4) || !row_ok(x, tx, T, 1.0))
        return false;
    if (x == 0.0) {
        *out = 1.0;
        return true;
    }
    double r = params[0], alpha = params[1], a = params[2], b = params[3];
    double log_div = (r + x) * (log(alpha + T) - log(alpha + tx)) + log(a) - log(b + x - 1.0);
    /* 1 / (1 + e^log_div), stable for either sign. */
    *out = (log_div > 0.0) ? exp(-log_div) / (1.0 + exp(-log_div)) : 1.0 / (1.0 + exp(log_div));
    return isfinite(*out);
}

/* (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))], a != 1. */
static bool expected_raw(double r, double alpha, double a, double b, double t, double *out)
{
    double z = t / (alpha + t), c = a + b - 1.0, lq = r * (log(alpha) - log(alpha + t));
    int s1, s2;
    if (c > 0.0) {
        double lf = specfun_log_hyp2f1(r, b, c, z, &s1);
        if (s1 != 1)
            return false;
        *out = c / (a - 1.0) * -expm1(lq + lf);
        return isfinite(*out);
    }
    /* c <= 0: c F(c) = c F(c+1) + r b z / (c+1) F(r+1, b+1; c+2; z), c + 1 = a + b > 0. */
    double l1 = specfun_log_hyp2f1(r, b, c + 1.0, z, &s1);
    double l2 = specfun_log_hyp2f1(r + 1.0, b + 1.0, c + 2.0, z, &s2);
    if (s1 != 1 || s2 != 1)
        return false;
    double cf = c * exp(l1) + r * b * z / (c + 1.0) * exp(l2);
    *out = (c - exp(lq) * cf) / (a - 1.0);
    return isfinite(*out);
}

/* E[X(t)] for (r, alpha, a, b), interpolating across the removable a = 1. */
static bool expected_new(double r, double alpha, double a, double b, double t, double *out)
{
    if (t == 0.0) {
        *out = 0.0;
        return true;
    }
    if (fabs(a - 1.0) >= BG_A_NEAR_ONE)
        return expected_raw(r, alpha, a, b, t, out);
    double lo, hi, h = BG_A_NEAR_ONE;
    if (!expected_raw(r, alpha, 1.0 - h, b, t, &lo) || !expected_raw(r, alpha, 1.0 + h, b, t, &hi))
        return false;
    *out = lo + (a - (1.0 - h)) / (2.0 * h) * (hi - lo);
    return isfinite(*out);
}

bool bgnbd_expected_purchases(const double params[4], double t, double *out)
{
    if (!btyd_params_positive(params, 4) || !(t >= 0.0) || !isfinite(t))
        return false;
    return expected_new(params[0], params[1], params[2], params[3], t, out) && *out >= 0.0;
}

bool bgnbd_conditional_expected(const double params[4], double t, double x, double tx,
                                double T, double *out)
{
    double pa, e;
    if (!(t >= 0.0) || !isfinite(t) || !bgnbd_prob_alive(params, x, tx, T, &pa))
        return false;
    if (!expected_new(params[0] + x, params[1] + T, params[2], params[3] + x, t, &e))
        return false;
    *out = pa * e;
    return isfinite(*out) && *out >= 0.0;
}
