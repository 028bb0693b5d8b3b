/* test_stripe.c — unit tests of clients/stripe.c: Stripe-Signature verification (the known vector,
 * wrong secret, two v1 values during a rotation, missing t, stale and future timestamps, v0 only, malformed
 * headers, tampered bodies) and the Checkout Session form body; an unreachable API is a clean error that
 * never carries the secret key. */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afterresume/clients/stripe.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/config.h"

static const char *SECRET = "whsec_test_secret";
static const char *BODY = "{\"id\":\"evt_test_1\",\"type\":\"checkout.session.completed\"}";
static const char *V1 = "960f1b7cc268e13539aa9f2812d1318abc8e0b0940e0cbdcc1631970e11bd667";
#define T0 1700000000LL

static ar_stripe_sig_result verify(const char *header, long long now)
{
    return ar_stripe_verify_signature(header, BODY, strlen(BODY), SECRET, now, AR_STRIPE_TOLERANCE_S);
}

START_TEST(known_vector)
{
    ck_assert_int_eq(sodium_init() >= 0, 1);
    char hex[65];
    ar_stripe_sign(SECRET, T0, BODY, strlen(BODY), hex);
    ck_assert_str_eq(hex, V1);
    char header[256];
    snprintf(header, sizeof header, "t=1700000000,v1=%s", V1);
    ck_assert_int_eq(verify(header, T0), AR_STRIPE_SIG_OK);
    ck_assert_int_eq(verify(header, T0 + 300), AR_STRIPE_SIG_OK); /* the tolerance edge is accepted */
    ck_assert_int_eq(verify(header, T0 - 300), AR_STRIPE_SIG_OK);
    /* spaces around items and an upper-case hex digest are what some proxies and libraries send */
    char upper[65];
    for (int i = 0; i < 65; i++) upper[i] = (char)(V1[i] >= 'a' && V1[i] <= 'f' ? V1[i] - 32 : V1[i]);
    snprintf(header, sizeof header, " t=1700000000 , v1=%s ", upper);
    ck_assert_int_eq(verify(header, T0), AR_STRIPE_SIG_OK);
}
END_TEST

START_TEST(wrong_secret_or_body)
{
    char header[256];
    snprintf(header, sizeof header, "t=1700000000,v1=%s", V1);
    ck_assert_int_eq(ar_stripe_verify_signature(header, BODY, strlen(BODY), "whsec_other", T0, 300),
                     AR_STRIPE_SIG_MISMATCH);
    const char *tampered = "{\"id\":\"evt_test_1\",\"type\":\"checkout.session.completed\" }";
    ck_assert_int_eq(ar_stripe_verify_signature(header, tampered, strlen(tampered), SECRET, T0, 300),
                     AR_STRIPE_SIG_MISMATCH);
    /* the body is compared byte for byte, embedded NUL included */
    ck_assert_int_eq(ar_stripe_verify_signature(header, BODY, strlen(BODY) + 1, SECRET, T0, 300),
                     AR_STRIPE_SIG_MISMATCH);
    /* the signed timestamp is part of the message: another t with the same v1 fails */
    snprintf(header, sizeof header, "t=1700000001,v1=%s", V1);
    ck_assert_int_eq(verify(header, T0), AR_STRIPE_SIG_MISMATCH);
    ck_assert_int_eq(ar_stripe_verify_signature(header, BODY, strlen(BODY), NULL, T0, 300), AR_STRIPE_SIG_NO_SECRET);
    ck_assert_int_eq(ar_stripe_verify_signature(header, BODY, strlen(BODY), "", T0, 300), AR_STRIPE_SIG_NO_SECRET);
}
END_TEST

START_TEST(rotation_two_v1)
{
    char other[65], header[512];
    ar_stripe_sign("whsec_old_secret", T0, BODY, strlen(BODY), other);
    ck_assert_str_ne(other, V1);
    /* during a rotation Stripe sends one v1 per active secret, in any order */
    snprintf(header, sizeof header, "t=1700000000,v1=%s,v1=%s", other, V1);
    ck_assert_int_eq(verify(header, T0), AR_STRIPE_SIG_OK);
    snprintf(header, sizeof header, "t=1700000000,v1=%s,v1=%s", V1, other);
    ck_assert_int_eq(verify(header, T0), AR_STRIPE_SIG_OK);
    ck_assert_int_eq(ar_stripe_verify_signature(header, BODY, strlen(BODY), "whsec_old_secret", T0, 300),
                     AR_STRIPE_SIG_OK);
    ck_assert_int_eq(ar_stripe_verify_signature(header, BODY, strlen(BODY), "whsec_third", T0, 300),
                     AR_STRIPE_SIG_MISMATCH);
    /* a v1 that is not 64 hex digits never matches but does not hide a good one */
    snprintf(header, sizeof header, "t=1700000000,v1=zz,v1=%.63s,v1=%s", V1, V1);
    ck_assert_int_eq(verify(header, T0), AR_STRIPE_SIG_OK);
}
END_TEST

