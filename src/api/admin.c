/* admin.c — JSON API for platform staff (users, invite passkeys, audit log, rate limits) and for tenant
 * owners/admins (members, tenant passkeys, the tenant's audit log). Access is enforced twice: by the route
 * table (auth level, role) and by the services themselves. */
#include "afterresume/api/handlers.h"
#include "afterresume/api/params.h"
#include "afterresume/domain/accounts.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/outbox.h"
#include "afterresume/domain/passkeys.h"
#include "afterresume/domain/ratelimit.h"
#include "afterresume/http/response.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static void fail(ar_request *req, ar_error *err)
{
    ar_respond_error(req, err);
    ar_error_clear(err);
}

static void respond_or_fail(ar_request *req, int status, json_t *body, ar_error *err)
{
    if (body)
        ar_respond_json(req, status, body);
    else
        fail(req, err);
}

/* ---- passkeys (staff: any tenant or platform; tenant admins: their tenant) ---------------------------------- */

static void passkey_mint(ar_request *req, int staff)
{
    ar_error err = {0};
    ar_passkey_options o;
    if (ar_parse_passkey_options(req, staff, &o, &err) != 0) {
        fail(req, &err);
        return;
    }
    char raw[64];
    long long id = 0;
    if (ar_passkey_mint(&req->ctx, &o, raw, &id, &err) != 0) {
        fail(req, &err);
        return;
    }
    char link[512];
    snprintf(link, sizeof link, "%s/signup?passkey=%s", req->app->cfg.public_url, raw);
    if (o.email && *o.email && ar_outbox_send_invite(&req->ctx, o.email, link, &err) != 0) ar_error_clear(&err);
    json_t *body = json_pack("{s:s,s:I,s:s,s:s}", "message", "Passkey created; it is shown only once.", "id",
                             (json_int_t)id, "raw_key", raw, "link", link);
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(link, sizeof link);
    ar_respond_json(req, 201, body);
}

void api_admin_passkeys_create(ar_request *req) { passkey_mint(req, 1); }
void api_tenant_passkeys_create(ar_request *req) { passkey_mint(req, 0); }

void api_passkeys_list(ar_request *req)
{
    ar_error err = {0};
    const char *status = ar_req_query(req, "status");
    ar_ctx ctx = req->ctx;
    if (strncmp(req->path, "/api/tenant/", 12) == 0) ctx.is_staff = 0; /* the workspace's own invites */
    respond_or_fail(req, 200, ar_passkey_list(&ctx, status && *status ? status : NULL, &err), &err);
}

void api_passkeys_detail(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *body = id ? ar_passkey_history(&req->ctx, id, &err) : NULL;
    if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such passkey.");
    respond_or_fail(req, 200, body, &err);
}

void api_passkeys_revoke(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id || ar_passkey_revoke(&req->ctx, id, &err) != 0) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such passkey.");
        fail(req, &err);
        return;
    }
    ar_respond_text(req, 204, "text/plain; charset=utf-8", "", 0);
}

/* ---- users (staff) --------------------------------------------------------------------------------------- */

void api_admin_users_list(ar_request *req)
{
    ar_error err = {0};
    long long limit = 50, after = 0;
    ar_query_int(req, "limit", 1, 200, 50, &limit, &err);
    ar_query_int(req, "after_id", 1, 1000000000000000LL, 0, &after, &err);
    const char *active = ar_req_query(req, "is_active");
    int active_filter = -1;
    if (active && *active) {
        if (strcmp(active, "true") == 0) active_filter = 1;
        else if (strcmp(active, "false") == 0) active_filter = 0;
        else ar_error_field(&err, "is_active", "must be true or false");
    }
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    const char *search = ar_req_query(req, "search");
    respond_or_fail(req, 200, ar_account_list(&req->ctx, search, active_filter, (int)limit, after, &err), &err);
}

/* PATCH {is_active, disable_reason, is_staff}: each change audited by the service. */
void api_admin_users_update(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id) {
        ar_error_set(&err, AR_ERR_NOT_FOUND, "No such user.");
        fail(req, &err);
        return;
    }
    json_t *active = json_object_get(req->json, "is_active");
    json_t *staff = json_object_get(req->json, "is_staff");
    json_t *reason = json_object_get(req->json, "disable_reason");
    if (active && !json_is_boolean(active)) ar_error_field(&err, "is_active", "must be true or false");
    if (staff && !json_is_boolean(staff)) ar_error_field(&err, "is_staff", "must be true or false");
    if (reason && !json_is_string(reason)) ar_error_field(&err, "disable_reason", "must be a string");
    if (!active && !staff) ar_error_field(&err, "is_active", "nothing to change: send is_active and/or is_staff");
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    if (active && ar_account_set_active(&req->ctx, id, json_is_true(active), json_string_value(reason), &err) != 0) {
        fail(req, &err);
        return;
    }
    if (staff && ar_account_set_staff(&req->ctx, id, json_is_true(staff), &err) != 0) {
        fail(req, &err);
        return;
    }
    json_t *user = ar_account_get(&req->ctx, id, &err);
    if (!user) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, json_pack("{s:s,s:o}", "message", "User updated successfully", "user", user));
}

