/* queue.h — the Valkey transport of the job system: a stream `<prefix>:{jobs}:stream` read through the
 * consumer group `workers` (each entry carries one job id; entries are acknowledged and deleted once the
 * job row is final or rescheduled, and re-delivered to another consumer after a visibility timeout), and a
 * sorted set `<prefix>:{jobs}:delayed` (score = due time in unix ms) for retries, moved into the stream when
 * due. PostgreSQL remains the source of truth: losing Valkey's data only delays jobs (see the reconciler in
 * worker.h). The prefix is AR_QUEUE_PREFIX (default "ar"). All functions use this thread's Valkey
 * connection (valkey.h). */
#ifndef AFTERRESUME_JOBS_QUEUE_H
#define AFTERRESUME_JOBS_QUEUE_H
#include <stddef.h>

#include "afterresume/core/error.h"

#define AR_QUEUE_GROUP "workers"

/* Set the key prefix (NULL = AR_QUEUE_PREFIX or "ar"). Call before threads use the queue. */
void ar_queue_configure(const char *prefix);
/* The stream / delayed-set key names (static storage). */
const char *ar_queue_stream_key(void);
const char *ar_queue_delayed_key(void);
/* The scheduler's leader lock `<prefix>:{jobs}:scheduler:leader` (scheduler.h). */
const char *ar_queue_leader_key(void);

/* Create the consumer group (and the stream) if missing. 0 or -1 with err. */
int ar_queue_ensure_group(ar_error *err);

/* Wake a worker for job_id now (XADD). 0 or -1 with err (AR_ERR_UNAVAILABLE). */
int ar_queue_push(long long job_id, ar_error *err);
/* Deliver job_id at due_ms (unix ms) (ZADD). 0 or -1 with err. */
int ar_queue_schedule(long long job_id, long long due_ms, ar_error *err);

typedef struct ar_queue_msg {
    char entry_id[48];       /* stream entry id, for ar_queue_ack */
    long long job_id;        /* 0 when the entry carried no valid id */
} ar_queue_msg;

/* Read up to max new entries for consumer, waiting at most block_ms (> 0). Recreates the group when it
 * is missing (e.g. after FLUSHDB). Returns the number read (0 on timeout) or -1 with err. */
int ar_queue_read(const char *consumer, int block_ms, ar_queue_msg *out, int max, ar_error *err);
/* Take over up to max entries that were delivered more than min_idle_ms ago and never acknowledged
 * (their consumer died). Returns the number claimed or -1 with err. */
int ar_queue_autoclaim(const char *consumer, long long min_idle_ms, ar_queue_msg *out, int max, ar_error *err);
/* Acknowledge and delete an entry. 0 or -1 with err. */
int ar_queue_ack(const char *entry_id, ar_error *err);

/* Remove a consumer that has no pending entries left (a stopped worker). 0 or -1 with err. */
int ar_queue_forget_consumer(const char *consumer, ar_error *err);

/* Move delayed jobs due at now_ms into the stream (at most max). Returns the number moved or -1. */
int ar_queue_move_due(long long now_ms, int max, ar_error *err);

/* Stream length and delayed-set size (for metrics and tests). 0 or -1 with err. */
int ar_queue_depth(long long *stream_len, long long *delayed, ar_error *err);

/* Current wall-clock time in unix ms. */
long long ar_queue_now_ms(void);

#endif
