/* response.c — JSON, page, redirect, error, text and streamed (download) responses, each with the security
 * headers. */
#include "afterresume/http/response.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"
#include "afterresume/http/auth.h"
#include "afterresume/render/template.h"

#include <microhttpd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char CSP[] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                          "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; "
                          "report-uri /api/csp-report/";

void ar_response_install(ar_request *req, int status, struct MHD_Response *resp, size_t bytes, const char *content_type)
{
    if (req->response) MHD_destroy_response(req->response);
    req->response = resp;
    req->status = status;
    req->response_bytes = bytes;
    if (content_type) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, "X-Request-ID", req->request_id);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    for (int i = 0; i < req->nset_cookies; i++) MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, req->set_cookies[i]);
    for (int i = 0; i < req->npending_headers; i++)
        MHD_add_response_header(resp, req->pending_headers[i][0], req->pending_headers[i][1]);
    if (req->app && req->app->cfg.production && strncmp(req->app->cfg.public_url, "https://", 8) == 0)
        MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000; includeSubDomains");
}

static void respond_buffer(ar_request *req, int status, const char *content_type, char *data, size_t len,
                           int dynamic)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    ar_response_install(req, status, resp, len, content_type);
    if (dynamic)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, req->no_store ? "no-store" : "no-cache");
}

void ar_response_header(ar_request *req, const char *name, const char *value)
{
    if (req->response) {
        MHD_add_response_header(req->response, name, value);
    } else if (req->npending_headers < (int)(sizeof req->pending_headers / sizeof req->pending_headers[0])) {
        req->pending_headers[req->npending_headers][0] = ar_arena_strdup(&req->arena, name);
        req->pending_headers[req->npending_headers][1] = ar_arena_strdup(&req->arena, value);
        req->npending_headers++;
    } else {
        ar_log_error("response header %s dropped: too many headers queued before the response", name);
    }
}

void ar_respond_json(ar_request *req, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) text = ar_strdup("{}");
    size_t len = strlen(text);
    respond_buffer(req, status, "application/json", text, len, 1);
}

void ar_respond_text(ar_request *req, int status, const char *content_type, const char *text, size_t len)
{
    char *copy = ar_malloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    respond_buffer(req, status, content_type, copy, len, 1);
}

json_t *ar_page_context(ar_request *req, const char *title)
{
    if (!req->csrf_token[0]) ar_ensure_csrf_cookie(req); /* every page's forms carry a CSRF token */
    json_t *ctx = json_pack("{s:{s:s,s:s},s:{s:s},s:s,s:s,s:n}", "app", "name", "AfterResume", "version", AR_VERSION,
                            "page", "title", title ? title : "AfterResume", "request_id", req->request_id,
                            "csrf_token", req->csrf_token, "user");
    if (req->ctx.user_id > 0) {
        json_object_set_new(ctx, "user", json_pack("{s:I,s:s,s:b}", "id", (json_int_t)req->ctx.user_id, "username",
                                                   req->ctx.username, "is_staff", req->ctx.is_staff));
        json_object_set_new(ctx, "tenant",
                            json_pack("{s:I,s:s,s:b}", "id", (json_int_t)req->ctx.tenant_id, "role",
                                      ar_role_name(req->ctx.role), "is_admin", req->ctx.role >= AR_ROLE_ADMIN));
    }
    return ctx;
}

void ar_respond_page(ar_request *req, int status, const char *page, const char *title, json_t *data)
{
    json_t *ctx = ar_page_context(req, title);
    if (data) {
        json_object_update(ctx, data);
        json_decref(data);
    }
    ar_buf out = AR_BUF_INIT;
    int rc = req->app && req->app->templates ? ar_templates_render(req->app->templates, page, ctx, &out) : -1;
    json_decref(ctx);
    if (rc != 0) {
        ar_buf_free(&out);
        ar_log_json(AR_LOG_ERROR, "template missing",
                    json_pack("{s:s,s:s}", "template", page, "request_id", req->request_id));
        static const char fallback[] = "<!doctype html><title>Error</title><h1>Something went wrong</h1>";
        ar_respond_text(req, 500, "text/html; charset=utf-8", fallback, sizeof fallback - 1);
        return;
    }
    size_t len = out.len;
    respond_buffer(req, status, "text/html; charset=utf-8", ar_buf_steal(&out), len, 1);
}

