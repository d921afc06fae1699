/*
 * kfactor.c - GET /v1/kfactor.
 *
 * PostgreSQL finds every stitched person's first signup event, the cohort
 * (first signup in [from, to)), whom each signup names as its referrer and
 * the members' invites (server/db_growth.c); model/kfactor.c computes K,
 * the invite funnel, cycle times and the top referrers. Defaults come from
 * settings.config ("referral_event", "referrer_property", "invite_event"),
 * as the scoring layer reads them.
 */
#include "handlers/kfactor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/query.h"
#include "model/kfactor.h"
#include "server/app.h"
#include "server/db.h"
#include "server/db_growth.h"
#include "server/db_query.h"

#define KF_DEFAULT_TOP 10
#define KF_MAX_TOP 1000

struct kf_req {
	const char *signup, *referrer, *invite;  /* NULL: from settings */
	const char *from, *to, *tz, *format;
	long top;
	char signup_buf[256], referrer_buf[300], invite_buf[256];
};

static bool parse_get(struct http_req *req, struct kf_req *r, struct app_err *err)
{
	static const char *const allowed[] = { "signup_event", "referrer", "invite_event", "top",
					       "from", "to", "tz", "format", NULL };
	const char *unknown = http_query_unknown(req, allowed), *s;
	char *end;

	if (unknown)
		return err_set(err, 400, "validation_failed", unknown, "unknown parameter %s", unknown);
	r->signup = http_query(req, "signup_event");
	r->referrer = http_query(req, "referrer");
	r->invite = http_query(req, "invite_event");
	r->from = http_query(req, "from");
	r->to = http_query(req, "to");
	r->tz = http_query(req, "tz");
	r->format = http_query(req, "format");
	if (r->signup && !*r->signup)
		return err_set(err, 400, "validation_failed", "signup_event", "signup_event is empty");
	if (r->invite && !*r->invite)
		return err_set(err, 400, "validation_failed", "invite_event", "invite_event is empty");
	if (r->referrer && !db_filter_path_valid(r->referrer))
		return err_set(err, 400, "validation_failed", "referrer",
			       "referrer must be properties.<key> or context.<key>");
	r->top = KF_DEFAULT_TOP;
	if ((s = http_query(req, "top"))) {
		r->top = strtol(s, &end, 10);
		if (end == s || *end || r->top < 0 || r->top > KF_MAX_TOP)
			return err_set(err, 400, "validation_failed", "top",
				       "top must be an integer from 0 to %d", KF_MAX_TOP);
	}
	return true;
}

/* A string setting, or false when absent or not a usable string. */
static bool config_text(const json_t *cfg, const char *key, char *out, size_t cap)
{
	const json_t *v = json_object_get(cfg, key);

	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap)
		return false;
	snprintf(out, cap, "%s", json_string_value(v));
	return true;
}

/* Fill the parameters left out from settings.config, then the defaults. */
static bool resolve_defaults(struct kf_req *r, const char *config, struct app_err *err)
{
	json_t *cfg = json_loads(config ? config : "{}", 0, NULL);
	char prop[256];

	if (!r->signup) {
		if (!config_text(cfg, "referral_event", r->signup_buf, sizeof(r->signup_buf)))
			strcpy(r->signup_buf, "Signed Up");
		r->signup = r->signup_buf;
	}
	if (!r->referrer) {
		if (!config_text(cfg, "referrer_property", prop, sizeof(prop)))
			strcpy(prop, "referrer_id");
		snprintf(r->referrer_buf, sizeof(r->referrer_buf), "properties.%s", prop);
		r->referrer = r->referrer_buf;
	}
	if (!r->invite && config_text(cfg, "invite_event", r->invite_buf, sizeof(r->invite_buf)))
		r->invite = r->invite_buf;
	json_decref(cfg);
	if (!db_filter_path_valid(r->referrer))
		return err_set(err, 422, "invalid_settings", "settings.config.referrer_property",
			       "settings.config.referrer_property is not a usable property key");
	return true;
}

static bool run_model(const struct db_referrals *ref, bool has_invites, long top,
		      struct kfactor_result *res, struct app_err *err)
{
	struct kfactor_member *m = malloc((ref->n + 1) * sizeof(*m));
	struct kfactor_params prm = { .has_invites = has_invites, .top_n = (size_t)top };
	bool ok;

