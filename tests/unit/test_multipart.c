/* test_multipart.c — unit tests for the streaming multipart/form-data parser: whole, byte-by-byte and split
 * feeds give the same callback sequence; delimiters, limits, headers, filenames and malformed bodies. */
#include <check.h>
#include <string.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/error.h"
#include "afterresume/http/multipart.h"

/* Records callbacks as text; consecutive data callbacks are merged so the log doesn't depend on chunking. */
typedef struct recorder {
    ar_buf log;
    int in_data;
    size_t data_calls, data_bytes;
    int abort_on;   /* 1 begin, 2 data, 3 end: return non-zero from that callback */
} recorder;

static int rec_begin(void *ud, const ar_multipart_part *p)
{
    recorder *r = ud;
    ck_assert_ptr_nonnull(p->name);
    ar_buf_printf(&r->log, "[begin name=%s file=%s type=%s]", p->name, p->filename ? p->filename : "(null)",
                  p->content_type ? p->content_type : "(null)");
    r->in_data = 0;
    return r->abort_on == 1;
}

static int rec_data(void *ud, const char *d, size_t n)
{
    recorder *r = ud;
    ck_assert_uint_gt(n, 0);
    if (!r->in_data) ar_buf_puts(&r->log, "[data]");
    r->in_data = 1;
    ar_buf_append(&r->log, d, n);
    r->data_calls++;
    r->data_bytes += n;
    return r->abort_on == 2;
}

static int rec_end(void *ud)
{
    recorder *r = ud;
    ar_buf_puts(&r->log, "[end]");
    r->in_data = 0;
    return r->abort_on == 3;
}

static const ar_multipart_callbacks rec_cb = {rec_begin, rec_data, rec_end};

/* Parse body fed in chunks of `chunk` bytes (0 = whole); returns the log (+ "[error:msg]" or "[ok]"). */
static char *run_chunked(const char *boundary, const char *body, size_t len, size_t chunk, size_t max_hdr,
                         size_t max_parts)
{
    recorder r = {AR_BUF_INIT, 0, 0, 0, 0};
    ar_multipart *m = ar_multipart_new(boundary, &rec_cb, &r, max_hdr, max_parts);
    ck_assert_ptr_nonnull(m);
    ar_error e = {0};
    int rc = 0;
    if (chunk == 0) chunk = len ? len : 1;
    for (size_t off = 0; off < len && rc == 0; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        rc = ar_multipart_feed(m, body + off, n, &e);
    }
    if (rc == 0) rc = ar_multipart_finish(m, &e);
    if (rc == 0)
        ar_buf_puts(&r.log, "[ok]");
    else {
        ck_assert_int_eq(e.code, AR_ERR_BAD_REQUEST);
        ar_buf_printf(&r.log, "[error:%s]", e.message);
    }
    ar_multipart_free(m);
    return ar_buf_steal(&r.log);
}

/* Feed in pieces split at the given offsets (ascending). */
static char *run_split(const char *boundary, const char *body, size_t len, const size_t *cuts, size_t ncuts)
{
    recorder r = {AR_BUF_INIT, 0, 0, 0, 0};
    ar_multipart *m = ar_multipart_new(boundary, &rec_cb, &r, 8192, 100);
    ar_error e = {0};
    int rc = 0;
    size_t prev = 0;
    for (size_t i = 0; i <= ncuts && rc == 0; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        rc = ar_multipart_feed(m, body + prev, end - prev, &e);
        prev = end;
    }
    if (rc == 0) rc = ar_multipart_finish(m, &e);
    if (rc == 0)
        ar_buf_puts(&r.log, "[ok]");
    else
        ar_buf_printf(&r.log, "[error:%s]", e.message);
    ar_multipart_free(m);
    return ar_buf_steal(&r.log);
}

