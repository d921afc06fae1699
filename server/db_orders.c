/*
 * db_orders.c - see db_orders.h; schema and its Citus reasoning in
 * migrations/0003_orders.sql.
 *
 * Applying orders, in one transaction:
 *  1. pg_advisory_xact_lock(1668247156, project): the event writer's lock,
 *     so identity resolution never races with a concurrent group commit.
 *  2. Resolve persons with model/identity.h, exactly as db_ingest.c does for
 *     events: every order is one "identify" linking its ids to its primary id.
 *  3. Per order, one statement: insert-or-read order_keys (fixing the order's
 *     person at first sight), then upsert orders keyed by that person. The
 *     ON CONFLICT branch keeps the newer version (updated_at, then lifecycle
 *     rank, then refunded amount) and always unions refunds reported one by
 *     one, which commute: applied in any order they give the same row.
 * Parameters travel as text and JSON documents (jsonb_to_recordset), never
 * spliced into SQL.
 */
#include "server/db_orders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/identity.h"
#include "model/money.h"
#include "server/db_ingest.h"
#include "server/db_internal.h"

/* Persons of the upsert rows, resolved like a group commit of identifies. */
struct resolve {
	struct ident_msg *msgs;
	int *first_msg;            /* per row: its first message, -1 for refunds */
	int n_msgs;
	json_t *ids;               /* every distinct id, for the lookup */
	PGresult *known_res;       /* owns the strings `known` points into */
	struct ident_known *known;
	int n_known;
	struct ident_result ir;
};

static bool oom(struct app_err *err)
{
	return err_set(err, 500, "internal", NULL, "out of memory");
}

static PGresult *run_json(struct db *db, const char *sql, const char *project, const json_t *doc,
			  ExecStatusType want, const char *what, struct app_err *err)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	const char *vals[2] = { project, text };
	PGresult *res;

	if (!text) {
		oom(err);
		return NULL;
	}
	res = db_params(db, sql, 2, vals, want, what, err);
	free(text);
	return res;
}

static bool build_msgs(struct resolve *r, const struct order_row *rows, int n, struct app_err *err)
{
	int total = 0;

	for (int i = 0; i < n; i++)
		if (rows[i].op == ORDER_UPSERT)
			total += rows[i].n_ids > 1 ? rows[i].n_ids - 1 : 1;
	r->msgs = calloc((size_t)total + 1, sizeof(*r->msgs));
	r->first_msg = calloc((size_t)n + 1, sizeof(*r->first_msg));
	r->ids = json_array();
	if (!r->msgs || !r->first_msg || !r->ids)
		return oom(err);
	for (int i = 0; i < n; i++) {
		const struct order_row *o = &rows[i];
		r->first_msg[i] = -1;
		if (o->op != ORDER_UPSERT || o->n_ids < 1)
			continue;
		r->first_msg[i] = r->n_msgs;
		for (int k = 0; k < o->n_ids; k++)
			if (json_array_append_new(r->ids, json_string(o->ids[k])) != 0)
				return oom(err);
		if (o->n_ids == 1) {
			r->msgs[r->n_msgs++] = (struct ident_msg){ o->ids[0], NULL, false };
			continue;
		}
		/* Like identify(userId, anonymousId): each further id joins the
		 * primary's person, or merges into it when both are known. */
		for (int k = 1; k < o->n_ids; k++)
			r->msgs[r->n_msgs++] = (struct ident_msg){ o->ids[0], o->ids[k], true };
	}
	return true;
}

static bool load_known(struct db *db, const char *project, struct resolve *r, struct app_err *err)
{
	static const char sql[] =
		"SELECT i.distinct_id, i.person_id, coalesce(o.person_id, i.person_id)"
		"  FROM identities i LEFT JOIN person_overrides o"
		"    ON o.project_id = i.project_id AND o.old_person_id = i.person_id"
		" WHERE i.project_id = $1::bigint"
		"   AND i.distinct_id IN (SELECT jsonb_array_elements_text($2::jsonb))";
	int n;

	r->known_res = run_json(db, sql, project, r->ids, PGRES_TUPLES_OK, "order identities", err);
	if (!r->known_res)
		return false;
	n = PQntuples(r->known_res);
	r->known = calloc((size_t)n + 1, sizeof(*r->known));
	if (!r->known)
		return oom(err);
	for (int i = 0; i < n; i++) {
		r->known[i].distinct_id = PQgetvalue(r->known_res, i, 0);
		r->known[i].person_id = strtoll(PQgetvalue(r->known_res, i, 1), NULL, 10);
		r->known[i].effective_id = strtoll(PQgetvalue(r->known_res, i, 2), NULL, 10);
	}
	r->n_known = n;
	return true;
}

