/* s3.c — S3-compatible object storage client over libcurl: path-style requests signed with SigV4
 * (clients/sigv4.h), streaming uploads from files (SHA-256 computed in a first pass), downloads to a file
 * descriptor, HEAD/DELETE, bucket creation and presigned GET URLs. */
#include "afterresume/clients/s3.h"
#include "afterresume/clients/sigv4.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S3_CONNECT_TIMEOUT_S 5L
#define S3_DEFAULT_TIMEOUT_S 300L
#define S3_MAX_KEY_BYTES 1024
#define S3_ERROR_BODY_MAX 65536
#define S3_HASH_CHUNK (256 * 1024)

struct ar_s3 {
    char *endpoint; /* scheme://host[:port], no trailing slash */
    char *host;     /* Host header value */
    char *region;
    char *bucket;
    char *access_key;
    char *secret_key;
    long timeout_s;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

ar_s3 *ar_s3_new(const char *endpoint, const char *region, const char *bucket, const char *access_key,
                 const char *secret_key, ar_error *err)
{
    if (!endpoint || !*endpoint || !region || !*region || !bucket || !*bucket || !access_key || !*access_key ||
        !secret_key || !*secret_key) {
        ar_error_set(err, AR_ERR_BAD_REQUEST, "S3: endpoint, region, bucket and both keys are required");
        return NULL;
    }
    if (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0) {
        ar_error_set(err, AR_ERR_BAD_REQUEST, "S3: endpoint must start with http:// or https://");
        return NULL;
    }
    if (strchr(bucket, '/')) {
        ar_error_set(err, AR_ERR_BAD_REQUEST, "S3: bucket name must not contain '/'");
        return NULL;
    }
    ar_buf host = AR_BUF_INIT;
    if (ar_sigv4_host_from_endpoint(endpoint, &host) != 0) {
        ar_buf_free(&host);
        ar_error_set(err, AR_ERR_BAD_REQUEST, "S3: endpoint has no host");
        return NULL;
    }
    if (sodium_init() < 0) {
        ar_buf_free(&host);
        ar_error_set(err, AR_ERR_INTERNAL, "S3: libsodium initialisation failed");
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    ar_s3 *s3 = ar_calloc(1, sizeof *s3);
    /* Keep only scheme://authority: the signed path is built from bucket and key. */
    const char *auth = strstr(endpoint, "://") + 3;
    s3->endpoint = ar_strndup(endpoint, (size_t)(auth - endpoint) + strcspn(auth, "/?#"));
    s3->host = ar_buf_steal(&host);
    s3->region = ar_strdup(region);
    s3->bucket = ar_strdup(bucket);
    s3->access_key = ar_strdup(access_key);
    s3->secret_key = ar_strdup(secret_key);
    s3->timeout_s = S3_DEFAULT_TIMEOUT_S;
    return s3;
}

void ar_s3_free(ar_s3 *s3)
{
    if (!s3)
        return;
    ar_free(s3->endpoint);
    ar_free(s3->host);
    ar_free(s3->region);
    ar_free(s3->bucket);
    ar_free(s3->access_key);
    if (s3->secret_key) {
        sodium_memzero(s3->secret_key, strlen(s3->secret_key));
        ar_free(s3->secret_key);
    }
    ar_free(s3);
}

void ar_s3_set_timeout(ar_s3 *s3, long total_seconds)
{
    if (s3)
        s3->timeout_s = total_seconds < 0 ? 0 : total_seconds;
}

/* ---- one request ------------------------------------------------------------------------------------ */

/* Request body: either a file descriptor (size bytes from offset 0) or a memory buffer. */
typedef struct s3_body {
    int fd;
    const unsigned char *data;
    size_t size;
    size_t pos;
    int read_errno;
} s3_body;

typedef struct s3_response {
    CURL *curl;
    int out_fd;      /* 2xx bodies go here when >= 0 */
    ar_buf err_body; /* other bodies (S3 error XML), capped */
    int write_errno;
} s3_response;

static size_t body_read(char *dest, size_t size, size_t nitems, void *userdata)
{
    s3_body *b = userdata;
    size_t want = size * nitems;
    if (want > b->size - b->pos)
        want = b->size - b->pos;
    if (want == 0)
        return 0;
    if (b->data) {
        memcpy(dest, b->data + b->pos, want);
        b->pos += want;
        return want;
    }
    for (;;) {
        ssize_t n = read(b->fd, dest, want);
        if (n > 0) {
            b->pos += (size_t)n;
            return (size_t)n;
        }
        if (n < 0 && errno == EINTR)
            continue;
        b->read_errno = n == 0 ? EIO : errno; /* the file shrank or failed while being sent */
        return CURL_READFUNC_ABORT;
    }
}

static int body_seek(void *userdata, curl_off_t offset, int origin)
{
    s3_body *b = userdata;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > b->size)
        return CURL_SEEKFUNC_CANTSEEK;
    if (!b->data && lseek(b->fd, (off_t)offset, SEEK_SET) < 0)
        return CURL_SEEKFUNC_FAIL;
    b->pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t response_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    s3_response *r = userdata;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300 && r->out_fd >= 0) {
        size_t done = 0;
        while (done < n) {
            ssize_t w = write(r->out_fd, ptr + done, n - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                r->write_errno = w < 0 ? errno : EIO;
                return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
            }
            done += (size_t)w;
        }
        return n;
    }
    if (r->err_body.len < S3_ERROR_BODY_MAX)
        ar_buf_append(&r->err_body, ptr, n < S3_ERROR_BODY_MAX - r->err_body.len ? n : S3_ERROR_BODY_MAX - r->err_body.len);
    return n;
}

