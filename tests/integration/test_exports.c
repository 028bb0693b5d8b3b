/* test_exports.c — account exports and the job pages against the real daemon, its job workers, PostgreSQL,
 * Valkey and local object storage: an export job runs, reports several progress steps and succeeds; the ZIP
 * (checked by Python's zipfile) holds the workspace's JSON and the evidence bytes exactly as stored (one file
 * uploaded through the evidence API, two stored directly), and nothing
 * of another workspace; another user cannot download it (404), an unfinished one answers 409, an expired one
 * 410, and cleanup.exports deletes it from storage; a cancelled export leaves nothing in storage; downloads are
 * audited; the job pages list, show and poll
 * (286 once finished); the staff page filters and retries; and a browser starts an export from the page,
 * watches the progress bar move and downloads the ZIP (tests/e2e/export.mjs). */
#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "harness.h"
#include "afterresume/domain/registry.h"
#include "afterresume/jobs/jobs.h"
#include "afterresume/jobs/valkey.h"
#include "afterresume/storage/objects.h"

static it_daemon d;
static char *db_url;
static char storage_dir[128];
static char env_db[1024], env_storage[256];

static void start(void)
{
    db_url = it_migrated_db();
    snprintf(storage_dir, sizeof storage_dir, "/tmp/ar_exports_objects_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(storage_dir));
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    snprintf(env_storage, sizeof env_storage, "AR_STORAGE_DIR=%s", storage_dir);
    /* A queue of our own in the shared Valkey: another daemon using the default keys must not take (and drop)
     * this suite's wake-ups. Inherited by the daemon and used by this process's enqueues. */
    char *prefix = it_random_hex(6);
    char queue_prefix[64];
    snprintf(queue_prefix, sizeof queue_prefix, "ar-exports-%s", prefix);
    free(prefix);
    setenv("AR_QUEUE_PREFIX", queue_prefix, 1);
    const char *env[] = {env_db,
                         env_storage,
                         "AR_STORAGE=local",
                         "AR_EXPORT_STEP_DELAY_MS=250", /* several visible progress steps */
                         "AR_JOBS_TENANT_DAILY_QUOTA=1000",
                         "AR_RATE_LIMIT_SIGNIN_IP=1000/300",
                         "AR_RATE_LIMIT_SIGNUP_IP=1000/300",
                         "AR_RATE_LIMIT_SIGNIN_ACCOUNT=1000/300",
                         "AR_RATE_LIMIT_PASSKEY_IP=1000/300",
                         NULL};
    ck_assert_msg(it_daemon_start(&d, env) == 0, "daemon did not start; see %s", d.log_path);
}

static void stop(void)
{
    it_daemon_stop(&d);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", storage_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", storage_dir);
}

/* ---- HTTP helpers (the same shapes as the identity suite's) ---- */

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

static char *mint_passkey(void)
{
    int st;
    char *out = cli("admin mint-passkey", &st);
    ck_assert_int_eq(st, 0);
    out[strcspn(out, "\r\n")] = '\0';
    ck_assert_uint_eq(strlen(out), 43);
    return out;
}

typedef struct client {
    char cookie[200];
    char csrf[100];
    long long user_id, tenant_id;
} client;

static long request(client *cl, const char *method, const char *path, const char *body, const char *content_type,
                    int with_csrf, it_response *r)
{
    char url[512], cookie[256], csrf[160], ctype[128];
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
    }
    if (with_csrf && cl && cl->csrf[0]) {
        snprintf(csrf, sizeof csrf, "X-CSRF-Token: %s", cl->csrf);
        headers[n++] = csrf;
    }
    headers[n] = NULL;
    ck_assert_int_eq(it_http(method, url, headers, body, body ? strlen(body) : 0, r), 0);
    return r->status;
}

/* A request with a binary body (session cookie and CSRF header). */
static long request_raw(client *cl, const char *method, const char *path, const void *body, size_t len,
                        const char *content_type, it_response *r)
{
    char url[512], cookie[256], csrf[160], ctype[160];
    snprintf(url, sizeof url, "%s%s", d.base_url, path);
    snprintf(ctype, sizeof ctype, "Content-Type: %s", content_type);
    snprintf(cookie, sizeof cookie, "Cookie: %s", cl->cookie);
    snprintf(csrf, sizeof csrf, "X-CSRF-Token: %s", cl->csrf);
    const char *headers[] = {ctype, cookie, csrf, NULL};
    ck_assert_int_eq(it_http(method, url, headers, body, len, r), 0);
    return r->status;
}

