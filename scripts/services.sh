#!/usr/bin/env bash
# services.sh — private PostgreSQL 15 cluster and Valkey/Redis server for development and tests.
#
#   scripts/services.sh start|stop|status|env VARDIR [--test]
#
# Everything lives under VARDIR (e.g. `var` for `make run`, `build/testvar` for `make test`):
#   VARDIR/pg                PostgreSQL data directory     VARDIR/run      PostgreSQL unix socket
#   VARDIR/valkey            Valkey/Redis working dir      VARDIR/log      postgresql.log, valkey.log
#   VARDIR/afterresumed.env  DATABASE_URL=... / VALKEY_URL=... for the daemon and the tests
# A service is managed here only when its URL is not already in the environment (DATABASE_URL;
# VALKEY_URL or REDIS_URL): external services are passed through to the env file untouched.
# Ports: AR_PG_PORT (default 54329, --test 54339), AR_VALKEY_PORT (default 63799, --test 63809).
# --test trades durability for speed (fsync off, no Valkey persistence). `start` is idempotent.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
DB_NAME=afterresume
DB_ROLE=afterresume
READY_SECONDS=30

usage() {
    echo "usage: $0 start|stop|status|env VARDIR [--test]" >&2
    exit 2
}

die() {
    echo "services: $*" >&2
    exit 1
}

