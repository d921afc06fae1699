#ifndef FUNNEL_MODES_H
#define FUNNEL_MODES_H

/*
 * Strict and unordered funnel evaluation for one person, called by
 * funnel_person_pick (model/funnel_engine.h). Internal to the funnel module.
 */

#include "model/funnel_engine.h"

struct funnel_uscratch;

/* Working memory for unordered funnels (grows on demand); NULL on OOM. */
struct funnel_uscratch *funnel_uscratch_new(void);

/* Release it; NULL is a no-op. */
void funnel_uscratch_free(struct funnel_uscratch *u);

/* Strict funnel: counted attempt of one person (n >= 1). Never fails. */
void funnel_strict_pick(const struct funnel_ctx *c, const struct funnel_person *pp,
                        struct funnel_pick *out);

/* Unordered funnel: counted anchor of one person (n >= 1); FUNNEL_ST_OOM if
 * the scratch cannot grow. */
enum funnel_status funnel_unordered_pick(const struct funnel_ctx *c,
                                         const struct funnel_person *pp,
                                         struct funnel_uscratch *u, struct funnel_pick *out);

#endif
