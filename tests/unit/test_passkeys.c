/* test_passkeys.c — unit tests of invite passkey text: the raw key format (43 URL-safe characters that
 * decode to 32 random bytes), the stored SHA-256 (deterministic, whitespace-insensitive, distinct per key)
 * and the well-formedness check. The database side is in tests/integration/test_accounts.c. */
#include <check.h>
#include <sodium.h>
#include <string.h>

#include "afterresume/domain/passkeys.h"
#include "afterresume/domain/sessions.h"

static void setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
}

START_TEST(raw_key_format)
{
    char raw[64], other[64];
    ar_secret_generate("", raw); /* what ar_passkey_mint hands out */
    ar_secret_generate("", other);
    ck_assert_uint_eq(strlen(raw), AR_PASSKEY_TEXT_LENGTH);
    ck_assert_int_eq(ar_passkey_well_formed(raw), 1);
    ck_assert_str_ne(raw, other);
    unsigned char bin[64];
    size_t bin_len = 0;
    ck_assert_int_eq(sodium_base642bin(bin, sizeof bin, raw, strlen(raw), NULL, &bin_len, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    ck_assert_uint_eq(bin_len, 32);
    /* URL-safe: nothing that needs escaping in /signup?passkey=... */
    ck_assert_ptr_null(strpbrk(raw, "+/=%&? "));
}
END_TEST

START_TEST(many_keys_are_distinct_and_well_formed)
{
    char keys[200][64];
    for (int i = 0; i < 200; i++) {
        ar_secret_generate("", keys[i]);
        ck_assert_int_eq(ar_passkey_well_formed(keys[i]), 1);
        for (int j = 0; j < i; j++) ck_assert_str_ne(keys[i], keys[j]);
    }
}
END_TEST

START_TEST(hash_is_sha256_of_the_text)
{
    const char *raw = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE";
    char param[70], again[70];
    ar_passkey_hash_param(raw, param);
    ar_passkey_hash_param(raw, again);
    ck_assert_str_eq(param, again); /* deterministic */
    ck_assert_uint_eq(strlen(param), 66);
    ck_assert(param[0] == '\\' && param[1] == 'x');
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)raw, strlen(raw));
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    ck_assert_str_eq(param + 2, hex);
    /* pasted with surrounding whitespace: same key */
    char spaced[80];
    snprintf(spaced, sizeof spaced, "  %s\r\n", raw);
    ar_passkey_hash_param(spaced, again);
    ck_assert_str_eq(param, again);
    /* one character different: another hash */
    char changed[64];
    snprintf(changed, sizeof changed, "%s", raw);
    changed[0] = 'B';
    ar_passkey_hash_param(changed, again);
    ck_assert_str_ne(param, again);
    /* the raw text never appears in what is stored */
    ck_assert_ptr_null(strstr(param, raw));
}
END_TEST

START_TEST(well_formed_rejects_other_text)
{
    const char *ok = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE";
    ck_assert_int_eq(ar_passkey_well_formed(ok), 1);
    ck_assert_int_eq(ar_passkey_well_formed(NULL), 0);
    ck_assert_int_eq(ar_passkey_well_formed(""), 0);
    ck_assert_int_eq(ar_passkey_well_formed("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCd"), 0);   /* 42 */
    ck_assert_int_eq(ar_passkey_well_formed("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEF"), 0); /* 44 */
    ck_assert_int_eq(ar_passkey_well_formed("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/AbCdE"), 0); /* standard b64 */
    ck_assert_int_eq(ar_passkey_well_formed("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCd="), 0); /* padding */
}
END_TEST

Suite *passkeys_suite(void)
{
    Suite *s = suite_create("passkeys");
    TCase *tc = tcase_create("passkeys");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, raw_key_format);
    tcase_add_test(tc, many_keys_are_distinct_and_well_formed);
    tcase_add_test(tc, hash_is_sha256_of_the_text);
    tcase_add_test(tc, well_formed_rejects_other_text);
    suite_add_tcase(s, tc);
    return s;
}
