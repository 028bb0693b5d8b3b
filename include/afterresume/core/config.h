/* config.h — runtime configuration from environment variables (12-factor), an optional .env file and the
 * generated var/afterresumed.env written by the embedded-services script. Precedence: process environment,
 * then .env, then var/afterresumed.env, then built-in defaults. */
#ifndef AFTERRESUME_CORE_CONFIG_H
#define AFTERRESUME_CORE_CONFIG_H
#include <stddef.h>
#include <jansson.h>

#include "afterresume/core/error.h"

typedef struct ar_config {
    /* server */
    char *bind;
    int port;
    char *public_url;
    char *secret_key;
    char *env;              /* development | production | test */
    int production;         /* env == production */
    int http_threads;
    int workers;
    int jobs_tenant_concurrency; /* AR_JOBS_TENANT_CONCURRENCY: running jobs per tenant (0 = no limit) */
    int jobs_tenant_daily_quota; /* AR_JOBS_TENANT_DAILY_QUOTA: user-started jobs per tenant per UTC day */
    int conn_timeout_s;     /* idle connection timeout */
    int per_ip_conn_limit;
    size_t conn_memory_limit;
    size_t max_body_bytes;  /* request bodies other than uploads */
    int shutdown_grace_s;   /* how long in-flight requests may finish on SIGTERM */
    char *log_level;
    int cookie_secure;      /* Secure + __Host- cookies (default: on when AR_PUBLIC_URL is https) */
    int trust_proxy;        /* take the client IP from X-Forwarded-For (only behind a trusted proxy) */
    int session_idle_s, session_remember_s, session_max_age_s;
    /* dependencies */
    char *database_url;
    char *valkey_url;
    char *storage;          /* local | s3 */
    char *storage_dir;
    char *s3_endpoint, *s3_region, *s3_bucket, *s3_access_key, *s3_secret_key;
    /* evidence uploads (SPEC §3) */
    size_t storage_quota_bytes;   /* per-tenant sum of attachment sizes (AR_STORAGE_QUOTA_BYTES, 1 GiB) */
    size_t upload_image_max;      /* AR_UPLOAD_IMAGE_MAX, 10 MiB */
    size_t upload_document_max;   /* AR_UPLOAD_DOCUMENT_MAX, 50 MiB */
    int upload_allow_zip;         /* AR_UPLOAD_ALLOW_ZIP, 0: plain .zip files refused */
    char *smtp_url, *mail_from;
    char *stripe_secret_key, *stripe_webhook_secret, *stripe_api_base;
    char *llm_provider, *llm_base_url, *llm_api_key, *llm_model;
    int ai_hold_cents;        /* AR_AI_HOLD_CENTS: the most one AI job may cost, held before it runs (100) */
    int ai_local_job_cents;   /* AR_AI_LOCAL_JOB_CENTS: what a local-provider job costs (0) */
    /* files */
    char *templates_dir, *static_dir, *migrations_dir;
    /* where each value came from, for check-config: name -> "env" | ".env" | "var/afterresumed.env" | "default" */
    json_t *sources;
} ar_config;

/* Load configuration. `dotenv_path` and `generated_env_path` may be NULL or missing files.
 * Returns 0, or -1 with err (AR_ERR_VALIDATION, fields name -> problem, message a one-line summary). */
int ar_config_load(ar_config *cfg, const char *dotenv_path, const char *generated_env_path, ar_error *err);
void ar_config_free(ar_config *cfg);
/* Every setting as {"NAME": "value"} with secrets redacted ("********", passwords removed from URLs). */
json_t *ar_config_describe(const ar_config *cfg);
/* Parse one .env-style file into obj (KEY=VALUE, `export KEY=VALUE`, # comments, single/double quotes).
 * Returns 0, -1 if the file cannot be read, or the 1-based line number of the first malformed line. */
int ar_config_read_env_file(const char *path, json_t *obj);
/* Replace the password in a URL-like string (scheme://user:pass@host) or libpq "password=..." (heap string). */
char *ar_config_redact_url(const char *url);

#endif
