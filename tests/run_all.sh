#!/usr/bin/env bash
# make test: every suite, twice (normal build, then ASan+UBSan), plus the unit
# tests under valgrind and the Segment SDK test; ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
log=$(mktemp)
tap() { tee -a "$log"; }
step() { echo; echo "== $*"; }
t0=$(date +%s)

step "build"
if ! make -j2 --no-print-directory all unit-bins tools >/tmp/cohortd-build.log 2>&1; then
  tail -40 /tmp/cohortd-build.log; echo "not ok - build failed" | tap
else
  step "unit tests";        tests/run_unit.sh build | tap
  step "valgrind (unit tests)"; tests/run_valgrind.sh build | tap
  step "integration tests"; tests/integration/run.sh build | tap
  step "valgrind (cohortd under the ingest and identity suites)"
  COHORTD_RUNNER="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=66" \
    tests/integration/run.sh build t_ingest t_identity | sed -E 's/^(not ok|ok) - /\1 - valgrind: /' | tap
fi

step "ASan/UBSan build"
if ! make -j2 --no-print-directory BUILD=build-asan SAN=1 all unit-bins tools >/tmp/cohortd-asan.log 2>&1; then
  tail -40 /tmp/cohortd-asan.log; echo "not ok - asan build failed" | tap
else
  step "unit tests (ASan/UBSan)"
  COHORTD_SAN=1 tests/run_unit.sh build-asan | sed -E 's/^(not ok|ok) - /\1 - asan: /' | tap
  step "integration tests (ASan/UBSan)"
  COHORTD_SAN=1 LOADGEN=build/tools/loadgen tests/integration/run.sh build-asan | sed -E 's/^(not ok|ok) - /\1 - asan: /' | tap
fi

passed=$(grep -c '^ok' "$log"); failed=$(grep -c '^not ok' "$log")
echo
grep '^not ok' "$log" | sed 's/^/FAILED: /'
echo "total time: $(( $(date +%s) - t0 )) s"
echo "$passed passed, $failed failed"
rm -f "$log"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
