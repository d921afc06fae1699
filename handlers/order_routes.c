/*
 * order_routes.c - see order_routes.h.
 *
 * Webhook flow, the same for the three sources:
 *   1. project from ?project= (default "default"), its secret for the source;
 *   2. verify the signature over the raw body (401 invalid_signature, and
 *      nothing stored, when it fails or no secret is configured);
 *   3. map the payload (400/422 naming the field; ignored topics 200
 *      {"ignored":true} so the provider stops retrying them);
 *   4. one transaction: remember the delivery id, apply the order; a
 *      delivery seen before answers 200 {"duplicate":true} and changes nothing.
 * Secrets and signature headers are never logged.
 */
#include "handlers/order_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers/orders.h"
#include "handlers/segment.h"
#include "handlers/webhooks.h"
#include "model/money.h"
#include "server/app.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/db_ingest.h"
#include "server/db_orders.h"
#include "server/log.h"

#define FX_MAX_RATES 1000
#define SECRET_CAP 512

static const char *const result_names[] = { "", "created", "updated", "unchanged", "unknown_order" };

/* Like ingest_parse_body, but an integer too big for int64 is an amount
 * overflow (422), not malformed JSON: Jansson refuses it while parsing. */
static json_t *parse_json(const struct http_req *req, size_t flags, struct app_err *err)
{
	json_error_t jerr;
	json_t *root;

	if (req->body_len == 0) {
		err_set(err, 400, "invalid_json", NULL, "request body is empty");
		return NULL;
	}
	root = json_loadb(req->body, req->body_len, flags, &jerr);
	if (!root) {
		if (strstr(jerr.text, "too big"))
			err_set(err, 422, "invalid_amount", NULL,
				"a number at line %d, column %d does not fit 64 bits", jerr.line, jerr.column);
		else
			err_set(err, 400, "invalid_json", NULL, "invalid JSON at line %d, column %d: %s",
				jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		err_set(err, 400, "invalid_json", NULL, "body must be a JSON object");
		return NULL;
	}
	return root;
}

/* No Authorization header: accept "writeKey" in the body, as /v1/track does. */
static bool auth_body(struct http_req *req, const json_t *root, struct app_err *err)
{
	const json_t *wk = json_object_get(root, "writeKey");

	if (req->project_id > 0)
		return true;
	if (!json_is_string(wk) || json_string_length(wk) == 0)
		return err_set(err, 401, "unauthorized", NULL,
			       "missing write key: use HTTP Basic with the key as user name");
	return auth_require(req->app, req, json_string_value(wk), HTTP_AUTH_WRITE, err);
}

static bool store(struct http_req *req, const struct order_row *rows, int n, const char *source,
		  const char *delivery, bool *dup, struct order_outcome *out, struct app_err *err)
{
	struct db *db = db_acquire(req->app->pool, 2000, err);
	bool ok;

	if (!db)
		return false;
	ok = db_orders_store(db, req->project_id, rows, n, source, delivery, dup, out, err);
	db_release(req->app->pool, db);
	return ok;
}

bool orders_commit(struct http_req *req, const struct order_row *rows, int n, struct app_err *err)
{
	bool dup = false;
	return store(req, rows, n, NULL, NULL, &dup, NULL, err);
}

static json_t *outcome_json(const struct order_row *row, const struct order_outcome *o)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "orderId", row->external_id, "source", row->source,
			      "result", result_names[o->result]);
	if (j && o->status[0]) {
		json_object_set_new(j, "status", json_string(o->status));
		json_object_set_new(j, "net_minor", json_integer(o->net_minor));
	}
	return j;
}

void h_orders_post(struct http_req *req, struct http_resp *resp)
{
	struct app_err err = { 0 };
	struct order_row row = { 0 };
	struct order_outcome out = { 0 };
	json_t *root = NULL;
	bool dup = false;

	if (!(root = parse_json(req, JSON_REJECT_DUPLICATES, &err)) || !auth_body(req, root, &err) ||
	    !orders_parse(root, "", req->received_us, &row, &err) ||
	    !store(req, &row, 1, NULL, NULL, &dup, &out, &err)) {
		http_resp_error(resp, &err);
		goto out;
	}
	resp->json = json_pack("{s:b, s:o}", "success", 1, "order", outcome_json(&row, &out));
out:
	order_row_cleanup(&row);
	json_decref(root);
}

