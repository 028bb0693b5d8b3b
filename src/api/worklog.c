/* worklog.c — JSON API for the worklog (issue #4 §2): entries with filters, keyset pagination and ranked
 * search, soft delete and restore, clients, projects, tags and the heat-map counts. The handlers only read
 * the request and shape the answer; every rule lives in the service (src/domain/worklog*.c). */
#include "afterresume/api/handlers.h"
#include "afterresume/api/params.h"
#include "afterresume/domain/worklog.h"
#include "afterresume/http/response.h"

#include <stdio.h>
#include <string.h>

static void fail(ar_request *req, ar_error *err)
{
    ar_respond_error(req, err);
    ar_error_clear(err);
}

/* Answer a service result: status with the object, or the error. */
static void answer(ar_request *req, int status, json_t *body, ar_error *err)
{
    if (!body) {
        fail(req, err);
        return;
    }
    ar_respond_json(req, status, body);
}

static void no_content(ar_request *req, int rc, ar_error *err)
{
    if (rc != 0) {
        fail(req, err);
        return;
    }
    ar_respond_text(req, 204, "text/plain; charset=utf-8", "", 0);
}

/* The path id, or a 404 answered here (returns 0). */
static long long path_id(ar_request *req, const char *what)
{
    long long id = ar_req_id_param(req, "id");
    if (!id) {
        char msg[64];
        snprintf(msg, sizeof msg, "No such %s.", what);
        ar_respond_error_code(req, AR_ERR_NOT_FOUND, msg);
    }
    return id;
}

/* An optional "true"/"1" style query flag. */
static int query_flag(ar_request *req, const char *name)
{
    const char *v = ar_req_query(req, name);
    return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0);
}

