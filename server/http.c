/*
 * http.c - libmicrohttpd plumbing: routing, body accumulation with hard
 * limits, gzip, authentication, request ids, responses, draining.
 *
 * Thread model: MHD_USE_THREAD_PER_CONNECTION with an internal polling thread
 * and ITC (STYLE.md §3.1). Handlers block (libpq, the writer's group commit),
 * which is only safe when every connection has its own thread. A connection
 * limit and an inactivity timeout bound the threads; a slow-loris client is
 * dropped after conn_timeout seconds without progress.
 *
 * Per request: the first access-handler call only allocates `struct request`
 * and does header checks (route, Content-Length, Content-Type); body chunks
 * are copied (upload_data is valid only during the call) while counting
 * bytes against the route's limit; the final call dispatches. Responses are
 * queued on the final call so keep-alive survives (STYLE.md §3.11), except
 * 413 on a declared Content-Length, which we answer before reading a byte.
 */
#include "server/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "server/app.h"
#include "server/auth.h"
#include "server/crypto.h"
#include "server/log.h"
#include "server/metrics.h"

struct http_server {
	struct MHD_Daemon *daemon;
	struct app *app;
	const struct http_route *routes;
	atomic_long in_flight;
	uint64_t id_base;          /* random per process: request ids of two processes differ */
	atomic_uint_least64_t id_seq;
};

