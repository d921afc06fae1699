-- Plain-SQL two-step ordered funnel (s1 -> s2 within win), the check of the
-- live phase of bench/query/run.sh:
--   psql -v pid=P -v from="'..'" -v to="'..'" -v win="'90 days'" -v s1="'signup'" -v s2="'Product Viewed'" -f funnel2.sql
-- Output: step|persons|median_s_from_previous|mean_s_from_previous.
-- Same semantics and the same running-min technique as funnel.sql (see there):
-- per attempt (s1 event in [from, to)) the earliest s2 at or after it, per
-- stitched person the deepest attempt, the earliest among equals.
SET work_mem = '256MB';
WITH s AS (
    SELECT coalesce(o.person_id, e.person_id) AS p, e.ts, CASE WHEN e.event = :s1 THEN 1 ELSE 2 END AS k
      FROM events e
      LEFT JOIN person_overrides o ON o.project_id = e.project_id AND o.old_person_id = e.person_id
     WHERE e.project_id = :pid AND e.event IN (:s1, :s2)
       AND e.ts >= :from::timestamptz AND e.ts < :to::timestamptz + :win::interval
), n2 AS (
    SELECT p, ts, k, min(ts) FILTER (WHERE k = 2) OVER (PARTITION BY p ORDER BY ts DESC) AS t2 FROM s
), counted AS (
    SELECT DISTINCT ON (p) p, CASE WHEN t2 - ts <= :win::interval THEN 2 ELSE 1 END AS depth,
           extract(epoch FROM t2 - ts) AS d2
      FROM n2 WHERE k = 1 AND ts >= :from::timestamptz AND ts < :to::timestamptz
     ORDER BY p, 2 DESC, ts
)
SELECT 1, count(*), NULL::float8, NULL::float8 FROM counted
UNION ALL
SELECT 2, count(*) FILTER (WHERE depth >= 2),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY d2) FILTER (WHERE depth >= 2),
       avg(d2) FILTER (WHERE depth >= 2) FROM counted
ORDER BY 1;
