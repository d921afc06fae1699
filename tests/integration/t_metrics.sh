# Key metrics (GET /v1/metrics) over the generated events plus generated
# orders in three currencies (USD = reporting, EUR with an FX rate, GBP
# without), compared per interval with an independent plain-SQL computation
# (AT TIME ZONE dates, the order_values view for net revenue), from the
# in-memory store and from PostgreSQL; includes New York DST days.
source "$(dirname "$0")/lib.sh"
new_db; start_server || finish
proj=$(sql "SELECT project_id FROM projects WHERE name = 'default'")
psql -X -q "$DATABASE_URL" -v project="$proj" -v persons=20000 -v per=12 \
  -f "$(dirname "$0")/gen_events.sql" >/dev/null
sql "INSERT INTO settings (project_id) VALUES ($proj) ON CONFLICT DO NOTHING;
     SELECT setseed(0.31);
     INSERT INTO events (project_id, person_id, message_id, type, event, ts, received_at)
     SELECT $proj, 900000 + p, 'dst-' || p || '-' || k, 1, (ARRAY['A','B','D'])[1 + (p + k) % 3],
            (timestamp '2026-03-03 00:00' + (p % 7) * interval '1 day' + k * interval '19 hours'
             + CASE WHEN k % 3 = 0 THEN interval '-30 minutes' ELSE interval '30 minutes' END)
              AT TIME ZONE 'America/New_York', now()
       FROM generate_series(1, 500) p, generate_series(0, 20) k WHERE random() < 0.4;
     INSERT INTO fx_rates (project_id, currency, quote, day, rate)
     VALUES ($proj, 'EUR', 'USD', '2025-12-01', 1.1), ($proj, 'EUR', 'USD', '2026-01-20', 1.2345);
     -- Orders at D events (some persons buy twice a day), every state and currency.
     INSERT INTO orders (project_id, person_id, source, external_id, state, currency, amount_minor,
                         refunded_base, ts, updated_at, raw)
     SELECT project_id, person_id, 'api', 'o-' || message_id, st, cur, amt,
            CASE st WHEN 'refunded' THEN amt WHEN 'partially_refunded' THEN amt / 3 ELSE 0 END,
            ts, ts, '{}'
       FROM (SELECT e.*, (ARRAY['paid','paid','paid','partially_refunded','refunded','cancelled','pending'])[1 + floor(random() * 7)::int] st,
                    (ARRAY['USD','USD','USD','EUR','GBP'])[1 + floor(random() * 5)::int] cur,
                    100 + floor(random() * 9900)::bigint amt
               FROM events e WHERE e.event = 'D' AND random() < 0.35) x;
     ANALYZE events; ANALYZE orders" >/dev/null
check "generated orders in every state" test "$(sql "SELECT count(DISTINCT state) FROM orders")" = 5

