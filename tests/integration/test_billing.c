/* test_billing.c — the reserve-balance ledger against the test PostgreSQL: hold / post / void exactly once per
 * job and expiry; 200 concurrent 1-cent holds against a balance of 100 (exactly 100 succeed, available never
 * negative, verify clean); concurrent posts, voids and staff adjustments keep the invariants; the database
 * refuses UPDATE / DELETE of ledger rows and edits of rate-card versions; adjustment validation; the verifier
 * (service and `afterresumed billing verify`) detects a tampered balance and a broken balance-after chain; the
 * low-balance e-mail goes out once per crossing; tenant isolation; and the JSON API over HTTP with the real
 * daemon (balance, ledger, usage, staff adjust, CSV export, rate cards, status bar).
 *
 * Tampering uses the harness's connection, which is the application's own role (it owns the tables): the
 * append-only triggers stop UPDATE / DELETE for it too, but an owner can disable a trigger (the chain test does
 * exactly that to plant a bad row) or rewrite the account row — which is what `billing verify` is for. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/error.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/billing.h"
#include "afterresume/domain/context.h"
#include "afterresume/domain/registry.h"
#include "afterresume/domain/tokens.h"
#include "afterresume/jobs/jobs.h"
#include "afterresume/jobs/registry.h"
#include "integration/daemon.h"
#include "integration/harness.h"

static char *db_url;
static PGconn *raw;
static long long tenant_a, tenant_b, owner_a, member_b, staff_user;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static ar_ctx make_ctx(long long user, long long tenant, ar_role role, int staff)
{
    ar_ctx c = {0};
    c.user_id = user;
    c.tenant_id = tenant;
    c.role = role;
    c.is_staff = staff;
    snprintf(c.request_id, sizeof c.request_id, "test");
    snprintf(c.username, sizeof c.username, "test");
    return c;
}

static void setup(void)
{
    db_url = it_migrated_db();
    ar_domain_register_all();
    raw = it_pg_connect_to(db_url);
    tenant_a = it_query_long(raw, "INSERT INTO tenants (name) VALUES ('Tenant A') RETURNING id");
    tenant_b = it_query_long(raw, "INSERT INTO tenants (name) VALUES ('Tenant B') RETURNING id");
    owner_a = it_query_long(raw, "INSERT INTO users (username, email, password_hash) VALUES ('anna', "
                                 "'anna@example.com', 'x') RETURNING id");
    member_b = it_query_long(raw, "INSERT INTO users (username, email, password_hash) VALUES ('bert', "
                                  "'bert@example.com', 'x') RETURNING id");
    staff_user = it_query_long(raw, "INSERT INTO users (username, email, password_hash, is_staff) VALUES ('root', "
                                    "'root@example.com', 'x', true) RETURNING id");
    it_exec(raw, "SET app.bypass_rls = 'on'");
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO memberships (tenant_id, user_id, role) VALUES (%lld, %lld, 'owner'), "
                              "(%lld, %lld, 'owner'), (%lld, %lld, 'owner')",
             tenant_a, owner_a, tenant_b, member_b, tenant_a, staff_user);
    it_exec(raw, sql);
}

static void teardown(void)
{
    ar_db_shutdown();
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
    if (!dropped) it_drop_db(db_url);
    ar_free(db_url);
    db_url = NULL;
}

static ar_ctx staff_ctx(void)
{
    return make_ctx(staff_user, tenant_a, AR_ROLE_OWNER, 1);
}

/* Credit (or debit) tenant by a staff adjustment; fails the test on error. */
static void adjust(long long tenant, long long cents)
{
    ar_ctx s = staff_ctx();
    ar_error err = {0};
    ck_assert_msg(ar_billing_adjust(&s, tenant, cents, "Test fixture adjustment", NULL, NULL, &err) == 0,
                  "adjust: %s", err.message);
}

static ar_billing_balance balance_of(long long tenant)
{
    ar_ctx s = ar_ctx_system(&(ar_ctx){.tenant_id = tenant});
    ar_billing_balance b;
    ar_error err = {0};
    ck_assert_msg(ar_billing_balance_get(&s, tenant, &b, &err) == 0, "balance: %s", err.message);
    return b;
}

static long long verify_mismatches(void)
{
    ar_ctx s = staff_ctx();
    ar_error err = {0};
    json_t *report = NULL;
    ck_assert_msg(ar_billing_verify(&s, &report, &err) == 0, "verify: %s", err.message);
    long long n = json_integer_value(json_object_get(report, "mismatch_count"));
    json_decref(report);
    return n;
}

static long long q(const char *fmt, long long a)
{
    char sql[512];
    snprintf(sql, sizeof sql, fmt, a);
    return it_query_long(raw, sql);
}

/* ---------------------------------------------------------------- hold / post / void */

