/*
 * order_row.h - one validated order change, the unit the order parsers
 * (handlers/orders.h, handlers/webhooks.h) produce and the database layer
 * (server/db_orders.h) applies. Plain C strings and integers only, so parsers
 * are tested and fuzzed without a database, and a row can ride on a writer
 * job (writer.h) next to the events of the same /v1/batch.
 *
 * Two kinds of change:
 *  - ORDER_UPSERT: the full state of an order as the source last reported it.
 *    Applied only when updated_us is newer than what is stored (ties: the
 *    later lifecycle stage, then the larger refund, wins).
 *  - ORDER_REFUND: one refund of an order identified by (source,
 *    external_id), keyed by refund_key so a repeated refund counts once.
 *    Refunds of orders never seen are reported as unknown and not stored.
 */
#ifndef ORDER_ROW_H
#define ORDER_ROW_H

#include <stdbool.h>
#include <stdint.h>

enum order_op { ORDER_UPSERT = 1, ORDER_REFUND };

/* Reported state; the stored status is derived from it and the amounts
 * (migrations/0003_orders.sql cohortd_order_status). */
enum order_state {
	ORDER_PENDING = 1,
	ORDER_PAID,
	ORDER_PARTIALLY_REFUNDED,
	ORDER_REFUNDED,
	ORDER_CANCELLED,
};

#define ORDER_MAX_IDS 4

struct order_row {
	enum order_op op;
	const char *source;        /* static: "api", "shopify", "stripe", "woocommerce" */
	char *external_id;         /* the source's order id */
	/* ORDER_UPSERT */
	char *ids[ORDER_MAX_IDS];  /* distinct ids, primary first; never empty */
	int n_ids;
	char *user_id;             /* stored column; NULL when unknown */
	char *email;               /* lower-cased; NULL when unknown */
	char currency[4];          /* ISO 4217 code; "" on a refund = the order's currency */
	int64_t amount_minor;      /* >= 0 */
	int64_t refunded_minor;    /* refund total as reported, 0..amount */
	char *refunds;             /* JSON object {"refund key": minor units}, NULL = none */
	enum order_state state;
	int64_t ts_us;             /* order time, µs since epoch */
	int64_t updated_us;        /* version time, µs since epoch */
	char *items;               /* compact JSON array */
	char *properties;          /* compact JSON object */
	char *raw;                 /* compact JSON of the payload kept for audit */
	/* ORDER_REFUND */
	char *refund_key;
	char *refund_amount;       /* decimal text in major units; NULL = refund everything */
	/* Errors found while applying (refund too large, currency mismatch) name
	 * this field, e.g. "batch[3].properties.total". */
	char field[96];
};

/* Name of a state as stored ("partially_refunded"); "" for an invalid value. */
const char *order_state_name(enum order_state s);
/* Free what the row owns and zero it; safe on a zeroed row. */
void order_row_cleanup(struct order_row *row);

#endif