START_TEST(missing_timestamp)
{
    char header[256];
    snprintf(header, sizeof header, "v1=%s", V1);
    ck_assert_int_eq(verify(header, T0), AR_STRIPE_SIG_NO_TIMESTAMP);
    snprintf(header, sizeof header, "t=,v1=%s", V1);
    ck_assert_int_eq(verify(header, T0), AR_STRIPE_SIG_MALFORMED);
    snprintf(header, sizeof header, "t=17e8,v1=%s", V1);
    ck_assert_int_eq(verify(header, T0), AR_STRIPE_SIG_MALFORMED);
    snprintf(header, sizeof header, "t=-1700000000,v1=%s", V1);
    ck_assert_int_eq(verify(header, T0), AR_STRIPE_SIG_MALFORMED);
    snprintf(header, sizeof header, "t=99999999999999999999,v1=%s", V1);
    ck_assert_int_eq(verify(header, T0), AR_STRIPE_SIG_MALFORMED);
}
END_TEST

START_TEST(stale_timestamp)
{
    char header[256];
    snprintf(header, sizeof header, "t=1700000000,v1=%s", V1);
    ck_assert_int_eq(verify(header, T0 + 301), AR_STRIPE_SIG_STALE);
    ck_assert_int_eq(verify(header, T0 - 301), AR_STRIPE_SIG_STALE); /* from the future */
    ck_assert_int_eq(verify(header, T0 + 86400), AR_STRIPE_SIG_STALE);
    /* a fresh signature over the same body verifies at "now" */
    char fresh[65];
    ar_stripe_sign(SECRET, T0 + 86400, BODY, strlen(BODY), fresh);
    snprintf(header, sizeof header, "t=%lld,v1=%s", T0 + 86400, fresh);
    ck_assert_int_eq(verify(header, T0 + 86400 + 5), AR_STRIPE_SIG_OK);
}
END_TEST

START_TEST(v0_only_ignored)
{
    char header[256];
    snprintf(header, sizeof header, "t=1700000000,v0=%s", V1);
    ck_assert_int_eq(verify(header, T0), AR_STRIPE_SIG_NO_V1);
    /* unknown schemes next to a good v1 are ignored */
    snprintf(header, sizeof header, "t=1700000000,v0=deadbeef,v2=xyz,v1=%s", V1);
    ck_assert_int_eq(verify(header, T0), AR_STRIPE_SIG_OK);
    /* "V1" is not "v1" */
    snprintf(header, sizeof header, "t=1700000000,V1=%s", V1);
    ck_assert_int_eq(verify(header, T0), AR_STRIPE_SIG_NO_V1);
}
END_TEST

START_TEST(malformed_headers)
{
    ck_assert_int_eq(verify(NULL, T0), AR_STRIPE_SIG_MISSING);
    ck_assert_int_eq(verify("", T0), AR_STRIPE_SIG_MISSING);
    ck_assert_int_eq(verify("garbage", T0), AR_STRIPE_SIG_MALFORMED);
    ck_assert_int_eq(verify(",,,", T0), AR_STRIPE_SIG_MALFORMED);
    ck_assert_int_eq(verify("=abc", T0), AR_STRIPE_SIG_MALFORMED);
    char header[256];
    snprintf(header, sizeof header, "t=1700000000,,v1=%s", V1);
    ck_assert_int_eq(verify(header, T0), AR_STRIPE_SIG_MALFORMED);
    snprintf(header, sizeof header, "t=1700000000,t=1700000000,v1=%s", V1);
    ck_assert_int_eq(verify(header, T0), AR_STRIPE_SIG_MALFORMED);
    /* an oversized header is refused before any work */
    ar_buf big = AR_BUF_INIT;
    ar_buf_puts(&big, "t=1700000000");
    while (big.len <= AR_STRIPE_SIGNATURE_MAX) ar_buf_printf(&big, ",v0=%s", V1);
    ck_assert_int_eq(verify(ar_buf_cstr(&big), T0), AR_STRIPE_SIG_MALFORMED);
    ar_buf_free(&big);
    /* more v1 values than any rotation needs */
    ar_buf many = AR_BUF_INIT;
    ar_buf_puts(&many, "t=1700000000");
    for (int i = 0; i < 9; i++) ar_buf_printf(&many, ",v1=%s", V1);
    ck_assert_int_eq(verify(ar_buf_cstr(&many), T0), AR_STRIPE_SIG_MALFORMED);
    ar_buf_free(&many);
    ck_assert_str_eq(ar_stripe_sig_result_string(AR_STRIPE_SIG_STALE), "stale");
    ck_assert_str_eq(ar_stripe_sig_result_string(AR_STRIPE_SIG_OK), "ok");
}
END_TEST