static bool number_new_persons(struct db *db, struct ident_result *ir, struct app_err *err)
{
	static const char sql[] = "SELECT nextval('person_id_seq') FROM generate_series(1, $1::int)";
	char cnt[16];
	const char *vals[1] = { cnt };
	int64_t *ids;
	PGresult *res;

	if (ir->n_new_persons == 0)
		return true;
	snprintf(cnt, sizeof(cnt), "%d", ir->n_new_persons);
	res = db_params(db, sql, 1, vals, PGRES_TUPLES_OK, "order person ids", err);
	if (!res)
		return false;
	ids = calloc((size_t)ir->n_new_persons, sizeof(*ids));
	if (!ids) {
		PQclear(res);
		return oom(err);
	}
	for (int i = 0; i < ir->n_new_persons && i < PQntuples(res); i++)
		ids[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	PQclear(res);
	ident_renumber(ir, ids);
	free(ids);
	return true;
}

/* New identities and merges: the same statements as the event writer. */
static bool write_links(struct db *db, const char *project, const struct ident_result *ir,
			struct app_err *err)
{
	static const char ins_sql[] =
		"INSERT INTO identities (project_id, distinct_id, person_id)"
		" SELECT $1::bigint, x.d, x.p FROM jsonb_to_recordset($2::jsonb) AS x(d text, p bigint)";
	static const char merge_sql[] = DB_MERGE_SQL;
	json_t *doc = json_array();
	PGresult *res;

	if (!doc)
		return oom(err);
	for (int i = 0; i < ir->n_new_ids; i++)
		if (json_array_append_new(doc, json_pack("{s:s, s:I}", "d", ir->new_ids[i].distinct_id,
							 "p", (json_int_t)ir->new_ids[i].person_id))) {
			json_decref(doc);
			return oom(err);
		}
	res = ir->n_new_ids ? run_json(db, ins_sql, project, doc, PGRES_COMMAND_OK, "order identities insert", err)
			    : NULL;
	json_decref(doc);
	if (ir->n_new_ids && !res)
		return false;
	PQclear(res);
	for (int i = 0; i < ir->n_merges; i++) {
		char old[24], to[24];
		const char *vals[3] = { project, old, to };
		snprintf(old, sizeof(old), "%lld", (long long)ir->merges[i].old_person);
		snprintf(to, sizeof(to), "%lld", (long long)ir->merges[i].person);
		res = db_params(db, merge_sql, 3, vals, PGRES_COMMAND_OK, "order person merge", err);
		if (!res)
			return false;
		PQclear(res);
	}
	return true;
}

/* persons rows for order persons: an order is activity at its timestamp. */
static bool touch_persons(struct db *db, const char *project, const struct order_row *rows, int n,
			  const int64_t *person_of_row, struct app_err *err)
{
	static const char sql[] =
		"INSERT INTO persons AS p (project_id, person_id, first_seen, last_seen)"
		" SELECT $1::bigint, x.p, min(x.ts), max(x.ts)"
		"   FROM jsonb_to_recordset($2::jsonb) AS x(p bigint, ts timestamptz) GROUP BY x.p"
		" ON CONFLICT (project_id, person_id) DO UPDATE SET"
		"   first_seen = least(p.first_seen, EXCLUDED.first_seen),"
		"   last_seen = greatest(p.last_seen, EXCLUDED.last_seen)"
		" WHERE EXCLUDED.first_seen < p.first_seen OR EXCLUDED.last_seen > p.last_seen";
	json_t *doc = json_array();
	PGresult *res;
	char ts[64];

	if (!doc)
		return oom(err);
	for (int i = 0; i < n; i++) {
		if (rows[i].op != ORDER_UPSERT)
			continue;
		db_format_ts(rows[i].ts_us, ts);
		if (json_array_append_new(doc, json_pack("{s:I, s:s}", "p", (json_int_t)person_of_row[i],
							 "ts", ts))) {
			json_decref(doc);
			return oom(err);
		}
	}
	res = run_json(db, sql, project, doc, PGRES_COMMAND_OK, "order persons", err);
	json_decref(doc);
	PQclear(res);
	return res != NULL;
}

static bool resolve_persons(struct db *db, const char *project, const struct order_row *rows, int n,
			    int64_t *person_of_row, struct app_err *err)
{
	struct resolve r = { 0 };
	bool ok = false;

	if (!build_msgs(&r, rows, n, err))
		goto out;
	if (r.n_msgs == 0) {
		ok = true;
		goto out;
	}
	if (!load_known(db, project, &r, err))
		goto out;
	if (!ident_resolve(r.msgs, r.n_msgs, r.known, r.n_known, &r.ir)) {
		oom(err);
		goto out;
	}
	if (!number_new_persons(db, &r.ir, err) || !write_links(db, project, &r.ir, err))
		goto out;
	for (int i = 0; i < n; i++)
		person_of_row[i] = r.first_msg[i] >= 0 ? r.ir.person_of_msg[r.first_msg[i]] : 0;
	ok = touch_persons(db, project, rows, n, person_of_row, err);
out:
	ident_result_free(&r.ir);
	PQclear(r.known_res);
	free(r.known);
	free(r.msgs);
	free(r.first_msg);
	json_decref(r.ids);
	return ok;
}

/* The version test of the upsert: newer updated_at, then later lifecycle
 * stage, then more refunded. A literal so the statement stays static. */
#define NEWER "(EXCLUDED.updated_at, cohortd_order_rank(EXCLUDED.status), EXCLUDED.refunded_minor)" \
	      " > (o.updated_at, cohortd_order_rank(o.status), o.refunded_minor)"
#define TAKE(col) col " = CASE WHEN " NEWER " THEN EXCLUDED." col " ELSE o." col " END, "

static bool upsert_one(struct db *db, const char *project, const struct order_row *row,
		       int64_t person, struct order_outcome *out, struct app_err *err)
{
	static const char sql[] =
		"WITH k AS (INSERT INTO order_keys (project_id, source, external_id, person_id)"
		"           VALUES ($1::bigint, $2, $3, $4::bigint) ON CONFLICT DO NOTHING"
		"           RETURNING person_id),"
		" p AS (SELECT person_id FROM k UNION ALL"
		"       SELECT person_id FROM order_keys"
		"        WHERE project_id = $1::bigint AND source = $2 AND external_id = $3 LIMIT 1)"
		" INSERT INTO orders AS o (project_id, person_id, source, external_id, state, currency,"
		"        amount_minor, refunded_base, refunds, ts, updated_at, user_id, email, items,"
		"        properties, raw)"
		" SELECT $1::bigint, p.person_id, $2, $3, $5, $6, $7::bigint, $8::bigint, $9::jsonb,"
		"        $10::timestamptz, $11::timestamptz, $12, $13, $14::jsonb, $15::jsonb, $16::jsonb"
		"   FROM p"
		" ON CONFLICT (project_id, person_id, source, external_id) DO UPDATE SET "
		TAKE("state") TAKE("currency") TAKE("amount_minor") TAKE("refunded_base") TAKE("ts")
		TAKE("updated_at") TAKE("user_id") TAKE("email") TAKE("items") TAKE("properties")
		TAKE("raw") TAKE("received_at")
		"   refunds = o.refunds || EXCLUDED.refunds"
		" WHERE " NEWER " OR NOT (o.refunds @> EXCLUDED.refunds)"
		" RETURNING (xmax = 0), status, net_minor";
	char pid[24], amount[24], refunded[24], ts[64], upd[64];
	const char *vals[16] = { project, row->source, row->external_id, pid,
				 order_state_name(row->state), row->currency, amount, refunded,
				 row->refunds ? row->refunds : "{}", ts, upd, row->user_id, row->email,
				 row->items ? row->items : "[]",
				 row->properties ? row->properties : "{}", row->raw ? row->raw : "{}" };
	PGresult *res;

	snprintf(pid, sizeof(pid), "%lld", (long long)person);
	snprintf(amount, sizeof(amount), "%lld", (long long)row->amount_minor);
	snprintf(refunded, sizeof(refunded), "%lld", (long long)row->refunded_minor);
	db_format_ts(row->ts_us, ts);
	db_format_ts(row->updated_us, upd);
	res = db_params(db, sql, 16, vals, PGRES_TUPLES_OK, "upsert order", err);
	if (!res) {
		if (err->status == 422 && row->field[0])
			snprintf(err->field, sizeof(err->field), "%s", row->field);
		return false;
	}
	out->result = ORDER_UNCHANGED;
	if (PQntuples(res) == 1) {
		out->result = PQgetvalue(res, 0, 0)[0] == 't' ? ORDER_CREATED : ORDER_UPDATED;
		snprintf(out->status, sizeof(out->status), "%s", PQgetvalue(res, 0, 1));
		out->net_minor = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	}
	PQclear(res);
	return true;
}

/* The stored order a refund applies to, locked; false with *found = false
 * when the order was never seen. */
struct refund_target {
	char person[24];
	char currency[4];
	int exponent;
	int64_t amount, base, sum;
	bool has_key;
};

static bool refund_target(struct db *db, const char *project, const struct order_row *row,
			  struct refund_target *t, bool *found, struct app_err *err)
{
	static const char sql[] =
		"SELECT o.person_id, o.currency, c.exponent, o.amount_minor, o.refunded_base,"
		"       cohortd_refund_sum(o.refunds), o.refunds ? $4"
		"  FROM order_keys k"
		"  JOIN orders o ON o.project_id = k.project_id AND o.person_id = k.person_id"
		"              AND o.source = k.source AND o.external_id = k.external_id"
		"  JOIN currencies c ON c.code = o.currency"
		" WHERE k.project_id = $1::bigint AND k.source = $2 AND k.external_id = $3"
		" FOR UPDATE OF o";
	const char *vals[4] = { project, row->source, row->external_id, row->refund_key };
	PGresult *res = db_params(db, sql, 4, vals, PGRES_TUPLES_OK, "refund target", err);

	if (!res)
		return false;
	*found = PQntuples(res) == 1;
	if (*found) {
		snprintf(t->person, sizeof(t->person), "%s", PQgetvalue(res, 0, 0));
		snprintf(t->currency, sizeof(t->currency), "%s", PQgetvalue(res, 0, 1));
		t->exponent = atoi(PQgetvalue(res, 0, 2));
		t->amount = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
		t->base = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
		t->sum = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
		t->has_key = PQgetvalue(res, 0, 6)[0] == 't';
	}
	PQclear(res);
	return true;
}

static bool refund_one(struct db *db, const char *project, const struct order_row *row,
		       struct order_outcome *out, struct app_err *err)
{
	static const char sql[] =
		"UPDATE orders SET refunds = refunds || jsonb_build_object($5::text, $6::bigint),"
		"       refunded_base = CASE WHEN $7::bool THEN amount_minor ELSE refunded_base END"
		" WHERE project_id = $1::bigint AND person_id = $2::bigint AND source = $3"
		"   AND external_id = $4"
		" RETURNING status, net_minor";
	struct refund_target t = { 0 };
	bool found = false, full = row->refund_amount == NULL;
	int64_t minor = 0;
	char minor_s[24];
	const char *vals[7] = { project, t.person, row->source, row->external_id, row->refund_key,
				minor_s, full ? "true" : "false" };
	PGresult *res;

	out->result = ORDER_UNKNOWN;
	if (!refund_target(db, project, row, &t, &found, err))
		return false;
	if (!found)
		return true;
	out->result = ORDER_UNCHANGED;
	if (t.has_key) /* this refund was counted before */
		return true;
	if (row->currency[0] && strcmp(row->currency, t.currency) != 0)
		return err_set(err, 422, "currency_mismatch", row->field,
			       "refund is in %s but the order is in %s", row->currency, t.currency);
	if (!full) {
		enum money_status st = money_parse(row->refund_amount, t.exponent, &minor);
		if (st != MONEY_OK)
			return err_set(err, 422, "invalid_amount", row->field, "refund amount %s",
				       money_status_text(st));
		if (minor < 0)
			return err_set(err, 422, "invalid_amount", row->field, "refund amount is negative");
		/* refunded = max(base, sum) <= amount, so amount - sum cannot overflow. */
		if (minor > t.amount - t.sum)
			return err_set(err, 422, "refund_exceeds_amount", row->field,
				       "refunds would exceed the order amount");
	}
	snprintf(minor_s, sizeof(minor_s), "%lld", (long long)minor);
	res = db_params(db, sql, 7, vals, PGRES_TUPLES_OK, "apply refund", err);
	if (!res)
		return false;
	out->result = ORDER_UPDATED;
	if (PQntuples(res) == 1) {
		snprintf(out->status, sizeof(out->status), "%s", PQgetvalue(res, 0, 0));
		out->net_minor = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	}
	PQclear(res);
	return true;
}

bool db_orders_apply(struct db *db, int64_t project_id, const struct order_row *rows, int n,
		     struct order_outcome *out, struct app_err *err)
{
	static const char lock_sql[] = "SELECT pg_advisory_xact_lock(1668247156, $1::int)";
	char project[24];
	const char *vals[1] = { project };
	int64_t *person_of_row;
	PGresult *res;
	bool ok = false;

	if (n <= 0)
		return true;
	snprintf(project, sizeof(project), "%lld", (long long)project_id);
	res = db_params(db, lock_sql, 1, vals, PGRES_TUPLES_OK, "orders lock", err);
	if (!res)
		return false;
	PQclear(res);
	person_of_row = calloc((size_t)n, sizeof(*person_of_row));
	if (!person_of_row)
		return oom(err);
	if (!resolve_persons(db, project, rows, n, person_of_row, err))
		goto out;
	for (int i = 0; i < n; i++) {
		struct order_outcome scratch = { 0 };
		struct order_outcome *o = out ? &out[i] : &scratch;
		if (rows[i].op == ORDER_UPSERT ? !upsert_one(db, project, &rows[i], person_of_row[i], o, err)
					       : !refund_one(db, project, &rows[i], o, err))
			goto out;
	}
	ok = true;
out:
	free(person_of_row);
	return ok;
}

bool db_orders_store(struct db *db, int64_t project_id, const struct order_row *rows, int n,
		     const char *delivery_source, const char *delivery_id, bool *duplicate,
		     struct order_outcome *out, struct app_err *err)
{
	static const char seen_sql[] =
		"INSERT INTO webhook_deliveries (project_id, source, delivery_id)"
		" VALUES ($1::bigint, $2, $3) ON CONFLICT DO NOTHING";
	char project[24];
	const char *vals[3] = { project, delivery_source, delivery_id };
	PGresult *res;

	*duplicate = false;
	snprintf(project, sizeof(project), "%lld", (long long)project_id);
	if (!db_exec(db, "BEGIN", err))
		return false;
	if (delivery_id) {
		res = db_params(db, seen_sql, 3, vals, PGRES_COMMAND_OK, "webhook dedupe", err);
		if (!res)
			goto fail;
		*duplicate = strcmp(PQcmdTuples(res), "0") == 0;
		PQclear(res);
		if (*duplicate) {
			db_rollback(db);
			return true;
		}
	}
	if (!db_orders_apply(db, project_id, rows, n, out, err) || !db_exec(db, "COMMIT", err))
		goto fail;
	return true;
fail:
	db_rollback(db);
	return false;
}

bool db_webhook_secret(struct db *db, const char *project, const char *source,
		       int64_t *project_id, char *secret, size_t cap, struct app_err *err)
{
	static const char sql[] =
		"SELECT p.project_id, w.secret FROM projects p"
		"  JOIN webhook_secrets w ON w.project_id = p.project_id AND w.source = $2"
		" WHERE p.name = $1";
	const char *vals[2] = { project, source };
	PGresult *res = db_params(db, sql, 2, vals, PGRES_TUPLES_OK, "webhook secret", err);

	if (!res)
		return false;
	*project_id = 0;
	if (PQntuples(res) == 1 && (size_t)PQgetlength(res, 0, 1) < cap) {
		*project_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		memcpy(secret, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1) + 1);
	}
	PQclear(res);
	return true;
}

