/* test_db.c — integration tests of the database layer and the migration runner against the test
 * PostgreSQL: migrations (order, once, checksums, rollback, advisory lock), statement execution and
 * error mapping, transactions with retries, reconnects, readiness, redaction. Each test gets its own
 * throw-away database. */
#include <check.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/error.h"
#include "afterresume/db/db.h"
#include "afterresume/db/migrate.h"
#include "integration/harness.h"

static char *db_url;     /* this test's database */
static PGconn *db_admin; /* a separate connection to it, for checking and for sabotage */
static char tmp_dir[64]; /* per-test migrations directory */

static const ar_db_stmt test_stmts[] = {
    {"test_db.item_insert", "INSERT INTO items (name, note) VALUES ($1, $2) RETURNING id"},
    {"test_db.item_get", "SELECT name, note FROM items WHERE id = $1"},
    {"test_db.item_count", "SELECT count(*) FROM items"},
    {"test_db.backend_pid", "SELECT pg_backend_pid()"},
    {"test_db.flaky_step", "SELECT flaky_step($1::int)"},
    {"test_db.counter_get", "SELECT v FROM counter WHERE id = 1"},
    {"test_db.counter_bump", "UPDATE counter SET v = v + 1 WHERE id = 1"},
};

static void setup(void)
{
    db_url = it_fresh_schema_db();
    ar_db_configure(db_url);
    ar_db_register(test_stmts, sizeof test_stmts / sizeof test_stmts[0]);
    db_admin = it_pg_connect_to(db_url);
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/ar_test_db_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void remove_tree(const char *dir)
{
    char *cmd = ar_asprintf("rm -rf '%s'", dir);
    int rc = system(cmd);
    ar_free(cmd);
    ck_assert_int_eq(rc, 0);
}

static void teardown(void)
{
    ar_db_shutdown();
    PQfinish(db_admin);
    db_admin = NULL;
    it_drop_db(db_url);
    ar_free(db_url);
    db_url = NULL;
    remove_tree(tmp_dir);
}

static void write_migration(const char *file, const char *sql)
{
    char *path = ar_asprintf("%s/%s", tmp_dir, file);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(sql, f);
    fclose(f);
    ar_free(path);
}

static void make_items_table(void)
{
    it_exec(db_admin, "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL UNIQUE, note text)");
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- migrations ------------------------------------------------------------------------------ */

/* ar_db_migrate_counting: the number applied, or -1 on failure. */
static int migrate_count(const char *dir, ar_error *err)
{
    int applied = -7;
    int rc = ar_db_migrate_counting(dir, 0, &applied, err);
    if (rc != 0) return -1;
    ck_assert_int_ge(applied, 0);
    return applied;
}

static int count_repo_migrations(void)
{
    FILE *p = popen("ls migrations | grep -cE '^[0-9]+_[A-Za-z0-9_-]+\\.sql$'", "r");
    ck_assert_ptr_nonnull(p);
    int n = 0;
    ck_assert_int_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

START_TEST(test_migrate_fresh_database_applies_all_then_none)
{
    int files = count_repo_migrations();
    ck_assert_int_ge(files, 1);
    ar_error err = {0};
    ck_assert_int_eq(migrate_count("migrations", &err), files);
    ck_assert_int_eq(it_query_long(db_admin, "SELECT count(*) FROM schema_migrations"), files);
    ck_assert_int_eq(it_query_long(db_admin, "SELECT count(*) FROM schema_migrations WHERE applied_at IS NULL"), 0);
    ck_assert_int_eq(it_query_long(db_admin, "SELECT count(*) FROM pg_extension WHERE extname IN ('citext','pgcrypto')"),
                     2);
    it_exec(db_admin, "INSERT INTO app_settings (key, value) VALUES ('k', '{\"a\":1}')");
    ck_assert_int_eq(it_query_long(db_admin, "SELECT (value->>'a')::int FROM app_settings WHERE key = 'k'"), 1);

    /* The recorded checksum is the SHA-256 of the file. */
    FILE *f = fopen("migrations/0001_init.sql", "rb");
    ck_assert_ptr_nonnull(f);
    static unsigned char text[1 << 20];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, text, len);
    char hex[sizeof digest * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    char *recorded = it_query_value(db_admin, "SELECT checksum FROM schema_migrations WHERE version = 1");
    ck_assert_str_eq(recorded, hex);
    ar_free(recorded);
    char *name = it_query_value(db_admin, "SELECT name FROM schema_migrations WHERE version = 1");
    ck_assert_str_eq(name, "0001_init.sql");
    ar_free(name);

    ck_assert_int_eq(migrate_count("migrations", &err), 0);
    ck_assert_int_eq(ar_db_migrate("migrations", 1, &err), 0); /* up to date: success, nothing printed */
    ck_assert_int_eq(it_query_long(db_admin, "SELECT count(*) FROM schema_migrations"), files);
    ar_error_clear(&err);
}
END_TEST

START_TEST(test_migrate_numeric_order_and_ignored_names)
{
    write_migration("0010_third.sql", "ALTER TABLE t ADD COLUMN c int;");
    write_migration("0002_second.sql", "ALTER TABLE t ADD COLUMN b int;");
    write_migration("0001_first.sql", "CREATE TABLE t (a int);");
    write_migration("README.md", "not sql");
    write_migration("notes.sql", "THIS IS NOT SQL;");
    write_migration("0003_bad name.sql", "THIS IS NOT SQL;");
    write_migration("0004_backup.sql.orig", "THIS IS NOT SQL;");
    write_migration("0005_.sql", "THIS IS NOT SQL;");
    write_migration("_0006_x.sql", "THIS IS NOT SQL;");
    ar_error err = {0};
    ck_assert_int_eq(migrate_count(tmp_dir, &err), 3);
    char *versions = it_query_value(db_admin, "SELECT string_agg(version::text, ',' ORDER BY applied_at, version) "
                                              "FROM schema_migrations");
    ck_assert_str_eq(versions, "1,2,10");
    ar_free(versions);
    char *columns = it_query_value(db_admin, "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) "
                                             "FROM information_schema.columns WHERE table_name = 't'");
    ck_assert_str_eq(columns, "a,b,c");
    ar_free(columns);

    /* status: all applied; a new file shows as pending. */
    write_migration("0011_fourth.sql", "ALTER TABLE t ADD COLUMN d int;");
    char *listing = NULL;
    size_t listing_len = 0;
    FILE *out = open_memstream(&listing, &listing_len);
    ck_assert_int_eq(ar_db_migration_status(tmp_dir, out, &err), 1);
    fclose(out);
    ck_assert_str_eq(listing, "applied  0001_first.sql\napplied  0002_second.sql\napplied  0010_third.sql\n"
                              "pending  0011_fourth.sql\n");
    free(listing);
    ck_assert_int_eq(migrate_count(tmp_dir, &err), 1);
    ar_error_clear(&err);
}
END_TEST

START_TEST(test_migrate_refuses_changed_checksum)
{
    write_migration("0001_first.sql", "CREATE TABLE t (a int);");
    ar_error err = {0};
    ck_assert_int_eq(migrate_count(tmp_dir, &err), 1);
    write_migration("0001_first.sql", "CREATE TABLE t (a bigint);");
    write_migration("0002_second.sql", "CREATE TABLE u (a int);");
    ck_assert_int_eq(migrate_count(tmp_dir, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_INTERNAL);
    ck_assert_msg(strstr(err.message, "0001_first.sql") != NULL, "message names the file: %s", err.message);
    ck_assert_msg(strstr(err.message, "changed") != NULL, "message says it changed: %s", err.message);
    /* Nothing after the refusal was applied. */
    ck_assert_int_eq(it_query_long(db_admin, "SELECT count(*) FROM schema_migrations"), 1);
    ck_assert_int_eq(it_query_long(db_admin, "SELECT count(*) FROM pg_tables WHERE tablename = 'u'"), 0);
    ar_error_clear(&err);

    char *listing = NULL;
    size_t listing_len = 0;
    FILE *out = open_memstream(&listing, &listing_len);
    ck_assert_int_eq(ar_db_migration_status(tmp_dir, out, &err), 1);
    fclose(out);
    ck_assert_str_eq(listing, "changed  0001_first.sql\npending  0002_second.sql\n");
    free(listing);
}
END_TEST

START_TEST(test_migrate_failure_rolls_back_that_file)
{
    write_migration("0001_first.sql", "CREATE TABLE t (a int);");
    write_migration("0002_broken.sql", "CREATE TABLE v (a int);\nCREATE TABLE w (a no_such_type);\n");
    ar_error err = {0};
    ck_assert_int_eq(migrate_count(tmp_dir, &err), -1);
    ck_assert_msg(strstr(err.message, "0002_broken.sql") != NULL, "message names the file: %s", err.message);
    ck_assert_msg(strstr(err.message, "no_such_type") != NULL, "message has the server error: %s", err.message);
    ck_assert_msg(strstr(err.message, "line 2") != NULL, "message has the line: %s", err.message);
    ar_error_clear(&err);
    ck_assert_int_eq(it_query_long(db_admin, "SELECT count(*) FROM schema_migrations"), 1);
    ck_assert_int_eq(it_query_long(db_admin, "SELECT count(*) FROM pg_tables WHERE tablename IN ('t', 'v')"), 1);
    /* The lock was released although migrate failed. */
    ck_assert_int_eq(it_query_long(db_admin, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 0);

    write_migration("0002_broken.sql", "CREATE TABLE v (a int);\nCREATE TABLE w (a text);\n");
    ck_assert_int_eq(migrate_count(tmp_dir, &err), 1);
    ck_assert_int_eq(it_query_long(db_admin, "SELECT count(*) FROM pg_tables WHERE tablename IN ('t', 'v', 'w')"), 3);
    ar_error_clear(&err);
}
END_TEST

START_TEST(test_migrate_missing_directory)
{
    ar_error err = {0};
    ck_assert_int_eq(ar_db_migrate("/nonexistent/ar-migrations", 0, &err), -1);
    ck_assert_msg(strstr(err.message, "/nonexistent/ar-migrations") != NULL, "%s", err.message);
    ar_error_clear(&err);
}
END_TEST

typedef struct migrate_thread {
    int applied;
    ar_error err;
} migrate_thread;

static void *migrate_thread_main(void *arg)
{
    migrate_thread *m = arg;
    if (ar_db_migrate_counting(tmp_dir, 0, &m->applied, &m->err) != 0) m->applied = -1;
    ar_db_thread_close();
    return NULL;
}

START_TEST(test_migrate_concurrent_applies_each_once)
{
    /* Without the advisory lock both would run 0001 and one would fail on CREATE TABLE. */
    write_migration("0001_first.sql", "CREATE TABLE runs (n int);\nSELECT pg_sleep(0.3);\nINSERT INTO runs VALUES (1);");
    write_migration("0002_second.sql", "INSERT INTO runs VALUES (2);");
    migrate_thread m[2] = {0};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, migrate_thread_main, &m[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    ck_assert_msg(m[0].applied >= 0 && m[1].applied >= 0, "both succeed: %s / %s", m[0].err.message, m[1].err.message);
    ck_assert_int_eq(m[0].applied + m[1].applied, 2);
    ck_assert_int_eq(it_query_long(db_admin, "SELECT count(*) FROM runs"), 2);
    ck_assert_int_eq(it_query_long(db_admin, "SELECT count(*) FROM schema_migrations"), 2);
    ar_error_clear(&m[0].err);
    ar_error_clear(&m[1].err);
}
END_TEST

/* ---- statements ---------------------------------------------------------------------------- */

START_TEST(test_exec_params_null_and_stats)
{
    make_items_table();
    ar_error err = {0};
    ar_db_stats before, after;
    ar_db_stats_get(&before);
    PGconn *c = ar_db_conn(&err);
    ck_assert_ptr_nonnull(c);
    const char *params[] = {"alpha", NULL};
    PGresult *r = ar_db_exec(c, "test_db.item_insert", 2, params, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    char *id = ar_strdup(PQgetvalue(r, 0, 0));
    PQclear(r);

    const char *get_params[] = {id};
    r = ar_db_exec(c, "test_db.item_get", 1, get_params, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(PQntuples(r), 1);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "alpha");
    ck_assert(PQgetisnull(r, 0, 1));
    PQclear(r);

    /* Text that would break naive quoting is data, not SQL. */
    const char *tricky[] = {"o'brien\"; DROP TABLE items; --", "note ✓"};
    r = ar_db_exec(c, "test_db.item_insert", 2, tricky, &err);
    ck_assert_ptr_nonnull(r);
    PQclear(r);
    char *stored = it_query_value(db_admin, "SELECT note FROM items WHERE name LIKE 'o''brien%'");
    ck_assert_str_eq(stored, "note ✓");
    ar_free(stored);

    /* Prepared once on this connection. */
    r = ar_db_exec(c, "test_db.item_get", 1, get_params, &err);
    ck_assert_ptr_nonnull(r);
    PQclear(r);
    r = ar_db_exec_sql(c, "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'test_db.%'", &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "2");
    PQclear(r);
    ar_free(id);

    ar_db_stats_get(&after);
    ck_assert_uint_eq(after.statements - before.statements, 5);
    ck_assert_uint_eq(after.connects - before.connects, 1);
    ar_error_clear(&err);
}
END_TEST

START_TEST(test_exec_unique_violation_is_conflict)
{
    make_items_table();
    ar_error err = {0};
    ar_db_stats before, after;
    ar_db_stats_get(&before);
    PGconn *c = ar_db_conn(&err);
    ck_assert_ptr_nonnull(c);
    const char *params[] = {"same", "first"};
    PGresult *r = ar_db_exec(c, "test_db.item_insert", 2, params, &err);
    ck_assert_ptr_nonnull(r);
    PQclear(r);
    ck_assert_str_eq(ar_db_last_sqlstate(), "");
    r = ar_db_exec(c, "test_db.item_insert", 2, params, &err);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(err.code, AR_ERR_CONFLICT);
    ck_assert_str_eq(ar_db_last_sqlstate(), "23505");
    ck_assert_str_eq(ar_db_last_constraint(), "items_name_key");
    ck_assert_msg(strstr(err.message, "first") == NULL, "no parameter in the message: %s", err.message);
    ar_error_clear(&err);

    /* The connection stays usable, and other errors are internal. */
    const char *bad[] = {"not-a-number"};
    r = ar_db_exec(c, "test_db.item_get", 1, bad, &err);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(err.code, AR_ERR_INTERNAL);
    ck_assert_str_eq(ar_db_last_sqlstate(), "22P02");
    ar_error_clear(&err);
    r = ar_db_exec(c, "test_db.item_count", 0, NULL, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "1");
    PQclear(r);

    r = ar_db_exec(c, "test_db.no_such_statement", 0, NULL, &err);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(err.code, AR_ERR_INTERNAL);
    ar_error_clear(&err);
    ar_db_stats_get(&after);
    ck_assert_uint_eq(after.statement_errors - before.statement_errors, 3);
    ck_assert_uint_eq(after.failures - before.failures, 0);
}
END_TEST

START_TEST(test_exec_on_dedicated_connection)
{
    make_items_table();
    ar_error err = {0};
    PGconn *own = ar_db_connect_dedicated(&err);
    ck_assert_ptr_nonnull(own);
    const char *params[] = {"dedicated", "x"};
    PGresult *r = ar_db_exec(own, "test_db.item_insert", 2, params, &err);
    ck_assert_ptr_nonnull(r);
    PQclear(r);
    r = ar_db_exec(own, "test_db.item_count", 0, NULL, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "1");
    PQclear(r);
    PQfinish(own);
    ar_error_clear(&err);
}
END_TEST

START_TEST(test_register_same_statement_twice_is_noop)
{
    make_items_table();
    ar_db_register(test_stmts, sizeof test_stmts / sizeof test_stmts[0]);
    static const ar_db_stmt more[] = {{"test_db.item_names", "SELECT string_agg(name, ',' ORDER BY name) FROM items"}};
    ar_db_register(more, 1);
    ar_error err = {0};
    PGconn *c = ar_db_conn(&err);
    const char *p1[] = {"b", NULL}, *p2[] = {"a", NULL};
    PQclear(ar_db_exec(c, "test_db.item_insert", 2, p1, &err));
    PQclear(ar_db_exec(c, "test_db.item_insert", 2, p2, &err));
    PGresult *r = ar_db_exec(c, "test_db.item_names", 0, NULL, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "a,b");
    PQclear(r);
    ar_error_clear(&err);
}
END_TEST

/* ---- transactions ---------------------------------------------------------------------------- */

typedef struct tx_case {
    const char *name;
    int fail_with;   /* fn returns -1 after inserting */
    int ignore_error; /* fn inserts a duplicate, ignores the failure, returns 0 */
    int calls;
    int flaky_until; /* flaky_step raises 40001 while its sequence is below this */
} tx_case;

static int tx_insert(PGconn *c, void *arg, ar_error *err)
{
    tx_case *t = arg;
    t->calls++;
    const char *params[] = {t->name, NULL};
    PGresult *r = ar_db_exec(c, "test_db.item_insert", 2, params, err);
    if (!r) return -1;
    PQclear(r);
    if (t->ignore_error) {
        ar_error ignored = {0};
        PQclear(ar_db_exec(c, "test_db.item_insert", 2, params, &ignored));
        ar_error_clear(&ignored);
    }
    if (t->flaky_until) {
        char until[16];
        snprintf(until, sizeof until, "%d", t->flaky_until);
        const char *fp[] = {until};
        r = ar_db_exec(c, "test_db.flaky_step", 1, fp, err);
        if (!r) return -1;
        PQclear(r);
    }
    if (t->fail_with) {
        ar_error_set(err, AR_ERR_VALIDATION, "changed my mind");
        return -1;
    }
    return 0;
}

static long item_count(const char *name)
{
    char *sql = ar_asprintf("SELECT count(*) FROM items WHERE name = '%s'", name);
    long n = it_query_long(db_admin, sql);
    ar_free(sql);
    return n;
}

START_TEST(test_tx_commit_rollback_and_swallowed_error)
{
    make_items_table();
    ar_error err = {0};
    tx_case ok = {.name = "committed"};
    ck_assert_int_eq(ar_db_tx(tx_insert, &ok, &err), 0);
    ck_assert_int_eq(ok.calls, 1);
    ck_assert_int_eq(item_count("committed"), 1);

    tx_case no = {.name = "rolled-back", .fail_with = 1};
    ck_assert_int_eq(ar_db_tx(tx_insert, &no, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ck_assert_str_eq(err.message, "changed my mind");
    ck_assert_int_eq(no.calls, 1);
    ck_assert_int_eq(item_count("rolled-back"), 0);
    ar_error_clear(&err);

    /* fn ignored a failed statement and returned 0: COMMIT becomes ROLLBACK, reported as an error. */
    tx_case sloppy = {.name = "sloppy", .ignore_error = 1};
    ck_assert_int_eq(ar_db_tx(tx_insert, &sloppy, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_INTERNAL);
    ck_assert_int_eq(item_count("sloppy"), 0);
    ar_error_clear(&err);

    /* The thread's connection is back to idle and usable. */
    PGconn *c = ar_db_conn(&err);
    ck_assert_int_eq(PQtransactionStatus(c), PQTRANS_IDLE);
    ck_assert_int_eq(ar_db_tx(tx_insert, &(tx_case){.name = "after"}, &err), 0);
    ck_assert_int_eq(item_count("after"), 1);
}
END_TEST

static void make_flaky_function(void)
{
    /* The sequence is not transactional, so it counts attempts across rollbacks. */
    it_exec(db_admin, "CREATE SEQUENCE flaky_attempts;"
                      "CREATE FUNCTION flaky_step(until int) RETURNS bigint LANGUAGE plpgsql AS $$"
                      " DECLARE n bigint := nextval('flaky_attempts');"
                      " BEGIN IF n < until THEN"
                      "   RAISE EXCEPTION 'forced serialization failure %', n USING ERRCODE = '40001';"
                      " END IF; RETURN n; END $$");
}

START_TEST(test_tx_retries_serialization_failure)
{
    make_items_table();
    make_flaky_function();
    ar_db_stats before, after;
    ar_db_stats_get(&before);
    ar_error err = {0};
    tx_case flaky = {.name = "flaky", .flaky_until = 3}; /* attempts 1 and 2 fail, 3 succeeds */
    ck_assert_msg(ar_db_tx(tx_insert, &flaky, &err) == 0, "tx failed: %s", err.message);
    ck_assert_int_eq(flaky.calls, 3);
    ck_assert_int_eq(item_count("flaky"), 1);
    ar_db_stats_get(&after);
    ck_assert_uint_eq(after.tx_retries - before.tx_retries, 2);
    ar_error_clear(&err);
}
END_TEST

START_TEST(test_tx_gives_up_after_five_retries)
{
    make_items_table();
    make_flaky_function();
    ar_error err = {0};
    tx_case hopeless = {.name = "hopeless", .flaky_until = 1000};
    double started = now_seconds();
    ck_assert_int_eq(ar_db_tx(tx_insert, &hopeless, &err), -1);
    double took = now_seconds() - started;
    ck_assert_int_eq(hopeless.calls, 6);
    ck_assert_int_eq(err.code, AR_ERR_UNAVAILABLE);
    ck_assert_str_eq(ar_db_last_sqlstate(), "40001");
    ck_assert_int_eq(item_count("hopeless"), 0);
    ck_assert_msg(took < 2.0, "backoff stays small: %.3f s", took);
    ar_error_clear(&err);
}
END_TEST

typedef struct bump_case {
    pthread_barrier_t *barrier;
    int calls;
    int rc;
    ar_error err;
} bump_case;

static int tx_bump(PGconn *c, void *arg, ar_error *err)
{
    bump_case *b = arg;
    b->calls++;
    PGresult *r = ar_db_exec_sql(c, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", err);
    if (!r) return -1;
    PQclear(r);
    r = ar_db_exec(c, "test_db.counter_get", 0, NULL, err); /* takes the snapshot */
    if (!r) return -1;
    PQclear(r);
    if (b->calls == 1) pthread_barrier_wait(b->barrier); /* both hold a snapshot before either updates */
    r = ar_db_exec(c, "test_db.counter_bump", 0, NULL, err);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

static void *bump_thread_main(void *arg)
{
    bump_case *b = arg;
    b->rc = ar_db_tx(tx_bump, b, &b->err);
    ar_db_thread_close();
    return NULL;
}

START_TEST(test_tx_retries_real_serialization_conflict)
{
    it_exec(db_admin, "CREATE TABLE counter (id int PRIMARY KEY, v int NOT NULL); INSERT INTO counter VALUES (1, 0)");
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    bump_case b[2] = {{.barrier = &barrier}, {.barrier = &barrier}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, bump_thread_main, &b[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
    ck_assert_msg(b[0].rc == 0 && b[1].rc == 0, "both commit: %s / %s", b[0].err.message, b[1].err.message);
    ck_assert_int_eq(b[0].calls + b[1].calls, 3); /* exactly one of them was retried */
    ck_assert_int_eq(it_query_long(db_admin, "SELECT v FROM counter WHERE id = 1"), 2);
    ar_error_clear(&b[0].err);
    ar_error_clear(&b[1].err);
}
END_TEST

/* ---- connections ------------------------------------------------------------------------------ */

static void terminate_backend(int pid)
{
    char *sql = ar_asprintf("SELECT pg_terminate_backend(%d)", pid);
    char *ok = it_query_value(db_admin, sql);
    ar_free(sql);
    ck_assert_str_eq(ok, "t");
    ar_free(ok);
    sql = ar_asprintf("SELECT count(*) FROM pg_stat_activity WHERE pid = %d", pid);
    for (int i = 0; i < 100 && it_query_long(db_admin, sql) > 0; i++) usleep(50 * 1000);
    ck_assert_int_eq(it_query_long(db_admin, sql), 0);
    ar_free(sql);
}

START_TEST(test_reconnect_after_terminate_backend)
{
    ar_error err = {0};
    PGconn *c = ar_db_conn(&err);
    ck_assert_ptr_nonnull(c);
    PGresult *r = ar_db_exec(c, "test_db.backend_pid", 0, NULL, &err);
    ck_assert_ptr_nonnull(r);
    int pid = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    ck_assert_int_eq(pid, PQbackendPID(c));

    ar_db_stats before, after;
    ar_db_stats_get(&before);
    terminate_backend(pid);

    /* The same statement (prepared on the old connection) works again on a new one. */
    r = ar_db_exec(c, "test_db.backend_pid", 0, NULL, &err);
    ck_assert_msg(r != NULL, "exec after terminate: %s", err.message);
    int new_pid = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    ck_assert_int_ne(new_pid, pid);
    ar_db_stats_get(&after);
    ck_assert_uint_eq(after.reconnects - before.reconnects, 1);
    ck_assert_ptr_eq(ar_db_conn(&err), c);

    /* Broken while idle and found by ar_db_tx's BEGIN: reconnected as well. */
    terminate_backend(new_pid);
    ck_assert_int_eq(ar_db_tx(tx_insert, &(tx_case){.name = "x"}, &err), -1); /* no items table: fails later */
    ck_assert_str_eq(ar_db_last_sqlstate(), "42P01");
    ar_db_stats_get(&after);
    ck_assert_uint_eq(after.reconnects - before.reconnects, 2);
    ar_error_clear(&err);
}
END_TEST

static int tx_terminated_midway(PGconn *c, void *arg, ar_error *err)
{
    (void)arg;
    PGresult *r = ar_db_exec(c, "test_db.item_count", 0, NULL, err);
    if (!r) return -1;
    PQclear(r);
    terminate_backend(PQbackendPID(c));
    r = ar_db_exec(c, "test_db.item_count", 0, NULL, err);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

START_TEST(test_broken_connection_inside_tx_is_not_retried)
{
    make_items_table();
    ar_error err = {0};
    ck_assert_int_eq(ar_db_tx(tx_terminated_midway, NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_UNAVAILABLE);
    ar_error_clear(&err);
    /* The next use reconnects. */
    PGconn *c = ar_db_conn(&err);
    ck_assert_ptr_nonnull(c);
    PGresult *r = ar_db_exec(c, "test_db.item_count", 0, NULL, &err);
    ck_assert_msg(r != NULL, "%s", err.message);
    PQclear(r);
}
END_TEST

START_TEST(test_wait_ready_and_unreachable_database)
{
    ar_error err = {0};
    ck_assert_int_eq(ar_db_wait_ready(3, &err), 0);
    ar_db_shutdown();

    ar_db_stats before, after;
    ar_db_stats_get(&before);
    ar_db_configure("postgresql://someone:s3cretpw@127.0.0.1:1/nothing");
    double started = now_seconds();
    ck_assert_int_eq(ar_db_wait_ready(2, &err), -1);
    double took = now_seconds() - started;
    ck_assert_int_eq(err.code, AR_ERR_UNAVAILABLE);
    ck_assert_msg(strstr(err.message, "s3cretpw") == NULL, "no password: %s", err.message);
    ck_assert_msg(strstr(err.message, "port 1") != NULL, "says why: %s", err.message);
    ck_assert_ptr_null(strchr(err.message, '\n'));
    ck_assert_msg(took >= 0.45 && took < 5.0, "two attempts 500 ms apart: %.3f s", took);
    ar_error_clear(&err);

    ck_assert_ptr_null(ar_db_conn(&err));
    ck_assert_int_eq(err.code, AR_ERR_UNAVAILABLE);
    ar_error_clear(&err);
    ar_db_stats_get(&after);
    ck_assert_uint_ge(after.failures - before.failures, 3);

    /* Reconfigured back: the thread's connection follows. */
    ar_db_configure(db_url);
    ck_assert_int_eq(ar_db_wait_ready(1, &err), 0);
}
END_TEST

static void *thread_exec_main(void *arg)
{
    int *ok = arg;
    ar_error err = {0};
    PGconn *c = ar_db_conn(&err);
    PGresult *r = c ? ar_db_exec(c, "test_db.backend_pid", 0, NULL, &err) : NULL;
    *ok = r != NULL && PQbackendPID(c) == atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    ar_error_clear(&err);
    if (*ok == 1) ar_db_thread_close(); /* the others rely on the key destructor */
    return NULL;
}

START_TEST(test_one_connection_per_thread)
{
    ar_db_stats before, after;
    ar_db_stats_get(&before);
    int ok[4] = {0};
    pthread_t th[4];
    for (int i = 0; i < 4; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, thread_exec_main, &ok[i]), 0);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(ok[i], 1);
    ar_db_stats_get(&after);
    ck_assert_uint_eq(after.connects - before.connects, 4);
    /* All four closed again (explicitly or by the key destructor); backends take a moment to exit. */
    const char *others = "SELECT count(*) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid <> pg_backend_pid()";
    for (int i = 0; i < 100 && it_query_long(db_admin, others) > 0; i++) usleep(50 * 1000);
    ck_assert_int_eq(it_query_long(db_admin, others), 0);
}
END_TEST

START_TEST(test_redact_conninfo)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"postgresql://app:s3cret@db.example:5432/afterresume?sslmode=require",
         "postgresql://app:***@db.example:5432/afterresume?sslmode=require"},
        {"postgres://app@host/db", "postgres://app@host/db"},
        {"postgresql://u:a@b@host/db", "postgresql://u:***@host/db"},
        {"postgresql://app:p%40ss@host/db?password=other&sslmode=disable",
         "postgresql://app:***@host/db?password=***&sslmode=disable"},
        {"postgresql://host/db?sslmode=disable&password=x", "postgresql://host/db?sslmode=disable&password=***"},
        {"host=db user=app password='se cret\\' x' dbname=ar", "host=db user=app password=*** dbname=ar"},
        {"host=db password = hunter2 port=5432", "host=db password = *** port=5432"},
        {"host=db dbname=ar", "host=db dbname=ar"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = ar_db_redact_conninfo(cases[i].in);
        ck_assert_str_eq(got, cases[i].out);
        ar_free(got);
    }
    char *none = ar_db_redact_conninfo(NULL);
    ck_assert_str_eq(none, "");
    ar_free(none);
}
END_TEST

/* ---- the shared harness ---------------------------------------------------------------------- */

START_TEST(test_harness_migrated_db_and_valkey)
{
    char *url = it_migrated_db();
    ck_assert_msg(strstr(url, "/it_") != NULL || strstr(url, "dbname=it_") != NULL, "fresh database: %s", url);
    ar_error err = {0};
    PGconn *c = ar_db_conn(&err); /* it_migrated_db configured the pool */
    ck_assert_ptr_nonnull(c);
    PGresult *r = ar_db_exec_sql(c, "SELECT current_database(), to_regclass('app_settings') IS NOT NULL", &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(strstr(url, PQgetvalue(r, 0, 0)) != NULL, "connected to %s", PQgetvalue(r, 0, 0));
    ck_assert_str_eq(PQgetvalue(r, 0, 1), "t");
    char *name = ar_strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    ar_db_shutdown();
    it_drop_db(url);
    PGconn *admin = it_pg_connect();
    char *sql = ar_asprintf("SELECT count(*) FROM pg_database WHERE datname = '%s'", name);
    ck_assert_int_eq(it_query_long(admin, sql), 0);
    ar_free(sql);
    ar_free(name);
    PQfinish(admin);
    ar_free(url);

    redisContext *v = it_valkey_connect();
    redisReply *reply = redisCommand(v, "PING");
    ck_assert_ptr_nonnull(reply);
    ck_assert_str_eq(reply->str, "PONG");
    freeReplyObject(reply);
    redisFree(v);
}
END_TEST

Suite *db_suite(void)
{
    Suite *s = suite_create("db");
    TCase *migrate = tcase_create("migrate");
    tcase_add_checked_fixture(migrate, setup, teardown);
    tcase_set_timeout(migrate, 60);
    tcase_add_test(migrate, test_migrate_fresh_database_applies_all_then_none);
    tcase_add_test(migrate, test_migrate_numeric_order_and_ignored_names);
    tcase_add_test(migrate, test_migrate_refuses_changed_checksum);
    tcase_add_test(migrate, test_migrate_failure_rolls_back_that_file);
    tcase_add_test(migrate, test_migrate_missing_directory);
    tcase_add_test(migrate, test_migrate_concurrent_applies_each_once);
    suite_add_tcase(s, migrate);

    TCase *exec = tcase_create("exec");
    tcase_add_checked_fixture(exec, setup, teardown);
    tcase_set_timeout(exec, 60);
    tcase_add_test(exec, test_exec_params_null_and_stats);
    tcase_add_test(exec, test_exec_unique_violation_is_conflict);
    tcase_add_test(exec, test_exec_on_dedicated_connection);
    tcase_add_test(exec, test_register_same_statement_twice_is_noop);
    suite_add_tcase(s, exec);

    TCase *tx = tcase_create("tx");
    tcase_add_checked_fixture(tx, setup, teardown);
    tcase_set_timeout(tx, 60);
    tcase_add_test(tx, test_tx_commit_rollback_and_swallowed_error);
    tcase_add_test(tx, test_tx_retries_serialization_failure);
    tcase_add_test(tx, test_tx_gives_up_after_five_retries);
    tcase_add_test(tx, test_tx_retries_real_serialization_conflict);
    suite_add_tcase(s, tx);

    TCase *conn = tcase_create("connection");
    tcase_add_checked_fixture(conn, setup, teardown);
    tcase_set_timeout(conn, 60);
    tcase_add_test(conn, test_reconnect_after_terminate_backend);
    tcase_add_test(conn, test_broken_connection_inside_tx_is_not_retried);
    tcase_add_test(conn, test_wait_ready_and_unreachable_database);
    tcase_add_test(conn, test_one_connection_per_thread);
    tcase_add_test(conn, test_redact_conninfo);
    suite_add_tcase(s, conn);

    TCase *harness = tcase_create("harness");
    tcase_set_timeout(harness, 60);
    tcase_add_test(harness, test_harness_migrated_db_and_valkey);
    suite_add_tcase(s, harness);
    return s;
}
