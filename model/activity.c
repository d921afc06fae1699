/*
 * Active users per local day with trailing windows (REFERENCE.md §3.4:
 * DAU = distinct persons with >= 1 qualifying event on a calendar day in
 * the zone; WAU/MAU = distinct persons over the trailing 7/30 days ending
 * on that day, both ends inclusive; not calendar weeks or months).
 *
 * A person active on local days d_1 < d_2 < .. < d_m is counted by the
 * window of length w on every day of the union of [d_i, d_i + w - 1]. That
 * union is the disjoint pieces [d_i, min(d_i + w, d_{i+1})), so one +1/-1
 * pair per piece in a difference array and a prefix sum give every day's
 * count: O(events + days) per window, no per-day person sets. Units: µs.
 */
#include "model/activity.h"

#include <stdlib.h>
#include <string.h>

static bool valid(const struct calendar *cal, size_t n_persons, const int64_t *off,
                  const int64_t *ts, const int32_t *windows, int n_windows)
{
    if (!cal || !off || n_windows < 1 || n_windows > ACTIVITY_MAX_WINDOWS || !windows)
        return false;
    for (int k = 0; k < n_windows; k++)
        if (windows[k] < 1 || windows[k] > 365)
            return false;
    for (size_t i = 0; i < n_persons; i++) {
        if (off[i + 1] < off[i])
            return false;
        int bad = 0; /* no early exit: the loop vectorises */
        for (int64_t j = off[i] + 1; j < off[i + 1]; j++)
            bad |= ts[j] < ts[j - 1];
        if (bad)
            return false;
    }
    return true;
}

/* Person active on day `day`, next active day `next` (or beyond the table):
 * window k counts it on days [day, min(day + w, next, n_days)). */
static void add_piece(struct activity_result *res, int32_t day, int64_t next)
{
    int32_t nd = res->n_days;
    for (int k = 0; k < res->n_windows; k++) {
        int64_t end = (int64_t)day + res->windows[k];
        if (end > next)
            end = next;
        if (end > nd)
            end = nd;
        int64_t *row = res->count + (size_t)k * ((size_t)nd + 1);
        row[day]++;
        row[end]--;
    }
}

bool activity_compute(const struct calendar *cal, size_t n_persons, const int64_t *person_off,
                      const int64_t *ts, const int32_t *windows, int n_windows,
                      struct activity_result *res)
{
    memset(res, 0, sizeof *res);
    if (!valid(cal, n_persons, person_off, ts, windows, n_windows))
        return false;
    int32_t nd = cal->n_days;
    res->n_days = nd;
    res->n_windows = n_windows;
    memcpy(res->windows, windows, (size_t)n_windows * sizeof *windows);
    /* Rows of nd + 1 difference entries, compacted in place to nd counts. */
    res->count = calloc((size_t)n_windows * ((size_t)nd + 1), sizeof *res->count);
    if (!res->count)
        return false;
    for (size_t i = 0; i < n_persons; i++) {
        int32_t prev = -1;
        int64_t lo = 0, hi = 0; /* span of day prev: sorted events skip lookups */
        for (int64_t j = person_off[i]; j < person_off[i + 1]; j++) {
            if (ts[j] >= lo && ts[j] < hi)
                continue;
            int32_t d = calendar_day_of(cal, ts[j]);
            if (d < 0 || d == prev || d >= nd)
                continue;
            lo = cal->midnight[d];
            hi = cal->midnight[d + 1];
            if (prev >= 0)
                add_piece(res, prev, d);
            prev = d;
        }
        if (prev >= 0)
            add_piece(res, prev, INT64_MAX);
    }
    /* Prefix sums; writing entry k*nd + d never overtakes the unread source
     * entries k*(nd+1) + d' (d' > d), so the compaction is safe in place. */
    for (int k = 0; k < n_windows; k++) {
        const int64_t *row = res->count + (size_t)k * ((size_t)nd + 1);
        int64_t run = 0;
        for (int32_t d = 0; d < nd; d++) {
            run += row[d];
            res->count[(size_t)k * (size_t)nd + (size_t)d] = run;
        }
    }
    return true;
}

void activity_result_free(struct activity_result *res)
{
    if (!res)
        return;
    free(res->count);
    memset(res, 0, sizeof *res);
}