struct request {
	struct http_req req;
	const struct http_route *route;
	struct app_err early;      /* error found on the headers call */
	char *buf;                 /* body bytes (+1 for NUL) */
	size_t len, cap, limit;
	bool too_big;
	bool gzip;
	int64_t start_ns;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Accept a client's X-Request-Id when it is short and plain, else make one:
 * splitmix64 of the process's random base plus a counter, a bijection, so
 * ids never repeat within a process and look random. (Drawing 8 bytes from
 * the OpenSSL RNG per request cost 4% of a profile request's CPU.) */
static void set_request_id(struct http_server *srv, char *out, size_t cap, const char *given)
{
	uint64_t z;
	uint8_t b[8];

	if (given && *given && strlen(given) < cap && strspn(given,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") == strlen(given)) {
		strcpy(out, given);
		return;
	}
	z = srv->id_base + 0x9E3779B97F4A7C15ULL * atomic_fetch_add(&srv->id_seq, 1);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(z >> (56 - 8 * i));
	crypto_hex(b, sizeof(b), out);
}

static const char *lookup(void *ctx, enum http_lookup kind, const char *name)
{
	return MHD_lookup_connection_value((struct MHD_Connection *)ctx,
					   kind == HTTP_HEADER ? MHD_HEADER_KIND : MHD_GET_ARGUMENT_KIND,
					   name);
}

struct iter_ctx {
	bool (*fn)(void *arg, const char *k, const char *v);
	void *arg;
};

static enum MHD_Result iter_cb(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
	struct iter_ctx *it = cls;
	(void)kind;
	return it->fn(it->arg, k, v ? v : "") ? MHD_YES : MHD_NO;
}

static void each_query(void *ctx, bool (*fn)(void *arg, const char *k, const char *v), void *arg)
{
	struct iter_ctx it = { fn, arg };
	MHD_get_connection_values((struct MHD_Connection *)ctx, MHD_GET_ARGUMENT_KIND, iter_cb, &it);
}

/* Match "/v1/models/runs/{id}" against a path, capturing {x} segments. */
static bool match(const char *pattern, const char *path, struct http_req *req)
{
	const char *p = pattern, *s = path;

	req->n_params = 0;
	while (*p && *s) {
		if (*p == '{') {
			const char *end = strchr(s, '/');
			size_t n = end ? (size_t)(end - s) : strlen(s);
			if (n == 0 || req->n_params == HTTP_MAX_PARAMS)
				return false;
			req->params[req->n_params++] = s; /* terminated later by split */
			s += n;
			p = strchr(p, '}');
			if (!p)
				return false;
			p++;
		} else if (*p++ != *s++)
			return false;
	}
	return *p == '\0' && *s == '\0';
}

static const struct http_route *route_find(const struct http_route *routes, const char *method,
					   const char *path, struct http_req *req, bool *other_method)
{
	*other_method = false;
	for (const struct http_route *r = routes; r->pattern; r++) {
		if (!match(r->pattern, path, req))
			continue;
		if (strcmp(r->method, method) == 0)
			return r;
		*other_method = true;
	}
	return NULL;
}

/* Copy path parameters into owned NUL-terminated strings inside the body
 * buffer's neighbour: simplest is to strdup them into a small arena. */
static bool own_params(struct request *rq, char *store, size_t cap)
{
	size_t used = 0;

	for (int i = 0; i < rq->req.n_params; i++) {
		const char *s = rq->req.params[i];
		size_t n = strcspn(s, "/");
		if (used + n + 1 > cap)
			return false;
		memcpy(store + used, s, n);
		store[used + n] = '\0';
		rq->req.params[i] = store + used;
		used += n + 1;
	}
	return true;
}

static bool content_type_json(const char *ct)
{
	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, "application/json", 16) == 0 &&
	       (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

static bool append_body(struct request *rq, const char *data, size_t n)
{
	if (rq->too_big || rq->early.status)
		return true; /* keep consuming, answer on the final call */
	if (rq->len + n > rq->limit) {
		rq->too_big = true;
		return true;
	}
	if (rq->len + n + 1 > rq->cap) {
		size_t cap = rq->cap ? rq->cap : 4096;
		char *b;
		while (cap < rq->len + n + 1)
			cap *= 2;
		b = realloc(rq->buf, cap);
		if (!b)
			return false;
		rq->buf = b;
		rq->cap = cap;
	}
	memcpy(rq->buf + rq->len, data, n);
	rq->len += n;
	rq->buf[rq->len] = '\0';
	return true;
}

/* Inflate a gzip body (RudderStack sends gzip by default) within `limit`. */
static bool inflate_body(struct request *rq, struct app_err *err)
{
	z_stream zs;
	char *out = NULL;
	size_t cap = rq->limit + 1, len = 0;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return err_set(err, 500, "internal", NULL, "inflate init failed");
	out = malloc(cap + 1);
	if (!out) {
		inflateEnd(&zs);
		return err_set(err, 500, "internal", NULL, "out of memory");
	}
	zs.next_in = (Bytef *)rq->buf;
	zs.avail_in = (uInt)rq->len;
	do {
		zs.next_out = (Bytef *)out + len;
		zs.avail_out = (uInt)(cap - len);
		rc = inflate(&zs, Z_NO_FLUSH);
		len = cap - zs.avail_out;
	} while (rc == Z_OK && zs.avail_out > 0 && zs.avail_in > 0);
	inflateEnd(&zs);
	if (rc != Z_STREAM_END) {
		free(out);
		if (len >= cap)
			return err_set(err, 413, "payload_too_large", NULL,
				       "inflated body exceeds %zu bytes", rq->limit);
		return err_set(err, 400, "invalid_gzip", NULL, "body is not valid gzip");
	}
	out[len] = '\0';
	free(rq->buf);
	rq->buf = out;
	rq->len = len;
	rq->cap = cap + 1;
	return true;
}

static enum MHD_Result send_resp(struct MHD_Connection *c, struct request *rq, struct http_resp *resp)
{
	struct MHD_Response *mr;
	char *body;
	size_t len;
	enum MHD_Result ret;
	char ra[16];

	if (resp->json) {
		/* 15 significant digits: 0.04 prints as 0.04, not 0.040000000000000001. */
		body = json_dumps(resp->json, JSON_COMPACT | JSON_REAL_PRECISION(15));
		len = body ? strlen(body) : 0;
		json_decref(resp->json);
		resp->json = NULL;
		resp->content_type = "application/json";
	} else {
		body = resp->text;
		len = resp->text_len;
		resp->text = NULL;
	}
	if (!body) {
		body = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"response encoding failed\"}}");
		len = body ? strlen(body) : 0;
		resp->status = 500;
		resp->content_type = "application/json";
	}
	mr = MHD_create_response_from_buffer_with_free_callback(len, body, &free);
	if (!mr) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(mr, "Content-Type", resp->content_type ? resp->content_type
									 : "application/json");
	MHD_add_response_header(mr, "X-Request-Id", rq->req.request_id);
	if (resp->retry_after > 0) {
		snprintf(ra, sizeof(ra), "%d", resp->retry_after);
		MHD_add_response_header(mr, "Retry-After", ra);
	}
	ret = MHD_queue_response(c, (unsigned int)resp->status, mr);
	MHD_destroy_response(mr);
	metrics_request(rq->route ? rq->route->pattern : "unmatched", resp->status,
			(now_ns() - rq->start_ns) / 1000);
	if (resp->status >= 500)
		log_warn("[%s] %s %s -> %d", rq->req.request_id, rq->req.method, rq->req.path,
			 resp->status);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, struct request *rq,
				  const struct app_err *err)
{
	struct http_resp resp = { 0 };
	http_resp_error(&resp, err);
	return send_resp(c, rq, &resp);
}

/* Header-time checks: route, method, declared size, content type. */
static void check_headers(struct http_server *srv, struct MHD_Connection *c, struct request *rq)
{
	const struct config *cfg = srv->app->cfg;
	const char *cl, *ct, *ce;
	bool other = false;

	rq->route = route_find(srv->routes, rq->req.method, rq->req.path, &rq->req, &other);
	if (!rq->route) {
		if (other)
			err_set(&rq->early, 405, "method_not_allowed", NULL, "method %s not allowed here",
				rq->req.method);
		else
			err_set(&rq->early, 404, "not_found", NULL, "no route for %s", rq->req.path);
		return;
	}
	rq->limit = (size_t)(rq->route->batch_limit ? cfg->max_batch_bytes : cfg->max_message_bytes);
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > rq->limit) {
		err_set(&rq->early, 413, "payload_too_large", NULL, "body exceeds %zu bytes", rq->limit);
		return;
	}
	ce = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
	if (ce && strcasecmp(ce, "gzip") == 0)
		rq->gzip = true;
	else if (ce && strcasecmp(ce, "identity") != 0) {
		err_set(&rq->early, 415, "unsupported_encoding", NULL,
			"Content-Encoding must be gzip or identity");
		return;
	}
	ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (rq->route->json_body && !content_type_json(ct))
		err_set(&rq->early, 415, "unsupported_media_type", NULL,
			"Content-Type must be application/json");
}

static bool authenticate(struct app *app, struct request *rq, struct app_err *err)
{
	const char *h;
	enum http_auth need = rq->route->auth;

	if (need == HTTP_AUTH_NONE || need == HTTP_AUTH_SIGNED)
		return true;
	h = http_header(&rq->req, "Authorization");
	if (!auth_key_from_header(h, rq->req.header_key_buf, sizeof(rq->req.header_key_buf)))
		rq->req.header_key = NULL;
	else
		rq->req.header_key = rq->req.header_key_buf;
	if (!rq->req.header_key) {
		/* Segment also accepts writeKey in the body: the ingest handler checks it. */
		if (need == HTTP_AUTH_WRITE)
			return true;
		return err_set(err, 401, "unauthorized", NULL,
			       "missing API key: send Authorization: Bearer <read key>");
	}
	return auth_require(app, &rq->req, rq->req.header_key, need, err);
}

static enum MHD_Result dispatch(struct http_server *srv, struct MHD_Connection *c, struct request *rq)
{
	struct http_resp resp = { 0 };
	struct app_err err = { 0 };
	char params[512];

	if (rq->early.status)
		return send_error(c, rq, &rq->early);
	if (rq->too_big) {
		err_set(&err, 413, "payload_too_large", NULL, "body exceeds %zu bytes", rq->limit);
		return send_error(c, rq, &err);
	}
	if (!rq->buf && !append_body(rq, "", 0)) {
		err_set(&err, 500, "internal", NULL, "out of memory");
		return send_error(c, rq, &err);
	}
	if (rq->gzip && rq->len > 0 && !inflate_body(rq, &err))
		return send_error(c, rq, &err);
	if (!own_params(rq, params, sizeof(params))) {
		err_set(&err, 414, "uri_too_long", NULL, "path parameters too long");
		return send_error(c, rq, &err);
	}
	rq->req.body = rq->buf ? rq->buf : "";
	rq->req.body_len = rq->len;
	if (!authenticate(srv->app, rq, &err))
		return send_error(c, rq, &err);
	resp.status = 200;
	rq->route->handler(&rq->req, &resp);
	return send_resp(c, rq, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct request *rq = *con_cls;

	(void)version;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		atomic_fetch_add(&srv->in_flight, 1);
		rq->start_ns = now_ns();
		rq->req.method = method;
		rq->req.path = url;
		rq->req.app = srv->app;
		rq->req.lookup = lookup;
		rq->req.each_query = each_query;
		rq->req.ctx = c;
		rq->req.received_us = wall_us();
		set_request_id(srv, rq->req.request_id, sizeof(rq->req.request_id),
			       MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id"));
		check_headers(srv, c, rq);
		/* Refuse a declared oversize body before reading it (MHD drops the upload). */
		if (rq->early.status == 413)
			return send_error(c, rq, &rq->early);
		return MHD_YES;
	}
	if (*upload_size) {
		if (!append_body(rq, upload_data, *upload_size))
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->early.status == 413)
		return MHD_YES; /* already answered on the headers call */
	return dispatch(srv, c, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct request *rq = *con_cls;

	(void)c;
	(void)toe;
	if (!rq)
		return;
	atomic_fetch_sub(&srv->in_flight, 1);
	free(rq->buf);
	free(rq);
	*con_cls = NULL;
}

static bool parse_listen(const char *listen, struct sockaddr_in *sa, struct app_err *err)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	long port;

	if (!colon || (size_t)(colon - listen) >= sizeof(host))
		return err_set(err, 400, "bad_config", NULL, "COHORTD_LISTEN must be host:port");
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	port = strtol(colon + 1, NULL, 10);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (port <= 0 || port > 65535 ||
	    inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, &sa->sin_addr) != 1)
		return err_set(err, 400, "bad_config", NULL,
			       "COHORTD_LISTEN must be an IPv4 host:port, got '%s'", listen);
	return true;
}

struct http_server *http_start(struct app *app, const struct http_route *routes, struct app_err *err)
{
	struct http_server *srv;
	struct sockaddr_in sa;

	if (!parse_listen(app->cfg->listen, &sa, err))
		return NULL;
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		err_set(err, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	srv->app = app;
	srv->routes = routes;
	atomic_init(&srv->in_flight, 0);
	atomic_init(&srv->id_seq, 0);
	if (!crypto_random((uint8_t *)&srv->id_base, sizeof(srv->id_base)))
		srv->id_base = (uint64_t)wall_us();
	srv->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
			MHD_USE_ITC |
			MHD_USE_ERROR_LOG,
		0, NULL, NULL, &on_request, srv,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)app->cfg->max_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)app->cfg->conn_timeout,
		MHD_OPTION_NOTIFY_COMPLETED, &on_completed, srv,
		MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024),
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
		MHD_OPTION_END);
	if (!srv->daemon) {
		free(srv);
		err_set(err, 500, "listen_failed", NULL, "cannot listen on %s", app->cfg->listen);
		return NULL;
	}
	return srv;
}

