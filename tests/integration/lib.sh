# lib.sh - helpers for integration tests (sourced). Every check prints one TAP
# line: "ok - file: name" or "not ok - file: name" with details.
#
# Environment from run.sh: BUILD, PGDIR (a running embedded cluster), PGPORT.
# Each test file gets its own database and its own cohortd on a free port.

T_FILE=$(basename "${BASH_SOURCE[1]:-$0}" .sh)
T_FAILS=0

ok()   { echo "ok - $T_FILE: $1"; }
fail() { echo "not ok - $T_FILE: $1"; shift; for l in "$@"; do echo "  # $l"; done; T_FAILS=$((T_FAILS + 1)); }
check() { # check NAME COMMAND...  (passes when the command succeeds)
  local name=$1; shift
  if "$@"; then ok "$name"; else fail "$name" "command failed: $*"; fi
}
check_eq() { # check_eq NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then ok "$1"; else fail "$1" "expected: $2" "actual:   $3"; fi
}
check_match() { # check_match NAME REGEX ACTUAL
  if [[ $3 =~ $2 ]]; then ok "$1"; else fail "$1" "expected to match: $2" "actual: $3"; fi
}

free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo $p; return; }
  done
  return 1
}

# A fresh database for this file.
new_db() {
  T_DB="t_${T_FILE//[^a-z0-9]/_}_$$_$RANDOM"
  psql -q -h "$PGDIR" -p "$PGPORT" -U cohortd -d postgres -c "CREATE DATABASE $T_DB" >/dev/null
  DATABASE_URL="postgresql://cohortd@127.0.0.1:$PGPORT/$T_DB"
  export DATABASE_URL
}

sql() { psql -X -Atq "$DATABASE_URL" -c "$1"; }

# start_server [extra env assignments...]: starts cohortd --dev, sets BASE, WK, RK, SRV_PID.
start_server() {
  local port tries
  for tries in 1 2 3; do
    port=$(free_port)
    SRV_LOG=$(mktemp)
    env COHORTD_LISTEN=127.0.0.1:$port COHORTD_KEY_CACHE_TTL=0 COHORTD_LOG_LEVEL=info "$@" \
      $COHORTD_RUNNER "$BUILD/cohortd" serve --dev >"$SRV_LOG" 2>&1 &
    SRV_PID=$!
    BASE=http://127.0.0.1:$port
    # Ready = our process says it serves on our port (a health answer alone
    # could come from another process that holds the port).
    for _ in $(seq 150); do
      grep -q "serving on http://127.0.0.1:$port" "$SRV_LOG" && break
      kill -0 "$SRV_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$SRV_PID" 2>/dev/null && grep -q "serving on" "$SRV_LOG"; then
      WK=$(awk '/write key:/ {print $3}' "$SRV_LOG" | tail -1)
      RK=$(awk '/read key:/ {print $3}' "$SRV_LOG" | tail -1)
      [ -n "$WK" ] && return 0
    fi
    # Port taken between free_port and bind, or a slow start: try another port.
    kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; SRV_PID=
  done
  fail "server starts" "$(tail -20 "$SRV_LOG")"
  return 1
}

stop_server() { # stop_server [signal]: waits; sets SRV_RC
  [ -n "${SRV_PID:-}" ] || return 0
  kill -"${1:-TERM}" "$SRV_PID" 2>/dev/null
  wait "$SRV_PID"; SRV_RC=$?
  SRV_PID=
}

# req METHOD PATH [BODY] [curl args...]: sets STATUS, BODY, HDRS.
req() {
  local method=$1 path=$2 body=${3-} out hdr
  shift 2; [ $# -gt 0 ] && shift
  out=$(mktemp); hdr=$(mktemp)
  if [ -n "$body" ]; then
    STATUS=$(curl -s -o "$out" -D "$hdr" -w '%{http_code}' -X "$method" "$BASE$path" --data-binary "$body" "$@")
  else
    STATUS=$(curl -s -o "$out" -D "$hdr" -w '%{http_code}' -X "$method" "$BASE$path" "$@")
  fi
  BODY=$(cat "$out"); HDRS=$(cat "$hdr"); rm -f "$out" "$hdr"
}

JSON=(-H 'Content-Type: application/json')
wpost() { req POST "$1" "$2" "${JSON[@]}" -u "$WK:" "${@:3}"; }     # write-key POST
rget()  { req GET "$1" "" -H "Authorization: Bearer $RK" "${@:2}"; }  # read-key GET

# jq-free JSON field extraction via python3 (present on Debian images with postgresql? no: use node)
jget() { node -e 'let d="";process.stdin.on("data",c=>d+=c).on("end",()=>{let v=JSON.parse(d);for(const k of process.argv[1].split(".").filter(Boolean)){v=v==null?undefined:v[isNaN(k)?k:Number(k)]};console.log(typeof v==="object"?JSON.stringify(v):String(v))})' "$1"; }

# wait_store N: true once the in-memory store is ready and holds N events
# (up to a minute: the ASan build under load is slow).
wait_store() {
  for _ in $(seq 300); do
    req GET /metrics
    grep -q "^cohortd_store_events $1\$" <<<"$BODY" && grep -q '^cohortd_store_ready 1' <<<"$BODY" && return 0
    sleep 0.2
  done
  return 1
}

# checks_both_sources: run the suite's checks() against the in-memory store
# (once it holds every event), then against PostgreSQL alone (COHORTD_STORE=0).
checks_both_sources() {
  local suite=$T_FILE
  check "the store holds every event" wait_store "$(sql "SELECT count(*) FROM events")"
  T_FILE="$suite[store]" checks store
  stop_server
  start_server COHORTD_STORE=0 || finish
  T_FILE="$suite[postgres]" checks postgres
}

finish() {
  if [ -n "${SRV_PID:-}" ]; then
    stop_server
    # Exit code 66 = LeakSanitizer found leaks (ASan run); anything else non-zero is a crash.
    check_eq "cohortd exits 0 after SIGTERM (clean, no leaks)" 0 "$SRV_RC"
    [ "$SRV_RC" = 0 ] || tail -30 "$SRV_LOG" | sed 's/^/  # /'
  fi
  [ "${T_DB:-}" ] && psql -q -h "$PGDIR" -p "$PGPORT" -U cohortd -d postgres -c "DROP DATABASE IF EXISTS $T_DB WITH (FORCE)" >/dev/null 2>&1
  exit 0
}
