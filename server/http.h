/*
 * http.h - the HTTP surface handlers see: a plain request and response.
 *
 * Only http.c includes microhttpd.h. A handler gets a `struct http_req`
 * (method, path, path parameters, body already received and inflated,
 * authenticated project) and fills a `struct http_resp` (status + JSON, or
 * status + text). Header and query lookups go through function pointers so
 * a handler can be unit-tested without a socket.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "server/err.h"

struct app;

enum http_auth {
	HTTP_AUTH_NONE,   /* public: /health, /ready, /metrics, /openapi.json */
	HTTP_AUTH_WRITE,  /* write key: HTTP Basic user name, or writeKey in the body */
	HTTP_AUTH_READ,   /* read key: Authorization: Bearer <key> */
	HTTP_AUTH_SIGNED, /* webhooks: the handler verifies a signature itself */
};

enum http_lookup { HTTP_HEADER, HTTP_QUERY };

#define HTTP_MAX_PARAMS 4

struct http_req {
	const char *method;
	const char *path;
	char request_id[40];
	const char *body;          /* NUL-terminated copy, body_len bytes before the NUL */
	size_t body_len;
	const char *params[HTTP_MAX_PARAMS]; /* "{x}" path segments, in order */
	int n_params;
	int64_t project_id;        /* > 0 once authenticated */
	enum http_auth key_kind;   /* kind of the key that authenticated */
	const char *header_key;    /* key from Authorization, NULL if none */
	char header_key_buf[128];
	int64_t received_us;       /* when the request arrived, µs since epoch (UTC) */
	struct app *app;
	const char *(*lookup)(void *ctx, enum http_lookup kind, const char *name);
	/* Call fn for each query argument; stops early when fn returns false. */
	void (*each_query)(void *ctx, bool (*fn)(void *arg, const char *k, const char *v), void *arg);
	void *ctx;
};

struct http_resp {
	int status;
	json_t *json;              /* owned; serialised compactly */
	char *text;                /* owned alternative to json (CSV, Prometheus text) */
	size_t text_len;
	const char *content_type;  /* for text */
	int retry_after;           /* seconds, adds Retry-After when > 0 */
};

typedef void (*http_handler)(struct http_req *req, struct http_resp *resp);

struct http_route {
	const char *method;        /* "GET", "POST" */
	const char *pattern;       /* "/v1/track", "/v1/models/runs/{id}" */
	enum http_auth auth;
	bool json_body;            /* requires Content-Type: application/json */
	bool batch_limit;          /* body limit = batch limit, else message limit */
	http_handler handler;
};

static inline const char *http_header(const struct http_req *r, const char *name)
{
	return r->lookup ? r->lookup(r->ctx, HTTP_HEADER, name) : NULL;
}

static inline const char *http_query(const struct http_req *r, const char *name)
{
	return r->lookup ? r->lookup(r->ctx, HTTP_QUERY, name) : NULL;
}

/* Error body {"error":{"code","message","field"}} with err's status. */
void http_resp_error(struct http_resp *resp, const struct app_err *err);
/* 200 {"success":true}, the Segment answer. */
void http_resp_success(struct http_resp *resp);
/* First query key not in the NULL-terminated `allowed` list, or NULL. */
const char *http_query_unknown(const struct http_req *r, const char *const *allowed);

struct http_server;

/* Start serving `routes` (NULL-pattern terminated) on cfg->listen. */
struct http_server *http_start(struct app *app, const struct http_route *routes, struct app_err *err);
/* Stop accepting, wait up to drain_ms for in-flight requests, then stop. */
void http_stop(struct http_server *srv, int drain_ms);
/* Requests currently being processed (for /metrics and draining). */
long http_in_flight(const struct http_server *srv);

#endif
