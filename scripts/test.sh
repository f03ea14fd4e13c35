#!/usr/bin/env bash
# Khonsu's whole test suite, on a fresh Debian machine, as root, with no stdin:
#   1. installs PostgreSQL, sqlite3, librdkafka1, librdkafka-dev and kcat with apt when they are missing;
#   2. starts a private PostgreSQL server (fresh data directory, free port on 127.0.0.1) unless
#      KHONSU_TEST_POSTGRES is already set, and exports KHONSU_TEST_POSTGRES for the tests;
#   3. runs `dotnet test` on $KHONSU_TEST_TARGET (default Khonsu.Data.sln) in Release;
#   4. stops the server and deletes its data directory (also on failure or Ctrl-C);
#   5. prints one closing line `N passed, N failed` over every test assembly, and exits with
#      dotnet test's exit code.
# Extra arguments go to `dotnet test`, e.g. ./scripts/test.sh --filter "FullyQualifiedName~Crash"
# Environment: KHONSU_TEST_POSTGRES (use that server), KHONSU_TEST_PG_PORT (port to try first),
# KHONSU_TEST_TARGET (solution or project to test).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TARGET=${KHONSU_TEST_TARGET:-Khonsu.Data.sln}
PG_BIN=""
PG_DIR=""
RUN_DIR=""

log() { printf '==> [test.sh] %s\n' "$*"; }
die() { printf '==> [test.sh] ERROR: %s\n' "$*" >&2; exit 1; }

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
  # The Kafka commit log loads the system librdkafka (no librdkafka.redist here); its tests read the topic with kcat.
  { [ -e /usr/lib/x86_64-linux-gnu/librdkafka.so.1 ] || ldconfig -p 2>/dev/null | grep -q 'librdkafka\.so\.1 '; } || need+=(librdkafka1)
  [ -e /usr/include/librdkafka/rdkafka_mock.h ] || need+=(librdkafka-dev)
  command -v kcat >/dev/null 2>&1 || need+=(kcat)
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

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_postgres
  if [ -n "$RUN_DIR" ]; then rm -rf "$RUN_DIR"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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

install_missing
if [ -n "${KHONSU_TEST_POSTGRES:-}" ]; then
  log "KHONSU_TEST_POSTGRES is set: using that server, starting none"
else
  start_postgres
fi

RUN_DIR=$(mktemp -d /tmp/khonsu-test-run-XXXXXX)
log "dotnet test $TARGET -c Release $*"
set +e
dotnet test "$TARGET" -c Release --logger "console;verbosity=normal" "$@" </dev/null 2>&1 | tee "$RUN_DIR/output.log"
status=${PIPESTATUS[0]}
set -e
log "dotnet test exited with $status"

# One closing line over every test assembly. With the console logger at normal verbosity each
# assembly closes with a block (lines absent when their count is 0):
#   Total tests: 12
#        Passed: 11
#        Failed: 1
# at minimal verbosity with one line instead:
#   Failed!  - Failed:     1, Passed:    11, Skipped:     0, Total:    12, Duration: 1 s - X.dll (net10.0)
# Each line is matched on its own, so output of assemblies run in parallel may interleave.
read -r passed failed assemblies < <(
  sed 's/\x1b\[[0-9;]*m//g' "$RUN_DIR/output.log" | awk '
    function count(line, key) { gsub(/[[:space:]]/, "", line); return match(line, key ":[0-9]+") ? substr(line, RSTART + length(key) + 1, RLENGTH - length(key) - 1) : 0 }
    /^[[:space:]]*(Passed|Failed)![[:space:]]+- Failed:/ { p1 += count($0, "Passed"); f1 += count($0, "Failed"); n1++; next }
    /^[[:space:]]*Total tests:[[:space:]]*[0-9]+[[:space:]]*$/ { n2++ }
    /^[[:space:]]+Passed:[[:space:]]*[0-9]+[[:space:]]*$/ { p2 += count($0, "Passed") }
    /^[[:space:]]+Failed:[[:space:]]*[0-9]+[[:space:]]*$/ { f2 += count($0, "Failed") }
    END { if (n1 > 0) printf "%d %d %d\n", p1, f1, n1; else printf "%d %d %d\n", p2, f2, n2 }')
# Stop the server now so that the count below is the very last line printed.
stop_postgres
rm -rf "$RUN_DIR"; RUN_DIR=""
if [ "$assemblies" -eq 0 ]; then
  log "no test assembly reported a summary (build failure or nothing matched the filter?)"
else
  log "$assemblies test assemblies reported"
fi
echo "$passed passed, $failed failed"
exit "$status"
