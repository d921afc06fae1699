/*
 * orders.c - see orders.h.
 *
 * Money never passes through a double on its way to storage: strings are
 * parsed digit by digit (model/money.h). A JSON number is the one place a
 * double appears, because Jansson has already converted it; we turn it back
 * into the shortest decimal text that reads back to the same double, which
 * is the text the sender wrote whenever it had at most 15 significant digits
 * (any price does), and then parse that text exactly. 19.99 stays 1999
 * cents; 19.999 USD is rejected rather than rounded.
 */
#include "handlers/orders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/segment.h"
#include "model/money.h"

void orders_field(char *out, size_t cap, const char *path, const char *name)
{
	/* Paths are short; an over-long one is cut rather than overflowing. */
	if (snprintf(out, cap, "%s%s%s", path, *path && *name ? "." : "", name) >= (int)cap)
		out[cap - 1] = '\0';
}

/* 400 naming path.name; the message reads "<name> <problem>". */
static bool bad(struct app_err *err, const char *path, const char *name, const char *problem)
{
	char f[128];
	orders_field(f, sizeof(f), path, name);
	return err_set(err, 400, "validation_failed", f, "%s %s", name, problem);
}

static bool oom(struct app_err *err)
{
	return err_set(err, 500, "internal", NULL, "out of memory");
}

bool orders_number_text(const json_t *v, char *out, size_t cap)
{
	if (json_is_string(v)) {
		size_t n = json_string_length(v);
		if (n >= cap || strlen(json_string_value(v)) != n)
			return false;
		memcpy(out, json_string_value(v), n + 1);
		return true;
	}
	if (json_is_integer(v))
		return snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < (int)cap;
	if (json_is_real(v)) {
		double d = json_real_value(v);
		/* 17 significant digits always read back exactly (IEEE 754 binary64). */
		for (int p = 1; p <= 17; p++) {
			snprintf(out, cap, "%.*g", p, d);
			if (strtod(out, NULL) == d)
				break;
		}
		return true;
	}
	return false;
}

bool orders_money(const json_t *v, const char *field, int exponent, bool allow_negative,
		  int64_t *minor, struct app_err *err)
{
	char text[128];
	enum money_status st;

	if (!json_is_string(v) && !json_is_number(v))
		return err_set(err, 400, "validation_failed", field,
			       "%s must be a decimal string or a number", field);
	if (!orders_number_text(v, text, sizeof(text)))
		return err_set(err, 400, "validation_failed", field, "%s is not a decimal number", field);
	st = money_parse(text, exponent, minor);
	if (st == MONEY_SYNTAX)
		return err_set(err, 400, "validation_failed", field, "%s is not a decimal number", field);
	if (st != MONEY_OK)
		return err_set(err, 422, "invalid_amount", field, "%s %s", field, money_status_text(st));
	if (*minor < 0 && !allow_negative)
		return err_set(err, 422, "invalid_amount", field, "%s must not be negative", field);
	return true;
}

bool orders_currency(const json_t *v, const char *field, char out[4], int *exponent,
		     struct app_err *err)
{
	if (!json_is_string(v))
		return err_set(err, 400, "validation_failed", field,
			       "%s must be a three-letter ISO 4217 code", field);
	if (!money_code(json_string_value(v), out) || (*exponent = money_exponent(out)) < 0)
		return err_set(err, 422, "unknown_currency", field,
			       "%s is not an ISO 4217 currency with a minor unit", field);
	return true;
}

bool orders_id(const json_t *v, const char *field, char **out, struct app_err *err)
{
	char tmp[32];

	*out = NULL;
	if (!v || json_is_null(v))
		return true;
	if (json_is_integer(v)) {
		snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		*out = strdup(tmp);
	} else if (json_is_string(v)) {
		size_t n = json_string_length(v);
		if (n > ORDERS_MAX_ID || strlen(json_string_value(v)) != n)
			return err_set(err, 400, "validation_failed", field,
				       "%s must be at most %d bytes without NUL", field, ORDERS_MAX_ID);
		if (n == 0)
			return true;
		*out = strdup(json_string_value(v));
	} else
		return err_set(err, 400, "validation_failed", field, "%s must be a string", field);
	return *out ? true : oom(err);
}

bool orders_time(const json_t *v, const char *field, int64_t *us, struct app_err *err)
{
	if (!json_is_string(v) || !segment_parse_time(json_string_value(v), us))
		return err_set(err, 400, "validation_failed", field, "%s must be an ISO-8601 date-time",
			       field);
	if (*us < 0)
		return err_set(err, 400, "validation_failed", field, "%s is before 1970", field);
	return true;
}

