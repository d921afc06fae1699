/*
 * Webhook signatures and payload mapping (handlers/webhooks.c) and the
 * generic / Segment order parsers (handlers/orders.c), without a socket or a
 * database. HMAC vectors were computed with openssl, independently of the
 * code under test:
 *   printf '%s' 'The quick brown fox jumps over the lazy dog' |
 *       openssl dgst -sha256 -hmac key -binary | base64
 *   printf '%s' '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac whsec_x
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "handlers/orders.h"
#include "handlers/segment.h"
#include "handlers/webhooks.h"

#define FOX "The quick brown fox jumps over the lazy dog"
#define FOX_MAC "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
#define EVT "{\"id\":\"evt_1\"}"
#define EVT_V1 "366e40c480fe3a9e6a03609dca079cea86d77ae82d5a56b5348208247317a8d1"
#define EVT_OTHER "e12ef238930e9a9dcbebaf3147df8d7a19ab1524ac7be39f4f8d50cb628f0ab5"
#define T0 1700000000LL

static void test_base64_signature(void **state)
{
	(void)state;
	assert_true(webhooks_verify_base64("key", FOX, strlen(FOX), FOX_MAC));
	assert_false(webhooks_verify_base64("kez", FOX, strlen(FOX), FOX_MAC));
	assert_false(webhooks_verify_base64("key", FOX "!", strlen(FOX) + 1, FOX_MAC));
	assert_false(webhooks_verify_base64("key", FOX, strlen(FOX), NULL));
	assert_false(webhooks_verify_base64("key", FOX, strlen(FOX), ""));
	assert_false(webhooks_verify_base64("key", FOX, strlen(FOX), FOX_MAC "="));
	assert_false(webhooks_verify_base64(NULL, FOX, strlen(FOX), FOX_MAC));
}

static enum stripe_sig stripe(const char *header, int64_t now, int tol)
{
	return webhooks_verify_stripe("whsec_x", EVT, strlen(EVT), header, now, tol);
}

static void test_stripe_signature(void **state)
{
	(void)state;
	assert_int_equal(stripe("t=1700000000,v1=" EVT_V1, T0, 300), STRIPE_SIG_OK);
	/* several v1 (secret rotation): any match is enough, in any position */
	assert_int_equal(stripe("t=1700000000,v1=" EVT_OTHER ",v1=" EVT_V1 ",v0=abc", T0, 300), STRIPE_SIG_OK);
	assert_int_equal(stripe("t=1700000000, v1=" EVT_V1, T0, 300), STRIPE_SIG_OK);
	assert_int_equal(stripe("t=1700000000,v1=" EVT_OTHER, T0, 300), STRIPE_SIG_MISMATCH);
	/* the timestamp is signed: changing it breaks the signature */
	assert_int_equal(stripe("t=1700000001,v1=" EVT_V1, T0, 300), STRIPE_SIG_MISMATCH);
	/* tolerance is inclusive, in both directions */
	assert_int_equal(stripe("t=1700000000,v1=" EVT_V1, T0 + 300, 300), STRIPE_SIG_OK);
	assert_int_equal(stripe("t=1700000000,v1=" EVT_V1, T0 + 301, 300), STRIPE_SIG_STALE);
	assert_int_equal(stripe("t=1700000000,v1=" EVT_V1, T0 - 301, 300), STRIPE_SIG_STALE);
	assert_int_equal(stripe("t=1700000000,v1=" EVT_V1, T0 + 900, 1000), STRIPE_SIG_OK);
	assert_int_equal(stripe("v1=" EVT_V1, T0, 300), STRIPE_SIG_MALFORMED);
	assert_int_equal(stripe("t=1700000000", T0, 300), STRIPE_SIG_MALFORMED);
	assert_int_equal(stripe("t=17x0000000,v1=" EVT_V1, T0, 300), STRIPE_SIG_MALFORMED);
	assert_int_equal(stripe("t=1700000000,v1=abc", T0, 300), STRIPE_SIG_MALFORMED);
	assert_int_equal(stripe("t=1700000000,v0=" EVT_V1, T0, 300), STRIPE_SIG_MALFORMED);
	assert_int_equal(stripe("", T0, 300), STRIPE_SIG_MALFORMED);
	assert_int_equal(stripe(NULL, T0, 300), STRIPE_SIG_MALFORMED);
	assert_int_equal(webhooks_verify_stripe("whsec_y", EVT, strlen(EVT), "t=1700000000,v1=" EVT_V1, T0,
						300), STRIPE_SIG_MISMATCH);
}

