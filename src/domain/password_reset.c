/* password_reset.c — reset-by-e-mail tokens (see password_reset.h). */
#include "afterresume/domain/password_reset.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/domain/accounts.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/outbox.h"
#include "afterresume/domain/passwords.h"
#include "afterresume/domain/registry.h"
#include "afterresume/domain/sessions.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ar_db_stmt statements[] = {
    {"reset_find_user", "SELECT id, username FROM users WHERE email = $1::citext AND is_active"},
    {"reset_insert", "INSERT INTO password_resets (token_hash, user_id, expires_at) "
                     "VALUES ($1::bytea, $2, now() + interval '30 minutes')"},
    {"reset_valid", "SELECT 1 FROM password_resets WHERE token_hash = $1::bytea AND used_at IS NULL "
                    "AND expires_at > now()"},
    {"reset_use", "UPDATE password_resets SET used_at = now() WHERE token_hash = $1::bytea AND used_at IS NULL "
                  "AND expires_at > now() RETURNING user_id"},
};

void ar_password_reset_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

typedef struct request_args {
    const ar_ctx *ctx;
    const char *email, *link_base;
} request_args;

static int request_tx(PGconn *c, void *arg, ar_error *err)
{
    request_args *a = arg;
    const char *p1[1] = {a->email};
    PGresult *r = ar_db_exec(c, "reset_find_user", 1, p1, err);
    if (!r) return -1;
    int found = PQntuples(r) > 0;
    char user_id[24] = "", username[64] = "";
    if (found) {
        snprintf(user_id, sizeof user_id, "%s", PQgetvalue(r, 0, 0));
        snprintf(username, sizeof username, "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    json_t *details = json_pack("{s:b}", "account_found", found);
    ar_audit_event ev = {.action = "password.reset_requested", .target_type = "user",
                         .target_id = found ? user_id : NULL, .success = 1, .details = details,
                         .actor_id = found ? atoll(user_id) : 0};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    if (rc != 0 || !found) return rc;
    char token[AR_SECRET_TEXT_SIZE], hash[70];
    ar_secret_generate("", token);
    ar_secret_hash_param(token, hash);
    const char *p2[2] = {hash, user_id};
    r = ar_db_exec(c, "reset_insert", 2, p2, err);
    if (!r) return -1;
    PQclear(r);
    /* templates/email/password_reset.{subject,text,html}.mustache */
    char *link = ar_asprintf("%s?token=%s", a->link_base, token);
    json_t *data = json_pack("{s:s,s:s,s:i}", "username", username, "link", link, "minutes", 30);
    rc = ar_outbox_enqueue_template(c, a->ctx, a->email, "password_reset", data, err);
    json_decref(data);
    sodium_memzero(link, strlen(link));
    ar_free(link);
    sodium_memzero(token, sizeof token);
    return rc;
}

int ar_password_reset_request(const ar_ctx *ctx, const char *email, const char *link_base, ar_error *err)
{
    if (!email || !ar_email_shape_ok(email)) {
        ar_error_field(err, "email", "Enter the e-mail address of your account.");
        return ar_error_set(err, AR_ERR_VALIDATION, NULL), -1;
    }
    ar_ctx sys = ar_ctx_system(ctx);
    request_args a = {&sys, email, link_base};
    return ar_ctx_tx(&sys, request_tx, &a, err);
}

typedef struct token_args {
    const char *hash;
    long long user_id;
    int found;
} token_args;

static int valid_tx(PGconn *c, void *arg, ar_error *err)
{
    token_args *a = arg;
    const char *p[1] = {a->hash};
    PGresult *r = ar_db_exec(c, "reset_valid", 1, p, err);
    if (!r) return -1;
    a->found = PQntuples(r) > 0;
    PQclear(r);
    return 0;
}

int ar_password_reset_valid(const ar_ctx *ctx, const char *token)
{
    if (!token || strlen(token) < 20 || strlen(token) > 100) return 0;
    char hash[70];
    ar_secret_hash_param(token, hash);
    ar_ctx sys = ar_ctx_system(ctx);
    token_args a = {hash, 0, 0};
    ar_error err = {0};
    int rc = ar_ctx_tx(&sys, valid_tx, &a, &err);
    ar_error_clear(&err);
    return rc == 0 && a.found;
}

static int use_tx(PGconn *c, void *arg, ar_error *err)
{
    token_args *a = arg;
    const char *p[1] = {a->hash};
    PGresult *r = ar_db_exec(c, "reset_use", 1, p, err);
    if (!r) return -1;
    a->found = PQntuples(r) > 0;
    if (a->found) a->user_id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

int ar_password_reset_confirm(const ar_ctx *ctx, const char *token, const char *new_password, ar_error *err)
{
    ar_error pw_err = {0};
    if (ar_password_validate(new_password ? new_password : "", &pw_err) != 0) {
        ar_error_field(err, "new_password", json_string_value(json_object_get(pw_err.fields, "password"))
                                                ? json_string_value(json_object_get(pw_err.fields, "password"))
                                                : pw_err.message);
        ar_error_clear(&pw_err);
        return ar_error_set(err, AR_ERR_VALIDATION, "The password was not changed."), -1;
    }
    if (!token || strlen(token) < 20 || strlen(token) > 100)
        return ar_error_set(err, AR_ERR_NOT_FOUND, "This reset link is not valid; ask for a new one."), -1;
    char hash[70];
    ar_secret_hash_param(token, hash);
    ar_ctx sys = ar_ctx_system(ctx);
    token_args a = {hash, 0, 0};
    if (ar_ctx_tx(&sys, use_tx, &a, err) != 0) return -1;
    if (!a.found) return ar_error_set(err, AR_ERR_NOT_FOUND, "This reset link has expired or was used; ask for a new one."), -1;
    sys.user_id = a.user_id;
    return ar_account_set_password(&sys, a.user_id, new_password, err);
}
