/* test_attachments.c — evidence over HTTP against the real daemon, PostgreSQL and two storage backends (a local
 * directory, and npm s3rver started here like test_s3.c does): upload → download gives identical bytes and the
 * same SHA-256; extension and content must agree (a .pdf that is a PNG is refused; text must be UTF-8 without
 * NUL; docx/xlsx are recognised); limits (413 mid-stream for an 11 MiB image, 413 from Content-Length before any
 * byte is read); quota (409, nothing left behind); other tenants' entries answer 404; read-only members and
 * requests without a CSRF token are refused before the body is read; delete removes row and object; a body cut
 * off mid-upload leaves neither row nor object; audit events; the browser test (tests/e2e/evidence.mjs). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "afterresume/clients/s3.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/zip.h"
#include "daemon.h"
#include "harness.h"

#define BOUNDARY "----arTestBoundary7MA4YWxkTrZu0gW"
#define S3_BUCKET "ar-evidence-it"

static it_daemon d;          /* local backend */
static it_daemon d3;         /* s3 backend */
static int d3_started;
static char *db_url;
static char env_db[1024];
static char objects_dir[64];
static char env_dir[128];

/* ---- s3rver (as in test_s3.c) ------------------------------------------------------------------------ */
static pid_t s3rver_pid = -1;
static int s3rver_port;
static char s3rver_dir[64];
static char s3rver_endpoint[64];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int port_open(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    if (s >= 0) close(s);
    return ok;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path); /* keep going: s3rver may still be removing its own files */
    return 0;
}

static int s3rver_start(void)
{
    snprintf(s3rver_dir, sizeof s3rver_dir, "/tmp/ar_ev_s3rver_XXXXXX");
    if (!mkdtemp(s3rver_dir)) return -1;
    s3rver_port = it_free_port();
    snprintf(s3rver_endpoint, sizeof s3rver_endpoint, "http://127.0.0.1:%d", s3rver_port);
    char port_arg[16];
    snprintf(port_arg, sizeof port_arg, "%d", s3rver_port);
    fflush(NULL);
    s3rver_pid = fork();
    if (s3rver_pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
        execlp("node", "node", "tests/fakes/s3rver.mjs", port_arg, s3rver_dir, (char *)NULL);
        _exit(127);
    }
    double deadline = now_s() + 20;
    while (now_s() < deadline) {
        if (port_open(s3rver_port)) return 0;
        int status;
        if (waitpid(s3rver_pid, &status, WNOHANG) == s3rver_pid) {
            s3rver_pid = -1;
            return -1;
        }
        usleep(50 * 1000);
    }
    return -1;
}

