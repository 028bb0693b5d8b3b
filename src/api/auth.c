/* auth.c — JSON API for identity: sign-up, sign-in, sign-out, the scripts' token endpoint, /api/me/,
 * personal access tokens and the caller's sessions. */
#include "afterresume/api/handlers.h"
#include "afterresume/domain/accounts.h"
#include "afterresume/domain/password_reset.h"
#include "afterresume/domain/ratelimit.h"
#include "afterresume/domain/sessions.h"
#include "afterresume/domain/tokens.h"
#include "afterresume/http/auth.h"
#include "afterresume/http/response.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse a positive id path parameter; 0 when it is not one (the caller answers 404). */
long long ar_req_id_param(ar_request *req, const char *name)
{
    const char *v = ar_req_param(req, name);
    if (!v || !*v || strlen(v) > 18) return 0;
    long long n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        n = n * 10 + (*p - '0');
    }
    return n;
}

static void respond_err(ar_request *req, ar_error *err)
{
    ar_respond_error(req, err);
    ar_error_clear(err);
}

/* A required string field of the JSON body: missing or not a string → field error. */
static const char *required(ar_request *req, const char *name, ar_error *err)
{
    json_t *v = json_object_get(req->json, name);
    if (!json_is_string(v)) {
        ar_error_field(err, name, v ? "must be a string" : "is required");
        return NULL;
    }
    return json_string_value(v);
}

/* A rate limit checked inside a handler (beyond the route's own class): 0 allowed, 1 limited (err is a 429
 * and req->retry_after is set), -1 error (Valkey down for a fail-closed class). */
int ar_handler_rate_limit(ar_request *req, const char *cls, const char *subject, ar_error *err)
{
    int retry = 0;
    int rc = ar_ratelimit_hit(cls, subject, &retry, err);
    if (rc == 1) {
        ar_error_set(err, AR_ERR_RATE_LIMITED, "Too many attempts; try again in %d seconds.", retry);
        snprintf(req->retry_after, sizeof req->retry_after, "%d", retry);
    }
    return rc;
}

/* Per-account sign-in limit, on top of the per-IP class in the route table. */
int ar_signin_account_limited(ar_request *req, const char *login, ar_error *err)
{
    char subject[128];
    snprintf(subject, sizeof subject, "%.100s", login);
    for (char *p = subject; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return ar_handler_rate_limit(req, "signin_account", subject, err);
}

static void respond_with_retry(ar_request *req, ar_error *err)
{
    ar_respond_error(req, err);
    if (err->code == AR_ERR_RATE_LIMITED && req->retry_after[0]) ar_response_header(req, "Retry-After", req->retry_after);
    ar_error_clear(err);
}

/* Start a session for the user and attach the cookie; fills body with user + csrf_token. */
static int start_session(ar_request *req, long long user_id, long long tenant_id, int remember, json_t *body,
                         ar_error *err)
{
    char token[AR_SECRET_TEXT_SIZE];
    ar_session_info s;
    if (req->session_id) { /* a new session id on every sign-in */
        ar_error ignored = {0};
        ar_session_end(&req->ctx, req->session_id, &ignored);
        ar_error_clear(&ignored);
        req->session_id = 0;
    }
    if (ar_session_create(&req->ctx, user_id, tenant_id, remember, token, &s, err) != 0) return -1;
    ar_set_session_cookie(req, token, remember);
    sodium_memzero(token, sizeof token);
    json_object_set_new(body, "csrf_token", json_string(s.csrf_token));
    json_object_set_new(body, "tenant",
                        json_pack("{s:I,s:s}", "id", (json_int_t)tenant_id, "role", ar_role_name(s.role)));
    return 0;
}


void api_auth_signup(ar_request *req)
{
    ar_error err = {0};
    ar_signup in = {required(req, "username", &err), required(req, "email", &err), required(req, "password", &err),
                    required(req, "passkey", &err)};
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, "Some fields are missing or not strings.");
        respond_err(req, &err);
        return;
    }
    long long user_id = 0, tenant_id = 0;
    if (ar_handler_rate_limit(req, "passkey_ip", req->ctx.ip, &err) != 0 ||
        ar_account_signup(&req->ctx, &in, &user_id, &tenant_id, &err) != 0) {
        respond_with_retry(req, &err);
        return;
    }
    ar_ctx self = req->ctx; /* the new user reads their own record */
    self.user_id = user_id;
    self.tenant_id = tenant_id;
    json_t *user = ar_account_get(&self, user_id, &err);
    json_t *body = json_pack("{s:s,s:o}", "message", "Signup successful", "user", user ? user : json_null());
    if (start_session(req, user_id, tenant_id, 0, body, &err) != 0) {
        json_decref(body);
        respond_err(req, &err);
        return;
    }
    ar_respond_json(req, 201, body);
}

