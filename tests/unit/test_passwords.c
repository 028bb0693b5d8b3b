/* test_passwords.c — unit tests of password rules and storage: validation limits, argon2id hashing and
 * verification, rehash detection for weaker hashes, the dummy verification, generated passwords and the
 * bound on concurrent hashing. */
#include <check.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/error.h"
#include "afterresume/domain/passwords.h"

static void setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
}

static char *repeat(char c, size_t n)
{
    char *s = ar_malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void assert_invalid(const char *password, const char *message_part)
{
    ar_error err = {0};
    ck_assert_int_eq(ar_password_validate(password, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    json_t *m = json_object_get(err.fields, "password");
    ck_assert_ptr_nonnull(m);
    ck_assert_msg(strstr(json_string_value(m), message_part) != NULL, "message '%s' lacks '%s'",
                  json_string_value(m), message_part);
    ar_error_clear(&err);
}

START_TEST(validate_limits)
{
    ar_error err = {0};
    assert_invalid(NULL, "Enter");
    assert_invalid("", "Enter");
    assert_invalid("elevenchars", "at least 12");
    ck_assert_int_eq(ar_password_validate("twelve chars", &err), 0);
    ck_assert_int_eq(err.code, AR_OK);
    char *max = repeat('x', AR_PASSWORD_MAX_BYTES);
    ck_assert_int_eq(ar_password_validate(max, &err), 0);
    char *over = repeat('x', AR_PASSWORD_MAX_BYTES + 1);
    assert_invalid(over, "at most 1024");
    /* 12 bytes but not UTF-8 (a lone continuation byte, an overlong form) */
    assert_invalid("abcdefghijk\x80", "UTF-8");
    assert_invalid("abcdefghij\xc0\xaf", "UTF-8");
    /* multi-byte characters count in bytes: 4 × 3 bytes = 12 bytes is enough */
    ck_assert_int_eq(ar_password_validate("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", &err), 0);
    ar_free(max);
    ar_free(over);
}
END_TEST

START_TEST(hash_and_verify)
{
    ar_error err = {0};
    char hash[crypto_pwhash_STRBYTES];
    ck_assert_int_eq(ar_password_hash("correct horse battery", hash, &err), 0);
    ck_assert_msg(strncmp(hash, "$argon2id$", 10) == 0, "not argon2id: %s", hash);
    ck_assert_ptr_null(strstr(hash, "correct horse"));
    ck_assert_int_eq(ar_password_verify(hash, "correct horse battery"), 1);
    ck_assert_int_eq(ar_password_verify(hash, "correct horse batterY"), 0);
    ck_assert_int_eq(ar_password_verify(hash, ""), 0);
    ck_assert_int_eq(ar_password_verify("not a hash", "correct horse battery"), 0);
    ck_assert_int_eq(ar_password_verify(NULL, "correct horse battery"), 0);
    /* salted: the same password hashes differently each time, both verify */
    char again[crypto_pwhash_STRBYTES];
    ck_assert_int_eq(ar_password_hash("correct horse battery", again, &err), 0);
    ck_assert_str_ne(hash, again);
    ck_assert_int_eq(ar_password_verify(again, "correct horse battery"), 1);
    ck_assert_int_eq(ar_password_needs_rehash(hash), 0);
}
END_TEST

START_TEST(weaker_hash_needs_rehash)
{
    char weak[crypto_pwhash_STRBYTES];
    const char *pw = "an old password hash";
    ck_assert_int_eq(crypto_pwhash_str(weak, pw, strlen(pw), crypto_pwhash_OPSLIMIT_MIN, 8192 * 1024), 0);
    ck_assert_int_eq(ar_password_verify(weak, pw), 1);   /* still accepted ... */
    ck_assert_int_eq(ar_password_needs_rehash(weak), 1); /* ... and upgraded at sign-in */
    char weak_ops[crypto_pwhash_STRBYTES];
    ck_assert_int_eq(crypto_pwhash_str(weak_ops, pw, strlen(pw), 1, AR_PWHASH_MEMLIMIT), 0);
    ck_assert_int_eq(ar_password_needs_rehash(weak_ops), 1);
    ck_assert_int_eq(ar_password_needs_rehash("garbage"), 1);
    ck_assert_int_eq(ar_password_needs_rehash(NULL), 1);
}
END_TEST

static double seconds_of(void (*fn)(const char *), const char *arg, int rounds)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < rounds; i++) fn(arg);
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static char timing_hash[crypto_pwhash_STRBYTES];
static void verify_real(const char *pw)
{
    ck_assert_int_eq(ar_password_verify(timing_hash, pw), 0);
}

START_TEST(dummy_verify_costs_like_a_real_one)
{
    /* The dummy hash uses today's limits, so an unknown user costs as much as a wrong password. */
    ck_assert_int_eq(ar_password_needs_rehash(ar_password_dummy_hash()), 0);
    ck_assert_int_eq(ar_password_verify(ar_password_dummy_hash(), "anything at all"), 0);
    ar_error err = {0};
    ck_assert_int_eq(ar_password_hash("the real password", timing_hash, &err), 0);
    double real = seconds_of(verify_real, "a wrong password", 3);
    double dummy = seconds_of(ar_password_verify_dummy, "a wrong password", 3);
    ck_assert_msg(dummy > real / 3 && dummy < real * 3, "dummy %.3fs vs real %.3fs", dummy, real);
    ar_password_verify_dummy(NULL); /* must not crash */
}
END_TEST

START_TEST(generated_passwords)
{
    char *a = ar_password_generate();
    char *b = ar_password_generate();
    ck_assert_uint_eq(strlen(a), AR_PASSWORD_GENERATED_LENGTH);
    ck_assert_str_ne(a, b);
    ck_assert_uint_eq(strspn(a, "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"), strlen(a));
    ar_error err = {0};
    ck_assert_int_eq(ar_password_validate(a, &err), 0);
    /* every character of the alphabet shows up over many draws: the generator is not stuck */
    int seen[256] = {0};
    for (int i = 0; i < 200; i++) {
        char *p = ar_password_generate();
        for (const char *c = p; *c; c++) seen[(unsigned char)*c] = 1;
        ar_free(p);
    }
    int distinct = 0;
    for (int i = 0; i < 256; i++) distinct += seen[i];
    ck_assert_int_eq(distinct, 56);
    ar_free(a);
    ar_free(b);
}
END_TEST

static void *hash_once(void *arg)
{
    (void)arg;
    char hash[crypto_pwhash_STRBYTES];
    ar_error err = {0};
    int rc = ar_password_hash("concurrent hashing", hash, &err);
    return (void *)(long)(rc == 0 && ar_password_verify(hash, "concurrent hashing"));
}

static void run_parallel_hashes(int threads)
{
    pthread_t t[8];
    for (int i = 0; i < threads; i++) ck_assert_int_eq(pthread_create(&t[i], NULL, hash_once, NULL), 0);
    for (int i = 0; i < threads; i++) {
        void *ok = NULL;
        pthread_join(t[i], &ok);
        ck_assert_int_eq((int)(long)ok, 1);
    }
}

START_TEST(concurrency_is_bounded)
{
    /* Each test runs in its own process (Check's fork mode): the slot count is read at first use here. */
    const char *fork_mode = getenv("CK_FORK");
    if (fork_mode && strcmp(fork_mode, "no") == 0) return;
    setenv("AR_PWHASH_CONCURRENCY", "1", 1);
    ck_assert_int_eq(ar_password_slots(), 1);
    run_parallel_hashes(6);
    int in_flight = -1, peak = -1;
    ar_password_load(&in_flight, &peak);
    ck_assert_int_eq(in_flight, 0);
    ck_assert_int_eq(peak, 1);
}
END_TEST

START_TEST(concurrency_default_and_bad_values)
{
    const char *fork_mode = getenv("CK_FORK");
    if (fork_mode && strcmp(fork_mode, "no") == 0) return;
    setenv("AR_PWHASH_CONCURRENCY", "lots", 1); /* not a number: the default (2) with a warning */
    ck_assert_int_eq(ar_password_slots(), 2);
    run_parallel_hashes(5);
    int peak = -1;
    ar_password_load(NULL, &peak);
    ck_assert_int_ge(peak, 1);
    ck_assert_int_le(peak, 2);
}
END_TEST

Suite *passwords_suite(void)
{
    Suite *s = suite_create("passwords");
    TCase *tc = tcase_create("passwords");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, validate_limits);
    tcase_add_test(tc, hash_and_verify);
    tcase_add_test(tc, weaker_hash_needs_rehash);
    tcase_add_test(tc, dummy_verify_costs_like_a_real_one);
    tcase_add_test(tc, generated_passwords);
    tcase_add_test(tc, concurrency_is_bounded);
    tcase_add_test(tc, concurrency_default_and_bad_values);
    suite_add_tcase(s, tc);
    return s;
}
