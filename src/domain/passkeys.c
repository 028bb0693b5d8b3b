/* passkeys.c — invite passkeys: mint, list, revoke, history, check and atomic consumption (see passkeys.h). */
#include "afterresume/domain/passkeys.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afterresume/core/utf8.h"
#include "afterresume/domain/accounts.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/registry.h"
#include "afterresume/domain/sessions.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define STATUS_SQL                                                                                              \
    "CASE WHEN p.revoked_at IS NOT NULL THEN 'revoked' WHEN p.uses >= p.max_uses THEN 'used' "                 \
    "WHEN p.expires_at IS NOT NULL AND p.expires_at <= now() THEN 'expired' ELSE 'active' END"
/* Columns of one passkey row, in the order row_to_json() reads them. */
#define PASSKEY_COLUMNS                                                                                         \
    "p.id, p.tenant_id, t.name AS tenant_name, p.role, p.created_by, u.username AS created_by_username, "      \
    TS("p.created_at") " AS created_at, " TS("p.expires_at") " AS expires_at, p.max_uses, p.uses, "            \
    TS("p.revoked_at") " AS revoked_at, p.note, p.email, " STATUS_SQL " AS status "                           \
    "FROM invite_passkeys p LEFT JOIN tenants t ON t.id = p.tenant_id LEFT JOIN users u ON u.id = p.created_by "

static const ar_db_stmt statements[] = {
    {"passkeys_tenant_exists", "SELECT name FROM tenants WHERE id = $1::bigint"},
    {"passkeys_insert",
     "INSERT INTO invite_passkeys (key_hash, tenant_id, role, created_by, expires_at, max_uses, note, email) "
     "VALUES ($1::bytea, $2::bigint, $3, $4::bigint, "
     "CASE WHEN $5::bigint > 0 THEN now() + $5::bigint * interval '1 second' END, $6::int, $7, nullif($8, '')) "
     "RETURNING id, " TS("expires_at")},
    /* $1 tenant scope (NULL = all), $2 status filter (NULL = all) */
    {"passkeys_list",
     "SELECT * FROM (SELECT " PASSKEY_COLUMNS "WHERE ($1::bigint IS NULL OR p.tenant_id = $1::bigint)) s "
     "WHERE ($2::text IS NULL OR s.status = $2::text) ORDER BY s.id DESC LIMIT 1000"},
    {"passkeys_get", "SELECT " PASSKEY_COLUMNS "WHERE p.id = $1::bigint AND ($2::bigint IS NULL OR p.tenant_id = $2::bigint)"},
    {"passkeys_lock",
     "SELECT revoked_at IS NOT NULL, coalesce(tenant_id, 0) FROM invite_passkeys "
     "WHERE id = $1::bigint AND ($2::bigint IS NULL OR tenant_id = $2::bigint) FOR UPDATE"},
    {"passkeys_revoke", "UPDATE invite_passkeys SET revoked_at = now() WHERE id = $1::bigint AND revoked_at IS NULL"},
    {"passkeys_events",
     "SELECT e.id, e.action, " TS("e.created_at") ", e.actor_id, u.username, e.ip, e.user_agent, e.success, "
     "e.reason, e.details::text FROM audit_events e LEFT JOIN users u ON u.id = e.actor_id "
     "WHERE e.passkey_id = $1::bigint ORDER BY e.id LIMIT 1000"},
    {"passkeys_consume",
     "UPDATE invite_passkeys SET uses = uses + 1 WHERE key_hash = $1::bytea AND revoked_at IS NULL "
     "AND (expires_at IS NULL OR expires_at > now()) AND uses < max_uses "
     "RETURNING id, coalesce(tenant_id, 0), role, coalesce(created_by, 0), uses, max_uses"},
    {"passkeys_why",
     "SELECT p.id, " STATUS_SQL ", coalesce(p.tenant_id, 0) FROM invite_passkeys p WHERE p.key_hash = $1::bytea"},
    {"passkeys_check",
     "SELECT p.id, p.tenant_id, t.name, p.role, p.email, " STATUS_SQL " FROM invite_passkeys p "
     "LEFT JOIN tenants t ON t.id = p.tenant_id WHERE p.key_hash = $1::bytea"},
};

