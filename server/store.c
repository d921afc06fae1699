/*
 * store.c - see store.h. Layout (store_internal.h): per project and event
 * name, parallel columns in arrival order; persons and event names interned
 * to dense int32 ids; one open-addressing set of recent event keys shared
 * by all projects.
 */
#include "server/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/db_events.h"
#include "server/store_internal.h"

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static uint64_t row_key(const struct store_row *r)
{
	uint64_t k = mix64(hash_str(r->message_id) ^ mix64((uint64_t)r->person_id) ^
			   mix64((uint64_t)r->project_id * 0x9E3779B97F4A7C15ULL));
	return k ? k : 1;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* --- recent keys --- */

static bool recent_rebuild(struct recent *r, size_t cap, int64_t keep_after)
{
	uint64_t *keys = calloc(cap, sizeof(*keys));
	int64_t *recv = calloc(cap, sizeof(*recv));
	size_t count = 0;

	if (!keys || !recv) {
		free(keys);
		free(recv);
		return false;
	}
	for (size_t i = 0; i < r->cap; i++) {
		size_t j;
		if (!r->keys[i] || r->recv[i] < keep_after)
			continue;
		j = r->keys[i] & (cap - 1);
		while (keys[j])
			j = (j + 1) & (cap - 1);
		keys[j] = r->keys[i];
		recv[j] = r->recv[i];
		count++;
	}
	free(r->keys);
	free(r->recv);
	r->keys = keys;
	r->recv = recv;
	r->cap = cap;
	r->count = count;
	return true;
}

/* Insert key; false when it was already there (or on allocation failure,
 * which the caller treats as "already there" only for the set, not data). */
static bool recent_insert(struct recent *r, uint64_t key, int64_t recv, int64_t keep_after,
			  bool *oom)
{
	size_t i;

	if ((r->count + 1) * 2 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		/* Drop expired keys first; grow only if still half full. */
		if (!recent_rebuild(r, cap, keep_after) ||
		    ((r->count + 1) * 2 > r->cap && !recent_rebuild(r, r->cap * 2, keep_after))) {
			*oom = true;
			return true;
		}
	}
	i = key & (r->cap - 1);
	while (r->keys[i]) {
		if (r->keys[i] == key)
			return false;
		i = (i + 1) & (r->cap - 1);
	}
	r->keys[i] = key;
	r->recv[i] = recv;
	r->count++;
	return true;
}

/* --- projects, persons, event names --- */

struct proj *store_proj_get(struct store *s, int64_t project_id, bool create)
{
	struct proj **np, *p;

	for (size_t i = 0; i < s->n_projs; i++)
		if (s->projs[i]->project_id == project_id)
			return s->projs[i];
	if (!create)
		return NULL;
	np = realloc(s->projs, (s->n_projs + 1) * sizeof(*np));
	if (!np)
		return NULL;
	s->projs = np;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->project_id = project_id;
	s->projs[s->n_projs++] = p;
	return p;
}

static bool person_grow(struct proj *p)
{
	size_t cap = p->pcap ? p->pcap * 2 : 1024;
	int64_t *keys = malloc(cap * sizeof(*keys));
	int32_t *vals = malloc(cap * sizeof(*vals));

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return false;
	}
	for (size_t i = 0; i < cap; i++)
		vals[i] = -1;
	for (size_t i = 0; i < p->pcap; i++) {
		size_t j;
		if (p->pvals[i] < 0)
			continue;
		j = mix64((uint64_t)p->pkeys[i]) & (cap - 1);
		while (vals[j] >= 0)
			j = (j + 1) & (cap - 1);
		keys[j] = p->pkeys[i];
		vals[j] = p->pvals[i];
	}
	free(p->pkeys);
	free(p->pvals);
	p->pkeys = keys;
	p->pvals = vals;
	p->pcap = cap;
	return true;
}

/* Dense id of a raw person; -1 when absent and !create (or on OOM). */
int32_t store_person_id(struct proj *p, int64_t raw, bool create)
{
	size_t i;

	if (p->pcap && create && (p->n_persons + 1) * 2 > p->pcap && !person_grow(p))
		return -1;
	if (!p->pcap && (!create || !person_grow(p)))
		return -1;
	i = mix64((uint64_t)raw) & (p->pcap - 1);
	while (p->pvals[i] >= 0) {
		if (p->pkeys[i] == raw)
			return p->pvals[i];
		i = (i + 1) & (p->pcap - 1);
	}
	if (!create)
		return -1;
	if (p->n_persons == p->praw_cap) {
		size_t cap = p->praw_cap ? p->praw_cap * 2 : 1024;
		int64_t *r = realloc(p->praw, cap * sizeof(*r));
		if (!r)
			return -1;
		p->praw = r;
		p->praw_cap = cap;
	}
	p->pkeys[i] = raw;
	p->pvals[i] = (int32_t)p->n_persons;
	p->praw[p->n_persons] = raw;
	return (int32_t)p->n_persons++;
}

