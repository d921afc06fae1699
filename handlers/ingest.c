#include "handlers/ingest.h"

#include <stdlib.h>
#include <string.h>

#include "handlers/order_routes.h"
#include "handlers/orders.h"
#include "handlers/segment.h"
#include "server/app.h"
#include "server/auth.h"
#include "server/writer.h"

json_t *ingest_parse_body(const struct http_req *req, struct app_err *err)
{
	json_error_t jerr;
	json_t *root;

	if (req->body_len == 0) {
		err_set(err, 400, "invalid_json", NULL, "request body is empty");
		return NULL;
	}
	root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
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

/* No Authorization header: Segment also accepts "writeKey" in the body. */
static bool auth_body(struct http_req *req, const json_t *root, struct app_err *err)
{
	const json_t *wk;

	if (req->project_id > 0)
		return true;
	wk = json_object_get(root, "writeKey");
	if (!json_is_string(wk) || json_string_length(wk) == 0)
		return err_set(err, 401, "unauthorized", NULL,
			       "missing write key: use HTTP Basic with the key as user name");
	return auth_require(req->app, req, json_string_value(wk), HTTP_AUTH_WRITE, err);
}

static void free_rows(struct ingest_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		ingest_row_cleanup(&rows[i]);
	free(rows);
}

static void free_orders(struct order_row *orders, int n)
{
	for (int i = 0; i < n; i++)
		order_row_cleanup(&orders[i]);
	free(orders);
}

/* Events go through the group-commit writer with any orders attached (one
 * transaction); orders alone go straight to the database (order_routes.h). */
static void commit_rows(struct http_req *req, struct http_resp *resp, struct ingest_row *rows, int n,
			const struct order_row *orders, int n_orders, struct app_err *err)
{
	struct ingest_job job = { .project_id = req->project_id, .received_us = req->received_us,
				  .rows = rows, .n = n, .orders = orders, .n_orders = n_orders };
	bool ok = n > 0 ? writer_submit(req->app->writer, &job, err)
			: orders_commit(req, orders, n_orders, err);

	if (!ok)
		http_resp_error(resp, err);
	else
		http_resp_success(resp);
}

static void ingest_single(struct http_req *req, struct http_resp *resp, enum ev_type type)
{
	struct app_err err = { 0 };
	struct segment_ctx ctx = { .received_us = req->received_us };
	struct ingest_row *row = calloc(1, sizeof(*row));
	struct order_row order = { 0 };
	json_t *root = NULL;
	int n_orders = 0;

	if (!row) {
		err_set(&err, 500, "internal", NULL, "out of memory");
		goto fail;
	}
	if (!(root = ingest_parse_body(req, &err)) || !auth_body(req, root, &err) ||
	    !segment_parse_message(root, type, &ctx, "", row, &err))
		goto fail;
	/* Segment e-commerce "Order Completed"/"Order Refunded" also write the order. */
	if ((n_orders = orders_from_segment(root, row, "", &order, &err)) < 0) {
		ingest_row_cleanup(row);
		goto fail;
	}
	commit_rows(req, resp, row, 1, &order, n_orders, &err);
	order_row_cleanup(&order);
	free_rows(row, 1);
	json_decref(root);
	return;
fail:
	http_resp_error(resp, &err);
	free(row);
	json_decref(root);
}

void h_ingest_track(struct http_req *req, struct http_resp *resp) { ingest_single(req, resp, EV_TRACK); }
void h_ingest_identify(struct http_req *req, struct http_resp *resp) { ingest_single(req, resp, EV_IDENTIFY); }
void h_ingest_page(struct http_req *req, struct http_resp *resp) { ingest_single(req, resp, EV_PAGE); }
void h_ingest_screen(struct http_req *req, struct http_resp *resp) { ingest_single(req, resp, EV_SCREEN); }
void h_ingest_group(struct http_req *req, struct http_resp *resp) { ingest_single(req, resp, EV_GROUP); }
void h_ingest_alias(struct http_req *req, struct http_resp *resp) { ingest_single(req, resp, EV_ALIAS); }

void h_ingest_batch(struct http_req *req, struct http_resp *resp)
{
	struct app_err err = { 0 };
	struct segment_ctx ctx = { .received_us = req->received_us,
				   .max_message_bytes = (size_t)req->app->cfg->max_message_bytes };
	struct ingest_row *rows = NULL;
	struct order_row *orders = NULL;
	json_t *root = NULL, *batch, *msg;
	const json_t *bctx;
	size_t i, n = 0, n_orders = 0;
	char path[32];
	int k;

	if (!(root = ingest_parse_body(req, &err)) || !auth_body(req, root, &err))
		goto fail;
	batch = json_object_get(root, "batch");
	if (!json_is_array(batch)) {
		err_set(&err, 400, "validation_failed", "batch", "batch must be an array of messages");
		goto fail;
	}
	if (json_array_size(batch) == 0 || json_array_size(batch) > SEGMENT_MAX_BATCH) {
		err_set(&err, 400, "validation_failed", "batch", "batch must hold 1 to %d messages",
			SEGMENT_MAX_BATCH);
		goto fail;
	}
	bctx = json_object_get(root, "context");
	ctx.batch_context = json_is_object(bctx) ? bctx : NULL;
	if (json_object_get(root, "sentAt") &&
	    (!json_is_string(json_object_get(root, "sentAt")) ||
	     !segment_parse_time(json_string_value(json_object_get(root, "sentAt")), &ctx.batch_sent_us))) {
		err_set(&err, 400, "validation_failed", "sentAt", "sentAt must be an ISO-8601 date-time");
		goto fail;
	}
	rows = calloc(json_array_size(batch), sizeof(*rows));
	orders = calloc(json_array_size(batch), sizeof(*orders));
	if (!rows || !orders) {
		err_set(&err, 500, "internal", NULL, "out of memory");
		goto fail;
	}
	json_array_foreach(batch, i, msg) {
		snprintf(path, sizeof(path), "batch[%zu]", i);
		/* type "order": a generic order (handlers/orders.h), not an event. */
		if (json_is_string(json_object_get(msg, "type")) &&
		    strcmp(json_string_value(json_object_get(msg, "type")), "order") == 0) {
			if (!orders_parse(msg, path, req->received_us, &orders[n_orders], &err))
				goto fail;
			n_orders++;
			continue;
		}
		if (!segment_parse_message(msg, 0, &ctx, path, &rows[n], &err))
			goto fail;
		n++;
		if ((k = orders_from_segment(msg, &rows[n - 1], path, &orders[n_orders], &err)) < 0)
			goto fail;
		n_orders += (size_t)k;
	}
	commit_rows(req, resp, rows, (int)n, orders, (int)n_orders, &err);
	free_rows(rows, (int)n);
	free_orders(orders, (int)n_orders);
	json_decref(root);
	return;
fail:
	http_resp_error(resp, &err);
	free_rows(rows, (int)n);
	free_orders(orders, (int)n_orders);
	json_decref(root);
}
