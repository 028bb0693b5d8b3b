/* worker.c — the job worker pool: worker threads (read, claim, run, record the outcome, acknowledge) and
 * the housekeeping thread (delayed → stream, heartbeats, stale running jobs, reconciler). See worker.h. */
#include "afterresume/jobs/worker.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/context.h"
#include "afterresume/jobs/jobs.h"
#include "afterresume/jobs/metrics.h"
#include "afterresume/jobs/queue.h"
#include "afterresume/jobs/registry.h"
#include "afterresume/jobs/valkey.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64
#define READ_BLOCK_MS 500
#define HOUSEKEEPING_TICK_MS 100
#define MAX_RETRY_DELAY_MS "21600000" /* 6 h */

static const ar_db_stmt statements[] = {
    /* claim and succeed are plpgsql functions (migrations/0005): one round trip each, no transaction */
    {"worker_claim", "SELECT * FROM ar_job_claim($1::bigint, $2::text, $3::integer)"},
    {"worker_progress",
     "UPDATE jobs SET progress = $3, progress_message = coalesce($4, progress_message), heartbeat_at = now() "
     "WHERE id = $1 AND worker_id = $2 AND status = 'running' RETURNING cancel_requested"},
    {"worker_event",
     "INSERT INTO job_events (job_id, tenant_id, level, message, data) "
     "SELECT id, tenant_id, $2, $3, $4::jsonb FROM jobs WHERE id = $1"},
    {"worker_succeed", "SELECT * FROM ar_job_succeed($1::bigint, $2::text, $3::text)"},
    /* A failed attempt: cancelled when asked to, failed at max attempts, otherwise the same row is rescheduled
     * after base × 2^(attempt-1) ms (capped). Returns the new status and the due time in unix ms. */
    {"worker_fail",
     "WITH j AS (UPDATE jobs SET "
     "status = CASE WHEN cancel_requested THEN 'cancelled' WHEN attempts >= max_attempts THEN 'failed' "
     "ELSE 'queued' END, "
     "next_run_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN next_run_at "
     "ELSE now() + make_interval(secs => least($4::float8 * 2 ^ (attempts - 1), " MAX_RETRY_DELAY_MS ") / 1000.0) "
     "END, "
     "finished_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN now() END, "
     "last_error = $3, heartbeat_at = NULL "
     "WHERE id = $1 AND worker_id = $2 AND status = 'running' "
     "RETURNING id, tenant_id, status, attempts, "
     "least($4::float8 * 2 ^ (attempts - 1), " MAX_RETRY_DELAY_MS ")::bigint AS delay_ms, "
     "(extract(epoch FROM next_run_at) * 1000)::bigint AS due_ms, next_run_at), "
     "e AS (INSERT INTO job_events (job_id, tenant_id, level, message, data) "
     "SELECT id, tenant_id, CASE status WHEN 'queued' THEN 'warn' WHEN 'failed' THEN 'error' ELSE 'info' END, "
     "CASE status WHEN 'queued' THEN 'attempt failed; retry scheduled' WHEN 'failed' THEN 'failed' "
     "ELSE 'cancelled' END, "
     "CASE status WHEN 'queued' THEN jsonb_build_object('attempt', attempts, 'error', $3::text, 'delay_ms', "
     "delay_ms, 'next_run_at', next_run_at) ELSE jsonb_build_object('attempt', attempts, 'error', $3::text) END "
     "FROM j) "
     "SELECT status, due_ms FROM j"},
    /* The pool stopped the attempt (shutdown past its grace period): back to the queue, not counted. */
    {"worker_release",
     "WITH j AS (UPDATE jobs SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END, "
     "attempts = CASE WHEN cancel_requested THEN attempts ELSE attempts - 1 END, next_run_at = now(), "
     "finished_at = CASE WHEN cancel_requested THEN now() END, heartbeat_at = NULL "
     "WHERE id = $1 AND worker_id = $2 AND status = 'running' RETURNING id, tenant_id, status), "
     "e AS (INSERT INTO job_events (job_id, tenant_id, level, message) "
     "SELECT id, tenant_id, 'warn', CASE status WHEN 'queued' THEN 'interrupted by shutdown; re-queued' "
     "ELSE 'cancelled' END FROM j) "
     "SELECT status FROM j"},
    {"worker_heartbeat",
     "UPDATE jobs SET heartbeat_at = now() WHERE id = ANY($1::bigint[]) AND status = 'running' "
     "AND starts_with(worker_id, $2)"},
    /* Running jobs whose worker stopped heartbeating: re-queued (or failed at max attempts, or cancelled). */
    {"worker_requeue_stale",
     "WITH s AS (SELECT id FROM jobs WHERE status = 'running' "
     "AND heartbeat_at < now() - make_interval(secs => $1::float8 / 1000) ORDER BY id LIMIT 500 "
     "FOR UPDATE SKIP LOCKED), "
     "j AS (UPDATE jobs SET "
     "status = CASE WHEN cancel_requested THEN 'cancelled' WHEN attempts >= max_attempts THEN 'failed' "
     "ELSE 'queued' END, "
     "next_run_at = now(), finished_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN now() END, "
     "last_error = CASE WHEN cancel_requested THEN last_error ELSE 'the worker stopped heartbeating' END, "
     "heartbeat_at = NULL FROM s WHERE jobs.id = s.id "
     "RETURNING jobs.id, jobs.tenant_id, jobs.status, jobs.worker_id, jobs.attempts), "
     "e AS (INSERT INTO job_events (job_id, tenant_id, level, message, data) "
     "SELECT id, tenant_id, 'warn', CASE status WHEN 'queued' THEN 'worker lost; re-queued' "
     "WHEN 'failed' THEN 'worker lost; failed' ELSE 'worker lost; cancelled' END, "
     "jsonb_build_object('worker', worker_id, 'attempt', attempts) FROM j) "
     "SELECT id, status FROM j"},
    {"worker_reconcile",
     "SELECT id FROM jobs WHERE status = 'queued' "
     "AND next_run_at <= now() - make_interval(secs => $1::float8 / 1000) ORDER BY next_run_at LIMIT 1000"},
};

