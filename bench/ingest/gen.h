/*
 * gen.h - the synthetic event generator shared by loadgen.c and copyload.c,
 * so the HTTP load and the COPY baseline write the same kind of rows.
 *
 * Deterministic: the content of an event depends only on (seed, a, b, c)
 * (loadgen: connection, request, index in batch; copyload: row number), never
 * on timing, so a retried request resends identical events and two runs with
 * the same seed produce the same rows.
 *
 * Distributions:
 *   userId     "u<N>", N log-uniform over [0, users): P(N) ~ 1/(N+1), a Zipf(1)
 *              heavy tail (with 100,000 users, u0 gets ~6% of the events,
 *              the top 1% of users ~60%).
 *   event      one of 20 names, also log-uniform (Page Viewed most frequent).
 *   properties 4 small keys: plan, price (integer cents), path, ref (~70 bytes).
 *   timestamp  2026-01-01T00:00:00Z + uniform [0, 180 days), millisecond.
 *   context    {"library":{"name":"cohortd-loadgen","version":"1"}} on all.
 *
 * Header-only (static inline) because the Makefile builds each tool from a
 * single .c file.
 */
#ifndef BENCH_INGEST_GEN_H
#define BENCH_INGEST_GEN_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define GEN_CONTEXT "{\"library\":{\"name\":\"cohortd-loadgen\",\"version\":\"1\"}}"
#define GEN_BASE_EPOCH 1767225600LL          /* 2026-01-01T00:00:00Z */
#define GEN_SPAN_MS (180LL * 86400 * 1000)   /* timestamps spread over 180 days */

static const char *const gen_event_names[20] = {
	"Page Viewed",       "Product Viewed",   "Product Added",     "App Opened",
	"Search",            "Cart Viewed",      "Button Clicked",    "Logged In",
	"Checkout Started",  "Order Completed",  "Signed Up",         "Video Played",
	"Share",             "Form Submitted",   "Notification Opened", "Invite Sent",
	"Invite Accepted",   "Subscription Started", "Feedback Given", "Subscription Cancelled",
};

static const char *const gen_plans[3] = { "free", "pro", "team" };
static const char *const gen_refs[5] = { "direct", "google", "newsletter", "invite", "ads" };

/* splitmix64: a tiny, good 64-bit mixer/generator. */
static inline uint64_t gen_mix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline double gen_unit(uint64_t *state)
{
	return (double)(gen_mix(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* Log-uniform integer in [0, n): P(k) proportional to log((k+2)/(k+1)). */
static inline long gen_loguniform(uint64_t *state, long n)
{
	double u = gen_unit(state);
	long k = (long)floor(exp(u * log((double)n + 1.0))) - 1;
	if (k < 0)
		k = 0;
	if (k >= n)
		k = n - 1;
	return k;
}

struct gen_event {
	char user_id[24];
	const char *event;
	char properties[160];
	int64_t ts_ms; /* milliseconds since the Unix epoch */
};

static inline void gen_event_make(struct gen_event *e, uint64_t seed, uint64_t a, uint64_t b,
				  uint64_t c, long users)
{
	uint64_t st = seed * 0xd1342543de82ef95ULL;
	st ^= gen_mix(&st) + a * 0x9e3779b97f4a7c15ULL;
	st ^= gen_mix(&st) + b * 0xc2b2ae3d27d4eb4fULL;
	st ^= gen_mix(&st) + c * 0x165667b19e3779f9ULL;
	gen_mix(&st);

	snprintf(e->user_id, sizeof(e->user_id), "u%ld", gen_loguniform(&st, users > 0 ? users : 1));
	e->event = gen_event_names[gen_loguniform(&st, 20)];
	{
		const char *plan = gen_plans[gen_mix(&st) % 3];
		long price = (long)(gen_mix(&st) % 10000);
		long path = (long)(gen_mix(&st) % 1000);
		const char *ref = gen_refs[gen_mix(&st) % 5];
		snprintf(e->properties, sizeof(e->properties),
			 "{\"plan\":\"%s\",\"price\":%ld,\"path\":\"/p/%ld\",\"ref\":\"%s\"}", plan, price,
			 path, ref);
	}
	e->ts_ms = GEN_BASE_EPOCH * 1000 + (int64_t)(gen_mix(&st) % (uint64_t)GEN_SPAN_MS);
}

/* sep 'T' and zone "Z": ISO 8601 for JSON; sep ' ' and zone "+00": PostgreSQL text. */
static inline void gen_format_ts(int64_t ms, char sep, const char *zone, char out[80])
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(out, 80, "%04d-%02d-%02d%c%02d:%02d:%02d.%03d%s", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, sep, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000), zone);
}

/* FNV-1a, masked positive: the person_id copyload derives from a userId. */
static inline int64_t gen_person_of(const char *user_id)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = (const unsigned char *)user_id; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return (int64_t)(h & 0x3fffffffffffffffULL) | 1;
}

#endif
