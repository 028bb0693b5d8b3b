/* test_enhance.c — entry enhancement against the real daemon and its workers: the local provider's suggestions
 * are stored apart from the entry; accepting a title, bullet, impact score and skill writes them (the skill as
 * evidence from this entry); rejecting changes nothing; deciding twice is a 409; the AI hold is posted once; no
 * balance → 402 and no job; AI switched off → 503; another workspace's entry → 404; the settings fragment says
 * which provider is used; the entry page loads the panel and the panel accepts inline (htmx form posts). */
#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    staff_id = it_query_long(raw, "INSERT INTO users (username, email, password_hash, is_staff) VALUES ('estaff', "
                                  "'estaff@example.com', 'x', true) RETURNING id");
    it_exec(raw, "SELECT set_config('app.bypass_rls', 'on', false)");
    static char env_db[1024];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    const char *env[] = {env_db, "AR_RATE_LIMIT_SIGNUP_IP=10000/300", "AR_RATE_LIMIT_SIGNIN_IP=10000/300",
                         "AR_RATE_LIMIT_API_TOKEN=100000/60", "AR_RATE_LIMIT_PASSKEY_IP=10000/300",
                         "AR_RATE_LIMIT_AI_USER=10000/3600", "AR_WORKERS=2", "AR_AI_HOLD_CENTS=25",
                         "AR_AI_LOCAL_JOB_CENTS=2", NULL};
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

static long long new_entry(const it_user *u)
{
    json_t *e;
    const char *body = "{\"occurred_on\":\"2026-11-20\",\"title\":\"worked on the slow invoice query\","
                       "\"content\":\"Profiled the invoice list on Postgres. Added a composite index; p99 dropped from "
                       "900 ms to 120 ms. Rolled it out on k8s.\",\"outcome\":\"Invoice page 7x faster.\","
                       "\"work_type\":\"delivery\",\"tags\":[\"performance\"]}";
    ck_assert_int_eq(it_user_call(&d, u, 0, "POST", "/api/worklogs/", body, &e), 201);
    long long id = json_integer_value(json_object_get(e, "id"));
    json_decref(e);
    return id;
}

/* Enhance and wait; returns the suggestions list (new reference). */
static json_t *enhance(const it_user *u, long long entry)
{
    char path[80];
    snprintf(path, sizeof path, "/api/worklogs/%lld/enhance/", entry);
    json_t *started;
    long st = it_user_call(&d, u, 0, "POST", path, NULL, &started);
    ck_assert_msg(st == 202, "enhance: %ld", st);
    long long job = json_integer_value(json_object_get(started, "job_id"));
    json_decref(started);
    ck_assert_str_eq(it_user_wait_job(&d, u, job, 60), "succeeded");
    snprintf(path, sizeof path, "/api/worklogs/%lld/suggestions/", entry);
    json_t *list;
    ck_assert_int_eq(it_user_call(&d, u, 0, "GET", path, NULL, &list), 200);
    return list;
}

static json_t *find(json_t *list, const char *field, const char *skill_name)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(list, "suggestions"), i, s) {
        if (strcmp(json_string_value(json_object_get(s, "field")), field) != 0) continue;
        if (strcmp(json_string_value(json_object_get(s, "status")), "suggested") != 0) continue;
        if (skill_name && strcmp(json_string_value(json_object_get(json_object_get(s, "value"), "name")), skill_name) != 0)
            continue;
        return s;
    }
    return NULL;
}

static long decide(const it_user *u, json_t *s, const char *verb)
{
    char path[80];
    snprintf(path, sizeof path, "/api/suggestions/%lld/%s/", (long long)json_integer_value(json_object_get(s, "id")), verb);
    return it_user_call(&d, u, 0, "POST", path, NULL, NULL);
}

