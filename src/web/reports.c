/* reports.c — report pages: the list with the "generate" form, one report (live progress while it is generated,
 * then its sections with every bullet linking to the entries it cites, edit, export, print, delete, share
 * links), and the public read-only page behind a share link. */
#include "afterresume/api/handlers.h"
#include "afterresume/core/alloc.h"
#include "afterresume/domain/reports.h"
#include "afterresume/http/response.h"
#include "afterresume/jobs/jobs.h"
#include "afterresume/render/markdown.h"
#include "afterresume/web/common.h"
#include "afterresume/web/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_labels[][2] = {
    {"weekly", "Weekly"}, {"monthly", "Monthly"}, {"quarterly", "Quarterly"},
    {"review", "Performance review"}, {"resume", "Résumé bullets"}, {"custom", "Custom"},
};

static json_t *kind_options(const char *selected)
{
    json_t *out = json_array();
    for (size_t i = 0; i < sizeof kind_labels / sizeof kind_labels[0]; i++)
        json_array_append_new(out, json_pack("{s:s,s:s,s:b}", "value", kind_labels[i][0], "label", kind_labels[i][1],
                                             "selected", selected && strcmp(selected, kind_labels[i][0]) == 0));
    return out;
}

static const char *kind_label(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof kind_labels / sizeof kind_labels[0]; i++)
        if (strcmp(kind, kind_labels[i][0]) == 0) return kind_labels[i][1];
    return kind ? kind : "";
}

static void fail_page(ar_request *req, ar_error *err)
{
    ar_respond_error(req, err);
    ar_error_clear(err);
}

/* ---- list + generate ---- */

static void list_page(ar_request *req, int status, json_t *form, json_t *errors)
{
    ar_error err = {0};
    json_t *list = ar_report_list(&req->ctx, 50, 0, &err);
    if (!list) {
        json_decref(form);
        json_decref(errors);
        fail_page(req, &err);
        return;
    }
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(list, "results"), i, r) {
        json_object_set_new(r, "kind_label", json_string(kind_label(json_string_value(json_object_get(r, "kind")))));
        const char *st = json_string_value(json_object_get(r, "status"));
        json_object_set_new(r, "is_ready", json_boolean(strcmp(st, "ready") == 0));
        json_object_set_new(r, "is_generating", json_boolean(strcmp(st, "generating") == 0));
        json_object_set_new(r, "is_failed", json_boolean(strcmp(st, "failed") == 0));
    }
    if (!form) form = json_object();
    const char *kind = json_string_value(json_object_get(form, "kind"));
    json_object_set_new(form, "kinds", kind_options(kind ? kind : "weekly"));
    json_t *d = json_pack("{s:O,s:o,s:o,s:{s:b},s:b}", "reports", json_object_get(list, "results"), "form", form,
                          "errors", errors ? errors : json_object(), "nav", "reports", 1, "has_reports",
                          json_array_size(json_object_get(list, "results")) > 0);
    json_decref(list);
    web_page(req, status, "pages/reports", "Reports", d);
}

void web_reports(ar_request *req)
{
    list_page(req, 200, NULL, NULL);
}

void web_reports_generate(ar_request *req)
{
    /* The form's fields, as the API takes them (empty fields left out). */
    json_t *body = json_object();
    const char *kind = ar_req_field(req, "kind");
    if (kind) json_object_set_new(body, "kind", json_string(kind));
    const char *fields[] = {"period_start", "period_end", "title", "tag", "custom_prompt"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const char *v = ar_req_field(req, fields[i]);
        if (v && *v) json_object_set_new(body, fields[i], json_string(v));
    }
    const char *window = ar_req_field(req, "window_days");
    if (window && *window && !json_object_get(body, "period_start")) {
        char *end;
        long long days = strtoll(window, &end, 10);
        json_object_set_new(body, "window_days", *end ? json_string(window) : json_integer(days));
    }
    if (kind && strcmp(kind, "custom") != 0) json_object_del(body, "custom_prompt");
    ar_error err = {0};
    json_t *out = ar_report_generate(&req->ctx, body, &err);
    if (!out) {
        int status = ar_err_http_status(err.code);
        json_t *errors = web_form_errors(&err);
        if (err.code == AR_ERR_INSUFFICIENT_BALANCE) json_object_set_new(errors, "topup", json_true());
        ar_error_clear(&err);
        list_page(req, status == 400 ? 422 : status, body, errors);
        return;
    }
    json_decref(body);
    char url[64];
    snprintf(url, sizeof url, "/reports/%lld", (long long)json_integer_value(json_object_get(out, "report_id")));
    json_decref(out);
    if (ar_req_header(req, "HX-Request")) {
        ar_respond_text(req, 204, "text/plain; charset=utf-8", "", 0);
        ar_response_header(req, "HX-Redirect", url); /* headers go on the response once it exists */
        return;
    }
    ar_respond_redirect(req, 303, url);
}

