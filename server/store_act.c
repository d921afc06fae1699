/*
 * store_act.c - who was active in which period, straight from the store's
 * columns (store.h: store_act). Retention, lifecycle and the key metrics
 * only need a bit per (stitched person, period, selector), so one pass ORs
 * bits into a per-person bitmap: no per-person arrays, no sorting, no copy
 * of the events. On 10M events this replaces a gather that copied and
 * sorted every event per query (bench/RESULTS.md, "Query").
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "model/calendar.h"
#include "server/store_internal.h"

/* Period lookup for events in any order: a table of the period at the
 * start of each 2^29 us (~9 min) slot since bounds[0] (a shift, not a
 * division), then a step forward while the next period has begun: at most
 * one step for periods longer than a slot (days, weeks, months). */
#define SLOT_SHIFT 29
#define MAX_SLOTS ((int64_t)1 << 21)

struct periods {
	const int64_t *bounds;
	int32_t n;
	int32_t *at;               /* period at slot q (NULL: binary search) */
	int64_t n_at;
};

static bool periods_init(struct periods *pr, const int64_t *bounds, int32_t n)
{
	int64_t span = bounds[n] - bounds[0];

	pr->bounds = bounds;
	pr->n = n;
	pr->at = NULL;
	pr->n_at = (span >> SLOT_SHIFT) + 1;
	if (pr->n_at > MAX_SLOTS)
		return true;
	pr->at = malloc((size_t)pr->n_at * sizeof(*pr->at));
	if (!pr->at)
		return false;
	for (int64_t q = 0, b = 0; q < pr->n_at; q++) {
		int64_t t = bounds[0] + (q << SLOT_SHIFT);
		while (b + 1 < n && bounds[b + 1] <= t)
			b++;
		pr->at[q] = (int32_t)b;
	}
	return true;
}

/* Period of ts, bounds[0] <= ts < bounds[n]: the last i with bounds[i] <= ts. */
static inline int32_t period_of(const struct periods *pr, int64_t ts)
{
	int32_t lo;

	if (!pr->at)
		return calendar_bound_index(pr->bounds, pr->n, ts);
	lo = pr->at[(ts - pr->bounds[0]) >> SLOT_SHIFT];
	while (lo + 1 < pr->n && pr->bounds[lo + 1] <= ts)
		lo++;
	return lo;
}

struct act_ctx {
	const struct proj *p;
	const struct store_act_query *q;
	struct periods pr;
	const uint32_t *mask;      /* per event id: selector bits */
	const int32_t *of;         /* dense person -> stitched; NULL: the same */
	uint64_t *bits;            /* per stitched person: n_sel x n_words */
	uint8_t *flags;
	size_t stride, n_eff;
	int n_words;
};

/* Half of the scan: events [from, to) of the selected names taken as one
 * sequence, into its own bits and flags (merged afterwards: no sharing). */
struct half {
	const struct act_ctx *c;
	size_t from, to;
	uint64_t *bits;
	uint8_t *flags;
};

/* Rows are written at random (persons arrive in any order): fetch the row
 * of the event PREFETCH_AHEAD places on while this one is handled. */
#define PREFETCH_AHEAD 16

/* OR the bits of events [j0, j1) of one event name (selector bits m). */
static void scan_part(const struct half *h, const struct part *pt, uint32_t m, size_t j0,
		      size_t j1)
{
	const struct act_ctx *c = h->c;
	const int64_t lo = c->pr.bounds[0], hi = c->pr.bounds[c->pr.n];
	const uint8_t prior = c->q->need_prior ? (uint8_t)m : 0;
	const uint8_t later = c->q->need_later ? (uint8_t)(m << STORE_ACT_LATER_SHIFT) : 0;
	const size_t stride = c->stride, nw = (size_t)c->n_words;

	for (size_t j = j0; j < j1; j++) {
		int64_t ts = pt->ts[j];
		size_t who = c->of ? (size_t)c->of[pt->person[j]] : (size_t)pt->person[j];
		if (j + PREFETCH_AHEAD < j1) {
			size_t ahead = c->of ? (size_t)c->of[pt->person[j + PREFETCH_AHEAD]]
					     : (size_t)pt->person[j + PREFETCH_AHEAD];
			__builtin_prefetch(h->bits + ahead * stride, 1);
		}
		if (ts < lo) {
			h->flags[who] |= prior;
		} else if (ts >= hi) {
			h->flags[who] |= later;
		} else {
			int32_t b = period_of(&c->pr, ts);
			uint64_t bit = UINT64_C(1) << (b & 63);
			uint64_t *row = h->bits + who * stride + (size_t)(b >> 6);
			if (m == 1u) {
				*row |= bit;
				continue;
			}
			for (uint32_t k = 0, mm = m; mm; k++, mm >>= 1)
				if (mm & 1u)
					row[k * nw] |= bit;
		}
	}
}

