/* test_skills.c — skills against the real daemon and its workers: extraction with the local provider finds
 * Kubernetes and PostgreSQL (aliases k8s, postgres) with evidence on the right entries; running it twice never
 * duplicates evidence; rename / hide / confirm / merge (merged evidence moves, later evidence under the merged
 * name lands on the target); renaming onto an existing name is a 409; another user's skills are 404; the
 * pages list skills with sparklines and link evidence to entries. */
#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afterresume/db/db.h"
#include "afterresume/domain/registry.h"
#include "daemon.h"
#include "harness.h"
#include "it_users.h"

static it_daemon d;
static char *db_url;
static PGconn *raw;
static long long staff_id;

static void setup(void)
{
    db_url = it_migrated_db();
    ar_domain_register_all();
    raw = it_pg_connect_to(db_url);
    staff_id = it_query_long(raw, "INSERT INTO users (username, email, password_hash, is_staff) VALUES ('sstaff', "
                                  "'sstaff@example.com', 'x', true) RETURNING id");
    it_exec(raw, "SELECT set_config('app.bypass_rls', 'on', false)");
    static char env_db[1024];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    const char *env[] = {env_db, "AR_RATE_LIMIT_SIGNUP_IP=10000/300", "AR_RATE_LIMIT_SIGNIN_IP=10000/300",
                         "AR_RATE_LIMIT_API_TOKEN=100000/60", "AR_RATE_LIMIT_PASSKEY_IP=10000/300",
                         "AR_RATE_LIMIT_AI_USER=10000/3600", "AR_WORKERS=2", "AR_AI_HOLD_CENTS=10", NULL};
    ck_assert_msg(it_daemon_start(&d, env) == 0, "daemon did not start; see %s", d.log_path);
}

static void teardown(void)
{
    it_daemon_stop(&d);
    PQfinish(raw);
    raw = NULL;
    ar_db_shutdown();
}

static void credit(const it_user *u, long long cents)
{
    it_user_credit(u, staff_id, cents);
}

static long long entry(const it_user *u, int days_ago, const char *content)
{
    char date[11], body[600];
    time_t t = time(NULL) - (time_t)days_ago * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    snprintf(body, sizeof body, "{\"occurred_on\":\"%s\",\"content\":\"%s\"}", date, content);
    json_t *e;
    ck_assert_int_eq(it_user_call(&d, u, 0, "POST", "/api/worklogs/", body, &e), 201);
    long long id = json_integer_value(json_object_get(e, "id"));
    json_decref(e);
    return id;
}

static void recompute(const it_user *u)
{
    json_t *j;
    ck_assert_int_eq(it_user_call(&d, u, 0, "POST", "/api/skills/recompute/", "{\"window_days\":30}", &j), 202);
    long long job = json_integer_value(json_object_get(j, "job_id"));
    json_decref(j);
    ck_assert_str_eq(it_user_wait_job(&d, u, job, 60), "succeeded");
}

static json_t *skill_named(json_t *list, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(list, "results"), i, s) {
        if (strcmp(json_string_value(json_object_get(s, "name")), name) == 0) return s;
    }
    return NULL;
}