static void s3rver_stop(void)
{
    if (s3rver_pid > 0) {
        kill(s3rver_pid, SIGTERM);
        int status;
        double deadline = now_s() + 5;
        while (waitpid(s3rver_pid, &status, WNOHANG) == 0) {
            if (now_s() > deadline) {
                kill(s3rver_pid, SIGKILL);
                waitpid(s3rver_pid, &status, 0);
                break;
            }
            usleep(20 * 1000);
        }
        s3rver_pid = -1;
    }
    if (s3rver_dir[0]) nftw(s3rver_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- fixture ------------------------------------------------------------------------------------------- */

static void world_setup(void);
static char s3_problem[600];
static pid_t fixture_pid;

/* If the fixture itself fails (Check runs no teardown then), the processes it started must not outlive the
 * runner: SIGTERM them at exit — from the runner process only, never from a forked test. */
static void kill_leftovers(void)
{
    if (getpid() != fixture_pid) return;
    if (d3.pid > 0) kill(d3.pid, SIGTERM);
    if (d.pid > 0) kill(d.pid, SIGTERM);
    if (s3rver_pid > 0) kill(s3rver_pid, SIGTERM);
}

/* Both daemons and s3rver start here, in the runner process, so that every (forked) test shares them and the
 * teardown can stop them. */
static void start(void)
{
    fixture_pid = getpid();
    atexit(kill_leftovers);
    db_url = it_migrated_db();
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    snprintf(objects_dir, sizeof objects_dir, "/tmp/ar_ev_objects_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(objects_dir));
    snprintf(env_dir, sizeof env_dir, "AR_STORAGE_DIR=%s", objects_dir);
    const char *env[] = {env_db, "AR_STORAGE=local", env_dir, "AR_RATE_LIMIT_SIGNUP_IP=1000/300",
                         "AR_RATE_LIMIT_PASSKEY_IP=1000/300", "AR_RATE_LIMIT_SIGNIN_IP=1000/300", NULL};
    ck_assert_msg(it_daemon_start(&d, env) == 0, "daemon did not start; see %s", d.log_path);

    /* the S3 backend: s3rver, its bucket, a second daemon on the same database */
    ar_error err = {0};
    if (s3rver_start() != 0) {
        snprintf(s3_problem, sizeof s3_problem, "s3rver did not start (node tests/fakes/s3rver.mjs; npm ci?)");
    } else {
        ar_s3 *s3 = ar_s3_new(s3rver_endpoint, "us-east-1", S3_BUCKET, "S3RVER", "S3RVER", &err);
        if (!s3 || ar_s3_create_bucket(s3, &err) != 0)
            snprintf(s3_problem, sizeof s3_problem, "bucket: %s", err.message);
        ar_s3_free(s3);
        ar_error_clear(&err);
        static char e1[128];
        snprintf(e1, sizeof e1, "S3_ENDPOINT=%s", s3rver_endpoint);
        const char *env3[] = {env_db, "AR_STORAGE_BACKEND=s3", e1, "S3_BUCKET=" S3_BUCKET, "S3_ACCESS_KEY=S3RVER",
                              "S3_SECRET_KEY=S3RVER", "S3_REGION=us-east-1", NULL};
        if (!s3_problem[0] && it_daemon_start(&d3, env3) != 0)
            snprintf(s3_problem, sizeof s3_problem, "s3 daemon did not start; see %s", d3.log_path);
        else if (!s3_problem[0])
            d3_started = 1;
    }
    world_setup(); /* before the tests fork: every test sees the same users and entry */
}

static void stop(void)
{
    if (d3_started && d3.pid > 0) it_daemon_stop(&d3);
    if (d.pid > 0) it_daemon_stop(&d);
    s3rver_stop();
    if (objects_dir[0]) nftw(objects_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- helpers ------------------------------------------------------------------------------------------- */

static char *cli(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "DATABASE_URL='%s' AR_ENV_FILE=/nonexistent %s %s 2>/dev/null", db_url, it_binary(), args);
    FILE *p = popen(cmd, "r");
    ar_buf out = AR_BUF_INIT;
    char chunk[512];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) ar_buf_append(&out, chunk, n);
    ck_assert_int_eq(pclose(p), 0);
    char *s = ar_buf_steal(&out);
    s[strcspn(s, "\r\n")] = '\0';
    return s;
}

typedef struct user {
    char name[32];
    char cookie[200];
    char csrf[100];
    char token[128];
    long long tenant_id, user_id;
} user;

static json_t *body_json(it_response *r)
{
    json_error_t e;
    json_t *j = json_loads(ar_buf_cstr(&r->body), 0, &e);
    ck_assert_msg(j != NULL, "not JSON (%ld): %s", r->status, ar_buf_cstr(&r->body));
    return j;
}

static long call(const it_daemon *dm, const char *method, const char *path, const char *const *headers,
                 const char *body, size_t len, it_response *r)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", dm->base_url, path);
    ck_assert_int_eq(it_http(method, url, headers, body, len, r), 0);
    return r->status;
}

static void signup(user *u, const char *name)
{
    char *key = cli("admin mint-passkey");
    snprintf(u->name, sizeof u->name, "%s", name);
    char json[512];
    snprintf(json, sizeof json,
             "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"correct horse battery\",\"passkey\":\"%s\"}",
             name, name, key);
    free(key);
    const char *h[] = {"Content-Type: application/json", NULL};
    it_response r;
    ck_assert_int_eq(call(&d, "POST", "/api/auth/signup/", h, json, strlen(json), &r), 201);
    const char *p = strcasestr(ar_buf_cstr(&r.headers), "Set-Cookie: ar_session=");
    ck_assert_ptr_nonnull(p);
    p += strlen("Set-Cookie: ");
    size_t n = strcspn(p, ";\r\n");
    memcpy(u->cookie, p, n);
    u->cookie[n] = '\0';
    json_t *j = body_json(&r);
    snprintf(u->csrf, sizeof u->csrf, "%s", json_string_value(json_object_get(j, "csrf_token")));
    u->user_id = json_integer_value(json_object_get(json_object_get(j, "user"), "id"));
    json_decref(j);
    it_response_free(&r);
    /* a write token for the API calls */
    char cookie[256], csrf[160];
    snprintf(cookie, sizeof cookie, "Cookie: %s", u->cookie);
    snprintf(csrf, sizeof csrf, "X-CSRF-Token: %s", u->csrf);
    const char *h2[] = {"Content-Type: application/json", cookie, csrf, NULL};
    const char *tj = "{\"name\":\"evidence\",\"scope\":\"write\"}";
    ck_assert_int_eq(call(&d, "POST", "/api/tokens/", h2, tj, strlen(tj), &r), 201);
    j = body_json(&r);
    snprintf(u->token, sizeof u->token, "%s", json_string_value(json_object_get(j, "token")));
    json_decref(j);
    it_response_free(&r);
    char auth[200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", u->token);
    const char *h3[] = {auth, NULL};
    ck_assert_int_eq(call(&d, "GET", "/api/me/", h3, NULL, 0, &r), 200);
    j = body_json(&r);
    u->tenant_id = json_integer_value(json_object_get(json_object_get(j, "tenant"), "id"));
    json_decref(j);
    it_response_free(&r);
    ck_assert_int_gt(u->tenant_id, 0);
}

static char *db_text(const char *sql);

/* Entries are made in SQL (the worklog API has its own suite): owned by u, in u's tenant. */
static long long create_entry(const user *u, const char *visibility)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO worklog_entries (tenant_id, author_id, occurred_on, title, content, visibility) "
             "VALUES (%lld, %lld, '2026-11-02', 'Shipped the thing', 'Details.', '%s') RETURNING id",
             u->tenant_id, u->user_id, visibility);
    char *id = db_text(sql);
    ck_assert_ptr_nonnull(id);
    long long v = atoll(id);
    free(id);
    ck_assert_int_gt(v, 0);
    return v;
}

/* multipart/form-data with an optional description and one file. */
static void multipart(ar_buf *b, const char *description, const char *filename, const void *data, size_t len)
{
    if (description)
        ar_buf_printf(b, "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n%s\r\n",
                      description);
    ar_buf_puts(b, "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"");
    for (const char *p = filename; *p; p++) { /* quoted-string: escape '"' and '\\' */
        if (*p == '"' || *p == '\\') ar_buf_putc(b, '\\');
        ar_buf_putc(b, *p);
    }
    ar_buf_puts(b, "\"\r\nContent-Type: application/octet-stream\r\n\r\n");
    ar_buf_append(b, data, len);
    ar_buf_puts(b, "\r\n--" BOUNDARY "--\r\n");
}

static long upload(const it_daemon *dm, const user *u, long long entry, const char *filename, const void *data,
                   size_t len, it_response *r)
{
    ar_buf b = AR_BUF_INIT;
    multipart(&b, "proof", filename, data, len);
    char auth[200], path[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", u->token);
    snprintf(path, sizeof path, "/api/worklogs/%lld/attachments/", entry);
    const char *h[] = {auth, "Content-Type: multipart/form-data; boundary=" BOUNDARY, NULL};
    long st = call(dm, "POST", path, h, b.data, b.len, r);
    ar_buf_free(&b);
    return st;
}

static long get_as(const it_daemon *dm, const user *u, const char *method, const char *path, it_response *r)
{
    char auth[200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", u->token);
    const char *h[] = {auth, NULL};
    return call(dm, method, path, h, NULL, 0, r);
}

static void sha_hex(const void *data, size_t len, char out[65])
{
    unsigned char dg[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(dg, data, len);
    sodium_bin2hex(out, 65, dg, sizeof dg);
}

static unsigned char *random_bytes(size_t len, const char *magic, size_t magic_len)
{
    unsigned char *p = ar_malloc(len);
    randombytes_buf(p, len);
    memcpy(p, magic, magic_len);
    return p;
}

static int object_files;
static int count_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_F) object_files++;
    (void)path;
    return 0;
}

/* Regular files under a directory. */
static int count_files_under(const char *dir)
{
    object_files = 0;
    nftw(dir, count_file, 16, FTW_PHYS);
    return object_files;
}

/* Regular files under the local objects directory (the temp area included). */
static int count_objects(void)
{
    return count_files_under(objects_dir);
}

static long db_long(const char *sql)
{
    PGconn *c = it_pg_connect_to(db_url);
    it_exec(c, "SELECT set_config('app.bypass_rls','on',false)");
    long v = it_query_long(c, sql);
    PQfinish(c);
    return v;
}

static char *db_text(const char *sql)
{
    PGconn *c = it_pg_connect_to(db_url);
    it_exec(c, "SELECT set_config('app.bypass_rls','on',false)");
    char *v = it_query_value(c, sql);
    PQfinish(c);
    return v;
}

static void db_exec(const char *sql)
{
    PGconn *c = it_pg_connect_to(db_url);
    it_exec(c, "SELECT set_config('app.bypass_rls','on',false)");
    it_exec(c, sql);
    PQfinish(c);
}

/* Upload, then download and compare bytes + SHA-256; returns the attachment id. */
static long long round_trip(const it_daemon *dm, const user *u, long long entry, const char *filename,
                            const unsigned char *data, size_t len, const char *want_mime)
{
    it_response r;
    long st = upload(dm, u, entry, filename, data, len, &r);
    ck_assert_msg(st == 201, "upload %s: %ld %s", filename, st, ar_buf_cstr(&r.body));
    json_t *j = body_json(&r);
    json_t *att = json_array_get(json_object_get(j, "attachments"), 0);
    ck_assert_ptr_nonnull(att);
    char want[65];
    sha_hex(data, len, want);
    ck_assert_str_eq(json_string_value(json_object_get(att, "sha256")), want);
    ck_assert_int_eq(json_integer_value(json_object_get(att, "size_bytes")), (long long)len);
    ck_assert_str_eq(json_string_value(json_object_get(att, "filename")), filename);
    ck_assert_str_eq(json_string_value(json_object_get(att, "mime_type")), want_mime);
    ck_assert_str_eq(json_string_value(json_object_get(att, "description")), "proof");
    long long id = json_integer_value(json_object_get(att, "id"));
    char url[128];
    snprintf(url, sizeof url, "%s", json_string_value(json_object_get(att, "download_url")));
    json_decref(j);
    it_response_free(&r);

    ck_assert_int_eq(get_as(dm, u, "GET", url, &r), 200);
    ck_assert_uint_eq(r.body.len, len);
    ck_assert(memcmp(r.body.data, data, len) == 0);
    char got[65], hdr[512];
    sha_hex(r.body.data, r.body.len, got);
    ck_assert_str_eq(got, want);
    ck_assert_ptr_nonnull(it_header(&r, "X-Checksum-SHA256", hdr, sizeof hdr));
    ck_assert_str_eq(hdr, want);
    ck_assert_ptr_nonnull(it_header(&r, "Content-Disposition", hdr, sizeof hdr));
    ck_assert(strncmp(hdr, "attachment; filename=\"", 22) == 0);
    ck_assert_ptr_nonnull(it_header(&r, "Content-Type", hdr, sizeof hdr));
    ck_assert_str_eq(hdr, want_mime);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.headers), "sandbox"));
    it_response_free(&r);
    return id;
}

