/* admin.c — HTML pages for workspace owners/admins (team: members and invites) and for platform staff
 * (users, passkeys, audit log, e-mail outbox, rate limits). The same services as the JSON API. */
#include "afterresume/api/handlers.h"
#include "afterresume/api/params.h"
#include "afterresume/core/buf.h"
#include "afterresume/domain/accounts.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/outbox.h"
#include "afterresume/domain/passkeys.h"
#include "afterresume/domain/passwords.h"
#include "afterresume/domain/ratelimit.h"
#include "afterresume/http/response.h"
#include "afterresume/web/common.h"
#include "afterresume/web/handlers.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(ar_request *req, ar_error *err)
{
    ar_respond_error(req, err);
    ar_error_clear(err);
}

/* Mark the current admin section (admin_nav.<item>) and the Admin entry of the main navigation. */
static json_t *with_admin_nav(json_t *data, const char *item)
{
    json_object_set_new(data, "admin_nav", json_pack("{s:b}", item, 1));
    json_object_set_new(data, "nav", json_pack("{s:b}", "admin", 1));
    return data;
}

/* Mint from a form; on success returns {raw, link} to show once, else NULL with err. */
static json_t *mint_from_form(ar_request *req, int staff, ar_error *err)
{
    ar_passkey_options o;
    char raw[64];
    long long id = 0;
    if (ar_parse_passkey_options(req, staff, &o, err) != 0 || ar_passkey_mint(&req->ctx, &o, raw, &id, err) != 0)
        return NULL;
    char link[512];
    snprintf(link, sizeof link, "%s/signup?passkey=%s", req->app->cfg.public_url, raw);
    if (o.email && *o.email) { /* best effort: the link is shown on the page either way */
        ar_error mail_err = {0};
        ar_outbox_send_invite(&req->ctx, o.email, link, &mail_err);
        ar_error_clear(&mail_err);
    }
    json_t *shown = json_pack("{s:s,s:s}", "raw", raw, "link", link);
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(link, sizeof link);
    return shown;
}

/* Rows of a passkey list get can_revoke (anything not yet revoked can be). */
static void mark_revocable(json_t *passkeys)
{
    size_t i;
    json_t *pk;
    json_array_foreach(passkeys, i, pk)
    {
        const char *st = json_string_value(json_object_get(pk, "status"));
        json_object_set_new(pk, "can_revoke", json_boolean(!st || strcmp(st, "revoked") != 0));
    }
}

/* The mint form's values, refilled after an error (selects re-selected through form.role_<value>). */
static json_t *mint_form_values(ar_request *req)
{
    json_t *form = json_object();
    const char *keys[] = {"tenant_id", "max_uses", "expires_in_days", "note", "email"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *v = ar_req_field(req, keys[k]);
        if (v) json_object_set_new(form, keys[k], json_string(v));
    }
    const char *role = ar_req_field(req, "role");
    if (role && (strcmp(role, "admin") == 0 || strcmp(role, "read_only") == 0)) {
        char key[32];
        snprintf(key, sizeof key, "role_%s", role);
        json_object_set_new(form, key, json_true());
    }
    return form;
}

/* Passkey services name the expiry field "expires_in"; the forms call it expires_in_days. */
static json_t *mint_errors(const ar_error *err)
{
    json_t *errors = web_form_errors(err);
    json_t *v = json_object_get(errors, "expires_in");
    if (v) {
        json_object_set(errors, "expires_in_days", v);
        json_object_del(errors, "expires_in");
    }
    return errors;
}

typedef void (*page_fn)(ar_request *req, int status, json_t *data);

/* Mint from the form and show the passkey once on the page, or the page again with the errors. */
static void mint_and_show(ar_request *req, int staff, page_fn page)
{
    ar_error err = {0};
    json_t *shown = mint_from_form(req, staff, &err);
    if (!shown) {
        page(req, 422, json_pack("{s:o,s:o}", "errors", mint_errors(&err), "form", mint_form_values(req)));
        ar_error_clear(&err);
        return;
    }
    page(req, 201, json_pack("{s:o}", "new_passkey", shown));
}

static void revoke_and_return(ar_request *req, const char *location)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id || ar_passkey_revoke(&req->ctx, id, &err) != 0) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such passkey.");
        fail(req, &err);
        return;
    }
    ar_respond_redirect(req, 303, location);
}

/* ---- team (tenant owners/admins) -------------------------------------------------------------------------- */

