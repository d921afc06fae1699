# K-factor (GET /v1/kfactor) on generated signups that name their referrer by
# distinct id, compared with an independent SQL computation: first signup per
# stitched person, identities + overrides for the referrer, referees signing
# up before their referrer (invalid), self-referrals, second signups (ignored),
# invites before / after the member's own signup.
source "$(dirname "$0")/lib.sh"
new_db; start_server || finish
proj=$(sql "SELECT project_id FROM projects WHERE name = 'default'")
psql -X -q "$DATABASE_URL" -v project="$proj" -v persons=2000 -v per=6 \
  -f "$(dirname "$0")/gen_events.sql" >/dev/null
sql "INSERT INTO settings (project_id) VALUES ($proj) ON CONFLICT DO NOTHING;
     SELECT setseed(0.53);
     INSERT INTO identities (project_id, distinct_id, person_id)
     SELECT $proj, 'u' || p, p FROM generate_series(700001, 700600) p;
     -- Signups spread over 2026-02-01 .. 2026-02-25; the referrer is another
     -- person (sometimes one who signs up later, sometimes oneself, sometimes unknown).
     INSERT INTO events (project_id, person_id, message_id, type, event, ts, received_at, properties)
     SELECT $proj, p, 'su-' || p, 1, 'signup',
            timestamptz '2026-02-01 00:00+00' + ((p::bigint * 7919) % 600) * interval '1 hour', now(),
            CASE WHEN p % 4 = 0 THEN '{}'::jsonb
                 WHEN p % 11 = 0 THEN jsonb_build_object('referrer_id', 'u' || p)
                 WHEN p % 13 = 0 THEN jsonb_build_object('referrer_id', 'nobody')
                 ELSE jsonb_build_object('referrer_id', 'u' || (700001 + (p * 31) % 40)) END
       FROM generate_series(700001, 700600) p;
     -- A second, later signup naming someone else must not count.
     INSERT INTO events (project_id, person_id, message_id, type, event, ts, received_at, properties)
     SELECT $proj, p, 'su2-' || p, 1, 'signup', timestamptz '2026-03-01 00:00+00', now(),
            jsonb_build_object('referrer_id', 'u700002')
       FROM generate_series(700001, 700600, 7) p;
     -- Invites: some before the member's own signup (not counted), most after.
     INSERT INTO events (project_id, person_id, message_id, type, event, ts, received_at)
     SELECT $proj, p, 'inv-' || p || '-' || k, 1, 'invite_sent',
            timestamptz '2026-02-01 00:00+00' + ((p::bigint * 7919) % 600) * interval '1 hour'
              + (k * 5 - 3) * interval '1 hour', now()
       FROM generate_series(700001, 700600) p, generate_series(0, 3) k WHERE (p + k) % 3 <> 0;
     -- Merges: a referrer's raw person and a referee's raw person.
     INSERT INTO person_overrides (project_id, old_person_id, person_id)
     VALUES ($proj, 700005, 700500), ($proj, 700101, 700102);
     ANALYZE events" >/dev/null

# sql_kfactor FROM TO INVITE_EVENT -> "cohort,valid,invalid,invites,referrers,mean_cycle_days"
sql_kfactor() {
  sql "WITH su AS (SELECT coalesce(o.person_id, e.person_id) p, e.ts, e.received_at, e.message_id,
                          e.properties->>'referrer_id' ref
                     FROM events e LEFT JOIN person_overrides o
                       ON o.project_id = e.project_id AND o.old_person_id = e.person_id WHERE e.event = 'signup'),
       firsts AS (SELECT DISTINCT ON (p) p, ts, ref FROM su ORDER BY p, ts, received_at, message_id),
       members AS (SELECT p, ts t0 FROM firsts WHERE ts >= '$1' AND ts < '$2'),
       refs AS (SELECT f.p referee, f.ts, coalesce(ro.person_id, i.person_id) referrer
                  FROM firsts f JOIN identities i ON i.distinct_id = f.ref
                  LEFT JOIN person_overrides ro ON ro.old_person_id = i.person_id),
       pairs AS (SELECT m.p, m.t0, r.ts FROM members m JOIN refs r ON r.referrer = m.p AND r.referee <> m.p),
       inv AS (SELECT count(*) n FROM members m JOIN (SELECT coalesce(o.person_id, e.person_id) p, e.ts
                 FROM events e LEFT JOIN person_overrides o
                   ON o.project_id = e.project_id AND o.old_person_id = e.person_id WHERE e.event = '$3') x
                 ON x.p = m.p AND x.ts >= m.t0)
       SELECT (SELECT count(*) FROM members) || ',' || count(*) FILTER (WHERE ts >= t0) || ',' ||
              count(*) FILTER (WHERE ts < t0) || ',' || (SELECT n FROM inv) || ',' ||
              count(DISTINCT p) FILTER (WHERE ts >= t0) || ',' ||
              round(avg(extract(epoch FROM ts - t0) / 86400) FILTER (WHERE ts >= t0), 9)
         FROM pairs"
}
api_k() { node -e 'const j=JSON.parse(process.argv[1]);console.log([j.cohort_size,j.referees,j.invalid_referees,j.invites,j.referrers,j.cycle_time_days.mean.toFixed(9)].join(","))' "$BODY"; }