/* is_active=true|false filter for clients and projects: -1 = all. */
static int active_filter(ar_request *req)
{
    const char *v = ar_req_query(req, "is_active");
    if (!v || !*v) return -1;
    return strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

/* ---- entries ------------------------------------------------------------------------------------------- */

void api_worklogs_list(ar_request *req)
{
    ar_error err = {0};
    long long limit = 0, project = 0, client = 0, author = 0;
    ar_query_int(req, "limit", 1, AR_WORKLOG_LIST_MAX, 0, &limit, &err);
    ar_query_int(req, "project", 1, 999999999999999LL, 0, &project, &err);
    ar_query_int(req, "client", 1, 999999999999999LL, 0, &client, &err);
    ar_query_int(req, "author", 1, 999999999999999LL, 0, &author, &err); /* the service adds its own fields */
    const char *cursor = ar_req_query(req, "cursor");
    if (!cursor) cursor = ar_req_query(req, "next");
    ar_worklog_filter f = {
        .start_date = ar_req_query(req, "start_date"),
        .end_date = ar_req_query(req, "end_date"),
        .tag = ar_req_query(req, "tag"),
        .project_id = project,
        .client_id = client,
        .work_type = ar_req_query(req, "work_type"),
        .status = ar_req_query(req, "status"),
        .search = ar_req_query(req, "search"),
        .author_id = author,
        .cursor = cursor,
        .limit = (int)limit,
        .deleted = query_flag(req, "deleted"),
    };
    ar_buf page = AR_BUF_INIT;
    if (ar_worklog_list_text(&req->ctx, &f, &page, &err) != 0)
        fail(req, &err);
    else
        ar_respond_text(req, 200, "application/json", ar_buf_cstr(&page), page.len);
    ar_buf_free(&page);
}

void api_worklogs_create(ar_request *req)
{
    ar_error err = {0};
    answer(req, 201, ar_worklog_create(&req->ctx, req->json, &err), &err);
}

void api_worklogs_detail(ar_request *req)
{
    ar_error err = {0};
    long long id = path_id(req, "entry");
    if (id) answer(req, 200, ar_worklog_get(&req->ctx, id, 0, &err), &err);
}

void api_worklogs_replace(ar_request *req)
{
    ar_error err = {0};
    long long id = path_id(req, "entry");
    if (id) answer(req, 200, ar_worklog_update(&req->ctx, id, req->json, 0, &err), &err);
}

void api_worklogs_patch(ar_request *req)
{
    ar_error err = {0};
    long long id = path_id(req, "entry");
    if (id) answer(req, 200, ar_worklog_update(&req->ctx, id, req->json, 1, &err), &err);
}

void api_worklogs_delete(ar_request *req)
{
    ar_error err = {0};
    long long id = path_id(req, "entry");
    if (id) no_content(req, ar_worklog_delete(&req->ctx, id, &err), &err);
}

void api_worklogs_restore(ar_request *req)
{
    ar_error err = {0};
    long long id = path_id(req, "entry");
    if (id) answer(req, 200, ar_worklog_restore(&req->ctx, id, &err), &err);
}

void api_worklogs_calendar(ar_request *req)
{
    ar_error err = {0};
    answer(req, 200, ar_worklog_day_counts(&req->ctx, ar_req_query(req, "end_date"), query_flag(req, "team"), &err),
           &err);
}

void api_tags_list(ar_request *req)
{
    ar_error err = {0};
    long long limit = 0;
    if (ar_query_int(req, "limit", 1, 500, 0, &limit, &err) != 0) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    json_t *tags = ar_tags_list(&req->ctx, ar_req_query(req, "prefix"), (int)limit, &err);
    answer(req, 200, tags ? json_pack("{s:o}", "results", tags) : NULL, &err);
}

/* ---- clients ------------------------------------------------------------------------------------------- */

void api_clients_list(ar_request *req)
{
    ar_error err = {0};
    answer(req, 200, ar_client_list(&req->ctx, ar_req_query(req, "search"), active_filter(req), &err), &err);
}

void api_clients_create(ar_request *req)
{
    ar_error err = {0};
    answer(req, 201, ar_client_create(&req->ctx, req->json, &err), &err);
}

void api_clients_detail(ar_request *req)
{
    ar_error err = {0};
    long long id = path_id(req, "client");
    if (id) answer(req, 200, ar_client_get(&req->ctx, id, &err), &err);
}

void api_clients_replace(ar_request *req)
{
    ar_error err = {0};
    long long id = path_id(req, "client");
    if (id) answer(req, 200, ar_client_update(&req->ctx, id, req->json, 0, &err), &err);
}

void api_clients_patch(ar_request *req)
{
    ar_error err = {0};
    long long id = path_id(req, "client");
    if (id) answer(req, 200, ar_client_update(&req->ctx, id, req->json, 1, &err), &err);
}

void api_clients_delete(ar_request *req)
{
    ar_error err = {0};
    long long id = path_id(req, "client");
    if (id) no_content(req, ar_client_delete(&req->ctx, id, &err), &err);
}

/* ---- projects ------------------------------------------------------------------------------------------ */

void api_projects_list(ar_request *req)
{
    ar_error err = {0};
    long long client = 0;
    if (ar_query_int(req, "client", 1, 999999999999999LL, 0, &client, &err) != 0) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    answer(req, 200, ar_project_list(&req->ctx, client, ar_req_query(req, "search"), active_filter(req), &err), &err);
}

void api_projects_create(ar_request *req)
{
    ar_error err = {0};
    answer(req, 201, ar_project_create(&req->ctx, req->json, &err), &err);
}

void api_projects_detail(ar_request *req)
{
    ar_error err = {0};
    long long id = path_id(req, "project");
    if (id) answer(req, 200, ar_project_get(&req->ctx, id, &err), &err);
}

void api_projects_replace(ar_request *req)
{
    ar_error err = {0};
    long long id = path_id(req, "project");
    if (id) answer(req, 200, ar_project_update(&req->ctx, id, req->json, 0, &err), &err);
}

void api_projects_patch(ar_request *req)
{
    ar_error err = {0};
    long long id = path_id(req, "project");
    if (id) answer(req, 200, ar_project_update(&req->ctx, id, req->json, 1, &err), &err);
}

void api_projects_delete(ar_request *req)
{
    ar_error err = {0};
    long long id = path_id(req, "project");
    if (id) no_content(req, ar_project_delete(&req->ctx, id, &err), &err);
}
