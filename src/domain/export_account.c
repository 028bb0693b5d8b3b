/* export_account.c — whole-account exports (see exports.h): the `export.account` job that streams a ZIP of the
 * user's workspace data and evidence files into object storage, the `cleanup.exports` job that deletes expired
 * archives, and the services behind POST /api/exports/ and the download. */
#include "afterresume/domain/exports.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/log.h"
#include "afterresume/core/zip.h"
#include "afterresume/domain/audit.h"
#include "afterresume/jobs/jobs.h"
#include "afterresume/jobs/registry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE_ROWS "200"
#define PAGE_ROWS_N 200
#define COPY_CHUNK (64 * 1024)

/* Optional tables of later releases, exported when they exist (with a tenant_id column) at run time. */
#define OPTIONAL_TABLES(X) X(skills) X(skill_evidence) X(reports) X(share_links)

#define OPT_STMT(t) {"exports_opt_" #t, "SELECT coalesce(jsonb_agg(to_jsonb(x)), '[]'::jsonb)::text FROM " #t \
                                        " x WHERE x.tenant_id = $1"},

static const ar_db_stmt statements[] = {
    {"exports_user",
     "SELECT jsonb_build_object('id', id, 'username', username, 'email', email, 'is_staff', is_staff, "
     "'is_active', is_active, 'personal_tenant_id', personal_tenant_id, 'created_at', created_at, "
     "'last_login_at', last_login_at)::text FROM users WHERE id = $1"},
    {"exports_tenant",
     "SELECT jsonb_build_object('id', t.id, 'name', t.name, 'personal', t.personal, 'created_at', t.created_at, "
     "'your_role', m.role)::text FROM tenants t LEFT JOIN memberships m ON m.tenant_id = t.id AND m.user_id = $2 "
     "WHERE t.id = $1"},
    {"exports_memberships",
     "SELECT coalesce(jsonb_agg(jsonb_build_object('tenant_id', m.tenant_id, 'tenant_name', t.name, 'role', m.role, "
     "'joined_at', m.created_at) ORDER BY m.tenant_id), '[]'::jsonb)::text "
     "FROM memberships m JOIN tenants t ON t.id = m.tenant_id WHERE m.user_id = $1"},
    {"exports_tokens",
     "SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'name', name, 'prefix', prefix, 'scope', scope, "
     "'created_at', created_at, 'expires_at', expires_at, 'last_used_at', last_used_at, 'revoked_at', revoked_at) "
     "ORDER BY id), '[]'::jsonb)::text FROM api_tokens WHERE user_id = $1 AND tenant_id = $2"},
    {"exports_clients",
     "SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.id), '[]'::jsonb)::text FROM clients c WHERE c.tenant_id = $1"},
    {"exports_projects",
     "SELECT coalesce(jsonb_agg(to_jsonb(p) ORDER BY p.id), '[]'::jsonb)::text FROM projects p "
     "WHERE p.tenant_id = $1"},
    {"exports_entries_count", "SELECT count(*) FROM worklog_entries WHERE tenant_id = $1"},
    {"exports_entries_page",
     "SELECT id, (to_jsonb(e) - 'search')::text FROM worklog_entries e WHERE e.tenant_id = $1 AND e.id > $2 "
     "ORDER BY e.id LIMIT " PAGE_ROWS},
    {"exports_table_usable",
     "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 "
     "AND column_name = 'tenant_id'"},
    {"exports_attachments_page",
     "SELECT id, entry_id, storage, object_key, filename, size_bytes, to_jsonb(a)::text FROM attachments a "
     "WHERE a.tenant_id = $1 AND a.id > $2 ORDER BY a.id LIMIT " PAGE_ROWS},
    OPTIONAL_TABLES(OPT_STMT)
    {"exports_expired",
     "SELECT id, result->>'object_key' FROM jobs WHERE type = 'export.account' AND status = 'succeeded' "
     "AND result ? 'object_key' AND NOT result ? 'deleted_at' AND (result->>'expires_at')::timestamptz <= now() "
     "ORDER BY id LIMIT 500"},
    {"exports_mark_deleted",
     "UPDATE jobs SET result = result || jsonb_build_object('deleted_at', "
     "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) WHERE id = $1 AND type = 'export.account'"},
};

