/*
 * store_query.c - per-person event sequences from the in-memory store,
 * identical to what db_seq_fetch streams from PostgreSQL: events in
 * [from, until) matching a selector (or all), grouped by stitched person,
 * sorted by (ts, received_at, arrival) - arrival order equals message_id
 * order for equal (ts, received_at), as rows are added in that order.
 *
 * Cost: two sequential passes over the selected names' columns (count per
 * person, then place a compact record of each event in its person's slot),
 * a per-person sort of those records (insertion sort: rows of one name
 * arrive nearly in order; merge sort for long runs), and a copy out.
 */
#include <stdlib.h>
#include <string.h>

#include "server/db_events.h"
#include "server/store_internal.h"

struct qctx {
	const struct proj *p;
	uint32_t *mask, *xmask;    /* per event-name id */
	struct store_eff e;
};

/* One event as the sort needs it: local, so sorting touches no columns. */
struct rec {
	int64_t ts, recv;
	uint32_t seq;
	int32_t ev;
};

static inline bool later(const struct rec *a, const struct rec *b)
{
	if (a->ts != b->ts)
		return a->ts > b->ts;
	if (a->recv != b->recv)
		return a->recv > b->recv;
	return a->seq > b->seq;
}

/* Stable merge of sorted runs a[0..na) and b[0..nb) into out. */
static void merge(const struct rec *a, size_t na, const struct rec *b, size_t nb, struct rec *out)
{
	size_t i = 0, j = 0, k = 0;

	while (i < na && j < nb)
		out[k++] = later(&a[i], &b[j]) ? b[j++] : a[i++];
	while (i < na)
		out[k++] = a[i++];
	while (j < nb)
		out[k++] = b[j++];
}

static void insertion_sort(struct rec *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct rec x = v[i];
		size_t j = i;
		while (j > 0 && later(&v[j - 1], &x)) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/* Sort one person's events by (ts, received_at, seq). Insertion sort for
 * short runs; bottom-up merge sort otherwise (runs of several names
 * interleave, and a person may have 10^4 events). */
static void sort_person(struct rec *v, size_t n, struct rec *tmp)
{
	struct rec *src = v, *dst = tmp;

	if (n <= 32) {
		insertion_sort(v, n);
		return;
	}
	for (size_t i = 0; i < n; i += 32)
		insertion_sort(v + i, n - i < 32 ? n - i : 32);
	for (size_t width = 32; width < n; width *= 2) {
		for (size_t i = 0; i < n; i += 2 * width) {
			size_t mid = i + width < n ? i + width : n;
			size_t end = i + 2 * width < n ? i + 2 * width : n;
			merge(src + i, mid - i, src + mid, end - mid, dst + i);
		}
		struct rec *t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
}

/* Rows without ts when with_ts is false (gather writes ts over its records). */
static bool alloc_rows(struct db_seq_rows *r, size_t persons, size_t events, bool excl,
		       bool with_ts)
{
	r->person_off = malloc((persons + 1) * sizeof(*r->person_off));
	r->person_id = malloc((persons + 1) * sizeof(*r->person_id));
	r->ts = with_ts ? malloc((events + 1) * sizeof(*r->ts)) : NULL;
	r->mask = malloc((events + 1) * sizeof(*r->mask));
	r->excl_mask = excl ? malloc((events + 1) * sizeof(*r->excl_mask)) : NULL;
	return r->person_off && r->person_id && (r->ts || !with_ts) && r->mask &&
	       (!excl || r->excl_mask);
}

static bool part_wanted(const struct qctx *c, const struct store_query *q, int32_t e)
{
	return q->all_events || c->mask[e] || c->xmask[e];
}

/* Count the events in range per stitched person (start[k + 1]). */
static size_t count(const struct qctx *c, const struct store_query *q, size_t *start)
{
	size_t total = 0;

	for (int32_t e = 0; e < c->p->n_events; e++) {
		const struct part *pt = &c->p->parts[e];
		if (!part_wanted(c, q, e))
			continue;
		for (size_t j = 0; j < pt->n; j++)
			if (pt->ts[j] >= q->from_us && pt->ts[j] < q->until_us) {
				start[c->e.of[pt->person[j]] + 1]++;
				total++;
			}
	}
	return total;
}

/* Put each event in range in its person's slot (start[k] advances to the
 * end of person k's slots). */
static void place(const struct qctx *c, const struct store_query *q, size_t *start,
		  struct rec *out)
{
	for (int32_t e = 0; e < c->p->n_events; e++) {
		const struct part *pt = &c->p->parts[e];
		if (!part_wanted(c, q, e))
			continue;
		for (size_t j = 0; j < pt->n; j++) {
			int64_t ts = pt->ts[j];
			if (ts < q->from_us || ts >= q->until_us)
				continue;
			out[start[c->e.of[pt->person[j]]]++] =
				(struct rec){ .ts = ts, .recv = pt->recv[j], .seq = pt->seq[j], .ev = e };
		}
	}
}

/*
 * Count, place, sort, copy out. Called under the read lock. The output
 * timestamps are written over the records as they are consumed (8 bytes at
 * 8i never reach record i's 24 bytes at 24i, nor any later record), so the
 * records' buffer becomes r->ts: the peak is the records, not both.
 */
static bool gather(struct qctx *c, const struct store_query *q, struct db_seq_rows *r)
{
	size_t *start = calloc(c->e.n + 1, sizeof(*start));
	struct rec *recs = NULL, *tmp = NULL;
	int64_t *ts_out;
	size_t total, np = 0, longest = 0;
	bool ok = false;

	if (!start)
		return false;
	total = count(c, q, start);
	for (size_t k = 0; k < c->e.n; k++) {
		np += start[k + 1] > 0;
		if (start[k + 1] > longest)
			longest = start[k + 1];
		start[k + 1] += start[k];
	}
	recs = malloc((total + 1) * sizeof(*recs));
	tmp = malloc((longest + 1) * sizeof(*tmp));
	if (!recs || !tmp || !alloc_rows(r, np, total, q->n_excl > 0, false))
		goto out;
	place(c, q, start, recs);
	ts_out = (int64_t *)(void *)recs;
	/* start[k] now holds the end of person k; walk persons in dense order. */
	for (size_t k = 0, at = 0; k < c->e.n; k++) {
		size_t end = start[k];
		if (end == at)
			continue;
		sort_person(recs + at, end - at, tmp);
		r->person_off[r->n_persons] = (int64_t)at;
		r->person_id[r->n_persons++] = c->e.raw[k];
		for (size_t i = at; i < end; i++) {
			int32_t ev = recs[i].ev;
			ts_out[i] = recs[i].ts;
			r->mask[i] = c->mask[ev];
			if (r->excl_mask)
				r->excl_mask[i] = c->xmask[ev];
		}
		at = end;
	}
	r->person_off[r->n_persons] = (int64_t)total;
	r->n_events = total;
	r->ts = realloc(recs, (total + 1) * sizeof(*r->ts));
	if (!r->ts)
		r->ts = ts_out; /* shrinking failed: keep the larger block */
	recs = NULL;
	ok = true;
out:
	free(start);
	free(recs);
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
		ok = alloc_rows(r, 0, 0, q->n_excl > 0, true);
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