static void team_page(ar_request *req, int status, json_t *data)
{
    ar_error err = {0};
    ar_ctx team = req->ctx; /* this workspace's invites only, even for staff */
    team.is_staff = 0;
    json_t *members = ar_tenant_members(&req->ctx, &err);
    json_t *passkeys = members ? ar_passkey_list(&team, NULL, &err) : NULL;
    if (!members || !passkeys) {
        json_decref(members);
        json_decref(data);
        fail(req, &err);
        return;
    }
    json_t *rows = json_object_get(members, "members");
    size_t i;
    json_t *m;
    json_array_foreach(rows, i, m)
    {
        long long uid = json_integer_value(json_object_get(m, "user_id"));
        const char *role = json_string_value(json_object_get(m, "role"));
        int is_self = uid == req->ctx.user_id;
        /* only owners manage owners; nobody edits themselves here */
        int can_edit = !is_self && (req->ctx.role == AR_ROLE_OWNER || (role && strcmp(role, "owner") != 0));
        json_object_set_new(m, "is_self", json_boolean(is_self));
        json_object_set_new(m, "can_edit", json_boolean(can_edit));
        if (role) {
            char key[32];
            snprintf(key, sizeof key, "role_%s", role);
            json_object_set_new(m, key, json_true());
        }
    }
    json_t *d = data ? data : json_object();
    json_object_set(d, "members", rows);
    mark_revocable(json_object_get(passkeys, "passkeys"));
    json_object_set(d, "passkeys", json_object_get(passkeys, "passkeys"));
    json_object_set_new(d, "nav", json_pack("{s:b}", "team", 1));
    json_decref(members);
    json_decref(passkeys);
    web_page(req, status, "pages/tenant_settings", "Team", d);
}

void web_team(ar_request *req)
{
    team_page(req, 200, NULL);
}

void web_team_role(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    const char *role = ar_req_field(req, "role");
    ar_role r = ar_role_from_string(role);
    if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such member.");
    else if (r == AR_ROLE_NONE) ar_error_set(&err, AR_ERR_VALIDATION, "Choose a role.");
    if (err.code || ar_tenant_set_role(&req->ctx, id, r, &err) != 0) {
        team_page(req, err.code == AR_ERR_NOT_FOUND ? 404 : 422, json_pack("{s:o}", "errors", web_form_errors(&err)));
        ar_error_clear(&err);
        return;
    }
    ar_respond_redirect(req, 303, "/tenant/settings?done=role_changed");
}

void web_team_remove(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id || ar_tenant_remove_member(&req->ctx, id, &err) != 0) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such member.");
        team_page(req, err.code == AR_ERR_NOT_FOUND ? 404 : 422, json_pack("{s:o}", "errors", web_form_errors(&err)));
        ar_error_clear(&err);
        return;
    }
    ar_respond_redirect(req, 303, "/tenant/settings?done=member_removed");
}

void web_team_passkey_mint(ar_request *req)
{
    mint_and_show(req, 0, team_page);
}

void web_team_passkey_revoke(ar_request *req)
{
    revoke_and_return(req, "/tenant/settings?done=passkey_revoked");
}

/* ---- staff: users ---------------------------------------------------------------------------------------- */