void ar_worker_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

typedef struct worker_slot {
    struct ar_worker_pool *pool;
    pthread_t thread;
    int started;
    char id[160];
    /* guarded by pool->lock */
    int busy;
    long long job_id; /* the job being run, while busy */
    int abort_job; /* ask the running handler to stop (shutdown past grace) */
} worker_slot;

struct ar_worker_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;      /* workers: take no new work */
    int housekeeping_stop;
    int nthreads;
    worker_slot slots[MAX_WORKERS];
    pthread_t housekeeper;
    int housekeeper_started;
    char prefix[128]; /* worker ids start with it: host:pid:poolN: */
    long long retry_base_ms, visibility_ms, stale_ms, reconcile_ms;
    ar_worker_stats stats;
};

typedef struct job_internal {
    worker_slot *slot;
} job_internal;

#define COUNT(p, field) __atomic_add_fetch(&(p)->stats.field, 1, __ATOMIC_RELAXED)

static long long env_ms(const char *name, long long def)
{
    const char *v = getenv(name);
    if (!v || !*v) return def;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end || n < 1 || n > 86400000LL) {
        ar_log_warn("%s must be a number of milliseconds (1..86400000); using %lld", name, def);
        return def;
    }
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int pool_stopping(ar_worker_pool *p)
{
    pthread_mutex_lock(&p->lock);
    int s = p->stopping;
    pthread_mutex_unlock(&p->lock);
    return s;
}

/* The context every pool transaction runs in: no tenant, row-level security bypassed. */
static ar_ctx system_ctx(void)
{
    ar_ctx c = {0};
    snprintf(c.request_id, sizeof c.request_id, "jobs");
    return ar_ctx_system(&c);
}

/* ---- running one job ---- */

typedef struct stmt_call {
    const char *name;
    int nparams;
    const char *const *params;
    PGresult *result;
} stmt_call;

