/* test_audit.c — integration tests of the audit log against the test PostgreSQL: writing events (inside a
 * transaction and on their own), every list filter and its validation, keyset pagination, tenant isolation
 * by row-level security (through the service and through a raw query), who may read, the database refusing
 * UPDATE/DELETE, and the CSV export (RFC 4180 quoting, formula neutralisation, the row cap). Each test gets
 * its own migrated throw-away database. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/error.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/context.h"
#include "afterresume/domain/registry.h"
#include "integration/harness.h"

static char *db_url;
static PGconn *raw; /* a separate connection as the application's role, for fixtures and raw checks */
static long long tenant_a, tenant_b, alice, bob, mallory, staff_user, passkey_a;

static long long query_id(const char *sql)
{
    return it_query_long(raw, sql);
}

static void setup(void)
{
    db_url = it_migrated_db();
    ar_domain_register_all();
    raw = it_pg_connect_to(db_url);
    tenant_a = query_id("INSERT INTO tenants (name) VALUES ('Tenant A') RETURNING id");
    tenant_b = query_id("INSERT INTO tenants (name) VALUES ('Tenant B') RETURNING id");
    alice = query_id("INSERT INTO users (username, email, password_hash) VALUES ('alice', 'alice@example.com', 'x') "
                     "RETURNING id");
    bob = query_id("INSERT INTO users (username, email, password_hash) VALUES ('bob', 'bob@example.com', 'x') "
                   "RETURNING id");
    mallory = query_id("INSERT INTO users (username, email, password_hash) VALUES ('mallory', 'm@example.com', 'x') "
                       "RETURNING id");
    staff_user = query_id("INSERT INTO users (username, email, password_hash, is_staff) VALUES ('root', "
                          "'root@example.com', 'x', true) RETURNING id");
    char *sql = ar_asprintf("INSERT INTO invite_passkeys (key_hash, tenant_id) VALUES (decode(repeat('ab', 32), "
                            "'hex'), %lld) RETURNING id",
                            tenant_a);
    it_exec(raw, "SET app.bypass_rls = 'on'"); /* invite_passkeys is tenant-isolated */
    passkey_a = query_id(sql);
    it_exec(raw, "RESET app.bypass_rls");
    ar_free(sql);
}

static void teardown(void)
{
    ar_db_shutdown();
    PQfinish(raw);
    raw = NULL;
    it_drop_db(db_url);
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
    snprintf(c.ip, sizeof c.ip, "198.51.100.%lld", user % 250);
    snprintf(c.user_agent, sizeof c.user_agent, "TestAgent/1.0 (user %lld)", user);
    snprintf(c.request_id, sizeof c.request_id, "req-%lld-%lld", user, tenant);
    return c;
}

static ar_ctx staff_ctx(void)
{
    return make_ctx(staff_user, 0, AR_ROLE_NONE, 1);
}

static ar_ctx admin_a(void)
{
    return make_ctx(alice, tenant_a, AR_ROLE_ADMIN, 0);
}

static ar_ctx admin_b(void)
{
    return make_ctx(bob, tenant_b, AR_ROLE_OWNER, 0);
}

typedef struct write_call {
    const ar_ctx *ctx;
    const ar_audit_event *ev;
} write_call;

static int write_in_tx(PGconn *c, void *arg, ar_error *err)
{
    write_call *call = arg;
    return ar_audit_write(c, call->ctx, call->ev, err);
}

static void write_event(const ar_ctx *ctx, const ar_audit_event *ev)
{
    write_call call = {ctx, ev};
    ar_error err = {0};
    ck_assert_msg(ar_ctx_tx(ctx, write_in_tx, &call, &err) == 0, "audit write failed: %s", err.message);
    ar_error_clear(&err);
}

static json_t *list_ok(const ar_ctx *ctx, const ar_audit_filter *f)
{
    ar_error err = {0};
    json_t *out = ar_audit_list(ctx, f, &err);
    ck_assert_msg(out != NULL, "ar_audit_list failed: %s", err.message);
    ar_error_clear(&err);
    return out;
}

static size_t count_events(const ar_ctx *ctx, const ar_audit_filter *f)
{
    json_t *out = list_ok(ctx, f);
    size_t n = json_array_size(json_object_get(out, "events"));
    json_decref(out);
    return n;
}

/* Insert n events straight into the table (fixtures with chosen timestamps or in bulk). */
static void insert_raw(const char *values_sql)
{
    char *sql = ar_asprintf("INSERT INTO audit_events (actor_id, tenant_id, action, success, created_at, passkey_id) "
                            "%s",
                            values_sql);
    it_exec(raw, sql);
    ar_free(sql);
}

/* ---- writing ------------------------------------------------------------------------------------ */

