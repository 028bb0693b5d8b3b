/* test_parse.c — unit tests for UTF-8 validation, percent-decoding, urlencoded forms, cookies, parameterised
 * headers (Content-Type) and JSON request bodies. */
#include <check.h>
#include <string.h>
#include <time.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/error.h"
#include "afterresume/core/utf8.h"
#include "afterresume/http/parse.h"

#define UTF8_OK(lit) ck_assert_int_eq(ar_utf8_valid(lit, sizeof(lit) - 1), 1)
#define UTF8_BAD(lit) ck_assert_int_eq(ar_utf8_valid(lit, sizeof(lit) - 1), 0)

/* ---- UTF-8 ---- */

START_TEST(utf8_accepts_valid_sequences)
{
    UTF8_OK("");
    UTF8_OK("plain ascii ~\x7f");
    UTF8_OK("nul \0 inside");
    UTF8_OK("\xc2\x80");             /* U+0080, smallest 2-byte */
    UTF8_OK("caf\xc3\xa9");          /* é */
    UTF8_OK("\xe0\xa0\x80");         /* U+0800, smallest 3-byte */
    UTF8_OK("\xe2\x82\xac");         /* € */
    UTF8_OK("\xed\x9f\xbf");         /* U+D7FF, just below the surrogates */
    UTF8_OK("\xee\x80\x80");         /* U+E000, just above */
    UTF8_OK("\xef\xbf\xbf");         /* U+FFFF */
    UTF8_OK("\xf0\x90\x80\x80");     /* U+10000, smallest 4-byte */
    UTF8_OK("\xf0\x9f\x98\x80");     /* emoji */
    UTF8_OK("\xf4\x8f\xbf\xbf");     /* U+10FFFF, the last code point */
}
END_TEST

START_TEST(utf8_rejects_invalid_sequences)
{
    UTF8_BAD("\x80");                /* lone continuation */
    UTF8_BAD("\xbf");
    UTF8_BAD("\xc0\x80");            /* overlong NUL */
    UTF8_BAD("\xc1\xbf");            /* overlong 2-byte */
    UTF8_BAD("\xe0\x80\x80");        /* overlong 3-byte */
    UTF8_BAD("\xe0\x9f\xbf");
    UTF8_BAD("\xf0\x80\x80\x80");    /* overlong 4-byte */
    UTF8_BAD("\xf0\x8f\xbf\xbf");
    UTF8_BAD("\xed\xa0\x80");        /* U+D800 surrogate */
    UTF8_BAD("\xed\xbf\xbf");        /* U+DFFF surrogate */
    UTF8_BAD("\xf4\x90\x80\x80");    /* U+110000 */
    UTF8_BAD("\xf5\x80\x80\x80");
    UTF8_BAD("\xff");
    UTF8_BAD("\xfe");
    UTF8_BAD("\xe2\x82");            /* truncated */
    UTF8_BAD("ok\xf0\x9f\x98");      /* truncated at the end */
    UTF8_BAD("\xc3\x28");            /* bad continuation */
    UTF8_BAD("\xe2\x28\xa1");
    UTF8_BAD("\xf0\x9f\x28\x80");
    /* the length is honoured: a valid prefix of an invalid buffer */
    ck_assert_int_eq(ar_utf8_valid("ab\xff", 2), 1);
    ck_assert_int_eq(ar_utf8_valid("\xe2\x82\xac", 2), 0);
}
END_TEST

/* ---- percent-decoding ---- */