void ar_passkeys_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

/* ---- helpers ---------------------------------------------------------------------------------- */

static void lld(char *buf, size_t n, long long v)
{
    snprintf(buf, n, "%lld", v);
}

static json_t *text_or_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

static json_t *int_or_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_integer(atoll(PQgetvalue(r, row, col)));
}

/* One row of PASSKEY_COLUMNS as an object. */
static json_t *passkey_row(const PGresult *r, int row)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(atoll(PQgetvalue(r, row, 0))));
    json_object_set_new(o, "tenant_id", int_or_null(r, row, 1));
    json_object_set_new(o, "tenant_name", text_or_null(r, row, 2));
    json_object_set_new(o, "role", json_string(PQgetvalue(r, row, 3)));
    json_object_set_new(o, "created_by", int_or_null(r, row, 4));
    json_object_set_new(o, "created_by_username", text_or_null(r, row, 5));
    json_object_set_new(o, "created_at", json_string(PQgetvalue(r, row, 6)));
    json_object_set_new(o, "expires_at", text_or_null(r, row, 7));
    json_object_set_new(o, "max_uses", json_integer(atoll(PQgetvalue(r, row, 8))));
    json_object_set_new(o, "uses", json_integer(atoll(PQgetvalue(r, row, 9))));
    json_object_set_new(o, "revoked_at", text_or_null(r, row, 10));
    json_object_set_new(o, "note", json_string(PQgetvalue(r, row, 11)));
    json_object_set_new(o, "email", text_or_null(r, row, 12));
    json_object_set_new(o, "status", json_string(PQgetvalue(r, row, 13)));
    return o;
}

/* Which passkeys the caller manages: staff all (*scope = 0), tenant owners/admins their tenant's. */
static int manage_scope(const ar_ctx *ctx, long long *scope, ar_error *err)
{
    if (ctx->is_staff) {
        *scope = 0;
        return 0;
    }
    if (ctx->user_id > 0 && ctx->tenant_id > 0 && ctx->role >= AR_ROLE_ADMIN) {
        *scope = ctx->tenant_id;
        return 0;
    }
    ar_error_set(err, AR_ERR_FORBIDDEN, "Only tenant owners and admins can manage invite passkeys.");
    return -1;
}

/* The context a passkey service runs in: staff read across tenants, tenant admins stay under RLS. */
static ar_ctx scope_ctx(const ar_ctx *ctx, long long scope)
{
    return scope == 0 ? ar_ctx_system(ctx) : *ctx;
}

static const char *reason_message(const char *reason)
{
    if (strcmp(reason, "expired") == 0) return "This invite passkey has expired; ask for a new one.";
    if (strcmp(reason, "used") == 0) return "This invite passkey has already been used; ask for a new one.";
    if (strcmp(reason, "revoked") == 0) return "This invite passkey has been revoked; ask for a new one.";
    if (strcmp(reason, "missing") == 0) return "Enter the invite passkey you were given.";
    return "This invite passkey is not valid; check that you copied all of it.";
}

static int passkey_rejected(ar_error *err, const char *reason)
{
    const char *message = reason_message(reason);
    ar_error_set(err, AR_ERR_VALIDATION, "%s", message);
    ar_error_field(err, "passkey", message);
    return -1;
}

