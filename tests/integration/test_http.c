/* test_http.c — the real daemon over HTTP: health, readiness, metrics, errors (404/405/413/415/400), static
 * files, security headers, request ids, keep-alive, graceful shutdown and start-up failures. */
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "daemon.h"

static it_daemon daemon_under_test;

static void start_daemon(void)
{
    ck_assert_msg(it_daemon_start(&daemon_under_test, NULL) == 0, "daemon did not start; see %s",
                  daemon_under_test.log_path);
}

static void stop_daemon(void)
{
    it_daemon_stop(&daemon_under_test);
}

static void get(const char *method, const char *path, const char *const *headers, const char *body, size_t len,
                it_response *r)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", daemon_under_test.base_url, path);
    ck_assert_msg(it_http(method, url, headers, body, len, r) == 0, "no response for %s %s", method, path);
}

static json_t *body_json(it_response *r)
{
    json_error_t e;
    json_t *j = json_loads(ar_buf_cstr(&r->body), 0, &e);
    ck_assert_msg(j != NULL, "not JSON: %s", ar_buf_cstr(&r->body));
    return j;
}

static void assert_error_code(it_response *r, long status, const char *code)
{
    ck_assert_int_eq(r->status, status);
    json_t *j = body_json(r);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")), code);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(json_object_get(j, "error"), "message")));
    json_decref(j);
}

START_TEST(healthz_ok_with_headers)
{
    it_response r;
    get("GET", "/api/healthz/", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    json_t *j = body_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
    json_decref(j);
    char v[512];
    ck_assert_ptr_nonnull(it_header(&r, "Content-Type", v, sizeof v));
    ck_assert_str_eq(v, "application/json");
    ck_assert_ptr_nonnull(it_header(&r, "X-Content-Type-Options", v, sizeof v));
    ck_assert_str_eq(v, "nosniff");
    ck_assert_ptr_nonnull(it_header(&r, "Content-Security-Policy", v, sizeof v));
    ck_assert_ptr_nonnull(strstr(v, "frame-ancestors 'none'"));
    ck_assert_ptr_nonnull(strstr(v, "object-src 'none'"));
    ck_assert_ptr_nonnull(it_header(&r, "X-Request-ID", v, sizeof v));
    ck_assert_uint_eq(strlen(v), 32);
    it_response_free(&r);
}
END_TEST

START_TEST(request_id_is_echoed_when_sane)
{
    it_response r;
    const char *h1[] = {"X-Request-ID: abc-123_def.4", NULL};
    get("GET", "/api/healthz/", h1, NULL, 0, &r);
    char v[128];
    ck_assert_str_eq(it_header(&r, "X-Request-ID", v, sizeof v), "abc-123_def.4");
    it_response_free(&r);
    const char *h2[] = {"X-Request-ID: <script>", NULL};
    get("GET", "/api/healthz/", h2, NULL, 0, &r);
    ck_assert_str_ne(it_header(&r, "X-Request-ID", v, sizeof v), "<script>");
    it_response_free(&r);
    /* the access log names the request */
    char *log = it_read_file(daemon_under_test.log_path);
    ck_assert_ptr_nonnull(strstr(log, "\"request_id\":\"abc-123_def.4\""));
    ck_assert_ptr_nonnull(strstr(log, "\"msg\":\"request\""));
    free(log);
}
END_TEST

START_TEST(readyz_reports_dependencies)
{
    it_response r;
    get("GET", "/api/readyz/", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    json_t *j = body_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "ready");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "checks"), "database")), "ok");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "checks"), "valkey")), "ok");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "checks"), "storage")), "ok");
    json_decref(j);
    it_response_free(&r);
}
END_TEST

START_TEST(readyz_503_names_unusable_storage)
{
    it_daemon d;
    const char *env[] = {"AR_STORAGE_DIR=/proc/afterresume-no-such-dir/objects", NULL};
    ck_assert_msg(it_daemon_start(&d, env) == 0, "daemon must start with broken storage (see %s)", d.log_path);
    char url[128];
    snprintf(url, sizeof url, "%s/api/readyz/", d.base_url);
    it_response r;
    ck_assert_int_eq(it_http("GET", url, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 503);
    json_t *j = body_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "checks"), "storage")), "failed");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "failed"), 0)), "storage");
    json_decref(j);
    it_response_free(&r);
    ck_assert_int_eq(it_daemon_stop(&d), 0);
}
END_TEST

