/* test_ratelimit.c — integration tests of the Valkey rate limiter against the test Valkey: the limit and
 * Retry-After, the TTL on every counter, the window resetting, listing and resetting counters, atomic
 * counting from several threads, and the fail-closed / fail-open behaviour when Valkey is down. Every test
 * uses random subjects so that tests (and parallel runs) do not share counters. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/error.h"
#include "afterresume/domain/ratelimit.h"
#include "afterresume/jobs/valkey.h"
#include "integration/harness.h"

static const char *const class_vars[] = {
    "AR_RATE_LIMIT_SIGNIN_IP",   "AR_RATE_LIMIT_SIGNIN_ACCOUNT", "AR_RATE_LIMIT_SIGNUP_IP",
    "AR_RATE_LIMIT_PASSKEY_IP",  "AR_RATE_LIMIT_RESET_IP",       "AR_RATE_LIMIT_AI_USER",
    "AR_RATE_LIMIT_EXPORT_USER", "AR_RATE_LIMIT_API_TOKEN",      "AR_RATE_LIMIT_CSP_REPORT",
};

static redisContext *direct; /* a separate connection for checking keys */

static void configure_limits(void)
{
    ar_error err = {0};
    ck_assert_msg(ar_ratelimit_configure(&err) == 0, "configure: %s", err.message);
    ar_error_clear(&err);
}

static void setup(void)
{
    for (size_t i = 0; i < sizeof class_vars / sizeof class_vars[0]; i++) unsetenv(class_vars[i]);
    configure_limits();
    ar_error err = {0};
    ck_assert_int_eq(ar_valkey_configure(it_valkey_url(), &err), 0);
    direct = it_valkey_connect();
}

static void teardown(void)
{
    ar_valkey_thread_close();
    redisFree(direct);
    direct = NULL;
}

/* A random subject like an IP or account would be ("it-<hex>"). */
static char *random_subject(void)
{
    char *hex = it_random_hex(8);
    char *s = ar_asprintf("it-%s", hex);
    ar_free(hex);
    return s;
}

static int hit(const char *cls, const char *subject, int *retry_after)
{
    ar_error err = {0};
    int rc = ar_ratelimit_hit(cls, subject, retry_after, &err);
    ck_assert_msg(rc >= 0, "hit %s failed: %s", cls, err.message);
    ar_error_clear(&err);
    return rc;
}

static long long key_pttl(const char *cls, const char *subject)
{
    char key[AR_RATELIMIT_KEY_MAX];
    ck_assert_int_eq(ar_ratelimit_key(cls, subject, key, sizeof key), 0);
    redisReply *r = redisCommand(direct, "PTTL %s", key);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

/* The entry of subject in ar_ratelimit_list(cls; NULL = all classes) (borrowed from *list, which the caller frees), or NULL. */
static json_t *find_listed(json_t **list, const char *cls, const char *subject)
{
    ar_error err = {0};
    *list = ar_ratelimit_list(cls, &err);
    ck_assert_msg(*list != NULL, "list failed: %s", err.message);
    size_t i;
    json_t *e;
    json_array_foreach(*list, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "subject")), subject) == 0 &&
            (!cls || strcmp(json_string_value(json_object_get(e, "class")), cls) == 0))
            return e;
    }
    return NULL;
}

START_TEST(sixth_signin_is_limited_with_retry_after)
{
    char *ip = random_subject();
    int retry_after = -1;
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(hit("signin_ip", ip, &retry_after), 0);
        ck_assert_int_eq(retry_after, 0);
    }
    ck_assert_int_eq(hit("signin_ip", ip, &retry_after), 1);
    ck_assert_int_gt(retry_after, 0);
    ck_assert_int_le(retry_after, 300);
    ck_assert_int_eq(hit("signin_ip", ip, &retry_after), 1); /* stays limited */
    ck_assert_int_gt(retry_after, 0);
    /* Another subject and another class are counted separately. */
    char *other = random_subject();
    ck_assert_int_eq(hit("signin_ip", other, &retry_after), 0);
    ck_assert_int_eq(hit("signin_account", ip, &retry_after), 0);
    /* NULL retry_after is allowed. */
    ck_assert_int_eq(hit("signin_ip", ip, NULL), 1);
    ar_free(other);
    ar_free(ip);
}
END_TEST

