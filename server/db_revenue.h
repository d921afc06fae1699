/*
 * db_revenue.h - orders per stitched person and local bucket (day, or any
 * range), in the project's reporting currency, for /v1/metrics and
 * /v1/channels.
 *
 * Rules (docs/orders.md, docs/api.md "Analytics"): an order belongs to the
 * bucket of its placement time `ts`; pending and cancelled orders are left
 * out; "paid" = net amount > 0 (refunds subtracted), so a fully refunded
 * order counts in GMV but not as a paid order; amounts are converted with
 * the latest FX rate on or before the order's UTC day and rounded half away
 * from zero per order, exactly as the order_values view; an order with no
 * rate is counted in missing_fx and in no sum.
 *
 *     struct db_rev rev;
 *     if (!db_rev_fetch(db, project, bounds, n, "USD", &rev, &err)) ...;
 *     ... rev.rows[i] sorted by (person_id, bucket) ...
 *     db_rev_free(&rev);
 */
#ifndef DB_REVENUE_H
#define DB_REVENUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/err.h"

struct db;

/*
 * SQL fragment: the factor turning o.net_minor / o.amount_minor (orders
 * aliased o) into minor units of the reporting currency $4: 1 for orders in
 * it, else the latest rate on or before the order's UTC day times the
 * exponent shift; NULL without a rate. The subquery only runs for foreign
 * currencies (CASE), so a single-currency project does no lookups. Round
 * the product half away from zero per order (numeric round()).
 */
#define DB_REVENUE_FACTOR_SQL                                                                  \
	"CASE WHEN o.currency = $4 THEN 1::numeric ELSE"                                       \
	" (SELECT f.rate * power(10::numeric, rc.exponent - oc.exponent)"                       \
	"    FROM fx_rates f, currencies oc, currencies rc"                                     \
	"   WHERE f.project_id = o.project_id AND f.currency = o.currency AND f.quote = $4"     \
	"     AND f.day <= (o.ts AT TIME ZONE 'UTC')::date AND oc.code = o.currency"            \
	"     AND rc.code = $4 ORDER BY f.day DESC LIMIT 1) END"

struct db_rev_row {
	int64_t person_id;         /* stitched */
	int32_t bucket;            /* bounds[bucket] <= ts < bounds[bucket + 1] */
	int32_t paid_orders;       /* orders with net > 0 (and a rate) */
	int32_t missing_fx;        /* orders without a rate to the reporting currency */
	int64_t gross_minor;       /* order amounts before refunds, reporting currency */
	int64_t net_minor;         /* amounts minus refunds, reporting currency */
};

struct db_rev {
	struct db_rev_row *rows;
	size_t n;
};

/* Orders with bounds[0] <= ts < bounds[n_buckets], grouped by stitched
 * person and bucket, sorted by (person_id, bucket). */
bool db_rev_fetch(struct db *db, int64_t project_id, const int64_t *bounds, int32_t n_buckets,
		  const char *currency, struct db_rev *out, struct app_err *err) MUST_CHECK;
void db_rev_free(struct db_rev *r);

#endif