bool db_webhook_secret_set(struct db *db, const char *project, const char *source,
			   const char *secret, struct app_err *err)
{
	static const char set_sql[] =
		"WITH p AS (INSERT INTO projects (name) VALUES ($1)"
		"           ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING project_id),"
		" s AS (INSERT INTO settings (project_id) SELECT project_id FROM p ON CONFLICT DO NOTHING)"
		" INSERT INTO webhook_secrets (project_id, source, secret)"
		" SELECT project_id, $2, $3 FROM p"
		" ON CONFLICT (project_id, source) DO UPDATE SET secret = EXCLUDED.secret, updated_at = now()";
	static const char del_sql[] =
		"DELETE FROM webhook_secrets w USING projects p"
		" WHERE w.project_id = p.project_id AND p.name = $1 AND w.source = $2";
	const char *vals[3] = { project, source, secret };
	PGresult *res;

	if (*secret)
		res = db_params(db, set_sql, 3, vals, PGRES_COMMAND_OK, "set webhook secret", err);
	else
		res = db_params(db, del_sql, 2, vals, PGRES_COMMAND_OK, "remove webhook secret", err);
	PQclear(res);
	return res != NULL;
}

bool db_fx_set(struct db *db, int64_t project_id, const json_t *rates, int *stored,
	       struct app_err *err)
{
	static const char sql[] =
		"INSERT INTO fx_rates (project_id, currency, quote, day, rate)"
		" SELECT DISTINCT ON (x.currency, coalesce(x.quote, s.currency), x.day)" /* last wins */
		"        $1::bigint, x.currency, coalesce(x.quote, s.currency), x.day, x.rate"
		"   FROM ROWS FROM (jsonb_to_recordset($2::jsonb)"
		"        AS (currency text, quote text, day date, rate numeric))"
		"        WITH ORDINALITY AS x(currency, quote, day, rate, n)"
		"   JOIN settings s ON s.project_id = $1::bigint"
		"  ORDER BY x.currency, coalesce(x.quote, s.currency), x.day, x.n DESC"
		" ON CONFLICT (project_id, currency, quote, day)"
		" DO UPDATE SET rate = EXCLUDED.rate, updated_at = now()";
	char project[24];
	PGresult *res;

