# Segments: RFM (rfm11, rfm8), lifecycle, value pyramid, AARRR, AIPL over
# real events and orders. Every count is checked against an independent
# plain-SQL computation of the documented rules (the t_* views below) or a
# hand-computed value; stored scores must equal a fresh=true computation;
# lists paginate without loss or duplicates while a run rewrites scores.
source "$(dirname "$0")/lib.sh"
new_db; start_server || finish

day() { date -u -d "today -$1 days" +%Y-%m-%dT12:00:00Z; }   # N days ago, noon UTC
msgs=()
ev()  { msgs+=("{\"type\":\"track\",\"userId\":\"$1\",\"event\":\"$2\",\"timestamp\":\"$(day "$3")\"${4:+,\"properties\":$4}}"); }
pg()  { msgs+=("{\"type\":\"page\",\"${3:-userId}\":\"$1\",\"name\":\"P\",\"timestamp\":\"$(day "$2")\"}"); }
order() { # order USER ID DAYS_AGO AMOUNT_MINOR STATUS [REFUNDED_MINOR]
  wpost /v1/orders "{\"orderId\":\"$2\",\"userId\":\"$1\",\"amountMinor\":$4,\"currency\":\"USD\",\"status\":\"$5\",\"timestamp\":\"$(day "$3")\"${6:+,\"refundedAmountMinor\":$6}}"
  [ "$STATUS" = 200 ] || fail "order $2 stored" "$STATUS $BODY"
}

# --- a hand-designed population (days ago) ---
for d in 100 60 30 20 10 9 8 7 6 5 4 3 2 1 0; do pg a01 $d; done        # mature: 13 active days of 30
ev a02 Activated 2; pg a02 2                                          # new
pg a03 60; pg a03 40                                                  # dormant (idle 40)
pg a04 200; pg a04 120                                                # churned (idle 120)
pg a05 20; ev a05 "Product Added" 1                                   # growing, interest
pg a06 10                                                             # refunded-only buyer
pg a07 300                                                            # churned loyal (2 orders)
pg a08 400                                                            # bought before the look-back
ev a09 Activated 5; ev a09 "Signed Up" 5 '{"referrer_id":"a01"}'       # referred by a01
pg a10 25; ev a10 "Signed Up" 25 '{"referrer_id":"a01"}'              # referred by a01
pg a11 3; pg a12 2
pg a13 15; pg anon-2 14 anonymousId                                   # two persons ...
msgs+=("{\"type\":\"identify\",\"userId\":\"a13\",\"anonymousId\":\"anon-2\",\"traits\":{\"plan\":\"pro\"},\"timestamp\":\"$(day 0)\"}")
for i in $(seq 1 10); do pg "b$i" $((i * 7)); done
batch=$(IFS=,; echo "${msgs[*]}")
wpost /v1/batch "{\"batch\":[$batch]}"
check_eq "population ingested" 200 "$STATUS"
order a01 o1 90 5000 paid; order a01 o2 40 3000 paid; order a01 o3 5 2000 paid
order a02 o4 1 1500 paid; order a03 o5 45 800 paid; order a04 o6 150 10000 paid
order a06 o7 10 2000 refunded 2000
order a07 o8 300 1000 paid; order a07 o9 250 1000 paid
order a08 o10 400 9000 paid
order a11 o11 3 4000 partially_refunded 1000
order a12 o12 2 7000 pending
order anon-2 o13 14 2500 paid                                         # the merged person's order
for i in $(seq 1 10); do order "b$i" "ob$i" $((i * 7)) $((i * 1000)) paid; done

# --- independent SQL: the documented rules, written plainly ---
sql "CREATE VIEW t_ev AS SELECT coalesce(o.person_id, e.person_id) AS pid,
       (e.ts AT TIME ZONE 'UTC')::date AS d, e.event, e.type, e.properties
     FROM events e LEFT JOIN person_overrides o ON o.project_id = e.project_id AND o.old_person_id = e.person_id;
CREATE VIEW t_ord AS SELECT coalesce(o.person_id, x.person_id) AS pid,
       (x.ts AT TIME ZONE 'UTC')::date AS d, x.net_minor AS net
     FROM orders x LEFT JOIN person_overrides o ON o.project_id = x.project_id AND o.old_person_id = x.person_id;