static void test_woo_ping(void **state)
{
	(void)state;
	assert_true(webhooks_is_woo_ping("webhook_id=12", 13));
	assert_false(webhooks_is_woo_ping("webhook_id=", 11));
	assert_false(webhooks_is_woo_ping("webhook_id=12&x=1", 17));
	assert_false(webhooks_is_woo_ping("{\"id\":1}", 8));
}

static json_t *load(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	assert_non_null(j);
	return j;
}

static void test_shopify(void **state)
{
	struct order_row row;
	struct app_err err = { 0 };
	const char *reason;
	json_t *o = load("{\"id\":450789469,\"email\":\"Bob@X.io\",\"created_at\":\"2026-03-01T10:00:00-05:00\","
			 "\"updated_at\":\"2026-03-02T10:00:00-05:00\",\"currency\":\"JPY\",\"total_price\":\"1000\","
			 "\"financial_status\":\"partially_refunded\",\"customer\":{\"id\":7},"
			 "\"refunds\":[{\"id\":9,\"transactions\":[{\"kind\":\"refund\",\"status\":\"success\","
			 "\"amount\":\"300\"},{\"kind\":\"sale\",\"amount\":\"1000\"}]}]}");
	(void)state;
	assert_int_equal(webhooks_shopify("orders/updated", o, &row, &reason, &err), 1);
	assert_string_equal(row.external_id, "450789469");
	assert_string_equal(row.currency, "JPY");
	assert_int_equal(row.amount_minor, 1000);
	assert_string_equal(row.refunds, "{\"9\":300}");
	assert_int_equal(row.state, ORDER_PARTIALLY_REFUNDED);
	assert_int_equal(row.n_ids, 2);
	assert_string_equal(row.ids[0], "shopify:7");
	assert_string_equal(row.ids[1], "email:bob@x.io");
	assert_int_equal(row.ts_us, 1772377200LL * 1000000); /* date -d 2026-03-01T15:00Z +%s */
	order_row_cleanup(&row);
	assert_int_equal(webhooks_shopify("products/create", o, &row, &reason, &err), 0);
	assert_string_equal(reason, "topic not used");
	json_decref(o);

	o = load("{\"id\":1,\"order_id\":2,\"transactions\":[{\"kind\":\"refund\",\"status\":\"success\","
		 "\"amount\":\"5.5\",\"currency\":\"EUR\"},{\"kind\":\"refund\",\"amount\":\"0.25\"}]}");
	assert_int_equal(webhooks_shopify("refunds/create", o, &row, &reason, &err), 1);
	assert_int_equal(row.op, ORDER_REFUND);
	assert_string_equal(row.external_id, "2");
	assert_string_equal(row.refund_key, "1");
	assert_string_equal(row.refund_amount, "5.7500"); /* summed exactly at 4 decimals */
	assert_string_equal(row.currency, "EUR");
	order_row_cleanup(&row);
	json_decref(o);

	o = load("{\"id\":3,\"test\":true,\"currency\":\"USD\",\"total_price\":\"1\"}");
	assert_int_equal(webhooks_shopify("orders/create", o, &row, &reason, &err), 0);
	assert_string_equal(reason, "test order");
	json_decref(o);
	o = load("{\"id\":4,\"currency\":\"USD\",\"total_price\":\"1.001\",\"created_at\":\"2026-01-01\"}");
	assert_int_equal(webhooks_shopify("orders/create", o, &row, &reason, &err), -1);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.field, "total_price");
	json_decref(o);
}

