/* jobs.c — job rows as services: enqueue (idempotent), get, events, list, cancel, retry (see jobs.h). */
#include "afterresume/jobs/jobs.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"
#include "afterresume/core/utf8.h"
#include "afterresume/jobs/queue.h"
#include "afterresume/jobs/registry.h"
#include "afterresume/jobs/scheduler.h"
#include "afterresume/jobs/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define JOB_COLS                                                                                              \
    "id, type, status, attempts, max_attempts, progress, progress_message, payload::text, result::text, "     \
    "last_error, idempotency_key, parent_id, user_id, tenant_id, cancel_requested, " TS("created_at") ", "   \
    TS("started_at") ", " TS("finished_at") ", " TS("next_run_at")

#define MAX_PAYLOAD_BYTES (1024 * 1024)

static const ar_db_stmt statements[] = {
    {"jobs_insert",
     "WITH j AS (INSERT INTO jobs (tenant_id, user_id, type, payload, max_attempts, idempotency_key, parent_id, "
     "user_initiated) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8::bool) "
     "ON CONFLICT (tenant_id, type, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING "
     "RETURNING id, tenant_id), "
     "e AS (INSERT INTO job_events (job_id, tenant_id, message, data) "
     "SELECT id, tenant_id, 'queued', jsonb_build_object('by_user', $2::bigint) FROM j) "
     "SELECT id FROM j"},
    {"jobs_find_idempotent", "SELECT id FROM jobs WHERE tenant_id = $1 AND type = $2 AND idempotency_key = $3"},
    {"jobs_insert_system", "SELECT ar_enqueue_system_job($1, $2::jsonb, $3::integer, $4)"},
    /* user-initiated enqueues of one tenant take turns (the counts below are read after the lock) */
    {"jobs_quota_lock", "SELECT pg_advisory_xact_lock(20251106, ($1::bigint % 2147483647)::integer)"},
    {"jobs_quota_usage",
     "SELECT (SELECT count(*) FROM jobs WHERE tenant_id = $1 AND user_initiated "
     "AND created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'), "
     "(SELECT count(*) FROM jobs WHERE tenant_id = $1 AND status IN ('queued', 'running')), "
     "ceil(extract(epoch FROM (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC' "
     "- now()))::bigint"},
    {"jobs_admin_list",
     "SELECT " JOB_COLS " FROM jobs WHERE ($1::bool OR tenant_id = $2::bigint) AND ($3 = '' OR status = $3) "
     "AND ($4 = '' OR type = $4) AND ($5::bigint = 0 OR id < $5::bigint) ORDER BY id DESC LIMIT $6"},
    {"jobs_counts_by_type", "SELECT type, status, count(*) FROM jobs GROUP BY type, status ORDER BY 1, 2"},
    {"jobs_get", "SELECT " JOB_COLS " FROM jobs WHERE id = $1 AND ($2::bool OR user_id = $3::bigint)"},
    {"jobs_events",
     "SELECT id, " TS("created_at") ", level, message, data::text FROM job_events WHERE job_id = $1 "
     "ORDER BY id LIMIT 1000"},
    {"jobs_list",
     "SELECT " JOB_COLS " FROM jobs WHERE ($1::bool OR user_id = $2::bigint) AND ($3 = '' OR status = $3) "
     "AND ($4::bigint = 0 OR id < $4::bigint) AND ($6::bigint = 0 OR tenant_id = $6::bigint) "
     "ORDER BY id DESC LIMIT $5"},
    {"jobs_status_counts",
     "SELECT status, count(*) FROM jobs WHERE ($1::bool OR user_id = $2::bigint) "
     "AND ($3::bigint = 0 OR tenant_id = $3::bigint) GROUP BY status"},
    {"jobs_cancel",
     "WITH j AS (UPDATE jobs SET status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END, "
     "cancel_requested = true, finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END "
     "WHERE id = $1 AND status IN ('queued', 'running') AND ($2::bool OR user_id = $3::bigint) "
     "RETURNING id, tenant_id, status), "
     "e AS (INSERT INTO job_events (job_id, tenant_id, message, data) "
     "SELECT id, tenant_id, CASE WHEN status = 'cancelled' THEN 'cancelled' ELSE 'cancel requested' END, "
     "jsonb_build_object('by_user', $3::bigint) FROM j) "
     "SELECT status FROM j"},
    {"jobs_retry",
     "WITH j AS (UPDATE jobs SET status = 'queued', attempts = 0, next_run_at = now(), started_at = NULL, "
     "finished_at = NULL, heartbeat_at = NULL, cancel_requested = false, progress = 0, progress_message = '' "
     "WHERE id = $1 AND status = 'failed' RETURNING id, tenant_id), "
     "e AS (INSERT INTO job_events (job_id, tenant_id, message, data) "
     "SELECT id, tenant_id, 'retry requested', jsonb_build_object('by_user', $2::bigint) FROM j) "
     "SELECT id FROM j"},
};

