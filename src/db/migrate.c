/* migrate.c — the migration runner: reads DIR/NNNN_name.sql, checks the recorded SHA-256 of applied files,
 * applies the pending ones in order (one transaction each) while holding an advisory lock, and records
 * them in schema_migrations. */
#include "afterresume/db/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/log.h"
#include "afterresume/db/db.h"

#define MAX_VERSION_DIGITS 9

typedef struct migration {
    long version;
    char *file; /* "0001_init.sql" */
    char *sql;
    char checksum[crypto_hash_sha256_BYTES * 2 + 1];
} migration;

typedef struct migration_set {
    migration *items;
    size_t count;
} migration_set;

typedef struct applied_row {
    long version;
    char *name;
    char *checksum;
} applied_row;

static void migration_set_free(migration_set *set)
{
    for (size_t i = 0; i < set->count; i++) {
        ar_free(set->items[i].file);
        ar_free(set->items[i].sql);
    }
    ar_free(set->items);
    set->items = NULL;
    set->count = 0;
}

/* "NNNN_name.sql": digits, '_', a non-empty name of [A-Za-z0-9_-], ".sql". Sets *version. */
static bool migration_file_name(const char *name, long *version)
{
    size_t digits = strspn(name, "0123456789");
    if (digits == 0 || digits > MAX_VERSION_DIGITS || name[digits] != '_') return false;
    const char *label = name + digits + 1;
    size_t label_len = strspn(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
    if (label_len == 0 || strcmp(label + label_len, ".sql") != 0) return false;
    *version = strtol(name, NULL, 10);
    return true;
}

static int read_file(const char *path, char **out, size_t *len, ar_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ar_error_set(err, AR_ERR_INTERNAL, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    ar_buf b = AR_BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) ar_buf_append(&b, chunk, n);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) {
        ar_buf_free(&b);
        ar_error_set(err, AR_ERR_INTERNAL, "cannot read %s", path);
        return -1;
    }
    *len = b.len;
    *out = ar_buf_steal(&b);
    return 0;
}

static int compare_versions(const void *a, const void *b)
{
    long va = ((const migration *)a)->version, vb = ((const migration *)b)->version;
    return (va > vb) - (va < vb);
}

/* All migration files of dir, sorted by version, with their text and checksum. */
static int load_migrations(const char *dir, migration_set *set, ar_error *err)
{
    set->items = NULL;
    set->count = 0;
    DIR *d = opendir(dir);
    if (!d) {
        ar_error_set(err, AR_ERR_INTERNAL, "cannot open migrations directory %s: %s", dir, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        long version;
        if (!migration_file_name(de->d_name, &version)) continue;
        char *path = ar_asprintf("%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            ar_free(path);
            continue;
        }
        char *sql;
        size_t len;
        rc = read_file(path, &sql, &len, err);
        ar_free(path);
        if (rc != 0) break;
        if (memchr(sql, '\0', len)) {
            ar_free(sql);
            ar_error_set(err, AR_ERR_INTERNAL, "migration %s contains a NUL byte", de->d_name);
            rc = -1;
            break;
        }
        if (set->count == cap) {
            cap = cap ? cap * 2 : 16;
            set->items = ar_realloc(set->items, cap * sizeof *set->items);
        }
        migration *m = &set->items[set->count++];
        m->version = version;
        m->file = ar_strdup(de->d_name);
        m->sql = sql;
        unsigned char digest[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(digest, (const unsigned char *)sql, len);
        sodium_bin2hex(m->checksum, sizeof m->checksum, digest, sizeof digest);
    }
    closedir(d);
    if (rc != 0) {
        migration_set_free(set);
        return -1;
    }
    if (set->count > 1) qsort(set->items, set->count, sizeof *set->items, compare_versions);
    for (size_t i = 1; i < set->count; i++) {
        if (set->items[i].version == set->items[i - 1].version) {
            ar_error_set(err, AR_ERR_INTERNAL, "migrations %s and %s have the same number", set->items[i - 1].file,
                         set->items[i].file);
            migration_set_free(set);
            return -1;
        }
    }
    return 0;
}

/* The 1-based line of a 1-based character position in text (UTF-8). */
static int line_of_position(const char *text, long position)
{
    int line = 1;
    long chars = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if ((*p & 0xC0) != 0x80 && ++chars >= position) break;
        if (*p == '\n') line++;
    }
    return line;
}

/* Run sql on c; on failure set err to "<context>: <server message>" (this is operator-facing text). */
static PGresult *run(PGconn *c, const char *sql, int nparams, const char *const *params, const char *context,
                     ar_error *err)
{
    PGresult *r = nparams ? PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0) : PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    char message[160];
    const char *text = primary ? primary : PQerrorMessage(c);
    size_t n = strcspn(text, "\n");
    if (n >= sizeof message) n = sizeof message - 1;
    memcpy(message, text, n);
    message[n] = '\0';
    const char *pos = r ? PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION) : NULL;
    if (pos) {
        ar_error_set(err, AR_ERR_INTERNAL, "%s: %s (SQLSTATE %s, line %d)", context, message, state ? state : "?",
                     line_of_position(sql, strtol(pos, NULL, 10)));
    } else {
        ar_error_set(err, AR_ERR_INTERNAL, "%s: %s (SQLSTATE %s)", context, message, state ? state : "?");
    }
    PQclear(r);
    return NULL;
}