START_TEST(percent_decode_basics)
{
    ar_buf b = AR_BUF_INIT;
    ck_assert_int_eq(ar_percent_decode("a%20b%41%4a%4A", 14, 0, &b), 0);
    ck_assert_str_eq(ar_buf_cstr(&b), "a bAJJ");
    ar_buf_reset(&b);
    ck_assert_int_eq(ar_percent_decode("a+b%2B", 6, 1, &b), 0);
    ck_assert_str_eq(ar_buf_cstr(&b), "a b+");
    ar_buf_reset(&b);
    ck_assert_int_eq(ar_percent_decode("a+b", 3, 0, &b), 0);
    ck_assert_str_eq(ar_buf_cstr(&b), "a+b");
    ar_buf_reset(&b);
    ck_assert_int_eq(ar_percent_decode("", 0, 1, &b), 0);
    ck_assert_str_eq(ar_buf_cstr(&b), "");
    ck_assert_uint_eq(b.len, 0);
    /* appends; only len bytes are read */
    ar_buf_reset(&b);
    ar_buf_puts(&b, "x=");
    ck_assert_int_eq(ar_percent_decode("%7e%7Eignored", 6, 0, &b), 0);
    ck_assert_str_eq(ar_buf_cstr(&b), "x=~~");
    ar_buf_free(&b);
}
END_TEST

START_TEST(percent_decode_bad_escapes)
{
    const char *bad[] = {"%zz", "%2", "%", "a%", "%g0", "%0g", "ok%2", "%%41", "%+1", "% 1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ar_buf b = AR_BUF_INIT;
        ar_buf_puts(&b, "keep");
        ck_assert_msg(ar_percent_decode(bad[i], strlen(bad[i]), 1, &b) == -1, "accepted %s", bad[i]);
        ck_assert_str_eq(ar_buf_cstr(&b), "keep"); /* left as it was */
        ck_assert_uint_eq(b.len, 4);
        ar_buf_free(&b);
    }
    /* "%2" is bad even when the buffer continues: only len bytes count */
    ar_buf b = AR_BUF_INIT;
    ck_assert_int_eq(ar_percent_decode("%20", 2, 0, &b), -1);
    ar_buf_free(&b);
}
END_TEST

START_TEST(percent_decode_nul_is_allowed_and_counted)
{
    ar_buf b = AR_BUF_INIT;
    ck_assert_int_eq(ar_percent_decode("a%00b", 5, 0, &b), 0);
    ck_assert_uint_eq(b.len, 3);
    ck_assert_int_eq(memcmp(b.data, "a\0b", 3), 0);
    ck_assert_int_eq(b.data[3], '\0');
    ar_buf_free(&b);
}
END_TEST

/* ---- urlencoded ---- */

START_TEST(urlencoded_basics)
{
    ar_kvlist l;
    ar_kvlist_init(&l);
    ar_error e = {0};
    const char *s = "title=Hello+World%21&empty=&flag&tags=a%2Bb&eq=x%3Dy=z";
    ck_assert_int_eq(ar_parse_urlencoded(s, strlen(s), 100, &l, &e), 0);
    ck_assert_uint_eq(l.len, 5);
    ck_assert_str_eq(ar_kvlist_get(&l, "title"), "Hello World!");
    ck_assert_str_eq(ar_kvlist_get(&l, "empty"), "");
    ck_assert_str_eq(ar_kvlist_get(&l, "flag"), "");
    ck_assert_str_eq(ar_kvlist_get(&l, "tags"), "a+b");
    ck_assert_str_eq(ar_kvlist_get(&l, "eq"), "x=y=z");
    ck_assert_ptr_null(ar_kvlist_get(&l, "missing"));
    ck_assert_ptr_null(ar_kvlist_get(&l, "Title")); /* case-sensitive */
    ck_assert_str_eq(l.items[0].key, "title");      /* order kept */
    ck_assert_str_eq(l.items[4].key, "eq");
    ar_kvlist_free(&l);
    ck_assert_uint_eq(l.len, 0);
    ck_assert_ptr_null(l.items);
}
END_TEST

