/* db.h — PostgreSQL access: one libpq connection per thread (lazy, re-established after failures), a
 * global registry of named prepared statements (prepared once per connection on first use), a
 * transaction runner that retries serialization failures, and counters for /metrics.
 *
 * Start-up order: ar_db_configure(), every module's ar_db_register(), then start threads. The registry
 * and the configuration are read-only once threads run. Every thread that used the database calls
 * ar_db_thread_close() before it exits (a pthread key destructor does it too); the main thread calls
 * ar_db_shutdown(). */
#ifndef AFTERRESUME_DB_DB_H
#define AFTERRESUME_DB_DB_H
#include <libpq-fe.h>
#include <stddef.h>

#include "afterresume/core/error.h"

/* Configure the pool once at start-up: connection string (libpq keyword/value or URL). Calling it again
 * (tests) makes every thread's connection reconnect to the new database on its next ar_db_conn(); it must
 * not run concurrently with other ar_db_* calls. */
void ar_db_configure(const char *conninfo);

/* Wait (bounded: attempts × 500 ms) until the database answers a query. 0, or -1 with err
 * (AR_ERR_UNAVAILABLE, one-line reason without the password). */
int ar_db_wait_ready(int attempts, ar_error *err);

/* This thread's connection: created lazily, re-established after a failure. NULL + err
 * (AR_ERR_UNAVAILABLE) when the database cannot be reached. Do not PQfinish it. */
PGconn *ar_db_conn(ar_error *err);

/* A new connection outside the pool with the configured conninfo (for migrations, LISTEN, tools); the
 * caller PQfinish()es it. NULL + err (AR_ERR_UNAVAILABLE) on failure. */
PGconn *ar_db_connect_dedicated(ar_error *err);

/* Close this thread's connection (call before a worker thread exits; also a pthread key destructor). */
void ar_db_thread_close(void);

/* Named prepared statements. Modules register static arrays at start-up, before threads start; the
 * strings must live for the whole program. Registering the same name with the same SQL again is a
 * no-op; the same name with different SQL aborts the program (a programming error). */
typedef struct ar_db_stmt {
    const char *name;
    const char *sql;
} ar_db_stmt;
void ar_db_register(const ar_db_stmt *stmts, size_t count);

/* Execute a registered statement with text parameters (NULL = SQL NULL) and text results. Returns the
 * PGresult (PGRES_TUPLES_OK or PGRES_COMMAND_OK; the caller PQclear()s it) or NULL with err set:
 *   AR_ERR_CONFLICT     unique violation (SQLSTATE 23505)
 *   AR_ERR_UNAVAILABLE  the connection is lost, or a serialization failure / deadlock (40001, 40P01)
 *   AR_ERR_INTERNAL     anything else (unknown statement name included)
 * The SQLSTATE and server message are logged (never the parameters). When the connection turns out to
 * be broken and it was not inside a transaction, it is re-established and the statement retried once.
 * `c` is normally ar_db_conn()'s; any other connection works too (the statement is then sent unprepared). */
PGresult *ar_db_exec(PGconn *c, const char *stmt_name, int nparams, const char *const *params, ar_error *err);

/* Execute fixed SQL text without parameters (simple query protocol, several statements allowed; the
 * result is the last one's): SET TRANSACTION ..., LOCK, DDL in tools. Same errors, logging and
 * reconnect-once as ar_db_exec. Never build the text from input: use a registered statement with params. */
PGresult *ar_db_exec_sql(PGconn *c, const char *sql, ar_error *err);

/* The SQLSTATE ("" if none) and constraint name ("" if none) of this thread's last failed ar_db_exec,
 * e.g. to turn a 23505 on a given unique index into a field error. */
const char *ar_db_last_sqlstate(void);
const char *ar_db_last_constraint(void);

/* Run fn inside BEGIN ... COMMIT on this thread's connection; ROLLBACK when fn returns non-zero (fn sets
 * err). When fn or COMMIT fails with SQLSTATE 40001/40P01, the whole transaction is retried (up to 5
 * retries, small jittered backoff); fn must therefore have no effects outside the database. fn may start
 * with SET TRANSACTION ISOLATION LEVEL .... A COMMIT that the server turns into ROLLBACK (fn ignored an
 * error) is reported as a failure. Called while a transaction is already open on this thread, fn simply
 * runs inside it. Returns 0 or -1 with err set. */
typedef int (*ar_db_tx_fn)(PGconn *c, void *arg, ar_error *err);
int ar_db_tx(ar_db_tx_fn fn, void *arg, ar_error *err);
/* ar_db_tx that first runs the registered statement `prelude_stmt` (e.g. setting the row-level-security
 * variables) in the same round trip as BEGIN (libpq pipeline mode, once the statement is prepared on this
 * thread's connection). Inside an open transaction the prelude simply runs before fn. */
int ar_db_tx_with(const char *prelude_stmt, int nparams, const char *const *params, ar_db_tx_fn fn, void *arg,
                  ar_error *err);
/* One registered statement in a transaction of its own after the prelude — BEGIN, prelude, statement and COMMIT
 * sent as one pipeline, a single round trip once both statements are prepared on this thread's connection (the
 * first call prepares them the ordinary way). For read-mostly lookups on every request (sessions, API tokens).
 * Returns the statement's result (caller PQclears) or NULL with err. Inside an open transaction it simply runs
 * the prelude and the statement there. */
PGresult *ar_db_query_once(const char *prelude_stmt, int prelude_nparams, const char *const *prelude_params,
                           const char *stmt, int nparams, const char *const *params, ar_error *err);

/* Counters for /metrics (process-wide, monotonic). */
typedef struct ar_db_stats {
    unsigned long connects;   /* connections opened (first connects and reconnects) */
    unsigned long reconnects; /* connections re-established after they were found broken */
    unsigned long failures;   /* connection attempts (first or re-) that failed */
    unsigned long statements; /* statements that succeeded (ar_db_exec, ar_db_exec_sql, BEGIN/COMMIT) */
    unsigned long statement_errors; /* statements that failed (unique violations included) */
    unsigned long tx_retries; /* transactions retried after a serialization failure or deadlock */
} ar_db_stats;
void ar_db_stats_get(ar_db_stats *out);

/* Shut down: close the calling thread's connection. */
void ar_db_shutdown(void);

/* The conninfo/URL with its password replaced by "***" (heap string, caller frees). */
char *ar_db_redact_conninfo(const char *conninfo);

#endif