CREATE VIEW t_p AS
  WITH a AS (SELECT (now() AT TIME ZONE 'UTC')::date AS asof),
  act AS (SELECT pid, d FROM t_ev UNION ALL SELECT pid, d FROM t_ord)
  SELECT p.pid, a.asof - min(p.d) AS age, a.asof - max(p.d) AS idle,
    (SELECT count(DISTINCT d) FROM t_ev e WHERE e.pid = p.pid AND e.d > a.asof - 30) AS active_days,
    (SELECT count(*) FROM t_ord o WHERE o.pid = p.pid AND o.net > 0) AS paid,
    (SELECT count(*) FROM t_ord o WHERE o.pid = p.pid AND o.net > 0 AND o.d > a.asof - 365) AS f,
    (SELECT coalesce(sum(net), 0) FROM t_ord o WHERE o.pid = p.pid AND o.net > 0 AND o.d > a.asof - 365) AS m,
    (SELECT a.asof - max(d) FROM t_ord o WHERE o.pid = p.pid AND o.net > 0 AND o.d > a.asof - 365) AS r,
    (SELECT coalesce(sum(net), 0) FROM t_ord o WHERE o.pid = p.pid) AS ltv,
    EXISTS (SELECT 1 FROM t_ev e WHERE e.pid = p.pid AND e.event = 'Activated') AS activated,
    EXISTS (SELECT 1 FROM t_ev e WHERE e.pid = p.pid AND e.type IN (3, 4)) AS aware,
    EXISTS (SELECT 1 FROM t_ev e WHERE e.pid = p.pid AND e.event IN ('Product Added', 'Product Added to Wishlist', 'Products Searched')) AS interested,
    (SELECT count(DISTINCT e.pid) FROM t_ev e JOIN identities i ON i.distinct_id = e.properties->>'referrer_id'
       LEFT JOIN person_overrides o ON o.old_person_id = i.person_id
      WHERE e.event = 'Signed Up' AND coalesce(o.person_id, i.person_id) = p.pid) AS referees,
    a.asof - min(p.d) AS first_ago, a.asof - max(p.d) AS last_ago
  FROM act p, a GROUP BY p.pid, a.asof;
CREATE VIEW t_stage AS SELECT pid, CASE WHEN idle > 90 THEN 'churned' WHEN idle >= 30 THEN 'dormant'
    WHEN age < 7 THEN 'new' WHEN age > 30 AND (paid >= 2 OR active_days >= 10) THEN 'mature'
    ELSE 'growing' END AS stage FROM t_p;
CREATE VIEW t_rfm AS WITH s AS (SELECT pid, f, m, r,
    1 + (10 * (rank() OVER (ORDER BY r DESC) - 1) + 5 * count(*) OVER (PARTITION BY r)) / (2 * count(*) OVER ()) AS rs,
    1 + (10 * (rank() OVER (ORDER BY f) - 1) + 5 * count(*) OVER (PARTITION BY f)) / (2 * count(*) OVER ()) AS fs,
    1 + (10 * (rank() OVER (ORDER BY m) - 1) + 5 * count(*) OVER (PARTITION BY m)) / (2 * count(*) OVER ()) AS ms,
    r <= avg(r) OVER () AS rh, f >= avg(f) OVER () AS fh, m >= avg(m) OVER () AS mh
    FROM t_p WHERE f > 0 AND m > 0)
  SELECT pid, rs, fs, ms, (fs + ms + 1) / 2 AS fm,
    CASE WHEN rs = 5 AND (fs + ms + 1) / 2 >= 4 THEN 'champions'
         WHEN rs = 5 AND (fs + ms + 1) / 2 = 1 THEN 'new_customers'
         WHEN rs >= 4 AND (fs + ms + 1) / 2 IN (2, 3) THEN 'potential_loyalist'
         WHEN rs = 4 AND (fs + ms + 1) / 2 = 1 THEN 'promising'
         WHEN rs IN (3, 4) AND (fs + ms + 1) / 2 >= 4 THEN 'loyal_customers'
         WHEN rs = 3 AND (fs + ms + 1) / 2 = 3 THEN 'need_attention'
         WHEN rs = 3 THEN 'about_to_sleep'
         WHEN (fs + ms + 1) / 2 = 5 THEN 'cant_lose_them'
         WHEN (fs + ms + 1) / 2 IN (3, 4) THEN 'at_risk'
         WHEN rs = 1 AND (fs + ms + 1) / 2 = 1 THEN 'lost'
         ELSE 'hibernating' END AS seg11,
    (CASE WHEN mh THEN 'important_' ELSE 'general_' END) ||
    (CASE WHEN rh AND fh THEN 'value' WHEN rh THEN 'develop' WHEN fh THEN 'retain' ELSE 'winback' END) AS seg8
  FROM s;
