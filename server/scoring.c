/*
 * scoring.c - settings, the merge of per-kind inputs into one person array
 * and the model calls (see scoring.h; a stored run is in scoring_run.c).
 *
 * Data flow of a run: db_scores_load streams one aggregate row per stitched
 * person and kind (events, orders, referrals); they arrive sorted by
 * person_id and are merged here in one linear pass, so the person universe
 * is everyone with an event or an order up to as_of. Every model then makes
 * one pass (plus the radix sorts inside rfm/pyramid).
 */
#include "server/scoring.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/calendar.h"
#include "server/db_query.h"
#include "server/log.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- settings ---------------------------------------------------------------- */

static const char def_activation[] = "[\"Activated\"]";
static const char def_awareness[] = "[]";
static const char def_interest[] =
	"[\"Product Added\",\"Product Added to Wishlist\",\"Products Searched\"]";
static const char def_loyalty[] = "[]";

static bool bad(struct app_err *err, const char *path, const char *what)
{
	char field[128];
	snprintf(field, sizeof(field), "settings.config.%s", path);
	return err_set(err, 422, "invalid_settings", field, "settings.config.%s must be %s", path,
		       what);
}

/* An integer in [lo, hi] at obj.key (absent: keep *out). */
static bool cfg_int(const json_t *obj, const char *key, const char *path, int32_t lo, int32_t hi,
		    int32_t *out, struct app_err *err)
{
	const json_t *v = obj ? json_object_get(obj, key) : NULL;
	char msg[64];

	if (!v)
		return true;
	snprintf(msg, sizeof(msg), "an integer from %d to %d", lo, hi);
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return bad(err, path, msg);
	*out = (int32_t)json_integer_value(v);
	return true;
}

/* Event names: a string or an array of strings, stored as a JSON array. */
static bool cfg_events(const json_t *root, const char *key, const char *def, char **out,
		       struct app_err *err)
{
	const json_t *v = json_object_get(root, key), *e;
	json_t *arr;
	size_t i;

	if (!v) {
		*out = strdup(def);
	} else if (json_is_string(v)) {
		arr = json_pack("[O]", v);
		*out = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
		json_decref(arr);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (!json_is_string(e))
				return bad(err, key, "a string or an array of strings");
		*out = json_dumps(v, JSON_COMPACT);
	} else
		return bad(err, key, "a string or an array of strings");
	if (!*out)
		return err_set(err, 500, "internal", NULL, "out of memory");
	return true;
}

static bool cfg_text(const json_t *root, const char *key, char *buf, size_t cap,
		     struct app_err *err)
{
	const json_t *v = json_object_get(root, key);

	if (!v)
		return true;
	if (!json_is_string(v) || json_string_length(v) >= cap)
		return bad(err, key, "a string of fewer than 256 bytes");
	snprintf(buf, cap, "%s", json_string_value(v));
	return true;
}

static bool cfg_lifecycle(const json_t *root, struct score_config *c, struct app_err *err)
{
	const json_t *l = json_object_get(root, "lifecycle");
	struct stages_params *s = &c->stages;

	if (l && !json_is_object(l))
		return bad(err, "lifecycle", "an object");
	if (!cfg_int(l, "new_days", "lifecycle.new_days", 1, 3650, &s->new_days, err) ||
	    !cfg_int(l, "dormant_days", "lifecycle.dormant_days", 1, 3650, &s->dormant_days, err) ||
	    !cfg_int(l, "churn_days", "lifecycle.churn_days", 1, 3650, &s->churn_days, err) ||
	    !cfg_int(l, "mature_age_days", "lifecycle.mature_age_days", 0, 3650, &s->mature_age_days,
		     err) ||
	    !cfg_int(l, "mature_min_orders", "lifecycle.mature_min_orders", 0, 1000000,
		     &s->mature_min_orders, err) ||
	    !cfg_int(l, "mature_min_active_days", "lifecycle.mature_min_active_days", 0, 3650,
		     &s->mature_min_active_days, err) ||
	    !cfg_int(l, "active_window_days", "lifecycle.active_window_days", 1, 3650,
		     &s->active_window_days, err))
		return false;
	if (!stages_params_valid(s))
		return bad(err, "lifecycle", "thresholds with 1 <= new_days <= dormant_days <= churn_days");
	return true;
}

