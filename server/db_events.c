/*
 * db_events.c - see db_events.h.
 */
#include "server/db_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db_internal.h"
#include "server/db_store.h"
#include "server/store.h"

#define FETCH_ROWS "50000"

/* Interned breakdown values: open addressing on the string. */
struct dict {
	char **keys;
	int32_t *ids;
	size_t cap;
	struct db_seq_rows *rows;
	size_t values_cap;
};

static size_t hash_str(const char *s)
{
	size_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static bool dict_grow(struct dict *d)
{
	size_t ncap = d->cap ? d->cap * 2 : 256;
	char **keys = calloc(ncap, sizeof(*keys));
	int32_t *ids = calloc(ncap, sizeof(*ids));

	if (!keys || !ids) {
		free(keys);
		free(ids);
		return false;
	}
	for (size_t i = 0; i < d->cap; i++) {
		size_t j;
		if (!d->keys[i])
			continue;
		j = hash_str(d->keys[i]) & (ncap - 1);
		while (keys[j])
			j = (j + 1) & (ncap - 1);
		keys[j] = d->keys[i];
		ids[j] = d->ids[i];
	}
	free(d->keys);
	free(d->ids);
	d->keys = keys;
	d->ids = ids;
	d->cap = ncap;
	return true;
}

/* Id of value s, adding it (copied) when new; -1 on allocation failure. */
static int32_t dict_id(struct dict *d, const char *s)
{
	struct db_seq_rows *r = d->rows;
	size_t i;

	if (((size_t)r->n_values + 1) * 2 > d->cap && !dict_grow(d))
		return -1;
	i = hash_str(s) & (d->cap - 1);
	while (d->keys[i]) {
		if (strcmp(d->keys[i], s) == 0)
			return d->ids[i];
		i = (i + 1) & (d->cap - 1);
	}
	if ((size_t)r->n_values == d->values_cap) {
		size_t nc = d->values_cap ? d->values_cap * 2 : 64;
		char **v = realloc(r->values, nc * sizeof(*v));
		if (!v)
			return -1;
		r->values = v;
		d->values_cap = nc;
	}
	r->values[r->n_values] = strdup(s);
	if (!r->values[r->n_values])
		return -1;
	d->keys[i] = r->values[r->n_values];
	d->ids[i] = r->n_values;
	return r->n_values++;
}

/* "CASE WHEN <event and filters> THEN bit ELSE 0 END" for one selector. */
static void step_case(struct db_sql *q, const struct db_event_step *s, unsigned bit)
{
	char b[16];

	db_sql_add(q, "(CASE WHEN true");
	if (s->event && strcmp(s->event, "$any") != 0) {
		db_sql_add(q, " AND e.event = ");
		db_sql_param(q, s->event, false);
	}
	for (int i = 0; i < s->n_filters; i++) {
		db_sql_add(q, " AND ");
		db_sql_filter(q, &s->filters[i]);
	}
	snprintf(b, sizeof(b), "%u", bit);
	db_sql_add(q, " THEN ");
	db_sql_add(q, b);
	db_sql_add(q, " ELSE 0 END)");
}

static void mask_expr(struct db_sql *q, const struct db_event_step *steps, int n)
{
	if (n == 0) {
		db_sql_add(q, "0");
		return;
	}
	for (int k = 0; k < n; k++) {
		if (k)
			db_sql_add(q, " | ");
		step_case(q, &steps[k], 1u << k);
	}
}

/* Event-name prefilter: only when every selector names an event. */
static void name_filter(struct db_sql *q, const struct db_seq_spec *sp)
{
	char lit[8192];
	size_t n = 0;

	lit[n++] = '{';
	for (int pass = 0; pass < 2; pass++) {
		const struct db_event_step *v = pass ? sp->excl : sp->steps;
		int cnt = pass ? sp->n_excl : sp->n_steps;
		for (int k = 0; k < cnt; k++) {
			if (!v[k].event || strcmp(v[k].event, "$any") == 0)
				return; /* an "any event" selector: no prefilter */
			if (n + 2 * strlen(v[k].event) + 4 >= sizeof(lit))
				return;
			if (n > 1)
				lit[n++] = ',';
			lit[n++] = '"';
			for (const char *p = v[k].event; *p; p++) {
				if (*p == '"' || *p == '\\')
					lit[n++] = '\\';
				lit[n++] = *p;
			}
			lit[n++] = '"';
		}
	}
	lit[n++] = '}';
	lit[n] = '\0';
	db_sql_add(q, " AND e.event = ANY(");
	db_sql_param(q, lit, true);
	db_sql_add(q, "::text[])");
}

static void build_sql(struct db_sql *q, const struct db_seq_spec *sp)
{
	char num[24];

	db_sql_add(q, "DECLARE cohortd_seq NO SCROLL CURSOR FOR SELECT"
		      " coalesce(o.person_id, e.person_id) AS p,"
		      " (extract(epoch FROM e.ts) * 1000000)::int8, (");
	mask_expr(q, sp->steps, sp->n_steps);
	db_sql_add(q, ")::int8, (");
	mask_expr(q, sp->excl, sp->n_excl);
	db_sql_add(q, ")::int8, ");
	if (sp->breakdown)
		db_sql_path_text(q, sp->breakdown);
	else
		db_sql_add(q, "NULL::text");
	db_sql_add(q, " FROM events e LEFT JOIN person_overrides o"
		      " ON o.project_id = e.project_id AND o.old_person_id = e.person_id"
		      " WHERE e.project_id = ");
	snprintf(num, sizeof(num), "%lld", (long long)sp->project_id);
	db_sql_param(q, num, true);
	db_sql_add(q, "::bigint AND e.ts >= 'epoch'::timestamptz + ");
	snprintf(num, sizeof(num), "%lld", (long long)sp->from_us);
	db_sql_param(q, num, true);
	db_sql_add(q, "::int8 * interval '1 microsecond' AND e.ts < 'epoch'::timestamptz + ");
	snprintf(num, sizeof(num), "%lld", (long long)sp->until_us);
	db_sql_param(q, num, true);
	db_sql_add(q, "::int8 * interval '1 microsecond'");
	if (!sp->all_events)
		name_filter(q, sp);
	for (int i = 0; i < sp->n_global; i++) {
		db_sql_add(q, " AND ");
		db_sql_filter(q, &sp->global[i]);
	}
	db_sql_add(q, " ORDER BY 1, e.ts, e.received_at, e.message_id");
}

static bool reserve(struct db_seq_rows *r, size_t *cap, size_t need, bool excl, bool value)
{
	size_t nc;

	if (need <= *cap)
		return true;
	nc = *cap ? *cap * 2 : 65536;
	while (nc < need)
		nc *= 2;
#define GROW(f) do { void *p_ = realloc(r->f, nc * sizeof(*r->f)); if (!p_) return false; \
		r->f = p_; } while (0)
	GROW(ts);
	GROW(mask);
	GROW(person_off);
	GROW(person_id);
	if (excl)
		GROW(excl_mask);
	if (value)
		GROW(value);
#undef GROW
	*cap = nc;
	return true;
}

