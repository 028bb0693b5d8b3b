/* test_reports.c — reports against the real daemon, its workers, PostgreSQL and Valkey: a weekly report from ten
 * entries with the local provider (every bullet cites entries of the selected set; the AI hold is posted exactly
 * once; Markdown/HTML exports; the page links citations), a model that cites a foreign entry (the OpenAI fake:
 * the citation is dropped and the bullet flagged; tokens recorded and priced), insufficient balance (402,
 * nothing queued), validation, other users' reports, and share links (public view without login, noindex, view
 * counter, revoke and expiry → 404, no tenant data). */
#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "afterresume/core/alloc.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/registry.h"
#include "daemon.h"
#include "harness.h"
#include "it_users.h"

static it_daemon d;
static char *db_url;
static PGconn *raw;
static long long staff_id;
static pid_t fake_pid; /* the OpenAI fake of the last test */
static char fake_url[64];

static void start_daemon(it_daemon *dd, const char *const *more)
{
    static char env_db[1024];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    const char *env[16] = {env_db, "AR_RATE_LIMIT_SIGNUP_IP=10000/300", "AR_RATE_LIMIT_SIGNIN_IP=10000/300",
                           "AR_RATE_LIMIT_API_TOKEN=100000/60", "AR_RATE_LIMIT_PASSKEY_IP=10000/300",
                           "AR_RATE_LIMIT_AI_USER=10000/3600", "AR_RATE_LIMIT_SHARE_VIEW=10000/60", "AR_WORKERS=2",
                           "AR_AI_HOLD_CENTS=50", "AR_JOBS_TENANT_DAILY_QUOTA=1000",
                           "AR_AI_LOCAL_JOB_CENTS=1"}; /* local jobs cost a cent here, so they hold and post */
    int n = 11;
    for (int i = 0; more && more[i] && n < 15; i++) env[n++] = more[i];
    env[n] = NULL;
    ck_assert_msg(it_daemon_start(dd, env) == 0, "daemon did not start; see %s", dd->log_path);
}

static void setup(void)
{
    db_url = it_migrated_db();
    ar_domain_register_all();
    raw = it_pg_connect_to(db_url);
    staff_id = it_query_long(raw, "INSERT INTO users (username, email, password_hash, is_staff) VALUES ('rstaff', "
                                  "'rstaff@example.com', 'x', true) RETURNING id");
    it_exec(raw, "SELECT set_config('app.bypass_rls', 'on', false)");
    start_daemon(&d, NULL);
}

static void teardown(void)
{
    it_daemon_stop(&d); /* already stopped when the last test ran in this process (CK_FORK=no) */
    PQfinish(raw);
    raw = NULL;
    ar_db_shutdown();
}

/* Credit the user's workspace by a staff adjustment (new workspaces start at 0). */
static void credit(const it_user *u, long long cents)
{
    it_user_credit(u, staff_id, cents);
}

static const char *day(int days_ago, char *buf)
{
    time_t t = time(NULL) - (time_t)days_ago * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 11, "%Y-%m-%d", &tm);
    return buf;
}

/* Ten entries over the last six days in two projects and none; returns their ids. */
static void log_ten(const it_user *u, long long ids[10])
{
    json_t *p;
    ck_assert_int_eq(it_user_call(&d, u, 0, "POST", "/api/projects/", "{\"name\":\"Billing revamp\"}", &p), 201);
    long long project = json_integer_value(json_object_get(p, "id"));
    json_decref(p);
    static const char *const texts[] = {
        "Cut invoice page p99 from 900 ms to 120 ms with a Postgres index.",
        "Migrated the billing workers to k8s with Helm charts.",
        "Fixed the duplicate-charge incident and wrote the postmortem.",
        "Reviewed four pull requests for the payments team.",
        "Mentored a new engineer on our Go services.",
        "Designed the ledger schema with row-level security.",
        "Automated the release checklist in GitHub Actions.",
        "Reduced failed webhook deliveries by 80% with retries.",
        "Paired on the Stripe Checkout integration.",
        "Documented the on-call runbook for the billing service.",
    };
    for (int i = 0; i < 10; i++) {
        char date[11], body[700];
        snprintf(body, sizeof body,
                 "{\"occurred_on\":\"%s\",\"title\":\"Work item %d\",\"content\":\"%s\",\"tags\":[\"billing\"]%s%lld%s}",
                 day(i % 6, date), i + 1, texts[i], i < 5 ? ",\"project\":" : "", i < 5 ? project : 0LL, "");
        if (i >= 5) {
            snprintf(body, sizeof body, "{\"occurred_on\":\"%s\",\"title\":\"Work item %d\",\"content\":\"%s\",\"tags\":[\"billing\"]}",
                     date, i + 1, texts[i]);
        }
        json_t *e;
        long st = it_user_call(&d, u, 0, "POST", "/api/worklogs/", body, &e);
        ck_assert_msg(st == 201, "entry %d: %ld", i, st);
        ids[i] = json_integer_value(json_object_get(e, "id"));
        json_decref(e);
    }
}