static int run_command(PGconn *c, const char *sql, const char *context, ar_error *err)
{
    PGresult *r = run(c, sql, 0, NULL, context, err);
    PQclear(r);
    return r ? 0 : -1;
}

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *migration_connection(ar_error *err)
{
    if (sodium_init() < 0) {
        ar_error_set(err, AR_ERR_INTERNAL, "libsodium could not be initialised");
        return NULL;
    }
    PGconn *c = ar_db_connect_dedicated(err);
    if (!c) return NULL;
    PQsetNoticeProcessor(c, quiet_notices, NULL);
    return c;
}

/* The rows of schema_migrations (the table must exist). */
static int load_applied(PGconn *c, applied_row **rows, size_t *count, ar_error *err)
{
    *rows = NULL;
    *count = 0;
    PGresult *r = run(c, "SELECT version, name, checksum FROM schema_migrations ORDER BY version", 0, NULL,
                      "reading schema_migrations", err);
    if (!r) return -1;
    int n = PQntuples(r);
    *rows = ar_calloc((size_t)n + 1, sizeof **rows);
    for (int i = 0; i < n; i++) {
        (*rows)[i].version = strtol(PQgetvalue(r, i, 0), NULL, 10);
        (*rows)[i].name = ar_strdup(PQgetvalue(r, i, 1));
        (*rows)[i].checksum = ar_strdup(PQgetvalue(r, i, 2));
    }
    *count = (size_t)n;
    PQclear(r);
    return 0;
}

static void applied_free(applied_row *rows, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        ar_free(rows[i].name);
        ar_free(rows[i].checksum);
    }
    ar_free(rows);
}

static const applied_row *applied_find(const applied_row *rows, size_t count, long version)
{
    for (size_t i = 0; i < count; i++) {
        if (rows[i].version == version) return &rows[i];
    }
    return NULL;
}

static int schema_migrations_exists(PGconn *c, bool *exists, ar_error *err)
{
    PGresult *r = run(c, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL,
                      "looking for schema_migrations", err);
    if (!r) return -1;
    *exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return 0;
}

static int apply_one(PGconn *c, const migration *m, ar_error *err)
{
    char context[300];
    snprintf(context, sizeof context, "migration %s failed", m->file);
    if (run_command(c, "BEGIN", context, err) != 0) return -1;
    if (run_command(c, m->sql, context, err) != 0) {
        PQclear(PQexec(c, "ROLLBACK"));
        return -1;
    }
    char version[24];
    snprintf(version, sizeof version, "%ld", m->version);
    const char *params[] = {version, m->file, m->checksum};
    PGresult *r = run(c, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", 3, params,
                      context, err);
    if (!r) {
        PQclear(PQexec(c, "ROLLBACK"));
        return -1;
    }
    PQclear(r);
    return run_command(c, "COMMIT", context, err);
}

