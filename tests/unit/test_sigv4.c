/* test_sigv4.c — SigV4 signing: every case of the AWS SigV4 test suite (generic mode, AR_SIGV4_SUITE_DIR),
 * the documented S3 examples (header auth and presigned URL), S3-mode path rules, and a second opinion from
 * botocore (python3-botocore) on random S3 requests. */
#include "afterresume/clients/sigv4.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"

#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const ar_sigv4_credentials suite_creds = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                                 "us-east-1", "service", NULL};
static const ar_sigv4_credentials s3_doc_creds = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                                  "us-east-1", "s3", NULL};

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    ar_buf b = AR_BUF_INIT;
    ar_buf_puts(&b, "");
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ar_buf_append(&b, chunk, n);
    fclose(f);
    return ar_buf_steal(&b);
}

/* ---- the AWS test suite ----------------------------------------------------------------------------- */

/* A parsed .req file: request line, headers (a continuation line becomes another value of the same header,
 * which the signer joins with ','), body after the first empty line. Strings point into `text`. */
typedef struct suite_request {
    char *text;
    char *method, *path, *query;
    ar_sigv4_header headers[32];
    size_t nheaders;
    const char *body;
    char amz_date[17];
} suite_request;

static int parse_req(char *text, suite_request *r)
{
    memset(r, 0, sizeof *r);
    r->text = text;
    char *line_end = strchr(text, '\n');
    if (!line_end)
        return -1;
    *line_end = '\0';
    char *first_space = strchr(text, ' '), *last_space = strrchr(text, ' ');
    if (!first_space || first_space == last_space)
        return -1;
    *first_space = '\0';
    *last_space = '\0';
    r->method = text;
    r->path = first_space + 1;
    char *q = strchr(r->path, '?');
    if (q) {
        *q = '\0';
        r->query = q + 1;
    }
    char *p = line_end + 1;
    r->body = "";
    while (*p) {
        char *end = strchr(p, '\n');
        if (end)
            *end = '\0';
        if (*p == '\0') { /* blank line: the body follows */
            r->body = end ? end + 1 : "";
            break;
        }
        if ((*p == ' ' || *p == '\t') && r->nheaders > 0) {
            r->headers[r->nheaders].name = r->headers[r->nheaders - 1].name;
            r->headers[r->nheaders].value = p;
        } else {
            char *colon = strchr(p, ':');
            if (!colon)
                return -1;
            *colon = '\0';
            r->headers[r->nheaders].name = p;
            r->headers[r->nheaders].value = colon + 1;
        }
        if (strcasecmp(r->headers[r->nheaders].name, "x-amz-date") == 0) {
            const char *v = r->headers[r->nheaders].value;
            while (*v == ' ')
                v++;
            snprintf(r->amz_date, sizeof r->amz_date, "%s", v);
        }
        if (++r->nheaders == sizeof r->headers / sizeof r->headers[0])
            return -1;
        if (!end)
            break;
        p = end + 1;
    }
    return r->amz_date[0] ? 0 : -1;
}

typedef struct suite_result {
    int total, exact, inconsistent_ok;
    ar_buf failures;
} suite_result;

static const char *last_line(const char *s)
{
    const char *nl = strrchr(s, '\n');
    return nl ? nl + 1 : s;
}