static int stmt_tx(PGconn *c, void *arg, ar_error *err)
{
    stmt_call *s = arg;
    s->result = ar_db_exec(c, s->name, s->nparams, s->params, err);
    return s->result ? 0 : -1;
}

/* Run one pool statement in its own system transaction; the PGresult or NULL + err. */
static PGresult *run_stmt(const char *name, int nparams, const char *const *params, ar_error *err)
{
    ar_ctx sys = system_ctx();
    stmt_call s = {name, nparams, params, NULL};
    if (ar_ctx_tx(&sys, stmt_tx, &s, err) != 0) {
        if (s.result) PQclear(s.result);
        return NULL;
    }
    return s.result;
}

/* Run one statement on this thread's connection outside any transaction (the claim/succeed functions set
 * what they need themselves). */
static PGresult *run_direct(const char *name, int nparams, const char *const *params, ar_error *err)
{
    PGconn *c = ar_db_conn(err);
    return c ? ar_db_exec(c, name, nparams, params, err) : NULL;
}

/* The same, retried for a while when the database is unavailable (recording an outcome must not be lost
 * lightly: without it the job waits for the stale-heartbeat sweep). Other errors are not retried; *code
 * (may be NULL) receives the last error code. */
static PGresult *run_stmt_persist(worker_slot *w, const char *name, int nparams, const char *const *params,
                                  ar_err_code *code)
{
    int direct = strcmp(name, "worker_succeed") == 0;
    for (int attempt = 0;; attempt++) {
        ar_error err = {0};
        PGresult *r = direct ? run_direct(name, nparams, params, &err) : run_stmt(name, nparams, params, &err);
        if (code) *code = r ? AR_OK : err.code;
        if (r || attempt == 9 || err.code != AR_ERR_UNAVAILABLE) {
            if (!r)
                ar_log_json(AR_LOG_ERROR, "job outcome not recorded",
                            json_pack("{s:s,s:s,s:s}", "statement", name, "worker", w->id, "error", err.message));
            ar_error_clear(&err);
            return r;
        }
        ar_error_clear(&err);
        sleep_ms(200L * (attempt + 1));
    }
}

int ar_job_progress(ar_job_ctx *jc, int pct, const char *msg)
{
    job_internal *in = jc->internal_;
    worker_slot *w = in->slot;
    if (pct < 0) pct = 0;
    if (pct > 100) pct = 100;
    char id[24], p[8];
    snprintf(id, sizeof id, "%lld", jc->job_id);
    snprintf(p, sizeof p, "%d", pct);
    const char *params[4] = {id, w->id, p, msg};
    ar_error err = {0};
    PGresult *r = run_stmt("worker_progress", 4, params, &err);
    int stop = 0;
    if (!r) {
        ar_log_json(AR_LOG_WARN, "job progress not recorded",
                    json_pack("{s:I,s:s}", "job_id", (json_int_t)jc->job_id, "error", err.message));
    } else {
        /* No row: the job is no longer ours (re-queued by the stale sweep); stop. */
        stop = PQntuples(r) == 0 || PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
    }
    ar_error_clear(&err);
    pthread_mutex_lock(&w->pool->lock);
    stop |= w->abort_job;
    pthread_mutex_unlock(&w->pool->lock);
    return stop;
}

void ar_job_event(ar_job_ctx *jc, const char *level, const char *message, json_t *data)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", jc->job_id);
    char *text = data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    const char *params[4] = {id, level ? level : "info", message ? message : "", text};
    ar_error err = {0};
    PGresult *r = run_stmt("worker_event", 4, params, &err);
    if (r)
        PQclear(r);
    else
        ar_log_json(AR_LOG_WARN, "job event not recorded",
                    json_pack("{s:I,s:s}", "job_id", (json_int_t)jc->job_id, "error", err.message));
    ar_error_clear(&err);
    free(text);
}