START_TEST(write_then_list_returns_every_field)
{
    ar_ctx ctx = admin_a();
    json_t *details = json_pack("{s:s s:i}", "before", "member", "after", 3);
    ar_audit_event ev = {.action = "member.role_changed",
                         .target_type = "user",
                         .target_id = "42",
                         .success = 1,
                         .reason = "promoted",
                         .details = details,
                         .passkey_id = passkey_a};
    write_event(&ctx, &ev);
    json_decref(details);

    ar_audit_filter f = ar_audit_filter_any();
    json_t *out = list_ok(&ctx, &f);
    json_t *events = json_object_get(out, "events");
    ck_assert_int_eq(json_array_size(events), 1);
    ck_assert(json_is_null(json_object_get(out, "next_before_id")));
    json_t *e = json_array_get(events, 0);
    ck_assert_int_gt(json_integer_value(json_object_get(e, "id")), 0);
    const char *created = json_string_value(json_object_get(e, "created_at"));
    ck_assert_ptr_nonnull(created);
    /* 2024-01-02T03:04:05.123456Z */
    ck_assert_int_eq(strlen(created), 27);
    ck_assert_int_eq(created[10], 'T');
    ck_assert_int_eq(created[26], 'Z');
    ck_assert_int_eq(json_integer_value(json_object_get(e, "actor_id")), alice);
    ck_assert_str_eq(json_string_value(json_object_get(e, "actor_username")), "alice");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "tenant_id")), tenant_a);
    ck_assert_str_eq(json_string_value(json_object_get(e, "action")), "member.role_changed");
    ck_assert_str_eq(json_string_value(json_object_get(e, "target_type")), "user");
    ck_assert_str_eq(json_string_value(json_object_get(e, "target_id")), "42");
    ck_assert_str_eq(json_string_value(json_object_get(e, "ip")), ctx.ip);
    ck_assert_str_eq(json_string_value(json_object_get(e, "user_agent")), ctx.user_agent);
    ck_assert_str_eq(json_string_value(json_object_get(e, "request_id")), ctx.request_id);
    ck_assert(json_is_true(json_object_get(e, "success")));
    ck_assert_str_eq(json_string_value(json_object_get(e, "reason")), "promoted");
    json_t *d = json_object_get(e, "details");
    ck_assert_str_eq(json_string_value(json_object_get(d, "before")), "member");
    ck_assert_int_eq(json_integer_value(json_object_get(d, "after")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "passkey_id")), passkey_a);
    json_decref(out);

    /* The row itself: created_at is close to now. */
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM audit_events WHERE created_at > now() - interval '1 minute'"
                                        " AND created_at <= now()"),
                     0); /* RLS: the raw connection has no tenant set, so it sees nothing */
    it_exec(raw, "SET app.bypass_rls = 'on'");
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM audit_events WHERE created_at > now() - interval '1 minute'"),
                     1);
    it_exec(raw, "RESET app.bypass_rls");
}
END_TEST

START_TEST(write_defaults_and_explicit_ids)
{
    /* Anonymous context, no tenant: actor and tenant are NULL, details '{}', reason ''. */
    ar_ctx anon = make_ctx(0, 0, AR_ROLE_NONE, 0);
    ar_audit_event failed = {.action = "signin.failed", .success = 0, .reason = "bad password"};
    write_event(&anon, &failed);
    /* Explicit actor/tenant override the context's. */
    ar_ctx ctx = admin_a();
    ar_audit_event explicit_ids = {.action = "user.disabled", .success = 1, .actor_id = bob, .tenant_id = tenant_b};
    write_event(&ctx, &explicit_ids);

    ar_ctx staff = staff_ctx();
    ar_audit_filter f = ar_audit_filter_any();
    json_t *out = list_ok(&staff, &f);
    json_t *events = json_object_get(out, "events");
    ck_assert_int_eq(json_array_size(events), 2);
    json_t *newest = json_array_get(events, 0), *oldest = json_array_get(events, 1);
    ck_assert_str_eq(json_string_value(json_object_get(newest, "action")), "user.disabled");
    ck_assert_int_eq(json_integer_value(json_object_get(newest, "actor_id")), bob);
    ck_assert_str_eq(json_string_value(json_object_get(newest, "actor_username")), "bob");
    ck_assert_int_eq(json_integer_value(json_object_get(newest, "tenant_id")), tenant_b);
    ck_assert_str_eq(json_string_value(json_object_get(oldest, "action")), "signin.failed");
    ck_assert(json_is_null(json_object_get(oldest, "actor_id")));
    ck_assert(json_is_null(json_object_get(oldest, "actor_username")));
    ck_assert(json_is_null(json_object_get(oldest, "tenant_id")));
    ck_assert(json_is_null(json_object_get(oldest, "target_type")));
    ck_assert(json_is_null(json_object_get(oldest, "passkey_id")));
    ck_assert(json_is_false(json_object_get(oldest, "success")));
    ck_assert_str_eq(json_string_value(json_object_get(oldest, "reason")), "bad password");
    ck_assert_int_eq(json_object_size(json_object_get(oldest, "details")), 0);
    json_decref(out);
}
END_TEST

