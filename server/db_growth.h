/*
 * db_growth.h - acquisition channels and referrals, aggregated in
 * PostgreSQL for /v1/channels and /v1/kfactor (rules: docs/api.md
 * "Analytics").
 *
 *     struct db_channel *rows; size_t n;
 *     db_channels(db, &spec, &rows, &n, &err);   ... free(rows)
 *     struct db_referrals ref;
 *     db_referrals(db, &kspec, &ref, &err);      ... db_referrals_free(&ref)
 */
#ifndef DB_GROWTH_H
#define DB_GROWTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/err.h"

struct db;

struct db_channel_spec {
	int64_t project_id;
	int64_t from_us, to_us;       /* persons whose first event ever is in [from, to) */
	const char *activation;       /* PostgreSQL text[] literal of activation event names */
	const char *currency;         /* reporting currency */
	/* The stitched persons first seen in [from, to), when the caller knows
	 * them (the in-memory store); NULL: PostgreSQL finds them itself. */
	const int64_t *members;
	size_t n_members;
};

struct db_channel {
	char source[256];             /* campaign source, referrer host, or "direct" */
	char medium[256];             /* campaign medium, "referral", or "" (none) */
	int64_t reached, activated, paying, paid_orders, missing_fx;
	int64_t revenue_minor;        /* net, reporting currency */
};

/* One row per (source, medium), most persons reached first. *rows is
 * malloc'd (caller frees). */
bool db_channels(struct db *db, const struct db_channel_spec *spec, struct db_channel **rows,
		 size_t *n, struct app_err *err) MUST_CHECK;

struct db_referral_spec {
	int64_t project_id;
	int64_t from_us, to_us;       /* members: first signup event ever in [from, to) */
	const char *signup_event;
	const char *referrer_path;    /* properties.* / context.* holding the referrer's distinct id */
	const char *invite_event;     /* NULL: invites not tracked */
};

/* Members ordered by person id; member i's referee signups are
 * signup_us[ref_off[i] .. ref_off[i + 1]). */
struct db_referrals {
	size_t n;
	int64_t *person_id, *start_us;
	uint64_t *invites;
	int64_t *ref_off;             /* n + 1 */
	int64_t *signup_us;
	size_t n_signups;
};

bool db_referrals(struct db *db, const struct db_referral_spec *spec, struct db_referrals *out,
		  struct app_err *err) MUST_CHECK;
void db_referrals_free(struct db_referrals *r);

#endif
