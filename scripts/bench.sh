#!/usr/bin/env bash
# Khonsu's benchmark suite (benchmarks/Khonsu.Benchmarks) in one command:
#   ./scripts/bench.sh                 the full profile (under 15 minutes on a 2-core machine)
#   ./scripts/bench.sh --quick         the smoke profile (about a minute; figures meaningless)
# Arguments go to the suite (see its --help). Without --postgres it starts a private PostgreSQL
# server the way scripts/test.sh does (fresh data directory, free port, max_prepared_transactions),
# passes it as --postgres and stops it at the end; with --postgres (or KHONSU_BENCH_POSTGRES set)
# it starts nothing. The log section (in every profile; alone: --only log) runs librdkafka's mock
# cluster from the librdkafka that the librdkafka.redist package ships: nothing to install for it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck disable=SC2034 # used by scripts/lib/postgres.sh
PG_BIN="" PG_DIR="" LOG_TAG=bench.sh
# shellcheck source=scripts/lib/postgres.sh
source scripts/lib/postgres.sh

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_postgres
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

args=("$@")
given=0
if [ -n "${KHONSU_BENCH_POSTGRES:-}" ]; then given=1; fi # the suite reads it as its --postgres
for arg in "$@"; do
  if [ "$arg" = "--postgres" ]; then given=1; fi
done

if [ "$given" -eq 0 ]; then
  unset KHONSU_TEST_POSTGRES
  install_missing
  start_postgres
  args+=(--postgres "$KHONSU_TEST_POSTGRES")
fi

log "dotnet run -c Release --project benchmarks/Khonsu.Benchmarks -- ${*:-}"
dotnet run -c Release --project benchmarks/Khonsu.Benchmarks -- "${args[@]}" </dev/null