void ar_jobs_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
    ar_worker_register();
    ar_scheduler_register();
    ar_job_types_register_builtin();
    ar_queue_configure(NULL);
}

static json_t *text_or_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

static json_t *id_or_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_integer(atoll(PQgetvalue(r, row, col)));
}

static json_t *json_column(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) return json_null();
    json_t *v = json_loads(PQgetvalue(r, row, col), JSON_DECODE_ANY, NULL);
    return v ? v : json_null();
}

static json_t *job_from_row(const PGresult *r, int i)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer(atoll(PQgetvalue(r, i, 0))));
    json_object_set_new(j, "type", json_string(PQgetvalue(r, i, 1)));
    json_object_set_new(j, "status", json_string(PQgetvalue(r, i, 2)));
    json_object_set_new(j, "attempts", json_integer(atoi(PQgetvalue(r, i, 3))));
    json_object_set_new(j, "max_attempts", json_integer(atoi(PQgetvalue(r, i, 4))));
    json_object_set_new(j, "progress", json_integer(atoi(PQgetvalue(r, i, 5))));
    json_object_set_new(j, "progress_message", json_string(PQgetvalue(r, i, 6)));
    json_object_set_new(j, "payload", json_column(r, i, 7));
    json_object_set_new(j, "result", json_column(r, i, 8));
    json_object_set_new(j, "last_error", text_or_null(r, i, 9));
    json_object_set_new(j, "idempotency_key", text_or_null(r, i, 10));
    json_object_set_new(j, "parent_id", id_or_null(r, i, 11));
    json_object_set_new(j, "user_id", id_or_null(r, i, 12));
    json_object_set_new(j, "tenant_id", id_or_null(r, i, 13));
    json_object_set_new(j, "cancel_requested", json_boolean(PQgetvalue(r, i, 14)[0] == 't'));
    json_object_set_new(j, "created_at", text_or_null(r, i, 15));
    json_object_set_new(j, "started_at", text_or_null(r, i, 16));
    json_object_set_new(j, "finished_at", text_or_null(r, i, 17));
    json_object_set_new(j, "next_run_at", text_or_null(r, i, 18));
    return j;
}

/* Staff read and act across tenants; everyone else through their tenant's row-level security. */
static ar_ctx effective_ctx(const ar_ctx *ctx)
{
    return ctx->is_staff ? ar_ctx_system(ctx) : *ctx;
}

/* Whether ctx sees every job of its tenant (admins, owners, staff) rather than only its own. */
static int sees_all(const ar_ctx *ctx)
{
    return ctx->is_staff || ctx->role >= AR_ROLE_ADMIN;
}

/* ---- limits ---- */

static int tenant_concurrency = 2, tenant_daily_quota = 100;

void ar_jobs_set_limits(int concurrency, int daily_quota)
{
    __atomic_store_n(&tenant_concurrency, concurrency < 0 ? 0 : concurrency, __ATOMIC_RELAXED);
    __atomic_store_n(&tenant_daily_quota, daily_quota < 0 ? 0 : daily_quota, __ATOMIC_RELAXED);
}

int ar_jobs_tenant_concurrency(void)
{
    return __atomic_load_n(&tenant_concurrency, __ATOMIC_RELAXED);
}

int ar_jobs_tenant_daily_quota(void)
{
    return __atomic_load_n(&tenant_daily_quota, __ATOMIC_RELAXED);
}

/* ---- enqueue ---- */

