/*
 * db_ingest.c - one group commit. Rows travel as PostgreSQL array literals
 * expanded by unnest(), so a group of thousands of events is one INSERT
 * statement with a dozen parameters: no SQL is ever built from input, and
 * the round trips per commit stay constant whatever the group size.
 */
#include "server/db_ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/identity.h"
#include "server/db_internal.h"
#include "server/db_orders.h"
#include "server/idcache.h"
#include "server/store.h"

/* Growable text buffer for array literals; `failed` is sticky (PgBouncer's pktbuf). */
struct abuf {
	char *s;
	size_t len, cap;
	bool failed;
	int count;
};

static void ab_put(struct abuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void ab_begin(struct abuf *b)
{
	b->len = 0;
	b->count = 0;
	ab_put(b, "{", 1);
}

static void ab_sep(struct abuf *b)
{
	if (b->count++ > 0)
		ab_put(b, ",", 1);
}

/* Array element: NULL, or a double-quoted string with " and \ escaped. */
static void ab_str(struct abuf *b, const char *s)
{
	ab_sep(b);
	if (!s) {
		ab_put(b, "NULL", 4);
		return;
	}
	ab_put(b, "\"", 1);
	for (const char *p = s; *p;) {
		size_t run = strcspn(p, "\"\\");
		ab_put(b, p, run);
		p += run;
		if (*p) {
			ab_put(b, "\\", 1);
			ab_put(b, p, 1);
			p++;
		}
	}
	ab_put(b, "\"", 1);
}

static void ab_int(struct abuf *b, long long v)
{
	char tmp[24];
	int k = snprintf(tmp, sizeof(tmp), "%lld", v);
	ab_sep(b);
	ab_put(b, tmp, (size_t)k);
}

static const char *ab_end(struct abuf *b)
{
	ab_put(b, "}", 1);
	return b->failed ? NULL : b->s;
}

void db_format_ts(int64_t us, char out[64])
{
	time_t secs = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
	long frac = (long)(us - (int64_t)secs * 1000000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(out, 64, "%04d-%02d-%02d %02d:%02d:%02d.%06ld+00", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* All the rows of one project inside the group, flattened. */
struct proj_rows {
	int64_t project_id;
	const struct ingest_row **rows;
	int n;
};

enum { A_PERSON, A_MSGID, A_TYPE, A_EVENT, A_NAME, A_UID, A_AID, A_TS, A_RECV, A_PROPS, A_CTX,
       A_TRAITS, A_IDS, A_IDPERSONS, A_COUNT };

struct ingest_ctx {
	struct db *db;
	const char *node;             /* events.ingest_node, NULL when no store */
	struct ingest_returned *out;  /* inserted rows, or NULL */
	struct idcache *cache;        /* distinct id -> raw person, or NULL */
	struct abuf a[A_COUNT];
	char project[24];
	struct app_err *err;
};

/* Statements of the identity path prepared once per writer connection
 * (db_pipeline's prep numbers): those whose plan cannot depend on table
 * sizes. The identity lookup and the merge's UPDATE stay unnamed, planned
 * each time: a cached plan made while identities was small seq-scans it
 * forever after (measured: new-user ingest 7.5k -> 5.0k events/s, batches
 * 21k -> 6k, on tables that start empty). */
enum { P_LOCK = 1, P_RESERVE = 3, P_IDS, P_EVENTS = 6, P_PERSONS };

static const char lock_sql[] = "SELECT pg_advisory_xact_lock(1668247156, $1::int)";
static const char load_sql[] =
	"SELECT i.distinct_id, i.person_id, coalesce(o.person_id, i.person_id)"
	"  FROM identities i LEFT JOIN person_overrides o"
	"    ON o.project_id = i.project_id AND o.old_person_id = i.person_id"
	" WHERE i.project_id = $1::bigint AND i.distinct_id = ANY($2::text[])";
/* Person ids for the ids the cache does not know: at most that many new
 * persons, possibly fewer (an id known to the database but not cached);
 * the unused ones are gaps in the sequence, as after any rollback. */
static const char reserve_sql[] = "SELECT nextval('person_id_seq') FROM generate_series(1, $1::int)";

/*
 * Round trip 1: [BEGIN,] the project's identity lock, the known ids, and
 * person ids reserved for new ones, as one pipeline. The load runs after
 * the lock is held (its own statement, its own snapshot), so it sees every
 * identity committed before.
 */
static bool lock_and_load(struct ingest_ctx *c, const struct proj_rows *pr, bool begin,
			  struct ident_known **known, int *n_known, PGresult **res_out,
			  PGresult **reserved)
{
	struct abuf *ids = &c->a[A_IDS];
	const char *lv[1] = { c->project }, *dv[2] = { c->project, NULL }, *rv[1];
	char cnt[16];
	int n, misses = 0;
	int64_t pid;

	ab_begin(ids);
	for (int i = 0; i < pr->n; i++) {
		const struct ingest_row *r = pr->rows[i];
		const char *id3[3] = { r->user_id, r->anonymous_id, r->previous_id };
		for (int k = 0; k < 3; k++)
			if (id3[k]) {
				ab_str(ids, id3[k]);
				misses += !c->cache || !idcache_get(c->cache, pr->project_id, id3[k], &pid);
			}
	}
	dv[1] = ab_end(ids);
	if (!dv[1])
		return err_set(c->err, 500, "internal", NULL, "out of memory");
	snprintf(cnt, sizeof(cnt), "%d", misses);
	rv[0] = cnt;
	struct db_pipe st[4] = {
		{ "BEGIN", 0, 0, NULL, PGRES_COMMAND_OK, "begin", false, NULL },
		{ lock_sql, P_LOCK, 1, lv, PGRES_TUPLES_OK, "identity lock", false, NULL },
		{ load_sql, 0, 2, dv, PGRES_TUPLES_OK, "identity load", true, NULL },
		{ reserve_sql, P_RESERVE, 1, rv, PGRES_TUPLES_OK, "person ids", true, NULL },
	};
	if (!db_pipeline(c->db, begin ? st : st + 1, begin ? 4 : 3, c->err))
		return false;
	*res_out = st[2].res;
	*reserved = st[3].res;
	n = PQntuples(st[2].res);
	*known = calloc((size_t)n + 1, sizeof(**known));
	if (!*known)
		return err_set(c->err, 500, "internal", NULL, "out of memory");
	for (int i = 0; i < n; i++) {
		(*known)[i].distinct_id = PQgetvalue(st[2].res, i, 0);
		(*known)[i].person_id = strtoll(PQgetvalue(st[2].res, i, 1), NULL, 10);
		(*known)[i].effective_id = strtoll(PQgetvalue(st[2].res, i, 2), NULL, 10);
	}
	*n_known = n;
	return true;
}

/* Number the new persons from the reserved ids; should the reservation
 * fall short (it cannot, but a miscount must not corrupt anything), ask
 * for the rest. */
static bool new_persons(struct ingest_ctx *c, struct ident_result *ir, const PGresult *reserved)
{
	int have = PQntuples(reserved), k = 0;
	int64_t *ids;
	PGresult *more = NULL;

	if (ir->n_new_persons == 0)
		return true;
	if (have < ir->n_new_persons) {
		char cnt[16];
		const char *v[1] = { cnt };
		snprintf(cnt, sizeof(cnt), "%d", ir->n_new_persons - have);
		if (!(more = db_params(c->db, reserve_sql, 1, v, PGRES_TUPLES_OK, "person ids", c->err)))
			return false;
	}
	ids = calloc((size_t)ir->n_new_persons, sizeof(*ids));
	if (!ids) {
		PQclear(more);
		return err_set(c->err, 500, "internal", NULL, "out of memory");
	}
	for (int i = 0; i < have && k < ir->n_new_persons; i++)
		ids[k++] = strtoll(PQgetvalue(reserved, i, 0), NULL, 10);
	for (int i = 0; more && i < PQntuples(more) && k < ir->n_new_persons; i++)
		ids[k++] = strtoll(PQgetvalue(more, i, 0), NULL, 10);
	PQclear(more);
	ident_renumber(ir, ids);
	free(ids);
	return true;
}

struct ingest_returned {
	PGresult **res;
	int n, cap;
};

/* Keep the RETURNING result of one INSERT (owned until freed). */
static bool returned_keep(struct ingest_returned *r, PGresult *res)
{
	if (r->n == r->cap) {
		int cap = r->cap ? r->cap * 2 : 8;
		PGresult **p = realloc(r->res, (size_t)cap * sizeof(*p));
		if (!p)
			return false;
		r->res = p;
		r->cap = cap;
	}
	r->res[r->n++] = res;
	return true;
}

void db_ingest_returned_free(struct ingest_returned *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->n; i++)
		PQclear(r->res[i]);
	free(r->res);
	free(r);
}

/* Tie order of docs/semantics-analytics.md: ts, received_at, message_id. */
static int cmp_store_row(const void *a, const void *b)
{
	const struct store_row *x = a, *y = b;
	if (x->ts_us != y->ts_us)
		return x->ts_us < y->ts_us ? -1 : 1;
	if (x->recv_us != y->recv_us)
		return x->recv_us < y->recv_us ? -1 : 1;
	return strcmp(x->message_id, y->message_id);
}

void db_ingest_returned_to_store(struct ingest_returned *r, struct store *s)
{
	struct store_row *rows;
	size_t n = 0, k = 0;

	if (!r || !s)
		return;
	for (int i = 0; i < r->n; i++)
		n += (size_t)PQntuples(r->res[i]);
	rows = malloc((n + 1) * sizeof(*rows));
	if (!rows)
		return; /* the sync thread's poll cannot see our rows: log it */
	for (int i = 0; i < r->n; i++)
		for (int j = 0; j < PQntuples(r->res[i]); j++, k++) {
			rows[k].project_id = strtoll(PQgetvalue(r->res[i], j, 0), NULL, 10);
			rows[k].person_id = strtoll(PQgetvalue(r->res[i], j, 1), NULL, 10);
			rows[k].event = PQgetvalue(r->res[i], j, 2);
			rows[k].ts_us = strtoll(PQgetvalue(r->res[i], j, 3), NULL, 10);
			rows[k].recv_us = strtoll(PQgetvalue(r->res[i], j, 4), NULL, 10);
			rows[k].message_id = PQgetvalue(r->res[i], j, 5);
		}
	qsort(rows, n, sizeof(*rows), cmp_store_row);
	store_add(s, rows, n);
	free(rows);
}

static const char *type_names[] = { "", "1", "2", "3", "4", "5", "6" };

#define EVENTS_INSERT \
	"INSERT INTO events (project_id, person_id, message_id, type, event, name, user_id," \
	"                    anonymous_id, ts, received_at, properties, context, ingest_node)" \
	" SELECT $1::bigint, *, $13::int FROM unnest($2::bigint[], $3::text[], $4::smallint[]," \
	"        $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[]," \
	"        $10::timestamptz[], $11::jsonb[], $12::jsonb[])" \
	" ON CONFLICT DO NOTHING" \
	" RETURNING project_id, person_id, event, (extract(epoch FROM ts) * 1000000)::int8," \
	"           (extract(epoch FROM received_at) * 1000000)::int8, message_id"

/* $1 project, $2 persons (one per event), $9 event times, $14 traits. */
#define PERSONS_UPSERT(P, T, TR) \
	"INSERT INTO persons AS p (project_id, person_id, first_seen, last_seen, traits)" \
	" SELECT $1::bigint, u.pid, min(u.ts), max(u.ts), cohortd_jsonb_merge(u.tr ORDER BY u.ord)" \
	"   FROM unnest(" P "::bigint[], " T "::timestamptz[], " TR "::jsonb[]) WITH ORDINALITY" \
	"        AS u(pid, ts, tr, ord)" \
	"  GROUP BY u.pid" \
	" ON CONFLICT (project_id, person_id) DO UPDATE SET" \
	"   first_seen = least(p.first_seen, EXCLUDED.first_seen)," \
	"   last_seen = greatest(p.last_seen, EXCLUDED.last_seen)," \
	"   traits = p.traits || EXCLUDED.traits" \
	" WHERE EXCLUDED.first_seen < p.first_seen OR EXCLUDED.last_seen > p.last_seen" \
	"    OR EXCLUDED.traits <> '{}'::jsonb"

/* Fill vals[0..13] with the array literals of one project's rows: the
 * parameters of EVENTS_INSERT ($1..$13) plus traits ($14). */
static bool event_arrays(struct ingest_ctx *c, const struct proj_rows *pr, const int64_t *recv,
			 const int64_t *person_of_msg, const char *vals[14])
{
	char ts[64];

	for (int k = A_PERSON; k <= A_TRAITS; k++)
		ab_begin(&c->a[k]);
	for (int i = 0; i < pr->n; i++) {
		const struct ingest_row *r = pr->rows[i];
		ab_int(&c->a[A_PERSON], person_of_msg[i]);
		ab_str(&c->a[A_MSGID], r->message_id);
		ab_str(&c->a[A_TYPE], type_names[r->type]);
		ab_str(&c->a[A_EVENT], r->event);
		ab_str(&c->a[A_NAME], r->name);
		ab_str(&c->a[A_UID], r->user_id);
		ab_str(&c->a[A_AID], r->anonymous_id ? r->anonymous_id : NULL);
		db_format_ts(r->ts_us, ts);
		ab_str(&c->a[A_TS], ts);
		db_format_ts(recv[i], ts);
		ab_str(&c->a[A_RECV], ts);
		ab_str(&c->a[A_PROPS], r->properties ? r->properties : "{}");
		ab_str(&c->a[A_CTX], r->context ? r->context : "{}");
		ab_str(&c->a[A_TRAITS], r->traits);
	}
	vals[0] = c->project;
	for (int k = A_PERSON; k <= A_CTX; k++)
		if (!(vals[k + 1] = ab_end(&c->a[k])))
			return err_set(c->err, 500, "internal", NULL, "out of memory");
	vals[12] = c->node;
	if (!(vals[13] = ab_end(&c->a[A_TRAITS])))
		return err_set(c->err, 500, "internal", NULL, "out of memory");
	return true;
}

/* What was really inserted (duplicates skipped) goes to the in-memory store. */
static void keep_returned(struct ingest_ctx *c, PGresult *res)
{
	if (!c->out || !returned_keep(c->out, res))
		PQclear(res);
}

static const char ids_sql[] =
	"INSERT INTO identities (project_id, distinct_id, person_id)"
	" SELECT $1::bigint, d, p FROM unnest($2::text[], $3::bigint[]) AS u(d, p)";
static const char merge_sql[] = DB_MERGE_SQL;
static const char ev_sql[] = EVENTS_INSERT;
static const char person_sql[] = PERSONS_UPSERT("$2", "$3", "$4");

/*
 * Round trip 2: new identities, merges, persons, events [and COMMIT] as one
 * pipeline. The events INSERT comes last of the large statements: its
 * RETURNING rows are the only large result, and by then every large
 * parameter has been sent (see db_pipeline).
 */
static bool write_all(struct ingest_ctx *c, const struct proj_rows *pr, const int64_t *recv,
		      const struct ident_result *ir, bool commit)
{
	const char *iv[3] = { c->project, NULL, NULL }, *vals[14], *pv[4];
	char (*mv)[2][24] = NULL;
	const char **mvals = NULL;
	struct db_pipe *st;
	int n = 0;
	bool ok;

	st = calloc((size_t)ir->n_merges + 4, sizeof(*st));
	if (ir->n_merges > 0) {
		mv = calloc((size_t)ir->n_merges, sizeof(*mv));
		mvals = calloc((size_t)ir->n_merges * 3, sizeof(*mvals));
	}
	if (!st || (ir->n_merges > 0 && (!mv || !mvals))) {
		ok = err_set(c->err, 500, "internal", NULL, "out of memory");
		goto out;
	}
	if (ir->n_new_ids > 0) {
		ab_begin(&c->a[A_IDS]);
		ab_begin(&c->a[A_IDPERSONS]);
		for (int i = 0; i < ir->n_new_ids; i++) {
			ab_str(&c->a[A_IDS], ir->new_ids[i].distinct_id);
			ab_int(&c->a[A_IDPERSONS], ir->new_ids[i].person_id);
		}
		iv[1] = ab_end(&c->a[A_IDS]);
		iv[2] = ab_end(&c->a[A_IDPERSONS]);
		if (!iv[1] || !iv[2]) {
			ok = err_set(c->err, 500, "internal", NULL, "out of memory");
			goto out;
		}
		st[n++] = (struct db_pipe){ ids_sql, P_IDS, 3, iv, PGRES_COMMAND_OK, "identities",
					    false, NULL };
	}
	for (int i = 0; i < ir->n_merges; i++) {
		snprintf(mv[i][0], sizeof(mv[i][0]), "%lld", (long long)ir->merges[i].old_person);
		snprintf(mv[i][1], sizeof(mv[i][1]), "%lld", (long long)ir->merges[i].person);
		mvals[3 * i] = c->project;
		mvals[3 * i + 1] = mv[i][0];
		mvals[3 * i + 2] = mv[i][1];
		st[n++] = (struct db_pipe){ merge_sql, 0, 3, mvals + 3 * i, PGRES_COMMAND_OK,
					    "person merge", false, NULL };
	}
	if (!event_arrays(c, pr, recv, ir->person_of_msg, vals)) {
		ok = false;
		goto out;
	}
	pv[0] = vals[0];
	pv[1] = vals[1];
	pv[2] = vals[8];
	pv[3] = vals[13];
	st[n++] = (struct db_pipe){ person_sql, P_PERSONS, 4, pv, PGRES_COMMAND_OK, "upsert persons",
				    false, NULL };
	st[n++] = (struct db_pipe){ ev_sql, P_EVENTS, 13, vals, PGRES_TUPLES_OK, "insert events",
				    true, NULL };
	if (commit)
		st[n++] = (struct db_pipe){ "COMMIT", 0, 0, NULL, PGRES_COMMAND_OK, "commit", false,
					    NULL };
	ok = db_pipeline(c->db, st, n, c->err);
	if (ok)
		keep_returned(c, st[n - 1 - commit].res);
out:
	free(st);
	free(mv);
	free(mvals);
	return ok;
}

/*
 * Fast path: every id of the group is in the writer's cache and no message
 * links ids, so no identity lock or lookup is needed. Events and persons
 * are written by ONE prepared statement in autocommit (a data-modifying CTE
 * is a single transaction): one round trip, no re-planning.
 */
static bool fast_write(struct ingest_ctx *c, const struct proj_rows *pr, const int64_t *recv,
		       const int64_t *person_of_msg)
{
	static const char sql[] =
		"WITH ev AS (" EVENTS_INSERT "),"
		" per AS (" PERSONS_UPSERT("$2", "$9", "$14") ")"
		" SELECT * FROM ev";
	const char *vals[14];
	PGresult *res;

	if (!event_arrays(c, pr, recv, person_of_msg, vals))
		return false;
	if (!c->db->prepared_fast) {
		res = PQprepare(c->db->conn, "cohortd_fast_ingest", sql, 14, NULL);
		if (!db_check(c->db, res, PGRES_COMMAND_OK, "prepare fast ingest", c->err))
			return false;
		PQclear(res);
		c->db->prepared_fast = true;
	}
	res = PQexecPrepared(c->db->conn, "cohortd_fast_ingest", 14, vals, NULL, NULL, 0);
	if (!db_check(c->db, res, PGRES_TUPLES_OK, "fast ingest", c->err))
		return false;
	keep_returned(c, res);
	return true;
}

/* One project's rows on the identity path: two round trips; the second
 * also commits when `commit` (the group's last project, no orders). */
static bool ingest_project(struct ingest_ctx *c, const struct proj_rows *pr, const int64_t *recv,
			   bool begin, bool commit)
{
	struct ident_known *known = NULL;
	struct ident_msg *msgs = NULL;
	struct ident_result ir = { 0 };
	PGresult *known_res = NULL, *reserved = NULL;
	int n_known = 0;
	bool ok = false;

	snprintf(c->project, sizeof(c->project), "%lld", (long long)pr->project_id);
	if (!lock_and_load(c, pr, begin, &known, &n_known, &known_res, &reserved))
		goto out;
	msgs = calloc((size_t)pr->n, sizeof(*msgs));
	if (!msgs) {
		err_set(c->err, 500, "internal", NULL, "out of memory");
		goto out;
	}
	for (int i = 0; i < pr->n; i++) {
		const struct ingest_row *r = pr->rows[i];
		msgs[i].user_id = r->user_id;
		msgs[i].other_id = r->type == EV_ALIAS ? r->previous_id : r->anonymous_id;
		msgs[i].link = r->type == EV_IDENTIFY || r->type == EV_ALIAS;
	}
	if (!ident_resolve(msgs, pr->n, known, n_known, &ir)) {
		err_set(c->err, 500, "internal", NULL, "out of memory");
		goto out;
	}
	ok = new_persons(c, &ir, reserved) && write_all(c, pr, recv, &ir, commit);
	/* Remember the mappings; if the transaction later fails the whole
	 * cache is cleared (db_ingest_commit), so no uncommitted id survives. */
	for (int i = 0; ok && i < n_known; i++)
		idcache_put(c->cache, pr->project_id, known[i].distinct_id, known[i].person_id);
	for (int i = 0; ok && i < ir.n_new_ids; i++)
		idcache_put(c->cache, pr->project_id, ir.new_ids[i].distinct_id, ir.new_ids[i].person_id);
out:
	ident_result_free(&ir);
	free(msgs);
	free(known);
	PQclear(known_res);
	PQclear(reserved);
	return ok;
}

static int cmp_job_project(const void *a, const void *b)
{
	const struct ingest_job *x = *(const struct ingest_job *const *)a;
	const struct ingest_job *y = *(const struct ingest_job *const *)b;
	return (x->project_id > y->project_id) - (x->project_id < y->project_id);
}

/* Orders riding on the jobs of one project (a /v1/batch mixing events and
 * orders): applied after the project's events, in the same transaction and
 * under the same advisory lock, by db_orders.c. */
static bool apply_orders(struct db *db, struct ingest_job *const *jobs, int n, struct app_err *err)
{
	for (int i = 0; i < n; i++)
		if (jobs[i]->n_orders > 0 &&
		    !db_orders_apply(db, jobs[i]->project_id, jobs[i]->orders, jobs[i]->n_orders, NULL, err))
			return false;
	return true;
}

/* The group qualifies for fast_write: one project, no orders, no links, and
 * every message's id cached. Fills person_of_msg (pr order). */
static bool fast_eligible(struct idcache *cache, struct ingest_job *const *jobs, int n,
			  int64_t *person_of_msg)
{
	int k = 0;

	if (!cache)
		return false;
	for (int i = 0; i < n; i++) {
		if (jobs[i]->project_id != jobs[0]->project_id || jobs[i]->n_orders > 0)
			return false;
		for (int j = 0; j < jobs[i]->n; j++) {
			const struct ingest_row *r = &jobs[i]->rows[j];
			const char *id = r->user_id ? r->user_id : r->anonymous_id;
			if (r->type == EV_ALIAS || (r->type == EV_IDENTIFY && r->user_id && r->anonymous_id) ||
			    !id || !idcache_get(cache, jobs[0]->project_id, id, &person_of_msg[k++]))
				return false;
		}
	}
	return true;
}

bool db_ingest_commit(struct db *db, struct ingest_job *const *jobs, int n, int32_t node,
		      struct idcache *cache, struct ingest_returned **returned, struct app_err *err)
{
	struct ingest_ctx c = { .db = db, .err = err };
	char node_s[16];

	if (returned) {
		*returned = calloc(1, sizeof(**returned));
		snprintf(node_s, sizeof(node_s), "%d", node);
		c.node = node_s;
		c.out = *returned;
	}
	struct ingest_job **sorted = NULL;
	const struct ingest_row **rows = NULL;
	int64_t *recv = NULL, *recv_persons = NULL;
	int total = 0;
	bool ok = false;

	for (int i = 0; i < n; i++)
		total += jobs[i]->n;
	recv_persons = malloc(((size_t)total + 1) * sizeof(*recv_persons));
	sorted = malloc((size_t)n * sizeof(*sorted));
	rows = malloc(((size_t)total + 1) * sizeof(*rows));
	recv = malloc(((size_t)total + 1) * sizeof(*recv));
	if (!sorted || !rows || !recv || !recv_persons) {
		err_set(err, 500, "internal", NULL, "out of memory");
		goto out;
	}
	memcpy(sorted, jobs, (size_t)n * sizeof(*sorted));
	c.cache = cache;
	if (fast_eligible(cache, jobs, n, recv_persons)) {
		struct proj_rows pr = { jobs[0]->project_id, rows, 0 };
		for (int i = 0; i < n; i++)
			for (int k = 0; k < jobs[i]->n; k++) {
				rows[pr.n] = &jobs[i]->rows[k];
				recv[pr.n++] = jobs[i]->received_us;
			}
		snprintf(c.project, sizeof(c.project), "%lld", (long long)pr.project_id);
		ok = fast_write(&c, &pr, recv, recv_persons);
		goto out;
	}
	/* Projects in ascending order: advisory locks are always taken in one order. */
	qsort(sorted, (size_t)n, sizeof(*sorted), cmp_job_project);
	for (int i = 0; i < n;) {
		struct proj_rows pr = { sorted[i]->project_id, rows, 0 };
		int64_t *rv = recv;
		int first = i;
		while (i < n && sorted[i]->project_id == pr.project_id) {
			for (int k = 0; k < sorted[i]->n; k++) {
				rows[pr.n] = &sorted[i]->rows[k];
				rv[pr.n++] = sorted[i]->received_us;
			}
			i++;
		}
		/* BEGIN rides with the first project's lock, COMMIT with the last
		 * project's writes unless orders follow them. */
		bool orders = false, last = i == n;
		for (int k = first; k < i; k++)
			orders = orders || sorted[k]->n_orders > 0;
		if (!ingest_project(&c, &pr, rv, first == 0, last && !orders) ||
		    !apply_orders(db, sorted + first, i - first, err))
			goto out;
		if (last && orders && !db_exec(db, "COMMIT", err))
			goto out;
	}
	ok = true;
out:
	if (!ok) {
		db_rollback(db);
		if (cache)
			idcache_clear(cache);
		if (returned) {
			db_ingest_returned_free(*returned);
			*returned = NULL;
		}
	}
	for (int k = 0; k < A_COUNT; k++)
		free(c.a[k].s);
	free(sorted);
	free(rows);
	free(recv);
	free(recv_persons);
	return ok;
}
