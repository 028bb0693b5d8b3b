/* test_identity.c — identity over HTTP against the real daemon, PostgreSQL and Valkey: passkey sign-up,
 * sign-in, sessions, CSRF, API tokens and their scopes, disabled users, tenant isolation (queries and RLS)
 * and sign-in rate limits. */
#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <unistd.h>

#include "daemon.h"
#include "harness.h"
#include "afterresume/domain/registry.h"
#include "afterresume/jobs/jobs.h"
#include "afterresume/jobs/valkey.h"

static it_daemon d;
static char *db_url;
static char env_db[1024];

static void start(void)
{
    db_url = it_migrated_db();
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    static const char *limits = "AR_RATE_LIMIT_SIGNIN_IP=1000/300";
    static const char *limits2 = "AR_RATE_LIMIT_SIGNUP_IP=1000/300";
    static const char *limits3 = "AR_RATE_LIMIT_SIGNIN_ACCOUNT=1000/300";
    static const char *limits4 = "AR_RATE_LIMIT_PASSKEY_IP=1000/300";
    static const char *limits5 = "AR_RATE_LIMIT_RESET_IP=1000/300";
    const char *env[] = {env_db, limits, limits2, limits3, limits4, limits5, NULL};
    ck_assert_msg(it_daemon_start(&d, env) == 0, "daemon did not start; see %s", d.log_path);
}

static void stop(void)
{
    it_daemon_stop(&d);
}

/* Run the CLI against the suite's database; returns stdout (heap) and the exit status. */
static char *cli(const char *args, int *status)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "DATABASE_URL='%s' AR_ENV_FILE=/nonexistent %s %s 2>/dev/null", db_url, it_binary(), args);
    FILE *p = popen(cmd, "r");
    ar_buf out = AR_BUF_INIT;
    char chunk[512];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) ar_buf_append(&out, chunk, n);
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return ar_buf_steal(&out);
}

static char *mint_passkey(const char *extra)
{
    int st;
    char args[256];
    snprintf(args, sizeof args, "admin mint-passkey %s", extra ? extra : "");
    char *out = cli(args, &st);
    ck_assert_int_eq(st, 0);
    out[strcspn(out, "\r\n")] = '\0';
    ck_assert_uint_eq(strlen(out), 43);
    return out;
}

typedef struct client {
    char cookie[200];   /* "ar_session=..." */
    char csrf[100];
} client;

static long request(client *cl, const char *method, const char *path, const char *json_body, const char *bearer,
                    int with_csrf, it_response *r)
{
    char url[512], cookie[256], auth[256], csrf[160];
    snprintf(url, sizeof url, "%s%s", d.base_url, path);
    const char *headers[6];
    int n = 0;
    if (json_body) headers[n++] = "Content-Type: application/json";
    if (cl && cl->cookie[0]) {
        snprintf(cookie, sizeof cookie, "Cookie: %s", cl->cookie);
        headers[n++] = cookie;
    }
    if (bearer) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        headers[n++] = auth;
    }
    if (with_csrf && cl && cl->csrf[0]) {
        snprintf(csrf, sizeof csrf, "X-CSRF-Token: %s", cl->csrf);
        headers[n++] = csrf;
    }
    headers[n] = NULL;
    ck_assert_int_eq(it_http(method, url, headers, json_body, json_body ? strlen(json_body) : 0, r), 0);
    return r->status;
}

/* Take the session cookie from Set-Cookie headers. */
static void take_cookie(client *cl, it_response *r)
{
    const char *p = ar_buf_cstr(&r->headers);
    while ((p = strcasestr(p, "Set-Cookie: ar_session=")) != NULL) {
        p += strlen("Set-Cookie: ");
        size_t len = strcspn(p, ";\r\n");
        if (len < sizeof cl->cookie) {
            memcpy(cl->cookie, p, len);
            cl->cookie[len] = '\0';
        }
    }
}

static json_t *body(it_response *r)
{
    json_error_t e;
    json_t *j = json_loads(ar_buf_cstr(&r->body), 0, &e);
    ck_assert_msg(j != NULL, "not JSON: %s", ar_buf_cstr(&r->body));
    return j;
}

static void signup(client *cl, const char *username, const char *passkey)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"correct horse battery\",\"passkey\":\"%s\"}",
             username, username, passkey);
    it_response r;
    long st = request(cl, "POST", "/api/auth/signup/", json, NULL, 0, &r);
    ck_assert_msg(st == 201, "signup %s: %ld %s", username, st, ar_buf_cstr(&r.body));
    take_cookie(cl, &r);
    json_t *j = body(&r);
    snprintf(cl->csrf, sizeof cl->csrf, "%s", json_string_value(json_object_get(j, "csrf_token")));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "user"), "username")), username);
    json_decref(j);
    it_response_free(&r);
    ck_assert(cl->cookie[0]);
}

