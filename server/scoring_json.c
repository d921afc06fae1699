/*
 * scoring_json.c - segment summaries as JSON, tier codes, the code lookup of
 * segment lists and the labels added to stored scores (see scoring.h).
 *
 * Every summary has the same segment shape: code, name (and label_zh where
 * the kind has Chinese names), the exact rule text, persons, share, revenue
 * and revenue_share. "revenue" is net revenue in the look-back window in
 * minor units of the reporting currency, the M of RFM. Undefined ratios
 * (0 denominators, NaN in the model) are JSON null.
 */
#include "server/scoring.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/calendar.h"

static const char *const rfm8_names[RFM8_N_SEGMENTS] = {
	"General Win-back", "Important Win-back", "General Retain", "Important Retain",
	"General Develop",  "Important Develop",  "General Value",  "Important Value",
};
static const char *const stage_names[STAGES_N] = { "New", "Growing", "Mature", "Dormant",
						   "Churned" };
static const char *const aarrr_names[AARRR_N_STEPS] = { "Acquisition", "Activation", "Retention",
							"Revenue", "Referral" };
static const char *const aipl_names[AIPL_N] = { "None", "Awareness", "Interest", "Purchase",
						"Loyalty" };

static json_t *real_or_null(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static json_t *ratio(double a, double b)
{
	return b != 0 ? json_real(a / b) : json_null();
}

static json_t *day_str(int32_t day)
{
	int y, m, d;
	char buf[16];

	calendar_civil_from_days(day, &y, &m, &d);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
	return json_string(buf);
}

/* One segment entry; label_zh may be NULL. */
static json_t *segment(const char *code, const char *name, const char *label_zh, const char *rule,
		       size_t persons, double share_of, int64_t revenue, double revenue_of)
{
	json_t *s = json_pack("{s:s, s:s, s:s, s:I, s:o, s:I, s:o}", "code", code, "name", name,
			      "rule", rule, "persons", (json_int_t)persons, "share",
			      ratio((double)persons, share_of), "revenue", (json_int_t)revenue,
			      "revenue_share", ratio((double)revenue, revenue_of));
	if (s && label_zh)
		json_object_set_new(s, "label_zh", json_string(label_zh));
	return s;
}

/* The fields every kind starts with. */
static json_t *head(const char *kind, const struct score_config *cfg,
		    const struct score_params *p, const struct score_result *r)
{
	return json_pack("{s:s, s:o, s:s, s:s, s:I, s:I}", "kind", kind, "as_of",
			 day_str(p->as_of_day), "timezone", cfg->tz, "currency", cfg->currency,
			 "persons", (json_int_t)r->n, "orders_without_fx_rate",
			 (json_int_t)r->fx_missing_orders);
}

static json_t *unscored(const struct rfm_unscored *u)
{
	return json_pack("{s:I, s:I, s:I}", "no_orders", (json_int_t)u->no_orders,
			 "non_positive_net", (json_int_t)u->non_positive_net, "after_as_of",
			 (json_int_t)u->after_as_of);
}

static json_t *kind_rfm11(const struct score_config *cfg, const struct score_params *p,
			  const struct score_result *r)
{
	json_t *o = head("rfm", cfg, p, r), *segs = json_array();
	int64_t total = 0;

	for (int s = 0; s < RFM11_N_SEGMENTS; s++)
		total += r->s11.revenue[s];
	for (int s = 0; s < RFM11_N_SEGMENTS; s++)
		json_array_append_new(segs, segment(rfm11_code(s), rfm11_name(s), NULL,
						    rfm11_rule(s, cfg->axis), r->s11.count[s],
						    (double)r->s11.n_scored, r->s11.revenue[s],
						    (double)total));
	json_object_set_new(o, "scheme", json_string("rfm11"));
	json_object_set_new(o, "lookback_days", json_integer(p->lookback_days));
	json_object_set_new(o, "axis", json_string(cfg->axis == RFM11_AXIS_F ? "f" : "fm"));
	json_object_set_new(o, "scored", json_integer((json_int_t)r->s11.n_scored));
	json_object_set_new(o, "unscored", unscored(&r->s11.unscored));
	json_object_set_new(o, "revenue", json_integer(total));
	json_object_set_new(o, "score_rule", json_string(
		"score = 1 + floor(5 * (below + equal / 2) / n) over the n scored persons "
		"(below: persons with a strictly worse value, equal: with the same value); "
		"R is ranked on -days since the last net-paid order; FM = floor((F + M + 1) / 2)"));
	json_object_set_new(o, "segments", segs);
	return o;
}

static json_t *kind_rfm8(const struct score_config *cfg, const struct score_params *p,
			 const struct score_result *r)
{
	json_t *o = head("rfm", cfg, p, r), *segs = json_array();
	int64_t total = 0;

	for (int s = 0; s < RFM8_N_SEGMENTS; s++)
		total += r->s8.revenue[s];
	/* In the order of the classic table: 重要价值, 重要发展, ..., 一般挽留. */
	static const int order[RFM8_N_SEGMENTS] = { 7, 5, 3, 1, 6, 4, 2, 0 };
	for (int s = 0; s < RFM8_N_SEGMENTS; s++) {
		int v = order[s];
		json_array_append_new(segs, segment(rfm8_code(v), rfm8_names[v], rfm8_label_zh(v),
						    rfm8_rule(v), r->s8.count[v],
						    (double)r->s8.n_scored, r->s8.revenue[v],
						    (double)total));
	}
	json_object_set_new(o, "scheme", json_string("rfm8"));
	json_object_set_new(o, "lookback_days", json_integer(p->lookback_days));
	json_object_set_new(o, "split", json_string(p->split == RFM8_SPLIT_MEDIAN ? "median" : "mean"));
	json_object_set_new(o, "scored", json_integer((json_int_t)r->s8.n_scored));
	json_object_set_new(o, "unscored", unscored(&r->s8.unscored));
	json_object_set_new(o, "revenue", json_integer(total));
	json_object_set_new(o, "thresholds",
			    json_pack("{s:o, s:o, s:o}", "recency_days",
				      real_or_null(r->s8.recency_threshold_days), "frequency",
				      real_or_null(r->s8.f_threshold), "monetary",
				      real_or_null(r->s8.m_threshold)));
	json_object_set_new(o, "threshold_rule", json_string(
		"thresholds are the mean (or median) over scored persons; recent iff days since "
		"the last net-paid order <= threshold, F high iff F >= threshold, "
		"M high iff M >= threshold"));
	json_object_set_new(o, "segments", segs);
	return o;
}

static json_t *kind_lifecycle(const struct score_config *cfg, const struct score_params *p,
			      const struct score_result *r)
{
	const struct stages_params *s = &cfg->stages;
	json_t *o = head("lifecycle", cfg, p, r), *segs = json_array();
	size_t classified = r->n - r->stages.unclassified;
	char rule[512];

	for (int k = 0; k < STAGES_N; k++) {
		stages_rule(s, k, rule, sizeof(rule));
		json_array_append_new(segs, segment(stages_code(k), stage_names[k],
						    stages_label_zh(k), rule, r->stages.count[k],
						    (double)classified, r->stage_revenue[k],
						    (double)r->total_revenue));
	}
	json_object_set_new(o, "classified", json_integer((json_int_t)classified));
	json_object_set_new(o, "unclassified", json_integer((json_int_t)r->stages.unclassified));
	json_object_set_new(o, "lookback_days", json_integer(p->lookback_days));
	json_object_set_new(o, "revenue", json_integer(r->total_revenue));
	json_object_set_new(o, "params", json_pack(
		"{s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "new_days", s->new_days, "dormant_days",
		s->dormant_days, "churn_days", s->churn_days, "mature_age_days", s->mature_age_days,
		"mature_min_orders", s->mature_min_orders, "mature_min_active_days",
		s->mature_min_active_days, "active_window_days", s->active_window_days));
	json_object_set_new(o, "rule_order", json_string(
		"the first matching rule wins, in the order churned, dormant, new, mature, growing; "
		"age = as_of - first activity, idle = as_of - last activity (events or orders)"));
	json_object_set_new(o, "segments", segs);
	return o;
}

/* "1", "0_5", "12_25": basis points as a percentage for codes (sep '_')
 * and names (sep '.'). */
static void pct(uint32_t bp, char sep, char *buf, size_t cap)
{
	if (bp % 100 == 0)
		snprintf(buf, cap, "%u", bp / 100);
	else if (bp % 10 == 0)
		snprintf(buf, cap, "%u%c%u", bp / 100, sep, bp % 100 / 10);
	else
		snprintf(buf, cap, "%u%c%02u", bp / 100, sep, bp % 100);
}

const char *scoring_tier_code(const struct score_config *cfg, unsigned t, char *buf, size_t cap)
{
	size_t n = cfg->pyramid.n_cuts;
	char p[16];

	if (t == n + 1)
		snprintf(buf, cap, "non_payers");
	else if (t == n)
		snprintf(buf, cap, "remaining_payers");
	else if (t == 0) {
		pct(cfg->pyramid.cut_bp[0], '_', p, sizeof(p));
		snprintf(buf, cap, "top_%spct", p);
	} else if (t < n) {
		pct(cfg->pyramid.cut_bp[t] - cfg->pyramid.cut_bp[t - 1], '_', p, sizeof(p));
		snprintf(buf, cap, "next_%spct", p);
	} else
		return NULL;
	return buf;
}

static void tier_text(const struct score_config *cfg, size_t t, char *name, size_t ncap,
		      char *rule, size_t rcap)
{
	size_t n = cfg->pyramid.n_cuts;
	char p[16];

	if (t == n + 1) {
		snprintf(name, ncap, "Non-payers");
		snprintf(rule, rcap, "net revenue <= 0 in the look-back window");
	} else if (t == n) {
		snprintf(name, ncap, "Remaining payers");
		snprintf(rule, rcap, "every other payer (net revenue > 0 in the look-back window)");
	} else {
		pct(t ? cfg->pyramid.cut_bp[t] - cfg->pyramid.cut_bp[t - 1] : cfg->pyramid.cut_bp[0],
		    '.', p, sizeof(p));
		snprintf(name, ncap, "%s %s%%", t ? "Next" : "Top", p);
		snprintf(rule, rcap,
			 "payer%s with G * 10000 < %u * P (G: payers with strictly more net revenue, "
			 "P: payers; ties share a tier)", t ? " not in a higher tier" : "",
			 cfg->pyramid.cut_bp[t]);
	}
}

static json_t *kind_pyramid(const struct score_config *cfg, const struct score_params *p,
			    const struct score_result *r)
{
	const struct pyramid_result *pr = &r->pyramid;
	json_t *o = head("pyramid", cfg, p, r), *segs = json_array(), *cuts = json_array();
	char code[48], name[64], rule[256];

	for (size_t t = 0; t < pr->n_tiers; t++) {
		const struct pyramid_tier *x = &pr->tier[t];
		json_t *s;

		scoring_tier_code(cfg, (unsigned)t, code, sizeof(code));
		tier_text(cfg, t, name, sizeof(name), rule, sizeof(rule));
		s = segment(code, name, NULL, rule, x->persons, (double)r->n, x->revenue,
			    (double)pr->total_revenue);
		json_object_set_new(s, "from_bp", json_integer(x->from_bp));
		json_object_set_new(s, "to_bp", json_integer(x->to_bp));
		json_object_set_new(s, "min_revenue", json_integer(x->min_revenue));
		json_object_set_new(s, "max_revenue", json_integer(x->max_revenue));
		json_array_append_new(segs, s);
	}
	for (size_t i = 0; i < cfg->pyramid.n_cuts; i++)
		json_array_append_new(cuts, json_integer(cfg->pyramid.cut_bp[i]));
	json_object_set_new(o, "lookback_days", json_integer(p->lookback_days));
	json_object_set_new(o, "cuts_bp", cuts);
	json_object_set_new(o, "payers", json_integer((json_int_t)pr->n_payers));
	json_object_set_new(o, "revenue", json_integer(pr->total_revenue));
	json_object_set_new(o, "segments", segs);
	return o;
}

static json_t *kind_aarrr(const struct score_config *cfg, const struct score_params *p,
			  const struct score_result *r)
{
	const struct aarrr_result *a = &r->aarrr_sum;
	json_t *o = head("aarrr", cfg, p, r), *segs = json_array();
	char rule[256];

	for (int k = 0; k < AARRR_N_STEPS; k++) {
		json_t *s;

		if (k == AARRR_RETENTION)
			snprintf(rule, sizeof(rule),
				 "active again at least %d days after first seen "
				 "(last activity - first activity >= %d)",
				 cfg->retention_days, cfg->retention_days);
		else
			snprintf(rule, sizeof(rule), "%s", aarrr_rule(k));
		s = segment(aarrr_code(k), aarrr_names[k], NULL, rule, a->did[k],
			    (double)a->did[AARRR_ACQUISITION], r->aarrr_revenue[k],
			    (double)r->aarrr_acquired_revenue);
		json_object_set_new(s, "funnel", json_integer((json_int_t)a->funnel[k]));
		json_object_set_new(s, "funnel_of_acquired", real_or_null(a->funnel_of_acquired[k]));
		json_object_set_new(s, "funnel_of_previous", real_or_null(a->funnel_of_previous[k]));
		json_array_append_new(segs, s);
	}
	json_object_set_new(o, "window", json_pack("{s:o, s:o}", "from", day_str(p->aarrr_from),
						  "to", day_str(p->aarrr_to)));
	json_object_set_new(o, "window_rule", json_string(
		"persons whose first activity falls on a local day in [from, to); "
		"'to' is exclusive"));
	json_object_set_new(o, "retention_days", json_integer(cfg->retention_days));
	json_object_set_new(o, "acquired", json_integer((json_int_t)a->did[AARRR_ACQUISITION]));
	json_object_set_new(o, "outside_window", json_integer((json_int_t)a->outside_window));
	json_object_set_new(o, "revenue", json_integer(r->aarrr_acquired_revenue));
	json_object_set_new(o, "events", json_pack(
		"{s:o, s:s, s:s}", "activation", json_loads(cfg->activation, 0, NULL),
		"referral_event", cfg->referral_event, "referrer_property", cfg->referrer_property));
	json_object_set_new(o, "segments", segs);
	return o;
}

static json_t *deepening(const struct score_params *p, const struct score_result *r)
{
	const struct aipl_deepening *d = &r->deep;
	json_t *rates = json_array();

	for (int s = AIPL_NONE; s < AIPL_LOYALTY; s++)
		json_array_append_new(rates, json_pack("{s:s, s:s, s:I, s:I, s:o}", "from",
						       aipl_code(s), "to", aipl_code(s + 1),
						       "base", (json_int_t)d->base[s], "deeper",
						       (json_int_t)d->deeper[s], "rate",
						       real_or_null(d->rate[s])));
	return json_pack("{s:o, s:o, s:o, s:I, s:I, s:I, s:o, s:s}", "from", day_str(p->aipl_from),
			 "to", day_str(p->as_of_day), "rates", rates, "regressed",
			 (json_int_t)d->regressed, "base_aip", (json_int_t)d->base_aip, "deeper_aip",
			 (json_int_t)d->deeper_aip, "rate_aip", real_or_null(d->rate_aip), "rule",
			 "rate of stage s: persons in s on 'from' who are at any deeper stage on "
			 "'to', divided by the persons in s on 'from'");
}

static json_t *kind_aipl(const struct score_config *cfg, const struct score_params *p,
			 const struct score_result *r)
{
	const struct aipl_sizes *z = &r->aipl_sizes;
	json_t *o = head("aipl", cfg, p, r), *segs = json_array();
	char rule[256];

	for (int s = AIPL_NONE; s < AIPL_N; s++) {
		if (s == AIPL_LOYALTY)
			snprintf(rule, sizeof(rule), "at least %d net-paid orders, or a loyalty event",
				 cfg->aipl.loyalty_min_orders);
		else
			snprintf(rule, sizeof(rule), "%s", aipl_rule(s));
		json_array_append_new(segs, segment(aipl_code(s), aipl_names[s], aipl_label_zh(s),
						    rule, z->stage[s], (double)r->n,
						    r->aipl_revenue[s], (double)r->total_revenue));
	}
	json_object_set_new(o, "reach", json_integer((json_int_t)z->reach));
	json_object_set_new(o, "revenue", json_integer(r->total_revenue));
	json_object_set_new(o, "deepening", deepening(p, r));
	json_object_set_new(o, "fast", json_pack(
		"{s:I, s:o, s:I, s:I, s:o, s:s}", "fertility", (json_int_t)r->fast.reach,
		"advancing", real_or_null(r->fast.deepening_rate), "superiority",
		(json_int_t)r->fast.super_users, "super_active", (json_int_t)z->super_active,
		"thriving", real_or_null(r->fast.super_active_rate), "rule",
		"F: AIPL reach (A+I+P+L); A: deepening rate over A, I and P; S: super users "
		"(Loyalty stage or top value tier); T: share of super users active in the "
		"last 30 days"));
	json_object_set_new(o, "events", json_pack(
		"{s:o, s:o, s:o}", "awareness", json_loads(cfg->awareness, 0, NULL), "interest",
		json_loads(cfg->interest, 0, NULL), "loyalty", json_loads(cfg->loyalty, 0, NULL)));
	json_object_set_new(o, "segments", segs);
	return o;
}

static const char *const keys[] = { "rfm11", "rfm8", "lifecycle", "pyramid", "aarrr", "aipl" };

json_t *scoring_kind_json(const struct score_config *cfg, const struct score_params *p,
			  const struct score_result *r, const char *key)
{
	static json_t *(*const fn[])(const struct score_config *, const struct score_params *,
				     const struct score_result *) = {
		kind_rfm11, kind_rfm8, kind_lifecycle, kind_pyramid, kind_aarrr, kind_aipl,
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i]) == 0)
			return fn[i](cfg, p, r);
	return NULL;
}