/* Validate type, payload and key; on success *text is the payload as compact JSON (heap). */
static const ar_job_type *check_job(const char *type, json_t *payload, const char **key, char **text, ar_error *err)
{
    *text = NULL;
    const ar_job_type *t = ar_job_type_find(type);
    if (!t) ar_error_field(err, "type", "Unknown job type.");
    if (payload && !json_is_object(payload)) ar_error_field(err, "payload", "The payload must be a JSON object.");
    if (*key && !**key) *key = NULL;
    size_t klen = *key ? strlen(*key) : 0;
    if (*key && (klen > 200 || !ar_utf8_valid(*key, klen)))
        ar_error_field(err, "idempotency_key", "The idempotency key must be 1 to 200 characters.");
    if (!err->fields) {
        *text = payload ? json_dumps(payload, JSON_COMPACT) : ar_strdup("{}");
        if (!*text || strlen(*text) > MAX_PAYLOAD_BYTES) {
            ar_error_field(err, "payload", "The payload is too large (at most 1 MiB).");
            free(*text);
            *text = NULL;
        }
    }
    if (err->fields) return ar_error_set(err, AR_ERR_VALIDATION, NULL), NULL;
    return t;
}

/* The first column of a one-row result as a job id (0 when no row); -1 on a database error. */
static long long single_id(PGresult *r)
{
    if (!r) return -1;
    long long id = PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return id;
}

/* A user-initiated enqueue: refuse when the tenant's daily quota is used up or it has the concurrency
 * limit's number of jobs queued or running. */
static int check_quota(PGconn *c, const char *tenant, ar_job_enqueue_opts *opts, ar_error *err)
{
    int quota = ar_jobs_tenant_daily_quota(), active_limit = ar_jobs_tenant_concurrency();
    if (quota <= 0 && active_limit <= 0) return 0;
    const char *params[1] = {tenant};
    PGresult *r = ar_db_exec(c, "jobs_quota_lock", 1, params, err);
    if (!r) return -1;
    PQclear(r);
    r = ar_db_exec(c, "jobs_quota_usage", 1, params, err);
    if (!r) return -1;
    long long today = atoll(PQgetvalue(r, 0, 0)), active = atoll(PQgetvalue(r, 0, 1));
    long long to_midnight = atoll(PQgetvalue(r, 0, 2));
    PQclear(r);
    if (quota > 0 && today >= quota) {
        opts->retry_after_s = (int)(to_midnight > 0 ? to_midnight : 1);
        return ar_error_set(err, AR_ERR_QUOTA_EXCEEDED,
                            "Your workspace has used its %d jobs for today (UTC); try again after midnight UTC.",
                            quota),
               -1;
    }
    if (active_limit > 0 && active >= active_limit) {
        opts->retry_after_s = 10;
        return ar_error_set(err, AR_ERR_QUOTA_EXCEEDED,
                            "Your workspace already has %d jobs queued or running; wait for one to finish.",
                            active_limit),
               -1;
    }
    return 0;
}

int ar_job_enqueue_ex_in_tx(PGconn *c, const ar_ctx *ctx, const char *type, json_t *payload,
                            ar_job_enqueue_opts *opts, long long *job_id, ar_error *err)
{
    ar_job_enqueue_opts none = {0};
    if (!opts) opts = &none;
    opts->retry_after_s = 0;
    *job_id = 0;
    if (ctx->tenant_id <= 0) return ar_error_set(err, AR_ERR_UNAUTHORIZED, "A job needs a tenant."), -1;
    const char *key = opts->idempotency_key;
    char *text;
    const ar_job_type *t = check_job(type, payload, &key, &text, err);
    if (!t) return -1;
    char tenant[24], user[24], attempts[16], parent[24];
    snprintf(tenant, sizeof tenant, "%lld", ctx->tenant_id);
    snprintf(user, sizeof user, "%lld", ctx->user_id);
    snprintf(attempts, sizeof attempts, "%d", t->max_attempts);
    snprintf(parent, sizeof parent, "%lld", opts->parent_id);
    const char *find[3] = {tenant, type, key};
    if (opts->user_initiated) {
        /* an existing job for the key is the answer, whatever the quota */
        long long existing = key ? single_id(ar_db_exec(c, "jobs_find_idempotent", 3, find, err)) : 0;
        if (existing != 0 || check_quota(c, tenant, opts, err) != 0) {
            free(text);
            if (existing > 0) *job_id = existing;
            return existing > 0 ? 0 : -1;
        }
    }
    const char *params[8] = {tenant, ctx->user_id > 0 ? user : NULL, type, text, attempts, key,
                             opts->parent_id > 0 ? parent : NULL, opts->user_initiated ? "true" : "false"};
    long long id = single_id(ar_db_exec(c, "jobs_insert", 8, params, err));
    free(text);
    if (id < 0) return -1;
    if (id == 0) id = single_id(ar_db_exec(c, "jobs_find_idempotent", 3, find, err));
    if (id < 0) return -1;
    if (id == 0) return ar_error_set(err, AR_ERR_INTERNAL, "The job could not be created."), -1;
    *job_id = id;
    return 0;
}

