#!/usr/bin/env bash
# Shared by scripts/test.sh and scripts/bench.sh (sourced, not run): install PostgreSQL and sqlite3
# when missing, start a private PostgreSQL server (fresh data directory, free port on 127.0.0.1,
# max_prepared_transactions=100) and stop it again, deleting its data directory.
# The caller sets LOG_TAG (its name in log lines), keeps PG_BIN and PG_DIR, calls stop_postgres on
# exit; start_postgres exports KHONSU_TEST_POSTGRES, the new server's connection string.
PG_BIN=${PG_BIN:-}
PG_DIR=${PG_DIR:-}

log() { printf '==> [%s] %s\n' "${LOG_TAG:-khonsu}" "$*"; }
die() { printf '==> [%s] ERROR: %s\n' "${LOG_TAG:-khonsu}" "$*" >&2; exit 1; }

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# On CI no MSBuild node should outlive the run.
if [ -n "${CI:-}" ]; then export MSBUILDDISABLENODEREUSE=1; fi

find_pg_bin() {
  local initdb
  initdb=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1 || true)
  if [ -n "$initdb" ]; then dirname "$initdb"; fi
}

install_missing() {
  local need=()
  if [ -z "${KHONSU_TEST_POSTGRES:-}" ] && [ -z "$(find_pg_bin)" ]; then need+=(postgresql); fi
  command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
  command -v tmux >/dev/null 2>&1 || need+=(tmux) # khonsu top is tested in a real terminal
  [ ${#need[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing ${need[*]}: run as root (or install them) first"
  log "installing ${need[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q </dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" </dev/null
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

as_postgres() { (cd / && runuser -u postgres -- "$@"); }

stop_postgres() {
  if [ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
    log "stopping PostgreSQL (pid $(head -n 1 "$PG_DIR/data/postmaster.pid"))"
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1 \
      || true
  fi
  if [ -n "$PG_DIR" ]; then rm -rf "$PG_DIR"; PG_DIR=""; fi
}

start_postgres() {
  PG_BIN=$(find_pg_bin)
  [ -n "$PG_BIN" ] || die "no PostgreSQL server under /usr/lib/postgresql/*/bin"
  [ "$(id -u)" -eq 0 ] || die "starting a private PostgreSQL needs root (runuser); or set KHONSU_TEST_POSTGRES"
  id postgres >/dev/null 2>&1 || die "no 'postgres' user to run the server as"
  PG_DIR=$(mktemp -d /tmp/khonsu-pg-XXXXXX)
  chmod 700 "$PG_DIR"
  chown postgres:postgres "$PG_DIR"
  log "initdb ($PG_BIN) in $PG_DIR/data"
  as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync \
    >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }

  local port=${KHONSU_TEST_PG_PORT:-$((50000 + RANDOM % 10000))} try
  for try in 1 2 3 4 5 6 7 8 9 10; do
    while port_in_use "$port"; do port=$((port + 1)); done
    log "starting PostgreSQL on 127.0.0.1:$port (attempt $try)"
    if as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
         -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200 -c max_prepared_transactions=100 -c fsync=on" \
         start >/dev/null; then
      break
    fi
    tail -n 5 "$PG_DIR/server.log" >&2 || true
    [ "$try" -lt 10 ] || die "PostgreSQL did not start; log above"
    port=$((50000 + RANDOM % 10000))
  done
  local ready=0
  for _ in $(seq 1 60); do
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then ready=1; break; fi
    sleep 0.5
  done
  [ "$ready" -eq 1 ] || { tail -n 20 "$PG_DIR/server.log" >&2; die "PostgreSQL is not accepting connections"; }
  export KHONSU_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
  log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') ready: KHONSU_TEST_POSTGRES=$KHONSU_TEST_POSTGRES"
}