static char *create_token(client *cl, const char *scope, long long *id)
{
    char json[128];
    snprintf(json, sizeof json, "{\"name\":\"ci %s\",\"scope\":\"%s\"}", scope, scope);
    it_response r;
    long st = request(cl, "POST", "/api/tokens/", json, NULL, 1, &r);
    ck_assert_msg(st == 201, "token: %ld %s", st, ar_buf_cstr(&r.body));
    json_t *j = body(&r);
    char *tok = strdup(json_string_value(json_object_get(j, "token")));
    if (id) *id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    it_response_free(&r);
    return tok;
}

START_TEST(signup_signin_token_me_flow)
{
    char *key = mint_passkey(NULL);
    client a = {0};
    signup(&a, "alice", key);
    it_response r;
    ck_assert_int_eq(request(&a, "GET", "/api/me/", NULL, NULL, 0, &r), 200);
    json_t *me = body(&r);
    ck_assert_str_eq(json_string_value(json_object_get(me, "username")), "alice");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(me, "tenant"), "role")), "owner");
    json_decref(me);
    it_response_free(&r);

    /* sign out ends the session server-side: the old cookie stops working */
    ck_assert_int_eq(request(&a, "POST", "/api/auth/logout/", NULL, NULL, 1, &r), 200);
    it_response_free(&r);
    ck_assert_int_eq(request(&a, "GET", "/api/me/", NULL, NULL, 0, &r), 401);
    it_response_free(&r);

    /* sign in again by e-mail, then the scripts' token endpoint */
    client a2 = {0};
    ck_assert_int_eq(request(&a2, "POST", "/api/auth/login/",
                             "{\"username\":\"ALICE@example.com\",\"password\":\"correct horse battery\"}", NULL, 0, &r),
                     200);
    take_cookie(&a2, &r);
    it_response_free(&r);
    ck_assert_int_eq(request(&a2, "GET", "/api/me/", NULL, NULL, 0, &r), 200);
    it_response_free(&r);
    ck_assert_int_eq(request(NULL, "POST", "/api/auth/token/",
                             "{\"username\":\"alice\",\"password\":\"correct horse battery\"}", NULL, 0, &r),
                     200);
    json_t *t = body(&r);
    const char *token = json_string_value(json_object_get(t, "token"));
    ck_assert_ptr_nonnull(token);
    ck_assert(strncmp(token, "ar_pat_", 7) == 0);
    it_response tr;
    ck_assert_int_eq(request(NULL, "GET", "/api/me/", NULL, token, 0, &tr), 200);
    it_response_free(&tr);
    json_decref(t);
    it_response_free(&r);

    /* the passkey was single-use */
    client x = {0};
    ck_assert_int_eq(request(&x, "POST", "/api/auth/signup/",
                             "{\"username\":\"mallory\",\"email\":\"m@example.com\",\"password\":\"correct horse battery\","
                             "\"passkey\":\"x\"}",
                             NULL, 0, &r),
                     400);
    it_response_free(&r);
    char json[512];
    snprintf(json, sizeof json,
             "{\"username\":\"mallory\",\"email\":\"m@example.com\",\"password\":\"correct horse battery\",\"passkey\":\"%s\"}",
             key);
    ck_assert_int_eq(request(&x, "POST", "/api/auth/signup/", json, NULL, 0, &r), 400);
    json_t *e = body(&r);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(e, "error"), "fields"), "passkey"));
    json_decref(e);
    it_response_free(&r);
    free(key);
}
END_TEST

START_TEST(wrong_password_and_unknown_user_look_alike)
{
    char *key = mint_passkey(NULL);
    client b = {0};
    signup(&b, "bob", key);
    it_response r1, r2;
    ck_assert_int_eq(request(NULL, "POST", "/api/auth/login/", "{\"username\":\"bob\",\"password\":\"wrong password!!\"}",
                             NULL, 0, &r1),
                     401);
    ck_assert_int_eq(request(NULL, "POST", "/api/auth/login/",
                             "{\"username\":\"nobody-here\",\"password\":\"wrong password!!\"}", NULL, 0, &r2),
                     401);
    ck_assert_str_eq(ar_buf_cstr(&r1.body), ar_buf_cstr(&r2.body));
    it_response_free(&r1);
    it_response_free(&r2);
    free(key);
}
END_TEST