START_TEST(urlencoded_keys_decoded_repeated_and_empty)
{
    ar_kvlist l;
    ar_kvlist_init(&l);
    ar_error e = {0};
    const char *s = "=skipped&&a=1&a=2&&first+name=Ann&caf%C3%A9=%E2%82%AC&&";
    ck_assert_int_eq(ar_parse_urlencoded(s, strlen(s), 100, &l, &e), 0);
    ck_assert_uint_eq(l.len, 4);
    ck_assert_str_eq(ar_kvlist_get(&l, "a"), "1"); /* first value */
    ck_assert_str_eq(l.items[1].key, "a");
    ck_assert_str_eq(l.items[1].value, "2");
    ck_assert_str_eq(ar_kvlist_get(&l, "first name"), "Ann");
    ck_assert_str_eq(ar_kvlist_get(&l, "caf\xc3\xa9"), "\xe2\x82\xac");
    ar_kvlist_free(&l);

    ar_kvlist_init(&l);
    ck_assert_int_eq(ar_parse_urlencoded("", 0, 10, &l, &e), 0);
    ck_assert_int_eq(ar_parse_urlencoded("&&&=", 4, 10, &l, &e), 0);
    ck_assert_uint_eq(l.len, 0);
    /* only len bytes are parsed */
    ck_assert_int_eq(ar_parse_urlencoded("a=12345", 4, 10, &l, &e), 0);
    ck_assert_str_eq(ar_kvlist_get(&l, "a"), "12");
    ar_kvlist_free(&l);
}
END_TEST

static void expect_urlencoded_error(const char *s, const char *message)
{
    ar_kvlist l;
    ar_kvlist_init(&l);
    ar_kvlist_add(&l, "pre", 3, "existing", 8);
    ar_error e = {0};
    ck_assert_int_eq(ar_parse_urlencoded(s, strlen(s), 100, &l, &e), -1);
    ck_assert_int_eq(e.code, AR_ERR_BAD_REQUEST);
    ck_assert_str_eq(e.message, message);
    /* nothing from the failed parse is left behind */
    ck_assert_uint_eq(l.len, 1);
    ck_assert_str_eq(ar_kvlist_get(&l, "pre"), "existing");
    ar_kvlist_free(&l);
}

START_TEST(urlencoded_errors)
{
    expect_urlencoded_error("ok=1&b=%zz", "invalid percent-escape in field 'b'");
    expect_urlencoded_error("ok=1&b=%2", "invalid percent-escape in field 'b'");
    expect_urlencoded_error("bad%g1=1", "invalid percent-escape in field 'bad%g1'");
    expect_urlencoded_error("x=%ff", "field 'x' is not valid UTF-8");
    expect_urlencoded_error("x=%C0%80", "field 'x' is not valid UTF-8");     /* overlong */
    expect_urlencoded_error("x=%ED%A0%80", "field 'x' is not valid UTF-8");  /* surrogate */
    expect_urlencoded_error("%ff=1", "field '%ff' is not valid UTF-8");
    expect_urlencoded_error("x=a%00b", "field 'x' contains a NUL byte");
    expect_urlencoded_error("a%00=1", "field 'a%00' contains a NUL byte");
    /* the label is printable ASCII only and shortened */
    expect_urlencoded_error("k\x01'\x7fx=%zz", "invalid percent-escape in field 'k\?\?\?x'");
    expect_urlencoded_error("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=%ff",
                            "field 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is not valid UTF-8");
}
END_TEST

START_TEST(urlencoded_max_pairs)
{
    ar_kvlist l;
    ar_kvlist_init(&l);
    ar_error e = {0};
    ck_assert_int_eq(ar_parse_urlencoded("a=1&b=2&c=3", 11, 3, &l, &e), 0);
    ck_assert_uint_eq(l.len, 3);
    ar_kvlist_free(&l);

    ar_kvlist_init(&l);
    ck_assert_int_eq(ar_parse_urlencoded("a=1&b=2&c=3&d=4", 15, 3, &l, &e), -1);
    ck_assert_int_eq(e.code, AR_ERR_BAD_REQUEST);
    ck_assert_str_eq(e.message, "too many fields");
    ck_assert_uint_eq(l.len, 0);
    /* skipped empty keys don't count */
    ck_assert_int_eq(ar_parse_urlencoded("&&=x&a=1&&b=2&", 14, 2, &l, &e), 0);
    ck_assert_uint_eq(l.len, 2);
    ar_kvlist_free(&l);

    ar_kvlist_init(&l);
    ck_assert_int_eq(ar_parse_urlencoded("a=1", 3, 0, &l, &e), -1);
    ck_assert_str_eq(e.message, "too many fields");
    ck_assert_int_eq(ar_parse_urlencoded("", 0, 0, &l, &e), 0);
    ar_kvlist_free(&l);
}
END_TEST