int ar_passkey_well_formed(const char *raw)
{
    if (!raw || strlen(raw) != AR_PASSKEY_TEXT_LENGTH) return 0;
    return strspn(raw, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == AR_PASSKEY_TEXT_LENGTH;
}

/* raw without surrounding ASCII whitespace, copied into out (truncated to fit). */
static void trimmed(const char *raw, char *out, size_t n)
{
    const char *s = raw ? raw : "";
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' || s[len - 1] == '\n')) len--;
    if (len >= n) len = n - 1;
    memcpy(out, s, len);
    out[len] = '\0';
}

void ar_passkey_hash_param(const char *raw, char out[70])
{
    char key[128];
    trimmed(raw, key, sizeof key);
    ar_secret_hash_param(key, out);
    sodium_memzero(key, sizeof key);
}

/* ---- mint ------------------------------------------------------------------------------------- */

typedef struct mint_args {
    const ar_ctx *ctx;
    const ar_passkey_options *o;
    const char *hash;
    const char *role;
    int max_uses;
    long long id;
} mint_args;

static int mint_tx(PGconn *c, void *arg, ar_error *err)
{
    mint_args *a = arg;
    char tenant[24], creator[24], expires[24], uses[16];
    lld(tenant, sizeof tenant, a->o->tenant_id);
    lld(creator, sizeof creator, a->ctx->user_id);
    lld(expires, sizeof expires, a->o->expires_in_s);
    snprintf(uses, sizeof uses, "%d", a->max_uses);
    if (a->o->tenant_id > 0) {
        const char *tp[1] = {tenant};
        PGresult *r = ar_db_exec(c, "passkeys_tenant_exists", 1, tp, err);
        if (!r) return -1;
        int found = PQntuples(r) == 1;
        PQclear(r);
        if (!found) return ar_error_set(err, AR_ERR_NOT_FOUND, "Tenant not found."), -1;
    }
    const char *params[8] = {a->hash,
                             a->o->tenant_id > 0 ? tenant : NULL,
                             a->role,
                             a->ctx->user_id > 0 ? creator : NULL,
                             expires,
                             uses,
                             a->o->note ? a->o->note : "",
                             a->o->email ? a->o->email : ""};
    PGresult *r = ar_db_exec(c, "passkeys_insert", 8, params, err);
    if (!r) return -1;
    a->id = atoll(PQgetvalue(r, 0, 0));
    json_t *details = json_pack("{s:o,s:s,s:i,s:o,s:b}", "tenant_id",
                                a->o->tenant_id > 0 ? json_integer(a->o->tenant_id) : json_null(), "role", a->role,
                                "max_uses", a->max_uses, "expires_at", text_or_null(r, 0, 1), "email",
                                a->o->email && *a->o->email);
    PQclear(r);
    char id[24];
    lld(id, sizeof id, a->id);
    ar_audit_event ev = {.action = "passkey.created", .target_type = "passkey", .target_id = id, .success = 1,
                         .details = details, .passkey_id = a->id, .tenant_id = a->o->tenant_id};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    return rc;
}

int ar_passkey_mint(const ar_ctx *ctx, const ar_passkey_options *o, char raw_out[64], long long *id_out,
                    ar_error *err)
{
    raw_out[0] = '\0';
    if (id_out) *id_out = 0;
    long long scope;
    if (manage_scope(ctx, &scope, err) != 0) return -1;
    if (scope != 0 && o->tenant_id != scope)
        return ar_error_set(err, AR_ERR_FORBIDDEN, "You can only create invite passkeys for your own tenant."), -1;

    int max_uses = o->max_uses == 0 ? 1 : o->max_uses;
    if (max_uses < 1 || max_uses > AR_PASSKEY_MAX_USES)
        ar_error_field(err, "max_uses", "Maximum uses must be between 1 and 10000.");
    size_t note_len = o->note ? strlen(o->note) : 0;
    if (note_len > AR_PASSKEY_NOTE_MAX || !ar_utf8_valid(o->note ? o->note : "", note_len))
        ar_error_field(err, "note", "The note must be UTF-8 text of at most 500 characters.");
    ar_role role = o->role == AR_ROLE_NONE ? AR_ROLE_MEMBER : o->role;
    if (role != AR_ROLE_ADMIN && role != AR_ROLE_MEMBER && role != AR_ROLE_READ_ONLY)
        ar_error_field(err, "role", "The role must be admin, member or read_only.");
    if (o->expires_in_s < 0 || o->expires_in_s > AR_PASSKEY_MAX_EXPIRES_S)
        ar_error_field(err, "expires_in", "The expiry must be in the future and at most ten years away.");
    if (o->email && *o->email && !ar_email_shape_ok(o->email))
        ar_error_field(err, "email", "Enter a valid e-mail address.");
    if (o->tenant_id < 0) ar_error_field(err, "tenant_id", "Unknown tenant.");
    if (err->fields) return ar_error_set(err, AR_ERR_VALIDATION, NULL), -1;

    char hash[70];
    ar_secret_generate("", raw_out);
    ar_secret_hash_param(raw_out, hash);
    mint_args a = {ctx, o, hash, ar_role_name(role), max_uses, 0};
    ar_ctx run = scope_ctx(ctx, scope);
    if (ar_ctx_tx(&run, mint_tx, &a, err) != 0) {
        sodium_memzero(raw_out, 64);
        return -1;
    }
    if (id_out) *id_out = a.id;
    return 0;
}

/* ---- list, history ---------------------------------------------------------------------------- */

typedef struct list_args {
    long long scope;
    const char *status;
    long long id;
    json_t *out;
} list_args;

static int list_tx(PGconn *c, void *arg, ar_error *err)
{
    list_args *a = arg;
    char scope[24];
    lld(scope, sizeof scope, a->scope);
    const char *params[2] = {a->scope ? scope : NULL, a->status && *a->status ? a->status : NULL};
    PGresult *r = ar_db_exec(c, "passkeys_list", 2, params, err);
    if (!r) return -1;
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(r); i++) json_array_append_new(items, passkey_row(r, i));
    PQclear(r);
    a->out = json_pack("{s:I,s:o}", "count", (json_int_t)json_array_size(items), "passkeys", items);
    return 0;
}

