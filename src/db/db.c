/* db.c — PostgreSQL access layer: per-thread libpq connections (lazy, re-established after failures),
 * the registry of named prepared statements (prepared once per connection on first use), statement
 * execution with SQLSTATE -> ar_error mapping, the retrying transaction runner, counters, and
 * password redaction for printing connection strings. */
#include "afterresume/db/db.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/log.h"

#define TX_MAX_RETRIES 5
#define TX_BACKOFF_BASE_NS 5000000L /* 5 ms, doubled per retry, plus up to the same again as jitter */
#define READY_WAIT_NS 500000000L    /* 500 ms between ar_db_wait_ready attempts */

/* ---- configuration and counters ---------------------------------------------------------------- */

static char *g_conninfo;
static atomic_uint g_generation; /* bumped by ar_db_configure: thread connections reconnect */

static atomic_ulong g_connects, g_reconnects, g_failures, g_statements, g_statement_errors, g_tx_retries;

/* ---- statement registry (filled before threads start, read-only afterwards) ------------------- */

static ar_db_stmt *g_stmts;
static size_t g_nstmts, g_cap_stmts;
static long *g_index; /* open addressing over g_stmts indexes; -1 = empty; capacity is a power of two */
static size_t g_index_cap;

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static long registry_find(const char *name)
{
    if (!g_index_cap) return -1;
    size_t mask = g_index_cap - 1;
    for (size_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
        long idx = g_index[i];
        if (idx < 0) return -1;
        if (strcmp(g_stmts[idx].name, name) == 0) return idx;
    }
}

static void registry_index_insert(long idx)
{
    size_t mask = g_index_cap - 1;
    size_t i = name_hash(g_stmts[idx].name) & mask;
    while (g_index[i] >= 0) i = (i + 1) & mask;
    g_index[i] = idx;
}

static void registry_index_rebuild(size_t cap)
{
    ar_free(g_index);
    g_index = ar_malloc(cap * sizeof *g_index);
    for (size_t i = 0; i < cap; i++) g_index[i] = -1;
    g_index_cap = cap;
    for (size_t i = 0; i < g_nstmts; i++) registry_index_insert((long)i);
}

void ar_db_register(const ar_db_stmt *stmts, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        long found = registry_find(stmts[i].name);
        if (found >= 0) {
            if (strcmp(g_stmts[found].sql, stmts[i].sql) == 0) continue;
            ar_log_error("db: statement '%s' registered twice with different SQL", stmts[i].name);
            abort();
        }
        if (g_nstmts == g_cap_stmts) {
            g_cap_stmts = g_cap_stmts ? g_cap_stmts * 2 : 64;
            g_stmts = ar_realloc(g_stmts, g_cap_stmts * sizeof *g_stmts);
        }
        g_stmts[g_nstmts++] = stmts[i];
        if ((g_nstmts + 1) * 2 > g_index_cap) {
            registry_index_rebuild(g_index_cap ? g_index_cap * 2 : 128);
        } else {
            registry_index_insert((long)(g_nstmts - 1));
        }
    }
}

/* ---- per-thread state ---------------------------------------------------------------------------- */

typedef struct db_thread {
    PGconn *conn;
    unsigned generation;
    unsigned char *prepared; /* prepared[i]: registry statement i is prepared on conn */
    size_t prepared_cap;
    bool in_tx;        /* inside ar_db_tx */
    bool tx_retryable; /* a statement of the current ar_db_tx attempt failed with 40001/40P01 */
    char sqlstate[6];
    char constraint[64];
    uint64_t rng;
} db_thread;

static pthread_key_t g_thread_key;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;

static void thread_state_free(db_thread *t)
{
    if (!t) return;
    if (t->conn) PQfinish(t->conn);
    ar_free(t->prepared);
    ar_free(t);
}

static void thread_key_destructor(void *p)
{
    thread_state_free(p);
}

