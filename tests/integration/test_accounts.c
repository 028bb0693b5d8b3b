/* test_accounts.c — integration tests of accounts, passwords and invite passkeys against the test PostgreSQL
 * (services called directly): sign-up with passkeys (atomic single use under concurrency, every rejection
 * reason, tenant-scoped invites, duplicates, all-at-once field errors, nothing written on failure), sign-in
 * (username/e-mail, same answer for unknown users, rehash, disabled accounts), password changes, staff and
 * tenant administration (last owner, role rules, passkey scope), and the `afterresumed admin` CLI. Each test
 * gets its own freshly migrated database. */
#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/error.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/accounts.h"
#include "afterresume/domain/context.h"
#include "afterresume/domain/passkeys.h"
#include "afterresume/domain/passwords.h"
#include "afterresume/domain/registry.h"
#include "integration/daemon.h"
#include "integration/harness.h"

#define PASSWORD "correct horse battery"

static char *db_url;
static PGconn *db; /* checking connection, row-level security bypassed */

static void setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
    db_url = it_migrated_db();
    ar_domain_register_all();
    db = it_pg_connect_to(db_url);
    it_exec(db, "SELECT set_config('app.bypass_rls', 'on', false)");
}

static void teardown(void)
{
    ar_db_shutdown();
    PQfinish(db);
    db = NULL;
    it_drop_db(db_url);
    ar_free(db_url);
    db_url = NULL;
}

/* ---- helpers ---------------------------------------------------------------------------------- */

static ar_ctx anonymous(void)
{
    ar_ctx c;
    memset(&c, 0, sizeof c);
    snprintf(c.ip, sizeof c.ip, "192.0.2.7");
    snprintf(c.request_id, sizeof c.request_id, "test-req");
    snprintf(c.user_agent, sizeof c.user_agent, "check");
    return c;
}

static ar_ctx operator_ctx(void)
{
    ar_ctx c = anonymous();
    c.is_staff = 1;
    c.bypass_rls = 1;
    return c;
}

static ar_ctx member_ctx(long long user_id, long long tenant_id, ar_role role)
{
    ar_ctx c = anonymous();
    c.user_id = user_id;
    c.tenant_id = tenant_id;
    c.role = role;
    return c;
}

static long q(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long q(const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return it_query_long(db, sql);
}

static char *qs(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *qs(const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return it_query_value(db, sql);
}

static long long create_user(const char *username, int staff)
{
    ar_ctx op = operator_ctx();
    ar_error err = {0};
    char email[128];
    snprintf(email, sizeof email, "%s@example.com", username);
    long long id = 0;
    ck_assert_msg(ar_account_create(&op, username, email, PASSWORD, staff, &id, &err) == 0, "create %s: %s", username,
                  err.message);
    ck_assert_int_gt(id, 0);
    return id;
}

static long long personal_tenant(long long user_id)
{
    return q("SELECT personal_tenant_id FROM users WHERE id = %lld", user_id);
}

/* Mint with ctx; returns the raw key in raw (64) and the id. Fails the test on error. */
static long long mint(const ar_ctx *ctx, long long tenant, ar_role role, int max_uses, char raw[64])
{
    ar_passkey_options o = {.tenant_id = tenant, .role = role, .max_uses = max_uses, .note = "test"};
    ar_error err = {0};
    long long id = 0;
    ck_assert_msg(ar_passkey_mint(ctx, &o, raw, &id, &err) == 0, "mint: %s", err.message);
    ck_assert_int_gt(id, 0);
    ck_assert_uint_eq(strlen(raw), 43);
    return id;
}

static long long mint_platform(char raw[64])
{
    ar_ctx op = operator_ctx();
    return mint(&op, 0, AR_ROLE_NONE, 1, raw);
}

static int signup(const char *username, const char *email, const char *password, const char *passkey,
                  long long *user_id, long long *tenant_id, ar_error *err)
{
    ar_ctx anon = anonymous();
    ar_signup in = {username, email, password, passkey};
    return ar_account_signup(&anon, &in, user_id, tenant_id, err);
}

static const char *field(const ar_error *err, const char *name)
{
    json_t *m = json_object_get(err->fields, name);
    return m ? json_string_value(m) : NULL;
}

static long count_rows(void)
{
    return q("SELECT (SELECT count(*) FROM users) * 1000000 + (SELECT count(*) FROM tenants) * 1000 + "
             "(SELECT count(*) FROM memberships)");
}

/* ---- sign-up ---------------------------------------------------------------------------------- */

START_TEST(signup_happy_path)
{
    char raw[64];
    long long pk = mint_platform(raw);
    ck_assert_int_eq(q("SELECT uses FROM invite_passkeys WHERE id = %lld", pk), 0);
    /* only the hash is stored */
    ck_assert_int_eq(q("SELECT count(*) FROM invite_passkeys WHERE encode(key_hash, 'escape') LIKE '%%%s%%'", raw), 0);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE details::text LIKE '%%%s%%'", raw), 0);

    long long uid = 0, tid = 0;
    ar_error err = {0};
    ck_assert_msg(signup("Alice.W", "alice@example.com", PASSWORD, raw, &uid, &tid, &err) == 0, "%s", err.message);
    ck_assert_int_gt(uid, 0);
    ck_assert_int_eq(tid, personal_tenant(uid));
    char *name = qs("SELECT name FROM tenants WHERE id = %lld AND personal", tid);
    ck_assert_str_eq(name, "Alice.W's workspace");
    ar_free(name);
    ck_assert_int_eq(q("SELECT count(*) FROM memberships WHERE tenant_id = %lld AND user_id = %lld AND role = 'owner'",
                       tid, uid), 1);
    ck_assert_int_eq(q("SELECT count(*) FROM memberships WHERE user_id = %lld", uid), 1);
    ck_assert_int_eq(q("SELECT uses FROM invite_passkeys WHERE id = %lld", pk), 1);
    char *hash = qs("SELECT password_hash FROM users WHERE id = %lld", uid);
    ck_assert_int_eq(ar_password_verify(hash, PASSWORD), 1);
    ar_free(hash);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'passkey.consumed' AND passkey_id = %lld "
                       "AND actor_id = %lld AND ip = '192.0.2.7' AND request_id = 'test-req'", pk, uid), 1);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'signup.ok' AND actor_id = %lld AND "
                       "target_id = '%lld' AND success", uid, uid), 1);

    /* the single-use key is spent */
    long long uid2 = 0, tid2 = 0;
    ar_error err2 = {0};
    ck_assert_int_eq(signup("bob", "bob@example.com", PASSWORD, raw, &uid2, &tid2, &err2), -1);
    ck_assert_int_eq(err2.code, AR_ERR_VALIDATION);
    ck_assert_ptr_nonnull(strstr(field(&err2, "passkey"), "already been used"));
    ck_assert_int_eq(uid2, 0);
    ar_error_clear(&err2);
    ck_assert_int_eq(q("SELECT count(*) FROM users"), 1);

    /* the account can read itself; memberships list the personal tenant */
    ar_ctx me = member_ctx(uid, tid, AR_ROLE_OWNER);
    json_t *acc = ar_account_get(&me, uid, &err);
    ck_assert_ptr_nonnull(acc);
    ck_assert_str_eq(json_string_value(json_object_get(acc, "username")), "Alice.W");
    ck_assert(json_is_true(json_object_get(acc, "is_active")));
    ck_assert(json_is_false(json_object_get(acc, "is_staff")));
    ck_assert_int_eq(json_integer_value(json_object_get(acc, "personal_tenant_id")), tid);
    json_decref(acc);
    json_t *ms = ar_account_memberships(&me, uid, &err);
    ck_assert_uint_eq(json_array_size(ms), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ms, 0), "role")), "owner");
    ck_assert(json_is_true(json_object_get(json_array_get(ms, 0), "personal")));
    json_decref(ms);
    /* someone else cannot read it */
    ar_ctx other = member_ctx(uid + 100, 0, AR_ROLE_NONE);
    ck_assert_ptr_null(ar_account_get(&other, uid, &err));
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
}
END_TEST