/* ---- tests ----------------------------------------------------------------------------------------------- */

static user alice, bob;
static long long alice_entry;

static void world_setup(void)
{
    signup(&alice, "alice");
    signup(&bob, "bob");
    alice_entry = create_entry(&alice, "private");
}

START_TEST(upload_download_round_trip_local)
{
    size_t len = 3 * 1024 * 1024 + 17; /* several MHD chunks and a few writer writes */
    unsigned char *pdf = random_bytes(len, "%PDF-1.7\n", 9);
    long long id = round_trip(&d, &alice, alice_entry, "Résumé \"final\".pdf", pdf, len, "application/pdf");
    free(pdf);

    /* the key: tenant id and a random id, never the filename; the file is there */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT object_key FROM attachments WHERE id = %lld", id);
    char *key = db_text(sql);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "t/%lld/att/", alice.tenant_id);
    ck_assert_msg(strncmp(key, prefix, strlen(prefix)) == 0, "key %s", key);
    ck_assert_ptr_null(strcasestr(key, "sum"));
    char path[512];
    snprintf(path, sizeof path, "%s/%s", objects_dir, key);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_size, (long long)len);
    free(key);
    snprintf(sql, sizeof sql, "SELECT attachment_count FROM worklog_entries WHERE id = %lld", alice_entry);
    ck_assert_int_eq(db_long(sql), 1);
    snprintf(sql, sizeof sql, "SELECT used_bytes FROM tenant_storage WHERE tenant_id = %lld", alice.tenant_id);
    ck_assert_int_eq(db_long(sql), (long)len);

    /* the filename is encoded safely in the header */
    it_response r;
    char url[96], hdr[512];
    snprintf(url, sizeof url, "/api/attachments/%lld/download", id);
    ck_assert_int_eq(get_as(&d, &alice, "GET", url, &r), 200);
    it_header(&r, "Content-Disposition", hdr, sizeof hdr);
    ck_assert_str_eq(hdr, "attachment; filename=\"R_sum_ _final_.pdf\"; "
                          "filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.pdf");
    it_response_free(&r);

    /* list */
    snprintf(url, sizeof url, "/api/worklogs/%lld/attachments/", alice_entry);
    ck_assert_int_eq(get_as(&d, &alice, "GET", url, &r), 200);
    json_t *j = body_json(&r);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "attachments")), 1);
    ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(j, "attachments"), 0), "object_key"));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "usage"), "used_bytes")), (long long)len);
    json_decref(j);
    it_response_free(&r);

    /* audit: one upload, two downloads */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit_events WHERE action = 'attachment.uploaded' AND target_id = '%lld'", id);
    ck_assert_int_eq(db_long(sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit_events WHERE action = 'attachment.downloaded' AND target_id = '%lld'", id);
    ck_assert_int_eq(db_long(sql), 2);
}
END_TEST

START_TEST(types_must_agree)
{
    int before = count_objects();
    long rows = db_long("SELECT count(*) FROM attachments");
    static const unsigned char png_magic[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char *png = random_bytes(40000, (const char *)png_magic, sizeof png_magic);
    it_response r;
    /* a .pdf that is really a PNG */
    ck_assert_int_eq(upload(&d, &alice, alice_entry, "report.pdf", png, 40000, &r), 415);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "expected pdf, found png"));
    it_response_free(&r);
    /* text with a NUL, an executable, no extension */
    ck_assert_int_eq(upload(&d, &alice, alice_entry, "notes.txt", "abc\0def", 7, &r), 415);
    it_response_free(&r);
    ck_assert_int_eq(upload(&d, &alice, alice_entry, "tool.exe", "MZ\x90\0", 4, &r), 415);
    it_response_free(&r);
    ck_assert_int_eq(upload(&d, &alice, alice_entry, "bundle.zip", "PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22, &r),
                     415); /* zip is off by default */
    it_response_free(&r);
    ck_assert_int_eq(upload(&d, &alice, alice_entry, "empty.txt", "", 0, &r), 400);
    it_response_free(&r);
    ck_assert_int_eq(count_objects(), before);
    ck_assert_int_eq(db_long("SELECT count(*) FROM attachments"), rows);
    ck_assert_int_ge(db_long("SELECT count(*) FROM audit_events WHERE action = 'attachment.upload_refused'"), 4);

    /* the real thing is accepted: png, csv (UTF-8), a docx built by the ZIP writer */
    round_trip(&d, &alice, alice_entry, "shot.png", png, 40000, "image/png");
    free(png);
    const char *csv = "name,value\r\nna\xc3\xafve,1\r\n";
    round_trip(&d, &alice, alice_entry, "data.csv", (const unsigned char *)csv, strlen(csv), "text/csv; charset=utf-8");
    FILE *f = tmpfile();
    ar_zip *z = ar_zip_new_file(f);
    ar_error err = {0};
    ck_assert_int_eq(ar_zip_add(z, "[Content_Types].xml", "<Types/>", 8, 0, &err), 0);
    ck_assert_int_eq(ar_zip_add(z, "word/document.xml", "<w:document/>", 13, 0, &err), 0);
    uint64_t total = 0;
    ck_assert_int_eq(ar_zip_close(z, &total, &err), 0);
    unsigned char *docx = ar_malloc(total);
    rewind(f);
    ck_assert_uint_eq(fread(docx, 1, total, f), total);
    fclose(f);
    round_trip(&d, &alice, alice_entry, "cv.docx", docx, total,
               "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
    it_response r2;
    ck_assert_int_eq(upload(&d, &alice, alice_entry, "cv.xlsx", docx, total, &r2), 415); /* a docx named .xlsx */
    it_response_free(&r2);
    free(docx);
}
END_TEST

/* A raw HTTP exchange: send `head` (+ `body_len` bytes of body, possibly fewer than announced), read the answer
 * (status line) unless close_early. */
static int raw_request(int port, const char *head, const char *body, size_t body_len, int close_early, char *status,
                       size_t status_size)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(send(s, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
    size_t sent = 0;
    while (sent < body_len) {
        ssize_t n = send(s, body + sent, body_len - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += (size_t)n;
    }
    if (close_early) {
        close(s);
        return 0;
    }
    struct timeval tv = {10, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = recv(s, status, status_size - 1, 0);
    status[n > 0 ? n : 0] = '\0';
    close(s);
    return n > 0 ? 0 : -1;
}

/* A document exactly at the 50 MiB limit goes through; prints the measured upload and download rates. */
START_TEST(largest_document_round_trip)
{
    size_t len = 50 * 1024 * 1024;
    unsigned char *pdf = random_bytes(len + 1, "%PDF-1.7\n", 9);
    int before = count_objects();
    double t0 = now_s();
    it_response r;
    ck_assert_int_eq(upload(&d, &alice, alice_entry, "max.pdf", pdf, len, &r), 201);
    double t1 = now_s();
    json_t *j = body_json(&r);
    long long id = json_integer_value(json_object_get(json_array_get(json_object_get(j, "attachments"), 0), "id"));
    json_decref(j);
    it_response_free(&r);
    char url[96];
    snprintf(url, sizeof url, "/api/attachments/%lld/download", id);
    double t2 = now_s();
    ck_assert_int_eq(get_as(&d, &alice, "GET", url, &r), 200);
    double t3 = now_s();
    ck_assert_uint_eq(r.body.len, len);
    ck_assert(memcmp(r.body.data, pdf, len) == 0);
    it_response_free(&r);
    fprintf(stderr, "figure: 50 MiB evidence upload %.0f ms (%.0f MiB/s), download %.0f ms (%.0f MiB/s), local backend\n",
            (t1 - t0) * 1000, 50 / (t1 - t0), (t3 - t2) * 1000, 50 / (t3 - t2));
    snprintf(url, sizeof url, "/api/worklogs/%lld/attachments/%lld/", alice_entry, id);
    ck_assert_int_eq(get_as(&d, &alice, "DELETE", url, &r), 204);
    it_response_free(&r);
    /* one byte more is refused, and nothing stays behind */
    ck_assert_int_eq(upload(&d, &alice, alice_entry, "over.pdf", pdf, len + 1, &r), 413);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "50 MiB limit for documents"));
    it_response_free(&r);
    free(pdf);
    ck_assert_int_eq(count_objects(), before);
}
END_TEST

START_TEST(limits_answer_413)
{
    int before = count_objects();
    long rows = db_long("SELECT count(*) FROM attachments");
    /* an image over 10 MiB: refused mid-stream */
    size_t len = 10 * 1024 * 1024 + 1;
    static const unsigned char png_magic[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char *png = random_bytes(len, (const char *)png_magic, sizeof png_magic);
    it_response r;
    ck_assert_int_eq(upload(&d, &alice, alice_entry, "huge.png", png, len, &r), 413);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "10 MiB limit for images"));
    it_response_free(&r);
    free(png);
    /* a body announced over the ceiling: 413 before a byte is read */
    char head[1024], reply[2048];
    snprintf(head, sizeof head,
             "POST /api/worklogs/%lld/attachments/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\nContent-Length: 104857600\r\n\r\n",
             alice_entry, alice.token);
    ck_assert_int_eq(raw_request(d.port, head, NULL, 0, 0, reply, sizeof reply), 0);
    ck_assert_msg(strncmp(reply, "HTTP/1.1 413", 12) == 0, "reply: %.80s", reply);
    ck_assert_int_eq(count_objects(), before);
    ck_assert_int_eq(db_long("SELECT count(*) FROM attachments"), rows);
}
END_TEST

START_TEST(quota_exceeded_leaves_nothing)
{
    long long entry = create_entry(&alice, "team");
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE tenant_storage SET quota_bytes = used_bytes + 150000 WHERE tenant_id = %lld",
             alice.tenant_id);
    db_exec(sql);
    int before = count_objects();
    long rows = db_long("SELECT count(*) FROM attachments");
    unsigned char *pdf = random_bytes(400000, "%PDF-1.4\n", 9);
    it_response r;
    ck_assert_int_eq(upload(&d, &alice, entry, "big.pdf", pdf, 400000, &r), 409); /* refused from Content-Length */
    json_t *j = body_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")), "storage_quota_exceeded");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
                                 "Storage quota exceeded"));
    json_decref(j);
    it_response_free(&r);
    /* 120 000 bytes fit; then 40 000 pass the Content-Length pre-check (which allows for multipart overhead) but
     * not the byte count while streaming: refused mid-stream, its object removed */
    ck_assert_int_eq(upload(&d, &alice, entry, "fits.pdf", pdf, 120000, &r), 201);
    it_response_free(&r);
    ck_assert_int_eq(upload(&d, &alice, entry, "second.pdf", pdf, 40000, &r), 409);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "storage_quota_exceeded"));
    it_response_free(&r);
    free(pdf);
    ck_assert_int_eq(count_objects(), before + 1);
    ck_assert_int_eq(db_long("SELECT count(*) FROM attachments"), rows + 1);
    snprintf(sql, sizeof sql, "UPDATE tenant_storage SET quota_bytes = NULL WHERE tenant_id = %lld", alice.tenant_id);
    db_exec(sql);
}
END_TEST

