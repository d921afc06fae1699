# Funnels over a generated data set, each answer compared with an independent
# plain-SQL computation of the same question (greedy earliest-match per
# attempt is exact for distinct step events).
source "$(dirname "$0")/lib.sh"
new_db; start_server || finish
proj=$(sql "SELECT project_id FROM projects WHERE name = 'default'")
psql -X -q "$DATABASE_URL" -v project="$proj" -v persons=20000 -v per=12 \
  -f "$(dirname "$0")/gen_events.sql" >/dev/null
check "generated a few hundred thousand events" test "$(sql "SELECT count(*) > 150000 FROM events")" = t

# sql_funnel FROM TO WINDOW_SECONDS FILTER_SQL: per-person depth of A -> B -> C.
sql_funnel() {
  sql "CREATE TEMP TABLE ev AS SELECT coalesce(o.person_id, e.person_id) p, e.event, e.ts, e.properties
         FROM events e LEFT JOIN person_overrides o
           ON o.project_id = e.project_id AND o.old_person_id = e.person_id;
       CREATE INDEX ON ev (p, event, ts); ANALYZE ev;
       WITH s1 AS (SELECT p, ts t1 FROM ev WHERE event = 'A' AND ts >= '$1' AND ts < '$2' $4),
       s2 AS (SELECT s1.p, t1, (SELECT min(ts) FROM ev WHERE ev.p = s1.p AND event = 'B'
                                  AND ts >= t1 AND ts <= t1 + interval '$3 seconds') t2 FROM s1),
       s3 AS (SELECT s2.p, t1, t2, (SELECT min(ts) FROM ev WHERE ev.p = s2.p AND event = 'C'
                                  AND ts >= t2 AND ts <= t1 + interval '$3 seconds') t3 FROM s2),
       depth AS (SELECT p, max(CASE WHEN t3 IS NOT NULL THEN 3 WHEN t2 IS NOT NULL THEN 2 ELSE 1 END) d
                   FROM s3 GROUP BY p)
  SELECT count(*) FILTER (WHERE d >= 1) || ',' || count(*) FILTER (WHERE d >= 2) || ',' || count(*) FILTER (WHERE d >= 3) FROM depth"
}
counts() { jget steps <<<"$BODY" | node -e 'let d="";process.stdin.on("data",c=>d+=c).on("end",()=>console.log(JSON.parse(d).map(s=>s.count).join(",")))'; }

# wait_store N: the in-memory store holds N events (rows written by psql are
# picked up by its poll of recent rows).
checks() { # $1: expected source of simple funnels (store|postgres)
rget "/v1/funnels?steps=A,B,C&window=2d&from=2026-01-05&to=2026-01-25&tz=UTC"
check_eq "GET funnel 200" 200 "$STATUS"
check_eq "simple funnel answered from $1" "$1" "$(jget source <<<"$BODY")"
check_eq "ordered A,B,C window 2d equals SQL" "$(sql_funnel 2026-01-05 2026-01-25 172800 '')" "$(counts)"
check_eq "conversion_from_start of step 1 is 1" 1 "$(jget steps.0.conversion_from_start <<<"$BODY")"

rget "/v1/funnels?steps=A,B,C&window=6h&from=2026-01-01&to=2026-02-15&tz=UTC"
check_eq "ordered A,B,C window 6h equals SQL" "$(sql_funnel 2026-01-01 2026-02-15 21600 '')" "$(counts)"

req POST /v1/funnels '{"steps":[{"event":"A","filters":[{"property":"properties.plan","op":"eq","value":"pro"}]},"B","C"],"window":"3d","from":"2026-01-05T00:00:00Z","to":"2026-01-20T00:00:00Z"}' \
  "${JSON[@]}" -H "Authorization: Bearer $RK"
check_eq "POST funnel with a step filter 200" 200 "$STATUS"
check_eq "step filter (plan = pro on step 1) equals SQL" \
  "$(sql_funnel 2026-01-05 2026-01-20 259200 "AND properties->>'plan' = 'pro'")" "$(counts)"

req POST /v1/funnels '{"steps":["A","B","C"],"window":"2d","from":"2026-01-05","to":"2026-01-25","tz":"UTC","breakdown":"context.campaign.source"}' \
  "${JSON[@]}" -H "Authorization: Bearer $RK"
total=$(counts)
check_eq "breakdown: 4 campaign sources" 4 "$(jget breakdown.values <<<"$BODY" | node -e 'let d="";process.stdin.on("data",c=>d+=c).on("end",()=>console.log(JSON.parse(d).length))')"
check_eq "breakdown step counts add up to the totals" "$total" \
  "$(jget breakdown.values <<<"$BODY" | node -e 'let d="";process.stdin.on("data",c=>d+=c).on("end",()=>{const v=JSON.parse(d);const s=[0,0,0];for(const b of v)b.steps.forEach((x,i)=>s[i]+=x.count);console.log(s.join(","))})')"

rget "/v1/funnels?steps=A,B&window=2d&from=2026-01-05&to=2026-01-25&tz=UTC&format=csv"
check_match "CSV funnel" '^breakdown,step,event,count' "$BODY"

# Time zones shift the range: Asia/Shanghai midnight is 16:00 UTC the day before.
rget "/v1/funnels?steps=A,B,C&window=2d&from=2026-01-05&to=2026-01-25&tz=Asia/Shanghai"
check_eq "tz=Asia/Shanghai shifts the range by 8 h" \
  "$(sql_funnel '2026-01-04 16:00:00+00' '2026-01-24 16:00:00+00' 172800 '')" "$(counts)"

# bad input
}

