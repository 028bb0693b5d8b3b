/* reports.c — JSON API for reports and share links: generate (202 + job), list, read, edit, delete, export as
 * Markdown or HTML, create/list/revoke share links. Every read is the author's own (row-level security); another
 * user's report answers 404. */
#include "afterresume/api/handlers.h"
#include "afterresume/api/params.h"
#include "afterresume/core/alloc.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/reports.h"
#include "afterresume/http/response.h"

#include <stdio.h>
#include <string.h>

static void fail(ar_request *req, ar_error *err)
{
    ar_respond_error(req, err);
    ar_error_clear(err);
}

static long long report_id(ar_request *req, ar_error *err)
{
    long long id = ar_req_id_param(req, "id");
    if (!id) ar_error_set(err, AR_ERR_NOT_FOUND, "No such report.");
    return id;
}

void api_reports_generate(ar_request *req)
{
    ar_error err = {0};
    json_t *out = ar_report_generate(&req->ctx, req->json, &err);
    if (!out) {
        fail(req, &err);
        return;
    }
    json_object_set_new(out, "status_url", json_sprintf("/api/jobs/%lld/", (long long)json_integer_value(json_object_get(out, "job_id"))));
    ar_respond_json(req, 202, out);
}

void api_reports_list(ar_request *req)
{
    ar_error err = {0};
    long long limit = 20, before = 0;
    ar_query_int(req, "limit", 1, 100, 20, &limit, &err);
    ar_query_int(req, "before_id", 1, 1000000000000000LL, 0, &before, &err);
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    json_t *list = ar_report_list(&req->ctx, (int)limit, before, &err);
    if (!list) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, list);
}

void api_reports_detail(ar_request *req)
{
    ar_error err = {0};
    long long id = report_id(req, &err);
    json_t *r = id ? ar_report_get(&req->ctx, id, &err) : NULL;
    if (!r) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, r);
}

void api_reports_update(ar_request *req)
{
    ar_error err = {0};
    long long id = report_id(req, &err);
    json_t *r = id ? ar_report_update(&req->ctx, id, req->json, &err) : NULL;
    if (!r) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, r);
}

void api_reports_delete(ar_request *req)
{
    ar_error err = {0};
    long long id = report_id(req, &err);
    if (!id || ar_report_delete(&req->ctx, id, &err) != 0) {
        fail(req, &err);
        return;
    }
    ar_respond_text(req, 204, "text/plain; charset=utf-8", "", 0);
}

/* A file name for the download: report-<id>-<period_end>.<ext> (ASCII only). */
static void disposition(ar_request *req, const json_t *r, const char *ext)
{
    char value[160];
    snprintf(value, sizeof value, "attachment; filename=\"report-%lld-%s.%s\"",
             (long long)json_integer_value(json_object_get(r, "id")),
             json_string_value(json_object_get(r, "period_end")), ext);
    ar_response_header(req, "Content-Disposition", value);
}

void api_reports_export(ar_request *req)
{
    ar_error err = {0};
    const char *format = ar_req_query(req, "format");
    if (!format) format = "md";
    if (strcmp(format, "md") != 0 && strcmp(format, "html") != 0) {
        ar_error_field(&err, "format", "Use md or html.");
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    long long id = report_id(req, &err);
    json_t *r = id ? ar_report_get(&req->ctx, id, &err) : NULL;
    if (!r) {
        fail(req, &err);
        return;
    }
    if (strcmp(json_string_value(json_object_get(r, "status")), "ready") != 0) {
        json_decref(r);
        ar_error_set(&err, AR_ERR_CONFLICT, "The report is not ready yet (it is %s).",
                     json_string_value(json_object_get(r, "status")));
        fail(req, &err);
        return;
    }
    ar_buf out = AR_BUF_INIT;
    int html = strcmp(format, "html") == 0;
    if (html) ar_report_render_html(r, &out);
    else ar_report_render_markdown(r, &out);
    char target[24];
    snprintf(target, sizeof target, "%lld", id);
    json_t *details = json_pack("{s:s}", "format", format);
    ar_audit_event ev = {.action = "report.exported", .target_type = "report", .target_id = target, .success = 1,
                         .details = details};
    ar_audit_record(&req->ctx, &ev);
    json_decref(details);
    ar_respond_text(req, 200, html ? "text/html; charset=utf-8" : "text/markdown; charset=utf-8", ar_buf_cstr(&out),
                    out.len);
    disposition(req, r, html ? "html" : "md"); /* headers go on the response once it exists */
    ar_buf_free(&out);
    json_decref(r);
}

void api_reports_share_create(ar_request *req)
{
    ar_error err = {0};
    long long id = report_id(req, &err);
    long long days = 0;
    if (req->json) ar_body_int(req, "expires_in_days", 0, 365, 0, &days, &err);
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    json_t *link = id ? ar_share_link_create(&req->ctx, id, (int)days, req->app->cfg.public_url, &err) : NULL;
    if (!link) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 201, link);
}

void api_reports_share_list(ar_request *req)
{
    ar_error err = {0};
    long long id = report_id(req, &err);
    json_t *links = id ? ar_share_link_list(&req->ctx, id, &err) : NULL;
    if (!links) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, links);
}

void api_share_links_revoke(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such share link.");
    if (!id || ar_share_link_revoke(&req->ctx, id, &err) != 0) {
        fail(req, &err);
        return;
    }
    ar_respond_text(req, 204, "text/plain; charset=utf-8", "", 0);
}
