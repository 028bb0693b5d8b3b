/* ratelimit.c — fixed-window rate limits in Valkey (see ratelimit.h). One Lua script does INCR and sets the
 * window's TTL when the key has none, atomically, so a counter can never be left without an expiry. The
 * class table and its configured limits are written once at start-up and only read afterwards. */
#include "afterresume/domain/ratelimit.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"
#include "afterresume/jobs/valkey.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_PREFIX "ar:{rl}:"
#define SUBJECT_MAX 200
#define LIMIT_MAX 1000000000LL
#define WINDOW_MAX 2678400LL /* 31 days */
#define LIST_MAX 1000
#define SCAN_COUNT "200"
#define WARN_INTERVAL_SECONDS 10

typedef struct rl_class {
    const char *name;
    const char *env; /* AR_RATE_LIMIT_<NAME upper> */
    int default_limit;
    int default_window;
    int fail_closed;
} rl_class;

static const rl_class classes[] = {
    {"signin_ip", "AR_RATE_LIMIT_SIGNIN_IP", 5, 300, 1},
    {"signin_account", "AR_RATE_LIMIT_SIGNIN_ACCOUNT", 5, 300, 1},
    {"signup_ip", "AR_RATE_LIMIT_SIGNUP_IP", 3, 3600, 1},
    {"passkey_ip", "AR_RATE_LIMIT_PASSKEY_IP", 10, 3600, 1},
    {"reset_ip", "AR_RATE_LIMIT_RESET_IP", 5, 3600, 1},
    {"ai_user", "AR_RATE_LIMIT_AI_USER", 20, 3600, 0},
    {"export_user", "AR_RATE_LIMIT_EXPORT_USER", 5, 3600, 0},
    {"api_token", "AR_RATE_LIMIT_API_TOKEN", 600, 60, 0},
    {"csp_report", "AR_RATE_LIMIT_CSP_REPORT", 60, 60, 0},
    {"share_view", "AR_RATE_LIMIT_SHARE_VIEW", 60, 60, 0},
};
#define CLASS_COUNT (sizeof classes / sizeof classes[0])

typedef struct rl_setting {
    int limit; /* 0 = disabled */
    int window;
} rl_setting;

static rl_setting settings[CLASS_COUNT] = {
    {5, 300}, {5, 300}, {3, 3600}, {10, 3600}, {5, 3600}, {20, 3600}, {5, 3600}, {600, 60}, {60, 60}, {60, 60},
};

/* INCR, and give the key the window as its TTL when it has none (first hit, or a key left without one);
 * returns {count, milliseconds left}. */
static const char hit_script[] =
    "local n = redis.call('INCR', KEYS[1]) "
    "local t = redis.call('PTTL', KEYS[1]) "
    "if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) t = tonumber(ARGV[1]) end "
    "return {n, t}";

static int find_class(const char *name)
{
    for (size_t i = 0; name && i < CLASS_COUNT; i++)
        if (strcmp(classes[i].name, name) == 0) return (int)i;
    return -1;
}

static int unknown_class(ar_error *err)
{
    ar_error_set(err, AR_ERR_VALIDATION, "unknown rate-limit class");
    ar_error_field(err, "class", "is not a rate-limit class");
    return -1;
}

/* ---- configuration ------------------------------------------------------------------------------ */

/* Digits only, value in 0..max. */
static int parse_bounded(const char *s, size_t len, long long max, long long *out)
{
    if (len == 0 || len > 10) return -1;
    long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max) return -1;
    *out = v;
    return 0;
}

/* "N/SECONDS" → setting; -1 when malformed or out of range. */
static int parse_setting(const char *value, rl_setting *out)
{
    const char *slash = strchr(value, '/');
    if (!slash) return -1;
    long long limit, window;
    if (parse_bounded(value, (size_t)(slash - value), LIMIT_MAX, &limit) ||
        parse_bounded(slash + 1, strlen(slash + 1), WINDOW_MAX, &window) || window < 1)
        return -1;
    out->limit = (int)limit;
    out->window = (int)window;
    return 0;
}

