/*
 * segments.h - segment sizes and segment member lists (read key).
 *
 *   GET /v1/segments/{kind}                    kind: rfm | lifecycle | pyramid | aarrr | aipl
 *       scheme=rfm11|rfm8, split=mean|median (rfm8), as_of=YYYY-MM-DD,
 *       lookback=365d, from/to (aarrr window; aipl: from = deepening start),
 *       fresh=true
 *   GET /v1/segments/{kind}/{segment}/persons  limit (1..1000), cursor, format=json|csv,
 *       scheme (rfm)
 *
 * Sizes come from the current stored generation when the request's
 * parameters are the ones it was computed with, else (or with fresh=true)
 * they are computed live; "source" says which. Lists always read a stored
 * generation, pinned by the cursor. Rules and shapes: docs/scoring.md.
 */
#ifndef HANDLERS_SEGMENTS_H
#define HANDLERS_SEGMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/http.h"

void h_segments_get(struct http_req *req, struct http_resp *resp);
void h_segments_persons_get(struct http_req *req, struct http_resp *resp);

/* Opaque list cursor: base64url of "s1.<run_id>.<person_id>". */
void segments_cursor_encode(int64_t run_id, int64_t person_id, char *out, size_t cap);
bool segments_cursor_decode(const char *s, int64_t *run_id, int64_t *person_id);

#endif
