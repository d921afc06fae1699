/*
 * RFM scoring (design).
 *
 * Inputs per person: R = as_of_day - last_order_day (whole days), F = number
 * of net-paid orders in the look-back window, M = net revenue in minor units.
 * Only persons with F > 0, M > 0 and a last order on or before as_of are
 * scored; everyone else is counted by reason (struct rfm_unscored).
 *
 * rfm11 quintiles are value-based so that equal values always get equal
 * scores: with n scored persons, below = #values strictly worse, equal =
 * #values equal (self included), the mid-rank percentile is
 * p = (below + equal/2) / n in (0, 1) and the score is 1 + floor(5p). This is
 * the Hazen plotting position; for distinct values and n a multiple of 5 it
 * gives exactly n/5 persons per score, the same as pandas
 * qcut(rank(method='first'), 5). With no information (one customer, or all
 * equal) everyone scores 3. R is scored on -days (more recent = higher).
 *
 * Segments: the R x F grid published in many RFM tutorials (the Miuul /
 * Kaggle "seg_map": [1-2][1-2] hibernating, [1-2][3-4] at risk, [1-2]5 can't
 * lose, 3[1-2] about to sleep, 33 need attention, [3-4][4-5] loyal, 41
 * promising, 51 new, [4-5][2-3] potential loyalist, 5[4-5] champions). It has
 * ten names; "Lost" (R <= 2, F <= 2, M <= 2 in the R package `rfm`) is taken
 * as the bottom cell R = 1, X = 1 of the hibernating block. The column X is
 * FM = round-half-up((F + M) / 2) by default so that M matters, or F alone.
 *
 * rfm8: each of R, F, M is high or low against the mean (or median) of the
 * scored population: recent iff days <= threshold, F high iff F >= threshold,
 * M high iff M >= threshold. Thresholds are held as q + fraction, so the
 * comparisons are exact integer tests without overflow.
 *
 * Cost: one radix sort per dimension (8-bit digits, constant passes skipped),
 * then one sweep. Memory: about 50 bytes of scratch per person, freed on return.
 */
#include "model/rfm.h"

#include <stdlib.h>
#include <string.h>

#define SIGN_FLIP 0x8000000000000000ULL

/* Sort key[0..n) ascending, carrying idx[] along (idx may be NULL). LSD radix
 * with 8-bit digits; a pass whose digit is the same for all keys is skipped. */
static bool radix_sort(uint64_t *key, uint32_t *idx, size_t n)
{
    static const int passes = 8;
    size_t (*hist)[256] = NULL;
    uint64_t *k2 = NULL;
    uint32_t *i2 = NULL;
    bool ok = false;

    if (n < 2)
        return true;
    hist = calloc((size_t)passes, sizeof *hist);
    k2 = malloc(n * sizeof *k2);
    i2 = idx ? malloc(n * sizeof *i2) : NULL;
    if (!hist || !k2 || (idx && !i2))
        goto out;
    for (size_t i = 0; i < n; i++)
        for (int p = 0; p < passes; p++)
            hist[p][(key[i] >> (8 * p)) & 0xFFu]++;

    uint64_t *src = key, *dst = k2;
    uint32_t *isrc = idx, *idst = i2;
    for (int p = 0; p < passes; p++) {
        size_t *h = hist[p];
        if (h[(src[0] >> (8 * p)) & 0xFFu] == n)
            continue;
        size_t pos = 0;
        for (int d = 0; d < 256; d++) {
            size_t c = h[d];
            h[d] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++) {
            size_t at = h[(src[i] >> (8 * p)) & 0xFFu]++;
            dst[at] = src[i];
            if (idx)
                idst[at] = isrc[i];
        }
        uint64_t *t = src; src = dst; dst = t;
        uint32_t *it = isrc; isrc = idst; idst = it;
    }
    if (src != key) {
        memcpy(key, src, n * sizeof *key);
        if (idx)
            memcpy(idx, isrc, n * sizeof *idx);
    }
    ok = true;
out:
    free(i2);
    free(k2);
    free(hist);
    return ok;
}

