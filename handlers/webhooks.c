/*
 * webhooks.c - see webhooks.h.
 *
 * Signatures are checked over the raw body bytes before any parsing, and
 * compared with CRYPTO_memcmp (crypto_equal) so the time taken does not tell
 * an attacker how many leading bytes were right.
 *
 * Order identity per source (the external id that makes re-deliveries and
 * status changes land on one row):
 *   Shopify      order id (refunds/create: its order_id)
 *   WooCommerce  order id
 *   Stripe       the invoice id when the object belongs to an invoice, else
 *                the PaymentIntent id, else the object's own id - so
 *                checkout.session.completed, payment_intent.succeeded,
 *                invoice.paid and charge.refunded of one payment are one order.
 * Refunds reported one by one are keyed by the source's refund id, the same
 * key whether the refund arrives alone (Shopify refunds/create) or inside a
 * later order payload, so it is counted once.
 */
#include "handlers/webhooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/orders.h"
#include "model/money.h"
#include "server/crypto.h"

#define STRIPE_MAX_V1 8

static bool oom(struct app_err *err)
{
	return err_set(err, 500, "internal", NULL, "out of memory");
}

static bool missing(struct app_err *err, const char *field)
{
	return err_set(err, 400, "validation_failed", field, "%s is required", field);
}

/* Mapper-style failures: fill err, return -1. */
static int fail_missing(struct app_err *err, const char *field)
{
	missing(err, field);
	return -1;
}

static int fail_oom(struct app_err *err)
{
	oom(err);
	return -1;
}

bool webhooks_verify_base64(const char *secret, const char *body, size_t len, const char *header)
{
	uint8_t mac[CRYPTO_SHA256_LEN];
	char want[48];

	if (!secret || !header)
		return false;
	crypto_hmac_sha256(secret, strlen(secret), body, len, mac);
	crypto_base64(mac, sizeof(mac), want);
	/* The length of a valid signature is public (44); only content is secret. */
	return strlen(header) == strlen(want) && crypto_equal(header, want, strlen(want));
}

/* Parse "t=..,v1=..,v1=..": false when t or every v1 is missing/malformed. */
static bool stripe_header(const char *h, int64_t *t, char v1[][65], int *n_v1)
{
	bool have_t = false;

	*n_v1 = 0;
	while (*h) {
		size_t n = strcspn(h, ",");
		while (*h == ' ' && n > 0) {
			h++;
			n--;
		}
		if (n > 2 && strncmp(h, "t=", 2) == 0 && !have_t) {
			int64_t v = 0;
			size_t i = 2;
			for (; i < n && h[i] >= '0' && h[i] <= '9' && v < 100000000000LL; i++)
				v = v * 10 + (h[i] - '0');
			have_t = i == n;
			*t = v;
		} else if (n == 3 + 64 && strncmp(h, "v1=", 3) == 0 && *n_v1 < STRIPE_MAX_V1) {
			memcpy(v1[*n_v1], h + 3, 64);
			v1[(*n_v1)++][64] = '\0';
		}
		h += n;
		if (*h == ',')
			h++;
	}
	return have_t && *n_v1 > 0;
}

enum stripe_sig webhooks_verify_stripe(const char *secret, const char *body, size_t len,
				       const char *header, int64_t now_s, int tolerance_s)
{
	char v1[STRIPE_MAX_V1][65], want[2 * CRYPTO_SHA256_LEN + 1], prefix[32];
	uint8_t mac[CRYPTO_SHA256_LEN];
	int64_t t = 0;
	int n_v1 = 0, match = 0;
	size_t np;
	char *signed_payload;

	if (!secret || !header || !stripe_header(header, &t, v1, &n_v1))
		return STRIPE_SIG_MALFORMED;
	/* signed_payload = "<t>." + raw body (Stripe's scheme v1). */
	np = (size_t)snprintf(prefix, sizeof(prefix), "%lld.", (long long)t);
	signed_payload = malloc(np + len + 1);
	if (!signed_payload)
		return STRIPE_SIG_MISMATCH;
	memcpy(signed_payload, prefix, np);
	memcpy(signed_payload + np, body, len);
	crypto_hmac_sha256(secret, strlen(secret), signed_payload, np + len, mac);
	free(signed_payload);
	crypto_hex(mac, sizeof(mac), want);
	/* Check every candidate (no early exit), so timing does not reveal which. */
	for (int i = 0; i < n_v1; i++)
		match |= crypto_equal(v1[i], want, 64);
	if (!match)
		return STRIPE_SIG_MISMATCH;
	if (now_s - t > tolerance_s || t - now_s > tolerance_s)
		return STRIPE_SIG_STALE;
	return STRIPE_SIG_OK;
}

