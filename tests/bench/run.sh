#!/usr/bin/env bash
# Load benchmark for a running afterresumed: drives a few cheap endpoints with wrk and prints
# requests/s and latency percentiles for each. Figures are printed, never asserted.
#
# Usage: tests/bench/run.sh            (daemon already running)
# Env:   BASE_URL     (default http://127.0.0.1:8080)
#        THREADS      wrk threads (default 2)        CONNECTIONS  open connections (default 32)
#        DURATION     per endpoint (default 10s)     WARMUP       per endpoint, not measured (default 2s)
#        BENCH_PATHS  extra space-separated paths to measure, e.g. "/login /api/readyz/"
#        VERBOSE=1    also print wrk's own report
set -euo pipefail

BASE_URL=${BASE_URL:-http://127.0.0.1:8080}
BASE_URL=${BASE_URL%/}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
BENCH_PATHS=${BENCH_PATHS:-}
VERBOSE=${VERBOSE:-0}
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "wrk not found; installing the Debian package" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
    else
        echo "wrk not found: install it with 'sudo apt-get install wrk'" >&2
        exit 1
    fi
fi
command -v curl >/dev/null 2>&1 || { echo "curl not found: install it with 'apt-get install curl'" >&2; exit 1; }

if ! curl -fsS -o /dev/null --max-time 5 "$BASE_URL/api/healthz/"; then
    echo "no daemon answering at $BASE_URL/api/healthz/ (start it with 'make run', or set BASE_URL)" >&2
    exit 1
fi

paths=(/api/healthz/ / /static/css/app.css)
for p in $BENCH_PATHS; do
    paths+=("$p")
done

echo "AfterResume load benchmark"
echo "target:  $BASE_URL"
echo "load:    wrk -t$THREADS -c$CONNECTIONS -d$DURATION (after a $WARMUP warm-up), keep-alive"
echo "machine: $(nproc) CPUs, $(uname -sr), wrk $(wrk --version 2>&1 | head -n1 | awk '{print $2}')"
if git -C "$here" rev-parse --short HEAD >/dev/null 2>&1; then
    echo "commit:  $(git -C "$here" rev-parse --short HEAD)"
fi
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo
printf '%-24s %6s %11s %9s %9s %9s %9s %8s %8s\n' \
    "path" "status" "req/s" "p50 ms" "p90 ms" "p99 ms" "max ms" "bad" "sockerr"

for path in "${paths[@]}"; do
    url="$BASE_URL$path"
    status=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$url" || true)
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$url" >/dev/null 2>&1 || true
    output=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$here/report.lua" "$url" 2>&1 || true)
    if [ "$VERBOSE" = 1 ]; then
        printf '%s\n' "$output" | grep -v '^RESULT' >&2
    fi
    line=$(printf '%s\n' "$output" | grep '^RESULT' || true)
    if [ -z "$line" ]; then
        printf '%-24s %6s   wrk failed: %s\n' "$path" "$status" "$(printf '%s' "$output" | tail -n1)"
        continue
    fi
    field() { printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    printf '%-24s %6s %11s %9s %9s %9s %9s %8s %8s\n' "$path" "$status" \
        "$(field rps)" "$(field p50_ms)" "$(field p90_ms)" "$(field p99_ms)" "$(field max_ms)" \
        "$(field bad_status)" "$(field socket_errors)"
done

echo
echo "status: answer to one plain GET; bad: answers with status >= 400 during the run;"
echo "sockerr: connect/read/write errors and timeouts. See tests/bench/README.md."
