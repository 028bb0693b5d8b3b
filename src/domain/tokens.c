/* tokens.c — personal access tokens (see tokens.h). */
#include "afterresume/domain/tokens.h"
#include "afterresume/core/utf8.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/registry.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const ar_db_stmt statements[] = {
    {"tokens_insert",
     "INSERT INTO api_tokens (token_hash, prefix, name, user_id, tenant_id, scope, expires_at) "
     "VALUES ($1::bytea, $2, $3, $4, $5, $6, CASE WHEN $7::int > 0 THEN now() + make_interval(days => $7::int) END) "
     "RETURNING id, " TS("created_at") ", " TS("expires_at")},
    {"tokens_lookup",
     "SELECT t.id, t.user_id, t.tenant_id, t.scope, u.username, u.email, u.is_staff, coalesce(m.role, ''), "
     "(t.last_used_at IS NULL OR t.last_used_at < now() - interval '60 seconds') "
     "FROM api_tokens t JOIN users u ON u.id = t.user_id "
     "LEFT JOIN memberships m ON m.tenant_id = t.tenant_id AND m.user_id = t.user_id "
     "WHERE t.token_hash = $1::bytea AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now()) "
     "AND u.is_active"},
    {"tokens_touch", "UPDATE api_tokens SET last_used_at = now() WHERE id = $1"},
    {"tokens_list",
     "SELECT id, name, prefix, scope, " TS("created_at") ", " TS("last_used_at") ", " TS("expires_at") " "
     "FROM api_tokens WHERE user_id = $1 AND tenant_id = $2 AND revoked_at IS NULL "
     "AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at DESC, id DESC LIMIT 200"},
    {"tokens_revoke",
     "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL"},
};

void ar_tokens_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

static json_t *nullable(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

typedef struct create_args {
    const ar_ctx *ctx;
    const char *hash, *prefix, *name, *scope;
    long long days;
    json_t *info;
} create_args;

static int create_tx(PGconn *c, void *arg, ar_error *err)
{
    create_args *a = arg;
    char user[24], tenant[24], days[16];
    snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    snprintf(tenant, sizeof tenant, "%lld", a->ctx->tenant_id);
    snprintf(days, sizeof days, "%lld", a->days);
    const char *params[7] = {a->hash, a->prefix, a->name, user, tenant, a->scope, days};
    PGresult *r = ar_db_exec(c, "tokens_insert", 7, params, err);
    if (!r) return -1;
    char id[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0)); /* kept past PQclear for the audit row */
    a->info = json_pack("{s:I,s:s,s:s,s:s,s:s,s:n,s:o}", "id", (json_int_t)atoll(id), "name", a->name, "prefix",
                        a->prefix, "scope", a->scope, "created_at", PQgetvalue(r, 0, 1), "last_used_at",
                        "expires_at", nullable(r, 0, 2));
    PQclear(r);
    json_t *details = json_pack("{s:s,s:s}", "name", a->name, "scope", a->scope);
    ar_audit_event ev = {.action = "token.created", .target_type = "api_token", .target_id = id, .success = 1,
                         .details = details};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    return rc;
}

int ar_token_create(const ar_ctx *ctx, const char *name, const char *scope, long long expires_in_days,
                    char raw_out[AR_SECRET_TEXT_SIZE], json_t **info_out, ar_error *err)
{
    if (info_out) *info_out = NULL;
    if (ctx->user_id <= 0 || ctx->tenant_id <= 0) return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), -1;
    size_t nlen = name ? strlen(name) : 0;
    if (nlen == 0 || nlen > 100 || !ar_utf8_valid(name, nlen))
        ar_error_field(err, "name", "Give the token a name of 1 to 100 characters.");
    if (!scope || (strcmp(scope, "read") != 0 && strcmp(scope, "write") != 0))
        ar_error_field(err, "scope", "Scope must be read or write.");
    if (expires_in_days < 0 || expires_in_days > 3650)
        ar_error_field(err, "expires_in_days", "Expiry must be between 1 and 3650 days (or empty for none).");
    if (err->fields) return ar_error_set(err, AR_ERR_VALIDATION, NULL), -1;
    char hash[70], prefix[16];
    ar_secret_generate(AR_TOKEN_PREFIX, raw_out);
    ar_secret_hash_param(raw_out, hash);
    snprintf(prefix, sizeof prefix, "%.11s", raw_out); /* "ar_pat_" + 4 chars, for recognising it in lists */
    create_args a = {ctx, hash, prefix, name, scope, expires_in_days, NULL};
    if (ar_ctx_tx(ctx, create_tx, &a, err) != 0) {
        json_decref(a.info);
        sodium_memzero(raw_out, AR_SECRET_TEXT_SIZE);
        return -1;
    }
    if (info_out)
        *info_out = a.info;
    else
        json_decref(a.info);
    return 0;
}

