/* test_transfer.c — worklog import and export over HTTP against the real daemon and PostgreSQL: a JSON export
 * imported into a fresh workspace exports again as the same document (only entry ids, exported_at and source
 * differ); re-imports skip instead of duplicating (into the other workspace and into the exporting one); a CSV
 * with bad rows imports nothing and names each row and field; CSV with a BOM, quotes, commas, line breaks and
 * formula-like cells round-trips; Markdown groups by month, newest first; another workspace's entries never
 * appear; 5,000 entries stream out quickly (chunked, batches) with the daemon's memory peak reported; the
 * import page's two steps (mapping preview, then import) work through multipart; imports and exports are
 * audited. */
#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "harness.h"

static it_daemon d;
static char *db_url;
static char env_db[1024];

static void start(void)
{
    db_url = it_migrated_db();
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    const char *env[] = {env_db,
                         "AR_RATE_LIMIT_EXPORT_USER=1000/3600",
                         "AR_RATE_LIMIT_SIGNUP_IP=1000/300",
                         "AR_RATE_LIMIT_PASSKEY_IP=1000/300",
                         "AR_RATE_LIMIT_SIGNIN_IP=1000/300",
                         NULL};
    ck_assert_msg(it_daemon_start(&d, env) == 0, "daemon did not start; see %s", d.log_path);
}

static void stop(void)
{
    it_daemon_stop(&d);
}

/* ---- HTTP helpers ---- */

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

typedef struct client {
    char cookie[200];
    char csrf[100];
    long long user_id, tenant_id;
} client;

static long request_n(client *cl, const char *method, const char *path, const char *body, size_t len,
                      const char *content_type, it_response *r)
{
    char url[1024], cookie[256], csrf[160], ctype[200];
    snprintf(url, sizeof url, "%s%s", d.base_url, path);
    const char *headers[5];
    int n = 0;
    if (body) {
        snprintf(ctype, sizeof ctype, "Content-Type: %s", content_type ? content_type : "application/json");
        headers[n++] = ctype;
    }
    if (cl && cl->cookie[0]) {
        snprintf(cookie, sizeof cookie, "Cookie: %s", cl->cookie);
        headers[n++] = cookie;
        snprintf(csrf, sizeof csrf, "X-CSRF-Token: %s", cl->csrf);
        headers[n++] = csrf;
    }
    headers[n] = NULL;
    ck_assert_int_eq(it_http(method, url, headers, body, len, r), 0);
    return r->status;
}

static long request(client *cl, const char *method, const char *path, const char *body, const char *ct, it_response *r)
{
    return request_n(cl, method, path, body, body ? strlen(body) : 0, ct, r);
}

static json_t *body_json(it_response *r)
{
    json_t *j = json_loads(ar_buf_cstr(&r->body), 0, NULL);
    ck_assert_msg(j != NULL, "not JSON: %.400s", ar_buf_cstr(&r->body));
    return j;
}

static void signup(client *cl, const char *username)
{
    int st;
    char *passkey = cli("admin mint-passkey", &st);
    ck_assert_int_eq(st, 0);
    passkey[strcspn(passkey, "\r\n")] = '\0';
    char json[512];
    snprintf(json, sizeof json,
             "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"correct horse battery\",\"passkey\":\"%s\"}",
             username, username, passkey);
    free(passkey);
    it_response r;
    long code = request(cl, "POST", "/api/auth/signup/", json, NULL, &r);
    ck_assert_msg(code == 201, "signup %s: %ld %s", username, code, ar_buf_cstr(&r.body));
    const char *p = strcasestr(ar_buf_cstr(&r.headers), "Set-Cookie: ar_session=");
    ck_assert_ptr_nonnull(p);
    p += strlen("Set-Cookie: ");
    size_t len = strcspn(p, ";\r\n");
    ck_assert_uint_lt(len, sizeof cl->cookie);
    memcpy(cl->cookie, p, len);
    cl->cookie[len] = '\0';
    json_t *j = body_json(&r);
    snprintf(cl->csrf, sizeof cl->csrf, "%s", json_string_value(json_object_get(j, "csrf_token")));
    json_decref(j);
    it_response_free(&r);
    PGconn *c = it_pg_connect_to(db_url);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT id FROM users WHERE username = '%s'", username);
    cl->user_id = it_query_long(c, sql);
    snprintf(sql, sizeof sql, "SELECT personal_tenant_id FROM users WHERE username = '%s'", username);
    cl->tenant_id = it_query_long(c, sql);
    PQfinish(c);
}

static long long create(client *cl, const char *path, const char *body)
{
    it_response r;
    long code = request(cl, "POST", path, body, NULL, &r);
    ck_assert_msg(code == 201, "POST %s: %ld %s", path, code, ar_buf_cstr(&r.body));
    json_t *j = body_json(&r);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    it_response_free(&r);
    return id;
}

