/*
 * db_scores_load.c - the inputs of scoring (db_scores_load in db_scores.h).
 *
 * Measured on 1M persons / 1.5M events / 5M orders: letting PostgreSQL
 * aggregate per person cost ~10 s per kind (hash aggregation over a million
 * groups, twice for distinct active days), while streaming the raw rows
 * costs a scan and the transfer. So events and orders come out as raw rows
 * (stitched person, instant, a few flags or the net amount) in binary
 * through a cursor, 50,000 rows per FETCH, and are aggregated here in one
 * hash-map pass. Instants become local days through model/calendar with the
 * zone's midnights since 1970 computed once by PostgreSQL, so no row is
 * converted to local time on the server and the days are exact across DST.
 *
 * All passes run in one REPEATABLE READ transaction: one consistent
 * snapshot. JIT is off (it compiled for longer than these plans run) and
 * cursor_tuple_fraction = 1 because every cursor is read to the end.
 */
#include "server/db_scores.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/calendar.h"
#include "server/db_internal.h"
#include "server/log.h"

#define FETCH_SQL "FETCH 50000 FROM sc_cur"
#define EMPTY INT64_MIN

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- binary and text columns ---------------------------------------------- */

static int64_t txt_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static bool grow(void **p, size_t *cap, size_t n, size_t elem)
{
	size_t nc;
	void *q;

	if (n < *cap)
		return true;
	nc = *cap ? *cap * 2 : 4096;
	if (!(q = realloc(*p, nc * elem)))
		return false;
	*p = q;
	*cap = nc;
	return true;
}

typedef bool (*row_fn)(const PGresult *res, int row, void *arg);

/* DECLARE sc_cur with the parameters, FETCH to the end (binary or text
 * results) calling fn per row. */
static bool fetch_all(struct db *db, const char *declare, int n, const char *const *vals,
		      int binary, row_fn fn, void *arg, const char *what, struct app_err *err)
{
	PGresult *res = db_params(db, declare, n, vals, PGRES_COMMAND_OK, what, err);

	if (!res)
		return false;
	PQclear(res);
	for (;;) {
		int nt;

		res = PQexecParams(db->conn, FETCH_SQL, 0, NULL, NULL, NULL, NULL, binary);
		if (!db_check(db, res, PGRES_TUPLES_OK, what, err))
			return false;
		nt = PQntuples(res);
		for (int i = 0; i < nt; i++)
			if (!fn(res, i, arg)) {
				PQclear(res);
				return err_set(err, 500, "internal", NULL, "out of memory");
			}
		PQclear(res);
		if (nt == 0)
			break;
	}
	return db_exec(db, "CLOSE sc_cur", err);
}

/* ---- person map: stitched person id -> slot, open addressing ------------- */

struct pmap {
	int64_t *key;
	int32_t *slot;
	size_t cap, n; /* cap is a power of two, kept at most half full */
};

static size_t mix(int64_t k)
{
	uint64_t z = (uint64_t)k * 0x9E3779B97F4A7C15ULL;
	return (size_t)(z ^ (z >> 29));
}

static bool pmap_grow(struct pmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1 << 16;
	int64_t *key = malloc(cap * sizeof(*key));
	int32_t *slot = malloc(cap * sizeof(*slot));

	if (!key || !slot) {
		free(key);
		free(slot);
		return false;
	}
	for (size_t i = 0; i < cap; i++)
		key[i] = EMPTY;
	for (size_t i = 0; i < m->cap; i++)
		if (m->key[i] != EMPTY) {
			size_t h = mix(m->key[i]) & (cap - 1);
			while (key[h] != EMPTY)
				h = (h + 1) & (cap - 1);
			key[h] = m->key[i];
			slot[h] = m->slot[i];
		}
	free(m->key);
	free(m->slot);
	m->key = key;
	m->slot = slot;
	m->cap = cap;
	return true;
}

/* Slot of person k; a new person gets slot n (the caller appends it). -1 = OOM. */
static int32_t pmap_slot(struct pmap *m, int64_t k, bool *added)
{
	size_t h;

	if ((m->n + 1) * 2 > m->cap && !pmap_grow(m))
		return -1;
	h = mix(k) & (m->cap - 1);
	while (m->key[h] != EMPTY && m->key[h] != k)
		h = (h + 1) & (m->cap - 1);
	*added = m->key[h] == EMPTY;
	if (*added) {
		m->key[h] = k;
		m->slot[h] = (int32_t)m->n++;
	}
	return m->slot[h];
}

