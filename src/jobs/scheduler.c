/* scheduler.c — the leader-elected scheduler that turns due rows of `schedules` into system jobs (see
 * scheduler.h). */
#include "afterresume/jobs/scheduler.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/context.h"
#include "afterresume/jobs/cron.h"
#include "afterresume/jobs/jobs.h"
#include "afterresume/jobs/queue.h"
#include "afterresume/jobs/registry.h"
#include "afterresume/jobs/valkey.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_DUE_PER_STEP 100

static const ar_db_stmt statements[] = {
    {"scheduler_upsert",
     "INSERT INTO schedules (name, cron, job_type, payload, next_run_at) "
     "VALUES ($1, $2, $3, $4::jsonb, to_timestamp($5::bigint)) "
     "ON CONFLICT (name) DO UPDATE SET cron = EXCLUDED.cron, job_type = EXCLUDED.job_type, "
     "payload = EXCLUDED.payload, next_run_at = CASE WHEN schedules.cron = EXCLUDED.cron "
     "THEN schedules.next_run_at ELSE EXCLUDED.next_run_at END, "
     "updated_at = CASE WHEN (schedules.cron, schedules.job_type, schedules.payload) IS DISTINCT FROM "
     "(EXCLUDED.cron, EXCLUDED.job_type, EXCLUDED.payload) THEN now() ELSE schedules.updated_at END"},
    {"scheduler_due",
     "SELECT id, name, cron, job_type, payload::text, "
     "to_char(next_run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM schedules "
     "WHERE enabled AND next_run_at <= to_timestamp($1::bigint) ORDER BY next_run_at, id LIMIT $2 "
     "FOR UPDATE SKIP LOCKED"},
    {"scheduler_advance",
     "UPDATE schedules SET last_run_at = next_run_at, next_run_at = to_timestamp($2::bigint), "
     "last_job_id = nullif($3::bigint, 0), updated_at = now() WHERE id = $1"},
};

void ar_scheduler_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

static ar_ctx system_ctx(void)
{
    ar_ctx c = {0};
    snprintf(c.request_id, sizeof c.request_id, "scheduler");
    return ar_ctx_system(&c);
}

/* ---- built-in schedules ---- */

static int sync_tx(PGconn *c, void *arg, ar_error *err)
{
    (void)arg;
    time_t now = time(NULL);
    for (int i = 0; i < ar_builtin_schedule_count; i++) {
        const ar_schedule_def *d = &ar_builtin_schedules[i];
        ar_cron cron;
        ar_error cerr = {0};
        json_t *payload = d->payload ? json_loads(d->payload, 0, NULL) : json_object();
        if (ar_cron_parse(d->cron, &cron, &cerr) != 0 || !json_is_object(payload) || !ar_job_type_find(d->job_type)) {
            ar_log_json(AR_LOG_ERROR, "built-in schedule skipped",
                        json_pack("{s:s,s:s,s:s}", "schedule", d->name, "cron", d->cron, "problem",
                                  cerr.message[0] ? cerr.message
                                  : !json_is_object(payload) ? "payload is not a JSON object"
                                                             : "unknown job type"));
            ar_error_clear(&cerr);
            json_decref(payload);
            continue;
        }
        char *text = json_dumps(payload, JSON_COMPACT);
        json_decref(payload);
        char next[24];
        snprintf(next, sizeof next, "%lld", (long long)ar_cron_next(&cron, now));
        const char *params[5] = {d->name, d->cron, d->job_type, text, next};
        PGresult *r = ar_db_exec(c, "scheduler_upsert", 5, params, err);
        free(text);
        if (!r) return -1;
        PQclear(r);
    }
    return 0;
}

int ar_scheduler_sync_builtin(ar_error *err)
{
    ar_ctx sys = system_ctx();
    return ar_ctx_tx(&sys, sync_tx, NULL, err);
}

/* ---- one leader step ---- */

typedef struct due_args {
    time_t now;
    long long *woken; /* job ids to wake after commit */
    int nwoken;
} due_args;