static void exports_prepare(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

/* ---- configuration and storage ---- */

static pthread_mutex_t storage_lock = PTHREAD_MUTEX_INITIALIZER;
static ar_storage *storage;
static ar_config own_cfg;
static int own_cfg_loaded;

ar_storage *ar_exports_storage(const ar_config *cfg, ar_error *err)
{
    pthread_mutex_lock(&storage_lock);
    if (!storage) {
        if (!cfg) {
            if (!own_cfg_loaded) {
                const char *gen = getenv("AR_ENV_FILE");
                if (ar_config_load(&own_cfg, ".env", gen && *gen ? gen : "var/afterresumed.env", err) != 0) {
                    ar_config_free(&own_cfg);
                    pthread_mutex_unlock(&storage_lock);
                    return NULL;
                }
                own_cfg_loaded = 1;
            }
            cfg = &own_cfg;
        }
        storage = ar_storage_open(cfg, err);
    }
    ar_storage *st = storage;
    pthread_mutex_unlock(&storage_lock);
    return st;
}

/* ---- small helpers ---- */

static void iso_time(time_t t, char out[32])
{
    struct tm g;
    gmtime_r(&t, &g);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &g);
}

static json_t *parse_json(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v ? v : json_null();
}

/* Drop columns that look like secrets or internals from every object of rows (in place). */
static int secret_key(const char *k)
{
    size_t n = strlen(k);
    return strcmp(k, "search") == 0 || strstr(k, "secret") || strstr(k, "password") ||
           (n >= 5 && strcmp(k + n - 5, "_hash") == 0) || strcmp(k, "token") == 0 || strcmp(k, "key_hash") == 0;
}

static void drop_secrets(json_t *rows)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(row, tmp, k, v) if (secret_key(k)) json_object_del(row, k);
    }
}

/* A single text value of a registered statement (heap) or NULL + err. */
static char *query_text(PGconn *c, const char *stmt, int n, const char *const *params, ar_error *err)
{
    PGresult *r = ar_db_exec(c, stmt, n, params, err);
    if (!r) return NULL;
    char *v = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? ar_strdup(PQgetvalue(r, 0, 0)) : ar_strdup("null");
    PQclear(r);
    return v;
}

/* ---- the export job ---- */

typedef struct evidence_ref {
    long long id, entry_id, size;
    char *storage_name, *object_key, *filename;
} evidence_ref;

typedef struct export_state {
    ar_job_ctx *jc;
    char tenant[24], user[24];
    ar_zip *zip;
    ar_storage *st;
    ar_storage_writer *writer;
    json_t *files;          /* manifest: [{name, size}] */
    json_t *counts;         /* {entries, clients, ...} */
    json_t *missing;        /* evidence that could not be read */
    json_t *tables;         /* optional tables included */
    evidence_ref *evidence;
    size_t nevidence, cap_evidence;
    long long entries_total, entries_done;
    long long last_id;      /* keyset cursor of the current page */
    int page_rows;
    int step_delay_ms;      /* AR_EXPORT_STEP_DELAY_MS: slows each step down (demos, browser tests) */
    time_t now;
} export_state;

static int zip_to_storage(void *arg, const void *data, size_t len, ar_error *err)
{
    export_state *s = arg;
    return ar_storage_put_write(s->writer, data, len, err);
}

static int add_file(export_state *s, const char *name, const char *data, size_t len, ar_error *err)
{
    if (ar_zip_add(s->zip, name, data, len, s->now, err) != 0) return -1;
    json_array_append_new(s->files, json_pack("{s:s,s:I}", "name", name, "size", (json_int_t)len));
    return 0;
}

static int add_json(export_state *s, const char *name, json_t *value, ar_error *err)
{
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    int rc = add_file(s, name, text, strlen(text), err);
    free(text);
    return rc;
}

/* Report progress (and wait the configured step delay). Non-zero: stop (cancelled or no longer ours). */
static int progress(export_state *s, int pct, const char *msg, ar_error *err)
{
    if (s->step_delay_ms > 0) usleep((useconds_t)s->step_delay_ms * 1000);
    if (ar_job_progress(s->jc, pct, msg) != 0) return ar_error_set(err, AR_ERR_CONFLICT, "The export was cancelled."), -1;
    return 0;
}