bool webhooks_is_woo_ping(const char *body, size_t len)
{
	static const char key[] = "webhook_id=";
	size_t k = sizeof(key) - 1;

	if (len <= k || len > k + 20 || memcmp(body, key, k) != 0)
		return false;
	for (size_t i = k; i < len; i++)
		if (body[i] < '0' || body[i] > '9')
			return false;
	return true;
}

/* --- shared mapping helpers --- */

static const char *str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

/* An id that may be a string or an integer, as text (Shopify ids are ints). */
static bool id_text(const json_t *v, char *out, size_t cap)
{
	if (json_is_integer(v))
		return snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < (int)cap;
	if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < cap &&
	    strlen(json_string_value(v)) == json_string_length(v)) {
		memcpy(out, json_string_value(v), json_string_length(v) + 1);
		return true;
	}
	return false;
}

/* {sku, name, quantity, price} of each line item, validated by orders_items. */
static bool slim_items(const json_t *arr, const char *field, int exponent, char **out,
		       struct app_err *err)
{
	static const char *const keys[] = { "sku", "name", "quantity", "price" };
	json_t *slim, *item;
	size_t i;
	bool ok;

	if (!json_is_array(arr))
		return orders_items(arr, field, exponent, out, err);
	if (!(slim = json_array()))
		return oom(err);
	json_array_foreach(arr, i, item) {
		json_t *s = json_is_object(item) ? json_object() : json_incref(item);
		for (size_t k = 0; s && json_is_object(item) && k < 4; k++) {
			json_t *v = json_object_get(item, keys[k]);
			if (!v && k == 1)
				v = json_object_get(item, "title");
			if (v && !json_is_null(v))
				json_object_set(s, keys[k], v);
		}
		if (!s || json_array_append_new(slim, s)) {
			json_decref(slim);
			return oom(err);
		}
	}
	ok = orders_items(slim, field, exponent, out, err);
	json_decref(slim);
	return ok;
}

/* Refunds as {"<id>": minor}; their sum must not exceed the order amount. */
static bool finish_refunds(struct order_row *row, json_t *map, int64_t sum, const char *field,
			   struct app_err *err)
{
	if (sum > row->amount_minor) {
		json_decref(map);
		return err_set(err, 422, "refund_exceeds_amount", field, "refunds exceed the order total");
	}
	if (row->state == ORDER_REFUNDED && json_object_size(map) == 0)
		row->refunded_minor = row->amount_minor; /* refunded, details not sent */
	row->refunds = json_dumps(map, JSON_COMPACT);
	json_decref(map);
	return row->refunds ? true : oom(err);
}

static bool add_refund(json_t *map, const char *key, int64_t minor, int64_t *sum, const char *field,
		       struct app_err *err)
{
	const json_t *old = json_object_get(map, key);
	if (old) /* the same refund listed twice counts once */
		*sum -= json_integer_value(old);
	if (minor > INT64_MAX - *sum)
		return err_set(err, 422, "invalid_amount", field, "refunds overflow 64 bits");
	*sum += minor;
	return json_object_set_new(map, key, json_integer(minor)) == 0 ? true : oom(err);
}

/* --- Shopify --- */

static enum order_state shopify_state(const json_t *o)
{
	const char *fs = str(o, "financial_status");
	const json_t *cancelled = json_object_get(o, "cancelled_at");

