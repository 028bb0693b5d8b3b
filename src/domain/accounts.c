/* accounts.c — sign-up, sign-in, passwords, staff user administration and tenant member administration
 * (see accounts.h). Passwords are hashed outside transactions; every write runs in one ar_ctx_tx. */
#include "afterresume/domain/accounts.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/utf8.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/passkeys.h"
#include "afterresume/domain/passwords.h"
#include "afterresume/domain/registry.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define USER_COLUMNS                                                                                            \
    "id, username, email, is_staff, is_active, " TS("created_at") ", " TS("last_login_at") ", "               \
    "personal_tenant_id, disabled_reason "
#define INVALID_LOGIN "Invalid username or password."
#define REASON_MAX 500

static const ar_db_stmt statements[] = {
    {"accounts_taken",
     "SELECT coalesce(bool_or(username = $1::citext), false), coalesce(bool_or(email = $2::citext), false) "
     "FROM users WHERE username = $1::citext OR email = $2::citext"},
    {"accounts_insert_user",
     "INSERT INTO users (username, email, password_hash, is_staff) VALUES ($1, $2, $3, $4::boolean) RETURNING id"},
    {"accounts_insert_tenant", "INSERT INTO tenants (name, personal) VALUES ($1, $2::boolean) RETURNING id"},
    {"accounts_insert_membership",
     "INSERT INTO memberships (tenant_id, user_id, role, invited_by) VALUES ($1::bigint, $2::bigint, $3, $4::bigint)"},
    {"accounts_set_personal_tenant", "UPDATE users SET personal_tenant_id = $2::bigint WHERE id = $1::bigint"},
    {"accounts_lookup_login",
     "SELECT id, username, email, password_hash, is_staff, is_active, coalesce(personal_tenant_id, 0) "
     "FROM users WHERE username = $1::citext OR email = $1::citext ORDER BY id LIMIT 1"},
    {"accounts_signin_ok",
     "UPDATE users SET last_login_at = now(), password_hash = coalesce($2, password_hash) WHERE id = $1::bigint"},
    {"accounts_get", "SELECT " USER_COLUMNS "FROM users WHERE id = $1::bigint"},
    {"accounts_password_of", "SELECT password_hash, is_active, coalesce(personal_tenant_id, 0) FROM users WHERE id = $1::bigint"},
    {"accounts_set_password",
     "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1::bigint RETURNING coalesce(personal_tenant_id, 0)"},
    {"accounts_end_sessions",
     "UPDATE sessions SET ended_at = now() WHERE user_id = $1::bigint AND ended_at IS NULL AND id <> $2::bigint"},
    {"accounts_revoke_tokens",
     "UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1::bigint AND revoked_at IS NULL"},
    {"accounts_lock_user",
     "SELECT is_active, is_staff, coalesce(personal_tenant_id, 0) FROM users WHERE id = $1::bigint FOR UPDATE"},
    {"accounts_set_active",
     "UPDATE users SET is_active = $2::boolean, disabled_reason = CASE WHEN $2::boolean THEN NULL ELSE $3 END, "
     "updated_at = now() WHERE id = $1::bigint"},
    {"accounts_set_staff", "UPDATE users SET is_staff = $2::boolean, updated_at = now() WHERE id = $1::bigint"},
    {"accounts_list",
     "SELECT " USER_COLUMNS "FROM users WHERE id > $1::bigint "
     "AND ($2::text IS NULL OR strpos(lower(username::text), lower($2::text)) > 0 "
     "OR strpos(lower(email::text), lower($2::text)) > 0) "
     "AND ($3::boolean IS NULL OR is_active = $3::boolean) ORDER BY id LIMIT $4::int"},
    {"accounts_any", "SELECT EXISTS (SELECT 1 FROM users)"},
    {"accounts_find", "SELECT id FROM users WHERE username = $1::citext"},
    {"accounts_memberships",
     "SELECT t.id, t.name, m.role, t.personal FROM memberships m JOIN tenants t ON t.id = m.tenant_id "
     "WHERE m.user_id = $1::bigint AND t.is_active ORDER BY t.personal DESC, t.name, t.id"},
    {"accounts_role_in",
     "SELECT m.role FROM memberships m JOIN tenants t ON t.id = m.tenant_id "
     "WHERE m.user_id = $1::bigint AND m.tenant_id = $2::bigint AND t.is_active"},
    {"accounts_members",
     "SELECT u.id, u.username, u.email, m.role, u.is_active, " TS("m.created_at") " "
     "FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1::bigint "
     "ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 WHEN 'member' THEN 2 ELSE 3 END, u.username"},
    /* Serialises membership administration within one tenant (the last-owner rule needs it). */
    {"accounts_lock_tenant", "SELECT personal FROM tenants WHERE id = $1::bigint FOR NO KEY UPDATE"},
    {"accounts_member",
     "SELECT m.role, coalesce(u.personal_tenant_id = m.tenant_id, false) FROM memberships m "
     "JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1::bigint AND m.user_id = $2::bigint"},
    {"accounts_owner_count", "SELECT count(*) FROM memberships WHERE tenant_id = $1::bigint AND role = 'owner'"},
    {"accounts_member_set_role",
     "UPDATE memberships SET role = $3 WHERE tenant_id = $1::bigint AND user_id = $2::bigint"},
    {"accounts_member_delete", "DELETE FROM memberships WHERE tenant_id = $1::bigint AND user_id = $2::bigint"},
    {"accounts_end_tenant_sessions",
     "UPDATE sessions SET ended_at = now() WHERE user_id = $1::bigint AND tenant_id = $2::bigint AND ended_at IS NULL"},
    {"accounts_revoke_tenant_tokens",
     "UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1::bigint AND tenant_id = $2::bigint "
     "AND revoked_at IS NULL"},
};

void ar_accounts_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

/* ---- small helpers ---------------------------------------------------------------------------- */

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

static int is_true(const PGresult *r, int row, int col)
{
    return PQgetvalue(r, row, col)[0] == 't';
}