json_t *ar_passkey_list(const ar_ctx *ctx, const char *status_filter, ar_error *err)
{
    long long scope;
    if (manage_scope(ctx, &scope, err) != 0) return NULL;
    if (status_filter && *status_filter && strcmp(status_filter, "active") != 0 && strcmp(status_filter, "used") != 0 &&
        strcmp(status_filter, "expired") != 0 && strcmp(status_filter, "revoked") != 0) {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        ar_error_field(err, "status", "The status must be active, used, expired or revoked.");
        return NULL;
    }
    list_args a = {scope, status_filter, 0, NULL};
    ar_ctx run = scope_ctx(ctx, scope);
    if (ar_ctx_tx(&run, list_tx, &a, err) != 0) {
        json_decref(a.out);
        return NULL;
    }
    return a.out;
}

/* The passkey `id` if the caller may see it (scope), as an object; NULL + AR_ERR_NOT_FOUND otherwise. */
static json_t *get_passkey(PGconn *c, long long id, long long scope, ar_error *err)
{
    char ids[24], scopes[24];
    lld(ids, sizeof ids, id);
    lld(scopes, sizeof scopes, scope);
    const char *params[2] = {ids, scope ? scopes : NULL};
    PGresult *r = ar_db_exec(c, "passkeys_get", 2, params, err);
    if (!r) return NULL;
    json_t *o = PQntuples(r) == 1 ? passkey_row(r, 0) : NULL;
    PQclear(r);
    if (!o) ar_error_set(err, AR_ERR_NOT_FOUND, "Invite passkey not found.");
    return o;
}

