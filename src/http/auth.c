/* auth.c — identity and access for every request: bearer token or session cookie → request context; the route
 * table's auth level, role, token scope, CSRF flag and rate-limit class enforced in one place. */
#include "afterresume/http/auth.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/ratelimit.h"
#include "afterresume/domain/sessions.h"
#include "afterresume/domain/tokens.h"
#include "afterresume/http/parse.h"
#include "afterresume/http/response.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *ar_session_cookie_name(const ar_request *req)
{
    return req->app->cfg.cookie_secure ? "__Host-ar_session" : "ar_session";
}

static const char *csrf_cookie_name(const ar_request *req)
{
    return req->app->cfg.cookie_secure ? "__Host-ar_csrf" : "ar_csrf";
}

void ar_format_cookie(char *out, size_t out_size, const char *name, const char *value, int max_age, int secure)
{
    char age[32] = "";
    if (max_age > 0) snprintf(age, sizeof age, "; Max-Age=%d", max_age);
    if (max_age < 0) snprintf(age, sizeof age, "; Max-Age=0");
    snprintf(out, out_size, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s%s", name, value, age, secure ? "; Secure" : "");
}

int ar_csrf_token_matches(const char *expected, const char *sent)
{
    size_t n = sent ? strlen(sent) : 0;
    return expected && n > 0 && n == strlen(expected) && sodium_memcmp(sent, expected, n) == 0;
}

static void queue_cookie(ar_request *req, const char *name, const char *value, int max_age)
{
    if (req->nset_cookies >= (int)(sizeof req->set_cookies / sizeof req->set_cookies[0])) return;
    char buf[512];
    ar_format_cookie(buf, sizeof buf, name, value, max_age, req->app->cfg.cookie_secure);
    req->set_cookies[req->nset_cookies++] = ar_arena_strdup(&req->arena, buf);
}

void ar_set_session_cookie(ar_request *req, const char *token, int remember)
{
    queue_cookie(req, ar_session_cookie_name(req), token, remember ? req->app->cfg.session_max_age_s : 0);
}

void ar_clear_session_cookie(ar_request *req)
{
    queue_cookie(req, ar_session_cookie_name(req), "", -1);
}

static const char *cookie_value(ar_request *req, const char *name, char *out, size_t out_size)
{
    const char *header = ar_req_header(req, MHD_HTTP_HEADER_COOKIE);
    if (!header) return NULL;
    ar_kvlist kv;
    ar_kvlist_init(&kv);
    ar_parse_cookies(header, &kv);
    const char *v = ar_kvlist_get(&kv, name);
    const char *res = NULL;
    if (v && *v && strlen(v) < out_size) {
        memcpy(out, v, strlen(v) + 1);
        res = out;
    }
    ar_kvlist_free(&kv);
    return res;
}

void ar_ensure_csrf_cookie(ar_request *req)
{
    if (req->csrf_token[0]) return;
    char token[AR_SECRET_TEXT_SIZE];
    ar_secret_generate("", token);
    snprintf(req->csrf_token, sizeof req->csrf_token, "%s", token);
    queue_cookie(req, csrf_cookie_name(req), token, 0);
}

static void client_ip(ar_request *req, char *out, size_t out_size)
{
    out[0] = '\0';
    if (req->app->cfg.trust_proxy) {
        const char *xff = ar_req_header(req, "X-Forwarded-For");
        if (xff) {
            size_t n = strcspn(xff, ", ");
            if (n > 0 && n < out_size) {
                memcpy(out, xff, n);
                out[n] = '\0';
                return;
            }
        }
    }
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)out_size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)out_size);
}

