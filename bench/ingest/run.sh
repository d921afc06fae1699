#!/usr/bin/env bash
# bench/ingest/run.sh - the ingest benchmark of issue 2 §9 (a benchmark, not a test).
#
#   bench/ingest/run.sh            build, run every scenario RUNS times, print medians
#
# Environment: RUNS (3), DUR (seconds of load per run, 8), HOLD_CONNS (1000),
# BUILD (build). Starts its own embedded PostgreSQL in a temporary folder with
# fsync on (scripts/pg.sh's default: the figures are durable ones) and its own
# cohortd, and removes both at exit.
#
# Scenarios, each run on a fresh table state (TRUNCATE + CHECKPOINT):
#   (a) track: POST /v1/track, one event per call, 64 keep-alive connections
#       (loadgen's default 100,000 users: nearly every group commit carries a
#       user seen for the first time, so it takes the identity-lock path)
#   (a2) the same with 1,000 users: after their first events every id is in
#       the writer's cache and group commits take the one-statement path
#       (db_ingest.c) - the usual case of an app whose users come back
#   (b2) scenario (b) with 1,000 returning users
#   (b) batch: POST /v1/batch, 100 events per call, 8 keep-alive connections
#   (c) idle:  1000 open idle keep-alive connections (loadgen --mode hold)
#              while a light track load runs over 4 more connections
# For (a) and (b) the baseline is the same number of rows (same generator)
# loaded by copyload (libpq COPY) into the same table, from the same fresh
# state, right after the HTTP run; the ratio ours/COPY is reported per run.
# cohortd is restarted before each HTTP run (fresh process, empty tables).
# Peak RSS is the server's VmHWM, reset once the server is up (clear_refs 5).
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
DUR=${DUR:-8}
HOLD_CONNS=${HOLD_CONNS:-1000}
LG=$BUILD/tools/loadgen
CL=$BUILD/tools/copyload

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

log "building: make -j2 all tools"
make -j2 all tools >/dev/null