CREATE VIEW t_tier AS SELECT p.pid, CASE WHEN p.m <= 0 THEN 'non_payers'
    WHEN g.g * 10000 < 100 * g.n THEN 'top_1pct' WHEN g.g * 10000 < 500 * g.n THEN 'next_4pct'
    WHEN g.g * 10000 < 2000 * g.n THEN 'next_15pct' ELSE 'remaining_payers' END AS tier
  FROM t_p p LEFT JOIN (SELECT pid, rank() OVER (ORDER BY m DESC) - 1 AS g, count(*) OVER () AS n
                          FROM t_p WHERE m > 0) g USING (pid);
CREATE VIEW t_aipl AS SELECT pid, CASE WHEN paid >= 2 THEN 'loyalty' WHEN paid >= 1 THEN 'purchase'
    WHEN interested THEN 'interest' WHEN aware THEN 'awareness' ELSE 'none' END AS stage FROM t_p;" >/dev/null

# --- a stored run ---
req POST /v1/scores/run "" -H "Authorization: Bearer $RK"
check_eq "POST /v1/scores/run answers 202" 202 "$STATUS"
run=$(jget run_id <<<"$BODY")
for _ in $(seq 100); do rget "/v1/scores/runs/$run"; [ "$(jget status <<<"$BODY")" = done ] && break; sleep 0.1; done
check_eq "the run finishes" done "$(jget status <<<"$BODY")"

# sizes of a kind from the endpoint as "code=persons" lines
sizes() { node -e 'let d="";process.stdin.on("data",c=>d+=c).on("end",()=>{for(const s of JSON.parse(d).segments)console.log(s.code+"="+s.persons)})' | sort; }
# the same from SQL: sqlsizes "SELECT code, count(*) ..." (codes with 0 persons are filled in)
sqlsizes() { local codes=$1; shift
  join -a1 -t= -e0 -o 1.1,2.2 <(tr ' ' '\n' <<<"$codes" | sort) <(sql "$1" | tr '|' '=' | sort) | sort; }

rget "/v1/segments/lifecycle"
check_eq "lifecycle from stored scores" stored "$(jget source <<<"$BODY")"
check_eq "lifecycle sizes = SQL rules" "$(sqlsizes "new growing mature dormant churned" "SELECT stage, count(*) FROM t_stage GROUP BY 1")" "$(sizes <<<"$BODY")"
check_eq "hand-computed stages" "a01=mature a02=new a03=dormant a04=churned a05=growing" \
  "$(sql "SELECT string_agg(i.distinct_id || '=' || s.lifecycle, ' ' ORDER BY i.distinct_id) FROM person_scores s JOIN identities i ON i.person_id = s.person_id WHERE i.distinct_id IN ('a01','a02','a03','a04','a05')")"
check_match "lifecycle states the mature rule with its numbers" 'age > 30\) and \(paid orders >= 2 or active on >= 10 of the last 30 days' "$BODY"
check_eq "stored lifecycle per person = SQL rules" 0 "$(sql "SELECT count(*) FROM t_stage t FULL JOIN (SELECT person_id, lifecycle FROM person_scores WHERE run_id = $run) s ON s.person_id = t.pid WHERE s.lifecycle IS DISTINCT FROM t.stage")"

rget "/v1/segments/rfm"
check_eq "rfm11 sizes = SQL quintiles and grid" \
  "$(sqlsizes "champions loyal_customers potential_loyalist new_customers promising need_attention about_to_sleep at_risk cant_lose_them hibernating lost" "SELECT seg11, count(*) FROM t_rfm GROUP BY 1")" "$(sizes <<<"$BODY")"
check_eq "rfm11 scored count = persons with net-paid orders in 365 days" "$(sql "SELECT count(*) FROM t_p WHERE f > 0")" "$(jget scored <<<"$BODY")"
check_eq "stored R/F/M scores per person = SQL" 0 "$(sql "SELECT count(*) FROM t_rfm t FULL JOIN (SELECT * FROM person_scores WHERE run_id = $run AND rfm_r IS NOT NULL) s ON s.person_id = t.pid WHERE (s.rfm_r, s.rfm_f, s.rfm_m, s.rfm_fm, s.rfm11, s.rfm8) IS DISTINCT FROM (t.rs, t.fs, t.ms, t.fm, t.seg11, t.seg8)")"
check_eq "revenue of the rfm11 segments = SQL sum of M" "$(sql "SELECT sum(m) FROM t_p WHERE f > 0")" "$(jget revenue <<<"$BODY")"
check_eq "refunded-only buyer and old buyer are unscored" "a06|||0 a08|||9000" \
  "$(sql "SELECT string_agg(i.distinct_id || '|' || coalesce(s.rfm11, '') || '|' || coalesce(s.rfm_r::text, '') || '|' || s.ltv_historical, ' ' ORDER BY 1) FROM person_scores s JOIN identities i ON i.person_id = s.person_id WHERE i.distinct_id IN ('a06','a08') AND s.run_id = $run")"
