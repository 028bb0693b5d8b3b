/* scheduler.h — recurring jobs. Schedules live in the `schedules` table (name, cron, job type, payload,
 * next_run_at); the built-in ones are one line each in src/jobs/schedules.c and are upserted at start.
 * Every `afterresumed serve` and `worker` runs a scheduler thread, but only the leader acts: leadership is a
 * Valkey key `<prefix>:{jobs}:scheduler:leader` taken with SET NX PX, renewed every tick with a
 * compare-and-pexpire Lua script and released with compare-and-delete on stop, so another instance takes
 * over within the lock time when the leader dies. Each due schedule becomes one system job with the
 * idempotency key "<name>@<due time>" (a leader change can never run a slot twice) and its next_run_at
 * moves to the first cron time after *now*: runs missed during downtime run once, not once per slot.
 * Cron expressions are UTC (cron.h). Valkey down: no leader, schedules wait (nothing runs twice).
 *
 * Timings from the environment (milliseconds): AR_SCHEDULER_TICK_MS (1000) how often the leader looks for
 * due schedules and renews, AR_SCHEDULER_LOCK_MS (15000) the lock's expiry. */
#ifndef AFTERRESUME_JOBS_SCHEDULER_H
#define AFTERRESUME_JOBS_SCHEDULER_H
#include <time.h>

#include "afterresume/core/error.h"

/* A built-in schedule (src/jobs/schedules.c). */
typedef struct ar_schedule_def {
    const char *name;     /* [a-z0-9_.-], unique */
    const char *cron;     /* "@hourly", "@daily", "m h dom mon dow" (UTC) */
    const char *job_type; /* a registered job type */
    const char *payload;  /* JSON object text, NULL = {} */
} ar_schedule_def;

/* The built-in list and its length. */
extern const ar_schedule_def ar_builtin_schedules[];
extern const int ar_builtin_schedule_count;

/* Register the scheduler's statements (called by ar_jobs_register()). */
void ar_scheduler_register(void);

/* Insert the built-in schedules that are missing and update cron/type/payload of existing ones (keeping
 * `enabled`; next_run_at is recomputed only when the cron changed). Invalid definitions are logged and
 * skipped. 0 or -1 with err. */
int ar_scheduler_sync_builtin(ar_error *err);

/* One leader step: enqueue every enabled schedule due at `now` (see above). *enqueued (may be NULL) gets the
 * number of jobs created. 0 or -1 with err. Exposed for tests; the scheduler thread calls it. */
int ar_scheduler_run_due(time_t now, int *enqueued, ar_error *err);

typedef struct ar_scheduler ar_scheduler;

typedef struct ar_scheduler_stats {
    int is_leader;
    unsigned long terms;      /* times this instance became leader */
    unsigned long enqueued;   /* jobs this instance created from schedules */
} ar_scheduler_stats;

/* Start a scheduler thread (syncing the built-in schedules first; a failure there is logged, not fatal).
 * NULL + err only when the thread cannot start. Several may run in one process (tests). */
ar_scheduler *ar_scheduler_start(ar_error *err);
/* Stop the thread, releasing the lock if held. NULL is a no-op. */
void ar_scheduler_stop(ar_scheduler *s);
void ar_scheduler_stats_get(ar_scheduler *s, ar_scheduler_stats *out);

#endif
