-- The RFM of the service (net-paid orders in the last 365 days, R/F/M,
-- quintiles, the R x FM grid), written in plain SQL with NTILE: the baseline
-- bench/scoring/run.sh times against cohortd's own pass. NTILE splits ties
-- arbitrarily where the service gives equal values equal scores, so counts
-- differ slightly; the work done is the same.
WITH a AS (SELECT (now() AT TIME ZONE 'UTC')::date AS asof),
o AS (
  SELECT coalesce(po.person_id, x.person_id) AS pid, count(*) AS f, sum(x.net_minor) AS m,
         a.asof - max((x.ts AT TIME ZONE 'UTC')::date) AS r
    FROM orders x CROSS JOIN a
    LEFT JOIN person_overrides po ON po.project_id = x.project_id AND po.old_person_id = x.person_id
   WHERE x.project_id = 1 AND x.net_minor > 0
     AND (x.ts AT TIME ZONE 'UTC')::date > a.asof - 365 AND x.ts < now()
   GROUP BY 1, a.asof),
s AS (
  SELECT pid, m, ntile(5) OVER (ORDER BY r DESC) AS rs, ntile(5) OVER (ORDER BY f) AS fs,
         ntile(5) OVER (ORDER BY m) AS ms
    FROM o),
g AS (
  SELECT m, rs, (fs + ms + 1) / 2 AS fm FROM s)
SELECT CASE WHEN rs = 5 AND fm >= 4 THEN 'champions'
            WHEN rs = 5 AND fm = 1 THEN 'new_customers'
            WHEN rs >= 4 AND fm IN (2, 3) THEN 'potential_loyalist'
            WHEN rs = 4 AND fm = 1 THEN 'promising'
            WHEN rs IN (3, 4) AND fm >= 4 THEN 'loyal_customers'
            WHEN rs = 3 AND fm = 3 THEN 'need_attention'
            WHEN rs = 3 THEN 'about_to_sleep'
            WHEN fm = 5 THEN 'cant_lose_them'
            WHEN fm IN (3, 4) THEN 'at_risk'
            WHEN rs = 1 AND fm = 1 THEN 'lost'
            ELSE 'hibernating' END AS segment,
       count(*) AS persons, sum(m) AS revenue
  FROM g GROUP BY 1 ORDER BY 1;
