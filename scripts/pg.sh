#!/usr/bin/env bash
# Embedded PostgreSQL for development and tests.
#
#   scripts/pg.sh start DIR [PORT]   initdb DIR on first use, start it, print DATABASE_URL
#   scripts/pg.sh stop DIR           stop it (fast shutdown)
#   scripts/pg.sh url DIR            print DATABASE_URL of a running cluster
#
# The server listens on a unix socket inside DIR and on 127.0.0.1:PORT (a free
# random port when PORT is omitted; remembered in DIR/port). PostgreSQL refuses
# to run as root, so as root the cluster runs as the unprivileged system user
# "postgres" (created when missing). PG_FSYNC=off makes it fast for tests.
# shared_buffers is a quarter of the machine's memory, 128 MB to 2 GB (the
# usual PostgreSQL advice; PG_SHARED_BUFFERS=512MB overrides), set when the
# cluster is created: profiles of 1M persons read ~600 MB of tables and
# indexes, and every page not in shared buffers is copied in from the OS.
set -euo pipefail
cmd=${1:?usage: pg.sh start|stop|url DIR [PORT]}
dir=$(realpath -m "${2:?DIR missing}")
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bindir/initdb" ] || { echo "pg.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

run_as=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
  run_as=(runuser -u postgres --)
fi
pg() { "${run_as[@]}" "$@"; }

url() { echo "postgresql://cohortd@127.0.0.1:$(cat "$dir/port")/cohortd"; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case "$cmd" in
start)
  mkdir -p "$dir"
  if [ ! -s "$dir/data/PG_VERSION" ]; then
    [ "${#run_as[@]}" -gt 0 ] && chown postgres: "$dir" && chmod 755 "$dir"
    # As root the cluster runs as "postgres", which must be able to reach DIR:
    # a private parent (mktemp -d makes 0700 folders) stops initdb with a bare
    # "Permission denied". Say which folder and what to do instead.
    if [ "${#run_as[@]}" -gt 0 ] && ! pg test -x "$dir"; then
      blocked=$dir p=/
      IFS=/ read -ra parts <<<"${dir#/}"
      for part in "${parts[@]}"; do
        p=${p%/}/$part
        pg test -x "$p" || { blocked=$p; break; }
      done
      echo "pg.sh: user postgres cannot enter $blocked (mode $(stat -c %a "$blocked")), so the" \
           "embedded PostgreSQL cannot live in $dir. Work from a folder other users can" \
           "traverse (chmod o+x $blocked), or set DATABASE_URL to a server of your own." >&2
      exit 1
    fi
    pg "$bindir/initdb" -D "$dir/data" -U cohortd -A trust -E UTF8 --locale=C --nosync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
    sb_mb=$(( mem_mb / 4 < 128 ? 128 : mem_mb / 4 > 2048 ? 2048 : mem_mb / 4 ))
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = ${PG_FSYNC:-on}
full_page_writes = ${PG_FSYNC:-on}
max_connections = 200
shared_buffers = ${PG_SHARED_BUFFERS:-${sb_mb}MB}
log_min_messages = warning
CONF
  fi
  if pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then url; exit 0; fi
  port=${3:-}
  if [ -z "$port" ] && [ -s "$dir/port" ] && port_free "$(cat "$dir/port")"; then port=$(cat "$dir/port"); fi
  if [ -z "$port" ]; then
    for _ in $(seq 50); do p=$((20000 + RANDOM % 40000)); port_free $p && { port=$p; break; }; done
  fi
  echo "$port" >"$dir/port"
  pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "-p $port" start >/dev/null \
    || { tail -20 "$dir/server.log" >&2; exit 1; }
  pg "$bindir/psql" -h "$dir" -p "$port" -U cohortd -d postgres -Atq \
    -c "SELECT 1 FROM pg_database WHERE datname = 'cohortd'" | grep -q 1 \
    || pg "$bindir/psql" -h "$dir" -p "$port" -U cohortd -d postgres -q -c "CREATE DATABASE cohortd" >/dev/null
  url
  ;;
stop)
  [ -d "$dir/data" ] && pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
url) url ;;
*) echo "usage: pg.sh start|stop|url DIR [PORT]" >&2; exit 2 ;;
esac
