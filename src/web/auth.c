/* auth.c — HTML pages for identity: home, sign-in, sign-up (invite links), sign-out, the settings page
 * (password, sessions, API tokens) and the workspace switcher. Forms post back, errors re-render the form
 * in place with 422, success redirects (303) so a reload never re-submits. */
#include "afterresume/api/handlers.h"
#include "afterresume/domain/accounts.h"
#include "afterresume/domain/password_reset.h"
#include "afterresume/domain/sessions.h"
#include "afterresume/domain/tokens.h"
#include "afterresume/http/auth.h"
#include "afterresume/http/response.h"
#include "afterresume/web/common.h"
#include "afterresume/web/handlers.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *field(ar_request *req, const char *name)
{
    const char *v = ar_req_field(req, name);
    return v ? v : "";
}

static void login_page(ar_request *req, int status, const char *username, json_t *errors)
{
    json_t *data = json_pack("{s:{s:s}}", "form", "username", username);
    const char *next = ar_req_field(req, "next");
    if (!next) next = ar_req_query(req, "next");
    if (next && strcmp(web_safe_next(next), "/") != 0) json_object_set_new(data, "next", json_string(next));
    if (errors) json_object_set_new(data, "errors", errors);
    web_page(req, status, "pages/login", "Sign in", data);
}

void web_home(ar_request *req)
{
    if (req->ctx.user_id <= 0) {
        login_page(req, 200, "", NULL);
        return;
    }
    web_page(req, 200, "pages/home", "Home", NULL);
}

void web_login(ar_request *req)
{
    if (req->ctx.user_id > 0) {
        ar_respond_redirect(req, 303, "/");
        return;
    }
    login_page(req, 200, "", NULL);
}

/* Begin a browser session and redirect; on failure re-render with the error. */
static int begin_session(ar_request *req, long long user_id, long long tenant_id, int remember, ar_error *err)
{
    char token[AR_SECRET_TEXT_SIZE];
    ar_session_info s;
    if (req->session_id) {
        ar_error ignored = {0};
        ar_session_end(&req->ctx, req->session_id, &ignored);
        ar_error_clear(&ignored);
    }
    if (ar_session_create(&req->ctx, user_id, tenant_id, remember, token, &s, err) != 0) return -1;
    ar_set_session_cookie(req, token, remember);
    sodium_memzero(token, sizeof token);
    return 0;
}

void web_login_submit(ar_request *req)
{
    ar_error err = {0};
    const char *login = field(req, "username");
    const char *password = field(req, "password");
    if (!*login) ar_error_field(&err, "username", "Enter your username or e-mail address.");
    if (!*password) ar_error_field(&err, "password", "Enter your password.");
    json_t *user = NULL;
    if (!err.fields && ar_signin_account_limited(req, login, &err) == 0)
        user = ar_account_authenticate(&req->ctx, login, password, &err);
    if (!user) {
        if (err.fields && !err.code) ar_error_set(&err, AR_ERR_VALIDATION, "Please fill in both fields.");
        int status = err.code == AR_ERR_RATE_LIMITED ? 429 : err.code == AR_ERR_UNAVAILABLE ? 503 : 422;
        login_page(req, status, login, web_form_errors(&err));
        if (status == 429 && req->retry_after[0]) ar_response_header(req, "Retry-After", req->retry_after);
        ar_error_clear(&err);
        return;
    }
    long long user_id = json_integer_value(json_object_get(user, "id"));
    long long tenant_id = json_integer_value(json_object_get(user, "personal_tenant_id"));
    json_decref(user);
    if (begin_session(req, user_id, tenant_id, strcmp(field(req, "remember"), "1") == 0, &err) != 0) {
        login_page(req, 503, login, web_form_errors(&err));
        ar_error_clear(&err);
        return;
    }
    ar_respond_redirect(req, 303, web_safe_next(ar_req_field(req, "next")));
}

static void signup_page(ar_request *req, int status, json_t *form, json_t *errors, int prefilled)
{
    json_t *data = json_pack("{s:o,s:b}", "form", form, "passkey_prefilled", prefilled);
    if (errors) json_object_set_new(data, "errors", errors);
    web_page(req, status, "pages/signup", "Create your account", data);
}

void web_signup(ar_request *req)
{
    const char *passkey = ar_req_query(req, "passkey");
    signup_page(req, 200, json_pack("{s:s,s:s,s:s}", "username", "", "email", "", "passkey", passkey ? passkey : ""),
                NULL, passkey && *passkey);
}