START_TEST(csrf_and_token_scopes)
{
    char *key = mint_passkey(NULL);
    client c = {0};
    signup(&c, "carol", key);
    it_response r;
    /* a session without the CSRF token cannot change state */
    ck_assert_int_eq(request(&c, "POST", "/api/tokens/", "{\"name\":\"x\",\"scope\":\"read\"}", NULL, 0, &r), 403);
    json_t *e = body(&r);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "error"), "code")), "csrf_failed");
    json_decref(e);
    it_response_free(&r);
    long long read_id = 0;
    char *read_tok = create_token(&c, "read", &read_id);
    char *write_tok = create_token(&c, "write", NULL);
    /* read tokens read, and cannot write */
    ck_assert_int_eq(request(NULL, "GET", "/api/tokens/", NULL, read_tok, 0, &r), 200);
    it_response_free(&r);
    ck_assert_int_eq(request(NULL, "POST", "/api/tokens/", "{\"name\":\"y\",\"scope\":\"read\"}", read_tok, 0, &r), 403);
    it_response_free(&r);
    /* write tokens need no CSRF token (no cookies involved) */
    ck_assert_int_eq(request(NULL, "POST", "/api/tokens/", "{\"name\":\"y\",\"scope\":\"read\"}", write_tok, 0, &r), 201);
    it_response_free(&r);
    /* validation: every bad field reported */
    ck_assert_int_eq(request(NULL, "POST", "/api/tokens/", "{\"name\":\"\",\"scope\":\"admin\",\"expires_in_days\":-1}",
                             write_tok, 0, &r),
                     400);
    e = body(&r);
    json_t *fields = json_object_get(json_object_get(e, "error"), "fields");
    ck_assert_ptr_nonnull(json_object_get(fields, "name"));
    ck_assert_ptr_nonnull(json_object_get(fields, "scope"));
    ck_assert_ptr_nonnull(json_object_get(fields, "expires_in_days"));
    json_decref(e);
    it_response_free(&r);
    /* revoke → the token stops working at once */
    char path[64];
    snprintf(path, sizeof path, "/api/tokens/%lld/", read_id);
    ck_assert_int_eq(request(NULL, "DELETE", path, NULL, write_tok, 0, &r), 204);
    it_response_free(&r);
    ck_assert_int_eq(request(NULL, "GET", "/api/me/", NULL, read_tok, 0, &r), 401);
    it_response_free(&r);
    ck_assert_int_eq(request(NULL, "GET", "/api/me/", NULL, "ar_pat_not-a-real-token-at-all-000000000000", 0, &r), 401);
    it_response_free(&r);
    free(read_tok);
    free(write_tok);
    free(key);
}
END_TEST

START_TEST(tenant_isolation_by_query_and_rls)
{
    char *k1 = mint_passkey(NULL), *k2 = mint_passkey(NULL);
    client a = {0}, b = {0};
    signup(&a, "dave", k1);
    signup(&b, "erin", k2);
    long long a_tok_id = 0;
    char *a_tok = create_token(&a, "read", &a_tok_id);
    char path[64];
    snprintf(path, sizeof path, "/api/tokens/%lld/", a_tok_id);
    it_response r;
    /* B cannot revoke (or learn about) A's token: 404, and A's token still works */
    ck_assert_int_eq(request(&b, "DELETE", path, NULL, NULL, 1, &r), 404);
    it_response_free(&r);
    ck_assert_int_eq(request(NULL, "GET", "/api/me/", NULL, a_tok, 0, &r), 200);
    it_response_free(&r);
    ck_assert_int_eq(request(&b, "GET", "/api/tokens/", NULL, NULL, 0, &r), 200);
    ck_assert_ptr_null(strstr(ar_buf_cstr(&r.body), "ci read"));
    it_response_free(&r);
    /* RLS: a raw query under erin's tenant setting sees none of dave's tokens, even without a WHERE */
    PGconn *c = it_pg_connect_to(db_url);
    char *erin_tenant = it_query_value(c, "SELECT personal_tenant_id FROM users WHERE username = 'erin'");
    char *erin_id = it_query_value(c, "SELECT id FROM users WHERE username = 'erin'");
    char sql[512];
    snprintf(sql, sizeof sql,
             "BEGIN; SELECT set_config('app.tenant_id', '%s', true), set_config('app.user_id', '%s', true);",
             erin_tenant, erin_id);
    it_exec(c, sql);
    ck_assert_int_eq(it_query_long(c, "SELECT count(*) FROM api_tokens"), 0);
    ck_assert_int_eq(it_query_long(c, "SELECT count(*) FROM audit_events WHERE action = 'token.created'"), 0);
    long members = it_query_long(c, "SELECT count(*) FROM memberships");
    ck_assert_int_eq(members, 1); /* only erin's own membership */
    it_exec(c, "ROLLBACK");
    ck_assert_int_gt(it_query_long(c, "SELECT count(*) FROM users"), 1); /* users are not tenant data */
    ck_assert_int_eq(it_query_long(c, "SELECT count(*) FROM api_tokens"), 0); /* no settings: nothing at all */
    PQfinish(c);
    free(erin_tenant);
    free(erin_id);
    free(a_tok);
    free(k1);
    free(k2);
}
END_TEST

