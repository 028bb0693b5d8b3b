/* server.c — libmicrohttpd integration: per-request context, body limits and content-type checks, CSRF origin
 * check, dispatch to the route's handler, streamed request bodies (uploads: auth before the first body byte,
 * then chunks to the route's sink, through the multipart parser for multipart routes), one JSON log line and
 * metrics per request, graceful shutdown. */
#include "afterresume/http/server.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"
#include "afterresume/core/utf8.h"
#include "afterresume/db/db.h"
#include "afterresume/http/auth.h"
#include "afterresume/http/metrics.h"
#include "afterresume/http/multipart.h"
#include "afterresume/http/parse.h"
#include "afterresume/http/request.h"
#include "afterresume/http/response.h"
#include "afterresume/jobs/valkey.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define JSON_MAX_DEPTH 32
#define FORM_MAX_FIELDS 256
#define DRAIN_ALLOWANCE ((size_t)8 << 20)
#define STREAM_OVERHEAD ((size_t)1 << 20)   /* multipart headers, boundaries and small fields beside a file */
#define MULTIPART_MAX_HEADER 8192
#define MULTIPART_MAX_PARTS 64

struct ar_server {
    struct MHD_Daemon *daemon;
    int listen_fd;
    int port;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *ar_req_header(ar_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *ar_req_query(ar_request *req, const char *name)
{
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    if (v && !ar_utf8_valid(v, strlen(v))) return NULL;
    return v;
}

const char *ar_req_param(ar_request *req, const char *name)
{
    return ar_path_param(&req->params, name);
}

const char *ar_req_field(ar_request *req, const char *name)
{
    json_t *src = req->form ? req->form : req->json;
    return json_string_value(json_object_get(src, name));
}

/* X-Request-ID: echo a sane client value, otherwise 128 random bits in hex. */
static void assign_request_id(ar_request *req)
{
    const char *given = ar_req_header(req, "X-Request-ID");
    if (given) {
        size_t len = strlen(given);
        int ok = len > 0 && len < sizeof req->request_id;
        for (size_t i = 0; ok && i < len; i++) {
            char c = given[i];
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                 c == '_' || c == '.' || c == ':';
        }
        if (ok) {
            memcpy(req->request_id, given, len + 1);
            return;
        }
    }
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(req->request_id, sizeof req->request_id, raw, sizeof raw);
}

static int mime_is_json(const char *mime)
{
    size_t n = strlen(mime);
    return strcmp(mime, "application/json") == 0 || strcmp(mime, "application/csp-report") == 0 ||
           (strncmp(mime, "application/", 12) == 0 && n > 5 && strcmp(mime + n - 5, "+json") == 0);
}

static int is_stream_route(const ar_route *route)
{
    return route && (route->body == AR_BODY_STREAM || route->body == AR_BODY_MULTIPART);
}

static int request_has_body(ar_request *req)
{
    const char *cl = ar_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = ar_req_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    return (cl && strcmp(cl, "0") != 0) || te;
}

/* First call: route match, limits and content type, decided before any body byte is read. */
static void begin_request(ar_request *req, const char *url, const char *method)
{
    req->path = ar_arena_strdup(&req->arena, url);
    req->method_str = ar_arena_strdup(&req->arena, method);
    req->method = ar_method_from_string(method);
    req->is_api = strncmp(url, "/api/", 5) == 0;
    req->body_limit = req->app->cfg.max_body_bytes;
    assign_request_id(req);

    unsigned allowed = 0;
    ar_match_result m = req->method ? ar_router_match(ar_routes, ar_routes_count, req->method, req->path, &req->route,
                                                      &req->params, &allowed)
                                    : AR_MATCH_BAD_METHOD;
    if (m == AR_MATCH_NOT_FOUND) {
        req->body_error = AR_ERR_NOT_FOUND;
        return;
    }
    if (m == AR_MATCH_BAD_METHOD) {
        req->body_error = AR_ERR_METHOD_NOT_ALLOWED;
        if (!req->method) allowed = 0;
        ar_router_allow_header(allowed, req->allow, sizeof req->allow);
        return;
    }
    const char *ct = ar_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct && ar_content_type_mime(ct, req->mime, sizeof req->mime) != 0) req->mime[0] = '\0';
    /* Streamed bodies: the ceiling before the handler sets its own is the largest upload plus overhead. */
    if (is_stream_route(req->route)) req->body_limit = req->app->cfg.upload_document_max + STREAM_OVERHEAD;
    if (!request_has_body(req)) return;
    const char *cl = ar_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || *end || n > req->body_limit) {
            req->body_error = AR_ERR_PAYLOAD_TOO_LARGE;
            return;
        }
    }
    switch (req->route->body) {
    case AR_BODY_NONE:
        break; /* a body on a route that takes none is read and ignored */
    case AR_BODY_JSON:
        if (!mime_is_json(req->mime)) req->body_error = AR_ERR_UNSUPPORTED_MEDIA_TYPE;
        break;
    case AR_BODY_FORM:
        if (!mime_is_json(req->mime) && strcmp(req->mime, "application/x-www-form-urlencoded") != 0)
            req->body_error = AR_ERR_UNSUPPORTED_MEDIA_TYPE;
        break;
    case AR_BODY_RAW:
    case AR_BODY_STREAM:
        break;
    case AR_BODY_MULTIPART:
        if (strcmp(req->mime, "multipart/form-data") != 0) req->body_error = AR_ERR_UNSUPPORTED_MEDIA_TYPE;
        break;
    }
}