/* Wake a worker for a queued job; when Valkey is down the reconciler does it later. */
static void push_or_log(long long job_id)
{
    ar_error err = {0};
    if (ar_queue_push(job_id, &err) != 0)
        ar_log_warn("job %lld: no wake-up pushed (the reconciler will): %s", job_id, err.message);
    ar_error_clear(&err);
}

/* How long a job waits before its next claim attempt when its tenant runs the maximum number of jobs. */
static long long limited_delay_ms(void)
{
    unsigned char r;
    FILE *f = NULL;
    static __thread unsigned seed;
    if (!seed) {
        f = fopen("/dev/urandom", "rb");
        if (!f || fread(&seed, sizeof seed, 1, f) != 1) seed = (unsigned)time(NULL) ^ (unsigned)getpid();
        if (f) fclose(f);
    }
    r = (unsigned char)rand_r(&seed);
    return 200 + r; /* 200..455 ms, spread so waiting jobs do not retry in lockstep */
}

/* A delivery that could not be claimed: a job due later goes (back) to the delayed set, a job whose tenant is
 * at its concurrency limit is tried again shortly; anything else (finished, cancelled, another worker's) is
 * a duplicate and dropped. */
static void handle_unclaimed(ar_worker_pool *p, long long job_id, const char *outcome, const char *due_ms)
{
    ar_error err = {0};
    if (strcmp(outcome, "early") == 0) {
        if (ar_queue_schedule(job_id, atoll(due_ms) + 1, &err) != 0)
            ar_log_warn("job %lld: cannot schedule it in valkey (the reconciler will): %s", job_id, err.message);
    } else if (strcmp(outcome, "limited") == 0) {
        COUNT(p, limited);
        if (ar_queue_schedule(job_id, ar_queue_now_ms() + limited_delay_ms(), &err) != 0)
            ar_log_warn("job %lld: cannot delay it in valkey (the reconciler will): %s", job_id, err.message);
    } else {
        COUNT(p, duplicates);
    }
    ar_error_clear(&err);
}

/* Claim, run and record one delivered job. Returns 0 when the delivery can be acknowledged, -1 when the
 * database could not be reached (leave it pending: it is re-delivered after the visibility timeout). */
