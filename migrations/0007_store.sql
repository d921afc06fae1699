-- 0007_store: what the in-memory event store (server/store.h) needs to follow
-- the events table cheaply.
--   ingest_node: a random id per cohortd process that wrote the row (NULL for
--     rows written by hand), so a process re-reads only rows others wrote;
--   a BRIN index on received_at: rows arrive in received_at order, so a
--     block-range index finds "the last few seconds" for almost no ingest cost.
ALTER TABLE events ADD COLUMN ingest_node int;
CREATE INDEX events_received_brin ON events USING brin (received_at);