static int history_tx(PGconn *c, void *arg, ar_error *err)
{
    list_args *a = arg;
    json_t *passkey = get_passkey(c, a->id, a->scope, err);
    if (!passkey) return -1;
    char ids[24];
    lld(ids, sizeof ids, a->id);
    const char *params[1] = {ids};
    PGresult *r = ar_db_exec(c, "passkeys_events", 1, params, err);
    if (!r) {
        json_decref(passkey);
        return -1;
    }
    json_t *events = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *details = json_loads(PQgetvalue(r, i, 9), 0, NULL);
        json_t *e = json_object();
        json_object_set_new(e, "id", json_integer(atoll(PQgetvalue(r, i, 0))));
        json_object_set_new(e, "action", json_string(PQgetvalue(r, i, 1)));
        json_object_set_new(e, "created_at", json_string(PQgetvalue(r, i, 2)));
        json_object_set_new(e, "actor_id", int_or_null(r, i, 3));
        json_object_set_new(e, "actor_username", text_or_null(r, i, 4));
        json_object_set_new(e, "ip", json_string(PQgetvalue(r, i, 5)));
        json_object_set_new(e, "user_agent", json_string(PQgetvalue(r, i, 6)));
        json_object_set_new(e, "success", json_boolean(PQgetvalue(r, i, 7)[0] == 't'));
        json_object_set_new(e, "reason", json_string(PQgetvalue(r, i, 8)));
        json_object_set_new(e, "details", details ? details : json_object());
        json_array_append_new(events, e);
    }
    PQclear(r);
    a->out = json_pack("{s:o,s:o}", "passkey", passkey, "events", events);
    return 0;
}

json_t *ar_passkey_history(const ar_ctx *ctx, long long id, ar_error *err)
{
    long long scope;
    if (manage_scope(ctx, &scope, err) != 0) return NULL;
    list_args a = {scope, NULL, id, NULL};
    /* The events of a passkey the caller may see are read across tenants: sign-up attempts by people who
     * have no tenant yet are part of its history. get_passkey() applies the caller's scope first. */
    ar_ctx sys = ar_ctx_system(ctx);
    if (ar_ctx_tx(&sys, history_tx, &a, err) != 0) {
        json_decref(a.out);
        return NULL;
    }
    return a.out;
}

/* ---- revoke ----------------------------------------------------------------------------------- */

typedef struct revoke_args {
    const ar_ctx *ctx;
    long long scope;
    long long id;
} revoke_args;

static int revoke_tx(PGconn *c, void *arg, ar_error *err)
{
    revoke_args *a = arg;
    char ids[24], scopes[24];
    lld(ids, sizeof ids, a->id);
    lld(scopes, sizeof scopes, a->scope);
    const char *params[2] = {ids, a->scope ? scopes : NULL};
    PGresult *r = ar_db_exec(c, "passkeys_lock", 2, params, err);
    if (!r) return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_NOT_FOUND, "Invite passkey not found."), -1;
    }
    int already = PQgetvalue(r, 0, 0)[0] == 't';
    long long tenant = atoll(PQgetvalue(r, 0, 1));
    PQclear(r);
    if (already) return 0;
    r = ar_db_exec(c, "passkeys_revoke", 1, params, err);
    if (!r) return -1;
    PQclear(r);
    ar_audit_event ev = {.action = "passkey.revoked", .target_type = "passkey", .target_id = ids, .success = 1,
                         .passkey_id = a->id, .tenant_id = tenant};
    return ar_audit_write(c, a->ctx, &ev, err);
}

int ar_passkey_revoke(const ar_ctx *ctx, long long id, ar_error *err)
{
    long long scope;
    if (manage_scope(ctx, &scope, err) != 0) return -1;
    revoke_args a = {ctx, scope, id};
    ar_ctx run = scope_ctx(ctx, scope);
    return ar_ctx_tx(&run, revoke_tx, &a, err) == 0 ? 0 : -1;
}

/* ---- check and consume ------------------------------------------------------------------------ */

typedef struct check_args {
    const ar_ctx *ctx;
    const char *hash;
    const char *reason; /* NULL = usable */
    json_t *out;
} check_args;