/* Text between <tag> and </tag> in an S3 error document, or NULL. */
static char *xml_element(const char *xml, const char *tag)
{
    char open[32], close[32];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *start = strstr(xml, open);
    if (!start)
        return NULL;
    start += strlen(open);
    const char *end = strstr(start, close);
    return end ? ar_strndup(start, (size_t)(end - start)) : NULL;
}

static int header_value_ok(const char *v)
{
    for (; *v; v++)
        if (*v == '\r' || *v == '\n')
            return 0;
    return 1;
}

static int key_ok(const char *key)
{
    return key && *key && strlen(key) <= S3_MAX_KEY_BYTES;
}

/* Perform one signed request on /bucket[/key][?query]. body may be NULL (empty body). For GET, 2xx bodies go to
 * out_fd. content_length_out receives the Content-Length of a HEAD answer. */
static int s3_request(ar_s3 *s3, const char *method, const char *key, const char *query, s3_body *body,
                      const char *payload_hash, const char *content_type, int out_fd, long long *content_length_out,
                      ar_error *err)
{
    if (content_type && !header_value_ok(content_type))
        return ar_error_set(err, AR_ERR_BAD_REQUEST, "S3: content type contains a line break");

    ar_buf path = AR_BUF_INIT, url = AR_BUF_INIT, authz = AR_BUF_INIT;
    ar_buf_printf(&path, "/%s", s3->bucket);
    if (key)
        ar_buf_printf(&path, "/%s", key);
    ar_buf_puts(&url, s3->endpoint);
    ar_sigv4_canonical_uri(ar_buf_cstr(&path), AR_SIGV4_S3, &url);
    if (query)
        ar_buf_printf(&url, "?%s", query);

    char amz_date[17];
    ar_sigv4_amz_date(time(NULL), amz_date);
    ar_sigv4_header h[4] = {{"host", s3->host}, {"x-amz-content-sha256", payload_hash}, {"x-amz-date", amz_date}};
    size_t nh = 3;
    if (content_type)
        h[nh++] = (ar_sigv4_header){"content-type", content_type};
    ar_sigv4_credentials creds = {s3->access_key, s3->secret_key, s3->region, "s3", NULL};
    ar_sigv4_request req = {.method = method, .path = ar_buf_cstr(&path), .query = query, .headers = h,
                            .nheaders = nh, .payload_sha256_hex = payload_hash};
    if (ar_sigv4_sign(&req, &creds, amz_date, AR_SIGV4_S3, &authz, NULL, NULL) != 0) {
        ar_buf_free(&path);
        ar_buf_free(&url);
        ar_buf_free(&authz);
        return ar_error_set(err, AR_ERR_INTERNAL, "S3: could not sign the request");
    }

    struct curl_slist *headers = NULL;
    char *line;
    line = ar_asprintf("Host: %s", s3->host);
    headers = curl_slist_append(headers, line);
    ar_free(line);
    line = ar_asprintf("x-amz-date: %s", amz_date);
    headers = curl_slist_append(headers, line);
    ar_free(line);
    line = ar_asprintf("x-amz-content-sha256: %s", payload_hash);
    headers = curl_slist_append(headers, line);
    ar_free(line);
    line = ar_asprintf("Authorization: %s", ar_buf_cstr(&authz));
    headers = curl_slist_append(headers, line);
    ar_free(line);
    if (content_type) {
        line = ar_asprintf("Content-Type: %s", content_type);
        headers = curl_slist_append(headers, line);
        ar_free(line);
    }

    s3_response resp = {.out_fd = out_fd};
    ar_buf_init(&resp.err_body);
    CURL *curl = curl_easy_init();
    if (!curl) {
        curl_slist_free_all(headers);
        ar_buf_free(&path);
        ar_buf_free(&url);
        ar_buf_free(&authz);
        return ar_error_set(err, AR_ERR_INTERNAL, "S3: curl_easy_init failed");
    }
    resp.curl = curl;
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, ar_buf_cstr(&url));
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L); /* the signed path must be sent as is ("./", "//") */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, S3_CONNECT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, s3->timeout_s);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, response_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
    s3_body empty = {.fd = -1, .data = (const unsigned char *)"", .size = 0};
    if (strcmp(method, "PUT") == 0) {
        if (!body)
            body = &empty;
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, body_read);
        curl_easy_setopt(curl, CURLOPT_READDATA, body);
        curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, body_seek);
        curl_easy_setopt(curl, CURLOPT_SEEKDATA, body);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body->size);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    }

    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    const char *what = key ? key : "(bucket)";
    int result = AR_OK;
    if (rc == CURLE_WRITE_ERROR && resp.write_errno) {
        result = ar_error_set(err, AR_ERR_INTERNAL, "S3 %s %s: writing the download failed: %s", method, what,
                              strerror(resp.write_errno));
    } else if (rc == CURLE_ABORTED_BY_CALLBACK && body && body->read_errno) {
        result = ar_error_set(err, AR_ERR_INTERNAL, "S3 %s %s: reading the upload failed: %s", method, what,
                              strerror(body->read_errno));
    } else if (rc != CURLE_OK) {
        result = ar_error_set(err, AR_ERR_UNAVAILABLE, "S3 %s %s: %s%s%s", method, what, curl_easy_strerror(rc),
                              curl_err[0] ? ": " : "", curl_err);
    } else if (status < 200 || status >= 300) {
        char *code = xml_element(ar_buf_cstr(&resp.err_body), "Code");
        char *message = xml_element(ar_buf_cstr(&resp.err_body), "Message");
        result = ar_error_set(err, status == 404 ? AR_ERR_NOT_FOUND : AR_ERR_UNAVAILABLE,
                              "S3 %s %s: HTTP %ld%s%s%s%s", method, what, status, code ? " " : "",
                              code ? code : "", message ? ": " : "", message ? message : "");
        ar_free(code);
        ar_free(message);
    } else if (content_length_out) {
        curl_off_t cl = -1;
        curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        *content_length_out = (long long)cl;
    }

    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    ar_buf_free(&resp.err_body);
    ar_buf_free(&path);
    ar_buf_free(&url);
    sodium_memzero(authz.data, authz.len);
    ar_buf_free(&authz);
    return result;
}