static ar_stripe_checkout sample(void)
{
    ar_stripe_checkout c = {
        .api_base = "http://127.0.0.1:1",
        .secret_key = "sk_test_do_not_leak_42",
        .amount_cents = 2500,
        .currency = "usd",
        .product_name = "Reserve balance top-up",
        .success_url = "https://app.example/billing/topup/success?session_id={CHECKOUT_SESSION_ID}",
        .cancel_url = "https://app.example/billing/topup/cancel?topup=7",
        .client_reference_id = "tenant-3-topup-7",
        .tenant_id = 3,
        .topup_id = 7,
        .idempotency_key = "ar-topup-7",
        .timeout_s = 5,
    };
    return c;
}

START_TEST(checkout_form_body)
{
    ar_stripe_checkout c = sample();
    ar_error err = {0};
    char *form = ar_stripe_checkout_form(&c, &err);
    ck_assert_ptr_nonnull(form);
    const char *expected =
        "mode=payment"
        "&line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=usd"
        "&line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=2500"
        "&line_items%5B0%5D%5Bprice_data%5D%5Bproduct_data%5D%5Bname%5D=Reserve%20balance%20top-up"
        "&line_items%5B0%5D%5Bquantity%5D=1"
        "&success_url=https%3A%2F%2Fapp.example%2Fbilling%2Ftopup%2Fsuccess%3Fsession_id%3D%7BCHECKOUT_SESSION_ID%7D"
        "&cancel_url=https%3A%2F%2Fapp.example%2Fbilling%2Ftopup%2Fcancel%3Ftopup%3D7"
        "&client_reference_id=tenant-3-topup-7"
        "&metadata%5Btenant_id%5D=3"
        "&metadata%5Btopup_id%5D=7"
        "&metadata%5Bpurpose%5D=reserve_topup"
        "&payment_intent_data%5Bmetadata%5D%5Btenant_id%5D=3"
        "&payment_intent_data%5Bmetadata%5D%5Btopup_id%5D=7";
    ck_assert_str_eq(form, expected);
    ck_assert_ptr_null(strstr(form, "sk_test")); /* the key travels only in the Authorization header */
    free(form);

    c.amount_cents = 0;
    ck_assert_ptr_null(ar_stripe_checkout_form(&c, &err));
    ck_assert_int_eq(err.code, AR_ERR_BAD_REQUEST);
    ar_error_clear(&err);
    c = sample();
    c.success_url = NULL;
    ck_assert_ptr_null(ar_stripe_checkout_form(&c, &err));
    ck_assert_int_eq(err.code, AR_ERR_BAD_REQUEST);
    ar_error_clear(&err);
}
END_TEST

START_TEST(checkout_unreachable_is_clean_error)
{
    ar_stripe_checkout c = sample();
    ar_error err = {0};
    json_t *s = ar_stripe_checkout_create(&c, &err);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.code, AR_ERR_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(err.message, "Stripe could not be reached"));
    ck_assert_ptr_null(strstr(err.message, "sk_test"));
    ar_error_clear(&err);

    c.secret_key = NULL;
    ck_assert_ptr_null(ar_stripe_checkout_create(&c, &err));
    ck_assert_int_eq(err.code, AR_ERR_BAD_REQUEST);
    ar_error_clear(&err);
    c = sample();
    c.idempotency_key = "";
    ck_assert_ptr_null(ar_stripe_checkout_create(&c, &err));
    ck_assert_int_eq(err.code, AR_ERR_BAD_REQUEST);
    ar_error_clear(&err);
    c = sample();
    c.api_base = "ftp://example";
    ck_assert_ptr_null(ar_stripe_checkout_create(&c, &err));
    ck_assert_int_eq(err.code, AR_ERR_BAD_REQUEST);
    ar_error_clear(&err);
}
END_TEST

