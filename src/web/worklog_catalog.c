/* worklog_catalog.c — the clients and projects pages: list with an "add" form, edit page, deactivate and
 * reactivate. Projects carry a client, the role held and start/end dates (end on or after start). All reads
 * and writes go through the worklog service (afterresume/domain/worklog.h); forms post back, errors re-render
 * with 422 and the field messages, success redirects (303) with a flash. */
#include "afterresume/api/handlers.h"
#include "afterresume/domain/worklog.h"
#include "afterresume/http/response.h"
#include "afterresume/web/common.h"
#include "afterresume/web/handlers.h"
#include "afterresume/web/worklog_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Display fields for a client or project row. */
static json_t *row_view(json_t *row)
{
    json_t *v = json_deep_copy(row);
    static const char *const dates[][2] = {{"start_date", "start_label"}, {"end_date", "end_label"}};
    for (size_t i = 0; i < 2; i++) {
        const char *d = json_string_value(json_object_get(row, dates[i][0]));
        if (!d) continue;
        char label[48];
        wl_date_label(d, label, sizeof label);
        json_object_set_new(v, dates[i][1], json_string(label));
    }
    return v;
}

static json_t *rows_view(json_t *list)
{
    json_t *a = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(list, "results"), i, r) json_array_append_new(a, row_view(r));
    return a;
}

static long long form_id(const char *s)
{
    if (!s || !*s) return 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    return *end || v <= 0 ? 0 : v;
}

static int checkbox(ar_request *req, const char *name)
{
    const char *v = wl_field(req, name);
    return strcmp(v, "1") == 0 || strcmp(v, "on") == 0 || strcmp(v, "true") == 0;
}

/* ---- clients ---------------------------------------------------------------------------------------- */

static void clients_page(ar_request *req, int status, json_t *form, json_t *errors)
{
    ar_error err = {0};
    json_t *list = ar_client_list(&req->ctx, NULL, -1, &err);
    if (!list) {
        json_decref(form);
        json_decref(errors);
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    json_t *rows = rows_view(list);
    json_decref(list);
    if (!form) form = json_pack("{s:s,s:s}", "name", "", "description", "");
    json_t *data = json_pack("{s:o,s:b,s:o,s:{s:b},s:b}", "clients", rows, "empty", json_array_size(rows) == 0, "form",
                             form, "nav", "worklog", 1, "can_write", ar_worklog_can_write(&req->ctx));
    if (errors) json_object_set_new(data, "errors", errors);
    wl_flash_from_query(req, data);
    web_page(req, status, "pages/clients", "Clients", data);
}

void web_clients(ar_request *req)
{
    clients_page(req, 200, NULL, NULL);
}

void web_clients_create(ar_request *req)
{
    ar_error err = {0};
    json_t *body = json_pack("{s:s,s:s}", "name", wl_field(req, "name"), "description", wl_field(req, "description"));
    json_t *client = ar_client_create(&req->ctx, body, &err);
    if (!client) {
        clients_page(req, wl_error_status(&err), body, web_form_errors(&err));
        ar_error_clear(&err);
        return;
    }
    json_decref(client);
    json_decref(body);
    ar_respond_redirect(req, 303, "/clients?done=client_created");
}

static void client_edit_page(ar_request *req, int status, long long id, json_t *form, json_t *errors)
{
    json_t *data = json_pack("{s:I,s:o,s:{s:b}}", "id", (json_int_t)id, "form", form, "nav", "worklog", 1);
    if (errors) json_object_set_new(data, "errors", errors);
    web_page(req, status, "pages/clients_edit", "Edit client", data);
}

void web_clients_edit(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *client = id ? ar_client_get(&req->ctx, id, &err) : NULL;
    if (!client) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such client.");
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    json_t *form = json_pack("{s:O,s:O,s:b}", "name", json_object_get(client, "name"), "description",
                             json_object_get(client, "description"), "is_active",
                             json_is_true(json_object_get(client, "is_active")));
    json_decref(client);
    client_edit_page(req, 200, id, form, NULL);
}

void web_clients_update(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id) {
        ar_respond_error_code(req, AR_ERR_NOT_FOUND, "No such client.");
        return;
    }
    int active = checkbox(req, "is_active");
    json_t *body = json_pack("{s:s,s:s,s:b}", "name", wl_field(req, "name"), "description",
                             wl_field(req, "description"), "is_active", active);
    json_t *client = ar_client_update(&req->ctx, id, body, 1, &err);
    if (!client) {
        if (err.code == AR_ERR_NOT_FOUND) {
            json_decref(body);
            ar_respond_error(req, &err);
        } else {
            client_edit_page(req, wl_error_status(&err), id, body, web_form_errors(&err));
        }
        ar_error_clear(&err);
        return;
    }
    json_decref(client);
    json_decref(body);
    ar_respond_redirect(req, 303, "/clients?done=client_saved");
}

void web_clients_active(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    int active = checkbox(req, "is_active");
    json_t *body = json_pack("{s:b}", "is_active", active);
    json_t *client = id ? ar_client_update(&req->ctx, id, body, 1, &err) : NULL;
    json_decref(body);
    if (!client) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such client.");
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    json_decref(client);
    ar_respond_redirect(req, 303, active ? "/clients?done=client_activated" : "/clients?done=client_deactivated");
}