START_TEST(kvlist_add_get_grow)
{
    ar_kvlist l;
    ar_kvlist_init(&l);
    char key[16];
    for (int i = 0; i < 100; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        ar_kvlist_add(&l, key, (size_t)n, "valueXXX", 5);
    }
    ck_assert_uint_eq(l.len, 100);
    ck_assert_uint_ge(l.cap, 100);
    ck_assert_str_eq(ar_kvlist_get(&l, "k99"), "value");
    ar_kvlist_add(&l, "k0", 2, "second", 6);
    ck_assert_str_eq(ar_kvlist_get(&l, "k0"), "value");
    ar_kvlist_add(&l, "", 0, "", 0);
    ck_assert_str_eq(ar_kvlist_get(&l, ""), "");
    ar_kvlist_free(&l);
    ar_kvlist_free(&l); /* freeing twice is harmless */
}
END_TEST

/* ---- cookies ---- */

START_TEST(cookies_parse)
{
    ar_kvlist l;
    ar_kvlist_init(&l);
    ck_assert_int_eq(ar_parse_cookies("a=1; b=2;c=3 ;  d = 4 ;\te=\t5", &l), 5);
    ck_assert_str_eq(ar_kvlist_get(&l, "a"), "1");
    ck_assert_str_eq(ar_kvlist_get(&l, "b"), "2");
    ck_assert_str_eq(ar_kvlist_get(&l, "c"), "3");
    ck_assert_str_eq(ar_kvlist_get(&l, "d"), "4");
    ck_assert_str_eq(ar_kvlist_get(&l, "e"), "5");
    ar_kvlist_free(&l);

    ar_kvlist_init(&l);
    ck_assert_int_eq(ar_parse_cookies("q=\"quoted value\"; half=\"x; one=\"; empty=; tok=a=b%20c; =anon; "
                                      "novalue; ;; __Host-ar_session=abc",
                                      &l),
                     6);
    ck_assert_str_eq(ar_kvlist_get(&l, "q"), "quoted value");
    ck_assert_str_eq(ar_kvlist_get(&l, "half"), "\"x"); /* unbalanced quote kept */
    ck_assert_str_eq(ar_kvlist_get(&l, "one"), "\"");
    ck_assert_str_eq(ar_kvlist_get(&l, "empty"), "");
    ck_assert_str_eq(ar_kvlist_get(&l, "tok"), "a=b%20c"); /* not percent-decoded */
    ck_assert_str_eq(ar_kvlist_get(&l, "__Host-ar_session"), "abc");
    ck_assert_ptr_null(ar_kvlist_get(&l, ""));
    ck_assert_ptr_null(ar_kvlist_get(&l, "novalue"));
    ar_kvlist_free(&l);

    ar_kvlist_init(&l);
    ck_assert_int_eq(ar_parse_cookies("", &l), 0);
    ck_assert_int_eq(ar_parse_cookies("   ;  ; ", &l), 0);
    ck_assert_int_eq(ar_parse_cookies("e=\"\"", &l), 1);
    ck_assert_str_eq(ar_kvlist_get(&l, "e"), "");
    ck_assert_int_eq(ar_parse_cookies(NULL, &l), -1);
    ar_kvlist_free(&l);
}
END_TEST

/* ---- Content-Type and parameterised headers ---- */

