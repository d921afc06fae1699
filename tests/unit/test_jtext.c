/*
 * test_jtext.c - server/jtext.h writes what Jansson would: every case is
 * compared with json_dumps of the same value (the dump server/http.c uses),
 * an independent implementation, plus hand-written expectations.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "server/jtext.h"

#define FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY)

static void expect_dump(json_t *v, const char *got)
{
	char *want = json_dumps(v, FLAGS);

	assert_non_null(want);
	assert_string_equal(got, want);
	free(want);
	json_decref(v);
}

/* PostgreSQL float8 output (shortest round trip) -> as Jansson prints it. */
static void test_real(void **state)
{
	static const char *const in[] = { "0.25", "1234.5", "3", "0.1", "1e-05", "1.5e+20", "-2",
					  "123456789012345678", "0.30000000000000004",
					  "2.2250738585072014e-308", "-0", "7.5e-07", "1e+100" };
	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct jtext t = { 0 };
		jtext_real(&t, in[i]);
		assert_false(t.failed);
		expect_dump(json_real(strtod(in[i], NULL)), t.p);
		jtext_free(&t);
	}
	struct jtext t = { 0 };
	jtext_real(&t, NULL);
	jtext_raw(&t, ",");
	jtext_real(&t, "NaN");
	jtext_raw(&t, ",");
	jtext_real(&t, "Infinity");
	assert_string_equal(t.p, "null,null,null");
	jtext_free(&t);
}

static void test_str(void **state)
{
	static const char *const in[] = { "", "plain", "q\"uo", "back\\slash", "tab\there",
					  "nl\ncr\r", "bell\x07 esc\x1b", "slash/ok",
					  "\xe9\x87\x8d\xe8\xa6\x81\xe4\xbb\xb7\xe5\x80\xbc", "\x7f" };
	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct jtext t = { 0 };
		jtext_str(&t, in[i]);
		assert_false(t.failed);
		expect_dump(json_string(in[i]), t.p);
		jtext_free(&t);
	}
	struct jtext t = { 0 };
	jtext_str(&t, NULL);
	assert_string_equal(t.p, "null");
	jtext_free(&t);
}

/* jsonb/json text as PostgreSQL prints it -> compact, as Jansson re-dumps it. */
static void test_json(void **state)
{
	static const char *const in[] = {
		"{\"plan\": \"pro\", \"color\": \"red\", \"seats\": 3}",
		"[\"u1\", \"anon 2\", \"q\\\"uo\", \"back\\\\slash\"]",
		"{\"a b\": {\"c\": [1, 2.5, null, true, false]}, \"d\": \"x : y , z\"}",
		"[]", "{}", "[1,2]", "{\"esc\": \"\\\\\\\" \\n\"}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct jtext t = { 0 };
		json_t *v = json_loads(in[i], JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		jtext_json(&t, in[i]);
		assert_false(t.failed);
		expect_dump(v, t.p);
		jtext_free(&t);
	}
}

/* Many small writes past the first allocation stay intact. */
static void test_grow(void **state)
{
	struct jtext t = { 0 };
	(void)state;
	jtext_raw(&t, "[");
	for (int i = 0; i < 5000; i++) {
		jtext_raw(&t, i ? "," : "");
		jtext_num(&t, "12345");
	}
	jtext_raw(&t, "]");
	assert_false(t.failed);
	assert_int_equal(t.n, 2 + 5000 * 5 + 4999);
	assert_int_equal(strlen(t.p), t.n);
	json_t *v = json_loads(t.p, 0, NULL);
	assert_int_equal(json_array_size(v), 5000);
	json_decref(v);
	jtext_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real),
		cmocka_unit_test(test_str),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_grow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
