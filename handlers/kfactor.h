/*
 * kfactor.h - GET /v1/kfactor: viral coefficient of the persons who signed
 * up in the range, invites per person, invite conversion, cycle time and
 * the top referrers (docs/api.md "Analytics", docs/segments.md §6).
 */
#ifndef HANDLERS_KFACTOR_H
#define HANDLERS_KFACTOR_H

#include "server/http.h"

void h_kfactor_get(struct http_req *req, struct http_resp *resp);

#endif