/* Two uploads at once that each fit the quota but not together: exactly one is recorded, the other answers 409
 * and its object is deleted again (the workspace's usage row is locked while the rows are written). */
START_TEST(concurrent_uploads_respect_the_quota)
{
    long long entry = create_entry(&alice, "private");
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE tenant_storage SET quota_bytes = used_bytes + 150000 WHERE tenant_id = %lld",
             alice.tenant_id);
    db_exec(sql);
    int before = count_objects();
    long rows = db_long("SELECT count(*) FROM attachments");
    unsigned char *pdf = random_bytes(100000, "%PDF-1.4\n", 9);
    ar_buf body = AR_BUF_INIT;
    multipart(&body, NULL, "race.pdf", pdf, 100000);
    free(pdf);
    char head[1024];
    snprintf(head, sizeof head,
             "POST /api/worklogs/%lld/attachments/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
             entry, alice.token, body.len);
    int socks[2];
    for (int i = 0; i < 2; i++) {
        socks[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d.port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        ck_assert_int_eq(connect(socks[i], (struct sockaddr *)&a, sizeof a), 0);
        ck_assert_int_eq(send(socks[i], head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
    }
    /* interleave the two bodies so that both are in flight together */
    for (size_t off = 0; off < body.len; off += 16384)
        for (int i = 0; i < 2; i++) {
            size_t n = body.len - off < 16384 ? body.len - off : 16384;
            ck_assert_int_eq(send(socks[i], body.data + off, n, MSG_NOSIGNAL), (ssize_t)n);
        }
    ar_buf_free(&body);
    int created = 0, refused = 0;
    for (int i = 0; i < 2; i++) {
        char reply[4096] = "";
        size_t got = 0;
        struct timeval tv = {20, 0};
        setsockopt(socks[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t n;
        while (got < sizeof reply - 1 && (n = recv(socks[i], reply + got, sizeof reply - 1 - got, 0)) > 0) got += (size_t)n;
        reply[got] = '\0';
        close(socks[i]);
        if (strncmp(reply, "HTTP/1.1 201", 12) == 0) created++;
        if (strncmp(reply, "HTTP/1.1 409", 12) == 0 && strstr(reply, "storage_quota_exceeded")) refused++;
    }
    ck_assert_int_eq(created, 1);
    ck_assert_int_eq(refused, 1);
    ck_assert_int_eq(db_long("SELECT count(*) FROM attachments"), rows + 1);
    ck_assert_int_eq(count_objects(), before + 1);
    snprintf(sql, sizeof sql, "UPDATE tenant_storage SET quota_bytes = NULL WHERE tenant_id = %lld", alice.tenant_id);
    db_exec(sql);
}
END_TEST

START_TEST(other_tenants_and_roles)
{
    char path[128];
    it_response r;
    /* bob cannot see alice's entry or its files: 404 everywhere */
    ck_assert_int_eq(upload(&d, &bob, alice_entry, "x.txt", "hello", 5, &r), 404);
    it_response_free(&r);
    snprintf(path, sizeof path, "/api/worklogs/%lld/attachments/", alice_entry);
    ck_assert_int_eq(get_as(&d, &bob, "GET", path, &r), 404);
    it_response_free(&r);
    long long att = db_long("SELECT min(id) FROM attachments");
    snprintf(path, sizeof path, "/api/attachments/%lld/download", att);
    ck_assert_int_eq(get_as(&d, &bob, "GET", path, &r), 404);
    it_response_free(&r);
    snprintf(path, sizeof path, "/api/worklogs/%lld/attachments/%lld/", alice_entry, att);
    ck_assert_int_eq(get_as(&d, &bob, "DELETE", path, &r), 404);
    it_response_free(&r);
    snprintf(path, sizeof path, "/evidence/entries/%lld", alice_entry); /* the page fragment too */
    ck_assert_int_eq(get_as(&d, &bob, "GET", path, &r), 404);
    it_response_free(&r);
    ck_assert_int_eq(get_as(&d, &alice, "GET", path, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "data-evidence-upload"));
    it_response_free(&r);

    /* bob as a read-only member of alice's tenant: sees the team entry's files, cannot upload (before the body) */
    long long team_entry = create_entry(&alice, "team");
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO memberships (tenant_id, user_id, role) VALUES (%lld, %lld, 'read_only')",
             alice.tenant_id, bob.user_id);
    db_exec(sql);
    snprintf(sql, sizeof sql, "UPDATE api_tokens SET tenant_id = %lld WHERE user_id = %lld", alice.tenant_id, bob.user_id);
    db_exec(sql);
    int before = count_objects();
    ck_assert_int_eq(upload(&d, &bob, team_entry, "x.txt", "hello", 5, &r), 403);
    it_response_free(&r);
    snprintf(path, sizeof path, "/api/worklogs/%lld/attachments/", team_entry);
    ck_assert_int_eq(get_as(&d, &bob, "GET", path, &r), 200);
    it_response_free(&r);
    snprintf(path, sizeof path, "/api/worklogs/%lld/attachments/", alice_entry); /* private: still 404 */
    ck_assert_int_eq(get_as(&d, &bob, "GET", path, &r), 404);
    it_response_free(&r);
    ck_assert_int_eq(count_objects(), before);
    snprintf(sql, sizeof sql, "DELETE FROM memberships WHERE tenant_id = %lld AND user_id = %lld", alice.tenant_id,
             bob.user_id);
    db_exec(sql);
    snprintf(sql, sizeof sql, "UPDATE api_tokens SET tenant_id = %lld WHERE user_id = %lld", bob.tenant_id, bob.user_id);
    db_exec(sql);

    /* a browser session without the CSRF header: refused before the body */
    ar_buf b = AR_BUF_INIT;
    multipart(&b, NULL, "x.txt", "hello", 5);
    char cookie[256];
    snprintf(cookie, sizeof cookie, "Cookie: %s", alice.cookie);
    snprintf(path, sizeof path, "/api/worklogs/%lld/attachments/", alice_entry);
    const char *h[] = {cookie, "Content-Type: multipart/form-data; boundary=" BOUNDARY, NULL};
    ck_assert_int_eq(call(&d, "POST", path, h, b.data, b.len, &r), 403);
    it_response_free(&r);
    /* with it: accepted; a wrong content type: 415 */
    char csrf[160];
    snprintf(csrf, sizeof csrf, "X-CSRF-Token: %s", alice.csrf);
    const char *h2[] = {cookie, csrf, "Content-Type: multipart/form-data; boundary=" BOUNDARY, NULL};
    ck_assert_int_eq(call(&d, "POST", path, h2, b.data, b.len, &r), 201);
    it_response_free(&r);
    const char *h3[] = {cookie, csrf, "Content-Type: application/json", NULL};
    ck_assert_int_eq(call(&d, "POST", path, h3, "{}", 2, &r), 415);
    it_response_free(&r);
    ar_buf_free(&b);
    ck_assert_int_eq(count_objects(), before + 1);
}
END_TEST

START_TEST(delete_removes_row_and_object)
{
    const char *text = "# Notes\n\nA line.\n";
    long long id = round_trip(&d, &alice, alice_entry, "notes.md", (const unsigned char *)text, strlen(text),
                              "text/markdown; charset=utf-8");
    char sql[256], path[512];
    snprintf(sql, sizeof sql, "SELECT object_key FROM attachments WHERE id = %lld", id);
    char *key = db_text(sql);
    snprintf(path, sizeof path, "%s/%s", objects_dir, key);
    free(key);
    ck_assert_int_eq(access(path, F_OK), 0);
    snprintf(sql, sizeof sql, "SELECT attachment_count FROM worklog_entries WHERE id = %lld", alice_entry);
    long count = db_long(sql);
    char url[128];
    snprintf(url, sizeof url, "/api/worklogs/%lld/attachments/%lld/", alice_entry, id);
    it_response r;
    ck_assert_int_eq(get_as(&d, &alice, "DELETE", url, &r), 204);
    it_response_free(&r);
    ck_assert_int_eq(access(path, F_OK), -1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM attachments WHERE id = %lld", id);
    ck_assert_int_eq(db_long(sql), 0);
    snprintf(sql, sizeof sql, "SELECT attachment_count FROM worklog_entries WHERE id = %lld", alice_entry);
    ck_assert_int_eq(db_long(sql), count - 1);
    snprintf(url, sizeof url, "/api/attachments/%lld/download", id);
    ck_assert_int_eq(get_as(&d, &alice, "GET", url, &r), 404);
    it_response_free(&r);
    snprintf(url, sizeof url, "/api/worklogs/%lld/attachments/%lld/", alice_entry, id);
    ck_assert_int_eq(get_as(&d, &alice, "DELETE", url, &r), 404);
    it_response_free(&r);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit_events WHERE action = 'attachment.deleted' AND target_id = '%lld'", id);
    ck_assert_int_eq(db_long(sql), 1);
}
END_TEST

START_TEST(cut_off_body_leaves_nothing)
{
    int before = count_objects();
    long rows = db_long("SELECT count(*) FROM attachments");
    size_t announced = 3 * 1024 * 1024, sent = 1024 * 1024;
    char *body = ar_malloc(sent);
    int n = snprintf(body, sent,
                     "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.pdf\"\r\n\r\n%%PDF-1.5\n");
    memset(body + n, 'x', sent - (size_t)n);
    char head[1024];
    snprintf(head, sizeof head,
             "POST /api/worklogs/%lld/attachments/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\nContent-Length: %zu\r\n\r\n",
             alice_entry, alice.token, announced);
    char reply[64];
    raw_request(d.port, head, body, sent, 1, reply, sizeof reply);
    free(body);
    /* the daemon notices the closed connection and cleans up: wait for the temp file to go */
    double deadline = now_s() + 10;
    while (count_objects() != before && now_s() < deadline) usleep(50 * 1000);
    ck_assert_int_eq(count_objects(), before);
    ck_assert_int_eq(db_long("SELECT count(*) FROM attachments"), rows);
    /* and the daemon still works */
    it_response r;
    ck_assert_int_eq(upload(&d, &alice, alice_entry, "after.txt", "still fine", 10, &r), 201);
    it_response_free(&r);
}
END_TEST

START_TEST(s3_backend_round_trip)
{
    ck_assert_msg(!s3_problem[0], "%s", s3_problem);
    ar_error err = {0};
    ar_s3 *s3 = ar_s3_new(s3rver_endpoint, "us-east-1", S3_BUCKET, "S3RVER", "S3RVER", &err);
    ck_assert_ptr_nonnull(s3);
    long long entry = create_entry(&alice, "private");
    size_t len = 6 * 1024 * 1024 + 3;
    unsigned char *pdf = random_bytes(len, "%PDF-1.6\n", 9);
    long long id = round_trip(&d3, &alice, entry, "s3 proof.pdf", pdf, len, "application/pdf");
    free(pdf);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT storage || ' ' || object_key FROM attachments WHERE id = %lld", id);
    char *row = db_text(sql);
    ck_assert(strncmp(row, "s3 t/", 5) == 0);
    const char *key = row + 3;
    long long size = 0;
    ck_assert_int_eq(ar_s3_head(s3, key, &size, &err), 0);
    ck_assert_int_eq(size, (long long)len);
    /* the local daemon cannot serve an object kept in S3: a clear 503, not wrong bytes */
    char url[128];
    it_response r;
    snprintf(url, sizeof url, "/api/attachments/%lld/download", id);
    ck_assert_int_eq(get_as(&d, &alice, "GET", url, &r), 503);
    it_response_free(&r);
    /* a refused upload leaves nothing in the bucket either (s3rver keeps objects as files in its directory) */
    int bucket_files = count_files_under(s3rver_dir);
    ck_assert_int_gt(bucket_files, 0);
    static const unsigned char png_magic[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    ck_assert_int_eq(upload(&d3, &alice, entry, "fake.pdf", png_magic, sizeof png_magic, &r), 415);
    it_response_free(&r);
    ck_assert_int_eq(count_files_under(s3rver_dir), bucket_files);
    snprintf(url, sizeof url, "/api/worklogs/%lld/attachments/%lld/", entry, id);
    ck_assert_int_eq(get_as(&d3, &alice, "DELETE", url, &r), 204);
    it_response_free(&r);
    ck_assert_int_eq(ar_s3_head(s3, key, &size, &err), AR_ERR_NOT_FOUND);
    ck_assert_int_lt(count_files_under(s3rver_dir), bucket_files);
    ar_error_clear(&err);
    free(row);
    ar_s3_free(s3);
}
END_TEST

START_TEST(browser_attach_by_file_picker)
{
    long long entry = create_entry(&alice, "private");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "node tests/e2e/evidence.mjs %s '%s' %lld /tmp", d.base_url, alice.cookie, entry);
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "browser evidence flow failed (exit %d)", rc);
    char sql[256];
    /* uploaded, downloaded and deleted in the browser: audited, and nothing left */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM attachments WHERE entry_id = %lld", entry);
    ck_assert_int_eq(db_long(sql), 0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit_events WHERE action IN ('attachment.uploaded', 'attachment.downloaded', "
             "'attachment.deleted') AND details->>'entry_id' = '%lld'", entry);
    ck_assert_int_eq(db_long(sql), 3);
}
END_TEST

/* SIGTERM both daemons (from a forked test: watch for the zombie instead of waiting) and read their logs: a clean
 * stop and no sanitizer report after everything above (the ASan build finds leaks and errors here). */
static void stops_cleanly(const it_daemon *dm)
{
    ck_assert_int_eq(kill(dm->pid, SIGTERM), 0);
    char stat_path[64], state = 'R';
    snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", (int)dm->pid);
    for (int i = 0; i < 300 && state != 'Z'; i++) {
        FILE *f = fopen(stat_path, "r");
        if (!f) break;
        if (fscanf(f, "%*d %*s %c", &state) != 1) state = 'Z';
        fclose(f);
        if (state != 'Z') usleep(50 * 1000);
    }
    ck_assert_int_eq(state, 'Z');
    char *log = it_read_file(dm->log_path);
    ck_assert_ptr_nonnull(strstr(log, "\"msg\":\"stopped\""));
    ck_assert_msg(strstr(log, "Sanitizer") == NULL && strstr(log, "runtime error") == NULL, "sanitizer report in %s",
                  dm->log_path);
    free(log);
}

START_TEST(daemons_stop_cleanly)
{
    stops_cleanly(&d);
    if (d3_started) stops_cleanly(&d3);
}
END_TEST

Suite *attachments_suite(void)
{
    Suite *s = suite_create("attachments");
    TCase *tc = tcase_create("attachments");
    tcase_set_timeout(tc, 180);
    tcase_add_unchecked_fixture(tc, start, stop);
    tcase_add_test(tc, upload_download_round_trip_local);
    tcase_add_test(tc, types_must_agree);
    tcase_add_test(tc, largest_document_round_trip);
    tcase_add_test(tc, limits_answer_413);
    tcase_add_test(tc, quota_exceeded_leaves_nothing);
    tcase_add_test(tc, concurrent_uploads_respect_the_quota);
    tcase_add_test(tc, other_tenants_and_roles);
    tcase_add_test(tc, delete_removes_row_and_object);
    tcase_add_test(tc, cut_off_body_leaves_nothing);
    tcase_add_test(tc, s3_backend_round_trip);
    tcase_add_test(tc, browser_attach_by_file_picker);
    tcase_add_test(tc, daemons_stop_cleanly);
    suite_add_tcase(s, tc);
    return s;
}
