/*
 * store_internal.h - the store's data layout, shared by store.c (adding),
 * store_query.c (reading) and store_sync.c (the sync thread) only.
 */
#ifndef STORE_INTERNAL_H
#define STORE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/store.h"

/* One event name's events, in arrival order, as parallel columns. A query
 * reads only the names it selects, front to back: sequential memory, not
 * an index list into shared columns (each lookup of which was a cache
 * miss). seq is the event's arrival number in the project: it orders
 * events with equal (ts, received_at) as message_id does, rows being added
 * in that order. Arrays grow by realloc (mremap for large ones: no copy,
 * and pages past n are never touched). */
struct part {
	int64_t *ts;
	int64_t *recv;
	int32_t *person;
	uint32_t *seq;
	size_t n, cap;
};

struct proj {
	int64_t project_id;
	size_t n;                 /* events (all names); the next seq */
	/* raw person id -> dense id */
	int64_t *pkeys;
	int32_t *pvals;
	size_t pcap;
	int64_t *praw;            /* dense -> raw */
	size_t n_persons, praw_cap;
	/* event name -> dense id */
	char **enames;            /* dense -> name (owned) */
	int32_t *eslots;          /* hash slots holding dense ids, -1 = empty */
	size_t ecap;
	int32_t n_events;
	size_t enames_cap;
	struct part *parts;       /* enames_cap entries, one per event name */
};

struct recent {                /* 64-bit keys of recently added events */
	uint64_t *keys;            /* 0 = empty */
	int64_t *recv;
	size_t cap, count;
};

struct store {
	pthread_rwlock_t lock;
	struct proj **projs;
	size_t n_projs;
	int64_t max_events, total, hwm;
	int64_t poll_floor;        /* `since` of the latest poll (INT64_MAX: none) */
	bool over, loaded;
	int margin_s;
	int32_t node;              /* this process's ingest_node (random) */
	struct recent rec;
	/* sync thread */
	pthread_t thread;
	bool running, stopping;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *conninfo;
	int stmt_timeout;
};

/* Project by id (created when `create`, else NULL when absent). */
struct proj *store_proj_get(struct store *s, int64_t project_id, bool create);
/* Dense person / event ids; -1 when absent and !create, or on OOM. */
int32_t store_person_id(struct proj *p, int64_t raw, bool create);
int32_t store_event_id(struct proj *p, const char *name, bool create);

/* Stitched person of every dense person of a project, overrides applied:
 * of[dense] = dense stitched id; raw[stitched] = its raw person id. A
 * target person with no events of its own gets an extra id >= n_persons. */
struct store_eff {
	int32_t *of;
	int64_t *raw;
	size_t n;                  /* stitched ids in use */
};

bool store_eff_build(const struct proj *p, const int64_t *ov_old, const int64_t *ov_new,
		     size_t n_ov, struct store_eff *out);
void store_eff_free(struct store_eff *e);
/* out[event id] |= 1 << k for each names[k] the project has ("$any": all). */
void store_name_masks(const struct proj *p, const char *const *names, int n, uint32_t *out);

#endif
