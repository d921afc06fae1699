/*
 * Identity resolution rules (model/identity.h, docs/identity.md), each case
 * worked out by hand from the rules: which person each message lands on,
 * which ids are new, which persons merge.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "model/identity.h"

static const struct ident_new_id *find_new(const struct ident_result *r, const char *id)
{
	for (int i = 0; i < r->n_new_ids; i++)
		if (strcmp(r->new_ids[i].distinct_id, id) == 0)
			return &r->new_ids[i];
	return NULL;
}

/* Two tracks of an unknown id: one new person, one new identity row. */
static void test_first_sight(void **state)
{
	struct ident_msg m[] = { { "u1", NULL, false }, { "u1", NULL, false } };
	struct ident_result r;
	(void)state;
	assert_true(ident_resolve(m, 2, NULL, 0, &r));
	assert_int_equal(r.n_new_persons, 1);
	assert_int_equal(r.n_new_ids, 1);
	assert_int_equal(r.person_of_msg[0], -1);
	assert_int_equal(r.person_of_msg[1], -1);
	assert_int_equal(r.n_merges, 0);
	ident_result_free(&r);
}

/* Anonymous history, then identify with a never-seen userId: the user joins
 * the anonymous person (known person 7); no merge, no new person. */
static void test_identify_new_user_joins_anonymous(void **state)
{
	struct ident_known k[] = { { "anon-1", 7, 7 } };
	struct ident_msg m[] = { { NULL, "anon-1", false }, { "user-1", "anon-1", true },
				 { "user-1", NULL, false } };
	struct ident_result r;
	(void)state;
	assert_true(ident_resolve(m, 3, k, 1, &r));
	assert_int_equal(r.person_of_msg[0], 7);
	assert_int_equal(r.person_of_msg[1], 7);
	assert_int_equal(r.person_of_msg[2], 7);
	assert_int_equal(r.n_new_persons, 0);
	assert_int_equal(r.n_new_ids, 1);
	assert_non_null(find_new(&r, "user-1"));
	assert_int_equal(find_new(&r, "user-1")->person_id, 7);
	assert_int_equal(r.n_merges, 0);
	ident_result_free(&r);
}

/* A known user logs in on a new device: the new anonymous id joins the user. */
static void test_identify_new_anonymous_joins_user(void **state)
{
	struct ident_known k[] = { { "user-1", 3, 3 } };
	struct ident_msg m[] = { { "user-1", "anon-2", true }, { NULL, "anon-2", false } };
	struct ident_result r;
	(void)state;
	assert_true(ident_resolve(m, 2, k, 1, &r));
	assert_int_equal(r.person_of_msg[1], 3);
	assert_int_equal(find_new(&r, "anon-2")->person_id, 3);
	assert_int_equal(r.n_merges, 0);
	ident_result_free(&r);
}

/* Both ids known as different persons: the anonymous person (9) merges into
 * the user's (4); messages keep their raw persons (9 stays 9). */
static void test_merge_two_known_persons(void **state)
{
	struct ident_known k[] = { { "user-1", 4, 4 }, { "anon-1", 9, 9 } };
	struct ident_msg m[] = { { "user-1", "anon-1", true }, { NULL, "anon-1", false } };
	struct ident_result r;
	(void)state;
	assert_true(ident_resolve(m, 2, k, 2, &r));
	assert_int_equal(r.n_merges, 1);
	assert_int_equal(r.merges[0].old_person, 9);
	assert_int_equal(r.merges[0].person, 4);
	assert_int_equal(r.person_of_msg[0], 4);
	assert_int_equal(r.person_of_msg[1], 9); /* raw person: stable for dedupe */
	assert_int_equal(r.n_new_ids, 0);
	ident_result_free(&r);
}

/* Already merged (effective persons equal): identify again is a no-op. */
static void test_no_remerge(void **state)
{
	struct ident_known k[] = { { "user-1", 4, 4 }, { "anon-1", 9, 4 } };
	struct ident_msg m[] = { { "user-1", "anon-1", true } };
	struct ident_result r;
	(void)state;
	assert_true(ident_resolve(m, 1, k, 2, &r));
	assert_int_equal(r.n_merges, 0);
	ident_result_free(&r);
}

/* Chain inside one group: A(anon) and B(user) and C(user) new; identify(B,A)
 * links A into B's new person; alias(C, previous B) with C known-new merges
 * nothing... here C is new so C joins B. Then identify(D,A) with D known (5)
 * merges the A/B person into 5. */
static void test_chain_in_one_group(void **state)
{
	struct ident_known k[] = { { "D", 5, 5 } };
	struct ident_msg m[] = {
		{ NULL, "A", false },   /* new person -1 */
		{ "B", "A", true },     /* B joins -1 */
		{ "C", "B", true },     /* alias: C joins -1 */
		{ "D", "A", true },     /* D=5 and A=-1 known: -1 merges into 5 */
		{ "C", NULL, false },   /* raw person of C stays -1 */
	};
	struct ident_result r;
	int64_t renum[] = { 100 };
	(void)state;
	assert_true(ident_resolve(m, 5, k, 1, &r));
	assert_int_equal(r.n_new_persons, 1);
	assert_int_equal(r.n_new_ids, 3); /* A, B, C */
	assert_int_equal(r.n_merges, 1);
	assert_int_equal(r.merges[0].old_person, -1);
	assert_int_equal(r.merges[0].person, 5);
	ident_renumber(&r, renum);
	assert_int_equal(r.person_of_msg[0], 100);
	assert_int_equal(r.person_of_msg[3], 5);
	assert_int_equal(r.person_of_msg[4], 100);
	assert_int_equal(r.merges[0].old_person, 100);
	assert_int_equal(find_new(&r, "C")->person_id, 100);
	ident_result_free(&r);
}

/* Merge of an already-merged target: X(2)->Y(3) exists; identify(Z=1, X)
 * must merge Y (X's effective person), not X. */
static void test_merge_uses_effective_person(void **state)
{
	struct ident_known k[] = { { "Z", 1, 1 }, { "X", 2, 3 } };
	struct ident_msg m[] = { { "Z", "X", true } };
	struct ident_result r;
	(void)state;
	assert_true(ident_resolve(m, 1, k, 2, &r));
	assert_int_equal(r.n_merges, 1);
	assert_int_equal(r.merges[0].old_person, 3);
	assert_int_equal(r.merges[0].person, 1);
	ident_result_free(&r);
}

/* A track carrying both ids does not link them (only identify/alias do). */
static void test_track_does_not_link(void **state)
{
	struct ident_msg m[] = { { "u", "a", false }, { NULL, "a", false } };
	struct ident_result r;
	(void)state;
	assert_true(ident_resolve(m, 2, NULL, 0, &r));
	assert_int_equal(r.n_new_persons, 2);
	assert_true(r.person_of_msg[0] != r.person_of_msg[1]);
	ident_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_sight),
		cmocka_unit_test(test_identify_new_user_joins_anonymous),
		cmocka_unit_test(test_identify_new_anonymous_joins_user),
		cmocka_unit_test(test_merge_two_known_persons),
		cmocka_unit_test(test_no_remerge),
		cmocka_unit_test(test_chain_in_one_group),
		cmocka_unit_test(test_merge_uses_effective_person),
		cmocka_unit_test(test_track_does_not_link),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