n_events=$(sql "SELECT count(*) FROM events")
check "the store picks up rows written by another writer (psql)" wait_store "$n_events"
T_FILE=t_funnels[store] checks store
stop_server
start_server COHORTD_STORE=0 || finish
T_FILE=t_funnels[postgres] checks postgres
stop_server
# A 1 s margin: the generated rows are older than two margins by now.
start_server COHORTD_STORE_MARGIN=1 || finish
check "the store loads every event at start-up" wait_store "$n_events"
# All generated rows share one received_at: the 1 s poll re-reads them and
# must recognise every one (regression: they were added again each second).
sleep 2.5
check "polls do not add rows the store already holds" wait_store "$n_events"
wpost /v1/track '{"userId":"late","event":"A","messageId":"late-1","timestamp":"2026-01-10T00:00:00Z","context":{"campaign":{"source":"google"}}}'
wpost /v1/track '{"userId":"late","event":"B","messageId":"late-2","timestamp":"2026-01-10T01:00:00Z","context":{"campaign":{"source":"google"}}}'
check_eq "late events acknowledged" 200 "$STATUS"
check "rows this process writes reach the store" wait_store "$((n_events + 2))"
[ "$T_FAILS" = 0 ] || echo "  # store at failure: $(grep '^cohortd_store' <<<"$BODY" | tr '\n' ' ') events in PostgreSQL: $(sql "SELECT count(*) FROM events")"
T_FILE=t_funnels[store+ingest] checks store

rget "/v1/funnels?steps=A,B&window=0d";      check_eq "window 0: 400 naming window" "400 window" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/funnels?steps=A,B&tz=Mars/Base";   check_eq "bad tz: 400 naming tz" "400 tz" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/funnels?steps=A,B&from=yesterday"; check_eq "bad from: 400 naming from" "400 from" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/funnels?steps=A,B&colour=red";     check_eq "unknown parameter: 400 naming it" "400 colour" "$STATUS $(jget error.field <<<"$BODY")"
rget "/v1/funnels?steps=$(seq -s, 1 21)";   check_eq "21 steps: 400" 400 "$STATUS"
rget "/v1/funnels?steps=A,B&breakdown=plan"; check_eq "bad breakdown path: 400" "400 breakdown" "$STATUS $(jget error.field <<<"$BODY")"
req GET "/v1/funnels?steps=A" "" -u "$WK:"; check_eq "write key on a read route: 403" 403 "$STATUS"
finish
