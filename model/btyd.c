/*
 * BTYD common layer: calibration summary, pattern compression, weighted
 * correlation, and seeded simulators.
 *
 * Design. The summary follows lifetimes' summary_data_from_transaction_data
 * (lifetimes/utils.py) with freq = "D": one purchase occasion per customer and
 * calendar day, frequency = occasions - 1, recency = last - first, T = end -
 * first, monetary = mean of the repeat occasions. Unlike lifetimes with
 * freq = "W" (which buckets into calendar weeks), a week unit here only
 * divides the day counts by 7: this is how the CDNOW summaries of Fader,
 * Hardie & Lee (2005) are expressed (e.g. T = 272 / 7 = 38.86 weeks).
 *
 * Compression: Fader & Hardie fit on the distinct (x, t_x, T) patterns with
 * counts, which lifetimes exposes as `weights` (PR #153: ~20x faster). We
 * hash the three doubles' bit patterns in an open-addressing table, so the
 * pass is O(n) and keeps first-appearance order (deterministic output).
 *
 * Simulators: xoshiro256** seeded by splitmix64 (Blackman & Vigna 2018),
 * gamma variates by Marsaglia & Tsang (2000), normal by the polar method.
 */
#include "model/btyd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool btyd_fail(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return false;
}

bool btyd_params_positive(const double *p, int n)
{
    for (int k = 0; k < n; k++)
        if (!(p[k] > 0.0) || !isfinite(p[k]))
            return false;
    return true;
}

/* ---- summary ---------------------------------------------------------- */

void btyd_summary_free(struct btyd_summary *s)
{
    free(s->customer);
    free(s->frequency);
    free(s->recency);
    free(s->T);
    free(s->monetary);
    memset(s, 0, sizeof(*s));
}

static bool summary_alloc(struct btyd_summary *s, size_t n)
{
    size_t k = n ? n : 1;
    s->customer = malloc(k * sizeof(size_t));
    s->frequency = malloc(k * sizeof(double));
    s->recency = malloc(k * sizeof(double));
    s->T = malloc(k * sizeof(double));
    s->monetary = malloc(k * sizeof(double));
    return s->customer && s->frequency && s->recency && s->T && s->monetary;
}

/* One customer's calibration occasions. Returns false on unsorted days or a
 * non-finite amount; *has is false when nothing falls on or before cal_end. */
static bool summarise_one(const struct btyd_txns *in, size_t c, int32_t cal_end, bool *has,
                          int32_t *first, int32_t *last, double *occasions, double *repeat_sum)
{
    *has = false;
    *occasions = 0.0;
    *repeat_sum = 0.0;
    int32_t prev = INT32_MIN;
    for (size_t k = in->start[c]; k < in->start[c + 1]; k++) {
        int32_t d = in->day[k];
        double amt = in->amount ? in->amount[k] : 0.0;
        if (d < prev)
            return false;
        if (!isfinite(amt))
            return false;
        prev = d;
        if (d > cal_end)
            continue;
        if (!*has) {
            *has = true;
            *first = *last = d;
            *occasions = 1.0;
        } else if (d != *last) {
            *last = d;
            *occasions += 1.0;
        }
        if (d != *first)
            *repeat_sum += amt;
    }
    return true;
}

bool btyd_summary_build(const struct btyd_txns *in, int32_t cal_end_day, enum btyd_unit unit,
                        struct btyd_summary *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (unit != BTYD_DAYS && unit != BTYD_WEEKS)
        return btyd_fail(why, "time unit must be days (1) or weeks (7)");
    if (in->n_customers > 0 && (!in->start || !in->day))
        return btyd_fail(why, "transaction arrays missing");
    if (!summary_alloc(out, in->n_customers)) {
        btyd_summary_free(out);
        return btyd_fail(why, "out of memory");
    }
    double u = (double)unit;
    for (size_t c = 0; c < in->n_customers; c++) {
        bool has;
        int32_t first = 0, last = 0;
        double occ, repeat_sum;
        if (!summarise_one(in, c, cal_end_day, &has, &first, &last, &occ, &repeat_sum)) {
            btyd_summary_free(out);
            return btyd_fail(why, "transaction days must be non-decreasing per customer and "
                             "amounts finite");
        }
        if (!has)
            continue;
        size_t i = out->n++;
        out->customer[i] = c;
        out->frequency[i] = occ - 1.0;
        out->recency[i] = (double)((int64_t)last - first) / u;
        out->T[i] = (double)((int64_t)cal_end_day - first) / u;
        out->monetary[i] = (occ > 1.0) ? repeat_sum / (occ - 1.0) : 0.0;
    }
    return true;
}

