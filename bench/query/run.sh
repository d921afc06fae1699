#!/usr/bin/env bash
# bench/query/run.sh - the query benchmark of issue 4 (a benchmark, not a test).
#
#   bench/query/run.sh            build, load (or reuse) 10M events, time every endpoint
#                                 against its plain-SQL baseline, print a table
#
# Environment: PERSONS (1000000), EVENTS (10000000), DAYS (90), START (2026-01-01),
# SEED (1): the data set; LIVE_S (20): seconds of ingest while querying;
# LIVE_CONNS (4), LIVE_BATCH (50): the loadgen load (closed loop, no rate limit:
# 6,500 events/s alone and 4,100 while funnels run, on the 10M set here);
# QUERY_DATA (bench/data/query): where the PostgreSQL cluster is kept between
# runs (git-ignored); BUILD (build); STORE_WAIT (300): seconds to wait for
# cohortd's in-memory store to finish loading; LOAD_ONLY=1: stop once the data
# set is loaded (to prepare it, or to try SQL by hand).
#
# Steps: make; start the embedded PostgreSQL of QUERY_DATA (scripts/pg.sh,
# settings as `make run`: fsync on, shared_buffers 256MB); migrate; if the data
# set's parameters or gen.c changed, load it again: drop the indexes of events,
# binary COPY from bench/query/gen.c over 2 connections, recreate the indexes,
# VACUUM ANALYZE; start `cohortd serve`; wait for /ready (and the store);
# then per endpoint: 1 warm-up + 5 timed requests (curl time_total, median)
# and, in the same run, its SQL baseline bench/query/<endpoint>.sql with psql
# (3 runs, median wall time); RSS; then a live phase: loadgen writes at about
# 5,000 events/s while funnels are asked, and the answers are checked (below).
# Rows written by the live phase are removed at the end, so the next run
# starts from the same data.
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
PERSONS=${PERSONS:-1000000}
EVENTS=${EVENTS:-10000000}
DAYS=${DAYS:-90}
START=${START:-2026-01-01}
SEED=${SEED:-1}
LIVE_S=${LIVE_S:-20}
LIVE_CONNS=${LIVE_CONNS:-4}
LIVE_BATCH=${LIVE_BATCH:-50}
DATA=${QUERY_DATA:-bench/data/query}
STORE_WAIT=${STORE_WAIT:-300}
GEN=$BUILD/bench/query_gen
LG=$BUILD/tools/loadgen
FROM=$START
TO=$(date -u -d "$START + $DAYS days" +%F)
STEPS=signup,activate,add_to_cart,purchase
T_START=$(date +%s)

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }

command -v jq >/dev/null || { log "installing jq"; apt-get install -y -qq jq >/dev/null; }

log "building: make -j2 all tools, and $GEN"
make -j2 all tools >/dev/null
# The project's CFLAGS, straight from the Makefile.
CFLAGS_MK=$(make -s --no-print-directory --eval='bench-query-cflags: ; @echo $(CFLAGS)' bench-query-cflags)
mkdir -p "$(dirname "$GEN")"
# shellcheck disable=SC2086
cc $CFLAGS_MK $(pkg-config --cflags libpq) -o "$GEN" bench/query/gen.c $(pkg-config --libs libpq) -lm -lpthread

# ---- PostgreSQL, reused when the data set is unchanged ----
mkdir -p "$DATA"
chmod 755 "$(dirname "$DATA")" "$DATA"
STAMP="gen.c $(sha256sum bench/query/gen.c | cut -c1-16) persons=$PERSONS events=$EVENTS days=$DAYS start=$START seed=$SEED"
REUSE=0
if [ -s "$DATA/stamp" ] && [ "$(cat "$DATA/stamp")" = "$STAMP" ] && [ -s "$DATA/pg/data/PG_VERSION" ]; then
  REUSE=1
else
  scripts/pg.sh stop "$DATA/pg" || true
  rm -rf "$DATA/pg" "$DATA/stamp"
