# Retention over the generated data set: every table the endpoint answers is
# compared with an independent plain-SQL computation (AT TIME ZONE and
# date_trunc, all history scanned), once from the in-memory store and once
# from PostgreSQL. A second generated block of persons around the 2026-03-08
# DST change checks America/New_York day boundaries.
source "$(dirname "$0")/lib.sh"
new_db; start_server || finish
proj=$(sql "SELECT project_id FROM projects WHERE name = 'default'")
psql -X -q "$DATABASE_URL" -v project="$proj" -v persons=20000 -v per=12 \
  -f "$(dirname "$0")/gen_events.sql" >/dev/null
# DST block: 400 new persons, events every ~7 h from 2026-03-05 local time,
# with some right around local midnight (23:30 / 00:30) where UTC and New
# York dates differ.
sql "SELECT setseed(0.17);
     INSERT INTO events (project_id, person_id, message_id, type, event, ts, received_at)
     SELECT $proj, 900000 + p, 'dst-' || p || '-' || k, 1, (ARRAY['A','B','C'])[1 + (p + k) % 3],
            (timestamp '2026-03-05 00:00' + (p % 5) * interval '1 day' + k * interval '7 hours'
             + CASE WHEN k % 4 = 0 THEN interval '-30 minutes' ELSE interval '30 minutes' END)
              AT TIME ZONE 'America/New_York', now()
       FROM generate_series(1, 400) p, generate_series(0, 40) k WHERE random() < 0.5;
     ANALYZE events" >/dev/null

# sql_retention TZ UNIT FROM TO PERIODS START_COND RETURN_COND MODE COHORT [WEEK_START]
# -> "size:c1,c2,...;size:..." for every cohort period (day/week/month) that
# overlaps [FROM, TO), where cN counts cohort entries returning in period
# c+N (n_day) or in c+N or later (unbounded).
sql_retention() {
  local tz=$1 unit=$2 from=$3 to=$4 n=$5 scond=$6 rcond=$7 mode=$8 cohort=$9 ws=${10:-monday}
  local trunc="date_trunc('$unit', x)::date" diff="a - b"
  [ "$unit" = week ] && [ "$ws" = sunday ] && trunc="(date_trunc('week', x + interval '1 day') - interval '1 day')::date"
  [ "$unit" = week ] && diff="(a - b) / 7"
  [ "$unit" = month ] && diff="(extract(year FROM a) * 12 + extract(month FROM a) - extract(year FROM b) * 12 - extract(month FROM b))::int"
  local src=starts; [ "$cohort" = first_time ] && src=firsts
  local hits="SELECT DISTINCT p, per, n k FROM r"
  [ "$mode" = unbounded ] && hits="SELECT p, per, generate_series(1, max(n)) k FROM r GROUP BY p, per"
  sql "CREATE OR REPLACE FUNCTION pg_temp.tr(x timestamp) RETURNS date LANGUAGE sql AS \$\$ SELECT ${trunc} \$\$;
       CREATE OR REPLACE FUNCTION pg_temp.df(a date, b date) RETURNS int LANGUAGE sql AS \$\$ SELECT ${diff} \$\$;
       WITH ev AS (SELECT coalesce(o.person_id, e.person_id) p, e.event, pg_temp.tr(e.ts AT TIME ZONE '$tz') per
                     FROM events e LEFT JOIN person_overrides o
                       ON o.project_id = e.project_id AND o.old_person_id = e.person_id),
       starts AS (SELECT DISTINCT p, per FROM ev WHERE $scond),
       firsts AS (SELECT p, min(per) per FROM starts GROUP BY p),
       periods AS (SELECT DISTINCT pg_temp.tr(g) per
                     FROM generate_series(timestamp '$from', timestamp '$to' - interval '1 day', interval '1 day') g),
       c AS (SELECT * FROM $src WHERE per IN (SELECT per FROM periods)),
       r AS (SELECT c.p, c.per, pg_temp.df(ev.per, c.per) n
               FROM c JOIN (SELECT DISTINCT p, per FROM ev WHERE $rcond) ev ON ev.p = c.p AND ev.per > c.per),
       h AS ($hits),
       cnt AS (SELECT per, k, count(*) v FROM h GROUP BY 1, 2 UNION ALL SELECT per, 0, count(*) FROM c GROUP BY 1),
       cells AS (SELECT pd.per, k, coalesce(cnt.v, 0) v FROM periods pd CROSS JOIN generate_series(0, $n) k
                   LEFT JOIN cnt USING (per, k))
       SELECT string_agg(row, ';' ORDER BY per) FROM (
         SELECT per, string_agg(v::text, CASE WHEN k = 1 THEN ':' ELSE ',' END ORDER BY k) row FROM cells GROUP BY per) x"
}
api_table() { node -e 'let d="";process.stdin.on("data",c=>d+=c).on("end",()=>{const j=JSON.parse(d);console.log(j.cohorts.map(c=>c.counts[0]+":"+c.counts.slice(1).join(",")).join(";"))})' <<<"$BODY"; }

