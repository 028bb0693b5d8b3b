/* request.h — the per-request context handed to every handler: route, parameters, parsed body, identity
 * (later), the response being built, and an arena freed when the connection completes. */
#ifndef AFTERRESUME_HTTP_REQUEST_H
#define AFTERRESUME_HTTP_REQUEST_H
#include <jansson.h>
#include <stddef.h>

#include "afterresume/app.h"
#include "afterresume/core/arena.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/error.h"
#include "afterresume/domain/context.h"
#include "afterresume/http/router.h"

struct MHD_Connection;
struct MHD_Response;

typedef struct ar_request {
    struct MHD_Connection *conn;
    const ar_app *app;
    const ar_route *route;       /* NULL for unmatched requests */
    ar_method method;
    const char *method_str;
    const char *path;            /* decoded path, owned by the arena */
    ar_path_params params;
    char request_id[65];
    int is_api;                  /* path under /api/: errors are JSON */
    /* body */
    ar_buf body;                 /* raw body for JSON/FORM/RAW routes (bounded by the body limit) */
    size_t body_limit;
    size_t body_seen;            /* bytes received so far, kept or not */
    ar_err_code body_error;      /* set while reading (413/415); answered on the final call */
    char mime[96];               /* lower-cased media type of the body */
    json_t *json;                /* parsed JSON body, when the route takes JSON */
    json_t *form;                /* urlencoded form fields as a JSON object of strings */
    /* response */
    int status;
    struct MHD_Response *response;
    int queued;                  /* response handed to MHD */
    char allow[64];              /* Allow header for 405 */
    size_t response_bytes;
    int no_store;                /* Cache-Control: no-store (authenticated pages) */
    /* identity (src/http/auth.c) */
    ar_ctx ctx;                  /* user, tenant, role, request id, ip, user agent */
    enum { AR_AUTH_NONE_KIND = 0, AR_AUTH_SESSION_KIND, AR_AUTH_TOKEN_KIND } auth_kind;
    long long session_id;
    long long token_id;
    int token_can_write;
    char csrf_token[64];         /* the token forms must echo: the session's, or the anonymous cookie's */
    char *set_cookies[4];        /* Set-Cookie values added to whatever response is built */
    int nset_cookies;
    char retry_after[16];        /* Retry-After for a 429 decided inside a handler */
    /* bookkeeping */
    double started;              /* monotonic seconds */
    ar_arena arena;
} ar_request;

/* Header / query accessors (NULL when absent). Query values are rejected (NULL) when not valid UTF-8. */
const char *ar_req_header(ar_request *req, const char *name);
const char *ar_req_query(ar_request *req, const char *name);
const char *ar_req_param(ar_request *req, const char *name);
/* A form or JSON string field from the body (JSON strings only), or NULL. */
const char *ar_req_field(ar_request *req, const char *name);

#endif
