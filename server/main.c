/*
 * main.c - the cohortd command line: serve, migrate, keys.
 */
#include <jansson.h>
#include <pthread.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/app.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/db.h"
#include "server/db_orders.h"
#include "server/http.h"
#include "server/log.h"
#include "server/migrate.h"
#include "server/profiles.h"
#include "server/routes.h"
#include "server/store.h"
#include "server/scheduler.h"
#include "server/writer.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohortd [settings] COMMAND\n\n"
		"Commands:\n"
		"  serve                                  migrate, then serve HTTP until SIGTERM\n"
		"  migrate                                apply pending migrations and exit\n"
		"  keys create --project NAME --kind write|read\n"
		"                                         create a key (printed once, last line)\n"
		"  keys revoke KEY                        revoke a key\n"
		"  secrets set --project NAME [--shopify S] [--stripe S] [--woocommerce S]\n"
		"                                         set webhook signing secrets (\"\" removes)\n"
		"  --help                                 this text\n\n");
	config_print_help(out);
}

/* Value of "--name V" / "--name=V" among leftover arguments, or NULL. */
static const char *arg_value(int argc, char **argv, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], name, n) != 0)
			continue;
		if (argv[i][n] == '=')
			return argv[i] + n + 1;
		if (argv[i][n] == '\0' && i + 1 < argc)
			return argv[i + 1];
	}
	return NULL;
}

/* Connect and migrate, retrying for up to `wait_s` seconds (a database
 * container may still be starting). */
static struct db *open_migrated(const struct config *cfg, int wait_s)
{
	struct app_err err = { 0 };
	for (int i = 0;; i++) {
		struct db *db = db_open(cfg->database_url, "cohortd-admin", cfg->statement_timeout_ms, &err);
		if (db && migrate_run(db, &err))
			return db;
		db_close(db);
		if (i >= wait_s) {
			log_error("cannot reach or migrate the database: %s", err.message);
			return NULL;
		}
		sleep(1);
	}
}

static int cmd_keys(const struct config *cfg, int argc, char **argv)
{
	struct app_err err = { 0 };
	char key[128];
	struct db *db;
	int rc = 1;

	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	db = open_migrated(cfg, 0);
	if (!db)
		return 1;
	if (strcmp(argv[2], "create") == 0) {
		const char *project = arg_value(argc, argv, "--project");
		const char *kind = arg_value(argc, argv, "--kind");
		if (!project || !kind) {
			fprintf(stderr, "cohortd: keys create needs --project NAME --kind write|read\n");
			rc = 2;
		} else if (!auth_create_key(db, project, kind, key, sizeof(key), &err))
			fprintf(stderr, "cohortd: %s\n", err.message);
		else {
			printf("created %s key for project %s (shown once, stored as SHA-256):\n%s\n", kind,
			       project, key);
			rc = 0;
		}
	} else if (strcmp(argv[2], "revoke") == 0 && argc >= 4) {
		if (!auth_revoke_key(db, argv[3], &err))
			fprintf(stderr, "cohortd: %s\n", err.message);
		else {
			printf("revoked\n");
			rc = 0;
		}
	} else {
		usage(stderr);
		rc = 2;
	}
	db_close(db);
	return rc;
}

/* Webhook secrets are never printed or logged; only which ones were set. */
static int cmd_secrets(const struct config *cfg, int argc, char **argv)
{
	static const char *const sources[] = { "shopify", "stripe", "woocommerce" };
	const char *project = arg_value(argc, argv, "--project");
	struct app_err err = { 0 };
	struct db *db;
	int rc = 0, n = 0;

	if (argc < 3 || strcmp(argv[2], "set") != 0 || !project || !*project) {
		fprintf(stderr, "cohortd: secrets set --project NAME [--shopify S] [--stripe S] "
				"[--woocommerce S]\n");
		return 2;
	}
	db = open_migrated(cfg, 0);
	if (!db)
		return 1;
	for (int i = 0; i < 3 && rc == 0; i++) {
		char flag[32];
		const char *secret;
		snprintf(flag, sizeof(flag), "--%s", sources[i]);
		if (!(secret = arg_value(argc, argv, flag)))
			continue;
		if (!db_webhook_secret_set(db, project, sources[i], secret, &err)) {
			fprintf(stderr, "cohortd: %s\n", err.message);
			rc = 1;
		} else {
			printf("%s secret for project %s %s\n", sources[i], project, *secret ? "set" : "removed");
			n++;
		}
	}
	if (rc == 0 && n == 0) {
		fprintf(stderr, "cohortd: give at least one of --shopify, --stripe, --woocommerce\n");
		rc = 2;
	}
	db_close(db);
	return rc;
}

static void print_dev_keys(struct db *db)
{
	struct app_err err = { 0 };
	char wk[128], rk[128];

	if (!auth_create_key(db, "default", "write", wk, sizeof(wk), &err) ||
	    !auth_create_key(db, "default", "read", rk, sizeof(rk), &err)) {
		log_error("dev keys: %s", err.message);
		return;
	}
	printf("dev project 'default':\n  write key: %s\n  read key:  %s\n", wk, rk);
	fflush(stdout);
}

