#ifndef RFM_H
#define RFM_H

/*
 * RFM scoring: recency / frequency / monetary over net-paid orders.
 *
 * Call sequence:
 *   struct rfm11_summary s;
 *   rfm11_score(persons, n, as_of_day, RFM11_AXIS_FM, scores, &s);
 *   rfm11_name(scores[i].segment), rfm11_rule(seg, RFM11_AXIS_FM)
 * or
 *   rfm8_score(persons, n, as_of_day, RFM8_SPLIT_MEAN, segs, &s8);
 *
 * Day numbers are whole days since 1970-01-01 in the project's time zone; the
 * caller converts instants (it knows the zone). Exact rules: docs/segments.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Segment / score value of a person who is not scored. */
#define RFM_UNSCORED 0xFFu

/* One person's aggregates over the look-back window (caller extracts them). */
struct rfm_person {
    int32_t last_order_day; /* day number of the last net-paid order */
    int32_t orders;         /* F: net-paid orders in the window */
    int64_t net_revenue;    /* M: net revenue, minor currency units */
};

/* Why persons were left unscored (each person counts under the first reason). */
struct rfm_unscored {
    size_t no_orders;        /* orders <= 0 */
    size_t non_positive_net; /* orders > 0 but net_revenue <= 0 (refunded) */
    size_t after_as_of;      /* last_order_day > as_of_day */
};

/*
 * For each i, n_below[i] = #{j : values[j] < values[i]} and
 * n_equal[i] = #{j : values[j] == values[i]} (j over all n, i included).
 * One radix sort: O(n). n_below/n_equal are caller arrays of length n.
 * Returns false on allocation failure or n > UINT32_MAX.
 */
bool rfm_rank_counts(const int64_t *values, size_t n, uint32_t *n_below,
                     uint32_t *n_equal);

/*
 * Quintile score 1..5 from a mid-rank: 1 + floor(5 * (below + equal/2) / n),
 * computed exactly as 1 + (10*below + 5*equal) / (2*n) in integers.
 * Requires equal >= 1 and below + equal <= n.
 */
int rfm_quintile(uint32_t below, uint32_t equal, uint32_t n);

/* ---- rfm11: quintile scores and the 11 named segments ---------------- */

enum rfm11_segment {
    RFM11_CHAMPIONS,
    RFM11_LOYAL,
    RFM11_POTENTIAL_LOYALIST,
    RFM11_NEW_CUSTOMERS,
    RFM11_PROMISING,
    RFM11_NEED_ATTENTION,
    RFM11_ABOUT_TO_SLEEP,
    RFM11_AT_RISK,
    RFM11_CANT_LOSE,
    RFM11_HIBERNATING,
    RFM11_LOST,
    RFM11_N_SEGMENTS
};

/* Column axis of the segment grid. */
enum rfm11_axis {
    RFM11_AXIS_FM = 0, /* FM = floor((F + M + 1) / 2), default */
    RFM11_AXIS_F = 1   /* F score alone, as in the published R x F grid */
};

struct rfm11_score {
    int32_t recency_days; /* as_of_day - last_order_day; 0 when unscored */
    uint8_t r, f, m;      /* 1..5, or RFM_UNSCORED */
    uint8_t fm;           /* floor((f + m + 1) / 2), or RFM_UNSCORED */
    uint8_t segment;      /* enum rfm11_segment, or RFM_UNSCORED */
};

struct rfm11_summary {
    size_t n_scored;
    struct rfm_unscored unscored;
    size_t count[RFM11_N_SEGMENTS];
    int64_t revenue[RFM11_N_SEGMENTS]; /* sum of M, minor units */
};

/*
 * Score n persons as of as_of_day into out[0..n) (caller array). A person is
 * scored iff orders > 0, net_revenue > 0 and last_order_day <= as_of_day.
 * Scores are quintiles among scored persons (rfm_quintile), R on -recency.
 * Returns false on allocation failure, n > UINT32_MAX, a bad axis, or a
 * revenue sum overflowing int64; *sum is then unspecified.
 */
bool rfm11_score(const struct rfm_person *persons, size_t n, int32_t as_of_day,
                 enum rfm11_axis axis, struct rfm11_score *out,
                 struct rfm11_summary *sum);

/* Grid cell -> segment; r and x (F or FM score) in 1..5, else RFM11_N_SEGMENTS. */
enum rfm11_segment rfm11_segment_of(int r, int x);

/* Display name ("Champions"), stable code ("champions"), rule text
 * ("R = 5 and FM in 4-5"). Static strings; NULL for an out-of-range value. */
const char *rfm11_name(enum rfm11_segment seg);
const char *rfm11_code(enum rfm11_segment seg);
const char *rfm11_rule(enum rfm11_segment seg, enum rfm11_axis axis);

/* ---- rfm8: high/low against the population mean or median ------------ */

/* Value = (recent << 2) | (f_high << 1) | m_high. */
enum rfm8_segment {
    RFM8_GENERAL_WINBACK = 0,   /* 一般挽留客户 */
    RFM8_IMPORTANT_WINBACK = 1, /* 重要挽留客户 */
    RFM8_GENERAL_RETAIN = 2,    /* 一般保持客户 */
    RFM8_IMPORTANT_RETAIN = 3,  /* 重要保持客户 */
    RFM8_GENERAL_DEVELOP = 4,   /* 一般发展客户 */
    RFM8_IMPORTANT_DEVELOP = 5, /* 重要发展客户 */
    RFM8_GENERAL_VALUE = 6,     /* 一般价值客户 */
    RFM8_IMPORTANT_VALUE = 7,   /* 重要价值客户 */
    RFM8_N_SEGMENTS = 8
};

enum rfm8_split { RFM8_SPLIT_MEAN = 0, RFM8_SPLIT_MEDIAN = 1 };

struct rfm8_summary {
    size_t n_scored;
    struct rfm_unscored unscored;
    size_t count[RFM8_N_SEGMENTS];
    int64_t revenue[RFM8_N_SEGMENTS];
    double recency_threshold_days; /* recent iff days <= this */
    double f_threshold;            /* F high iff F >= this */
    double m_threshold;            /* M high iff M >= this (minor units) */
};

/*
 * Classify n persons into out_segment[0..n) (caller array; RFM_UNSCORED for
 * unscored persons, same rule as rfm11). Thresholds are the mean or median
 * over scored persons; comparisons are exact in integers (docs/segments.md).
 * Returns false on allocation failure, a bad split or int64 overflow.
 */
bool rfm8_score(const struct rfm_person *persons, size_t n, int32_t as_of_day,
                enum rfm8_split split, uint8_t *out_segment,
                struct rfm8_summary *sum);

/* Stable code ("important_value"), Chinese label ("重要价值客户", UTF-8) and
 * rule text. Static strings; NULL for an out-of-range value. */
const char *rfm8_code(enum rfm8_segment seg);
const char *rfm8_label_zh(enum rfm8_segment seg);
const char *rfm8_rule(enum rfm8_segment seg);

#endif
