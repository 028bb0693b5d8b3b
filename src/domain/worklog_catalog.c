/* worklog_catalog.c — the tenant's clients and projects for the worklog (see worklog.h): list, create, read,
 * full and partial update, delete, and find-or-create by name for imports. */
#include "afterresume/core/alloc.h"
#include "afterresume/domain/registry.h"
#include "afterresume/domain/worklog.h"
#include "afterresume/domain/worklog_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define CLIENT_COLS                                                                                                  \
    "c.id, c.name::text, c.description, c.is_active, "                                                             \
    "(SELECT count(*) FROM projects p WHERE p.tenant_id = c.tenant_id AND p.client_id = c.id), " TS("c.created_at") \
    ", " TS("c.updated_at")
#define PROJECT_COLS                                                                                                 \
    "p.id, p.client_id, c.name::text, p.name::text, p.description, p.is_active, p.role, p.start_date::text, "      \
    "p.end_date::text, " TS("p.created_at") ", " TS("p.updated_at")
#define PROJECT_FROM " FROM projects p LEFT JOIN clients c ON c.tenant_id = p.tenant_id AND c.id = p.client_id "

static const ar_db_stmt statements[] = {
    {"worklog_clients_list",
     "SELECT " CLIENT_COLS " FROM clients c WHERE c.tenant_id = $1 "
     "AND ($2::text IS NULL OR strpos(lower(c.name::text), lower($2)) > 0 OR strpos(lower(c.description), lower($2)) > 0) "
     "AND ($3::int < 0 OR c.is_active = ($3::int = 1)) ORDER BY c.is_active DESC, c.name, c.id LIMIT 1000"},
    {"worklog_client_get", "SELECT " CLIENT_COLS " FROM clients c WHERE c.tenant_id = $1 AND c.id = $2"},
    {"worklog_client_insert",
     "INSERT INTO clients (tenant_id, name, description, is_active) VALUES ($1, $2, $3, $4::bool) RETURNING id"},
    {"worklog_client_update",
     "UPDATE clients SET name = $3, description = $4, is_active = $5::bool, updated_at = now() "
     "WHERE tenant_id = $1 AND id = $2"},
    {"worklog_client_delete", "DELETE FROM clients WHERE tenant_id = $1 AND id = $2"},
    {"worklog_client_find_or_create",
     "WITH ins AS (INSERT INTO clients (tenant_id, name) VALUES ($1, $2) ON CONFLICT (tenant_id, name) DO NOTHING "
     "RETURNING id) SELECT id FROM ins UNION ALL SELECT id FROM clients WHERE tenant_id = $1 AND name = $2::citext"},
    {"worklog_client_exists", "SELECT true FROM clients WHERE tenant_id = $1 AND id = $2"},
    {"worklog_projects_list",
     "SELECT " PROJECT_COLS PROJECT_FROM "WHERE p.tenant_id = $1 AND ($2::bigint IS NULL OR p.client_id = $2::bigint) "
     "AND ($3::text IS NULL OR strpos(lower(p.name::text), lower($3)) > 0 OR strpos(lower(p.description), lower($3)) > 0 "
     "OR strpos(lower(p.role), lower($3)) > 0) "
     "AND ($4::int < 0 OR p.is_active = ($4::int = 1)) ORDER BY p.is_active DESC, p.name, p.id LIMIT 1000"},
    {"worklog_project_get", "SELECT " PROJECT_COLS PROJECT_FROM "WHERE p.tenant_id = $1 AND p.id = $2"},
    {"worklog_project_insert",
     "INSERT INTO projects (tenant_id, client_id, name, description, role, start_date, end_date, is_active) "
     "VALUES ($1, $2::bigint, $3, $4, $5, $6::date, $7::date, $8::bool) RETURNING id"},
    {"worklog_project_update",
     "UPDATE projects SET client_id = $3::bigint, name = $4, description = $5, role = $6, start_date = $7::date, "
     "end_date = $8::date, is_active = $9::bool, updated_at = now() WHERE tenant_id = $1 AND id = $2"},
    {"worklog_project_delete", "DELETE FROM projects WHERE tenant_id = $1 AND id = $2"},
    {"worklog_project_find_or_create",
     "WITH ins AS (INSERT INTO projects (tenant_id, name, client_id) VALUES ($1, $2, $3::bigint) "
     "ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id) "
     "SELECT id FROM ins UNION ALL SELECT id FROM projects WHERE tenant_id = $1 AND name = $2::citext"},
};

