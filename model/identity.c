/*
 * identity.c - see identity.h for the rules. A small open-addressing map from
 * distinct id to raw person, plus a map from person to effective person that
 * merges update, both sized for one group commit (thousands of ids).
 */
#include "model/identity.h"

#include <stdlib.h>
#include <string.h>

struct smap {             /* distinct id -> raw person */
	const char **keys;
	int64_t *vals;
	size_t cap;
};

struct pmap {             /* raw or effective person -> effective person */
	int64_t *keys;
	int64_t *vals;
	size_t cap;
	bool *used;
};

static size_t hash_str(const char *s)
{
	size_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static size_t hash_int(int64_t v)
{
	uint64_t x = (uint64_t)v * 0x9E3779B97F4A7C15ULL;
	return (size_t)(x ^ (x >> 29));
}

static int64_t *smap_slot(struct smap *m, const char *k, bool *found)
{
	size_t i = hash_str(k) & (m->cap - 1);
	while (m->keys[i] && strcmp(m->keys[i], k) != 0)
		i = (i + 1) & (m->cap - 1);
	*found = m->keys[i] != NULL;
	m->keys[i] = k;
	return &m->vals[i];
}

static int64_t *smap_get(const struct smap *m, const char *k)
{
	size_t i = hash_str(k) & (m->cap - 1);
	while (m->keys[i]) {
		if (strcmp(m->keys[i], k) == 0)
			return &m->vals[i];
		i = (i + 1) & (m->cap - 1);
	}
	return NULL;
}

static int64_t *pmap_slot(struct pmap *m, int64_t k)
{
	size_t i = hash_int(k) & (m->cap - 1);
	while (m->used[i] && m->keys[i] != k)
		i = (i + 1) & (m->cap - 1);
	if (!m->used[i]) {
		m->used[i] = true;
		m->keys[i] = k;
		m->vals[i] = k; /* a person is its own effective person until merged */
	}
	return &m->vals[i];
}

static int64_t effective(struct pmap *m, int64_t p)
{
	return *pmap_slot(m, p);
}

/* Every person whose effective person is `from` now resolves to `to`. */
static void pmap_redirect(struct pmap *m, int64_t from, int64_t to)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->used[i] && m->vals[i] == from)
			m->vals[i] = to;
}

static size_t pow2_at_least(size_t n)
{
	size_t c = 16;
	while (c < n)
		c <<= 1;
	return c;
}

static void add_new_id(struct ident_result *r, const char *id, int64_t person)
{
	r->new_ids[r->n_new_ids].distinct_id = id;
	r->new_ids[r->n_new_ids].person_id = person;
	r->n_new_ids++;
}

/* Person of `id`, creating a new person (placeholder) on first sight. */
static int64_t person_of(struct smap *ids, struct ident_result *r, const char *id)
{
	bool found;
	int64_t *v = smap_slot(ids, id, &found);
	if (!found) {
		*v = -(int64_t)(++r->n_new_persons);
		add_new_id(r, id, *v);
	}
	return *v;
}

static void link_ids(struct smap *ids, struct pmap *eff, struct ident_result *r, const char *user,
		     const char *other)
{
	int64_t *pu = smap_get(ids, user), *po = smap_get(ids, other);
	bool found;

	if (!pu && !po) {
		int64_t p = person_of(ids, r, user);
		*smap_slot(ids, other, &found) = p;
		add_new_id(r, other, p);
	} else if (!pu) {
		int64_t p = *po;
		*smap_slot(ids, user, &found) = p;
		add_new_id(r, user, p);
	} else if (!po) {
		int64_t p = *pu;
		*smap_slot(ids, other, &found) = p;
		add_new_id(r, other, p);
	} else {
		int64_t eu = effective(eff, *pu), eo = effective(eff, *po);
		if (eu != eo) {
			r->merges[r->n_merges].old_person = eo;
			r->merges[r->n_merges].person = eu;
			r->n_merges++;
			pmap_redirect(eff, eo, eu);
		}
	}
}

bool ident_resolve(const struct ident_msg *msgs, int n, const struct ident_known *known,
		   int n_known, struct ident_result *out)
{
	size_t ncap = pow2_at_least(2 * (size_t)(2 * n + n_known) + 1);
	struct smap ids = { 0 };
	struct pmap eff = { 0 };
	bool ok = false;

	memset(out, 0, sizeof(*out));
	ids.cap = eff.cap = ncap;
	ids.keys = calloc(ncap, sizeof(*ids.keys));
	ids.vals = calloc(ncap, sizeof(*ids.vals));
	eff.keys = calloc(ncap, sizeof(*eff.keys));
	eff.vals = calloc(ncap, sizeof(*eff.vals));
	eff.used = calloc(ncap, sizeof(*eff.used));
	out->person_of_msg = calloc((size_t)n + 1, sizeof(*out->person_of_msg));
	out->new_ids = calloc(2 * (size_t)n + 1, sizeof(*out->new_ids));
	out->merges = calloc((size_t)n + 1, sizeof(*out->merges));
	if (!ids.keys || !ids.vals || !eff.keys || !eff.vals || !eff.used || !out->person_of_msg ||
	    !out->new_ids || !out->merges)
		goto done;

	for (int i = 0; i < n_known; i++) {
		bool found;
		*smap_slot(&ids, known[i].distinct_id, &found) = known[i].person_id;
		*pmap_slot(&eff, known[i].person_id) = known[i].effective_id;
	}
	for (int i = 0; i < n; i++) {
		const struct ident_msg *m = &msgs[i];
		bool has_u = m->user_id && *m->user_id, has_o = m->other_id && *m->other_id;

		if (m->link && has_u && has_o && strcmp(m->user_id, m->other_id) != 0)
			link_ids(&ids, &eff, out, m->user_id, m->other_id);
		if (has_u)
			out->person_of_msg[i] = person_of(&ids, out, m->user_id);
		else if (has_o)
			out->person_of_msg[i] = person_of(&ids, out, m->other_id);
	}
	out->n_msgs = n;
	ok = true;
done:
	free(ids.keys);
	free(ids.vals);
	free(eff.keys);
	free(eff.vals);
	free(eff.used);
	if (!ok)
		ident_result_free(out);
	return ok;
}

static int64_t renum(int64_t p, const int64_t *map)
{
	return p < 0 ? map[-p - 1] : p;
}

void ident_renumber(struct ident_result *r, const int64_t *map)
{
	for (int i = 0; i < r->n_msgs; i++)
		r->person_of_msg[i] = renum(r->person_of_msg[i], map);
	for (int i = 0; i < r->n_new_ids; i++)
		r->new_ids[i].person_id = renum(r->new_ids[i].person_id, map);
	for (int i = 0; i < r->n_merges; i++) {
		r->merges[i].old_person = renum(r->merges[i].old_person, map);
		r->merges[i].person = renum(r->merges[i].person, map);
	}
}

void ident_result_free(struct ident_result *r)
{
	free(r->person_of_msg);
	free(r->new_ids);
	free(r->merges);
	memset(r, 0, sizeof(*r));
}