/* Run one registered statement whose result is not needed; the affected row count, or -1. */
static long exec_count(PGconn *c, const char *name, int n, const char *const *params, ar_error *err)
{
    PGresult *r = ar_db_exec(c, name, n, params, err);
    if (!r) return -1;
    long count = atol(PQcmdTuples(r));
    PQclear(r);
    return count;
}

int ar_username_valid(const char *u)
{
    if (!u) return 0;
    size_t len = strlen(u);
    if (len < 2 || len > 40) return 0;
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    if (!strchr(alnum, u[0])) return 0;
    return strspn(u + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len - 1;
}

int ar_email_shape_ok(const char *e)
{
    if (!e) return 0;
    size_t len = strlen(e);
    if (len < 3 || len > AR_EMAIL_MAX || !ar_utf8_valid(e, len)) return 0;
    const char *at = strchr(e, '@');
    if (!at || at == e || at[1] == '\0' || strchr(at + 1, '@')) return 0;
    for (const unsigned char *p = (const unsigned char *)e; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f) return 0;
    }
    return 1;
}

/* Field checks shared by sign-up and create: adds one field message per problem. */
static void check_identity_fields(const char *username, const char *email, const char *password, ar_error *err)
{
    if (!username || !*username)
        ar_error_field(err, "username", "Choose a username.");
    else if (!ar_username_valid(username))
        ar_error_field(err, "username",
                       "Use 2 to 40 letters, digits, dots, dashes or underscores, starting with a letter or digit.");
    if (!email || !*email)
        ar_error_field(err, "email", "Enter your e-mail address.");
    else if (!ar_email_shape_ok(email))
        ar_error_field(err, "email", "Enter a valid e-mail address (at most 254 characters).");
    ar_error pw = {0};
    if (ar_password_validate(password, &pw) != 0) {
        json_t *m = json_object_get(pw.fields, "password");
        ar_error_field(err, "password", m ? json_string_value(m) : "The password is not valid.");
    }
    ar_error_clear(&pw);
}

/* The message of field `name` from a validation error made by ar_password_validate. */
static void move_password_field(ar_error *from, ar_error *to, const char *name)
{
    json_t *m = json_object_get(from->fields, "password");
    ar_error_field(to, name, m ? json_string_value(m) : "The password is not valid.");
}

/* Inside a transaction: report a taken username / e-mail as field errors. 1 when something is taken. */
static int check_taken(PGconn *c, const char *username, const char *email, ar_error *err)
{
    const char *params[2] = {username, email};
    PGresult *r = ar_db_exec(c, "accounts_taken", 2, params, err);
    if (!r) return -1;
    int taken = 0;
    if (is_true(r, 0, 0)) {
        ar_error_field(err, "username", "This username is already taken.");
        taken = 1;
    }
    if (is_true(r, 0, 1)) {
        ar_error_field(err, "email", "This e-mail address is already taken.");
        taken = 1;
    }
    PQclear(r);
    return taken;
}

/* Inside a transaction: the user row, their personal tenant and owner membership. A unique violation that
 * slipped past check_taken (a concurrent sign-up) becomes the same field error. */
static int insert_user_rows(PGconn *c, const char *username, const char *email, const char *hash, int is_staff,
                            long long *user_id, long long *tenant_id, ar_error *err)
{
    const char *up[4] = {username, email, hash, is_staff ? "true" : "false"};
    PGresult *r = ar_db_exec(c, "accounts_insert_user", 4, up, err);
    if (!r) {
        if (err->code == AR_ERR_CONFLICT) {
            const char *constraint = ar_db_last_constraint();
            int email_taken = strstr(constraint, "email") != NULL;
            ar_error_set(err, AR_ERR_VALIDATION, NULL);
            ar_error_field(err, email_taken ? "email" : "username",
                           email_taken ? "This e-mail address is already taken." : "This username is already taken.");
        }
        return -1;
    }
    *user_id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    char *name = ar_asprintf("%s's workspace", username);
    const char *tp[2] = {name, "true"};
    r = ar_db_exec(c, "accounts_insert_tenant", 2, tp, err);
    ar_free(name);
    if (!r) return -1;
    *tenant_id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    char user[24], tenant[24];
    lld(user, sizeof user, *user_id);
    lld(tenant, sizeof tenant, *tenant_id);
    const char *mp[4] = {tenant, user, "owner", NULL};
    if (exec_count(c, "accounts_insert_membership", 4, mp, err) < 0) return -1;
    const char *pp[2] = {user, tenant};
    return exec_count(c, "accounts_set_personal_tenant", 2, pp, err) < 0 ? -1 : 0;
}

/* ---- sign-up ---------------------------------------------------------------------------------- */

typedef struct signup_args {
    const ar_ctx *ctx;
    const ar_signup *in;
    const char *hash;
    long long user_id, personal_tenant_id, tenant_id;
    long long passkey_id, passkey_tenant;
    const char *passkey_reason; /* set when the passkey was refused */
} signup_args;