/* --- webhooks --- */

struct hook {
	const char *source;
	const char *project;
	int64_t project_id;
	char secret[SECRET_CAP];
};

/* The project name comes from the URL: keep control characters out of the
 * log line it is quoted in. */
static const char *log_safe(const char *s, char out[65])
{
	size_t i = 0;
	for (; s[i] && i < 64; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
	return out;
}

/* Project and secret; 401 when either is unknown (one answer for both, so
 * the endpoint does not reveal which project names exist). */
static bool hook_secret(struct http_req *req, struct hook *h, struct app_err *err)
{
	struct db *db;
	bool ok;

	h->project = http_query(req, "project");
	if (!h->project || !*h->project)
		h->project = "default";
	if (strlen(h->project) > 200)
		return err_set(err, 400, "validation_failed", "project", "project name is too long");
	db = db_acquire(req->app->pool, 2000, err);
	if (!db)
		return false;
	ok = db_webhook_secret(db, h->project, h->source, &h->project_id, h->secret, sizeof(h->secret), err);
	db_release(req->app->pool, db);
	if (!ok)
		return false;
	if (h->project_id == 0) {
		char safe[65];
		log_msg(LOG_WARN, req->request_id, "%s webhook: no %s secret for project '%s'",
			h->source, h->source, log_safe(h->project, safe));
		return err_set(err, 401, "invalid_signature", NULL, "webhook signature could not be verified");
	}
	return true;
}

static bool bad_signature(struct http_req *req, const struct hook *h, const char *why,
			  struct app_err *err)
{
	char safe[65];

	log_msg(LOG_WARN, req->request_id, "%s webhook for project '%s' rejected: %s", h->source,
		log_safe(h->project, safe), why);
	return err_set(err, 401, "invalid_signature", NULL, "webhook signature could not be verified: %s",
		       why);
}

/* Steps 3 and 4 once the signature is good: answer from the mapper's result. */
static void hook_finish(struct http_req *req, struct http_resp *resp, struct hook *h, int rc,
			struct order_row *row, const char *reason, const char *delivery,
			struct app_err *err)
{
	struct order_outcome out = { 0 };
	bool dup = false;

	req->project_id = h->project_id;
	if (rc < 0) {
		http_resp_error(resp, err);
		return;
	}
	if (rc == 0) {
		resp->json = json_pack("{s:b, s:s}", "ignored", 1, "reason", reason);
		return;
	}
	if (!store(req, row, 1, h->source, delivery && *delivery ? delivery : NULL, &dup, &out, err)) {
		http_resp_error(resp, err);
		return;
	}
	if (dup)
		resp->json = json_pack("{s:b, s:b}", "success", 1, "duplicate", 1);
	else if (out.result == ORDER_UNKNOWN)
		resp->json = json_pack("{s:b, s:s}", "ignored", 1, "reason", "refund of an unknown order");
	else
		resp->json = json_pack("{s:b, s:o}", "success", 1, "order", outcome_json(row, &out));
}

void h_webhook_shopify(struct http_req *req, struct http_resp *resp)
{
	struct hook h = { .source = "shopify" };
	struct app_err err = { 0 };
	struct order_row row = { 0 };
	const char *reason = NULL;
	json_t *root = NULL;
	int rc = -1;

	if (!hook_secret(req, &h, &err))
		goto fail;
	if (!webhooks_verify_base64(h.secret, req->body, req->body_len,
				    http_header(req, "X-Shopify-Hmac-Sha256"))) {
		bad_signature(req, &h, "X-Shopify-Hmac-Sha256 does not match the body", &err);
		goto fail;
	}
	if ((root = parse_json(req, 0, &err)) != NULL)
		rc = webhooks_shopify(http_header(req, "X-Shopify-Topic"), root, &row, &reason, &err);
	hook_finish(req, resp, &h, rc, &row, reason, http_header(req, "X-Shopify-Webhook-Id"), &err);
	goto out;
fail:
	http_resp_error(resp, &err);
out:
	order_row_cleanup(&row);
	json_decref(root);
}

void h_webhook_stripe(struct http_req *req, struct http_resp *resp)
{
	static const char *const why[] = { "", "malformed Stripe-Signature header",
					   "no v1 signature matches the body",
					   "timestamp outside the tolerance" };
	struct hook h = { .source = "stripe" };
	struct app_err err = { 0 };
	struct order_row row = { 0 };
	const char *reason = NULL;
	char event_id[256] = "";
	json_t *root = NULL;
	enum stripe_sig sig;
	int rc = -1;

	if (!hook_secret(req, &h, &err))
		goto fail;
	sig = webhooks_verify_stripe(h.secret, req->body, req->body_len,
				     http_header(req, "Stripe-Signature"), (int64_t)time(NULL),
				     req->app->cfg->stripe_tolerance);
	if (sig != STRIPE_SIG_OK) {
		bad_signature(req, &h, why[sig], &err);
		goto fail;
	}
	if ((root = parse_json(req, 0, &err)) != NULL)
		rc = webhooks_stripe(root, &row, event_id, sizeof(event_id), &reason, &err);
	hook_finish(req, resp, &h, rc, &row, reason, event_id, &err);
	goto out;
fail:
	http_resp_error(resp, &err);
out:
	order_row_cleanup(&row);
	json_decref(root);
}

void h_webhook_woocommerce(struct http_req *req, struct http_resp *resp)
{
	struct hook h = { .source = "woocommerce" };
	struct app_err err = { 0 };
	struct order_row row = { 0 };
	const char *reason = NULL;
	char dedupe[320] = "";
	json_t *root = NULL;
	int rc = -1;

	/* WooCommerce pings a new webhook unsigned and disables it unless 200. */
	if (webhooks_is_woo_ping(req->body, req->body_len)) {
		resp->json = json_pack("{s:b, s:b}", "success", 1, "ping", 1);
		return;
	}
	if (!hook_secret(req, &h, &err))
		goto fail;
	if (!webhooks_verify_base64(h.secret, req->body, req->body_len,
				    http_header(req, "X-WC-Webhook-Signature"))) {
		bad_signature(req, &h, "X-WC-Webhook-Signature does not match the body", &err);
		goto fail;
	}
	if ((root = parse_json(req, 0, &err)) != NULL)
		rc = webhooks_woocommerce(http_header(req, "X-WC-Webhook-Topic"), root, &row, dedupe,
					  sizeof(dedupe), &reason, &err);
	hook_finish(req, resp, &h, rc, &row, reason, dedupe, &err);
	goto out;
fail:
	http_resp_error(resp, &err);
out:
	order_row_cleanup(&row);
	json_decref(root);
}

/* --- revenue and FX rates (read key) --- */

static bool query_time(const struct http_req *req, const char *name, char out[64], const char **ptr,
		       struct app_err *err)
{
	const char *v = http_query(req, name);
	int64_t us;

	*ptr = NULL;
	if (!v)
		return true;
	if (!segment_parse_time(v, &us))
		return err_set(err, 400, "validation_failed", name,
			       "%s must be an ISO-8601 date or date-time", name);
	db_format_ts(us, out);
	*ptr = out;
	return true;
}

void h_orders_revenue_get(struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "from", "to", NULL };
	struct app_err err = { 0 };
	char from_s[64], to_s[64];
	const char *from, *to, *unknown = http_query_unknown(req, allowed);
	struct db *db = NULL;

	if (unknown) {
		err_set(&err, 400, "validation_failed", NULL, "unknown query parameter (allowed: from, to)");
		goto fail;
	}
	if (!query_time(req, "from", from_s, &from, &err) || !query_time(req, "to", to_s, &to, &err) ||
	    !(db = db_acquire(req->app->read_pool, 2000, &err)))
		goto fail;
	resp->json = db_orders_revenue(db, req->project_id, from, to, &err);
	db_release(req->app->read_pool, db);
	if (resp->json)
		return;
fail:
	http_resp_error(resp, &err);
}

