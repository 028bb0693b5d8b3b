/* sessions.c — server-side browser sessions (see sessions.h) and the secret helpers shared with tokens. */
#include "afterresume/domain/sessions.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/registry.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ar_session_policy policy = {1800, 14 * 86400, 14 * 86400};

void ar_sessions_set_policy(const ar_session_policy *p)
{
    policy = *p;
}

static const ar_db_stmt statements[] = {
    {"sessions_insert",
     "INSERT INTO sessions (token_hash, user_id, tenant_id, csrf_token, remember, idle_seconds, expires_at, ip, "
     "user_agent) VALUES ($1::bytea, $2, $3, $4, $5, $6, now() + make_interval(secs => $7::int), $8, $9) "
     "RETURNING id"},
    {"sessions_lookup",
     "SELECT s.id, s.user_id, s.tenant_id, s.csrf_token, u.username, u.email, u.is_staff, "
     "coalesce(m.role, ''), (s.last_seen_at < now() - interval '60 seconds') "
     "FROM sessions s JOIN users u ON u.id = s.user_id "
     "LEFT JOIN memberships m ON m.tenant_id = s.tenant_id AND m.user_id = s.user_id "
     "WHERE s.token_hash = $1::bytea AND s.ended_at IS NULL AND s.expires_at > now() "
     "AND s.last_seen_at + make_interval(secs => s.idle_seconds) > now() AND u.is_active"},
    {"sessions_touch", "UPDATE sessions SET last_seen_at = now() WHERE id = $1"},
    {"sessions_end", "UPDATE sessions SET ended_at = now() WHERE id = $1 AND user_id = $2 AND ended_at IS NULL"},
    {"sessions_end_others",
     "UPDATE sessions SET ended_at = now() WHERE user_id = $1 AND id <> $2 AND ended_at IS NULL"},
    {"sessions_list",
     "SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
     "to_char(last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
     "to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ip, user_agent "
     "FROM sessions WHERE user_id = $1 AND ended_at IS NULL AND expires_at > now() "
     "AND last_seen_at + make_interval(secs => idle_seconds) > now() ORDER BY created_at DESC, id DESC LIMIT 100"},
    {"sessions_member_role", "SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2"},
    {"sessions_rotate",
     "UPDATE sessions SET token_hash = $1::bytea, tenant_id = $2, csrf_token = $3, last_seen_at = now() "
     "WHERE id = $4 AND user_id = $5 AND ended_at IS NULL"},
};

void ar_sessions_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

void ar_secret_generate(const char *prefix, char out[AR_SECRET_TEXT_SIZE])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    size_t plen = strlen(prefix);
    memcpy(out, prefix, plen);
    sodium_bin2base64(out + plen, AR_SECRET_TEXT_SIZE - plen, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

void ar_secret_hash_param(const char *text, char out[70])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
    out[0] = '\\';
    out[1] = 'x';
    sodium_bin2hex(out + 2, 68, h, sizeof h);
}

static void lld(char *buf, size_t n, long long v)
{
    snprintf(buf, n, "%lld", v);
}