static void thread_key_create(void)
{
    if (pthread_key_create(&g_thread_key, thread_key_destructor) != 0) {
        ar_log_error("db: pthread_key_create failed");
        abort();
    }
}

static db_thread *thread_state_peek(void)
{
    pthread_once(&g_key_once, thread_key_create);
    return pthread_getspecific(g_thread_key);
}

static db_thread *thread_state(void)
{
    db_thread *t = thread_state_peek();
    if (!t) {
        t = ar_calloc(1, sizeof *t);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)(uintptr_t)t ^ (uint64_t)ts.tv_sec;
        if (!t->rng) t->rng = 0x9e3779b97f4a7c15ULL;
        pthread_setspecific(g_thread_key, t);
    }
    return t;
}

static void prepared_forget_all(db_thread *t)
{
    if (t->prepared) memset(t->prepared, 0, t->prepared_cap);
}

static void prepared_reserve(db_thread *t, size_t n)
{
    if (n <= t->prepared_cap) return;
    size_t cap = t->prepared_cap ? t->prepared_cap : 64;
    while (cap < n) cap *= 2;
    t->prepared = ar_realloc(t->prepared, cap);
    memset(t->prepared + t->prepared_cap, 0, cap - t->prepared_cap);
    t->prepared_cap = cap;
}

void ar_db_thread_close(void)
{
    db_thread *t = thread_state_peek();
    if (!t) return;
    pthread_setspecific(g_thread_key, NULL);
    thread_state_free(t);
}

void ar_db_shutdown(void)
{
    ar_db_thread_close();
}

const char *ar_db_last_sqlstate(void)
{
    db_thread *t = thread_state_peek();
    return t ? t->sqlstate : "";
}

const char *ar_db_last_constraint(void)
{
    db_thread *t = thread_state_peek();
    return t ? t->constraint : "";
}

/* ---- helpers ----------------------------------------------------------------------------------- */

static void sleep_ns(long ns)
{
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static uint64_t rng_next(db_thread *t)
{
    uint64_t x = t->rng; /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    t->rng = x;
    return x;
}

/* Copy the first line of msg (libpq messages end in "\n" and may add indented hints) into out. */
static void first_line(char *out, size_t cap, const char *msg)
{
    if (!msg) msg = "";
    size_t n = strcspn(msg, "\r\n");
    if (n >= cap) n = cap - 1;
    memcpy(out, msg, n);
    out[n] = '\0';
}

/* The password of the configured conninfo, or NULL (heap string). */
static char *configured_password(void)
{
    if (!g_conninfo) return NULL;
    PQconninfoOption *opts = PQconninfoParse(g_conninfo, NULL);
    if (!opts) return NULL;
    char *pw = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val) pw = ar_strdup(o->val);
    }
    PQconninfoFree(opts);
    return pw;
}

/* One line describing why the connection failed, with the configured password blotted out. */
static void connection_reason(char *out, size_t cap, PGconn *c)
{
    first_line(out, cap, c ? PQerrorMessage(c) : "out of memory");
    if (!*out) snprintf(out, cap, "connection failed");
    char *pw = configured_password();
    if (pw) {
        size_t pwlen = strlen(pw);
        for (char *p = strstr(out, pw); p; p = strstr(p, pw)) {
            memset(p, '*', pwlen);
            p += pwlen;
        }
        ar_free(pw);
    }
}