long http_in_flight(const struct http_server *srv)
{
	return srv ? atomic_load(&((struct http_server *)srv)->in_flight) : 0;
}

void http_stop(struct http_server *srv, int drain_ms)
{
	if (!srv)
		return;
	MHD_quiesce_daemon(srv->daemon);
	for (int waited = 0; waited < drain_ms && atomic_load(&srv->in_flight) > 0; waited += 10)
		usleep(10000);
	MHD_stop_daemon(srv->daemon);
	free(srv);
}

void http_resp_error(struct http_resp *resp, const struct app_err *err)
{
	json_t *e = json_object();

	json_object_set_new(e, "code", json_string(err->code ? err->code : "internal"));
	json_object_set_new(e, "message", json_string(err->message));
	if (err->field[0])
		json_object_set_new(e, "field", json_string(err->field));
	json_decref(resp->json);
	resp->json = json_pack("{s:o}", "error", e);
	resp->status = err->status ? err->status : 500;
	resp->retry_after = err->retry_after;
}

void http_resp_success(struct http_resp *resp)
{
	resp->status = 200;
	resp->json = json_pack("{s:b}", "success", 1);
}

struct unknown_ctx {
	const char *const *allowed;
	const char *found;
};

static bool check_known(void *arg, const char *k, const char *v)
{
	struct unknown_ctx *u = arg;
	(void)v;
	for (const char *const *a = u->allowed; *a; a++)
		if (strcmp(*a, k) == 0)
			return true;
	u->found = k;
	return false;
}

const char *http_query_unknown(const struct http_req *r, const char *const *allowed)
{
	struct unknown_ctx u = { allowed, NULL };
	if (r->each_query)
		r->each_query(r->ctx, check_known, &u);
	return u.found;
}
