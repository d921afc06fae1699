#!/usr/bin/env bash
# Run every unit-test binary in BUILD/tests and print TAP lines ("ok" / "not ok").
# A binary that dies without reporting a failure counts as one failure.
set -u
build=${1:-build}
status=0
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1); rc=$?
  # TAP lines get the binary's name; cmocka's group summaries ("# ok - tests") are dropped.
  printf '%s\n' "$out" | grep -v '^# \(not \)\?ok - ' |
    sed -n -e "s/^\(not ok\|ok\) [0-9]* - /\1 - $name: /p" -e 's/^#/  #/p'
  if [ $rc -ne 0 ]; then
    status=1
    printf '%s\n' "$out" | grep -q '^not ok' || { echo "not ok - $name: exited $rc"; printf '%s\n' "$out" | tail -20 | sed 's/^/  # /'; }
  fi
done
exit $status