#define BND "----WebKitFormBoundaryx7Yz"
static const char three_part_body[] =
    "This is the preamble; ignore it.\r\n"
    "------WebKitFormBoundaryx7Yz\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "Weekly sync\r\n"
    "------WebKitFormBoundaryx7Yz\r\n"
    "content-disposition: form-data; name=\"notes\"\r\n"
    "\r\n"
    "line one\r\nline two -- with dashes\r\n--not a boundary\r\n"
    "------WebKitFormBoundaryx7Yz\r\n"
    "Content-Disposition: form-data; name=\"evidence\"; filename=\"report.pdf\"\r\n"
    "CONTENT-TYPE: application/pdf\r\n"
    "X-Ignored: yes\r\n"
    "\r\n"
    "%PDF-1.4\x00\x01\xff binary\r\n\r\n"
    "------WebKitFormBoundaryx7Yz--\r\n"
    "epilogue, also ignored\r\n";

static const char three_part_log[] =
    "[begin name=title file=(null) type=(null)][data]Weekly sync[end]"
    "[begin name=notes file=(null) type=(null)][data]line one\r\nline two -- with dashes\r\n--not a boundary[end]"
    "[begin name=evidence file=report.pdf type=application/pdf][data]%PDF-1.4\x00\x01\xff binary\r\n[end][ok]";

/* For logs without NUL bytes. */
static void assert_log_eq(const char *got, const char *want)
{
    ck_assert_msg(strcmp(got, want) == 0, "got:  %s\nwant: %s", got, want);
}

START_TEST(multipart_whole_and_byte_by_byte)
{
    size_t len = sizeof three_part_body - 1;
    /* the log holds binary data with a NUL; compare the full buffers */
    recorder r = {AR_BUF_INIT, 0, 0, 0, 0};
    ar_multipart *m = ar_multipart_new(BND, &rec_cb, &r, 8192, 10);
    ar_error e = {0};
    ck_assert_int_eq(ar_multipart_feed(m, three_part_body, len, &e), 0);
    ck_assert_int_eq(ar_multipart_finish(m, &e), 0);
    ck_assert_uint_eq(ar_multipart_part_count(m), 3);
    ar_multipart_free(m);
    ar_buf_puts(&r.log, "[ok]");
    ck_assert_uint_eq(r.log.len, sizeof three_part_log - 1);
    ck_assert_int_eq(memcmp(r.log.data, three_part_log, r.log.len), 0);
    size_t whole_calls = r.data_calls;
    ar_buf_free(&r.log);

    for (size_t chunk = 1; chunk <= 7; chunk++) {
        recorder r2 = {AR_BUF_INIT, 0, 0, 0, 0};
        m = ar_multipart_new(BND, &rec_cb, &r2, 8192, 10);
        for (size_t off = 0; off < len; off += chunk)
            ck_assert_int_eq(ar_multipart_feed(m, three_part_body + off, len - off < chunk ? len - off : chunk, &e),
                             0);
        ck_assert_int_eq(ar_multipart_finish(m, &e), 0);
        ar_multipart_free(m);
        ar_buf_puts(&r2.log, "[ok]");
        ck_assert_uint_eq(r2.log.len, sizeof three_part_log - 1);
        ck_assert_int_eq(memcmp(r2.log.data, three_part_log, r2.log.len), 0);
        if (chunk == 1) ck_assert_uint_gt(r2.data_calls, whole_calls); /* data really streamed */
        ar_buf_free(&r2.log);
    }
}
END_TEST