/* ---- one report ---- */

/* Decorate a report for the page: labels, citation links, flags, the edited text as HTML. */
static void decorate(json_t *r, int public_view)
{
    const char *st = json_string_value(json_object_get(r, "status"));
    json_object_set_new(r, "kind_label", json_string(kind_label(json_string_value(json_object_get(r, "kind")))));
    json_object_set_new(r, "is_ready", json_boolean(st && strcmp(st, "ready") == 0));
    json_object_set_new(r, "is_generating", json_boolean(st && strcmp(st, "generating") == 0));
    json_object_set_new(r, "is_failed", json_boolean(st && strcmp(st, "failed") == 0));
    size_t i, k;
    json_t *section, *item;
    size_t bullets = 0, cited = 0;
    json_array_foreach(json_object_get(r, "sections"), i, section) {
        json_array_foreach(json_object_get(section, "items"), k, item) {
            bullets++;
            json_t *cites = json_object_get(item, "citations");
            json_object_set_new(item, "cited", json_boolean(json_array_size(cites) > 0));
            cited += json_array_size(cites) > 0;
            if (public_view) {
                json_object_set_new(item, "citation_count", json_integer((json_int_t)json_array_size(cites)));
                json_object_del(item, "citations");
                json_object_del(item, "dropped");
                continue;
            }
            json_t *links = json_array();
            size_t j;
            json_t *c;
            json_array_foreach(cites, j, c) {
                json_array_append_new(links, json_pack("{s:I,s:s}", "id", json_integer_value(c), "url", ""));
                json_object_set_new(json_array_get(links, j), "url",
                                    json_sprintf("/worklog/%lld", (long long)json_integer_value(c)));
            }
            json_object_set_new(item, "citation_links", links);
        }
    }
    json_object_set_new(r, "bullet_count", json_integer((json_int_t)bullets));
    json_object_set_new(r, "uncited_count", json_integer((json_int_t)(bullets - cited)));
    const char *md = json_string_value(json_object_get(r, "markdown"));
    if (md) {
        char *html = ar_markdown_to_html(md, 0);
        json_object_set_new(r, "markdown_html", json_string(html));
        ar_free(html);
    }
}

static json_t *load(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *r = id ? ar_report_get(&req->ctx, id, &err) : NULL;
    if (!r) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such report.");
        fail_page(req, &err);
    }
    return r;
}

/* The job's progress for the live fragment. */
static json_t *job_state(ar_request *req, json_t *r)
{
    ar_error err = {0};
    json_t *job_id = json_object_get(r, "job_id");
    json_t *job = json_is_integer(job_id) ? ar_job_get(&req->ctx, json_integer_value(job_id), &err) : NULL;
    ar_error_clear(&err);
    if (!job) return json_pack("{s:i,s:s}", "progress", 0, "progress_message", "Waiting for a worker…");
    return job;
}

static void report_page(ar_request *req, int status, json_t *r, json_t *extra)
{
    decorate(r, 0);
    ar_error err = {0};
    long long id = (long long)json_integer_value(json_object_get(r, "id"));
    json_t *links = ar_share_link_list(&req->ctx, id, &err);
    ar_error_clear(&err);
    if (!links) links = json_array();
    json_t *d = json_pack("{s:o,s:b,s:o,s:{s:b}}", "report", r, "has_share_links", json_array_size(links) > 0,
                          "share_links", links, "nav", "reports", 1);
    if (json_is_true(json_object_get(r, "is_generating"))) json_object_set_new(d, "job", job_state(req, r));
    if (extra) {
        json_object_update(d, extra);
        json_decref(extra);
    }
    char title[240];
    snprintf(title, sizeof title, "%s", json_string_value(json_object_get(r, "title")));
    web_page(req, status, "pages/report", title, d);
}

void web_report_detail(ar_request *req)
{
    json_t *r = load(req);
    if (r) report_page(req, 200, r, NULL);
}