static void copy_field(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

typedef struct create_args {
    const ar_ctx *ctx;
    long long user_id, tenant_id;
    int remember;
    const char *hash;
    const char *csrf;
    ar_session_info *out;
} create_args;

static int create_tx(PGconn *c, void *arg, ar_error *err)
{
    create_args *a = arg;
    char user[24], tenant[24], idle[16], life[16];
    lld(user, sizeof user, a->user_id);
    lld(tenant, sizeof tenant, a->tenant_id);
    snprintf(idle, sizeof idle, "%d", a->remember ? policy.remember_s : policy.idle_s);
    snprintf(life, sizeof life, "%d", policy.max_age_s);
    const char *params[9] = {a->hash, user, tenant, a->csrf, a->remember ? "t" : "f", idle, life, a->ctx->ip,
                             a->ctx->user_agent};
    PGresult *r = ar_db_exec(c, "sessions_insert", 9, params, err);
    if (!r) return -1;
    a->out->id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    const char *rp[2] = {tenant, user};
    r = ar_db_exec(c, "sessions_member_role", 2, rp, err);
    if (!r) return -1;
    a->out->role = PQntuples(r) ? ar_role_from_string(PQgetvalue(r, 0, 0)) : AR_ROLE_NONE;
    PQclear(r);
    return 0;
}

int ar_session_create(const ar_ctx *ctx, long long user_id, long long tenant_id, int remember,
                      char token_out[AR_SECRET_TEXT_SIZE], ar_session_info *out, ar_error *err)
{
    memset(out, 0, sizeof *out);
    char hash[70];
    ar_secret_generate("", token_out);
    ar_secret_hash_param(token_out, hash);
    ar_secret_generate("", out->csrf_token);
    out->user_id = user_id;
    out->tenant_id = tenant_id;
    ar_ctx sys = ar_ctx_system(ctx);
    create_args a = {ctx, user_id, tenant_id, remember, hash, out->csrf_token, out};
    if (ar_ctx_tx(&sys, create_tx, &a, err) != 0) {
        sodium_memzero(token_out, AR_SECRET_TEXT_SIZE);
        return -1;
    }
    return 0;
}

static int touch_tx(PGconn *c, void *arg, ar_error *err)
{
    const char *tp[1] = {arg};
    PGresult *r = ar_db_exec(c, "sessions_touch", 1, tp, err);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

int ar_session_lookup(const char *token, const ar_ctx *ctx, ar_session_info *out, ar_error *err)
{
    memset(out, 0, sizeof *out);
    size_t len = token ? strlen(token) : 0;
    if (len < 20 || len > 100) return ar_error_set(err, AR_ERR_NOT_FOUND, "session not found"), -1;
    char hash[70];
    ar_secret_hash_param(token, hash);
    ar_ctx sys = ar_ctx_system(ctx);
    /* Every signed-in request does this: one round trip (the rare last-seen touch is a second one). */
    const char *params[1] = {hash};
    PGresult *r = ar_ctx_query_once(&sys, "sessions_lookup", 1, params, err);
    if (!r) return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_NOT_FOUND, "session not found or expired"), -1;
    }
    out->id = atoll(PQgetvalue(r, 0, 0));
    out->user_id = atoll(PQgetvalue(r, 0, 1));
    out->tenant_id = atoll(PQgetvalue(r, 0, 2));
    copy_field(out->csrf_token, sizeof out->csrf_token, PQgetvalue(r, 0, 3));
    copy_field(out->username, sizeof out->username, PQgetvalue(r, 0, 4));
    copy_field(out->email, sizeof out->email, PQgetvalue(r, 0, 5));
    out->is_staff = PQgetvalue(r, 0, 6)[0] == 't';
    out->role = ar_role_from_string(PQgetvalue(r, 0, 7));
    int stale = PQgetvalue(r, 0, 8)[0] == 't';
    PQclear(r);
    if (stale) {
        char id[24];
        lld(id, sizeof id, out->id);
        if (ar_ctx_tx(&sys, touch_tx, id, err) != 0) return -1;
    }
    return 0;
}

typedef struct end_args {
    const ar_ctx *ctx;
    long long id;
    int ended;
} end_args;

static int end_tx(PGconn *c, void *arg, ar_error *err)
{
    end_args *a = arg;
    char id[24], user[24];
    lld(id, sizeof id, a->id);
    lld(user, sizeof user, a->ctx->user_id);
    const char *params[2] = {id, user};
    PGresult *r = ar_db_exec(c, "sessions_end", 2, params, err);
    if (!r) return -1;
    a->ended = atoi(PQcmdTuples(r));
    PQclear(r);
    if (!a->ended) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such session."), -1;
    ar_audit_event ev = {.action = "session.ended", .target_type = "session", .target_id = id, .success = 1};
    return ar_audit_write(c, a->ctx, &ev, err);
}

int ar_session_end(const ar_ctx *ctx, long long session_id, ar_error *err)
{
    if (ctx->user_id <= 0) return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), -1;
    end_args a = {ctx, session_id, 0};
    return ar_ctx_tx(ctx, end_tx, &a, err);
}

