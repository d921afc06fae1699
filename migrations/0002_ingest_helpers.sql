-- 0002_ingest_helpers: merge identify traits in arrival order inside one
-- group commit (jsonb || is "latest wins per key"; the strict state function
-- skips rows without traits).
CREATE AGGREGATE cohortd_jsonb_merge(jsonb) (
    SFUNC = jsonb_concat,
    STYPE = jsonb,
    INITCOND = '{}'
);
