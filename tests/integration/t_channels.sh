# Acquisition channels (GET /v1/channels) compared with an independent SQL
# computation: first event ever per stitched person (DISTINCT ON over all
# history), campaign source / medium, else the referrer host (split_part, not
# a regex), else direct; activation events; paid orders and net revenue from
# the order_values view.
source "$(dirname "$0")/lib.sh"
new_db; start_server || finish
proj=$(sql "SELECT project_id FROM projects WHERE name = 'default'")
psql -X -q "$DATABASE_URL" -v project="$proj" -v persons=20000 -v per=12 \
  -f "$(dirname "$0")/gen_events.sql" >/dev/null
sql "INSERT INTO settings (project_id) VALUES ($proj) ON CONFLICT DO NOTHING;
     SELECT setseed(0.47);
     -- 1200 persons first seen in March with every kind of first-event context;
     -- later events (a second context, activation, purchases) must not change the channel.
     INSERT INTO events (project_id, person_id, message_id, type, event, ts, received_at, context)
     SELECT $proj, 800000 + p, 'ch-' || p || '-' || k, CASE WHEN k = 0 THEN 3 ELSE 1 END,
            CASE WHEN k = 0 THEN '\$page' WHEN k = 1 AND p % 3 = 0 THEN 'Activated'
                 WHEN k = 2 AND p % 5 = 0 THEN 'signup_done' ELSE 'D' END,
            timestamptz '2026-03-01 00:00+00' + (p % 20) * interval '1 day' + k * interval '5 hours', now(),
            CASE WHEN k > 0 THEN '{\"campaign\":{\"source\":\"later\"}}'::jsonb
                 ELSE (ARRAY['{\"campaign\":{\"source\":\"google\",\"medium\":\"cpc\"}}',
                             '{\"campaign\":{\"source\":\"Google\",\"medium\":\"email\"}}',
                             '{\"campaign\":{\"source\":\"newsletter\"}}',
                             '{\"campaign\":{\"source\":\"\"},\"page\":{\"referrer\":\"https://www.Example.com/a?b=1\"}}',
                             '{\"page\":{\"referrer\":\"http://news.ycombinator.com:8080/item?id=1\"}}',
                             '{\"page\":{\"referrer\":\"https://t.co\"}}',
                             '{\"page\":{\"referrer\":\"\"}}',
                             '{}'])[1 + p % 8]::jsonb END
       FROM generate_series(1, 1200) p, generate_series(0, 3) k;
     -- a merge: person 800002 joins 800001 (whose first event is later)
     INSERT INTO person_overrides (project_id, old_person_id, person_id) VALUES ($proj, 800002, 800001);
     INSERT INTO fx_rates (project_id, currency, quote, day, rate) VALUES ($proj, 'EUR', 'USD', '2026-01-01', 1.25);
     INSERT INTO orders (project_id, person_id, source, external_id, state, currency, amount_minor,
                         refunded_base, ts, updated_at, raw)
     SELECT project_id, person_id, 'api', 'o-' || message_id, st, cur, amt,
            CASE st WHEN 'refunded' THEN amt WHEN 'partially_refunded' THEN amt / 4 ELSE 0 END, ts, ts, '{}'
       FROM (SELECT e.*, (ARRAY['paid','paid','partially_refunded','refunded','cancelled','pending'])[1 + floor(random() * 6)::int] st,
                    (ARRAY['USD','USD','EUR','GBP'])[1 + floor(random() * 4)::int] cur, 100 + floor(random() * 5000)::bigint amt
               FROM events e WHERE e.event = 'D' AND random() < 0.4) x;
     ANALYZE events; ANALYZE orders" >/dev/null