/* ---- configuration (check-config lists every Stripe problem; secrets never shown) ---- */

static void stripe_env(const char *key, const char *secret, const char *base, const char *env)
{
    static const char *const names[] = {"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "AR_ENV",
                                        "AR_SECRET_KEY", "SECRET_KEY", "AR_PUBLIC_URL"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) unsetenv(names[i]);
    setenv("DATABASE_URL", "postgresql://ar:pw@127.0.0.1:5432/afterresume", 1);
    setenv("VALKEY_URL", "redis://127.0.0.1:6379/0", 1);
    if (key) setenv("STRIPE_SECRET_KEY", key, 1);
    if (secret) setenv("STRIPE_WEBHOOK_SECRET", secret, 1);
    if (base) setenv("STRIPE_API_BASE", base, 1);
    if (env) {
        setenv("AR_ENV", env, 1);
        setenv("AR_SECRET_KEY", "0123456789abcdef0123456789abcdef0123", 1);
        setenv("AR_PUBLIC_URL", "https://app.example", 1);
    }
}

/* The problem reported for a setting after loading, or NULL when it was accepted. */
static const char *problem(const char *name, ar_error *e)
{
    return json_string_value(json_object_get(e->fields, name));
}

START_TEST(config_checks_stripe_settings)
{
    ar_config c;
    ar_error e = {0};
    stripe_env("sk_test_abc", "whsec_abc", NULL, NULL);
    ck_assert_int_eq(ar_config_load(&c, NULL, NULL, &e), 0);
    ck_assert_str_eq(c.stripe_api_base, "https://api.stripe.com");
    json_t *d = ar_config_describe(&c);
    char *txt = json_dumps(d, 0);
    ck_assert_ptr_null(strstr(txt, "sk_test_abc"));
    ck_assert_ptr_null(strstr(txt, "whsec_abc"));
    free(txt);
    json_decref(d);
    ar_config_free(&c);

    stripe_env("rk_live_restricted", "whsec_x", "https://api.stripe.com", "production");
    ck_assert_int_eq(ar_config_load(&c, NULL, NULL, &e), 0);
    ar_config_free(&c);

    stripe_env("pk_test_publishable", "not_a_signing_secret", "http://127.0.0.1:12111", "production");
    ck_assert_int_eq(ar_config_load(&c, NULL, NULL, &e), -1);
    ck_assert_ptr_nonnull(problem("STRIPE_SECRET_KEY", &e));
    ck_assert_ptr_nonnull(problem("STRIPE_WEBHOOK_SECRET", &e));
    ck_assert_ptr_nonnull(strstr(problem("STRIPE_API_BASE", &e), "https"));
    ck_assert_ptr_null(strstr(e.message, "pk_test_publishable"));
    ar_config_free(&c);
    ar_error_clear(&e);

    stripe_env(NULL, "whsec_alone", "ftp://x", NULL);
    ck_assert_int_eq(ar_config_load(&c, NULL, NULL, &e), -1);
    ck_assert_ptr_nonnull(strstr(problem("STRIPE_SECRET_KEY", &e), "STRIPE_WEBHOOK_SECRET"));
    ck_assert_ptr_nonnull(problem("STRIPE_API_BASE", &e));
    ar_config_free(&c);
    ar_error_clear(&e);

    /* a local fake over http is fine outside production */
    stripe_env("sk_test_x", "whsec_x", "http://127.0.0.1:12111", NULL);
    ck_assert_int_eq(ar_config_load(&c, NULL, NULL, &e), 0);
    ar_config_free(&c);
}
END_TEST

Suite *stripe_suite(void)
{
    Suite *s = suite_create("stripe");
    TCase *tc = tcase_create("signature");
    tcase_add_test(tc, known_vector);
    tcase_add_test(tc, wrong_secret_or_body);
    tcase_add_test(tc, rotation_two_v1);
    tcase_add_test(tc, missing_timestamp);
    tcase_add_test(tc, stale_timestamp);
    tcase_add_test(tc, v0_only_ignored);
    tcase_add_test(tc, malformed_headers);
    suite_add_tcase(s, tc);
    TCase *tc2 = tcase_create("checkout");
    tcase_add_test(tc2, checkout_form_body);
    tcase_add_test(tc2, checkout_unreachable_is_clean_error);
    tcase_add_test(tc2, config_checks_stripe_settings);
    tcase_set_timeout(tc2, 15);
    suite_add_tcase(s, tc2);
    return s;
}
