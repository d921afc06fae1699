/*
 * db_activity.c - see db_activity.h.
 *
 * The PostgreSQL query is assembled from the constant fragments below plus
 * numbers we generate (word and bit indices); event names, instants and the
 * bucket boundaries travel as parameters.
 */
#include "server/db_activity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/db_ingest.h"
#include "server/db_internal.h"
#include "server/db_query.h"
#include "server/db_store.h"
#include "server/store.h"

#define FETCH_ROWS "20000"

_Static_assert(DB_ACT_LATER_SHIFT == STORE_ACT_LATER_SHIFT, "store_act fills struct db_act");
/* 0001-01-01T00:00:00Z and 9999-12-31T00:00:00Z: "since the beginning" and
 * "until the end" for the history scans (PostgreSQL accepts both). */
#define DB_ACT_EARLIEST (-INT64_C(62135596800) * 1000000)
#define DB_ACT_LATEST (INT64_C(253402214400) * 1000000)

/* ---- result building (both sources) -------------------------------------- */

struct acc {
	struct db_act *a;
	size_t cap;
	size_t stride;               /* words per person: n_sel * n_words */
};

/* Append a person with zero bits; returns its index or -1 (out of memory). */
static ptrdiff_t acc_add(struct acc *c, int64_t person)
{
	struct db_act *a = c->a;

	if (a->n_persons == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 4096;
		int64_t *ids = realloc(a->person_id, nc * sizeof(*ids));
		if (ids)
			a->person_id = ids;
		uint8_t *pr = realloc(a->flags, nc * sizeof(*pr));
		if (pr)
			a->flags = pr;
		uint64_t *bits = realloc(a->bits, nc * c->stride * sizeof(*bits));
		if (bits)
			a->bits = bits;
		if (!ids || !pr || !bits)
			return -1;
		c->cap = nc;
	}
	a->person_id[a->n_persons] = person;
	a->flags[a->n_persons] = 0;
	memset(a->bits + a->n_persons * c->stride, 0, c->stride * sizeof(*a->bits));
	return (ptrdiff_t)a->n_persons++;
}

/* ---- the in-memory store ------------------------------------------------- */

/* Open-addressing map person id -> index (the store's person order is not
 * sorted), for callers' joins. */
static size_t map_slot(const struct db_act_map *m, int64_t key)
{
	return (size_t)(((uint64_t)key * UINT64_C(0x9E3779B97F4A7C15)) >> 20) & m->mask;
}

bool db_act_map_build(struct db_act_map *m, const struct db_act *a)
{
	size_t cap = 16;

	while (cap < a->n_persons * 2)
		cap *= 2;
	m->keys = malloc(cap * sizeof(*m->keys));
	m->vals = malloc(cap * sizeof(*m->vals));
	if (!m->keys || !m->vals) {
		db_act_map_free(m);
		return false;
	}
	m->mask = cap - 1;
	for (size_t i = 0; i < cap; i++)
		m->vals[i] = -1;
	for (size_t i = 0; i < a->n_persons; i++) {
		size_t h = map_slot(m, a->person_id[i]);
		while (m->vals[h] >= 0)
			h = (h + 1) & m->mask;
		m->keys[h] = a->person_id[i];
		m->vals[h] = (int32_t)i;
	}
	return true;
}

int32_t db_act_map_get(const struct db_act_map *m, int64_t person)
{
	size_t h = map_slot(m, person);

	while (m->vals[h] >= 0) {
		if (m->keys[h] == person)
			return m->vals[h];
		h = (h + 1) & m->mask;
	}
	return -1;
}

void db_act_map_free(struct db_act_map *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
}

/* Some selector matches any event. */
static bool any_selector(const struct db_act_spec *sp)
{
	for (int k = 0; k < sp->n_sel; k++)
		if (!sp->sel[k] || strcmp(sp->sel[k], "$any") == 0)
			return true;
	return false;
}

/* The store's bitmaps, built in one pass without copying events
 * (store_act); *answered false when the store can't answer after all (it
 * went over budget or ran out of memory since the caller looked). */