void web_signup_submit(ar_request *req)
{
    ar_error err = {0};
    ar_signup in = {field(req, "username"), field(req, "email"), field(req, "password"), field(req, "passkey")};
    long long user_id = 0, tenant_id = 0;
    if (ar_handler_rate_limit(req, "passkey_ip", req->ctx.ip, &err) != 0 ||
        ar_account_signup(&req->ctx, &in, &user_id, &tenant_id, &err) != 0 ||
        begin_session(req, user_id, tenant_id, 0, &err) != 0) {
        int status = err.code == AR_ERR_VALIDATION ? 422 : ar_err_http_status(err.code);
        signup_page(req, status,
                    json_pack("{s:s,s:s,s:s}", "username", in.username, "email", in.email, "passkey", in.passkey),
                    web_form_errors(&err), 0);
        if (status == 429 && req->retry_after[0]) ar_response_header(req, "Retry-After", req->retry_after);
        ar_error_clear(&err);
        return;
    }
    ar_respond_redirect(req, 303, "/?done=signed_up");
}

void web_logout(ar_request *req)
{
    if (req->ctx.user_id <= 0) {
        ar_respond_redirect(req, 303, "/login");
        return;
    }
    web_page(req, 200, "pages/logout", "Sign out", NULL);
}

void web_logout_submit(ar_request *req)
{
    if (req->session_id) {
        ar_error err = {0};
        ar_session_end(&req->ctx, req->session_id, &err);
        ar_error_clear(&err);
    }
    ar_clear_session_cookie(req);
    ar_respond_redirect(req, 303, "/login?done=signed_out");
}

/* ---- settings ---------------------------------------------------------------------------------------- */

static void settings_page(ar_request *req, int status, json_t *extra)
{
    ar_error err = {0};
    json_t *data = extra ? extra : json_object();
    json_t *user = ar_account_get(&req->ctx, req->ctx.user_id, &err);
    json_t *sessions = ar_session_list(&req->ctx, req->session_id, &err);
    json_t *tokens = ar_token_list(&req->ctx, &err);
    if (!user || !sessions || !tokens) {
        json_decref(user);
        json_decref(sessions);
        json_decref(tokens);
        json_decref(data);
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    json_object_set(data, "user", user); /* the page's user, with the e-mail address */
    json_object_set_new(data, "profile", user);
    json_object_set_new(data, "sessions", sessions);
    json_object_set_new(data, "tokens", tokens);
    json_object_set_new(data, "nav", json_pack("{s:b}", "settings", 1));
    web_page(req, status, "pages/settings", "Settings", data);
}

void web_settings(ar_request *req)
{
    settings_page(req, 200, NULL);
}

void web_settings_password(ar_request *req)
{
    ar_error err = {0};
    const char *current = field(req, "current_password");
    const char *next = field(req, "new_password");
    const char *confirm = ar_req_field(req, "new_password_confirm");
    if (confirm && strcmp(confirm, next) != 0) {
        ar_error_field(&err, "new_password_confirm", "The two new passwords differ.");
        ar_error_set(&err, AR_ERR_VALIDATION, "The password was not changed.");
    } else if (ar_account_change_password(&req->ctx, current, next, req->session_id, &err) == 0) {
        ar_respond_redirect(req, 303, "/settings?done=password_changed");
        return;
    }
    json_t *data = json_pack("{s:o}", "errors", web_form_errors(&err));
    settings_page(req, err.code == AR_ERR_VALIDATION ? 422 : ar_err_http_status(err.code), data);
    ar_error_clear(&err);
}

void web_settings_session_end(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id || ar_session_end(&req->ctx, id, &err) != 0) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such session.");
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    if (id == req->session_id) {
        ar_clear_session_cookie(req);
        ar_respond_redirect(req, 303, "/login?done=signed_out");
        return;
    }
    ar_respond_redirect(req, 303, "/settings?done=session_ended");
}