int ar_request_stream(ar_request *req, const ar_stream_sink *sink, void *state, size_t max_bytes, ar_error *err)
{
    if (!is_stream_route(req->route) || req->sink_installed || !sink || !sink->on_finish || !sink->on_release)
        return ar_error_set(err, AR_ERR_INTERNAL, "this route does not stream its body"), -1;
    const char *cl = ar_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || *end || n > max_bytes)
            return ar_error_set(err, AR_ERR_PAYLOAD_TOO_LARGE, "The upload is larger than %zu bytes.", max_bytes), -1;
    }
    req->sink = *sink;
    if (req->route->body == AR_BODY_MULTIPART) {
        char boundary[128];
        const char *ct = ar_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!ct || ar_content_type_param(ct, "boundary", boundary, sizeof boundary) != 0 ||
            !(req->multipart = ar_multipart_new(boundary, &req->sink.parts, state, MULTIPART_MAX_HEADER,
                                                MULTIPART_MAX_PARTS))) {
            memset(&req->sink, 0, sizeof req->sink);
            return ar_error_set(err, AR_ERR_BAD_REQUEST, "multipart/form-data needs a valid boundary parameter."), -1;
        }
    }
    req->sink_state = state;
    req->sink_installed = 1;
    req->body_limit = max_bytes;
    return 0;
}

/* Stream routes, first call: who is calling and may they, then the handler opens the sink — all before a byte
 * of the body is read. Leaves an error response in req->response when refused. */
static void open_stream(ar_request *req)
{
    ar_error err = {0};
    int retry_after = 0;
    if (ar_http_identify(req, &err) != 0) {
        ar_respond_error(req, &err);
        goto out;
    }
    if (req->ctx.user_id > 0) req->no_store = 1;
    if (ar_http_authorize(req, &err, &retry_after) != 0) {
        ar_respond_error(req, &err);
        if (err.code == AR_ERR_RATE_LIMITED && retry_after > 0) {
            char ra[16];
            snprintf(ra, sizeof ra, "%d", retry_after);
            ar_response_header(req, "Retry-After", ra);
        }
        goto out;
    }
    req->route->handler(req);
    if (!req->response && !req->sink_installed) {
        ar_log_json(AR_LOG_ERROR, "stream handler neither answered nor opened a sink",
                    json_pack("{s:s,s:s}", "route", req->route->pattern, "request_id", req->request_id));
        ar_respond_error_code(req, AR_ERR_INTERNAL, NULL);
    }
out:
    ar_error_clear(&err);
}

