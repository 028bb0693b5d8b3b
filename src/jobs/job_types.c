/* job_types.c — the job-type registry (name → handler, max attempts) and the built-in `noop` type used by
 * tests and benchmarks (see registry.h). */
#include "afterresume/jobs/registry.h"
#include "afterresume/core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_JOB_TYPES 64

static ar_job_type types[MAX_JOB_TYPES];
static size_t type_count;

void ar_job_types_register(const ar_job_type *list, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const ar_job_type *t = &list[i];
        size_t len = t->name ? strlen(t->name) : 0;
        if (len == 0 || len > 100 || strspn(t->name, "abcdefghijklmnopqrstuvwxyz0123456789_.") != len ||
            !t->handler || t->max_attempts < 0 || t->max_attempts > 100) {
            ar_log_error("job type registration: invalid type \"%s\"", t->name ? t->name : "(null)");
            abort();
        }
        const ar_job_type *existing = ar_job_type_find(t->name);
        if (existing) {
            if (existing->handler != t->handler || existing->max_attempts != (t->max_attempts ? t->max_attempts : 3)) {
                ar_log_error("job type \"%s\" registered twice with different handlers", t->name);
                abort();
            }
            continue;
        }
        if (type_count == MAX_JOB_TYPES) {
            ar_log_error("too many job types (at most %d)", MAX_JOB_TYPES);
            abort();
        }
        if (t->prepare) t->prepare();
        types[type_count] = *t;
        if (!types[type_count].max_attempts) types[type_count].max_attempts = 3;
        type_count++;
    }
}

const ar_job_type *ar_job_type_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < type_count; i++)
        if (strcmp(types[i].name, name) == 0) return &types[i];
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* noop: succeeds; {"fail_times":N} fails the first N attempts; {"sleep_ms":N} sleeps in steps reporting
 * progress and stops early when asked to. */
static int noop_handler(ar_job_ctx *jc, json_t *payload, json_t **result, ar_error *err)
{
    json_int_t fail_times = json_integer_value(json_object_get(payload, "fail_times"));
    json_int_t total = json_integer_value(json_object_get(payload, "sleep_ms"));
    if (total > 600000) total = 600000;
    if (total > 0) {
        long step = total / 10 > 100 ? 100 : (long)(total / 10);
        if (step < 1) step = 1;
        for (json_int_t slept = 0; slept < total;) {
            long now = (long)(total - slept < step ? total - slept : step);
            sleep_ms(now);
            slept += now;
            char msg[64];
            snprintf(msg, sizeof msg, "slept %lld of %lld ms", (long long)slept, (long long)total);
            if (ar_job_progress(jc, (int)(slept * 100 / total), msg)) {
                ar_error_set(err, AR_ERR_UNAVAILABLE, "noop: stopped after %lld ms", (long long)slept);
                return -1;
            }
        }
    }
    if (jc->attempt <= fail_times) {
        ar_error_set(err, AR_ERR_INTERNAL, "noop: planned failure %d of %lld", jc->attempt, (long long)fail_times);
        return -1;
    }
    *result = json_pack("{s:b,s:i}", "ok", 1, "attempt", jc->attempt);
    return 0;
}

const ar_job_type ar_job_noop = {"noop", noop_handler, 3, NULL};