/* A 409 on create: BucketAlreadyOwnedByYou, or BucketAlreadyExists from servers with a single account (s3rver).
 * Either way the bucket is usable if a HEAD on it with our credentials succeeds. */
static int bucket_accessible_after_conflict(ar_s3 *s3, const ar_error *create_err)
{
    if (!strstr(create_err->message, "HTTP 409 BucketAlready"))
        return 0;
    ar_error head_err = {0};
    return ar_s3_check_bucket(s3, &head_err) == AR_OK;
}

/* ---- public operations ------------------------------------------------------------------------------ */

int ar_s3_put_file(ar_s3 *s3, const char *key, const char *path, const char *content_type, ar_error *err)
{
    if (!s3 || !key_ok(key) || !path)
        return ar_error_set(err, AR_ERR_BAD_REQUEST, "S3 PUT: object key (1..1024 bytes) and file path required");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ar_error_set(err, AR_ERR_INTERNAL, "S3 PUT %s: cannot open %s: %s", key, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ar_error_set(err, AR_ERR_INTERNAL, "S3 PUT %s: %s is not a regular file", key, path);
    }

    /* First pass: SHA-256 of exactly st_size bytes, in chunks. */
    crypto_hash_sha256_state hs;
    crypto_hash_sha256_init(&hs);
    unsigned char *chunk = ar_malloc(S3_HASH_CHUNK);
    uint64_t total = 0;
    int read_failed = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, S3_HASH_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            read_failed = errno;
            break;
        }
        if (n == 0)
            break;
        crypto_hash_sha256_update(&hs, chunk, (unsigned long long)n);
        total += (uint64_t)n;
    }
    ar_free(chunk);
    if (read_failed || total != (uint64_t)st.st_size || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return ar_error_set(err, AR_ERR_INTERNAL, "S3 PUT %s: reading %s failed%s%s", key, path,
                            read_failed ? ": " : " (file changed while hashing)",
                            read_failed ? strerror(read_failed) : "");
    }
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&hs, digest);
    char hash_hex[65];
    sodium_bin2hex(hash_hex, sizeof hash_hex, digest, sizeof digest);

    s3_body body = {.fd = fd, .size = (size_t)st.st_size};
    int rc = s3_request(s3, "PUT", key, NULL, &body, hash_hex,
                        content_type ? content_type : "application/octet-stream", -1, NULL, err);
    close(fd);
    return rc;
}