[ $# -ge 2 ] || usage
cmd=$1
vardir_arg=$2
test_mode=0
if [ $# -ge 3 ]; then
    [ "$3" = --test ] || usage
    test_mode=1
fi
[ $# -le 3 ] || usage
case $cmd in start | stop | status | env) ;; *) usage ;; esac

if [ "$test_mode" = 1 ]; then
    pg_port=${AR_PG_PORT:-54339}
    valkey_port=${AR_VALKEY_PORT:-63809}
else
    pg_port=${AR_PG_PORT:-54329}
    valkey_port=${AR_VALKEY_PORT:-63799}
fi

mkdir -p "$vardir_arg"
VARDIR=$(cd "$vardir_arg" && pwd -P)
PGDATA_DIR=$VARDIR/pg
PGSOCK_DIR=$VARDIR/run
LOG_DIR=$VARDIR/log
PG_LOG=$LOG_DIR/postgresql.log
VALKEY_DIR=$VARDIR/valkey
VALKEY_PID=$VARDIR/valkey.pid
VALKEY_PORT_FILE=$VARDIR/valkey.port
VALKEY_LOG=$LOG_DIR/valkey.log
ENV_FILE=$VARDIR/afterresumed.env

external_db=${DATABASE_URL:-}
external_valkey=${VALKEY_URL:-${REDIS_URL:-}}

is_root=0
[ "$(id -u)" = 0 ] && is_root=1

# Run a PostgreSQL server-side program as the cluster owner (initdb and postgres refuse to run as root).
as_pg() {
    if [ "$is_root" = 1 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

valkey_server_bin() {
    if command -v valkey-server >/dev/null 2>&1; then echo valkey-server; else echo redis-server; fi
}

valkey_cli_bin() {
    if command -v valkey-cli >/dev/null 2>&1; then echo valkey-cli; else echo redis-cli; fi
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

show_log_tail() {
    if [ -f "$1" ]; then
        echo "services: last lines of $1:" >&2
        tail -n 20 "$1" >&2
    fi
}

# --- PostgreSQL -------------------------------------------------------------------------------------

pg_running() {
    [ -f "$PGDATA_DIR/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" status -D "$PGDATA_DIR" >/dev/null 2>&1
}

# The port of the running cluster (line 4 of postmaster.pid).
pg_running_port() {
    sed -n 4p "$PGDATA_DIR/postmaster.pid" 2>/dev/null
}

# As root, the postgres user must be able to reach VARDIR: give o+x to the directories on the way.
pg_make_traversable() {
    [ "$is_root" = 1 ] || return 0
    local d=$VARDIR
    while [ "$d" != / ] && [ -n "$d" ]; do
        if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
            chmod o+x "$d"
        fi
        d=$(dirname "$d")
    done
}

pg_init() {
    [ -f "$PGDATA_DIR/PG_VERSION" ] && return 0
    echo "services: creating PostgreSQL cluster in $PGDATA_DIR" >&2
    mkdir -p "$PGDATA_DIR"
    chmod 700 "$PGDATA_DIR"
    if [ "$is_root" = 1 ]; then chown postgres:postgres "$PGDATA_DIR"; fi
    if ! as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" --username=postgres --auth-local=trust --auth-host=trust \
        --encoding=UTF8 --locale=C.UTF-8 >"$LOG_DIR/initdb.log" 2>&1; then
        show_log_tail "$LOG_DIR/initdb.log"
        rm -rf "$PGDATA_DIR"
        die "initdb failed (see $LOG_DIR/initdb.log)"
    fi
    # Only loopback connections are accepted (listen_addresses below); trust is fine for a private cluster.
    printf '%s\n' "local all all trust" "host all all 127.0.0.1/32 trust" "host all all ::1/128 trust" \
        >"$PGDATA_DIR/pg_hba.conf"
    if [ "$is_root" = 1 ]; then chown postgres:postgres "$PGDATA_DIR/pg_hba.conf"; fi
}

pg_psql() {
    psql -X -q -h "$PGSOCK_DIR" -p "$1" -U postgres -d postgres -v ON_ERROR_STOP=1 -tA -c "$2"
}

pg_start() {
    if pg_running; then
        pg_port=$(pg_running_port)
        return 0
    fi
    if port_in_use "$pg_port"; then
        die "port $pg_port is already in use by another program; set AR_PG_PORT to a free port (or DATABASE_URL to use an existing PostgreSQL)"
    fi
    pg_make_traversable
    pg_init
    mkdir -p "$PGSOCK_DIR"
    touch "$PG_LOG"
    if [ "$is_root" = 1 ]; then
        chown postgres:postgres "$PGSOCK_DIR" "$PG_LOG"
    fi
    local opts="-c listen_addresses=127.0.0.1 -p $pg_port -k '$PGSOCK_DIR' -c max_connections=200"
    if [ "$test_mode" = 1 ]; then
        opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    if ! as_pg "$PG_BIN/pg_ctl" start -D "$PGDATA_DIR" -l "$PG_LOG" -w -t "$READY_SECONDS" -o "$opts" >/dev/null 2>&1 9>&-; then
        show_log_tail "$PG_LOG"
        die "PostgreSQL did not start on 127.0.0.1:$pg_port within ${READY_SECONDS}s (log: $PG_LOG)"
    fi
    local i=0
    until pg_isready -q -h 127.0.0.1 -p "$pg_port" -d postgres -U postgres; do
        i=$((i + 1))
        if [ "$i" -ge $((READY_SECONDS * 4)) ]; then
            show_log_tail "$PG_LOG"
            die "PostgreSQL is not accepting connections on 127.0.0.1:$pg_port after ${READY_SECONDS}s (log: $PG_LOG)"
        fi
        sleep 0.25
    done
    if [ "$(pg_psql "$pg_port" "SELECT 1 FROM pg_roles WHERE rolname = '$DB_ROLE'")" != 1 ]; then
        pg_psql "$pg_port" "CREATE ROLE $DB_ROLE LOGIN CREATEDB" >/dev/null
    fi
    if [ "$(pg_psql "$pg_port" "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
        pg_psql "$pg_port" "CREATE DATABASE $DB_NAME OWNER $DB_ROLE ENCODING 'UTF8'" >/dev/null
    fi
    echo "services: PostgreSQL running on 127.0.0.1:$pg_port (data $PGDATA_DIR)" >&2
}

pg_stop() {
    if pg_running; then
        as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA_DIR" -m fast -w -t "$READY_SECONDS" >/dev/null
        echo "services: PostgreSQL stopped" >&2
    fi
}

# --- Valkey / Redis ---------------------------------------------------------------------------------

valkey_pid() {
    local pid
    [ -f "$VALKEY_PID" ] || return 1
    pid=$(cat "$VALKEY_PID" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

valkey_running() {
    valkey_pid >/dev/null
}

valkey_start() {
    if valkey_running; then
        [ -f "$VALKEY_PORT_FILE" ] && valkey_port=$(cat "$VALKEY_PORT_FILE")
        return 0
    fi
    rm -f "$VALKEY_PID"
    if port_in_use "$valkey_port"; then
        die "port $valkey_port is already in use by another program; set AR_VALKEY_PORT to a free port (or VALKEY_URL to use an existing server)"
    fi
    mkdir -p "$VALKEY_DIR"
    local persist=(--appendonly yes --appendfsync everysec --save "3600 1 300 100")
    if [ "$test_mode" = 1 ]; then
        persist=(--appendonly no --save "")
    fi
    if ! "$(valkey_server_bin)" --port "$valkey_port" --bind 127.0.0.1 --protected-mode yes \
        --daemonize yes --pidfile "$VALKEY_PID" --dir "$VALKEY_DIR" --logfile "$VALKEY_LOG" \
        "${persist[@]}" >/dev/null 2>&1 9>&-; then
        show_log_tail "$VALKEY_LOG"
        die "$(valkey_server_bin) failed to start on 127.0.0.1:$valkey_port (log: $VALKEY_LOG)"
    fi
    local i=0
    until [ "$("$(valkey_cli_bin)" -h 127.0.0.1 -p "$valkey_port" ping 2>/dev/null)" = PONG ]; do
        i=$((i + 1))
        if [ "$i" -ge $((READY_SECONDS * 4)) ]; then
            show_log_tail "$VALKEY_LOG"
            die "Valkey is not answering on 127.0.0.1:$valkey_port after ${READY_SECONDS}s (log: $VALKEY_LOG)"
        fi
        sleep 0.25
    done
    echo "$valkey_port" >"$VALKEY_PORT_FILE"
    echo "services: Valkey running on 127.0.0.1:$valkey_port (dir $VALKEY_DIR)" >&2
}

valkey_stop() {
    local pid i=0
    pid=$(valkey_pid) || { rm -f "$VALKEY_PID"; return 0; }
    # SIGTERM is a clean shutdown: the AOF is flushed in run mode, nothing is saved in test mode.
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -ge $((READY_SECONDS * 10)) ]; then
            die "Valkey (pid $pid) did not stop within ${READY_SECONDS}s"
        fi
        sleep 0.1
    done
    rm -f "$VALKEY_PID"
    echo "services: Valkey stopped" >&2
}

# --- commands ---------------------------------------------------------------------------------------

# The env file is rewritten on every start; lines other than ours (e.g. AR_SECRET_KEY added by run.sh) are
# kept. It may hold secrets, so it is private to the owner.
write_env() {
    local tmp=$ENV_FILE.tmp
    (
        umask 077
        {
            echo "# written by scripts/services.sh for $VARDIR"
            if [ -n "$external_db" ]; then
                echo "DATABASE_URL=$external_db"
            else
                echo "DATABASE_URL=postgresql://$DB_ROLE@127.0.0.1:$pg_port/$DB_NAME"
            fi
            if [ -n "$external_valkey" ]; then
                echo "VALKEY_URL=$external_valkey"
            else
                echo "VALKEY_URL=redis://127.0.0.1:$valkey_port/0"
            fi
            if [ -f "$ENV_FILE" ]; then
                grep -vE '^(DATABASE_URL=|VALKEY_URL=|# written by scripts/services.sh)' "$ENV_FILE" || true
            fi
        } >"$tmp"
    )
    mv "$tmp" "$ENV_FILE"
}

mkdir -p "$LOG_DIR"
# One services.sh at a time per VARDIR (start/stop from two shells must not race). The daemons are
# started with fd 9 closed so that they do not keep holding the lock.
exec 9>"$VARDIR/.services.lock"
flock 9

case $cmd in
start)
    if [ -z "$external_db" ]; then pg_start; fi
    if [ -z "$external_valkey" ]; then valkey_start; fi
    write_env
    ;;
stop)
    valkey_stop
    pg_stop
    ;;
status)
    rc=0
    if [ -n "$external_db" ]; then
        echo "postgresql: external (DATABASE_URL is set)"
    elif pg_running; then
        echo "postgresql: running on 127.0.0.1:$(pg_running_port) (data $PGDATA_DIR)"
    else
        echo "postgresql: stopped"
        rc=3
    fi
    if [ -n "$external_valkey" ]; then
        echo "valkey: external (VALKEY_URL/REDIS_URL is set)"
    elif valkey_running; then
        echo "valkey: running on 127.0.0.1:$(cat "$VALKEY_PORT_FILE" 2>/dev/null || echo '?') (pid $(valkey_pid))"
    else
        echo "valkey: stopped"
        rc=3
    fi
    exit "$rc"
    ;;
env)
    [ -f "$ENV_FILE" ] || die "$ENV_FILE does not exist; run: $0 start $vardir_arg"
    grep -E '^(DATABASE_URL|VALKEY_URL)=' "$ENV_FILE"
    ;;
esac
