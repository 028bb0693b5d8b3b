/* test_jobs.c — integration tests of the job system against the test PostgreSQL and Valkey (a dedicated
 * Valkey database, 9, and a random key prefix per test): a job runs once and succeeds; a failing job is
 * retried on the same row with growing delays and fails at max attempts, then an admin retries it;
 * duplicate deliveries run a job once; an unacknowledged delivery is re-delivered after the visibility
 * timeout; a job whose worker died is re-queued and completes, while a long job that reports no progress is
 * kept alive by the pool's heartbeat; a result PostgreSQL cannot store fails the attempt; jobs survive Valkey losing everything or
 * being down at enqueue time (the reconciler); cancelling queued and running jobs; shutdown past the grace period re-queues; tenant and
 * role isolation of the services. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/error.h"
#include "afterresume/core/log.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/context.h"
#include "afterresume/domain/registry.h"
#include "afterresume/domain/tokens.h"
#include "afterresume/core/buf.h"
#include "afterresume/jobs/jobs.h"
#include "afterresume/jobs/metrics.h"
#include "afterresume/jobs/queue.h"
#include "afterresume/jobs/registry.h"
#include "afterresume/jobs/valkey.h"
#include "afterresume/jobs/worker.h"
#include "integration/daemon.h"
#include "integration/harness.h"

static char *db_url;
static PGconn *raw;
static long long tenant_a, tenant_b, alice, amy, bob, staff_user;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* VALKEY_URL with its database number replaced by 9 (the jobs tests flush it). */
static char *valkey_db9_url(void)
{
    const char *url = it_valkey_url();
    const char *scheme = strstr(url, "://");
    ck_assert_msg(scheme != NULL, "VALKEY_URL has no scheme");
    const char *slash = strchr(scheme + 3, '/');
    int len = slash ? (int)(slash - url) : (int)strlen(url);
    return ar_asprintf("%.*s/9", len, url);
}

/* A job type that runs for sleep_ms without reporting progress (housekeeping must heartbeat it). */
static int silent_sleep_handler(ar_job_ctx *jc, json_t *payload, json_t **result, ar_error *err)
{
    (void)jc;
    (void)err;
    sleep_ms((long)json_integer_value(json_object_get(payload, "sleep_ms")));
    *result = json_pack("{s:b}", "slept", 1);
    return 0;
}

/* A job type whose result PostgreSQL refuses to store (jsonb cannot hold U+0000). */
static int bad_result_handler(ar_job_ctx *jc, json_t *payload, json_t **result, ar_error *err)
{
    (void)jc;
    (void)payload;
    (void)err;
    *result = json_pack("{s:s#}", "text", "a\0b", (size_t)3);
    return 0;
}

static const ar_job_type test_types[] = {
    {"test_silent_sleep", silent_sleep_handler, 1, NULL},
    {"test_bad_result", bad_result_handler, 2, NULL},
};

static void setup(void)
{
    char *hex = it_random_hex(6);
    char *prefix = ar_asprintf("itjobs-%s", hex);
    setenv("AR_QUEUE_PREFIX", prefix, 1);
    ar_free(prefix);
    ar_free(hex);
    setenv("AR_JOB_RETRY_BASE_MS", "200", 1);
    setenv("AR_JOB_VISIBILITY_MS", "1000", 1);
    setenv("AR_JOB_STALE_MS", "1000", 1);
    setenv("AR_JOB_RECONCILE_MS", "300", 1);
    db_url = it_migrated_db();
    ar_domain_register_all();
    ar_jobs_register();
    ar_job_types_register(test_types, sizeof test_types / sizeof test_types[0]);
    char *vurl = valkey_db9_url();
    ar_error err = {0};
    ck_assert_msg(ar_valkey_configure(vurl, &err) == 0, "valkey configure: %s", err.message);
    ar_free(vurl);
    raw = it_pg_connect_to(db_url);
    tenant_a = it_query_long(raw, "INSERT INTO tenants (name) VALUES ('Tenant A') RETURNING id");
    tenant_b = it_query_long(raw, "INSERT INTO tenants (name) VALUES ('Tenant B') RETURNING id");
    alice = it_query_long(raw, "INSERT INTO users (username, email, password_hash) VALUES ('alice', "
                               "'alice@example.com', 'x') RETURNING id");
    amy = it_query_long(raw, "INSERT INTO users (username, email, password_hash) VALUES ('amy', 'amy@example.com', "
                             "'x') RETURNING id");
    bob = it_query_long(raw, "INSERT INTO users (username, email, password_hash) VALUES ('bob', 'bob@example.com', "
                             "'x') RETURNING id");
    staff_user = it_query_long(raw, "INSERT INTO users (username, email, password_hash, is_staff) VALUES ('root', "
                                    "'root@example.com', 'x', true) RETURNING id");
    it_exec(raw, "SET app.bypass_rls = 'on'"); /* raw checks read every tenant's jobs */
}

static void teardown(void)
{
    ar_jobs_set_limits(2, 100); /* the defaults, for the next test */
    ar_error err = {0};
    redisReply *r = ar_valkey_command(&err, "DEL %s %s", ar_queue_stream_key(), ar_queue_delayed_key());
    if (r) freeReplyObject(r);
    ar_error_clear(&err);
    ar_valkey_thread_close();
    ar_db_shutdown();
    /* DROP DATABASE ... WITH (FORCE) cannot end an autovacuum worker (it runs as another role), which
     * it_drop_db reports as a failure: drop it here first, retrying while such a worker is still in it. */
    char *name = it_query_value(raw, "SELECT current_database()");
    PQfinish(raw);
    raw = NULL;
    PGconn *admin = it_pg_connect();
    char *sql = ar_asprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    int dropped = 0;
    for (int i = 0; i < 100 && !dropped && strncmp(name, "it_", 3) == 0; i++) {
        PGresult *res = PQexec(admin, sql);
        dropped = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!dropped) sleep_ms(100);
    }
    ar_free(sql);
    ar_free(name);
    PQfinish(admin);
    if (!dropped) it_drop_db(db_url); /* reports the failure */
    ar_free(db_url);
    db_url = NULL;
}

static ar_ctx make_ctx(long long user, long long tenant, ar_role role, int staff)
{
    ar_ctx c = {0};
    c.user_id = user;
    c.tenant_id = tenant;
    c.role = role;
    c.is_staff = staff;
    snprintf(c.request_id, sizeof c.request_id, "req-%lld", user);
    return c;
}

static ar_ctx member_alice(void)
{
    return make_ctx(alice, tenant_a, AR_ROLE_MEMBER, 0);
}

static ar_ctx member_amy(void)
{
    return make_ctx(amy, tenant_a, AR_ROLE_MEMBER, 0);
}

static ar_ctx admin_a(void)
{
    return make_ctx(amy, tenant_a, AR_ROLE_ADMIN, 0);
}

static ar_ctx owner_b(void)
{
    return make_ctx(bob, tenant_b, AR_ROLE_OWNER, 0);
}

static long long enqueue(const ar_ctx *ctx, const char *payload_json, const char *key)
{
    json_t *payload = payload_json ? json_loads(payload_json, 0, NULL) : NULL;
    ck_assert_msg(!payload_json || payload, "bad test payload");
    long long id = 0;
    ar_error err = {0};
    int rc = ar_job_enqueue(ctx, "noop", payload, key, &id, &err);
    json_decref(payload);
    ck_assert_msg(rc == 0, "enqueue failed: %s", err.message);
    ck_assert_int_gt(id, 0);
    ar_error_clear(&err);
    return id;
}

