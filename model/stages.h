#ifndef STAGES_H
#define STAGES_H

/*
 * Lifecycle stage of each person as of a day: new / growing / mature /
 * dormant / churned (引入期 / 成长期 / 成熟期 / 休眠期 / 流失期).
 *
 *   struct stages_params prm;
 *   stages_default_params(&prm);           (or fill from project settings)
 *   stages_classify(persons, n, as_of_day, &prm, stage_out, &summary);
 *   stages_rule(&prm, STAGES_MATURE, buf, sizeof buf);
 *
 * Day numbers are whole days since 1970-01-01 in the project's time zone.
 * Exact rules: docs/segments.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum stages_stage {
    STAGES_NEW = 0,     /* 引入期 */
    STAGES_GROWING = 1, /* 成长期 */
    STAGES_MATURE = 2,  /* 成熟期 */
    STAGES_DORMANT = 3, /* 休眠期 */
    STAGES_CHURNED = 4, /* 流失期 */
    STAGES_N = 5,
    STAGES_UNCLASSIFIED = 0xFF /* first seen or active after as_of */
};

struct stages_person {
    int32_t first_seen_day;  /* first qualifying activity */
    int32_t last_active_day; /* last qualifying activity on or before as_of */
    int32_t paid_orders;     /* net-paid orders on or before as_of */
    int32_t active_days;     /* distinct active days in the last
                                active_window_days days ending at as_of */
};

/* Thresholds in days unless stated. Valid when
 * 1 <= new_days <= dormant_days <= churn_days, the rest >= 0 and
 * active_window_days >= 1. */
struct stages_params {
    int32_t new_days;           /* 7: new iff age < new_days */
    int32_t dormant_days;       /* 30: dormant iff dormant_days <= idle <= churn_days */
    int32_t churn_days;         /* 90: churned iff idle > churn_days */
    int32_t mature_age_days;    /* 30: mature needs age > mature_age_days */
    int32_t mature_min_orders;  /* 2: ... and paid_orders >= this */
    int32_t mature_min_active_days; /* 10: ... or active_days >= this */
    int32_t active_window_days; /* 30: window the caller counted active_days over */
};

struct stages_summary {
    size_t count[STAGES_N];
    size_t unclassified;
};

/* Fill *p with the defaults listed in struct stages_params. */
void stages_default_params(struct stages_params *p);

/* True if *p satisfies the validity rule above. */
bool stages_params_valid(const struct stages_params *p);

/*
 * Classify n persons as of as_of_day. params NULL means defaults. out_stage
 * (caller array of n, may be NULL) receives enum stages_stage values.
 * Returns false (and leaves *sum zeroed) on invalid params.
 */
bool stages_classify(const struct stages_person *persons, size_t n,
                     int32_t as_of_day, const struct stages_params *params,
                     uint8_t *out_stage, struct stages_summary *sum);

/* Stage of one person (STAGES_UNCLASSIFIED when not classifiable); params
 * must be valid. */
enum stages_stage stages_of(const struct stages_person *p, int32_t as_of_day,
                            const struct stages_params *params);

/* Stable code ("new"), Chinese label ("引入期", UTF-8). Static; NULL if out of range. */
const char *stages_code(enum stages_stage s);
const char *stages_label_zh(enum stages_stage s);

/*
 * Write the exact rule of stage s with the numbers of params (NULL =
 * defaults) into buf (snprintf semantics: always NUL-terminated when cap > 0).
 * Returns the length the full text needs, or -1 for an out-of-range stage.
 */
int stages_rule(const struct stages_params *params, enum stages_stage s,
                char *buf, size_t cap);

#endif
