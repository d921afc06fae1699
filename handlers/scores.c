/*
 * scores.c - see scores.h.
 *
 * Runs live on the primary (app->pool): creating one writes, and reading one
 * also marks runs of dead processes failed, so a replica would answer stale.
 */
#include "handlers/scores.h"

#include <stdlib.h>
#include <string.h>

#include "server/app.h"
#include "server/db.h"
#include "server/db_scores.h"
#include "server/scheduler.h"

bool scores_check_params(const struct http_req *req, const char *const *allowed,
			 struct app_err *err)
{
	const char *k = http_query_unknown(req, allowed);
	char list[256] = "";
	size_t len = 0;

	if (!k)
		return true;
	for (const char *const *a = allowed; *a && len < sizeof(list); a++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", a == allowed ? "" : ", ",
					*a);
	return err_set(err, 400, "unknown_parameter", k, "unknown query parameter '%.64s'%s%s", k,
		       *allowed ? "; allowed: " : " (this route takes none)", list);
}

/* The run as JSON, parsed; NULL with err (404 when not this project's). */
static json_t *load_run(struct db *db, int64_t project_id, int64_t run_id, struct app_err *err)
{
	char *text = NULL;
	bool found = false;
	json_t *j;

	if (!db_scores_run_json(db, project_id, run_id, &text, &found, err))
		return NULL;
	if (!found) {
		err_set(err, 404, "not_found", NULL, "no scoring run %lld in this project",
			(long long)run_id);
		return NULL;
	}
	j = json_loads(text, 0, NULL);
	free(text);
	if (!j)
		err_set(err, 500, "internal", NULL, "run encoding failed");
	return j;
}

/* The body is optional; when given it must be an empty JSON object (no
 * options yet), so a typo'd option is an error instead of being ignored. */
static bool check_body(const struct http_req *req, struct app_err *err)
{
	json_error_t jerr;
	json_t *b;
	const char *key;
	void *it;

	if (req->body_len == 0)
		return true;
	b = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(b)) {
		json_decref(b);
		return err_set(err, 400, "invalid_json", NULL,
			       "the body must be empty or a JSON object");
	}
	it = json_object_iter(b);
	key = it ? json_object_iter_key(it) : NULL;
	if (key)
		err_set(err, 400, "validation_failed", key, "unknown field '%.64s'", key);
	json_decref(b);
	return key == NULL;
}

void h_scores_run_post(struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { NULL };
	struct app_err err = { 0 };
	struct db *db = NULL;
	int64_t run_id = 0;
	bool existing = false;
	json_t *run = NULL;

	if (!scores_check_params(req, allowed, &err) || !check_body(req, &err))
		goto fail;
	if (!req->app->scheduler) {
		err_set(&err, 503, "scoring_unavailable", NULL, "scoring is not running");
		goto fail;
	}
	if (!(db = db_acquire(req->app->pool, 2000, &err)) ||
	    !scheduler_submit(req->app->scheduler, db, req->project_id, &run_id, &existing, &err) ||
	    !(run = load_run(db, req->project_id, run_id, &err)))
		goto fail;
	db_release(req->app->pool, db);
	json_object_set_new(run, "existing", json_boolean(existing));
	resp->status = 202;
	resp->json = run;
	return;
fail:
	if (db)
		db_release(req->app->pool, db);
	http_resp_error(resp, &err);
}

/* A positive decimal id of at most 18 digits. */
static bool parse_id(const char *s, int64_t *out)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 18 || s[n] != '\0' || s[0] == '0')
		return false;
	*out = strtoll(s, NULL, 10);
	return true;
}

void h_scores_run_get(struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { NULL };
	struct app_err err = { 0 };
	struct db *db = NULL;
	int64_t run_id;
	json_t *run;

	if (!scores_check_params(req, allowed, &err))
		goto fail;
	if (!parse_id(req->params[0], &run_id)) {
		err_set(&err, 400, "validation_failed", "id", "run id must be a positive integer");
		goto fail;
	}
	if (!(db = db_acquire(req->app->pool, 2000, &err)))
		goto fail;
	run = load_run(db, req->project_id, run_id, &err);
	db_release(req->app->pool, db);
	if (!run)
		goto fail;
	resp->json = run;
	return;
fail:
	http_resp_error(resp, &err);
}
