#!/usr/bin/env bash
# test.sh — what `make test` runs once everything is built: make sure the system packages are there, start a
# private PostgreSQL + Valkey under BUILDDIR/testvar (unless DATABASE_URL / VALKEY_URL point elsewhere), run
# the unit tests then the integration tests from the repository root, and stop the services again.
#
#   scripts/test.sh BUILDDIR          (CK_RUN_SUITE=name runs one suite, as with the runners themselves)
#
# The output ends with the Check summary of the last runner; a failure adds one line saying which failed.
# When the default test ports are taken (another build directory testing at the same time) free ones are
# used instead; AR_PG_PORT / AR_VALKEY_PORT still choose them explicitly.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -eq 1 ] || { echo "usage: $0 BUILDDIR" >&2; exit 2; }
BUILD=$1
VAR=$BUILD/testvar

for bin in "$BUILD/tests/unit_tests" "$BUILD/tests/integration_tests"; do
    [ -x "$bin" ] || { echo "test.sh: $bin is missing; run: make BUILD=$BUILD $bin" >&2; exit 2; }
done

scripts/deps.sh all

# The first port from $1 on that nothing listens on.
free_port() {
    local port=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    echo "$port"
}

pid_alive() {
    [ -f "$1" ] && kill -0 "$(head -n 1 "$1")" 2>/dev/null
}

if [ -z "${AR_PG_PORT:-}" ] && [ -z "${DATABASE_URL:-}" ] && ! pid_alive "$VAR/pg/postmaster.pid"; then
    AR_PG_PORT=$(free_port 54339)
    export AR_PG_PORT
fi
if [ -z "${AR_VALKEY_PORT:-}" ] && [ -z "${VALKEY_URL:-}${REDIS_URL:-}" ] && ! pid_alive "$VAR/valkey.pid"; then
    AR_VALKEY_PORT=$(free_port 63809)
    export AR_VALKEY_PORT
fi

trap 'scripts/services.sh stop "$VAR" >/dev/null 2>&1 || true' EXIT
scripts/services.sh start "$VAR" --test

set -a
# shellcheck disable=SC1091 # written by services.sh just above
. "$VAR/afterresumed.env"
set +a
export AR_TEST_BUILD=$BUILD

# The daemon under test uses the shared test database: bring its schema up to date first.
"$BUILD/afterresumed" migrate >/dev/null

unit_rc=0
"$BUILD/tests/unit_tests" || unit_rc=$?
integration_rc=0
"$BUILD/tests/integration_tests" || integration_rc=$?

if [ "$unit_rc" != 0 ] || [ "$integration_rc" != 0 ]; then
    failed=()
    [ "$unit_rc" != 0 ] && failed+=("unit tests (exit $unit_rc)")
    [ "$integration_rc" != 0 ] && failed+=("integration tests (exit $integration_rc)")
    echo "test.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