static void test_stripe_mapping(void **state)
{
	struct order_row row;
	struct app_err err = { 0 };
	const char *reason;
	char id[64];
	json_t *e = load("{\"id\":\"evt_9\",\"type\":\"charge.refunded\",\"created\":1700000100,\"data\":{\"object\":"
			 "{\"id\":\"ch_1\",\"payment_intent\":{\"id\":\"pi_1\"},\"amount\":500,\"amount_refunded\":200,"
			 "\"currency\":\"mga\",\"metadata\":{\"user_id\":\"u7\"},\"customer\":\"cus_1\","
			 "\"created\":1700000000}}}");
	(void)state;
	assert_int_equal(webhooks_stripe(e, &row, id, sizeof(id), &reason, &err), 1);
	assert_string_equal(id, "evt_9");
	assert_string_equal(row.external_id, "pi_1");
	/* MGA is zero-decimal at Stripe, two-decimal in ISO 4217 */
	assert_int_equal(row.amount_minor, 50000);
	assert_int_equal(row.refunded_minor, 20000);
	assert_string_equal(row.user_id, "u7");
	assert_string_equal(row.ids[0], "u7");
	assert_string_equal(row.ids[1], "stripe:cus_1");
	assert_int_equal(row.updated_us, 1700000100LL * 1000000);
	assert_int_equal(row.ts_us, 1700000000LL * 1000000);
	order_row_cleanup(&row);
	json_decref(e);
	e = load("{\"id\":\"evt_2\",\"type\":\"customer.created\",\"created\":1,\"data\":{\"object\":{}}}");
	assert_int_equal(webhooks_stripe(e, &row, id, sizeof(id), &reason, &err), 0);
	json_decref(e);
	e = load("{\"id\":\"evt_3\",\"type\":\"invoice.paid\",\"created\":1,\"data\":{\"object\":"
		 "{\"id\":\"in_1\",\"payment_intent\":\"pi_7\",\"amount_paid\":-1,\"currency\":\"usd\"}}}");
	assert_int_equal(webhooks_stripe(e, &row, id, sizeof(id), &reason, &err), -1);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.field, "data.object.amount_paid");
	json_decref(e);
}

static void test_woo_mapping(void **state)
{
	struct order_row row;
	struct app_err err = { 0 };
	const char *reason;
	char dedupe[64];
	json_t *o = load("{\"id\":727,\"status\":\"completed\",\"currency\":\"KWD\",\"total\":\"10.500\","
			 "\"date_created_gmt\":\"2026-04-01T08:00:00\",\"date_modified_gmt\":\"2026-04-02T08:00:00\","
			 "\"customer_id\":0,\"billing\":{\"email\":\"a@b.c\"},"
			 "\"refunds\":[{\"id\":1,\"total\":\"-0.250\"},{\"id\":2,\"total\":\"-1\"}]}");
	(void)state;
	assert_int_equal(webhooks_woocommerce("order.updated", o, &row, dedupe, sizeof(dedupe), &reason, &err), 1);
	assert_string_equal(dedupe, "727@2026-04-02T08:00:00");
	assert_int_equal(row.amount_minor, 10500);
	assert_string_equal(row.refunds, "{\"1\":250,\"2\":1000}");
	assert_int_equal(row.n_ids, 1); /* customer 0 is a guest */
	assert_string_equal(row.ids[0], "email:a@b.c");
	order_row_cleanup(&row);
	assert_int_equal(webhooks_woocommerce("order.deleted", o, &row, dedupe, sizeof(dedupe), &reason, &err), 0);
	json_decref(o);
}

