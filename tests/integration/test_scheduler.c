/* test_scheduler.c — integration tests of the leader-elected scheduler against the test PostgreSQL and Valkey
 * (database 9, a random key prefix per test): two scheduler instances in one process → exactly one is leader
 * and each due schedule runs once; the other takes over when the leader stops (the lock is released) and when
 * the leader's lock expires without a release (a crashed instance); runs missed during downtime run once; a
 * slot already enqueued is never enqueued again (idempotency key); the built-in schedules are upserted
 * without duplicates and keep an operator's `enabled`. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afterresume/core/alloc.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/registry.h"
#include "afterresume/jobs/jobs.h"
#include "afterresume/jobs/queue.h"
#include "afterresume/jobs/scheduler.h"
#include "afterresume/jobs/valkey.h"
#include "integration/harness.h"

static char *db_url;
static PGconn *raw;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void setup(void)
{
    char *hex = it_random_hex(6);
    char *prefix = ar_asprintf("itsched-%s", hex);
    setenv("AR_QUEUE_PREFIX", prefix, 1);
    ar_free(prefix);
    ar_free(hex);
    setenv("AR_SCHEDULER_TICK_MS", "100", 1);
    setenv("AR_SCHEDULER_LOCK_MS", "800", 1);
    db_url = it_migrated_db();
    ar_domain_register_all();
    ar_jobs_register();
    const char *url = it_valkey_url();
    const char *slash = strchr(strstr(url, "://") + 3, '/');
    char *vurl = ar_asprintf("%.*s/9", slash ? (int)(slash - url) : (int)strlen(url), url);
    ar_error err = {0};
    ck_assert_msg(ar_valkey_configure(vurl, &err) == 0, "%s", err.message);
    ar_free(vurl);
    raw = it_pg_connect_to(db_url);
    it_exec(raw, "SELECT set_config('app.bypass_rls', 'on', false)");
    /* the built-in schedules (and other areas' rows) exist but are not due during a test */
    ck_assert_msg(ar_scheduler_sync_builtin(&err) == 0, "%s", err.message);
    it_exec(raw, "UPDATE schedules SET next_run_at = now() + interval '1 day'");
}

static void teardown(void)
{
    ar_error err = {0};
    redisReply *r = ar_valkey_command(&err, "DEL %s %s %s", ar_queue_stream_key(), ar_queue_delayed_key(),
                                      ar_queue_leader_key());
    if (r) freeReplyObject(r);
    ar_error_clear(&err);
    ar_valkey_thread_close();
    ar_db_shutdown();
    PQfinish(raw);
    raw = NULL;
    it_drop_db(db_url);
    ar_free(db_url);
    db_url = NULL;
}

static long q(const char *sql)
{
    return it_query_long(raw, sql);
}

/* A schedule of the noop job type due `ago` seconds ago. */
static void add_schedule(const char *name, const char *cron, int ago)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO schedules (name, cron, job_type, next_run_at) VALUES ('%s', '%s', 'noop', "
             "now() - make_interval(secs => %d))",
             name, cron, ago);
    it_exec(raw, sql);
}

static void make_due(const char *name, int ago)
{
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE schedules SET next_run_at = now() - make_interval(secs => %d) WHERE name = '%s'",
             ago, name);
    it_exec(raw, sql);
}

static long jobs_of(const char *name)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE tenant_id IS NULL AND idempotency_key LIKE '%s@%%'",
             name);
    return q(sql);
}

static void wait_jobs(const char *name, long n, long timeout_ms)
{
    for (long waited = 0;; waited += 20) {
        long have = jobs_of(name);
        if (have == n) return;
        if (waited >= timeout_ms) ck_abort_msg("%ld jobs for schedule %s, not %ld", have, name, n);
        sleep_ms(20);
    }
}

static int leader_of(ar_scheduler *a, ar_scheduler *b)
{
    ar_scheduler_stats sa, sb;
    ar_scheduler_stats_get(a, &sa);
    ar_scheduler_stats_get(b, &sb);
    return (sa.is_leader ? 1 : 0) | (sb.is_leader ? 2 : 0);
}

static int wait_leader(ar_scheduler *a, ar_scheduler *b, long timeout_ms)
{
    for (long waited = 0;; waited += 20) {
        int l = leader_of(a, b);
        if (l == 1 || l == 2) return l;
        if (waited >= timeout_ms) ck_abort_msg("no single leader after %ld ms (mask %d)", timeout_ms, l);
        sleep_ms(20);
    }
}

