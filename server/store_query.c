/*
 * store_query.c - per-person event sequences from the in-memory store,
 * identical to what db_seq_fetch streams from PostgreSQL: events in
 * [from, until) matching a selector (or all), grouped by stitched person,
 * sorted by (ts, received_at, arrival) - arrival order equals message_id
 * order for equal (ts, received_at), as rows are added in that order.
 *
 * Cost: one pass over the project's columns to count per person, one to
 * place, a per-person sort (insertion sort: rows arrive nearly in order).
 */
#include <stdlib.h>
#include <string.h>

#include "server/db_events.h"
#include "server/store_internal.h"

#define AT STORE_AT

struct qctx {
	const struct proj *p;
	uint32_t *mask, *xmask;    /* per event-name id */
	struct store_eff e;
};

static bool wanted(const struct qctx *c, const struct store_query *q, size_t i)
{
	int64_t ts = AT(c->p, i, ts);
	int32_t ev;

	if (ts < q->from_us || ts >= q->until_us)
		return false;
	ev = AT(c->p, i, ev);
	return q->all_events || c->mask[ev] || c->xmask[ev];
}

static bool later(const struct proj *p, size_t a, size_t b)
{
	int64_t ta = AT(p, a, ts), tb = AT(p, b, ts);
	if (ta != tb)
		return ta > tb;
	if (AT(p, a, recv) != AT(p, b, recv))
		return AT(p, a, recv) > AT(p, b, recv);
	return a > b;
}

/* Stable merge of sorted runs a[0..na) and b[0..nb) into out. */
static void merge(const struct proj *p, const size_t *a, size_t na, const size_t *b, size_t nb,
		  size_t *out)
{
	size_t i = 0, j = 0, k = 0;
	while (i < na && j < nb)
		out[k++] = later(p, a[i], b[j]) ? b[j++] : a[i++];
	while (i < na)
		out[k++] = a[i++];
	while (j < nb)
		out[k++] = b[j++];
}

