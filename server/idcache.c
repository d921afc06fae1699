#include "server/idcache.h"

#include <stdlib.h>
#include <string.h>

struct entry {
	char *id;          /* NULL = empty */
	int64_t project_id;
	int64_t person;
};

struct idcache {
	struct entry *slots;
	size_t cap, count, max;
};

static size_t hash(int64_t project_id, const char *s)
{
	size_t h = 1469598103934665603ULL ^ (size_t)project_id;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h ^ (h >> 29);
}

struct idcache *idcache_new(size_t max)
{
	struct idcache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->max = max ? max : 1;
	return c;
}

void idcache_clear(struct idcache *c)
{
	for (size_t i = 0; i < c->cap; i++)
		free(c->slots[i].id);
	free(c->slots);
	c->slots = NULL;
	c->cap = c->count = 0;
}

void idcache_free(struct idcache *c)
{
	if (!c)
		return;
	idcache_clear(c);
	free(c);
}

bool idcache_get(const struct idcache *c, int64_t project_id, const char *id, int64_t *person)
{
	size_t i;

	if (!c || !c->cap)
		return false;
	i = hash(project_id, id) & (c->cap - 1);
	while (c->slots[i].id) {
		if (c->slots[i].project_id == project_id && strcmp(c->slots[i].id, id) == 0) {
			*person = c->slots[i].person;
			return true;
		}
		i = (i + 1) & (c->cap - 1);
	}
	return false;
}

static bool grow(struct idcache *c)
{
	size_t cap = c->cap ? c->cap * 2 : 1024;
	struct entry *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return false;
	for (size_t i = 0; i < c->cap; i++) {
		size_t j;
		if (!c->slots[i].id)
			continue;
		j = hash(c->slots[i].project_id, c->slots[i].id) & (cap - 1);
		while (slots[j].id)
			j = (j + 1) & (cap - 1);
		slots[j] = c->slots[i];
	}
	free(c->slots);
	c->slots = slots;
	c->cap = cap;
	return true;
}

void idcache_put(struct idcache *c, int64_t project_id, const char *id, int64_t person)
{
	size_t i;

	if (!c || person <= 0)
		return;
	if (c->count >= c->max)
		idcache_clear(c);
	if ((c->count + 1) * 2 > c->cap && !grow(c))
		return;
	i = hash(project_id, id) & (c->cap - 1);
	while (c->slots[i].id) {
		if (c->slots[i].project_id == project_id && strcmp(c->slots[i].id, id) == 0)
			return; /* raw persons never change */
		i = (i + 1) & (c->cap - 1);
	}
	c->slots[i].id = strdup(id);
	if (!c->slots[i].id)
		return;
	c->slots[i].project_id = project_id;
	c->slots[i].person = person;
	c->count++;
}