	if (cancelled && !json_is_null(cancelled))
		return ORDER_CANCELLED;
	if (!fs)
		return ORDER_PENDING;
	if (strcmp(fs, "paid") == 0)
		return ORDER_PAID;
	if (strcmp(fs, "partially_refunded") == 0)
		return ORDER_PARTIALLY_REFUNDED;
	if (strcmp(fs, "refunded") == 0)
		return ORDER_REFUNDED;
	if (strcmp(fs, "voided") == 0)
		return ORDER_CANCELLED;
	return ORDER_PENDING; /* pending, authorized, partially_paid, unpaid: no revenue yet */
}

/* Sum of one refund's successful "refund" transactions at `exponent`.
 * cur gets their currency ("" when none says); mixed currencies are 422. */
static bool shopify_refund_sum(const json_t *refund, const char *field, int exponent, int64_t *sum,
			       char cur[4], struct app_err *err)
{
	const json_t *txs = json_object_get(refund, "transactions"), *tx;
	char f[160];
	size_t i;

	*sum = 0;
	cur[0] = '\0';
	json_array_foreach(txs, i, tx) {
		const char *kind = str(tx, "kind"), *status = str(tx, "status"), *c = str(tx, "currency");
		char code[4];
		int64_t minor;
		if (!kind || strcmp(kind, "refund") != 0 || (status && strcmp(status, "success") != 0))
			continue;
		snprintf(f, sizeof(f), "%s.transactions[%zu].amount", field, i);
		if (!orders_money(json_object_get(tx, "amount"), f, exponent, false, &minor, err))
			return false;
		if (c && money_code(c, code)) {
			if (cur[0] && strcmp(cur, code) != 0)
				return err_set(err, 422, "currency_mismatch", f, "refund mixes currencies");
			memcpy(cur, code, 4);
		}
		if (minor > INT64_MAX - *sum)
			return err_set(err, 422, "invalid_amount", f, "refunds overflow 64 bits");
		*sum += minor;
	}
	return true;
}

static bool shopify_refunds(const json_t *o, int exponent, struct order_row *row,
			    struct app_err *err)
{
	const json_t *refunds = json_object_get(o, "refunds"), *r;
	json_t *map = json_object();
	int64_t sum = 0;
	char f[64], key[32], cur[4];
	size_t i;

	if (!map)
		return oom(err);
	json_array_foreach(refunds, i, r) {
		int64_t one;
		snprintf(f, sizeof(f), "refunds[%zu]", i);
		if (!id_text(json_object_get(r, "id"), key, sizeof(key))) {
			json_decref(map);
			return err_set(err, 400, "validation_failed", f, "%s.id is required", f);
		}
		if (!shopify_refund_sum(r, f, exponent, &one, cur, err) ||
		    (cur[0] && strcmp(cur, row->currency) != 0 &&
		     !err_set(err, 422, "currency_mismatch", f, "refund is not in the order currency")) ||
		    !add_refund(map, key, one, &sum, f, err)) {
			json_decref(map);
			return false;
		}
	}
	return finish_refunds(row, map, sum, "refunds", err);
}

static bool shopify_who(const json_t *o, struct order_row *row, struct app_err *err)
{
	const json_t *customer = json_object_get(o, "customer");
	char cid[32];
	const char *email = str(o, "email");

	if (!email)
		email = str(o, "contact_email");
	if (!email && json_is_object(customer))
		email = str(customer, "email");
	if (json_is_object(customer) && id_text(json_object_get(customer, "id"), cid, sizeof(cid)) &&
	    !orders_add_id(row, "shopify:", cid, err))
		return false;
	return orders_set_email(row, email, err) && orders_ensure_id(row, err);
}

static bool shopify_times(const json_t *o, struct order_row *row, struct app_err *err)
{
	const json_t *created = json_object_get(o, "created_at"), *updated = json_object_get(o, "updated_at");

	if (!created || json_is_null(created))
		return missing(err, "created_at");
	if (!orders_time(created, "created_at", &row->ts_us, err))
		return false;
	row->updated_us = row->ts_us;
	return !updated || json_is_null(updated) || orders_time(updated, "updated_at", &row->updated_us, err);
}

