/* harness.c — shared integration-test helpers: test service URLs, throw-away databases, query asserts. */
#include "integration/harness.h"

#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/error.h"
#include "afterresume/db/db.h"
#include "afterresume/db/migrate.h"

const char *it_database_url(void)
{
    const char *url = getenv("DATABASE_URL");
    if (!url || !*url) {
        ck_abort_msg("DATABASE_URL is not set: run the integration tests through scripts/test.sh (make test), or "
                     "scripts/services.sh start build/testvar --test && set -a && . build/testvar/afterresumed.env");
    }
    return url;
}

const char *it_valkey_url(void)
{
    const char *url = getenv("VALKEY_URL");
    if (!url || !*url) url = getenv("REDIS_URL");
    if (!url || !*url) {
        ck_abort_msg("VALKEY_URL is not set: run the integration tests through scripts/test.sh (make test), or "
                     "scripts/services.sh start build/testvar --test && set -a && . build/testvar/afterresumed.env");
    }
    return url;
}

const char *it_build_dir(void)
{
    const char *dir = getenv("AR_TEST_BUILD");
    return dir && *dir ? dir : "build";
}

PGconn *it_pg_connect_to(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        char *shown = ar_db_redact_conninfo(url);
        char message[512];
        snprintf(message, sizeof message, "cannot connect to %s: %s", shown, PQerrorMessage(c));
        ar_free(shown);
        PQfinish(c);
        ck_abort_msg("%s", message);
    }
    return c;
}

PGconn *it_pg_connect(void)
{
    return it_pg_connect_to(it_database_url());
}

char *it_random_hex(size_t bytes)
{
    ck_assert_int_ge(sodium_init(), 0);
    unsigned char *raw = ar_malloc(bytes ? bytes : 1);
    randombytes_buf(raw, bytes);
    char *hex = ar_malloc(bytes * 2 + 1);
    sodium_bin2hex(hex, bytes * 2 + 1, raw, bytes);
    ar_free(raw);
    return hex;
}

void it_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char message[512];
        snprintf(message, sizeof message, "SQL failed: %.200s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        ck_abort_msg("%s", message);
    }
    PQclear(r);
}

char *it_query_value(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char message[512];
        snprintf(message, sizeof message, "query failed: %.200s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        ck_abort_msg("%s", message);
    }
    char *value = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? ar_strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    return value;
}

long it_query_long(PGconn *c, const char *sql)
{
    char *value = it_query_value(c, sql);
    ck_assert_msg(value != NULL, "query returned no value: %s", sql);
    long n = strtol(value, NULL, 10);
    ar_free(value);
    return n;
}

/* base URL/conninfo pointed at database `name`. */
static char *url_with_database(const char *base, const char *name)
{
    const char *scheme = strstr(base, "://");
    if (!scheme) return ar_asprintf("%s dbname=%s", base, name);
    const char *authority = scheme + 3;
    const char *path = authority + strcspn(authority, "/?");
    const char *query = strchr(path, '?');
    return ar_asprintf("%.*s/%s%s", (int)(path - base), base, name, query ? query : "");
}

/* The dbname a URL/conninfo points at (heap). */
static char *database_of(const char *url)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &errmsg);
    ck_assert_msg(opts != NULL, "cannot parse connection string: %s", errmsg ? errmsg : "?");
    char *name = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (strcmp(o->keyword, "dbname") == 0 && o->val) name = ar_strdup(o->val);
    }
    PQconninfoFree(opts);
    ck_assert_msg(name != NULL, "no database name in the connection string");
    return name;
}

char *it_fresh_schema_db(void)
{
    char *hex = it_random_hex(8);
    char *name = ar_asprintf("it_%s", hex);
    ar_free(hex);
    PGconn *admin = it_pg_connect();
    char *sql = ar_asprintf("CREATE DATABASE %s", name);
    it_exec(admin, sql);
    ar_free(sql);
    PQfinish(admin);
    char *url = url_with_database(it_database_url(), name);
    ar_free(name);
    return url;
}

char *it_migrated_db(void)
{
    char *url = it_fresh_schema_db();
    ar_db_configure(url);
    ar_error err = {0};
    int applied = 0;
    ck_assert_msg(ar_db_migrate_counting("migrations", 0, &applied, &err) == 0 && applied > 0,
                  "migrating a fresh database failed: %s", err.message);
    ar_error_clear(&err);
    return url;
}

void it_drop_db(const char *url)
{
    if (!url) return;
    char *name = database_of(url);
    ck_assert_msg(strncmp(name, "it_", 3) == 0 && strspn(name + 3, "0123456789abcdef") == strlen(name + 3),
                  "refusing to drop %s: not a test database", name);
    /* Cleanup, retried: WITH (FORCE) cannot end an autovacuum worker (not ours to terminate), which
     * finishes within moments. A database left behind after that is only litter in a throw-away cluster. */
    PGconn *admin = it_pg_connect();
    char *sql = ar_asprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    for (int attempt = 0; attempt < 50; attempt++) {
        PGresult *r = PQexec(admin, sql);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok && attempt == 49) fprintf(stderr, "it_drop_db: leaving %s: %s", name, PQerrorMessage(admin));
        PQclear(r);
        if (ok) break;
        usleep(100 * 1000);
    }
    ar_free(sql);
    PQfinish(admin);
    ar_free(name);
}

redisContext *it_valkey_connect(void)
{
    const char *url = it_valkey_url();
    const char *p = strstr(url, "://");
    ck_assert_msg(p != NULL, "VALKEY_URL is not a redis:// URL: %s", url);
    p += 3;
    const char *at = strchr(p, '@'); /* redis://[[user]:password@]host:port[/db] */
    char *user = NULL, *password = NULL;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            user = colon > p ? ar_strndup(p, (size_t)(colon - p)) : NULL;
            password = ar_strndup(colon + 1, (size_t)(at - colon - 1));
        }
        p = at + 1;
    }
    size_t host_len = strcspn(p, ":/");
    char *host = ar_strndup(p, host_len);
    int port = 6379, db = 0;
    p += host_len;
    if (*p == ':') port = (int)strtol(p + 1, (char **)&p, 10);
    if (*p == '/') db = (int)strtol(p + 1, NULL, 10);
    struct timeval timeout = {5, 0};
    redisContext *rc = redisConnectWithTimeout(host, port, timeout);
    ar_free(host);
    ck_assert_msg(rc != NULL && !rc->err, "cannot connect to Valkey at %s: %s", url, rc ? rc->errstr : "no memory");
    if (password) {
        redisReply *reply = user ? redisCommand(rc, "AUTH %s %s", user, password) : redisCommand(rc, "AUTH %s", password);
        ck_assert_msg(reply && reply->type == REDIS_REPLY_STATUS, "AUTH failed on Valkey");
        freeReplyObject(reply);
    }
    ar_free(user);
    ar_free(password);
    if (db != 0) {
        redisReply *reply = redisCommand(rc, "SELECT %d", db);
        ck_assert_msg(reply && reply->type == REDIS_REPLY_STATUS, "SELECT %d failed on %s", db, url);
        freeReplyObject(reply);
    }
    return rc;
}
