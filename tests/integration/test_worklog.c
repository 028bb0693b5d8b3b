/* test_worklog.c — the worklog JSON API against the real daemon, PostgreSQL and Valkey: CRUD round trip with
 * every field, per-field validation, tenant isolation (foreign clients/projects are field errors, foreign
 * entries 404), ranked search with escaped highlighted snippets, keyset pagination while entries are being
 * inserted, soft delete and restore, private vs team entries across two members, roles and token scopes. */
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include "afterresume/db/db.h"
#include "afterresume/domain/registry.h"
#include "afterresume/domain/worklog.h"
#include "daemon.h"
#include "harness.h"

static it_daemon d;
static char *db_url;
static char env_db[1024];

static void start(void)
{
    db_url = it_migrated_db();
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    const char *env[] = {env_db, "AR_RATE_LIMIT_SIGNUP_IP=10000/300", "AR_RATE_LIMIT_SIGNIN_IP=10000/300",
                         "AR_RATE_LIMIT_API_TOKEN=100000/60", "AR_RATE_LIMIT_PASSKEY_IP=10000/300", NULL};
    ck_assert_msg(it_daemon_start(&d, env) == 0, "daemon did not start; see %s", d.log_path);
}

static void stop(void)
{
    it_daemon_stop(&d);
}

/* ---- HTTP helpers -------------------------------------------------------------------------------------- */

typedef struct user {
    char name[40];
    char cookie[200];
    char csrf[100];
    char token[100];     /* write-scoped bearer token in the user's current tenant */
    long long id;
    long long tenant;
} user;

/* One request with a bearer token (or the session cookie + CSRF when token is NULL); body JSON or NULL.
 * Returns the status; *out (may be NULL) gets the parsed JSON answer (NULL for an empty or non-JSON body). */
static long call(const user *u, const char *token, const char *method, const char *path, const char *json_body,
                 json_t **out)
{
    char url[1024], auth[200], cookie[256], csrf[160];
    snprintf(url, sizeof url, "%s%s", d.base_url, path);
    const char *headers[6];
    int n = 0;
    if (json_body) headers[n++] = "Content-Type: application/json";
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        headers[n++] = auth;
    } else if (u) {
        snprintf(cookie, sizeof cookie, "Cookie: %s", u->cookie);
        snprintf(csrf, sizeof csrf, "X-CSRF-Token: %s", u->csrf);
        headers[n++] = cookie;
        headers[n++] = csrf;
    }
    headers[n] = NULL;
    it_response r;
    ck_assert_int_eq(it_http(method, url, headers, json_body, json_body ? strlen(json_body) : 0, &r), 0);
    long status = r.status;
    if (out) *out = json_loads(ar_buf_cstr(&r.body), 0, NULL);
    it_response_free(&r);
    return status;
}

/* Shorthand: the user's write token. */
static long api(const user *u, const char *method, const char *path, const char *json_body, json_t **out)
{
    return call(u, u->token, method, path, json_body, out);
}

static char *cli_passkey(void)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "DATABASE_URL='%s' AR_ENV_FILE=/nonexistent %s admin mint-passkey 2>/dev/null", db_url,
             it_binary());
    FILE *p = popen(cmd, "r");
    char buf[128] = "";
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, p));
    ck_assert_int_eq(pclose(p), 0);
    buf[strcspn(buf, "\r\n")] = '\0';
    return strdup(buf);
}

static char *token_for(user *u, const char *scope)
{
    char body[128];
    snprintf(body, sizeof body, "{\"name\":\"wl %s\",\"scope\":\"%s\"}", scope, scope);
    json_t *j;
    long st = call(u, NULL, "POST", "/api/tokens/", body, &j);
    ck_assert_msg(st == 201, "token: %ld", st);
    char *tok = strdup(json_string_value(json_object_get(j, "token")));
    json_decref(j);
    return tok;
}

/* Sign up a new user with passkey (a platform key: own tenant; a tenant key: joins that tenant). */
static void signup(user *u, const char *prefix, const char *passkey)
{
    char *hex = it_random_hex(4);
    snprintf(u->name, sizeof u->name, "%s%s", prefix, hex);
    free(hex);
    char body[512], url[256];
    snprintf(body, sizeof body,
             "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"correct horse battery\",\"passkey\":\"%s\"}",
             u->name, u->name, passkey);
    snprintf(url, sizeof url, "%s/api/auth/signup/", d.base_url);
    const char *headers[] = {"Content-Type: application/json", NULL};
    it_response r;
    ck_assert_int_eq(it_http("POST", url, headers, body, strlen(body), &r), 0);
    ck_assert_msg(r.status == 201, "signup: %ld %s", r.status, ar_buf_cstr(&r.body));
    const char *p = strcasestr(ar_buf_cstr(&r.headers), "Set-Cookie: ar_session=");
    ck_assert_ptr_nonnull(p);
    p += strlen("Set-Cookie: ");
    size_t len = strcspn(p, ";\r\n");
    ck_assert_uint_lt(len, sizeof u->cookie);
    memcpy(u->cookie, p, len);
    u->cookie[len] = '\0';
    json_t *j = json_loads(ar_buf_cstr(&r.body), 0, NULL);
    ck_assert_ptr_nonnull(j);
    snprintf(u->csrf, sizeof u->csrf, "%s", json_string_value(json_object_get(j, "csrf_token")));
    u->id = json_integer_value(json_object_get(json_object_get(j, "user"), "id"));
    u->tenant = json_integer_value(json_object_get(json_object_get(j, "tenant"), "id"));
    json_decref(j);
    it_response_free(&r);
    char *tok = token_for(u, "write");
    snprintf(u->token, sizeof u->token, "%s", tok);
    free(tok);
}

static void new_owner(user *u, const char *prefix)
{
    char *key = cli_passkey();
    signup(u, prefix, key);
    free(key);
}