static int process_job(worker_slot *w, long long job_id)
{
    ar_worker_pool *p = w->pool;
    char id[24];
    snprintf(id, sizeof id, "%lld", job_id);
    char limit[16];
    snprintf(limit, sizeof limit, "%d", ar_jobs_tenant_concurrency());
    const char *claim_params[3] = {id, w->id, limit};
    ar_error err = {0};
    PGresult *r = run_direct("worker_claim", 3, claim_params, &err);
    if (!r) {
        ar_log_json(AR_LOG_WARN, "job claim failed",
                    json_pack("{s:I,s:s}", "job_id", (json_int_t)job_id, "error", err.message));
        ar_error_clear(&err);
        return -1;
    }
    if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), "claimed") != 0) {
        handle_unclaimed(p, job_id, PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "gone",
                         PQntuples(r) == 1 ? PQgetvalue(r, 0, 8) : "0");
        PQclear(r);
        return 0;
    }
    COUNT(p, claimed);
    long long tenant_id = atoll(PQgetvalue(r, 0, 2)); /* 0: a system job */
    long long user_id = atoll(PQgetvalue(r, 0, 3));
    char *type = ar_strdup(PQgetvalue(r, 0, 4));
    json_t *payload = json_loads(PQgetvalue(r, 0, 5), 0, NULL);
    int attempt = atoi(PQgetvalue(r, 0, 6));
    int max_attempts = atoi(PQgetvalue(r, 0, 7));
    PQclear(r);
    if (!payload) payload = json_object();

    ar_ctx tctx = {0};
    tctx.tenant_id = tenant_id;
    tctx.user_id = user_id;
    tctx.role = AR_ROLE_MEMBER;
    snprintf(tctx.request_id, sizeof tctx.request_id, "job-%lld-%d", job_id, attempt);
    job_internal in = {w};
    ar_job_ctx jc = {job_id, tenant_id, user_id, attempt, max_attempts, type, w->id, &tctx, &in};

    pthread_mutex_lock(&p->lock);
    w->busy = 1;
    w->job_id = job_id;
    pthread_mutex_unlock(&p->lock);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const ar_job_type *t = ar_job_type_find(type);
    json_t *result = NULL;
    int rc;
    if (!t) {
        ar_error_set(&err, AR_ERR_INTERNAL, "unknown job type \"%.100s\"", type);
        rc = -1;
    } else {
        rc = t->handler(&jc, payload, &result, &err);
        if (rc != 0 && !err.message[0]) ar_error_set(&err, AR_ERR_INTERNAL, "the job failed");
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long ms = (t1.tv_sec - t0.tv_sec) * 1000LL + (t1.tv_nsec - t0.tv_nsec) / 1000000;

    pthread_mutex_lock(&p->lock);
    int aborted = w->abort_job;
    pthread_mutex_unlock(&p->lock);

    /* Record the outcome. While this runs the job still counts as busy, so housekeeping keeps heartbeating
     * it; an outcome that cannot be recorded at all leaves the row to the stale sweep. */
    const char *outcome = "lost";
    if (rc == 0) {
        char *text = result ? json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        const char *params[3] = {id, w->id, text};
        ar_err_code code = AR_OK;
        r = run_stmt_persist(w, "worker_succeed", 3, params, &code);
        free(text);
        if (r) {
            outcome = PQntuples(r) == 1 ? "succeeded" : "lost";
            if (PQntuples(r) == 1) COUNT(p, succeeded);
            PQclear(r);
        } else if (code != AR_ERR_UNAVAILABLE) {
            /* The result itself is refused (e.g. text PostgreSQL cannot store): a failed attempt. */
            rc = -1;
            ar_error_set(&err, AR_ERR_INTERNAL, "the job's result could not be stored");
        }
    }
    if (rc != 0 && aborted) {
        const char *params[2] = {id, w->id};
        r = run_stmt_persist(w, "worker_release", 2, params, NULL);
        if (r) {
            if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "queued") == 0) {
                outcome = "released";
                push_or_log(job_id);
            } else if (PQntuples(r) == 1) {
                outcome = "cancelled";
                COUNT(p, cancelled);
            }
            PQclear(r);
        }
    } else if (rc != 0) {
        char base[24];
        snprintf(base, sizeof base, "%lld", p->retry_base_ms);
        const char *params[4] = {id, w->id, err.message, base};
        r = run_stmt_persist(w, "worker_fail", 4, params, NULL);
        if (r) {
            if (PQntuples(r) == 1) {
                const char *status = PQgetvalue(r, 0, 0);
                if (strcmp(status, "queued") == 0) {
                    outcome = "retry";
                    COUNT(p, retried);
                    ar_error qerr = {0};
                    if (ar_queue_schedule(job_id, atoll(PQgetvalue(r, 0, 1)), &qerr) != 0)
                        ar_log_warn("job %lld: retry not scheduled in valkey (the reconciler will): %s", job_id,
                                    qerr.message);
                    ar_error_clear(&qerr);
                } else if (strcmp(status, "failed") == 0) {
                    outcome = "failed";
                    COUNT(p, failed);
                } else {
                    outcome = "cancelled";
                    COUNT(p, cancelled);
                }
            }
            PQclear(r);
        }
    }
    pthread_mutex_lock(&p->lock);
    w->busy = 0;
    w->job_id = 0;
    pthread_mutex_unlock(&p->lock);
    ar_job_metrics_observe(type, (double)ms / 1000.0, outcome);
    ar_log_json(rc == 0 ? AR_LOG_INFO : AR_LOG_WARN, "job attempt finished",
                json_pack("{s:I,s:s,s:i,s:s,s:I,s:s,s:s}", "job_id", (json_int_t)job_id, "type", type, "attempt",
                          attempt, "outcome", outcome, "duration_ms", (json_int_t)ms, "request_id",
                          tctx.request_id, "error", rc == 0 ? "" : err.message));
    ar_error_clear(&err);
    json_decref(result);
    json_decref(payload);
    free(type);
    return 0;
}

