/* metrics.c — per-process job attempt metrics: duration histogram, attempts by outcome, retries (see
 * jobs/metrics.h). */
#include "afterresume/jobs/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
#define NBOUNDS (sizeof bounds / sizeof bounds[0])
#define MAX_TYPES 64

static const char *const outcomes[] = {"succeeded", "retry", "failed", "cancelled", "released", "lost"};
#define NOUTCOMES (sizeof outcomes / sizeof outcomes[0])

typedef struct type_metrics {
    char name[101];
    unsigned long buckets[NBOUNDS];
    unsigned long count;
    double sum;
    unsigned long by_outcome[NOUTCOMES];
} type_metrics;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static type_metrics types[MAX_TYPES + 1]; /* the last is "other" */
static int ntypes;

static type_metrics *slot_for(const char *type)
{
    for (int i = 0; i < ntypes; i++)
        if (strcmp(types[i].name, type) == 0) return &types[i];
    if (ntypes < MAX_TYPES) {
        snprintf(types[ntypes].name, sizeof types[ntypes].name, "%s", type);
        return &types[ntypes++];
    }
    snprintf(types[MAX_TYPES].name, sizeof types[MAX_TYPES].name, "other");
    return &types[MAX_TYPES];
}

void ar_job_metrics_observe(const char *type, double seconds, const char *outcome)
{
    if (!type) type = "unknown";
    if (seconds < 0) seconds = 0;
    pthread_mutex_lock(&lock);
    type_metrics *m = slot_for(type);
    for (size_t b = 0; b < NBOUNDS; b++)
        if (seconds <= bounds[b]) m->buckets[b]++;
    m->count++;
    m->sum += seconds;
    for (size_t o = 0; o < NOUTCOMES; o++)
        if (outcome && strcmp(outcome, outcomes[o]) == 0) m->by_outcome[o]++;
    pthread_mutex_unlock(&lock);
}

void ar_job_metrics_render(ar_buf *out)
{
    pthread_mutex_lock(&lock);
    int n = ntypes + (types[MAX_TYPES].count ? 1 : 0);
    ar_buf_puts(out, "# HELP job_duration_seconds Run time of job attempts by type (this process's workers).\n"
                     "# TYPE job_duration_seconds histogram\n");
    for (int i = 0; i < n; i++) {
        type_metrics *m = i < ntypes ? &types[i] : &types[MAX_TYPES];
        for (size_t b = 0; b < NBOUNDS; b++)
            ar_buf_printf(out, "job_duration_seconds_bucket{type=\"%s\",le=\"%g\"} %lu\n", m->name, bounds[b],
                          m->buckets[b]);
        ar_buf_printf(out, "job_duration_seconds_bucket{type=\"%s\",le=\"+Inf\"} %lu\n", m->name, m->count);
        ar_buf_printf(out, "job_duration_seconds_sum{type=\"%s\"} %.6f\n", m->name, m->sum);
        ar_buf_printf(out, "job_duration_seconds_count{type=\"%s\"} %lu\n", m->name, m->count);
    }
    ar_buf_puts(out, "# HELP job_attempts_total Finished job attempts by type and outcome (this process).\n"
                     "# TYPE job_attempts_total counter\n");
    for (int i = 0; i < n; i++) {
        type_metrics *m = i < ntypes ? &types[i] : &types[MAX_TYPES];
        for (size_t o = 0; o < NOUTCOMES; o++)
            ar_buf_printf(out, "job_attempts_total{type=\"%s\",outcome=\"%s\"} %lu\n", m->name, outcomes[o],
                          m->by_outcome[o]);
    }
    ar_buf_puts(out, "# HELP job_retries_total Failed attempts rescheduled for a retry, by type (this process).\n"
                     "# TYPE job_retries_total counter\n");
    for (int i = 0; i < n; i++) {
        type_metrics *m = i < ntypes ? &types[i] : &types[MAX_TYPES];
        ar_buf_printf(out, "job_retries_total{type=\"%s\"} %lu\n", m->name, m->by_outcome[1]);
    }
    pthread_mutex_unlock(&lock);
}