START_TEST(write_rejects_bad_action_and_details)
{
    ar_ctx ctx = admin_a();
    char long_action[66];
    memset(long_action, 'a', 65);
    long_action[65] = '\0';
    const char *bad[] = {NULL, "", long_action, "sign in", "signin;drop"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ar_audit_event ev = {.action = bad[i], .success = 1};
        write_call call = {&ctx, &ev};
        ar_error err = {0};
        ck_assert_int_eq(ar_ctx_tx(&ctx, write_in_tx, &call, &err), -1);
        ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
        ck_assert_ptr_nonnull(json_object_get(err.fields, "action"));
        ar_error_clear(&err);
    }
    long_action[64] = '\0'; /* 64 characters is allowed */
    ar_audit_event ok = {.action = long_action, .success = 1};
    write_event(&ctx, &ok);

    json_t *array = json_array();
    ar_audit_event bad_details = {.action = "x.y", .details = array};
    write_call call = {&ctx, &bad_details};
    ar_error err = {0};
    ck_assert_int_eq(ar_ctx_tx(&ctx, write_in_tx, &call, &err), -1);
    ck_assert_ptr_nonnull(json_object_get(err.fields, "details"));
    ar_error_clear(&err);
    json_decref(array);
    ar_audit_filter f = ar_audit_filter_any();
    ck_assert_int_eq(count_events(&ctx, &f), 1);
}
END_TEST

START_TEST(write_stores_invalid_utf8_and_nul_safely)
{
    ar_ctx ctx = admin_a();
    snprintf(ctx.user_agent, sizeof ctx.user_agent, "Bad\xff\xfe" "Agent \xc3\xa9");
    json_t *details = json_object();
    json_object_set_new(details, "raw", json_stringn("a\0b", 3));
    json_object_set_new(details, "escaped", json_string("\\u0000 stays"));
    ar_audit_event ev = {.action = "signin.ok", .success = 1, .details = details, .reason = "r\xc3"};
    write_event(&ctx, &ev);
    json_decref(details);
    ar_audit_filter f = ar_audit_filter_any();
    json_t *out = list_ok(&ctx, &f);
    json_t *e = json_array_get(json_object_get(out, "events"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(e, "user_agent")), "Bad??Agent \xc3\xa9");
    ck_assert_str_eq(json_string_value(json_object_get(e, "reason")), "r?");
    json_t *d = json_object_get(e, "details");
    ck_assert_str_eq(json_string_value(json_object_get(d, "raw")), "a\xef\xbf\xbd" "b");
    ck_assert_str_eq(json_string_value(json_object_get(d, "escaped")), "\\u0000 stays");
    json_decref(out);
}
END_TEST

START_TEST(write_bounds_long_text_and_details)
{
    ar_ctx ctx = admin_a();
    char *reason = ar_malloc(3001);
    memset(reason, 'r', 3000);
    reason[3000] = '\0';
    reason[999] = '\xc3'; /* a two-byte character straddling the 1000-byte bound is dropped whole */
    reason[1000] = '\xa9';
    char *big = ar_malloc(70001);
    memset(big, 'b', 70000);
    big[70000] = '\0';
    json_t *details = json_pack("{s:s}", "big", big);
    ar_audit_event ev = {.action = "user.created", .target_id = big, .reason = reason, .details = details};
    write_event(&ctx, &ev);
    json_decref(details);
    ar_audit_filter f = ar_audit_filter_any();
    json_t *out = list_ok(&ctx, &f);
    json_t *e = json_array_get(json_object_get(out, "events"), 0);
    ck_assert_int_eq(strlen(json_string_value(json_object_get(e, "reason"))), 999);
    ck_assert_int_eq(strlen(json_string_value(json_object_get(e, "target_id"))), 256);
    ck_assert(json_is_true(json_object_get(json_object_get(e, "details"), "truncated")));
    json_decref(out);
    ar_free(big);
    ar_free(reason);
}
END_TEST

START_TEST(record_writes_and_never_fails_the_caller)
{
    ar_ctx ctx = admin_a();
    ar_audit_event ev = {.action = "passkey.rejected", .success = 0, .reason = "expired", .passkey_id = passkey_a};
    ar_audit_record(&ctx, &ev);
    /* A reference to a user that does not exist: the insert fails, record logs and returns. */
    ar_audit_event broken = {.action = "signin.failed", .actor_id = 999999999};
    ar_audit_record(&ctx, &broken);
    ar_audit_event invalid = {.action = ""};
    ar_audit_record(&ctx, &invalid);
    ar_audit_record(NULL, &ev); /* no context at all: anonymous */
    ar_audit_filter f = ar_audit_filter_any();
    ar_ctx staff = staff_ctx();
    ck_assert_int_eq(count_events(&staff, &f), 2);
    f.action = "signin.failed";
    ck_assert_int_eq(count_events(&staff, &f), 0);
}
END_TEST

