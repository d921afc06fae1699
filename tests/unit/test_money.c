/*
 * model/money: exponents, exact decimal parsing, rescaling, formatting.
 * Expected values are worked out by hand from the ISO 4217 table (list one)
 * and Stripe's currency page (zero-decimal list, ISK special case).
 * Run from the repository root (make unit does): the SQL copy of the
 * exponent table is read from migrations/0003_orders.sql.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/money.h"

static void test_exponents(void **state)
{
	char code[4];
	(void)state;
	assert_int_equal(money_exponent("USD"), 2);
	assert_int_equal(money_exponent("EUR"), 2);
	assert_int_equal(money_exponent("JPY"), 0);
	assert_int_equal(money_exponent("KRW"), 0);
	assert_int_equal(money_exponent("KWD"), 3);
	assert_int_equal(money_exponent("BHD"), 3);
	assert_int_equal(money_exponent("CLF"), 4);
	assert_int_equal(money_exponent("ISK"), 0);
	/* No minor unit in ISO 4217 (gold, SDR, test, none): unknown on purpose. */
	assert_int_equal(money_exponent("XAU"), -1);
	assert_int_equal(money_exponent("XDR"), -1);
	assert_int_equal(money_exponent("XTS"), -1);
	assert_int_equal(money_exponent("usd"), -1);
	assert_int_equal(money_exponent("US"), -1);
	assert_int_equal(money_exponent("USDX"), -1);
	assert_int_equal(money_exponent(""), -1);
	assert_int_equal(money_exponent(NULL), -1);
	assert_true(money_code("usd", code));
	assert_string_equal(code, "USD");
	assert_true(money_code("JpY", code));
	assert_string_equal(code, "JPY");
	assert_false(money_code("us1", code));
	assert_false(money_code("usdd", code));
	assert_false(money_code("", code));
}

static void test_table_sorted(void **state)
{
	int e, n = money_table_size();
	(void)state;
	assert_true(n > 150);
	for (int i = 1; i < n; i++) {
		const char *a = money_table_code(i - 1, &e), *b = money_table_code(i, &e);
		assert_true(strcmp(a, b) < 0); /* binary search needs strict order */
		assert_int_equal(money_exponent(b), e);
	}
	assert_null(money_table_code(n, &e));
}

struct parse_case {
	const char *in;
	int exponent;
	enum money_status st;
	int64_t minor;
};

