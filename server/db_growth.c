/*
 * db_growth.c - see db_growth.h.
 *
 * Both questions are joins over a few derived sets (first events, first
 * signups, identities, orders), which PostgreSQL does well; the answers are
 * small (channels) or one row per cohort member (referrals).
 */
#include "server/db_growth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/db_ingest.h"
#include "server/db_internal.h"
#include "server/db_revenue.h"

#define FETCH_ROWS "20000"

/*
 * $1 project, $2 from, $3 to, $4 reporting currency, $5 activation names.
 * New persons: stitched first event ever in [from, to). Their first event
 * (ties: received_at, message_id) is found by probing events_person_ts with
 * (raw person, ts) for every raw id of the stitched person. Channel: a
 * non-empty context.campaign.source (with its medium), else the host of
 * context.page.referrer (lower case, without "www."), else "direct".
 */
/* Channel, activation and revenue per person, summed per (source, medium). */
#define CHANNELS_REST \
	" ch AS (SELECT p, CASE WHEN src IS NOT NULL THEN src WHEN host IS NOT NULL THEN host" \
	"                       ELSE 'direct' END AS source," \
	"               CASE WHEN src IS NOT NULL THEN coalesce(med, '')" \
	"                    WHEN host IS NOT NULL THEN 'referral' ELSE '' END AS medium" \
	"          FROM (SELECT p, nullif(context #>> '{campaign,source}', '') AS src," \
	"                       nullif(context #>> '{campaign,medium}', '') AS med," \
	"                       nullif(regexp_replace(lower(substring(context #>> '{page,referrer}'" \
	"                         FROM '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/?#:]+)'))," \
	"                         '^www\\.', ''), '') AS host FROM firsts) x)," \
	" act AS (SELECT DISTINCT coalesce(o.person_id, e.person_id) AS p" \
	"           FROM events e LEFT JOIN person_overrides o" \
	"             ON o.project_id = e.project_id AND o.old_person_id = e.person_id" \
	"          WHERE e.project_id = $1::bigint AND e.event = ANY($5::text[])" \
	"            AND e.ts >= $2::timestamptz AND e.ts < $3::timestamptz)," \
	" rev AS (SELECT p, count(*) FILTER (WHERE net > 0 AND k IS NOT NULL) AS paid," \
	"                count(*) FILTER (WHERE k IS NULL) AS nofx," \
	"                coalesce(sum(round(net * k)), 0) AS net" \
	"           FROM (SELECT coalesce(po.person_id, o.person_id) AS p, o.net_minor AS net, " \
	DB_REVENUE_FACTOR_SQL " AS k" \
	"                   FROM orders o LEFT JOIN person_overrides po" \
	"                     ON po.project_id = o.project_id AND po.old_person_id = o.person_id" \
	"                  WHERE o.project_id = $1::bigint AND o.state NOT IN ('pending', 'cancelled')" \
	"                    AND o.ts >= $2::timestamptz AND o.ts < $3::timestamptz) y GROUP BY p)" \
	" SELECT ch.source, ch.medium, count(*), count(act.p), count(*) FILTER (WHERE rev.paid > 0)," \
	"        coalesce(sum(rev.paid), 0), coalesce(sum(rev.nofx), 0), coalesce(sum(rev.net), 0)::int8" \
	"   FROM ch LEFT JOIN act USING (p) LEFT JOIN rev USING (p)" \
	"  GROUP BY ch.source, ch.medium ORDER BY 3 DESC, 1, 2"

/* The persons first seen in [$2, $3) and the context of that first event,
 * found by PostgreSQL: a pass over every event before $3. */
#define CHANNELS_FIRSTS_PG                                                                       \
	"WITH ev AS (SELECT coalesce(o.person_id, e.person_id) AS p, e.ts"                         \
	"              FROM events e LEFT JOIN person_overrides o"                                 \
	"                ON o.project_id = e.project_id AND o.old_person_id = e.person_id"         \
	"             WHERE e.project_id = $1::bigint AND e.ts < $3::timestamptz),"                \
	" f AS MATERIALIZED (SELECT p, min(ts) AS t0 FROM ev GROUP BY p"                           \
	"                     HAVING min(ts) >= $2::timestamptz),"                                 \
	" raw AS (SELECT p, t0, p AS raw FROM f"                                                   \
	"         UNION ALL SELECT f.p, f.t0, po.old_person_id FROM f JOIN person_overrides po"    \
	"           ON po.project_id = $1::bigint AND po.person_id = f.p),"                        \
	" firsts AS (SELECT DISTINCT ON (raw.p) raw.p, e.context FROM raw JOIN events e"           \
	"              ON e.project_id = $1::bigint AND e.person_id = raw.raw AND e.ts = raw.t0"   \
	"             ORDER BY raw.p, e.received_at, e.message_id),"