static ar_worker_pool *start_pool(int threads)
{
    ar_error err = {0};
    ar_worker_pool *p = ar_worker_pool_start(threads, &err);
    ck_assert_msg(p != NULL, "pool start failed: %s", err.message);
    ar_error_clear(&err);
    return p;
}

static char *job_field(long long id, const char *column)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s::text FROM jobs WHERE id = %lld", column, id);
    return it_query_value(raw, sql);
}

/* Poll until the job has the status; fails the test after timeout_ms. */
static void wait_status(long long id, const char *status, long timeout_ms)
{
    char *last = NULL;
    for (long waited = 0;; waited += 20) {
        ar_free(last);
        last = job_field(id, "status");
        if (last && strcmp(last, status) == 0) break;
        if (waited >= timeout_ms) ck_abort_msg("job %lld is %s, not %s, after %ld ms", id, last, status, timeout_ms);
        sleep_ms(20);
    }
    ar_free(last);
}

static long count_sql(const char *fmt, long long id)
{
    char sql[512];
    snprintf(sql, sizeof sql, fmt, id);
    return it_query_long(raw, sql);
}

START_TEST(job_runs_once_and_succeeds)
{
    ar_ctx alice_ctx = member_alice();
    ar_worker_pool *p = start_pool(2);
    long long id = enqueue(&alice_ctx, "{\"hello\":\"world\"}", NULL);
    wait_status(id, "succeeded", 10000);
    ar_worker_pool_stop(p, 5);

    ar_error err = {0};
    json_t *job = ar_job_get(&alice_ctx, id, &err);
    ck_assert_msg(job != NULL, "get failed: %s", err.message);
    ck_assert_str_eq(json_string_value(json_object_get(job, "status")), "succeeded");
    ck_assert_int_eq(json_integer_value(json_object_get(job, "attempts")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(job, "progress")), 100);
    ck_assert(json_is_true(json_object_get(json_object_get(job, "result"), "ok")));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(job, "result"), "attempt")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(job, "payload"), "hello")), "world");
    ck_assert_int_eq(json_integer_value(json_object_get(job, "user_id")), alice);
    ck_assert(json_is_string(json_object_get(job, "finished_at")));
    json_decref(job);

    json_t *events = ar_job_events(&alice_ctx, id, &err);
    ck_assert_msg(events != NULL, "events failed: %s", err.message);
    ck_assert_int_eq(json_array_size(events), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(events, 0), "message")), "queued");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(events, 1), "message")), "started");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(events, 2), "message")), "succeeded");
    json_decref(events);

    /* Idempotency key: the same job comes back; another key or type makes a new one. */
    long long k1 = enqueue(&alice_ctx, NULL, "report-2026-11");
    long long k2 = enqueue(&alice_ctx, "{\"other\":1}", "report-2026-11");
    long long k3 = enqueue(&alice_ctx, NULL, "report-2026-12");
    ck_assert_int_eq(k1, k2);
    ck_assert_int_ne(k1, k3);
    ck_assert_int_eq(count_sql("SELECT count(*) FROM jobs WHERE idempotency_key = 'report-2026-11' AND %lld > 0",
                               1),
                     1);

    /* Validation: unknown type, non-object payload, no tenant. */
    long long bad = 0;
    ck_assert_int_eq(ar_job_enqueue(&alice_ctx, "no_such_type", NULL, NULL, &bad, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ck_assert_ptr_nonnull(json_object_get(err.fields, "type"));
    ar_error_clear(&err);
    json_t *arr = json_array();
    ck_assert_int_eq(ar_job_enqueue(&alice_ctx, "noop", arr, NULL, &bad, &err), -1);
    json_decref(arr);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ck_assert_ptr_nonnull(json_object_get(err.fields, "payload"));
    ar_error_clear(&err);
    ar_ctx no_tenant = make_ctx(alice, 0, AR_ROLE_NONE, 0);
    ck_assert_int_eq(ar_job_enqueue(&no_tenant, "noop", NULL, NULL, &bad, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_UNAUTHORIZED);
    ar_error_clear(&err);
}
END_TEST

START_TEST(failing_job_retries_same_row_with_backoff_then_fails)
{
    ar_ctx alice_ctx = member_alice();
    ar_worker_pool *p = start_pool(2);
    long long id = enqueue(&alice_ctx, "{\"fail_times\":10}", NULL);
    wait_status(id, "failed", 15000);

    ck_assert_int_eq(count_sql("SELECT count(*) FROM jobs WHERE %lld > 0", 1), 1); /* one row, no copies */
    char *attempts = job_field(id, "attempts");
    ck_assert_str_eq(attempts, "3");
    ar_free(attempts);
    char *last_error = job_field(id, "last_error");
    ck_assert_ptr_nonnull(strstr(last_error, "planned failure 3"));
    ar_free(last_error);

    /* Timeline: queued, then per attempt started + (retry | failed). */
    ar_error err = {0};
    json_t *events = ar_job_events(&alice_ctx, id, &err);
    ck_assert_msg(events != NULL, "events failed: %s", err.message);
    const char *expected[] = {"queued",  "started", "attempt failed; retry scheduled",
                              "started", "attempt failed; retry scheduled",
                              "started", "failed"};
    ck_assert_int_eq(json_array_size(events), 7);
    for (size_t i = 0; i < 7; i++)
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(events, i), "message")), expected[i]);
    json_t *retry1 = json_object_get(json_array_get(events, 2), "data");
    json_t *retry2 = json_object_get(json_array_get(events, 4), "data");
    ck_assert_int_eq(json_integer_value(json_object_get(retry1, "delay_ms")), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(retry2, "delay_ms")), 400);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(events, 6), "level")), "error");
    json_decref(events);

    /* The real gaps between a failure and the next start respect the growing delays. */
    long gap1 = count_sql("SELECT (extract(epoch FROM (SELECT created_at FROM job_events WHERE job_id = %1$lld "
                          "AND message = 'started' ORDER BY id OFFSET 1 LIMIT 1) - (SELECT created_at FROM "
                          "job_events WHERE job_id = %1$lld AND message LIKE 'attempt failed%%' ORDER BY id LIMIT 1)) "
                          "* 1000)::bigint",
                          id);
    long gap2 = count_sql("SELECT (extract(epoch FROM (SELECT created_at FROM job_events WHERE job_id = %1$lld "
                          "AND message = 'started' ORDER BY id OFFSET 2 LIMIT 1) - (SELECT created_at FROM "
                          "job_events WHERE job_id = %1$lld AND message LIKE 'attempt failed%%' ORDER BY id OFFSET 1 "
                          "LIMIT 1)) * 1000)::bigint",
                          id);
    ck_assert_msg(gap1 >= 200 && gap2 >= 400, "retry gaps %ld ms then %ld ms", gap1, gap2);

    /* Retry: not for a plain member; an admin puts the same row back to the queue with attempts reset. */
    ar_ctx amy_ctx = member_amy();
    ck_assert_int_eq(ar_job_retry(&alice_ctx, id, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_job_retry(&amy_ctx, id, &err), -1); /* not hers: cannot even see it */
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    ar_ctx admin = admin_a();
    ck_assert_msg(ar_job_retry(&admin, id, &err) == 0, "retry failed: %s", err.message);
    ck_assert_int_ne(ar_job_retry(&admin, id, &err), 0); /* no longer failed */
    ar_error_clear(&err);
    wait_status(id, "failed", 15000);
    ar_worker_pool_stop(p, 5);
    ck_assert_int_eq(count_sql("SELECT count(*) FROM job_events WHERE job_id = %lld AND message = 'started'", id), 6);
    ck_assert_int_eq(count_sql("SELECT count(*) FROM job_events WHERE job_id = %lld AND message = 'retry requested'",
                               id),
                     1);
    char *attempts2 = job_field(id, "attempts");
    ck_assert_str_eq(attempts2, "3");
    ar_free(attempts2);
}
END_TEST

