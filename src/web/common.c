/* common.c — helpers shared by the HTML handlers: the signed-in page context (workspace switcher), flash
 * messages named by a fixed code in the query string (never echoing user text), safe "next" targets. */
#include "afterresume/web/common.h"
#include "afterresume/domain/accounts.h"
#include "afterresume/http/response.h"

#include <string.h>

static const struct {
    const char *code;
    const char *level;
    const char *message;
} flash_messages[] = {
    {"signed_out", "info", "You are signed out."},
    {"password_reset", "success", "Your password was changed. Sign in with the new one."},
    {"signed_up", "success", "Welcome to AfterResume: your account and workspace are ready."},
    {"password_changed", "success", "Your password was changed and your other sessions were signed out."},
    {"session_ended", "success", "The session was signed out."},
    {"sessions_ended", "success", "All your other sessions were signed out."},
    {"token_revoked", "success", "The API token was revoked."},
    {"switched", "success", "Switched workspace."},
    {"role_changed", "success", "The member's role was changed."},
    {"member_removed", "success", "The member was removed from this workspace."},
    {"passkey_revoked", "success", "The invite passkey was revoked."},
    {"user_updated", "success", "The user was updated."},
    {"limit_reset", "success", "The rate-limit counter was reset."},
    {"report_saved", "success", "The report was saved."},
    {"report_deleted", "success", "The report was deleted."},
    {"share_revoked", "success", "The share link was revoked: it no longer opens the report."},
};

void web_page(ar_request *req, int status, const char *page, const char *title, json_t *data)
{
    if (!data) data = json_object();
    if (req->ctx.user_id > 0) {
        ar_error err = {0};
        json_t *memberships = ar_account_memberships(&req->ctx, req->ctx.user_id, &err);
        ar_error_clear(&err);
        json_t *tenants = json_array();
        const char *tenant_name = "";
        for (size_t i = 0; memberships && i < json_array_size(memberships); i++) {
            json_t *m = json_array_get(memberships, i);
            int current = json_integer_value(json_object_get(m, "tenant_id")) == req->ctx.tenant_id;
            if (current) tenant_name = json_string_value(json_object_get(m, "name"));
            json_array_append_new(tenants, json_pack("{s:O,s:O,s:O,s:b}", "id", json_object_get(m, "tenant_id"), "name",
                                                     json_object_get(m, "name"), "role", json_object_get(m, "role"),
                                                     "current", current));
        }
        if (json_array_size(tenants) > 1)
            json_object_set_new(data, "tenants", tenants);
        else
            json_decref(tenants);
        json_t *ctx_tenant = json_pack("{s:I,s:s,s:s,s:b,s:b}", "id", (json_int_t)req->ctx.tenant_id, "name",
                                       tenant_name ? tenant_name : "", "role", ar_role_name(req->ctx.role), "is_admin",
                                       req->ctx.role >= AR_ROLE_ADMIN, "can_switch", json_array_size(memberships) > 1);
        json_object_set_new(data, "tenant", ctx_tenant);
        json_decref(memberships);
        json_t *status = web_status_context(req);
        if (status) json_object_set_new(data, "status", status);
    }
    const char *done = ar_req_query(req, "done");
    for (size_t i = 0; done && i < sizeof flash_messages / sizeof flash_messages[0]; i++) {
        if (strcmp(done, flash_messages[i].code) == 0) {
            json_t *flashes = json_object_get(data, "flashes");
            if (!flashes) {
                flashes = json_array();
                json_object_set_new(data, "flashes", flashes);
            }
            json_array_append_new(flashes, json_pack("{s:s,s:s}", "level", flash_messages[i].level, "message",
                                                     flash_messages[i].message));
        }
    }
    ar_respond_page(req, status, page, title, data);
}

const char *web_safe_next(const char *next)
{
    if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\' || strlen(next) > 512) return "/";
    for (const char *p = next; *p; p++)
        if ((unsigned char)*p < 0x21 || *p == '\\') return "/";
    return next;
}

/* An error page for form handlers: field errors become {errors:{field:msg}}, the message goes to errors.form. */
json_t *web_form_errors(const ar_error *err)
{
    json_t *errors = err->fields ? json_deep_copy(err->fields) : json_object();
    if (!json_object_get(errors, "form"))
        json_object_set_new(errors, "form", json_string(err->message[0] ? err->message : ar_err_default_message(err->code)));
    return errors;
}
