/*
 * app.h - the process-wide context handed to every handler.
 */
#ifndef APP_H
#define APP_H

#include "server/config.h"

struct db_pool;
struct writer;
struct auth_cache;
struct http_server;
struct scheduler;
struct store;
struct profiles;

struct app {
	const struct config *cfg;
	struct db_pool *pool;       /* primary: writes outside the writer, admin */
	struct db_pool *read_pool;  /* queries: READ_DATABASE_URL or the primary */
	struct writer *writer;      /* group-commit event writer */
	struct auth_cache *auth;
	struct http_server *http;   /* set once serving; for /metrics */
	struct scheduler *scheduler; /* scoring runs (server/scheduler.h) */
	struct store *store;        /* in-memory event copy, NULL when off (server/store.h) */
	struct profiles *profiles;  /* batched person profiles (server/profiles.h) */
};

#endif
