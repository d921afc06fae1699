/*
 * Special functions for the BTYD models.
 *
 * Design. Everything the likelihoods need is written in log space so that
 * customers with hundreds of purchases or ages of thousands of days do not
 * overflow: log-gamma (C99 lgamma, or glibc's reentrant lgamma_r so that
 * concurrent fits do not race on the global signgam), digamma for analytic
 * gradients, and log|2F1| for the expectations of Fader, Hardie & Lee (2005,
 * eqs. 9-10) and the Pareto/NBD likelihood (Fader & Hardie 2005 note,
 * eqs. 19-20).
 *
 * 2F1 sources: Abramowitz & Stegun (1964) 15.1.1 (series), 15.3.3 (Euler
 * transformation), 15.3.6 (1-z connection formula). Only the real domain
 * 0 <= z < 1 is supported because every model expression lives there.
 */
#include "model/specfun.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>

#define SF_PI 3.14159265358979323846
#define SF_LN_RESCALE 575.6462732485114 /* 250 * ln(10) */

/* Below this distance of c-a-b from an integer, 15.3.6 is not used directly. */
#define SF_NEAR_INT 2.5e-5
#define SF_RICHARDSON_STEP 1e-4
/* Last resort near z = 1: about 1 ms of series terms. */
#define SF_LONG_SERIES 2000000L

double specfun_logaddexp(double a, double b)
{
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    if (a > b)
        return a + log1p(exp(b - a));
    return b + log1p(exp(a - b));
}

double specfun_digamma(double x)
{
    if (!isfinite(x))
        return (x == INFINITY) ? INFINITY : NAN;
    if (x <= 0.0) {
        if (x == floor(x))
            return NAN;
        /* Reflection: psi(x) = psi(1 - x) - pi / tan(pi x). */
        double frac = x - floor(x);
        return specfun_digamma(1.0 - x) - SF_PI / tan(SF_PI * frac);
    }
    double acc = 0.0;
    while (x < 10.0) {
        acc -= 1.0 / x;
        x += 1.0;
    }
    /* Asymptotic series: ln x - 1/(2x) - sum_k B_2k / (2k x^2k). */
    double f = 1.0 / (x * x);
    double tail = f * (-1.0 / 12 +
                       f * (1.0 / 120 +
                            f * (-1.0 / 252 +
                                 f * (1.0 / 240 + f * (-1.0 / 132 + f * (691.0 / 32760))))));
    return acc + log(x) - 0.5 / x + tail;
}

/* log Gamma(x) for x > 0 without touching the global signgam where possible. */
static double lgamma_pos(double x)
{
#if defined(__GLIBC__)
    int s;
    return lgamma_r(x, &s);
#else
    return lgamma(x);
#endif
}

double specfun_lgamma(double x)
{
    return (x > 0.0) ? lgamma_pos(x) : NAN;
}

double specfun_lgamma_signed(double x, int *sign)
{
    if (isnan(x)) {
        *sign = 0;
        return NAN;
    }
    if (x > 0.0) {
        *sign = 1;
        return lgamma_pos(x);
    }
    if (x == floor(x)) {
        *sign = 0;
        return INFINITY;
    }
    /* Reflection: Gamma(x) = pi / (sin(pi x) Gamma(1 - x)); reduce x mod 2 first
     * so sin keeps its accuracy for large |x|. */
    double r = fmod(x, 2.0); /* in (-2, 0) */
    double s = sin(SF_PI * r);
    *sign = (s < 0.0) ? -1 : 1;
    return log(SF_PI) - log(fabs(s)) - lgamma_pos(1.0 - x);
}

/*
 * Gauss series sum_n (a)_n (b)_n / ((c)_n n!) z^n, in log-magnitude and sign.
 * The running sums are rescaled by 10^-250 whenever they grow past 10^250, so
 * the huge intermediate terms of large parameters stay finite. Stops when the
 * tail bound |t_n| q / (1 - q), q = max(|ratio|, |z|), is below the double
 * epsilon of the sum. Returns false if max_terms were not enough, or if the
 * terms cancelled so much (sum |t_n| > 1e5 |sum|) that over five digits are
 * lost: the caller then tries another representation.
 */
