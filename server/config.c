#include "server/config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum cfg_type { CFG_STR, CFG_INT, CFG_BOOL };

struct cfg_row {
	const char *flag;
	const char *env;
	enum cfg_type type;
	size_t offset;
	const char *def;
	const char *help;
};

#define OFF(f) offsetof(struct config, f)

/* Alphabetical by flag. The only place a default lives. */
static const struct cfg_row rows[] = {
	{ "batch-bytes", "COHORTD_MAX_BATCH_BYTES", CFG_INT, OFF(max_batch_bytes), "512000",
	  "body limit of /v1/batch (Segment: 500 KB)" },
	{ "conn-timeout", "COHORTD_CONN_TIMEOUT", CFG_INT, OFF(conn_timeout), "30",
	  "seconds an idle or slow connection may live" },
	{ "database-url", "DATABASE_URL", CFG_STR, OFF(database_url), "",
	  "libpq URI or conninfo of the primary (required)" },
	{ "dev", "COHORTD_DEV", CFG_BOOL, OFF(dev), "0",
	  "print a write and a read key for project 'default' at start" },
	{ "key-cache-ttl", "COHORTD_KEY_CACHE_TTL", CFG_INT, OFF(key_cache_ttl), "10",
	  "seconds an API key lookup is cached (a revocation takes this long)" },
	{ "listen", "COHORTD_LISTEN", CFG_STR, OFF(listen), "127.0.0.1:8080", "host:port to serve on" },
	{ "log-level", "COHORTD_LOG_LEVEL", CFG_STR, OFF(log_level), "info", "debug|info|warn|error" },
	{ "max-connections", "COHORTD_MAX_CONNECTIONS", CFG_INT, OFF(max_connections), "1024",
	  "HTTP connections served at once" },
	{ "message-bytes", "COHORTD_MAX_MESSAGE_BYTES", CFG_INT, OFF(max_message_bytes), "32768",
	  "body limit of single calls and of each batch message (Segment: 32 KB)" },
	{ "pool-size", "COHORTD_POOL_SIZE", CFG_INT, OFF(pool_size), "0",
	  "database connections for queries; 0 = twice the CPUs, at least 4" },
	{ "profile-conns", "COHORTD_PROFILE_CONNS", CFG_INT, OFF(profile_conns), "0",
	  "profile statements in flight (GET /v1/persons/{id}); 0 = the CPUs, 2 to 4" },
	{ "read-database-url", "READ_DATABASE_URL", CFG_STR, OFF(read_database_url), "",
	  "optional streaming replica for queries" },
	{ "score-interval", "COHORTD_SCORE_INTERVAL", CFG_STR, OFF(score_interval), "",
	  "scheduled scoring period, e.g. 15m or 1h; empty = off" },
	{ "statement-timeout", "COHORTD_STATEMENT_TIMEOUT_MS", CFG_INT, OFF(statement_timeout_ms),
	  "30000", "per-query timeout in milliseconds" },
	{ "store", "COHORTD_STORE", CFG_BOOL, OFF(store), "1",
	  "keep an in-memory copy of events for fast queries (24 bytes/event)" },
	{ "store-margin", "COHORTD_STORE_MARGIN", CFG_INT, OFF(store_margin), "15",
	  "seconds of recent events re-read to pick up other writers' rows" },
	{ "store-max-events", "COHORTD_STORE_MAX_EVENTS", CFG_INT, OFF(store_max_events),
	  "50000000", "events beyond which the in-memory copy is dropped" },
	{ "stripe-tolerance", "COHORTD_STRIPE_TOLERANCE", CFG_INT, OFF(stripe_tolerance), "300",
	  "seconds a Stripe-Signature timestamp may differ from now" },
	{ "writer-batch", "COHORTD_WRITER_BATCH", CFG_INT, OFF(writer_batch_rows), "5000",
	  "most rows in one group commit" },
	{ "writer-queue", "COHORTD_WRITER_QUEUE", CFG_INT, OFF(writer_queue_rows), "100000",
	  "rows waiting for commit before ingest answers 503" },
};

static bool set_value(struct config *cfg, const struct cfg_row *r, const char *v, FILE *out)
{
	char *p = (char *)cfg + r->offset;
	char *end;
	long n;

	switch (r->type) {
	case CFG_STR: {
		char *dup = strdup(v);
		if (!dup)
			return false;
		free(*(char **)p);
		*(char **)p = dup;
		return true;
	}
	case CFG_INT:
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || end == v || *end || n < 0 || n > INT_MAX) {
			fprintf(out, "cohortd: --%s (%s) must be a non-negative integer, got '%s'\n",
				r->flag, r->env, v);
			return false;
		}
		*(int *)p = (int)n;
		return true;
	case CFG_BOOL:
		*(bool *)p = strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0;
		return true;
	}
	return false;
}

static const struct cfg_row *find_flag(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (strlen(rows[i].flag) == len && strncmp(rows[i].flag, name, len) == 0)
			return &rows[i];
	return NULL;
}

bool config_load(struct config *cfg, int *argc, char **argv, FILE *out)
{
	const size_t nrows = sizeof(rows) / sizeof(rows[0]);
	int keep = 1;

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < nrows; i++) {
		const char *env = getenv(rows[i].env);
		if (!set_value(cfg, &rows[i], rows[i].def, out))
			return false;
		if (env && !set_value(cfg, &rows[i], env, out))
			return false;
	}
	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i], *eq, *val;
		const struct cfg_row *r;

		if (strncmp(a, "--", 2) != 0) {
			argv[keep++] = argv[i];
			continue;
		}
		eq = strchr(a + 2, '=');
		r = find_flag(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
		if (!r) {
			argv[keep++] = argv[i];
			continue;
		}
		if (eq)
			val = eq + 1;
		else if (r->type == CFG_BOOL)
			val = "1";
		else if (i + 1 < *argc)
			val = argv[++i];
		else {
			fprintf(out, "cohortd: --%s needs a value\n", r->flag);
			return false;
		}
		if (!set_value(cfg, r, val, out))
			return false;
	}
	*argc = keep;
	argv[keep] = NULL;
	return true;
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].type == CFG_STR) {
			char **p = (char **)((char *)cfg + rows[i].offset);
			free(*p);
			*p = NULL;
		}
}

void config_print_help(FILE *out)
{
	fprintf(out, "Settings (flag / environment variable / default):\n");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		fprintf(out, "  --%-18s %-30s %-16s %s\n", rows[i].flag, rows[i].env,
			*rows[i].def ? rows[i].def : "(empty)", rows[i].help);
}
