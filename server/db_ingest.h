/*
 * db_ingest.h - the SQL of one group commit (called by the writer thread).
 */
#ifndef DB_INGEST_H
#define DB_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "server/err.h"
#include "server/writer.h"

struct db;

/* In one transaction: resolve identities (model/identity.h) under a
 * per-project advisory lock, insert new identities, persons and overrides,
 * insert the events (ON CONFLICT DO NOTHING on (project, person, messageId)),
 * update persons' first/last seen and traits, COMMIT. All or nothing. */
struct store;
struct ingest_returned;
struct idcache;

/* `returned` (may be NULL): receives the rows actually inserted, tagged
 * with ingest_node = node, to hand to the in-memory store after COMMIT.
 * `cache` (may be NULL): the writer's distinct id -> person cache; a group
 * whose ids are all cached and that links none commits in one statement. */
bool db_ingest_commit(struct db *db, struct ingest_job *const *jobs, int n, int32_t node,
		      struct idcache *cache, struct ingest_returned **returned,
		      struct app_err *err) MUST_CHECK;
/* Add the inserted rows to the store (tie order), then nothing is kept. */
void db_ingest_returned_to_store(struct ingest_returned *r, struct store *s);
void db_ingest_returned_free(struct ingest_returned *r);

/* Format µs since epoch as a PostgreSQL timestamptz literal (UTC). */
void db_format_ts(int64_t us, char out[64]);

#endif
