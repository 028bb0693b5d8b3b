/* jobs.c — HTML pages for background jobs: my jobs (tenant admins: the workspace's) with a status filter and
 * pagination, a job's detail with its timeline and a live progress fragment that htmx polls every second while
 * the job is queued or running (each answer also swaps the timeline in out of band; a finished job answers 286
 * with a fragment that no longer polls), cancel, the
 * "Export my account" button, and the staff page of every job with status/type filters, retry and cancel. */
#include "afterresume/api/handlers.h"
#include "afterresume/api/params.h"
#include "afterresume/core/buf.h"
#include "afterresume/domain/exports.h"
#include "afterresume/http/response.h"
#include "afterresume/jobs/jobs.h"
#include "afterresume/web/common.h"
#include "afterresume/web/handlers.h"

#include <stdio.h>
#include <string.h>

#define PAGE_SIZE 25

static const char *const statuses[] = {"queued", "running", "succeeded", "failed", "cancelled"};

static void fail(ar_request *req, ar_error *err)
{
    ar_respond_error(req, err);
    ar_error_clear(err);
}

static const char *type_label(const char *type)
{
    static const struct {
        const char *type, *label;
    } labels[] = {{"export.account", "Account export"}, {"email.send", "E-mail delivery"}, {"noop", "Test job"},
                  {"cleanup.exports", "Delete expired exports"}};
    for (size_t i = 0; type && i < sizeof labels / sizeof labels[0]; i++)
        if (strcmp(type, labels[i].type) == 0) return labels[i].label;
    return type ? type : "";
}

static int job_active(const json_t *job)
{
    const char *st = json_string_value(json_object_get(job, "status"));
    return st && (strcmp(st, "queued") == 0 || strcmp(st, "running") == 0);
}

/* Fields the templates use besides the job's own: label, progress bucket, flags, export download. */
static void decorate(ar_request *req, json_t *job)
{
    const char *st = json_string_value(json_object_get(job, "status"));
    long long id = json_integer_value(json_object_get(job, "id"));
    json_object_set_new(job, "label", json_string(type_label(json_string_value(json_object_get(job, "type")))));
    if (st) {
        char key[32];
        snprintf(key, sizeof key, "is_%s", st);
        json_object_set_new(job, key, json_true());
    }
    int active = job_active(job);
    json_object_set_new(job, "active", json_boolean(active));
    json_object_set_new(job, "can_cancel", json_boolean(active && (req->ctx.is_staff || req->ctx.role >= AR_ROLE_MEMBER)));
    json_object_set_new(job, "can_retry", json_boolean(st && strcmp(st, "failed") == 0 &&
                                                       (req->ctx.is_staff || req->ctx.role >= AR_ROLE_ADMIN)));
    json_object_set_new(job, "is_mine", json_boolean(json_integer_value(json_object_get(job, "user_id")) == req->ctx.user_id));
    const char *expires = NULL;
    if (ar_export_downloadable(job, &expires)) {
        char url[80];
        snprintf(url, sizeof url, "/api/exports/%lld/download", id);
        json_t *result = json_object_get(job, "result");
        long long size = json_integer_value(json_object_get(result, "size_bytes"));
        char human[32];
        if (size >= 1024 * 1024) snprintf(human, sizeof human, "%.1f MB", size / (1024.0 * 1024.0));
        else if (size >= 1024) snprintf(human, sizeof human, "%.1f kB", size / 1024.0);
        else snprintf(human, sizeof human, "%lld bytes", size);
        json_object_set_new(job, "download", json_pack("{s:s,s:s,s:s,s:I}", "url", url, "expires_at", expires, "size",
                                                       human, "files",
                                                       (json_int_t)json_integer_value(json_object_get(result, "files"))));
    } else if (json_object_get(json_object_get(job, "result"), "object_key")) {
        json_object_set_new(job, "download_expired", json_true());
    }
    /* the result as readable lines for jobs other than exports */
    json_t *result = json_object_get(job, "result");
    if (json_is_object(result) && !json_object_get(job, "download")) {
        json_t *lines = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(result, k, v)
        {
            if (strcmp(k, "object_key") == 0) continue;
            char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            if (text && strlen(text) > 200) strcpy(text + 197, "...");
            json_array_append_new(lines, json_pack("{s:s,s:s}", "key", k, "value", text ? text : ""));
            free(text);
        }
        json_object_set_new(job, "has_result", json_boolean(json_array_size(lines) > 0));
        json_object_set_new(job, "result_lines", lines);
    }
    json_object_del(job, "payload"); /* internal; never shown */
}