/* account.json, clients.json, projects.json and the entry count, in one transaction. */
static int account_tx(PGconn *c, void *arg, ar_error *err)
{
    export_state *s = arg;
    const char *ut[2] = {s->user, s->tenant};
    const char *tu[2] = {s->tenant, s->user};
    char *user = query_text(c, "exports_user", 1, ut, err);
    char *tenant = user ? query_text(c, "exports_tenant", 2, tu, err) : NULL;
    char *members = tenant ? query_text(c, "exports_memberships", 1, ut, err) : NULL;
    char *tokens = members ? query_text(c, "exports_tokens", 2, ut, err) : NULL;
    char *clients = tokens ? query_text(c, "exports_clients", 1, tu, err) : NULL;
    char *projects = clients ? query_text(c, "exports_projects", 1, tu, err) : NULL;
    char *count = projects ? query_text(c, "exports_entries_count", 1, tu, err) : NULL;
    int rc = -1;
    if (count) {
        char exported[32];
        iso_time(s->now, exported);
        json_t *account = json_pack("{s:s,s:o,s:o,s:o,s:o}", "exported_at", exported, "user", parse_json(user),
                                    "workspace", parse_json(tenant), "memberships", parse_json(members),
                                    "api_tokens", parse_json(tokens));
        json_t *cl = parse_json(clients), *pr = parse_json(projects);
        json_object_set_new(s->counts, "clients", json_integer((json_int_t)json_array_size(cl)));
        json_object_set_new(s->counts, "projects", json_integer((json_int_t)json_array_size(pr)));
        s->entries_total = atoll(count);
        rc = add_json(s, "account.json", account, err);
        if (rc == 0) rc = add_json(s, "clients.json", cl, err);
        if (rc == 0) rc = add_json(s, "projects.json", pr, err);
        json_decref(account);
        json_decref(cl);
        json_decref(pr);
    }
    free(user), free(tenant), free(members), free(tokens), free(clients), free(projects), free(count);
    return rc;
}

/* One page of entries after s->last_id, appended to the open worklog_entries.json. */
static int entries_page_tx(PGconn *c, void *arg, ar_error *err)
{
    export_state *s = arg;
    char after[24];
    snprintf(after, sizeof after, "%lld", s->last_id);
    const char *params[2] = {s->tenant, after};
    PGresult *r = ar_db_exec(c, "exports_entries_page", 2, params, err);
    if (!r) return -1;
    int n = PQntuples(r), rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const char *sep = s->entries_done == 0 ? "\n" : ",\n";
        rc = ar_zip_write(s->zip, sep, strlen(sep), err);
        const char *row = PQgetvalue(r, i, 1);
        if (rc == 0) rc = ar_zip_write(s->zip, row, strlen(row), err);
        s->entries_done++;
        s->last_id = atoll(PQgetvalue(r, i, 0));
    }
    s->page_rows = n;
    PQclear(r);
    return rc;
}

static int table_usable(PGconn *c, const char *table, ar_error *err)
{
    const char *params[1] = {table};
    PGresult *r = ar_db_exec(c, "exports_table_usable", 1, params, err);
    if (!r) return -1;
    int ok = atoi(PQgetvalue(r, 0, 0)) > 0;
    PQclear(r);
    return ok;
}

