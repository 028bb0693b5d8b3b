/* test_billing.c — unit tests of the billing money math (no database): half-up rounding of micro-cents, line
 * costs and their bounds, the price parser ("cents per 1,000 units" → micro-cents per unit), money and price
 * formatting, rate-card price lookup (exact model, provider, default) and the cost of usage rows. */
#include <check.h>
#include <string.h>

#include "afterresume/domain/billing.h"

START_TEST(rounding_is_half_up_once_per_post)
{
    ck_assert_int_eq(ar_billing_round_microcents(0), 0);
    ck_assert_int_eq(ar_billing_round_microcents(-5), 0);
    ck_assert_int_eq(ar_billing_round_microcents(1), 0);
    ck_assert_int_eq(ar_billing_round_microcents(499999), 0);
    ck_assert_int_eq(ar_billing_round_microcents(500000), 1);
    ck_assert_int_eq(ar_billing_round_microcents(999999), 1);
    ck_assert_int_eq(ar_billing_round_microcents(1000000), 1);
    ck_assert_int_eq(ar_billing_round_microcents(1499999), 1);
    ck_assert_int_eq(ar_billing_round_microcents(1500000), 2);
    ck_assert_int_eq(ar_billing_round_microcents(4000000000000000000LL), 4000000000000LL);
}
END_TEST

START_TEST(line_cost_bounds)
{
    long long out = -1;
    ck_assert_int_eq(ar_billing_line_microcents(1000, 100, &out), 0);
    ck_assert_int_eq(out, 100000);
    ck_assert_int_eq(ar_billing_line_microcents(AR_RATE_UNITS_MAX, AR_RATE_PRICE_MAX, &out), 0);
    ck_assert_int_eq(out, 1000000000000000000LL);
    ck_assert_int_eq(ar_billing_line_microcents(AR_RATE_UNITS_MAX + 1, 1, &out), -1);
    ck_assert_int_eq(ar_billing_line_microcents(1, AR_RATE_PRICE_MAX + 1, &out), -1);
    ck_assert_int_eq(ar_billing_line_microcents(-1, 1, &out), -1);
    ck_assert_int_eq(ar_billing_line_microcents(1, -1, &out), -1);
}
END_TEST

