/*
 * order_row.c - ownership of struct order_row, kept apart (like
 * ingest_row.c) so parsers and their tests link without libpq.
 */
#include "server/order_row.h"

#include <stdlib.h>
#include <string.h>

const char *order_state_name(enum order_state s)
{
	switch (s) {
	case ORDER_PENDING:
		return "pending";
	case ORDER_PAID:
		return "paid";
	case ORDER_PARTIALLY_REFUNDED:
		return "partially_refunded";
	case ORDER_REFUNDED:
		return "refunded";
	case ORDER_CANCELLED:
		return "cancelled";
	}
	return "";
}

void order_row_cleanup(struct order_row *r)
{
	free(r->external_id);
	for (int i = 0; i < r->n_ids && i < ORDER_MAX_IDS; i++)
		free(r->ids[i]);
	free(r->user_id);
	free(r->email);
	free(r->refunds);
	free(r->items);
	free(r->properties);
	free(r->raw);
	free(r->refund_key);
	free(r->refund_amount);
	memset(r, 0, sizeof(*r));
}
