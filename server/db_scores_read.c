/*
 * db_scores_read.c - the read side of db_scores.h: stored summaries, segment
 * pages and person profiles.
 *
 * Pages and profiles are built as JSON by PostgreSQL in one statement each:
 * one round trip, and the handler only parses and decorates the result. A
 * page reads one generation (run_id) by keyset on person_id, so a listing
 * stays on the snapshot it started with while newer runs are written.
 */
#include "server/db_scores.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db_internal.h"

/* The stored scores of person_scores row `s` as a JSON object. */
#define SCORE_JSON                                                                                 \
	"json_build_object('run_id', s.run_id, 'computed_at', s.computed_at,"                      \
	" 'first_active', s.first_active, 'last_active', s.last_active,"                           \
	" 'paid_orders', s.paid_orders,"                                                           \
	" 'rfm', json_build_object('recency_days', s.rfm_recency_days,"                            \
	"   'frequency', s.rfm_frequency, 'monetary', s.rfm_monetary, 'r', s.rfm_r, 'f', s.rfm_f," \
	"   'm', s.rfm_m, 'fm', s.rfm_fm, 'rfm11', s.rfm11, 'rfm8', s.rfm8),"                      \
	" 'lifecycle', s.lifecycle, 'value_tier', s.value_tier, 'aipl', s.aipl,"                   \
	" 'aarrr', json_build_object('acquired', (s.aarrr & 1) <> 0,"                              \
	"   'activation', (s.aarrr & 2) <> 0, 'retention', (s.aarrr & 4) <> 0,"                    \
	"   'revenue', (s.aarrr & 8) <> 0, 'referral', (s.aarrr & 16) <> 0),"                      \
	" 'referrals', s.referrals,"                                                               \
	" 'ltv', json_build_object('historical', s.ltv_historical, 'p_alive', s.p_alive,"          \
	"   'expected_purchases_30d', s.expected_purchases_30d,"                                   \
	"   'expected_purchases_90d', s.expected_purchases_90d,"                                   \
	"   'expected_purchases_365d', s.expected_purchases_365d,"                                 \
	"   'clv_predicted', s.clv_predicted))"

/* Distinct ids of person s.person_id and of the raw persons merged into it. */
#define IDS_JSON                                                                                   \
	"(SELECT coalesce(json_agg(i.distinct_id ORDER BY i.created_at, i.distinct_id), '[]')"     \
	"   FROM identities i WHERE i.project_id = s.project_id AND i.person_id = ANY(ARRAY("      \
	"     SELECT s.person_id UNION ALL SELECT po.old_person_id FROM person_overrides po"       \
	"      WHERE po.project_id = s.project_id AND po.person_id = s.person_id)))"

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
	res = db_params(db, sql, 2, v, PGRES_TUPLES_OK, "stored scores", err);
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

/* The same page statement for each column; only the filter differs. */
#define PAGE_SQL(filter)                                                                           \
	"WITH ok AS (SELECT 1 FROM score_current c WHERE c.project_id = $1::bigint"                \
	"            AND $2::bigint IN (c.run_id, c.previous_run_id))"                             \
	" SELECT (SELECT count(*) FROM ok),"                                                       \
	"   (SELECT coalesce(json_agg(json_build_object('person_id', s.person_id,"                 \
	"      'distinct_ids', " IDS_JSON ", 'scores', " SCORE_JSON ") ORDER BY s.person_id), '[]')" \
	"    FROM (SELECT * FROM person_scores s WHERE EXISTS (SELECT 1 FROM ok)"                  \
	"           AND s.project_id = $1::bigint AND s.run_id = $2::bigint"                       \
	"           AND s.person_id > $3::bigint AND " filter                                      \
	"         ORDER BY s.person_id LIMIT $5::int) s)::text"