/* The owner invites a new member of their tenant with role. */
static void new_member(const user *owner, user *u, const char *prefix, const char *role)
{
    char body[96];
    snprintf(body, sizeof body, "{\"role\":\"%s\"}", role);
    json_t *j;
    ck_assert_int_eq(api(owner, "POST", "/api/tenant/passkeys/", body, &j), 201);
    char key[128];
    snprintf(key, sizeof key, "%s", json_string_value(json_object_get(j, "raw_key")));
    json_decref(j);
    signup(u, prefix, key);
    ck_assert_int_eq(u->tenant, owner->tenant);
}

static long long create_entry(const user *u, const char *json_body)
{
    json_t *j;
    long st = api(u, "POST", "/api/worklogs/", json_body, &j);
    ck_assert_msg(st == 201, "create: %ld %s", st, j ? json_dumps(j, 0) : "");
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    ck_assert_int_gt(id, 0);
    return id;
}

static long long create_named(const user *u, const char *path, const char *json_body)
{
    json_t *j;
    ck_assert_int_eq(api(u, "POST", path, json_body, &j), 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static const char *field_error(json_t *j, const char *field)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(j, "error"), "fields"), field));
}

static char *path_of(const char *fmt, long long id)
{
    char *p;
    ck_assert_int_ge(asprintf(&p, fmt, id), 0);
    return p;
}

/* ---- tests --------------------------------------------------------------------------------------------- */