START_TEST(extract_curate_merge)
{
    it_user a, b;
    it_user_new(&d, db_url, &a, "ska");
    it_user_new(&d, db_url, &b, "skb");
    credit(&a, 200);
    long long e1 = entry(&a, 1, "Upgraded the k8s cluster and the postgres operator.");
    long long e2 = entry(&a, 2, "Tuned PostgreSQL autovacuum after the incident.");
    long long e3 = entry(&a, 3, "Wrote Terraform for the new Kubernetes node pool.");
    entry(&a, 4, "Long planning meeting, nothing technical.");
    recompute(&a);
    json_t *list;
    ck_assert_int_eq(it_user_call(&d, &a, 0, "GET", "/api/skills/", NULL, &list), 200);
    json_t *k8s = skill_named(list, "kubernetes"), *pg = skill_named(list, "postgresql"), *tf = skill_named(list, "terraform");
    ck_assert_ptr_nonnull(k8s);
    ck_assert_ptr_nonnull(pg);
    ck_assert_ptr_nonnull(tf);
    ck_assert_int_eq(json_integer_value(json_object_get(k8s, "evidence_count")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(pg, "evidence_count")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(k8s, "level")), "practiced");
    ck_assert_int_eq(json_array_size(json_object_get(k8s, "months")), 12);
    long long pg_id = json_integer_value(json_object_get(pg, "id")), tf_id = json_integer_value(json_object_get(tf, "id"));
    long long k8s_id = json_integer_value(json_object_get(k8s, "id"));
    json_decref(list);

    /* evidence points at the exact entries, with excerpts */
    char path[96];
    snprintf(path, sizeof path, "/api/skills/%lld/evidence/", pg_id);
    json_t *ev;
    ck_assert_int_eq(it_user_call(&d, &a, 0, "GET", path, NULL, &ev), 200);
    json_t *rows = json_object_get(ev, "evidence");
    ck_assert_int_eq(json_array_size(rows), 2);
    long long first = json_integer_value(json_object_get(json_array_get(rows, 0), "entry_id"));
    long long second = json_integer_value(json_object_get(json_array_get(rows, 1), "entry_id"));
    ck_assert((first == e1 && second == e2) || (first == e2 && second == e1));
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_array_get(rows, 0), "excerpt")), "ostgres"));
    json_decref(ev);

    /* twice: no duplicate evidence */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM skill_evidence ev JOIN skills s ON s.id = ev.skill_id WHERE s.user_id = %lld", a.id);
    long before = it_query_long(raw, sql);
    recompute(&a);
    ck_assert_int_eq(it_query_long(raw, sql), before);

    /* b sees none of it */
    ck_assert_int_eq(it_user_call(&d, &b, 0, "GET", path, NULL, NULL), 404);
    ck_assert_int_eq(it_user_call(&d, &b, 0, "GET", "/api/skills/", NULL, &list), 200);
    ck_assert_int_eq(json_array_size(json_object_get(list, "results")), 0);
    json_decref(list);
    snprintf(path, sizeof path, "/api/skills/%lld/", pg_id);
    ck_assert_int_eq(it_user_call(&d, &b, 0, "PATCH", path, "{\"hidden\":true}", NULL), 404);

    /* rename, confirm, hide; renaming onto another skill's name is a 409 */
    json_t *s;
    ck_assert_int_eq(it_user_call(&d, &a, 0, "PATCH", path, "{\"display_name\":\"Postgres (DBA)\",\"confirmed\":true}", &s), 200);
    ck_assert_str_eq(json_string_value(json_object_get(s, "display_name")), "Postgres (DBA)");
    ck_assert(json_is_true(json_object_get(s, "confirmed")));
    json_decref(s);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "PATCH", path, "{\"display_name\":\"k8s\"}", NULL), 409);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "PATCH", path, "{\"hidden\":\"yes\"}", NULL), 400);
    snprintf(path, sizeof path, "/api/skills/%lld/", tf_id);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "PATCH", path, "{\"hidden\":true}", NULL), 200);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "GET", "/api/skills/", NULL, &list), 200);
    ck_assert_ptr_null(skill_named(list, "terraform"));
    json_decref(list);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "GET", "/api/skills/?include_hidden=1", NULL, &list), 200);
    ck_assert_ptr_nonnull(skill_named(list, "terraform"));
    json_decref(list);

    /* merge terraform into kubernetes: evidence moves without duplicates; later terraform evidence lands there */
    char body[128];
    snprintf(body, sizeof body, "{\"target_id\":%lld,\"source_ids\":[%lld]}", k8s_id, tf_id);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "POST", "/api/skills/merge/", body, &s), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(s, "evidence_count")), 2); /* e3 was already there */
    json_decref(s);
    snprintf(body, sizeof body, "{\"target_id\":%lld,\"source_ids\":[%lld]}", k8s_id, k8s_id);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "POST", "/api/skills/merge/", body, NULL), 400);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "POST", "/api/skills/merge/", "{\"target_id\":1}", NULL), 400);
    long long e5 = entry(&a, 0, "Refactored the Terraform modules.");
    recompute(&a);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM skill_evidence WHERE skill_id = %lld AND entry_id = %lld", k8s_id, e5);
    ck_assert_int_eq(it_query_long(raw, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM skill_evidence WHERE skill_id = %lld", tf_id);
    ck_assert_int_eq(it_query_long(raw, sql), 0);
    (void)e3;

    /* with the local provider at its default price (0) a workspace without any balance can use it: nothing held */
    it_user c;
    it_user_new(&d, db_url, &c, "skc");
    entry(&c, 0, "Deployed the Rust service to k8s.");
    recompute(&c);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM billing_holds WHERE tenant_id = %lld", c.tenant);
    ck_assert_int_eq(it_query_long(raw, sql), 0);
    ck_assert_int_eq(it_user_call(&d, &c, 0, "GET", "/api/skills/", NULL, &list), 200);
    ck_assert_ptr_nonnull(skill_named(list, "kubernetes"));
    json_decref(list);

    /* pages: the list with sparklines; the detail links evidence to entries */
    it_response r;
    ck_assert_int_eq(it_user_raw(&d, &a, 1, "GET", "/skills", NULL, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "<polyline"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "Postgres (DBA)"));
    it_response_free(&r);
    snprintf(path, sizeof path, "/skills/%lld", pg_id);
    ck_assert_int_eq(it_user_raw(&d, &a, 1, "GET", path, NULL, NULL, &r), 200);
    char href[48];
    snprintf(href, sizeof href, "href=\"/worklog/%lld\"", e2);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), href));
    it_response_free(&r);
    ck_assert_int_eq(it_user_raw(&d, &a, 1, "POST", path, "display_name=PostgreSQL", "application/x-www-form-urlencoded", &r), 303);
    it_response_free(&r);
    ck_assert_int_eq(it_user_raw(&d, &b, 1, "GET", path, NULL, NULL, &r), 404);
    it_response_free(&r);
}
END_TEST

Suite *skills_suite(void)
{
    Suite *s = suite_create("skills");
    TCase *tc = tcase_create("skills");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, extract_curate_merge);
    suite_add_tcase(s, tc);
    return s;
}
