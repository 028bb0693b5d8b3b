/* metrics.c — in-process metrics for /metrics: http_requests_total{route,method,status},
 * http_request_duration_seconds histogram per route, in-flight gauge, DB connection counters, and jobs:
 * jobs{status}, jobs_by_type{type,status}, job_queue_depth{queue}, job_duration_seconds (histogram by type),
 * job_attempts_total{type,outcome}, job_retries_total{type}. */
#include "afterresume/http/metrics.h"
#include "afterresume/app.h"
#include "afterresume/core/alloc.h"
#include "afterresume/db/db.h"
#include "afterresume/http/router.h"
#include "afterresume/jobs/jobs.h"
#include "afterresume/jobs/metrics.h"
#include "afterresume/jobs/queue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

static const double bucket_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof bucket_bounds / sizeof bucket_bounds[0])
#define MAX_STATUS_SLOTS 24

typedef struct status_count {
    int status;
    char method[8];
    unsigned long count;
} status_count;

typedef struct route_metrics {
    pthread_mutex_t lock;
    status_count slots[MAX_STATUS_SLOTS];
    int nslots;
    unsigned long overflow; /* requests whose (method,status) did not fit: counted as status "other" */
    unsigned long buckets[NBUCKETS];
    unsigned long count;
    double sum;
} route_metrics;

static route_metrics *routes; /* ar_routes_count + 1; the last is "unmatched" */
static size_t nroutes;
static atomic_long in_flight;
static time_t started_at;

void ar_metrics_init(void)
{
    nroutes = ar_routes_count + 1;
    routes = ar_calloc(nroutes, sizeof *routes);
    for (size_t i = 0; i < nroutes; i++) pthread_mutex_init(&routes[i].lock, NULL);
    started_at = time(NULL);
}

void ar_metrics_free(void)
{
    if (!routes) return;
    for (size_t i = 0; i < nroutes; i++) pthread_mutex_destroy(&routes[i].lock);
    free(routes);
    routes = NULL;
}

void ar_metrics_request_started(void)
{
    atomic_fetch_add(&in_flight, 1);
}

long ar_metrics_in_flight(void)
{
    return atomic_load(&in_flight);
}

void ar_metrics_request_finished(int route_index, const char *method, int status, double seconds)
{
    atomic_fetch_sub(&in_flight, 1);
    if (!routes) return;
    route_metrics *m = &routes[route_index >= 0 && (size_t)route_index < nroutes - 1 ? (size_t)route_index : nroutes - 1];
    pthread_mutex_lock(&m->lock);
    int found = 0;
    for (int i = 0; i < m->nslots; i++) {
        if (m->slots[i].status == status && strcmp(m->slots[i].method, method) == 0) {
            m->slots[i].count++;
            found = 1;
            break;
        }
    }
    if (!found) {
        if (m->nslots < MAX_STATUS_SLOTS) {
            status_count *s = &m->slots[m->nslots++];
            s->status = status;
            strncpy(s->method, method, sizeof s->method - 1);
            s->count = 1;
        } else {
            m->overflow++;
        }
    }
    for (size_t b = 0; b < NBUCKETS; b++)
        if (seconds <= bucket_bounds[b]) m->buckets[b]++;
    m->count++;
    m->sum += seconds;
    pthread_mutex_unlock(&m->lock);
}

static const char *route_label(size_t i)
{
    return i < ar_routes_count ? ar_routes[i].pattern : "unmatched";
}