/* GET an export; returns the body (heap) and checks status, type and the download headers. */
static char *export_doc(client *cl, const char *query, const char *want_type)
{
    char path[256];
    snprintf(path, sizeof path, "/api/export/worklogs?%s", query);
    it_response r;
    long code = request(cl, "GET", path, NULL, NULL, &r);
    ck_assert_msg(code == 200, "export %s: %ld %s", query, code, ar_buf_cstr(&r.body));
    char h[256];
    ck_assert_ptr_nonnull(it_header(&r, "Content-Type", h, sizeof h));
    ck_assert_msg(strncmp(h, want_type, strlen(want_type)) == 0, "content type %s", h);
    ck_assert_ptr_nonnull(it_header(&r, "Content-Disposition", h, sizeof h));
    ck_assert_msg(strncmp(h, "attachment; filename=\"afterresume-worklog-", 42) == 0, "disposition %s", h);
    char today[11];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    ck_assert_msg(strstr(h, today) != NULL, "no date in %s", h);
    ck_assert_ptr_nonnull(it_header(&r, "Cache-Control", h, sizeof h));
    ck_assert_str_eq(h, "no-store");
    char *out = ar_buf_steal(&r.body);
    it_response_free(&r);
    return out;
}

static json_t *import_doc(client *cl, const char *body, size_t len, const char *ct, const char *query, long want)
{
    char path[512];
    snprintf(path, sizeof path, "/api/import/worklogs%s%s", query ? "?" : "", query ? query : "");
    it_response r;
    long code = request_n(cl, "POST", path, body, len, ct, &r);
    ck_assert_msg(code == want, "import: %ld (want %ld) %.2000s", code, want, ar_buf_cstr(&r.body));
    json_t *j = body_json(&r);
    it_response_free(&r);
    return j;
}

static long long count_entries(long long tenant)
{
    PGconn *c = it_pg_connect_to(db_url);
    it_exec(c, "SELECT set_config('app.bypass_rls','on',false)");
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM worklog_entries WHERE tenant_id = %lld AND deleted_at IS NULL",
             tenant);
    long long n = it_query_long(c, sql);
    PQfinish(c);
    return n;
}

/* The JSON export minus what is allowed to differ between workspaces: exported_at, entry ids and source. */
static json_t *comparable(const char *text)
{
    json_error_t je;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    ck_assert_msg(doc != NULL, "export is not JSON (%s): %.300s", je.text, text);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "format")), "afterresume.worklog");
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "format_version")), 1);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(doc, "exported_at")));
    json_object_del(doc, "exported_at");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "entries"), i, e) {
        ck_assert(json_is_integer(json_object_get(e, "id")));
        json_object_del(e, "id");
        json_object_del(e, "source");
    }
    return doc;
}

static void assert_same_json(json_t *a, json_t *b)
{
    if (json_equal(a, b)) return;
    char *ta = json_dumps(a, JSON_INDENT(1) | JSON_SORT_KEYS), *tb = json_dumps(b, JSON_INDENT(1) | JSON_SORT_KEYS);
    size_t k = 0;
    while (ta[k] && ta[k] == tb[k]) k++;
    size_t from = k > 300 ? k - 300 : 0;
    ck_abort_msg("documents differ at byte %zu:\n--- first\n%.600s\n--- second\n%.600s", k, ta + from, tb + from);
}

/* A workspace with clients, projects and entries using every field. */
static void seed_worklog(client *a)
{
    long long acme = create(a, "/api/clients/", "{\"name\":\"Acme, Inc.\",\"description\":\"Rockets \\\"R\\\" us\"}");
    create(a, "/api/clients/", "{\"name\":\"Dormant Co\",\"description\":\"old\",\"is_active\":false}");
    char body[4096];
    snprintf(body, sizeof body,
             "{\"name\":\"Launch\",\"client\":%lld,\"role\":\"Tech lead\",\"start_date\":\"2023-01-01\","
             "\"end_date\":\"2023-06-30\",\"description\":\"pad\"}",
             acme);
    long long launch = create(a, "/api/projects/", body);
    create(a, "/api/projects/", "{\"name\":\"Side quest\",\"is_active\":false}");
    snprintf(body, sizeof body,
             "{\"occurred_on\":\"2023-05-04\",\"title\":\"Ship the “launch” pad, v2\",\"content\":\"# Done\\n\\nWe "
             "*shipped*, with \\\"quotes\\\", commas; and\\r\\nCRLF lines.\",\"outcome\":\"Pad live\",\"impact\":\"Saved "
             "3 days\",\"next_steps\":\"Monitor\",\"effort_minutes\":135,\"work_type\":\"incident\",\"status\":\"final\","
             "\"tags\":[\"Launch\",\"sre ops\"],\"client\":%lld,\"project\":%lld,\"visibility\":\"team\","
             "\"impact_score\":9,\"impact_score_source\":\"ai\"}",
             acme, launch);
    create(a, "/api/worklogs/", body);
    create(a, "/api/worklogs/",
           "{\"occurred_on\":\"2023-05-04\",\"title\":\"Same day, second\",\"content\":\"b\",\"import_key\":\"ext:42\","
           "\"impact_score\":3}");
    create(a, "/api/worklogs/",
           "{\"occurred_on\":\"2024-02-29\",\"title\":\"=SUM(A1) looks like a formula\",\"content\":\"-minus first\","
           "\"tags\":[\"@home\"],\"work_type\":\"learning\",\"status\":\"draft\"}");
    create(a, "/api/worklogs/", "{\"occurred_on\":\"1999-12-31\",\"title\":\"\",\"content\":\"Untitled, long ago\"}");
    long long gone = create(a, "/api/worklogs/", "{\"occurred_on\":\"2024-03-01\",\"title\":\"Deleted one\",\"content\":\"x\"}");
    char path[64];
    snprintf(path, sizeof path, "/api/worklogs/%lld/", gone);
    it_response r;
    ck_assert_int_eq(request(a, "DELETE", path, NULL, NULL, &r), 204);
    it_response_free(&r);
}