void ar_worklog_catalog_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

static json_t *col_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

static json_t *col_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_integer(atoll(PQgetvalue(r, row, col)));
}

static json_t *row_to_client(const PGresult *r, int i)
{
    return json_pack("{s:o,s:o,s:o,s:b,s:o,s:o,s:o}", "id", col_int(r, i, 0), "name", col_text(r, i, 1), "description",
                     col_text(r, i, 2), "is_active", PQgetvalue(r, i, 3)[0] == 't', "project_count", col_int(r, i, 4),
                     "created_at", col_text(r, i, 5), "updated_at", col_text(r, i, 6));
}

static json_t *row_to_project(const PGresult *r, int i)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", col_int(r, i, 0), "client",
                     col_int(r, i, 1), "client_name", col_text(r, i, 2), "name", col_text(r, i, 3), "description",
                     col_text(r, i, 4), "is_active", PQgetvalue(r, i, 5)[0] == 't', "role", col_text(r, i, 6),
                     "start_date", col_text(r, i, 7), "end_date", col_text(r, i, 8), "started_on", col_text(r, i, 7),
                     "ended_on", col_text(r, i, 8), "created_at", col_text(r, i, 9), "updated_at", col_text(r, i, 10));
}

/* ---- input --------------------------------------------------------------------------------------------- */