void h_fx_rates_get(struct http_req *req, struct http_resp *resp)
{
	struct app_err err = { 0 };
	struct db *db = db_acquire(req->app->read_pool, 2000, &err);

	if (db) {
		resp->json = db_fx_list(db, req->project_id, &err);
		db_release(req->app->read_pool, db);
	}
	if (!resp->json)
		http_resp_error(resp, &err);
}

/* One {"currency","quote"?,"day","rate"} -> normalised row for db_fx_set. */
static json_t *fx_row(const json_t *in, const char *path, struct app_err *err)
{
	const json_t *q = json_object_get(in, "quote"), *day = json_object_get(in, "day");
	char f[64], cur[4], quote[4] = "", rate_text[128], norm[48];
	int e;
	int64_t us, minor;
	enum money_status st;

	snprintf(f, sizeof(f), "%s.currency", path);
	if (!json_is_object(in)) {
		err_set(err, 400, "validation_failed", path, "%s must be an object", path);
		return NULL;
	}
	if (!orders_currency(json_object_get(in, "currency"), f, cur, &e, err))
		return NULL;
	snprintf(f, sizeof(f), "%s.quote", path);
	if (q && !json_is_null(q) && !orders_currency(q, f, quote, &e, err))
		return NULL;
	if (quote[0] && strcmp(quote, cur) == 0) {
		err_set(err, 422, "validation_failed", f, "%s must differ from currency", f);
		return NULL;
	}
	snprintf(f, sizeof(f), "%s.day", path);
	if (!json_is_string(day) || json_string_length(day) != 10 ||
	    !segment_parse_time(json_string_value(day), &us)) {
		err_set(err, 400, "validation_failed", f, "%s must be a date YYYY-MM-DD", f);
		return NULL;
	}
	/* Rates are exact decimals with up to 10 places, stored as numeric. */
	snprintf(f, sizeof(f), "%s.rate", path);
	if (!orders_number_text(json_object_get(in, "rate"), rate_text, sizeof(rate_text)) ||
	    (st = money_parse(rate_text, 10, &minor)) == MONEY_SYNTAX) {
		err_set(err, 400, "validation_failed", f, "%s must be a decimal string or number", f);
		return NULL;
	}
	if (st != MONEY_OK || minor <= 0) {
		err_set(err, 422, "validation_failed", f, "%s must be positive with at most 10 decimals", f);
		return NULL;
	}
	money_format(minor, 10, norm, sizeof(norm));
	return json_pack("{s:s, s:s?, s:s, s:s}", "currency", cur, "quote", quote[0] ? quote : NULL,
			 "day", json_string_value(day), "rate", norm);
}