bool rfm_rank_counts(const int64_t *values, size_t n, uint32_t *n_below,
                     uint32_t *n_equal)
{
    uint64_t *key = NULL;
    uint32_t *idx = NULL;
    bool ok = false;

    if (n == 0)
        return true;
    if (n > UINT32_MAX)
        return false;
    key = malloc(n * sizeof *key);
    idx = malloc(n * sizeof *idx);
    if (!key || !idx)
        goto out;
    for (size_t i = 0; i < n; i++) {
        key[i] = (uint64_t)values[i] ^ SIGN_FLIP;
        idx[i] = (uint32_t)i;
    }
    if (!radix_sort(key, idx, n))
        goto out;
    for (size_t start = 0; start < n;) {
        size_t end = start + 1;
        while (end < n && key[end] == key[start])
            end++;
        for (size_t j = start; j < end; j++) {
            n_below[idx[j]] = (uint32_t)start;
            n_equal[idx[j]] = (uint32_t)(end - start);
        }
        start = end;
    }
    ok = true;
out:
    free(idx);
    free(key);
    return ok;
}

int rfm_quintile(uint32_t below, uint32_t equal, uint32_t n)
{
    uint64_t num = 10u * (uint64_t)below + 5u * (uint64_t)equal;
    uint64_t s = 1u + num / (2u * (uint64_t)n);
    return s > 5 ? 5 : (int)s;
}

/* ---- shared: who is scored ------------------------------------------ */

/* True if p is scored; otherwise counts the reason in *u. */
static bool rfm_is_scored(const struct rfm_person *p, int32_t as_of_day,
                          struct rfm_unscored *u)
{
    if (p->orders <= 0) {
        u->no_orders++;
        return false;
    }
    if (p->net_revenue <= 0) {
        u->non_positive_net++;
        return false;
    }
    if (p->last_order_day > as_of_day) {
        u->after_as_of++;
        return false;
    }
    return true;
}

static bool add_revenue(int64_t *acc, int64_t v)
{
    if (v > 0 && *acc > INT64_MAX - v)
        return false;
    *acc += v;
    return true;
}

/* ---- rfm11 ----------------------------------------------------------- */

#define S_CH RFM11_CHAMPIONS
#define S_LO RFM11_LOYAL
#define S_PL RFM11_POTENTIAL_LOYALIST
#define S_NE RFM11_NEW_CUSTOMERS
#define S_PR RFM11_PROMISING
#define S_NA RFM11_NEED_ATTENTION
#define S_AS RFM11_ABOUT_TO_SLEEP
#define S_AR RFM11_AT_RISK
#define S_CL RFM11_CANT_LOSE
#define S_HI RFM11_HIBERNATING
#define S_LT RFM11_LOST

/* grid[r-1][x-1]; rows R = 1..5, columns X = 1..5. */
static const unsigned char rfm11_grid[5][5] = {
    {S_LT, S_HI, S_AR, S_AR, S_CL},
    {S_HI, S_HI, S_AR, S_AR, S_CL},
    {S_AS, S_AS, S_NA, S_LO, S_LO},
    {S_PR, S_PL, S_PL, S_LO, S_LO},
    {S_NE, S_PL, S_PL, S_CH, S_CH},
};

static const char *const rfm11_names[RFM11_N_SEGMENTS] = {
    "Champions", "Loyal Customers", "Potential Loyalist", "New Customers",
    "Promising", "Need Attention", "About To Sleep", "At Risk",
    "Can't Lose Them", "Hibernating", "Lost",
};

static const char *const rfm11_codes[RFM11_N_SEGMENTS] = {
    "champions", "loyal_customers", "potential_loyalist", "new_customers",
    "promising", "need_attention", "about_to_sleep", "at_risk",
    "cant_lose_them", "hibernating", "lost",
};

