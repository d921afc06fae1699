/*
 * config.h - the one configuration table.
 *
 * Every setting has exactly one default, an environment variable and a
 * command-line flag (the flag wins). `cohortd --help` prints the table; the
 * README copies it. Add a setting by adding a field and a row in config.c.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stdio.h>

struct config {
	char *database_url;        /* libpq URI or conninfo (may hold a password: never logged) */
	char *read_database_url;   /* optional replica for queries; "" = use database_url */
	char *listen;              /* host:port */
	int pool_size;             /* read/query connections */
	int profile_conns;         /* profile batches in flight, 0 = auto */
	int max_connections;       /* HTTP connection limit */
	int conn_timeout;          /* seconds of inactivity before a connection is closed */
	int max_batch_bytes;       /* body cap for /v1/batch */
	int max_message_bytes;     /* body cap for single calls and per batch message */
	int writer_queue_rows;     /* rows waiting for commit before 503 */
	int writer_batch_rows;     /* most rows per group commit */
	int key_cache_ttl;         /* seconds an API-key lookup is cached (revocation delay) */
	int statement_timeout_ms;  /* per query */
	int stripe_tolerance;      /* seconds of Stripe-Signature timestamp tolerance */
	char *score_interval;      /* "15m", "1h", "" = scheduled scoring off */
	char *log_level;           /* debug|info|warn|error */
	bool dev;                  /* print dev write/read keys for project "default" */
	bool store;                /* keep the in-memory event copy for queries */
	int store_max_events;      /* beyond this the copy is dropped (24 B/event) */
	int store_margin;          /* seconds of recent rows re-read from other writers */
};

/* Fill defaults, then environment, then argv flags (--name value or --name=value).
 * Unknown flags are left in argv for the subcommand; returns false (and prints
 * why to `out`) on a malformed value. */
bool config_load(struct config *cfg, int *argc, char **argv, FILE *out);
void config_free(struct config *cfg);
/* Print the table: flag, environment variable, default, meaning. */
void config_print_help(FILE *out);

#endif