static bool ename_grow(struct proj *p)
{
	size_t cap = p->ecap ? p->ecap * 2 : 64;
	int32_t *slots = malloc(cap * sizeof(*slots));

	if (!slots)
		return false;
	for (size_t i = 0; i < cap; i++)
		slots[i] = -1;
	for (int32_t e = 0; e < p->n_events; e++) {
		size_t j = hash_str(p->enames[e]) & (cap - 1);
		while (slots[j] >= 0)
			j = (j + 1) & (cap - 1);
		slots[j] = e;
	}
	free(p->eslots);
	p->eslots = slots;
	p->ecap = cap;
	return true;
}

int32_t store_event_id(struct proj *p, const char *name, bool create)
{
	size_t i;

	if (create && ((size_t)p->n_events + 1) * 2 > p->ecap && !ename_grow(p))
		return -1;
	if (!p->ecap)
		return -1;
	i = hash_str(name) & (p->ecap - 1);
	while (p->eslots[i] >= 0) {
		if (strcmp(p->enames[p->eslots[i]], name) == 0)
			return p->eslots[i];
		i = (i + 1) & (p->ecap - 1);
	}
	if (!create)
		return -1;
	if ((size_t)p->n_events == p->enames_cap) {
		size_t cap = p->enames_cap ? p->enames_cap * 2 : 64;
		char **n = realloc(p->enames, cap * sizeof(*n));
		struct part *ps;
		if (!n)
			return -1;
		p->enames = n;
		ps = realloc(p->parts, cap * sizeof(*ps));
		if (!ps)
			return -1;
		memset(ps + p->enames_cap, 0, (cap - p->enames_cap) * sizeof(*ps));
		p->parts = ps;
		p->enames_cap = cap;
	}
	p->enames[p->n_events] = strdup(name);
	if (!p->enames[p->n_events])
		return -1;
	p->eslots[i] = p->n_events;
	return p->n_events++;
}

static bool part_grow(struct part *pt)
{
	size_t cap = pt->cap ? pt->cap * 2 : 16; /* many names may be rare */
	int64_t *ts = realloc(pt->ts, cap * sizeof(*ts));
	if (ts)
		pt->ts = ts;
	int64_t *recv = realloc(pt->recv, cap * sizeof(*recv));
	if (recv)
		pt->recv = recv;
	int32_t *person = realloc(pt->person, cap * sizeof(*person));
	if (person)
		pt->person = person;
	uint32_t *seq = realloc(pt->seq, cap * sizeof(*seq));
	if (seq)
		pt->seq = seq;
	if (!ts || !recv || !person || !seq)
		return false;
	pt->cap = cap;
	return true;
}

static bool proj_append(struct proj *p, int32_t person, int32_t ev, int64_t ts, int64_t recv)
{
	struct part *pt = &p->parts[ev];

	if (p->n >= UINT32_MAX || (pt->n == pt->cap && !part_grow(pt)))
		return false;
	pt->ts[pt->n] = ts;
	pt->recv[pt->n] = recv;
	pt->person[pt->n] = person;
	pt->seq[pt->n] = (uint32_t)p->n++;
	pt->n++;
	return true;
}

static void proj_free(struct proj *p)
{
	for (int32_t e = 0; e < p->n_events; e++) {
		free(p->enames[e]);
		free(p->parts[e].ts);
		free(p->parts[e].recv);
		free(p->parts[e].person);
		free(p->parts[e].seq);
	}
	free(p->parts);
	free(p->pkeys);
	free(p->pvals);
	free(p->praw);
	free(p->enames);
	free(p->eslots);
	free(p);
}

/* --- stitching and name selection, shared by the query files --- */

void store_name_masks(const struct proj *p, const char *const *names, int n, uint32_t *out)
{
	for (int k = 0; k < n; k++) {
		if (strcmp(names[k], "$any") == 0) {
			for (int32_t e = 0; e < p->n_events; e++)
				out[e] |= 1u << k;
			continue;
		}
		int32_t e = store_event_id((struct proj *)p, names[k], false);
		if (e >= 0)
			out[e] |= 1u << k;
	}
}