static void users_page(ar_request *req, int status, json_t *data)
{
    ar_error err = {0};
    long long after = 0;
    ar_query_int(req, "after", 1, 1000000000000000LL, 0, &after, &err);
    const char *q = ar_req_query(req, "q");
    const char *active = ar_req_query(req, "active");
    int active_filter = active && strcmp(active, "true") == 0 ? 1 : active && strcmp(active, "false") == 0 ? 0 : -1;
    json_t *list = err.fields ? NULL : ar_account_list(&req->ctx, q, active_filter, 50, after, &err);
    if (!list) {
        json_decref(data);
        if (!err.code) ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    json_t *d = data ? data : json_object();
    with_admin_nav(d, "users");
    json_object_set(d, "users", json_object_get(list, "users"));
    json_object_set_new(d, "form", json_pack("{s:s,s:b,s:b}", "q", q ? q : "", "active_true", active_filter == 1,
                                             "active_false", active_filter == 0));
    json_t *next = json_object_get(list, "next_after_id");
    if (json_is_integer(next)) {
        ar_buf url = AR_BUF_INIT;
        ar_buf_printf(&url, "/admin/users?after=%lld", (long long)json_integer_value(next));
        if (active_filter >= 0) ar_buf_printf(&url, "&active=%s", active_filter ? "true" : "false");
        if (q && *q) {
            ar_buf_puts(&url, "&q=");
            ar_buf_put_urlencoded(&url, q, NULL);
        }
        json_object_set_new(d, "next_url", json_string(ar_buf_cstr(&url)));
        ar_buf_free(&url);
    }
    json_decref(list);
    web_page(req, status, "pages/admin/users", "Users", d);
}

void web_admin_users(ar_request *req)
{
    users_page(req, 200, NULL);
}

void web_admin_user_action(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    const char *action = ar_req_field(req, "action");
    json_t *shown = NULL;
    int rc = -1;
    if (!id) {
        ar_error_set(&err, AR_ERR_NOT_FOUND, "No such user.");
    } else if (!action) {
        ar_error_set(&err, AR_ERR_VALIDATION, "Choose an action.");
    } else if (strcmp(action, "disable") == 0 || strcmp(action, "enable") == 0) {
        rc = ar_account_set_active(&req->ctx, id, action[0] == 'e', ar_req_field(req, "reason"), &err);
    } else if (strcmp(action, "make_staff") == 0 || strcmp(action, "remove_staff") == 0) {
        rc = ar_account_set_staff(&req->ctx, id, action[0] == 'm', &err);
    } else if (strcmp(action, "reset_password") == 0) {
        char *pw = ar_password_generate();
        json_t *user = ar_account_get(&req->ctx, id, &err);
        rc = user ? ar_account_set_password(&req->ctx, id, pw, &err) : -1;
        if (rc == 0)
            shown = json_pack("{s:{s:O,s:s}}", "reset_result", "username", json_object_get(user, "username"), "password", pw);
        json_decref(user);
        sodium_memzero(pw, strlen(pw));
        free(pw);
    } else {
        ar_error_set(&err, AR_ERR_VALIDATION, "Unknown action.");
    }
    if (rc != 0) {
        users_page(req, err.code == AR_ERR_NOT_FOUND ? 404 : 422, json_pack("{s:o}", "errors", web_form_errors(&err)));
        ar_error_clear(&err);
        return;
    }
    if (shown) {
        users_page(req, 200, shown); /* the new password is shown once, on this response only */
        return;
    }
    ar_respond_redirect(req, 303, "/admin/users?done=user_updated");
}

/* ---- staff: passkeys ------------------------------------------------------------------------------------ */

static void passkeys_page(ar_request *req, int status, json_t *data)
{
    ar_error err = {0};
    const char *filter = ar_req_query(req, "status");
    json_t *list = ar_passkey_list(&req->ctx, filter && *filter ? filter : NULL, &err);
    if (!list) {
        json_decref(data);
        fail(req, &err);
        return;
    }
    json_t *d = data ? data : json_object();
    with_admin_nav(d, "passkeys");
    mark_revocable(json_object_get(list, "passkeys"));
    json_object_set(d, "passkeys", json_object_get(list, "passkeys"));
    json_t *form = json_object_get(d, "form");
    if (!form) {
        form = json_object();
        json_object_set_new(d, "form", form);
    }
    json_object_set_new(form, "status", json_string(filter ? filter : ""));
    if (filter && strlen(filter) < 20) {
        char key[32];
        snprintf(key, sizeof key, "status_%s", filter);
        json_object_set_new(form, key, json_true());
    }
    json_decref(list);
    web_page(req, status, "pages/admin/passkeys", "Invite passkeys", d);
}

void web_admin_passkeys(ar_request *req)
{
    passkeys_page(req, 200, NULL);
}

void web_admin_passkey_mint(ar_request *req)
{
    mint_and_show(req, 1, passkeys_page);
}

void web_admin_passkey_revoke(ar_request *req)
{
    revoke_and_return(req, "/admin/passkeys?done=passkey_revoked");
}

void web_admin_passkey_detail(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *h = id ? ar_passkey_history(&req->ctx, id, &err) : NULL;
    if (!h) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such passkey.");
        fail(req, &err);
        return;
    }
    json_t *pk = json_object_get(h, "passkey");
    const char *st = json_string_value(json_object_get(pk, "status"));
    json_object_set_new(pk, "can_revoke", json_boolean(!st || strcmp(st, "revoked") != 0));
    with_admin_nav(h, "passkeys");
    web_page(req, 200, "pages/admin/passkey", "Passkey", h);
}

/* ---- staff: audit log ------------------------------------------------------------------------------------ */

