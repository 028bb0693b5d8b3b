/* test_core.c — unit tests for core helpers: buffers, allocation helpers, the error registry. */
#include <check.h>
#include <string.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/error.h"

START_TEST(buf_appends_and_formats)
{
    ar_buf b = AR_BUF_INIT;
    ck_assert_str_eq(ar_buf_cstr(&b), "");
    ar_buf_puts(&b, "hello");
    ar_buf_putc(&b, ' ');
    ar_buf_printf(&b, "%d-%s", 42, "x");
    ck_assert_str_eq(ar_buf_cstr(&b), "hello 42-x");
    ck_assert_uint_eq(b.len, 10);
    for (int i = 0; i < 1000; i++) ar_buf_putc(&b, 'a');
    ck_assert_uint_eq(b.len, 1010);
    char *s = ar_buf_steal(&b);
    ck_assert_uint_eq(strlen(s), 1010);
    ck_assert_uint_eq(b.len, 0);
    free(s);
    ar_buf_free(&b);
}
END_TEST

START_TEST(error_registry_maps_codes)
{
    ck_assert_int_eq(ar_err_http_status(AR_ERR_INVALID_JSON), 400);
    ck_assert_str_eq(ar_err_code_string(AR_ERR_INVALID_JSON), "invalid_json");
    ck_assert_int_eq(ar_err_http_status(AR_ERR_UNSUPPORTED_MEDIA_TYPE), 415);
    ck_assert_int_eq(ar_err_http_status(AR_ERR_QUOTA_EXCEEDED), 429);
    for (int c = 1; c < AR_ERR__COUNT; c++) {
        ck_assert_int_ge(ar_err_http_status((ar_err_code)c), 400);
        ck_assert_ptr_nonnull(ar_err_code_string((ar_err_code)c));
    }
    ar_error e = {0};
    ar_error_set(&e, AR_ERR_VALIDATION, "bad %s", "title");
    ar_error_field(&e, "title", "is required");
    json_t *j = ar_error_to_json(&e);
    char *txt = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_str_eq(txt, "{\"error\":{\"code\":\"validation_error\",\"fields\":{\"title\":\"is required\"},"
                          "\"message\":\"bad title\"}}");
    free(txt);
    json_decref(j);
    ar_error_clear(&e);
}
END_TEST

START_TEST(url_encoding_keeps_unreserved_only)
{
    ar_buf b = AR_BUF_INIT;
    ar_buf_put_urlencoded(&b, "a b/c?d=é&~", NULL);
    ck_assert_str_eq(ar_buf_cstr(&b), "a%20b%2Fc%3Fd%3D%C3%A9%26~");
    ar_buf_reset(&b);
    ar_buf_put_urlencoded(&b, "/settings/x y", "/");
    ck_assert_str_eq(ar_buf_cstr(&b), "/settings/x%20y");
    ar_buf_free(&b);
}
END_TEST

START_TEST(asprintf_formats)
{
    char *s = ar_asprintf("%s/%03d", "a", 7);
    ck_assert_str_eq(s, "a/007");
    free(s);
}
END_TEST

Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, buf_appends_and_formats);
    tcase_add_test(tc, error_registry_maps_codes);
    tcase_add_test(tc, asprintf_formats);
    tcase_add_test(tc, url_encoding_keeps_unreserved_only);
    suite_add_tcase(s, tc);
    return s;
}