static const char *const rfm11_rules[2][RFM11_N_SEGMENTS] = {
    {
        "R = 5 and FM in 4-5",
        "R in 3-4 and FM in 4-5",
        "R in 4-5 and FM in 2-3",
        "R = 5 and FM = 1",
        "R = 4 and FM = 1",
        "R = 3 and FM = 3",
        "R = 3 and FM in 1-2",
        "R in 1-2 and FM in 3-4",
        "R in 1-2 and FM = 5",
        "R in 1-2 and FM in 1-2, except R = 1 and FM = 1",
        "R = 1 and FM = 1",
    },
    {
        "R = 5 and F in 4-5",
        "R in 3-4 and F in 4-5",
        "R in 4-5 and F in 2-3",
        "R = 5 and F = 1",
        "R = 4 and F = 1",
        "R = 3 and F = 3",
        "R = 3 and F in 1-2",
        "R in 1-2 and F in 3-4",
        "R in 1-2 and F = 5",
        "R in 1-2 and F in 1-2, except R = 1 and F = 1",
        "R = 1 and F = 1",
    },
};

enum rfm11_segment rfm11_segment_of(int r, int x)
{
    if (r < 1 || r > 5 || x < 1 || x > 5)
        return RFM11_N_SEGMENTS;
    return (enum rfm11_segment)rfm11_grid[r - 1][x - 1];
}

const char *rfm11_name(enum rfm11_segment seg)
{
    return (unsigned)seg < RFM11_N_SEGMENTS ? rfm11_names[seg] : NULL;
}

const char *rfm11_code(enum rfm11_segment seg)
{
    return (unsigned)seg < RFM11_N_SEGMENTS ? rfm11_codes[seg] : NULL;
}

const char *rfm11_rule(enum rfm11_segment seg, enum rfm11_axis axis)
{
    if ((unsigned)seg >= RFM11_N_SEGMENTS || (unsigned)axis > RFM11_AXIS_F)
        return NULL;
    return rfm11_rules[axis][seg];
}

/* Score one dimension: vals[0..m) (higher = better) -> scores[0..m). */
static bool score_dimension(const int64_t *vals, size_t m, uint32_t *below,
                            uint32_t *equal, uint8_t *scores)
{
    if (!rfm_rank_counts(vals, m, below, equal))
        return false;
    for (size_t j = 0; j < m; j++)
        scores[j] = (uint8_t)rfm_quintile(below[j], equal[j], (uint32_t)m);
    return true;
}

/* Scratch for rfm11: compact arrays over the m scored persons. */
struct rfm11_scratch {
    uint32_t *orig; /* compact position -> person index */
    int64_t *vals;
    uint32_t *below, *equal;
    uint8_t *sc[3]; /* R, F, M scores by compact position */
};

static void rfm11_scratch_free(struct rfm11_scratch *s)
{
    free(s->orig);
    free(s->vals);
    free(s->below);
    free(s->equal);
    for (int d = 0; d < 3; d++)
        free(s->sc[d]);
}

static bool rfm11_scratch_alloc(struct rfm11_scratch *s, size_t m)
{
    size_t k = m ? m : 1;
    memset(s, 0, sizeof *s);
    s->orig = malloc(k * sizeof *s->orig);
    s->vals = malloc(k * sizeof *s->vals);
    s->below = malloc(k * sizeof *s->below);
    s->equal = malloc(k * sizeof *s->equal);
    for (int d = 0; d < 3; d++)
        s->sc[d] = malloc(k);
    return s->orig && s->vals && s->below && s->equal && s->sc[0] &&
           s->sc[1] && s->sc[2];
}

/* Fill the three score arrays of s for the m persons listed in s->orig. */
static bool rfm11_score_dims(const struct rfm_person *persons, int32_t as_of_day,
                             struct rfm11_scratch *s, size_t m)
{
    for (int d = 0; d < 3; d++) {
        for (size_t j = 0; j < m; j++) {
            const struct rfm_person *p = &persons[s->orig[j]];
            if (d == 0)
                s->vals[j] = -((int64_t)as_of_day - p->last_order_day);
            else if (d == 1)
                s->vals[j] = p->orders;
            else
                s->vals[j] = p->net_revenue;
        }
        if (!score_dimension(s->vals, m, s->below, s->equal, s->sc[d]))
            return false;
    }
    return true;
}