static void insertion_sort(const struct proj *p, size_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		size_t x = v[i], j = i;
		while (j > 0 && later(p, v[j - 1], x)) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/* Sort one person's events by (ts, received_at, arrival). Insertion sort
 * for short or nearly sorted runs; bottom-up merge sort otherwise (rows
 * gathered per event name interleave, and a person may have 10^4 events). */
static void sort_person(const struct proj *p, size_t *v, size_t n, size_t *tmp)
{
	size_t width, i;
	size_t *src = v, *dst = tmp;

	if (n <= 32) {
		insertion_sort(p, v, n);
		return;
	}
	for (i = 0; i < n; i += 32)
		insertion_sort(p, v + i, n - i < 32 ? n - i : 32);
	for (width = 32; width < n; width *= 2) {
		for (i = 0; i < n; i += 2 * width) {
			size_t mid = i + width < n ? i + width : n;
			size_t end = i + 2 * width < n ? i + 2 * width : n;
			merge(p, src + i, mid - i, src + mid, end - mid, dst + i);
		}
		size_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
}

static bool alloc_rows(struct db_seq_rows *r, size_t persons, size_t events, bool excl)
{
	r->person_off = malloc((persons + 1) * sizeof(*r->person_off));
	r->person_id = malloc((persons + 1) * sizeof(*r->person_id));
	r->ts = malloc((events + 1) * sizeof(*r->ts));
	r->mask = malloc((events + 1) * sizeof(*r->mask));
	r->excl_mask = excl ? malloc((events + 1) * sizeof(*r->excl_mask)) : NULL;
	return r->person_off && r->person_id && r->ts && r->mask && (!excl || r->excl_mask);
}

/*
 * Visit every candidate event: all events (all_events), or only those of
 * the selected event names through their posting lists. pass 0 counts per
 * person, pass 1 places indexes.
 */
static void visit(const struct qctx *c, const struct store_query *q, size_t *start, size_t *idx,
		  int pass, size_t *total)
{
	const struct proj *p = c->p;

	if (q->all_events) {
		for (size_t i = 0; i < p->n; i++)
			if (wanted(c, q, i)) {
				int32_t k = c->e.of[AT(p, i, person)];
				if (pass == 0)
					start[k + 1]++, (*total)++;
				else
					idx[start[k]++] = i;
			}
		return;
	}
	for (int32_t e = 0; e < p->n_events; e++) {
		if (!c->mask[e] && !c->xmask[e])
			continue;
		for (size_t j = 0; j < p->post[e].n; j++) {
			size_t i = p->post[e].ix[j];
			int64_t ts = AT(p, i, ts);
			int32_t k;
			if (ts < q->from_us || ts >= q->until_us)
				continue;
			k = c->e.of[AT(p, i, person)];
			if (pass == 0)
				start[k + 1]++, (*total)++;
			else
				idx[start[k]++] = i;
		}
	}
}

/* Count, place, sort, copy out. Called under the read lock. */
static bool gather(struct qctx *c, const struct store_query *q, struct db_seq_rows *r)
{
	const struct proj *p = c->p;
	size_t *start = calloc(c->e.n + 1, sizeof(*start)), *idx = NULL, *tmp = NULL;
	size_t total = 0, np = 0;
	bool ok = false;

	if (!start)
		return false;
	visit(c, q, start, NULL, 0, &total);
	for (size_t k = 0; k < c->e.n; k++) {
		np += start[k + 1] > 0;
		start[k + 1] += start[k];
	}
	idx = malloc((total + 1) * sizeof(*idx));
	tmp = malloc((total + 1) * sizeof(*tmp));
	if (!idx || !tmp || !alloc_rows(r, np, total, q->n_excl > 0))
		goto out;
	visit(c, q, start, idx, 1, &total);
	/* start[k] now holds the end of person k; walk persons in dense order. */
	for (size_t k = 0, at = 0; k < c->e.n; k++) {
		size_t end = start[k];
		if (end == at)
			continue;
		sort_person(p, idx + at, end - at, tmp);
		r->person_off[r->n_persons] = (int64_t)at;
		r->person_id[r->n_persons++] = c->e.raw[k];
		for (size_t e = at; e < end; e++) {
			int32_t ev = AT(p, idx[e], ev);
			r->ts[e] = AT(p, idx[e], ts);
			r->mask[e] = c->mask[ev];
			if (r->excl_mask)
				r->excl_mask[e] = c->xmask[ev];
		}
		at = end;
	}
	r->person_off[r->n_persons] = (int64_t)total;
	r->n_events = total;
	ok = true;
out:
	free(start);
	free(idx);
	free(tmp);
	return ok;
}

bool store_seq(struct store *s, const struct store_query *q, struct db_seq_rows *r)
{
	struct qctx c = { 0 };
	bool ok = false;

	memset(r, 0, sizeof(*r));
	pthread_rwlock_rdlock(&s->lock);
	if (!s->loaded || s->over)
		goto out;
	c.p = store_proj_get(s, q->project_id, false);
	if (!c.p) {
		/* No events for this project: an empty, valid answer. */
		ok = alloc_rows(r, 0, 0, q->n_excl > 0);
		if (ok)
			r->person_off[0] = 0;
		goto out;
	}
	c.mask = calloc((size_t)c.p->n_events + 1, sizeof(*c.mask));
	c.xmask = calloc((size_t)c.p->n_events + 1, sizeof(*c.xmask));
	if (!c.mask || !c.xmask || !store_eff_build(c.p, q->ov_old, q->ov_new, q->n_ov, &c.e))
		goto out;
	store_name_masks(c.p, q->steps, q->n_steps, c.mask);
	store_name_masks(c.p, q->excl, q->n_excl, c.xmask);
	ok = gather(&c, q, r);
out:
	pthread_rwlock_unlock(&s->lock);
	free(c.mask);
	free(c.xmask);
	store_eff_free(&c.e);
	if (!ok)
		db_seq_rows_free(r);
	return ok;
}
