/* test_s3.c — the S3 client against a local s3rver (tests/fakes/s3rver.mjs, npm s3rver, started here as a
 * child process on a free port with a temporary data directory): bucket creation, 5 MiB file round trip
 * (HEAD size, identical bytes and SHA-256), presigned GET fetched with libcurl, delete then NOT_FOUND, keys
 * with spaces/unicode/punctuation, error mapping, and put/get throughput of 50 MiB (AR_S3_BENCH_MIB).
 * s3rver does not verify SigV4 signatures; the signing itself is covered by tests/unit/test_sigv4.c. */
#include "afterresume/clients/s3.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S3RVER_KEY "S3RVER"
#define S3RVER_REGION "us-east-1"
#define S3_TEST_BUCKET "ar-test-evidence"

static pid_t s3rver_pid = -1;
static int s3rver_port;
static char s3rver_dir[64];
static char s3rver_endpoint[64];
static char s3rver_problem[256];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

static int port_open(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    if (s >= 0)
        close(s);
    return ok;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Unchecked fixture (runs once in the runner process): start s3rver and wait until it accepts connections.
 * Problems are remembered in s3rver_problem and reported by every test. */
static void s3rver_start(void)
{
    s3rver_problem[0] = '\0';
    snprintf(s3rver_dir, sizeof s3rver_dir, "/tmp/ar_s3rver_XXXXXX");
    if (!mkdtemp(s3rver_dir)) {
        snprintf(s3rver_problem, sizeof s3rver_problem, "mkdtemp: %s", strerror(errno));
        return;
    }
    s3rver_port = free_port();
    snprintf(s3rver_endpoint, sizeof s3rver_endpoint, "http://127.0.0.1:%d", s3rver_port);
    char port_arg[16];
    snprintf(port_arg, sizeof port_arg, "%d", s3rver_port);
    fflush(NULL);
    s3rver_pid = fork();
    if (s3rver_pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);
        execlp("node", "node", "tests/fakes/s3rver.mjs", port_arg, s3rver_dir, (char *)NULL);
        fprintf(stderr, "test_s3: cannot exec node: %s\n", strerror(errno));
        _exit(127);
    }
    if (s3rver_pid < 0) {
        snprintf(s3rver_problem, sizeof s3rver_problem, "fork: %s", strerror(errno));
        return;
    }
    double deadline = now_s() + 20;
    while (now_s() < deadline) {
        if (port_open(s3rver_port))
            return;
        int status;
        if (waitpid(s3rver_pid, &status, WNOHANG) == s3rver_pid) {
            s3rver_pid = -1;
            snprintf(s3rver_problem, sizeof s3rver_problem,
                     "node tests/fakes/s3rver.mjs exited (status %d) — is node installed and s3rver in "
                     "node_modules (npm ci)? Run the tests from the repository root.", status);
            return;
        }
        usleep(50 * 1000);
    }
    snprintf(s3rver_problem, sizeof s3rver_problem, "s3rver did not listen on port %d within 20 s", s3rver_port);
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
    if (s3rver_dir[0])
        nftw(s3rver_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static ar_s3 *test_client(void)
{
    ck_assert_msg(s3rver_problem[0] == '\0', "s3rver: %s", s3rver_problem);
    ar_error err = {0};
    ar_s3 *s3 = ar_s3_new(s3rver_endpoint, S3RVER_REGION, S3_TEST_BUCKET, S3RVER_KEY, S3RVER_KEY, &err);
    ck_assert_msg(s3 != NULL, "ar_s3_new: %s", err.message);
    ck_assert_msg(ar_s3_create_bucket(s3, &err) == AR_OK, "create bucket: %s", err.message);
    return s3;
}

/* A temporary file of n random bytes; its hex SHA-256 in sha_hex. Returns the path (heap). */
static char *random_file(size_t n, char sha_hex[65])
{
    char *path = ar_strdup("/tmp/ar_s3_src_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    unsigned char *chunk = ar_malloc(1 << 20);
    for (size_t done = 0; done < n;) {
        size_t len = n - done < (1 << 20) ? n - done : (1 << 20);
        randombytes_buf(chunk, len);
        crypto_hash_sha256_update(&st, chunk, len);
        ck_assert_int_eq(write(fd, chunk, len), (ssize_t)len);
        done += len;
    }
    ar_free(chunk);
    close(fd);
    unsigned char digest[32];
    crypto_hash_sha256_final(&st, digest);
    sodium_bin2hex(sha_hex, 65, digest, 32);
    return path;
}

static void file_sha256(const char *path, char sha_hex[65], long long *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    unsigned char buf[65536];
    size_t n;
    long long total = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        crypto_hash_sha256_update(&st, buf, n);
        total += (long long)n;
    }
    fclose(f);
    unsigned char digest[32];
    crypto_hash_sha256_final(&st, digest);
    sodium_bin2hex(sha_hex, 65, digest, 32);
    if (size)
        *size = total;
}

static int files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    ck_assert_ptr_nonnull(fa);
    ck_assert_ptr_nonnull(fb);
    unsigned char ba[65536], bb[65536];
    int equal = 1;
    for (;;) {
        size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
        if (na != nb || memcmp(ba, bb, na) != 0) {
            equal = 0;
            break;
        }
        if (na == 0)
            break;
    }
    fclose(fa);
    fclose(fb);
    return equal;
}

/* Download key into a fresh temporary file; returns its path (heap) and the result code. */
static char *download(ar_s3 *s3, const char *key, int *rc, ar_error *err)
{
    char *path = ar_strdup("/tmp/ar_s3_dst_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    *rc = ar_s3_get_to_fd(s3, key, fd, err);
    close(fd);
    return path;
}

static size_t buf_sink(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    ar_buf_append(userdata, ptr, size * nmemb);
    return size * nmemb;
}

/* GET a URL with plain libcurl (no signing of ours): returns the HTTP status, body in out. */
static long plain_get(const char *url, ar_buf *out)
{
    CURL *c = curl_easy_init();
    ck_assert_ptr_nonnull(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    ck_assert_msg(rc == CURLE_OK, "GET %s: %s", url, curl_easy_strerror(rc));
    return status;
}

START_TEST(test_file_roundtrip_5mib)
{
    ar_s3 *s3 = test_client();
    ar_error err = {0};
    ck_assert_msg(ar_s3_create_bucket(s3, &err) == AR_OK, "second create (already ours) must succeed: %s",
                  err.message);
    const size_t size = 5u << 20;
    char src_sha[65], dst_sha[65];
    char *src = random_file(size, src_sha);
    const char *key = "evidence/2026/11/report.bin";
    ck_assert_msg(ar_s3_put_file(s3, key, src, "application/octet-stream", &err) == AR_OK, "put: %s", err.message);

    long long remote_size = -1;
    ck_assert_msg(ar_s3_head(s3, key, &remote_size, &err) == AR_OK, "head: %s", err.message);
    ck_assert_int_eq(remote_size, (long long)size);

    int rc;
    char *dst = download(s3, key, &rc, &err);
    ck_assert_msg(rc == AR_OK, "get: %s", err.message);
    long long got_size;
    file_sha256(dst, dst_sha, &got_size);
    ck_assert_int_eq(got_size, (long long)size);
    ck_assert_str_eq(dst_sha, src_sha);
    ck_assert(files_equal(src, dst));

    /* The presigned URL works for a client that knows nothing about signing. */
    char *url = ar_s3_presign_get(s3, key, 300);
    ck_assert_ptr_nonnull(url);
    ck_assert_ptr_nonnull(strstr(url, "X-Amz-Signature="));
    ck_assert_ptr_nonnull(strstr(url, "X-Amz-Expires=300"));
    ar_buf body = AR_BUF_INIT;
    ck_assert_int_eq(plain_get(url, &body), 200);
    ck_assert_uint_eq(body.len, size);
    char presigned_sha[65];
    unsigned char digest[32];
    crypto_hash_sha256(digest, (const unsigned char *)body.data, body.len);
    sodium_bin2hex(presigned_sha, sizeof presigned_sha, digest, 32);
    ck_assert_str_eq(presigned_sha, src_sha);
    ar_buf_free(&body);
    ar_free(url);
    ck_assert_ptr_null(ar_s3_presign_get(s3, key, 0));
    ck_assert_ptr_null(ar_s3_presign_get(s3, key, 604801));

    ck_assert_msg(ar_s3_delete(s3, key, &err) == AR_OK, "delete: %s", err.message);
    unlink(dst);
    ar_free(dst);
    dst = download(s3, key, &rc, &err);
    ck_assert_int_eq(rc, AR_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.message, "404"));
    ck_assert_ptr_nonnull(strstr(err.message, "NoSuchKey"));
    struct stat st;
    ck_assert_int_eq(stat(dst, &st), 0);
    ck_assert_int_eq(st.st_size, 0); /* the error document is not written into the caller's file */
    ar_error_clear(&err);
    ck_assert_int_eq(ar_s3_head(s3, key, NULL, &err), AR_ERR_NOT_FOUND);

    unlink(src);
    unlink(dst);
    ar_free(src);
    ar_free(dst);
    ar_s3_free(s3);
}
END_TEST

START_TEST(test_key_encoding_roundtrip)
{
    ar_s3 *s3 = test_client();
    static const char *keys[] = {
        "dir with spaces/file name (1).txt",
        "ünïcödé/日本語 ファイル/€uro.pdf",
        "punct/a+b=c&d;e@f:g,h!$'()*~.txt",
        "percent/100%25 literal % sign.txt",
        "query?like#fragment.txt",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        ar_error err = {0};
        char *content = ar_asprintf("content of <%s> #%zu", keys[i], i);
        ck_assert_msg(ar_s3_put_buffer(s3, keys[i], content, strlen(content), "text/plain; charset=utf-8", &err) ==
                          AR_OK, "put %s: %s", keys[i], err.message);
        long long size = -1;
        ck_assert_msg(ar_s3_head(s3, keys[i], &size, &err) == AR_OK, "head %s: %s", keys[i], err.message);
        ck_assert_int_eq(size, (long long)strlen(content));
        int rc;
        char *dst = download(s3, keys[i], &rc, &err);
        ck_assert_msg(rc == AR_OK, "get %s: %s", keys[i], err.message);
        char *got = NULL;
        FILE *f = fopen(dst, "rb");
        ck_assert_ptr_nonnull(f);
        char buf[512] = "";
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        got = buf;
        got[n] = '\0';
        ck_assert_str_eq(got, content);

        /* The server stored the key we meant (not a still-encoded or re-decoded variant): an anonymous listing
         * with the raw key as prefix finds exactly one object. */
        ar_buf list_url = AR_BUF_INIT, listing = AR_BUF_INIT;
        ar_buf_printf(&list_url, "%s/%s?prefix=", s3rver_endpoint, S3_TEST_BUCKET);
        ar_buf_put_urlencoded(&list_url, keys[i], NULL);
        ck_assert_int_eq(plain_get(ar_buf_cstr(&list_url), &listing), 200);
        const char *first = strstr(ar_buf_cstr(&listing), "<Key>");
        ck_assert_msg(first != NULL && strstr(first + 5, "<Key>") == NULL, "listing for %s: %s", keys[i],
                      ar_buf_cstr(&listing));
        ar_buf_free(&list_url);
        ar_buf_free(&listing);

        char *url = ar_s3_presign_get(s3, keys[i], 60);
        ck_assert_ptr_nonnull(url);
        ar_buf body = AR_BUF_INIT;
        ck_assert_int_eq(plain_get(url, &body), 200);
        ck_assert_str_eq(ar_buf_cstr(&body), content);
        ar_buf_free(&body);
        ar_free(url);

        ck_assert_msg(ar_s3_delete(s3, keys[i], &err) == AR_OK, "delete %s: %s", keys[i], err.message);
        ck_assert_int_eq(ar_s3_head(s3, keys[i], NULL, &err), AR_ERR_NOT_FOUND);
        unlink(dst);
        ar_free(dst);
        ar_free(content);
    }
    ar_s3_free(s3);
}
END_TEST

START_TEST(test_errors)
{
    ck_assert_msg(s3rver_problem[0] == '\0', "s3rver: %s", s3rver_problem);
    ar_error err = {0};
    ck_assert_ptr_null(ar_s3_new("127.0.0.1:9000", "us-east-1", "b", "k", "s", &err));
    ck_assert_int_eq(err.code, AR_ERR_BAD_REQUEST);
    ck_assert_ptr_null(ar_s3_new(s3rver_endpoint, "us-east-1", "a/b", "k", "s", &err));

    /* A bucket that does not exist: 404 with the S3 code in the message. */
    ar_s3 *missing = ar_s3_new(s3rver_endpoint, S3RVER_REGION, "ar-no-such-bucket", S3RVER_KEY, S3RVER_KEY, &err);
    ck_assert_ptr_nonnull(missing);
    ck_assert_int_eq(ar_s3_check_bucket(missing, &err), AR_ERR_NOT_FOUND);
    ck_assert_int_eq(ar_s3_put_buffer(missing, "k", "x", 1, NULL, &err), AR_ERR_NOT_FOUND);
    ck_assert_msg(strstr(err.message, "NoSuchBucket") != NULL, "message: %s", err.message);
    ar_s3_free(missing);

    /* Unknown access key: s3rver answers 403 InvalidAccessKeyId -> unavailable with status and code. */
    ar_s3 *bad_key = ar_s3_new(s3rver_endpoint, S3RVER_REGION, S3_TEST_BUCKET, "NOT-A-KEY", "x", &err);
    ck_assert_ptr_nonnull(bad_key);
    ck_assert_int_eq(ar_s3_put_buffer(bad_key, "k", "x", 1, NULL, &err), AR_ERR_UNAVAILABLE);
    ck_assert_msg(strstr(err.message, "HTTP 403 InvalidAccessKeyId") != NULL, "message: %s", err.message);
    ar_s3_free(bad_key);

    /* Nothing listening: a transport error, quickly. */
    char closed[64];
    snprintf(closed, sizeof closed, "http://127.0.0.1:%d", free_port());
    ar_s3 *down = ar_s3_new(closed, S3RVER_REGION, S3_TEST_BUCKET, S3RVER_KEY, S3RVER_KEY, &err);
    double t0 = now_s();
    ck_assert_int_eq(ar_s3_head(down, "k", NULL, &err), AR_ERR_UNAVAILABLE);
    ck_assert_int_eq(ar_s3_check_bucket(down, &err), AR_ERR_UNAVAILABLE);
    ck_assert_double_lt(now_s() - t0, 6.0);
    ar_s3_free(down);

    ar_s3 *s3 = test_client();
    ck_assert_msg(ar_s3_check_bucket(s3, &err) == AR_OK, "check bucket: %s", err.message);
    ck_assert_int_eq(ar_s3_put_file(s3, "k", "/nonexistent/file", NULL, &err), AR_ERR_INTERNAL);
    ck_assert_int_eq(ar_s3_put_file(s3, "k", "/tmp", NULL, &err), AR_ERR_INTERNAL);
    ck_assert_int_eq(ar_s3_put_buffer(s3, "", "x", 1, NULL, &err), AR_ERR_BAD_REQUEST);
    ck_assert_int_eq(ar_s3_put_buffer(s3, "k", "x", 1, "text/plain\r\nX-Evil: 1", &err), AR_ERR_BAD_REQUEST);
    ck_assert_int_eq(ar_s3_get_to_fd(s3, "k", -1, &err), AR_ERR_BAD_REQUEST);
    /* A download into a descriptor that cannot be written is a local error, not "unavailable". */
    ck_assert_int_eq(ar_s3_put_buffer(s3, "small", "hello", 5, NULL, &err), AR_OK);
    int ro = open("/dev/null", O_RDONLY);
    ck_assert_int_eq(ar_s3_get_to_fd(s3, "small", ro, &err), AR_ERR_INTERNAL);
    close(ro);
    ck_assert_int_eq(ar_s3_delete(s3, "small", &err), AR_OK);
    ar_s3_free(s3);
}
END_TEST

START_TEST(test_throughput)
{
    ar_s3 *s3 = test_client();
    const char *env = getenv("AR_S3_BENCH_MIB");
    size_t mib = env && atoi(env) > 0 ? (size_t)atoi(env) : 50;
    char src_sha[65], dst_sha[65];
    char *src = random_file(mib << 20, src_sha);
    ar_error err = {0};
    double t0 = now_s();
    ck_assert_msg(ar_s3_put_file(s3, "bench/big.bin", src, NULL, &err) == AR_OK, "put: %s", err.message);
    double t1 = now_s();
    int rc;
    char *dst = download(s3, "bench/big.bin", &rc, &err);
    double t2 = now_s();
    ck_assert_msg(rc == AR_OK, "get: %s", err.message);
    file_sha256(dst, dst_sha, NULL);
    ck_assert_str_eq(dst_sha, src_sha);
    printf("s3 throughput against s3rver, %zu MiB: put %.2f s (%.1f MiB/s, incl. hashing pass), get %.2f s "
           "(%.1f MiB/s)\n", mib, t1 - t0, (double)mib / (t1 - t0), t2 - t1, (double)mib / (t2 - t1));
    fflush(stdout);
    ck_assert_int_eq(ar_s3_delete(s3, "bench/big.bin", &err), AR_OK);
    unlink(src);
    unlink(dst);
    ar_free(src);
    ar_free(dst);
    ar_s3_free(s3);
}
END_TEST

Suite *s3_suite(void)
{
    Suite *s = suite_create("s3");
    TCase *tc = tcase_create("s3");
    tcase_set_timeout(tc, 180);
    tcase_add_unchecked_fixture(tc, s3rver_start, s3rver_stop);
    tcase_add_test(tc, test_file_roundtrip_5mib);
    tcase_add_test(tc, test_key_encoding_roundtrip);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_throughput);
    suite_add_tcase(s, tc);
    return s;
}