START_TEST(crud_round_trip_with_every_field)
{
    user a = {0};
    new_owner(&a, "wla");
    long long client = create_named(&a, "/api/clients/", "{\"name\":\"Acme\",\"description\":\"Rockets\"}");
    char body[2048];
    snprintf(body, sizeof body, "{\"name\":\"Launch\",\"client\":%lld,\"role\":\"Tech lead\",\"start_date\":\"2026-01-01\","
                                "\"end_date\":\"2026-06-30\",\"description\":\"d\"}", client);
    long long project = create_named(&a, "/api/projects/", body);
    snprintf(body, sizeof body,
             "{\"occurred_on\":\"2026-03-04\",\"title\":\"Ship the launch pad\",\"content\":\"# Done\\nWe *shipped*.\","
             "\"outcome\":\"Pad live\",\"impact\":\"Saved 3 days\",\"next_steps\":\"Monitor\",\"effort_minutes\":135,"
             "\"work_type\":\"incident\",\"status\":\"final\",\"tags\":[\"Launch\",\" SRE  Ops \",\"launch\"],"
             "\"client\":%lld,\"project\":%lld,\"visibility\":\"team\",\"impact_score\":9,\"impact_score_source\":\"ai\","
             "\"source\":\"api\",\"import_key\":\"ext-42\"}",
             client, project);
    json_t *e;
    ck_assert_int_eq(api(&a, "POST", "/api/worklogs/", body, &e), 201);
    long long id = json_integer_value(json_object_get(e, "id"));
    json_decref(e);
    char *path = path_of("/api/worklogs/%lld/", id);
    ck_assert_int_eq(api(&a, "GET", path, NULL, &e), 200);
    ck_assert_str_eq(json_string_value(json_object_get(e, "occurred_on")), "2026-03-04");
    ck_assert_str_eq(json_string_value(json_object_get(e, "title")), "Ship the launch pad");
    ck_assert_str_eq(json_string_value(json_object_get(e, "content")), "# Done\nWe *shipped*.");
    ck_assert_str_eq(json_string_value(json_object_get(e, "outcome")), "Pad live");
    ck_assert_str_eq(json_string_value(json_object_get(e, "impact")), "Saved 3 days");
    ck_assert_str_eq(json_string_value(json_object_get(e, "next_steps")), "Monitor");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "effort_minutes")), 135);
    ck_assert(json_real_value(json_object_get(e, "hours")) == 2.25);
    ck_assert_str_eq(json_string_value(json_object_get(e, "work_type")), "incident");
    ck_assert_str_eq(json_string_value(json_object_get(e, "status")), "final");
    char *tags = json_dumps(json_object_get(e, "tags"), JSON_COMPACT);
    ck_assert_str_eq(tags, "[\"launch\",\"sre ops\"]");
    free(tags);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "client")), client);
    ck_assert_str_eq(json_string_value(json_object_get(e, "client_name")), "Acme");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "project")), project);
    ck_assert_str_eq(json_string_value(json_object_get(e, "project_name")), "Launch");
    ck_assert_str_eq(json_string_value(json_object_get(e, "visibility")), "team");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "impact_score")), 9);
    ck_assert_str_eq(json_string_value(json_object_get(e, "impact_score_source")), "ai");
    ck_assert_str_eq(json_string_value(json_object_get(e, "source")), "api");
    ck_assert_str_eq(json_string_value(json_object_get(e, "import_key")), "ext-42");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "author")), a.id);
    ck_assert_str_eq(json_string_value(json_object_get(e, "author_username")), a.name);
    ck_assert(json_is_null(json_object_get(e, "deleted_at")));
    ck_assert_int_eq(json_integer_value(json_object_get(e, "attachment_count")), 0);
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(e, "created_at"))), 20);
    json_decref(e);

    /* the same import key again is a conflict on that field */
    ck_assert_int_eq(api(&a, "POST", "/api/worklogs/", body, &e), 409);
    ck_assert_ptr_nonnull(field_error(e, "import_key"));
    json_decref(e);

    /* PATCH changes only what is sent; a project alone fills in its client */
    ck_assert_int_eq(api(&a, "PATCH", path, "{\"title\":\"Renamed\",\"impact_score\":null,\"client\":null}", &e), 200);
    ck_assert_str_eq(json_string_value(json_object_get(e, "title")), "Renamed");
    ck_assert_str_eq(json_string_value(json_object_get(e, "outcome")), "Pad live");
    ck_assert(json_is_null(json_object_get(e, "impact_score")));
    ck_assert(json_is_null(json_object_get(e, "impact_score_source")));
    ck_assert_int_eq(json_integer_value(json_object_get(e, "client")), client);
    json_decref(e);
    /* PUT replaces everything: absent optional fields return to their defaults */
    ck_assert_int_eq(api(&a, "PUT", path, "{\"occurred_on\":\"2026-03-05\",\"content\":\"Only this\",\"hours\":0.5}", &e),
                     200);
    ck_assert_str_eq(json_string_value(json_object_get(e, "title")), "");
    ck_assert_str_eq(json_string_value(json_object_get(e, "status")), "draft");
    ck_assert_str_eq(json_string_value(json_object_get(e, "visibility")), "private");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "effort_minutes")), 30);
    ck_assert(json_is_null(json_object_get(e, "project")));
    ck_assert_int_eq(json_array_size(json_object_get(e, "tags")), 0);
    json_decref(e);
    ck_assert_int_eq(api(&a, "PUT", path, "{\"content\":\"no date\"}", &e), 400);
    ck_assert_str_eq(field_error(e, "occurred_on"), "This field is required.");
    json_decref(e);

    /* clients and projects: read, update, name clash, delete leaves the entry without them */
    char *cpath = path_of("/api/clients/%lld/", client);
    ck_assert_int_eq(api(&a, "PATCH", cpath, "{\"is_active\":false}", &e), 200);
    ck_assert(json_is_false(json_object_get(e, "is_active")));
    ck_assert_str_eq(json_string_value(json_object_get(e, "name")), "Acme");
    json_decref(e);
    ck_assert_int_eq(api(&a, "POST", "/api/clients/", "{\"name\":\"ACME\"}", &e), 400);
    ck_assert_str_eq(field_error(e, "name"), "A client with this name already exists.");
    json_decref(e);
    char *ppath = path_of("/api/projects/%lld/", project);
    ck_assert_int_eq(api(&a, "PATCH", ppath, "{\"ended_on\":\"2025-01-01\"}", &e), 400);
    ck_assert_str_eq(field_error(e, "end_date"), "End date must be on or after the start date.");
    json_decref(e);
    ck_assert_int_eq(api(&a, "PUT", ppath, "{\"name\":\"Launch 2\",\"role\":\"Owner\"}", &e), 200);
    ck_assert(json_is_null(json_object_get(e, "client")));
    ck_assert_str_eq(json_string_value(json_object_get(e, "role")), "Owner");
    json_decref(e);
    ck_assert_int_eq(api(&a, "GET", "/api/projects/", NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "results")), 1);
    json_decref(e);
    ck_assert_int_eq(api(&a, "DELETE", cpath, NULL, NULL), 204);
    ck_assert_int_eq(api(&a, "GET", cpath, NULL, NULL), 404);
    ck_assert_int_eq(api(&a, "DELETE", ppath, NULL, NULL), 204);
    ck_assert_int_eq(api(&a, "GET", path, NULL, NULL), 200);

    /* soft delete, trash, restore, and the 30-day limit */
    ck_assert_int_eq(api(&a, "DELETE", path, NULL, NULL), 204);
    ck_assert_int_eq(api(&a, "GET", path, NULL, NULL), 404);
    ck_assert_int_eq(api(&a, "DELETE", path, NULL, NULL), 404);
    ck_assert_int_eq(api(&a, "GET", "/api/worklogs/", NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "results")), 0);
    json_decref(e);
    ck_assert_int_eq(api(&a, "GET", "/api/worklogs/?deleted=1", NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "results")), 1);
    json_decref(e);
    char *rpath = path_of("/api/worklogs/%lld/restore/", id);
    ck_assert_int_eq(api(&a, "POST", rpath, NULL, &e), 200);
    ck_assert_str_eq(json_string_value(json_object_get(e, "content")), "Only this");
    json_decref(e);
    ck_assert_int_eq(api(&a, "POST", rpath, NULL, NULL), 404); /* not deleted any more */
    ck_assert_int_eq(api(&a, "DELETE", path, NULL, NULL), 204);
    PGconn *c = it_pg_connect_to(db_url);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT set_config('app.bypass_rls','on',false); "
                              "UPDATE worklog_entries SET deleted_at = now() - interval '31 days' WHERE id = %lld", id);
    it_exec(c, sql);
    ck_assert_int_eq(api(&a, "POST", rpath, NULL, &e), 404);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_object_get(e, "error"), "message")), "30 days"));
    json_decref(e);
    /* every change was audited */
    snprintf(sql, sizeof sql, "SELECT string_agg(action, ',' ORDER BY id) FROM audit_events WHERE target_type = "
                              "'worklog_entry' AND target_id = '%lld'", id);
    char *actions = it_query_value(c, sql);
    ck_assert_str_eq(actions, "worklog.created,worklog.updated,worklog.updated,worklog.deleted,worklog.restored,"
                              "worklog.deleted");
    free(actions);
    PQfinish(c);
    free(path);
    free(cpath);
    free(ppath);
    free(rpath);
}
END_TEST

