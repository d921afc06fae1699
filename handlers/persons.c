/*
 * persons.c - see persons.h. The profile comes from server/profiles.c (one
 * statement for all the requests waiting at that moment) as PostgreSQL's
 * text and is written out as JSON text directly (server/jtext.h): the
 * Jansson tree and its dump cost a quarter of the request. Key order and
 * number formats are those of the Jansson answers elsewhere. With an LTV
 * fit, the live predictions are appended (ltv_person_json).
 */
#include "handlers/persons.h"

#include <stdlib.h>
#include <string.h>

#include "handlers/scores.h"
#include "server/app.h"
#include "server/db.h"
#include "server/db_scores.h"
#include "server/jtext.h"
#include "server/ltv_scoring.h"
#include "server/profiles.h"
#include "server/scoring.h"

struct render {
	struct jtext t;
	int64_t person_id;
	bool ltv_fit;
};

/* "key": after `open` ("{" for the first member of an object, else ","). */
static void key(struct jtext *t, const char *open, const char *k)
{
	jtext_raw(t, open);
	jtext_raw(t, "\"");
	jtext_raw(t, k);
	jtext_raw(t, "\":");
}

/* ,"key":"label" when the code has one. */
static void put_label(struct jtext *t, const char *field, const char *code)
{
	const char *k, *l = scoring_label(field, code, &k);

	if (l) {
		key(t, ",", k);
		jtext_str(t, l);
	}
}

/* The scores object of db_scores_page's shape, with scoring_decorate's
 * labels; s[] as in struct sc_profile_row. */
static void put_scores(struct jtext *t, const char *const *s)
{
	static const char *const ints[] = { "recency_days", "frequency", "monetary", "r", "f", "m",
					    "fm" };
	static const char *const steps[] = { "acquired", "activation", "retention", "revenue",
					     "referral" };
	static const char *const reals[] = { "p_alive", "expected_purchases_30d",
					     "expected_purchases_90d", "expected_purchases_365d",
					     "clv_predicted" };
	long aarrr = s[17] ? strtol(s[17], NULL, 10) : 0;

	if (!s[0]) {
		jtext_raw(t, "null");
		return;
	}
	key(t, "{", "run_id");
	jtext_num(t, s[0]);
	key(t, ",", "computed_at");
	jtext_str(t, s[1]);
	key(t, ",", "first_active");
	jtext_str(t, s[2]);
	key(t, ",", "last_active");
	jtext_str(t, s[3]);
	key(t, ",", "paid_orders");
	jtext_num(t, s[4]);
	key(t, ",", "rfm");
	for (int i = 0; i < 7; i++) {
		key(t, i ? "," : "{", ints[i]);
		jtext_num(t, s[5 + i]);
	}
	key(t, ",", "rfm11");
	jtext_str(t, s[12]);
	key(t, ",", "rfm8");
	jtext_str(t, s[13]);
	put_label(t, "rfm11", s[12]);
	put_label(t, "rfm8", s[13]);
	key(t, "},", "lifecycle");
	jtext_str(t, s[14]);
	key(t, ",", "value_tier");
	jtext_str(t, s[15]);
	key(t, ",", "aipl");
	jtext_str(t, s[16]);
	key(t, ",", "aarrr");
	for (int i = 0; i < 5; i++) {
		key(t, i ? "," : "{", steps[i]);
		jtext_bool(t, (aarrr >> i) & 1);
	}
	key(t, "},", "referrals");
	jtext_num(t, s[18]);
	key(t, ",", "ltv");
	key(t, "{", "historical");
	jtext_num(t, s[19]);
	for (int i = 0; i < 5; i++) {
		key(t, ",", reals[i]);
		jtext_real(t, s[20 + i]);
	}
	jtext_raw(t, "}");
	put_label(t, "lifecycle", s[14]);
	put_label(t, "aipl", s[16]);
	jtext_raw(t, "}");
}

/* Everything but "predictions" and the closing brace. */
static bool render(const struct sc_profile_row *p, void *arg)
{
	struct render *r = arg;
	struct jtext *t = &r->t;

	r->person_id = strtoll(p->person_id, NULL, 10);
	r->ltv_fit = p->ltv_fit;
	key(t, "{", "person_id");
	jtext_num(t, p->person_id);
	key(t, ",", "distinct_ids");
	jtext_json(t, p->distinct_ids);
	key(t, ",", "merged_person_ids");
	jtext_json(t, p->merged_person_ids);
	key(t, ",", "first_seen");
	jtext_str(t, p->first_seen);
	key(t, ",", "last_seen");
	jtext_str(t, p->last_seen);
	key(t, ",", "traits");
	jtext_json(t, p->traits);
	key(t, ",", "scores");
	put_scores(t, p->score);
	return !t->failed;
}

/* ,"predictions":... of the latest usable LTV fit (null without one). */
static bool put_predictions(struct http_req *req, struct render *r, struct app_err *err)
{
	json_t *pred = NULL;
	char *text = NULL;
	struct db *db;
	bool ok;

	key(&r->t, ",", "predictions");
	if (!r->ltv_fit) {
		/* No usable fit: ltv_person_json would answer null after three
		 * statements; the profile statement already looked. */
		jtext_raw(&r->t, "null}");
		return true;
	}
	if (!(db = db_acquire(req->app->read_pool, 2000, err)))
		return false;
	ok = ltv_person_json(db, req->project_id, r->person_id, &pred, err);
	db_release(req->app->read_pool, db);
	if (!ok)
		return false;
	if (pred && !(text = json_dumps(pred, JSON_COMPACT | JSON_REAL_PRECISION(15)))) {
		json_decref(pred);
		return err_set(err, 500, "internal", NULL, "out of memory");
	}
	jtext_raw(&r->t, text ? text : "null");
	jtext_raw(&r->t, "}");
	free(text);
	json_decref(pred);
	return true;
}

void h_persons_get(struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { NULL };
	struct app_err err = { 0 };
	struct render r = { 0 };
	bool found = false;

	if (!scores_check_params(req, allowed, &err))
		goto fail;
	if (strlen(req->params[0]) > 255) {
		err_set(&err, 400, "validation_failed", "id", "distinct ids are at most 255 bytes");
		goto fail;
	}
	if (!profiles_get(req->app->profiles, req->project_id, req->params[0], render, &r, &found,
			  &err))
		goto fail;
	if (!found) {
		err_set(&err, 404, "not_found", NULL, "no person with distinct id '%.128s'",
			req->params[0]);
		goto fail;
	}
	if (!put_predictions(req, &r, &err))
		goto fail;
	if (r.t.failed) {
		err_set(&err, 500, "internal", NULL, "out of memory");
		goto fail;
	}
	resp->text = r.t.p;
	resp->text_len = r.t.n;
	resp->content_type = "application/json";
	return;
fail:
	jtext_free(&r.t);
	http_resp_error(resp, &err);
}
