/* harness.h — helpers shared by the integration tests: where the test PostgreSQL and Valkey are
 * (DATABASE_URL / VALKEY_URL, exported by scripts/test.sh from BUILD/testvar/afterresumed.env), throw-away
 * databases so that suites do not interfere, and small assert-on-failure query helpers.
 * Functions that can fail abort the current Check test with a clear message, so call them from inside a
 * test or a checked fixture. Tests run from the repository root (relative paths like "migrations"). */
#ifndef AFTERRESUME_TESTS_INTEGRATION_HARNESS_H
#define AFTERRESUME_TESTS_INTEGRATION_HARNESS_H
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <stddef.h>

/* DATABASE_URL of the test cluster (a role allowed to CREATE DATABASE). Fails the test when unset. */
const char *it_database_url(void);
/* VALKEY_URL (or REDIS_URL), e.g. redis://127.0.0.1:63809/0. Fails the test when unset. */
const char *it_valkey_url(void);
/* The build directory under test (AR_TEST_BUILD, default "build"), e.g. to find the daemon binary. */
const char *it_build_dir(void);

/* A new connection to DATABASE_URL / to url; the caller PQfinish()es it. */
PGconn *it_pg_connect(void);
PGconn *it_pg_connect_to(const char *url);

/* CREATE DATABASE it_<random> (empty) and return its URL (heap, caller frees; drop with it_drop_db). */
char *it_fresh_schema_db(void);
/* it_fresh_schema_db() with the repository's migrations/ applied, and ar_db_configure()d to it. */
char *it_migrated_db(void);
/* DROP DATABASE of an it_... database made above (forcing out its connections). Call ar_db_shutdown() first
 * if this thread's pool connection points at it. */
void it_drop_db(const char *url);

/* Run SQL (simple protocol, several statements allowed) and fail the test if it does not succeed. */
void it_exec(PGconn *c, const char *sql);
/* First column of the first row of a query as a heap string (NULL for SQL NULL or no row). */
char *it_query_value(PGconn *c, const char *sql);
/* The same, as a long (fails the test on NULL / no row). */
long it_query_long(PGconn *c, const char *sql);

/* A connection to VALKEY_URL (database selected); the caller redisFree()s it. */
redisContext *it_valkey_connect(void);

/* 2*bytes random lowercase hex characters (heap). */
char *it_random_hex(size_t bytes);

#endif
