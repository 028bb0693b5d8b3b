/* jobs.h — job rows as services: enqueue (idempotent by key), read one job and its event timeline, list,
 * cancel, retry. Every service takes the caller's context; reads are tenant-isolated (another tenant's job
 * is AR_ERR_NOT_FOUND), a plain member or read-only user sees only their own jobs, tenant admins and owners
 * all of the tenant's, staff (ctx->is_staff) every tenant's.
 *
 * Job JSON: {"id","type","status","attempts","max_attempts","progress","progress_message","payload",
 * "result","last_error","idempotency_key","parent_id","user_id","tenant_id","cancel_requested",
 * "created_at","started_at","finished_at","next_run_at"} (times ISO-8601 UTC or null).
 * Event JSON: {"id","created_at","level","message","data"}. */
#ifndef AFTERRESUME_JOBS_JOBS_H
#define AFTERRESUME_JOBS_JOBS_H
#include <jansson.h>
#include <libpq-fe.h>

#include "afterresume/core/error.h"
#include "afterresume/domain/context.h"

/* Register the job statements and the built-in job types (call after ar_domain_register_all()). */
void ar_jobs_register(void);

/* Enqueue a job of a registered type for ctx's tenant (and user, if any) in its own transaction, then
 * wake a worker. payload (borrowed, NULL = {}) must be an object. With an idempotency key (1..200 chars)
 * an existing job of the same tenant/type/key is returned instead of a new one. Valkey being down is not
 * an error: the row stays queued and the reconciler delivers it later. Unknown type / bad payload →
 * AR_ERR_VALIDATION; no tenant → AR_ERR_UNAUTHORIZED. */
int ar_job_enqueue(const ar_ctx *ctx, const char *type, json_t *payload, const char *idempotency_key,
                   long long *job_id, ar_error *err);
/* The same inside the caller's ar_ctx_tx (connection c). It does not wake a worker: after the caller's
 * transaction commits, call ar_job_wake(*job_id) (or leave it to the reconciler). parent_id 0 = none. */
int ar_job_enqueue_in_tx(PGconn *c, const ar_ctx *ctx, const char *type, json_t *payload,
                         const char *idempotency_key, long long parent_id, long long *job_id, ar_error *err);
/* Push a committed queued job to the stream (errors are logged, not returned). */
void ar_job_wake(long long job_id);

/* ---- limits, user-initiated and system jobs ---- */

/* Per-tenant limits (AR_JOBS_TENANT_CONCURRENCY, AR_JOBS_TENANT_DAILY_QUOTA; set from the configuration at
 * start-up, before workers start). concurrency: at most this many jobs of one tenant *run* at once (enforced
 * when a worker claims; the surplus stays queued and is claimed later), and a user-initiated enqueue is
 * refused while the tenant has this many jobs queued or running. daily_quota: user-initiated jobs per tenant
 * per UTC day. 0 = no limit. Defaults 2 and 100. */
void ar_jobs_set_limits(int tenant_concurrency, int tenant_daily_quota);
int ar_jobs_tenant_concurrency(void);
int ar_jobs_tenant_daily_quota(void);

typedef struct ar_job_enqueue_opts {
    const char *idempotency_key; /* NULL = none */
    long long parent_id;         /* 0 = none */
    int user_initiated;          /* a user asked for it (button, POST): the quota and the active-job limit
                                  * apply; system work (email.send, cleanup.*) leaves this 0 */
    int retry_after_s;           /* out: with AR_ERR_QUOTA_EXCEEDED, seconds worth waiting (Retry-After) */
} ar_job_enqueue_opts;

/* ar_job_enqueue with options. A user-initiated enqueue answers AR_ERR_QUOTA_EXCEEDED (429,
 * "quota_exceeded") when the tenant's daily quota is used up (retry_after_s = seconds to the next UTC
 * midnight) or it already has the concurrency limit's number of jobs queued or running (retry_after_s = 10).
 * An idempotency key that matches an existing job returns that job without counting against the quota. */
int ar_job_enqueue_ex(const ar_ctx *ctx, const char *type, json_t *payload, ar_job_enqueue_opts *opts,
                      long long *job_id, ar_error *err);
/* The same inside the caller's ar_ctx_tx (then ar_job_wake after commit). */
int ar_job_enqueue_ex_in_tx(PGconn *c, const ar_ctx *ctx, const char *type, json_t *payload,
                            ar_job_enqueue_opts *opts, long long *job_id, ar_error *err);

/* System jobs (no tenant, no user; run by the scheduler and by infrastructure such as the e-mail outbox):
 * idempotent per type and key (key may be NULL). Visible to staff only. The _in_tx form works inside any
 * transaction (the SQL function ar_enqueue_system_job bypasses row-level security for the insert only) and
 * does not wake a worker. */
int ar_job_enqueue_system(const char *type, json_t *payload, const char *idempotency_key, long long *job_id,
                          ar_error *err);
int ar_job_enqueue_system_in_tx(PGconn *c, const char *type, json_t *payload, const char *idempotency_key,
                                long long *job_id, ar_error *err);

/* Admin listing: staff see every tenant's jobs and system jobs, tenant admins/owners their tenant's; others
 * AR_ERR_FORBIDDEN. status / type NULL or "" = any (type at most 100 characters of [a-z0-9_.]); limit 1..200
 * (0 = 50); before_id > 0 for the next page. Array (new reference) or NULL + err. */
json_t *ar_job_admin_list(const ar_ctx *ctx, const char *status, const char *type, int limit, long long before_id,
                          ar_error *err);

/* Every job counted by type and status, for /metrics: [{"type","status","count"}] (new reference) or NULL. */
json_t *ar_job_counts_by_type(ar_error *err);

/* One job (new reference) or NULL + err (AR_ERR_NOT_FOUND when not visible to ctx). */
json_t *ar_job_get(const ar_ctx *ctx, long long id, ar_error *err);
/* The job's timeline, oldest first (array, new reference) or NULL + err (AR_ERR_NOT_FOUND). */
json_t *ar_job_events(const ar_ctx *ctx, long long id, ar_error *err);
/* Jobs visible to ctx, newest first: status NULL/"" = any; limit 1..200 (0 = 50); before_id > 0 for the
 * next page (ids below it). Array (new reference) or NULL + err (AR_ERR_VALIDATION on a bad status). */
json_t *ar_job_list(const ar_ctx *ctx, const char *status, int limit, long long before_id, ar_error *err);

/* Jobs visible to ctx counted by status (status bar, dashboards, /metrics with a staff context): an object
 * {"queued":n,"running":n,"succeeded":n,"failed":n,"cancelled":n} (new reference) or NULL + err. Staff
 * without a tenant count every tenant's jobs. */
json_t *ar_job_status_counts(const ar_ctx *ctx, ar_error *err);

/* Cancel (the job's own user, a tenant admin/owner, or staff): queued → cancelled at once; running →
 * cancel_requested (the handler sees it through ar_job_progress and stops; the job then ends cancelled, or
 * succeeded if the handler completed anyway). A finished job → AR_ERR_CONFLICT; a read-only member →
 * AR_ERR_FORBIDDEN. */
int ar_job_cancel(const ar_ctx *ctx, long long id, ar_error *err);
/* Retry a failed job (tenant admin/owner or staff): back to queued with attempts reset, then wake a worker.
 * Not failed → AR_ERR_CONFLICT; a member → AR_ERR_FORBIDDEN. */
int ar_job_retry(const ar_ctx *ctx, long long id, ar_error *err);

#endif