/* Slot of person k, or -1 when absent. */
static int32_t pmap_find(const struct pmap *m, int64_t k)
{
	size_t h;

	if (m->n == 0)
		return -1;
	h = mix(k) & (m->cap - 1);
	while (m->key[h] != EMPTY && m->key[h] != k)
		h = (h + 1) & (m->cap - 1);
	return m->key[h] == k ? m->slot[h] : -1;
}

static void pmap_free(struct pmap *m)
{
	free(m->key);
	free(m->slot);
	memset(m, 0, sizeof(*m));
}

/* ---- the passes ------------------------------------------------------------ */

/* Raw rows: raw person, instant, event flags (SC_ACTIVATED..SC_LOYAL). Raw
 * persons are stitched here in C (overrides are few; a join per row cost
 * more than the map lookup). */
static const char ev_sql[] =
	"DECLARE sc_cur NO SCROLL CURSOR FOR"
	" SELECT e.person_id, e.ts,"
	"  (e.event = ANY(ARRAY(SELECT jsonb_array_elements_text($3::jsonb))))::int"
	"  + 2 * (e.type IN (3, 4)"
	"         OR e.event = ANY(ARRAY(SELECT jsonb_array_elements_text($4::jsonb))))::int"
	"  + 4 * (e.event = ANY(ARRAY(SELECT jsonb_array_elements_text($5::jsonb))))::int"
	"  + 8 * (e.event = ANY(ARRAY(SELECT jsonb_array_elements_text($6::jsonb))))::int"
	"   FROM events e"
	"  WHERE e.project_id = $1::bigint"
	"    AND e.ts < 'epoch'::timestamptz + $2::int8 * interval '1 microsecond'";

/*
 * Raw orders: raw person, instant, net-paid, and the net amount in the reporting
 * currency ($3) with the rules of the order_values view (docs/orders.md):
 * the latest rate on or before the order's UTC day, rounded half away from
 * zero, NULL without a rate. The rate is looked up only for orders in
 * another currency (a CASE branch), not for every order as the view does.
 */
#define ORD_SQL \
	"DECLARE sc_cur NO SCROLL CURSOR FOR" \
	" SELECT o.person_id, o.ts, o.net_minor > 0," \
	"  CASE WHEN o.currency = $3 THEN o.net_minor ELSE" \
	"   (SELECT round(o.net_minor * f.rate * power(10::numeric, rc.exponent - oc.exponent))::bigint" \
	"      FROM fx_rates f, currencies oc, currencies rc" \
	"     WHERE f.project_id = o.project_id AND f.currency = o.currency AND f.quote = $3" \
	"       AND f.day <= (o.ts AT TIME ZONE 'UTC')::date AND oc.code = o.currency AND rc.code = $3" \
	"     ORDER BY f.day DESC LIMIT 1) END" \
	"   FROM orders o" \
	"  WHERE o.project_id = $1::bigint" \
	"    AND o.ts < 'epoch'::timestamptz + $2::int8 * interval '1 microsecond'"

static const char ord_sql[] = ORD_SQL;

/* The two halves of a split orders pass: blocks before $4 (a TID range scan
 * on the second connection), and from $4 on, open-ended so that whatever the
 * table holds past the size read (main_passes) is still read. */
static const char ord_lo_sql[] = ORD_SQL " AND o.ctid < $4::tid";
static const char ord_hi_sql[] = ORD_SQL " AND o.ctid >= $4::tid";