/* ---- worker threads ---- */

/* Log a transport/database problem at most once per 10 s per thread. */
static void log_throttled(time_t *last, const char *what, const ar_error *err)
{
    time_t now = time(NULL);
    if (now - *last < 10) return;
    *last = now;
    ar_log_json(AR_LOG_WARN, what, json_pack("{s:s}", "error", err->message));
}

static void *worker_main(void *arg)
{
    worker_slot *w = arg;
    ar_worker_pool *p = w->pool;
    long long autoclaim_every = p->visibility_ms / 4;
    if (autoclaim_every < 100) autoclaim_every = 100;
    if (autoclaim_every > 5000) autoclaim_every = 5000;
    long long last_autoclaim = 0;
    time_t last_log = 0;
    while (!pool_stopping(p)) {
        ar_queue_msg msg;
        ar_error err = {0};
        int n = 0;
        long long now = ar_queue_now_ms();
        if (now - last_autoclaim >= autoclaim_every) {
            last_autoclaim = now;
            n = ar_queue_autoclaim(w->id, p->visibility_ms, &msg, 1, &err);
        }
        if (n == 0) n = ar_queue_read(w->id, READ_BLOCK_MS, &msg, 1, &err);
        if (n < 0) {
            log_throttled(&last_log, "job queue unavailable", &err);
            ar_error_clear(&err);
            for (int i = 0; i < 10 && !pool_stopping(p); i++) sleep_ms(100);
            continue;
        }
        ar_error_clear(&err);
        if (n == 0) continue;
        if (msg.job_id > 0 && pool_stopping(p)) {
            /* Read while stopping: hand the job to another worker (or the next start) instead of running it;
             * without a new wake-up the entry stays pending until the visibility timeout. */
            if (ar_queue_push(msg.job_id, &err) != 0) {
                ar_error_clear(&err);
                break;
            }
        } else if (msg.job_id > 0 && process_job(w, msg.job_id) != 0) {
            /* Database unreachable: leave the entry pending for re-delivery after the visibility timeout. */
            for (int i = 0; i < 10 && !pool_stopping(p); i++) sleep_ms(100);
            continue;
        }
        if (ar_queue_ack(msg.entry_id, &err) != 0) log_throttled(&last_log, "job acknowledgement failed", &err);
        ar_error_clear(&err);
    }
    ar_error err = {0};
    ar_queue_forget_consumer(w->id, &err);
    ar_error_clear(&err);
    ar_db_thread_close();
    ar_valkey_thread_close();
    return NULL;
}

/* ---- housekeeping ---- */

static void push_ids(PGresult *r, int status_col, unsigned long *counter)
{
    for (int i = 0; i < PQntuples(r); i++) {
        if (status_col >= 0 && strcmp(PQgetvalue(r, i, status_col), "queued") != 0) continue;
        push_or_log(atoll(PQgetvalue(r, i, 0)));
        if (counter) __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
    }
}

