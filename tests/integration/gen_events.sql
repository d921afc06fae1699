-- Deterministic synthetic events for analytics tests (run with psql -v
-- project=<id> -v persons=N -v per=M). Distinct timestamps per person
-- (microsecond jitter) so tie rules do not matter here; ties are unit-tested.
SELECT setseed(0.42);
INSERT INTO events (project_id, person_id, message_id, type, event, ts, received_at, properties, context)
SELECT :project, p, 'g-' || p || '-' || k, 1,
       (ARRAY['A','B','C','D','X'])[1 + floor(random() * 5)::int],
       timestamptz '2026-01-01 00:00:00+00' + (random() * 40 * 86400) * interval '1 second'
         + (p * 1000 + k) * interval '1 microsecond',
       now(),
       jsonb_build_object('plan', (ARRAY['free','pro','team'])[1 + floor(random() * 3)::int],
                          'amount', floor(random() * 100)::int),
       jsonb_build_object('campaign', jsonb_build_object('source', (ARRAY['google','twitter','newsletter','direct'])[1 + floor(random() * 4)::int]))
  FROM generate_series(1, :persons) p, generate_series(1, :per) k
 WHERE random() < 0.8;
-- Some stitched persons: every 50th person merged into the next one.
INSERT INTO person_overrides (project_id, old_person_id, person_id)
SELECT :project, p, p + 1 FROM generate_series(50, :persons - 1, 50) p;
ANALYZE events;