static bool from_store_bits(struct db *db, const struct db_act_spec *sp, struct db_act *a,
			    bool *answered, struct app_err *err)
{
	const char *sel[DB_ACT_MAX_SEL];
	struct store_act_query q = { .project_id = sp->project_id, .bounds = sp->bounds,
				     .n_buckets = sp->n_buckets, .sel = sel, .n_sel = sp->n_sel,
				     .need_prior = sp->need_prior, .need_later = sp->need_later };
	struct store_act_rows r;
	int64_t *old_ids = NULL, *new_ids = NULL;

	*answered = false;
	for (int k = 0; k < sp->n_sel; k++)
		sel[k] = sp->sel[k] ? sp->sel[k] : "$any";
	if (!db_store_overrides(db, sp->project_id, &old_ids, &new_ids, &q.n_ov, err))
		return false;
	q.ov_old = old_ids;
	q.ov_new = new_ids;
	*answered = store_act(sp->store, &q, &r);
	free(old_ids);
	free(new_ids);
	if (!*answered)
		return true;
	a->n_persons = r.n_persons;
	a->person_id = r.person_id;
	a->bits = r.bits;
	a->flags = r.flags;
	a->source = "store";
	return true;
}

/* ---- PostgreSQL ------------------------------------------------------------ */

static void add_num(struct db_sql *q, long long v)
{
	char b[24];
	snprintf(b, sizeof(b), "%lld", v);
	db_sql_add(q, b);
}

/* An instant as PostgreSQL timestamptz text ("2026-01-01 16:00:00.000000+00"):
 * a typed parameter is folded into a constant when the query is planned, so
 * the per-row comparisons stay cheap (timestamptz + interval would not be). */

static void add_time_param(struct db_sql *q, int64_t us)
{
	char b[64];
	db_format_ts(us, b);
	db_sql_param(q, b, true);
	db_sql_add(q, "::timestamptz");
}

/* {"2026-01-01 16:00:00.000000+00",...}: the lower bounds of the buckets. */
static char *bounds_literal(const int64_t *bounds, int32_t n)
{
	char *s = malloc((size_t)n * 40 + 3), *p = s, t[64];

	if (!s)
		return NULL;
	*p++ = '{';
	for (int32_t i = 0; i < n; i++) {
		db_format_ts(bounds[i], t);
		p += sprintf(p, "%s\"%s\"", i ? "," : "", t);
	}
	*p++ = '}';
	*p = '\0';
	return s;
}

/* ", bit_or(...)" of the flags: bit k (2^(k+shift)) when selector k matched
 * an event whose bucket is `b_is` (-1 before the calendar, -2 after). */
static void flag_terms(struct db_sql *q, const struct db_act_spec *sp, const char *b_is, int shift)
{
	for (int k = 0; k < sp->n_sel; k++) {
		db_sql_add(q, " | CASE WHEN b = ");
		db_sql_add(q, b_is);
		db_sql_add(q, " AND s");
		add_num(q, k);
		db_sql_add(q, " THEN ");
		add_num(q, 1 << (k + shift));
		db_sql_add(q, " ELSE 0 END");
	}
}

static void selector_columns(struct db_sql *q, const struct db_act_spec *sp)
{
	for (int k = 0; k < sp->n_sel; k++) {
		if (!sp->sel[k] || strcmp(sp->sel[k], "$any") == 0) {
			db_sql_add(q, ", true");
		} else {
			db_sql_add(q, ", e.event = ");
			db_sql_param(q, sp->sel[k], false);
		}
		db_sql_add(q, " AS s");
		add_num(q, k);
	}
}

/*
 * One row per raw person in index order:
 *   person_id, flags, then per selector k and word w the OR of
 *   1 << (bucket & 63) over its events in that word.
 * The subquery (kept by OFFSET 0) computes each event's bucket once; its
 * ORDER BY lets it read events_person_ts in order (without it the planner
 * sorts 10M rows on disk). Bucket -1 / -2 mark events before / after the
 * calendar, read only for the flags.
 */
