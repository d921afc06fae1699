#!/usr/bin/env bash
# make run: serve cohortd. Without DATABASE_URL an embedded PostgreSQL is
# started under ./var/pg (created on first use, reused afterwards, stopped
# when cohortd exits). Dev keys for project "default" are printed.
set -euo pipefail
bin=${1:-build/cohortd}
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ]; then
  mkdir -p var
  DATABASE_URL=$(scripts/pg.sh start var/pg)
  export DATABASE_URL
  trap 'echo "stopping embedded PostgreSQL"; scripts/pg.sh stop var/pg' EXIT
  echo "embedded PostgreSQL: $DATABASE_URL (data in ./var/pg)"
fi
"$bin" serve --dev &
pid=$!
trap 'kill -TERM $pid 2>/dev/null' INT TERM
wait $pid || true
wait $pid 2>/dev/null || true
