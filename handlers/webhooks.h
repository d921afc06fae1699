/*
 * webhooks.h - signature checks and payload mapping for Shopify, Stripe and
 * WooCommerce order webhooks (pure: OpenSSL HMAC via server/crypto.h and
 * Jansson, no I/O), so every rule is unit-tested and fuzzed. The HTTP side
 * (secrets, dedupe, storage) is handlers/order_routes.c.
 *
 * Formats: REFERENCE.md §2; mapping rules: docs/orders.md.
 *
 * Every mapper returns 1 with *row filled, 0 when the delivery is valid but
 * carries nothing we store (*reason says why: a topic we don't use, a test
 * order), or -1 with err set (400 naming the field, 422 for impossible money).
 */
#ifndef WEBHOOKS_H
#define WEBHOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "server/err.h"
#include "server/order_row.h"

/* Shopify and WooCommerce: header == base64(HMAC-SHA256(secret, body)),
 * compared in constant time. False for a missing or malformed header. */
bool webhooks_verify_base64(const char *secret, const char *body, size_t len, const char *header);

enum stripe_sig {
	STRIPE_SIG_OK,
	STRIPE_SIG_MALFORMED,  /* no t= or no v1= in the header */
	STRIPE_SIG_MISMATCH,   /* no v1 matches HMAC-SHA256(secret, "<t>.<body>") */
	STRIPE_SIG_STALE,      /* signature matches but |now - t| > tolerance */
};

/* Stripe-Signature "t=<unix>,v1=<hex>[,v1=<hex>...][,v0=...]": accept when
 * any v1 matches (constant time) and t is within tolerance_s of now_s. */
enum stripe_sig webhooks_verify_stripe(const char *secret, const char *body, size_t len,
				       const char *header, int64_t now_s, int tolerance_s);

/* WooCommerce's set-up ping: an unsigned form body "webhook_id=<digits>". */
bool webhooks_is_woo_ping(const char *body, size_t len);

/* Shopify order topics (orders/create, orders/updated, orders/paid,
 * orders/cancelled, ...) -> upsert; refunds/create -> refund. */
int webhooks_shopify(const char *topic, const json_t *body, struct order_row *row,
		     const char **reason, struct app_err *err);

/* A Stripe event: checkout.session.completed, payment_intent.succeeded,
 * invoice.paid, charge.refunded -> upsert. The event id (dedupe key) is
 * copied into event_id (cap bytes) whenever the body has one. */
int webhooks_stripe(const json_t *event, struct order_row *row, char *event_id, size_t cap,
		    const char **reason, struct app_err *err);

/* WooCommerce order.created / order.updated / order.restored -> upsert.
 * dedupe gets "<order id>@<date_modified_gmt>" (Woo's delivery id changes on
 * every retry, the order version does not). */
int webhooks_woocommerce(const char *topic, const json_t *body, struct order_row *row,
			 char *dedupe, size_t cap, const char **reason, struct app_err *err);

#endif