START_TEST(price_parser)
{
    long long v = -1;
    ck_assert_int_eq(ar_billing_parse_price_per_1k("0.1", &v), 0);
    ck_assert_int_eq(v, 100);
    ck_assert_int_eq(ar_billing_parse_price_per_1k("2", &v), 0);
    ck_assert_int_eq(v, 2000);
    ck_assert_int_eq(ar_billing_parse_price_per_1k("0.015", &v), 0);
    ck_assert_int_eq(v, 15);
    ck_assert_int_eq(ar_billing_parse_price_per_1k("0", &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(ar_billing_parse_price_per_1k("1000000", &v), 0);
    ck_assert_int_eq(v, AR_RATE_PRICE_MAX);
    ck_assert_int_eq(ar_billing_parse_price_per_1k("1000000.001", &v), -1);
    ck_assert_int_eq(ar_billing_parse_price_per_1k("0.0001", &v), -1);   /* finer than a micro-cent per unit */
    ck_assert_int_eq(ar_billing_parse_price_per_1k("", &v), -1);
    ck_assert_int_eq(ar_billing_parse_price_per_1k(".5", &v), -1);
    ck_assert_int_eq(ar_billing_parse_price_per_1k("1.", &v), -1);
    ck_assert_int_eq(ar_billing_parse_price_per_1k("-1", &v), -1);
    ck_assert_int_eq(ar_billing_parse_price_per_1k("1e3", &v), -1);
    ck_assert_int_eq(ar_billing_parse_price_per_1k(" 1", &v), -1);
    ck_assert_int_eq(ar_billing_parse_price_per_1k("99999999999999999999", &v), -1);
    ck_assert_int_eq(ar_billing_parse_price_per_1k(NULL, &v), -1);
}
END_TEST

START_TEST(money_formatting)
{
    char b[48];
    ar_billing_format_dollars(0, b, sizeof b);
    ck_assert_str_eq(b, "0.00");
    ar_billing_format_dollars(5, b, sizeof b);
    ck_assert_str_eq(b, "0.05");
    ar_billing_format_dollars(-5, b, sizeof b);
    ck_assert_str_eq(b, "-0.05");
    ar_billing_format_dollars(123456789, b, sizeof b);
    ck_assert_str_eq(b, "1234567.89");
    ar_billing_format_dollars(-9223372036854775807LL - 1, b, sizeof b);
    ck_assert_str_eq(b, "-92233720368547758.08");
    ar_billing_format_money(0, b, sizeof b);
    ck_assert_str_eq(b, "$0.00");
    ar_billing_format_money(123456, b, sizeof b);
    ck_assert_str_eq(b, "$1,234.56");
    ar_billing_format_money(100000000, b, sizeof b);
    ck_assert_str_eq(b, "$1,000,000.00");
    ar_billing_format_money(99999, b, sizeof b);
    ck_assert_str_eq(b, "$999.99");
    ar_billing_format_money(-1, b, sizeof b);
    ck_assert_str_eq(b, "-$0.01");
    ar_billing_format_price_per_1k(100, b, sizeof b);
    ck_assert_str_eq(b, "0.1");
    ar_billing_format_price_per_1k(15, b, sizeof b);
    ck_assert_str_eq(b, "0.015");
    ar_billing_format_price_per_1k(2000, b, sizeof b);
    ck_assert_str_eq(b, "2");
    ar_billing_format_price_per_1k(2500, b, sizeof b);
    ck_assert_str_eq(b, "2.5");
    /* Parse and format are inverses. */
    long long v;
    ck_assert_int_eq(ar_billing_parse_price_per_1k("12.345", &v), 0);
    ar_billing_format_price_per_1k(v, b, sizeof b);
    ck_assert_str_eq(b, "12.345");
}
END_TEST

static ar_rate_price prices[] = {
    {"prompt_tokens", "", "", 100},
    {"completion_tokens", "", "", 300},
    {"prompt_tokens", "openai", "", 150},
    {"prompt_tokens", "openai", "gpt-big", 1000},
    {"completion_tokens", "openai", "gpt-big", 3000},
    {"prompt_tokens", "local", "", 0},
    {"completion_tokens", "local", "", 0},
    {"per_job", "", "", 250000},
    {"per_mb_stored", "", "", 10000},
};

START_TEST(rate_card_lookup_most_specific_wins)
{
    ar_rate_card rc = {3, sizeof prices / sizeof prices[0], prices};
    ck_assert_int_eq(ar_rate_card_price(&rc, "prompt_tokens", "openai", "gpt-big"), 1000);
    ck_assert_int_eq(ar_rate_card_price(&rc, "prompt_tokens", "openai", "gpt-small"), 150);
    ck_assert_int_eq(ar_rate_card_price(&rc, "completion_tokens", "openai", "gpt-small"), 300);
    ck_assert_int_eq(ar_rate_card_price(&rc, "prompt_tokens", "vllm", "x"), 100);
    ck_assert_int_eq(ar_rate_card_price(&rc, "prompt_tokens", NULL, NULL), 100);
    ck_assert_int_eq(ar_rate_card_price(&rc, "prompt_tokens", "local", "summariser"), 0);
    ck_assert_int_eq(ar_rate_card_price(&rc, "per_job", "openai", "gpt-big"), 250000);
    ck_assert_int_eq(ar_rate_card_price(&rc, "embedding_tokens", "", ""), -1);
    ar_rate_card empty = {1, 0, NULL};
    ck_assert_int_eq(ar_rate_card_price(&empty, "per_job", "", ""), -1);
}
END_TEST

START_TEST(usage_row_costs_and_rounding)
{
    ar_rate_card rc = {3, sizeof prices / sizeof prices[0], prices};
    ar_error err = {0};
    long long micro = 0;
    /* 1,234 prompt × 1,000 µ¢ + 567 completion × 3,000 µ¢ = 1,234,000 + 1,701,000 = 2,935,000 µ¢ → 2.935 ¢ → 3 ¢ */
    ar_billing_usage_row big = {"tokens", "openai", "gpt-big", 1234, 567, 0};
    ck_assert_int_eq(ar_rate_card_row_microcents(&rc, &big, &micro, &err), 0);
    ck_assert_int_eq(micro, 2935000);
    ck_assert_int_eq(ar_billing_round_microcents(micro), 3);
    /* Rounding once per post, not per row: two rows of 0.4 ¢ each cost 1 ¢ together, 0 ¢ each alone. */
    ar_billing_usage_row small = {"tokens", "", "", 4000, 0, 0};   /* 4,000 × 100 µ¢ = 400,000 µ¢ = 0.4 ¢ */
    ck_assert_int_eq(ar_rate_card_row_microcents(&rc, &small, &micro, &err), 0);
    ck_assert_int_eq(micro, 400000);
    ck_assert_int_eq(ar_billing_round_microcents(micro), 0);
    ck_assert_int_eq(ar_billing_round_microcents(2 * micro), 1);
    /* Per job and per MB. */
    ar_billing_usage_row job = {"per_job", NULL, NULL, 0, 0, 2};
    ck_assert_int_eq(ar_rate_card_row_microcents(&rc, &job, &micro, &err), 0);
    ck_assert_int_eq(micro, 500000);
    ar_billing_usage_row mb = {"per_mb_stored", "", "", 0, 0, 150};
    ck_assert_int_eq(ar_rate_card_row_microcents(&rc, &mb, &micro, &err), 0);
    ck_assert_int_eq(ar_billing_round_microcents(micro), 2);   /* 1.5 ¢ → 2 */
    /* Free local provider. */
    ar_billing_usage_row local = {"tokens", "local", "", 1000000, 1000000, 0};
    ck_assert_int_eq(ar_rate_card_row_microcents(&rc, &local, &micro, &err), 0);
    ck_assert_int_eq(micro, 0);
    /* Bad rows. */
    ar_billing_usage_row unknown = {"gpu_seconds", "", "", 0, 0, 1};
    ck_assert_int_eq(ar_rate_card_row_microcents(&rc, &unknown, &micro, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);
    ar_billing_usage_row negative = {"tokens", "", "", -1, 0, 0};
    ck_assert_int_eq(ar_rate_card_row_microcents(&rc, &negative, &micro, &err), -1);
    ar_error_clear(&err);
    ar_billing_usage_row huge = {"tokens", "", "", AR_RATE_UNITS_MAX + 1, 0, 0};
    ck_assert_int_eq(ar_rate_card_row_microcents(&rc, &huge, &micro, &err), -1);
    ar_error_clear(&err);
    ar_rate_card no_tokens = {4, 1, &prices[7]};
    ck_assert_int_eq(ar_rate_card_row_microcents(&no_tokens, &big, &micro, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);
    /* The largest row stays exact: 10^9 tokens × 10^9 µ¢ twice = 2 × 10^18 µ¢. */
    ar_rate_price max_prices[] = {{"prompt_tokens", "", "", AR_RATE_PRICE_MAX},
                                  {"completion_tokens", "", "", AR_RATE_PRICE_MAX}};
    ar_rate_card max = {5, 2, max_prices};
    ar_billing_usage_row maxrow = {"tokens", "", "", AR_RATE_UNITS_MAX, AR_RATE_UNITS_MAX, 0};
    ck_assert_int_eq(ar_rate_card_row_microcents(&max, &maxrow, &micro, &err), 0);
    ck_assert_int_eq(micro, 2000000000000000000LL);
    ck_assert_int_eq(ar_billing_round_microcents(micro), 2000000000000LL);
}
END_TEST

START_TEST(error_code_402)
{
    ck_assert_int_eq(ar_err_http_status(AR_ERR_INSUFFICIENT_BALANCE), 402);
    ck_assert_str_eq(ar_err_code_string(AR_ERR_INSUFFICIENT_BALANCE), "insufficient_balance");
}
END_TEST

Suite *billing_suite(void)
{
    Suite *s = suite_create("billing");
    TCase *tc = tcase_create("money");
    tcase_add_test(tc, rounding_is_half_up_once_per_post);
    tcase_add_test(tc, line_cost_bounds);
    tcase_add_test(tc, price_parser);
    tcase_add_test(tc, money_formatting);
    tcase_add_test(tc, rate_card_lookup_most_specific_wins);
    tcase_add_test(tc, usage_row_costs_and_rounding);
    tcase_add_test(tc, error_code_402);
    suite_add_tcase(s, tc);
    return s;
}