/* One page of attachment metadata: appended to the open attachments.json, remembered for the file copy. */
static int attachments_page_tx(PGconn *c, void *arg, ar_error *err)
{
    export_state *s = arg;
    s->page_rows = 0;
    int usable = table_usable(c, "attachments", err);
    if (usable <= 0) return usable;
    char after[24];
    snprintf(after, sizeof after, "%lld", s->last_id);
    const char *params[2] = {s->tenant, after};
    PGresult *r = ar_db_exec(c, "exports_attachments_page", 2, params, err);
    if (!r) return -1;
    int n = PQntuples(r), rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (s->nevidence == s->cap_evidence) {
            s->cap_evidence = s->cap_evidence ? s->cap_evidence * 2 : 64;
            s->evidence = ar_realloc(s->evidence, s->cap_evidence * sizeof *s->evidence);
        }
        evidence_ref *e = &s->evidence[s->nevidence];
        e->id = atoll(PQgetvalue(r, i, 0));
        e->entry_id = atoll(PQgetvalue(r, i, 1));
        e->storage_name = ar_strdup(PQgetvalue(r, i, 2));
        e->object_key = ar_strdup(PQgetvalue(r, i, 3));
        e->filename = ar_strdup(PQgetvalue(r, i, 4));
        e->size = atoll(PQgetvalue(r, i, 5));
        json_t *row = parse_json(PQgetvalue(r, i, 6));
        json_object_del(row, "object_key"); /* where it lies in storage is not the user's business */
        json_object_del(row, "storage");
        char name[64];
        snprintf(name, sizeof name, "evidence/%lld/%lld-", e->entry_id, e->id);
        json_object_set_new(row, "export_path_prefix", json_string(name));
        char *text = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(row);
        const char *sep = s->nevidence == 0 ? "\n" : ",\n";
        rc = ar_zip_write(s->zip, sep, strlen(sep), err);
        if (rc == 0) rc = ar_zip_write(s->zip, text, strlen(text), err);
        free(text);
        s->nevidence++;
        s->last_id = e->id;
    }
    s->page_rows = n;
    PQclear(r);
    return rc;
}

/* Every optional table that exists now, as <table>.json. */
static int optional_tables_tx(PGconn *c, void *arg, ar_error *err)
{
    export_state *s = arg;
    static const struct {
        const char *table, *stmt;
    } opt[] = {
#define OPT_ENTRY(t) {#t, "exports_opt_" #t},
        OPTIONAL_TABLES(OPT_ENTRY)
#undef OPT_ENTRY
    };
    const char *params[1] = {s->tenant};
    for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++) {
        int usable = table_usable(c, opt[i].table, err);
        if (usable < 0) return -1;
        if (!usable) continue;
        char *text = query_text(c, opt[i].stmt, 1, params, err);
        if (!text) return -1;
        json_t *rows = parse_json(text);
        free(text);
        drop_secrets(rows);
        char name[64];
        snprintf(name, sizeof name, "%s.json", opt[i].table);
        json_object_set_new(s->counts, opt[i].table, json_integer((json_int_t)json_array_size(rows)));
        json_array_append_new(s->tables, json_string(opt[i].table));
        int rc = add_json(s, name, rows, err);
        json_decref(rows);
        if (rc != 0) return -1;
    }
    return 0;
}

/* A filename safe inside the archive: no separators or control characters, no leading dots, at most
 * 150 bytes (cut on a UTF-8 character boundary). */
static void safe_filename(const char *in, char *out, size_t size)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 1 < size && o < 150; p++) {
        unsigned char ch = *p;
        if (ch < 0x20 || ch == 0x7F || ch == '/' || ch == '\\' || ch == ':') ch = '_';
        if (o == 0 && ch == '.') ch = '_';
        out[o++] = (char)ch;
    }
    while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0x80) o--; /* drop a cut multi-byte tail */
    if (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0xC0) o--;
    out[o] = '\0';
    if (o == 0) snprintf(out, size, "file");
}