static void run_case(const char *dir, const char *name, suite_result *res)
{
    char *req_path = ar_asprintf("%s/%s.req", dir, name), *creq_path = ar_asprintf("%s/%s.creq", dir, name),
         *sts_path = ar_asprintf("%s/%s.sts", dir, name), *authz_path = ar_asprintf("%s/%s.authz", dir, name);
    char *req_text = read_file(req_path), *want_creq = read_file(creq_path), *want_sts = read_file(sts_path),
         *want_authz = read_file(authz_path);
    res->total++;
    suite_request r;
    if (!req_text || !want_creq || !want_sts || !want_authz || parse_req(req_text, &r) != 0) {
        ar_buf_printf(&res->failures, "%s: unreadable or unparsable case files\n", name);
        goto done;
    }
    char body_hash[65];
    ar_sigv4_sha256_hex(r.body, strlen(r.body), body_hash);
    ar_sigv4_request req = {.method = r.method, .path = r.path, .query = r.query, .headers = r.headers,
                            .nheaders = r.nheaders, .payload_sha256_hex = body_hash};
    ar_buf authz = AR_BUF_INIT, creq = AR_BUF_INIT, sts = AR_BUF_INIT;
    if (ar_sigv4_sign(&req, &suite_creds, r.amz_date, AR_SIGV4_GENERIC, &authz, &creq, &sts) != 0) {
        ar_buf_printf(&res->failures, "%s: signing failed\n", name);
    } else if (strcmp(ar_buf_cstr(&creq), want_creq) != 0) {
        ar_buf_printf(&res->failures, "%s: canonical request differs:\n%s\n--- expected:\n%s\n", name,
                      ar_buf_cstr(&creq), want_creq);
    } else if (strcmp(ar_buf_cstr(&sts), want_sts) == 0 && strcmp(ar_buf_cstr(&authz), want_authz) == 0) {
        res->exact++;
    } else {
        /* Two upstream cases (post-x-www-form-urlencoded and -parameters) are internally inconsistent: their
         * .creq signs content-length (the .req has Content-Length) but their .sts/.authz were computed from an
         * older canonical request without it (and, for -parameters, with "charset=utf8"), so sha256(.creq)
         * differs from the hash in .sts and no signer can reproduce both. For exactly those (detected by that
         * inconsistency, never by name) the canonical request must still match exactly, our string to sign
         * must carry sha256(our creq), and signing the suite's own .sts must give the .authz signature. */
        char file_creq_hash[65], our_creq_hash[65];
        ar_sigv4_sha256_hex(want_creq, strlen(want_creq), file_creq_hash);
        ar_sigv4_sha256_hex(creq.data, creq.len, our_creq_hash);
        int suite_inconsistent = strcmp(last_line(want_sts), file_creq_hash) != 0;
        unsigned char key[32];
        char sig[65];
        ar_sigv4_signing_key(suite_creds.secret_key, "20150830", "us-east-1", "service", key);
        ar_sigv4_signature_hex(key, want_sts, sig);
        const char *want_sig = strstr(want_authz, "Signature=");
        size_t sts_prefix = strlen(want_sts) - strlen(last_line(want_sts));
        if (suite_inconsistent && want_sig && strcmp(want_sig + 10, sig) == 0 &&
            strcmp(last_line(ar_buf_cstr(&sts)), our_creq_hash) == 0 &&
            strncmp(ar_buf_cstr(&sts), want_sts, sts_prefix) == 0) {
            res->inconsistent_ok++;
        } else {
            ar_buf_printf(&res->failures, "%s: string to sign / authorization differ:\n%s\n%s\n--- expected:\n%s\n%s\n",
                          name, ar_buf_cstr(&sts), ar_buf_cstr(&authz), want_sts, want_authz);
        }
    }
    ar_buf_free(&authz);
    ar_buf_free(&creq);
    ar_buf_free(&sts);
done:
    ar_free(req_path);
    ar_free(creq_path);
    ar_free(sts_path);
    ar_free(authz_path);
    ar_free(req_text);
    ar_free(want_creq);
    ar_free(want_sts);
    ar_free(want_authz);
}