int ar_ratelimit_configure(ar_error *err)
{
    rl_setting next[CLASS_COUNT];
    int bad = 0;
    for (size_t i = 0; i < CLASS_COUNT; i++) {
        next[i].limit = classes[i].default_limit;
        next[i].window = classes[i].default_window;
        const char *value = getenv(classes[i].env);
        if (!value) continue;
        if (parse_setting(value, &next[i])) {
            if (!bad) ar_error_set(err, AR_ERR_VALIDATION, "%s must be LIMIT/SECONDS, e.g. 5/300", classes[i].env);
            ar_error_field(err, classes[i].env,
                           "must be LIMIT/SECONDS with LIMIT 0..1000000000 (0 disables) and SECONDS 1..2678400");
            bad = 1;
        }
    }
    if (bad) return -1;
    memcpy(settings, next, sizeof settings);
    for (size_t i = 0; i < CLASS_COUNT; i++)
        if (settings[i].limit != classes[i].default_limit || settings[i].window != classes[i].default_window)
            ar_log_json(AR_LOG_INFO, "rate limit configured",
                        json_pack("{s:s s:i s:i}", "class", classes[i].name, "limit", settings[i].limit, "window",
                                  settings[i].window));
    return 0;
}

json_t *ar_ratelimit_classes(void)
{
    json_t *list = json_array();
    for (size_t i = 0; i < CLASS_COUNT; i++)
        json_array_append_new(list, json_pack("{s:s s:i s:i s:b}", "class", classes[i].name, "limit",
                                              settings[i].limit, "window", settings[i].window, "fail_closed",
                                              classes[i].fail_closed));
    return list;
}

/* ---- keys --------------------------------------------------------------------------------------- */

static int subject_is_plain(const char *subject, size_t len)
{
    if (len > SUBJECT_MAX) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)subject[i];
        if (c <= 0x20 || c >= 0x7f) return 0;
    }
    return 1;
}

int ar_ratelimit_key(const char *cls, const char *subject, char *out, size_t out_size)
{
    if (find_class(cls) < 0 || !subject || !subject[0]) return -1;
    size_t len = strlen(subject);
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    const char *shown = subject;
    if (!subject_is_plain(subject, len)) {
        unsigned char hash[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(hash, (const unsigned char *)subject, len);
        sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
        shown = hex;
    }
    int n = snprintf(out, out_size, KEY_PREFIX "%s:%s", cls, shown);
    return n < 0 || (size_t)n >= out_size ? -1 : 0;
}

/* ---- counting ----------------------------------------------------------------------------------- */

static _Atomic long long last_warning;

/* A warning that Valkey failed, at most one per WARN_INTERVAL_SECONDS per process (an outage would
 * otherwise log once per request). */
static void warn_unavailable(const char *cls, const ar_error *cause, int fail_closed)
{
    long long now = (long long)time(NULL);
    long long last = atomic_load(&last_warning);
    if (now - last < WARN_INTERVAL_SECONDS || !atomic_compare_exchange_strong(&last_warning, &last, now)) return;
    ar_log_json(AR_LOG_WARN, fail_closed ? "rate limiter unavailable: refusing" : "rate limiter unavailable: allowing",
                json_pack("{s:s s:s}", "class", cls, "reason", cause->message));
}

int ar_ratelimit_hit(const char *cls, const char *subject, int *retry_after, ar_error *err)
{
    if (retry_after) *retry_after = 0;
    int i = find_class(cls);
    if (i < 0) return unknown_class(err);
    if (!subject || !subject[0]) {
        ar_error_set(err, AR_ERR_VALIDATION, "rate-limit subject is empty");
        ar_error_field(err, "subject", "is required");
        return -1;
    }
    if (settings[i].limit == 0) return 0;
    char key[AR_RATELIMIT_KEY_MAX];
    ar_ratelimit_key(cls, subject, key, sizeof key);
    ar_error cause = {0};
    redisReply *r = ar_valkey_command(&cause, "EVAL %s 1 %s %lld", hit_script, key, (long long)settings[i].window * 1000);
    long long count = -1, millis = 0;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_INTEGER &&
        r->element[1]->type == REDIS_REPLY_INTEGER) {
        count = r->element[0]->integer;
        millis = r->element[1]->integer;
    } else if (r) {
        ar_error_set(&cause, AR_ERR_UNAVAILABLE, "valkey answered the rate-limit script with %s",
                     r->type == REDIS_REPLY_ERROR ? r->str : "an unexpected reply");
    }
    if (r) freeReplyObject(r);
    if (count < 0) {
        warn_unavailable(cls, &cause, classes[i].fail_closed);
        ar_error_clear(&cause);
        if (!classes[i].fail_closed) return 0;
        ar_error_set(err, AR_ERR_UNAVAILABLE, "sign-in is temporarily unavailable");
        return -1;
    }
    if (count <= settings[i].limit) return 0;
    if (retry_after) {
        long long seconds = millis > 0 ? (millis + 999) / 1000 : settings[i].window;
        if (seconds < 1) seconds = 1;
        if (seconds > settings[i].window) seconds = settings[i].window;
        *retry_after = (int)seconds;
    }
    return 1;
}