TMP=$(mktemp -d)
chmod 755 "$TMP"
SRV_PID=
HOLD_PID=
cleanup() {
  [ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null && wait "$HOLD_PID" 2>/dev/null
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
  scripts/pg.sh stop "$TMP/pg" || true
  rm -rf "$TMP"
}
trap cleanup EXIT

log "starting embedded PostgreSQL (fsync on) in $TMP/pg"
DB=$(scripts/pg.sh start "$TMP/pg")
sql() { psql -X -Atq "$DB" -c "$1"; }

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
# (Re)start cohortd: every run gets a fresh process, so its peak RSS and its
# in-memory state (the event store, which does not see our TRUNCATEs) start
# from the same empty database each time.
start_server() {
  if [ -n "$SRV_PID" ]; then kill "$SRV_PID"; wait "$SRV_PID" || true; SRV_PID=; fi
  env DATABASE_URL="$DB" COHORTD_LISTEN=127.0.0.1:$PORT COHORTD_LOG_LEVEL=warn \
    "$BUILD/cohortd" serve --dev >"$TMP/server.log" 2>&1 &
  SRV_PID=$!
  for _ in $(seq 100); do
    curl -sf "$BASE/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  WK=$(awk '/write key:/ {print $3}' "$TMP/server.log" | tail -1)
  [ -n "$WK" ] || { cat "$TMP/server.log" >&2; echo "run.sh: cohortd did not start" >&2; exit 1; }
}
start_server

# jnum KEY JSON: a numeric field of a one-line JSON object.
jnum() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p" <<<"$2"; }
# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
hwm_mb() { awk '/VmHWM/ {printf "%.1f\n", $2/1024}' "/proc/$SRV_PID/status"; }
reset_peak() { echo 5 >"/proc/$SRV_PID/clear_refs" 2>/dev/null || log "cannot reset VmHWM: peak is since start"; }
fresh() { sql "TRUNCATE events, persons, identities, person_overrides; CHECKPOINT" >/dev/null; }

# run_http SCENARIO I ARGS...: one HTTP run and its COPY baseline; one result line.
run_http() {
  local sc=$1 i=$2; shift 2
  local out acked stored copy rate crate ratio
  fresh
  start_server
  reset_peak
  out=$("$LG" --url "$BASE" --key "$WK" --duration "$DUR" --prefix "$sc$i" --seed "$i" "$@")
  echo "$out" >>"$TMP/raw.jsonl"
  acked=$(jnum events_acked "$out")
  stored=$(sql "SELECT count(*) FROM events")
  [ "$stored" -ge "$acked" ] || log "WARNING: $sc run $i: $acked acked but $stored stored"
  local rss; rss=$(hwm_mb)
  fresh
  copy=$("$CL" --db "$DB" --rows "$acked" --seed "$i" --prefix "copy$sc$i")
  echo "$copy" >>"$TMP/raw.jsonl"
  rate=$(jnum events_per_s "$out")
  crate=$(jnum rows_per_s "$copy")
  ratio=$(awk -v a="$rate" -v b="$crate" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}')
  log "$sc run $i: ${rate} events/s (acked $acked, stored $stored), p50 $(jnum p50_ms "$out") ms," \
      "p99 $(jnum p99_ms "$out") ms, peak RSS ${rss} MB | COPY ${crate} rows/s | ratio $ratio"
  echo "$rate $(jnum p50_ms "$out") $(jnum p99_ms "$out") $rss $crate $ratio $(jnum conn_errors "$out")"
}

run_idle() {
  local i=$1 out rss threads
  fresh
  start_server
  "$LG" --url "$BASE" --mode hold --conns "$HOLD_CONNS" --duration $((DUR + 30)) \
    >"$TMP/hold.json" 2>"$TMP/hold.err" &
  HOLD_PID=$!
  for _ in $(seq 300); do grep -q holding "$TMP/hold.err" && break; sleep 0.1; done
  reset_peak
  out=$("$LG" --url "$BASE" --key "$WK" --mode track --conns 4 --duration "$DUR" --prefix "idle$i" --seed "$i")
  threads=$(awk '/Threads/ {print $2}' "/proc/$SRV_PID/status")
  rss=$(hwm_mb)
  kill -TERM "$HOLD_PID"; wait "$HOLD_PID" || true; HOLD_PID=
  echo "$out" >>"$TMP/raw.jsonl"
  cat "$TMP/hold.json" >>"$TMP/raw.jsonl"
  log "idle run $i: $(grep -o 'holding [0-9]*' "$TMP/hold.err") connections, server threads $threads," \
      "light load $(jnum events_per_s "$out") events/s p99 $(jnum p99_ms "$out") ms, peak RSS ${rss} MB" \
      "(hold conn_errors $(jnum conn_errors "$(cat "$TMP/hold.json")"))"
  echo "$(jnum events_per_s "$out") $(jnum p50_ms "$out") $(jnum p99_ms "$out") $rss $threads"
}

log "warm-up (2 s, not reported; warms PostgreSQL's caches)"
"$LG" --url "$BASE" --key "$WK" --mode track --conns 16 --duration 2 --prefix warm >/dev/null

: >"$TMP/a"; : >"$TMP/a2"; : >"$TMP/b"; : >"$TMP/b2"; : >"$TMP/c"
for i in $(seq "$RUNS"); do run_http track "$i" --mode track --conns 64 >>"$TMP/a"; done
for i in $(seq "$RUNS"); do run_http known "$i" --mode track --conns 64 --users 1000 >>"$TMP/a2"; done
for i in $(seq "$RUNS"); do run_http batch "$i" --mode batch --conns 8 --batch-size 100 >>"$TMP/b"; done
for i in $(seq "$RUNS"); do
  run_http kbatch "$i" --mode batch --conns 8 --batch-size 100 --users 1000 >>"$TMP/b2"
done
for i in $(seq "$RUNS"); do run_idle "$i" >>"$TMP/c"; done

col() { awk -v c="$2" '{print $c}' "$1" | median; }
yes_no() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {ok = (op == ">=") ? (a >= b) : (a <= b); print (ok ? "met" : "NOT met")}'; }

A_RATE=$(col "$TMP/a" 1); A_RATIO=$(col "$TMP/a" 6)
A2_RATE=$(col "$TMP/a2" 1)
B_RATE=$(col "$TMP/b" 1); B_RATIO=$(col "$TMP/b" 6)
B2_RATIO=$(col "$TMP/b2" 6)
C_RSS=$(col "$TMP/c" 4)

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GB;" \
     "PostgreSQL $(sql 'SHOW server_version'), fsync=$(sql 'SHOW fsync'), synchronous_commit=$(sql 'SHOW synchronous_commit')"
echo "runs: $RUNS x ${DUR}s per scenario, medians; loadgen, cohortd and PostgreSQL share the machine"
echo
echo "| scenario | events/s | p50 ms | p99 ms | server peak RSS MB | COPY rows/s | ours/COPY |"
echo "|---|---:|---:|---:|---:|---:|---:|"
echo "| (a) /v1/track, 64 conns | $A_RATE | $(col "$TMP/a" 2) | $(col "$TMP/a" 3) | $(col "$TMP/a" 4) | $(col "$TMP/a" 5) | $A_RATIO |"
echo "| (a2) /v1/track, 64 conns, 1,000 returning users | $A2_RATE | $(col "$TMP/a2" 2) | $(col "$TMP/a2" 3) | $(col "$TMP/a2" 4) | $(col "$TMP/a2" 5) | $(col "$TMP/a2" 6) |"
echo "| (b) /v1/batch x100, 8 conns | $B_RATE | $(col "$TMP/b" 2) | $(col "$TMP/b" 3) | $(col "$TMP/b" 4) | $(col "$TMP/b" 5) | $B_RATIO |"
echo "| (b2) /v1/batch x100, 8 conns, 1,000 returning users | $(col "$TMP/b2" 1) | $(col "$TMP/b2" 2) | $(col "$TMP/b2" 3) | $(col "$TMP/b2" 4) | $(col "$TMP/b2" 5) | $B2_RATIO |"
echo "| (c) $HOLD_CONNS idle conns + track, 4 conns | $(col "$TMP/c" 1) | $(col "$TMP/c" 2) | $(col "$TMP/c" 3) | $C_RSS | - | - |"
echo
echo "targets:"
echo "  batch ingest >= 50% of COPY:        $B_RATIO -> $(yes_no "$B_RATIO" ">=" 0.5) (new users);" \
     "$B2_RATIO -> $(yes_no "$B2_RATIO" ">=" 0.5) (returning users)"
echo "  single-event >= 15,000 events/s:    $A_RATE -> $(yes_no "$A_RATE" ">=" 15000) (new users);" \
     "$A2_RATE -> $(yes_no "$A2_RATE" ">=" 15000) (returning users)"
echo "  peak RSS <= 150 MB at $HOLD_CONNS conns:    $C_RSS MB -> $(yes_no "$C_RSS" "<=" 150)"
echo
echo "raw per-run lines (rate p50 p99 rssMB copy ratio conn_errors):"
sed 's/^/  a: /' "$TMP/a"; sed 's/^/  a2: /' "$TMP/a2"; sed 's/^/  b: /' "$TMP/b"; sed 's/^/  b2: /' "$TMP/b2"
echo "raw idle lines (rate p50 p99 rssMB server_threads_after_load):"
sed 's/^/  c: /' "$TMP/c"
