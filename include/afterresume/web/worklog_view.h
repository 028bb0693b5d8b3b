/* worklog_view.h — helpers shared by the worklog pages (src/web/worklog.c) and the client/project pages
 * (src/web/worklog_catalog.c): form fields, flashes, option lists and dates. Not a public API. */
#ifndef AFTERRESUME_WEB_WORKLOG_VIEW_H
#define AFTERRESUME_WEB_WORKLOG_VIEW_H
#include <jansson.h>
#include <stddef.h>

#include "afterresume/core/error.h"
#include "afterresume/http/request.h"

/* A form field / query parameter, "" when absent. */
const char *wl_field(ar_request *req, const char *name);
const char *wl_query(ar_request *req, const char *name);
/* 1 when the request comes from htmx (HX-Request: true). */
int wl_is_htmx(ar_request *req);
/* Append {level, message} to data.flashes (created when missing). */
void wl_flash(json_t *data, const char *level, const char *message);
/* The flash named by ?done=<code> (a fixed table; never echoes user text). */
void wl_flash_from_query(ar_request *req, json_t *data);
/* 422 for validation errors (the form is shown again), the error's own status otherwise. */
int wl_error_status(const ar_error *err);
/* Today's date (UTC) as YYYY-MM-DD. */
void wl_today(char out[11]);
/* "Tue 24 Nov 2026" for YYYY-MM-DD (the text itself when it is not a date). */
void wl_date_label(const char *date, char *out, size_t size);
/* <select> options from a service list {"results": [{id, name, is_active, client_name?}]}: the active rows plus
 * the selected one: [{value, label, selected, inactive?, client_name?}] (new reference). */
json_t *wl_id_options(json_t *list, long long selected);

#endif
