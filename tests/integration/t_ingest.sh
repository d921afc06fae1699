# Segment-compatible ingest: every route, every error code, dedupe, batches,
# limits, auth. Each assertion checks the HTTP answer AND what PostgreSQL holds.
source "$(dirname "$0")/lib.sh"
new_db; start_server || finish

# --- health, ready, request ids, openapi ---
req GET /health;  check_eq "GET /health is 200" 200 "$STATUS"
check_match "every response has X-Request-Id" 'X-Request-Id: [0-9a-f]{16}' "$HDRS"
ids=$(for _ in $(seq 50); do curl -s -D - -o /dev/null "$BASE/health" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-request-id" {print $2}'; done)
check_eq "50 requests, 50 different request ids" "50 50" "$(wc -l <<<"$ids") $(sort -u <<<"$ids" | wc -l)"
req GET /health "" -H 'X-Request-Id: client-id-42'
check_match "a client X-Request-Id is echoed" 'X-Request-Id: client-id-42' "$HDRS"
req GET /ready;   check_eq "GET /ready is 200 when migrated" 200 "$STATUS"
req GET /openapi.json; check_eq "GET /openapi.json is 200" 200 "$STATUS"
check_eq "openapi.json parses and lists /v1/batch" true "$(jget paths./v1/batch.post.security.0.writeKey <<<"$BODY" >/dev/null && echo true)"
req GET /nope;    check_eq "unknown route is 404" 404 "$STATUS"
check_eq "404 has the error shape" not_found "$(jget error.code <<<"$BODY")"
req GET /v1/track; check_eq "wrong method is 405" 405 "$STATUS"

# --- every call type, one row each ---
wpost /v1/track '{"userId":"u1","event":"Signed Up","properties":{"plan":"pro"},"messageId":"t-1","timestamp":"2026-01-02T03:04:05.678Z"}'
check_eq "track 200" 200 "$STATUS"; check_eq "track answers like Segment" '{"success":true}' "$BODY"
wpost /v1/identify '{"userId":"u1","traits":{"email":"u1@x.io","plan":"pro"},"messageId":"i-1"}'
check_eq "identify 200" 200 "$STATUS"
wpost /v1/page '{"anonymousId":"a9","name":"Home","properties":{"path":"/"},"messageId":"p-1"}'
check_eq "page 200" 200 "$STATUS"
wpost /v1/screen '{"userId":"u1","name":"Cart","messageId":"s-1"}'
check_eq "screen 200" 200 "$STATUS"
wpost /v1/group '{"userId":"u1","groupId":"g1","traits":{"name":"Acme"},"messageId":"g-1"}'
check_eq "group 200" 200 "$STATUS"
wpost /v1/alias '{"userId":"u1","previousId":"old-u1","messageId":"al-1"}'
check_eq "alias 200" 200 "$STATUS"
check_eq "one row per call type" "\$alias|1
\$group|1
\$identify|1
\$page|1
\$screen|1
Signed Up|1" "$(sql "SELECT event, count(*) FROM events GROUP BY 1 ORDER BY 1")"
check_eq "track timestamp stored exactly (no sentAt: no skew correction)" "2026-01-02 03:04:05.678+00" \
  "$(sql "SELECT ts FROM events WHERE message_id='t-1'")"
check_eq "properties stored as jsonb" pro "$(sql "SELECT properties->>'plan' FROM events WHERE message_id='t-1'")"
check_eq "page name stored" Home "$(sql "SELECT name FROM events WHERE message_id='p-1'")"
check_eq "identify traits merged into the person" "u1@x.io" \
  "$(sql "SELECT p.traits->>'email' FROM persons p JOIN identities i USING (project_id, person_id) WHERE i.distinct_id='u1'")"

# --- dedupe: the same messageId twice is stored once ---
for _ in 1 2 3; do wpost /v1/track '{"userId":"u1","event":"Retry","messageId":"dup-1"}'; done
check_eq "retried messageId stored once" 1 "$(sql "SELECT count(*) FROM events WHERE message_id='dup-1'")"

# --- clock skew: timestamp = receivedAt - (sentAt - timestamp) ---
wpost /v1/track '{"userId":"u1","event":"Skew","messageId":"skew-1","timestamp":"2000-01-01T00:00:00Z","sentAt":"2000-01-01T00:10:00Z"}'
check_eq "skew-corrected timestamp is 10 minutes before receipt" 1 \
  "$(sql "SELECT count(*) FROM events WHERE message_id='skew-1' AND abs(extract(epoch from (received_at - ts)) - 600) < 2")"
wpost /v1/track '{"userId":"u1","event":"Future","messageId":"fut-1","timestamp":"2999-01-01T00:00:00Z"}'
check_eq "far-future timestamp clamped to receipt" 1 "$(sql "SELECT count(*) FROM events WHERE message_id='fut-1' AND ts = received_at")"

# --- batch: all or nothing, errors name batch[i].field ---
wpost /v1/batch '{"batch":[{"type":"track","userId":"b1","event":"A","messageId":"b-1"},{"type":"page","anonymousId":"b2","messageId":"b-2"}],"context":{"library":{"name":"curl"}}}'
check_eq "batch 200" 200 "$STATUS"
check_eq "batch context merged into messages" curl "$(sql "SELECT context#>>'{library,name}' FROM events WHERE message_id='b-2'")"
before=$(sql "SELECT count(*) FROM events")
wpost /v1/batch '{"batch":[{"type":"track","userId":"b3","event":"A","messageId":"b-3"},{"type":"track","userId":"b3","messageId":"b-4"}]}'
check_eq "invalid message rejects the batch: 400" 400 "$STATUS"
check_eq "error names batch[1].event" "batch[1].event" "$(jget error.field <<<"$BODY")"
check_eq "nothing of a rejected batch is stored" "$before" "$(sql "SELECT count(*) FROM events")"
wpost /v1/batch '{"batch":[{"type":"bogus","userId":"x"}]}'
check_eq "unknown type: 400 naming batch[0].type" "400 batch[0].type" "$STATUS $(jget error.field <<<"$BODY")"
wpost /v1/batch '{"batch":[{"type":"track","userId":"x","event":"E","timestamp":"yesterday"}]}'
check_eq "bad timestamp: 400 naming batch[0].timestamp" "400 batch[0].timestamp" "$STATUS $(jget error.field <<<"$BODY")"
wpost /v1/batch '{"batch":[{"type":"track","userId":"x","event":"E","properties":[1]}]}'
check_eq "properties not an object: 400" "400 batch[0].properties" "$STATUS $(jget error.field <<<"$BODY")"
wpost /v1/batch '{"batch":[]}'
check_eq "empty batch: 400" 400 "$STATUS"
wpost /v1/batch '{"batch":[{"type":"alias","userId":"x"}]}'
check_eq "alias without previousId: 400" "400 batch[0].previousId" "$STATUS $(jget error.field <<<"$BODY")"

# --- malformed input ---
wpost /v1/track '{"userId":'
check_eq "malformed JSON: 400 invalid_json" "400 invalid_json" "$STATUS $(jget error.code <<<"$BODY")"
wpost /v1/track '{"userId":"a","userId":"b","event":"x"}'
check_eq "duplicate keys: 400" 400 "$STATUS"
wpost /v1/track '[1,2]'
check_eq "non-object body: 400" 400 "$STATUS"
wpost /v1/track '{"event":"x"}'
check_eq "no userId/anonymousId: 400 naming userId" "400 userId" "$STATUS $(jget error.field <<<"$BODY")"
wpost /v1/track '{"userId":"u","event":"x","userId2":1,"_metadata":{"a":1},"integrations":{}}'
check_eq "unknown extra fields are accepted (SDKs add them)" 200 "$STATUS"
req POST /v1/track '{"userId":"u","event":"x"}' -u "$WK:" -H 'Content-Type: text/plain'
check_eq "wrong Content-Type: 415" 415 "$STATUS"

# --- limits: 32 KB per message, 500 KB per batch ---
big=$(head -c 40000 /dev/zero | tr '\0' 'a')
wpost /v1/track "{\"userId\":\"u\",\"event\":\"x\",\"properties\":{\"p\":\"$big\"}}"
check_eq "message over 32 KB: 413" "413 payload_too_large" "$STATUS $(jget error.code <<<"$BODY")"
wpost /v1/batch "{\"batch\":[{\"type\":\"track\",\"userId\":\"u\",\"event\":\"x\",\"properties\":{\"p\":\"$big\"}}]}"
check_eq "batch message over 32 KB: 413 naming batch[0]" "413 batch[0]" "$STATUS $(jget error.field <<<"$BODY")"
bigf=$(mktemp)
{ printf '{"batch":[],"pad":"'; head -c 600000 /dev/zero | tr '\0' 'a'; printf '"}'; } >"$bigf"
wpost /v1/batch "@$bigf"
check_eq "batch over 500 KB: 413" 413 "$STATUS"
msgs=$(for i in $(seq 60); do printf '{"type":"track","userId":"lim","event":"x","messageId":"lim-%d","properties":{"p":"%s"}},' $i "${big:0:9000}"; done)
printf '{"batch":[%s]}' "${msgs%,}" >"$bigf"
wpost /v1/batch "@$bigf" -H 'Transfer-Encoding: chunked'
rm -f "$bigf"
check_eq "chunked batch over 500 KB (no Content-Length): 413" 413 "$STATUS"
check_eq "nothing of an oversize batch is stored" 0 "$(sql "SELECT count(*) FROM events WHERE user_id='lim'")"

# --- gzip bodies (RudderStack's default) ---
printf '{"batch":[{"type":"track","userId":"gz","event":"Zipped","messageId":"gz-1"}]}' | gzip > /tmp/gz.$$
req POST /v1/batch "" "${JSON[@]}" -u "$WK:" -H 'Content-Encoding: gzip' --data-binary @/tmp/gz.$$
rm -f /tmp/gz.$$
check_eq "gzip batch accepted" 200 "$STATUS"
check_eq "gzip batch stored" 1 "$(sql "SELECT count(*) FROM events WHERE message_id='gz-1'")"

# --- auth: no key, unknown key, read key, revoked key, body writeKey ---
before=$(sql "SELECT count(*) FROM events")
req POST /v1/track '{"userId":"u","event":"x"}' "${JSON[@]}"
check_eq "no key: 401" "401 unauthorized" "$STATUS $(jget error.code <<<"$BODY")"
req POST /v1/track '{"userId":"u","event":"x"}' "${JSON[@]}" -u "cw_unknown:"
check_eq "unknown key: 401" 401 "$STATUS"
req POST /v1/track '{"userId":"u","event":"x"}' "${JSON[@]}" -u "$RK:"
check_eq "read key on a write route: 403" "403 forbidden" "$STATUS $(jget error.code <<<"$BODY")"
check_eq "nothing stored by rejected auth" "$before" "$(sql "SELECT count(*) FROM events")"
req POST /v1/track "{\"userId\":\"wk\",\"event\":\"BodyKey\",\"writeKey\":\"$WK\"}" "${JSON[@]}"
check_eq "writeKey in the body authenticates" 200 "$STATUS"
KEY2=$("$BUILD/cohortd" keys create --project default --kind write 2>/dev/null | tail -1)
req POST /v1/track '{"userId":"u","event":"x"}' "${JSON[@]}" -u "$KEY2:"
check_eq "a new key from the CLI works" 200 "$STATUS"
"$BUILD/cohortd" keys revoke "$KEY2" >/dev/null 2>&1
req POST /v1/track '{"userId":"u","event":"x"}' "${JSON[@]}" -u "$KEY2:"
check_eq "revoked key: 401" 401 "$STATUS"
check_eq "keys are stored only as SHA-256" 0 "$(sql "SELECT count(*) FROM api_keys WHERE key_hash = convert_to('$KEY2','UTF8') OR key_prefix = '$KEY2'")"

# --- metrics ---
req GET /metrics
check_match "metrics count track requests" 'cohortd_http_requests_total\{route="/v1/track",code="2xx"\} [0-9]+' "$BODY"

finish