START_TEST(content_type_mime)
{
    char mime[64];
    ck_assert_int_eq(ar_content_type_mime("application/json", mime, sizeof mime), 0);
    ck_assert_str_eq(mime, "application/json");
    ck_assert_int_eq(ar_content_type_mime("  Text/HTML ; Charset=UTF-8", mime, sizeof mime), 0);
    ck_assert_str_eq(mime, "text/html");
    ck_assert_int_eq(ar_content_type_mime("multipart/form-data; boundary=\"a;b=c\"", mime, sizeof mime), 0);
    ck_assert_str_eq(mime, "multipart/form-data");
    ck_assert_int_eq(ar_content_type_mime("application/vnd.api+json;", mime, sizeof mime), 0);
    ck_assert_str_eq(mime, "application/vnd.api+json");

    const char *bad[] = {"", "   ", "text", "/html", "text/", "a/b/c", "text /html", "text/html junk",
                         "text/html; charset", "text/html; =x", "text/html; a=\"unterminated", "text/html; a=",
                         "text/html; a b=c", "text/html, text/plain", "text/h\x01tml", "; a=b", "t\xc3\xa9xt/html"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(ar_content_type_mime(bad[i], mime, sizeof mime) == -1, "accepted '%s'", bad[i]);
    ck_assert_int_eq(ar_content_type_mime(NULL, mime, sizeof mime), -1);
    /* too small: "text/html" needs 10 bytes */
    ck_assert_int_eq(ar_content_type_mime("text/html", mime, 9), -1);
    ck_assert_int_eq(ar_content_type_mime("text/html", mime, 10), 0);
    ck_assert_str_eq(mime, "text/html");
}
END_TEST

START_TEST(content_type_params)
{
    char v[80];
    ck_assert_int_eq(ar_content_type_param("text/html; Charset=UTF-8", "charset", v, sizeof v), 0);
    ck_assert_str_eq(v, "UTF-8"); /* value case kept, name matched case-insensitively */
    ck_assert_int_eq(ar_content_type_param("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxk", "boundary",
                                           v, sizeof v),
                     0);
    ck_assert_str_eq(v, "----WebKitFormBoundary7MA4YWxk");
    ck_assert_int_eq(ar_content_type_param("multipart/form-data; charset=x ;BOUNDARY = \"a b;c=d\\\"e\\\\f\" ; ",
                                           "boundary", v, sizeof v),
                     0);
    ck_assert_str_eq(v, "a b;c=d\"e\\f");
    ck_assert_int_eq(ar_content_type_param("text/plain; x=\"\"", "x", v, sizeof v), 0);
    ck_assert_str_eq(v, "");
    ck_assert_int_eq(ar_content_type_param("text/plain; x=\"C:\\dir\\f\"", "x", v, sizeof v), 0);
    ck_assert_str_eq(v, "C:\\dir\\f"); /* backslash before other characters is literal */
    /* absent */
    ck_assert_int_eq(ar_content_type_param("text/plain", "charset", v, sizeof v), 1);
    ck_assert_int_eq(ar_content_type_param("text/plain; charsetx=1; xcharset=2", "charset", v, sizeof v), 1);
    /* malformed, duplicated, too long */
    ck_assert_int_eq(ar_content_type_param("text/plain; charset", "charset", v, sizeof v), -1);
    ck_assert_int_eq(ar_content_type_param("text/plain; a=\"x", "charset", v, sizeof v), -1);
    ck_assert_int_eq(ar_content_type_param("text/plain; a=b c", "a", v, sizeof v), -1);
    ck_assert_int_eq(ar_content_type_param("text/plain; a=1; A=2", "a", v, sizeof v), -1);
    ck_assert_int_eq(ar_content_type_param("text/plain; a=12345", "a", v, 5), -1);
    ck_assert_int_eq(ar_content_type_param("text/plain; a=1234", "a", v, 5), 0);
    ck_assert_str_eq(v, "1234");
    ck_assert_int_eq(ar_content_type_param(NULL, "a", v, sizeof v), -1);
}
END_TEST

START_TEST(header_primary_and_param_generic)
{
    ar_buf b = AR_BUF_INIT;
    const char *cd = "Form-Data; name=\"a\\\"b\"; filename=\"C:\\Users\\x\\f.txt\"";
    ck_assert_int_eq(ar_header_primary(cd, strlen(cd), &b), 0);
    ck_assert_str_eq(ar_buf_cstr(&b), "form-data");
    ar_buf_reset(&b);
    ck_assert_int_eq(ar_header_param(cd, strlen(cd), "name", &b), 0);
    ck_assert_str_eq(ar_buf_cstr(&b), "a\"b");
    ar_buf_reset(&b);
    ck_assert_int_eq(ar_header_param(cd, strlen(cd), "filename", &b), 0);
    ck_assert_str_eq(ar_buf_cstr(&b), "C:\\Users\\x\\f.txt");
    ar_buf_reset(&b);
    ck_assert_int_eq(ar_header_param(cd, strlen(cd), "filename*", &b), 1);
    ck_assert_int_eq(ar_header_param("form-data; filename*=UTF-8''a%20b", 33, "filename*", &b), 0);
    ck_assert_str_eq(ar_buf_cstr(&b), "UTF-8''a%20b");
    ar_buf_reset(&b);
    /* the length bounds the value */
    ck_assert_int_eq(ar_header_param("x; a=1; b=2", 7, "b", &b), 1);
    ck_assert_int_eq(ar_header_primary("", 0, &b), -1);
    ar_buf_free(&b);
}
END_TEST

/* ---- JSON bodies ---- */

static json_t *parse(const char *s, size_t len, size_t depth, int require_object, ar_error *e)
{
    memset(e, 0, sizeof *e);
    return ar_parse_json_body(s, len, depth, require_object, e);
}
#define PARSE_LIT(lit, depth, obj, e) parse(lit, sizeof(lit) - 1, depth, obj, e)

START_TEST(json_valid_object_and_roots)
{
    ar_error e;
    json_t *j = PARSE_LIT(" {\"title\":\"caf\xc3\xa9\",\"n\":3,\"ok\":true,\"list\":[1,2]} \n", 32, 1, &e);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "title")), "caf\xc3\xa9");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "n")), 3);
    json_decref(j);

    j = PARSE_LIT("[1,2,3]", 32, 0, &e);
    ck_assert_ptr_nonnull(j);
    ck_assert(json_is_array(j));
    json_decref(j);
    j = PARSE_LIT("\"just a string\"", 32, 0, &e);
    ck_assert_ptr_nonnull(j);
    json_decref(j);

    ck_assert_ptr_null(PARSE_LIT("[1,2,3]", 32, 1, &e));
    ck_assert_int_eq(e.code, AR_ERR_BAD_REQUEST);
    ck_assert_str_eq(e.message, "the JSON body must be an object");
    ck_assert_ptr_null(PARSE_LIT("42", 32, 1, &e));
    ck_assert_str_eq(e.message, "the JSON body must be an object");
}
END_TEST