/* ---- listing and resetting ---------------------------------------------------------------------- */

/* One SCAN step over pattern: the reply (caller frees) and the next cursor. NULL + err on failure. */
static redisReply *scan_step(char *cursor, size_t cursor_size, const char *pattern, ar_error *err)
{
    redisReply *r = ar_valkey_command(err, "SCAN %s MATCH %s COUNT " SCAN_COUNT, cursor, pattern);
    if (!r) return NULL;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_ARRAY) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "valkey answered SCAN unexpectedly");
        freeReplyObject(r);
        return NULL;
    }
    snprintf(cursor, cursor_size, "%s", r->element[0]->str);
    return r;
}

/* What to send for each key of a SCAN batch. */
typedef enum key_commands { KEYS_GET_AND_PTTL, KEYS_DEL } key_commands;

static size_t replies_per_key(key_commands which)
{
    return which == KEYS_GET_AND_PTTL ? 2 : 1;
}

/* Pipeline the commands for every key of one SCAN batch and collect their replies in order; NULL + err
 * when the connection fails. The caller frees them with free_replies. */
static redisReply **pipeline_per_key(const redisReply *keys, key_commands which, ar_error *err)
{
    redisContext *c = ar_valkey_conn(err);
    if (!c) return NULL;
    size_t n = keys->elements * replies_per_key(which);
    for (size_t k = 0; k < keys->elements; k++) {
        const redisReply *key = keys->element[k];
        if (which == KEYS_GET_AND_PTTL) {
            redisAppendCommand(c, "GET %b", key->str, key->len);
            redisAppendCommand(c, "PTTL %b", key->str, key->len);
        } else {
            redisAppendCommand(c, "DEL %b", key->str, key->len);
        }
    }
    redisReply **replies = ar_calloc(n ? n : 1, sizeof *replies);
    for (size_t i = 0; i < n; i++) {
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK) {
            ar_error_set(err, AR_ERR_UNAVAILABLE, "valkey command failed: %s", c->errstr);
            for (size_t j = 0; j < i; j++) freeReplyObject(replies[j]);
            ar_free(replies);
            ar_valkey_thread_close();
            return NULL;
        }
        replies[i] = reply;
    }
    return replies;
}

static void free_replies(redisReply **replies, size_t n)
{
    for (size_t i = 0; i < n; i++) freeReplyObject(replies[i]);
    ar_free(replies);
}