START_TEST(multipart_every_split_position)
{
    /* near-delimiters inside data: CR CR LF, "\r\n--b" (too short), LF-only, CR-only, a trailing "-" */
    static const char body2[] = "--b0\r\n"
                                "Content-Disposition: form-data; name=\"a\"\r\n\r\n"
                                "alpha\r\r\n-\r\n--b\r\n--b\n--b0\r--b0\r\n-"
                                "\r\n--b0\r\n"
                                "Content-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n"
                                "Content-Type: text/plain\r\n\r\n"
                                "\r\n--b\r--b0\r\n\r\n"
                                "\r\n--b0--";
    size_t len = sizeof body2 - 1;
    char *want = run_split("b0", body2, len, NULL, 0);
    assert_log_eq(want,
                  "[begin name=a file=(null) type=(null)][data]alpha\r\r\n-\r\n--b\r\n--b\n--b0\r--b0\r\n-[end]"
                  "[begin name=f file=x.txt type=text/plain][data]\r\n--b\r--b0\r\n\r\n[end][ok]");
    for (size_t k = 0; k <= len; k++) {
        char *got = run_split("b0", body2, len, &k, 1);
        ck_assert_msg(strcmp(got, want) == 0, "split at %zu: %s", k, got);
        free(got);
    }
    /* and every pair of split positions */
    for (size_t a = 0; a <= len; a++)
        for (size_t b = a; b <= len; b++) {
            size_t cuts[2] = {a, b};
            char *got = run_split("b0", body2, len, cuts, 2);
            ck_assert_msg(strcmp(got, want) == 0, "split at %zu,%zu: %s", a, b, got);
            free(got);
        }
    free(want);
}
END_TEST

START_TEST(multipart_boundary_like_text_in_data)
{
    /* "--B" without CRLF, boundary prefixes, LF-only "--B", a longer boundary, CR CR LF */
    static const char body[] = "--B\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\n"
                               "--B at start\r\nx--B\r\n--\r\n-B\r\n--b\n--B\r\r\n--"
                               "\r\n--B--";
    char *got = run_chunked("B", body, sizeof body - 1, 0, 8192, 10);
    assert_log_eq(got, "[begin name=t file=(null) type=(null)][data]--B at start\r\nx--B\r\n--\r\n-B\r\n--b\n--B\r\r\n--"
                       "[end][ok]");
    free(got);

    /* a delimiter followed by something other than "--", padding or CRLF is malformed */
    static const char junk[] = "--B\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\nabc\r\n--BX\r\n--B--";
    got = run_chunked("B", junk, sizeof junk - 1, 1, 8192, 10);
    assert_log_eq(got, "[begin name=t file=(null) type=(null)][data]abc"
                       "[end][error:malformed multipart boundary line (expected CRLF after the boundary)]");
    free(got);

    /* transport padding after the delimiter, and a preamble that contains the boundary mid-line */
    static const char pad[] = "junk --B junk\r\n--B \t\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\n"
                              "v\r\n--B--  trailing";
    got = run_chunked("B", pad, sizeof pad - 1, 2, 8192, 10);
    assert_log_eq(got, "[begin name=p file=(null) type=(null)][data]v[end][ok]");
    free(got);
}
END_TEST

START_TEST(multipart_empty_parts_and_empty_body)
{
    static const char body[] = "--x\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n"
                               "\r\n--x\r\nContent-Disposition: form-data; name=\"\"; filename=\"\"\r\n"
                               "Content-Type: application/octet-stream\r\n\r\n"
                               "\r\n--x--";
    char *got = run_chunked("x", body, sizeof body - 1, 0, 8192, 10);
    assert_log_eq(got, "[begin name=empty file=(null) type=(null)][end]"
                       "[begin name= file= type=application/octet-stream][end][ok]");
    free(got);

    got = run_chunked("x", "--x--\r\n", 7, 1, 8192, 10);
    assert_log_eq(got, "[ok]");
    free(got);

    got = run_chunked("x", "", 0, 0, 8192, 10);
    assert_log_eq(got, "[error:the multipart body ended before its closing boundary]");
    free(got);
}
END_TEST