static bool build_sql(struct db_sql *q, const struct db_act_spec *sp, int words)
{
	char *lit = bounds_literal(sp->bounds, sp->n_buckets), pid[24];

	if (!lit)
		return false;
	db_sql_add(q, "DECLARE cohortd_act NO SCROLL CURSOR FOR SELECT person_id, bit_or(0");
	if (sp->need_prior)
		flag_terms(q, sp, "-1", 0);
	if (sp->need_later)
		flag_terms(q, sp, "-2", DB_ACT_LATER_SHIFT);
	db_sql_add(q, ")");
	for (int k = 0; k < sp->n_sel; k++)
		for (int w = 0; w < words; w++) {
			db_sql_add(q, ", bit_or(CASE WHEN b >= 0 AND s");
			add_num(q, k);
			if (words > 1) {
				db_sql_add(q, " AND b >> 6 = ");
				add_num(q, w);
			}
			db_sql_add(q, " THEN 1::int8 << (b & 63) END)");
		}
	db_sql_add(q, " FROM (SELECT e.person_id, CASE WHEN e.ts < ");
	add_time_param(q, sp->bounds[0]);
	db_sql_add(q, " THEN -1 WHEN e.ts >= ");
	add_time_param(q, sp->bounds[sp->n_buckets]);
	db_sql_add(q, " THEN -2 ELSE width_bucket(e.ts, ");
	db_sql_param(q, lit, true);
	free(lit);
	db_sql_add(q, "::timestamptz[]) - 1 END AS b");
	selector_columns(q, sp);
	db_sql_add(q, " FROM events e WHERE e.project_id = ");
	snprintf(pid, sizeof(pid), "%lld", (long long)sp->project_id);
	db_sql_param(q, pid, true);
	db_sql_add(q, "::bigint");
	if (!sp->need_later) {
		db_sql_add(q, " AND e.ts < ");
		add_time_param(q, sp->bounds[sp->n_buckets]);
	}
	if (!sp->need_prior) {
		db_sql_add(q, " AND e.ts >= ");
		add_time_param(q, sp->bounds[0]);
	}
	/* Named selectors only: other events never reach the aggregate (the
	 * name is in the index, so this costs no heap access). */
	for (int k = 0; k < sp->n_sel && !any_selector(sp); k++) {
		db_sql_add(q, k ? ", " : " AND e.event IN (");
		db_sql_param(q, sp->sel[k], false);
		db_sql_add(q, k == sp->n_sel - 1 ? ")" : "");
	}
	db_sql_add(q, " ORDER BY e.person_id OFFSET 0) x GROUP BY person_id ORDER BY person_id");
	return !q->failed;
}

struct overrides {
	int64_t *old_id, *new_id;   /* sorted by old_id */
	int64_t *targets;           /* distinct new_id, sorted */
	size_t n, n_targets;
};

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return a < b ? -1 : a > b;
}

static bool is_target(const struct overrides *ov, int64_t id)
{
	return ov->n_targets && bsearch(&id, ov->targets, ov->n_targets, sizeof(id), cmp_i64);
}

static bool load_overrides(struct db *db, int64_t project_id, struct overrides *ov,
			   struct app_err *err)
{
	static const char sql[] =
		"SELECT old_person_id, person_id FROM person_overrides"
		" WHERE project_id = $1::bigint ORDER BY old_person_id";
	char pid[24];
	const char *vals[1] = { pid };
	PGresult *res;

	snprintf(pid, sizeof(pid), "%lld", (long long)project_id);
	res = db_params(db, sql, 1, vals, PGRES_TUPLES_OK, "person overrides", err);
	if (!res)
		return false;
	ov->n = (size_t)PQntuples(res);
	ov->old_id = malloc((ov->n + 1) * sizeof(*ov->old_id));
	ov->new_id = malloc((ov->n + 1) * sizeof(*ov->new_id));
	ov->targets = malloc((ov->n + 1) * sizeof(*ov->targets));
	if (!ov->old_id || !ov->new_id || !ov->targets) {
		PQclear(res);
		return err_set(err, 500, "internal", NULL, "out of memory");
	}
	for (size_t i = 0; i < ov->n; i++) {
		ov->old_id[i] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
		ov->new_id[i] = ov->targets[i] = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
	}
	PQclear(res);
	qsort(ov->targets, ov->n, sizeof(*ov->targets), cmp_i64);
	for (size_t i = 0; i < ov->n; i++)
		if (ov->n_targets == 0 || ov->targets[ov->n_targets - 1] != ov->targets[i])
			ov->targets[ov->n_targets++] = ov->targets[i];
	return true;
}

/*
 * One FETCH chunk. Raw persons arrive ascending, as do the overrides, so one
 * moving pointer tells which rows belong to a merged person (-> stash).
 * A row without events in the calendar (only earlier or later ones) is kept
 * only when its flags may matter for a merged person.
 */
static bool take_rows(PGresult *res, struct acc *main, struct acc *stash,
		      const struct overrides *ov, size_t *j)
{
	int n = PQntuples(res), n_words = main->a->n_sel * main->a->n_words;
	uint64_t w[DB_ACT_MAX_SEL * DB_ACT_MAX_WORDS];

	for (int r = 0; r < n; r++) {
		int64_t raw = strtoll(PQgetvalue(res, r, 0), NULL, 10), person = raw;
		uint8_t flags = (uint8_t)strtol(PQgetvalue(res, r, 1), NULL, 10);
		uint64_t any = 0;
		struct acc *c = main;
		ptrdiff_t i;

		for (int x = 0; x < n_words; x++) {
			w[x] = PQgetisnull(res, r, 2 + x)
				       ? 0 : (uint64_t)strtoll(PQgetvalue(res, r, 2 + x), NULL, 10);
			any |= w[x];
		}
		while (*j < ov->n && ov->old_id[*j] < raw)
			(*j)++;
		if (*j < ov->n && ov->old_id[*j] == raw) {
			c = stash;
			person = ov->new_id[*j];
		} else if (!any && !(flags && is_target(ov, raw)))
			continue;
		if ((i = acc_add(c, person)) < 0)
			return false;
		c->a->flags[i] = flags;
		memcpy(c->a->bits + (size_t)i * c->stride, w, (size_t)n_words * sizeof(*w));
	}
	return true;
}

