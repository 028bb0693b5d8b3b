/* skills.c — skills pages: the list grouped by kind with evidence counts and a 12-month sparkline, recompute
 * (the skills.extract job, followed on its job page), and one skill with the entries that show it, rename,
 * hide / show, confirm and merge. */
#include "afterresume/api/handlers.h"
#include "afterresume/core/buf.h"
#include "afterresume/domain/skills.h"
#include "afterresume/http/response.h"
#include "afterresume/web/common.h"
#include "afterresume/web/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kinds[][2] = {
    {"technology", "Technologies"}, {"tool", "Tools"}, {"skill", "Skills"}, {"method", "Methods"}, {"domain", "Domains"},
};

/* "x,y x,y ..." for a 120×24 SVG polyline of the monthly counts. */
static void sparkline(json_t *skill)
{
    json_t *months = json_object_get(skill, "months");
    size_t n = json_array_size(months);
    json_int_t max = 1;
    size_t i;
    json_t *v;
    json_array_foreach(months, i, v) if (json_integer_value(v) > max) max = json_integer_value(v);
    ar_buf b = AR_BUF_INIT;
    json_array_foreach(months, i, v) {
        double x = n > 1 ? 120.0 * (double)i / (double)(n - 1) : 0;
        double y = 22.0 - 20.0 * (double)json_integer_value(v) / (double)max;
        ar_buf_printf(&b, "%s%.1f,%.1f", i ? " " : "", x, y);
    }
    json_object_set_new(skill, "sparkline", json_string(ar_buf_cstr(&b)));
    ar_buf_free(&b);
}

static void fail(ar_request *req, ar_error *err)
{
    ar_respond_error(req, err);
    ar_error_clear(err);
}

void web_skills(ar_request *req)
{
    ar_error err = {0};
    const char *hidden = ar_req_query(req, "hidden");
    int show_hidden = hidden && strcmp(hidden, "1") == 0;
    json_t *list = ar_skills_list(&req->ctx, show_hidden, &err);
    if (!list) {
        fail(req, &err);
        return;
    }
    json_t *groups = json_array();
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        json_t *items = json_array();
        size_t i;
        json_t *s;
        json_array_foreach(list, i, s) {
            if (strcmp(json_string_value(json_object_get(s, "kind")), kinds[k][0]) != 0) continue;
            sparkline(s);
            json_array_append(items, s);
        }
        if (json_array_size(items)) json_array_append_new(groups, json_pack("{s:s,s:o}", "label", kinds[k][1], "skills", items));
        else json_decref(items);
    }
    json_t *d = json_pack("{s:o,s:b,s:b,s:{s:b},s:b}", "groups", groups, "has_skills", json_array_size(list) > 0,
                          "show_hidden", show_hidden, "nav", "skills", 1, "can_write", req->ctx.role >= AR_ROLE_MEMBER);
    json_decref(list);
    web_page(req, 200, "pages/skills", "Skills", d);
}

void web_skills_recompute(ar_request *req)
{
    ar_error err = {0};
    const char *days_text = ar_req_field(req, "window_days");
    char *end = NULL;
    long days = days_text && *days_text ? strtol(days_text, &end, 10) : 90;
    if ((end && *end) || days < 1 || days > 3650) days = -1; /* the service answers with the field error */
    long long job_id = 0;
    if (ar_skills_recompute_start(&req->ctx, (int)days, &job_id, &err) != 0) {
        fail(req, &err);
        return;
    }
    char url[64];
    snprintf(url, sizeof url, "/jobs/%lld", job_id);
    ar_respond_redirect(req, 303, url);
}

static void skill_page(ar_request *req, int status, json_t *extra)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *skill = id ? ar_skill_get(&req->ctx, id, &err) : NULL;
    if (!skill) {
        json_decref(extra);
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such skill.");
        fail(req, &err);
        return;
    }
    sparkline(skill);
    json_t *others = ar_skills_list(&req->ctx, 0, &err);
    ar_error_clear(&err);
    json_t *choices = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(others, i, s) {
        if (json_integer_value(json_object_get(s, "id")) == id) continue;
        json_array_append_new(choices, json_pack("{s:O,s:O,s:O}", "id", json_object_get(s, "id"), "display_name",
                                                 json_object_get(s, "display_name"), "evidence_count",
                                                 json_object_get(s, "evidence_count")));
    }
    json_decref(others);
    json_t *d = json_pack("{s:o,s:o,s:b,s:{s:b},s:b}", "skill", skill, "merge_choices", choices, "has_merge_choices",
                          json_array_size(choices) > 0, "nav", "skills", 1, "can_write", req->ctx.role >= AR_ROLE_MEMBER);
    if (extra) {
        json_object_update(d, extra);
        json_decref(extra);
    }
    char title[160];
    snprintf(title, sizeof title, "%s", json_string_value(json_object_get(skill, "display_name")));
    web_page(req, status, "pages/skill", title, d);
}

void web_skill_detail(ar_request *req)
{
    skill_page(req, 200, NULL);
}

void web_skill_update(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *body = json_object();
    const char *name = ar_req_field(req, "display_name");
    const char *hidden = ar_req_field(req, "hidden");
    const char *confirmed = ar_req_field(req, "confirmed");
    if (name) json_object_set_new(body, "display_name", json_string(name));
    if (hidden) json_object_set_new(body, "hidden", json_boolean(strcmp(hidden, "1") == 0));
    if (confirmed) json_object_set_new(body, "confirmed", json_boolean(strcmp(confirmed, "1") == 0));
    json_t *skill = id ? ar_skill_update(&req->ctx, id, body, &err) : NULL;
    json_decref(body);
    if (!skill) {
        if (!id || err.code == AR_ERR_NOT_FOUND) {
            if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such skill.");
            fail(req, &err);
            return;
        }
        json_t *errors = web_form_errors(&err);
        ar_error_clear(&err);
        skill_page(req, 422, json_pack("{s:o}", "errors", errors));
        return;
    }
    json_decref(skill);
    char url[64];
    snprintf(url, sizeof url, "/skills/%lld", id);
    ar_respond_redirect(req, 303, url);
}

void web_skill_merge(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    const char *source = ar_req_field(req, "source_id");
    long long source_id = source ? atoll(source) : 0;
    json_t *skill = id && source_id > 0 ? ar_skills_merge(&req->ctx, id, &source_id, 1, &err) : NULL;
    if (!skill) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such skill.");
        else if (source_id <= 0) {
            ar_error_field(&err, "source_ids", "Pick a skill to merge into this one.");
            ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        }
        if (err.code == AR_ERR_NOT_FOUND) {
            fail(req, &err);
            return;
        }
        json_t *errors = web_form_errors(&err);
        ar_error_clear(&err);
        skill_page(req, 422, json_pack("{s:o}", "errors", errors));
        return;
    }
    json_decref(skill);
    char url[64];
    snprintf(url, sizeof url, "/skills/%lld", id);
    ar_respond_redirect(req, 303, url);
}