START_TEST(multipart_missing_closing_boundary)
{
    static const char body[] = "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n--x\r\n";
    for (size_t chunk = 0; chunk < 3; chunk++) {
        char *got = run_chunked("x", body, sizeof body - 1, chunk, 8192, 10);
        assert_log_eq(got, "[begin name=a file=(null) type=(null)][data]value[end]"
                           "[error:the multipart body ended before its closing boundary]");
        free(got);
    }
    /* truncated inside data: the part never ends */
    char *got = run_chunked("x", body, 52, 0, 8192, 10);
    assert_log_eq(got, "[begin name=a file=(null) type=(null)][data]val"
                       "[error:the multipart body ended before its closing boundary]");
    free(got);
    /* "--x-" is not a close delimiter */
    got = run_chunked("x", "--x-\r\n", 6, 0, 8192, 10);
    assert_log_eq(got, "[error:malformed multipart closing boundary]");
    free(got);
    /* no boundary at all */
    got = run_chunked("x", "just text", 9, 0, 8192, 10);
    assert_log_eq(got, "[error:the multipart body ended before its closing boundary]");
    free(got);
}
END_TEST

static char *n_parts_body(int n)
{
    ar_buf b = AR_BUF_INIT;
    for (int i = 0; i < n; i++) ar_buf_printf(&b, "--q\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\n%d\r\n", i, i);
    ar_buf_puts(&b, "--q--\r\n");
    return ar_buf_steal(&b);
}

START_TEST(multipart_too_many_parts)
{
    char *body = n_parts_body(3);
    char *got = run_chunked("q", body, strlen(body), 0, 8192, 3);
    ck_assert_ptr_nonnull(strstr(got, "[begin name=f2 file=(null) type=(null)][data]2[end][ok]"));
    free(got);
    got = run_chunked("q", body, strlen(body), 1, 8192, 2);
    assert_log_eq(got, "[begin name=f0 file=(null) type=(null)][data]0[end]"
                       "[begin name=f1 file=(null) type=(null)][data]1[end]"
                       "[error:too many multipart parts (limit 2)]");
    free(got);
    free(body);
}
END_TEST

START_TEST(multipart_header_too_long)
{
    /* header block = the disposition line + CRLF + CRLF */
    static const char body[] = "--q\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--q--";
    size_t block = strlen("Content-Disposition: form-data; name=\"a\"\r\n\r\n");
    for (size_t chunk = 0; chunk < 3; chunk++) {
        char *got = run_chunked("q", body, sizeof body - 1, chunk, block, 10);
        assert_log_eq(got, "[begin name=a file=(null) type=(null)][data]v[end][ok]");
        free(got);
        got = run_chunked("q", body, sizeof body - 1, chunk, block - 1, 10);
        assert_log_eq(got, "[error:multipart part headers are too large]");
        free(got);
    }
    /* a header block that never ends cannot grow past the limit */
    ar_buf big = AR_BUF_INIT;
    ar_buf_puts(&big, "--q\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: ");
    for (int i = 0; i < 100000; i++) ar_buf_putc(&big, 'p');
    char *got = run_chunked("q", big.data, big.len, 1000, 8192, 10);
    assert_log_eq(got, "[error:multipart part headers are too large]");
    free(got);
    ar_buf_free(&big);
}
END_TEST

static char *one_part(const char *headers, size_t chunk)
{
    ar_buf b = AR_BUF_INIT;
    ar_buf_printf(&b, "--q\r\n%s\r\nDATA\r\n--q--\r\n", headers);
    char *got = run_chunked("q", b.data, b.len, chunk, 8192, 10);
    ar_buf_free(&b);
    return got;
}

static void expect_part(const char *headers, const char *want)
{
    for (size_t chunk = 0; chunk < 2; chunk++) {
        char *got = one_part(headers, chunk);
        ck_assert_msg(strcmp(got, want) == 0, "headers %s\ngot:  %s\nwant: %s", headers, got, want);
        free(got);
    }
}

