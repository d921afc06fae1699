#ifndef BTYD_H
#define BTYD_H

/*
 * Buy-till-you-die (BTYD) common layer: the per-customer summary that the
 * BG/NBD, Pareto/NBD and Gamma-Gamma models consume, its compression into
 * weighted patterns, the shared fit result, and seeded simulators.
 *
 * Call sequence (predictive LTV):
 *   btyd_summary_build(&txns, cal_end_day, BTYD_WEEKS, &sum, &why);
 *   btyd_compress(sum.frequency, sum.recency, sum.T, NULL, sum.n, &pat, &why);
 *   bgnbd_fit(pat.frequency, pat.recency, pat.T, pat.weight, pat.n, &opts, &fit);
 *   gammagamma_fit(sum.frequency, sum.monetary, NULL, sum.n, &opts, false, &gg);
 *   clv_... (model/clv.h);  btyd_summary_free(&sum); btyd_patterns_free(&pat);
 *
 * Conventions (those of the Python library lifetimes; docs/ltv-model.md):
 * day numbers are whole days in the project's time zone; all transactions of
 * a customer on one calendar day are ONE purchase occasion whose value is the
 * sum of their amounts; frequency = repeat occasions in the calibration
 * period (occasions - 1); recency = last occasion - first occasion; T =
 * calibration end - first occasion; monetary = mean value of the repeat
 * occasions (the first is excluded), 0 when frequency is 0. Recency and T are
 * divided by the time unit (1 day, or 7 days for weeks), so they can be
 * fractional; the merge is always by calendar day.
 *
 * Errors: functions return false and, if why is not NULL, point *why at a
 * static English sentence. Nothing prints.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum btyd_unit {
    BTYD_DAYS = 1, /* recency and T in days */
    BTYD_WEEKS = 7 /* recency and T in weeks of 7 days */
};

/* Transactions grouped by customer (CSR layout, borrowed). */
struct btyd_txns {
    const int32_t *day;   /* day number of each transaction; non-decreasing within a customer */
    const double *amount; /* net amount of each transaction (any currency unit); NULL: all 0 */
    const size_t *start;  /* customer i owns transactions [start[i], start[i+1]); n_customers+1 */
    size_t n_customers;
};

/* Per-customer calibration summary (owned; free with btyd_summary_free). */
struct btyd_summary {
    size_t n;           /* customers with a first purchase on or before cal_end_day */
    size_t *customer;   /* input index of each summarised customer */
    double *frequency;  /* x: repeat purchase occasions */
    double *recency;    /* t_x, in the time unit */
    double *T;          /* age at calibration end, in the time unit */
    double *monetary;   /* mean value of repeat occasions; 0 when x = 0 */
};

/*
 * Builds the summary over transactions with day <= cal_end_day (later ones are
 * ignored; customers whose first purchase is later are left out). Allocates
 * out's arrays (n_customers entries at most). Fails on a decreasing day
 * within a customer, a non-finite amount, a bad unit, or allocation failure;
 * out is then empty (safe to free).
 */
bool btyd_summary_build(const struct btyd_txns *in, int32_t cal_end_day, enum btyd_unit unit,
                        struct btyd_summary *out, const char **why);

/* Frees the arrays of s and zeroes it; s may be zeroed already. */
void btyd_summary_free(struct btyd_summary *s);

/* Distinct (frequency, recency, T) rows with their total weight (owned). */
struct btyd_patterns {
    size_t n;           /* distinct patterns */
    double *frequency, *recency, *T;
    double *weight;     /* sum of the input weights of the rows with this pattern */
    size_t *pattern_of; /* for each input row, the index of its pattern */
};

/*
 * Collapses identical (x[i], tx[i], T[i]) rows (bitwise equal after -0 -> 0)
 * into weighted patterns, in order of first appearance; w may be NULL
 * (weight 1 each). One hash pass: O(n). Fits on the patterns give the same
 * log-likelihood as on the rows; per-customer predictions are computed per
 * pattern and read back through pattern_of. Fails on NaN keys, a negative or
 * non-finite weight, or allocation failure.
 */
bool btyd_compress(const double *x, const double *tx, const double *T, const double *w,
                   size_t n, struct btyd_patterns *out, const char **why);

/* Frees the arrays of p and zeroes it. */
void btyd_patterns_free(struct btyd_patterns *p);

