/*
 * Segment message validation and mapping (handlers/segment.c), called
 * directly without a socket. Expected values are worked out by hand:
 * epoch seconds below were computed with `date -u -d ... +%s`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "handlers/segment.h"

#define S 1000000LL

static void test_parse_time(void **state)
{
	int64_t us;
	(void)state;
	/* date -u -d 2026-11-24T05:22:56Z +%s = 1795497776 */
	assert_true(segment_parse_time("2026-11-24T05:22:56Z", &us));
	assert_int_equal(us, 1795497776LL * S);
	assert_true(segment_parse_time("2026-11-24T05:22:56.123456Z", &us));
	assert_int_equal(us, 1795497776LL * S + 123456);
	assert_true(segment_parse_time("2026-11-24T05:22:56.1Z", &us));
	assert_int_equal(us, 1795497776LL * S + 100000);
	/* +08:00 means the UTC instant is 8 hours earlier */
	assert_true(segment_parse_time("2026-11-24T13:22:56+08:00", &us));
	assert_int_equal(us, 1795497776LL * S);
	assert_true(segment_parse_time("2026-11-24T00:22:56-0500", &us));
	assert_int_equal(us, 1795497776LL * S);
	assert_true(segment_parse_time("2026-11-24 05:22:56", &us));
	assert_int_equal(us, 1795497776LL * S);
	/* 2024-02-29 is a leap day: date -u -d 2024-02-29 +%s = 1709164800 */
	assert_true(segment_parse_time("2024-02-29", &us));
	assert_int_equal(us, 1709164800LL * S);
	assert_true(segment_parse_time("1970-01-01T00:00:00Z", &us));
	assert_int_equal(us, 0);
	assert_false(segment_parse_time("2023-02-29", &us));
	assert_false(segment_parse_time("2026-13-01", &us));
	assert_false(segment_parse_time("2026-11-24T25:00:00Z", &us));
	assert_false(segment_parse_time("yesterday", &us));
	assert_false(segment_parse_time("2026-11-24T05:22:56Zjunk", &us));
	assert_false(segment_parse_time("", &us));
}

static bool parse(const char *json, enum ev_type type, struct ingest_row *row, struct app_err *err)
{
	struct segment_ctx ctx = { .received_us = 1795497776LL * S, .max_message_bytes = 32768 };
	json_error_t jerr;
	json_t *msg = json_loads(json, 0, &jerr);
	bool ok;
	assert_non_null(msg);
	memset(err, 0, sizeof(*err));
	ok = segment_parse_message(msg, type, &ctx, "batch[2]", row, err);
	json_decref(msg);
	return ok;
}

static void test_track_mapping(void **state)
{
	struct ingest_row row;
	struct app_err err;
	(void)state;
	assert_true(parse("{\"userId\":42,\"event\":\"Signed Up\",\"messageId\":\"m1\","
			  "\"properties\":{\"a\":1},\"timestamp\":\"2026-11-24T05:00:00Z\"}",
			  EV_TRACK, &row, &err));
	assert_string_equal(row.user_id, "42"); /* numeric ids become strings */
	assert_null(row.anonymous_id);
	assert_string_equal(row.event, "Signed Up");
	assert_string_equal(row.properties, "{\"a\":1}");
	assert_string_equal(row.context, "{}");
	assert_int_equal(row.ts_us, (1795497776LL - 22 * 60 - 56) * S);
	ingest_row_cleanup(&row);
}

static void test_skew_correction(void **state)
{
	struct ingest_row row;
	struct app_err err;
	(void)state;
	/* client clock 1 h fast: sentAt - timestamp = 5 s, so ts = received - 5 s */
	assert_true(parse("{\"userId\":\"u\",\"event\":\"e\",\"timestamp\":\"2026-11-24T06:22:51Z\","
			  "\"sentAt\":\"2026-11-24T06:22:56Z\"}", EV_TRACK, &row, &err));
	assert_int_equal(row.ts_us, (1795497776LL - 5) * S);
	assert_non_null(row.message_id); /* generated when absent */
	ingest_row_cleanup(&row);
}

static void test_errors_name_fields(void **state)
{
	struct ingest_row row;
	struct app_err err;
	(void)state;
	assert_false(parse("{\"userId\":\"u\"}", EV_TRACK, &row, &err));
	assert_int_equal(err.status, 400);
	assert_string_equal(err.field, "batch[2].event");
	assert_false(parse("{\"event\":\"e\"}", EV_TRACK, &row, &err));
	assert_string_equal(err.field, "batch[2].userId");
	assert_false(parse("{\"userId\":\"u\",\"event\":\"e\",\"context\":7}", EV_TRACK, &row, &err));
	assert_string_equal(err.field, "batch[2].context");
	assert_false(parse("{\"userId\":true,\"event\":\"e\"}", EV_TRACK, &row, &err));
	assert_string_equal(err.field, "batch[2].userId");
	assert_false(parse("{\"userId\":\"u\",\"event\":\"e\",\"timestamp\":\"1969-12-31T23:59:59Z\"}",
			   EV_TRACK, &row, &err));
	assert_string_equal(err.field, "batch[2].timestamp");
	assert_false(parse("{\"userId\":\"u\"}", EV_GROUP, &row, &err));
	assert_string_equal(err.field, "batch[2].groupId");
	assert_false(parse("{\"type\":\"nope\",\"userId\":\"u\"}", 0, &row, &err));
	assert_string_equal(err.field, "batch[2].type");
	assert_false(parse("{\"userId\":\"u\"}", 0, &row, &err));
	assert_string_equal(err.field, "batch[2].type");
}

static void test_identify_traits_from_context(void **state)
{
	struct ingest_row row;
	struct app_err err;
	(void)state;
	/* RudderStack puts traits in context.traits */
	assert_true(parse("{\"anonymousId\":\"a\",\"context\":{\"traits\":{\"plan\":\"x\"}}}", EV_IDENTIFY,
			  &row, &err));
	assert_string_equal(row.event, "$identify");
	assert_string_equal(row.traits, "{\"plan\":\"x\"}");
	ingest_row_cleanup(&row);
}

static void test_alias_and_group(void **state)
{
	struct ingest_row row;
	struct app_err err;
	(void)state;
	assert_true(parse("{\"userId\":\"new\",\"previousId\":\"old\"}", EV_ALIAS, &row, &err));
	assert_string_equal(row.previous_id, "old");
	assert_string_equal(row.properties, "{\"previous_id\":\"old\"}");
	ingest_row_cleanup(&row);
	assert_true(parse("{\"userId\":\"u\",\"groupId\":\"g\",\"traits\":{\"n\":1}}", EV_GROUP, &row, &err));
	assert_string_equal(row.properties, "{\"group_id\":\"g\",\"traits\":{\"n\":1}}");
	ingest_row_cleanup(&row);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_track_mapping),
		cmocka_unit_test(test_skew_correction),
		cmocka_unit_test(test_errors_name_fields),
		cmocka_unit_test(test_identify_traits_from_context),
		cmocka_unit_test(test_alias_and_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