START_TEST(duplicate_delivery_runs_once)
{
    ar_ctx alice_ctx = member_alice();
    long long id = enqueue(&alice_ctx, NULL, NULL); /* pool not running yet: the wake-up waits in the stream */
    ar_error err = {0};
    ck_assert_int_eq(ar_queue_push(id, &err), 0);
    ck_assert_int_eq(ar_queue_push(id, &err), 0);
    long long stream_len = 0, delayed = 0;
    ck_assert_int_eq(ar_queue_depth(&stream_len, &delayed, &err), 0);
    ck_assert_int_eq(stream_len, 3);
    ar_worker_pool *p = start_pool(2);
    wait_status(id, "succeeded", 10000);
    for (int i = 0; i < 200; i++) { /* every delivery acknowledged and deleted */
        ck_assert_int_eq(ar_queue_depth(&stream_len, &delayed, &err), 0);
        if (stream_len == 0) break;
        sleep_ms(20);
    }
    ck_assert_int_eq(stream_len, 0);
    ar_worker_stats st;
    ar_worker_pool_stats(p, &st);
    ar_worker_pool_stop(p, 5);
    ck_assert_uint_eq(st.claimed, 1);
    ck_assert_uint_ge(st.duplicates, 2);
    ck_assert_int_eq(count_sql("SELECT count(*) FROM job_events WHERE job_id = %lld AND message = 'started'", id), 1);
    char *attempts = job_field(id, "attempts");
    ck_assert_str_eq(attempts, "1");
    ar_free(attempts);
}
END_TEST

START_TEST(unacknowledged_delivery_is_redelivered)
{
    ar_ctx alice_ctx = member_alice();
    long long id = enqueue(&alice_ctx, NULL, NULL);
    ar_error err = {0};
    ck_assert_int_eq(ar_queue_ensure_group(&err), 0);
    ar_queue_msg msg;
    /* A consumer that reads the entry and dies without acknowledging it. */
    ck_assert_int_eq(ar_queue_read("ghost-consumer", 100, &msg, 1, &err), 1);
    ck_assert_int_eq(msg.job_id, id);
    ar_worker_pool *p = start_pool(1);
    wait_status(id, "succeeded", 10000); /* after the 1 s visibility timeout */
    ar_worker_pool_stop(p, 5);
    char *attempts = job_field(id, "attempts");
    ck_assert_str_eq(attempts, "1");
    ar_free(attempts);
}
END_TEST

START_TEST(job_of_dead_worker_is_requeued_and_completes)
{
    ar_ctx alice_ctx = member_alice();
    long long id = enqueue(&alice_ctx, NULL, NULL);
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET status = 'running', attempts = 1, worker_id = 'dead-host:1:1:w0', started_at = now() - "
             "interval '1 hour', heartbeat_at = now() - interval '1 hour' WHERE id = %lld",
             id);
    it_exec(raw, sql);
    ar_worker_pool *p = start_pool(2);
    wait_status(id, "succeeded", 10000);
    ar_worker_stats st;
    ar_worker_pool_stats(p, &st);
    ar_worker_pool_stop(p, 5);
    ck_assert_uint_ge(st.requeued, 1);
    char *attempts = job_field(id, "attempts");
    ck_assert_str_eq(attempts, "2");
    ar_free(attempts);
    ck_assert_int_eq(
        count_sql("SELECT count(*) FROM job_events WHERE job_id = %lld AND message = 'worker lost; re-queued'", id),
        1);
    char *worker = job_field(id, "worker_id");
    ck_assert_msg(strncmp(worker, "dead-host", 9) != 0, "completed by %s", worker);
    ar_free(worker);
}
END_TEST

static long long enqueue_type(const ar_ctx *ctx, const char *type, const char *payload_json)
{
    json_t *payload = json_loads(payload_json, 0, NULL);
    long long id = 0;
    ar_error err = {0};
    int rc = ar_job_enqueue(ctx, type, payload, NULL, &id, &err);
    json_decref(payload);
    ck_assert_msg(rc == 0, "enqueue failed: %s", err.message);
    return id;
}

START_TEST(long_silent_job_is_kept_alive_by_housekeeping)
{
    /* 2.5 s without a progress report, stale timeout 1 s: the pool's heartbeat keeps it its own. */
    ar_ctx alice_ctx = member_alice();
    ar_worker_pool *p = start_pool(1);
    long long id = enqueue_type(&alice_ctx, "test_silent_sleep", "{\"sleep_ms\":2500}");
    wait_status(id, "succeeded", 15000);
    ar_worker_stats st;
    ar_worker_pool_stats(p, &st);
    ar_worker_pool_stop(p, 5);
    ck_assert_uint_eq(st.requeued, 0);
    ck_assert_int_eq(count_sql("SELECT count(*) FROM job_events WHERE job_id = %lld AND message LIKE 'worker lost%%'",
                               id),
                     0);
    char *attempts = job_field(id, "attempts");
    ck_assert_str_eq(attempts, "1");
    ar_free(attempts);
}
END_TEST

START_TEST(unstorable_result_fails_the_attempt)
{
    ar_ctx alice_ctx = member_alice();
    ar_worker_pool *p = start_pool(1);
    long long id = enqueue_type(&alice_ctx, "test_bad_result", "{}");
    wait_status(id, "failed", 15000);
    ar_worker_pool_stop(p, 5);
    char *attempts = job_field(id, "attempts");
    ck_assert_str_eq(attempts, "2"); /* the type's max attempts */
    ar_free(attempts);
    char *last_error = job_field(id, "last_error");
    ck_assert_str_eq(last_error, "the job's result could not be stored");
    ar_free(last_error);
}
END_TEST

START_TEST(jobs_survive_valkey_losing_everything)
{
    ar_ctx alice_ctx = member_alice();
    for (int i = 0; i < 100; i++) enqueue(&alice_ctx, NULL, NULL);
    ar_error err = {0};
    redisReply *r = ar_valkey_command(&err, "FLUSHDB");
    ck_assert_msg(r && r->type == REDIS_REPLY_STATUS, "FLUSHDB failed: %s", err.message);
    freeReplyObject(r);
    long long stream_len = -1, delayed = -1;
    ck_assert_int_eq(ar_queue_depth(&stream_len, &delayed, &err), 0);
    ck_assert_int_eq(stream_len, 0);
    ar_worker_pool *p = start_pool(2);
    long done = 0;
    for (int i = 0; i < 1500; i++) {
        done = it_query_long(raw, "SELECT count(*) FROM jobs WHERE status = 'succeeded'");
        if (done == 100) break;
        sleep_ms(20);
    }
    ar_worker_stats st;
    ar_worker_pool_stats(p, &st);
    ar_worker_pool_stop(p, 5);
    ck_assert_int_eq(done, 100);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM jobs WHERE attempts <> 1"), 0);
    ck_assert_uint_ge(st.reconciled, 100);
    ck_assert_uint_eq(st.claimed, 100);
}
END_TEST