bool rfm11_score(const struct rfm_person *persons, size_t n, int32_t as_of_day,
                 enum rfm11_axis axis, struct rfm11_score *out,
                 struct rfm11_summary *sum)
{
    struct rfm11_scratch s;
    size_t m = 0;
    bool ok = false;

    memset(sum, 0, sizeof *sum);
    if ((unsigned)axis > RFM11_AXIS_F || n > UINT32_MAX)
        return false;
    if (!rfm11_scratch_alloc(&s, n))
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct rfm11_score *o = &out[i];
        memset(o, 0, sizeof *o);
        o->r = o->f = o->m = o->fm = o->segment = RFM_UNSCORED;
        if (rfm_is_scored(&persons[i], as_of_day, &sum->unscored))
            s.orig[m++] = (uint32_t)i;
    }
    if (!rfm11_score_dims(persons, as_of_day, &s, m))
        goto out;
    for (size_t j = 0; j < m; j++) {
        const struct rfm_person *p = &persons[s.orig[j]];
        struct rfm11_score *o = &out[s.orig[j]];
        o->recency_days = (int32_t)((int64_t)as_of_day - p->last_order_day);
        o->r = s.sc[0][j];
        o->f = s.sc[1][j];
        o->m = s.sc[2][j];
        o->fm = (uint8_t)((o->f + o->m + 1) / 2);
        o->segment = (uint8_t)rfm11_segment_of(
            o->r, axis == RFM11_AXIS_FM ? o->fm : o->f);
        sum->count[o->segment]++;
        if (!add_revenue(&sum->revenue[o->segment], p->net_revenue))
            goto out;
    }
    sum->n_scored = m;
    ok = true;
out:
    rfm11_scratch_free(&s);
    return ok;
}

/* ---- rfm8 ------------------------------------------------------------ */

static const char *const rfm8_codes[RFM8_N_SEGMENTS] = {
    "general_winback", "important_winback", "general_retain",
    "important_retain", "general_develop", "important_develop",
    "general_value", "important_value",
};

static const char *const rfm8_labels[RFM8_N_SEGMENTS] = {
    "一般挽留客户", "重要挽留客户", "一般保持客户", "重要保持客户",
    "一般发展客户", "重要发展客户", "一般价值客户", "重要价值客户",
};

static const char *const rfm8_rules[RFM8_N_SEGMENTS] = {
    "not recent (days > R threshold), F < F threshold, M < M threshold",
    "not recent (days > R threshold), F < F threshold, M >= M threshold",
    "not recent (days > R threshold), F >= F threshold, M < M threshold",
    "not recent (days > R threshold), F >= F threshold, M >= M threshold",
    "recent (days <= R threshold), F < F threshold, M < M threshold",
    "recent (days <= R threshold), F < F threshold, M >= M threshold",
    "recent (days <= R threshold), F >= F threshold, M < M threshold",
    "recent (days <= R threshold), F >= F threshold, M >= M threshold",
};

const char *rfm8_code(enum rfm8_segment seg)
{
    return (unsigned)seg < RFM8_N_SEGMENTS ? rfm8_codes[seg] : NULL;
}

const char *rfm8_label_zh(enum rfm8_segment seg)
{
    return (unsigned)seg < RFM8_N_SEGMENTS ? rfm8_labels[seg] : NULL;
}

const char *rfm8_rule(enum rfm8_segment seg)
{
    return (unsigned)seg < RFM8_N_SEGMENTS ? rfm8_rules[seg] : NULL;
}

/* A non-negative threshold t = q + f with integer q and 0 <= f < 1; frac
 * says whether f > 0. value (double) is for display only. */
struct thresh {
    int64_t q;
    bool frac;
    double value;
};

static bool at_least(int64_t v, const struct thresh *t)
{
    return v > t->q || (v == t->q && !t->frac);
}

static bool at_most(int64_t v, const struct thresh *t)
{
    return v <= t->q;
}

