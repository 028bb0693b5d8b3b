#!/usr/bin/env bash
# run.sh — what `make run` does after building: start the embedded services under ./var (unless DATABASE_URL /
# VALKEY_URL point elsewhere), keep a generated secret key, migrate, bootstrap the first staff account, and serve
# on http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/afterresumed}
VAR=var

scripts/services.sh start "$VAR"

# A server-side secret generated once and kept in ./var (AR_SECRET_KEY from the environment wins).
if [ ! -s "$VAR/secret_key" ]; then
    umask 077
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$VAR/secret_key"
fi
if ! grep -q '^AR_SECRET_KEY=' "$VAR/afterresumed.env" 2>/dev/null; then
    echo "AR_SECRET_KEY=$(cat "$VAR/secret_key")" >> "$VAR/afterresumed.env"
fi
chmod 600 "$VAR/afterresumed.env"

"$BIN" migrate
# First start only (no users yet): create the staff user 'admin' and an invite link, and print them once.
"$BIN" admin bootstrap
echo "AfterResume is starting on ${AR_PUBLIC_URL:-http://${AR_BIND:-127.0.0.1}:${AR_PORT:-8080}} (Ctrl-C stops the server; 'make stop' stops PostgreSQL and Valkey)"
exec "$BIN" serve
