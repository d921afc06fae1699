#include "server/routes.h"

#include "handlers/health.h"
#include "handlers/ingest.h"

/* method, pattern, auth, JSON body required, batch-size body limit, handler */
const struct http_route routes[] = {
	{ "GET", "/health", HTTP_AUTH_NONE, false, false, h_health_get },
	{ "GET", "/ready", HTTP_AUTH_NONE, false, false, h_ready_get },
	{ "GET", "/metrics", HTTP_AUTH_NONE, false, false, h_metrics_get },
	{ "GET", "/openapi.json", HTTP_AUTH_NONE, false, false, h_openapi_get },

	{ "POST", "/v1/track", HTTP_AUTH_WRITE, true, false, h_ingest_track },
	{ "POST", "/v1/identify", HTTP_AUTH_WRITE, true, false, h_ingest_identify },
	{ "POST", "/v1/page", HTTP_AUTH_WRITE, true, false, h_ingest_page },
	{ "POST", "/v1/screen", HTTP_AUTH_WRITE, true, false, h_ingest_screen },
	{ "POST", "/v1/group", HTTP_AUTH_WRITE, true, false, h_ingest_group },
	{ "POST", "/v1/alias", HTTP_AUTH_WRITE, true, false, h_ingest_alias },
	{ "POST", "/v1/batch", HTTP_AUTH_WRITE, true, true, h_ingest_batch },
	{ NULL, NULL, HTTP_AUTH_NONE, false, false, NULL },
};
