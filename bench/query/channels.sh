#!/usr/bin/env bash
# bench/query/channels.sh - GET /v1/channels with the in-memory store and
# without it (COHORTD_STORE=0), 3 calls each, on the data bench/query/run.sh
# loaded into bench/data/query/pg (run that first), and whether both
# answers are the same.
#   bench/query/channels.sh [FROM TO]      default 2026-03-01 2026-03-08
set -euo pipefail
cd "$(dirname "$0")/../.."
FROM=${1:-2026-03-01}; TO=${2:-2026-03-08}
PGD=bench/data/query/pg
[ -s "$PGD/data/PG_VERSION" ] || { echo "no data in $PGD: run bench/query/run.sh first" >&2; exit 2; }
make -s all
scripts/pg.sh start "$PGD" >/dev/null
trap 'scripts/pg.sh stop "$PGD"' EXIT
export DATABASE_URL="postgresql://cohortd@127.0.0.1:$(cat "$PGD/port")/cohortd"
RK=$(build/cohortd keys create --project bench --kind read 2>/dev/null | tail -1)
PORT=$((20000 + RANDOM % 40000))
URL="/v1/channels?from=$FROM&to=$TO&tz=UTC"
tmp=$(mktemp -d)
for store in 1 0; do
  COHORTD_STORE=$store COHORTD_LISTEN=127.0.0.1:$PORT COHORTD_LOG_LEVEL=warn build/cohortd serve >"$tmp/srv.log" 2>&1 &
  P=$!
  for _ in $(seq 600); do
    if [ "$store" = 1 ]; then curl -s "localhost:$PORT/metrics" | grep -q '^cohortd_store_ready 1' && break
    else curl -sf "localhost:$PORT/ready" >/dev/null && break; fi
    sleep 0.2
  done
  for i in 1 2 3; do
    s=$(date +%s%N); curl -s -H "Authorization: Bearer $RK" "localhost:$PORT$URL" >"$tmp/$store-$i.json"; e=$(date +%s%N)
    echo "store=$store call $i: $(( (e - s) / 1000000 )) ms, source $(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).source)' "$tmp/$store-$i.json")"
  done
  kill $P; wait $P || true
done
node -e 'const f=p=>{const j=JSON.parse(require("fs").readFileSync(p));delete j.source;return JSON.stringify(j)};
  console.log(f(process.argv[1])===f(process.argv[2])?"answers identical":"ANSWERS DIFFER")' "$tmp/1-3.json" "$tmp/0-3.json"
rm -rf "$tmp"
