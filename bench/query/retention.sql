-- Plain-SQL baseline of GET /v1/retention?period=day&periods=30&from=..&to=..&tz=UTC
-- (first-time cohorts, start and return event: any event, mode n_day;
-- DESIGN.md §5), for bench/query/run.sh:
--   psql -v pid=P -v from="'2026-01-01'" -v to="'2026-04-01'" -v periods=30 -f retention.sql
-- Output: cohort_day|period|persons, period 0 = the cohort size.
--
-- A person's cohort is the UTC day of their first event ever (so events before
-- `from` are read too: such a person is in no cohort of the query); they
-- return in period N if they have an event on cohort day + N.
--
-- Why this formulation (best of those tried on the 10M set; the machine was
-- shared and busy, so +-25 % between runs):
--  * One pass over the events to the distinct (stitched person, day) pairs
--    (2.5M), then the first day per person by a window over the same sorted
--    pairs: no second scan of events and no join back. 15-19 s.
--  * Tried: GROUP BY instead of DISTINCT with parallel workers coaxed in
--    (parallel_tuple_cost lowered: parallel scan + sort, Gather Merge of 10M
--    rows): 14-18 s, no clear gain; the pairs materialised, a GROUP BY person
--    for the first day and a hash join back: 21 s (a materialised CTE keeps
--    everything in one process).
--  * The sort of 10M (person, day) keys dominates; work_mem is raised so more
--    of it stays in memory.
SET work_mem = '512MB';
WITH pd AS (
    SELECT DISTINCT coalesce(o.person_id, e.person_id) AS p, (e.ts AT TIME ZONE 'UTC')::date AS d
      FROM events e
      LEFT JOIN person_overrides o ON o.project_id = e.project_id AND o.old_person_id = e.person_id
     WHERE e.project_id = :pid
       AND e.ts < :to::timestamptz + make_interval(days => :periods + 1)
), f AS (
    SELECT p, d, min(d) OVER (PARTITION BY p) AS d0 FROM pd
)
SELECT d0, d - d0, count(*)
  FROM f
 WHERE d0 >= :from::date AND d0 < :to::date AND d - d0 <= :periods
 GROUP BY 1, 2 ORDER BY 1, 2;
