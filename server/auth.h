/*
 * auth.h - API keys: creation, lookup with a short-lived cache, revocation.
 *
 * Keys are "cw_" (write) or "cr_" (read) followed by 40 hex characters of
 * CSPRNG output. Only SHA-256(key) is stored. A lookup result is cached for
 * cfg->key_cache_ttl seconds, so a revocation takes at most that long.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/err.h"
#include "server/http.h"

struct db;

struct auth_cache *auth_cache_new(int ttl_seconds);
void auth_cache_free(struct auth_cache *cache);

/* Extract the key from "Basic base64(key:)" or "Bearer key". False if absent
 * or malformed. */
bool auth_key_from_header(const char *authorization, char *out, size_t cap);

/* Authenticate `key` for a route needing `need`: sets req->project_id and
 * req->key_kind, or fails 401 unauthorized (unknown/revoked) / 403 forbidden
 * (wrong kind) / 503 (database). */
bool auth_require(struct app *app, struct http_req *req, const char *key, enum http_auth need,
		  struct app_err *err) MUST_CHECK;

/* Create project `project` if missing and a new key of `kind` ("write"/"read");
 * writes the key (shown once) into out. */
bool auth_create_key(struct db *db, const char *project, const char *kind, char *out, size_t cap,
		     struct app_err *err) MUST_CHECK;
/* Revoke a key given in full; 404 when unknown. */
bool auth_revoke_key(struct db *db, const char *key, struct app_err *err) MUST_CHECK;

#endif
