/*
 * metrics_api.h - GET /v1/metrics: the key operating metrics per local day,
 * week or month (DAU/WAU/MAU, stickiness, new and returning persons, paid
 * conversion, repurchase rate, GMV, net revenue, orders, AOV, ARPU, ARPPU)
 * and d1/d3/d7/d30 retention. Every definition: docs/api.md "Analytics".
 * (Not to be confused with the Prometheus /metrics of handlers/health.c.)
 */
#ifndef HANDLERS_METRICS_API_H
#define HANDLERS_METRICS_API_H

#include "server/http.h"

void h_metrics_api_get(struct http_req *req, struct http_resp *resp);

#endif
