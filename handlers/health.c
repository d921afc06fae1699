#include "handlers/health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/app.h"
#include "server/db.h"
#include "server/metrics.h"
#include "server/store.h"

/* Embedded from docs/openapi.json at build time. */
extern const char openapi_json[];

void h_health_get(struct http_req *req, struct http_resp *resp)
{
	(void)req;
	resp->json = json_pack("{s:s}", "status", "ok");
}

void h_ready_get(struct http_req *req, struct http_resp *resp)
{
	struct app_err err = { 0 };

	if (!db_pool_ready(req->app->pool, &err)) {
		http_resp_error(resp, &err);
		return;
	}
	resp->json = json_pack("{s:s, s:b}", "status", "ready", "migrations_applied", 1);
}

void h_metrics_get(struct http_req *req, struct http_resp *resp)
{
	char line[160];
	int n;

	resp->text = metrics_render(&resp->text_len, http_in_flight(req->app->http));
	resp->content_type = "text/plain; version=0.0.4";
	if (resp->text && req->app->store) {
		n = snprintf(line, sizeof(line),
			     "# TYPE cohortd_store_events gauge\ncohortd_store_events %lld\n"
			     "cohortd_store_ready %d\n", (long long)store_events(req->app->store),
			     store_ready(req->app->store) ? 1 : 0);
		char *t = realloc(resp->text, resp->text_len + (size_t)n + 1);
		if (t) {
			memcpy(t + resp->text_len, line, (size_t)n + 1);
			resp->text = t;
			resp->text_len += (size_t)n;
		}
	}
	if (!resp->text) {
		struct app_err err;
		err_set(&err, 500, "internal", NULL, "out of memory");
		http_resp_error(resp, &err);
	}
}

void h_openapi_get(struct http_req *req, struct http_resp *resp)
{
	(void)req;
	resp->text = strdup(openapi_json);
	resp->text_len = resp->text ? strlen(resp->text) : 0;
	resp->content_type = "application/json";
}