/* Every directory holding NAME/NAME.req is a case; other directories are searched recursively. */
static void walk_suite(const char *dir, suite_result *res)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        names = ar_realloc(names, (n + 1) * sizeof *names);
        names[n++] = ar_strdup(e->d_name);
    }
    closedir(d);
    for (size_t i = 0; i < n; i++) {
        char *sub = ar_asprintf("%s/%s", dir, names[i]);
        char *req = ar_asprintf("%s/%s.req", sub, names[i]);
        struct stat st;
        if (stat(req, &st) == 0 && S_ISREG(st.st_mode))
            run_case(sub, names[i], res);
        else if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            walk_suite(sub, res);
        ar_free(sub);
        ar_free(req);
        ar_free(names[i]);
    }
    ar_free(names);
}

START_TEST(test_aws_suite)
{
    const char *dir = getenv("AR_SIGV4_SUITE_DIR");
    if (!dir || !*dir)
        dir = "../shared/testdata/aws-sigv4";
    suite_result res = {0};
    ar_buf_init(&res.failures);
    walk_suite(dir, &res);
    int passed = res.exact + res.inconsistent_ok;
    printf("aws-sigv4: %d/%d passed (%d exact creq+sts+authz; %d upstream-inconsistent cases: creq exact, "
           "signature of the suite's own .sts exact)\n",
           passed, res.total, res.exact, res.inconsistent_ok);
    fflush(stdout);
    ck_assert_msg(res.total >= 20, "AWS SigV4 suite not found or incomplete under %s (%d cases)", dir, res.total);
    ck_assert_msg(passed == res.total, "aws-sigv4 failures:\n%s", ar_buf_cstr(&res.failures));
    ck_assert_int_le(res.inconsistent_ok, 2);
    ar_buf_free(&res.failures);
}
END_TEST

/* ---- S3 documentation examples ---------------------------------------------------------------------- */

