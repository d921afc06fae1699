/*
 * persons.c - see persons.h. The profile comes from server/profiles.c (one
 * statement for all the requests waiting at that moment); this only adds
 * the LTV predictions when the project has a fit, decorates and answers.
 */
#include "handlers/persons.h"

#include <string.h>

#include "handlers/scores.h"
#include "server/app.h"
#include "server/db.h"
#include "server/ltv_scoring.h"
#include "server/profiles.h"
#include "server/scoring.h"

void h_persons_get(struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { NULL };
	struct app_err err = { 0 };
	struct db *db;
	bool found = false, ltv_fit = false, ok;
	json_t *j = NULL;

	if (!scores_check_params(req, allowed, &err))
		goto fail;
	if (strlen(req->params[0]) > 255) {
		err_set(&err, 400, "validation_failed", "id", "distinct ids are at most 255 bytes");
		goto fail;
	}
	ok = profiles_get(req->app->profiles, req->project_id, req->params[0], &j, &found, &ltv_fit,
			  &err);
	if (ok && found && !ltv_fit) {
		/* No usable fit: ltv_person_json would answer null after three
		 * statements; the profile statement already looked. */
		if (json_object_set_new(j, "predictions", json_null()))
			ok = err_set(&err, 500, "internal", NULL, "out of memory");
	} else if (ok && found && (ok = (db = db_acquire(req->app->read_pool, 2000, &err)) != NULL)) {
		/* Live predictions of the latest usable LTV fit (null without one). */
		json_t *pred = NULL;
		json_int_t pid = json_integer_value(json_object_get(j, "person_id"));
		ok = ltv_person_json(db, req->project_id, (int64_t)pid, &pred, &err);
		db_release(req->app->read_pool, db);
		if (ok)
			json_object_set_new(j, "predictions", pred ? pred : json_null());
	}
	if (!ok) {
		json_decref(j);
		goto fail;
	}
	if (!found) {
		err_set(&err, 404, "not_found", NULL, "no person with distinct id '%.128s'",
			req->params[0]);
		goto fail;
	}
	scoring_decorate(json_object_get(j, "scores"));
	resp->json = j;
	return;
fail:
	http_resp_error(resp, &err);
}