typedef struct race {
    pthread_barrier_t *barrier;
    const char *passkey;
    char username[32];
    int rc;
    ar_error err;
} race;

static void *race_signup(void *arg)
{
    race *r = arg;
    char email[64];
    snprintf(email, sizeof email, "%s@example.com", r->username);
    ar_ctx anon = anonymous();
    ar_signup in = {r->username, email, PASSWORD, r->passkey};
    long long uid = 0, tid = 0;
    pthread_barrier_wait(r->barrier);
    r->rc = ar_account_signup(&anon, &in, &uid, &tid, &r->err);
    ar_db_thread_close();
    return NULL;
}

/* n threads sign up at once with one key; returns how many succeeded. */
static int run_race(const char *passkey, int n, const char *prefix, race *out)
{
    pthread_t t[8];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].barrier = &barrier;
        out[i].passkey = passkey;
        snprintf(out[i].username, sizeof out[i].username, "%s%d", prefix, i);
        ck_assert_int_eq(pthread_create(&t[i], NULL, race_signup, &out[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        ok += out[i].rc == 0;
    }
    pthread_barrier_destroy(&barrier);
    return ok;
}

START_TEST(concurrent_signups_single_use)
{
    for (int round = 0; round < 5; round++) {
        char raw[64], prefix[24];
        long long pk = mint_platform(raw);
        snprintf(prefix, sizeof prefix, "racer%d_", round);
        race r[2];
        int ok = run_race(raw, 2, prefix, r);
        ck_assert_msg(ok == 1, "round %d: %d sign-ups succeeded with a single-use passkey", round, ok);
        for (int i = 0; i < 2; i++) {
            if (r[i].rc != 0) {
                ck_assert_int_eq(r[i].err.code, AR_ERR_VALIDATION);
                ck_assert_ptr_nonnull(strstr(field(&r[i].err, "passkey"), "already been used"));
            }
            ar_error_clear(&r[i].err);
        }
        ck_assert_int_eq(q("SELECT uses FROM invite_passkeys WHERE id = %lld", pk), 1);
        ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE passkey_id = %lld AND action = 'passkey.rejected' "
                           "AND reason = 'used'", pk), 1);
    }
    ck_assert_int_eq(q("SELECT count(*) FROM users"), 5);
    ck_assert_int_eq(q("SELECT count(*) FROM tenants"), 5);

    /* a three-use key and six racers: exactly three get in */
    char raw[64];
    ar_ctx op = operator_ctx();
    long long pk = mint(&op, 0, AR_ROLE_NONE, 3, raw);
    race r[6];
    ck_assert_int_eq(run_race(raw, 6, "crowd_", r), 3);
    for (int i = 0; i < 6; i++) ar_error_clear(&r[i].err);
    ck_assert_int_eq(q("SELECT uses FROM invite_passkeys WHERE id = %lld", pk), 3);
    ck_assert_int_eq(q("SELECT count(*) FROM users WHERE username LIKE 'crowd%%'"), 3);
}
END_TEST

/* Sign-up with key raw must fail for `reason`; checks the message, the audit rows and that nothing was written. */
static void expect_rejected(const char *raw, long long pk, const char *reason, const char *message_part)
{
    long before = count_rows();
    long long uid = 0, tid = 0;
    ar_error err = {0};
    ck_assert_int_eq(signup("hopeful", "hopeful@example.com", PASSWORD, raw, &uid, &tid, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    const char *m = field(&err, "passkey");
    ck_assert_msg(m && strstr(m, message_part), "reason %s: message '%s'", reason, m ? m : "(none)");
    ck_assert_msg(strstr(err.message, message_part) != NULL, "top-level message '%s'", err.message);
    ar_error_clear(&err);
    ck_assert_int_eq(count_rows(), before);
    if (pk) {
        ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'passkey.rejected' AND passkey_id = %lld "
                           "AND reason = '%s' AND NOT success AND ip = '192.0.2.7'", pk, reason), 1);
        ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'signup.failed' AND passkey_id = %lld "
                           "AND reason = 'passkey_%s'", pk, reason), 1);
    } else {
        ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'passkey.rejected' AND passkey_id IS NULL "
                           "AND reason = '%s'", reason), 1);
        ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'signup.failed' AND reason = 'passkey_%s' "
                           "AND details->>'username' = 'hopeful'", reason), 1);
    }
}

START_TEST(rejected_passkeys)
{
    ar_ctx op = operator_ctx();
    char expired[64], revoked[64], used[64], unknown[64];
    long long pk_expired = mint_platform(expired);
    it_exec(db, "UPDATE invite_passkeys SET expires_at = now() - interval '1 second' WHERE id = (SELECT min(id) FROM invite_passkeys)");
    long long pk_revoked = mint_platform(revoked);
    ar_error err = {0};
    ck_assert_int_eq(ar_passkey_revoke(&op, pk_revoked, &err), 0);
    ck_assert_int_eq(ar_passkey_revoke(&op, pk_revoked, &err), 0); /* idempotent */
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'passkey.revoked' AND passkey_id = %lld",
                       pk_revoked), 1);
    long long pk_used = mint_platform(used);
    long long uid = 0, tid = 0;
    ck_assert_int_eq(signup("first", "first@example.com", PASSWORD, used, &uid, &tid, &err), 0);
    snprintf(unknown, sizeof unknown, "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE");

    expect_rejected(expired, pk_expired, "expired", "has expired");
    expect_rejected(revoked, pk_revoked, "revoked", "has been revoked");
    expect_rejected(used, pk_used, "used", "already been used");
    expect_rejected(unknown, 0, "unknown", "not valid");
    /* the refused keys were not touched */
    ck_assert_int_eq(q("SELECT sum(uses) FROM invite_passkeys"), 1);
    /* a revoked key that is also expired reports revoked (precedence: revoked, used, expired) */
    it_exec(db, "UPDATE invite_passkeys SET expires_at = now() - interval '1 day'");
    json_t *list = ar_passkey_list(&op, NULL, &err);
    ck_assert_ptr_nonnull(list);
    ck_assert_int_eq(json_integer_value(json_object_get(list, "count")), 3);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(list, "passkeys"), i, p) {
        long long id = json_integer_value(json_object_get(p, "id"));
        const char *status = json_string_value(json_object_get(p, "status"));
        ck_assert_str_eq(status, id == pk_revoked ? "revoked" : id == pk_used ? "used" : "expired");
        ck_assert_ptr_null(json_object_get(p, "key_hash"));
    }
    json_decref(list);
}
END_TEST

typedef struct role_check {
    long long user, tenant;
    ar_role role;
} role_check;

static int role_in_tx(PGconn *c, void *arg, ar_error *err)
{
    (void)err;
    role_check *rc = arg;
    rc->role = ar_account_role_in(c, rc->user, rc->tenant);
    return 0;
}

