/*
 * order_routes.h - the HTTP side of orders: the generic orders API, the
 * three webhook receivers, FX rates and the revenue summary. Parsing and
 * signature rules live in handlers/orders.h and handlers/webhooks.h; SQL in
 * server/db_orders.h. Every 2xx is sent after the order change committed.
 *
 *   POST /v1/orders                   write key   one generic order
 *   POST /v1/webhooks/shopify         signed      ?project=NAME (default "default")
 *   POST /v1/webhooks/stripe          signed      ?project=NAME
 *   POST /v1/webhooks/woocommerce     signed      ?project=NAME; unsigned ping answered 200
 *   GET  /v1/orders/revenue           read key    ?from=&to=
 *   GET  /v1/fx_rates                 read key
 *   POST /v1/fx_rates                 read key    (the server-side key; write keys are
 *                                                  public in browsers and apps)
 */
#ifndef ORDER_ROUTES_H
#define ORDER_ROUTES_H

#include <stdbool.h>

#include "server/http.h"
#include "server/order_row.h"

void h_orders_post(struct http_req *req, struct http_resp *resp);
void h_orders_revenue_get(struct http_req *req, struct http_resp *resp);
void h_fx_rates_get(struct http_req *req, struct http_resp *resp);
void h_fx_rates_post(struct http_req *req, struct http_resp *resp);
void h_webhook_shopify(struct http_req *req, struct http_resp *resp);
void h_webhook_stripe(struct http_req *req, struct http_resp *resp);
void h_webhook_woocommerce(struct http_req *req, struct http_resp *resp);

/* Store orders of an authenticated request in one transaction on the
 * primary pool (used by /v1/batch when it holds orders but no events). */
bool orders_commit(struct http_req *req, const struct order_row *rows, int n,
		   struct app_err *err) MUST_CHECK;

#endif
