/* enhance.c — the AI parts of the pages: the suggestions panel of an entry (loaded by htmx into the entry page,
 * polling while the entry.enhance job runs, inline accept / reject), the "AI" section of the settings page
 * (which provider is used and why; the workspace's opt-in for remote AI) and the staff switch for AI features. */
#include "afterresume/api/handlers.h"
#include "afterresume/domain/ai_jobs.h"
#include "afterresume/domain/suggestions.h"
#include "afterresume/http/response.h"
#include "afterresume/web/common.h"
#include "afterresume/web/handlers.h"

#include <stdio.h>
#include <string.h>

static const char *field_label(const char *field)
{
    if (strcmp(field, "title") == 0) return "Title";
    if (strcmp(field, "summary") == 0) return "Summary";
    if (strcmp(field, "bullet") == 0) return "Résumé bullet";
    if (strcmp(field, "impact_score") == 0) return "Impact score";
    return "Skill";
}

/* The panel's context for an entry; status/errors for a failed start. */
static void panel(ar_request *req, long long entry_id, int status, const char *error, int topup)
{
    ar_error err = {0};
    json_t *list = ar_suggestions_list(&req->ctx, entry_id, &err);
    if (!list) {
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    json_t *open = json_array(), *decided = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(list, "suggestions"), i, s) {
        const char *field = json_string_value(json_object_get(s, "field"));
        json_object_set_new(s, "label", json_string(field_label(field)));
        json_object_set_new(s, "is_skill", json_boolean(strcmp(field, "skill") == 0));
        json_object_set_new(s, "is_score", json_boolean(strcmp(field, "impact_score") == 0));
        const char *st = json_string_value(json_object_get(s, "status"));
        json_object_set_new(s, "is_accepted", json_boolean(strcmp(st, "accepted") == 0));
        json_array_append(strcmp(st, "suggested") == 0 ? open : decided, s);
    }
    const char *why = NULL;
    const ar_ai *ai = ar_ai_for_tenant(&req->ctx, &why, &err);
    ar_error_clear(&err);
    json_t *pending = json_object_get(list, "pending_job");
    json_t *d = json_pack("{s:I,s:o,s:o,s:b,s:b,s:O,s:s,s:b,s:b}", "entry_id", (json_int_t)entry_id, "open", open,
                          "decided", decided, "has_open", json_array_size(open) > 0, "has_decided",
                          json_array_size(decided) > 0, "pending_job", pending, "provider_label",
                          !ai ? "" : ar_ai_is_remote(ai) ? ar_ai_model(ai) : "the local provider (extractive: no data leaves this server)",
                          "can_edit", req->ctx.role >= AR_ROLE_MEMBER, "is_remote", ai && ar_ai_is_remote(ai));
    if (error) json_object_set_new(d, "error", json_string(error));
    if (topup) json_object_set_new(d, "topup", json_true());
    json_decref(list);
    ar_respond_page(req, status, "partials/entry_suggestions", NULL, d);
}

void web_entry_suggestions(ar_request *req)
{
    long long id = ar_req_id_param(req, "id");
    if (!id) {
        ar_respond_error_code(req, AR_ERR_NOT_FOUND, "No such entry.");
        return;
    }
    panel(req, id, 200, NULL, 0);
}

void web_entry_enhance(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id"), job_id = 0;
    if (!id) {
        ar_respond_error_code(req, AR_ERR_NOT_FOUND, "No such entry.");
        return;
    }
    if (ar_entry_enhance_start(&req->ctx, id, &job_id, &err) != 0) {
        if (err.code == AR_ERR_NOT_FOUND) {
            ar_respond_error(req, &err);
            ar_error_clear(&err);
            return;
        }
        char message[300];
        snprintf(message, sizeof message, "%s", err.message);
        int topup = err.code == AR_ERR_INSUFFICIENT_BALANCE;
        int status = ar_err_http_status(err.code);
        ar_error_clear(&err);
        /* htmx swaps 422 answers (see base.mustache); the message and a top-up link show in the panel */
        panel(req, id, status == 429 || status == 402 || status == 503 || status == 403 ? 422 : status, message, topup);
        return;
    }
    if (!ar_req_header(req, "HX-Request")) {
        char url[64];
        snprintf(url, sizeof url, "/worklog/%lld", id);
        ar_respond_redirect(req, 303, url);
        return;
    }
    panel(req, id, 200, NULL, 0);
}