static int end_others_tx(PGconn *c, void *arg, ar_error *err)
{
    end_args *a = arg;
    char keep[24], user[24];
    lld(keep, sizeof keep, a->id);
    lld(user, sizeof user, a->ctx->user_id);
    const char *params[2] = {user, keep};
    PGresult *r = ar_db_exec(c, "sessions_end_others", 2, params, err);
    if (!r) return -1;
    a->ended = atoi(PQcmdTuples(r));
    PQclear(r);
    json_t *details = json_pack("{s:i,s:b}", "ended", a->ended, "kept_current", a->id > 0);
    ar_audit_event ev = {.action = "session.ended", .target_type = "user", .target_id = user, .success = 1,
                         .details = details};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    return rc;
}

int ar_session_end_others(const ar_ctx *ctx, long long keep_id, ar_error *err)
{
    if (ctx->user_id <= 0) return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), -1;
    end_args a = {ctx, keep_id, 0};
    if (ar_ctx_tx(ctx, end_others_tx, &a, err) != 0) return -1;
    return a.ended;
}

typedef struct list_args {
    const ar_ctx *ctx;
    long long current;
    json_t *rows;
} list_args;

static int list_tx(PGconn *c, void *arg, ar_error *err)
{
    list_args *a = arg;
    char user[24];
    lld(user, sizeof user, a->ctx->user_id);
    const char *params[1] = {user};
    PGresult *r = ar_db_exec(c, "sessions_list", 1, params, err);
    if (!r) return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        long long id = atoll(PQgetvalue(r, i, 0));
        json_array_append_new(a->rows, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:b}", "id", (json_int_t)id, "created_at",
                                                 PQgetvalue(r, i, 1), "last_seen_at", PQgetvalue(r, i, 2),
                                                 "expires_at", PQgetvalue(r, i, 3), "ip", PQgetvalue(r, i, 4),
                                                 "user_agent", PQgetvalue(r, i, 5), "current", id == a->current));
    }
    PQclear(r);
    return 0;
}

json_t *ar_session_list(const ar_ctx *ctx, long long current_id, ar_error *err)
{
    list_args a = {ctx, current_id, json_array()};
    if (ar_ctx_tx(ctx, list_tx, &a, err) != 0) {
        json_decref(a.rows);
        return NULL;
    }
    return a.rows;
}

typedef struct switch_args {
    const ar_ctx *ctx;
    long long session_id, tenant_id;
    const char *hash, *csrf;
} switch_args;

static int switch_tx(PGconn *c, void *arg, ar_error *err)
{
    switch_args *a = arg;
    char tenant[24], user[24], sid[24];
    lld(tenant, sizeof tenant, a->tenant_id);
    lld(user, sizeof user, a->ctx->user_id);
    lld(sid, sizeof sid, a->session_id);
    const char *rp[2] = {tenant, user};
    PGresult *r = ar_db_exec(c, "sessions_member_role", 2, rp, err);
    if (!r) return -1;
    int member = PQntuples(r) > 0;
    PQclear(r);
    if (!member) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such workspace."), -1;
    const char *params[5] = {a->hash, tenant, a->csrf, sid, user};
    r = ar_db_exec(c, "sessions_rotate", 5, params, err);
    if (!r) return -1;
    int updated = atoi(PQcmdTuples(r));
    PQclear(r);
    if (!updated) return ar_error_set(err, AR_ERR_NOT_FOUND, "session not found"), -1;
    json_t *details = json_pack("{s:I,s:I}", "from", (json_int_t)a->ctx->tenant_id, "to", (json_int_t)a->tenant_id);
    ar_audit_event ev = {.action = "tenant.switched", .target_type = "tenant", .target_id = tenant, .success = 1,
                         .details = details, .tenant_id = a->tenant_id};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    return rc;
}

int ar_session_switch_tenant(const ar_ctx *ctx, long long session_id, long long tenant_id,
                             char token_out[AR_SECRET_TEXT_SIZE], ar_error *err)
{
    char hash[70], csrf[AR_SECRET_TEXT_SIZE];
    ar_secret_generate("", token_out);
    ar_secret_hash_param(token_out, hash);
    ar_secret_generate("", csrf);
    ar_ctx sys = ar_ctx_system(ctx);
    switch_args a = {ctx, session_id, tenant_id, hash, csrf};
    return ar_ctx_tx(&sys, switch_tx, &a, err);
}
