/* config.c — loads, validates and describes the runtime configuration (names and defaults: SPEC §10). */
#include "afterresume/core/config.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef enum { T_STR, T_INT, T_SIZE } setting_type;

/* One row per setting: the canonical name, an old-system alias, its default, whether it is secret. */
typedef struct setting {
    const char *name;
    const char *alias;
    const char *def; /* NULL = unset */
    int secret;
    setting_type type;
    size_t offset;
} setting;

#define S(field) offsetof(ar_config, field)
static const setting settings[] = {
    {"AR_BIND", NULL, "127.0.0.1", 0, T_STR, S(bind)},
    {"AR_PORT", NULL, "8080", 0, T_INT, S(port)},
    {"AR_PUBLIC_URL", NULL, NULL, 0, T_STR, S(public_url)},
    {"AR_SECRET_KEY", "SECRET_KEY", NULL, 1, T_STR, S(secret_key)},
    {"AR_ENV", NULL, "development", 0, T_STR, S(env)},
    {"AR_HTTP_THREADS", NULL, NULL, 0, T_INT, S(http_threads)},
    {"AR_WORKERS", NULL, "2", 0, T_INT, S(workers)},
    {"AR_JOBS_TENANT_CONCURRENCY", NULL, "2", 0, T_INT, S(jobs_tenant_concurrency)},
    {"AR_JOBS_TENANT_DAILY_QUOTA", NULL, "100", 0, T_INT, S(jobs_tenant_daily_quota)},
    {"AR_CONN_TIMEOUT", NULL, "30", 0, T_INT, S(conn_timeout_s)},
    {"AR_PER_IP_CONN_LIMIT", NULL, "64", 0, T_INT, S(per_ip_conn_limit)},
    {"AR_CONN_MEMORY_LIMIT", NULL, "131072", 0, T_SIZE, S(conn_memory_limit)},
    {"AR_MAX_BODY", NULL, "1048576", 0, T_SIZE, S(max_body_bytes)},
    {"AR_SHUTDOWN_GRACE", NULL, "10", 0, T_INT, S(shutdown_grace_s)},
    {"AR_LOG_LEVEL", NULL, "info", 0, T_STR, S(log_level)},
    {"AR_COOKIE_SECURE", NULL, NULL, 0, T_INT, S(cookie_secure)},
    {"AR_TRUST_PROXY", NULL, "0", 0, T_INT, S(trust_proxy)},
    {"AR_SESSION_IDLE", NULL, "1800", 0, T_INT, S(session_idle_s)},
    {"AR_SESSION_REMEMBER", NULL, "1209600", 0, T_INT, S(session_remember_s)},
    {"AR_SESSION_MAX_AGE", NULL, "1209600", 0, T_INT, S(session_max_age_s)},
    {"DATABASE_URL", NULL, NULL, 1, T_STR, S(database_url)},
    {"VALKEY_URL", "REDIS_URL", NULL, 1, T_STR, S(valkey_url)},
    {"AR_STORAGE", "AR_STORAGE_BACKEND", "local", 0, T_STR, S(storage)},
    {"AR_STORAGE_DIR", NULL, "./var/objects", 0, T_STR, S(storage_dir)},
    {"S3_ENDPOINT", "MINIO_ENDPOINT", NULL, 0, T_STR, S(s3_endpoint)},
    {"S3_REGION", "MINIO_REGION", "us-east-1", 0, T_STR, S(s3_region)},
    {"S3_BUCKET", "MINIO_BUCKET", NULL, 0, T_STR, S(s3_bucket)},
    {"S3_ACCESS_KEY", "MINIO_ACCESS_KEY", NULL, 1, T_STR, S(s3_access_key)},
    {"S3_SECRET_KEY", "MINIO_SECRET_KEY", NULL, 1, T_STR, S(s3_secret_key)},
    {"AR_STORAGE_QUOTA_BYTES", NULL, "1073741824", 0, T_SIZE, S(storage_quota_bytes)},
    {"AR_UPLOAD_IMAGE_MAX", NULL, "10485760", 0, T_SIZE, S(upload_image_max)},
    {"AR_UPLOAD_DOCUMENT_MAX", NULL, "52428800", 0, T_SIZE, S(upload_document_max)},
    {"AR_UPLOAD_ALLOW_ZIP", NULL, "0", 0, T_INT, S(upload_allow_zip)},
    {"SMTP_URL", NULL, NULL, 1, T_STR, S(smtp_url)},
    {"MAIL_FROM", NULL, "AfterResume <noreply@localhost>", 0, T_STR, S(mail_from)},
    {"STRIPE_SECRET_KEY", NULL, NULL, 1, T_STR, S(stripe_secret_key)},
    {"STRIPE_WEBHOOK_SECRET", NULL, NULL, 1, T_STR, S(stripe_webhook_secret)},
    {"STRIPE_API_BASE", NULL, "https://api.stripe.com", 0, T_STR, S(stripe_api_base)},
    {"LLM_PROVIDER", NULL, "local", 0, T_STR, S(llm_provider)},
    {"LLM_BASE_URL", NULL, NULL, 0, T_STR, S(llm_base_url)},
    {"LLM_API_KEY", NULL, NULL, 1, T_STR, S(llm_api_key)},
    {"LLM_MODEL", NULL, NULL, 0, T_STR, S(llm_model)},
    {"AR_AI_HOLD_CENTS", NULL, "100", 0, T_INT, S(ai_hold_cents)},
    {"AR_AI_LOCAL_JOB_CENTS", NULL, "0", 0, T_INT, S(ai_local_job_cents)},
    {"AR_TEMPLATES_DIR", NULL, "templates", 0, T_STR, S(templates_dir)},
    {"AR_STATIC_DIR", NULL, "static", 0, T_STR, S(static_dir)},
    {"AR_MIGRATIONS_DIR", NULL, "migrations", 0, T_STR, S(migrations_dir)},
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

static char **str_field(ar_config *c, const setting *s)
{
    return (char **)((char *)c + s->offset);
}

int ar_config_read_env_file(const char *path, json_t *obj)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[8192];
    int lineno = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (*p == '\0' || *p == '#') continue;
        if (strncmp(p, "export ", 7) == 0) p += 7;
        char *eq = strchr(p, '=');
        if (!eq || eq == p) {
            if (!bad) bad = lineno;
            continue;
        }
        *eq = '\0';
        char *key = p, *val = eq + 1;
        size_t kl = strlen(key);
        while (kl && isspace((unsigned char)key[kl - 1])) key[--kl] = '\0';
        int key_ok = kl > 0;
        for (size_t i = 0; i < kl; i++)
            if (!(isalnum((unsigned char)key[i]) || key[i] == '_')) key_ok = 0;
        if (!key_ok) {
            if (!bad) bad = lineno;
            continue;
        }
        while (isspace((unsigned char)*val)) val++;
        size_t vl = strlen(val);
        while (vl && isspace((unsigned char)val[vl - 1])) val[--vl] = '\0';
        if (vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) {
            val[vl - 1] = '\0';
            val++;
        } else {
            char *hash = strstr(val, " #"); /* inline comment after an unquoted value */
            if (hash) *hash = '\0';
            vl = strlen(val);
            while (vl && isspace((unsigned char)val[vl - 1])) val[--vl] = '\0';
        }
        json_object_set_new(obj, key, json_string(val));
    }
    fclose(f);
    return bad;
}