fi

TMP=$(mktemp -d)
SRV_PID=
LIVE_PID=
cleanup() {
  [ -n "$LIVE_PID" ] && kill "$LIVE_PID" 2>/dev/null && wait "$LIVE_PID" 2>/dev/null
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
  scripts/pg.sh stop "$DATA/pg" || true
  rm -rf "$TMP"
}
trap cleanup EXIT

log "starting embedded PostgreSQL in $DATA/pg (reuse: $REUSE)"
DB=$(scripts/pg.sh start "$DATA/pg")
sql() { psql -X -Atq "$DB" -c "$1"; }
DATABASE_URL="$DB" "$BUILD/cohortd" migrate >/dev/null 2>&1 \
  || { DATABASE_URL="$DB" "$BUILD/cohortd" migrate; exit 1; }
RK=$(DATABASE_URL="$DB" "$BUILD/cohortd" keys create --project bench --kind read | tail -1)
WK=$(DATABASE_URL="$DB" "$BUILD/cohortd" keys create --project bench --kind write | tail -1)
PID=$(sql "SELECT project_id FROM projects WHERE name = 'bench'")

# Rows of a live phase have received_at = the time they were written; the
# generated rows were received before TO + 1 day.
CUTOFF="'$TO'::timestamptz + interval '1 day'"
remove_live_rows() {
  psql -X -q "$DB" -v ON_ERROR_STOP=1 >/dev/null <<SQL
BEGIN;
UPDATE persons p SET first_seen = x.f, last_seen = x.l
  FROM (SELECT person_id, min(ts) AS f, max(ts) AS l FROM events
         WHERE project_id = $PID AND received_at < $CUTOFF
           AND person_id IN (SELECT person_id FROM events WHERE project_id = $PID AND received_at >= $CUTOFF)
         GROUP BY person_id) x
 WHERE p.project_id = $PID AND p.person_id = x.person_id;
DELETE FROM events WHERE project_id = $PID AND received_at >= $CUTOFF;
DELETE FROM identities WHERE project_id = $PID AND created_at >= $CUTOFF;
DELETE FROM persons WHERE project_id = $PID AND person_id > $PERSONS;
COMMIT;
VACUUM (ANALYZE) events;
SQL
}

if [ "$REUSE" = 1 ]; then
  if [ "$(sql "SELECT count(*) FROM events WHERE project_id = $PID AND received_at >= $CUTOFF")" != 0 ]; then
    log "removing rows left by an interrupted live phase"
    remove_live_rows
  fi
  log "reusing the loaded data set ($(cat "$DATA/gen.json"))"
else
  log "loading $EVENTS events for $PERSONS persons (indexes of events dropped during COPY)"
  T0=$(now)
  {
    sql "SELECT format('ALTER TABLE events ADD CONSTRAINT %I %s;', conname, pg_get_constraintdef(oid))
           FROM pg_constraint WHERE conrelid = 'events'::regclass AND contype IN ('p', 'u')"
    sql "SELECT indexdef || ';' FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'events'
           AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'events'::regclass)"
  } >"$DATA/events_indexes.sql"
  sql "TRUNCATE events, persons, identities, orders, order_keys" >/dev/null
  sql "SELECT format('ALTER TABLE events DROP CONSTRAINT %I;', conname)
         FROM pg_constraint WHERE conrelid = 'events'::regclass AND contype IN ('p', 'u')
       UNION ALL
       SELECT format('DROP INDEX %I;', indexname) FROM pg_indexes
        WHERE schemaname = 'public' AND tablename = 'events'
          AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'events'::regclass)" \
    | psql -X -q "$DB" -v ON_ERROR_STOP=1 >/dev/null
  "$GEN" --db "$DB" --project-id "$PID" --persons "$PERSONS" --events "$EVENTS" --days "$DAYS" \
    --start "$START" --seed "$SEED" --conns 2 >"$DATA/gen.json"
  T1=$(now)
  psql -X -q "$DB" -v ON_ERROR_STOP=1 -c "SET maintenance_work_mem = '1GB'" -f "$DATA/events_indexes.sql" >/dev/null
  T2=$(now)
  sql "VACUUM (ANALYZE) events, persons, identities, orders, order_keys" >/dev/null
  sql "CHECKPOINT" >/dev/null
  T3=$(now)
  LOAD_LINE=$(awk -v a="$T0" -v b="$T1" -v c="$T2" -v d="$T3" \
    'BEGIN {printf "COPY %.0f s, indexes %.0f s, VACUUM ANALYZE %.0f s, total %.0f s", b-a, c-b, d-c, d-a}')
  echo "$LOAD_LINE" >"$DATA/load_time"
  echo "$STAMP" >"$DATA/stamp"
  log "loaded: $(cat "$DATA/gen.json"); $LOAD_LINE"
