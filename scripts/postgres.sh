#!/usr/bin/env bash
# A throwaway PostgreSQL server for the ledger tests, on a developer's machine or in CI.
#
#   scripts/postgres.sh start    install Debian's postgresql if missing, create a cluster in
#                                .waymark-pg/ (once), start it on 127.0.0.1, create the database
#                                waymark_test, and print `export WAYMARK_TEST_PG_URL=...`
#   scripts/postgres.sh stop     stop it (the cluster stays for the next start)
#   scripts/postgres.sh status   say whether it runs, and its URL
#
# Only the export line goes to stdout, so `eval "$(scripts/postgres.sh start)"` sets the variable.
# Settings: WAYMARK_PG_PORT (default 55432), WAYMARK_PG_DIR (default <repo>/.waymark-pg, or a
# folder under /tmp when run as root from a checkout that the postgres user cannot reach).
# The cluster listens on loopback only; its superuser is waymark with password waymark.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PORT="${WAYMARK_PG_PORT:-55432}"
DB_USER=waymark
DB_PASSWORD=waymark
DB_NAME=waymark_test

say() { echo "postgres.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# Debian keeps the server binaries (initdb, pg_ctl, postgres) out of PATH, one folder per major version.
find_bindir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
    echo "$dir"
  elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
  fi
}

install_postgres() {
  say "no PostgreSQL server binaries (initdb, pg_ctl) found: installing Debian's postgresql"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "run as root, or install PostgreSQL yourself: apt-get install postgresql"
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends postgresql >&2
}

BINDIR="$(find_bindir)"

# Where the cluster lives. As root it belongs to the postgres user, who may not be able to reach
# the checkout (one under /root, say): then it goes to a folder of its own under /tmp.
set_paths() {
  PG_HOME="${WAYMARK_PG_DIR:-$ROOT/.waymark-pg}"
  if [ -z "${WAYMARK_PG_DIR:-}" ] && [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 &&
    ! runuser -u postgres -- test -x "$ROOT"; then
    PG_HOME="/tmp/waymark-pg-$(echo "$ROOT" | md5sum | cut -c1-12)"
  fi
  DATA="$PG_HOME/data"
  SOCKETS="$PG_HOME/run"
  LOG="$PG_HOME/postgres.log"
}
set_paths

# initdb and pg_ctl refuse to run as root: as root, the cluster belongs to the postgres user.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

running() {
  [ -f "$DATA/PG_VERSION" ] && as_owner "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

# The port the running server listens on: line 4 of postmaster.pid.
running_port() {
  sed -n 4p "$DATA/postmaster.pid"
}

url() {
  echo "postgres://$DB_USER:$DB_PASSWORD@127.0.0.1:$1/$DB_NAME"
}

init_cluster() {
  mkdir -p "$PG_HOME"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "no postgres user to own the cluster (initdb refuses root); run this as a non-root user"
    chown postgres: "$PG_HOME"
    as_owner test -w "$PG_HOME" ||
      die "the postgres user cannot write to $PG_HOME (a parent folder is closed to it); set WAYMARK_PG_DIR to a folder it can reach, e.g. /tmp/waymark-pg"
  fi
  as_owner mkdir -p "$SOCKETS"
  local pwfile="$PG_HOME/initdb-password"
  as_owner sh -c "umask 077 && echo '$DB_PASSWORD' > '$pwfile'"
  say "creating a cluster in $DATA"
  if ! as_owner "$BINDIR/initdb" -D "$DATA" -U "$DB_USER" --pwfile="$pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C >"$PG_HOME/initdb.log" 2>&1; then
    rm -f "$pwfile"
    cat "$PG_HOME/initdb.log" >&2
    die "initdb failed (output above)"
  fi
  rm -f "$pwfile"
  # The socket goes into the cluster's own folder: Debian's default, /var/run/postgresql, may not exist.
  as_owner sh -c "cat >> '$DATA/postgresql.conf'" <<EOF

# scripts/postgres.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCKETS'
EOF
}

start() {
  if [ -z "$BINDIR" ]; then
    install_postgres
    BINDIR="$(find_bindir)"
    [ -n "$BINDIR" ] || die "postgresql is installed but initdb/pg_ctl are still missing; look under /usr/lib/postgresql"
    set_paths # the package created the postgres user
  fi
  if running; then
    PORT="$(running_port)"
    say "already running on 127.0.0.1:$PORT (cluster $DATA)"
  else
    [ -f "$DATA/PG_VERSION" ] || init_cluster
    local cluster_version server_version
    cluster_version="$(cat "$DATA/PG_VERSION")"
    server_version="$("$BINDIR/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')"
    [ "$cluster_version" = "$server_version" ] ||
      die "$DATA was made by PostgreSQL $cluster_version but the server here is $server_version; remove $PG_HOME and start again"
    say "starting PostgreSQL $server_version on 127.0.0.1:$PORT (log $LOG)"
    if ! as_owner "$BINDIR/pg_ctl" -D "$DATA" -l "$LOG" -o "-p $PORT" -w -t 60 start >/dev/null; then
      tail -n 20 "$LOG" >&2 || true
      die "the server did not start (log above); if the port is taken, set WAYMARK_PG_PORT to a free one"
    fi
  fi
  local psql=("$BINDIR/psql" -h 127.0.0.1 -p "$PORT" -U "$DB_USER" -X -q -v ON_ERROR_STOP=1)
  if [ "$(PGPASSWORD="$DB_PASSWORD" "${psql[@]}" -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
    say "creating database $DB_NAME"
    PGPASSWORD="$DB_PASSWORD" "${psql[@]}" -d postgres -c "CREATE DATABASE $DB_NAME" >&2
  fi
  echo "export WAYMARK_TEST_PG_URL=$(url "$PORT")"
}

stop() {
  if [ -z "$BINDIR" ] || ! running; then
    say "not running"
    return
  fi
  as_owner "$BINDIR/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  say "stopped (cluster kept in $DATA)"
}

status() {
  if [ -n "$BINDIR" ] && running; then
    say "running on 127.0.0.1:$(running_port) (cluster $DATA)"
    echo "export WAYMARK_TEST_PG_URL=$(url "$(running_port)")"
  else
    say "not running"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: scripts/postgres.sh start|stop|status" ;;
esac