	snprintf(project, sizeof(project), "%lld", (long long)project_id);
	res = run_json(db, sql, project, rates, PGRES_COMMAND_OK, "set fx rates", err);
	if (!res)
		return false;
	*stored = atoi(PQcmdTuples(res));
	PQclear(res);
	return true;
}

json_t *db_fx_list(struct db *db, int64_t project_id, struct app_err *err)
{
	static const char sql[] =
		"SELECT s.currency, f.currency, f.quote, f.day::text, f.rate::text"
		"  FROM settings s LEFT JOIN fx_rates f ON f.project_id = s.project_id"
		" WHERE s.project_id = $1::bigint ORDER BY f.currency, f.quote, f.day";
	char project[24];
	const char *vals[1] = { project };
	json_t *rates = json_array(), *out = NULL;
	PGresult *res;

	snprintf(project, sizeof(project), "%lld", (long long)project_id);
	res = db_params(db, sql, 1, vals, PGRES_TUPLES_OK, "list fx rates", err);
	if (!res || !rates)
		goto out;
	for (int i = 0; i < PQntuples(res); i++) {
		if (PQgetisnull(res, i, 1))
			continue;
		json_array_append_new(rates, json_pack("{s:s, s:s, s:s, s:s}", "currency",
						       PQgetvalue(res, i, 1), "quote", PQgetvalue(res, i, 2),
						       "day", PQgetvalue(res, i, 3), "rate",
						       PQgetvalue(res, i, 4)));
	}
	out = json_pack("{s:s, s:O}", "reporting_currency",
			PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "USD", "rates", rates);
	if (!out)
		oom(err);
out:
	PQclear(res);
	json_decref(rates);
	return out;
}

