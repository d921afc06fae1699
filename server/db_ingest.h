/*
 * db_ingest.h - the SQL of one group commit (called by the writer thread).
 */
#ifndef DB_INGEST_H
#define DB_INGEST_H

#include <stdbool.h>

#include "server/err.h"
#include "server/writer.h"

struct db;

/* In one transaction: resolve identities (model/identity.h) under a
 * per-project advisory lock, insert new identities, persons and overrides,
 * insert the events (ON CONFLICT DO NOTHING on (project, person, messageId)),
 * update persons' first/last seen and traits, COMMIT. All or nothing. */
bool db_ingest_commit(struct db *db, struct ingest_job *const *jobs, int n,
		      struct app_err *err) MUST_CHECK;

/* Format µs since epoch as a PostgreSQL timestamptz literal (UTC). */
void db_format_ts(int64_t us, char out[64]);

#endif
