/*
 * scoring.h - the scoring pipeline: per-person inputs out of PostgreSQL (one
 * pass per kind, db_scores.h), the pure-C models (model/rfm.h, stages.h,
 * pyramid.h, aarrr.h, aipl.h), segment summaries as JSON, and a run that
 * writes one new generation of person_scores.
 *
 *   struct score_config cfg;      scoring_config_load(db, project, &cfg, err);
 *   struct score_params prm;      scoring_default_params(&cfg, project, today, &prm);
 *   struct score_result res;      scoring_compute(db, NULL, &cfg, &prm, false, &res, err);
 *   json_t *j = scoring_kind_json(&cfg, &prm, &res, "rfm11");
 *   scoring_result_free(&res);    scoring_config_free(&cfg);
 *
 * or, for a stored run, scoring_run(). Rules: docs/segments.md (models) and
 * docs/scoring.md (inputs, settings, runs).
 */
#ifndef SCORING_H
#define SCORING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "model/aarrr.h"
#include "model/aipl.h"
#include "model/pyramid.h"
#include "model/rfm.h"
#include "model/stages.h"
#include "server/db_scores.h"
#include "server/err.h"

struct db;

/* Project settings that scoring reads (settings.config keys, with defaults). */
struct score_config {
	char tz[64];
	char currency[8];
	char *activation;          /* JSON arrays of event names (owned) */
	char *awareness;
	char *interest;
	char *loyalty;
	char referral_event[256];  /* "" = referrals not tracked */
	char referrer_property[256];
	struct stages_params stages;
	struct pyramid_params pyramid;
	struct aipl_params aipl;
	int32_t retention_days;    /* AARRR retention: active >= this many days after first */
	int32_t aarrr_window_days; /* default acquisition window: days ending at as_of */
	int32_t aipl_compare_days; /* default AIPL date 1: as_of minus this */
	int32_t lookback_days;     /* RFM / pyramid revenue window */
	enum rfm8_split split;
	enum rfm11_axis axis;
	bool fit_ltv;              /* scoring.fit_ltv: refit predictive LTV in each run */
};

/* Read settings (time zone, currency, config). A config value of the wrong
 * type is a 422 naming it, e.g. "settings.config.lifecycle.new_days". */
bool scoring_config_load(struct db *db, int64_t project_id, struct score_config *cfg,
			 struct app_err *err) MUST_CHECK;
void scoring_config_free(struct score_config *cfg);

/* One computation's parameters (what a stored run records in params). */
struct score_params {
	int64_t project_id;
	int32_t as_of_day;       /* local day number */
	int32_t lookback_days;
	enum rfm8_split split;
	int32_t aarrr_from;      /* acquisition window [from, to), day numbers */
	int32_t aarrr_to;
	int32_t aipl_from;       /* AIPL deepening from this day to as_of */
};

/* The project's defaults as of `today`. */
void scoring_default_params(const struct score_config *cfg, int64_t project_id, int32_t today,
			    struct score_params *p);
/* {"as_of":"2026-03-01","lookback_days":365,...} (new reference). */
json_t *scoring_params_json(const struct score_config *cfg, const struct score_params *p);

/* Model inputs of one stitched person (events and orders merged). */
struct score_person {
	int64_t person_id;
	int32_t first_day, last_day;  /* first / last activity: any event or order */
	int32_t active_days;          /* distinct event days in the lifecycle window */
	int32_t last_paid_day;        /* last net-paid order in the look-back window */
	int32_t orders;               /* F */
	int32_t paid_orders;          /* net-paid orders up to as_of */
	int32_t paid_orders1;         /* ... up to the AIPL date 1 */
	int64_t revenue;              /* M: net revenue in the look-back window */
	int64_t ltv;                  /* net revenue to date */
	uint32_t referees;
	uint8_t flags;                /* SC_* of db_scores.h */
	int32_t carry;                /* index into the carried LTV rows, -1 = none */
};