/* ---- tests ---- */

START_TEST(json_export_import_export_is_the_same_document)
{
    client a = {0}, b = {0};
    signup(&a, "tra");
    signup(&b, "trb");
    seed_worklog(&a);
    char *first = export_doc(&a, "format=json", "application/json");
    ck_assert_ptr_null(strstr(first, "Deleted one"));
    json_t *doc = comparable(first);
    ck_assert_int_eq(json_array_size(json_object_get(doc, "entries")), 4);
    ck_assert_int_eq(json_array_size(json_object_get(doc, "clients")), 2);
    ck_assert_int_eq(json_array_size(json_object_get(doc, "projects")), 2);
    /* oldest first; an entry without import_key gets a stable one */
    json_t *e0 = json_array_get(json_object_get(doc, "entries"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(e0, "occurred_on")), "1999-12-31");
    char want_key[64];
    snprintf(want_key, sizeof want_key, "afterresume:%lld:", a.tenant_id);
    ck_assert(strncmp(json_string_value(json_object_get(e0, "import_key")), want_key, strlen(want_key)) == 0);
    json_t *e1 = json_array_get(json_object_get(doc, "entries"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(e1, "client_name")), "Acme, Inc.");
    ck_assert_str_eq(json_string_value(json_object_get(e1, "project_name")), "Launch");
    ck_assert_int_eq(json_integer_value(json_object_get(e1, "impact_score")), 9);
    ck_assert_str_eq(json_string_value(json_object_get(e1, "impact_score_source")), "ai");
    char *e1_text = json_dumps(e1, JSON_COMPACT);
    ck_assert_msg(json_is_string(json_array_get(json_object_get(e1, "tags"), 0)) &&
                      strcmp(json_string_value(json_array_get(json_object_get(e1, "tags"), 0)), "launch") == 0,
                  "tags of %s", e1_text);
    free(e1_text);

    /* into a fresh workspace: everything created, past dates kept */
    json_t *res = import_doc(&b, first, strlen(first), "application/json", NULL, 201);
    ck_assert_int_eq(json_integer_value(json_object_get(res, "created")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(res, "skipped")), 0);
    ck_assert_int_eq(json_array_size(json_object_get(res, "created_clients")), 2);
    json_decref(res);
    char *second = export_doc(&b, "format=json", "application/json");
    json_t *doc2 = comparable(second);
    assert_same_json(doc, doc2);
    json_t *raw2 = json_loads(second, 0, NULL);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(raw2, "entries"), i, e)
        ck_assert_str_eq(json_string_value(json_object_get(e, "source")), "import");
    json_decref(raw2);

    /* re-importing does not duplicate: neither into the other workspace nor into the exporting one */
    res = import_doc(&b, first, strlen(first), "application/json", NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(res, "created")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(res, "skipped")), 4);
    json_decref(res);
    res = import_doc(&a, first, strlen(first), "application/json", NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(res, "skipped")), 4);
    json_decref(res);
    ck_assert_int_eq(count_entries(b.tenant_id), 4);
    ck_assert_int_eq(count_entries(a.tenant_id), 4);
    char *third = export_doc(&b, "format=json", "application/json");
    json_t *doc3 = comparable(third);
    assert_same_json(doc2, doc3);

    /* a date range narrows the export */
    char *ranged = export_doc(&a, "format=json&start_date=2023-01-01&end_date=2023-12-31", "application/json");
    json_t *rdoc = json_loads(ranged, 0, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(rdoc, "entries")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(rdoc, "start_date")), "2023-01-01");
    json_decref(rdoc);

    /* bad options */
    it_response r;
    ck_assert_int_eq(request(&a, "GET", "/api/export/worklogs?format=xml", NULL, NULL, &r), 400);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "\"format\""));
    it_response_free(&r);
    ck_assert_int_eq(request(&a, "GET", "/api/export/worklogs?start_date=2024-02-30", NULL, NULL, &r), 400);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "\"start_date\""));
    it_response_free(&r);
    ck_assert_int_eq(request(&a, "GET", "/api/export/worklogs?start_date=2024-02-02&end_date=2024-02-01", NULL, NULL, &r),
                     400);
    it_response_free(&r);
    ck_assert_int_eq(request(NULL, "GET", "/api/export/worklogs", NULL, NULL, &r), 401);
    it_response_free(&r);

    /* audited */
    PGconn *c = it_pg_connect_to(db_url);
    it_exec(c, "SELECT set_config('app.bypass_rls','on',false)");
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit_events WHERE action = 'worklog.exported' AND actor_id = %lld",
             a.user_id);
    ck_assert_int_ge(it_query_long(c, sql), 2);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit_events WHERE action = 'worklog.imported' AND actor_id = %lld AND success "
             "AND details->>'created' = '4'",
             b.user_id);
    ck_assert_int_eq(it_query_long(c, sql), 1);
    PQfinish(c);
    json_decref(doc);
    json_decref(doc2);
    json_decref(doc3);
    free(first);
    free(second);
    free(third);
    free(ranged);
}
END_TEST

