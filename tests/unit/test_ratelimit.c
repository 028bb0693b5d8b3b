/* test_ratelimit.c — unit tests for the rate limiter's configuration (AR_RATE_LIMIT_<CLASS> parsing: valid
 * values, rejected values naming the variable, 0 disabling a class) and its key construction (subject
 * sanitising). Nothing here talks to Valkey. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "afterresume/domain/ratelimit.h"

static const char *const class_vars[] = {
    "AR_RATE_LIMIT_SIGNIN_IP",   "AR_RATE_LIMIT_SIGNIN_ACCOUNT", "AR_RATE_LIMIT_SIGNUP_IP",
    "AR_RATE_LIMIT_PASSKEY_IP",  "AR_RATE_LIMIT_RESET_IP",       "AR_RATE_LIMIT_AI_USER",
    "AR_RATE_LIMIT_EXPORT_USER", "AR_RATE_LIMIT_API_TOKEN",      "AR_RATE_LIMIT_CSP_REPORT",
};

static void clean_env(void)
{
    for (size_t i = 0; i < sizeof class_vars / sizeof class_vars[0]; i++) unsetenv(class_vars[i]);
}

static void configure_ok(void)
{
    ar_error err = {0};
    ck_assert_int_eq(ar_ratelimit_configure(&err), 0);
    ar_error_clear(&err);
}

/* The configured {limit, window, fail_closed} of cls, from ar_ratelimit_classes(). */
static void class_setting(const char *cls, int *limit, int *window, int *fail_closed)
{
    json_t *classes = ar_ratelimit_classes();
    size_t i;
    json_t *c;
    int found = 0;
    json_array_foreach(classes, i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "class")), cls) != 0) continue;
        *limit = (int)json_integer_value(json_object_get(c, "limit"));
        *window = (int)json_integer_value(json_object_get(c, "window"));
        *fail_closed = json_is_true(json_object_get(c, "fail_closed"));
        found = 1;
    }
    json_decref(classes);
    ck_assert_msg(found, "class %s missing from ar_ratelimit_classes()", cls);
}

static void assert_setting(const char *cls, int limit, int window, int fail_closed)
{
    int l, w, fc;
    class_setting(cls, &l, &w, &fc);
    ck_assert_int_eq(l, limit);
    ck_assert_int_eq(w, window);
    ck_assert_int_eq(fc, fail_closed);
}

START_TEST(defaults_match_spec)
{
    clean_env();
    configure_ok();
    json_t *classes = ar_ratelimit_classes();
    ck_assert_int_eq(json_array_size(classes), 10);
    json_decref(classes);
    assert_setting("signin_ip", 5, 300, 1);
    assert_setting("signin_account", 5, 300, 1);
    assert_setting("signup_ip", 3, 3600, 1);
    assert_setting("passkey_ip", 10, 3600, 1);
    assert_setting("reset_ip", 5, 3600, 1);
    assert_setting("ai_user", 20, 3600, 0);
    assert_setting("export_user", 5, 3600, 0);
    assert_setting("api_token", 600, 60, 0);
    assert_setting("csp_report", 60, 60, 0);
    assert_setting("share_view", 60, 60, 0); /* public share-link views per IP */
}
END_TEST

START_TEST(env_overrides_one_class)
{
    clean_env();
    setenv("AR_RATE_LIMIT_SIGNIN_IP", "50/60", 1);
    setenv("AR_RATE_LIMIT_API_TOKEN", "1000000000/2678400", 1);
    configure_ok();
    assert_setting("signin_ip", 50, 60, 1);
    assert_setting("api_token", 1000000000, 2678400, 0);
    assert_setting("signin_account", 5, 300, 1); /* untouched */
    /* Configuring again starts from the defaults. */
    clean_env();
    configure_ok();
    assert_setting("signin_ip", 5, 300, 1);
    assert_setting("api_token", 600, 60, 0);
}
END_TEST

START_TEST(zero_disables_class)
{
    clean_env();
    setenv("AR_RATE_LIMIT_AI_USER", "0/60", 1);
    configure_ok();
    assert_setting("ai_user", 0, 60, 0);
    /* A disabled class allows without asking Valkey (which this test binary never configures). */
    ar_error err = {0};
    int retry_after = 99;
    for (int i = 0; i < 30; i++) ck_assert_int_eq(ar_ratelimit_hit("ai_user", "user-1", &retry_after, &err), 0);
    ck_assert_int_eq(retry_after, 0);
    clean_env();
    configure_ok();
}
END_TEST

