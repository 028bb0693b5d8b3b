/* metrics.h — in-process job metrics of this process's worker pool for /metrics: a duration histogram of
 * job attempts by type (Prometheus default buckets extended to 5 minutes), attempts by type and outcome,
 * and retries by type. Counts are per process (each `afterresumed serve` / `worker` counts its own pool). */
#ifndef AFTERRESUME_JOBS_METRICS_H
#define AFTERRESUME_JOBS_METRICS_H
#include "afterresume/core/buf.h"

/* One finished attempt of a job of `type` that ran `seconds`; outcome is "succeeded", "retry", "failed",
 * "cancelled", "released" or "lost". Thread-safe; at most 64 types are tracked (others count as "other"). */
void ar_job_metrics_observe(const char *type, double seconds, const char *outcome);

/* Append job_duration_seconds (histogram), job_attempts_total{type,outcome} and job_retries_total{type}. */
void ar_job_metrics_render(ar_buf *out);

#endif