/* ---- my jobs ---- */

static json_t *status_options(const char *current)
{
    json_t *opts = json_array();
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        json_array_append_new(opts, json_pack("{s:s,s:b}", "value", statuses[i], "selected",
                                              current && strcmp(current, statuses[i]) == 0));
    return opts;
}

static void jobs_page(ar_request *req, int status, json_t *data)
{
    ar_error err = {0};
    long long before = 0;
    ar_query_int(req, "before", 1, 1000000000000000LL, 0, &before, &err);
    const char *filter = ar_req_query(req, "status");
    if (filter && !*filter) filter = NULL;
    json_t *list = err.fields ? NULL : ar_job_list(&req->ctx, filter, PAGE_SIZE + 1, before, &err);
    if (!list) {
        json_decref(data);
        if (!err.code) ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    json_t *d = data ? data : json_object();
    if (json_array_size(list) > PAGE_SIZE) {
        json_array_remove(list, PAGE_SIZE);
        ar_buf url = AR_BUF_INIT;
        ar_buf_printf(&url, "/jobs?before=%lld",
                      (long long)json_integer_value(json_object_get(json_array_get(list, PAGE_SIZE - 1), "id")));
        if (filter) ar_buf_printf(&url, "&status=%s", filter); /* one of the known statuses: checked above */
        json_object_set_new(d, "next_url", json_string(ar_buf_cstr(&url)));
        ar_buf_free(&url);
    }
    size_t i;
    json_t *job;
    json_array_foreach(list, i, job) decorate(req, job);
    json_object_set_new(d, "jobs", list);
    json_object_set_new(d, "filter", json_pack("{s:s,s:o,s:b}", "status", filter ? filter : "", "statuses",
                                               status_options(filter), "active", filter != NULL || before > 0));
    json_object_set_new(d, "sees_all", json_boolean(req->ctx.role >= AR_ROLE_ADMIN || req->ctx.is_staff));
    json_object_set_new(d, "nav", json_pack("{s:b}", "jobs", 1));
    web_page(req, status, "pages/jobs", "Jobs", d);
}

void web_jobs(ar_request *req)
{
    jobs_page(req, 200, NULL);
}

void web_jobs_export(ar_request *req)
{
    ar_error err = {0};
    long long job_id = 0;
    int retry_after = 0;
    if (ar_export_start(&req->ctx, &job_id, &retry_after, &err) != 0) {
        int status = ar_err_http_status(err.code);
        if (status == 429 && retry_after > 0) snprintf(req->retry_after, sizeof req->retry_after, "%d", retry_after);
        jobs_page(req, status == 429 ? 429 : 422, json_pack("{s:o}", "errors", web_form_errors(&err)));
        if (status == 429 && req->retry_after[0]) ar_response_header(req, "Retry-After", req->retry_after);
        ar_error_clear(&err);
        return;
    }
    char url[64];
    snprintf(url, sizeof url, "/jobs/%lld", job_id);
    ar_respond_redirect(req, 303, url);
}

/* ---- one job ---- */

/* The job (decorated) or NULL after answering the error (404 for another workspace's or user's job). */
static json_t *load_job(ar_request *req, int with_events)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *job = id ? ar_job_get(&req->ctx, id, &err) : NULL;
    json_t *events = job && with_events ? ar_job_events(&req->ctx, id, &err) : NULL;
    if (!job || (with_events && !events)) {
        json_decref(job);
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such job.");
        fail(req, &err);
        return NULL;
    }
    decorate(req, job);
    if (events) json_object_set_new(job, "events", events);
    return job;
}

void web_job_detail(ar_request *req)
{
    json_t *job = load_job(req, 1);
    if (!job) return;
    json_t *d = json_pack("{s:o,s:{s:b}}", "job", job, "nav", "jobs", 1);
    char title[64];
    snprintf(title, sizeof title, "Job %lld", (long long)json_integer_value(json_object_get(job, "id")));
    web_page(req, 200, "pages/jobs_detail", title, d);
}

