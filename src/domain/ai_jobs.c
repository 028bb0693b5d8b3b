/* ai_jobs.c — feature flag, privacy opt-in, provider choice and the hold → post/void money flow shared by
 * every AI job (see ai_jobs.h). */
#include "afterresume/domain/ai_jobs.h"
#include "afterresume/ai/runtime.h"
#include "afterresume/core/log.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/billing.h"
#include "afterresume/jobs/jobs.h"

#include <stdio.h>
#include <string.h>

static const ar_db_stmt statements[] = {
    {"ai_feature_get", "SELECT coalesce((SELECT value = 'false'::jsonb FROM app_settings WHERE key = 'feature.ai'), false)"},
    {"ai_feature_set",
     "INSERT INTO app_settings (key, value, updated_at) VALUES ('feature.ai', to_jsonb($1::boolean), now()) "
     "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()"},
    {"ai_tenant_remote_get", "SELECT ai_remote_allowed FROM tenants WHERE id = $1"},
    {"ai_tenant_remote_set", "UPDATE tenants SET ai_remote_allowed = $2::boolean, updated_at = now() WHERE id = $1"},
};

void ar_ai_jobs_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

static int feature_tx(PGconn *c, void *arg, ar_error *err)
{
    PGresult *r = ar_db_exec(c, "ai_feature_get", 0, NULL, err);
    if (!r) return -1;
    *(int *)arg = PQgetvalue(r, 0, 0)[0] == 't' ? 0 : 1;
    PQclear(r);
    return 0;
}

int ar_ai_feature_enabled(ar_error *err)
{
    int on = 1;
    return ar_db_tx(feature_tx, &on, err) == 0 ? on : -1;
}

typedef struct set_args {
    const ar_ctx *ctx;
    int on;
} set_args;

static int feature_set_tx(PGconn *c, void *arg, ar_error *err)
{
    set_args *a = arg;
    const char *params[1] = {a->on ? "true" : "false"};
    PGresult *r = ar_db_exec(c, "ai_feature_set", 1, params, err);
    if (!r) return -1;
    PQclear(r);
    ar_audit_event ev = {.action = a->on ? "ai.enabled" : "ai.disabled", .target_type = "feature",
                         .target_id = "ai", .success = 1};
    return ar_audit_write(c, a->ctx, &ev, err);
}

int ar_ai_feature_set(const ar_ctx *ctx, int on, ar_error *err)
{
    if (!ctx->is_staff) return ar_error_set(err, AR_ERR_FORBIDDEN, "Only platform staff can switch AI features."), -1;
    set_args a = {ctx, on};
    ar_ctx sys = ar_ctx_system(ctx);
    return ar_ctx_tx(&sys, feature_set_tx, &a, err);
}

typedef struct remote_args {
    const ar_ctx *ctx;
    int value;
} remote_args;

static int remote_get_tx(PGconn *c, void *arg, ar_error *err)
{
    remote_args *a = arg;
    char id[24];
    snprintf(id, sizeof id, "%lld", a->ctx->tenant_id);
    const char *params[1] = {id};
    PGresult *r = ar_db_exec(c, "ai_tenant_remote_get", 1, params, err);
    if (!r) return -1;
    a->value = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return 0;
}

int ar_ai_tenant_remote_allowed(const ar_ctx *ctx, int *allowed, ar_error *err)
{
    remote_args a = {ctx, 0};
    if (ctx->tenant_id <= 0) return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), -1;
    if (ar_ctx_tx(ctx, remote_get_tx, &a, err) != 0) return -1;
    *allowed = a.value;
    return 0;
}

static int remote_set_tx(PGconn *c, void *arg, ar_error *err)
{
    remote_args *a = arg;
    char id[24];
    snprintf(id, sizeof id, "%lld", a->ctx->tenant_id);
    const char *params[2] = {id, a->value ? "true" : "false"};
    PGresult *r = ar_db_exec(c, "ai_tenant_remote_set", 2, params, err);
    if (!r) return -1;
    PQclear(r);
    ar_audit_event ev = {.action = a->value ? "ai.remote_allowed" : "ai.remote_disallowed", .target_type = "tenant",
                         .target_id = id, .success = 1};
    return ar_audit_write(c, a->ctx, &ev, err);
}

int ar_ai_tenant_set_remote_allowed(const ar_ctx *ctx, int allowed, ar_error *err)
{
    if (ctx->tenant_id <= 0) return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), -1;
    if (ctx->role < AR_ROLE_ADMIN)
        return ar_error_set(err, AR_ERR_FORBIDDEN, "Only workspace owners and admins can change the AI provider setting."), -1;
    remote_args a = {ctx, allowed ? 1 : 0};
    ar_ctx sys = ar_ctx_system(ctx); /* tenants has no row-level security; the role check above is the gate */
    return ar_ctx_tx(&sys, remote_set_tx, &a, err);
}

const ar_ai *ar_ai_for_tenant(const ar_ctx *ctx, const char **why, ar_error *err)
{
    const ar_ai *remote = ar_ai_runtime_remote();
    if (!remote) {
        if (why) *why = "the built-in local provider (no remote AI provider is configured on this server)";
        return ar_ai_runtime_local();
    }
    int allowed = 0;
    if (ar_ai_tenant_remote_allowed(ctx, &allowed, err) != 0) return NULL;
    if (!allowed) {
        if (why) *why = "the built-in local provider (a remote provider is configured, but this workspace has not opted in)";
        return ar_ai_runtime_local();
    }
    if (why) *why = "the configured remote provider (this workspace opted in)";
    return remote;
}

