/* schedules.c — the built-in recurring jobs. Adding one is one line below: name, cron (UTC), job type and
 * an optional JSON payload; the scheduler upserts the list into the `schedules` table at start. */
#include "afterresume/jobs/scheduler.h"

#define AR_SCHEDULE_CATALOG(X)                                                              \
    X("cleanup.sessions", "@hourly", "cleanup.sessions", NULL) /* sessions, passkeys, resets */ \
    X("cleanup.jobs", "30 3 * * *", "cleanup.jobs", NULL)      /* finished jobs > 30 days */    \
    X("email.retry", "*/5 * * * *", "email.send", NULL)        /* outbox retries */              \
    X("cleanup.exports", "15 * * * *", "cleanup.exports", NULL) /* account exports past 7 days */

#define AR_SCHEDULE_ROW(name, cron, type, payload) {name, cron, type, payload},
const ar_schedule_def ar_builtin_schedules[] = {AR_SCHEDULE_CATALOG(AR_SCHEDULE_ROW)};
const int ar_builtin_schedule_count = (int)(sizeof ar_builtin_schedules / sizeof ar_builtin_schedules[0]);
