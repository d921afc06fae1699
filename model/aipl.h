#ifndef AIPL_H
#define AIPL_H

/*
 * AIPL: each person's deepest stage among Awareness, Interest, Purchase,
 * Loyalty; stage sizes; deepening between two dates; FAST-style indicators.
 *
 *   aipl_classify(persons_at_d1, n, NULL, stage1, &sizes1);
 *   aipl_classify(persons_at_d2, n, NULL, stage2, &sizes2);
 *   aipl_deepen(stage1, stage2, n, &deep);
 *   aipl_fast(&sizes2, &deep, &fast);
 *
 * Exact rules: docs/segments.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum aipl_stage {
    AIPL_NONE = 0,      /* none of the below */
    AIPL_AWARENESS = 1, /* A 认知 */
    AIPL_INTEREST = 2,  /* I 兴趣 */
    AIPL_PURCHASE = 3,  /* P 购买 */
    AIPL_LOYALTY = 4,   /* L 忠诚 */
    AIPL_N = 5
};

struct aipl_person {
    int32_t paid_orders; /* net-paid orders up to the date */
    bool aware;          /* page/screen view or a configured awareness event */
    bool interested;     /* a configured interest event */
    bool loyalty_event;  /* a configured loyalty event (e.g. joined membership) */
    bool top_value;      /* in the top value-pyramid tier (super-user input) */
    bool active_recent;  /* any activity in the last 30 days */
};

struct aipl_params {
    int32_t loyalty_min_orders; /* 2: Loyalty iff paid_orders >= this or loyalty_event */
};

struct aipl_sizes {
    size_t stage[AIPL_N];   /* persons per deepest stage (index = enum) */
    size_t reach;           /* A + I + P + L (AIPL total) */
    size_t super_users;     /* stage L or top_value */
    size_t super_active;    /* super users with active_recent */
    double super_active_rate; /* super_active / super_users; NaN if none */
};

struct aipl_deepening {
    size_t base[AIPL_N];    /* persons in stage s at date 1 */
    size_t deeper[AIPL_N];  /* ... of whom at a deeper stage at date 2 */
    double rate[AIPL_N];    /* deeper / base; NaN if base 0 (L always NaN) */
    size_t regressed;       /* stage at date 2 < stage at date 1 */
    size_t base_aip;        /* base[A] + base[I] + base[P] */
    size_t deeper_aip;      /* deeper[A] + deeper[I] + deeper[P] */
    double rate_aip;        /* deeper_aip / base_aip; NaN if 0 */
};

struct aipl_fast {
    size_t reach;             /* F: AIPL total */
    double deepening_rate;    /* A: rate_aip */
    size_t super_users;       /* S */
    double super_active_rate; /* T */
};

/* Stable code ("awareness"), Chinese label ("认知"), rule text. Static
 * strings; NULL when out of range. */
const char *aipl_code(enum aipl_stage s);
const char *aipl_label_zh(enum aipl_stage s);
const char *aipl_rule(enum aipl_stage s);

/* Deepest stage of one person; params must be non-NULL. */
enum aipl_stage aipl_stage_of(const struct aipl_person *p,
                              const struct aipl_params *params);

/*
 * Classify n persons (params NULL = defaults); out_stage (caller array of n,
 * may be NULL) receives enum aipl_stage values. Returns false when
 * loyalty_min_orders < 1.
 */
bool aipl_classify(const struct aipl_person *persons, size_t n,
                   const struct aipl_params *params, uint8_t *out_stage,
                   struct aipl_sizes *sizes);

/*
 * Deepening between stage1[i] (date 1) and stage2[i] (date 2) for the same n
 * persons. Returns false if a stage value is >= AIPL_N.
 */
bool aipl_deepen(const uint8_t *stage1, const uint8_t *stage2, size_t n,
                 struct aipl_deepening *out);

/* FAST indicators from the sizes at the later date and the deepening. */
void aipl_fast(const struct aipl_sizes *sizes, const struct aipl_deepening *deep,
               struct aipl_fast *out);

#endif