START_TEST(disabled_user_is_locked_out_at_once)
{
    char *key = mint_passkey(NULL);
    client f = {0};
    signup(&f, "frank", key);
    char *tok = create_token(&f, "write", NULL);
    it_response r;
    ck_assert_int_eq(request(&f, "GET", "/api/me/", NULL, NULL, 0, &r), 200);
    it_response_free(&r);
    int st;
    char *out = cli("admin disable-user --username frank", &st);
    free(out);
    ck_assert_int_eq(st, 0);
    ck_assert_int_eq(request(&f, "GET", "/api/me/", NULL, NULL, 0, &r), 401);
    it_response_free(&r);
    ck_assert_int_eq(request(NULL, "GET", "/api/me/", NULL, tok, 0, &r), 401);
    it_response_free(&r);
    ck_assert_int_eq(request(NULL, "POST", "/api/auth/login/",
                             "{\"username\":\"frank\",\"password\":\"correct horse battery\"}", NULL, 0, &r),
                     401);
    it_response_free(&r);
    free(tok);
    free(key);
}
END_TEST

START_TEST(bad_input_is_refused_cleanly)
{
    it_response r;
    static const char sql_meta[] = "{\"username\":\"a'; DROP TABLE users;--\",\"password\":\"x\"}";
    const char *bodies[] = {"{\"username\":1,\"password\":[]}", "{}", sql_meta};
    for (size_t i = 0; i < 3; i++) {
        long st = request(NULL, "POST", "/api/auth/login/", bodies[i], NULL, 0, &r);
        ck_assert_msg(st == 400 || st == 401, "body %zu gave %ld", i, st);
        it_response_free(&r);
    }
    ck_assert_int_eq(request(NULL, "POST", "/api/auth/signup/",
                             "{\"username\":\"x\",\"email\":\"nope\",\"password\":\"short\",\"passkey\":\"\"}", NULL, 0, &r),
                     400);
    json_t *e = body(&r);
    json_t *fields = json_object_get(json_object_get(e, "error"), "fields");
    ck_assert_ptr_nonnull(json_object_get(fields, "username"));
    ck_assert_ptr_nonnull(json_object_get(fields, "email"));
    ck_assert_ptr_nonnull(json_object_get(fields, "password"));
    ck_assert_ptr_nonnull(json_object_get(fields, "passkey"));
    json_decref(e);
    it_response_free(&r);
    PGconn *c = it_pg_connect_to(db_url);
    ck_assert_int_eq(it_query_long(c, "SELECT count(*) FROM users WHERE username = 'x'"), 0);
    ck_assert_int_gt(it_query_long(c, "SELECT count(*) FROM users"), 0);
    PQfinish(c);
    /* pages need a session: a signed-out browser is sent to the sign-in page */
    ck_assert_int_eq(request(NULL, "GET", "/settings", NULL, NULL, 0, &r), 303);
    char loc[256];
    ck_assert_str_eq(it_header(&r, "Location", loc, sizeof loc), "/login?next=/settings");
    it_response_free(&r);
}
END_TEST

/* The default limits (5 per 5 min per IP), on a Valkey database of its own so other tests don't count. */
START_TEST(sixth_signin_is_rate_limited)
{
    redisContext *v = it_valkey_connect();
    redisReply *rep = redisCommand(v, "SELECT 7");
    freeReplyObject(rep);
    rep = redisCommand(v, "FLUSHDB");
    freeReplyObject(rep);
    redisFree(v);
    char valkey_env[256];
    snprintf(valkey_env, sizeof valkey_env, "VALKEY_URL=%.200s", it_valkey_url());
    char *slash = strrchr(valkey_env, '/');
    ck_assert_ptr_nonnull(slash);
    strcpy(slash, "/7");
    it_daemon limited;
    const char *env[] = {env_db, valkey_env, NULL};
    ck_assert_int_eq(it_daemon_start(&limited, env), 0);
    char url[256];
    snprintf(url, sizeof url, "%s/api/auth/login/", limited.base_url);
    const char *h[] = {"Content-Type: application/json", NULL};
    const char *b = "{\"username\":\"nobody\",\"password\":\"wrong password!!\"}";
    for (int i = 1; i <= 6; i++) {
        it_response r;
        ck_assert_int_eq(it_http("POST", url, h, b, strlen(b), &r), 0);
        if (i <= 5) {
            ck_assert_int_eq(r.status, 401);
        } else {
            ck_assert_int_eq(r.status, 429);
            char ra[32];
            ck_assert_ptr_nonnull(it_header(&r, "Retry-After", ra, sizeof ra));
            ck_assert_int_gt(atoi(ra), 0);
            ck_assert_int_le(atoi(ra), 300);
        }
        it_response_free(&r);
    }
    ck_assert_int_eq(it_daemon_stop(&limited), 0);
    PGconn *c = it_pg_connect_to(db_url);
    it_exec(c, "SELECT set_config('app.bypass_rls', 'on', false)"); /* read as the staff services do */
    ck_assert_int_ge(it_query_long(c, "SELECT count(*) FROM audit_events WHERE action = 'ratelimit.tripped'"), 1);
    PQfinish(c);
}
END_TEST