fi
if [ "${LOAD_ONLY:-0}" = 1 ]; then log "LOAD_ONLY=1: data ready in $DATA"; exit 0; fi
N_EVENTS=$(sql "SELECT count(*) FROM events WHERE project_id = $PID")
DB_SIZE=$(sql "SELECT pg_size_pretty(pg_total_relation_size('events'))")

# ---- cohortd ----
free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo $p; return; }
  done
  return 1
}
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
T0=$(now)
env DATABASE_URL="$DB" COHORTD_LISTEN=127.0.0.1:$PORT COHORTD_LOG_LEVEL=warn \
  "$BUILD/cohortd" serve >"$TMP/server.log" 2>&1 &
SRV_PID=$!
for _ in $(seq 600); do
  curl -sf "$BASE/ready" >/dev/null 2>&1 && break
  kill -0 "$SRV_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -sf "$BASE/ready" >/dev/null || { cat "$TMP/server.log" >&2; echo "run.sh: cohortd not ready" >&2; exit 1; }
READY_S=$(awk -v a="$T0" -v b="$(now)" 'BEGIN {printf "%.1f", b-a}')
# The in-memory store (when this build has one) loads in the background.
STORE="none in this build"
if curl -s "$BASE/metrics" | grep -q '^cohortd_store_ready'; then
  for _ in $(seq $((STORE_WAIT * 2))); do
    curl -s "$BASE/metrics" | grep -q '^cohortd_store_ready 1' && break
    sleep 0.5
  done
  SE=$(curl -s "$BASE/metrics" | awk '/^cohortd_store_events/ {print $2}')
  if curl -s "$BASE/metrics" | grep -q '^cohortd_store_ready 1'; then
    STORE="ready after $(awk -v a="$T0" -v b="$(now)" 'BEGIN {printf "%.1f", b-a}') s, $SE events"
  else
    STORE="NOT ready after ${STORE_WAIT} s ($SE events)"
  fi
fi
log "cohortd ready in $READY_S s; store: $STORE"

