-- 0008_score_generations: one table per scoring generation.
--
-- Every run rewrites every person's row. With one table, deleting the
-- generation a flip leaves behind left a million dead rows per run that
-- autovacuum reclaims on a schedule of minutes, not of runs seconds apart:
-- 3.2 GB for two 1M-row generations after a morning of runs, every phase
-- that touches the table slower (runs 15 s instead of 9.5 s), and profile
-- lookups reading more pages. Now person_scores is partitioned by run_id:
-- a run creates a table of its own, attaches it and COPYs (FREEZE) into it,
-- all in the transaction that flips score_current (ATTACH takes SHARE
-- UPDATE EXCLUSIVE on the parent: readers go on; two runs of different
-- projects take turns at it). An
-- old generation is detached concurrently and dropped: no dead rows, no
-- vacuum, no DELETE in the WAL. A run that fails or is killed rolls back
-- its table with everything else. Crash safety as in 0005.
--
-- Citus: distribute the partitioned parent by person_id; new partitions are
-- distributed with it.

ALTER TABLE person_scores RENAME TO person_scores_0005;
ALTER INDEX person_scores_pkey RENAME TO person_scores_0005_pkey;

CREATE TABLE person_scores (
    LIKE person_scores_0005 INCLUDING DEFAULTS INCLUDING COMMENTS,
    PRIMARY KEY (project_id, run_id, person_id)
) PARTITION BY LIST (run_id);

-- The table of generation p_run, attached at once (in the run's
-- transaction, so nobody else sees it before the flip commits): ATTACH
-- clones the parent's row triggers onto it and requires its CHECK
-- constraints, which LIKE copies. (CREATE TABLE ... PARTITION OF would do
-- the same, but holds ACCESS EXCLUSIVE on the parent until commit, blocking
-- every reader for the length of the COPY.)
CREATE FUNCTION cohortd_scores_generation_create(p_run bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE t text := 'person_scores_' || p_run;
BEGIN
    EXECUTE format('CREATE TABLE %I (LIKE person_scores INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', t);
    EXECUTE format('ALTER TABLE person_scores ATTACH PARTITION %I FOR VALUES IN (%s)', t, p_run);
END $$;

-- Statistics of generation p_run once written (the planner would otherwise
-- take the new table for empty).
CREATE FUNCTION cohortd_scores_generation_analyze(p_run bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ANALYZE %I', 'person_scores_' || p_run);
END $$;

-- Generations no project reads any more: attached partitions whose run is
-- neither current nor previous anywhere (attached ones are always committed
-- flips), plus any left pending by an interrupted DETACH ... CONCURRENTLY.
CREATE FUNCTION cohortd_scores_generations_stale()
RETURNS TABLE (run_id bigint, pending boolean) LANGUAGE sql STABLE AS $$
    SELECT substr(c.relname, 15)::bigint, i.inhdetachpending
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'person_scores'::regclass
       AND c.relname ~ '^person_scores_[0-9]+$'
       AND substr(c.relname, 15)::bigint NOT IN (
           SELECT s.run_id FROM score_current s
           UNION ALL SELECT s.previous_run_id FROM score_current s
            WHERE s.previous_run_id IS NOT NULL)
     ORDER BY 1
$$;

-- Drop generation p_run once detached (never an attached one).
CREATE FUNCTION cohortd_scores_generation_drop(p_run bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE t text := 'person_scores_' || p_run;
BEGIN
    IF to_regclass(t) IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(t)) THEN
        EXECUTE format('DROP TABLE %I', t);
    END IF;
END $$;

-- Keep the generations readers may use: current and previous of each project.
DO $$
DECLARE r bigint;
BEGIN
    FOR r IN SELECT s.run_id FROM score_current s
             UNION SELECT s.previous_run_id FROM score_current s
              WHERE s.previous_run_id IS NOT NULL LOOP
        PERFORM cohortd_scores_generation_create(r);
        EXECUTE format('INSERT INTO %I SELECT * FROM person_scores_0005 WHERE run_id = %s',
                       'person_scores_' || r, r);
        PERFORM cohortd_scores_generation_analyze(r);
    END LOOP;
END $$;

DROP TABLE person_scores_0005;