START_TEST(scoped_passkey_gives_membership)
{
    long long olivia = create_user("olivia", 0);
    long long acme = q("INSERT INTO tenants (name) VALUES ('Acme') RETURNING id");
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO memberships (tenant_id, user_id, role) VALUES (%lld, %lld, 'owner')", acme,
             olivia);
    it_exec(db, sql);
    ar_ctx owner = member_ctx(olivia, acme, AR_ROLE_OWNER);
    char raw[64];
    long long pk = mint(&owner, acme, AR_ROLE_READ_ONLY, 1, raw);
    ck_assert_int_eq(q("SELECT created_by FROM invite_passkeys WHERE id = %lld", pk), olivia);

    long long uid = 0, tid = 0;
    ar_error err = {0};
    ck_assert_msg(signup("rita", "rita@example.com", PASSWORD, raw, &uid, &tid, &err) == 0, "%s", err.message);
    ck_assert_int_eq(tid, acme);
    ck_assert_int_eq(q("SELECT count(*) FROM memberships WHERE tenant_id = %lld AND user_id = %lld AND role = 'read_only' "
                       "AND invited_by = %lld", acme, uid, olivia), 1);
    ck_assert_int_eq(q("SELECT count(*) FROM memberships WHERE tenant_id = %lld AND user_id = %lld AND role = 'owner'",
                       personal_tenant(uid), uid), 1);
    /* the consumption is in Acme's audit log */
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'passkey.consumed' AND tenant_id = %lld", acme), 1);
    ar_ctx rita = member_ctx(uid, acme, AR_ROLE_READ_ONLY);
    json_t *ms = ar_account_memberships(&rita, uid, &err);
    ck_assert_uint_eq(json_array_size(ms), 2);
    json_decref(ms);
    role_check rc = {uid, acme, AR_ROLE_NONE};
    ar_ctx sys = ar_ctx_system(&rita);
    ck_assert_int_eq(ar_ctx_tx(&sys, role_in_tx, &rc, &err), 0);
    ck_assert_int_eq(rc.role, AR_ROLE_READ_ONLY);
    rc.tenant = personal_tenant(uid);
    ck_assert_int_eq(ar_ctx_tx(&sys, role_in_tx, &rc, &err), 0);
    ck_assert_int_eq(rc.role, AR_ROLE_OWNER);
    rc.tenant = personal_tenant(olivia);
    ck_assert_int_eq(ar_ctx_tx(&sys, role_in_tx, &rc, &err), 0);
    ck_assert_int_eq(rc.role, AR_ROLE_NONE);
    /* an inactive tenant gives no role */
    it_exec(db, "UPDATE tenants SET is_active = false WHERE name = 'Acme'");
    rc.tenant = acme;
    ck_assert_int_eq(ar_ctx_tx(&sys, role_in_tx, &rc, &err), 0);
    ck_assert_int_eq(rc.role, AR_ROLE_NONE);
}
END_TEST

START_TEST(duplicates_are_field_errors)
{
    create_user("dana", 0);
    char raw[64];
    long long pk = mint_platform(raw);
    long before = count_rows();
    long long uid = 0, tid = 0;
    ar_error err = {0};

    ck_assert_int_eq(signup("DANA", "other@example.com", PASSWORD, raw, &uid, &tid, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ck_assert_str_eq(field(&err, "username"), "This username is already taken.");
    ck_assert_ptr_null(field(&err, "email"));
    ar_error_clear(&err);

    ck_assert_int_eq(signup("newname", "Dana@Example.COM", PASSWORD, raw, &uid, &tid, &err), -1);
    ck_assert_str_eq(field(&err, "email"), "This e-mail address is already taken.");
    ck_assert_ptr_null(field(&err, "username"));
    ar_error_clear(&err);

    ck_assert_int_eq(signup("dana", "dana@example.com", PASSWORD, raw, &uid, &tid, &err), -1);
    ck_assert_ptr_nonnull(field(&err, "username"));
    ck_assert_ptr_nonnull(field(&err, "email"));
    ar_error_clear(&err);

    /* taken names and a bad passkey are reported together */
    ck_assert_int_eq(signup("dana", "x@example.com", PASSWORD, "nope", &uid, &tid, &err), -1);
    ck_assert_ptr_nonnull(field(&err, "username"));
    ck_assert_ptr_nonnull(field(&err, "passkey"));
    ar_error_clear(&err);

    ck_assert_int_eq(count_rows(), before);
    ck_assert_int_eq(q("SELECT uses FROM invite_passkeys WHERE id = %lld", pk), 0);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'signup.failed' AND reason = 'username_taken'"), 2);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'signup.failed' AND reason = 'email_taken'"), 1);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action IN ('signup.ok', 'passkey.consumed')"), 0);
    /* the key still works for a fresh name */
    ck_assert_int_eq(signup("dana2", "dana2@example.com", PASSWORD, raw, &uid, &tid, &err), 0);
}
END_TEST

START_TEST(bad_fields_reported_at_once)
{
    long before = count_rows();
    long long uid = 0, tid = 0;
    ar_error err = {0};
    ck_assert_int_eq(signup("a", "not-an-email", "short", "", &uid, &tid, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ck_assert_uint_eq(json_object_size(err.fields), 4);
    ck_assert_ptr_nonnull(strstr(field(&err, "password"), "12"));
    ck_assert_ptr_nonnull(field(&err, "username"));
    ck_assert_ptr_nonnull(field(&err, "email"));
    ck_assert_ptr_nonnull(field(&err, "passkey"));
    ar_error_clear(&err);
    ck_assert_int_eq(signup("-leadingdash", "a b@example.com", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4",
                            "x", &uid, &tid, &err), -1);
    ck_assert_uint_eq(json_object_size(err.fields), 3); /* the passkey is only looked at later */
    ck_assert_ptr_nonnull(strstr(field(&err, "password"), "UTF-8"));
    ar_error_clear(&err);
    ck_assert_int_eq(signup(NULL, NULL, NULL, NULL, &uid, &tid, &err), -1);
    ck_assert_uint_eq(json_object_size(err.fields), 4);
    ar_error_clear(&err);
    ck_assert_int_eq(count_rows(), before);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'signup.failed' AND reason = 'invalid_fields'"), 3);

    /* the rules themselves */
    ck_assert_int_eq(ar_username_valid("ab"), 1);
    ck_assert_int_eq(ar_username_valid("a"), 0);
    ck_assert_int_eq(ar_username_valid("a.b-c_d9"), 1);
    ck_assert_int_eq(ar_username_valid("_ab"), 0);
    ck_assert_int_eq(ar_username_valid("ab cd"), 0);
    ck_assert_int_eq(ar_username_valid("a@b"), 0);
    ck_assert_int_eq(ar_username_valid("a234567890123456789012345678901234567890"), 1); /* 40 */
    ck_assert_int_eq(ar_username_valid("a2345678901234567890123456789012345678901"), 0); /* 41 */
    ck_assert_int_eq(ar_email_shape_ok("admin@localhost"), 1);
    ck_assert_int_eq(ar_email_shape_ok("ü@exämple.de"), 1);
    ck_assert_int_eq(ar_email_shape_ok("@example.com"), 0);
    ck_assert_int_eq(ar_email_shape_ok("a@"), 0);
    ck_assert_int_eq(ar_email_shape_ok("a@b@c"), 0);
    ck_assert_int_eq(ar_email_shape_ok("a\n@b.c"), 0);
}
END_TEST

/* ---- sign-in ---------------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static json_t *authenticate(const char *login, const char *password, ar_error *err)
{
    ar_ctx anon = anonymous();
    return ar_account_authenticate(&anon, login, password, err);
}

START_TEST(authenticate_by_username_or_email)
{
    long long uid = create_user("Carol", 0);
    ar_error err = {0};
    json_t *u = authenticate("carol", PASSWORD, &err);
    ck_assert_msg(u != NULL, "%s", err.message);
    ck_assert_int_eq(json_integer_value(json_object_get(u, "id")), uid);
    ck_assert_str_eq(json_string_value(json_object_get(u, "username")), "Carol");
    ck_assert_int_eq(json_integer_value(json_object_get(u, "personal_tenant_id")), personal_tenant(uid));
    ck_assert(json_is_false(json_object_get(u, "is_staff")));
    json_decref(u);
    u = authenticate("CAROL@example.COM", PASSWORD, &err);
    ck_assert_ptr_nonnull(u);
    json_decref(u);
    ck_assert_int_eq(q("SELECT count(*) FROM users WHERE id = %lld AND last_login_at IS NOT NULL", uid), 1);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'signin.ok' AND actor_id = %lld", uid), 2);

    /* wrong password and unknown user: the same answer, about the same time. The fastest of three tries of
     * each is compared, so a busy machine (other tests, CI neighbours) does not decide the outcome. */
    ar_error wrong = {0}, unknown = {0};
    double a = 1e9, b = 1e9;
    for (int i = 0; i < 3; i++) {
        ar_error_clear(&wrong);
        ar_error_clear(&unknown);
        double t0 = now_s();
        ck_assert_ptr_null(authenticate("carol", "not the password", &wrong));
        double t1 = now_s();
        ck_assert_ptr_null(authenticate("nobody", "not the password", &unknown));
        double t2 = now_s();
        if (t1 - t0 < a) a = t1 - t0;
        if (t2 - t1 < b) b = t2 - t1;
    }
    ck_assert_int_eq(wrong.code, AR_ERR_UNAUTHORIZED);
    ck_assert_int_eq(unknown.code, AR_ERR_UNAUTHORIZED);
    ck_assert_str_eq(wrong.message, "Invalid username or password.");
    ck_assert_str_eq(wrong.message, unknown.message);
    ck_assert_ptr_null(wrong.fields);
    ck_assert_ptr_null(unknown.fields);
    ck_assert_msg(b > a / 3 && b < a * 3, "wrong password %.3fs, unknown user %.3fs", a, b);
    ar_error_clear(&wrong);
    ar_error_clear(&unknown);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'signin.failed' AND reason = 'bad_password' "
                       "AND actor_id = %lld", uid), 3);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'signin.failed' AND reason = 'unknown_user' "
                       "AND actor_id IS NULL"), 3);
    /* odd input is just a failed sign-in */
    ck_assert_ptr_null(authenticate("", PASSWORD, &err));
    ck_assert_int_eq(err.code, AR_ERR_UNAUTHORIZED);
    ar_error_clear(&err);
    ck_assert_ptr_null(authenticate("ca\xffrol", PASSWORD, &err));
    ck_assert_int_eq(err.code, AR_ERR_UNAUTHORIZED);
    ar_error_clear(&err);
    ck_assert_ptr_null(authenticate(NULL, NULL, &err));
    ar_error_clear(&err);
}
END_TEST

