/*
 * gen.c - deterministic data set of the query benchmark (bench/query/run.sh).
 *
 *   gen --db DATABASE_URL --project-id N [--persons 1000000] [--events 10000000]
 *       [--days 90] [--start 2026-01-01] [--seed 1] [--conns 2]
 *   gen --summary [same sizes]        generate in memory, print the summary, no database
 *
 * Writes `events`, `persons`, `identities`, `orders` and `order_keys` of one
 * project with binary COPY (no text parsing of timestamps on the server side),
 * the events over --conns connections in parallel. The caller drops and
 * recreates the indexes of `events` around the load and runs ANALYZE
 * (run.sh). Everything depends only on the parameters: person i always gets
 * the same events, whatever --conns is.
 *
 * The shape, chosen to look like a consumer app's analytics:
 *   persons   arrive uniformly over the --days (their first event); 92 % sign
 *             up with it (event `signup`, userId "u<i>"), the rest stay
 *             anonymous (first event `app_open`, anonymousId "anon-<i>").
 *   activity  heavy tailed: a person's event count is 1 + floor(k * w), w a
 *             Lomax(alpha 1.4) draw scaled by the time left in the range,
 *             capped at 25,000, k set so that the total is exactly --events
 *             (the summary prints the share of the top 1 %).
 *   funnel    signup -> activate (58 %, log-normal delay, median 6 h, about
 *             10 % later than 7 days) -> add_to_cart (50 %, median 20 h) ->
 *             purchase (45 %, median 1 h); 3 % sign up a second time later
 *             (a second funnel attempt). add_to_cart and purchase also occur
 *             among the background events (repeat buyers).
 *   background sessions of ~5 events 80 s apart, session starts denser early
 *             in a person's active life (exponential, longer for heavy users);
 *             16 more event names with a skewed mix (page_view 30 %, ...).
 *   properties {"plan": free|pro|team} on every event, "amount" (dollars,
 *             2 decimals, log-normal, median 35) on add_to_cart and purchase;
 *             context {"campaign":{"source","medium"}} for the 60 % of persons
 *             that came from a campaign (8 sources), {} otherwise.
 *   orders    one `api` order per purchase event (3 % refunded in full).
 *
 * The heap is written in timestamp order, as ingest would have written it.
 * Prints one JSON line: sizes, counts per step, load seconds.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CONNS 8
#define COUNT_CAP 25000
#define LOMAX_ALPHA 1.4
#define DAY_US (86400LL * 1000000)
#define HOUR_US (3600LL * 1000000)
#define PG_EPOCH_US (946684800LL * 1000000) /* 2000-01-01 in Unix microseconds */
#define BUF_FLUSH (1 << 20)

enum {
	EV_SIGNUP, EV_ACTIVATE, EV_ADD_TO_CART, EV_PURCHASE,
	EV_PAGE_VIEW, EV_APP_OPEN, EV_VIEW_ITEM, EV_SEARCH, EV_CLICK, EV_SCROLL, EV_LOGIN,
	EV_NOTIFICATION_OPEN, EV_LIKE, EV_SHARE, EV_COMMENT, EV_VIDEO_PLAY, EV_INVITE_SENT,
	EV_SETTINGS_UPDATE, EV_LOGOUT, EV_REMOVE_FROM_CART, EV_N
};

static const char *const ev_names[EV_N] = {
	"signup", "activate", "add_to_cart", "purchase",
	"page_view", "app_open", "view_item", "search", "click", "scroll", "login",
	"notification_open", "like", "share", "comment", "video_play", "invite_sent",
	"settings_update", "logout", "remove_from_cart",
};

/* Mix of background events (weights in per mille, any order). */
static const struct {
	int ev, w;
} bg_mix[] = {
	{ EV_PAGE_VIEW, 300 }, { EV_VIEW_ITEM, 140 }, { EV_APP_OPEN, 120 }, { EV_SEARCH, 80 },
	{ EV_CLICK, 80 },      { EV_SCROLL, 50 },     { EV_LOGIN, 40 },     { EV_ADD_TO_CART, 30 },
	{ EV_NOTIFICATION_OPEN, 30 }, { EV_LIKE, 30 }, { EV_VIDEO_PLAY, 20 }, { EV_LOGOUT, 20 },
	{ EV_SHARE, 15 },      { EV_COMMENT, 15 },    { EV_PURCHASE, 10 },  { EV_INVITE_SENT, 10 },
	{ EV_SETTINGS_UPDATE, 5 }, { EV_REMOVE_FROM_CART, 5 },
};