static PGconn *open_connection(ar_error *err)
{
    if (!g_conninfo) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "database is not configured (DATABASE_URL)");
        atomic_fetch_add(&g_failures, 1);
        return NULL;
    }
    /* Keywords are processed in order: the conninfo (expanded from dbname) overrides connect_timeout,
     * the later ones fill in what it does not say. */
    const char *const keywords[] = {"connect_timeout", "dbname", "fallback_application_name", "client_encoding", NULL};
    const char *const values[] = {"5", g_conninfo, "afterresumed", "UTF8", NULL};
    PGconn *c = PQconnectdbParams(keywords, values, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        char reason[200];
        connection_reason(reason, sizeof reason, c);
        ar_error_set(err, AR_ERR_UNAVAILABLE, "database unavailable: %s", reason);
        ar_log_json(AR_LOG_WARN, "database connection failed", json_pack("{s:s}", "error", reason));
        if (c) PQfinish(c);
        atomic_fetch_add(&g_failures, 1);
        return NULL;
    }
    atomic_fetch_add(&g_connects, 1);
    return c;
}

PGconn *ar_db_connect_dedicated(ar_error *err)
{
    return open_connection(err);
}

/* Re-establish a broken connection in place (the PGconn pointer stays valid for the caller). */
static int reconnect(PGconn *c, db_thread *t, ar_error *err)
{
    if (t && t->conn == c) prepared_forget_all(t);
    PQreset(c);
    if (PQstatus(c) != CONNECTION_OK) {
        char reason[200];
        connection_reason(reason, sizeof reason, c);
        ar_error_set(err, AR_ERR_UNAVAILABLE, "database unavailable: %s", reason);
        ar_log_json(AR_LOG_WARN, "database reconnect failed", json_pack("{s:s}", "error", reason));
        atomic_fetch_add(&g_failures, 1);
        return -1;
    }
    atomic_fetch_add(&g_connects, 1);
    atomic_fetch_add(&g_reconnects, 1);
    ar_log_info("db: connection re-established");
    return 0;
}

PGconn *ar_db_conn(ar_error *err)
{
    db_thread *t = thread_state();
    unsigned generation = atomic_load(&g_generation);
    if (t->conn && t->generation != generation) {
        PQfinish(t->conn);
        t->conn = NULL;
    }
    if (t->conn && PQstatus(t->conn) != CONNECTION_OK) {
        if (reconnect(t->conn, t, err) != 0) return NULL;
    }
    if (!t->conn) {
        t->conn = open_connection(err);
        if (!t->conn) return NULL;
        t->generation = generation;
        prepared_forget_all(t);
    }
    return t->conn;
}

void ar_db_configure(const char *conninfo)
{
    ar_free(g_conninfo);
    g_conninfo = conninfo ? ar_strdup(conninfo) : NULL;
    atomic_fetch_add(&g_generation, 1);
}

int ar_db_wait_ready(int attempts, ar_error *err)
{
    char reason[sizeof ((ar_error *)0)->message] = "";
    if (attempts < 1) attempts = 1;
    for (int i = 0; i < attempts; i++) {
        ar_error e = {0};
        PGconn *c = ar_db_conn(&e);
        if (c) {
            PGresult *r = PQexec(c, "SELECT 1");
            bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
            PQclear(r);
            if (ok) return 0;
            connection_reason(reason, sizeof reason, c);
        } else {
            snprintf(reason, sizeof reason, "%s", e.message);
        }
        ar_error_clear(&e);
        if (i + 1 < attempts) sleep_ns(READY_WAIT_NS);
    }
    const char *prefix = "database unavailable: ";
    const char *shown = strncmp(reason, prefix, strlen(prefix)) == 0 ? reason + strlen(prefix) : reason;
    ar_error_set(err, AR_ERR_UNAVAILABLE, "database not ready after %d attempt%s: %s", attempts,
                 attempts == 1 ? "" : "s", shown);
    return -1;
}

/* ---- statement execution ------------------------------------------------------------------------- */

static bool sqlstate_is_retryable(const char *s)
{
    return strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0;
}

static bool sqlstate_is_connection_loss(const char *s)
{
    return strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0 || strcmp(s, "57P02") == 0 ||
           strcmp(s, "57P03") == 0;
}

static bool result_ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