static int signup_tx(PGconn *c, void *arg, ar_error *err)
{
    signup_args *a = arg;
    a->user_id = a->personal_tenant_id = a->tenant_id = 0;
    a->passkey_id = a->passkey_tenant = 0;
    a->passkey_reason = NULL;
    json_decref(err->fields);
    err->fields = NULL;

    /* Everything that can be wrong is reported at once: taken names, then the passkey. */
    int taken = check_taken(c, a->in->username, a->in->email, err);
    if (taken < 0) return -1;
    long long passkey_id = 0, scope = 0, created_by = 0;
    ar_role role = AR_ROLE_NONE;
    const char *reason = NULL;
    ar_error pk = {0};
    if (ar_passkey_consume_ex(c, a->in->passkey, &passkey_id, &scope, &role, &created_by, &reason, &pk) != 0) {
        a->passkey_id = passkey_id;
        a->passkey_tenant = scope;
        if (!reason) { /* a database error, not a refusal */
            json_decref(err->fields);
            *err = pk;
            return -1;
        }
        a->passkey_reason = reason;
        json_t *m = json_object_get(pk.fields, "passkey");
        ar_error_field(err, "passkey", json_string_value(m));
        if (taken)
            ar_error_set(err, AR_ERR_VALIDATION, NULL);
        else
            ar_error_set(err, AR_ERR_VALIDATION, "%s", pk.message);
        ar_error_clear(&pk);
        return -1;
    }
    if (taken) return ar_error_set(err, AR_ERR_VALIDATION, NULL), -1;
    a->passkey_id = passkey_id;
    a->passkey_tenant = scope;

    if (insert_user_rows(c, a->in->username, a->in->email, a->hash, 0, &a->user_id, &a->personal_tenant_id, err) != 0)
        return -1;
    a->tenant_id = a->personal_tenant_id;
    char user[24], tenant[24], inviter[24], pid[24];
    lld(user, sizeof user, a->user_id);
    lld(pid, sizeof pid, passkey_id);
    if (scope > 0) {
        lld(tenant, sizeof tenant, scope);
        lld(inviter, sizeof inviter, created_by);
        const char *mp[4] = {tenant, user, ar_role_name(role), created_by ? inviter : NULL};
        if (exec_count(c, "accounts_insert_membership", 4, mp, err) < 0) return -1;
        a->tenant_id = scope;
    }
    json_t *details = json_pack("{s:s,s:I,s:o,s:s}", "username", a->in->username, "personal_tenant_id",
                                (json_int_t)a->personal_tenant_id, "tenant_id",
                                scope > 0 ? json_integer(scope) : json_null(), "role",
                                scope > 0 ? ar_role_name(role) : "owner");
    ar_audit_event consumed = {.action = "passkey.consumed", .target_type = "passkey", .target_id = pid,
                               .success = 1, .details = details, .passkey_id = passkey_id,
                               .tenant_id = a->tenant_id, .actor_id = a->user_id};
    ar_audit_event ok = {.action = "signup.ok", .target_type = "user", .target_id = user, .success = 1,
                         .details = details, .passkey_id = passkey_id, .tenant_id = a->tenant_id,
                         .actor_id = a->user_id};
    int rc = ar_audit_write(c, a->ctx, &consumed, err) == 0 && ar_audit_write(c, a->ctx, &ok, err) == 0 ? 0 : -1;
    json_decref(details);
    return rc;
}

/* After a failed sign-up: "passkey.rejected" when the key was refused, then "signup.failed". */
static void record_signup_failure(const ar_ctx *ctx, const ar_signup *in, const ar_error *err, const signup_args *a)
{
    ar_ctx sys = ar_ctx_system(ctx);
    char reason[48] = "error";
    if (a && a->passkey_reason) {
        char pid[24];
        lld(pid, sizeof pid, a->passkey_id);
        ar_audit_event ev = {.action = "passkey.rejected", .target_type = a->passkey_id ? "passkey" : NULL,
                             .target_id = a->passkey_id ? pid : NULL, .success = 0, .reason = a->passkey_reason,
                             .passkey_id = a->passkey_id, .tenant_id = a->passkey_tenant};
        ar_audit_record(&sys, &ev);
        snprintf(reason, sizeof reason, "passkey_%s", a->passkey_reason);
    } else if (err->code == AR_ERR_VALIDATION && json_object_get(err->fields, "username") && a) {
        snprintf(reason, sizeof reason, "username_taken");
    } else if (err->code == AR_ERR_VALIDATION && json_object_get(err->fields, "email") && a) {
        snprintf(reason, sizeof reason, "email_taken");
    } else if (err->code == AR_ERR_VALIDATION) {
        snprintf(reason, sizeof reason, "invalid_fields");
    }
    json_t *details = json_object();
    if (ar_username_valid(in->username)) json_object_set_new(details, "username", json_string(in->username));
    json_t *fields = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(err->fields, k, v) json_array_append_new(fields, json_string(k));
    json_object_set_new(details, "fields", fields);
    ar_audit_event ev = {.action = "signup.failed", .success = 0, .reason = reason, .details = details,
                         .passkey_id = a ? a->passkey_id : 0, .tenant_id = a ? a->passkey_tenant : 0};
    ar_audit_record(&sys, &ev);
    json_decref(details);
}

int ar_account_signup(const ar_ctx *ctx, const ar_signup *in, long long *user_id, long long *tenant_id,
                      ar_error *err)
{
    *user_id = 0;
    *tenant_id = 0;
    check_identity_fields(in->username, in->email, in->password, err);
    size_t pk_len = in->passkey ? strlen(in->passkey) : 0;
    if (pk_len == 0)
        ar_error_field(err, "passkey", "Enter the invite passkey you were given.");
    else if (pk_len > 128)
        ar_error_field(err, "passkey", "This invite passkey is not valid; check that you copied all of it.");
    if (err->fields) {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        record_signup_failure(ctx, in, err, NULL);
        return -1;
    }
    char hash[crypto_pwhash_STRBYTES];
    if (ar_password_hash(in->password, hash, err) != 0) {
        record_signup_failure(ctx, in, err, NULL);
        return -1;
    }
    signup_args a = {.ctx = ctx, .in = in, .hash = hash};
    ar_ctx sys = ar_ctx_system(ctx);
    int rc = ar_ctx_tx(&sys, signup_tx, &a, err);
    sodium_memzero(hash, sizeof hash);
    if (rc != 0) {
        record_signup_failure(ctx, in, err, &a);
        return -1;
    }
    *user_id = a.user_id;
    *tenant_id = a.tenant_id;
    return 0;
}

/* ---- sign-in ---------------------------------------------------------------------------------- */

typedef struct login_user {
    long long id, personal_tenant_id;
    char username[64];
    char email[AR_EMAIL_MAX + 2];
    char hash[crypto_pwhash_STRBYTES];
    int is_staff, is_active, found;
} login_user;

typedef struct lookup_args {
    const char *login;
    login_user *u;
} lookup_args;