START_TEST(test_s3_doc_get_object)
{
    ar_sigv4_header h[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                           {"Range", "bytes=0-9"},
                           {"x-amz-content-sha256", AR_SIGV4_EMPTY_SHA256},
                           {"x-amz-date", "20130524T000000Z"}};
    ar_sigv4_request r = {.method = "GET", .path = "/test.txt", .headers = h, .nheaders = 4,
                          .payload_sha256_hex = AR_SIGV4_EMPTY_SHA256};
    ar_buf authz = AR_BUF_INIT, creq = AR_BUF_INIT, sts = AR_BUF_INIT;
    ck_assert_int_eq(ar_sigv4_sign(&r, &s3_doc_creds, "20130524T000000Z", AR_SIGV4_S3, &authz, &creq, &sts), 0);
    ck_assert_str_eq(ar_buf_cstr(&creq), "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
                                         "x-amz-content-sha256:" AR_SIGV4_EMPTY_SHA256 "\nx-amz-date:20130524T000000Z\n\n"
                                         "host;range;x-amz-content-sha256;x-amz-date\n" AR_SIGV4_EMPTY_SHA256);
    ck_assert_str_eq(ar_buf_cstr(&sts), "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                                        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    ck_assert_str_eq(ar_buf_cstr(&authz),
                     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                     "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                     "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    ar_buf_free(&authz);
    ar_buf_free(&creq);
    ar_buf_free(&sts);
}
END_TEST

START_TEST(test_s3_doc_presigned_url)
{
    ar_buf url = AR_BUF_INIT;
    ck_assert_int_eq(ar_sigv4_presign_url("https://examplebucket.s3.amazonaws.com", NULL, "/test.txt",
                                          &s3_doc_creds, "20130524T000000Z", 86400, &url), 0);
    ck_assert_str_eq(ar_buf_cstr(&url),
                     "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                     "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                     "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                     "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    ar_buf_reset(&url);
    ck_assert_int_eq(ar_sigv4_presign_url("https://examplebucket.s3.amazonaws.com", NULL, "/test.txt",
                                          &s3_doc_creds, "20130524T000000Z", 604801, &url), -1);
    ck_assert_int_eq(ar_sigv4_presign_url("https://examplebucket.s3.amazonaws.com", NULL, "/test.txt",
                                          &s3_doc_creds, "2013-05-24", 60, &url), -1);
    ar_buf_free(&url);
}
END_TEST

/* ---- path, query and header rules ------------------------------------------------------------------- */

START_TEST(test_canonical_uri_modes)
{
    ar_buf b = AR_BUF_INIT;
    ar_sigv4_canonical_uri("/bucket/a//b/./c/../d e+é%", AR_SIGV4_S3, &b);
    ck_assert_str_eq(ar_buf_cstr(&b), "/bucket/a//b/./c/../d%20e%2B%C3%A9%25");
    ar_buf_reset(&b);
    ar_sigv4_canonical_uri("/a//b/./c/../d%20e", AR_SIGV4_GENERIC, &b);
    ck_assert_str_eq(ar_buf_cstr(&b), "/a/b/d%2520e");
    ar_buf_reset(&b);
    ar_sigv4_canonical_uri("", AR_SIGV4_S3, &b);
    ck_assert_str_eq(ar_buf_cstr(&b), "/");
    ar_buf_reset(&b);
    ar_sigv4_canonical_uri("/../..", AR_SIGV4_GENERIC, &b);
    ck_assert_str_eq(ar_buf_cstr(&b), "/");
    ar_buf_free(&b);
}
END_TEST

START_TEST(test_canonical_query)
{
    ar_buf b = AR_BUF_INIT;
    ar_sigv4_canonical_query("prefix=J&max-keys=2&lifecycle&b=a%20b&b=a+b&&z=%7E%2f", &b);
    ck_assert_str_eq(ar_buf_cstr(&b), "b=a%20b&b=a%2Bb&lifecycle=&max-keys=2&prefix=J&z=~%2F");
    ar_buf_free(&b);
}
END_TEST

START_TEST(test_header_rules_and_token)
{
    ar_sigv4_header h[] = {{"Host", "h.example"}, {"X-Multi", "  b  "}, {"x-multi", "a\t\t c"}, {"X-Amz-Date", "20150830T123600Z"}};
    ar_sigv4_request r = {.method = "GET", .path = "/", .headers = h, .nheaders = 4,
                          .payload_sha256_hex = AR_SIGV4_UNSIGNED_PAYLOAD};
    ar_buf creq = AR_BUF_INIT, names = AR_BUF_INIT, authz = AR_BUF_INIT;
    ck_assert_int_eq(ar_sigv4_canonical_request(&r, AR_SIGV4_S3, &creq, &names), 0);
    ck_assert_str_eq(ar_buf_cstr(&creq), "GET\n/\n\nhost:h.example\nx-amz-date:20150830T123600Z\nx-multi:b,a c\n\n"
                                         "host;x-amz-date;x-multi\nUNSIGNED-PAYLOAD");
    ck_assert_str_eq(ar_buf_cstr(&names), "host;x-amz-date;x-multi");
    ar_buf_reset(&creq);
    ar_sigv4_credentials tc = suite_creds;
    tc.session_token = "TOKEN";
    ck_assert_int_eq(ar_sigv4_sign(&r, &tc, "20150830T123600Z", AR_SIGV4_S3, &authz, &creq, NULL), 0);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&creq), "\nx-amz-security-token:TOKEN\n"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&authz), "SignedHeaders=host;x-amz-date;x-amz-security-token;x-multi,"));
    ar_sigv4_header bad[] = {{"Bad Name", "v"}};
    r.headers = bad;
    r.nheaders = 1;
    ck_assert_int_eq(ar_sigv4_canonical_request(&r, AR_SIGV4_S3, &creq, NULL), -1);
    ar_buf_free(&creq);
    ar_buf_free(&names);
    ar_buf_free(&authz);
}
END_TEST