static void login(client *cl, const char *username, const char *password)
{
    char json[256];
    snprintf(json, sizeof json, "{\"username\":\"%s\",\"password\":\"%s\"}", username, password);
    it_response r;
    ck_assert_int_eq(request(cl, "POST", "/api/auth/login/", json, NULL, 0, &r), 200);
    take_cookie(cl, &r);
    json_t *j = body(&r);
    snprintf(cl->csrf, sizeof cl->csrf, "%s", json_string_value(json_object_get(j, "csrf_token")));
    json_decref(j);
    it_response_free(&r);
}

START_TEST(staff_and_tenant_admin_api)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sh -c \"printf 'staff password 123' | DATABASE_URL='%s' AR_ENV_FILE=/nonexistent %s "
                              "admin create-user --username root2 --email root2@example.com --staff --password-stdin\"",
             db_url, it_binary());
    ck_assert_int_eq(system(cmd), 0);
    client staff = {0}, member = {0};
    login(&staff, "root2", "staff password 123");
    it_response r;
    /* mint a tenant-less (platform) passkey through the API; the raw key is in the answer only */
    ck_assert_int_eq(request(&staff, "POST", "/api/admin/passkeys/", "{\"max_uses\":2,\"note\":\"api\"}", NULL, 1, &r),
                     201);
    json_t *j = body(&r);
    char raw[64];
    snprintf(raw, sizeof raw, "%s", json_string_value(json_object_get(j, "raw_key")));
    long long pk_id = json_integer_value(json_object_get(j, "id"));
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "link")), "/signup?passkey="));
    json_decref(j);
    it_response_free(&r);
    ck_assert_int_eq(request(&staff, "GET", "/api/admin/passkeys/", NULL, NULL, 0, &r), 200);
    ck_assert_ptr_null(strstr(ar_buf_cstr(&r.body), raw)); /* never listed again */
    it_response_free(&r);
    signup(&member, "gina", raw);
    char path[96];
    snprintf(path, sizeof path, "/api/admin/passkeys/%lld/", pk_id);
    ck_assert_int_eq(request(&staff, "GET", path, NULL, NULL, 0, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "passkey.consumed"));
    it_response_free(&r);
    /* a member is not staff */
    ck_assert_int_eq(request(&member, "GET", "/api/admin/users/", NULL, NULL, 0, &r), 403);
    it_response_free(&r);
    ck_assert_int_eq(request(&staff, "GET", "/api/admin/users/?search=gina", NULL, NULL, 0, &r), 200);
    j = body(&r);
    json_t *u = json_array_get(json_object_get(j, "users"), 0);
    long long gina_id = json_integer_value(json_object_get(u, "id"));
    ck_assert_str_eq(json_string_value(json_object_get(u, "username")), "gina");
    json_decref(j);
    it_response_free(&r);
    snprintf(path, sizeof path, "/api/admin/users/%lld/", gina_id);
    ck_assert_int_eq(request(&staff, "PATCH", path, "{\"is_active\":\"no\"}", NULL, 1, &r), 400);
    it_response_free(&r);
    ck_assert_int_eq(request(&staff, "PATCH", path, "{\"is_active\":false,\"disable_reason\":\"test\"}", NULL, 1, &r),
                     200);
    it_response_free(&r);
    ck_assert_int_eq(request(&member, "GET", "/api/me/", NULL, NULL, 0, &r), 401);
    it_response_free(&r);
    ck_assert_int_eq(request(&staff, "GET", "/api/admin/audit-events/?action=user.&limit=5", NULL, NULL, 0, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "user.disabled"));
    it_response_free(&r);
    ck_assert_int_eq(request(&staff, "GET", "/api/admin/audit-events/?success=maybe", NULL, NULL, 0, &r), 400);
    it_response_free(&r);
    ck_assert_int_eq(request(&staff, "GET", "/api/admin/audit-events/export.csv?limit=10", NULL, NULL, 0, &r), 200);
    ck_assert(strncmp(ar_buf_cstr(&r.body), "id,", 3) == 0 || strstr(ar_buf_cstr(&r.body), "action") != NULL);
    it_response_free(&r);
    /* the staff user's own workspace: tenant-admin API */
    ck_assert_int_eq(request(&staff, "GET", "/api/tenant/members/", NULL, NULL, 0, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "root2"));
    it_response_free(&r);
    ck_assert_int_eq(request(&staff, "POST", "/api/tenant/passkeys/",
                             "{\"role\":\"read_only\",\"email\":\"hank@example.com\"}", NULL, 1, &r),
                     201);
    j = body(&r);
    snprintf(raw, sizeof raw, "%s", json_string_value(json_object_get(j, "raw_key")));
    json_decref(j);
    it_response_free(&r);
    /* the invitee got the link by e-mail (outbox), and the workspace's list holds only its own invites */
    PGconn *pc = it_pg_connect_to(db_url);
    it_exec(pc, "SELECT set_config('app.bypass_rls', 'on', false)");
    char *mail = it_query_value(pc, "SELECT body_text FROM email_outbox WHERE to_addr = 'hank@example.com'");
    ck_assert_ptr_nonnull(strstr(mail, raw));
    free(mail);
    PQfinish(pc);
    ck_assert_int_eq(request(&staff, "GET", "/api/tenant/passkeys/", NULL, NULL, 0, &r), 200);
    j = body(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 1);
    json_decref(j);
    it_response_free(&r);
    client reader = {0};
    signup(&reader, "hank", raw);
    /* hank joined root2's workspace as read_only and starts there: not an admin of it */
    ck_assert_int_eq(request(&reader, "GET", "/api/me/", NULL, NULL, 0, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "read_only"));
    it_response_free(&r);
    ck_assert_int_eq(request(&reader, "GET", "/api/tenant/members/", NULL, NULL, 0, &r), 403);
    it_response_free(&r);
    /* the last owner cannot be demoted */
    ck_assert_int_eq(request(&staff, "GET", "/api/me/", NULL, NULL, 0, &r), 200);
    j = body(&r);
    snprintf(path, sizeof path, "/api/tenant/members/%lld/", (long long)json_integer_value(json_object_get(j, "id")));
    json_decref(j);
    it_response_free(&r);
    ck_assert_int_eq(request(&staff, "PATCH", path, "{\"role\":\"member\"}", NULL, 1, &r), 409);
    it_response_free(&r);
}
END_TEST