/* ---- filters ------------------------------------------------------------------------------------ */

static void make_filter_fixture(void)
{
    char *sql = ar_asprintf(
        "VALUES (%lld, %lld, 'signin.ok', true, '2024-03-01 10:00:00+00', NULL), "
        "(%lld, %lld, 'signin.failed', false, '2024-03-01 23:59:59.5+00', NULL), "
        "(%lld, %lld, 'signin.ok', true, '2024-03-02 00:00:00+00', NULL), "
        "(%lld, %lld, 'passkey.consumed', true, '2024-03-03 12:00:00+00', %lld), "
        "(NULL, NULL, 'signin.failed', false, '2024-03-04 08:00:00+00', NULL), "
        "(%lld, %lld, 'signup.ok', true, '2024-03-05 00:00:00+00', %lld)",
        alice, tenant_a, alice, tenant_a, bob, tenant_b, alice, tenant_a, passkey_a, mallory, tenant_a, passkey_a);
    insert_raw(sql);
    ar_free(sql);
}

START_TEST(list_every_filter)
{
    make_filter_fixture();
    ar_ctx staff = staff_ctx();
    ar_audit_filter f = ar_audit_filter_any();
    ck_assert_int_eq(count_events(&staff, &f), 6);

    f = ar_audit_filter_any();
    f.actor_id = alice;
    ck_assert_int_eq(count_events(&staff, &f), 3);
    f = ar_audit_filter_any();
    f.tenant_id = tenant_b;
    ck_assert_int_eq(count_events(&staff, &f), 1);
    f = ar_audit_filter_any();
    f.action = "signin.ok";
    ck_assert_int_eq(count_events(&staff, &f), 2);
    f.action = "signin."; /* prefix */
    ck_assert_int_eq(count_events(&staff, &f), 4);
    f.action = "signin"; /* exact: no such action */
    ck_assert_int_eq(count_events(&staff, &f), 0);
    f = ar_audit_filter_any();
    f.success = 0;
    ck_assert_int_eq(count_events(&staff, &f), 2);
    f.success = 1;
    ck_assert_int_eq(count_events(&staff, &f), 4);
    f = ar_audit_filter_any();
    f.passkey_id = passkey_a;
    ck_assert_int_eq(count_events(&staff, &f), 2);

    /* Dates: since inclusive from midnight UTC, until includes the whole day. */
    f = ar_audit_filter_any();
    f.since = "2024-03-02";
    ck_assert_int_eq(count_events(&staff, &f), 4);
    f = ar_audit_filter_any();
    f.until = "2024-03-01";
    ck_assert_int_eq(count_events(&staff, &f), 2);
    f.since = "2024-03-01";
    ck_assert_int_eq(count_events(&staff, &f), 2);
    f = ar_audit_filter_any();
    f.since = "2024-03-02";
    f.until = "2024-03-03";
    ck_assert_int_eq(count_events(&staff, &f), 2);
    /* Timestamps: since inclusive, until exclusive, offsets honoured. */
    f = ar_audit_filter_any();
    f.since = "2024-03-01T23:59:59.5Z";
    f.until = "2024-03-02T00:00:00Z";
    ck_assert_int_eq(count_events(&staff, &f), 1);
    f.since = "2024-03-03T13:00:00+01:00"; /* = 12:00 UTC */
    f.until = "2024-03-03T12:00:01Z";
    ck_assert_int_eq(count_events(&staff, &f), 1);
    f.since = "2024-03-03 07:00-0500";
    f.until = NULL;
    ck_assert_int_eq(count_events(&staff, &f), 3);

    /* Combined: alice's successful sign-ins in tenant A. */
    f = ar_audit_filter_any();
    f.actor_id = alice;
    f.tenant_id = tenant_a;
    f.action = "signin.";
    f.success = 1;
    json_t *out = list_ok(&staff, &f);
    json_t *events = json_object_get(out, "events");
    ck_assert_int_eq(json_array_size(events), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(events, 0), "created_at")),
                     "2024-03-01T10:00:00.000000Z");
    json_decref(out);

    /* before_id and limit. */
    it_exec(raw, "SET app.bypass_rls = 'on'");
    long long max_id = it_query_long(raw, "SELECT max(id) FROM audit_events");
    it_exec(raw, "RESET app.bypass_rls");
    f = ar_audit_filter_any();
    f.before_id = max_id;
    ck_assert_int_eq(count_events(&staff, &f), 5);
    f.limit = 2;
    out = list_ok(&staff, &f);
    events = json_object_get(out, "events");
    ck_assert_int_eq(json_array_size(events), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(events, 0), "id")), max_id - 1);
    ck_assert_int_eq(json_integer_value(json_object_get(out, "next_before_id")), max_id - 2);
    json_decref(out);
}
END_TEST