START_TEST(two_instances_one_leader_runs_each_schedule_once)
{
    add_schedule("test.minutely", "* * * * *", 30);
    ar_error err = {0};
    ar_scheduler *a = ar_scheduler_start(&err), *b = ar_scheduler_start(&err);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    int leader = wait_leader(a, b, 3000);
    wait_jobs("test.minutely", 1, 3000);
    /* both keep ticking; still exactly one leader and one job for the slot */
    for (int i = 0; i < 10; i++) {
        sleep_ms(100);
        int l = leader_of(a, b);
        ck_assert_msg(l == leader, "leadership moved or doubled while both ran (mask %d)", l);
    }
    ck_assert_int_eq(jobs_of("test.minutely"), 1);
    ar_scheduler_stats sa, sb;
    ar_scheduler_stats_get(a, &sa);
    ar_scheduler_stats_get(b, &sb);
    ck_assert_int_eq(sa.enqueued + sb.enqueued, 1);
    ck_assert_int_eq(leader == 1 ? sa.enqueued : sb.enqueued, 1);
    ck_assert(q("SELECT count(*) FROM schedules WHERE name = 'test.minutely' AND next_run_at > now() "
                "AND next_run_at <= now() + interval '1 minute' AND last_job_id IS NOT NULL") == 1);

    /* the leader stops (releasing the lock): the other takes over and runs the next due slot */
    ar_scheduler *gone = leader == 1 ? a : b, *stays = leader == 1 ? b : a;
    ar_scheduler_stop(gone);
    ar_scheduler_stats st;
    for (int i = 0; i < 100; i++) {
        ar_scheduler_stats_get(stays, &st);
        if (st.is_leader) break;
        sleep_ms(20);
    }
    ck_assert_msg(st.is_leader, "the remaining instance did not take over");
    make_due("test.minutely", 120); /* a slot two minutes ago: another idempotency key */
    wait_jobs("test.minutely", 2, 3000);
    for (int i = 0; i < 100; i++) { /* its counter moves just after the commit the query saw */
        ar_scheduler_stats_get(stays, &st);
        if (st.enqueued >= 1) break;
        sleep_ms(20);
    }
    ck_assert_int_eq(st.enqueued, 1);
    ck_assert_int_eq(q("SELECT count(DISTINCT idempotency_key) FROM jobs WHERE idempotency_key LIKE 'test.minutely@%'"),
                     2);
    ar_scheduler_stop(stays);
    /* the last leader released the lock on stop */
    redisReply *r = ar_valkey_command(&err, "EXISTS %s", ar_queue_leader_key());
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->integer, 0);
    freeReplyObject(r);
}
END_TEST

START_TEST(lock_of_a_crashed_leader_expires)
{
    /* a leader that died without releasing: its token stays until the lock expires */
    ar_error err = {0};
    redisReply *r = ar_valkey_command(&err, "SET %s crashed-instance PX 700", ar_queue_leader_key());
    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
    add_schedule("test.after_crash", "@hourly", 10);
    ar_scheduler *s = ar_scheduler_start(&err);
    ck_assert_ptr_nonnull(s);
    sleep_ms(300);
    ar_scheduler_stats st;
    ar_scheduler_stats_get(s, &st);
    ck_assert_int_eq(st.is_leader, 0);
    ck_assert_int_eq(jobs_of("test.after_crash"), 0);
    wait_jobs("test.after_crash", 1, 3000);
    ar_scheduler_stats_get(s, &st);
    ck_assert_int_eq(st.is_leader, 1);
    ck_assert_int_eq(st.terms, 1);
    /* renewal keeps it: the lock lives past its first expiry while the instance runs */
    sleep_ms(1200);
    r = ar_valkey_command(&err, "GET %s", ar_queue_leader_key());
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
    ck_assert_str_ne(r->str, "crashed-instance");
    freeReplyObject(r);
    ar_scheduler_stats_get(s, &st);
    ck_assert_int_eq(st.terms, 1);
    /* stop never deletes someone else's lock */
    r = ar_valkey_command(&err, "SET %s another-instance PX 5000", ar_queue_leader_key());
    freeReplyObject(r);
    ar_scheduler_stop(s);
    r = ar_valkey_command(&err, "GET %s", ar_queue_leader_key());
    ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
    ck_assert_str_eq(r->str, "another-instance");
    freeReplyObject(r);
}
END_TEST