/* A numeric sum from SQL as an int64 JSON integer; false on overflow. */
static bool sum_value(PGresult *res, int row, int col, int64_t *v)
{
	if (PQgetisnull(res, row, col)) {
		*v = 0;
		return true;
	}
	return money_parse(PQgetvalue(res, row, col), 0, v) == MONEY_OK;
}

static json_t *money_json(int64_t minor, int exponent, const char *currency)
{
	char text[48];
	if (!money_format(minor, exponent, text, sizeof(text)))
		text[0] = '\0';
	return json_pack("{s:s, s:I, s:s}", "currency", currency, "net_minor", (json_int_t)minor,
			 "net", text);
}

static bool add_group(json_t *doc, PGresult *res, int i, int64_t *total,
		      json_int_t *orders, struct app_err *err)
{
	const char *currency = PQgetvalue(res, i, 0);
	bool missing = PQgetvalue(res, i, 1)[0] == 't';
	json_int_t n = strtoll(PQgetvalue(res, i, 2), NULL, 10);
	int exp = atoi(PQgetvalue(res, i, 5));
	int64_t net = 0, conv = 0;
	json_t *g;

	if (!sum_value(res, i, 3, &net) || !sum_value(res, i, 4, &conv))
		return err_set(err, 422, "overflow", NULL, "revenue total does not fit 64 bits");
	g = money_json(net, exp, currency);
	if (!g)
		return oom(err);
	json_object_set_new(g, "orders", json_integer(n));
	if (missing) {
		json_object_set_new(g, "reason", json_string("no_fx_rate"));
		json_array_append_new(json_object_get(doc, "unconverted"), g);
		return true;
	}
	json_object_set_new(g, "net_reporting_minor", json_integer(conv));
	json_array_append_new(json_object_get(doc, "by_currency"), g);
	if ((conv > 0 && *total > INT64_MAX - conv) || (conv < 0 && *total < INT64_MIN - conv))
		return err_set(err, 422, "overflow", NULL, "revenue total does not fit 64 bits");
	*total += conv;
	*orders += n;
	return true;
}