/* Upload calls of a stream route: the chunk goes to the sink (or the multipart parser) unless reading already
 * stopped; past the handler's ceiling reading stops with 413. */
static void feed_stream(ar_request *req, const char *data, size_t len)
{
    if (!req->sink_installed || req->stream_error.code) return;
    if (req->body_seen > req->body_limit) {
        ar_error_set(&req->stream_error, AR_ERR_PAYLOAD_TOO_LARGE, "The upload is larger than %zu bytes.",
                     req->body_limit);
        return;
    }
    ar_error e = {0};
    int rc = 0;
    if (req->multipart)
        rc = ar_multipart_feed(req->multipart, data, len, &e);
    else if (req->sink.on_data)
        rc = req->sink.on_data(req->sink_state, data, len, &e);
    if (rc != 0) {
        if (!e.code) ar_error_set(&e, AR_ERR_BAD_REQUEST, "The upload was refused.");
        req->stream_error = e;
    } else {
        ar_error_clear(&e);
    }
}

/* The body is over (or reading it stopped): the sink's on_finish builds the response. */
static void finish_stream(ar_request *req)
{
    if (!req->stream_error.code && req->multipart) {
        ar_error e = {0};
        if (ar_multipart_finish(req->multipart, &e) != 0)
            req->stream_error = e;
        else
            ar_error_clear(&e);
    }
    req->sink.on_finish(req, req->sink_state, req->stream_error.code ? &req->stream_error : NULL);
    if (!req->response) {
        ar_log_json(AR_LOG_ERROR, "stream sink produced no response",
                    json_pack("{s:s,s:s}", "route", req->route->pattern, "request_id", req->request_id));
        ar_respond_error_code(req, AR_ERR_INTERNAL, NULL);
    }
}

/* Upload calls: keep the body for routes that read it, bounded by the limit. */
static void take_body(ar_request *req, const char *data, size_t len)
{
    if (req->body_error) return;
    if (req->body.len + len > req->body_limit) {
        req->body_error = AR_ERR_PAYLOAD_TOO_LARGE;
        ar_buf_free(&req->body);
        return;
    }
    if (req->route && req->route->body != AR_BODY_NONE) ar_buf_append(&req->body, data, len);
}

static int parse_body(ar_request *req, ar_error *err)
{
    if (!req->route || req->route->body == AR_BODY_NONE || req->route->body == AR_BODY_RAW) return 0;
    if (req->route->body == AR_BODY_FORM && strcmp(req->mime, "application/x-www-form-urlencoded") == 0) {
        ar_kvlist kv;
        ar_kvlist_init(&kv);
        if (ar_parse_urlencoded(ar_buf_cstr(&req->body), req->body.len, FORM_MAX_FIELDS, &kv, err) != 0) {
            ar_kvlist_free(&kv);
            return -1;
        }
        req->form = json_object();
        for (size_t i = 0; i < kv.len; i++)
            if (!json_object_get(req->form, kv.items[i].key))
                json_object_set_new(req->form, kv.items[i].key, json_string(kv.items[i].value));
        ar_kvlist_free(&kv);
        return 0;
    }
    req->json = ar_parse_json_body(ar_buf_cstr(&req->body), req->body.len, JSON_MAX_DEPTH, 1, err);
    return req->json ? 0 : -1;
}

/* Signed-out browsers asking for a page that needs a session go to the sign-in page and come back after. */
static void redirect_to_login(ar_request *req)
{
    ar_buf loc = AR_BUF_INIT;
    ar_buf_puts(&loc, "/login?next=");
    ar_buf_put_urlencoded(&loc, req->path, "/");
    ar_respond_redirect(req, 303, ar_buf_cstr(&loc));
    ar_buf_free(&loc);
}