int ar_job_enqueue_in_tx(PGconn *c, const ar_ctx *ctx, const char *type, json_t *payload,
                         const char *idempotency_key, long long parent_id, long long *job_id, ar_error *err)
{
    ar_job_enqueue_opts opts = {idempotency_key, parent_id, 0, 0};
    return ar_job_enqueue_ex_in_tx(c, ctx, type, payload, &opts, job_id, err);
}

typedef struct enqueue_args {
    const ar_ctx *ctx;
    const char *type;
    json_t *payload;
    ar_job_enqueue_opts *opts;
    long long id;
} enqueue_args;

static int enqueue_tx(PGconn *c, void *arg, ar_error *err)
{
    enqueue_args *a = arg;
    return ar_job_enqueue_ex_in_tx(c, a->ctx, a->type, a->payload, a->opts, &a->id, err);
}

void ar_job_wake(long long job_id)
{
    ar_error err = {0};
    if (ar_queue_push(job_id, &err) != 0)
        ar_log_json(AR_LOG_WARN, "job queued without a wake-up; the reconciler will deliver it",
                    json_pack("{s:I,s:s}", "job_id", (json_int_t)job_id, "error", err.message));
    ar_error_clear(&err);
}

int ar_job_enqueue_ex(const ar_ctx *ctx, const char *type, json_t *payload, ar_job_enqueue_opts *opts,
                      long long *job_id, ar_error *err)
{
    ar_job_enqueue_opts none = {0};
    if (!opts) opts = &none;
    enqueue_args a = {ctx, type, payload, opts, 0};
    *job_id = 0;
    if (ar_ctx_tx(ctx, enqueue_tx, &a, err) != 0) return -1;
    *job_id = a.id;
    ar_job_wake(a.id);
    return 0;
}

int ar_job_enqueue(const ar_ctx *ctx, const char *type, json_t *payload, const char *idempotency_key,
                   long long *job_id, ar_error *err)
{
    ar_job_enqueue_opts opts = {idempotency_key, 0, 0, 0};
    return ar_job_enqueue_ex(ctx, type, payload, &opts, job_id, err);
}

int ar_job_enqueue_system_in_tx(PGconn *c, const char *type, json_t *payload, const char *idempotency_key,
                                long long *job_id, ar_error *err)
{
    *job_id = 0;
    const char *key = idempotency_key;
    char *text;
    const ar_job_type *t = check_job(type, payload, &key, &text, err);
    if (!t) return -1;
    char attempts[16];
    snprintf(attempts, sizeof attempts, "%d", t->max_attempts);
    const char *params[4] = {type, text, attempts, key};
    long long id = single_id(ar_db_exec(c, "jobs_insert_system", 4, params, err));
    free(text);
    if (id < 0) return -1;
    if (id == 0) return ar_error_set(err, AR_ERR_INTERNAL, "The job could not be created."), -1;
    *job_id = id;
    return 0;
}

typedef struct system_args {
    const char *type, *key;
    json_t *payload;
    long long id;
} system_args;

static int system_tx(PGconn *c, void *arg, ar_error *err)
{
    system_args *a = arg;
    return ar_job_enqueue_system_in_tx(c, a->type, a->payload, a->key, &a->id, err);
}

int ar_job_enqueue_system(const char *type, json_t *payload, const char *idempotency_key, long long *job_id,
                          ar_error *err)
{
    ar_ctx base = {0};
    snprintf(base.request_id, sizeof base.request_id, "system");
    ar_ctx sys = ar_ctx_system(&base);
    system_args a = {type, idempotency_key, payload, 0};
    *job_id = 0;
    if (ar_ctx_tx(&sys, system_tx, &a, err) != 0) return -1;
    *job_id = a.id;
    ar_job_wake(a.id);
    return 0;
}

