/*
 * persons.h - GET /v1/persons/{id} (read key).
 *
 * {id} is a distinct id (a userId or anonymousId, URL-encoded). The answer
 * is the stitched person: person_id, distinct_ids, merged_person_ids,
 * first_seen, last_seen, traits (merged over the raw persons, the most
 * recently active winning a key) and the scores of the current generation
 * (null before the first scoring run), with labels next to the codes.
 * 404 when no person has that id.
 */
#ifndef HANDLERS_PERSONS_H
#define HANDLERS_PERSONS_H

#include "server/http.h"

void h_persons_get(struct http_req *req, struct http_resp *resp);

#endif