static int in_set(long long id, const long long *ids, int n)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == id) return 1;
    return 0;
}

/* Start a report and wait for its job; returns the report (new reference). */
static json_t *generate(const it_user *u, const char *body, const char *expect_job_status)
{
    json_t *started;
    long st = it_user_call(&d, u, 0, "POST", "/api/reports/generate/", body, &started);
    ck_assert_msg(st == 202, "generate: %ld %s", st, started ? json_dumps(started, 0) : "");
    long long job = json_integer_value(json_object_get(started, "job_id"));
    long long id = json_integer_value(json_object_get(started, "report_id"));
    json_decref(started);
    const char *status = it_user_wait_job(&d, u, job, 60);
    ck_assert_str_eq(status, expect_job_status);
    char path[64];
    snprintf(path, sizeof path, "/api/reports/%lld/", id);
    json_t *r;
    ck_assert_int_eq(it_user_call(&d, u, 0, "GET", path, NULL, &r), 200);
    return r;
}

START_TEST(weekly_report_local_cites_selected_entries)
{
    it_user a;
    it_user_new(&d, db_url, &a, "rep");
    credit(&a, 1000);
    long long ids[10];
    log_ten(&a, ids);
    json_t *r = generate(&a, "{\"kind\":\"weekly\"}", "succeeded");
    ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "ready");
    ck_assert_str_eq(json_string_value(json_object_get(r, "provider")), "local");
    ck_assert_int_eq(json_array_size(json_object_get(r, "source_entry_ids")), 10);
    json_t *sections = json_object_get(r, "sections");
    ck_assert_int_ge(json_array_size(sections), 2); /* a project section and "Other work" */
    size_t i, k, j, bullets = 0;
    json_t *s, *item, *c;
    json_array_foreach(sections, i, s) {
        json_array_foreach(json_object_get(s, "items"), k, item) {
            bullets++;
            json_t *cites = json_object_get(item, "citations");
            ck_assert_int_ge(json_array_size(cites), 1);
            ck_assert(json_is_false(json_object_get(item, "flagged")));
            json_array_foreach(cites, j, c) ck_assert(in_set(json_integer_value(c), ids, 10));
        }
    }
    ck_assert_int_ge(bullets, 5);
    long long report_id = json_integer_value(json_object_get(r, "id"));
    long long job_id = json_integer_value(json_object_get(r, "job_id"));

    /* the AI hold was posted exactly once, with one usage row for the job */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM billing_holds WHERE job_id = %lld AND state = 'posted'", job_id);
    ck_assert_int_eq(it_query_long(raw, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM billing_holds WHERE job_id = %lld", job_id);
    ck_assert_int_eq(it_query_long(raw, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM billing_usage WHERE job_id = %lld AND provider = 'local'", job_id);
    ck_assert_int_eq(it_query_long(raw, sql), 1);

    /* exports: Markdown links every citation to its entry; HTML is escaped and standalone */
    char path[96];
    snprintf(path, sizeof path, "/api/reports/%lld/export?format=md", report_id);
    it_response out;
    ck_assert_int_eq(it_user_raw(&d, &a, 0, "GET", path, NULL, NULL, &out), 200);
    char link[48];
    snprintf(link, sizeof link, "(/worklog/%lld)", ids[0]);
    ck_assert_msg(strstr(ar_buf_cstr(&out.body), "/worklog/"), "md: %s", ar_buf_cstr(&out.body));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&out.body), "## "));
    char header[160];
    ck_assert_ptr_nonnull(it_header(&out, "Content-Disposition", header, sizeof header));
    ck_assert_ptr_nonnull(strstr(header, "attachment"));
    it_response_free(&out);
    snprintf(path, sizeof path, "/api/reports/%lld/export?format=html", report_id);
    ck_assert_int_eq(it_user_raw(&d, &a, 0, "GET", path, NULL, NULL, &out), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&out.body), "<!doctype html>"));
    it_response_free(&out);
    snprintf(path, sizeof path, "/api/reports/%lld/export?format=pdf", report_id);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "GET", path, NULL, NULL), 400);

    /* the page shows every bullet with links to its entries */
    snprintf(path, sizeof path, "/reports/%lld", report_id);
    ck_assert_int_eq(it_user_raw(&d, &a, 1, "GET", path, NULL, NULL, &out), 200);
    char href[48];
    long long first = json_integer_value(json_array_get(
        json_object_get(json_array_get(json_object_get(json_array_get(sections, 0), "items"), 0), "citations"), 0));
    snprintf(href, sizeof href, "href=\"/worklog/%lld\"", first);
    ck_assert_msg(strstr(ar_buf_cstr(&out.body), href), "no citation link %s in the page", href);
    it_response_free(&out);

    /* edit: a Markdown version replaces the export; the list shows the report */
    ck_assert_int_eq(it_user_call(&d, &a, 0, "PATCH", "/api/reports/0/", "{}", NULL), 404);
    char api_path[64];
    snprintf(api_path, sizeof api_path, "/api/reports/%lld/", report_id);
    json_t *edited;
    ck_assert_int_eq(it_user_call(&d, &a, 0, "PATCH", api_path, "{\"title\":\"My week\",\"markdown\":\"# My week\\n- shipped\"}", &edited), 200);
    ck_assert_str_eq(json_string_value(json_object_get(edited, "title")), "My week");
    json_decref(edited);
    snprintf(path, sizeof path, "/api/reports/%lld/export?format=md", report_id);
    ck_assert_int_eq(it_user_raw(&d, &a, 0, "GET", path, NULL, NULL, &out), 200);
    ck_assert_str_eq(ar_buf_cstr(&out.body), "# My week\n- shipped\n");
    it_response_free(&out);
    json_t *list;
    ck_assert_int_eq(it_user_call(&d, &a, 0, "GET", "/api/reports/", NULL, &list), 200);
    ck_assert_int_eq(json_array_size(json_object_get(list, "results")), 1);
    json_decref(list);
    json_decref(r);
}
END_TEST

