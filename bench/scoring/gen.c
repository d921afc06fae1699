/*
 * gen.c - synthetic data for bench/scoring, as COPY text on stdout.
 *
 *   gen persons|identities|events|orders N_PERSONS N_ORDERS NOW_EPOCH [SEED]
 *
 * Deterministic for a seed. Project 1, person ids 1..N, distinct id "u<id>".
 *   persons    first_seen uniform over the last 800 days, last_seen after it
 *   events     a page view at first_seen for everyone, and a "Product Added"
 *              at last_seen for every other person (1.5 events per person)
 *   orders     N_ORDERS over the persons with a skewed choice (person =
 *              1 + N * u^2: a few heavy buyers, a long tail), ts uniform over
 *              the last 730 days, amount 1.00-500.00 USD; 90 % paid, 5 %
 *              refunded, 3 % partially refunded (half), 2 % pending
 * Column lists are printed by run.sh next to each COPY.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_state;

/* splitmix64 (Steele, Lea & Flood 2014): fast, good enough for test data. */
static uint64_t next_u64(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double uniform(void)
{
	return (double)(next_u64() >> 11) * (1.0 / 9007199254740992.0);
}

static void ts(char *buf, size_t cap, int64_t epoch)
{
	time_t t = (time_t)epoch;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M:%S+00", &tm);
}

/* first_seen and last_seen of person p (recomputed from the seed per person). */
static void person_times(long p, int64_t now, int64_t *first, int64_t *last)
{
	uint64_t save = rng_state;

	rng_state = 0x5eed0000ULL + (uint64_t)p * 7919;
	*first = now - (int64_t)(uniform() * 800 * 86400);
	*last = *first + (int64_t)(uniform() * (double)(now - *first));
	rng_state = save;
}

int main(int argc, char **argv)
{
	long n, m;
	int64_t now, first, last;
	char a[40], b[40];

	if (argc < 5) {
		fprintf(stderr, "usage: gen persons|identities|events|orders N_PERSONS N_ORDERS NOW [SEED]\n");
		return 2;
	}
	n = atol(argv[2]);
	m = atol(argv[3]);
	now = atoll(argv[4]);
	rng_state = argc > 5 ? strtoull(argv[5], NULL, 10) : 42;
	if (strcmp(argv[1], "persons") == 0) {
		for (long p = 1; p <= n; p++) {
			person_times(p, now, &first, &last);
			ts(a, sizeof(a), first);
			ts(b, sizeof(b), last);
			printf("1\t%ld\t%s\t%s\t{\"plan\": \"%s\"}\n", p, a, b, p % 3 ? "free" : "pro");
		}
	} else if (strcmp(argv[1], "identities") == 0) {
		for (long p = 1; p <= n; p++)
			printf("1\tu%ld\t%ld\n", p, p);
	} else if (strcmp(argv[1], "events") == 0) {
		for (long p = 1; p <= n; p++) {
			person_times(p, now, &first, &last);
			ts(a, sizeof(a), first);
			printf("1\t%ld\tp%ld\t3\t$page\tu%ld\t%s\t%s\n", p, p, p, a, a);
			if (p % 2 == 0) {
				ts(b, sizeof(b), last);
				printf("1\t%ld\tt%ld\t1\tProduct Added\tu%ld\t%s\t%s\n", p, p, p, b, b);
			}
		}
	} else if (strcmp(argv[1], "orders") == 0) {
		for (long o = 1; o <= m; o++) {
			double u = uniform(), s = uniform();
			long p = 1 + (long)((double)n * u * u);
			long amount = 100 + (long)(uniform() * 49900);
			const char *state = s < 0.90 ? "paid" : s < 0.95 ? "refunded"
					  : s < 0.98 ? "partially_refunded" : "pending";
			long refunded = s < 0.90 ? 0 : s < 0.95 ? amount : s < 0.98 ? amount / 2 : 0;

			ts(a, sizeof(a), now - (int64_t)(uniform() * 730 * 86400));
			printf("1\t%ld\tapi\to%ld\t%s\tUSD\t%ld\t%ld\t%s\t%s\t{}\n", p > n ? n : p, o, state,
			       amount, refunded, a, a);
		}
	} else {
		fprintf(stderr, "gen: unknown table %s\n", argv[1]);
		return 2;
	}
	return 0;
}