/* Record, log and map a failed statement. `what` names it in the log (statement name or "BEGIN"). */
static void statement_failed(PGconn *c, const PGresult *r, const char *what, db_thread *t, ar_error *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!state || !*state) state = PQstatus(c) == CONNECTION_BAD ? "08006" : "XX000";
    const char *constraint = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
    char message[256];
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    first_line(message, sizeof message, primary ? primary : PQerrorMessage(c));

    snprintf(t->sqlstate, sizeof t->sqlstate, "%s", state);
    snprintf(t->constraint, sizeof t->constraint, "%s", constraint ? constraint : "");
    atomic_fetch_add(&g_statement_errors, 1);

    bool conflict = strcmp(state, "23505") == 0;
    bool retryable = sqlstate_is_retryable(state);
    if (retryable && t->in_tx) t->tx_retryable = true;
    ar_log_json(conflict || retryable ? AR_LOG_DEBUG : AR_LOG_ERROR, "database statement failed",
                json_pack("{s:s,s:s,s:s}", "statement", what, "sqlstate", state, "error", message));

    if (conflict) {
        ar_error_set(err, AR_ERR_CONFLICT, NULL);
    } else if (retryable) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "The database is busy; try again.");
    } else if (sqlstate_is_connection_loss(state) || PQstatus(c) == CONNECTION_BAD) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "The database connection was lost; try again.");
    } else {
        ar_error_set(err, AR_ERR_INTERNAL, NULL);
    }
}

/* Send one statement: a registered one (idx >= 0; prepared first when c is this thread's connection and it
 * is not prepared there yet) or, with idx < 0, the fixed text `sql` without parameters. */
static PGresult *send_statement(PGconn *c, db_thread *t, bool pooled, long idx, const char *sql, int nparams,
                                const char *const *params)
{
    if (idx < 0) return PQexec(c, sql);
    const ar_db_stmt *s = &g_stmts[idx];
    if (!pooled) return PQexecParams(c, s->sql, nparams, NULL, params, NULL, NULL, 0);
    if (!t->prepared[idx]) {
        PGresult *r = PQprepare(c, s->name, s->sql, 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) return r;
        PQclear(r);
        t->prepared[idx] = 1;
    }
    return PQexecPrepared(c, s->name, nparams, params, NULL, NULL, 0);
}

static PGresult *exec_statement(PGconn *c, long idx, const char *sql, int nparams, const char *const *params,
                                ar_error *err)
{
    db_thread *t = thread_state();
    t->sqlstate[0] = '\0';
    t->constraint[0] = '\0';
    char what[64]; /* names the statement in logs: its registry name or the start of the SQL text */
    first_line(what, sizeof what, idx >= 0 ? g_stmts[idx].name : sql);
    if (!c) {
        snprintf(t->sqlstate, sizeof t->sqlstate, "08003");
        ar_log_error("db: no connection for statement '%s'", what);
        atomic_fetch_add(&g_statement_errors, 1);
        ar_error_set(err, AR_ERR_UNAVAILABLE, "The database is not reachable; try again.");
        return NULL;
    }
    bool pooled = t->conn == c;
    if (pooled) prepared_reserve(t, g_nstmts);

    for (int attempt = 0;; attempt++) {
        bool idle = PQtransactionStatus(c) == PQTRANS_IDLE;
        PGresult *r = send_statement(c, t, pooled, idx, sql, nparams, params);
        if (r && result_ok(r)) {
            atomic_fetch_add(&g_statements, 1);
            return r;
        }
        /* A connection found broken outside a transaction is re-established and the statement sent again. */
        if (attempt == 0 && idle && PQstatus(c) == CONNECTION_BAD) {
            PQclear(r);
            ar_log_warn("db: connection lost before statement '%s'; reconnecting", what);
            if (reconnect(c, pooled ? t : NULL, err) != 0) {
                snprintf(t->sqlstate, sizeof t->sqlstate, "08006");
                return NULL;
            }
            continue;
        }
        /* The server forgot the prepared statement (DEALLOCATE ALL, a pooler): prepare it again, once. */
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        if (attempt == 0 && idle && pooled && idx >= 0 && state && strcmp(state, "26000") == 0) {
            PQclear(r);
            t->prepared[idx] = 0;
            continue;
        }
        statement_failed(c, r, what, t, err);
        PQclear(r);
        return NULL;
    }
}

