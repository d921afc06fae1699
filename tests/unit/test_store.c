/*
 * test_store.c - the in-memory store adds each event once, whichever path
 * (initial load, writer, poll) brings it and in whatever order they race.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/db_events.h"
#include "server/store.h"

#define SEC 1000000LL

/* The sync thread is not started here; store_free still calls this. */
void store_stop(struct store *s)
{
	(void)s;
}

/* db_events.c's, without its database half. */
void db_seq_rows_free(struct db_seq_rows *r)
{
	free(r->person_off);
	free(r->person_id);
	free(r->ts);
	free(r->mask);
	free(r->excl_mask);
	free(r->value);
	memset(r, 0, sizeof(*r));
}

static void add_one(struct store *s, int64_t person, const char *event, int64_t ts, int64_t recv,
		    const char *msg)
{
	struct store_row r = { .project_id = 1, .person_id = person, .ts_us = ts, .recv_us = recv,
			       .event = event, .message_id = msg };
	store_add(s, &r, 1);
}

static void add_range(struct store *s, int from, int to, int64_t recv, const char *prefix)
{
	char ids[64][32];
	struct store_row rows[64];
	int n = 0;

	for (int i = from; i < to; i++) {
		snprintf(ids[n], sizeof(ids[n]), "%s-%d", prefix, i);
		rows[n] = (struct store_row){ .project_id = 1, .person_id = 100 + i % 7,
					      .ts_us = (int64_t)i * SEC, .recv_us = recv,
					      .event = i % 2 ? "A" : "B", .message_id = ids[n] };
		if (++n == 64 || i + 1 == to) {
			store_add(s, rows, (size_t)n);
			n = 0;
		}
	}
}

static void test_same_rows_twice_count_once(void **state)
{
	struct store *s = store_new(1000, 15);
	(void)state;

	add_range(s, 0, 50, 1000 * SEC, "m");
	add_range(s, 0, 50, 1000 * SEC, "m");
	assert_int_equal(store_events(s), 50);
	add_range(s, 50, 60, 1001 * SEC, "m");
	assert_int_equal(store_events(s), 60);
	store_free(s);
}

/* The CI failure of session 1: a poll takes `since`, the writer appends a
 * row received much later (hwm jumps), then the poll's old rows arrive.
 * They were held already and must not be added again. */
static void test_poll_racing_writer_adds_nothing_twice(void **state)
{
	struct store *s = store_new(100000, 1);
	int64_t since;
	(void)state;

	add_range(s, 0, 500, 1000 * SEC, "gen");          /* initial load */
	since = store_poll_since(s);
	assert_true(since <= 1000 * SEC);
	add_range(s, 0, 2, 1100 * SEC, "late");           /* writer, 100 s later */
	add_range(s, 0, 500, 1000 * SEC, "gen");          /* the poll's rows */
	assert_int_equal(store_events(s), 502);
	/* The next poll starts after the late rows; the old keys may go. */
	since = store_poll_since(s);
	assert_true(since > 1000 * SEC);
	add_range(s, 0, 2, 1100 * SEC, "late");
	assert_int_equal(store_events(s), 502);
	store_free(s);
}

/* Over budget the store gives up rather than answer from a partial copy. */
static void test_over_budget_turns_off(void **state)
{
	struct store *s = store_new(10, 15);
	(void)state;

	add_range(s, 0, 20, 1000 * SEC, "m");
	assert_false(store_ready(s));
	store_free(s);
}

/* Events of several names come back per person in the tie order of
 * docs/semantics-analytics.md: ts, then received_at, then arrival (the load
 * adds rows in message_id order) - although each name keeps its own columns. */