/* The referee's event names its referrer by distinct id in a top-level property. */
static const char ref_sql[] =
	"DECLARE sc_cur NO SCROLL CURSOR FOR"
	" SELECT coalesce(ro.person_id, i.person_id) AS referrer,"
	"        count(DISTINCT coalesce(o.person_id, e.person_id))"
	"   FROM events e"
	"   JOIN identities i ON i.project_id = e.project_id AND i.distinct_id = e.properties ->> $4"
	"   LEFT JOIN person_overrides ro ON ro.project_id = i.project_id AND ro.old_person_id = i.person_id"
	"   LEFT JOIN person_overrides o ON o.project_id = e.project_id AND o.old_person_id = e.person_id"
	"  WHERE e.project_id = $1::bigint AND e.event = $3"
	"    AND e.ts < 'epoch'::timestamptz + $2::int8 * interval '1 microsecond'"
	"    AND coalesce(ro.person_id, i.person_id) <> coalesce(o.person_id, e.person_id)"
	"  GROUP BY 1";

static const char over_sql[] =
	"DECLARE sc_cur NO SCROLL CURSOR FOR"
	" SELECT old_person_id, person_id FROM person_overrides WHERE project_id = $1::bigint";

static const char ltv_sql[] =
	"DECLARE sc_cur NO SCROLL CURSOR FOR"
	" SELECT s.person_id, s.p_alive, s.expected_purchases_30d, s.expected_purchases_90d,"
	"        s.expected_purchases_365d, s.clv_predicted"
	"   FROM person_scores s"
	"  WHERE s.project_id = $1::bigint"
	"    AND s.run_id = (SELECT run_id FROM score_current WHERE project_id = $1::bigint)"
	"    AND (s.p_alive IS NOT NULL"
	"        OR s.expected_purchases_30d IS NOT NULL OR s.expected_purchases_90d IS NOT NULL"
	"        OR s.expected_purchases_365d IS NOT NULL OR s.clv_predicted IS NOT NULL)";

struct ev_acc {
	int64_t pid, t0, t1;
	uint8_t flags;
};

struct ord_acc {
	int64_t pid, t0, t1, tpaid;
	int32_t orders, paid, paid1, fx;
	int64_t rev, ltv;
};

struct day_pair {
	int32_t slot, day;
};

/* What every pass shares, read-only while they run: the local calendar, the
 * boundaries and the overrides (raw person -> surviving person). */
struct frame {
	struct calendar cal;
	int64_t t_end;   /* end of the as-of day */
	int64_t w_start; /* start of the lifecycle activity window */
	int64_t l_start; /* start of the RFM look-back */
	int64_t c_end;   /* end of the AIPL date 1 */
	struct pmap over;
	int64_t *over_to;
	size_t n_over, cap_over;
};

/* One pass's accumulators. */
struct load {
	const struct frame *f;
	struct sc_inputs *in;
	struct pmap map;
	struct ev_acc *ev;
	struct ord_acc *ord;
	size_t n, cap;
	struct day_pair *days;
	size_t n_days, cap_days;
};

/* Local day number of an instant (before 1970: whole UTC days). */
static int32_t local_day(const struct frame *f, int64_t ts)
{
	int32_t d = calendar_day_of(&f->cal, ts);
	const int64_t day = INT64_C(86400000000);

	if (d >= 0)
		return d;
	return (int32_t)(ts / day - (ts % day < 0));
}

/* The stitched person of a raw person (docs/identity.md: overrides are flat). */
static int64_t stitched(const struct frame *f, int64_t raw)
{
	int32_t s = f->n_over ? pmap_find(&f->over, raw) : -1;
	return s >= 0 ? f->over_to[s] : raw;
}

static bool take_over(const PGresult *r, int i, void *arg)
{
	struct frame *f = arg;
	bool added;
	int32_t s = pmap_slot(&f->over, txt_i64(r, i, 0), &added);

	if (s < 0 || !grow((void **)&f->over_to, &f->cap_over, f->n_over, sizeof(*f->over_to)))
		return false;
	if (added)
		f->over_to[f->n_over++] = txt_i64(r, i, 1);
	return true;
}