/* ---- reads ---- */

typedef struct read_args {
    const ar_ctx *ctx;
    long long id;
    int with_events;
    json_t *job, *events;
} read_args;

static int read_tx(PGconn *c, void *arg, ar_error *err)
{
    read_args *a = arg;
    char id[24], user[24];
    snprintf(id, sizeof id, "%lld", a->id);
    snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    const char *params[3] = {id, sees_all(a->ctx) ? "true" : "false", user};
    PGresult *r = ar_db_exec(c, "jobs_get", 3, params, err);
    if (!r) return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_NOT_FOUND, "No such job."), -1;
    }
    a->job = job_from_row(r, 0);
    PQclear(r);
    if (!a->with_events) return 0;
    r = ar_db_exec(c, "jobs_events", 1, params, err);
    if (!r) return -1;
    a->events = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(a->events,
                              json_pack("{s:I,s:s,s:s,s:s,s:o}", "id", (json_int_t)atoll(PQgetvalue(r, i, 0)),
                                        "created_at", PQgetvalue(r, i, 1), "level", PQgetvalue(r, i, 2),
                                        "message", PQgetvalue(r, i, 3), "data", json_column(r, i, 4)));
    PQclear(r);
    return 0;
}

static int read_job(const ar_ctx *ctx, long long id, int with_events, read_args *a, ar_error *err)
{
    memset(a, 0, sizeof *a);
    a->ctx = ctx;
    a->id = id;
    a->with_events = with_events;
    if (id <= 0) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such job."), -1;
    if (ctx->user_id <= 0 || (ctx->tenant_id <= 0 && !ctx->is_staff))
        return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), -1;
    ar_ctx eff = effective_ctx(ctx);
    if (ar_ctx_tx(&eff, read_tx, a, err) != 0) {
        json_decref(a->job);
        json_decref(a->events);
        a->job = a->events = NULL;
        return -1;
    }
    return 0;
}

json_t *ar_job_get(const ar_ctx *ctx, long long id, ar_error *err)
{
    read_args a;
    if (read_job(ctx, id, 0, &a, err) != 0) return NULL;
    return a.job;
}

json_t *ar_job_events(const ar_ctx *ctx, long long id, ar_error *err)
{
    read_args a;
    if (read_job(ctx, id, 1, &a, err) != 0) return NULL;
    json_decref(a.job);
    return a.events;
}

typedef struct list_args {
    const ar_ctx *ctx;
    const char *status;
    int limit;
    long long before;
    json_t *rows;
} list_args;

static int list_tx(PGconn *c, void *arg, ar_error *err)
{
    list_args *a = arg;
    char user[24], before[24], limit[16], tenant[24];
    snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    snprintf(before, sizeof before, "%lld", a->before);
    snprintf(limit, sizeof limit, "%d", a->limit);
    snprintf(tenant, sizeof tenant, "%lld", a->ctx->tenant_id);
    const char *params[6] = {sees_all(a->ctx) ? "true" : "false", user, a->status, before, limit, tenant};
    PGresult *r = ar_db_exec(c, "jobs_list", 6, params, err);
    if (!r) return -1;
    for (int i = 0; i < PQntuples(r); i++) json_array_append_new(a->rows, job_from_row(r, i));
    PQclear(r);
    return 0;
}

json_t *ar_job_list(const ar_ctx *ctx, const char *status, int limit, long long before_id, ar_error *err)
{
    if (ctx->user_id <= 0 || (ctx->tenant_id <= 0 && !ctx->is_staff))
        return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), NULL;
    if (!status) status = "";
    static const char *const statuses[] = {"", "queued", "running", "succeeded", "failed", "cancelled"};
    int known = 0;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) known |= strcmp(status, statuses[i]) == 0;
    if (!known) ar_error_field(err, "status", "Status must be queued, running, succeeded, failed or cancelled.");
    if (limit < 0 || limit > 200) ar_error_field(err, "limit", "Limit must be between 1 and 200.");
    if (before_id < 0) ar_error_field(err, "before", "Must be a job id.");
    if (err->fields) return ar_error_set(err, AR_ERR_VALIDATION, NULL), NULL;
    list_args a = {ctx, status, limit ? limit : 50, before_id, json_array()};
    ar_ctx eff = effective_ctx(ctx);
    if (ar_ctx_tx(&eff, list_tx, &a, err) != 0) {
        json_decref(a.rows);
        return NULL;
    }
    return a.rows;
}