static json_t *body_json(it_response *r)
{
    json_t *j = json_loads(ar_buf_cstr(&r->body), 0, NULL);
    ck_assert_msg(j != NULL, "not JSON: %s", ar_buf_cstr(&r->body));
    return j;
}

static void signup(client *cl, const char *username)
{
    char *passkey = mint_passkey();
    char json[512];
    snprintf(json, sizeof json,
             "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"correct horse battery\",\"passkey\":\"%s\"}",
             username, username, passkey);
    free(passkey);
    it_response r;
    long st = request(cl, "POST", "/api/auth/signup/", json, NULL, 0, &r);
    ck_assert_msg(st == 201, "signup %s: %ld %s", username, st, ar_buf_cstr(&r.body));
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

/* ---- data ---- */

/* A worklog entry (and a client and project) in cl's workspace, with marker text in its title. */
static long long add_entry(PGconn *c, const client *cl, const char *title, const char *visibility)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO worklog_entries (tenant_id, author_id, occurred_on, title, content, visibility, tags) "
             "VALUES (%lld, %lld, '2026-11-20', '%s', 'Did the work: %s', '%s', '{export,test}') RETURNING id",
             cl->tenant_id, cl->user_id, title, title, visibility);
    return it_query_long(c, sql);
}

typedef struct evidence {
    char sha256[65];
    long long size;
    long long attachment_id, entry_id;
} evidence;

/* Store random bytes as an evidence object of entry_id, as the evidence service does (object + row). */
static void add_evidence(PGconn *c, const client *cl, long long entry_id, const char *filename, size_t size,
                         evidence *out)
{
    ar_error err = {0};
    ar_storage *st = ar_storage_local_new(storage_dir, &err);
    ck_assert_msg(st != NULL, "%s", err.message);
    char *key = ar_storage_new_key(cl->tenant_id, "att");
    ar_storage_writer *w = ar_storage_put_begin(st, key, "application/pdf", &err);
    ck_assert_ptr_nonnull(w);
    unsigned char *bytes = malloc(size);
    randombytes_buf(bytes, size);
    ck_assert_int_eq(ar_storage_put_write(w, bytes, size, &err), 0);
    ar_storage_object obj;
    ck_assert_int_eq(ar_storage_put_commit(w, &obj, &err), 0);
    free(bytes);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO attachments (tenant_id, entry_id, uploaded_by, kind, storage, object_key, filename, mime_type, "
             "size_bytes, sha256) VALUES (%lld, %lld, %lld, 'document', 'local', '%s', '%s', 'application/pdf', %lld, "
             "'%s') RETURNING id",
             cl->tenant_id, entry_id, cl->user_id, key, filename, obj.size, obj.sha256);
    out->attachment_id = it_query_long(c, sql);
    out->entry_id = entry_id;
    out->size = obj.size;
    memcpy(out->sha256, obj.sha256, sizeof out->sha256);
    free(key);
    ar_storage_free(st);
}

static long long start_export(client *cl)
{
    it_response r;
    ck_assert_int_eq(request(cl, "POST", "/api/exports/", NULL, NULL, 1, &r), 202);
    json_t *j = body_json(&r);
    long long id = json_integer_value(json_object_get(j, "job_id"));
    ck_assert_int_gt(id, 0);
    json_decref(j);
    it_response_free(&r);
    return id;
}

/* Poll the job until it finishes; returns its JSON and counts the distinct progress values seen. */
static json_t *wait_job(client *cl, long long id, int *distinct_progress)
{
    char path[64];
    snprintf(path, sizeof path, "/api/jobs/%lld/", id);
    int seen[101] = {0};
    for (int i = 0; i < 400; i++) {
        it_response r;
        ck_assert_int_eq(request(cl, "GET", path, NULL, NULL, 0, &r), 200);
        json_t *j = body_json(&r);
        it_response_free(&r);
        int p = (int)json_integer_value(json_object_get(j, "progress"));
        ck_assert(p >= 0 && p <= 100);
        seen[p] = 1;
        const char *st = json_string_value(json_object_get(j, "status"));
        if (strcmp(st, "succeeded") == 0 || strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0) {
            if (distinct_progress) {
                *distinct_progress = 0;
                for (int k = 0; k <= 100; k++) *distinct_progress += seen[k];
            }
            return j;
        }
        json_decref(j);
        usleep(50 * 1000);
    }
    ck_abort_msg("job %lld did not finish", id);
    return NULL;
}