void web_settings_sessions_end_others(ar_request *req)
{
    ar_error err = {0};
    if (ar_session_end_others(&req->ctx, req->session_id, &err) < 0) {
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    ar_respond_redirect(req, 303, "/settings?done=sessions_ended");
}

void web_settings_token_create(ar_request *req)
{
    ar_error err = {0};
    const char *days_text = field(req, "expires_in_days");
    long long days = 0;
    if (*days_text) {
        char *end;
        days = strtoll(days_text, &end, 10);
        if (*end || days < 1 || days > 3650) {
            ar_error_field(&err, "expires_in_days", "Enter a number of days from 1 to 3650, or leave it empty.");
            ar_error_set(&err, AR_ERR_VALIDATION, "The token was not created.");
        }
    }
    char raw[AR_SECRET_TEXT_SIZE];
    json_t *info = NULL;
    if (!err.code && ar_token_create(&req->ctx, field(req, "name"), field(req, "scope"), days, raw, &info, &err) == 0) {
        /* Shown once, on this response only: the page is not cached (no-store) and the token is not stored. */
        json_t *data = json_pack("{s:{s:O,s:s}}", "new_token", "name", json_object_get(info, "name"), "token", raw);
        sodium_memzero(raw, sizeof raw);
        json_decref(info);
        settings_page(req, 201, data);
        return;
    }
    json_t *data = json_pack("{s:o,s:{s:s,s:s,s:b,s:s}}", "errors", web_form_errors(&err), "form", "name",
                             field(req, "name"), "scope", field(req, "scope"), "scope_write",
                             strcmp(field(req, "scope"), "write") == 0, "expires_in_days", days_text);
    settings_page(req, err.code == AR_ERR_VALIDATION ? 422 : ar_err_http_status(err.code), data);
    ar_error_clear(&err);
}

void web_settings_token_revoke(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id || ar_token_revoke(&req->ctx, id, &err) != 0) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such token.");
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    ar_respond_redirect(req, 303, "/settings?done=token_revoked");
}

void web_tenant_switch(ar_request *req)
{
    ar_error err = {0};
    const char *id_text = field(req, "tenant_id");
    char *end;
    long long tenant_id = strtoll(id_text, &end, 10);
    char token[AR_SECRET_TEXT_SIZE];
    if (!*id_text || *end || tenant_id <= 0 || req->auth_kind != AR_AUTH_SESSION_KIND ||
        ar_session_switch_tenant(&req->ctx, req->session_id, tenant_id, token, &err) != 0) {
        if (!err.code) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such workspace.");
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    ar_set_session_cookie(req, token, 0);
    sodium_memzero(token, sizeof token);
    ar_respond_redirect(req, 303, "/?done=switched");
}

/* ---- forgotten password ------------------------------------------------------------------------------------ */

void web_password_forgot(ar_request *req)
{
    web_page(req, 200, "pages/password_forgot", "Reset your password", json_pack("{s:{s:s}}", "form", "email", ""));
}

void web_password_forgot_submit(ar_request *req)
{
    ar_error err = {0};
    char link_base[600];
    snprintf(link_base, sizeof link_base, "%s/password/reset", req->app->cfg.public_url);
    const char *email = field(req, "email");
    if (ar_password_reset_request(&req->ctx, email, link_base, &err) != 0) {
        int status = err.code == AR_ERR_VALIDATION ? 422 : ar_err_http_status(err.code);
        web_page(req, status, "pages/password_forgot", "Reset your password",
                 json_pack("{s:{s:s},s:o}", "form", "email", email, "errors", web_form_errors(&err)));
        ar_error_clear(&err);
        return;
    }
    /* The same answer whether or not the address has an account. */
    web_page(req, 200, "pages/password_forgot", "Reset your password", json_pack("{s:b}", "sent", 1));
}

void web_password_reset(ar_request *req)
{
    const char *token = ar_req_query(req, "token");
    int valid = ar_password_reset_valid(&req->ctx, token);
    web_page(req, valid ? 200 : 404, "pages/password_reset", "Choose a new password",
             json_pack("{s:s,s:b}", "token", valid ? token : "", "invalid", !valid));
}

void web_password_reset_submit(ar_request *req)
{
    ar_error err = {0};
    const char *token = field(req, "token");
    const char *pw = field(req, "new_password");
    const char *confirm = ar_req_field(req, "new_password_confirm");
    if (confirm && strcmp(confirm, pw) != 0) {
        ar_error_field(&err, "new_password_confirm", "The two passwords differ.");
        ar_error_set(&err, AR_ERR_VALIDATION, "The password was not changed.");
    }
    if (err.code || ar_password_reset_confirm(&req->ctx, token, pw, &err) != 0) {
        int invalid = err.code == AR_ERR_NOT_FOUND;
        web_page(req, invalid ? 404 : 422, "pages/password_reset", "Choose a new password",
                 json_pack("{s:s,s:b,s:o}", "token", token, "invalid", invalid, "errors", web_form_errors(&err)));
        ar_error_clear(&err);
        return;
    }
    ar_respond_redirect(req, 303, "/login?done=password_reset");
}