START_TEST(validation_and_other_users)
{
    it_user a, b;
    it_user_new(&d, db_url, &a, "rva");
    it_user_new(&d, db_url, &b, "rvb");
    json_t *e;
    ck_assert_int_eq(it_user_call(&d, &a, 0, "POST", "/api/reports/generate/", "{\"kind\":\"daily\"}", &e), 400);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(e, "error"), "fields"), "kind"));
    json_decref(e);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "POST", "/api/reports/generate/", "{\"kind\":\"custom\"}", &e), 400);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(e, "error"), "fields"), "custom_prompt"));
    json_decref(e);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "POST", "/api/reports/generate/",
                                  "{\"kind\":\"weekly\",\"period_start\":\"2026-11-10\",\"period_end\":\"2026-11-01\"}", &e), 400);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(e, "error"), "fields"), "period_end"));
    json_decref(e);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "POST", "/api/reports/generate/",
                                  "{\"kind\":\"weekly\",\"window_days\":100000}", &e), 400);
    json_decref(e);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "POST", "/api/reports/generate/", "[1]", NULL), 400);

    /* a: no balance → 402 and nothing queued (no job, no report row) */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE tenant_id = %lld", a.tenant);
    long jobs_before = it_query_long(raw, sql);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "POST", "/api/reports/generate/", "{\"kind\":\"weekly\"}", &e), 402);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "error"), "code")), "insufficient_balance");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_object_get(e, "error"), "message")), "/billing"));
    json_decref(e);
    ck_assert_int_eq(it_query_long(raw, sql), jobs_before);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM reports WHERE tenant_id = %lld", a.tenant);
    ck_assert_int_eq(it_query_long(raw, sql), 0);

    /* b's report is invisible to a */
    credit(&b, 1000);
    long long ids[10];
    log_ten(&b, ids);
    json_t *r = generate(&b, "{\"kind\":\"resume\",\"window_days\":30}", "succeeded");
    char path[64];
    snprintf(path, sizeof path, "/api/reports/%lld/", (long long)json_integer_value(json_object_get(r, "id")));
    ck_assert_int_eq(it_user_call(&d, &a, 0, "GET", path, NULL, NULL), 404);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "DELETE", path, NULL, NULL), 404);
    ck_assert_int_le(json_array_size(json_object_get(json_array_get(json_object_get(r, "sections"), 0), "items")), 5);
    /* a period without entries fails clearly and voids the hold */
    json_t *empty = generate(&b, "{\"kind\":\"weekly\",\"period_start\":\"2001-01-01\",\"period_end\":\"2001-01-07\"}", "failed");
    ck_assert_str_eq(json_string_value(json_object_get(empty, "status")), "failed");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(empty, "error")), "no worklog entries"));
    snprintf(sql, sizeof sql, "SELECT state FROM billing_holds WHERE job_id = %lld",
             (long long)json_integer_value(json_object_get(empty, "job_id")));
    char *state = it_query_value(raw, sql);
    ck_assert_str_eq(state, "voided");
    free(state);
    json_decref(empty);
    ck_assert_int_eq(it_user_call(&d, &b, 0, "DELETE", path, NULL, NULL), 204);
    ck_assert_int_eq(it_user_call(&d, &b, 0, "GET", path, NULL, NULL), 404);
    json_decref(r);
}
END_TEST