START_TEST(csv_with_bad_rows_imports_nothing_and_names_them)
{
    client c = {0};
    signup(&c, "trc");
    const char *csv = "Date,Title,Content,Type,Tags,Mood\r\n"
                      "2024-01-02,Fine,\"All good, really\",delivery,a;b,happy\r\n"
                      "2024-02-30,Bad date,x,delivery,,meh\r\n"
                      "2024-01-03,Bad type,y,gardening,,ok\r\n"
                      "2024-01-04,No content,,delivery,,ok\r\n";
    json_t *res = import_doc(&c, csv, strlen(csv), "text/csv", NULL, 422);
    json_t *err = json_object_get(res, "error");
    ck_assert_str_eq(json_string_value(json_object_get(err, "code")), "validation_error");
    ck_assert_int_eq(json_integer_value(json_object_get(err, "error_count")), 3);
    json_t *rows = json_object_get(err, "rows");
    ck_assert_int_eq(json_array_size(rows), 3);
    static const struct {
        int row;
        const char *field;
    } want[] = {{3, "occurred_on"}, {4, "work_type"}, {5, "content"}};
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(rows, i);
        ck_assert_int_eq(json_integer_value(json_object_get(e, "row")), want[i].row);
        ck_assert_str_eq(json_string_value(json_object_get(e, "field")), want[i].field);
        ck_assert(json_string_length(json_object_get(e, "message")) > 0);
    }
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(res, "unknown_columns"), 0)), "Mood");
    json_decref(res);
    ck_assert_int_eq(count_entries(c.tenant_id), 0);

    /* one bad row among good ones: still nothing */
    const char *one_bad = "occurred_on,content\n2024-01-01,ok\n2024-01-02,ok too\n2024-13-01,bad month\n";
    res = import_doc(&c, one_bad, strlen(one_bad), "text/csv", NULL, 422);
    rows = json_object_get(json_object_get(res, "error"), "rows");
    ck_assert_int_eq(json_array_size(rows), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "row")), 4);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "field")), "occurred_on");
    json_decref(res);
    ck_assert_int_eq(count_entries(c.tenant_id), 0);

    /* errors only the database can see (a project of another client) are rows too, and roll everything back */
    const char *refs = "date,content,client,project\n2024-01-01,x,Client A,P1\n2024-01-02,y,Client B,P1\n";
    res = import_doc(&c, refs, strlen(refs), "text/csv", NULL, 422);
    rows = json_object_get(json_object_get(res, "error"), "rows");
    ck_assert_int_eq(json_array_size(rows), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "row")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "field")), "project_name");
    json_decref(res);
    ck_assert_int_eq(count_entries(c.tenant_id), 0);
    PGconn *pc = it_pg_connect_to(db_url);
    it_exec(pc, "SELECT set_config('app.bypass_rls','on',false)");
    char q[200];
    snprintf(q, sizeof q, "SELECT count(*) FROM clients WHERE tenant_id = %lld", c.tenant_id);
    ck_assert_int_eq(it_query_long(pc, q), 0);
    PQfinish(pc);

    /* file-level problems: 400 naming the file or mapping */
    const char *no_content = "date,title\n2024-01-01,x\n";
    res = import_doc(&c, no_content, strlen(no_content), "text/csv", NULL, 400);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(res, "error"), "fields"), "file"));
    json_decref(res);
    const char *broken = "date,content\n2024-01-01,\"never closed\n";
    res = import_doc(&c, broken, strlen(broken), "text/csv", NULL, 400);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_object_get(res, "error"), "message")), "row 2"));
    json_decref(res);
    const char *bad_utf8 = "date,content\n2024-01-01,caf\xE9\n";
    res = import_doc(&c, bad_utf8, strlen(bad_utf8), "text/csv", NULL, 400);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_object_get(res, "error"), "message")),
                                 "row 2, column 2"));
    json_decref(res);
    const char *truncated = "{\"entries\":[{\"occurred_on\":\"2024-01-01\"}";
    res = import_doc(&c, truncated, strlen(truncated), "application/json", NULL, 400);
    json_decref(res);
    /* mapping: other column names, and an unknown target */
    const char *custom = "When,What happened\n2024-03-03,Mapped by hand\n";
    res = import_doc(&c, custom, strlen(custom), "text/csv",
                     "mapping=%7B%22When%22%3A%22occurred_on%22%2C%22What%20happened%22%3A%22content%22%7D", 201);
    ck_assert_int_eq(json_integer_value(json_object_get(res, "created")), 1);
    json_decref(res);
    res = import_doc(&c, custom, strlen(custom), "text/csv", "mapping=%7B%22When%22%3A%22colour%22%7D", 400);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(res, "error"), "fields"), "mapping"));
    json_decref(res);
    /* dry run counts without writing */
    const char *two = "date,content\n2024-04-01,one\n2024-04-02,two\n";
    res = import_doc(&c, two, strlen(two), "text/csv", "dry_run=1", 200);
    ck_assert_int_eq(json_integer_value(json_object_get(res, "created")), 2);
    ck_assert(json_is_true(json_object_get(res, "dry_run")));
    json_decref(res);
    ck_assert_int_eq(count_entries(c.tenant_id), 1);
    /* wrong media type */
    it_response r;
    ck_assert_int_eq(request(&c, "POST", "/api/import/worklogs", "x", "application/xml", &r), 415);
    it_response_free(&r);
    /* failures are audited */
    PGconn *pg = it_pg_connect_to(db_url);
    it_exec(pg, "SELECT set_config('app.bypass_rls','on',false)");
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit_events WHERE action = 'worklog.imported' AND NOT success "
                              "AND actor_id = %lld", c.user_id);
    ck_assert_int_ge(it_query_long(pg, sql), 2);
    PQfinish(pg);
}
END_TEST