START_TEST(validation_errors_per_field)
{
    user a = {0};
    new_owner(&a, "wlv");
    json_t *e;
    ck_assert_int_eq(api(&a, "POST", "/api/worklogs/",
                         "{\"occurred_on\":\"2026-02-30\",\"title\":\"bad\\u0001\",\"content\":\"\",\"outcome\":7,"
                         "\"effort_minutes\":99999999999,\"work_type\":\"coding\",\"status\":\"ready\","
                         "\"visibility\":\"public\",\"impact_score\":0,\"impact_score_source\":\"robot\","
                         "\"source\":\"slack\",\"tags\":[\"ok\",{}],\"client\":\"x\",\"project\":-4,\"import_key\":5}",
                         &e),
                     400);
    static const char *const fields[] = {"occurred_on", "title",     "content",      "outcome",
                                         "effort_minutes", "work_type", "status",   "visibility",
                                         "impact_score", "impact_score_source", "source", "tags",
                                         "client",       "project",   "import_key"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        ck_assert_msg(field_error(e, fields[i]) != NULL, "no field error for %s", fields[i]);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "error"), "code")), "validation_error");
    ck_assert_str_eq(field_error(e, "content"), "This field is required.");
    json_decref(e);

    /* too long: a title of 241 characters, 21 tags, content over 100 KiB characters */
    char big[1024] = "{\"occurred_on\":\"2026-01-01\",\"content\":\"x\",\"title\":\"";
    size_t n = strlen(big);
    memset(big + n, 't', 241);
    strcpy(big + n + 241, "\"}");
    ck_assert_int_eq(api(&a, "POST", "/api/worklogs/", big, &e), 400);
    ck_assert_str_eq(field_error(e, "title"), "Ensure this field has no more than 240 characters.");
    json_decref(e);
    ck_assert_int_eq(api(&a, "POST", "/api/worklogs/",
                         "{\"occurred_on\":\"2026-01-01\",\"content\":\"x\",\"tags\":\"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u\"}",
                         &e),
                     400);
    ck_assert_str_eq(field_error(e, "tags"), "Use at most 20 tags.");
    json_decref(e);
    size_t huge_len = 102401 + 64;
    char *huge = malloc(huge_len + 64);
    strcpy(huge, "{\"occurred_on\":\"2026-01-01\",\"content\":\"");
    n = strlen(huge);
    memset(huge + n, 'c', 102401);
    strcpy(huge + n + 102401, "\"}");
    ck_assert_int_eq(api(&a, "POST", "/api/worklogs/", huge, &e), 400);
    ck_assert_ptr_nonnull(field_error(e, "content"));
    json_decref(e);
    free(huge);
    /* not JSON, not an object, and a bad filter */
    ck_assert_int_eq(api(&a, "POST", "/api/worklogs/", "{nope", NULL), 400);
    ck_assert_int_eq(api(&a, "POST", "/api/worklogs/", "[1,2]", &e), 400);
    json_decref(e);
    ck_assert_int_eq(api(&a, "GET", "/api/worklogs/?limit=101&start_date=yesterday&work_type=x&cursor=zz", NULL, &e),
                     400);
    ck_assert_ptr_nonnull(field_error(e, "limit"));
    ck_assert_ptr_nonnull(field_error(e, "start_date"));
    ck_assert_ptr_nonnull(field_error(e, "work_type"));
    ck_assert_ptr_nonnull(field_error(e, "cursor"));
    json_decref(e);
    ck_assert_int_eq(api(&a, "GET", "/api/worklogs/abc/", NULL, NULL), 404);
    ck_assert_int_eq(api(&a, "GET", "/api/worklogs/99999999999/", NULL, NULL), 404);

    /* a project of another client of the same tenant */
    long long c1 = create_named(&a, "/api/clients/", "{\"name\":\"One\"}");
    long long c2 = create_named(&a, "/api/clients/", "{\"name\":\"Two\"}");
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"P2\",\"client\":%lld}", c2);
    long long p2 = create_named(&a, "/api/projects/", body);
    snprintf(body, sizeof body, "{\"occurred_on\":\"2026-01-01\",\"content\":\"x\",\"client\":%lld,\"project\":%lld}", c1, p2);
    ck_assert_int_eq(api(&a, "POST", "/api/worklogs/", body, &e), 400);
    ck_assert_str_eq(field_error(e, "project"), "Project does not belong to selected client.");
    json_decref(e);
    ck_assert_int_eq(api(&a, "POST", "/api/clients/", "{\"name\":\"   \"}", &e), 400);
    ck_assert_str_eq(field_error(e, "name"), "This field is required.");
    json_decref(e);
}
END_TEST

START_TEST(other_tenants_are_invisible)
{
    user a = {0}, b = {0};
    new_owner(&a, "wlta");
    new_owner(&b, "wltb");
    ck_assert_int_ne(a.tenant, b.tenant);
    long long b_client = create_named(&b, "/api/clients/", "{\"name\":\"B corp\"}");
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"B project\",\"client\":%lld}", b_client);
    long long b_project = create_named(&b, "/api/projects/", body);
    long long b_entry = create_entry(&b, "{\"occurred_on\":\"2026-01-02\",\"content\":\"secret of b\",\"visibility\":\"team\"}");
    json_t *e;
    /* B's client/project in A's entry: a field error (400), the same as an id that does not exist */
    snprintf(body, sizeof body, "{\"occurred_on\":\"2026-01-01\",\"content\":\"x\",\"client\":%lld}", b_client);
    ck_assert_int_eq(api(&a, "POST", "/api/worklogs/", body, &e), 400);
    ck_assert_str_eq(field_error(e, "client"), "Select a valid client.");
    json_decref(e);
    snprintf(body, sizeof body, "{\"occurred_on\":\"2026-01-01\",\"content\":\"x\",\"project\":%lld}", b_project);
    ck_assert_int_eq(api(&a, "POST", "/api/worklogs/", body, &e), 400);
    ck_assert_str_eq(field_error(e, "project"), "Select a valid project.");
    json_decref(e);
    snprintf(body, sizeof body, "{\"name\":\"mine\",\"client\":%lld}", b_client);
    ck_assert_int_eq(api(&a, "POST", "/api/projects/", body, &e), 400);
    ck_assert_str_eq(field_error(e, "client"), "Select a valid client.");
    json_decref(e);
    long long a_entry = create_entry(&a, "{\"occurred_on\":\"2026-01-01\",\"content\":\"x\"}");
    char *apath = path_of("/api/worklogs/%lld/", a_entry);
    snprintf(body, sizeof body, "{\"project\":%lld}", b_project);
    ck_assert_int_eq(api(&a, "PATCH", apath, body, &e), 400);
    ck_assert_str_eq(field_error(e, "project"), "Select a valid project.");
    json_decref(e);
    /* B's entry, client and project from A: 404 for every method */
    char *bpath = path_of("/api/worklogs/%lld/", b_entry);
    ck_assert_int_eq(api(&a, "GET", bpath, NULL, NULL), 404);
    ck_assert_int_eq(api(&a, "PATCH", bpath, "{\"title\":\"x\"}", NULL), 404);
    ck_assert_int_eq(api(&a, "PUT", bpath, "{\"occurred_on\":\"2026-01-01\",\"content\":\"x\"}", NULL), 404);
    ck_assert_int_eq(api(&a, "DELETE", bpath, NULL, NULL), 404);
    char *bc = path_of("/api/clients/%lld/", b_client), *bp = path_of("/api/projects/%lld/", b_project);
    ck_assert_int_eq(api(&a, "GET", bc, NULL, NULL), 404);
    ck_assert_int_eq(api(&a, "PATCH", bc, "{\"name\":\"x\"}", NULL), 404);
    ck_assert_int_eq(api(&a, "DELETE", bc, NULL, NULL), 404);
    ck_assert_int_eq(api(&a, "GET", bp, NULL, NULL), 404);
    ck_assert_int_eq(api(&a, "DELETE", bp, NULL, NULL), 404);
    /* lists, search, tags and filters never show B's rows */
    ck_assert_int_eq(api(&a, "GET", "/api/worklogs/?search=secret", NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "results")), 0);
    json_decref(e);
    snprintf(body, sizeof body, "/api/worklogs/?client=%lld", b_client);
    ck_assert_int_eq(api(&a, "GET", body, NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "results")), 0);
    json_decref(e);
    ck_assert_int_eq(api(&a, "GET", "/api/clients/", NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "results")), 0);
    json_decref(e);
    /* B still has everything */
    ck_assert_int_eq(api(&b, "GET", bpath, NULL, NULL), 200);
    ck_assert_int_eq(api(&b, "GET", bc, NULL, NULL), 200);
    free(apath);
    free(bpath);
    free(bc);
    free(bp);
}
END_TEST