typedef struct counts_args {
    const ar_ctx *ctx;
    json_t *counts;
} counts_args;

static int counts_tx(PGconn *c, void *arg, ar_error *err)
{
    counts_args *a = arg;
    char user[24], tenant[24];
    snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    snprintf(tenant, sizeof tenant, "%lld", a->ctx->tenant_id);
    const char *params[3] = {sees_all(a->ctx) ? "true" : "false", user, tenant};
    PGresult *r = ar_db_exec(c, "jobs_status_counts", 3, params, err);
    if (!r) return -1;
    for (int i = 0; i < PQntuples(r); i++)
        json_object_set_new(a->counts, PQgetvalue(r, i, 0), json_integer(atoll(PQgetvalue(r, i, 1))));
    PQclear(r);
    return 0;
}

json_t *ar_job_status_counts(const ar_ctx *ctx, ar_error *err)
{
    /* a system context (bypass_rls + staff: /metrics) counts every tenant's jobs */
    if (!(ctx->bypass_rls && ctx->is_staff) && (ctx->user_id <= 0 || (ctx->tenant_id <= 0 && !ctx->is_staff)))
        return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), NULL;
    counts_args a = {ctx, json_pack("{s:i,s:i,s:i,s:i,s:i}", "queued", 0, "running", 0, "succeeded", 0, "failed", 0,
                                    "cancelled", 0)};
    ar_ctx eff = effective_ctx(ctx);
    if (ar_ctx_tx(&eff, counts_tx, &a, err) != 0) {
        json_decref(a.counts);
        return NULL;
    }
    return a.counts;
}

typedef struct admin_list_args {
    const ar_ctx *ctx;
    const char *status, *type;
    int limit;
    long long before;
    json_t *rows;
} admin_list_args;

static int admin_list_tx(PGconn *c, void *arg, ar_error *err)
{
    admin_list_args *a = arg;
    char tenant[24], before[24], limit[16];
    snprintf(tenant, sizeof tenant, "%lld", a->ctx->tenant_id);
    snprintf(before, sizeof before, "%lld", a->before);
    snprintf(limit, sizeof limit, "%d", a->limit);
    const char *params[6] = {a->ctx->is_staff ? "true" : "false", tenant, a->status, a->type, before, limit};
    PGresult *r = ar_db_exec(c, "jobs_admin_list", 6, params, err);
    if (!r) return -1;
    for (int i = 0; i < PQntuples(r); i++) json_array_append_new(a->rows, job_from_row(r, i));
    PQclear(r);
    return 0;
}

json_t *ar_job_admin_list(const ar_ctx *ctx, const char *status, const char *type, int limit, long long before_id,
                          ar_error *err)
{
    if (ctx->user_id <= 0) return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), NULL;
    if (!ctx->is_staff && (ctx->tenant_id <= 0 || ctx->role < AR_ROLE_ADMIN))
        return ar_error_set(err, AR_ERR_FORBIDDEN, "Only workspace admins and staff can list all jobs."), NULL;
    if (!status) status = "";
    if (!type) type = "";
    static const char *const statuses[] = {"", "queued", "running", "succeeded", "failed", "cancelled"};
    int known = 0;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) known |= strcmp(status, statuses[i]) == 0;
    if (!known) ar_error_field(err, "status", "Status must be queued, running, succeeded, failed or cancelled.");
    size_t tlen = strlen(type);
    if (tlen > 100 || strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789_.") != tlen)
        ar_error_field(err, "type", "A job type is at most 100 characters of a-z, 0-9, '_' and '.'.");
    if (limit < 0 || limit > 200) ar_error_field(err, "limit", "Limit must be between 1 and 200.");
    if (before_id < 0) ar_error_field(err, "before_id", "Must be a job id.");
    if (err->fields) return ar_error_set(err, AR_ERR_VALIDATION, NULL), NULL;
    admin_list_args a = {ctx, status, type, limit ? limit : 50, before_id, json_array()};
    ar_ctx eff = effective_ctx(ctx);
    if (ar_ctx_tx(&eff, admin_list_tx, &a, err) != 0) {
        json_decref(a.rows);
        return NULL;
    }
    return a.rows;
}

