/*
 * Discounted customer lifetime value from a transaction model and the
 * Gamma-Gamma spend model.
 *
 * Source: lifetimes (CamDavidsonPilon/lifetimes) utils._customer_lifetime_value
 * and GammaGammaFitter.customer_lifetime_value; Fader, Hardie & Lee (2005,
 * JMR 42(4)) for the decomposition CLV = margin x spend x discounted
 * expected transactions (DET), which needs spend independent of the
 * transaction process (the Gamma-Gamma assumption).
 *
 * Units: month i covers model time ((i-1) f, i f] with f = days_per_month /
 * unit; discounting is monthly, (1 + d)^-i for month i (lifetimes: (1 + d)^
 * (t / factor) with t = i * factor). The month length defaults to 30.4375
 * days (365.25 / 12) where lifetimes uses 30 days (4.345 weeks): over 12
 * months lifetimes covers 360 days, 5.25 days short of a year, which is the
 * pymc-marketing #2749 / lifetimes #215 complaint.
 */
#include "model/clv.h"

#include <math.h>

#include "model/bgnbd.h"
#include "model/gammagamma.h"
#include "model/paretonbd.h"

void clv_opts_default(struct clv_opts *o)
{
    o->months = 12;
    o->discount_rate = 0.01;
    o->margin = 1.0;
    o->days_per_month = 30.4375;
    o->unit = BTYD_DAYS;
}

static bool opts_ok(const struct clv_opts *o)
{
    return o->months >= 1 && o->months <= 1200 && o->discount_rate >= 0.0 &&
           isfinite(o->discount_rate) && isfinite(o->margin) && o->days_per_month > 0.0 &&
           isfinite(o->days_per_month) && (o->unit == BTYD_DAYS || o->unit == BTYD_WEEKS);
}

static bool expected(enum clv_model model, const double params[4], double t, double x,
                     double tx, double T, double *out)
{
    if (t == 0.0) {
        *out = 0.0;
        return true;
    }
    if (model == CLV_BGNBD)
        return bgnbd_conditional_expected(params, t, x, tx, T, out);
    if (model == CLV_PARETONBD)
        return paretonbd_conditional_expected(params, t, x, tx, T, out);
    return false;
}

bool clv_discounted_purchases(enum clv_model model, const double params[4], double x,
                              double tx, double T, const struct clv_opts *o, double *out)
{
    if (!opts_ok(o))
        return false;
    double f = o->days_per_month / (double)o->unit, prev = 0.0, det = 0.0;
    double log_disc = log1p(o->discount_rate);
    for (int i = 1; i <= o->months; i++) {
        double cur;
        if (!expected(model, params, i * f, x, tx, T, &cur))
            return false;
        det += (cur - prev) * exp(-i * log_disc);
        prev = cur;
    }
    *out = det;
    return isfinite(det);
}

bool clv_compute(enum clv_model model, const double params[4], const double gg_params[3],
                 const double *x, const double *tx, const double *T, const double *m, size_t n,
                 const struct clv_opts *o, double *out, const char **why)
{
    for (size_t i = 0; i < n; i++) {
        double spend, det;
        if (!gammagamma_expected_spend(gg_params, x[i], m[i], &spend)) {
            if (why)
                *why = "expected spend undefined (needs q > 1, x >= 0, m >= 0)";
            return false;
        }
        if (!clv_discounted_purchases(model, params, x[i], tx[i], T[i], o, &det)) {
            if (why)
                *why = "expected purchases undefined for this history, model or options";
            return false;
        }
        out[i] = o->margin * spend * det;
        if (!isfinite(out[i])) {
            if (why)
                *why = "CLV not finite";
            return false;
        }
    }
    return true;
}