static void dispatch(ar_request *req)
{
    ar_error err = {0};
    int retry_after = 0;
    if (req->body_error) {
        ar_error_set(&err, req->body_error, NULL);
        if (req->body_error == AR_ERR_PAYLOAD_TOO_LARGE)
            ar_error_set(&err, AR_ERR_PAYLOAD_TOO_LARGE, "The request body is larger than %zu bytes.", req->body_limit);
        ar_respond_error(req, &err);
        if (req->body_error == AR_ERR_METHOD_NOT_ALLOWED && req->allow[0])
            ar_response_header(req, MHD_HTTP_HEADER_ALLOW, req->allow);
        goto out;
    }
    if (ar_http_identify(req, &err) != 0) {
        ar_respond_error(req, &err);
        goto out;
    }
    if (req->ctx.user_id > 0) req->no_store = 1;
    if (parse_body(req, &err) != 0) {
        ar_respond_error(req, &err);
        goto out;
    }
    if (ar_http_authorize(req, &err, &retry_after) != 0) {
        if (err.code == AR_ERR_UNAUTHORIZED && !req->is_api && req->method == AR_GET) {
            redirect_to_login(req);
        } else {
            ar_respond_error(req, &err);
            if (err.code == AR_ERR_RATE_LIMITED && retry_after > 0) {
                char ra[16];
                snprintf(ra, sizeof ra, "%d", retry_after);
                ar_response_header(req, "Retry-After", ra);
            }
        }
        goto out;
    }
    req->route->handler(req);
    if (!req->response) {
        ar_log_json(AR_LOG_ERROR, "handler produced no response",
                    json_pack("{s:s,s:s}", "route", req->route->pattern, "request_id", req->request_id));
        ar_respond_error_code(req, AR_ERR_INTERNAL, NULL);
    }
out:
    ar_error_clear(&err);
}

