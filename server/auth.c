/*
 * auth.c - API key checks with a small TTL cache in front of PostgreSQL.
 *
 * The cache is an open-addressing table keyed by SHA-256(key); a hit younger
 * than the TTL skips the database (ingest runs at thousands of requests per
 * second; a revocation is honoured within the TTL). Unknown keys are cached
 * too, so a client hammering with a bad key cannot hammer the database.
 */
#include "server/auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/app.h"
#include "server/crypto.h"
#include "server/db.h"
#include "server/db_keys.h"

#define AUTH_SLOTS 4096

struct auth_entry {
	uint8_t hash[CRYPTO_SHA256_LEN];
	int64_t project_id;
	enum db_key_kind kind;
	time_t at; /* 0 = empty */
};

struct auth_cache {
	int ttl;
	pthread_mutex_t mu;
	struct auth_entry slots[AUTH_SLOTS];
};

struct auth_cache *auth_cache_new(int ttl_seconds)
{
	struct auth_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->ttl = ttl_seconds;
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

void auth_cache_free(struct auth_cache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c);
}

bool auth_key_from_header(const char *h, char *out, size_t cap)
{
	uint8_t dec[192];
	long n;
	char *colon;

	if (!h)
		return false;
	if (strncasecmp(h, "Bearer ", 7) == 0) {
		h += 7;
		if (!*h || strlen(h) >= cap)
			return false;
		strcpy(out, h);
		return true;
	}
	if (strncasecmp(h, "Basic ", 6) != 0)
		return false;
	n = crypto_base64_decode(h + 6, dec, sizeof(dec) - 1);
	if (n <= 0)
		return false;
	dec[n] = '\0';
	/* Segment sends base64("<writeKey>:"): the key is the user name. */
	colon = strchr((char *)dec, ':');
	if (colon)
		*colon = '\0';
	if (!dec[0] || strlen((char *)dec) >= cap)
		return false;
	strcpy(out, (char *)dec);
	return true;
}

static bool cache_get(struct auth_cache *c, const uint8_t *hash, struct auth_entry *out)
{
	size_t i = ((size_t)hash[0] << 8 | hash[1]) % AUTH_SLOTS;
	bool hit = false;

	if (c->ttl <= 0)
		return false;
	pthread_mutex_lock(&c->mu);
	if (c->slots[i].at && time(NULL) - c->slots[i].at < c->ttl &&
	    memcmp(c->slots[i].hash, hash, CRYPTO_SHA256_LEN) == 0) {
		*out = c->slots[i];
		hit = true;
	}
	pthread_mutex_unlock(&c->mu);
	return hit;
}

static void cache_put(struct auth_cache *c, const struct auth_entry *e)
{
	size_t i = ((size_t)e->hash[0] << 8 | e->hash[1]) % AUTH_SLOTS;

	if (c->ttl <= 0)
		return;
	pthread_mutex_lock(&c->mu);
	c->slots[i] = *e;
	c->slots[i].at = time(NULL);
	pthread_mutex_unlock(&c->mu);
}

bool auth_require(struct app *app, struct http_req *req, const char *key, enum http_auth need,
		  struct app_err *err)
{
	struct auth_entry e;
	struct db *db;
	bool ok;

	memset(&e, 0, sizeof(e));
	crypto_sha256(key, strlen(key), e.hash);
	if (!cache_get(app->auth, e.hash, &e)) {
		db = db_acquire(app->pool, 2000, err);
		if (!db)
			return false;
		ok = db_key_lookup(db, e.hash, &e.project_id, &e.kind, err);
		db_release(app->pool, db);
		if (!ok)
			return false;
		cache_put(app->auth, &e);
	}
	if (e.kind == DB_KEY_NONE)
		return err_set(err, 401, "unauthorized", NULL, "unknown or revoked API key");
	if ((need == HTTP_AUTH_WRITE && e.kind != DB_KEY_WRITE) ||
	    (need == HTTP_AUTH_READ && e.kind != DB_KEY_READ))
		return err_set(err, 403, "forbidden", NULL, "this route needs a %s key",
			       need == HTTP_AUTH_WRITE ? "write" : "read");
	req->project_id = e.project_id;
	req->key_kind = need;
	return true;
}

bool auth_create_key(struct db *db, const char *project, const char *kind, char *out, size_t cap,
		     struct app_err *err)
{
	uint8_t rnd[20], hash[CRYPTO_SHA256_LEN];
	char hex[41], prefix[12];

	if (strcmp(kind, "write") != 0 && strcmp(kind, "read") != 0)
		return err_set(err, 400, "validation_failed", "kind", "kind must be write or read");
	if (!project || !*project)
		return err_set(err, 400, "validation_failed", "project", "project name is required");
	if (cap < 44 || !crypto_random(rnd, sizeof(rnd)))
		return err_set(err, 500, "internal", NULL, "cannot generate a key");
	crypto_hex(rnd, sizeof(rnd), hex);
	snprintf(out, cap, "c%c_%s", kind[0], hex);
	snprintf(prefix, sizeof(prefix), "%.10s", out);
	crypto_sha256(out, strlen(out), hash);
	return db_key_insert(db, project, kind, hash, prefix, err);
}

bool auth_revoke_key(struct db *db, const char *key, struct app_err *err)
{
	uint8_t hash[CRYPTO_SHA256_LEN];
	crypto_sha256(key, strlen(key), hash);
	return db_key_revoke(db, hash, err);
}