static bool cfg_rfm(const json_t *root, struct score_config *c, struct app_err *err)
{
	const json_t *r = json_object_get(root, "rfm"), *v;

	if (r && !json_is_object(r))
		return bad(err, "rfm", "an object");
	if (!cfg_int(r, "lookback_days", "rfm.lookback_days", 1, 36500, &c->lookback_days, err))
		return false;
	if (r && (v = json_object_get(r, "split"))) {
		if (json_is_string(v) && strcmp(json_string_value(v), "mean") == 0)
			c->split = RFM8_SPLIT_MEAN;
		else if (json_is_string(v) && strcmp(json_string_value(v), "median") == 0)
			c->split = RFM8_SPLIT_MEDIAN;
		else
			return bad(err, "rfm.split", "\"mean\" or \"median\"");
	}
	if (r && (v = json_object_get(r, "axis"))) {
		if (json_is_string(v) && strcmp(json_string_value(v), "fm") == 0)
			c->axis = RFM11_AXIS_FM;
		else if (json_is_string(v) && strcmp(json_string_value(v), "f") == 0)
			c->axis = RFM11_AXIS_F;
		else
			return bad(err, "rfm.axis", "\"fm\" or \"f\"");
	}
	return true;
}

static bool cfg_pyramid(const json_t *root, struct score_config *c, struct app_err *err)
{
	const json_t *v = json_object_get(root, "pyramid_cuts_bp"), *e;
	size_t i;

	if (!v)
		return true;
	if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > PYRAMID_MAX_CUTS)
		return bad(err, "pyramid_cuts_bp", "an array of 1 to 8 increasing basis points");
	c->pyramid.n_cuts = json_array_size(v);
	json_array_foreach(v, i, e) {
		if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > 9999 ||
		    (i > 0 && json_integer_value(e) <= (json_int_t)c->pyramid.cut_bp[i - 1]))
			return bad(err, "pyramid_cuts_bp",
				   "an array of strictly increasing integers in 1..9999");
		c->pyramid.cut_bp[i] = (uint32_t)json_integer_value(e);
	}
	return true;
}

static bool cfg_parse(const json_t *root, struct score_config *c, struct app_err *err)
{
	const json_t *a = json_object_get(root, "aarrr"), *p = json_object_get(root, "aipl");
	const json_t *sc = json_object_get(root, "scoring"), *fit;

	if ((a && !json_is_object(a)) || (p && !json_is_object(p)))
		return bad(err, a && !json_is_object(a) ? "aarrr" : "aipl", "an object");
	if (sc && !json_is_object(sc))
		return bad(err, "scoring", "an object");
	if ((fit = json_object_get(sc, "fit_ltv")) && !json_is_boolean(fit))
		return bad(err, "scoring.fit_ltv", "true or false");
	c->fit_ltv = json_is_true(fit);
	return cfg_events(root, "activation_events", def_activation, &c->activation, err) &&
	       cfg_events(root, "awareness_events", def_awareness, &c->awareness, err) &&
	       cfg_events(root, "interest_events", def_interest, &c->interest, err) &&
	       cfg_events(root, "loyalty_events", def_loyalty, &c->loyalty, err) &&
	       cfg_text(root, "referral_event", c->referral_event, sizeof(c->referral_event), err) &&
	       cfg_text(root, "referrer_property", c->referrer_property,
			sizeof(c->referrer_property), err) &&
	       cfg_lifecycle(root, c, err) && cfg_rfm(root, c, err) && cfg_pyramid(root, c, err) &&
	       cfg_int(a, "window_days", "aarrr.window_days", 1, 3650, &c->aarrr_window_days, err) &&
	       cfg_int(a, "retention_days", "aarrr.retention_days", 0, 3650, &c->retention_days,
		       err) &&
	       cfg_int(p, "compare_days", "aipl.compare_days", 1, 3650, &c->aipl_compare_days, err) &&
	       cfg_int(p, "loyalty_min_orders", "aipl.loyalty_min_orders", 1, 1000000,
		       &c->aipl.loyalty_min_orders, err);
}

bool scoring_config_load(struct db *db, int64_t project_id, struct score_config *c,
			 struct app_err *err)
{
	struct db_settings s;
	json_error_t jerr;
	json_t *root;
	bool ok;

	memset(c, 0, sizeof(*c));
	stages_default_params(&c->stages);
	pyramid_default_params(&c->pyramid);
	c->aipl.loyalty_min_orders = 2;
	c->retention_days = 7;
	c->aarrr_window_days = 30;
	c->aipl_compare_days = 30;
	c->lookback_days = 365;
	c->split = RFM8_SPLIT_MEAN;
	c->axis = RFM11_AXIS_FM;
	strcpy(c->referral_event, "Signed Up");
	strcpy(c->referrer_property, "referrer_id");
	if (!db_settings_get(db, project_id, &s, err))
		return false;
	snprintf(c->tz, sizeof(c->tz), "%s", s.timezone);
	snprintf(c->currency, sizeof(c->currency), "%s", s.currency);
	root = json_loads(s.config, 0, &jerr);
	db_settings_cleanup(&s);
	if (!json_is_object(root))
		ok = bad(err, "", "a JSON object");
	else
		ok = cfg_parse(root, c, err);
	json_decref(root);
	if (!ok)
		scoring_config_free(c);
	return ok;
}