START_TEST(hold_post_void_exactly_once_per_job)
{
    adjust(tenant_a, 1000);
    ar_ctx a = make_ctx(owner_a, tenant_a, AR_ROLE_OWNER, 0);
    ar_error err = {0};
    long long h1 = 0, again = 0;
    ck_assert_int_eq(ar_billing_hold(&a, 0, 101, 300, 0, &h1, &err), 0);
    ck_assert_int_eq(balance_of(tenant_a).available_cents, 700);
    ck_assert_int_eq(balance_of(tenant_a).balance_cents, 1000);
    /* The same job again: the same hold, nothing new; a different amount is a conflict. */
    ck_assert_int_eq(ar_billing_hold(&a, 0, 101, 300, 0, &again, &err), 0);
    ck_assert_int_eq(again, h1);
    ck_assert_int_eq(ar_billing_hold(&a, 0, 101, 200, 0, &again, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_CONFLICT);
    ar_error_clear(&err);
    ck_assert_int_eq(q("SELECT count(*) FROM ledger_entries WHERE job_id = %lld AND entry_type = 'hold'", 101), 1);
    /* More than available: 402 insufficient_balance. */
    ck_assert_int_eq(ar_billing_hold(&a, 0, 102, 701, 0, NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_INSUFFICIENT_BALANCE);
    ck_assert_int_eq(ar_err_http_status(err.code), 402);
    ck_assert_str_eq(ar_err_code_string(err.code), "insufficient_balance");
    ar_error_clear(&err);

    /* Post with usage rows priced by the seeded card: 1,000,000 prompt tokens × 100 µ¢ = 100 ¢, 200,000
     * completion tokens × 300 µ¢ = 60 ¢ → 160 ¢ charged, 140 ¢ released. */
    ar_billing_usage_row rows[] = {{"tokens", "openai", "gpt-x", 1000000, 200000, 0}};
    ar_billing_post_result res;
    ck_assert_int_eq(ar_billing_post(&a, h1, -1, rows, 1, "ai.enhance", &res, &err), 0);
    ck_assert_int_eq(res.already, 0);
    ck_assert_int_eq(res.priced_cents, 160);
    ck_assert_int_eq(res.charged_cents, 160);
    ck_assert_int_eq(res.released_cents, 140);
    ck_assert_int_eq(res.rate_card_version, 1);
    ar_billing_balance b = balance_of(tenant_a);
    ck_assert_int_eq(b.balance_cents, 840);
    ck_assert_int_eq(b.available_cents, 840);
    ck_assert_int_eq(b.held_cents, 0);
    /* Posting again writes nothing. */
    ck_assert_int_eq(ar_billing_post(&a, h1, -1, rows, 1, "ai.enhance", &res, &err), 0);
    ck_assert_int_eq(res.already, 1);
    ck_assert_int_eq(balance_of(tenant_a).balance_cents, 840);
    ck_assert_int_eq(q("SELECT count(*) FROM ledger_entries WHERE job_id = %lld AND entry_type = 'usage'", 101), 1);
    ck_assert_int_eq(q("SELECT count(*) FROM billing_usage WHERE job_id = %lld", 101), 1);
    ck_assert_int_eq(q("SELECT cost_cents FROM billing_usage WHERE job_id = %lld", 101), 160);
    /* A posted hold cannot be voided. */
    ck_assert_int_eq(ar_billing_void(&a, h1, NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_CONFLICT);
    ar_error_clear(&err);

    /* A charge above the hold is capped at the hold. */
    long long h2 = 0;
    ck_assert_int_eq(ar_billing_hold(&a, 0, 103, 50, 0, &h2, &err), 0);
    ck_assert_int_eq(ar_billing_post(&a, h2, 75, NULL, 0, NULL, &res, &err), 0);
    ck_assert_int_eq(res.charged_cents, 50);
    ck_assert_int_eq(balance_of(tenant_a).balance_cents, 790);

    /* Void: releases everything, once. */
    long long h3 = 0;
    int already = -1;
    ck_assert_int_eq(ar_billing_hold(&a, 0, 104, 300, 0, &h3, &err), 0);
    ck_assert_int_eq(balance_of(tenant_a).available_cents, 490);
    ck_assert_int_eq(ar_billing_void(&a, h3, &already, &err), 0);
    ck_assert_int_eq(already, 0);
    ck_assert_int_eq(ar_billing_void(&a, h3, &already, &err), 0);
    ck_assert_int_eq(already, 1);
    ck_assert_int_eq(balance_of(tenant_a).available_cents, 790);
    ck_assert_int_eq(ar_billing_post(&a, h3, 10, NULL, 0, NULL, &res, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_CONFLICT);
    ar_error_clear(&err);
    ck_assert_int_eq(q("SELECT count(*) FROM ledger_entries WHERE job_id = %lld AND entry_type = 'release'", 104), 1);

    /* Expiry: a hold past its time is expired and released by the scheduler's job. */
    long long h4 = 0, expired = 0;
    ck_assert_int_eq(ar_billing_hold(&a, 0, 105, 100, 1, &h4, &err), 0);
    ck_assert_int_eq(balance_of(tenant_a).available_cents, 690);
    sleep_ms(1200);
    ck_assert_int_eq(ar_billing_expire_holds(&a, &expired, &err), 0);
    ck_assert_int_eq(expired, 1);
    ck_assert_int_eq(q("SELECT count(*) FROM billing_holds WHERE id = %lld AND state = 'expired'", h4), 1);
    ck_assert_int_eq(balance_of(tenant_a).available_cents, 790);
    ck_assert_int_eq(ar_billing_expire_holds(&a, &expired, &err), 0);
    ck_assert_int_eq(expired, 0);

    long long hold_id = 0;
    ck_assert_int_eq(ar_billing_hold_for_job(&a, 105, &hold_id, &err), 0);
    ck_assert_int_eq(hold_id, 0);
    ck_assert_int_eq(verify_mismatches(), 0);
}
END_TEST

/* ---------------------------------------------------------------- concurrency */

#define HOLD_THREADS 20
#define HOLDS_PER_THREAD 10

typedef struct hold_worker {
    long long first_job;
    int ok, refused, other;
} hold_worker;

static void *hold_thread(void *arg)
{
    hold_worker *w = arg;
    ar_ctx a = make_ctx(owner_a, tenant_a, AR_ROLE_MEMBER, 0);
    for (int i = 0; i < HOLDS_PER_THREAD; i++) {
        ar_error err = {0};
        if (ar_billing_hold(&a, 0, w->first_job + i, 1, 0, NULL, &err) == 0) w->ok++;
        else if (err.code == AR_ERR_INSUFFICIENT_BALANCE) w->refused++;
        else w->other++;
        ar_error_clear(&err);
    }
    ar_db_thread_close();
    return NULL;
}

typedef struct monitor {
    volatile int stop;
    long long min_available;
    long samples;
} monitor;

static void *monitor_thread(void *arg)
{
    monitor *m = arg;
    PGconn *c = it_pg_connect_to(db_url);
    PGresult *r = PQexec(c, "SET app.bypass_rls = 'on'");
    PQclear(r);
    m->min_available = 1LL << 60;
    while (!m->stop) {
        r = PQexec(c, "SELECT coalesce(min(balance_cents - held_cents), 0) FROM reserve_accounts");
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            if (v < m->min_available) m->min_available = v;
            m->samples++;
        }
        PQclear(r);
    }
    PQfinish(c);
    return NULL;
}

START_TEST(concurrent_one_cent_holds_exactly_100_of_200)
{
    adjust(tenant_a, 100);
    monitor mon = {0, 0, 0};
    pthread_t mt;
    pthread_create(&mt, NULL, monitor_thread, &mon);
    pthread_t th[HOLD_THREADS];
    hold_worker w[HOLD_THREADS];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < HOLD_THREADS; i++) {
        w[i] = (hold_worker){1000 + i * HOLDS_PER_THREAD, 0, 0, 0};
        pthread_create(&th[i], NULL, hold_thread, &w[i]);
    }
    int ok = 0, refused = 0, other = 0;
    for (int i = 0; i < HOLD_THREADS; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
        refused += w[i].refused;
        other += w[i].other;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    mon.stop = 1;
    pthread_join(mt, NULL);
    fprintf(stderr, "billing: %d concurrent 1-cent holds from %d threads: %d ok, %d refused in %.0f ms (%ld samples)\n",
            HOLD_THREADS * HOLDS_PER_THREAD, HOLD_THREADS, ok, refused,
            (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6, mon.samples);
    ck_assert_int_eq(ok + refused + other, HOLD_THREADS * HOLDS_PER_THREAD);
    ck_assert_int_eq(other, 0);
    ck_assert_int_eq(ok, 100);
    ck_assert_int_eq(refused, 100);
    ck_assert_msg(mon.samples > 0 && mon.min_available >= 0, "available went to %lld", mon.min_available);
    ar_billing_balance b = balance_of(tenant_a);
    ck_assert_int_eq(b.balance_cents, 100);
    ck_assert_int_eq(b.held_cents, 100);
    ck_assert_int_eq(b.available_cents, 0);
    ck_assert(b.is_zero);
    /* No intermediate state in the ledger ever had a negative available. */
    ck_assert_int_eq(q("SELECT count(*) FROM ledger_entries WHERE tenant_id = %lld AND "
                       "balance_after_cents - held_after_cents < 0",
                       tenant_a),
                     0);
    ck_assert_int_eq(q("SELECT count(*) FROM billing_holds WHERE tenant_id = %lld AND state = 'active'", tenant_a),
                     100);
    ck_assert_int_eq(verify_mismatches(), 0);
}
END_TEST

typedef struct mixed_worker {
    int index;
    long long charged, adjusted;
    int failures;
    char last_error[256];
} mixed_worker;

static void *mixed_thread(void *arg)
{
    mixed_worker *w = arg;
    ar_ctx a = make_ctx(owner_a, tenant_a, AR_ROLE_MEMBER, 0);
    ar_ctx s = staff_ctx();
    for (int i = 0; i < 15; i++) {
        ar_error err = {0};
        long long job = 5000 + w->index * 100 + i, hold = 0;
        if (w->index % 4 == 3) {
            /* Adjuster: credits and debits (debits may be refused when little is available). */
            long long amount = (i % 2 == 0) ? 40 : -30;
            if (ar_billing_adjust(&s, tenant_a, amount, "Concurrent test adjustment", NULL, NULL, &err) == 0)
                w->adjusted += amount;
            else if (err.code != AR_ERR_INSUFFICIENT_BALANCE) w->failures++, snprintf(w->last_error, sizeof w->last_error, "%s", err.message);
            ar_error_clear(&err);
            continue;
        }
        if (ar_billing_hold(&a, 0, job, 50, 0, &hold, &err) != 0) {
            if (err.code != AR_ERR_INSUFFICIENT_BALANCE) w->failures++, snprintf(w->last_error, sizeof w->last_error, "%s", err.message);
            ar_error_clear(&err);
            continue;
        }
        if (i % 3 == 0) {
            if (ar_billing_void(&a, hold, NULL, &err) != 0) w->failures++, snprintf(w->last_error, sizeof w->last_error, "%s", err.message);
        } else {
            ar_billing_post_result res;
            long long actual = (job * 7) % 51;   /* 0..50 */
            if (ar_billing_post(&a, hold, actual, NULL, 0, "test", &res, &err) != 0) w->failures++, snprintf(w->last_error, sizeof w->last_error, "%s", err.message);
            else w->charged += res.charged_cents;
            /* A concurrent duplicate post is a no-op. */
            if (ar_billing_post(&a, hold, actual, NULL, 0, "test", &res, &err) != 0 || !res.already) w->failures++;
        }
        ar_error_clear(&err);
    }
    ar_db_thread_close();
    return NULL;
}

START_TEST(concurrent_posts_voids_and_adjustments_keep_invariants)
{
    adjust(tenant_a, 2000);
    enum { N = 12 };
    pthread_t th[N];
    mixed_worker w[N];
    for (int i = 0; i < N; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].index = i;
        pthread_create(&th[i], NULL, mixed_thread, &w[i]);
    }
    long long charged = 0, adjusted = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(w[i].failures == 0, "worker %d: %d failures (%s)", i, w[i].failures, w[i].last_error);
        charged += w[i].charged;
        adjusted += w[i].adjusted;
    }
    ar_billing_balance b = balance_of(tenant_a);
    ck_assert_int_eq(b.balance_cents, 2000 + adjusted - charged);
    ck_assert_int_eq(b.held_cents, 0);
    ck_assert(b.available_cents >= 0);
    ck_assert_int_eq(q("SELECT count(*) FROM ledger_entries WHERE tenant_id = %lld AND "
                       "balance_after_cents - held_after_cents < 0",
                       tenant_a),
                     0);
    ck_assert_int_eq(q("SELECT coalesce(-sum(amount_cents), 0) FROM ledger_entries WHERE tenant_id = %lld AND "
                       "entry_type = 'usage'",
                       tenant_a),
                     charged);
    ck_assert_int_eq(verify_mismatches(), 0);
}
END_TEST

/* ---------------------------------------------------------------- database guarantees */

static int exec_fails(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int failed = PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK;
    PQclear(r);
    return failed;
}

/* Rows changed by a statement, or -1 when it failed. */
static long exec_changes(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long n = PQresultStatus(r) == PGRES_COMMAND_OK ? atol(PQcmdTuples(r)) : -1;
    PQclear(r);
    return n;
}

START_TEST(database_refuses_ledger_and_rate_card_edits)
{
    adjust(tenant_a, 500);
    ar_ctx a = make_ctx(owner_a, tenant_a, AR_ROLE_OWNER, 0);
    ar_error err = {0};
    long long hold = 0;
    ar_billing_usage_row row = {"per_job", "", "", 0, 0, 1};
    ck_assert_int_eq(ar_billing_hold(&a, 0, 7, 10, 0, &hold, &err), 0);
    ck_assert_int_eq(ar_billing_post(&a, hold, -1, &row, 1, "test", NULL, &err), 0);   /* per_job is free: 0 */
    /* The application's own role (the harness connection) with row-level security bypassed. */
    ck_assert(exec_fails(raw, "UPDATE ledger_entries SET amount_cents = amount_cents + 1"));
    ck_assert(exec_fails(raw, "DELETE FROM ledger_entries"));
    ck_assert(exec_fails(raw, "TRUNCATE ledger_entries CASCADE"));
    ck_assert(exec_fails(raw, "UPDATE rate_cards SET name = 'changed'"));
    /* Without a DELETE policy (and no UPDATE policy on prices) row-level security leaves such statements no row
     * to act on; with the policies gone the triggers still refuse. Either way nothing changes. */
    ck_assert(exec_changes(raw, "DELETE FROM rate_cards") <= 0);
    ck_assert(exec_changes(raw, "UPDATE rate_card_prices SET price_microcents = 1") <= 0);
    ck_assert(exec_changes(raw, "DELETE FROM rate_card_prices") <= 0);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM rate_cards"), 1);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM rate_card_prices WHERE price_microcents = 100"), 1);
    it_exec(raw, "DROP POLICY rate_cards_close ON rate_cards; CREATE POLICY rate_cards_any ON rate_cards USING (true)");
    ck_assert(exec_fails(raw, "DELETE FROM rate_cards"));
    ck_assert(exec_fails(raw, "UPDATE billing_usage SET cost_cents = 0"));
    /* A debit that would make available negative is refused by the ledger trigger itself. */
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO ledger_entries (tenant_id, entry_type, amount_cents, balance_after_cents, "
                              "held_after_cents, actor_id, reason) VALUES (%lld, 'adjustment', -501, 0, 0, %lld, "
                              "'Direct insert test')",
             tenant_a, staff_user);
    ck_assert(exec_fails(raw, sql));
    /* Duplicate Stripe event ids cannot post twice. */
    snprintf(sql, sizeof sql, "INSERT INTO topups (tenant_id, amount_cents, status) VALUES (%lld, 1000, 'paid')",
             tenant_a);
    it_exec(raw, sql);
    snprintf(sql, sizeof sql, "INSERT INTO ledger_entries (tenant_id, entry_type, amount_cents, balance_after_cents, "
                              "held_after_cents, topup_id, stripe_event_id) SELECT %lld, 'topup', 1000, 0, 0, id, "
                              "'evt_dup' FROM topups",
             tenant_a);
    it_exec(raw, sql);
    ck_assert(exec_fails(raw, sql));
    ck_assert_int_eq(q("SELECT balance_cents FROM reserve_accounts WHERE tenant_id = %lld", tenant_a), 1500);
    ck_assert_int_eq(q("SELECT count(*) FROM ledger_entries WHERE tenant_id = %lld", tenant_a), 5);
    ck_assert(exec_fails(raw, "UPDATE billing_holds SET amount_cents = 1"));   /* settled holds never change */
    ck_assert_int_eq(verify_mismatches(), 0);
}
END_TEST