/* f is refused by the list and (unless the field is the list-only limit) by the export. */
static void assert_filter_rejected(const ar_audit_filter *f, const char *field)
{
    ar_ctx staff = staff_ctx();
    ar_error err = {0};
    ck_assert_ptr_null(ar_audit_list(&staff, f, &err));
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ck_assert_msg(json_object_get(err.fields, field) != NULL, "no field error for %s", field);
    ar_error_clear(&err);
    if (strcmp(field, "limit") == 0) return;
    ar_buf csv = AR_BUF_INIT;
    ck_assert_int_eq(ar_audit_export_csv(&staff, f, &csv, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ck_assert_msg(json_object_get(err.fields, field) != NULL, "no export field error for %s", field);
    ck_assert_int_eq(csv.len, 0);
    ar_error_clear(&err);
    ar_buf_free(&csv);
}

START_TEST(list_rejects_bad_filters)
{
    static const char *const bad_dates[] = {"yesterday",           "2024-02-30",          "2023-02-29",
                                            "2024-13-01",          "2024-1-01",           "2024-01-01T25:00",
                                            "2024-01-01T10:60",    "2024-01-01T10:00:61", "2024-01-01T10:00+24:00",
                                            "2024-01-01T10:00:00.", "2024-01-01 x",       "1899-12-31",
                                            "2024-01-01T10:00:00Z junk", "'; DROP TABLE audit_events; --"};
    for (size_t i = 0; i < sizeof bad_dates / sizeof bad_dates[0]; i++) {
        ar_audit_filter f = ar_audit_filter_any();
        f.since = bad_dates[i];
        assert_filter_rejected(&f, "since");
        f = ar_audit_filter_any();
        f.until = bad_dates[i];
        assert_filter_rejected(&f, "until");
    }
    ar_audit_filter f = ar_audit_filter_any();
    f.since = "2024-03-02";
    f.until = "2024-03-01T00:00:00Z";
    assert_filter_rejected(&f, "until");
    f = ar_audit_filter_any();
    f.limit = 201;
    assert_filter_rejected(&f, "limit");
    f.limit = -1;
    assert_filter_rejected(&f, "limit");
    f = ar_audit_filter_any();
    f.success = 2;
    assert_filter_rejected(&f, "success");
    f = ar_audit_filter_any();
    f.action = "signin ok";
    assert_filter_rejected(&f, "action");
    f.action = "signin.%";
    assert_filter_rejected(&f, "action");
    f = ar_audit_filter_any();
    f.actor_id = -3;
    assert_filter_rejected(&f, "actor_id");
    f = ar_audit_filter_any();
    f.before_id = -1;
    assert_filter_rejected(&f, "before_id");
    f = ar_audit_filter_any();
    f.passkey_id = -1;
    assert_filter_rejected(&f, "passkey_id");
    /* Several bad values at once: one error, every field named. */
    f = ar_audit_filter_any();
    f.limit = 500;
    f.since = "nope";
    ar_ctx staff = staff_ctx();
    ar_error err = {0};
    ck_assert_ptr_null(ar_audit_list(&staff, &f, &err));
    ck_assert_int_eq(json_object_size(err.fields), 2);
    ar_error_clear(&err);
    /* Boundary values are fine. */
    f = ar_audit_filter_any();
    f.limit = 200;
    f.since = "2024-02-29T23:59:59.999999999Z";
    ck_assert_int_eq(count_events(&staff, &f), 0);
    f.limit = 1;
    ck_assert_int_eq(count_events(&staff, &f), 0);
}
END_TEST

START_TEST(keyset_pagination_returns_every_row_once)
{
    char *sql = ar_asprintf("SELECT CASE WHEN g %% 3 = 0 THEN %lld ELSE %lld END, CASE WHEN g %% 2 = 0 THEN %lld "
                            "ELSE %lld END, 'signin.ok', g %% 5 <> 0, now() - make_interval(secs => g), NULL "
                            "FROM generate_series(1, 237) g",
                            alice, bob, tenant_a, tenant_b);
    insert_raw(sql);
    ar_free(sql);
    const long expected_a = 118; /* the even g of 1..237 */
    for (int pass = 0; pass < 2; pass++) {
        ar_ctx reader = pass == 0 ? staff_ctx() : admin_a();
        long total = pass == 0 ? 237 : expected_a;
        ar_audit_filter f = ar_audit_filter_any();
        f.limit = pass == 0 ? 50 : 17;
        char *seen = ar_calloc(100000, 1);
        long rows = 0, pages = 0;
        long long last = 0;
        for (;;) {
            json_t *out = list_ok(&reader, &f);
            json_t *events = json_object_get(out, "events");
            size_t i;
            json_t *e;
            json_array_foreach(events, i, e)
            {
                long long id = json_integer_value(json_object_get(e, "id"));
                ck_assert_int_lt(id, 100000);
                ck_assert_msg(!seen[id], "id %lld returned twice", id);
                seen[id] = 1;
                if (last) ck_assert_int_lt(id, last); /* newest first */
                last = id;
                rows++;
                if (pass == 1) ck_assert_int_eq(json_integer_value(json_object_get(e, "tenant_id")), tenant_a);
            }
            ck_assert_int_le(json_array_size(events), (size_t)f.limit);
            pages++;
            json_t *next = json_object_get(out, "next_before_id");
            if (json_is_null(next)) {
                json_decref(out);
                break;
            }
            ck_assert_int_eq(json_array_size(events), (size_t)f.limit);
            f.before_id = json_integer_value(next);
            json_decref(out);
        }
        ck_assert_int_eq(rows, total);
        ck_assert_int_eq(pages, (total + f.limit - 1) / f.limit);
        ar_free(seen);
    }
}
END_TEST

/* ---- access --------------------------------------------------------------------------------------- */

START_TEST(tenant_admin_sees_only_own_tenant)
{
    ar_ctx a = admin_a(), b = admin_b();
    ar_audit_event ev_a = {.action = "token.created", .success = 1};
    ar_audit_event ev_b = {.action = "token.revoked", .success = 1};
    for (int i = 0; i < 3; i++) write_event(&a, &ev_a);
    for (int i = 0; i < 4; i++) write_event(&b, &ev_b);
    ar_audit_event platform = {.action = "signin.failed"}; /* no tenant */
    ar_ctx anon = make_ctx(0, 0, AR_ROLE_NONE, 0);
    write_event(&anon, &platform);

    ar_audit_filter f = ar_audit_filter_any();
    json_t *out = list_ok(&a, &f);
    json_t *events = json_object_get(out, "events");
    ck_assert_int_eq(json_array_size(events), 3);
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) ck_assert_int_eq(json_integer_value(json_object_get(e, "tenant_id")), tenant_a);
    json_decref(out);
    /* Asking for tenant B's events explicitly yields nothing, not an error. */
    f.tenant_id = tenant_b;
    ck_assert_int_eq(count_events(&a, &f), 0);
    f = ar_audit_filter_any();
    f.action = "token.revoked";
    ck_assert_int_eq(count_events(&a, &f), 0);
    /* Even a context claiming bypass is held to its tenant when it is not staff. */
    ar_ctx sneaky = a;
    sneaky.bypass_rls = 1;
    f = ar_audit_filter_any();
    ck_assert_int_eq(count_events(&sneaky, &f), 3);
    ck_assert_int_eq(count_events(&b, &f), 4);
    ar_ctx staff = staff_ctx();
    ck_assert_int_eq(count_events(&staff, &f), 8);

    /* The database itself: a raw query under tenant A's setting returns none of tenant B's rows. */
    char *super = it_query_value(raw, "SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user");
    ck_assert_str_eq(super, "false"); /* superusers bypass RLS: the check below would prove nothing */
    ar_free(super);
    char *sql = ar_asprintf("SELECT set_config('app.tenant_id', '%lld', false)", tenant_a);
    it_exec(raw, sql);
    ar_free(sql);
    sql = ar_asprintf("SELECT count(*) FROM audit_events WHERE tenant_id = %lld", tenant_b);
    ck_assert_int_eq(it_query_long(raw, sql), 0);
    ar_free(sql);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM audit_events"), 3);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM audit_events WHERE tenant_id IS NULL"), 0);
    it_exec(raw, "SELECT set_config('app.tenant_id', '', false)");
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM audit_events"), 0);
}
END_TEST