static double elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) * 1e3 + (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

int ar_db_migrate(const char *dir, int verbose, ar_error *err)
{
    int applied;
    return ar_db_migrate_counting(dir, verbose, &applied, err);
}

int ar_db_migrate_counting(const char *dir, int verbose, int *applied, ar_error *err)
{
    *applied = 0;
    migration_set set;
    if (load_migrations(dir, &set, err) != 0) return -1;
    PGconn *c = migration_connection(err);
    if (!c) {
        migration_set_free(&set);
        return -1;
    }
    int rc = -1;
    applied_row *rows = NULL;
    size_t nrows = 0;
    bool locked = false;
    char lock_sql[80];
    snprintf(lock_sql, sizeof lock_sql, "SELECT pg_advisory_lock(%lld)", (long long)AR_DB_MIGRATE_LOCK_KEY);

    if (run_command(c, "SET client_min_messages = warning", "configuring the migration session", err) != 0) goto done;
    if (run_command(c, lock_sql, "taking the migration lock", err) != 0) goto done;
    locked = true;
    if (run_command(c,
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version integer PRIMARY KEY,"
                    " name text NOT NULL,"
                    " checksum text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())",
                    "creating schema_migrations", err) != 0)
        goto done;
    if (load_applied(c, &rows, &nrows, err) != 0) goto done;

    /* Refuse before applying anything when an applied file was edited afterwards. */
    for (size_t i = 0; i < set.count; i++) {
        const applied_row *row = applied_find(rows, nrows, set.items[i].version);
        if (row && strcmp(row->checksum, set.items[i].checksum) != 0) {
            ar_error_set(err, AR_ERR_INTERNAL,
                         "migration %s was changed after it was applied (checksum %.12s in the database, %.12s "
                         "on disk); restore it and add a new migration instead",
                         set.items[i].file, row->checksum, set.items[i].checksum);
            goto done;
        }
    }
    for (size_t i = 0; i < set.count; i++) {
        const migration *m = &set.items[i];
        if (applied_find(rows, nrows, m->version)) continue;
        struct timespec started;
        clock_gettime(CLOCK_MONOTONIC, &started);
        if (apply_one(c, m, err) != 0) goto done;
        (*applied)++;
        double ms = elapsed_ms(&started);
        ar_log_json(AR_LOG_INFO, "migration applied",
                    json_pack("{s:s,s:I}", "file", m->file, "ms", (json_int_t)(ms + 0.5)));
        if (verbose) {
            printf("migrate: applied %s (%.1f ms)\n", m->file, ms);
            fflush(stdout);
        }
    }
    rc = 0;

done:
    if (locked && PQstatus(c) == CONNECTION_OK) {
        char unlock_sql[80];
        snprintf(unlock_sql, sizeof unlock_sql, "SELECT pg_advisory_unlock(%lld)", (long long)AR_DB_MIGRATE_LOCK_KEY);
        PQclear(PQexec(c, unlock_sql));
    }
    PQfinish(c);
    applied_free(rows, nrows);
    migration_set_free(&set);
    return rc;
}

int ar_db_migration_status(const char *dir, FILE *out, ar_error *err)
{
    migration_set set;
    if (load_migrations(dir, &set, err) != 0) return -1;
    PGconn *c = migration_connection(err);
    if (!c) {
        migration_set_free(&set);
        return -1;
    }
    int pending = -1;
    applied_row *rows = NULL;
    size_t nrows = 0;
    bool exists;
    if (schema_migrations_exists(c, &exists, err) != 0) goto done;
    if (exists && load_applied(c, &rows, &nrows, err) != 0) goto done;
    pending = 0;
    for (size_t i = 0; i < set.count; i++) {
        const applied_row *row = applied_find(rows, nrows, set.items[i].version);
        const char *state = "applied";
        if (!row) {
            state = "pending";
            pending++;
        } else if (strcmp(row->checksum, set.items[i].checksum) != 0) {
            state = "changed";
        }
        fprintf(out, "%-8s %s\n", state, set.items[i].file);
    }
done:
    PQfinish(c);
    applied_free(rows, nrows);
    migration_set_free(&set);
    return pending;
}