/* Shared by /api/auth/login/ and /api/auth/token/: validate fields, per-account limit, authenticate. */
static json_t *authenticate(ar_request *req, ar_error *err)
{
    const char *login = required(req, "username", err);
    const char *password = required(req, "password", err);
    if (err->fields) {
        ar_error_set(err, AR_ERR_VALIDATION, "username and password are required.");
        return NULL;
    }
    if (ar_signin_account_limited(req, login, err) != 0) return NULL;
    return ar_account_authenticate(&req->ctx, login, password, err);
}

void api_auth_login(ar_request *req)
{
    ar_error err = {0};
    json_t *user = authenticate(req, &err);
    if (!user) {
        respond_with_retry(req, &err);
        return;
    }
    long long user_id = json_integer_value(json_object_get(user, "id"));
    long long tenant_id = json_integer_value(json_object_get(user, "personal_tenant_id"));
    json_t *remember = json_object_get(req->json, "remember");
    json_t *body = json_pack("{s:s,s:O}", "message", "Login successful", "user", user);
    json_decref(user);
    if (start_session(req, user_id, tenant_id, json_is_true(remember), body, &err) != 0) {
        json_decref(body);
        respond_err(req, &err);
        return;
    }
    ar_respond_json(req, 200, body);
}

void api_auth_logout(ar_request *req)
{
    if (req->session_id) {
        ar_error err = {0};
        ar_session_end(&req->ctx, req->session_id, &err);
        ar_error_clear(&err);
    }
    ar_clear_session_cookie(req);
    ar_respond_json(req, 200, json_pack("{s:s}", "message", "Logout successful"));
}

void api_auth_token(ar_request *req)
{
    ar_error err = {0};
    json_t *user = authenticate(req, &err);
    if (!user) {
        respond_with_retry(req, &err);
        return;
    }
    ar_ctx ctx = req->ctx;
    ctx.user_id = json_integer_value(json_object_get(user, "id"));
    ctx.tenant_id = json_integer_value(json_object_get(user, "personal_tenant_id"));
    char raw[AR_SECRET_TEXT_SIZE];
    json_t *info = NULL;
    if (ar_token_create(&ctx, "issued by /api/auth/token/", "write", 30, raw, &info, &err) != 0) {
        json_decref(user);
        respond_err(req, &err);
        return;
    }
    json_t *body = json_pack("{s:s,s:s,s:o,s:o}", "token", raw, "token_type", "Bearer", "user", user, "token_info", info);
    sodium_memzero(raw, sizeof raw);
    ar_respond_json(req, 200, body);
}

void api_me(ar_request *req)
{
    ar_error err = {0};
    json_t *user = ar_account_get(&req->ctx, req->ctx.user_id, &err);
    if (!user) {
        respond_err(req, &err);
        return;
    }
    json_t *memberships = ar_account_memberships(&req->ctx, req->ctx.user_id, &err);
    const char *tenant_name = "";
    for (size_t i = 0; memberships && i < json_array_size(memberships); i++) {
        json_t *m = json_array_get(memberships, i);
        if (json_integer_value(json_object_get(m, "tenant_id")) == req->ctx.tenant_id)
            tenant_name = json_string_value(json_object_get(m, "name"));
    }
    json_object_set_new(user, "tenant", json_pack("{s:I,s:s,s:s}", "id", (json_int_t)req->ctx.tenant_id, "name",
                                                  tenant_name ? tenant_name : "", "role", ar_role_name(req->ctx.role)));
    json_object_set_new(user, "memberships", memberships ? memberships : json_array());
    json_object_set_new(user, "auth", json_string(req->auth_kind == AR_AUTH_TOKEN_KIND ? "token" : "session"));
    ar_error_clear(&err);
    ar_respond_json(req, 200, user);
}

