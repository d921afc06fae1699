#ifndef GROWTH_H
#define GROWTH_H

/*
 * Logistic growth curve for GET /v1/growth: least-squares fit of cumulative
 * counts y(t) ~ K / (1 + exp(-g (t - t0))) with ceiling K > 0, midpoint t0 and
 * rate g > 0 (t in any unit, e.g. days since launch). docs/ltv-model.md.
 */

#include <stdbool.h>
#include <stddef.h>

struct growth_fit {
    double K;      /* ceiling (same unit as y) */
    double t0;     /* midpoint: y(t0) = K / 2 (same unit as t) */
    double g;      /* rate per unit of t; time from 10 % to 90 % of K is 2 ln 9 / g */
    double rmse;   /* sqrt(SSE / n) */
    double r2;     /* 1 - SSE / SST (0 when SST = 0) */
    int iterations;
    bool converged; /* false: params are the best found (finite), see reason */
    char reason[96];
};

/* K / (1 + exp(-g (t - t0))), without overflow for any t. */
double growth_logistic(double K, double t0, double g, double t);

/*
 * Fits K, t0, g by Levenberg-Marquardt on (log K, t0, log g) from nine
 * starts (K in {1.1, 2, 5} x max y, t0 in {middle, last t, last t + span},
 * g = 4 / span) and keeps the lowest SSE. Needs n >= 3 finite points, two
 * distinct t and max y > 0. Reports converged = false (with finite numbers)
 * when no start converges or when the best K exceeds 100 x max y: the data
 * show no saturation yet, so the ceiling is not identified.
 * Returns out->converged.
 */
bool growth_fit_logistic(const double *t, const double *y, size_t n, struct growth_fit *out);

#endif
