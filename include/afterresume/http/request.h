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
#include "afterresume/http/multipart.h"
#include "afterresume/http/router.h"

struct MHD_Connection;
struct MHD_Response;
struct ar_request;

/* The per-request sink of a streamed body (routes with AR_BODY_STREAM or AR_BODY_MULTIPART).
 *
 * Life cycle: the route's handler runs before the body is read (auth, role, CSRF and rate limits passed) and
 * either answers with an error (the body is refused) or calls ar_request_stream(req, &sink, state, max) and
 * returns without answering. The server then feeds the body as it arrives from libmicrohttpd:
 *   AR_BODY_STREAM     on_data(state, chunk, len, err) for every chunk (non-zero stops; set err);
 *   AR_BODY_MULTIPART  parts.on_part_begin / on_part_data / on_part_end (multipart.h; ud = state; non-zero
 *                      aborts: keep your own reason in state, the parser only says "aborted").
 * When the body is complete, or reading it failed (too large: 413; malformed multipart: 400; a callback
 * aborted), on_finish(req, state, failure) runs on a request thread: failure is NULL on success, and on_finish
 * must build the response (ar_respond_*). Finally on_release(state) runs exactly once — also when the client
 * went away mid-body and on_finish never ran — and must undo anything unfinished (abort storage writers, delete
 * spool files) and free state. Example: evidence uploads (src/api/attachments.c); an import can spool an
 * uploaded file the same way (write chunks to a temp file in on_data, parse it in on_finish). */
typedef struct ar_stream_sink {
    int (*on_data)(void *state, const char *data, size_t len, ar_error *err);
    ar_multipart_callbacks parts;      /* ud = state */
    void (*on_finish)(struct ar_request *req, void *state, const ar_error *failure);
    void (*on_release)(void *state);
} ar_stream_sink;

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
    /* streamed body (AR_BODY_STREAM / AR_BODY_MULTIPART) */
    ar_stream_sink sink;
    void *sink_state;
    int sink_installed;          /* on_release still due */
    ar_multipart *multipart;
    ar_error stream_error;       /* why reading the body stopped (code AR_OK while fine) */
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
    const char *pending_headers[8][2]; /* ar_response_header before the response exists: added when it is built */
    int npending_headers;
    /* bookkeeping */
    double started;              /* monotonic seconds */
    ar_arena arena;
} ar_request;

/* Header / query accessors (NULL when absent). Query values are rejected (NULL) when not valid UTF-8. */
const char *ar_req_header(ar_request *req, const char *name);
const char *ar_req_query(ar_request *req, const char *name);
const char *ar_req_param(ar_request *req, const char *name);
/* Install the streamed-body sink (see ar_stream_sink) from a stream route's handler; max_bytes caps the whole
 * body (multipart overhead included). -1 + err (nothing installed, state still the caller's): 413 when the
 * Content-Length already exceeds max_bytes, 400 for a multipart route without a valid boundary. */
int ar_request_stream(ar_request *req, const ar_stream_sink *sink, void *state, size_t max_bytes, ar_error *err);
/* A form or JSON string field from the body (JSON strings only), or NULL. */
const char *ar_req_field(ar_request *req, const char *name);

#endif
