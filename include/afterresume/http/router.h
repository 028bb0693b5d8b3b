/* router.h — the static route table type and path matching with `{name}` parameters.
 * The table itself lives in src/http/routes.c: reading it tells a newcomer the whole surface of the product. */
#ifndef AFTERRESUME_HTTP_ROUTER_H
#define AFTERRESUME_HTTP_ROUTER_H
#include <stddef.h>

struct ar_request;
typedef void (*ar_handler_fn)(struct ar_request *req);

typedef enum ar_method {
    AR_GET = 1 << 0,
    AR_POST = 1 << 1,
    AR_PUT = 1 << 2,
    AR_PATCH = 1 << 3,
    AR_DELETE = 1 << 4,
    AR_HEAD = 1 << 5, /* never in the table: HEAD is served by the GET route */
    AR_OPTIONS = 1 << 6,
} ar_method;

/* Who may call a route. Enforcement of session/token levels arrives with the identity module. */
typedef enum ar_auth_level {
    AR_AUTH_PUBLIC = 0,   /* anyone */
    AR_AUTH_USER,         /* signed-in session or bearer token */
    AR_AUTH_STAFF,        /* platform staff */
} ar_auth_level;

/* What request body a route accepts; anything else is 415 (or 413 when too large). */
typedef enum ar_body_kind {
    AR_BODY_NONE = 0,
    AR_BODY_JSON,        /* application/json, application/...+json, application/csp-report */
    AR_BODY_FORM,        /* application/x-www-form-urlencoded, or JSON from HTMX/API clients */
    AR_BODY_RAW,         /* any content type, raw bytes kept (e.g. signed webhooks) */
    /* Streamed bodies (uploads, imports): never buffered, no 1 MiB limit. The route's handler runs once the
     * headers are in and identity, role, token scope, CSRF (X-CSRF-Token header: the body is not read yet)
     * and rate limits passed — before any body byte is read — and either answers (an error: the body is then
     * refused) or installs a per-request sink with its own size ceiling (ar_request_stream, request.h). */
    AR_BODY_STREAM,      /* any content type: the sink gets the raw body chunk by chunk */
    AR_BODY_MULTIPART,   /* multipart/form-data (else 415): the sink gets parts through the streaming parser */
} ar_body_kind;

typedef struct ar_route {
    unsigned method;          /* one ar_method */
    const char *pattern;      /* "/api/worklogs/{id}/": {x} matches one non-empty segment, {*x} the rest of the path */
    ar_handler_fn handler;
    ar_auth_level auth;
    const char *role;         /* minimum tenant role, NULL = any */
    int csrf;                 /* state-changing browser route: CSRF checks apply */
    const char *rate_class;   /* rate-limit class, NULL = none */
    ar_body_kind body;
} ar_route;

#define AR_MAX_PATH_PARAMS 4
typedef struct ar_path_params {
    int count;
    const char *names[AR_MAX_PATH_PARAMS];  /* point into the pattern; not NUL-terminated at '}' -> use name_len */
    size_t name_len[AR_MAX_PATH_PARAMS];
    char values[AR_MAX_PATH_PARAMS][256];
} ar_path_params;

typedef enum { AR_MATCH_OK, AR_MATCH_NOT_FOUND, AR_MATCH_BAD_METHOD } ar_match_result;

/* Find the route for method+path. On AR_MATCH_BAD_METHOD, *allowed gets the union of methods whose pattern
 * matched (HEAD is implied by GET, OPTIONS never). HEAD requests match GET routes. */
ar_match_result ar_router_match(const ar_route *routes, size_t count, ar_method method, const char *path,
                                const ar_route **found, ar_path_params *params, unsigned *allowed);
/* "GET, HEAD, POST" for an Allow header. */
void ar_router_allow_header(unsigned methods, char *out, size_t out_size);
ar_method ar_method_from_string(const char *m);   /* 0 if unknown */
const char *ar_method_name(ar_method m);
/* Value of a path parameter by name, or NULL. */
const char *ar_path_param(const ar_path_params *p, const char *name);

/* The application's route table (src/http/routes.c). */
extern const ar_route ar_routes[];
extern const size_t ar_routes_count;

#endif