# sql_metrics TZ UNIT FROM TO [COND] -> per interval
# "dau,wau,mau,stickiness,active,new,payers,active_payers,repurchasers,orders,no_fx,gmv,net;..."
sql_metrics() {
  local tz=$1 unit=$2 from=$3 to=$4 cond=${5:-true}
  sql "CREATE OR REPLACE FUNCTION pg_temp.tr(x date) RETURNS date IMMUTABLE LANGUAGE sql AS \$\$ SELECT date_trunc('$unit', x)::date \$\$;
       WITH ev AS (SELECT DISTINCT coalesce(o.person_id, e.person_id) p, (e.ts AT TIME ZONE '$tz')::date d
                     FROM events e LEFT JOIN person_overrides o
                       ON o.project_id = e.project_id AND o.old_person_id = e.person_id WHERE $cond),
       f AS (SELECT p, min(d) fd FROM ev GROUP BY p),
       days AS (SELECT g::date d, pg_temp.tr(g::date) per FROM generate_series(pg_temp.tr(date '$from')::timestamp,
                  pg_temp.tr(date '$to' - 1)::timestamp + interval '1 $unit' - interval '1 day', interval '1 day') g),
       daily AS (SELECT days.d, days.per, (SELECT count(*) FROM ev WHERE ev.d = days.d) dau,
                   (SELECT count(DISTINCT p) FROM ev WHERE ev.d BETWEEN days.d - 6 AND days.d) wau,
                   (SELECT count(DISTINCT p) FROM ev WHERE ev.d BETWEEN days.d - 29 AND days.d) mau FROM days),
       ord AS (SELECT v.effective_person_id p, pg_temp.tr((v.ts AT TIME ZONE '$tz')::date) per,
                      v.net_minor > 0 AND NOT v.fx_missing paid, v.fx_missing nofx,
                      round(o.amount_minor * v.fx_rate * power(10::numeric, rc.exponent - oc.exponent)) gross,
                      v.net_reporting_minor net
                 FROM order_values v
                 JOIN orders o USING (project_id, person_id, source, external_id)
                 JOIN currencies oc ON oc.code = v.currency JOIN currencies rc ON rc.code = v.reporting_currency
                WHERE o.state NOT IN ('pending', 'cancelled')),
       payer AS MATERIALIZED (SELECT p, per, count(*) n FROM ord WHERE paid GROUP BY 1, 2),
       evp AS MATERIALIZED (SELECT DISTINCT p, pg_temp.tr(d) per FROM ev),
       actc AS MATERIALIZED (SELECT per, count(*) act FROM evp GROUP BY per),
       newc AS MATERIALIZED (SELECT pg_temp.tr(fd) per, count(*) nw FROM f GROUP BY 1),
       payc AS MATERIALIZED (SELECT per, count(*) pay, count(*) FILTER (WHERE n >= 2) rep FROM payer GROUP BY per),
       apayc AS MATERIALIZED (SELECT payer.per, count(*) apay FROM payer JOIN evp USING (p, per) GROUP BY 1),
       ordc AS MATERIALIZED (SELECT per, count(*) FILTER (WHERE paid) n_ord, count(*) FILTER (WHERE nofx) nofx,
                                    coalesce(sum(gross), 0) gmv, coalesce(sum(net), 0) net FROM ord GROUP BY per),
       agg AS (SELECT per, round(avg(dau), 6) dau, (array_agg(wau ORDER BY d DESC))[1] wau,
                      (array_agg(mau ORDER BY d DESC))[1] mau, round(avg(dau::numeric / nullif(mau, 0)), 9) stick
                 FROM daily GROUP BY per)
       SELECT string_agg(concat_ws(',', dau, wau, mau, coalesce(stick::text, ''), coalesce(act, 0), coalesce(nw, 0), coalesce(pay, 0),
                                   coalesce(apay, 0), coalesce(rep, 0), coalesce(n_ord, 0), coalesce(nofx, 0),
                                   coalesce(gmv, 0), coalesce(net, 0)), ';' ORDER BY per)
         FROM agg LEFT JOIN actc USING (per) LEFT JOIN newc USING (per) LEFT JOIN payc USING (per)
                  LEFT JOIN apayc USING (per) LEFT JOIN ordc USING (per)"
}
api_series() { node -e '
  let d="";process.stdin.on("data",c=>d+=c).on("end",()=>{const j=JSON.parse(d);
  console.log(j.series.map(s=>[s.dau.toFixed(6),s.wau,s.mau,s.stickiness==null?"":s.stickiness.toFixed(9),s.active,
    s.new_persons,s.payers,Math.round((s.paid_conversion||0)*s.active),Math.round((s.repurchase_rate||0)*s.payers),
    s.orders,s.orders_without_fx_rate,s.gmv_minor,s.net_revenue_minor].join(",")).join(";"))})' <<<"$BODY"; }

checks() { # $1: expected source
  rget "/v1/metrics?from=2026-01-03&to=2026-01-21&tz=UTC"
  check_eq "GET metrics 200" 200 "$STATUS"
  check_eq "answered from $1" "$1" "$(jget source <<<"$BODY")"
  check_eq "daily series equals SQL (DAU/WAU/MAU, new, payers, orders, GMV, net)" \
    "$(sql_metrics UTC day 2026-01-03 2026-01-21)" "$(api_series)"
  rget "/v1/metrics?from=2026-01-05&to=2026-02-16&tz=Asia/Shanghai&interval=week&event=B"
  check_eq "weekly, event B, Asia/Shanghai" \
    "$(sql_metrics Asia/Shanghai week 2026-01-05 2026-02-16 "event = 'B'")" "$(api_series)"
  rget "/v1/metrics?from=2026-01-01&to=2026-03-01&tz=Europe/Berlin&interval=month"
  check_eq "monthly, Europe/Berlin" "$(sql_metrics Europe/Berlin month 2026-01-01 2026-03-01)" "$(api_series)"
  rget "/v1/metrics?from=2026-03-04&to=2026-03-12&tz=America/New_York"
  check_eq "DST: America/New_York days across 2026-03-08" \
    "$(sql_metrics America/New_York day 2026-03-04 2026-03-12)" "$(api_series)"
}

checks_both_sources

# Summary and derived figures on one range.
rget "/v1/metrics?from=2026-01-03&to=2026-01-21&tz=UTC"
sum_sql=$(sql "WITH ev AS (SELECT DISTINCT coalesce(o.person_id, e.person_id) p, (e.ts AT TIME ZONE 'UTC')::date d
                             FROM events e LEFT JOIN person_overrides o
                               ON o.project_id = e.project_id AND o.old_person_id = e.person_id),
               f AS (SELECT p, min(d) c FROM ev GROUP BY p),
               coh AS (SELECT * FROM f WHERE c BETWEEN '2026-01-03' AND '2026-01-20'),
               ret AS (SELECT n, count(ev.p) r, count(*) s FROM coh CROSS JOIN generate_series(1, 7) n
                         LEFT JOIN ev ON ev.p = coh.p AND ev.d = coh.c + n
                        WHERE coh.c + n <= date '2026-01-20' GROUP BY n)
             SELECT (SELECT count(DISTINCT p) FROM ev WHERE d BETWEEN '2026-01-03' AND '2026-01-20') || ',' ||
                    (SELECT count(*) FROM coh) || ',' ||
                    (SELECT round(r::numeric / s, 12) FROM ret WHERE n = 1) || ',' ||
                    (SELECT round(r::numeric / s, 12) FROM ret WHERE n = 7)")
check_eq "summary: active, new persons, d1 and d7 retention equal SQL" "$sum_sql" \
  "$(node -e 'const s=JSON.parse(process.argv[1]).summary;console.log([s.active,s.new_persons,s.retention.d1.toFixed(12),s.retention.d7.toFixed(12)].join(","))' "$BODY")"
check_eq "summary: d30 null (no cohort reached day 30 inside the range)" null "$(jget summary.retention.d30 <<<"$BODY")"
check_eq "AOV = net revenue / orders, decimal text rounded" \
  "$(node -e 'const s=JSON.parse(process.argv[1]).summary;const a=s.net_revenue_minor/s.orders;console.log((Math.round(a)/100).toFixed(2))' "$BODY")" \
  "$(jget summary.aov <<<"$BODY")"
check_eq "ARPU = net revenue / active, ARPPU = net revenue / payers" "ok" \
  "$(node -e 'const s=JSON.parse(process.argv[1]).summary;console.log(Math.abs(s.arpu_minor-s.net_revenue_minor/s.active)<1e-9&&Math.abs(s.arppu_minor-s.net_revenue_minor/s.payers)<1e-9?"ok":"bad")' "$BODY")"
check_eq "net revenue decimal text" \
  "$(node -e 'const s=JSON.parse(process.argv[1]).summary;console.log((s.net_revenue_minor/100).toFixed(2))' "$BODY")" "$(jget summary.net_revenue <<<"$BODY")"
check_eq "currency and exponent" "USD 2" "$(jget currency <<<"$BODY") $(jget currency_exponent <<<"$BODY")"
check_match "no NaN anywhere" '^[^N]*$' "$BODY"

rget "/v1/metrics?from=2026-01-03&to=2026-01-06&tz=UTC&format=csv"
check_match "CSV header" '^start,dau,wau,mau,stickiness,active' "$BODY"
check_eq "CSV: 3 days + header" 4 "$(wc -l <<<"$BODY")"
rget "/v1/metrics?from=2030-01-01&to=2030-01-03&tz=UTC"
check_eq "future range: 200 with null DAU" "200 null" "$STATUS $(jget series.0.dau <<<"$BODY")"
rget "/v1/metrics?interval=year";       check_eq "interval=year: 400 naming interval" "400 interval" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/metrics?tz=Nowhere/City";     check_eq "bad tz: 400 naming tz" "400 tz" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/metrics?from=2026-01-32";     check_eq "bad from: 400 naming from" "400 from" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/metrics?periods=3";           check_eq "unknown parameter: 400 naming it" "400 periods" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/metrics?from=2020-01-01&to=2026-01-01"; check_eq "range too long: 400" 400 "$STATUS"
finish