START_TEST(multipart_filenames)
{
    expect_part("Content-Disposition: form-data; name=\"f\"; filename=\"C:\\Users\\ann\\evil.txt\"\r\n",
                "[begin name=f file=evil.txt type=(null)][data]DATA[end][ok]");
    expect_part("Content-Disposition: form-data; name=\"f\"; filename=\"../../etc/passwd\"\r\n",
                "[begin name=f file=passwd type=(null)][data]DATA[end][ok]");
    expect_part("Content-Disposition: form-data; name=\"f\"; filename=\"a/b\\..\"\r\n",
                "[begin name=f file= type=(null)][data]DATA[end][ok]");
    expect_part("Content-Disposition: form-data; name=\"f\"; filename=\"dir/\"\r\n",
                "[begin name=f file= type=(null)][data]DATA[end][ok]");
    expect_part("Content-Disposition: form-data; name=\"f\"; filename=plain.txt\r\n",
                "[begin name=f file=plain.txt type=(null)][data]DATA[end][ok]");
    expect_part("Content-Disposition: form-data; name=\"f\"; filename=\"say \\\"hi\\\".txt\"\r\n",
                "[begin name=f file=say \"hi\".txt type=(null)][data]DATA[end][ok]");
    expect_part("Content-Disposition: form-data; name=\"f\"; filename=\"caf\xc3\xa9.txt\"\r\n",
                "[begin name=f file=caf\xc3\xa9.txt type=(null)][data]DATA[end][ok]");
    /* filename* (RFC 5987) is preferred over filename, whichever comes first */
    expect_part("Content-Disposition: form-data; name=\"f\"; filename=\"rates.txt\"; "
                "filename*=UTF-8''%E2%82%AC%20rates.txt\r\n",
                "[begin name=f file=\xe2\x82\xac rates.txt type=(null)][data]DATA[end][ok]");
    expect_part("Content-Disposition: form-data; filename*=utf-8'en'..%2F..%2Fx.txt; name=f; filename=\"y\"\r\n",
                "[begin name=f file=x.txt type=(null)][data]DATA[end][ok]");
    expect_part("Content-Disposition: form-data; name=f; filename*=iso-8859-1''caf%E9\r\n",
                "[begin name=f file=caf\xc3\xa9 type=(null)][data]DATA[end][ok]");
    /* bad filenames */
    expect_part("Content-Disposition: form-data; name=f; filename*=UTF-8''%FF\r\n",
                "[error:malformed filename* parameter in a multipart part]");
    expect_part("Content-Disposition: form-data; name=f; filename*=UTF-8''a%00b\r\n",
                "[error:malformed filename* parameter in a multipart part]");
    expect_part("Content-Disposition: form-data; name=f; filename*=koi8-r''x\r\n",
                "[error:malformed filename* parameter in a multipart part]");
    expect_part("Content-Disposition: form-data; name=f; filename*=UTF-8%zz\r\n",
                "[error:malformed filename* parameter in a multipart part]");
    expect_part("Content-Disposition: form-data; name=f; filename*=UTF-8''a%0Ab\r\n",
                "[error:a multipart filename contains control characters]");
    expect_part("Content-Disposition: form-data; name=f; filename=\"\xff.txt\"\r\n",
                "[error:a multipart filename is not valid UTF-8]");
}
END_TEST