static int lookup_login_tx(PGconn *c, void *arg, ar_error *err)
{
    lookup_args *a = arg;
    const char *params[1] = {a->login};
    PGresult *r = ar_db_exec(c, "accounts_lookup_login", 1, params, err);
    if (!r) return -1;
    login_user *u = a->u;
    u->found = PQntuples(r) == 1;
    if (u->found) {
        u->id = atoll(PQgetvalue(r, 0, 0));
        snprintf(u->username, sizeof u->username, "%s", PQgetvalue(r, 0, 1));
        snprintf(u->email, sizeof u->email, "%s", PQgetvalue(r, 0, 2));
        snprintf(u->hash, sizeof u->hash, "%s", PQgetvalue(r, 0, 3));
        u->is_staff = is_true(r, 0, 4);
        u->is_active = is_true(r, 0, 5);
        u->personal_tenant_id = atoll(PQgetvalue(r, 0, 6));
    }
    PQclear(r);
    return 0;
}

typedef struct signin_args {
    const ar_ctx *ctx;
    const login_user *u;
    const char *new_hash; /* NULL = keep */
} signin_args;

static int signin_ok_tx(PGconn *c, void *arg, ar_error *err)
{
    signin_args *a = arg;
    char id[24];
    lld(id, sizeof id, a->u->id);
    const char *params[2] = {id, a->new_hash};
    if (exec_count(c, "accounts_signin_ok", 2, params, err) < 0) return -1;
    json_t *details = json_pack("{s:b}", "rehashed", a->new_hash != NULL);
    ar_audit_event ev = {.action = "signin.ok", .target_type = "user", .target_id = id, .success = 1,
                         .details = details, .tenant_id = a->u->personal_tenant_id, .actor_id = a->u->id};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    return rc;
}

static void record_signin_failure(const ar_ctx *ctx, const login_user *u, const char *reason)
{
    char id[24];
    lld(id, sizeof id, u->found ? u->id : 0);
    ar_ctx sys = ar_ctx_system(ctx);
    ar_audit_event ev = {.action = "signin.failed", .target_type = u->found ? "user" : NULL,
                         .target_id = u->found ? id : NULL, .success = 0, .reason = reason,
                         .tenant_id = u->found ? u->personal_tenant_id : 0, .actor_id = u->found ? u->id : 0};
    ar_audit_record(&sys, &ev);
}

json_t *ar_account_authenticate(const ar_ctx *ctx, const char *login, const char *password, ar_error *err)
{
    login_user u;
    memset(&u, 0, sizeof u);
    size_t login_len = login ? strlen(login) : 0;
    size_t pw_len = password ? strlen(password) : 0;
    int usable = login_len > 0 && login_len <= AR_EMAIL_MAX && ar_utf8_valid(login, login_len) && pw_len > 0 &&
                 pw_len <= AR_PASSWORD_MAX_BYTES;
    if (usable) {
        lookup_args la = {login, &u};
        ar_ctx sys = ar_ctx_system(ctx);
        if (ar_ctx_tx(&sys, lookup_login_tx, &la, err) != 0) return NULL;
    }
    const char *reason = NULL;
    if (!u.found) {
        ar_password_verify_dummy(usable ? password : "");
        reason = "unknown_user";
    } else if (!ar_password_verify(u.hash, password)) {
        reason = "bad_password";
    } else if (!u.is_active) {
        reason = "disabled";
    }
    if (reason) {
        sodium_memzero(u.hash, sizeof u.hash);
        record_signin_failure(ctx, &u, reason);
        ar_error_set(err, AR_ERR_UNAUTHORIZED, INVALID_LOGIN);
        return NULL;
    }
    char new_hash[crypto_pwhash_STRBYTES];
    int rehash = ar_password_needs_rehash(u.hash) && ar_password_hash(password, new_hash, NULL) == 0;
    sodium_memzero(u.hash, sizeof u.hash);
    signin_args sa = {ctx, &u, rehash ? new_hash : NULL};
    ar_ctx sys = ar_ctx_system(ctx);
    int rc = ar_ctx_tx(&sys, signin_ok_tx, &sa, err);
    sodium_memzero(new_hash, sizeof new_hash);
    if (rc != 0) return NULL;
    return json_pack("{s:I,s:s,s:s,s:b,s:o}", "id", (json_int_t)u.id, "username", u.username, "email", u.email,
                     "is_staff", u.is_staff, "personal_tenant_id",
                     u.personal_tenant_id ? json_integer(u.personal_tenant_id) : json_null());
}

/* ---- reading ---------------------------------------------------------------------------------- */

static json_t *user_row(const PGresult *r, int row)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(atoll(PQgetvalue(r, row, 0))));
    json_object_set_new(o, "username", json_string(PQgetvalue(r, row, 1)));
    json_object_set_new(o, "email", json_string(PQgetvalue(r, row, 2)));
    json_object_set_new(o, "is_staff", json_boolean(is_true(r, row, 3)));
    json_object_set_new(o, "is_active", json_boolean(is_true(r, row, 4)));
    json_object_set_new(o, "created_at", json_string(PQgetvalue(r, row, 5)));
    json_object_set_new(o, "last_login_at", text_or_null(r, row, 6));
    json_object_set_new(o, "personal_tenant_id", int_or_null(r, row, 7));
    json_object_set_new(o, "disabled_reason", text_or_null(r, row, 8));
    return o;
}

typedef struct read_args {
    long long id;
    const char *text;
    int active, limit;
    json_t *out;
} read_args;

static int get_tx(PGconn *c, void *arg, ar_error *err)
{
    read_args *a = arg;
    char id[24];
    lld(id, sizeof id, a->id);
    const char *params[1] = {id};
    PGresult *r = ar_db_exec(c, "accounts_get", 1, params, err);
    if (!r) return -1;
    if (PQntuples(r) == 1) a->out = user_row(r, 0);
    PQclear(r);
    if (!a->out) return ar_error_set(err, AR_ERR_NOT_FOUND, "User not found."), -1;
    return 0;
}

/* The caller may read user_id's account: it is theirs, or they are staff. */
static int may_read_user(const ar_ctx *ctx, long long user_id)
{
    return ctx->is_staff || ctx->bypass_rls || (ctx->user_id > 0 && ctx->user_id == user_id);
}