/* Copy one evidence object into the archive. 1 = missing (recorded, not fatal), 0 = copied, -1 = failure. */
static int copy_evidence(export_state *s, const evidence_ref *e, unsigned char *buf, ar_error *err)
{
    char safe[160], name[256];
    safe_filename(e->filename, safe, sizeof safe);
    snprintf(name, sizeof name, "evidence/%lld/%lld-%s", e->entry_id, e->id, safe);
    if (!ar_zip_name_valid(name)) snprintf(name, sizeof name, "evidence/%lld/%lld.bin", e->entry_id, e->id);
    ar_error get_err = {0};
    ar_storage_reader *rd = strcmp(e->storage_name, ar_storage_backend_name(s->st)) == 0
                                ? ar_storage_get(s->st, e->object_key, &get_err)
                                : NULL;
    if (!rd) {
        if (get_err.code && get_err.code != AR_ERR_NOT_FOUND) { /* storage trouble: fail, the job retries */
            ar_error_set(err, get_err.code, "Evidence file %lld could not be read: %s", e->id, get_err.message);
            ar_error_clear(&get_err);
            return -1;
        }
        json_array_append_new(s->missing, json_pack("{s:I,s:s,s:s}", "attachment_id", (json_int_t)e->id, "filename",
                                                    e->filename, "reason",
                                                    get_err.code ? "not in storage" : "kept by another storage backend"));
        ar_error_clear(&get_err);
        return 1;
    }
    int rc = ar_zip_begin(s->zip, name, s->now, AR_ZIP_DEFLATE, err);
    long long copied = 0;
    while (rc == 0) {
        ssize_t n = ar_storage_read(rd, buf, COPY_CHUNK, err);
        if (n < 0) rc = -1;
        if (n <= 0) break;
        rc = ar_zip_write(s->zip, buf, (size_t)n, err);
        copied += n;
    }
    ar_storage_reader_close(rd);
    if (rc == 0) rc = ar_zip_end(s->zip, err);
    if (rc == 0) json_array_append_new(s->files, json_pack("{s:s,s:I}", "name", name, "size", (json_int_t)copied));
    return rc;
}

static void state_free(export_state *s)
{
    for (size_t i = 0; i < s->nevidence; i++) {
        free(s->evidence[i].storage_name);
        free(s->evidence[i].object_key);
        free(s->evidence[i].filename);
    }
    free(s->evidence);
    json_decref(s->files);
    json_decref(s->counts);
    json_decref(s->missing);
    json_decref(s->tables);
    ar_zip_abort(s->zip);
    if (s->writer) ar_storage_put_abort(s->writer);
}

/* The body of the job after the archive is open; on failure the caller aborts the writer. */
static int export_run(export_state *s, ar_error *err)
{
    const ar_ctx *ctx = s->jc->ctx;
    if (progress(s, 2, "Collecting your account", err) != 0) return -1;
    if (ar_ctx_tx(ctx, account_tx, s, err) != 0) return -1;
    if (progress(s, 10, "Account, clients and projects collected", err) != 0) return -1;

    /* worklog entries, one page per transaction */
    if (ar_zip_begin(s->zip, "worklog_entries.json", s->now, AR_ZIP_DEFLATE, err) != 0 ||
        ar_zip_write(s->zip, "[", 1, err) != 0)
        return -1;
    s->last_id = 0;
    do {
        if (ar_ctx_tx(ctx, entries_page_tx, s, err) != 0) return -1;
        int pct = 10 + (int)(s->entries_total > 0 ? 40 * s->entries_done / s->entries_total : 40);
        char msg[96];
        snprintf(msg, sizeof msg, "Worklog entries: %lld of %lld", s->entries_done, s->entries_total);
        if (progress(s, pct > 50 ? 50 : pct, msg, err) != 0) return -1;
    } while (s->page_rows == PAGE_ROWS_N);
    if (ar_zip_write(s->zip, "\n]\n", 3, err) != 0 || ar_zip_end(s->zip, err) != 0) return -1;
    json_array_append_new(s->files, json_pack("{s:s,s:n}", "name", "worklog_entries.json", "size"));
    json_object_set_new(s->counts, "worklog_entries", json_integer(s->entries_done));

    /* evidence metadata, then the files */
    if (ar_zip_begin(s->zip, "attachments.json", s->now, AR_ZIP_DEFLATE, err) != 0 ||
        ar_zip_write(s->zip, "[", 1, err) != 0)
        return -1;
    s->last_id = 0;
    do {
        if (ar_ctx_tx(ctx, attachments_page_tx, s, err) != 0) return -1;
    } while (s->page_rows == PAGE_ROWS_N);
    if (ar_zip_write(s->zip, "\n]\n", 3, err) != 0 || ar_zip_end(s->zip, err) != 0) return -1;
    json_array_append_new(s->files, json_pack("{s:s,s:n}", "name", "attachments.json", "size"));
    json_object_set_new(s->counts, "attachments", json_integer((json_int_t)s->nevidence));
    if (progress(s, 55, "Worklog collected; copying evidence files", err) != 0) return -1;

    unsigned char *buf = ar_malloc(COPY_CHUNK);
    long long copied = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->nevidence; i++) {
        int r = copy_evidence(s, &s->evidence[i], buf, err);
        if (r < 0) rc = -1;
        if (r == 0) copied++;
        if (rc == 0 && (i + 1 == s->nevidence || i % 10 == 9)) {
            char msg[96];
            snprintf(msg, sizeof msg, "Evidence files: %zu of %zu", i + 1, s->nevidence);
            rc = progress(s, 55 + (int)(35 * (i + 1) / s->nevidence), msg, err);
        }
    }
    free(buf);
    if (rc != 0) return -1;
    json_object_set_new(s->counts, "evidence_files", json_integer(copied));

    if (ar_ctx_tx(ctx, optional_tables_tx, s, err) != 0) return -1;
    if (progress(s, 95, "Finishing the archive", err) != 0) return -1;

    char exported[32];
    iso_time(s->now, exported);
    json_t *manifest = json_pack("{s:s,s:i,s:s,s:I,s:I,s:O,s:O,s:O,s:O}", "format", "afterresume-account-export",
                                 "version", 1, "exported_at", exported, "workspace_id", (json_int_t)s->jc->tenant_id,
                                 "user_id", (json_int_t)s->jc->user_id, "counts", s->counts, "optional_tables",
                                 s->tables, "missing_evidence", s->missing, "files", s->files);
    rc = add_json(s, "manifest.json", manifest, err);
    json_decref(manifest);
    return rc;
}

