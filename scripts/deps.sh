#!/usr/bin/env bash
# deps.sh — make sure the Debian packages AfterResume needs are installed.
#   scripts/deps.sh build   libraries and tools to compile (used by make before the first build)
#   scripts/deps.sh all     + PostgreSQL, Redis (Valkey-compatible), Chromium for browser tests, npm packages
# As root it installs what is missing with apt-get; otherwise it prints the one apt-get line and fails.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_PKGS="gcc make pkg-config libmicrohttpd-dev libpq-dev libjansson-dev libsodium-dev libcurl4-openssl-dev libhiredis-dev check"
SERVICE_PKGS="postgresql redis-server curl"
TEST_PKGS="chromium wrk"

mode=${1:-all}
want="$BUILD_PKGS"
[ "$mode" = all ] && want="$want $SERVICE_PKGS $TEST_PKGS"

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

if [ "$mode" = all ] && [ -f package-lock.json ]; then
    if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        command -v npm >/dev/null || { echo "deps: npm is required (apt-get install npm)" >&2; exit 1; }
        echo "deps: npm ci" >&2
        npm ci --no-audit --no-fund --loglevel=error >/dev/null
    fi
fi
