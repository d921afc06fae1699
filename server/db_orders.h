/*
 * db_orders.h - SQL for orders, FX rates and webhook secrets
 * (schema: migrations/0003_orders.sql, rules: docs/orders.md).
 *
 * Orders join persons exactly as events do: under the per-project advisory
 * lock of the event writer (db_ingest.c), their distinct ids (userId,
 * "email:<lowercased>", "shopify:<customer id>", ...) are resolved with
 * model/identity.h, an order's ids being linked to each other like an
 * identify call links userId and anonymousId.
 *
 *     struct db *c = db_acquire(app->pool, 2000, err);
 *     ok = db_orders_store(c, project, rows, n, "shopify", webhook_id, &dup, out, err);
 *     db_release(app->pool, c);
 */
#ifndef DB_ORDERS_H
#define DB_ORDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "server/err.h"
#include "server/order_row.h"

struct db;

enum order_result {
	ORDER_CREATED = 1,
	ORDER_UPDATED,
	ORDER_UNCHANGED,   /* older or identical version, or a refund already counted */
	ORDER_UNKNOWN,     /* a refund of an order never seen: nothing stored */
};

struct order_outcome {
	enum order_result result;
	char status[24];           /* stored status after the change ("" when unknown) */
	int64_t net_minor;
};

/* Inside an open transaction: lock the project, resolve persons, apply every
 * row in order. out (may be NULL) gets one outcome per row. Validation the
 * parsers cannot do without the stored order (a refund larger than the
 * order, a refund in another currency) fails with 422 naming row->field. */
bool db_orders_apply(struct db *db, int64_t project_id, const struct order_row *rows, int n,
		     struct order_outcome *out, struct app_err *err) MUST_CHECK;

/* One transaction: when delivery_id is not NULL, record (project,
 * delivery_source, delivery_id) first; if it was already recorded set
 * *duplicate and change nothing. Then db_orders_apply and COMMIT. */
bool db_orders_store(struct db *db, int64_t project_id, const struct order_row *rows, int n,
		     const char *delivery_source, const char *delivery_id, bool *duplicate,
		     struct order_outcome *out, struct app_err *err) MUST_CHECK;

/* Project id and webhook secret of (project name, source). *project_id = 0
 * when the project or its secret does not exist. The secret is copied into
 * `secret` (cap bytes); never log it. */
bool db_webhook_secret(struct db *db, const char *project, const char *source,
		       int64_t *project_id, char *secret, size_t cap, struct app_err *err) MUST_CHECK;

/* Set (or with secret "" remove) a project's secret for source; the project
 * and its settings row are created when missing, as `keys create` does. */
bool db_webhook_secret_set(struct db *db, const char *project, const char *source,
			   const char *secret, struct app_err *err) MUST_CHECK;

/* Upsert FX rates from a JSON array of {"currency","quote","day","rate"}
 * (already validated: codes known, day YYYY-MM-DD, rate a positive decimal
 * text; quote null = the project's reporting currency). *stored = rows written. */
bool db_fx_set(struct db *db, int64_t project_id, const json_t *rates, int *stored,
	       struct app_err *err) MUST_CHECK;

/* {"reporting_currency":..,"rates":[{"currency","quote","day","rate"}...]} */
json_t *db_fx_list(struct db *db, int64_t project_id, struct app_err *err);

/* Revenue over orders with ts in [from, to) (timestamptz texts, NULL = open):
 * totals converted to the reporting currency plus, per currency without a
 * rate, the unconverted totals flagged "no_fx_rate". See docs/orders.md. */
json_t *db_orders_revenue(struct db *db, int64_t project_id, const char *from, const char *to,
			  struct app_err *err);

#endif
