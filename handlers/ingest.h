/*
 * ingest.h - POST /v1/{track,identify,page,screen,group,alias,batch}.
 *
 * Parse (Jansson, duplicate keys rejected), authenticate a body writeKey when
 * no Authorization header was sent, validate every message (segment.h), and
 * hand all rows to the writer as one job: the answer is sent only after the
 * commit, and a batch is all-or-nothing.
 */
#ifndef INGEST_H
#define INGEST_H

#include "server/http.h"

void h_ingest_track(struct http_req *req, struct http_resp *resp);
void h_ingest_identify(struct http_req *req, struct http_resp *resp);
void h_ingest_page(struct http_req *req, struct http_resp *resp);
void h_ingest_screen(struct http_req *req, struct http_resp *resp);
void h_ingest_group(struct http_req *req, struct http_resp *resp);
void h_ingest_alias(struct http_req *req, struct http_resp *resp);
void h_ingest_batch(struct http_req *req, struct http_resp *resp);

/* Shared by every JSON route: parse the body or fill a 400 naming line/column. */
json_t *ingest_parse_body(const struct http_req *req, struct app_err *err);

#endif