	if (!m)
		return err_set(err, 500, "internal", NULL, "out of memory");
	for (size_t i = 0; i < ref->n; i++) {
		m[i].person_id = ref->person_id[i];
		m[i].start_us = ref->start_us[i];
		m[i].invites = ref->invites[i];
		m[i].n_referees = (uint32_t)(ref->ref_off[i + 1] - ref->ref_off[i]);
	}
	ok = kfactor_compute(m, ref->n, ref->signup_us, ref->n_signups, &prm, res);
	free(m);
	if (!ok)
		return err_set(err, 500, "internal", NULL, "k-factor model failed");
	return true;
}

static json_t *render_json(const struct kf_req *r, const struct query_range *qr,
			   const struct kfactor_result *res)
{
	json_t *top = json_array();
	char from[64], to[64];

	for (size_t i = 0; i < res->n_top; i++)
		json_array_append_new(top, json_pack("{s:I, s:I}", "person_id",
						     (json_int_t)res->top[i].person_id, "referees",
						     (json_int_t)res->top[i].referees));
	query_format_time(qr->from_us, from);
	query_format_time(qr->to_us, to);
	return json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:I, s:o, s:o, s:o,"
			 " s:{s:o, s:o}, s:o}",
			 "signup_event", r->signup, "referrer", r->referrer, "invite_event",
			 r->invite, "from", from, "to", to, "tz", qr->tz, "cohort_size",
			 (json_int_t)res->cohort_size, "referees", (json_int_t)res->referees,
			 "invalid_referees", (json_int_t)res->invalid_referees, "invites",
			 r->invite ? json_integer((json_int_t)res->invites) : json_null(),
			 "referrers", (json_int_t)res->referrers, "k", query_real(res->k),
			 "invites_per_person", query_real(res->invites_per_person),
			 "invite_conversion", query_real(res->invite_conversion), "cycle_time_days",
			 "mean", query_real(res->cycle_mean_days), "median",
			 query_real(res->cycle_median_days), "top_referrers", top);
}

/* The table of this route is the top-referrer list. */
static void render_csv(const struct kfactor_result *res, struct http_resp *resp)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	if (!out)
		return;
	fputs("rank,person_id,referees\n", out);
	for (size_t i = 0; i < res->n_top; i++)
		fprintf(out, "%zu,%lld,%u\n", i + 1, (long long)res->top[i].person_id,
			res->top[i].referees);
	fclose(out);
	resp->text = buf;
	resp->text_len = len;
	resp->content_type = "text/csv; charset=utf-8";
}

void h_kfactor_get(struct http_req *req, struct http_resp *resp)
{
	struct kf_req r = { 0 };
	struct app_err err = { 0 };
	struct query_range qr;
	struct db_settings st = { 0 };
	struct db_referrals ref = { 0 };
	struct kfactor_result res = { 0 };
	struct db *db = NULL;
	bool ok;

	ok = parse_get(req, &r, &err) && (db = db_acquire(req->app->read_pool, 2000, &err)) &&
	     query_range_resolve(db, req->project_id, r.from, r.to, r.tz, r.format, 30,
				 req->received_us, &qr, &err) &&
	     db_settings_get(db, req->project_id, &st, &err) &&
	     resolve_defaults(&r, st.config, &err);
	if (ok) {
		struct db_referral_spec spec = { .project_id = req->project_id, .from_us = qr.from_us,
						 .to_us = qr.to_us, .signup_event = r.signup,
						 .referrer_path = r.referrer,
						 .invite_event = r.invite };
		ok = db_referrals(db, &spec, &ref, &err);
	}
	if (db)
		db_release(req->app->read_pool, db);
	ok = ok && run_model(&ref, r.invite != NULL, r.top, &res, &err);
	if (!ok)
		http_resp_error(resp, &err);
	else if (qr.csv)
		render_csv(&res, resp);
	else
		resp->json = render_json(&r, &qr, &res);
	kfactor_result_free(&res);
	db_referrals_free(&ref);
	db_settings_cleanup(&st);
}