PGresult *ar_db_exec(PGconn *c, const char *stmt_name, int nparams, const char *const *params, ar_error *err)
{
    long idx = registry_find(stmt_name);
    if (idx < 0) {
        db_thread *t = thread_state();
        snprintf(t->sqlstate, sizeof t->sqlstate, "26000");
        t->constraint[0] = '\0';
        ar_log_error("db: unknown statement '%s'", stmt_name);
        atomic_fetch_add(&g_statement_errors, 1);
        ar_error_set(err, AR_ERR_INTERNAL, NULL);
        return NULL;
    }
    return exec_statement(c, idx, NULL, nparams, params, err);
}

PGresult *ar_db_exec_sql(PGconn *c, const char *sql, ar_error *err)
{
    return exec_statement(c, -1, sql, 0, NULL, err);
}

/* BEGIN and, when given, the prelude statement in one round trip (libpq pipeline mode) on this thread's
 * connection; elsewhere, or before the prelude is prepared there, one after the other. */
typedef struct tx_prelude {
    long idx;
    int nparams;
    const char *const *params;
} tx_prelude;

static PGresult *run_sequentially(PGconn *c, const tx_prelude *p, ar_error *err)
{
    PGresult *r = ar_db_exec_sql(c, "BEGIN", err);
    if (!r || !p) return r;
    PQclear(r);
    return exec_statement(c, p->idx, NULL, p->nparams, p->params, err);
}

static int begin_tx(PGconn *c, db_thread *t, const tx_prelude *p, ar_error *err)
{
    bool pooled = t->conn == c;
    if (pooled && p) prepared_reserve(t, g_nstmts);
    if (!p || !pooled || !t->prepared[p->idx] || PQtransactionStatus(c) != PQTRANS_IDLE ||
        PQenterPipelineMode(c) != 1) {
        PGresult *r = run_sequentially(c, p, err);
        if (!r) {
            if (PQtransactionStatus(c) != PQTRANS_IDLE && PQstatus(c) == CONNECTION_OK) PQclear(PQexec(c, "ROLLBACK"));
            return -1;
        }
        PQclear(r);
        return 0;
    }
    const ar_db_stmt *s = &g_stmts[p->idx];
    t->sqlstate[0] = '\0';
    t->constraint[0] = '\0';
    int sent = PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) &&
               PQsendQueryPrepared(c, s->name, p->nparams, p->params, NULL, NULL, 0) && PQpipelineSync(c);
    PGresult *failed = NULL;
    const char *what = "BEGIN";
    int results = 0;
    /* Read until the sync point: BEGIN's result, a NULL, the prelude's result, a NULL, PIPELINE_SYNC. */
    while (sent) {
        PGresult *r = PQgetResult(c);
        if (!r) {
            if (PQstatus(c) == CONNECTION_BAD) break;
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (!failed && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            failed = r;
            what = results == 0 ? "BEGIN" : s->name;
        } else {
            PQclear(r);
        }
        results++;
    }
    PQexitPipelineMode(c);
    if (sent && !failed && results == 2 && PQstatus(c) == CONNECTION_OK) {
        atomic_fetch_add(&g_statements, 2);
        return 0;
    }
    bool lost = PQstatus(c) == CONNECTION_BAD;
    if (failed) {
        const char *state = PQresultErrorField(failed, PG_DIAG_SQLSTATE);
        /* The server forgot the prepared statement (a pooler, DEALLOCATE ALL): prepare again, sequentially. */
        if (state && strcmp(state, "26000") == 0 && !lost) {
            PQclear(failed);
            PQclear(PQexec(c, "ROLLBACK"));
            t->prepared[p->idx] = 0;
            return begin_tx(c, t, p, err);
        }
    }
    if (lost && !failed) {
        /* Broken before anything ran: reconnect once and start over the ordinary way. */
        ar_log_warn("db: connection lost before BEGIN; reconnecting");
        if (reconnect(c, t, err) != 0) {
            snprintf(t->sqlstate, sizeof t->sqlstate, "08006");
            return -1;
        }
        PGresult *r = run_sequentially(c, p, err);
        if (!r) return -1;
        PQclear(r);
        return 0;
    }
    statement_failed(c, failed, what, t, err);
    PQclear(failed);
    if (!lost && PQtransactionStatus(c) != PQTRANS_IDLE) PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}

