/*
 * profiles.h - person profiles (GET /v1/persons/{id}) read in batches.
 *
 * Concurrent requests are coalesced: while a statement is in flight the
 * requests that arrive queue up, and the next statement reads all of them
 * (up to PROFILES_BATCH) at once. Every answer still comes from a read that
 * started after its request arrived, so nothing is cached or stale; what is
 * shared is the round trip, the executor start-up and the wake-ups, which
 * cost more than the handful of index lookups of one profile.
 *
 *     struct profiles *pf = profiles_new(conninfo, 2, 30000);
 *     bool found;
 *     if (profiles_get(pf, project_id, "user-42", render, arg, &found, &err)) ...
 *     profiles_free(pf);
 */
#ifndef PROFILES_H
#define PROFILES_H

#include <stdbool.h>
#include <stdint.h>

#include "server/err.h"

#define PROFILES_BATCH 64

struct profiles;

/* `conns` statements in flight at most, each on a connection of its own
 * (opened lazily; not the query pool, so long analytics queries never make
 * a profile wait for a connection). NULL when out of memory. */
struct profiles *profiles_new(const char *conninfo, int conns, int statement_timeout_ms);
void profiles_free(struct profiles *pf);

/* Called with the profile of distinct_id while its batch's result is held
 * (the row's strings die after it returns). False = out of memory. */
struct sc_profile_row;
typedef bool (*profiles_render)(const struct sc_profile_row *row, void *arg);

/* Read the profile of distinct_id in project_id and hand it to render.
 * *found false (render not called) when the id is unknown. False with err
 * set when the database failed or render did. */
bool profiles_get(struct profiles *pf, int64_t project_id, const char *distinct_id,
		  profiles_render render, void *arg, bool *found, struct app_err *err);

#endif