rget "/v1/kfactor?signup_event=signup&referrer=properties.referrer_id&invite_event=invite_sent&from=2026-02-03&to=2026-02-20&tz=UTC"
check_eq "GET kfactor 200" 200 "$STATUS"
check_eq "cohort, referees (valid / before the referrer), invites, referrers, mean cycle equal SQL" \
  "$(sql_kfactor '2026-02-03 00:00+00' '2026-02-20 00:00+00' invite_sent)" "$(api_k)"
check "the data exercise every case (members, valid and invalid referees, invites)" \
  node -e 'const j=JSON.parse(process.argv[1]);process.exit(j.cohort_size>100&&j.referees>50&&j.invalid_referees>5&&j.invites>100?0:1)' "$BODY"
check_eq "K = referees / cohort = invites per person x invite conversion" ok \
  "$(node -e 'const j=JSON.parse(process.argv[1]);const a=j.referees/j.cohort_size;console.log(Math.abs(j.k-a)<1e-12&&Math.abs(j.invites_per_person*j.invite_conversion-a)<1e-12?"ok":"bad")' "$BODY")"
check_eq "top referrers equal SQL (most referees, then smallest person id)" \
  "$(sql "WITH su AS (SELECT coalesce(o.person_id, e.person_id) p, e.ts, e.received_at, e.message_id, e.properties->>'referrer_id' ref
                       FROM events e LEFT JOIN person_overrides o ON o.old_person_id = e.person_id WHERE e.event = 'signup'),
         firsts AS (SELECT DISTINCT ON (p) p, ts, ref FROM su ORDER BY p, ts, received_at, message_id),
         members AS (SELECT p, ts t0 FROM firsts WHERE ts >= '2026-02-03 00:00+00' AND ts < '2026-02-20 00:00+00'),
         v AS (SELECT m.p, count(*) n FROM members m JOIN firsts f ON f.p <> m.p AND f.ts >= m.t0
                 JOIN identities i ON i.distinct_id = f.ref LEFT JOIN person_overrides ro ON ro.old_person_id = i.person_id
                WHERE coalesce(ro.person_id, i.person_id) = m.p GROUP BY m.p)
         SELECT string_agg(p || ':' || n, ',' ORDER BY n DESC, p) FROM (SELECT * FROM v ORDER BY n DESC, p LIMIT 5) x")" \
  "$(rget "/v1/kfactor?signup_event=signup&invite_event=invite_sent&from=2026-02-03&to=2026-02-20&tz=UTC&top=5"; node -e 'console.log(JSON.parse(process.argv[1]).top_referrers.map(t=>t.person_id+":"+t.referees).join(","))' "$BODY")"

rget "/v1/kfactor?signup_event=signup&from=2026-02-01&to=2026-03-01&tz=Asia/Tokyo"
check_eq "no invite event: invites and the invite funnel are null" "null null null" \
  "$(jget invites <<<"$BODY") $(jget invites_per_person <<<"$BODY") $(jget invite_conversion <<<"$BODY")"
check_eq "Asia/Tokyo range, K equals SQL" \
  "$(sql_kfactor '2026-01-31 15:00+00' '2026-02-28 15:00+00' none | cut -d, -f1,2)" \
  "$(node -e 'const j=JSON.parse(process.argv[1]);console.log(j.cohort_size+","+j.referees)' "$BODY")"

sql "UPDATE settings SET config = '{\"referral_event\":\"signup\",\"referrer_property\":\"referrer_id\",\"invite_event\":\"invite_sent\"}' WHERE project_id = $proj" >/dev/null
rget "/v1/kfactor?from=2026-02-03&to=2026-02-20&tz=UTC"
check_eq "defaults from settings.config" "signup properties.referrer_id invite_sent" \
  "$(jget signup_event <<<"$BODY") $(jget referrer <<<"$BODY") $(jget invite_event <<<"$BODY")"
check_eq "same answer with the settings' defaults" \
  "$(sql_kfactor '2026-02-03 00:00+00' '2026-02-20 00:00+00' invite_sent)" "$(api_k)"
rget "/v1/kfactor?from=2026-01-01&to=2026-01-02&tz=UTC"
check_eq "empty cohort: K and cycle null, 200" "200 0 null null" \
  "$STATUS $(jget cohort_size <<<"$BODY") $(jget k <<<"$BODY") $(jget cycle_time_days.mean <<<"$BODY")"

rget "/v1/kfactor?from=2026-02-03&to=2026-02-20&tz=UTC&top=3&format=csv"
check_match "CSV of top referrers" '^rank,person_id,referees' "$BODY"
check_eq "CSV: 3 rows + header" 4 "$(wc -l <<<"$BODY")"
rget "/v1/kfactor?referrer=referrer_id";  check_eq "bad referrer path: 400 naming referrer" "400 referrer" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/kfactor?top=-1";                check_eq "top<0: 400 naming top" "400 top" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/kfactor?signup_event=";         check_eq "empty signup_event: 400" "400 signup_event" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/kfactor?tz=Moon/Base";          check_eq "bad tz: 400 naming tz" "400 tz" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/kfactor?to=soon";               check_eq "bad to: 400 naming to" "400 to" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/kfactor?window=7d";             check_eq "unknown parameter: 400 naming it" "400 window" "$STATUS $(jget error.field <<<"$BODY")"
finish