START_TEST(multipart_headers)
{
    expect_part("cOnTeNt-DiSpOsItIoN:form-data;name=\"a\\\"b\"\r\ncontent-type:  text/plain; charset=utf-8 \r\n",
                "[begin name=a\"b file=(null) type=text/plain; charset=utf-8][data]DATA[end][ok]");
    expect_part("Content-Disposition: FORM-DATA; name=caf\xc3\xa9\r\n",
                "[error:malformed Content-Disposition header in a multipart part]"); /* unquoted non-token */
    expect_part("Content-Disposition: form-data; name=\"caf\xc3\xa9\"\r\n",
                "[begin name=caf\xc3\xa9 file=(null) type=(null)][data]DATA[end][ok]");
    expect_part("Content-Disposition: form-data; name=\"\xc3\x28\"\r\n",
                "[error:a multipart field name is not valid UTF-8]");
    expect_part("Content-Disposition: attachment; name=\"a\"\r\n", "[error:a multipart part is not form-data]");
    expect_part("Content-Disposition: form-data; filename=\"a\"\r\n", "[error:a multipart part has no field name]");
    expect_part("Content-Disposition: form-data; name=\"a\"; name=\"b\"\r\n",
                "[error:malformed Content-Disposition header in a multipart part]");
    expect_part("Content-Disposition: form-data; name=\"a\r\n",
                "[error:malformed Content-Disposition header in a multipart part]");
    expect_part("Content-Type: text/plain\r\n", "[error:a multipart part has no Content-Disposition header]");
    expect_part("", "[error:a multipart part has no Content-Disposition header]");
    expect_part("Content-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b\r\n",
                "[error:a multipart part has two Content-Disposition headers]");
    expect_part("Content-Disposition: form-data; name=a\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n",
                "[error:a multipart part has two Content-Type headers]");
    expect_part("Content-Disposition: form-data; name=a\r\n folded: no\r\n", "[error:malformed multipart part header]");
    expect_part("Content-Disposition: form-data; name=a\r\nNo colon\r\n", "[error:malformed multipart part header]");
    expect_part("Content-Disposition: form-data; name=a\r\nBad Name: x\r\n", "[error:malformed multipart part header]");
    expect_part("Content-Disposition: form-data; name=a\r\n: x\r\n", "[error:malformed multipart part header]");
    expect_part("Content-Disposition: form-data; name=a\nX: y\r\n",
                "[error:a multipart part header contains control characters]");
    expect_part("Content-Disposition: form-data; name=a\r\nX: a\x01\r\n",
                "[error:a multipart part header contains control characters]");
}
END_TEST

START_TEST(multipart_lf_only_is_rejected)
{
    static const char body[] = "--q\nContent-Disposition: form-data; name=\"a\"\n\nv\n--q--\n";
    for (size_t chunk = 0; chunk < 2; chunk++) {
        char *got = run_chunked("q", body, sizeof body - 1, chunk, 8192, 10);
        assert_log_eq(got, "[error:malformed multipart boundary line (expected CRLF after the boundary)]");
        free(got);
    }
}
END_TEST

START_TEST(multipart_callback_abort_and_sticky_error)
{
    for (int where = 1; where <= 3; where++) {
        recorder r = {AR_BUF_INIT, 0, 0, 0, where};
        ar_multipart *m = ar_multipart_new(BND, &rec_cb, &r, 8192, 10);
        ar_error e = {0};
        ck_assert_int_eq(ar_multipart_feed(m, three_part_body, sizeof three_part_body - 1, &e), -1);
        ck_assert_int_eq(e.code, AR_ERR_BAD_REQUEST);
        ck_assert_str_eq(e.message, "the multipart upload was aborted by the request handler");
        size_t logged = r.log.len;
        ar_error e2 = {0};
        ck_assert_int_eq(ar_multipart_feed(m, "more", 4, &e2), -1);
        ck_assert_str_eq(e2.message, e.message);
        ar_error e3 = {0};
        ck_assert_int_eq(ar_multipart_finish(m, &e3), -1);
        ck_assert_str_eq(e3.message, e.message);
        ck_assert_uint_eq(r.log.len, logged); /* no callbacks after the abort */
        ar_multipart_free(m);
        ar_buf_free(&r.log);
    }
}
END_TEST

START_TEST(multipart_null_callbacks_and_bad_boundaries)
{
    ar_multipart_callbacks none = {NULL, NULL, NULL};
    ar_multipart *m = ar_multipart_new(BND, &none, NULL, 8192, 10);
    ar_error e = {0};
    ck_assert_int_eq(ar_multipart_feed(m, three_part_body, sizeof three_part_body - 1, &e), 0);
    ck_assert_int_eq(ar_multipart_finish(m, &e), 0);
    ar_multipart_free(m);
    ar_multipart_free(NULL);

    char b70[71], b71[72];
    memset(b70, 'a', 70);
    b70[70] = '\0';
    memset(b71, 'a', 71);
    b71[71] = '\0';
    m = ar_multipart_new(b70, &rec_cb, NULL, 8192, 10);
    ck_assert_ptr_nonnull(m);
    ar_multipart_free(m);
    m = ar_multipart_new("'()+_,-./:=? x", &rec_cb, NULL, 8192, 10);
    ck_assert_ptr_nonnull(m);
    ar_multipart_free(m);
    ck_assert_ptr_null(ar_multipart_new(b71, &rec_cb, NULL, 8192, 10));
    ck_assert_ptr_null(ar_multipart_new("", &rec_cb, NULL, 8192, 10));
    ck_assert_ptr_null(ar_multipart_new(NULL, &rec_cb, NULL, 8192, 10));
    ck_assert_ptr_null(ar_multipart_new("ends with space ", &rec_cb, NULL, 8192, 10));
    ck_assert_ptr_null(ar_multipart_new("quote\"", &rec_cb, NULL, 8192, 10));
    ck_assert_ptr_null(ar_multipart_new("cr\r", &rec_cb, NULL, 8192, 10));
    ck_assert_ptr_null(ar_multipart_new("semi;colon", &rec_cb, NULL, 8192, 10));
}
END_TEST

