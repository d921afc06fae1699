#include "server/db_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db_internal.h"

/* bytea parameters travel as hex text: '\x…'. */
static void hash_param(const uint8_t hash[CRYPTO_SHA256_LEN], char out[2 * CRYPTO_SHA256_LEN + 3])
{
	out[0] = '\\';
	out[1] = 'x';
	crypto_hex(hash, CRYPTO_SHA256_LEN, out + 2);
}

bool db_key_lookup(struct db *db, const uint8_t hash[CRYPTO_SHA256_LEN], int64_t *project_id,
		   enum db_key_kind *kind, struct app_err *err)
{
	static const char sql[] =
		"SELECT project_id, kind FROM api_keys WHERE key_hash = $1::bytea AND revoked_at IS NULL";
	char h[2 * CRYPTO_SHA256_LEN + 3];
	const char *vals[1] = { h };
	PGresult *res;

	hash_param(hash, h);
	res = db_params(db, sql, 1, vals, PGRES_TUPLES_OK, "key lookup", err);
	if (!res)
		return false;
	*kind = DB_KEY_NONE;
	if (PQntuples(res) == 1) {
		*project_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		*kind = PQgetvalue(res, 0, 1)[0] == 'w' ? DB_KEY_WRITE : DB_KEY_READ;
	}
	PQclear(res);
	return true;
}

bool db_key_insert(struct db *db, const char *project, const char *kind,
		   const uint8_t hash[CRYPTO_SHA256_LEN], const char *prefix, struct app_err *err)
{
	/* One statement: upsert the project, make sure settings exist, add the key. */
	static const char sql[] =
		"WITH p AS (INSERT INTO projects (name) VALUES ($1) "
		"           ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING project_id),"
		" s AS (INSERT INTO settings (project_id) SELECT project_id FROM p ON CONFLICT DO NOTHING)"
		" INSERT INTO api_keys (project_id, kind, key_hash, key_prefix)"
		" SELECT project_id, $2, $3::bytea, $4 FROM p";
	char h[2 * CRYPTO_SHA256_LEN + 3];
	const char *vals[4] = { project, kind, h, prefix };
	PGresult *res;

	hash_param(hash, h);
	res = db_params(db, sql, 4, vals, PGRES_COMMAND_OK, "key insert", err);
	PQclear(res);
	return res != NULL;
}

bool db_key_revoke(struct db *db, const uint8_t hash[CRYPTO_SHA256_LEN], struct app_err *err)
{
	static const char sql[] =
		"UPDATE api_keys SET revoked_at = now() WHERE key_hash = $1::bytea AND revoked_at IS NULL";
	char h[2 * CRYPTO_SHA256_LEN + 3];
	const char *vals[1] = { h };
	PGresult *res;
	bool found;

	hash_param(hash, h);
	res = db_params(db, sql, 1, vals, PGRES_COMMAND_OK, "key revoke", err);
	if (!res)
		return false;
	found = strcmp(PQcmdTuples(res), "0") != 0;
	PQclear(res);
	if (!found)
		return err_set(err, 404, "not_found", NULL, "no such active key");
	return true;
}