/* Run the handler (or the error already decided) and hand the response to MHD. */
static enum MHD_Result queue(ar_request *req)
{
    if (!req->response && req->sink_installed) finish_stream(req);
    if (!req->response) dispatch(req);
    req->queued = 1;
    enum MHD_Result r = MHD_queue_response(req->conn, (unsigned)req->status, req->response);
    MHD_destroy_response(req->response);
    req->response = NULL;
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    ar_request *req = *con_cls;
    if (!req) {
        req = ar_calloc(1, sizeof *req);
        req->conn = conn;
        req->app = cls;
        req->started = now_seconds();
        *con_cls = req;
        ar_metrics_request_started();
        begin_request(req, url, method);
        if (!req->body_error && is_stream_route(req->route)) open_stream(req);
        /* Answer on a later call (MHD 0.9.75 closes the connection when answering on the first), except
         * when a body is coming that we already refuse: answering now spares reading it (no 100 Continue). */
        int refused = req->body_error || (is_stream_route(req->route) && req->response);
        if (!(refused && request_has_body(req))) return MHD_YES;
        return queue(req);
    }
    if (*upload_data_size) {
        req->body_seen += *upload_data_size;
        if (is_stream_route(req->route))
            feed_stream(req, upload_data, *upload_data_size);
        else
            take_body(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        /* A body found too large mid-stream (chunked) is drained so the client can read our 413; past the
         * drain allowance we answer at once and MHD closes the connection. */
        if (req->queued || req->body_seen <= req->body_limit + DRAIN_ALLOWANCE) return MHD_YES;
    }
    if (req->queued) return MHD_YES;
    return queue(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    ar_request *req = *con_cls;
    if (!req) return;
    *con_cls = NULL;
    double elapsed = now_seconds() - req->started;
    int route_index = req->route ? (int)(req->route - ar_routes) : -1;
    int status = req->queued ? req->status : 0;
    ar_metrics_request_finished(route_index, req->method_str ? req->method_str : "?", status, elapsed);
    /* Log the route pattern, not the concrete path: paths may carry share tokens or ids. */
    json_t *f = json_pack("{s:s,s:s,s:s,s:i,s:f,s:I}", "request_id", req->request_id, "method",
                          req->method_str ? req->method_str : "?", "route",
                          req->route ? req->route->pattern : "unmatched", "status", status, "duration_ms",
                          (double)(long long)(elapsed * 1e6) / 1000.0, "bytes", (json_int_t)req->response_bytes);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) json_object_set_new(f, "aborted", json_integer(toe));
    ar_log_json(AR_LOG_INFO, "request", f);
    if (req->response) MHD_destroy_response(req->response);
    if (req->multipart) ar_multipart_free(req->multipart);
    if (req->sink_installed) req->sink.on_release(req->sink_state); /* also after a client cut the body off */
    ar_error_clear(&req->stream_error);
    ar_buf_free(&req->body);
    json_decref(req->json);
    json_decref(req->form);
    ar_arena_free(&req->arena);
    free(req);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decoding for the path and query values, except %00: a decoded NUL would silently cut the path
 * short ("/static/a.css%00.png"), so it stays literal and the request finds nothing. */
static size_t unescape_keep_nul(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char *w = s;
    for (const char *r = s; *r;) {
        int hi = r[0] == '%' ? hex_digit(r[1]) : -1;
        int lo = hi >= 0 ? hex_digit(r[2]) : -1;
        if (lo >= 0 && (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    ar_log_json(AR_LOG_WARN, "libmicrohttpd", json_pack("{s:s}", "detail", msg));
}

static int bind_listen(const char *addr, int port, ar_error *err)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    int family;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
        family = AF_INET;
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
        family = AF_INET6;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        len = sizeof *v6;
    } else {
        ar_error_set(err, AR_ERR_VALIDATION, "AR_BIND %s is not an IP address", addr);
        return -1;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "cannot create a socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
        int e = errno;
        close(fd);
        if (e == EADDRINUSE)
            ar_error_set(err, AR_ERR_UNAVAILABLE, "port %d on %s is already in use (set AR_PORT to another port)", port,
                         addr);
        else
            ar_error_set(err, AR_ERR_UNAVAILABLE, "cannot listen on %s:%d: %s", addr, port, strerror(e));
        return -1;
    }
    if (listen(fd, 511) != 0) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "listen failed: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

ar_server *ar_server_start(const ar_app *app, ar_error *err)
{
    const ar_config *cfg = &app->cfg;
    int fd = bind_listen(cfg->bind, cfg->port, err);
    if (fd < 0) return NULL;
    ar_server *s = ar_calloc(1, sizeof *s);
    s->listen_fd = fd;
    s->port = cfg->port;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, (void *)app, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)cfg->http_threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->conn_timeout_s,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->per_ip_conn_limit, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        cfg->conn_memory_limit, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        NULL, MHD_OPTION_UNESCAPE_CALLBACK, unescape_keep_nul, NULL,
        MHD_OPTION_END);
    if (!s->daemon) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "libmicrohttpd failed to start on %s:%d", cfg->bind, cfg->port);
        close(fd);
        free(s);
        return NULL;
    }
    return s;
}

int ar_server_port(const ar_server *s)
{
    return s->port;
}

void ar_server_stop(ar_server *s, int grace_s)
{
    if (!s) return;
    MHD_socket lfd = MHD_quiesce_daemon(s->daemon); /* no new connections from here on */
    if (lfd != MHD_INVALID_SOCKET) close(lfd);
    double deadline = now_seconds() + grace_s;
    while (ar_metrics_in_flight() > 0 && now_seconds() < deadline) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    long left = ar_metrics_in_flight();
    if (left > 0) ar_log_warn("shutdown grace period over with %ld request(s) still running", left);
    MHD_stop_daemon(s->daemon);
    free(s);
}