/* The same when the in-memory store already named those persons ($6): only
 * the first event of each of their raw persons is read (events_person_ts,
 * one short index scan each), the earliest of them in the tie order. */
#define CHANNELS_FIRSTS_MEMBERS                                                                  \
	"WITH f AS MATERIALIZED (SELECT p FROM unnest($6::bigint[]) AS m(p)),"                     \
	" raw AS (SELECT p, p AS raw FROM f"                                                       \
	"         UNION ALL SELECT f.p, po.old_person_id FROM f JOIN person_overrides po"          \
	"           ON po.project_id = $1::bigint AND po.person_id = f.p),"                        \
	" firsts AS (SELECT DISTINCT ON (raw.p) raw.p, fe.context FROM raw"                        \
	"              CROSS JOIN LATERAL (SELECT e.ts, e.received_at, e.message_id, e.context"    \
	"                 FROM events e WHERE e.project_id = $1::bigint AND e.person_id = raw.raw" \
	"                ORDER BY e.ts, e.received_at, e.message_id LIMIT 1) fe"                   \
	"             ORDER BY raw.p, fe.ts, fe.received_at, fe.message_id),"

static const char channels_pg_sql[] = CHANNELS_FIRSTS_PG CHANNELS_REST;
static const char channels_members_sql[] = CHANNELS_FIRSTS_MEMBERS CHANNELS_REST;

/* Copy at most cap - 1 bytes, never cutting a UTF-8 sequence in two. */
static void copy_utf8(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int64_t col_i64(const PGresult *r, int i, int c)
{
	return PQgetisnull(r, i, c) ? 0 : strtoll(PQgetvalue(r, i, c), NULL, 10);
}

bool db_channels(struct db *db, const struct db_channel_spec *sp, struct db_channel **rows,
		 size_t *n, struct app_err *err)
{
	char pid[24], from[64], to[64], *members = NULL;
	const char *vals[6] = { pid, from, to, sp->currency, sp->activation, NULL };
	PGresult *res;
	int nr;

	*rows = NULL;
	*n = 0;
	if (sp->members) {
		/* bigint[] literal: at most 20 digits and a comma per person */
		size_t k = 0, cap = 3 + sp->n_members * 21;
		if (!(members = malloc(cap)))
			return err_set(err, 500, "internal", NULL, "out of memory");
		members[k++] = '{';
		for (size_t i = 0; i < sp->n_members; i++)
			k += (size_t)snprintf(members + k, cap - k, i ? ",%lld" : "%lld",
					      (long long)sp->members[i]);
		members[k++] = '}';
		members[k] = '\0';
		vals[5] = members;
	}
	snprintf(pid, sizeof(pid), "%lld", (long long)sp->project_id);
	db_format_ts(sp->from_us, from);
	db_format_ts(sp->to_us, to);
	/* Large one-off aggregates: enough memory to hash in RAM, no JIT. */
	if (!db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err) ||
	    !db_exec(db, "SET LOCAL work_mem = '256MB'", err) ||
	    !db_exec(db, "SET LOCAL jit = off", err))
		goto fail;
	res = sp->members ? db_params(db, channels_members_sql, 6, vals, PGRES_TUPLES_OK, "channels",
				      err)
			  : db_params(db, channels_pg_sql, 5, vals, PGRES_TUPLES_OK, "channels", err);
	free(members);
	members = NULL;
	if (!res)
		goto fail;
	nr = PQntuples(res);
	*rows = calloc((size_t)nr + 1, sizeof(**rows));
	if (!*rows) {
		PQclear(res);
		err_set(err, 500, "internal", NULL, "out of memory");
		goto fail;
	}
	for (int i = 0; i < nr; i++) {
		struct db_channel *c = &(*rows)[i];
		copy_utf8(c->source, sizeof(c->source), PQgetvalue(res, i, 0));
		copy_utf8(c->medium, sizeof(c->medium), PQgetvalue(res, i, 1));
		c->reached = col_i64(res, i, 2);
		c->activated = col_i64(res, i, 3);
		c->paying = col_i64(res, i, 4);
		c->paid_orders = col_i64(res, i, 5);
		c->missing_fx = col_i64(res, i, 6);
		c->revenue_minor = col_i64(res, i, 7);
	}
	*n = (size_t)nr;
	PQclear(res);
	if (db_exec(db, "COMMIT", err))
		return true;
fail:
	free(members);
	db_rollback(db);
	free(*rows);
	*rows = NULL;
	*n = 0;
	return false;
}