static int due_tx(PGconn *c, void *arg, ar_error *err)
{
    due_args *a = arg;
    a->nwoken = 0; /* a retried transaction starts over */
    char now[24], limit[16];
    snprintf(now, sizeof now, "%lld", (long long)a->now);
    snprintf(limit, sizeof limit, "%d", MAX_DUE_PER_STEP);
    const char *params[2] = {now, limit};
    PGresult *r = ar_db_exec(c, "scheduler_due", 2, params, err);
    if (!r) return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        const char *id = PQgetvalue(r, i, 0), *name = PQgetvalue(r, i, 1), *expr = PQgetvalue(r, i, 2);
        const char *type = PQgetvalue(r, i, 3), *due_iso = PQgetvalue(r, i, 5);
        ar_cron cron;
        ar_error cerr = {0};
        long long job_id = 0;
        time_t next;
        if (ar_cron_parse(expr, &cron, &cerr) != 0 || (next = ar_cron_next(&cron, a->now)) == (time_t)-1) {
            /* A bad row (edited by hand): try again in an hour rather than every tick. */
            ar_log_json(AR_LOG_ERROR, "schedule has an invalid cron expression",
                        json_pack("{s:s,s:s,s:s}", "schedule", name, "cron", expr, "error", cerr.message));
            ar_error_clear(&cerr);
            next = a->now + 3600;
        } else if (!ar_job_type_find(type)) {
            ar_log_json(AR_LOG_ERROR, "schedule names an unknown job type",
                        json_pack("{s:s,s:s}", "schedule", name, "type", type));
        } else {
            json_t *payload = json_loads(PQgetvalue(r, i, 4), 0, NULL);
            char *key = ar_asprintf("%s@%s", name, due_iso);
            rc = ar_job_enqueue_system_in_tx(c, type, payload, key, &job_id, err);
            free(key);
            json_decref(payload);
            if (rc != 0) break;
            a->woken[a->nwoken++] = job_id;
        }
        char next_s[24], job_s[24];
        snprintf(next_s, sizeof next_s, "%lld", (long long)next);
        snprintf(job_s, sizeof job_s, "%lld", job_id);
        const char *adv[3] = {id, next_s, job_s};
        PGresult *u = ar_db_exec(c, "scheduler_advance", 3, adv, err);
        if (!u) rc = -1;
        else PQclear(u);
    }
    PQclear(r);
    return rc;
}

int ar_scheduler_run_due(time_t now, int *enqueued, ar_error *err)
{
    if (enqueued) *enqueued = 0;
    long long woken[MAX_DUE_PER_STEP];
    due_args a = {now, woken, 0};
    ar_ctx sys = system_ctx();
    if (ar_ctx_tx(&sys, due_tx, &a, err) != 0) return -1;
    for (int i = 0; i < a.nwoken; i++) ar_job_wake(woken[i]);
    if (a.nwoken > 0)
        ar_log_json(AR_LOG_INFO, "scheduled jobs enqueued", json_pack("{s:i}", "count", a.nwoken));
    if (enqueued) *enqueued = a.nwoken;
    return 0;
}

/* ---- leader lock ---- */

static const char *const renew_script =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
static const char *const release_script =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

struct ar_scheduler {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop;
    char token[96];
    long long tick_ms, lock_ms;
    ar_scheduler_stats stats; /* guarded by lock */
};

static long long env_ms(const char *name, long long def)
{
    const char *v = getenv(name);
    if (!v || !*v) return def;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end || n < 10 || n > 3600000LL) {
        ar_log_warn("%s must be a number of milliseconds (10..3600000); using %lld", name, def);
        return def;
    }
    return n;
}

/* 1 = this instance holds the lock now, 0 = another does, -1 = Valkey failed (err). */
static int acquire_or_renew(ar_scheduler *s, int leader, ar_error *err)
{
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%lld", s->lock_ms);
    redisReply *r;
    if (leader) {
        r = ar_valkey_command(err, "EVAL %s 1 %s %s %s", renew_script, ar_queue_leader_key(), s->token, ttl);
        if (!r) return -1;
        int ok = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        if (r->type == REDIS_REPLY_ERROR) ar_error_set(err, AR_ERR_UNAVAILABLE, "valkey EVAL failed: %.160s", r->str);
        int failed = r->type == REDIS_REPLY_ERROR;
        freeReplyObject(r);
        return failed ? -1 : ok;
    }
    r = ar_valkey_command(err, "SET %s %s NX PX %s", ar_queue_leader_key(), s->token, ttl);
    if (!r) return -1;
    int ok = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
    int failed = r->type == REDIS_REPLY_ERROR;
    if (failed) ar_error_set(err, AR_ERR_UNAVAILABLE, "valkey SET failed: %.160s", r->str);
    freeReplyObject(r);
    return failed ? -1 : ok;
}