# ---- timing helpers ----
# ours NAME URL [N]: 1 warm-up + N (5) timed GETs; the last answer kept in $TMP/NAME.json.
ours() {
  local name=$1 url=$2 reps=${3:-5} out code t times=()
  out=$(curl -s -o "$TMP/$name.json" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $RK" "$BASE$url")
  code=${out% *}
  if [ "$code" != 200 ]; then
    log "$name: HTTP $code: $(head -c 300 "$TMP/$name.json")"
    echo "$code"
    return
  fi
  for _ in $(seq "$reps"); do
    out=$(curl -s -o "$TMP/$name.json" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $RK" "$BASE$url")
    t=${out#* }
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" >"$TMP/$name.ours"
  printf '%s\n' "${times[@]}" | median
}
# baseline NAME FILE PSQL-ARGS...: 3 timed psql runs; the last output in $TMP/NAME.sql.out.
baseline() {
  local name=$1 file=$2 t0 t1; shift 2
  : >"$TMP/$name.sql.times"
  for _ in 1 2 3; do
    t0=$(now)
    psql -X -Atq -v ON_ERROR_STOP=1 "$DB" -v pid="$PID" "$@" -f "$file" >"$TMP/$name.sql.out"
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f\n", b-a}' >>"$TMP/$name.sql.times"
  done
  median <"$TMP/$name.sql.times"
}
ratio() { awk -v s="$1" -v o="$2" 'BEGIN {if (o > 0 && s > 0) printf "%.1f", s/o; else print "-"}'; }
verdict() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {if (a == "" || a == "-") {print "n/a"; exit}
  ok = (op == ">=") ? (a >= b) : (a <= b); print (ok ? "met" : "NOT met")}'; }
# funnel counts of an answer, "c1 c2 ...".
fcounts() { jq -r '[.steps[].count] | map(tostring) | join(" ")' "$1"; }
sqlcounts() { awk -F'|' '{printf "%s%s", (NR > 1 ? " " : ""), $2} END {print ""}' "$1"; }

SQL_ARGS=(-v from="'$FROM'" -v to="'$TO'" -v win="'7 days'")
FUNNEL_URL="/v1/funnels?steps=$STEPS&window=7d&from=$FROM&to=$TO&tz=UTC"

# ---- funnel ----
log "funnel: ours"
F_OURS=$(ours funnel "$FUNNEL_URL")
log "funnel: SQL baseline"
F_SQL=$(baseline funnel bench/query/funnel.sql "${SQL_ARGS[@]}")
F_OURS_COUNTS=$(fcounts "$TMP/funnel.json")
F_SQL_COUNTS=$(sqlcounts "$TMP/funnel.sql.out")
F_SAME=$([ "$F_OURS_COUNTS" = "$F_SQL_COUNTS" ] && echo yes || echo NO)
log "funnel: ours $F_OURS s [$F_OURS_COUNTS], SQL $F_SQL s [$F_SQL_COUNTS], equal: $F_SAME"

# ---- retention and metrics, when the routes exist ----
R_URL="/v1/retention?period=day&periods=30&from=$FROM&to=$TO&tz=UTC"
M_URL="/v1/metrics?interval=day&from=$FROM&to=$TO&tz=UTC"
R_OURS=$(ours retention "$R_URL")
case $R_OURS in 404) R_NOTE="route not in this build"; R_OURS=- ;; [0-9][0-9][0-9]) R_NOTE="HTTP $R_OURS"; R_OURS=- ;; *) R_NOTE= ;; esac
M_OURS=$(ours metrics "$M_URL")
case $M_OURS in 404) M_NOTE="route not in this build"; M_OURS=- ;; [0-9][0-9][0-9]) M_NOTE="HTTP $M_OURS"; M_OURS=- ;; *) M_NOTE= ;; esac
log "retention: SQL baseline"
R_SQL=$(baseline retention bench/query/retention.sql "${SQL_ARGS[@]}" -v periods=30)
log "metrics: SQL baseline"
M_SQL=$(baseline metrics bench/query/metrics.sql "${SQL_ARGS[@]}")
# Retention cells (cohort|period|persons, non-zero ones) of both answers.
R_SAME=n/a
if [ "$R_OURS" != - ]; then
  jq -r '.cohorts[] | .start as $s | .counts | to_entries[] | select(.value != null and .value > 0)
         | "\($s)|\(.key)|\(.value)"' "$TMP/retention.json" | sort >"$TMP/r_ours.txt"
  sort "$TMP/retention.sql.out" >"$TMP/r_sql.txt"
  if cmp -s "$TMP/r_ours.txt" "$TMP/r_sql.txt"; then R_SAME="yes ($(wc -l <"$TMP/r_sql.txt") non-zero cells)"
  else R_SAME="NO ($(diff "$TMP/r_ours.txt" "$TMP/r_sql.txt" | grep -c '^[<>]') lines differ, e.g. $(diff "$TMP/r_ours.txt" "$TMP/r_sql.txt" | grep '^[<>]' | head -2 | paste -sd' '))"; fi