START_TEST(search_ranks_title_first_and_highlights_safely)
{
    user a = {0};
    new_owner(&a, "wls");
    long long content_hit = create_entry(
        &a, "{\"occurred_on\":\"2026-05-03\",\"title\":\"Weekly notes\",\"content\":\"Planned the kubernetes upgrade. "
            "Then kubernetes, kubernetes and more kubernetes. Upgraded the cluster & fixed \\\"quotes\\\" 1<3 "
            "<img src=x onerror=alert(1)> done\"}");
    long long title_hit = create_entry(&a, "{\"occurred_on\":\"2026-01-01\",\"title\":\"Kubernetes migration\","
                                           "\"content\":\"Moved the services.\"}");
    long long tag_hit = create_entry(&a, "{\"occurred_on\":\"2026-04-01\",\"title\":\"Infra\",\"content\":\"Various work.\","
                                         "\"tags\":[\"Kubernetes\",\"zeppelin\"]}");
    create_entry(&a, "{\"occurred_on\":\"2026-04-02\",\"title\":\"Unrelated\",\"content\":\"Nothing to see.\"}");
    json_t *e;
    ck_assert_int_eq(api(&a, "GET", "/api/worklogs/?search=kubernetes", NULL, &e), 200);
    json_t *res = json_object_get(e, "results");
    ck_assert_int_eq(json_array_size(res), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(res, 0), "id")), title_hit);
    /* the content hit: highlighted and escaped, never raw markup */
    for (size_t i = 0; i < 3; i++) {
        json_t *it = json_array_get(res, i);
        ck_assert(json_is_number(json_object_get(it, "rank")));
        const char *snippet = json_string_value(json_object_get(it, "snippet"));
        ck_assert_ptr_nonnull(snippet);
        ck_assert_ptr_null(strstr(snippet, "<img"));
        if (json_integer_value(json_object_get(it, "id")) == content_hit)
            ck_assert_msg(strstr(snippet, "<mark>kubernetes</mark>") != NULL, "snippet: %s", snippet);
    }
    json_decref(e);
    /* a word only in the tags, and one only in the content */
    ck_assert_int_eq(api(&a, "GET", "/api/worklogs/?search=zeppelin", NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "results")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(e, "results"), 0), "id")), tag_hit);
    json_decref(e);
    ck_assert_int_eq(api(&a, "GET", "/api/worklogs/?search=cluster", NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "results")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(e, "results"), 0), "id")),
                     content_hit);
    /* the snippet: the hit marked, the user's markup escaped (ts_headline keeps it here) */
    const char *snip = json_string_value(json_object_get(json_array_get(json_object_get(e, "results"), 0), "snippet"));
    ck_assert_msg(strstr(snip, "<mark>cluster</mark>") != NULL, "snippet: %s", snip);
    ck_assert_msg(strstr(snip, "&amp; fixed &quot;quotes&quot; 1&lt;3 &lt;img src=x") != NULL, "snippet: %s", snip);
    ck_assert_ptr_null(strstr(snip, "<img"));
    json_decref(e);
    /* stemming and the tag filter */
    ck_assert_int_eq(api(&a, "GET", "/api/worklogs/?search=planning", NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "results")), 1);
    json_decref(e);
    ck_assert_int_eq(api(&a, "GET", "/api/worklogs/?tag=KUBERNETES", NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "results")), 1);
    json_decref(e);
    /* search pages (limit 1) give each hit once, in the same order */
    long long seen[3] = {0};
    char path[512] = "/api/worklogs/?search=kubernetes&limit=1";
    for (int page = 0; page < 4; page++) {
        ck_assert_int_eq(api(&a, "GET", path, NULL, &e), 200);
        json_t *r = json_object_get(e, "results");
        if (page < 3) {
            ck_assert_int_eq(json_array_size(r), 1);
            seen[page] = json_integer_value(json_object_get(json_array_get(r, 0), "id"));
        }
        const char *next = json_string_value(json_object_get(e, "next"));
        if (page < 2) ck_assert_ptr_nonnull(next);
        if (!next) {
            json_decref(e);
            break;
        }
        snprintf(path, sizeof path, "/api/worklogs/?search=kubernetes&limit=1&cursor=%s", next);
        json_decref(e);
    }
    ck_assert_int_eq(seen[0], title_hit);
    ck_assert(seen[1] != seen[2] && seen[1] != seen[0] && seen[2] != seen[0]);
    /* stop words only: nothing found, and no NOTICE leaks into the daemon's log (checked at the end) */
    ck_assert_int_eq(api(&a, "GET", "/api/worklogs/?search=the", NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "results")), 0);
    json_decref(e);
    /* tags with counts */
    ck_assert_int_eq(api(&a, "GET", "/api/tags/", NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "results")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(e, "results"), 0), "name")),
                     "kubernetes");
    json_decref(e);
}
END_TEST