static void release_lock(ar_scheduler *s)
{
    ar_error err = {0};
    redisReply *r = ar_valkey_command(&err, "EVAL %s 1 %s %s", release_script, ar_queue_leader_key(), s->token);
    if (r) freeReplyObject(r);
    ar_error_clear(&err);
}

static void set_leader(ar_scheduler *s, int leader)
{
    pthread_mutex_lock(&s->lock);
    int was = s->stats.is_leader;
    s->stats.is_leader = leader;
    if (leader && !was) s->stats.terms++;
    pthread_mutex_unlock(&s->lock);
    if (leader != was)
        ar_log_json(AR_LOG_INFO, leader ? "scheduler leadership acquired" : "scheduler leadership lost",
                    json_pack("{s:s}", "instance", s->token));
}

static void *scheduler_main(void *arg)
{
    ar_scheduler *s = arg;
    int leader = 0;
    time_t last_log = 0;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        pthread_mutex_unlock(&s->lock);
        ar_error err = {0};
        int held = acquire_or_renew(s, leader, &err);
        if (held < 0) {
            if (time(NULL) - last_log >= 10) {
                last_log = time(NULL);
                ar_log_json(AR_LOG_WARN, "scheduler: valkey unavailable; schedules wait",
                            json_pack("{s:s}", "error", err.message));
            }
            held = 0; /* without Valkey nobody can be sure to be the only leader */
        }
        ar_error_clear(&err);
        if (held != leader) set_leader(s, held);
        leader = held;
        if (leader) {
            int n = 0;
            if (ar_scheduler_run_due(time(NULL), &n, &err) != 0) {
                if (time(NULL) - last_log >= 10) {
                    last_log = time(NULL);
                    ar_log_json(AR_LOG_WARN, "scheduler: due schedules not run",
                                json_pack("{s:s}", "error", err.message));
                }
            }
            ar_error_clear(&err);
            pthread_mutex_lock(&s->lock);
            s->stats.enqueued += (unsigned long)n;
            pthread_mutex_unlock(&s->lock);
        }
        pthread_mutex_lock(&s->lock);
        if (s->stop) break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += s->tick_ms / 1000;
        until.tv_nsec += (s->tick_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->wake, &s->lock, &until);
    }
    pthread_mutex_unlock(&s->lock);
    if (leader) {
        release_lock(s);
        set_leader(s, 0);
    }
    ar_db_thread_close();
    ar_valkey_thread_close();
    return NULL;
}

ar_scheduler *ar_scheduler_start(ar_error *err)
{
    ar_error serr = {0};
    if (ar_scheduler_sync_builtin(&serr) != 0)
        ar_log_json(AR_LOG_WARN, "built-in schedules not synchronised (next start will)",
                    json_pack("{s:s}", "error", serr.message));
    ar_error_clear(&serr);
    ar_scheduler *s = ar_calloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    s->tick_ms = env_ms("AR_SCHEDULER_TICK_MS", 1000);
    s->lock_ms = env_ms("AR_SCHEDULER_LOCK_MS", 15000);
    if (s->lock_ms < 2 * s->tick_ms) s->lock_ms = 2 * s->tick_ms;
    static unsigned counter;
    unsigned n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    unsigned char rnd[6] = {0};
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(rnd, 1, sizeof rnd, f) != sizeof rnd) memset(rnd, 0, sizeof rnd);
    if (f) fclose(f);
    snprintf(s->token, sizeof s->token, "%.40s:%d:%u:%02x%02x%02x%02x%02x%02x", host, (int)getpid(), n, rnd[0],
             rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
    if (pthread_create(&s->thread, NULL, scheduler_main, s) != 0) {
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        free(s);
        ar_error_set(err, AR_ERR_INTERNAL, "cannot start the scheduler thread");
        return NULL;
    }
    ar_log_json(AR_LOG_INFO, "scheduler started",
                json_pack("{s:s,s:I,s:I,s:s}", "instance", s->token, "tick_ms", (json_int_t)s->tick_ms, "lock_ms",
                          (json_int_t)s->lock_ms, "lock_key", ar_queue_leader_key()));
    return s;
}

void ar_scheduler_stop(ar_scheduler *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void ar_scheduler_stats_get(ar_scheduler *s, ar_scheduler_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->lock);
}