void web_job_progress(ar_request *req)
{
    json_t *job = load_job(req, 1);
    if (!job) return;
    int active = job_active(job);
    /* each answer also refreshes the page's timeline out of band */
    json_object_set_new(job, "timeline_oob", json_true());
    json_object_set_new(job, "oob", json_true());
    /* 286 tells htmx to stop polling; the fragment it swaps in has no trigger left either */
    ar_respond_page(req, active ? 200 : 286, "partials/job_progress", NULL, json_pack("{s:o}", "job", job));
}

void web_job_cancel(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id || ar_job_cancel(&req->ctx, id, &err) != 0) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such job.");
        fail(req, &err);
        return;
    }
    char url[64];
    snprintf(url, sizeof url, "/jobs/%lld", id);
    ar_respond_redirect(req, 303, url);
}

/* ---- staff: every job ---- */

static void admin_jobs_page(ar_request *req, int status, json_t *data)
{
    ar_error err = {0};
    long long before = 0;
    ar_query_int(req, "before", 1, 1000000000000000LL, 0, &before, &err);
    const char *filter = ar_req_query(req, "status");
    const char *type = ar_req_query(req, "type");
    if (filter && !*filter) filter = NULL;
    if (type && !*type) type = NULL;
    json_t *list = err.fields ? NULL : ar_job_admin_list(&req->ctx, filter, type, PAGE_SIZE + 1, before, &err);
    if (!list) {
        json_decref(data);
        if (!err.code) ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    json_t *d = data ? data : json_object();
    if (json_array_size(list) > PAGE_SIZE) {
        json_array_remove(list, PAGE_SIZE);
        ar_buf url = AR_BUF_INIT;
        ar_buf_printf(&url, "/admin/jobs?before=%lld",
                      (long long)json_integer_value(json_object_get(json_array_get(list, PAGE_SIZE - 1), "id")));
        if (filter) ar_buf_printf(&url, "&status=%s", filter);
        if (type) {
            ar_buf_puts(&url, "&type=");
            ar_buf_put_urlencoded(&url, type, NULL);
        }
        json_object_set_new(d, "next_url", json_string(ar_buf_cstr(&url)));
        ar_buf_free(&url);
    }
    ar_buf here = AR_BUF_INIT; /* this list with its filters, for the row actions to come back to */
    ar_buf_puts(&here, "/admin/jobs?");
    if (filter) ar_buf_printf(&here, "status=%s&", filter);
    if (type) {
        ar_buf_puts(&here, "type=");
        ar_buf_put_urlencoded(&here, type, NULL);
    }
    const char *back = ar_buf_cstr(&here);
    size_t i;
    json_t *job;
    json_array_foreach(list, i, job)
    {
        decorate(req, job);
        json_object_set_new(job, "admin", json_true());
        json_object_set_new(job, "back", json_string(back));
    }
    ar_buf_free(&here);
    json_object_set_new(d, "jobs", list);
    json_object_set_new(d, "filter", json_pack("{s:s,s:s,s:o}", "status", filter ? filter : "", "type", type ? type : "",
                                               "statuses", status_options(filter)));
    json_object_set_new(d, "admin_nav", json_pack("{s:b}", "jobs", 1));
    json_object_set_new(d, "nav", json_pack("{s:b}", "admin", 1));
    web_page(req, status, "pages/admin/jobs", "Jobs", d);
}

void web_admin_jobs(ar_request *req)
{
    admin_jobs_page(req, 200, NULL);
}

void web_admin_job_action(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    const char *action = ar_req_field(req, "action");
    int rc = -1;
    if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such job.");
    else if (action && strcmp(action, "retry") == 0) rc = ar_job_retry(&req->ctx, id, &err);
    else if (action && strcmp(action, "cancel") == 0) rc = ar_job_cancel(&req->ctx, id, &err);
    else ar_error_set(&err, AR_ERR_VALIDATION, "Choose retry or cancel.");
    if (rc != 0) {
        int status = err.code == AR_ERR_NOT_FOUND ? 404 : err.code == AR_ERR_CONFLICT ? 409 : 422;
        admin_jobs_page(req, status, json_pack("{s:o}", "errors", web_form_errors(&err)));
        ar_error_clear(&err);
        return;
    }
    /* back to the list the action came from (same filters) */
    const char *back = ar_req_field(req, "back");
    back = web_safe_next(back);
    ar_respond_redirect(req, 303, strncmp(back, "/admin/jobs", 11) == 0 ? back : "/admin/jobs");
}
