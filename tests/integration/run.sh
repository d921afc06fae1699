#!/usr/bin/env bash
# Integration suite: one embedded PostgreSQL in a temporary folder (random
# port, fsync off), then every tests/integration/t_*.sh against a real cohortd
# over loopback, each with a fresh database. Prints TAP lines.
#   tests/integration/run.sh BUILD [t_name ...]
set -u
cd "$(dirname "$0")/../.."
BUILD=${1:-build}; shift || true
export BUILD
tmp=$(mktemp -d); chmod 755 "$tmp"
export PGDIR=$tmp/pg
if ! PG_FSYNC=off scripts/pg.sh start "$PGDIR" >/dev/null; then
  echo "not ok - integration: embedded PostgreSQL did not start"; exit 1
fi
export PGPORT; PGPORT=$(cat "$PGDIR/port")
export PGCONNECT_TIMEOUT=5
trap 'scripts/pg.sh stop "$PGDIR"; rm -rf "$tmp"' EXIT
# Under ASan, leaks are checked at exit of each cohortd (LeakSanitizer).
if [ -n "${COHORTD_SAN:-}" ]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=66 UBSAN_OPTIONS=print_stacktrace=1
fi
files=("$@"); [ ${#files[@]} -gt 0 ] || files=(tests/integration/t_*.sh)
status=0
for f in "${files[@]}"; do
  [ -f "$f" ] || f=tests/integration/$f.sh
  t0=$(date +%s)
  out=$(timeout 600 bash "$f" 2>&1); rc=$?
  printf '%s\n' "$out"
  echo "# $(basename "$f" .sh): $(( $(date +%s) - t0 )) s"
  if [ $rc -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
    echo "not ok - $(basename "$f" .sh): exited $rc"; status=1
  fi
  grep -q '^not ok' <<<"$out" && status=1
done
exit $status