static int parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !*s) return -1;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

static int one_of(const char *v, const char *const *options)
{
    for (; *options; options++)
        if (strcmp(v, *options) == 0) return 1;
    return 0;
}

static int starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void invalid(ar_error *err, const char *name, const char *problem)
{
    ar_error_field(err, name, problem);
}

int ar_config_load(ar_config *cfg, const char *dotenv_path, const char *generated_env_path, ar_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->sources = json_object();
    json_t *dotenv = json_object(), *generated = json_object();
    if (dotenv_path) {
        int r = ar_config_read_env_file(dotenv_path, dotenv);
        if (r > 0) invalid(err, dotenv_path, "malformed line (expected KEY=VALUE)");
    }
    if (generated_env_path) ar_config_read_env_file(generated_env_path, generated);

    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *s = &settings[i];
        const char *v = NULL, *src = "default";
        const char *names[2] = {s->name, s->alias};
        for (int layer = 0; layer < 3 && !v; layer++) {
            for (int k = 0; k < 2 && !v; k++) {
                if (!names[k]) continue;
                if (layer == 0) {
                    v = getenv(names[k]);
                    src = "env";
                } else {
                    json_t *o = layer == 1 ? dotenv : generated;
                    v = json_string_value(json_object_get(o, names[k]));
                    src = layer == 1 ? ".env" : "var/afterresumed.env";
                }
                if (v && !*v) v = NULL; /* empty means unset */
            }
        }
        if (!v) {
            v = s->def;
            src = "default";
        }
        if (v) json_object_set_new(cfg->sources, s->name, json_string(src));
        if (s->type == T_STR) {
            *str_field(cfg, s) = v ? ar_strdup(v) : NULL;
        } else if (v) {
            long n;
            if (parse_long(v, 0, s->type == T_SIZE ? LONG_MAX : INT_MAX, &n) != 0) {
                invalid(err, s->name, "must be a non-negative whole number");
                continue;
            }
            if (s->type == T_INT)
                *(int *)((char *)cfg + s->offset) = (int)n;
            else
                *(size_t *)((char *)cfg + s->offset) = (size_t)n;
        }
    }
    json_decref(dotenv);
    json_decref(generated);

    /* Derived defaults. */
    if (!cfg->public_url) cfg->public_url = ar_asprintf("http://%s:%d", cfg->bind, cfg->port ? cfg->port : 8080);
    if (cfg->http_threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->http_threads = (int)(cores > 0 ? cores * 2 : 4);
    }
    cfg->production = strcmp(cfg->env, "production") == 0;
    if (!json_object_get(cfg->sources, "AR_COOKIE_SECURE")) cfg->cookie_secure = starts_with(cfg->public_url, "https://");

    /* Validation: every problem is collected so check-config can list them all at once. */
    struct in6_addr a6;
    struct in_addr a4;
    if (inet_pton(AF_INET, cfg->bind, &a4) != 1 && inet_pton(AF_INET6, cfg->bind, &a6) != 1)
        invalid(err, "AR_BIND", "must be an IPv4 or IPv6 address (e.g. 127.0.0.1 or 0.0.0.0)");
    if (cfg->port < 1 || cfg->port > 65535) invalid(err, "AR_PORT", "must be between 1 and 65535");
    if (!starts_with(cfg->public_url, "http://") && !starts_with(cfg->public_url, "https://"))
        invalid(err, "AR_PUBLIC_URL", "must start with http:// or https://");
    static const char *const envs[] = {"development", "production", "test", NULL};
    if (!one_of(cfg->env, envs)) invalid(err, "AR_ENV", "must be development, production or test");
    if (cfg->production && (!cfg->secret_key || strlen(cfg->secret_key) < 32))
        invalid(err, "AR_SECRET_KEY", "is required in production (at least 32 characters)");
    else if (cfg->secret_key && strlen(cfg->secret_key) < 32)
        invalid(err, "AR_SECRET_KEY", "must be at least 32 characters");
    if (cfg->http_threads < 1 || cfg->http_threads > 256) invalid(err, "AR_HTTP_THREADS", "must be 1 to 256");
    if (cfg->workers > 64) invalid(err, "AR_WORKERS", "must be 0 to 64");
    if (cfg->jobs_tenant_concurrency > 1000)
        invalid(err, "AR_JOBS_TENANT_CONCURRENCY", "must be 0 (no limit) to 1000 running jobs per tenant");
    if (cfg->jobs_tenant_daily_quota > 10000000)
        invalid(err, "AR_JOBS_TENANT_DAILY_QUOTA", "must be 0 (no limit) to 10000000 jobs per tenant per day");
    if (cfg->conn_timeout_s < 1 || cfg->conn_timeout_s > 3600) invalid(err, "AR_CONN_TIMEOUT", "must be 1 to 3600 seconds");
    if (cfg->per_ip_conn_limit < 1) invalid(err, "AR_PER_IP_CONN_LIMIT", "must be at least 1");
    if (cfg->conn_memory_limit < 16384) invalid(err, "AR_CONN_MEMORY_LIMIT", "must be at least 16384 bytes");
    if (cfg->max_body_bytes < 1024 || cfg->max_body_bytes > (size_t)64 << 20)
        invalid(err, "AR_MAX_BODY", "must be between 1024 bytes and 64 MiB");
    if (cfg->shutdown_grace_s > 300) invalid(err, "AR_SHUTDOWN_GRACE", "must be at most 300 seconds");
    if (cfg->cookie_secure > 1) invalid(err, "AR_COOKIE_SECURE", "must be 0 or 1");
    if (cfg->trust_proxy > 1) invalid(err, "AR_TRUST_PROXY", "must be 0 or 1");
    if (cfg->session_idle_s < 60) invalid(err, "AR_SESSION_IDLE", "must be at least 60 seconds");
    if (cfg->session_remember_s < 60) invalid(err, "AR_SESSION_REMEMBER", "must be at least 60 seconds");
    if (cfg->session_max_age_s < cfg->session_idle_s)
        invalid(err, "AR_SESSION_MAX_AGE", "must be at least AR_SESSION_IDLE");
    ar_log_level lvl;
    if (ar_log_level_from_string(cfg->log_level, &lvl) != 0)
        invalid(err, "AR_LOG_LEVEL", "must be debug, info, warn or error");
    if (!cfg->database_url)
        invalid(err, "DATABASE_URL", "is not set (make run starts an embedded cluster and writes var/afterresumed.env)");
    if (!cfg->valkey_url)
        invalid(err, "VALKEY_URL", "is not set (make run starts an embedded server and writes var/afterresumed.env)");
    else if (!starts_with(cfg->valkey_url, "redis://") && !starts_with(cfg->valkey_url, "rediss://") &&
             !starts_with(cfg->valkey_url, "valkey://") && !starts_with(cfg->valkey_url, "unix://"))
        invalid(err, "VALKEY_URL", "must look like redis://host:port/db");
    static const char *const storages[] = {"local", "s3", NULL};
    if (!one_of(cfg->storage, storages)) invalid(err, "AR_STORAGE", "must be local or s3");
    if (strcmp(cfg->storage, "s3") == 0) {
        if (!cfg->s3_endpoint || (!starts_with(cfg->s3_endpoint, "http://") && !starts_with(cfg->s3_endpoint, "https://")))
            invalid(err, "S3_ENDPOINT", "must be an http(s) URL when AR_STORAGE=s3");
        if (!cfg->s3_bucket) invalid(err, "S3_BUCKET", "is required when AR_STORAGE=s3");
        if (!cfg->s3_access_key || !cfg->s3_secret_key)
            invalid(err, "S3_ACCESS_KEY", "S3_ACCESS_KEY and S3_SECRET_KEY are required when AR_STORAGE=s3");
    }
    if (strcmp(cfg->storage, "local") == 0 && (!cfg->storage_dir || !*cfg->storage_dir))
        invalid(err, "AR_STORAGE_DIR", "must name a directory when AR_STORAGE=local");
    if (cfg->s3_bucket && (strchr(cfg->s3_bucket, '/') || strlen(cfg->s3_bucket) < 3 || strlen(cfg->s3_bucket) > 63))
        invalid(err, "S3_BUCKET", "must be a bucket name of 3 to 63 characters without '/'");
    if (cfg->storage_quota_bytes < 1024) invalid(err, "AR_STORAGE_QUOTA_BYTES", "must be at least 1024 bytes");
    if (cfg->upload_image_max < 1024 || cfg->upload_image_max > (size_t)1 << 30)
        invalid(err, "AR_UPLOAD_IMAGE_MAX", "must be between 1024 bytes and 1 GiB");
    if (cfg->upload_document_max < 1024 || cfg->upload_document_max > (size_t)1 << 30)
        invalid(err, "AR_UPLOAD_DOCUMENT_MAX", "must be between 1024 bytes and 1 GiB");
    if (cfg->upload_allow_zip > 1) invalid(err, "AR_UPLOAD_ALLOW_ZIP", "must be 0 or 1");
    if (cfg->smtp_url && !starts_with(cfg->smtp_url, "smtp://") && !starts_with(cfg->smtp_url, "smtps://"))
        invalid(err, "SMTP_URL", "must start with smtp:// or smtps://");
    if (!starts_with(cfg->stripe_api_base, "http://") && !starts_with(cfg->stripe_api_base, "https://"))
        invalid(err, "STRIPE_API_BASE", "must be an http(s) URL");
    else if (cfg->production && !starts_with(cfg->stripe_api_base, "https://"))
        invalid(err, "STRIPE_API_BASE", "must be an https URL in production");
    if (cfg->stripe_secret_key && !starts_with(cfg->stripe_secret_key, "sk_") &&
        !starts_with(cfg->stripe_secret_key, "rk_"))
        invalid(err, "STRIPE_SECRET_KEY", "must be a Stripe secret or restricted key (sk_... or rk_...)");
    if (cfg->stripe_webhook_secret && !starts_with(cfg->stripe_webhook_secret, "whsec_"))
        invalid(err, "STRIPE_WEBHOOK_SECRET", "must be the endpoint's signing secret (whsec_...)");
    if (cfg->stripe_webhook_secret && !cfg->stripe_secret_key)
        invalid(err, "STRIPE_SECRET_KEY", "is required when STRIPE_WEBHOOK_SECRET is set");
    static const char *const providers[] = {"local", "openai", NULL};
    if (!one_of(cfg->llm_provider, providers)) invalid(err, "LLM_PROVIDER", "must be local or openai");
    if (cfg->ai_hold_cents < 1 || cfg->ai_hold_cents > 100000)
        invalid(err, "AR_AI_HOLD_CENTS", "must be from 1 to 100000 (cents held per AI job)");
    if (cfg->ai_local_job_cents < 0 || cfg->ai_local_job_cents > cfg->ai_hold_cents)
        invalid(err, "AR_AI_LOCAL_JOB_CENTS", "must be from 0 to AR_AI_HOLD_CENTS");
    if (strcmp(cfg->llm_provider, "openai") == 0) {
        if (!cfg->llm_base_url) invalid(err, "LLM_BASE_URL", "is required when LLM_PROVIDER=openai");
        if (!cfg->llm_model) invalid(err, "LLM_MODEL", "is required when LLM_PROVIDER=openai");
    }

    if (err && err->fields && json_object_size(err->fields) > 0) {
        const char *first = "";
        json_t *v = NULL;
        json_object_foreach(err->fields, first, v) break;
        ar_error_set(err, AR_ERR_VALIDATION, "invalid configuration: %s %s%s", first, json_string_value(v),
                     json_object_size(err->fields) > 1 ? " (and more; run afterresumed check-config)" : "");
        return -1;
    }
    return 0;
}