/*
 * $1 project, $2 from, $3 to, $4 signup event, $5 referrer path (text[]),
 * $6 invite event (NULL: none), $7 true when the path is under context.
 * Every stitched person's first signup ever (ties: received_at, message_id)
 * decides both cohort membership and whom they were referred by: the
 * referrer property holds a distinct id, resolved through identities and
 * person_overrides. Invites count from the member's own start on.
 */
static const char referrals_sql[] =
	"DECLARE cohortd_ref NO SCROLL CURSOR FOR"
	" WITH su AS (SELECT coalesce(o.person_id, e.person_id) AS p, e.ts, e.received_at,"
	"                    e.message_id,"
	"                    (CASE WHEN $7::bool THEN e.context ELSE e.properties END) #>> $5::text[] AS ref"
	"               FROM events e LEFT JOIN person_overrides o"
	"                 ON o.project_id = e.project_id AND o.old_person_id = e.person_id"
	"              WHERE e.project_id = $1::bigint AND e.event = $4),"
	" firsts AS MATERIALIZED (SELECT DISTINCT ON (p) p, ts, ref FROM su"
	"                          ORDER BY p, ts, received_at, message_id),"
	" members AS MATERIALIZED (SELECT p, ts AS t0 FROM firsts"
	"                           WHERE ts >= $2::timestamptz AND ts < $3::timestamptz),"
	" refs AS (SELECT f.p AS referee, f.ts, coalesce(ro.person_id, i.person_id) AS referrer"
	"            FROM firsts f JOIN identities i ON i.project_id = $1::bigint AND i.distinct_id = f.ref"
	"            LEFT JOIN person_overrides ro"
	"              ON ro.project_id = i.project_id AND ro.old_person_id = i.person_id),"
	" inv AS (SELECT m.p, count(*) AS n FROM members m"
	"           JOIN (SELECT coalesce(o.person_id, e.person_id) AS p, e.ts"
	"                   FROM events e LEFT JOIN person_overrides o"
	"                     ON o.project_id = e.project_id AND o.old_person_id = e.person_id"
	"                  WHERE e.project_id = $1::bigint AND e.event = $6) x"
	"             ON x.p = m.p AND x.ts >= m.t0 GROUP BY m.p)"
	" SELECT m.p, (extract(epoch FROM m.t0) * 1000000)::int8, coalesce(inv.n, 0),"
	"        coalesce(string_agg(((extract(epoch FROM r.ts) * 1000000)::int8)::text, ','"
	"                            ORDER BY r.ts), '')"
	"   FROM members m LEFT JOIN refs r ON r.referrer = m.p AND r.referee <> m.p"
	"   LEFT JOIN inv ON inv.p = m.p"
	"  GROUP BY m.p, m.t0, inv.n ORDER BY m.p";

/* properties.a.b -> {"a","b"}; quotes and backslashes escaped. */
static void path_literal(const char *path, char *out, size_t cap, bool *context)
{
	const char *rest = strchr(path, '.') + 1;
	size_t n = 0;

	*context = strncmp(path, "context.", 8) == 0;
	out[n++] = '{';
	out[n++] = '"';
	for (const char *p = rest; *p && n + 4 < cap; p++) {
		if (*p == '.') {
			out[n++] = '"';
			out[n++] = ',';
			out[n++] = '"';
			continue;
		}
		if (*p == '"' || *p == '\\')
			out[n++] = '\\';
		out[n++] = *p;
	}
	out[n++] = '"';
	out[n++] = '}';
	out[n] = '\0';
}