static int run_tx(const tx_prelude *prelude, ar_db_tx_fn fn, void *arg, ar_error *err)
{
    PGconn *c = ar_db_conn(err);
    if (!c) return -1;
    db_thread *t = thread_state();
    if (t->in_tx) {
        if (prelude) {
            PGresult *r = exec_statement(c, prelude->idx, NULL, prelude->nparams, prelude->params, err);
            if (!r) return -1;
            PQclear(r);
        }
        return fn(c, arg, err) == 0 ? 0 : -1;
    }

    for (int attempt = 0;; attempt++) {
        if (attempt > 0) {
            long base = TX_BACKOFF_BASE_NS << (attempt - 1);
            sleep_ns(base + (long)(rng_next(t) % (uint64_t)base));
            ar_error_clear(err);
            c = ar_db_conn(err);
            if (!c) return -1;
        }
        if (begin_tx(c, t, prelude, err) != 0) return -1;
        t->in_tx = true;
        t->tx_retryable = false;
        int rc = fn(c, arg, err);
        if (rc == 0) {
            PGresult *r = ar_db_exec_sql(c, "COMMIT", err);
            if (r) {
                bool committed = strcmp(PQcmdStatus(r), "COMMIT") == 0;
                PQclear(r);
                t->in_tx = false;
                if (committed) return 0;
                ar_log_error("db: transaction rolled back at COMMIT after an earlier statement failed");
                ar_error_set(err, AR_ERR_INTERNAL, NULL);
                return -1;
            }
        } else if (PQstatus(c) == CONNECTION_OK) {
            PQclear(PQexec(c, "ROLLBACK"));
        }
        t->in_tx = false;
        if (t->tx_retryable && attempt < TX_MAX_RETRIES) {
            atomic_fetch_add(&g_tx_retries, 1);
            ar_log_debug("db: retrying transaction after SQLSTATE %s (retry %d)", t->sqlstate, attempt + 1);
            continue;
        }
        if (err && err->code == AR_OK) ar_error_set(err, AR_ERR_INTERNAL, NULL);
        return -1;
    }
}

int ar_db_tx(ar_db_tx_fn fn, void *arg, ar_error *err)
{
    return run_tx(NULL, fn, arg, err);
}

typedef struct once_args {
    long idx;
    int nparams;
    const char *const *params;
    PGresult *result;
} once_args;

static int once_fn(PGconn *c, void *arg, ar_error *err)
{
    once_args *a = arg;
    a->result = exec_statement(c, a->idx, NULL, a->nparams, a->params, err);
    return a->result ? 0 : -1;
}

/* BEGIN, prelude, statement, COMMIT sent as one pipeline; the statement's result, or NULL (err set, the
 * connection left outside any transaction). *fallback = 1 when the pipeline could not be used. */