START_TEST(password_reset_by_email)
{
    char *key = mint_passkey(NULL);
    client i = {0};
    signup(&i, "ivy", key);
    it_response r1, r2;
    ck_assert_int_eq(request(NULL, "POST", "/api/auth/password/reset/", "{\"email\":\"ivy@example.com\"}", NULL, 0, &r1),
                     200);
    ck_assert_int_eq(request(NULL, "POST", "/api/auth/password/reset/", "{\"email\":\"nobody@example.com\"}", NULL, 0,
                             &r2),
                     200);
    ck_assert_str_eq(ar_buf_cstr(&r1.body), ar_buf_cstr(&r2.body)); /* no account oracle */
    it_response_free(&r1);
    it_response_free(&r2);
    PGconn *c = it_pg_connect_to(db_url);
    it_exec(c, "SELECT set_config('app.bypass_rls', 'on', false)");
    char *mail = it_query_value(c, "SELECT body_text FROM email_outbox WHERE to_addr = 'ivy@example.com' ORDER BY id DESC LIMIT 1");
    ck_assert_int_eq(it_query_long(c, "SELECT count(*) FROM email_outbox WHERE to_addr = 'nobody@example.com'"), 0);
    PQfinish(c);
    const char *t = strstr(mail, "token=");
    ck_assert_ptr_nonnull(t);
    char token[64];
    snprintf(token, sizeof token, "%.43s", t + 6);
    free(mail);
    char json[256];
    snprintf(json, sizeof json, "{\"token\":\"%s\",\"new_password\":\"short\"}", token);
    ck_assert_int_eq(request(NULL, "POST", "/api/auth/password/reset/confirm/", json, NULL, 0, &r1), 400);
    it_response_free(&r1);
    snprintf(json, sizeof json, "{\"token\":\"%s\",\"new_password\":\"a brand new passphrase\"}", token);
    ck_assert_int_eq(request(NULL, "POST", "/api/auth/password/reset/confirm/", json, NULL, 0, &r1), 200);
    it_response_free(&r1);
    ck_assert_int_eq(request(NULL, "POST", "/api/auth/password/reset/confirm/", json, NULL, 0, &r1), 404); /* single use */
    it_response_free(&r1);
    ck_assert_int_eq(request(&i, "GET", "/api/me/", NULL, NULL, 0, &r1), 401); /* sessions ended */
    it_response_free(&r1);
    client again = {0};
    login(&again, "ivy", "a brand new passphrase");
    free(key);
}
END_TEST

