# Identity stitching over HTTP, checked in PostgreSQL (docs/identity.md).
source "$(dirname "$0")/lib.sh"
new_db; start_server || finish

person() { sql "SELECT person_id FROM identities WHERE distinct_id = '$1'"; }
effective() { sql "SELECT coalesce(o.person_id, i.person_id) FROM identities i LEFT JOIN person_overrides o ON o.project_id = i.project_id AND o.old_person_id = i.person_id WHERE i.distinct_id = '$1'"; }

# 1. anonymous browsing, then identify as a new user: same person, no override
wpost /v1/track '{"anonymousId":"anon-1","event":"Viewed","messageId":"m1"}'
wpost /v1/track '{"anonymousId":"anon-1","event":"Viewed","messageId":"m2"}'
wpost /v1/identify '{"anonymousId":"anon-1","userId":"alice","traits":{"email":"a@x.io"},"messageId":"m3"}'
wpost /v1/track '{"userId":"alice","event":"Bought","messageId":"m4"}'
check_eq "new user joins the anonymous person" "$(person anon-1)" "$(person alice)"
check_eq "earlier anonymous events already carry alice's person" 4 \
  "$(sql "SELECT count(*) FROM events WHERE person_id = $(person alice)")"
check_eq "no override needed" 0 "$(sql "SELECT count(*) FROM person_overrides")"

# 2. two existing persons merge: override, stored events untouched
wpost /v1/track '{"userId":"bob","event":"Signed Up","messageId":"b1"}'
wpost /v1/track '{"anonymousId":"anon-2","event":"Viewed","messageId":"b2"}'
bob=$(person bob); anon2=$(person anon-2)
check "bob and anon-2 start as different persons" test "$bob" != "$anon2"
wpost /v1/identify '{"anonymousId":"anon-2","userId":"bob","messageId":"b3"}'
check_eq "identify of two known persons: anonymous person overridden to bob" "$bob" "$(effective anon-2)"
check_eq "override row recorded" "$anon2|$bob" "$(sql "SELECT old_person_id || '|' || person_id FROM person_overrides")"
check_eq "stored events keep their raw person (never rewritten)" "$anon2" \
  "$(sql "SELECT person_id FROM events WHERE message_id = 'b2'")"
check_eq "events of bob through overrides" 3 \
  "$(sql "SELECT count(*) FROM events e LEFT JOIN person_overrides o ON o.project_id = e.project_id AND o.old_person_id = e.person_id WHERE coalesce(o.person_id, e.person_id) = $bob")"

# 3. alias: previousId joins userId; a chain flattens
wpost /v1/alias '{"previousId":"bob","userId":"robert","messageId":"al1"}'
check_eq "alias to a new id joins bob's person" "$bob" "$(person robert)"
wpost /v1/track '{"userId":"carol","event":"x","messageId":"c1"}'
carol=$(person carol)
wpost /v1/alias '{"previousId":"robert","userId":"carol","messageId":"al2"}'
check_eq "alias of two known persons merges bob into carol" "$carol" "$(effective bob)"
check_eq "the earlier override is flattened (anon-2 -> carol directly)" "$carol" "$(effective anon-2)"
check_eq "no override chains remain" 0 \
  "$(sql "SELECT count(*) FROM person_overrides a JOIN person_overrides b ON a.person_id = b.old_person_id")"

# 4. a retry after a merge still deduplicates (raw person is stable)
wpost /v1/track '{"anonymousId":"anon-2","event":"Viewed","messageId":"b2"}'
check_eq "retry after merge: still one row for b2" 1 "$(sql "SELECT count(*) FROM events WHERE message_id = 'b2'")"

# 5. same thing in one batch: order inside a batch is respected
wpost /v1/batch '{"batch":[{"type":"page","anonymousId":"anon-9","messageId":"z1"},{"type":"identify","anonymousId":"anon-9","userId":"zoe","messageId":"z2"},{"type":"track","userId":"zoe","event":"Bought","messageId":"z3"}]}'
check_eq "batch: page, identify, track on one person" 1 \
  "$(sql "SELECT count(DISTINCT person_id) FROM events WHERE message_id IN ('z1','z2','z3')")"
check_eq "persons first_seen/last_seen maintained" 1 \
  "$(sql "SELECT count(*) FROM persons WHERE person_id = $(person zoe) AND first_seen <= last_seen")"
# 6. a statement failing inside the identity path's pipelines (round trip
# 2: identities, merges, persons, events, COMMIT) stores nothing of the
# group, and the writer's connection and cache stay usable
counts() { sql "SELECT (SELECT count(*) FROM identities) || ' ' || (SELECT count(*) FROM events) || ' ' || (SELECT count(*) FROM persons) || ' ' || (SELECT count(*) FROM person_overrides)"; }
before=$(counts)
sql "ALTER TABLE events ADD CONSTRAINT t_poison CHECK (event <> 'Poison') NOT VALID"
wpost /v1/batch '{"batch":[{"type":"identify","anonymousId":"anon-p","userId":"paula","messageId":"p1"},{"type":"alias","previousId":"zoe","userId":"paula","messageId":"p2"},{"type":"track","userId":"newbie","event":"Poison","messageId":"p3"}]}'
check_eq "failing events insert: 422, nothing of the group stored (ids, merges, persons)" "422 $before" "$STATUS $(counts)"
sql "ALTER TABLE identities ADD CONSTRAINT t_poison CHECK (distinct_id <> 'poison-id') NOT VALID"
wpost /v1/track '{"userId":"poison-id","event":"x","messageId":"p4"}'
check_eq "failing identities insert: 422, nothing stored" "422 $before" "$STATUS $(counts)"
sql "ALTER TABLE events DROP CONSTRAINT t_poison; ALTER TABLE identities DROP CONSTRAINT t_poison"
wpost /v1/batch '{"batch":[{"type":"identify","anonymousId":"anon-p","userId":"paula","messageId":"p1"},{"type":"alias","previousId":"zoe","userId":"paula","messageId":"p2"},{"type":"track","userId":"newbie","event":"Poison","messageId":"p3"}]}'
check_eq "the same group once allowed: stored, zoe merged into paula" "200 $(person paula)" "$STATUS $(effective zoe)"
finish