static int export_account_handler(ar_job_ctx *jc, json_t *payload, json_t **result, ar_error *err)
{
    (void)payload;
    if (jc->tenant_id <= 0 || jc->user_id <= 0)
        return ar_error_set(err, AR_ERR_VALIDATION, "An account export needs a user and a workspace."), -1;
    export_state s;
    memset(&s, 0, sizeof s);
    s.jc = jc;
    s.now = time(NULL);
    snprintf(s.tenant, sizeof s.tenant, "%lld", jc->tenant_id);
    snprintf(s.user, sizeof s.user, "%lld", jc->user_id);
    const char *delay = getenv("AR_EXPORT_STEP_DELAY_MS");
    s.step_delay_ms = delay ? atoi(delay) : 0;
    if (s.step_delay_ms < 0 || s.step_delay_ms > 5000) s.step_delay_ms = 0;
    s.files = json_array();
    s.counts = json_object();
    s.missing = json_array();
    s.tables = json_array();

    s.st = ar_exports_storage(NULL, err);
    if (!s.st) {
        state_free(&s);
        return -1;
    }
    char *key = ar_storage_new_key(jc->tenant_id, "exp");
    s.writer = ar_storage_put_begin(s.st, key, "application/zip", err);
    if (!s.writer) {
        free(key);
        state_free(&s);
        return -1;
    }
    s.zip = ar_zip_new_sink(zip_to_storage, &s);
    if (export_run(&s, err) != 0) {
        json_t *data = json_pack("{s:s}", "error", err->message);
        ar_job_event(jc, "warn", "export stopped", data); /* data is borrowed */
        json_decref(data);
        free(key);
        state_free(&s);
        return -1;
    }
    uint64_t total = 0;
    size_t nfiles = json_array_size(s.files);
    ar_zip *zip = s.zip;
    s.zip = NULL;
    if (ar_zip_close(zip, &total, err) != 0) { /* the central directory still goes through s.writer */
        free(key);
        state_free(&s);
        return -1;
    }
    ar_storage_object obj = {0};
    ar_storage_writer *w = s.writer;
    s.writer = NULL;
    if (ar_storage_put_commit(w, &obj, err) != 0) {
        free(key);
        state_free(&s);
        return -1;
    }
    char expires[32], filename[128], day[16];
    iso_time(s.now + (time_t)AR_EXPORT_TTL_DAYS * 86400, expires);
    struct tm g;
    gmtime_r(&s.now, &g);
    strftime(day, sizeof day, "%Y%m%d", &g);
    snprintf(filename, sizeof filename, "afterresume-export-%lld-%s-%lld.zip", jc->tenant_id, day, jc->job_id);
    *result = json_pack("{s:s,s:I,s:s,s:s,s:I,s:s,s:O}", "object_key", key, "size_bytes", (json_int_t)obj.size, "sha256",
                        obj.sha256, "expires_at", expires, "files", (json_int_t)nfiles, "filename", filename, "counts",
                        s.counts);
    json_t *written = json_pack("{s:I,s:I,s:s}", "size_bytes", (json_int_t)obj.size, "files", (json_int_t)nfiles,
                                "expires_at", expires);
    ar_job_event(jc, "info", "export written", written);
    json_decref(written);
    ar_job_progress(jc, 100, "Export ready");
    free(key);
    state_free(&s);
    return 0;
}