/* Save a download into a temp file (path filled). */
static void save_body(it_response *r, char *path)
{
    strcpy(path, "/tmp/ar_export_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, r->body.data, r->body.len), (ssize_t)r->body.len);
    close(fd);
}

/* Run a Python check on the ZIP with arg (JSON) in a file: exit status 0 and its output in out. */
static int python(const char *script, const char *zip_path, const char *arg, char *out, size_t out_size)
{
    char spath[] = "/tmp/ar_export_check_XXXXXX";
    int fd = mkstemp(spath);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, script, strlen(script)), (ssize_t)strlen(script));
    close(fd);
    char apath[] = "/tmp/ar_export_want_XXXXXX";
    fd = mkstemp(apath);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, arg, strlen(arg)), (ssize_t)strlen(arg));
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "python3 %s %s %s 2>&1", spath, zip_path, apath);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, out_size - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    unlink(spath);
    unlink(apath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *zip_checker =
    "import hashlib, json, sys, zipfile\n"
    "z = zipfile.ZipFile(sys.argv[1])\n"
    "assert z.testzip() is None\n"
    "want = json.load(open(sys.argv[2]))\n"
    "names = z.namelist()\n"
    "for f in ['manifest.json', 'account.json', 'clients.json', 'projects.json', 'worklog_entries.json', "
    "'attachments.json']:\n"
    "    assert f in names, 'missing ' + f\n"
    "entries = json.loads(z.read('worklog_entries.json'))\n"
    "titles = sorted(e['title'] for e in entries)\n"
    "assert titles == sorted(want['titles']), titles\n"
    "assert all('search' not in e for e in entries)\n"
    "account = json.loads(z.read('account.json'))\n"
    "assert account['user']['username'] == want['username'], account['user']\n"
    "blob = b''.join(z.read(n) for n in names)\n"
    "for bad in want['absent']:\n"
    "    assert bad.encode() not in blob, 'found ' + bad\n"
    "atts = json.loads(z.read('attachments.json'))\n"
    "assert len(atts) == len(want['evidence']), atts\n"
    "for ev in want['evidence']:\n"
    "    files = [n for n in names if n.startswith('evidence/%d/%d-' % (ev['entry_id'], ev['attachment_id']))]\n"
    "    assert len(files) == 1, (ev, names)\n"
    "    data = z.read(files[0])\n"
    "    assert len(data) == ev['size'] and hashlib.sha256(data).hexdigest() == ev['sha256'], files[0]\n"
    "    assert any(ord(c) > 127 for c in files[0]) == ev['non_ascii'], files[0]\n"
    "m = json.loads(z.read('manifest.json'))\n"
    "assert m['counts']['worklog_entries'] == len(want['titles']), m['counts']\n"
    "assert m['counts']['evidence_files'] == len(want['evidence']), m['counts']\n"
    "print('ok', len(names))\n";

/* ---- tests ---- */

START_TEST(export_runs_progresses_and_holds_only_the_workspace)
{
    client a = {0}, b = {0};
    signup(&a, "exporter");
    signup(&b, "neighbour");
    PGconn *c = it_pg_connect_to(db_url);
    it_exec(c, "SELECT set_config('app.bypass_rls','on',false)");
    long long e1 = add_entry(c, &a, "Shipped the exporter", "private");
    add_entry(c, &a, "Planned the quarter", "team");
    add_entry(c, &b, "NEIGHBOUR-SECRET plan", "private");
    char sql[512];
    snprintf(sql, sizeof sql, "INSERT INTO clients (tenant_id, name) VALUES (%lld, 'Acme Export Client')", a.tenant_id);
    it_exec(c, sql);
    snprintf(sql, sizeof sql, "INSERT INTO clients (tenant_id, name) VALUES (%lld, 'NEIGHBOUR-CLIENT')", b.tenant_id);
    it_exec(c, sql);
    evidence ev[3];
    add_evidence(c, &a, e1, "résumé notes.pdf", 300 * 1024 + 7, &ev[0]);
    add_evidence(c, &a, e1, "plain.pdf", 0, &ev[1]);
    /* and one uploaded through the evidence API, as a person would */
    size_t up_len = 200 * 1024 + 3;
    unsigned char *up = malloc(up_len);
    randombytes_buf(up, up_len);
    memcpy(up, "%PDF-1.7\n", 9);
    ar_buf mp = AR_BUF_INIT;
    ar_buf_puts(&mp, "--XEXPORTBOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload proof.pdf\"\r\n"
                     "Content-Type: application/pdf\r\n\r\n");
    ar_buf_append(&mp, up, up_len);
    ar_buf_puts(&mp, "\r\n--XEXPORTBOUNDARY--\r\n");
    char upath[96];
    snprintf(upath, sizeof upath, "/api/worklogs/%lld/attachments/", e1);
    it_response ur;
    long ust = request_raw(&a, "POST", upath, mp.data, mp.len, "multipart/form-data; boundary=XEXPORTBOUNDARY", &ur);
    ck_assert_msg(ust == 201, "upload: %ld %s", ust, ar_buf_cstr(&ur.body));
    it_response_free(&ur);
    ar_buf_free(&mp);
    unsigned char dg[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(dg, up, up_len);
    sodium_bin2hex(ev[2].sha256, sizeof ev[2].sha256, dg, sizeof dg);
    free(up);
    ev[2].size = (long long)up_len;
    ev[2].entry_id = e1;
    char asql[256];
    snprintf(asql, sizeof asql, "SELECT id FROM attachments WHERE entry_id = %lld AND filename = 'upload proof.pdf'", e1);
    ev[2].attachment_id = it_query_long(c, asql);
    long long b_entry = it_query_long(c, "SELECT max(id) FROM worklog_entries");
    evidence bev;
    add_evidence(c, &b, b_entry, "neighbour.pdf", 1000, &bev);

    long long id = start_export(&a);
    ck_assert_int_eq(start_export(&a), id); /* the same minute: the same job */
    char path[96];
    it_response r;
    /* not finished yet: 409; the progress fragment polls */
    snprintf(path, sizeof path, "/api/exports/%lld/download", id);
    ck_assert_int_eq(request(&a, "GET", path, NULL, NULL, 0, &r), 409);
    it_response_free(&r);
    snprintf(path, sizeof path, "/jobs/%lld/progress", id);
    ck_assert_int_eq(request(&a, "GET", path, NULL, NULL, 0, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "hx-trigger=\"every 1s\""));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "<progress"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "aria-valuenow="));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "id=\"job-timeline\" hx-swap-oob=\"true\""));
    it_response_free(&r);

    int distinct = 0;
    json_t *job = wait_job(&a, id, &distinct);
    ck_assert_msg(strcmp(json_string_value(json_object_get(job, "status")), "succeeded") == 0, "export: %s",
                  json_string_value(json_object_get(job, "last_error")));
    ck_assert_int_ge(distinct, 3);
    ck_assert_int_eq(json_integer_value(json_object_get(job, "progress")), 100);
    json_t *result = json_object_get(job, "result");
    const char *key = json_string_value(json_object_get(result, "object_key"));
    ck_assert_ptr_nonnull(key);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(result, "expires_at")));
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(result, "sha256"))), 64);
    ck_assert_int_ge(json_integer_value(json_object_get(result, "files")), 8);
    char object_path[512];
    snprintf(object_path, sizeof object_path, "%s/%s", storage_dir, key);
    struct stat sb;
    ck_assert_int_eq(stat(object_path, &sb), 0);
    ck_assert_int_eq(sb.st_size, json_integer_value(json_object_get(result, "size_bytes")));

    /* finished: the fragment answers 286 and stops polling */
    ck_assert_int_eq(request(&a, "GET", path, NULL, NULL, 0, &r), 286);
    ck_assert_ptr_null(strstr(ar_buf_cstr(&r.body), "hx-trigger"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "Download the ZIP"));
    it_response_free(&r);

    /* the download: the workspace's data and evidence, nothing of the neighbour's */
    snprintf(path, sizeof path, "/api/exports/%lld/download", id);
    ck_assert_int_eq(request(&a, "GET", path, NULL, NULL, 0, &r), 200);
    char hv[256];
    ck_assert_str_eq(it_header(&r, "Content-Type", hv, sizeof hv), "application/zip");
    ck_assert_ptr_nonnull(strstr(it_header(&r, "Content-Disposition", hv, sizeof hv), "attachment; filename=\"afterresume-export-"));
    ck_assert_uint_eq(r.body.len, (size_t)sb.st_size);
    char zip_path[64], out[4096];
    save_body(&r, zip_path);
    it_response_free(&r);
    json_t *want = json_pack("{s:[s,s],s:s,s:[s,s,s,s],s:[{s:I,s:I,s:I,s:s,s:b},{s:I,s:I,s:I,s:s,s:b},{s:I,s:I,s:I,s:s,s:b}]}", "titles",
                             "Shipped the exporter", "Planned the quarter", "username", "exporter", "absent",
                             "NEIGHBOUR-SECRET", "NEIGHBOUR-CLIENT", "neighbour@example.com", "password_hash",
                             "evidence", "entry_id", (json_int_t)ev[0].entry_id, "attachment_id",
                             (json_int_t)ev[0].attachment_id, "size", (json_int_t)ev[0].size, "sha256", ev[0].sha256,
                             "non_ascii", 1, "entry_id", (json_int_t)ev[1].entry_id, "attachment_id",
                             (json_int_t)ev[1].attachment_id, "size", (json_int_t)ev[1].size, "sha256", ev[1].sha256,
                             "non_ascii", 0, "entry_id", (json_int_t)ev[2].entry_id, "attachment_id",
                             (json_int_t)ev[2].attachment_id, "size", (json_int_t)ev[2].size, "sha256", ev[2].sha256,
                             "non_ascii", 0);
    char *want_text = json_dumps(want, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(want);
    int rc = python(zip_checker, zip_path, want_text, out, sizeof out);
    free(want_text);
    ck_assert_msg(rc == 0, "zip check: %s", out);
    unlink(zip_path);

    /* the neighbour cannot see or download it; anonymous callers are refused */
    ck_assert_int_eq(request(&b, "GET", path, NULL, NULL, 0, &r), 404);
    it_response_free(&r);
    ck_assert_int_eq(request(NULL, "GET", path, NULL, NULL, 0, &r), 401);
    it_response_free(&r);
    snprintf(path, sizeof path, "/jobs/%lld", id);
    ck_assert_int_eq(request(&b, "GET", path, NULL, NULL, 0, &r), 404);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "<html"));
    it_response_free(&r);
    ck_assert_int_eq(request(&b, "GET", "/api/exports/abc/download", NULL, NULL, 0, &r), 404);
    it_response_free(&r);
    /* a job that is not an export is not downloadable */
    long long other = it_query_long(c, "SELECT min(id) FROM jobs");
    if (other != id) {
        snprintf(path, sizeof path, "/api/exports/%lld/download", other);
        ck_assert_int_eq(request(&a, "GET", path, NULL, NULL, 0, &r), 404);
        it_response_free(&r);
    }
    /* requests and downloads are audited */
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit_events WHERE action = 'export.requested' AND actor_id = %lld AND target_id = '%lld'",
             a.user_id, id);
    ck_assert_int_ge(it_query_long(c, sql), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit_events WHERE action = 'export.downloaded' AND success AND actor_id = %lld "
             "AND target_id = '%lld'",
             a.user_id, id);
    ck_assert_int_eq(it_query_long(c, sql), 1);
    json_decref(job);
    PQfinish(c);
}
END_TEST