START_TEST(non_admins_are_refused)
{
    ar_audit_event ev = {.action = "signin.ok", .success = 1};
    ar_ctx a = admin_a();
    write_event(&a, &ev);
    const ar_ctx refused[] = {
        make_ctx(mallory, tenant_a, AR_ROLE_MEMBER, 0),
        make_ctx(mallory, tenant_a, AR_ROLE_READ_ONLY, 0),
        make_ctx(mallory, tenant_a, AR_ROLE_NONE, 0),
        make_ctx(mallory, 0, AR_ROLE_ADMIN, 0),
        make_ctx(0, 0, AR_ROLE_NONE, 0),
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ar_audit_filter f = ar_audit_filter_any();
        ar_error err = {0};
        ck_assert_ptr_null(ar_audit_list(&refused[i], &f, &err));
        ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
        ar_error_clear(&err);
        ar_buf csv = AR_BUF_INIT;
        ck_assert_int_eq(ar_audit_export_csv(&refused[i], &f, &csv, &err), -1);
        ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
        ck_assert_int_eq(csv.len, 0);
        ar_error_clear(&err);
        ar_buf_free(&csv);
    }
}
END_TEST

static int raw_sql_in_tx(PGconn *c, void *arg, ar_error *err)
{
    PGresult *r = ar_db_exec_sql(c, arg, err);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

START_TEST(database_refuses_update_and_delete)
{
    ar_ctx a = admin_a();
    ar_audit_event ev = {.action = "password.changed", .success = 1};
    write_event(&a, &ev);
    it_exec(raw, "SET app.bypass_rls = 'on'");
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM audit_events"), 1);
    const char *attempts[] = {"UPDATE audit_events SET success = false", "UPDATE audit_events SET reason = 'x'",
                              "DELETE FROM audit_events"};
    /* Row-level security has no UPDATE or DELETE policy: even with bypass on, nothing is touched. */
    for (size_t i = 0; i < sizeof attempts / sizeof attempts[0]; i++) {
        PGresult *r = PQexec(raw, attempts[i]);
        ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
        ck_assert_str_eq(PQcmdTuples(r), "0");
        PQclear(r);
    }
    /* With row-level security out of the way (the owner switching FORCE off), the trigger refuses. */
    for (size_t i = 0; i < sizeof attempts / sizeof attempts[0]; i++) {
        it_exec(raw, "BEGIN; ALTER TABLE audit_events NO FORCE ROW LEVEL SECURITY");
        PGresult *r = PQexec(raw, attempts[i]);
        ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
        ck_assert_ptr_nonnull(strstr(PQresultErrorMessage(r), "append-only"));
        PQclear(r);
        it_exec(raw, "ROLLBACK");
    }
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM audit_events WHERE success AND reason = ''"), 1);
    /* TRUNCATE (allowed to the owning role by default) is refused by a statement trigger. */
    PGresult *t = PQexec(raw, "TRUNCATE audit_events");
    ck_assert_int_eq(PQresultStatus(t), PGRES_FATAL_ERROR);
    ck_assert_ptr_nonnull(strstr(PQresultErrorMessage(t), "append-only"));
    PQclear(t);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM audit_events"), 1);
    /* Also through the application's own connection, in a system transaction. */
    ar_ctx system = ar_ctx_system(&a);
    for (size_t i = 0; i < sizeof attempts / sizeof attempts[0]; i++) {
        ar_error err = {0};
        ar_ctx_tx(&system, raw_sql_in_tx, (void *)attempts[i], &err);
        ar_error_clear(&err);
    }
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM audit_events WHERE action = 'password.changed' AND success "
                                        "AND reason = ''"),
                     1);
}
END_TEST