static json_t *pick(const json_t *o, const char *const *keys)
{
	json_t *out = json_object();
	for (; out && *keys; keys++) {
		json_t *v = json_object_get(o, *keys);
		if (v && !json_is_null(v))
			json_object_set(out, *keys, v);
	}
	return out;
}

static int shopify_order(const json_t *o, struct order_row *row, const char **reason,
			 struct app_err *err)
{
	static const char *const keep[] = { "name", "financial_status", "fulfillment_status",
					    "subtotal_price", "total_tax", "total_discounts",
					    "source_name", NULL };
	const json_t *cur = json_object_get(o, "currency"), *total = json_object_get(o, "total_price");
	char id[32];
	int exponent = 2;
	json_t *props;

	if (json_is_true(json_object_get(o, "test"))) {
		*reason = "test order";
		return 0;
	}
	if (!id_text(json_object_get(o, "id"), id, sizeof(id)))
		return fail_missing(err, "id");
	if (!(row->external_id = strdup(id)))
		return fail_oom(err);
	if (!cur || !total)
		return fail_missing(err, !cur ? "currency" : "total_price");
	row->state = shopify_state(o);
	if (!orders_currency(cur, "currency", row->currency, &exponent, err) ||
	    !orders_money(total, "total_price", exponent, false, &row->amount_minor, err) ||
	    !shopify_refunds(o, exponent, row, err) || !shopify_times(o, row, err) ||
	    !shopify_who(o, row, err) ||
	    !slim_items(json_object_get(o, "line_items"), "line_items", exponent, &row->items, err))
		return -1;
	props = pick(o, keep);
	row->properties = props ? json_dumps(props, JSON_COMPACT) : NULL;
	json_decref(props);
	row->raw = json_dumps(o, JSON_COMPACT);
	return row->properties && row->raw ? 1 : fail_oom(err);
}

/* refunds/create: one refund of an order we may already hold. */
static int shopify_refund(const json_t *r, struct order_row *row, const char **reason,
			  struct app_err *err)
{
	char id[32], key[32], text[48];
	int64_t sum = 0;

	row->op = ORDER_REFUND;
	if (!id_text(json_object_get(r, "order_id"), id, sizeof(id)))
		return fail_missing(err, "order_id");
	if (!id_text(json_object_get(r, "id"), key, sizeof(key)))
		return fail_missing(err, "id");
	/* The order's currency is not in the payload: sum at 4 decimals (the
	 * largest ISO exponent) and let the apply step parse at the order's. */
	if (!shopify_refund_sum(r, "", 4, &sum, row->currency, err))
		return -1;
	if (sum == 0) {
		*reason = "refund moves no money";
		return 0;
	}
	money_format(sum, 4, text, sizeof(text));
	snprintf(row->field, sizeof(row->field), "transactions");
	if (!(row->external_id = strdup(id)) || !(row->refund_key = strdup(key)) ||
	    !(row->refund_amount = strdup(text)))
		return fail_oom(err);
	return 1;
}

int webhooks_shopify(const char *topic, const json_t *body, struct order_row *row,
		     const char **reason, struct app_err *err)
{
	int rc;

	memset(row, 0, sizeof(*row));
	row->source = "shopify";
	row->op = ORDER_UPSERT;
	*reason = NULL;
	if (!topic || (strncmp(topic, "orders/", 7) != 0 && strcmp(topic, "refunds/create") != 0) ||
	    strcmp(topic, "orders/delete") == 0 || strcmp(topic, "orders/edited") == 0) {
		*reason = "topic not used";
		return 0;
	}
	if (!json_is_object(body)) {
		err_set(err, 400, "validation_failed", NULL, "body must be a JSON object");
		return -1;
	}
	rc = strcmp(topic, "refunds/create") == 0 ? shopify_refund(body, row, reason, err)
						  : shopify_order(body, row, reason, err);
	if (rc != 1)
		order_row_cleanup(row);
	return rc;
}

/* --- Stripe --- */

/* Stripe amounts are integers in Stripe's minor unit, which differs from ISO
 * 4217 for a few currencies (model/money.h): rescale to ISO minor units. */