START_TEST(local_suggestions_accept_reject)
{
    it_user a, b;
    it_user_new(&d, db_url, &a, "ena");
    it_user_new(&d, db_url, &b, "enb");
    credit(&a, 500);
    long long entry = new_entry(&a);
    json_t *list = enhance(&a, entry);
    json_t *title = find(list, "title", NULL), *bullet = find(list, "bullet", NULL),
           *score = find(list, "impact_score", NULL), *pg = find(list, "skill", "PostgreSQL"),
           *summary = find(list, "summary", NULL);
    ck_assert_ptr_nonnull(title);
    ck_assert_ptr_nonnull(bullet);
    ck_assert_ptr_nonnull(score);
    ck_assert_ptr_nonnull(pg);
    ck_assert_ptr_nonnull(summary);
    ck_assert_str_eq(json_string_value(json_object_get(title, "provider")), "local");
    /* nothing changed in the entry yet */
    char path[80];
    snprintf(path, sizeof path, "/api/worklogs/%lld/", entry);
    json_t *e;
    ck_assert_int_eq(it_user_call(&d, &a, 0, "GET", path, NULL, &e), 200);
    ck_assert_str_eq(json_string_value(json_object_get(e, "title")), "worked on the slow invoice query");
    ck_assert(json_is_null(json_object_get(e, "impact_score")));
    json_decref(e);

    /* another workspace sees neither the entry's suggestions nor can it decide them */
    char sp[80];
    snprintf(sp, sizeof sp, "/api/worklogs/%lld/suggestions/", entry);
    ck_assert_int_eq(it_user_call(&d, &b, 0, "GET", sp, NULL, NULL), 404);
    ck_assert_int_eq(decide(&b, title, "accept"), 404);
    snprintf(path, sizeof path, "/api/worklogs/%lld/enhance/", entry);
    ck_assert_int_eq(it_user_call(&d, &b, 0, "POST", path, NULL, NULL), 404);

    /* accept title, bullet, score and skill; reject the summary */
    ck_assert_int_eq(decide(&a, title, "accept"), 200);
    ck_assert_int_eq(decide(&a, bullet, "accept"), 200);
    ck_assert_int_eq(decide(&a, score, "accept"), 200);
    ck_assert_int_eq(decide(&a, pg, "accept"), 200);
    ck_assert_int_eq(decide(&a, summary, "reject"), 200);
    ck_assert_int_eq(decide(&a, summary, "accept"), 409); /* decided already */
    snprintf(path, sizeof path, "/api/worklogs/%lld/", entry);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "GET", path, NULL, &e), 200);
    ck_assert_str_eq(json_string_value(json_object_get(e, "title")),
                     json_string_value(json_object_get(json_object_get(title, "value"), "text")));
    ck_assert_int_eq(json_integer_value(json_object_get(e, "impact_score")),
                     json_integer_value(json_object_get(json_object_get(score, "value"), "score")));
    ck_assert_str_eq(json_string_value(json_object_get(e, "impact_score_source")), "ai");
    json_decref(e);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT cardinality(bullets) FROM worklog_entries WHERE id = %lld", entry);
    ck_assert_int_eq(it_query_long(raw, sql), 1);
    snprintf(sql, sizeof sql, "SELECT summary FROM worklog_entries WHERE id = %lld", entry);
    char *s = it_query_value(raw, sql);
    ck_assert_str_eq(s, ""); /* rejected: unchanged */
    free(s);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM skill_evidence ev JOIN skills k ON k.id = ev.skill_id "
                              "WHERE k.user_id = %lld AND k.name = 'postgresql' AND ev.entry_id = %lld AND ev.source = 'enhancement'",
             a.id, entry);
    ck_assert_int_eq(it_query_long(raw, sql), 1);

    /* enhancing again replaces only the undecided suggestions */
    json_decref(list);
    list = enhance(&a, entry);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM entry_suggestions WHERE entry_id = %lld AND status <> 'suggested'", entry);
    ck_assert_int_eq(it_query_long(raw, sql), 5);
    /* one hold per job, posted at the local price (2 cents each) */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM billing_holds WHERE tenant_id = %lld AND state = 'posted' "
                              "AND posted_cents = 2", a.tenant);
    ck_assert_int_eq(it_query_long(raw, sql), 2);
    json_decref(list);
}
END_TEST