void ar_config_free(ar_config *cfg)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (settings[i].type != T_STR) continue;
        char **p = str_field(cfg, &settings[i]);
        if (settings[i].secret && *p) explicit_bzero(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
    json_decref(cfg->sources);
    cfg->sources = NULL;
}

char *ar_config_redact_url(const char *url)
{
    if (!url) return NULL;
    ar_buf b = AR_BUF_INIT;
    const char *scheme = strstr(url, "://");
    if (scheme) {
        const char *auth = scheme + 3;
        const char *at = NULL;
        for (const char *p = auth; *p && *p != '/' && *p != '?'; p++)
            if (*p == '@') at = p; /* last '@' before the path ends the userinfo */
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            ar_buf_append(&b, url, (size_t)(colon - url));
            ar_buf_puts(&b, ":********");
            ar_buf_puts(&b, at);
        } else {
            ar_buf_puts(&b, url);
        }
    } else {
        /* libpq keyword/value form: replace password=... */
        const char *p = url;
        while (*p) {
            if (strncasecmp(p, "password", 8) == 0 && (p == url || isspace((unsigned char)p[-1]))) {
                const char *q = p + 8;
                while (isspace((unsigned char)*q)) q++;
                if (*q == '=') {
                    ar_buf_puts(&b, "password=********");
                    q++;
                    while (isspace((unsigned char)*q)) q++;
                    if (*q == '\'') {
                        q++;
                        while (*q && *q != '\'') q += (*q == '\\' && q[1]) ? 2 : 1;
                        if (*q) q++;
                    } else {
                        while (*q && !isspace((unsigned char)*q)) q++;
                    }
                    p = q;
                    continue;
                }
            }
            ar_buf_putc(&b, *p++);
        }
    }
    return ar_buf_steal(&b);
}

json_t *ar_config_describe(const ar_config *cfg)
{
    json_t *o = json_object();
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *s = &settings[i];
        json_t *v;
        if (s->type == T_INT) {
            v = json_integer(*(const int *)((const char *)cfg + s->offset));
        } else if (s->type == T_SIZE) {
            v = json_integer((json_int_t) * (const size_t *)((const char *)cfg + s->offset));
        } else {
            const char *str = *(char *const *)((const char *)cfg + s->offset);
            if (!str) {
                v = json_null();
            } else if (s->secret && (strstr(str, "://") || strstr(str, "="))) {
                char *r = ar_config_redact_url(str); /* connection strings: hide only the password */
                v = json_string(r);
                free(r);
            } else if (s->secret) {
                v = json_string("********");
            } else {
                v = json_string(str);
            }
        }
        json_object_set_new(o, s->name, v);
    }
    return o;
}