static bool take_ev(const PGresult *r, int i, void *arg)
{
	struct load *l = arg;
	int64_t ts = db_bin_ts(r, i, 1), pid = stitched(l->f, db_bin_i64(r, i, 0));
	uint8_t f = (uint8_t)db_bin_i32(r, i, 2);
	bool added;
	int32_t s = pmap_slot(&l->map, pid, &added);
	struct ev_acc *a;

	if (s < 0)
		return false;
	if (added) {
		if (!grow((void **)&l->ev, &l->cap, l->n, sizeof(*l->ev)))
			return false;
		l->ev[l->n++] = (struct ev_acc){ pid, ts, ts, 0 };
	}
	a = &l->ev[s];
	a->t0 = ts < a->t0 ? ts : a->t0;
	a->t1 = ts > a->t1 ? ts : a->t1;
	/* Aware / interest / loyalty (bits 2, 4, 8) also as of date 1 (16, 32, 64). */
	a->flags |= f | (ts < l->f->c_end ? (uint8_t)((f & 14) << 3) : 0);
	if (ts >= l->f->w_start) {
		if (!grow((void **)&l->days, &l->cap_days, l->n_days, sizeof(*l->days)))
			return false;
		l->days[l->n_days++] = (struct day_pair){ s, local_day(l->f, ts) };
	}
	return true;
}

static bool take_ord(const PGresult *r, int i, void *arg)
{
	struct load *l = arg;
	int64_t ts = db_bin_ts(r, i, 1), net, pid = stitched(l->f, db_bin_i64(r, i, 0));
	bool added, paid = PQgetvalue(r, i, 2)[0] != 0, fx = PQgetisnull(r, i, 3);
	int32_t s = pmap_slot(&l->map, pid, &added);
	struct ord_acc *a;

	if (s < 0)
		return false;
	if (added) {
		if (!grow((void **)&l->ord, &l->cap, l->n, sizeof(*l->ord)))
			return false;
		l->ord[l->n++] = (struct ord_acc){ .pid = pid, .t0 = ts, .t1 = ts };
	}
	a = &l->ord[s];
	net = fx ? 0 : db_bin_i64(r, i, 3);
	a->t0 = ts < a->t0 ? ts : a->t0;
	a->t1 = ts > a->t1 ? ts : a->t1;
	a->fx += fx;
	a->ltv += net;
	if (paid) {
		a->paid++;
		a->paid1 += ts < l->f->c_end;
		if (ts >= l->f->l_start) {
			a->orders++;
			a->rev += net;
			a->tpaid = a->orders == 1 || ts > a->tpaid ? ts : a->tpaid;
		}
	}
	return true;
}

static int by_slot_day(const void *a, const void *b)
{
	const struct day_pair *x = a, *y = b;

	if (x->slot != y->slot)
		return (x->slot > y->slot) - (x->slot < y->slot);
	return (x->day > y->day) - (x->day < y->day);
}

/* Per-person event rows, with distinct active days counted from the pairs. */
static bool finish_events(struct load *l)
{
	struct sc_inputs *in = l->in;
	int32_t *active = calloc(l->n + 1, sizeof(*active));

	in->ev = calloc(l->n + 1, sizeof(*in->ev));
	if (!active || !in->ev) {
		free(active);
		return false;
	}
	if (l->n_days > 1)
		qsort(l->days, l->n_days, sizeof(*l->days), by_slot_day);
	for (size_t i = 0; i < l->n_days; i++)
		if (i == 0 || l->days[i].slot != l->days[i - 1].slot ||
		    l->days[i].day != l->days[i - 1].day)
			active[l->days[i].slot]++;
	for (size_t i = 0; i < l->n; i++) {
		const struct ev_acc *a = &l->ev[i];
		in->ev[i] = (struct sc_ev_row){ a->pid, local_day(l->f, a->t0), local_day(l->f, a->t1),
						active[i], a->flags };
	}
	in->n_ev = l->n;
	free(active);
	return true;
}

static bool finish_orders(struct load *l)
{
	struct sc_inputs *in = l->in;

	in->ord = calloc(l->n + 1, sizeof(*in->ord));
	if (!in->ord)
		return false;
	for (size_t i = 0; i < l->n; i++) {
		const struct ord_acc *a = &l->ord[i];
		in->ord[i] = (struct sc_ord_row){
			.person_id = a->pid, .first_day = local_day(l->f, a->t0),
			.last_day = local_day(l->f, a->t1),
			.last_paid_day = a->orders ? local_day(l->f, a->tpaid) : 0, .orders = a->orders,
			.paid_orders = a->paid, .paid_orders1 = a->paid1, .revenue = a->rev,
			.ltv = a->ltv, .fx_missing = a->fx };
	}
	in->n_ord = l->n;
	return true;
}

