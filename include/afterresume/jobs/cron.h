/* cron.h — cron expression parsing (@hourly/@daily/@weekly or 5-field "m h dom mon dow" with *, lists, ranges,
 * steps) and next-occurrence computation in UTC, used by the job scheduler. */
#ifndef AFTERRESUME_JOBS_CRON_H
#define AFTERRESUME_JOBS_CRON_H

#include <stdint.h>
#include <time.h>

#include "afterresume/core/error.h"

/* Parsed expression: one bit per allowed value of each field. */
typedef struct ar_cron {
    uint64_t minutes;  /* bits 0..59 */
    uint32_t hours;    /* bits 0..23 */
    uint32_t days;     /* bits 1..31 (day of month) */
    uint16_t months;   /* bits 1..12 */
    uint8_t weekdays;  /* bits 0..6, 0 = Sunday (7 is accepted as Sunday) */
    int dom_any;       /* day-of-month field was "*" */
    int dow_any;       /* day-of-week field was "*" */
} ar_cron;

/* Parse `expr`. Returns 0 on success; -1 with AR_ERR_VALIDATION (field "cron") and a message naming the problem. */
int ar_cron_parse(const char *expr, ar_cron *out, ar_error *err);

/* First matching minute strictly after `after` (UTC, whole minutes). When both day-of-month and day-of-week are
 * restricted, a day matches if either matches (classic cron). Returns (time_t)-1 if none within 5 years. */
time_t ar_cron_next(const ar_cron *c, time_t after);

#endif
