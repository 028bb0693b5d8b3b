/* test_router.c — unit tests for route matching, path parameters, 405 Allow sets and the real route table. */
#include <check.h>
#include <string.h>

#include "afterresume/http/router.h"

static void h(struct ar_request *r) { (void)r; }

static const ar_route table[] = {
    {AR_GET, "/api/healthz/", h, AR_AUTH_PUBLIC, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/api/worklogs/", h, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/api/worklogs/", h, AR_AUTH_USER, NULL, 1, NULL, AR_BODY_JSON},
    {AR_GET, "/api/worklogs/{id}/", h, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_DELETE, "/api/worklogs/{id}/", h, AR_AUTH_USER, NULL, 1, NULL, AR_BODY_NONE},
    {AR_DELETE, "/api/worklogs/{id}/attachments/{aid}/", h, AR_AUTH_USER, NULL, 1, NULL, AR_BODY_NONE},
    {AR_GET, "/static/{*path}", h, AR_AUTH_PUBLIC, NULL, 0, NULL, AR_BODY_NONE},
};
#define N (sizeof table / sizeof table[0])

START_TEST(matches_exact_and_params)
{
    const ar_route *r;
    ar_path_params p;
    unsigned allowed = 0;
    ck_assert_int_eq(ar_router_match(table, N, AR_GET, "/api/healthz/", &r, &p, &allowed), AR_MATCH_OK);
    ck_assert_ptr_eq(r, &table[0]);
    ck_assert_int_eq(ar_router_match(table, N, AR_GET, "/api/worklogs/42/", &r, &p, &allowed), AR_MATCH_OK);
    ck_assert_ptr_eq(r, &table[3]);
    ck_assert_str_eq(ar_path_param(&p, "id"), "42");
    ck_assert_ptr_null(ar_path_param(&p, "i"));
    ck_assert_int_eq(ar_router_match(table, N, AR_DELETE, "/api/worklogs/7/attachments/9/", &r, &p, &allowed),
                     AR_MATCH_OK);
    ck_assert_str_eq(ar_path_param(&p, "id"), "7");
    ck_assert_str_eq(ar_path_param(&p, "aid"), "9");
}
END_TEST

START_TEST(rest_parameter_takes_remaining_path)
{
    const ar_route *r;
    ar_path_params p;
    unsigned allowed = 0;
    ck_assert_int_eq(ar_router_match(table, N, AR_GET, "/static/css/app.css", &r, &p, &allowed), AR_MATCH_OK);
    ck_assert_str_eq(ar_path_param(&p, "path"), "css/app.css");
    ck_assert_int_eq(ar_router_match(table, N, AR_GET, "/static/", &r, &p, &allowed), AR_MATCH_NOT_FOUND);
}
END_TEST

START_TEST(trailing_slash_and_empty_segments_do_not_match)
{
    const ar_route *r;
    ar_path_params p;
    unsigned allowed = 0;
    ck_assert_int_eq(ar_router_match(table, N, AR_GET, "/api/healthz", &r, &p, &allowed), AR_MATCH_NOT_FOUND);
    ck_assert_int_eq(ar_router_match(table, N, AR_GET, "/api/worklogs//", &r, &p, &allowed), AR_MATCH_NOT_FOUND);
    ck_assert_int_eq(ar_router_match(table, N, AR_GET, "/api/worklogs/1/2/", &r, &p, &allowed), AR_MATCH_NOT_FOUND);
    ck_assert_int_eq(ar_router_match(table, N, AR_GET, "/", &r, &p, &allowed), AR_MATCH_NOT_FOUND);
    ck_assert_int_eq(ar_router_match(table, N, AR_GET, "", &r, &p, &allowed), AR_MATCH_NOT_FOUND);
    char longseg[300];
    memset(longseg, 'a', sizeof longseg);
    memcpy(longseg, "/api/worklogs/", 14);
    strcpy(longseg + 290, "/");
    ck_assert_int_eq(ar_router_match(table, N, AR_GET, longseg, &r, &p, &allowed), AR_MATCH_NOT_FOUND);
}
END_TEST

START_TEST(wrong_method_reports_allow)
{
    const ar_route *r;
    ar_path_params p;
    unsigned allowed = 0;
    ck_assert_int_eq(ar_router_match(table, N, AR_PUT, "/api/worklogs/", &r, &p, &allowed), AR_MATCH_BAD_METHOD);
    char allow[64];
    ar_router_allow_header(allowed, allow, sizeof allow);
    ck_assert_str_eq(allow, "GET, HEAD, POST");
    ck_assert_int_eq(ar_router_match(table, N, AR_POST, "/api/worklogs/5/", &r, &p, &allowed), AR_MATCH_BAD_METHOD);
    ar_router_allow_header(allowed, allow, sizeof allow);
    ck_assert_str_eq(allow, "GET, HEAD, DELETE");
}
END_TEST

START_TEST(head_uses_get_route)
{
    const ar_route *r;
    ar_path_params p;
    unsigned allowed = 0;
    ck_assert_int_eq(ar_router_match(table, N, AR_HEAD, "/api/healthz/", &r, &p, &allowed), AR_MATCH_OK);
    ck_assert_ptr_eq(r, &table[0]);
}
END_TEST

START_TEST(methods_parse)
{
    ck_assert_int_eq(ar_method_from_string("PATCH"), AR_PATCH);
    ck_assert_int_eq(ar_method_from_string("patch"), 0);
    ck_assert_int_eq(ar_method_from_string("BREW"), 0);
    ck_assert_str_eq(ar_method_name(AR_DELETE), "DELETE");
}
END_TEST

START_TEST(real_table_is_consistent)
{
    /* Every route has a handler, a pattern starting with '/', one method, and no duplicate method+pattern. */
    for (size_t i = 0; i < ar_routes_count; i++) {
        const ar_route *a = &ar_routes[i];
        ck_assert_ptr_nonnull(a->handler);
        ck_assert_int_eq(a->pattern[0], '/');
        ck_assert_int_eq(__builtin_popcount(a->method), 1);
        ck_assert_int_eq(a->method & (AR_HEAD | AR_OPTIONS), 0);
        if (a->method != AR_GET) ck_assert_msg(a->csrf || a->body == AR_BODY_RAW || strncmp(a->pattern, "/api/", 5) == 0,
                                               "browser route %s must be CSRF-protected", a->pattern);
        for (size_t j = i + 1; j < ar_routes_count; j++)
            ck_assert_msg(!(a->method == ar_routes[j].method && strcmp(a->pattern, ar_routes[j].pattern) == 0),
                          "duplicate route %s", a->pattern);
    }
    const ar_route *r;
    ar_path_params p;
    unsigned allowed;
    ck_assert_int_eq(ar_router_match(ar_routes, ar_routes_count, AR_GET, "/api/healthz/", &r, &p, &allowed),
                     AR_MATCH_OK);
}
END_TEST

Suite *router_suite(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("router");
    tcase_add_test(tc, matches_exact_and_params);
    tcase_add_test(tc, trailing_slash_and_empty_segments_do_not_match);
    tcase_add_test(tc, rest_parameter_takes_remaining_path);
    tcase_add_test(tc, wrong_method_reports_allow);
    tcase_add_test(tc, head_uses_get_route);
    tcase_add_test(tc, methods_parse);
    tcase_add_test(tc, real_table_is_consistent);
    suite_add_tcase(s, tc);
    return s;
}
