/* test_cron.c — unit tests for cron expression parsing and next-occurrence computation (UTC). */
#include <check.h>
#include <string.h>
#include <time.h>

#include "afterresume/core/error.h"
#include "afterresume/jobs/cron.h"
#include "afterresume/jobs/scheduler.h"

/* UTC timestamp from calendar fields. */
static time_t utc(int y, int mon, int d, int h, int mi)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return timegm(&tm);
}

static time_t next_of(const char *expr, time_t after)
{
    ar_cron c;
    ar_error err = {0};
    ck_assert_msg(ar_cron_parse(expr, &c, &err) == 0, "parse %s: %s", expr, err.message);
    ar_error_clear(&err);
    return ar_cron_next(&c, after);
}

START_TEST(cron_shortcuts)
{
    time_t base = utc(2026, 3, 10, 14, 25);
    ck_assert_int_eq(next_of("@hourly", base), utc(2026, 3, 10, 15, 0));
    ck_assert_int_eq(next_of("@daily", base), utc(2026, 3, 11, 0, 0));
    /* 2026-03-10 is a Tuesday; next Sunday is 2026-03-15 */
    ck_assert_int_eq(next_of("@weekly", base), utc(2026, 3, 15, 0, 0));
    /* strictly after: exactly on the hour goes to the next hour */
    ck_assert_int_eq(next_of("@hourly", utc(2026, 3, 10, 15, 0)), utc(2026, 3, 10, 16, 0));
}
END_TEST

START_TEST(cron_month_and_year_ends)
{
    ck_assert_int_eq(next_of("@daily", utc(2026, 1, 31, 23, 59)), utc(2026, 2, 1, 0, 0));
    ck_assert_int_eq(next_of("@daily", utc(2026, 12, 31, 12, 0)), utc(2027, 1, 1, 0, 0));
    ck_assert_int_eq(next_of("30 2 31 * *", utc(2026, 4, 1, 0, 0)), utc(2026, 5, 31, 2, 30)); /* April has 30 */
    ck_assert_int_eq(next_of("0 0 29 2 *", utc(2026, 3, 1, 0, 0)), utc(2028, 2, 29, 0, 0));   /* leap day */
    ck_assert_int_eq(next_of("0 12 1 1 *", utc(2026, 6, 1, 0, 0)), utc(2027, 1, 1, 12, 0));
}
END_TEST

START_TEST(cron_steps_lists_ranges)
{
    time_t base = utc(2026, 3, 10, 14, 25);
    ck_assert_int_eq(next_of("*/15 * * * *", base), utc(2026, 3, 10, 14, 30));
    ck_assert_int_eq(next_of("*/15 * * * *", utc(2026, 3, 10, 14, 50)), utc(2026, 3, 10, 15, 0));
    ck_assert_int_eq(next_of("5/20 * * * *", base), utc(2026, 3, 10, 14, 45));
    ck_assert_int_eq(next_of("0 9-17/4 * * *", base), utc(2026, 3, 10, 17, 0));
    ck_assert_int_eq(next_of("10,20,40 * * * *", base), utc(2026, 3, 10, 14, 40));
    ck_assert_int_eq(next_of("0 8 * * 1-5", utc(2026, 3, 13, 9, 0)), utc(2026, 3, 16, 8, 0)); /* Fri -> Mon */
    ck_assert_int_eq(next_of("0 0 * * 7", base), utc(2026, 3, 15, 0, 0)); /* 7 = Sunday */
    /* dom and dow both restricted: either matches (the 13th, or a Friday) */
    ck_assert_int_eq(next_of("0 0 13 * 5", utc(2026, 3, 10, 0, 0)), utc(2026, 3, 13, 0, 0));
    ck_assert_int_eq(next_of("0 0 20 * 3", utc(2026, 3, 10, 0, 0)), utc(2026, 3, 11, 0, 0));
    ck_assert_int_eq(next_of("0 0 1 */6 *", base), utc(2026, 7, 1, 0, 0));
}
END_TEST

static void expect_invalid(const char *expr, const char *needle)
{
    ar_cron c;
    ar_error err = {0};
    ck_assert_msg(ar_cron_parse(expr, &c, &err) == -1, "%s should be rejected", expr ? expr : "(null)");
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ck_assert_msg(strstr(err.message, needle) != NULL, "message for %s: %s", expr ? expr : "(null)", err.message);
    ck_assert_ptr_nonnull(err.fields);
    ar_error_clear(&err);
}

START_TEST(cron_invalid_expressions)
{
    expect_invalid(NULL, "empty");
    expect_invalid("", "5 fields");
    expect_invalid("* * * *", "got 4");
    expect_invalid("* * * * * *", "got 6");
    expect_invalid("60 * * * *", "minute value out of range 0-59");
    expect_invalid("* 24 * * *", "hour value out of range");
    expect_invalid("* * 0 * *", "day of month value out of range");
    expect_invalid("* * * 13 *", "month value out of range");
    expect_invalid("* * * * 8", "day of week value out of range");
    expect_invalid("10-5 * * * *", "reversed");
    expect_invalid("*/0 * * * *", "step");
    expect_invalid("a * * * *", "minute field");
    expect_invalid("1,,2 * * * *", "minute field");
    expect_invalid("@often", "unknown cron shortcut");
}
END_TEST

/* Every built-in schedule (src/jobs/schedules.c) parses, has a unique valid name and a next run within a day;
 * a schedule missed for a long time runs at the first slot after now (once), not at each missed slot. */
START_TEST(cron_builtin_schedules)
{
    time_t now = 1795550338; /* 2026-11-24 19:58:58 UTC */
    ck_assert_int_gt(ar_builtin_schedule_count, 0);
    for (int i = 0; i < ar_builtin_schedule_count; i++) {
        const ar_schedule_def *d = &ar_builtin_schedules[i];
        ar_cron c;
        ar_error err = {0};
        ck_assert_msg(ar_cron_parse(d->cron, &c, &err) == 0, "%s: %s", d->name, err.message);
        time_t next = ar_cron_next(&c, now);
        ck_assert_msg(next > now && next <= now + 86400, "%s runs at %lld", d->name, (long long)next);
        size_t n = strlen(d->name);
        ck_assert_msg(n >= 1 && n <= 100 && strspn(d->name, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n,
                      "bad schedule name %s", d->name);
        for (int j = 0; j < i; j++) ck_assert_str_ne(d->name, ar_builtin_schedules[j].name);
    }
    ar_cron hourly;
    ar_error err = {0};
    ck_assert_int_eq(ar_cron_parse("@hourly", &hourly, &err), 0);
    ck_assert_int_eq(ar_cron_next(&hourly, now), 1795550400); /* 20:00, whatever was missed before */
}
END_TEST

Suite *cron_suite(void)
{
    Suite *s = suite_create("cron");
    TCase *tc = tcase_create("cron");
    tcase_add_test(tc, cron_shortcuts);
    tcase_add_test(tc, cron_month_and_year_ends);
    tcase_add_test(tc, cron_steps_lists_ranges);
    tcase_add_test(tc, cron_invalid_expressions);
    tcase_add_test(tc, cron_builtin_schedules);
    suite_add_tcase(s, tc);
    return s;
}