bool store_eff_build(const struct proj *p, const int64_t *ov_old, const int64_t *ov_new,
		     size_t n_ov, struct store_eff *e)
{
	size_t n = p->n_persons;

	e->of = malloc((n + 1) * sizeof(*e->of));
	e->raw = malloc((n + n_ov + 1) * sizeof(*e->raw));
	if (!e->of || !e->raw) {
		store_eff_free(e);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		e->of[i] = (int32_t)i;
		e->raw[i] = p->praw[i];
	}
	e->n = n;
	for (size_t k = 0; k < n_ov; k++) {
		int32_t from = store_person_id((struct proj *)p, ov_old[k], false), to;
		if (from < 0)
			continue;
		to = store_person_id((struct proj *)p, ov_new[k], false);
		if (to < 0) {
			/* Look for an extra id already made for this target. */
			for (size_t j = n; j < e->n && to < 0; j++)
				if (e->raw[j] == ov_new[k])
					to = (int32_t)j;
			if (to < 0) {
				to = (int32_t)e->n;
				e->raw[e->n++] = ov_new[k];
			}
		}
		e->of[from] = to;
	}
	return true;
}

void store_eff_free(struct store_eff *e)
{
	free(e->of);
	free(e->raw);
	e->of = NULL;
	e->raw = NULL;
	e->n = 0;
}

/* Over budget or out of memory: give up the copy; queries fall back. */
static void store_disable(struct store *s)
{
	for (size_t i = 0; i < s->n_projs; i++)
		proj_free(s->projs[i]);
	free(s->projs);
	s->projs = NULL;
	s->n_projs = 0;
	s->over = true;
}

void store_add(struct store *s, const struct store_row *rows, size_t n)
{
	int64_t window = 2LL * s->margin_s * 1000000, keep_after;
	bool oom = false;

	pthread_rwlock_wrlock(&s->lock);
	for (size_t i = 0; i < n && !s->over; i++) {
		const struct store_row *r = &rows[i];
		struct proj *p;
		int32_t person, ev;

		if (r->recv_us > s->hwm)
			s->hwm = r->recv_us;
		/* The poll re-reads rows received since hwm - margin, so every row
		 * within 2 margins of the newest row seen keeps its key. Relative to
		 * hwm, not the clock: rows bulk-loaded with an old received_at are
		 * re-read by every poll and must still be recognised. */
		keep_after = s->hwm - window;
		/* ...and every row the poll in flight may still bring: its `since`
		 * was taken before this batch moved hwm (regression: a poll that
		 * read old rows while the writer appended new ones added them all
		 * again, their keys dropped as too old). */
		if (s->poll_floor < keep_after)
			keep_after = s->poll_floor;
		if (r->recv_us >= keep_after && !recent_insert(&s->rec, row_key(r), r->recv_us,
							       keep_after, &oom))
			continue;
		p = store_proj_get(s, r->project_id, true);
		if (oom || !p || (person = store_person_id(p, r->person_id, true)) < 0 ||
		    (ev = store_event_id(p, r->event, true)) < 0 ||
		    !proj_append(p, person, ev, r->ts_us, r->recv_us) || ++s->total > s->max_events)
			store_disable(s);
	}
	pthread_rwlock_unlock(&s->lock);
}

bool store_ready(struct store *s)
{
	bool ok;
	pthread_rwlock_rdlock(&s->lock);
	ok = s->loaded && !s->over;
	pthread_rwlock_unlock(&s->lock);
	return ok;
}

int64_t store_events(struct store *s)
{
	int64_t n;
	pthread_rwlock_rdlock(&s->lock);
	n = s->total;
	pthread_rwlock_unlock(&s->lock);
	return n;
}

int64_t store_poll_since(struct store *s)
{
	int64_t since;
	pthread_rwlock_wrlock(&s->lock);
	since = s->hwm - (int64_t)s->margin_s * 1000000;
	s->poll_floor = since;
	pthread_rwlock_unlock(&s->lock);
	return since;
}

void store_mark_loaded(struct store *s)
{
	pthread_rwlock_wrlock(&s->lock);
	s->loaded = true;
	pthread_rwlock_unlock(&s->lock);
}

int store_margin_s(const struct store *s)
{
	return s->margin_s;
}

int32_t store_node(const struct store *s)
{
	return s->node;
}

struct store *store_new(int64_t max_events, int margin_s)
{
	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->max_events = max_events;
	s->margin_s = margin_s > 0 ? margin_s : 15;
	s->poll_floor = INT64_MAX;
	/* Any value but one shared with another live process works; 31 random
	 * bits from the clock and address make a clash vanishingly unlikely. */
	s->node = (int32_t)(mix64((uint64_t)now_us() ^ (uint64_t)(uintptr_t)s) & 0x7fffffff);
	pthread_rwlock_init(&s->lock, NULL);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	return s;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	store_stop(s);
	for (size_t i = 0; i < s->n_projs; i++)
		proj_free(s->projs[i]);
	free(s->projs);
	free(s->rec.keys);
	free(s->rec.recv);
	free(s->conninfo);
	pthread_rwlock_destroy(&s->lock);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}