START_TEST(expired_export_is_gone_and_cleaned_up)
{
    client a = {0};
    signup(&a, "expiring");
    long long id = start_export(&a);
    json_t *job = wait_job(&a, id, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(job, "status")), "succeeded");
    char object_path[512];
    snprintf(object_path, sizeof object_path, "%s/%s", storage_dir,
             json_string_value(json_object_get(json_object_get(job, "result"), "object_key")));
    json_decref(job);
    ck_assert_int_eq(access(object_path, F_OK), 0);
    PGconn *c = it_pg_connect_to(db_url);
    it_exec(c, "SELECT set_config('app.bypass_rls','on',false)");
    char sql[512], path[96];
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET result = jsonb_set(result, '{expires_at}', '\"2020-01-01T00:00:00Z\"') WHERE id = %lld", id);
    it_exec(c, sql);
    it_response r;
    snprintf(path, sizeof path, "/api/exports/%lld/download", id);
    ck_assert_int_eq(request(&a, "GET", path, NULL, NULL, 0, &r), 410);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "\"gone\""));
    it_response_free(&r);
    snprintf(path, sizeof path, "/jobs/%lld", id);
    ck_assert_int_eq(request(&a, "GET", path, NULL, NULL, 0, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "has expired"));
    ck_assert_ptr_null(strstr(ar_buf_cstr(&r.body), "Download the ZIP"));
    it_response_free(&r);

    /* cleanup.exports (a system job, as the scheduler starts it) deletes the object and marks the job */
    ar_error err = {0};
    ck_assert_int_eq(ar_valkey_configure(it_valkey_url(), &err), 0);
    ar_domain_register_all();
    ar_jobs_register();
    long long cleanup = 0;
    ck_assert_msg(ar_job_enqueue_system("cleanup.exports", NULL, NULL, &cleanup, &err) == 0, "%s", err.message);
    snprintf(sql, sizeof sql, "SELECT status FROM jobs WHERE id = %lld", cleanup);
    char *st = NULL;
    for (int i = 0; i < 900; i++) { /* the wake-up is immediate; the reconciler (30 s) is the fallback */
        free(st);
        st = it_query_value(c, sql);
        if (st && (strcmp(st, "succeeded") == 0 || strcmp(st, "failed") == 0)) break;
        usleep(50 * 1000);
    }
    ck_assert_msg(strcmp(st, "succeeded") == 0, "cleanup job %lld: %s", cleanup, st);
    free(st);
    ck_assert_int_ne(access(object_path, F_OK), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE id = %lld AND result ? 'deleted_at'", id);
    ck_assert_int_eq(it_query_long(c, sql), 1);
    snprintf(sql, sizeof sql, "SELECT (result->>'deleted')::int FROM jobs WHERE id = %lld", cleanup);
    ck_assert_int_ge(it_query_long(c, sql), 1);
    snprintf(path, sizeof path, "/api/exports/%lld/download", id);
    ck_assert_int_eq(request(&a, "GET", path, NULL, NULL, 0, &r), 410);
    it_response_free(&r);
    ar_valkey_thread_close();
    PQfinish(c);
}
END_TEST