START_TEST(csv_with_bom_quotes_newlines_round_trips)
{
    client e = {0}, f = {0};
    signup(&e, "tre");
    signup(&f, "trf");
    const char *csv = "\xEF\xBB\xBF" "occurred_on,title,content,tags,effort_minutes,client,project,impact_score\r\n"
                      "2022-07-01,\"Quotes \"\"here\"\", commas\",\"Line one\r\nLine two, with comma\nand LF\","
                      "\"Alpha; beta\",45,\"Client, Ltd\",Proj,5\r\n"
                      "2022-07-02,'=cmd(),\"- starts with minus\",@mention,,,,\r\n"
                      "2022-08-15,Plain,café ✓,,,,,";
    json_t *res = import_doc(&e, csv, strlen(csv), "text/csv; charset=utf-8", NULL, 201);
    ck_assert_int_eq(json_integer_value(json_object_get(res, "created")), 3);
    json_decref(res);
    /* the content came through exactly */
    char *json = export_doc(&e, "format=json", "application/json");
    json_t *doc = json_loads(json, 0, NULL);
    json_t *en = json_object_get(doc, "entries");
    ck_assert_int_eq(json_array_size(en), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(en, 0), "title")), "Quotes \"here\", commas");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(en, 0), "content")),
                     "Line one\r\nLine two, with comma\nand LF");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(en, 0), "client_name")), "Client, Ltd");
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(en, 0), "tags")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(en, 1), "title")), "=cmd()");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(en, 1), "content")), "- starts with minus");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(en, 2), "content")), "café ✓");
    /* re-importing the same CSV skips every row */
    res = import_doc(&e, csv, strlen(csv), "text/csv", NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(res, "skipped")), 3);
    json_decref(res);

    /* CSV export: header, CRLF, formulas neutralised, tags joined by ';' */
    char *csv_out = export_doc(&e, "format=csv", "text/csv");
    ck_assert(strncmp(csv_out, "occurred_on,title,content,outcome,impact,next_steps,effort_minutes,work_type,status,tags,"
                               "client,project,visibility,impact_score,impact_score_source,source,import_key,created_at,"
                               "updated_at\r\n", 176) == 0);
    ck_assert_ptr_nonnull(strstr(csv_out, ",'=cmd(),"));
    ck_assert_ptr_nonnull(strstr(csv_out, ",'- starts with minus,"));
    ck_assert_ptr_nonnull(strstr(csv_out, ",'@mention,"));
    ck_assert_ptr_nonnull(strstr(csv_out, ",alpha;beta,"));
    ck_assert_ptr_nonnull(strstr(csv_out, "\"Line one\r\nLine two, with comma\nand LF\""));
    /* ... and imports into another workspace as the same entries */
    res = import_doc(&f, csv_out, strlen(csv_out), "text/csv", NULL, 201);
    ck_assert_int_eq(json_integer_value(json_object_get(res, "created")), 3);
    json_decref(res);
    char *json_f = export_doc(&f, "format=json", "application/json");
    json_t *a = comparable(json), *b = comparable(json_f);
    assert_same_json(a, b);
    json_decref(a);
    json_decref(b);
    json_decref(doc);
    free(json);
    free(json_f);
    free(csv_out);
}
END_TEST