/* Drop persons left without any event in the calendar. */
static void compact(struct acc *c)
{
	struct db_act *a = c->a;
	size_t k = 0;

	for (size_t i = 0; i < a->n_persons; i++) {
		uint64_t any = 0;
		for (size_t x = 0; x < c->stride; x++)
			any |= a->bits[i * c->stride + x];
		if (!any)
			continue;
		if (k != i) {
			a->person_id[k] = a->person_id[i];
			a->flags[k] = a->flags[i];
			memmove(a->bits + k * c->stride, a->bits + i * c->stride,
				c->stride * sizeof(*a->bits));
		}
		k++;
	}
	a->n_persons = k;
}

static int cmp_pair(const void *x, const void *y)
{
	const int64_t *a = x, *b = y;
	return a[0] < b[0] ? -1 : a[0] > b[0];
}

/* Fold stashed rows of merged persons into the sorted main list. */
static bool fold_stash(struct acc *main, struct acc *stash)
{
	struct db_act *m = main->a, *s = stash->a, out = *m;
	struct acc o = { .a = &out, .stride = main->stride };
	int64_t (*ord)[2] = malloc((s->n_persons + 1) * sizeof(*ord));
	size_t i = 0, k = 0;
	bool ok = false;

	out.n_persons = 0;
	out.person_id = NULL;
	out.bits = NULL;
	out.flags = NULL;
	if (!ord)
		return false;
	for (size_t x = 0; x < s->n_persons; x++) {
		ord[x][0] = s->person_id[x];
		ord[x][1] = (int64_t)x;
	}
	qsort(ord, s->n_persons, sizeof(*ord), cmp_pair);
	while (i < m->n_persons || k < s->n_persons) {
		int64_t id = i < m->n_persons && (k == s->n_persons || m->person_id[i] <= ord[k][0])
				     ? m->person_id[i] : ord[k][0];
		ptrdiff_t at = acc_add(&o, id);
		if (at < 0)
			goto out;
		for (; i < m->n_persons && m->person_id[i] == id; i++) {
			out.flags[at] |= m->flags[i];
			for (size_t w = 0; w < main->stride; w++)
				out.bits[(size_t)at * main->stride + w] |= m->bits[i * main->stride + w];
		}
		for (; k < s->n_persons && ord[k][0] == id; k++) {
			size_t x = (size_t)ord[k][1];
			out.flags[at] |= s->flags[x];
			for (size_t w = 0; w < main->stride; w++)
				out.bits[(size_t)at * main->stride + w] |= s->bits[x * main->stride + w];
		}
	}
	ok = true;
out:
	free(ord);
	if (ok) {
		db_act_free(m);
		*m = out;
	} else
		db_act_free(&out);
	return ok;
}

static bool from_postgres(struct db *db, const struct db_act_spec *sp, struct acc *c,
			  struct app_err *err)
{
	struct db_sql q = { 0 };
	struct overrides ov = { 0 };
	struct db_act stash_act = { .n_sel = c->a->n_sel, .n_words = c->a->n_words };
	struct acc stash = { .a = &stash_act, .stride = c->stride };
	size_t j = 0;
	bool ok = false;
	PGresult *res;

	c->a->source = "postgres";
	if (!build_sql(&q, sp, c->a->n_words)) {
		err_set(err, 500, "internal", NULL, "out of memory");
		goto out;
	}
	/* One snapshot for overrides and events. Person order comes from the
	 * index (or, for a few named events, an in-memory sort of them); a hash
	 * aggregate would spill and then need a sort. JIT costs more than it
	 * saves on a one-pass aggregate. */
	if (!db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err) ||
	    !db_exec(db, "SET LOCAL enable_hashagg = off", err) ||
	    !db_exec(db, "SET LOCAL work_mem = '128MB'", err) ||
	    !db_exec(db, "SET LOCAL jit = off", err) ||
	    !load_overrides(db, sp->project_id, &ov, err))
		goto out;
	res = db_params(db, q.text, q.n, q.params, PGRES_COMMAND_OK, "declare activity cursor", err);
	if (!res)
		goto out;
	PQclear(res);
	for (;;) {
		res = db_params(db, "FETCH " FETCH_ROWS " FROM cohortd_act", 0, NULL, PGRES_TUPLES_OK,
				"fetch activity", err);
		if (!res)
			goto out;
		if (PQntuples(res) == 0) {
			PQclear(res);
			break;
		}
		if (!take_rows(res, c, &stash, &ov, &j)) {
			PQclear(res);
			err_set(err, 500, "internal", NULL, "out of memory");
			goto out;
		}
		PQclear(res);
	}
	if (!db_exec(db, "COMMIT", err))
		goto out;
	if (stash_act.n_persons && !fold_stash(c, &stash)) {
		err_set(err, 500, "internal", NULL, "out of memory");
		goto out;
	}
	compact(c);
	ok = true;