/* Per-person outputs and every kind's summary. */
struct score_result {
	size_t n;
	struct score_person *p;
	struct rfm11_score *rfm11;    /* per person */
	uint8_t *rfm8, *stage, *tier, *aipl, *aipl1, *aarrr;
	struct sc_ltv_row *ltv;       /* carried LTV columns (owned) */
	size_t n_ltv;
	struct rfm11_summary s11;
	struct rfm8_summary s8;
	struct stages_summary stages;
	int64_t stage_revenue[STAGES_N];
	struct pyramid_result pyramid;
	struct aarrr_result aarrr_sum;
	int64_t aarrr_revenue[AARRR_N_STEPS];
	int64_t aarrr_acquired_revenue;
	struct aipl_sizes aipl_sizes;
	int64_t aipl_revenue[AIPL_N];
	struct aipl_deepening deep;
	struct aipl_fast fast;
	int64_t total_revenue;        /* sum of M over everyone */
	int64_t fx_missing_orders;    /* orders left out of revenue: no FX rate */
	bool has_orders;
	double ms[6];                 /* load events/orders/referrals/ltv, merge, model */
};

/* AARRR bits stored per person (person_scores.aarrr). */
enum { SC_AARRR_ACQUIRED = 1 };

/* Load inputs (carry_ltv: also the LTV columns of the current generation)
 * and run every model. db2: NULL, or a second connection for loading the
 * orders beside the events (db_scores_load). */
bool scoring_compute(struct db *db, struct db *db2, const struct score_config *cfg,
		     const struct score_params *p, bool carry_ltv, struct score_result *r,
		     struct app_err *err) MUST_CHECK;
void scoring_result_free(struct score_result *r);

/* ---- JSON (scoring_json.c) ----------------------------------------------- */

/* Summary of one key: "rfm11", "rfm8", "lifecycle", "pyramid", "aarrr",
 * "aipl" (new reference; NULL for an unknown key or out of memory). */
json_t *scoring_kind_json(const struct score_config *cfg, const struct score_params *p,
			  const struct score_result *r, const char *key);
/* All six keys in one object (what a run stores in score_runs.summary). */
json_t *scoring_summary_json(const struct score_config *cfg, const struct score_params *p,
			     const struct score_result *r);

/* Stored segment code of person i for each column (static or cfg-derived). */
const char *scoring_tier_code(const struct score_config *cfg, unsigned tier, char *buf, size_t cap);

/*
 * Resolve the segment of a list request: kind "rfm" (scheme rfm11|rfm8),
 * "lifecycle", "pyramid", "aarrr", "aipl". Fills the column and the value
 * the column is compared with (code, or the AARRR bit mask as decimal).
 * False when the segment is not one of the kind's codes.
 */
bool scoring_segment_lookup(const struct score_config *cfg, const char *kind, const char *scheme,
			    const char *segment, enum sc_column *col, char *value, size_t cap);
/* The kind's segment codes, comma-separated, for error messages. */
void scoring_segment_codes(const struct score_config *cfg, const char *kind, const char *scheme,
			   char *buf, size_t cap);

/* Add human labels (names, Chinese labels) next to the codes of a stored
 * scores object as produced by db_scores_page. */
void scoring_decorate(json_t *scores);
/* The label of segment code `code` of field "rfm11", "rfm8", "lifecycle" or
 * "aipl" (NULL when none), and in *key (may be NULL) the key it goes under:
 * rfm11_name, rfm8_label_zh, lifecycle_label_zh, aipl_label_zh. */
const char *scoring_label(const char *field, const char *code, const char **key);

/* ---- a stored run ---------------------------------------------------------- */

struct scoring_hooks {
	/* Called as rows are written; returning false aborts the run (shutdown). */
	bool (*progress)(void *arg, int64_t scored, int64_t total);
	void *arg;
};

/*
 * Compute and write a new generation for the project on `data` (a
 * connection of its own; `data2`, may be NULL, loads the orders beside the
 * events), make it current and purge old generations. The
 * run row must be 'running' (db_scores_run_start). *timings (new reference)
 * gets the phase times even on failure. On failure nothing of the run is
 * visible: the previous generation stays current.
 */
bool scoring_run(struct db *data, struct db *data2, int64_t project_id, int64_t run_id,
		 const struct scoring_hooks *hooks, json_t **timings, struct app_err *err) MUST_CHECK;

#endif