START_TEST(cancelled_export_leaves_nothing_behind)
{
    client a = {0};
    signup(&a, "canceller");
    long long id = start_export(&a);
    char path[96];
    snprintf(path, sizeof path, "/api/jobs/%lld/cancel/", id);
    it_response r;
    usleep(300 * 1000); /* usually running by now (each step waits 250 ms); queued works too */
    ck_assert_int_eq(request(&a, "POST", path, NULL, NULL, 1, &r), 200);
    it_response_free(&r);
    json_t *job = wait_job(&a, id, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(job, "status")), "cancelled");
    ck_assert(json_is_null(json_object_get(job, "result")));
    json_decref(job);
    /* no archive of this workspace in storage, finished or half-written */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test -z \"$(find '%s' -type f -path '*t/%lld/exp/*' 2>/dev/null)\"", storage_dir, a.tenant_id);
    ck_assert_msg(system(cmd) == 0, "an export object was left behind");
    snprintf(cmd, sizeof cmd, "test -z \"$(find '%s/.tmp' -type f 2>/dev/null)\"", storage_dir);
    ck_assert_msg(system(cmd) == 0, "a temp file was left behind");
    snprintf(path, sizeof path, "/api/exports/%lld/download", id);
    ck_assert_int_eq(request(&a, "GET", path, NULL, NULL, 0, &r), 409);
    it_response_free(&r);
}
END_TEST