/* Every identity page renders for the people allowed to see it, with real data, and refuses the others. */
START_TEST(pages_render_with_real_data)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sh -c \"printf 'staff password 456' | DATABASE_URL='%s' AR_ENV_FILE=/nonexistent %s "
                              "admin create-user --username pages --email pages@example.com --staff --password-stdin\"",
             db_url, it_binary());
    ck_assert_int_eq(system(cmd), 0);
    client staff = {0};
    login(&staff, "pages", "staff password 456");
    it_response r;
    ck_assert_int_eq(request(&staff, "POST", "/api/admin/passkeys/", "{\"note\":\"page test\"}", NULL, 1, &r), 201);
    json_t *j = body(&r);
    char path[64];
    snprintf(path, sizeof path, "/admin/passkeys/%lld", (long long)json_integer_value(json_object_get(j, "id")));
    json_decref(j);
    it_response_free(&r);
    const char *pages[][2] = {{"/", "id=\"status-bar\""},
                              {"/status/bar", "Running jobs"},
                              {"/settings", "API tokens"},
                              {"/tenant/settings", "pages"},
                              {"/admin/users", "pages@example.com"},
                              {"/admin/passkeys", "page test"},
                              {path, "page test"},
                              {"/admin/audit", "signin.ok"},
                              {"/admin/audit?action=signin.&success=true", "signin.ok"},
                              {"/admin/outbox", "Outbox"},
                              {"/admin/ratelimits", "signin_ip"},
                              {"/logout", "/logout"}};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        ck_assert_int_eq(request(&staff, "GET", pages[i][0], NULL, NULL, 0, &r), 200);
        ck_assert_msg(strstr(ar_buf_cstr(&r.body), pages[i][1]) != NULL, "%s lacks '%s'", pages[i][0], pages[i][1]);
        ck_assert_msg(strstr(ar_buf_cstr(&r.body), staff.csrf) != NULL || strstr(pages[i][0], "audit") ||
                          strcmp(pages[i][0], "/status/bar") == 0, /* a fragment without forms */
                      "%s has no CSRF token for its forms", pages[i][0]);
        char cc[64];
        ck_assert_str_eq(it_header(&r, "Cache-Control", cc, sizeof cc), "no-store");
        it_response_free(&r);
    }
    ck_assert_int_eq(request(&staff, "GET", "/admin/audit?success=maybe", NULL, NULL, 0, &r), 400);
    it_response_free(&r);
    /* signed-out pages */
    const char *anon[] = {"/login", "/signup", "/password/forgot"};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(request(NULL, "GET", anon[i], NULL, NULL, 0, &r), 200);
        ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "name=\"csrf_token\""));
        it_response_free(&r);
    }
    ck_assert_int_eq(request(NULL, "GET", "/password/reset?token=nonsense", NULL, NULL, 0, &r), 404);
    it_response_free(&r);
    /* a plain member is refused the staff and team pages */
    char *key = mint_passkey(NULL);
    client m = {0};
    signup(&m, "jill", key);
    ck_assert_int_eq(request(&m, "GET", "/admin/users", NULL, NULL, 0, &r), 403);
    it_response_free(&r);
    ck_assert_int_eq(request(&m, "GET", "/tenant/settings", NULL, NULL, 0, &r), 200); /* owner of her own workspace */
    it_response_free(&r);
    free(key);
}
END_TEST

START_TEST(browser_invite_signup_signout_signin)
{
    char *key = mint_passkey("--note e2e");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "node tests/e2e/identity.mjs %s %s /tmp", d.base_url, key);
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "browser identity flow failed (exit %d)", rc);
    free(key);
}
END_TEST