void web_admin_audit(ar_request *req)
{
    ar_error err = {0};
    ar_audit_filter f;
    json_t *list = NULL;
    int filters_ok = ar_parse_audit_filter(req, &f, &err) == 0;
    /* The page filters by username; the service by id. */
    const char *actor = ar_req_query(req, "actor");
    char actor_id[24] = "";
    if (filters_ok && actor && *actor) {
        f.actor_id = ar_account_find_id(&req->ctx, actor, &err);
        if (f.actor_id <= 0) {
            ar_error_clear(&err);
            ar_error_field(&err, "actor", "No user has this username.");
            ar_error_set(&err, AR_ERR_VALIDATION, "Some filters are not valid.");
            filters_ok = 0;
        } else {
            snprintf(actor_id, sizeof actor_id, "%lld", f.actor_id);
        }
    }
    if (filters_ok) list = ar_audit_list(&req->ctx, &f, &err);
    if (!list && err.code != AR_ERR_VALIDATION) {
        fail(req, &err);
        return;
    }
    json_t *d = with_admin_nav(json_object(), "audit");
    json_t *form = json_object();
    const char *keys[] = {"actor", "action", "tenant_id", "since", "until", "success"};
    ar_buf q = AR_BUF_INIT; /* the same filters for the next page and the CSV link, re-encoded */
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *v = ar_req_query(req, keys[k]);
        if (!v || !*v) continue;
        json_object_set_new(form, keys[k], json_string(v));
        const char *name = keys[k];
        if (k == 0) {
            name = "actor_id";
            v = actor_id;
        }
        ar_buf_printf(&q, "&%s=", name);
        ar_buf_put_urlencoded(&q, v, NULL);
    }
    const char *success = ar_req_query(req, "success");
    json_object_set_new(form, "success_true", json_boolean(success && strcmp(success, "true") == 0));
    json_object_set_new(form, "success_false", json_boolean(success && strcmp(success, "false") == 0));
    json_object_set_new(d, "form", form);
    if (!list) {
        json_object_set_new(d, "errors", web_form_errors(&err));
        json_object_set_new(d, "events", json_array());
        ar_error_clear(&err);
        ar_buf_free(&q);
        web_page(req, 400, "pages/admin/audit", "Audit log", d);
        return;
    }
    json_t *events = json_object_get(list, "events");
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
    {
        char *details = json_dumps(json_object_get(e, "details"), JSON_COMPACT | JSON_SORT_KEYS);
        json_object_set_new(e, "details_text", json_string(details && strcmp(details, "{}") != 0 ? details : ""));
        free(details);
    }
    json_object_set(d, "events", events);
    json_t *next = json_object_get(list, "next_before_id");
    if (json_is_integer(next)) {
        ar_buf u = AR_BUF_INIT;
        ar_buf_printf(&u, "/admin/audit?before_id=%lld%s", (long long)json_integer_value(next), ar_buf_cstr(&q));
        json_object_set_new(d, "next_url", json_string(ar_buf_cstr(&u)));
        ar_buf_free(&u);
    }
    ar_buf csv = AR_BUF_INIT;
    ar_buf_printf(&csv, "/api/admin/audit-events/export.csv?limit=200%s", ar_buf_cstr(&q));
    json_object_set_new(d, "csv_url", json_string(ar_buf_cstr(&csv)));
    ar_buf_free(&csv);
    ar_buf_free(&q);
    json_decref(list);
    web_page(req, 200, "pages/admin/audit", "Audit log", d);
}

/* ---- staff: outbox and rate limits ---------------------------------------------------------------------- */

void web_admin_outbox(ar_request *req)
{
    ar_error err = {0};
    json_t *messages = ar_outbox_list(&req->ctx, 100, &err);
    if (!messages) {
        fail(req, &err);
        return;
    }
    json_t *d = with_admin_nav(json_object(), "outbox");
    json_object_set_new(d, "messages", messages);
    web_page(req, 200, "pages/admin/outbox", "E-mail outbox", d);
}

static void ratelimits_page(ar_request *req, int status, json_t *data)
{
    ar_error err = {0};
    json_t *live = ar_ratelimit_list(NULL, &err);
    if (!live) {
        json_decref(data);
        fail(req, &err);
        return;
    }
    json_t *d = data ? data : json_object();
    with_admin_nav(d, "ratelimits");
    json_object_set_new(d, "limits", live);
    json_object_set_new(d, "classes", ar_ratelimit_classes());
    web_page(req, status, "pages/admin/ratelimits", "Rate limits", d);
}

void web_admin_ratelimits(ar_request *req)
{
    ratelimits_page(req, 200, NULL);
}

void web_admin_ratelimit_reset(ar_request *req)
{
    ar_error err = {0};
    const char *cls = ar_req_field(req, "class");
    const char *subject = ar_req_field(req, "subject");
    if (!cls || ar_ratelimit_reset(cls, subject && *subject ? subject : NULL, &err) != 0) {
        if (!cls) ar_error_set(&err, AR_ERR_VALIDATION, "Choose a class.");
        ratelimits_page(req, 422, json_pack("{s:o}", "errors", web_form_errors(&err)));
        ar_error_clear(&err);
        return;
    }
    json_t *details = json_pack("{s:s,s:s?}", "class", cls, "subject", subject);
    ar_audit_event ev = {.action = "ratelimit.reset", .target_type = "ratelimit", .target_id = cls, .success = 1,
                         .details = details};
    ar_audit_record(&req->ctx, &ev);
    json_decref(details);
    ar_respond_redirect(req, 303, "/admin/ratelimits?done=limit_reset");
}