static int blank(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

/* A name: trimmed, 1..200 characters of text. Returns a heap copy or NULL with a field error. */
static char *clean_name(const char *s, size_t len, const char *field, ar_error *err)
{
    while (len && (*s == ' ' || *s == '\t')) s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
    if (len == 0) {
        ar_error_field(err, field, "This field is required.");
        return NULL;
    }
    if (!ar_worklog_text_ok(s, len, 0) || memchr(s, '\0', len)) {
        ar_error_field(err, field, "Contains characters that are not allowed.");
        return NULL;
    }
    if (ar_worklog_char_count(s, len) > 200) {
        ar_error_field(err, field, "Ensure this field has no more than 200 characters.");
        return NULL;
    }
    return ar_strndup(s, len);
}

static void name_field(const json_t *in, json_t *out, int partial, ar_error *err)
{
    json_t *v = json_object_get(in, "name");
    if (!v && partial) return;
    if (blank(v)) {
        ar_error_field(err, "name", "This field is required.");
        return;
    }
    if (!json_is_string(v)) {
        ar_error_field(err, "name", "Not a valid string.");
        return;
    }
    char *name = clean_name(json_string_value(v), json_string_length(v), "name", err);
    if (name) json_object_set_new(out, "name", json_string(name));
    free(name);
}

static void text_field(const json_t *in, json_t *out, const char *name, size_t max, int partial, ar_error *err)
{
    json_t *v = json_object_get(in, name);
    if (!v && partial) return;
    if (blank(v)) {
        json_object_set_new(out, name, json_string(""));
        return;
    }
    if (!json_is_string(v)) {
        ar_error_field(err, name, "Not a valid string.");
        return;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (strlen(s) != len || !ar_worklog_text_ok(s, len, 1)) {
        ar_error_field(err, name, "Contains characters that are not allowed.");
        return;
    }
    if (ar_worklog_char_count(s, len) > max) {
        char msg[96];
        snprintf(msg, sizeof msg, "Ensure this field has no more than %zu characters.", max);
        ar_error_field(err, name, msg);
        return;
    }
    json_object_set_new(out, name, json_string(s));
}

static void bool_field(const json_t *in, json_t *out, const char *name, int def, int partial, ar_error *err)
{
    json_t *v = json_object_get(in, name);
    if (!v && partial) return;
    if (blank(v)) {
        json_object_set_new(out, name, json_boolean(def));
        return;
    }
    if (json_is_boolean(v)) {
        json_object_set_new(out, name, json_boolean(json_is_true(v)));
        return;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        json_object_set_new(out, name, json_boolean(json_integer_value(v) == 1));
        return;
    }
    static const char *const yes[] = {"true", "on", "1", "yes"}, *const no[] = {"false", "off", "0", "no"};
    const char *s = json_string_value(v);
    for (int i = 0; s && i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) return (void)json_object_set_new(out, name, json_true());
        if (strcasecmp(s, no[i]) == 0) return (void)json_object_set_new(out, name, json_false());
    }
    ar_error_field(err, name, "Must be a valid boolean.");
}

/* A date field, also accepted under an alias (the original's started_on / ended_on). */
static void date_field(const json_t *in, json_t *out, const char *name, const char *alias, int partial, ar_error *err)
{
    json_t *v = json_object_get(in, name);
    if (!v) v = json_object_get(in, alias);
    if (!v && partial) return;
    if (blank(v)) {
        json_object_set_new(out, name, json_null());
        return;
    }
    if (!json_is_string(v) || !ar_worklog_date_ok(json_string_value(v))) {
        ar_error_field(err, name, "Enter a valid date (YYYY-MM-DD).");
        return;
    }
    json_object_set_new(out, name, json_string(json_string_value(v)));
}

static void id_field(const json_t *in, json_t *out, const char *name, int partial, ar_error *err)
{
    json_t *v = json_object_get(in, name);
    if (!v && partial) return;
    long long n;
    if (blank(v))
        json_object_set_new(out, name, json_null());
    else if (ar_worklog_json_int(v, &n) != 0 || n <= 0)
        ar_error_field(err, name, "Select a valid client.");
    else
        json_object_set_new(out, name, json_integer(n));
}

static json_t *validate_client(const json_t *in, int partial, ar_error *err)
{
    if (!json_is_object(in)) return ar_error_set(err, AR_ERR_INVALID_JSON, "Send the client as a JSON object."), NULL;
    json_t *out = json_object();
    name_field(in, out, partial, err);
    text_field(in, out, "description", 5000, partial, err);
    bool_field(in, out, "is_active", 1, partial, err);
    if (err->fields) {
        json_decref(out);
        return ar_error_set(err, AR_ERR_VALIDATION, "The client was not saved: check the fields."), NULL;
    }
    return out;
}

static json_t *validate_project(const json_t *in, int partial, ar_error *err)
{
    if (!json_is_object(in)) return ar_error_set(err, AR_ERR_INVALID_JSON, "Send the project as a JSON object."), NULL;
    json_t *out = json_object();
    name_field(in, out, partial, err);
    id_field(in, out, "client", partial, err);
    text_field(in, out, "description", 5000, partial, err);
    text_field(in, out, "role", 200, partial, err);
    date_field(in, out, "start_date", "started_on", partial, err);
    date_field(in, out, "end_date", "ended_on", partial, err);
    bool_field(in, out, "is_active", 1, partial, err);
    if (err->fields) {
        json_decref(out);
        return ar_error_set(err, AR_ERR_VALIDATION, "The project was not saved: check the fields."), NULL;
    }
    return out;
}

/* ---- shared transaction plumbing ----------------------------------------------------------------------- */

typedef enum op { OP_LIST, OP_CREATE, OP_GET, OP_UPDATE, OP_DELETE } op;

typedef struct catalog_args {
    const ar_ctx *ctx;
    op op;
    long long id;
    const json_t *body; /* validated input for create; raw body for update */
    int partial;
    long long client_filter;
    const char *search;
    int active;
    json_t *out;
} catalog_args;

static json_t *get_one(PGconn *c, const char *stmt, const char *tenant, long long id, int project, const char *what,
                       ar_error *err)
{
    char idb[24];
    snprintf(idb, sizeof idb, "%lld", id);
    const char *params[2] = {tenant, idb};
    PGresult *r = ar_db_exec(c, stmt, 2, params, err);
    if (!r) return NULL;
    json_t *o = NULL;
    if (PQntuples(r) == 1)
        o = project ? row_to_project(r, 0) : row_to_client(r, 0);
    else
        ar_error_set(err, AR_ERR_NOT_FOUND, "No such %s.", what);
    PQclear(r);
    return o;
}

static void name_conflict(ar_error *err, const char *what)
{
    if (err->code != AR_ERR_CONFLICT) return;
    char msg[96];
    snprintf(msg, sizeof msg, "A %s with this name already exists.", what);
    ar_error_clear(err);
    ar_error_field(err, "name", msg);
    ar_error_set(err, AR_ERR_VALIDATION, "The %s was not saved: check the fields.", what);
}

static int client_tx(PGconn *c, void *arg, ar_error *err)
{
    catalog_args *a = arg;
    char tenant[24], idb[24];
    snprintf(tenant, sizeof tenant, "%lld", a->ctx->tenant_id);
    snprintf(idb, sizeof idb, "%lld", a->id);
    PGresult *r;
    switch (a->op) {
    case OP_LIST: {
        char active[8];
        snprintf(active, sizeof active, "%d", a->active);
        const char *params[3] = {tenant, a->search && *a->search ? a->search : NULL, active};
        if (!(r = ar_db_exec(c, "worklog_clients_list", 3, params, err))) return -1;
        json_t *rows = json_array();
        for (int i = 0; i < PQntuples(r); i++) json_array_append_new(rows, row_to_client(r, i));
        PQclear(r);
        a->out = json_pack("{s:o}", "results", rows);
        return 0;
    }
    case OP_GET:
        a->out = get_one(c, "worklog_client_get", tenant, a->id, 0, "client", err);
        return a->out ? 0 : -1;
    case OP_CREATE: {
        const json_t *b = a->body;
        const char *params[4] = {tenant, json_string_value(json_object_get(b, "name")),
                                 json_string_value(json_object_get(b, "description")),
                                 json_is_true(json_object_get(b, "is_active")) ? "true" : "false"};
        if (!(r = ar_db_exec(c, "worklog_client_insert", 4, params, err))) return name_conflict(err, "client"), -1;
        long long id = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
        a->out = get_one(c, "worklog_client_get", tenant, id, 0, "client", err);
        return a->out ? 0 : -1;
    }
    case OP_UPDATE: {
        json_t *cur = get_one(c, "worklog_client_get", tenant, a->id, 0, "client", err);
        if (!cur) return -1;
        json_t *in = validate_client(a->body, a->partial, err);
        if (!in) return json_decref(cur), -1;
        json_object_update(cur, in);
        json_decref(in);
        const char *params[5] = {tenant, idb, json_string_value(json_object_get(cur, "name")),
                                 json_string_value(json_object_get(cur, "description")),
                                 json_is_true(json_object_get(cur, "is_active")) ? "true" : "false"};
        r = ar_db_exec(c, "worklog_client_update", 5, params, err);
        json_decref(cur);
        if (!r) return name_conflict(err, "client"), -1;
        PQclear(r);
        a->out = get_one(c, "worklog_client_get", tenant, a->id, 0, "client", err);
        return a->out ? 0 : -1;
    }
    case OP_DELETE: {
        const char *params[2] = {tenant, idb};
        if (!(r = ar_db_exec(c, "worklog_client_delete", 2, params, err))) return -1;
        int n = atoi(PQcmdTuples(r));
        PQclear(r);
        if (!n) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such client."), -1;
        return 0;
    }
    }
    return -1;
}

/* Does the tenant own client id? 0 yes, -1 with a field error (validation) or a database error. */
static int check_client(PGconn *c, const char *tenant, const json_t *client, ar_error *err)
{
    if (!json_is_integer(client)) return 0;
    char idb[24];
    snprintf(idb, sizeof idb, "%lld", (long long)json_integer_value(client));
    const char *params[2] = {tenant, idb};
    PGresult *r = ar_db_exec(c, "worklog_client_exists", 2, params, err);
    if (!r) return -1;
    int ok = PQntuples(r) == 1;
    PQclear(r);
    if (ok) return 0;
    ar_error_field(err, "client", "Select a valid client.");
    return ar_error_set(err, AR_ERR_VALIDATION, "The project was not saved: check the fields."), -1;
}

static int check_dates(const json_t *p, ar_error *err)
{
    const char *s = json_string_value(json_object_get(p, "start_date"));
    const char *e = json_string_value(json_object_get(p, "end_date"));
    if (s && e && strcmp(e, s) < 0) {
        ar_error_field(err, "end_date", "End date must be on or after the start date.");
        return ar_error_set(err, AR_ERR_VALIDATION, "The project was not saved: check the fields."), -1;
    }
    return 0;
}

static int project_write(PGconn *c, const char *tenant, const char *idb, const json_t *p, long long *new_id,
                         ar_error *err)
{
    if (check_dates(p, err) != 0 || check_client(c, tenant, json_object_get(p, "client"), err) != 0) return -1;
    char client[24];
    const char *client_param = NULL;
    if (json_is_integer(json_object_get(p, "client")))
        client_param = ar_worklog_id_param((long long)json_integer_value(json_object_get(p, "client")), client);
    const char *name = json_string_value(json_object_get(p, "name"));
    const char *desc = json_string_value(json_object_get(p, "description"));
    const char *role = json_string_value(json_object_get(p, "role"));
    const char *start = json_string_value(json_object_get(p, "start_date"));
    const char *end = json_string_value(json_object_get(p, "end_date"));
    const char *active = json_is_true(json_object_get(p, "is_active")) ? "true" : "false";
    PGresult *r;
    if (!idb) {
        const char *params[8] = {tenant, client_param, name, desc, role, start, end, active};
        r = ar_db_exec(c, "worklog_project_insert", 8, params, err);
        if (r) *new_id = atoll(PQgetvalue(r, 0, 0));
    } else {
        const char *params[9] = {tenant, idb, client_param, name, desc, role, start, end, active};
        r = ar_db_exec(c, "worklog_project_update", 9, params, err);
    }
    if (!r) return name_conflict(err, "project"), -1;
    PQclear(r);
    return 0;
}

static int project_tx(PGconn *c, void *arg, ar_error *err)
{
    catalog_args *a = arg;
    char tenant[24], idb[24], client[24];
    snprintf(tenant, sizeof tenant, "%lld", a->ctx->tenant_id);
    snprintf(idb, sizeof idb, "%lld", a->id);
    PGresult *r;
    switch (a->op) {
    case OP_LIST: {
        char active[8];
        snprintf(active, sizeof active, "%d", a->active);
        const char *params[4] = {tenant, ar_worklog_id_param(a->client_filter, client),
                                 a->search && *a->search ? a->search : NULL, active};
        if (!(r = ar_db_exec(c, "worklog_projects_list", 4, params, err))) return -1;
        json_t *rows = json_array();
        for (int i = 0; i < PQntuples(r); i++) json_array_append_new(rows, row_to_project(r, i));
        PQclear(r);
        a->out = json_pack("{s:o}", "results", rows);
        return 0;
    }
    case OP_GET:
        a->out = get_one(c, "worklog_project_get", tenant, a->id, 1, "project", err);
        return a->out ? 0 : -1;
    case OP_CREATE: {
        long long id = 0;
        if (project_write(c, tenant, NULL, a->body, &id, err) != 0) return -1;
        a->out = get_one(c, "worklog_project_get", tenant, id, 1, "project", err);
        return a->out ? 0 : -1;
    }
    case OP_UPDATE: {
        json_t *cur = get_one(c, "worklog_project_get", tenant, a->id, 1, "project", err);
        if (!cur) return -1;
        json_t *in = validate_project(a->body, a->partial, err);
        if (!in) return json_decref(cur), -1;
        json_object_update(cur, in);
        json_decref(in);
        long long unused = 0;
        int rc = project_write(c, tenant, idb, cur, &unused, err);
        json_decref(cur);
        if (rc != 0) return -1;
        a->out = get_one(c, "worklog_project_get", tenant, a->id, 1, "project", err);
        return a->out ? 0 : -1;
    }
    case OP_DELETE: {
        const char *params[2] = {tenant, idb};
        if (!(r = ar_db_exec(c, "worklog_project_delete", 2, params, err))) return -1;
        int n = atoi(PQcmdTuples(r));
        PQclear(r);
        if (!n) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such project."), -1;
        return 0;
    }
    }
    return -1;
}

static json_t *run(catalog_args *a, ar_db_tx_fn fn, ar_error *err)
{
    int write = a->op == OP_CREATE || a->op == OP_UPDATE || a->op == OP_DELETE;
    if (ar_worklog_require_role(a->ctx, write, err) != 0) return NULL;
    if ((a->op == OP_GET || a->op == OP_UPDATE || a->op == OP_DELETE) && a->id <= 0)
        return ar_error_set(err, AR_ERR_NOT_FOUND, "No such %s.", fn == client_tx ? "client" : "project"), NULL;
    if (a->op == OP_UPDATE && !json_is_object(a->body))
        return ar_error_set(err, AR_ERR_INVALID_JSON, "Send a JSON object."), NULL;
    if (ar_ctx_tx(a->ctx, fn, a, err) != 0) {
        json_decref(a->out);
        return NULL;
    }
    return a->op == OP_DELETE ? json_true() : a->out;
}

/* ---- clients ------------------------------------------------------------------------------------------- */

json_t *ar_client_list(const ar_ctx *ctx, const char *search, int active, ar_error *err)
{
    catalog_args a = {.ctx = ctx, .op = OP_LIST, .search = search, .active = active < 0 ? -1 : active != 0};
    return run(&a, client_tx, err);
}

json_t *ar_client_create(const ar_ctx *ctx, const json_t *body, ar_error *err)
{
    if (ar_worklog_require_role(ctx, 1, err) != 0) return NULL;
    json_t *in = validate_client(body, 0, err);
    if (!in) return NULL;
    catalog_args a = {.ctx = ctx, .op = OP_CREATE, .body = in};
    json_t *out = run(&a, client_tx, err);
    json_decref(in);
    return out;
}

json_t *ar_client_get(const ar_ctx *ctx, long long id, ar_error *err)
{
    catalog_args a = {.ctx = ctx, .op = OP_GET, .id = id};
    return run(&a, client_tx, err);
}

json_t *ar_client_update(const ar_ctx *ctx, long long id, const json_t *body, int partial, ar_error *err)
{
    catalog_args a = {.ctx = ctx, .op = OP_UPDATE, .id = id, .body = body, .partial = partial};
    return run(&a, client_tx, err);
}

int ar_client_delete(const ar_ctx *ctx, long long id, ar_error *err)
{
    catalog_args a = {.ctx = ctx, .op = OP_DELETE, .id = id};
    json_t *ok = run(&a, client_tx, err);
    json_decref(ok);
    return ok ? 0 : -1;
}

/* ---- projects ------------------------------------------------------------------------------------------ */

json_t *ar_project_list(const ar_ctx *ctx, long long client_id, const char *search, int active, ar_error *err)
{
    catalog_args a = {.ctx = ctx, .op = OP_LIST, .client_filter = client_id, .search = search,
                      .active = active < 0 ? -1 : active != 0};
    return run(&a, project_tx, err);
}

json_t *ar_project_create(const ar_ctx *ctx, const json_t *body, ar_error *err)
{
    if (ar_worklog_require_role(ctx, 1, err) != 0) return NULL;
    json_t *in = validate_project(body, 0, err);
    if (!in) return NULL;
    catalog_args a = {.ctx = ctx, .op = OP_CREATE, .body = in};
    json_t *out = run(&a, project_tx, err);
    json_decref(in);
    return out;
}

json_t *ar_project_get(const ar_ctx *ctx, long long id, ar_error *err)
{
    catalog_args a = {.ctx = ctx, .op = OP_GET, .id = id};
    return run(&a, project_tx, err);
}

json_t *ar_project_update(const ar_ctx *ctx, long long id, const json_t *body, int partial, ar_error *err)
{
    catalog_args a = {.ctx = ctx, .op = OP_UPDATE, .id = id, .body = body, .partial = partial};
    return run(&a, project_tx, err);
}

int ar_project_delete(const ar_ctx *ctx, long long id, ar_error *err)
{
    catalog_args a = {.ctx = ctx, .op = OP_DELETE, .id = id};
    json_t *ok = run(&a, project_tx, err);
    json_decref(ok);
    return ok ? 0 : -1;
}

/* ---- find or create (imports) -------------------------------------------------------------------------- */

static int find_or_create(PGconn *c, const ar_ctx *ctx, const char *stmt, const char *field, const char *name,
                          long long client_id, long long *id_out, ar_error *err)
{
    *id_out = 0;
    char *clean = clean_name(name ? name : "", name ? strlen(name) : 0, field, err);
    if (!clean) return ar_error_set(err, AR_ERR_VALIDATION, "Check the %s.", field), -1;
    char tenant[24], client[24];
    snprintf(tenant, sizeof tenant, "%lld", ctx->tenant_id);
    const char *params[3] = {tenant, clean, ar_worklog_id_param(client_id, client)};
    PGresult *r = ar_db_exec(c, stmt, strcmp(field, "project_name") == 0 ? 3 : 2, params, err);
    free(clean);
    if (!r) return -1;
    if (PQntuples(r) >= 1) *id_out = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (*id_out <= 0) return ar_error_set(err, AR_ERR_INTERNAL, "The %s could not be created.", field), -1;
    return 0;
}

int ar_client_find_or_create_in_tx(PGconn *c, const ar_ctx *ctx, const char *name, long long *id_out, ar_error *err)
{
    return find_or_create(c, ctx, "worklog_client_find_or_create", "client_name", name, 0, id_out, err);
}

int ar_project_find_or_create_in_tx(PGconn *c, const ar_ctx *ctx, const char *name, long long client_id,
                                    long long *id_out, ar_error *err)
{
    return find_or_create(c, ctx, "worklog_project_find_or_create", "project_name", name, client_id, id_out, err);
}