/* Entries created while another thread pages through the list. */
typedef struct inserter {
    const user *u;
    int count;
    int failures;
} inserter;

static size_t discard_body(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)ud;
    return size * n;
}

/* Its own curl handle (it_http keeps one per thread that a finished thread could not release). */
static void *insert_concurrently(void *arg)
{
    inserter *in = arg;
    CURL *h = curl_easy_init();
    char url[256], auth[200];
    snprintf(url, sizeof url, "%s/api/worklogs/", d.base_url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", in->u->token);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, auth);
    for (int i = 0; i < in->count; i++) {
        char body[256];
        /* dates both newer and older than anything already listed */
        snprintf(body, sizeof body, "{\"occurred_on\":\"%s-%02d-%02d\",\"content\":\"concurrent %d\"}",
                 i % 2 ? "2030" : "2001", 1 + i % 12, 1 + i % 28, i);
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
        long status = 0;
        if (curl_easy_perform(h) != CURLE_OK || curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
            status != 201)
            in->failures++;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return NULL;
}

START_TEST(pagination_sees_every_entry_once_while_inserting)
{
    user a = {0};
    new_owner(&a, "wlp");
    enum { N = 60 };
    long long ids[N];
    for (int i = 0; i < N; i++) {
        char body[160];
        /* several entries per day so the id tie-break matters */
        snprintf(body, sizeof body, "{\"occurred_on\":\"2020-03-%02d\",\"content\":\"entry %d\"}", 1 + i / 4, i);
        ids[i] = create_entry(&a, body);
    }
    inserter in = {&a, 30, 0};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, insert_concurrently, &in), 0);
    int seen[N] = {0};
    json_t *all_ids = json_array();
    char path[512] = "/api/worklogs/?limit=7";
    int pages = 0;
    char prev_key[64] = "";
    for (;;) {
        json_t *e;
        ck_assert_int_eq(api(&a, "GET", path, NULL, &e), 200);
        pages++;
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(e, "results"), i, it) {
            long long id = json_integer_value(json_object_get(it, "id"));
            char key[64];
            snprintf(key, sizeof key, "%s/%020lld", json_string_value(json_object_get(it, "occurred_on")), id);
            if (prev_key[0]) ck_assert_msg(strcmp(key, prev_key) < 0, "order broken: %s after %s", key, prev_key);
            snprintf(prev_key, sizeof prev_key, "%s", key);
            for (size_t k = 0; k < json_array_size(all_ids); k++)
                ck_assert_msg(json_integer_value(json_array_get(all_ids, k)) != id, "entry %lld listed twice", id);
            json_array_append_new(all_ids, json_integer(id));
            for (int k = 0; k < N; k++)
                if (ids[k] == id) seen[k]++;
        }
        const char *next = json_string_value(json_object_get(e, "next"));
        if (!next) {
            json_decref(e);
            break;
        }
        snprintf(path, sizeof path, "/api/worklogs/?limit=7&cursor=%s", next);
        json_decref(e);
        ck_assert_int_lt(pages, 100);
    }
    pthread_join(th, NULL);
    ck_assert_int_eq(in.failures, 0);
    for (int k = 0; k < N; k++) ck_assert_msg(seen[k] == 1, "entry %lld seen %d times", ids[k], seen[k]);
    ck_assert_int_ge(pages, N / 7);
    json_decref(all_ids);
    /* filters combine with the cursor */
    json_t *e;
    ck_assert_int_eq(api(&a, "GET", "/api/worklogs/?start_date=2020-03-02&end_date=2020-03-03&limit=100", NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "results")), 8);
    json_decref(e);
    /* ... and page: 3 + 3 + 2 of the same 8, in order, each once */
    char fpath[512] = "/api/worklogs/?start_date=2020-03-02&end_date=2020-03-03&limit=3";
    long long fseen[8];
    int fcount = 0;
    for (int page = 0; page < 5; page++) {
        ck_assert_int_eq(api(&a, "GET", fpath, NULL, &e), 200);
        size_t k;
        json_t *it;
        json_array_foreach(json_object_get(e, "results"), k, it) {
            ck_assert_int_lt(fcount, 8);
            fseen[fcount] = json_integer_value(json_object_get(it, "id"));
            for (int q = 0; q < fcount; q++) ck_assert(fseen[q] != fseen[fcount]);
            fcount++;
        }
        const char *next = json_string_value(json_object_get(e, "next"));
        if (!next) {
            json_decref(e);
            break;
        }
        snprintf(fpath, sizeof fpath, "/api/worklogs/?start_date=2020-03-02&end_date=2020-03-03&limit=3&cursor=%s", next);
        json_decref(e);
    }
    ck_assert_int_eq(fcount, 8);
    /* heat-map counts for the period */
    ck_assert_int_eq(api(&a, "GET", "/api/worklogs/calendar/?end_date=2020-12-31", NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "days")), 15);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(e, "days"), 0), "count")), 4);
    ck_assert_str_eq(json_string_value(json_object_get(e, "start")), "2020-01-01");
    json_decref(e);
}
END_TEST