out:
	if (!ok)
		db_rollback(db);
	db_act_free(&stash_act);
	free(ov.old_id);
	free(ov.new_id);
	free(ov.targets);
	db_sql_cleanup(&q);
	return ok;
}

bool db_act_fetch(struct db *db, const struct db_act_spec *sp, struct db_act *out,
		  struct app_err *err)
{
	struct acc c = { .a = out };
	bool ok;

	memset(out, 0, sizeof(*out));
	if (sp->n_sel < 1 || sp->n_sel > DB_ACT_MAX_SEL || sp->n_buckets < 1 ||
	    sp->n_buckets > 64 * DB_ACT_MAX_WORDS)
		return err_set(err, 400, "validation_failed", NULL,
			       "too many periods in one query (at most %d)", 64 * DB_ACT_MAX_WORDS);
	out->n_sel = sp->n_sel;
	out->n_words = (sp->n_buckets + 63) / 64;
	c.stride = (size_t)out->n_sel * (size_t)out->n_words;
	if (sp->store && store_ready(sp->store)) {
		bool answered;
		ok = from_store_bits(db, sp, out, &answered, err);
		if (ok && !answered)
			ok = from_postgres(db, sp, &c, err);
	} else {
		ok = from_postgres(db, sp, &c, err);
	}
	if (!ok)
		db_act_free(out);
	return ok;
}

void db_act_free(struct db_act *a)
{
	free(a->person_id);
	free(a->bits);
	free(a->flags);
	a->person_id = NULL;
	a->bits = NULL;
	a->flags = NULL;
	a->n_persons = 0;
}

int32_t db_act_first_bucket(const struct db_act *a, size_t i, int k)
{
	const uint64_t *row = db_act_row(a, i, k);

	for (int w = 0; w < a->n_words; w++)
		if (row[w])
			return 64 * w + __builtin_ctzll(row[w]);
	return -1;
}

bool db_act_pairs_build(const struct db_act *a, const int64_t *bounds, unsigned sel_mask,
			struct db_act_pairs *out)
{
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < a->n_persons; i++)
		for (int w = 0; w < a->n_words; w++) {
			uint64_t any = 0;
			for (int k = 0; k < a->n_sel; k++)
				if (sel_mask >> k & 1u)
					any |= db_act_row(a, i, k)[w];
			n += (size_t)__builtin_popcountll(any);
		}
	out->person_off = malloc((a->n_persons + 1) * sizeof(*out->person_off));
	out->ts = malloc((n + 1) * sizeof(*out->ts));
	out->role = malloc(n + 1);
	if (!out->person_off || !out->ts || !out->role) {
		db_act_pairs_free(out);
		return false;
	}
	out->n_persons = a->n_persons;
	for (size_t i = 0; i < a->n_persons; i++) {
		out->person_off[i] = (int64_t)out->n_pairs;
		for (int w = 0; w < a->n_words; w++) {
			uint64_t any = 0;
			for (int k = 0; k < a->n_sel; k++)
				if (sel_mask >> k & 1u)
					any |= db_act_row(a, i, k)[w];
			while (any) {
				int bit = __builtin_ctzll(any);
				uint8_t role = 0;
				any &= any - 1;
				for (int k = 0; k < a->n_sel; k++)
					if ((sel_mask >> k & 1u) && (db_act_row(a, i, k)[w] >> bit & 1u))
						role |= (uint8_t)(1u << k);
				out->ts[out->n_pairs] = bounds[64 * w + bit];
				out->role[out->n_pairs++] = role;
			}
		}
	}
	out->person_off[a->n_persons] = (int64_t)out->n_pairs;
	return true;
}

void db_act_pairs_free(struct db_act_pairs *p)
{
	free(p->person_off);
	free(p->ts);
	free(p->role);
	memset(p, 0, sizeof(*p));
}