static const char *const page_sql[] = {
	[SC_COL_RFM11] = PAGE_SQL("s.rfm11 = $4"),
	[SC_COL_RFM8] = PAGE_SQL("s.rfm8 = $4"),
	[SC_COL_LIFECYCLE] = PAGE_SQL("s.lifecycle = $4"),
	[SC_COL_TIER] = PAGE_SQL("s.value_tier = $4"),
	[SC_COL_AIPL] = PAGE_SQL("s.aipl = $4"),
	[SC_COL_AARRR] = PAGE_SQL("(s.aarrr & $4::int) = $4::int"),
};

bool db_scores_page(struct db *db, int64_t project_id, int64_t run_id, enum sc_column col,
		    const char *segment, int64_t after, int limit, char **json, bool *gone,
		    struct app_err *err)
{
	char pid[24], rid[24], aft[24], lim[16];
	const char *v[5] = { pid, rid, aft, segment, lim };
	PGresult *res;

	snprintf(pid, sizeof(pid), "%lld", (long long)project_id);
	snprintf(rid, sizeof(rid), "%lld", (long long)run_id);
	snprintf(aft, sizeof(aft), "%lld", (long long)after);
	snprintf(lim, sizeof(lim), "%d", limit);
	*json = NULL;
	res = db_params(db, page_sql[col], 5, v, PGRES_TUPLES_OK, "segment page", err);
	if (!res)
		return false;
	*gone = strcmp(PQgetvalue(res, 0, 0), "0") == 0;
	*json = strdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	if (!*json)
		return err_set(err, 500, "internal", NULL, "out of memory");
	return true;
}

/*
 * The raw persons of the distinct id's person: the person itself and every
 * raw person merged into it (overrides are flat, docs/identity.md). Traits
 * are merged oldest-active first, so the most recently active raw person
 * wins a key, as an identify would.
 */
static const char person_sql[] =
	"WITH idn AS (SELECT coalesce(o.person_id, i.person_id) AS pid FROM identities i"
	"    LEFT JOIN person_overrides o"
	"      ON o.project_id = i.project_id AND o.old_person_id = i.person_id"
	"   WHERE i.project_id = $1::bigint AND i.distinct_id = $2),"
	" raw AS (SELECT pid AS rid FROM idn UNION SELECT po.old_person_id FROM person_overrides po, idn"
	"   WHERE po.project_id = $1::bigint AND po.person_id = idn.pid),"
	" pr AS (SELECT p.* FROM persons p WHERE p.project_id = $1::bigint"
	"   AND p.person_id IN (SELECT rid FROM raw))"
	" SELECT json_build_object('person_id', idn.pid,"
	"  'distinct_ids', (SELECT coalesce(json_agg(i.distinct_id ORDER BY i.created_at,"
	"      i.distinct_id), '[]') FROM identities i"
	"      WHERE i.project_id = $1::bigint AND i.person_id IN (SELECT rid FROM raw)),"
	"  'merged_person_ids', (SELECT coalesce(json_agg(rid ORDER BY rid), '[]') FROM raw"
	"      WHERE rid <> idn.pid),"
	"  'first_seen', (SELECT min(first_seen) FROM pr),"
	"  'last_seen', (SELECT max(last_seen) FROM pr),"
	"  'traits', (SELECT cohortd_jsonb_merge(traits ORDER BY last_seen, person_id) FROM pr),"
	"  'scores', (SELECT " SCORE_JSON " FROM person_scores s JOIN score_current c"
	"      ON c.project_id = s.project_id AND c.run_id = s.run_id"
	"      WHERE s.project_id = $1::bigint AND s.person_id = idn.pid))::text"
	" FROM idn";

bool db_scores_person(struct db *db, int64_t project_id, const char *distinct_id, char **json,
		      bool *found, struct app_err *err)
{
	char pid[24];
	const char *v[2] = { pid, distinct_id };
	PGresult *res;

	snprintf(pid, sizeof(pid), "%lld", (long long)project_id);
	res = db_params(db, person_sql, 2, v, PGRES_TUPLES_OK, "person", err);
	if (!res)
		return false;
	*found = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
	*json = *found ? strdup(PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	if (*found && !*json)
		return err_set(err, 500, "internal", NULL, "out of memory");
	return true;
}
