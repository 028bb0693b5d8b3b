/* enhance.c — JSON API for entry enhancement and the AI settings: start the entry.enhance job, list an entry's
 * suggestions, accept / reject one, read which provider the workspace uses, switch AI features (staff). */
#include "afterresume/api/handlers.h"
#include "afterresume/domain/ai_jobs.h"
#include "afterresume/domain/suggestions.h"
#include "afterresume/http/response.h"

#include <stdio.h>

static void fail(ar_request *req, ar_error *err)
{
    ar_respond_error(req, err);
    ar_error_clear(err);
}

void api_worklogs_enhance(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id"), job_id = 0;
    if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such entry.");
    if (!id || ar_entry_enhance_start(&req->ctx, id, &job_id, &err) != 0) {
        fail(req, &err);
        return;
    }
    json_t *out = json_pack("{s:I,s:I}", "job_id", (json_int_t)job_id, "entry_id", (json_int_t)id);
    json_object_set_new(out, "status_url", json_sprintf("/api/jobs/%lld/", job_id));
    ar_respond_json(req, 202, out);
}

void api_worklogs_suggestions(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *list = id ? ar_suggestions_list(&req->ctx, id, &err) : NULL;
    if (!list) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such entry.");
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, list);
}

static void decide(ar_request *req, int accept)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *s = id ? ar_suggestion_decide(&req->ctx, id, accept, &err) : NULL;
    if (!s) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such suggestion.");
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, s);
}

void api_suggestions_accept(ar_request *req)
{
    decide(req, 1);
}

void api_suggestions_reject(ar_request *req)
{
    decide(req, 0);
}

void api_ai_settings(ar_request *req)
{
    ar_error err = {0};
    const char *why = NULL;
    const ar_ai *ai = ar_ai_for_tenant(&req->ctx, &why, &err);
    int allowed = 0, on = ai ? ar_ai_feature_enabled(&err) : -1;
    if (!ai || on < 0 || ar_ai_tenant_remote_allowed(&req->ctx, &allowed, &err) != 0) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, json_pack("{s:s,s:s,s:s,s:b,s:b,s:b}", "provider", ar_ai_provider(ai), "model",
                                        ar_ai_model(ai), "why", why ? why : "", "remote_allowed", allowed,
                                        "ai_enabled", on, "can_change", req->ctx.role >= AR_ROLE_ADMIN));
}

void api_ai_settings_update(ar_request *req)
{
    ar_error err = {0};
    json_t *v = json_object_get(req->json, "remote_allowed");
    if (!json_is_boolean(v)) {
        ar_error_field(&err, "remote_allowed", "Send true or false.");
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    if (ar_ai_tenant_set_remote_allowed(&req->ctx, json_is_true(v), &err) != 0) {
        fail(req, &err);
        return;
    }
    api_ai_settings(req);
}

void api_admin_ai(ar_request *req)
{
    ar_error err = {0};
    json_t *v = json_object_get(req->json, "enabled");
    if (!json_is_boolean(v)) {
        ar_error_field(&err, "enabled", "Send true or false.");
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    if (ar_ai_feature_set(&req->ctx, json_is_true(v), &err) != 0) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, json_pack("{s:b}", "enabled", json_is_true(v)));
}