static bool gauss_series(double a, double b, double c, double z, long max_terms,
                         double *log_abs, int *sign)
{
    double term = 1.0, sum = 1.0, abs_sum = 1.0, log_scale = 0.0;
    for (long n = 0; n < max_terms; n++) {
        double dn = (double)n;
        double ratio = (a + dn) * (b + dn) / ((c + dn) * (dn + 1.0)) * z;
        term *= ratio;
        sum += term;
        abs_sum += fabs(term);
        if (!isfinite(abs_sum))
            return false;
        if (term == 0.0)
            break;
        double q = fmax(fabs(ratio), fabs(z));
        if (q < 1.0 && fabs(term) * q / (1.0 - q) <= 0.1 * DBL_EPSILON * fabs(sum))
            break;
        if (abs_sum > 1e250) {
            sum *= 1e-250;
            term *= 1e-250;
            abs_sum *= 1e-250;
            log_scale += SF_LN_RESCALE;
        }
        if (n + 1 == max_terms)
            return false;
    }
    if (sum == 0.0 || abs_sum > 1e5 * fabs(sum))
        return false;
    *sign = (sum < 0.0) ? -1 : 1;
    *log_abs = log(fabs(sum)) + log_scale;
    return true;
}

/* log|1/Gamma(x)| with sign; at a pole 1/Gamma is 0: returns -inf, sign 0. */
static double lrgamma(double x, int *sign)
{
    double l = specfun_lgamma_signed(x, sign);
    return (*sign == 0) ? -INFINITY : -l;
}

/* Signed sum of two log-magnitude terms; false when both vanish. */
static bool signed_logsum(double l1, int s1, double l2, int s2, double *out, int *sign)
{
    if (s1 == 0 && s2 == 0)
        return false;
    if (s1 == 0 || l1 == -INFINITY) {
        *out = l2;
        *sign = s2;
        return s2 != 0;
    }
    if (s2 == 0 || l2 == -INFINITY) {
        *out = l1;
        *sign = s1;
        return true;
    }
    double m = fmax(l1, l2);
    double v = s1 * exp(l1 - m) + s2 * exp(l2 - m);
    /* Over four digits cancelled: the caller falls back to a long series. */
    if (!isfinite(v) || fabs(v) < 1e-4)
        return false;
    *sign = (v < 0.0) ? -1 : 1;
    *out = m + log(fabs(v));
    return true;
}

/*
 * A&S 15.3.6, valid when c - a - b is not an integer:
 *   F(a,b;c;z) = G(c)G(d)/(G(c-a)G(c-b)) F(a,b;1-d;1-z)
 *              + (1-z)^d G(c)G(-d)/(G(a)G(b)) F(c-a,c-b;1+d;1-z),  d = c-a-b.
 */
static bool connection_generic(double a, double b, double c, double z, double *log_abs,
                               int *sign)
{
    double d = c - a - b, w = 1.0 - z;
    int sc, sd, sca, scb, snd, sa, sb, s1f = 0, s2f = 0;
    double lc = specfun_lgamma_signed(c, &sc);
    if (sc == 0)
        return false;
    double l1 = lc + specfun_lgamma_signed(d, &sd) + lrgamma(c - a, &sca) + lrgamma(c - b, &scb);
    double l2 = lc + specfun_lgamma_signed(-d, &snd) + lrgamma(a, &sa) + lrgamma(b, &sb) +
                d * log(w);
    int s1 = sc * sd * sca * scb, s2 = sc * snd * sa * sb;
    double f1 = 0.0, f2 = 0.0;
    if (s1 != 0) {
        if (!gauss_series(a, b, 1.0 - d, w, 200000, &f1, &s1f))
            return false;
        s1 *= s1f;
    }
    if (s2 != 0) {
        if (!gauss_series(c - a, c - b, 1.0 + d, w, 200000, &f2, &s2f))
            return false;
        s2 *= s2f;
    }
    return signed_logsum(l1 + f1, s1, l2 + f2, s2, log_abs, sign);
}

