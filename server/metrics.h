/*
 * metrics.h - process counters rendered as Prometheus text on GET /metrics.
 * Lock-free (atomics); safe from any thread.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

/* One finished request: route pattern (static string), status, duration. */
void metrics_request(const char *route, int status, int64_t micros);
/* One group commit of `rows` rows taking `micros`; ok=false on failure. */
void metrics_commit(long rows, int64_t micros, int ok);
void metrics_queue_depth(long rows);
/* One profile statement for `lookups` distinct ids (server/profiles.c). */
void metrics_profile_batch(long lookups);
/* Render everything; caller frees. */
char *metrics_render(size_t *len, long in_flight);

#endif