static int touch_tx(PGconn *c, void *arg, ar_error *err)
{
    const char *tp[1] = {arg};
    PGresult *r = ar_db_exec(c, "tokens_touch", 1, tp, err);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

int ar_token_lookup(const char *raw, const ar_ctx *ctx, ar_token_info *out, ar_error *err)
{
    memset(out, 0, sizeof *out);
    size_t len = raw ? strlen(raw) : 0;
    if (len < 20 || len > 100 || strncmp(raw, AR_TOKEN_PREFIX, strlen(AR_TOKEN_PREFIX)) != 0)
        return ar_error_set(err, AR_ERR_UNAUTHORIZED, "The API token is invalid, expired or revoked."), -1;
    char hash[70];
    ar_secret_hash_param(raw, hash);
    ar_ctx sys = ar_ctx_system(ctx);
    /* Every API request does this: one round trip (the last-used touch, once a minute, is a second one). */
    const char *params[1] = {hash};
    PGresult *r = ar_ctx_query_once(&sys, "tokens_lookup", 1, params, err);
    if (!r) return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_UNAUTHORIZED, "The API token is invalid, expired or revoked."), -1;
    }
    out->id = atoll(PQgetvalue(r, 0, 0));
    out->user_id = atoll(PQgetvalue(r, 0, 1));
    out->tenant_id = atoll(PQgetvalue(r, 0, 2));
    out->can_write = strcmp(PQgetvalue(r, 0, 3), "write") == 0;
    snprintf(out->username, sizeof out->username, "%s", PQgetvalue(r, 0, 4));
    snprintf(out->email, sizeof out->email, "%s", PQgetvalue(r, 0, 5));
    out->is_staff = PQgetvalue(r, 0, 6)[0] == 't';
    out->role = ar_role_from_string(PQgetvalue(r, 0, 7));
    int stale = PQgetvalue(r, 0, 8)[0] == 't';
    PQclear(r);
    if (stale) {
        char id[24];
        snprintf(id, sizeof id, "%lld", out->id);
        if (ar_ctx_tx(&sys, touch_tx, id, err) != 0) return -1;
    }
    return 0;
}

typedef struct list_args {
    const ar_ctx *ctx;
    json_t *rows;
} list_args;

static int list_tx(PGconn *c, void *arg, ar_error *err)
{
    list_args *a = arg;
    char user[24], tenant[24];
    snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    snprintf(tenant, sizeof tenant, "%lld", a->ctx->tenant_id);
    const char *params[2] = {user, tenant};
    PGresult *r = ar_db_exec(c, "tokens_list", 2, params, err);
    if (!r) return -1;
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(a->rows, json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:o}", "id",
                                                 (json_int_t)atoll(PQgetvalue(r, i, 0)), "name", PQgetvalue(r, i, 1),
                                                 "prefix", PQgetvalue(r, i, 2), "scope", PQgetvalue(r, i, 3),
                                                 "created_at", PQgetvalue(r, i, 4), "last_used_at", nullable(r, i, 5),
                                                 "expires_at", nullable(r, i, 6)));
    PQclear(r);
    return 0;
}

json_t *ar_token_list(const ar_ctx *ctx, ar_error *err)
{
    list_args a = {ctx, json_array()};
    if (ar_ctx_tx(ctx, list_tx, &a, err) != 0) {
        json_decref(a.rows);
        return NULL;
    }
    return a.rows;
}

typedef struct revoke_args {
    const ar_ctx *ctx;
    long long id;
} revoke_args;

static int revoke_tx(PGconn *c, void *arg, ar_error *err)
{
    revoke_args *a = arg;
    char id[24], user[24];
    snprintf(id, sizeof id, "%lld", a->id);
    snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    const char *params[2] = {id, user};
    PGresult *r = ar_db_exec(c, "tokens_revoke", 2, params, err);
    if (!r) return -1;
    int n = atoi(PQcmdTuples(r));
    PQclear(r);
    if (!n) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such token."), -1;
    ar_audit_event ev = {.action = "token.revoked", .target_type = "api_token", .target_id = id, .success = 1};
    return ar_audit_write(c, a->ctx, &ev, err);
}

int ar_token_revoke(const ar_ctx *ctx, long long id, ar_error *err)
{
    revoke_args a = {ctx, id};
    return ar_ctx_tx(ctx, revoke_tx, &a, err);
}
