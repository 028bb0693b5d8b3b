/* registry.h — the job-type registry (type name → handler, max attempts) and what a handler gets while it
 * runs: the job's identity, a tenant-scoped request context, progress reporting that also heartbeats and
 * tells the handler when cancellation was requested, and timeline events.
 *
 * Register types at start-up (before the worker pool starts); the registry is read-only afterwards.
 * ar_jobs_register() (jobs.h) registers the built-in type `noop`:
 *   payload {"fail_times":N}  fails the first N attempts ("noop: planned failure"),
 *   payload {"sleep_ms":N}    sleeps N ms in steps, reporting progress, stopping early when cancelled;
 *   result  {"ok":true,"attempt":n}. */
#ifndef AFTERRESUME_JOBS_REGISTRY_H
#define AFTERRESUME_JOBS_REGISTRY_H
#include <jansson.h>
#include <stddef.h>

#include "afterresume/core/error.h"
#include "afterresume/domain/context.h"

typedef struct ar_job_ctx {
    long long job_id;
    long long tenant_id;
    long long user_id;       /* 0 when the job has no user */
    int attempt;             /* 1 for the first run */
    int max_attempts;
    const char *type;
    const char *worker_id;
    const ar_ctx *ctx;       /* tenant_id/user_id of the job, role member, for tenant-scoped services */
    void *internal_;         /* worker bookkeeping (cancel/shutdown flags) */
} ar_job_ctx;

/* A handler runs one attempt. 0 = success, *result (may stay NULL) is stored as the job's result and
 * consumed. Non-zero = failure: err->message becomes last_error and the job is retried with backoff until
 * max attempts. A handler that sees ar_job_progress() return non-zero should stop and return non-zero. */
typedef int (*ar_job_handler)(ar_job_ctx *jc, json_t *payload, json_t **result, ar_error *err);

typedef struct ar_job_type {
    const char *name;        /* static string, [a-z0-9_.] */
    ar_job_handler handler;
    int max_attempts;        /* 1..100; 0 = the default 3 */
    void (*prepare)(void);   /* optional: registers the type's prepared statements, called once at registration */
} ar_job_type;

/* Register types (static arrays). The same name with the same handler again is a no-op; the same name with
 * another handler aborts (a programming error). At most 64 types. */
void ar_job_types_register(const ar_job_type *types, size_t count);
/* The registered type or NULL. */
const ar_job_type *ar_job_type_find(const char *name);
/* Every type in the catalog (src/jobs/catalog.c: one line per type), called by ar_jobs_register(). */
void ar_job_types_register_builtin(void);

/* Report progress (pct clamped to 0..100, msg may be NULL = keep) and heartbeat. Returns non-zero when the
 * job should stop: cancellation was requested, the pool is shutting down past its grace period, or the job
 * is no longer this worker's. Each call is its own transaction: call it (and ar_job_event) outside the
 * handler's own ar_ctx_tx, never inside one. */
int ar_job_progress(ar_job_ctx *jc, int pct, const char *msg);
/* Append an event to the job's timeline (level "debug"|"info"|"warn"|"error"; data borrowed, may be NULL). */
void ar_job_event(ar_job_ctx *jc, const char *level, const char *message, json_t *data);

#endif