void ar_respond_redirect(ar_request *req, int status, const char *location)
{
    respond_buffer(req, status, "text/plain; charset=utf-8", ar_strdup(""), 0, 1);
    MHD_add_response_header(req->response, MHD_HTTP_HEADER_LOCATION, location);
}

static const char *error_title(int status)
{
    switch (status) {
    case 400: return "Bad request";
    case 401: return "Sign in required";
    case 402: return "Payment required";
    case 403: return "Not allowed";
    case 404: return "Page not found";
    case 405: return "Method not allowed";
    case 409: return "Conflict";
    case 413: return "Too large";
    case 415: return "Unsupported content type";
    case 429: return "Too many requests";
    case 503: return "Temporarily unavailable";
    default: return status >= 500 ? "Something went wrong" : "Request failed";
    }
}

void ar_respond_error(ar_request *req, const ar_error *err)
{
    int status = ar_err_http_status(err->code);
    if (req->is_api || !req->app || !req->app->templates) {
        ar_respond_json(req, status, ar_error_to_json(err));
        return;
    }
    const char *title = error_title(status);
    json_t *data = json_pack("{s:{s:i,s:s,s:s,s:s}}", "error", "status", status, "title", title, "code",
                             ar_err_code_string(err->code), "message",
                             err->message[0] ? err->message : ar_err_default_message(err->code));
    if (err->fields) json_object_set(json_object_get(data, "error"), "fields", err->fields);
    ar_respond_page(req, status, "pages/error", title, data);
}

void ar_respond_error_code(ar_request *req, ar_err_code code, const char *message)
{
    ar_error err = {0};
    if (message)
        ar_error_set(&err, code, "%s", message);
    else
        ar_error_set(&err, code, NULL);
    ar_respond_error(req, &err);
    ar_error_clear(&err);
}

/* Streamed responses: MHD pulls blocks through stream_reader on its own thread after the handler returned. */
typedef struct stream_response {
    ar_stream_read_fn read;
    void *cls;
    void (*release)(void *cls);
} stream_response;

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_response *s = cls;
    long long n = s->read(s->cls, (unsigned long long)pos, buf, max);
    if (n < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0) return MHD_CONTENT_READER_END_OF_STREAM;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    stream_response *s = cls;
    if (s->release) s->release(s->cls);
    free(s);
}

void ar_respond_stream(ar_request *req, int status, const char *content_type, long long size,
                       ar_stream_read_fn read, void *cls, void (*release)(void *cls))
{
    stream_response *s = ar_malloc(sizeof *s);
    s->read = read;
    s->cls = cls;
    s->release = release;
    struct MHD_Response *resp = MHD_create_response_from_callback(size < 0 ? MHD_SIZE_UNKNOWN : (uint64_t)size,
                                                                  64 * 1024, stream_reader, s, stream_free);
    if (!resp) {
        stream_free(s);
        ar_respond_error_code(req, AR_ERR_INTERNAL, NULL);
        return;
    }
    ar_response_install(req, status, resp, size < 0 ? 0 : (size_t)size, content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
}

void ar_content_disposition(ar_buf *out, const char *disposition, const char *filename)
{
    if (!filename || !*filename) filename = "download";
    ar_buf_puts(out, disposition ? disposition : "attachment");
    ar_buf_puts(out, "; filename=\"");
    int differs = 0;
    for (const unsigned char *p = (const unsigned char *)filename; *p;) {
        unsigned char c = *p;
        if (c >= 0x80) { /* one '_' per UTF-8 character, not per byte */
            ar_buf_putc(out, '_');
            differs = 1;
            p++;
            while ((*p & 0xC0) == 0x80) p++;
            continue;
        }
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '%' || c == ';') {
            ar_buf_putc(out, '_');
            differs = 1;
        } else {
            ar_buf_putc(out, (char)c);
        }
        p++;
    }
    ar_buf_putc(out, '"');
    if (!differs) return;
    ar_buf_puts(out, "; filename*=UTF-8''");
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)filename; *p; p++) {
        unsigned char c = *p;
        int attr_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        strchr("!#$&+-.^_`|~", c) != NULL;
        if (attr_char && c != 0) {
            ar_buf_putc(out, (char)c);
        } else if (c < 0x20 || c == 0x7f) {
            ar_buf_puts(out, "_"); /* never a control character, even encoded */
        } else {
            ar_buf_putc(out, '%');
            ar_buf_putc(out, hex[c >> 4]);
            ar_buf_putc(out, hex[c & 15]);
        }
    }
}
