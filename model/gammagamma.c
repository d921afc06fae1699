/*
 * Gamma-Gamma spend model.
 *
 * Sources: P. S. Fader, B. G. S. Hardie, K. L. Lee (2005), "RFM and CLV:
 * Using Iso-Value Curves for Customer Base Analysis", Journal of Marketing
 * Research 42(4) 415-430, section 2.1; P. S. Fader & B. G. S. Hardie (2013),
 * "The Gamma-Gamma Model of Monetary Value" (note 025), eqs. 1a and 5.
 * Units: m and gamma in the currency unit of the data; p, q dimensionless.
 *
 * Per customer with x > 0 repeat purchases of mean value m (eq. 1a, as in
 * lifetimes' GammaGammaFitter._negative_log_likelihood):
 *   log f = lgamma(px + q) - lgamma(px) - lgamma(q) + q log gamma
 *         + (px - 1) log m + px log x - (px + q) log(gamma + x m)
 * Design: the lgamma/digamma terms depend on x only and are taken once per
 * distinct x; sum w log m and sum w x log m are constant and precomputed; so
 * one pass over the rows costs one log and one division per row. Gradient:
 *   d/dp     = sum w x [psi(px+q) - psi(px) + log m + log x - log(gamma + x m)]
 *   d/dq     = sum w [psi(px+q) - psi(q) + log gamma - log(gamma + x m)]
 *   d/dgamma = sum w [q / gamma - (px + q) / (gamma + x m)]
 */
#include "model/gammagamma.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/optim.h"
#include "model/specfun.h"

#define GG_MAX_X 1000000.0

/* Rows used (x > 0, m > 0), their x tables and the constant sums. */
struct gg_data {
    const double *x, *m, *w;
    size_t n, used;
    uint32_t *slot; /* row -> distinct x index; UINT32_MAX for a skipped row */
    double *xv, *wx;
    size_t nx;
    double W, s_lnm, s_xlnm, s_m;
};

static void gg_data_free(struct gg_data *d)
{
    free(d->slot);
    free(d->xv);
    free(d->wx);
}

static bool gg_scan(struct gg_data *d, double *max_x, const char **why)
{
    for (size_t i = 0; i < d->n; i++) {
        double x = d->x[i], m = d->m[i], w = d->w ? d->w[i] : 1.0;
        if (!(x >= 0.0 && x <= GG_MAX_X && x == floor(x)) || !isfinite(m) || !(w >= 0.0) ||
            !isfinite(w))
            return btyd_fail(why, "rows need whole frequency in [0, 1e6], finite monetary value "
                             "and weight >= 0");
        if (x > 0.0 && m > 0.0 && w > 0.0) {
            *max_x = fmax(*max_x, x);
            d->used++;
            d->W += w;
            d->s_lnm += w * log(m);
            d->s_xlnm += w * x * log(m);
            d->s_m += w * m;
        }
    }
    return true;
}

static bool gg_data_build(struct gg_data *d, const double *x, const double *m, const double *w,
                          size_t n, const char **why)
{
    memset(d, 0, sizeof(*d));
    d->x = x, d->m = m, d->w = w, d->n = n;
    double max_x = 0.0;
    if (!gg_scan(d, &max_x, why))
        return false;
    size_t span = (size_t)max_x + 1;
    int32_t *map = malloc(span * sizeof(int32_t));
    d->slot = malloc((n ? n : 1) * sizeof(uint32_t));
    d->xv = malloc(span * sizeof(double));
    d->wx = malloc(span * sizeof(double));
    if (!map || !d->slot || !d->xv || !d->wx) {
        free(map);
        gg_data_free(d);
        return btyd_fail(why, "out of memory");
    }
    for (size_t k = 0; k < span; k++)
        map[k] = -1;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        d->slot[i] = UINT32_MAX;
        if (!(x[i] > 0.0 && m[i] > 0.0 && wi > 0.0))
            continue;
        size_t k = (size_t)x[i];
        if (map[k] < 0) {
            map[k] = (int32_t)d->nx;
            d->xv[d->nx] = x[i];
            d->wx[d->nx++] = 0.0;
        }
        d->slot[i] = (uint32_t)map[k];
        d->wx[map[k]] += wi;
    }
    free(map);
    return true;
}

/* Log-likelihood and gradient w.r.t. (p, q, gamma). */
static bool gg_eval(const struct gg_data *d, const double pr[3], double *ll, double g[3])
{
    double p = pr[0], q = pr[1], gam = pr[2];
    double s_L = 0.0, s_xL = 0.0, s_inv = 0.0, s_xinv = 0.0;
    for (size_t i = 0; i < d->n; i++) {
        if (d->slot[i] == UINT32_MAX)
            continue;
        double w = d->w ? d->w[i] : 1.0, x = d->x[i], den = gam + x * d->m[i];
        double L = log(den), inv = w / den;
        s_L += w * L;
        s_xL += w * x * L;
        s_inv += inv;
        s_xinv += x * inv;
    }
    double acc = d->W * (q * log(gam) - specfun_lgamma(q)) + p * d->s_xlnm - d->s_lnm -
                 p * s_xL - q * s_L;
    double gp = d->s_xlnm - s_xL, gq = d->W * (log(gam) - specfun_digamma(q)) - s_L;
    for (size_t k = 0; k < d->nx; k++) {
        double xk = d->xv[k], wk = d->wx[k], px = p * xk, lx = log(xk);
        double dg_pxq = specfun_digamma(px + q);
        acc += wk * (specfun_lgamma(px + q) - specfun_lgamma(px) + px * lx);
        gp += wk * xk * (dg_pxq - specfun_digamma(px) + lx);
        gq += wk * dg_pxq;
    }
    *ll = acc;
    g[0] = gp;
    g[1] = gq;
    g[2] = d->W * q / gam - p * s_xinv - q * s_inv;
    return isfinite(acc) && isfinite(g[0]) && isfinite(g[1]) && isfinite(g[2]);
}