START_TEST(rehash_on_sign_in)
{
    long long uid = create_user("dave", 0);
    char weak[crypto_pwhash_STRBYTES];
    ck_assert_int_eq(crypto_pwhash_str(weak, PASSWORD, strlen(PASSWORD), crypto_pwhash_OPSLIMIT_MIN, 8192 * 1024), 0);
    char sql[512];
    snprintf(sql, sizeof sql, "UPDATE users SET password_hash = '%s' WHERE id = %lld", weak, uid);
    it_exec(db, sql);
    ar_error err = {0};
    json_t *u = authenticate("dave", PASSWORD, &err);
    ck_assert_ptr_nonnull(u);
    json_decref(u);
    char *now = qs("SELECT password_hash FROM users WHERE id = %lld", uid);
    ck_assert_str_ne(now, weak);
    ck_assert_int_eq(ar_password_needs_rehash(now), 0);
    ck_assert_int_eq(ar_password_verify(now, PASSWORD), 1);
    ar_free(now);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'signin.ok' AND details->>'rehashed' = 'true'"), 1);
}
END_TEST

/* A live session and a live API token for user in tenant, written directly. */
static void give_session_and_token(long long user, long long tenant, const char *tag)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO sessions (token_hash, user_id, tenant_id, csrf_token, idle_seconds, expires_at) "
             "VALUES (sha256('s%s'), %lld, %lld, 'csrf', 1800, now() + interval '1 day'); "
             "INSERT INTO api_tokens (token_hash, prefix, name, user_id, tenant_id, scope) "
             "VALUES (sha256('t%s'), 'ar_pat_x', 'ci', %lld, %lld, 'write')",
             tag, user, tenant, tag, user, tenant);
    it_exec(db, sql);
}

START_TEST(disabled_users)
{
    long long staff = create_user("root", 1);
    long long uid = create_user("erin", 0);
    long long tid = personal_tenant(uid);
    give_session_and_token(uid, tid, "1");
    give_session_and_token(uid, tid, "2");
    ar_ctx staff_ctx = member_ctx(staff, personal_tenant(staff), AR_ROLE_OWNER);
    staff_ctx.is_staff = 1;
    ar_ctx erin = member_ctx(uid, tid, AR_ROLE_OWNER);
    ar_error err = {0};

    ck_assert_int_eq(ar_account_set_active(&erin, staff, 0, NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_account_set_active(&staff_ctx, staff, 0, NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_CONFLICT);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_account_set_active(&staff_ctx, 999999, 0, NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);

    ck_assert_int_eq(ar_account_set_active(&staff_ctx, uid, 0, "spam", &err), 0);
    ck_assert_int_eq(q("SELECT count(*) FROM sessions WHERE user_id = %lld AND ended_at IS NULL", uid), 0);
    ck_assert_int_eq(q("SELECT count(*) FROM api_tokens WHERE user_id = %lld AND revoked_at IS NULL", uid), 0);
    ck_assert_int_eq(q("SELECT count(*) FROM users WHERE id = %lld AND NOT is_active AND disabled_reason = 'spam'", uid), 1);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'user.disabled' AND target_id = '%lld' AND "
                       "actor_id = %lld AND (details->>'sessions_ended')::int = 2 AND (details->>'tokens_revoked')::int = 2",
                       uid, staff), 1);

    ck_assert_ptr_null(authenticate("erin", PASSWORD, &err));
    ck_assert_int_eq(err.code, AR_ERR_UNAUTHORIZED);
    ck_assert_str_eq(err.message, "Invalid username or password.");
    ar_error_clear(&err);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'signin.failed' AND reason = 'disabled'"), 1);

    ck_assert_int_eq(ar_account_set_active(&staff_ctx, uid, 1, NULL, &err), 0);
    json_t *u = authenticate("erin", PASSWORD, &err);
    ck_assert_ptr_nonnull(u);
    json_decref(u);
    ck_assert_int_eq(q("SELECT count(*) FROM users WHERE id = %lld AND is_active AND disabled_reason IS NULL", uid), 1);

    /* staff flag */
    ck_assert_int_eq(ar_account_set_staff(&erin, uid, 1, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_account_set_staff(&staff_ctx, uid, 1, &err), 0);
    ck_assert_int_eq(q("SELECT count(*) FROM users WHERE id = %lld AND is_staff", uid), 1);
    ck_assert_int_eq(ar_account_set_staff(&staff_ctx, staff, 0, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_CONFLICT);
    ar_error_clear(&err);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'user.staff_granted'"), 1);

    /* listing */
    json_t *list = ar_account_list(&staff_ctx, "ERI", -1, 0, 0, &err);
    ck_assert_ptr_nonnull(list);
    ck_assert_int_eq(json_integer_value(json_object_get(list, "count")), 1);
    json_decref(list);
    list = ar_account_list(&staff_ctx, NULL, 1, 1, 0, &err);
    ck_assert_int_eq(json_integer_value(json_object_get(list, "count")), 1);
    long long next = json_integer_value(json_object_get(list, "next_after_id"));
    ck_assert_int_eq(next, staff);
    json_decref(list);
    list = ar_account_list(&staff_ctx, NULL, -1, 50, next, &err);
    ck_assert_int_eq(json_integer_value(json_object_get(list, "count")), 1);
    ck_assert(json_is_null(json_object_get(list, "next_after_id")));
    json_decref(list);
    ck_assert_ptr_null(ar_account_list(&staff_ctx, NULL, -1, 500, 0, &err));
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);
    ck_assert_ptr_null(ar_account_list(&erin, NULL, -1, 0, 0, &err));
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_account_find_id(&staff_ctx, "ERIN", &err), uid);
    ck_assert_int_eq(ar_account_find_id(&staff_ctx, "ghost", &err), 0);
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
}
END_TEST

