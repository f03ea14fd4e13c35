#!/usr/bin/env bash
# Khonsu's whole test suite, on a fresh machine: installs what it needs (PostgreSQL, sqlite3),
# starts a private PostgreSQL server on its own port and data directory, runs every test project
# against it, and stops it again. Extra arguments go to `dotnet test` (e.g. --filter Name~Crash).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

install_missing() {
  local need=()
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
  command -v sqlite3 >/dev/null || need+=(sqlite3)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

start_postgres() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  PG_BIN=$bin
  PG_DIR=$(mktemp -d /tmp/khonsu-pg-XXXXXX)
  PG_PORT=${KHONSU_TEST_PG_PORT:-$(( 50000 + RANDOM % 10000 ))}
  chown postgres:postgres "$PG_DIR"
  chmod 700 "$PG_DIR"
  log "starting PostgreSQL ($bin) on port $PG_PORT in $PG_DIR"
  runuser -u postgres -- "$bin/initdb" -D "$PG_DIR/data" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_prepared_transactions=100 -c max_connections=300 -c fsync=on" start >/dev/null
  export KHONSU_TEST_POSTGRES="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres;Pooling=true;Maximum Pool Size=50"
}

stop_postgres() {
  if [ -n "${PG_DIR:-}" ]; then
    log "stopping PostgreSQL"
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}

install_missing
if [ -z "${KHONSU_TEST_POSTGRES:-}" ]; then
  trap stop_postgres EXIT
  start_postgres
fi

results=$(mktemp -d /tmp/khonsu-results-XXXXXX)
log "running the test suite"
set +e
dotnet test Khonsu.Data.sln -c Release --logger "console;verbosity=normal" --logger "trx" --results-directory "$results" "$@"
status=$?
set -e

# One closing line over every test assembly, in the form CI reads.
passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  s=$(sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
done
rm -rf "$results"
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
