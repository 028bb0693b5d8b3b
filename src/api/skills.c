/* skills.c — JSON API for the caller's skills: list, evidence of one, recompute (the skills.extract job),
 * rename / hide / confirm, merge. Other users' skills answer 404. */
#include "afterresume/api/handlers.h"
#include "afterresume/api/params.h"
#include "afterresume/domain/skills.h"
#include "afterresume/http/response.h"

#include <stdio.h>
#include <string.h>

static void fail(ar_request *req, ar_error *err)
{
    ar_respond_error(req, err);
    ar_error_clear(err);
}

void api_skills_list(ar_request *req)
{
    ar_error err = {0};
    const char *hidden = ar_req_query(req, "include_hidden");
    json_t *list = ar_skills_list(&req->ctx, hidden && (strcmp(hidden, "1") == 0 || strcmp(hidden, "true") == 0), &err);
    if (!list) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, json_pack("{s:o}", "results", list));
}

void api_skills_evidence(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *skill = id ? ar_skill_get(&req->ctx, id, &err) : NULL;
    if (!skill) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such skill.");
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, skill);
}

void api_skills_recompute(ar_request *req)
{
    ar_error err = {0};
    long long days = 90, job_id = 0;
    if (req->json) ar_body_int(req, "window_days", 1, 3650, 90, &days, &err);
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    if (ar_skills_recompute_start(&req->ctx, (int)days, &job_id, &err) != 0) {
        fail(req, &err);
        return;
    }
    json_t *out = json_pack("{s:I}", "job_id", (json_int_t)job_id);
    json_object_set_new(out, "status_url", json_sprintf("/api/jobs/%lld/", job_id));
    ar_respond_json(req, 202, out);
}

void api_skills_update(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *skill = id ? ar_skill_update(&req->ctx, id, req->json, &err) : NULL;
    if (!skill) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such skill.");
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, skill);
}

void api_skills_merge(ar_request *req)
{
    ar_error err = {0};
    json_t *target = json_object_get(req->json, "target_id");
    json_t *sources = json_object_get(req->json, "source_ids");
    long long ids[50];
    size_t n = 0;
    if (!json_is_integer(target) || json_integer_value(target) < 1) ar_error_field(&err, "target_id", "Send the id of the skill to keep.");
    if (!json_is_array(sources) || json_array_size(sources) == 0 || json_array_size(sources) > 50) {
        ar_error_field(&err, "source_ids", "Send 1 to 50 skill ids to merge into it.");
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(sources, i, v) {
            if (!json_is_integer(v) || json_integer_value(v) < 1) {
                ar_error_field(&err, "source_ids", "Skill ids are positive integers.");
                break;
            }
            ids[n++] = (long long)json_integer_value(v);
        }
    }
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    json_t *skill = ar_skills_merge(&req->ctx, (long long)json_integer_value(target), ids, n, &err);
    if (!skill) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, skill);
}
