# Scoring runs: POST /v1/scores/run and GET /v1/scores/runs/{id}, progress,
# errors, crash safety (a failed, killed or interrupted run leaves the
# previous scores intact), and the schedule: two cohortd processes on one
# database with a 1 s interval produce exactly one run per interval.
source "$(dirname "$0")/lib.sh"
new_db; start_server || finish

run_now() { req POST /v1/scores/run "" -H "Authorization: Bearer $RK"; jget run_id <<<"$BODY"; }
wait_run() { # wait_run ID: polls until done/failed (10 s), leaves the run in BODY
  for _ in $(seq 200); do rget "/v1/scores/runs/$1"
    case $(jget status <<<"$BODY") in done|failed) return;; esac; sleep 0.05; done; }
# A fingerprint of the current generation, computed by SQL.
scores_sum() { sql "SELECT c.run_id || ':' || count(s.*) || ':' || coalesce(sum(hashtext(s::text)), 0)
  FROM score_current c LEFT JOIN person_scores s USING (project_id, run_id) GROUP BY c.run_id"; }

users=""; for i in $(seq 1 1500); do users+="{\"type\":\"track\",\"userId\":\"u$i\",\"event\":\"Activated\"},"; done
wpost /v1/batch "{\"batch\":[${users%,}]}"
check_eq "1500 persons ingested" 200 "$STATUS"

# --- a run: 202 at once, then done with progress and timings ---
req POST /v1/scores/run "" -H "Authorization: Bearer $RK"
check_eq "POST /v1/scores/run: 202" 202 "$STATUS"
check_match "answers a queued or running run at once" '"status":"(queued|running)"' "$BODY"
run1=$(jget run_id <<<"$BODY")
wait_run "$run1"
check_eq "run done" done "$(jget status <<<"$BODY")"
check_eq "progress scored/total = rows written (SQL)" "$(sql "SELECT count(*) || '/' || count(*) FROM person_scores WHERE run_id = $run1")" \
  "$(jget progress.scored <<<"$BODY")/$(jget progress.total <<<"$BODY")"
check_eq "1500 persons scored" 1500 "$(jget progress.total <<<"$BODY")"
check_match "timings per phase" '"load_events_ms":[0-9]+.*"total_ms":[0-9]+' "$(node -e 'const t=JSON.parse(require("fs").readFileSync(0)).timings;console.log(JSON.stringify(Object.fromEntries(Object.entries(t).sort())))' <<<"$BODY")"
check_eq "the run is current" "$run1" "$(sql "SELECT run_id FROM score_current")"
check_eq "every row carries the run id and a computed_at" 0 "$(sql "SELECT count(*) FROM person_scores WHERE run_id <> $run1 OR computed_at IS NULL")"

# --- LTV columns written into the current generation are carried forward ---
sql "UPDATE person_scores s SET p_alive = 0.25, clv_predicted = 1234.5 FROM score_current c
     WHERE s.project_id = c.project_id AND s.run_id = c.run_id AND s.person_id % 100 = 0"
runc=$(run_now); wait_run "$runc"
check_eq "LTV columns are carried into the next generation" "15 0.25 1234.5" \
  "$(sql "SELECT count(*) || ' ' || min(p_alive) || ' ' || max(clv_predicted) FROM person_scores WHERE run_id = $runc AND p_alive IS NOT NULL")"

# --- slow writes (a trigger sleeps per row) to observe a run in flight ---
slow_on()  { sql "CREATE OR REPLACE FUNCTION t_slow() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN PERFORM pg_sleep(0.002); RETURN NEW; END \$\$;
              CREATE TRIGGER t_slow BEFORE INSERT ON person_scores FOR EACH ROW EXECUTE FUNCTION t_slow()"; }
slow_off() { sql "DROP TRIGGER IF EXISTS t_slow ON person_scores"; }
slow_on
before=$(scores_sum)
run2=$(run_now)
req POST /v1/scores/run "" -H "Authorization: Bearer $RK"
check_eq "a second request while one is active returns that run" "202 $run2 true" "$STATUS $(jget run_id <<<"$BODY") $(jget existing <<<"$BODY")"
mid=""
for _ in $(seq 200); do rget "/v1/scores/runs/$run2"
  s=$(jget progress.scored <<<"$BODY"); t=$(jget progress.total <<<"$BODY")
  [ "$(jget status <<<"$BODY")" = running ] && [ "$s" -gt 0 ] 2>/dev/null && [ "$s" -lt "$t" ] && { mid="$s/$t"; break; }
  sleep 0.05; done
check_match "progress is reported while writing" '^[0-9]+/1500$' "$mid"
check_eq "readers see the previous scores while a run writes" "$before" "$(scores_sum)"
wait_run "$run2"; check_eq "slow run done" done "$(jget status <<<"$BODY")"

# --- a run that fails while writing: error reported, old scores intact ---
before=$(scores_sum)
sql "ALTER TABLE person_scores ADD CONSTRAINT t_boom CHECK (person_id <> 1400) NOT VALID"  # new rows only
run3=$(run_now); wait_run "$run3"
check_eq "a failing run is reported failed" failed "$(jget status <<<"$BODY")"
check_match "with the phase and the reason" 'scores: value rejected by the database' "$(jget error <<<"$BODY")"
check_eq "previous scores intact after a failed run" "$before" "$(scores_sum)"
check_eq "no row of the failed run is visible" 0 "$(sql "SELECT count(*) FROM person_scores WHERE run_id = $run3")"
sql "ALTER TABLE person_scores DROP CONSTRAINT t_boom"

# --- kill -9 in the middle of writing: previous scores intact, run reaped ---
before=$(scores_sum)
run4=$(run_now)
for _ in $(seq 200); do rget "/v1/scores/runs/$run4"; [ "$(jget progress.scored <<<"$BODY")" -gt 0 ] 2>/dev/null && break; sleep 0.05; done
kill -9 "$SRV_PID"; wait "$SRV_PID" 2>/dev/null; SRV_PID=
check_eq "previous scores intact after kill -9 mid-write" "$before" "$(scores_sum)"
start_server || finish
rget "/v1/scores/runs/$run4"
check_eq "the killed process's run is marked failed" "failed" "$(jget status <<<"$BODY")"
check_match "as interrupted" '^interrupted' "$(jget error <<<"$BODY")"
check_eq "no row of the killed run remains visible" 0 "$(sql "SELECT count(*) FROM person_scores WHERE run_id = $run4")"

# --- SIGTERM during a run: clean exit, run failed, scores intact ---
before=$(scores_sum)
run5=$(run_now)
for _ in $(seq 200); do rget "/v1/scores/runs/$run5"; [ "$(jget progress.scored <<<"$BODY")" -gt 0 ] 2>/dev/null && break; sleep 0.05; done
t0=$(date +%s%N); stop_server TERM; t1=$(date +%s%N)
check_eq "SIGTERM during a run: exit 0" 0 "$SRV_RC"
check_eq "SIGTERM does not wait for the run (< 3 s)" 1 "$(( (t1 - t0) < 3000000000 ))"
check_eq "the interrupted run is failed" "failed interrupted: cohortd is shutting down" \
  "$(sql "SELECT status || ' ' || error FROM score_runs WHERE run_id = $run5")"
check_eq "previous scores intact after SIGTERM" "$before" "$(scores_sum)"
slow_off

# --- the schedule: two processes, 1 s interval, one run per slot ---
sql "DELETE FROM score_runs WHERE trigger = 'schedule'"
start_server COHORTD_SCORE_INTERVAL=1s || finish; P1=$SRV_PID; L1=$SRV_LOG
start_server COHORTD_SCORE_INTERVAL=1s || finish; P2=$SRV_PID
sleep 6.5
kill -TERM "$P1" "$P2"; wait "$P1"; R1=$?; wait "$P2"; R2=$?; SRV_PID=
check_eq "both schedulers exit 0" "0 0" "$R1 $R2"
check_eq "never two scheduled runs in one slot" 0 "$(sql "SELECT count(*) FROM (SELECT slot FROM score_runs WHERE trigger = 'schedule' GROUP BY slot HAVING count(*) > 1) x")"
check_eq "one run per interval: consecutive slots, no gaps" "$(sql "SELECT max(slot) - min(slot) + 1 FROM score_runs WHERE trigger = 'schedule'")" \
  "$(sql "SELECT count(*) FROM score_runs WHERE trigger = 'schedule'")"
check_match "about one run per second over 6.5 s" '^[5-7]$' "$(sql "SELECT count(*) FROM score_runs WHERE trigger = 'schedule'")"
check_eq "scheduled runs all done (bar one cut short by SIGTERM)" 0 "$(sql "SELECT count(*) FROM score_runs WHERE trigger = 'schedule' AND status <> 'done' AND NOT (error LIKE 'interrupted%' OR error LIKE 'cancelled%')")"
check_eq "the latest scheduled run is current" "$(sql "SELECT max(run_id) FROM score_runs WHERE trigger = 'schedule' AND status = 'done'")" "$(sql "SELECT run_id FROM score_current")"

# --- bad interval: start-up fails with a clear message ---
out=$(COHORTD_SCORE_INTERVAL=15x COHORTD_LISTEN=127.0.0.1:1 $COHORTD_RUNNER "$BUILD/cohortd" serve 2>&1); rc=$?
check_eq "COHORTD_SCORE_INTERVAL=15x: exit 2" 2 "$rc"
check_match "names the setting" 'COHORTD_SCORE_INTERVAL must be' "$out"
for v in 0s 1h30m 10 -5m 9999d; do
  COHORTD_SCORE_INTERVAL=$v COHORTD_LISTEN=127.0.0.1:1 $COHORTD_RUNNER "$BUILD/cohortd" serve >/dev/null 2>&1
  check_eq "COHORTD_SCORE_INTERVAL=$v is refused" 2 "$?"
done

# --- bad requests ---
start_server || finish
rget /v1/scores/runs/abc;        check_eq "non-numeric run id: 400 naming id" "400 id" "$STATUS $(jget error.field <<<"$BODY")"
rget /v1/scores/runs/987654;     check_eq "unknown run: 404" 404 "$STATUS"
req POST /v1/scores/run '{"lookback":"1d"}' -H "Authorization: Bearer $RK"
check_eq "unknown body field: 400 naming it" "400 lookback" "$STATUS $(jget error.field <<<"$BODY")"
req POST "/v1/scores/run?now=1" "" -H "Authorization: Bearer $RK"
check_eq "unknown parameter: 400 naming it" "400 now" "$STATUS $(jget error.field <<<"$BODY")"
other=$($COHORTD_RUNNER "$BUILD/cohortd" keys create --project other --kind read 2>/dev/null | tail -1)
req GET "/v1/scores/runs/$run1" "" -H "Authorization: Bearer $other"
check_eq "another project's run: 404" 404 "$STATUS"
req POST /v1/scores/run "" -H "Authorization: Bearer $WK"
check_eq "a write key cannot start a run: 403" 403 "$STATUS"

finish