START_TEST(readyz_503_names_failed_valkey)
{
    it_daemon d;
    const char *env[] = {"VALKEY_URL=redis://127.0.0.1:1/0", NULL};
    ck_assert_msg(it_daemon_start(&d, env) == 0, "daemon must start without Valkey (see %s)", d.log_path);
    char url[128];
    snprintf(url, sizeof url, "%s/api/readyz/", d.base_url);
    it_response r;
    ck_assert_int_eq(it_http("GET", url, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 503);
    json_t *j = body_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "checks"), "valkey")), "failed");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "checks"), "database")), "ok");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "failed"), 0)), "valkey");
    json_decref(j);
    it_response_free(&r);
    ck_assert_int_eq(it_daemon_stop(&d), 0);
}
END_TEST

START_TEST(metrics_in_prometheus_format)
{
    it_response r;
    get("GET", "/api/healthz/", NULL, NULL, 0, &r);
    it_response_free(&r);
    get("GET", "/no/such/page", NULL, NULL, 0, &r);
    it_response_free(&r);
    get("GET", "/metrics", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    const char *m = ar_buf_cstr(&r.body);
    ck_assert_ptr_nonnull(strstr(m, "# TYPE http_requests_total counter"));
    ck_assert_ptr_nonnull(strstr(m, "http_requests_total{route=\"/api/healthz/\",method=\"GET\",status=\"200\"}"));
    ck_assert_ptr_nonnull(strstr(m, "http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}"));
    ck_assert_ptr_nonnull(strstr(m, "http_request_duration_seconds_bucket{route=\"/api/healthz/\",le=\"+Inf\"}"));
    ck_assert_ptr_nonnull(strstr(m, "http_requests_in_flight 1"));
    ck_assert_ptr_nonnull(strstr(m, "db_reconnects_total"));
    char v[128];
    ck_assert_ptr_nonnull(strstr(it_header(&r, "Content-Type", v, sizeof v), "text/plain"));
    it_response_free(&r);
}
END_TEST

START_TEST(not_found_json_and_page)
{
    it_response r;
    get("GET", "/api/nope/", NULL, NULL, 0, &r);
    assert_error_code(&r, 404, "not_found");
    it_response_free(&r);
    get("GET", "/no-such-page", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 404);
    char v[128];
    ck_assert_ptr_nonnull(strstr(it_header(&r, "Content-Type", v, sizeof v), "text/html"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "Page not found"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "/static/css/app.css"));
    it_response_free(&r);
}
END_TEST

START_TEST(wrong_method_is_405_with_allow)
{
    it_response r;
    get("POST", "/api/healthz/", NULL, "", 0, &r);
    assert_error_code(&r, 405, "method_not_allowed");
    char v[128];
    ck_assert_str_eq(it_header(&r, "Allow", v, sizeof v), "GET, HEAD");
    it_response_free(&r);
    get("BREW", "/api/healthz/", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 405);
    it_response_free(&r);
}
END_TEST

START_TEST(head_has_no_body)
{
    it_response r;
    get("HEAD", "/api/healthz/", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.body.len, 0);
    it_response_free(&r);
}
END_TEST

START_TEST(pages_render_sign_in)
{
    it_response r;
    get("GET", "/", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    const char *html = ar_buf_cstr(&r.body);
    ck_assert_ptr_nonnull(strstr(html, "<title>"));
    ck_assert_ptr_nonnull(strstr(html, "AfterResume"));
    ck_assert_ptr_nonnull(strstr(html, "/static/vendor/htmx.min.js"));
    ck_assert_ptr_nonnull(strstr(html, "name=\"password\""));
    char v[256];
    ck_assert_ptr_nonnull(strstr(it_header(&r, "Content-Type", v, sizeof v), "text/html"));
    ck_assert_ptr_nonnull(it_header(&r, "Referrer-Policy", v, sizeof v));
    it_response_free(&r);
}
END_TEST

START_TEST(static_files_and_traversal)
{
    it_response r;
    get("GET", "/static/css/app.css", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    char ct[128], etag[128], cc[128];
    ck_assert_str_eq(it_header(&r, "Content-Type", ct, sizeof ct), "text/css; charset=utf-8");
    ck_assert_ptr_nonnull(it_header(&r, "ETag", etag, sizeof etag));
    ck_assert_ptr_nonnull(strstr(it_header(&r, "Cache-Control", cc, sizeof cc), "max-age"));
    ck_assert_uint_gt(r.body.len, 100);
    it_response_free(&r);
    char inm[200];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *h[] = {inm, NULL};
    get("GET", "/static/css/app.css", h, NULL, 0, &r);
    ck_assert_int_eq(r.status, 304);
    ck_assert_uint_eq(r.body.len, 0);
    it_response_free(&r);
    get("GET", "/static/vendor/htmx.min.js", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(it_header(&r, "Content-Type", ct, sizeof ct), "text/javascript; charset=utf-8");
    it_response_free(&r);
    const char *bad[] = {"/static/../Makefile", "/static/%2e%2e/Makefile", "/static/css/../../Makefile",
                         "/static/.gitkeep", "/static/css", "/static//etc/passwd", "/static/css/app.css%00.png",
                         "/static/..%2fMakefile"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        get("GET", bad[i], NULL, NULL, 0, &r);
        ck_assert_msg(r.status == 404, "%s gave %ld", bad[i], r.status);
        ck_assert_ptr_null(strstr(ar_buf_cstr(&r.body), "CFLAGS"));
        it_response_free(&r);
    }
}
END_TEST

START_TEST(json_body_errors)
{
    it_response r;
    const char *json[] = {"Content-Type: application/json", NULL};
    const char ok[] = "{\"csp-report\":{\"blocked-uri\":\"inline\",\"violated-directive\":\"script-src\"}}";
    get("POST", "/api/csp-report/", json, ok, sizeof ok - 1, &r);
    ck_assert_int_eq(r.status, 204);
    it_response_free(&r);

    get("POST", "/api/csp-report/", json, "{\"a\":", 5, &r);
    assert_error_code(&r, 400, "invalid_json");
    it_response_free(&r);

    const char bad_utf8[] = "{\"a\":\"\xff\xfe\"}";
    get("POST", "/api/csp-report/", json, bad_utf8, sizeof bad_utf8 - 1, &r);
    assert_error_code(&r, 400, "invalid_json");
    it_response_free(&r);

    get("POST", "/api/csp-report/", json, "", 0, &r);
    assert_error_code(&r, 400, "invalid_json");
    it_response_free(&r);

    get("POST", "/api/csp-report/", json, "[1,2]", 5, &r);
    ck_assert_int_eq(r.status, 400);
    it_response_free(&r);

    char deep[4001];
    memset(deep, '[', 4000);
    deep[4000] = '\0';
    get("POST", "/api/csp-report/", json, deep, 4000, &r);
    assert_error_code(&r, 400, "invalid_json");
    it_response_free(&r);

    const char *text[] = {"Content-Type: text/plain", NULL};
    get("POST", "/api/csp-report/", text, "{}", 2, &r);
    assert_error_code(&r, 415, "unsupported_media_type");
    it_response_free(&r);

    size_t big = 2 * 1024 * 1024;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    get("POST", "/api/csp-report/", json, huge, big, &r);
    assert_error_code(&r, 413, "payload_too_large");
    it_response_free(&r);
    /* without Content-Length the limit is found mid-stream; the body is drained and 413 still arrives */
    const char *chunked[] = {"Content-Type: application/json", "Transfer-Encoding: chunked", NULL};
    get("POST", "/api/csp-report/", chunked, huge, big, &r);
    assert_error_code(&r, 413, "payload_too_large");
    it_response_free(&r);
    free(huge);

    /* the daemon is still healthy after all of that */
    get("GET", "/api/healthz/", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    it_response_free(&r);
}
END_TEST

START_TEST(keep_alive_reuses_connection)
{
    it_response r;
    get("GET", "/api/healthz/", NULL, NULL, 0, &r);
    it_response_free(&r);
    get("GET", "/api/healthz/", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.connects, 0);
    it_response_free(&r);
}
END_TEST

/* Exercise the main paths, then SIGTERM: the daemon must exit 0, and under `make test-asan` a leak or
 * sanitizer report anywhere in those paths makes the exit status non-zero and shows up in the log. */
START_TEST(graceful_shutdown_exits_zero)
{
    it_daemon d;
    ck_assert_int_eq(it_daemon_start(&d, NULL), 0);
    const char *paths[] = {"/api/healthz/", "/api/readyz/", "/metrics", "/", "/no-such-page", "/api/nope/",
                           "/static/css/app.css", "/static/../x"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char url[256];
        snprintf(url, sizeof url, "%s%s", d.base_url, paths[i]);
        it_response r;
        ck_assert_int_eq(it_http("GET", url, NULL, NULL, 0, &r), 0);
        it_response_free(&r);
    }
    char url[256];
    snprintf(url, sizeof url, "%s/api/csp-report/", d.base_url);
    const char *json[] = {"Content-Type: application/json", NULL};
    const char *bodies[] = {"{\"csp-report\":{}}", "{bad", "[]"};
    for (size_t i = 0; i < 3; i++) {
        it_response r;
        ck_assert_int_eq(it_http("POST", url, json, bodies[i], strlen(bodies[i]), &r), 0);
        it_response_free(&r);
    }
    ck_assert_int_eq(it_daemon_stop(&d), 0);
    char *log = it_read_file(d.log_path);
    ck_assert_ptr_nonnull(strstr(log, "SIGTERM"));
    ck_assert_ptr_nonnull(strstr(log, "\"msg\":\"stopped\""));
    ck_assert_msg(strstr(log, "Sanitizer") == NULL && strstr(log, "runtime error") == NULL, "sanitizer: %s", log);
    free(log);
}
END_TEST

START_TEST(port_in_use_fails_fast)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 1), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    static char port_env[32];
    snprintf(port_env, sizeof port_env, "AR_PORT=%d", ntohs(a.sin_port));
    const char *env[] = {port_env, NULL};
    char log_path[256];
    int st = it_daemon_run_expect_exit(env, 20, log_path, sizeof log_path);
    close(fd);
    ck_assert_int_eq(st, 1);
    char *log = it_read_file(log_path);
    ck_assert_msg(strstr(log, "already in use") != NULL, "log: %s", log);
    free(log);
}
END_TEST

START_TEST(bad_config_fails_fast)
{
    const char *env[] = {"AR_PORT=eighty", NULL};
    char log_path[256];
    ck_assert_int_eq(it_daemon_run_expect_exit(env, 10, log_path, sizeof log_path), 1);
    char *log = it_read_file(log_path);
    ck_assert_msg(strstr(log, "AR_PORT") != NULL, "log: %s", log);
    free(log);
    const char *env2[] = {"DATABASE_URL=postgresql://127.0.0.1:1/none?connect_timeout=1", NULL};
    ck_assert_int_eq(it_daemon_run_expect_exit(env2, 30, log_path, sizeof log_path), 1);
    log = it_read_file(log_path);
    ck_assert_msg(strstr(log, "database") != NULL, "log: %s", log);
    free(log);
}
END_TEST

START_TEST(browser_smoke)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "node tests/e2e/smoke.mjs %s /tmp/ar-smoke.png", daemon_under_test.base_url);
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "browser smoke test failed (exit %d)", rc);
}
END_TEST

