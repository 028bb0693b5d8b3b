/* common.h — shared helpers for HTML handlers (src/web/common.c). */
#ifndef AFTERRESUME_WEB_COMMON_H
#define AFTERRESUME_WEB_COMMON_H
#include <jansson.h>

#include "afterresume/http/request.h"

/* Render a page with the signed-in context added (tenant, workspace switcher, flash from ?done=code).
 * Steals data (may be NULL). */
void web_page(ar_request *req, int status, const char *page, const char *title, json_t *data);
/* A local path to return to after sign-in, or "/" when next is missing or points elsewhere. */
const char *web_safe_next(const char *next);
/* {field: message, form: message} for re-rendering a form (new reference). */
json_t *web_form_errors(const ar_error *err);

/* The status bar's values for a signed-in page ({balance, balance_state, tokens_month, jobs_running,
 * refresh_url}), or NULL when they cannot be read (src/web/status.c). */
json_t *web_status_context(ar_request *req);

#endif