json_t *ar_account_get(const ar_ctx *ctx, long long user_id, ar_error *err)
{
    if (!may_read_user(ctx, user_id)) {
        ar_error_set(err, AR_ERR_NOT_FOUND, "User not found.");
        return NULL;
    }
    read_args a = {.id = user_id};
    if (ar_ctx_tx(ctx, get_tx, &a, err) != 0) {
        json_decref(a.out);
        return NULL;
    }
    return a.out;
}

static int list_tx(PGconn *c, void *arg, ar_error *err)
{
    read_args *a = arg;
    char after[24], limit[16];
    lld(after, sizeof after, a->id);
    snprintf(limit, sizeof limit, "%d", a->limit);
    const char *params[4] = {after, a->text && *a->text ? a->text : NULL,
                             a->active < 0 ? NULL : a->active ? "true" : "false", limit};
    PGresult *r = ar_db_exec(c, "accounts_list", 4, params, err);
    if (!r) return -1;
    json_t *users = json_array();
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) json_array_append_new(users, user_row(r, i));
    json_t *next = n == a->limit && n > 0 ? json_integer(atoll(PQgetvalue(r, n - 1, 0))) : json_null();
    PQclear(r);
    a->out = json_pack("{s:i,s:o,s:o}", "count", n, "users", users, "next_after_id", next);
    return 0;
}

static int require_staff(const ar_ctx *ctx, ar_error *err)
{
    if (ctx->is_staff) return 0;
    ar_error_set(err, AR_ERR_FORBIDDEN, "Only platform staff can do that.");
    return -1;
}

json_t *ar_account_list(const ar_ctx *ctx, const char *search, int active, int limit, long long after_id,
                        ar_error *err)
{
    if (require_staff(ctx, err) != 0) return NULL;
    if (limit == 0) limit = 50;
    size_t slen = search ? strlen(search) : 0;
    if (limit < 1 || limit > 200) ar_error_field(err, "limit", "The limit must be between 1 and 200.");
    if (slen > 254 || !ar_utf8_valid(search ? search : "", slen))
        ar_error_field(err, "search", "Search for at most 254 characters of text.");
    if (after_id < 0) ar_error_field(err, "after_id", "The cursor must be a user id.");
    if (err->fields) {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        return NULL;
    }
    read_args a = {.id = after_id, .text = search, .active = active < 0 ? -1 : active != 0, .limit = limit};
    ar_ctx sys = ar_ctx_system(ctx);
    if (ar_ctx_tx(&sys, list_tx, &a, err) != 0) {
        json_decref(a.out);
        return NULL;
    }
    return a.out;
}

static int any_tx(PGconn *c, void *arg, ar_error *err)
{
    read_args *a = arg;
    PGresult *r = ar_db_exec(c, "accounts_any", 0, NULL, err);
    if (!r) return -1;
    a->active = is_true(r, 0, 0);
    PQclear(r);
    return 0;
}

int ar_account_any_exists(const ar_ctx *ctx, ar_error *err)
{
    if (!ctx->is_staff && !ctx->bypass_rls) return ar_error_set(err, AR_ERR_FORBIDDEN, NULL), -1;
    read_args a = {0};
    ar_ctx sys = ar_ctx_system(ctx);
    return ar_ctx_tx(&sys, any_tx, &a, err) == 0 ? a.active : -1;
}

static int find_tx(PGconn *c, void *arg, ar_error *err)
{
    read_args *a = arg;
    const char *params[1] = {a->text};
    PGresult *r = ar_db_exec(c, "accounts_find", 1, params, err);
    if (!r) return -1;
    a->id = PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return 0;
}

long long ar_account_find_id(const ar_ctx *ctx, const char *username, ar_error *err)
{
    if (!ctx->is_staff && !ctx->bypass_rls) return ar_error_set(err, AR_ERR_FORBIDDEN, NULL), 0;
    read_args a = {.text = username};
    if (ar_username_valid(username)) {
        ar_ctx sys = ar_ctx_system(ctx);
        if (ar_ctx_tx(&sys, find_tx, &a, err) != 0) return 0;
    }
    if (a.id == 0) ar_error_set(err, AR_ERR_NOT_FOUND, "No user is called '%.64s'.", ar_username_valid(username) ? username : "?");
    return a.id;
}

static int memberships_tx(PGconn *c, void *arg, ar_error *err)
{
    read_args *a = arg;
    char id[24];
    lld(id, sizeof id, a->id);
    const char *params[1] = {id};
    PGresult *r = ar_db_exec(c, "accounts_memberships", 1, params, err);
    if (!r) return -1;
    a->out = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_array_append_new(a->out, json_pack("{s:I,s:s,s:s,s:b}", "tenant_id",
                                                (json_int_t)atoll(PQgetvalue(r, i, 0)), "name", PQgetvalue(r, i, 1),
                                                "role", PQgetvalue(r, i, 2), "personal", is_true(r, i, 3)));
    }
    PQclear(r);
    return 0;
}

json_t *ar_account_memberships(const ar_ctx *ctx, long long user_id, ar_error *err)
{
    if (!may_read_user(ctx, user_id)) {
        ar_error_set(err, AR_ERR_NOT_FOUND, "User not found.");
        return NULL;
    }
    read_args a = {.id = user_id};
    /* Memberships of every tenant the user belongs to, whatever tenant the request is in. */
    ar_ctx sys = ar_ctx_system(ctx);
    if (ar_ctx_tx(&sys, memberships_tx, &a, err) != 0) {
        json_decref(a.out);
        return NULL;
    }
    return a.out;
}

ar_role ar_account_role_in(PGconn *c, long long user_id, long long tenant_id)
{
    char user[24], tenant[24];
    lld(user, sizeof user, user_id);
    lld(tenant, sizeof tenant, tenant_id);
    const char *params[2] = {user, tenant};
    ar_error err = {0};
    PGresult *r = ar_db_exec(c, "accounts_role_in", 2, params, &err);
    ar_error_clear(&err);
    if (!r) return AR_ROLE_NONE;
    ar_role role = PQntuples(r) == 1 ? ar_role_from_string(PQgetvalue(r, 0, 0)) : AR_ROLE_NONE;
    PQclear(r);
    return role;
}

