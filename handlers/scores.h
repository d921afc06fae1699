/*
 * scores.h - scoring runs over HTTP (read key).
 *
 *   POST /v1/scores/run       queue a run for the key's project; 202 at once
 *                             with the run (or the run already queued/running)
 *   GET  /v1/scores/runs/{id} status, progress scored/total, timings, error
 *
 * Runs execute on the scheduler thread (server/scheduler.h); docs/scoring.md.
 */
#ifndef HANDLERS_SCORES_H
#define HANDLERS_SCORES_H

#include "server/http.h"

void h_scores_run_post(struct http_req *req, struct http_resp *resp);
void h_scores_run_get(struct http_req *req, struct http_resp *resp);

/* 400 naming the first query parameter not in `allowed`; true when none. */
bool scores_check_params(const struct http_req *req, const char *const *allowed,
			 struct app_err *err);

#endif