/* Append one FETCH chunk; rows of a person are consecutive. */
static bool take_chunk(PGresult *res, struct db_seq_rows *r, size_t *cap, struct dict *d,
		       bool excl, bool value)
{
	int n = PQntuples(res);

	if (!reserve(r, cap, r->n_events + (size_t)n + 1, excl, value))
		return false;
	for (int i = 0; i < n; i++) {
		int64_t p = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		size_t e = r->n_events++;
		if (r->n_persons == 0 || r->person_id[r->n_persons - 1] != p) {
			r->person_off[r->n_persons] = (int64_t)e;
			r->person_id[r->n_persons++] = p;
		}
		r->ts[e] = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		r->mask[e] = (uint32_t)strtoul(PQgetvalue(res, i, 2), NULL, 10);
		if (excl)
			r->excl_mask[e] = (uint32_t)strtoul(PQgetvalue(res, i, 3), NULL, 10);
		if (value) {
			r->value[e] = PQgetisnull(res, i, 4) ? -1 : dict_id(d, PQgetvalue(res, i, 4));
			if (!PQgetisnull(res, i, 4) && r->value[e] < 0)
				return false;
		}
	}
	return true;
}

static _Thread_local const char *last_source = "postgres";

const char *db_seq_source(void)
{
	return last_source;
}