void scoring_config_free(struct score_config *c)
{
	free(c->activation);
	free(c->awareness);
	free(c->interest);
	free(c->loyalty);
	c->activation = c->awareness = c->interest = c->loyalty = NULL;
}

void scoring_default_params(const struct score_config *cfg, int64_t project_id, int32_t today,
			    struct score_params *p)
{
	p->project_id = project_id;
	p->as_of_day = today;
	p->lookback_days = cfg->lookback_days;
	p->split = cfg->split;
	p->aarrr_to = today + 1;
	p->aarrr_from = p->aarrr_to - cfg->aarrr_window_days;
	p->aipl_from = today - cfg->aipl_compare_days;
}

static json_t *day_json(int32_t day)
{
	int y, m, d;
	char buf[16];

	calendar_civil_from_days(day, &y, &m, &d);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
	return json_string(buf);
}

/* The effective settings a computation used (part of its params). */
static json_t *settings_json(const struct score_config *cfg)
{
	const struct stages_params *s = &cfg->stages;
	json_t *cuts = json_array();

	for (size_t i = 0; i < cfg->pyramid.n_cuts; i++)
		json_array_append_new(cuts, json_integer(cfg->pyramid.cut_bp[i]));
	return json_pack(
		"{s:s, s:s, s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i}, s:o, s:i, s:i,"
		" s:{s:o, s:o, s:o, s:o, s:s, s:s}}",
		"timezone", cfg->tz, "currency", cfg->currency, "lifecycle", "new_days", s->new_days,
		"dormant_days", s->dormant_days, "churn_days", s->churn_days, "mature_age_days",
		s->mature_age_days, "mature_min_orders", s->mature_min_orders,
		"mature_min_active_days", s->mature_min_active_days, "active_window_days",
		s->active_window_days, "pyramid_cuts_bp", cuts, "retention_days", cfg->retention_days,
		"loyalty_min_orders", cfg->aipl.loyalty_min_orders, "events", "activation",
		json_loads(cfg->activation, 0, NULL), "awareness", json_loads(cfg->awareness, 0, NULL),
		"interest", json_loads(cfg->interest, 0, NULL), "loyalty",
		json_loads(cfg->loyalty, 0, NULL), "referral_event", cfg->referral_event,
		"referrer_property", cfg->referrer_property);
}

json_t *scoring_params_json(const struct score_config *cfg, const struct score_params *p)
{
	return json_pack("{s:o, s:i, s:s, s:s, s:o, s:o, s:o, s:o}", "as_of", day_json(p->as_of_day),
			 "lookback_days", (json_int_t)p->lookback_days, "split",
			 p->split == RFM8_SPLIT_MEDIAN ? "median" : "mean", "axis",
			 cfg->axis == RFM11_AXIS_F ? "f" : "fm", "aarrr_from", day_json(p->aarrr_from),
			 "aarrr_to", day_json(p->aarrr_to), "aipl_from", day_json(p->aipl_from),
			 "settings", settings_json(cfg));
}

/* ---- inputs and models ---------------------------------------------------- */

static void take_event(struct score_person *x, const struct sc_ev_row *e)
{
	x->first_day = e->first_day;
	x->last_day = e->last_day;
	x->active_days = e->active_days;
	x->flags = e->flags;
}

/* Orders are activity too: they widen the first/last activity days. */
static void take_order(struct score_person *x, const struct sc_ord_row *o, bool had_events)
{
	if (!had_events || o->first_day < x->first_day)
		x->first_day = o->first_day;
	if (!had_events || o->last_day > x->last_day)
		x->last_day = o->last_day;
	x->last_paid_day = o->last_paid_day;
	x->orders = o->orders;
	x->paid_orders = o->paid_orders;
	x->paid_orders1 = o->paid_orders1;
	x->revenue = o->revenue;
	x->ltv = o->ltv;
}