START_TEST(share_links_public_view_revoke_expiry)
{
    it_user a, b;
    it_user_new(&d, db_url, &a, "rsa");
    it_user_new(&d, db_url, &b, "rsb");
    credit(&a, 1000);
    long long ids[10];
    log_ten(&a, ids);
    json_t *r = generate(&a, "{\"kind\":\"weekly\",\"title\":\"Shared week\"}", "succeeded");
    long long id = json_integer_value(json_object_get(r, "id"));
    char path[96];
    snprintf(path, sizeof path, "/api/reports/%lld/share/", id);
    json_t *link;
    ck_assert_int_eq(it_user_call(&d, &a, 0, "POST", path, "{\"expires_in_days\":7}", &link), 201);
    const char *url = json_string_value(json_object_get(link, "url"));
    ck_assert_ptr_nonnull(strstr(url, "/share/"));
    const char *token = strstr(url, "/share/") + 7;
    ck_assert_uint_ge(strlen(token), 43); /* 256 random bits */
    char share_path[160];
    snprintf(share_path, sizeof share_path, "/share/%s", token);
    long long link_id = json_integer_value(json_object_get(link, "id"));

    /* anyone with the link, no login: the report, noindex, none of the entries' text or the author */
    it_response out;
    ck_assert_int_eq(it_user_raw(&d, NULL, 0, "GET", share_path, NULL, NULL, &out), 200);
    const char *html = ar_buf_cstr(&out.body);
    ck_assert_ptr_nonnull(strstr(html, "Shared week"));
    ck_assert_ptr_nonnull(strstr(html, "noindex"));
    ck_assert_ptr_null(strstr(html, a.name));
    ck_assert_ptr_null(strstr(html, "/worklog/"));
    char robots[64];
    ck_assert_ptr_nonnull(it_header(&out, "X-Robots-Tag", robots, sizeof robots));
    it_response_free(&out);
    json_t *links;
    ck_assert_int_eq(it_user_call(&d, &a, 0, "GET", path, NULL, &links), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(links, 0), "view_count")), 1);
    json_decref(links);
    /* b cannot list or revoke a's links */
    ck_assert_int_eq(it_user_call(&d, &b, 0, "GET", path, NULL, NULL), 404);
    char revoke[64];
    snprintf(revoke, sizeof revoke, "/api/share-links/%lld/", link_id);
    ck_assert_int_eq(it_user_call(&d, &b, 0, "DELETE", revoke, NULL, NULL), 404);
    /* a made-up token */
    ck_assert_int_eq(it_user_call(&d, NULL, 0, "GET", "/share/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, NULL), 404);
    /* revoked → 404 */
    ck_assert_int_eq(it_user_call(&d, &a, 0, "DELETE", revoke, NULL, NULL), 204);
    ck_assert_int_eq(it_user_call(&d, NULL, 0, "GET", share_path, NULL, NULL), 404);
    json_decref(link);
    /* expired → 404 */
    ck_assert_int_eq(it_user_call(&d, &a, 0, "POST", path, "{\"expires_in_days\":1}", &link), 201);
    token = strstr(json_string_value(json_object_get(link, "url")), "/share/") + 7;
    snprintf(share_path, sizeof share_path, "/share/%s", token);
    ck_assert_int_eq(it_user_call(&d, NULL, 0, "GET", share_path, NULL, NULL), 200);
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE share_links SET expires_at = now() - interval '1 minute' WHERE id = %lld",
             (long long)json_integer_value(json_object_get(link, "id")));
    it_exec(raw, sql);
    ck_assert_int_eq(it_user_call(&d, NULL, 0, "GET", share_path, NULL, NULL), 404);
    json_decref(link);
    /* bad expiry */
    ck_assert_int_eq(it_user_call(&d, &a, 0, "POST", path, "{\"expires_in_days\":1000}", NULL), 400);
    /* create and revoke are audited */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit_events WHERE action IN ('share_link.created', 'share_link.revoked') "
                              "AND tenant_id = %lld", a.tenant);
    ck_assert_int_eq(it_query_long(raw, sql), 3);
    json_decref(r);
}
END_TEST