/* A large file streamed in 4 KiB chunks: data is handed over as it arrives and arrives intact. */
static int count_data(void *ud, const char *d, size_t n)
{
    size_t *sum = ud;
    for (size_t i = 0; i < n; i++) sum[0] += (unsigned char)d[i];
    sum[1] += n;
    return 0;
}

START_TEST(multipart_streams_large_part)
{
    size_t payload = 4u << 20;
    ar_buf b = AR_BUF_INIT;
    ar_buf_puts(&b, "--zz\r\nContent-Disposition: form-data; name=\"f\"; filename=\"big.bin\"\r\n\r\n");
    size_t start = b.len, want_sum = 0;
    ar_buf_reserve(&b, payload + 64);
    for (size_t i = 0; i < payload; i++) {
        char c = (char)((i * 131u + (i >> 9)) & 0xff);
        if (c == '\r' && (i & 1)) c = '-'; /* keep some CRs, not too many */
        b.data[b.len++] = c;
        want_sum += (unsigned char)c;
    }
    b.data[b.len] = '\0';
    ar_buf_puts(&b, "\r\n--zz--\r\n");
    ck_assert_uint_eq(b.len - start, payload + 10);

    size_t got[2] = {0, 0};
    ar_multipart_callbacks cb = {NULL, count_data, NULL};
    ar_multipart *m = ar_multipart_new("zz", &cb, got, 8192, 10);
    ar_error e = {0};
    size_t chunk = 4096;
    for (size_t off = 0; off < b.len; off += chunk) {
        ck_assert_int_eq(ar_multipart_feed(m, b.data + off, b.len - off < chunk ? b.len - off : chunk, &e), 0);
        if (off == 2 * chunk) ck_assert_uint_ge(got[1], chunk); /* delivered before the part ends */
    }
    ck_assert_int_eq(ar_multipart_finish(m, &e), 0);
    ck_assert_uint_eq(got[1], payload);
    ck_assert_uint_eq(got[0], want_sum);
    ar_multipart_free(m);
    ar_buf_free(&b);
}
END_TEST

Suite *multipart_suite(void)
{
    Suite *s = suite_create("multipart");
    TCase *tc = tcase_create("multipart");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, multipart_whole_and_byte_by_byte);
    tcase_add_test(tc, multipart_every_split_position);
    tcase_add_test(tc, multipart_boundary_like_text_in_data);
    tcase_add_test(tc, multipart_empty_parts_and_empty_body);
    tcase_add_test(tc, multipart_missing_closing_boundary);
    tcase_add_test(tc, multipart_too_many_parts);
    tcase_add_test(tc, multipart_header_too_long);
    tcase_add_test(tc, multipart_filenames);
    tcase_add_test(tc, multipart_headers);
    tcase_add_test(tc, multipart_lf_only_is_rejected);
    tcase_add_test(tc, multipart_callback_abort_and_sticky_error);
    tcase_add_test(tc, multipart_null_callbacks_and_bad_boundaries);
    tcase_add_test(tc, multipart_streams_large_part);
    suite_add_tcase(s, tc);
    return s;
}