START_TEST(every_counter_has_a_ttl)
{
    char *user = random_subject();
    hit("ai_user", user, NULL);
    long long pttl = key_pttl("ai_user", user);
    ck_assert_int_gt(pttl, 0);
    ck_assert_int_le(pttl, 3600 * 1000);
    /* A key left without a TTL (e.g. by an older writer) gets one on the next hit. */
    char key[AR_RATELIMIT_KEY_MAX];
    ar_ratelimit_key("ai_user", user, key, sizeof key);
    redisReply *r = redisCommand(direct, "PERSIST %s", key);
    freeReplyObject(r);
    ck_assert_int_eq(key_pttl("ai_user", user), -1);
    hit("ai_user", user, NULL);
    pttl = key_pttl("ai_user", user);
    ck_assert_int_gt(pttl, 0);
    ck_assert_int_le(pttl, 3600 * 1000);
    /* Hits inside the window do not extend it. */
    r = redisCommand(direct, "PEXPIRE %s 5000", key);
    freeReplyObject(r);
    hit("ai_user", user, NULL);
    ck_assert_int_le(key_pttl("ai_user", user), 5000);
    ar_free(user);
}
END_TEST

START_TEST(window_resets_after_it_expires)
{
    setenv("AR_RATE_LIMIT_CSP_REPORT", "2/1", 1);
    configure_limits();
    char *ip = random_subject();
    int retry_after = 0;
    ck_assert_int_eq(hit("csp_report", ip, &retry_after), 0);
    ck_assert_int_eq(hit("csp_report", ip, &retry_after), 0);
    ck_assert_int_eq(hit("csp_report", ip, &retry_after), 1);
    ck_assert_int_eq(retry_after, 1);
    usleep(1200 * 1000);
    ck_assert_int_eq(hit("csp_report", ip, &retry_after), 0);
    unsetenv("AR_RATE_LIMIT_CSP_REPORT");
    ar_free(ip);
}
END_TEST

START_TEST(disabled_class_never_limits)
{
    setenv("AR_RATE_LIMIT_SIGNUP_IP", "0/3600", 1);
    configure_limits();
    char *ip = random_subject();
    for (int i = 0; i < 10; i++) ck_assert_int_eq(hit("signup_ip", ip, NULL), 0);
    ck_assert_int_eq(key_pttl("signup_ip", ip), -2); /* nothing was even written */
    unsetenv("AR_RATE_LIMIT_SIGNUP_IP");
    ar_free(ip);
}
END_TEST

START_TEST(list_shows_counters)
{
    char *ip = random_subject();
    for (int i = 0; i < 6; i++) hit("signin_ip", ip, NULL);
    json_t *list;
    json_t *e = find_listed(&list, "signin_ip", ip);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "count")), 6);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "limit")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "window")), 300);
    json_int_t ttl = json_integer_value(json_object_get(e, "ttl"));
    ck_assert_int_gt(ttl, 0);
    ck_assert_int_le(ttl, 300);
    json_decref(list);
    /* All classes at once, and another class's list does not show it. */
    ck_assert_ptr_nonnull(find_listed(&list, NULL, ip));
    json_decref(list);
    ck_assert_ptr_null(find_listed(&list, "signin_account", ip));
    json_decref(list);
    /* A subject with spaces is stored (and listed) as its SHA-256. */
    char *hex = it_random_hex(4);
    char *spaced = ar_asprintf("Alice Smith %s", hex);
    ar_free(hex);
    hit("signin_account", spaced, NULL);
    ck_assert_ptr_null(find_listed(&list, "signin_account", spaced));
    json_decref(list);
    char key[AR_RATELIMIT_KEY_MAX];
    ck_assert_int_eq(ar_ratelimit_key("signin_account", spaced, key, sizeof key), 0);
    const char *hashed = key + strlen("ar:{rl}:signin_account:");
    ck_assert_int_eq(strlen(hashed), 64);
    e = find_listed(&list, "signin_account", hashed);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "count")), 1);
    json_decref(list);
    ar_error err = {0};
    ck_assert_int_eq(ar_ratelimit_reset("signin_account", spaced, &err), 0);
    ck_assert_ptr_null(find_listed(&list, "signin_account", hashed));
    json_decref(list);
    ar_free(spaced);
    ar_free(ip);
}
END_TEST

