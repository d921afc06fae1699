#include "server/routes.h"

#include "handlers/channels.h"
#include "handlers/funnels.h"
#include "handlers/health.h"
#include "handlers/ingest.h"
#include "handlers/kfactor.h"
#include "handlers/lifecycle.h"
#include "handlers/ltv.h"
#include "handlers/metrics_api.h"
#include "handlers/order_routes.h"
#include "handlers/retention.h"
#include "handlers/persons.h"
#include "handlers/scores.h"
#include "handlers/segments.h"

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

	{ "GET", "/v1/funnels", HTTP_AUTH_READ, false, false, h_funnels_get },
	{ "POST", "/v1/funnels", HTTP_AUTH_READ, true, false, h_funnels_post },
	{ "GET", "/v1/retention", HTTP_AUTH_READ, false, false, h_retention_get },
	{ "GET", "/v1/lifecycle", HTTP_AUTH_READ, false, false, h_lifecycle_get },
	{ "GET", "/v1/metrics", HTTP_AUTH_READ, false, false, h_metrics_api_get },
	{ "GET", "/v1/channels", HTTP_AUTH_READ, false, false, h_channels_get },
	{ "GET", "/v1/kfactor", HTTP_AUTH_READ, false, false, h_kfactor_get },

	/* Orders (docs/orders.md). Webhooks take ?project=NAME, verify their own
	 * signature, accept any Content-Type (WooCommerce pings with a form
	 * body) and get the batch body limit (large carts exceed 32 KB). */
	{ "POST", "/v1/orders", HTTP_AUTH_WRITE, true, false, h_orders_post },
	{ "GET", "/v1/orders/revenue", HTTP_AUTH_READ, false, false, h_orders_revenue_get },
	{ "GET", "/v1/fx_rates", HTTP_AUTH_READ, false, false, h_fx_rates_get },
	{ "POST", "/v1/fx_rates", HTTP_AUTH_READ, true, false, h_fx_rates_post },
	{ "POST", "/v1/webhooks/shopify", HTTP_AUTH_SIGNED, false, true, h_webhook_shopify },
	{ "POST", "/v1/webhooks/stripe", HTTP_AUTH_SIGNED, false, true, h_webhook_stripe },
	{ "POST", "/v1/webhooks/woocommerce", HTTP_AUTH_SIGNED, false, true, h_webhook_woocommerce },

	/* Segments and scores (docs/scoring.md). A scoring run only derives data
	 * from what is stored, so the read key may start one. */
	{ "GET", "/v1/segments/{kind}", HTTP_AUTH_READ, false, false, h_segments_get },
	{ "GET", "/v1/segments/{kind}/{segment}/persons", HTTP_AUTH_READ, false, false,
	  h_segments_persons_get },
	{ "POST", "/v1/scores/run", HTTP_AUTH_READ, false, false, h_scores_run_post },
	{ "GET", "/v1/scores/runs/{id}", HTTP_AUTH_READ, false, false, h_scores_run_get },
	{ "GET", "/v1/persons/{id}", HTTP_AUTH_READ, false, false, h_persons_get },

	/* Predictive LTV (docs/ltv-api.md). A fit only derives data: read key. */
	{ "POST", "/v1/models/ltv/fit", HTTP_AUTH_READ, true, false, h_ltv_fit_post },
	{ "GET", "/v1/models/runs/{id}", HTTP_AUTH_READ, false, false, h_model_run_get },
	{ "GET", "/v1/ltv", HTTP_AUTH_READ, false, false, h_ltv_get },
	{ "GET", "/v1/ltv/cohorts", HTTP_AUTH_READ, false, false, h_ltv_cohorts_get },
	{ "GET", "/v1/ltv/backtest", HTTP_AUTH_READ, false, false, h_ltv_backtest_get },
	{ "GET", "/v1/growth", HTTP_AUTH_READ, false, false, h_growth_get },
	{ NULL, NULL, HTTP_AUTH_NONE, false, false, NULL },
};
