-- Plain-SQL baseline of GET /v1/funnels?steps=signup,activate,add_to_cart,purchase
-- &window=7d&from=..&to=..&tz=UTC (ordered mode, DESIGN.md §5), for bench/query/run.sh:
--   psql -v pid=PROJECT -v from="'2026-01-01'" -v to="'2026-04-01'" -v win="'7 days'" -f funnel.sql
-- Output, one line per step: step|persons|median_s_from_previous|mean_s_from_previous.
--
-- The same question as cohortd answers: per stitched person (person_overrides
-- applied), every step-1 event in [from, to) opens an attempt; the attempt's
-- chain is the greedy one (earliest activate at or after the signup, earliest
-- add_to_cart at or after that, ...; equal timestamps may chain, one event per
-- step since the four names differ); a step counts if reached within the
-- window of the step-1 event; a person counts at the deepest step of any
-- attempt and is timed on the earliest attempt reaching it.
--
-- Why this formulation (best of those tried on the 10M-event set, times in
-- bench/RESULTS.md "## Query"):
--  * No self-joins or per-attempt index probes. "Earliest event of step k at
--    or after t" is a running min over the person's rows in descending time:
--    min(ts) FILTER (k) OVER (PARTITION BY person ORDER BY ts DESC), whose
--    default RANGE frame includes equal timestamps. The next link of the chain
--    is read from the same kind of running min over the step k-1 rows: the
--    value carried by a row is non-decreasing in its timestamp, so the min
--    over the rows at or after t is the value of the first such row, i.e. the
--    greedy chain. The three windows share one sort (same window clause);
--    the whole funnel is one sort of the ~2M step rows plus linear passes.
--  * The rows come from events_event_ts (project_id, event, ts): four index
--    range scans on the step names and the time range; the heap is visited
--    only for person_id (events_person_ts cannot filter on the event name
--    without reading every index entry: 10M tuples instead of 2M).
--  * Tried and slower: the LATERAL form of docs/semantics-analytics.md §3.8
--    (one index probe per attempt and step: ~3M probes; with the per-person
--    covering index events_person_ts it still has to read and filter every
--    event of a heavy person once per attempt and step), and reading all
--    step rows by events_person_ts in person order to skip the sort (an
--    index-only scan of all 10M entries, then the same windows on a sort
--    anyway, because the window needs descending time).
--  * work_mem is raised so the sort of ~2M rows stays in memory; parallel
--    workers are left on (PostgreSQL uses them for the scans where it can).
SET work_mem = '256MB';
WITH s AS (
    SELECT coalesce(o.person_id, e.person_id) AS p, e.ts,
           CASE e.event WHEN 'signup' THEN 1 WHEN 'activate' THEN 2
                        WHEN 'add_to_cart' THEN 3 ELSE 4 END AS k
      FROM events e
      LEFT JOIN person_overrides o ON o.project_id = e.project_id AND o.old_person_id = e.person_id
     WHERE e.project_id = :pid
       AND e.event IN ('signup', 'activate', 'add_to_cart', 'purchase')
       AND e.ts >= :from::timestamptz AND e.ts < :to::timestamptz + :win::interval
), n4 AS (      -- per row: earliest purchase at or after it
    SELECT p, ts, k, min(ts) FILTER (WHERE k = 4) OVER w AS t4
      FROM s WINDOW w AS (PARTITION BY p ORDER BY ts DESC)
), n3 AS (      -- per row: earliest add_to_cart at or after it, and its purchase
    SELECT p, ts, k, min(ts) FILTER (WHERE k = 3) OVER w AS t3,
           min(t4) FILTER (WHERE k = 3) OVER w AS t4
      FROM n4 WINDOW w AS (PARTITION BY p ORDER BY ts DESC)
), n2 AS (      -- per row: earliest activate at or after it, and its chain
    SELECT p, ts, k, min(ts) FILTER (WHERE k = 2) OVER w AS t2,
           min(t3) FILTER (WHERE k = 2) OVER w AS t3,
           min(t4) FILTER (WHERE k = 2) OVER w AS t4
      FROM n3 WINDOW w AS (PARTITION BY p ORDER BY ts DESC)
), att AS (     -- attempts: step-1 events in [from, to) with their depth
    SELECT p, ts AS t1, t2, t3, t4,
           CASE WHEN t4 - ts <= :win::interval THEN 4
                WHEN t3 - ts <= :win::interval THEN 3
                WHEN t2 - ts <= :win::interval THEN 2 ELSE 1 END AS depth
      FROM n2
     WHERE k = 1 AND ts >= :from::timestamptz AND ts < :to::timestamptz
), counted AS ( -- per person the deepest attempt, the earliest among equals
    SELECT DISTINCT ON (p) p, depth,
           extract(epoch FROM t2 - t1) AS d2, extract(epoch FROM t3 - t2) AS d3,
           extract(epoch FROM t4 - t3) AS d4
      FROM att ORDER BY p, depth DESC, t1
)
SELECT 1, count(*), NULL::float8, NULL::float8 FROM counted
UNION ALL
SELECT 2, count(*) FILTER (WHERE depth >= 2),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY d2) FILTER (WHERE depth >= 2),
       avg(d2) FILTER (WHERE depth >= 2) FROM counted
UNION ALL
SELECT 3, count(*) FILTER (WHERE depth >= 3),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY d3) FILTER (WHERE depth >= 3),
       avg(d3) FILTER (WHERE depth >= 3) FROM counted
UNION ALL
SELECT 4, count(*) FILTER (WHERE depth >= 4),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY d4) FILTER (WHERE depth >= 4),
       avg(d4) FILTER (WHERE depth >= 4) FROM counted
ORDER BY 1;