static void test_parse(void **state)
{
	static const struct parse_case cases[] = {
		{ "19.99", 2, MONEY_OK, 1999 },
		{ "19.9", 2, MONEY_OK, 1990 },
		{ "19", 2, MONEY_OK, 1900 },
		{ "19.990", 2, MONEY_OK, 1999 },     /* trailing zeros beyond the unit are exact */
		{ "19.991", 2, MONEY_PRECISION, 0 }, /* never rounded silently */
		{ "0.1", 2, MONEY_OK, 10 },
		{ "0.30", 2, MONEY_OK, 30 },         /* 0.1 + 0.2 stays exact as text */
		{ "1000", 0, MONEY_OK, 1000 },       /* JPY */
		{ "1000.00", 0, MONEY_OK, 1000 },
		{ "1000.5", 0, MONEY_PRECISION, 0 },
		{ "1.234", 3, MONEY_OK, 1234 },      /* KWD fils */
		{ "0.0001", 4, MONEY_OK, 1 },        /* CLF */
		{ "007.50", 2, MONEY_OK, 750 },
		{ "-5.00", 2, MONEY_OK, -500 },      /* WooCommerce refund totals are negative */
		{ "-0.00", 2, MONEY_OK, 0 },
		{ "0", 2, MONEY_OK, 0 },
		{ "1e2", 2, MONEY_OK, 10000 },
		{ "1.5E+1", 2, MONEY_OK, 1500 },
		{ "1999e-2", 2, MONEY_OK, 1999 },
		{ "1e-3", 2, MONEY_PRECISION, 0 },
		{ "0e99999999", 2, MONEY_OK, 0 },
		{ "1e99999999", 2, MONEY_OVERFLOW, 0 },
		{ "1e-99999999", 2, MONEY_PRECISION, 0 },
		{ "92233720368547758.07", 2, MONEY_OK, INT64_MAX },
		{ "92233720368547758.08", 2, MONEY_OVERFLOW, 0 },
		{ "-92233720368547758.08", 2, MONEY_OK, INT64_MIN },
		{ "-92233720368547758.09", 2, MONEY_OVERFLOW, 0 },
		{ "9223372036854775807", 0, MONEY_OK, INT64_MAX },
		{ "9223372036854775808", 0, MONEY_OVERFLOW, 0 },
		{ "99999999999999999999", 0, MONEY_OVERFLOW, 0 },
		{ "92233720368547759", 2, MONEY_OVERFLOW, 0 }, /* x100 overflows */
		{ "92233720368547758", 2, MONEY_OK, 9223372036854775800LL },
		{ "1.00000000000000000000000000000000000000000000000000", 2, MONEY_OK, 100 },
		{ "1.00000000000000000000000000000000000000000000000001", 2, MONEY_PRECISION, 0 },
		{ "123456789012345678901234567890123456789012345", 0, MONEY_OVERFLOW, 0 },
		{ "", 2, MONEY_SYNTAX, 0 },
		{ "-", 2, MONEY_SYNTAX, 0 },
		{ ".5", 2, MONEY_SYNTAX, 0 },
		{ "5.", 2, MONEY_SYNTAX, 0 },
		{ "+5", 2, MONEY_SYNTAX, 0 },
		{ " 5", 2, MONEY_SYNTAX, 0 },
		{ "5 ", 2, MONEY_SYNTAX, 0 },
		{ "1,000.00", 2, MONEY_SYNTAX, 0 },
		{ "1e", 2, MONEY_SYNTAX, 0 },
		{ "1e+", 2, MONEY_SYNTAX, 0 },
		{ "0x10", 2, MONEY_SYNTAX, 0 },
		{ "NaN", 2, MONEY_SYNTAX, 0 },
		{ "inf", 2, MONEY_SYNTAX, 0 },
		{ "--1", 2, MONEY_SYNTAX, 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = 42;
		enum money_status st = money_parse(cases[i].in, cases[i].exponent, &got);
		if (st != cases[i].st || (st == MONEY_OK && got != cases[i].minor))
			fail_msg("money_parse(\"%s\", %d): status %d value %lld, expected %d %lld",
				 cases[i].in, cases[i].exponent, st, (long long)got, cases[i].st,
				 (long long)cases[i].minor);
	}
	assert_int_equal(money_parse(NULL, 2, &(int64_t){ 0 }), MONEY_SYNTAX);
	assert_int_equal(money_parse("1", -1, &(int64_t){ 0 }), MONEY_SYNTAX);
}

static void test_rescale(void **state)
{
	int64_t v = 0;
	(void)state;
	assert_int_equal(money_rescale(20, 0, 2, &v), MONEY_OK); /* 20 major -> 2000 cents */
	assert_int_equal(v, 2000);
	assert_int_equal(money_rescale(-7, 0, 3, &v), MONEY_OK);
	assert_int_equal(v, -7000);
	assert_int_equal(money_rescale(1500, 2, 0, &v), MONEY_OK);
	assert_int_equal(v, 15);
	assert_int_equal(money_rescale(1550, 2, 0, &v), MONEY_PRECISION);
	assert_int_equal(money_rescale(INT64_MAX, 0, 0, &v), MONEY_OK);
	assert_int_equal(v, INT64_MAX);
	assert_int_equal(money_rescale(INT64_MAX / 10 + 1, 0, 1, &v), MONEY_OVERFLOW);
	assert_int_equal(money_rescale(92233720368547759LL, 0, 2, &v), MONEY_OVERFLOW);
	assert_int_equal(money_rescale(INT64_MIN, 0, 0, &v), MONEY_OK);
	assert_int_equal(v, INT64_MIN);
	assert_int_equal(money_rescale(INT64_MIN, 0, 1, &v), MONEY_OVERFLOW);
}

static void test_stripe(void **state)
{
	int64_t v = 0;
	(void)state;
	assert_int_equal(money_stripe_exponent("USD"), 2);
	assert_int_equal(money_stripe_exponent("JPY"), 0);
	assert_int_equal(money_stripe_exponent("KWD"), 3);
	/* ISO says MGA has 2 decimals, Stripe treats it as zero-decimal. */
	assert_int_equal(money_stripe_exponent("MGA"), 0);
	assert_int_equal(money_exponent("MGA"), 2);
	/* ISO says ISK has none, Stripe's API keeps two: 100 = 1 krona. */
	assert_int_equal(money_stripe_exponent("ISK"), 2);
	assert_int_equal(money_rescale(50000, money_stripe_exponent("ISK"), money_exponent("ISK"), &v),
			 MONEY_OK);
	assert_int_equal(v, 500);
	assert_int_equal(money_rescale(500, money_stripe_exponent("MGA"), money_exponent("MGA"), &v),
			 MONEY_OK);
	assert_int_equal(v, 50000);
	assert_int_equal(money_stripe_exponent("XAU"), -1);
}

static void test_format(void **state)
{
	char buf[32];
	(void)state;
	assert_true(money_format(1999, 2, buf, sizeof(buf)));
	assert_string_equal(buf, "19.99");
	assert_true(money_format(5, 2, buf, sizeof(buf)));
	assert_string_equal(buf, "0.05");
	assert_true(money_format(-5, 3, buf, sizeof(buf)));
	assert_string_equal(buf, "-0.005");
	assert_true(money_format(1000, 0, buf, sizeof(buf)));
	assert_string_equal(buf, "1000");
	assert_true(money_format(0, 2, buf, sizeof(buf)));
	assert_string_equal(buf, "0.00");
	assert_true(money_format(INT64_MIN, 2, buf, sizeof(buf)));
	assert_string_equal(buf, "-92233720368547758.08");
	assert_true(money_format(INT64_MAX, 4, buf, sizeof(buf)));
	assert_string_equal(buf, "922337203685477.5807");
	assert_false(money_format(1999, 2, buf, 5));
	/* format then parse is the identity */
	for (int64_t v = -100005; v <= 100005; v += 7919) {
		int64_t back = 0;
		assert_true(money_format(v, 3, buf, sizeof(buf)));
		assert_int_equal(money_parse(buf, 3, &back), MONEY_OK);
		assert_int_equal(back, v);
	}
	assert_string_equal(money_status_text(MONEY_PRECISION),
			    "has more decimals than the currency's minor unit");
}

/* Every ('ABC', n) pair in the migration must match the compiled table and
 * vice versa: reporting converts with the SQL copy, ingest validates with C. */
static void test_sql_table_agrees(void **state)
{
	FILE *f = fopen("migrations/0003_orders.sql", "r");
	char line[512];
	int seen = 0;
	(void)state;
	if (!f)
		fail_msg("run from the repository root: migrations/0003_orders.sql not found");
	while (fgets(line, sizeof(line), f)) {
		const char *p = line;
		char code[4];
		int e, used;
		while ((p = strstr(p, "('")) != NULL) {
			if (sscanf(p, "('%3[A-Z]', %d)%n", code, &e, &used) == 2) {
				if (money_exponent(code) != e)
					fail_msg("%s: SQL says %d, C says %d", code, e, money_exponent(code));
				seen++;
				p += used;
			} else
				p += 2;
		}
	}
	fclose(f);
	assert_int_equal(seen, money_table_size());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exponents),   cmocka_unit_test(test_table_sorted),
		cmocka_unit_test(test_parse),       cmocka_unit_test(test_rescale),
		cmocka_unit_test(test_stripe),      cmocka_unit_test(test_format),
		cmocka_unit_test(test_sql_table_agrees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