const ar_job_type ar_job_export_account = {AR_EXPORT_JOB_TYPE, export_account_handler, 2, exports_prepare};

/* ---- cleanup of expired exports ---- */

typedef struct expired_args {
    json_t *rows; /* [[id, key]] */
} expired_args;

static int expired_tx(PGconn *c, void *arg, ar_error *err)
{
    expired_args *a = arg;
    PGresult *r = ar_db_exec(c, "exports_expired", 0, NULL, err);
    if (!r) return -1;
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(a->rows, json_pack("[I,s]", (json_int_t)atoll(PQgetvalue(r, i, 0)), PQgetvalue(r, i, 1)));
    PQclear(r);
    return 0;
}

static int mark_deleted_tx(PGconn *c, void *arg, ar_error *err)
{
    const char *params[1] = {arg};
    PGresult *r = ar_db_exec(c, "exports_mark_deleted", 1, params, err);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

static int cleanup_exports_handler(ar_job_ctx *jc, json_t *payload, json_t **result, ar_error *err)
{
    (void)payload;
    ar_storage *st = ar_exports_storage(NULL, err);
    if (!st) return -1;
    ar_ctx sys = ar_ctx_system(jc->ctx);
    long long deleted = 0, failed = 0;
    for (int round = 0; round < 20; round++) { /* at most 10,000 per run */
        expired_args a = {json_array()};
        if (ar_ctx_tx(&sys, expired_tx, &a, err) != 0) {
            json_decref(a.rows);
            return -1;
        }
        size_t n = json_array_size(a.rows);
        size_t i;
        json_t *row;
        long long before = deleted;
        json_array_foreach(a.rows, i, row)
        {
            char id[24];
            snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_array_get(row, 0)));
            ar_error e = {0};
            const char *key = json_string_value(json_array_get(row, 1));
            if (ar_storage_delete(st, key, &e) == 0 && ar_ctx_tx(&sys, mark_deleted_tx, id, &e) == 0) {
                deleted++;
            } else {
                failed++;
                ar_log_json(AR_LOG_WARN, "expired export not deleted",
                            json_pack("{s:s,s:s}", "job_id", id, "error", e.message));
            }
            ar_error_clear(&e);
        }
        json_decref(a.rows);
        if (n < 500 || deleted == before) break;
        if (ar_job_progress(jc, 5 * (round + 1), "Deleting expired exports") != 0) break;
    }
    *result = json_pack("{s:I,s:I}", "deleted", (json_int_t)deleted, "failed", (json_int_t)failed);
    if (failed > 0 && deleted == 0) return ar_error_set(err, AR_ERR_UNAVAILABLE, "No expired export could be deleted."), -1;
    return 0;
}

const ar_job_type ar_job_cleanup_exports = {"cleanup.exports", cleanup_exports_handler, 3, exports_prepare};

/* ---- services ---- */

int ar_export_start(const ar_ctx *ctx, long long *job_id, int *retry_after_s, ar_error *err)
{
    *job_id = 0;
    if (retry_after_s) *retry_after_s = 0;
    if (ctx->user_id <= 0 || ctx->tenant_id <= 0) return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), -1;
    char key[64];
    snprintf(key, sizeof key, "export:u%lld:m%lld", ctx->user_id, (long long)(time(NULL) / 60));
    ar_job_enqueue_opts opts = {key, 0, 1, 0};
    int rc = ar_job_enqueue_ex(ctx, AR_EXPORT_JOB_TYPE, NULL, &opts, job_id, err);
    if (rc != 0 && retry_after_s) *retry_after_s = opts.retry_after_s;
    if (rc == 0) {
        char target[24];
        snprintf(target, sizeof target, "%lld", *job_id);
        ar_audit_event ev = {0};
        ev.action = "export.requested";
        ev.target_type = "job";
        ev.target_id = target;
        ev.success = 1;
        ar_audit_record(ctx, &ev);
    }
    return rc;
}