void api_admin_users_reset_password(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *pw = json_object_get(req->json, "new_password");
    if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such user.");
    else if (!json_is_string(pw)) {
        ar_error_field(&err, "new_password", "is required");
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
    }
    if (err.code || ar_account_set_password(&req->ctx, id, json_string_value(pw), &err) != 0) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, json_pack("{s:s}", "message", "Password reset successfully; the user's sessions ended."));
}

/* ---- audit log (staff: all; tenant admins: their tenant) ------------------------------------------------------ */

void api_audit_list(ar_request *req)
{
    ar_error err = {0};
    ar_audit_filter f;
    if (ar_parse_audit_filter(req, &f, &err) != 0) {
        fail(req, &err);
        return;
    }
    respond_or_fail(req, 200, ar_audit_list(&req->ctx, &f, &err), &err);
}

void api_audit_export_csv(ar_request *req)
{
    ar_error err = {0};
    ar_audit_filter f;
    ar_buf out = AR_BUF_INIT;
    if (ar_parse_audit_filter(req, &f, &err) != 0 || ar_audit_export_csv(&req->ctx, &f, &out, &err) != 0) {
        ar_buf_free(&out);
        fail(req, &err);
        return;
    }
    ar_respond_text(req, 200, "text/csv; charset=utf-8", ar_buf_cstr(&out), out.len);
    ar_response_header(req, "Content-Disposition", "attachment; filename=\"audit-events.csv\"");
    ar_buf_free(&out);
}

/* ---- rate limits (staff) -------------------------------------------------------------------------------------- */

void api_admin_ratelimits_list(ar_request *req)
{
    ar_error err = {0};
    const char *cls = ar_req_query(req, "class");
    json_t *live = ar_ratelimit_list(cls && *cls ? cls : NULL, &err);
    if (!live) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, json_pack("{s:o,s:o}", "classes", ar_ratelimit_classes(), "counters", live));
}

void api_admin_ratelimits_reset(ar_request *req)
{
    ar_error err = {0};
    char b1[8], b2[8];
    const char *cls = ar_body_text(req, "class", b1, sizeof b1, &err);
    const char *subject = ar_body_text(req, "subject", b2, sizeof b2, &err);
    if (!cls || !*cls) {
        ar_error_field(&err, "class", "is required");
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
    }
    if (err.code || ar_ratelimit_reset(cls, subject && *subject ? subject : NULL, &err) != 0) {
        fail(req, &err);
        return;
    }
    json_t *details = json_pack("{s:s,s:s?}", "class", cls, "subject", subject);
    ar_audit_event ev = {.action = "ratelimit.reset", .target_type = "ratelimit", .target_id = cls, .success = 1,
                         .details = details};
    ar_audit_record(&req->ctx, &ev);
    json_decref(details);
    ar_respond_json(req, 200, json_pack("{s:s}", "message", "Counter reset."));
}

/* ---- tenant members (owners/admins) ----------------------------------------------------------------------- */

void api_tenant_members_list(ar_request *req)
{
    ar_error err = {0};
    respond_or_fail(req, 200, ar_tenant_members(&req->ctx, &err), &err);
}

void api_tenant_members_update(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *role = json_object_get(req->json, "role");
    ar_role r = json_is_string(role) ? ar_role_from_string(json_string_value(role)) : AR_ROLE_NONE;
    if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such member.");
    else if (r == AR_ROLE_NONE) {
        ar_error_field(&err, "role", "must be owner, admin, member or read_only");
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
    }
    if (err.code || ar_tenant_set_role(&req->ctx, id, r, &err) != 0) {
        fail(req, &err);
        return;
    }
    respond_or_fail(req, 200, ar_tenant_members(&req->ctx, &err), &err);
}

void api_tenant_members_remove(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id || ar_tenant_remove_member(&req->ctx, id, &err) != 0) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such member.");
        fail(req, &err);
        return;
    }
    ar_respond_text(req, 204, "text/plain; charset=utf-8", "", 0);
}