/* Append {class, subject, count, limit, window, ttl} for key when it is a live counter of a known class. */
static void append_counter(json_t *list, const char *key, const redisReply *value, const redisReply *pttl)
{
    if (strncmp(key, KEY_PREFIX, strlen(KEY_PREFIX)) != 0) return;
    const char *rest = key + strlen(KEY_PREFIX);
    const char *colon = strchr(rest, ':');
    if (!colon || value->type != REDIS_REPLY_STRING || pttl->type != REDIS_REPLY_INTEGER) return;
    char cls[64];
    size_t cls_len = (size_t)(colon - rest);
    if (cls_len >= sizeof cls) return;
    memcpy(cls, rest, cls_len);
    cls[cls_len] = '\0';
    int i = find_class(cls);
    if (i < 0) return;
    long long ttl = pttl->integer > 0 ? (pttl->integer + 999) / 1000 : pttl->integer;
    json_t *subject = json_string(colon + 1);
    if (!subject) return; /* not UTF-8: not a key this module wrote */
    json_array_append_new(list, json_pack("{s:s s:o s:I s:i s:i s:I}", "class", cls, "subject", subject, "count",
                                          (json_int_t)strtoll(value->str, NULL, 10), "limit", settings[i].limit,
                                          "window", settings[i].window, "ttl", (json_int_t)ttl));
}

json_t *ar_ratelimit_list(const char *cls_or_null, ar_error *err)
{
    if (cls_or_null && find_class(cls_or_null) < 0) {
        unknown_class(err);
        return NULL;
    }
    char pattern[96];
    snprintf(pattern, sizeof pattern, KEY_PREFIX "%s%s*", cls_or_null ? cls_or_null : "", cls_or_null ? ":" : "");
    json_t *list = json_array();
    char cursor[32] = "0";
    do {
        redisReply *scan = scan_step(cursor, sizeof cursor, pattern, err);
        if (!scan) goto fail;
        redisReply *keys = scan->element[1];
        redisReply **replies = pipeline_per_key(keys, KEYS_GET_AND_PTTL, err);
        if (!replies) {
            freeReplyObject(scan);
            goto fail;
        }
        for (size_t k = 0; k < keys->elements && json_array_size(list) < LIST_MAX; k++)
            append_counter(list, keys->element[k]->str, replies[2 * k], replies[2 * k + 1]);
        free_replies(replies, keys->elements * 2);
        freeReplyObject(scan);
    } while (strcmp(cursor, "0") != 0 && json_array_size(list) < LIST_MAX);
    return list;
fail:
    json_decref(list);
    return NULL;
}

int ar_ratelimit_reset(const char *cls, const char *subject, ar_error *err)
{
    if (find_class(cls) < 0) return unknown_class(err);
    if (subject) {
        char key[AR_RATELIMIT_KEY_MAX];
        if (ar_ratelimit_key(cls, subject, key, sizeof key)) {
            ar_error_set(err, AR_ERR_VALIDATION, "rate-limit subject is empty");
            ar_error_field(err, "subject", "is required");
            return -1;
        }
        redisReply *r = ar_valkey_command(err, "DEL %s", key);
        if (!r) return -1;
        int bad = r->type == REDIS_REPLY_ERROR;
        if (bad) ar_error_set(err, AR_ERR_UNAVAILABLE, "valkey refused DEL: %s", r->str);
        freeReplyObject(r);
        return bad ? -1 : 0;
    }
    char pattern[96];
    snprintf(pattern, sizeof pattern, KEY_PREFIX "%s:*", cls);
    char cursor[32] = "0";
    do {
        redisReply *scan = scan_step(cursor, sizeof cursor, pattern, err);
        if (!scan) return -1;
        redisReply **replies = pipeline_per_key(scan->element[1], KEYS_DEL, err);
        size_t n = scan->element[1]->elements;
        freeReplyObject(scan);
        if (!replies) return -1;
        free_replies(replies, n);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}