static void decide(ar_request *req, int accept)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *s = id ? ar_suggestion_decide(&req->ctx, id, accept, &err) : NULL;
    if (!s) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such suggestion.");
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    long long entry_id = (long long)json_integer_value(json_object_get(s, "entry_id"));
    json_decref(s);
    if (!ar_req_header(req, "HX-Request")) {
        char url[64];
        snprintf(url, sizeof url, "/worklog/%lld", entry_id);
        ar_respond_redirect(req, 303, url);
        return;
    }
    panel(req, entry_id, 200, NULL, 0);
    /* the entry's own fields may have changed (title, impact score): the page reloads its header on this event */
    ar_response_header(req, "HX-Trigger", "entry-changed");
}

void web_suggestion_accept(ar_request *req)
{
    decide(req, 1);
}

void web_suggestion_reject(ar_request *req)
{
    decide(req, 0);
}

/* ---- settings and staff ---- */

static void ai_settings(ar_request *req, int status, const char *done)
{
    ar_error err = {0};
    const char *why = NULL;
    const ar_ai *ai = ar_ai_for_tenant(&req->ctx, &why, &err);
    int allowed = 0, on = ai ? ar_ai_feature_enabled(&err) : -1;
    if (!ai || on < 0 || ar_ai_tenant_remote_allowed(&req->ctx, &allowed, &err) != 0) {
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    json_t *d = json_pack("{s:s,s:s,s:b,s:b,s:b,s:b}", "why", why ? why : "", "model", ar_ai_model(ai),
                          "remote_allowed", allowed, "ai_enabled", on, "can_change", req->ctx.role >= AR_ROLE_ADMIN,
                          "is_remote", ar_ai_is_remote(ai));
    if (done) json_object_set_new(d, "done", json_string(done));
    ar_respond_page(req, status, "partials/settings_ai", NULL, d);
}

void web_settings_ai(ar_request *req)
{
    ai_settings(req, 200, NULL);
}

void web_settings_ai_update(ar_request *req)
{
    ar_error err = {0};
    const char *v = ar_req_field(req, "remote_allowed");
    int allow = v && strcmp(v, "1") == 0;
    if (ar_ai_tenant_set_remote_allowed(&req->ctx, allow, &err) != 0) {
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    if (!ar_req_header(req, "HX-Request")) {
        ar_respond_redirect(req, 303, "/settings");
        return;
    }
    ai_settings(req, 200, allow ? "Remote AI allowed for this workspace." : "This workspace now uses the local provider only.");
}

void web_admin_ai(ar_request *req)
{
    ar_error err = {0};
    int on = ar_ai_feature_enabled(&err);
    if (on < 0) {
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    const char *done = ar_req_query(req, "done");
    json_t *d = json_pack("{s:b,s:{s:b}}", "ai_enabled", on, "admin_nav", "ai", 1);
    if (done && strcmp(done, "ai_switched") == 0) json_object_set_new(d, "switched", json_true());
    web_page(req, 200, "pages/admin/ai", "AI features", d);
}

void web_admin_ai_update(ar_request *req)
{
    ar_error err = {0};
    const char *v = ar_req_field(req, "enabled");
    if (ar_ai_feature_set(&req->ctx, v && strcmp(v, "1") == 0, &err) != 0) {
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    ar_respond_redirect(req, 303, "/admin/ai?done=ai_switched");
}