static const char *const plans[3] = { "free", "pro", "team" };
static const struct {
	const char *source, *medium;
	int w;
} campaigns[8] = {
	{ "google", "cpc", 35 },     { "facebook", "paid_social", 20 }, { "newsletter", "email", 15 },
	{ "twitter", "social", 10 }, { "tiktok", "paid_social", 8 },   { "bing", "cpc", 5 },
	{ "referral", "referral", 4 }, { "partner", "affiliate", 3 },
};

/* One generated event, 24 bytes; everything else derives from the person. */
struct ev {
	int64_t ts;        /* Unix microseconds */
	int32_t person;    /* 0-based; person_id = person + 1 */
	int32_t k;         /* index within the person: message_id "b-<person>-<k>" */
	uint32_t amount;   /* cents, add_to_cart and purchase */
	uint16_t recv_ms;  /* received_at = ts + recv_ms */
	uint8_t name;
	uint8_t pad;
};

struct person {
	int64_t arrival, first, last;
	double w;
	int32_t n;
	uint8_t plan, campaign; /* campaign 0 = none, else index + 1 */
	bool signed_up;
};

static struct {
	const char *db;
	long long project_id;
	long persons, events, days, seed;
	int conns;
	int64_t start_us;
	bool summary;
} O = { NULL, 0, 1000000, 10000000, 90, 1, 2, 0, false };

static struct person *P;
static struct ev *E;
static size_t n_ev;

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- random numbers: one splitmix64 stream per (seed, person, purpose) ---- */

static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t stream(long person, int purpose)
{
	uint64_t s = (uint64_t)O.seed * 0xd1342543de82ef95ULL;
	s ^= mix(&s) + (uint64_t)person * 0x9e3779b97f4a7c15ULL;
	s ^= mix(&s) + (uint64_t)purpose * 0xc2b2ae3d27d4eb4fULL;
	mix(&s);
	return s;
}

