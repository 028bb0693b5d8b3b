#!/usr/bin/env bash
# worklog.sh — worklog benchmark (issue #4): 1,000,000 entries over 1,000 tenants, then wrk against
#   - the floor: a minimal libmicrohttpd + libpq server doing one prepared query (tests/bench/worklog_floor.c),
#   - GET /api/healthz/ (no database) and GET /api/me/ with a bearer token (authentication alone),
#   - GET /api/worklogs/?limit=20 with a bearer token, a rare-word and a common-word search, a filtered list.
# Prints req/s and latency percentiles (p50/p90/p95/p99) per row, plus database statements per request taken
# from /metrics. Figures are printed, never asserted.
#
# Usage: tests/bench/worklog.sh                 (builds nothing: run `make BUILD=build` first)
# Env:   BUILD        build directory with afterresumed (default build)
#        VARDIR       where the private PostgreSQL/Valkey live (default $BUILD/benchvar; kept between runs,
#                     so the 1M rows are seeded only once)
#        PORT / FLOOR_PORT   daemon / floor ports (default 18480 / 18481)
#        THREADS, CONNECTIONS, DURATION, WARMUP   wrk settings (default 2, 32, 10s, 2s)
#        PROFILE=0    skip the service-level profile (tests/bench/worklog_profile.c, needs $BUILD/libafterresume.a)
#        ONLY         space-separated row names to run (floor floor_list floor_list_tx floor_auth_list healthz me list list_filtered
#                     search_rare search_common); default all
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
VARDIR=${VARDIR:-$BUILD/benchvar}
PORT=${PORT:-18480}
FLOOR_PORT=${FLOOR_PORT:-18481}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
ONLY=${ONLY:-floor floor_list floor_list_tx floor_auth_list healthz me list list_filtered search_rare search_common}
here=tests/bench

[ -x "$BUILD/afterresumed" ] || { echo "worklog.sh: $BUILD/afterresumed is missing (make BUILD=$BUILD)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "worklog.sh: wrk is missing (apt-get install wrk)" >&2; exit 2; }

AR_PG_PORT=${AR_PG_PORT:-54480} AR_VALKEY_PORT=${AR_VALKEY_PORT:-63880} scripts/services.sh start "$VARDIR" --test >&2
set -a
# shellcheck disable=SC1091
. "$VARDIR/afterresumed.env"
set +a
export AR_ENV_FILE=/nonexistent AR_PORT=$PORT AR_SECRET_KEY=bench-secret-key-bench-secret-key-0123456789 \
    AR_WORKERS=0 AR_STORAGE_DIR="$VARDIR/objects" AR_RATE_LIMIT_API_TOKEN=1000000000/60 \
    AR_RATE_LIMIT_SIGNUP_IP=1000/60 AR_LOG_LEVEL=${AR_LOG_LEVEL:-info}
"$BUILD/afterresumed" migrate >/dev/null

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

"$BUILD/afterresumed" serve >"$VARDIR/daemon.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/api/healthz/" 2>/dev/null && break; sleep 0.2; done

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# One query under app.bypass_rls (benchmark bookkeeping across tenants); prints its last line.
psql_q() { psql "$DATABASE_URL" -Atq -v ON_ERROR_STOP=1 -c "SELECT set_config('app.bypass_rls','on',false)" -c "$1" | tail -n1; }

# The benchmark user and token: made once through the API, kept in VARDIR.
if [ ! -s "$VARDIR/bench_token" ]; then
    key=$("$BUILD/afterresumed" admin mint-passkey 2>/dev/null)
    signup=$(curl -fsS -H 'Content-Type: application/json' \
        -d "{\"username\":\"benchuser\",\"email\":\"bench@example.com\",\"password\":\"bench password 123\",\"passkey\":\"$key\"}" \
        "http://127.0.0.1:$PORT/api/auth/signup/" -c "$VARDIR/cookies")
    csrf=$(printf '%s' "$signup" | json_field "['csrf_token']")
    printf '%s' "$signup" | json_field "['user']['id']" >"$VARDIR/bench_user"
    printf '%s' "$signup" | json_field "['tenant']['id']" >"$VARDIR/bench_tenant"
    curl -fsS -b "$VARDIR/cookies" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
        -d '{"name":"bench","scope":"write"}' "http://127.0.0.1:$PORT/api/tokens/" | json_field "['token']" >"$VARDIR/bench_token"
fi
token=$(cat "$VARDIR/bench_token")
bench_tenant=$(cat "$VARDIR/bench_tenant")
bench_user=$(cat "$VARDIR/bench_user")

entries=$(psql_q "SELECT count(*) FROM worklog_entries")
if [ "$entries" -lt 1000000 ]; then
    echo "seeding 1,000,000 entries over 1,000 tenants ..." >&2
    start=$(date +%s)
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -v bench_tenant="$bench_tenant" -v bench_user="$bench_user" \
        -f "$here/worklog_seed.sql" >&2
    echo "seeded in $(($(date +%s) - start)) s" >&2
fi

# The floor server (compiled here; small).
cc -O2 -o "$VARDIR/worklog_floor" "$here/worklog_floor.c" $(pkg-config --cflags --libs libmicrohttpd libpq) -lpthread
token_hash="\\x$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)"
"$VARDIR/worklog_floor" "$FLOOR_PORT" "$(($(nproc) * 2))" "$bench_tenant" "$bench_user" "$token_hash" &
pids+=($!)
sleep 0.5

metric() { curl -fsS "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

echo "AfterResume worklog benchmark"
echo "load:    wrk -t$THREADS -c$CONNECTIONS -d$DURATION (after a $WARMUP warm-up), keep-alive"
echo "machine: $(nproc) CPUs, $(uname -sr); data: $(psql_q "SELECT count(*) || ' entries, ' || count(DISTINCT tenant_id) || ' tenants' FROM worklog_entries")"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo '?')   date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo
printf '%-15s %6s %10s %8s %8s %8s %8s %8s %6s %8s\n' row status req/s p50_ms p90_ms p95_ms p99_ms max_ms bad stmt/req

run_row() {
    local name=$1 url=$2 auth=${3:-}
    case " $ONLY " in *" $name "*) ;; *) return 0 ;; esac
    local hdr=()
    [ -n "$auth" ] && hdr=(-H "Authorization: Bearer $auth")
    local status
    status=$(curl -s -o /dev/null -w '%{http_code}' "${hdr[@]}" "$url" || true)
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "${hdr[@]}" "$url" >/dev/null 2>&1 || true
    local before after
    before=$(metric db_statements_total)
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$here/worklog_report.lua" "${hdr[@]}" "$url" 2>&1 || true)
    after=$(metric db_statements_total)
    local line
    line=$(printf '%s\n' "$out" | grep '^RESULT' || true)
    [ -n "$line" ] || { echo "$name: wrk failed: $(printf '%s' "$out" | tail -n1)"; return 0; }
    f() { printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    local per="-"
    case $url in
        *":$PORT/"*) per=$(awk -v a="$before" -v b="$after" -v n="$(f requests)" 'BEGIN { if (n > 0) printf "%.1f", (b - a) / n }') ;;
    esac
    printf '%-15s %6s %10s %8s %8s %8s %8s %8s %6s %8s\n' "$name" "$status" "$(f rps)" "$(f p50_ms)" "$(f p90_ms)" \
        "$(f p95_ms)" "$(f p99_ms)" "$(f max_ms)" "$(f bad_status)" "$per"
}