static bool stripe_amount(const json_t *obj, const char *key, const char *code, int64_t *out,
			  struct app_err *err)
{
	const json_t *v = json_object_get(obj, key);
	enum money_status st;
	char f[64];

	snprintf(f, sizeof(f), "data.object.%s", key);
	if (!v || json_is_null(v))
		return missing(err, f);
	if (!json_is_integer(v))
		return err_set(err, 400, "validation_failed", f, "%s must be an integer", f);
	if (json_integer_value(v) < 0)
		return err_set(err, 422, "invalid_amount", f, "%s must not be negative", f);
	st = money_rescale(json_integer_value(v), money_stripe_exponent(code), money_exponent(code), out);
	if (st != MONEY_OK)
		return err_set(err, 422, "invalid_amount", f, "%s %s", f, money_status_text(st));
	return true;
}

/* An id field that may be a string or an expanded object with an id. */
static bool stripe_ref(const json_t *obj, const char *key, char *out, size_t cap)
{
	const json_t *v = json_object_get(obj, key);
	if (json_is_object(v))
		v = json_object_get(v, "id");
	return id_text(v, out, cap);
}

static bool stripe_who(const json_t *obj, struct order_row *row, struct app_err *err)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const char *user = json_is_object(meta) ? str(meta, "userId") : NULL, *email;
	char cus[256];

	if (!user && json_is_object(meta))
		user = str(meta, "user_id");
	if (!user)
		user = str(obj, "client_reference_id");
	if (user && strlen(user) <= ORDERS_MAX_ID) {
		if (!(row->user_id = strdup(user)))
			return oom(err);
		if (!orders_add_id(row, "", user, err))
			return false;
	}
	if (stripe_ref(obj, "customer", cus, sizeof(cus)) && !orders_add_id(row, "stripe:", cus, err))
		return false;
	email = str(json_object_get(obj, "customer_details"), "email");
	if (!email)
		email = str(obj, "customer_email");
	if (!email)
		email = str(obj, "receipt_email");
	if (!email)
		email = str(json_object_get(obj, "billing_details"), "email");
	return orders_set_email(row, email, err) && orders_ensure_id(row, err);
}

/* The order a Stripe object belongs to: its invoice, else its PaymentIntent,
 * else itself (see the comment at the top). */
static bool stripe_order_id(const json_t *obj, bool is_invoice, struct order_row *row,
			    struct app_err *err)
{
	char ext[256];
	bool found = false;

	if (!is_invoice)
		found = stripe_ref(obj, "invoice", ext, sizeof(ext)) ||
			stripe_ref(obj, "payment_intent", ext, sizeof(ext));
	if (!found && !id_text(json_object_get(obj, "id"), ext, sizeof(ext)))
		return missing(err, "data.object.id");
	return (row->external_id = strdup(ext)) ? true : oom(err);
}

static int stripe_order(const json_t *ev, const char *type, const json_t *obj, int64_t created,
			struct order_row *row, struct app_err *err)
{
	bool session = strcmp(type, "checkout.session.completed") == 0;
	bool intent = strcmp(type, "payment_intent.succeeded") == 0;
	bool invoice = strcmp(type, "invoice.paid") == 0;
	bool charge = strcmp(type, "charge.refunded") == 0;
	const char *amount_key = session ? "amount_total" : invoice ? "amount_paid" : "amount";
	const json_t *t = json_object_get(obj, "created");
	const char *ps = str(obj, "payment_status");
	int exponent = 2;
	json_t *props;

