/*
 * db_scores_read.c - the read side of db_scores.h: stored summaries, segment
 * pages and person profiles.
 *
 * Pages and profiles are one prepared statement each (one round trip) that
 * returns plain columns; the JSON is built here. A page reads one generation
 * (run_id) by keyset on person_id, so a listing stays on the snapshot it
 * started with while newer runs are written.
 */
#include "server/db_scores.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db_internal.h"

/* The person_scores columns a scores object is built from (score_json). */
#define SCORE_COLS                                                                                 \
	"s.run_id, to_char(s.computed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"  \
	" s.first_active, s.last_active, s.paid_orders, s.rfm_recency_days, s.rfm_frequency,"      \
	" s.rfm_monetary, s.rfm_r, s.rfm_f, s.rfm_m, s.rfm_fm, s.rfm11, s.rfm8, s.lifecycle,"       \
	" s.value_tier, s.aipl, s.aarrr, s.referrals, s.ltv_historical, s.p_alive,"                \
	" s.expected_purchases_30d, s.expected_purchases_90d, s.expected_purchases_365d,"         \
	" s.clv_predicted"

/* Distinct ids (JSON array) of person s.person_id and the raw persons merged into it. */
#define IDS_JSON                                                                                   \
	"(SELECT coalesce(json_agg(i.distinct_id ORDER BY i.created_at, i.distinct_id), '[]')"     \
	"   FROM identities i WHERE i.project_id = s.project_id AND i.person_id = ANY(ARRAY("      \
	"     SELECT s.person_id UNION ALL SELECT po.old_person_id FROM person_overrides po"       \
	"      WHERE po.project_id = s.project_id AND po.person_id = s.person_id)))::text"

static json_t *j_int(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? json_null()
					: json_integer(strtoll(PQgetvalue(r, row, col), NULL, 10));
}

static json_t *j_real(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? json_null() : json_real(strtod(PQgetvalue(r, row, col), NULL));
}

static json_t *j_str(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

static json_t *j_json(const PGresult *r, int row, int col)
{
	json_t *v = PQgetisnull(r, row, col) ? NULL : json_loads(PQgetvalue(r, row, col), 0, NULL);
	return v ? v : json_null();
}

/*
 * The scores object from the SCORE_COLS starting at column c (null when the
 * person has no row). Built here rather than with json_build_object: on the
 * profile path PostgreSQL's JSON building cost more than the lookups.
 */
static json_t *score_json(const PGresult *r, int row, int c)
{
	long aarrr;

	if (PQgetisnull(r, row, c))
		return json_null();
	aarrr = strtol(PQgetvalue(r, row, c + 17), NULL, 10);
	return json_pack(
		"{s:o, s:o, s:o, s:o, s:o,"
		" s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o},"
		" s:o, s:o, s:o, s:{s:b, s:b, s:b, s:b, s:b}, s:o,"
		" s:{s:o, s:o, s:o, s:o, s:o, s:o}}",
		"run_id", j_int(r, row, c), "computed_at", j_str(r, row, c + 1), "first_active",
		j_str(r, row, c + 2), "last_active", j_str(r, row, c + 3), "paid_orders",
		j_int(r, row, c + 4), "rfm", "recency_days", j_int(r, row, c + 5), "frequency",
		j_int(r, row, c + 6), "monetary", j_int(r, row, c + 7), "r", j_int(r, row, c + 8), "f",
		j_int(r, row, c + 9), "m", j_int(r, row, c + 10), "fm", j_int(r, row, c + 11), "rfm11",
		j_str(r, row, c + 12), "rfm8", j_str(r, row, c + 13), "lifecycle",
		j_str(r, row, c + 14), "value_tier", j_str(r, row, c + 15), "aipl",
		j_str(r, row, c + 16), "aarrr", "acquired", (int)(aarrr & 1), "activation",
		(int)((aarrr >> 1) & 1), "retention", (int)((aarrr >> 2) & 1), "revenue",
		(int)((aarrr >> 3) & 1), "referral", (int)((aarrr >> 4) & 1), "referrals",
		j_int(r, row, c + 18), "ltv", "historical", j_int(r, row, c + 19), "p_alive",
		j_real(r, row, c + 20), "expected_purchases_30d", j_real(r, row, c + 21),
		"expected_purchases_90d", j_real(r, row, c + 22), "expected_purchases_365d",
		j_real(r, row, c + 23), "clv_predicted", j_real(r, row, c + 24));
}

/*
 * Run a statement prepared under `name` on this connection, preparing it on
 * first use (SQLSTATE 26000: pool connections come and go, so "prepared"
 * cannot be remembered outside the server). Planning the profile query
 * costs more than executing it, and GET /v1/persons/{id} is the hot path.
 */
static PGresult *exec_prepared(struct db *db, const char *name, const char *sql, int n,
			       const char *const *vals, const char *what, struct app_err *err)
{
	PGresult *res = PQexecPrepared(db->conn, name, n, vals, NULL, NULL, 0);
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQresultStatus(res) == PGRES_FATAL_ERROR && st && strcmp(st, "26000") == 0) {
		PQclear(res);
		res = PQprepare(db->conn, name, sql, n, NULL);
		if (!db_check(db, res, PGRES_COMMAND_OK, what, err))
			return NULL;
		PQclear(res);
		res = PQexecPrepared(db->conn, name, n, vals, NULL, NULL, 0);
	}
	return db_check(db, res, PGRES_TUPLES_OK, what, err) ? res : NULL;
}