/* Every page template rendered with sample contexts in Chromium under the daemon's CSP: accessibility hooks,
 * CSRF tokens in forms, escaping of hostile text, phone widths, htmx row actions (tests/e2e/templates_render.mjs). */
START_TEST(page_templates_in_a_browser)
{
    int rc = system("node tests/e2e/templates_render.mjs > /tmp/ar-templates-render.log 2>&1");
    if (rc != 0) {
        char *out = it_read_file("/tmp/ar-templates-render.log");
        ck_abort_msg("template checks failed:\n%s", out);
    }
}
END_TEST

Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("daemon");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, start_daemon, stop_daemon);
    tcase_add_test(tc, healthz_ok_with_headers);
    tcase_add_test(tc, request_id_is_echoed_when_sane);
    tcase_add_test(tc, readyz_reports_dependencies);
    tcase_add_test(tc, metrics_in_prometheus_format);
    tcase_add_test(tc, not_found_json_and_page);
    tcase_add_test(tc, wrong_method_is_405_with_allow);
    tcase_add_test(tc, head_has_no_body);
    tcase_add_test(tc, pages_render_sign_in);
    tcase_add_test(tc, static_files_and_traversal);
    tcase_add_test(tc, json_body_errors);
    tcase_add_test(tc, keep_alive_reuses_connection);
    tcase_add_test(tc, browser_smoke);
    suite_add_tcase(s, tc);
    TCase *life = tcase_create("lifecycle");
    tcase_set_timeout(life, 90);
    tcase_add_test(life, readyz_503_names_failed_valkey);
    tcase_add_test(life, readyz_503_names_unusable_storage);
    tcase_add_test(life, graceful_shutdown_exits_zero);
    tcase_add_test(life, port_in_use_fails_fast);
    tcase_add_test(life, bad_config_fails_fast);
    suite_add_tcase(s, life);
    TCase *pages = tcase_create("templates");
    tcase_set_timeout(pages, 120);
    tcase_add_test(pages, page_templates_in_a_browser);
    suite_add_tcase(s, pages);
    return s;
}
