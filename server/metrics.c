#include "server/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Requests are counted per status class; per-route detail is kept for the
 * few routes that matter operationally by hashing into a small table. */
#define METRICS_ROUTES 64

struct route_stat {
	_Atomic(const char *) route;
	atomic_long by_class[6]; /* index status/100 */
	atomic_llong micros;
};

static struct route_stat routes[METRICS_ROUTES];
static atomic_long commits, commit_failures, committed_rows, queue_depth;
static atomic_llong commit_micros;
static atomic_long profile_batches, profile_lookups;

static struct route_stat *slot(const char *route)
{
	size_t h = 5381;
	for (const char *p = route; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (size_t i = 0; i < METRICS_ROUTES; i++) {
		struct route_stat *s = &routes[(h + i) % METRICS_ROUTES];
		const char *cur = atomic_load(&s->route);
		if (cur == route || (cur && strcmp(cur, route) == 0))
			return s;
		if (!cur) {
			const char *expected = NULL;
			if (atomic_compare_exchange_strong(&s->route, &expected, route) ||
			    strcmp(expected, route) == 0)
				return s;
		}
	}
	return NULL;
}

void metrics_request(const char *route, int status, int64_t micros)
{
	struct route_stat *s = slot(route);
	int cls = status / 100;

	if (!s || cls < 1 || cls > 5)
		return;
	atomic_fetch_add(&s->by_class[cls], 1);
	atomic_fetch_add(&s->micros, micros);
}

void metrics_commit(long rows, int64_t micros, int ok)
{
	if (ok) {
		atomic_fetch_add(&commits, 1);
		atomic_fetch_add(&committed_rows, rows);
	} else
		atomic_fetch_add(&commit_failures, 1);
	atomic_fetch_add(&commit_micros, micros);
}

void metrics_profile_batch(long lookups)
{
	atomic_fetch_add(&profile_batches, 1);
	atomic_fetch_add(&profile_lookups, lookups);
}

void metrics_queue_depth(long rows)
{
	atomic_store(&queue_depth, rows);
}

char *metrics_render(size_t *len, long in_flight)
{
	size_t cap = 16384, n = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
#define EMIT(...) do { int k = snprintf(out + n, cap - n, __VA_ARGS__); \
		if (k > 0 && (size_t)k < cap - n) n += (size_t)k; } while (0)
	EMIT("# TYPE cohortd_http_requests_total counter\n");
	for (size_t i = 0; i < METRICS_ROUTES; i++) {
		const char *r = atomic_load(&routes[i].route);
		if (!r)
			continue;
		for (int c = 1; c <= 5; c++) {
			long v = atomic_load(&routes[i].by_class[c]);
			if (v)
				EMIT("cohortd_http_requests_total{route=\"%s\",code=\"%dxx\"} %ld\n", r, c, v);
		}
		EMIT("cohortd_http_request_seconds_sum{route=\"%s\"} %.6f\n", r,
		     (double)atomic_load(&routes[i].micros) / 1e6);
	}
	EMIT("# TYPE cohortd_http_in_flight gauge\ncohortd_http_in_flight %ld\n", in_flight);
	EMIT("# TYPE cohortd_writer_commits_total counter\ncohortd_writer_commits_total %ld\n",
	     atomic_load(&commits));
	EMIT("# TYPE cohortd_writer_commit_failures_total counter\n"
	     "cohortd_writer_commit_failures_total %ld\n", atomic_load(&commit_failures));
	EMIT("# TYPE cohortd_writer_rows_total counter\ncohortd_writer_rows_total %ld\n",
	     atomic_load(&committed_rows));
	EMIT("# TYPE cohortd_writer_commit_seconds_sum counter\n"
	     "cohortd_writer_commit_seconds_sum %.6f\n", (double)atomic_load(&commit_micros) / 1e6);
	EMIT("# TYPE cohortd_writer_queue_rows gauge\ncohortd_writer_queue_rows %ld\n",
	     atomic_load(&queue_depth));
	EMIT("# TYPE cohortd_profile_batches_total counter\ncohortd_profile_batches_total %ld\n",
	     atomic_load(&profile_batches));
	EMIT("# TYPE cohortd_profile_lookups_total counter\ncohortd_profile_lookups_total %ld\n",
	     atomic_load(&profile_lookups));
#undef EMIT
	*len = n;
	return out;
}