static char *nested(size_t depth, const char *open, const char *close, const char *middle)
{
    ar_buf b = AR_BUF_INIT;
    for (size_t i = 0; i < depth; i++) ar_buf_puts(&b, open);
    ar_buf_puts(&b, middle);
    for (size_t i = 0; i < depth; i++) ar_buf_puts(&b, close);
    return ar_buf_steal(&b);
}

START_TEST(json_depth_limit)
{
    ar_error e;
    char *ok = nested(32, "[", "]", "1");
    json_t *j = parse(ok, strlen(ok), 32, 0, &e);
    ck_assert_ptr_nonnull(j);
    json_decref(j);
    char *deep = nested(33, "[", "]", "1");
    ck_assert_ptr_null(parse(deep, strlen(deep), 32, 0, &e));
    ck_assert_int_eq(e.code, AR_ERR_INVALID_JSON);
    ck_assert_str_eq(e.message, "invalid JSON: nesting is deeper than 32 levels");
    free(ok);
    free(deep);

    /* objects count too, mixed with arrays */
    ok = nested(16, "{\"a\":[", "]}", "null");
    j = parse(ok, strlen(ok), 32, 1, &e);
    ck_assert_ptr_nonnull(j);
    json_decref(j);
    deep = nested(16, "{\"a\":[", "]}", "{}");
    ck_assert_ptr_null(parse(deep, strlen(deep), 32, 1, &e));
    ck_assert_int_eq(e.code, AR_ERR_INVALID_JSON);
    free(ok);
    free(deep);

    /* brackets inside strings (with escaped quotes) do not count */
    j = PARSE_LIT("{\"a\":\"[[[[{{{{\\\"[[[[\",\"b\":\"\\\\\",\"c\":[]}", 2, 1, &e);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "a")), "[[[[{{{{\"[[[[");
    json_decref(j);
    ck_assert_ptr_null(PARSE_LIT("{\"a\":\"[[[[{{{{\\\"[[[[\",\"b\":\"\\\\\",\"c\":[]}", 1, 1, &e));
    ck_assert_int_eq(e.code, AR_ERR_INVALID_JSON);
    /* siblings don't add up */
    j = PARSE_LIT("[[],[],[[]],{}]", 3, 0, &e);
    ck_assert_ptr_nonnull(j);
    json_decref(j);
    ck_assert_ptr_null(PARSE_LIT("[[],[],[[[]]],{}]", 3, 0, &e));
}
END_TEST