fi
# Metrics: the activity columns per day (day|dau|wau|mau|new_persons) of both answers.
M_SAME=n/a
if [ "$M_OURS" != - ]; then
  jq -r '.series[] | "\(.start)|\(.dau)|\(.wau)|\(.mau)|\(.new_persons)"' "$TMP/metrics.json" >"$TMP/m_ours.txt" || true
  cut -d'|' -f1-5 "$TMP/metrics.sql.out" >"$TMP/m_sql.txt"
  if cmp -s "$TMP/m_ours.txt" "$TMP/m_sql.txt"; then M_SAME="yes ($(wc -l <"$TMP/m_sql.txt") days of DAU, WAU, MAU, new persons)"
  else M_SAME="NO ($(diff "$TMP/m_ours.txt" "$TMP/m_sql.txt" | grep -c '^[<>]') lines differ, e.g. $(diff "$TMP/m_ours.txt" "$TMP/m_sql.txt" | grep '^[<>]' | head -2 | paste -sd' '))"; fi
fi
log "retention: ours $R_OURS s ${R_NOTE:+($R_NOTE)}, SQL $R_SQL s, equal: $R_SAME; metrics equal: $M_SAME; metrics: ours $M_OURS s ${M_NOTE:+($M_NOTE)}, SQL $M_SQL s"

RSS_MB=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$SRV_PID/status")
RSS_NOW=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$SRV_PID/status")

# ---- live phase: answers while ingest runs ----
# loadgen sends userIds u0..u<PERSONS-1> (the generated persons' ids) with its
# own 20 event names, none of them a step of the main funnel. So:
#  (1) the main funnel asked during the load must equal its answer before;
#  (2) funnel signup -> "Product Viewed" (90 days) is 0 at step 2 before the
#      load; during it, each step lies between the answer before and after;
#      after it, the answer must equal its plain SQL (funnel2.sql) on the rows
#      then stored.
F2_URL="/v1/funnels?steps=signup,Product%20Viewed&window=90d&from=$FROM&to=$TO&tz=UTC"
curl -s -o "$TMP/f2_before.json" -H "Authorization: Bearer $RK" "$BASE$F2_URL"
log "live: loadgen --mode batch --batch-size $LIVE_BATCH --conns $LIVE_CONNS for $LIVE_S s"
"$LG" --url "$BASE" --key "$WK" --mode batch --batch-size "$LIVE_BATCH" --conns "$LIVE_CONNS" \
  --duration "$LIVE_S" --users "$PERSONS" --prefix ql --seed 7 >"$TMP/live.json" &
LIVE_PID=$!
sleep 3
: >"$TMP/live.times"; LIVE_OK=yes
for i in 1 2 3; do
  out=$(curl -s -o "$TMP/f_live.json" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $RK" "$BASE$FUNNEL_URL")
  echo "${out#* }" >>"$TMP/live.times"
  c=$(fcounts "$TMP/f_live.json" 2>/dev/null || echo "HTTP ${out% *}")
  [ "$c" = "$F_OURS_COUNTS" ] || { LIVE_OK=NO; log "live: funnel answer $c differs from $F_OURS_COUNTS"; }
  curl -s -o "$TMP/f2_during_$i.json" -H "Authorization: Bearer $RK" "$BASE$F2_URL"
  sleep 1
done
F_LIVE=$(median <"$TMP/live.times")
wait "$LIVE_PID" || true
LIVE_PID=
LIVE_RATE=$(jq -r '.events_per_s' "$TMP/live.json")
LIVE_ACKED=$(jq -r '.events_acked' "$TMP/live.json")
sleep 2 # the store follows commits at once and the table within a second
LIVE_STORED=$(sql "SELECT count(*) FROM events WHERE project_id = $PID AND received_at >= $CUTOFF AND message_id LIKE 'ql-%'")
curl -s -o "$TMP/f2_after.json" -H "Authorization: Bearer $RK" "$BASE$F2_URL"
psql -X -Atq -v ON_ERROR_STOP=1 "$DB" -v pid="$PID" -v from="'$FROM'" -v to="'$TO'" -v win="'90 days'" \
  -v s1="'signup'" -v s2="'Product Viewed'" -f bench/query/funnel2.sql >"$TMP/f2.sql.out"
F2_BEFORE=$(fcounts "$TMP/f2_before.json"); F2_AFTER=$(fcounts "$TMP/f2_after.json")
F2_SQL=$(sqlcounts "$TMP/f2.sql.out")
[ "$F2_AFTER" = "$F2_SQL" ] || { LIVE_OK=NO; log "live: funnel2 after $F2_AFTER, SQL $F2_SQL"; }
for i in 1 2 3; do
  d=$(fcounts "$TMP/f2_during_$i.json" 2>/dev/null || echo x)
  awk -v b="$F2_BEFORE" -v d="$d" -v a="$F2_AFTER" 'BEGIN {nb = split(b, B); nd = split(d, D); split(a, A);
      if (nd != nb) exit 1; for (i = 1; i <= nb; i++) if (D[i] < B[i] || D[i] > A[i]) exit 1}' \
    || { LIVE_OK=NO; log "live: funnel2 during ($d) not between before ($F2_BEFORE) and after ($F2_AFTER)"; }