bool db_scores_stored(struct db *db, int64_t project_id, const char *key, struct sc_stored *out,
		      bool *found, struct app_err *err)
{
	static const char sql[] =
		"SELECT r.run_id, coalesce(c.previous_run_id, 0), r.as_of - DATE '1970-01-01',"
		"       to_char(r.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
		"       r.params::text, (r.summary -> $2)::text"
		"  FROM score_current c JOIN score_runs r ON r.run_id = c.run_id"
		" WHERE c.project_id = $1::bigint";
	char pid[24];
	const char *v[2] = { pid, key };
	PGresult *res;

	memset(out, 0, sizeof(*out));
	snprintf(pid, sizeof(pid), "%lld", (long long)project_id);
	res = exec_prepared(db, "cohortd_scores_stored", sql, 2, v, "stored scores", err);
	if (!res)
		return false;
	*found = PQntuples(res) == 1;
	if (*found) {
		out->run_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		out->previous_run_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		out->as_of_day = (int32_t)strtol(PQgetvalue(res, 0, 2), NULL, 10);
		snprintf(out->computed_at, sizeof(out->computed_at), "%s", PQgetvalue(res, 0, 3));
		out->params = strdup(PQgetisnull(res, 0, 4) ? "{}" : PQgetvalue(res, 0, 4));
		if (!PQgetisnull(res, 0, 5))
			out->summary = strdup(PQgetvalue(res, 0, 5));
		if (!out->params || (!PQgetisnull(res, 0, 5) && !out->summary)) {
			PQclear(res);
			db_scores_stored_free(out);
			return err_set(err, 500, "internal", NULL, "out of memory");
		}
	}
	PQclear(res);
	return true;
}

void db_scores_stored_free(struct sc_stored *s)
{
	free(s->params);
	free(s->summary);
	s->params = s->summary = NULL;
}

/* The same page statement for each column; only the filter differs. The
 * generation must still be the current or the previous one. */
#define PAGE_SQL(filter)                                                                           \
	"SELECT s.person_id, " IDS_JSON ", " SCORE_COLS " FROM person_scores s"                    \
	" WHERE s.project_id = $1::bigint AND s.run_id = $2::bigint AND s.person_id > $3::bigint"  \
	"   AND " filter " AND EXISTS (SELECT 1 FROM score_current c"                               \
	"       WHERE c.project_id = $1::bigint AND $2::bigint IN (c.run_id, c.previous_run_id))"  \
	" ORDER BY s.person_id LIMIT $5::int"

static const char *const page_sql[] = {
	[SC_COL_RFM11] = PAGE_SQL("s.rfm11 = $4"),
	[SC_COL_RFM8] = PAGE_SQL("s.rfm8 = $4"),
	[SC_COL_LIFECYCLE] = PAGE_SQL("s.lifecycle = $4"),
	[SC_COL_TIER] = PAGE_SQL("s.value_tier = $4"),
	[SC_COL_AIPL] = PAGE_SQL("s.aipl = $4"),
	[SC_COL_AARRR] = PAGE_SQL("(s.aarrr & $4::int) = $4::int"),
};