static void test_generic_order(void **state)
{
	struct order_row row;
	struct app_err err = { 0 };
	json_t *o = load("{\"orderId\":42,\"anonymousId\":\"a1\",\"email\":\"X@Y.z\",\"amount\":19.99,"
			 "\"currency\":\"usd\",\"status\":\"refunded\",\"timestamp\":\"2026-01-01T00:00:00Z\"}");
	(void)state;
	assert_true(orders_parse(o, "batch[2]", 5, &row, &err));
	assert_string_equal(row.external_id, "42");
	assert_int_equal(row.amount_minor, 1999);
	assert_int_equal(row.refunded_minor, 1999); /* refunded without an amount: all */
	assert_string_equal(row.ids[0], "email:x@y.z");
	assert_string_equal(row.ids[1], "a1");
	assert_int_equal(row.updated_us, row.ts_us);
	order_row_cleanup(&row);
	json_decref(o);
	o = load("{\"orderId\":\"o\",\"userId\":\"u\",\"amount\":\"5\",\"refundedAmountMinor\":600,\"currency\":\"USD\"}");
	assert_false(orders_parse(o, "batch[2]", 5, &row, &err));
	assert_int_equal(err.status, 422);
	assert_string_equal(err.field, "batch[2].refundedAmount");
	json_decref(o);
}

static void test_segment_mapping(void **state)
{
	struct ingest_row ev;
	struct order_row row;
	struct app_err err = { 0 };
	struct segment_ctx ctx = { .received_us = 1700000000LL * 1000000 };
	json_t *m = load("{\"type\":\"track\",\"event\":\"Order Completed\",\"userId\":\"u1\",\"messageId\":\"m1\","
			 "\"properties\":{\"order_id\":\"A-1\",\"revenue\":8,\"total\":\"10.00\",\"currency\":\"EUR\"},"
			 "\"context\":{\"traits\":{\"email\":\"U1@x.io\"}}}");
	(void)state;
	assert_true(segment_parse_message(m, 0, &ctx, "", &ev, &err));
	assert_int_equal(orders_from_segment(m, &ev, "", &row, &err), 1);
	assert_int_equal(row.amount_minor, 1000); /* total wins over revenue */
	assert_string_equal(row.source, "api");
	assert_string_equal(row.ids[1], "email:u1@x.io");
	order_row_cleanup(&row);
	ingest_row_cleanup(&ev);
	json_decref(m);
	m = load("{\"type\":\"track\",\"event\":\"Order Refunded\",\"userId\":\"u1\",\"messageId\":\"m2\","
		 "\"properties\":{\"order_id\":\"A-1\",\"total\":2.5}}");
	assert_true(segment_parse_message(m, 0, &ctx, "batch[0]", &ev, &err));
	assert_int_equal(orders_from_segment(m, &ev, "batch[0]", &row, &err), 1);
	assert_int_equal(row.op, ORDER_REFUND);
	assert_string_equal(row.refund_key, "segment:m2");
	assert_string_equal(row.refund_amount, "2.5");
	assert_string_equal(row.currency, "");
	assert_string_equal(row.field, "batch[0].properties.total");
	order_row_cleanup(&row);
	ingest_row_cleanup(&ev);
	json_decref(m);
	m = load("{\"type\":\"track\",\"event\":\"Viewed\",\"userId\":\"u1\",\"properties\":{\"order_id\":1}}");
	assert_true(segment_parse_message(m, 0, &ctx, "", &ev, &err));
	assert_int_equal(orders_from_segment(m, &ev, "", &row, &err), 0);
	ingest_row_cleanup(&ev);
	json_decref(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_signature), cmocka_unit_test(test_stripe_signature),
		cmocka_unit_test(test_woo_ping),         cmocka_unit_test(test_shopify),
		cmocka_unit_test(test_stripe_mapping),   cmocka_unit_test(test_woo_mapping),
		cmocka_unit_test(test_generic_order),    cmocka_unit_test(test_segment_mapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