done
[ "$LIVE_STORED" -ge "$LIVE_ACKED" ] || { LIVE_OK=NO; log "live: $LIVE_ACKED acked but $LIVE_STORED stored"; }
log "live: $LIVE_RATE events/s, acked $LIVE_ACKED, stored $LIVE_STORED; funnel ${F_LIVE} s;" \
    "funnel2 before [$F2_BEFORE] during [$(fcounts "$TMP/f2_during_3.json" 2>/dev/null)] after [$F2_AFTER] SQL [$F2_SQL]"
RSS_MB2=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$SRV_PID/status")
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=
log "removing the live rows"
remove_live_rows

# ---- where the time goes ----
# (a) the same funnel without the in-memory store: streamed from PostgreSQL.
NS_OURS=-
if [ "$STORE" != "none in this build" ]; then
  PORT=$(free_port)
  BASE=http://127.0.0.1:$PORT
  env DATABASE_URL="$DB" COHORTD_LISTEN=127.0.0.1:$PORT COHORTD_LOG_LEVEL=warn COHORTD_STORE=0 \
    "$BUILD/cohortd" serve >"$TMP/server_nostore.log" 2>&1 &
  SRV_PID=$!
  for _ in $(seq 300); do curl -sf "$BASE/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  log "funnel without the store (COHORTD_STORE=0): 1 warm-up + 3"
  NS_OURS=$(ours funnel_nostore "$FUNNEL_URL" 3)
  NS_RSS=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$SRV_PID/status")
  kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=
  log "funnel without the store: $NS_OURS s, peak RSS $NS_RSS MB"
fi
# (b) the model passes alone (bench/query/bench_model.c: 10M synthetic events in memory).
MODEL_LINE=-
if [ -f bench/query/bench_model.c ]; then
  log "model passes alone: bench/query/bench_model.c"
  cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I. bench/query/bench_model.c model/funnel.c \
    model/funnel_engine.c model/funnel_modes.c model/retention.c model/calendar.c model/activity.c \
    model/lifecycle.c -lm -o "$BUILD/bench/query_bench_model" \
    && "$BUILD/bench/query_bench_model" >"$TMP/model.txt" \
    && MODEL_LINE=$(awk -F'median' '/funnel:|retention \(|DAU/ {split($2, a, " "); printf "%s%s %s ms", (n++ ? ", " : ""), $1, a[1]}' "$TMP/model.txt" | tr -s ' ')
  log "model: $MODEL_LINE"
fi