static void *scan_half(void *arg)
{
	struct half *h = arg;
	const struct proj *p = h->c->p;
	size_t at = 0;

	for (int32_t e = 0; e < p->n_events && at < h->to; e++) {
		const struct part *pt = &p->parts[e];
		size_t j0, j1;
		if (!h->c->mask[e])
			continue;
		j0 = h->from > at ? h->from - at : 0;
		j1 = h->to - at < pt->n ? h->to - at : pt->n;
		if (j0 < j1)
			scan_part(h, pt, h->c->mask[e], j0, j1);
		at += pt->n;
	}
	return NULL;
}

/* Both cores when there is enough to do: the second half goes to a thread
 * with its own arrays, ORed into ours at the end. (The threshold is low
 * enough that the integration data sets take this path too.) */
#define SPLIT_MIN 100000

static void scan(struct act_ctx *c)
{
	struct half a = { .c = c, .bits = c->bits, .flags = c->flags }, b = { .c = c };
	size_t total = 0;
	pthread_t th;

	for (int32_t e = 0; e < c->p->n_events; e++)
		if (c->mask[e])
			total += c->p->parts[e].n;
	a.to = total;
	if (total >= SPLIT_MIN) {
		b.bits = calloc(c->n_eff * c->stride + 1, sizeof(*b.bits));
		b.flags = calloc(c->n_eff + 1, 1);
		if (b.bits && b.flags) {
			b.from = a.to = total / 2;
			b.to = total;
		}
	}
	if (b.to > b.from && pthread_create(&th, NULL, scan_half, &b) != 0) {
		a.to = total; /* no thread: do it all here */
		b.to = b.from = 0;
	}
	scan_half(&a);
	if (b.to > b.from) {
		pthread_join(th, NULL);
		for (size_t i = 0; i < c->n_eff * c->stride; i++)
			c->bits[i] |= b.bits[i];
		for (size_t i = 0; i < c->n_eff; i++)
			c->flags[i] |= b.flags[i];
	}
	free(b.bits);
	free(b.flags);
}

/* Keep the stitched persons with a bit set, in stitched-id order. */
static bool compact(struct act_ctx *c, struct store_eff *e, struct store_act_rows *out)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++) {
		const uint64_t *row = c->bits + i * c->stride;
		uint64_t any = 0;
		for (size_t w = 0; w < c->stride; w++)
			any |= row[w];
		if (!any)
			continue;
		if (n != i) {
			memmove(c->bits + n * c->stride, row, c->stride * sizeof(*row));
			c->flags[n] = c->flags[i];
		}
		e->raw[n++] = e->raw[i];
	}
	out->n_persons = n;
	out->person_id = realloc(e->raw, (n + 1) * sizeof(*e->raw));
	if (!out->person_id)
		return false;
	e->raw = NULL;
	out->bits = realloc(c->bits, (n + 1) * c->stride * sizeof(*c->bits));
	out->flags = realloc(c->flags, n + 1);
	if (out->bits)
		c->bits = NULL;
	if (out->flags)
		c->flags = NULL;
	return out->bits && out->flags;
}

bool store_act(struct store *s, const struct store_act_query *q, struct store_act_rows *out)
{
	struct act_ctx c = { .q = q };
	struct store_eff e = { 0 };
	uint32_t *mask = NULL;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	if (q->n_sel < 1 || q->n_sel > 4 || q->n_buckets < 1)
		return false;
	c.n_words = (q->n_buckets + 63) / 64;
	c.stride = (size_t)q->n_sel * (size_t)c.n_words;
	out->n_words = c.n_words;
	pthread_rwlock_rdlock(&s->lock);
	if (!s->loaded || s->over)
		goto out;
	c.p = store_proj_get(s, q->project_id, false);
	if (!c.p) {
		/* No events for this project: an empty, valid answer. */
		out->person_id = malloc(sizeof(*out->person_id));
		out->bits = malloc(sizeof(*out->bits));
		out->flags = malloc(1);
		ok = out->person_id && out->bits && out->flags;
		goto out;
	}
	mask = calloc((size_t)c.p->n_events + 1, sizeof(*mask));
	if (!mask || !store_eff_build(c.p, q->ov_old, q->ov_new, q->n_ov, &e) ||
	    !periods_init(&c.pr, q->bounds, q->n_buckets))
		goto out;
	c.bits = calloc(e.n * c.stride + 1, sizeof(*c.bits));
	c.flags = calloc(e.n + 1, 1);
	if (!c.bits || !c.flags)
		goto out;
	store_name_masks(c.p, q->sel, q->n_sel, mask);
	c.mask = mask;
	c.of = q->n_ov ? e.of : NULL;
	c.n_eff = e.n;
	scan(&c);
	ok = compact(&c, &e, out);
out:
	pthread_rwlock_unlock(&s->lock);
	free(mask);
	free(c.pr.at);
	free(c.bits);
	free(c.flags);
	store_eff_free(&e);
	if (!ok)
		store_act_rows_free(out);
	return ok;
}

void store_act_rows_free(struct store_act_rows *r)
{
	free(r->person_id);
	free(r->bits);
	free(r->flags);
	memset(r, 0, sizeof(*r));
}
