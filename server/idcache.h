/*
 * idcache.h - the writer's cache of distinct id -> raw person.
 *
 * A distinct id keeps its raw person forever (docs/identity.md: identities
 * rows are never changed), so a cached mapping can never go stale, on this
 * replica or any other. With every id of a group commit cached and no
 * identify/alias link in it, the writer skips the identity lock and lookup
 * and commits in one statement (db_ingest.c). Single-threaded (the writer's).
 */
#ifndef IDCACHE_H
#define IDCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct idcache;

/* A cache of at most max entries; when full it starts over (cheap, rare). */
struct idcache *idcache_new(size_t max);
void idcache_free(struct idcache *c);
bool idcache_get(const struct idcache *c, int64_t project_id, const char *id, int64_t *person);
/* Remember a committed mapping (the id is copied). */
void idcache_put(struct idcache *c, int64_t project_id, const char *id, int64_t person);
/* Forget everything (after a failed transaction that may have added ids). */
void idcache_clear(struct idcache *c);

#endif