/* ---- fits ------------------------------------------------------------- */

#define BTYD_MAX_PARAMS 4

/* Options shared by bgnbd_fit, paretonbd_fit and gammagamma_fit. */
struct btyd_fit_opts {
    double penalizer; /* lifetimes penalizer_coef (L2 on the parameters); default 0 */
    double gtol;      /* converged when max |d objective / d log param| <= gtol; 1e-7 */
    int max_iter;     /* optimiser iterations per stage; default 500 */
    const double *init; /* optional start (natural scale, model order); NULL: from data */
};

/* Fills the defaults listed in struct btyd_fit_opts. */
void btyd_fit_opts_default(struct btyd_fit_opts *o);

/* Result of a maximum-likelihood fit. All numbers are finite. */
struct btyd_fit {
    double params[BTYD_MAX_PARAMS]; /* BG/NBD r, alpha, a, b; Pareto/NBD r, alpha, s, beta;
                                       Gamma-Gamma p, q, gamma (alpha, beta in the time unit) */
    size_t n_params;
    double log_lik;      /* sum_i w_i log L_i at params, unpenalised */
    double objective;    /* value minimised (lifetimes' penalised mean -LL) */
    double total_weight; /* customers represented (sum of the weights used) */
    size_t n_rows;       /* rows used (Gamma-Gamma: those with x > 0 and m > 0) */
    int iterations;      /* optimiser iterations over all stages */
    int evaluations;     /* likelihood passes over the data */
    bool converged;      /* false: params are the best point found, or 0 if none */
    char reason[96];     /* why it stopped, e.g. "gradient below tolerance" */
};

/*
 * Weighted Pearson correlation of x and y over n rows (w NULL: weight 1).
 * Returns false when fewer than two rows have weight, or a variance is 0.
 */
bool btyd_pearson(const double *x, const double *y, const double *w, size_t n, double *out);

/* ---- simulation (seeded; tests, benchmarks, synthetic backtests) ------- */

/* xoshiro256** state (Blackman & Vigna 2018). */
struct btyd_rng {
    uint64_t s[4];
};

/* Seeds the generator from one 64-bit value through splitmix64. */
void btyd_rng_seed(struct btyd_rng *rng, uint64_t seed);

/* Uniform on the open interval (0, 1), 53 random bits. */
double btyd_rng_uniform(struct btyd_rng *rng);

/* Gamma(shape, scale) variate (Marsaglia & Tsang 2000); shape, scale > 0. */
double btyd_rng_gamma(struct btyd_rng *rng, double shape, double scale);

/*
 * BG/NBD customers (Fader, Hardie & Lee 2005, section 3): lambda ~
 * Gamma(r, scale 1/alpha), p ~ Beta(a, b); repeat purchases arrive as a
 * Poisson(lambda) process from the first purchase at 0 until T[i], and after
 * each one the customer dies with probability p. Writes frequency x[i] and
 * recency tx[i] (time of the last purchase, 0 if none). params: r, alpha, a, b.
 */
void btyd_simulate_bgnbd(const double params[4], const double *T, size_t n,
                         struct btyd_rng *rng, double *x, double *tx);

/*
 * Pareto/NBD customers (Schmittlein, Morrison & Colombo 1987): lambda ~
 * Gamma(r, scale 1/alpha), death rate mu ~ Gamma(s, scale 1/beta), lifetime
 * ~ Exp(mu); Poisson(lambda) purchases until min(lifetime, T[i]).
 * params: r, alpha, s, beta.
 */
void btyd_simulate_paretonbd(const double params[4], const double *T, size_t n,
                             struct btyd_rng *rng, double *x, double *tx);

/*
 * Gamma-Gamma average spend (Fader & Hardie 2013): nu ~ Gamma(q, scale
 * 1/gamma); each of the x[i] purchases ~ Gamma(p, scale 1/nu), so their mean
 * is Gamma(p x, scale 1/(nu x)). Writes m[i] (0 when x[i] = 0).
 * params: p, q, gamma.
 */
void btyd_simulate_gammagamma(const double params[3], const double *x, size_t n,
                              struct btyd_rng *rng, double *m);

/* Shared by the model files: set *why (when given) and return false. */
bool btyd_fail(const char **why, const char *msg);
/* Every one of the n parameters finite and > 0. */
bool btyd_params_positive(const double *p, int n);

#endif