/* ---- compression ------------------------------------------------------ */

void btyd_patterns_free(struct btyd_patterns *p)
{
    free(p->frequency);
    free(p->recency);
    free(p->T);
    free(p->weight);
    free(p->pattern_of);
    memset(p, 0, sizeof(*p));
}

static uint64_t key_bits(double v)
{
    uint64_t b;
    if (v == 0.0)
        v = 0.0; /* -0 and +0 are one key */
    memcpy(&b, &v, sizeof(b));
    return b;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t hash3(double a, double b, double c)
{
    uint64_t h = mix64(key_bits(a) + 0x9e3779b97f4a7c15ULL);
    h = mix64(h ^ key_bits(b));
    return mix64(h ^ (key_bits(c) * 0x9e3779b97f4a7c15ULL));
}

static bool patterns_alloc(struct btyd_patterns *p, size_t n)
{
    size_t k = n ? n : 1;
    p->frequency = malloc(k * sizeof(double));
    p->recency = malloc(k * sizeof(double));
    p->T = malloc(k * sizeof(double));
    p->weight = malloc(k * sizeof(double));
    p->pattern_of = malloc(k * sizeof(size_t));
    return p->frequency && p->recency && p->T && p->weight && p->pattern_of;
}

static bool same_key(const struct btyd_patterns *p, size_t j, double x, double tx, double T)
{
    return key_bits(p->frequency[j]) == key_bits(x) && key_bits(p->recency[j]) == key_bits(tx) &&
           key_bits(p->T[j]) == key_bits(T);
}

bool btyd_compress(const double *x, const double *tx, const double *T, const double *w,
                   size_t n, struct btyd_patterns *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (n > SIZE_MAX / 4)
        return btyd_fail(why, "too many rows");
    size_t cap = 16;
    while (cap < 2 * n)
        cap <<= 1;
    size_t *slot = malloc(cap * sizeof(size_t));
    if (!slot || !patterns_alloc(out, n)) {
        free(slot);
        btyd_patterns_free(out);
        return btyd_fail(why, "out of memory");
    }
    for (size_t i = 0; i < cap; i++)
        slot[i] = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (isnan(x[i]) || isnan(tx[i]) || isnan(T[i]) || !(wi >= 0.0) || !isfinite(wi)) {
            free(slot);
            btyd_patterns_free(out);
            return btyd_fail(why, "pattern keys must not be NaN and weights must be finite, >= 0");
        }
        size_t h = (size_t)hash3(x[i], tx[i], T[i]) & (cap - 1);
        while (slot[h] != SIZE_MAX && !same_key(out, slot[h], x[i], tx[i], T[i]))
            h = (h + 1) & (cap - 1);
        if (slot[h] == SIZE_MAX) {
            size_t j = out->n++;
            slot[h] = j;
            out->frequency[j] = x[i] == 0.0 ? 0.0 : x[i];
            out->recency[j] = tx[i] == 0.0 ? 0.0 : tx[i];
            out->T[j] = T[i] == 0.0 ? 0.0 : T[i];
            out->weight[j] = 0.0;
        }
        out->weight[slot[h]] += wi;
        out->pattern_of[i] = slot[h];
    }
    free(slot);
    return true;
}

/* ---- fits and statistics ---------------------------------------------- */

void btyd_fit_opts_default(struct btyd_fit_opts *o)
{
    o->penalizer = 0.0;
    o->gtol = 1e-7;
    o->max_iter = 500;
    o->init = NULL;
}

bool btyd_pearson(const double *x, const double *y, const double *w, size_t n, double *out)
{
    double sw = 0.0, mx = 0.0, my = 0.0;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (wi <= 0.0)
            continue;
        used++;
        sw += wi;
        mx += wi * x[i];
        my += wi * y[i];
    }
    if (used < 2)
        return false;
    mx /= sw;
    my /= sw;
    double sxx = 0.0, syy = 0.0, sxy = 0.0;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (wi <= 0.0)
            continue;
        double dx = x[i] - mx, dy = y[i] - my;
        sxx += wi * dx * dx;
        syy += wi * dy * dy;
        sxy += wi * dx * dy;
    }
    if (!(sxx > 0.0) || !(syy > 0.0))
        return false;
    *out = sxy / sqrt(sxx * syy);
    return isfinite(*out);
}

