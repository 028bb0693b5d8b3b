/* valkey.c — per-thread hiredis connections to Valkey/Redis with timeouts, AUTH and SELECT. */
#include "afterresume/jobs/valkey.h"
#include "afterresume/core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ar_valkey_endpoint endpoint;
static int configured;
static pthread_key_t conn_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void conn_destructor(void *p)
{
    if (p) redisFree(p);
}

static void make_key(void)
{
    pthread_key_create(&conn_key, conn_destructor);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decode the userinfo part of a URL into a bounded buffer. */
static int percent_decode_into(const char *s, size_t len, char *out, size_t out_size)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= len) return -1;
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= out_size) return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

int ar_valkey_parse_url(const char *url, ar_valkey_endpoint *out)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    const char *rest;
    if (strncmp(url, "unix://", 7) == 0) {
        rest = url + 7;
        const char *q = strchr(rest, '?');
        size_t len = q ? (size_t)(q - rest) : strlen(rest);
        if (len == 0 || len >= sizeof out->unix_path) return -1;
        memcpy(out->unix_path, rest, len);
        if (q && strncmp(q, "?db=", 4) == 0) out->db = atoi(q + 4);
        return 0;
    }
    if (strncmp(url, "redis://", 8) == 0) rest = url + 8;
    else if (strncmp(url, "valkey://", 9) == 0) rest = url + 9;
    else return -1; /* rediss:// (TLS) needs hiredis_ssl, which we do not link */
    const char *path = strchr(rest, '/');
    size_t auth_len = path ? (size_t)(path - rest) : strlen(rest);
    const char *at = NULL;
    for (size_t i = 0; i < auth_len; i++)
        if (rest[i] == '@') at = rest + i;
    const char *hostport = rest;
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        if (colon) {
            if (percent_decode_into(rest, (size_t)(colon - rest), out->username, sizeof out->username) ||
                percent_decode_into(colon + 1, (size_t)(at - colon - 1), out->password, sizeof out->password))
                return -1;
        } else if (percent_decode_into(rest, (size_t)(at - rest), out->password, sizeof out->password)) {
            return -1; /* redis://password@host is the common legacy form */
        }
        hostport = at + 1;
    }
    size_t hp_len = (size_t)((rest + auth_len) - hostport);
    const char *colon = memchr(hostport, ':', hp_len);
    size_t host_len = colon ? (size_t)(colon - hostport) : hp_len;
    if (host_len == 0 || host_len >= sizeof out->host) return -1;
    memcpy(out->host, hostport, host_len);
    if (colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (end != hostport + hp_len || p < 1 || p > 65535) return -1;
        out->port = (int)p;
    }
    if (path && path[1]) {
        char *end;
        long db = strtol(path + 1, &end, 10);
        if (*end || db < 0 || db > 255) return -1;
        out->db = (int)db;
    }
    return 0;
}

int ar_valkey_configure(const char *url, ar_error *err)
{
    pthread_once(&key_once, make_key);
    if (!url || ar_valkey_parse_url(url, &endpoint) != 0) {
        ar_error_set(err, AR_ERR_VALIDATION, "VALKEY_URL is not a valid redis://host:port/db URL");
        return -1;
    }
    configured = 1;
    return 0;
}

static redisContext *connect_now(ar_error *err)
{
    struct timeval tv = {2, 0};
    redisContext *c = endpoint.unix_path[0] ? redisConnectUnixWithTimeout(endpoint.unix_path, tv)
                                            : redisConnectWithTimeout(endpoint.host, endpoint.port, tv);
    if (!c || c->err) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "valkey unreachable at %s:%d: %s",
                     endpoint.unix_path[0] ? endpoint.unix_path : endpoint.host, endpoint.port,
                     c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return NULL;
    }
    struct timeval cmd_tv = {5, 0};
    redisSetTimeout(c, cmd_tv);
    redisReply *r = NULL;
    if (endpoint.password[0]) {
        r = endpoint.username[0] ? redisCommand(c, "AUTH %s %s", endpoint.username, endpoint.password)
                                 : redisCommand(c, "AUTH %s", endpoint.password);
        int bad = !r || r->type == REDIS_REPLY_ERROR;
        if (r) freeReplyObject(r);
        if (bad) {
            ar_error_set(err, AR_ERR_UNAVAILABLE, "valkey authentication failed");
            redisFree(c);
            return NULL;
        }
    }
    if (endpoint.db) {
        r = redisCommand(c, "SELECT %d", endpoint.db);
        int bad = !r || r->type == REDIS_REPLY_ERROR;
        if (r) freeReplyObject(r);
        if (bad) {
            ar_error_set(err, AR_ERR_UNAVAILABLE, "valkey SELECT %d failed", endpoint.db);
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

redisContext *ar_valkey_conn(ar_error *err)
{
    if (!configured) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "valkey is not configured");
        return NULL;
    }
    redisContext *c = pthread_getspecific(conn_key);
    if (c && c->err) {
        redisFree(c);
        c = NULL;
        pthread_setspecific(conn_key, NULL);
    }
    if (!c) {
        c = connect_now(err);
        if (!c) return NULL;
        pthread_setspecific(conn_key, c);
    }
    return c;
}

redisReply *ar_valkey_command(ar_error *err, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        redisContext *c = ar_valkey_conn(err);
        if (!c) return NULL;
        va_list ap;
        va_start(ap, fmt);
        redisReply *r = redisvCommand(c, fmt, ap);
        va_end(ap);
        if (r) return r;
        /* I/O error: drop the connection; retry once on a fresh one. */
        ar_error_set(err, AR_ERR_UNAVAILABLE, "valkey command failed: %s", c->errstr);
        ar_valkey_thread_close();
    }
    return NULL;
}

int ar_valkey_ping(ar_error *err)
{
    redisReply *r = ar_valkey_command(err, "PING");
    if (!r) return -1;
    int ok = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (!ok) ar_error_set(err, AR_ERR_UNAVAILABLE, "valkey answered PING with an error");
    freeReplyObject(r);
    return ok ? 0 : -1;
}

void ar_valkey_thread_close(void)
{
    pthread_once(&key_once, make_key);
    redisContext *c = pthread_getspecific(conn_key);
    if (c) redisFree(c);
    pthread_setspecific(conn_key, NULL);
}
