/*
 * Logistic growth fit.
 *
 * Model: y(t) = K / (1 + exp(-g (t - t0))) (Verhulst 1838), the solution of
 * dy/dt = g y (1 - y / K). Fitted by nonlinear least squares with
 * Levenberg-Marquardt (Marquardt 1963; diagonal scaling of J'J, lambda
 * divided by 3 on success and multiplied by 4 on failure) on
 * theta = (log K, t0, log g), which keeps K and g positive. Jacobian:
 *   df/dlogK = f,  df/dt0 = -g K s (1 - s),  df/dlogg = g (t - t0) K s (1 - s)
 * with s = 1 / (1 + exp(-g (t - t0))). Cumulative counts are monotone, so a
 * handful of starts bracketing "already saturated" to "far from the
 * ceiling" is enough; the best SSE wins.
 */
#include "model/growth.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define GR_MAX_ITER 300

static double sigmoid(double u)
{
    if (u >= 0.0)
        return 1.0 / (1.0 + exp(-u));
    double e = exp(u);
    return e / (1.0 + e);
}

double growth_logistic(double K, double t0, double g, double t)
{
    return K * sigmoid(g * (t - t0));
}

struct gr_data {
    const double *t, *y;
    size_t n;
};

/* SSE at theta; with JtJ/Jtr when asked (3x3 and 3). */
static double gr_sse(const struct gr_data *d, const double th[3], double JtJ[9], double Jtr[3])
{
    double K = exp(th[0]), t0 = th[1], g = exp(th[2]), sse = 0.0;
    if (JtJ) {
        memset(JtJ, 0, 9 * sizeof(double));
        memset(Jtr, 0, 3 * sizeof(double));
    }
    for (size_t i = 0; i < d->n; i++) {
        double s = sigmoid(g * (d->t[i] - t0)), f = K * s, r = d->y[i] - f;
        sse += r * r;
        if (!JtJ)
            continue;
        double ks = K * s * (1.0 - s);
        double J[3] = {f, -g * ks, g * (d->t[i] - t0) * ks};
        for (int a = 0; a < 3; a++) {
            Jtr[a] += J[a] * r;
            for (int b = 0; b < 3; b++)
                JtJ[3 * a + b] += J[a] * J[b];
        }
    }
    return isfinite(sse) ? sse : INFINITY;
}

/* Solves the 3x3 system A x = b by Gaussian elimination with pivoting. */
static bool solve3(double A[9], double b[3], double x[3])
{
    int piv[3] = {0, 1, 2};
    for (int c = 0; c < 3; c++) {
        int best = c;
        for (int r = c + 1; r < 3; r++)
            if (fabs(A[3 * piv[r] + c]) > fabs(A[3 * piv[best] + c]))
                best = r;
        int tmp = piv[c];
        piv[c] = piv[best];
        piv[best] = tmp;
        double d = A[3 * piv[c] + c];
        if (!(fabs(d) > 1e-300))
            return false;
        for (int r = c + 1; r < 3; r++) {
            double f = A[3 * piv[r] + c] / d;
            for (int k = c; k < 3; k++)
                A[3 * piv[r] + k] -= f * A[3 * piv[c] + k];
            b[piv[r]] -= f * b[piv[c]];
        }
    }
    for (int c = 2; c >= 0; c--) {
        double s = b[piv[c]];
        for (int k = c + 1; k < 3; k++)
            s -= A[3 * piv[c] + k] * x[k];
        x[c] = s / A[3 * piv[c] + c];
    }
    return isfinite(x[0]) && isfinite(x[1]) && isfinite(x[2]);
}