/* Forget the accumulators of one pass before the next. */
static void reset(struct load *l)
{
	pmap_free(&l->map);
	free(l->ev);
	free(l->ord);
	free(l->days);
	l->ev = NULL;
	l->ord = NULL;
	l->days = NULL;
	l->n = l->cap = l->n_days = l->cap_days = 0;
}

struct acc {
	struct sc_inputs *in;
	size_t cap;
};

static bool take_ref(const PGresult *r, int i, void *arg)
{
	struct acc *a = arg;
	struct sc_ref_row *f;

	if (!grow((void **)&a->in->ref, &a->cap, a->in->n_ref, sizeof(*f)))
		return false;
	f = &a->in->ref[a->in->n_ref++];
	f->person_id = txt_i64(r, i, 0);
	f->referees = (uint32_t)txt_i64(r, i, 1);
	return true;
}

static bool take_ltv(const PGresult *r, int i, void *arg)
{
	struct acc *a = arg;
	struct sc_ltv_row *l;

	if (!grow((void **)&a->in->ltv, &a->cap, a->in->n_ltv, sizeof(*l)))
		return false;
	l = &a->in->ltv[a->in->n_ltv++];
	l->person_id = txt_i64(r, i, 0);
	for (int k = 0; k < SC_LTV_COLS; k++)
		l->v[k] = PQgetisnull(r, i, 1 + k) ? NAN : strtod(PQgetvalue(r, i, 1 + k), NULL);
	return true;
}

/* Local midnights of days 0 (1970-01-01) .. as_of + 1, and the boundaries. */
static bool calendar_load(struct db *db, const struct sc_query *q, struct frame *l,
			  struct app_err *err)
{
	static const char sql[] =
		"SELECT (extract(epoch FROM (DATE '1970-01-01' + g)::timestamp AT TIME ZONE $1)"
		"        * 1000000)::int8 FROM generate_series(0, $2::int) g ORDER BY g";
	char last[16];
	const char *v[2] = { q->tz, last };
	int32_t n_days = q->as_of_day + 1;
	int64_t *mid;
	PGresult *res;
	bool ok;

	if (q->as_of_day < 0 || q->as_of_day > 200000)
		return err_set(err, 400, "validation_failed", "as_of", "as_of is out of range");
	snprintf(last, sizeof(last), "%d", n_days);
	if (!(res = db_params(db, sql, 2, v, PGRES_TUPLES_OK, "local midnights", err)))
		return false;
	mid = malloc(((size_t)n_days + 1) * sizeof(*mid));
	for (int i = 0; mid && i <= n_days && i < PQntuples(res); i++)
		mid[i] = txt_i64(res, i, 0);
	ok = mid && PQntuples(res) == n_days + 1 &&
	     calendar_init(&l->cal, mid, n_days, 1970, 1, 1, CALENDAR_WEEK_MONDAY);
	PQclear(res);
	if (ok) {
		int32_t w = q->as_of_day - q->active_window_days + 1;
		int32_t lb = q->as_of_day - q->lookback_days + 1;
		l->t_end = mid[n_days];
		l->w_start = w > 0 ? mid[w] : INT64_MIN;
		l->l_start = lb > 0 ? mid[lb] : INT64_MIN;
		l->c_end = q->compare_day + 1 <= 0 ? INT64_MIN
			 : q->compare_day + 1 >= n_days ? l->t_end : mid[q->compare_day + 1];
	}
	free(mid);
	return ok || err_set(err, 500, "internal", NULL, "cannot build the local calendar");
}

bool db_scores_today(struct db *db, const char *tz, int32_t *day, struct app_err *err)
{
	static const char sql[] = "SELECT (now() AT TIME ZONE $1)::date - DATE '1970-01-01'";
	const char *vals[1] = { tz };
	PGresult *res = db_params(db, sql, 1, vals, PGRES_TUPLES_OK, "today", err);

	if (!res)
		return false;
	*day = (int32_t)txt_i64(res, 0, 0);
	PQclear(res);
	return true;
}

static bool orders_exist(struct db *db, bool *yes, struct app_err *err)
{
	PGresult *res = db_params(db, "SELECT to_regclass('orders') IS NOT NULL", 0, NULL,
				  PGRES_TUPLES_OK, "orders check", err);
	if (!res)
		return false;
	*yes = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return true;
}