# sql_channels FROM TO ACTIVATION_LIST -> "source|medium|reached|activated|paying|paid|nofx|revenue;..."
sql_channels() {
  sql "WITH ev AS (SELECT coalesce(o.person_id, e.person_id) p, e.ts, e.received_at, e.message_id, e.context
                     FROM events e LEFT JOIN person_overrides o
                       ON o.project_id = e.project_id AND o.old_person_id = e.person_id),
       first AS (SELECT DISTINCT ON (p) p, ts, context FROM ev ORDER BY p, ts, received_at, message_id),
       reached AS (SELECT p, context, split_part(split_part(split_part(context->'page'->>'referrer', '://', 2), '/', 1), '?', 1) hp
                     FROM first WHERE ts >= '$1' AND ts < '$2'),
       ch AS (SELECT p,
                CASE WHEN coalesce(context->'campaign'->>'source', '') <> '' THEN context->'campaign'->>'source'
                     WHEN lower(split_part(hp, ':', 1)) <> '' THEN
                       CASE WHEN lower(split_part(hp, ':', 1)) LIKE 'www.%' THEN substr(lower(split_part(hp, ':', 1)), 5)
                            ELSE lower(split_part(hp, ':', 1)) END
                     ELSE 'direct' END src,
                CASE WHEN coalesce(context->'campaign'->>'source', '') <> '' THEN coalesce(context->'campaign'->>'medium', '')
                     WHEN lower(split_part(hp, ':', 1)) <> '' THEN 'referral' ELSE '' END med
                FROM reached),
       act AS (SELECT DISTINCT coalesce(o.person_id, e.person_id) p FROM events e LEFT JOIN person_overrides o
                 ON o.project_id = e.project_id AND o.old_person_id = e.person_id
                WHERE e.event IN ($3) AND e.ts >= '$1' AND e.ts < '$2'),
       ord AS (SELECT v.effective_person_id p, count(*) FILTER (WHERE v.net_minor > 0 AND NOT v.fx_missing) paid,
                      count(*) FILTER (WHERE v.fx_missing) nofx, coalesce(sum(v.net_reporting_minor), 0) rev
                 FROM order_values v JOIN orders o USING (project_id, person_id, source, external_id)
                WHERE o.state NOT IN ('pending', 'cancelled') AND v.ts >= '$1' AND v.ts < '$2' GROUP BY 1)
       SELECT string_agg(concat_ws('|', src, med, n, a, pay, paid, nofx, rev), ';' ORDER BY n DESC, src, med) FROM (
         SELECT src, med, count(*) n, count(act.p) a, count(*) FILTER (WHERE ord.paid > 0) pay,
                coalesce(sum(ord.paid), 0) paid, coalesce(sum(ord.nofx), 0) nofx, coalesce(sum(ord.rev), 0) rev
           FROM ch LEFT JOIN act USING (p) LEFT JOIN ord USING (p) GROUP BY src, med) x"
}
api_channels() { node -e 'let d="";process.stdin.on("data",c=>d+=c).on("end",()=>{const j=JSON.parse(d);
  console.log(j.channels.map(c=>[c.source,c.medium==null?"":c.medium,c.reached,c.activated,c.paying,c.paid_orders,c.orders_without_fx_rate,c.revenue_minor].join("|")).join(";"))})' <<<"$BODY"; }