START_TEST(password_changes)
{
    long long uid = create_user("frank", 0);
    long long tid = personal_tenant(uid);
    give_session_and_token(uid, tid, "a");
    give_session_and_token(uid, tid, "b");
    long long keep = q("SELECT min(id) FROM sessions WHERE user_id = %lld", uid);
    ar_ctx me = member_ctx(uid, tid, AR_ROLE_OWNER);
    ar_error err = {0};

    ck_assert_int_eq(ar_account_change_password(&me, "wrong password!", "a brand new password", keep, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ck_assert_str_eq(field(&err, "current_password"), "The current password is not correct.");
    ar_error_clear(&err);
    ck_assert_int_eq(ar_account_change_password(&me, PASSWORD, "short", keep, &err), -1);
    ck_assert_ptr_nonnull(field(&err, "new_password"));
    ar_error_clear(&err);
    ck_assert_int_eq(q("SELECT count(*) FROM sessions WHERE user_id = %lld AND ended_at IS NULL", uid), 2);

    ck_assert_int_eq(ar_account_change_password(&me, PASSWORD, "a brand new password", keep, &err), 0);
    ck_assert_int_eq(q("SELECT count(*) FROM sessions WHERE user_id = %lld AND ended_at IS NULL", uid), 1);
    ck_assert_int_eq(q("SELECT id FROM sessions WHERE user_id = %lld AND ended_at IS NULL", uid), keep);
    ck_assert_ptr_null(authenticate("frank", PASSWORD, &err));
    ar_error_clear(&err);
    json_t *u = authenticate("frank", "a brand new password", &err);
    ck_assert_ptr_nonnull(u);
    json_decref(u);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'password.changed' AND success"), 1);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'password.changed' AND NOT success"), 1);

    /* a reset by staff ends every session */
    ar_ctx op = operator_ctx();
    ck_assert_int_eq(ar_account_set_password(&op, uid, "reset by an operator", &err), 0);
    ck_assert_int_eq(q("SELECT count(*) FROM sessions WHERE user_id = %lld AND ended_at IS NULL", uid), 0);
    u = authenticate("frank", "reset by an operator", &err);
    ck_assert_ptr_nonnull(u);
    json_decref(u);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'password.reset'"), 1);
    /* nobody else may set it */
    ar_ctx other = member_ctx(uid + 1000, 0, AR_ROLE_NONE);
    ck_assert_int_eq(ar_account_set_password(&other, uid, "hijacked password", &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_account_set_password(&op, uid + 1000, "reset by an operator", &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
}
END_TEST

/* ---- tenant administration -------------------------------------------------------------------- */

typedef struct team {
    long long acme, olivia, adam, mike, outsider;
} team;

static void make_team(team *t)
{
    t->olivia = create_user("olivia", 0);
    t->adam = create_user("adam", 0);
    t->mike = create_user("mike", 0);
    t->outsider = create_user("oscar", 0);
    t->acme = q("INSERT INTO tenants (name) VALUES ('Acme') RETURNING id");
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO memberships (tenant_id, user_id, role) VALUES (%lld, %lld, 'owner'), (%lld, %lld, 'admin'), "
             "(%lld, %lld, 'member')",
             t->acme, t->olivia, t->acme, t->adam, t->acme, t->mike);
    it_exec(db, sql);
}

START_TEST(last_owner_is_protected)
{
    team t;
    make_team(&t);
    ar_ctx olivia = member_ctx(t.olivia, t.acme, AR_ROLE_OWNER);
    ar_ctx adam = member_ctx(t.adam, t.acme, AR_ROLE_ADMIN);
    ar_ctx mike = member_ctx(t.mike, t.acme, AR_ROLE_MEMBER);
    ar_error err = {0};

    json_t *members = ar_tenant_members(&adam, &err);
    ck_assert_ptr_nonnull(members);
    ck_assert_int_eq(json_integer_value(json_object_get(members, "count")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(members, "members"), 0), "role")),
                     "owner");
    json_decref(members);
    ck_assert_ptr_null(ar_tenant_members(&mike, &err));
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ar_error_clear(&err);

    /* the last owner can be neither demoted nor removed */
    ck_assert_int_eq(ar_tenant_set_role(&olivia, t.olivia, AR_ROLE_ADMIN, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_CONFLICT);
    ck_assert_ptr_nonnull(strstr(err.message, "last owner"));
    ar_error_clear(&err);
    ck_assert_int_eq(ar_tenant_remove_member(&olivia, t.olivia, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_CONFLICT);
    ar_error_clear(&err);
    /* admins cannot touch owners or make owners */
    ck_assert_int_eq(ar_tenant_set_role(&adam, t.olivia, AR_ROLE_MEMBER, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_tenant_set_role(&adam, t.mike, AR_ROLE_OWNER, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_tenant_remove_member(&adam, t.olivia, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ar_error_clear(&err);
    /* members cannot administer; outsiders are not found */
    ck_assert_int_eq(ar_tenant_set_role(&mike, t.mike, AR_ROLE_ADMIN, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_tenant_set_role(&adam, t.outsider, AR_ROLE_MEMBER, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_tenant_remove_member(&olivia, t.outsider, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_tenant_set_role(&olivia, t.mike, AR_ROLE_NONE, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);

    /* an admin changes a member's role */
    ck_assert_int_eq(ar_tenant_set_role(&adam, t.mike, AR_ROLE_READ_ONLY, &err), 0);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'member.role_changed' AND tenant_id = %lld AND "
                       "details->'before'->>'role' = 'member' AND details->'after'->>'role' = 'read_only' AND "
                       "actor_id = %lld", t.acme, t.adam), 1);
    /* with a second owner, the first may step down */
    ck_assert_int_eq(ar_tenant_set_role(&olivia, t.adam, AR_ROLE_OWNER, &err), 0);
    ck_assert_int_eq(ar_tenant_set_role(&olivia, t.olivia, AR_ROLE_ADMIN, &err), 0);
    /* olivia is now an admin: the context saying "owner" is not trusted over the database */
    ck_assert_int_eq(ar_tenant_set_role(&olivia, t.adam, AR_ROLE_MEMBER, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ar_error_clear(&err);
    ar_ctx adam_owner = member_ctx(t.adam, t.acme, AR_ROLE_OWNER);
    ck_assert_int_eq(ar_tenant_remove_member(&adam_owner, t.adam, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_CONFLICT);
    ar_error_clear(&err);

    /* removing a member ends their sessions and tokens in this tenant only */
    give_session_and_token(t.mike, t.acme, "acme");
    give_session_and_token(t.mike, personal_tenant(t.mike), "own");
    ck_assert_int_eq(ar_tenant_remove_member(&adam_owner, t.mike, &err), 0);
    ck_assert_int_eq(q("SELECT count(*) FROM memberships WHERE tenant_id = %lld AND user_id = %lld", t.acme, t.mike), 0);
    ck_assert_int_eq(q("SELECT count(*) FROM sessions WHERE user_id = %lld AND ended_at IS NULL", t.mike), 1);
    ck_assert_int_eq(q("SELECT count(*) FROM api_tokens WHERE user_id = %lld AND revoked_at IS NULL AND tenant_id = %lld",
                       t.mike, personal_tenant(t.mike)), 1);
    ck_assert_int_eq(q("SELECT count(*) FROM api_tokens WHERE user_id = %lld AND revoked_at IS NULL", t.mike), 1);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'member.removed' AND target_id = '%lld'", t.mike), 1);

    /* a personal workspace keeps its owner */
    ar_ctx own = member_ctx(t.olivia, personal_tenant(t.olivia), AR_ROLE_OWNER);
    ck_assert_int_eq(ar_tenant_remove_member(&own, t.olivia, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_CONFLICT);
    ar_error_clear(&err);
}
END_TEST

typedef struct step_down {
    pthread_barrier_t *barrier;
    ar_ctx ctx;
    int rc;
} step_down;

static void *step_down_thread(void *arg)
{
    step_down *s = arg;
    ar_error err = {0};
    pthread_barrier_wait(s->barrier);
    s->rc = ar_tenant_set_role(&s->ctx, s->ctx.user_id, AR_ROLE_ADMIN, &err);
    if (s->rc != 0) ck_assert_int_eq(err.code, AR_ERR_CONFLICT);
    ar_error_clear(&err);
    ar_db_thread_close();
    return NULL;
}

START_TEST(concurrent_owner_demotions_keep_one_owner)
{
    team t;
    make_team(&t);
    for (int round = 0; round < 10; round++) {
        char sql[256];
        snprintf(sql, sizeof sql, "UPDATE memberships SET role = 'owner' WHERE tenant_id = %lld AND user_id IN (%lld, %lld)",
                 t.acme, t.olivia, t.adam);
        it_exec(db, sql);
        /* both owners step down at the same moment: one of them must stay owner */
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, NULL, 2);
        step_down s[2] = {{&barrier, member_ctx(t.olivia, t.acme, AR_ROLE_OWNER), 0},
                          {&barrier, member_ctx(t.adam, t.acme, AR_ROLE_OWNER), 0}};
        pthread_t th[2];
        for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, step_down_thread, &s[i]), 0);
        for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
        pthread_barrier_destroy(&barrier);
        ck_assert_int_eq(s[0].rc + s[1].rc, -1);
        ck_assert_int_eq(q("SELECT count(*) FROM memberships WHERE tenant_id = %lld AND role = 'owner'", t.acme), 1);
    }
}
END_TEST

START_TEST(tenant_admin_passkey_scope)
{
    team t;
    make_team(&t);
    long long other = q("INSERT INTO tenants (name) VALUES ('Globex') RETURNING id");
    ar_ctx adam = member_ctx(t.adam, t.acme, AR_ROLE_ADMIN);
    ar_ctx mike = member_ctx(t.mike, t.acme, AR_ROLE_MEMBER);
    ar_ctx op = operator_ctx();
    ar_error err = {0};
    char raw[64];
    long long id = 0;

    long long mine = mint(&adam, t.acme, AR_ROLE_ADMIN, 2, raw);
    ar_passkey_options foreign = {.tenant_id = other, .role = AR_ROLE_MEMBER};
    ck_assert_int_eq(ar_passkey_mint(&adam, &foreign, raw, &id, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ck_assert_str_eq(raw, "");
    ar_error_clear(&err);
    ar_passkey_options platform = {.tenant_id = 0};
    ck_assert_int_eq(ar_passkey_mint(&adam, &platform, raw, &id, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ar_error_clear(&err);
    ar_passkey_options owner_role = {.tenant_id = t.acme, .role = AR_ROLE_OWNER};
    ck_assert_int_eq(ar_passkey_mint(&adam, &owner_role, raw, &id, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ck_assert_ptr_nonnull(field(&err, "role"));
    ar_error_clear(&err);
    ar_passkey_options member_mint = {.tenant_id = t.acme};
    ck_assert_int_eq(ar_passkey_mint(&mike, &member_mint, raw, &id, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ar_error_clear(&err);
    /* bad options, all reported */
    char long_note[600];
    memset(long_note, 'n', sizeof long_note - 1);
    long_note[sizeof long_note - 1] = '\0';
    ar_passkey_options bad = {.tenant_id = t.acme, .max_uses = 10001, .note = long_note, .expires_in_s = -5,
                              .email = "nope"};
    ck_assert_int_eq(ar_passkey_mint(&adam, &bad, raw, &id, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ck_assert_uint_eq(json_object_size(err.fields), 4);
    ar_error_clear(&err);
    /* staff mint anywhere; unknown tenants are 404 */
    long long theirs = mint(&op, other, AR_ROLE_MEMBER, 1, raw);
    long long platform_pk = mint_platform(raw);
    ar_passkey_options missing = {.tenant_id = 987654};
    ck_assert_int_eq(ar_passkey_mint(&op, &missing, raw, &id, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'passkey.created'"), 3);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'passkey.created' AND tenant_id = %lld AND "
                       "passkey_id = %lld AND (details->>'max_uses')::int = 2", t.acme, mine), 1);

    /* lists: tenant admins see their tenant's keys only; staff all */
    json_t *list = ar_passkey_list(&adam, NULL, &err);
    ck_assert_int_eq(json_integer_value(json_object_get(list, "count")), 1);
    json_t *p = json_array_get(json_object_get(list, "passkeys"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "id")), mine);
    ck_assert_str_eq(json_string_value(json_object_get(p, "tenant_name")), "Acme");
    ck_assert_str_eq(json_string_value(json_object_get(p, "created_by_username")), "adam");
    ck_assert_str_eq(json_string_value(json_object_get(p, "status")), "active");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "max_uses")), 2);
    json_decref(list);
    list = ar_passkey_list(&op, NULL, &err);
    ck_assert_int_eq(json_integer_value(json_object_get(list, "count")), 3);
    json_decref(list);
    list = ar_passkey_list(&op, "used", &err);
    ck_assert_int_eq(json_integer_value(json_object_get(list, "count")), 0);
    json_decref(list);
    ck_assert_ptr_null(ar_passkey_list(&op, "bogus", &err));
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);
    ck_assert_ptr_null(ar_passkey_list(&mike, NULL, &err));
    ck_assert_int_eq(err.code, AR_ERR_FORBIDDEN);
    ar_error_clear(&err);

    /* other tenants' keys do not exist for a tenant admin */
    ck_assert_int_eq(ar_passkey_revoke(&adam, theirs, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    ck_assert_ptr_null(ar_passkey_history(&adam, platform_pk, &err));
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    ck_assert_int_eq(q("SELECT count(*) FROM invite_passkeys WHERE revoked_at IS NOT NULL"), 0);
}
END_TEST

START_TEST(passkey_history_and_check)
{
    team t;
    make_team(&t);
    ar_ctx adam = member_ctx(t.adam, t.acme, AR_ROLE_ADMIN);
    ar_error err = {0};
    char raw[64];
    long long pk = mint(&adam, t.acme, AR_ROLE_MEMBER, 1, raw);

    /* the sign-up page checks the key first */
    ar_ctx anon = anonymous();
    json_t *info = ar_passkey_check(&anon, raw, &err);
    ck_assert_msg(info != NULL, "%s", err.message);
    ck_assert_str_eq(json_string_value(json_object_get(info, "tenant_name")), "Acme");
    ck_assert_str_eq(json_string_value(json_object_get(info, "role")), "member");
    json_decref(info);
    ck_assert_ptr_null(ar_passkey_check(&anon, "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE", &err));
    ck_assert_ptr_nonnull(field(&err, "passkey"));
    ar_error_clear(&err);
    ck_assert_ptr_null(ar_passkey_check(&anon, "   ", &err));
    ar_error_clear(&err);

    long long uid = 0, tid = 0;
    ck_assert_int_eq(signup("newbie", "newbie@example.com", PASSWORD, raw, &uid, &tid, &err), 0);
    ck_assert_int_eq(signup("latecomer", "late@example.com", PASSWORD, raw, &uid, &tid, &err), -1);
    ar_error_clear(&err);

    json_t *h = ar_passkey_history(&adam, pk, &err);
    ck_assert_msg(h != NULL, "%s", err.message);
    json_t *passkey = json_object_get(h, "passkey");
    ck_assert_str_eq(json_string_value(json_object_get(passkey, "status")), "used");
    ck_assert_int_eq(json_integer_value(json_object_get(passkey, "uses")), 1);
    json_t *events = json_object_get(h, "events");
    const char *expected[] = {"passkey.created", "passkey.validated", "passkey.consumed", "signup.ok",
                              "passkey.rejected", "signup.failed"};
    ck_assert_uint_eq(json_array_size(events), 6);
    for (size_t i = 0; i < 6; i++) {
        json_t *e = json_array_get(events, i);
        ck_assert_str_eq(json_string_value(json_object_get(e, "action")), expected[i]);
    }
    json_t *consumed = json_array_get(events, 2);
    ck_assert_str_eq(json_string_value(json_object_get(consumed, "actor_username")), "newbie");
    ck_assert_str_eq(json_string_value(json_object_get(consumed, "ip")), "192.0.2.7");
    ck_assert(json_is_true(json_object_get(consumed, "success")));
    json_t *rejected = json_array_get(events, 4);
    ck_assert_str_eq(json_string_value(json_object_get(rejected, "reason")), "used");
    ck_assert(json_is_false(json_object_get(rejected, "success")));
    json_decref(h);

    /* revoke by the tenant admin, listed as revoked */
    ck_assert_int_eq(ar_passkey_revoke(&adam, pk, &err), 0);
    json_t *list = ar_passkey_list(&adam, "revoked", &err);
    ck_assert_int_eq(json_integer_value(json_object_get(list, "count")), 1);
    json_decref(list);
    ck_assert_int_eq(ar_passkey_revoke(&adam, 424242, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
}
END_TEST

/* ---- CLI -------------------------------------------------------------------------------------- */

/* Run `afterresumed args` against this test's database with stdin_text on standard input. Returns stdout
 * (heap); *status the exit status; stderr_out (may be NULL) gets stderr (heap). */
static char *cli(const char *args, const char *stdin_text, int *status, char **stderr_out)
{
    char in_path[] = "/tmp/ar_cli_in_XXXXXX", err_path[] = "/tmp/ar_cli_err_XXXXXX";
    int in_fd = mkstemp(in_path), err_fd = mkstemp(err_path);
    ck_assert(in_fd >= 0 && err_fd >= 0);
    if (stdin_text) ck_assert_int_eq(write(in_fd, stdin_text, strlen(stdin_text)), (ssize_t)strlen(stdin_text));
    close(in_fd);
    close(err_fd);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "DATABASE_URL='%s' AR_ENV_FILE=/nonexistent AR_PUBLIC_URL=https://ar.example.test/ %s %s <%s 2>%s", db_url,
             it_binary(), args, in_path, err_path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ar_buf out = AR_BUF_INIT;
    char chunk[512];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) ar_buf_append(&out, chunk, n);
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    char *errors = it_read_file(err_path);
    if (stderr_out)
        *stderr_out = errors;
    else
        free(errors);
    unlink(in_path);
    unlink(err_path);
    return ar_buf_steal(&out);
}

static int line_count(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

START_TEST(cli_create_user_and_passwords)
{
    int st;
    char *err_text = NULL;
    char *out = cli("admin create-user --username ops --email ops@example.com --staff", NULL, &st, &err_text);
    ck_assert_msg(st == 0, "exit %d: %s", st, err_text);
    free(err_text);
    ck_assert_int_eq(line_count(out), 2);
    long long id = atoll(out);
    ck_assert_int_gt(id, 0);
    char *password = strchr(out, '\n') + 1;
    password[strcspn(password, "\n")] = '\0';
    ck_assert_uint_eq(strlen(password), 20);
    ck_assert_int_eq(q("SELECT count(*) FROM users WHERE id = %lld AND username = 'ops' AND is_staff", id), 1);
    ck_assert_int_eq(q("SELECT count(*) FROM memberships WHERE user_id = %lld AND role = 'owner'", id), 1);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'user.created' AND request_id = 'cli'"), 1);
    ar_error err = {0};
    json_t *u = authenticate("ops", password, &err);
    ck_assert_ptr_nonnull(u);
    ck_assert(json_is_true(json_object_get(u, "is_staff")));
    json_decref(u);
    ar_free(out);

    out = cli("admin create-user --username=piped --email=piped@example.com --password-stdin", "from stdin 12345\n", &st,
              NULL);
    ck_assert_int_eq(st, 0);
    ck_assert_int_eq(line_count(out), 1);
    u = authenticate("piped", "from stdin 12345", &err);
    ck_assert_ptr_nonnull(u);
    ck_assert(json_is_false(json_object_get(u, "is_staff")));
    json_decref(u);
    ar_free(out);

    /* failures: one line, exit 1; usage errors exit 2 */
    out = cli("admin create-user --username piped --email x@example.com", NULL, &st, &err_text);
    ck_assert_int_eq(st, 1);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(line_count(err_text), 1);
    ck_assert_ptr_nonnull(strstr(err_text, "already taken"));
    free(err_text);
    ar_free(out);
    out = cli("admin create-user --username shorty --email s@example.com --password-stdin", "short\n", &st, &err_text);
    ck_assert_int_eq(st, 1);
    ck_assert_ptr_nonnull(strstr(err_text, "password"));
    free(err_text);
    ar_free(out);
    out = cli("admin create-user --email x@example.com", NULL, &st, NULL);
    ck_assert_int_eq(st, 2);
    ar_free(out);
    out = cli("admin create-user --username a --email b --bogus", NULL, &st, NULL);
    ck_assert_int_eq(st, 2);
    ar_free(out);
    out = cli("admin frobnicate", NULL, &st, NULL);
    ck_assert_int_eq(st, 2);
    ar_free(out);

    /* reset-password prints a generated password and ends sessions; disable-user */
    give_session_and_token(id, personal_tenant(id), "cli");
    out = cli("admin reset-password --username ops", NULL, &st, NULL);
    ck_assert_int_eq(st, 0);
    out[strcspn(out, "\n")] = '\0';
    ck_assert_uint_eq(strlen(out), 20);
    u = authenticate("ops", out, &err);
    ck_assert_ptr_nonnull(u);
    json_decref(u);
    ck_assert_int_eq(q("SELECT count(*) FROM sessions WHERE user_id = %lld AND ended_at IS NULL", id), 0);
    ar_free(out);
    out = cli("admin reset-password --username piped --password-stdin", "another long password\n", &st, NULL);
    ck_assert_int_eq(st, 0);
    ck_assert_str_eq(out, "");
    u = authenticate("piped", "another long password", &err);
    ck_assert_ptr_nonnull(u);
    json_decref(u);
    ar_free(out);
    out = cli("admin reset-password --username ghost", NULL, &st, &err_text);
    ck_assert_int_eq(st, 1);
    ck_assert_int_eq(line_count(err_text), 1);
    free(err_text);
    ar_free(out);
    out = cli("admin disable-user --username piped", NULL, &st, NULL);
    ck_assert_int_eq(st, 0);
    ar_free(out);
    ck_assert_ptr_null(authenticate("piped", "another long password", &err));
    ar_error_clear(&err);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'user.disabled' AND request_id = 'cli'"), 1);
}
END_TEST

START_TEST(cli_mint_passkey)
{
    int st;
    char *err_text = NULL;
    char *out = cli("admin mint-passkey", NULL, &st, &err_text);
    ck_assert_msg(st == 0, "exit %d: %s", st, err_text);
    free(err_text);
    ck_assert_int_eq(line_count(out), 1);
    out[strcspn(out, "\n")] = '\0';
    ck_assert_int_eq(ar_passkey_well_formed(out), 1);
    long long uid = 0, tid = 0;
    ar_error err = {0};
    ck_assert_int_eq(signup("viacli", "viacli@example.com", PASSWORD, out, &uid, &tid, &err), 0);
    ar_free(out);
    ck_assert_int_eq(q("SELECT count(*) FROM invite_passkeys WHERE tenant_id IS NULL AND max_uses = 1 AND expires_at IS NULL"), 1);

    long long acme = q("INSERT INTO tenants (name) VALUES ('Acme') RETURNING id");
    char args[256];
    snprintf(args, sizeof args,
             "admin mint-passkey --tenant %lld --role admin --expires-in 7d --max-uses 3 --note 'for the team'", acme);
    out = cli(args, NULL, &st, NULL);
    ck_assert_int_eq(st, 0);
    out[strcspn(out, "\n")] = '\0';
    ck_assert_uint_eq(strlen(out), 43);
    ar_free(out);
    ck_assert_int_eq(q("SELECT count(*) FROM invite_passkeys WHERE tenant_id = %lld AND role = 'admin' AND max_uses = 3 "
                       "AND note = 'for the team' AND expires_at BETWEEN now() + interval '6 days 23 hours' AND "
                       "now() + interval '7 days 1 hour'", acme), 1);
    out = cli("admin mint-passkey --expires-in 90m", NULL, &st, NULL);
    ck_assert_int_eq(st, 0);
    ar_free(out);
    ck_assert_int_eq(q("SELECT count(*) FROM invite_passkeys WHERE expires_at BETWEEN now() + interval '89 minutes' "
                       "AND now() + interval '91 minutes'"), 1);
    ck_assert_int_eq(q("SELECT count(*) FROM audit_events WHERE action = 'passkey.created' AND request_id = 'cli'"), 3);

    const char *usage_errors[] = {"admin mint-passkey --expires-in 7x", "admin mint-passkey --expires-in -1",
                                  "admin mint-passkey --role admin", "admin mint-passkey --tenant 1 --role owner",
                                  "admin mint-passkey --max-uses 0", "admin mint-passkey --max-uses 10001",
                                  "admin mint-passkey --tenant abc", "admin mint-passkey --note"};
    for (size_t i = 0; i < sizeof usage_errors / sizeof usage_errors[0]; i++) {
        out = cli(usage_errors[i], NULL, &st, NULL);
        ck_assert_msg(st == 2, "%s: exit %d", usage_errors[i], st);
        ck_assert_str_eq(out, "");
        ar_free(out);
    }
    out = cli("admin mint-passkey --tenant 99999", NULL, &st, &err_text);
    ck_assert_int_eq(st, 1);
    ck_assert_str_eq(out, "");
    ck_assert_ptr_nonnull(strstr(err_text, "Tenant not found"));
    free(err_text);
    ar_free(out);
}
END_TEST

START_TEST(cli_bootstrap_once)
{
    int st;
    char *err_text = NULL;
    char *out = cli("admin bootstrap", NULL, &st, &err_text);
    ck_assert_msg(st == 0, "exit %d: %s", st, err_text);
    free(err_text);
    ck_assert_ptr_nonnull(strstr(out, "https://ar.example.test/login"));
    ck_assert_ptr_nonnull(strstr(out, "Username:     admin"));
    const char *pw = strstr(out, "Password:     ");
    ck_assert_ptr_nonnull(pw);
    char password[32];
    snprintf(password, sizeof password, "%.20s", pw + strlen("Password:     "));
    const char *link = strstr(out, "https://ar.example.test/signup?passkey=");
    ck_assert_ptr_nonnull(link);
    char passkey[64];
    snprintf(passkey, sizeof passkey, "%.43s", link + strlen("https://ar.example.test/signup?passkey="));
    ck_assert_int_eq(ar_passkey_well_formed(passkey), 1);
    ar_free(out);

    ar_error err = {0};
    json_t *u = authenticate("admin", password, &err);
    ck_assert_msg(u != NULL, "bootstrap password does not work: %s", err.message);
    ck_assert(json_is_true(json_object_get(u, "is_staff")));
    json_decref(u);
    ck_assert_int_eq(q("SELECT count(*) FROM users WHERE email = 'admin@localhost'"), 1);
    long long uid = 0, tid = 0;
    ck_assert_int_eq(signup("invited", "invited@example.com", PASSWORD, passkey, &uid, &tid, &err), 0);

    /* users exist: silent, exit 0, nothing new */
    out = cli("admin bootstrap", NULL, &st, NULL);
    ck_assert_int_eq(st, 0);
    ck_assert_str_eq(out, "");
    ar_free(out);
    ck_assert_int_eq(q("SELECT count(*) FROM users"), 2);
    ck_assert_int_eq(q("SELECT count(*) FROM invite_passkeys"), 1);
}
END_TEST

Suite *accounts_suite(void)
{
    Suite *s = suite_create("accounts");
    TCase *signup_tc = tcase_create("signup");
    tcase_add_checked_fixture(signup_tc, setup, teardown);
    tcase_set_timeout(signup_tc, 120);
    tcase_add_test(signup_tc, signup_happy_path);
    tcase_add_test(signup_tc, concurrent_signups_single_use);
    tcase_add_test(signup_tc, rejected_passkeys);
    tcase_add_test(signup_tc, scoped_passkey_gives_membership);
    tcase_add_test(signup_tc, duplicates_are_field_errors);
    tcase_add_test(signup_tc, bad_fields_reported_at_once);
    suite_add_tcase(s, signup_tc);

    TCase *signin_tc = tcase_create("signin");
    tcase_add_checked_fixture(signin_tc, setup, teardown);
    tcase_set_timeout(signin_tc, 120);
    tcase_add_test(signin_tc, authenticate_by_username_or_email);
    tcase_add_test(signin_tc, rehash_on_sign_in);
    tcase_add_test(signin_tc, disabled_users);
    tcase_add_test(signin_tc, password_changes);
    suite_add_tcase(s, signin_tc);

    TCase *admin_tc = tcase_create("tenant_admin");
    tcase_add_checked_fixture(admin_tc, setup, teardown);
    tcase_set_timeout(admin_tc, 120);
    tcase_add_test(admin_tc, last_owner_is_protected);
    tcase_add_test(admin_tc, concurrent_owner_demotions_keep_one_owner);
    tcase_add_test(admin_tc, tenant_admin_passkey_scope);
    tcase_add_test(admin_tc, passkey_history_and_check);
    suite_add_tcase(s, admin_tc);

    TCase *cli_tc = tcase_create("cli");
    tcase_add_checked_fixture(cli_tc, setup, teardown);
    tcase_set_timeout(cli_tc, 120);
    tcase_add_test(cli_tc, cli_create_user_and_passwords);
    tcase_add_test(cli_tc, cli_mint_passkey);
    tcase_add_test(cli_tc, cli_bootstrap_once);
    suite_add_tcase(s, cli_tc);
    return s;
}