START_TEST(list_is_bounded)
{
    /* 1,100 counters in one class: the list stops at 1,000. */
    char *prefix = random_subject();
    redisAppendCommand(direct, "MULTI");
    for (int i = 0; i < 1100; i++)
        redisAppendCommand(direct, "SET ar:{rl}:export_user:%s-%d 1 EX 60", prefix, i);
    redisAppendCommand(direct, "EXEC");
    for (int i = 0; i < 1102; i++) {
        void *reply = NULL;
        ck_assert_int_eq(redisGetReply(direct, &reply), REDIS_OK);
        freeReplyObject(reply);
    }
    ar_error err = {0};
    json_t *list = ar_ratelimit_list("export_user", &err);
    ck_assert_ptr_nonnull(list);
    ck_assert_int_eq(json_array_size(list), 1000);
    json_decref(list);
    /* Reset of the whole class removes every one of them. */
    ck_assert_int_eq(ar_ratelimit_reset("export_user", NULL, &err), 0);
    redisReply *r = redisCommand(direct, "EXISTS ar:{rl}:export_user:%s-0 ar:{rl}:export_user:%s-1099", prefix, prefix);
    ck_assert_int_eq(r->integer, 0);
    freeReplyObject(r);
    list = ar_ratelimit_list("export_user", &err);
    ck_assert_int_eq(json_array_size(list), 0);
    json_decref(list);
    ar_free(prefix);
}
END_TEST

START_TEST(reset_clears_one_subject_or_a_class)
{
    char *ip = random_subject(), *other = random_subject();
    int retry_after = 0;
    for (int i = 0; i < 6; i++) hit("reset_ip", ip, &retry_after);
    for (int i = 0; i < 6; i++) hit("reset_ip", other, &retry_after);
    ck_assert_int_eq(hit("reset_ip", ip, &retry_after), 1);
    ar_error err = {0};
    ck_assert_int_eq(ar_ratelimit_reset("reset_ip", ip, &err), 0);
    ck_assert_int_eq(key_pttl("reset_ip", ip), -2);
    ck_assert_int_eq(hit("reset_ip", ip, &retry_after), 0);
    ck_assert_int_eq(hit("reset_ip", other, &retry_after), 1); /* untouched */
    json_t *list;
    ck_assert_ptr_null(find_listed(&list, "passkey_ip", ip));
    json_decref(list);
    /* Resetting a subject that has no counter is fine. */
    ck_assert_int_eq(ar_ratelimit_reset("reset_ip", "never-seen", &err), 0);
    ck_assert_int_eq(ar_ratelimit_reset("reset_ip", "", &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);
    /* The whole class. */
    ck_assert_int_eq(ar_ratelimit_reset("reset_ip", NULL, &err), 0);
    ck_assert_int_eq(key_pttl("reset_ip", ip), -2);
    ck_assert_int_eq(key_pttl("reset_ip", other), -2);
    ck_assert_int_eq(hit("reset_ip", other, &retry_after), 0);
    ar_free(ip);
    ar_free(other);
}
END_TEST

typedef struct race {
    const char *subject;
    int allowed;
    int limited;
} race;

static void *race_thread(void *arg)
{
    race *r = arg;
    for (int i = 0; i < 10; i++) {
        ar_error err = {0};
        int rc = ar_ratelimit_hit("ai_user", r->subject, NULL, &err);
        if (rc == 0) r->allowed++;
        else if (rc == 1) r->limited++;
        ar_error_clear(&err);
    }
    ar_valkey_thread_close();
    return NULL;
}

START_TEST(concurrent_hits_count_exactly)
{
    setenv("AR_RATE_LIMIT_AI_USER", "25/60", 1);
    configure_limits();
    char *user = random_subject();
    race races[8] = {0};
    pthread_t threads[8];
    for (int i = 0; i < 8; i++) {
        races[i].subject = user;
        ck_assert_int_eq(pthread_create(&threads[i], NULL, race_thread, &races[i]), 0);
    }
    int allowed = 0, limited = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        allowed += races[i].allowed;
        limited += races[i].limited;
    }
    ck_assert_int_eq(allowed, 25);
    ck_assert_int_eq(limited, 55);
    unsetenv("AR_RATE_LIMIT_AI_USER");
    ar_free(user);
}
END_TEST

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