int ar_s3_put_buffer(ar_s3 *s3, const char *key, const void *data, size_t len, const char *content_type,
                     ar_error *err)
{
    if (!s3 || !key_ok(key) || (!data && len))
        return ar_error_set(err, AR_ERR_BAD_REQUEST, "S3 PUT: object key (1..1024 bytes) and data required");
    char hash_hex[65];
    ar_sigv4_sha256_hex(data ? data : "", len, hash_hex);
    s3_body body = {.fd = -1, .data = data ? data : (const unsigned char *)"", .size = len};
    return s3_request(s3, "PUT", key, NULL, &body, hash_hex,
                      content_type ? content_type : "application/octet-stream", -1, NULL, err);
}

int ar_s3_get_to_fd(ar_s3 *s3, const char *key, int fd, ar_error *err)
{
    if (!s3 || !key_ok(key) || fd < 0)
        return ar_error_set(err, AR_ERR_BAD_REQUEST, "S3 GET: object key (1..1024 bytes) and fd required");
    return s3_request(s3, "GET", key, NULL, NULL, AR_SIGV4_EMPTY_SHA256, NULL, fd, NULL, err);
}

int ar_s3_delete(ar_s3 *s3, const char *key, ar_error *err)
{
    if (!s3 || !key_ok(key))
        return ar_error_set(err, AR_ERR_BAD_REQUEST, "S3 DELETE: object key (1..1024 bytes) required");
    return s3_request(s3, "DELETE", key, NULL, NULL, AR_SIGV4_EMPTY_SHA256, NULL, -1, NULL, err);
}

int ar_s3_head(ar_s3 *s3, const char *key, long long *size, ar_error *err)
{
    if (!s3 || !key_ok(key))
        return ar_error_set(err, AR_ERR_BAD_REQUEST, "S3 HEAD: object key (1..1024 bytes) required");
    long long len = -1;
    int rc = s3_request(s3, "HEAD", key, NULL, NULL, AR_SIGV4_EMPTY_SHA256, NULL, -1, &len, err);
    if (rc == AR_OK && size)
        *size = len;
    return rc;
}

int ar_s3_create_bucket(ar_s3 *s3, ar_error *err)
{
    if (!s3)
        return ar_error_set(err, AR_ERR_BAD_REQUEST, "S3: no client");
    ar_error local = {0};
    int rc;
    if (strcmp(s3->region, "us-east-1") == 0) {
        rc = s3_request(s3, "PUT", NULL, NULL, NULL, AR_SIGV4_EMPTY_SHA256, NULL, -1, NULL, &local);
    } else {
        char *xml = ar_asprintf("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                                "<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>",
                                s3->region);
        char hash_hex[65];
        ar_sigv4_sha256_hex(xml, strlen(xml), hash_hex);
        s3_body body = {.fd = -1, .data = (const unsigned char *)xml, .size = strlen(xml)};
        rc = s3_request(s3, "PUT", NULL, NULL, &body, hash_hex, "application/xml", -1, NULL, &local);
        ar_free(xml);
    }
    if (rc == AR_OK || bucket_accessible_after_conflict(s3, &local))
        return AR_OK;
    return ar_error_set(err, local.code, "%s", local.message);
}

int ar_s3_check_bucket(ar_s3 *s3, ar_error *err)
{
    if (!s3)
        return ar_error_set(err, AR_ERR_BAD_REQUEST, "S3: no client");
    return s3_request(s3, "HEAD", NULL, NULL, NULL, AR_SIGV4_EMPTY_SHA256, NULL, -1, NULL, err);
}

char *ar_s3_presign_get(ar_s3 *s3, const char *key, int expires_s)
{
    if (!s3 || !key_ok(key) || expires_s < 1 || expires_s > 604800)
        return NULL;
    char amz_date[17];
    ar_sigv4_amz_date(time(NULL), amz_date);
    ar_buf path = AR_BUF_INIT, url = AR_BUF_INIT;
    ar_buf_printf(&path, "/%s/%s", s3->bucket, key);
    ar_sigv4_credentials creds = {s3->access_key, s3->secret_key, s3->region, "s3", NULL};
    int rc = ar_sigv4_presign_url(s3->endpoint, s3->host, ar_buf_cstr(&path), &creds, amz_date, expires_s, &url);
    ar_buf_free(&path);
    if (rc != 0) {
        ar_buf_free(&url);
        return NULL;
    }
    return ar_buf_steal(&url);
}