/* ---- create, passwords ------------------------------------------------------------------------ */

typedef struct create_args {
    const ar_ctx *ctx;
    const char *username, *email, *hash;
    int is_staff;
    long long user_id, tenant_id;
} create_args;

static int create_tx(PGconn *c, void *arg, ar_error *err)
{
    create_args *a = arg;
    json_decref(err->fields);
    err->fields = NULL;
    int taken = check_taken(c, a->username, a->email, err);
    if (taken < 0) return -1;
    if (taken) return ar_error_set(err, AR_ERR_VALIDATION, NULL), -1;
    if (insert_user_rows(c, a->username, a->email, a->hash, a->is_staff, &a->user_id, &a->tenant_id, err) != 0)
        return -1;
    char id[24];
    lld(id, sizeof id, a->user_id);
    json_t *details = json_pack("{s:s,s:b,s:I}", "username", a->username, "is_staff", a->is_staff,
                                "personal_tenant_id", (json_int_t)a->tenant_id);
    ar_audit_event ev = {.action = "user.created", .target_type = "user", .target_id = id, .success = 1,
                         .details = details, .tenant_id = a->tenant_id};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    return rc;
}

int ar_account_create(const ar_ctx *ctx, const char *username, const char *email, const char *password,
                      int is_staff, long long *id_out, ar_error *err)
{
    if (id_out) *id_out = 0;
    if (require_staff(ctx, err) != 0) return -1;
    check_identity_fields(username, email, password, err);
    if (err->fields) return ar_error_set(err, AR_ERR_VALIDATION, NULL), -1;
    char hash[crypto_pwhash_STRBYTES];
    if (ar_password_hash(password, hash, err) != 0) return -1;
    create_args a = {ctx, username, email, hash, is_staff != 0, 0, 0};
    ar_ctx sys = ar_ctx_system(ctx);
    int rc = ar_ctx_tx(&sys, create_tx, &a, err);
    sodium_memzero(hash, sizeof hash);
    if (rc != 0) return -1;
    if (id_out) *id_out = a.user_id;
    return 0;
}

typedef struct password_args {
    const ar_ctx *ctx;
    long long user_id, keep_session_id;
    const char *hash;
    const char *action;
} password_args;

static int set_password_tx(PGconn *c, void *arg, ar_error *err)
{
    password_args *a = arg;
    char id[24], keep[24];
    lld(id, sizeof id, a->user_id);
    lld(keep, sizeof keep, a->keep_session_id);
    const char *params[2] = {id, a->hash};
    PGresult *r = ar_db_exec(c, "accounts_set_password", 2, params, err);
    if (!r) return -1;
    long long personal = PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    if (personal < 0) return ar_error_set(err, AR_ERR_NOT_FOUND, "User not found."), -1;
    const char *sp[2] = {id, keep};
    long ended = exec_count(c, "accounts_end_sessions", 2, sp, err);
    if (ended < 0) return -1;
    json_t *details = json_pack("{s:i}", "sessions_ended", (int)ended);
    ar_audit_event ev = {.action = a->action, .target_type = "user", .target_id = id, .success = 1,
                         .details = details, .tenant_id = personal};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    return rc;
}

int ar_account_set_password(const ar_ctx *ctx, long long user_id, const char *new_password, ar_error *err)
{
    if (!ctx->is_staff && !ctx->bypass_rls && !(ctx->user_id > 0 && ctx->user_id == user_id))
        return ar_error_set(err, AR_ERR_NOT_FOUND, "User not found."), -1;
    if (ar_password_validate(new_password, err) != 0) return -1;
    char hash[crypto_pwhash_STRBYTES];
    if (ar_password_hash(new_password, hash, err) != 0) return -1;
    password_args a = {ctx, user_id, 0, hash, "password.reset"};
    ar_ctx sys = ar_ctx_system(ctx);
    int rc = ar_ctx_tx(&sys, set_password_tx, &a, err);
    sodium_memzero(hash, sizeof hash);
    return rc == 0 ? 0 : -1;
}

typedef struct current_args {
    long long user_id;
    char hash[crypto_pwhash_STRBYTES];
    long long personal;
    int found, active;
} current_args;

static int current_hash_tx(PGconn *c, void *arg, ar_error *err)
{
    current_args *a = arg;
    char id[24];
    lld(id, sizeof id, a->user_id);
    const char *params[1] = {id};
    PGresult *r = ar_db_exec(c, "accounts_password_of", 1, params, err);
    if (!r) return -1;
    a->found = PQntuples(r) == 1;
    if (a->found) {
        snprintf(a->hash, sizeof a->hash, "%s", PQgetvalue(r, 0, 0));
        a->active = is_true(r, 0, 1);
        a->personal = atoll(PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    return 0;
}

int ar_account_change_password(const ar_ctx *ctx, const char *current, const char *new_password,
                               long long keep_session_id, ar_error *err)
{
    if (ctx->user_id <= 0) return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), -1;
    if (!current || !*current) ar_error_field(err, "current_password", "Enter your current password.");
    ar_error pw = {0};
    if (ar_password_validate(new_password, &pw) != 0) move_password_field(&pw, err, "new_password");
    ar_error_clear(&pw);
    if (err->fields) return ar_error_set(err, AR_ERR_VALIDATION, NULL), -1;

    current_args cur = {.user_id = ctx->user_id};
    if (ar_ctx_tx(ctx, current_hash_tx, &cur, err) != 0) return -1;
    if (!cur.found || !cur.active) {
        sodium_memzero(cur.hash, sizeof cur.hash);
        return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), -1;
    }
    int match = strlen(current) <= AR_PASSWORD_MAX_BYTES && ar_password_verify(cur.hash, current);
    sodium_memzero(cur.hash, sizeof cur.hash);
    if (!match) {
        char id[24];
        lld(id, sizeof id, ctx->user_id);
        ar_ctx sys = ar_ctx_system(ctx);
        ar_audit_event ev = {.action = "password.changed", .target_type = "user", .target_id = id, .success = 0,
                             .reason = "bad_current_password", .tenant_id = cur.personal};
        ar_audit_record(&sys, &ev);
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        ar_error_field(err, "current_password", "The current password is not correct.");
        return -1;
    }
    char hash[crypto_pwhash_STRBYTES];
    if (ar_password_hash(new_password, hash, err) != 0) return -1;
    password_args a = {ctx, ctx->user_id, keep_session_id, hash, "password.changed"};
    ar_ctx sys = ar_ctx_system(ctx);
    int rc = ar_ctx_tx(&sys, set_password_tx, &a, err);
    sodium_memzero(hash, sizeof hash);
    return rc == 0 ? 0 : -1;
}