/* Merge the sorted per-kind rows into r->p: one linear pass. */
static bool merge(const struct sc_inputs *in, struct score_result *r)
{
	size_t i = 0, j = 0, k = 0, l = 0, n = 0;

	r->p = calloc(in->n_ev + in->n_ord + 1, sizeof(*r->p));
	if (!r->p)
		return false;
	while (i < in->n_ev || j < in->n_ord) {
		struct score_person *x = &r->p[n++];
		int64_t pe = i < in->n_ev ? in->ev[i].person_id : INT64_MAX;
		int64_t po = j < in->n_ord ? in->ord[j].person_id : INT64_MAX;
		bool ev = pe <= po;

		x->person_id = ev ? pe : po;
		x->carry = -1;
		if (ev)
			take_event(x, &in->ev[i++]);
		if (po == x->person_id) {
			r->fx_missing_orders += in->ord[j].fx_missing;
			take_order(x, &in->ord[j++], ev);
		}
		while (k < in->n_ref && in->ref[k].person_id < x->person_id)
			k++;
		if (k < in->n_ref && in->ref[k].person_id == x->person_id)
			x->referees = in->ref[k].referees;
		while (l < in->n_ltv && in->ltv[l].person_id < x->person_id)
			l++;
		if (l < in->n_ltv && in->ltv[l].person_id == x->person_id)
			x->carry = (int32_t)l;
	}
	r->n = n;
	return true;
}

static bool alloc_outputs(struct score_result *r)
{
	size_t n = r->n + 1;

	r->rfm11 = calloc(n, sizeof(*r->rfm11));
	r->rfm8 = calloc(n, 1);
	r->stage = calloc(n, 1);
	r->tier = calloc(n, 1);
	r->aipl = calloc(n, 1);
	r->aipl1 = calloc(n, 1);
	r->aarrr = calloc(n, 1);
	return r->rfm11 && r->rfm8 && r->stage && r->tier && r->aipl && r->aipl1 && r->aarrr;
}

static bool model_rfm(const struct score_config *cfg, const struct score_params *p,
		      struct score_result *r)
{
	struct rfm_person *rp = calloc(r->n + 1, sizeof(*rp));
	int64_t *rev = calloc(r->n + 1, sizeof(*rev));
	bool ok;

	if (!rp || !rev) {
		free(rp);
		free(rev);
		return false;
	}
	for (size_t i = 0; i < r->n; i++) {
		rp[i].last_order_day = r->p[i].last_paid_day;
		rp[i].orders = r->p[i].orders;
		rp[i].net_revenue = r->p[i].revenue;
		rev[i] = r->p[i].revenue;
		r->total_revenue += r->p[i].revenue;
	}
	ok = rfm11_score(rp, r->n, p->as_of_day, cfg->axis, r->rfm11, &r->s11) &&
	     rfm8_score(rp, r->n, p->as_of_day, p->split, r->rfm8, &r->s8) &&
	     pyramid_compute(rev, r->n, &cfg->pyramid, r->tier, &r->pyramid);
	free(rp);
	free(rev);
	return ok;
}

static bool model_stages(const struct score_config *cfg, const struct score_params *p,
			 struct score_result *r)
{
	struct stages_person *sp = calloc(r->n + 1, sizeof(*sp));
	bool ok;

	if (!sp)
		return false;
	for (size_t i = 0; i < r->n; i++) {
		sp[i].first_seen_day = r->p[i].first_day;
		sp[i].last_active_day = r->p[i].last_day;
		sp[i].paid_orders = r->p[i].paid_orders;
		sp[i].active_days = r->p[i].active_days;
	}
	ok = stages_classify(sp, r->n, p->as_of_day, &cfg->stages, r->stage, &r->stages);
	for (size_t i = 0; ok && i < r->n; i++)
		if (r->stage[i] < STAGES_N)
			r->stage_revenue[r->stage[i]] += r->p[i].revenue;
	free(sp);
	return ok;
}

/* The steps of model/aarrr.c, per person (stored so lists match the counts). */
static uint8_t aarrr_bits(const struct score_person *x, const struct score_params *p, int32_t ret)
{
	uint8_t b;

	if (x->first_day < p->aarrr_from || x->first_day >= p->aarrr_to)
		return 0;
	b = SC_AARRR_ACQUIRED;
	b |= (x->flags & SC_ACTIVATED) ? 1u << AARRR_ACTIVATION : 0;
	b |= (int64_t)x->last_day - x->first_day >= ret ? 1u << AARRR_RETENTION : 0;
	b |= x->paid_orders > 0 ? 1u << AARRR_REVENUE : 0;
	b |= x->referees > 0 ? 1u << AARRR_REFERRAL : 0;
	return b;
}