START_TEST(adjustment_validation)
{
    ar_ctx s = staff_ctx();
    ar_error err = {0};
    ck_assert_int_eq(ar_billing_adjust(&s, tenant_a, 100, "too short", NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ck_assert_ptr_nonnull(json_object_get(err.fields, "reason"));
    ar_error_clear(&err);
    ck_assert_int_eq(ar_billing_adjust(&s, tenant_a, 100, "   padded9    ", NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_billing_adjust(&s, tenant_a, 0, "A valid reason here", NULL, NULL, &err), -1);
    ck_assert_ptr_nonnull(json_object_get(err.fields, "amount_cents"));
    ar_error_clear(&err);
    ck_assert_int_eq(ar_billing_adjust(&s, tenant_a, 100, "bad \xff utf8 reason", NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_billing_adjust(&s, tenant_a, 1000000000000LL, "A valid reason here", NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_billing_adjust(&s, 999999, 100, "A valid reason here", NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    ar_ctx owner = make_ctx(owner_a, tenant_a, AR_ROLE_OWNER, 0);
    ck_assert_int_eq(ar_billing_adjust(&owner, tenant_a, 100, "A valid reason here", NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ar_error_clear(&err);
    long long entry = 0, bal = 0;
    ck_assert_int_eq(ar_billing_adjust(&s, tenant_a, 250, "  Goodwill credit for outage  ", &entry, &bal, &err), 0);
    ck_assert_int_eq(bal, 250);
    ck_assert(entry > 0);
    char *reason = it_query_value(raw, "SELECT reason FROM ledger_entries WHERE entry_type = 'adjustment'");
    ck_assert_str_eq(reason, "Goodwill credit for outage");
    free(reason);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'billing.adjusted' AND tenant_id = %lld",
                       tenant_a),
                     1);
    /* A debit may not take available below zero — also counting holds. */
    ck_assert_int_eq(ar_billing_hold(&owner, 0, 77, 200, 0, NULL, &err), 0);
    ck_assert_int_eq(ar_billing_adjust(&s, tenant_a, -51, "Debit more than available", NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_INSUFFICIENT_BALANCE);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_billing_adjust(&s, tenant_a, -50, "Debit exactly what is available", NULL, &bal, &err), 0);
    ck_assert_int_eq(bal, 200);
    ck_assert_int_eq(balance_of(tenant_a).available_cents, 0);
    ck_assert_int_eq(verify_mismatches(), 0);
}
END_TEST

/* ---------------------------------------------------------------- verify */

static int run_cli_verify(char *out, size_t out_size)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "DATABASE_URL='%s' AR_ENV_FILE=/nonexistent %s billing verify 2>/dev/null", db_url,
             it_binary());
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, out_size - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(verify_detects_tampering)
{
    adjust(tenant_a, 700);
    adjust(tenant_b, 300);
    char out[4096];
    ck_assert_int_eq(run_cli_verify(out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "0 mismatch"));
    ck_assert_int_eq(verify_mismatches(), 0);

    /* A balance changed behind the ledger's back. */
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE reserve_accounts SET balance_cents = balance_cents + 5 WHERE tenant_id = %lld",
             tenant_b);
    it_exec(raw, sql);
    ck_assert_int_eq(verify_mismatches(), 1);
    ck_assert_int_eq(run_cli_verify(out, sizeof out), 1);
    ck_assert_ptr_nonnull(strstr(out, "balance_sum"));
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'billing.verify' AND NOT success AND "
                       "details->>'mismatch_count' = '%lld'",
                       1),
                     2);
    snprintf(sql, sizeof sql, "UPDATE reserve_accounts SET balance_cents = balance_cents - 5 WHERE tenant_id = %lld",
             tenant_b);
    it_exec(raw, sql);
    ck_assert_int_eq(verify_mismatches(), 0);

    /* A row planted with the ledger trigger disabled (only the tables' owner can): wrong balance_after, and the
     * account no longer matches its ledger. */
    it_exec(raw, "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_apply");
    snprintf(sql, sizeof sql, "INSERT INTO ledger_entries (tenant_id, entry_type, amount_cents, balance_after_cents, "
                              "held_after_cents, actor_id, reason) VALUES (%lld, 'adjustment', 10, 9999, 0, %lld, "
                              "'Planted by the test')",
             tenant_a, staff_user);
    it_exec(raw, sql);
    it_exec(raw, "ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_apply");
    ar_ctx s = staff_ctx();
    ar_error err = {0};
    json_t *report = NULL;
    ck_assert_int_eq(ar_billing_verify(&s, &report, &err), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(report, "mismatch_count")), 2);
    char *text = json_dumps(report, 0);
    ck_assert_ptr_nonnull(strstr(text, "\"balance_chain\""));
    ck_assert_ptr_nonnull(strstr(text, "\"balance_sum\""));
    free(text);
    json_decref(report);
    ck_assert_int_eq(run_cli_verify(out, sizeof out), 1);
    ck_assert_ptr_nonnull(strstr(out, "balance_chain"));
}
END_TEST

/* ---------------------------------------------------------------- scheduled jobs */

START_TEST(scheduled_jobs_expire_holds_and_verify)
{
    ar_jobs_register();
    const ar_job_type *expire = ar_job_type_find("billing.expire_holds");
    const ar_job_type *verify = ar_job_type_find("billing.verify");
    ck_assert_ptr_nonnull(expire);
    ck_assert_ptr_nonnull(verify);
    /* Both run from the scheduler's table (rows added by migration 0008). */
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM schedules WHERE job_type IN ('billing.expire_holds', "
                                        "'billing.verify') AND enabled"),
                     2);
    adjust(tenant_a, 300);
    ar_ctx a = make_ctx(owner_a, tenant_a, AR_ROLE_OWNER, 0);
    ar_error err = {0};
    ck_assert_int_eq(ar_billing_hold(&a, 0, 61, 100, 1, NULL, &err), 0);
    ck_assert_int_eq(ar_billing_hold(&a, 0, 62, 100, 3600, NULL, &err), 0);
    sleep_ms(1200);
    ar_ctx sys = {0};   /* a system job: no tenant, no user */
    snprintf(sys.request_id, sizeof sys.request_id, "job");
    ar_job_ctx jc = {.job_id = 1, .attempt = 1, .max_attempts = 3, .type = "billing.expire_holds", .ctx = &sys};
    json_t *result = NULL;
    ck_assert_int_eq(expire->handler(&jc, NULL, &result, &err), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(result, "expired")), 1);
    json_decref(result);
    ck_assert_int_eq(balance_of(tenant_a).available_cents, 200);
    result = NULL;
    jc.type = "billing.verify";
    ck_assert_int_eq(verify->handler(&jc, NULL, &result, &err), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(result, "mismatch_count")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(result, "accounts")), 1);
    json_decref(result);
    /* A mismatch fails the nightly job with a clear error. */
    it_exec(raw, "UPDATE reserve_accounts SET held_cents = held_cents + 1");
    result = NULL;
    ck_assert_int_eq(verify->handler(&jc, NULL, &result, &err), -1);
    ck_assert_ptr_null(result);
    ck_assert_ptr_nonnull(strstr(err.message, "mismatch"));
    ar_error_clear(&err);
}
END_TEST