/* Mean of vals[0..m) (all >= 0, m > 0) as an exact threshold. */
static bool mean_thresh(const int64_t *vals, size_t m, struct thresh *t)
{
    int64_t total = 0;
    for (size_t j = 0; j < m; j++)
        if (!add_revenue(&total, vals[j]))
            return false;
    t->q = total / (int64_t)m;
    t->frac = total % (int64_t)m != 0;
    t->value = (double)t->q + (double)(total % (int64_t)m) / (double)m;
    return true;
}

/* Median of vals[0..m) (all >= 0, m > 0; vals is reordered). */
static bool median_thresh(int64_t *vals, size_t m, struct thresh *t)
{
    uint64_t *key = malloc(m * sizeof *key);
    if (!key)
        return false;
    for (size_t j = 0; j < m; j++)
        key[j] = (uint64_t)vals[j];
    if (!radix_sort(key, NULL, m)) {
        free(key);
        return false;
    }
    int64_t lo = (int64_t)key[(m - 1) / 2], hi = (int64_t)key[m / 2];
    free(key);
    t->q = lo + (hi - lo) / 2;
    t->frac = (hi - lo) % 2 != 0;
    t->value = (double)t->q + (t->frac ? 0.5 : 0.0);
    return true;
}

static bool rfm8_thresh(int64_t *vals, size_t m, enum rfm8_split split,
                        struct thresh *t)
{
    if (m == 0) {
        memset(t, 0, sizeof *t);
        return true;
    }
    return split == RFM8_SPLIT_MEAN ? mean_thresh(vals, m, t)
                                    : median_thresh(vals, m, t);
}

/* Compute the three thresholds over the m scored persons listed in orig. */
static bool rfm8_thresholds(const struct rfm_person *persons, const uint32_t *orig,
                            size_t m, int32_t as_of_day, enum rfm8_split split,
                            int64_t *vals, struct thresh t[3])
{
    for (int d = 0; d < 3; d++) {
        for (size_t j = 0; j < m; j++) {
            const struct rfm_person *p = &persons[orig[j]];
            vals[j] = d == 0   ? (int64_t)as_of_day - p->last_order_day
                      : d == 1 ? p->orders
                               : p->net_revenue;
        }
        if (!rfm8_thresh(vals, m, split, &t[d]))
            return false;
    }
    return true;
}

bool rfm8_score(const struct rfm_person *persons, size_t n, int32_t as_of_day,
                enum rfm8_split split, uint8_t *out_segment,
                struct rfm8_summary *sum)
{
    uint32_t *orig = NULL;
    int64_t *vals = NULL;
    struct thresh t[3];
    size_t m = 0;
    bool ok = false;

    memset(sum, 0, sizeof *sum);
    if ((unsigned)split > RFM8_SPLIT_MEDIAN || n > UINT32_MAX)
        return false;
    orig = malloc((n ? n : 1) * sizeof *orig);
    vals = malloc((n ? n : 1) * sizeof *vals);
    if (!orig || !vals)
        goto out;
    for (size_t i = 0; i < n; i++) {
        out_segment[i] = RFM_UNSCORED;
        if (rfm_is_scored(&persons[i], as_of_day, &sum->unscored))
            orig[m++] = (uint32_t)i;
    }
    if (!rfm8_thresholds(persons, orig, m, as_of_day, split, vals, t))
        goto out;
    for (size_t j = 0; j < m; j++) {
        const struct rfm_person *p = &persons[orig[j]];
        int64_t days = (int64_t)as_of_day - p->last_order_day;
        unsigned seg = (unsigned)at_most(days, &t[0]) << 2 |
                       (unsigned)at_least(p->orders, &t[1]) << 1 |
                       (unsigned)at_least(p->net_revenue, &t[2]);
        out_segment[orig[j]] = (uint8_t)seg;
        sum->count[seg]++;
        if (!add_revenue(&sum->revenue[seg], p->net_revenue))
            goto out;
    }
    sum->n_scored = m;
    sum->recency_threshold_days = t[0].value;
    sum->f_threshold = t[1].value;
    sum->m_threshold = t[2].value;
    ok = true;
out:
    free(vals);
    free(orig);
    return ok;
}