void api_tokens_list(ar_request *req)
{
    ar_error err = {0};
    json_t *rows = ar_token_list(&req->ctx, &err);
    if (!rows) {
        respond_err(req, &err);
        return;
    }
    ar_respond_json(req, 200, json_pack("{s:I,s:o}", "count", (json_int_t)json_array_size(rows), "tokens", rows));
}

void api_tokens_create(ar_request *req)
{
    ar_error err = {0};
    json_t *name = json_object_get(req->json, "name");
    json_t *scope = json_object_get(req->json, "scope");
    json_t *days = json_object_get(req->json, "expires_in_days");
    if (name && !json_is_string(name)) ar_error_field(&err, "name", "must be a string");
    if (scope && !json_is_string(scope)) ar_error_field(&err, "scope", "must be a string");
    if (days && !json_is_null(days) && !json_is_integer(days))
        ar_error_field(&err, "expires_in_days", "must be a whole number of days or null");
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        respond_err(req, &err);
        return;
    }
    char raw[AR_SECRET_TEXT_SIZE];
    json_t *info = NULL;
    if (ar_token_create(&req->ctx, json_string_value(name), scope ? json_string_value(scope) : "read",
                        json_is_integer(days) ? json_integer_value(days) : 0, raw, &info, &err) != 0) {
        respond_err(req, &err);
        return;
    }
    json_object_set_new(info, "token", json_string(raw));
    sodium_memzero(raw, sizeof raw);
    ar_respond_json(req, 201, info);
}

void api_tokens_revoke(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id || ar_token_revoke(&req->ctx, id, &err) != 0) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such token.");
        respond_err(req, &err);
        return;
    }
    ar_respond_text(req, 204, "text/plain; charset=utf-8", "", 0);
}

void api_sessions_list(ar_request *req)
{
    ar_error err = {0};
    json_t *rows = ar_session_list(&req->ctx, req->session_id, &err);
    if (!rows) {
        respond_err(req, &err);
        return;
    }
    ar_respond_json(req, 200, json_pack("{s:I,s:o}", "count", (json_int_t)json_array_size(rows), "sessions", rows));
}

void api_sessions_end(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id || ar_session_end(&req->ctx, id, &err) != 0) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such session.");
        respond_err(req, &err);
        return;
    }
    if (id == req->session_id) ar_clear_session_cookie(req);
    ar_respond_text(req, 204, "text/plain; charset=utf-8", "", 0);
}

void api_password_change(ar_request *req)
{
    ar_error err = {0};
    const char *old_pw = required(req, "old_password", &err);
    const char *new_pw = required(req, "new_password", &err);
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        respond_err(req, &err);
        return;
    }
    if (ar_account_change_password(&req->ctx, old_pw, new_pw, req->session_id, &err) != 0) {
        respond_err(req, &err);
        return;
    }
    ar_respond_json(req, 200, json_pack("{s:s}", "message", "Password changed successfully"));
}

void api_password_reset_request(ar_request *req)
{
    ar_error err = {0};
    const char *email = required(req, "email", &err);
    char link_base[600];
    snprintf(link_base, sizeof link_base, "%s/password/reset", req->app->cfg.public_url);
    if (err.fields || ar_password_reset_request(&req->ctx, email, link_base, &err) != 0) {
        if (!err.code) ar_error_set(&err, AR_ERR_VALIDATION, "Email is required");
        respond_err(req, &err);
        return;
    }
    ar_respond_json(req, 200, json_pack("{s:s}", "message",
                                        "If an account exists with this email, a password reset link will be sent"));
}

void api_password_reset_confirm(ar_request *req)
{
    ar_error err = {0};
    const char *token = required(req, "token", &err);
    const char *pw = required(req, "new_password", &err);
    if (err.fields || ar_password_reset_confirm(&req->ctx, token, pw, &err) != 0) {
        if (!err.code) ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        respond_err(req, &err);
        return;
    }
    ar_respond_json(req, 200, json_pack("{s:s}", "message", "Password reset; sign in with the new password."));
}
