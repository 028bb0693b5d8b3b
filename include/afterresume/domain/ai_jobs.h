/* ai_jobs.h — what every AI job shares: the `ai` feature flag (system controls), the tenant's privacy choice
 * (remote AI only after an admin opts in), choosing the provider for a tenant, and the money: a hold of the
 * job's maximum cost (AR_AI_HOLD_CENTS) placed in the same transaction that queues the job (402
 * insufficient_balance and nothing queued when it cannot be covered), then the actual cost posted from the
 * recorded model calls when the job succeeds, or the hold voided when it fails — exactly once per job. */
#ifndef AFTERRESUME_DOMAIN_AI_JOBS_H
#define AFTERRESUME_DOMAIN_AI_JOBS_H
#include <jansson.h>
#include <libpq-fe.h>

#include "afterresume/ai/provider.h"
#include "afterresume/core/error.h"
#include "afterresume/domain/context.h"
#include "afterresume/jobs/registry.h"

void ar_ai_jobs_register(void);

/* The `ai` feature flag (app_settings "feature.ai", default on): 1 on, 0 off, -1 error. */
int ar_ai_feature_enabled(ar_error *err);
/* Staff only (AR_ERR_FORBIDDEN otherwise); audited. */
int ar_ai_feature_set(const ar_ctx *ctx, int on, ar_error *err);

/* The tenant's opt-in for remote AI (tenants.ai_remote_allowed). Setting it needs an owner/admin; audited. */
int ar_ai_tenant_remote_allowed(const ar_ctx *ctx, int *allowed, ar_error *err);
int ar_ai_tenant_set_remote_allowed(const ar_ctx *ctx, int allowed, ar_error *err);
/* The provider a job of ctx's tenant uses: the remote one when configured AND the tenant opted in, else the
 * local one. *why (may be NULL) says in words which and why, for the settings page. */
const ar_ai *ar_ai_for_tenant(const ar_ctx *ctx, const char **why, ar_error *err);

/* Start an AI job for ctx (user-initiated: quota and active-job limits apply): the feature flag must be on
 * (AR_ERR_UNAVAILABLE "AI features are switched off..."), then in ONE transaction the job is queued and its
 * maximum cost held — AR_AI_HOLD_CENTS with a remote provider, AR_AI_LOCAL_JOB_CENTS with the local one (0 by
 * default: free, nothing held, so a new workspace with no balance can use the local provider);
 * AR_ERR_INSUFFICIENT_BALANCE (402) leaves nothing queued. The worker is woken after commit. */
int ar_ai_job_start(const ar_ctx *ctx, const char *type, json_t *payload, long long *job_id, ar_error *err);
/* The same inside the caller's ar_ctx_tx (e.g. with the row the job works on); call ar_job_wake(*job_id) after
 * the caller's transaction commits. */
int ar_ai_job_start_in_tx(PGconn *c, const ar_ctx *ctx, const char *type, json_t *payload, long long *job_id,
                          ar_error *err);

/* Settle the job's hold when its handler ends: succeeded (1) → post the cost of `calls` (local calls cost
 * AR_AI_LOCAL_JOB_CENTS per job; remote calls are priced by the current rate card from their tokens); failed (0)
 * → void on the job's last attempt, or keep the hold for the retry; AR_AI_SETTLE_FINAL_FAILURE → void now (a
 * permanent failure that will not be retried usefully). Idempotent (after a post/void nothing changes).
 * Call it on every exit of an AI job handler. 0, or -1 with err. */
#define AR_AI_SETTLE_FINAL_FAILURE (-1)
int ar_ai_job_settle(ar_job_ctx *jc, const ar_ai_calls *calls, int succeeded, ar_error *err);

#endif