void h_fx_rates_post(struct http_req *req, struct http_resp *resp)
{
	struct app_err err = { 0 };
	json_t *root = NULL, *rows = NULL, *r;
	const json_t *rates;
	struct db *db = NULL;
	char path[32];
	int stored = 0;
	size_t i;

	if (!(root = parse_json(req, JSON_REJECT_DUPLICATES, &err)))
		goto fail;
	rates = json_object_get(root, "rates");
	if (!json_is_array(rates) || json_array_size(rates) == 0 || json_array_size(rates) > FX_MAX_RATES) {
		err_set(&err, 400, "validation_failed", "rates", "rates must be an array of 1 to %d rates",
			FX_MAX_RATES);
		goto fail;
	}
	rows = json_array();
	json_array_foreach(rates, i, r) {
		json_t *row;
		snprintf(path, sizeof(path), "rates[%zu]", i);
		if (!(row = fx_row(r, path, &err)) || json_array_append_new(rows, row) != 0)
			goto fail;
	}
	if (!(db = db_acquire(req->app->pool, 2000, &err)))
		goto fail;
	if (!db_fx_set(db, req->project_id, rows, &stored, &err)) {
		db_release(req->app->pool, db);
		goto fail;
	}
	db_release(req->app->pool, db);
	resp->json = json_pack("{s:b, s:i}", "success", 1, "stored", stored);
	goto out;
fail:
	if (err.status == 0)
		err_set(&err, 500, "internal", NULL, "out of memory");
	http_resp_error(resp, &err);
out:
	json_decref(rows);
	json_decref(root);
}
