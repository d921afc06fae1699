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
--  * The rows come from a parallel sequential scan (2 workers) with the sort
--    done in the workers and merged (Gather Merge). The planner's own choice,
--    a bitmap scan of events_event_ts (project_id, event, ts), visits ~210k
--    heap pages in random order (the heap is in arrival order) in a single
--    process and took 2-3x longer on the 10M set (6-7 s against 10-18 s), so
--    bitmap scans are switched off for this query.
--  * Tried and slower: the LATERAL form of docs/semantics-analytics.md §3.8
--    (three index probes per attempt on events_person_ts, ~2.8M probes that
--    walk a heavy person's events: 17-24 s on the same machine and load);
--    and the per-step aggregates read four times from the CTE (one pass with
--    FILTERed aggregates below instead).
--  * work_mem is raised so the sorts of ~2M rows stay in memory.
SET work_mem = '256MB';
SET enable_bitmapscan = off;
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
SELECT v.step, v.persons, v.median_s, v.mean_s
  FROM (SELECT count(*) AS c1,
               count(*) FILTER (WHERE depth >= 2) AS c2,
               count(*) FILTER (WHERE depth >= 3) AS c3,
               count(*) FILTER (WHERE depth >= 4) AS c4,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY d2) FILTER (WHERE depth >= 2) AS m2,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY d3) FILTER (WHERE depth >= 3) AS m3,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY d4) FILTER (WHERE depth >= 4) AS m4,
               avg(d2) FILTER (WHERE depth >= 2) AS a2,
               avg(d3) FILTER (WHERE depth >= 3) AS a3,
               avg(d4) FILTER (WHERE depth >= 4) AS a4
          FROM counted) x,
       LATERAL (VALUES (1, c1, NULL::float8, NULL::float8), (2, c2, m2, a2),
                       (3, c3, m3, a3), (4, c4, m4, a4)) v(step, persons, median_s, mean_s)
 ORDER BY 1;