	if (intent && json_object_get(obj, "amount_received"))
		amount_key = "amount_received";
	if (!stripe_order_id(obj, invoice, row, err) ||
	    !orders_currency(json_object_get(obj, "currency"), "data.object.currency", row->currency,
			     &exponent, err) ||
	    !stripe_amount(obj, amount_key, row->currency, &row->amount_minor, err) ||
	    (charge && !stripe_amount(obj, "amount_refunded", row->currency, &row->refunded_minor, err)))
		return -1;
	if (row->refunded_minor > row->amount_minor) {
		err_set(err, 422, "refund_exceeds_amount", "data.object.amount_refunded",
			"amount_refunded exceeds amount");
		return -1;
	}
	/* Asynchronous payment methods complete the session before paying. */
	row->state = session && ps && strcmp(ps, "paid") != 0 && strcmp(ps, "no_payment_required") != 0
		? ORDER_PENDING : ORDER_PAID;
	row->updated_us = created * 1000000;
	row->ts_us = json_is_integer(t) && json_integer_value(t) >= 0 &&
		json_integer_value(t) < 100000000000LL ? json_integer_value(t) * 1000000 : row->updated_us;
	if (!stripe_who(obj, row, err))
		return -1;
	if (!(row->items = strdup("[]")))
		return fail_oom(err);
	props = json_pack("{s:s, s:O?}", "stripe_event_type", type, "stripe_object_id",
			  json_object_get(obj, "id"));
	row->properties = props ? json_dumps(props, JSON_COMPACT) : NULL;
	json_decref(props);
	row->raw = json_dumps(ev, JSON_COMPACT);
	return row->properties && row->raw ? 1 : fail_oom(err);
}

int webhooks_stripe(const json_t *event, struct order_row *row, char *event_id, size_t cap,
		    const char **reason, struct app_err *err)
{
	static const char *const used[] = { "checkout.session.completed", "payment_intent.succeeded",
					    "invoice.paid", "charge.refunded" };
	const json_t *created, *obj;
	const char *type;
	bool handled = false;
	int rc;

	memset(row, 0, sizeof(*row));
	row->source = "stripe";
	row->op = ORDER_UPSERT;
	*reason = NULL;
	event_id[0] = '\0';
	if (!json_is_object(event)) {
		err_set(err, 400, "validation_failed", NULL, "body must be a JSON object");
		return -1;
	}
	if (!id_text(json_object_get(event, "id"), event_id, cap))
		return fail_missing(err, "id");
	if (!(type = str(event, "type")))
		return fail_missing(err, "type");
	created = json_object_get(event, "created");
	if (!json_is_integer(created) || json_integer_value(created) < 0 ||
	    json_integer_value(created) >= 100000000000LL)
		return fail_missing(err, "created");
	for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++)
		handled |= strcmp(type, used[i]) == 0;
	if (!handled) {
		*reason = "event type not used";
		return 0;
	}
	obj = json_object_get(json_object_get(event, "data"), "object");
	if (!json_is_object(obj))
		return fail_missing(err, "data.object");
	rc = stripe_order(event, type, obj, json_integer_value(created), row, err);
	if (rc != 1)
		order_row_cleanup(row);
	return rc;
}

/* --- WooCommerce --- */

static enum order_state woo_state(const char *s)
{
	if (!s)
		return ORDER_PENDING;
	if (strcmp(s, "processing") == 0 || strcmp(s, "completed") == 0)
		return ORDER_PAID;
	if (strcmp(s, "refunded") == 0)
		return ORDER_REFUNDED;
	if (strcmp(s, "cancelled") == 0 || strcmp(s, "failed") == 0 || strcmp(s, "trash") == 0)
		return ORDER_CANCELLED;
	return ORDER_PENDING; /* pending, on-hold, checkout-draft: not paid yet */
}

/* refunds: [{"id": 7, "total": "-5.00"}]; Woo writes refund totals negative. */
static bool woo_refunds(const json_t *o, int exponent, struct order_row *row, struct app_err *err)
{
	const json_t *refunds = json_object_get(o, "refunds"), *r;
	json_t *map = json_object();
	int64_t sum = 0;
	char f[64], key[32];
	size_t i;

	if (!map)
		return oom(err);
	json_array_foreach(refunds, i, r) {
		int64_t one;
		snprintf(f, sizeof(f), "refunds[%zu].total", i);
		if (!id_text(json_object_get(r, "id"), key, sizeof(key))) {
			json_decref(map);
			return err_set(err, 400, "validation_failed", f, "refunds[%zu].id is required", i);
		}
		if (!orders_money(json_object_get(r, "total"), f, exponent, true, &one, err) ||
		    (one == INT64_MIN && !err_set(err, 422, "invalid_amount", f, "%s overflows", f)) ||
		    !add_refund(map, key, one < 0 ? -one : one, &sum, f, err)) {
			json_decref(map);
			return false;
		}
	}
	return finish_refunds(row, map, sum, "refunds", err);
}

