/*
 * lifecycle.h - GET /v1/lifecycle: per local day, week or month the new,
 * returning, resurrecting and dormant persons (PostHog's Lifecycle insight;
 * docs/api.md "Analytics", rules in docs/semantics-analytics.md §5).
 */
#ifndef HANDLERS_LIFECYCLE_H
#define HANDLERS_LIFECYCLE_H

#include "server/http.h"

void h_lifecycle_get(struct http_req *req, struct http_resp *resp);

#endif