START_TEST(job_pages_list_filter_and_act)
{
    client a = {0};
    signup(&a, "pageuser");
    it_response r;
    /* the button: a form POST with the CSRF token field, then the job's page */
    char form[160];
    snprintf(form, sizeof form, "csrf_token=%s", a.csrf);
    ck_assert_int_eq(request(&a, "POST", "/jobs/export", form, "application/x-www-form-urlencoded", 0, &r), 303);
    char loc[128];
    ck_assert_ptr_nonnull(it_header(&r, "Location", loc, sizeof loc));
    ck_assert_int_eq(strncmp(loc, "/jobs/", 6), 0);
    long long id = atoll(loc + 6);
    ck_assert_int_gt(id, 0);
    it_response_free(&r);
    ck_assert_int_eq(request(&a, "POST", "/jobs/export", "csrf_token=wrong", "application/x-www-form-urlencoded", 0, &r),
                     403);
    it_response_free(&r);
    ck_assert_int_eq(request(&a, "GET", loc, NULL, NULL, 0, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "Account export"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "Timeline"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "id=\"job-live\""));
    it_response_free(&r);
    json_decref(wait_job(&a, id, NULL));

    ck_assert_int_eq(request(&a, "GET", "/settings", NULL, NULL, 0, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "href=\"/jobs#export-account\""));
    it_response_free(&r);
    ck_assert_int_eq(request(&a, "GET", "/jobs", NULL, NULL, 0, &r), 200);
    const char *html = ar_buf_cstr(&r.body);
    ck_assert_ptr_nonnull(strstr(html, "Export my account"));
    ck_assert_ptr_nonnull(strstr(html, "Account export"));
    ck_assert_ptr_nonnull(strstr(html, "/download\""));
    ck_assert_ptr_nonnull(strstr(html, "href=\"/jobs\" aria-current=\"page\""));
    ck_assert_ptr_nonnull(strstr(html, a.csrf));
    it_response_free(&r);
    ck_assert_int_eq(request(&a, "GET", "/jobs?status=succeeded", NULL, NULL, 0, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "Account export"));
    it_response_free(&r);
    ck_assert_int_eq(request(&a, "GET", "/jobs?status=failed", NULL, NULL, 0, &r), 200);
    ck_assert_ptr_null(strstr(ar_buf_cstr(&r.body), "Account export"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "No jobs with status failed"));
    it_response_free(&r);
    ck_assert_int_eq(request(&a, "GET", "/jobs?status=bogus", NULL, NULL, 0, &r), 400);
    it_response_free(&r);
    ck_assert_int_eq(request(&a, "GET", "/jobs?before=-3", NULL, NULL, 0, &r), 400);
    it_response_free(&r);
    ck_assert_int_eq(request(&a, "GET", "/jobs/99999999", NULL, NULL, 0, &r), 404);
    it_response_free(&r);
    ck_assert_int_eq(request(&a, "GET", "/jobs/0/progress", NULL, NULL, 0, &r), 404);
    it_response_free(&r);
    /* cancelling a finished job: 409; a plain member is refused the staff page */
    char path[64];
    snprintf(path, sizeof path, "/jobs/%lld/cancel", id);
    ck_assert_int_eq(request(&a, "POST", path, form, "application/x-www-form-urlencoded", 0, &r), 409);
    it_response_free(&r);
    ck_assert_int_eq(request(&a, "GET", "/admin/jobs", NULL, NULL, 0, &r), 403);
    it_response_free(&r);
    /* the status bar links to the running jobs */
    ck_assert_int_eq(request(&a, "GET", "/status/bar", NULL, NULL, 0, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "href=\"/jobs?status=running\""));
    it_response_free(&r);
}
END_TEST