START_TEST(enqueue_while_valkey_is_down_is_delivered_later)
{
    ar_error err = {0};
    /* Nothing listens on port 1: the wake-up cannot be sent, the row is committed all the same. */
    ck_assert_int_eq(ar_valkey_configure("redis://127.0.0.1:1/9", &err), 0);
    ar_ctx alice_ctx = member_alice();
    long long id = enqueue(&alice_ctx, NULL, NULL);
    char *status = job_field(id, "status");
    ck_assert_str_eq(status, "queued");
    ar_free(status);
    ar_valkey_thread_close();
    char *vurl = valkey_db9_url();
    ck_assert_int_eq(ar_valkey_configure(vurl, &err), 0);
    ar_free(vurl);
    long long stream_len = -1, delayed = -1;
    ck_assert_int_eq(ar_queue_depth(&stream_len, &delayed, &err), 0);
    ck_assert_int_eq(stream_len, 0);
    ar_worker_pool *p = start_pool(1);
    wait_status(id, "succeeded", 10000); /* the reconciler re-adds it */
    ar_worker_stats st;
    ar_worker_pool_stats(p, &st);
    ar_worker_pool_stop(p, 5);
    ck_assert_uint_ge(st.reconciled, 1);
}
END_TEST

START_TEST(cancel_queued_and_running_jobs)
{
    ar_ctx alice_ctx = member_alice();
    ar_error err = {0};
    /* Queued (no pool): cancelled at once. */
    long long queued = enqueue(&alice_ctx, NULL, NULL);
    ck_assert_msg(ar_job_cancel(&alice_ctx, queued, &err) == 0, "cancel failed: %s", err.message);
    wait_status(queued, "cancelled", 0);
    ck_assert_int_eq(ar_job_cancel(&alice_ctx, queued, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_CONFLICT);
    ar_error_clear(&err);
    /* Another member cannot cancel alice's job (cannot see it); a read-only member may not act. */
    long long other = enqueue(&alice_ctx, "{\"sleep_ms\":5000}", NULL);
    ar_ctx amy_ctx = member_amy();
    ck_assert_int_eq(ar_job_cancel(&amy_ctx, other, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    ar_ctx alice_ro = make_ctx(alice, tenant_a, AR_ROLE_READ_ONLY, 0);
    ck_assert_int_eq(ar_job_cancel(&alice_ro, other, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ar_error_clear(&err);

    /* Running: cancel_requested, the handler notices through its progress report and stops. */
    ar_worker_pool *p = start_pool(2);
    wait_status(other, "running", 10000);
    ar_ctx admin = admin_a();
    ck_assert_msg(ar_job_cancel(&admin, other, &err) == 0, "cancel failed: %s", err.message);
    char *requested = job_field(other, "cancel_requested");
    ck_assert_str_eq(requested, "true");
    ar_free(requested);
    wait_status(other, "cancelled", 3000);
    ar_worker_stats st;
    ar_worker_pool_stats(p, &st);
    ar_worker_pool_stop(p, 5);
    ck_assert_uint_eq(st.cancelled, 1);
    ck_assert_int_eq(count_sql("SELECT count(*) FROM job_events WHERE job_id = %lld AND message IN "
                               "('cancel requested', 'cancelled')",
                               other),
                     2);
    char *progress = job_field(other, "progress");
    ck_assert_int_lt(atoi(progress), 100);
    ar_free(progress);
    char *attempts = job_field(other, "attempts");
    ck_assert_str_eq(attempts, "1"); /* not retried */
    ar_free(attempts);
}
END_TEST

START_TEST(shutdown_past_grace_requeues_running_job)
{
    ar_ctx alice_ctx = member_alice();
    long long id = enqueue(&alice_ctx, "{\"sleep_ms\":5000}", NULL);
    ar_worker_pool *p = start_pool(1);
    wait_status(id, "running", 10000);
    ar_worker_pool_stop(p, 0);
    wait_status(id, "queued", 0);
    char *attempts = job_field(id, "attempts");
    ck_assert_str_eq(attempts, "0");
    ar_free(attempts);
    ck_assert_int_eq(count_sql("SELECT count(*) FROM job_events WHERE job_id = %lld AND message = "
                               "'interrupted by shutdown; re-queued'",
                               id),
                     1);
}
END_TEST

START_TEST(tenant_and_role_isolation)
{
    ar_ctx alice_ctx = member_alice();
    long long id = enqueue(&alice_ctx, NULL, NULL);
    ar_ctx bob_ctx = owner_b();
    ar_error err = {0};
    ck_assert_ptr_null(ar_job_get(&bob_ctx, id, &err));
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    ck_assert_ptr_null(ar_job_events(&bob_ctx, id, &err));
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_job_cancel(&bob_ctx, id, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_job_retry(&bob_ctx, id, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    json_t *list = ar_job_list(&bob_ctx, NULL, 0, 0, &err);
    ck_assert_ptr_nonnull(list);
    ck_assert_int_eq(json_array_size(list), 0);
    json_decref(list);

    /* Row-level security, below the service: tenant B's settings see no row of tenant A. */
    char sql[256];
    it_exec(raw, "BEGIN");
    snprintf(sql, sizeof sql, "SELECT set_config('app.tenant_id', '%lld', true), set_config('app.bypass_rls', 'off', true)", tenant_b);
    it_exec(raw, sql);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM jobs"), 0);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM job_events"), 0);
    it_exec(raw, "COMMIT");

    /* Within tenant A: another member sees nothing, an admin sees it, staff see it. */
    ar_ctx amy_ctx = member_amy();
    ck_assert_ptr_null(ar_job_get(&amy_ctx, id, &err));
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    list = ar_job_list(&amy_ctx, "", 10, 0, &err);
    ck_assert_int_eq(json_array_size(list), 0);
    json_decref(list);
    ar_ctx admin = admin_a();
    json_t *job = ar_job_get(&admin, id, &err);
    ck_assert_ptr_nonnull(job);
    json_decref(job);
    list = ar_job_list(&admin, "queued", 10, 0, &err);
    ck_assert_int_eq(json_array_size(list), 1);
    json_decref(list);
    ar_ctx staff = make_ctx(staff_user, 0, AR_ROLE_NONE, 1);
    job = ar_job_get(&staff, id, &err);
    ck_assert_ptr_nonnull(job);
    ck_assert_int_eq(json_integer_value(json_object_get(job, "tenant_id")), tenant_a);
    json_decref(job);
    json_t *counts = ar_job_status_counts(&staff, &err);
    ck_assert_ptr_nonnull(counts);
    ck_assert_int_eq(json_integer_value(json_object_get(counts, "queued")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(counts, "failed")), 0);
    json_decref(counts);
    counts = ar_job_status_counts(&bob_ctx, &err);
    ck_assert_int_eq(json_integer_value(json_object_get(counts, "queued")), 0);
    json_decref(counts);
    counts = ar_job_status_counts(&amy_ctx, &err);
    ck_assert_int_eq(json_integer_value(json_object_get(counts, "queued")), 0);
    json_decref(counts);
    counts = ar_job_status_counts(&alice_ctx, &err);
    ck_assert_int_eq(json_integer_value(json_object_get(counts, "queued")), 1);
    json_decref(counts);
    list = ar_job_list(&alice_ctx, "bogus", 10, 0, &err);
    ck_assert_ptr_null(list);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);
}
END_TEST

/* ---- per-tenant limits ---- */

static int enqueue_user(const ar_ctx *ctx, const char *key, long long *id, ar_job_enqueue_opts *opts, ar_error *err)
{
    memset(opts, 0, sizeof *opts);
    opts->user_initiated = 1;
    opts->idempotency_key = key;
    return ar_job_enqueue_ex(ctx, "noop", NULL, opts, id, err);
}

START_TEST(quota_and_active_limit_answer_429)
{
    ar_jobs_set_limits(2, 5);
    ar_ctx alice_ctx = member_alice();
    ar_job_enqueue_opts o;
    ar_error err = {0};
    long long id1 = 0, id2 = 0, id3 = 0;
    ck_assert_int_eq(enqueue_user(&alice_ctx, "k1", &id1, &o, &err), 0);
    ck_assert_int_eq(enqueue_user(&alice_ctx, NULL, &id2, &o, &err), 0);
    /* two queued: a third user-started job is refused with a clear 429 */
    ck_assert_int_eq(enqueue_user(&alice_ctx, NULL, &id3, &o, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_QUOTA_EXCEEDED);
    ck_assert_int_eq(ar_err_http_status(err.code), 429);
    ck_assert_str_eq(ar_err_code_string(err.code), "quota_exceeded");
    ck_assert_msg(strstr(err.message, "2 jobs queued or running") != NULL, "%s", err.message);
    ck_assert_int_eq(o.retry_after_s, 10);
    ck_assert_int_eq(id3, 0);
    json_t *body = ar_error_to_json(&err);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(body, "error"), "code")), "quota_exceeded");
    json_decref(body);
    ar_error_clear(&err);
    /* an existing idempotency key answers with its job; system work is exempt; another tenant is not affected */
    long long again = 0;
    ck_assert_int_eq(enqueue_user(&alice_ctx, "k1", &again, &o, &err), 0);
    ck_assert_int_eq(again, id1);
    long long sys = enqueue(&alice_ctx, NULL, NULL);
    ck_assert_int_gt(sys, 0);
    ar_ctx bob_ctx = owner_b();
    long long b1 = 0;
    ck_assert_int_eq(enqueue_user(&bob_ctx, NULL, &b1, &o, &err), 0);
    ck_assert_int_eq(count_sql("SELECT count(*) FROM jobs WHERE user_initiated AND tenant_id = %lld", tenant_a), 2);

    /* once they ran, the active limit frees up; the daily quota (5) still counts them */
    ar_worker_pool *p = start_pool(2);
    wait_status(id1, "succeeded", 10000);
    wait_status(id2, "succeeded", 10000);
    wait_status(sys, "succeeded", 10000);
    ar_worker_pool_stop(p, 5);
    long long more[3];
    for (int i = 0; i < 3; i++) ck_assert_int_eq(enqueue_user(&alice_ctx, NULL, &more[i], &o, &err), (i < 2 ? 0 : -1));
    ck_assert_int_eq(err.code, AR_ERR_QUOTA_EXCEEDED); /* two queued again */
    ck_assert_msg(strstr(err.message, "queued or running") != NULL, "%s", err.message);
    ar_error_clear(&err);
    it_exec(raw, "UPDATE jobs SET status = 'succeeded', finished_at = now() WHERE status = 'queued'");
    ck_assert_int_eq(enqueue_user(&alice_ctx, NULL, &id3, &o, &err), 0); /* the 5th of today */
    it_exec(raw, "UPDATE jobs SET status = 'succeeded', finished_at = now() WHERE status = 'queued'");
    ck_assert_int_eq(enqueue_user(&alice_ctx, NULL, &id3, &o, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_QUOTA_EXCEEDED);
    ck_assert_msg(strstr(err.message, "5 jobs for today") != NULL, "%s", err.message);
    ck_assert_int_gt(o.retry_after_s, 0);
    ck_assert_int_le(o.retry_after_s, 86400);
    ar_error_clear(&err);
    /* yesterday's jobs do not count */
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE jobs SET created_at = now() - interval '1 day' WHERE tenant_id = %lld",
             tenant_a);
    it_exec(raw, sql);
    ck_assert_int_eq(enqueue_user(&alice_ctx, NULL, &id3, &o, &err), 0);
    /* 0 = no limit */
    ar_jobs_set_limits(0, 0);
    for (int i = 0; i < 6; i++) ck_assert_int_eq(enqueue_user(&alice_ctx, NULL, &id3, &o, &err), 0);
}
END_TEST

START_TEST(tenant_concurrency_never_exceeded)
{
    ar_jobs_set_limits(2, 0);
    ar_ctx alice_ctx = member_alice(), bob_ctx = owner_b();
    long long ids[10];
    for (int i = 0; i < 8; i++) ids[i] = enqueue(&alice_ctx, "{\"sleep_ms\":250}", NULL);
    for (int i = 8; i < 10; i++) ids[i] = enqueue(&bob_ctx, "{\"sleep_ms\":250}", NULL);
    ar_worker_pool *p = start_pool(6);
    long max_a = 0, max_total = 0;
    for (int waited = 0; waited < 20000; waited += 10) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE status = 'running' AND tenant_id = %lld",
                 tenant_a);
        long a = it_query_long(raw, sql);
        long total = it_query_long(raw, "SELECT count(*) FROM jobs WHERE status = 'running'");
        if (a > max_a) max_a = a;
        if (total > max_total) max_total = total;
        ck_assert_msg(a <= 2, "tenant A runs %ld jobs at once", a);
        if (it_query_long(raw, "SELECT count(*) FROM jobs WHERE status <> 'succeeded'") == 0) break;
        sleep_ms(10);
    }
    ar_worker_stats st;
    ar_worker_pool_stats(p, &st);
    ar_worker_pool_stop(p, 5);
    for (int i = 0; i < 10; i++) wait_status(ids[i], "succeeded", 100);
    ck_assert_int_eq(max_a, 2);     /* the limit was reached, and held */
    ck_assert_int_gt(max_total, 2); /* tenant B ran beside it */
    ck_assert_int_gt(st.limited, 0);
    ck_assert_int_eq(st.claimed, 10);
    ck_assert_int_eq(count_sql("SELECT count(*) FROM jobs WHERE attempts <> 1 AND %lld > 0", 1), 0);
}
END_TEST