START_TEST(private_and_team_entries_across_members)
{
    user owner = {0}, member = {0}, reader = {0};
    new_owner(&owner, "wlo");
    new_member(&owner, &member, "wlm", "member");
    new_member(&owner, &reader, "wlr", "read_only");
    long long priv = create_entry(&owner, "{\"occurred_on\":\"2026-02-01\",\"content\":\"owner private diary\"}");
    long long team = create_entry(&owner, "{\"occurred_on\":\"2026-02-02\",\"content\":\"owner team note\","
                                          "\"visibility\":\"team\",\"tags\":[\"shared\"]}");
    long long mteam = create_entry(&member, "{\"occurred_on\":\"2026-02-03\",\"content\":\"member team note\","
                                            "\"visibility\":\"team\"}");
    json_t *e;
    /* the member sees team entries and their own, never the owner's private one */
    ck_assert_int_eq(api(&member, "GET", "/api/worklogs/", NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "results")), 2);
    json_decref(e);
    char *ppath = path_of("/api/worklogs/%lld/", priv), *tpath = path_of("/api/worklogs/%lld/", team),
         *mpath = path_of("/api/worklogs/%lld/", mteam);
    ck_assert_int_eq(api(&member, "GET", ppath, NULL, NULL), 404);
    ck_assert_int_eq(api(&member, "PATCH", ppath, "{\"title\":\"x\"}", NULL), 404);
    ck_assert_int_eq(api(&member, "DELETE", ppath, NULL, NULL), 404);
    ck_assert_int_eq(api(&member, "GET", "/api/worklogs/?search=diary", NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "results")), 0);
    json_decref(e);
    /* a member may read the owner's team entry but not change it; the owner (admin rights) may change the
     * member's team entry but not make it private */
    ck_assert_int_eq(api(&member, "GET", tpath, NULL, NULL), 200);
    ck_assert_int_eq(api(&member, "PATCH", tpath, "{\"title\":\"hijack\"}", NULL), 403);
    ck_assert_int_eq(api(&member, "DELETE", tpath, NULL, NULL), 403);
    ck_assert_int_eq(api(&owner, "PATCH", mpath, "{\"status\":\"final\"}", &e), 200);
    ck_assert_str_eq(json_string_value(json_object_get(e, "status")), "final");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "author")), member.id);
    json_decref(e);
    ck_assert_int_eq(api(&owner, "PATCH", mpath, "{\"visibility\":\"private\"}", &e), 400);
    ck_assert_ptr_nonnull(field_error(e, "visibility"));
    json_decref(e);
    /* the member makes their own entry private: gone for the owner */
    ck_assert_int_eq(api(&member, "PATCH", mpath, "{\"visibility\":\"private\"}", NULL), 200);
    ck_assert_int_eq(api(&owner, "GET", mpath, NULL, NULL), 404);
    /* tags count only what the caller can see */
    ck_assert_int_eq(api(&member, "GET", "/api/tags/", NULL, &e), 200);
    ck_assert_int_eq(json_array_size(json_object_get(e, "results")), 1);
    json_decref(e);
    /* read_only members read but never write; a read-scoped token never writes either */
    ck_assert_int_eq(api(&reader, "GET", tpath, NULL, NULL), 200);
    ck_assert_int_eq(api(&reader, "POST", "/api/worklogs/", "{\"occurred_on\":\"2026-01-01\",\"content\":\"x\"}", NULL),
                     403);
    ck_assert_int_eq(api(&reader, "POST", "/api/clients/", "{\"name\":\"R\"}", NULL), 403);
    ck_assert_int_eq(api(&reader, "PATCH", tpath, "{\"title\":\"x\"}", NULL), 403);
    char *read_token = token_for(&member, "read");
    ck_assert_int_eq(call(&member, read_token, "GET", "/api/worklogs/", NULL, NULL), 200);
    ck_assert_int_eq(call(&member, read_token, "POST", "/api/worklogs/", "{\"occurred_on\":\"2026-01-01\",\"content\":\"x\"}",
                          NULL),
                     403);
    /* a session needs the CSRF token for writes */
    ck_assert_int_eq(call(&member, NULL, "POST", "/api/worklogs/", "{\"occurred_on\":\"2026-01-01\",\"content\":\"s\"}", NULL),
                     201);
    user no_csrf = member;
    snprintf(no_csrf.csrf, sizeof no_csrf.csrf, "wrong");
    ck_assert_int_eq(call(&no_csrf, NULL, "POST", "/api/worklogs/", "{\"occurred_on\":\"2026-01-01\",\"content\":\"s\"}",
                          NULL),
                     403);
    free(read_token);
    free(ppath);
    free(tpath);
    free(mpath);
}
END_TEST

/* ---- the import path, called as the import service calls it ------------------------------------------ */

typedef struct import_run {
    json_t *rows;          /* validated rows */
    long long ids[8];
    int results[8];
    ar_err_code bad_code;  /* the error of the row with a foreign project */
    char bad_field_msg[300];
} import_run;

static ar_ctx import_ctx; /* the importing owner */

static int import_tx(PGconn *c, void *arg, ar_error *err)
{
    import_run *run = arg;
    size_t i;
    json_t *row;
    json_array_foreach(run->rows, i, row) {
        ar_error row_err = {0};
        run->results[i] = ar_worklog_insert_in_tx(c, &import_ctx, row, AR_WORKLOG_IMPORT, 1, &run->ids[i], &row_err);
        if (run->results[i] < 0) {
            run->bad_code = row_err.code;
            const char *m = json_string_value(json_object_get(row_err.fields, "project"));
            snprintf(run->bad_field_msg, sizeof run->bad_field_msg, "%s", m ? m : row_err.message);
        }
        ar_error_clear(&row_err);
    }
    (void)err;
    return 0; /* the failed row is reported; the others commit (the import service would roll back instead) */
}


