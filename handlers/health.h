/*
 * health.h - operational routes: GET /health, /ready, /metrics, /openapi.json.
 */
#ifndef HEALTH_H
#define HEALTH_H

#include "server/http.h"

void h_health_get(struct http_req *req, struct http_resp *resp);
void h_ready_get(struct http_req *req, struct http_resp *resp);
void h_metrics_get(struct http_req *req, struct http_resp *resp);
void h_openapi_get(struct http_req *req, struct http_resp *resp);

#endif
