/*
 * migrate.h - forward-only schema migrations, embedded in the binary.
 *
 * migrations/NNNN_name.sql are compiled in (scripts/embed_sql.sh). At start-up
 * migrate_run() takes a session advisory lock (so replicas starting together
 * apply each file once), then applies every missing file in its own
 * transaction and records it in schema_migrations.
 */
#ifndef MIGRATE_H
#define MIGRATE_H

#include <stdbool.h>

#include "server/err.h"

struct db;

struct migration {
	int version;       /* NNNN from the file name */
	const char *name;  /* file name without .sql */
	const char *sql;
};

extern const struct migration migrate_files[];
extern const int migrate_count;

/* Apply missing migrations; logs one line per file applied. */
bool migrate_run(struct db *db, struct app_err *err) MUST_CHECK;
/* Highest version compiled in (what /ready expects to find applied). */
int migrate_latest(void);

#endif