void web_report_progress(ar_request *req)
{
    json_t *r = load(req);
    if (!r) return;
    if (strcmp(json_string_value(json_object_get(r, "status")), "generating") != 0) {
        /* finished: reload the whole page to show the report (or its error); 286 stops the polling */
        json_decref(r);
        ar_respond_text(req, 286, "text/plain; charset=utf-8", "", 0);
        ar_response_header(req, "HX-Refresh", "true");
        return;
    }
    json_t *d = json_pack("{s:o,s:o}", "job", job_state(req, r), "report", r);
    ar_respond_page(req, 200, "partials/report_progress", NULL, d);
}

void web_report_edit(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    const char *md = ar_req_field(req, "markdown");
    const char *title = ar_req_field(req, "title");
    json_t *body = json_object();
    if (title) json_object_set_new(body, "title", json_string(title));
    if (md) json_object_set_new(body, "markdown", *md ? json_string(md) : json_null());
    if (ar_req_field(req, "discard")) json_object_set_new(body, "markdown", json_null());
    json_t *r = id ? ar_report_update(&req->ctx, id, body, &err) : NULL;
    json_decref(body);
    if (!r) {
        if (!id || err.code == AR_ERR_NOT_FOUND || err.code == AR_ERR_FORBIDDEN) {
            if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such report.");
            fail_page(req, &err);
            return;
        }
        json_t *errors = web_form_errors(&err);
        ar_error_clear(&err);
        json_t *again = load(req);
        if (again) report_page(req, 422, again, json_pack("{s:o,s:b}", "errors", errors, "editing", 1));
        else json_decref(errors);
        return;
    }
    json_decref(r);
    char url[64];
    snprintf(url, sizeof url, "/reports/%lld?done=report_saved", id);
    ar_respond_redirect(req, 303, url);
}

void web_report_delete(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such report.");
    if (!id || ar_report_delete(&req->ctx, id, &err) != 0) {
        fail_page(req, &err);
        return;
    }
    ar_respond_redirect(req, 303, "/reports?done=report_deleted");
}

void web_report_share(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    const char *days_text = ar_req_field(req, "expires_in_days");
    char *end = NULL;
    long days = days_text && *days_text ? strtol(days_text, &end, 10) : 0;
    if (end && *end) days = -1; /* not a number: the service answers with the field error */
    if (days < -1 || days > 100000) days = -1;
    json_t *link = id ? ar_share_link_create(&req->ctx, id, (int)days, req->app->cfg.public_url, &err) : NULL;
    if (!link) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such report.");
        if (err.code == AR_ERR_NOT_FOUND || err.code == AR_ERR_FORBIDDEN) {
            fail_page(req, &err);
            return;
        }
        json_t *errors = web_form_errors(&err);
        ar_error_clear(&err);
        json_t *r = load(req);
        if (r) report_page(req, 422, r, json_pack("{s:o}", "share_errors", errors));
        else json_decref(errors);
        return;
    }
    /* The URL is shown once, on this answer (the token is stored hashed). */
    json_t *r = load(req);
    if (!r) {
        json_decref(link);
        return;
    }
    report_page(req, 201, r, json_pack("{s:o}", "new_link", link));
}

void web_share_link_revoke(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    const char *report = ar_req_field(req, "report_id");
    if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such share link.");
    if (!id || ar_share_link_revoke(&req->ctx, id, &err) != 0) {
        fail_page(req, &err);
        return;
    }
    char url[80];
    long long rid = report ? atoll(report) : 0;
    if (rid > 0) snprintf(url, sizeof url, "/reports/%lld?done=share_revoked", rid);
    else snprintf(url, sizeof url, "/reports?done=share_revoked");
    ar_respond_redirect(req, 303, url);
}

/* ---- public share page ---- */

void web_share_view(ar_request *req)
{
    ar_error err = {0};
    json_t *r = ar_share_link_view(ar_req_param(req, "token"), &err);
    if (!r) {
        ar_error_clear(&err);
        web_page(req, 404, "pages/share", "Report not found", json_pack("{s:b}", "missing", 1));
    } else {
        decorate(r, 1);
        char title[240];
        snprintf(title, sizeof title, "%s", json_string_value(json_object_get(r, "title")));
        web_page(req, 200, "pages/share", title, json_pack("{s:o}", "report", r));
    }
    /* after the page: headers go on the response once it exists */
    ar_response_header(req, "X-Robots-Tag", "noindex, nofollow");
}