/* ---- admin listing, events, system jobs ---- */

START_TEST(admin_listing_and_system_jobs)
{
    ar_ctx alice_ctx = member_alice(), bob_ctx = owner_b();
    long long a1 = enqueue(&alice_ctx, NULL, NULL);
    long long b1 = enqueue(&bob_ctx, NULL, NULL);
    long long s1 = 0;
    ar_error err = {0};
    ck_assert_int_eq(ar_job_enqueue_system("noop", NULL, "sys-1", &s1, &err), 0);
    long long s2 = 0;
    ck_assert_int_eq(ar_job_enqueue_system("noop", NULL, "sys-1", &s2, &err), 0);
    ck_assert_int_eq(s1, s2); /* idempotent per type and key */
    ck_assert_int_eq(count_sql("SELECT count(*) FROM jobs WHERE tenant_id IS NULL AND id = %lld", s1), 1);

    ar_ctx staff = make_ctx(staff_user, 0, AR_ROLE_NONE, 1);
    json_t *list = ar_job_admin_list(&staff, NULL, NULL, 0, 0, &err);
    ck_assert_ptr_nonnull(list);
    ck_assert_int_eq(json_array_size(list), 3);
    ck_assert(json_is_null(json_object_get(json_array_get(list, 0), "tenant_id")));
    json_decref(list);
    list = ar_job_admin_list(&staff, "queued", "noop", 2, 0, &err);
    ck_assert_int_eq(json_array_size(list), 2);
    long long last = json_integer_value(json_object_get(json_array_get(list, 1), "id"));
    json_decref(list);
    list = ar_job_admin_list(&staff, "queued", "noop", 2, last, &err);
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 0), "id")), a1);
    json_decref(list);
    list = ar_job_admin_list(&staff, "failed", NULL, 0, 0, &err);
    ck_assert_int_eq(json_array_size(list), 0);
    json_decref(list);
    /* a tenant admin sees the tenant's jobs only, a member may not list */
    ar_ctx admin = admin_a();
    list = ar_job_admin_list(&admin, NULL, NULL, 0, 0, &err);
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 0), "id")), a1);
    json_decref(list);
    ck_assert_ptr_null(ar_job_admin_list(&alice_ctx, NULL, NULL, 0, 0, &err));
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ar_error_clear(&err);
    ck_assert_ptr_null(ar_job_admin_list(&staff, NULL, "Bad Type!", 0, 0, &err));
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ck_assert_ptr_nonnull(json_object_get(err.fields, "type"));
    ar_error_clear(&err);
    ck_assert_ptr_null(ar_job_admin_list(&staff, "done", NULL, 0, 0, &err));
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);
    /* system jobs are not a tenant's: not visible to tenant B's owner nor to tenant A's admin */
    ck_assert_ptr_null(ar_job_get(&bob_ctx, s1, &err));
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    ck_assert_ptr_null(ar_job_events(&admin, s1, &err));
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    json_t *events = ar_job_events(&staff, s1, &err);
    ck_assert_int_eq(json_array_size(events), 1);
    json_decref(events);
    ck_assert_ptr_null(ar_job_events(&bob_ctx, a1, &err)); /* B cannot read A's timeline */
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    (void)b1;

    /* they run like any job; metrics count them per type */
    ar_worker_pool *p = start_pool(2);
    wait_status(s1, "succeeded", 10000);
    wait_status(a1, "succeeded", 10000);
    ar_worker_pool_stop(p, 5);
    ar_buf m = AR_BUF_INIT;
    ar_job_metrics_render(&m);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&m), "# TYPE job_duration_seconds histogram"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&m), "job_duration_seconds_bucket{type=\"noop\",le=\"+Inf\"} "));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&m), "job_retries_total{type=\"noop\"} "));
    ar_buf_free(&m);
    json_t *counts = ar_job_counts_by_type(&err);
    ck_assert_ptr_nonnull(counts);
    int found = 0;
    size_t i;
    json_t *row;
    json_array_foreach(counts, i, row) found |= strcmp(json_string_value(json_object_get(row, "type")), "noop") == 0;
    ck_assert(found);
    json_decref(counts);
}
END_TEST