# Both sources: persons first seen in the range from the in-memory store
# (then only their first events are read from PostgreSQL), and PostgreSQL
# alone. The server restarts so the store loads the rows written above.
config=$(sql "SELECT config FROM settings WHERE project_id = $proj")
checks() { # $1: expected source
  sql "UPDATE settings SET config = '$config' WHERE project_id = $proj" >/dev/null
  rget "/v1/channels?from=2026-03-01&to=2026-03-15&tz=UTC"
  check_eq "GET channels 200" 200 "$STATUS"
  check_eq "March persons: campaign, referrer host, direct, default activation event" \
    "$(sql_channels '2026-03-01 00:00+00' '2026-03-15 00:00+00' "'Activated'")" "$(api_channels)"
  check_eq "referrer host lower-cased without www." "example.com referral" \
    "$(node -e 'const j=JSON.parse(process.argv[1]);const c=j.channels.find(c=>c.source=="example.com");console.log(c.source,c.medium)' "$BODY")"
  check_eq "activation_events default" '["Activated"]' "$(jget activation_events <<<"$BODY")"
  check_eq "totals add up" "$(node -e 'const j=JSON.parse(process.argv[1]);console.log(j.channels.reduce((a,c)=>a+c.reached,0))' "$BODY")" \
    "$(jget totals.reached <<<"$BODY")"

  rget "/v1/channels?from=2026-01-01&to=2026-01-04&tz=UTC&activation_event=B,C"
  check_eq "generated January persons, activation B or C" \
    "$(sql_channels '2026-01-01 00:00+00' '2026-01-04 00:00+00' "'B','C'")" "$(api_channels)"
  check_eq "persons whose first event is before from are not reached" \
    "$(sql "SELECT count(*) FROM (SELECT coalesce(o.person_id, e.person_id) p, min(ts) t FROM events e
              LEFT JOIN person_overrides o ON o.project_id = e.project_id AND o.old_person_id = e.person_id
             GROUP BY 1) x WHERE t >= '2026-01-02 00:00+00' AND t < '2026-01-04 00:00+00'")" \
    "$(rget "/v1/channels?from=2026-01-02&to=2026-01-04&tz=UTC"; jget totals.reached <<<"$BODY")"

  sql "UPDATE settings SET config = '{\"activation_events\":[\"signup_done\"]}' WHERE project_id = $proj" >/dev/null
  rget "/v1/channels?from=2026-03-01&to=2026-03-21&tz=Asia/Shanghai&limit=3"
  check_eq "activation events from settings.config, Asia/Shanghai range" \
    "$(sql_channels '2026-02-28 16:00+00' '2026-03-20 16:00+00' "'signup_done'" | cut -d';' -f1-3)" "$(api_channels)"
  check_eq "limit=3: the rest is folded into other" \
    "$(node -e 'const j=JSON.parse(process.argv[1]);console.log(j.totals.reached-j.channels.reduce((a,c)=>a+c.reached,0))' "$BODY")" \
    "$(jget other.reached <<<"$BODY")"
  check_eq "revenue as decimal text" \
    "$(node -e 'const j=JSON.parse(process.argv[1]);console.log((j.totals.revenue_minor/100).toFixed(2))' "$BODY")" "$(jget totals.revenue <<<"$BODY")"

  rget "/v1/channels?from=2026-03-01&to=2026-03-15&tz=UTC&format=csv&limit=2"
  check_match "CSV header" '^source,medium,reached,activated,paying' "$BODY"
  check_eq "CSV: 2 channels + other + header" 4 "$(wc -l <<<"$BODY")"
  rget "/v1/channels?limit=0";             check_eq "limit=0: 400 naming limit" "400 limit" "$STATUS $(jget error.field <<<"$BODY")"
  rget "/v1/channels?activation_event=";   check_eq "empty activation_event: 400" "400 activation_event" "$STATUS $(jget error.field <<<"$BODY")"
  rget "/v1/channels?tz=Atlantis";         check_eq "bad tz: 400 naming tz" "400 tz" "$STATUS $(jget error.field <<<"$BODY")"
  rget "/v1/channels?from=2026-02-30";     check_eq "bad from: 400 naming from" "400 from" "$STATUS $(jget error.field <<<"$BODY")"
  rget "/v1/channels?source=google";       check_eq "unknown parameter: 400 naming it" "400 source" "$STATUS $(jget error.field <<<"$BODY")"
  check_eq "answered from $1" "$1" "$(rget "/v1/channels?from=2026-03-01&to=2026-03-15&tz=UTC"; jget source <<<"$BODY")"
}
stop_server
start_server || finish
checks_both_sources
finish
