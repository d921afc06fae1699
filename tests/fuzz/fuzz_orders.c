/*
 * fuzz_orders.c - libFuzzer target for everything that reads untrusted order
 * input: the three webhook mappers, their signature checks, the generic and
 * Segment order parsers, and decimal money parsing.
 *
 * Input layout: the first byte picks the parser ('0'..'9', or any byte
 * modulo 10), the rest is the payload. Seeds in tests/fuzz/corpus/ start
 * with the digit of the parser they exercise, followed by a realistic body.
 * A crash, a sanitizer report or a leak is a bug; any return value is fine.
 */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "handlers/orders.h"
#include "handlers/segment.h"
#include "handlers/webhooks.h"
#include "model/money.h"

enum target {
	T_SHOPIFY_ORDER, T_SHOPIFY_REFUND, T_STRIPE, T_WOO, T_ORDER, T_SEGMENT, T_STRIPE_SIG,
	T_BASE64_SIG, T_MONEY, T_WOO_PING, T_COUNT
};

static void json_targets(enum target t, const char *body, size_t len)
{
	struct app_err err = { 0 };
	struct order_row row;
	struct ingest_row ev;
	struct segment_ctx ctx = { .received_us = 1700000000LL * 1000000, .max_message_bytes = 32768 };
	const char *reason = NULL;
	char buf[320];
	json_t *root = json_loadb(body, len, 0, NULL);

	if (!root)
		return;
	switch (t) {
	case T_SHOPIFY_ORDER:
		if (webhooks_shopify("orders/updated", root, &row, &reason, &err) == 1)
			order_row_cleanup(&row);
		break;
	case T_SHOPIFY_REFUND:
		if (webhooks_shopify("refunds/create", root, &row, &reason, &err) == 1)
			order_row_cleanup(&row);
		break;
	case T_STRIPE:
		if (webhooks_stripe(root, &row, buf, sizeof(buf), &reason, &err) == 1)
			order_row_cleanup(&row);
		break;
	case T_WOO:
		if (webhooks_woocommerce("order.updated", root, &row, buf, sizeof(buf), &reason, &err) == 1)
			order_row_cleanup(&row);
		break;
	case T_ORDER:
		if (orders_parse(root, "batch[0]", ctx.received_us, &row, &err))
			order_row_cleanup(&row);
		break;
	case T_SEGMENT:
		if (segment_parse_message(root, 0, &ctx, "batch[0]", &ev, &err)) {
			if (orders_from_segment(root, &ev, "batch[0]", &row, &err) == 1)
				order_row_cleanup(&row);
			ingest_row_cleanup(&ev);
		}
		break;
	default:
		break;
	}
	json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum target t;
	const char *body;
	char *text;
	int64_t minor;

	if (size == 0)
		return 0;
	t = (enum target)(data[0] >= '0' && data[0] <= '9' ? data[0] - '0' : data[0] % T_COUNT);
	body = (const char *)data + 1;
	size--;
	if (t < T_STRIPE_SIG) {
		json_targets(t, body, size);
		return 0;
	}
	/* The string-based checks take NUL-terminated text. */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, body, size);
	text[size] = '\0';
	switch (t) {
	case T_STRIPE_SIG:
		(void)webhooks_verify_stripe("whsec_fuzz", "{}", 2, text, 1700000000, 300);
		break;
	case T_BASE64_SIG:
		(void)webhooks_verify_base64("secret", text, size, text);
		break;
	case T_MONEY:
		for (int e = 0; e <= 4; e++)
			(void)money_parse(text, e, &minor);
		break;
	case T_WOO_PING:
		(void)webhooks_is_woo_ping(body, size);
		break;
	default:
		break;
	}
	free(text);
	return 0;
}