base="http://127.0.0.1:$PORT"
run_row floor "http://127.0.0.1:$FLOOR_PORT/"
run_row floor_list "http://127.0.0.1:$FLOOR_PORT/?q=list"
run_row floor_list_tx "http://127.0.0.1:$FLOOR_PORT/?q=list_tx"
run_row floor_auth_list "http://127.0.0.1:$FLOOR_PORT/?q=auth_list"
run_row healthz "$base/api/healthz/"
run_row me "$base/api/me/" "$token"
run_row list "$base/api/worklogs/?limit=20" "$token"
run_row list_filtered "$base/api/worklogs/?limit=20&status=final&start_date=2025-01-01" "$token"
run_row search_rare "$base/api/worklogs/?search=zeppelin" "$token"
run_row search_common "$base/api/worklogs/?search=kubernetes%20deploy" "$token"
echo
echo "floor: one prepared query per request; floor_list: the 20-row list query (1 round trip); floor_list_tx:"
echo "the same in an RLS transaction like ar_ctx_tx (4); floor_auth_list: token lookup transaction + list_tx (8)."
echo "stmt/req: database statements of the daemon (BEGIN/COMMIT and set_config included) per request."

if [ "${PROFILE:-1}" = 1 ] && [ -f "$BUILD/libafterresume.a" ]; then
    echo
    echo "service-level profile (one thread, no HTTP; tests/bench/worklog_profile.c):"
    cc -O2 -std=c17 -D_GNU_SOURCE -Iinclude -o "$VARDIR/worklog_profile" "$here/worklog_profile.c" "$BUILD/libafterresume.a" \
        $(pkg-config --cflags --libs libmicrohttpd libpq jansson libsodium libcurl hiredis zlib) -lpthread -lm
    "$VARDIR/worklog_profile" "$token" "$bench_tenant" "$bench_user" 2000
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
