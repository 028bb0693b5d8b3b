/* response.h — building responses: JSON, pages rendered from templates, redirects, errors and static files.
 * Every response gets the security headers and the X-Request-ID. A handler must call exactly one of these. */
#ifndef AFTERRESUME_HTTP_RESPONSE_H
#define AFTERRESUME_HTTP_RESPONSE_H
#include <jansson.h>

#include "afterresume/http/request.h"

/* Takes ownership of `body` (steals the reference). */
void ar_respond_json(ar_request *req, int status, json_t *body);
/* Render templates/<page>.mustache with the standard page context merged with `data` (stolen, may be NULL). */
void ar_respond_page(ar_request *req, int status, const char *page, const char *title, json_t *data);
void ar_respond_text(ar_request *req, int status, const char *content_type, const char *text, size_t len);
void ar_respond_redirect(ar_request *req, int status, const char *location);
/* JSON error body under /api/, an error page otherwise. Clears nothing: the caller still owns err. */
void ar_respond_error(ar_request *req, const ar_error *err);
/* Shorthand: an error with a code and optional message. */
void ar_respond_error_code(ar_request *req, ar_err_code code, const char *message);
/* A streamed response (downloads): read(cls, pos, buf, max) fills up to max bytes and returns the count, 0 at
 * the end, or -1 on failure (the connection is then closed: the client sees a truncated body). size is the
 * Content-Length (-1 = unknown: chunked). release(cls) runs once when the response is destroyed (also when the
 * client went away). Reads happen on MHD's thread after the handler returned, so cls must own what it needs. */
typedef long long (*ar_stream_read_fn)(void *cls, unsigned long long pos, char *buf, size_t max);
void ar_respond_stream(ar_request *req, int status, const char *content_type, long long size,
                       ar_stream_read_fn read, void *cls, void (*release)(void *cls));
/* Content-Disposition value for a download (RFC 6266): `attachment; filename="<ASCII fallback>";
 * filename*=UTF-8''<percent-encoded UTF-8>`. The fallback keeps printable ASCII except '"', '\\', '%' and ';'
 * (each other byte or character becomes '_'); filename* is only added when the fallback differs. Control
 * characters never reach the header. An empty or NULL name becomes "download". Appends to out. */
void ar_content_disposition(ar_buf *out, const char *disposition, const char *filename);
/* Add a header to the response: the one already built, or (called before) the one built next. */
void ar_response_header(ar_request *req, const char *name, const char *value);

/* Install a built MHD response (replacing any earlier one) and add the common security headers. */
void ar_response_install(ar_request *req, int status, struct MHD_Response *resp, size_t bytes,
                         const char *content_type);

/* The standard page context: app, page.title, request_id, csrf_token, user. New reference. */
json_t *ar_page_context(ar_request *req, const char *title);

/* Serve a file under the static root for a path below /static/. 404 for anything outside it. */
void ar_serve_static(ar_request *req, const char *relpath);
const char *ar_content_type_for(const char *path);

#endif