int ar_export_downloadable(const json_t *job, const char **expires_at)
{
    const char *type = json_string_value(json_object_get(job, "type"));
    const char *status = json_string_value(json_object_get(job, "status"));
    json_t *result = json_object_get(job, "result");
    const char *exp = json_string_value(json_object_get(result, "expires_at"));
    if (!type || strcmp(type, AR_EXPORT_JOB_TYPE) != 0 || !status || strcmp(status, "succeeded") != 0 || !exp ||
        !json_is_string(json_object_get(result, "object_key")) || json_object_get(result, "deleted_at"))
        return 0;
    char now[32];
    iso_time(time(NULL), now);
    if (strcmp(exp, now) <= 0) return 0;
    if (expires_at) *expires_at = exp;
    return 1;
}

static void audit_download(const ar_ctx *ctx, long long job_id, int success, const char *reason)
{
    char target[24];
    snprintf(target, sizeof target, "%lld", job_id);
    ar_audit_event ev = {0};
    ev.action = "export.downloaded";
    ev.target_type = "job";
    ev.target_id = target;
    ev.success = success;
    ev.reason = reason;
    ar_audit_record(ctx, &ev);
}

int ar_export_open(const ar_ctx *ctx, const ar_config *cfg, long long job_id, ar_export_download *d, ar_error *err)
{
    memset(d, 0, sizeof *d);
    if (ctx->user_id <= 0 || ctx->tenant_id <= 0) return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), -1;
    /* the jobs service already limits members to their own jobs and tenants to theirs; staff are held to
     * their current workspace here too */
    json_t *job = ar_job_get(ctx, job_id, err);
    if (!job) return -1;
    const char *type = json_string_value(json_object_get(job, "type"));
    const char *status = json_string_value(json_object_get(job, "status"));
    long long tenant = json_integer_value(json_object_get(job, "tenant_id"));
    long long owner = json_integer_value(json_object_get(job, "user_id"));
    int rc = -1;
    if (tenant != ctx->tenant_id || !type || strcmp(type, AR_EXPORT_JOB_TYPE) != 0 ||
        (owner != ctx->user_id && ctx->role < AR_ROLE_ADMIN)) {
        ar_error_set(err, AR_ERR_NOT_FOUND, "No such export.");
    } else if (!status || strcmp(status, "succeeded") != 0) {
        ar_error_set(err, AR_ERR_CONFLICT, strcmp(status ? status : "", "queued") == 0 || strcmp(status ? status : "", "running") == 0
                                               ? "The export is not finished yet."
                                               : "The export did not complete; start a new one.");
    } else if (!ar_export_downloadable(job, NULL)) {
        audit_download(ctx, job_id, 0, "expired");
        rc = 1;
    } else {
        json_t *result = json_object_get(job, "result");
        ar_storage *st = ar_exports_storage(cfg, err);
        d->reader = st ? ar_storage_get(st, json_string_value(json_object_get(result, "object_key")), err) : NULL;
        if (!d->reader && err->code == AR_ERR_NOT_FOUND) { /* deleted under us: as good as expired */
            ar_error_clear(err);
            audit_download(ctx, job_id, 0, "missing");
            rc = 1;
        } else if (d->reader) {
            d->size = ar_storage_reader_size(d->reader);
            snprintf(d->filename, sizeof d->filename, "%s",
                     json_string_value(json_object_get(result, "filename")) ? json_string_value(json_object_get(result, "filename"))
                                                                           : "afterresume-export.zip");
            snprintf(d->sha256, sizeof d->sha256, "%s",
                     json_string_value(json_object_get(result, "sha256")) ? json_string_value(json_object_get(result, "sha256")) : "");
            audit_download(ctx, job_id, 1, NULL);
            rc = 0;
        }
    }
    json_decref(job);
    return rc;
}