static PGresult *query_pipelined(PGconn *c, db_thread *t, const tx_prelude *p, long idx, int nparams,
                                 const char *const *params, int *fallback, ar_error *err)
{
    *fallback = 0;
    if (t->conn != c || !t->prepared[p->idx] || !t->prepared[idx] || PQtransactionStatus(c) != PQTRANS_IDLE ||
        PQenterPipelineMode(c) != 1) {
        *fallback = 1;
        return NULL;
    }
    t->sqlstate[0] = '\0';
    t->constraint[0] = '\0';
    int sent = PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) &&
               PQsendQueryPrepared(c, g_stmts[p->idx].name, p->nparams, p->params, NULL, NULL, 0) &&
               PQsendQueryPrepared(c, g_stmts[idx].name, nparams, params, NULL, NULL, 0) &&
               PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) && PQpipelineSync(c);
    PGresult *failed = NULL, *result = NULL;
    const char *what = "BEGIN";
    int step = 0; /* 0 BEGIN, 1 prelude, 2 statement, 3 COMMIT */
    while (sent) {
        PGresult *r = PQgetResult(c);
        if (!r) {
            if (PQstatus(c) == CONNECTION_BAD) break;
            step++;
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (!failed && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            failed = r;
            what = step == 0 ? "BEGIN" : step == 1 ? g_stmts[p->idx].name : step == 2 ? g_stmts[idx].name : "COMMIT";
        } else if (step == 2 && !result && !failed) {
            result = r;
        } else {
            if (step == 3 && st == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") != 0 && !failed) {
                failed = r; /* the server turned COMMIT into ROLLBACK */
                what = "COMMIT";
                continue;
            }
            PQclear(r);
        }
    }
    PQexitPipelineMode(c);
    if (sent && !failed && result && PQstatus(c) == CONNECTION_OK) {
        atomic_fetch_add(&g_statements, 4);
        return result;
    }
    PQclear(result);
    if (!sent && !failed) {
        *fallback = PQstatus(c) == CONNECTION_OK;
        if (*fallback) return NULL;
    }
    statement_failed(c, failed, what, t, err);
    PQclear(failed);
    if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE) PQclear(PQexec(c, "ROLLBACK"));
    if (PQstatus(c) == CONNECTION_BAD) *fallback = 1; /* let the ordinary path reconnect and try once more */
    return NULL;
}

PGresult *ar_db_query_once(const char *prelude_stmt, int prelude_nparams, const char *const *prelude_params,
                           const char *stmt, int nparams, const char *const *params, ar_error *err)
{
    long pidx = registry_find(prelude_stmt), idx = registry_find(stmt);
    if (pidx < 0 || idx < 0) {
        ar_log_error("db: unknown statement '%s'", pidx < 0 ? prelude_stmt : stmt);
        ar_error_set(err, AR_ERR_INTERNAL, NULL);
        return NULL;
    }
    tx_prelude p = {pidx, prelude_nparams, prelude_params};
    PGconn *c = ar_db_conn(err);
    if (!c) return NULL;
    db_thread *t = thread_state();
    if (!t->in_tx && t->conn == c) {
        prepared_reserve(t, g_nstmts);
        int fallback = 0;
        PGresult *r = query_pipelined(c, t, &p, idx, nparams, params, &fallback, err);
        if (r || !fallback) return r;
        ar_error_clear(err);
    }
    /* The ordinary way (first use on this connection prepares both statements; inside an open transaction). */
    once_args a = {idx, nparams, params, NULL};
    if (run_tx(&p, once_fn, &a, err) != 0) {
        PQclear(a.result);
        return NULL;
    }
    return a.result;
}

int ar_db_tx_with(const char *prelude_stmt, int nparams, const char *const *params, ar_db_tx_fn fn, void *arg,
                  ar_error *err)
{
    long idx = registry_find(prelude_stmt);
    if (idx < 0) {
        ar_log_error("db: unknown statement '%s'", prelude_stmt);
        ar_error_set(err, AR_ERR_INTERNAL, NULL);
        return -1;
    }
    tx_prelude p = {idx, nparams, params};
    return run_tx(&p, fn, arg, err);
}