START_TEST(balance_flag_and_settings)
{
    it_user a;
    it_user_new(&d, db_url, &a, "enc");
    long long entry = new_entry(&a);
    char path[80], sql[160];
    snprintf(path, sizeof path, "/api/worklogs/%lld/enhance/", entry);
    json_t *e;
    ck_assert_int_eq(it_user_call(&d, &a, 0, "POST", path, NULL, &e), 402);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "error"), "code")), "insufficient_balance");
    json_decref(e);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE tenant_id = %lld AND type = 'entry.enhance'", a.tenant);
    ck_assert_int_eq(it_query_long(raw, sql), 0);
    credit(&a, 100);
    /* AI switched off by staff → 503 with a clear message, nothing queued */
    it_exec(raw, "INSERT INTO app_settings (key, value) VALUES ('feature.ai', 'false') "
                 "ON CONFLICT (key) DO UPDATE SET value = 'false'");
    ck_assert_int_eq(it_user_call(&d, &a, 0, "POST", path, NULL, &e), 503);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_object_get(e, "error"), "message")), "switched off"));
    json_decref(e);
    ck_assert_int_eq(it_query_long(raw, sql), 0);
    it_exec(raw, "UPDATE app_settings SET value = 'true' WHERE key = 'feature.ai'");
    /* the settings say which provider is used; only admins may opt in to remote AI */
    json_t *settings;
    ck_assert_int_eq(it_user_call(&d, &a, 0, "GET", "/api/ai/settings/", NULL, &settings), 200);
    ck_assert_str_eq(json_string_value(json_object_get(settings, "provider")), "local");
    ck_assert(json_is_false(json_object_get(settings, "remote_allowed")));
    json_decref(settings);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "PATCH", "/api/ai/settings/", "{\"remote_allowed\":true}", &settings), 200);
    ck_assert(json_is_true(json_object_get(settings, "remote_allowed")));
    /* no remote provider configured on this server: still local, and it says why */
    ck_assert_str_eq(json_string_value(json_object_get(settings, "provider")), "local");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(settings, "why")), "no remote AI provider"));
    json_decref(settings);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "PATCH", "/api/ai/settings/", "{\"remote_allowed\":\"yes\"}", NULL), 400);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "POST", "/api/admin/ai/", "{\"enabled\":false}", NULL), 403);

    /* the pages: the entry page loads the panel; the panel's Enhance and Accept work as htmx posts */
    it_response r;
    snprintf(path, sizeof path, "/worklog/%lld", entry);
    ck_assert_int_eq(it_user_raw(&d, &a, 1, "GET", path, NULL, NULL, &r), 200);
    char hx[80];
    snprintf(hx, sizeof hx, "hx-get=\"/worklog/%lld/suggestions\"", entry);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), hx));
    it_response_free(&r);
    snprintf(path, sizeof path, "/worklog/%lld/enhance", entry);
    ck_assert_int_eq(it_user_raw(&d, &a, 1, "POST", path, "", "application/x-www-form-urlencoded", &r), 303);
    it_response_free(&r);
    snprintf(sql, sizeof sql, "SELECT max(id) FROM jobs WHERE tenant_id = %lld AND type = 'entry.enhance'", a.tenant);
    ck_assert_str_eq(it_user_wait_job(&d, &a, it_query_long(raw, sql), 60), "succeeded");
    snprintf(path, sizeof path, "/worklog/%lld/suggestions", entry);
    ck_assert_int_eq(it_user_raw(&d, &a, 1, "GET", path, NULL, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "id=\"entry-suggestions\""));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "the local provider"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "/accept\""));
    it_response_free(&r);
    snprintf(sql, sizeof sql, "SELECT min(id) FROM entry_suggestions WHERE entry_id = %lld AND field = 'title'", entry);
    snprintf(path, sizeof path, "/suggestions/%ld/accept", it_query_long(raw, sql));
    ck_assert_int_eq(it_user_raw(&d, &a, 1, "POST", path, "", "application/x-www-form-urlencoded", &r), 303);
    it_response_free(&r);
    ck_assert_int_eq(it_user_raw(&d, &a, 1, "GET", "/settings/ai", NULL, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "local provider"));
    it_response_free(&r);
}
END_TEST

Suite *enhance_suite(void)
{
    Suite *s = suite_create("enhance");
    TCase *tc = tcase_create("enhance");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, local_suggestions_accept_reject);
    tcase_add_test(tc, balance_flag_and_settings);
    suite_add_tcase(s, tc);
    return s;
}