/* ---- staff administration --------------------------------------------------------------------- */

typedef struct flag_args {
    const ar_ctx *ctx;
    long long user_id;
    int value;
    const char *reason;
} flag_args;

/* Lock the user row; *active / *staff / *personal get its state. NOT_FOUND when it does not exist. */
static int lock_user(PGconn *c, const char *id, int *active, int *staff, long long *personal, ar_error *err)
{
    const char *params[1] = {id};
    PGresult *r = ar_db_exec(c, "accounts_lock_user", 1, params, err);
    if (!r) return -1;
    int found = PQntuples(r) == 1;
    if (found) {
        *active = is_true(r, 0, 0);
        *staff = is_true(r, 0, 1);
        *personal = atoll(PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    if (!found) return ar_error_set(err, AR_ERR_NOT_FOUND, "User not found."), -1;
    return 0;
}

static int set_active_tx(PGconn *c, void *arg, ar_error *err)
{
    flag_args *a = arg;
    char id[24];
    lld(id, sizeof id, a->user_id);
    int active = 0, staff = 0;
    long long personal = 0;
    if (lock_user(c, id, &active, &staff, &personal, err) != 0) return -1;
    const char *params[3] = {id, a->value ? "true" : "false", a->reason ? a->reason : ""};
    if (exec_count(c, "accounts_set_active", 3, params, err) < 0) return -1;
    long sessions = 0, tokens = 0;
    if (!a->value) {
        const char *sp[2] = {id, "0"};
        if ((sessions = exec_count(c, "accounts_end_sessions", 2, sp, err)) < 0) return -1;
        if ((tokens = exec_count(c, "accounts_revoke_tokens", 1, sp, err)) < 0) return -1;
    }
    json_t *details = json_pack("{s:{s:b},s:{s:b},s:i,s:i}", "before", "is_active", active, "after", "is_active",
                                a->value, "sessions_ended", (int)sessions, "tokens_revoked", (int)tokens);
    ar_audit_event ev = {.action = a->value ? "user.enabled" : "user.disabled", .target_type = "user",
                         .target_id = id, .success = 1, .reason = a->reason, .details = details};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    return rc;
}

int ar_account_set_active(const ar_ctx *ctx, long long user_id, int active, const char *reason, ar_error *err)
{
    if (require_staff(ctx, err) != 0) return -1;
    if (!active && ctx->user_id > 0 && ctx->user_id == user_id)
        return ar_error_set(err, AR_ERR_CONFLICT, "You cannot disable your own account."), -1;
    size_t rlen = reason ? strlen(reason) : 0;
    if (rlen > REASON_MAX || !ar_utf8_valid(reason ? reason : "", rlen)) {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        ar_error_field(err, "reason", "The reason must be UTF-8 text of at most 500 characters.");
        return -1;
    }
    flag_args a = {ctx, user_id, active != 0, rlen ? reason : NULL};
    ar_ctx sys = ar_ctx_system(ctx);
    return ar_ctx_tx(&sys, set_active_tx, &a, err) == 0 ? 0 : -1;
}

static int set_staff_tx(PGconn *c, void *arg, ar_error *err)
{
    flag_args *a = arg;
    char id[24];
    lld(id, sizeof id, a->user_id);
    int active = 0, staff = 0;
    long long personal = 0;
    if (lock_user(c, id, &active, &staff, &personal, err) != 0) return -1;
    if (staff == a->value) return 0;
    const char *params[2] = {id, a->value ? "true" : "false"};
    if (exec_count(c, "accounts_set_staff", 2, params, err) < 0) return -1;
    json_t *details = json_pack("{s:{s:b},s:{s:b}}", "before", "is_staff", staff, "after", "is_staff", a->value);
    ar_audit_event ev = {.action = a->value ? "user.staff_granted" : "user.staff_revoked", .target_type = "user",
                         .target_id = id, .success = 1, .details = details};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    return rc;
}

int ar_account_set_staff(const ar_ctx *ctx, long long user_id, int is_staff, ar_error *err)
{
    if (require_staff(ctx, err) != 0) return -1;
    if (!is_staff && ctx->user_id > 0 && ctx->user_id == user_id)
        return ar_error_set(err, AR_ERR_CONFLICT, "You cannot remove your own staff access."), -1;
    flag_args a = {ctx, user_id, is_staff != 0, NULL};
    ar_ctx sys = ar_ctx_system(ctx);
    return ar_ctx_tx(&sys, set_staff_tx, &a, err) == 0 ? 0 : -1;
}

/* ---- tenant administration -------------------------------------------------------------------- */

static int require_tenant_admin(const ar_ctx *ctx, ar_error *err)
{
    if (ctx->tenant_id > 0 && ctx->role >= AR_ROLE_ADMIN) return 0;
    ar_error_set(err, AR_ERR_FORBIDDEN, "Only tenant owners and admins can manage members.");
    return -1;
}

static int members_tx(PGconn *c, void *arg, ar_error *err)
{
    read_args *a = arg;
    char tenant[24];
    lld(tenant, sizeof tenant, a->id);
    const char *params[1] = {tenant};
    PGresult *r = ar_db_exec(c, "accounts_members", 1, params, err);
    if (!r) return -1;
    json_t *members = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_array_append_new(members,
                              json_pack("{s:I,s:s,s:s,s:s,s:b,s:s}", "user_id", (json_int_t)atoll(PQgetvalue(r, i, 0)),
                                        "username", PQgetvalue(r, i, 1), "email", PQgetvalue(r, i, 2), "role",
                                        PQgetvalue(r, i, 3), "is_active", is_true(r, i, 4), "joined_at",
                                        PQgetvalue(r, i, 5)));
    }
    PQclear(r);
    a->out = json_pack("{s:I,s:o}", "count", (json_int_t)json_array_size(members), "members", members);
    return 0;
}

json_t *ar_tenant_members(const ar_ctx *ctx, ar_error *err)
{
    if (require_tenant_admin(ctx, err) != 0) return NULL;
    read_args a = {.id = ctx->tenant_id};
    if (ar_ctx_tx(ctx, members_tx, &a, err) != 0) {
        json_decref(a.out);
        return NULL;
    }
    return a.out;
}

typedef struct member_args {
    const ar_ctx *ctx;
    long long user_id;
    ar_role role; /* AR_ROLE_NONE = remove */
} member_args;

static int member_change_tx(PGconn *c, void *arg, ar_error *err)
{
    member_args *a = arg;
    char tenant[24], user[24];
    lld(tenant, sizeof tenant, a->ctx->tenant_id);
    lld(user, sizeof user, a->user_id);
    const char *tp[1] = {tenant};
    PGresult *r = ar_db_exec(c, "accounts_lock_tenant", 1, tp, err);
    if (!r) return -1;
    int tenant_found = PQntuples(r) == 1;
    PQclear(r);
    if (!tenant_found) return ar_error_set(err, AR_ERR_NOT_FOUND, "Tenant not found."), -1;

    /* The caller's role as it is now (it may have changed since the request started); staff acting as a
     * system caller keep the context's role. */
    ar_role actor = a->ctx->role;
    if (a->ctx->user_id > 0 && !a->ctx->is_staff) actor = ar_account_role_in(c, a->ctx->user_id, a->ctx->tenant_id);
    if (actor < AR_ROLE_ADMIN)
        return ar_error_set(err, AR_ERR_FORBIDDEN, "Only tenant owners and admins can manage members."), -1;

    const char *mp[2] = {tenant, user};
    r = ar_db_exec(c, "accounts_member", 2, mp, err);
    if (!r) return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_NOT_FOUND, "This user is not a member of the tenant."), -1;
    }
    ar_role before = ar_role_from_string(PQgetvalue(r, 0, 0));
    int own_personal = is_true(r, 0, 1);
    PQclear(r);
    if (before == a->role) return 0;

    int touches_owner = before == AR_ROLE_OWNER || a->role == AR_ROLE_OWNER;
    if (touches_owner && actor != AR_ROLE_OWNER)
        return ar_error_set(err, AR_ERR_FORBIDDEN, "Only an owner can make someone owner or change an owner's role."), -1;
    if (own_personal)
        return ar_error_set(err, AR_ERR_CONFLICT, "A personal workspace always keeps its own user as owner."), -1;
    if (before == AR_ROLE_OWNER) {
        r = ar_db_exec(c, "accounts_owner_count", 1, tp, err);
        if (!r) return -1;
        long owners = atol(PQgetvalue(r, 0, 0));
        PQclear(r);
        if (owners <= 1) {
            return ar_error_set(err, AR_ERR_CONFLICT, "%s",
                                a->role == AR_ROLE_NONE
                                    ? "The last owner cannot be removed; make someone else owner first."
                                    : "The last owner cannot be demoted; make someone else owner first."),
                   -1;
        }
    }

    json_t *details;
    const char *action;
    if (a->role == AR_ROLE_NONE) {
        if (exec_count(c, "accounts_member_delete", 2, mp, err) < 0) return -1;
        long sessions = exec_count(c, "accounts_end_tenant_sessions", 2, (const char *const[]){user, tenant}, err);
        if (sessions < 0) return -1;
        long tokens = exec_count(c, "accounts_revoke_tenant_tokens", 2, (const char *const[]){user, tenant}, err);
        if (tokens < 0) return -1;
        action = "member.removed";
        details = json_pack("{s:s,s:i,s:i}", "role", ar_role_name(before), "sessions_ended", (int)sessions,
                            "tokens_revoked", (int)tokens);
    } else {
        const char *sp[3] = {tenant, user, ar_role_name(a->role)};
        if (exec_count(c, "accounts_member_set_role", 3, sp, err) < 0) return -1;
        action = "member.role_changed";
        details = json_pack("{s:{s:s},s:{s:s}}", "before", "role", ar_role_name(before), "after", "role",
                            ar_role_name(a->role));
    }
    ar_audit_event ev = {.action = action, .target_type = "user", .target_id = user, .success = 1,
                         .details = details, .tenant_id = a->ctx->tenant_id};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    return rc;
}

int ar_tenant_set_role(const ar_ctx *ctx, long long user_id, ar_role role, ar_error *err)
{
    if (require_tenant_admin(ctx, err) != 0) return -1;
    if (role < AR_ROLE_READ_ONLY || role > AR_ROLE_OWNER) {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        ar_error_field(err, "role", "The role must be owner, admin, member or read_only.");
        return -1;
    }
    member_args a = {ctx, user_id, role};
    return ar_ctx_tx(ctx, member_change_tx, &a, err) == 0 ? 0 : -1;
}

int ar_tenant_remove_member(const ar_ctx *ctx, long long user_id, ar_error *err)
{
    if (require_tenant_admin(ctx, err) != 0) return -1;
    member_args a = {ctx, user_id, AR_ROLE_NONE};
    /* Revoking the member's API tokens for this tenant reads rows of another user: system context, with
     * every statement filtered by ctx->tenant_id. */
    ar_ctx sys = ar_ctx_system(ctx);
    return ar_ctx_tx(&sys, member_change_tx, &a, err) == 0 ? 0 : -1;
}