START_TEST(markdown_groups_by_month_newest_first)
{
    client g = {0};
    signup(&g, "trg");
    create(&g, "/api/worklogs/",
           "{\"occurred_on\":\"2024-01-15\",\"title\":\"January work\",\"content\":\"**bold** kept as Markdown\","
           "\"outcome\":\"Shipped\",\"impact\":\"Big\",\"impact_score\":8,\"tags\":[\"x\",\"y\"]}");
    create(&g, "/api/worklogs/", "{\"occurred_on\":\"2024-03-02\",\"title\":\"March work\",\"content\":\"m\"}");
    create(&g, "/api/worklogs/", "{\"occurred_on\":\"2024-03-20\",\"title\":\"Later in March\",\"content\":\"m2\"}");
    create(&g, "/api/worklogs/", "{\"occurred_on\":\"2023-12-31\",\"title\":\"Year end\",\"content\":\"y\"}");
    char *md = export_doc(&g, "format=md", "text/markdown");
    const char *h_mar = strstr(md, "\n## March 2024\n"), *h_jan = strstr(md, "\n## January 2024\n"),
               *h_dec = strstr(md, "\n## December 2023\n");
    ck_assert_msg(h_mar && h_jan && h_dec, "%s", md);
    ck_assert(h_mar < h_jan && h_jan < h_dec);
    const char *later = strstr(md, "Later in March"), *march = strstr(md, "March work");
    ck_assert(later && march && later < march && march < h_jan);
    ck_assert_ptr_nonnull(strstr(md, "### 2024-01-15 — January work"));
    ck_assert_ptr_nonnull(strstr(md, "**bold** kept as Markdown"));
    ck_assert_ptr_nonnull(strstr(md, "**Outcome:** Shipped"));
    ck_assert_ptr_nonnull(strstr(md, "**Impact score:** 8/10"));
    ck_assert_ptr_nonnull(strstr(md, "Tags: x, y"));
    ck_assert_ptr_nonnull(strstr(md, "Year end"));
    free(md);
}
END_TEST

START_TEST(another_workspace_never_appears)
{
    client h = {0}, k = {0};
    signup(&h, "trh");
    signup(&k, "trk");
    create(&h, "/api/worklogs/", "{\"occurred_on\":\"2024-05-05\",\"title\":\"H secret plan\",\"content\":\"h\"}");
    create(&k, "/api/worklogs/", "{\"occurred_on\":\"2024-05-05\",\"title\":\"K own entry\",\"content\":\"k\"}");
    create(&k, "/api/clients/", "{\"name\":\"K-only client\"}");
    static const char *const formats[] = {"format=json", "format=csv", "format=md"};
    static const char *const types[] = {"application/json", "text/csv", "text/markdown"};
    for (int i = 0; i < 3; i++) {
        char *out = export_doc(&k, formats[i], types[i]);
        ck_assert_ptr_null(strstr(out, "H secret plan"));
        ck_assert_ptr_nonnull(strstr(out, "K own entry"));
        free(out);
        out = export_doc(&h, formats[i], types[i]);
        ck_assert_ptr_null(strstr(out, "K own entry"));
        ck_assert_ptr_null(strstr(out, "K-only client"));
        free(out);
    }
    /* a read-only member may export but not import (403 before the body is read) */
    PGconn *c = it_pg_connect_to(db_url);
    it_exec(c, "SELECT set_config('app.bypass_rls','on',false)");
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE memberships SET role = 'read_only' WHERE user_id = %lld", k.user_id);
    it_exec(c, sql);
    PQfinish(c);
    char *out = export_doc(&k, "format=json", "application/json");
    free(out);
    it_response r;
    const char *csv = "date,content\n2024-01-01,x\n";
    ck_assert_int_eq(request(&k, "POST", "/api/import/worklogs", csv, "text/csv", &r), 403);
    it_response_free(&r);
    ck_assert_int_eq(count_entries(k.tenant_id), 1);
}
END_TEST

