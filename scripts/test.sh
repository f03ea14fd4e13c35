#!/usr/bin/env bash
# Khonsu's whole test suite, on a fresh Debian machine, as root, with no stdin:
#   1. installs PostgreSQL, sqlite3 and tmux (khonsu top is tested in a terminal) with apt when they are missing (the Kafka tests need nothing
#      from apt: librdkafka comes with the librdkafka.redist NuGet package);
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
RUN_DIR=""
# shellcheck disable=SC2034 # used by scripts/lib/postgres.sh
PG_BIN="" PG_DIR="" LOG_TAG=test.sh
# log, die, install_missing, start_postgres, stop_postgres (shared with scripts/bench.sh).
# shellcheck source=scripts/lib/postgres.sh
source scripts/lib/postgres.sh

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