/* ---------------------------------------------------------------- low balance */

START_TEST(low_balance_email_once_per_crossing)
{
    const char *count_sql = "SELECT count(*) FROM email_outbox WHERE to_addr = 'anna@example.com' AND subject LIKE "
                            "'%%reserve balance is low%%' AND %lld = %lld";
    char sql[512];
    snprintf(sql, sizeof sql, count_sql, 1LL, 1LL);
    adjust(tenant_a, 1000);   /* above the 500 threshold */
    ck_assert_int_eq(it_query_long(raw, sql), 0);
    adjust(tenant_a, -600);   /* 400: crossing */
    ck_assert_int_eq(it_query_long(raw, sql), 1);
    adjust(tenant_a, -100);   /* 300: still low, no second e-mail */
    ck_assert_int_eq(it_query_long(raw, sql), 1);
    /* A usage post while low: still one. */
    ar_ctx a = make_ctx(owner_a, tenant_a, AR_ROLE_OWNER, 0);
    ar_error err = {0};
    long long h = 0;
    ck_assert_int_eq(ar_billing_hold(&a, 0, 900, 100, 0, &h, &err), 0);
    ck_assert_int_eq(ar_billing_post(&a, h, 50, NULL, 0, NULL, NULL, &err), 0);
    ck_assert_int_eq(it_query_long(raw, sql), 1);
    adjust(tenant_a, 500);    /* 750: recovered, re-armed */
    ck_assert_int_eq(it_query_long(raw, sql), 1);
    ck_assert_int_eq(q("SELECT count(*) FROM reserve_accounts WHERE tenant_id = %lld AND NOT low_balance_notified",
                       tenant_a),
                     1);
    adjust(tenant_a, -300);   /* 450: second crossing */
    ck_assert_int_eq(it_query_long(raw, sql), 2);
    /* The staff member of tenant A is an owner too: one message each per crossing. */
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM email_outbox WHERE to_addr = 'root@example.com'"), 2);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM email_outbox WHERE to_addr = 'bert@example.com'"), 0);
}
END_TEST