START_TEST(staff_page_filters_retries_and_cancels)
{
    client a = {0}, staff = {0};
    signup(&a, "failer");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sh -c \"printf 'staff password 123' | DATABASE_URL='%s' AR_ENV_FILE=/nonexistent %s "
                              "admin create-user --username jobstaff --email jobstaff@example.com --staff --password-stdin >/dev/null\"",
             db_url, it_binary());
    ck_assert_int_eq(system(cmd), 0);
    it_response r;
    ck_assert_int_eq(request(&staff, "POST", "/api/auth/login/", "{\"username\":\"jobstaff\",\"password\":\"staff password 123\"}",
                             NULL, 0, &r),
                     200);
    const char *p = strcasestr(ar_buf_cstr(&r.headers), "Set-Cookie: ar_session=") + strlen("Set-Cookie: ");
    size_t len = strcspn(p, ";\r\n");
    memcpy(staff.cookie, p, len);
    json_t *j = body_json(&r);
    snprintf(staff.csrf, sizeof staff.csrf, "%s", json_string_value(json_object_get(j, "csrf_token")));
    json_decref(j);
    it_response_free(&r);
    /* a failed job and a queued one in a's workspace */
    PGconn *c = it_pg_connect_to(db_url);
    it_exec(c, "SELECT set_config('app.bypass_rls','on',false)");
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO jobs (tenant_id, user_id, type, status, attempts, last_error, finished_at) VALUES "
             "(%lld, %lld, 'noop', 'failed', 3, 'noop: planned failure', now()) RETURNING id",
             a.tenant_id, a.user_id);
    long long failed = it_query_long(c, sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO jobs (tenant_id, user_id, type, status, next_run_at) VALUES "
             "(%lld, %lld, 'noop', 'queued', now() + interval '1 day') RETURNING id",
             a.tenant_id, a.user_id);
    long long queued = it_query_long(c, sql);

    ck_assert_int_eq(request(&staff, "GET", "/admin/jobs?status=failed", NULL, NULL, 0, &r), 200);
    const char *html = ar_buf_cstr(&r.body);
    char row[64];
    snprintf(row, sizeof row, "id=\"job-%lld\"", failed);
    ck_assert_ptr_nonnull(strstr(html, row));
    snprintf(row, sizeof row, "id=\"job-%lld\"", queued);
    ck_assert_ptr_null(strstr(html, row));
    ck_assert_ptr_nonnull(strstr(html, "value=\"retry\""));
    ck_assert_ptr_nonnull(strstr(html, "aria-current=\"page\">Jobs"));
    it_response_free(&r);
    ck_assert_int_eq(request(&staff, "GET", "/admin/jobs?type=noop&status=queued", NULL, NULL, 0, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), row));
    it_response_free(&r);
    ck_assert_int_eq(request(&staff, "GET", "/admin/jobs?type=export.account&status=queued", NULL, NULL, 0, &r), 200);
    ck_assert_ptr_null(strstr(ar_buf_cstr(&r.body), row));
    it_response_free(&r);
    ck_assert_int_eq(request(&staff, "GET", "/admin/jobs?type=Bad%20Type!", NULL, NULL, 0, &r), 400);
    it_response_free(&r);

    /* retry the failed job (it runs and succeeds), cancel the queued one */
    char form[256], path[64];
    snprintf(form, sizeof form, "csrf_token=%s&action=retry&back=%%2Fadmin%%2Fjobs%%3Fstatus%%3Dfailed", staff.csrf);
    snprintf(path, sizeof path, "/admin/jobs/%lld", failed);
    ck_assert_int_eq(request(&staff, "POST", path, form, "application/x-www-form-urlencoded", 0, &r), 303);
    char loc[128];
    ck_assert_str_eq(it_header(&r, "Location", loc, sizeof loc), "/admin/jobs?status=failed");
    it_response_free(&r);
    ck_assert_int_eq(request(&staff, "POST", path, form, "application/x-www-form-urlencoded", 0, &r), 409);
    it_response_free(&r);
    snprintf(form, sizeof form, "csrf_token=%s&action=cancel&back=https%%3A%%2F%%2Fevil.example%%2F", staff.csrf);
    snprintf(path, sizeof path, "/admin/jobs/%lld", queued);
    ck_assert_int_eq(request(&staff, "POST", path, form, "application/x-www-form-urlencoded", 0, &r), 303);
    ck_assert_str_eq(it_header(&r, "Location", loc, sizeof loc), "/admin/jobs");
    it_response_free(&r);
    snprintf(form, sizeof form, "csrf_token=%s&action=explode", staff.csrf);
    ck_assert_int_eq(request(&staff, "POST", path, form, "application/x-www-form-urlencoded", 0, &r), 422);
    it_response_free(&r);
    snprintf(sql, sizeof sql, "SELECT status FROM jobs WHERE id = %lld", queued);
    char *st = it_query_value(c, sql);
    ck_assert_str_eq(st, "cancelled");
    free(st);
    snprintf(sql, sizeof sql, "SELECT status FROM jobs WHERE id = %lld", failed);
    st = NULL;
    for (int i = 0; i < 100; i++) {
        free(st);
        st = it_query_value(c, sql);
        if (strcmp(st, "succeeded") == 0) break;
        usleep(50 * 1000);
    }
    ck_assert_str_eq(st, "succeeded");
    free(st);
    PQfinish(c);
}
END_TEST

START_TEST(browser_export_from_the_page)
{
    char *key = mint_passkey();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "node tests/e2e/export.mjs %s %s /tmp", d.base_url, key);
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "browser export flow failed (exit %d)", rc);
    free(key);
}
END_TEST

Suite *exports_suite(void)
{
    Suite *s = suite_create("exports");
    TCase *tc = tcase_create("exports");
    tcase_set_timeout(tc, 180);
    tcase_add_unchecked_fixture(tc, start, stop);
    tcase_add_test(tc, export_runs_progresses_and_holds_only_the_workspace);
    tcase_add_test(tc, expired_export_is_gone_and_cleaned_up);
    tcase_add_test(tc, cancelled_export_leaves_nothing_behind);
    tcase_add_test(tc, job_pages_list_filter_and_act);
    tcase_add_test(tc, staff_page_filters_retries_and_cancels);
    tcase_add_test(tc, browser_export_from_the_page);
    suite_add_tcase(s, tc);
    return s;
}