# ---- report ----
fmt() { [ "$1" = - ] && echo "-" || awk -v x="$1" 'BEGIN {printf "%.3f", x}'; }
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GB;" \
     "PostgreSQL $(sql 'SHOW server_version'), shared_buffers $(sql 'SHOW shared_buffers'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "data: $N_EVENTS events of project bench ($DB_SIZE with indexes), $(jq -c '{persons, signup, activate, add_to_cart, purchase, orders, top1pct_share}' "$DATA/gen.json")"
echo "load: $( [ "$REUSE" = 1 ] && echo "reused ($(cat "$DATA/load_time" 2>/dev/null) when loaded)" || cat "$DATA/load_time")"
echo "cohortd: ready in $READY_S s; store: $STORE; commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- server handlers model || echo '+uncommitted changes')"
echo
echo "| endpoint | ours (median of 5) | SQL baseline (median of 3) | SQL/ours | target | |"
echo "|---|---:|---:|---:|---|---|"
echo "| funnel 4 steps, 7d window, 90 days | $(fmt "$F_OURS") s | $(fmt "$F_SQL") s | $(ratio "$F_SQL" "$F_OURS")x | <= 0.5 s | $(verdict "$F_OURS" "<=" 0.5) |"
echo "| funnel: ratio | | | | >= 15x | $(verdict "$(ratio "$F_SQL" "$F_OURS")" ">=" 15) |"
echo "| retention, day, 30 periods | $(fmt "$R_OURS") s ${R_NOTE:+($R_NOTE)} | $(fmt "$R_SQL") s | $(ratio "$R_SQL" "$R_OURS")x | <= 0.3 s | $(verdict "$R_OURS" "<=" 0.3) |"
echo "| metrics, interval day, 90 days | $(fmt "$M_OURS") s ${M_NOTE:+($M_NOTE)} | $(fmt "$M_SQL") s | $(ratio "$M_SQL" "$M_OURS")x | <= 0.3 s | $(verdict "$M_OURS" "<=" 0.3) |"
echo "| funnel during ingest at $(printf '%.0f' "$LIVE_RATE") events/s (median of 3) | $(fmt "$F_LIVE") s | | | answers correct | $( [ "$LIVE_OK" = yes ] && echo met || echo "NOT met") |"
echo "| cohortd peak RSS (VmHWM) after the queries | $RSS_MB MB (now $RSS_NOW MB; $RSS_MB2 MB after the live phase) | | | <= 400 MB | $(verdict "$RSS_MB2" "<=" 400) |"
echo
echo "funnel counts: ours [$F_OURS_COUNTS], SQL [$F_SQL_COUNTS], equal: $F_SAME; retention cells equal to SQL: $R_SAME;" \
     "metrics equal to SQL: $M_SAME"
echo "live phase: loadgen $(jq -c '{conns, events_acked, events_per_s, p50_ms, p99_ms, conn_errors}' "$TMP/live.json"), stored $LIVE_STORED;" \
     "main funnel during ingest equal to before: $(awk -v ok="$LIVE_OK" 'BEGIN {print ok}');" \
     "signup->Product Viewed (90d): before [$F2_BEFORE], after [$F2_AFTER], SQL after [$F2_SQL]"
echo "where the time goes: funnel without the in-memory store (streamed from PostgreSQL): $(fmt "$NS_OURS") s" \
     "(median of 3, peak RSS ${NS_RSS:-?} MB); model passes alone on 10M in-memory events (bench_model.c): $MODEL_LINE"
echo "raw times (s): funnel ours $(paste -sd' ' "$TMP/funnel.ours"), SQL $(paste -sd' ' "$TMP/funnel.sql.times");" \
     "retention ours $( [ -s "$TMP/retention.ours" ] && paste -sd' ' "$TMP/retention.ours" || echo -), SQL $(paste -sd' ' "$TMP/retention.sql.times");" \
     "metrics ours $( [ -s "$TMP/metrics.ours" ] && paste -sd' ' "$TMP/metrics.ours" || echo -), SQL $(paste -sd' ' "$TMP/metrics.sql.times")"
echo "wall time of this run: $(( $(date +%s) - T_START )) s"
