-- 0004_analytics: helpers for analytics queries.
--
-- cohortd_num: a JSON number as numeric, NULL for anything else, so a
-- property filter "gt"/"lt" never fails a query on a string value.
CREATE FUNCTION cohortd_num(j jsonb) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN jsonb_typeof(j) = 'number' THEN (j #>> '{}')::numeric END $$;