static void test_sequence_tie_order(void **state)
{
	struct store *s = store_new(1000, 15);
	const char *steps[] = { "A", "B" };
	struct store_query q = { .project_id = 1, .from_us = 0, .until_us = 1000 * SEC,
				 .steps = steps, .n_steps = 2 };
	struct db_seq_rows r;
	(void)state;

	/* A is seen first, so its columns come first: only the arrival number
	 * can put m1 (B) before m2 (A). */
	add_one(s, 8, "A", 2 * SEC, 100, "m0");
	add_one(s, 7, "B", 5 * SEC, 100, "m1");  /* same ts and recv: arrival decides */
	add_one(s, 7, "A", 5 * SEC, 100, "m2");
	add_one(s, 7, "A", 5 * SEC, 50, "m3");   /* same ts, earlier recv: first */
	add_one(s, 7, "B", 1 * SEC, 900, "m4");  /* earliest ts */
	add_one(s, 7, "C", 3 * SEC, 100, "m6");  /* not selected */
	add_one(s, 7, "A", 2000 * SEC, 100, "m7"); /* out of range */
	store_mark_loaded(s);
	assert_true(store_seq(s, &q, &r));
	assert_int_equal(r.n_persons, 2);
	assert_int_equal(r.n_events, 5);
	for (size_t p = 0; p < r.n_persons; p++) {
		int64_t b = r.person_off[p], e = r.person_off[p + 1];
		if (r.person_id[p] == 8) {
			assert_int_equal(e - b, 1);
			continue;
		}
		assert_int_equal(r.person_id[p], 7);
		assert_int_equal(e - b, 4);
		/* m4 (B@1), m3 (A@5, recv 50), m1 (B@5, recv 100, first to arrive), m2 (A@5) */
		assert_int_equal(r.ts[b], 1 * SEC);
		assert_int_equal(r.mask[b], 2u);
		assert_int_equal(r.mask[b + 1], 1u);
		assert_int_equal(r.mask[b + 2], 2u);
		assert_int_equal(r.mask[b + 3], 1u);
	}
	db_seq_rows_free(&r);
	store_free(s);
}

/* Activity bitmaps: a bit per (person, day) and the prior/later flags. */
static void test_activity_bits(void **state)
{
	struct store *s = store_new(1000, 15);
	const int64_t day = 86400 * SEC, bounds[4] = { 10 * day, 11 * day, 12 * day, 13 * day };
	const char *sel[] = { "$any", "B" };
	struct store_act_query q = { .project_id = 1, .bounds = bounds, .n_buckets = 3, .sel = sel,
				     .n_sel = 2, .need_prior = true, .need_later = true };
	struct store_act_rows r;
	(void)state;

	add_one(s, 7, "A", 10 * day, 1, "a");          /* day 0 */
	add_one(s, 7, "B", 12 * day + 5, 1, "b");      /* day 2, selector 1 too */
	add_one(s, 7, "A", 9 * day, 1, "c");           /* before: prior */
	add_one(s, 8, "A", 13 * day, 1, "d");          /* at the end: later only */
	add_one(s, 9, "B", 11 * day - 1, 1, "e");      /* last microsecond of day 0 */
	store_mark_loaded(s);
	assert_true(store_act(s, &q, &r));
	assert_int_equal(r.n_persons, 2);              /* person 8 has no day in range */
	assert_int_equal(r.n_words, 1);
	for (size_t i = 0; i < r.n_persons; i++) {
		const uint64_t *row = r.bits + i * 2;
		if (r.person_id[i] == 7) {
			assert_int_equal(row[0], 0x5);         /* any: days 0 and 2 */
			assert_int_equal(row[1], 0x4);         /* B: day 2 */
			assert_int_equal(r.flags[i], 0x1);     /* prior any, no B before */
		} else {
			assert_int_equal(r.person_id[i], 9);
			assert_int_equal(row[0], 0x1);
			assert_int_equal(row[1], 0x1);
			assert_int_equal(r.flags[i], 0);
		}
	}
	store_act_rows_free(&r);
	store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_rows_twice_count_once),
		cmocka_unit_test(test_poll_racing_writer_adds_nothing_twice),
		cmocka_unit_test(test_over_budget_turns_off),
		cmocka_unit_test(test_sequence_tie_order),
		cmocka_unit_test(test_activity_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