/* ---- cleanup jobs ---- */

static long long run_system_job(const char *type, const char *payload_json)
{
    json_t *payload = payload_json ? json_loads(payload_json, 0, NULL) : NULL;
    long long id = 0;
    ar_error err = {0};
    ck_assert_msg(ar_job_enqueue_system(type, payload, NULL, &id, &err) == 0, "%s", err.message);
    json_decref(payload);
    ar_worker_pool *p = start_pool(1);
    wait_status(id, "succeeded", 15000);
    ar_worker_pool_stop(p, 5);
    return id;
}

START_TEST(cleanup_jobs_delete_what_they_should_and_nothing_else)
{
    char sql[2048];
    snprintf(sql, sizeof sql,
             "INSERT INTO sessions (token_hash, user_id, tenant_id, csrf_token, idle_seconds, expires_at, last_seen_at, "
             "ended_at, ip) VALUES "
             "(gen_random_bytes(32), %lld, %lld, 'c', 1800, now() + interval '1 day', now(), NULL, 'live'), "
             "(gen_random_bytes(32), %lld, %lld, 'c', 1800, now() - interval '2 days', now() - interval '3 days', "
             "NULL, 'expired'), "
             "(gen_random_bytes(32), %lld, %lld, 'c', 1800, now() + interval '9 days', now() - interval '3 days', "
             "NULL, 'idle'), "
             "(gen_random_bytes(32), %lld, %lld, 'c', 1800, now() + interval '9 days', now(), "
             "now() - interval '2 days', 'ended'), "
             "(gen_random_bytes(32), %lld, %lld, 'c', 1800, now() - interval '1 hour', now() - interval '1 hour', "
             "NULL, 'just-expired')",
             alice, tenant_a, alice, tenant_a, alice, tenant_a, alice, tenant_a, alice, tenant_a);
    it_exec(raw, sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO password_resets (token_hash, user_id, expires_at, used_at) VALUES "
             "(gen_random_bytes(32), %lld, now() + interval '20 minutes', NULL), "
             "(gen_random_bytes(32), %lld, now() - interval '2 days', NULL), "
             "(gen_random_bytes(32), %lld, now() + interval '20 minutes', now() - interval '2 days')",
             alice, alice, alice);
    it_exec(raw, sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO invite_passkeys (key_hash, tenant_id, expires_at, revoked_at, note) VALUES "
             "(gen_random_bytes(32), %lld, now() + interval '1 day', NULL, 'live'), "
             "(gen_random_bytes(32), %lld, now() - interval '2 days', NULL, 'expired'), "
             "(gen_random_bytes(32), %lld, NULL, now() - interval '2 days', 'revoked'), "
             "(gen_random_bytes(32), %lld, now() - interval '2 days', NULL, 'expired-audited')",
             tenant_a, tenant_a, tenant_a, tenant_a);
    it_exec(raw, sql);
    it_exec(raw, "INSERT INTO audit_events (action, passkey_id) SELECT 'passkey.minted', id FROM invite_passkeys "
                 "WHERE note = 'expired-audited'");
    long long run = run_system_job("cleanup.sessions", NULL);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM sessions"), 2);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM sessions WHERE ip IN ('live', 'just-expired')"), 2);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM password_resets"), 1);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM password_resets WHERE used_at IS NULL "
                                        "AND expires_at > now()"),
                     1);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM invite_passkeys"), 2);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM invite_passkeys WHERE note IN ('live', "
                                        "'expired-audited')"),
                     2);
    char *result = job_field(run, "result");
    ck_assert_str_eq(result, "{\"passkeys\": 2, \"sessions\": 3, \"password_resets\": 2}");
    ar_free(result);

    /* finished jobs older than 30 days go (with their timelines); recent ones and unfinished ones stay */
    ar_ctx alice_ctx = member_alice();
    long long old_done = enqueue(&alice_ctx, NULL, NULL), old_failed = enqueue(&alice_ctx, NULL, NULL);
    long long recent_done = enqueue(&alice_ctx, NULL, NULL), old_queued = enqueue(&alice_ctx, NULL, NULL);
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET status = CASE id WHEN %lld THEN 'failed' ELSE 'succeeded' END, "
             "finished_at = now() - interval '31 days', created_at = now() - interval '31 days' "
             "WHERE id IN (%lld, %lld); "
             "UPDATE jobs SET status = 'succeeded', finished_at = now() - interval '29 days' WHERE id = %lld; "
             "UPDATE jobs SET created_at = now() - interval '40 days', next_run_at = now() + interval '1 day' "
             "WHERE id = %lld",
             old_failed, old_done, old_failed, recent_done, old_queued);
    it_exec(raw, sql);
    long long cj = run_system_job("cleanup.jobs", NULL);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE id IN (%lld, %lld)", old_done, old_failed);
    ck_assert_int_eq(it_query_long(raw, sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM job_events WHERE job_id IN (%lld, %lld)", old_done, old_failed);
    ck_assert_int_eq(it_query_long(raw, sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE id IN (%lld, %lld, %lld, %lld)", recent_done,
             old_queued, run, cj);
    ck_assert_int_eq(it_query_long(raw, sql), 4);
    result = job_field(cj, "result");
    ck_assert_str_eq(result, "{\"jobs\": 2}");
    ar_free(result);
    /* a shorter retention from the payload; a bad one fails the job (validation) */
    long long shorter = run_system_job("cleanup.jobs", "{\"older_than_days\":28}");
    ck_assert_int_eq(count_sql("SELECT count(*) FROM jobs WHERE id = %lld", recent_done), 0);
    (void)shorter;
}
END_TEST

/* ---- the JSON API over HTTP (the real daemon on this test's database) ---- */

static it_daemon api_daemon;

static long api_call(const char *token, const char *method, const char *path, json_t **out)
{
    char url[512], auth[160];
    snprintf(url, sizeof url, "%s%s", api_daemon.base_url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *headers[] = {auth, NULL};
    it_response r;
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(it_http(method, url, headers, NULL, 0, &r), 0);
    if (out) {
        *out = json_loads(ar_buf_cstr(&r.body), 0, NULL);
        ck_assert_msg(*out != NULL, "%s %s: not JSON: %s", method, path, ar_buf_cstr(&r.body));
    }
    long status = r.status;
    it_response_free(&r);
    return status;
}

static void mint_token(long long user, long long tenant, ar_role role, int staff, char out[AR_SECRET_TEXT_SIZE])
{
    ar_ctx c = make_ctx(user, tenant, role, staff);
    ar_error err = {0};
    ck_assert_msg(ar_token_create(&c, "jobs test", "write", 0, out, NULL, &err) == 0, "token: %s", err.message);
}

START_TEST(jobs_api_over_http)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO memberships (tenant_id, user_id, role) VALUES (%lld, %lld, 'member'), (%lld, %lld, 'admin'), "
             "(%lld, %lld, 'owner'), (%lld, %lld, 'owner')",
             tenant_a, alice, tenant_a, amy, tenant_b, bob, tenant_a, staff_user);
    it_exec(raw, sql);
    char t_alice[AR_SECRET_TEXT_SIZE], t_amy[AR_SECRET_TEXT_SIZE], t_bob[AR_SECRET_TEXT_SIZE],
        t_staff[AR_SECRET_TEXT_SIZE];
    mint_token(alice, tenant_a, AR_ROLE_MEMBER, 0, t_alice);
    mint_token(amy, tenant_a, AR_ROLE_ADMIN, 0, t_amy);
    mint_token(bob, tenant_b, AR_ROLE_OWNER, 0, t_bob);
    mint_token(staff_user, tenant_a, AR_ROLE_OWNER, 1, t_staff);
    /* jobs due tomorrow: the daemon's workers leave them queued */
    ar_ctx alice_ctx = member_alice(), bob_ctx = owner_b();
    long long a1 = enqueue(&alice_ctx, NULL, NULL), b1 = enqueue(&bob_ctx, NULL, NULL), failed = enqueue(&alice_ctx, NULL, NULL);
    long long sys = 0;
    ar_error err = {0};
    ck_assert_int_eq(ar_job_enqueue_system("noop", NULL, "http-test", &sys, &err), 0);
    it_exec(raw, "UPDATE jobs SET next_run_at = now() + interval '1 day'");
    snprintf(sql, sizeof sql, "UPDATE jobs SET status = 'failed', attempts = 3, finished_at = now(), "
                              "last_error = 'boom' WHERE id = %lld", failed);
    it_exec(raw, sql);
    char env_db[1024];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    const char *env[] = {env_db, NULL};
    ck_assert_msg(it_daemon_start(&api_daemon, env) == 0, "daemon did not start; see %s", api_daemon.log_path);

    char path[128];
    json_t *j = NULL;
    /* the timeline: the job's user and admins of its tenant; another tenant gets 404 */
    snprintf(path, sizeof path, "/api/jobs/%lld/events/", a1);
    ck_assert_int_eq(api_call(t_alice, "GET", path, &j), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "job_id")), a1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "events"), 0), "message")),
                     "queued");
    json_decref(j);
    ck_assert_int_eq(api_call(t_amy, "GET", path, NULL), 200);
    ck_assert_int_eq(api_call(t_bob, "GET", path, &j), 404);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")), "not_found");
    json_decref(j);
    snprintf(path, sizeof path, "/api/jobs/%lld/events/", sys);
    ck_assert_int_eq(api_call(t_amy, "GET", path, NULL), 404); /* system jobs are staff-only */
    ck_assert_int_eq(api_call(t_staff, "GET", path, NULL), 200);
    ck_assert_int_eq(api_call(t_alice, "GET", "/api/jobs/abc/events/", NULL), 404);

    /* admin listing: members 403, tenant admins their tenant, staff everything */
    ck_assert_int_eq(api_call(t_alice, "GET", "/api/admin/jobs/", NULL), 403);
    ck_assert_int_eq(api_call(t_amy, "GET", "/api/admin/jobs/", &j), 200);
    ck_assert_int_eq(json_array_size(j), 2);
    size_t i;
    json_t *row;
    json_array_foreach(j, i, row) ck_assert_int_eq(json_integer_value(json_object_get(row, "tenant_id")), tenant_a);
    json_decref(j);
    ck_assert_int_eq(api_call(t_bob, "GET", "/api/admin/jobs/", &j), 200);
    ck_assert_int_eq(json_array_size(j), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(j, 0), "id")), b1);
    json_decref(j);
    ck_assert_int_eq(api_call(t_staff, "GET", "/api/admin/jobs/?type=noop", &j), 200);
    ck_assert_int_eq(json_array_size(j), 4);
    json_decref(j);
    ck_assert_int_eq(api_call(t_staff, "GET", "/api/admin/jobs/?status=failed", &j), 200);
    ck_assert_int_eq(json_array_size(j), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(j, 0), "id")), failed);
    json_decref(j);
    ck_assert_int_eq(api_call(t_staff, "GET", "/api/admin/jobs/?status=bogus&type=No%20Such", &j), 400);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(j, "error"), "fields"), "status"));
    ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(j, "error"), "fields"), "type"));
    json_decref(j);
    ck_assert_int_eq(api_call(t_staff, "GET", "/api/admin/jobs/?limit=0", NULL), 400);

    /* retry and cancel: not across tenants, not by members */
    snprintf(path, sizeof path, "/api/admin/jobs/%lld/retry/", failed);
    ck_assert_int_eq(api_call(t_bob, "POST", path, NULL), 404);
    ck_assert_int_eq(api_call(t_alice, "POST", path, NULL), 403);
    ck_assert_int_eq(api_call(t_amy, "POST", path, &j), 200);
    /* re-queued; a worker may already have claimed it (or even finished it) when the answer is read */
    const char *st = json_string_value(json_object_get(j, "status"));
    ck_assert_msg(strcmp(st, "queued") == 0 || strcmp(st, "running") == 0 || strcmp(st, "succeeded") == 0,
                  "status after retry: %s", st);
    json_decref(j);
    ck_assert_int_eq(api_call(t_amy, "POST", path, NULL), 409); /* no longer failed */
    snprintf(path, sizeof path, "/api/admin/jobs/%lld/cancel/", a1);
    ck_assert_int_eq(api_call(t_bob, "POST", path, NULL), 404);
    ck_assert_int_eq(api_call(t_amy, "POST", path, &j), 200);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "cancelled");
    json_decref(j);
    snprintf(path, sizeof path, "/api/admin/jobs/%lld/cancel/", sys);
    ck_assert_int_eq(api_call(t_staff, "POST", path, NULL), 200);

    /* /metrics: jobs by type and status, queue depth, the duration histogram */
    it_response r;
    memset(&r, 0, sizeof r);
    char url[256];
    snprintf(url, sizeof url, "%s/metrics", api_daemon.base_url);
    ck_assert_int_eq(it_http("GET", url, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    const char *m = ar_buf_cstr(&r.body);
    ck_assert_msg(strstr(m, "jobs_by_type{type=\"noop\",status=\"cancelled\"} 2"), "%s", m);
    ck_assert_ptr_nonnull(strstr(m, "job_queue_depth{queue=\"stream\"}"));
    ck_assert_ptr_nonnull(strstr(m, "# TYPE job_duration_seconds histogram"));
    it_response_free(&r);
    ck_assert_int_eq(it_daemon_stop(&api_daemon), 0);
}
END_TEST

/* ---- benchmark (not a test): only in the suite when AR_JOBS_BENCH is set; see tests/bench/jobs.sh ---- */

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    return v && *v ? atol(v) : def;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct bench_producer {
    long count;      /* jobs to enqueue */
    double rate;     /* jobs per second for this producer; 0 = as fast as possible */
    long long first_id, last_id;
} bench_producer;

static void *bench_produce(void *arg)
{
    bench_producer *b = arg;
    ar_ctx ctx = member_alice();
    double start = now_s();
    for (long i = 0; i < b->count; i++) {
        if (b->rate > 0) {
            double due = start + (double)i / b->rate, wait = due - now_s();
            if (wait > 0) sleep_ms((long)(wait * 1000));
        }
        long long id = 0;
        ar_error err = {0};
        if (ar_job_enqueue(&ctx, "noop", NULL, NULL, &id, &err) != 0) {
            fprintf(stderr, "bench enqueue failed: %s\n", err.message);
            ar_error_clear(&err);
            continue;
        }
        if (!b->first_id) b->first_id = id;
        b->last_id = id;
    }
    ar_db_thread_close();
    ar_valkey_thread_close();
    return NULL;
}

/* Enqueue total jobs from `producers` threads at `rate` jobs/s overall (0 = flat out) while the pool runs them;
 * returns the wall time until the last one succeeded (with wait = 0: until the last one was enqueued). */
static double bench_enqueue(long total, int producers, double rate, int wait)
{
    pthread_t th[8];
    bench_producer b[8];
    double t0 = now_s();
    for (int i = 0; i < producers; i++) {
        b[i] = (bench_producer){total / producers, rate > 0 ? rate / producers : 0, 0, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, bench_produce, &b[i]), 0);
    }
    for (int i = 0; i < producers; i++) pthread_join(th[i], NULL);
    double enqueued = now_s() - t0;
    if (!wait) return enqueued;
    for (long waited = 0;; waited += 10) {
        /* the partial index on queued jobs and the tenant's active-job index keep this cheap */
        if (it_query_long(raw, "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')") == 0) break;
        ck_assert_msg(waited < 120000, "bench jobs did not finish");
        sleep_ms(10);
    }
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM jobs WHERE status <> 'succeeded'"), 0);
    double done = now_s() - t0;
    fprintf(stderr, "bench: %ld jobs enqueued in %.2f s, none left queued or running after %.2f s\n", total,
            enqueued, done);
    return done;
}