json_t *scoring_summary_json(const struct score_config *cfg, const struct score_params *p,
			     const struct score_result *r)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *k = scoring_kind_json(cfg, p, r, keys[i]);
		if (!k || json_object_set_new(o, keys[i], k) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* ---- segment lists ----------------------------------------------------------- */

/* Code of value v of a kind's enum, or NULL past the end. */
static const char *code_at(const struct score_config *cfg, const char *kind, const char *scheme,
			   int v, char *buf, size_t cap)
{
	if (strcmp(kind, "rfm") == 0)
		return strcmp(scheme, "rfm8") == 0 ? rfm8_code(v) : rfm11_code(v);
	if (strcmp(kind, "lifecycle") == 0)
		return stages_code(v);
	if (strcmp(kind, "pyramid") == 0)
		return v < (int)cfg->pyramid.n_cuts + 2 ? scoring_tier_code(cfg, (unsigned)v, buf, cap)
							: NULL;
	if (strcmp(kind, "aarrr") == 0)
		return aarrr_code(v);
	if (strcmp(kind, "aipl") == 0)
		return aipl_code(v);
	return NULL;
}

bool scoring_segment_lookup(const struct score_config *cfg, const char *kind, const char *scheme,
			    const char *segment, enum sc_column *col, char *value, size_t cap)
{
	char buf[48];
	const char *c;

	for (int v = 0; (c = code_at(cfg, kind, scheme, v, buf, sizeof(buf))) != NULL; v++) {
		if (strcmp(c, segment) != 0)
			continue;
		if (strcmp(kind, "aarrr") == 0) {
			/* Persons acquired in the window who did step v. */
			*col = SC_COL_AARRR;
			snprintf(value, cap, "%u", SC_AARRR_ACQUIRED | (1u << v));
			return true;
		}
		*col = strcmp(kind, "lifecycle") == 0 ? SC_COL_LIFECYCLE
		     : strcmp(kind, "pyramid") == 0 ? SC_COL_TIER
		     : strcmp(kind, "aipl") == 0    ? SC_COL_AIPL
		     : strcmp(scheme, "rfm8") == 0  ? SC_COL_RFM8
						    : SC_COL_RFM11;
		snprintf(value, cap, "%s", c);
		return true;
	}
	return false;
}

void scoring_segment_codes(const struct score_config *cfg, const char *kind, const char *scheme,
			   char *out, size_t cap)
{
	char buf[48];
	const char *c;
	size_t len = 0;

	out[0] = '\0';
	for (int v = 0; (c = code_at(cfg, kind, scheme, v, buf, sizeof(buf))) != NULL; v++) {
		int k = snprintf(out + len, cap - len, "%s%s", v ? ", " : "", c);
		if (k < 0 || (size_t)k >= cap - len)
			break;
		len += (size_t)k;
	}
}

/* Set `key` in obj to the name of the code stored under `code_key`. */
static const char *rfm11_code_i(int v) { return rfm11_code(v); }
static const char *rfm11_name_i(int v) { return rfm11_name(v); }
static const char *rfm8_code_i(int v) { return rfm8_code(v); }
static const char *rfm8_label_i(int v) { return rfm8_label_zh(v); }
static const char *stages_code_i(int v) { return stages_code(v); }
static const char *stages_label_i(int v) { return stages_label_zh(v); }
static const char *aipl_code_i(int v) { return aipl_code(v); }
static const char *aipl_label_i(int v) { return aipl_label_zh(v); }

static const struct {
	const char *field, *key;
	const char *(*code_of)(int);
	const char *(*label_of)(int);
	int n;
} labels[] = {
	{ "rfm11", "rfm11_name", rfm11_code_i, rfm11_name_i, RFM11_N_SEGMENTS },
	{ "rfm8", "rfm8_label_zh", rfm8_code_i, rfm8_label_i, RFM8_N_SEGMENTS },
	{ "lifecycle", "lifecycle_label_zh", stages_code_i, stages_label_i, STAGES_N },
	{ "aipl", "aipl_label_zh", aipl_code_i, aipl_label_i, AIPL_N },
};

const char *scoring_label(const char *field, const char *code, const char **key)
{
	for (size_t k = 0; code && k < sizeof(labels) / sizeof(labels[0]); k++) {
		if (strcmp(labels[k].field, field) != 0)
			continue;
		for (int v = 0; v < labels[k].n; v++)
			if (labels[k].code_of(v) && strcmp(labels[k].code_of(v), code) == 0) {
				if (key)
					*key = labels[k].key;
				return labels[k].label_of(v);
			}
	}
	return NULL;
}

static void label(json_t *obj, const char *field)
{
	const char *key, *l = scoring_label(field, json_string_value(json_object_get(obj, field)), &key);

	if (l)
		json_object_set_new(obj, key, json_string(l));
}

void scoring_decorate(json_t *scores)
{
	json_t *rfm = json_object_get(scores, "rfm");

	if (!json_is_object(scores))
		return;
	if (json_is_object(rfm)) {
		label(rfm, "rfm11");
		label(rfm, "rfm8");
	}
	label(scores, "lifecycle");
	label(scores, "aipl");
}
