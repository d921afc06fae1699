# Lifecycle (new / returning / resurrecting / dormant) over the generated data
# set, compared with an independent plain-SQL computation over all history,
# from the in-memory store and from PostgreSQL; includes days across the
# 2026-03-08 DST change in America/New_York.
source "$(dirname "$0")/lib.sh"
new_db; start_server || finish
proj=$(sql "SELECT project_id FROM projects WHERE name = 'default'")
psql -X -q "$DATABASE_URL" -v project="$proj" -v persons=20000 -v per=12 \
  -f "$(dirname "$0")/gen_events.sql" >/dev/null
# DST block: persons active every few days around 2026-03-08, some events at
# 23:30 / 00:30 New York time, where UTC and local dates differ.
sql "SELECT setseed(0.23);
     INSERT INTO events (project_id, person_id, message_id, type, event, ts, received_at)
     SELECT $proj, 900000 + p, 'dst-' || p || '-' || k, 1, (ARRAY['A','B','C'])[1 + (p + k) % 3],
            (timestamp '2026-03-03 00:00' + (p % 7) * interval '1 day' + k * interval '19 hours'
             + CASE WHEN k % 3 = 0 THEN interval '-30 minutes' ELSE interval '30 minutes' END)
              AT TIME ZONE 'America/New_York', now()
       FROM generate_series(1, 500) p, generate_series(0, 20) k WHERE random() < 0.4;
     ANALYZE events" >/dev/null

# sql_lifecycle TZ UNIT FROM TO COND [WEEK_START] -> "new,returning,resurrecting,dormant;..."
# per period overlapping [FROM, TO); first activity over all history.
sql_lifecycle() {
  local tz=$1 unit=$2 from=$3 to=$4 cond=$5 ws=${6:-monday}
  local trunc="date_trunc('$unit', x)::date" step="interval '1 $unit'"
  [ "$unit" = week ] && [ "$ws" = sunday ] && trunc="(date_trunc('week', x + interval '1 day') - interval '1 day')::date"
  sql "CREATE OR REPLACE FUNCTION pg_temp.tr(x timestamp) RETURNS date IMMUTABLE LANGUAGE sql AS \$\$ SELECT ${trunc} \$\$;
       WITH act AS (SELECT DISTINCT coalesce(o.person_id, e.person_id) p, pg_temp.tr(e.ts AT TIME ZONE '$tz') per
                      FROM events e LEFT JOIN person_overrides o
                        ON o.project_id = e.project_id AND o.old_person_id = e.person_id WHERE $cond),
       a AS (SELECT p, per, (per - $step)::date prv, (per + $step)::date nxt,
                    min(per) OVER (PARTITION BY p) fp FROM act),
       cur AS (SELECT a.per, a.per = a.fp is_new, b.p IS NOT NULL had_prev
                 FROM a LEFT JOIN act b ON b.p = a.p AND b.per = a.prv),
       gone AS (SELECT a.nxt per, count(*) n FROM a LEFT JOIN act b ON b.p = a.p AND b.per = a.nxt
                 WHERE b.p IS NULL GROUP BY 1),
       periods AS (SELECT DISTINCT pg_temp.tr(g) per
                     FROM generate_series(timestamp '$from', timestamp '$to' - interval '1 day', interval '1 day') g)
       SELECT string_agg(concat_ws(',', n, rt, rs, d), ';' ORDER BY per) FROM (
         SELECT pd.per,
                (SELECT count(*) FROM cur WHERE cur.per = pd.per AND is_new) n,
                (SELECT count(*) FROM cur WHERE cur.per = pd.per AND NOT is_new AND had_prev) rt,
                (SELECT count(*) FROM cur WHERE cur.per = pd.per AND NOT is_new AND NOT had_prev) rs,
                -coalesce((SELECT n FROM gone WHERE gone.per = pd.per), 0) d
           FROM periods pd) x"
}
api_rows() { node -e 'let d="";process.stdin.on("data",c=>d+=c).on("end",()=>{const j=JSON.parse(d);console.log(j.periods.map(p=>[p.new,p.returning,p.resurrecting,p.dormant].join(",")).join(";"))})' <<<"$BODY"; }

checks() { # $1: expected source
  rget "/v1/lifecycle?from=2026-01-05&to=2026-01-25&tz=UTC"
  check_eq "GET lifecycle 200" 200 "$STATUS"
  check_eq "answered from $1" "$1" "$(jget source <<<"$BODY")"
  check_eq "daily, any event, UTC equals SQL" "$(sql_lifecycle UTC day 2026-01-05 2026-01-25 true)" "$(api_rows)"
  check_eq "active = new + returning + resurrecting" \
    "$(node -e 'const p=JSON.parse(process.argv[1]).periods[3];console.log(p.new+p.returning+p.resurrecting)' "$BODY")" \
    "$(jget periods.3.active <<<"$BODY")"
  rget "/v1/lifecycle?event=B&from=2026-01-02&to=2026-02-20&tz=Asia/Shanghai&period=week"
  check_eq "weekly, event B, Asia/Shanghai" \
    "$(sql_lifecycle Asia/Shanghai week 2026-01-02 2026-02-20 "event = 'B'")" "$(api_rows)"
  rget "/v1/lifecycle?event=A&from=2026-01-02&to=2026-02-20&tz=UTC&period=week&week_start=sunday"
  check_eq "weekly, Sunday weeks" \
    "$(sql_lifecycle UTC week 2026-01-02 2026-02-20 "event = 'A'" sunday)" "$(api_rows)"
  rget "/v1/lifecycle?from=2026-01-01&to=2026-04-01&tz=Europe/Berlin&period=month"
  check_eq "monthly, Europe/Berlin" \
    "$(sql_lifecycle Europe/Berlin month 2026-01-01 2026-04-01 true)" "$(api_rows)"
  rget "/v1/lifecycle?from=2026-03-04&to=2026-03-12&tz=America/New_York"
  check_eq "DST: America/New_York days across 2026-03-08" \
    "$(sql_lifecycle America/New_York day 2026-03-04 2026-03-12 true)" "$(api_rows)"
}

checks_both_sources

rget "/v1/lifecycle?from=2026-01-05&to=2026-01-08&tz=UTC&format=csv"
check_match "CSV header" '^period_start,new,returning,resurrecting,dormant' "$BODY"
check_eq "CSV: 3 days + header" 4 "$(wc -l <<<"$BODY")"
rget "/v1/lifecycle?period=hour";       check_eq "period=hour: 400 naming period" "400 period" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/lifecycle?tz=Mars/Base";      check_eq "bad tz: 400 naming tz" "400 tz" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/lifecycle?to=2026-13-01";     check_eq "bad to: 400 naming to" "400 to" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/lifecycle?steps=A";           check_eq "unknown parameter: 400 naming it" "400 steps" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/lifecycle?format=xml";        check_eq "bad format: 400" "400 format" "$STATUS $(jget error.field <<<"$BODY")"
finish