START_TEST(json_very_deep_input_is_rejected_fast)
{
    size_t n = 100000;
    char *s = malloc(n);
    memset(s, '[', n);
    ar_error e;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_ptr_null(parse(s, n, 32, 0, &e));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    ck_assert_int_eq(e.code, AR_ERR_INVALID_JSON);
    ck_assert_msg(ms < 100.0, "took %.1f ms", ms);
    /* even with a generous limit jansson's own recursion cap (2048) answers; no crash */
    ck_assert_ptr_null(parse(s, n, 1000000, 0, &e));
    ck_assert_int_eq(e.code, AR_ERR_INVALID_JSON);
    free(s);
}
END_TEST

static void expect_json_error(const char *s, size_t len, const char *prefix)
{
    ar_error e;
    json_t *j = parse(s, len, 32, 0, &e);
    ck_assert_msg(j == NULL, "accepted %.*s", (int)len, s);
    ck_assert_int_eq(e.code, AR_ERR_INVALID_JSON);
    ck_assert_msg(strncmp(e.message, prefix, strlen(prefix)) == 0, "message '%s' lacks '%s'", e.message, prefix);
    /* the message is always printable ASCII, so it can be put in a JSON error body */
    for (const char *p = e.message; *p; p++) ck_assert(*p >= 0x20 && *p < 0x7f);
    json_t *body = ar_error_to_json(&e);
    const char *msg = json_string_value(json_object_get(json_object_get(body, "error"), "message"));
    ck_assert_ptr_nonnull(msg);
    ck_assert_str_eq(msg, e.message);
    json_decref(body);
}
#define JSON_BAD(lit, prefix) expect_json_error(lit, sizeof(lit) - 1, prefix)