/* The store holds names and times only: no property filters or values. */
static bool store_can_answer(const struct db_seq_spec *sp)
{
	if (!sp->store || sp->breakdown || sp->n_global > 0 || !store_ready(sp->store))
		return false;
	for (int k = 0; k < sp->n_steps; k++)
		if (sp->steps[k].n_filters > 0 || !sp->steps[k].event)
			return false;
	for (int k = 0; k < sp->n_excl; k++)
		if (sp->excl[k].n_filters > 0 || !sp->excl[k].event)
			return false;
	return true;
}

static bool fetch_from_store(struct db *db, const struct db_seq_spec *sp, struct db_seq_rows *r,
			     struct app_err *err)
{
	const char *steps[32], *excl[32];
	struct store_query q = { .project_id = sp->project_id, .from_us = sp->from_us,
				 .until_us = sp->until_us, .steps = steps, .n_steps = sp->n_steps,
				 .excl = excl, .n_excl = sp->n_excl, .all_events = sp->all_events };
	int64_t *old_ids = NULL, *new_ids = NULL;
	bool ok;

	if (sp->n_steps > 32 || sp->n_excl > 32)
		return false;
	for (int k = 0; k < sp->n_steps; k++)
		steps[k] = sp->steps[k].event;
	for (int k = 0; k < sp->n_excl; k++)
		excl[k] = sp->excl[k].event;
	if (!db_store_overrides(db, sp->project_id, &old_ids, &new_ids, &q.n_ov, err))
		return false;
	q.ov_old = old_ids;
	q.ov_new = new_ids;
	ok = store_seq(sp->store, &q, r);
	free(old_ids);
	free(new_ids);
	return ok;
}

bool db_seq_fetch(struct db *db, const struct db_seq_spec *sp, struct db_seq_rows *r,
		  struct app_err *err)
{
	struct db_sql q = { 0 };
	struct dict d = { .rows = r };
	size_t cap = 0;
	bool ok = false, excl = sp->n_excl > 0, value = sp->breakdown != NULL;
	PGresult *res;

	memset(r, 0, sizeof(*r));
	if (store_can_answer(sp)) {
		if (fetch_from_store(db, sp, r, err)) {
			last_source = "store";
			return true;
		}
		if (err->status)
			return false;
	}
	last_source = "postgres";
	build_sql(&q, sp);
	if (q.failed) {
		err_set(err, 500, "internal", NULL, "query too complex");
		goto out;
	}
	/* Sorting a few million rows: give this transaction memory to sort in RAM. */
	if (!db_exec(db, "BEGIN READ ONLY", err) || !db_exec(db, "SET LOCAL work_mem = '256MB'", err))
		goto out;
	res = db_params(db, q.text, q.n, q.params, PGRES_COMMAND_OK, "declare cursor", err);
	if (!res)
		goto out;
	PQclear(res);
	for (;;) {
		res = db_params(db, "FETCH " FETCH_ROWS " FROM cohortd_seq", 0, NULL, PGRES_TUPLES_OK,
				"fetch", err);
		if (!res)
			goto out;
		if (PQntuples(res) == 0) {
			PQclear(res);
			break;
		}
		if (!take_chunk(res, r, &cap, &d, excl, value)) {
			PQclear(res);
			err_set(err, 500, "internal", NULL, "out of memory");
			goto out;
		}
		PQclear(res);
	}
	if (!reserve(r, &cap, r->n_events + 1, excl, value)) {
		err_set(err, 500, "internal", NULL, "out of memory");
		goto out;
	}
	r->person_off[r->n_persons] = (int64_t)r->n_events;
	ok = db_exec(db, "COMMIT", err);
out:
	if (!ok) {
		db_rollback(db);
		db_seq_rows_free(r);
	}
	free(d.keys);
	free(d.ids);
	db_sql_cleanup(&q);
	return ok;
}

void db_seq_rows_free(struct db_seq_rows *r)
{
	for (int32_t i = 0; i < r->n_values; i++)
		free(r->values[i]);
	free(r->values);
	free(r->person_off);
	free(r->person_id);
	free(r->ts);
	free(r->mask);
	free(r->excl_mask);
	free(r->value);
	memset(r, 0, sizeof(*r));
}
