/* cron.c — cron expression parser and next-occurrence search (UTC) for the job scheduler. */
#include "afterresume/jobs/cron.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "afterresume/core/alloc.h"

typedef struct cron_field_spec {
    const char *name;
    int min;
    int max;
} cron_field_spec;

static const cron_field_spec field_specs[5] = {
    {"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31}, {"month", 1, 12}, {"day of week", 0, 7},
};

static int parse_number(const char **p, int *out)
{
    if (!isdigit((unsigned char)**p)) return -1;
    long v = 0;
    while (isdigit((unsigned char)**p)) {
        v = v * 10 + (**p - '0');
        if (v > 1000) return -1;
        (*p)++;
    }
    *out = (int)v;
    return 0;
}

/* Parse one field text [s, s+len) into a bitmask. Returns 0 or -1 with err set. */
static int parse_field(const char *s, size_t len, const cron_field_spec *spec, uint64_t *mask, int *any,
                       ar_error *err)
{
    char *text = ar_strndup(s, len);
    uint64_t bits = 0;
    *any = strcmp(text, "*") == 0;
    const char *p = text;
    int rc = 0;
    for (;;) {
        int lo, hi, step = 1, single = 0;
        if (*p == '*') {
            lo = spec->min;
            hi = spec->max;
            p++;
        } else {
            if (parse_number(&p, &lo) != 0) goto bad;
            hi = lo;
            single = 1;
            if (*p == '-') {
                single = 0;
                p++;
                if (parse_number(&p, &hi) != 0) goto bad;
            }
            if (lo < spec->min || hi > spec->max || lo > spec->max) {
                ar_error_set(err, AR_ERR_VALIDATION, "cron %s value out of range %d-%d in \"%s\"", spec->name,
                             spec->min, spec->max, text);
                rc = -1;
                goto done;
            }
            if (lo > hi) {
                ar_error_set(err, AR_ERR_VALIDATION, "cron %s range is reversed in \"%s\"", spec->name, text);
                rc = -1;
                goto done;
            }
        }
        if (*p == '/') {
            p++;
            if (parse_number(&p, &step) != 0 || step < 1) {
                ar_error_set(err, AR_ERR_VALIDATION, "cron %s step must be a positive number in \"%s\"",
                             spec->name, text);
                rc = -1;
                goto done;
            }
            if (single) hi = spec->max; /* "5/15" = 5-max/15 */
        }
        for (int v = lo; v <= hi; v += step) bits |= (uint64_t)1 << v;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\0') break;
        goto bad;
    }
    *mask = bits;
    goto done;
bad:
    ar_error_set(err, AR_ERR_VALIDATION, "cron %s field \"%s\" is not valid", spec->name, text);
    rc = -1;
done:
    if (rc != 0) ar_error_field(err, "cron", err->message);
    free(text);
    return rc;
}

int ar_cron_parse(const char *expr, ar_cron *out, ar_error *err)
{
    memset(out, 0, sizeof *out);
    if (!expr) {
        ar_error_set(err, AR_ERR_VALIDATION, "cron expression is empty");
        ar_error_field(err, "cron", err->message);
        return -1;
    }
    while (isspace((unsigned char)*expr)) expr++;
    if (strcmp(expr, "@hourly") == 0) expr = "0 * * * *";
    else if (strcmp(expr, "@daily") == 0 || strcmp(expr, "@midnight") == 0) expr = "0 0 * * *";
    else if (strcmp(expr, "@weekly") == 0) expr = "0 0 * * 0";
    else if (strcmp(expr, "@monthly") == 0) expr = "0 0 1 * *";
    else if (strcmp(expr, "@yearly") == 0 || strcmp(expr, "@annually") == 0) expr = "0 0 1 1 *";
    else if (*expr == '@') {
        ar_error_set(err, AR_ERR_VALIDATION, "unknown cron shortcut \"%.64s\"", expr);
        ar_error_field(err, "cron", err->message);
        return -1;
    }
    const char *starts[6];
    size_t lens[6];
    int n = 0;
    const char *p = expr;
    while (*p) {
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        const char *st = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        if (n < 6) {
            starts[n] = st;
            lens[n] = (size_t)(p - st);
        }
        n++;
    }
    if (n != 5) {
        ar_error_set(err, AR_ERR_VALIDATION, "cron expression needs 5 fields (minute hour day month weekday), got %d",
                     n);
        ar_error_field(err, "cron", err->message);
        return -1;
    }
    uint64_t masks[5];
    int anys[5];
    for (int i = 0; i < 5; i++)
        if (parse_field(starts[i], lens[i], &field_specs[i], &masks[i], &anys[i], err) != 0) return -1;
    out->minutes = masks[0];
    out->hours = (uint32_t)masks[1];
    out->days = (uint32_t)masks[2];
    out->months = (uint16_t)masks[3];
    uint64_t dow = masks[4];
    if (dow & ((uint64_t)1 << 7)) dow |= 1; /* 7 = Sunday */
    out->weekdays = (uint8_t)(dow & 0x7f);
    out->dom_any = anys[2];
    out->dow_any = anys[4];
    return 0;
}

static int day_matches(const ar_cron *c, const struct tm *tm)
{
    int dom = (c->days >> tm->tm_mday) & 1;
    int dow = (c->weekdays >> tm->tm_wday) & 1;
    if (c->dom_any && c->dow_any) return 1;
    if (c->dom_any) return dow;
    if (c->dow_any) return dom;
    return dom || dow;
}

time_t ar_cron_next(const ar_cron *c, time_t after)
{
    time_t t = after - (after % 60 + 60) % 60 + 60; /* next whole minute strictly after */
    time_t limit = after + (time_t)5 * 366 * 86400;
    struct tm tm;
    while (t <= limit) {
        gmtime_r(&t, &tm);
        if (!((c->months >> (tm.tm_mon + 1)) & 1)) {
            /* jump to the first day of next month */
            tm.tm_mday = 1;
            tm.tm_hour = 0;
            tm.tm_min = 0;
            tm.tm_sec = 0;
            tm.tm_mon += 1;
            t = timegm(&tm);
            continue;
        }
        if (!day_matches(c, &tm)) {
            tm.tm_hour = 0;
            tm.tm_min = 0;
            tm.tm_sec = 0;
            tm.tm_mday += 1;
            t = timegm(&tm);
            continue;
        }
        if (!((c->hours >> tm.tm_hour) & 1)) {
            tm.tm_min = 0;
            tm.tm_sec = 0;
            tm.tm_hour += 1;
            t = timegm(&tm);
            continue;
        }
        if (!((c->minutes >> tm.tm_min) & 1)) {
            t += 60;
            continue;
        }
        return t;
    }
    return (time_t)-1;
}
