/* worker.h — the job worker pool: N threads reading the queue (queue.h), claiming each job with a
 * conditional UPDATE (a job never runs twice at once; duplicate deliveries are acknowledged and dropped),
 * running its handler (registry.h) and writing the outcome to the same row: succeeded, cancelled,
 * rescheduled with exponential backoff (retry base × 2^(attempt-1)), or failed after max attempts.
 * One housekeeping thread moves due delayed jobs into the stream, heartbeats this pool's running jobs,
 * puts back jobs whose worker stopped heartbeating (crashed), and re-adds due queued rows that Valkey lost
 * (the reconciler; duplicates are harmless).
 *
 * Timings come from the environment when the pool starts (milliseconds):
 *   AR_JOB_RETRY_BASE_MS   30000   first retry delay, doubled per attempt (capped at 6 h)
 *   AR_JOB_VISIBILITY_MS   60000   unacknowledged stream entries older than this are re-delivered
 *   AR_JOB_STALE_MS       120000   running jobs without a heartbeat for this long are re-queued
 *   AR_JOB_RECONCILE_MS    30000   queued rows due for this long are re-added to the stream (also the
 *                                  reconciler's period)
 *   AR_QUEUE_PREFIX        "ar"    Valkey key prefix
 * The database (ar_db_configure), the statements (ar_jobs_register) and Valkey (ar_valkey_configure) must
 * be set up before the pool starts. */
#ifndef AFTERRESUME_JOBS_WORKER_H
#define AFTERRESUME_JOBS_WORKER_H
#include "afterresume/core/error.h"

typedef struct ar_worker_pool ar_worker_pool;

/* The pool's prepared statements (called by ar_jobs_register()). */
void ar_worker_register(void);

typedef struct ar_worker_stats {
    unsigned long claimed;     /* jobs this pool started */
    unsigned long succeeded;
    unsigned long retried;     /* attempts that failed and were rescheduled */
    unsigned long failed;      /* jobs that failed for good */
    unsigned long cancelled;
    unsigned long duplicates;  /* deliveries that found nothing to claim */
    unsigned long limited;     /* deliveries put back because their tenant ran its maximum of jobs */
    unsigned long requeued;    /* stale running jobs put back by housekeeping */
    unsigned long reconciled;  /* queued rows re-added to the stream by the reconciler */
} ar_worker_stats;

/* Start threads workers (1..64) and the housekeeping thread. NULL + err when the queue cannot be set up. */
ar_worker_pool *ar_worker_pool_start(int threads, ar_error *err);
/* Stop taking new work, let running jobs finish for grace_s seconds, then ask them to stop through
 * ar_job_progress() (such a job goes back to the queue), join every thread and free the pool. */
void ar_worker_pool_stop(ar_worker_pool *p, int grace_s);
/* A snapshot of the pool's counters. */
void ar_worker_pool_stats(ar_worker_pool *p, ar_worker_stats *out);

#endif