/* ---------------------------------------------------------------- isolation */

START_TEST(tenant_isolation)
{
    adjust(tenant_a, 900);
    ar_ctx a = make_ctx(owner_a, tenant_a, AR_ROLE_OWNER, 0);
    ar_ctx b = make_ctx(member_b, tenant_b, AR_ROLE_OWNER, 0);
    ar_error err = {0};
    long long hold = 0;
    ck_assert_int_eq(ar_billing_hold(&a, 0, 321, 100, 0, &hold, &err), 0);
    json_t *ledger = ar_billing_ledger_list(&b, 50, 0, &err);
    ck_assert_ptr_nonnull(ledger);
    ck_assert_int_eq(json_array_size(json_object_get(ledger, "entries")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(ledger, "total_count")), 0);
    json_decref(ledger);
    ledger = ar_billing_ledger_list(&a, 50, 0, &err);
    ck_assert_int_eq(json_array_size(json_object_get(ledger, "entries")), 2);
    json_decref(ledger);
    /* B cannot touch A's hold, nor read A's balance by naming A. */
    ck_assert_int_eq(ar_billing_void(&b, hold, NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_billing_post(&b, hold, 1, NULL, 0, NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    ar_billing_balance bb;
    ck_assert_int_eq(ar_billing_balance_get(&b, tenant_a, &bb, &err), -1);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_billing_balance_get(&b, 0, &bb, &err), 0);
    ck_assert_int_eq(bb.balance_cents, 0);
    /* B's hold on A's job id is refused (one hold per job), even though B cannot see A's. */
    ck_assert_int_eq(ar_billing_hold(&b, 0, 321, 1, 0, NULL, &err), -1);
    ar_error_clear(&err);
    /* Row-level security on its own: with app.tenant_id = B the ledger shows nothing of A. */
    PGconn *c = it_pg_connect_to(db_url);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT set_config('app.tenant_id', '%lld', false)", tenant_b);
    PQclear(PQexec(c, sql));
    ck_assert_int_eq(it_query_long(c, "SELECT count(*) FROM ledger_entries"), 0);
    ck_assert_int_eq(it_query_long(c, "SELECT count(*) FROM billing_holds"), 0);
    ck_assert_int_eq(it_query_long(c, "SELECT count(*) FROM reserve_accounts WHERE balance_cents > 0"), 0);
    ck_assert_int_eq(it_query_long(c, "SELECT count(*) FROM stripe_events"), 0);
    ck_assert(exec_fails(c, "INSERT INTO ledger_entries (tenant_id, entry_type, amount_cents, balance_after_cents, "
                            "held_after_cents, actor_id, reason) VALUES (1, 'adjustment', 5, 0, 0, 1, 'Cross-tenant!!')"));
    PQfinish(c);
}
END_TEST

/* ---------------------------------------------------------------- HTTP */

static it_daemon d;

static long call(const char *token, const char *method, const char *path, const char *body, it_response *r)
{
    char url[512], auth[160];
    snprintf(url, sizeof url, "%s%s", d.base_url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    memset(r, 0, sizeof *r);
    ck_assert_int_eq(it_http(method, url, headers, body, body ? strlen(body) : 0, r), 0);
    return r->status;
}

static json_t *json_body(it_response *r)
{
    json_t *j = json_loads(ar_buf_cstr(&r->body), 0, NULL);
    ck_assert_msg(j != NULL, "not JSON: %s", ar_buf_cstr(&r->body));
    return j;
}

static void mint(long long user, long long tenant, int staff, char out[AR_SECRET_TEXT_SIZE])
{
    ar_ctx c = make_ctx(user, tenant, AR_ROLE_OWNER, staff);
    ar_error err = {0};
    ck_assert_msg(ar_token_create(&c, "test", "write", 0, out, NULL, &err) == 0, "token: %s", err.message);
}

START_TEST(json_api_over_http)
{
    char env_db[1024];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    const char *env[] = {env_db, NULL};
    ck_assert_msg(it_daemon_start(&d, env) == 0, "daemon did not start; see %s", d.log_path);
    char ta[AR_SECRET_TEXT_SIZE], tb[AR_SECRET_TEXT_SIZE], ts[AR_SECRET_TEXT_SIZE];
    mint(owner_a, tenant_a, 0, ta);
    mint(member_b, tenant_b, 0, tb);
    mint(staff_user, tenant_a, 1, ts);
    it_response r;

    ck_assert_int_eq(call(ta, "GET", "/api/billing/reserve/balance/", NULL, &r), 200);
    json_t *j = json_body(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "balance_cents")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(j, "balance_dollars")), "0.00");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "low_balance_threshold_cents")), 500);
    ck_assert(json_is_true(json_object_get(j, "is_low_balance")));
    json_decref(j);
    it_response_free(&r);

    /* Staff adjustment: validation, permission, success. */
    char body[512];
    snprintf(body, sizeof body, "{\"tenant_id\":%lld,\"amount_cents\":1234,\"reason\":\"short\"}", tenant_a);
    ck_assert_int_eq(call(ts, "POST", "/api/billing/admin/reserve/adjust/", body, &r), 400);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "\"reason\""));
    it_response_free(&r);
    snprintf(body, sizeof body, "{\"tenant_id\":%lld,\"amount_cents\":99999999999999999999,\"reason\":\"long enough "
                                "reason\"}", tenant_a);
    ck_assert_int_eq(call(ts, "POST", "/api/billing/admin/reserve/adjust/", body, &r), 400);
    it_response_free(&r);
    ck_assert_int_eq(call(ts, "POST", "/api/billing/admin/reserve/adjust/", "{\"tenant_id\":999999,\"amount_cents\":"
                                                                            "5,\"reason\":\"long enough reason\"}",
                          &r),
                     404);
    it_response_free(&r);
    snprintf(body, sizeof body, "{\"tenant_id\":%lld,\"amount_cents\":1234,\"reason\":\"Initial credit for tests\"}",
             tenant_a);
    ck_assert_int_eq(call(ta, "POST", "/api/billing/admin/reserve/adjust/", body, &r), 403);
    it_response_free(&r);
    ck_assert_int_eq(call(ts, "POST", "/api/billing/admin/reserve/adjust/", body, &r), 200);
    j = json_body(&r);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "success");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "new_balance_cents")), 1234);
    json_decref(j);
    it_response_free(&r);
    snprintf(body, sizeof body, "{\"tenant_id\":%lld,\"amount_cents\":-5000,\"reason\":\"Debit more than there is\"}",
             tenant_a);
    ck_assert_int_eq(call(ts, "POST", "/api/billing/admin/reserve/adjust/", body, &r), 402);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "insufficient_balance"));
    it_response_free(&r);

    /* A usage post so that the usage endpoints have something. */
    ar_ctx a = make_ctx(owner_a, tenant_a, AR_ROLE_OWNER, 0);
    ar_error err = {0};
    long long hold = 0;
    ck_assert_int_eq(ar_billing_hold(&a, 0, 4242, 500, 0, &hold, &err), 0);
    ar_billing_usage_row rows[] = {{"tokens", "local", "", 1000, 500, 0}, {"per_job", "", "", 0, 0, 1}};
    ck_assert_int_eq(ar_billing_post(&a, hold, 34, rows, 2, "report.generate", NULL, &err), 0);

    ck_assert_int_eq(call(ta, "GET", "/api/billing/reserve/balance/", NULL, &r), 200);
    j = json_body(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "balance_cents")), 1200);
    ck_assert_str_eq(json_string_value(json_object_get(j, "balance_dollars")), "12.00");
    ck_assert(json_is_false(json_object_get(j, "is_low_balance")));
    json_decref(j);
    it_response_free(&r);

    ck_assert_int_eq(call(ta, "GET", "/api/billing/reserve/ledger/?limit=2&offset=0", NULL, &r), 200);
    j = json_body(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "total_count")), 4);
    json_t *entries = json_object_get(j, "entries");
    ck_assert_int_eq(json_array_size(entries), 2);
    json_t *first = json_array_get(entries, 0);
    ck_assert_str_eq(json_string_value(json_object_get(first, "entry_type")), "usage");
    ck_assert_int_eq(json_integer_value(json_object_get(first, "amount_cents")), -34);
    ck_assert_str_eq(json_string_value(json_object_get(first, "amount_dollars")), "-0.34");
    ck_assert_str_eq(json_string_value(json_object_get(first, "related_job_id")), "4242");
    ck_assert_int_eq(json_integer_value(json_object_get(first, "balance_after_cents")), 1200);
    json_decref(j);
    it_response_free(&r);
    ck_assert_int_eq(call(ta, "GET", "/api/billing/reserve/ledger/?limit=0", NULL, &r), 400);
    it_response_free(&r);
    ck_assert_int_eq(call(ta, "GET", "/api/billing/reserve/ledger/?offset=-1", NULL, &r), 400);
    it_response_free(&r);

    /* B sees none of it. */
    ck_assert_int_eq(call(tb, "GET", "/api/billing/reserve/ledger/", NULL, &r), 200);
    j = json_body(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "total_count")), 0);
    json_decref(j);
    it_response_free(&r);
    ck_assert_int_eq(call(tb, "GET", "/api/billing/usage/", NULL, &r), 200);
    j = json_body(&r);
    ck_assert_int_eq(json_array_size(json_object_get(j, "by_model")), 0);
    json_decref(j);
    it_response_free(&r);

    ck_assert_int_eq(call(ta, "GET", "/api/billing/usage/", NULL, &r), 200);
    j = json_body(&r);
    ck_assert_int_eq(json_array_size(json_object_get(j, "by_day")), 1);
    ck_assert_int_eq(json_array_size(json_object_get(j, "by_model")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(j, "by_day"), 0),
                                                        "prompt_tokens")),
                     1000);
    json_decref(j);
    it_response_free(&r);
    ck_assert_int_eq(call(ta, "GET", "/api/billing/usage/?since=2026-13-01", NULL, &r), 400);
    it_response_free(&r);
    ck_assert_int_eq(call(ta, "GET", "/api/billing/usage/?since=2025-02-29", NULL, &r), 400);
    it_response_free(&r);
    ck_assert_int_eq(call(ta, "GET", "/api/billing/usage/?since=2024-02-29&until=2024-03-01", NULL, &r), 200);
    it_response_free(&r);
    ck_assert_int_eq(call(ta, "GET", "/api/billing/usage/?since=2020-01-01&until=2026-01-01", NULL, &r), 400);
    it_response_free(&r);

    /* Staff views. */
    ck_assert_int_eq(call(ta, "GET", "/api/billing/admin/accounts/", NULL, &r), 403);
    it_response_free(&r);
    ck_assert_int_eq(call(ts, "GET", "/api/billing/admin/accounts/?filter=low&sort=-balance", NULL, &r), 200);
    j = json_body(&r);
    ck_assert_int_eq(json_array_size(json_object_get(j, "accounts")), 1);   /* B, at 0 */
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(j, "accounts"), 0), "tenant_id")),
                     tenant_b);
    json_decref(j);
    it_response_free(&r);
    ck_assert_int_eq(call(ts, "GET", "/api/billing/admin/accounts/?filter=nope", NULL, &r), 400);
    it_response_free(&r);
    ck_assert_int_eq(call(ts, "GET", "/api/billing/admin/usage/costs/", NULL, &r), 200);
    j = json_body(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "total_cost_cents")), 0 + 0);   /* local + per_job: free */
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "by_job_type"), 0),
                                                       "job_type")),
                     "report.generate");
    json_decref(j);
    it_response_free(&r);

    ck_assert_int_eq(call(ts, "GET", "/api/billing/admin/ledger.csv", NULL, &r), 200);
    const char *csv = ar_buf_cstr(&r.body);
    ck_assert_ptr_nonnull(strstr(csv, "Tenant ID,Tenant Name,Entry ID,Entry Type,Amount (cents)"));
    ck_assert_ptr_nonnull(strstr(csv, ",usage,-34,-0.34,1200,12.00,"));
    char cd[200];
    ck_assert_ptr_nonnull(it_header(&r, "Content-Disposition", cd, sizeof cd));
    ck_assert_ptr_nonnull(strstr(cd, "ledger_export_"));
    it_response_free(&r);
    ck_assert_int_eq(call(ts, "GET", "/api/billing/admin/ledger.csv?start=2025-02-30", NULL, &r), 400);
    it_response_free(&r);
    snprintf(body, sizeof body, "/api/billing/admin/ledger.csv?tenant=%lld&start=2000-01-01&end=2000-01-02", tenant_a);
    ck_assert_int_eq(call(ts, "GET", body, NULL, &r), 200);
    ck_assert_ptr_null(strstr(ar_buf_cstr(&r.body), ",usage,"));   /* header only: nothing that old */
    it_response_free(&r);
    ck_assert_int_eq(call(ta, "GET", "/api/billing/admin/ledger.csv", NULL, &r), 403);
    it_response_free(&r);

    /* Rate cards: list, add a version (old ones stay as they were). */
    ck_assert_int_eq(call(ts, "GET", "/api/billing/admin/rate-cards/", NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "\"rate_cards\""));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "\"prompt_tokens\""));
    it_response_free(&r);
    const char *card = "{\"name\":\"Spring\",\"prices\":[{\"usage_type\":\"prompt_tokens\",\"price_cents_per_1k\":"
                       "\"0.2\"},{\"usage_type\":\"completion_tokens\",\"price_microcents\":600},{\"usage_type\":"
                       "\"per_job\",\"price_microcents\":0},{\"usage_type\":\"per_mb_stored\",\"price_microcents\":"
                       "10000}]}";
    ck_assert_int_eq(call(ts, "POST", "/api/billing/admin/rate-cards/", card, &r), 201);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "\"version\""));
    it_response_free(&r);
    ck_assert_int_eq(call(ts, "POST", "/api/billing/admin/rate-cards/",
                          "{\"name\":\"Broken\",\"prices\":[{\"usage_type\":\"prompt_tokens\",\"price_microcents\":1}]}",
                          &r),
                     400);
    it_response_free(&r);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM rate_cards"), 2);
    ck_assert_int_eq(it_query_long(raw, "SELECT price_microcents FROM rate_card_prices p JOIN rate_cards c ON "
                                        "c.id = p.rate_card_id WHERE c.version = 2 AND usage_type = 'prompt_tokens'"),
                     200);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM rate_cards WHERE version = 1 AND effective_to IS NOT NULL"),
                     1);

    ck_assert_int_eq(call(ts, "GET", "/api/billing/admin/stripe-events/", NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "\"events\""));
    it_response_free(&r);

    /* Low-balance thresholds: the tenant's owner for their own, staff for any. */
    ck_assert_int_eq(call(ta, "POST", "/api/billing/reserve/threshold/", "{\"low_balance_threshold_cents\":2000}", &r),
                     200);
    j = json_body(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "low_balance_threshold_cents")), 2000);
    ck_assert(json_is_true(json_object_get(j, "is_low_balance")));
    json_decref(j);
    it_response_free(&r);
    ck_assert_int_eq(call(ta, "POST", "/api/billing/reserve/threshold/", "{\"low_balance_threshold_cents\":-5}", &r),
                     400);
    it_response_free(&r);
    ck_assert_int_eq(call(ta, "POST", "/api/billing/reserve/threshold/", "{}", &r), 400);
    it_response_free(&r);
    snprintf(body, sizeof body, "{\"tenant_id\":%lld,\"low_balance_threshold_cents\":500}", tenant_a);
    ck_assert_int_eq(call(ta, "POST", "/api/billing/admin/reserve/threshold/", body, &r), 403);
    it_response_free(&r);
    ck_assert_int_eq(call(ts, "POST", "/api/billing/admin/reserve/threshold/", body, &r), 200);
    it_response_free(&r);
    ck_assert_int_eq(q("SELECT low_balance_threshold_cents FROM reserve_accounts WHERE tenant_id = %lld", tenant_a),
                     500);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'billing.threshold_changed' AND "
                       "tenant_id = %lld",
                       tenant_a),
                     2);
    ck_assert_int_eq(q("SELECT count(*) FROM email_outbox WHERE %lld = 1", 1), 0);   /* a threshold change mails no one */

    /* Staff pages render (bearer tokens authenticate pages too) and the adjust form validates. */
    ck_assert_int_eq(call(ts, "GET", "/admin/billing?filter=zero&sort=name", NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "Tenant B"));
    ck_assert_ptr_null(strstr(ar_buf_cstr(&r.body), "<td class=\"cell-wrap\">Tenant A</td>"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "billing-amount--zero"));
    it_response_free(&r);
    ck_assert_int_eq(call(ta, "GET", "/admin/billing", NULL, &r), 403);
    it_response_free(&r);
    ck_assert_int_eq(call(ts, "GET", "/admin/billing/rate-cards", NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "Version 2: Spring"));
    it_response_free(&r);
    ck_assert_int_eq(call(ts, "GET", "/admin/billing/usage?since=2020-01-01&until=2030-01-01", NULL, &r), 422);
    it_response_free(&r);
    ck_assert_int_eq(call(ts, "GET", "/admin/billing/usage", NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "report.generate"));
    it_response_free(&r);
    ck_assert_int_eq(call(ts, "GET", "/admin/billing/stripe-events", NULL, &r), 200);
    it_response_free(&r);
    {
        char url[512], auth[160];
        snprintf(url, sizeof url, "%s/admin/billing/adjust", d.base_url);
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", ts);
        const char *headers[] = {auth, "Content-Type: application/x-www-form-urlencoded", NULL};
        char form[256];
        snprintf(form, sizeof form, "tenant_id=%lld&amount=1.5&reason=short", tenant_b);
        ck_assert_int_eq(it_http("POST", url, headers, form, strlen(form), &r), 0);
        ck_assert_int_eq(r.status, 422);
        ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "at least 10 characters"));
        it_response_free(&r);
        snprintf(form, sizeof form, "tenant_id=%lld&amount=-1.5&reason=Debit+below+zero", tenant_b);
        ck_assert_int_eq(it_http("POST", url, headers, form, strlen(form), &r), 0);
        ck_assert_int_eq(r.status, 422);
        it_response_free(&r);
        snprintf(url, sizeof url, "%s/admin/billing/threshold", d.base_url);
        snprintf(form, sizeof form, "threshold_tenant_id=%lld&threshold=-1", tenant_b);
        ck_assert_int_eq(it_http("POST", url, headers, form, strlen(form), &r), 0);
        ck_assert_int_eq(r.status, 422);
        it_response_free(&r);
        snprintf(form, sizeof form, "threshold_tenant_id=%lld&threshold=12.5", tenant_b);
        ck_assert_int_eq(it_http("POST", url, headers, form, strlen(form), &r), 0);
        ck_assert_int_eq(r.status, 303);
        it_response_free(&r);
        ck_assert_int_eq(q("SELECT low_balance_threshold_cents FROM reserve_accounts WHERE tenant_id = %lld", tenant_b),
                         1250);
        snprintf(url, sizeof url, "%s/admin/billing/adjust", d.base_url);
        snprintf(form, sizeof form, "tenant_id=%lld&amount=1.5&reason=Goodwill+credit", tenant_b);
        ck_assert_int_eq(it_http("POST", url, headers, form, strlen(form), &r), 0);
        ck_assert_int_eq(r.status, 303);
        it_response_free(&r);
    }
    ck_assert_int_eq(q("SELECT balance_cents FROM reserve_accounts WHERE tenant_id = %lld", tenant_b), 150);

    /* The status bar shows the real balance. */
    ck_assert_int_eq(call(ta, "GET", "/api/status/bar/", NULL, &r), 200);
    j = json_body(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "reserve_balance_cents")), 1200);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "tokens_in")), 1000);
    json_decref(j);
    it_response_free(&r);
    ck_assert_int_eq(call(tb, "GET", "/api/status/bar/", NULL, &r), 200);
    j = json_body(&r);
    ck_assert(json_is_false(json_object_get(j, "is_zero_balance")));
    ck_assert(json_is_true(json_object_get(j, "is_low_balance")));
    json_decref(j);
    it_response_free(&r);
    ck_assert_int_eq(it_daemon_stop(&d), 0);
}
END_TEST

Suite *billing_suite(void)
{
    Suite *s = suite_create("billing");
    TCase *tc = tcase_create("ledger");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, hold_post_void_exactly_once_per_job);
    tcase_add_test(tc, concurrent_one_cent_holds_exactly_100_of_200);
    tcase_add_test(tc, concurrent_posts_voids_and_adjustments_keep_invariants);
    tcase_add_test(tc, database_refuses_ledger_and_rate_card_edits);
    tcase_add_test(tc, adjustment_validation);
    tcase_add_test(tc, verify_detects_tampering);
    tcase_add_test(tc, scheduled_jobs_expire_holds_and_verify);
    tcase_add_test(tc, low_balance_email_once_per_crossing);
    tcase_add_test(tc, tenant_isolation);
    tcase_add_test(tc, json_api_over_http);
    suite_add_tcase(s, tc);
    return s;
}