/*
 * 15.3.6 near an integer c-a-b: F is analytic in c, so take the symmetric
 * Richardson combination (4 S(h) - S(2h)) / 3 with S(h) = (F(c+h) + F(c-h)) / 2,
 * whose error is h^4 F''''/6; each shifted point is >= 0.75 h away from the
 * cancellation, costing at most ~1e-13 relative.
 */
static bool connection(double a, double b, double c, double z, double *log_abs, int *sign)
{
    double d = c - a - b;
    if (fabs(d - nearbyint(d)) >= SF_NEAR_INT)
        return connection_generic(a, b, c, z, log_abs, sign);
    const double h = SF_RICHARDSON_STEP;
    /* F has a pole at c = 0; keep the stencil well away from it. */
    if (c < 50.0 * h)
        return false;
    const double shift[4] = {h, -h, 2.0 * h, -2.0 * h};
    const double coef[4] = {4.0 / 6.0, 4.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0};
    double l[4];
    int s[4];
    for (int k = 0; k < 4; k++)
        if (!connection_generic(a, b, c + shift[k], z, &l[k], &s[k]))
            return false;
    double ref = fmax(fmax(l[0], l[1]), fmax(l[2], l[3]));
    double v = 0.0;
    for (int k = 0; k < 4; k++)
        v += coef[k] * s[k] * exp(l[k] - ref);
    if (v == 0.0 || !isfinite(v))
        return false;
    *sign = (v < 0.0) ? -1 : 1;
    *log_abs = ref + log(fabs(v));
    return true;
}

static bool is_nonpos_int(double x)
{
    return x <= 0.0 && x == floor(x);
}

/* The z-series directly, or after Euler's transformation (A&S 15.3.3). */
static bool z_series(double a, double b, double c, double z, bool euler, long cap,
                     double *log_abs, int *sign)
{
    if (!euler)
        return gauss_series(a, b, c, z, cap, log_abs, sign);
    if (!gauss_series(c - a, c - b, c, z, cap, log_abs, sign))
        return false;
    *log_abs += (c - a - b) * log1p(-z);
    return true;
}

double specfun_log_hyp2f1(double a, double b, double c, double z, int *sign)
{
    *sign = 0;
    if (!isfinite(a) || !isfinite(b) || !isfinite(c) || !isfinite(z))
        return NAN;
    if (z < 0.0 || z >= 1.0 || c <= 0.0)
        return NAN;
    if (z == 0.0 || a == 0.0 || b == 0.0) {
        *sign = 1;
        return 0.0;
    }
    double out = 0.0;
    int s = 0;
    long cap = (z <= 0.9) ? 200000L : 4000L;
    bool poly = is_nonpos_int(a) || is_nonpos_int(b);
    /* Prefer the form whose terms decay like n^-(|c-a-b|+1) z^n. */
    bool euler_first = !poly && (c - a - b < 0.0);
    if (z_series(a, b, c, z, euler_first, cap, &out, &s) ||
        (!poly && z_series(a, b, c, z, !euler_first, cap, &out, &s)) ||
        (z > 0.5 && connection(a, b, c, z, &out, &s)) ||
        (cap < SF_LONG_SERIES && z_series(a, b, c, z, euler_first, SF_LONG_SERIES, &out, &s))) {
        *sign = s;
        return out;
    }
    *sign = 0;
    return NAN;
}

double specfun_hyp2f1(double a, double b, double c, double z)
{
    int s;
    double l = specfun_log_hyp2f1(a, b, c, z, &s);
    if (s == 0)
        return NAN;
    return s * exp(l);
}