/* Browser: generate a weekly report from ten entries with the local provider, watch it appear, follow a
 * citation, share it and open the link in a fresh browser context (tests/e2e/reports.mjs). */
START_TEST(browser_generate_cite_share)
{
    it_user a;
    it_user_new(&d, db_url, &a, "rbr");
    credit(&a, 1000);
    long long ids[10];
    log_ten(&a, ids);
    char cmd[512], log_path[96];
    snprintf(log_path, sizeof log_path, "/tmp/ar-e2e-reports-%d.log", d.port); /* unique: suites may run in parallel */
    snprintf(cmd, sizeof cmd, "node tests/e2e/reports.mjs %s %s 'correct horse battery' > %s 2>&1", d.base_url, a.name,
             log_path);
    int rc = system(cmd);
    char *log = it_read_file(log_path);
    ck_assert_msg(rc == 0, "tests/e2e/reports.mjs failed:\n%s", log ? log : "(no output)");
    ck_assert_ptr_nonnull(strstr(log, "ok   - every bullet cites entries"));
    free(log);
}
END_TEST

START_TEST(foreign_citation_from_model_is_dropped_and_flagged)
{
    int port = it_free_port();
    char log_path[96];
    snprintf(log_path, sizeof log_path, "/tmp/ar-it-reports-openai-%d.log", port);
    const char *args[] = {"sk-report-test", NULL};
    fake_pid = it_node_fake_start("tests/fakes/openai_fake.mjs", port, args, log_path);
    ck_assert_int_gt(fake_pid, 0);
    snprintf(fake_url, sizeof fake_url, "LLM_BASE_URL=http://127.0.0.1:%d", port);
    /* One set of workers at a time: this (forked) test stops the suite's daemon and starts one configured for
     * the fake model; it is the suite's last test, and both the daemon and the fake die with this process. */
    const char *more[] = {"LLM_PROVIDER=openai", fake_url, "LLM_MODEL=fake-foreign-cite", "LLM_API_KEY=sk-report-test", NULL};
    it_daemon_stop(&d);
    start_daemon(&d, more);
    it_user a;
    it_user_new(&d, db_url, &a, "rfc");
    credit(&a, 1000);
    long long ids[10];
    log_ten(&a, ids);
    /* privacy: a remote provider is configured, but the workspace has not opted in → the local one is used */
    json_t *local = generate(&a, "{\"kind\":\"weekly\"}", "succeeded");
    ck_assert_str_eq(json_string_value(json_object_get(local, "provider")), "local");
    json_decref(local);
    ck_assert_int_eq(it_user_call(&d, &a, 0, "PATCH", "/api/ai/settings/", "{\"remote_allowed\":true}", NULL), 200);
    char sql[160];
    json_t *r = generate(&a, "{\"kind\":\"monthly\"}", "succeeded");
    ck_assert_str_eq(json_string_value(json_object_get(r, "provider")), "openai");
    ck_assert_str_eq(json_string_value(json_object_get(r, "model")), "fake-foreign-cite");
    size_t i, k, j;
    json_t *s, *item, *c;
    int flagged = 0;
    json_array_foreach(json_object_get(r, "sections"), i, s) {
        json_array_foreach(json_object_get(s, "items"), k, item) {
            json_array_foreach(json_object_get(item, "citations"), j, c) ck_assert(in_set(json_integer_value(c), ids, 10));
            ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(item, "dropped"), 0)), 999999999);
            flagged += json_is_true(json_object_get(item, "flagged"));
        }
    }
    ck_assert_int_ge(flagged, 1);
    /* the model's tokens were recorded and priced once for the job */
    long long job_id = json_integer_value(json_object_get(r, "job_id"));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM billing_usage WHERE job_id = %lld AND provider = 'openai' "
                              "AND prompt_tokens > 0", job_id);
    ck_assert_int_ge(it_query_long(raw, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM billing_holds WHERE job_id = %lld AND state = 'posted'", job_id);
    ck_assert_int_eq(it_query_long(raw, sql), 1);
    json_decref(r);
    it_daemon_stop(&d);
    it_node_fake_stop(fake_pid);
}
END_TEST

Suite *reports_suite(void)
{
    Suite *s = suite_create("reports");
    TCase *tc = tcase_create("reports");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, weekly_report_local_cites_selected_entries);
    tcase_add_test(tc, validation_and_other_users);
    tcase_add_test(tc, share_links_public_view_revoke_expiry);
    tcase_add_test(tc, browser_generate_cite_share);
    tcase_add_test(tc, foreign_citation_from_model_is_dropped_and_flagged);
    suite_add_tcase(s, tc);
    return s;
}