static bool grow(void **p, size_t cap, size_t size)
{
	void *q = realloc(*p, cap * size);

	if (!q)
		return false;
	*p = q;
	return true;
}

/* Room for member m (and ref_off[m + 1]). */
static bool reserve_member(struct db_referrals *r, size_t *cap, size_t m)
{
	size_t nc = *cap ? *cap * 2 : 4096;

	if (m + 2 <= *cap)
		return true;
	if (!grow((void **)&r->person_id, nc, sizeof(*r->person_id)) ||
	    !grow((void **)&r->start_us, nc, sizeof(*r->start_us)) ||
	    !grow((void **)&r->invites, nc, sizeof(*r->invites)) ||
	    !grow((void **)&r->ref_off, nc, sizeof(*r->ref_off)))
		return false;
	*cap = nc;
	return true;
}

static bool take_members(PGresult *res, struct db_referrals *r, size_t *cap_m, size_t *cap_s)
{
	int n = PQntuples(res);

	for (int i = 0; i < n; i++) {
		size_t m = r->n;
		const char *s = PQgetvalue(res, i, 3);
		if (!reserve_member(r, cap_m, m))
			return false;
		r->person_id[m] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		r->start_us[m] = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		r->invites[m] = (uint64_t)strtoll(PQgetvalue(res, i, 2), NULL, 10);
		r->ref_off[m] = (int64_t)r->n_signups;
		while (*s) {
			char *end;
			if (r->n_signups == *cap_s) {
				size_t nc = *cap_s ? *cap_s * 2 : 4096;
				if (!grow((void **)&r->signup_us, nc, sizeof(*r->signup_us)))
					return false;
				*cap_s = nc;
			}
			r->signup_us[r->n_signups++] = strtoll(s, &end, 10);
			s = *end == ',' ? end + 1 : end;
		}
		r->n = m + 1;
		r->ref_off[r->n] = (int64_t)r->n_signups;
	}
	return true;
}

bool db_referrals(struct db *db, const struct db_referral_spec *sp, struct db_referrals *out,
		  struct app_err *err)
{
	char pid[24], from[64], to[64], path[512];
	bool context, ok = false;
	const char *vals[7] = { pid, from, to, sp->signup_event, path, sp->invite_event, NULL };
	size_t cap_m = 0, cap_s = 0;
	PGresult *res;

	memset(out, 0, sizeof(*out));
	snprintf(pid, sizeof(pid), "%lld", (long long)sp->project_id);
	db_format_ts(sp->from_us, from);
	db_format_ts(sp->to_us, to);
	path_literal(sp->referrer_path, path, sizeof(path), &context);
	vals[6] = context ? "true" : "false";
	if (!db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err) ||
	    !db_exec(db, "SET LOCAL work_mem = '256MB'", err) ||
	    !(res = db_params(db, referrals_sql, 7, vals, PGRES_COMMAND_OK, "declare referrals", err)))
		goto out;
	PQclear(res);
	if (!reserve_member(out, &cap_m, 0)) {
		err_set(err, 500, "internal", NULL, "out of memory");
		goto out;
	}
	out->ref_off[0] = 0;
	for (;;) {
		res = db_params(db, "FETCH " FETCH_ROWS " FROM cohortd_ref", 0, NULL, PGRES_TUPLES_OK,
				"fetch referrals", err);
		if (!res)
			goto out;
		if (PQntuples(res) == 0) {
			PQclear(res);
			break;
		}
		if (!take_members(res, out, &cap_m, &cap_s)) {
			PQclear(res);
			err_set(err, 500, "internal", NULL, "out of memory");
			goto out;
		}
		PQclear(res);
	}
	ok = db_exec(db, "COMMIT", err);
out:
	if (!ok) {
		db_rollback(db);
		db_referrals_free(out);
	}
	return ok;
}

void db_referrals_free(struct db_referrals *r)
{
	free(r->person_id);
	free(r->start_us);
	free(r->invites);
	free(r->ref_off);
	free(r->signup_us);
	memset(r, 0, sizeof(*r));
}
