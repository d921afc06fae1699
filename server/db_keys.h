/*
 * db_keys.h - SQL for projects and API keys (used by auth.c and the CLI).
 */
#ifndef DB_KEYS_H
#define DB_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "server/crypto.h"
#include "server/err.h"

struct db;

enum db_key_kind { DB_KEY_NONE = 0, DB_KEY_WRITE = 1, DB_KEY_READ = 2 };

/* Find an unrevoked key by hash. *kind = DB_KEY_NONE when unknown or revoked. */
bool db_key_lookup(struct db *db, const uint8_t hash[CRYPTO_SHA256_LEN], int64_t *project_id,
		   enum db_key_kind *kind, struct app_err *err) MUST_CHECK;
/* Create the project (and its settings row) if missing; store the key hash. */
bool db_key_insert(struct db *db, const char *project, const char *kind,
		   const uint8_t hash[CRYPTO_SHA256_LEN], const char *prefix,
		   struct app_err *err) MUST_CHECK;
/* Set revoked_at; 404 when no such key. */
bool db_key_revoke(struct db *db, const uint8_t hash[CRYPTO_SHA256_LEN], struct app_err *err) MUST_CHECK;

#endif