START_TEST(missed_runs_run_once)
{
    /* down for five hours: five hourly slots missed, one run */
    add_schedule("test.hourly", "@hourly", 5 * 3600);
    ar_error err = {0};
    int n = -1;
    ck_assert_msg(ar_scheduler_run_due(time(NULL), &n, &err) == 0, "%s", err.message);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(jobs_of("test.hourly"), 1);
    ck_assert_int_eq(q("SELECT count(*) FROM schedules WHERE name = 'test.hourly' AND next_run_at > now() "
                       "AND next_run_at <= date_trunc('hour', now()) + interval '1 hour' "
                       "AND last_run_at < now() - interval '4 hours'"),
                     1);
    ck_assert_int_eq(ar_scheduler_run_due(time(NULL), &n, &err), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(jobs_of("test.hourly"), 1);
    /* the same slot again (two leaders racing, a restored backup): the same job, no new row */
    it_exec(raw, "UPDATE schedules SET next_run_at = last_run_at WHERE name = 'test.hourly'");
    ck_assert_int_eq(ar_scheduler_run_due(time(NULL), &n, &err), 0);
    ck_assert_int_eq(jobs_of("test.hourly"), 1);
    /* disabled schedules and unknown job types do not run; a bad cron is pushed back an hour */
    add_schedule("test.disabled", "@hourly", 60);
    it_exec(raw, "UPDATE schedules SET enabled = false WHERE name = 'test.disabled'");
    it_exec(raw, "INSERT INTO schedules (name, cron, job_type, next_run_at) VALUES "
                 "('test.unknown', '@hourly', 'no.such.type', now() - interval '1 minute'), "
                 "('test.badcron', 'every tuesday', 'noop', now() - interval '1 minute')");
    ck_assert_int_eq(ar_scheduler_run_due(time(NULL), &n, &err), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(jobs_of("test.disabled") + jobs_of("test.unknown") + jobs_of("test.badcron"), 0);
    ck_assert_int_eq(q("SELECT count(*) FROM schedules WHERE name = 'test.badcron' "
                       "AND next_run_at > now() + interval '59 minutes'"),
                     1);
    /* the scheduled job is a system job: no tenant, visible to staff only */
    ck_assert_int_eq(q("SELECT count(*) FROM jobs WHERE idempotency_key LIKE 'test.hourly@%' AND tenant_id IS NULL "
                       "AND user_id IS NULL AND status = 'queued' AND type = 'noop'"),
                     1);
}
END_TEST

START_TEST(builtin_schedules_are_upserted)
{
    ar_error err = {0};
    ck_assert_int_gt(ar_builtin_schedule_count, 2);
    for (int i = 0; i < ar_builtin_schedule_count; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM schedules WHERE name = '%s' AND cron = '%s' AND job_type = '%s'",
                 ar_builtin_schedules[i].name, ar_builtin_schedules[i].cron, ar_builtin_schedules[i].job_type);
        ck_assert_msg(q(sql) == 1, "built-in schedule %s missing", ar_builtin_schedules[i].name);
    }
    long before = q("SELECT count(*) FROM schedules");
    it_exec(raw, "UPDATE schedules SET enabled = false WHERE name = 'cleanup.jobs'");
    ck_assert_int_eq(ar_scheduler_sync_builtin(&err), 0);
    ck_assert_int_eq(q("SELECT count(*) FROM schedules"), before);
    ck_assert_int_eq(q("SELECT count(*) FROM schedules WHERE name = 'cleanup.jobs' AND NOT enabled"), 1);
    /* a changed cron expression is put back and rescheduled from it */
    it_exec(raw, "UPDATE schedules SET cron = '*/7 * * * *' WHERE name = 'cleanup.sessions'");
    ck_assert_int_eq(ar_scheduler_sync_builtin(&err), 0);
    ck_assert_int_eq(q("SELECT count(*) FROM schedules WHERE name = 'cleanup.sessions' AND cron = '@hourly' "
                       "AND next_run_at = date_trunc('hour', now()) + interval '1 hour'"),
                     1);
}
END_TEST

Suite *scheduler_suite(void)
{
    Suite *s = suite_create("scheduler");
    TCase *tc = tcase_create("scheduler");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, two_instances_one_leader_runs_each_schedule_once);
    tcase_add_test(tc, lock_of_a_crashed_leader_expires);
    tcase_add_test(tc, missed_runs_run_once);
    tcase_add_test(tc, builtin_schedules_are_upserted);
    suite_add_tcase(s, tc);
    return s;
}