static bool model_aarrr(const struct score_config *cfg, const struct score_params *p,
			struct score_result *r)
{
	struct aarrr_person *ap = calloc(r->n + 1, sizeof(*ap));
	struct aarrr_params prm = { p->aarrr_from, p->aarrr_to, cfg->retention_days };
	bool ok;

	if (!ap)
		return false;
	for (size_t i = 0; i < r->n; i++) {
		const struct score_person *x = &r->p[i];
		ap[i] = (struct aarrr_person){ x->first_day, x->last_day, x->paid_orders, x->referees,
					       (x->flags & SC_ACTIVATED) != 0 };
		r->aarrr[i] = aarrr_bits(x, p, cfg->retention_days);
		for (int k = 0; k < AARRR_N_STEPS; k++)
			if (r->aarrr[i] & (1u << k))
				r->aarrr_revenue[k] += x->revenue;
	}
	r->aarrr_acquired_revenue = r->aarrr_revenue[AARRR_ACQUISITION];
	ok = aarrr_compute(ap, r->n, &prm, &r->aarrr_sum);
	free(ap);
	return ok;
}

static bool model_aipl(const struct score_config *cfg, const struct score_params *p,
		       struct score_result *r)
{
	struct aipl_person *now = calloc(r->n + 1, sizeof(*now));
	struct aipl_person *then = calloc(r->n + 1, sizeof(*then));
	struct aipl_sizes sizes1;
	bool ok;

	if (!now || !then) {
		free(now);
		free(then);
		return false;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct score_person *x = &r->p[i];
		uint8_t f = x->flags;
		now[i] = (struct aipl_person){ x->paid_orders, f & SC_AWARE, f & SC_INTEREST,
					       f & SC_LOYAL, r->tier[i] == 0, /* top value tier */
					       x->last_day > p->as_of_day - 30 };
		then[i] = (struct aipl_person){ x->paid_orders1, f & SC_AWARE1, f & SC_INTEREST1,
						f & SC_LOYAL1, false, false };
	}
	ok = aipl_classify(now, r->n, &cfg->aipl, r->aipl, &r->aipl_sizes) &&
	     aipl_classify(then, r->n, &cfg->aipl, r->aipl1, &sizes1) &&
	     aipl_deepen(r->aipl1, r->aipl, r->n, &r->deep);
	if (ok) {
		aipl_fast(&r->aipl_sizes, &r->deep, &r->fast);
		for (size_t i = 0; i < r->n; i++)
			r->aipl_revenue[r->aipl[i]] += r->p[i].revenue;
	}
	free(now);
	free(then);
	return ok;
}

bool scoring_compute(struct db *db, struct db *db2, const struct score_config *cfg,
		     const struct score_params *p, bool carry_ltv, struct score_result *r,
		     struct app_err *err)
{
	struct sc_query q = { p->project_id, cfg->tz, cfg->currency, p->as_of_day, p->aipl_from,
			      p->lookback_days, cfg->stages.active_window_days, cfg->activation,
			      cfg->awareness, cfg->interest, cfg->loyalty, cfg->referral_event,
			      cfg->referrer_property };
	struct sc_inputs in;
	double t;
	bool ok;

	memset(r, 0, sizeof(*r));
	if (!db_scores_load(db, db2, &q, carry_ltv, &in, err))
		return false;
	memcpy(r->ms, in.ms, sizeof(in.ms));
	r->has_orders = in.has_orders;
	t = now_ms();
	ok = merge(&in, r);
	r->ltv = in.ltv;
	r->n_ltv = in.n_ltv;
	in.ltv = NULL;
	db_scores_inputs_free(&in);
	r->ms[4] = now_ms() - t;
	t = now_ms();
	if (!ok || !alloc_outputs(r)) {
		scoring_result_free(r);
		return err_set(err, 500, "internal", NULL, "out of memory");
	}
	ok = model_rfm(cfg, p, r) && model_stages(cfg, p, r) && model_aarrr(cfg, p, r) &&
	     model_aipl(cfg, p, r);
	r->ms[5] = now_ms() - t;
	if (!ok) {
		scoring_result_free(r);
		return err_set(err, 500, "internal", NULL,
			       "a model failed (out of memory or a revenue sum overflowing int64)");
	}
	return true;
}

void scoring_result_free(struct score_result *r)
{
	free(r->p);
	free(r->rfm11);
	free(r->rfm8);
	free(r->stage);
	free(r->tier);
	free(r->aipl);
	free(r->aipl1);
	free(r->aarrr);
	free(r->ltv);
	memset(r, 0, sizeof(*r));
}