bool orders_add_id(struct order_row *row, const char *prefix, const char *id, struct app_err *err)
{
	size_t np = strlen(prefix), ni;
	char *s;

	if (!id || !*id)
		return true;
	ni = strlen(id);
	s = malloc(np + ni + 1);
	if (!s)
		return oom(err);
	memcpy(s, prefix, np);
	memcpy(s + np, id, ni + 1);
	if (strcmp(prefix, "email:") == 0)
		for (char *p = s + np; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	for (int i = 0; i < row->n_ids; i++)
		if (strcmp(row->ids[i], s) == 0) {
			free(s);
			return true;
		}
	if (row->n_ids == ORDER_MAX_IDS) { /* four kinds exist; a fifth cannot happen */
		free(s);
		return true;
	}
	row->ids[row->n_ids++] = s;
	return true;
}

bool orders_set_email(struct order_row *row, const char *email, struct app_err *err)
{
	if (!email || !*email || row->email)
		return true;
	if (!(row->email = strdup(email)))
		return oom(err);
	for (char *p = row->email; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return orders_add_id(row, "email:", row->email, err);
}

bool orders_ensure_id(struct order_row *row, struct app_err *err)
{
	char prefix[32];

	if (row->n_ids > 0)
		return true;
	snprintf(prefix, sizeof(prefix), "order:%s:", row->source);
	return orders_add_id(row, prefix, row->external_id, err);
}

bool orders_items(const json_t *arr, const char *field, int exponent, char **out,
			struct app_err *err)
{
	json_t *copy = NULL, *item;
	char f[128];
	size_t i;

	if (!arr || json_is_null(arr))
		return (*out = strdup("[]")) ? true : oom(err);
	if (!json_is_array(arr))
		return err_set(err, 400, "validation_failed", field, "%s must be an array", field);
	if (!(copy = json_deep_copy(arr)))
		return oom(err);
	json_array_foreach(copy, i, item) {
		const json_t *q, *price;
		int64_t minor;
		snprintf(f, sizeof(f), "%s[%zu]", field, i);
		if (!json_is_object(item)) {
			err_set(err, 400, "validation_failed", f, "%s must be an object", f);
			goto fail;
		}
		q = json_object_get(item, "quantity");
		if (q && !json_is_null(q) && (!json_is_integer(q) || json_integer_value(q) < 0)) {
			snprintf(f, sizeof(f), "%s[%zu].quantity", field, i);
			err_set(err, 400, "validation_failed", f, "%s must be a non-negative integer", f);
			goto fail;
		}
		price = json_object_get(item, "price");
		if (price && !json_is_null(price)) {
			snprintf(f, sizeof(f), "%s[%zu].price", field, i);
			if (!orders_money(price, f, exponent, false, &minor, err))
				goto fail;
			json_object_set_new(item, "price_minor", json_integer(minor));
		}
	}
	*out = json_dumps(copy, JSON_COMPACT);
	json_decref(copy);
	return *out ? true : oom(err);
fail:
	json_decref(copy);
	return false;
}

static bool opt_string(const json_t *obj, const char *key, const char *path, char **out,
		       struct app_err *err)
{
	char f[128];
	orders_field(f, sizeof(f), path, key);
	return orders_id(json_object_get(obj, key), f, out, err);
}

/* orderId and who placed it: userId, email, anonymousId (in that priority). */
static bool parse_who(const json_t *obj, const char *path, struct order_row *row,
		      struct app_err *err)
{
	char *anon = NULL, *email = NULL;
	bool ok;

	if (!opt_string(obj, "orderId", path, &row->external_id, err))
		return false;
	if (!row->external_id)
		return bad(err, path, "orderId", "is required");
	if (!opt_string(obj, "userId", path, &row->user_id, err) ||
	    !opt_string(obj, "email", path, &email, err) ||
	    !opt_string(obj, "anonymousId", path, &anon, err)) {
		free(email);
		return false;
	}
	ok = orders_add_id(row, "", row->user_id, err) && orders_set_email(row, email, err) &&
	     orders_add_id(row, "", anon, err);
	free(email);
	free(anon);
	if (ok && row->n_ids == 0)
		return bad(err, path, "userId", "or anonymousId or email is required");
	return ok;
}

static bool parse_state(const json_t *obj, const char *path, struct order_row *row,
			struct app_err *err)
{
	static const char *const names[] = { "pending", "paid", "partially_refunded", "refunded",
					     "cancelled" };
	const json_t *v = json_object_get(obj, "status");

	row->state = ORDER_PAID;
	if (!v || json_is_null(v))
		return true;
	if (json_is_string(v))
		for (int s = 0; s < 5; s++)
			if (strcmp(json_string_value(v), names[s]) == 0) {
				row->state = (enum order_state)(ORDER_PENDING + s);
				return true;
			}
	return bad(err, path, "status",
		   "must be one of pending, paid, partially_refunded, refunded, cancelled");
}

/* Exactly one of <major> (decimal) and <minor> (integer minor units). */
static bool amount_pair(const json_t *obj, const char *path, const char *major, const char *minor,
			int exponent, bool *given, int64_t *out, struct app_err *err)
{
	const json_t *a = json_object_get(obj, major), *m = json_object_get(obj, minor);
	char f[128];

	*given = false;
	if (a && json_is_null(a))
		a = NULL;
	if (m && json_is_null(m))
		m = NULL;
	if (a && m)
		return bad(err, path, major, "and its minor-unit twin must not both be given");
	if (a) {
		orders_field(f, sizeof(f), path, major);
		*given = true;
		return orders_money(a, f, exponent, false, out, err);
	}
	if (!m)
		return true;
	orders_field(f, sizeof(f), path, minor);
	if (!json_is_integer(m))
		return err_set(err, 400, "validation_failed", f, "%s must be an integer", f);
	if (json_integer_value(m) < 0)
		return err_set(err, 422, "invalid_amount", f, "%s must not be negative", f);
	*given = true;
	*out = json_integer_value(m);
	return true;
}

static bool parse_money(const json_t *obj, const char *path, struct order_row *row, int *exponent,
			struct app_err *err)
{
	const json_t *cur = json_object_get(obj, "currency");
	bool given = false, refund_given = false;
	char f[128];

	orders_field(f, sizeof(f), path, "currency");
	if (!cur || json_is_null(cur))
		return bad(err, path, "currency", "is required");
	if (!orders_currency(cur, f, row->currency, exponent, err) ||
	    !amount_pair(obj, path, "amount", "amountMinor", *exponent, &given, &row->amount_minor, err))
		return false;
	if (!given)
		return bad(err, path, "amount", "(or amountMinor) is required");
	if (!parse_state(obj, path, row, err) ||
	    !amount_pair(obj, path, "refundedAmount", "refundedAmountMinor", *exponent, &refund_given,
			 &row->refunded_minor, err))
		return false;
	orders_field(row->field, sizeof(row->field), path, "refundedAmount");
	if (row->refunded_minor > row->amount_minor)
		return err_set(err, 422, "refund_exceeds_amount", row->field,
			       "refundedAmount exceeds amount");
	if (!refund_given && row->state == ORDER_REFUNDED)
		row->refunded_minor = row->amount_minor;
	if (!refund_given && row->state == ORDER_PARTIALLY_REFUNDED)
		return bad(err, path, "refundedAmount", "is required when status is partially_refunded");
	return true;
}

static bool parse_times(const json_t *obj, const char *path, int64_t received_us,
			struct order_row *row, struct app_err *err)
{
	const json_t *t = json_object_get(obj, "timestamp"), *u = json_object_get(obj, "updatedAt");
	char f[128];

	row->ts_us = received_us;
	if (t && !json_is_null(t)) {
		orders_field(f, sizeof(f), path, "timestamp");
		if (!orders_time(t, f, &row->ts_us, err))
			return false;
	}
	/* Without updatedAt the order time is the version: a resend then only
	 * moves an order forward in its lifecycle (ties, docs/orders.md). */
	row->updated_us = row->ts_us;
	if (u && !json_is_null(u)) {
		orders_field(f, sizeof(f), path, "updatedAt");
		if (!orders_time(u, f, &row->updated_us, err))
			return false;
	}
	return true;
}

bool orders_parse(const json_t *obj, const char *path, int64_t received_us, struct order_row *row,
		  struct app_err *err)
{
	const json_t *props;
	char f[128];
	int exponent = 2;

	memset(row, 0, sizeof(*row));
	if (!json_is_object(obj))
		return err_set(err, 400, "validation_failed", path, "order must be a JSON object");
	row->op = ORDER_UPSERT;
	row->source = "api";
	if (!parse_who(obj, path, row, err) || !parse_money(obj, path, row, &exponent, err) ||
	    !parse_times(obj, path, received_us, row, err))
		goto fail;
	orders_field(f, sizeof(f), path, "items");
	if (!orders_items(json_object_get(obj, "items"), f, exponent, &row->items, err))
		goto fail;
	props = json_object_get(obj, "properties");
	if (props && !json_is_null(props) && !json_is_object(props)) {
		bad(err, path, "properties", "must be an object");
		goto fail;
	}
	row->properties = props && json_is_object(props) ? json_dumps(props, JSON_COMPACT) : strdup("{}");
	row->raw = json_dumps(obj, JSON_COMPACT);
	if (!row->properties || !row->raw) {
		oom(err);
		goto fail;
	}
	return true;
fail:
	order_row_cleanup(row);
	return false;
}

/* properties.total, else properties.revenue (Segment: total includes
 * shipping and tax, revenue does not; the customer paid the total). */
static const json_t *segment_amount(const json_t *props, const char **name)
{
	const json_t *v = json_object_get(props, "total");
	*name = "total";
	if (!v || json_is_null(v)) {
		v = json_object_get(props, "revenue");
		*name = "revenue";
	}
	return v && !json_is_null(v) ? v : NULL;
}

static bool segment_completed(const json_t *msg, const json_t *props, const struct ingest_row *ev,
			      const char *pp, struct order_row *row, struct app_err *err)
{
	const json_t *cur = json_object_get(props, "currency"), *amt, *ctx, *email;
	const char *name;
	char f[128];
	int exponent = 2;

	orders_field(f, sizeof(f), pp, "currency");
	/* Segment's spec assumes USD when an e-commerce event names no currency. */
	if (cur && !json_is_null(cur)) {
		if (!orders_currency(cur, f, row->currency, &exponent, err))
			return false;
	} else
		memcpy(row->currency, "USD", 4);
	if (!(amt = segment_amount(props, &name)))
		return bad(err, pp, "total", "(or revenue) is required for Order Completed");
	orders_field(f, sizeof(f), pp, name);
	if (!orders_money(amt, f, exponent, false, &row->amount_minor, err))
		return false;
	email = json_object_get(props, "email");
	ctx = json_object_get(msg, "context");
	if (!json_is_string(email) && json_is_object(ctx))
		email = json_object_get(json_object_get(ctx, "traits"), "email");
	if (ev->user_id && !(row->user_id = strdup(ev->user_id)))
		return oom(err);
	if (!orders_add_id(row, "", ev->user_id, err) ||
	    !orders_set_email(row, json_is_string(email) ? json_string_value(email) : NULL, err) ||
	    !orders_add_id(row, "", ev->anonymous_id, err))
		return false;
	row->state = ORDER_PAID;
	row->ts_us = row->updated_us = ev->ts_us;
	orders_field(f, sizeof(f), pp, "products");
	if (!orders_items(json_object_get(props, "products"), f, exponent, &row->items, err))
		return false;
	row->properties = json_dumps(props, JSON_COMPACT);
	row->raw = json_dumps(msg, JSON_COMPACT);
	return row->properties && row->raw ? true : oom(err);
}

static bool segment_refunded(const json_t *props, const struct ingest_row *ev, const char *pp,
			     struct order_row *row, struct app_err *err)
{
	const json_t *cur = json_object_get(props, "currency"), *amt;
	const char *name;
	char f[128], text[128];
	int exponent = 2;
	int64_t probe;

	row->op = ORDER_REFUND;
	if (cur && !json_is_null(cur)) {
		orders_field(f, sizeof(f), pp, "currency");
		if (!orders_currency(cur, f, row->currency, &exponent, err))
			return false;
	}
	if ((amt = segment_amount(props, &name)) != NULL) {
		orders_field(row->field, sizeof(row->field), pp, name);
		if (!orders_number_text(amt, text, sizeof(text)) || money_parse(text, 0, &probe) == MONEY_SYNTAX)
			return err_set(err, 400, "validation_failed", row->field,
				       "%s must be a decimal string or a number", row->field);
		/* Precision and size depend on the order's currency: checked on apply. */
		if (text[0] == '-' && probe != 0)
			return err_set(err, 422, "invalid_amount", row->field, "%s must not be negative",
				       row->field);
		if (!(row->refund_amount = strdup(text)))
			return oom(err);
	} else
		orders_field(row->field, sizeof(row->field), pp, "total");
	/* One refund per message: a retried message is the same refund. */
	row->refund_key = malloc(strlen(ev->message_id) + 9);
	if (!row->refund_key)
		return oom(err);
	snprintf(row->refund_key, strlen(ev->message_id) + 9, "segment:%s", ev->message_id);
	return true;
}

int orders_from_segment(const json_t *msg, const struct ingest_row *ev, const char *path,
			struct order_row *row, struct app_err *err)
{
	const json_t *props = json_object_get(msg, "properties");
	bool completed, refunded;
	char pp[128], f[160];

	memset(row, 0, sizeof(*row));
	if (ev->type != EV_TRACK || !ev->event || !json_is_object(props))
		return 0;
	completed = strcmp(ev->event, "Order Completed") == 0;
	refunded = strcmp(ev->event, "Order Refunded") == 0;
	if (!completed && !refunded)
		return 0;
	orders_field(pp, sizeof(pp), path, "properties");
	orders_field(f, sizeof(f), pp, "order_id");
	if (!orders_id(json_object_get(props, "order_id"), f, &row->external_id, err))
		return -1;
	if (!row->external_id)
		return 0;
	row->op = ORDER_UPSERT;
	row->source = "api";
	if (completed ? !segment_completed(msg, props, ev, pp, row, err)
		      : !segment_refunded(props, ev, pp, row, err)) {
		order_row_cleanup(row);
		return -1;
	}
	return 1;
}