/* Levenberg-Marquardt from th (in/out); returns converged; *sse, *iters out. */
static bool gr_lm(const struct gr_data *d, double th[3], double *sse, int *iters)
{
    double JtJ[9], Jtr[3], lambda = 1e-3;
    double f = gr_sse(d, th, JtJ, Jtr);
    for (*iters = 0; *iters < GR_MAX_ITER && isfinite(f); (*iters)++) {
        double A[9], b[3], step[3], cand[3];
        memcpy(A, JtJ, sizeof(A));
        memcpy(b, Jtr, sizeof(b));
        for (int k = 0; k < 3; k++)
            A[4 * k] += lambda * fmax(JtJ[4 * k], 1e-12);
        if (!solve3(A, b, step)) {
            lambda *= 4.0;
            continue;
        }
        for (int k = 0; k < 3; k++)
            cand[k] = th[k] + step[k];
        double fc = gr_sse(d, cand, NULL, NULL);
        if (fc < f) {
            double moved = fabs(step[0]) + fabs(step[2]) + fabs(step[1]) / (1.0 + fabs(th[1]));
            bool small = (f - fc) <= 1e-14 * f + 1e-300 || moved < 1e-12;
            memcpy(th, cand, sizeof(cand));
            f = gr_sse(d, th, JtJ, Jtr);
            lambda = fmax(lambda / 3.0, 1e-12);
            if (small) {
                *sse = f;
                return true;
            }
        } else {
            lambda *= 4.0;
            if (lambda > 1e16) {
                *sse = f; /* no step improves the SSE: a (local) minimum */
                return true;
            }
        }
    }
    *sse = f;
    return false;
}

static bool gr_done(struct growth_fit *out, bool ok, const char *why)
{
    out->converged = ok;
    snprintf(out->reason, sizeof(out->reason), "%s", why);
    return ok;
}

/* Scans the input: false with reason on unusable data. */
static bool gr_scan(const double *t, const double *y, size_t n, double *tmin, double *tmax,
                    double *ymax, double *ymean, struct growth_fit *out)
{
    *tmin = INFINITY, *tmax = -INFINITY, *ymax = -INFINITY, *ymean = 0.0;
    if (n < 3)
        return gr_done(out, false, "need at least 3 points");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(t[i]) || !isfinite(y[i]))
            return gr_done(out, false, "points must be finite");
        *tmin = fmin(*tmin, t[i]);
        *tmax = fmax(*tmax, t[i]);
        *ymax = fmax(*ymax, y[i]);
        *ymean += y[i] / (double)n;
    }
    if (!(*tmax > *tmin))
        return gr_done(out, false, "need at least two distinct times");
    if (!(*ymax > 0.0))
        return gr_done(out, false, "need a positive count");
    return true;
}

bool growth_fit_logistic(const double *t, const double *y, size_t n, struct growth_fit *out)
{
    double tmin, tmax, ymax, ymean;
    memset(out, 0, sizeof(*out));
    if (!gr_scan(t, y, n, &tmin, &tmax, &ymax, &ymean, out))
        return false;
    struct gr_data d = {t, y, n};
    double span = tmax - tmin, best[3] = {0}, best_sse = INFINITY;
    const double kf[3] = {1.1, 2.0, 5.0}, t0s[3] = {tmin + 0.5 * span, tmax, tmax + span};
    bool best_ok = false;
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
            double th[3] = {log(kf[i] * ymax), t0s[j], log(4.0 / span)}, sse;
            int it;
            bool ok = gr_lm(&d, th, &sse, &it);
            out->iterations += it;
            if (isfinite(sse) && sse < best_sse) {
                best_sse = sse;
                memcpy(best, th, sizeof(best));
                best_ok = ok;
            }
        }
    }
    if (!isfinite(best_sse))
        return gr_done(out, false, "no start gave a finite fit");
    out->K = exp(best[0]);
    out->t0 = best[1];
    out->g = exp(best[2]);
    double sst = 0.0;
    for (size_t i = 0; i < n; i++)
        sst += (y[i] - ymean) * (y[i] - ymean);
    out->rmse = sqrt(best_sse / (double)n);
    out->r2 = (sst > 0.0) ? 1.0 - best_sse / sst : 0.0;
    if (!isfinite(out->K) || !isfinite(out->g) || !isfinite(out->t0))
        return gr_done(out, false, "fit diverged");
    if (out->K > 100.0 * ymax)
        return gr_done(out, false, "no saturation in the data: ceiling not identified");
    return gr_done(out, best_ok, best_ok ? "converged" : "iteration limit reached");
}
