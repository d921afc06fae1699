/*
 * orders.h - order payloads -> struct order_row (pure: Jansson, no I/O).
 *
 * Parsers for the generic order (POST /v1/orders, and `type: "order"` inside
 * /v1/batch) and for the Segment e-commerce events "Order Completed" and
 * "Order Refunded", plus the field helpers the webhook mappers share
 * (handlers/webhooks.h). Schema and rules: docs/orders.md.
 *
 * Errors name the JSON path of the field: 400 validation_failed for a wrong
 * type or a missing field; 422 for well-formed but impossible money
 * (unknown_currency, invalid_amount: negative, too precise or int64
 * overflow; refund_exceeds_amount).
 */
#ifndef ORDERS_H
#define ORDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "server/err.h"
#include "server/order_row.h"
#include "server/writer.h"

#define ORDERS_MAX_ID 255          /* bytes in an order id or a distinct id */

/* A generic order object. `path` prefixes error fields ("batch[3]" or "");
 * received_us is the default timestamp. On failure *row is left empty. */
bool orders_parse(const json_t *obj, const char *path, int64_t received_us, struct order_row *row,
		  struct app_err *err) MUST_CHECK;

/* Segment e-commerce spec: a track "Order Completed" carrying
 * properties.order_id becomes an order upsert (source "api", so the same id
 * sent to /v1/orders is the same order), "Order Refunded" a refund keyed by
 * the messageId. `ev` is the message already validated by segment.c.
 * Returns 1 when *row was filled, 0 when the message is no order event (or
 * has no order_id: then it is only an event), -1 on error. */
int orders_from_segment(const json_t *msg, const struct ingest_row *ev, const char *path,
			struct order_row *row, struct app_err *err);

/* --- helpers shared with the webhook mappers --- */

/* Append distinct id prefix+id to row->ids unless present (at most
 * ORDER_MAX_IDS). An "email:" id is lower-cased. NULL/empty id: no-op. */
bool orders_add_id(struct order_row *row, const char *prefix, const char *id, struct app_err *err);
/* Fallback id "order:<source>:<external id>" when a payload names nobody, so
 * the revenue still has a (new, anonymous) person. */
bool orders_ensure_id(struct order_row *row, struct app_err *err);
/* Set row->email (lower-cased) and add the "email:" id. */
bool orders_set_email(struct order_row *row, const char *email, struct app_err *err);

/* Currency code at field (string, case-insensitive, known to ISO 4217):
 * 400 when not a string, 422 unknown_currency otherwise; out upper-case. */
bool orders_currency(const json_t *v, const char *field, char out[4], int *exponent,
		     struct app_err *err) MUST_CHECK;
/* Money in major units: decimal string or JSON number -> minor units.
 * Negative values are 422 unless allow_negative. */
bool orders_money(const json_t *v, const char *field, int exponent, bool allow_negative,
		  int64_t *minor, struct app_err *err) MUST_CHECK;
/* Decimal text of a JSON number (integers exactly; reals as the shortest
 * text that reads back to the same double, i.e. what the sender wrote) or of
 * a string. False for other types. */
bool orders_number_text(const json_t *v, char *out, size_t cap);
/* String or integer id -> malloc'd text (NULL when absent, null or "");
 * 400 for other types or more than ORDERS_MAX_ID bytes. */
bool orders_id(const json_t *v, const char *field, char **out, struct app_err *err) MUST_CHECK;
/* ISO-8601 text -> µs (segment_parse_time rules); 400 naming field. */
bool orders_time(const json_t *v, const char *field, int64_t *us, struct app_err *err) MUST_CHECK;
/* items[] / products[] (array or absent): objects with optional sku, name,
 * quantity (integer >= 0) and price (money); stored as given plus
 * price_minor. *out is the compact JSON array (caller frees). */
bool orders_items(const json_t *arr, const char *field, int exponent, char **out,
		  struct app_err *err) MUST_CHECK;
/* Build "path.name" (or "name" when path is empty) into out. */
void orders_field(char *out, size_t cap, const char *path, const char *name);

#endif