static void *housekeeping_main(void *arg)
{
    ar_worker_pool *p = arg;
    long long heartbeat_every = p->stale_ms / 4, stale_every = p->stale_ms / 4;
    if (heartbeat_every < 50) heartbeat_every = 50;
    if (heartbeat_every > 10000) heartbeat_every = 10000;
    if (stale_every < 100) stale_every = 100;
    if (stale_every > 10000) stale_every = 10000;
    long long last_heartbeat = 0, last_stale = 0, last_reconcile = 0;
    time_t last_log = 0;
    char stale_ms[24], reconcile_ms[24];
    snprintf(stale_ms, sizeof stale_ms, "%lld", p->stale_ms);
    snprintf(reconcile_ms, sizeof reconcile_ms, "%lld", p->reconcile_ms);
    pthread_mutex_lock(&p->lock);
    while (!p->housekeeping_stop) {
        pthread_mutex_unlock(&p->lock);
        long long now = ar_queue_now_ms();
        ar_error err = {0};
        if (ar_queue_move_due(now, 500, &err) < 0) log_throttled(&last_log, "delayed jobs not moved", &err);
        ar_error_clear(&err);
        if (now - last_heartbeat >= heartbeat_every) {
            last_heartbeat = now;
            char ids[MAX_WORKERS * 21 + 3] = "{";
            size_t len = 1;
            pthread_mutex_lock(&p->lock);
            for (int i = 0; i < p->nthreads; i++)
                if (p->slots[i].busy)
                    len += (size_t)snprintf(ids + len, sizeof ids - len, "%s%lld", len > 1 ? "," : "",
                                            p->slots[i].job_id);
            pthread_mutex_unlock(&p->lock);
            snprintf(ids + len, sizeof ids - len, "}");
            if (len > 1) {
                const char *params[2] = {ids, p->prefix};
                PGresult *r = run_stmt("worker_heartbeat", 2, params, &err);
                if (r) PQclear(r);
                else log_throttled(&last_log, "job heartbeat failed", &err);
                ar_error_clear(&err);
            }
        }
        if (now - last_stale >= stale_every) {
            last_stale = now;
            const char *params[1] = {stale_ms};
            PGresult *r = run_stmt("worker_requeue_stale", 1, params, &err);
            if (r) {
                if (PQntuples(r) > 0) ar_log_warn("re-queued %d job(s) whose worker stopped", PQntuples(r));
                for (int i = 0; i < PQntuples(r); i++) COUNT(p, requeued);
                push_ids(r, 1, NULL);
                PQclear(r);
            } else {
                log_throttled(&last_log, "stale job sweep failed", &err);
            }
            ar_error_clear(&err);
        }
        if (now - last_reconcile >= p->reconcile_ms) {
            last_reconcile = now;
            const char *params[1] = {reconcile_ms};
            PGresult *r = run_stmt("worker_reconcile", 1, params, &err);
            if (r) {
                push_ids(r, -1, &p->stats.reconciled);
                PQclear(r);
            } else {
                log_throttled(&last_log, "job reconciler failed", &err);
            }
            ar_error_clear(&err);
        }
        pthread_mutex_lock(&p->lock);
        if (p->housekeeping_stop) break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += HOUSEKEEPING_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->wake, &p->lock, &until);
    }
    pthread_mutex_unlock(&p->lock);
    ar_db_thread_close();
    ar_valkey_thread_close();
    return NULL;
}

/* ---- pool ---- */

ar_worker_pool *ar_worker_pool_start(int threads, ar_error *err)
{
    if (threads < 1 || threads > MAX_WORKERS) {
        ar_error_set(err, AR_ERR_VALIDATION, "the worker count must be between 1 and %d", MAX_WORKERS);
        return NULL;
    }
    ar_error group_err = {0};
    if (ar_queue_ensure_group(&group_err) != 0) {
        /* Valkey down at start: the workers retry (and create the group) when it is back; jobs wait in
         * PostgreSQL meanwhile, and readiness reports the outage. */
        ar_log_json(AR_LOG_WARN, "job queue unavailable at start; workers will retry",
                    json_pack("{s:s}", "reason", group_err.message));
        ar_error_clear(&group_err);
    }
    ar_valkey_thread_close();
    ar_worker_pool *p = ar_calloc(1, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->nthreads = threads;
    p->retry_base_ms = env_ms("AR_JOB_RETRY_BASE_MS", 30000);
    p->visibility_ms = env_ms("AR_JOB_VISIBILITY_MS", 60000);
    p->stale_ms = env_ms("AR_JOB_STALE_MS", 120000);
    p->reconcile_ms = env_ms("AR_JOB_RECONCILE_MS", 30000);
    static unsigned pool_counter;
    unsigned n = __atomic_add_fetch(&pool_counter, 1, __ATOMIC_RELAXED);
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    unsigned char rnd[4];
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(rnd, 1, sizeof rnd, f) != sizeof rnd) memset(rnd, 0, sizeof rnd);
    if (f) fclose(f);
    snprintf(p->prefix, sizeof p->prefix, "%.60s:%d:%u:%02x%02x%02x%02x:", host, (int)getpid(), n, rnd[0], rnd[1],
             rnd[2], rnd[3]);
    for (int i = 0; i < threads; i++) {
        worker_slot *w = &p->slots[i];
        w->pool = p;
        snprintf(w->id, sizeof w->id, "%sw%d", p->prefix, i);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            ar_error_set(err, AR_ERR_INTERNAL, "cannot start worker thread %d", i);
            ar_worker_pool_stop(p, 0);
            return NULL;
        }
        w->started = 1;
    }
    if (pthread_create(&p->housekeeper, NULL, housekeeping_main, p) != 0) {
        ar_error_set(err, AR_ERR_INTERNAL, "cannot start the job housekeeping thread");
        ar_worker_pool_stop(p, 0);
        return NULL;
    }
    p->housekeeper_started = 1;
    ar_log_json(AR_LOG_INFO, "job workers started",
                json_pack("{s:i,s:s,s:I,s:I,s:I,s:I}", "threads", threads, "stream", ar_queue_stream_key(),
                          "retry_base_ms", (json_int_t)p->retry_base_ms, "visibility_ms",
                          (json_int_t)p->visibility_ms, "stale_ms", (json_int_t)p->stale_ms, "reconcile_ms",
                          (json_int_t)p->reconcile_ms));
    return p;
}