void ar_metrics_render(ar_buf *out)
{
    ar_buf_puts(out, "# HELP afterresume_build_info Build information.\n# TYPE afterresume_build_info gauge\n");
    ar_buf_printf(out, "afterresume_build_info{version=\"%s\"} 1\n", AR_VERSION);
    ar_buf_puts(out, "# HELP afterresume_start_time_seconds Process start time.\n"
                     "# TYPE afterresume_start_time_seconds gauge\n");
    ar_buf_printf(out, "afterresume_start_time_seconds %lld\n", (long long)started_at);
    ar_buf_puts(out, "# HELP http_requests_in_flight Requests being served.\n# TYPE http_requests_in_flight gauge\n");
    ar_buf_printf(out, "http_requests_in_flight %ld\n", atomic_load(&in_flight));

    ar_buf_puts(out, "# HELP http_requests_total Requests by route, method and status.\n"
                     "# TYPE http_requests_total counter\n");
    for (size_t i = 0; routes && i < nroutes; i++) {
        route_metrics *m = &routes[i];
        pthread_mutex_lock(&m->lock);
        for (int s = 0; s < m->nslots; s++)
            ar_buf_printf(out, "http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %lu\n", route_label(i),
                          m->slots[s].method, m->slots[s].status, m->slots[s].count);
        if (m->overflow)
            ar_buf_printf(out, "http_requests_total{route=\"%s\",method=\"other\",status=\"other\"} %lu\n",
                          route_label(i), m->overflow);
        pthread_mutex_unlock(&m->lock);
    }
    ar_buf_puts(out, "# HELP http_request_duration_seconds Request latency by route.\n"
                     "# TYPE http_request_duration_seconds histogram\n");
    for (size_t i = 0; routes && i < nroutes; i++) {
        route_metrics *m = &routes[i];
        pthread_mutex_lock(&m->lock);
        if (m->count) {
            for (size_t b = 0; b < NBUCKETS; b++)
                ar_buf_printf(out, "http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n", route_label(i),
                              bucket_bounds[b], m->buckets[b]);
            ar_buf_printf(out, "http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n", route_label(i),
                          m->count);
            ar_buf_printf(out, "http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_label(i), m->sum);
            ar_buf_printf(out, "http_request_duration_seconds_count{route=\"%s\"} %lu\n", route_label(i), m->count);
        }
        pthread_mutex_unlock(&m->lock);
    }
    ar_db_stats st;
    ar_db_stats_get(&st);
    ar_buf_puts(out, "# HELP db_connections_opened_total PostgreSQL connections opened.\n"
                     "# TYPE db_connections_opened_total counter\n");
    ar_buf_printf(out, "db_connections_opened_total %lu\n", st.connects);
    ar_buf_puts(out, "# HELP db_reconnects_total PostgreSQL reconnects after a broken connection.\n"
                     "# TYPE db_reconnects_total counter\n");
    ar_buf_printf(out, "db_reconnects_total %lu\n", st.reconnects);
    ar_buf_puts(out, "# HELP db_failures_total PostgreSQL connection attempts that failed.\n"
                     "# TYPE db_failures_total counter\n");
    ar_buf_printf(out, "db_failures_total %lu\n", st.failures);
    ar_buf_puts(out, "# HELP db_statements_total Prepared statements executed.\n# TYPE db_statements_total counter\n");
    ar_buf_printf(out, "db_statements_total %lu\n", st.statements);
    ar_buf_puts(out, "# HELP db_statement_errors_total Statements that failed.\n"
                     "# TYPE db_statement_errors_total counter\n");
    ar_buf_printf(out, "db_statement_errors_total %lu\n", st.statement_errors);
    ar_buf_puts(out, "# HELP db_tx_retries_total Transactions retried after a serialization failure or deadlock.\n"
                     "# TYPE db_tx_retries_total counter\n");
    ar_buf_printf(out, "db_tx_retries_total %lu\n", st.tx_retries);

    /* Jobs: the rows are the truth (all tenants), the queue shows what waits in Valkey. */
    ar_ctx sys = {0};
    sys.is_staff = 1;
    sys.bypass_rls = 1;
    ar_error err = {0};
    json_t *counts = ar_job_status_counts(&sys, &err);
    if (counts) {
        ar_buf_puts(out, "# HELP jobs Jobs by status.\n# TYPE jobs gauge\n");
        const char *status;
        json_t *n;
        json_object_foreach(counts, status, n)
            ar_buf_printf(out, "jobs{status=\"%s\"} %lld\n", status, (long long)json_integer_value(n));
        json_decref(counts);
    }
    ar_error_clear(&err);
    json_t *by_type = ar_job_counts_by_type(&err);
    if (by_type) {
        ar_buf_puts(out, "# HELP jobs_by_type Jobs by type and status (all tenants and system jobs).\n"
                         "# TYPE jobs_by_type gauge\n");
        size_t i;
        json_t *row;
        json_array_foreach(by_type, i, row)
            ar_buf_printf(out, "jobs_by_type{type=\"%s\",status=\"%s\"} %lld\n",
                          json_string_value(json_object_get(row, "type")),
                          json_string_value(json_object_get(row, "status")),
                          (long long)json_integer_value(json_object_get(row, "count")));
        json_decref(by_type);
    }
    ar_error_clear(&err);
    long long stream_len = 0, delayed = 0;
    if (ar_queue_depth(&stream_len, &delayed, &err) == 0) {
        ar_buf_puts(out, "# HELP job_queue_depth Job deliveries waiting in Valkey.\n# TYPE job_queue_depth gauge\n");
        ar_buf_printf(out, "job_queue_depth{queue=\"stream\"} %lld\njob_queue_depth{queue=\"delayed\"} %lld\n",
                      stream_len, delayed);
    }
    ar_error_clear(&err);
    ar_job_metrics_render(out);
}