int ar_http_identify(ar_request *req, ar_error *err)
{
    ar_ctx *ctx = &req->ctx;
    memset(ctx, 0, sizeof *ctx);
    snprintf(ctx->request_id, sizeof ctx->request_id, "%s", req->request_id);
    client_ip(req, ctx->ip, sizeof ctx->ip);
    const char *ua = ar_req_header(req, MHD_HTTP_HEADER_USER_AGENT);
    snprintf(ctx->user_agent, sizeof ctx->user_agent, "%s", ua ? ua : "");

    const char *authz = ar_req_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (authz && strncasecmp(authz, "Bearer ", 7) == 0) {
        ar_token_info t;
        if (ar_token_lookup(authz + 7, ctx, &t, err) != 0) return -1;
        ctx->user_id = t.user_id;
        ctx->tenant_id = t.tenant_id;
        ctx->role = t.role;
        ctx->is_staff = t.is_staff;
        snprintf(ctx->username, sizeof ctx->username, "%s", t.username);
        req->auth_kind = AR_AUTH_TOKEN_KIND;
        req->token_id = t.id;
        req->token_can_write = t.can_write;
        return 0;
    }
    if (authz) return ar_error_set(err, AR_ERR_UNAUTHORIZED, "Use 'Authorization: Bearer <token>'."), -1;

    char value[128];
    if (cookie_value(req, ar_session_cookie_name(req), value, sizeof value)) {
        ar_session_info s;
        ar_error lookup_err = {0};
        if (ar_session_lookup(value, ctx, &s, &lookup_err) == 0) {
            ctx->user_id = s.user_id;
            ctx->tenant_id = s.tenant_id;
            ctx->role = s.role;
            ctx->is_staff = s.is_staff;
            snprintf(ctx->username, sizeof ctx->username, "%s", s.username);
            snprintf(req->csrf_token, sizeof req->csrf_token, "%s", s.csrf_token);
            req->auth_kind = AR_AUTH_SESSION_KIND;
            req->session_id = s.id;
        } else if (lookup_err.code == AR_ERR_NOT_FOUND) {
            ar_clear_session_cookie(req); /* expired or ended: forget it */
        } else {
            *err = lookup_err;
            return -1;
        }
        sodium_memzero(value, sizeof value);
    }
    if (req->auth_kind == AR_AUTH_NONE_KIND && cookie_value(req, csrf_cookie_name(req), value, sizeof req->csrf_token))
        memcpy(req->csrf_token, value, strlen(value) + 1); /* fits: cookie_value bounded it */
    return 0;
}

/* Browser state changes must come from our own origin (Sec-Fetch-Site, then Origin against the public URL or
 * the Host header) and carry the synchronizer token (form field csrf_token or header X-CSRF-Token). */
static int csrf_ok(ar_request *req)
{
    const char *site = ar_req_header(req, "Sec-Fetch-Site");
    if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0) return 0;
    const char *origin = ar_req_header(req, "Origin");
    if (origin && strcmp(origin, req->app->cfg.public_url) != 0) {
        const char *host = ar_req_header(req, MHD_HTTP_HEADER_HOST);
        const char *sep = strstr(origin, "://");
        if (!host || !sep || strcmp(sep + 3, host) != 0) return 0;
    }
    const char *sent = ar_req_header(req, "X-CSRF-Token");
    if (!sent) sent = ar_req_field(req, "csrf_token");
    return ar_csrf_token_matches(req->csrf_token, sent);
}

static int rate_limited(ar_request *req, const char *cls, const char *subject, ar_error *err, int *retry_after)
{
    int rc = ar_ratelimit_hit(cls, subject, retry_after, err);
    if (rc == 0) return 0;
    if (rc < 0) return -1;
    ar_error_set(err, AR_ERR_RATE_LIMITED, "Too many attempts; try again in %d seconds.", *retry_after);
    json_t *details = json_pack("{s:s,s:s}", "class", cls, "route", req->route->pattern);
    ar_audit_event ev = {.action = "ratelimit.tripped", .target_type = "ratelimit", .target_id = cls,
                         .success = 0, .reason = "rate limit exceeded", .details = details};
    ar_audit_record(&req->ctx, &ev);
    json_decref(details);
    return -1;
}

int ar_http_authorize(ar_request *req, ar_error *err, int *retry_after)
{
    const ar_route *route = req->route;
    const ar_ctx *ctx = &req->ctx;
    if (route->auth != AR_AUTH_PUBLIC && ctx->user_id <= 0)
        return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), -1;
    if (route->auth == AR_AUTH_STAFF && !ctx->is_staff)
        return ar_error_set(err, AR_ERR_FORBIDDEN, "This page is for platform staff."), -1;
    if (route->role && ctx->role < ar_role_from_string(route->role) && !(route->auth == AR_AUTH_STAFF))
        return ar_error_set(err, AR_ERR_FORBIDDEN, "Your role in this workspace does not allow that."), -1;
    int writes = req->method != AR_GET && req->method != AR_HEAD;
    if (req->auth_kind == AR_AUTH_TOKEN_KIND && writes && !req->token_can_write)
        return ar_error_set(err, AR_ERR_FORBIDDEN, "This API token is read-only."), -1;
    if (route->csrf && req->auth_kind != AR_AUTH_TOKEN_KIND && !csrf_ok(req))
        return ar_error_set(err, AR_ERR_CSRF, NULL), -1;
    if (req->auth_kind == AR_AUTH_TOKEN_KIND) {
        char subject[24];
        snprintf(subject, sizeof subject, "%lld", req->token_id);
        if (rate_limited(req, "api_token", subject, err, retry_after) != 0) return -1;
    }
    if (route->rate_class) {
        char subject[64];
        size_t n = strlen(route->rate_class);
        if (n > 5 && strcmp(route->rate_class + n - 5, "_user") == 0)
            snprintf(subject, sizeof subject, "%lld", ctx->user_id);
        else
            snprintf(subject, sizeof subject, "%s", ctx->ip);
        if (rate_limited(req, route->rate_class, subject, err, retry_after) != 0) return -1;
    }
    return 0;
}