static long peak_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) v = atol(line + 6);
    if (f) fclose(f);
    return v;
}

START_TEST(five_thousand_entries_stream_out)
{
    client m = {0};
    signup(&m, "trm");
    PGconn *c = it_pg_connect_to(db_url);
    it_exec(c, "SELECT set_config('app.bypass_rls','on',false)");
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO worklog_entries (tenant_id, author_id, occurred_on, title, content, tags) "
             "SELECT %lld, %lld, date '2020-01-01' + (g %% 1500), 'Bulk entry ' || g, repeat('word ', 150) || g, "
             "ARRAY['bulk', 't' || (g %% 7)] FROM generate_series(1, 5000) g",
             m.tenant_id, m.user_id);
    it_exec(c, sql);
    PQfinish(c);
    static const char *const formats[] = {"format=json", "format=csv", "format=md"};
    static const char *const types[] = {"application/json", "text/csv", "text/markdown"};
    for (int i = 0; i < 3; i++) {
        long before = peak_kib(d.pid);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        char path[64];
        snprintf(path, sizeof path, "/api/export/worklogs?%s", formats[i]);
        it_response r;
        ck_assert_int_eq(request(&m, "GET", path, NULL, NULL, &r), 200);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        char h[64];
        ck_assert_ptr_nonnull(it_header(&r, "Content-Type", h, sizeof h));
        ck_assert(strncmp(h, types[i], strlen(types[i])) == 0);
        /* streamed: chunked, no Content-Length computed up front */
        ck_assert_ptr_null(it_header(&r, "Content-Length", h, sizeof h));
        ck_assert_ptr_nonnull(it_header(&r, "Transfer-Encoding", h, sizeof h));
        ck_assert_str_eq(h, "chunked");
        size_t n = 0;
        for (const char *p = ar_buf_cstr(&r.body); (p = strstr(p, "Bulk entry ")) != NULL; p++) n++;
        ck_assert_uint_eq(n, 5000);
        long after = peak_kib(d.pid);
        fprintf(stderr, "transfer: %s export of 5000 entries: %zu bytes in %.2f s, daemon peak RSS %ld -> %ld KiB\n",
                formats[i], r.body.len, secs, before, after);
        ck_assert_msg(secs < 20.0, "export took %.1f s", secs);
        if (i == 0) {
            json_t *doc = json_loads(ar_buf_cstr(&r.body), 0, NULL);
            ck_assert_ptr_nonnull(doc);
            ck_assert_uint_eq(json_array_size(json_object_get(doc, "entries")), 5000);
            /* 1,000 of them import into a fresh workspace in one transaction (the HTTP client gives up at 20 s) */
            json_t *entries = json_object_get(doc, "entries");
            while (json_array_size(entries) > 1000) json_array_remove(entries, json_array_size(entries) - 1);
            char *part = json_dumps(doc, JSON_COMPACT);
            json_decref(doc);
            client n = {0};
            signup(&n, "trn");
            clock_gettime(CLOCK_MONOTONIC, &t0);
            json_t *res = import_doc(&n, part, strlen(part), "application/json", NULL, 201);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            ck_assert_int_eq(json_integer_value(json_object_get(res, "created")), 1000);
            json_decref(res);
            fprintf(stderr, "transfer: import of 1000 entries as JSON (%zu bytes): %.2f s\n", strlen(part),
                    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
            free(part);
            ck_assert_int_eq(count_entries(n.tenant_id), 1000);
        }
        it_response_free(&r);
    }
}
END_TEST