static int counts_by_type_tx(PGconn *c, void *arg, ar_error *err)
{
    json_t *rows = arg;
    PGresult *r = ar_db_exec(c, "jobs_counts_by_type", 0, NULL, err);
    if (!r) return -1;
    json_array_clear(rows);
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(rows, json_pack("{s:s,s:s,s:I}", "type", PQgetvalue(r, i, 0), "status",
                                              PQgetvalue(r, i, 1), "count", (json_int_t)atoll(PQgetvalue(r, i, 2))));
    PQclear(r);
    return 0;
}

json_t *ar_job_counts_by_type(ar_error *err)
{
    ar_ctx base = {0};
    snprintf(base.request_id, sizeof base.request_id, "metrics");
    ar_ctx sys = ar_ctx_system(&base);
    json_t *rows = json_array();
    if (ar_ctx_tx(&sys, counts_by_type_tx, rows, err) != 0) {
        json_decref(rows);
        return NULL;
    }
    return rows;
}

/* ---- cancel / retry ---- */

typedef struct change_args {
    const ar_ctx *ctx;
    long long id;
} change_args;

static int cancel_tx(PGconn *c, void *arg, ar_error *err)
{
    change_args *a = arg;
    char id[24], user[24];
    snprintf(id, sizeof id, "%lld", a->id);
    snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    const char *params[3] = {id, sees_all(a->ctx) ? "true" : "false", user};
    PGresult *r = ar_db_exec(c, "jobs_cancel", 3, params, err);
    if (!r) return -1;
    int n = PQntuples(r);
    PQclear(r);
    if (n == 1) return 0;
    r = ar_db_exec(c, "jobs_get", 3, params, err);
    if (!r) return -1;
    n = PQntuples(r);
    PQclear(r);
    if (n == 0) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such job."), -1;
    return ar_error_set(err, AR_ERR_CONFLICT, "The job has already finished."), -1;
}

int ar_job_cancel(const ar_ctx *ctx, long long id, ar_error *err)
{
    if (ctx->user_id <= 0 || (ctx->tenant_id <= 0 && !ctx->is_staff))
        return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), -1;
    if (id <= 0) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such job."), -1;
    if (!ctx->is_staff && ctx->role < AR_ROLE_MEMBER) {
        /* Read-only users may look but not act: say 404 for what they cannot see, 403 otherwise. */
        json_t *job = ar_job_get(ctx, id, err);
        if (!job) return -1;
        json_decref(job);
        return ar_error_set(err, AR_ERR_FORBIDDEN, "Read-only members cannot cancel jobs."), -1;
    }
    change_args a = {ctx, id};
    ar_ctx eff = effective_ctx(ctx);
    return ar_ctx_tx(&eff, cancel_tx, &a, err);
}

static int retry_tx(PGconn *c, void *arg, ar_error *err)
{
    change_args *a = arg;
    char id[24], user[24];
    snprintf(id, sizeof id, "%lld", a->id);
    snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    const char *params[3] = {id, user, NULL};
    PGresult *r = ar_db_exec(c, "jobs_retry", 2, params, err);
    if (!r) return -1;
    int n = PQntuples(r);
    PQclear(r);
    if (n == 1) return 0;
    const char *get[3] = {id, "true", user};
    r = ar_db_exec(c, "jobs_get", 3, get, err);
    if (!r) return -1;
    n = PQntuples(r);
    PQclear(r);
    if (n == 0) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such job."), -1;
    return ar_error_set(err, AR_ERR_CONFLICT, "Only failed jobs can be retried."), -1;
}

int ar_job_retry(const ar_ctx *ctx, long long id, ar_error *err)
{
    if (ctx->user_id <= 0 || (ctx->tenant_id <= 0 && !ctx->is_staff))
        return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), -1;
    if (id <= 0) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such job."), -1;
    if (!sees_all(ctx)) {
        json_t *job = ar_job_get(ctx, id, err);
        if (!job) return -1;
        json_decref(job);
        return ar_error_set(err, AR_ERR_FORBIDDEN, "Only tenant admins can retry jobs."), -1;
    }
    change_args a = {ctx, id};
    ar_ctx eff = effective_ctx(ctx);
    if (ar_ctx_tx(&eff, retry_tx, &a, err) != 0) return -1;
    ar_job_wake(id);
    return 0;
}