/* date_*_gmt is UTC without a zone suffix; the local field is the
 * fallback. 1 = parsed, 0 = absent, -1 = malformed (err set). */
static int woo_time(const json_t *o, const char *gmt, const char *local, int64_t *us,
		    const char **text, struct app_err *err)
{
	const json_t *v = json_object_get(o, gmt);
	const char *name = gmt;

	if (!json_is_string(v)) {
		v = json_object_get(o, local);
		name = local;
	}
	if (!json_is_string(v))
		return 0;
	*text = json_string_value(v);
	return orders_time(v, name, us, err) ? 1 : -1;
}

static int woo_order(const json_t *o, struct order_row *row, char *dedupe, size_t cap,
		     struct app_err *err)
{
	static const char *const keep[] = { "number", "status", "payment_method", "total_tax",
					    "discount_total", "shipping_total", NULL };
	const json_t *billing = json_object_get(o, "billing"), *cust = json_object_get(o, "customer_id");
	const char *created = NULL, *modified = NULL;
	char id[32], cid[32];
	int exponent = 2;
	json_t *props;

	if (!id_text(json_object_get(o, "id"), id, sizeof(id)))
		return fail_missing(err, "id");
	if (!(row->external_id = strdup(id)))
		return fail_oom(err);
	if (!json_object_get(o, "currency") || !json_object_get(o, "total"))
		return fail_missing(err, !json_object_get(o, "currency") ? "currency" : "total");
	row->state = woo_state(str(o, "status"));
	if (!orders_currency(json_object_get(o, "currency"), "currency", row->currency, &exponent, err) ||
	    !orders_money(json_object_get(o, "total"), "total", exponent, false, &row->amount_minor, err) ||
	    !woo_refunds(o, exponent, row, err))
		return -1;
	switch (woo_time(o, "date_created_gmt", "date_created", &row->ts_us, &created, err)) {
	case 0:
		return fail_missing(err, "date_created_gmt");
	case -1:
		return -1;
	}
	row->updated_us = row->ts_us;
	modified = created;
	if (woo_time(o, "date_modified_gmt", "date_modified", &row->updated_us, &modified, err) < 0)
		return -1;
	snprintf(dedupe, cap, "%s@%s", id, modified);
	if (json_is_integer(cust) && json_integer_value(cust) > 0 && id_text(cust, cid, sizeof(cid)) &&
	    !orders_add_id(row, "woocommerce:", cid, err))
		return -1;
	if (!orders_set_email(row, json_is_object(billing) ? str(billing, "email") : NULL, err) ||
	    !orders_ensure_id(row, err) ||
	    !slim_items(json_object_get(o, "line_items"), "line_items", exponent, &row->items, err))
		return -1;
	props = pick(o, keep);
	row->properties = props ? json_dumps(props, JSON_COMPACT) : NULL;
	json_decref(props);
	row->raw = json_dumps(o, JSON_COMPACT);
	return row->properties && row->raw ? 1 : fail_oom(err);
}

int webhooks_woocommerce(const char *topic, const json_t *body, struct order_row *row,
			 char *dedupe, size_t cap, const char **reason, struct app_err *err)
{
	int rc;

	memset(row, 0, sizeof(*row));
	row->source = "woocommerce";
	row->op = ORDER_UPSERT;
	*reason = NULL;
	dedupe[0] = '\0';
	if (!topic || (strcmp(topic, "order.created") != 0 && strcmp(topic, "order.updated") != 0 &&
		       strcmp(topic, "order.restored") != 0)) {
		/* order.deleted included: a trashed order arrives as order.updated
		 * with status "trash" first; a hard delete keeps our audit row. */
		*reason = "topic not used";
		return 0;
	}
	if (!json_is_object(body)) {
		err_set(err, 400, "validation_failed", NULL, "body must be a JSON object");
		return -1;
	}
	rc = woo_order(body, row, dedupe, cap, err);
	if (rc != 1)
		order_row_cleanup(row);
	return rc;
}