/* All row structs start with int64_t person_id. */
static int by_person(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* qsort must not see the NULL of an empty array (UBSan: nonnull argument). */
static void sort_rows(void *rows, size_t n, size_t size)
{
	if (n > 1)
		qsort(rows, n, size, by_person);
}

/* The parameter vectors of the passes (text; $n differ per statement). */
struct pass_args {
	char pid[24], end[24], split[48];
	const char *ev[6], *ord[4], *ref[4];
};

static void pass_args_init(struct pass_args *a, const struct sc_query *q, const struct frame *f)
{
	snprintf(a->pid, sizeof(a->pid), "%lld", (long long)q->project_id);
	snprintf(a->end, sizeof(a->end), "%lld", (long long)f->t_end);
	a->ev[0] = a->ord[0] = a->ref[0] = a->pid;
	a->ev[1] = a->ord[1] = a->ref[1] = a->end;
	a->ev[2] = q->activation;
	a->ev[3] = q->awareness;
	a->ev[4] = q->interest;
	a->ev[5] = q->loyalty;
	a->ord[2] = q->currency;
	a->ord[3] = a->split;
	a->ref[2] = q->referral_event;
	a->ref[3] = q->referrer_property;
}

static bool events_pass(struct db *db, const struct frame *f, const struct pass_args *a,
			struct sc_inputs *in, struct app_err *err)
{
	struct load l = { .f = f, .in = in };
	double t = now_ms();
	bool ok = fetch_all(db, ev_sql, 6, a->ev, 1, take_ev, &l, "score events", err);

	if (ok && !finish_events(&l))
		ok = err_set(err, 500, "internal", NULL, "out of memory");
	reset(&l);
	in->ms[0] = now_ms() - t;
	return ok;
}

/* One orders statement (all of them, or one half) into l's accumulators. */
static bool orders_scan(struct db *db, const char *sql, int n, const struct pass_args *a,
			struct load *l, struct app_err *err)
{
	return fetch_all(db, sql, n, a->ord, 1, take_ord, l, "score orders", err);
}

static bool orders_pass(struct db *db, const struct frame *f, const struct pass_args *a,
			struct sc_inputs *in, struct app_err *err)
{
	struct load l = { .f = f, .in = in };
	double t = now_ms();
	bool ok = orders_scan(db, ord_sql, 3, a, &l, err);

	if (ok && !finish_orders(&l))
		ok = err_set(err, 500, "internal", NULL, "out of memory");
	reset(&l);
	in->ms[1] = now_ms() - t;
	return ok;
}

/* Fold the persons of one half of the orders into the other's accumulators:
 * the same rules as take_ord, per person instead of per row. */
static bool merge_orders(struct load *to, const struct load *from)
{
	for (size_t i = 0; i < from->n; i++) {
		const struct ord_acc *a = &from->ord[i];
		bool added;
		int32_t s = pmap_slot(&to->map, a->pid, &added);
		struct ord_acc *b;

		if (s < 0)
			return false;
		if (added) {
			if (!grow((void **)&to->ord, &to->cap, to->n, sizeof(*to->ord)))
				return false;
			to->ord[to->n++] = *a;
			continue;
		}
		b = &to->ord[s];
		b->t0 = a->t0 < b->t0 ? a->t0 : b->t0;
		b->t1 = a->t1 > b->t1 ? a->t1 : b->t1;
		if (a->orders && (b->orders == 0 || a->tpaid > b->tpaid))
			b->tpaid = a->tpaid;
		b->orders += a->orders;
		b->paid += a->paid;
		b->paid1 += a->paid1;
		b->fx += a->fx;
		b->rev += a->rev;
		b->ltv += a->ltv;
	}
	return true;
}

/*
 * Where the orders split: db2 scans the blocks before it while db scans the
 * events, then db scans the rest. Both passes cost about the same per row,
 * so db2 takes the share of the orders that makes both connections read
 * (events + orders) / 2 rows: (events + orders) / (2 orders), from the
 * planner's row counts, at least half. The block count is read inside the
 * snapshot's transaction; the upper half is open-ended anyway.
 */
static bool split_point(struct db *db, struct pass_args *a, bool carry, struct app_err *err)
{
	static const char sql[] =
		"SELECT pg_relation_size('orders') / current_setting('block_size')::int8,"
		" (SELECT greatest(reltuples, 0)::float8 FROM pg_class WHERE oid = 'events'::regclass),"
		" (SELECT greatest(reltuples, 0)::float8 FROM pg_class WHERE oid = 'orders'::regclass),"
		" (SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::float8 FROM pg_inherits i"
		"   JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'person_scores'::regclass)";
	PGresult *res = db_params(db, sql, 0, NULL, PGRES_TUPLES_OK, "orders split", err);
	int64_t blocks;
	double ne, no, ns, share = 0.6;

	if (!res)
		return false;
	blocks = txt_i64(res, 0, 0);
	ne = strtod(PQgetvalue(res, 0, 1), NULL);
	no = strtod(PQgetvalue(res, 0, 2), NULL);
	ns = carry ? strtod(PQgetvalue(res, 0, 3), NULL) : 0;
	PQclear(res);
	/* Measured costs relative to an order row: an event row 0.8, a row of
	 * the current generation read by the LTV carry (on db2, after its
	 * half) 0.65; person_scores holds two generations after a purge. */
	if (no > 0)
		share = (0.8 * ne + no - 0.65 * ns / 2) / (2 * no);
	share = share < 0.5 ? 0.5 : share > 1 ? 1 : share;
	snprintf(a->split, sizeof(a->split), "(%lld,0)", (long long)(blocks * share));
	return true;
}

/* The lower half of the orders on the second connection, beside the events. */
struct side {
	struct db *db;
	const struct pass_args *a;
	struct load l;
	struct acc ltv; /* in: the LTV carry runs here after the orders (NULL: not) */
	struct app_err err;
	double ms;
	bool ok;
};

static void *orders_thread(void *arg)
{
	struct side *sd = arg;
	double t = now_ms();

	sd->ok = orders_scan(sd->db, ord_lo_sql, 4, sd->a, &sd->l, &sd->err);
	sd->ms = now_ms() - t;
	t = now_ms();
	if (sd->ok && sd->ltv.in)
		sd->ok = fetch_all(sd->db, ltv_sql, 1, sd->a->ev, 0, take_ltv, &sd->ltv,
				   "score ltv carry", &sd->err);
	if (sd->ltv.in)
		sd->ltv.in->ms[3] = now_ms() - t;
	return NULL;
}

/* Start db2's transaction on db's snapshot (db's transaction is open). The
 * snapshot id comes from PostgreSQL and SET TRANSACTION SNAPSHOT takes only
 * a literal, so it is checked to be [0-9A-F-] before it goes into the SQL. */
static bool share_snapshot(struct db *db, struct db *db2, struct app_err *err)
{
	PGresult *res = db_params(db, "SELECT pg_export_snapshot()", 0, NULL, PGRES_TUPLES_OK,
				  "export snapshot", err);
	char sql[128];
	bool ok;

	if (!res)
		return false;
	ok = PQgetlength(res, 0, 0) < 64 &&
	     strspn(PQgetvalue(res, 0, 0), "0123456789ABCDEF-") == (size_t)PQgetlength(res, 0, 0);
	snprintf(sql, sizeof(sql), "SET TRANSACTION SNAPSHOT '%s'", ok ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	if (!ok)
		return err_set(err, 500, "internal", NULL, "unexpected snapshot id");
	return db_exec(db2, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err) &&
	       db_exec(db2, sql, err) && db_exec(db2, "SET LOCAL jit = off", err) &&
	       db_exec(db2, "SET LOCAL cursor_tuple_fraction = 1", err);
}

/*
 * Events and orders. With a second connection the orders are split by block
 * range on the same snapshot: db2 scans the lower blocks while db scans the
 * events and then the upper blocks; each half accumulates per person on its
 * own and the halves are merged (sums, minima, maxima: the same numbers as
 * one pass).
 */
static bool main_passes(struct db *db, struct db *db2, const struct frame *f,
			struct pass_args *a, struct sc_inputs *in, bool *carry, struct app_err *err)
{
	struct side sd = { .db = db2, .a = a, .l = { .f = f, .in = in },
			   .ltv = { *carry ? in : NULL, 0 } };
	struct load hi = { .f = f, .in = in };
	pthread_t th;
	double t, t_hi;
	bool ok;

	if (!orders_exist(db, &in->has_orders, err))
		return false;
	if (!in->has_orders)
		return events_pass(db, f, a, in, err);
	if (db2 && !(split_point(db, a, *carry, err) && share_snapshot(db, db2, err))) {
		db_rollback(db2);
		return false;
	}
	t = now_ms();
	if (!db2 || pthread_create(&th, NULL, orders_thread, &sd) != 0) {
		if (db2)
			db_rollback(db2);
		return events_pass(db, f, a, in, err) && orders_pass(db, f, a, in, err);
	}
	ok = events_pass(db, f, a, in, err) && orders_scan(db, ord_hi_sql, 4, a, &hi, err);
	t_hi = now_ms() - t;
	pthread_join(th, NULL);
	*carry = false; /* done on db2 */
	if (ok && !sd.ok)
		*err = sd.err;
	ok = ok && sd.ok && db_exec(db2, "COMMIT", err);
	db_rollback(db2);
	log_debug("scoring: orders split at block %s: %zu + %zu persons, %.0f ms on the second "
		  "connection, %.0f ms for events then the rest", a->split, sd.l.n, hi.n, sd.ms,
		  t_hi);
	if (ok && !(merge_orders(hi.n >= sd.l.n ? &hi : &sd.l, hi.n >= sd.l.n ? &sd.l : &hi) &&
		    finish_orders(hi.n >= sd.l.n ? &hi : &sd.l)))
		ok = err_set(err, 500, "internal", NULL, "out of memory");
	reset(&hi);
	reset(&sd.l);
	in->ms[1] = now_ms() - t;
	return ok;
}

static bool load_all(struct db *db, struct db *db2, const struct sc_query *q, struct frame *f,
		     struct sc_inputs *in, bool carry, struct app_err *err)
{
	struct pass_args a;
	struct acc ac = { in, 0 };
	double t;

	pass_args_init(&a, q, f);
	if (!fetch_all(db, over_sql, 1, a.ev, 0, take_over, f, "score overrides", err) ||
	    !main_passes(db, db2, f, &a, in, &carry, err))
		return false;
	t = now_ms();
	if (q->referral_event[0] && q->referrer_property[0] &&
	    !fetch_all(db, ref_sql, 4, a.ref, 0, take_ref, &ac, "score referrals", err))
		return false;
	in->ms[2] = now_ms() - t;
	if (!carry) /* not asked, or done on db2 */
		return true;
	t = now_ms();
	ac.cap = 0;
	if (!fetch_all(db, ltv_sql, 1, a.ev, 0, take_ltv, &ac, "score ltv carry", err))
		return false;
	in->ms[3] = now_ms() - t;
	return true;
}

bool db_scores_load(struct db *db, struct db *db2, const struct sc_query *q, bool carry_ltv,
		    struct sc_inputs *in, struct app_err *err)
{
	struct frame f = { 0 };
	bool ok;

	memset(in, 0, sizeof(*in));
	if (!db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err))
		return false;
	ok = db_exec(db, "SET LOCAL jit = off", err) &&
	     db_exec(db, "SET LOCAL cursor_tuple_fraction = 1", err) &&
	     calendar_load(db, q, &f, err) && load_all(db, db2, q, &f, in, carry_ltv, err) &&
	     db_exec(db, "COMMIT", err);
	calendar_cleanup(&f.cal);
	pmap_free(&f.over);
	free(f.over_to);
	if (!ok) {
		db_rollback(db);
		db_scores_inputs_free(in);
		return false;
	}
	sort_rows(in->ev, in->n_ev, sizeof(*in->ev));
	sort_rows(in->ord, in->n_ord, sizeof(*in->ord));
	sort_rows(in->ref, in->n_ref, sizeof(*in->ref));
	sort_rows(in->ltv, in->n_ltv, sizeof(*in->ltv));
	return true;
}

void db_scores_inputs_free(struct sc_inputs *in)
{
	free(in->ev);
	free(in->ord);
	free(in->ref);
	free(in->ltv);
	memset(in, 0, sizeof(*in));
}