/* ---- CSV ---------------------------------------------------------------------------------------- */

static char *export_ok(const ar_ctx *ctx, const ar_audit_filter *f)
{
    ar_buf csv = AR_BUF_INIT;
    ar_error err = {0};
    ck_assert_msg(ar_audit_export_csv(ctx, f, &csv, &err) == 0, "export failed: %s", err.message);
    ar_error_clear(&err);
    return ar_buf_steal(&csv);
}

static const char csv_header_line[] = "id,created_at,actor_id,actor_username,tenant_id,action,target_type,target_id,ip,"
                                      "user_agent,request_id,success,reason,details,passkey_id\r\n";

START_TEST(csv_quotes_and_neutralises_formulas)
{
    ar_ctx a = admin_a();
    snprintf(a.user_agent, sizeof a.user_agent, "Agent, \"quoted\"");
    snprintf(a.ip, sizeof a.ip, "@10.0.0.1");
    json_t *details = json_pack("{s:s}", "k", "v,w");
    ar_audit_event ev = {.action = "user.created",
                         .target_type = "-2+3",
                         .target_id = "=HYPERLINK(\"http://evil\",\"x\")",
                         .success = 0,
                         .reason = "line1\r\nline2",
                         .details = details};
    write_event(&a, &ev);
    json_decref(details);
    ar_audit_event plain = {.action = "signout", .success = 1, .reason = "+SUM(A1)"};
    a = admin_a();
    write_event(&a, &plain);

    ar_audit_filter f = ar_audit_filter_any();
    char *csv = export_ok(&a, &f);
    ck_assert_int_eq(strncmp(csv, csv_header_line, strlen(csv_header_line)), 0);
    const char *row1 = csv + strlen(csv_header_line); /* newest first: the sign-out */
    const char *row2 = strstr(row1, "\r\n") + 2;
    json_t *out = list_ok(&a, &f);
    json_t *events = json_object_get(out, "events");
    json_t *e0 = json_array_get(events, 0), *e1 = json_array_get(events, 1);
    char *expected1 = ar_asprintf("%lld,%s,%lld,alice,%lld,signout,,,198.51.100.%lld,TestAgent/1.0 (user %lld),"
                                  "req-%lld-%lld,true,'+SUM(A1),{},\r\n",
                                  (long long)json_integer_value(json_object_get(e0, "id")),
                                  json_string_value(json_object_get(e0, "created_at")), alice, tenant_a, alice % 250,
                                  alice, alice, tenant_a);
    ck_assert_int_eq(strncmp(row1, expected1, strlen(expected1)), 0);
    char *expected2 = ar_asprintf("%lld,%s,%lld,alice,%lld,user.created,'-2+3,\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\","
                                  "'@10.0.0.1,\"Agent, \"\"quoted\"\"\",req-%lld-%lld,false,\"line1\r\nline2\","
                                  "\"{\"\"k\"\": \"\"v,w\"\"}\",\r\n",
                                  (long long)json_integer_value(json_object_get(e1, "id")),
                                  json_string_value(json_object_get(e1, "created_at")), alice, tenant_a, alice,
                                  tenant_a);
    ck_assert_msg(strcmp(row2, expected2) == 0, "row 2 is\n%s\nexpected\n%s", row2, expected2);
    json_decref(out);
    ar_free(expected1);
    ar_free(expected2);
    ar_free(csv);
}
END_TEST