START_TEST(invalid_values_rejected_naming_variable)
{
    static const char *const bad[] = {"",     "5",       "/60",        "5/",       "5/0",         "-1/60",
                                      "5/-1", "5/60s",   " 5/60",      "5/60 ",    "five/60",     "5//60",
                                      "5/2678401", "1000000001/60", "99999999999/60", "5.5/60", "0x10/60"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clean_env();
        setenv("AR_RATE_LIMIT_SIGNUP_IP", "7/70", 1);
        configure_ok();
        setenv("AR_RATE_LIMIT_SIGNUP_IP", "8/80", 1);
        setenv("AR_RATE_LIMIT_EXPORT_USER", bad[i], 1);
        ar_error err = {0};
        ck_assert_msg(ar_ratelimit_configure(&err) == -1, "value \"%s\" was accepted", bad[i]);
        ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
        ck_assert_ptr_nonnull(strstr(err.message, "AR_RATE_LIMIT_EXPORT_USER"));
        ck_assert_ptr_nonnull(json_object_get(err.fields, "AR_RATE_LIMIT_EXPORT_USER"));
        ck_assert_ptr_null(json_object_get(err.fields, "AR_RATE_LIMIT_SIGNUP_IP"));
        ar_error_clear(&err);
        /* Nothing changed: the previous configuration stays, the valid new value is not half-applied. */
        assert_setting("signup_ip", 7, 70, 1);
        assert_setting("export_user", 5, 3600, 0);
    }
    clean_env();
    configure_ok();
}
END_TEST

START_TEST(every_bad_variable_is_named)
{
    clean_env();
    setenv("AR_RATE_LIMIT_SIGNIN_IP", "abc", 1);
    setenv("AR_RATE_LIMIT_CSP_REPORT", "10/0", 1);
    ar_error err = {0};
    ck_assert_int_eq(ar_ratelimit_configure(&err), -1);
    ck_assert_ptr_nonnull(json_object_get(err.fields, "AR_RATE_LIMIT_SIGNIN_IP"));
    ck_assert_ptr_nonnull(json_object_get(err.fields, "AR_RATE_LIMIT_CSP_REPORT"));
    ck_assert_int_eq(json_object_size(err.fields), 2);
    ar_error_clear(&err);
    clean_env();
    configure_ok();
}
END_TEST

START_TEST(unknown_class_and_empty_subject_rejected)
{
    clean_env();
    configure_ok();
    ar_error err = {0};
    ck_assert_int_eq(ar_ratelimit_hit("nope", "x", NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ck_assert_ptr_nonnull(json_object_get(err.fields, "class"));
    ar_error_clear(&err);
    ck_assert_int_eq(ar_ratelimit_hit(NULL, "x", NULL, &err), -1);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_ratelimit_hit("signin_ip", "", NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);
    ck_assert_ptr_null(ar_ratelimit_list("nope", &err));
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_ratelimit_reset("nope", NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);
}
END_TEST

START_TEST(keys_keep_plain_subjects_and_hash_others)
{
    char key[AR_RATELIMIT_KEY_MAX];
    ck_assert_int_eq(ar_ratelimit_key("signin_ip", "203.0.113.7", key, sizeof key), 0);
    ck_assert_str_eq(key, "ar:{rl}:signin_ip:203.0.113.7");
    ck_assert_int_eq(ar_ratelimit_key("signin_account", "alice@example.com", key, sizeof key), 0);
    ck_assert_str_eq(key, "ar:{rl}:signin_account:alice@example.com");
    /* SHA-256("a b") */
    ck_assert_int_eq(ar_ratelimit_key("signin_account", "a b", key, sizeof key), 0);
    ck_assert_str_eq(key, "ar:{rl}:signin_account:c8687a08aa5d6ed2044328fa6a697ab8e96dc34291e8c2034ae8c38e6fcc6d65");
    char with_control[] = "x\ny";
    ck_assert_int_eq(ar_ratelimit_key("ai_user", with_control, key, sizeof key), 0);
    ck_assert_int_eq(strlen(key), strlen("ar:{rl}:ai_user:") + 64);
    ck_assert_int_eq(ar_ratelimit_key("ai_user", "caf\xc3\xa9", key, sizeof key), 0);
    ck_assert_int_eq(strlen(key), strlen("ar:{rl}:ai_user:") + 64);
    char long_subject[202];
    memset(long_subject, 'a', 200);
    long_subject[200] = '\0';
    ck_assert_int_eq(ar_ratelimit_key("ai_user", long_subject, key, sizeof key), 0);
    ck_assert_int_eq(strlen(key), strlen("ar:{rl}:ai_user:") + 200); /* 200 is still kept as is */
    long_subject[200] = 'a';
    long_subject[201] = '\0';
    ck_assert_int_eq(ar_ratelimit_key("ai_user", long_subject, key, sizeof key), 0);
    ck_assert_int_eq(strlen(key), strlen("ar:{rl}:ai_user:") + 64);
    ck_assert_int_eq(ar_ratelimit_key("nope", "x", key, sizeof key), -1);
    ck_assert_int_eq(ar_ratelimit_key("ai_user", "", key, sizeof key), -1);
    ck_assert_int_eq(ar_ratelimit_key("ai_user", "x", key, 10), -1);
}
END_TEST

Suite *ratelimit_suite(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, defaults_match_spec);
    tcase_add_test(tc, env_overrides_one_class);
    tcase_add_test(tc, zero_disables_class);
    tcase_add_test(tc, invalid_values_rejected_naming_variable);
    tcase_add_test(tc, every_bad_variable_is_named);
    tcase_add_test(tc, unknown_class_and_empty_subject_rejected);
    tcase_add_test(tc, keys_keep_plain_subjects_and_hash_others);
    suite_add_tcase(s, tc);
    return s;
}