/* ---- simulation ------------------------------------------------------- */

static uint64_t rotl(uint64_t v, int k)
{
    return (v << k) | (v >> (64 - k));
}

void btyd_rng_seed(struct btyd_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        seed += 0x9e3779b97f4a7c15ULL;
        rng->s[i] = mix64(seed);
    }
}

static uint64_t rng_next(struct btyd_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double btyd_rng_uniform(struct btyd_rng *rng)
{
    /* (k + 0.5) / 2^53 for k in [0, 2^53): never 0 or 1. */
    return ((double)(rng_next(rng) >> 11) + 0.5) * 0x1.0p-53;
}

static double rng_normal(struct btyd_rng *rng)
{
    for (;;) {
        double u = 2.0 * btyd_rng_uniform(rng) - 1.0, v = 2.0 * btyd_rng_uniform(rng) - 1.0;
        double s = u * u + v * v;
        if (s > 0.0 && s < 1.0)
            return u * sqrt(-2.0 * log(s) / s);
    }
}

double btyd_rng_gamma(struct btyd_rng *rng, double shape, double scale)
{
    if (shape < 1.0) {
        /* Gamma(a) = Gamma(a + 1) U^(1/a), computed in logs for tiny a. */
        double g = btyd_rng_gamma(rng, shape + 1.0, 1.0);
        return scale * exp(log(g) + log(btyd_rng_uniform(rng)) / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double z = rng_normal(rng), v = 1.0 + c * z;
        if (v <= 0.0)
            continue;
        v = v * v * v;
        double u = btyd_rng_uniform(rng);
        if (log(u) < 0.5 * z * z + d - d * v + d * log(v))
            return scale * d * v;
    }
}

static double rng_beta(struct btyd_rng *rng, double a, double b)
{
    double x = btyd_rng_gamma(rng, a, 1.0), y = btyd_rng_gamma(rng, b, 1.0);
    return x / (x + y);
}

void btyd_simulate_bgnbd(const double params[4], const double *T, size_t n,
                         struct btyd_rng *rng, double *x, double *tx)
{
    double r = params[0], alpha = params[1], a = params[2], b = params[3];
    for (size_t i = 0; i < n; i++) {
        double lambda = btyd_rng_gamma(rng, r, 1.0 / alpha), p = rng_beta(rng, a, b);
        double t = 0.0, last = 0.0, k = 0.0;
        for (;;) {
            t += -log(btyd_rng_uniform(rng)) / lambda;
            if (!(t <= T[i]))
                break;
            k += 1.0;
            last = t;
            if (btyd_rng_uniform(rng) < p)
                break;
        }
        x[i] = k;
        tx[i] = last;
    }
}

void btyd_simulate_paretonbd(const double params[4], const double *T, size_t n,
                             struct btyd_rng *rng, double *x, double *tx)
{
    double r = params[0], alpha = params[1], s = params[2], beta = params[3];
    for (size_t i = 0; i < n; i++) {
        double lambda = btyd_rng_gamma(rng, r, 1.0 / alpha);
        double mu = btyd_rng_gamma(rng, s, 1.0 / beta);
        double end = fmin(-log(btyd_rng_uniform(rng)) / mu, T[i]);
        double t = 0.0, last = 0.0, k = 0.0;
        for (;;) {
            t += -log(btyd_rng_uniform(rng)) / lambda;
            if (!(t <= end))
                break;
            k += 1.0;
            last = t;
        }
        x[i] = k;
        tx[i] = last;
    }
}

void btyd_simulate_gammagamma(const double params[3], const double *x, size_t n,
                              struct btyd_rng *rng, double *m)
{
    double p = params[0], q = params[1], gamma = params[2];
    for (size_t i = 0; i < n; i++) {
        if (x[i] <= 0.0) {
            m[i] = 0.0;
            continue;
        }
        double nu = btyd_rng_gamma(rng, q, 1.0 / gamma);
        m[i] = btyd_rng_gamma(rng, p * x[i], 1.0 / (nu * x[i]));
    }
}
