/*
 * db_store.h - the SQL behind the in-memory event store (store.h).
 */
#ifndef DB_STORE_H
#define DB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/err.h"

struct db;
struct store;

/* Stream every event into the store in tie order (ts, received_at,
 * message_id), in chunks, logging progress. */
bool db_store_load(struct db *db, struct store *s, struct app_err *err) MUST_CHECK;

/* Add rows received since `since_us` that another process (or a person with
 * psql) wrote: ingest_node differs from `node` or is NULL. */
bool db_store_poll(struct db *db, struct store *s, int64_t since_us, int32_t node,
		   struct app_err *err) MUST_CHECK;

/* Stitching overrides of a project, for store queries. */
bool db_store_overrides(struct db *db, int64_t project_id, int64_t **old_ids, int64_t **new_ids,
			size_t *n, struct app_err *err) MUST_CHECK;

#endif