static double bench_run(long total, int producers, double rate)
{
    return bench_enqueue(total, producers, rate, 1);
}

static void bench_report(const char *phase, long total, double seconds, double rate)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY q))::text || ' ' || "
             "round(percentile_cont(0.99) WITHIN GROUP (ORDER BY q))::text || ' ' || "
             "round(percentile_cont(0.99) WITHIN GROUP (ORDER BY e))::text || ' ' || count(*) FROM "
             "(SELECT extract(epoch FROM started_at - created_at) * 1000 AS q, "
             "extract(epoch FROM finished_at - created_at) * 1000 AS e FROM jobs WHERE status = 'succeeded') t");
    char *v = it_query_value(raw, sql);
    double p50 = 0, p99 = 0, e99 = 0;
    long n = 0;
    sscanf(v, "%lf %lf %lf %ld", &p50, &p99, &e99, &n);
    ar_free(v);
    ck_assert_int_eq(n, total);
    printf("{\"bench\":\"jobs\",\"phase\":\"%s\",\"jobs\":%ld,\"target_rate\":%.0f,\"seconds\":%.2f,"
           "\"jobs_per_s\":%.0f,\"queue_latency_p50_ms\":%.0f,\"queue_latency_p99_ms\":%.0f,"
           "\"end_to_end_p99_ms\":%.0f,\"workers\":%ld}\n",
           phase, total, rate, seconds, total / seconds, p50, p99, e99, env_long("AR_BENCH_WORKERS", 4));
    fflush(stdout);
    it_exec(raw, "TRUNCATE job_events; DELETE FROM jobs");
}