checks() { # $1: expected source
  rget "/v1/retention?from=2026-01-03&to=2026-01-13&tz=UTC&periods=10"
  check_eq "GET retention 200" 200 "$STATUS"
  check_eq "answered from $1" "$1" "$(jget source <<<"$BODY")"
  check_eq "daily first-time any/any equals SQL (cohorts before from excluded)" \
    "$(sql_retention UTC day 2026-01-03 2026-01-13 10 true true n_day first_time)" "$(api_table)"
  check "non-trivial table" node -e 'const j=JSON.parse(process.argv[1]);process.exit(j.cohorts.length==10&&j.cohorts[0].size>100&&j.cohorts[0].counts[1]>10?0:1)' "$BODY"
  check_eq "average[1] = retained / size of complete cohorts" ok \
    "$(node -e 'const j=JSON.parse(process.argv[1]);console.log(Math.abs(j.average.rates[1]-j.average.retained[1]/j.average.size[1])<1e-12?"ok":"bad")' "$BODY")"
  check_eq "day_n.d1 is the weighted average of column 1" "$(jget average.rates.1 <<<"$BODY")" "$(jget day_n.d1 <<<"$BODY")"
  check_eq "day_n.d30 null without a column 30" null "$(jget day_n.d30 <<<"$BODY")"

  rget "/v1/retention?start_event=A&return_event=B&from=2026-01-01&to=2026-01-15&tz=UTC&periods=14"
  check_eq "start A, return B, first-time" \
    "$(sql_retention UTC day 2026-01-01 2026-01-15 14 "event = 'A'" "event = 'B'" n_day first_time)" "$(api_table)"
  rget "/v1/retention?start_event=A&return_event=B&from=2026-01-01&to=2026-01-15&tz=UTC&periods=14&mode=unbounded"
  check_eq "start A, return B, unbounded" \
    "$(sql_retention UTC day 2026-01-01 2026-01-15 14 "event = 'A'" "event = 'B'" unbounded first_time)" "$(api_table)"
  rget "/v1/retention?start_event=C&return_event=any&from=2026-01-10&to=2026-01-20&tz=Asia/Shanghai&periods=7&cohort=recurring"
  check_eq "recurring cohorts, Asia/Shanghai" \
    "$(sql_retention Asia/Shanghai day 2026-01-10 2026-01-20 7 "event = 'C'" true n_day recurring)" "$(api_table)"
  rget "/v1/retention?start_event=A&period=week&periods=3&from=2026-01-07&to=2026-01-28&tz=UTC"
  check_eq "weekly (ISO weeks, whole weeks around from/to)" \
    "$(sql_retention UTC week 2026-01-07 2026-01-28 3 "event = 'A'" true n_day first_time)" "$(api_table)"
  rget "/v1/retention?start_event=A&period=week&periods=3&from=2026-01-07&to=2026-01-28&tz=UTC&week_start=sunday&cohort=recurring"
  check_eq "weekly, Sunday weeks, recurring" \
    "$(sql_retention UTC week 2026-01-07 2026-01-28 3 "event = 'A'" true n_day recurring sunday)" "$(api_table)"
  rget "/v1/retention?period=month&periods=2&from=2026-01-01&to=2026-03-01&tz=Europe/Berlin&mode=unbounded"
  check_eq "monthly, unbounded, Europe/Berlin" \
    "$(sql_retention Europe/Berlin month 2026-01-01 2026-03-01 2 true true unbounded first_time)" "$(api_table)"
  rget "/v1/retention?from=2026-03-05&to=2026-03-12&tz=America/New_York&periods=6"
  check_eq "DST: America/New_York days across 2026-03-08" \
    "$(sql_retention America/New_York day 2026-03-05 2026-03-12 6 true true n_day first_time)" "$(api_table)"
  check_eq "DST: the 2026-03-08 cohort starts at 05:00Z, 2026-03-09 at 04:00Z" "2026-03-08 2026-03-09" \
    "$(jget cohorts.3.start <<<"$BODY") $(jget cohorts.4.start <<<"$BODY")"
}

checks_both_sources

rget "/v1/retention?from=2026-01-03&to=2026-01-06&tz=UTC&periods=2&format=csv"
check_match "CSV: long format with a header" '^cohort_start,size,period,count,rate,complete' "$BODY"
check_eq "CSV: 3 cohorts x 3 columns + 3 average rows + header" 13 "$(wc -l <<<"$BODY")"
rget "/v1/retention?periods=0";          check_eq "periods=0: 400 naming periods" "400 periods" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/retention?periods=-3";         check_eq "periods<0: 400" 400 "$STATUS"
rget "/v1/retention?period=year";        check_eq "period=year: 400 naming period" "400 period" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/retention?mode=sometimes";     check_eq "bad mode: 400 naming mode" "400 mode" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/retention?cohort=all";         check_eq "bad cohort: 400 naming cohort" "400 cohort" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/retention?week_start=friday";  check_eq "bad week_start: 400" "400 week_start" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/retention?tz=Mars/Base";       check_eq "bad tz: 400 naming tz" "400 tz" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/retention?from=yesterday";     check_eq "bad from: 400 naming from" "400 from" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/retention?from=2026-02-01&to=2026-01-01"; check_eq "from after to: 400" 400 "$STATUS"
rget "/v1/retention?colour=red";         check_eq "unknown parameter: 400 naming it" "400 colour" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/retention?from=2020-01-01&to=2026-01-01&periods=300"; check_eq "too long a calendar: 400" 400 "$STATUS"
req GET "/v1/retention" "" -u "$WK:";    check_eq "write key on a read route: 403" 403 "$STATUS"
finish