bool gammagamma_log_lik(const double params[3], const double *x, const double *m,
                        const double *w, size_t n, double *ll, double grad[3], const char **why)
{
    struct gg_data d;
    double g[3];
    if (!btyd_params_positive(params, 3))
        return btyd_fail(why, "parameters must be finite and > 0");
    if (!gg_data_build(&d, x, m, w, n, why))
        return false;
    bool ok = gg_eval(&d, params, ll, g);
    gg_data_free(&d);
    if (!ok)
        return btyd_fail(why, "log-likelihood not finite");
    if (grad)
        memcpy(grad, g, sizeof(g));
    return true;
}

/* ---- fit -------------------------------------------------------------- */

struct gg_obj {
    const struct gg_data *d;
    double penalizer;
    bool q_above_one;
};

/* theta -> params and dparam/dtheta. */
static void gg_unpack(const struct gg_obj *o, const double *theta, double p[3], double dp[3])
{
    for (int k = 0; k < 3; k++) {
        p[k] = exp(theta[k]);
        dp[k] = p[k];
    }
    if (o->q_above_one) {
        dp[1] = p[1];
        p[1] = 1.0 + dp[1];
    }
}

static double gg_objective(const double *theta, double *grad, void *ctx)
{
    const struct gg_obj *o = ctx;
    double p[3], dp[3], ll, g[3];
    gg_unpack(o, theta, p, dp);
    if (!btyd_params_positive(p, 3) || !gg_eval(o->d, p, &ll, g))
        return INFINITY;
    double f = -ll / o->d->W;
    for (int k = 0; k < 3; k++) {
        f += o->penalizer * p[k] * p[k];
        if (grad)
            grad[k] = (-g[k] / o->d->W + 2.0 * o->penalizer * p[k]) * dp[k];
    }
    return f;
}

static void gg_optimise(struct gg_obj *ob, double theta[3], const struct btyd_fit_opts *fo,
                        struct btyd_fit *out)
{
    struct optim_result res;
    bool ok = optim_bfgs_with_restart(gg_objective, ob, 3, theta, fo->gtol, fo->max_iter, 1,
                                      &res);
    out->iterations = res.iterations;
    out->evaluations = res.evaluations;
    out->converged = ok;
    snprintf(out->reason, sizeof(out->reason), "%s", res.reason);
}

bool gammagamma_fit(const double *x, const double *m, const double *w, size_t n,
                    const struct btyd_fit_opts *o, bool q_above_one, struct btyd_fit *out)
{
    struct btyd_fit_opts defaults;
    struct gg_data d;
    const char *why = NULL;
    memset(out, 0, sizeof(*out));
    out->n_params = 3;
    if (!o) {
        btyd_fit_opts_default(&defaults);
        o = &defaults;
    }
    if (!gg_data_build(&d, x, m, w, n, &why)) {
        snprintf(out->reason, sizeof(out->reason), "%s", why);
        return false;
    }
    out->n_rows = d.used;
    out->total_weight = d.W;
    if (!(d.W > 0.0)) {
        snprintf(out->reason, sizeof(out->reason), "no customers with repeat purchases of "
                                                   "positive value");
        gg_data_free(&d);
        return false;
    }
    struct gg_obj ob = {&d, o->penalizer, q_above_one};
    double theta[3] = {0.0, q_above_one ? 0.0 : log(2.0), log(d.s_m / d.W)};
    if (o->init && btyd_params_positive(o->init, 3) && (!q_above_one || o->init[1] > 1.0)) {
        theta[0] = log(o->init[0]);
        theta[1] = q_above_one ? log(o->init[1] - 1.0) : log(o->init[1]);
        theta[2] = log(o->init[2]);
    }
    gg_optimise(&ob, theta, o, out);
    double p[3], dp[3], ll, g[3];
    gg_unpack(&ob, theta, p, dp);
    if (btyd_params_positive(p, 3) && gg_eval(&d, p, &ll, g)) {
        memcpy(out->params, p, sizeof(p));
        out->log_lik = ll;
        out->objective = gg_objective(theta, NULL, &ob);
    } else {
        out->converged = false;
        snprintf(out->reason, sizeof(out->reason), "no finite optimum found");
    }
    gg_data_free(&d);
    return out->converged;
}

/* ---- predictions ------------------------------------------------------ */

bool gammagamma_expected_spend(const double params[3], double x, double m, double *out)
{
    double p = params[0], q = params[1], gam = params[2];
    if (!btyd_params_positive(params, 3) || !(q > 1.0) || !(x >= 0.0) || !isfinite(x))
        return false;
    if (x > 0.0 && (!(m >= 0.0) || !isfinite(m)))
        return false;
    double xm = (x > 0.0) ? x * m : 0.0;
    *out = p * (gam + xm) / (p * x + q - 1.0);
    return isfinite(*out);
}

bool gammagamma_freq_monetary_corr(const double *x, const double *m, const double *w,
                                   size_t n, double *out)
{
    double *wsel = malloc((n ? n : 1) * sizeof(double));
    if (!wsel)
        return false;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        wsel[i] = (x[i] > 0.0 && m[i] > 0.0 && isfinite(m[i])) ? wi : 0.0;
    }
    bool ok = btyd_pearson(x, m, wsel, n, out);
    free(wsel);
    return ok;
}