json_t *db_orders_revenue(struct db *db, int64_t project_id, const char *from, const char *to,
			  struct app_err *err)
{
	static const char sql[] =
		"SELECT v.currency, v.fx_missing,"
		"       count(*) FILTER (WHERE v.status IN ('paid', 'partially_refunded', 'refunded')),"
		"       sum(v.net_minor)::text, sum(v.net_reporting_minor)::text, min(c.exponent)"
		"  FROM order_values v JOIN currencies c ON c.code = v.currency"
		" WHERE v.project_id = $1::bigint"
		"   AND ($2::timestamptz IS NULL OR v.ts >= $2::timestamptz)"
		"   AND ($3::timestamptz IS NULL OR v.ts < $3::timestamptz)"
		" GROUP BY v.currency, v.fx_missing ORDER BY v.currency, v.fx_missing";
	static const char cur_sql[] =
		"SELECT s.currency, c.exponent FROM settings s JOIN currencies c ON c.code = s.currency"
		" WHERE s.project_id = $1::bigint";
	char project[24], rep[4] = "USD";
	const char *vals[3] = { project, from, to };
	PGresult *res = NULL;
	json_t *doc = NULL, *total_j;
	int64_t total = 0;
	json_int_t orders = 0;
	int rep_exp = 2;

	snprintf(project, sizeof(project), "%lld", (long long)project_id);
	res = db_params(db, cur_sql, 1, vals, PGRES_TUPLES_OK, "reporting currency", err);
	if (!res)
		return NULL;
	if (PQntuples(res) == 1) {
		snprintf(rep, sizeof(rep), "%s", PQgetvalue(res, 0, 0));
		rep_exp = atoi(PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	res = db_params(db, sql, 3, vals, PGRES_TUPLES_OK, "revenue", err);
	if (!res)
		return NULL;
	doc = json_pack("{s:s, s:[], s:[]}", "reporting_currency", rep, "by_currency", "unconverted");
	if (!doc) {
		oom(err);
		goto fail;
	}
	for (int i = 0; i < PQntuples(res); i++)
		if (!add_group(doc, res, i, &total, &orders, err))
			goto fail;
	total_j = money_json(total, rep_exp, rep);
	if (!total_j) {
		oom(err);
		goto fail;
	}
	json_object_set_new(total_j, "orders", json_integer(orders));
	json_object_set_new(doc, "total", total_j);
	json_object_set_new(doc, "complete", json_boolean(json_array_size(json_object_get(doc, "unconverted")) == 0));
	PQclear(res);
	return doc;
fail:
	PQclear(res);
	json_decref(doc);
	return NULL;
}