/* Uniform in (0, 1), never 0 or 1. */
static double unit(uint64_t *s)
{
	return ((double)(mix(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double expo(uint64_t *s, double mean)
{
	return -mean * log(unit(s));
}

static double lognormal(uint64_t *s, double median, double sigma)
{
	double z = sqrt(-2.0 * log(unit(s))) * cos(6.283185307179586 * unit(s));
	return median * exp(sigma * z);
}

/* ---- the plan of each person (stream 0) and the event counts ---- */

static void plan_person(long i, struct person *p)
{
	uint64_t s = stream(i, 0);
	int64_t span = O.days * DAY_US;
	double left, u;
	int acc = 0, pick;

	p->arrival = (int64_t)(unit(&s) * (double)span);
	left = 1.0 - (double)p->arrival / (double)span;
	p->w = (pow(unit(&s), -1.0 / LOMAX_ALPHA) - 1.0) * (0.25 + 0.75 * left);
	u = unit(&s);
	p->plan = u < 0.70 ? 0 : u < 0.95 ? 1 : 2;
	p->campaign = 0;
	if (unit(&s) >= 0.40) {
		pick = (int)(mix(&s) % 100);
		for (int c = 0; c < 8; c++) {
			acc += campaigns[c].w;
			if (pick < acc) {
				p->campaign = (uint8_t)(c + 1);
				break;
			}
		}
	}
	p->signed_up = unit(&s) < 0.92;
}

static long long total_for(double k)
{
	long long t = 0;
	for (long i = 0; i < O.persons; i++) {
		double n = 1.0 + floor(k * P[i].w);
		t += n > COUNT_CAP ? COUNT_CAP : (long long)n;
	}
	return t;
}

/* Counts 1 + floor(k w) capped; k by bisection, the remainder spread one by one. */
static bool plan_counts(void)
{
	double lo = 0, hi = 1;
	long long t, diff;

	if (O.events < O.persons) {
		fprintf(stderr, "gen: --events must be >= --persons\n");
		return false;
	}
	while (total_for(hi) < O.events && hi < 1e12)
		hi *= 2;
	for (int it = 0; it < 100; it++) {
		double mid = (lo + hi) / 2;
		if (total_for(mid) <= O.events)
			lo = mid;
		else
			hi = mid;
	}
	t = 0;
	for (long i = 0; i < O.persons; i++) {
		double n = 1.0 + floor(lo * P[i].w);
		P[i].n = n > COUNT_CAP ? COUNT_CAP : (int32_t)n;
		t += P[i].n;
	}
	diff = O.events - t;
	for (long i = 0; diff > 0; i = (i + 1) % O.persons)
		if (P[i].n < COUNT_CAP) {
			P[i].n++;
			diff--;
		}
	return true;
}

/* ---- the events of each person (stream 1) ---- */

static int bg_total;

static int bg_pick(uint64_t *s)
{
	int r = (int)(mix(s) % (uint64_t)bg_total);
	for (size_t j = 0; j < sizeof(bg_mix) / sizeof(bg_mix[0]); j++) {
		if (r < bg_mix[j].w)
			return bg_mix[j].ev;
		r -= bg_mix[j].w;
	}
	return EV_PAGE_VIEW;
}

static void put(long i, int32_t *k, int name, int64_t ts, uint64_t *s)
{
	struct ev *e = &E[n_ev++];
	struct person *p = &P[i];

	e->ts = ts;
	e->person = (int32_t)i;
	e->k = (*k)++;
	e->name = (uint8_t)name;
	e->pad = 0;
	e->recv_ms = (uint16_t)(20 + mix(s) % 2000);
	e->amount = 0;
	if (name == EV_ADD_TO_CART || name == EV_PURCHASE) {
		double a = lognormal(s, 3500, 0.9);
		e->amount = a < 99 ? 99 : a > 5e6 ? 5000000 : (uint32_t)a;
	}
	if (ts < p->first)
		p->first = ts;
	if (ts > p->last)
		p->last = ts;
}

static void gen_person(long i)
{
	struct person *p = &P[i];
	uint64_t s = stream(i, 1);
	int64_t span = O.days * DAY_US, t0 = p->arrival, t, life;
	int32_t k = 0, n = p->n;

	p->first = INT64_MAX;
	p->last = INT64_MIN;
	life = (int64_t)expo(&s, (2.0 + 1.5 * n) * (double)DAY_US);
	if (life > span - t0)
		life = span - t0;
	if (life < 1)
		life = 1;
	if (!p->signed_up) {
		put(i, &k, EV_APP_OPEN, t0, &s);
	} else {
		put(i, &k, EV_SIGNUP, t0, &s);
		/* The funnel path; a step past the end of the range is not written. */
		t = t0;
		if (k < n && unit(&s) < 0.58 &&
		    (t += (int64_t)lognormal(&s, 6.0 * HOUR_US, 2.2)) < span) {
			put(i, &k, EV_ACTIVATE, t, &s);
			if (k < n && unit(&s) < 0.50 &&
			    (t += (int64_t)lognormal(&s, 20.0 * HOUR_US, 1.6)) < span) {
				put(i, &k, EV_ADD_TO_CART, t, &s);
				if (k < n && unit(&s) < 0.45 &&
				    (t += (int64_t)lognormal(&s, 1.0 * HOUR_US, 2.0)) < span)
					put(i, &k, EV_PURCHASE, t, &s);
			}
		}
		if (k < n && unit(&s) < 0.03)
			put(i, &k, EV_SIGNUP, t0 + (int64_t)(unit(&s) * (double)life), &s);
	}
	while (k < n) {
		int64_t start = t0 + (int64_t)(pow(unit(&s), 1.7) * (double)life);
		int size = 1 + (int)expo(&s, 4.0);
		t = start;
		for (int j = 0; j < size && k < n; j++) {
			t += (int64_t)expo(&s, 80e6);
			if (t >= span)
				t = t0 + (int64_t)(unit(&s) * (double)(span - t0));
			put(i, &k, bg_pick(&s), t, &s);
		}
	}
}

static int cmp_desc(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x < y) - (x > y);
}

static int cmp_ev(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	return (x->k > y->k) - (x->k < y->k);
}

/* ---- binary COPY ---- */

struct buf {
	char *p;
	size_t len, cap;
	PGconn *conn;
	bool failed;
};

static void buf_room(struct buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	while (b->len + n > b->cap)
		b->cap = b->cap ? b->cap * 2 : (size_t)BUF_FLUSH * 2;
	b->p = realloc(b->p, b->cap);
	if (!b->p) {
		fprintf(stderr, "gen: out of memory\n");
		exit(1);
	}
}

static void put_raw(struct buf *b, const void *d, size_t n)
{
	buf_room(b, n);
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void put_u16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put_raw(b, x, 2);
}

static void put_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	put_raw(b, x, 4);
}

static void put_u64(struct buf *b, uint64_t v)
{
	put_u32(b, (uint32_t)(v >> 32));
	put_u32(b, (uint32_t)v);
}

static void f_int8(struct buf *b, int64_t v)
{
	put_u32(b, 8);
	put_u64(b, (uint64_t)v);
}

static void f_int2(struct buf *b, int16_t v)
{
	put_u32(b, 2);
	put_u16(b, (uint16_t)v);
}

static void f_ts(struct buf *b, int64_t unix_us)
{
	f_int8(b, unix_us - PG_EPOCH_US);
}

static void f_null(struct buf *b)
{
	put_u32(b, 0xffffffffu);
}

static void f_text(struct buf *b, const char *s, size_t n)
{
	put_u32(b, (uint32_t)n);
	put_raw(b, s, n);
}

/* jsonb in binary COPY: version byte 1, then the JSON text. */
static void f_jsonb(struct buf *b, const char *s, size_t n)
{
	put_u32(b, (uint32_t)n + 1);
	put_raw(b, "\1", 1);
	put_raw(b, s, n);
}

static void flush(struct buf *b, bool force)
{
	if (b->failed || (!force && b->len < BUF_FLUSH) || b->len == 0)
		return;
	if (PQputCopyData(b->conn, b->p, (int)b->len) != 1) {
		fprintf(stderr, "gen: COPY data: %s", PQerrorMessage(b->conn));
		b->failed = true;
	}
	b->len = 0;
}

static bool copy_begin(struct buf *b, const char *sql)
{
	static const char hdr[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
	PGresult *r = PQexec(b->conn, sql);
	bool ok = PQresultStatus(r) == PGRES_COPY_IN;

	if (!ok)
		fprintf(stderr, "gen: %s: %s", sql, PQerrorMessage(b->conn));
	PQclear(r);
	b->len = 0;
	b->failed = !ok;
	if (ok)
		put_raw(b, hdr, sizeof(hdr));
	return ok;
}

static bool copy_end(struct buf *b)
{
	PGresult *r;
	bool ok;

	put_u16(b, 0xffff);
	flush(b, true);
	if (PQputCopyEnd(b->conn, b->failed ? "gen failed" : NULL) != 1) {
		fprintf(stderr, "gen: COPY end: %s", PQerrorMessage(b->conn));
		return false;
	}
	r = PQgetResult(b->conn);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK && !b->failed;
	if (!ok)
		fprintf(stderr, "gen: COPY: %s", PQerrorMessage(b->conn));
	PQclear(r);
	while ((r = PQgetResult(b->conn)))
		PQclear(r);
	return ok;
}

static int props_json(char *out, size_t cap, const struct person *p, const struct ev *e)
{
	if (e->amount)
		return snprintf(out, cap, "{\"plan\": \"%s\", \"amount\": %u.%02u}", plans[p->plan],
				e->amount / 100, e->amount % 100);
	return snprintf(out, cap, "{\"plan\": \"%s\"}", plans[p->plan]);
}

static int context_json(char *out, size_t cap, const struct person *p)
{
	if (!p->campaign)
		return snprintf(out, cap, "{}");
	return snprintf(out, cap, "{\"campaign\": {\"source\": \"%s\", \"medium\": \"%s\"}}",
			campaigns[p->campaign - 1].source, campaigns[p->campaign - 1].medium);
}

static int user_text(char *out, size_t cap, long i)
{
	return snprintf(out, cap, "u%ld", i);
}

static int anon_text(char *out, size_t cap, long i)
{
	return snprintf(out, cap, "anon-%ld", i);
}

struct job {
	size_t e0, e1;
	bool ok;
};

static PGconn *connect_db(void)
{
	PGconn *c = PQconnectdb(O.db);
	PGresult *r;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "gen: connect: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	/* A benchmark load: losing it in a crash only means loading again. */
	r = PQexec(c, "SET synchronous_commit = off");
	PQclear(r);
	return c;
}

static void *copy_events(void *arg)
{
	struct job *j = arg;
	struct buf b = { 0 };
	char props[96], ctx[96], mid[40], uid[24];
	int n;

	j->ok = false;
	if (!(b.conn = connect_db()))
		return NULL;
	if (!copy_begin(&b, "COPY events (project_id, person_id, message_id, type, event, name, "
			    "user_id, anonymous_id, ts, received_at, properties, context) "
			    "FROM STDIN (FORMAT binary)"))
		goto out;
	for (size_t x = j->e0; x < j->e1 && !b.failed; x++) {
		const struct ev *e = &E[x];
		const struct person *p = &P[e->person];
		put_u16(&b, 12);
		f_int8(&b, O.project_id);
		f_int8(&b, (int64_t)e->person + 1);
		n = snprintf(mid, sizeof(mid), "b-%d-%d", e->person, e->k);
		f_text(&b, mid, (size_t)n);
		f_int2(&b, 1);
		f_text(&b, ev_names[e->name], strlen(ev_names[e->name]));
		f_null(&b);
		if (p->signed_up) {
			n = user_text(uid, sizeof(uid), e->person);
			f_text(&b, uid, (size_t)n);
			f_null(&b);
		} else {
			f_null(&b);
			n = anon_text(uid, sizeof(uid), e->person);
			f_text(&b, uid, (size_t)n);
		}
		f_ts(&b, e->ts);
		f_ts(&b, e->ts + (int64_t)e->recv_ms * 1000);
		n = props_json(props, sizeof(props), p, e);
		f_jsonb(&b, props, (size_t)n);
		n = context_json(ctx, sizeof(ctx), p);
		f_jsonb(&b, ctx, (size_t)n);
		flush(&b, false);
	}
	j->ok = copy_end(&b);
out:
	PQfinish(b.conn);
	free(b.p);
	return NULL;
}

/* persons, identities, orders and order_keys over one connection. */
static bool copy_people(PGconn *c, long long *n_orders)
{
	struct buf b = { .conn = c };
	char txt[128], uid[24];
	int n;
	bool ok;

	if (!copy_begin(&b, "COPY persons (project_id, person_id, first_seen, last_seen, traits) "
			    "FROM STDIN (FORMAT binary)"))
		return false;
	for (long i = 0; i < O.persons; i++) {
		put_u16(&b, 5);
		f_int8(&b, O.project_id);
		f_int8(&b, i + 1);
		f_ts(&b, P[i].first);
		f_ts(&b, P[i].last);
		n = P[i].signed_up ? snprintf(txt, sizeof(txt), "{\"plan\": \"%s\"}", plans[P[i].plan])
				   : snprintf(txt, sizeof(txt), "{}");
		f_jsonb(&b, txt, (size_t)n);
		flush(&b, false);
	}
	if (!copy_end(&b))
		return false;
	if (!copy_begin(&b, "COPY identities (project_id, distinct_id, person_id, created_at) "
			    "FROM STDIN (FORMAT binary)"))
		return false;
	for (long i = 0; i < O.persons; i++) {
		put_u16(&b, 4);
		f_int8(&b, O.project_id);
		n = P[i].signed_up ? user_text(uid, sizeof(uid), i) : anon_text(uid, sizeof(uid), i);
		f_text(&b, uid, (size_t)n);
		f_int8(&b, i + 1);
		f_ts(&b, P[i].first);
		flush(&b, false);
	}
	if (!copy_end(&b))
		return false;
	/* Orders: one per purchase event; refunded in full for 3 % (by hash). */
	*n_orders = 0;
	if (!copy_begin(&b, "COPY orders (project_id, person_id, source, external_id, state, currency, "
			    "amount_minor, refunded_base, ts, updated_at, received_at, user_id, raw) "
			    "FROM STDIN (FORMAT binary)"))
		return false;
	for (size_t x = 0; x < n_ev; x++) {
		const struct ev *e = &E[x];
		uint64_t h = (uint64_t)e->person * 0x9e3779b97f4a7c15ULL ^ (uint64_t)e->k;
		bool refunded;
		if (e->name != EV_PURCHASE)
			continue;
		refunded = mix(&h) % 100 < 3;
		put_u16(&b, 13);
		f_int8(&b, O.project_id);
		f_int8(&b, (int64_t)e->person + 1);
		f_text(&b, "api", 3);
		n = snprintf(txt, sizeof(txt), "b-%d-%d", e->person, e->k);
		f_text(&b, txt, (size_t)n);
		f_text(&b, refunded ? "refunded" : "paid", refunded ? 8 : 4);
		f_text(&b, "USD", 3);
		f_int8(&b, e->amount);
		f_int8(&b, refunded ? e->amount : 0);
		f_ts(&b, e->ts);
		f_ts(&b, e->ts);
		f_ts(&b, e->ts + (int64_t)e->recv_ms * 1000);
		if (P[e->person].signed_up) {
			n = user_text(uid, sizeof(uid), e->person);
			f_text(&b, uid, (size_t)n);
		} else
			f_null(&b);
		f_jsonb(&b, "{}", 2);
		(*n_orders)++;
		flush(&b, false);
	}
	if (!copy_end(&b))
		return false;
	if (!copy_begin(&b, "COPY order_keys (project_id, source, external_id, person_id) "
			    "FROM STDIN (FORMAT binary)"))
		return false;
	for (size_t x = 0; x < n_ev; x++) {
		const struct ev *e = &E[x];
		if (e->name != EV_PURCHASE)
			continue;
		put_u16(&b, 4);
		f_int8(&b, O.project_id);
		f_text(&b, "api", 3);
		n = snprintf(txt, sizeof(txt), "b-%d-%d", e->person, e->k);
		f_text(&b, txt, (size_t)n);
		f_int8(&b, (int64_t)e->person + 1);
		flush(&b, false);
	}
	ok = copy_end(&b);
	free(b.p);
	return ok;
}

static bool load(double *secs, long long *n_orders)
{
	pthread_t th[MAX_CONNS];
	struct job jobs[MAX_CONNS];
	double t0 = now_s();
	PGconn *c;
	PGresult *r;
	char sql[160];
	bool ok = true;

	for (int j = 0; j < O.conns; j++) {
		jobs[j].e0 = n_ev * (size_t)j / (size_t)O.conns;
		jobs[j].e1 = n_ev * (size_t)(j + 1) / (size_t)O.conns;
		if (pthread_create(&th[j], NULL, copy_events, &jobs[j]) != 0) {
			fprintf(stderr, "gen: cannot start a thread\n");
			exit(1);
		}
	}
	if (!(c = connect_db()))
		ok = false;
	if (ok)
		ok = copy_people(c, n_orders);
	for (int j = 0; j < O.conns; j++) {
		pthread_join(th[j], NULL);
		ok = ok && jobs[j].ok;
	}
	if (ok) {
		snprintf(sql, sizeof(sql), "SELECT setval('person_id_seq', greatest(%ld, "
			 "(SELECT last_value FROM person_id_seq)))", O.persons);
		r = PQexec(c, sql);
		ok = PQresultStatus(r) == PGRES_TUPLES_OK;
		if (!ok)
			fprintf(stderr, "gen: setval: %s", PQerrorMessage(c));
		PQclear(r);
	}
	PQfinish(c);
	*secs = now_s() - t0;
	return ok;
}

/* ---- command line ---- */

static long parse_long(const char *flag, const char *v, long min)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v ? v : "", &end, 10);
	if (!v || errno || end == v || *end || n < min) {
		fprintf(stderr, "gen: %s needs an integer >= %ld\n", flag, min);
		exit(2);
	}
	return n;
}

static int64_t parse_date(const char *v)
{
	int y, m, d;
	struct tm tm = { 0 };

	if (!v || sscanf(v, "%4d-%2d-%2d", &y, &m, &d) != 3) {
		fprintf(stderr, "gen: --start needs YYYY-MM-DD\n");
		exit(2);
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	return (int64_t)timegm(&tm) * 1000000;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: gen --db URL --project-id N [--persons 1000000] [--events 10000000] [--days 90]\n"
		"           [--start 2026-01-01] [--seed 1] [--conns 2]\n"
		"       gen --summary [sizes]   generate in memory only and print the summary\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double t_gen, t_load = 0;
	long long n_orders = 0, per_ev[EV_N] = { 0 }, top = 0;
	int32_t *counts;
	double t0 = now_s();

	O.start_us = parse_date("2026-01-01");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--summary") == 0) {
			O.summary = true;
			continue;
		}
		if (strcmp(a, "--db") == 0)
			O.db = v;
		else if (strcmp(a, "--project-id") == 0)
			O.project_id = parse_long(a, v, 1);
		else if (strcmp(a, "--persons") == 0)
			O.persons = parse_long(a, v, 1);
		else if (strcmp(a, "--events") == 0)
			O.events = parse_long(a, v, 1);
		else if (strcmp(a, "--days") == 0)
			O.days = parse_long(a, v, 1);
		else if (strcmp(a, "--start") == 0)
			O.start_us = parse_date(v);
		else if (strcmp(a, "--seed") == 0)
			O.seed = parse_long(a, v, 0);
		else if (strcmp(a, "--conns") == 0)
			O.conns = (int)parse_long(a, v, 1);
		else
			usage();
		i++;
	}
	if (O.conns > MAX_CONNS)
		O.conns = MAX_CONNS;
	if (!O.summary && (!O.db || !O.project_id))
		usage();
	for (size_t j = 0; j < sizeof(bg_mix) / sizeof(bg_mix[0]); j++)
		bg_total += bg_mix[j].w;

	P = calloc((size_t)O.persons, sizeof(*P));
	E = malloc((size_t)O.events * sizeof(*E));
	if (!P || !E) {
		fprintf(stderr, "gen: out of memory\n");
		return 1;
	}
	for (long i = 0; i < O.persons; i++)
		plan_person(i, &P[i]);
	if (!plan_counts())
		return 2;
	for (long i = 0; i < O.persons; i++) {
		gen_person(i);
		P[i].first += O.start_us;
		P[i].last += O.start_us;
	}
	for (size_t x = 0; x < n_ev; x++) {
		E[x].ts += O.start_us;
		per_ev[E[x].name]++;
	}
	qsort(E, n_ev, sizeof(*E), cmp_ev);
	/* Share of the events of the 1 % most active persons, the median count. */
	counts = malloc((size_t)O.persons * sizeof(*counts));
	if (!counts) {
		fprintf(stderr, "gen: out of memory\n");
		return 1;
	}
	for (long i = 0; i < O.persons; i++)
		counts[i] = P[i].n;
	qsort(counts, (size_t)O.persons, sizeof(*counts), cmp_desc);
	for (long i = 0; i < O.persons / 100; i++)
		top += counts[i];
	t_gen = now_s() - t0;
	if (!O.summary && !load(&t_load, &n_orders))
		return 1;
	printf("{\"persons\":%ld,\"events\":%zu,\"signup\":%lld,\"activate\":%lld,\"add_to_cart\":%lld,"
	       "\"purchase\":%lld,\"orders\":%lld,\"max_per_person\":%d,\"median_per_person\":%d,"
	       "\"top1pct_share\":%.3f,\"generate_s\":%.2f,\"load_s\":%.2f}\n",
	       O.persons, n_ev, per_ev[EV_SIGNUP], per_ev[EV_ACTIVATE], per_ev[EV_ADD_TO_CART],
	       per_ev[EV_PURCHASE], n_orders, counts[0], counts[O.persons / 2],
	       (double)top / (double)n_ev, t_gen, t_load);
	free(counts);
	free(P);
	free(E);
	return 0;
}
