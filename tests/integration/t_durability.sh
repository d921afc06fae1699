# Durability under failure: a 2xx means committed, and nothing acknowledged is
# lost or doubled across SIGTERM during load and a PostgreSQL restart under load.
source "$(dirname "$0")/lib.sh"
LOADGEN=${LOADGEN:-build/tools/loadgen}
[ -x "$LOADGEN" ] || make -s tools >/dev/null 2>&1
[ -x "$LOADGEN" ] || { fail "loadgen built" "make tools failed"; finish; }
new_db

# acked_check NAME FILE: every acknowledged messageId stored exactly once.
acked_check() {
  local n stored
  n=$(sort -u "$2" | wc -l)
  sql "SET client_min_messages = warning; CREATE TABLE IF NOT EXISTS acked (message_id text); TRUNCATE acked" >/dev/null
  sort -u "$2" | psql -X -q "$DATABASE_URL" -c "\\copy acked FROM STDIN" >/dev/null
  stored=$(sql "SELECT count(*) FROM acked a WHERE EXISTS (SELECT 1 FROM events e WHERE e.message_id = a.message_id)")
  check_eq "$1: all $n acknowledged events are stored" "$n" "$stored"
  check_eq "$1: no messageId stored twice" 0 "$(sql "SELECT count(*) FROM (SELECT message_id FROM events GROUP BY message_id HAVING count(*) > 1) d")"
  check "$1: the load really ran (> 100 acknowledged)" test "$n" -gt 100
}

# 1. SIGTERM in the middle of a load: in-flight requests drain, exit 0.
start_server || finish
acked=$(mktemp)
"$LOADGEN" --url "$BASE" --key "$WK" --mode track --conns 16 --duration 4 --prefix term --acked "$acked" >/tmp/lg1.$$ 2>&1 &
lg=$!
sleep 1.5
stop_server TERM
check_eq "cohortd exits 0 on SIGTERM under load" 0 "$SRV_RC"
wait $lg
acked_check "SIGTERM under load" "$acked"

# 2. PostgreSQL stopped and restarted under load: 503 while down, recovery after.
start_server || finish
: >"$acked"
"$LOADGEN" --url "$BASE" --key "$WK" --mode batch --batch-size 20 --conns 8 --duration 9 --prefix pgr --acked "$acked" >/tmp/lg2.$$ 2>&1 &
lg=$!
sleep 2
scripts/pg.sh stop "$PGDIR"
sleep 0.5
t0=$(date +%s%N)
req POST /v1/track '{"userId":"down","event":"x","messageId":"while-down"}' "${JSON[@]}" -u "$WK:"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "database down: ingest answers 503" 503 "$STATUS"
check "database down: the 503 comes within a second (${ms} ms)" test "$ms" -lt 1000
check_match "database down: 503 carries Retry-After" 'Retry-After: [0-9]+' "$HDRS"
req GET /ready
check_eq "database down: /ready is 503" 503 "$STATUS"
sleep 1.5
scripts/pg.sh start "$PGDIR" >/dev/null
wait $lg
summary=$(tail -1 /tmp/lg2.$$)
check_match "load saw 503s while the database was down" '"503":[1-9]' "$summary"
req GET /ready
check_eq "database back: /ready is 200 again" 200 "$STATUS"
wpost /v1/track '{"userId":"up","event":"x","messageId":"after-restart"}'
check_eq "database back: ingest works again without a restart of cohortd" 200 "$STATUS"
check_eq "the 503'd event was not stored" 0 "$(sql "SELECT count(*) FROM events WHERE message_id = 'while-down'")"
acked_check "PostgreSQL restart under load" "$acked"
rm -f "$acked" /tmp/lg1.$$ /tmp/lg2.$$
finish