check_eq "partial refund counts net (4000 - 1000)" 3000 "$(sql "SELECT rfm_monetary FROM person_scores s JOIN identities i USING (person_id) WHERE i.distinct_id = 'a11'")"

rget "/v1/segments/rfm?scheme=rfm8"
check_eq "rfm8 sizes = SQL mean split" \
  "$(sqlsizes "important_value important_develop important_retain important_winback general_value general_develop general_retain general_winback" "SELECT seg8, count(*) FROM t_rfm GROUP BY 1")" "$(sizes <<<"$BODY")"
check_eq "rfm8 thresholds are the SQL means" "$(sql "SELECT round(avg(f)::numeric, 6) || ' ' || round(avg(m)::numeric, 2) FROM t_p WHERE f > 0")" \
  "$(node -e 'const t=JSON.parse(require("fs").readFileSync(0)).thresholds;console.log(t.frequency.toFixed(6)+" "+t.monetary.toFixed(2))' <<<"$BODY")"
check_match "rfm8 answers Chinese labels" '"label_zh":"重要价值客户"' "$BODY"
rget "/v1/segments/rfm?scheme=rfm8&split=median"
check_eq "split=median is computed live" live "$(jget source <<<"$BODY")"
check_eq "median F threshold = SQL median" "$(sql "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY f) FROM t_p WHERE f > 0")" "$(jget thresholds.frequency <<<"$BODY")"

rget "/v1/segments/pyramid"
check_eq "pyramid tiers = SQL rank cuts" \
  "$(sqlsizes "top_1pct next_4pct next_15pct remaining_payers non_payers" "SELECT tier, count(*) FROM t_tier GROUP BY 1")" "$(sizes <<<"$BODY")"
check_eq "pyramid payer revenue = SQL" "$(sql "SELECT sum(m) FROM t_p WHERE m > 0")" "$(jget revenue <<<"$BODY")"
check_eq "top tier (three tied payers) revenue share = SQL" "$(sql "SELECT round((sum(p.m) FILTER (WHERE t.tier = 'top_1pct'))::numeric / sum(p.m), 9) FROM t_p p JOIN t_tier t USING (pid) WHERE p.m > 0")" \
  "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).segments[0].revenue_share.toFixed(9))' <<<"$BODY")"

rget "/v1/segments/aarrr"
aarrr_sql="SELECT 'acquisition', count(*) FROM t_p WHERE first_ago < 30
  UNION ALL SELECT 'activation', count(*) FROM t_p WHERE first_ago < 30 AND activated
  UNION ALL SELECT 'retention', count(*) FROM t_p WHERE first_ago < 30 AND age - idle >= 7
  UNION ALL SELECT 'revenue', count(*) FROM t_p WHERE first_ago < 30 AND paid > 0
  UNION ALL SELECT 'referral', count(*) FROM t_p WHERE first_ago < 30 AND referees > 0"
check_eq "AARRR did-counts = SQL" "$(sqlsizes "acquisition activation retention revenue referral" "$aarrr_sql")" "$(sizes <<<"$BODY")"
check_eq "a01 referred two persons (hand count)" 2 "$(sql "SELECT referrals FROM person_scores s JOIN identities i USING (person_id) WHERE i.distinct_id = 'a01'")"
rget "/v1/segments/aarrr?from=$(date -u -d 'today -400 days' +%F)&to=$(date -u -d 'today +1 day' +%F)"
check_eq "AARRR over a custom window is live and acquires everyone" "live $(sql "SELECT count(*) FROM t_p")" "$(jget source <<<"$BODY") $(jget acquired <<<"$BODY")"

rget "/v1/segments/aipl"
check_eq "AIPL stages = SQL" "$(sqlsizes "none awareness interest purchase loyalty" "SELECT stage, count(*) FROM t_aipl GROUP BY 1")" "$(sizes <<<"$BODY")"
check_eq "AIPL reach = A+I+P+L" "$(sql "SELECT count(*) FROM t_aipl WHERE stage <> 'none'")" "$(jget reach <<<"$BODY")"
check_eq "super users: loyalty or top value tier" "$(sql "SELECT count(*) FROM t_aipl a JOIN t_tier t USING (pid) WHERE a.stage = 'loyalty' OR t.tier = 'top_1pct'")" "$(jget fast.superiority <<<"$BODY")"