START_TEST(import_rows_in_one_transaction)
{
    /* a workspace made directly in the database, and the service called the way src/domain/transfer.c does */
    ar_db_configure(db_url);
    ar_domain_register_all();
    PGconn *c = it_pg_connect_to(db_url);
    it_exec(c, "SELECT set_config('app.bypass_rls','on',false)");
    char *tenant = it_query_value(c, "INSERT INTO tenants (name) VALUES ('import test') RETURNING id");
    char sql[512];
    snprintf(sql, sizeof sql, "INSERT INTO users (username, email, password_hash, personal_tenant_id) VALUES "
                              "('importer%s', 'importer%s@example.com', 'x', %s) RETURNING id", tenant, tenant, tenant);
    char *user = it_query_value(c, sql);
    snprintf(sql, sizeof sql, "INSERT INTO memberships (tenant_id, user_id, role) VALUES (%s, %s, 'owner')", tenant, user);
    it_exec(c, sql);
    char *other = it_query_value(c, "INSERT INTO tenants (name) VALUES ('someone else') RETURNING id");
    snprintf(sql, sizeof sql, "INSERT INTO projects (tenant_id, name) VALUES (%s, 'Foreign') RETURNING id", other);
    char *foreign_project = it_query_value(c, sql);
    import_ctx = (ar_ctx){.user_id = atoll(user), .tenant_id = atoll(tenant), .role = AR_ROLE_OWNER};

    char text[2048];
    snprintf(text, sizeof text,
             "[{\"occurred_on\":\"2019-05-01\",\"content\":\"one\",\"client_name\":\"Acme\",\"project_name\":\"Rocket\","
             "\"import_key\":\"k1\",\"created_at\":\"2019-05-01T10:00:00Z\",\"tags\":[\"Old\"]},"
             " {\"occurred_on\":\"2019-05-02\",\"content\":\"two\",\"client_name\":\"ACME\",\"import_key\":\"k2\"},"
             " {\"occurred_on\":\"2019-05-03\",\"content\":\"bad\",\"project\":%s},"
             " {\"occurred_on\":\"2019-05-01\",\"content\":\"one again\",\"import_key\":\"k1\"}]",
             foreign_project);
    json_t *in = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(in);
    import_run run = {.rows = json_array()};
    size_t i;
    json_t *row;
    json_array_foreach(in, i, row) { /* every row validated first, without the database */
        ar_error err = {0};
        json_t *v = ar_worklog_validate(row, AR_WORKLOG_IMPORT, &err);
        ck_assert_msg(v != NULL, "row %zu refused: %s", i, err.message);
        json_array_append_new(run.rows, v);
    }
    json_decref(in);
    ar_error err = {0};
    ck_assert_int_eq(ar_ctx_tx(&import_ctx, import_tx, &run, &err), 0);
    ck_assert_int_eq(run.results[0], 0);
    ck_assert_int_eq(run.results[1], 0);
    ck_assert_int_eq(run.results[2], -1); /* another workspace's project: a field error, the transaction goes on */
    ck_assert_int_eq(run.bad_code, AR_ERR_VALIDATION);
    ck_assert_str_eq(run.bad_field_msg, "Select a valid project.");
    ck_assert_int_eq(run.results[3], 1); /* import_key k1 exists: skipped, the existing id returned */
    ck_assert_int_eq(run.ids[3], run.ids[0]);

    json_t *e = ar_worklog_get(&import_ctx, run.ids[0], 0, &err);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(json_string_value(json_object_get(e, "created_at")), "2019-05-01T10:00:00Z");
    ck_assert_str_eq(json_string_value(json_object_get(e, "source")), "import");
    ck_assert_str_eq(json_string_value(json_object_get(e, "client_name")), "Acme");
    ck_assert_str_eq(json_string_value(json_object_get(e, "project_name")), "Rocket");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "tags"), 0)), "old");
    long long client = json_integer_value(json_object_get(e, "client"));
    json_decref(e);
    e = ar_worklog_get(&import_ctx, run.ids[1], 0, &err);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "client")), client); /* "ACME" is the same client */
    json_decref(e);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM worklog_entries WHERE tenant_id = %s", tenant);
    ck_assert_int_eq(it_query_long(c, sql), 2);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM clients WHERE tenant_id = %s", tenant);
    ck_assert_int_eq(it_query_long(c, sql), 1);
    json_decref(run.rows);
    ar_db_thread_close();
    PQfinish(c);
    free(tenant);
    free(user);
    free(other);
    free(foreign_project);
}
END_TEST

START_TEST(no_worklog_statement_failed)
{
    /* Every statement of the service ran without a database error (name clashes, answered as field errors,
     * are the only expected failures: SQLSTATE 23505). */
    char *log = it_read_file(d.log_path);
    ck_assert_ptr_nonnull(log);
    ck_assert_msg(strstr(log, "NOTICE") == NULL, "a database notice reached the log; see %s", d.log_path);
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strstr(line, "database statement failed") || !strstr(line, "\"statement\":\"worklog_")) continue;
        ck_assert_msg(strstr(line, "\"sqlstate\":\"23505\"") != NULL, "statement failed: %s", line);
    }
    free(log);
}
END_TEST

Suite *worklog_suite(void)
{
    Suite *s = suite_create("worklog");
    TCase *tc = tcase_create("worklog");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, start, stop);
    tcase_add_test(tc, crud_round_trip_with_every_field);
    tcase_add_test(tc, validation_errors_per_field);
    tcase_add_test(tc, other_tenants_are_invisible);
    tcase_add_test(tc, search_ranks_title_first_and_highlights_safely);
    tcase_add_test(tc, pagination_sees_every_entry_once_while_inserting);
    tcase_add_test(tc, private_and_team_entries_across_members);
    tcase_add_test(tc, import_rows_in_one_transaction);
    tcase_add_test(tc, no_worklog_statement_failed);
    suite_add_tcase(s, tc);
    return s;
}
