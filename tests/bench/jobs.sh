#!/usr/bin/env bash
# jobs.sh — benchmark (not a test) of the job system: no-op jobs end to end (enqueue via the service call →
# claimed by a worker → succeeded) against a private PostgreSQL + Valkey, beside redis-benchmark on the same
# Valkey in the same session. The driver is the `bench` case of the jobs integration suite, which exists only
# when AR_JOBS_BENCH is set (so `make test` never runs it); it prints one JSON line per phase:
#   enqueue_only   producers enqueue AR_BENCH_JOBS jobs with no worker running (the enqueue path alone)
#   drain_backlog  AR_BENCH_WORKERS workers drain that backlog (the worker path alone)
#   throughput     AR_BENCH_JOBS jobs enqueued flat out while the workers run (end to end)
#   steady         AR_BENCH_RATE jobs/s for AR_BENCH_SECONDS: queue latency (created → started) p50/p99
#
#   tests/bench/jobs.sh [BUILDDIR]      (default build-bench; builds it first)
# Tunables (environment): AR_BENCH_JOBS (10000), AR_BENCH_WORKERS (4), AR_BENCH_PRODUCERS (2),
# AR_BENCH_RATE (500), AR_BENCH_SECONDS (10). The machine's load average is printed with the figures: on a
# shared 2-core machine they move a lot with whatever else runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build-bench}
VAR=$BUILD/benchvar

make -s BUILD="$BUILD" -j2 "$BUILD/afterresumed" "$BUILD/tests/integration_tests"

free_port() {
    local port=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    echo "$port"
}
AR_PG_PORT=${AR_PG_PORT:-$(free_port 54439)}
AR_VALKEY_PORT=${AR_VALKEY_PORT:-$(free_port 63909)}
export AR_PG_PORT AR_VALKEY_PORT
# a fresh cluster every run (the bench database is thrown away)
scripts/services.sh stop "$VAR" >/dev/null 2>&1 || true
rm -rf "$VAR"
trap 'scripts/services.sh stop "$VAR" >/dev/null 2>&1; rm -rf "$VAR"' EXIT
scripts/services.sh start "$VAR" --test >/dev/null
set -a
# shellcheck disable=SC1091 # written by services.sh just above
. "$VAR/afterresumed.env"
set +a
export AR_TEST_BUILD=$BUILD
"$BUILD/afterresumed" migrate >/dev/null 2>&1

echo "# $(date -u +%FT%TZ) $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# redis-benchmark -q -n 100000 -t set,lpush,xadd (same Valkey)"
# (this redis-benchmark has no built-in xadd test: XADD runs as a custom command)
{
    redis-benchmark -h 127.0.0.1 -p "$AR_VALKEY_PORT" -q -n 100000 -t set,lpush,xadd
    redis-benchmark -h 127.0.0.1 -p "$AR_VALKEY_PORT" -q -n 100000 XADD bench:stream MAXLEN '~' 1000 '*' job 1
} 2>&1 | tr '\r' '\n' | grep 'requests per second'
echo "# no-op jobs (workers=${AR_BENCH_WORKERS:-4}, producers=${AR_BENCH_PRODUCERS:-2})"
AR_JOBS_BENCH=1 CK_RUN_SUITE=jobs CK_RUN_CASE=bench "$BUILD/tests/integration_tests" 2>/dev/null |
    grep -E '^\{"bench"|%: Checks|:[FE]:'
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