typedef struct start_args {
    const ar_ctx *ctx;
    const char *type;
    json_t *payload;
    ar_job_enqueue_opts opts;
    long long job_id;
    long long hold_cents;
} start_args;

/* The most a job of ctx's tenant can cost: AR_AI_HOLD_CENTS with a remote provider, the local per-job price
 * (AR_AI_LOCAL_JOB_CENTS, default 0) with the local one. */
static long long max_cost(const ar_ctx *ctx, ar_error *err)
{
    const ar_ai *ai = ar_ai_for_tenant(ctx, NULL, err);
    if (!ai) return -1;
    return ar_ai_is_remote(ai) ? ar_ai_runtime_hold_cents() : ar_ai_runtime_local_job_cents();
}

static int start_tx(PGconn *c, void *arg, ar_error *err)
{
    start_args *a = arg;
    long long cents = max_cost(a->ctx, err);
    if (cents < 0) return -1;
    if (ar_job_enqueue_ex_in_tx(c, a->ctx, a->type, a->payload, &a->opts, &a->job_id, err) != 0) return -1;
    a->hold_cents = cents;
    if (cents == 0) return 0; /* free (the local provider at its default price): nothing to hold or charge */
    long long hold_id = 0;
    /* Inside this transaction: a refused hold rolls the job back too. */
    return ar_billing_hold(a->ctx, a->ctx->tenant_id, a->job_id, cents, 0, &hold_id, err);
}

static void explain_balance(ar_error *err, long long cents)
{
    if (err->code == AR_ERR_INSUFFICIENT_BALANCE)
        ar_error_set(err, AR_ERR_INSUFFICIENT_BALANCE,
                     "Your reserve balance cannot cover this AI job (it holds up to $%lld.%02lld until it "
                     "finishes). Top up on the billing page (/billing) and try again.",
                     cents / 100, cents % 100);
}

static int feature_on(ar_error *err)
{
    int on = ar_ai_feature_enabled(err);
    if (on < 0) return -1;
    if (!on)
        return ar_error_set(err, AR_ERR_UNAVAILABLE,
                            "AI features are switched off on this server by its administrators."), -1;
    return 0;
}

int ar_ai_job_start(const ar_ctx *ctx, const char *type, json_t *payload, long long *job_id, ar_error *err)
{
    if (feature_on(err) != 0) return -1;
    start_args a = {ctx, type, payload, {.user_initiated = 1}, 0, 0};
    if (ar_ctx_tx(ctx, start_tx, &a, err) != 0) {
        explain_balance(err, a.hold_cents);
        return -1;
    }
    ar_job_wake(a.job_id);
    *job_id = a.job_id;
    return 0;
}

int ar_ai_job_start_in_tx(PGconn *c, const ar_ctx *ctx, const char *type, json_t *payload, long long *job_id,
                          ar_error *err)
{
    if (feature_on(err) != 0) return -1;
    start_args a = {ctx, type, payload, {.user_initiated = 1}, 0, 0};
    if (start_tx(c, &a, err) != 0) {
        explain_balance(err, a.hold_cents);
        return -1;
    }
    *job_id = a.job_id;
    return 0;
}

int ar_ai_job_settle(ar_job_ctx *jc, const ar_ai_calls *calls, int succeeded, ar_error *err)
{
    long long hold_id = 0;
    if (ar_billing_hold_for_job(jc->ctx, jc->job_id, &hold_id, err) != 0) return -1;
    if (!hold_id) return 0; /* posted or voided already (a retried job), or a job started without a hold */
    if (!succeeded && succeeded != AR_AI_SETTLE_FINAL_FAILURE && jc->attempt < jc->max_attempts)
        return 0; /* the job will be retried: the hold stays for the next attempt */
    if (!succeeded || succeeded == AR_AI_SETTLE_FINAL_FAILURE) return ar_billing_void(jc->ctx, hold_id, NULL, err);
    /* One usage row per provider and model (the local provider: one per job). */
    ar_billing_usage_row rows[AR_AI_MAX_CALLS];
    size_t n = 0;
    int remote = 0;
    for (int i = 0; calls && i < calls->count; i++) {
        const ar_ai_call *call = &calls->call[i];
        int local = strcmp(call->provider, "local") == 0;
        remote |= !local;
        size_t k;
        for (k = 0; k < n; k++)
            if (strcmp(rows[k].provider, call->provider) == 0 && strcmp(rows[k].model, call->model) == 0) break;
        if (k == n) rows[n++] = (ar_billing_usage_row){local ? "per_job" : "tokens", call->provider, call->model, 0, 0,
                                                       local ? 1 : 0};
        rows[k].prompt_tokens += call->prompt_tokens;
        rows[k].completion_tokens += call->completion_tokens;
    }
    long long actual = remote ? -1 : ar_ai_runtime_local_job_cents();
    ar_billing_post_result res;
    if (ar_billing_post(jc->ctx, hold_id, actual, rows, n, jc->type, &res, err) != 0) return -1;
    ar_log_json(AR_LOG_INFO, "ai job cost posted",
                json_pack("{s:I,s:s,s:I,s:I}", "job_id", (json_int_t)jc->job_id, "type", jc->type, "charged_cents",
                          (json_int_t)res.charged_cents, "released_cents", (json_int_t)res.released_cents));
    return 0;
}
