/* jobs.c — JSON API for background jobs: list, detail with the event timeline, the timeline alone, cancel,
 * retry, and the admin listing (filters status/type) with retry and cancel. Every read and action is
 * tenant-checked by the jobs service (another tenant's job answers 404). */
#include "afterresume/api/handlers.h"
#include "afterresume/api/params.h"
#include "afterresume/http/response.h"
#include "afterresume/jobs/jobs.h"

static void fail(ar_request *req, ar_error *err)
{
    ar_respond_error(req, err);
    ar_error_clear(err);
}

void api_jobs_list(ar_request *req)
{
    ar_error err = {0};
    long long limit = 50, before = 0;
    ar_query_int(req, "limit", 1, 200, 50, &limit, &err);
    ar_query_int(req, "before_id", 1, 1000000000000000LL, 0, &before, &err);
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    const char *status = ar_req_query(req, "status");
    json_t *list = ar_job_list(&req->ctx, status && *status ? status : NULL, (int)limit, before, &err);
    if (!list) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, list);
}

void api_jobs_detail(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *job = id ? ar_job_get(&req->ctx, id, &err) : NULL;
    json_t *events = job ? ar_job_events(&req->ctx, id, &err) : NULL;
    if (!job || !events) {
        json_decref(job);
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such job.");
        fail(req, &err);
        return;
    }
    json_object_set_new(job, "events", events);
    ar_respond_json(req, 200, job);
}

static void act(ar_request *req, int (*action)(const ar_ctx *, long long, ar_error *))
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id || action(&req->ctx, id, &err) != 0) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such job.");
        fail(req, &err);
        return;
    }
    json_t *job = ar_job_get(&req->ctx, id, &err);
    if (!job) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, job);
}

void api_jobs_cancel(ar_request *req)
{
    act(req, ar_job_cancel);
}

void api_jobs_retry(ar_request *req)
{
    act(req, ar_job_retry);
}

void api_jobs_events(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *events = id ? ar_job_events(&req->ctx, id, &err) : NULL;
    if (!events) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such job.");
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, json_pack("{s:I,s:o}", "job_id", (json_int_t)id, "events", events));
}

/* Staff see every tenant's jobs (and system jobs); tenant admins and owners their tenant's. */
static int admin_allowed(ar_request *req)
{
    if (req->ctx.is_staff || req->ctx.role >= AR_ROLE_ADMIN) return 1;
    ar_error err = {0};
    ar_error_set(&err, AR_ERR_FORBIDDEN, "Only workspace admins and platform staff can manage all jobs.");
    fail(req, &err);
    return 0;
}

void api_admin_jobs_list(ar_request *req)
{
    if (!admin_allowed(req)) return;
    ar_error err = {0};
    long long limit = 50, before = 0;
    ar_query_int(req, "limit", 1, 200, 50, &limit, &err);
    ar_query_int(req, "before_id", 1, 1000000000000000LL, 0, &before, &err);
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    const char *status = ar_req_query(req, "status"), *type = ar_req_query(req, "type");
    json_t *list = ar_job_admin_list(&req->ctx, status, type, (int)limit, before, &err);
    if (!list) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, list);
}

void api_admin_jobs_retry(ar_request *req)
{
    if (admin_allowed(req)) act(req, ar_job_retry);
}

void api_admin_jobs_cancel(ar_request *req)
{
    if (admin_allowed(req)) act(req, ar_job_cancel);
}