START_TEST(bench_noop_jobs)
{
    ar_jobs_set_limits(0, 0); /* one tenant: measure the machinery, not the per-tenant limit */
    ar_log_set_level(AR_LOG_WARN);
    long total = env_long("AR_BENCH_JOBS", 10000);
    int producers = (int)env_long("AR_BENCH_PRODUCERS", 2);
    if (producers < 1 || producers > 8) producers = 2;
    /* the workers alone: a backlog enqueued first, then drained */
    double t = bench_enqueue(total, producers, 0, 0);
    ar_worker_pool *p = start_pool((int)env_long("AR_BENCH_WORKERS", 4));
    double t0 = now_s();
    for (long waited = 0;; waited += 10) {
        if (it_query_long(raw, "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')") == 0) break;
        ck_assert_msg(waited < 120000, "bench backlog did not drain");
        sleep_ms(10);
    }
    printf("{\"bench\":\"jobs\",\"phase\":\"enqueue_only\",\"jobs\":%ld,\"seconds\":%.2f,\"jobs_per_s\":%.0f}\n",
           total, t, total / t);
    bench_report("drain_backlog", total, now_s() - t0, 0);
    /* end to end: enqueued while the workers run */
    t = bench_run(total, producers, 0);
    bench_report("throughput", total, t, 0);
    double rate = (double)env_long("AR_BENCH_RATE", 500);
    long steady = (long)(rate * env_long("AR_BENCH_SECONDS", 10));
    t = bench_run(steady, producers, rate);
    bench_report("steady", steady, t, rate);
    ar_worker_pool_stop(p, 5);
    ar_log_set_level(AR_LOG_INFO);
}
END_TEST

Suite *jobs_suite(void)
{
    Suite *s = suite_create("jobs");
    TCase *tc = tcase_create("jobs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, job_runs_once_and_succeeds);
    tcase_add_test(tc, failing_job_retries_same_row_with_backoff_then_fails);
    tcase_add_test(tc, duplicate_delivery_runs_once);
    tcase_add_test(tc, unacknowledged_delivery_is_redelivered);
    tcase_add_test(tc, job_of_dead_worker_is_requeued_and_completes);
    tcase_add_test(tc, long_silent_job_is_kept_alive_by_housekeeping);
    tcase_add_test(tc, unstorable_result_fails_the_attempt);
    tcase_add_test(tc, jobs_survive_valkey_losing_everything);
    tcase_add_test(tc, enqueue_while_valkey_is_down_is_delivered_later);
    tcase_add_test(tc, cancel_queued_and_running_jobs);
    tcase_add_test(tc, shutdown_past_grace_requeues_running_job);
    tcase_add_test(tc, tenant_and_role_isolation);
    tcase_add_test(tc, quota_and_active_limit_answer_429);
    tcase_add_test(tc, tenant_concurrency_never_exceeded);
    tcase_add_test(tc, admin_listing_and_system_jobs);
    tcase_add_test(tc, cleanup_jobs_delete_what_they_should_and_nothing_else);
    tcase_add_test(tc, jobs_api_over_http);
    suite_add_tcase(s, tc);
    if (getenv("AR_JOBS_BENCH")) {
        TCase *bench = tcase_create("bench");
        tcase_add_checked_fixture(bench, setup, teardown);
        tcase_set_timeout(bench, 600);
        tcase_add_test(bench, bench_noop_jobs);
        suite_add_tcase(s, bench);
    }
    return s;
}
