/*
 * K-factor (design).
 *
 * DESIGN.md section 5 and REFERENCE.md 3.4: over a cohort of N members,
 *   K = R / N, R = new persons referred by the members;
 * where invite events exist, with I = invites sent by the members,
 *   invites per person i = I / N, invite conversion c = R / I, K = i * c
 * (an identity: (I / N)(R / I) = R / N). A referee whose signup is before
 * the referrer's own start cannot have been referred by that member as a new
 * person; such pairs are counted as invalid and left out of R and of the
 * cycle time. Cycle time is measured per valid (referrer, referee) pair as
 * (referee signup - referrer start) in days of 86 400 s (µs inputs), and
 * reported as the mean and the median over pairs (so a referrer with many
 * referees weighs more; cycle time is the time one generation of referrals
 * takes).
 *
 * Top referrers: a bounded min-heap of size top_n over the members with at
 * least one valid referee, ordered by valid referees descending and then
 * person_id ascending; O(n log top_n). Delays are sorted once for the median
 * (qsort, O(R log R)).
 */
#include "model/kfactor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define US_PER_DAY 86400000000.0

/* True if a ranks strictly below b (fewer referees, or equal and larger id). */
static bool worse(const struct kfactor_top *a, const struct kfactor_top *b)
{
    return a->referees < b->referees ||
           (a->referees == b->referees && a->person_id > b->person_id);
}

static void sift_down(struct kfactor_top *h, size_t len, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < len && worse(&h[l], &h[m]))
            m = l;
        if (r < len && worse(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        struct kfactor_top t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void sift_up(struct kfactor_top *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!worse(&h[i], &h[p]))
            return;
        struct kfactor_top t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

/* Offer one candidate to a min-heap h of capacity cap holding *len items. */
static void heap_offer(struct kfactor_top *h, size_t cap, size_t *len,
                       struct kfactor_top c)
{
    if (*len < cap) {
        h[*len] = c;
        sift_up(h, (*len)++);
    } else if (cap > 0 && worse(&h[0], &c)) {
        h[0] = c;
        sift_down(h, *len, 0);
    }
}

static int cmp_top(const void *a, const void *b)
{
    const struct kfactor_top *x = a, *y = b;
    return worse(y, x) ? -1 : worse(x, y) ? 1 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double median_days(uint64_t *d, size_t m)
{
    if (m == 0)
        return NAN;
    qsort(d, m, sizeof *d, cmp_u64);
    double lo = (double)d[(m - 1) / 2], hi = (double)d[m / 2];
    return (lo + hi) / 2.0 / US_PER_DAY;
}

static void fill_rates(const struct kfactor_params *params, struct kfactor_result *res)
{
    double n = (double)res->cohort_size;
    res->k = res->cohort_size ? (double)res->referees / n : NAN;
    res->invites_per_person =
        params->has_invites && res->cohort_size ? (double)res->invites / n : NAN;
    res->invite_conversion = params->has_invites && res->invites > 0
        ? (double)res->referees / (double)res->invites : NAN;
}

void kfactor_result_free(struct kfactor_result *res)
{
    if (!res)
        return;
    free(res->top);
    res->top = NULL;
    res->n_top = 0;
}

bool kfactor_compute(const struct kfactor_member *members, size_t n,
                     const int64_t *signup_us, size_t n_signups,
                     const struct kfactor_params *params,
                     struct kfactor_result *res)
{
    uint64_t *delay = NULL; /* signup - start >= 0, exact even across the
                               whole int64 range */
    uint64_t total = 0;
    size_t cap = params->top_n < n ? params->top_n : n, pos = 0;
    double sum_days = 0.0;

    memset(res, 0, sizeof *res);
    for (size_t i = 0; i < n; i++)
        total += members[i].n_referees;
    if (total != n_signups)
        return false;
    delay = malloc((n_signups ? n_signups : 1) * sizeof *delay);
    res->top = cap ? malloc(cap * sizeof *res->top) : NULL;
    if (!delay || (cap && !res->top)) {
        free(delay);
        kfactor_result_free(res);
        return false;
    }
    res->cohort_size = n;
    for (size_t i = 0; i < n; i++) {
        const struct kfactor_member *m = &members[i];
        uint32_t valid = 0;
        for (uint32_t j = 0; j < m->n_referees; j++, pos++) {
            if (signup_us[pos] < m->start_us) {
                res->invalid_referees++;
                continue;
            }
            uint64_t d = (uint64_t)signup_us[pos] - (uint64_t)m->start_us;
            delay[res->referees++] = d;
            sum_days += (double)d / US_PER_DAY;
            valid++;
        }
        if (params->has_invites)
            res->invites += m->invites;
        if (valid > 0) {
            struct kfactor_top c = {m->person_id, valid};
            res->referrers++;
            heap_offer(res->top, cap, &res->n_top, c);
        }
    }
    if (res->n_top > 1)
        qsort(res->top, res->n_top, sizeof *res->top, cmp_top);
    fill_rates(params, res);
    res->cycle_mean_days = res->referees ? sum_days / (double)res->referees : NAN;
    res->cycle_median_days = median_days(delay, (size_t)res->referees);
    free(delay);
    return true;
}