START_TEST(test_host_from_endpoint)
{
    const char *cases[][2] = {{"http://127.0.0.1:9000", "127.0.0.1:9000"}, {"http://minio:80/", "minio"},
                              {"https://s3.example.com:443", "s3.example.com"}, {"https://u:p@s3:8443/x", "s3:8443"},
                              {"http://[::1]:9000", "[::1]:9000"}, {"http://[::1]", "[::1]"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ar_buf b = AR_BUF_INIT;
        ck_assert_int_eq(ar_sigv4_host_from_endpoint(cases[i][0], &b), 0);
        ck_assert_str_eq(ar_buf_cstr(&b), cases[i][1]);
        ar_buf_free(&b);
    }
    ar_buf b = AR_BUF_INIT;
    ck_assert_int_eq(ar_sigv4_host_from_endpoint("minio:9000", &b), -1);
    ar_buf_free(&b);
}
END_TEST

/* ---- botocore second opinion ------------------------------------------------------------------------ */

static const char *botocore_python(void)
{
    static const char *candidates[] = {"/usr/bin/python3", "python3"};
    for (size_t i = 0; i < 2; i++) {
        char *cmd = ar_asprintf("%s -c 'import botocore' >/dev/null 2>&1", candidates[i]);
        int rc = system(cmd);
        ar_free(cmd);
        if (rc == 0)
            return candidates[i];
    }
    return NULL;
}

static void random_key(ar_buf *raw)
{
    static const char *pieces[] = {"a", "B", "z", "0", "9", "-", "_", ".", "~", " ", "+", "!", "$", "&", "'", "(",
                                   ")", "*", ",", ";", "=", "@", ":", "%", "é", "ü", "日本", "€", "#", "?"};
    int segments = 1 + (int)randombytes_uniform(3);
    for (int s = 0; s < segments; s++) {
        if (s)
            ar_buf_putc(raw, '/');
        int len = 1 + (int)randombytes_uniform(8);
        for (int i = 0; i < len; i++)
            ar_buf_puts(raw, pieces[randombytes_uniform(sizeof pieces / sizeof pieces[0])]);
    }
}

START_TEST(test_botocore_second_opinion)
{
    const char *python = botocore_python();
    ck_assert_msg(python != NULL, "botocore is not importable by /usr/bin/python3 or python3: install "
                                  "python3-botocore (apt-get install python3-botocore; scripts/deps.sh TEST_PKGS)");
    ck_assert_msg(access("tests/fakes/sigv4_botocore.py", R_OK) == 0,
                  "tests/fakes/sigv4_botocore.py not found (run the tests from the repository root)");
    static const char *methods[] = {"GET", "PUT", "HEAD", "DELETE"};
    for (int i = 0; i < 3; i++) {
        const char *method = methods[randombytes_uniform(4)];
        if (i == 0)
            method = "PUT"; /* at least one request with a body */
        ar_buf raw_key = AR_BUF_INIT, path = AR_BUF_INIT, url = AR_BUF_INIT, query = AR_BUF_INIT;
        random_key(&raw_key);
        ar_buf_printf(&path, "/bucket-%u/%s", (unsigned)randombytes_uniform(100), ar_buf_cstr(&raw_key));
        ar_buf_puts(&url, "http://127.0.0.1:9000");
        ar_sigv4_canonical_uri(ar_buf_cstr(&path), AR_SIGV4_S3, &url);
        if (randombytes_uniform(2)) {
            ar_buf_puts(&query, "versionId=");
            ar_buf_put_urlencoded(&query, ar_buf_cstr(&raw_key), NULL);
            ar_buf_puts(&query, "&x-id=GetObject");
            ar_buf_printf(&url, "?%s", ar_buf_cstr(&query));
        }
        unsigned char body[64];
        size_t body_len = strcmp(method, "PUT") == 0 ? 1 + randombytes_uniform(sizeof body) : 0;
        randombytes_buf(body, body_len);
        char body_hex[2 * sizeof body + 1], body_hash[65];
        sodium_bin2hex(body_hex, sizeof body_hex, body, body_len);
        ar_sigv4_sha256_hex(body, body_len, body_hash);
        char amz_date[17];
        ar_sigv4_amz_date((time_t)(1500000000 + randombytes_uniform(300000000)), amz_date);

        ar_sigv4_header h[5] = {{"Host", "127.0.0.1:9000"}, {"X-Amz-Date", amz_date},
                                {"X-Amz-Content-SHA256", body_hash}};
        size_t nh = 3;
        json_t *extra = json_array();
        if (body_len) {
            h[nh++] = (ar_sigv4_header){"Content-Type", "application/pdf"};
            json_array_append_new(extra, json_pack("[ss]", "Content-Type", "application/pdf"));
        } else if (randombytes_uniform(2)) {
            h[nh++] = (ar_sigv4_header){"Range", "bytes=0-99"};
            json_array_append_new(extra, json_pack("[ss]", "Range", "bytes=0-99"));
        }
        ar_sigv4_credentials c = {"AKIA" "RANDOMTEST", "secret/Key+with=chars", "eu-central-1", "s3", NULL};
        ar_sigv4_request r = {.method = method, .path = ar_buf_cstr(&path), .query = query.len ? query.data : NULL,
                              .headers = h, .nheaders = nh, .payload_sha256_hex = body_hash};
        ar_buf ours = AR_BUF_INIT;
        ck_assert_int_eq(ar_sigv4_sign(&r, &c, amz_date, AR_SIGV4_S3, &ours, NULL, NULL), 0);

        json_t *spec = json_pack("{ss ss ss ss ss ss so ss}", "access_key", c.access_key, "secret_key", c.secret_key,
                                 "region", c.region, "amz_date", amz_date, "method", method, "url",
                                 ar_buf_cstr(&url), "headers", extra, "body_hex", body_hex);
        char tmp[] = "/tmp/ar_sigv4_botocore_XXXXXX";
        int fd = mkstemp(tmp);
        ck_assert_int_ge(fd, 0);
        close(fd);
        ck_assert_int_eq(json_dump_file(spec, tmp, 0), 0);
        json_decref(spec);
        char *cmd = ar_asprintf("%s tests/fakes/sigv4_botocore.py %s 2>/dev/null", python, tmp);
        FILE *p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        char line[1024] = "";
        char *got = fgets(line, sizeof line, p);
        int status = pclose(p);
        unlink(tmp);
        ck_assert_msg(got != NULL && status == 0, "botocore signer failed for %s %s", method, ar_buf_cstr(&url));
        line[strcspn(line, "\n")] = '\0';
        printf("botocore %s %s: %s\n", method, ar_buf_cstr(&url),
               strcmp(line, ar_buf_cstr(&ours)) == 0 ? "same Authorization" : "DIFFERENT");
        ck_assert_msg(strcmp(line, ar_buf_cstr(&ours)) == 0, "botocore differs for %s %s:\n ours:     %s\n botocore: %s",
                      method, ar_buf_cstr(&url), ar_buf_cstr(&ours), line);
        ar_free(cmd);
        ar_buf_free(&ours);
        ar_buf_free(&raw_key);
        ar_buf_free(&path);
        ar_buf_free(&url);
        ar_buf_free(&query);
    }
    fflush(stdout);
}
END_TEST

Suite *sigv4_suite(void)
{
    Suite *s = suite_create("sigv4");
    TCase *tc = tcase_create("sigv4");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_aws_suite);
    tcase_add_test(tc, test_s3_doc_get_object);
    tcase_add_test(tc, test_s3_doc_presigned_url);
    tcase_add_test(tc, test_canonical_uri_modes);
    tcase_add_test(tc, test_canonical_query);
    tcase_add_test(tc, test_header_rules_and_token);
    tcase_add_test(tc, test_host_from_endpoint);
    tcase_add_test(tc, test_botocore_second_opinion);
    suite_add_tcase(s, tc);
    return s;
}
