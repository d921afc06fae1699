/*
 * identity.h - identity resolution rules (pure: no database).
 *
 * Given the messages of one group commit in arrival order and the persons the
 * database already knows for their distinct ids, decide each message's person
 * and what must be written: new distinct ids, new persons, person merges.
 * The rules (docs/identity.md):
 *
 *  1. A message belongs to the person of its userId, else its anonymousId.
 *     An id seen for the first time gets a new person.
 *  2. A link (identify carrying userId + anonymousId, or alias with userId +
 *     previousId) joins the two ids:
 *       - neither known: one new person for both;
 *       - one known: the other id joins that person, so the anonymous
 *         history already carries the right person (retroactive for free);
 *       - both known, different persons: the person of the other id (the
 *         anonymous/previous one) merges into the userId's person. A merge is
 *         an override old -> surviving; stored rows are never rewritten.
 *  3. Distinct ids keep the person they were first given forever (the raw
 *     person); queries map raw persons through the overrides. Because the raw
 *     person of an id never changes, a retried message always lands on the
 *     same (project, person, messageId) key and deduplicates.
 */
#ifndef IDENTITY_H
#define IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

struct ident_msg {
	const char *user_id;      /* may be NULL */
	const char *other_id;     /* anonymousId, or previousId for alias; may be NULL */
	bool link;                /* identify/alias: join user_id and other_id */
};

struct ident_known {
	const char *distinct_id;
	int64_t person_id;        /* raw person of the id */
	int64_t effective_id;     /* after existing overrides */
};

struct ident_new_id {
	const char *distinct_id;  /* borrowed from the input messages */
	int64_t person_id;        /* may be a placeholder (< 0) until renumbered */
};

struct ident_merge {
	int64_t old_person;       /* effective person that disappears */
	int64_t person;           /* surviving effective person */
};

struct ident_result {
	int64_t *person_of_msg;   /* raw person per message (placeholder < 0 when new) */
	struct ident_new_id *new_ids;
	int n_new_ids;
	struct ident_merge *merges;
	int n_merges;
	int n_new_persons;        /* placeholders are -1 .. -n_new_persons */
	int n_msgs;
};

/* Resolve n messages. Known ids must be unique. Returns false on allocation
 * failure (out is then empty). A message with neither id gets person 0. */
bool ident_resolve(const struct ident_msg *msgs, int n, const struct ident_known *known,
		   int n_known, struct ident_result *out);
/* Replace placeholder -k by new_ids_for[k-1] everywhere in the result. */
void ident_renumber(struct ident_result *res, const int64_t *new_ids_for);
void ident_result_free(struct ident_result *res);

#endif
