#!/usr/bin/env bash
# deps.sh — make sure the Debian packages AfterResume needs are installed.
#   scripts/deps.sh build   libraries and tools to compile (used by make before the first build)
#   scripts/deps.sh run     + PostgreSQL and Redis (Valkey-compatible) for `make run`
#   scripts/deps.sh npm     only the npm packages from package-lock.json (htmx, playwright-core)
#   scripts/deps.sh all     + Chromium and wrk for browser tests and benchmarks, npm packages
# As root it installs what is missing with apt-get; otherwise it prints the one apt-get line and fails.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_PKGS="gcc make pkg-config libmicrohttpd-dev libpq-dev libjansson-dev libsodium-dev libcurl4-openssl-dev libhiredis-dev zlib1g-dev check"
SERVICE_PKGS="postgresql redis-server curl"
TEST_PKGS="chromium wrk python3-botocore"

mode=${1:-all}
case "$mode" in
    build) want="$BUILD_PKGS" ;;
    run) want="$BUILD_PKGS $SERVICE_PKGS" ;;
    npm) want="" ;;
    all) want="$BUILD_PKGS $SERVICE_PKGS $TEST_PKGS" ;;
    *) echo "usage: scripts/deps.sh build|run|npm|all" >&2; exit 2 ;;
esac

missing=()
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -gt 0 ]; then
    line="apt-get install -y --no-install-recommends ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then
        echo "deps: installing ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        # Refresh the package lists when they are missing or older than a day.
        if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
            apt-get update -qq
        fi
        $line -qq >/dev/null || { apt-get update -qq && $line -qq >/dev/null; }
    else
        echo "deps: missing Debian packages. Run as root:" >&2
        echo "  sudo $line" >&2
        exit 1
    fi
fi

if [ "$mode" != build ] && [ -f package-lock.json ]; then
    if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        if ! command -v npm >/dev/null; then
            if [ "$(id -u)" = 0 ]; then
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
            else
                echo "deps: npm is required. Run as root: sudo apt-get install -y npm" >&2
                exit 1
            fi
        fi
        echo "deps: npm ci" >&2
        npm ci --no-audit --no-fund --loglevel=error >/dev/null
    fi
fi