/* ---- projects --------------------------------------------------------------------------------------- */

static json_t *client_options(ar_request *req, long long selected)
{
    ar_error err = {0};
    json_t *clients = ar_client_list(&req->ctx, NULL, -1, &err);
    ar_error_clear(&err);
    if (!clients) return json_array();
    json_t *o = wl_id_options(clients, selected);
    json_decref(clients);
    return o;
}

static void projects_page(ar_request *req, int status, json_t *form, json_t *errors)
{
    ar_error err = {0};
    json_t *list = ar_project_list(&req->ctx, 0, NULL, -1, &err);
    if (!list) {
        json_decref(form);
        json_decref(errors);
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    json_t *rows = rows_view(list);
    json_decref(list);
    if (!form)
        form = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "name", "", "client", "", "role", "", "start_date", "",
                         "end_date", "", "description", "");
    long long client = form_id(json_string_value(json_object_get(form, "client")));
    json_t *data = json_pack("{s:o,s:b,s:o,s:o,s:{s:b},s:b}", "projects", rows, "empty", json_array_size(rows) == 0,
                             "form", form, "clients", client_options(req, client), "nav", "worklog", 1, "can_write",
                             ar_worklog_can_write(&req->ctx));
    if (errors) json_object_set_new(data, "errors", errors);
    wl_flash_from_query(req, data);
    web_page(req, status, "pages/projects", "Projects", data);
}

void web_projects(ar_request *req)
{
    projects_page(req, 200, NULL, NULL);
}

static json_t *project_form(ar_request *req)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "name", wl_field(req, "name"), "client", wl_field(req, "client"),
                     "role", wl_field(req, "role"), "start_date", wl_field(req, "start_date"), "end_date",
                     wl_field(req, "end_date"), "description", wl_field(req, "description"));
}

/* The service body from the form: empty dates and client become null. */
static json_t *project_body(json_t *form)
{
    json_t *body = json_deep_copy(form);
    static const char *const nullable[] = {"client", "start_date", "end_date"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = json_string_value(json_object_get(body, nullable[i]));
        if (!v || !*v) json_object_set_new(body, nullable[i], json_null());
    }
    return body;
}

void web_projects_create(ar_request *req)
{
    ar_error err = {0};
    json_t *form = project_form(req);
    json_t *body = project_body(form);
    json_t *project = ar_project_create(&req->ctx, body, &err);
    json_decref(body);
    if (!project) {
        projects_page(req, wl_error_status(&err), form, web_form_errors(&err));
        ar_error_clear(&err);
        return;
    }
    json_decref(project);
    json_decref(form);
    ar_respond_redirect(req, 303, "/projects?done=project_created");
}

static void project_edit_page(ar_request *req, int status, long long id, json_t *form, json_t *errors)
{
    long long client = form_id(json_string_value(json_object_get(form, "client")));
    json_t *data = json_pack("{s:I,s:o,s:o,s:{s:b}}", "id", (json_int_t)id, "form", form, "clients",
                             client_options(req, client), "nav", "worklog", 1);
    if (errors) json_object_set_new(data, "errors", errors);
    web_page(req, status, "pages/projects_edit", "Edit project", data);
}

void web_projects_edit(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *p = id ? ar_project_get(&req->ctx, id, &err) : NULL;
    if (!p) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such project.");
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    char client[24] = "";
    if (json_is_integer(json_object_get(p, "client")))
        snprintf(client, sizeof client, "%lld", (long long)json_integer_value(json_object_get(p, "client")));
    const char *start = json_string_value(json_object_get(p, "start_date"));
    const char *end = json_string_value(json_object_get(p, "end_date"));
    json_t *form = json_pack("{s:O,s:s,s:O,s:s,s:s,s:O,s:b}", "name", json_object_get(p, "name"), "client", client,
                             "role", json_object_get(p, "role"), "start_date", start ? start : "", "end_date",
                             end ? end : "", "description", json_object_get(p, "description"), "is_active",
                             json_is_true(json_object_get(p, "is_active")));
    json_decref(p);
    project_edit_page(req, 200, id, form, NULL);
}

void web_projects_update(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id) {
        ar_respond_error_code(req, AR_ERR_NOT_FOUND, "No such project.");
        return;
    }
    json_t *form = project_form(req);
    json_object_set_new(form, "is_active", json_boolean(checkbox(req, "is_active")));
    json_t *body = project_body(form);
    json_t *p = ar_project_update(&req->ctx, id, body, 1, &err);
    json_decref(body);
    if (!p) {
        if (err.code == AR_ERR_NOT_FOUND) {
            json_decref(form);
            ar_respond_error(req, &err);
        } else {
            project_edit_page(req, wl_error_status(&err), id, form, web_form_errors(&err));
        }
        ar_error_clear(&err);
        return;
    }
    json_decref(p);
    json_decref(form);
    ar_respond_redirect(req, 303, "/projects?done=project_saved");
}

void web_projects_active(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    int active = checkbox(req, "is_active");
    json_t *body = json_pack("{s:b}", "is_active", active);
    json_t *p = id ? ar_project_update(&req->ctx, id, body, 1, &err) : NULL;
    json_decref(body);
    if (!p) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such project.");
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    json_decref(p);
    ar_respond_redirect(req, 303, active ? "/projects?done=project_activated" : "/projects?done=project_deactivated");
}