/* An empty page: the end of the segment, or a purged generation? */
static bool generation_gone(struct db *db, const char *const *v, bool *gone, struct app_err *err)
{
	static const char sql[] =
		"SELECT 1 FROM score_current WHERE project_id = $1::bigint"
		" AND $2::bigint IN (run_id, previous_run_id)";
	PGresult *res = db_params(db, sql, 2, v, PGRES_TUPLES_OK, "page generation", err);

	if (!res)
		return false;
	*gone = PQntuples(res) == 0;
	PQclear(res);
	return true;
}

bool db_scores_page(struct db *db, int64_t project_id, int64_t run_id, enum sc_column col,
		    const char *segment, int64_t after, int limit, json_t **rows, bool *gone,
		    struct app_err *err)
{
	static const char *const names[] = { "cohortd_scores_page0", "cohortd_scores_page1",
					      "cohortd_scores_page2", "cohortd_scores_page3",
					      "cohortd_scores_page4", "cohortd_scores_page5" };
	char pid[24], rid[24], aft[24], lim[16];
	const char *v[5] = { pid, rid, aft, segment, lim };
	PGresult *res;
	int n;

	snprintf(pid, sizeof(pid), "%lld", (long long)project_id);
	snprintf(rid, sizeof(rid), "%lld", (long long)run_id);
	snprintf(aft, sizeof(aft), "%lld", (long long)after);
	snprintf(lim, sizeof(lim), "%d", limit);
	*rows = NULL;
	*gone = false;
	if (!(res = exec_prepared(db, names[col], page_sql[col], 5, v, "segment page", err)))
		return false;
	n = PQntuples(res);
	*rows = json_array();
	for (int i = 0; *rows && i < n; i++)
		json_array_append_new(*rows, json_pack("{s:o, s:o, s:o}", "person_id", j_int(res, i, 0),
						       "distinct_ids", j_json(res, i, 1), "scores",
						       score_json(res, i, 2)));
	PQclear(res);
	if (!*rows)
		return err_set(err, 500, "internal", NULL, "out of memory");
	if (n == 0 && !generation_gone(db, v, gone, err)) {
		json_decref(*rows);
		*rows = NULL;
		return false;
	}
	return true;
}

/*
 * Profiles, many per statement (server/profiles.c batches concurrent
 * requests): one row per distinct id found, tagged with its position in the
 * arrays. The raw persons of the id's person are the person itself and every
 * raw person merged into it (overrides are flat, docs/identity.md). Traits
 * are merged oldest-active first, so the most recently active raw person
 * wins a key, as an identify would. The last column says whether the
 * project has a usable BG/NBD fit (the condition of db_ltv_run_get's latest
 * run): without one the profile's predictions are null and the handler
 * skips ltv_person_json, whose three statements cost about three times this.
 * Meant for a connection with plan_cache_mode = force_generic_plan: a
 * custom plan is cheaper on paper for a small array, so PostgreSQL would
 * otherwise plan every execution (measured 1.4 ms, more than the lookups).
 */
