/* test_auth.c — unit tests for the HTTP identity helpers: cookie attributes, CSRF token comparison, and the
 * secret format shared by sessions, tokens and passkeys. */
#include <check.h>
#include <sodium.h>
#include <string.h>

#include "afterresume/domain/sessions.h"
#include "afterresume/domain/tokens.h"
#include "afterresume/http/auth.h"

START_TEST(session_cookie_attributes)
{
    char c[512];
    ar_format_cookie(c, sizeof c, "ar_session", "abc", 0, 0);
    ck_assert_str_eq(c, "ar_session=abc; Path=/; HttpOnly; SameSite=Lax"); /* browser-session cookie */
    ar_format_cookie(c, sizeof c, "__Host-ar_session", "abc", 1209600, 1);
    ck_assert_str_eq(c, "__Host-ar_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=1209600; Secure");
    ar_format_cookie(c, sizeof c, "ar_session", "", -1, 0);
    ck_assert_str_eq(c, "ar_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"); /* deletion */
}
END_TEST

START_TEST(csrf_tokens_compare_exactly)
{
    ck_assert(ar_csrf_token_matches("tok-123", "tok-123"));
    ck_assert(!ar_csrf_token_matches("tok-123", "tok-124"));
    ck_assert(!ar_csrf_token_matches("tok-123", "tok-12"));
    ck_assert(!ar_csrf_token_matches("tok-123", ""));
    ck_assert(!ar_csrf_token_matches("tok-123", NULL));
    ck_assert(!ar_csrf_token_matches("", ""));   /* no token on either side is never a match */
    ck_assert(!ar_csrf_token_matches(NULL, "x"));
}
END_TEST

START_TEST(secrets_are_256_bit_urlsafe_and_hashed)
{
    ck_assert_int_ge(sodium_init(), 0);
    char a[AR_SECRET_TEXT_SIZE], b[AR_SECRET_TEXT_SIZE];
    ar_secret_generate("", a);
    ar_secret_generate(AR_TOKEN_PREFIX, b);
    ck_assert_uint_eq(strlen(a), 43);
    ck_assert_uint_eq(strlen(b), 7 + 43);
    ck_assert(strncmp(b, "ar_pat_", 7) == 0);
    ck_assert_str_ne(a, b + 7);
    unsigned char raw[64];
    size_t len = 0;
    ck_assert_int_eq(sodium_base642bin(raw, sizeof raw, a, strlen(a), NULL, &len, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    ck_assert_uint_eq(len, 32);
    for (const char *p = a; *p; p++) ck_assert(strchr("+/=", *p) == NULL);
    char h1[70], h2[70];
    ar_secret_hash_param(a, h1);
    ar_secret_hash_param(a, h2);
    ck_assert_str_eq(h1, h2);
    ck_assert(strncmp(h1, "\\x", 2) == 0);
    ck_assert_uint_eq(strlen(h1), 2 + 64);
    ck_assert(strstr(h1, a) == NULL);
}
END_TEST

Suite *auth_suite(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("auth");
    tcase_add_test(tc, session_cookie_attributes);
    tcase_add_test(tc, csrf_tokens_compare_exactly);
    tcase_add_test(tc, secrets_are_256_bit_urlsafe_and_hashed);
    suite_add_tcase(s, tc);
    return s;
}
