/*
 * copyload.c - the ingest baseline: the same kind of rows loadgen sends,
 * written by a plain libpq COPY straight into the `events` table.
 *
 *   copyload --db DATABASE_URL --rows N [--batch-rows 100000] [--seed 1]
 *            [--users 100000] [--prefix copy]
 *
 * Rows come from gen.h (same userId / event / properties / timestamp / context
 * distributions as loadgen), type 1 (track), project_id of the project named
 * 'default' (else the lowest project_id; a project 'bench' is created when
 * there is none), person_id = FNV-1a of the userId (no identity lookup: that
 * is the work cohortd does and the baseline does not), message_id
 * "{prefix}-{i}", received_at = the client's clock at start.
 *
 * Each --batch-rows chunk is one COPY ... FROM STDIN (text format), i.e. its
 * own transaction, committed with the server's synchronous_commit setting.
 * The clock runs from the first COPY to the last commit, row generation
 * included (loadgen's figure includes its own generation too).
 *
 * Output: one JSON line {"rows":..,"seconds":..,"rows_per_s":..}.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/ingest/gen.h"

#define CHUNK (256 * 1024)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: copyload --db DATABASE_URL --rows N [--batch-rows 100000] [--seed 1]\n"
			"                [--users 100000] [--prefix copy]\n");
	exit(2);
}

static long parse_long(const char *flag, const char *v, long min)
{
	char *end;
	long n;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min) {
		fprintf(stderr, "copyload: %s needs an integer >= %ld, got '%s'\n", flag, min, v);
		exit(2);
	}
	return n;
}

static PGresult *must(PGconn *db, PGresult *res, ExecStatusType want, const char *what)
{
	if (PQresultStatus(res) != want) {
		fprintf(stderr, "copyload: %s: %s", what, PQerrorMessage(db));
		PQclear(res);
		PQfinish(db);
		exit(1);
	}
	return res;
}

static char *project_id(PGconn *db)
{
	static char id[32];
	PGresult *res = must(db,
			     PQexec(db, "SELECT project_id FROM projects"
					" ORDER BY (name = 'default') DESC, project_id LIMIT 1"),
			     PGRES_TUPLES_OK, "find project");
	if (PQntuples(res) == 0) {
		PQclear(res);
		res = must(db,
			   PQexec(db, "INSERT INTO projects (name) VALUES ('bench') RETURNING project_id"),
			   PGRES_TUPLES_OK, "create project");
	}
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return id;
}

static void put(PGconn *db, char *buf, size_t *len, bool force)
{
	if (*len == 0 || (!force && *len < CHUNK - 1024))
		return;
	if (PQputCopyData(db, buf, (int)*len) != 1) {
		fprintf(stderr, "copyload: COPY data: %s", PQerrorMessage(db));
		exit(1);
	}
	*len = 0;
}

int main(int argc, char **argv)
{
	const char *url = NULL, *prefix = "copy";
	long rows = -1, batch_rows = 100000, users = 100000;
	uint64_t seed = 1;
	char recv[80], ts[80], *buf, *pid;
	size_t len = 0;
	double t0, secs;
	PGconn *db;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || i + 1 >= argc)
			usage();
		v = argv[++i];
		if (strcmp(a, "--db") == 0)
			url = v;
		else if (strcmp(a, "--rows") == 0)
			rows = parse_long(a, v, 0);
		else if (strcmp(a, "--batch-rows") == 0)
			batch_rows = parse_long(a, v, 1);
		else if (strcmp(a, "--seed") == 0)
			seed = (uint64_t)parse_long(a, v, 0);
		else if (strcmp(a, "--users") == 0)
			users = parse_long(a, v, 1);
		else if (strcmp(a, "--prefix") == 0)
			prefix = v;
		else {
			fprintf(stderr, "copyload: unknown option %s\n", a);
			usage();
		}
	}
	if (!url || rows < 0)
		usage();

	db = PQconnectdb(url);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "copyload: connect: %s", PQerrorMessage(db));
		return 1;
	}
	pid = project_id(db);
	{
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		gen_format_ts((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, ' ', "+00", recv);
	}
	buf = malloc(CHUNK);
	if (!buf) {
		fprintf(stderr, "copyload: out of memory\n");
		return 1;
	}

	t0 = now_s();
	for (long done = 0; done < rows;) {
		long end = done + batch_rows < rows ? done + batch_rows : rows;
		PQclear(must(db,
			     PQexec(db, "COPY events (project_id, person_id, message_id, type, event,"
					" user_id, ts, received_at, properties, context) FROM STDIN"),
			     PGRES_COPY_IN, "COPY"));
		for (; done < end; done++) {
			struct gen_event e;
			int n;
			/* Stream a = 2^32: loadgen's streams are its connection numbers. */
			gen_event_make(&e, seed, 1ULL << 32, (uint64_t)done, 0, users);
			gen_format_ts(e.ts_ms, ' ', "+00", ts);
			n = snprintf(buf + len, CHUNK - len,
				     "%s\t%lld\t%s-%ld\t1\t%s\t%s\t%s\t%s\t%s\t" GEN_CONTEXT "\n", pid,
				     (long long)gen_person_of(e.user_id), prefix, done, e.event,
				     e.user_id, ts, recv, e.properties);
			if (n < 0 || (size_t)n >= CHUNK - len) {
				fprintf(stderr, "copyload: row too long (--prefix?)\n");
				return 1;
			}
			len += (size_t)n;
			put(db, buf, &len, false);
		}
		put(db, buf, &len, true);
		if (PQputCopyEnd(db, NULL) != 1) {
			fprintf(stderr, "copyload: COPY end: %s", PQerrorMessage(db));
			return 1;
		}
		PQclear(must(db, PQgetResult(db), PGRES_COMMAND_OK, "COPY"));
		PGresult *extra;
		while ((extra = PQgetResult(db)))
			PQclear(extra);
	}
	secs = now_s() - t0;
	printf("{\"rows\":%ld,\"seconds\":%.3f,\"rows_per_s\":%.1f}\n", rows, secs,
	       secs > 0 ? (double)rows / secs : 0.0);
	free(buf);
	PQfinish(db);
	return 0;
}