/* The daemon's job workers run a job enqueued for a user's workspace; the API shows it to that user only. */
START_TEST(jobs_run_in_the_daemon_and_stay_in_their_tenant)
{
    char *k1 = mint_passkey(NULL), *k2 = mint_passkey(NULL);
    client owner = {0}, other = {0};
    signup(&owner, "kate", k1);
    signup(&other, "liam", k2);
    /* enqueue through the service, as a feature would */
    ar_error err = {0};
    ck_assert_int_eq(ar_valkey_configure(it_valkey_url(), &err), 0);
    ar_domain_register_all();
    ar_jobs_register();
    PGconn *c = it_pg_connect_to(db_url);
    ar_ctx ctx = {0};
    ctx.user_id = it_query_long(c, "SELECT id FROM users WHERE username = 'kate'");
    ctx.tenant_id = it_query_long(c, "SELECT personal_tenant_id FROM users WHERE username = 'kate'");
    ctx.role = AR_ROLE_OWNER;
    PQfinish(c);
    long long job_id = 0;
    json_t *payload = json_pack("{s:i}", "sleep_ms", 50);
    ck_assert_msg(ar_job_enqueue(&ctx, "noop", payload, NULL, &job_id, &err) == 0, "%s", err.message);
    json_decref(payload);
    char path[64];
    snprintf(path, sizeof path, "/api/jobs/%lld/", job_id);
    const char *status = NULL;
    it_response r;
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(request(&owner, "GET", path, NULL, NULL, 0, &r), 200);
        json_t *j = body(&r);
        static char st[32];
        snprintf(st, sizeof st, "%s", json_string_value(json_object_get(j, "status")));
        status = st;
        int events = (int)json_array_size(json_object_get(j, "events"));
        json_decref(j);
        it_response_free(&r);
        if (strcmp(status, "succeeded") == 0) {
            ck_assert_int_ge(events, 2);
            break;
        }
        usleep(100 * 1000);
    }
    ck_assert_str_eq(status, "succeeded");
    ck_assert_int_eq(request(&other, "GET", path, NULL, NULL, 0, &r), 404);
    it_response_free(&r);
    snprintf(path, sizeof path, "/api/jobs/%lld/cancel/", job_id);
    ck_assert_int_eq(request(&other, "POST", path, NULL, NULL, 1, &r), 404);
    it_response_free(&r);
    ck_assert_int_eq(request(&owner, "POST", path, NULL, NULL, 1, &r), 409); /* already finished */
    it_response_free(&r);
    ck_assert_int_eq(request(&owner, "GET", "/api/jobs/?status=succeeded", NULL, NULL, 0, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "noop"));
    it_response_free(&r);
    ck_assert_int_eq(request(&owner, "GET", "/api/status/bar/", NULL, NULL, 0, &r), 200);
    json_t *bar = body(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(bar, "jobs_running")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(bar, "reserve_balance_cents")), 0);
    ck_assert(json_is_false(json_object_get(bar, "billing_configured")));
    ck_assert_ptr_nonnull(json_object_get(bar, "updated_at"));
    json_decref(bar);
    it_response_free(&r);
    ck_assert_int_eq(request(NULL, "GET", "/api/status/bar/", NULL, NULL, 0, &r), 401);
    it_response_free(&r);
    ck_assert_int_eq(request(NULL, "GET", "/metrics", NULL, NULL, 0, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "jobs{status=\"succeeded\"}"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "job_queue_depth{queue=\"stream\"}"));
    it_response_free(&r);
    ar_valkey_thread_close();
    free(k1);
    free(k2);
}
END_TEST

/* Last: stop the daemon that served every test above. A log that ends with "stopped" and holds no sanitizer
 * report means no leak, use-after-free or undefined behaviour was met on those paths (under make test-asan).
 * Check runs each test in a forked child, so the daemon (the fixture's child) is watched through /proc until
 * it has exited; the fixture's teardown reaps it. */
START_TEST(daemon_stops_cleanly_after_all_of_it)
{
    ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
    char stat_path[64], state = 'R';
    snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", (int)d.pid);
    for (int i = 0; i < 300 && state != 'Z'; i++) {
        FILE *f = fopen(stat_path, "r");
        if (!f) break;
        if (fscanf(f, "%*d %*s %c", &state) != 1) state = 'Z';
        fclose(f);
        if (state != 'Z') usleep(50 * 1000);
    }
    ck_assert_int_eq(state, 'Z');
    char *log = it_read_file(d.log_path);
    ck_assert_ptr_nonnull(strstr(log, "\"msg\":\"stopped\""));
    ck_assert_msg(strstr(log, "Sanitizer") == NULL && strstr(log, "runtime error") == NULL, "sanitizer report in %s",
                  d.log_path);
    free(log);
}
END_TEST

Suite *identity_suite(void)
{
    Suite *s = suite_create("identity");
    TCase *tc = tcase_create("identity");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, start, stop);
    tcase_add_test(tc, signup_signin_token_me_flow);
    tcase_add_test(tc, wrong_password_and_unknown_user_look_alike);
    tcase_add_test(tc, csrf_and_token_scopes);
    tcase_add_test(tc, tenant_isolation_by_query_and_rls);
    tcase_add_test(tc, disabled_user_is_locked_out_at_once);
    tcase_add_test(tc, bad_input_is_refused_cleanly);
    tcase_add_test(tc, sixth_signin_is_rate_limited);
    tcase_add_test(tc, staff_and_tenant_admin_api);
    tcase_add_test(tc, password_reset_by_email);
    tcase_add_test(tc, pages_render_with_real_data);
    tcase_add_test(tc, browser_invite_signup_signout_signin);
    tcase_add_test(tc, jobs_run_in_the_daemon_and_stay_in_their_tenant);
    tcase_add_test(tc, daemon_stops_cleanly_after_all_of_it);
    suite_add_tcase(s, tc);
    return s;
}