/* The page's two steps over multipart: the upload shows the mapping, the second post imports. */
START_TEST(import_page_preview_then_import)
{
    client p = {0};
    signup(&p, "trp");
    it_response r;
    ck_assert_int_eq(request(&p, "GET", "/worklog/import", NULL, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "name=\"file\""));
    it_response_free(&r);
    ck_assert_int_eq(request(&p, "GET", "/worklog/export", NULL, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "action=\"/api/export/worklogs\""));
    it_response_free(&r);
    ck_assert_int_eq(request(&p, "GET", "/settings", NULL, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "href=\"/worklog/export\""));
    it_response_free(&r);

    const char *ct = "multipart/form-data; boundary=XyZzY";
    const char *step1 = "--XyZzY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"log.csv\"\r\n"
                        "Content-Type: text/csv\r\n\r\n"
                        "Day,Notes,Colour\r\n2021-06-01,From the page <b>bold</b>,red\r\n"
                        "\r\n--XyZzY--\r\n";
    ck_assert_int_eq(request(&p, "POST", "/worklog/import", step1, ct, &r), 200);
    const char *page = ar_buf_cstr(&r.body);
    ck_assert_msg(strstr(page, "id=\"import-columns\"") != NULL, "%s", page);
    ck_assert_ptr_nonnull(strstr(page, "<option value=\"occurred_on\" selected>"));
    ck_assert_ptr_nonnull(strstr(page, "not recognised"));
    ck_assert_ptr_null(strstr(page, "<b>bold</b>")); /* sample cells are escaped */
    ck_assert_ptr_nonnull(strstr(page, "name=\"csv_base64\" value=\"RGF5LE5vdGVzLENvbG91cg0K"));
    it_response_free(&r);

    /* a CSRF-less post is refused before the body is read */
    client nocsrf = p;
    nocsrf.csrf[0] = 'x';
    ck_assert_int_eq(request(&nocsrf, "POST", "/worklog/import", step1, ct, &r), 403);
    it_response_free(&r);

    const char *step2 = "--XyZzY\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nimport\r\n"
                        "--XyZzY\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\ncsv\r\n"
                        /* the file comes back base64-encoded: 'Day,Notes,Colour CRLF 2021-06-01,"From the page LF
                         * line 2",red CRLF' (line breaks in cells must survive exactly) */
                        "--XyZzY\r\nContent-Disposition: form-data; name=\"csv_base64\"\r\n\r\n"
                        "RGF5LE5vdGVzLENvbG91cg0KMjAyMS\r\n0wNi0wMSwiRnJvbSB0aGUgcGFnZQpsaW5lIDIiLHJlZA0K"
                        "\r\n--XyZzY\r\nContent-Disposition: form-data; name=\"map_0\"\r\n\r\noccurred_on\r\n"
                        "--XyZzY\r\nContent-Disposition: form-data; name=\"map_1\"\r\n\r\ncontent\r\n"
                        "--XyZzY\r\nContent-Disposition: form-data; name=\"map_2\"\r\n\r\ntitle\r\n"
                        "--XyZzY--\r\n";
    ck_assert_int_eq(request(&p, "POST", "/worklog/import", step2, ct, &r), 200);
    ck_assert_msg(strstr(ar_buf_cstr(&r.body), "id=\"import-created\">1<") != NULL, "%s", ar_buf_cstr(&r.body));
    it_response_free(&r);
    char *json = export_doc(&p, "format=json", "application/json");
    ck_assert_ptr_nonnull(strstr(json, "\"title\":\"red\""));
    ck_assert_ptr_nonnull(strstr(json, "\"content\":\"From the page\\nline 2\""));
    free(json);

    /* a bad row on the page: 422 with the row listed */
    const char *bad = "--XyZzY\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nimport\r\n"
                      "--XyZzY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bad.csv\"\r\n\r\n"
                      "date,content\r\n2021-02-31,x\r\n"
                      "\r\n--XyZzY--\r\n";
    ck_assert_int_eq(request(&p, "POST", "/worklog/import", bad, ct, &r), 422);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "id=\"import-row-errors\""));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "occurred_on"));
    it_response_free(&r);
    ck_assert_int_eq(count_entries(p.tenant_id), 1);
}
END_TEST

/* The pages in Chromium: file picker, mapping step, result, download, row errors (tests/e2e/transfer.mjs). */
START_TEST(browser_import_and_export)
{
    client q = {0};
    signup(&q, "trq");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "node tests/e2e/transfer.mjs %s trq 'correct horse battery' /tmp", d.base_url);
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "browser import/export flow failed (exit %d)", rc);
    ck_assert_int_eq(count_entries(q.tenant_id), 2);
}
END_TEST

/* Last: stop the daemon that served every test above; its log must end with "stopped" and hold no sanitizer
 * report (leaks are reported at exit under make test-asan). Check forks each test, so the daemon (the fixture's
 * child) is watched through /proc until it has exited; the fixture's teardown reaps it. */
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
    ck_assert_msg(strstr(log, "export stopped") == NULL, "an export failed midway; see %s", d.log_path);
    free(log);
}
END_TEST

Suite *transfer_suite(void)
{
    Suite *s = suite_create("transfer");
    TCase *tc = tcase_create("transfer");
    tcase_set_timeout(tc, 180);
    tcase_add_unchecked_fixture(tc, start, stop);
    tcase_add_test(tc, json_export_import_export_is_the_same_document);
    tcase_add_test(tc, csv_with_bad_rows_imports_nothing_and_names_them);
    tcase_add_test(tc, csv_with_bom_quotes_newlines_round_trips);
    tcase_add_test(tc, markdown_groups_by_month_newest_first);
    tcase_add_test(tc, another_workspace_never_appears);
    tcase_add_test(tc, five_thousand_entries_stream_out);
    tcase_add_test(tc, import_page_preview_then_import);
    tcase_add_test(tc, browser_import_and_export);
    tcase_add_test(tc, daemon_stops_cleanly_after_all_of_it);
    suite_add_tcase(s, tc);
    return s;
}