/* CRLF-terminated lines in csv (a linear scan: ASan's strstr re-measures the whole rest on every call). */
static int count_lines(const char *csv)
{
    int n = 0;
    for (const char *p = csv; *p; p++)
        if (p[0] == '\r' && p[1] == '\n') n++;
    return n;
}

START_TEST(csv_respects_filters_tenant_and_row_cap)
{
    /* 100,010 rows in tenant A, 5 in tenant B. */
    char *sql = ar_asprintf("SELECT %lld, %lld, CASE WHEN g %% 2 = 0 THEN 'signin.ok' ELSE 'signin.failed' END, "
                            "g %% 2 = 0, now(), NULL FROM generate_series(1, 100010) g",
                            alice, tenant_a);
    insert_raw(sql);
    ar_free(sql);
    sql = ar_asprintf("SELECT %lld, %lld, 'signout', true, now(), NULL FROM generate_series(1, 5)", bob, tenant_b);
    insert_raw(sql);
    ar_free(sql);

    ar_ctx b = admin_b();
    ar_audit_filter f = ar_audit_filter_any();
    char *csv = export_ok(&b, &f);
    ck_assert_int_eq(count_lines(csv), 6);
    ck_assert_ptr_null(strstr(csv, "signin.")); /* one call: fine under ASan */
    ar_free(csv);

    ar_ctx staff = staff_ctx();
    f.action = "signin.ok";
    f.tenant_id = tenant_a;
    csv = export_ok(&staff, &f);
    ck_assert_int_eq(count_lines(csv), 1 + 50005);
    ck_assert_ptr_null(strstr(csv, "signin.failed"));
    ar_free(csv);

    f = ar_audit_filter_any();
    csv = export_ok(&staff, &f);
    ck_assert_int_eq(count_lines(csv), 1 + AR_AUDIT_EXPORT_MAX_ROWS);
    long long previous = 0;
    int ordered = 1;
    for (const char *p = csv + strlen(csv_header_line); *p;) {
        char *end;
        long long id = strtoll(p, &end, 10);
        if (previous && id >= previous) ordered = 0;
        previous = id;
        const char *newline = strchr(end, '\n');
        ck_assert_ptr_nonnull(newline);
        p = newline + 1;
    }
    ck_assert(ordered);
    ar_free(csv);
}
END_TEST

START_TEST(csv_appends_to_existing_buffer)
{
    ar_ctx a = admin_a();
    ar_audit_filter f = ar_audit_filter_any();
    ar_buf out = AR_BUF_INIT;
    ar_buf_puts(&out, "prefix\n");
    ar_error err = {0};
    ck_assert_int_eq(ar_audit_export_csv(&a, &f, &out, &err), 0);
    ck_assert_int_eq(strncmp(out.data, "prefix\n", 7), 0);
    ck_assert_str_eq(out.data + 7, csv_header_line);
    ar_buf_free(&out);
}
END_TEST

Suite *audit_suite(void)
{
    Suite *s = suite_create("audit");
    TCase *tc = tcase_create("audit");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, write_then_list_returns_every_field);
    tcase_add_test(tc, write_defaults_and_explicit_ids);
    tcase_add_test(tc, write_rejects_bad_action_and_details);
    tcase_add_test(tc, write_stores_invalid_utf8_and_nul_safely);
    tcase_add_test(tc, write_bounds_long_text_and_details);
    tcase_add_test(tc, record_writes_and_never_fails_the_caller);
    tcase_add_test(tc, list_every_filter);
    tcase_add_test(tc, list_rejects_bad_filters);
    tcase_add_test(tc, keyset_pagination_returns_every_row_once);
    tcase_add_test(tc, tenant_admin_sees_only_own_tenant);
    tcase_add_test(tc, non_admins_are_refused);
    tcase_add_test(tc, database_refuses_update_and_delete);
    tcase_add_test(tc, csv_quotes_and_neutralises_formulas);
    tcase_add_test(tc, csv_respects_filters_tenant_and_row_cap);
    tcase_add_test(tc, csv_appends_to_existing_buffer);
    suite_add_tcase(s, tc);
    return s;
}