/* Query connections: COHORTD_POOL_SIZE, or twice the CPUs (at least 4).
 * More backends than that only queue on the cores: on 2 cores, 8
 * connections gave person lookups a p99 of 0.1-0.2 s under 32 clients
 * where 4 gave 12 ms at the same throughput (bench/RESULTS.md, "Scoring"). */
static int pool_size(const struct config *cfg)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cfg->pool_size > 0)
		return cfg->pool_size;
	return cpus > 2 ? (int)(2 * cpus) : 4;
}

static int profile_conns(const struct config *cfg)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cfg->profile_conns > 0)
		return cfg->profile_conns;
	return cpus < 2 ? 2 : cpus > 4 ? 4 : (int)cpus;
}

static int cmd_serve(const struct config *cfg)
{
	struct app app = { .cfg = cfg };
	struct app_err err = { 0 };
	sigset_t sigs;
	int sig = 0, rc = 1, interval_s;
	struct db *admin;
	char why[192];

	/* A bad COHORTD_SCORE_INTERVAL stops start-up before anything else. */
	if (!scheduler_parse_interval(cfg->score_interval, &interval_s, why, sizeof(why))) {
		fprintf(stderr, "cohortd: %s\n", why);
		return 2;
	}
	/* Block the stop signals in every thread; main collects them with sigwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	admin = open_migrated(cfg, 30);
	if (!admin)
		return 1;
	if (cfg->dev)
		print_dev_keys(admin);
	db_close(admin);

	app.pool = db_pool_new(cfg->database_url, pool_size(cfg), cfg->statement_timeout_ms);
	app.read_pool = *cfg->read_database_url
		? db_pool_new(cfg->read_database_url, pool_size(cfg), cfg->statement_timeout_ms)
		: app.pool;
	/* Profile statements in flight: one per core keeps both PostgreSQL and
	 * the request threads busy; more only splits the batches. */
	app.profiles = profiles_new(*cfg->read_database_url ? cfg->read_database_url
							    : cfg->database_url,
				    profile_conns(cfg), cfg->statement_timeout_ms);
	if (cfg->store) {
		app.store = store_new(cfg->store_max_events, cfg->store_margin);
		if (!app.store || !store_start(app.store, cfg->database_url, cfg->statement_timeout_ms))
			goto out;
	}
	app.writer = writer_start(cfg->database_url, cfg->writer_batch_rows, cfg->writer_queue_rows,
				  cfg->statement_timeout_ms, app.store);
	app.auth = auth_cache_new(cfg->key_cache_ttl);
	app.scheduler = scheduler_start(cfg, &err);
	if (!app.pool || !app.read_pool || !app.profiles || !app.writer || !app.auth || !app.scheduler)
		goto out;
	app.http = http_start(&app, routes, &err);
	if (!app.http) {
		log_error("%s", err.message);
		goto out;
	}
	log_info("cohortd serving on http://%s", cfg->listen);
	sigwait(&sigs, &sig);
	log_info("received signal %d: draining", sig);
	http_stop(app.http, 10000);
	app.http = NULL;
	rc = 0;
out:
	scheduler_stop(app.scheduler); /* after HTTP: no request can queue a run any more */
	writer_stop(app.writer);
	store_free(app.store); /* after the writer: it adds committed rows to it */
	if (app.read_pool != app.pool)
		db_pool_free(app.read_pool);
	db_pool_free(app.pool);
	profiles_free(app.profiles);
	auth_cache_free(app.auth);
	log_info("stopped");
	return rc;
}

int main(int argc, char **argv)
{
	struct config cfg;
	int level, rc;

	if (!config_load(&cfg, &argc, argv, stderr))
		return 2;
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		config_free(&cfg);
		return argc < 2 ? 2 : 0;
	}
	level = log_parse_level(cfg.log_level);
	log_set_level(level < 0 ? LOG_INFO : (enum log_level)level);
	signal(SIGPIPE, SIG_IGN);
	/* Analytics requests allocate tens of MB each, on their connection's
	 * thread (so in its own malloc arena). A fixed threshold maps every
	 * block of 4 MB or more on its own and gives it back on free; glibc's
	 * default raises the threshold to 32 MB after the first such free, and
	 * blocks below it stay resident in per-thread arenas, which added up
	 * to more than the event store itself (bench/RESULTS.md, "Query"). */
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	json_object_seed(0);
	if (!*cfg.database_url) {
		fprintf(stderr, "cohortd: DATABASE_URL (or --database-url) is required\n");
		config_free(&cfg);
		return 2;
	}
	if (strcmp(argv[1], "serve") == 0)
		rc = cmd_serve(&cfg);
	else if (strcmp(argv[1], "migrate") == 0) {
		struct db *db = open_migrated(&cfg, 0);
		rc = db ? 0 : 1;
		db_close(db);
	} else if (strcmp(argv[1], "keys") == 0)
		rc = cmd_keys(&cfg, argc, argv);
	else if (strcmp(argv[1], "secrets") == 0)
		rc = cmd_secrets(&cfg, argc, argv);
	else {
		usage(stderr);
		rc = 2;
	}
	config_free(&cfg);
	return rc;
}