void ar_db_stats_get(ar_db_stats *out)
{
    out->connects = atomic_load(&g_connects);
    out->reconnects = atomic_load(&g_reconnects);
    out->failures = atomic_load(&g_failures);
    out->statements = atomic_load(&g_statements);
    out->statement_errors = atomic_load(&g_statement_errors);
    out->tx_retries = atomic_load(&g_tx_retries);
}

/* ---- redaction -------------------------------------------------------------------------------- */

#define REDACTED "***"

/* postgresql://user:PASSWORD@host/db?password=PASSWORD&... */
static char *redact_url(const char *ci, size_t scheme_len)
{
    ar_buf out = AR_BUF_INIT;
    const char *auth = ci + scheme_len;
    size_t auth_len = strcspn(auth, "/?");
    const char *at = NULL;
    for (size_t i = 0; i < auth_len; i++) {
        if (auth[i] == '@') at = auth + i;
    }
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon) {
        ar_buf_append(&out, ci, (size_t)(colon + 1 - ci));
        ar_buf_puts(&out, REDACTED);
        ar_buf_append(&out, at, (size_t)(auth + auth_len - at));
    } else {
        ar_buf_append(&out, ci, (size_t)(auth + auth_len - ci));
    }
    const char *rest = auth + auth_len;
    const char *q = strchr(rest, '?');
    if (!q) {
        ar_buf_puts(&out, rest);
        return ar_buf_steal(&out);
    }
    ar_buf_append(&out, rest, (size_t)(q + 1 - rest));
    for (const char *p = q + 1; *p;) {
        size_t n = strcspn(p, "&");
        size_t key_len = strcspn(p, "=&");
        if (key_len < n && key_len == 8 && strncmp(p, "password", 8) == 0) {
            ar_buf_puts(&out, "password=" REDACTED);
        } else {
            ar_buf_append(&out, p, n);
        }
        p += n;
        if (*p == '&') {
            ar_buf_putc(&out, '&');
            p++;
        }
    }
    return ar_buf_steal(&out);
}

/* host=... password='se cret' ...: keyword = value pairs, values optionally single-quoted with \ escapes. */
static char *redact_keywords(const char *ci)
{
    ar_buf out = AR_BUF_INIT;
    const char *p = ci;
    while (*p) {
        size_t ws = strspn(p, " \t\r\n\f\v");
        ar_buf_append(&out, p, ws);
        p += ws;
        if (!*p) break;
        const char *key = p;
        size_t key_len = strcspn(p, "= \t\r\n\f\v");
        const char *eq = p + key_len;
        eq += strspn(eq, " \t\r\n\f\v");
        if (*eq != '=') {
            /* Not keyword=value: libpq would refuse it. Hide the rest if it might hold a password. */
            ar_buf_puts(&out, strstr(p, "password") ? REDACTED : p);
            break;
        }
        const char *val = eq + 1;
        val += strspn(val, " \t\r\n\f\v");
        const char *end = val;
        if (*end == '\'') {
            for (end++; *end && *end != '\''; end++) {
                if (*end == '\\' && end[1]) end++;
            }
            if (*end == '\'') end++;
        } else {
            end += strcspn(end, " \t\r\n\f\v");
        }
        if (key_len == 8 && strncmp(key, "password", 8) == 0) {
            ar_buf_append(&out, key, (size_t)(val - key));
            ar_buf_puts(&out, REDACTED);
        } else {
            ar_buf_append(&out, key, (size_t)(end - key));
        }
        p = end;
    }
    return ar_buf_steal(&out);
}

char *ar_db_redact_conninfo(const char *conninfo)
{
    if (!conninfo) return ar_strdup("");
    static const char *const schemes[] = {"postgresql://", "postgres://"};
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i]);
        if (strncmp(conninfo, schemes[i], n) == 0) return redact_url(conninfo, n);
    }
    return redact_keywords(conninfo);
}