static const char profiles_sql[] =
	"SELECT q.ord,  idn.pid,"
	"  to_char(pr.fs AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
	"  to_char(pr.ls AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
	"  pr.tr::text, ii.ids::text,"
	"  (SELECT coalesce(json_agg(r ORDER BY r), '[]') FROM unnest(raw.rids) r"
	"    WHERE r <> idn.pid)::text,"
	"  " SCORE_COLS ","
	"  EXISTS (SELECT 1 FROM model_runs m WHERE m.project_id = q.proj AND m.usable"
	"          AND m.kind = 'bgnbd')"
	" FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS q(proj, did, ord)"
	" CROSS JOIN LATERAL (SELECT coalesce(o.person_id, i.person_id) AS pid FROM identities i"
	"    LEFT JOIN person_overrides o"
	"      ON o.project_id = i.project_id AND o.old_person_id = i.person_id"
	"   WHERE i.project_id = q.proj AND i.distinct_id = q.did) idn"
	" CROSS JOIN LATERAL (SELECT idn.pid || ARRAY(SELECT po.old_person_id"
	"    FROM person_overrides po WHERE po.project_id = q.proj AND po.person_id = idn.pid)"
	"    AS rids) raw"
	" CROSS JOIN LATERAL (SELECT min(p.first_seen) AS fs, max(p.last_seen) AS ls,"
	"     cohortd_jsonb_merge(p.traits ORDER BY p.last_seen, p.person_id) AS tr FROM persons p"
	"    WHERE p.project_id = q.proj AND p.person_id = ANY(raw.rids)) pr"
	" CROSS JOIN LATERAL (SELECT coalesce(json_agg(i.distinct_id ORDER BY i.created_at,"
	"     i.distinct_id), '[]') AS ids FROM identities i"
	"    WHERE i.project_id = q.proj AND i.person_id = ANY(raw.rids)) ii"
	" LEFT JOIN person_scores s ON s.project_id = q.proj AND s.person_id = idn.pid"
	"  AND s.run_id = (SELECT c.run_id FROM score_current c WHERE c.project_id = q.proj)";

struct sc_profiles {
	PGresult *res;
};

/* Append s to b as a quoted array element: "..." with \ and " escaped. */
static char *put_elem(char *b, const char *s)
{
	*b++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*b++ = '\\';
		*b++ = *s;
	}
	*b++ = '"';
	return b;
}

bool db_scores_profiles(struct db *db, size_t n, const int64_t *project_ids,
			const char *const *distinct_ids, struct sc_profiles **out, int32_t *rows,
			struct app_err *err)
{
	size_t cap_p = 2 + n * 21, cap_d = 2 + n * 3;
	char *arr_p, *arr_d, *bp, *bd;
	const char *v[2];
	PGresult *res;
	int nt;

	*out = NULL;
	for (size_t i = 0; i < n; i++)
		cap_d += 2 * strlen(distinct_ids[i]);
	arr_p = malloc(cap_p);
	arr_d = malloc(cap_d);
	if (!arr_p || !arr_d) {
		free(arr_p);
		free(arr_d);
		return err_set(err, 500, "internal", NULL, "out of memory");
	}
	bp = arr_p;
	bd = arr_d;
	*bp++ = '{';
	*bd++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i) {
			*bp++ = ',';
			*bd++ = ',';
		}
		bp += sprintf(bp, "%lld", (long long)project_ids[i]);
		bd = put_elem(bd, distinct_ids[i]);
		rows[i] = -1;
	}
	strcpy(bp, "}");
	strcpy(bd, "}");
	v[0] = arr_p;
	v[1] = arr_d;
	res = exec_prepared(db, "cohortd_scores_profiles", profiles_sql, 2, v, "profiles", err);
	free(arr_p);
	free(arr_d);
	if (!res)
		return false;
	nt = PQntuples(res);
	for (int r = 0; r < nt; r++) {
		long ord = strtol(PQgetvalue(res, r, 0), NULL, 10);
		if (ord >= 1 && (size_t)ord <= n)
			rows[ord - 1] = r;
	}
	if (!(*out = malloc(sizeof(**out)))) {
		PQclear(res);
		return err_set(err, 500, "internal", NULL, "out of memory");
	}
	(*out)->res = res;
	return true;
}

void db_scores_profile_row(const struct sc_profiles *b, int32_t row, struct sc_profile_row *out)
{
	const PGresult *res = b->res;
#define TXT(c) (PQgetisnull(res, row, (c)) ? NULL : PQgetvalue(res, row, (c)))
	out->person_id = TXT(1);
	out->first_seen = TXT(2);
	out->last_seen = TXT(3);
	out->traits = TXT(4);
	out->distinct_ids = TXT(5);
	out->merged_person_ids = TXT(6);
	for (int i = 0; i < SC_SCORE_COLS; i++)
		out->score[i] = TXT(7 + i);
	out->ltv_fit = strcmp(PQgetvalue(res, row, 7 + SC_SCORE_COLS), "t") == 0;
#undef TXT
}

void db_scores_profiles_free(struct sc_profiles *b)
{
	if (b) {
		PQclear(b->res);
		free(b);
	}
}