START_TEST(json_rejects_bad_bodies)
{
    JSON_BAD("", "the request body is empty");
    ar_error e;
    ck_assert_ptr_null(parse(NULL, 0, 32, 0, &e));
    ck_assert_str_eq(e.message, "the request body is empty");
    JSON_BAD("   \n", "invalid JSON at line 2, column 0: ");
    JSON_BAD("{\"a\":1x}", "invalid JSON at line 1, column 7: ");
    JSON_BAD("{\"a\":\"\xff\"}", "invalid JSON at line 1, column 6: unable to decode byte 0xff");
    JSON_BAD("{\"a\xc0\x80\":1}", "invalid JSON at line 1, column 3: unable to decode byte 0xc0");
    JSON_BAD("{\"a\":\"\xed\xa0\x80\"}", "invalid JSON at line 1");   /* raw surrogate */
    JSON_BAD("{\"a\":\"\\ud800\"}", "invalid JSON at line 1");        /* escaped lone surrogate */
    JSON_BAD("{\"a\":[1,2", "invalid JSON at line 1, column 9: ']' expected near end of file");
    JSON_BAD("{\"a\":\"unterminated", "invalid JSON at line 1");
    JSON_BAD("{\"a\":1} x", "invalid JSON at line 1, column 9: end of file expected near 'x'");
    JSON_BAD("{\"a\":1}{}", "invalid JSON at line 1");
    JSON_BAD("{\"a\":1}\0", "invalid JSON at line 1");                 /* NUL after the value */
    JSON_BAD("{\"a\":1,\"a\":2}", "invalid JSON at line 1, column 10: duplicate object key near '\"a\"'");
    JSON_BAD("{\"a\":\"x\\u0000y\"}", "invalid JSON at line 1, column 15: \\u0000 is not allowed");
    JSON_BAD("{\"a\":\"x\0y\"}", "invalid JSON at line 1, column 7: control character 0x0");
    JSON_BAD("{'a':1}", "invalid JSON at line 1");
    JSON_BAD("[1,]", "invalid JSON at line 1");
    JSON_BAD("[NaN]", "invalid JSON at line 1");
    /* numbers jansson cannot represent are errors, not silently clamped */
    JSON_BAD("1e400", "invalid JSON at line 1, column 5: real number overflow near '1e400'");
    JSON_BAD("{\"n\":-1e400}", "invalid JSON at line 1, column 11: real number overflow");
    JSON_BAD("99999999999999999999", "invalid JSON at line 1, column 20: too big integer");
}
END_TEST

START_TEST(json_number_edges)
{
    ar_error e;
    /* underflow is accepted as 0.0 (jansson uses strtod) */
    json_t *j = PARSE_LIT("[1e-400, 9223372036854775807, -9223372036854775808, 1.5e308]", 32, 0, &e);
    ck_assert_ptr_nonnull(j);
    ck_assert(json_is_real(json_array_get(j, 0)));
    ck_assert(json_real_value(json_array_get(j, 0)) == 0.0);
    ck_assert(json_integer_value(json_array_get(j, 1)) == INT64_MAX);
    ck_assert(json_integer_value(json_array_get(j, 2)) == INT64_MIN);
    ck_assert(json_is_real(json_array_get(j, 3)));
    json_decref(j);
    JSON_BAD("9223372036854775808", "invalid JSON at line 1, column 19: too big integer");
}
END_TEST

Suite *parse_suite(void)
{
    Suite *s = suite_create("parse");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, utf8_accepts_valid_sequences);
    tcase_add_test(tc, utf8_rejects_invalid_sequences);
    tcase_add_test(tc, percent_decode_basics);
    tcase_add_test(tc, percent_decode_bad_escapes);
    tcase_add_test(tc, percent_decode_nul_is_allowed_and_counted);
    tcase_add_test(tc, urlencoded_basics);
    tcase_add_test(tc, urlencoded_keys_decoded_repeated_and_empty);
    tcase_add_test(tc, urlencoded_errors);
    tcase_add_test(tc, urlencoded_max_pairs);
    tcase_add_test(tc, kvlist_add_get_grow);
    tcase_add_test(tc, cookies_parse);
    tcase_add_test(tc, content_type_mime);
    tcase_add_test(tc, content_type_params);
    tcase_add_test(tc, header_primary_and_param_generic);
    tcase_add_test(tc, json_valid_object_and_roots);
    tcase_add_test(tc, json_depth_limit);
    tcase_add_test(tc, json_very_deep_input_is_rejected_fast);
    tcase_add_test(tc, json_rejects_bad_bodies);
    tcase_add_test(tc, json_number_edges);
    suite_add_tcase(s, tc);
    return s;
}
