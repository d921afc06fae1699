#!/usr/bin/env bash
# Every unit-test binary under valgrind: one TAP line each, failing on any
# leak or invalid access.
set -u
build=${1:-build}
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  if out=$(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
           --error-exitcode=99 "$t" 2>&1 >/dev/null); then
    echo "ok - valgrind: $name"
  else
    echo "not ok - valgrind: $name"; printf '%s\n' "$out" | tail -20 | sed 's/^/  # /'
  fi
done