static int check_tx(PGconn *c, void *arg, ar_error *err)
{
    check_args *a = arg;
    const char *params[1] = {a->hash};
    PGresult *r = ar_db_exec(c, "passkeys_check", 1, params, err);
    if (!r) return -1;
    long long id = 0, tenant = 0;
    if (PQntuples(r) == 1) {
        id = atoll(PQgetvalue(r, 0, 0));
        tenant = PQgetisnull(r, 0, 1) ? 0 : atoll(PQgetvalue(r, 0, 1));
        const char *status = PQgetvalue(r, 0, 5);
        if (strcmp(status, "active") == 0) {
            a->out = json_pack("{s:o,s:o,s:s,s:o}", "tenant_id", int_or_null(r, 0, 1), "tenant_name",
                               text_or_null(r, 0, 2), "role", PQgetvalue(r, 0, 3), "email", text_or_null(r, 0, 4));
        } else {
            a->reason = strcmp(status, "revoked") == 0 ? "revoked" : strcmp(status, "used") == 0 ? "used" : "expired";
        }
    } else {
        a->reason = "unknown";
    }
    PQclear(r);
    char ids[24];
    lld(ids, sizeof ids, id);
    ar_audit_event ev = {.action = a->reason ? "passkey.rejected" : "passkey.validated",
                         .target_type = id ? "passkey" : NULL,
                         .target_id = id ? ids : NULL,
                         .success = a->reason == NULL,
                         .reason = a->reason,
                         .passkey_id = id,
                         .tenant_id = tenant};
    return ar_audit_write(c, a->ctx, &ev, err);
}

json_t *ar_passkey_check(const ar_ctx *ctx, const char *raw, ar_error *err)
{
    char hash[70];
    ar_passkey_hash_param(raw, hash);
    check_args a = {ctx, hash, NULL, NULL};
    char key[128];
    trimmed(raw, key, sizeof key);
    int present = key[0] != '\0';
    sodium_memzero(key, sizeof key);
    if (!present) {
        passkey_rejected(err, "missing");
        return NULL;
    }
    ar_ctx sys = ar_ctx_system(ctx);
    if (ar_ctx_tx(&sys, check_tx, &a, err) != 0) {
        json_decref(a.out);
        return NULL;
    }
    if (a.reason) {
        passkey_rejected(err, a.reason);
        return NULL;
    }
    return a.out;
}

int ar_passkey_consume_ex(PGconn *c, const char *raw, long long *id_out, long long *tenant_out,
                          ar_role *role_out, long long *created_by_out, const char **reason_out, ar_error *err)
{
    *id_out = 0;
    *tenant_out = 0;
    *role_out = AR_ROLE_NONE;
    *reason_out = NULL;
    if (created_by_out) *created_by_out = 0;
    char hash[70];
    ar_passkey_hash_param(raw, hash);
    const char *params[1] = {hash};
    PGresult *r = ar_db_exec(c, "passkeys_consume", 1, params, err);
    if (!r) return -1;
    if (PQntuples(r) == 1) {
        *id_out = atoll(PQgetvalue(r, 0, 0));
        *tenant_out = atoll(PQgetvalue(r, 0, 1));
        *role_out = ar_role_from_string(PQgetvalue(r, 0, 2));
        if (created_by_out) *created_by_out = atoll(PQgetvalue(r, 0, 3));
        PQclear(r);
        return 0;
    }
    PQclear(r);
    /* Nothing taken: say why. (A key that reads as active here lost a race for its last use.) */
    r = ar_db_exec(c, "passkeys_why", 1, params, err);
    if (!r) return -1;
    const char *reason = "unknown";
    if (PQntuples(r) == 1) {
        *id_out = atoll(PQgetvalue(r, 0, 0));
        *tenant_out = atoll(PQgetvalue(r, 0, 2));
        const char *status = PQgetvalue(r, 0, 1);
        reason = strcmp(status, "revoked") == 0 ? "revoked" : strcmp(status, "expired") == 0 ? "expired" : "used";
    }
    PQclear(r);
    *reason_out = reason;
    return passkey_rejected(err, reason);
}

int ar_passkey_consume(PGconn *c, const char *raw, long long *id_out, long long *tenant_out, ar_role *role_out,
                       const char **reason_out, ar_error *err)
{
    return ar_passkey_consume_ex(c, raw, id_out, tenant_out, role_out, NULL, reason_out, err);
}