START_TEST(valkey_down_fails_closed_for_signin_open_for_others)
{
    ar_valkey_thread_close();
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", closed_port());
    ar_error err = {0};
    ck_assert_int_eq(ar_valkey_configure(url, &err), 0);
    static const char *const closed[] = {"signin_ip", "signin_account", "signup_ip", "passkey_ip", "reset_ip"};
    for (size_t i = 0; i < sizeof closed / sizeof closed[0]; i++) {
        int retry_after = 7;
        ck_assert_int_eq(ar_ratelimit_hit(closed[i], "198.51.100.1", &retry_after, &err), -1);
        ck_assert_int_eq(err.code, AR_ERR_UNAVAILABLE);
        ck_assert_str_eq(err.message, "sign-in is temporarily unavailable");
        ck_assert_int_eq(retry_after, 0);
        ar_error_clear(&err);
    }
    static const char *const open[] = {"ai_user", "export_user", "api_token", "csp_report"};
    for (size_t i = 0; i < sizeof open / sizeof open[0]; i++) {
        ck_assert_int_eq(ar_ratelimit_hit(open[i], "user-1", NULL, &err), 0);
        ar_error_clear(&err);
    }
    ck_assert_ptr_null(ar_ratelimit_list(NULL, &err));
    ck_assert_int_eq(err.code, AR_ERR_UNAVAILABLE);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_ratelimit_reset("signin_ip", "x", &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_UNAVAILABLE);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_ratelimit_reset("signin_ip", NULL, &err), -1);
    ar_error_clear(&err);
    /* Back up: counting works again on the same thread. */
    ck_assert_int_eq(ar_valkey_configure(it_valkey_url(), &err), 0);
    char *ip = random_subject();
    ck_assert_int_eq(hit("signin_ip", ip, NULL), 0);
    ck_assert_int_gt(key_pttl("signin_ip", ip), 0);
    ar_free(ip);
}
END_TEST

Suite *ratelimit_integration_suite(void)
{
    Suite *s = suite_create("ratelimit_integration");
    TCase *tc = tcase_create("valkey");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sixth_signin_is_limited_with_retry_after);
    tcase_add_test(tc, every_counter_has_a_ttl);
    tcase_add_test(tc, window_resets_after_it_expires);
    tcase_add_test(tc, disabled_class_never_limits);
    tcase_add_test(tc, list_shows_counters);
    tcase_add_test(tc, list_is_bounded);
    tcase_add_test(tc, reset_clears_one_subject_or_a_class);
    tcase_add_test(tc, concurrent_hits_count_exactly);
    tcase_add_test(tc, valkey_down_fails_closed_for_signin_open_for_others);
    suite_add_tcase(s, tc);
    return s;
}
