# An unmodified Segment server SDK (@segment/analytics-node from npm) with its
# host pointed at cohortd: every event it sends is stored exactly once.
source "$(dirname "$0")/lib.sh"
sdkdir=$(cd "$(dirname "$0")/../sdk" && pwd)
if [ ! -d "$sdkdir/node_modules/@segment/analytics-node" ]; then
  (cd "$sdkdir" && npm install --no-audit --no-fund --silent >/tmp/cohortd-npm.log 2>&1) \
    || { fail "npm install @segment/analytics-node" "$(tail -5 /tmp/cohortd-npm.log)"; finish; }
fi
new_db; start_server || finish
out=$(cd "$sdkdir" && timeout 120 node send.mjs "$BASE" "$WK" 1200 2>&1)
check_eq "SDK reports no failed deliveries" 0 "$(tail -1 <<<"$out" | jget failed)"
check_eq "all 1200 SDK events stored" 1200 "$(sql "SELECT count(*) FROM events")"
check_eq "each SDK messageId stored exactly once" 1200 "$(sql "SELECT count(DISTINCT message_id) FROM events")"
check_match "SDK messageIds kept as sent" '^node-next-' "$(sql "SELECT message_id FROM events LIMIT 1")"
check_eq "SDK library context kept" "@segment/analytics-node" "$(sql "SELECT DISTINCT context#>>'{library,name}' FROM events")"
check_eq "SDK identify traits reached the person" pro \
  "$(sql "SELECT p.traits->>'plan' FROM persons p JOIN identities i USING (project_id, person_id) WHERE i.distinct_id='sdk-user-0'")"
check_eq "100 SDK users became 100 persons" 100 "$(sql "SELECT count(*) FROM persons")"
finish