# --- stored scores equal a fresh computation, for every kind ---
canon() { node -e 'const c=v=>Array.isArray(v)?v.map(c):v&&typeof v==="object"?Object.keys(v).sort().reduce((o,k)=>(o[k]=c(v[k]),o),{}):v;
  const d=JSON.parse(require("fs").readFileSync(0));for(const k of ["source","run_id","computed_at"])delete d[k];console.log(JSON.stringify(c(d)))'; }
for k in "rfm" "rfm?scheme=rfm8" lifecycle pyramid aarrr aipl; do
  rget "/v1/segments/$k"; stored=$(canon <<<"$BODY"); src=$(jget source <<<"$BODY")
  sep='?'; [[ $k == *\?* ]] && sep='&'
  rget "/v1/segments/$k${sep}fresh=true"; fresh=$(canon <<<"$BODY")
  check_eq "stored $k (source $src) equals fresh=true" "$stored" "$fresh"
done

# --- settings change the rules, and stored answers notice ---
sql "UPDATE settings SET config = '{\"lifecycle\":{\"new_days\":3},\"activation_events\":[\"Signed Up\"]}'"
rget "/v1/segments/lifecycle"
check_eq "changed settings: answered live" live "$(jget source <<<"$BODY")"
check_match "the new threshold is in the rule" 'age < 3' "$BODY"
rget "/v1/segments/aarrr"
check_eq "activation event from settings" "$(sql "SELECT count(DISTINCT pid) FROM t_ev e JOIN t_p USING (pid) WHERE e.event = 'Signed Up' AND first_ago < 30")" \
  "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).segments[1].persons)' <<<"$BODY")"
sql "UPDATE settings SET config = '{\"lifecycle\":{\"new_days\":\"x\"}}'"
rget "/v1/segments/lifecycle"
check_eq "bad setting: 422 naming it" "422 settings.config.lifecycle.new_days" "$STATUS $(jget error.field <<<"$BODY")"
sql "UPDATE settings SET config = '{}'"

# --- lists: every member once, JSON and CSV ---
list_all() { # list_all PATH LIMIT: prints person ids, one per line, following cursors
  local cur="" url n=0
  while :; do
    url="$1?limit=$2${cur:+&cursor=$cur}"; rget "$url"
    [ "$STATUS" = 200 ] || { echo "HTTP $STATUS $BODY"; return; }
    node -e 'for(const p of JSON.parse(require("fs").readFileSync(0)).persons)console.log(p.person_id)' <<<"$BODY"
    cur=$(jget next_cursor <<<"$BODY"); [ "$cur" = null ] && return
    n=$((n + 1)); [ $n -gt 100 ] && return
  done
}
check_eq "lifecycle/churned list = SQL, paged by 2" "$(sql "SELECT pid FROM t_stage WHERE stage = 'churned' ORDER BY 1")" "$(list_all /v1/segments/lifecycle/churned/persons 2)"
check_eq "pyramid/remaining_payers list = SQL" "$(sql "SELECT pid FROM t_tier WHERE tier = 'remaining_payers' ORDER BY 1")" "$(list_all /v1/segments/pyramid/remaining_payers/persons 3)"
check_eq "aarrr/activation list = SQL" "$(sql "SELECT pid FROM t_p WHERE first_ago < 30 AND activated ORDER BY 1")" "$(list_all /v1/segments/aarrr/activation/persons 1)"
rget "/v1/segments/lifecycle/mature/persons"
check_eq "list entries carry distinct ids and labelled scores" '["a01"] 成熟期' \
  "$(jget persons.0.distinct_ids <<<"$BODY") $(jget persons.0.scores.lifecycle_label_zh <<<"$BODY")"
rget "/v1/segments/rfm/champions/persons?format=csv&limit=1000"
check_match "CSV has a header" '^cursor,person_id,distinct_ids,rfm11,' "$BODY"
check_eq "CSV rows = SQL champions" "$(sql "SELECT count(*) FROM t_rfm WHERE seg11 = 'champions'")" "$(($(wc -l <<<"$BODY") - 1))"
check_match "CSV quotes the JSON id list" '"\[""' "$(sed -n 2p <<<"$BODY")"
check_match "CSV content type" 'Content-Type: text/csv' "$HDRS"

# --- a listing continues on its generation while a run rewrites scores ---
for g in 0 1 2; do ids=""; for i in $(seq 1 1000); do ids+="{\"type\":\"track\",\"userId\":\"bulk$g-$i\",\"event\":\"x\"},"; done
  wpost /v1/batch "{\"batch\":[${ids%,}]}"; done
req POST /v1/scores/run "" -H "Authorization: Bearer $RK"; run2=$(jget run_id <<<"$BODY")
for _ in $(seq 100); do rget "/v1/scores/runs/$run2"; [ "$(jget status <<<"$BODY")" = done ] && break; sleep 0.1; done
expected=$(sql "SELECT person_id FROM person_scores WHERE run_id = $run2 AND lifecycle = 'new' ORDER BY 1")
got=""; cur=""; pages=0; runs_during=0
while :; do
  rget "/v1/segments/lifecycle/new/persons?limit=250${cur:+&cursor=$cur}"
  [ "$STATUS" = 200 ] || { got="HTTP $STATUS $BODY"; break; }
  got+=$(node -e 'for(const p of JSON.parse(require("fs").readFileSync(0)).persons)console.log(p.person_id)' <<<"$BODY")$'\n'
  cur=$(jget next_cursor <<<"$BODY"); [ "$cur" = null ] && break
  pages=$((pages + 1))
  if [ $pages -eq 2 ]; then  # start a rewrite and let it finish mid-listing
    req POST /v1/scores/run "" -H "Authorization: Bearer $RK"; r=$(jget run_id <<<"$BODY")
    for _ in $(seq 100); do rget "/v1/scores/runs/$r"; [ "$(jget status <<<"$BODY")" = done ] && break; sleep 0.05; done
    [ "$(jget status <<<"$BODY")" = done ] && runs_during=$((runs_during + 1))
  fi
done
check_eq "a run rewrote scores during the listing" 1 "$runs_during"
check_eq "listing during rewrites: no loss" "$expected" "$(grep -v '^$' <<<"$got" | sort -n)"
check_eq "listing during rewrites: no duplicates" 0 "$(grep -v '^$' <<<"$got" | sort | uniq -d | wc -l)"
rget "/v1/segments/lifecycle/new/persons?limit=1"; first=$(jget next_cursor <<<"$BODY")
for _ in 1 2; do req POST /v1/scores/run "" -H "Authorization: Bearer $RK"; r=$(jget run_id <<<"$BODY")
  for _ in $(seq 100); do rget "/v1/scores/runs/$r"; [ "$(jget status <<<"$BODY")" = done ] && break; sleep 0.05; done; done
rget "/v1/segments/lifecycle/new/persons?limit=1&cursor=$first"
check_eq "a cursor two generations old: 410 cursor_expired" "410 cursor_expired" "$STATUS $(jget error.code <<<"$BODY")"
check_eq "only the current and previous generations are kept" 2 "$(sql "SELECT count(DISTINCT run_id) FROM person_scores")"

# --- person profiles ---
rget /v1/persons/a13
check_eq "profile of a merged person: both ids, one person" '["a13","anon-2"] 1' \
  "$(jget distinct_ids <<<"$BODY") $(node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).merged_person_ids.length)' <<<"$BODY")"
check_eq "profile traits" pro "$(jget traits.plan <<<"$BODY")"
check_eq "profile scores = stored row (merged order counted)" "$(sql "SELECT s.ltv_historical || ' ' || s.lifecycle FROM person_scores s JOIN score_current c USING (project_id, run_id) JOIN identities i ON i.person_id = s.person_id WHERE i.distinct_id = 'a13'")" \
  "$(jget scores.ltv.historical <<<"$BODY") $(jget scores.lifecycle <<<"$BODY")"
check_eq "the anonymous id finds the same person" "$(jget person_id <<<"$BODY")" "$(rget /v1/persons/anon-2; jget person_id <<<"$BODY")"
check_eq "no LTV fit yet: predictions is null" null "$(jget predictions <<<"$BODY")"
# Traits merge over the raw persons: the most recently active one wins a
# key, keys of the other stay; first/last seen span both; merged ids exact.
read -r p_new p_old <<<"$(sql "SELECT o.person_id || ' ' || o.old_person_id FROM person_overrides o
  JOIN identities i ON i.person_id IN (o.person_id, o.old_person_id) WHERE i.distinct_id = 'anon-2'")"
sql "UPDATE persons SET traits = '{\"plan\":\"free\",\"color\":\"red\"}', first_seen = '2026-01-02T03:04:05.123456Z',
  last_seen = '2026-03-01T00:00:00Z' WHERE person_id = $p_old" >/dev/null
sql "UPDATE persons SET traits = '{\"plan\":\"pro\",\"seats\":3}', first_seen = '2026-02-01T00:00:00Z',
  last_seen = '2026-04-01T00:00:00Z' WHERE person_id = $p_new" >/dev/null
rget /v1/persons/anon-2
check_eq "merged profile: newer raw person wins plan, older keeps color" \
  "$p_new [$p_old] {\"plan\":\"pro\",\"color\":\"red\",\"seats\":3} 2026-01-02T03:04:05.123456Z 2026-04-01T00:00:00.000000Z" \
  "$(jget person_id <<<"$BODY") $(jget merged_person_ids <<<"$BODY") $(jget traits <<<"$BODY") $(jget first_seen <<<"$BODY") $(jget last_seen <<<"$BODY")"
sql "UPDATE persons SET last_seen = '2026-05-01T00:00:00Z' WHERE person_id = $p_old" >/dev/null
rget /v1/persons/a13
check_eq "merged profile: once the old raw person is the more recent, its plan wins" \
  '{"plan":"free","color":"red","seats":3} 2026-05-01T00:00:00.000000Z' \
  "$(jget traits <<<"$BODY") $(jget last_seen <<<"$BODY")"
rget /v1/persons/a01
check_eq "a01: R/F/M values (hand-computed: 5 days, 3 orders, 10000)" "5 3 10000" \
  "$(jget scores.rfm.recency_days <<<"$BODY") $(jget scores.rfm.frequency <<<"$BODY") $(jget scores.rfm.monetary <<<"$BODY")"
rget /v1/persons/nobody;            check_eq "unknown person: 404" 404 "$STATUS"
rget "/v1/persons/a01?x=1";         check_eq "persons: unknown parameter 400 naming it" "400 x" "$STATUS $(jget error.field <<<"$BODY")"

# Concurrent profiles are read in batches (server/profiles.c): 240 requests
# at once, 40 ids of which 8 unknown and 4 with array-literal specials, each
# answer must be its own person's, as SQL says.
weird=('q"uo' 'back\slash' 'c,{o}m' 'sp ace')
msgs=()
for w in "${weird[@]}"; do
  msgs+=("$(node -e 'console.log(JSON.stringify({type:"identify",userId:process.argv[1],traits:{k:process.argv[1]}}))' "$w")")
done
wpost /v1/batch "{\"batch\":[$(IFS=,; echo "${msgs[*]}")]}"
check_eq "odd ids ingested" 200 "$STATUS"
for _ in $(seq 50); do [ "$(sql "SELECT count(*) FROM identities WHERE distinct_id IN ('q\"uo', 'back\\slash', 'c,{o}m', 'sp ace')")" = 4 ] && break; sleep 0.1; done
ids=(a01 a02 a03 a04 a05 a06 a07 a08 a09 a10 a11 a12 a13 anon-2 b1 b2 b3 b4 b5 b6 b7 b8 b9 b10
     "${weird[@]}" x1 x2 x3 x4 x5 x6 x7 'x"8' z1 z2 z3 z4)
want=$(for i in "${ids[@]}"; do
  p=$(sql "SELECT coalesce(o.person_id, i.person_id) FROM identities i LEFT JOIN person_overrides o
           ON o.old_person_id = i.person_id WHERE i.distinct_id = \$\$$i\$\$")
  echo "$i ${p:-404}"; done | sort)
got=$(BASE=$BASE RK=$RK node -e '
const ids = JSON.parse(process.argv[1]), out = [];
Promise.all(Array.from({length: 6}, () => ids).flat().map(id =>
  fetch(process.env.BASE + "/v1/persons/" + encodeURIComponent(id),
        {headers: {authorization: "Bearer " + process.env.RK}})
    .then(async r => { const b = await r.json();
      out.push(id + " " + (r.status === 200 && b.distinct_ids.includes(id) ? b.person_id : r.status)); })))
  .then(() => console.log(out.join("\n")));' "$(node -e 'console.log(JSON.stringify(process.argv.slice(1)))' "${ids[@]}")" | sort -u)
check_eq "240 concurrent profiles: each id gets its own person (or 404), as SQL says" "$want" "$got"
metric() { curl -s "$BASE/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
check "profiles were read in batches (fewer statements than lookups)" \
  test "$(metric cohortd_profile_batches_total)" -lt "$(metric cohortd_profile_lookups_total)"

# --- scoring.fit_ltv: a run refits predictive LTV and stores its predictions ---
sql "UPDATE settings SET config = '{\"scoring\":{\"fit_ltv\":true}}'"
req POST /v1/scores/run "" -H "Authorization: Bearer $RK"; r=$(jget run_id <<<"$BODY")
for _ in $(seq 200); do rget "/v1/scores/runs/$r"; [ "$(jget status <<<"$BODY")" = done ] && break; sleep 0.05; done
check_eq "the run names the LTV fit it made" "$(sql "SELECT max(run_id) FROM model_runs WHERE trigger = 'scoring'")" "$(jget timings.ltv_model_run_id <<<"$BODY")"
check_eq "predictions for every payer when the fit is usable, none otherwise" \
  "$(sql "SELECT CASE WHEN (SELECT usable FROM model_runs WHERE trigger = 'scoring' ORDER BY run_id DESC LIMIT 1) THEN (SELECT count(DISTINCT pid) FROM t_ord WHERE net > 0) ELSE 0 END")" \
  "$(sql "SELECT count(*) FROM person_scores WHERE run_id = $r AND p_alive IS NOT NULL")"
# Profiles are written as text (server/jtext.h), segment pages through
# Jansson: the scores of every scored person must come out the same from
# both, keys in the same order, floats included (set by hand where the fit
# left none: awkward values for a printer).
sql "UPDATE person_scores s SET p_alive = coalesce(p_alive, 1.0 / 3), expected_purchases_30d = 1e-5,
       expected_purchases_365d = 3, clv_predicted = coalesce(clv_predicted, 1234.5 + person_id)
     FROM score_current c WHERE s.run_id = c.run_id AND s.person_id % 2 = 0" >/dev/null
same=$(BASE=$BASE RK=$RK node -e '
const h = {headers: {authorization: "Bearer " + process.env.RK}}, get = p => fetch(process.env.BASE + p, h).then(r => r.json());
(async () => {
  let n = 0, same = 0, floats = 0;
  for (const st of ["new", "growing", "mature", "dormant", "churned"])
    for (const p of (await get("/v1/segments/lifecycle/" + st + "/persons?limit=1000")).persons) {
      const prof = await get("/v1/persons/" + encodeURIComponent(p.distinct_ids[0]));
      n++; if (JSON.stringify(prof.scores) === JSON.stringify(p.scores)) same++;
      if (prof.scores.ltv.p_alive !== null) floats++;
    }
  console.log(n > 0 && same === n && floats > 0 ? "same" : `${same} of ${n} same, ${floats} with p_alive`);
})();')
check_eq "profile scores = segment page scores for every scored person (with LTV floats)" same "$same"
sql "UPDATE settings SET config = '{}'"

# --- bad parameters: 400 naming the parameter ---
bad() { rget "$1"; check_eq "$2" "$3" "$STATUS $(jget error.field <<<"$BODY")"; }
bad "/v1/segments/rfm?foo=1"                   "unknown parameter"             "400 foo"
bad "/v1/segments/rfm?as_of=2026-02-30"        "impossible as_of date"         "400 as_of"
bad "/v1/segments/rfm?lookback=12m"            "lookback needs days"           "400 lookback"
bad "/v1/segments/rfm?split=median"            "split without rfm8"            "400 split"
bad "/v1/segments/rfm?scheme=rfm5"             "unknown scheme"                "400 scheme"
bad "/v1/segments/rfm?fresh=yes"               "fresh must be a boolean"       "400 fresh"
bad "/v1/segments/lifecycle?scheme=rfm8"       "scheme on another kind"        "400 scheme"
bad "/v1/segments/aarrr?from=2026-03-01&to=2026-03-01" "empty AARRR window"  "400 to"
bad "/v1/segments/rfm/champions/persons?limit=1001" "limit above 1000"       "400 limit"
bad "/v1/segments/rfm/champions/persons?cursor=zzz" "forged cursor"          "400 cursor"
bad "/v1/segments/rfm/champions/persons?format=xml" "unknown format"         "400 format"
rget /v1/segments/nope;                         check_eq "unknown kind: 404" 404 "$STATUS"
rget /v1/segments/rfm/nope/persons
check_eq "unknown segment: 404 listing the codes" "404 true" "$STATUS $([[ $(jget error.message <<<"$BODY") == *champions* ]] && echo true)"
req GET /v1/segments/rfm;                       check_eq "no key: 401" 401 "$STATUS"
req GET /v1/segments/rfm "" -H "Authorization: Bearer $WK"; check_eq "write key: 403" 403 "$STATUS"

finish
