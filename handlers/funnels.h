/*
 * funnels.h - GET /v1/funnels (steps=a,b,c) and POST /v1/funnels (JSON
 * definition with filters, exclusions, per-step windows). docs/api.md.
 */
#ifndef FUNNELS_H
#define FUNNELS_H

#include "server/http.h"

void h_funnels_get(struct http_req *req, struct http_resp *resp);
void h_funnels_post(struct http_req *req, struct http_resp *resp);

#endif