void ar_worker_pool_stop(ar_worker_pool *p, int grace_s)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_mutex_unlock(&p->lock);
    /* Let running jobs finish within the grace period, then ask them to stop. */
    long long deadline = ar_queue_now_ms() + (grace_s > 0 ? grace_s : 0) * 1000LL;
    for (;;) {
        int busy = 0;
        pthread_mutex_lock(&p->lock);
        for (int i = 0; i < p->nthreads; i++) busy |= p->slots[i].busy;
        if (!busy || ar_queue_now_ms() >= deadline) {
            for (int i = 0; i < p->nthreads; i++) p->slots[i].abort_job = 1;
            pthread_mutex_unlock(&p->lock);
            break;
        }
        pthread_mutex_unlock(&p->lock);
        sleep_ms(20);
    }
    for (int i = 0; i < p->nthreads; i++)
        if (p->slots[i].started) pthread_join(p->slots[i].thread, NULL);
    pthread_mutex_lock(&p->lock);
    p->housekeeping_stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    if (p->housekeeper_started) pthread_join(p->housekeeper, NULL);
    ar_valkey_thread_close();
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    ar_log_json(AR_LOG_INFO, "job workers stopped",
                json_pack("{s:I,s:I,s:I,s:I}", "claimed", (json_int_t)p->stats.claimed, "succeeded",
                          (json_int_t)p->stats.succeeded, "failed", (json_int_t)p->stats.failed, "requeued",
                          (json_int_t)p->stats.requeued));
    free(p);
}

void ar_worker_pool_stats(ar_worker_pool *p, ar_worker_stats *out)
{
    out->claimed = __atomic_load_n(&p->stats.claimed, __ATOMIC_RELAXED);
    out->succeeded = __atomic_load_n(&p->stats.succeeded, __ATOMIC_RELAXED);
    out->retried = __atomic_load_n(&p->stats.retried, __ATOMIC_RELAXED);
    out->failed = __atomic_load_n(&p->stats.failed, __ATOMIC_RELAXED);
    out->cancelled = __atomic_load_n(&p->stats.cancelled, __ATOMIC_RELAXED);
    out->duplicates = __atomic_load_n(&p->stats.duplicates, __ATOMIC_RELAXED);
    out->requeued = __atomic_load_n(&p->stats.requeued, __ATOMIC_RELAXED);
    out->reconciled = __atomic_load_n(&p->stats.reconciled, __ATOMIC_RELAXED);
    out->limited = __atomic_load_n(&p->stats.limited, __ATOMIC_RELAXED);
}
